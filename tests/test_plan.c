/*
 * \summary: unit tests of the rule plan (src/plan.c): compile against a
 * schema, output order and columns, filters, epochs, rejects, zero copy,
 * the `check` description.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support.h"
#include "cdrmin/key.h"
#include "cdrmin/plan.h"

/* Under `make asan`, a failed compile must not leak (see tests/test_rules.c). */
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
static struct cm_schema S;
static struct cm_plan P;
static struct cm_plan_out O;
static struct cm_err E;

static void setup(void)
{
	static const unsigned char k[CM_KEY_BYTES] = "cdrmin plan test key, 32 bytes.";

	ps = cmt_engine(&key, k, 1024);
	cm_schema_init(&S);
	cm_plan_out_init(&O);
	P.epoch_field = -1;
}

static void teardown(void)
{
	cm_plan_out_deinit(&O);
	cm_plan_deinit(&P);
	cm_rules_deinit(&R);
	cm_schema_deinit(&S);
	cm_pseudo_free(ps);
	cm_key_free(&key);
}

TestSuite(plan, .init = setup, .fini = teardown);

/* S = the comma-separated names. */
static void schema(const char *names)
{
	const char *p = names;

	cm_schema_deinit(&S);
	cm_schema_init(&S);
	for (;;) {
		size_t len = strcspn(p, ",");

		cr_assert_eq(cm_schema_add(&S, p, len), 0);
		if (!p[len])
			break;
		p += len + 1;
	}
}

static void rules(const char *text)
{
	cm_rules_deinit(&R);
	cr_assert_eq(cm_rules_parse(&R, "p.rules", text, strlen(text), &E), 0, "%llu:%llu: %s",
		     (unsigned long long)E.line, (unsigned long long)E.col, E.msg);
}

/* Compiles the rules text against the schema names; both must be fine. */
static void compile(const char *names, const char *text)
{
	schema(names);
	rules(text);
	cm_plan_deinit(&P);
	cr_assert_eq(cm_plan_compile(&P, &R, &S, &E), 0, "%llu:%llu: %s",
		     (unsigned long long)E.line, (unsigned long long)E.col, E.msg);
	cr_assert_eq(P.rules, &R);
	cr_assert_eq(P.schema.n, S.n);
}

/* Compiling must fail with CM_E_RULES at line:col naming want. */
static void compile_fails(const char *names, const char *text, unsigned line, unsigned col,
			  const char *want)
{
	schema(names);
	rules(text);
	cm_plan_deinit(&P);
	memset(&E, 0, sizeof E);
	cr_assert_eq(cm_plan_compile(&P, &R, &S, &E), CM_FAIL, "compiled, want an error at %u:%u", line,
		     col);
	cr_expect_eq(E.code, CM_E_RULES);
	cr_expect_eq(E.line, line, "line %llu, want %u: %s", (unsigned long long)E.line, line, E.msg);
	cr_expect_eq(E.col, col, "col %llu, want %u: %s", (unsigned long long)E.col, col, E.msg);
	cr_expect(strstr(E.msg, want) != NULL, "\"%s\" lacks \"%s\"", E.msg, want);
	/* a failed compile leaves an empty plan that deinit accepts again */
	cr_expect_eq(P.schema.n, 0u);
	cr_expect_null(P.act);
	cr_expect_null(P.out);
	cr_expect_eq(P.nout, 0u);
	cr_expect_eq(P.epoch_field, -1);
	expect_no_leak();
}

/* A record whose values are the given strings (which must outlive it). */
#define MAXF 16
static struct cm_slice vals[MAXF];
static struct cm_record rec;

static void record(size_t n, const char *const v[])
{
	size_t i;

	cr_assert_leq(n, MAXF);
	cr_assert_eq(n, P.schema.n, "a record has one value per schema field");
	for (i = 0; i < n; i++) {
		vals[i].p = v[i];
		vals[i].n = strlen(v[i]);
	}
	rec.f = vals;
	rec.n = n;
	rec.line = 1;
	rec.offset = 0;
}
#define RECORD(...)                                                             \
	do {                                                                    \
		static const char *const v_[] = {__VA_ARGS__};                  \
		record(sizeof v_ / sizeof v_[0], v_);                           \
	} while (0)

static enum cm_reject reason;
static long field;

static int apply(void)
{
	reason = CM_REJ__COUNT;
	field = -2;
	return cm_plan_apply(&P, ps, &rec, &O, &reason, &field);
}

/* Output field i as a C string. */
static const char *outv(size_t i)
{
	static char ring[16][256];
	static unsigned at;
	char *s = ring[at++ % 16];
	struct cm_slice v;

	cr_assert_lt(i, P.nout);
	v = cm_plan_value(&O, i);
	cr_assert_lt(v.n, sizeof ring[0]);
	memcpy(s, v.p, v.n);
	s[v.n] = '\0';
	return s;
}

/* The output as one comma-joined string. */
static const char *joined(void)
{
	static char s[1024];
	size_t i, o = 0;

	s[0] = '\0';
	for (i = 0; i < P.nout; i++)
		o += (size_t)snprintf(s + o, sizeof s - o, "%s%s", i ? "," : "", outv(i));
	return s;
}

/* The token for (kind, epoch, v). */
static const char *tok(enum cm_kind kind, uint64_t epoch, const char *v)
{
	static char ring[8][80];
	static unsigned at;
	char *s = ring[at++ % 8];
	struct cm_buf b;

	cm_buf_init(&b);
	cr_assert_eq(cm_pseudo_token(ps, kind, epoch, v, strlen(v), 128, &b), 0);
	cr_assert_lt(b.n, sizeof ring[0]);
	memcpy(s, b.p, b.n);
	s[b.n] = '\0';
	cm_buf_deinit(&b);
	return s;
}

