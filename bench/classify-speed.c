/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "classify.h"
#include "classify-model.h"
#include "classify-token.h"
#include "csvread.h"
#include "xmalloc.h"

/*
 * rw-classify-speed DATADIR: messages per second of the complaint
 * classifier on one core (make bench-classify), for the English and the
 * German messages of DATADIR (see bench/eval.c):
 *   - the reference: the tokenizer alone, measured in the same run;
 *   - the built-in classifier, language detected per message;
 *   - a model trained on the same messages (its training is not timed).
 * Each figure is the best of RUNS runs of at least MIN_SECONDS, as CPU
 * time of the thread (what one core spent) and as wall-clock time. On an
 * idle machine they agree; on a busy one the wall clock also counts the
 * time other processes had the core, so the target is checked against
 * CPU time. Exit status 1 if a classifier does fewer than TARGET messages
 * per CPU second.
 */

#define TARGET		200000.0
#define MIN_SECONDS	0.3
#define RUNS		5

struct texts {
	const char	*name;
	enum classify_lang lang;
	struct classify_sample *s;
	size_t		 n, cap, bytes;
};

struct rate {
	double		 cpu, wall;	/* messages per second */
};

static double
now(clockid_t clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) == -1 &&
	    clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
load(struct texts *t, const char *path, char sep, int quoting,
    const char *labelcol)
{
	struct csvread *r;
	size_t n, i, ct = SIZE_MAX, cl = SIZE_MAX;
	char **f, *err;
	long line;
	FILE *fp;
	int rc;

	if ((fp = fopen(path, "re")) == NULL) {
		fprintf(stderr, "rw-classify-speed: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	r = csvread_new(fp, sep, quoting);
	while ((rc = csvread_next(r, &f, &n, &line, &err)) == 1) {
		if (line == 1) {
			for (i = 0; i < n; i++) {
				if (strcmp(f[i], "text") == 0)
					ct = i;
				else if (strcmp(f[i], labelcol) == 0)
					cl = i;
			}
			continue;
		}
		if (ct >= n || cl >= n)
			continue;
		if (t->n == t->cap) {
			t->cap = t->cap == 0 ? 1024 : t->cap * 2;
			t->s = xreallocarray(t->s, t->cap, sizeof *t->s);
		}
		t->s[t->n].text = xstrdup(f[ct]);
		t->s[t->n].len = strlen(f[ct]);
		t->s[t->n].label = strcmp(f[cl], "1") == 0 ||
		    strcmp(f[cl], "negative") == 0;
		t->bytes += t->s[t->n].len;
		t->n++;
	}
	csvread_free(r);
	fclose(fp);
	if (rc == -1) {
		fprintf(stderr, "rw-classify-speed: %s: %s\n", path, err);
		free(err);
		return -1;
	}
	return 0;
}

/* One pass over the texts: the tokenizer only (c NULL) or classify. */
static size_t
pass(const struct texts *t, struct classify *c, struct ctok_buf *b)
{
	struct classify_result r;
	size_t i, sink = 0;

	for (i = 0; i < t->n; i++) {
		if (c == NULL) {
			ctok_run(b, t->s[i].text, t->s[i].len);
			sink += b->n;
		} else {
			classify_text(c, t->s[i].text, t->s[i].len, &r);
			sink += (size_t)r.complaint;
		}
	}
	return sink;
}

/* Best messages/second of RUNS runs, in CPU and in wall-clock time. */
static struct rate
measure(const struct texts *t, struct classify *c)
{
	struct rate best = { 0, 0 };
	struct ctok_buf b;
	double start, cpu, el;
	size_t msgs;
	volatile size_t sink = 0;
	int run;

	ctok_init(&b);
	for (run = 0; run < RUNS; run++) {
		msgs = 0;
		start = now(CLOCK_MONOTONIC);
		cpu = now(CLOCK_THREAD_CPUTIME_ID);
		do {
			sink += pass(t, c, &b);
			msgs += t->n;
		} while ((el = now(CLOCK_MONOTONIC) - start) < MIN_SECONDS);
		cpu = now(CLOCK_THREAD_CPUTIME_ID) - cpu;
		if (msgs / el > best.wall)
			best.wall = msgs / el;
		if (cpu > 0 && msgs / cpu > best.cpu)
			best.cpu = msgs / cpu;
	}
	ctok_clear(&b);
	(void)sink;
	return best;
}

static struct classify *
make(enum classify_lang lang, const char *model, char **err)
{
	struct classify_options o;

	classify_options_init(&o);
	o.lang = lang;
	o.model_path = model;
	return classify_new(&o, err);
}

static int
report(const char *what, const struct texts *t, struct rate ref,
    struct rate v, int target)
{
	printf("%-16s %-28s %8.0f/s CPU %8.0f/s wall  %4.2f of the "
	    "tokenizer  %s\n", t->name, what, v.cpu, v.wall, v.cpu / ref.cpu,
	    !target ? "" : v.cpu >= TARGET ? "(target 200000: met)" :
	    "(target 200000: MISSED)");
	return target && v.cpu < TARGET;
}

static int
bench(struct texts *t)
{
	struct classify_train_options to;
	struct classify_model *m;
	struct classify *c;
	char *err, path[64];
	struct rate ref;
	int bad = 0;

	printf("%s: %zu messages, %.0f bytes on average\n", t->name, t->n,
	    (double)t->bytes / (double)t->n);
	ref = measure(t, NULL);
	report("tokenizer only (reference)", t, ref, ref, 0);
	if ((c = make(CLASSIFY_AUTO, NULL, &err)) == NULL)
		goto fail;
	bad |= report("built-in, language detected", t, ref, measure(t, c), 1);
	classify_free(c);
	classify_train_options_init(&to);
	to.lang = t->lang;
	snprintf(path, sizeof path, "rw-classify-speed-%ld.model",
	    (long)getpid());
	if ((m = classify_model_train(&to, t->s, t->n, &err)) == NULL)
		goto fail;
	if (classify_model_save(m, path, &err) == -1) {
		classify_model_free(m);
		goto fail;
	}
	classify_model_free(m);
	c = make(t->lang, path, &err);
	unlink(path);
	if (c == NULL)
		goto fail;
	bad |= report("trained model (+ built-in)", t, ref, measure(t, c), 1);
	classify_free(c);
	return bad;
fail:
	fprintf(stderr, "rw-classify-speed: %s\n", err);
	free(err);
	return 1;
}

static void
texts_clear(struct texts *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free((char *)t->s[i].text);
	free(t->s);
}

int
main(int argc, char **argv)
{
	struct texts en = { "complaints (en)", CLASSIFY_EN, NULL, 0, 0, 0 };
	struct texts de = { "germeval (de)", CLASSIFY_DE, NULL, 0, 0, 0 };
	char *path;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: rw-classify-speed DATADIR\n");
		return 2;
	}
	xasprintf(&path, "%s/complaints-dev.csv", argv[1]);
	rc |= load(&en, path, ',', 1, "label");
	free(path);
	xasprintf(&path, "%s/germeval2017-dev.tsv", argv[1]);
	rc |= load(&de, path, '\t', 0, "sentiment");
	free(path);
	if (rc == 0)
		rc = bench(&en) | bench(&de);
	texts_clear(&en);
	texts_clear(&de);
	return rc;
}
