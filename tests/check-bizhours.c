/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bizhours.h"
#include "timefmt.h"
#include "tz.h"

#define SEC	INT64_C(1000)
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

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

static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random value in [lo, hi). */
static int64_t
rand_in(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(next_rand(s) % (uint64_t)(hi - lo));
}

/* An RFC 3339 instant. */
static int64_t
T(const char *s)
{
	int64_t ms;

	ck_assert_msg(timefmt_parse_rfc3339(s, &ms) == 0, "bad time %s", s);
	return ms;
}

static struct tz *
zone(const char *name)
{
	struct tz *tz;
	char *err = NULL;

	tz = tz_new(name, &err);
	ck_assert_msg(tz != NULL, "tz_new(%s): %s", name, err ? err : "?");
	ck_assert_ptr_null(err);
	return tz;
}

static struct bizhours *
biz(const char *zonename, const char *hours, const char *closed)
{
	struct bizhours *bh;
	char *err = NULL;

	bh = bizhours_new(zonename, hours, closed, &err);
	ck_assert_msg(bh != NULL, "bizhours_new(%s, \"%s\"): %s", zonename,
	    hours, err ? err : "?");
	ck_assert_ptr_null(err);
	return bh;
}

static void
check_local(struct tz *tz, int64_t ms, int y, int mo, int d, int h, int mi,
    int s, int wday)
{
	struct tz_local lt;

	tz_to_local(tz, ms, &lt);
	ck_assert_msg(lt.year == y && lt.month == mo && lt.day == d &&
	    lt.hour == h && lt.minute == mi && lt.second == s &&
	    lt.wday == wday,
	    "%s %lld: got %04d-%02d-%02d %02d:%02d:%02d wday %d", tz_name(tz),
	    (long long)ms, lt.year, lt.month, lt.day, lt.hour, lt.minute,
	    lt.second, lt.wday);
}

/* ---- tz ------------------------------------------------------------------ */

