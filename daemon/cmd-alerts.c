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

/*
 * replywatch alerts: the alerts replywatchd fired and resolved, and what
 * became of telling them: per route, delivered, still being tried, or
 * given up; or why nothing was sent (held while the account's connector
 * is down, silenced, not yet). Read from the database, so it works
 * whether the daemon runs or not.
 */

static const char alerts_help[] =
    "Oldest first. For each alert its notifications, one per route and\n"
    "event: delivered, pending (attempts, next try, last error) or\n"
    "failed; or, when none was sent, held (the account's connector is\n"
    "down), silenced, or not yet notified.\n"
    "\n"
    "Options:\n"
    "  --firing      only alerts not resolved\n"
    "  --since T     only alerts fired or resolved at or after T\n"
    "  --account A   only this account's\n"
    "  --rule R      only this rule's: " CMD_ALERT_RULES "\n"
    "  --limit N     the newest N (still listed oldest first)\n"
    "  --format F    table (default), json (one array) or csv (one row per\n"
    "                notification)\n"
    "  -h, --help    this help\n";

struct silence_copy {
	char	*account, *rule;
	int64_t	 created_ms, until_ms;
};

struct alerts_out {
	const struct cmd_ctx	*ctx;
	struct store		*st;
	enum output_format	 format;
	struct table		*table;
	cJSON			*array;
	size_t			 n;
	struct silence_copy	*silences;
	size_t			 nsilences;
	char			*err;		/* the first error */
};

/* The notifications of one alert, copied. */
struct note {
	int64_t	 id;
	char	*route, *event, *state, *last_error;
	int	 attempts;
	int64_t	 created_ms, next_ms, done_ms;
};

struct notes {
	struct note	*v;
	size_t		 n;
};

static void
note_add(const struct store_notification *sn, void *arg)
{
	struct notes *ns = arg;
	struct note *n;

	ns->v = xreallocarray(ns->v, ns->n + 1, sizeof *ns->v);
	n = &ns->v[ns->n++];
	n->id = sn->id;
	n->route = xstrdup(sn->route != NULL ? sn->route : "");
	n->event = xstrdup(sn->event != NULL ? sn->event : "");
	n->state = xstrdup(sn->state != NULL ? sn->state : "");
	n->last_error = sn->last_error != NULL ? xstrdup(sn->last_error) : NULL;
	n->attempts = sn->attempts;
	n->created_ms = sn->created_ms;
	n->next_ms = sn->next_ms;
	n->done_ms = sn->done_ms;
}

static void
notes_clear(struct notes *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++) {
		free(ns->v[i].route);
		free(ns->v[i].event);
		free(ns->v[i].state);
		free(ns->v[i].last_error);
	}
	free(ns->v);
	ns->v = NULL;
	ns->n = 0;
}

static void
silence_copy(const struct store_silence *s, void *arg)
{
	struct alerts_out *ao = arg;
	struct silence_copy *c;

	ao->silences = xreallocarray(ao->silences, ao->nsilences + 1,
	    sizeof *ao->silences);
	c = &ao->silences[ao->nsilences++];
	c->account = s->account != NULL ? xstrdup(s->account) : NULL;
	c->rule = s->rule != NULL ? xstrdup(s->rule) : NULL;
	c->created_ms = s->created_ms;
	c->until_ms = s->until_ms;
}

static int
in_force(const struct silence_copy *s, int64_t at)
{
	return s->created_ms <= at && at < s->until_ms;
}

/* Silenced: a silence of its account and rule was in force when it
 * fired, or, while it fires, is in force now. */
static int
silenced(const struct alerts_out *ao, const struct store_alert *a)
{
	size_t i;

	for (i = 0; i < ao->nsilences; i++) {
		const struct silence_copy *s = &ao->silences[i];

		if (s->account != NULL && strcmp(s->account, a->account) != 0)
			continue;
		if (s->rule != NULL && strcmp(s->rule, a->rule) != 0)
			continue;
		if (in_force(s, a->fired_ms) ||
		    (a->resolved_ms < 0 && in_force(s, ao->ctx->now_ms)))
			return 1;
	}
	return 0;
}