/* ---------------------------------------------------------------- compile */

Test(plan, output_order_is_input_order)
{
	compile("a,b,c,d,e",
		"e keep\n"
		"c redact text=C\n"
		"a keep\n"
		"* drop\n");
	cr_assert_eq(P.nout, 3u);
	cr_expect_eq(P.out[0], 0u);
	cr_expect_eq(P.out[1], 2u);
	cr_expect_eq(P.out[2], 4u);
	RECORD("va", "vb", "vc", "vd", "ve");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(joined(), "va,C,ve");
}

Test(plan, actions_and_rule_lines_per_field)
{
	compile("a,b,c",
		"columns x\n"  /* declared columns are not the schema compiled against */
		"\n"
		"c time floor=day\n"
		"a drop\n"
		"* redact\n");
	cr_expect_eq(P.act[0]->type, CM_ACT_DROP);
	cr_expect_eq(P.act[1], &R.def, "an unnamed field gets the default");
	cr_expect_eq(P.act[2]->type, CM_ACT_TIME);
	cr_expect_eq(P.rule_line[0], 4u);
	cr_expect_eq(P.rule_line[1], 0u, "0: the default");
	cr_expect_eq(P.rule_line[2], 3u);
	cr_expect_eq(P.epoch_field, -1);
	cr_expect_eq(P.nfilters, 0u);
}

/* Which output fields the field memo answers: phone fields only when nothing is scrubbed. */
static int memoized(size_t out)
{
	size_t k;

	for (k = 0; k < P.nmemo; k++)
		if (P.memo[k] == out)
			return 1;
	return 0;
}

Test(plan, phone_fields_leave_the_field_memo_to_scrubs)
{
	compile("src,dst,uuid,when",
		"src phone pseudonym keep=cc\n"
		"dst phone pseudonym\n"
		"uuid pseudonym\n"
		"when time floor=hour\n"
		"* drop\n");
	cr_expect(memoized(0) && memoized(1), "no scrub: the phone fields use the memo");
	cr_expect(memoized(2));
	cr_expect(!memoized(3), "times are not memoized");
	cr_expect_eq(P.nphone, 0u, "no scrub: no row");

	compile("src,dst,uuid,clid",
		"src phone pseudonym keep=cc\n"
		"dst phone pseudonym\n"
		"uuid pseudonym\n"
		"clid scrub\n"
		"* drop\n");
	cr_expect(!memoized(0) && !memoized(1), "a scrub: the phone fields leave the memo");
	cr_expect(memoized(2), "other pseudonyms keep it");
	cr_expect(memoized(3), "the scrub has it");
	cr_expect_eq(P.nphone, 2u, "the row holds both numbers");
}

Test(plan, dropped_fields_are_absent)
{
	compile("caller,callee,secret,duration",
		"caller phone pseudonym\n"
		"secret drop\n"
		"duration keep\n"
		"* drop\n");
	cr_assert_eq(P.nout, 2u);
	RECORD("+44 20 7946 0123", "+44 20 7946 0999", "hunter2", "42");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(0), tok(CM_KIND_PHONE, 0, "+442079460123"));
	cr_expect_str_eq(outv(1), "42");
	cr_expect(strstr(joined(), "hunter2") == NULL);
	cr_expect(strstr(joined(), "0999") == NULL);
	cr_expect(strstr(joined(), "7946") == NULL);
}

Test(plan, all_dropped)
{
	/* nothing would leave but empty lines: refused at the default's line */
	compile_fails("a,b", "a drop\n* drop\n", 2, 1, "keep no column");
}

Test(plan, default_redact_keeps_the_column)
{
	compile("a,b,c", "b keep\n* redact text=\"n/a\"\n");
	cr_assert_eq(P.nout, 3u);
	RECORD("secret a", "open", "secret c");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(joined(), "n/a,open,n/a");
	compile("a,b,c", "b keep\n* redact\n");
	RECORD("secret a", "open", "");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(0), "REDACTED");
	cr_expect_str_eq(outv(1), "open");
}

Test(plan, unknown_field_in_rule)
{
	compile_fails("a,b", "a keep\n\n   cc keep\n* drop\n", 3, 4, "unknown field 'cc'");
	compile_fails("a,b", "\"A\" keep\n* drop\n", 1, 1, "unknown field 'A'"); /* names are exact */
	compile_fails("a,b", "b keep\na  keep\n\"call id\" scrub\n* drop\n", 3, 1, "unknown field 'call id'");
}

Test(plan, unknown_epoch_field)
{
	compile_fails("a,b", "a keep\nepoch month of start\n* drop\n", 2, 16, "unknown epoch field 'start'");
}

Test(plan, unknown_filter_field)
{
	compile_fails("a,b", "a keep\nonly  disposition ANSWERED\n* drop\n", 2, 7,
		      "unknown field 'disposition' in only");
	compile_fails("a,b", "a keep\nonly a x\nskip lastapp Hangup\n* drop\n", 3, 6,
		      "unknown field 'lastapp' in skip");
}

Test(plan, empty_schema)
{
	/* no input field, so no output column: refused */
	cm_schema_deinit(&S);
	cm_schema_init(&S);
	rules("columns x\n* redact\n");
	cr_expect_eq(cm_plan_compile(&P, &R, &S, &E), CM_FAIL);
	cr_expect(strstr(E.msg, "keep no column") != NULL, "%s", E.msg);
	compile_fails("x", "a keep\n* drop\n", 1, 1, "unknown field");
}

