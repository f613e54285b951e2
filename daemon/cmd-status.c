/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf.h"
#include "output.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * replywatch status: what the daemon last recorded of each polled stream.
 * Read from the database, so it works whether the daemon runs or not.
 */

static const char status_help[] =
    "Per account and stream: connector, last successful poll, last error\n"
    "with the platform's text, cursor, messages fetched, rate-limit state\n"
    "and backoff. Configured accounts never polled are listed too.\n"
    "\n"
    "Options:\n"
    "  --account A  only this account\n"
    "  --format F   table (default), json (one object per line) or csv\n"
    "  -h, --help   this help\n";

struct status_out {
	const struct cmd_ctx	*ctx;
	const char		*account;
	enum output_format	 format;
	struct table		*table;
	size_t			 n;
	char			**seen;		/* account names listed */
	size_t			 nseen;
};

static const char *
state_of(const struct store_stream *s, int64_t now)
{
	if (s->last_poll_ms < 0)
		return "never polled";
	if (s->failures == 0)
		return "ok";
	if (s->backoff_until_ms > now)
		return "failing, backing off";
	return "failing";
}

/* "3m 10s ago" / "in 2m" / "-". */
static void
relative(int64_t ms, int64_t now, char *buf, size_t len)
{
	char d[TIMEFMT_DURATION_LEN];

	if (ms < 0) {
		snprintf(buf, len, "-");
		return;
	}
	timefmt_format_duration(ms > now ? ms - now : now - ms, d, sizeof d);
	snprintf(buf, len, ms > now ? "in %s" : "%s ago", d);
}

static cJSON *
json_time(int64_t ms)
{
	char buf[TIMEFMT_RFC3339_LEN];

	if (ms < 0)
		return cJSON_CreateNull();
	timefmt_format_rfc3339(ms, buf, sizeof buf);
	return cJSON_CreateString(buf);
}

static cJSON *
json_str(const char *s)
{
	return s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *
json_count(int64_t n)
{
	return n >= 0 ? cJSON_CreateNumber((double)n) : cJSON_CreateNull();
}

static void
status_json(const struct store_stream *s, int64_t now)
{
	cJSON *o = cJSON_CreateObject(), *rl = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "account", json_str(s->account));
	cJSON_AddItemToObject(o, "platform", json_str(s->platform));
	cJSON_AddItemToObject(o, "connector", json_str(s->connector));
	cJSON_AddItemToObject(o, "stream", json_str(s->stream));
	cJSON_AddItemToObject(o, "state", cJSON_CreateString(state_of(s, now)));
	cJSON_AddItemToObject(o, "last_poll", json_time(s->last_poll_ms));
	cJSON_AddItemToObject(o, "last_ok", json_time(s->last_ok_ms));
	cJSON_AddItemToObject(o, "last_error_at", json_time(s->last_error_ms));
	cJSON_AddItemToObject(o, "last_error", json_str(s->last_error));
	cJSON_AddItemToObject(o, "failures", cJSON_CreateNumber((double)s->failures));
	cJSON_AddItemToObject(o, "fetched", cJSON_CreateNumber((double)s->fetched));
	cJSON_AddItemToObject(o, "cursor", json_str(s->cursor));
	cJSON_AddItemToObject(rl, "limit", json_count(s->rl_limit));
	cJSON_AddItemToObject(rl, "remaining", json_count(s->rl_remaining));
	cJSON_AddItemToObject(rl, "reset", json_time(s->rl_reset_ms));
	cJSON_AddItemToObject(o, "rate_limit", rl);
	cJSON_AddItemToObject(o, "next_poll", json_time(s->next_poll_ms));
	cJSON_AddItemToObject(o, "backoff_until",
	    json_time(s->backoff_until_ms > now ? s->backoff_until_ms : -1));
	json_print(stdout, o, 1);
	cJSON_Delete(o);
}

static void
status_csv(const struct store_stream *s, int64_t now)
{
	char t[6][TIMEFMT_RFC3339_LEN], n[5][24];
	const char *row[17];
	int64_t bo = s->backoff_until_ms > now ? s->backoff_until_ms : -1;
	const int64_t times[6] = { s->last_poll_ms, s->last_ok_ms,
	    s->last_error_ms, s->rl_reset_ms, s->next_poll_ms, bo };
	size_t i;

	for (i = 0; i < 6; i++) {
		if (times[i] < 0)
			t[i][0] = '\0';
		else
			timefmt_format_rfc3339(times[i], t[i], sizeof t[i]);
	}
	snprintf(n[0], sizeof n[0], "%lld", (long long)s->failures);
	snprintf(n[1], sizeof n[1], "%lld", (long long)s->fetched);
	snprintf(n[2], sizeof n[2], "%lld", (long long)s->rl_limit);
	snprintf(n[3], sizeof n[3], "%lld", (long long)s->rl_remaining);
	row[0] = s->account;
	row[1] = s->platform;
	row[2] = s->connector;
	row[3] = s->stream;
	row[4] = state_of(s, now);
	row[5] = t[0];
	row[6] = t[1];
	row[7] = t[2];
	row[8] = s->last_error;
	row[9] = n[0];
	row[10] = n[1];
	row[11] = s->cursor;
	row[12] = s->rl_limit >= 0 ? n[2] : "";
	row[13] = s->rl_remaining >= 0 ? n[3] : "";
	row[14] = t[3];
	row[15] = t[4];
	row[16] = t[5];
	csv_row(stdout, row, 17);
}

