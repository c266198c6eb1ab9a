/* Unit tests: telephone number normalization (src/phone.c). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "cdrmin/phone.h"

static struct cm_numbering plan(const char *cc, const char *trunk, const char *intl,
				enum cm_bare bare)
{
	struct cm_numbering np;

	cm_numbering_default(&np);
	strcpy(np.cc, cc);
	strcpy(np.trunk, trunk);
	strcpy(np.intl, intl);
	np.bare = bare;
	return np;
}

/* Normalize v[0..n) and check class and output. */
static void check_n(const struct cm_numbering *np, const char *v, size_t n,
		    enum cm_phone_class want_cls, const char *want)
{
	struct cm_buf out;
	enum cm_phone_class cls;

	cm_buf_init(&out);
	cls = cm_phone_normalize(np, v, n, &out);
	cr_expect_eq(cls, want_cls, "class of \"%.*s\": got %d, want %d", (int)n, v, cls, want_cls);
	cr_expect(out.n == strlen(want) && (out.n == 0 || memcmp(out.p, want, out.n) == 0),
		  "\"%.*s\" -> \"%.*s\", want \"%s\"", (int)n, v, (int)out.n, out.p ? out.p : "",
		  want);
	cr_expect_eq(out.oom, 0);
	cm_buf_deinit(&out);
}

static void check(const struct cm_numbering *np, const char *v, enum cm_phone_class want_cls,
		  const char *want)
{
	check_n(np, v, strlen(v), want_cls, want);
}

TestSuite(phone);

Test(phone, default_plan_is_empty)
{
	struct cm_numbering np;

	memset(&np, 0x55, sizeof np);
	cm_numbering_default(&np);
	cr_expect_str_empty(np.cc);
	cr_expect_str_empty(np.trunk);
	cr_expect_str_empty(np.intl);
	cr_expect_eq(np.bare, CM_BARE_LOCAL);
	cr_expect_eq(np.nsn_min, 0);
	cr_expect_eq(np.nsn_max, 0);
}

Test(phone, german_forms_agree)
{
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);

	check(&np, "+49 30 1234567", CM_PHONE_E164, "+49301234567");
	check(&np, "+49-30-1234567", CM_PHONE_E164, "+49301234567");
	check(&np, "0049301234567", CM_PHONE_E164, "+49301234567");
	check(&np, "0301234567", CM_PHONE_E164, "+49301234567");
	check(&np, "(030) 123 45 67", CM_PHONE_E164, "+49301234567");
	check(&np, "030/1234567", CM_PHONE_E164, "+49301234567");
	check(&np, "  \t+49.30.1234567\t ", CM_PHONE_E164, "+49301234567");
	check(&np, "tel:+49-30-1234567", CM_PHONE_E164, "+49301234567");
	check(&np, "TEL:0301234567;phone-context=example.com", CM_PHONE_E164, "+49301234567");
	check(&np, "+49 (0)30 1234567", CM_PHONE_E164, "+49301234567");
	check(&np, "+49(0)301234567", CM_PHONE_E164, "+49301234567");
	check(&np, "(0)301234567", CM_PHONE_E164, "+49301234567"); /* leading: the trunk 0 */
	check(&np, "0049 (0)30 1234567", CM_PHONE_E164, "+49301234567");
	check(&np, "1234", CM_PHONE_LOCAL, "1234"); /* bare=LOCAL: an extension */
	check(&np, "0", CM_PHONE_LOCAL, "0");       /* the trunk prefix alone */
	check(&np, "00", CM_PHONE_LOCAL, "00");     /* the international prefix alone */
}

Test(phone, plus_without_plan)
{
	struct cm_numbering np;

	cm_numbering_default(&np);
	check(&np, "+1 555 0100", CM_PHONE_E164, "+15550100");
	check(&np, "0301234567", CM_PHONE_LOCAL, "0301234567");
	check(&np, "0049301234567", CM_PHONE_LOCAL, "0049301234567");
	/* no plan at all is the default plan */
	check(NULL, "+1 555 0100", CM_PHONE_E164, "+15550100");
	check(NULL, "0301234567", CM_PHONE_LOCAL, "0301234567");
}

Test(phone, nanp_national)
{
	struct cm_numbering np = plan("1", "1", "011", CM_BARE_NATIONAL);

	check(&np, "(212) 555-0100", CM_PHONE_E164, "+12125550100");
	check(&np, "1 212 555 0100", CM_PHONE_E164, "+12125550100");
	check(&np, "+1 212-555-0100", CM_PHONE_E164, "+12125550100");
	check(&np, "011 44 20 7946 0123", CM_PHONE_E164, "+442079460123");
	check(&np, "212.555.0100", CM_PHONE_E164, "+12125550100");
	/* too long for E.164 with the country code: kept apart as local */
	check(&np, "1234567890123456", CM_PHONE_LOCAL, "1234567890123456");
}

Test(phone, intl_prefix_three_digit_cc)
{
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);

	check(&np, "00 351 21 123 4567", CM_PHONE_E164, "+351211234567");
	check(&np, "00 1 212 555 0100", CM_PHONE_E164, "+12125550100");
	/* no valid country code after the prefix (a leading 0): local as written */
	check(&np, "000123", CM_PHONE_LOCAL, "000123");
	/* more than 15 digits after the prefix */
	check(&np, "004930123456789012", CM_PHONE_LOCAL, "004930123456789012");
}

Test(phone, bare_international)
{
	struct cm_numbering np = plan("", "", "", CM_BARE_INTERNATIONAL);

	check(&np, "49301234567", CM_PHONE_E164, "+49301234567");
	check(&np, "0301234567", CM_PHONE_LOCAL, "0301234567");             /* no country code */
	check(&np, "4930123456789012", CM_PHONE_LOCAL, "4930123456789012"); /* 16 digits */
	check(&np, "35", CM_PHONE_LOCAL, "35"); /* a three-digit code cut short */
}

Test(phone, bare_national_needs_cc)
{
	struct cm_numbering np = plan("", "0", "00", CM_BARE_NATIONAL);

	check(&np, "301234567", CM_PHONE_LOCAL, "301234567");
	check(&np, "0301234567", CM_PHONE_LOCAL, "0301234567");
}

Test(phone, markers)
{
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);

	check(&np, "anonymous", CM_PHONE_MARKER, "anonymous");
	check(&np, " Anonymous ", CM_PHONE_MARKER, "anonymous");
	check(&np, "UNKNOWN", CM_PHONE_MARKER, "unknown");
	check(&np, "Restricted", CM_PHONE_MARKER, "restricted");
	check(&np, "private", CM_PHONE_MARKER, "private");
	check(&np, "unavailable", CM_PHONE_MARKER, "unavailable");
	check(&np, "WithHeld", CM_PHONE_MARKER, "withheld");
	check(&np, "sip:anonymous@anonymous.invalid", CM_PHONE_MARKER, "anonymous");
	check(&np, "anonymously", CM_PHONE_OTHER, "anonymously");
}

