/*
 * \summary: unit tests of the line formats and typed values: the rules
 * directives for jsonl, kv and kannel (src/rules.c finish_line_format,
 * check_field_name), typed record values through the plan (src/plan.c
 * cm_plan_apply, map_tree, json_number), their encoding (src/encoder.c),
 * and the SMS actions `length`, phone `alnum=` and `decode=url`
 * (src/action.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "support.h"
#include "cdrmin/action.h"
#include "cdrmin/encoder.h"
#include "cdrmin/key.h"
#include "cdrmin/plan.h"
#include "cdrmin/rules.h"

/* Under `make asan`, a failed parse must not leak (see tests/test_rules.c). */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define expect_no_leak() \
	cr_expect_eq(__lsan_do_recoverable_leak_check(), 0, "memory leaked (see the report above)")
#else
#define expect_no_leak() ((void)0)
#endif

/* Per-test state (Criterion runs each test in its own process). */
static struct cm_key key;
static struct cm_pseudo *ps;
static struct cm_rules R;
static struct cm_plan P;
static struct cm_plan_out O;
static struct cm_err E;
static struct cm_buf B; /* encoder output */

/* ================================================================== */
/* rules_formats                                                       */
/* ================================================================== */

static void rules_teardown(void)
{
	cm_rules_deinit(&R);
}

TestSuite(rules_formats, .fini = rules_teardown);

static int parse(const char *text)
{
	cm_rules_deinit(&R);
	memset(&E, 0, sizeof E);
	return cm_rules_parse(&R, "f.rules", text, strlen(text), &E);
}

static void ok(const char *text)
{
	cr_assert_eq(parse(text), 0, "parse failed at %llu:%llu: %s\n--- rules:\n%s",
		     (unsigned long long)E.line, (unsigned long long)E.col, E.msg, text);
}

/* The parse fails with CM_E_RULES at line:col, the message holding want (and want2 when not NULL). */
static void bad2(const char *text, unsigned line, unsigned col, const char *want, const char *want2)
{
	static const struct cm_rules zero;

	cr_assert_eq(parse(text), CM_FAIL, "parsed, want an error at %u:%u (%s)\n--- rules:\n%s", line,
		     col, want, text);
	cr_expect_eq(E.code, CM_E_RULES, "code %d: %s", E.code, E.msg);
	cr_expect_eq(E.line, line, "line %llu, want %u: %s\n--- rules:\n%s", (unsigned long long)E.line,
		     line, E.msg, text);
	cr_expect_eq(E.col, col, "col %llu, want %u: %s\n--- rules:\n%s", (unsigned long long)E.col, col,
		     E.msg, text);
	cr_expect(strstr(E.msg, want) != NULL, "message \"%s\" lacks \"%s\"", E.msg, want);
	if (want2)
		cr_expect(strstr(E.msg, want2) != NULL, "message \"%s\" lacks \"%s\"", E.msg, want2);
	cr_expect_eq(memcmp(&R, &zero, sizeof R), 0, "a failed parse left state in the rules");
	expect_no_leak();
}

static void bad(const char *text, unsigned line, unsigned col, const char *want)
{
	bad2(text, line, col, want, NULL);
}

static const struct cm_action *act(const char *name)
{
	size_t i;

	for (i = 0; i < R.nrules; i++)
		if (strcmp(R.rules[i].field, name) == 0)
			return &R.rules[i].act;
	cr_assert_fail("no rule for field '%s'", name);
	return NULL;
}

/* The rules' schema (R.columns) joined with commas. */
static const char *columns(void)
{
	static char s[512];
	size_t i, o = 0;

	s[0] = '\0';
	for (i = 0; i < R.columns.n; i++) {
		int k = snprintf(s + o, sizeof s - o, "%s%s", i ? "," : "", R.columns.names[i]);

		cr_assert(k >= 0 && (size_t)k < sizeof s - o);
		o += (size_t)k;
	}
	return s;
}

Test(rules_formats, each_format_accepted)
{
	ok("format jsonl\ncaller keep\n* drop\n");
	cr_expect_eq(R.format, CM_FORMAT_JSONL);
	cr_expect_eq(R.header, 0, "no header line in a line format");
	cr_expect_null(R.marker);
	cr_expect_str_eq(columns(), "caller");

	ok("format kv\nmethod keep\n* drop\n");
	cr_expect_eq(R.format, CM_FORMAT_KV);
	cr_expect_eq(R.delim, ';', "the kv pair separator defaults to ';'");
	cr_expect_eq(R.header, 0);

	ok("format kannel\nsmsc keep\n* drop\n");
	cr_expect_eq(R.format, CM_FORMAT_KANNEL);
	cr_expect_eq(R.header, 0);

	ok("format csv\ncolumns a,b\na keep\n* drop\n");
	cr_expect_eq(R.format, CM_FORMAT_CSV);
	cr_expect_eq(R.delim, ',');
	cr_expect_str_eq(columns(), "a,b");

	cr_expect_str_eq(cm_format_name(CM_FORMAT_CSV), "csv");
	cr_expect_str_eq(cm_format_name(CM_FORMAT_JSONL), "jsonl");
	cr_expect_str_eq(cm_format_name(CM_FORMAT_KV), "kv");
	cr_expect_str_eq(cm_format_name(CM_FORMAT_KANNEL), "kannel");
}

Test(rules_formats, unknown_format)
{
	bad("format xml\na keep\n* drop\n", 1, 8, "unknown format 'xml'");
	bad("# c\n  format   JSONL\na keep\n* drop\n", 2, 12, "expected csv, jsonl, kv, kannel, sip or sip-calls");
	bad("format\na keep\n* drop\n", 1, 1, "format csv|jsonl|kv|kannel|sip|sip-calls");
	bad("format jsonl\nformat kv\na keep\n* drop\n", 2, 1, "'format' given twice");
}

Test(rules_formats, marker)
{
	ok("format kv\nmarker \"ACC: \"\nmethod keep\n* drop\n");
	cr_assert_not_null(R.marker);
	cr_expect_str_eq(R.marker, "ACC: ");
	ok("format jsonl\nmarker json_acc[\na keep\n* drop\n");
	cr_expect_str_eq(R.marker, "json_acc[");

	bad("columns a\n\nmarker X\na keep\n* drop\n", 3, 1, "'marker' is for the line formats");
	bad("format csv\nheader yes\nmarker X\na keep\n* drop\n", 3, 1, "'marker' is for the line formats");
	bad("format kv\nmarker \"\"\na keep\n* drop\n", 2, 8, "must not be empty");
	bad("format kv\nmarker a\nmarker b\na keep\n* drop\n", 3, 1, "'marker' given twice");
}

Test(rules_formats, columns_and_header_refused)
{
	bad("format jsonl\ncolumns a,b\na keep\n* drop\n", 2, 1, "'columns' is for csv");
	bad("format kv\na keep\nheader yes\n* drop\n", 3, 1, "'header' is for csv");
	bad("header no\nformat kannel\nsmsc keep\n* drop\n", 1, 1, "'header' is for csv");
	bad2("format kannel\ncolumns a\nsmsc keep\n* drop\n", 2, 1, "'columns'", "format kannel");
}

