/*
 * \summary: unit tests of the rules parser (src/rules.c): directives, field
 * rules with every parameter and its default, error positions, comments,
 * quoting, CRLF, and that a failed parse leaves the rules empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cdrmin/rules.h"

/*
 * Under `make asan` a leak in a Criterion worker is printed but does not fail
 * the test, so the failure paths ask LeakSanitizer themselves.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define expect_no_leak() \
	cr_expect_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked (see the report above)")
#else
#define expect_no_leak() ((void)0)
#endif

/* Per-test state (Criterion runs each test in its own process). */
static struct cm_rules R;
static struct cm_err E;

static void teardown(void)
{
	cm_rules_deinit(&R); /* fine on a zeroed or failed set */
}

TestSuite(rules, .fini = teardown);

static int parse_n(const char *text, size_t n)
{
	cm_rules_deinit(&R);
	memset(&E, 0, sizeof E);
	return cm_rules_parse(&R, "t.rules", text, n, &E);
}

/* Parses text and asserts success. */
static void ok(const char *text)
{
	int rc = parse_n(text, strlen(text));

	cr_assert_eq(rc, 0, "parse failed at %llu:%llu: %s\n--- rules:\n%s",
		     (unsigned long long)E.line, (unsigned long long)E.col, E.msg, text);
	cr_assert_str_eq(R.path, "t.rules");
}

/* A failed parse leaves every member zero: nothing to free, nothing half-built. */
static void assert_empty(void)
{
	static const struct cm_rules zero;

	cr_assert_eq(memcmp(&R, &zero, sizeof R), 0, "a failed parse left state in the rules");
}

/* Parses text[0..n), asserts CM_E_RULES at line:col with want in the message. */
static void bad_n(const char *text, size_t n, unsigned line, unsigned col, const char *want)
{
	int rc = parse_n(text, n);

	cr_assert_eq(rc, CM_FAIL, "parse succeeded, want an error at %u:%u (%s)\n--- rules:\n%s",
		     line, col, want, text);
	cr_expect_eq(E.code, CM_E_RULES, "code %d: %s", E.code, E.msg);
	cr_expect_eq(E.line, line, "line %llu, want %u: %s\n--- rules:\n%s",
		     (unsigned long long)E.line, line, E.msg, text);
	cr_expect_eq(E.col, col, "col %llu, want %u: %s\n--- rules:\n%s",
		     (unsigned long long)E.col, col, E.msg, text);
	cr_expect(strstr(E.msg, want) != NULL, "message \"%s\" lacks \"%s\"", E.msg, want);
	assert_empty();
	expect_no_leak();
}

static void bad(const char *text, unsigned line, unsigned col, const char *want)
{
	bad_n(text, strlen(text), line, col, want);
}

/* The rule for field name, failing the test when there is none. */
static const struct cm_rule *rule(const char *name)
{
	size_t i;

	for (i = 0; i < R.nrules; i++)
		if (strcmp(R.rules[i].field, name) == 0)
			return &R.rules[i];
	cr_assert_fail("no rule for field '%s'", name);
	return NULL;
}

static const struct cm_action *act(const char *name)
{
	return &rule(name)->act;
}

/* The defaults every action starts from (action.h: cm_action_init). */
static void expect_common_defaults(const struct cm_action *a)
{
	cr_expect_eq(a->bits, CM_TOKEN_BITS_DEFAULT);
	cr_expect_eq(a->kind, CM_KIND_GENERIC);
	cr_expect_eq(a->keep_cc, 0);
	cr_expect_eq(a->keep_digits, 0u);
	cr_expect_eq(a->digits, 0u);
	cr_expect_eq(a->v4bits, 24u);
	cr_expect_eq(a->v6bits, 48u);
	cr_expect_eq(a->decimals, 2u);
	cr_expect_eq(a->chars, (unsigned)CM_GEOHASH_CHARS_DEFAULT);
	cr_expect_eq(a->bucket.n, 0u);
	cr_expect_null(a->text);
}

/* ------------------------------------------------------------ directives */

Test(rules, minimal_defaults)
{
	ok("* drop\n");
	cr_expect_eq(R.format, CM_FORMAT_CSV);
	cr_expect_eq(R.header, 1, "no columns: names come from a header line");
	cr_expect_eq(R.columns.n, 0u);
	cr_expect_eq(R.delim, ',');
	cr_expect_str_eq(R.numbering.cc, "");
	cr_expect_str_eq(R.numbering.trunk, "");
	cr_expect_str_eq(R.numbering.intl, "");
	cr_expect_eq(R.numbering.bare, CM_BARE_LOCAL);
	cr_expect_eq(R.epoch_unit, CM_EPOCH_NONE);
	cr_expect_null(R.epoch_field);
	cr_expect_eq(R.nrules, 0u);
	cr_expect_eq(R.nfilters, 0u);
	cr_expect_eq(R.def.type, CM_ACT_DROP);
	cr_expect_eq(R.def_line, 1u);
}

Test(rules, format)
{
	ok("format csv\n* drop\n");
	cr_expect_eq(R.format, CM_FORMAT_CSV);
	bad("format json\n* drop\n", 1, 8, "unknown format");
	bad("format\n* drop\n", 1, 1, "format csv");
	bad("format csv csv\n* drop\n", 1, 12, "format csv");
	bad("format csv\nformat csv\n* drop\n", 2, 1, "given twice");
}

Test(rules, header)
{
	ok("header yes\n* drop\n");
	cr_expect_eq(R.header, 1);
	ok("columns a\nheader no\n* drop\n");
	cr_expect_eq(R.header, 0);
	ok("columns a\n* drop\n");
	cr_expect_eq(R.header, 0, "declared columns and no header directive: no header line");
	ok("columns a\nheader yes\n* drop\n");
	cr_expect_eq(R.header, 1, "declared columns and a header line to skip");
	bad("header maybe\n* drop\n", 1, 8, "yes or no");
	bad("header yes\nheader yes\n* drop\n", 2, 1, "given twice");
	/* no names from anywhere: reported after the last line */
	bad("header no\n* drop\n", 3, 1, "no columns");
}

