/*
 * Unit tests of the JSON lines decoder, paths and subtree rewriting
 * (src/json.c).
 *
 * Most decoder tests go through dec(): it decodes a line with a decoder
 * and returns a transcript, and decodes it a second time placed right
 * before an inaccessible page, so that any read past the line faults; both
 * transcripts must agree. A transcript is one entry per schema field,
 * joined by '|':
 *
 *     S:<decoded>  N:<text>  B:<word>  T:<text>  0 (null)  - (absent)
 *
 * with \0, |, \ and bytes outside printable ASCII written as \0, \|, \\ and
 * \xHH; or, for a rejected line, "json@<at>" or "duplicate@<at>#<field>".
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/json.h"
#include "cdrmin/record.h"

#include "utf8_model.h"

TestSuite(json);

/* A string literal with its length, NUL bytes included. */
#define LIT(s) (s), (sizeof(s) - 1)

/* A decoder for the n paths of p; fails the test when it cannot be built. */
static struct cm_jsonl *mk(const char *const *p, size_t n)
{
	struct cm_schema s;
	struct cm_jsonl *d;
	struct cm_err err;
	size_t i;

	cm_schema_init(&s);
	for (i = 0; i < n; i++)
		cr_assert_eq(cm_schema_add(&s, p[i], strlen(p[i])), 0);
	d = cm_jsonl_new(&s, &err);
	cr_assert_not_null(d, "%s", err.msg);
	/* The decoder keeps nothing of the schema. */
	cm_schema_deinit(&s);
	return d;
}

#define MK(...)                                                                                    \
	mk((const char *const[]){__VA_ARGS__},                                                     \
	   sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void put_escaped(struct cm_buf *t, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == 0)
			cm_buf_adds(t, "\\0");
		else if (c == '|' || c == '\\') {
			cm_buf_addc(t, '\\');
			cm_buf_addc(t, (char)c);
		} else if (c < 0x20 || c >= 0x7f) {
			cm_buf_adds(t, "\\x");
			cm_buf_addc(t, hex[c >> 4]);
			cm_buf_addc(t, hex[c & 15]);
		} else
			cm_buf_addc(t, (char)c);
	}
}

/* Decodes line[0..n) once and appends the transcript to t. */
static int dec_once(struct cm_jsonl *d, const char *line, size_t n, struct cm_buf *t)
{
	struct cm_record rec;
	struct cm_json_fault fault;
	size_t i;
	int r;

	memset(&rec, 0, sizeof rec);
	rec.line = 7;
	rec.offset = 99;
	r = cm_jsonl_decode(d, line, n, &rec, &fault);
	cr_assert(r == 0 || r == 1, "decode returned %d", r);
	if (r == 0) {
		cr_assert_null(rec.f, "rec filled on a reject");
		cm_buf_adds(t, cm_reject_name(fault.reason));
		cm_buf_addc(t, '@');
		cm_buf_addu(t, fault.at);
		if (fault.reason == CM_REJ_DUPLICATE) {
			cm_buf_addc(t, '#');
			cm_buf_addu(t, (unsigned long long)fault.field);
		} else {
			cr_assert_eq(fault.reason, CM_REJ_JSON);
			cr_assert_eq(fault.field, -1);
		}
		cr_assert_leq(fault.at, n);
		return 0;
	}
	cr_assert_eq(rec.line, 7);
	cr_assert_eq(rec.offset, 99);
	cr_assert_not_null(rec.type);
	cr_assert_not_null(rec.raw);
	for (i = 0; i < rec.n; i++) {
		struct cm_slice f = rec.f[i], raw = rec.raw[i];

		if (i)
			cm_buf_addc(t, '|');
		switch (rec.type[i]) {
		case CM_VT_ABSENT:
			cr_assert_eq(f.n, 0);
			cr_assert_eq(raw.n, 0);
			cm_buf_addc(t, '-');
			continue;
		case CM_VT_NULL:
			cr_assert_eq(f.n, 0);
			cr_assert(cm_slice_eq(raw, LIT("null")));
			cm_buf_addc(t, '0');
			continue;
		case CM_VT_STR:
			cr_assert(raw.n >= 2 && raw.p[0] == '"' && raw.p[raw.n - 1] == '"');
			cm_buf_adds(t, "S:");
			break;
		case CM_VT_NUM: cm_buf_adds(t, "N:"); break;
		case CM_VT_BOOL: cm_buf_adds(t, "B:"); break;
		case CM_VT_TREE: cm_buf_adds(t, "T:"); break;
		default: cr_assert_fail("bad type %d", rec.type[i]);
		}
		/* raw is always a slice of the line */
		cr_assert(raw.p >= line && raw.p + raw.n <= line + n, "raw outside the line");
		if (rec.type[i] != CM_VT_STR)
			cr_assert(f.p == raw.p && f.n == raw.n, "f differs from raw");
		put_escaped(t, f.p, f.n);
	}
	return 1;
}

/*
 * The transcript of decoding line[0..n) with d (static: one at a time),
 * checked against a run at a guard page.
 */
static const char *dec(struct cm_jsonl *d, const char *line, size_t n)
{
	static char res[8192];
	static char *map;
	static size_t pg, span;
	struct cm_buf a, b;
	char *p;

	cm_buf_init(&a);
	cm_buf_init(&b);
	dec_once(d, line, n, &a);
	if (!map) {
		pg = (size_t)sysconf(_SC_PAGESIZE);
		span = 16 * pg;
		map = mmap(NULL, span + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
		cr_assert(map != MAP_FAILED);
		cr_assert_eq(mprotect(map + span, pg, PROT_NONE), 0);
	}
	if (n <= span) {
		p = map + span - n;
		memcpy(p, line, n);
		dec_once(d, p, n, &b);
		cr_assert(a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0), "guard run differs");
	}
	cr_assert(!a.oom && !b.oom);
	cr_assert_lt(a.n, sizeof res);
	if (a.n)
		memcpy(res, a.p, a.n);
	res[a.n] = '\0';
	cm_buf_deinit(&a);
	cm_buf_deinit(&b);
	return res;
}

#define D(d, lit) dec(d, LIT(lit))

/* ---- values and types ---- */

Test(json, types)
{
	struct cm_jsonl *d = MK("s", "n", "t", "f", "z", "o", "a", "missing", "e", "ea");

	cr_expect_str_eq(D(d, "{\"s\":\"x y\",\"n\":12,\"t\":true,\"f\":false,\"z\":null,"
			      "\"o\":{\"a\": [1, {}]},\"a\":[1,\"2\"],\"e\":\"\",\"ea\":[]}"),
			 "S:x y|N:12|B:true|B:false|0|T:{\"a\": [1, {}]}|T:[1,\"2\"]|-|S:|T:[]");
	/* the next line starts afresh: nothing left of the last one */
	cr_expect_str_eq(D(d, "{\"n\":-1}"), "-|N:-1|-|-|-|-|-|-|-|-");
	cr_expect_str_eq(D(d, "{}"), "-|-|-|-|-|-|-|-|-|-");
	cm_jsonl_free(d);
}

Test(json, raw_and_zero_copy)
{
	static const char line[] = "{\"a\":\"plain\",\"b\":\"t\\u00e9l \\\"x\\\"\",\"c\": null ,"
				   "\"d\":1.50}";
	struct cm_jsonl *d = MK("a", "b", "c", "d");
	struct cm_record rec;
	struct cm_json_fault fault;

	cr_assert_eq(cm_jsonl_decode(d, LIT(line), &rec, &fault), 1);
	cr_assert_eq(rec.n, 4);
	/* no escapes: a slice of the line, inside the quotes */
	cr_expect(rec.f[0].p == line + 6 && rec.f[0].n == 5);
	cr_expect(rec.raw[0].p == line + 5 && rec.raw[0].n == 7);
	/* escapes: decoded elsewhere, raw as written */
	cr_expect(rec.f[1].p < line || rec.f[1].p >= line + sizeof line);
	cr_expect(cm_slice_eq(rec.f[1], LIT("t\xc3\xa9l \"x\"")));
	cr_expect(cm_slice_eq(rec.raw[1], LIT("\"t\\u00e9l \\\"x\\\"\"")));
	cr_expect_eq(rec.type[2], CM_VT_NULL);
	cr_expect(cm_slice_eq(rec.raw[2], LIT("null")));
	cr_expect(rec.raw[2].p == strstr(line, "null"));
	cr_expect(cm_slice_eq(rec.f[3], LIT("1.50")) && rec.type[3] == CM_VT_NUM);
	cm_jsonl_free(d);
}

Test(json, numbers_exact_text)
{
	struct cm_jsonl *d = MK("n");

	cr_expect_str_eq(D(d, "{\"n\":1e400}"), "N:1e400");
	cr_expect_str_eq(D(d, "{\"n\":-0.0}"), "N:-0.0");
	cr_expect_str_eq(D(d, "{\"n\":-0}"), "N:-0");
	cr_expect_str_eq(D(d, "{\"n\":0}"), "N:0");
	cr_expect_str_eq(D(d, "{\"n\":12345678901234567890123}"), "N:12345678901234567890123");
	cr_expect_str_eq(D(d, "{\"n\":1.5E+10}"), "N:1.5E+10");
	cr_expect_str_eq(D(d, "{\"n\":2e-05}"), "N:2e-05");
	cr_expect_str_eq(D(d, "{\"n\":0.000001}"), "N:0.000001");
	cr_expect_str_eq(D(d, "{\"n\":-12.34e5 }"), "N:-12.34e5");
	cm_jsonl_free(d);
}

