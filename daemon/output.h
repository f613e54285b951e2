/* SPDX-License-Identifier: ISC */
#ifndef RW_OUTPUT_H
#define RW_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

/* How a command prints: for people (table), for programs (json, csv). */
enum output_format {
	OUTPUT_TABLE,
	OUTPUT_JSON,
	OUTPUT_CSV,
};

int	output_format_parse(const char *, enum output_format *);

/* A table for people: columns aligned, numbers right-aligned. */
struct table;

struct table *table_new(size_t ncols, const char *const *headers);
/* Mark a column as right-aligned (numbers). */
void	table_align_right(struct table *, size_t col);
/* Cells are added left to right, row by row; the string is copied. */
void	table_add(struct table *, const char *cell);
void	table_addf(struct table *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* A horizontal rule before the next row (for a totals line). */
void	table_rule(struct table *);
void	table_print(const struct table *, FILE *);
void	table_free(struct table *);

/* One CSV record (RFC 4180 quoting) ending in CRLF. */
void	csv_row(FILE *, const char *const *cells, size_t n);

/* Seconds from milliseconds: an integer when whole, else a real. */
cJSON	*json_seconds(int64_t ms);
/* Print a JSON value, with a newline. Returns 0 or -1. */
int	json_print(FILE *, cJSON *, int compact);

/* Milliseconds as seconds for CSV: "300" or "300.25". buf >= 32. */
void	format_seconds(int64_t ms, char *buf, size_t len);

/* A single-line excerpt of text for a table cell: control characters
 * (newlines, escape sequences) become spaces, at most max display characters (UTF-8 aware), "…" when cut. */
char	*text_excerpt(const char *text, size_t max);

#endif
