/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

#define SEC	INT64_C(1000)
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

/*
 * Check records every passing ck_assert (a write each); the long loops
 * below use these, which cost nothing until they fail.
 */
#define LOOP_EQ(a, b) do {						\
	int64_t a_ = (a), b_ = (b);					\
	if (a_ != b_)							\
		ck_abort_msg("%s == %s: %lld != %lld", #a, #b,		\
		    (long long)a_, (long long)b_);			\
} while (0)
#define LOOP_TRUE(c, ...) do {						\
	if (!(c))							\
		ck_abort_msg(__VA_ARGS__);				\
} while (0)

/* 2026-11-25T12:00:00Z */
#define NOV25	INT64_C(1795608000000)

/* A small seeded generator, so that failures repeat. */
static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- RFC 3339 ------------------------------------------------------------ */

static const struct {
	const char	*s;
	int64_t		 ms;
} rfc_good[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "2026-11-25T12:00:00Z", NOV25 },
	{ "2026-11-25t12:00:00z", NOV25 },
	{ "2026-11-25 12:00:00Z", NOV25 },
	{ "2026-11-25T14:00:00+02:00", NOV25 },
	{ "2026-11-25T06:30:00-05:30", NOV25 },
	{ "2026-11-26T01:45:00+13:45", NOV25 },
	{ "2026-11-25T12:00:00-00:00", NOV25 },
	{ "2026-11-25T12:00:00+00:00", NOV25 },
	{ "2026-11-25T12:00:00.1Z", NOV25 + 100 },
	{ "2026-11-25T12:00:00.12Z", NOV25 + 120 },
	{ "2026-11-25T12:00:00.123Z", NOV25 + 123 },
	{ "2026-11-25T12:00:00.000Z", NOV25 },
	{ "2026-11-25T12:00:00.123456Z", NOV25 + 123 },
	{ "2026-11-25T12:00:00.123999999999Z", NOV25 + 123 },
	{ "2026-11-25T12:00:00.9999+00:00", NOV25 + 999 },
	{ "2026-11-25T13:00:00.5+01:00", NOV25 + 500 },
	{ "2028-02-29T00:00:00Z", INT64_C(1835395200000) },
	{ "2000-02-29T00:00:00Z", INT64_C(951782400000) },
	{ "2024-02-29T12:34:56.789Z", INT64_C(1709210096789) },
	{ "1970-01-01T01:00:00+01:00", 0 },
	{ "9999-12-31T23:59:59.999Z", INT64_C(253402300799999) },
	/* A leap second counts as the next minute's first instant. */
	{ "2016-12-31T23:59:60Z", INT64_C(1483228800000) },
};

START_TEST(rfc3339_good)
{
	int64_t ms = -42;

	ck_assert_msg(timefmt_parse_rfc3339(rfc_good[_i].s, &ms) == 0,
	    "refused \"%s\"", rfc_good[_i].s);
	ck_assert_int_eq(ms, rfc_good[_i].ms);
}
END_TEST

static const char *const rfc_bad[] = {
	"",
	"2026-11-25",
	"2026-02-30T00:00:00Z",
	"2026-02-29T00:00:00Z",
	"2100-02-29T00:00:00Z",
	"2026-04-31T00:00:00Z",
	"2026-13-01T00:00:00Z",
	"2026-00-10T00:00:00Z",
	"2026-01-00T00:00:00Z",
	"2026-01-32T00:00:00Z",
	"2026-11-25T24:00:00Z",
	"2026-11-25T12:60:00Z",
	"2026-11-25T12:00:61Z",
	"2026-11-25T12:00Z",
	"2026-11-25T12:00:00",
	"2026-11-25T12:00:00+0200",
	"2026-11-25T12:00:00+02",
	"2026-11-25T12:00:00+24:00",
	"2026-11-25T12:00:00+02:60",
	"2026-11-25T12:00:00.Z",
	"2026-11-25T12:00:00,5Z",
	"2026-11-25T12:00:00Z ",
	" 2026-11-25T12:00:00Z",
	"2026-11-25T12:00:00ZZ",
	"2026-11-25X12:00:00Z",
	"2026-11-25T1:00:00Z",
	"2026-1-25T12:00:00Z",
	"+2026-11-25T12:00:00Z",
	"20261125T120000Z",
	"1969-12-31T23:59:59Z",
	"1970-01-01T00:30:00+01:00",
	"10000-01-01T00:00:00Z",
	"2026-11-25T12:00:00UTC",
	"2026-11-25T12:00:00\xff",
	"now",
};