Test(rules, columns)
{
	ok("columns accountcode,src,dst\n* drop\n");
	cr_assert_eq(R.columns.n, 3u);
	cr_expect_str_eq(R.columns.names[0], "accountcode");
	cr_expect_str_eq(R.columns.names[1], "src");
	cr_expect_str_eq(R.columns.names[2], "dst");
}

Test(rules, columns_split_over_words_and_quoted)
{
	ok("columns a, b,c,   \"Call ID\",\"x y\" z\n* drop\n");
	cr_assert_eq(R.columns.n, 6u);
	cr_expect_str_eq(R.columns.names[0], "a");
	cr_expect_str_eq(R.columns.names[1], "b");
	cr_expect_str_eq(R.columns.names[2], "c");
	cr_expect_str_eq(R.columns.names[3], "Call ID");
	cr_expect_str_eq(R.columns.names[4], "x y");
	cr_expect_str_eq(R.columns.names[5], "z");
}

Test(rules, columns_errors)
{
	bad("columns\n* drop\n", 1, 1, "columns NAME");
	bad("columns a,,b\n* drop\n", 1, 9, "empty column name");
	bad("columns ,a\n* drop\n", 1, 9, "empty column name");
	bad("columns a\ncolumns b\n* drop\n", 2, 1, "given twice");
}

Test(rules, delimiter)
{
	ok("delimiter ;\n* drop\n");
	cr_expect_eq(R.delim, ';');
	ok("delimiter tab\n* drop\n");
	cr_expect_eq(R.delim, '\t');
	ok("delimiter \"\t\"\n* drop\n"); /* a quoted literal tab */
	cr_expect_eq(R.delim, '\t');
	ok("delimiter |\n* drop\n");
	cr_expect_eq(R.delim, '|');
	bad("delimiter ab\n* drop\n", 1, 11, "one character");
	bad("delimiter \"\\\"\"\n* drop\n", 1, 11, "one character"); /* the quote itself */
	bad("delimiter\n* drop\n", 1, 1, "delimiter CHAR");
	bad("delimiter ; ,\n* drop\n", 1, 13, "delimiter CHAR");
	bad("delimiter ;\ndelimiter ;\n* drop\n", 2, 1, "given twice");
}

Test(rules, numbering_all_keys)
{
	ok("numbering country=44 trunk=0 international=00 bare=national\n* drop\n");
	cr_expect_str_eq(R.numbering.cc, "44");
	cr_expect_str_eq(R.numbering.trunk, "0");
	cr_expect_str_eq(R.numbering.intl, "00");
	cr_expect_eq(R.numbering.bare, CM_BARE_NATIONAL);

	ok("numbering bare=international country=1 international=011\n* drop\n");
	cr_expect_str_eq(R.numbering.cc, "1");
	cr_expect_str_eq(R.numbering.trunk, "");
	cr_expect_str_eq(R.numbering.intl, "011");
	cr_expect_eq(R.numbering.bare, CM_BARE_INTERNATIONAL);

	cr_expect_eq(R.numbering.nsn_min, 0u);
	cr_expect_eq(R.numbering.nsn_max, 0u);
	ok("numbering country=1 trunk=1 international=011 bare=national nsn=10\n* drop\n");
	cr_expect_eq(R.numbering.nsn_min, 10u);
	cr_expect_eq(R.numbering.nsn_max, 10u);
	ok("numbering country=49 trunk=0 nsn=5-11\n* drop\n");
	cr_expect_eq(R.numbering.nsn_min, 5u);
	cr_expect_eq(R.numbering.nsn_max, 11u);
	bad("numbering country=49 nsn=11-5\n* drop\n", 1, 26, "nsn=");
	bad("numbering country=49 nsn=0\n* drop\n", 1, 26, "nsn=");
	bad("numbering country=49 nsn=16\n* drop\n", 1, 26, "nsn=");
	bad("numbering country=49 nsn=x-\n* drop\n", 1, 26, "nsn=");
	bad("numbering country=49 nsn=1234567890123-1\n* drop\n", 1, 26, "nsn=");
	bad("numbering country=49 nsn=1-1234567890123\n* drop\n", 1, 26, "nsn=");

	ok("numbering country=358 trunk= international= bare=local\n* drop\n");
	cr_expect_str_eq(R.numbering.cc, "358");
	cr_expect_str_eq(R.numbering.trunk, "");
	cr_expect_str_eq(R.numbering.intl, "");
	cr_expect_eq(R.numbering.bare, CM_BARE_LOCAL);
}

Test(rules, numbering_bad_values)
{
	/* "numbering " is 10 bytes: a key at col 11, the value of country= at col 19 */
	bad("numbering country=999x\n* drop\n", 1, 19, "country=");
	bad("numbering country=1234\n* drop\n", 1, 19, "country=");
	bad("numbering country=\n* drop\n", 1, 19, "country=");
	bad("numbering country=0\n* drop\n", 1, 19, "country=");
	bad("numbering country=4\n* drop\n", 1, 19, "country="); /* 4x is two digits */
	bad("numbering country=44 trunk=x\n* drop\n", 1, 28, "trunk=");
	bad("numbering country=44 trunk=12345678\n* drop\n", 1, 28, "trunk=");
	bad("numbering international=0a\n* drop\n", 1, 25, "international=");
	bad("numbering bare=regional\n* drop\n", 1, 16, "bare=");
	bad("numbering region=1\n* drop\n", 1, 11, "unexpected 'region=1'");
	bad("numbering country=44 44\n* drop\n", 1, 22, "unexpected '44'");
	bad("numbering bare=national\n* drop\n", 1, 1, "bare=national needs country=");
	bad("numbering trunk=0\n* drop\n", 1, 1, "trunk= needs country=");
	bad("numbering country=44 trunk=0 international=0\n* drop\n", 1, 1, "must differ");
	bad("numbering country=44\nnumbering country=49\n* drop\n", 2, 1, "given twice");
}

