/* SPDX-License-Identifier: ISC */
#ifndef RW_CSVREAD_H
#define RW_CSVREAD_H

#include <stddef.h>
#include <stdio.h>

/*
 * A reader of CSV (RFC 4180): fields separated by sep, quoted with '"'
 * when they hold sep, quotes or line breaks ("" is a quote inside quotes),
 * records ending in LF or CRLF. With sep '\t' and quoting off, plain TSV.
 */
struct csvread;

struct csvread *csvread_new(FILE *, char sep, int quoting);
void	csvread_free(struct csvread *);

/* The next record: 1 with its fields (valid until the next call) and the
 * line it starts on; 0 at the end; -1 with *errstr (caller frees, "line
 * N: why") on malformed input or a read error. */
int	csvread_next(struct csvread *, char ***fields, size_t *nfields,
	    long *line, char **errstr);

#endif
