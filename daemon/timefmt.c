/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

#define MS_PER_SEC	INT64_C(1000)
#define MS_PER_MIN	(60 * MS_PER_SEC)
#define MS_PER_HOUR	(60 * MS_PER_MIN)
#define MS_PER_DAY	(24 * MS_PER_HOUR)
#define MS_PER_WEEK	(7 * MS_PER_DAY)

/* 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z. */
#define TIME_MIN_MS	INT64_C(0)
#define TIME_MAX_MS	INT64_C(253402300799999)

/* Keeps civil_from_days' year within an int. */
#define DAYS_LIMIT	INT64_C(700000000000)

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int64_t
timefmt_days_from_civil(int64_t year, int month, int day)
{
	int64_t y, era, yoe, doy, doe, m;

	y = year + floordiv((int64_t)month - 1, 12);
	m = (int64_t)month - 1 - 12 * floordiv((int64_t)month - 1, 12) + 1;
	y -= m <= 2;
	era = floordiv(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 + ((int64_t)day - 1);
}

void
timefmt_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	int64_t z, era, doe, yoe, y, doy, mp, d, m;

	if (days > DAYS_LIMIT)
		days = DAYS_LIMIT;
	if (days < -DAYS_LIMIT)
		days = -DAYS_LIMIT;
	z = days + 719468;
	era = floordiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	*year = (int)(y + (m <= 2));
	*month = (int)m;
	*day = (int)d;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int mdays[12] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	if (m == 2 && is_leap(y))
		return 29;
	return mdays[m - 1];
}

/* Exactly n decimal digits at *s; advances *s. */
static int
digits(const char **s, int n, int *out)
{
	const char *p = *s;
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*s = p + n;
	*out = v;
	return 0;
}

/* "YYYY-MM-DD" with a valid day; advances *s. */
static int
parse_date(const char **s, int *y, int *m, int *d)
{
	const char *p = *s;

	if (digits(&p, 4, y) == -1 || *p++ != '-' ||
	    digits(&p, 2, m) == -1 || *p++ != '-' ||
	    digits(&p, 2, d) == -1)
		return -1;
	if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
		return -1;
	*s = p;
	return 0;
}

/* ".123456" (any length, at least one digit): milliseconds, finer
 * digits truncated. Nothing to parse gives 0. */
static int
parse_fraction(const char **s, int64_t *ms)
{
	const char *p = *s;
	int64_t v = 0;
	int n = 0;

	*ms = 0;
	if (*p != '.')
		return 0;
	p++;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++, n++) {
		if (n < 3)
			v = v * 10 + (*p - '0');
	}
	for (; n < 3; n++)
		v *= 10;
	*ms = v;
	*s = p;
	return 0;
}

/* "Z", "z" or "+HH:MM" / "-HH:MM": seconds east of UTC. */
static int
parse_offset(const char **s, int64_t *off)
{
	const char *p = *s;
	int sign, hh, mm;

	if (*p == 'Z' || *p == 'z') {
		*off = 0;
		*s = p + 1;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 2, &hh) == -1 || *p++ != ':' ||
	    digits(&p, 2, &mm) == -1)
		return -1;
	if (hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 3600 + mm * 60);
	*s = p;
	return 0;
}

int
timefmt_parse_rfc3339(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec;
	int64_t frac, off, t;

	if (s == NULL || parse_date(&s, &y, &mo, &d) == -1)
		return -1;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (digits(&s, 2, &h) == -1 || *s++ != ':' ||
	    digits(&s, 2, &mi) == -1 || *s++ != ':' ||
	    digits(&s, 2, &sec) == -1)
		return -1;
	/* 60 is a leap second: it counts as the next minute's first instant. */
	if (h > 23 || mi > 59 || sec > 60)
		return -1;
	if (parse_fraction(&s, &frac) == -1 || parse_offset(&s, &off) == -1)
		return -1;
	if (*s != '\0')
		return -1;
	t = timefmt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec - off;
	t = t * MS_PER_SEC + frac;
	if (t < TIME_MIN_MS || t > TIME_MAX_MS)
		return -1;
	*ms = t;
	return 0;
}

