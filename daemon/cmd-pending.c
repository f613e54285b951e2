/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf.h"
#include "connector.h"
#include "output.h"
#include "stats.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"

static const char pending_help[] =
    "Open waits at --at (default: now), oldest first: how long each has\n"
    "waited and its SLA deadline.\n"
    "\n"
    "Options:\n"
    "  --account A  only this account\n"
    "  --kind K     only direct or broadcast\n"
    "  --at T       evaluation time (default: now)\n"
    "  --format F   table (default), json (one object per line) or csv\n"
    "  -h, --help   this help\n";

struct pending_out {
	const struct cmd_ctx	*ctx;
	int64_t			 at_ms;
	enum output_format	 format;
	struct table		*table;
	size_t			 n;
};

struct pending_row {
	char	 opened[TIMEFMT_RFC3339_LEN];
	char	 deadline[TIMEFMT_RFC3339_LEN];
	char	 window[TIMEFMT_RFC3339_LEN];	/* "": no messaging window */
	int64_t	 window_ms;			/* -1: none */
	int64_t	 age_ms, target_ms, deadline_ms;
	enum stats_sla_outcome sla;
};

/* Where the platform allows a reply only within a window after the
 * customer's last message (Meta's 24 hours), when it closes; -1: none. */
static int64_t
reply_window(const struct store_pending *p)
{
	const struct connector_def *def;

	if (p->kind != MSG_DIRECT || p->last_inbound_ms < 0 ||
	    (def = connector_find(p->platform)) == NULL ||
	    def->reply_window_ms <= 0)
		return -1;
	return p->last_inbound_ms + def->reply_window_ms;
}

static void
pending_compute(const struct pending_out *po, const struct store_pending *p,
    struct pending_row *r)
{
	const struct conf_policy *pol = conf_policy_for(po->ctx->conf, p->account);

	r->sla = stats_sla(pol, p->kind, p->complaint_ms >= 0, p->opened_ms, -1,
	    po->at_ms, &r->target_ms, &r->deadline_ms);
	r->age_ms = po->at_ms - p->opened_ms;
	timefmt_format_rfc3339(p->opened_ms, r->opened, sizeof r->opened);
	r->window_ms = reply_window(p);
	r->window[0] = '\0';
	if (r->window_ms >= 0)
		timefmt_format_rfc3339(r->window_ms, r->window,
		    sizeof r->window);
	if (r->deadline_ms == INT64_MAX)
		strcpy(r->deadline, "never");
	else
		timefmt_format_rfc3339(r->deadline_ms, r->deadline,
		    sizeof r->deadline);
}

static void
pending_json(const struct store_pending *p, const struct pending_row *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "platform", cJSON_CreateString(p->platform));
	cJSON_AddItemToObject(o, "account", cJSON_CreateString(p->account));
	cJSON_AddItemToObject(o, "kind", cJSON_CreateString(msg_kind_name(p->kind)));
	cJSON_AddItemToObject(o, "conversation", cJSON_CreateString(p->conversation));
	cJSON_AddItemToObject(o, "author", p->author ? cJSON_CreateString(p->author) :
	    cJSON_CreateNull());
	cJSON_AddItemToObject(o, "opened_at", cJSON_CreateString(r->opened));
	cJSON_AddItemToObject(o, "age_seconds", json_seconds(r->age_ms));
	cJSON_AddItemToObject(o, "messages", cJSON_CreateNumber(p->inbound));
	cJSON_AddItemToObject(o, "complaint", cJSON_CreateBool(p->complaint_ms >= 0));
	cJSON_AddItemToObject(o, "sla_target_seconds", json_seconds(r->target_ms));
	cJSON_AddItemToObject(o, "sla_deadline", cJSON_CreateString(r->deadline));
	cJSON_AddItemToObject(o, "sla", cJSON_CreateString(stats_sla_name(r->sla)));
	cJSON_AddItemToObject(o, "reply_window_closes", r->window[0] != '\0' ?
	    cJSON_CreateString(r->window) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "first_id", cJSON_CreateString(p->first_id));
	cJSON_AddItemToObject(o, "url", p->url ? cJSON_CreateString(p->url) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "text", p->text ? cJSON_CreateString(p->text) :
	    cJSON_CreateNull());
	json_print(stdout, o, 1);
	cJSON_Delete(o);
}

static void
pending_csv(const struct store_pending *p, const struct pending_row *r)
{
	char age[32], target[32], msgs[16];
	const char *row[15];

	format_seconds(r->age_ms, age, sizeof age);
	format_seconds(r->target_ms, target, sizeof target);
	snprintf(msgs, sizeof msgs, "%d", p->inbound);
	row[0] = p->platform;
	row[1] = p->account;
	row[2] = msg_kind_name(p->kind);
	row[3] = p->conversation;
	row[4] = p->author;
	row[5] = r->opened;
	row[6] = age;
	row[7] = msgs;
	row[8] = p->complaint_ms >= 0 ? "yes" : "no";
	row[9] = target;
	row[10] = r->deadline;
	row[11] = stats_sla_name(r->sla);
	row[12] = p->first_id;
	row[13] = p->text;
	row[14] = r->window;
	csv_row(stdout, row, 15);
}

