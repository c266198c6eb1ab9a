/*
 * \summary: unit tests of retention (src/retention.c) and the retained store (src/store.c)
 *
 * The retention suite checks the calendar rules of include/cdrmin/retention.h
 * with the examples of its header and the DST changes of Europe/Athens and
 * America/New_York. The store suite works in a fresh temporary directory:
 * records carry deterministic originals that begin with "SECRET", written
 * in several classes and days, read back with cm_store_walk and compared
 * field by field; a crash is a forked writer that _exit()s without closing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/retention.h"
#include "cdrmin/store.h"

/* ------------------------------------------------------------------ retention */

TestSuite(retention);

static struct cm_date D(int y, int m, int d)
{
	struct cm_date x = { y, m, d };
	return x;
}

static void expect_date(struct cm_date got, int y, int m, int d)
{
	cr_expect(got.y == y && got.m == m && got.d == d, "got %04d-%02d-%02d, want %04d-%02d-%02d",
		  got.y, got.m, got.d, y, m, d);
}

static int retain(struct cm_retention *r, const char *a, const char *b, const char *c,
		  size_t *bad, const char **why)
{
	const char *w[3] = { a, b, c };

	return cm_retention_parse_retain(r, w, c ? 3 : 2, bad, why);
}

static struct cm_ret_class klass(unsigned n, enum cm_ret_unit u, int year_end)
{
	struct cm_ret_class c;

	memset(&c, 0, sizeof c);
	strcpy(c.name, "x");
	c.n = n;
	c.unit = u;
	c.year_end = year_end;
	return c;
}

Test(retention, parses_the_declarations_of_the_header)
{
	struct cm_retention r;
	const struct cm_ret_class *c;
	const char *why = NULL;
	size_t bad = 9;

	memset(&r, 0, sizeof r);
	cr_assert_eq(retain(&r, "traffic", "7y", "year-end", &bad, &why), 0);
	cr_assert_eq(retain(&r, "billing", "10y", NULL, &bad, &why), 0);
	cr_assert_eq(retain(&r, "sms", "24m", NULL, &bad, &why), 0);
	cr_assert_eq(retain(&r, "logs_2-x", "60d", NULL, &bad, &why), 0);
	cr_assert_eq(r.ncls, 4);
	c = cm_retention_find(&r, "traffic");
	cr_assert(c && c->n == 7 && c->unit == CM_RET_YEARS && c->year_end);
	c = cm_retention_find(&r, "sms");
	cr_assert(c && c->n == 24 && c->unit == CM_RET_MONTHS && !c->year_end);
	c = cm_retention_find(&r, "logs_2-x");
	cr_assert(c && c->n == 60 && c->unit == CM_RET_DAYS);
	cr_expect_null(cm_retention_find(&r, "nope"));
	/* the bounds */
	cr_expect_eq(retain(&r, "a", "100000d", NULL, &bad, &why), 0);
	cr_expect_eq(retain(&r, "b", "1200m", NULL, &bad, &why), 0);
	cr_expect_eq(retain(&r, "c", "100y", NULL, &bad, &why), 0);
	cr_expect_eq(retain(&r, "d", "1d", NULL, &bad, &why), 0);
}

Test(retention, refuses_bad_declarations_naming_the_word)
{
	static const struct {
		const char *a, *b, *c;
		size_t bad;
	} t[] = {
		{ "Traffic", "7y", NULL, 0 },     { "", "7y", NULL, 0 },
		{ "a.b", "7y", NULL, 0 },         { "abcdefghijabcdefghijabcdefghijabc", "1d", NULL, 0 },
		{ "dup", "1d", NULL, 0 },         { "x", "0d", NULL, 1 },
		{ "x", "07y", NULL, 1 },          { "x", "101y", NULL, 1 },
		{ "x", "1201m", NULL, 1 },        { "x", "100001d", NULL, 1 },
		{ "x", "99999999999999999999d", NULL, 1 },
		{ "x", "7w", NULL, 1 },           { "x", "7", NULL, 1 },
		{ "x", "y", NULL, 1 },            { "x", "7yy", NULL, 1 },
		{ "x", "-7y", NULL, 1 },          { "x", "7y", "yearend", 2 },
	};
	struct cm_retention r;
	const char *why;
	size_t i, bad;

	memset(&r, 0, sizeof r);
	cr_assert_eq(retain(&r, "dup", "1d", NULL, &bad, &why), 0);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		why = NULL;
		bad = 99;
		cr_expect_eq(retain(&r, t[i].a, t[i].b, t[i].c, &bad, &why), -1, "case %zu", i);
		cr_expect_eq(bad, t[i].bad, "case %zu: word %zu", i, bad);
		cr_expect(why && *why, "case %zu: a reason", i);
	}
	cr_expect_eq(r.ncls, 1);
	/* word counts */
	{
		const char *w[4] = { "x", "1d", "year-end", "more" };

		cr_expect_eq(cm_retention_parse_retain(&r, w, 1, &bad, &why), -1);
		cr_expect_eq(cm_retention_parse_retain(&r, w, 4, &bad, &why), -1);
	}
	/* at most CM_RET_CLASSES_MAX */
	for (i = 1; i < CM_RET_CLASSES_MAX; i++) {
		char name[8];

		snprintf(name, sizeof name, "c%zu", i);
		cr_assert_eq(retain(&r, name, "1d", NULL, &bad, &why), 0);
	}
	cr_expect_eq(retain(&r, "onemore", "1d", NULL, &bad, &why), -1);
}

Test(retention, zones)
{
	cr_expect_eq(cm_retention_zone_ok("UTC"), 0);
	cr_expect_eq(cm_retention_zone_ok("Europe/Athens"), 0);
	cr_expect_eq(cm_retention_zone_ok("America/New_York"), 0);
	cr_expect_eq(cm_retention_zone_ok("Europe/Atlantis"), -1);
	cr_expect_eq(cm_retention_zone_ok("Atlantis"), -1);
	cr_expect_eq(cm_retention_zone_ok(""), -1);
	cr_expect_eq(cm_retention_zone_ok("/etc/localtime"), -1);
	cr_expect_eq(cm_retention_zone_ok("../../../etc/passwd"), -1);
	cr_expect_eq(cm_retention_zone_ok("Europe/../UTC"), -1);
	cr_expect_eq(cm_retention_zone_ok("Europe//Athens"), -1);
	cr_expect_eq(cm_retention_zone_ok("Europe"), -1);   /* a directory */
	cr_expect_eq(cm_retention_zone_ok("zone.tab"), -1); /* not a TZif file */
	cr_expect_eq(cm_retention_zone_ok("Europe/Athens "), -1);
}