Test(json, numbers_malformed)
{
	struct cm_jsonl *d = MK("n");

	/* at: the first byte that cannot continue a valid line */
	cr_expect_str_eq(D(d, "{\"n\":01}"), "json@6");
	cr_expect_str_eq(D(d, "{\"n\":-}"), "json@6");
	cr_expect_str_eq(D(d, "{\"n\":1.}"), "json@7");
	cr_expect_str_eq(D(d, "{\"n\":1.e5}"), "json@7");
	cr_expect_str_eq(D(d, "{\"n\":.5}"), "json@5");
	cr_expect_str_eq(D(d, "{\"n\":+1}"), "json@5");
	cr_expect_str_eq(D(d, "{\"n\":1e}"), "json@7");
	cr_expect_str_eq(D(d, "{\"n\":1e+}"), "json@8");
	cr_expect_str_eq(D(d, "{\"n\":--1}"), "json@6");
	cr_expect_str_eq(D(d, "{\"n\":0x1}"), "json@6");
	cr_expect_str_eq(D(d, "{\"n\":1.5.3}"), "json@8");
	cr_expect_str_eq(D(d, "{\"n\":NaN}"), "json@5");
	cr_expect_str_eq(D(d, "{\"n\":Infinity}"), "json@5");
	cr_expect_str_eq(D(d, "{\"n\":-Infinity}"), "json@6");
	/* unnamed values are checked the same */
	cr_expect_str_eq(D(d, "{\"m\":01}"), "json@6");
	cr_expect_str_eq(D(d, "{\"m\":[1,2,03]}"), "json@11");
	cr_expect_str_eq(D(d, "{\"n\":1"), "json@6");
	cr_expect_str_eq(D(d, "{\"n\":1e"), "json@7");
	cm_jsonl_free(d);
}

Test(json, literals)
{
	struct cm_jsonl *d = MK("v");

	cr_expect_str_eq(D(d, "{\"v\":true}"), "B:true");
	cr_expect_str_eq(D(d, "{\"v\":tru}"), "json@8");
	cr_expect_str_eq(D(d, "{\"v\":truex}"), "json@9");
	cr_expect_str_eq(D(d, "{\"v\":True}"), "json@5");
	cr_expect_str_eq(D(d, "{\"v\":nul"), "json@8");
	cr_expect_str_eq(D(d, "{\"v\":fals}"), "json@9");
	cr_expect_str_eq(D(d, "{\"v\":undefined}"), "json@5");
	cr_expect_str_eq(D(d, "{\"w\":nulL}"), "json@8");
	cm_jsonl_free(d);
}

/* ---- strings ---- */

Test(json, escapes)
{
	struct cm_jsonl *d = MK("s");

	cr_expect_str_eq(D(d, "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}"),
			 "S:\"\\\\/\\x08\\x0c\\x0a\\x0d\\x09");
	cr_expect_str_eq(D(d, "{\"s\":\"a\\u0000b\"}"), "S:a\\0b");
	cr_expect_str_eq(D(d, "{\"s\":\"\\u00e9\\u00E9\\u20AC\"}"), "S:\\xc3\\xa9\\xc3\\xa9\\xe2\\x82\\xac");
	cr_expect_str_eq(D(d, "{\"s\":\"\\u0041\\u007f\\u0080\\u07ff\\u0800\\uffff\"}"),
			 "S:A\\x7f\\xc2\\x80\\xdf\\xbf\\xe0\\xa0\\x80\\xef\\xbf\\xbf");
	/* a surrogate pair is its code point */
	cr_expect_str_eq(D(d, "{\"s\":\"\\ud83d\\ude00\"}"), "S:\\xf0\\x9f\\x98\\x80");
	cr_expect_str_eq(D(d, "{\"s\":\"\\uDBFF\\uDFFF\"}"), "S:\\xf4\\x8f\\xbf\\xbf");
	cr_expect_str_eq(D(d, "{\"s\":\"\\ud800\\udc00\"}"), "S:\\xf0\\x90\\x80\\x80");
	/* lone surrogates are U+FFFD */
	cr_expect_str_eq(D(d, "{\"s\":\"\\ud800\"}"), "S:\\xef\\xbf\\xbd");
	cr_expect_str_eq(D(d, "{\"s\":\"\\udc00x\"}"), "S:\\xef\\xbf\\xbdx");
	cr_expect_str_eq(D(d, "{\"s\":\"\\ud800\\u0041\"}"), "S:\\xef\\xbf\\xbdA");
	cr_expect_str_eq(D(d, "{\"s\":\"\\ud800\\ud800\\udc00\"}"),
			 "S:\\xef\\xbf\\xbd\\xf0\\x90\\x80\\x80");
	cr_expect_str_eq(D(d, "{\"s\":\"\\ude00\\ud83d\"}"), "S:\\xef\\xbf\\xbd\\xef\\xbf\\xbd");
	cr_expect_str_eq(D(d, "{\"s\":\"\\ud83dx\\ude00\"}"), "S:\\xef\\xbf\\xbdx\\xef\\xbf\\xbd");
	/* text around escapes is kept */
	cr_expect_str_eq(D(d, "{\"s\":\"ab\\ncd\\tef\"}"), "S:ab\\x0acd\\x09ef");
	cm_jsonl_free(d);
}

Test(json, escapes_malformed)
{
	struct cm_jsonl *d = MK("s");

	/* a bad escape at the byte after the backslash */
	cr_expect_str_eq(D(d, "{\"s\":\"\\x\"}"), "json@7");
	cr_expect_str_eq(D(d, "{\"s\":\"\\'\"}"), "json@7");
	cr_expect_str_eq(D(d, "{\"s\":\"\\U0041\"}"), "json@7");
	cr_expect_str_eq(D(d, "{\"s\":\"\\u12G4\"}"), "json@10");
	cr_expect_str_eq(D(d, "{\"s\":\"\\u12\"}"), "json@10");
	/* the line ends inside the escape */
	cr_expect_str_eq(D(d, "{\"s\":\"\\"), "json@7");
	cr_expect_str_eq(D(d, "{\"s\":\"\\u00"), "json@10");
	/* a high surrogate followed by a broken escape */
	cr_expect_str_eq(D(d, "{\"s\":\"\\ud800\\uzzzz\"}"), "json@14");
	/* unnamed strings and keys are checked the same */
	cr_expect_str_eq(D(d, "{\"t\":\"\\a\"}"), "json@7");
	cr_expect_str_eq(D(d, "{\"\\q\":1}"), "json@3");
	cm_jsonl_free(d);
}

Test(json, control_characters)
{
	struct cm_jsonl *d = MK("s");

	cr_expect_str_eq(D(d, "{\"s\":\"a\tb\"}"), "json@7");
	cr_expect_str_eq(D(d, "{\"s\":\"a\x01\"}"), "json@7");
	cr_expect_str_eq(D(d, "{\"s\":\"a\x1f\"}"), "json@7");
	cr_expect_str_eq(D(d, "{\"s\":\"\r\"}"), "json@6");
	cr_expect_str_eq(D(d, "{\"s\":\"\0\"}"), "json@6");
	cr_expect_str_eq(D(d, "{\"x\":\"\0\"}"), "json@6");
	cr_expect_str_eq(D(d, "{\"\x02\":1}"), "json@2");
	/* DEL is not a control character for JSON */
	cr_expect_str_eq(D(d, "{\"s\":\"\x7f\"}"), "S:\\x7f");
	/* NUL outside a string is bad syntax */
	cr_expect_str_eq(D(d, "{\"s\":1\0}"), "json@6");
	cm_jsonl_free(d);
}

Test(json, utf8_raw)
{
	struct cm_jsonl *d = MK("s");

	cr_expect_str_eq(D(d, "{\"s\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e \xf4\x8f\xbf\xbf\"}"),
			 "S:caf\\xc3\\xa9 \\xe2\\x82\\xac \\xf0\\x9f\\x93\\x9e \\xf4\\x8f\\xbf\\xbf");
	/* not UTF-8: at the first byte that cannot continue the sequence */
	cr_expect_str_eq(D(d, "{\"s\":\"\xc0\xaf\"}"), "json@6");         /* overlong lead */
	cr_expect_str_eq(D(d, "{\"s\":\"\xc1\xbf\"}"), "json@6");
	cr_expect_str_eq(D(d, "{\"s\":\"\xe0\x80\xaf\"}"), "json@7");     /* overlong 3 */
	cr_expect_str_eq(D(d, "{\"s\":\"\xf0\x8f\xbf\xbf\"}"), "json@7"); /* overlong 4 */
	cr_expect_str_eq(D(d, "{\"s\":\"\xed\xa0\x80\"}"), "json@7");     /* surrogate */
	cr_expect_str_eq(D(d, "{\"s\":\"\xed\xbf\xbf\"}"), "json@7");
	cr_expect_str_eq(D(d, "{\"s\":\"\xf4\x90\x80\x80\"}"), "json@7"); /* > U+10FFFF */
	cr_expect_str_eq(D(d, "{\"s\":\"\xf5\x80\x80\x80\"}"), "json@6");
	cr_expect_str_eq(D(d, "{\"s\":\"\xff\"}"), "json@6");
	cr_expect_str_eq(D(d, "{\"s\":\"\x80\"}"), "json@6");             /* lone continuation */
	cr_expect_str_eq(D(d, "{\"s\":\"\xe2\x82\"}"), "json@8");         /* cut short */
	cr_expect_str_eq(D(d, "{\"s\":\"\xf0\x9f\x93x\"}"), "json@9");
	cr_expect_str_eq(D(d, "{\"s\":\"\xe2\x82"), "json@8");           /* line ends */
	/* edges that are valid */
	cr_expect_str_eq(D(d, "{\"s\":\"\xed\x9f\xbf\xee\x80\x80\xc2\x80\"}"),
			 "S:\\xed\\x9f\\xbf\\xee\\x80\\x80\\xc2\\x80");
	/* in keys and unnamed values too */
	cr_expect_str_eq(D(d, "{\"k\xff\":1}"), "json@3");
	cr_expect_str_eq(D(d, "{\"t\":[\"\xc3\"]}"), "json@8");
	/* a long ASCII run then a bad byte: past the vector loop */
	cr_expect_str_eq(D(d, "{\"s\":\"0123456789abcdef0123456789abcdef\xc3\x28\"}"), "json@39");
	cr_expect_str_eq(D(d, "{\"s\":\"0123456789abcdef0123456789abcde\x01\"}"), "json@37");
	cm_jsonl_free(d);
}

/* ---- structure ---- */

