/*
 * \summary: generalizing actions: time floors and epochs, coordinate
 * rounding, geohash cells, cell areas, numeric buckets
 *
 * Times follow RFC 3339 section 5.6 (and the "YYYY-MM-DD HH:MM:SS" layout
 * of Asterisk and FreeSWITCH), calendar arithmetic is the proleptic
 * Gregorian calendar of ISO 8601 done in integers (no timegm, no TZ).
 * Coordinates are rounded on their decimal digits, exactly. Cell ids follow
 * 3GPP TS 23.003 section 4.3 (CGI) and 19.4.2.3 (TAI). Geohashes are
 * those of geohash.org: 5 bits per character, longitude and latitude bits
 * interleaved, so a prefix is the cell that holds the longer hash's cell.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/generalize.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return 0;
	return 1;
}

/* Value of the n digits at s (n small enough not to overflow); -1 when one is not a digit. */
static int64_t digits_value(const char *s, size_t n)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* ---- calendar ---------------------------------------------------------- */

#define DAYS_PER_400Y 146097

/* Years are written with four digits: 0 to 9999, unsigned arithmetic throughout. */
static int is_leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static const unsigned short days_before_month[13] = {
	0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365,
};

static unsigned days_in_month(unsigned y, unsigned m)
{
	return days_before_month[m] - days_before_month[m - 1] + (m == 2 && is_leap(y));
}