Test(phone, sip_uris)
{
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);

	check(&np, "sip:+4930123456@host;user=phone", CM_PHONE_E164, "+4930123456");
	check(&np, "SIP:0301234567@gw.example.com", CM_PHONE_E164, "+49301234567");
	check(&np, "sip:+4930;isub=12@host", CM_PHONE_E164, "+4930");
	/* nothing of a user left: the whole value, which holds ':' */
	check(&np, "sip:@example.com", CM_PHONE_OTHER, "sip:@example.com");
	check(&np, "tel:", CM_PHONE_OTHER, "tel:");
}

/*
 * Review finding 5: a SIP URI whose user is no number keeps its host, so
 * alice@a and alice@b stay two users; parameters, headers and the port go.
 */
Test(phone, sip_user_names_keep_their_host)
{
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);

	check(&np, "sips:alice@example.com", CM_PHONE_OTHER, "alice@example.com");
	check(&np, "sip:Bob.Smith@Example.COM", CM_PHONE_OTHER, "bob.smith@example.com");
	check(&np, "sip:alice@a.example", CM_PHONE_OTHER, "alice@a.example");
	check(&np, "sip:alice@b.example", CM_PHONE_OTHER, "alice@b.example");
	check(&np, "sip:alice@example.com;transport=tcp", CM_PHONE_OTHER, "alice@example.com");
	check(&np, "<sip:alice@example.com:5060;lr>", CM_PHONE_OTHER, "alice@example.com");
	check(&np, "sip:alice@example.com?subject=x", CM_PHONE_OTHER, "alice@example.com");
	check(&np, "sip:alice@[2001:DB8::1]:5060", CM_PHONE_OTHER, "alice@[2001:db8::1]");
	check(&np, "sip:alice@192.0.2.1:5060", CM_PHONE_OTHER, "alice@192.0.2.1");
	check(&np, "SIP:Alice;x=1@pbx", CM_PHONE_OTHER, "alice@pbx");
	/* no host: the user alone, as before */
	check(&np, "sip:alice", CM_PHONE_OTHER, "alice");
	check(&np, "sip:alice@", CM_PHONE_OTHER, "alice");
	check(&np, "tel:alice", CM_PHONE_OTHER, "alice");
	/* a number user still drops the host: one number at any gateway */
	check(&np, "sip:0301234567@a.example", CM_PHONE_E164, "+49301234567");
	check(&np, "sip:0301234567@b.example;user=phone", CM_PHONE_E164, "+49301234567");
	check(&np, "sip:101@pbx", CM_PHONE_LOCAL, "101");
	check(&np, "sip:anonymous@anonymous.invalid", CM_PHONE_MARKER, "anonymous");
	/* a value without a scheme is a name as written */
	check(&np, "Alice@Example.com", CM_PHONE_OTHER, "alice@example.com");
}

Test(phone, empty)
{
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);

	check(&np, "", CM_PHONE_EMPTY, "");
	check(&np, "   ", CM_PHONE_EMPTY, "");
	check(&np, " \t ", CM_PHONE_EMPTY, "");
	check_n(&np, NULL, 0, CM_PHONE_EMPTY, "");
}

Test(phone, other_forms)
{
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);

	check(&np, "Alice", CM_PHONE_OTHER, "alice");
	check(&np, "*31#0301234567", CM_PHONE_OTHER, "*31#0301234567");
	check(&np, "+", CM_PHONE_OTHER, "+");
	check(&np, "--", CM_PHONE_OTHER, "--");
	check(&np, "+49+30", CM_PHONE_OTHER, "+49+30");
	check(&np, "0301234567x", CM_PHONE_OTHER, "0301234567x");
	/* more than 15 digits after "+": never E.164 */
	check(&np, "+4930123456789012", CM_PHONE_OTHER, "+4930123456789012");
	check(&np, "+49 3012 3456 7890 12", CM_PHONE_OTHER, "+49 3012 3456 7890 12");
	check(&np, "+123456789012345", CM_PHONE_E164, "+123456789012345");
	/* parameters are cut only from URIs: a plain value is kept whole */
	check(&np, "Alice;x=1", CM_PHONE_OTHER, "alice;x=1");
	check(&np, "0301234567;ext=1", CM_PHONE_OTHER, "0301234567;ext=1");
	check(&np, "tel:0301234567;ext=1", CM_PHONE_E164, "+49301234567");
}

/* The class forms never coincide: E.164 is "+" 1..15 digits, local only digits. */
Test(phone, classes_stay_apart)
{
	static const char *const vals[] = {
		"+49301234567", "0301234567", "1234", "Alice", "+", "+4930123456789012",
		"12 34 ab", "anonymous", "sip:@x", "tel:+1", "(0)", "+0", "0+1",
		"sip:alice@x", "sip:123abc@x", "\xd9\xa1\xd9\xa2x", "+\xef\xbc\x91", "\xe0\xa5\xa7",
	};
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);
	struct cm_buf out;
	size_t i, j, nd;
	enum cm_phone_class cls;

	cm_buf_init(&out);
	for (i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		cls = cm_phone_normalize(&np, vals[i], strlen(vals[i]), &out);
		for (nd = 0, j = 0; j < out.n; j++)
			nd += out.p[j] >= '0' && out.p[j] <= '9';
		switch (cls) {
		case CM_PHONE_E164:
			cr_expect(out.n >= 2 && out.n <= 16 && out.p[0] == '+' && nd == out.n - 1);
			break;
		case CM_PHONE_LOCAL:
			cr_expect(out.n >= 1 && nd == out.n);
			break;
		case CM_PHONE_OTHER:
			cr_expect(nd != out.n, "%s", vals[i]);
			cr_expect(!(out.n >= 2 && out.n <= 16 && out.p[0] == '+' && nd == out.n - 1),
				  "%s", vals[i]);
			break;
		default:
			break;
		}
	}
	cm_buf_deinit(&out);
}