Test(rules_formats, default_redact_refused)
{
	bad2("format kv\nmethod keep\n* redact\n", 3, 1, "no unnamed fields to redact", "format kv");
	bad2("format jsonl\n* redact text=X\na keep\n", 2, 1, "no unnamed fields to redact", "jsonl");
	bad("format kannel\nsmsc keep\n\n* redact\n", 4, 1, "'* drop'");
	ok("columns a,b\na keep\n* redact\n"); /* csv keeps it */
}

Test(rules_formats, delimiter)
{
	/* refused for jsonl and kannel (at the directive's line) */
	bad("format jsonl\ndelimiter ;\na keep\n* drop\n", 2, 1, "'delimiter' is for csv and kv");
	bad("delimiter tab\nformat kannel\nsmsc keep\n* drop\n", 1, 1, "'delimiter' is for csv and kv");

	/* the kv pair separator */
	ok("format kv\ndelimiter |\nmethod keep\n* drop\n");
	cr_expect_eq(R.delim, '|');
	ok("format kv\ndelimiter tab\nmethod keep\n* drop\n");
	cr_expect_eq(R.delim, '\t');
	ok("format kv\nmethod keep\n* drop\n");
	cr_expect_eq(R.delim, ';');

	/* a kv name may not hold the separator, the one set or the default */
	bad("format kv\nmethod keep\n  a;b keep\n* drop\n", 3, 4, "pair separator");
	bad("format kv\ndelimiter |\na|b keep\n* drop\n", 3, 2, "pair separator");
	ok("format kv\ndelimiter |\na;b keep\n* drop\n");
	cr_expect_str_eq(columns(), "a;b");
}

/*
 * The column of an error in a quoted field name: the quote comes first, so
 * the offending byte is one column further than its index in the name.
 */
Test(rules_formats, quoted_name_error_column)
{
	bad("format kv\n\"a;b\" keep\n* drop\n", 2, 3, "pair separator");
	bad("format jsonl\n\"a b\" keep\n* drop\n", 2, 3, "blank in path");
}

Test(rules_formats, schema_order)
{
	ok("format jsonl\n"
	   "epoch day of start\n"
	   "only disposition ANSWERED\n"
	   "b keep\n"
	   "a redact\n"
	   "skip lastapp Hangup\n"
	   "start time floor=hour\n"
	   "skip b x\n"
	   "* drop\n");
	cr_expect_str_eq(columns(), "b,a,start,disposition,lastapp");

	ok("format kv\n"
	   "epoch month of timestamp\n"
	   "skip method OPTIONS\n"
	   "only method INVITE,BYE\n"
	   "callee phone pseudonym\n"
	   "caller phone pseudonym\n"
	   "* drop\n");
	cr_expect_str_eq(columns(), "callee,caller,method,timestamp");

	/* filters and the epoch alone make a schema, rules first when there are some */
	ok("format kannel\nepoch day of time\nonly event \"Sent SMS\"\n* drop\n");
	cr_expect_str_eq(columns(), "event,time");
	ok("format kannel\nepoch day of time\nmsg length\nfrom phone pseudonym\n* drop\n");
	cr_expect_str_eq(columns(), "msg,from,time");
}

Test(rules_formats, bad_json_paths)
{
	bad("format jsonl\na..b keep\n* drop\n", 2, 3, "bad JSON path: empty key");
	bad("format jsonl\n  a[01] keep\n* drop\n", 2, 5, "leading zero");
	bad("format jsonl\na[ keep\n* drop\n", 2, 3, "bad JSON path");
	bad("format jsonl\nok keep\nx['unterminated keep\n* drop\n", 3, 16, "unterminated quote");
	bad("format jsonl\na.b[70000] keep\n* drop\n", 2, 5, "index too large");
	bad("format jsonl\n[0] keep\n* drop\n", 2, 1, "starts with a key");
	bad("format jsonl\na.b. keep\n* drop\n", 2, 5, "empty key");
	bad("format jsonl\na['x'y keep\n* drop\n", 2, 6, "expected ']'");
	/* in a filter and in the epoch, at their own columns */
	bad("format jsonl\na keep\nonly  b..c x\n* drop\n", 3, 9, "empty key");
	bad("format jsonl\nepoch day of t[1\na keep\n* drop\n", 2, 17, "expected ']' after the index");
	/* good paths pass */
	ok("format jsonl\n"
	   "variables.sip_from_user keep\n"
	   "callflow[0].caller_profile.caller_id_number keep\n"
	   "variables['sip.from'] keep\n"
	   "a['it\\'s'] keep\n"
	   "* drop\n");
	cr_expect_eq(R.columns.n, 4u);
}

Test(rules_formats, kannel_names)
{
	bad("format kannel\nFrom phone pseudonym\n* drop\n", 2, 1, "lower case");
	bad("format kannel\nsmsc keep\n  fRom keep\n* drop\n", 3, 4, "lower case");
	bad("format kannel\nmsg length\nonly SMSC x\n* drop\n", 3, 6, "lower case");
	bad("format kannel\nfrom:x keep\n* drop\n", 2, 5, "without ':'");
	bad("format kannel\nepoch day of Time\nsmsc keep\n* drop\n", 2, 14, "lower case");
	ok("format kannel\ntime keep\nevent keep\nsmsc keep\nfrom keep\nto keep\nmsg length\n* drop\n");
	/* upper case is fine in csv and kv */
	ok("format kv\nFrom keep\n* drop\n");
	ok("columns From\nFrom keep\n* drop\n");
}

Test(rules_formats, kv_names)
{
	bad("format kv\nsrc keep\n  a=b keep\n* drop\n", 3, 4, "cannot hold '='");
	bad("format kv\nsrc keep\nonly x=y 1\n* drop\n", 3, 7, "cannot hold '='");
	bad("format kv\nepoch day of =t\nsrc keep\n* drop\n", 2, 14, "cannot hold '='");
	ok("format kv\nfrom_tag keep\ncall_id pseudonym\n* drop\n");
	cr_expect_str_eq(columns(), "from_tag,call_id");
}

Test(rules_formats, kept_subtree_with_protected_value)
{
	bad2("format jsonl\nvariables keep\nvariables.sip_from_user phone pseudonym\n* drop\n", 2, 1,
	     "'variables' keeps a subtree that holds 'variables.sip_from_user'", "line 3");
	/* the protected rule first: still reported at the keep */
	bad2("format jsonl\nvariables.sip_from_user phone pseudonym\n\n   variables keep\n* drop\n", 4, 4,
	     "'variables'", "'variables.sip_from_user', which line 2 protects");
	/* meaning, not spelling */
	bad2("format jsonl\nvariables keep\nvariables['sip_from_user'] redact\n* drop\n", 2, 1,
	     "'variables'", "variables['sip_from_user']");
	bad("format jsonl\ncallflow[0] keep\ncallflow[0].caller_profile.caller_id_number scrub\n* drop\n",
	    2, 1, "callflow[0].caller_profile.caller_id_number");
	/* keeping the value itself under another spelling is a keep of it */
	bad("format jsonl\na.b keep\na['b'] phone pseudonym\n* drop\n", 2, 1, "keeps a subtree");

	/* a drop or redact parent, keep + keep, other subtrees: fine */
	ok("format jsonl\nvariables drop\nvariables.sip_from_user phone pseudonym\n* drop\n");
	ok("format jsonl\nvariables redact\nvariables.sip_from_user phone pseudonym\n* drop\n");
	ok("format jsonl\nvariables keep\nvariables.sip_from_user keep\n* drop\n");
	ok("format jsonl\ncallflow[1] keep\ncallflow[0].x phone pseudonym\nvar keep\nvariables.x redact\n"
	   "* drop\n");
	/* a kept child of a protected parent would write part of what it protects */
	bad("format jsonl\nvariables scrub\nvariables.duration keep\n* drop\n", 3, 1, "keeps a value inside");
	/* csv has no subtrees */
	ok("columns a,a.b\na keep\na.b phone pseudonym\n* drop\n");
}

