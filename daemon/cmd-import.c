/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "import-reader.h"
#include "msg.h"
#include "store.h"
#include "xmalloc.h"

#define IMPORT_MAX_LINE	(1024 * 1024)	/* longer lines are rejected */
/* Messages per transaction, at most: the store ends one sooner when its
 * messages take much memory (store_batch_full). 200,000 were 3-10 % faster
 * than 50,000, as fewer commits write the same index pages again. */
#define IMPORT_BATCH	200000

static const char import_help[] =
    "Reads normalized messages, one JSON object per line, from FILE or\n"
    "standard input. Bad lines are reported with their number and reason;\n"
    "the others are imported. Importing the same messages again changes\n"
    "nothing but their text and url.\n"
    "\n"
    "Options:\n"
    "  --batch N   at most N messages per transaction (default 200000)\n"
    "  -h, --help  this help\n"
    "\n"
    "Exit status: 0 all imported, 3 some lines rejected, 1 failure.\n";

struct import {
	struct store	*st;
	const char	*name;		/* for messages: the file or "-" */
	size_t		 batch, in_batch;
	unsigned long	 added, existing;
};

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
store_one(struct import *im, const struct msg *m)
{
	char *err = NULL;
	int added;

	if (store_put_message(im->st, m, &added, &err) == -1) {
		fprintf(stderr, "replywatch import: %s: message %s: %s\n",
		    im->name, m->id, err);
		free(err);
		return -1;
	}
	if (added)
		im->added++;
	else
		im->existing++;
	if (++im->in_batch >= im->batch || store_batch_full(im->st))
		return flush_batch(im, 1);
	return 0;
}

/* Store what the reader parses, in batches. */
static int
import_stream(struct import *im, struct reader *rd)
{
	char *err = NULL;
	struct msg m;
	int rc;

	if (store_begin(im->st, &err) == -1) {
		fprintf(stderr, "replywatch import: %s\n", err);
		free(err);
		return -1;
	}
	while ((rc = reader_next(rd, &m, &err)) == 1)
		if (store_one(im, &m) == -1)
			break;
	if (rc != 0) {	/* a reading or a store error: the batch is lost */
		if (err != NULL) {
			fprintf(stderr, "replywatch import: %s: %s\n", im->name,
			    err);
			free(err);
		}
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
	unsigned long rejected;
	char *err = NULL, *end;
	struct reader *rd;
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
	(void)store_init_bulk();	/* only a matter of speed */
	/* the reading process starts before the database is open */
	if ((rd = reader_start(fp, im.name, IMPORT_MAX_LINE, ctx->conf, &err)) == NULL) {
		fprintf(stderr, "replywatch import: %s\n", err);
		free(err);
		if (fp != stdin)
			fclose(fp);
		return EXIT_FAIL;
	}
	if (fp != stdin)
		fclose(fp);
	if ((im.st = store_open(ctx->dbpath, STORE_CREATE | STORE_BULK,
	    &err)) == NULL) {
		fprintf(stderr, "replywatch import: %s\n", err);
		free(err);
		reader_stop(rd);
		return EXIT_FAIL;
	}
	rc = import_stream(&im, rd);
	store_close(im.st);
	reader_counts(rd, NULL, &rejected);
	reader_stop(rd);
	fprintf(stderr, "replywatch import: %s: %lu messages: %lu new, "
	    "%lu already stored, %lu rejected%s\n", im.name,
	    im.added + im.existing, im.added, im.existing, rejected,
	    rc == -1 ? " (stopped: the last batch was not stored)" : "");
	if (rc == -1)
		return EXIT_FAIL;
	return rejected ? EXIT_PARTIAL : EXIT_OK;
}