Test(rules, epoch)
{
	ok("epoch day of start\n* drop\n");
	cr_expect_eq(R.epoch_unit, CM_EPOCH_DAY);
	cr_expect_str_eq(R.epoch_field, "start");
	cr_expect_eq(R.epoch_line, 1u);
	cr_expect_eq(R.epoch_col, 14u);
	ok("\n  epoch   month of \"call start\"\n* drop\n");
	cr_expect_eq(R.epoch_unit, CM_EPOCH_MONTH);
	cr_expect_str_eq(R.epoch_field, "call start");
	cr_expect_eq(R.epoch_line, 2u);
	cr_expect_eq(R.epoch_col, 20u);
	ok("epoch year of t\n* drop\n");
	cr_expect_eq(R.epoch_unit, CM_EPOCH_YEAR);
	ok("epoch none\n* drop\n");
	cr_expect_eq(R.epoch_unit, CM_EPOCH_NONE);
	cr_expect_null(R.epoch_field);
}

Test(rules, epoch_errors)
{
	bad("epoch week of start\n* drop\n", 1, 7, "day, month or year");
	bad("epoch month start\n* drop\n", 1, 7, "epoch day|month|year of FIELD");
	bad("epoch month in start\n* drop\n", 1, 7, "epoch day|month|year of FIELD");
	bad("epoch\n* drop\n", 1, 1, "epoch day|month|year of FIELD");
	bad("epoch none\nepoch day of t\n* drop\n", 2, 1, "given twice");
}

Test(rules, only_and_skip)
{
	ok("only disposition ANSWERED,BUSY\n"
	   "skip lastapp Hangup\n"
	   "only \"call type\" \"NO ANSWER\",x,\"a,b\"\n"
	   "* drop\n");
	cr_assert_eq(R.nfilters, 3u);

	cr_expect_str_eq(R.filters[0].field, "disposition");
	cr_expect_eq(R.filters[0].skip, 0);
	cr_expect_eq(R.filters[0].line, 1u);
	cr_expect_eq(R.filters[0].col, 6u);
	cr_assert_eq(R.filters[0].nvalues, 2u);
	cr_expect_str_eq(R.filters[0].values[0], "ANSWERED");
	cr_expect_str_eq(R.filters[0].values[1], "BUSY");

	cr_expect_str_eq(R.filters[1].field, "lastapp");
	cr_expect_eq(R.filters[1].skip, 1);
	cr_expect_eq(R.filters[1].line, 2u);
	cr_assert_eq(R.filters[1].nvalues, 1u);
	cr_expect_str_eq(R.filters[1].values[0], "Hangup");

	cr_expect_str_eq(R.filters[2].field, "call type");
	/* a comma inside quotes still separates values (the list is split after unquoting) */
	cr_assert_geq(R.filters[2].nvalues, 2u);
	cr_expect_str_eq(R.filters[2].values[0], "NO ANSWER");
	cr_expect_str_eq(R.filters[2].values[1], "x");
}

Test(rules, only_skip_errors)
{
	bad("only disposition\n* drop\n", 1, 1, "only FIELD VALUE");
	bad("skip a b c\n* drop\n", 1, 1, "skip FIELD VALUE");
	bad("only\n* drop\n", 1, 1, "only FIELD VALUE");
}

/* ------------------------------------------------------- field rules */

Test(rules, keep_drop_redact)
{
	ok("a keep\nb drop\nc redact\nd redact text=n/a\n"
	   "e redact text=\"call hidden\"\nf redact text=\"say \\\"hi\\\" \\\\ ok\"\n"
	   "g redact text=\n* drop\n");
	cr_assert_eq(R.nrules, 7u);
	cr_expect_eq(act("a")->type, CM_ACT_KEEP);
	cr_expect_eq(act("b")->type, CM_ACT_DROP);
	cr_expect_eq(act("c")->type, CM_ACT_REDACT);
	cr_expect_null(act("c")->text, "redact without text= uses " CM_REDACT_DEFAULT);
	cr_expect_str_eq(act("d")->text, "n/a");
	cr_expect_str_eq(act("e")->text, "call hidden");
	cr_expect_str_eq(act("f")->text, "say \"hi\" \\ ok");
	cr_expect_str_eq(act("g")->text, "");
	cr_expect_eq(rule("a")->line, 1u);
	cr_expect_eq(rule("a")->col, 1u);
	cr_expect_eq(rule("g")->line, 7u);
	expect_common_defaults(act("a"));
	expect_common_defaults(act("c"));
}

Test(rules, keep_drop_redact_take_no_other_parameters)
{
	bad("a keep bits=128\n* drop\n", 1, 8, "unexpected 'bits='");
	bad("a drop x\n* drop\n", 1, 8, "unexpected 'x'");
	bad("a redact kind=phone\n* drop\n", 1, 10, "unexpected 'kind='");
}

Test(rules, pseudonym_defaults)
{
	ok("a pseudonym\n* drop\n");
	cr_expect_eq(act("a")->type, CM_ACT_PSEUDONYM);
	cr_expect_eq(act("a")->invalid, CM_INVALID_PSEUDONYM);
	expect_common_defaults(act("a"));
}