Test(retention, civil_day_in_the_zone)
{
	struct cm_date d;

	/* 2019-12-31T23:30Z */
	cr_assert_eq(cm_retention_day("Europe/Athens", 1577835000, &d), 0);
	expect_date(d, 2020, 1, 1);
	cr_assert_eq(cm_retention_day("UTC", 1577835000, &d), 0);
	expect_date(d, 2019, 12, 31);
	cr_assert_eq(cm_retention_day("America/New_York", 1577835000, &d), 0);
	expect_date(d, 2019, 12, 31);
	cr_expect_eq(cm_retention_day("Europe/Atlantis", 1577835000, &d), -1);
	cr_expect_eq(cm_retention_day("../etc/passwd", 1577835000, &d), -1);
	cr_expect_eq(cm_retention_day("UTC", INT64_MAX, &d), -1);
	cr_assert_eq(cm_retention_day("UTC", 0, &d), 0);
	expect_date(d, 1970, 1, 1);
	cr_assert_eq(cm_retention_day("UTC", -1, &d), 0);
	expect_date(d, 1969, 12, 31);
}

Test(retention, dst_changes_move_midnight)
{
	static const struct {
		const char *zone;
		int64_t t;
		int y, m, d;
	} t[] = {
		/* Athens, 2024-03-31 03:00 +02 -> 04:00 +03 */
		{ "Europe/Athens", 1711835999, 2024, 3, 30 },
		{ "Europe/Athens", 1711836000, 2024, 3, 31 },
		{ "Europe/Athens", 1711918799, 2024, 3, 31 }, /* a day of 23 hours */
		{ "Europe/Athens", 1711918800, 2024, 4, 1 },
		/* Athens, 2024-10-27 04:00 +03 -> 03:00 +02 */
		{ "Europe/Athens", 1729976399, 2024, 10, 26 },
		{ "Europe/Athens", 1729976400, 2024, 10, 27 },
		{ "Europe/Athens", 1730066399, 2024, 10, 27 }, /* a day of 25 hours */
		{ "Europe/Athens", 1730066400, 2024, 10, 28 },
		/* New York, 2024-03-10 02:00 -05 -> 03:00 -04 */
		{ "America/New_York", 1710046799, 2024, 3, 9 },
		{ "America/New_York", 1710046800, 2024, 3, 10 },
		{ "America/New_York", 1710129599, 2024, 3, 10 },
		{ "America/New_York", 1710129600, 2024, 3, 11 },
	};
	struct cm_date d;
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		cr_assert_eq(cm_retention_day(t[i].zone, t[i].t, &d), 0);
		cr_expect(d.y == t[i].y && d.m == t[i].m && d.d == t[i].d, "case %zu", i);
	}
}

Test(retention, restores_tz)
{
	struct cm_date d;

	cr_assert_eq(setenv("TZ", "America/New_York", 1), 0);
	cr_assert_eq(cm_retention_day("Europe/Athens", 1577835000, &d), 0);
	cr_expect_str_eq(getenv("TZ"), "America/New_York");
	cr_assert_eq(unsetenv("TZ"), 0);
	cr_assert_eq(cm_retention_day("Europe/Athens", 1577835000, &d), 0);
	cr_expect_null(getenv("TZ"));
}

Test(retention, ends_of_the_header)
{
	struct cm_ret_class c;
	struct cm_date d;

	c = klass(24, CM_RET_MONTHS, 0);
	d = D(2024, 2, 29);
	expect_date(cm_retention_end(&c, &d), 2026, 2, 28);
	c = klass(1, CM_RET_MONTHS, 0);
	d = D(2024, 1, 31);
	expect_date(cm_retention_end(&c, &d), 2024, 2, 29);
	d = D(2023, 1, 31);
	expect_date(cm_retention_end(&c, &d), 2023, 2, 28);
	d = D(2024, 12, 31);
	expect_date(cm_retention_end(&c, &d), 2025, 1, 31);
	c = klass(60, CM_RET_DAYS, 0);
	d = D(2024, 1, 1);
	expect_date(cm_retention_end(&c, &d), 2024, 3, 1); /* 31 + 29 */
	d = D(2023, 1, 1);
	expect_date(cm_retention_end(&c, &d), 2023, 3, 2);
	d = D(2024, 12, 15);
	expect_date(cm_retention_end(&c, &d), 2025, 2, 13);
	c = klass(1, CM_RET_YEARS, 0);
	d = D(2024, 2, 29);
	expect_date(cm_retention_end(&c, &d), 2025, 2, 28);
	c = klass(10, CM_RET_YEARS, 0);
	d = D(2020, 1, 1);
	expect_date(cm_retention_end(&c, &d), 2030, 1, 1);
	/* year-end: counted from January 1 of the next year */
	c = klass(7, CM_RET_YEARS, 1);
	d = D(2019, 6, 1);
	expect_date(cm_retention_end(&c, &d), 2027, 1, 1);
	d = D(2019, 12, 31);
	expect_date(cm_retention_end(&c, &d), 2027, 1, 1);
	d = D(2020, 1, 1);
	expect_date(cm_retention_end(&c, &d), 2028, 1, 1);
	c = klass(3, CM_RET_MONTHS, 1);
	d = D(2024, 2, 29);
	expect_date(cm_retention_end(&c, &d), 2025, 4, 1);
	c = klass(100000, CM_RET_DAYS, 0);
	d = D(2024, 1, 1);
	expect_date(cm_retention_end(&c, &d), 2297, 10, 16);
}

Test(retention, athens_new_year_traffic)
{
	struct cm_retention r;
	const struct cm_ret_class *c;
	const char *why;
	struct cm_date d, end, today;
	size_t bad;

	memset(&r, 0, sizeof r);
	cr_assert_eq(retain(&r, "traffic", "7y", "year-end", &bad, &why), 0);
	c = cm_retention_find(&r, "traffic");
	cr_assert_eq(cm_retention_day("Europe/Athens", 1577835000, &d), 0); /* 2019-12-31T23:30Z */
	end = cm_retention_end(c, &d);
	expect_date(end, 2028, 1, 1);
	today = D(2027, 12, 31);
	cr_expect_eq(cm_retention_expired(c, &d, &today), 0);
	today = D(2028, 1, 1);
	cr_expect_eq(cm_retention_expired(c, &d, &today), 1);
	today = D(2030, 1, 1);
	cr_expect_eq(cm_retention_expired(c, &d, &today), 1);
	/* the same instant in UTC is a day of 2019: a year earlier */
	cr_assert_eq(cm_retention_day("UTC", 1577835000, &d), 0);
	expect_date(cm_retention_end(c, &d), 2027, 1, 1);
}

