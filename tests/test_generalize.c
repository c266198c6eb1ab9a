/* Unit tests: times, coordinates, geohashes, cells, buckets (src/generalize.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/generalize.h"

/* The output of a generalizer as a C string, or "-" when it returned -1. */
struct res {
	char s[128];
};

static struct res collect(int rc, struct cm_buf *out, size_t before)
{
	struct res r;

	if (rc != 0) {
		cr_expect_eq(out->n, before, "a failed call appended bytes");
		strcpy(r.s, "-");
	} else {
		cr_assert_lt(out->n - before, sizeof r.s);
		memcpy(r.s, out->p + before, out->n - before);
		r.s[out->n - before] = '\0';
	}
	return r;
}

static void floor_is(const char *s, enum cm_time_unit u, const char *want)
{
	struct cm_buf out;
	struct res r;

	cm_buf_init(&out);
	cm_buf_adds(&out, "x"); /* appends after what is there */
	r = collect(cm_time_floor(s, strlen(s), u, &out), &out, 1);
	cr_expect_str_eq(r.s, want, "floor(\"%s\", %d)", s, u);
	cm_buf_deinit(&out);
}

static void utc_is(const char *s, int64_t want)
{
	int64_t secs = 0;

	cr_expect_eq(cm_time_utc(s, strlen(s), &secs), 0, "\"%s\"", s);
	cr_expect_eq(secs, want, "\"%s\": %lld, want %lld", s, (long long)secs, (long long)want);
}

static void geo_is(const char *s, double limit, unsigned dec, const char *want)
{
	struct cm_buf out;
	struct res r;

	cm_buf_init(&out);
	r = collect(cm_geo_round(s, strlen(s), limit, dec, &out), &out, 0);
	cr_expect_str_eq(r.s, want, "round(\"%s\", %g, %u)", s, limit, dec);
	cm_buf_deinit(&out);
}

static void pair_is(const char *s, unsigned dec, const char *want)
{
	struct cm_buf out;
	struct res r;

	cm_buf_init(&out);
	cm_buf_adds(&out, "ab");
	r = collect(cm_geo_pair_round(s, strlen(s), dec, &out), &out, 2);
	cr_expect_str_eq(r.s, want, "pair(\"%s\", %u)", s, dec);
	cm_buf_deinit(&out);
}

static void cell_is(const char *s, const char *want)
{
	struct cm_buf out;
	struct res r;

	cm_buf_init(&out);
	r = collect(cm_cell_area(s, strlen(s), &out), &out, 0);
	cr_expect_str_eq(r.s, want, "cell(\"%s\")", s);
	cm_buf_deinit(&out);
}

static void geohash_is(const char *s, unsigned chars, const char *want)
{
	struct cm_buf out;
	struct res r;

	cm_buf_init(&out);
	cm_buf_adds(&out, "gh"); /* appends after what is there */
	r = collect(cm_geohash_truncate(s, strlen(s), chars, &out), &out, 2);
	cr_expect_str_eq(r.s, want, "geohash(\"%s\", %u)", s, chars);
	cm_buf_deinit(&out);
}

TestSuite(generalize);

Test(generalize, floor_space_layout)
{
	floor_is("2024-03-01 12:34:56", CM_TIME_MINUTE, "2024-03-01 12:34:00");
	floor_is("2024-03-01 12:34:56", CM_TIME_HOUR, "2024-03-01 12:00:00");
	floor_is("2024-03-01 12:34:56", CM_TIME_DAY, "2024-03-01 00:00:00");
	floor_is("2024-03-01 12:34:56.123456", CM_TIME_MINUTE, "2024-03-01 12:34:00.000000");
}

Test(generalize, floor_rfc3339)
{
	floor_is("2024-03-01T12:34:56.789+01:00", CM_TIME_MINUTE, "2024-03-01T12:34:00.000+01:00");
	floor_is("2024-03-01T12:34:56.789+01:00", CM_TIME_HOUR, "2024-03-01T12:00:00.000+01:00");
	floor_is("2024-03-01T12:34:56.789+01:00", CM_TIME_DAY, "2024-03-01T00:00:00.000+01:00");
	floor_is("2024-03-01T12:34:56Z", CM_TIME_HOUR, "2024-03-01T12:00:00Z");
	floor_is("2024-03-01t12:34:56z", CM_TIME_HOUR, "2024-03-01t12:00:00z");
	floor_is("2024-03-01T12:34", CM_TIME_MINUTE, "2024-03-01T12:34");
	floor_is("2024-03-01T12:34-0530", CM_TIME_HOUR, "2024-03-01T12:00-0530");
	floor_is("2016-12-31T23:59:60Z", CM_TIME_MINUTE, "2016-12-31T23:59:00Z");
}

Test(generalize, floor_epoch)
{
	floor_is("1709296496", CM_TIME_HOUR, "1709294400");
	floor_is("1709296496.25", CM_TIME_HOUR, "1709294400.00");
	floor_is("1709296496", CM_TIME_MINUTE, "1709296440");
	floor_is("1709296496", CM_TIME_DAY, "1709251200");
	floor_is("999999999", CM_TIME_MINUTE, "999999960"); /* 2001-09-09, 9 digits */
	floor_is("9999999999.999999999", CM_TIME_MINUTE, "9999999960.000000000");
	/* other digit strings are not times: a phone number in a time column */
	floor_is("59", CM_TIME_MINUTE, "-");
	floor_is("0", CM_TIME_DAY, "-");
	floor_is("02079460123", CM_TIME_HOUR, "-");
	floor_is("0709296496", CM_TIME_HOUR, "-");
	floor_is("447700900123", CM_TIME_HOUR, "-");
	floor_is("99999999", CM_TIME_HOUR, "-");
}

