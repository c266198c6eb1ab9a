/*
 * cdrmin: retention classes, periods and the purge decision.
 *
 * The rules declare retention classes and the legal time zone:
 *
 *   retention zone Europe/Athens
 *   retain traffic 7y year-end   7 years after the end of the calendar year
 *                                of the communication
 *   retain billing 10y           10 years after the day of the communication
 *   retain sms 24m               24 months after it
 *   retain logs 60d              60 days after it
 *   retain-records traffic of start   this input's records: class traffic,
 *                                the time of the communication from field start
 *
 * Days, months and years are calendar units in the legal zone: a record at
 * 2019-12-31T23:30Z is on 2020-01-01 in Europe/Athens (UTC+2), so its year
 * is 2020. A record's retention ends at the start (00:00 in the zone) of
 * the day after its last retained day. That first day no longer retained,
 * the end date, is base + the period, where base is the record's day D, or
 * for year-end January 1 of the year after D (the end of D's calendar year):
 *   Nd: base + N days (logs 60d: 2024-01-01 ends 2024-03-01, its last
 *       retained day 2024-02-29);
 *   Nm: base + N months, the day clamped to the month's length
 *       (2024-02-29 + 24m = 2026-02-28; 2024-01-31 + 1m = 2024-02-29);
 *   Ny: base + 12N months (2024-02-29 + 1y = 2025-02-28);
 *   year-end: traffic 7y year-end of 2019-06-01 ends 2027-01-01, and of
 *       2020-01-01 (2019-12-31T23:30Z in Athens) ends 2028-01-01.
 * A segment of day D may be destroyed on day T iff T >= end date.
 * The store keeps one segment per class and day (the period "YYYY-MM-DD",
 * a day in the zone): every record of a segment expires at the same time.
 * A legal hold (class, optional day range) blocks purging of the segments it
 * covers.
 */
#ifndef CDRMIN_RETENTION_H
#define CDRMIN_RETENTION_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/err.h"

#define CM_RET_CLASSES_MAX 32
#define CM_RET_ZONE_MAX 64

enum cm_ret_unit { CM_RET_DAYS = 0, CM_RET_MONTHS, CM_RET_YEARS };

struct cm_ret_class {
	char name[33];        /* [a-z0-9_-], 1 to 32 bytes */
	unsigned n;           /* how many units, 1 to 100000 days / 1200 months / 100 years */
	enum cm_ret_unit unit;
	int year_end;         /* counted from the end of the calendar year */
};

struct cm_retention {
	char zone[CM_RET_ZONE_MAX + 1]; /* IANA zone name; "UTC" by default (empty: UTC) */
	struct cm_ret_class cls[CM_RET_CLASSES_MAX];
	size_t ncls;
};

/* A civil date in the legal zone. */
struct cm_date {
	int y, m, d;
};

/*
 * Parses one "retain CLASS NUNIT [year-end]" declaration from words w[0..n)
 * (after "retain") into r (initialised by the caller: zeroed, zone "UTC").
 * NUNIT is digits without a leading zero and one of d, m, y, within the
 * bounds above. Refused: a bad name, a class declared twice, more than
 * CM_RET_CLASSES_MAX classes, n not 2 or 3. Returns 0, or -1 with *why a
 * static reason and *bad the index of the word at fault (r unchanged).
 */
int cm_retention_parse_retain(struct cm_retention *r, const char *const *w, size_t n, size_t *bad,
			      const char **why);

/*
 * Checks an IANA zone name: "UTC" always; otherwise 1 to CM_RET_ZONE_MAX of
 * [A-Za-z0-9_+-./], no leading '/', no empty component and none starting
 * with '.' (no ".."), naming a TZif file under /usr/share/zoneinfo. 0 or -1.
 */
int cm_retention_zone_ok(const char *zone);

/* The class named name, or NULL. */
const struct cm_ret_class *cm_retention_find(const struct cm_retention *r, const char *name);

/*
 * The civil date in zone of the instant secs (UTC seconds). Returns 0, or
 * -1 when the zone does not pass cm_retention_zone_ok or the year is
 * outside 1..9999. "UTC" (or "") needs no tz database.
 * WARNING: not thread-safe. Other zones go through localtime_r with TZ set
 * to ":/usr/share/zoneinfo/ZONE" (setenv, tzset), then TZ is put back as
 * it was (unset when it was unset): no other thread may read or change the
 * environment or call the time zone functions meanwhile.
 */
int cm_retention_day(const char *zone, int64_t secs, struct cm_date *out);

/* "YYYY-MM-DD" of d into buf (at least 11 bytes; a year past 9999 is cut, never overflows). */
void cm_date_format(const struct cm_date *d, char *buf);

/* Parses exactly "YYYY-MM-DD", a real day of the years 0001 to 9999. 0 or -1. */
int cm_date_parse(const char *s, struct cm_date *d);

/*
 * The end date, the first day no longer retained, for a record of class c
 * on day d: base + period (see the header comment). Returns that date.
 */
struct cm_date cm_retention_end(const struct cm_ret_class *c, const struct cm_date *d);

/* -1, 0, 1 as a is before, equal to, after b. */
int cm_date_cmp(const struct cm_date *a, const struct cm_date *b);

/*
 * 1 when a segment of class c and day d may be destroyed on day today (in
 * the zone): today >= cm_retention_end(c, d). 0 otherwise.
 */
int cm_retention_expired(const struct cm_ret_class *c, const struct cm_date *d,
			 const struct cm_date *today);

#endif