/* --------------------------------------------------------------- filters */

Test(plan, only_filter)
{
	compile("id,disposition", "id keep\nonly disposition ANSWERED,BUSY\n* drop\n");
	cr_assert_eq(P.nfilters, 1u);
	cr_expect_eq(P.filters[0].field, 1u);
	cr_expect_eq(P.filters[0].skip, 0);
	RECORD("1", "ANSWERED");
	cr_expect_eq(apply(), CM_WRITE);
	RECORD("2", "BUSY");
	cr_expect_eq(apply(), CM_WRITE);
	RECORD("3", "NO ANSWER");
	cr_expect_eq(apply(), CM_FILTERED);
	cr_expect_eq(field, -1);
	RECORD("4", "answered");
	cr_expect_eq(apply(), CM_FILTERED, "values match exactly");
	RECORD("5", "ANSWERED ");
	cr_expect_eq(apply(), CM_FILTERED);
	RECORD("6", "");
	cr_expect_eq(apply(), CM_FILTERED);
}

Test(plan, skip_filter)
{
	compile("id,lastapp", "id keep\nskip lastapp Hangup,Busy\n* drop\n");
	cr_expect_eq(P.filters[0].skip, 1);
	RECORD("1", "Hangup");
	cr_expect_eq(apply(), CM_FILTERED);
	RECORD("2", "Busy");
	cr_expect_eq(apply(), CM_FILTERED);
	RECORD("3", "Dial");
	cr_expect_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(0), "3");
}

Test(plan, filters_combine_and_see_dropped_fields)
{
	/* disposition is filtered on but dropped from the output */
	compile("id,disposition,lastapp",
		"id keep\nonly disposition ANSWERED\nskip lastapp Hangup\n* drop\n");
	cr_expect_eq(P.nout, 1u);
	RECORD("1", "ANSWERED", "Dial");
	cr_expect_eq(apply(), CM_WRITE);
	RECORD("2", "ANSWERED", "Hangup");
	cr_expect_eq(apply(), CM_FILTERED);
	RECORD("3", "BUSY", "Dial");
	cr_expect_eq(apply(), CM_FILTERED);
}

Test(plan, filter_comes_before_epoch_and_values)
{
	compile("t,ip,d", "epoch day of t\nip ip truncate\nonly d yes\n* drop\n");
	RECORD("garbage", "not an ip", "no");
	cr_expect_eq(apply(), CM_FILTERED, "a filtered record is not rejected");
	RECORD("garbage", "not an ip", "yes");
	cr_expect_eq(apply(), CM_REJECTED);
}

/* ------------------------------------------------------------- rejects */

Test(plan, epoch_field_unreadable)
{
	compile("id,caller,start", "caller phone pseudonym\nepoch month of start\n* drop\n");
	cr_expect_eq(P.epoch_field, 2);
	RECORD("1", "+44 20 7946 0123", "not a time");
	cr_expect_eq(apply(), CM_REJECTED);
	cr_expect_eq(reason, CM_REJ_EPOCH);
	cr_expect_eq(field, 2);
	RECORD("1", "+44 20 7946 0123", "");
	cr_expect_eq(apply(), CM_REJECTED, "an empty epoch time");
	cr_expect_eq(reason, CM_REJ_EPOCH);
	cr_expect_eq(field, 2);
	RECORD("1", "+44 20 7946 0123", "1969-12-31 23:59:59");
	cr_expect_eq(apply(), CM_REJECTED, "before 1970: no epoch");
	cr_expect_eq(reason, CM_REJ_EPOCH);
	RECORD("1", "+44 20 7946 0123", "2024-03-01 12:00:00");
	cr_expect_eq(apply(), CM_WRITE);
}

Test(plan, epoch_selects_tokens)
{
	const uint64_t feb = cm_epoch_id(CM_EPOCH_MONTH, (2024 - 1970) * 12 + 1);
	const uint64_t mar = cm_epoch_id(CM_EPOCH_MONTH, (2024 - 1970) * 12 + 2);
	char a[80], b[80], c[80];

	compile("caller,start", "numbering country=44 trunk=0\ncaller phone pseudonym\nstart keep\n"
		"epoch month of start\n* drop\n");
	RECORD("+44 20 7946 0123", "2024-03-01 00:00:00");
	cr_assert_eq(apply(), CM_WRITE);
	snprintf(a, sizeof a, "%s", outv(0));
	RECORD("020 7946 0123", "2024-03-31T23:59:59Z");
	cr_assert_eq(apply(), CM_WRITE);
	snprintf(b, sizeof b, "%s", outv(0));
	RECORD("+44 20 7946 0123", "2024-02-29 23:59:59");
	cr_assert_eq(apply(), CM_WRITE);
	snprintf(c, sizeof c, "%s", outv(0));
	cr_expect_str_eq(a, b, "one month, one pseudonym");
	cr_expect_str_neq(a, c, "another month, another pseudonym");
	cr_expect_str_eq(a, tok(CM_KIND_PHONE, mar, "+442079460123"));
	cr_expect_str_eq(c, tok(CM_KIND_PHONE, feb, "+442079460123"));
	/* the window is the UTC month: 00:30 at +01:00 on 1 March is still February */
	RECORD("+44 20 7946 0123", "2024-03-01T00:30:00+01:00");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(0), c);

	/* epoch none: the epoch id is 0 */
	compile("caller,start", "caller phone pseudonym\nepoch none\n* drop\n");
	RECORD("+44 20 7946 0123", "garbage");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(0), tok(CM_KIND_PHONE, 0, "+442079460123"));
}