Test(retention, dates)
{
	static const char *bad[] = { "2023-02-29", "2024-13-01", "2024-00-10", "2024-01-00",
				     "2024-1-01",  "2024-01-1",  "2024-01-010", "2024/01/01",
				     "0000-01-01", "",           "2024-01-32", " 2024-01-01",
				     "2024-01-01 ", "+024-01-01", "2024-04-31" };
	struct cm_date d, e;
	char b[11];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_eq(cm_date_parse(bad[i], &d), -1, "%s", bad[i]);
	cr_assert_eq(cm_date_parse("2024-02-29", &d), 0);
	expect_date(d, 2024, 2, 29);
	cm_date_format(&d, b);
	cr_expect_str_eq(b, "2024-02-29");
	cr_assert_eq(cm_date_parse("0001-01-01", &d), 0);
	cm_date_format(&d, b);
	cr_expect_str_eq(b, "0001-01-01");
	cr_assert_eq(cm_date_parse("9999-12-31", &e), 0);
	cr_expect_eq(cm_date_cmp(&d, &e), -1);
	cr_expect_eq(cm_date_cmp(&e, &d), 1);
	cr_expect_eq(cm_date_cmp(&e, &e), 0);
	d = D(2024, 2, 1);
	e = D(2024, 1, 31);
	cr_expect_eq(cm_date_cmp(&d, &e), 1);
}

/* ------------------------------------------------------------------ store */

static char tdir[64], sdir[96];
static unsigned char skey[CM_STORE_KEYBYTES], okey[CM_STORE_KEYBYTES];
static struct cm_retention pol;

static void declare(struct cm_retention *r, const char *name, const char *period,
		    const char *year_end)
{
	const char *why = NULL;
	size_t bad;

	cr_assert_eq(retain(r, name, period, year_end, &bad, &why), 0, "%s", why ? why : "");
}

static void store_setup(void)
{
	int i;

	strcpy(tdir, "/tmp/cdrmin-store-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
	snprintf(sdir, sizeof sdir, "%s/store", tdir);
	cr_assert_geq(sodium_init(), 0);
	for (i = 0; i < CM_STORE_KEYBYTES; i++) {
		skey[i] = (unsigned char)(3 * i + 1);
		okey[i] = (unsigned char)(0x5a ^ i);
	}
	memset(&pol, 0, sizeof pol);
	strcpy(pol.zone, "Europe/Athens");
	declare(&pol, "traffic", "7y", "year-end");
	declare(&pol, "billing", "10y", NULL);
	declare(&pol, "sms", "24m", NULL);
	declare(&pol, "logs", "60d", NULL);
	declare(&pol, "quarantine", "30d", NULL);
}

static void store_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tdir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(store, .init = store_setup, .fini = store_teardown);

static struct cm_store *open_store(const char *kid, enum cm_sync_policy sync, uint64_t n,
				   unsigned ms, size_t open_max, const struct cm_retention *r)
{
	struct cm_store_opts o;
	struct cm_store *s;
	struct cm_err e = { 0 };

	memset(&o, 0, sizeof o);
	o.dir = sdir;
	o.key = skey;
	o.key_id = kid;
	o.sync = sync;
	o.sync_records = n;
	o.sync_ms = ms;
	o.open_max = open_max;
	s = cm_store_open(&o, r ? r : &pol, &e);
	cr_assert_not_null(s, "open: %s", e.msg);
	return s;
}

/* One put, as remembered by the test. */
struct put {
	char cls[33], period[33];
	int rejected;
	enum cm_reject reason;
	uint64_t epoch, line;
	int64_t time;
	char source[32], original[96], output[96];
};

#define PUTS_MAX 512
static struct put puts_[PUTS_MAX];
static size_t nputs;

static void make_put(struct put *p, const char *cls, const char *period, uint64_t i)
{
	memset(p, 0, sizeof *p);
	snprintf(p->cls, sizeof p->cls, "%s", cls);
	snprintf(p->period, sizeof p->period, "%s", period);
	p->rejected = strcmp(cls, CM_STORE_QUARANTINE) == 0;
	p->reason = p->rejected ? (enum cm_reject)(i % CM_REJ__COUNT) : (enum cm_reject)0;
	p->epoch = p->rejected ? 0 : 1000 + i;
	p->line = 10 * i + 1;
	p->time = i % 7 == 0 ? 0 : (int64_t)1577835000 + (int64_t)i * 3600;
	snprintf(p->source, sizeof p->source, "in-%llu.csv", (unsigned long long)(i % 3));
	/* some empty originals and outputs, and bytes of every value */
	if (i % 11 != 5)
		snprintf(p->original, sizeof p->original, "SECRET-%llu,+15550100%02llu,%s,\x01\xff",
			 (unsigned long long)i, (unsigned long long)(i % 100), cls);
	if (!p->rejected && i % 13 != 4)
		snprintf(p->output, sizeof p->output, "tok-%llu,%s", (unsigned long long)i * 7,
			 period);
}

static void to_rec(const struct put *p, struct cm_store_rec *r)
{
	memset(r, 0, sizeof *r);
	r->rejected = p->rejected;
	r->reason = p->reason;
	r->epoch = p->epoch;
	r->time = p->time;
	r->line = p->line;
	r->source.p = p->source;
	r->source.n = strlen(p->source);
	r->original.p = p->original;
	r->original.n = strlen(p->original);
	r->output.p = p->output;
	r->output.n = strlen(p->output);
}

static void put_one(struct cm_store *s, const char *cls, const char *period)
{
	struct cm_store_rec r;
	struct cm_err e = { 0 };
	struct put *p;

	cr_assert_lt(nputs, PUTS_MAX);
	p = &puts_[nputs];
	make_put(p, cls, period, nputs);
	nputs++;
	to_rec(p, &r);
	cr_assert_eq(cm_store_put(s, cls, period, &r, &e), 0, "put: %s", e.msg);
}

/* What a walk gave back. */
struct got {
	struct put v[PUTS_MAX];
	size_t n;
	size_t segs, ends, unclosed, bad;
	char last_seg[33];
};

static int collect(void *ud, const struct cm_store_seg *seg, const struct cm_store_rec *rec,
		   int status)
{
	struct got *g = ud;
	struct put *p;

	if (strcmp(g->last_seg, seg->info->idhex) != 0) {
		g->segs++;
		snprintf(g->last_seg, sizeof g->last_seg, "%s", seg->info->idhex);
	}
	if (!rec) {
		cr_expect(status == CM_SEG_END || status == CM_SEG_UNCLOSED);
		if (status == CM_SEG_END)
			g->ends++;
		else
			g->unclosed++;
		return 0;
	}
	cr_expect_eq(status, CM_SEG_FRAME);
	cr_assert_lt(g->n, PUTS_MAX);
	cr_assert_lt(rec->source.n, sizeof p->source);
	cr_assert_lt(rec->original.n, sizeof p->original);
	cr_assert_lt(rec->output.n, sizeof p->output);
	p = &g->v[g->n++];
	memset(p, 0, sizeof *p);
	snprintf(p->cls, sizeof p->cls, "%s", seg->info->cls);
	snprintf(p->period, sizeof p->period, "%s", seg->info->period);
	p->rejected = rec->rejected;
	p->reason = rec->reason;
	p->epoch = rec->epoch;
	p->line = rec->line;
	p->time = rec->time;
	memcpy(p->source, rec->source.p, rec->source.n);
	memcpy(p->original, rec->original.p, rec->original.n);
	memcpy(p->output, rec->output.p, rec->output.n);
	return 0;
}

static void count_bad(void *ud, const struct cm_store_seg *seg, const struct cm_err *err)
{
	struct got *g = ud;

	(void)seg;
	cr_expect_null(strstr(err->msg, "SECRET"));
	g->bad++;
}

static void walk(struct got *g, const unsigned char *key, const char *cls)
{
	struct cm_err e = { 0 };

	memset(g, 0, sizeof *g);
	cr_assert_eq(cm_store_walk(sdir, key, cls, collect, count_bad, g, &e), 0, "walk: %s",
		     e.msg);
}

static int put_eq(const struct put *a, const struct put *b)
{
	return strcmp(a->cls, b->cls) == 0 && strcmp(a->period, b->period) == 0 &&
	       a->rejected == b->rejected && a->reason == b->reason && a->epoch == b->epoch &&
	       a->line == b->line && a->time == b->time && strcmp(a->source, b->source) == 0 &&
	       strcmp(a->original, b->original) == 0 && strcmp(a->output, b->output) == 0;
}

static int cmp_key(const struct put *a, const struct put *b)
{
	int c = strcmp(a->cls, b->cls);

	return c ? c : strcmp(a->period, b->period);
}

/* The walk gave puts_[0..nputs) (those for which keep says so) in class, day, put order. */
static void expect_all_back(const struct got *g, int (*keep)(const struct put *))
{
	static struct put want[PUTS_MAX];
	size_t i, j, n = 0;
	struct put t;

	for (i = 0; i < nputs; i++)
		if (!keep || keep(&puts_[i]))
			want[n++] = puts_[i];
	/* a stable insertion sort by (class, day) keeps the put order within a day */
	for (i = 1; i < n; i++) {
		t = want[i];
		for (j = i; j > 0 && cmp_key(&want[j - 1], &t) > 0; j--)
			want[j] = want[j - 1];
		want[j] = t;
	}
	cr_assert_eq(g->n, n, "records back: %zu of %zu", g->n, n);
	for (i = 0; i < n; i++)
		cr_expect(put_eq(&g->v[i], &want[i]), "record %zu differs (%s/%s line %llu)", i,
			  want[i].cls, want[i].period, (unsigned long long)want[i].line);
}

/* The mode of sdir/rel ("" for sdir itself). */
static mode_t mode_of(const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof p, "%s%s%s", sdir, *rel ? "/" : "", rel);
	cr_assert_eq(stat(p, &st), 0, "%s", p);
	return st.st_mode & 07777;
}

