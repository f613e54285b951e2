/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "classify-model.h"
#include "cmd.h"
#include "csvread.h"
#include "xmalloc.h"

static const char train_help[] =
    "Trains a complaint model from labeled messages: a CSV file with a\n"
    "header line naming at least the columns \"text\" and \"label\" (1: a\n"
    "complaint, 0: not), in any order. '-' reads standard input. The model\n"
    "(doc/classifier.md) is used with 'classify --model' or the\n"
    "complaint_model key of the configuration.\n"
    "\n"
    "Options:\n"
    "  --lang L       the language of the messages: en or de (required)\n"
    "  -o FILE        the model file to write (required)\n"
    "  --bits N       2^N hashed features, 10 to 24 (default 18)\n"
    "  --epochs N     passes over the data (default 5)\n"
    "  -h, --help     this help\n";

struct samples {
	struct classify_sample	*s;
	size_t			 n, cap;
	size_t			 npos;
};

static void
samples_clear(struct samples *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		free((char *)ss->s[i].text);
	free(ss->s);
}

/* The columns of the header; -1 with a message if one is missing. */
static int
header(const char *path, char **f, size_t n, size_t *text, size_t *label)
{
	size_t i;

	*text = *label = SIZE_MAX;
	for (i = 0; i < n; i++) {
		/* A byte order mark before the first name. */
		if (i == 0 && strncmp(f[0], "\xef\xbb\xbf", 3) == 0)
			f[0] += 3;
		if (strcmp(f[i], "text") == 0)
			*text = i;
		else if (strcmp(f[i], "label") == 0)
			*label = i;
	}
	if (*text != SIZE_MAX && *label != SIZE_MAX)
		return 0;
	fprintf(stderr, "replywatch train: %s:1: the header has no \"%s\" "
	    "column (it needs \"text\" and \"label\")\n", path,
	    *text == SIZE_MAX ? "text" : "label");
	return -1;
}

static int
record(const char *path, long line, char **f, size_t n, size_t nhdr,
    size_t text, size_t label, struct samples *ss)
{
	struct classify_sample *s;
	int v;

	if (n != nhdr) {
		fprintf(stderr, "replywatch train: %s:%ld: %zu fields, the "
		    "header has %zu\n", path, line, n, nhdr);
		return -1;
	}
	if (strcmp(f[label], "0") == 0)
		v = 0;
	else if (strcmp(f[label], "1") == 0)
		v = 1;
	else {
		fprintf(stderr, "replywatch train: %s:%ld: label \"%.20s\" is "
		    "not 0 or 1\n", path, line, f[label]);
		return -1;
	}
	if (ss->n == ss->cap) {
		ss->cap = ss->cap == 0 ? 1024 : ss->cap * 2;
		ss->s = xreallocarray(ss->s, ss->cap, sizeof *ss->s);
	}
	s = &ss->s[ss->n++];
	s->text = xstrdup(f[text]);
	s->len = strlen(s->text);
	s->label = v;
	ss->npos += (size_t)v;
	return 0;
}

static int
read_samples(const char *path, FILE *fp, struct samples *ss)
{
	struct csvread *r = csvread_new(fp, ',', 1);
	size_t n, nhdr = 0, text = 0, label = 0;
	char **f, *err;
	long line;
	int rc;

	while ((rc = csvread_next(r, &f, &n, &line, &err)) == 1) {
		if (line == 1) {
			nhdr = n;
			if (header(path, f, n, &text, &label) == -1)
				break;
			continue;
		}
		if (n == 1 && f[0][0] == '\0')
			continue;	/* an empty line */
		if (record(path, line, f, n, nhdr, text, label, ss) == -1)
			break;
	}
	csvread_free(r);
	if (rc == -1) {
		fprintf(stderr, "replywatch train: %s: %s\n", path, err);
		free(err);
		return -1;
	}
	if (rc == 1)
		return -1;
	if (nhdr == 0) {
		fprintf(stderr, "replywatch train: %s: empty file: a header "
		    "line with \"text\" and \"label\" is needed\n", path);
		return -1;
	}
	return 0;
}

static int
parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0 || v < lo || v > hi)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int
train_file(const struct classify_train_options *o, const char *path,
    const char *out)
{
	struct samples ss = { 0 };
	struct classify_model *m;
	FILE *fp = stdin;
	char *err;

	if (strcmp(path, "-") != 0 && (fp = fopen(path, "re")) == NULL) {
		fprintf(stderr, "replywatch train: %s: %s\n", path,
		    strerror(errno));
		return EXIT_FAIL;
	}
	if (read_samples(path, fp, &ss) == -1) {
		if (fp != stdin)
			fclose(fp);
		samples_clear(&ss);
		return EXIT_FAIL;
	}
	if (fp != stdin)
		fclose(fp);
	if ((m = classify_model_train(o, ss.s, ss.n, &err)) == NULL ||
	    classify_model_save(m, out, &err) == -1) {
		fprintf(stderr, "replywatch train: %s: %s\n",
		    m == NULL ? path : out, err);
		free(err);
		classify_model_free(m);
		samples_clear(&ss);
		return EXIT_FAIL;
	}
	printf("%zu messages (%zu complaints), model written to %s\n", ss.n,
	    ss.npos, out);
	classify_model_free(m);
	samples_clear(&ss);
	return EXIT_OK;
}

int
cmd_train(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lang", required_argument, NULL, 'l' },
		{ "output", required_argument, NULL, 'o' },
		{ "bits", required_argument, NULL, 'b' },
		{ "epochs", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct classify_train_options o;
	const char *out = NULL;
	enum classify_lang lang;
	int ch, setlang = 0;

	classify_train_options_init(&o);
	while ((ch = getopt_long(argc, argv, "+ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			if (classify_lang_parse(optarg, &lang) == -1 ||
			    lang == CLASSIFY_AUTO)
				return cmd_usage_error("train", "--lang: \"%s\" "
				    "is not en or de", optarg);
			o.lang = lang;
			setlang = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'b':
			if (parse_uint(optarg, 10, 24, &o.bits) == -1)
				return cmd_usage_error("train", "--bits: \"%s\" "
				    "is not a number from 10 to 24", optarg);
			break;
		case 'e':
			if (parse_uint(optarg, 1, 1000, &o.epochs) == -1)
				return cmd_usage_error("train", "--epochs: "
				    "\"%s\" is not a number from 1 to 1000",
				    optarg);
			break;
		case 'h':
			cmd_usage(stdout, "train", train_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "train", train_help);
			return EXIT_USAGE;
		}
	}
	if (!setlang)
		return cmd_usage_error("train", "--lang en or --lang de is "
		    "required");
	if (out == NULL)
		return cmd_usage_error("train", "-o MODEL is required");
	if (optind + 1 != argc)
		return cmd_usage_error("train", optind == argc ? "the CSV file "
		    "is missing" : "one CSV file only");
	return train_file(&o, argv[optind], out);
}