Test(rules_formats, alnum_values)
{
	ok("format kannel\n"
	   "from phone pseudonym alnum=keep\n"
	   "to phone pseudonym alnum=pseudonym\n"
	   "smsc phone truncate digits=2 alnum=redact text=X\n"
	   "svc phone pseudonym\n"
	   "* drop\n");
	cr_expect_eq(act("from")->alnum, CM_ALNUM_KEEP);
	cr_expect_eq(act("to")->alnum, CM_ALNUM_PSEUDONYM);
	cr_expect_eq(act("smsc")->alnum, CM_ALNUM_REDACT);
	cr_expect_str_eq(act("smsc")->text, "X");
	cr_expect_eq(act("svc")->alnum, CM_ALNUM_INVALID, "default: as invalid= says");

	bad("format kannel\nfrom phone pseudonym   alnum=maybe\n* drop\n", 2, 30,
	    "alnum= must be keep, pseudonym or redact");
	bad("format kannel\nfrom phone pseudonym alnum=\n* drop\n", 2, 28, "alnum= must be");
	bad("format kannel\nfrom phone pseudonym alnum=keep alnum=redact\n* drop\n", 2, 33, "given twice");
	/* only the phone action takes it */
	bad("format kannel\nfrom pseudonym kind=phone alnum=keep\n* drop\n", 2, 27, "unexpected 'alnum='");
	bad("format kannel\nmsg scrub alnum=keep\n* drop\n", 2, 11, "unexpected 'alnum='");
}

Test(rules_formats, length_params)
{
	ok("format kannel\nmsg length\n* drop\n");
	cr_expect_eq(act("msg")->type, CM_ACT_LENGTH);
	cr_expect_eq(act("msg")->invalid, CM_INVALID_REJECT);
	cr_expect_eq(act("msg")->decode_url, 0);
	ok("format kannel\nmsg length invalid=redact text=bad decode=url\n* drop\n");
	cr_expect_eq(act("msg")->invalid, CM_INVALID_REDACT);
	cr_expect_str_eq(act("msg")->text, "bad");
	cr_expect_eq(act("msg")->decode_url, 1);
	ok("format kannel\nmsg length invalid=pseudonym\n* drop\n");
	cr_expect(cm_rules_keyed(&R), "invalid=pseudonym needs the key");
	ok("format kannel\nmsg length invalid=redact\n* drop\n");
	cr_expect(!cm_rules_keyed(&R));

	bad("format kannel\nmsg length bits=128\n* drop\n", 2, 12, "unexpected 'bits='");
	bad("format kannel\nmsg length segments\n* drop\n", 2, 12, "unexpected 'segments'");
	bad("format kannel\nmsg length invalid=keep\n* drop\n", 2, 20, "invalid= must be");
	bad("format kannel\nmsg lengths\n* drop\n", 2, 5, "unknown action 'lengths'");
}

Test(rules_formats, decode_url)
{
	ok("format jsonl\n"
	   "a phone pseudonym decode=url\n"
	   "b time floor=hour decode=url\n"
	   "c pseudonym decode=url\n"
	   "d scrub decode=url\n"
	   "e phone truncate digits=2 decode=url\n"
	   "f ip truncate decode=url\n"
	   "g bucket bounds=1,2 decode=url\n"
	   "h keep\n"
	   "* drop\n");
	cr_expect_eq(act("a")->decode_url, 1);
	cr_expect_eq(act("b")->decode_url, 1);
	cr_expect_eq(act("c")->decode_url, 1);
	cr_expect_eq(act("d")->decode_url, 1);
	cr_expect_eq(act("e")->decode_url, 1);
	cr_expect_eq(act("f")->decode_url, 1);
	cr_expect_eq(act("g")->decode_url, 1);
	cr_expect_eq(act("h")->decode_url, 0);

	bad("format jsonl\na keep decode=url\n* drop\n", 2, 8, "unexpected 'decode=' for keep");
	bad("format jsonl\na redact decode=url\n* drop\n", 2, 10, "unexpected 'decode=' for redact");
	bad("format jsonl\na drop decode=url\n* drop\n", 2, 8, "unexpected 'decode='");
	bad("format jsonl\na scrub decode=base64\n* drop\n", 2, 16, "decode= must be url");
	bad("format jsonl\na scrub decode=url decode=url\n* drop\n", 2, 20, "given twice");
}

/* ================================================================== */
/* plan_typed                                                          */
/* ================================================================== */

static void plan_setup(void)
{
	static const unsigned char k[CM_KEY_BYTES] = "cdrmin formats test key 32 byte";

	ps = cmt_engine(&key, k, 1024);
	cm_plan_out_init(&O);
	cm_buf_init(&B);
	P.epoch_field = -1;
}

static void plan_teardown(void)
{
	cm_buf_deinit(&B);
	cm_plan_out_deinit(&O);
	cm_plan_deinit(&P);
	cm_rules_deinit(&R);
	cm_pseudo_free(ps);
	cm_key_free(&key);
}

TestSuite(plan_typed, .init = plan_setup, .fini = plan_teardown);
TestSuite(encode_typed, .init = plan_setup, .fini = plan_teardown);

/* Parses a line-format rules text and compiles it against its own schema. */
static void compile(const char *text)
{
	cm_plan_deinit(&P);
	ok(text);
	cr_assert_eq(cm_plan_compile(&P, &R, &R.columns, &E), 0, "%llu:%llu: %s",
		     (unsigned long long)E.line, (unsigned long long)E.col, E.msg);
}

/* A typed record over P's schema; every field starts absent. */
#define MAXF 16
static struct cm_slice fv[MAXF], rv[MAXF];
static unsigned char ft[MAXF];
static struct cm_record rec;

static void rec_reset(void)
{
	size_t i;

	cr_assert_leq(P.schema.n, MAXF);
	for (i = 0; i < MAXF; i++) {
		fv[i].p = rv[i].p = "";
		fv[i].n = rv[i].n = 0;
		ft[i] = CM_VT_ABSENT;
	}
	rec.f = fv;
	rec.type = ft;
	rec.raw = rv;
	rec.n = P.schema.n;
	rec.line = 1;
	rec.offset = 0;
}

static size_t in_index(const char *name)
{
	long i = cm_schema_find(&P.schema, name);

	cr_assert_geq(i, 0, "no field '%s' in the schema", name);
	return (size_t)i;
}

/* Sets field name: type t, decoded value f, JSON text raw (f when NULL). */
static void put(const char *name, enum cm_vtype t, const char *f, const char *raw)
{
	size_t i = in_index(name);

	ft[i] = (unsigned char)t;
	fv[i].p = f;
	fv[i].n = strlen(f);
	rv[i].p = raw ? raw : f;
	rv[i].n = strlen(rv[i].p);
}

static enum cm_reject reason;
static long field;

static int apply_ps(struct cm_pseudo *e)
{
	reason = CM_REJ__COUNT;
	field = -2;
	return cm_plan_apply(&P, e, &rec, &O, &reason, &field);
}