static size_t count_files(const char *dir, const char *suffix)
{
	char cmd[512];
	FILE *f;
	size_t n = 0;

	snprintf(cmd, sizeof cmd, "find '%s' -type f -name '*%s' | wc -l", dir, suffix);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%zu", &n), 1);
	pclose(f);
	return n;
}

static void read_file(const char *name, char *b, size_t cap)
{
	char p[256];
	FILE *f;
	size_t n;

	snprintf(p, sizeof p, "%s/%s", sdir, name);
	f = fopen(p, "r");
	cr_assert_not_null(f, "%s", p);
	n = fread(b, 1, cap - 1, f);
	b[n] = '\0';
	fclose(f);
}

Test(store, round_trip_in_order_with_evictions)
{
	static const char *cls[] = { "traffic", "sms", "quarantine", "logs", "billing" };
	static const char *days[] = { "2024-01-02", "2019-12-31", "2024-01-01" };
	struct cm_store *s;
	struct cm_err e = { 0 };
	struct got *g = calloc(1, sizeof *g);
	char b[512];
	size_t i;

	cr_assert_not_null(g);
	/* open_max 2: a (class, day) evicted and met again gets a second segment */
	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 2, NULL);
	for (i = 0; i < 120; i++)
		put_one(s, cls[(i * 7 / 3) % 5], days[(i / 2) % 3]);
	cr_expect_eq(cm_store_stats(s)->records + cm_store_stats(s)->rejected, 120);
	cr_expect_gt(cm_store_stats(s)->rejected, 0);
	/* CM_SYNC_CLOSE: only the segments evicted (closed) so far are durable */
	cr_expect_lt(cm_store_stats(s)->durable, 120);
	cr_expect_gt(cm_store_stats(s)->segments, 15);
	cr_expect_eq(cm_store_stats(s)->recovered, 0);
	cr_assert_eq(cm_store_close(s, &e), 0, "%s", e.msg);

	walk(g, skey, NULL);
	expect_all_back(g, NULL);
	cr_expect_eq(g->bad, 0);
	cr_expect_eq(g->unclosed, 0);
	cr_expect_eq(g->ends, g->segs);

	/* one class */
	walk(g, skey, "sms");
	for (i = 0; i < g->n; i++)
		cr_expect_str_eq(g->v[i].cls, "sms");
	cr_expect_gt(g->n, 0);
	walk(g, skey, "nothere");
	cr_expect_eq(g->n, 0);

	/* modes and files */
	cr_expect_eq(mode_of(""), 0700);
	cr_expect_eq(mode_of("STORE"), 0600);
	cr_expect_eq(mode_of("policy"), 0600);
	cr_expect_eq(mode_of("seg"), 0700);
	cr_expect_eq(mode_of("torn"), 0700);
	cr_expect_eq(mode_of("seg/sms"), 0700);
	cr_expect_eq(mode_of("seg/sms/2024-01-01"), 0700);
	read_file("STORE", b, sizeof b);
	cr_expect_str_eq(b, "cdrmin store 1\nkey ABCD\n");
	free(g);
}