Test(rules, pseudonym_parameters)
{
	ok("a pseudonym kind=phone keep=5 bits=256 invalid=redact text=X\n"
	   "b pseudonym kind=imsi keep=5\n"
	   "c pseudonym kind=imei keep=8 invalid=reject\n"
	   "d pseudonym kind=ip bits=136\n"
	   "e pseudonym kind=email invalid=pseudonym\n"
	   "f pseudonym kind=generic\n"
	   "* drop\n");
	cr_expect_eq(act("a")->kind, CM_KIND_PHONE);
	cr_expect_eq(act("a")->keep_digits, 5u);
	cr_expect_eq(act("a")->bits, 256u);
	cr_expect_eq(act("a")->scrub.bits, 256u);
	cr_expect_eq(act("a")->invalid, CM_INVALID_REDACT);
	cr_expect_str_eq(act("a")->text, "X");
	cr_expect_eq(act("b")->kind, CM_KIND_IMSI);
	cr_expect_eq(act("b")->keep_digits, 5u);
	cr_expect_eq(act("c")->kind, CM_KIND_IMEI);
	cr_expect_eq(act("c")->keep_digits, 8u);
	cr_expect_eq(act("c")->invalid, CM_INVALID_REJECT);
	cr_expect_eq(act("d")->kind, CM_KIND_IP);
	cr_expect_eq(act("d")->bits, 136u);
	cr_expect_eq(act("e")->kind, CM_KIND_EMAIL);
	cr_expect_eq(act("e")->invalid, CM_INVALID_PSEUDONYM);
	cr_expect_eq(act("f")->kind, CM_KIND_GENERIC);
}

Test(rules, pseudonym_errors)
{
	/* "a pseudonym " is 12 bytes: the first parameter at col 13 */
	bad("a pseudonym bits=64\n* drop\n", 1, 18, "bits=");
	bad("a pseudonym bits=129\n* drop\n", 1, 18, "bits=");
	bad("a pseudonym bits=264\n* drop\n", 1, 18, "bits=");
	bad("a pseudonym bits=\n* drop\n", 1, 18, "bits=");
	bad("a pseudonym bits=99999999999\n* drop\n", 1, 18, "bits=");
	bad("a pseudonym kind=msisdn\n* drop\n", 1, 18, "kind=");
	bad("a pseudonym invalid=maybe\n* drop\n", 1, 21, "invalid=");
	bad("a pseudonym keep=3\n* drop\n", 1, 3, "keep= needs kind=phone, imsi or imei");
	bad("a pseudonym kind=ip keep=3\n* drop\n", 1, 3, "keep= needs kind=");
	bad("a pseudonym kind=email keep=3\n* drop\n", 1, 3, "keep= needs kind=");
	bad("a pseudonym kind=phone keep=0\n* drop\n", 1, 29, "keep=");
	bad("a pseudonym kind=phone keep=16\n* drop\n", 1, 29, "keep=");
	bad("a pseudonym kind=imsi keep=cc\n* drop\n", 1, 3, "keep=cc needs kind=phone");
	bad("a pseudonym keep=cc\n* drop\n", 1, 3, "keep=cc needs kind=phone");
	bad("a phone pseudonym keep=cc keep=3\n* drop\n", 1, 27, "given twice");
	bad("a redact text=x text=y\n* drop\n", 1, 17, "given twice");
	bad("a scrub redact redact\n* drop\n", 1, 16, "given twice");
	bad("columns a,b,a\n* drop\n", 1, 9, "column 'a' declared twice");
	bad("columns a\nonly a x,\n* drop\n", 2, 8, "empty value");
	bad("columns a\nskip a ,x\n* drop\n", 2, 8, "empty value");
	bad_n("columns a\n* drop # x\0y\n", 23, 2, 11, "NUL byte");
	bad("a pseudonym decimals=2\n* drop\n", 1, 13, "unexpected 'decimals='");
	bad("a pseudonym redact\n* drop\n", 1, 13, "unexpected 'redact'");
}

Test(rules, phone_pseudonym)
{
	ok("a phone pseudonym\nb phone pseudonym keep=cc\nc phone pseudonym keep=5 bits=192\n"
	   "d phone pseudonym invalid=redact text=USER\ne phone pseudonym invalid=reject\n* drop\n");
	cr_expect_eq(act("a")->type, CM_ACT_PHONE);
	cr_expect_eq(act("a")->mode, CM_MODE_PSEUDONYM);
	cr_expect_eq(act("a")->invalid, CM_INVALID_PSEUDONYM, "user names get a phone-kind token");
	expect_common_defaults(act("a"));
	cr_expect_eq(act("b")->keep_cc, 1);
	cr_expect_eq(act("b")->keep_digits, 0u);
	cr_expect_eq(act("c")->keep_cc, 0);
	cr_expect_eq(act("c")->keep_digits, 5u);
	cr_expect_eq(act("c")->bits, 192u);
	cr_expect_eq(act("d")->invalid, CM_INVALID_REDACT);
	cr_expect_str_eq(act("d")->text, "USER");
	cr_expect_eq(act("e")->invalid, CM_INVALID_REJECT);
}

Test(rules, phone_truncate)
{
	ok("a phone truncate digits=6\nb phone truncate digits=15 invalid=redact text=?\n* drop\n");
	cr_expect_eq(act("a")->type, CM_ACT_PHONE);
	cr_expect_eq(act("a")->mode, CM_MODE_TRUNCATE);
	cr_expect_eq(act("a")->digits, 6u);
	cr_expect_eq(act("a")->invalid, CM_INVALID_PSEUDONYM);
	cr_expect_eq(act("b")->digits, 15u);
	cr_expect_eq(act("b")->invalid, CM_INVALID_REDACT);
	cr_expect_str_eq(act("b")->text, "?");
}