static int apply(void)
{
	return apply_ps(ps);
}

/* Output index of input field name. */
static size_t out_index(const char *name)
{
	size_t i, in = in_index(name);

	for (i = 0; i < P.nout; i++)
		if (P.out[i] == in)
			return i;
	cr_assert_fail("field '%s' is not an output", name);
	return 0;
}

/* Output value of field name as a C string. */
static const char *outv(const char *name)
{
	static char ring[8][1024];
	static unsigned at;
	char *s = ring[at++ % 8];
	struct cm_slice v = cm_plan_value(&O, out_index(name));

	cr_assert_lt(v.n, sizeof ring[0]);
	if (v.n)
		memcpy(s, v.p, v.n);
	s[v.n] = '\0';
	return s;
}

static unsigned ot(const char *name)
{
	return O.ot[out_index(name)];
}

/* What P's action for field name makes of v, alone (no row, epoch 0). */
static const char *act_out(const char *name, const char *v)
{
	return cmt_action_alone(P.act[in_index(name)], ps, &R.numbering, v);
}

/* A token's shape: KID "." 26 base32 characters (128 bits). */
static void expect_token(const char *s)
{
	const char *kid = cm_pseudo_key_id(ps);

	cr_expect_eq(strlen(s), strlen(kid) + 1 + 26, "\"%s\" is not a 128-bit token", s);
	cr_expect(strncmp(s, kid, strlen(kid)) == 0 && s[strlen(kid)] == '.', "\"%s\" is not a token", s);
}

/* The 128-bit phone token of the normalized number v (epoch 0). */
static const char *phone_token(const char *v)
{
	static char s[CM_TOKEN_MAX];
	struct cm_buf b;

	cm_buf_init(&b);
	cr_assert_eq(cm_pseudo_token(ps, CM_KIND_PHONE, 0, v, strlen(v), 128, &b), 0);
	cr_assert_lt(b.n, sizeof s);
	memcpy(s, b.p, b.n);
	s[b.n] = '\0';
	cm_buf_deinit(&b);
	return s;
}

#define PLAN44 "format jsonl\nnumbering country=44 trunk=0 international=00\n"

Test(plan_typed, absent_runs_no_action)
{
	compile(PLAN44
		"a redact\n"
		"b phone pseudonym\n"
		"c time floor=hour\n"
		"d ip truncate invalid=reject\n"
		"e keep\n"
		"* drop\n");
	rec_reset();
	/* no engine: a keyed action that ran would fail the record (CM_FAIL) */
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_eq(ot("a"), CM_OT_ABSENT, "absent even under redact");
	cr_expect_eq(ot("b"), CM_OT_ABSENT);
	cr_expect_eq(ot("c"), CM_OT_ABSENT, "absent under an invalid=reject action: no reject");
	cr_expect_eq(ot("d"), CM_OT_ABSENT);
	cr_expect_eq(ot("e"), CM_OT_ABSENT);
	cr_expect_str_eq(outv("a"), "");
	cr_expect_str_eq(outv("c"), "");
	cr_expect_eq(O.scratch.n, 0u, "no action wrote anything");
	cr_expect_eq(field, -1);
}

Test(plan_typed, null_runs_no_action)
{
	compile(PLAN44 "a redact\nb phone pseudonym\nc time floor=hour\ne keep\n* drop\n");
	rec_reset();
	put("a", CM_VT_NULL, "", "null");
	put("b", CM_VT_NULL, "", "null");
	put("c", CM_VT_NULL, "", "null");
	put("e", CM_VT_NULL, "", "null");
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_eq(ot("a"), CM_OT_NULL);
	cr_expect_eq(ot("b"), CM_OT_NULL);
	cr_expect_eq(ot("c"), CM_OT_NULL);
	cr_expect_eq(ot("e"), CM_OT_NULL, "null under keep is null, not the raw text");
	cr_expect_str_eq(outv("a"), "");
	cr_expect_eq(O.scratch.n, 0u);

	/* mixed with a real value: the value still gets its action */
	put("b", CM_VT_STR, "+447700900123", "\"+447700900123\"");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_eq(ot("b"), CM_OT_STR);
	cr_expect_str_eq(outv("b"), act_out("b", "+447700900123"));
	cr_expect_eq(ot("a"), CM_OT_NULL);
}

Test(plan_typed, keep_passes_raw)
{
	static const char traw[] = "{ \"x\" : [1, 2.50, \"\\u00e9\"] }";

	compile("format jsonl\ns keep\nn keep\nb keep\nt keep\n* drop\n");
	rec_reset();
	put("s", CM_VT_STR, "\xc3\xa9", "\"\\u00e9\"");
	put("n", CM_VT_NUM, "1.50e3", NULL);
	put("b", CM_VT_BOOL, "false", NULL);
	put("t", CM_VT_TREE, traw, NULL);
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_eq(ot("s"), CM_OT_KEPT);
	cr_expect_eq(ot("n"), CM_OT_KEPT);
	cr_expect_eq(ot("b"), CM_OT_KEPT);
	cr_expect_eq(ot("t"), CM_OT_KEPT);
	/* the raw text is handed on, the value is the decoded one */
	cr_expect_eq(O.raw[out_index("s")].p, rv[in_index("s")].p);
	cr_expect_eq(O.raw[out_index("s")].n, 8u);
	cr_expect_eq(O.raw[out_index("t")].p, rv[in_index("t")].p);
	cr_expect_eq(O.raw[out_index("t")].n, sizeof traw - 1);
	cr_expect_str_eq(outv("s"), "\xc3\xa9");
	cr_expect_str_eq(outv("n"), "1.50e3");
	cr_expect_str_eq(outv("b"), "false");
	cr_expect_str_eq(outv("t"), traw);
	cr_expect_eq(O.scratch.n, 0u, "kept values are not copied");

	/* an untyped record (csv-like, no raw): kept values are plain strings */
	rec.type = NULL;
	rec.raw = NULL;
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_eq(ot("s"), CM_OT_STR);
	cr_expect_eq(ot("t"), CM_OT_STR);
	cr_expect_str_eq(outv("s"), "\xc3\xa9");
}

Test(plan_typed, number_results)
{
	compile(PLAN44
		"t time floor=hour\n"
		"u time floor=day\n"
		"p phone pseudonym\n"
		"g lat decimals=1\n"
		"k bucket bounds=10,20\n"
		"* drop\n");
	rec_reset();
	put("t", CM_VT_NUM, "1709284502", NULL);
	put("u", CM_VT_STR, "1709284502", "\"1709284502\"");
	put("p", CM_VT_NUM, "447700900123", NULL);
	put("g", CM_VT_NUM, "51.5074", NULL);
	put("k", CM_VT_NUM, "15", NULL);
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv("t"), "1709283600");
	cr_expect_eq(ot("t"), CM_OT_JSON, "a floored epoch number stays a number");
	cr_expect_str_eq(outv("u"), "1709251200");
	cr_expect_eq(ot("u"), CM_OT_STR, "a string stays a string, even when it reads as a number");
	expect_token(outv("p"));
	cr_expect_str_eq(outv("p"), act_out("p", "447700900123"), "the number's text is read");
	cr_expect_eq(ot("p"), CM_OT_STR, "a token is no JSON number");
	cr_expect_str_eq(outv("g"), "51.5");
	cr_expect_eq(ot("g"), CM_OT_JSON);
	cr_expect_str_eq(outv("k"), "10-20");
	cr_expect_eq(ot("k"), CM_OT_STR);

	/* an unreadable number under invalid=reject rejects */
	put("t", CM_VT_NUM, "-1e999", NULL);
	cr_assert_eq(apply(), CM_REJECTED);
	cr_expect_eq(reason, CM_REJ_VALUE);
	cr_expect_eq(field, (long)in_index("t"));
}