Test(store, policy_file_round_trip)
{
	struct cm_store *s;
	struct cm_retention r;
	struct cm_err e = { 0 };
	char b[1024];
	size_t i;

	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	cr_assert_eq(cm_store_close(s, &e), 0);
	read_file("policy", b, sizeof b);
	cr_expect_not_null(strstr(b, "\nzone Europe/Athens\nretain traffic 7y year-end\n"
				     "retain billing 10y\nretain sms 24m\nretain logs 60d\n"
				     "retain quarantine 30d\n"));
	cr_assert_eq(cm_store_policy(sdir, &r, &e), 0, "%s", e.msg);
	cr_expect_str_eq(r.zone, "Europe/Athens");
	cr_assert_eq(r.ncls, pol.ncls);
	for (i = 0; i < r.ncls; i++)
		cr_expect_eq(memcmp(&r.cls[i], &pol.cls[i], sizeof r.cls[i]), 0);
	/* a damaged policy is a data error naming the line */
	snprintf(b, sizeof b, "%s/policy", sdir);
	{
		FILE *f = fopen(b, "w");

		cr_assert_not_null(f);
		fputs("zone UTC\nretain sms 24x\n", f);
		fclose(f);
	}
	cr_expect_eq(cm_store_policy(sdir, &r, &e), CM_FAIL);
	cr_expect_eq(e.code, CM_E_DATA);
	cr_expect_eq(e.line, 2);
	snprintf(b, sizeof b, "%s/nostore", tdir);
	cr_expect_eq(cm_store_policy(b, &r, &e), CM_FAIL);
	cr_expect_eq(e.code, CM_E_NOINPUT);
}

Test(store, sync_policies_count_durable_frames)
{
	struct cm_store *s;
	struct cm_err e = { 0 };
	int i;

	s = open_store("ABCD", CM_SYNC_RECORDS, 3, 0, 0, NULL);
	for (i = 0; i < 7; i++)
		put_one(s, i % 2 ? "sms" : "logs", "2024-05-05");
	cr_expect_eq(cm_store_stats(s)->durable, 6);
	cr_expect_eq(cm_store_tick(s, &e), 0);
	cr_expect_eq(cm_store_stats(s)->durable, 6);
	put_one(s, "logs", "2024-05-06");
	put_one(s, "logs", "2024-05-06");
	cr_expect_eq(cm_store_stats(s)->durable, 9);
	cr_assert_eq(cm_store_close(s, &e), 0);

	s = open_store("ABCD", CM_SYNC_RECORDS, 1, 0, 0, NULL);
	for (i = 0; i < 5; i++) {
		put_one(s, "sms", "2024-05-05");
		cr_expect_eq(cm_store_stats(s)->durable, (uint64_t)i + 1);
	}
	cr_assert_eq(cm_store_close(s, &e), 0);

	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 1, NULL);
	put_one(s, "sms", "2024-05-05");
	put_one(s, "sms", "2024-05-05");
	cr_expect_eq(cm_store_stats(s)->durable, 0);
	put_one(s, "logs", "2024-05-05"); /* evicts sms: closed, so durable */
	cr_expect_eq(cm_store_stats(s)->durable, 2);
	cr_assert_eq(cm_store_close(s, &e), 0);

	s = open_store("ABCD", CM_SYNC_MS, 0, 200, 0, NULL);
	put_one(s, "sms", "2024-05-05");
	put_one(s, "logs", "2024-05-05");
	cr_expect_eq(cm_store_stats(s)->durable, 0);
	cr_expect_eq(cm_store_tick(s, &e), 0);
	cr_expect_eq(cm_store_stats(s)->durable, 0);
	usleep(250 * 1000);
	cr_expect_eq(cm_store_tick(s, &e), 0);
	cr_expect_eq(cm_store_stats(s)->durable, 2);
	put_one(s, "sms", "2024-05-05");
	cr_expect_eq(cm_store_stats(s)->durable, 2);
	usleep(250 * 1000);
	put_one(s, "sms", "2024-05-05"); /* the time is up: the put syncs */
	cr_expect_eq(cm_store_stats(s)->durable, 4);
	cr_assert_eq(cm_store_close(s, &e), 0);

	s = open_store("ABCD", CM_SYNC_MS, 0, 0, 0, NULL);
	put_one(s, "sms", "2024-05-05");
	cr_expect_eq(cm_store_stats(s)->durable, 1);
	cr_assert_eq(cm_store_close(s, &e), 0);
}

/* Writes puts with a sync after each record in a child that dies without closing. */
static void crash_writer(size_t per, const char *const *cls, const char *const *days, size_t n)
{
	pid_t pid;
	int st;
	size_t i, k;

	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct cm_store_opts o;
		struct cm_store *s;
		struct cm_store_rec r;
		struct put p;

		memset(&o, 0, sizeof o);
		o.dir = sdir;
		o.key = skey;
		o.key_id = "ABCD";
		o.sync = CM_SYNC_RECORDS;
		o.sync_records = 1;
		s = cm_store_open(&o, &pol, NULL);
		if (!s)
			_exit(3);
		for (i = 0; i < per; i++)
			for (k = 0; k < n; k++) {
				make_put(&p, cls[k], days[k], nputs + i * n + k);
				to_rec(&p, &r);
				if (cm_store_put(s, cls[k], days[k], &r, NULL) != 0)
					_exit(4);
			}
		if (cm_store_stats(s)->durable != per * n)
			_exit(5);
		_exit(0); /* no close: every segment stays unclosed */
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer status %d", st);
	/* the parent's list, in the same order */
	for (i = 0; i < per; i++)
		for (k = 0; k < n; k++) {
			make_put(&puts_[nputs + i * n + k], cls[k], days[k], nputs + i * n + k);
		}
	nputs += per * n;
}

Test(store, reopen_after_a_crash_recovers)
{
	static const char *const cls[] = { "traffic", "sms", "quarantine" };
	static const char *const days[] = { "2024-01-01", "2024-01-01", "2024-01-02" };
	struct cm_store *s;
	struct cm_err e = { 0 };
	struct got *g = calloc(1, sizeof *g);
	char p[256], cmd[512];
	FILE *f;

	cr_assert_not_null(g);
	crash_writer(5, cls, days, 3);
	walk(g, skey, NULL);
	cr_expect_eq(g->unclosed, 3);
	expect_all_back(g, NULL);

	/* a torn frame at the end of one segment */
	snprintf(cmd, sizeof cmd, "ls %s/seg/sms/2024-01-01/*.seg", sdir);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(p, sizeof p, f));
	pclose(f);
	p[strcspn(p, "\n")] = '\0';
	f = fopen(p, "a");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite("\x00\x00\x01\x00torn", 1, 8, f), 8); /* a frame cut short */
	fclose(f);

	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	cr_expect_eq(cm_store_stats(s)->recovered, 3);
	put_one(s, "sms", "2024-01-01");
	cr_assert_eq(cm_store_close(s, &e), 0, "%s", e.msg);
	snprintf(p, sizeof p, "%s/torn", sdir);
	cr_expect_eq(count_files(p, ".torn"), 1);

	walk(g, skey, NULL);
	cr_expect_eq(g->bad, 0);
	cr_expect_eq(g->unclosed, 0);
	cr_expect_eq(g->ends, 4);
	expect_all_back(g, NULL);

	/* nothing more to recover */
	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	cr_expect_eq(cm_store_stats(s)->recovered, 0);
	cr_assert_eq(cm_store_close(s, &e), 0);
	free(g);
}