Test(rules, phone_errors)
{
	/* missing mode: reported after the action word */
	bad("a phone\n* drop\n", 1, 9, "phone needs a mode");
	bad("a phone keep=cc\n* drop\n", 1, 9, "phone needs a mode");
	bad("a phone hash\n* drop\n", 1, 9, "phone needs a mode");
	bad("a phone truncate\n* drop\n", 1, 9, "phone truncate needs digits=N");
	bad("a phone truncate digits=0\n* drop\n", 1, 25, "digits=");
	bad("a phone truncate digits=16\n* drop\n", 1, 25, "digits=");
	bad("a phone truncate keep=cc\n* drop\n", 1, 18, "unexpected 'keep='");
	bad("a phone pseudonym digits=6\n* drop\n", 1, 19, "unexpected 'digits='");
	bad("a phone pseudonym keep=xx\n* drop\n", 1, 24, "keep= must be cc or");
	bad("a phone pseudonym bits=120\n* drop\n", 1, 24, "bits=");
}

Test(rules, ip)
{
	ok("a ip pseudonym\nb ip pseudonym bits=256 invalid=pseudonym\nc ip truncate\n"
	   "d ip truncate v4=16 v6=32 invalid=redact text=-\ne ip truncate v4=0 v6=48\n* drop\n");
	cr_expect_eq(act("a")->type, CM_ACT_IP);
	cr_expect_eq(act("a")->mode, CM_MODE_PSEUDONYM);
	cr_expect_eq(act("a")->invalid, CM_INVALID_REJECT);
	expect_common_defaults(act("a"));
	cr_expect_eq(act("b")->bits, 256u);
	cr_expect_eq(act("b")->invalid, CM_INVALID_PSEUDONYM);
	cr_expect_eq(act("c")->mode, CM_MODE_TRUNCATE);
	cr_expect_eq(act("c")->v4bits, 24u);
	cr_expect_eq(act("c")->v6bits, 48u);
	cr_expect_eq(act("d")->v4bits, 16u);
	cr_expect_eq(act("d")->v6bits, 32u);
	cr_expect_eq(act("d")->invalid, CM_INVALID_REDACT);
	cr_expect_str_eq(act("d")->text, "-");
	cr_expect_eq(act("e")->v4bits, 0u);
	cr_expect_eq(act("e")->v6bits, 48u);
}

Test(rules, ip_errors)
{
	bad("a ip\n* drop\n", 1, 6, "ip needs a mode");
	bad("a ip truncate v4=33\n* drop\n", 1, 18, "v4=");
	bad("a ip truncate v4=25\n* drop\n", 1, 18, "keeps a host");
	bad("a ip truncate v6=129\n* drop\n", 1, 18, "v6=");
	bad("a ip truncate v6=64\n* drop\n", 1, 18, "customer's network");
	bad("a scrub min-digits=7\n* drop\n", 1, 20, "min-digits=");
	bad("a ip truncate v4=-1\n* drop\n", 1, 18, "v4=");
	bad("a ip truncate v5=3\n* drop\n", 1, 15, "unexpected 'v5='");
	bad("a ip pseudonym v4=8\n* drop\n", 1, 16, "unexpected 'v4='");
	bad("a ip truncate bits=128\n* drop\n", 1, 15, "unexpected 'bits='");
}

Test(rules, geo_lat_lon_cell)
{
	ok("a geo\nb lat decimals=4\nc lon decimals=0 invalid=redact\nd cell\n"
	   "e cell invalid=pseudonym text=X\nf geo decimals=4\n* drop\n");
	cr_expect_eq(act("a")->type, CM_ACT_GEO);
	cr_expect_eq(act("a")->invalid, CM_INVALID_REJECT);
	expect_common_defaults(act("a"));
	cr_expect_eq(act("b")->type, CM_ACT_LAT);
	cr_expect_eq(act("b")->decimals, 4u);
	cr_expect_eq(act("c")->type, CM_ACT_LON);
	cr_expect_eq(act("c")->decimals, 0u);
	cr_expect_eq(act("c")->invalid, CM_INVALID_REDACT);
	cr_expect_eq(act("d")->type, CM_ACT_CELL);
	cr_expect_eq(act("d")->invalid, CM_INVALID_REJECT);
	cr_expect_eq(act("e")->invalid, CM_INVALID_PSEUDONYM);
	cr_expect_str_eq(act("e")->text, "X");
	cr_expect_eq(act("f")->decimals, 4u);
	bad("a geo decimals=10\n* drop\n", 1, 16, "decimals=");
	bad("a lat decimals=5\n* drop\n", 1, 16, "finer keeps a building");
	bad("a lat decimals=x\n* drop\n", 1, 16, "decimals=");
	bad("a cell decimals=2\n* drop\n", 1, 8, "unexpected 'decimals='");
}

Test(rules, geohash)
{
	ok("a geohash\nb geohash chars=1\nc geohash chars=8 invalid=redact text=\"no fix\"\n"
	   "d geohash invalid=pseudonym\n* drop\n");
	cr_expect_eq(act("a")->type, CM_ACT_GEOHASH);
	cr_expect_eq(act("a")->chars, 5u);
	cr_expect_eq(act("a")->invalid, CM_INVALID_REJECT);
	expect_common_defaults(act("a"));
	cr_expect_eq(act("b")->chars, 1u);
	cr_expect_eq(act("c")->chars, 8u);
	cr_expect_eq(act("c")->invalid, CM_INVALID_REDACT);
	cr_expect_str_eq(act("c")->text, "no fix");
	cr_expect_eq(act("d")->invalid, CM_INVALID_PSEUDONYM);
	cr_expect_eq(cm_rules_keyed(&R), 1, "invalid=pseudonym needs the key");
	ok("a geohash chars=7\n* drop\n");
	cr_expect_eq(cm_rules_keyed(&R), 0, "a geohash alone needs no key");
	bad("a geohash chars=0\n* drop\n", 1, 17, "chars= must be a number from 1 to 8");
	bad("a geohash chars=13\n* drop\n", 1, 17, "chars=");
	bad("a geohash chars=9\n* drop\n", 1, 17, "finer keeps a building");
	bad("a geohash chars=\n* drop\n", 1, 17, "chars=");
	bad("a geohash chars=five\n* drop\n", 1, 17, "chars=");
	bad("a geohash chars=5 chars=6\n* drop\n", 1, 19, "'chars' given twice");
	bad("a geohash decimals=2\n* drop\n", 1, 11, "unexpected 'decimals='");
	bad("a geohash truncate\n* drop\n", 1, 11, "unexpected 'truncate'");
	bad("a geo chars=5\n* drop\n", 1, 7, "unexpected 'chars='");
	bad("a cell chars=5\n* drop\n", 1, 8, "unexpected 'chars='");
}

