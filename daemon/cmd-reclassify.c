/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify-msg.h"
#include "cmd.h"
#include "conf.h"
#include "msg.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * replywatch reclassify: classify stored inbound messages again with the
 * configuration's complaint settings (after a new model, threshold or
 * cues), and bring the waits whose complaint flag changed up to date, so
 * that the figures follow. A day at a time, one transaction each.
 */

#define DAY_MS		(24LL * 3600 * 1000)

static const char reclassify_help[] =
    "Classify the stored inbound messages again with the complaint\n"
    "settings of the configuration (complaint_model, complaint_threshold,\n"
    "complaint_cues, language), and update the waits whose complaint flag\n"
    "changed.\n"
    "\n"
    "Options:\n"
    "  --since T    messages created from T (default: 30 days before --until)\n"
    "  --until T    up to T, exclusive (default: now)\n"
    "  --account A  only this account\n"
    "  -h, --help   this help\n";

struct reclass {
	struct classify_set *set;
	struct msg	*msgs;		/* the day's inbound messages, copied */
	size_t		 n, cap;
	unsigned long	 seen, changed, now_yes, now_no;
	int		 failed;
};

/* Copy a borrowed message of the day. */
static void
collect(const struct msg *m, void *arg)
{
	struct reclass *rc = arg;
	struct msg *d;

	if (m->direction != MSG_INBOUND || m->text == NULL)
		return;
	if (rc->n == rc->cap) {
		rc->cap = rc->cap ? rc->cap * 2 : 256;
		rc->msgs = xreallocarray(rc->msgs, rc->cap, sizeof *rc->msgs);
	}
	d = &rc->msgs[rc->n++];
	memset(d, 0, sizeof *d);
	d->platform = xstrdup(m->platform);
	d->account = xstrdup(m->account);
	d->id = xstrdup(m->id);
	d->conversation = xstrdup(m->conversation);
	d->kind = m->kind;
	d->direction = m->direction;
	d->created_ms = m->created_ms;
	d->author = xstrdup_or_null(m->author);
	d->in_reply_to = xstrdup_or_null(m->in_reply_to);
	d->text = xstrdup(m->text);
	d->url = xstrdup_or_null(m->url);
	d->complaint = m->complaint;
	d->scored = m->scored;
	d->complaint_score = m->complaint_score;
	memcpy(d->lang, m->lang, sizeof d->lang);
	d->cues = xstrdup_or_null(m->cues);
}

static int
same_cues(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Classify the day's messages; store those that changed. */
static int
day_store(struct store *st, struct reclass *rc, char **errstr)
{
	struct classify *c;
	size_t i;
	int added;

	if (store_begin(st, errstr) == -1)
		return -1;
	for (i = 0; i < rc->n; i++) {
		struct msg *m = &rc->msgs[i];
		enum msg_complaint was = m->complaint;
		double score = m->complaint_score;
		char *cues = m->cues != NULL ? xstrdup(m->cues) : NULL;
		int scored = m->scored;

		if ((c = classify_set_get(rc->set, m->account, errstr)) ==
		    NULL) {
			free(cues);
			store_rollback(st);
			return -1;
		}
		classify_msg(c, m);
		rc->seen++;
		if (scored && was == m->complaint &&
		    score == m->complaint_score && same_cues(cues, m->cues)) {
			free(cues);
			continue;
		}
		free(cues);
		rc->changed++;
		if (was != m->complaint) {
			if (m->complaint == MSG_COMPLAINT_YES)
				rc->now_yes++;
			else
				rc->now_no++;
		}
		if (store_put_message(st, m, &added, errstr) == -1) {
			store_rollback(st);
			return -1;
		}
	}
	return store_commit(st, errstr);
}

static void
day_clear(struct reclass *rc)
{
	size_t i;

	for (i = 0; i < rc->n; i++)
		msg_clear(&rc->msgs[i]);
	rc->n = 0;
}

int
cmd_reclassify(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "account", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct store_filter f = { .kind = -1, .at_ms = INT64_MAX };
	struct reclass rc = { 0 };
	int64_t since = -1, until = ctx->now_ms, day;
	struct store *st;
	char *err = NULL;
	int ch, status = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (cmd_parse_time(ctx, "--since", optarg, &since))
				return EXIT_USAGE;
			break;
		case 'u':
			if (cmd_parse_time(ctx, "--until", optarg, &until))
				return EXIT_USAGE;
			break;
		case 'A':
			f.account = optarg;
			break;
		case 'h':
			cmd_usage(stdout, "reclassify", reclassify_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "reclassify", reclassify_help);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cmd_usage_error("reclassify", "unexpected argument "
		    "\"%s\"", argv[optind]);
	if (since < 0)
		since = until - 30 * DAY_MS;
	if (since >= until)
		return cmd_usage_error("reclassify", "--since must be before "
		    "--until");
	if ((st = store_open(ctx->dbpath, 0, &err)) == NULL) {
		fprintf(stderr, "replywatch reclassify: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	rc.set = classify_set_new(ctx->conf);
	for (day = since; day < until && status == EXIT_OK; day += DAY_MS) {
		f.since_ms = day;
		f.until_ms = day + DAY_MS < until ? day + DAY_MS : until;
		if (store_each_message(st, &f, collect, &rc, &err) == -1 ||
		    day_store(st, &rc, &err) == -1) {
			fprintf(stderr, "replywatch reclassify: %s\n", err);
			free(err);
			err = NULL;
			status = EXIT_FAIL;
		}
		day_clear(&rc);
	}
	if (status == EXIT_OK)
		printf("%lu inbound messages classified: %lu changed, %lu now "
		    "complaints, %lu no longer\n", rc.seen, rc.changed,
		    rc.now_yes, rc.now_no);
	free(rc.msgs);
	classify_set_free(rc.set);
	store_close(st);
	return status;
}
