/* SPDX-License-Identifier: ISC */
#ifndef RW_FUZZ_FAKE_JOB_H
#define RW_FUZZ_FAKE_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "connector.h"
#include "msg.h"

/*
 * The poll job of connector.h for the fuzz targets: it checks what it is
 * handed as the daemon's poller.c does (and refuses the same), checks the
 * connector contract (a poll ends exactly once, nothing used after the
 * end) with abort(), and keeps nothing of the messages beyond the poll.
 */
struct poll_job {
	const struct connector_def *def;
	const char	*account;	/* the account's name */
	int		 stream;
	const char	*cursor;
	int64_t		 since;
	int64_t		 now;
	int		 known_roots;	/* conversation_of knows every id */
	void		*data;

	struct msg	*msgs;		/* handed over, not committed */
	size_t		 n, cap;
	size_t		 ncommitted;
	size_t		 ncommits;
	int		 spoiled;
	char		*error;		/* of the first refused message */

	int		 ndone;
	enum poll_status status;
};

void	fake_job_init(struct poll_job *, const struct connector_def *,
	    const char *account, int stream, const char *cursor,
	    int64_t now);
/* Frees what it holds; the poll must have ended. */
void	fake_job_clear(struct poll_job *);

#endif
