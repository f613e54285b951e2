/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "classify.h"
#include "cmd.h"
#include "conf.h"
#include "output.h"

static const char classify_help[] =
    "Reads one message text per line on standard input and writes, for\n"
    "each, one JSON object on a line of its own, in the same order:\n"
    "  {\"complaint\":true,\"score\":0.83,\"lang\":\"en\",\"cues\":[\"still waiting\"]}\n"
    "The settings come from the configuration ([daemon], or the account\n"
    "of --account); the options override them.\n"
    "\n"
    "Options:\n"
    "  --account A      the settings of this account\n"
    "  --model FILE     a model trained by 'replywatch train'\n"
    "  --lang L         auto (detected per message, the default), en or de\n"
    "  --threshold X    a complaint when the score reaches X (0..1)\n"
    "  --cues SPEC      extra cues, e.g. \"late delivery=2.0, refund*=1.5\"\n"
    "  -h, --help       this help\n";

static void
print_result(const struct classify_result *r)
{
	cJSON *o = cJSON_CreateObject(), *cues = cJSON_CreateArray();
	size_t i;

	cJSON_AddItemToObject(o, "complaint", cJSON_CreateBool(r->complaint));
	cJSON_AddItemToObject(o, "score", cJSON_CreateNumber(r->score));
	cJSON_AddItemToObject(o, "lang",
	    cJSON_CreateString(classify_lang_name(r->lang)));
	for (i = 0; i < r->ncues; i++)
		cJSON_AddItemToArray(cues, cJSON_CreateString(r->cues[i]));
	cJSON_AddItemToObject(o, "cues", cues);
	json_print(stdout, o, 1);
	cJSON_Delete(o);
}

static int
classify_stream(struct classify *c)
{
	struct classify_result r;
	char *line = NULL;
	size_t cap = 0, n;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) != -1) {
		n = (size_t)len;
		if (n > 0 && line[n - 1] == '\n')
			n--;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		classify_text(c, line, n, &r);
		print_result(&r);
		/* One answer per line as it comes: classify may run as a
		 * co-process. */
		if (fflush(stdout) == EOF)
			break;
	}
	free(line);
	if (ferror(stdin)) {
		fprintf(stderr, "replywatch classify: cannot read standard "
		    "input\n");
		return EXIT_FAIL;
	}
	if (ferror(stdout)) {
		fprintf(stderr, "replywatch classify: cannot write standard "
		    "output\n");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int
parse_threshold(const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return end != s && *end == '\0' && *out >= 0 && *out <= 1 ? 0 : -1;
}

int
cmd_classify(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "account", required_argument, NULL, 'A' },
		{ "model", required_argument, NULL, 'm' },
		{ "lang", required_argument, NULL, 'l' },
		{ "threshold", required_argument, NULL, 't' },
		{ "cues", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *account = NULL, *model = NULL, *cues = NULL;
	struct classify_options o;
	enum classify_lang lang = CLASSIFY_AUTO;
	struct classify *c;
	double threshold = -1;
	int ch, rc, setlang = 0;
	char *err;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			account = optarg;
			break;
		case 'm':
			model = optarg;
			break;
		case 'l':
			if (classify_lang_parse(optarg, &lang) == -1)
				return cmd_usage_error("classify", "--lang: "
				    "\"%s\" is not auto, en or de", optarg);
			setlang = 1;
			break;
		case 't':
			if (parse_threshold(optarg, &threshold) == -1)
				return cmd_usage_error("classify", "--threshold: "
				    "\"%s\" is not a number from 0 to 1", optarg);
			break;
		case 'c':
			cues = optarg;
			break;
		case 'h':
			cmd_usage(stdout, "classify", classify_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "classify", classify_help);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cmd_usage_error("classify", "unexpected argument \"%s\"",
		    argv[optind]);
	if (account != NULL && conf_find_account(ctx->conf, account) == NULL)
		return cmd_usage_error("classify", "--account: no account "
		    "\"%s\" in the configuration", account);
	classify_options_from_policy(&o, conf_policy_for(ctx->conf, account));
	if (model != NULL)
		o.model_path = model;
	if (setlang)
		o.lang = lang;
	if (threshold >= 0)
		o.threshold = threshold;
	if (cues != NULL)
		o.cues = cues;
	if ((c = classify_new(&o, &err)) == NULL) {
		fprintf(stderr, "replywatch classify: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	rc = classify_stream(c);
	classify_free(c);
	return rc;
}