Test(generalize, floor_rejects)
{
	static const char *const bad[] = {
		"",
		"2024-13-01 12:00:00",
		"2024-00-01 12:00:00",
		"2024-02-30 12:00:00",
		"2023-02-29 12:00:00",
		"1900-02-29 12:00:00",
		"2024-04-31T00:00Z",
		"2024-03-01 24:00:00",
		"2024-03-01 12:60:00",
		"2024-03-01 12:00:61",
		"2024-03-01 12:00:00.",
		"2024-03-01 12:00:00.1234567890",
		"2024-03-01T12:00+24:00",
		"2024-03-01T12:00+01:60",
		"2024-03-01T12:00+01",
		"2024-03-01T12:00+01:0",
		"2024-03-01T12:00Z ",
		"2024-03-01X12:00",
		"2024-3-01 12:00:00",
		"2024-03-01",
		"2024-03-01 12",
		"2024-03-01T12:0",
		"2024-03-01T12:34.5",
		"1234567890123",
		"1709296496.",
		".5",
		"1709296496.1234567890",
		"-1709296496",
		"+1709296496",
		"17092 96496",
		"0x10",
	};
	struct cm_buf out;
	size_t i;
	int64_t secs;

	cm_buf_init(&out);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_expect_eq(cm_time_floor(bad[i], strlen(bad[i]), CM_TIME_HOUR, &out), -1, "\"%s\"",
			     bad[i]);
		cr_expect_eq(cm_time_utc(bad[i], strlen(bad[i]), &secs), -1, "\"%s\"", bad[i]);
	}
	cr_expect_eq(out.n, 0);
	cr_expect_eq(cm_time_floor("2024-03-01 12:00:00", 19, (enum cm_time_unit)7, &out), -1);
	cm_buf_deinit(&out);
}

Test(generalize, floor_hostile)
{
	static const char nul[] = "2024-03-01 12:34:\00056";
	struct cm_buf out;

	cm_buf_init(&out);
	cr_expect_eq(cm_time_floor(nul, sizeof nul - 1, CM_TIME_HOUR, &out), -1);
	/* a length that stops inside the value reads only that much */
	cr_expect_eq(cm_time_floor("2024-03-01 12:34:56", 16, CM_TIME_HOUR, &out), 0);
	cr_expect(out.n == 16 && memcmp(out.p, "2024-03-01 12:00", 16) == 0);
	cm_buf_deinit(&out);
}

Test(generalize, leap_years)
{
	utc_is("2024-02-29T00:00:00Z", 1709164800);
	utc_is("2000-02-29T00:00:00Z", 951782400);
	utc_is("2400-02-29 00:00:00", 13574563200LL);
}

Test(generalize, utc)
{
	utc_is("1970-01-01T00:00:00Z", 0);
	utc_is("1970-01-01 00:00:00", 0);
	utc_is("2024-03-01 12:34:56", 1709296496);
	utc_is("2024-03-01T13:34:56+01:00", 1709296496);
	utc_is("2024-03-01T13:34:56.999+0100", 1709296496);
	utc_is("2024-03-01T07:04:56-05:30", 1709296496);
	utc_is("2024-03-01T12:34", 1709296440);
	utc_is("1709296496", 1709296496);
	utc_is("1709296496.75", 1709296496);
	utc_is("1969-12-31T23:59:59Z", -1);
	utc_is("0000-01-01T00:00:00Z", -62167219200LL);
	utc_is("9999-12-31T23:59:59Z", 253402300799LL);
	utc_is("2016-12-31T23:59:60Z", 1483228800);
}

Test(generalize, epoch_ids)
{
	uint64_t id;

	cr_expect_eq(cm_time_epoch(0, CM_EPOCH_DAY, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_DAY, 0));
	cr_expect_eq(cm_time_epoch(1709296496, CM_EPOCH_DAY, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_DAY, 19783));
	cr_expect_eq(cm_time_epoch(1709296496, CM_EPOCH_MONTH, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_MONTH, (2024 - 1970) * 12 + 2));
	cr_expect_eq(cm_time_epoch(1709296496, CM_EPOCH_YEAR, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_YEAR, 54));
	/* month boundaries: the last second of February 2024, then March */
	cr_expect_eq(cm_time_epoch(1709251199, CM_EPOCH_MONTH, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_MONTH, 649));
	cr_expect_eq(cm_time_epoch(1709251200, CM_EPOCH_MONTH, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_MONTH, 650));
	/* year boundaries, including a leap year's last day */
	cr_expect_eq(cm_time_epoch(1735689599, CM_EPOCH_YEAR, &id), 0); /* 2024-12-31T23:59:59Z */
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_YEAR, 54));
	cr_expect_eq(cm_time_epoch(1735689599, CM_EPOCH_MONTH, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_MONTH, 54 * 12 + 11));
	cr_expect_eq(cm_time_epoch(1735689600, CM_EPOCH_YEAR, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_YEAR, 55));
	cr_expect_eq(cm_time_epoch(951868800, CM_EPOCH_MONTH, &id), 0); /* 2000-03-01 */
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_MONTH, 30 * 12 + 2));
	cr_expect_eq(cm_time_epoch(951868799, CM_EPOCH_MONTH, &id), 0); /* 2000-02-29 23:59:59 */
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_MONTH, 30 * 12 + 1));
	cr_expect_eq(cm_time_epoch(123, CM_EPOCH_NONE, &id), 0);
	cr_expect_eq(id, 0);
	cr_expect_eq(cm_time_epoch(-1, CM_EPOCH_DAY, &id), -1);
	cr_expect_eq(cm_time_epoch(0, (enum cm_epoch_unit)9, &id), -1);
	/* far future: no overflow, still monotonic */
	cr_expect_eq(cm_time_epoch(INT64_MAX, CM_EPOCH_YEAR, &id), 0);
}

/* Every day from 1970 to 2400: the month id changes exactly at the first of a month. */
Test(generalize, epoch_months_agree_with_utc)
{
	int y, m, d;
	uint64_t id;
	int64_t secs;
	char s[48];
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	for (y = 1970; y <= 2400; y++) {
		for (m = 1; m <= 12; m++) {
			int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
			int last = mdays[m - 1] + (m == 2 && leap);

			for (d = 1; d <= last; d += last - 1) {
				snprintf(s, sizeof s, "%04d-%02d-%02dT23:59:59Z", y, m, d);
				cr_assert_eq(cm_time_utc(s, strlen(s), &secs), 0, "%s", s);
				cr_assert_eq(cm_time_epoch(secs, CM_EPOCH_MONTH, &id), 0);
				cr_assert_eq(id, cm_epoch_id(CM_EPOCH_MONTH,
							     (uint64_t)(y - 1970) * 12 + (uint64_t)m - 1),
					     "%s", s);
				cr_assert_eq(cm_time_epoch(secs, CM_EPOCH_YEAR, &id), 0);
				cr_assert_eq(id, cm_epoch_id(CM_EPOCH_YEAR, (uint64_t)(y - 1970)));
				cr_assert_eq(cm_time_epoch(secs, CM_EPOCH_DAY, &id), 0);
				cr_assert_eq(id, cm_epoch_id(CM_EPOCH_DAY, (uint64_t)secs / 86400));
			}
		}
	}
}