Test(plan_typed, tree_phone_pseudonym)
{
	static const char tree[] =
		"{\"07700900123\": \"+447700900123\", \"n\":447700900124, \"b\":true,\n"
		" \"z\":null, \"arr\":[\"0044 7700 900125\", false, {}, []], \"e\":\"\"}";
	char want[1024];

	compile(PLAN44 "t phone pseudonym\n* drop\n");
	rec_reset();
	put("t", CM_VT_TREE, tree, NULL);
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_eq(ot("t"), CM_OT_JSON);
	snprintf(want, sizeof want,
		 "{\"%s\":\"%s\",\"n\":\"%s\",\"b\":true,\"z\":null,\"arr\":[\"%s\",false,{},[]],\"e\":\"\"}",
		 act_out("t", "+447700900123"), act_out("t", "+447700900123"),
		 act_out("t", "447700900124"), act_out("t", "+447700900125"));
	cr_expect_str_eq(outv("t"), want);
	cr_expect(strstr(outv("t"), "7700900") == NULL, "a number left in clear: %s", outv("t"));
}

Test(plan_typed, tree_keys_without_engine_redacted)
{
	static const char tree[] = "{\"07700900123\":\"+447700900123\",\"name\":\"bob\",\"x\":[\"07700900124\"]}";

	compile(PLAN44 "t phone truncate digits=2 invalid=redact\n* drop\n");
	cr_assert(!cm_rules_keyed(&R));
	rec_reset();
	put("t", CM_VT_TREE, tree, NULL);
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_str_eq(outv("t"), "{\"REDACTED\":\"+44\",\"name\":\"REDACTED\",\"x\":[\"+44\"]}");
	/* with an engine the keys get tokens: the phone token scrub gives the number */
	cr_assert_eq(apply(), CM_WRITE);
	{
		char want[256];

		snprintf(want, sizeof want, "{\"%s\":\"+44\",\"name\":\"REDACTED\",\"x\":[\"+44\"]}",
			 phone_token("+447700900123"));
		cr_expect_str_eq(outv("t"), want);
	}
}

Test(plan_typed, tree_redact_is_text)
{
	compile("format jsonl\nt redact\nu redact text=gone\n* drop\n");
	rec_reset();
	put("t", CM_VT_TREE, "{\"a\":\"+447700900123\"}", NULL);
	put("u", CM_VT_TREE, "[]", NULL);
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_str_eq(outv("t"), "REDACTED");
	cr_expect_eq(ot("t"), CM_OT_STR);
	cr_expect_str_eq(outv("u"), "gone");
	cr_expect_eq(ot("u"), CM_OT_STR);
}

Test(plan_typed, tree_scrub)
{
	static const char tree[] =
		"{\"call 07700900123\":\"ring +447700900123 now\",\"ip\":\"192.0.2.1\",\"k\":[5,\"x\",null]}";
	char want[1024];

	compile(PLAN44 "s scrub\nr scrub redact\n* drop\n");
	rec_reset();
	put("s", CM_VT_TREE, tree, NULL);
	put("r", CM_VT_TREE, tree, NULL);
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_eq(ot("s"), CM_OT_JSON);
	cr_expect_eq(ot("r"), CM_OT_JSON);
	cr_expect_str_eq(outv("r"),
			 "{\"call REDACTED\":\"ring REDACTED now\",\"ip\":\"REDACTED\",\"k\":[\"5\",\"x\",null]}");
	snprintf(want, sizeof want, "{\"%s\":\"%s\",\"ip\":\"%s\",\"k\":[\"5\",\"x\",null]}",
		 act_out("s", "call 07700900123"), act_out("s", "ring +447700900123 now"),
		 act_out("s", "192.0.2.1"));
	cr_expect_str_eq(outv("s"), want);
	cr_expect(strstr(outv("s"), "7700900123") == NULL && strstr(outv("s"), "192.0.2") == NULL,
		  "left in clear: %s", outv("s"));
}

Test(plan_typed, tree_leaf_reject)
{
	compile("format jsonl\nt time floor=hour\nk keep\n* drop\n");
	rec_reset();
	put("k", CM_VT_STR, "x", "\"x\"");
	put("t", CM_VT_TREE, "{\"a\":1709284502,\"b\":\"2024-03-01T09:15:02Z\",\"c\":[true,null,\"\"]}", NULL);
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	/* inside a tree a number becomes a string */
	cr_expect_str_eq(outv("t"), "{\"a\":\"1709283600\",\"b\":\"2024-03-01T09:00:00Z\",\"c\":[true,null,\"\"]}");
	cr_expect_eq(ot("t"), CM_OT_JSON);

	put("t", CM_VT_TREE, "{\"a\":1709284502,\"b\":[\"soon\"]}", NULL);
	cr_assert_eq(apply_ps(NULL), CM_REJECTED);
	cr_expect_eq(reason, CM_REJ_VALUE);
	cr_expect_eq(field, (long)in_index("t"));

	/* invalid=redact: the leaf becomes the text */
	compile("format jsonl\nt time floor=hour invalid=redact text=?\n* drop\n");
	rec_reset();
	put("t", CM_VT_TREE, "[\"soon\",1709284502]", NULL);
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_str_eq(outv("t"), "[\"?\",\"1709283600\"]");
}

Test(plan_typed, decode_url)
{
	compile(PLAN44
		"a phone pseudonym decode=url\n"
		"b phone pseudonym\n"
		"c phone pseudonym\n"
		"t phone pseudonym decode=url\n"
		"* drop\n");
	rec_reset();
	put("a", CM_VT_STR, "%2B447700900123", "\"%2B447700900123\"");
	put("b", CM_VT_STR, "+447700900123", "\"+447700900123\"");
	put("c", CM_VT_STR, "%2B447700900123", "\"%2B447700900123\"");
	put("t", CM_VT_TREE, "{\"u\":\"%2b447700900123\",\"v\":[\"%2B447700900123\"]}", NULL);
	cr_assert_eq(apply(), CM_WRITE);
	expect_token(outv("b"));
	cr_expect_str_eq(outv("a"), outv("b"), "decoded, the same number");
	cr_expect_str_neq(outv("c"), outv("b"), "not decoded without decode=url");
	{
		char want[256];

		snprintf(want, sizeof want, "{\"u\":\"%s\",\"v\":[\"%s\"]}", outv("b"), outv("b"));
		cr_expect_str_eq(outv("t"), want);
	}
}