/* Days from 0000-01-01 to y-01-01 (year 0 is a leap year). */
static unsigned days_before_year(unsigned y)
{
	/* Leap years in [0, y): multiples of 4, minus those of 100, plus those of 400. */
	return 365 * y + (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
}

/* Days since 1970-01-01 of a valid date (negative before 1970). */
static int64_t days_from_civil(unsigned y, unsigned m, unsigned d)
{
	int64_t from_0 = days_before_year(y) + days_before_month[m - 1] + (m > 2 && is_leap(y)) + d - 1;

	return from_0 - days_before_year(1970);
}

/*
 * Year and month (1..12) of the day `days` since 1970-01-01, days >= 0,
 * without a search. Years are counted from 1 March, so a leap day is the
 * last day of its year: 0000-03-01 is 719468 days before 1970-01-01, and
 * 400 Gregorian years are exactly 146097 days. Within a 400-year cycle the
 * year of day doe follows from the leap days before it (one per 1460 days,
 * less one per 36524, plus one on the cycle's last day), and the months
 * from March run 31,30,31,30,31 twice and then 31,28/29: 153 days per 5,
 * so (5 * day_of_year + 2) / 153 is the month counted from March. The
 * unit tests hold it to the former search on every day to 2517, the first
 * and last day of every month to 9999, and 200,000 values across int64.
 */
static void civil_from_days(uint64_t days, int64_t *year, unsigned *month)
{
	/* days <= INT64_MAX / 86400: no overflow, and unsigned division is the cheaper */
	uint64_t z = days + 719468, cycle = z / DAYS_PER_400Y;
	unsigned doe = (unsigned)(z - cycle * DAYS_PER_400Y);                   /* 0..146096 */
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* 0..399 */
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* 0..365 */
	unsigned mp = (5 * doy + 2) / 153;                                    /* 0 = March */
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	*year = (int64_t)(cycle * 400 + yoe + (m <= 2));
	*month = m;
}

/* ---- time parsing ------------------------------------------------------ */

/*
 * Epoch seconds have 9 or 10 digits and no leading zero: 2001-09-09 to
 * 2286-11-20. Other digit strings are not times: a phone number in a time
 * column must not come out "floored" with its leading digits intact.
 */
#define EPOCH_INT_MIN 9
#define EPOCH_INT_MAX 10
#define FRAC_MAX 9

/*
 * The time parsers are inlined into each of their callers, so a parse
 * result lives in registers rather than in a struct in memory (about a
 * fifth of a floor's instructions when it was a call).
 */
#if defined(__GNUC__)
#define TIME_INLINE inline __attribute__((always_inline))
#define TIME_NOINLINE __attribute__((noinline))
#else
#define TIME_INLINE inline
#define TIME_NOINLINE
#endif

/* Where the calendar form's digits sit: "YYYY-MM-DDTHH:MM:SS". */
#define CAL_HEAD 16 /* "YYYY-MM-DDTHH:MM", present in every calendar form */
#define AT_H 11
#define AT_MI 14
#define AT_S 17

/*
 * A parsed time, with what a floor needs to keep the layout. Only the
 * fields of its form are set: the calendar fields, or esecs and int_len.
 */
struct tparse {
	int64_t esecs;       /* epoch: the integer seconds */
	size_t int_len;      /* epoch: digits before the '.' */
	unsigned y, mo, d, h, mi, s;
	int has_s;           /* calendar: seconds at AT_S */
	int off_min;         /* calendar: offset east of UTC, in minutes */
	size_t at_frac, frac_len;
};

/* Two digits at s[i], or -1. */
static int two(const char *s, size_t n, size_t i)
{
	if (i + 2 > n || !is_digit(s[i]) || !is_digit(s[i + 1]))
		return -1;
	return (s[i] - '0') * 10 + (s[i + 1] - '0');
}

/* Epoch seconds: 9 or 10 digits (no leading 0), then optionally '.' and 1..9 digits. */
static int parse_epoch(const char *s, size_t n, struct tparse *t)
{
	const char *dot = memchr(s, '.', n);
	size_t il = dot ? (size_t)(dot - s) : n;

	if (il < EPOCH_INT_MIN || il > EPOCH_INT_MAX || s[0] == '0' || !all_digits(s, il))
		return -1;
	t->at_frac = t->frac_len = 0;
	if (dot) {
		t->at_frac = il + 1;
		t->frac_len = n - il - 1;
		if (t->frac_len == 0 || t->frac_len > FRAC_MAX || !all_digits(s + il + 1, t->frac_len))
			return -1;
	}
	t->int_len = il;
	t->esecs = digits_value(s, il);
	return 0;
}

static uint64_t load8(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

/*
 * Whether s[0..16) reads "DDDD-DD-DD?DD:DD" (D a digit, ? one of 'T', 't'
 * and ' '), 8 bytes at a time. x ^ pattern leaves 0 in each separator and
 * 0..9 in each digit; a byte v is 0..9 when neither v nor v + 6 has a bit
 * in 0xf0. v + 6 carries into the next byte only from a byte of 0xfa or
 * more, which fails by itself (v's own bits are tested unshifted), so a
 * carry never passes a bad string. The masks are byte strings loaded the
 * way the input is, which keeps this right on either byte order. Reads
 * exactly 16 bytes: the caller has checked n >= 16.
 */
static const unsigned char cal_pat[16] = "0000-00-00T00:00";

static TIME_INLINE int calendar_head_ok(const char *s)
{
	static const unsigned char sep[16] = { 0, 0, 0, 0, 0xff, 0, 0, 0xff,
					       0, 0, 0, 0, 0, 0xff, 0, 0 };
	static const unsigned char hi[16] = { 0xf0, 0xf0, 0xf0, 0xf0, 0, 0xf0, 0xf0, 0,
					      0xf0, 0xf0, 0, 0xf0, 0xf0, 0, 0xf0, 0xf0 };
	static const unsigned char six[16] = { 6, 6, 6, 6, 0, 6, 6, 0, 6, 6, 0, 6, 6, 0, 6, 6 };
	uint64_t a = load8(s) ^ load8(cal_pat), b = load8(s + 8) ^ load8(cal_pat + 8);
	uint64_t bad = (a & load8(sep)) | ((a | (a + load8(six))) & load8(hi)) |
		       (b & load8(sep + 8)) | ((b | (b + load8(six + 8))) & load8(hi + 8));

	return bad == 0 && (s[10] == 'T' || s[10] == 't' || s[10] == ' ');
}

/* The value of the digit s[i], known to be one. */
#define DIG(i) ((unsigned)(s[i] - '0'))

/*
 * The date and the hour and minute of a head that calendar_head_ok passed.
 * On a little-endian machine s[i] is byte i of an 8-byte load, and after
 * x ^ pattern each digit byte holds its value (separators 0, s[10] cleared):
 * v * 10 + (v >> 8) puts 10 * v[i] + v[i + 1] (at most 99, so no carry) in
 * byte i, the two-digit numbers at once. Elsewhere the digits one by one.
 */
static TIME_INLINE void calendar_head_fields(const char *s, unsigned *y, unsigned *mo, unsigned *d,
				 unsigned *h, unsigned *mi)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t a = load8(s) ^ load8(cal_pat);
	uint64_t b = (load8(s + 8) ^ load8(cal_pat + 8)) & ~(UINT64_C(0xff) << 16);

	a = a * 10 + (a >> 8);
	b = b * 10 + (b >> 8);
	*y = (unsigned)(a & 0xff) * 100 + (unsigned)(a >> 16 & 0xff);
	*mo = (unsigned)(a >> 40 & 0xff);
	*d = (unsigned)(b & 0xff);
	*h = (unsigned)(b >> 24 & 0xff);
	*mi = (unsigned)(b >> 48 & 0xff);
#else
	*y = DIG(0) * 1000 + DIG(1) * 100 + DIG(2) * 10 + DIG(3);
	*mo = DIG(5) * 10 + DIG(6);
	*d = DIG(8) * 10 + DIG(9);
	*h = DIG(AT_H) * 10 + DIG(AT_H + 1);
	*mi = DIG(AT_MI) * 10 + DIG(AT_MI + 1);
#endif
}

/*
 * RFC 3339 date-time, with 'T', 't' or ' ' between date and time, seconds
 * optional, a fraction only after seconds, the offset optional and also
 * accepted without its colon (ISO 8601 basic: +HHMM).
 */
/* Whether the fields of a checked head make a real date, hour and minute. */
static TIME_INLINE int calendar_fields_ok(unsigned y, unsigned mo, unsigned d, unsigned h,
					  unsigned mi)
{
	/* Every month has 28 days: the calendar is asked only past that. */
	return mo >= 1 && mo <= 12 && d >= 1 && (d <= 28 || d <= days_in_month(y, mo)) && h <= 23 &&
	       mi <= 59;
}

static TIME_INLINE int parse_calendar(const char *s, size_t n, struct tparse *t)
{
	unsigned y, mo, d, h, mi, sec = 0;
	int oh, om, sign, sec2;
	size_t i;

	if (n < CAL_HEAD || !calendar_head_ok(s))
		return -1;
	calendar_head_fields(s, &y, &mo, &d, &h, &mi);
	if (!calendar_fields_ok(y, mo, d, h, mi))
		return -1;
	t->has_s = 0;
	t->off_min = 0;
	t->at_frac = t->frac_len = 0;
	i = CAL_HEAD;
	if (i < n && s[i] == ':') {
		sec2 = two(s, n, i + 1);
		if (sec2 < 0 || sec2 > 60) /* 60: a leap second */
			return -1;
		sec = (unsigned)sec2;
		t->has_s = 1;
		i += 3;
		if (i < n && s[i] == '.') {
			t->at_frac = ++i;
			while (i < n && is_digit(s[i]))
				i++;
			t->frac_len = i - t->at_frac;
			if (t->frac_len == 0 || t->frac_len > FRAC_MAX)
				return -1;
		}
	}
	if (i == n) {
		/* the common case: no zone */
	} else if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '-' ? -1 : 1;
		oh = two(s, n, i + 1);
		i += 3;
		if (i < n && s[i] == ':')
			i++;
		om = two(s, n, i);
		i += 2;
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		t->off_min = sign * (oh * 60 + om);
	}
	if (i != n)
		return -1;
	t->y = y;
	t->mo = mo;
	t->d = d;
	t->h = h;
	t->mi = mi;
	t->s = sec;
	return 0;
}