Test(generalize, geo_round)
{
	geo_is("52.520008", 90, 2, "52.52");
	geo_is("52.525", 90, 2, "52.53");
	geo_is("-52.525", 90, 2, "-52.53");
	geo_is("52.524999", 90, 2, "52.52");
	geo_is("13.404954", 180, 3, "13.405");
	geo_is("13.4", 180, 3, "13.400");
	geo_is("13", 180, 2, "13.00");
	geo_is("13.5", 180, 0, "14");
	geo_is("-13.5", 180, 0, "-14");
	geo_is("-0.004", 90, 2, "0.00");
	geo_is("-0.00", 90, 2, "0.00");
	geo_is("-0", 90, 0, "0");
	geo_is("+1.25", 90, 1, "1.3");
	geo_is("0099.995", 180, 2, "100.00");
	geo_is("89.999", 90, 2, "90.00");
	geo_is("90", 90, 4, "90.0000");
	geo_is("-180.000", 180, 1, "-180.0");
	geo_is("0.123456789", 90, 9, "0.123456789");
	geo_is("0.1234567895", 90, 9, "0.123456790");
	geo_is("1.00000000000000000005", 90, 2, "-");    /* 21 digits */
	geo_is("1.0000000000000000005", 90, 2, "1.00");  /* 20 digits */
}

Test(generalize, geo_rejects)
{
	geo_is("90.0001", 90, 2, "-");
	geo_is("-90.0000001", 90, 2, "-");
	geo_is("180.5", 180, 2, "-");
	geo_is("91", 90, 2, "-");
	geo_is("90.0000000000000001", 90, 2, "-");
	geo_is("1.5", 90, 10, "-");
	geo_is("", 90, 2, "-");
	geo_is("-", 90, 2, "-");
	geo_is(".5", 90, 2, "-");
	geo_is("5.", 90, 2, "-");
	geo_is("1e1", 90, 2, "-");
	geo_is("1,5", 90, 2, "-");
	geo_is(" 1.5", 90, 2, "-");
	geo_is("1.5 ", 90, 2, "-");
	geo_is("--1", 90, 2, "-");
	geo_is("nan", 90, 2, "-");
	geo_is("0x1", 90, 2, "-");
	geo_is("000000000000000000001", 90, 2, "-"); /* 21 digits */
	geo_is("1.5", -1, 2, "-");
}

Test(generalize, geo_pair)
{
	pair_is("52.520008,13.404954", 2, "52.52,13.40");
	pair_is("52.520008 , 13.404954", 3, "52.520,13.405");
	pair_is("-33.8688,\t151.2093", 1, "-33.9,151.2");
	pair_is("91,0", 2, "-");
	pair_is("0,181", 2, "-");
	pair_is("0,180", 0, "0,180");
	pair_is("52.5", 2, "-");
	pair_is("52.5,", 2, "-");
	pair_is(",13.4", 2, "-");
	pair_is("1,2,3", 2, "-");
	pair_is(" 1,2", 2, "-");
	pair_is("1,2 ", 2, "-");
}

Test(generalize, cell_area)
{
	cell_is("262-01-1A2B-0000C3D4", "262-01-1A2B");
	cell_is("310-260-12345-67890", "310-260-12345");
	cell_is("001-01-1-1", "001-01-1");
	cell_is("262-01-ffffffff-ffffffff", "262-01-ffffffff");
	cell_is("262-01-1A2B", "-");
	cell_is("262-01-1A2B-", "-");
	cell_is("262-1-1A2B-1", "-");
	cell_is("262-0101-1A2B-1", "-");
	cell_is("26-01-1A2B-1", "-");
	cell_is("2620-01-1A2B-1", "-");
	cell_is("26a-01-1A2B-1", "-");
	cell_is("262-01-1G2B-1", "-");
	/* an LTE ECI in decimal (28 bits) and a 5G NCI (36 bits) */
	cell_is("262-01-4660-268435455", "262-01-4660");
	cell_is("262-01-4660-68719476735", "262-01-4660");
	cell_is("262-01-1234567890123-1", "-");
	cell_is("262-01-1-1234567890123", "-");
	cell_is("262-01--1", "-");
	cell_is("262-01-1-1-1", "-");
	cell_is("262/01/1/1", "-");
	cell_is("", "-");
	cell_is("262", "-");
	cell_is("262-", "-");
	cell_is("262-01", "-");
}

Test(generalize, geohash_truncate)
{
	/* the examples of Wikipedia's "Geohash" (57.64911,10.40744 and 42.6,-5.6) */
	geohash_is("u4pruydqqvj", 5, "u4pru");
	geohash_is("u4pruydqqvj", 1, "u");
	geohash_is("u4pruydqqvj", 11, "u4pruydqqvj");
	geohash_is("u4pruydqqvj", 12, "u4pruydqqvj");
	geohash_is("ezs42", 5, "ezs42");
	geohash_is("ezs42", 3, "ezs");
	/* London, 12 characters (about 4 cm) */
	geohash_is("gcpvj0dup40s", CM_GEOHASH_CHARS_DEFAULT, "gcpvj");
	geohash_is("gcpvj0dup40s", 12, "gcpvj0dup40s");
	/* case-insensitive, written in lower case */
	geohash_is("GCPVJ0DUP40S", 6, "gcpvj0");
	geohash_is("GcPvJ", 7, "gcpvj");
	/* already as coarse as asked, or coarser: whole */
	geohash_is("gcp", 5, "gcp");
	geohash_is("G", 5, "g");
	/* the whole alphabet, both cases */
	geohash_is("0123456789bc", 12, "0123456789bc");
	geohash_is("defghjkmnpqr", 12, "defghjkmnpqr");
	geohash_is("STUVWXYZ", 12, "stuvwxyz");
}