Test(json, malformed_structure)
{
	struct cm_jsonl *d = MK("a");

	cr_expect_str_eq(D(d, ""), "json@0");
	cr_expect_str_eq(D(d, "   "), "json@3");
	cr_expect_str_eq(D(d, "[1,2]"), "json@0");
	cr_expect_str_eq(D(d, " \"a\""), "json@1");
	cr_expect_str_eq(D(d, "1"), "json@0");
	cr_expect_str_eq(D(d, "null"), "json@0");
	cr_expect_str_eq(D(d, "{"), "json@1");
	cr_expect_str_eq(D(d, "{\"a\""), "json@4");
	cr_expect_str_eq(D(d, "{\"a\":"), "json@5");
	cr_expect_str_eq(D(d, "{\"a\" 1}"), "json@5");
	cr_expect_str_eq(D(d, "{\"a\":1 \"b\":2}"), "json@7");
	cr_expect_str_eq(D(d, "{\"a\":1,}"), "json@7");
	cr_expect_str_eq(D(d, "{,}"), "json@1");
	cr_expect_str_eq(D(d, "{a:1}"), "json@1");
	cr_expect_str_eq(D(d, "{'a':1}"), "json@1");
	cr_expect_str_eq(D(d, "{\"a\":[1,]}"), "json@8");
	cr_expect_str_eq(D(d, "{\"a\":[,1]}"), "json@6");
	cr_expect_str_eq(D(d, "{\"a\":[1 2]}"), "json@8");
	cr_expect_str_eq(D(d, "{\"a\":[1}"), "json@7");
	cr_expect_str_eq(D(d, "{\"a\":{]}"), "json@6");
	cr_expect_str_eq(D(d, "{\"a\":1]"), "json@6");
	cr_expect_str_eq(D(d, "{\"a\":\"x}"), "json@8");
	cr_expect_str_eq(D(d, "{\"a\"::1}"), "json@5");
	/* bytes after the object */
	cr_expect_str_eq(D(d, "{\"a\":1}x"), "json@7");
	cr_expect_str_eq(D(d, "{\"a\":1} {}"), "json@8");
	cr_expect_str_eq(D(d, "{\"a\":1}}"), "json@7");
	cr_expect_str_eq(D(d, "{\"a\":1},"), "json@7");
	cr_expect_str_eq(D(d, "{}\0"), "json@2");
	/* whitespace is space, tab, LF and CR only */
	cr_expect_str_eq(D(d, "{\"a\":\x0b" "1}"), "json@5");
	cr_expect_str_eq(D(d, "{\"a\":\x0c" "1}"), "json@5");
	cr_expect_str_eq(D(d, "\xc2\xa0{}"), "json@0");
	cr_expect_str_eq(D(d, "\xef\xbb\xbf{}"), "json@0"); /* no BOM */
	cm_jsonl_free(d);
}

Test(json, blanks_around)
{
	struct cm_jsonl *d = MK("a", "b");

	cr_expect_str_eq(D(d, " \t{\"a\":1}\r "), "N:1|-");
	cr_expect_str_eq(D(d, "\r{\"a\":1}"), "N:1|-");
	cr_expect_str_eq(D(d, "{\"a\":1}\r"), "N:1|-");
	cr_expect_str_eq(D(d, "{ \"a\" \t:\r[ 1 ,\t2 ] , \"b\" : { } }"), "T:[ 1 ,\\x092 ]|T:{ }");
	/* LF is JSON whitespace (it cannot occur in a line, but the scanner is RFC 8259) */
	cr_expect_str_eq(D(d, "{\n\"a\":\n1}"), "N:1|-");
	cm_jsonl_free(d);
}

/* Every proper prefix of a valid line is rejected at its end (or accepted when only blanks were cut). */
Test(json, prefixes_end_at_their_length)
{
	static const char *const lines[] = {
		"{\"a\":\"x\\u00e9\\n\\ud83d\\ude00\",\"b\":[1.5e-3,-0,true,false,null],\"c\":{}} ",
		"{\"variables\":{\"x\":\"caf\xc3\xa9\xf0\x9f\x93\x9e\"},\"n\":-12.0E+5}",
		" { \"a\" : [ [ ] , { \"b\" : \"c\" } ] }\r",
	};
	struct cm_jsonl *d = MK("a", "b[1]", "variables.x", "n", "a[1].b");
	struct cm_record rec;
	struct cm_json_fault fault;
	size_t i, k, n;

	for (i = 0; i < sizeof lines / sizeof *lines; i++) {
		n = strlen(lines[i]);
		cr_assert_eq(cm_jsonl_decode(d, lines[i], n, &rec, &fault), 1, "line %zu", i);
		for (k = 0; k < n; k++) {
			int r = cm_jsonl_decode(d, lines[i], k, &rec, &fault);
			size_t t = k;

			while (t < n && strchr(" \r", lines[i][t]))
				t++;
			if (t == n) {
				cr_expect_eq(r, 1, "line %zu cut at %zu", i, k);
				continue;
			}
			cr_expect_eq(r, 0, "line %zu cut at %zu", i, k);
			cr_expect_eq(fault.reason, CM_REJ_JSON);
			cr_expect_eq(fault.at, k, "line %zu cut at %zu: at %zu", i, k, fault.at);
		}
	}
	cm_jsonl_free(d);
}

/* A line of depth levels: the object, then depth - 1 nested objects (or arrays). */
static char *nested(size_t depth, int arrays, const char *inner)
{
	struct cm_buf b;
	size_t i;

	cm_buf_init(&b);
	cm_buf_addc(&b, '{');
	for (i = 1; i < depth; i++)
		cm_buf_adds(&b, arrays ? (i == 1 ? "\"a\":[" : "[") : "\"a\":{");
	cm_buf_adds(&b, inner);
	for (i = 1; i < depth; i++)
		cm_buf_addc(&b, arrays ? ']' : '}');
	cm_buf_addc(&b, '}');
	cm_buf_addc(&b, '\0');
	cr_assert(!b.oom);
	return b.p;
}

Test(json, depth_limit)
{
	struct cm_buf path;
	struct cm_jsonl *d, *d0 = mk(NULL, 0);
	char *l;
	size_t i;

	cr_assert_eq(CM_JSON_DEPTH_MAX, 64);
	/* 64 levels: accepted */
	l = nested(64, 0, "");
	cr_expect_str_eq(dec(d0, l, strlen(l)), "");
	free(l);
	l = nested(64, 1, "1");
	cr_expect_str_eq(dec(d0, l, strlen(l)), "");
	free(l);
	/* 65: rejected at the bracket that opens level 65 */
	l = nested(65, 0, "");
	cr_expect_str_eq(dec(d0, l, strlen(l)), "json@320"); /* 1 + 63 * 5 + 4 */
	cr_expect_eq(l[320], '{');
	free(l);
	l = nested(65, 1, "");
	cr_expect_str_eq(dec(d0, l, strlen(l)), "json@68"); /* 5 + 63 */
	cr_expect_eq(l[68], '[');
	free(l);
	l = nested(200, 1, "");
	cr_expect_str_eq(dec(d0, l, strlen(l)), "json@68");
	free(l);

	/* a named value 64 steps down, in an object of level 64 */
	cm_buf_init(&path);
	for (i = 0; i < 64; i++)
		cm_buf_adds(&path, i ? ".a" : "a");
	cm_buf_addc(&path, '\0');
	d = mk((const char *const[]){path.p}, 1);
	l = nested(64, 0, "\"a\":\"deep\"");
	cr_expect_str_eq(dec(d, l, strlen(l)), "S:deep");
	free(l);
	l = nested(64, 0, "\"a\":{}");
	cr_expect_str_eq(dec(d, l, strlen(l)), "json@320");
	free(l);
	cm_jsonl_free(d);
	cm_buf_deinit(&path);
	cm_jsonl_free(d0);
}

/* ---- paths ---- */

Test(json, nested_paths_and_indexes)
{
	struct cm_jsonl *d = MK("callflow[0].caller_profile.caller_id_number", "callflow[1].times",
				"a[2]", "a[0][1]", "a[5]", "m[0]", "s.x", "s[0]", "o.p.q");
	static const char line[] =
		"{\"callflow\":[{\"caller_profile\":{\"caller_id_number\":\"+15550100\","
		"\"x\":1}},{\"times\":{\"t\":1}}],\"a\":[[9,8],\"b\",3],\"m\":{\"0\":1},"
		"\"s\":\"str\",\"o\":{\"p\":{\"q\":[true]}}}";

	cr_expect_str_eq(D(d, line), "S:+15550100|T:{\"t\":1}|N:3|N:8|-|-|-|-|T:[true]");
	/* the wrong type on the way: absent */
	cr_expect_str_eq(D(d, "{\"callflow\":{\"0\":{}},\"a\":{\"2\":1},\"o\":[{\"p\":1}]}"),
			 "-|-|-|-|-|-|-|-|-");
	cr_expect_str_eq(D(d, "{\"o\":{\"p\":5},\"a\":[1]}"), "-|-|-|-|-|-|-|-|-");
	cm_jsonl_free(d);
}

Test(json, many_indexes)
{
	struct cm_jsonl *d = MK("a[65535]", "a[7]", "a[3]", "a[0]");
	struct cm_buf b;

	cr_expect_str_eq(D(d, "{\"a\":[0,1,2,3,4,5,6,7,8]}"), "-|N:7|N:3|N:0");
	cr_expect_str_eq(D(d, "{\"a\":[0,1,2]}"), "-|-|-|N:0");
	cm_buf_init(&b);
	cm_buf_adds(&b, "{\"a\":[");
	for (unsigned long long i = 0; i <= 65536; i++) {
		if (i)
			cm_buf_addc(&b, ',');
		cm_buf_addu(&b, i);
	}
	cm_buf_adds(&b, "]}");
	cr_assert(!b.oom);
	cr_expect_str_eq(dec(d, b.p, b.n), "N:65535|N:7|N:3|N:0");
	cm_buf_deinit(&b);
	cm_jsonl_free(d);
}

Test(json, quoted_keys)
{
	struct cm_jsonl *d = MK("variables['sip.from']", "['it\\'s']", "['a\\\\b'].c", "['']",
				"x['[0]']", "['sp ace']", "['0']");

	cr_expect_str_eq(D(d, "{\"variables\":{\"sip\":{\"from\":1},\"sip.from\":\"u\"},"
			      "\"it's\":2,\"a\\\\b\":{\"c\":3},\"\":4,\"x\":{\"[0]\":5},"
			      "\"sp ace\":6,\"0\":7}"),
			 "S:u|N:2|N:3|N:4|N:5|N:6|N:7");
	cm_jsonl_free(d);
}