/*
 * cm_plan_prefetch costs only loads: a record prefetched and then filtered
 * leaves nothing that a later record in the same storage, line and offset
 * (a second file's, say) could take for its own, here its epoch.
 */
Test(plan, filtered_prefetch_leaves_nothing_behind)
{
	const uint64_t apr = cm_epoch_id(CM_EPOCH_MONTH, (2024 - 1970) * 12 + 3);

	compile("caller,start,kind", "numbering country=44 trunk=0\ncaller phone pseudonym\n"
		"start keep\nepoch month of start\nonly kind call\n* drop\n");
	RECORD("+44 20 7946 0123", "2024-03-01 00:00:00", "call"); /* the memos are made */
	cr_assert_eq(apply(), CM_WRITE);
	RECORD("+44 20 7946 0123", "2024-03-02 00:00:00", "sms");
	cm_plan_prefetch(&P, NULL, &rec, &O);
	cr_assert_eq(apply(), CM_FILTERED);
	RECORD("+44 20 7946 0123", "2024-04-01 00:00:00", "call");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(0), tok(CM_KIND_PHONE, apr, "+442079460123"), "April's token");
}

Test(plan, value_reject)
{
	compile("a,ip,t", "a keep\nip ip truncate\nt time floor=hour\n* drop\n");
	RECORD("x", "192.0.2.7", "2024-03-01 12:34:56");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(joined(), "x,192.0.2.0,2024-03-01 12:00:00");
	RECORD("x", "192.0.2.7", "soon");
	cr_expect_eq(apply(), CM_REJECTED);
	cr_expect_eq(reason, CM_REJ_VALUE);
	cr_expect_eq(field, 2);
	RECORD("x", "host.example", "2024-03-01 12:34:56");
	cr_expect_eq(apply(), CM_REJECTED);
	cr_expect_eq(reason, CM_REJ_VALUE);
	cr_expect_eq(field, 1);
	/* the invalid= policy decides: redact writes the record */
	compile("a,ip,t", "a keep\nip ip truncate invalid=redact text=BAD\nt time floor=hour\n* drop\n");
	RECORD("x", "host.example", "2024-03-01 12:34:56");
	cr_expect_eq(apply(), CM_WRITE);
	cr_expect_str_eq(joined(), "x,BAD,2024-03-01 12:00:00");
}

Test(plan, reject_of_a_dropped_field_cannot_happen)
{
	/* a dropped column is never read: garbage in it rejects nothing */
	compile("a,t", "a keep\n* drop\n");
	RECORD("x", "soon");
	cr_expect_eq(apply(), CM_WRITE);
}

/* ------------------------------------------------------------ zero copy */

Test(plan, keep_is_zero_copy)
{
	size_t i;

	compile("a,b,c,d", "a keep\nb redact\nc keep\nd phone truncate digits=4\n* drop\n");
	RECORD("alpha", "beta", "gamma", "+44 20 7946 0123");
	cr_assert_eq(apply(), CM_WRITE);
	cr_assert_eq(P.nout, 4u);
	cr_expect_eq(cm_plan_value(&O, 0).p, vals[0].p, "a kept value points into the input");
	cr_expect_eq(cm_plan_value(&O, 0).n, 5u);
	cr_expect_eq(cm_plan_value(&O, 2).p, vals[2].p);
	cr_expect_eq(cm_plan_value(&O, 2).n, 5u);
	cr_expect_neq(cm_plan_value(&O, 1).p, vals[1].p);
	cr_expect_str_eq(outv(1), "REDACTED");
	cr_expect_str_eq(outv(3), "+4420");
	for (i = 0; i < P.nout; i++)
		cr_expect(cm_plan_value(&O, i).p != NULL);
}

Test(plan, plan_out_reused_across_records)
{
	compile("a,b", "a keep\nb redact text=XYZ\n* drop\n");
	RECORD("a-long-value-in-the-first-record", "one");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(joined(), "a-long-value-in-the-first-record,XYZ");
	RECORD("b", "");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(0), "b");
	cr_expect_str_eq(outv(1), "XYZ");
	/* a wider plan after a narrow one, with the same working space */
	compile("a,b,c,d,e,f", "columns a,b,c,d,e,f\n* redact text=R\n");
	RECORD("1", "2", "3", "4", "5", "6");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(joined(), "R,R,R,R,R,R");
}

Test(plan, keyed_actions_in_a_record)
{
	compile("caller,callee,ip,note",
		"numbering country=44 trunk=0 international=00\n"
		"caller phone pseudonym keep=cc\n"
		"callee phone pseudonym\n"
		"ip ip pseudonym\n"
		"note scrub\n"
		"* drop\n");
	RECORD("020 7946 0123", "+44 20 7946 0123", "::ffff:192.0.2.1", "rang 020 7946 0123");
	cr_assert_eq(apply(), CM_WRITE);
	{
		const char *t = tok(CM_KIND_PHONE, 0, "+442079460123");
		char want[128];

		snprintf(want, sizeof want, "+44/%s", t);
		cr_expect_str_eq(outv(0), want);
		cr_expect_str_eq(outv(1), t, "caller and callee columns join");
		snprintf(want, sizeof want, "rang %s", t);
		cr_expect_str_eq(outv(3), want, "scrub gives the same token");
	}
	cr_expect(strstr(joined(), "7946") == NULL);
	cr_expect(strstr(joined(), "192.0.2") == NULL);
}