Test(generalize, geohash_rejects)
{
	static const char bin[] = "gcp\0vj";
	struct cm_buf out;

	/* a, i, l, o are not in the alphabet, anywhere in the value */
	geohash_is("gcpvja", 5, "-");
	geohash_is("igcpv", 5, "-");
	geohash_is("gcpvjL", 5, "-");
	geohash_is("gcpvjo0duq", 5, "-");
	geohash_is("gcpvj0duq5O", 5, "-");
	/* longer than 12 characters, empty, blanks, signs, separators */
	geohash_is("gcpvj0dup40s0", 5, "-");
	geohash_is("gcpvj0dup40s0000000", 12, "-");
	geohash_is("", 5, "-");
	geohash_is(" gcpvj", 5, "-");
	geohash_is("gcpvj ", 5, "-");
	geohash_is("gcp vj", 5, "-");
	geohash_is("-gcpvj", 5, "-");
	geohash_is("gcpvj,", 5, "-");
	geohash_is("51.5,-0.1", 5, "-");
	geohash_is("gcp\xc3\xa9", 5, "-");
	/* chars out of range */
	geohash_is("gcpvj", 0, "-");
	geohash_is("gcpvj", 13, "-");
	geohash_is("gcpvj", 1000, "-");
	/* a NUL byte inside the value: n bytes are read, not a C string */
	cm_buf_init(&out);
	cr_expect_eq(cm_geohash_truncate(bin, sizeof bin - 1, 2, &out), -1);
	cr_expect_eq(out.n, 0u);
	cr_expect_eq(cm_geohash_truncate(bin, 3, 2, &out), 0);
	cr_expect_eq(out.n, 2u);
	cm_buf_deinit(&out);
}

Test(generalize, decimal_parse)
{
	double v;

	cr_expect_eq(cm_decimal_parse("0", 1, &v), 0);
	cr_expect_eq(v, 0.0);
	cr_expect_eq(cm_decimal_parse("0.3", 3, &v), 0);
	cr_expect_eq(v, 0.3);
	cr_expect_eq(cm_decimal_parse("-12.5", 5, &v), 0);
	cr_expect_eq(v, -12.5);
	cr_expect_eq(cm_decimal_parse("+7", 2, &v), 0);
	cr_expect_eq(v, 7.0);
	cr_expect_eq(cm_decimal_parse("123456789012345678901234567890", 30, &v), 0);
	cr_expect_eq(v, 123456789012345678901234567890.0);
	cr_expect_eq(cm_decimal_parse("0.1000000000000000000000000000000000001", 39, &v), 0);
	cr_expect_eq(v, 0.1);
	cr_expect_eq(cm_decimal_parse("1234567890123456789012345678901234567890", 40, &v), 0);
	cr_expect_eq(cm_decimal_parse("12345678901234567890123456789012345678901", 41, &v), -1);
	cr_expect_eq(cm_decimal_parse("", 0, &v), -1);
	cr_expect_eq(cm_decimal_parse("-", 1, &v), -1);
	cr_expect_eq(cm_decimal_parse("1.", 2, &v), -1);
	cr_expect_eq(cm_decimal_parse(".1", 2, &v), -1);
	cr_expect_eq(cm_decimal_parse("1e3", 3, &v), -1);
	cr_expect_eq(cm_decimal_parse(" 1", 2, &v), -1);
	cr_expect_eq(cm_decimal_parse("1 ", 2, &v), -1);
	cr_expect_eq(cm_decimal_parse("inf", 3, &v), -1);
	cr_expect_eq(cm_decimal_parse("0x10", 4, &v), -1);
	cr_expect_eq(cm_decimal_parse("1\0", 2, &v), -1);
	cr_expect_eq(cm_decimal_parse("12", 1, &v), 0); /* reads only n bytes */
	cr_expect_eq(v, 1.0);
}

Test(generalize, buckets)
{
	double bound[] = { 0, 10, 60, 300 };
	char l0[] = "0", l1[] = "10", l2[] = "60", l3[] = "300";
	char *label[] = { l0, l1, l2, l3 };
	struct cm_bucket b = { 4, bound, label };
	struct {
		const char *v, *want;
	} t[] = {
		{ "-1", "<0" },      { "-0.001", "<0" }, { "0", "0-10" },    { "9.999", "0-10" },
		{ "10", "10-60" },   { "59", "10-60" },  { "60", "60-300" }, { "299.5", "60-300" },
		{ "300", "300+" },   { "86400", "300+" }, { "+10", "10-60" }, { "abc", "-" },
		{ "", "-" },         { "1e3", "-" },
	};
	struct cm_bucket none = { 0, NULL, NULL };
	struct cm_buf out;
	struct res r;
	size_t i;

	cm_buf_init(&out);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		cm_buf_reset(&out);
		r = collect(cm_bucket_put(&b, t[i].v, strlen(t[i].v), &out), &out, 0);
		cr_expect_str_eq(r.s, t[i].want, "bucket(%s)", t[i].v);
	}
	cm_buf_reset(&out);
	cr_expect_eq(cm_bucket_put(&none, "1", 1, &out), -1);
	cr_expect_eq(cm_bucket_put(NULL, "1", 1, &out), -1);
	cr_expect_eq(out.n, 0);
	cm_buf_deinit(&out);
}

Test(generalize, bucket_single_bound)
{
	double bound[] = { 1.5 };
	char l0[] = "1.5";
	char *label[] = { l0 };
	struct cm_bucket b = { 1, bound, label };
	struct cm_buf out;

	cm_buf_init(&out);
	cr_expect_eq(cm_bucket_put(&b, "1.4", 3, &out), 0);
	cr_expect_eq(cm_bucket_put(&b, "1.5", 3, &out), 0);
	cm_buf_addc(&out, '\0');
	cr_expect_str_eq(out.p, "<1.51.5+");
	cm_buf_deinit(&out);
}

/*
 * ---- the time fast paths against the former general parser --------------
 *
 * ref_* is the parser and calendar that src/generalize.c had before its
 * fixed-layout fast path (a field-by-field scan with a date search): the
 * model the fast code must agree with on every input, accepted or not.
 */

static int ref_is_digit(char c) { return c >= '0' && c <= '9'; }

static int ref_all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!ref_is_digit(s[i]))
			return 0;
	return 1;
}

static int64_t ref_digits_value(const char *s, size_t n)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!ref_is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int ref_is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static const unsigned short ref_dbm[13] = {
	0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365,
};