Test(plan_typed, row_numbers_include_decoded_phone_fields)
{
	char want[256];

	compile(PLAN44 "a phone pseudonym decode=url\nnote scrub\n* drop\n");
	rec_reset();
	put("a", CM_VT_STR, "%31%30%31", "\"%31%30%31\""); /* 101 */
	put("note", CM_VT_STR, "ext 101 or 102", "\"ext 101 or 102\"");
	cr_assert_eq(apply(), CM_WRITE);
	expect_token(outv("a"));
	snprintf(want, sizeof want, "ext %s or 102", outv("a"));
	cr_expect_str_eq(outv("note"), want, "the decoded field's number is in the row");

	/* the same as a number, and in a tree: numbers are in the row, trees are not */
	put("a", CM_VT_NUM, "101", NULL);
	cr_assert_eq(apply(), CM_WRITE);
	snprintf(want, sizeof want, "ext %s or 102", outv("a"));
	cr_expect_str_eq(outv("note"), want);

	/* without decode=url "%31%30%31" is no number: nothing short is replaced */
	compile(PLAN44 "a phone pseudonym\nnote scrub\n* drop\n");
	rec_reset();
	put("a", CM_VT_STR, "%31%30%31", "\"%31%30%31\"");
	put("note", CM_VT_STR, "ext 101 or 102", "\"ext 101 or 102\"");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv("note"), "ext 101 or 102");
}

static const char *encode(enum cm_output fmt);

/* 1 when the members of the top-level object in json s have distinct names. */
static int unique_top_keys(const char *s)
{
	const char *keys[32];
	size_t lens[32], nk = 0, i, j;
	int depth = 0;

	for (i = 0; s[i]; i++) {
		if (s[i] == '{' || s[i] == '[') {
			depth++;
		} else if (s[i] == '}' || s[i] == ']') {
			depth--;
		} else if (s[i] == '"') {
			size_t st = ++i;

			while (s[i] && s[i] != '"')
				i += s[i] == '\\' && s[i + 1] ? 2 : 1;
			cr_assert(s[i], "unterminated string in %s", s);
			if (depth == 1 && s[i + 1] == ':') {
				cr_assert_lt(nk, 32u);
				for (j = 0; j < nk; j++)
					if (lens[j] == i - st && memcmp(keys[j], s + st, i - st) == 0)
						return 0;
				keys[nk] = s + st;
				lens[nk++] = i - st;
			}
		}
	}
	return 1;
}

/*
 * Scrubbed keys may collide: two numbers under one object become the same
 * redact text, or two spellings of one number the same token. The output
 * must still be an object with unique member names (RFC 8259 section 4:
 * with duplicates "the behavior of software that receives such an object
 * is unpredictable"; most readers keep the last value, and cdrmin's own
 * decoder rejects a record whose named path is given twice).
 */
Test(plan_typed, scrubbed_keys_stay_unique)
{
	/* no engine: keys redacted */
	compile(PLAN44 "t phone truncate digits=2 invalid=redact\n* drop\n");
	rec_reset();
	put("t", CM_VT_TREE, "{\"07700900123\":\"+447700900123\",\"07700900124\":\"+447700900124\"}", NULL);
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect(unique_top_keys(outv("t")), "duplicate member names: %s", outv("t"));

	/* two spellings of one number: one token */
	compile(PLAN44 "u phone pseudonym\n* drop\n");
	rec_reset();
	put("u", CM_VT_TREE, "{\"07700900123\":\"a\",\"+447700900123\":\"b\"}", NULL);
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect(unique_top_keys(outv("u")), "duplicate member names: %s", outv("u"));
}

/*
 * A kept subtree holding a value the rules drop: `check` lists the value as
 * dropped, so it must not leave the filter inside its parent (either the
 * rules are refused, as for a protected value, or the kept subtree loses
 * that member).
 */
Test(plan_typed, kept_subtree_never_outputs_dropped_value)
{
	static const char text[] = "format jsonl\nvariables keep\nvariables.sip_from_user drop\n* drop\n";
	const char *o;

	if (parse(text) != 0)
		return; /* refused: fine */
	cr_assert_eq(cm_plan_compile(&P, &R, &R.columns, &E), 0, "%s", E.msg);
	rec_reset();
	put("variables", CM_VT_TREE, "{\"sip_from_user\":\"447700900123\",\"x\":1}", NULL);
	put("variables.sip_from_user", CM_VT_STR, "447700900123", "\"447700900123\"");
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	o = encode(CM_OUTPUT_JSONL);
	cr_expect(strstr(o, "447700900123") == NULL,
		  "the dropped variables.sip_from_user leaves inside the kept subtree: %s", o);
}

Test(plan_typed, filters_on_absent)
{
	compile("format jsonl\na keep\nonly s x\n* drop\n");
	rec_reset();
	put("a", CM_VT_STR, "1", "\"1\"");
	cr_expect_eq(apply_ps(NULL), CM_FILTERED, "only: an absent field matches no value");
	put("s", CM_VT_STR, "x", "\"x\"");
	cr_expect_eq(apply_ps(NULL), CM_WRITE);

	compile("format jsonl\na keep\nskip s x\n* drop\n");
	rec_reset();
	put("a", CM_VT_STR, "1", "\"1\"");
	cr_expect_eq(apply_ps(NULL), CM_WRITE, "skip: an absent field matches no value");
	put("s", CM_VT_STR, "x", "\"x\"");
	cr_expect_eq(apply_ps(NULL), CM_FILTERED);
	put("s", CM_VT_NULL, "", "null");
	cr_expect_eq(apply_ps(NULL), CM_WRITE);
}

Test(plan_typed, absent_epoch_rejects)
{
	compile("format jsonl\nepoch month of t\na pseudonym\n* drop\n");
	rec_reset();
	put("a", CM_VT_STR, "x", "\"x\"");
	cr_assert_eq(apply(), CM_REJECTED);
	cr_expect_eq(reason, CM_REJ_EPOCH);
	cr_expect_eq(field, (long)in_index("t"));
	put("t", CM_VT_NUM, "1709284502", NULL);
	cr_assert_eq(apply(), CM_WRITE);
}

/* ================================================================== */
/* encode_typed                                                        */
/* ================================================================== */

static const char *encode(enum cm_output fmt)
{
	static char s[2048];
	struct cm_encoder e;

	e.fmt = fmt;
	e.delim = ',';
	cm_buf_reset(&B);
	cm_encode_record(&e, &P, &O, &B);
	cr_assert(!B.oom);
	cr_assert_lt(B.n, sizeof s);
	memcpy(s, B.p, B.n);
	s[B.n] = '\0';
	return s;
}

static const char *header(void)
{
	static char s[512];
	struct cm_encoder e = {CM_OUTPUT_CSV, ','};

	cm_buf_reset(&B);
	cm_encode_header(&e, &P, &B);
	cr_assert_lt(B.n, sizeof s);
	memcpy(s, B.p, B.n);
	s[B.n] = '\0';
	return s;
}

Test(encode_typed, jsonl_absent_members_skipped)
{
	compile("format jsonl\na keep\nb keep\nc keep\n* drop\n");
	rec_reset();
	put("b", CM_VT_STR, "x", "\"x\"");
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_str_eq(encode(CM_OUTPUT_JSONL), "{\"b\":\"x\"}\n", "no leading comma");
	cr_expect_str_eq(encode(CM_OUTPUT_CSV), ",x,\n");

	rec_reset();
	put("a", CM_VT_STR, "x", "\"x\"");
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_str_eq(encode(CM_OUTPUT_JSONL), "{\"a\":\"x\"}\n", "no trailing comma");

	rec_reset();
	put("a", CM_VT_NUM, "1", NULL);
	put("c", CM_VT_NUM, "3", NULL);
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_str_eq(encode(CM_OUTPUT_JSONL), "{\"a\":1,\"c\":3}\n");

	rec_reset();
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_str_eq(encode(CM_OUTPUT_JSONL), "{}\n");
	cr_expect_str_eq(encode(CM_OUTPUT_CSV), ",,\n");
}

