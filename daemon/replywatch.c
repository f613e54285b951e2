/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "conf.h"
#include "log.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * replywatch: the command-line interface to replywatch's figures.
 * Global options pick the database; the command does the rest.
 */

static const struct cmd_entry commands[] = {
	{ "import", "[--batch N] [FILE|-]",
	  "Import normalized messages (JSON Lines)", cmd_import },
	{ "stats", "[--since T] [--until T] [--at T] [--by DIM[,DIM...]] "
	  "[--account A] [--kind K] [--tz ZONE] [--format table|json|csv]",
	  "Reply-time figures", cmd_stats },
	{ "pending", "[--account A] [--kind K] [--at T] [--format F]",
	  "Open waits, oldest first", cmd_pending },
	{ "messages", "[--since T] [--until T] [--account A] [--kind K] "
	  "[--complaints] [--limit N] [--format F]",
	  "The log of mentions, comments and direct messages", cmd_messages },
	{ "explain", "[--account A] [--at T] ID",
	  "How the engine treated one message", cmd_explain },
	{ "reclassify", "[--since T] [--until T] [--account A]",
	  "Classify stored messages again; the figures follow", cmd_reclassify },
	{ "check-account", "NAME",
	  "Poll an account's streams once: what works, what is refused",
	  cmd_check_account },
	{ "status", "[--account A] [--format F]",
	  "What the daemon last saw of each account's polls", cmd_status },
	{ "alerts", "[--firing] [--since T] [--account A] [--rule R] "
	  "[--limit N] [--format F]",
	  "Alerts fired and resolved, and how they were told", cmd_alerts },
	{ "silence", "add [--account A] [--rule R] --for DURATION|--until T "
	  "--reason TEXT | list [--all] [--format F] | remove ID",
	  "Keep alerts of an account or rule from being told for a while",
	  cmd_silence },
	{ "classify", "[--account A] [--model FILE] [--lang auto|en|de] "
	  "[--threshold X] [--cues SPEC]",
	  "Tell complaints from other messages, one per line", cmd_classify },
	{ "train", "--lang en|de -o MODEL FILE.csv",
	  "Train a complaint model from labeled messages", cmd_train },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

const struct cmd_entry *
cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

void
cmd_usage(FILE *fp, const char *name, const char *options_help)
{
	const struct cmd_entry *c = cmd_find(name);

	if (c == NULL)
		return;
	fprintf(fp, "usage: replywatch [-d PATH | -c FILE] %s %s\n", c->name,
	    c->args);
	fprintf(fp, "%s.\n", c->summary);
	if (options_help != NULL)
		fprintf(fp, "\n%s", options_help);
}

int
cmd_usage_error(const char *name, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "replywatch %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'replywatch %s --help'.\n", name);
	return EXIT_USAGE;
}

int
cmd_alert_rule_valid(const char *name)
{
	static const char *const rules[] = {
		"overdue", "complaint_spike", "connector_down", "backlog",
	};
	size_t i;

	for (i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if (strcmp(name, rules[i]) == 0)
			return 0;
	return -1;
}

int
cmd_parse_time(const struct cmd_ctx *ctx, const char *opt, const char *arg,
    int64_t *out)
{
	if (timefmt_parse_when(arg, ctx->now_ms, out) == 0)
		return 0;
	fprintf(stderr, "replywatch: %s: \"%s\" is not a time (use RFC 3339 "
	    "such as 2026-11-25T12:00:00Z, a date, \"now\", or a duration "
	    "before now such as 90m, 24h, 7d)\n", opt, arg);
	return -1;
}

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: replywatch [-d PATH | -c FILE] COMMAND [ARGS]\n"
	    "       replywatch --help | --version\n"
	    "\n"
	    "Figures on how fast a brand answers on social platforms.\n"
	    "\n"
	    "Options:\n"
	    "  -d, --database PATH  the database (default: from the configuration,\n"
	    "                       else %s)\n"
	    "  -c, --config FILE    read the database and the accounts' SLA targets\n"
	    "                       and business hours from FILE (default:\n"
	    "                       %s if it exists)\n"
	    "  -h, --help           this help; 'replywatch COMMAND --help' for a command\n"
	    "  -V, --version        the version\n"
	    "\n"
	    "Commands:\n", CONF_DEFAULT_DATABASE, CONF_DEFAULT_PATH);
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fprintf(fp,
	    "\nTimes: RFC 3339 (2026-11-25T12:00:00Z), a date (2026-11-25), \"now\",\n"
	    "or a duration before now (90m, 24h, 7d).\n"
	    "Exit status: 0 success, 1 failure, 2 usage error, 3 input lines rejected.\n");
}

/* The configuration: -c FILE, else the default file if present, else the
 * built-in defaults. -d overrides the database either way. */
static struct conf *
load_conf(const char *cfile, const char *dbpath)
{
	struct conf_errors errs = { 0 };
	struct conf *conf;
	size_t i;

	if (cfile == NULL && access(CONF_DEFAULT_PATH, R_OK) == 0)
		cfile = CONF_DEFAULT_PATH;
	if (cfile == NULL)
		return conf_default(dbpath != NULL ? dbpath : CONF_DEFAULT_DATABASE);
	conf = conf_load(cfile, &errs);
	if (conf == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "replywatch: %s\n", errs.msgs[i]);
		conf_errors_clear(&errs);
		return NULL;
	}
	if (dbpath != NULL) {
		free(conf->database);
		conf->database = xstrdup(dbpath);
	}
	return conf;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "database", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dbpath = NULL, *cfile = NULL;
	const struct cmd_entry *cmd;
	struct cmd_ctx ctx;
	int ch, rc;

	log_init("replywatch", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "+c:d:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfile = optarg;
			break;
		case 'd':
			dbpath = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("replywatch %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((cmd = cmd_find(argv[0])) == NULL) {
		fprintf(stderr, "replywatch: unknown command \"%s\"; "
		    "'replywatch --help' lists them\n", argv[0]);
		return EXIT_USAGE;
	}
	if ((ctx.conf = load_conf(cfile, dbpath)) == NULL)
		return EXIT_FAIL;
	ctx.dbpath = ctx.conf->database;
	ctx.now_ms = timefmt_now();
	optind = 0;	/* reset getopt for the command's own options */
	rc = cmd->exec(&ctx, argc, argv);
	conf_free(ctx.conf);
	return rc;
}