Test(json, only_the_empty_key)
{
	struct cm_jsonl *d = MK("['']");

	cr_expect_str_eq(D(d, "{\"\":\"e\",\"a\":1}"), "S:e");
	cr_expect_str_eq(D(d, "{\"\":1,\"\":2}"), "duplicate@6#0");
	cm_jsonl_free(d);
}

Test(json, escaped_keys_match_decoded)
{
	struct cm_jsonl *d = MK("sip_from", "caf\xc3\xa9", "v.a/b", "q\"", "smile\xf0\x9f\x98\x80");

	cr_expect_str_eq(D(d, "{\"sip\\u005ffrom\":\"x\",\"caf\\u00e9\":1,\"v\":{\"a\\/b\":2},"
			      "\"q\\\"\":3,\"smile\\ud83d\\ude00\":4}"),
			 "S:x|N:1|N:2|N:3|N:4");
	/* the same key, written plainly */
	cr_expect_str_eq(D(d, "{\"sip_from\":\"y\",\"caf\xc3\xa9\":1}"), "S:y|N:1|-|-|-");
	/* close, but not the same bytes */
	cr_expect_str_eq(D(d, "{\"sip\\u005Ffrom \":\"x\",\"cafe\\u0301\":1}"), "-|-|-|-|-");
	cm_jsonl_free(d);
}

Test(json, named_and_descendants)
{
	struct cm_jsonl *d = MK("variables", "variables.x", "variables.y[0]", "a.b", "a['b']");

	cr_expect_str_eq(D(d, "{\"variables\":{\"x\":\"1\",\"y\":[2]},\"a\":{\"b\":true}}"),
			 "T:{\"x\":\"1\",\"y\":[2]}|S:1|N:2|B:true|B:true");
	/* the named value is not an object: its descendants are absent */
	cr_expect_str_eq(D(d, "{\"variables\":\"flat\"}"), "S:flat|-|-|-|-");
	cm_jsonl_free(d);
}

/* A FreeSWITCH-like "variables" object with 40 named children: the hashed lookup. */
Test(json, many_children)
{
	const char *names[41];
	char nb[41][32];
	struct cm_jsonl *d;
	struct cm_buf line, want;
	size_t i;

	for (i = 0; i < 40; i++) {
		snprintf(nb[i], sizeof nb[i], "variables.var_%zu", i);
		names[i] = nb[i];
	}
	names[40] = "uuid";
	d = mk(names, 41);
	cm_buf_init(&line);
	cm_buf_init(&want);
	/* a hashed child given twice */
	cr_expect_str_eq(D(d, "{\"variables\":{\"var_39\":\"a\",\"o\":1,\"var_39\":\"b\"}}"),
			 "duplicate@33#39");
	cr_expect_str_eq(D(d, "{\"variables\":{\"var_3\":\"a\",\"var_30\":1,\"var_\":2,\"var_40\":3}}"),
			 "-|-|-|S:a|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|-|N:1|-|-|-|-|-|-|-|-|-|-");
	/* all of them, in reverse, after 100 others */
	cm_buf_reset(&line);
	cm_buf_adds(&line, "{\"variables\":{");
	for (i = 0; i < 100; i++) {
		char kv[64];

		snprintf(kv, sizeof kv, "\"other_%zu\":\"o\",", i);
		cm_buf_adds(&line, kv);
	}
	for (i = 40; i-- > 0;) {
		char kv[64];

		snprintf(kv, sizeof kv, "\"var_%zu\":\"v%zu\"%s", i, i, i ? "," : "");
		cm_buf_adds(&line, kv);
	}
	cm_buf_adds(&line, "},\"uuid\":\"u-1\"}");
	for (i = 0; i < 40; i++) {
		char v[16];

		snprintf(v, sizeof v, "S:v%zu|", i);
		cm_buf_adds(&want, v);
	}
	cm_buf_adds(&want, "S:u-1");
	cm_buf_addc(&want, '\0');
	cr_assert(!line.oom && !want.oom);
	cr_expect_str_eq(dec(d, line.p, line.n), want.p);
	cm_buf_deinit(&line);
	cm_buf_deinit(&want);
	cm_jsonl_free(d);
}

/* Many escaped values in one line: the scratch grows while the record fills. */
Test(json, scratch_grows)
{
	const char *names[24];
	char nb[24][8];
	struct cm_jsonl *d;
	struct cm_buf line, want;
	size_t i, k;

	for (i = 0; i < 24; i++) {
		snprintf(nb[i], sizeof nb[i], "f%zu", i);
		names[i] = nb[i];
	}
	d = mk(names, 24);
	cm_buf_init(&line);
	cm_buf_init(&want);
	cm_buf_addc(&line, '{');
	for (i = 0; i < 24; i++) {
		char h[32];

		snprintf(h, sizeof h, "%s\"f%zu\":\"", i ? "," : "", i);
		cm_buf_adds(&line, h);
		if (i)
			cm_buf_addc(&want, '|');
		cm_buf_adds(&want, "S:");
		for (k = 0; k < 10 * i + 5; k++) {
			cm_buf_addc(&line, (char)('a' + (i + k) % 26));
			cm_buf_addc(&want, (char)('a' + (i + k) % 26));
		}
		/* every other one with an escape */
		if (i % 2 == 0) {
			cm_buf_adds(&line, "\\u00e9");
			cm_buf_adds(&want, "\\xc3\\xa9");
		}
		cm_buf_addc(&line, '"');
	}
	cm_buf_addc(&line, '}');
	cm_buf_addc(&want, '\0');
	cr_assert(!line.oom && !want.oom);
	cr_expect_str_eq(dec(d, line.p, line.n), want.p);
	cm_buf_deinit(&line);
	cm_buf_deinit(&want);
	cm_jsonl_free(d);
}

/* ---- duplicates ---- */

Test(json, duplicates)
{
	struct cm_jsonl *d = MK("x", "v.y", "v.z", "c[0].d", "a");

	/* at: the second key's opening quote; field: the lowest schema index under it */
	cr_expect_str_eq(D(d, "{\"a\":1,\"a\":2}"), "duplicate@7#4");
	cr_expect_str_eq(D(d, "{\"x\":1,\"b\":0,\"x\":1}"), "duplicate@13#0");
	/* an ancestor of a named path */
	cr_expect_str_eq(D(d, "{\"v\":{\"y\":1},\"v\":{}}"), "duplicate@13#1");
	cr_expect_str_eq(D(d, "{\"v\":{},\"v\":5}"), "duplicate@8#1");
	cr_expect_str_eq(D(d, "{\"v\":{\"z\":1,\"z\":2}}"), "duplicate@12#2");
	/* keys compared decoded */
	cr_expect_str_eq(D(d, "{\"a\":1,\"\\u0061\":2}"), "duplicate@7#4");
	/* inside array elements */
	cr_expect_str_eq(D(d, "{\"c\":[{\"d\":1,\"d\":2}]}"), "duplicate@13#3");
	/* not on a named path: fine */
	cr_expect_str_eq(D(d, "{\"c\":[{\"d\":1},{\"d\":1,\"d\":2}],\"q\":1,\"q\":2,\"v\":{\"w\":1,"
			      "\"w\":2}}"),
			 "-|-|-|N:1|-");
	/* the first fault of the line wins */
	cr_expect_str_eq(D(d, "{\"a\":1,\"a\":2,}"), "duplicate@7#4");
	cr_expect_str_eq(D(d, "{\"a\":01,\"a\":2}"), "json@6");
	/* each line afresh */
	cr_expect_str_eq(D(d, "{\"a\":1}"), "-|-|-|-|N:1");
	cr_expect_str_eq(D(d, "{\"a\":2}"), "-|-|-|-|N:2");
	cm_jsonl_free(d);
}

Test(json, reject_leaves_record_alone)
{
	struct cm_jsonl *d = MK("a");
	struct cm_record rec;
	struct cm_json_fault fault;

	memset(&rec, 0x5a, sizeof rec);
	cr_assert_eq(cm_jsonl_decode(d, LIT("{\"a\":1,}"), &rec, &fault), 0);
	for (size_t i = 0; i < sizeof rec; i++)
		cr_assert_eq(((unsigned char *)&rec)[i], 0x5a);
	cm_jsonl_free(d);
}

Test(json, empty_schema_validates)
{
	struct cm_jsonl *d = mk(NULL, 0);

	cr_expect_str_eq(D(d, "{\"a\":[1,{\"b\":\"\\u00e9\"}],\"a\":2}"), "");
	cr_expect_str_eq(D(d, "{\"a\":[1,{\"b\":\"\\u00e\"}]}"), "json@19");
	cm_jsonl_free(d);
}

Test(json, new_rejects_bad_paths)
{
	struct cm_schema s;
	struct cm_err err;

	cm_schema_init(&s);
	cr_assert_eq(cm_schema_add(&s, LIT("ok")), 0);
	cr_assert_eq(cm_schema_add(&s, LIT("a..b")), 0);
	cr_expect_null(cm_jsonl_new(&s, &err));
	cr_expect_eq(err.code, CM_E_RULES);
	cr_expect(strstr(err.msg, "'a..b'") && strstr(err.msg, "byte 2") &&
			  strstr(err.msg, "empty key"),
		  "%s", err.msg);
	cm_schema_deinit(&s);
	cm_jsonl_free(NULL);
}

/* ---- path syntax ---- */

static void check_bad(const char *path, size_t want_at, const char *want_why)
{
	size_t at = 999;
	const char *why = NULL;

	cr_expect_eq(cm_json_path_check(path, &at, &why), -1, "'%s' accepted", path);
	cr_expect_eq(at, want_at, "'%s': at %zu, want %zu", path, at, want_at);
	cr_expect(why && strstr(why, want_why), "'%s': why '%s', want '%s'", path, why ? why : "",
		  want_why);
}