Test(store, a_second_crash_is_recovered_too)
{
	static const char *const cls[] = { "logs" };
	static const char *const days[] = { "2024-02-02" };
	struct cm_store *s;
	struct cm_err e = { 0 };
	struct got *g = calloc(1, sizeof *g);

	cr_assert_not_null(g);
	crash_writer(3, cls, days, 1);
	crash_writer(4, cls, days, 1); /* its open recovers the first */
	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	cr_expect_eq(cm_store_stats(s)->recovered, 1);
	cr_assert_eq(cm_store_close(s, &e), 0);
	walk(g, skey, NULL);
	cr_expect_eq(g->segs, 2);
	expect_all_back(g, NULL);
	free(g);
}

Test(store, wrong_key_is_refused)
{
	struct cm_store *s;
	struct cm_store_opts o;
	struct cm_err e = { 0 };
	struct got *g = calloc(1, sizeof *g);
	char p[256];
	int fd;

	cr_assert_not_null(g);
	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	put_one(s, "sms", "2024-01-01");
	put_one(s, "logs", "2024-01-01");
	cr_assert_eq(cm_store_close(s, &e), 0);

	memset(&o, 0, sizeof o);
	o.dir = sdir;
	o.key = okey;
	o.key_id = "WXYZ";
	cr_expect_null(cm_store_open(&o, &pol, &e));
	cr_expect_eq(e.code, CM_E_KEY);
	cr_expect_not_null(strstr(e.msg, "ABCD"));

	/* the right id with other bytes: every segment is reported, none read */
	memset(g, 0, sizeof *g);
	cr_expect_eq(cm_store_walk(sdir, okey, NULL, collect, count_bad, g, &e), 0);
	cr_expect_eq(g->n, 0);
	cr_expect_eq(g->bad, 2);

	/* a directory that is not a store is not taken */
	snprintf(p, sizeof p, "%s/other", tdir);
	cr_assert_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/other/file", tdir);
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(p, sizeof p, "%s/other", tdir);
	o.dir = p;
	o.key = skey;
	o.key_id = "ABCD";
	cr_expect_null(cm_store_open(&o, &pol, &e));
	cr_expect_eq(e.code, CM_E_USAGE);
	cr_expect_eq(cm_store_walk(p, skey, NULL, collect, count_bad, g, &e), CM_FAIL);
	cr_expect_eq(e.code, CM_E_NOINPUT);
	free(g);
}

Test(store, put_checks_its_arguments)
{
	struct cm_store *s;
	struct cm_store_rec r;
	struct cm_err e = { 0 };
	struct put p;

	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	make_put(&p, "sms", "2024-01-01", 1);
	to_rec(&p, &r);
	cr_expect_eq(cm_store_put(s, "SMS", "2024-01-01", &r, &e), CM_FAIL);
	cr_expect_eq(e.code, CM_E_USAGE);
	cr_expect_eq(cm_store_put(s, "sms", "2024-02-30", &r, &e), CM_FAIL);
	cr_expect_eq(cm_store_put(s, "sms", "../../x", &r, &e), CM_FAIL);
	cr_expect_eq(cm_store_put(s, CM_STORE_QUARANTINE, "2024-01-01", &r, &e), CM_FAIL);
	r.rejected = 1;
	cr_expect_eq(cm_store_put(s, "sms", "2024-01-01", &r, &e), CM_FAIL);
	r.reason = CM_REJ__COUNT;
	cr_expect_eq(cm_store_put(s, CM_STORE_QUARANTINE, "2024-01-01", &r, &e), CM_FAIL);
	r.rejected = 0;
	r.source.n = 70000;
	cr_expect_eq(cm_store_put(s, "sms", "2024-01-01", &r, &e), CM_FAIL);
	cr_expect_eq(e.code, CM_E_USAGE);
	cr_expect_eq(cm_store_stats(s)->segments, 0);
	cr_assert_eq(cm_store_close(s, &e), 0);
}

Test(store, frames_decode_strictly)
{
	struct cm_store_rec r, d;
	struct cm_buf b;
	struct put p;
	size_t i;

	cm_buf_init(&b);
	make_put(&p, "sms", "2024-01-01", 3);
	to_rec(&p, &r);
	cm_store_rec_encode(&r, &b);
	cr_assert_eq(b.n, 37 + r.source.n + r.original.n + r.output.n);
	cr_assert_eq(cm_store_rec_decode(b.p, b.n, &d), 0);
	cr_expect(d.rejected == 0 && d.epoch == r.epoch && d.time == r.time && d.line == r.line);
	cr_expect(d.source.n == r.source.n && memcmp(d.source.p, r.source.p, r.source.n) == 0);
	cr_expect(d.original.n == r.original.n &&
		  memcmp(d.original.p, r.original.p, r.original.n) == 0);
	cr_expect(d.output.n == r.output.n && memcmp(d.output.p, r.output.p, r.output.n) == 0);
	/* the documented layout */
	cr_expect_eq((unsigned char)b.p[0], 1);
	cr_expect_eq((unsigned char)b.p[1], 0);
	cr_expect_eq((unsigned char)b.p[2], 255);
	cr_expect_eq((unsigned char)b.p[18], (unsigned char)r.time);
	cr_expect_eq((unsigned char)b.p[19], 0);
	cr_expect_eq((unsigned char)b.p[20], r.source.n);
	for (i = 0; i < b.n; i++)
		cr_expect_eq(cm_store_rec_decode(b.p, i, &d), -1, "cut at %zu", i);
	cm_buf_addc(&b, 'x');
	cr_expect_eq(cm_store_rec_decode(b.p, b.n, &d), -1);
	b.n--;
	b.p[0] = 2;
	cr_expect_eq(cm_store_rec_decode(b.p, b.n, &d), -1);
	b.p[0] = 1;
	b.p[1] = 2;
	cr_expect_eq(cm_store_rec_decode(b.p, b.n, &d), -1);
	b.p[1] = 1; /* rejected: needs a reason and no output */
	cr_expect_eq(cm_store_rec_decode(b.p, b.n, &d), -1);
	b.p[1] = 0;
	b.p[2] = 3; /* a record with a reason */
	cr_expect_eq(cm_store_rec_decode(b.p, b.n, &d), -1);

	make_put(&p, CM_STORE_QUARANTINE, "2024-01-01", 4);
	to_rec(&p, &r);
	cm_store_rec_encode(&r, &b);
	cr_assert_eq(cm_store_rec_decode(b.p, b.n, &d), 0);
	cr_expect(d.rejected == 1 && d.reason == r.reason && d.output.n == 0);
	b.p[2] = (char)CM_REJ__COUNT;
	cr_expect_eq(cm_store_rec_decode(b.p, b.n, &d), -1);
	cm_buf_deinit(&b);
}

