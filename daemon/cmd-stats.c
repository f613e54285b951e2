/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conf.h"
#include "output.h"
#include "stats.h"
#include "store.h"
#include "timefmt.h"
#include "tz.h"
#include "xmalloc.h"

#define DEFAULT_WINDOW_MS	(7 * 24 * 3600 * 1000LL)

static const char stats_help[] =
    "Reply-time figures over the waits opened in [--since, --until),\n"
    "as they were at --at.\n"
    "\n"
    "Options:\n"
    "  --since T     start of the window (default: 7 days before --until)\n"
    "  --until T     end of the window, exclusive (default: --at)\n"
    "  --at T        evaluation time: later messages are ignored, open waits\n"
    "                are aged at T (default: now)\n"
    "  --by DIMS     group by kind, platform, account, day, complaint\n"
    "                (comma-separated)\n"
    "  --account A   only this account\n"
    "  --kind K      only direct or broadcast\n"
    "  --tz ZONE     time zone of the day dimension (default: UTC)\n"
    "  --format F    table (default), json or csv\n"
    "  -h, --help    this help\n";

struct stats_opts {
	int64_t		 since_ms, until_ms, at_ms;
	int		 have_since, have_until;
	unsigned	 dims;
	const char	*tzname;
	const char	*account;
	int		 kind;
	enum output_format format;
};

/* Feed every wait and conversation to both the grouped figures and the
 * totals. */
struct feed {
	struct stats	*grouped;
	struct stats	*total;
};

static void
feed_wait(const struct stats_wait *w, void *arg)
{
	struct feed *f = arg;

	stats_add_wait(f->grouped, w);
	if (f->total != NULL)
		stats_add_wait(f->total, w);
}

static void
feed_conversation(const struct stats_conversation *c, void *arg)
{
	struct feed *f = arg;

	stats_add_conversation(f->grouped, c);
	if (f->total != NULL)
		stats_add_conversation(f->total, c);
}

/* ---- JSON ---------------------------------------------------------------- */

static cJSON *
json_dist(const struct stats_dist *d)
{
	cJSON *o;

	if (d->count == 0)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "count", cJSON_CreateNumber((double)d->count));
	cJSON_AddItemToObject(o, "p50", json_seconds(d->p50));
	cJSON_AddItemToObject(o, "p90", json_seconds(d->p90));
	cJSON_AddItemToObject(o, "p99", json_seconds(d->p99));
	cJSON_AddItemToObject(o, "mean", cJSON_CreateNumber(d->mean / 1000.0));
	cJSON_AddItemToObject(o, "max", json_seconds(d->max));
	return o;
}

static cJSON *
json_ms_or_null(int64_t ms)
{
	return ms < 0 ? cJSON_CreateNull() : json_seconds(ms);
}

static cJSON *
json_group(const struct stats_group *g)
{
	cJSON *o = cJSON_CreateObject(), *sla;
	int i;

	for (i = 0; i < STATS_NDIMS; i++)
		if (g->key[i] != NULL)
			cJSON_AddItemToObject(o, stats_dim_name(i),
			    cJSON_CreateString(g->key[i]));
	cJSON_AddItemToObject(o, "waits", cJSON_CreateNumber((double)g->waits));
	cJSON_AddItemToObject(o, "answered", cJSON_CreateNumber((double)g->answered));
	cJSON_AddItemToObject(o, "unanswered",
	    cJSON_CreateNumber((double)g->unanswered));
	cJSON_AddItemToObject(o, "oldest_unanswered_seconds",
	    json_ms_or_null(g->oldest_unanswered_ms));
	cJSON_AddItemToObject(o, "reply_seconds", json_dist(&g->reply));
	cJSON_AddItemToObject(o, "reply_business_seconds", g->has_business ?
	    json_dist(&g->reply_business) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "first_response_seconds",
	    json_dist(&g->first_response));
	sla = cJSON_CreateObject();
	cJSON_AddItemToObject(sla, "target_seconds",
	    json_ms_or_null(g->sla.target_ms));
	cJSON_AddItemToObject(sla, "complaint_target_seconds",
	    json_ms_or_null(g->sla.complaint_target_ms));
	cJSON_AddItemToObject(sla, "met", cJSON_CreateNumber((double)g->sla.met));
	cJSON_AddItemToObject(sla, "breached",
	    cJSON_CreateNumber((double)g->sla.breached));
	cJSON_AddItemToObject(sla, "pending",
	    cJSON_CreateNumber((double)g->sla.pending));
	cJSON_AddItemToObject(o, "sla", sla);
	return o;
}

