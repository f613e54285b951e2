/* SPDX-License-Identifier: ISC */
#ifndef RW_BIZHOURS_H
#define RW_BIZHOURS_H

#include <stdint.h>

/*
 * Business hours of an account: a time zone, weekly opening intervals
 * (several a day allowed) and closed dates.
 *
 * hours:  "mon-fri 09:00-12:30 13:30-18:00; sat 10:00-14:00"
 *         groups separated by ';' (one trailing ';' allowed), each a list of
 *         days, a space, then one or more intervals separated by spaces
 *         (a comma between them is allowed too: "09:00-12:30, 13:30-18:00").
 *         days: mon tue wed thu fri sat sun (also monday .. sunday, in any
 *         case), ranges "mon-fri", lists "mon,wed" and both "mon-wed,fri".
 *         A range may wrap around the week end: "fri-mon" is fri sat sun mon.
 *         A day may appear in several groups.
 *         intervals HH:MM-HH:MM of local wall-clock time, the hour with one
 *         or two digits ("9:00"), start before end, end may be 24:00 (the
 *         next midnight). Intervals of one day must not overlap; touching
 *         ones are joined ("09:00-12:00 12:00-13:00"). At most 16 a day.
 * closed: "2026-12-24 2026-12-25" (space- or comma-separated dates).
 *         Local dates YYYY-MM-DD; duplicates and any order are fine.
 *
 * Intervals are wall-clock times on each local date, turned into instants
 * with tz_from_local(): on the spring-forward day "00:00-24:00" lasts 23
 * hours and on the autumn one 25; an interval inside the skipped hour
 * ("02:00-03:00" in Berlin) is empty that day; an end inside the repeated
 * hour is its first occurrence. Local dates before 1900 and after 9999
 * count as closed.
 *
 * Errors name the configuration key and the offending group or date:
 *	business_hours: "mon-fri 9:00-25:00": hour out of range
 *	business_hours: "wed 11:00-13:00": overlapping intervals on wed
 *	timezone: "Mars/Olympus": unknown time zone
 *	closed: "2026-02-30": not a date YYYY-MM-DD
 * (quoted text is cut at 64 characters, unprintable bytes shown as '?').
 *
 * A struct bizhours caches the instants of the dates it has seen, so even
 * the queries modify it; like tz.h, not for use from several threads.
 */
struct bizhours;

/* NULL with *errstr (caller frees) naming what is wrong. zone NULL means
 * "UTC"; closed may be NULL; errstr may be NULL. */
struct bizhours *bizhours_new(const char *zone, const char *hours,
    const char *closed, char **errstr);
void bizhours_free(struct bizhours *);

/* Milliseconds of [from_ms, to_ms) that lie inside opening hours. 0 if to <= from. */
int64_t bizhours_between(struct bizhours *, int64_t from_ms, int64_t to_ms);

/* The first instant t >= from_ms with bizhours_between(from_ms, t) ==
 * amount_ms: an amount used up exactly at closing time gives the closing
 * time, not the next opening. amount_ms 0 (or less) gives from_ms.
 * INT64_MAX if the hours have no opening at all: none for ten years in a
 * row (closed dates), or not enough before the end of 9999. */
int64_t bizhours_add(struct bizhours *, int64_t from_ms, int64_t amount_ms);

#endif
