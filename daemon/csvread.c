/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvread.h"
#include "xmalloc.h"

struct csvread {
	FILE		*fp;
	char		 sep;
	int		 quoting;
	long		 line;		/* lines read so far */
	char		*buf;		/* the record's fields, NUL-separated */
	size_t		 len, cap;
	size_t		*starts;	/* offsets of the fields in buf */
	char		**fields;
	size_t		 nf, fcap;
};

struct csvread *
csvread_new(FILE *fp, char sep, int quoting)
{
	struct csvread *r = xcalloc(1, sizeof *r);

	r->fp = fp;
	r->sep = sep;
	r->quoting = quoting;
	return r;
}

void
csvread_free(struct csvread *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r->starts);
	free(r->fields);
	free(r);
}

static void
put(struct csvread *r, char c)
{
	if (r->len == r->cap) {
		r->cap = r->cap == 0 ? 256 : r->cap * 2;
		r->buf = xreallocarray(r->buf, r->cap, 1);
	}
	r->buf[r->len++] = c;
}

static void
field_start(struct csvread *r)
{
	if (r->nf == r->fcap) {
		r->fcap = r->fcap == 0 ? 16 : r->fcap * 2;
		r->starts = xreallocarray(r->starts, r->fcap, sizeof *r->starts);
	}
	r->starts[r->nf++] = r->len;
}

/* The rest of a quoted field, after its opening quote. */
static int
quoted(struct csvread *r, long start, char **errstr)
{
	int c;

	for (;;) {
		if ((c = getc(r->fp)) == EOF) {
			xasprintf(errstr, "line %ld: a quoted field starting "
			    "there has no closing quote", start);
			return -1;
		}
		if (c == '\n')
			r->line++;
		if (c != '"') {
			put(r, (char)c);
			continue;
		}
		if ((c = getc(r->fp)) == '"') {
			put(r, '"');
			continue;
		}
		if (c == EOF || c == '\n' || c == '\r' || c == r->sep) {
			if (c != EOF)
				ungetc(c, r->fp);
			return 0;
		}
		xasprintf(errstr, "line %ld: text after the closing quote of "
		    "a field", r->line);
		return -1;
	}
}

int
csvread_next(struct csvread *r, char ***fields, size_t *nfields, long *line,
    char **errstr)
{
	int c, at_start = 1;
	size_t i;

	*errstr = NULL;
	r->len = r->nf = 0;
	if ((c = getc(r->fp)) == EOF) {
		if (!ferror(r->fp))
			return 0;
		xasprintf(errstr, "cannot read: %s", strerror(errno));
		return -1;
	}
	ungetc(c, r->fp);
	*line = ++r->line;
	field_start(r);
	for (;;) {
		c = getc(r->fp);
		if (c == EOF || c == '\n')
			break;
		if (c == '\r') {
			if ((c = getc(r->fp)) == '\n' || c == EOF)
				break;
			ungetc(c, r->fp);
			c = '\r';
		}
		if (c == r->sep) {
			put(r, '\0');
			field_start(r);
			at_start = 1;
			continue;
		}
		if (c == '"' && at_start && r->quoting) {
			if (quoted(r, *line, errstr) == -1)
				return -1;
			at_start = 0;
			continue;
		}
		at_start = 0;
		put(r, (char)c);
	}
	if (ferror(r->fp)) {
		xasprintf(errstr, "cannot read: %s", strerror(errno));
		return -1;
	}
	put(r, '\0');
	r->fields = xreallocarray(r->fields, r->nf, sizeof *r->fields);
	for (i = 0; i < r->nf; i++)
		r->fields[i] = r->buf + r->starts[i];
	*fields = r->fields;
	*nfields = r->nf;
	return 1;
}