/*
 * Which parser a time goes to: a '-' after four characters makes it a
 * calendar form, anything else (but nothing) is tried as epoch seconds.
 * Each caller branches on this itself, so the compiler sees which fields
 * of struct tparse the chosen parser has set.
 */
static int is_calendar_form(const char *s, size_t n) { return n >= 5 && s[4] == '-'; }

/* Writes n '0's; n is a fraction's width (at most FRAC_MAX), so no call. */
static void zero_digits(char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = '0';
}

/*
 * The CDR layout: "YYYY-MM-DD HH:MM:SS" ('T' or 't' also), nothing after
 * the seconds, every digit and separator in place. parse_calendar accepts
 * such a time exactly when cdr_fields does, so the public functions below
 * take it on a path of their own (no struct, no general tail, no saved
 * registers) and hand every other time to their *_any function.
 */
static TIME_INLINE int cdr_layout(const char *s, size_t n)
{
	return n == CAL_HEAD + 3 && s[CAL_HEAD] == ':' && is_digit(s[AT_S]) &&
	       is_digit(s[AT_S + 1]) && calendar_head_ok(s);
}

/* The fields of a time in the CDR layout; 0, or -1 when they are no real time. */
static TIME_INLINE int cdr_fields(const char *s, unsigned *y, unsigned *mo, unsigned *d,
				  unsigned *h, unsigned *mi, unsigned *sec)
{
	calendar_head_fields(s, y, mo, d, h, mi);
	*sec = DIG(AT_S) * 10 + DIG(AT_S + 1);
	return calendar_fields_ok(*y, *mo, *d, *h, *mi) && *sec <= 60 ? 0 : -1;
}

