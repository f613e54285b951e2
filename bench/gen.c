/* SPDX-License-Identifier: ISC */
/*
 * rw-gen: write synthetic normalized messages as JSON Lines.
 *
 *	rw-gen [-n messages] [-c conversations] [-s seed] > messages.jsonl
 *
 * The rows are those of genrows.c; every eighth line writes its non-ASCII
 * characters as \u escapes, the way some JSON encoders do, so the importer
 * sees both forms.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "genrows.h"

#define OUT_CAP		(1024 * 1024)
#define OUT_SLACK	(32 * 1024)	/* more than the longest line */

struct out {
	char		*buf;
	size_t		 len;
};

static void
usage(void)
{
	fprintf(stderr, "usage: rw-gen [-n messages] [-c conversations] "
	    "[-s seed]\n");
	exit(2);
}

static void
out_flush(struct out *o)
{
	if (o->len > 0 && fwrite(o->buf, 1, o->len, stdout) != o->len) {
		perror("rw-gen: write");
		exit(1);
	}
	o->len = 0;
}

static void
out_raw(struct out *o, const char *s, size_t n)
{
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void
out_u16(struct out *o, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	char		 b[6];

	b[0] = '\\';
	b[1] = 'u';
	b[2] = hex[(v >> 12) & 15];
	b[3] = hex[(v >> 8) & 15];
	b[4] = hex[(v >> 4) & 15];
	b[5] = hex[v & 15];
	out_raw(o, b, sizeof b);
}

/* A JSON string. The generator only produces valid UTF-8. */
static void
out_str(struct out *o, const char *s, int ascii)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned	 cp;
	int		 n;

	o->buf[o->len++] = '"';
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			o->buf[o->len++] = '\\';
			o->buf[o->len++] = (char)*p++;
		} else if (*p == '\n') {
			out_raw(o, "\\n", 2);
			p++;
		} else if (*p == '\t') {
			out_raw(o, "\\t", 2);
			p++;
		} else if (*p < 0x20) {
			out_u16(o, *p++);
		} else if (*p < 0x80 || !ascii) {
			o->buf[o->len++] = (char)*p++;
		} else {
			if (*p >= 0xf0) {
				cp = *p & 0x07;
				n = 3;
			} else if (*p >= 0xe0) {
				cp = *p & 0x0f;
				n = 2;
			} else {
				cp = *p & 0x1f;
				n = 1;
			}
			for (p++; n > 0; n--, p++)
				cp = (cp << 6) | (*p & 0x3f);
			if (cp >= 0x10000) {
				cp -= 0x10000;
				out_u16(o, 0xd800 + (cp >> 10));
				out_u16(o, 0xdc00 + (cp & 0x3ff));
			} else
				out_u16(o, cp);
		}
	}
	o->buf[o->len++] = '"';
}

static void
out_field(struct out *o, const char *key, const char *val, int ascii)
{
	out_raw(o, ",\"", 2);
	out_raw(o, key, strlen(key));
	out_raw(o, "\":", 2);
	out_str(o, val, ascii);
}

int
main(int argc, char *argv[])
{
	struct genrows	*g;
	struct genrow	 row;
	struct out	 o;
	uint64_t	 n = 1000000, convs = 100000, seed = 42;
	char		 err[128], when[32];
	int		 ch, ascii;

	while ((ch = getopt(argc, argv, "c:n:s:")) != -1) {
		switch (ch) {
		case 'c':
			convs = genrows_number("rw-gen", optarg, "conversation count");
			break;
		case 'n':
			n = genrows_number("rw-gen", optarg, "message count");
			break;
		case 's':
			seed = genrows_number("rw-gen", optarg, "seed");
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	if ((g = genrows_new(n, convs, seed, err, sizeof err)) == NULL) {
		fprintf(stderr, "rw-gen: %s\n", err);
		return 2;
	}
	if ((o.buf = malloc(OUT_CAP)) == NULL) {
		perror("rw-gen");
		return 1;
	}
	o.len = 0;
	while (genrows_next(g, &row)) {
		if (o.len + OUT_SLACK > OUT_CAP)
			out_flush(&o);
		ascii = row.seq % 8 == 3;
		out_raw(&o, "{\"platform\":", 12);
		out_str(&o, row.platform, ascii);
		out_field(&o, "account", row.account, ascii);
		out_field(&o, "id", row.id, ascii);
		out_field(&o, "conversation", row.conversation, ascii);
		out_field(&o, "kind", row.kind == GENROWS_DIRECT ?
		    "direct" : "broadcast", ascii);
		out_field(&o, "direction", row.direction == GENROWS_INBOUND ?
		    "inbound" : "outbound", ascii);
		genrows_format_time(row.created_ms, when, sizeof when);
		out_field(&o, "created_at", when, ascii);
		if (row.author != NULL)
			out_field(&o, "author", row.author, ascii);
		if (row.in_reply_to != NULL)
			out_field(&o, "in_reply_to", row.in_reply_to, ascii);
		out_field(&o, "text", row.text, ascii);
		if (row.url != NULL)
			out_field(&o, "url", row.url, ascii);
		out_raw(&o, "}\n", 2);
	}
	out_flush(&o);
	if (fflush(stdout) != 0) {
		perror("rw-gen: write");
		return 1;
	}
	free(o.buf);
	genrows_free(g);
	return 0;
}