static unsigned ref_days_in_month(int64_t y, unsigned m)
{
	return ref_dbm[m] - ref_dbm[m - 1] + (m == 2 && ref_is_leap(y));
}

static int64_t ref_days_before_year(int64_t y)
{
	return 365 * y + (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
}

static int64_t ref_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	return ref_days_before_year(y) - ref_days_before_year(1970) + ref_dbm[m - 1] +
	       (m > 2 && ref_is_leap(y)) + d - 1;
}

/* The search: a year at or below the true one, stepped up, then the month. */
static void ref_civil_from_days(int64_t days, int64_t *year, unsigned *month)
{
	int64_t d0 = days + ref_days_before_year(1970), cycles, r, y;
	unsigned m, doy;

	cycles = d0 / 146097;
	r = d0 % 146097;
	y = r / 366;
	while (ref_days_before_year(y + 1) <= r)
		y++;
	doy = (unsigned)(r - ref_days_before_year(y));
	for (m = 1; m < 12; m++)
		if (doy < (unsigned)ref_dbm[m] + (unsigned)(m >= 2 && ref_is_leap(y)))
			break;
	*year = cycles * 400 + y;
	*month = m;
}

struct ref_tparse {
	int epoch;
	int64_t esecs;
	size_t int_len;
	int64_t y;
	unsigned mo, d, h, mi, s;
	int has_s;
	int off_min;
	size_t at_h, at_mi, at_s;
	size_t at_frac, frac_len;
};

static int ref_two(const char *s, size_t n, size_t i)
{
	if (i + 2 > n || !ref_is_digit(s[i]) || !ref_is_digit(s[i + 1]))
		return -1;
	return (s[i] - '0') * 10 + (s[i + 1] - '0');
}

static int ref_parse_epoch(const char *s, size_t n, struct ref_tparse *t)
{
	const char *dot = memchr(s, '.', n);
	size_t il = dot ? (size_t)(dot - s) : n;

	if (il < 9 || il > 10 || s[0] == '0' || !ref_all_digits(s, il))
		return -1;
	t->at_frac = t->frac_len = 0;
	if (dot) {
		t->at_frac = il + 1;
		t->frac_len = n - il - 1;
		if (t->frac_len == 0 || t->frac_len > 9 || !ref_all_digits(s + il + 1, t->frac_len))
			return -1;
	}
	t->epoch = 1;
	t->int_len = il;
	t->esecs = ref_digits_value(s, il);
	return 0;
}

static int ref_parse_calendar(const char *s, size_t n, struct ref_tparse *t)
{
	int64_t y;
	int mo, d, h, mi, sec = 0, oh, om, sign;
	size_t i;

	if (n < 16 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    s[13] != ':')
		return -1;
	y = ref_digits_value(s, 4);
	mo = ref_two(s, n, 5);
	d = ref_two(s, n, 8);
	h = ref_two(s, n, 11);
	mi = ref_two(s, n, 14);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || (unsigned)d > ref_days_in_month(y, (unsigned)mo) ||
	    h < 0 || h > 23 || mi < 0 || mi > 59)
		return -1;
	t->at_h = 11;
	t->at_mi = 14;
	i = 16;
	if (i < n && s[i] == ':') {
		sec = ref_two(s, n, i + 1);
		if (sec < 0 || sec > 60)
			return -1;
		t->has_s = 1;
		t->at_s = i + 1;
		i += 3;
		if (i < n && s[i] == '.') {
			t->at_frac = ++i;
			while (i < n && ref_is_digit(s[i]))
				i++;
			t->frac_len = i - t->at_frac;
			if (t->frac_len == 0 || t->frac_len > 9)
				return -1;
		}
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '-' ? -1 : 1;
		oh = ref_two(s, n, i + 1);
		i += 3;
		if (i < n && s[i] == ':')
			i++;
		om = ref_two(s, n, i);
		i += 2;
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return -1;
		t->off_min = sign * (oh * 60 + om);
	}
	if (i != n)
		return -1;
	t->y = y;
	t->mo = (unsigned)mo;
	t->d = (unsigned)d;
	t->h = (unsigned)h;
	t->mi = (unsigned)mi;
	t->s = (unsigned)sec;
	return 0;
}

static int ref_parse_time(const char *s, size_t n, struct ref_tparse *t)
{
	memset(t, 0, sizeof *t);
	if (n == 0)
		return -1;
	if (n >= 5 && s[4] == '-')
		return ref_parse_calendar(s, n, t);
	return ref_parse_epoch(s, n, t);
}

static int ref_time_floor(const char *s, size_t n, enum cm_time_unit u, struct cm_buf *out)
{
	static const int64_t unit_secs[] = { 60, 3600, 86400 };
	struct ref_tparse t;
	char *w;
	size_t start = out->n, i;
	int64_t v;

	if ((unsigned)u > CM_TIME_DAY || ref_parse_time(s, n, &t) != 0)
		return -1;
	if (cm_buf_reserve(out, n) != 0)
		return -1;
	w = out->p + start;
	if (t.epoch) {
		v = t.esecs - t.esecs % unit_secs[u];
		for (i = t.int_len; i-- > 0; v /= 10)
			w[i] = (char)('0' + v % 10);
		if (t.frac_len) {
			w[t.int_len] = '.';
			memset(w + t.at_frac, '0', t.frac_len);
		}
		out->n += n;
		return 0;
	}
	memcpy(w, s, n);
	memset(w + t.at_frac, '0', t.frac_len);
	if (t.has_s)
		memset(w + t.at_s, '0', 2);
	if (u >= CM_TIME_HOUR)
		memset(w + t.at_mi, '0', 2);
	if (u >= CM_TIME_DAY)
		memset(w + t.at_h, '0', 2);
	out->n += n;
	return 0;
}

static int ref_time_utc(const char *s, size_t n, int64_t *secs)
{
	struct ref_tparse t;

	if (ref_parse_time(s, n, &t) != 0)
		return -1;
	if (t.epoch) {
		*secs = t.esecs;
		return 0;
	}
	*secs = ref_days_from_civil(t.y, t.mo, t.d) * 86400 + (int64_t)t.h * 3600 +
		(int64_t)t.mi * 60 + t.s - (int64_t)t.off_min * 60;
	return 0;
}