/* The minutes of a time at w, and its hours too for a floor to the day. */
static inline void zero_clock(char *w, enum cm_time_unit u)
{
	if (u >= CM_TIME_HOUR) {
		w[AT_MI] = '0';
		w[AT_MI + 1] = '0';
	}
	if (u >= CM_TIME_DAY) {
		w[AT_H] = '0';
		w[AT_H + 1] = '0';
	}
}

/*
 * cm_time_floor for every form; the CDR layout also has its own path,
 * below, which stays a leaf (no registers to save) only with this apart.
 */
static TIME_NOINLINE int floor_any(const char *s, size_t n, enum cm_time_unit u, struct cm_buf *out)
{
	static const int64_t unit_secs[] = { 60, 3600, 86400 };
	struct tparse t, te; /* apart, so that t can live in registers (te's address is taken) */
	char *w;
	size_t i;
	int64_t v;
	int cal = is_calendar_form(s, n);

	if ((unsigned)u > CM_TIME_DAY)
		return -1;
	if (cal ? parse_calendar(s, n, &t) != 0 : n == 0 || parse_epoch(s, n, &te) != 0)
		return -1;
	/* cm_buf_reserve's own order, its call only when short: a buffer out of memory stays refused. */
	if (out->oom || (out->cap - out->n < n && cm_buf_reserve(out, n) != 0))
		return -1;
	w = out->p + out->n;
	if (!cal) {
		/* Floor in UTC seconds; the width as written (leading zeros stay). */
		v = te.esecs - te.esecs % unit_secs[u];
		for (i = te.int_len; i-- > 0; v /= 10)
			w[i] = (char)('0' + v % 10);
		if (te.frac_len) {
			w[te.int_len] = '.';
			zero_digits(w + te.at_frac, te.frac_len);
		}
		out->n += n;
		return 0;
	}
	/* "YYYY-MM-DD HH:MM:SS", the CDR layout, as one fixed-size copy. */
	if (n == CAL_HEAD + 3)
		memcpy(w, s, CAL_HEAD + 3);
	else
		memcpy(w, s, n);
	/* The floor in the value's own clock: the offset is kept as written. */
	zero_digits(w + t.at_frac, t.frac_len);
	if (t.has_s) {
		w[AT_S] = '0';
		w[AT_S + 1] = '0';
	}
	zero_clock(w, u);
	out->n += n;
	return 0;
}