Test(phone, embedded_nul)
{
	static const char v1[] = "+4930\0001234567";
	static const char v2[] = "0301234\000567";
	static const char v3[] = "\000+49301234567";
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);
	struct cm_buf out;
	enum cm_phone_class cls;

	cm_buf_init(&out);
	cls = cm_phone_normalize(&np, v1, sizeof v1 - 1, &out);
	cr_expect_eq(cls, CM_PHONE_OTHER);
	cr_expect_eq(out.n, sizeof v1 - 1);
	cr_expect(memcmp(out.p, v1, out.n) == 0);
	cls = cm_phone_normalize(&np, v2, sizeof v2 - 1, &out);
	cr_expect_eq(cls, CM_PHONE_OTHER);
	cls = cm_phone_normalize(&np, v3, sizeof v3 - 1, &out);
	cr_expect_eq(cls, CM_PHONE_OTHER);
	/* a NUL in a URI is a byte of its user or host, not its end */
	static const char v4[] = "sip:+4930\0001234567@host";
	static const char v5[] = "sip:alice@a\000b;x";
	cls = cm_phone_normalize(&np, v4, sizeof v4 - 1, &out);
	cr_expect_eq(cls, CM_PHONE_OTHER);
	cr_expect(out.n == 18 && memcmp(out.p, "+4930\0001234567@host", 18) == 0);
	cls = cm_phone_normalize(&np, v5, sizeof v5 - 1, &out);
	cr_expect_eq(cls, CM_PHONE_OTHER);
	cr_expect(out.n == 9 && memcmp(out.p, "alice@a\000b", 9) == 0);
	/* a length that stops before the NUL reads only that much */
	cls = cm_phone_normalize(&np, v1, 5, &out);
	cr_expect_eq(cls, CM_PHONE_E164);
	cr_expect(out.n == 5 && memcmp(out.p, "+4930", 5) == 0);
	cm_buf_deinit(&out);
}

Test(phone, long_input)
{
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);
	size_t n = 1 << 20;
	char *v = malloc(n);
	struct cm_buf out;

	cr_assert_not_null(v);
	memset(v, '7', n);
	cm_buf_init(&out);
	cr_expect_eq(cm_phone_normalize(&np, v, n, &out), CM_PHONE_LOCAL);
	cr_expect_eq(out.n, n);
	v[0] = '+';
	cr_expect_eq(cm_phone_normalize(&np, v, n, &out), CM_PHONE_OTHER);
	cr_expect_eq(out.n, n);
	cm_buf_deinit(&out);
	free(v);
}

Test(phone, output_is_reset)
{
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);
	struct cm_buf out;

	cm_buf_init(&out);
	cm_buf_adds(&out, "stale");
	cm_phone_normalize(&np, "0301234567", 10, &out);
	cr_expect(out.n == 12 && memcmp(out.p, "+49301234567", 12) == 0);
	cm_buf_deinit(&out);
}