START_TEST(tz_utc)
{
	struct tz *tz = zone("UTC");
	char buf[11];

	ck_assert_str_eq(tz_name(tz), "UTC");
	check_local(tz, T("2026-11-25T12:34:56.789Z"), 2026, 11, 25, 12, 34, 56,
	    3);
	check_local(tz, 0, 1970, 1, 1, 0, 0, 0, 4);
	check_local(tz, -1, 1969, 12, 31, 23, 59, 59, 3);
	ck_assert_int_eq(tz_from_local(tz, 2026, 11, 25, 12, 0, 0),
	    T("2026-11-25T12:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 11, 25, 24, 0, 0),
	    T("2026-11-26T00:00:00Z"));
	tz_date(tz, T("2026-11-25T23:59:59.999Z"), buf);
	ck_assert_str_eq(buf, "2026-11-25");
	tz_free(tz);
	tz_free(NULL);
}
END_TEST

static const char *const bad_zones[] = {
	"",
	"Mars/Olympus",
	"Europe/Berlinn",
	"Europe",
	"Europe/",
	"/Europe/Berlin",
	"Europe//Berlin",
	"../../../../etc/passwd",
	"Europe/../Europe/Berlin",
	"./UTC",
	"/etc/localtime",
	"localtime",
	"right/Europe/Berlin",
	"zone.tab",
	"tzdata.zi",
	"Europe/Berlin ",
	" Europe/Berlin",
	"Europe/Berlin\n",
	"utc",
	"CET-1CEST,M3.5.0,M10.5.0/3",
	":Europe/Berlin",
};

START_TEST(tz_bad_names)
{
	char *err = NULL;

	ck_assert_ptr_null(tz_new(bad_zones[_i], &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "time zone") != NULL, "%s", err);
	free(err);
	ck_assert_ptr_null(tz_new(bad_zones[_i], NULL));
}
END_TEST

START_TEST(tz_bad_long_name)
{
	char name[4096], *err = NULL;

	memset(name, 'A', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_ptr_null(tz_new(name, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_int_lt(strlen(err), 200);
	free(err);
}
END_TEST

START_TEST(tz_berlin)
{
	struct tz *tz = zone("Europe/Berlin");

	ck_assert_str_eq(tz_name(tz), "Europe/Berlin");
	/* Spring forward: 02:00 CET becomes 03:00 CEST at 01:00Z. */
	check_local(tz, T("2026-03-29T00:59:59Z"), 2026, 3, 29, 1, 59, 59, 0);
	check_local(tz, T("2026-03-29T01:00:00Z"), 2026, 3, 29, 3, 0, 0, 0);
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 29, 1, 59, 59),
	    T("2026-03-29T00:59:59Z"));
	/* 02:00 .. 02:59 do not exist: the instant of the jump. */
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 29, 2, 0, 0),
	    T("2026-03-29T01:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 29, 2, 30, 0),
	    T("2026-03-29T01:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 29, 2, 59, 59),
	    T("2026-03-29T01:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 29, 3, 0, 0),
	    T("2026-03-29T01:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 29, 3, 0, 1),
	    T("2026-03-29T01:00:01Z"));

	/* Fall back: 03:00 CEST becomes 02:00 CET at 01:00Z. */
	check_local(tz, T("2026-10-25T00:30:00Z"), 2026, 10, 25, 2, 30, 0, 0);
	check_local(tz, T("2026-10-25T01:30:00Z"), 2026, 10, 25, 2, 30, 0, 0);
	/* 02:00 .. 02:59 happen twice: the first. */
	ck_assert_int_eq(tz_from_local(tz, 2026, 10, 25, 2, 30, 0),
	    T("2026-10-25T00:30:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 10, 25, 2, 0, 0),
	    T("2026-10-25T00:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 10, 25, 2, 59, 59),
	    T("2026-10-25T00:59:59Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 10, 25, 1, 59, 59),
	    T("2026-10-24T23:59:59Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 10, 25, 3, 0, 0),
	    T("2026-10-25T02:00:00Z"));

	/* Ordinary winter and summer days. */
	ck_assert_int_eq(tz_from_local(tz, 2026, 1, 15, 9, 0, 0),
	    T("2026-01-15T08:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 7, 15, 9, 0, 0),
	    T("2026-07-15T07:00:00Z"));
	/* Far future: the rules go on (POSIX rule of the tz file). */
	ck_assert_int_eq(tz_from_local(tz, 2100, 3, 28, 2, 30, 0),
	    T("2100-03-28T01:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2600, 10, 26, 2, 30, 0),
	    T("2600-10-26T00:30:00Z"));
	check_local(tz, T("2600-07-01T12:00:00Z"), 2600, 7, 1, 14, 0, 0, 2);
	tz_free(tz);
}
END_TEST

START_TEST(tz_new_york)
{
	struct tz *tz = zone("America/New_York");

	check_local(tz, T("2026-03-08T06:59:59Z"), 2026, 3, 8, 1, 59, 59, 0);
	check_local(tz, T("2026-03-08T07:00:00Z"), 2026, 3, 8, 3, 0, 0, 0);
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 8, 2, 30, 0),
	    T("2026-03-08T07:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 8, 1, 59, 0),
	    T("2026-03-08T06:59:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 8, 3, 0, 0),
	    T("2026-03-08T07:00:00Z"));
	/* 01:00 .. 01:59 EDT, then again EST. */
	check_local(tz, T("2026-11-01T05:30:00Z"), 2026, 11, 1, 1, 30, 0, 0);
	check_local(tz, T("2026-11-01T06:30:00Z"), 2026, 11, 1, 1, 30, 0, 0);
	ck_assert_int_eq(tz_from_local(tz, 2026, 11, 1, 1, 30, 0),
	    T("2026-11-01T05:30:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 11, 1, 2, 0, 0),
	    T("2026-11-01T07:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 11, 1, 0, 59, 0),
	    T("2026-11-01T04:59:00Z"));
	tz_free(tz);
}
END_TEST

START_TEST(tz_sydney)
{
	struct tz *tz = zone("Australia/Sydney");
	char buf[11];

	/* April: 03:00 AEDT becomes 02:00 AEST. */
	ck_assert_int_eq(tz_from_local(tz, 2026, 4, 5, 2, 30, 0),
	    T("2026-04-04T15:30:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 4, 5, 3, 0, 0),
	    T("2026-04-04T17:00:00Z"));
	check_local(tz, T("2026-04-04T16:30:00Z"), 2026, 4, 5, 2, 30, 0, 0);
	/* October: 02:00 AEST becomes 03:00 AEDT. */
	ck_assert_int_eq(tz_from_local(tz, 2026, 10, 4, 2, 30, 0),
	    T("2026-10-03T16:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 10, 4, 3, 0, 0),
	    T("2026-10-03T16:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 10, 4, 1, 59, 0),
	    T("2026-10-03T15:59:00Z"));
	/* Summer in January; the local date is ahead of UTC's. */
	check_local(tz, T("2026-12-24T13:00:00Z"), 2026, 12, 25, 0, 0, 0, 5);
	tz_date(tz, T("2026-12-24T13:00:00Z"), buf);
	ck_assert_str_eq(buf, "2026-12-25");
	tz_date(tz, T("2026-12-24T12:59:59.999Z"), buf);
	ck_assert_str_eq(buf, "2026-12-24");
	tz_free(tz);
}
END_TEST

START_TEST(tz_odd_offsets)
{
	struct tz *tz;

	/* Lord Howe moves its clocks by 30 minutes. */
	tz = zone("Australia/Lord_Howe");
	ck_assert_int_eq(tz_from_local(tz, 2026, 10, 4, 2, 15, 0),
	    T("2026-10-03T15:30:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 10, 4, 2, 30, 0),
	    T("2026-10-03T15:30:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 4, 5, 1, 45, 0),
	    T("2026-04-04T14:45:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 4, 5, 2, 0, 0),
	    T("2026-04-04T15:30:00Z"));
	tz_free(tz);

	tz = zone("Asia/Kathmandu");
	check_local(tz, T("2026-11-25T12:00:00Z"), 2026, 11, 25, 17, 45, 0, 3);
	ck_assert_int_eq(tz_from_local(tz, 2026, 11, 25, 17, 45, 0),
	    T("2026-11-25T12:00:00Z"));
	tz_free(tz);

	/* Havana changes at midnight: 2026-03-08 begins at 01:00. */
	tz = zone("America/Havana");
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 8, 0, 0, 0),
	    T("2026-03-08T05:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 8, 0, 30, 0),
	    T("2026-03-08T05:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 7, 24, 0, 0),
	    T("2026-03-08T05:00:00Z"));
	check_local(tz, T("2026-03-08T05:00:00Z"), 2026, 3, 8, 1, 0, 0, 0);
	check_local(tz, T("2026-03-08T04:59:59Z"), 2026, 3, 7, 23, 59, 59, 6);
	tz_free(tz);
}
END_TEST

/* Out-of-range fields carry over, as with mktime. */
START_TEST(tz_normalizes)
{
	struct tz *tz = zone("Europe/Berlin");

	ck_assert_int_eq(tz_from_local(tz, 2026, 12, 32, 0, 0, 0),
	    tz_from_local(tz, 2027, 1, 1, 0, 0, 0));
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 28, 26, 30, 0),
	    T("2026-03-29T01:00:00Z"));
	ck_assert_int_eq(tz_from_local(tz, 2026, 3, 28, 24, 0, 0),
	    tz_from_local(tz, 2026, 3, 29, 0, 0, 0));
	ck_assert_int_eq(tz_from_local(tz, 2026, 13, 1, 0, 0, 0),
	    tz_from_local(tz, 2027, 1, 1, 0, 0, 0));
	ck_assert_int_eq(tz_from_local(tz, 2026, 1, 1, 0, 0, -1),
	    T("2025-12-31T22:59:59Z"));
	tz_free(tz);
}
END_TEST

/*
 * tz_to_local then tz_from_local gives the instant back (to the second),
 * or, in a repeated hour, its first occurrence; either way the same
 * wall-clock time.
 */
START_TEST(tz_roundtrip)
{
	static const char *const names[] = {
		"UTC", "Europe/Berlin", "America/New_York",
		"Australia/Sydney", "Australia/Lord_Howe", "America/Havana",
		"Asia/Kathmandu", "America/Santiago", "Pacific/Chatham",
		"Europe/London", "America/St_Johns",
	};
	struct tz *tz = zone(names[_i]);
	struct tz_local lt, back;
	uint64_t seed = 0xabcdef12345ULL + (uint64_t)_i;
	int64_t t, f, lo = T("2000-01-01T00:00:00Z");
	int64_t hi = T("2040-01-01T00:00:00Z");
	int i;

	for (i = 0; i < 20000; i++) {
		t = rand_in(&seed, lo, hi);
		t -= t % SEC;
		tz_to_local(tz, t, &lt);
		f = tz_from_local(tz, lt.year, lt.month, lt.day, lt.hour,
		    lt.minute, lt.second);
		LOOP_TRUE(f <= t && f >= t - 2 * HOUR, "%s: %lld gives %lld",
		    names[_i], (long long)t, (long long)f);
		tz_to_local(tz, f, &back);
		LOOP_TRUE(memcmp(&lt, &back, sizeof(lt)) == 0, "%s: %lld",
		    names[_i], (long long)t);
	}
	tz_free(tz);
}
END_TEST

/* The process's own TZ neither changes the results nor is changed. */
START_TEST(tz_ignores_process_tz)
{
	static const char *const envs[] = {
		"Asia/Kathmandu", ":America/Los_Angeles", "Mars/Nowhere",
		"<+0330>-3:30", NULL,
	};
	struct tz *tz;
	struct tm tm;
	time_t zero = 0;
	char *saved;
	const char *now;
	int i;

	saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	for (i = 0; i < NELEM(envs); i++) {
		if (envs[i] != NULL)
			setenv("TZ", envs[i], 1);
		else
			unsetenv("TZ");
		tzset();
		tz = zone("Europe/Berlin");
		ck_assert_int_eq(tz_from_local(tz, 2026, 3, 29, 2, 30, 0),
		    T("2026-03-29T01:00:00Z"));
		ck_assert_int_eq(tz_from_local(tz, 2026, 10, 25, 2, 30, 0),
		    T("2026-10-25T00:30:00Z"));
		check_local(tz, T("2026-07-01T10:00:00Z"), 2026, 7, 1, 12, 0,
		    0, 3);
		tz_free(tz);
		now = getenv("TZ");
		if (envs[i] == NULL)
			ck_assert_ptr_null(now);
		else
			ck_assert_str_eq(now, envs[i]);
		/* glibc's own idea of local time is back, too. */
		ck_assert_ptr_nonnull(localtime_r(&zero, &tm));
		if (i == 0)
			ck_assert(tm.tm_hour == 5 && tm.tm_min == 30);
		if (i == 3)
			ck_assert(tm.tm_hour == 3 && tm.tm_min == 30);
	}
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}
END_TEST

/* ---- parsing ------------------------------------------------------------- */

static const struct {
	const char	*zone;
	const char	*hours;
	const char	*closed;
} good_conf[] = {
	{ "UTC", "mon-fri 09:00-18:00", NULL },
	{ "Europe/Berlin", "mon-fri 09:00-12:30 13:30-18:00; sat 10:00-14:00",
	  "2026-12-24 2026-12-25" },
	{ "UTC", "Mon,Wed 9:00-17:00", "" },
	{ "UTC", "monday-friday 9:00-17:00", "   " },
	{ "UTC", "MON-FRI 0:00-24:00", "2026-12-24,2026-12-25" },
	{ "UTC", "fri-mon 10:00-11:00", "2026-12-25, 2026-12-24 ,2026-12-24" },
	{ "UTC", "mon-sun 00:00-24:00", "\t2026-01-01\n" },
	{ "UTC", "mon-fri 09:00-12:30, 13:30-18:00;", NULL },
	{ "UTC", "\tmon 09:00-10:00\n;\n tue 09:00-10:00 ", NULL },
	{ "UTC", "mon 09:00-10:00; mon 10:00-11:00; mon 13:00-14:00", NULL },
	{ "UTC", "sat,sun 10:00-14:00; mon-fri 08:00-20:00", NULL },
	{ "UTC", "mon 00:00-00:01 23:59-24:00", NULL },
	{ NULL, "mon 09:00-17:00", NULL },
};

START_TEST(parse_good)
{
	struct bizhours *bh;

	bh = biz(good_conf[_i].zone, good_conf[_i].hours, good_conf[_i].closed);
	bizhours_free(bh);
}
END_TEST

static const struct {
	const char	*zone;
	const char	*hours;
	const char	*closed;
	const char	*err;
} bad_conf[] = {
	{ "UTC", "mon-fri 9:00-25:00", NULL,
	  "business_hours: \"mon-fri 9:00-25:00\": hour out of range" },
	{ "UTC", "mon 24:30-25:00", NULL,
	  "business_hours: \"mon 24:30-25:00\": hour out of range" },
	{ "UTC", "mon 09:00-24:01", NULL,
	  "business_hours: \"mon 09:00-24:01\": hour out of range" },
	{ "UTC", "mon 09:60-10:00", NULL,
	  "business_hours: \"mon 09:60-10:00\": minute out of range" },
	{ "UTC", "mon 10:00-09:00", NULL,
	  "business_hours: \"mon 10:00-09:00\": interval does not end after "
	  "it starts" },
	{ "UTC", "mon 10:00-10:00", NULL,
	  "business_hours: \"mon 10:00-10:00\": interval does not end after "
	  "it starts" },
	{ "UTC", "mon 24:00-24:00", NULL,
	  "business_hours: \"mon 24:00-24:00\": 24:00 can only end an "
	  "interval" },
	{ "UTC", "mon 09:00-12:00 11:00-13:00", NULL,
	  "business_hours: \"mon 09:00-12:00 11:00-13:00\": overlapping "
	  "intervals on mon" },
	{ "UTC", "mon-fri 09:00-12:00; wed 11:00-13:00", NULL,
	  "business_hours: \"wed 11:00-13:00\": overlapping intervals on wed" },
	{ "UTC", "mon-fri 09:00-18:00;sun,wed 08:00-09:30", NULL,
	  "business_hours: \"sun,wed 08:00-09:30\": overlapping intervals on "
	  "wed" },
	{ "UTC", "mon 09:00-10:00 09:59-11:00", NULL,
	  "business_hours: \"mon 09:00-10:00 09:59-11:00\": overlapping "
	  "intervals on mon" },
	{ "UTC", "mon 10:00-11:00 09:00-10:01", NULL,
	  "business_hours: \"mon 10:00-11:00 09:00-10:01\": overlapping "
	  "intervals on mon" },
	{ "UTC", "mon 09:00-17:00; mon 10:00-11:00", NULL,
	  "business_hours: \"mon 10:00-11:00\": overlapping intervals on "
	  "mon" },
	{ "UTC", "mon 09:00-10:00 09:00-10:00", NULL,
	  "business_hours: \"mon 09:00-10:00 09:00-10:00\": overlapping "
	  "intervals on mon" },
	{ "UTC", "xyz 09:00-10:00", NULL,
	  "business_hours: \"xyz 09:00-10:00\": unknown day \"xyz\"" },
	{ "UTC", "mon-xyz 09:00-10:00", NULL,
	  "business_hours: \"mon-xyz 09:00-10:00\": unknown day \"xyz\"" },
	{ "UTC", "mo 09:00-10:00", NULL,
	  "business_hours: \"mo 09:00-10:00\": unknown day \"mo\"" },
	{ "UTC", "mon", NULL,
	  "business_hours: \"mon\": no opening interval" },
	{ "UTC", "mon 09:00-10:00; tue ", NULL,
	  "business_hours: \"tue\": no opening interval" },
	{ "UTC", "", NULL,
	  "business_hours: \"\": no opening hours" },
	{ "UTC", " \t ", NULL,
	  "business_hours: \" ? \": no opening hours" },
	{ "UTC", "09:00-17:00", NULL,
	  "business_hours: \"09:00-17:00\": expected a day name" },
	{ "UTC", "mon,,tue 09:00-10:00", NULL,
	  "business_hours: \"mon,,tue 09:00-10:00\": expected a day name" },
	{ "UTC", "mon- 09:00-10:00", NULL,
	  "business_hours: \"mon- 09:00-10:00\": expected a day name" },
	{ "UTC", "mon-fri09:00-10:00", NULL,
	  "business_hours: \"mon-fri09:00-10:00\": expected a space after the "
	  "days" },
	{ "UTC", "mon 9-17", NULL,
	  "business_hours: \"mon 9-17\": expected a time HH:MM" },
	{ "UTC", "mon 009:00-10:00", NULL,
	  "business_hours: \"mon 009:00-10:00\": expected a time HH:MM" },
	{ "UTC", "mon 9:0-10:00", NULL,
	  "business_hours: \"mon 9:0-10:00\": expected a time HH:MM" },
	{ "UTC", "mon 9:000-10:00", NULL,
	  "business_hours: \"mon 9:000-10:00\": expected a time HH:MM" },
	{ "UTC", "mon 09:00", NULL,
	  "business_hours: \"mon 09:00\": expected an interval HH:MM-HH:MM" },
	{ "UTC", "mon 09:00-10:00x", NULL,
	  "business_hours: \"mon 09:00-10:00x\": expected an interval "
	  "HH:MM-HH:MM" },
	{ "UTC", "mon 09:00-10:00,", NULL,
	  "business_hours: \"mon 09:00-10:00,\": expected an interval after "
	  "','" },
	{ "UTC", "mon 09:00-10:00;;tue 09:00-10:00", NULL,
	  "business_hours: \"mon 09:00-10:00;;tue 09:00-10:00\": empty "
	  "group" },
	{ "UTC", ";mon 09:00-10:00", NULL,
	  "business_hours: \";mon 09:00-10:00\": empty group" },
	{ "UTC", "mon\x01 09:00-10:00", NULL,
	  "business_hours: \"mon? 09:00-10:00\": expected a space after the "
	  "days" },
	{ "UTC", "mon \"09:00-10:00", NULL,
	  "business_hours: \"mon ?09:00-10:00\": expected a time HH:MM" },
	{ "UTC", "mon 00:00-00:30 01:00-01:30 02:00-02:30 03:00-03:30 "
	  "04:00-04:30 05:00-05:30 06:00-06:30 07:00-07:30 08:00-08:30 "
	  "09:00-09:30 10:00-10:30 11:00-11:30 12:00-12:30 13:00-13:30 "
	  "14:00-14:30 15:00-15:30 16:00-16:30", NULL,
	  "business_hours: \"mon 00:00-00:30 01:00-01:30 02:00-02:30 "
	  "03:00-03:30 04:00-04:30 ...\": more than 16 intervals on "
	  "mon" },
	{ NULL, NULL, NULL, "business_hours: missing" },
	{ "Mars/Olympus", "mon 09:00-10:00", NULL,
	  "timezone: \"Mars/Olympus\": unknown time zone" },
	{ "../../etc/passwd", "mon 09:00-10:00", NULL,
	  "timezone: \"../../etc/passwd\": not a time zone name" },
	{ "", "mon 09:00-10:00", NULL,
	  "timezone: \"\": not a time zone name" },
	{ "UTC", "mon 09:00-10:00", "2026-02-30",
	  "closed: \"2026-02-30\": not a date YYYY-MM-DD" },
	{ "UTC", "mon 09:00-10:00", "2026-12-24 tomorrow",
	  "closed: \"tomorrow\": not a date YYYY-MM-DD" },
	{ "UTC", "mon 09:00-10:00", "2026-12-24;2026-12-25",
	  "closed: \"2026-12-24;2026-12-25\": not a date YYYY-MM-DD" },
	{ "UTC", "mon 09:00-10:00", "2026-1-01",
	  "closed: \"2026-1-01\": not a date YYYY-MM-DD" },
	{ "UTC", "mon 09:00-10:00", "2026-12-24T00:00:00Z",
	  "closed: \"2026-12-24T00:00:00Z\": not a date YYYY-MM-DD" },
	{ "UTC", "mon 09:00-10:00", "2026-13-01",
	  "closed: \"2026-13-01\": not a date YYYY-MM-DD" },
};

START_TEST(parse_bad)
{
	char *err = NULL;

	ck_assert_ptr_null(bizhours_new(bad_conf[_i].zone, bad_conf[_i].hours,
	    bad_conf[_i].closed, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err, bad_conf[_i].err);
	free(err);
	/* Without an errstr, still refused, and nothing leaks. */
	ck_assert_ptr_null(bizhours_new(bad_conf[_i].zone, bad_conf[_i].hours,
	    bad_conf[_i].closed, NULL));
}
END_TEST

/* Hours written differently that mean the same. */
START_TEST(parse_equivalent)
{
	static const char *const pairs[][2] = {
		{ "mon 09:00-12:00 12:00-13:00", "mon 09:00-13:00" },
		{ "mon 09:00-10:00; mon 10:00-11:00", "mon 9:00-11:00" },
		{ "fri-mon 10:00-11:00", "fri,sat,sun,mon 10:00-11:00" },
		{ "sun-sat 00:00-24:00", "mon-sun 0:00-24:00" },
		{ "Monday,WEDNESDAY 9:00-10:00", "mon,wed 09:00-10:00" },
		{ "mon-fri 09:00-12:30, 13:30-18:00;",
		  "mon-fri 13:30-18:00 09:00-12:30" },
		{ "thu-thu 08:00-09:00", "thu 08:00-09:00" },
	};
	struct bizhours *a, *b;
	int64_t t, start = T("2026-03-23T00:00:00Z");
	int i;

	for (i = 0; i < NELEM(pairs); i++) {
		a = biz("Europe/Berlin", pairs[i][0], NULL);
		b = biz("Europe/Berlin", pairs[i][1], NULL);
		for (t = start; t < start + 14 * DAY; t += 30 * MIN) {
			LOOP_EQ(bizhours_between(a, t, t + 30 * MIN),
			    bizhours_between(b, t, t + 30 * MIN));
		}
		bizhours_free(a);
		bizhours_free(b);
	}
}
END_TEST

START_TEST(parse_wrapping_range)
{
	struct bizhours *bh = biz("UTC", "fri-mon 10:00-11:00", NULL);
	/* 2026-11-23 is a Monday. */
	int64_t mon = T("2026-11-23T00:00:00Z");
	static const int64_t want[7] = {	/* mon .. sun */
		HOUR, 0, 0, 0, HOUR, HOUR, HOUR
	};
	int d;

	for (d = 0; d < 7; d++)
		ck_assert_int_eq(bizhours_between(bh, mon + d * DAY,
		    mon + (d + 1) * DAY), want[d]);
	bizhours_free(bh);
}
END_TEST

/* ---- between ------------------------------------------------------------- */

START_TEST(between_basics)
{
	struct bizhours *bh = biz("UTC", "mon-sun 00:00-24:00", NULL);
	int64_t a = T("2026-11-25T12:00:00Z");

	ck_assert_int_eq(bizhours_between(bh, a, a + 90 * DAY + 7),
	    90 * DAY + 7);
	ck_assert_int_eq(bizhours_between(bh, a, a), 0);
	ck_assert_int_eq(bizhours_between(bh, a, a - HOUR), 0);
	ck_assert_int_eq(bizhours_between(bh, a, a + 1), 1);
	bizhours_free(bh);
}
END_TEST

START_TEST(between_dst_full_days)
{
	struct bizhours *bh = biz("Europe/Berlin", "mon-sun 00:00-24:00", NULL);

	/* The local day of the spring change has 23 hours... */
	ck_assert_int_eq(bizhours_between(bh, T("2026-03-28T23:00:00Z"),
	    T("2026-03-29T22:00:00Z")), 23 * HOUR);
	/* ...of the autumn change 25, and a long wait across it counts all. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-10-24T22:00:00Z"),
	    T("2026-10-25T23:00:00Z")), 25 * HOUR);
	ck_assert_int_eq(bizhours_between(bh, T("2026-03-27T12:00:00Z"),
	    T("2026-03-31T12:00:00Z")), 4 * DAY);
	/* The local year 2026 is 365 days of 24 hours on average. */
	ck_assert_int_eq(bizhours_between(bh, T("2025-12-31T23:00:00Z"),
	    T("2026-12-31T23:00:00Z")), 365 * DAY);
	bizhours_free(bh);
}
END_TEST

START_TEST(between_weekend)
{
	struct bizhours *bh = biz("Europe/Berlin", "mon-fri 09:00-18:00", NULL);

	/* Friday 17:00 to Monday 10:00 local (CET, UTC+1): 1h + 1h. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-27T16:00:00Z"),
	    T("2026-11-30T09:00:00Z")), 2 * HOUR);
	/* The same wait in summer time (UTC+2). */
	ck_assert_int_eq(bizhours_between(bh, T("2026-07-03T15:00:00Z"),
	    T("2026-07-06T08:00:00Z")), 2 * HOUR);
	/* Entirely outside hours: the weekend, a night, an evening. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-28T09:00:00Z"),
	    T("2026-11-29T19:00:00Z")), 0);
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-24T17:00:00Z"),
	    T("2026-11-25T08:00:00Z")), 0);
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-27T17:00:00Z"),
	    T("2026-11-30T08:00:00Z")), 0);
	/* A full week. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-23T00:00:00Z"),
	    T("2026-11-30T00:00:00Z")), 45 * HOUR);
	/* Friday 17:59:59.500 to 18:00:00 local. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-27T16:59:59.5Z"),
	    T("2026-11-30T00:00:00Z")), 500);
	bizhours_free(bh);
}
END_TEST

START_TEST(between_several_intervals)
{
	struct bizhours *bh = biz("Europe/Berlin",
	    "mon-fri 09:00-12:30 13:30-18:00; sat 10:00-14:00", NULL);

	/* Monday 2026-11-23 08:00 .. 20:00 local: 3.5h + 4.5h. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-23T07:00:00Z"),
	    T("2026-11-23T19:00:00Z")), 8 * HOUR);
	/* 12:00 .. 14:00 local: 30m before lunch, 30m after. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-23T11:00:00Z"),
	    T("2026-11-23T13:00:00Z")), HOUR);
	/* Inside the lunch break. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-23T11:30:00Z"),
	    T("2026-11-23T12:30:00Z")), 0);
	/* Friday 17:00 local to Monday 09:30: 1h + sat 4h + 30m. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-27T16:00:00Z"),
	    T("2026-11-30T08:30:00Z")), 5 * HOUR + 30 * MIN);
	bizhours_free(bh);
}
END_TEST

START_TEST(between_closed_dates)
{
	struct bizhours *bh, *open;

	bh = biz("Europe/Berlin", "mon-fri 09:00-18:00",
	    "2026-12-24, 2026-12-25 2026-12-31");
	open = biz("Europe/Berlin", "mon-fri 09:00-18:00", NULL);
	/* Wednesday 23rd 17:00 local to Monday 28th 10:00: Thursday and
	 * Friday are closed. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-12-23T16:00:00Z"),
	    T("2026-12-28T09:00:00Z")), 2 * HOUR);
	ck_assert_int_eq(bizhours_between(open, T("2026-12-23T16:00:00Z"),
	    T("2026-12-28T09:00:00Z")), 20 * HOUR);
	/* The whole of a closed day. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-12-30T23:00:00Z"),
	    T("2026-12-31T23:00:00Z")), 0);
	bizhours_free(bh);
	bizhours_free(open);

	/* Closed dates are local dates: in Sydney Christmas starts at 13:00Z
	 * on the 24th. */
	bh = biz("Australia/Sydney", "mon-sun 00:00-24:00", "2026-12-25");
	ck_assert_int_eq(bizhours_between(bh, T("2026-12-24T13:00:00Z"),
	    T("2026-12-25T13:00:00Z")), 0);
	ck_assert_int_eq(bizhours_between(bh, T("2026-12-24T00:00:00Z"),
	    T("2026-12-26T00:00:00Z")), 24 * HOUR);
	bizhours_free(bh);
}
END_TEST

START_TEST(between_dst_inside_hours)
{
	struct bizhours *bh;

	/* Opening hours that span the change. */
	bh = biz("Europe/Berlin", "sun 01:00-04:00", NULL);
	ck_assert_int_eq(bizhours_between(bh, T("2026-03-28T00:00:00Z"),
	    T("2026-03-30T00:00:00Z")), 2 * HOUR);
	ck_assert_int_eq(bizhours_between(bh, T("2026-10-24T00:00:00Z"),
	    T("2026-10-26T00:00:00Z")), 4 * HOUR);
	ck_assert_int_eq(bizhours_between(bh, T("2026-11-01T00:00:00Z"),
	    T("2026-11-02T00:00:00Z")), 3 * HOUR);
	bizhours_free(bh);

	/* Opening hours inside the skipped or repeated hour. */
	bh = biz("Europe/Berlin", "sun 02:00-03:00", NULL);
	ck_assert_int_eq(bizhours_between(bh, T("2026-03-28T00:00:00Z"),
	    T("2026-03-30T00:00:00Z")), 0);
	ck_assert_int_eq(bizhours_between(bh, T("2026-10-24T00:00:00Z"),
	    T("2026-10-26T00:00:00Z")), 2 * HOUR);
	bizhours_free(bh);

	/* New York office hours are not moved by the change. */
	bh = biz("America/New_York", "mon-fri 09:00-17:00", NULL);
	ck_assert_int_eq(bizhours_between(bh, T("2026-03-06T05:00:00Z"),
	    T("2026-03-10T04:00:00Z")), 16 * HOUR);
	/* Monday 2026-03-09 09:00 EDT is 13:00Z, not 14:00Z. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-03-09T13:00:00Z"),
	    T("2026-03-09T14:00:00Z")), HOUR);
	ck_assert_int_eq(bizhours_between(bh, T("2026-03-06T13:00:00Z"),
	    T("2026-03-06T14:00:00Z")), 0);
	bizhours_free(bh);

	/* 24/7 in Lord Howe: the spring day has 23.5 hours. */
	bh = biz("Australia/Lord_Howe", "mon-sun 00:00-24:00", NULL);
	ck_assert_int_eq(bizhours_between(bh,
	    T("2026-10-03T13:30:00Z"), T("2026-10-04T13:00:00Z")),
	    23 * HOUR + 30 * MIN);
	bizhours_free(bh);

	/* Havana: Sunday 2026-03-08 begins at 01:00. */
	bh = biz("America/Havana", "sat 20:00-24:00; sun 00:00-02:00", NULL);
	ck_assert_int_eq(bizhours_between(bh, T("2026-03-07T00:00:00Z"),
	    T("2026-03-09T00:00:00Z")), 5 * HOUR);
	/* ...and 2026-11-01 has 00:00-01:00 twice. */
	ck_assert_int_eq(bizhours_between(bh, T("2026-10-31T00:00:00Z"),
	    T("2026-11-02T00:00:00Z")), 7 * HOUR);
	bizhours_free(bh);
}
END_TEST

/*
 * An independent oracle: walk minute by minute, asking tz_to_local whether
 * the wall clock is inside the day's hours. It agrees with the definition
 * for hours whose ends are not inside a repeated hour.
 */
struct oracle_conf {
	const char	*zone;
	const char	*hours;
	const char	*closed;
	int		 spans[7][4][2];	/* by wday; end 0: none */
	int64_t		 closed_days[4];
};

static const struct oracle_conf oracle[] = {
	{ "Europe/Berlin", "mon-fri 09:00-12:30 13:30-18:00; sat 10:00-14:00",
	  "2026-03-30 2026-10-26", {
		[1] = { { 540, 750 }, { 810, 1080 } },
		[2] = { { 540, 750 }, { 810, 1080 } },
		[3] = { { 540, 750 }, { 810, 1080 } },
		[4] = { { 540, 750 }, { 810, 1080 } },
		[5] = { { 540, 750 }, { 810, 1080 } },
		[6] = { { 600, 840 } },
	  }, { 20542, 20752 } },
	{ "America/New_York", "sun 00:30-04:00 22:00-24:00; mon 00:00-08:00",
	  NULL, {
		[0] = { { 30, 240 }, { 1320, 1440 } },
		[1] = { { 0, 480 } },
	  }, { 0 } },
	{ "Australia/Sydney", "fri-mon 01:00-02:00 03:00-23:00", "2026-04-05",
	  {
		[0] = { { 60, 120 }, { 180, 1380 } },
		[1] = { { 60, 120 }, { 180, 1380 } },
		[5] = { { 60, 120 }, { 180, 1380 } },
		[6] = { { 60, 120 }, { 180, 1380 } },
	  }, { 20548 } },
	{ "America/Havana", "sat 20:00-24:00; sun 00:00-02:00 12:00-13:00",
	  NULL, {
		[0] = { { 0, 120 }, { 720, 780 } },
		[6] = { { 1200, 1440 } },
	  }, { 0 } },
};

static int
oracle_open(const struct oracle_conf *oc, struct tz *tz, int64_t t)
{
	struct tz_local lt;
	int64_t day;
	int i, m;

	tz_to_local(tz, t, &lt);
	day = timefmt_days_from_civil(lt.year, lt.month, lt.day);
	for (i = 0; i < 4; i++) {
		if (oc->closed_days[i] != 0 && oc->closed_days[i] == day)
			return 0;
	}
	m = lt.hour * 60 + lt.minute;
	for (i = 0; i < 4; i++) {
		if (oc->spans[lt.wday][i][1] != 0 &&
		    m >= oc->spans[lt.wday][i][0] &&
		    m < oc->spans[lt.wday][i][1])
			return 1;
	}
	return 0;
}

START_TEST(between_matches_oracle)
{
	const struct oracle_conf *oc = &oracle[_i];
	static const char *const changes[] = {
		"2026-03-08T07:00:00Z", "2026-03-29T01:00:00Z",
		"2026-04-04T16:00:00Z", "2026-10-03T16:00:00Z",
		"2026-10-25T01:00:00Z", "2026-11-01T06:00:00Z",
		"2026-03-08T05:00:00Z", "2026-11-01T05:00:00Z",
	};
	struct bizhours *bh = biz(oc->zone, oc->hours, oc->closed);
	struct tz *tz = zone(oc->zone);
	uint64_t seed = 0x0ac1e0ULL + (uint64_t)_i;
	int64_t from, to, t, want, near;
	int i;

	ck_assert_int_eq(timefmt_days_from_civil(2026, 3, 30), 20542);
	for (i = 0; i < 120; i++) {
		/* Half the windows around a clock change. */
		if (i % 2) {
			near = T(changes[(i / 2) % NELEM(changes)]);
			from = rand_in(&seed, near - 3 * DAY, near + DAY);
		} else
			from = rand_in(&seed, T("2026-01-01T00:00:00Z"),
			    T("2027-01-01T00:00:00Z"));
		from -= from % MIN;
		to = from + rand_in(&seed, 0, 3 * DAY);
		to -= to % MIN;
		want = 0;
		for (t = from; t < to; t += MIN)
			want += oracle_open(oc, tz, t) ? MIN : 0;
		ck_assert_msg(bizhours_between(bh, from, to) == want,
		    "%s [%lld, %lld): %lld, oracle %lld", oc->zone,
		    (long long)from, (long long)to,
		    (long long)bizhours_between(bh, from, to),
		    (long long)want);
	}
	tz_free(tz);
	bizhours_free(bh);
}
END_TEST

static const struct {
	const char	*zone;
	const char	*hours;
	const char	*closed;
	int64_t		 max;		/* largest amount added */
} prop_conf[] = {
	{ "Europe/Berlin", "mon-fri 09:00-12:30 13:30-18:00; sat 10:00-14:00",
	  "2026-03-30 2026-12-24 2026-12-25 2027-01-01", 40 * DAY },
	{ "America/New_York", "mon-sun 00:00-24:00", NULL, 40 * DAY },
	{ "Australia/Sydney", "mon-fri 08:00-17:00", "2026-12-25 2026-12-28",
	  40 * DAY },
	{ "Australia/Lord_Howe", "mon-sun 01:00-03:00 22:00-24:00", NULL,
	  40 * DAY },
	{ "America/Havana", "sat 20:00-24:00; sun 00:00-02:00", NULL, 5 * DAY },
	{ "UTC", "wed 12:00-12:01", NULL, 30 * MIN },
	{ "Europe/Berlin", "sun 02:00-03:00", NULL, 10 * HOUR },
	{ "Asia/Kathmandu", "sun-thu 10:00-17:00", NULL, 40 * DAY },
};

/* between is additive and never more than the elapsed time. */
START_TEST(between_additive)
{
	struct bizhours *bh = biz(prop_conf[_i].zone, prop_conf[_i].hours,
	    prop_conf[_i].closed);
	uint64_t seed = 0xadd1u + (uint64_t)_i;
	int64_t a, b, c, ab, bc, ac;
	int i;

	for (i = 0; i < 3000; i++) {
		a = rand_in(&seed, T("2025-06-01T00:00:00Z"),
		    T("2028-01-01T00:00:00Z"));
		b = a + rand_in(&seed, 0, i % 3 ? 3 * DAY : 60 * DAY);
		c = b + rand_in(&seed, 0, i % 3 ? 3 * DAY : 60 * DAY);
		ab = bizhours_between(bh, a, b);
		bc = bizhours_between(bh, b, c);
		ac = bizhours_between(bh, a, c);
		LOOP_EQ(ab + bc, ac);
		LOOP_TRUE(ab >= 0 && ab <= b - a, "[%lld, %lld): %lld",
		    (long long)a, (long long)b, (long long)ab);
	}
	bizhours_free(bh);
}
END_TEST

/* Many waits over two years against one account, as stats does. */
START_TEST(between_many_waits)
{
	struct bizhours *bh = biz("Europe/Berlin",
	    "mon-fri 09:00-12:30 13:30-18:00; sat 10:00-14:00",
	    "2026-12-24 2026-12-25");
	uint64_t seed = 0x5a7a75ULL;
	int64_t from, len, sum = 0, whole;
	int i;

	for (i = 0; i < 100000; i++) {
		from = rand_in(&seed, T("2026-01-01T00:00:00Z"),
		    T("2028-01-01T00:00:00Z"));
		len = rand_in(&seed, 0, i % 10 ? 4 * HOUR : 5 * DAY);
		sum += bizhours_between(bh, from, from + len);
	}
	ck_assert_int_gt(sum, 0);
	/* A two-year span in one call. */
	whole = bizhours_between(bh, T("2025-12-31T23:00:00Z"),
	    T("2027-12-31T23:00:00Z"));
	/* 2026 + 2027: 522 weekdays less 2 closed, 104 Saturdays. */
	ck_assert_int_eq(whole, (520 * 8 + 104 * 4) * HOUR);
	bizhours_free(bh);
}
END_TEST

/* The process's TZ plays no part. */
START_TEST(between_ignores_process_tz)
{
	struct bizhours *bh;
	char *saved;
	int64_t a = T("2026-11-27T16:00:00Z"), b = T("2026-11-30T09:00:00Z");

	saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	setenv("TZ", "Asia/Kathmandu", 1);
	tzset();
	bh = biz("Europe/Berlin", "mon-fri 09:00-18:00", NULL);
	ck_assert_int_eq(bizhours_between(bh, a, b), 2 * HOUR);
	ck_assert_int_eq(bizhours_add(bh, a, 90 * MIN),
	    T("2026-11-30T08:30:00Z"));
	ck_assert_str_eq(getenv("TZ"), "Asia/Kathmandu");
	bizhours_free(bh);
	unsetenv("TZ");
	tzset();
	bh = biz("Europe/Berlin", "mon-fri 09:00-18:00", NULL);
	ck_assert_int_eq(bizhours_between(bh, a, b), 2 * HOUR);
	ck_assert_ptr_null(getenv("TZ"));
	bizhours_free(bh);
	if (saved != NULL)
		setenv("TZ", saved, 1);
	tzset();
	free(saved);
}
END_TEST

/* ---- add ----------------------------------------------------------------- */

START_TEST(add_basics)
{
	struct bizhours *bh = biz("Europe/Berlin", "mon-fri 09:00-18:00", NULL);
	int64_t mon17 = T("2026-11-23T16:00:00Z");

	ck_assert_int_eq(bizhours_add(bh, mon17, 0), mon17);
	ck_assert_int_eq(bizhours_add(bh, mon17, -HOUR), mon17);
	/* Outside hours, 0 still gives from itself. */
	ck_assert_int_eq(bizhours_add(bh, mon17 + 3 * HOUR, 0),
	    mon17 + 3 * HOUR);
	/* Used up exactly at closing: the closing time, not the next
	 * opening. */
	ck_assert_int_eq(bizhours_add(bh, mon17, HOUR),
	    T("2026-11-23T17:00:00Z"));
	ck_assert_int_eq(bizhours_add(bh, mon17, HOUR + 1),
	    T("2026-11-24T08:00:00.001Z"));
	ck_assert_int_eq(bizhours_add(bh, mon17, 30 * MIN),
	    T("2026-11-23T16:30:00Z"));
	/* Friday 20:00 local plus 30 minutes: Monday 09:30. */
	ck_assert_int_eq(bizhours_add(bh, T("2026-11-27T19:00:00Z"), 30 * MIN),
	    T("2026-11-30T08:30:00Z"));
	/* Friday 17:00 plus one business day of 9 hours. */
	ck_assert_int_eq(bizhours_add(bh, T("2026-11-27T16:00:00Z"), 9 * HOUR),
	    T("2026-11-30T16:00:00Z"));
	/* Before opening: counts from the opening. */
	ck_assert_int_eq(bizhours_add(bh, T("2026-11-23T05:00:00Z"), 1),
	    T("2026-11-23T08:00:00.001Z"));
	bizhours_free(bh);
}
END_TEST

START_TEST(add_across_dst)
{
	struct bizhours *bh = biz("Europe/Berlin", "mon-sun 00:00-24:00", NULL);

	/* Saturday noon local plus 24 business hours: the night has only 23,
	 * so Sunday 13:00 CEST. */
	ck_assert_int_eq(bizhours_add(bh, T("2026-03-28T11:00:00Z"), DAY),
	    T("2026-03-29T11:00:00Z"));
	ck_assert_int_eq(bizhours_add(bh, T("2026-10-24T10:00:00Z"), DAY),
	    T("2026-10-25T10:00:00Z"));
	bizhours_free(bh);

	bh = biz("Europe/Berlin", "sun 02:00-03:00", NULL);
	/* The spring Sunday has no such hour; the next Sunday does. */
	ck_assert_int_eq(bizhours_add(bh, T("2026-03-28T00:00:00Z"), 30 * MIN),
	    T("2026-04-05T00:30:00Z"));
	/* The autumn one has it twice over, from 00:00Z to 02:00Z. */
	ck_assert_int_eq(bizhours_add(bh, T("2026-10-24T00:00:00Z"), 90 * MIN),
	    T("2026-10-25T01:30:00Z"));
	ck_assert_int_eq(bizhours_add(bh, T("2026-10-24T00:00:00Z"), 2 * HOUR),
	    T("2026-10-25T02:00:00Z"));
	bizhours_free(bh);
}
END_TEST

START_TEST(add_closed_dates)
{
	struct bizhours *bh;

	bh = biz("Europe/Berlin", "mon-fri 09:00-18:00",
	    "2026-12-24 2026-12-25");
	/* Wednesday 23rd 17:00 local plus 2h: Monday 28th 10:00. */
	ck_assert_int_eq(bizhours_add(bh, T("2026-12-23T16:00:00Z"), 2 * HOUR),
	    T("2026-12-28T09:00:00Z"));
	bizhours_free(bh);
}
END_TEST

static char *
closed_run(int y, int m, int d, int ndays)
{
	int64_t day = timefmt_days_from_civil(y, m, d);
	char *s, *p;
	int i, yy, mm, dd;

	p = s = malloc((size_t)ndays * 11 + 1);
	ck_assert_ptr_nonnull(s);
	for (i = 0; i < ndays; i++) {
		timefmt_civil_from_days(day + i, &yy, &mm, &dd);
		p += sprintf(p, "%04d-%02d-%02d ", yy, mm, dd);
	}
	*p = '\0';
	return s;
}

START_TEST(add_long_closure)
{
	struct bizhours *bh;
	char *closed;

	/* Closed for all of 2026..2028: open again on Monday 2029-01-01. */
	closed = closed_run(2026, 1, 1, 1096);
	bh = biz("UTC", "mon-fri 09:00-17:00", closed);
	ck_assert_int_eq(bizhours_add(bh, T("2026-01-01T00:00:00Z"), HOUR),
	    T("2029-01-01T10:00:00Z"));
	ck_assert_int_eq(bizhours_between(bh, T("2026-01-01T00:00:00Z"),
	    T("2029-01-01T10:00:00Z")), HOUR);
	bizhours_free(bh);
	free(closed);

	/* Closed for eleven years: no answer. */
	closed = closed_run(2026, 1, 1, 4018);
	bh = biz("UTC", "mon-fri 09:00-17:00", closed);
	ck_assert_int_eq(bizhours_add(bh, T("2026-01-01T00:00:00Z"), HOUR),
	    INT64_MAX);
	ck_assert_int_eq(bizhours_add(bh, T("2026-01-01T00:00:00Z"), 0),
	    T("2026-01-01T00:00:00Z"));
	bizhours_free(bh);
	free(closed);
}
END_TEST

START_TEST(add_end_of_time)
{
	struct bizhours *bh = biz("UTC", "mon-sun 00:00-24:00", NULL);
	int64_t t = T("9999-12-31T12:00:00Z");

	ck_assert_int_eq(bizhours_add(bh, t, HOUR), t + HOUR);
	ck_assert_int_eq(bizhours_add(bh, t, 12 * HOUR),
	    T("9999-12-31T23:59:59.999Z") + 1);
	ck_assert_int_eq(bizhours_add(bh, t, 12 * HOUR + 1), INT64_MAX);
	ck_assert_int_eq(bizhours_add(bh, t, INT64_MAX), INT64_MAX);
	ck_assert_int_eq(bizhours_add(bh, INT64_MAX - 1, HOUR), INT64_MAX);
	ck_assert_int_eq(bizhours_between(bh, INT64_MAX - DAY, INT64_MAX), 0);
	bizhours_free(bh);
}
END_TEST

/*
 * The inverse: between(from, add(from, x)) == x, and add gives the first
 * such instant: one millisecond earlier is one millisecond short.
 */
START_TEST(add_inverse)
{
	struct bizhours *bh = biz(prop_conf[_i].zone, prop_conf[_i].hours,
	    prop_conf[_i].closed);
	uint64_t seed = 0x1a7e75eULL + (uint64_t)_i;
	int64_t from, x, t, mid;
	int i;

	for (i = 0; i < 3000; i++) {
		from = rand_in(&seed, T("2025-06-01T00:00:00Z"),
		    T("2028-01-01T00:00:00Z"));
		if (i % 4 == 0)
			from -= from % HOUR;	/* on the hour: at edges */
		switch (i % 3) {
		case 0:
			x = rand_in(&seed, 1, 2 * HOUR);
			break;
		case 1:
			x = rand_in(&seed, MIN, prop_conf[_i].max / 4) / MIN *
			    MIN;
			break;
		default:
			x = rand_in(&seed, 1, prop_conf[_i].max);
			break;
		}
		if (x > prop_conf[_i].max)
			x = prop_conf[_i].max;
		t = bizhours_add(bh, from, x);
		LOOP_TRUE(t != INT64_MAX && t > from, "add(%lld, %lld): %lld",
		    (long long)from, (long long)x, (long long)t);
		LOOP_EQ(bizhours_between(bh, from, t), x);
		LOOP_EQ(bizhours_between(bh, from, t - 1), x - 1);
		mid = rand_in(&seed, from, t);
		LOOP_EQ(bizhours_add(bh, mid,
		    x - bizhours_between(bh, from, mid)), t);
	}
	bizhours_free(bh);
}
END_TEST

static Suite *
bizhours_suite(void)
{
	Suite *s = suite_create("bizhours");
	TCase *tc;

	tc = tcase_create("tz");
	tcase_add_test(tc, tz_utc);
	tcase_add_loop_test(tc, tz_bad_names, 0, NELEM(bad_zones));
	tcase_add_test(tc, tz_bad_long_name);
	tcase_add_test(tc, tz_berlin);
	tcase_add_test(tc, tz_new_york);
	tcase_add_test(tc, tz_sydney);
	tcase_add_test(tc, tz_odd_offsets);
	tcase_add_test(tc, tz_normalizes);
	tcase_add_loop_test(tc, tz_roundtrip, 0, 11);
	tcase_add_test(tc, tz_ignores_process_tz);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, parse_good, 0, NELEM(good_conf));
	tcase_add_loop_test(tc, parse_bad, 0, NELEM(bad_conf));
	tcase_add_test(tc, parse_equivalent);
	tcase_add_test(tc, parse_wrapping_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("between");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, between_basics);
	tcase_add_test(tc, between_dst_full_days);
	tcase_add_test(tc, between_weekend);
	tcase_add_test(tc, between_several_intervals);
	tcase_add_test(tc, between_closed_dates);
	tcase_add_test(tc, between_dst_inside_hours);
	tcase_add_loop_test(tc, between_matches_oracle, 0, NELEM(oracle));
	tcase_add_loop_test(tc, between_additive, 0, NELEM(prop_conf));
	tcase_add_test(tc, between_many_waits);
	tcase_add_test(tc, between_ignores_process_tz);
	suite_add_tcase(s, tc);

	tc = tcase_create("add");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, add_basics);
	tcase_add_test(tc, add_across_dst);
	tcase_add_test(tc, add_closed_dates);
	tcase_add_test(tc, add_long_closure);
	tcase_add_test(tc, add_end_of_time);
	tcase_add_loop_test(tc, add_inverse, 0, NELEM(prop_conf));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(bizhours_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