/* The CDR layout with room in out here; any other time, or a full buffer, in floor_any. */
int cm_time_floor(const char *s, size_t n, enum cm_time_unit u, struct cm_buf *out)
{
	unsigned y, mo, d, h, mi, sec;
	char *w;

	if ((unsigned)u > CM_TIME_DAY || !cdr_layout(s, n) || out->oom || out->cap - out->n < n)
		return floor_any(s, n, u, out);
	if (cdr_fields(s, &y, &mo, &d, &h, &mi, &sec) != 0)
		return -1;
	w = out->p + out->n;
	memcpy(w, s, CAL_HEAD + 3);
	w[AT_S] = '0';
	w[AT_S + 1] = '0';
	zero_clock(w, u);
	out->n += n;
	return 0;
}

/*
 * The floor keeps the date, the separator and the hour of the CDR layout
 * (and the minute under CM_TIME_MINUTE); every other clock digit becomes
 * 0. last floored, is 19 bytes long and has ':' at 13 and 16: of the forms
 * read, only the CDR layout has that (a fraction needs a '.', an offset
 * starts with Z, + or -, an epoch has no ':'), so its first 13 bytes are a
 * valid date, separator and hour. s with the same kept bytes, ':' at 13 and
 * 16 and a valid minute and second is then a valid time of the layout, and
 * its floor is last's byte for byte.
 */
int cm_time_floor_same(const char *last, const char *s, size_t n, enum cm_time_unit u)
{
	size_t keep = u == CM_TIME_MINUTE ? AT_MI + 2 : AT_MI - 1;

	if (n != CAL_HEAD + 3 || (unsigned)u > CM_TIME_DAY || (load8(s) ^ load8(last)) != 0 ||
	    (load8(s + keep - 8) ^ load8(last + keep - 8)) != 0 || last[AT_MI - 1] != ':' ||
	    last[CAL_HEAD] != ':' || s[AT_MI - 1] != ':' || s[CAL_HEAD] != ':' ||
	    !is_digit(s[AT_MI]) || !is_digit(s[AT_MI + 1]) || !is_digit(s[AT_S]) ||
	    !is_digit(s[AT_S + 1]))
		return 0;
	return DIG(AT_MI) * 10 + DIG(AT_MI + 1) <= 59 && DIG(AT_S) * 10 + DIG(AT_S + 1) <= 60;
}

/* Seconds since 1970-01-01T00:00:00Z of a parsed calendar time. */
static int64_t calendar_utc(const struct tparse *t)
{
	return days_from_civil(t->y, t->mo, t->d) * 86400 + (int64_t)t->h * 3600 +
	       (int64_t)t->mi * 60 + t->s - (int64_t)t->off_min * 60;
}

static TIME_NOINLINE int utc_any(const char *s, size_t n, int64_t *secs)
{
	struct tparse t, te; /* as in floor_any */

	if (is_calendar_form(s, n)) {
		if (parse_calendar(s, n, &t) != 0)
			return -1;
		*secs = calendar_utc(&t);
		return 0;
	}
	if (n == 0 || parse_epoch(s, n, &te) != 0)
		return -1;
	*secs = te.esecs;
	return 0;
}

/* The CDR layout here, any other time in utc_any. */
int cm_time_utc(const char *s, size_t n, int64_t *secs)
{
	unsigned y, mo, d, h, mi, sec;

	if (!cdr_layout(s, n))
		return utc_any(s, n, secs);
	if (cdr_fields(s, &y, &mo, &d, &h, &mi, &sec) != 0)
		return -1;
	*secs = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
	return 0;
}

int cm_time_epoch(int64_t secs, enum cm_epoch_unit u, uint64_t *id)
{
	uint64_t days;
	int64_t year;
	unsigned month;

	if (secs < 0)
		return -1;
	days = (uint64_t)secs / 86400;
	switch (u) {
	case CM_EPOCH_NONE:
		*id = 0;
		return 0;
	case CM_EPOCH_DAY:
		*id = cm_epoch_id(u, days);
		return 0;
	case CM_EPOCH_MONTH:
		civil_from_days(days, &year, &month);
		*id = cm_epoch_id(u, (uint64_t)((year - 1970) * 12 + month - 1));
		return 0;
	case CM_EPOCH_YEAR:
		civil_from_days(days, &year, &month);
		*id = cm_epoch_id(u, (uint64_t)(year - 1970));
		return 0;
	}
	return -1;
}