START_TEST(rfc3339_bad)
{
	int64_t ms = 42;

	ck_assert_msg(timefmt_parse_rfc3339(rfc_bad[_i], &ms) == -1,
	    "accepted \"%s\"", rfc_bad[_i]);
	ck_assert_int_eq(ms, 42);
}
END_TEST

START_TEST(rfc3339_null)
{
	int64_t ms = 42;

	ck_assert_int_eq(timefmt_parse_rfc3339(NULL, &ms), -1);
	ck_assert_int_eq(ms, 42);
}
END_TEST

START_TEST(rfc3339_format)
{
	char buf[TIMEFMT_RFC3339_LEN];

	timefmt_format_rfc3339(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
	timefmt_format_rfc3339(NOV25, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-25T12:00:00Z");
	timefmt_format_rfc3339(NOV25 + 123, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-25T12:00:00.123Z");
	timefmt_format_rfc3339(NOV25 + 1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-25T12:00:00.001Z");
	timefmt_format_rfc3339(NOV25 + 100, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-25T12:00:00.100Z");
	timefmt_format_rfc3339(INT64_C(1709210096789), buf, sizeof(buf));
	ck_assert_str_eq(buf, "2024-02-29T12:34:56.789Z");
	timefmt_format_rfc3339(INT64_C(253402300799999), buf, sizeof(buf));
	ck_assert_str_eq(buf, "9999-12-31T23:59:59.999Z");
	/* Before the epoch, the arithmetic still floors. */
	timefmt_format_rfc3339(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T23:59:59.999Z");
	timefmt_format_rfc3339(-DAY, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T00:00:00Z");
}
END_TEST

START_TEST(rfc3339_format_truncates)
{
	char buf[11];

	memset(buf, 'x', sizeof(buf));
	timefmt_format_rfc3339(NOV25, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-25");
	/* A zero-length buffer is left alone. */
	buf[0] = 'x';
	timefmt_format_rfc3339(NOV25, buf, 0);
	ck_assert_int_eq(buf[0], 'x');
	/* Extreme values do not crash. */
	timefmt_format_rfc3339(INT64_MAX, buf, sizeof(buf));
	timefmt_format_rfc3339(INT64_MIN, buf, sizeof(buf));
}
END_TEST

START_TEST(rfc3339_roundtrip)
{
	char buf[TIMEFMT_RFC3339_LEN];
	uint64_t seed = 0x5eed1234abcdULL;
	int64_t ms, back;
	int i;

	for (i = 0; i < 100000; i++) {
		ms = (int64_t)(next_rand(&seed) % UINT64_C(253402300800000));
		if (i % 2)
			ms -= ms % SEC;		/* also whole seconds */
		timefmt_format_rfc3339(ms, buf, sizeof(buf));
		LOOP_TRUE(timefmt_parse_rfc3339(buf, &back) == 0,
		    "refused own output \"%s\"", buf);
		LOOP_EQ(back, ms);
		LOOP_EQ(strlen(buf), ms % SEC ? 24 : 20);
	}
}
END_TEST

/* ---- calendar ------------------------------------------------------------ */

START_TEST(calendar_matches_timegm)
{
	struct tm tm;
	time_t t;
	int64_t day;
	int y, m, d;

	/* Every day of 1900..2400, against the C library. */
	for (day = -25567; day < 157054; day++) {
		t = (time_t)(day * 86400);
		LOOP_TRUE(gmtime_r(&t, &tm) != NULL, "gmtime_r");
		timefmt_civil_from_days(day, &y, &m, &d);
		LOOP_EQ(y, tm.tm_year + 1900);
		LOOP_EQ(m, tm.tm_mon + 1);
		LOOP_EQ(d, tm.tm_mday);
		LOOP_EQ(timefmt_days_from_civil(y, m, d), day);
	}
}
END_TEST

START_TEST(calendar_normalizes)
{
	int y, m, d;

	ck_assert_int_eq(timefmt_days_from_civil(1970, 1, 1), 0);
	ck_assert_int_eq(timefmt_days_from_civil(1969, 12, 31), -1);
	ck_assert_int_eq(timefmt_days_from_civil(2026, 13, 1),
	    timefmt_days_from_civil(2027, 1, 1));
	ck_assert_int_eq(timefmt_days_from_civil(2026, 0, 1),
	    timefmt_days_from_civil(2025, 12, 1));
	ck_assert_int_eq(timefmt_days_from_civil(2026, -11, 1),
	    timefmt_days_from_civil(2025, 1, 1));
	ck_assert_int_eq(timefmt_days_from_civil(2026, 3, 0),
	    timefmt_days_from_civil(2026, 2, 28));
	ck_assert_int_eq(timefmt_days_from_civil(2028, 3, 0),
	    timefmt_days_from_civil(2028, 2, 29));
	ck_assert_int_eq(timefmt_days_from_civil(2026, 12, 32),
	    timefmt_days_from_civil(2027, 1, 1));
	ck_assert_int_eq(timefmt_days_from_civil(1970, 1, 1 + 20417),
	    timefmt_days_from_civil(2025, 11, 25));
	timefmt_civil_from_days(timefmt_days_from_civil(9999, 12, 31),
	    &y, &m, &d);
	ck_assert(y == 9999 && m == 12 && d == 31);
	timefmt_civil_from_days(timefmt_days_from_civil(1, 1, 1), &y, &m, &d);
	ck_assert(y == 1 && m == 1 && d == 1);
	/* Absurd counts are clamped, not overflowed. */
	timefmt_civil_from_days(INT64_MAX, &y, &m, &d);
	ck_assert_int_gt(y, 1000000);
	timefmt_civil_from_days(INT64_MIN, &y, &m, &d);
	ck_assert_int_lt(y, -1000000);
}
END_TEST

/* ---- durations ----------------------------------------------------------- */

static const struct {
	const char	*s;
	int64_t		 ms;
} dur_good[] = {
	{ "0", 0 },
	{ "0s", 0 },
	{ "90", 90 * SEC },
	{ "45s", 45 * SEC },
	{ "90m", 90 * MIN },
	{ "1h30m", 90 * MIN },
	{ "1h 30m", 90 * MIN },
	{ "3h 05m", 3 * HOUR + 5 * MIN },
	{ "12m 30s", 750000 },
	{ "2d 4h", 2 * DAY + 4 * HOUR },
	{ "7d", 7 * DAY },
	{ "2w", 14 * DAY },
	{ "500ms", 500 },
	{ "1s500ms", 1500 },
	{ "1m1ms", MIN + 1 },
	{ "1w2d3h4m5s6ms", 9 * DAY + 3 * HOUR + 4 * MIN + 5 * SEC + 6 },
	{ "0001h", HOUR },
	{ "9223372036854775807ms", INT64_MAX },
	{ "9223372036854775s", INT64_C(9223372036854775000) },
	{ "106751991167d", INT64_C(106751991167) * DAY },
};

START_TEST(duration_good)
{
	int64_t ms = -42;

	ck_assert_msg(timefmt_parse_duration(dur_good[_i].s, &ms) == 0,
	    "refused \"%s\"", dur_good[_i].s);
	ck_assert_int_eq(ms, dur_good[_i].ms);
}
END_TEST

static const char *const dur_bad[] = {
	"",
	" ",
	"-5m",
	"+5m",
	"5x",
	"m",
	"h1",
	"1.5h",
	"1,5h",
	"1h30",			/* a bare number only on its own */
	"30m1h",		/* units go from large to small */
	"1m1m",
	"1s1m",
	"1ms1s",
	"1H",
	"1M",
	" 5m",
	"5m ",
	"1h  30m",
	"1h\t30m",
	"1h,30m",
	"1hx30m",
	"1h_30m",
	"1 h",
	"5mm",
	"5msec",
	"9223372036854775808ms",
	"9223372036854776s",
	"106751991168d",
	"15250284452w 6d",	/* the sum overflows */
	"99999999999999999999",
	"1e3",
	"0x10",
};

START_TEST(duration_bad)
{
	int64_t ms = 42;

	ck_assert_msg(timefmt_parse_duration(dur_bad[_i], &ms) == -1,
	    "accepted \"%s\"", dur_bad[_i]);
	ck_assert_int_eq(ms, 42);
	ck_assert_int_eq(timefmt_parse_duration(NULL, &ms), -1);
}
END_TEST

static const struct {
	int64_t		 ms;
	const char	*s;
} dur_fmt[] = {
	{ 0, "0s" },
	{ 1, "0s" },
	{ 999, "0s" },
	{ -999, "0s" },
	{ 1000, "1s" },
	{ 45 * SEC, "45s" },
	{ 45 * SEC + 999, "45s" },
	{ 59 * SEC + 999, "59s" },
	{ MIN, "1m 00s" },
	{ 750000, "12m 30s" },
	{ 59 * MIN + 59 * SEC, "59m 59s" },
	{ HOUR, "1h 00m" },
	{ 3 * HOUR + 5 * MIN, "3h 05m" },
	{ 3 * HOUR + 5 * MIN + 59 * SEC, "3h 05m" },
	{ 23 * HOUR + 59 * MIN, "23h 59m" },
	{ DAY, "1d 0h" },
	{ 2 * DAY + 4 * HOUR, "2d 4h" },
	{ 2 * DAY + 4 * HOUR + 59 * MIN, "2d 4h" },
	{ 400 * DAY + 23 * HOUR, "400d 23h" },
	{ -750000, "-12m 30s" },
	{ -45 * SEC, "-45s" },
	{ -(2 * DAY + 4 * HOUR), "-2d 4h" },
	{ INT64_MAX, "106751991167d 7h" },
	{ INT64_MIN, "-106751991167d 7h" },
};

START_TEST(duration_format)
{
	char buf[TIMEFMT_DURATION_LEN];

	timefmt_format_duration(dur_fmt[_i].ms, buf, sizeof(buf));
	ck_assert_str_eq(buf, dur_fmt[_i].s);
}
END_TEST

START_TEST(duration_format_small_buffer)
{
	char buf[4];

	timefmt_format_duration(750000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "12m");
	buf[0] = 'x';
	timefmt_format_duration(750000, buf, 0);
	ck_assert_int_eq(buf[0], 'x');
}
END_TEST

/* What people read back parses to the value, cut to the units shown. */
START_TEST(duration_roundtrip)
{
	char buf[TIMEFMT_DURATION_LEN];
	uint64_t seed = 0xd00d5eedULL;
	int64_t ms, back, unit;
	int i;

	for (i = 0; i < 50000; i++) {
		ms = (int64_t)(next_rand(&seed) % (uint64_t)(i % 4 == 0 ?
		    400 * DAY : i % 4 == 1 ? DAY : i % 4 == 2 ? HOUR : MIN));
		timefmt_format_duration(ms, buf, sizeof(buf));
		LOOP_TRUE(timefmt_parse_duration(buf, &back) == 0,
		    "refused own output \"%s\"", buf);
		unit = ms >= DAY ? HOUR : ms >= HOUR ? MIN : SEC;
		LOOP_EQ(back, ms - ms % unit);
	}
}
END_TEST

/* ---- points in time ------------------------------------------------------ */

START_TEST(when_forms)
{
	int64_t ms;

	ck_assert_int_eq(timefmt_parse_when("now", NOV25, &ms), 0);
	ck_assert_int_eq(ms, NOV25);
	ck_assert_int_eq(timefmt_parse_when("2026-11-25", 0, &ms), 0);
	ck_assert_int_eq(ms, NOV25 - 12 * HOUR);
	ck_assert_int_eq(timefmt_parse_when("1970-01-01", NOV25, &ms), 0);
	ck_assert_int_eq(ms, 0);
	ck_assert_int_eq(timefmt_parse_when("2026-11-25T14:00:00+02:00", 0,
	    &ms), 0);
	ck_assert_int_eq(ms, NOV25);
	ck_assert_int_eq(timefmt_parse_when("90m", NOV25, &ms), 0);
	ck_assert_int_eq(ms, NOV25 - 90 * MIN);
	ck_assert_int_eq(timefmt_parse_when("24h", NOV25, &ms), 0);
	ck_assert_int_eq(ms, NOV25 - DAY);
	ck_assert_int_eq(timefmt_parse_when("7d", NOV25, &ms), 0);
	ck_assert_int_eq(ms, NOV25 - 7 * DAY);
	ck_assert_int_eq(timefmt_parse_when("3600", NOV25, &ms), 0);
	ck_assert_int_eq(ms, NOV25 - HOUR);
	ck_assert_int_eq(timefmt_parse_when("0s", NOV25, &ms), 0);
	ck_assert_int_eq(ms, NOV25);
	/* Back to the epoch exactly, but not before. */
	ck_assert_int_eq(timefmt_parse_when("1000ms", 1000, &ms), 0);
	ck_assert_int_eq(ms, 0);
}
END_TEST

static const char *const when_bad[] = {
	"",
	"Now",
	"now ",
	"yesterday",
	"2026-02-30",
	"2026-11-25T",
	"2026-11-25 ",
	"2026-11-25x",
	"2026-11-25T25:00:00Z",
	"1969-12-31",
	"-7d",
	"99999999w",		/* before 1970 */
};

START_TEST(when_bad_forms)
{
	int64_t ms = 42;

	ck_assert_msg(timefmt_parse_when(when_bad[_i], NOV25, &ms) == -1,
	    "accepted \"%s\"", when_bad[_i]);
	ck_assert_int_eq(ms, 42);
	ck_assert_int_eq(timefmt_parse_when(NULL, NOV25, &ms), -1);
}
END_TEST

START_TEST(now_is_now)
{
	struct timespec a, b;
	int64_t now;

	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &a), 0);
	now = timefmt_now();
	ck_assert_int_eq(clock_gettime(CLOCK_REALTIME, &b), 0);
	ck_assert_int_ge(now, (int64_t)a.tv_sec * 1000 + a.tv_nsec / 1000000);
	ck_assert_int_le(now, (int64_t)b.tv_sec * 1000 + b.tv_nsec / 1000000);
	ck_assert_int_gt(now, NOV25 - 365 * DAY);
}
END_TEST

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
timefmt_suite(void)
{
	Suite *s = suite_create("timefmt");
	TCase *tc;

	tc = tcase_create("rfc3339");
	tcase_add_loop_test(tc, rfc3339_good, 0, NELEM(rfc_good));
	tcase_add_loop_test(tc, rfc3339_bad, 0, NELEM(rfc_bad));
	tcase_add_test(tc, rfc3339_null);
	tcase_add_test(tc, rfc3339_format);
	tcase_add_test(tc, rfc3339_format_truncates);
	tcase_add_test(tc, rfc3339_roundtrip);
	suite_add_tcase(s, tc);

	tc = tcase_create("calendar");
	tcase_add_test(tc, calendar_matches_timegm);
	tcase_add_test(tc, calendar_normalizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("duration");
	tcase_add_loop_test(tc, duration_good, 0, NELEM(dur_good));
	tcase_add_loop_test(tc, duration_bad, 0, NELEM(dur_bad));
	tcase_add_loop_test(tc, duration_format, 0, NELEM(dur_fmt));
	tcase_add_test(tc, duration_format_small_buffer);
	tcase_add_test(tc, duration_roundtrip);
	suite_add_tcase(s, tc);

	tc = tcase_create("when");
	tcase_add_test(tc, when_forms);
	tcase_add_loop_test(tc, when_bad_forms, 0, NELEM(when_bad));
	tcase_add_test(tc, now_is_now);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(timefmt_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