static int ref_time_epoch(int64_t secs, enum cm_epoch_unit u, uint64_t *id)
{
	int64_t days, year;
	unsigned month;

	if (secs < 0)
		return -1;
	days = secs / 86400;
	ref_civil_from_days(days, &year, &month);
	switch (u) {
	case CM_EPOCH_NONE:
		*id = 0;
		return 0;
	case CM_EPOCH_DAY:
		*id = cm_epoch_id(u, (uint64_t)days);
		return 0;
	case CM_EPOCH_MONTH:
		*id = cm_epoch_id(u, (uint64_t)((year - 1970) * 12 + month - 1));
		return 0;
	case CM_EPOCH_YEAR:
		*id = cm_epoch_id(u, (uint64_t)(year - 1970));
		return 0;
	}
	return -1;
}

/* Both epoch functions agree (status and id) on secs for every unit, valid or not. */
static int epoch_agrees(int64_t secs)
{
	uint64_t a, b;
	int u;

	for (u = 0; u <= 4; u++) {
		int ra, rb;

		a = b = 0x5a5a;
		ra = cm_time_epoch(secs, (enum cm_epoch_unit)u, &a);
		rb = ref_time_epoch(secs, (enum cm_epoch_unit)u, &b);
		if (ra != rb || a != b) {
			cr_log_error("epoch(%lld, %d): %d %llx, the model %d %llx", (long long)secs, u,
				     ra, (unsigned long long)a, rb, (unsigned long long)b);
			return 0;
		}
	}
	return 1;
}

/*
 * cm_time_floor (each unit, and one unit out of range), cm_time_utc,
 * cm_time_epoch_of (each unit, one out of range) and, on what utc accepts,
 * cm_time_epoch agree with the model on s[0..n). The
 * bytes are copied to the end of their own allocation, so a read past n
 * is an error under ASan and valgrind. Returns 1 when all agree.
 */
static int time_agrees(const char *s, size_t n)
{
	char *c = malloc(n ? n : 1);
	struct cm_buf fa, fb;
	int64_t sa = 0, sb = 0;
	int u, ok = 1, ra, rb;

	cr_assert_not_null(c);
	memcpy(c, s, n);
	cm_buf_init(&fa);
	cm_buf_init(&fb);
	for (u = 0; u <= 3 && ok; u++) {
		cm_buf_reset(&fa);
		cm_buf_reset(&fb);
		cm_buf_adds(&fa, "x");
		cm_buf_adds(&fb, "x");
		ra = cm_time_floor(c, n, (enum cm_time_unit)u, &fa);
		rb = ref_time_floor(c, n, (enum cm_time_unit)u, &fb);
		if (ra != rb || fa.n != fb.n || fa.n > fa.cap || memcmp(fa.p, fb.p, fa.n) != 0)
			ok = 0;
	}
	ra = cm_time_utc(c, n, &sa);
	rb = ref_time_utc(c, n, &sb);
	if (ra != rb || (ra == 0 && sa != sb))
		ok = 0;
	for (u = 0; u <= 4 && ok; u++) {
		uint64_t ia = 0x5a5a, ib = 0x5a5a;
		int ea = cm_time_epoch_of(c, n, (enum cm_epoch_unit)u, &ia);
		int eb = rb == 0 ? ref_time_epoch(sb, (enum cm_epoch_unit)u, &ib) : -1;

		if (ea != eb || ia != ib)
			ok = 0;
	}
	if (!ok)
		cr_log_error("time \"%.*s\" (%zu bytes): not as the model", (int)n, s, n);
	else if (ra == 0)
		ok = epoch_agrees(sa);
	cm_buf_deinit(&fa);
	cm_buf_deinit(&fb);
	free(c);
	return ok;
}

static int time_agrees_s(const char *s) { return time_agrees(s, strlen(s)); }

/* Every date field at and around its limits, with each separator and zone. */
Test(generalize, time_fast_path_boundaries)
{
	static const char *const years[] = { "0000", "0001", "0004", "0100", "0400", "1600",
					     "1899", "1900", "1969", "1970", "1999", "2000",
					     "2001", "2023", "2024", "2100", "2400", "9996",
					     "9999", "199a", "+024", " 202" };
	static const char *const two_digit[] = { "00", "01", "09", "10", "12", "13", "23", "24",
						 "28", "29", "30", "31", "32", "59", "60", "61",
						 "99", "0a", "a0", "1:", "/0", " 1", "-1" };
	static const char *const tails[] = {
		"",        ".5",         ".123456789", ".1234567890", ".",     "Z",
		"z",       ".000Z",      "+01:00",     "-05:30",      "+0100", "-2359",
		"+23:59",  "+24:00",     "+01:60",     "+01",         "+01:0", "+1:00",
		"Z ",      " ",          "\n",         "\r",          "\0",    "+01:00Z",
		".5+01:00", ".5Z",       ".5z",        "ZZ",          "+01:00:00", "-00:00",
	};
	static const char seps[] = { ' ', 'T', 't', 'X', '_', '\0' };
	char s[80];
	size_t i, j, k, l, bad = 0, runs = 0;

	cr_assert(tails[22][0] == '\0' && sizeof tails / sizeof tails[0] == 30);
	/* the date: every year against every month and day, then the clock */
	for (i = 0; i < sizeof years / sizeof years[0]; i++)
		for (j = 0; j < sizeof two_digit / sizeof two_digit[0]; j++)
			for (k = 0; k < sizeof two_digit / sizeof two_digit[0]; k++) {
				snprintf(s, sizeof s, "%s-%s-%s 12:34:56", years[i], two_digit[j],
					 two_digit[k]);
				bad += !time_agrees_s(s);
				runs++;
			}
	for (i = 0; i < sizeof two_digit / sizeof two_digit[0]; i++)
		for (j = 0; j < sizeof two_digit / sizeof two_digit[0]; j++)
			for (k = 0; k < sizeof two_digit / sizeof two_digit[0]; k++) {
				snprintf(s, sizeof s, "2024-02-29T%s:%s:%s", two_digit[i], two_digit[j],
					 two_digit[k]);
				bad += !time_agrees_s(s);
				snprintf(s, sizeof s, "2023-12-31 %s:%s%s", two_digit[i], two_digit[j],
					 k == 0 ? "" : "Z");
				bad += !time_agrees_s(s);
				runs += 2;
			}
	/* each separator with each zone, with and without seconds */
	for (i = 0; i < sizeof seps; i++)
		for (j = 0; j < sizeof tails / sizeof tails[0]; j++)
			for (l = 0; l < 2; l++) {
				size_t n = (size_t)snprintf(s, sizeof s, "2024-03-01%c23:59%s", 'Q',
							    l ? ":60" : "");
				size_t tl = j == 22 ? 1 : strlen(tails[j]); /* "\0" is one byte */

				s[10] = seps[i];
				memcpy(s + n, tails[j], tl);
				bad += !time_agrees(s, n + tl);
				runs++;
			}
	cr_expect_eq(bad, 0, "%zu of %zu times not as the model", bad, runs);
	cr_expect_gt(runs, 20000);
}