static void
json_time(cJSON *o, const char *key, int64_t ms)
{
	char buf[TIMEFMT_RFC3339_LEN];

	timefmt_format_rfc3339(ms, buf, sizeof buf);
	cJSON_AddItemToObject(o, key, cJSON_CreateString(buf));
}

static int
print_json(const struct stats_opts *o, const struct stats *s)
{
	cJSON *root = cJSON_CreateObject(), *groups = cJSON_CreateArray();
	size_t i;
	int rc;

	json_time(root, "at", o->at_ms);
	json_time(root, "since", o->since_ms);
	json_time(root, "until", o->until_ms);
	for (i = 0; i < stats_ngroups(s); i++)
		cJSON_AddItemToArray(groups, json_group(stats_group(s, i)));
	cJSON_AddItemToObject(root, "groups", groups);
	rc = json_print(stdout, root, 0);
	cJSON_Delete(root);
	return rc;
}

/* ---- CSV ----------------------------------------------------------------- */

static const char *const csv_dist_names[] = {
	"count", "p50", "p90", "p99", "mean", "max",
};

static void
csv_dist(char cells[][32], size_t *n, const struct stats_dist *d)
{
	size_t i;

	if (d->count == 0) {
		for (i = 0; i < 6; i++)
			cells[(*n)++][0] = '\0';
		return;
	}
	snprintf(cells[(*n)++], 32, "%zu", d->count);
	format_seconds(d->p50, cells[(*n)++], 32);
	format_seconds(d->p90, cells[(*n)++], 32);
	format_seconds(d->p99, cells[(*n)++], 32);
	snprintf(cells[(*n)++], 32, "%.3f", d->mean / 1000.0);
	format_seconds(d->max, cells[(*n)++], 32);
}

static void
csv_ms(char *cell, int64_t ms)
{
	if (ms < 0)
		cell[0] = '\0';
	else
		format_seconds(ms, cell, 32);
}

static int
print_csv(const struct stats_opts *o, const struct stats *s)
{
	static const char *const blocks[] = {
		"reply_seconds", "reply_business_seconds", "first_response_seconds",
	};
	const char *hdr[64];
	char cells[64][32], *dist_names[18];
	size_t n = 0, i, j, k;
	int d;

	for (d = 0; d < STATS_NDIMS; d++)
		if (o->dims & (1u << d))
			hdr[n++] = stats_dim_name(d);
	hdr[n++] = "waits";
	hdr[n++] = "answered";
	hdr[n++] = "unanswered";
	hdr[n++] = "oldest_unanswered_seconds";
	for (k = 0, i = 0; i < 3; i++)
		for (j = 0; j < 6; j++, k++) {
			xasprintf(&dist_names[k], "%s_%s", blocks[i],
			    csv_dist_names[j]);
			hdr[n++] = dist_names[k];
		}
	hdr[n++] = "sla_target_seconds";
	hdr[n++] = "sla_complaint_target_seconds";
	hdr[n++] = "sla_met";
	hdr[n++] = "sla_breached";
	hdr[n++] = "sla_pending";
	csv_row(stdout, hdr, n);

	for (i = 0; i < stats_ngroups(s); i++) {
		const struct stats_group *g = stats_group(s, i);
		const char *row[64];
		size_t c = 0, keys = 0;

		for (d = 0; d < STATS_NDIMS; d++)
			if (o->dims & (1u << d))
				row[keys++] = g->key[d];
		snprintf(cells[c++], 32, "%zu", g->waits);
		snprintf(cells[c++], 32, "%zu", g->answered);
		snprintf(cells[c++], 32, "%zu", g->unanswered);
		csv_ms(cells[c++], g->oldest_unanswered_ms);
		csv_dist(cells, &c, &g->reply);
		csv_dist(cells, &c, &g->reply_business);
		csv_dist(cells, &c, &g->first_response);
		csv_ms(cells[c++], g->sla.target_ms);
		csv_ms(cells[c++], g->sla.complaint_target_ms);
		snprintf(cells[c++], 32, "%zu", g->sla.met);
		snprintf(cells[c++], 32, "%zu", g->sla.breached);
		snprintf(cells[c++], 32, "%zu", g->sla.pending);
		for (j = 0; j < c; j++)
			row[keys + j] = cells[j];
		csv_row(stdout, row, keys + c);
	}
	for (k = 0; k < 18; k++)
		free(dist_names[k]);
	return 0;
}

