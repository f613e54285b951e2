/* SPDX-License-Identifier: ISC */
#ifndef RW_GENROWS_H
#define RW_GENROWS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Deterministic synthetic normalized messages for the benchmarks.
 *
 * The same (n, convs, seed) always yields the same rows in the same order,
 * on any machine: generation uses integer arithmetic only. bench/gen.c writes
 * them as JSON Lines for `replywatch import`; bench/refinsert.c binds the
 * very same values into SQLite without any JSON in between.
 *
 * Half of the messages (n / 2, rounded down) are direct, the rest broadcast;
 * exactly convs conversations (convs / 2 direct). Rows come roughly in
 * created_at order, the way a connector polling every minute delivers them.
 */

enum genrows_kind {
	GENROWS_DIRECT = 0,
	GENROWS_BROADCAST = 1,
};

enum genrows_direction {
	GENROWS_INBOUND = 0,
	GENROWS_OUTBOUND = 1,	/* written by the brand account */
};

/* First instant of the generated period: 2026-11-01T00:00:00Z. */
#define GENROWS_EPOCH_MS	1793491200000LL
#define GENROWS_DAYS		30

#define GENROWS_MAX_N		50000000ULL

/* One message. The strings belong to the generator and stay valid until the
 * next genrows_next() call; optional fields are NULL when absent. */
struct genrow {
	uint64_t	 seq;		/* 0, 1, 2, ... in output order */
	const char	*platform;
	const char	*account;
	const char	*id;
	const char	*conversation;
	int		 kind;		/* enum genrows_kind */
	int		 direction;	/* enum genrows_direction */
	int64_t		 created_ms;	/* ms since the Unix epoch, UTC */
	const char	*author;
	const char	*in_reply_to;
	const char	*text;		/* valid UTF-8, 20..280 code points */
	const char	*url;
	size_t		 text_len;	/* bytes */
};

struct genrows;

/* NULL with a message in err if the parameters are unusable
 * (need 2 <= convs <= n <= GENROWS_MAX_N). */
struct genrows	*genrows_new(uint64_t n, uint64_t convs, uint64_t seed,
		    char *err, size_t errlen);
/* 1 with *row filled, 0 at the end. */
int		 genrows_next(struct genrows *, struct genrow *);
void		 genrows_free(struct genrows *);

/* "2026-11-02T09:14:03Z", or "...03.120Z" when ms % 1000 != 0; buf >= 32. */
void		 genrows_format_time(int64_t ms, char *buf, size_t len);

/* A whole number from the command line; a bad one ends the program
 * with status 2 and a message naming prog and what. */
uint64_t genrows_number(const char *prog, const char *s, const char *what);

#endif