Test(encode_typed, jsonl_values)
{
	static const char traw[] = "{ \"x\" : [1, 2.50] }";

	compile("format jsonl\nnull keep\ns keep\nn keep\nb keep\nt keep\nf time floor=hour\n"
		"p time floor=hour\nr redact\nq scrub redact\n* drop\n");
	rec_reset();
	put("null", CM_VT_NULL, "", "null");
	put("s", CM_VT_STR, "\xc3\xa9", "\"\\u00e9\"");
	put("n", CM_VT_NUM, "-0.0", NULL);
	put("b", CM_VT_BOOL, "true", NULL);
	put("t", CM_VT_TREE, traw, NULL);
	put("f", CM_VT_NUM, "1709284502", NULL);
	put("p", CM_VT_STR, "2024-03-01 09:15:02", "\"2024-03-01 09:15:02\"");
	put("r", CM_VT_NUM, "12", NULL);
	put("q", CM_VT_TREE, "[\"+447700900123\",1]", NULL);
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_str_eq(encode(CM_OUTPUT_JSONL),
			 "{\"null\":null,\"s\":\"\\u00e9\",\"n\":-0.0,\"b\":true,\"t\":{ \"x\" : [1, 2.50] },"
			 "\"f\":1709283600,\"p\":\"2024-03-01 09:00:00\",\"r\":\"REDACTED\","
			 "\"q\":[\"REDACTED\",\"1\"]}\n");
	cr_expect_str_eq(header(), "null,s,n,b,t,f,p,r,q\n");
	cr_expect_str_eq(encode(CM_OUTPUT_CSV),
			 ",\xc3\xa9,-0.0,true,\"{ \"\"x\"\" : [1, 2.50] }\",1709283600,2024-03-01 09:00:00,"
			 "REDACTED,\"[\"\"REDACTED\"\",\"\"1\"\"]\"\n");
}

Test(encode_typed, csv_single_absent_field)
{
	compile("format jsonl\na keep\n* drop\n");
	rec_reset();
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_str_eq(encode(CM_OUTPUT_CSV), "\"\"\n", "not a blank line");
	cr_expect_str_eq(encode(CM_OUTPUT_JSONL), "{}\n");
	put("a", CM_VT_NULL, "", "null");
	cr_assert_eq(apply_ps(NULL), CM_WRITE);
	cr_expect_str_eq(encode(CM_OUTPUT_CSV), "\"\"\n");
	cr_expect_str_eq(encode(CM_OUTPUT_JSONL), "{\"a\":null}\n");
}

Test(encode_typed, jsonl_path_names_and_strings)
{
	/* a name with a quote, written quoted in the rules */
	compile("format jsonl\n\"variables['sip\\\"x']\" keep\nv.w pseudonym\n* drop\n");
	rec_reset();
	put("variables['sip\"x']", CM_VT_STR, "a\nb", "\"a\\u000ab\"");
	put("v.w", CM_VT_NUM, "42", NULL);
	cr_assert_eq(apply(), CM_WRITE);
	{
		char want[256];

		snprintf(want, sizeof want, "{\"variables['sip\\\"x']\":\"a\\u000ab\",\"v.w\":\"%s\"}\n",
			 outv("v.w"));
		cr_expect_str_eq(encode(CM_OUTPUT_JSONL), want);
		snprintf(want, sizeof want, "\"a\nb\",%s\n", outv("v.w"));
		cr_expect_str_eq(encode(CM_OUTPUT_CSV), want);
	}
	expect_token(outv("v.w"));
	cr_expect_eq(ot("v.w"), CM_OT_STR);
}

/* ================================================================== */
/* action_sms                                                          */
/* ================================================================== */

static struct cm_numbering np;
static struct cm_buf out, tmp, dec;
static struct cm_action_ctx ctx;
static struct cm_action A;

static void sms_setup(void)
{
	static const unsigned char k[CM_KEY_BYTES] = "cdrmin sms action test key, 32.";

	ps = cmt_engine(&key, k, 1024);
	cm_numbering_default(&np);
	strcpy(np.cc, "44");
	strcpy(np.trunk, "0");
	strcpy(np.intl, "00");
	cm_buf_init(&out);
	cm_buf_init(&tmp);
	cm_buf_init(&dec);
	ctx.ps = ps;
	ctx.np = &np;
	ctx.epoch = 0;
	ctx.tmp = &tmp;
	ctx.row = NULL;
	ctx.nrow = 0;
	ctx.dec = &dec;
	cm_action_init(&A, CM_ACT_DROP);
}

static void sms_teardown(void)
{
	cm_rules_deinit(&R);
	cm_action_deinit(&A);
	cm_buf_deinit(&out);
	cm_buf_deinit(&tmp);
	cm_buf_deinit(&dec);
	cm_pseudo_free(ps);
	cm_key_free(&key);
}

TestSuite(action_sms, .init = sms_setup, .fini = sms_teardown);

/* A from one rule line, as the parser makes it ("f ACTION ..."). */
static void use(const char *line)
{
	char text[256];
	size_t i;

	snprintf(text, sizeof text, "format kannel\nf %s\n* drop\n", line);
	ok(text);
	cm_action_deinit(&A);
	for (i = 0; i < R.nrules; i++)
		if (strcmp(R.rules[i].field, "f") == 0) {
			A = R.rules[i].act;
			/* A owns the copy now: the rules must not free it */
			memset(&R.rules[i].act, 0, sizeof R.rules[i].act);
		}
	cr_assert(A.type != CM_ACT_DROP);
}

static int rc;

/* Applies A to v[0..n); returns the output as a C string, the code in rc. */
static const char *run_n(const char *v, size_t n)
{
	static char ring[8][512];
	static unsigned at;
	char *s = ring[at++ % 8];

	cm_buf_reset(&out);
	rc = cm_action_apply(&A, &ctx, v, n, &out);
	cr_assert(!out.oom);
	cr_assert_lt(out.n, sizeof ring[0]);
	if (out.n)
		memcpy(s, out.p, out.n);
	s[out.n] = '\0';
	return s;
}

static const char *run(const char *v)
{
	return run_n(v, strlen(v));
}

#define expect_out(v, want)                                                                         \
	do {                                                                                        \
		const char *got_ = run(v);                                                          \
		cr_expect_eq(rc, 0, "rc %d for \"%s\"", rc, v);                                     \
		cr_expect_str_eq(got_, want, "for \"%s\"", v);                                      \
	} while (0)

Test(action_sms, length_gsm)
{
	char text[400];

	use("length");
	expect_out("Hello", "5:1");
	expect_out("Hello @ world! \xc2\xa3 \xc3\xa9", "18:1"); /* £ and é are GSM-7 */
	memset(text, 'a', 160);
	text[160] = '\0';
	expect_out(text, "160:1");
	text[160] = 'b';
	text[161] = '\0';
	expect_out(text, "161:2");
	memset(text, 'a', 306);
	text[306] = '\0';
	expect_out(text, "306:2");
	text[306] = 'a';
	text[307] = '\0';
	expect_out(text, "307:3");
	/* an extension character takes two septets: 159 + 2 > 160 */
	memset(text, 'a', 159);
	strcpy(text + 159, "\xe2\x82\xac"); /* € */
	expect_out(text, "160:2");
	text[158] = '\0';
	strcat(text, "\xe2\x82\xac");
	expect_out(text, "159:1");
}