/*
 * Every byte value in every position of each base string, every length cut
 * of it, and one byte more: where a fixed-layout check could skip a byte,
 * look too far or let a neighbour's carry through.
 */
Test(generalize, time_fast_path_every_byte)
{
	static const char *const base[] = {
		"2024-02-29 23:59:60",
		"2023-02-28T00:00:00.123456789+23:59",
		"2000-12-31t12:30Z",
		"1970-01-01 00:00:00-0000",
		"9999-12-31T23:59:59.9z",
		"1709296496.25",
		"999999999",
	};
	char s[64];
	size_t b, i, n, bad = 0, runs = 0;
	int c;

	for (b = 0; b < sizeof base / sizeof base[0]; b++) {
		n = strlen(base[b]);
		cr_assert_lt(n + 1, sizeof s);
		for (i = 0; i <= n; i++) {
			for (c = 0; c < 256; c++) {
				memcpy(s, base[b], n);
				s[i] = (char)c; /* i == n: one byte more */
				bad += !time_agrees(s, i == n ? n + 1 : n);
				runs++;
			}
			bad += !time_agrees(base[b], i); /* a cut */
			runs++;
		}
	}
	cr_expect_eq(bad, 0, "%zu of %zu times not as the model", bad, runs);
}

/*
 * Two bytes at once in the head, next to each other or one apart: a carry
 * out of one byte of a word-wide check reaches only its neighbour.
 */
Test(generalize, time_fast_path_byte_pairs)
{
	static const char base[] = "2024-02-29 23:59:59";
	static const unsigned char probe[] = { 0x00, 0x06, 0x09, 0x2f, 0x30, 0x39, 0x3a, 0x3f,
					       0x40, 0x7f, 0x80, 0xb9, 0xc0, 0xf0, 0xf9, 0xfa,
					       0xff, 'T', ' ', '-', ':' };
	char s[sizeof base];
	size_t i, j, p, q, bad = 0;

	for (i = 0; i < 16; i++)
		for (j = i + 1; j <= i + 2 && j < 16; j++)
			for (p = 0; p < sizeof probe; p++)
				for (q = 0; q < sizeof probe; q++) {
					memcpy(s, base, sizeof base);
					s[i] = (char)probe[p];
					s[j] = (char)probe[q];
					bad += !time_agrees(s, sizeof base - 1);
				}
	cr_expect_eq(bad, 0);
}

/* Every day to 2517 and the first and last day of every month to 9999. */
Test(generalize, epoch_matches_model)
{
	static const int64_t far[] = { INT64_MAX, INT64_MAX - 86399, 253402300799LL,
				       253402300800LL, 1LL << 40, 1LL << 50, 1LL << 62 };
	int64_t day, y, seed = 0x2545f4914f6cdd1dLL;
	unsigned m;
	size_t i, bad = 0;

	for (day = 0; day < 200000; day++)
		bad += !epoch_agrees(day * 86400 + (day % 86400));
	for (y = 1970; y <= 9999; y++)
		for (m = 1; m <= 12; m++) {
			int64_t first = ref_days_from_civil(y, m, 1);
			int64_t last = first + ref_days_in_month(y, m) - 1;

			bad += !epoch_agrees(first * 86400);
			bad += !epoch_agrees(last * 86400 + 86399);
		}
	for (i = 0; i < sizeof far / sizeof far[0]; i++)
		bad += !epoch_agrees(far[i]);
	/* a fixed xorshift sequence over all of int64, negative ones included */
	for (i = 0; i < 100000; i++) {
		uint64_t x = (uint64_t)seed;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		seed = (int64_t)x;
		bad += !epoch_agrees(seed);
		bad += !epoch_agrees(seed >> (i % 40));
	}
	bad += !epoch_agrees(-1);
	bad += !epoch_agrees(INT64_MIN);
	cr_expect_eq(bad, 0);
}

/* A buffer that ran out of memory refuses a floor even with room left, as before. */
/*
 * cm_time_floor_same never answers 1 where flooring s would not give last's
 * bytes: for every last below that floors under a unit (the CDR layout and
 * other forms of its length), every byte value in every position of
 * several times near it. It does answer 1 for the times of the same hour
 * (minute, under CM_TIME_MINUTE).
 */