Test(json, path_check)
{
	static const char *const good[] = {
		"a", "variables.sip_from_user", "callflow[0].caller_profile.caller_id_number",
		"variables['sip.from']", "['it\\'s']", "['a\\\\b']", "['']", "a[0][65535]",
		"['x'].y['z'][1]", "caf\xc3\xa9", "a-b_c:d@e", "x['y.z']",
	};
	struct cm_buf deep;
	size_t i, at;
	const char *why;

	for (i = 0; i < sizeof good / sizeof *good; i++)
		cr_expect_eq(cm_json_path_check(good[i], &at, &why), 0, "'%s' refused", good[i]);
	check_bad("", 0, "empty path");
	check_bad(".a", 0, "empty key");
	check_bad("a.", 2, "empty key");
	check_bad("a..b", 2, "empty key");
	check_bad("a.[0]", 2, "empty key");
	check_bad("a b", 1, "blank");
	check_bad(" a", 0, "blank");
	check_bad("a\t", 1, "blank");
	check_bad("a]", 1, "expected '.' or '['");
	check_bad("a'b", 1, "expected '.' or '['");
	check_bad("a\\b", 1, "expected '.' or '['");
	check_bad("]", 0, "unexpected character");
	check_bad("[0]", 0, "starts with a key");
	check_bad("a[]", 2, "expected an index or a quote");
	check_bad("a[x]", 2, "expected an index or a quote");
	check_bad("a[-1]", 2, "expected an index or a quote");
	check_bad("a[01]", 2, "leading zero");
	check_bad("a[00]", 2, "leading zero");
	check_bad("a[65536]", 2, "index too large");
	check_bad("a[99999999999999999999]", 2, "index too large");
	check_bad("a[1", 3, "expected ']'");
	check_bad("a[1x]", 3, "expected ']'");
	check_bad("a['b", 4, "unterminated quote");
	check_bad("a['b\\']", 7, "unterminated quote");
	check_bad("a['b'", 5, "expected ']'");
	check_bad("a['b'x", 5, "expected ']'");
	check_bad("a['b\\c']", 4, "bad escape");
	check_bad("a[0]b", 4, "expected '.' or '['");
	check_bad("a.b c", 3, "blank");
	/* at most CM_JSON_DEPTH_MAX steps */
	cm_buf_init(&deep);
	cm_buf_addc(&deep, 'a');
	for (i = 1; i < CM_JSON_DEPTH_MAX; i++)
		cm_buf_adds(&deep, i % 2 ? "[0]" : ".b");
	cm_buf_addc(&deep, '\0');
	cr_expect_eq(cm_json_path_check(deep.p, &at, &why), 0);
	deep.n--;
	cm_buf_adds(&deep, "[1]");
	cm_buf_addc(&deep, '\0');
	check_bad(deep.p, deep.n - 4, "too many levels");
	cm_buf_deinit(&deep);
}

Test(json, path_contains)
{
	cr_expect(cm_json_path_contains("variables", "variables.sip_from_user"));
	cr_expect(cm_json_path_contains("variables", "variables['x']"));
	cr_expect(cm_json_path_contains("variables", "variables"));
	cr_expect(cm_json_path_contains("callflow[0]", "callflow[0].times"));
	cr_expect(cm_json_path_contains("callflow", "callflow[3].times.x"));
	cr_expect(cm_json_path_contains("a['b']", "a.b"));
	cr_expect(cm_json_path_contains("a.b", "a['b'].c"));
	cr_expect(cm_json_path_contains("['a'].b", "a.b[2]"));
	cr_expect(cm_json_path_contains("['it\\'s']", "['it\\'s'].x"));
	cr_expect(cm_json_path_contains("['a\\\\b']", "['a\\\\b']"));
	cr_expect(cm_json_path_contains("['']", "[''].x"));

	cr_expect(!cm_json_path_contains("variables.sip_from_user", "variables"));
	cr_expect(!cm_json_path_contains("variables", "variables_x"));
	cr_expect(!cm_json_path_contains("var", "variables"));
	cr_expect(!cm_json_path_contains("callflow[0]", "callflow[1].times"));
	cr_expect(!cm_json_path_contains("callflow[1]", "callflow[10]"));
	cr_expect(!cm_json_path_contains("a['0']", "a[0]"));
	cr_expect(!cm_json_path_contains("a[0]", "a['0']"));
	cr_expect(!cm_json_path_contains("a['b.c']", "a.b.c"));
	cr_expect(!cm_json_path_contains("a.b", "a['b.c']"));
	cr_expect(!cm_json_path_contains("['a\\\\b']", "['a\\'b']"));
	cr_expect(!cm_json_path_contains("['ab']", "['a'].b"));
	/* invalid paths contain nothing and are in nothing */
	cr_expect(!cm_json_path_contains("a..b", "a..b"));
	cr_expect(!cm_json_path_contains("a", "a..b"));
	cr_expect(!cm_json_path_contains("", "a"));
	/* too many levels is invalid too (found by the fuzzer) */
	{
		struct cm_buf deep;
		size_t i;

		cm_buf_init(&deep);
		cm_buf_addc(&deep, 'a');
		for (i = 1; i <= CM_JSON_DEPTH_MAX; i++)
			cm_buf_adds(&deep, ".b");
		cm_buf_addc(&deep, '\0');
		cr_expect(!cm_json_path_contains(deep.p, deep.p));
		cr_expect(!cm_json_path_contains("a", deep.p));
		deep.p[deep.n - 3] = '\0'; /* CM_JSON_DEPTH_MAX steps */
		cr_expect(cm_json_path_contains(deep.p, deep.p));
		cr_expect(cm_json_path_contains("a.b", deep.p));
		cm_buf_deinit(&deep);
	}
}

/* ---- map_tree ---- */

/* Appends s as is: the identity. */
static int cb_same(void *ud, const char *s, size_t n, struct cm_buf *out)
{
	(void)ud;
	cm_buf_add(out, s, n);
	return 0;
}

/* Records what it was given (joined by '|' in ud) and writes "<" s ">" upper-cased. */
static int cb_upper(void *ud, const char *s, size_t n, struct cm_buf *out)
{
	size_t i;

	if (ud) {
		put_escaped(ud, s, n);
		cm_buf_addc(ud, '|');
	}
	cm_buf_addc(out, '<');
	for (i = 0; i < n; i++)
		cm_buf_addc(out, (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]));
	cm_buf_addc(out, '>');
	return 0;
}

static int cb_key(void *ud, const char *s, size_t n, struct cm_buf *out)
{
	(void)ud;
	cm_buf_adds(out, "k_");
	cm_buf_add(out, s, n);
	return 0;
}

/* Writes bytes that need escaping and are not UTF-8. */
static int cb_nasty(void *ud, const char *s, size_t n, struct cm_buf *out)
{
	(void)ud;
	(void)s;
	(void)n;
	cm_buf_add(out, LIT("\"\\\n\x01\xff\xc3\xa9"));
	return 0;
}

/* Stops at the third call with 7. */
static int cb_stop(void *ud, const char *s, size_t n, struct cm_buf *out)
{
	int *calls = ud;

	(void)s;
	(void)n;
	cm_buf_adds(out, "x");
	return ++*calls == 3 ? 7 : 0;
}

/* map_tree of text[0..n) as a C string (static), or "rc=<r>" when it returns r != 0. */
static const char *mapped(const char *text, size_t n, cm_json_leaf_fn leaf, cm_json_leaf_fn key,
			  void *ud)
{
	static char res[4096];
	struct cm_buf out;
	int r;

	cm_buf_init(&out);
	cm_buf_adds(&out, "pre:"); /* what out held before stays */
	r = cm_json_map_tree(text, n, leaf, key, ud, &out);
	cr_assert(!out.oom);
	if (r != 0)
		snprintf(res, sizeof res, "rc=%d", r);
	else {
		cr_assert_lt(out.n, sizeof res);
		cr_assert(out.n >= 4 && memcmp(out.p, "pre:", 4) == 0);
		memcpy(res, out.p + 4, out.n - 4);
		res[out.n - 4] = '\0';
	}
	cm_buf_deinit(&out);
	return res;
}

#define MAP(lit, leaf, key, ud) mapped(LIT(lit), leaf, key, ud)

Test(json, map_tree_keep)
{
	/* leaf and key NULL: everything as written, blanks dropped */
	cr_expect_str_eq(MAP("{ \"a\" : 1.50 , \"b\\u0062\" : [ true , null , \"x\\u00e9\\/\" , {} , [ ] ] }",
			     NULL, NULL, NULL),
			 "{\"a\":1.50,\"b\\u0062\":[true,null,\"x\\u00e9\\/\",{},[]]}");
	cr_expect_str_eq(MAP("[]", NULL, NULL, NULL), "[]");
	cr_expect_str_eq(MAP(" {}\r", NULL, NULL, NULL), "{}");
}

Test(json, map_tree_identity)
{
	/* strings re-encoded from their decoded bytes; numbers become strings */
	cr_expect_str_eq(MAP("{\"a\":1.50,\"b\":[true,false,null,\"x\\u00e9\\/\\u0000\\ud83d\\ude00\"],"
			     "\"c\":-0,\"d\\u0041\":\"\\ud800\"}",
			     cb_same, NULL, NULL),
			 "{\"a\":\"1.50\",\"b\":[true,false,null,\"x\xc3\xa9/\\u0000\xf0\x9f\x98\x80\"],"
			 "\"c\":\"-0\",\"d\\u0041\":\"\xef\xbf\xbd\"}");
	cr_expect_str_eq(MAP("{\"d\\u0041\":1}", cb_same, cb_same, NULL), "{\"dA\":\"1\"}");
	cr_expect_str_eq(MAP("[\"\\\"q\\\"\\\\\\n\"]", cb_same, cb_same, NULL), "[\"\\\"q\\\"\\\\\\n\"]");
}