/* ---- table --------------------------------------------------------------- */

static void
cell_duration(struct table *t, int64_t ms, int have)
{
	char buf[TIMEFMT_DURATION_LEN];

	if (!have) {
		table_add(t, "-");
		return;
	}
	timefmt_format_duration(ms, buf, sizeof buf);
	table_add(t, buf);
}

static void
table_group(struct table *t, const struct stats_opts *o,
    const struct stats_group *g, const char *label)
{
	size_t rated = g->sla.met + g->sla.breached;
	int d, first = 1;

	for (d = 0; d < STATS_NDIMS; d++) {
		if (!(o->dims & (1u << d)))
			continue;
		table_add(t, label != NULL && first ? label :
		    label != NULL ? "" : g->key[d]);
		first = 0;
	}
	table_addf(t, "%zu", g->waits);
	table_addf(t, "%zu", g->answered);
	table_addf(t, "%zu", g->unanswered);
	cell_duration(t, g->oldest_unanswered_ms, g->unanswered > 0);
	cell_duration(t, g->reply.p50, g->reply.count > 0);
	cell_duration(t, g->reply.p90, g->reply.count > 0);
	cell_duration(t, g->reply.max, g->reply.count > 0);
	cell_duration(t, g->first_response.p50, g->first_response.count > 0);
	if (rated > 0)
		table_addf(t, "%.1f%%", 100.0 * (double)g->sla.met / (double)rated);
	else
		table_add(t, "-");
	table_addf(t, "%zu", g->sla.breached);
	table_addf(t, "%zu", g->sla.pending);
}

static int
print_table(const struct stats_opts *o, const struct stats *s,
    const struct stats *total)
{
	static const char *const cols[] = {
		"WAITS", "ANSWERED", "OPEN", "OLDEST OPEN", "P50", "P90", "MAX",
		"FIRST P50", "IN SLA", "BREACHED", "PENDING",
	};
	const char *hdr[STATS_NDIMS + 11];
	char since[TIMEFMT_RFC3339_LEN], until[TIMEFMT_RFC3339_LEN];
	char at[TIMEFMT_RFC3339_LEN];
	size_t n = 0, i, keys;
	struct table *t;
	int d;

	for (d = 0; d < STATS_NDIMS; d++)
		if (o->dims & (1u << d))
			hdr[n++] = stats_dim_name(d);
	keys = n;
	for (i = 0; i < 11; i++)
		hdr[n++] = cols[i];
	t = table_new(n, hdr);
	for (i = keys; i < n; i++)
		table_align_right(t, i);
	for (i = 0; i < stats_ngroups(s); i++)
		table_group(t, o, stats_group(s, i), NULL);
	if (keys > 0 && stats_ngroups(total) > 0) {
		table_rule(t);
		table_group(t, o, stats_group(total, 0), "total");
	}
	timefmt_format_rfc3339(o->since_ms, since, sizeof since);
	timefmt_format_rfc3339(o->until_ms, until, sizeof until);
	timefmt_format_rfc3339(o->at_ms, at, sizeof at);
	printf("Waits opened %s .. %s, as of %s\n\n", since, until, at);
	if (stats_ngroups(s) == 0)
		printf("No waits in this window.\n");
	else
		table_print(t, stdout);
	table_free(t);
	return 0;
}

/* ---- the command ------------------------------------------------------------ */