/*
 * The epoch id of a UTC time from 1970 on that does not run into the next
 * day (23:59:60 is the next day's first second), from its date alone: it is
 * in its written date's day, month and year.
 */
static int epoch_of_date(unsigned y, unsigned mo, unsigned d, enum cm_epoch_unit u, uint64_t *id)
{
	switch (u) {
	case CM_EPOCH_NONE:
		*id = 0;
		return 0;
	case CM_EPOCH_DAY:
		*id = cm_epoch_id(u, (uint64_t)days_from_civil(y, mo, d));
		return 0;
	case CM_EPOCH_MONTH:
		*id = cm_epoch_id(u, (uint64_t)(y - 1970) * 12 + mo - 1);
		return 0;
	case CM_EPOCH_YEAR:
		*id = cm_epoch_id(u, (uint64_t)(y - 1970));
		return 0;
	}
	return -1;
}

static TIME_NOINLINE int epoch_of_any(const char *s, size_t n, enum cm_epoch_unit u, uint64_t *id)
{
	struct tparse t, te; /* as in floor_any */
	int64_t secs;

	if (is_calendar_form(s, n)) {
		if (parse_calendar(s, n, &t) != 0)
			return -1;
		if (t.off_min == 0 && t.y >= 1970 && t.h * 3600 + t.mi * 60 + t.s < 86400)
			return epoch_of_date(t.y, t.mo, t.d, u, id);
		secs = calendar_utc(&t);
	} else {
		if (n == 0 || parse_epoch(s, n, &te) != 0)
			return -1;
		secs = te.esecs;
	}
	return cm_time_epoch(secs, u, id);
}

/* The CDR layout here, any other time in epoch_of_any. */
int cm_time_epoch_of(const char *s, size_t n, enum cm_epoch_unit u, uint64_t *id)
{
	unsigned y, mo, d, h, mi, sec;

	if (!cdr_layout(s, n))
		return epoch_of_any(s, n, u, id);
	if (cdr_fields(s, &y, &mo, &d, &h, &mi, &sec) != 0)
		return -1;
	if (y >= 1970 && h * 3600 + mi * 60 + sec < 86400)
		return epoch_of_date(y, mo, d, u, id);
	return cm_time_epoch(days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 +
				     (int64_t)mi * 60 + sec,
			     u, id);
}

/* ---- coordinates ------------------------------------------------------- */

#define GEO_DIGITS_MAX 20
#define GEO_DECIMALS_MAX 9

/* A decimal as text: sign, integer digits (leading zeros kept), fraction digits. */
struct dec {
	int neg;
	const char *ip, *fp;
	size_t il, fl;
};

/* [+-]digits[.digits], the digits at most max in total. */
static int dec_split(const char *s, size_t n, size_t max, struct dec *d)
{
	size_t i = 0;

	memset(d, 0, sizeof *d);
	if (i < n && (s[i] == '+' || s[i] == '-'))
		d->neg = s[i++] == '-';
	d->ip = s + i;
	while (i < n && is_digit(s[i]))
		i++, d->il++;
	if (d->il == 0)
		return -1;
	if (i < n && s[i] == '.') {
		d->fp = s + ++i;
		while (i < n && is_digit(s[i]))
			i++, d->fl++;
		if (d->fl == 0)
			return -1;
	}
	if (i != n || d->il + d->fl > max)
		return -1;
	return 0;
}

/* |d| <= limit, exactly when limit is a whole number. */
static int dec_within(const struct dec *d, const char *s, size_t n, double limit)
{
	const char *ip = d->ip;
	size_t il = d->il, i;
	uint64_t v = 0, lim;
	double x;

	if (!(limit >= 0))
		return 0;
	if (limit <= 1e15 && (double)(uint64_t)limit == limit) {
		lim = (uint64_t)limit;
		while (il > 1 && ip[0] == '0')
			ip++, il--;
		if (il > 16)
			return 0;
		for (i = 0; i < il; i++)
			v = v * 10 + (uint64_t)(ip[i] - '0');
		if (v != lim)
			return v < lim;
		for (i = 0; i < d->fl; i++)
			if (d->fp[i] != '0')
				return 0;
		return 1;
	}
	if (cm_decimal_parse(s, n, &x) != 0)
		return 0;
	return (x < 0 ? -x : x) <= limit;
}