Test(rules, time)
{
	ok("a time floor=minute\nb time floor=hour invalid=redact\nc time floor=day\n* drop\n");
	cr_expect_eq(act("a")->type, CM_ACT_TIME);
	cr_expect_eq(act("a")->unit, CM_TIME_MINUTE);
	cr_expect_eq(act("a")->invalid, CM_INVALID_REJECT);
	cr_expect_eq(act("a")->digits, 0u, "the floor= marker does not leak into digits");
	cr_expect_eq(act("b")->unit, CM_TIME_HOUR);
	cr_expect_eq(act("b")->invalid, CM_INVALID_REDACT);
	cr_expect_eq(act("c")->unit, CM_TIME_DAY);
	bad("a time\n* drop\n", 1, 3, "time needs floor=");
	bad("a time floor=week\n* drop\n", 1, 14, "floor=");
	bad("a time digits=3\n* drop\n", 1, 8, "unexpected 'digits='");
}

Test(rules, bucket)
{
	ok("a bucket bounds=0,10,30,60\nb bucket bounds=-1.5,0,2.25 invalid=redact\n* drop\n");
	cr_expect_eq(act("a")->type, CM_ACT_BUCKET);
	cr_expect_eq(act("a")->invalid, CM_INVALID_REJECT);
	cr_assert_eq(act("a")->bucket.n, 4u);
	cr_expect_float_eq(act("a")->bucket.bound[0], 0.0, 1e-12);
	cr_expect_float_eq(act("a")->bucket.bound[3], 60.0, 1e-12);
	cr_expect_str_eq(act("a")->bucket.label[0], "0");
	cr_expect_str_eq(act("a")->bucket.label[1], "10");
	cr_expect_str_eq(act("a")->bucket.label[3], "60");
	cr_assert_eq(act("b")->bucket.n, 3u);
	cr_expect_float_eq(act("b")->bucket.bound[0], -1.5, 1e-12);
	cr_expect_str_eq(act("b")->bucket.label[0], "-1.5");
	cr_expect_str_eq(act("b")->bucket.label[2], "2.25");
	cr_expect_eq(act("b")->invalid, CM_INVALID_REDACT);
}

Test(rules, bucket_errors)
{
	bad("a bucket\n* drop\n", 1, 3, "bucket needs bounds=");
	bad("a bucket bounds=5,3\n* drop\n", 1, 17, "increasing");
	bad("a bucket bounds=5,5\n* drop\n", 1, 17, "increasing");
	bad("a bucket bounds=1,x\n* drop\n", 1, 17, "comma-separated");
	bad("a bucket bounds=1,\n* drop\n", 1, 17, "comma-separated");
	bad("a bucket bounds=\n* drop\n", 1, 17, "comma-separated");
	bad("a bucket bounds=1,,2\n* drop\n", 1, 17, "comma-separated");
}

Test(rules, scrub)
{
	ok("a scrub\nb scrub redact text=XX display=keep min-digits=6\nc scrub bits=256 display=redact\n"
	   "d scrub redact\n* drop\n");
	cr_expect_eq(act("a")->type, CM_ACT_SCRUB);
	cr_expect_eq(act("a")->scrub.redact, 0);
	cr_expect_eq(act("a")->scrub.display_redact, 1, "display names are names: emptied by default");
	cr_expect_eq(act("a")->scrub.min_digits, (unsigned)CM_SCRUB_MIN_DIGITS_DEFAULT);
	cr_expect_eq(act("a")->scrub.bits, (unsigned)CM_TOKEN_BITS_DEFAULT);
	expect_common_defaults(act("a"));
	cr_expect_eq(act("b")->scrub.redact, 1);
	cr_expect_str_eq(act("b")->text, "XX");
	cr_expect_str_eq(act("b")->scrub.redact_text, "XX");
	cr_expect_eq(act("b")->scrub.display_redact, 0);
	cr_expect_eq(act("b")->scrub.min_digits, 6u);
	cr_expect_eq(act("c")->bits, 256u);
	cr_expect_eq(act("c")->scrub.bits, 256u);
	cr_expect_eq(act("c")->scrub.display_redact, 1);
	cr_expect_eq(act("d")->scrub.redact, 1);
	cr_expect_null(act("d")->text);
}

Test(rules, scrub_errors)
{
	bad("a scrub display=maybe\n* drop\n", 1, 17, "display=");
	bad("a scrub min-digits=0\n* drop\n", 1, 20, "min-digits=");
	bad("a scrub min-digits=16\n* drop\n", 1, 20, "min-digits=");
	bad("a scrub invalid=reject\n* drop\n", 1, 9, "unexpected 'invalid='");
	bad("a scrub bits=8\n* drop\n", 1, 14, "bits=");
	bad("a scrub pseudonym\n* drop\n", 1, 9, "unexpected 'pseudonym'");
}

/* ------------------------------------------------------------- default */

