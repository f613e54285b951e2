/* SPDX-License-Identifier: ISC */
#ifndef RW_IMPORT_READER_H
#define RW_IMPORT_READER_H

#include <stdio.h>

#include "msg.h"

/*
 * The reading side of `replywatch import`. A child process reads the input
 * and parses it while the parent stores what it has already parsed, so the
 * two halves of an import use two cores. The child reports bad lines on
 * standard error itself ("file:line: reason") and hands the parent
 * normalized messages through a pipe.
 */
struct reader;

struct conf;

/* Start reading fp (name for messages). Call before opening anything the
 * child must not inherit. With conf, the child classifies inbound
 * messages the input does not flag, with each account's complaint
 * settings. NULL with *errstr on failure. */
struct reader *reader_start(FILE *fp, const char *name, size_t max_line,
	    const struct conf *conf, char **errstr);

/* The next message: 1 with *m set (its strings are borrowed until the next
 * call; do not msg_clear it), 0 at the end of the input, -1 on an error
 * (reading, or the child died) with *errstr. */
int	reader_next(struct reader *, struct msg *m, char **errstr);

/* After the end: lines read and lines rejected (either may be NULL). */
void	reader_counts(const struct reader *, unsigned long *lines,
	    unsigned long *rejected);

/* Stop the child if it still runs, wait for it, free. */
void	reader_stop(struct reader *);

#endif