/*
 * The memo gate (plan.h): a field whose values never repeat (a call id)
 * skips the memos after a window of misses, for one window, then two, then
 * four, measured again in between, while a field whose values repeat keeps
 * them; every output is its token either way, in windows measured and
 * skipped. 8 windows of 4096 records: without the gate the call ids alone
 * would make 32,768 cache lookups, with it those of the 3 windows measured
 * (records 0, 8192 and 20480 on; skips at 4096, 12288 and 24576).
 */
Test(plan, memo_gate_skips_fields_that_never_repeat)
{
	enum { W = 4096, N = 8 * W, SAMPLES = 15 };
	static char got[SAMPLES][2][80];
	static const size_t at[SAMPLES] = { 0, 1, 100, W - 1, W, W + 1, 2 * W, 3 * W - 1,
					    3 * W, 5 * W - 1, 5 * W, 6 * W - 1, 6 * W, 7 * W,
					    N - 1 };
	struct cm_pseudo_stats st;
	char id[32], who[32];
	const char *v[2] = { id, who };
	size_t i, s = 0;

	compile("callid,who", "callid pseudonym\nwho pseudonym\n* drop\n");
	for (i = 0; i < N; i++) {
		snprintf(id, sizeof id, "call-%zu@192.0.2.1", i);
		snprintf(who, sizeof who, "user-%zu", i % 8);
		record(2, v);
		cr_assert_eq(apply(), CM_WRITE);
		if (s < SAMPLES && at[s] == i) {
			snprintf(got[s][0], sizeof got[s][0], "%s", outv(0));
			snprintf(got[s][1], sizeof got[s][1], "%s", outv(1));
			s++;
		}
	}
	cm_pseudo_get_stats(ps, &st);
	cr_expect_geq(st.hits + st.misses, 3 * W, "%llu lookups: 3 windows measured",
		      (unsigned long long)(st.hits + st.misses));
	cr_expect_leq(st.hits + st.misses, 3 * W + 8 + 64,
		      "%llu lookups: the call ids used the caches beyond 3 windows",
		      (unsigned long long)(st.hits + st.misses));
	for (s = 0; s < SAMPLES; s++) {
		snprintf(id, sizeof id, "call-%zu@192.0.2.1", at[s]);
		snprintf(who, sizeof who, "user-%zu", at[s] % 8);
		cr_expect_str_eq(got[s][0], tok(CM_KIND_GENERIC, 0, id), "record %zu", at[s]);
		cr_expect_str_eq(got[s][1], tok(CM_KIND_GENERIC, 0, who), "record %zu", at[s]);
	}
}

/*
 * Three fields that never repeat skip the memos for the window after the
 * first; then their digests are computed side by side before the fields
 * are filtered (cm_pseudo_ahead), and every output is still its token.
 */
Test(plan, skipping_fields_hash_ahead)
{
	enum { W = 4096, N = 3 * W };
	char id[32], ft[32], tt[32], who[32];
	const char *v[4] = { id, ft, tt, who };
	struct cm_pseudo_stats st;
	size_t i;

	compile("callid,ftag,ttag,who",
		"callid pseudonym\nftag pseudonym\nttag pseudonym\nwho pseudonym\n* drop\n");
	for (i = 0; i < N; i++) {
		snprintf(id, sizeof id, "call-%zu@192.0.2.1", i);
		snprintf(ft, sizeof ft, "f%08zx", i * 2654435761u);
		snprintf(tt, sizeof tt, "t%zu", i);
		snprintf(who, sizeof who, "user-%zu", i % 8);
		record(4, v);
		cr_assert_eq(apply(), CM_WRITE);
		if (i % 97 == 0 || i >= N - 3) {
			cr_assert_str_eq(outv(0), tok(CM_KIND_GENERIC, 0, id), "record %zu", i);
			cr_assert_str_eq(outv(1), tok(CM_KIND_GENERIC, 0, ft), "record %zu", i);
			cr_assert_str_eq(outv(2), tok(CM_KIND_GENERIC, 0, tt), "record %zu", i);
			cr_assert_str_eq(outv(3), tok(CM_KIND_GENERIC, 0, who), "record %zu", i);
		}
	}
	cm_pseudo_get_stats(ps, &st);
	/* window 1 measures, 2 skips, 3 measures again; tok's digests are not bypassed */
	cr_expect_eq(st.ahead, 3 * (uint64_t)W, "%llu digests taken ahead",
		     (unsigned long long)st.ahead);
}

/*
 * A batch of three call-id and tag digests leaves a lane free: a number of
 * the row that the cache does not hold takes it, and the number's field
 * (and the scrubbed text that names it) then find its digest there. Every
 * output is still its token; the numbers' digests are counted as taken
 * ahead, once per new number (a repeated one is in the cache: no lane).
 */
/* What the plan's action for input field f makes of v alone: no row, nothing given. */
static const char *alone(size_t f, const char *v)
{
	return cmt_action_alone(P.act[f], ps, &R.numbering, v);
}

/*
 * With a scrub, a phone field takes its number's normalization (and cache
 * hash) from the row instead of making it again: its output is what its
 * action makes of the value alone, for numbers in every written form,
 * local numbers, truncation, URL-encoded values, and values that are not
 * numbers (not in the row: the action normalizes them itself).
 */
