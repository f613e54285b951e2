/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "timefmt.h"
#include "tz.h"
#include "xmalloc.h"

/*
 * The zone's rules come from glibc: with TZ set to ":/usr/share/zoneinfo/NAME"
 * for the duration of a few localtime_r() calls, then put back. That is the
 * only place the process environment is touched (tz_probe_begin/end), and it
 * makes these functions unsafe to call from several threads at once.
 *
 * Asking glibc is slow (tzset() reads the zone file each time TZ changes),
 * so each struct tz keeps a direct-mapped cache of its UTC offsets, in
 * chunks of TZ_CHUNK_DAYS UTC days: the offset at the chunk's start and the
 * changes within it. A chunk is filled with one TZ switch, sampling the
 * offset at each UTC midnight and finding each change to the second. Two
 * changes within one UTC day that cancel out are not seen; the tz database
 * has none. Everything else is calendar arithmetic.
 */

#define TZ_DEFAULT_DIR	"/usr/share/zoneinfo"
#define TZ_NAME_MAX	128
#define TZ_CHUNK_DAYS	256
#define TZ_CACHE_SLOTS	64		/* 64 * 256 days: 44 years */

/* Instants handed to glibc stay within years 1..9999. */
#define TZ_SEC_MIN	INT64_C(-62135596800)
#define TZ_SEC_MAX	INT64_C(253402300799)

#define SEC_PER_DAY	INT64_C(86400)

struct tz_change {
	int64_t	 at;		/* from this second on ... */
	int32_t	 off;		/* ... this offset east of UTC */
};

struct tz_chunk {
	int		 valid;
	int64_t		 chunk;		/* day / TZ_CHUNK_DAYS */
	int32_t		 off;		/* offset at its start */
	size_t		 n, cap;
	struct tz_change *changes;	/* ascending */
};

struct tz {
	char		*name;
	char		*tzenv;		/* ":" and the file path */
	int		 utc;		/* offset 0, glibc not asked */
	struct tz_chunk	*cache;		/* TZ_CACHE_SLOTS */
};

struct tz_probe {
	char	*saved;		/* previous TZ, NULL if unset */
};

static int64_t
floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int
valid_name(const char *name)
{
	const char *p;
	size_t len = strlen(name);

	if (len == 0 || len > TZ_NAME_MAX)
		return 0;
	if (name[0] == '/' || name[len - 1] == '/' || strstr(name, "//"))
		return 0;
	for (p = name; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    *p == '+' || *p == '/')
			continue;
		return 0;	/* no '.', so no ".." either */
	}
	/* The machine's own zone, and zones counting leap seconds. */
	if (strcmp(name, "localtime") == 0 || strncmp(name, "right/", 6) == 0)
		return 0;
	return 1;
}