static void
status_table(struct status_out *so, const struct store_stream *s, int64_t now)
{
	char buf[64];
	char *cursor = text_excerpt(s->cursor, 24);
	char *error = text_excerpt(s->last_error, 60);

	table_add(so->table, s->account);
	table_add(so->table, s->connector != NULL ? s->connector : "-");
	table_add(so->table, s->stream);
	table_add(so->table, state_of(s, now));
	relative(s->last_ok_ms, now, buf, sizeof buf);
	table_add(so->table, buf);
	table_addf(so->table, "%lld", (long long)s->fetched);
	table_add(so->table, s->cursor != NULL ? cursor : "-");
	if (s->rl_remaining >= 0 && s->rl_limit >= 0)
		table_addf(so->table, "%lld/%lld", (long long)s->rl_remaining,
		    (long long)s->rl_limit);
	else
		table_add(so->table, "-");
	relative(s->backoff_until_ms > now ? s->backoff_until_ms : -1, now,
	    buf, sizeof buf);
	table_add(so->table, buf);
	table_add(so->table, s->last_error != NULL ? error : "");
	free(cursor);
	free(error);
}

static void
status_emit(struct status_out *so, const struct store_stream *s)
{
	int64_t now = so->ctx->now_ms;

	so->n++;
	switch (so->format) {
	case OUTPUT_JSON:
		status_json(s, now);
		break;
	case OUTPUT_CSV:
		status_csv(s, now);
		break;
	default:
		status_table(so, s, now);
		break;
	}
}

static void
status_row(const struct store_stream *s, void *arg)
{
	struct status_out *so = arg;
	size_t i;

	for (i = 0; i < so->nseen; i++) {
		if (strcmp(so->seen[i], s->account) == 0)
			break;
	}
	if (i == so->nseen) {
		so->seen = xreallocarray(so->seen, so->nseen + 1,
		    sizeof *so->seen);
		so->seen[so->nseen++] = xstrdup(s->account);
	}
	status_emit(so, s);
}

/* Configured accounts the database knows nothing of yet. */
static void
status_unpolled(struct status_out *so)
{
	const struct conf *conf = so->ctx->conf;
	struct store_stream s;
	size_t i, k;

	for (i = 0; i < conf->naccounts; i++) {
		const struct conf_account *a = &conf->accounts[i];

		if (so->account != NULL && strcmp(so->account, a->name) != 0)
			continue;
		for (k = 0; k < so->nseen; k++) {
			if (strcmp(so->seen[k], a->name) == 0)
				break;
		}
		if (k < so->nseen)
			continue;
		memset(&s, 0, sizeof s);
		s.account = a->name;
		s.connector = a->connector;
		s.stream = "-";
		s.last_poll_ms = s.last_ok_ms = s.last_error_ms = -1;
		s.rl_limit = s.rl_remaining = s.rl_reset_ms = -1;
		s.next_poll_ms = s.backoff_until_ms = -1;
		status_emit(so, &s);
	}
}

int
cmd_status(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "account", required_argument, NULL, 'A' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const cols[] = {
		"ACCOUNT", "CONNECTOR", "STREAM", "STATE", "LAST OK", "FETCHED",
		"CURSOR", "RATE LIMIT", "BACKOFF", "LAST ERROR",
	};
	static const char *const csv_hdr[] = {
		"account", "platform", "connector", "stream", "state",
		"last_poll", "last_ok", "last_error_at", "last_error",
		"failures", "fetched", "cursor", "rate_limit",
		"rate_limit_remaining", "rate_limit_reset", "next_poll",
		"backoff_until",
	};
	struct status_out so = { .ctx = ctx };
	struct store *st;
	char *err = NULL;
	size_t i;
	int ch, rc = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			so.account = optarg;
			break;
		case 'f':
			if (output_format_parse(optarg, &so.format) == -1)
				return cmd_usage_error("status", "--format: \"%s\" "
				    "is not table, json or csv", optarg);
			break;
		case 'h':
			cmd_usage(stdout, "status", status_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "status", status_help);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cmd_usage_error("status", "unexpected argument \"%s\"",
		    argv[optind]);
	if ((st = store_open(ctx->dbpath, STORE_READER, &err)) == NULL) {
		fprintf(stderr, "replywatch status: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	if (so.format == OUTPUT_TABLE) {
		so.table = table_new(10, cols);
		table_align_right(so.table, 5);
	} else if (so.format == OUTPUT_CSV)
		csv_row(stdout, csv_hdr, 17);
	if (store_each_stream(st, so.account, status_row, &so, &err) == -1) {
		fprintf(stderr, "replywatch status: %s\n", err);
		free(err);
		rc = EXIT_FAIL;
	} else {
		status_unpolled(&so);
		if (so.table != NULL && so.n == 0)
			printf("No account polled yet.\n");
		else if (so.table != NULL)
			table_print(so.table, stdout);
	}
	for (i = 0; i < so.nseen; i++)
		free(so.seen[i]);
	free(so.seen);
	table_free(so.table);
	store_close(st);
	return rc;
}