Test(action_sms, length_ucs2)
{
	char text[400];
	size_t o;

	use("length");
	expect_out("Hi \xf0\x9f\x98\x80", "4:1"); /* an emoji: UCS-2, 5 units */
	expect_out("\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", "6:1"); /* Привет */
	/* 68 'a' and an emoji: 70 units, one segment; one 'a' more: two */
	memset(text, 'a', 68);
	o = 68 + cmt_utf8(0x1f600, text + 68);
	text[o] = '\0';
	expect_out(text, "69:1");
	memset(text, 'a', 69);
	o = 69 + cmt_utf8(0x1f600, text + 69);
	text[o] = '\0';
	expect_out(text, "70:2");
	/* 70 and 71 BMP characters outside GSM */
	for (o = 0; o < 70; o++)
		cmt_utf8(0x4e2d, text + 3 * o);
	text[3 * o] = '\0';
	expect_out(text, "70:1");
	cmt_utf8(0x4e2d, text + 3 * o);
	text[3 * o + 3] = '\0';
	expect_out(text, "71:2");
}

Test(action_sms, length_empty_and_invalid)
{
	use("length");
	expect_out("", "");
	cr_expect_str_eq(run("ab\xff"), "");
	cr_expect_eq(rc, 1, "not UTF-8: rejected by default");
	cr_expect_str_eq(run("\xc0\xaf"), "");
	cr_expect_eq(rc, 1, "overlong");
	cr_expect_str_eq(run("\xed\xa0\x80"), "");
	cr_expect_eq(rc, 1, "surrogate");

	use("length invalid=redact");
	expect_out("ab\xff", "REDACTED");
	expect_out("", "");
	use("length invalid=redact text=?");
	expect_out("\xe2\x82", "?");
	use("length invalid=pseudonym");
	expect_token(run("ab\xff"));
	cr_expect_eq(rc, 0);
}

Test(action_sms, length_decode_url)
{
	use("length decode=url");
	expect_out("%F0%9F%98%80", "1:1");
	expect_out("Hello%20world", "11:1");
	expect_out("100%", "4:1");
	use("length");
	expect_out("%F0%9F%98%80", "12:1");
}

Test(action_sms, url_decode)
{
	static const struct {
		const char *in, *want;
	} t[] = {
		{"%2B447700900123", "+447700900123"},
		{"%2b44", "+44"},
		{"a+b", "a+b"},
		{"%", "%"},
		{"%4", "%4"},
		{"%41", "A"},
		{"x%41%", "xA%"},
		{"%zz%4g", "%zz%4g"},
		{"%%41", "%A"},
		{"%252B", "%2B"},
		{"", ""},
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		cm_url_decode(t[i].in, strlen(t[i].in), &dec);
		cr_assert(!dec.oom);
		cr_expect(dec.n == strlen(t[i].want) && memcmp(dec.p, t[i].want, dec.n) == 0,
			  "\"%s\" decodes to \"%.*s\", want \"%s\"", t[i].in, (int)dec.n, dec.p, t[i].want);
	}
	/* a NUL byte from %00 is a byte like any other */
	cm_url_decode("a%00b", 5, &dec);
	cr_expect(dec.n == 3 && memcmp(dec.p, "a\0b", 3) == 0);
	/* the length bounds the read */
	cm_url_decode("%41", 2, &dec);
	cr_expect(dec.n == 2 && memcmp(dec.p, "%4", 2) == 0);
}

Test(action_sms, alnum_keep)
{
	use("phone pseudonym alnum=keep invalid=redact");
	expect_out("MyBank", "MyBank");
	expect_out("O2", "O2");
	expect_out("My Bank", "My Bank");
	expect_out("A&B's_co-op", "A&B's_co-op"); /* 11 characters */
	expect_out("Bank123", "Bank123");        /* 3 digits */
	/* not sender ids: the invalid= policy */
	expect_out("Bank1234", "REDACTED");      /* 4 digits: a number could hide */
	expect_out("MyBankSender", "REDACTED");  /* 12 characters */
	expect_out("Bank!", "REDACTED");
	expect_out("caf\xc3\xa9", "REDACTED");
	cr_expect_str_eq(run_n("Ba\0k", 4), "REDACTED");
	/* numbers are still numbers */
	expect_token(run("+447700900123"));
	cr_expect_str_neq(run("07700900123"), "07700900123");
}

Test(action_sms, alnum_not_sender_gets_token_by_default)
{
	const char *t;

	use("phone pseudonym alnum=keep");
	expect_out("MyBank", "MyBank");
	t = run("Bank1234");
	cr_expect_eq(rc, 0);
	expect_token(t);
	t = run("MyBankSender");
	expect_token(t);

	use("phone pseudonym alnum=keep invalid=reject");
	cr_expect_str_eq(run("Bank1234"), "");
	cr_expect_eq(rc, 1);
	expect_out("MyBank", "MyBank");
}

Test(action_sms, alnum_redact_and_pseudonym)
{
	char a[128], b[128];

	use("phone pseudonym alnum=redact");
	expect_out("MyBank", "REDACTED");
	expect_out("O2", "REDACTED");
	use("phone truncate digits=2 alnum=redact text=X invalid=reject");
	expect_out("MyBank", "X");
	expect_out("+447700900123", "+44");

	use("phone pseudonym alnum=pseudonym invalid=reject");
	strcpy(a, run("MyBank"));
	cr_expect_eq(rc, 0);
	expect_token(a);
	strcpy(b, run("MyBank"));
	cr_expect_str_eq(a, b, "one token per sender id");
	cr_expect_str_neq(run("MyBank2"), a);
	cr_expect_eq(run("Bank1234")[0], '\0');
	cr_expect_eq(rc, 1, "not a sender id: the invalid= policy");

	/* the default (no alnum=): the invalid= policy */
	use("phone pseudonym invalid=redact");
	expect_out("MyBank", "REDACTED");
	use("phone pseudonym invalid=reject");
	cr_expect_str_eq(run("MyBank"), "");
	cr_expect_eq(rc, 1);
}

Test(action_sms, alnum_keyed)
{
	use("phone truncate digits=2 invalid=redact alnum=pseudonym");
	cr_expect(cm_action_keyed(&A), "alnum=pseudonym needs the key");
	/* and it needs an engine */
	ctx.ps = NULL;
	run("MyBank");
	cr_expect_eq(rc, CM_FAIL);
	ctx.ps = ps;
	expect_token(run("MyBank"));

	use("phone truncate digits=2 invalid=redact alnum=keep");
	cr_expect(!cm_action_keyed(&A));
	use("phone truncate digits=2 invalid=redact alnum=redact");
	cr_expect(!cm_action_keyed(&A));
	use("phone truncate digits=2 invalid=redact");
	cr_expect(!cm_action_keyed(&A));
	use("phone truncate digits=2");
	cr_expect(cm_action_keyed(&A), "invalid=pseudonym is the phone default");
	use("length");
	cr_expect(!cm_action_keyed(&A));
	use("length decode=url invalid=pseudonym");
	cr_expect(cm_action_keyed(&A));
}

Test(action_sms, alnum_decode_url)
{
	use("phone pseudonym alnum=keep decode=url invalid=redact");
	expect_out("My%20Bank", "My Bank");
	expect_token(run("%2B447700900123"));
}
