/* SPDX-License-Identifier: ISC */
#ifndef RW_TIMEFMT_H
#define RW_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Times are int64_t milliseconds since the Unix epoch (UTC) everywhere in
 * replywatch; durations are int64_t milliseconds.
 */

#define TIMEFMT_RFC3339_LEN 32	/* enough for "2026-11-25T12:00:00.123Z" + NUL */
#define TIMEFMT_DURATION_LEN 48

/* RFC 3339 date-time with any offset ("Z", "+02:00"), optional fraction
 * (milliseconds kept, finer digits truncated). Returns 0, or -1 if malformed
 * or out of range (years 1970..9999). */
int timefmt_parse_rfc3339(const char *s, int64_t *ms);

/* "2026-11-25T12:00:00Z", or with ".123" when the milliseconds are not 0. */
void timefmt_format_rfc3339(int64_t ms, char *buf, size_t len);

/* Durations: one or more <number><unit> with unit ms, s, m, h, d, w
 * ("90m", "1h30m", "45s", "7d"); a bare number means seconds. Negative,
 * empty or overflowing values are refused (-1). */
int timefmt_parse_duration(const char *s, int64_t *ms);

/* For people: "12m 30s", "3h 05m", "2d 4h", "45s", "0s"; at most two units. */
void timefmt_format_duration(int64_t ms, char *buf, size_t len);

/* A point in time on the command line: RFC 3339, a date "2026-11-25"
 * (midnight UTC), "now", or a duration meaning that long before now_ms
 * ("90m", "24h", "7d"). Returns 0 or -1. */
int timefmt_parse_when(const char *s, int64_t now_ms, int64_t *ms);

/* Current wall-clock time in ms. */
int64_t timefmt_now(void);

/* Proleptic Gregorian calendar arithmetic, valid for any int64 day count:
 * days since 1970-01-01 of a date (month 1..12; out-of-range months and
 * days are normalized, so day 0 is the last day of the previous month), and
 * back. Shared by tz.c and bizhours.c so that there is one copy. */
int64_t timefmt_days_from_civil(int64_t year, int month, int day);
void timefmt_civil_from_days(int64_t days, int *year, int *month, int *day);

#endif
