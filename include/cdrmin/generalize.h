/*
 * cdrmin: generalizing actions on times, places and quantities.
 *
 * Each function reads one value, appends its generalized form to out and
 * returns 0, or returns -1 (appending nothing) when the value is not of
 * the expected form. Output keeps the input's format where one applies.
 */
#ifndef CDRMIN_GENERALIZE_H
#define CDRMIN_GENERALIZE_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/buf.h"

/*
 * Epoch ids. 0 means no epoch (one window for all time). Otherwise the
 * unit sits in the top byte and the number of whole units since
 * 1970-01-01 UTC (days, months or years) in the low bits.
 */
enum cm_epoch_unit { CM_EPOCH_NONE = 0, CM_EPOCH_DAY, CM_EPOCH_MONTH, CM_EPOCH_YEAR };
static inline uint64_t cm_epoch_id(enum cm_epoch_unit u, uint64_t n)
{
	return u == CM_EPOCH_NONE ? 0 : ((uint64_t)u << 56) | (n & 0x00ffffffffffffffULL);
}

enum cm_time_unit { CM_TIME_MINUTE = 0, CM_TIME_HOUR, CM_TIME_DAY };

/*
 * Times accepted, each floored with its layout kept:
 *   ISO 8601 / RFC 3339: YYYY-MM-DDTHH:MM[:SS[.frac]][Z|+HH:MM|-HH:MM|+HHMM]
 *   "YYYY-MM-DD HH:MM:SS" (Asterisk, FreeSWITCH), optionally with .frac
 *   epoch seconds: 9 or 10 digits without a leading 0 (2001 to 2286),
 *   optionally "." and up to 9 digits
 * The floor is taken in the value's own clock (its offset is kept);
 * fraction digits become zeros.
 */
int cm_time_floor(const char *s, size_t n, enum cm_time_unit u, struct cm_buf *out);

/*
 * 1 when s[0..n) floors under u to the bytes last[0..n) floored to, known
 * without flooring it. last must be a value cm_time_floor floored under u
 * (anything else: the answer means nothing). 1 when both are in the layout
 * "YYYY-MM-DD HH:MM:SS" (or with 'T' or 't'), s has the same date,
 * separator and hour as last (and minute, under CM_TIME_MINUTE) and a
 * valid minute and second; 0 otherwise: then ask cm_time_floor. For a
 * field's times, which mostly share their hour with the record before.
 */
int cm_time_floor_same(const char *last, const char *s, size_t n, enum cm_time_unit u);

/*
 * Seconds since 1970-01-01T00:00:00Z of a time in one of the forms above.
 * A time without an offset is read as UTC. Returns 0 or -1.
 */
int cm_time_utc(const char *s, size_t n, int64_t *secs);

/*
 * The epoch id (see pseudo.h) of the UTC day, month or year holding secs.
 * Times before 1970 give -1.
 */
int cm_time_epoch(int64_t secs, enum cm_epoch_unit u, uint64_t *id);

/*
 * The epoch id of the time s[0..n): cm_time_utc then cm_time_epoch in one
 * call, with the same status and id, but a calendar time in UTC (no offset
 * or Z/+00:00, the day not run over by a leap second) takes its day, month
 * or year straight from its fields, without the round trip through seconds.
 */
int cm_time_epoch_of(const char *s, size_t n, enum cm_epoch_unit u, uint64_t *id);

/*
 * A decimal coordinate (optional sign, digits, optional "." digits) with
 * |value| <= limit (90 for latitude, 180 for longitude) rounded half away
 * from zero to decimals places. "-0.00" is written "0.00".
 */
int cm_geo_round(const char *s, size_t n, double limit, unsigned decimals, struct cm_buf *out);

/* A "lat,lon" pair (blanks around the comma allowed), each rounded. */
int cm_geo_pair_round(const char *s, size_t n, unsigned decimals, struct cm_buf *out);

/*
 * A cell global identity MCC-MNC-LAC-CI (3GPP TS 23.003 section 4.3:
 * MCC 3 digits, MNC 2 or 3 digits, LAC/TAC and CI in decimal or hex),
 * separated by '-', generalized to its area MCC-MNC-LAC.
 */
int cm_cell_area(const char *s, size_t n, struct cm_buf *out);

/*
 * A geohash (G. Niemeyer's geohash.org encoding: base32 alphabet
 * 0123456789bcdefghjkmnpqrstuvwxyz, case-insensitive, 1 to
 * CM_GEOHASH_CHARS_MAX characters) cut to its first chars characters,
 * lower-cased: the cell holding the point, which each character splits
 * in 32 (5 characters: about 4.9 x 4.9 km). A geohash of chars
 * characters or fewer is already that coarse and is written whole,
 * lower-cased. chars outside 1..CM_GEOHASH_CHARS_MAX gives -1.
 */
#define CM_GEOHASH_CHARS_MAX 12
#define CM_GEOHASH_CHARS_DEFAULT 5
int cm_geohash_truncate(const char *s, size_t n, unsigned chars, struct cm_buf *out);

/*
 * Buckets for a number (decimal, optional sign and fraction). bounds are
 * strictly increasing, with their text as written in the rules (labels).
 * v < b0 -> "<b0"; b(i) <= v < b(i+1) -> "b(i)-b(i+1)"; v >= b(last) -> "b(last)+".
 */
struct cm_bucket {
	size_t n;
	double *bound;
	char **label;
};
int cm_bucket_put(const struct cm_bucket *b, const char *s, size_t n, struct cm_buf *out);

/*
 * Strict decimal number syntax check and value: [+-]digits[.digits].
 * Returns 0 or -1.
 */
int cm_decimal_parse(const char *s, size_t n, double *v);

#endif
