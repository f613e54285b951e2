/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "output.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * replywatch silence: alerts of an account, of a rule or of a rule of an
 * account are not told while a silence is in force (replywatchd still
 * fires and resolves them, and `replywatch alerts` lists them). Adding and
 * removing one writes to the database, which belongs to the daemon's user.
 */

static const char silence_help[] =
    "  add     a silence, from now until --for or --until; prints its id\n"
    "  list    the silences in force now (with --all, also the expired)\n"
    "  remove  a silence, by id\n"
    "\n"
    "Options of add:\n"
    "  --account A     the alerts of this account (default: every account)\n"
    "  --rule R        the alerts of this rule (default: every rule): "
    "overdue,\n"
    "                  complaint_spike, connector_down or backlog; at least\n"
    "                  one of --account and --rule is required\n"
    "  --for DURATION  how long, from now (90m, 8h, 2d)\n"
    "  --until T       or until when\n"
    "  --reason TEXT   why (required)\n"
    "Options of list:\n"
    "  --all           the expired too\n"
    "  --format F      table (default), json (one array) or csv\n"
    "\n"
    "  -h, --help      this help\n"
    "\n"
    "add and remove write to the database: run them as the user of\n"
    "replywatchd (sudo -u replywatch replywatch silence ...).\n";

/* Whether this process may write to the database (and to its WAL files,
 * when they are there): 0, or an errno. */
static int
writable(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char *p;
	size_t i;
	int e = 0;

	for (i = 0; i < 3 && e == 0; i++) {
		xasprintf(&p, "%s%s", path, suffix[i]);
		if ((i == 0 || access(p, F_OK) == 0) && access(p, W_OK) == -1 &&
		    errno != ENOENT)
			e = errno;
		free(p);
	}
	return e;
}

static void
cannot_write(const char *path, const char *why)
{
	fprintf(stderr, "replywatch silence: cannot write %s: %s: run it as "
	    "the replywatch user (sudo -u replywatch replywatch silence ...)\n",
	    path, why);
}

/* The database, opened to write; NULL after saying why. */
static struct store *
open_writer(const struct cmd_ctx *ctx)
{
	struct store *st;
	char *err = NULL;
	int e;

	if ((e = writable(ctx->dbpath)) != 0) {
		cannot_write(ctx->dbpath, strerror(e));
		return NULL;
	}
	if ((st = store_open(ctx->dbpath, 0, &err)) == NULL) {
		fprintf(stderr, "replywatch silence: %s\n", err);
		free(err);
	}
	return st;
}

/* A failed write: read-only is for the user to fix, and said so. */
static void
write_failed(const struct cmd_ctx *ctx, char *err)
{
	if (strstr(err, "readonly") != NULL ||
	    strstr(err, "read-only") != NULL)
		cannot_write(ctx->dbpath, "the database is read-only");
	else
		fprintf(stderr, "replywatch silence: %s\n", err);
	free(err);
}

