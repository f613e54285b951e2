/* SPDX-License-Identifier: ISC */
#ifndef RW_BIZHOURS_H
#define RW_BIZHOURS_H

#include <stdint.h>

/*
 * Business hours of an account: a time zone, weekly opening intervals
 * (several a day allowed) and closed dates.
 *
 * hours:  "mon-fri 09:00-12:30 13:30-18:00; sat 10:00-14:00"
 *         days: mon tue wed thu fri sat sun, ranges "mon-fri", lists
 *         "mon,wed"; intervals HH:MM-HH:MM, end may be 24:00.
 * closed: "2026-12-24 2026-12-25" (space- or comma-separated dates).
 */
struct bizhours;

/* NULL with *errstr (caller frees) naming what is wrong. closed may be NULL. */
struct bizhours *bizhours_new(const char *zone, const char *hours,
    const char *closed, char **errstr);
void bizhours_free(struct bizhours *);

/* Milliseconds of [from_ms, to_ms) that lie inside opening hours. 0 if to <= from. */
int64_t bizhours_between(struct bizhours *, int64_t from_ms, int64_t to_ms);

/* The first instant t >= from_ms with bizhours_between(from_ms, t) == amount_ms.
 * amount_ms 0 gives from_ms. INT64_MAX if the hours have no opening at all. */
int64_t bizhours_add(struct bizhours *, int64_t from_ms, int64_t amount_ms);

#endif