static int
parse_opts(struct cmd_ctx *ctx, int argc, char **argv, struct stats_opts *o)
{
	static const struct option longopts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "at", required_argument, NULL, 'a' },
		{ "by", required_argument, NULL, 'b' },
		{ "tz", required_argument, NULL, 'z' },
		{ "account", required_argument, NULL, 'A' },
		{ "kind", required_argument, NULL, 'k' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum msg_kind kind;
	char *err = NULL;
	int ch;

	memset(o, 0, sizeof *o);
	o->at_ms = ctx->now_ms;
	o->tzname = "UTC";
	o->kind = -1;
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (cmd_parse_time(ctx, "--since", optarg, &o->since_ms))
				return EXIT_USAGE;
			o->have_since = 1;
			break;
		case 'u':
			if (cmd_parse_time(ctx, "--until", optarg, &o->until_ms))
				return EXIT_USAGE;
			o->have_until = 1;
			break;
		case 'a':
			if (cmd_parse_time(ctx, "--at", optarg, &o->at_ms))
				return EXIT_USAGE;
			break;
		case 'b':
			if (stats_dims_parse(optarg, &o->dims, &err) == -1) {
				cmd_usage_error("stats", "--by: %s", err);
				free(err);
				return EXIT_USAGE;
			}
			break;
		case 'z':
			o->tzname = optarg;
			break;
		case 'A':
			o->account = optarg;
			break;
		case 'k':
			if (msg_kind_parse(optarg, &kind) == -1)
				return cmd_usage_error("stats", "--kind: \"%s\" is "
				    "not direct or broadcast", optarg);
			o->kind = kind;
			break;
		case 'f':
			if (output_format_parse(optarg, &o->format) == -1)
				return cmd_usage_error("stats", "--format: \"%s\" is "
				    "not table, json or csv", optarg);
			break;
		case 'h':
			cmd_usage(stdout, "stats", stats_help);
			return -1;
		default:
			cmd_usage(stderr, "stats", stats_help);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cmd_usage_error("stats", "unexpected argument \"%s\"",
		    argv[optind]);
	if (!o->have_until)
		o->until_ms = o->at_ms;
	if (!o->have_since)
		o->since_ms = o->until_ms - DEFAULT_WINDOW_MS;
	if (o->since_ms >= o->until_ms)
		return cmd_usage_error("stats", "--since must be before --until");
	return 0;
}

static int
run(struct cmd_ctx *ctx, const struct stats_opts *o, struct tz *zone)
{
	struct store_filter f = {
		.since_ms = o->since_ms, .until_ms = o->until_ms,
		.at_ms = o->at_ms, .account = o->account, .kind = o->kind,
	};
	struct feed feed = { 0 };
	struct store *st;
	char *err = NULL;
	int rc = EXIT_FAIL;

	if ((st = store_open(ctx->dbpath, STORE_READER, &err)) == NULL)
		goto fail;
	feed.grouped = stats_new(o->dims, o->at_ms, zone, ctx->conf);
	if (o->format == OUTPUT_TABLE && o->dims != 0)
		feed.total = stats_new(0, o->at_ms, zone, ctx->conf);
	if (store_each_wait(st, &f, feed_wait, &feed, &err) == -1 ||
	    store_each_conversation(st, &f, feed_conversation, &feed, &err) == -1)
		goto fail;
	stats_finish(feed.grouped);
	if (feed.total != NULL)
		stats_finish(feed.total);
	switch (o->format) {
	case OUTPUT_JSON:
		rc = print_json(o, feed.grouped);
		break;
	case OUTPUT_CSV:
		rc = print_csv(o, feed.grouped);
		break;
	default:
		rc = print_table(o, feed.grouped,
		    feed.total != NULL ? feed.total : feed.grouped);
		break;
	}
	rc = rc == 0 ? EXIT_OK : EXIT_FAIL;
fail:
	if (err != NULL) {
		fprintf(stderr, "replywatch stats: %s\n", err);
		free(err);
	}
	stats_free(feed.grouped);
	stats_free(feed.total);
	store_close(st);
	return rc;
}

int
cmd_stats(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct stats_opts o;
	struct tz *zone;
	char *err = NULL;
	int rc;

	if ((rc = parse_opts(ctx, argc, argv, &o)) != 0)
		return rc == -1 ? EXIT_OK : rc;
	if ((zone = tz_new(o.tzname, &err)) == NULL) {
		rc = cmd_usage_error("stats", "--tz: %s", err);
		free(err);
		return rc;
	}
	rc = run(ctx, &o, zone);
	tz_free(zone);
	return rc;
}