/* Purge results, by "class/period". */
struct purged {
	char v[64][48];
	char why[64][48];
	int destroyed[64];
	size_t n;
};

static void on_purge(void *ud, const char *cls, const char *period, const char *idhex,
		     int destroyed, const char *why)
{
	struct purged *p = ud;

	cr_assert_eq(strlen(idhex), 32);
	cr_assert_lt(p->n, 64);
	cr_expect(destroyed ? why == NULL : why != NULL);
	snprintf(p->v[p->n], sizeof p->v[0], "%s/%s", cls, period);
	snprintf(p->why[p->n], sizeof p->why[0], "%s", why ? why : "");
	p->destroyed[p->n] = destroyed;
	p->n++;
}

/* How the segments of cls/period fared: 1 destroyed, 0 kept, -1 not looked at. */
static int fate(const struct purged *p, const char *cp, const char **why)
{
	size_t i;
	int f = -1;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i], cp) == 0) {
			cr_expect(f == -1 || f == p->destroyed[i], "one fate per directory");
			f = p->destroyed[i];
			if (why)
				*why = p->why[i];
		}
	return f;
}

static void purge(const char *today, struct purged *p)
{
	struct cm_date d;
	struct cm_err e = { 0 };

	memset(p, 0, sizeof *p);
	cr_assert_eq(cm_date_parse(today, &d), 0);
	cr_assert_eq(cm_store_purge(sdir, &d, on_purge, p, &e), 0, "purge: %s", e.msg);
}

static int exists(const char *rel)
{
	char p[256];
	struct stat st;

	snprintf(p, sizeof p, "%s/%s", sdir, rel);
	return stat(p, &st) == 0;
}

Test(store, purge_destroys_exactly_the_expired_segments)
{
	struct cm_store *s;
	struct cm_err e = { 0 };
	struct purged *p = calloc(1, sizeof *p);
	struct got *g = calloc(1, sizeof *g);
	const char *why = NULL;

	cr_assert(p && g);
	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	put_one(s, "logs", "2024-01-01");       /* ends 2024-03-01 */
	put_one(s, "logs", "2024-01-02");       /* ends 2024-03-02 */
	put_one(s, "sms", "2024-02-29");        /* ends 2026-02-28 */
	put_one(s, "traffic", "2019-06-01");    /* ends 2027-01-01 */
	put_one(s, "traffic", "2020-01-01");    /* ends 2028-01-01 */
	put_one(s, "quarantine", "2024-01-01"); /* 30d: ends 2024-01-31 */
	cr_assert_eq(cm_store_close(s, &e), 0);
	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL); /* a second segment of a day */
	put_one(s, "logs", "2024-01-01");
	cr_assert_eq(cm_store_close(s, &e), 0);

	purge("2024-01-30", p);
	cr_expect_eq(p->n, 7);
	cr_expect_eq(fate(p, "quarantine/2024-01-01", &why), 0);
	cr_expect_str_eq(why, "retained until 2024-01-31");
	purge("2024-01-31", p);
	cr_expect_eq(fate(p, "quarantine/2024-01-01", NULL), 1);
	cr_expect_eq(fate(p, "logs/2024-01-01", NULL), 0);
	cr_expect_not(exists("seg/quarantine/2024-01-01"));
	cr_expect(exists("seg/quarantine"));

	purge("2024-02-29", p);
	cr_expect_eq(fate(p, "logs/2024-01-01", NULL), 0);
	purge("2024-03-01", p);
	cr_expect_eq(p->n, 6); /* both segments of logs/2024-01-01 */
	cr_expect_eq(fate(p, "logs/2024-01-01", NULL), 1);
	cr_expect_eq(fate(p, "logs/2024-01-02", NULL), 0);
	cr_expect_eq(fate(p, "sms/2024-02-29", NULL), 0);
	cr_expect_not(exists("seg/logs/2024-01-01"));
	purge("2024-03-02", p);
	cr_expect_eq(fate(p, "logs/2024-01-02", NULL), 1);
	cr_expect_eq(fate(p, "logs/2024-01-01", NULL), -1);

	purge("2026-02-27", p);
	cr_expect_eq(fate(p, "sms/2024-02-29", NULL), 0);
	purge("2026-02-28", p);
	cr_expect_eq(fate(p, "sms/2024-02-29", NULL), 1);

	purge("2026-12-31", p);
	cr_expect_eq(fate(p, "traffic/2019-06-01", NULL), 0);
	purge("2027-01-01", p);
	cr_expect_eq(fate(p, "traffic/2019-06-01", NULL), 1);
	cr_expect_eq(fate(p, "traffic/2020-01-01", &why), 0);
	cr_expect_str_eq(why, "retained until 2028-01-01");

	walk(g, skey, NULL);
	cr_assert_eq(g->n, 1);
	cr_expect_str_eq(g->v[0].period, "2020-01-01");
	purge("2028-01-01", p);
	cr_expect_eq(fate(p, "traffic/2020-01-01", NULL), 1);
	walk(g, skey, NULL);
	cr_expect_eq(g->n, 0);
	free(p);
	free(g);
}