Test(json, map_tree_transform)
{
	struct cm_buf seen;

	cm_buf_init(&seen);
	cr_expect_str_eq(MAP("{\"name\":\"alice\",\"n\":[12,{\"deep\":\"b\\u00e9\"}],\"t\":true}",
			     cb_upper, cb_key, &seen),
			 "{\"k_name\":\"<ALICE>\",\"k_n\":[\"<12>\",{\"k_deep\":\"<B\xc3\xa9>\"}],"
			 "\"k_t\":true}");
	cm_buf_addc(&seen, '\0');
	/* the leaf got decoded bytes and the numbers' text */
	cr_expect_str_eq(seen.p, "alice|12|b\\xc3\\xa9|");
	cm_buf_deinit(&seen);
	/* what a callback writes is encoded: escapes and U+FFFD */
	cr_expect_str_eq(MAP("[\"x\"]", cb_nasty, NULL, NULL),
			 "[\"\\\"\\\\\\n\\u0001\xef\xbf\xbd\xc3\xa9\"]");
	cr_expect_str_eq(MAP("{\"x\":0}", NULL, cb_nasty, NULL),
			 "{\"\\\"\\\\\\n\\u0001\xef\xbf\xbd\xc3\xa9\":0}");
}

Test(json, map_tree_long_escaped_strings)
{
	struct cm_buf in, want;
	size_t i;

	/* decoded on the stack up to 512 bytes, beyond that on the heap */
	for (size_t len = 500; len <= 1100; len += 300) {
		cm_buf_init(&in);
		cm_buf_init(&want);
		cm_buf_adds(&in, "[\"");
		cm_buf_adds(&want, "[\"");
		for (i = 0; i < len; i++) {
			cm_buf_adds(&in, i % 3 ? "a" : "\\u00e9");
			cm_buf_adds(&want, i % 3 ? "a" : "\xc3\xa9");
		}
		cm_buf_adds(&in, "\"]");
		cm_buf_adds(&want, "\"]");
		cm_buf_addc(&want, '\0');
		cr_assert(!in.oom && !want.oom);
		cr_expect_str_eq(mapped(in.p, in.n, cb_same, NULL, NULL), want.p, "len %zu", len);
		cm_buf_deinit(&in);
		cm_buf_deinit(&want);
	}
}