/* What became of telling it, in a word. */
static const char *
delivery_of(const struct store_alert *a, const struct notes *ns, int quiet)
{
	size_t i;
	int pending = 0, failed = 0;

	if (ns->n == 0) {
		if (a->held)
			return "held";
		if (quiet)
			return "silenced";
		return a->resolved_ms < 0 ? "not yet notified" : "not notified";
	}
	for (i = 0; i < ns->n; i++) {
		if (strcmp(ns->v[i].state, "pending") == 0)
			pending = 1;
		else if (strcmp(ns->v[i].state, "failed") == 0)
			failed = 1;
	}
	return pending ? "pending" : failed ? "failed" : "delivered";
}

static void
rfc3339(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		buf[0] = '\0';
	else
		timefmt_format_rfc3339(ms, buf, len);
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

/* ---- the formats --------------------------------------------------------- */

static void
alert_json(struct alerts_out *ao, const struct store_alert *a,
    const struct notes *ns, int quiet)
{
	cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray(), *d;
	size_t i;

	cJSON_AddItemToObject(o, "id", cJSON_CreateNumber((double)a->id));
	cJSON_AddItemToObject(o, "rule", json_str(a->rule));
	cJSON_AddItemToObject(o, "account", json_str(a->account));
	cJSON_AddItemToObject(o, "subject", json_str(a->subject));
	cJSON_AddItemToObject(o, "severity", json_str(a->severity));
	cJSON_AddItemToObject(o, "state", cJSON_CreateString(
	    a->resolved_ms < 0 ? "firing" : "resolved"));
	cJSON_AddItemToObject(o, "fired_at", json_time(a->fired_ms));
	cJSON_AddItemToObject(o, "resolved_at", json_time(a->resolved_ms));
	cJSON_AddItemToObject(o, "summary", json_str(a->summary));
	/* as stored: a JSON object; kept as a string if it is not JSON */
	if (a->details == NULL)
		d = cJSON_CreateNull();
	else if ((d = cJSON_Parse(a->details)) == NULL)
		d = cJSON_CreateString(a->details);
	cJSON_AddItemToObject(o, "details", d);
	cJSON_AddItemToObject(o, "notified_at", json_time(a->notified_ms));
	cJSON_AddItemToObject(o, "held", cJSON_CreateBool(a->held));
	cJSON_AddItemToObject(o, "silenced", cJSON_CreateBool(quiet));
	cJSON_AddItemToObject(o, "delivery",
	    cJSON_CreateString(delivery_of(a, ns, quiet)));
	for (i = 0; i < ns->n; i++) {
		const struct note *n = &ns->v[i];
		cJSON *no = cJSON_CreateObject();
		int pending = strcmp(n->state, "pending") == 0;

		cJSON_AddItemToObject(no, "id", cJSON_CreateNumber((double)n->id));
		cJSON_AddItemToObject(no, "route", cJSON_CreateString(n->route));
		cJSON_AddItemToObject(no, "event", cJSON_CreateString(n->event));
		cJSON_AddItemToObject(no, "state", cJSON_CreateString(n->state));
		cJSON_AddItemToObject(no, "created_at", json_time(n->created_ms));
		cJSON_AddItemToObject(no, "attempts",
		    cJSON_CreateNumber(n->attempts));
		cJSON_AddItemToObject(no, "next_attempt_at",
		    json_time(pending ? n->next_ms : -1));
		cJSON_AddItemToObject(no, "delivered_at",
		    json_time(strcmp(n->state, "delivered") == 0 ?
		    n->done_ms : -1));
		cJSON_AddItemToObject(no, "failed_at",
		    json_time(strcmp(n->state, "failed") == 0 ?
		    n->done_ms : -1));
		cJSON_AddItemToObject(no, "last_error", json_str(n->last_error));
		cJSON_AddItemToArray(arr, no);
	}
	cJSON_AddItemToObject(o, "notifications", arr);
	cJSON_AddItemToArray(ao->array, o);
}

static void
alert_csv(const struct store_alert *a, const struct notes *ns, int quiet)
{
	char id[24], fired[TIMEFMT_RFC3339_LEN], resolved[TIMEFMT_RFC3339_LEN];
	char created[TIMEFMT_RFC3339_LEN], next[TIMEFMT_RFC3339_LEN];
	char done[TIMEFMT_RFC3339_LEN], attempts[16];
	const char *row[20];
	size_t i = 0;

	snprintf(id, sizeof id, "%lld", (long long)a->id);
	rfc3339(a->fired_ms, fired, sizeof fired);
	rfc3339(a->resolved_ms, resolved, sizeof resolved);
	row[0] = id;
	row[1] = a->rule;
	row[2] = a->account;
	row[3] = a->subject;
	row[4] = a->severity;
	row[5] = a->resolved_ms < 0 ? "firing" : "resolved";
	row[6] = fired;
	row[7] = resolved;
	row[8] = a->summary;
	row[9] = a->held ? "yes" : "no";
	row[10] = quiet ? "yes" : "no";
	row[11] = delivery_of(a, ns, quiet);
	do {
		const struct note *n = i < ns->n ? &ns->v[i] : NULL;

		if (n != NULL) {
			rfc3339(n->created_ms, created, sizeof created);
			rfc3339(strcmp(n->state, "pending") == 0 ? n->next_ms : -1,
			    next, sizeof next);
			rfc3339(n->done_ms, done, sizeof done);
			snprintf(attempts, sizeof attempts, "%d", n->attempts);
		}
		row[12] = n ? n->route : "";
		row[13] = n ? n->event : "";
		row[14] = n ? n->state : "";
		row[15] = n ? created : "";
		row[16] = n ? attempts : "";
		row[17] = n ? next : "";
		row[18] = n ? done : "";
		row[19] = n ? n->last_error : "";
		csv_row(stdout, row, 20);
	} while (++i < ns->n);
}

/* One notification for people. */
static char *
note_text(const struct note *n, int64_t now)
{
	char t[TIMEFMT_RFC3339_LEN], d[TIMEFMT_DURATION_LEN + 8], *err, *s;

	err = text_excerpt(n->last_error, 60);
	if (strcmp(n->state, "delivered") == 0) {
		rfc3339(n->done_ms, t, sizeof t);
		xasprintf(&s, "%s (%s): delivered %s", n->route, n->event, t);
	} else if (strcmp(n->state, "pending") == 0) {
		if (n->next_ms < 0 || n->next_ms <= now)
			snprintf(d, sizeof d, "now");
		else {
			char left[TIMEFMT_DURATION_LEN];

			timefmt_format_duration(n->next_ms - now, left,
			    sizeof left);
			snprintf(d, sizeof d, "in %s", left);
		}
		xasprintf(&s, "%s (%s): pending, %d attempt%s, next try %s%s%s",
		    n->route, n->event, n->attempts, n->attempts == 1 ? "" : "s",
		    d, n->last_error != NULL ? ", last error: " : "",
		    n->last_error != NULL ? err : "");
	} else if (strcmp(n->state, "failed") == 0) {
		rfc3339(n->done_ms, t, sizeof t);
		xasprintf(&s, "%s (%s): failed %s after %d attempt%s%s%s",
		    n->route, n->event, t, n->attempts,
		    n->attempts == 1 ? "" : "s",
		    n->last_error != NULL ? ": " : "",
		    n->last_error != NULL ? err : "");
	} else
		xasprintf(&s, "%s (%s): %s", n->route, n->event, n->state);
	free(err);
	return s;
}

static void
alert_table(struct alerts_out *ao, const struct store_alert *a,
    const struct notes *ns, int quiet)
{
	char fired[TIMEFMT_RFC3339_LEN], resolved[TIMEFMT_RFC3339_LEN];
	char *summary = text_excerpt(a->summary, 50);
	char *subject = text_excerpt(a->subject, 30);
	char *s;
	size_t i, c;

	rfc3339(a->fired_ms, fired, sizeof fired);
	rfc3339(a->resolved_ms, resolved, sizeof resolved);
	table_addf(ao->table, "%lld", (long long)a->id);
	table_add(ao->table, a->rule);
	table_add(ao->table, a->account);
	table_add(ao->table, a->subject[0] != '\0' ? subject : "-");
	table_add(ao->table, a->severity);
	table_add(ao->table, a->resolved_ms < 0 ? "firing" : "resolved");
	table_add(ao->table, fired);
	table_add(ao->table, a->resolved_ms < 0 ? "-" : resolved);
	table_add(ao->table, summary);
	free(summary);
	free(subject);
	if (ns->n == 0) {
		const char *why = delivery_of(a, ns, quiet);

		table_add(ao->table, strcmp(why, "held") == 0 ?
		    "held (connector down)" : why);
		return;
	}
	/* one line per notification: the alert's cells on the first */
	for (i = 0; i < ns->n; i++) {
		if (i > 0)
			for (c = 0; c < 9; c++)
				table_add(ao->table, "");
		s = note_text(&ns->v[i], ao->ctx->now_ms);
		table_add(ao->table, s);
		free(s);
	}
}

static void
alert_row(const struct store_alert *a, void *arg)
{
	struct alerts_out *ao = arg;
	struct notes ns = { NULL, 0 };
	char *err = NULL;
	int quiet;

	if (ao->err != NULL)
		return;
	if (store_each_alert_notification(ao->st, a->id, note_add, &ns,
	    &err) == -1) {
		ao->err = err;
		notes_clear(&ns);
		return;
	}
	quiet = ns.n == 0 && silenced(ao, a);
	ao->n++;
	switch (ao->format) {
	case OUTPUT_JSON:
		alert_json(ao, a, &ns, quiet);
		break;
	case OUTPUT_CSV:
		alert_csv(a, &ns, quiet);
		break;
	default:
		alert_table(ao, a, &ns, quiet);
		break;
	}
	notes_clear(&ns);
}

int
cmd_alerts(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "firing", no_argument, NULL, 'F' },
		{ "since", required_argument, NULL, 's' },
		{ "account", required_argument, NULL, 'A' },
		{ "rule", required_argument, NULL, 'r' },
		{ "limit", required_argument, NULL, 'l' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const cols[] = {
		"ID", "RULE", "ACCOUNT", "SUBJECT", "SEVERITY", "STATE", "FIRED",
		"RESOLVED", "SUMMARY", "DELIVERY",
	};
	static const char *const csv_hdr[] = {
		"id", "rule", "account", "subject", "severity", "state",
		"fired_at", "resolved_at", "summary", "held", "silenced",
		"delivery", "route", "event", "notification_state",
		"notification_created_at", "attempts", "next_attempt_at",
		"done_at", "last_error",
	};
	struct store_alert_filter f = { .since_ms = -1 };
	struct alerts_out ao = { .ctx = ctx };
	struct store *st;
	char *err = NULL, *end;
	size_t i;
	int ch, rc = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			f.firing = 1;
			break;
		case 's':
			if (cmd_parse_time(ctx, "--since", optarg, &f.since_ms))
				return EXIT_USAGE;
			break;
		case 'A':
			f.account = optarg;
			break;
		case 'r':
			if (cmd_alert_rule_valid(optarg) == -1)
				return cmd_usage_error("alerts", "--rule: \"%s\" "
				    "is not a rule (" CMD_ALERT_RULES ")",
				    optarg);
			f.rule = optarg;
			break;
		case 'l':
			errno = 0;
			f.limit = strtoul(optarg, &end, 10);
			if (errno || *end != '\0' || f.limit == 0 ||
			    optarg[0] == '-')
				return cmd_usage_error("alerts", "--limit: \"%s\" "
				    "is not a positive number", optarg);
			break;
		case 'f':
			if (output_format_parse(optarg, &ao.format) == -1)
				return cmd_usage_error("alerts", "--format: \"%s\" "
				    "is not table, json or csv", optarg);
			break;
		case 'h':
			cmd_usage(stdout, "alerts", alerts_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "alerts", alerts_help);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cmd_usage_error("alerts", "unexpected argument \"%s\"",
		    argv[optind]);
	if ((st = store_open(ctx->dbpath, STORE_READER, &err)) == NULL) {
		fprintf(stderr, "replywatch alerts: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	ao.st = st;
	if (ao.format == OUTPUT_TABLE) {
		ao.table = table_new(10, cols);
		table_align_right(ao.table, 0);
	} else if (ao.format == OUTPUT_JSON)
		ao.array = cJSON_CreateArray();
	else
		csv_row(stdout, csv_hdr, 20);
	if (store_each_silence(st, -1, silence_copy, &ao, &err) == -1 ||
	    store_each_alert(st, &f, alert_row, &ao, &err) == -1 ||
	    (err = ao.err) != NULL) {
		fprintf(stderr, "replywatch alerts: %s\n", err);
		free(err);
		rc = EXIT_FAIL;
	} else if (ao.table != NULL && ao.n == 0)
		printf("No alerts.\n");
	else if (ao.table != NULL)
		table_print(ao.table, stdout);
	else if (ao.array != NULL && json_print(stdout, ao.array, 0) == -1)
		rc = EXIT_FAIL;
	for (i = 0; i < ao.nsilences; i++) {
		free(ao.silences[i].account);
		free(ao.silences[i].rule);
	}
	free(ao.silences);
	table_free(ao.table);
	cJSON_Delete(ao.array);
	store_close(st);
	return rc;
}
