/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "msg.h"
#include "store.h"
#include "xmalloc.h"

#define IMPORT_MAX_LINE	(1024 * 1024)	/* longer lines are rejected */
#define IMPORT_BATCH	50000		/* messages per transaction */

static const char import_help[] =
    "Reads normalized messages, one JSON object per line, from FILE or\n"
    "standard input. Bad lines are reported with their number and reason;\n"
    "the others are imported. Importing the same messages again changes\n"
    "nothing but their text and url.\n"
    "\n"
    "Options:\n"
    "  --batch N   messages per transaction (default 50000)\n"
    "  -h, --help  this help\n"
    "\n"
    "Exit status: 0 all imported, 3 some lines rejected, 1 failure.\n";

struct import {
	struct store	*st;
	const char	*name;		/* for messages: the file or "-" */
	size_t		 batch, in_batch;
	unsigned long	 lines, added, existing, rejected;
};

/* Read one line into buf (capacity cap); 1 on a line, 0 at EOF, -1 on a
 * read error. A line too long is consumed and flagged with *too_long. */
static int
read_line(FILE *fp, char *buf, size_t cap, size_t *len, int *too_long)
{
	size_t n;

	*too_long = 0;
	if (fgets(buf, (int)cap, fp) == NULL)
		return ferror(fp) ? -1 : 0;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n') {
		buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '\r')
			buf[--n] = '\0';
		*len = n;
		return 1;
	}
	if (feof(fp)) {
		*len = n;
		return 1;
	}
	*too_long = 1;
	for (;;) {
		int ch = getc(fp);

		if (ch == EOF || ch == '\n')
			break;
	}
	return ferror(fp) ? -1 : 1;
}

static int
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t')
			return 0;
	return 1;
}

static int
flush_batch(struct import *im, int reopen)
{
	char *err = NULL;

	if (store_commit(im->st, &err) == -1) {
		fprintf(stderr, "replywatch import: %s\n", err);
		free(err);
		return -1;
	}
	im->in_batch = 0;
	if (reopen && store_begin(im->st, &err) == -1) {
		fprintf(stderr, "replywatch import: %s\n", err);
		free(err);
		return -1;
	}
	return 0;
}

static int
import_line(struct import *im, const char *line, size_t len)
{
	struct msg m;
	char *err = NULL;
	int added;

	if (msg_parse_json(line, len, &m, &err) == -1) {
		fprintf(stderr, "%s:%lu: %s\n", im->name, im->lines, err);
		free(err);
		im->rejected++;
		return 0;
	}
	if (store_put_message(im->st, &m, &added, &err) == -1) {
		fprintf(stderr, "replywatch import: %s:%lu: %s\n", im->name,
		    im->lines, err);
		free(err);
		msg_clear(&m);
		return -1;
	}
	msg_clear(&m);
	if (added)
		im->added++;
	else
		im->existing++;
	if (++im->in_batch >= im->batch)
		return flush_batch(im, 1);
	return 0;
}

static int
import_stream(struct import *im, FILE *fp)
{
	char *buf = xmalloc(IMPORT_MAX_LINE + 2), *err = NULL;
	int too_long, rc;
	size_t len;

	if (store_begin(im->st, &err) == -1) {
		fprintf(stderr, "replywatch import: %s\n", err);
		free(err);
		free(buf);
		return -1;
	}
	while ((rc = read_line(fp, buf, IMPORT_MAX_LINE + 2, &len, &too_long)) == 1) {
		im->lines++;
		if (too_long) {
			fprintf(stderr, "%s:%lu: line longer than %d bytes\n",
			    im->name, im->lines, IMPORT_MAX_LINE);
			im->rejected++;
			continue;
		}
		if (blank(buf))
			continue;
		if (import_line(im, buf, len) == -1)
			break;
	}
	free(buf);
	if (rc == -1) {
		fprintf(stderr, "replywatch import: %s: read error: %s\n",
		    im->name, strerror(errno));
		store_rollback(im->st);
		return -1;
	}
	if (rc == 1) {	/* stopped by a store error: the batch is lost */
		store_rollback(im->st);
		return -1;
	}
	return flush_batch(im, 0);
}

int
cmd_import(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "batch", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct import im = { .batch = IMPORT_BATCH, .name = "-" };
	char *err = NULL, *end;
	FILE *fp = stdin;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			errno = 0;
			im.batch = strtoul(optarg, &end, 10);
			if (errno || *end != '\0' || im.batch < 1 ||
			    im.batch > 1000000)
				return cmd_usage_error("import",
				    "--batch: \"%s\" is not a number from 1 "
				    "to 1000000", optarg);
			break;
		case 'h':
			cmd_usage(stdout, "import", import_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "import", import_help);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
		return cmd_usage_error("import", "one file at a time");
	if (argc - optind == 1 && strcmp(argv[optind], "-") != 0) {
		im.name = argv[optind];
		if ((fp = fopen(im.name, "r")) == NULL) {
			fprintf(stderr, "replywatch import: %s: %s\n", im.name,
			    strerror(errno));
			return EXIT_FAIL;
		}
	}
	if ((im.st = store_open(ctx->dbpath, STORE_CREATE, &err)) == NULL) {
		fprintf(stderr, "replywatch import: %s\n", err);
		free(err);
		if (fp != stdin)
			fclose(fp);
		return EXIT_FAIL;
	}
	rc = import_stream(&im, fp);
	store_close(im.st);
	if (fp != stdin)
		fclose(fp);
	fprintf(stderr, "replywatch import: %s: %lu messages: %lu new, "
	    "%lu already stored, %lu rejected%s\n", im.name,
	    im.added + im.existing, im.added, im.existing, im.rejected,
	    rc == -1 ? " (stopped: the last batch was not stored)" : "");
	if (rc == -1)
		return EXIT_FAIL;
	return im.rejected ? EXIT_PARTIAL : EXIT_OK;
}