Test(json, map_tree_stop_and_invalid)
{
	int calls = 0;
	char *l;

	cr_expect_str_eq(MAP("[1,2,3,4]", cb_stop, NULL, &calls), "rc=7");
	cr_expect_eq(calls, 3);
	calls = 0;
	cr_expect_str_eq(MAP("{\"a\":1,\"b\":2}", NULL, cb_stop, &calls), "{\"x\":1,\"x\":2}");
	cr_expect_str_eq(MAP("{\"a\":1,\"b\":2,\"c\":3}", NULL, cb_stop, &calls), "rc=7");

	cr_expect_str_eq(MAP("", NULL, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("1", cb_same, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("\"x\"", cb_same, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("{", NULL, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("[1,]", NULL, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("{\"a\"}", NULL, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("{} x", NULL, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("[01]", cb_same, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("[\"\\x\"]", cb_same, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("[\"\xff\"]", NULL, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("[tru]", NULL, NULL, NULL), "rc=-1");
	cr_expect_str_eq(MAP("[1}", NULL, NULL, NULL), "rc=-1");
	/* depth counted from the tree's own bracket */
	l = nested(64, 0, "");
	cr_expect_str_eq(mapped(l, strlen(l), NULL, NULL, NULL), l);
	free(l);
	l = nested(65, 1, "");
	cr_expect_str_eq(mapped(l, strlen(l), NULL, NULL, NULL), "rc=-1");
	free(l);
}

/* A tree the decoder gave passes map_tree, and the identity's output decodes again. */
Test(json, map_tree_of_decoded_trees)
{
	static const char line[] =
		"{\"v\": {\"k\\u00e9\": [1e5, \"\\ud83d\\ude00\", {\"z\": null}], \"e\": \"\\u0000\"}}";
	struct cm_jsonl *d = MK("v"), *d2 = MK("w.k\xc3\xa9[1]", "w.e");
	struct cm_record rec;
	struct cm_json_fault fault;
	struct cm_buf out;

	cr_assert_eq(cm_jsonl_decode(d, LIT(line), &rec, &fault), 1);
	cr_assert_eq(rec.type[0], CM_VT_TREE);
	cm_buf_init(&out);
	cm_buf_adds(&out, "{\"w\":");
	cr_assert_eq(cm_json_map_tree(rec.f[0].p, rec.f[0].n, cb_same, cb_same, NULL, &out), 0);
	cm_buf_addc(&out, '}');
	cr_assert(!out.oom);
	cr_expect_str_eq(dec(d2, out.p, out.n), "S:\\xf0\\x9f\\x98\\x80|S:\\0");
	cm_buf_deinit(&out);
	cm_jsonl_free(d);
	cm_jsonl_free(d2);
}

/* ---- the fast scanners against bytewise models ---- */

#define MODEL_BAD SIZE_MAX

/*
 * A bytewise model of a string body from s[i] (after the opening quote),
 * RFC 8259 section 7 with raw bytes UTF-8 (RFC 3629): the index of the
 * closing quote, or MODEL_BAD with *at on the first byte that cannot
 * continue the string (n when the line ends first). *esc set on an escape.
 */
static size_t model_str(const unsigned char *s, size_t n, size_t i, size_t *at, int *esc)
{
	for (;;) {
		unsigned c;
		size_t len, k;

		if (i >= n) {
			*at = n;
			return MODEL_BAD;
		}
		c = s[i];
		if (c == '"')
			return i;
		if (c < 0x20) {
			*at = i;
			return MODEL_BAD;
		}
		if (c == '\\') {
			*esc = 1;
			if (i + 1 >= n) {
				*at = n;
				return MODEL_BAD;
			}
			c = s[i + 1];
			if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
			    c == 'r' || c == 't') {
				i += 2;
				continue;
			}
			if (c != 'u') {
				*at = i + 1;
				return MODEL_BAD;
			}
			for (k = i + 2; k < i + 6; k++) {
				if (k >= n) {
					*at = n;
					return MODEL_BAD;
				}
				if (!strchr("0123456789abcdefABCDEF", s[k]) || !s[k]) {
					*at = k;
					return MODEL_BAD;
				}
			}
			i += 6;
			continue;
		}
		if (c < 0x80) {
			i++;
			continue;
		}
		k = 0;
		len = utf8_model_seq(s + i, n - i, &k);
		if (!len) {
			*at = i + k;
			return MODEL_BAD;
		}
		i += len;
	}
}

/* The ways a string body b[0..bn) is put in a line: see string_line. */
enum { AS_VALUE, AS_OTHER_VALUE, AS_KEY, AS_NESTED_KEY, AS_VALUE_CUT, AS_KEY_CUT, AS_VALUE_LAST,
       AS_N };

/*
 * Builds in l the line of body b[0..bn) placed as form says, after pad
 * blanks; returns the index of the body's first byte. The decoder is
 * MK("v"): AS_VALUE is that field, AS_OTHER_VALUE a value no path
 * reaches, AS_KEY a key of the object (which has a key child),
 * AS_NESTED_KEY a key of an object no path enters; the _CUT forms end
 * at the body's last byte, AS_VALUE_LAST at the value's closing quote.
 */
static size_t string_line(struct cm_buf *l, int form, size_t pad, const char *b, size_t bn)
{
	static const char *const pre[AS_N] = {"{\"v\":\"", "{\"w\": \"", "{\"", "{\"z\":{\"",
					      "{\"v\":\"", "{\"", "{\"v\" : \""};
	static const char *const post[AS_N] = {"\"}", "\" }", "\":1}", "\":1}}", "", "", "\""};
	size_t start;

	cm_buf_reset(l);
	while (pad--)
		cm_buf_addc(l, ' ');
	cm_buf_adds(l, pre[form]);
	start = l->n;
	cm_buf_add(l, b, bn);
	cm_buf_adds(l, post[form]);
	cr_assert(!l->oom);
	return start;
}

/*
 * Checks the decoder's verdict on l against the model. The bodies come
 * from alphabets without blanks, ',', ':', '}' and ']': after a quote
 * inside the body the line is wrong right there.
 */
static void check_string_line(struct cm_jsonl *d, const struct cm_buf *l, int form, size_t start,
			      const char *b, size_t bn)
{
	const unsigned char *s = (const unsigned char *)l->p;
	size_t at = 0, q, end = start + bn, want_at;
	const char *got;
	int esc = 0;
	char want[64];
	struct cm_buf wv;

	q = model_str(s, l->n, start, &at, &esc);
	got = dec(d, l->p, l->n);
	if (q == MODEL_BAD)
		want_at = at;
	else if (q != end)
		want_at = q + 1; /* a quote inside the body ends the string early */
	else if (form == AS_VALUE_CUT || form == AS_KEY_CUT || form == AS_VALUE_LAST)
		want_at = l->n;
	else
		want_at = MODEL_BAD;
	if (want_at != MODEL_BAD) {
		snprintf(want, sizeof want, "json@%zu", want_at);
		cr_assert_str_eq(got, want, "form %d, line of %zu bytes, body at %zu", form, l->n,
				 start);
		return;
	}
	if (form != AS_VALUE) {
		/* a key or a value no path names: accepted, "v" not met (the bodies hold no 'v') */
		cr_assert_str_eq(got, "-", "form %d, body at %zu of %zu", form, start, l->n);
		return;
	}
	if (esc) {
		cr_assert(strncmp(got, "S:", 2) == 0, "escaped body: %s", got);
		return;
	}
	cm_buf_init(&wv);
	cm_buf_adds(&wv, "S:");
	put_escaped(&wv, b, bn);
	cm_buf_addc(&wv, '\0');
	cr_assert(!wv.oom);
	cr_assert_str_eq(got, wv.p, "body at %zu of %zu", start, l->n);
	cm_buf_deinit(&wv);
}

/*
 * A special byte at every position of every body length 0..40, each body
 * in every form, after blanks that move it against the line's start and
 * end (the vector scanners load 16 bytes at a time, none past the line:
 * dec runs each line again against a guard page).
 */
Test(json, string_special_byte_everywhere)
{
	static const unsigned char special[] = {'"', '\\', 0x00, 0x01, 0x1f, '\t', 0x7f, 0x80, 0xbf,
						0xc0, 0xc3, 0xe2, 0xed, 0xf0, 0xf4, 0xf5, 0xff, ' '};
	static const size_t pads[] = {0, 1, 7, 15, 16};
	struct cm_jsonl *d = MK("v");
	struct cm_buf l;
	char b[48];
	size_t len, p, k, x, pd;
	int form;

	cm_buf_init(&l);
	for (len = 0; len <= 40; len++) {
		for (k = 0; k < len; k++)
			b[k] = (char)('A' + (k * 5 + len) % 26);
		for (form = 0; form < AS_N; form++) {
			for (pd = 0; pd < sizeof pads / sizeof *pads; pd++) {
				size_t start = string_line(&l, form, pads[pd], b, len);

				check_string_line(d, &l, form, start, b, len);
			}
		}
		for (p = 0; p < len; p++) {
			for (x = 0; x < sizeof special; x++) {
				char keep = b[p];

				b[p] = (char)special[x];
				for (form = 0; form < AS_N; form++) {
					for (pd = 0; pd < sizeof pads / sizeof *pads; pd++) {
						size_t start =
							string_line(&l, form, pads[pd], b, len);

						check_string_line(d, &l, form, start, b, len);
					}
				}
				b[p] = keep;
			}
		}
	}
	cm_buf_deinit(&l);
	cm_jsonl_free(d);
}

/* A deterministic generator for the random cases (xorshift64). */
static uint64_t rnd_next(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

/* Random bodies of 0..80 bytes, mostly plain, against the model in every form. */
Test(json, string_random_bodies)
{
	/* plain bytes (no blank, ',', ':', '}', ']', 'v'), then the ones that stop a fast scan */
	static const char plain[] = "ABCDEFGHIJKLMNOPQRSTUWXYZabcdefghijklmnopqrstuwxyz0123456789_-.@+/~";
	static const unsigned char odd[] = {'"', '\\', 'u', 'n', 0x00, 0x1f, 0x7f, 0x80, 0xa9,
					    0xbf, 0xc3, 0xe2, 0x82, 0xac, 0xed, 0xa0, 0xf0, 0x9f,
					    0xf4, 0x90, 0xff, '0', 'D', 'e'};
	static const size_t pads[] = {0, 3, 16};
	struct cm_jsonl *d = MK("v");
	struct cm_buf l;
	uint64_t st = 0x9e3779b97f4a7c15u;
	char b[96];
	size_t r, k, len, pd;
	int form;

	cm_buf_init(&l);
	for (r = 0; r < 4000; r++) {
		uint64_t w = rnd_next(&st);
		unsigned odds = (unsigned)(w % 4); /* how rare the odd bytes are: 1 in 4..32 */

		len = (size_t)(w >> 8) % 81;
		for (k = 0; k < len; k++) {
			uint64_t v = rnd_next(&st);

			if (v % (4u << (odds + 1)) < 4)
				b[k] = (char)odd[(v >> 16) % sizeof odd];
			else
				b[k] = plain[(v >> 16) % (sizeof plain - 1)];
		}
		for (form = 0; form < AS_N; form++) {
			for (pd = 0; pd < sizeof pads / sizeof *pads; pd++) {
				size_t start = string_line(&l, form, pads[pd], b, len);

				check_string_line(d, &l, form, start, b, len);
			}
		}
	}
	cm_buf_deinit(&l);
	cm_jsonl_free(d);
}

/*
 * Keys of every length 0..40 are found, in a node that hashes its keys
 * (more than 8) and in nodes that compare them in turn; a key that
 * differs from one of them in any single byte, or is one byte shorter,
 * is not (the lookup compares words that overlap for most lengths).
 */
static void check_keys(const size_t *lens, size_t nk)
{
	char names[41][48], keys[41][44];
	const char *paths[41];
	struct cm_jsonl *d;
	struct cm_buf l, want;
	size_t i, j, p;

	cr_assert_leq(nk, 41);
	for (i = 0; i < nk; i++) {
		for (j = 0; j < lens[i]; j++)
			keys[i][j] = (char)('a' + (j + lens[i]) % 26);
		keys[i][lens[i]] = '\0';
		snprintf(names[i], sizeof names[i], "['%s']", keys[i]);
		paths[i] = names[i];
	}
	d = mk(paths, nk);
	cm_buf_init(&l);
	cm_buf_init(&want);
	for (i = 0; i < nk; i++) {
		/* the key itself, then with one byte changed at each place, then cut by one */
		for (p = 0; p <= lens[i] + 1; p++) {
			char k2[44];
			size_t kn = lens[i];
			int hit = p == 0;

			memcpy(k2, keys[i], kn);
			if (p > 0 && p <= kn)
				k2[p - 1] = (char)(k2[p - 1] ^ 0x20); /* lower to upper: no key has it */
			else if (p > kn) {
				if (kn <= 1)
					continue; /* cut to "": a key of its own */
				kn--;
			}
			cm_buf_reset(&l);
			cm_buf_adds(&l, "{\"");
			cm_buf_add(&l, k2, kn);
			cm_buf_adds(&l, "\":1}");
			cm_buf_reset(&want);
			for (j = 0; j < nk; j++) {
				if (j)
					cm_buf_addc(&want, '|');
				cm_buf_adds(&want, hit && j == i ? "N:1" : "-");
			}
			cm_buf_addc(&want, '\0');
			cr_assert(!l.oom && !want.oom);
			cr_assert_str_eq(dec(d, l.p, l.n), want.p, "key of %zu bytes, change %zu",
					 lens[i], p);
		}
	}
	cm_buf_deinit(&l);
	cm_buf_deinit(&want);
	cm_jsonl_free(d);
}

Test(json, keys_of_every_length)
{
	static const size_t all[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13,
				     14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
				     28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40};
	static const size_t few1[] = {0, 1, 2, 3}, few2[] = {4, 5, 7, 8, 9},
			    few3[] = {15, 16, 17, 24, 40};

	check_keys(all, sizeof all / sizeof *all);
	check_keys(few1, sizeof few1 / sizeof *few1);
	check_keys(few2, sizeof few2 / sizeof *few2);
	check_keys(few3, sizeof few3 / sizeof *few3);
}

/*
 * Keys past 16 bytes that differ only in the middle: the words the
 * lookup hashes are the same for all of them, so no seed separates them
 * and the node falls back to comparing in turn (up to 8 keys) or to a
 * probed table (more).
 */
static void check_middle_keys(size_t nk)
{
	char names[12][40], keys[13][24], want[64];
	const char *paths[12];
	struct cm_jsonl *d;
	struct cm_buf l;
	size_t i, j;

	cr_assert_leq(nk, 12);
	for (i = 0; i <= nk; i++) {
		/* keys[nk]: alike too, but no path names it */
		snprintf(keys[i], sizeof keys[i], "abcdefgh%c%cstuvwxyz", (int)('A' + i), (int)('a' + i));
		if (i < nk) {
			size_t kn = strlen(keys[i]);

			memcpy(names[i], "['", 2);
			memcpy(names[i] + 2, keys[i], kn);
			memcpy(names[i] + 2 + kn, "']", 3);
			paths[i] = names[i];
		}
	}
	d = mk(paths, nk);
	cm_buf_init(&l);
	for (i = 0; i <= nk; i++) {
		size_t w = 0;

		cm_buf_reset(&l);
		cm_buf_adds(&l, "{\"");
		cm_buf_adds(&l, keys[i]);
		cm_buf_adds(&l, "\":1}");
		for (j = 0; j < nk; j++)
			w += (size_t)snprintf(want + w, sizeof want - w, "%s%s", j ? "|" : "",
					      i == j ? "N:1" : "-");
		cr_assert(!l.oom);
		cr_assert_str_eq(dec(d, l.p, l.n), want, "%zu keys, key %zu", nk, i);
	}
	cm_buf_deinit(&l);
	cm_jsonl_free(d);
}

Test(json, keys_alike_but_in_the_middle)
{
	check_middle_keys(3);
	check_middle_keys(8);
	check_middle_keys(12);
}

/* A bytewise model of a number at s[i] (RFC 8259 section 6), as model_str. */
static size_t model_num(const unsigned char *s, size_t n, size_t i, size_t *at)
{
#define DIG(k) ((k) < n && s[k] >= '0' && s[k] <= '9')
	if (i < n && s[i] == '-')
		i++;
	if (i >= n)
		goto end;
	if (s[i] == '0')
		i++;
	else if (DIG(i))
		while (DIG(i))
			i++;
	else
		goto bad;
	if (i < n && s[i] == '.') {
		if (++i >= n)
			goto end;
		if (!DIG(i))
			goto bad;
		while (DIG(i))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n)
			goto end;
		if (!DIG(i))
			goto bad;
		while (DIG(i))
			i++;
	}
	return i;
end:
	*at = n;
	return MODEL_BAD;
bad:
	*at = i;
	return MODEL_BAD;
#undef DIG
}

/*
 * Numbers of 1..40 bytes with a byte that is not a digit at every place
 * (the digit scanner reads 8 at a time), as the line's last value and cut
 * at the number's end, against the model.
 */
Test(json, number_odd_byte_everywhere)
{
	static const unsigned char odd[] = {0, '/', ':', ';', '?', '@', 'a', '.', 'e', 'E', '-',
					    '+', 0x80, 0xb0, 0xf9, 0xfa, 0xff, '1'};
	static const size_t pads[] = {0, 1, 7};
	struct cm_jsonl *d = MK("v");
	struct cm_buf l, w;
	char b[48], want[64];
	size_t len, p, x, pd, cut;

	cm_buf_init(&l);
	cm_buf_init(&w);
	for (len = 1; len <= 40; len++) {
		for (p = 0; p < len; p++) {
			for (x = 0; x < sizeof odd; x++) {
				size_t k;

				for (k = 0; k < len; k++)
					b[k] = (char)('0' + (k * 7 + len) % 10);
				b[p] = (char)odd[x];
				for (pd = 0; pd < sizeof pads / sizeof *pads; pd++) {
					for (cut = 0; cut < 2; cut++) {
						size_t start, end, at = 0, q;
						const char *got;

						cm_buf_reset(&l);
						for (k = 0; k < pads[pd]; k++)
							cm_buf_addc(&l, ' ');
						cm_buf_adds(&l, "{\"v\":");
						start = l.n;
						cm_buf_add(&l, b, len);
						end = l.n;
						if (!cut)
							cm_buf_addc(&l, '}');
						cr_assert(!l.oom);
						q = model_num((const unsigned char *)l.p, l.n, start, &at);
						got = dec(d, l.p, l.n);
						if (q == MODEL_BAD || q != end || cut) {
							snprintf(want, sizeof want, "json@%zu",
								 q == MODEL_BAD ? at : q == end ? l.n : q);
							cr_assert_str_eq(got, want, "len %zu odd %zu at %zu, cut %zu",
									 len, x, p, cut);
							continue;
						}
						cm_buf_reset(&w);
						cm_buf_adds(&w, "N:");
						cm_buf_add(&w, b, len);
						cm_buf_addc(&w, '\0');
						cr_assert(!w.oom);
						cr_assert_str_eq(got, w.p, "len %zu odd %zu at %zu", len, x, p);
					}
				}
			}
		}
	}
	cm_buf_deinit(&l);
	cm_buf_deinit(&w);
	cm_jsonl_free(d);
}

/*
 * The separators with every mix of blanks around them (the decoder has a
 * quick path for "," ", " ":" ": "): the same values, and every proper
 * prefix rejected at its end.
 */
Test(json, separators_and_blanks)
{
	static const char *const bl[] = {"", " ", "  ", "\t", " \r", "\n "};
	const size_t nb = sizeof bl / sizeof *bl;
	struct cm_jsonl *d = MK("a", "b", "c[1]");
	struct cm_record rec;
	struct cm_json_fault fault;
	struct cm_buf l;
	size_t c, k, b[6];

	cm_buf_init(&l);
	for (c = 0; c < nb * nb * nb * nb * nb * nb; c++) {
		size_t r = c;

		for (k = 0; k < 6; k++) {
			b[k] = r % nb;
			r /= nb;
		}
		cm_buf_reset(&l);
		cm_buf_adds(&l, "{\"a\"");
		cm_buf_adds(&l, bl[b[0]]);
		cm_buf_addc(&l, ':');
		cm_buf_adds(&l, bl[b[1]]);
		cm_buf_addc(&l, '1');
		cm_buf_adds(&l, bl[b[2]]);
		cm_buf_addc(&l, ',');
		cm_buf_adds(&l, bl[b[3]]);
		cm_buf_adds(&l, "\"b\"");
		cm_buf_adds(&l, bl[b[4]]);
		cm_buf_adds(&l, ":");
		cm_buf_adds(&l, bl[b[5]]);
		cm_buf_adds(&l, "\"x\",\"c\":[1,");
		cm_buf_adds(&l, bl[b[3]]);
		cm_buf_adds(&l, "2");
		cm_buf_adds(&l, bl[b[2]]);
		cm_buf_adds(&l, ", 3]}");
		cr_assert(!l.oom);
		cr_assert_str_eq(dec(d, l.p, l.n), "N:1|S:x|N:2", "blanks %zu", c);
		if (c % 7 != 0)
			continue; /* the prefixes of some of them */
		for (k = 0; k < l.n; k++) {
			cr_assert_eq(cm_jsonl_decode(d, l.p, k, &rec, &fault), 0, "blanks %zu cut %zu", c, k);
			cr_assert_eq(fault.at, k, "blanks %zu cut %zu: at %zu", c, k, fault.at);
		}
	}
	/* a separator that is not followed by what it must be */
	cr_expect_str_eq(D(d, "{\"a\":1, }"), "json@8");
	cr_expect_str_eq(D(d, "{\"a\":1,}"), "json@7");
	cr_expect_str_eq(D(d, "{\"a\":1, ,\"b\":2}"), "json@8");
	cr_expect_str_eq(D(d, "{\"a\": }"), "json@6");
	cr_expect_str_eq(D(d, "{\"a\":}"), "json@5");
	cr_expect_str_eq(D(d, "{\"a\": :1}"), "json@6");
	cr_expect_str_eq(D(d, "{\"a\" ,1}"), "json@5");
	cr_expect_str_eq(D(d, "{\"a\":1, 2}"), "json@8");
	cr_expect_str_eq(D(d, "{\"a\":1,2}"), "json@7");
	cr_expect_str_eq(D(d, "{\"c\":[1, ]}"), "json@9");
	cr_expect_str_eq(D(d, "{\"c\":[0, \"k\"]}"), "-|-|S:k");
	cm_buf_deinit(&l);
	cm_jsonl_free(d);
}

/* ---- the fast pass (AVX-512 VBMI2) against the general path ---- */

/*
 * line[0..n) decoded by the fast pass, tried on every line, and by the
 * general path alone: the same transcript, at a guard page too. Where the
 * CPU lacks the pass both decoders take the general path.
 */
static void fast_same(struct cm_jsonl *fast, struct cm_jsonl *slow, const char *line, size_t n,
		      const char *what, size_t a, size_t b)
{
	char want[8192];

	snprintf(want, sizeof want, "%s", dec(slow, line, n));
	cr_assert_str_eq(dec(fast, line, n), want, "%s %zu %zu: %.*s", what, a, b, (int)n, line);
}

/* Two decoders for the paths p[0..n): the fast pass on every line, and off. */
static void fast_pair(const char *const *p, size_t n, struct cm_jsonl **fast,
		      struct cm_jsonl **slow)
{
	*fast = mk(p, n);
	*slow = mk(p, n);
	cm_jsonl_set_fast(*fast, CM_JSONL_FAST_ALWAYS);
	cm_jsonl_set_fast(*slow, CM_JSONL_FAST_OFF);
}

Test(json, fast_pass_as_the_general_path_byte_by_byte)
{
	/* lines the pass takes, and neighbours it hands on */
	static const char *const lines[] = {
		"{\"time\": 1709251200, \"method\": \"INVITE\", \"from_tag\": \"b9ed4a21\", "
		"\"callid\": \"0-d8@198.51.100.206\", \"sip_code\": \"487\", \"src_user\": "
		"\"+444013218593\", \"src_ip\": \"192.0.2.208\", \"dst_user\": \"+444006139007\"}",
		"{\"s\":\"x\",\"n\":-1.5e3,\"t\":true,\"f\":false,\"z\":null,\"u\":\"y\",\"e\":\"\"}",
		" { \"s\" : \"x\" , \"n\" : 0 , \"o\" : {\"x\": 1} , \"a\" : [\"s\"] } ",
		"{\"s\":\"a\\\"b\",\"n\":1,\"t\":\"caf\xc3\xa9\"}",
		"{}",
	};
	static const char bytes[] = "\"\\:, \t{}[]0-atn\x01\x7f\x80\xc3\r\n";
	static const char *const names[] = {
		"time", "method", "from_tag", "callid", "sip_code", "src_user", "src_ip",
		"dst_user", "s", "n", "t", "f", "z", "o", "o.x", "a",
	};
	struct cm_jsonl *fast, *slow;
	char buf[512];
	size_t l, at, k, n;

	fast_pair(names, sizeof names / sizeof *names, &fast, &slow);
	for (l = 0; l < sizeof lines / sizeof *lines; l++) {
		const char *line = lines[l];

		n = strlen(line);
		cr_assert_lt(n + 1, sizeof buf);
		fast_same(fast, slow, line, n, "line", l, 0);
		for (at = 0; at <= n; at++) {
			/* the line cut at each byte */
			fast_same(fast, slow, line, at, "cut", l, at);
			/* each byte deleted */
			if (at < n) {
				memcpy(buf, line, at);
				memcpy(buf + at, line + at + 1, n - at - 1);
				fast_same(fast, slow, buf, n - 1, "delete", l, at);
			}
			for (k = 0; k < sizeof bytes - 1; k++) {
				/* each byte replaced, and one inserted before it */
				if (at < n) {
					memcpy(buf, line, n);
					buf[at] = bytes[k];
					fast_same(fast, slow, buf, n, "replace", l, at * 100 + k);
				}
				memcpy(buf, line, at);
				buf[at] = bytes[k];
				memcpy(buf + at + 1, line + at, n - at);
				fast_same(fast, slow, buf, n + 1, "insert", l, at * 100 + k);
			}
		}
	}
	cm_jsonl_free(fast);
	cm_jsonl_free(slow);
}

Test(json, fast_pass_across_blocks_and_lengths)
{
	static const char *const names[] = {"k", "v", "w"};
	struct cm_jsonl *fast, *slow;
	struct cm_buf l;
	size_t pad, len, i;

	fast_pair(names, 3, &fast, &slow);
	cm_buf_init(&l);
	/* strings, numbers and blanks across every place in and past the 64-byte blocks */
	for (pad = 0; pad < 140; pad += 3) {
		for (len = 0; len < 140; len += 7) {
			cm_buf_reset(&l);
			cm_buf_addc(&l, '{');
			for (i = 0; i < pad; i++)
				cm_buf_addc(&l, ' ');
			cm_buf_adds(&l, "\"k\": \"");
			for (i = 0; i < len; i++)
				cm_buf_addc(&l, (char)('a' + i % 26));
			cm_buf_adds(&l, "\", \"v\": ");
			for (i = 0; i < len % 23 + 1; i++)
				cm_buf_addc(&l, (char)('1' + i % 9));
			cm_buf_adds(&l, ", \"x\": \"unnamed\", \"w\":true}");
			cr_assert(!l.oom);
			fast_same(fast, slow, l.p, l.n, "pad", pad, len);
			/* a quote moved into the string: a string left open, or one more */
			l.p[pad + 7] = '"';
			fast_same(fast, slow, l.p, l.n, "quote", pad, len);
		}
	}
	/* past the pass's 2048 bytes: the general path's, the same */
	cm_buf_reset(&l);
	cm_buf_adds(&l, "{\"k\": \"");
	for (i = 0; i < 2100; i++)
		cm_buf_addc(&l, 'z');
	cm_buf_adds(&l, "\"}");
	cr_assert(!l.oom);
	fast_same(fast, slow, l.p, l.n, "long", 0, 0);
	/* a duplicate: handed on, reported by the general path */
	fast_same(fast, slow, LIT("{\"k\": \"a\", \"k\": \"b\"}"), "dup", 0, 0);
	cr_expect_str_eq(D(fast, "{\"k\": \"a\", \"k\": \"b\"}"), "duplicate@11#0");
	cm_buf_deinit(&l);
	cm_jsonl_free(fast);
	cm_jsonl_free(slow);
}