static int
silence_add(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "account", required_argument, NULL, 'A' },
		{ "rule", required_argument, NULL, 'r' },
		{ "for", required_argument, NULL, 'F' },
		{ "until", required_argument, NULL, 'u' },
		{ "reason", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct store_silence si = { .until_ms = -1 };
	struct passwd *pw;
	struct store *st;
	int64_t dur;
	char *err = NULL;
	size_t i;
	int ch, have_for = 0, have_until = 0;
	/* whole seconds: what people read back */
	int64_t now = ctx->now_ms - ctx->now_ms % 1000;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			if (optarg[0] == '\0')
				return cmd_usage_error("silence",
				    "--account: empty");
			si.account = optarg;
			break;
		case 'r':
			if (cmd_alert_rule_valid(optarg) == -1)
				return cmd_usage_error("silence", "--rule: "
				    "\"%s\" is not a rule (" CMD_ALERT_RULES
				    ")", optarg);
			si.rule = optarg;
			break;
		case 'F':
			if (timefmt_parse_duration(optarg, &dur) == -1 ||
			    dur <= 0)
				return cmd_usage_error("silence", "--for: "
				    "\"%s\" is not a duration (such as 90m, "
				    "8h, 2d)", optarg);
			si.until_ms = now + dur;
			have_for = 1;
			break;
		case 'u':
			if (cmd_parse_time(ctx, "--until", optarg, &si.until_ms))
				return EXIT_USAGE;
			if (si.until_ms <= now)
				return cmd_usage_error("silence", "--until: "
				    "\"%s\" is not in the future", optarg);
			have_until = 1;
			break;
		case 'R':
			si.reason = optarg;
			break;
		case 'h':
			cmd_usage(stdout, "silence", silence_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "silence", silence_help);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cmd_usage_error("silence", "add: unexpected argument "
		    "\"%s\"", argv[optind]);
	if (si.account == NULL && si.rule == NULL)
		return cmd_usage_error("silence", "add: give --account, "
		    "--rule or both");
	if (have_for && have_until)
		return cmd_usage_error("silence", "add: give --for or "
		    "--until, not both");
	if (!have_for && !have_until)
		return cmd_usage_error("silence", "add: give how long: "
		    "--for DURATION or --until T");
	if (si.reason == NULL || si.reason[strspn(si.reason, " \t")] == '\0')
		return cmd_usage_error("silence", "add: give a --reason");
	/* a name not configured silences nothing: probably a typo */
	if (si.account != NULL && ctx->conf->naccounts > 0) {
		for (i = 0; i < ctx->conf->naccounts; i++)
			if (strcmp(ctx->conf->accounts[i].name, si.account) == 0)
				break;
		if (i == ctx->conf->naccounts)
			fprintf(stderr, "replywatch silence: warning: no "
			    "account \"%s\" in the configuration\n", si.account);
	}
	si.created_ms = now;
	si.created_by = (pw = getpwuid(getuid())) != NULL ? pw->pw_name : NULL;
	if ((st = open_writer(ctx)) == NULL)
		return EXIT_FAIL;
	if (store_silence_add(st, &si, &err) == -1) {
		write_failed(ctx, err);
		store_close(st);
		return EXIT_FAIL;
	}
	printf("%lld\n", (long long)si.id);
	store_close(st);
	return EXIT_OK;
}

static int
silence_remove(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct store *st;
	long long id;
	char *err = NULL, *end;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			cmd_usage(stdout, "silence", silence_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "silence", silence_help);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return cmd_usage_error("silence", "remove: which silence? "
		    "Give its id");
	if (optind + 1 < argc)
		return cmd_usage_error("silence", "remove: unexpected argument "
		    "\"%s\"", argv[optind + 1]);
	errno = 0;
	id = strtoll(argv[optind], &end, 10);
	if (errno != 0 || end == argv[optind] || *end != '\0' || id <= 0)
		return cmd_usage_error("silence", "remove: \"%s\" is not a "
		    "silence id", argv[optind]);
	if ((st = open_writer(ctx)) == NULL)
		return EXIT_FAIL;
	rc = store_silence_remove(st, id, &err);
	store_close(st);
	if (rc == -1) {
		write_failed(ctx, err);
		return EXIT_FAIL;
	}
	if (rc == 1) {
		fprintf(stderr, "replywatch silence: no silence with id %lld\n",
		    id);
		return EXIT_FAIL;
	}
	printf("removed silence %lld\n", id);
	return EXIT_OK;
}

/* ---- list ---------------------------------------------------------------- */

struct list_out {
	const struct cmd_ctx	*ctx;
	enum output_format	 format;
	struct table		*table;
	cJSON			*array;
	size_t			 n;
};