static void
pending_table(struct pending_out *po, const struct store_pending *p,
    const struct pending_row *r)
{
	char age[TIMEFMT_DURATION_LEN], left[TIMEFMT_DURATION_LEN];
	char *excerpt = text_excerpt(p->text, 50);

	timefmt_format_duration(r->age_ms, age, sizeof age);
	table_add(po->table, age);
	table_add(po->table, p->account);
	table_add(po->table, msg_kind_name(p->kind));
	table_add(po->table, p->author ? p->author : "-");
	table_addf(po->table, "%d", p->inbound);
	table_add(po->table, p->complaint_ms >= 0 ? "yes" : "");
	if (r->deadline_ms == INT64_MAX)
		table_add(po->table, "no deadline");
	else if (r->sla == STATS_SLA_BREACHED) {
		timefmt_format_duration(po->at_ms - r->deadline_ms, left,
		    sizeof left);
		table_addf(po->table, "overdue %s", left);
	} else {
		timefmt_format_duration(r->deadline_ms - po->at_ms, left,
		    sizeof left);
		table_addf(po->table, "in %s", left);
	}
	if (r->window_ms < 0)
		table_add(po->table, "-");
	else if (r->window_ms <= po->at_ms) {
		timefmt_format_duration(po->at_ms - r->window_ms, left,
		    sizeof left);
		table_addf(po->table, "closed %s ago", left);
	} else {
		timefmt_format_duration(r->window_ms - po->at_ms, left,
		    sizeof left);
		table_addf(po->table, "closes in %s", left);
	}
	table_add(po->table, p->first_id);
	table_add(po->table, excerpt);
	free(excerpt);
}

static void
pending_row(const struct store_pending *p, void *arg)
{
	struct pending_out *po = arg;
	struct pending_row r;

	pending_compute(po, p, &r);
	po->n++;
	switch (po->format) {
	case OUTPUT_JSON:
		pending_json(p, &r);
		break;
	case OUTPUT_CSV:
		pending_csv(p, &r);
		break;
	default:
		pending_table(po, p, &r);
		break;
	}
}

int
cmd_pending(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "account", required_argument, NULL, 'A' },
		{ "kind", required_argument, NULL, 'k' },
		{ "at", required_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const cols[] = {
		"WAITING", "ACCOUNT", "KIND", "AUTHOR", "MSGS", "COMPLAINT",
		"SLA", "REPLY WINDOW", "FIRST ID", "TEXT",
	};
	static const char *const csv_hdr[] = {
		"platform", "account", "kind", "conversation", "author",
		"opened_at", "age_seconds", "messages", "complaint",
		"sla_target_seconds", "sla_deadline", "sla", "first_id", "text",
		"reply_window_closes",
	};
	struct pending_out po = { .ctx = ctx, .at_ms = ctx->now_ms };
	struct store_filter f = { .kind = -1 };
	enum msg_kind kind;
	struct store *st;
	char *err = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			f.account = optarg;
			break;
		case 'k':
			if (msg_kind_parse(optarg, &kind) == -1)
				return cmd_usage_error("pending", "--kind: \"%s\" "
				    "is not direct or broadcast", optarg);
			f.kind = kind;
			break;
		case 'a':
			if (cmd_parse_time(ctx, "--at", optarg, &po.at_ms))
				return EXIT_USAGE;
			break;
		case 'f':
			if (output_format_parse(optarg, &po.format) == -1)
				return cmd_usage_error("pending", "--format: \"%s\" "
				    "is not table, json or csv", optarg);
			break;
		case 'h':
			cmd_usage(stdout, "pending", pending_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "pending", pending_help);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cmd_usage_error("pending", "unexpected argument \"%s\"",
		    argv[optind]);
	f.at_ms = po.at_ms;
	if ((st = store_open(ctx->dbpath, STORE_READER, &err)) == NULL) {
		fprintf(stderr, "replywatch pending: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	if (po.format == OUTPUT_TABLE) {
		po.table = table_new(10, cols);
		table_align_right(po.table, 0);
		table_align_right(po.table, 4);
	} else if (po.format == OUTPUT_CSV)
		csv_row(stdout, csv_hdr, 15);
	if (store_each_pending(st, &f, pending_row, &po, &err) == -1) {
		fprintf(stderr, "replywatch pending: %s\n", err);
		free(err);
		table_free(po.table);
		store_close(st);
		return EXIT_FAIL;
	}
	if (po.table != NULL) {
		if (po.n == 0)
			printf("No open waits.\n");
		else
			table_print(po.table, stdout);
	}
	table_free(po.table);
	store_close(st);
	return EXIT_OK;
}