void
timefmt_format_rfc3339(int64_t ms, char *buf, size_t len)
{
	int64_t secs, days, rem, msec;
	int y, mo, d;

	if (len == 0)
		return;
	secs = ms / MS_PER_SEC;
	msec = ms % MS_PER_SEC;
	if (msec < 0) {
		secs--;
		msec += MS_PER_SEC;
	}
	days = floordiv(secs, 86400);
	rem = secs - days * 86400;
	timefmt_civil_from_days(days, &y, &mo, &d);
	if (msec != 0)
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    y, mo, d, (int)(rem / 3600), (int)(rem / 60 % 60),
		    (int)(rem % 60), (int)msec);
	else
		snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    y, mo, d, (int)(rem / 3600), (int)(rem / 60 % 60),
		    (int)(rem % 60));
}

/* A unit at *s: its size in ms and its rank (larger units rank higher). */
static int
parse_unit(const char **s, int64_t *size, int *rank)
{
	const char *p = *s;

	switch (*p) {
	case 'w':
		*size = MS_PER_WEEK;
		*rank = 6;
		break;
	case 'd':
		*size = MS_PER_DAY;
		*rank = 5;
		break;
	case 'h':
		*size = MS_PER_HOUR;
		*rank = 4;
		break;
	case 'm':
		if (p[1] == 's') {
			*size = 1;
			*rank = 1;
			p++;
		} else {
			*size = MS_PER_MIN;
			*rank = 3;
		}
		break;
	case 's':
		*size = MS_PER_SEC;
		*rank = 2;
		break;
	default:
		return -1;
	}
	*s = p + 1;
	return 0;
}

/* Decimal digits at *s (at least one), without overflow. */
static int
parse_number(const char **s, int64_t *out)
{
	const char *p = *s;
	int64_t v = 0;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*s = p;
	*out = v;
	return 0;
}

int
timefmt_parse_duration(const char *s, int64_t *ms)
{
	int64_t total = 0, n, size = 1;
	int rank = 0, last = 7;

	if (s == NULL || parse_number(&s, &n) == -1)
		return -1;
	if (*s == '\0') {
		/* A bare number: seconds. */
		if (n > INT64_MAX / MS_PER_SEC)
			return -1;
		*ms = n * MS_PER_SEC;
		return 0;
	}
	for (;;) {
		if (parse_unit(&s, &size, &rank) == -1 || rank >= last)
			return -1;
		last = rank;
		if (n > INT64_MAX / size || n * size > INT64_MAX - total)
			return -1;
		total += n * size;
		if (*s == '\0')
			break;
		if (*s == ' ')
			s++;
		if (parse_number(&s, &n) == -1)
			return -1;
	}
	*ms = total;
	return 0;
}

void
timefmt_format_duration(int64_t ms, char *buf, size_t len)
{
	uint64_t a, secs, d, h, m, sec;
	const char *sign = "";

	if (len == 0)
		return;
	if (ms < 0) {
		sign = "-";
		a = (uint64_t)-(ms + 1) + 1;	/* even INT64_MIN */
	} else
		a = (uint64_t)ms;
	secs = a / 1000;
	if (secs == 0)
		sign = "";
	d = secs / 86400;
	h = secs / 3600 % 24;
	m = secs / 60 % 60;
	sec = secs % 60;
	if (d > 0)
		snprintf(buf, len, "%s%llud %lluh", sign,
		    (unsigned long long)d, (unsigned long long)h);
	else if (h > 0)
		snprintf(buf, len, "%s%lluh %02llum", sign,
		    (unsigned long long)h, (unsigned long long)m);
	else if (m > 0)
		snprintf(buf, len, "%s%llum %02llus", sign,
		    (unsigned long long)m, (unsigned long long)sec);
	else
		snprintf(buf, len, "%s%llus", sign, (unsigned long long)sec);
}

int
timefmt_parse_when(const char *s, int64_t now_ms, int64_t *ms)
{
	const char *p;
	int64_t d;
	int y, mo, day;

	if (s == NULL)
		return -1;
	if (strcmp(s, "now") == 0) {
		*ms = now_ms;
		return 0;
	}
	p = s;
	if (parse_date(&p, &y, &mo, &day) == 0) {
		if (*p != '\0')
			return timefmt_parse_rfc3339(s, ms);
		d = timefmt_days_from_civil(y, mo, day) * MS_PER_DAY;
		if (d < TIME_MIN_MS || d > TIME_MAX_MS)
			return -1;
		*ms = d;
		return 0;
	}
	if (timefmt_parse_duration(s, &d) == -1)
		return -1;
	if (now_ms < TIME_MIN_MS || d > now_ms - TIME_MIN_MS)
		return -1;
	*ms = now_ms - d;
	return 0;
}

int64_t
timefmt_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * MS_PER_SEC + ts.tv_nsec / 1000000;
}