Test(rules, default_drop_and_redact)
{
	ok("a keep\n* drop\n");
	cr_expect_eq(R.def.type, CM_ACT_DROP);
	cr_expect_eq(R.def_line, 2u);
	ok("a keep\n\n*   redact text=\"n/a\"\n");
	cr_expect_eq(R.def.type, CM_ACT_REDACT);
	cr_expect_str_eq(R.def.text, "n/a");
	cr_expect_eq(R.def_line, 3u);
	cr_expect_eq(R.nrules, 1u, "the default is not a field rule");
}

Test(rules, default_errors)
{
	bad("a keep\n* keep\n", 2, 3, "must be drop or redact");
	bad("* pseudonym\n", 1, 3, "must be drop or redact");
	bad("* phone pseudonym\n", 1, 3, "must be drop or redact");
	bad("a keep\n", 2, 1, "deny by default");
	bad("a keep\n# the end\n\n", 4, 1, "deny by default");
	bad("", 1, 1, "deny by default");
	bad("* drop\n* drop\n", 2, 1, "already set at line 1");
	bad("*\n", 1, 1, "* drop");
	bad("* frob\n", 1, 3, "unknown action");
	bad("* drop now\n", 1, 8, "unexpected 'now'");
}

/* --------------------------------------------------------------- errors */

Test(rules, unknown_action)
{
	bad("a frobnicate\n* drop\n", 1, 3, "unknown action 'frobnicate'");
	cr_expect(strstr(E.msg, "geohash") != NULL, "the message lists every action: %s", E.msg);
	bad("columns a\n\n   a   Keep\n* drop\n", 3, 8, "unknown action");
}

Test(rules, unkeyed_hashes_refused)
{
	static const char *const names[] = {"hash", "sha1", "sha256", "sha512", "md5", "blake2b",
					    "crc32", "xxhash", "unkeyed"};
	char text[64];
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(text, sizeof text, "col %s\n* drop\n", names[i]);
		bad(text, 1, 5, "unkeyed hash");
		cr_expect(strstr(E.msg, "pseudonym") != NULL, "the message points to the keyed action");
	}
}

Test(rules, duplicate_field)
{
	bad("a phone pseudonym\na keep\n* drop\n", 2, 1, "already has a rule at line 1");
	bad("\"a\" keep\n  a drop\n* drop\n", 2, 3, "already has a rule at line 1");
}

Test(rules, missing_action)
{
	bad("src\n* drop\n", 1, 4, "expected an action after field 'src'");
	bad("\"my f\"\n* drop\n", 1, 7, "expected an action");
	bad("\"\" keep\n* drop\n", 1, 1, "empty field name");
}

Test(rules, directive_given_twice)
{
	bad("format csv\nheader yes\nformat csv\n* drop\n", 3, 1, "'format' given twice");
	bad("epoch day of a\n  epoch day of a\n* drop\n", 2, 3, "'epoch' given twice");
}

Test(rules, unterminated_quote)
{
	bad("a redact text=\"x\n* drop\n", 1, 10, "unterminated quote");
	bad("\"abc keep\n* drop\n", 1, 1, "unterminated quote");
	bad("a keep\n* drop\nb redact text=\"a\\\"\n", 3, 10, "unterminated quote");
}

Test(rules, nul_byte)
{
	static const char t1[] = "a ke\0ep\n* drop\n";
	static const char t2[] = "a keep\n* drop\nb redact text=\"x\0\"\n";

	bad_n(t1, sizeof t1 - 1, 1, 5, "NUL byte");
	bad_n(t2, sizeof t2 - 1, 3, 17, "NUL byte");
}

Test(rules, too_many_words)
{
	char text[512];
	size_t i, o = 0;

	o += (size_t)snprintf(text + o, sizeof text - o, "columns");
	for (i = 0; i < 63; i++) /* 64 words: the most a line may have */
		o += (size_t)snprintf(text + o, sizeof text - o, " c%02zu", i);
	snprintf(text + o, sizeof text - o, "\n* drop\n");
	ok(text);
	cr_expect_eq(R.columns.n, 63u);

	o = (size_t)snprintf(text, sizeof text, "columns");
	for (i = 0; i < 64; i++) /* 65 words; word k (0-based) of " cNN" starts at 9 + 4k */
		o += (size_t)snprintf(text + o, sizeof text - o, " c%02zu", i);
	snprintf(text + o, sizeof text - o, "\n* drop\n");
	bad(text, 1, 9 + 63 * 4, "too many words");
}

Test(rules, tab_separates_words)
{
	ok("a\tredact\t\ttext=x\n*\tdrop\n");
	cr_expect_eq(act("a")->type, CM_ACT_REDACT);
	cr_expect_str_eq(act("a")->text, "x");
	bad("a\tfrobnicate\n* drop\n", 1, 3, "unknown action");
}

/* -------------------------------------------- comments, quoting, CRLF */

Test(rules, comments)
{
	ok("# a comment line\n"
	   "   # an indented comment\n"
	   "columns a,b,c,d,e # trailing comment\n"
	   "a redact text=a#b\n"
	   "b redact text=\"#not a comment\"\n"
	   "c redact \"text=#x\"   # comment after a quoted word\n"
	   "\"#d\" keep\n"
	   "#* redact\n"
	   "* drop #\n");
	cr_expect_eq(R.columns.n, 5u, "the comment is not a column");
	cr_expect_str_eq(act("a")->text, "a#b");
	cr_expect_str_eq(act("b")->text, "#not a comment");
	cr_expect_str_eq(act("c")->text, "#x");
	cr_expect_eq(act("#d")->type, CM_ACT_KEEP);
	cr_expect_eq(R.def.type, CM_ACT_DROP, "a commented-out line sets nothing");
	cr_expect_eq(R.def_line, 9u);
	cr_expect_eq(R.nrules, 4u);
}

