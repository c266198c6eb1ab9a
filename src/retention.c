/* \summary: retention classes, civil dates in the legal zone, and the purge decision */
/*
 * Dates are proleptic Gregorian, converted to and from a day count with
 * Howard Hinnant's algorithms ("chrono-Compatible Low-Level Date
 * Algorithms"). The civil day of an instant comes from the system's tz
 * database (TZif files under /usr/share/zoneinfo) through localtime_r.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cdrmin/fdio.h"
#include "cdrmin/retention.h"
#include "cdrmin/segment.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define N_MAX_DAYS 100000u
#define N_MAX_MONTHS 1200u
#define N_MAX_YEARS 100u
#define YEAR_MIN 1
#define YEAR_MAX 9999

int cm_retention_parse_retain(struct cm_retention *r, const char *const *w, size_t n, size_t *bad,
			      const char **why)
{
	struct cm_ret_class c;
	const char *p;
	unsigned long v = 0;
	unsigned max;

	*bad = 0;
	if (n < 2 || n > 3) {
		*why = "expected: retain CLASS NUNIT [year-end] (7y, 24m, 60d)";
		return -1;
	}
	memset(&c, 0, sizeof c);
	if (!cm_seg_class_ok(w[0])) {
		*why = "a class name is 1 to 32 of [a-z0-9_-]";
		return -1;
	}
	if (cm_retention_find(r, w[0])) {
		*why = "this class is already declared";
		return -1;
	}
	if (r->ncls >= CM_RET_CLASSES_MAX) {
		*why = "too many retention classes (at most 32)";
		return -1;
	}
	memcpy(c.name, w[0], strlen(w[0]) + 1);

	*bad = 1;
	p = w[1];
	/* Digits without a leading zero, then one unit letter: "7y", "24m", "60d". */
	if (*p < '1' || *p > '9')
		goto period;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > N_MAX_DAYS)
			goto range;
		p++;
	}
	switch (*p) {
	case 'd': c.unit = CM_RET_DAYS; max = N_MAX_DAYS; break;
	case 'm': c.unit = CM_RET_MONTHS; max = N_MAX_MONTHS; break;
	case 'y': c.unit = CM_RET_YEARS; max = N_MAX_YEARS; break;
	default: goto period;
	}
	if (p[1] != '\0')
		goto period;
	if (v > max)
		goto range;
	c.n = (unsigned)v;

	if (n == 3) {
		*bad = 2;
		if (strcmp(w[2], "year-end") != 0) {
			*why = "expected 'year-end' or nothing after the period";
			return -1;
		}
		c.year_end = 1;
	}
	r->cls[r->ncls++] = c;
	*bad = 0;
	return 0;
period:
	*why = "a period is a number and a unit: 60d (days), 24m (months), 7y (years)";
	return -1;
range:
	*why = "period out of range: 1 to 100000 days, 1200 months or 100 years";
	return -1;
}

int cm_retention_zone_ok(const char *zone)
{
	char path[sizeof ZONEINFO + CM_RET_ZONE_MAX + 1];
	unsigned char magic[4];
	const char *c;
	struct stat st;
	size_t n;
	int fd;
	ssize_t got;

	if (!zone)
		return -1;
	if (strcmp(zone, "UTC") == 0)
		return 0; /* handled without the tz database (cm_retention_day) */
	n = strnlen(zone, CM_RET_ZONE_MAX + 1);
	if (n < 1 || n > CM_RET_ZONE_MAX || zone[0] == '/')
		return -1;
	/* IANA names: letters, digits, "_+-", components joined by '/', none starting with '.'. */
	for (c = zone; *c; c++) {
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '+' || *c == '-' || *c == '/' ||
		      *c == '.'))
			return -1;
		if (*c == '/' && (c[1] == '/' || c[1] == '\0'))
			return -1;
		if (*c == '.' && (c == zone || c[-1] == '/'))
			return -1; /* ".", "..", hidden files */
	}
	snprintf(path, sizeof path, "%s/%s", ZONEINFO, zone);
	/* A regular file (through the database's own links) that is a TZif file, not zone.tab. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -1;
	}
	got = cm_read_full(fd, (unsigned char *)magic, sizeof magic); /* short reads and EINTR retried */
	close(fd);
	if (got != (ssize_t)sizeof magic || memcmp(magic, "TZif", 4) != 0)
		return -1;
	return 0;
}

const struct cm_ret_class *cm_retention_find(const struct cm_retention *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->ncls; i++)
		if (strcmp(r->cls[i].name, name) == 0)
			return &r->cls[i];
	return NULL;
}

