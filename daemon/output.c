/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "xmalloc.h"

struct table {
	size_t	  ncols;
	char	**cells;	/* row-major; NULL cell marks a rule */
	size_t	  ncells;
	int	 *right;
	size_t	 *rules;	/* row indices before which a rule is drawn */
	size_t	  nrules;
};

int
output_format_parse(const char *s, enum output_format *out)
{
	if (strcmp(s, "table") == 0)
		*out = OUTPUT_TABLE;
	else if (strcmp(s, "json") == 0)
		*out = OUTPUT_JSON;
	else if (strcmp(s, "csv") == 0)
		*out = OUTPUT_CSV;
	else
		return -1;
	return 0;
}

struct table *
table_new(size_t ncols, const char *const *headers)
{
	struct table *t = xcalloc(1, sizeof *t);
	size_t i;

	t->ncols = ncols;
	t->right = xcalloc(ncols, sizeof *t->right);
	for (i = 0; i < ncols; i++)
		table_add(t, headers[i]);
	return t;
}

void
table_align_right(struct table *t, size_t col)
{
	if (col < t->ncols)
		t->right[col] = 1;
}

void
table_add(struct table *t, const char *cell)
{
	char *p;

	t->cells = xreallocarray(t->cells, t->ncells + 1, sizeof *t->cells);
	p = t->cells[t->ncells++] = xstrdup(cell != NULL ? cell : "");
	/* cells hold outside text: no control characters on a terminal */
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void
table_addf(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	table_add(t, s != NULL ? s : "");
	free(s);
}

void
table_rule(struct table *t)
{
	t->rules = xreallocarray(t->rules, t->nrules + 1, sizeof *t->rules);
	t->rules[t->nrules++] = t->ncells / t->ncols;
}

/* Display width of a UTF-8 string: code points, not bytes. */
static size_t
display_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static int
rule_before(const struct table *t, size_t row)
{
	size_t i;

	for (i = 0; i < t->nrules; i++)
		if (t->rules[i] == row)
			return 1;
	return 0;
}

void
table_print(const struct table *t, FILE *fp)
{
	size_t *width = xcalloc(t->ncols, sizeof *width);
	size_t nrows = t->ncells / t->ncols, r, c, total = 0;

	for (r = 0; r < nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			size_t w = display_width(t->cells[r * t->ncols + c]);

			if (w > width[c])
				width[c] = w;
		}
	for (c = 0; c < t->ncols; c++)
		total += width[c] + (c ? 2 : 0);

	for (r = 0; r < nrows; r++) {
		if (rule_before(t, r)) {
			for (c = 0; c < total; c++)
				fputc('-', fp);
			fputc('\n', fp);
		}
		for (c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			size_t pad = width[c] - display_width(cell);
			int last = c + 1 == t->ncols;

			if (c > 0)
				fputs("  ", fp);
			if (t->right[c])
				fprintf(fp, "%*s%s", (int)pad, "", cell);
			else if (last)
				fputs(cell, fp);
			else
				fprintf(fp, "%s%*s", cell, (int)pad, "");
		}
		fputc('\n', fp);
	}
	free(width);
}

void
table_free(struct table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->right);
	free(t->rules);
	free(t);
}

void
csv_row(FILE *fp, const char *const *cells, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *p = cells[i] != NULL ? cells[i] : "";

		if (i > 0)
			fputc(',', fp);
		if (strpbrk(p, ",\"\r\n") == NULL) {
			fputs(p, fp);
			continue;
		}
		fputc('"', fp);
		for (; *p != '\0'; p++) {
			if (*p == '"')
				fputc('"', fp);
			fputc(*p, fp);
		}
		fputc('"', fp);
	}
	fputs("\r\n", fp);
}

cJSON *
json_seconds(int64_t ms)
{
	if (ms % 1000 == 0)
		return cJSON_CreateNumber((double)(ms / 1000));
	return cJSON_CreateNumber((double)ms / 1000.0);
}

int
json_print(FILE *fp, cJSON *v, int compact)
{
	char *s = compact ? cJSON_PrintUnformatted(v) : cJSON_Print(v);
	int rc;

	if (s == NULL)
		return -1;
	rc = fputs(s, fp) == EOF || fputc('\n', fp) == EOF ? -1 : 0;
	cJSON_free(s);
	return rc;
}

void
format_seconds(int64_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRId64, ms / 1000);
	else
		snprintf(buf, len, "%s%" PRId64 ".%03" PRId64,
		    ms < 0 ? "-" : "", (ms < 0 ? -ms : ms) / 1000,
		    (ms < 0 ? -ms : ms) % 1000);
}

char *
text_excerpt(const char *text, size_t max)
{
	size_t len, i, w = 0, o = 0;
	char *out;

	if (text == NULL)
		return xstrdup("");
	len = strlen(text);
	out = xmalloc(len + 4);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];

		if ((ch & 0xc0) != 0x80) {
			if (w == max) {
				/* cut: replace the last character by an ellipsis */
				while (o > 0 && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
					o--;
				if (o > 0)
					o--;
				memcpy(out + o, "\xe2\x80\xa6", 3);
				o += 3;
				break;
			}
			w++;
		}
		/* control characters (escape sequences from hostile text) */
		out[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	out[o] = '\0';
	return out;
}