Test(plan, phone_fields_take_the_rows_normalization)
{
	static const char *const forms[][3] = {
		{ "+442079460123", "00442079460999", "2001" },
		{ "02079460123", "%2B442079460555", "anonymous" },
		{ "0044 20 7946 0123", "07700900123", "+15550100" },
		{ "1234", "", "sip:alice@example.net" },
		{ "(020) 7946-0123", "0044%20207946%200777", "02079460123" },
		{ "4412345678", "4412345678", "2079460123" }, /* local: no trunk prefix */
	};
	size_t i, f;

	compile("src,dst,ext,clid",
		"numbering country=44 trunk=0 international=00\n"
		"src phone pseudonym keep=cc\n"
		"dst phone truncate digits=5 decode=url\n"
		"ext phone pseudonym invalid=pseudonym\n"
		"clid scrub\n"
		"* drop\n");
	cr_assert_eq(P.nphone, 3u);
	for (i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		static char clid[64];

		snprintf(clid, sizeof clid, "\"Max\" <%s>", forms[i][0]);
		{
			const char *v[4] = { forms[i][0], forms[i][1], forms[i][2], clid };

			record(4, v);
			cr_assert_eq(apply(), CM_WRITE, "record %zu", i);
			for (f = 0; f < 3; f++)
				cr_assert_str_eq(outv(f), alone(f, v[f]), "record %zu, field %zu (%s)", i,
						 f, v[f]);
		}
	}
}

/*
 * A record's bare numbers are normalized, and their pseudonym cache sets
 * asked for, when it is prefetched (one record ahead, as the pipeline
 * does): the output must be what the same records give applied alone, in
 * every form (bare and not, every class, an epoch that changes), whether
 * the cache had the number or not, and for a record applied without its
 * prefetch (another one's in between).
 */
Test(plan, prefetched_numbers_match_unprefetched)
{
	static const char *const forms[][4] = {
		{ "+442079460123", "00442079460999", "2001", "2024-03-01 10:00:00" },
		{ "02079460123", "+15550100", "anonymous", "2024-03-01 10:00:01" },
		{ "+442079460123", "02079460123", "999", "2024-03-01 10:00:02" },
		{ "0044 20 7946 0123", "07700900123", "+1234567890123456", "2024-03-31 23:59:59" },
		{ "+442079460123", "0", "00", "2024-04-01 00:00:00" },
		{ "1234", "", "sip:alice@example.net", "2024-04-01 00:00:01" },
		{ "02079460123", "+123456789012345", "0044", "2024-04-02 00:00:00" },
		{ "4412345678", "+44", "12345678901234567890", "2024-04-02 00:00:01" },
		{ "+442079460123", "00442079460999", "02079460123", "2024-03-01 10:00:00" },
	};
	enum { NF = sizeof forms / sizeof forms[0] };
	struct cm_slice sv[2][5];
	struct cm_record r[2];
	struct cm_plan_out alone_out;
	char want[NF][1024], clid[NF][64];
	size_t i, f, round;

	compile("src,dst,ext,start,clid",
		"numbering country=44 trunk=0 international=00\n"
		"src phone pseudonym keep=cc\n"
		"dst phone pseudonym\n"
		"ext phone pseudonym invalid=pseudonym\n"
		"start time floor=hour\n"
		"clid scrub display=redact min-digits=3\n"
		"epoch month of start\n"
		"* drop\n");
	cr_assert_eq(P.nphone, 3u);
	/* each record applied on its own (a new working space, no prefetch) */
	for (i = 0; i < NF; i++) {
		snprintf(clid[i], sizeof clid[i], "\"Max\" <%s>", forms[i][i % 2]);
		{
			const char *v[5] = { forms[i][0], forms[i][1], forms[i][2], forms[i][3],
					     clid[i] };

			cm_plan_out_init(&alone_out);
			record(5, v);
			cr_assert_eq(cm_plan_apply(&P, ps, &rec, &alone_out, &reason, &field), CM_WRITE,
				     "record %zu", i);
			want[i][0] = '\0';
			for (f = 0; f < P.nout; f++) {
				struct cm_slice o = cm_plan_value(&alone_out, f);

				cr_assert_lt(strlen(want[i]) + o.n + 2, sizeof want[i]);
				strncat(want[i], o.p, o.n);
				strcat(want[i], "|");
			}
			cm_plan_out_deinit(&alone_out);
		}
	}
	/*
	 * Round 0 finds the cache empty, round 1 full; then each record i is
	 * prefetched before record i - 1 is applied, in two storages.
	 */
	for (round = 0; round < 2; round++) {
		for (i = 0; i <= NF; i++) {
			if (i < NF) {
				struct cm_record *ri = &r[i % 2];

				for (f = 0; f < 4; f++) {
					sv[i % 2][f].p = forms[i][f];
					sv[i % 2][f].n = strlen(forms[i][f]);
				}
				sv[i % 2][4].p = clid[i];
				sv[i % 2][4].n = strlen(clid[i]);
				memset(ri, 0, sizeof *ri);
				ri->f = sv[i % 2];
				ri->n = 5;
				ri->line = i + 1;
				ri->offset = 100 * i;
				/* record 4 is applied without its prefetch */
				if (i != 4)
					cm_plan_prefetch(&P, ps, ri, &O);
			}
			if (i > 0) {
				char got[1024] = "";

				cr_assert_eq(cm_plan_apply(&P, ps, &r[(i - 1) % 2], &O, &reason, &field),
					     CM_WRITE, "round %zu, record %zu", round, i - 1);
				for (f = 0; f < P.nout; f++) {
					struct cm_slice o = cm_plan_value(&O, f);

					strncat(got, o.p, o.n);
					strcat(got, "|");
				}
				cr_assert_str_eq(got, want[i - 1], "round %zu, record %zu", round, i - 1);
			}
		}
	}
}