Test(phone, cc_len)
{
	struct {
		const char *d;
		size_t len;
	} t[] = {
		{ "1", 1 },       { "12125550100", 1 }, { "7495", 1 },  { "20", 2 },
		{ "27", 2 },      { "30", 2 },          { "31", 2 },    { "36", 2 },
		{ "39", 2 },      { "40", 2 },          { "44", 2 },    { "49301", 2 },
		{ "51", 2 },      { "58", 2 },          { "60", 2 },    { "66", 2 },
		{ "81", 2 },      { "82", 2 },          { "84", 2 },    { "86", 2 },
		{ "90", 2 },      { "95", 2 },          { "98", 2 },    { "351211", 3 },
		{ "352", 3 },     { "420", 3 },         { "212", 3 },   { "880", 3 },
		{ "971", 3 },     { "998", 3 },         { "359", 3 },   { "0", 0 },
		{ "0049", 0 },    { "", 0 },            { "35", 0 },    { "4", 0 },
		{ "2", 0 },       { "x1", 0 },          { "3a5", 0 },   { "9", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		cr_expect_eq(cm_phone_cc_len(t[i].d, strlen(t[i].d)), t[i].len, "cc_len(%s)",
			     t[i].d);
	/* the length bounds the read: "49" seen through a length of 1 */
	cr_expect_eq(cm_phone_cc_len("49", 1), 0);
	cr_expect_eq(cm_phone_cc_len("1", 1), 1);
}

Test(phone, sep_len)
{
	static const struct {
		const char *s;
		size_t len;
	} t[] = {
		{ " ", 1 },          { "\t", 1 },            { "-", 1 },            { ".", 1 },
		{ "/", 1 },          { "_", 1 },             { "\xc2\xa0", 2 },     { "\xe2\x80\x90", 3 },
		{ "\xe2\x80\x91", 3 }, { "\xe2\x80\x92", 3 }, { "\xe2\x80\x93", 3 }, { "\xe2\x88\x92", 3 },
		{ "\xe2\x80\x87", 3 }, { "\xe2\x80\x89", 3 }, { "\xe2\x80\xaf", 3 },
		/* U+2014, U+2015, U+00B7, U+2027, U+3000, U+FF0D */
		{ "\xe2\x80\x94", 3 }, { "\xe2\x80\x95", 3 }, { "\xc2\xb7", 2 },     { "\xe2\x80\xa7", 3 },
		{ "\xe3\x80\x80", 3 }, { "\xef\xbc\x8d", 3 },
		/* U+200F, U+FF0E, U+FF0F, U+FF3F, U+200B, U+00AD, U+2060, U+30FC, U+FE63, U+2043 */
		{ "\xe2\x80\x8f", 3 }, { "\xef\xbc\x8e", 3 }, { "\xef\xbc\x8f", 3 }, { "\xef\xbc\xbf", 3 },
		{ "\xe2\x80\x8b", 3 }, { "\xc2\xad", 2 },     { "\xe2\x81\xa0", 3 }, { "\xe3\x83\xbc", 3 },
		{ "\xef\xb9\xa3", 3 }, { "\xe2\x81\x83", 3 },
		/* U+1680, U+205F, U+FEFF, U+FE58, U+2E3A, U+058A, U+20E3, U+FE0F */
		{ "\xe1\x9a\x80", 3 }, { "\xe2\x81\x9f", 3 }, { "\xef\xbb\xbf", 3 }, { "\xef\xb9\x98", 3 },
		{ "\xe2\xb8\xba", 3 }, { "\xd6\x8a", 2 },     { "\xe2\x83\xa3", 3 }, { "\xef\xb8\x8f", 3 },
		/* line breaks: a number wrapped over lines is one number (NEL, LS, PS) */
		{ "\n", 1 },         { "\r", 1 },           { "\v", 1 },           { "\f", 1 },
		{ "\xc2\x85", 2 },    { "\xe2\x80\xa8", 3 }, { "\xe2\x80\xa9", 3 },
		/* 4 bytes: U+10EAD Yezidi hyphenation mark, U+E0020 tag space */
		{ "\xf0\x90\xba\xad", 4 }, { "\xf3\xa0\x80\xa0", 4 },
		/* not separators: lists and times, other characters of the same blocks */
		{ "(", 0 },          { ")", 0 },             { "+", 0 },            { "1", 0 },
		{ ",", 0 },          { ":", 0 },             { "\xc3\xa9", 0 },     { "\xe2\x80\x96", 0 },
		{ "\xe2\x88\x93", 0 }, { "\xc2\xa1", 0 },     { "\xc2\xb6", 0 },
		{ "\xc2\xb8", 0 },   { "\xe2\x80\xa6", 0 }, { "\xe3\x80\x81", 0 },
		{ "\xe3\x80\x82", 0 }, { "\xef\xbc\x8c", 0 }, { "\xef\xbc\x9a", 0 },
		{ "\xef\xbc\x90", 0 }, { "\xa0", 0 },         { "\x80", 0 },
		/* U+0600 (a visible sign), U+FFF9, U+2042, U+2044, U+30FD, U+E1000 */
		{ "\xd8\x80", 0 },   { "\xef\xbf\xb9", 0 }, { "\xe2\x81\x82", 0 }, { "\xe2\x81\x84", 0 },
		{ "\xe3\x83\xbd", 0 }, { "\xf3\xa1\x80\x80", 0 },
		/* malformed: overlong spaces, a surrogate, a lead byte alone */
		{ "\xc0\xa0", 0 },   { "\xe0\x80\xa0", 0 }, { "\xed\xa0\x80", 0 }, { "\xf4", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		cr_expect_eq(cm_phone_sep_len(t[i].s, strlen(t[i].s), 0), t[i].len, "sep_len(\"%s\")",
			     t[i].s);
	/* one character at i, never read past n */
	cr_expect_eq(cm_phone_sep_len("1\xc2\xa0" "2", 4, 1), 2);
	cr_expect_eq(cm_phone_sep_len("1\xc2\xa0" "2", 4, 2), 0);
	cr_expect_eq(cm_phone_sep_len("\xc2\xa0", 1, 0), 0);
	cr_expect_eq(cm_phone_sep_len("\xe2\x80\x93", 2, 0), 0);
	cr_expect_eq(cm_phone_sep_len("\xe2\x80\x93", 3, 0), 3);
	cr_expect_eq(cm_phone_sep_len(" ", 1, 1), 0);
	cr_expect_eq(cm_phone_sep_len("", 0, 0), 0);
	cr_expect_eq(cm_phone_sep_len("\xf0\x90\xba\xad", 3, 0), 0);
}

/* The separators that show nothing: not counted in a run by the scrubber. */
Test(phone, ignorable_len)
{
	static const struct {
		const char *s;
		size_t len;
	} t[] = {
		/* U+00AD, U+200B, U+200F, U+202E, U+2060, U+2069, U+FEFF, U+FE0F, U+20E3, U+E0041 */
		{ "\xc2\xad", 2 },       { "\xe2\x80\x8b", 3 },   { "\xe2\x80\x8f", 3 },
		{ "\xe2\x80\xae", 3 },   { "\xe2\x81\xa0", 3 },   { "\xe2\x81\xa9", 3 },
		{ "\xef\xbb\xbf", 3 },   { "\xef\xb8\x8f", 3 },   { "\xe2\x83\xa3", 3 },
		{ "\xf3\xa0\x81\x81", 4 },
		/* separators that show: spaces, dashes, dots */
		{ " ", 0 }, { "-", 0 }, { "\xc2\xa0", 0 }, { "\xe2\x80\x93", 0 }, { "\xe3\x80\x80", 0 },
		{ "\xef\xbc\x8e", 0 }, { "\xe2\x81\x83", 0 }, { "a", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		cr_expect_eq(cm_phone_ignorable_len(t[i].s, strlen(t[i].s), 0), t[i].len,
			     "ignorable_len(\"%s\")", t[i].s);
	cr_expect_eq(cm_phone_ignorable_len("\xe2\x80\x8b", 2, 0), 0); /* cut short */
}

/* Finding 1 and 4: every separator of cm_phone_sep_len, in any mix. */
Test(phone, separators_normalize)
{
	static const char *const fr[] = {
		"01.23.45.67.89",
		"01  23  45  67  89",
		"01 - 23 - 45 - 67 - 89",
		"01_23_45_67_89",
		"01/23/45/67/89",
		"01\t23\t45\t67\t89",
		"01\xc2\xa0" "23\xc2\xa0" "45\xc2\xa0" "67\xc2\xa0" "89",
		"01\xe2\x80\x90" "23\xe2\x80\x91" "45\xe2\x80\x92" "67\xe2\x80\x93" "89",
		"01\xe2\x88\x92" "23\xe2\x80\xaf" "45\xe2\x80\x89" "67\xe2\x80\x87" "89",
		"+33\xc2\xa0" "1\xc2\xa0" "23\xc2\xa0" "45\xc2\xa0" "67\xc2\xa0" "89",
		"+33 (0)1.23.45.67.89",
		"0033\t1\t23\t45\t67\t89",
		"tel:+33-1-23-45-67-89",
		"<tel:+33\xe2\x80\x91" "1\xe2\x80\x91" "23\xe2\x80\x91" "45\xe2\x80\x91" "67\xe2\x80\x91" "89>",
		"01\xe2\x80\x94" "23\xe2\x80\x95" "45\xc2\xb7" "67\xe2\x80\xa7" "89",
		"01\xe3\x80\x80" "23\xe3\x80\x80" "45\xef\xbc\x8d" "67\xef\xbc\x8d" "89",
		"+33\xc2\xb7" "1\xc2\xb7" "23\xc2\xb7" "45\xc2\xb7" "67\xc2\xb7" "89",
	};
	struct cm_numbering np = plan("33", "0", "00", CM_BARE_LOCAL);
	size_t i;

	for (i = 0; i < sizeof fr / sizeof fr[0]; i++)
		check(&np, fr[i], CM_PHONE_E164, "+33123456789");

	np = plan("1", "1", "011", CM_BARE_NATIONAL);
	check(&np, "555.010.0123", CM_PHONE_E164, "+15550100123");
	np = plan("32", "0", "00", CM_BARE_LOCAL);
	check(&np, "0470/12.34.56", CM_PHONE_E164, "+32470123456");
	np = plan("44", "0", "00", CM_BARE_LOCAL);
	check(&np, "+44.20.7946.0123", CM_PHONE_E164, "+442079460123");
	check(&np, "020.794.606.18", CM_PHONE_E164, "+442079460618");

	/* a multibyte character that is no separator makes a name, kept whole */
	np = plan("33", "0", "00", CM_BARE_LOCAL);
	check(&np, "01\xe2\x80\x96" "23", CM_PHONE_OTHER, "01\xe2\x80\x96" "23");
	check(&np, "01,23", CM_PHONE_OTHER, "01,23");
	check(&np, "01:23", CM_PHONE_OTHER, "01:23");
	check(&np, "01\xc3\xa9" "23", CM_PHONE_OTHER, "01\xc3\xa9" "23");
	/* a lone byte of a separator is not one */
	check(&np, "01\xc2" "23", CM_PHONE_OTHER, "01\xc2" "23");
	check(&np, "0123\xe2\x80", CM_PHONE_OTHER, "0123\xe2\x80");
}

/* Finding 4: one pair of angle brackets around the value goes. */
Test(phone, angle_brackets)
{
	struct cm_numbering np = plan("49", "0", "00", CM_BARE_LOCAL);

	check(&np, "<sip:+4930123456@host>", CM_PHONE_E164, "+4930123456");
	check(&np, " <sip:+4930123456@host;user=phone> ", CM_PHONE_E164, "+4930123456");
	check(&np, "<tel:+49-30-1234567>", CM_PHONE_E164, "+49301234567");
	check(&np, "<SIPS:030 1234567@gw>", CM_PHONE_E164, "+49301234567");
	check(&np, "<0301234567>", CM_PHONE_E164, "+49301234567");
	check(&np, "< 0301234567 >", CM_PHONE_E164, "+49301234567");
	check(&np, "<sip:anonymous@anonymous.invalid>", CM_PHONE_MARKER, "anonymous");
	check(&np, "<Alice>", CM_PHONE_OTHER, "alice");
	check(&np, "<>", CM_PHONE_EMPTY, "");
	/* only one pair, and only a pair */
	check(&np, "<<0301234567>>", CM_PHONE_OTHER, "<0301234567>");
	check(&np, "<0301234567", CM_PHONE_OTHER, "<0301234567");
	check(&np, "0301234567>", CM_PHONE_OTHER, "0301234567>");
}

/* Finding 5: national number lengths. */
Test(phone, nsn_lengths)
{
	struct cm_numbering np = plan("1", "1", "011", CM_BARE_NATIONAL);

	np.nsn_min = np.nsn_max = 10;
	check(&np, "1001", CM_PHONE_LOCAL, "1001");
	check(&np, "911", CM_PHONE_LOCAL, "911");
	check(&np, "1911", CM_PHONE_LOCAL, "1911");
	check(&np, "411", CM_PHONE_LOCAL, "411");
	check(&np, "5551234", CM_PHONE_LOCAL, "5551234"); /* 7-digit local dialing */
	check(&np, "2025550143", CM_PHONE_E164, "+12025550143");
	check(&np, "12025550143", CM_PHONE_E164, "+12025550143");
	check(&np, "1 (202) 555-0143", CM_PHONE_E164, "+12025550143");
	check(&np, "120255501430", CM_PHONE_LOCAL, "120255501430");
	/* neither "+" nor the international prefix is bounded by the national plan */
	check(&np, "+1 911", CM_PHONE_E164, "+1911");
	check(&np, "011 44 20 7946 0123", CM_PHONE_E164, "+442079460123");

	/* without bounds, the same values are national */
	np.nsn_min = np.nsn_max = 0;
	check(&np, "911", CM_PHONE_E164, "+1911");
	check(&np, "1001", CM_PHONE_E164, "+1001");

	/* a range, and one side only */
	np = plan("49", "0", "00", CM_BARE_LOCAL);
	np.nsn_min = 9;
	np.nsn_max = 11;
	check(&np, "030123456", CM_PHONE_LOCAL, "030123456");     /* 8 */
	check(&np, "0301234567", CM_PHONE_E164, "+49301234567");  /* 9 */
	check(&np, "030123456789", CM_PHONE_E164, "+4930123456789"); /* 11 */
	check(&np, "0301234567890", CM_PHONE_LOCAL, "0301234567890"); /* 12 */
	check(&np, "1234", CM_PHONE_LOCAL, "1234"); /* bare LOCAL: not affected */
	np.nsn_max = 0;
	check(&np, "0301234567890", CM_PHONE_E164, "+49301234567890");
	check(&np, "030123456", CM_PHONE_LOCAL, "030123456");
	np.nsn_min = 0;
	np.nsn_max = 4;
	check(&np, "01234", CM_PHONE_E164, "+491234");
	check(&np, "012345", CM_PHONE_LOCAL, "012345");
}

/*
 * Review finding 2: fullwidth, Arabic-Indic, Extended Arabic-Indic and
 * Devanagari digits are digits, written out in ASCII.
 */
Test(phone, unicode_digits)
{
	static const char *const uk[] = {
		"\xef\xbc\x90\xef\xbc\x92\xef\xbc\x90\xef\xbc\x97\xef\xbc\x99\xef\xbc\x94"
		"\xef\xbc\x96\xef\xbc\x90\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93", /* fullwidth */
		"\xd9\xa0\xd9\xa2\xd9\xa0\xd9\xa7\xd9\xa9\xd9\xa4\xd9\xa6\xd9\xa0\xd9\xa1\xd9\xa2\xd9\xa3", /* Arabic-Indic */
		"\xdb\xb0\xdb\xb2\xdb\xb0 \xdb\xb7\xdb\xb9\xdb\xb4\xdb\xb6 \xdb\xb0\xdb\xb1\xdb\xb2\xdb\xb3", /* Extended */
		"\xe0\xa5\xa6\xe0\xa5\xa8\xe0\xa5\xa6-\xe0\xa5\xad\xe0\xa5\xaf\xe0\xa5\xaa\xe0\xa5\xac-"
		"\xe0\xa5\xa6\xe0\xa5\xa7\xe0\xa5\xa8\xe0\xa5\xa9", /* Devanagari */
		"+\xd9\xa4\xd9\xa4 20 \xef\xbc\x97\xef\xbc\x99\xef\xbc\x94\xef\xbc\x96 0123", /* mixed */
		"+44 (\xd9\xa0)20 7946 0123", /* "(0)" in Arabic-Indic */
		"tel:\xef\xbc\x90\xef\xbc\x92\xef\xbc\x90\xe3\x80\x80\xef\xbc\x97\xef\xbc\x99\xef\xbc\x94"
		"\xef\xbc\x96\xe3\x80\x80\xef\xbc\x90\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93",
		"<sip:\xd9\xa0\xd9\xa2\xd9\xa0\xd9\xa7\xd9\xa9\xd9\xa4\xd9\xa6\xd9\xa0\xd9\xa1\xd9\xa2\xd9\xa3@gw>",
	};
	struct cm_numbering np = plan("44", "0", "00", CM_BARE_LOCAL);
	size_t i;

	for (i = 0; i < sizeof uk / sizeof uk[0]; i++)
		check(&np, uk[i], CM_PHONE_E164, "+442079460123");
	check(&np, "\xd9\xa1\xd9\xa0\xd9\xa1", CM_PHONE_LOCAL, "101");
	check(&np, "\xe0\xa5\xa7\xe0\xa5\xa6\xe0\xa5\xa8", CM_PHONE_LOCAL, "102");
	/* the characters around the digits in their blocks are not digits */
	check(&np, "1\xd9\xaa", CM_PHONE_OTHER, "1\xd9\xaa");         /* U+066A */
	check(&np, "1\xd9\x9f", CM_PHONE_OTHER, "1\xd9\x9f");         /* U+065F */
	check(&np, "1\xdb\xaf", CM_PHONE_OTHER, "1\xdb\xaf");         /* U+06EF */
	check(&np, "1\xdb\xba", CM_PHONE_OTHER, "1\xdb\xba");         /* U+06FA */
	check(&np, "1\xe0\xa5\xa5", CM_PHONE_OTHER, "1\xe0\xa5\xa5"); /* U+0965 */
	check(&np, "1\xe0\xa5\xb0", CM_PHONE_OTHER, "1\xe0\xa5\xb0"); /* U+0970 */
	check(&np, "1\xef\xbc\x9a", CM_PHONE_OTHER, "1\xef\xbc\x9a"); /* U+FF1A */
	check(&np, "1\xef\xbc\x8f", CM_PHONE_LOCAL, "1"); /* U+FF0F: a fullwidth '/' */
	/* a digit cut short by the length is no digit */
	check_n(&np, "1\xef\xbc\x91", 3, CM_PHONE_OTHER, "1\xef\xbc");
	check_n(&np, "1\xd9\xa1", 2, CM_PHONE_OTHER, "1\xd9");
}

Test(phone, digit_at)
{
	static const struct {
		const char *s;
		int d;
		size_t len;
	} t[] = {
		{ "0", 0, 1 },                 { "9", 9, 1 },                 { "\xef\xbc\x90", 0, 3 },
		{ "\xef\xbc\x99", 9, 3 },     { "\xd9\xa0", 0, 2 },          { "\xd9\xa9", 9, 2 },
		{ "\xdb\xb0", 0, 2 },          { "\xdb\xb9", 9, 2 },          { "\xe0\xa5\xa6", 0, 3 },
		{ "\xe0\xa5\xaf", 9, 3 },     { "\xd9\xa5", 5, 2 },          { "\xe0\xa5\xa9", 3, 3 },
		{ "a", -1, 0 },                { "+", -1, 0 },                { "\xef\xbc\x8f", -1, 0 },
		{ "\xef\xbc\x9a", -1, 0 },    { "\xd9\xaa", -1, 0 },         { "\xdb\xba", -1, 0 },
		{ "\xe0\xa5\xa5", -1, 0 },    { "\xe0\xa5\xb0", -1, 0 },    { "\xa0", -1, 0 },
		{ "\xc2\xa0", -1, 0 },
		/* U+09EB Bengali 5, U+0E59 Thai 9, U+1D7CE mathematical bold 0, U+1FBF7 segmented 7 */
		{ "\xe0\xa7\xab", 5, 3 },    { "\xe0\xb9\x99", 9, 3 },    { "\xf0\x9d\x9f\x8e", 0, 4 },
		{ "\xf0\x9f\xaf\xb7", 7, 4 },
		/* superscripts and subscripts: U+00B2, U+00B3, U+00B9, U+2070, U+2074, U+2079, U+2080, U+2089 */
		{ "\xc2\xb2", 2, 2 },        { "\xc2\xb3", 3, 2 },        { "\xc2\xb9", 1, 2 },
		{ "\xe2\x81\xb0", 0, 3 },    { "\xe2\x81\xb4", 4, 3 },    { "\xe2\x81\xb9", 9, 3 },
		{ "\xe2\x82\x80", 0, 3 },    { "\xe2\x82\x89", 9, 3 },
		/* next to them: U+2071 (a letter), U+2072, U+207A, U+208A, U+00B4, U+1D7CD, U+0E5A */
		{ "\xe2\x81\xb1", -1, 0 },   { "\xe2\x81\xb2", -1, 0 },   { "\xe2\x81\xba", -1, 0 },
		{ "\xe2\x82\x8a", -1, 0 },   { "\xc2\xb4", -1, 0 },        { "\xf0\x9d\x9f\x8d", -1, 0 },
		{ "\xe0\xb9\x9a", -1, 0 },
		/* malformed: an overlong '0', an overlong U+0660, a 4-byte digit cut short */
		{ "\xc0\xb0", -1, 0 },       { "\xe0\x99\xa0", -1, 0 },   { "\xf0\x9d\x9f", -1, 0 },
	};
	size_t i, len;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		len = 99;
		cr_expect_eq(cm_phone_digit_at(t[i].s, strlen(t[i].s), 0, &len), t[i].d, "digit_at(\"%s\")",
			     t[i].s);
		cr_expect_eq(len, t[i].len, "digit_at(\"%s\") length", t[i].s);
	}
	/* at i, never past n */
	cr_expect_eq(cm_phone_digit_at("x\xd9\xa3", 3, 1, &len), 3);
	cr_expect_eq(len, 2u);
	cr_expect_eq(cm_phone_digit_at("x\xd9\xa3", 2, 1, &len), -1);
	cr_expect_eq(cm_phone_digit_at("\xef\xbc\x93", 2, 0, &len), -1);
	cr_expect_eq(cm_phone_digit_at("1", 1, 1, &len), -1);
	cr_expect_eq(cm_phone_digit_at("7", 1, 0, NULL), 7);
}

/* s with each ASCII digit d written as the code point digits[d] and each ' ' as sep. */
static void respell(char *out, size_t cap, const char *s, const uint32_t digits[10], uint32_t sep)
{
	size_t n = 0;

	for (; *s; s++) {
		cr_assert_lt(n + 4, cap);
		if (*s >= '0' && *s <= '9')
			n += cmt_utf8(digits[*s - '0'], out + n);
		else if (*s == ' ' && sep)
			n += cmt_utf8(sep, out + n);
		else
			out[n++] = *s;
	}
	out[n] = '\0';
}

/* The digits zero..zero+9 of one block. */
static void block(uint32_t d[10], uint32_t zero)
{
	int k;

	for (k = 0; k < 10; k++)
		d[k] = zero + (uint32_t)k;
}

static const uint32_t superscripts[10] = {
	0x2070, 0x00b9, 0x00b2, 0x00b3, 0x2074, 0x2075, 0x2076, 0x2077, 0x2078, 0x2079,
};

/* Review 2: the digits of every script are read, as ASCII. */
Test(phone, every_script)
{
	static const struct {
		const char *name;
		uint32_t zero;
	} scripts[] = {
		{ "Bengali", 0x09e6 },        { "Thai", 0x0e50 },         { "Tamil", 0x0be6 },
		{ "Khmer", 0x17e0 },          { "Myanmar", 0x1040 },      { "Myanmar Shan", 0x1090 },
		{ "math bold", 0x1d7ce },     { "math monospace", 0x1d7f6 }, { "Gujarati", 0x0ae6 },
		{ "Lao", 0x0ed0 },            { "Tibetan", 0x0f20 },      { "NKo", 0x07c0 },
		{ "Adlam", 0x1e950 },         { "Osmanya", 0x104a0 },     { "segmented", 0x1fbf0 },
		{ "subscripts", 0x2080 },
	};
	static const char *const forms[] = {
		"02079460123", "+44 20 7946 0123", "020 7946 0123", "(020) 7946 0123", "0044 20 7946 0123",
		"tel:+44-20-7946-0123", "<sip:02079460123@gw>", "+44 (0)20 7946 0123",
	};
	struct cm_numbering np = plan("44", "0", "00", CM_BARE_LOCAL);
	uint32_t d[10];
	char v[256];
	size_t i, k;

	for (i = 0; i <= sizeof scripts / sizeof scripts[0]; i++) {
		if (i < sizeof scripts / sizeof scripts[0])
			block(d, scripts[i].zero);
		else
			memcpy(d, superscripts, sizeof d);
		for (k = 0; k < sizeof forms / sizeof forms[0]; k++) {
			respell(v, sizeof v, forms[k], d, 0);
			check(&np, v, CM_PHONE_E164, "+442079460123");
		}
		respell(v, sizeof v, "101", d, 0);
		check(&np, v, CM_PHONE_LOCAL, "101");
	}
	/* mixed scripts in one number */
	check(&np, "\xe0\xa7\xa6\xe0\xb9\x92\xf0\x9d\x9f\x8e \xe1\x9f\xa7\xe1\x81\x89\xe0\xaf\xaa"
		   "\xe2\x81\xb6 0\xe2\x82\x81\xc2\xb2\xc2\xb3",
	      CM_PHONE_E164, "+442079460123");
	/* a 4-byte digit cut short is no digit */
	check_n(&np, "1\xf0\x9d\x9f\x8f", 4, CM_PHONE_OTHER, "1\xf0\x9d\x9f");
}

/* Review 2: every separator joins the groups of one number. */
Test(phone, every_separator)
{
	static const uint32_t seps[] = {
		0x200b, 0x00ad, 0x2060, 0xff0e, 0x30fc, 0xfe63, 0x2043, /* the review's sample */
		0x00a0, 0x1680, 0x2000, 0x2003, 0x200a, 0x202f, 0x205f, 0x3000, /* spaces */
		0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202e, 0x2061, 0x2064, 0x2066, 0x2069, 0xfeff,
		0x061c, 0x180e, 0xfe0f, 0xe0020, /* invisible */
		0x2010, 0x2011, 0x2015, 0x2212, 0xfe58, 0xff0d, 0x058a, 0x05be, 0x2e3a, 0x301c,
		0x10ead, /* dashes */
		0x00b7, 0x2027, 0x30fb, 0xff65, 0xff70, 0xff0f, 0xff3f, /* dots, marks */
	};
	static const char *const forms[] = {
		"020 7946 0123", "+44 20 7946 0123", "0044 20 7946 0123", "(020) 7946 0123",
		"+44 (0)20 7946 0123", "tel:+44 20 7946 0123", "020  7946   0123",
	};
	struct cm_numbering np = plan("44", "0", "00", CM_BARE_LOCAL);
	uint32_t d[10], thai[10];
	char v[256];
	size_t i, k;

	block(d, '0');
	block(thai, 0x0e50);
	for (i = 0; i < sizeof seps / sizeof seps[0]; i++)
		for (k = 0; k < sizeof forms / sizeof forms[0]; k++) {
			respell(v, sizeof v, forms[k], d, seps[i]);
			check(&np, v, CM_PHONE_E164, "+442079460123");
			respell(v, sizeof v, forms[k], thai, seps[i]);
			check(&np, v, CM_PHONE_E164, "+442079460123");
		}
	/* around the value too, and in a keycap spelling: "0" U+FE0F U+20E3 */
	check(&np, "\xe2\x80\x8b" "02079460123\xef\xbb\xbf", CM_PHONE_E164, "+442079460123");
	check(&np, "0\xef\xb8\x8f\xe2\x83\xa3" "2\xef\xb8\x8f\xe2\x83\xa3" "0\xef\xb8\x8f\xe2\x83\xa3"
		   "7946 0123",
	      CM_PHONE_E164, "+442079460123");
	/* what is no separator still makes a name */
	check(&np, "020\xd8\x80" "7946", CM_PHONE_OTHER, "020\xd8\x80" "7946"); /* U+0600 */
	check(&np, "020\xc0\xa0" "7946", CM_PHONE_OTHER, "020\xc0\xa0" "7946"); /* overlong ' ' */
}

/*
 * The normalizations memo answers as cm_phone_normalize does, on hits and
 * misses, with slots shared by many values (4 slots for 400 lookups), two
 * plans whose answers differ for the same text, values too long to be
 * memoized, and an evicted long value followed by a short one in its slot.
 */
/*
 * A bare number ("+" and digits, or digits only) takes a short way in
 * cm_phone_normalize; a blank before it (which is trimmed) turns that way
 * off. Both must give the same class and bytes: every length from 1 to 19
 * digits, several first digits (trunk and international prefixes, one-,
 * two- and three-digit country codes), with and without "+", under five
 * numbering plans. A few outputs are also checked as written.
 */
Test(phone, bare_numbers_short_way)
{
	static const char *const heads[] = { "0", "00", "000", "011", "1", "2", "35", "44",
					      "7", "9", "0044", "00351", "01" };
	struct cm_numbering plans[5];
	struct cm_buf a, b;
	char v[32], w[33];
	size_t h, len, k, p, checked = 0, bare = 0;
	int plus;

	plans[0] = plan("44", "0", "00", CM_BARE_NATIONAL);
	plans[1] = plan("1", "1", "011", CM_BARE_NATIONAL);
	plans[2] = plan("", "", "", CM_BARE_INTERNATIONAL);
	plans[3] = plan("49", "0", "00", CM_BARE_LOCAL);
	plans[4] = plan("44", "0", "00", CM_BARE_NATIONAL);
	plans[4].nsn_min = 9;
	plans[4].nsn_max = 10;
	cm_buf_init(&a);
	cm_buf_init(&b);
	for (p = 0; p < 5; p++)
		for (h = 0; h < sizeof heads / sizeof heads[0]; h++)
			for (len = 1; len <= 19; len++)
				for (plus = 0; plus <= 1; plus++) {
					size_t n = 0, hl = strlen(heads[h]);
					enum cm_phone_class ca, cb;

					if (plus)
						v[n++] = '+';
					for (k = 0; k < len; k++)
						v[n++] = k < hl ? heads[h][k] : (char)('0' + (k * 7 + h) % 10);
					w[0] = ' ';
					memcpy(w + 1, v, n);
					ca = cm_phone_normalize(&plans[p], v, n, &a);
					cb = cm_phone_normalize(&plans[p], w, n + 1, &b);
					cr_assert_eq(ca, cb, "plan %zu: class of \"%.*s\": %d, after a blank %d",
						     p, (int)n, v, ca, cb);
					cr_assert(a.n == b.n && memcmp(a.p, b.p, a.n) == 0,
						  "plan %zu: \"%.*s\" -> \"%.*s\", after a blank \"%.*s\"", p,
						  (int)n, v, (int)a.n, a.p, (int)b.n, b.p);
					/* bare: "+" and up to 15 digits, or digits only */
					cr_assert_eq(cm_phone_bare(v, n), !plus || len <= CM_E164_MAX_DIGITS,
						     "\"%.*s\"", (int)n, v);
					if (cm_phone_bare(v, n)) {
						/* written at a buffer of just the room said (ASan) */
						char *o = malloc(n + CM_PHONE_PREFIX_MAX);
						enum cm_phone_class cc = CM_PHONE_OTHER;
						size_t on;

						cr_assert_not_null(o);
						on = cm_phone_normalize_bare(&plans[p], v, n, o, &cc);
						cr_assert(cc == ca && on == a.n && memcmp(o, a.p, on) == 0,
							  "plan %zu: bare \"%.*s\" -> \"%.*s\" (%d), want \"%.*s\" (%d)",
							  p, (int)n, v, (int)on, o, cc, (int)a.n, a.p, ca);
						free(o);
						bare++;
					}
					checked++;
				}
	cr_assert_eq(checked, 5 * 13 * 19 * 2);
	cr_assert_eq(bare, 5 * 13 * (19 + 15));
	/* as written */
	check(&plans[0], "+442079460123", CM_PHONE_E164, "+442079460123");
	check(&plans[0], "00442079460123", CM_PHONE_E164, "+442079460123");
	check(&plans[0], "02079460123", CM_PHONE_E164, "+442079460123");
	check(&plans[0], "2079460123", CM_PHONE_E164, "+442079460123");
	check(&plans[0], "+1234567890123456", CM_PHONE_OTHER, "+1234567890123456");
	check(&plans[0], "+123456789012345", CM_PHONE_E164, "+123456789012345");
	check(&plans[0], "+", CM_PHONE_OTHER, "+");
	check(&plans[0], "++44", CM_PHONE_OTHER, "++44");
	check(&plans[0], "4420794601\x80", CM_PHONE_OTHER, "4420794601\x80");
	check(&plans[0], "44207946012:", CM_PHONE_OTHER, "44207946012:");
	cm_buf_deinit(&a);
	cm_buf_deinit(&b);
}

Test(phone, memo_matches_normalize)
{
	static const char *const vals[] = {
		"+44 20 7946 0123", "020 7946 0123", "0044 20 7946 0123", "07700 900123",
		"101", "anonymous", "sip:+442079460123@192.0.2.1;user=phone", "<tel:+1-555-0100>",
		"Alice", "", "  ", "+4420794601234567890", "0\xd9\xa0\xd9\xa1", "(0)20 7946 0999",
		"sip:alice@pbx.example.com:5060;transport=tcp;lr;maddr=192.0.2.77;ttl=5",
	};
	struct cm_numbering uk = plan("44", "0", "00", 0), de = plan("49", "0", "00", 0);
	const struct cm_numbering *plans[2] = { &uk, &de };
	struct cm_phone_memo *m = cm_phone_memo_new(4);
	struct cm_buf a, b;
	size_t round, i, p, t;

	cr_assert_not_null(m);
	cm_buf_init(&a);
	cm_buf_init(&b);
	for (round = 0; round < 13; round++)
		for (i = 0; i < sizeof vals / sizeof vals[0]; i++)
			for (p = 0; p < 2; p++) {
				const char *v = vals[(i + round) % (sizeof vals / sizeof vals[0])];
				enum cm_phone_class want = cm_phone_normalize(plans[p], v, strlen(v), &a);
				enum cm_phone_class got =
					cm_phone_normalize_memo(m, plans[p], v, strlen(v), &b);

				cr_assert_eq(got, want, "class of \"%s\"", v);
				cr_assert_eq(b.n, a.n, "length of \"%s\"", v);
				cr_assert(a.n == 0 || memcmp(a.p, b.p, a.n) == 0, "bytes of \"%s\"", v);
				/*
				 * With the tag the prefetch gave, and with another
				 * value's tag (a caller's mistake costs a miss, never
				 * a wrong answer).
				 */
				for (t = 0; t < 2; t++) {
					const char *u = t ? vals[(i + round + 1) % (sizeof vals / sizeof vals[0])] : v;
					uint64_t h = cm_phone_memo_prefetch(m, u, strlen(u));

					/* values of more than 29 bytes are not memoized: no tag */
					cr_assert(strlen(u) > 29 || h != 0, "a tag for \"%s\"", u);
					got = cm_phone_normalize_memo_h(m, plans[p], v, strlen(v), h, &b);
					cr_assert_eq(got, want, "class of \"%s\" (tag %zu)", v, t);
					cr_assert(b.n == a.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0),
						  "bytes of \"%s\" (tag %zu)", v, t);
				}
			}
	/*
	 * An empty value first, into a buffer that never held a byte (a -j
	 * worker's first SIP message had an empty user): memoized without a
	 * copy from the buffer's NULL (UBSan caught that copy).
	 */
	{
		struct cm_phone_memo *fresh = cm_phone_memo_new(4);
		struct cm_buf e;

		cr_assert_not_null(fresh);
		cm_buf_init(&e);
		cr_assert_eq(cm_phone_normalize_memo(fresh, &uk, "", 0, &e), CM_PHONE_EMPTY);
		cr_assert_eq(cm_phone_normalize_memo(fresh, &uk, "  ", 2, &e), CM_PHONE_EMPTY);
		cr_assert_eq(cm_phone_normalize_memo(fresh, &uk, "", 0, &e), CM_PHONE_EMPTY);
		cr_assert_eq(e.n, 0);
		cm_phone_memo_free(fresh);
		cm_buf_deinit(&e);
	}
	/* no memo: the plain normalization */
	cr_assert_eq(cm_phone_normalize_memo(NULL, &uk, "020 7946 0123", 13, &b), CM_PHONE_E164);
	cr_assert_eq(b.n, 13);
	cm_phone_memo_free(m);
	cm_phone_memo_free(NULL);
	cm_buf_deinit(&a);
	cm_buf_deinit(&b);
}
