/* Unit tests: times, coordinates, geohashes, cells, buckets (src/generalize.c). */
#include <criterion/criterion.h>
#include <stdio.h>
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