Test(plan, free_lanes_take_the_rows_new_numbers)
{
	enum { W = 4096, N = 2 * W + 64 };
	char id[32], ft[32], tt[32], num[32], text[64];
	const char *v[5] = { id, ft, tt, num, text };
	const uint64_t none = 0;
	struct cm_pseudo_stats before, st;
	size_t i;

	compile("callid,ftag,ttag,num,text",
		"numbering country=44 trunk=0\ncallid pseudonym\nftag pseudonym\nttag pseudonym\n"
		"num phone pseudonym\ntext scrub\n* drop\n");
	for (i = 0; i < N; i++) {
		snprintf(id, sizeof id, "call-%zu@192.0.2.1", i);
		snprintf(ft, sizeof ft, "f%zu", i);
		snprintf(tt, sizeof tt, "t%zu", i);
		/*
		 * 16 numbers again and again while the gate measures (the number
		 * and the text fields keep the memos), then, while the call ids
		 * and tags skip them, new numbers, each twice in a row
		 */
		snprintf(num, sizeof num, "+4420794%05zu", i < W ? i % 16 : W + (i - W) / 2);
		snprintf(text, sizeof text, "call from %s", num);
		record(5, v);
		if (i == W)
			cm_pseudo_get_stats(ps, &before);
		cr_assert_eq(apply(), CM_WRITE);
		if (i >= W) {
			char want[80];

			cr_assert_str_eq(outv(0), tok(CM_KIND_GENERIC, none, id), "record %zu", i);
			cr_assert_str_eq(outv(3), tok(CM_KIND_PHONE, none, num), "record %zu", i);
			snprintf(want, sizeof want, "call from %s", tok(CM_KIND_PHONE, none, num));
			cr_assert_str_eq(outv(4), want, "record %zu", i);
		}
	}
	cm_pseudo_get_stats(ps, &st);
	/*
	 * Records W to 2W - 1 skip (then the gate measures again): 3 call-id
	 * and tag digests a record, and one per new number, taken by its field
	 * on a cache miss (the text then finds it in the cache; the number's
	 * second record is in the memos, and in the cache: no lane)
	 */
	cr_expect_eq(st.ahead - before.ahead, 3 * (uint64_t)W + W / 2, "%llu digests taken ahead",
		     (unsigned long long)(st.ahead - before.ahead));
}

/*
 * Digests ahead name the record's bytes: the next record, whose values lie
 * at the same addresses, must not be answered with the last one's. Here
 * the next record has one field skipping (no batch for it), a new value of
 * the same length at the address of the last record's batched value.
 */
Test(plan, next_record_does_not_take_the_last_ones_digests)
{
	char id[32] = "call-1@192.0.2.1", ft[32] = "f-1";
	const char *v[2] = { id, ft };

	compile("callid,ftag", "callid pseudonym\nftag pseudonym\n* drop\n");
	record(2, v);
	cr_assert_eq(apply(), CM_WRITE); /* the memos and the gate exist from the first record */
	cr_assert_eq(O.ngate, 2u);
	O.gate[0].skip = O.gate[1].skip = 1;
	O.skipping = 2;
	cr_assert_eq(apply(), CM_WRITE); /* both skip: one batch of two */
	cr_assert_str_eq(outv(0), tok(CM_KIND_GENERIC, 0, id));
	cr_assert_eq(O.skipping, 0u);
	O.gate[0].skip = 1;
	O.skipping = 1;
	memcpy(id, "call-2", 6); /* same address, same length, new value */
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(0), tok(CM_KIND_GENERIC, 0, id), "the last record's digest was taken");
}

/*
 * A time field's last value and its floor, and the epoch field's last value
 * and its epoch, are kept: records in time order repeat them. What is kept
 * answers only the same bytes in the same unit, also when the plan is
 * compiled again with other units over the same working space (a CSV
 * header that changes), and never a value that was not a time.
 */