static void
list_row(const struct store_silence *s, void *arg)
{
	struct list_out *lo = arg;
	int64_t now = lo->ctx->now_ms;
	char created[TIMEFMT_RFC3339_LEN], until[TIMEFMT_RFC3339_LEN];
	char left[TIMEFMT_DURATION_LEN], id[24];
	int active = s->created_ms <= now && now < s->until_ms;

	lo->n++;
	timefmt_format_rfc3339(s->created_ms, created, sizeof created);
	timefmt_format_rfc3339(s->until_ms, until, sizeof until);
	snprintf(id, sizeof id, "%lld", (long long)s->id);
	if (lo->format == OUTPUT_JSON) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddItemToObject(o, "id", cJSON_CreateNumber((double)s->id));
		cJSON_AddItemToObject(o, "account", s->account != NULL ?
		    cJSON_CreateString(s->account) : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "rule", s->rule != NULL ?
		    cJSON_CreateString(s->rule) : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "created_at", cJSON_CreateString(created));
		cJSON_AddItemToObject(o, "until", cJSON_CreateString(until));
		cJSON_AddItemToObject(o, "in_force", cJSON_CreateBool(active));
		cJSON_AddItemToObject(o, "created_by", s->created_by != NULL ?
		    cJSON_CreateString(s->created_by) : cJSON_CreateNull());
		cJSON_AddItemToObject(o, "reason", cJSON_CreateString(
		    s->reason != NULL ? s->reason : ""));
		cJSON_AddItemToArray(lo->array, o);
	} else if (lo->format == OUTPUT_CSV) {
		const char *row[8] = { id, s->account, s->rule, created, until,
		    active ? "yes" : "no", s->created_by, s->reason };

		csv_row(stdout, row, 8);
	} else {
		char *reason = text_excerpt(s->reason, 60);

		table_add(lo->table, id);
		table_add(lo->table, s->account != NULL ? s->account :
		    "(every account)");
		table_add(lo->table, s->rule != NULL ? s->rule :
		    "(every rule)");
		table_add(lo->table, created);
		table_add(lo->table, until);
		if (active) {
			timefmt_format_duration(s->until_ms - now, left,
			    sizeof left);
			table_add(lo->table, left);
		} else
			table_add(lo->table, s->until_ms <= now ? "expired" :
			    "not yet");
		table_add(lo->table, s->created_by != NULL ? s->created_by :
		    "-");
		table_add(lo->table, reason);
		free(reason);
	}
}

static int
silence_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const cols[] = {
		"ID", "ACCOUNT", "RULE", "CREATED", "UNTIL", "LEFT", "BY",
		"REASON",
	};
	static const char *const csv_hdr[] = {
		"id", "account", "rule", "created_at", "until", "in_force",
		"created_by", "reason",
	};
	struct list_out lo = { .ctx = ctx };
	struct store *st;
	char *err = NULL;
	int ch, all = 0, rc = EXIT_OK;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			all = 1;
			break;
		case 'f':
			if (output_format_parse(optarg, &lo.format) == -1)
				return cmd_usage_error("silence", "--format: "
				    "\"%s\" is not table, json or csv", optarg);
			break;
		case 'h':
			cmd_usage(stdout, "silence", silence_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "silence", silence_help);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cmd_usage_error("silence", "list: unexpected argument "
		    "\"%s\"", argv[optind]);
	if ((st = store_open(ctx->dbpath, STORE_READER, &err)) == NULL) {
		fprintf(stderr, "replywatch silence: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	if (lo.format == OUTPUT_TABLE) {
		lo.table = table_new(8, cols);
		table_align_right(lo.table, 0);
	} else if (lo.format == OUTPUT_JSON)
		lo.array = cJSON_CreateArray();
	else
		csv_row(stdout, csv_hdr, 8);
	if (store_each_silence(st, all ? -1 : ctx->now_ms, list_row, &lo,
	    &err) == -1) {
		fprintf(stderr, "replywatch silence: %s\n", err);
		free(err);
		rc = EXIT_FAIL;
	} else if (lo.table != NULL && lo.n == 0)
		printf(all ? "No silences.\n" : "No silence in force.\n");
	else if (lo.table != NULL)
		table_print(lo.table, stdout);
	else if (lo.array != NULL && json_print(stdout, lo.array, 0) == -1)
		rc = EXIT_FAIL;
	table_free(lo.table);
	cJSON_Delete(lo.array);
	store_close(st);
	return rc;
}

int
cmd_silence(struct cmd_ctx *ctx, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (sub != NULL && (strcmp(sub, "-h") == 0 ||
	    strcmp(sub, "--help") == 0)) {
		cmd_usage(stdout, "silence", silence_help);
		return EXIT_OK;
	}
	if (sub == NULL)
		return cmd_usage_error("silence", "add, list or remove?");
	/* the subcommand's options: argv[0] is its name */
	if (strcmp(sub, "add") == 0)
		return silence_add(ctx, argc - 1, argv + 1);
	if (strcmp(sub, "list") == 0)
		return silence_list(ctx, argc - 1, argv + 1);
	if (strcmp(sub, "remove") == 0)
		return silence_remove(ctx, argc - 1, argv + 1);
	return cmd_usage_error("silence", "\"%s\" is not add, list or remove",
	    sub);
}
