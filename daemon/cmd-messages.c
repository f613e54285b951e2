/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "output.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"

#define DEFAULT_WINDOW_MS	(24 * 3600 * 1000LL)

static const char messages_help[] =
    "The log of mentions, comments and direct messages, oldest first.\n"
    "\n"
    "Options:\n"
    "  --since T     from this time (default: 24 hours before --until)\n"
    "  --until T     up to this time, exclusive (default: now)\n"
    "  --account A   only this account\n"
    "  --kind K      only direct or broadcast\n"
    "  --complaints  only messages flagged as complaints\n"
    "  --limit N     at most N messages\n"
    "  --format F    table (default), json (JSON Lines, the import format)\n"
    "                or csv\n"
    "  -h, --help    this help\n";

struct messages_out {
	enum output_format	 format;
	struct table		*table;
	size_t			 n;
};

static const char *
complaint_name(enum msg_complaint c)
{
	return c == MSG_COMPLAINT_YES ? "yes" : c == MSG_COMPLAINT_NO ? "no" : "";
}

static void
message_row(const struct msg *m, void *arg)
{
	struct messages_out *mo = arg;
	char when[TIMEFMT_RFC3339_LEN];
	char *s;

	mo->n++;
	timefmt_format_rfc3339(m->created_ms, when, sizeof when);
	if (mo->format == OUTPUT_JSON) {
		s = msg_to_json(m);
		puts(s);
		free(s);
	} else if (mo->format == OUTPUT_CSV) {
		char score[16] = "";
		const char *row[] = {
			when, m->platform, m->account, m->id, m->conversation,
			msg_kind_name(m->kind), msg_direction_name(m->direction),
			m->author, m->in_reply_to, complaint_name(m->complaint),
			m->text, m->url, score, m->scored ? m->lang : "",
			m->scored ? m->cues : NULL,
		};

		if (m->scored)
			snprintf(score, sizeof score, "%.3f",
			    m->complaint_score);
		csv_row(stdout, row, sizeof row / sizeof row[0]);
	} else {
		s = text_excerpt(m->text, 60);
		table_add(mo->table, when);
		table_add(mo->table, m->account);
		table_add(mo->table, msg_kind_name(m->kind));
		table_add(mo->table, m->direction == MSG_INBOUND ? "in" : "out");
		table_add(mo->table, m->author ? m->author : "-");
		table_add(mo->table, m->complaint == MSG_COMPLAINT_YES ?
		    "yes" : "");
		table_add(mo->table, m->id);
		table_add(mo->table, s);
		free(s);
	}
}

int
cmd_messages(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "account", required_argument, NULL, 'A' },
		{ "kind", required_argument, NULL, 'k' },
		{ "complaints", no_argument, NULL, 'C' },
		{ "limit", required_argument, NULL, 'l' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const cols[] = {
		"TIME", "ACCOUNT", "KIND", "DIR", "AUTHOR", "COMPLAINT", "ID",
		"TEXT",
	};
	static const char *const csv_hdr[] = {
		"created_at", "platform", "account", "id", "conversation", "kind",
		"direction", "author", "in_reply_to", "complaint", "text", "url",
		"complaint_score", "lang", "cues",
	};
	struct store_filter f = { .kind = -1, .at_ms = INT64_MAX };
	struct messages_out mo = { 0 };
	int have_since = 0, ch, rc = EXIT_OK;
	enum msg_kind kind;
	struct store *st;
	char *err = NULL, *end;

	f.until_ms = ctx->now_ms;
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (cmd_parse_time(ctx, "--since", optarg, &f.since_ms))
				return EXIT_USAGE;
			have_since = 1;
			break;
		case 'u':
			if (cmd_parse_time(ctx, "--until", optarg, &f.until_ms))
				return EXIT_USAGE;
			break;
		case 'A':
			f.account = optarg;
			break;
		case 'k':
			if (msg_kind_parse(optarg, &kind) == -1)
				return cmd_usage_error("messages", "--kind: \"%s\" "
				    "is not direct or broadcast", optarg);
			f.kind = kind;
			break;
		case 'C':
			f.complaints = 1;
			break;
		case 'l':
			errno = 0;
			f.limit = strtoul(optarg, &end, 10);
			if (errno || *end != '\0' || f.limit == 0 || optarg[0] == '-')
				return cmd_usage_error("messages", "--limit: \"%s\" "
				    "is not a positive number", optarg);
			break;
		case 'f':
			if (output_format_parse(optarg, &mo.format) == -1)
				return cmd_usage_error("messages", "--format: \"%s\" "
				    "is not table, json or csv", optarg);
			break;
		case 'h':
			cmd_usage(stdout, "messages", messages_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "messages", messages_help);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cmd_usage_error("messages", "unexpected argument \"%s\"",
		    argv[optind]);
	if (!have_since)
		f.since_ms = f.until_ms - DEFAULT_WINDOW_MS;

	if ((st = store_open(ctx->dbpath, STORE_READER, &err)) == NULL) {
		fprintf(stderr, "replywatch messages: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	if (mo.format == OUTPUT_TABLE)
		mo.table = table_new(8, cols);
	else if (mo.format == OUTPUT_CSV)
		csv_row(stdout, csv_hdr, sizeof csv_hdr / sizeof csv_hdr[0]);
	if (store_each_message(st, &f, message_row, &mo, &err) == -1) {
		fprintf(stderr, "replywatch messages: %s\n", err);
		free(err);
		rc = EXIT_FAIL;
	} else if (mo.table != NULL) {
		if (mo.n == 0)
			printf("No messages in this window.\n");
		else
			table_print(mo.table, stdout);
	}
	table_free(mo.table);
	store_close(st);
	return rc;
}