Test(plan, last_time_and_epoch_answer_only_the_same_value_and_unit)
{
	const uint64_t mar = cm_epoch_id(CM_EPOCH_MONTH, (2024 - 1970) * 12 + 2);
	const uint64_t day = cm_epoch_id(CM_EPOCH_DAY, 19783); /* 2024-03-01 */
	int i;

	compile("id,t", "id pseudonym\nt time floor=hour\nepoch month of t\n* drop\n");
	for (i = 0; i < 3; i++) {
		RECORD("c1", "1709253000"); /* 2024-03-01 00:30:00 UTC */
		cr_assert_eq(apply(), CM_WRITE);
		cr_expect_str_eq(outv(1), "1709251200", "pass %d", i);
		cr_expect_str_eq(outv(0), tok(CM_KIND_GENERIC, mar, "c1"), "pass %d", i);
	}
	RECORD("c1", "1709253060"); /* same length, another minute */
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(1), "1709251200");

	/* the same working space, other units: the kept floor and epoch must not answer */
	compile("id,t", "id pseudonym\nt time floor=minute\nepoch day of t\n* drop\n");
	RECORD("c1", "1709253060");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(1), "1709253060", "floored by the new unit");
	cr_expect_str_eq(outv(0), tok(CM_KIND_GENERIC, day, "c1"), "the epoch of the new unit");

	/* not a time: the action's policy, each time, and nothing kept for it */
	compile("t", "t time floor=hour invalid=redact text=BAD\n* drop\n");
	for (i = 0; i < 2; i++) {
		RECORD("17092530x0");
		cr_assert_eq(apply(), CM_WRITE);
		cr_expect_str_eq(outv(0), "BAD", "pass %d", i);
	}
	RECORD("1709253000");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(0), "1709251200");
	RECORD("17092530x0");
	cr_assert_eq(apply(), CM_WRITE);
	cr_expect_str_eq(outv(0), "BAD", "after a good value of the same length");
	/*
	 * invalid=pseudonym: the token depends on the record's epoch, so the
	 * same non-time in another month is another token (the value has a
	 * token's length: a kept one would be copied back as it is)
	 */
	{
		const char *bad = "abcdefghijklmnopqrstuvwxyz01234";
		const uint64_t apr = cm_epoch_id(CM_EPOCH_MONTH, (2024 - 1970) * 12 + 3);

		compile("e,t", "e keep\nt time floor=hour invalid=pseudonym\nepoch month of e\n* drop\n");
		RECORD("2024-03-05 10:00:00", "abcdefghijklmnopqrstuvwxyz01234");
		cr_assert_eq(apply(), CM_WRITE);
		cr_assert_eq(strlen(outv(1)), strlen(bad));
		cr_expect_str_eq(outv(1), tok(CM_KIND_GENERIC, mar, bad));
		RECORD("2024-04-05 10:00:00", "abcdefghijklmnopqrstuvwxyz01234");
		cr_assert_eq(apply(), CM_WRITE);
		cr_expect_str_eq(outv(1), tok(CM_KIND_GENERIC, apr, bad), "March's token in April");
		compile("t", "t time floor=hour\n* drop\n");
	}
	/*
	 * Times that never repeat (a capture's microseconds) stop being kept
	 * after CM_TIME_LAST_MISSES misses in a row, for CM_TIME_LAST_SKIP
	 * values; every floor stays right, and then they are kept again.
	 */
	compile("t", "t time floor=minute\nepoch day of t\n* drop\n");
	cr_assert_geq(O.ntl, 1u);
	memset(&O.tl[0], 0, sizeof O.tl[0]); /* the misses counted above do not count here */
	memset(&O.el, 0, sizeof O.el);
	for (i = 0; i < CM_TIME_LAST_MISSES + CM_TIME_LAST_SKIP + 3; i++) {
		char t[40], want[40];
		const char *tv[1] = { t };

		snprintf(t, sizeof t, "2024-03-01T00:%02d:07.%06dZ", i % 60, i);
		snprintf(want, sizeof want, "2024-03-01T00:%02d:00.000000Z", i % 60);
		record(1, tv);
		cr_assert_eq(apply(), CM_WRITE);
		cr_assert_str_eq(outv(0), want, "value %d", i);
		if (i == CM_TIME_LAST_MISSES - 1) {
			cr_expect_eq(O.tl[0].skip, CM_TIME_LAST_SKIP, "kept no more after the misses");
			cr_expect_eq(O.el.skip, CM_TIME_LAST_SKIP, "nor the epoch");
		}
	}
	cr_expect_eq(O.tl[0].skip, 0, "kept again after the skip");
	cr_expect_eq(O.tl[0].n, strlen("2024-03-01T00:00:07.000000Z"));
	compile("t", "t time floor=hour\n* drop\n");
	/* a long ISO time with an offset, kept and answered too */
	for (i = 0; i < 2; i++) {
		RECORD("2024-03-01T00:30:15.123456+01:00");
		cr_assert_eq(apply(), CM_WRITE);
		cr_expect_str_eq(outv(0), "2024-03-01T00:00:00.000000+01:00", "pass %d", i);
	}
}

/* ------------------------------------------------------------- describe */

Test(plan, describe_lists_every_input_field)
{
	struct cm_buf b;
	char *s;

	compile("accountcode,src,dst,a_rather_long_column_name,disposition",
		"src phone pseudonym keep=cc\n"
		"dst phone truncate digits=6\n"
		"disposition keep\n"
		"accountcode drop\n"
		"* redact text=GONE\n");
	cm_buf_init(&b);
	cm_plan_describe(&P, &b);
	cr_assert(!b.oom);
	cm_buf_addc(&b, '\0');
	s = b.p;
	cr_expect(strncmp(s, "field", 5) == 0, "a header line first:\n%s", s);
	cr_expect(strstr(s, "\naccountcode ") != NULL, "%s", s);
	cr_expect(strstr(s, "\nsrc ") != NULL, "%s", s);
	cr_expect(strstr(s, "\ndst ") != NULL, "%s", s);
	cr_expect(strstr(s, "\na_rather_long_column_name ") != NULL, "%s", s);
	cr_expect(strstr(s, "\ndisposition ") != NULL, "%s", s);
	/* each line gives the rule's line, or * for the default, and the action */
	cr_expect(strstr(s, "src                        1     phone number normalized") != NULL, "%s", s);
	cr_expect(strstr(s, "country code kept") != NULL, "%s", s);
	cr_expect(strstr(s, "truncated to 6 digits") != NULL, "%s", s);
	cr_expect(strstr(s, "accountcode                4     dropped") != NULL, "%s", s);
	cr_expect(strstr(s, "a_rather_long_column_name  *     redacted to \"GONE\"") != NULL, "%s", s);
	cr_expect(strstr(s, "disposition                3     kept unchanged") != NULL, "%s", s);
	cr_expect(strstr(s, "output columns (4): src,dst,a_rather_long_column_name,disposition\n") != NULL,
		  "%s", s);
	cm_buf_deinit(&b);

	compile("a,b", "columns a,b\n* redact\n");
	cm_buf_init(&b);
	cm_plan_describe(&P, &b);
	cm_buf_addc(&b, '\0');
	cr_expect(strstr(b.p, "output columns (2): a,b") != NULL, "%s", b.p);
	cr_expect(strstr(b.p, "\na ") != NULL && strstr(b.p, "\nb ") != NULL, "%s", b.p);
	cm_buf_deinit(&b);
}