Test(store, holds_block_purging_and_release_lifts_them)
{
	struct cm_store *s;
	struct cm_err e = { 0 };
	struct cm_date d;
	struct purged *p = calloc(1, sizeof *p);
	struct got *g = calloc(1, sizeof *g);
	const char *why = NULL;
	char b[512];

	cr_assert(p && g);
	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	put_one(s, "logs", "2024-01-01");
	put_one(s, "logs", "2024-01-02");
	put_one(s, "logs", "2024-01-03");
	put_one(s, "sms", "2020-01-01");
	cr_assert_eq(cm_store_close(s, &e), 0);

	cr_assert_eq(cm_store_hold(sdir, "logs", "2024-01-02", "2024-01-02", 0, &e), 0, "%s",
		     e.msg);
	cr_assert_eq(cm_store_hold(sdir, "logs", "2024-01-02", "2024-01-02", 0, &e), 0);
	cr_assert_eq(cm_store_hold(sdir, "sms", NULL, NULL, 0, &e), 0);
	cr_assert_eq(cm_store_hold(sdir, "traffic", "2020-01-01", NULL, 0, &e), 0);
	read_file("holds", b, sizeof b);
	cr_expect_str_eq(b, "logs 2024-01-02 2024-01-02\nsms - -\ntraffic 2020-01-01 -\n");
	cr_expect_eq(mode_of("holds"), 0600);
	/* bad holds */
	cr_expect_eq(cm_store_hold(sdir, "logs", "2024-01-03", "2024-01-02", 0, &e), CM_FAIL);
	cr_expect_eq(e.code, CM_E_USAGE);
	cr_expect_eq(cm_store_hold(sdir, "logs", "2024-1-03", NULL, 0, &e), CM_FAIL);
	cr_expect_eq(cm_store_hold(sdir, "Logs", NULL, NULL, 0, &e), CM_FAIL);
	cr_expect_eq(cm_store_hold(sdir, "logs", NULL, NULL, 1, &e), CM_FAIL);
	cr_expect_eq(e.code, CM_E_NOINPUT);

	cm_date_parse("2024-01-02", &d);
	cr_expect_eq(cm_store_held(sdir, "logs", &d), 1);
	cm_date_parse("2024-01-03", &d);
	cr_expect_eq(cm_store_held(sdir, "logs", &d), 0);
	cr_expect_eq(cm_store_held(sdir, "sms", &d), 1);
	cr_expect_eq(cm_store_held(sdir, "traffic", &d), 1);
	cm_date_parse("2019-12-31", &d);
	cr_expect_eq(cm_store_held(sdir, "traffic", &d), 0);

	purge("2030-01-01", p);
	cr_expect_eq(fate(p, "logs/2024-01-01", NULL), 1);
	cr_expect_eq(fate(p, "logs/2024-01-02", &why), 0);
	cr_expect_str_eq(why, "under a legal hold");
	cr_expect_eq(fate(p, "logs/2024-01-03", NULL), 1);
	cr_expect_eq(fate(p, "sms/2020-01-01", &why), 0);
	cr_expect_str_eq(why, "under a legal hold");

	cr_assert_eq(cm_store_hold(sdir, "sms", NULL, NULL, 1, &e), 0, "%s", e.msg);
	read_file("holds", b, sizeof b);
	cr_expect_str_eq(b, "logs 2024-01-02 2024-01-02\ntraffic 2020-01-01 -\n");
	purge("2030-01-01", p);
	cr_expect_eq(fate(p, "sms/2020-01-01", NULL), 1);
	cr_expect_eq(fate(p, "logs/2024-01-02", NULL), 0);
	cr_assert_eq(cm_store_hold(sdir, "logs", "2024-01-02", "2024-01-02", 1, &e), 0);
	purge("2030-01-01", p);
	cr_expect_eq(fate(p, "logs/2024-01-02", NULL), 1);
	walk(g, skey, NULL);
	cr_expect_eq(g->n, 0);

	/* holds that cannot be read hold everything, and stop a purge */
	snprintf(b, sizeof b, "%s/holds", sdir);
	{
		FILE *f = fopen(b, "w");

		cr_assert_not_null(f);
		fputs("logs 2024-01-02\n", f);
		fclose(f);
	}
	cm_date_parse("2024-01-03", &d);
	cr_expect_eq(cm_store_held(sdir, "sms", &d), 1);
	cr_expect_eq(cm_store_purge(sdir, &d, NULL, NULL, &e), CM_FAIL);
	cr_expect_eq(e.code, CM_E_DATA);
	free(p);
	free(g);
}

Test(store, the_policy_of_the_last_run_rules_the_purge)
{
	struct cm_store *s;
	struct cm_err e = { 0 };
	struct cm_retention shorter;
	struct purged *p = calloc(1, sizeof *p);
	const char *why = NULL;

	cr_assert_not_null(p);
	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	put_one(s, "logs", "2024-01-01");
	put_one(s, "sms", "2024-01-01");
	put_one(s, "quarantine", "2024-01-01");
	cr_assert_eq(cm_store_close(s, &e), 0);
	purge("2024-01-20", p);
	cr_expect_eq(fate(p, "logs/2024-01-01", NULL), 0);

	/* the next run: logs 10d, sms no longer declared, quarantine not declared */
	memset(&shorter, 0, sizeof shorter);
	strcpy(shorter.zone, "UTC");
	declare(&shorter, "logs", "10d", NULL);
	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, &shorter);
	cr_assert_eq(cm_store_close(s, &e), 0);
	purge("2024-01-20", p);
	cr_expect_eq(fate(p, "logs/2024-01-01", NULL), 1);
	cr_expect_eq(fate(p, "sms/2024-01-01", &why), 0);
	cr_expect_str_eq(why, "class not in the policy");
	purge("2099-01-01", p);
	cr_expect_eq(fate(p, "sms/2024-01-01", NULL), 0);
	cr_expect_eq(fate(p, "quarantine/2024-01-01", &why), 0);
	cr_expect_str_eq(why, "class not in the policy");
	free(p);
}

Test(store, audit_appends_lines)
{
	struct cm_store *s;
	struct cm_err e = { 0 };
	char b[512];

	cr_expect_eq(cm_store_audit(sdir, "find before the store", &e), CM_FAIL);
	cr_expect_eq(e.code, CM_E_NOINPUT);
	s = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	cr_assert_eq(cm_store_close(s, &e), 0);
	cr_assert_eq(cm_store_audit(sdir, "2024-01-01T00:00:00Z find user=a class=sms", &e), 0,
		     "%s", e.msg);
	cr_assert_eq(cm_store_audit(sdir, "2024-01-01T00:00:01Z export user=b", &e), 0);
	cr_expect_eq(cm_store_audit(sdir, "two\nlines", &e), CM_FAIL);
	cr_expect_eq(e.code, CM_E_USAGE);
	read_file("audit.log", b, sizeof b);
	cr_expect_str_eq(b, "2024-01-01T00:00:00Z find user=a class=sms\n"
			    "2024-01-01T00:00:01Z export user=b\n");
	cr_expect_eq(mode_of("audit.log"), 0600);
}

Test(store, a_live_writer_is_not_recovered_under_it)
{
	struct cm_store *a, *b;
	struct cm_err e = { 0 };
	struct got *g = calloc(1, sizeof *g);

	cr_assert_not_null(g);
	a = open_store("ABCD", CM_SYNC_RECORDS, 1, 0, 0, NULL);
	put_one(a, "sms", "2024-01-01");
	/* a second run while the first still writes: its segment is left alone */
	b = open_store("ABCD", CM_SYNC_CLOSE, 0, 0, 0, NULL);
	cr_expect_eq(cm_store_stats(b)->recovered, 0);
	put_one(b, "sms", "2024-01-01");
	cr_assert_eq(cm_store_close(b, &e), 0, "%s", e.msg);
	put_one(a, "sms", "2024-01-01");
	cr_assert_eq(cm_store_close(a, &e), 0, "%s", e.msg);
	walk(g, skey, NULL);
	cr_expect_eq(g->n, 3);
	cr_expect_eq(g->ends, 2);
	cr_expect_eq(g->bad, 0);
	free(g);
}