/* A regular file that starts with the TZif magic. */
static int
is_tzif(const char *path)
{
	struct stat st;
	char magic[4];
	FILE *f;
	int ok;

	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		return 0;
	if ((f = fopen(path, "rb")) == NULL)
		return 0;
	ok = fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
	    memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

struct tz *
tz_new(const char *name, char **errstr)
{
	struct tz *tz;
	const char *dir;
	char *path;

	if (name == NULL)
		name = "";
	if (strcmp(name, "UTC") == 0) {
		tz = xcalloc(1, sizeof(*tz));
		tz->name = xstrdup(name);
		tz->utc = 1;
		return tz;
	}
	if (!valid_name(name)) {
		if (errstr != NULL)
			xasprintf(errstr, "\"%.*s\": not a time zone name",
			    TZ_NAME_MAX, name);
		return NULL;
	}
	dir = getenv("TZDIR");
	if (dir == NULL || dir[0] != '/')
		dir = TZ_DEFAULT_DIR;
	xasprintf(&path, "%s/%s", dir, name);
	if (!is_tzif(path)) {
		if (errstr != NULL)
			xasprintf(errstr, "\"%s\": unknown time zone", name);
		free(path);
		return NULL;
	}
	tz = xcalloc(1, sizeof(*tz));
	tz->name = xstrdup(name);
	xasprintf(&tz->tzenv, ":%s", path);
	free(path);
	tz->cache = xcalloc(TZ_CACHE_SLOTS, sizeof(*tz->cache));
	return tz;
}

void
tz_free(struct tz *tz)
{
	int i;

	if (tz == NULL)
		return;
	if (tz->cache != NULL) {
		for (i = 0; i < TZ_CACHE_SLOTS; i++)
			free(tz->cache[i].changes);
	}
	free(tz->name);
	free(tz->tzenv);
	free(tz->cache);
	free(tz);
}

const char *
tz_name(const struct tz *tz)
{
	return tz->name;
}

static void
tz_probe_begin(struct tz *tz, struct tz_probe *pr)
{
	const char *old = getenv("TZ");

	pr->saved = old != NULL ? xstrdup(old) : NULL;
	setenv("TZ", tz->tzenv, 1);
	tzset();
}

static void
tz_probe_end(struct tz_probe *pr)
{
	if (pr->saved != NULL)
		setenv("TZ", pr->saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(pr->saved);
	pr->saved = NULL;
}

/* glibc's offset at second t; only between tz_probe_begin and _end. */
static int32_t
probe_offset(int64_t t)
{
	struct tm tm;
	time_t tt;
	int64_t local;

	if (t < TZ_SEC_MIN)
		t = TZ_SEC_MIN;
	if (t > TZ_SEC_MAX)
		t = TZ_SEC_MAX;
	tt = (time_t)t;
	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	local = timefmt_days_from_civil((int64_t)tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday) * SEC_PER_DAY +
	    tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return (int32_t)(local - t);
}

/* The first second in (lo, hi] whose offset is not off; probe_offset(lo)
 * is off and probe_offset(hi) is not. */
static int64_t
probe_change(int64_t lo, int64_t hi, int32_t off)
{
	int64_t mid;

	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (probe_offset(mid) == off)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

static void
add_change(struct tz_chunk *c, int64_t at, int32_t off)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4;
		c->changes = xreallocarray(c->changes, c->cap,
		    sizeof(*c->changes));
	}
	c->changes[c->n].at = at;
	c->changes[c->n].off = off;
	c->n++;
}

static void
fill_chunk(struct tz *tz, struct tz_chunk *c, int64_t chunk)
{
	struct tz_probe pr;
	int64_t t0 = chunk * TZ_CHUNK_DAYS * SEC_PER_DAY, t;
	int32_t prev, off;
	int i;

	c->valid = 1;
	c->chunk = chunk;
	c->n = 0;
	tz_probe_begin(tz, &pr);
	prev = c->off = probe_offset(t0);
	for (i = 1; i <= TZ_CHUNK_DAYS; i++) {
		t = t0 + i * SEC_PER_DAY;
		if ((off = probe_offset(t)) == prev)
			continue;
		add_change(c, probe_change(t - SEC_PER_DAY, t, prev), off);
		prev = off;
	}
	tz_probe_end(&pr);
}

static const struct tz_chunk *
get_chunk(struct tz *tz, int64_t chunk)
{
	struct tz_chunk *c;

	c = &tz->cache[chunk - floordiv(chunk, TZ_CACHE_SLOTS) *
	    TZ_CACHE_SLOTS];
	if (!c->valid || c->chunk != chunk)
		fill_chunk(tz, c, chunk);
	return c;
}

static int64_t
clamp_sec(int64_t t)
{
	if (t < TZ_SEC_MIN)
		return TZ_SEC_MIN;
	if (t > TZ_SEC_MAX)
		return TZ_SEC_MAX;
	return t;
}

static int64_t
chunk_of(int64_t t)
{
	return floordiv(floordiv(clamp_sec(t), SEC_PER_DAY), TZ_CHUNK_DAYS);
}

/* Seconds east of UTC at second t. */
static int32_t
offset_at(struct tz *tz, int64_t t)
{
	const struct tz_chunk *c;
	int32_t off;
	size_t i;

	if (tz->utc)
		return 0;
	t = clamp_sec(t);
	c = get_chunk(tz, chunk_of(t));
	off = c->off;
	for (i = 0; i < c->n && c->changes[i].at <= t; i++)
		off = c->changes[i].off;
	return off;
}

/* The offset change in [lo, hi]: its second. Used for gaps, where offsets
 * differ at both ends and there is exactly one change between them. */
static int64_t
change_between(struct tz *tz, int64_t lo, int64_t hi)
{
	const struct tz_chunk *c;
	int64_t chunk, last = chunk_of(hi);
	size_t i;

	for (chunk = chunk_of(lo); chunk <= last; chunk++) {
		c = get_chunk(tz, chunk);
		for (i = 0; i < c->n; i++) {
			if (c->changes[i].at >= lo && c->changes[i].at <= hi)
				return c->changes[i].at;
		}
	}
	return hi;
}

void
tz_to_local(struct tz *tz, int64_t ms, struct tz_local *out)
{
	int64_t secs, days, rem;

	secs = floordiv(ms, 1000);
	secs += offset_at(tz, secs);
	days = floordiv(secs, SEC_PER_DAY);
	rem = secs - days * SEC_PER_DAY;
	timefmt_civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour = (int)(rem / 3600);
	out->minute = (int)(rem / 60 % 60);
	out->second = (int)(rem % 60);
	/* 1970-01-01 was a Thursday. */
	out->wday = (int)(days - floordiv(days + 4, 7) * 7 + 4);
}

/*
 * Local second L (local wall clock counted as if it were UTC) to an
 * instant. Offsets a day before and after L bound the candidates: an
 * instant t = L - off is valid when the zone's offset at t is off.
 */
static int64_t
from_local_sec(struct tz *tz, int64_t L)
{
	int32_t o1, o2;
	int64_t t1, t2;
	int ok1, ok2;

	if (tz->utc)
		return L;
	o1 = offset_at(tz, L - SEC_PER_DAY);
	o2 = offset_at(tz, L + SEC_PER_DAY);
	t1 = L - o1;
	t2 = L - o2;
	ok1 = offset_at(tz, t1) == o1;
	ok2 = o1 != o2 && offset_at(tz, t2) == o2;
	if (ok1 && ok2)
		return t1 < t2 ? t1 : t2;	/* ambiguous: the first */
	if (ok1)
		return t1;
	if (ok2)
		return t2;
	/* Skipped by the change: the instant of the change. */
	return change_between(tz, t1 < t2 ? t1 : t2, t1 < t2 ? t2 : t1);
}

int64_t
tz_from_local(struct tz *tz, int year, int month, int day, int hour,
    int minute, int second)
{
	int64_t L, t;

	L = timefmt_days_from_civil(year, month, day) * SEC_PER_DAY +
	    (int64_t)hour * 3600 + (int64_t)minute * 60 + second;
	t = from_local_sec(tz, L);
	if (t > INT64_MAX / 1000)
		return INT64_MAX;
	if (t < INT64_MIN / 1000)
		return INT64_MIN;
	return t * 1000;
}

void
tz_date(struct tz *tz, int64_t ms, char *buf)
{
	struct tz_local lt;

	tz_to_local(tz, ms, &lt);
	snprintf(buf, 11, "%04d-%02d-%02d", lt.year, lt.month, lt.day);
}