/*
 * Sets TZ to the file of zone, runs localtime_r, and puts TZ back as it
 * was (unset when it was unset). The environment is process-wide: this is
 * not thread-safe (see retention.h).
 */
static int local_tm(const char *zone, time_t t, struct tm *tm)
{
	char want[sizeof ZONEINFO + CM_RET_ZONE_MAX + 2];
	const char *old_env = getenv("TZ");
	char *old = NULL;
	int ok;

	if (old_env) {
		old = strdup(old_env);
		if (!old)
			return -1;
	}
	/* ":" and an absolute path: the very file cm_retention_zone_ok checked, whatever TZDIR says. */
	snprintf(want, sizeof want, ":%s/%s", ZONEINFO, zone);
	if (setenv("TZ", want, 1) != 0) {
		free(old);
		return -1;
	}
	tzset();
	ok = localtime_r(&t, tm) != NULL;
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
	return ok ? 0 : -1;
}

int cm_retention_day(const char *zone, int64_t secs, struct cm_date *out)
{
	struct tm tm;
	time_t t = (time_t)secs;

	if ((int64_t)t != secs)
		return -1;
	if (!zone || !*zone || strcmp(zone, "UTC") == 0) {
		if (!gmtime_r(&t, &tm))
			return -1;
	} else {
		if (cm_retention_zone_ok(zone) != 0 || local_tm(zone, t, &tm) != 0)
			return -1;
	}
	if (tm.tm_year > YEAR_MAX - 1900 || tm.tm_year < YEAR_MIN - 1900)
		return -1;
	out->y = tm.tm_year + 1900;
	out->m = tm.tm_mon + 1;
	out->d = tm.tm_mday;
	return 0;
}

void cm_date_format(const struct cm_date *d, char *buf)
{
	/* 11 bytes: a year past 9999 (only an end date can be) is cut, never overflows. */
	snprintf(buf, 11, "%04d-%02d-%02d", d->y, d->m, d->d);
}

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m)
{
	static const int md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : md[m - 1];
}

int cm_date_parse(const char *s, struct cm_date *d)
{
	int i, v[3] = { 0, 0, 0 };
	static const int at[3] = { 0, 5, 8 }, len[3] = { 4, 2, 2 };
	int k;

	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	for (k = 0; k < 3; k++)
		for (i = 0; i < len[k]; i++) {
			char c = s[at[k] + i];

			if (c < '0' || c > '9')
				return -1;
			v[k] = v[k] * 10 + (c - '0');
		}
	if (v[0] < YEAR_MIN || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > month_days(v[0], v[1]))
		return -1;
	d->y = v[0];
	d->m = v[1];
	d->d = v[2];
	return 0;
}

/* Days since 1970-01-01 of a civil date (Hinnant, days_from_civil). */
static long days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The civil date of a day count (Hinnant, civil_from_days). */
static struct cm_date civil_from_days(long z)
{
	struct cm_date out;
	long era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	out.y = (int)(y + (m <= 2));
	out.m = (int)m;
	out.d = (int)d;
	return out;
}

/* d + months, the day clamped to the length of the month reached. */
static struct cm_date add_months(struct cm_date d, long months)
{
	long t = (long)d.y * 12 + (d.m - 1) + months;
	struct cm_date out;
	int md;

	out.y = (int)(t / 12);
	out.m = (int)(t % 12) + 1;
	md = month_days(out.y, out.m);
	out.d = d.d > md ? md : d.d;
	return out;
}

struct cm_date cm_retention_end(const struct cm_ret_class *c, const struct cm_date *d)
{
	struct cm_date base = *d;

	if (c->year_end) {
		/* The end of the day's calendar year: 00:00 on January 1 of the next. */
		base.y = d->y + 1;
		base.m = 1;
		base.d = 1;
	}
	switch (c->unit) {
	case CM_RET_DAYS:
		return civil_from_days(days_from_civil(base.y, base.m, base.d) + (long)c->n);
	case CM_RET_MONTHS:
		return add_months(base, (long)c->n);
	case CM_RET_YEARS:
		return add_months(base, 12L * (long)c->n);
	}
	return base;
}

int cm_date_cmp(const struct cm_date *a, const struct cm_date *b)
{
	if (a->y != b->y)
		return a->y < b->y ? -1 : 1;
	if (a->m != b->m)
		return a->m < b->m ? -1 : 1;
	if (a->d != b->d)
		return a->d < b->d ? -1 : 1;
	return 0;
}

int cm_retention_expired(const struct cm_ret_class *c, const struct cm_date *d,
			 const struct cm_date *today)
{
	struct cm_date end = cm_retention_end(c, d);

	return cm_date_cmp(today, &end) >= 0;
}
