/* SPDX-License-Identifier: ISC */
#ifndef RW_TZ_H
#define RW_TZ_H

#include <stdint.h>

/*
 * IANA time zones by name, with the rules of the system's tz database
 * (/usr/share/zoneinfo, or $TZDIR if set to an absolute path), including
 * daylight-saving changes, past and future.
 *
 * The process's own TZ plays no part and is left as it was. The rules are
 * read through glibc by switching TZ for a moment inside these functions,
 * and each struct tz caches what it learnt: not for use from several
 * threads at once, nor alongside another thread's localtime().
 */
struct tz;

struct tz_local {
	int year, month, day;		/* month 1..12, day 1..31 */
	int hour, minute, second;
	int wday;			/* 0 = Sunday .. 6 = Saturday */
};

/* NULL with *errstr set (caller frees; errstr may be NULL) if the zone is
 * unknown. "UTC" always works, even without a tz database. Names are
 * checked before any file is opened: letters, digits, '_', '-', '+' and
 * '/' between non-empty parts; "localtime" and "right/..." are refused.
 * The file must be a TZif file. */
struct tz *tz_new(const char *name, char **errstr);
void tz_free(struct tz *);
const char *tz_name(const struct tz *);

/* The local calendar time of an instant (milliseconds dropped). */
void tz_to_local(struct tz *, int64_t ms, struct tz_local *out);

/* The instant of a local wall-clock time on a date. A time that does not
 * exist (skipped by a spring-forward change) maps to the instant the clock
 * jumps over it; an ambiguous one (autumn) maps to its first occurrence.
 * Out-of-range fields carry over as with mktime(): hour 24 is the next
 * day's 00:00, day 32 of December is 1 January. Whole seconds. */
int64_t tz_from_local(struct tz *, int year, int month, int day, int hour,
    int minute, int second);

/* "YYYY-MM-DD" of an instant in this zone; buf at least 11 bytes. */
void tz_date(struct tz *, int64_t ms, char *buf);

#endif