int cm_geo_round(const char *s, size_t n, double limit, unsigned decimals, struct cm_buf *out)
{
	/* integer digits, the kept fraction digits, and room for a carry */
	char dig[1 + GEO_DIGITS_MAX + GEO_DECIMALS_MAX];
	struct dec d;
	size_t il, nd, i, first;
	const char *ip;
	int nonzero = 0;

	if (decimals > GEO_DECIMALS_MAX || dec_split(s, n, GEO_DIGITS_MAX, &d) != 0 ||
	    !dec_within(&d, s, n, limit))
		return -1;
	ip = d.ip;
	il = d.il;
	while (il > 1 && ip[0] == '0')
		ip++, il--;
	dig[0] = '0';
	memcpy(dig + 1, ip, il);
	for (i = 0; i < decimals; i++)
		dig[1 + il + i] = i < d.fl ? d.fp[i] : '0';
	nd = 1 + il + decimals;
	/* Half away from zero on the magnitude: the first dropped digit decides. */
	if (d.fl > decimals && d.fp[decimals] >= '5') {
		for (i = nd; i-- > 0;) {
			if (dig[i] != '9') {
				dig[i]++;
				break;
			}
			dig[i] = '0';
		}
	}
	first = dig[0] == '0' ? 1 : 0;
	for (i = 0; i < nd; i++)
		nonzero |= dig[i] != '0';
	if (d.neg && nonzero)
		cm_buf_addc(out, '-');
	cm_buf_add(out, dig + first, nd - decimals - first);
	if (decimals) {
		cm_buf_addc(out, '.');
		cm_buf_add(out, dig + nd - decimals, decimals);
	}
	return out->oom ? -1 : 0;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

int cm_geo_pair_round(const char *s, size_t n, unsigned decimals, struct cm_buf *out)
{
	const char *comma = memchr(s, ',', n);
	size_t start = out->n, a, b;

	if (!comma)
		return -1;
	a = (size_t)(comma - s);
	b = a + 1;
	while (a > 0 && is_blank(s[a - 1]))
		a--;
	while (b < n && is_blank(s[b]))
		b++;
	if (cm_geo_round(s, a, 90, decimals, out) != 0)
		return -1;
	cm_buf_addc(out, ',');
	if (cm_geo_round(s + b, n - b, 180, decimals, out) != 0 || out->oom) {
		out->n = start;
		return -1;
	}
	return 0;
}

/* ---- cell ids ---------------------------------------------------------- */

/*
 * Longest LAC/TAC or CI text: a 5G NR cell identity has 36 bits, 11
 * decimal digits (TS 38.413); 12 leaves room for leading zeros.
 */
#define CELL_HEX_MAX 12

/* Length of the run at s[i..n) of chars accepted by ok. */
static size_t run_len(const char *s, size_t n, size_t i, int (*ok)(char))
{
	size_t j = i;

	while (j < n && ok(s[j]))
		j++;
	return j - i;
}

int cm_cell_area(const char *s, size_t n, struct cm_buf *out)
{
	size_t i = 0, len, area_end;

	/* MCC: 3 digits; MNC: 2 or 3 digits (TS 23.003 sections 2.2 and 4.3). */
	if (run_len(s, n, 0, is_digit) != 3 || n < 4 || s[3] != '-')
		return -1;
	i = 4;
	len = run_len(s, n, i, is_digit);
	if (len < 2 || len > 3 || i + len >= n || s[i + len] != '-')
		return -1;
	i += len + 1;
	/* LAC or TAC, then CI, decimal or hex. */
	len = run_len(s, n, i, is_hex);
	if (len < 1 || len > CELL_HEX_MAX || i + len >= n || s[i + len] != '-')
		return -1;
	area_end = i + len;
	i = area_end + 1;
	len = run_len(s, n, i, is_hex);
	if (len < 1 || len > CELL_HEX_MAX || i + len != n)
		return -1;
	cm_buf_add(out, s, area_end);
	return out->oom ? -1 : 0;
}

/* ---- geohashes --------------------------------------------------------- */

/* The geohash base32 digit c in lower case, or 0 when c is none (a, i, l, o are not). */
static char geohash_digit(char c)
{
	static const char alphabet[] = "0123456789bcdefghjkmnpqrstuvwxyz";

	if (c >= 'A' && c <= 'Z')
		c = (char)(c - 'A' + 'a');
	return memchr(alphabet, c, sizeof alphabet - 1) ? c : 0;
}

int cm_geohash_truncate(const char *s, size_t n, unsigned chars, struct cm_buf *out)
{
	size_t i, keep;
	char *w;

	if (chars < 1 || chars > CM_GEOHASH_CHARS_MAX || n < 1 || n > CM_GEOHASH_CHARS_MAX)
		return -1;
	/* The whole value is checked, not only the kept prefix: a malformed tail is no geohash. */
	for (i = 0; i < n; i++)
		if (!geohash_digit(s[i]))
			return -1;
	keep = n < chars ? n : chars;
	if (cm_buf_reserve(out, keep) != 0)
		return -1;
	w = out->p + out->n;
	for (i = 0; i < keep; i++)
		w[i] = geohash_digit(s[i]);
	out->n += keep;
	return 0;
}

/* ---- numbers ----------------------------------------------------------- */

#define DECIMAL_TEXT_MAX 40

int cm_decimal_parse(const char *s, size_t n, double *v)
{
	static const double p10[] = {
		1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
	};
	char tmp[DECIMAL_TEXT_MAX + 1];
	struct dec d;
	const char *ip;
	size_t il, i;
	uint64_t m = 0;
	char *end;
	double x;

	if (n > DECIMAL_TEXT_MAX || dec_split(s, n, DECIMAL_TEXT_MAX, &d) != 0)
		return -1;
	ip = d.ip;
	il = d.il;
	while (il > 1 && ip[0] == '0')
		ip++, il--;
	if (il + d.fl <= 15 && d.fl < sizeof p10 / sizeof p10[0]) {
		/*
		 * Both the digits as an integer and 10^fl are exact doubles, so
		 * one division is correctly rounded: the strtod result, without
		 * its locale.
		 */
		for (i = 0; i < il; i++)
			m = m * 10 + (uint64_t)(ip[i] - '0');
		for (i = 0; i < d.fl; i++)
			m = m * 10 + (uint64_t)(d.fp[i] - '0');
		x = (double)m / p10[d.fl];
	} else {
		/* Longer numbers: strtod on a bounded copy (the syntax is already checked). */
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		x = strtod(tmp, &end);
		if (end != tmp + n)
			return -1;
		*v = x;
		return 0;
	}
	*v = d.neg ? -x : x;
	return 0;
}

int cm_bucket_put(const struct cm_bucket *b, const char *s, size_t n, struct cm_buf *out)
{
	size_t lo, hi, mid;
	double v;

	if (!b || b->n == 0 || !b->bound || !b->label || cm_decimal_parse(s, n, &v) != 0)
		return -1;
	if (v < b->bound[0]) {
		cm_buf_addc(out, '<');
		cm_buf_adds(out, b->label[0]);
		return out->oom ? -1 : 0;
	}
	/* The last bound <= v: bound[lo] <= v < bound[hi]. */
	lo = 0;
	hi = b->n;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (b->bound[mid] <= v)
			lo = mid;
		else
			hi = mid;
	}
	cm_buf_adds(out, b->label[lo]);
	if (lo + 1 == b->n) {
		cm_buf_addc(out, '+');
	} else {
		cm_buf_addc(out, '-');
		cm_buf_adds(out, b->label[lo + 1]);
	}
	return out->oom ? -1 : 0;
}