Test(generalize, floor_same_agrees)
{
	static const char *const lasts[] = {
		"2024-02-29 23:59:60", "2024-03-01T00:00:08", "2023-12-31t23:59:59",
		"1999-01-01 00:00:00", "2024-02-28 10:30:00", "1709251200.12345678",
		"2024-03-01T10:00+01", "2024-03-01T10:00:0Z", "2024-03-01 10:00.5Z",
	};
	static const char *const near[] = { "", "00:00", "59:60", "30:07", "05:59" };
	struct cm_buf fl, fs;
	char s[24];
	size_t l, u, k, i, n = 19, same = 0, checked = 0, floored = 0;
	int c;

	cm_buf_init(&fl);
	cm_buf_init(&fs);
	for (u = CM_TIME_MINUTE; u <= CM_TIME_DAY; u++)
		for (l = 0; l < sizeof lasts / sizeof lasts[0]; l++) {
			cm_buf_reset(&fl);
			if (cm_time_floor(lasts[l], n, (enum cm_time_unit)u, &fl) != 0)
				continue;
			floored++;
			for (k = 0; k < sizeof near / sizeof near[0]; k++)
				for (i = 0; i < n; i++)
					for (c = 0; c < 256; c++) {
						memcpy(s, lasts[l], n);
						if (near[k][0])
							memcpy(s + 14, near[k], 5);
						s[i] = (char)c;
						if (!cm_time_floor_same(lasts[l], s, n, (enum cm_time_unit)u))
							continue;
						same++;
						cm_buf_reset(&fs);
						cr_assert_eq(cm_time_floor(s, n, (enum cm_time_unit)u, &fs), 0,
							     "\"%.19s\" after \"%s\", unit %zu: not a time", s,
							     lasts[l], u);
						cr_assert(fs.n == fl.n && memcmp(fs.p, fl.p, fl.n) == 0,
							  "\"%.19s\" after \"%s\", unit %zu: \"%.*s\", not \"%.*s\"",
							  s, lasts[l], u, (int)fs.n, fs.p, (int)fl.n, fl.p);
						checked++;
					}
		}
	cr_assert_gt(floored, 15, "%zu of the last values floored", floored);
	cr_assert_gt(same, 1000, "%zu answers of 1", same);
	cr_assert_eq(same, checked);
	/* as written */
	cr_assert(cm_time_floor_same("2024-03-01 10:00:00", "2024-03-01 10:59:60", n, CM_TIME_HOUR));
	cr_assert(cm_time_floor_same("2024-03-01 10:00:00", "2024-03-01 11:00:00", n, CM_TIME_DAY) == 0);
	cr_assert(cm_time_floor_same("2024-03-01 10:00:00", "2024-03-01 10:01:00", n, CM_TIME_MINUTE) == 0);
	cr_assert(cm_time_floor_same("2024-03-01 10:00:00", "2024-03-01 10:00:59", n, CM_TIME_MINUTE));
	cr_assert(cm_time_floor_same("2024-03-01 10:00:00", "2024-03-01 10:60:00", n, CM_TIME_HOUR) == 0);
	cr_assert(cm_time_floor_same("2024-03-01 10:00:00", "2024-03-01 10:00:61", n, CM_TIME_HOUR) == 0);
	cr_assert(cm_time_floor_same("2024-03-01 10:00:00", "2024-03-01T10:00:00", n, CM_TIME_HOUR) == 0);
	cr_assert(cm_time_floor_same("2024-03-01T10:00+01", "2024-03-01T10:00:00", n, CM_TIME_HOUR) == 0);
	cr_assert(cm_time_floor_same("2024-03-01 10:00:00", "2024-03-01 10:00:00.", 20, CM_TIME_HOUR) == 0);
	cm_buf_deinit(&fl);
	cm_buf_deinit(&fs);
}

Test(generalize, floor_after_oom)
{
	struct cm_buf out;

	cm_buf_init(&out);
	cr_assert_eq(cm_buf_reserve(&out, 64), 0);
	out.oom = 1;
	cr_expect_eq(cm_time_floor("2024-03-01 12:34:56", 19, CM_TIME_HOUR, &out), -1);
	cr_expect_eq(cm_time_floor("1709296496", 10, CM_TIME_HOUR, &out), -1);
	cr_expect_eq(ref_time_floor("2024-03-01 12:34:56", 19, CM_TIME_HOUR, &out), -1);
	cr_expect_eq(out.n, 0);
	out.oom = 0;
	cm_buf_deinit(&out);
}

/* The one-step epoch where the shortcut stops: leap seconds, offsets, 1969. */
Test(generalize, epoch_of_edges)
{
	static const char *const t[] = {
		"2016-12-31T23:59:60Z",      "2016-12-31 23:59:60",       "2024-02-29 23:59:60",
		"2024-02-29 23:59:59",       "2024-03-01T00:59:59+01:00", "2024-03-01T00:00:00+00:00",
		"2024-02-29T23:00:00-01:00", "2024-03-31T23:59:60-00:00", "1969-12-31T23:59:60Z",
		"1969-12-31T23:59:59Z",      "1970-01-01T00:30:00+01:00", "1969-12-31T23:30:00-01:00",
		"1970-01-01 00:00:00",       "9999-12-31T23:59:60Z",      "0000-01-01T00:00:00Z",
		"1709251199",                "1709251200.5",              "2024-03-01T00:00",
	};
	size_t i;
	uint64_t id;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		cr_expect(time_agrees_s(t[i]), "%s", t[i]);
	/* the leap second at the end of 2016 is in January 2017, 47 years on */
	cr_expect_eq(cm_time_epoch_of(t[0], strlen(t[0]), CM_EPOCH_YEAR, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_YEAR, 47));
	cr_expect_eq(cm_time_epoch_of(t[0], strlen(t[0]), CM_EPOCH_MONTH, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_MONTH, 47 * 12));
	cr_expect_eq(cm_time_epoch_of(t[8], strlen(t[8]), CM_EPOCH_DAY, &id), 0);
	cr_expect_eq(id, cm_epoch_id(CM_EPOCH_DAY, 0));
	cr_expect_eq(cm_time_epoch_of(t[9], strlen(t[9]), CM_EPOCH_DAY, &id), -1);
	cr_expect_eq(cm_time_epoch_of(t[10], strlen(t[10]), CM_EPOCH_MONTH, &id), -1);
	cr_expect_eq(cm_time_epoch_of("", 0, CM_EPOCH_MONTH, &id), -1);
}

/* A floor appended where the buffer is full or nearly so grows it, whichever path it takes. */
Test(generalize, floor_grows_the_buffer)
{
	static const char *const t[] = { "2024-03-01 12:34:56", "2024-03-01T12:34:56.5Z", "1709296496" };
	struct cm_buf out, want;
	size_t i, k, cap;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		for (k = 0; k <= 24; k++) {
			cm_buf_init(&out);
			cm_buf_init(&want);
			cr_assert_eq(cm_buf_reserve(&out, 1), 0);
			cap = out.cap;
			memset(out.p, 'x', cap - k);
			out.n = cap - k;
			cm_buf_add(&want, out.p, out.n);
			cr_assert_eq(cm_time_floor(t[i], strlen(t[i]), CM_TIME_HOUR, &out), 0);
			cr_assert_eq(ref_time_floor(t[i], strlen(t[i]), CM_TIME_HOUR, &want), 0);
			cr_expect(out.n == want.n && memcmp(out.p, want.p, out.n) == 0, "%s with %zu free",
				  t[i], k);
			cr_expect_eq(out.oom, 0);
			cr_expect_leq(out.n, out.cap, "%s with %zu free: wrote past the buffer", t[i], k);
			cm_buf_deinit(&out);
			cm_buf_deinit(&want);
		}
	}
}