Test(rules, crlf_line_ends)
{
	ok("columns a,b,c\r\n"
	   "numbering country=44 trunk=0 international=00\r\n"
	   "a redact text=x\r\n"
	   "b redact text=\"y z\"\r\n"
	   "epoch day of c\r\n"
	   "only c 1,2\r\n"
	   "* redact\r\n");
	cr_assert_eq(R.columns.n, 3u);
	cr_expect_str_eq(R.columns.names[2], "c");
	cr_expect_str_eq(R.numbering.intl, "00");
	cr_expect_str_eq(act("a")->text, "x");
	cr_expect_str_eq(act("b")->text, "y z");
	cr_expect_str_eq(R.epoch_field, "c");
	cr_assert_eq(R.nfilters, 1u);
	cr_expect_str_eq(R.filters[0].values[1], "2");
	cr_expect_eq(R.def.type, CM_ACT_REDACT);
	cr_expect_eq(R.def_line, 7u);
	/* positions stay right with CR bytes before each LF */
	bad("columns a\r\na keep\r\nb frob\r\n* drop\r\n", 3, 3, "unknown action");
}

Test(rules, last_line_without_newline)
{
	ok("a keep\n* drop");
	cr_expect_eq(R.def_line, 2u);
	cr_expect_eq(R.nrules, 1u);
}

Test(rules, quoted_field_named_like_a_directive)
{
	ok("\"format\" keep\n\"columns\" redact\n\"*\" keep\n\"epoch\" drop\n\"only\" keep\n"
	   "\"Call ID\" redact\n* drop\n");
	cr_expect_eq(R.nrules, 6u);
	cr_expect_eq(act("format")->type, CM_ACT_KEEP);
	cr_expect_eq(act("columns")->type, CM_ACT_REDACT);
	cr_expect_eq(act("*")->type, CM_ACT_KEEP, "a quoted * is a field, not the default");
	cr_expect_eq(act("epoch")->type, CM_ACT_DROP);
	cr_expect_eq(act("Call ID")->type, CM_ACT_REDACT);
	cr_expect_eq(R.columns.n, 0u, "\"columns\" declared no columns");
	cr_expect_eq(R.def.type, CM_ACT_DROP);
	cr_expect_eq(R.def_line, 7u);
	/* unquoted, the same word is the directive */
	bad("format keep\n* drop\n", 1, 8, "unknown format");
}

Test(rules, partly_quoted_word_is_not_a_quoted_name)
{
	/* only a wholly quoted first word forces a field rule */
	ok("form\"at\" csv\n* drop\n");
	cr_expect_eq(R.nrules, 0u);
	cr_expect_eq(R.format, CM_FORMAT_CSV);
}

/* ------------------------------------------------------------- keyed */

static int keyed(const char *text)
{
	ok(text);
	return cm_rules_keyed(&R);
}

Test(rules, keyed)
{
	cr_expect_eq(keyed("a keep\nb redact\nc drop\n* redact\n"), 0);
	cr_expect_eq(keyed("a time floor=hour\nb geo\nc bucket bounds=1\nd cell\n* drop\n"), 0);
	cr_expect_eq(keyed("a ip truncate\n* drop\n"), 0);
	cr_expect_eq(keyed("a scrub redact\n* drop\n"), 0);
	cr_expect_eq(keyed("a phone truncate digits=6 invalid=redact\n* drop\n"), 0);

	cr_expect_eq(keyed("a keep\nb pseudonym\n* drop\n"), 1);
	cr_expect_eq(keyed("a phone pseudonym keep=cc\n* drop\n"), 1);
	cr_expect_eq(keyed("a ip pseudonym\n* drop\n"), 1);
	cr_expect_eq(keyed("a scrub\n* drop\n"), 1);
	/* user names in a truncated phone column get tokens by default */
	cr_expect_eq(keyed("a phone truncate digits=6\n* drop\n"), 1);
	cr_expect_eq(keyed("a ip truncate invalid=pseudonym\n* drop\n"), 1);
	cr_expect_eq(keyed("a time floor=day invalid=pseudonym\n* drop\n"), 1);
	cr_expect_eq(keyed("a bucket bounds=1 invalid=pseudonym\n* drop\n"), 1);
}

/* ------------------------------------------ failure leaves nothing */

Test(rules, failure_after_much_was_parsed_leaves_rules_empty)
{
	/* every kind of owned memory allocated before the error on the last line */
	bad("columns a,b,c,d,e\n"
	    "numbering country=44 trunk=0 international=00\n"
	    "epoch month of a\n"
	    "only b x,y,z\n"
	    "skip c q\n"
	    "a redact text=AAA\n"
	    "b bucket bounds=1,2,3\n"
	    "c scrub redact text=CCC\n"
	    "* redact text=DEF\n"
	    "d bucket bounds=1,2,0\n",
	    10, 17, "increasing");
	/* and a failure inside a rule's own parameters, after its text= */
	bad("a redact text=A\nb pseudonym text=B kind=phone keep=2 bits=7\n* drop\n", 2, 43, "bits=");
	bad("* redact text=X extra=1\n", 1, 17, "unexpected 'extra='");
}

Test(rules, reparse_after_failure)
{
	bad("a frob\n* drop\n", 1, 3, "unknown action");
	ok("a keep\n* drop\n");
	cr_expect_eq(R.nrules, 1u);
}

Test(rules, load_from_file)
{
	char path[] = "/tmp/cdrmin-rules-XXXXXX";
	static const char text[] = "columns a,b\na keep\n* drop\n";
	int fd = mkstemp(path);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	cm_rules_deinit(&R);
	cr_assert_eq(cm_rules_load(&R, path, &E), 0, "%s", E.msg);
	cr_expect_str_eq(R.path, path);
	cr_expect_eq(R.columns.n, 2u);
	cm_rules_deinit(&R);
	unlink(path);
	cr_expect_eq(cm_rules_load(&R, path, &E), CM_FAIL);
	cr_expect_eq(E.code, CM_E_RULES, "an unreadable rules file is a rules error");
	assert_empty();
}
