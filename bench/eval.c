/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify.h"
#include "classify-model.h"
#include "csvread.h"
#include "xmalloc.h"

/*
 * rw-eval: the measured quality of the complaint classifier (make eval).
 *
 *   rw-eval [--tune-only] [--bits N] [--epochs N] [--l2 X] [--chars MIN MAX]
 *           DATADIR
 *
 * DATADIR holds complaints-dev.csv (English, label 1 = complaint) and
 * germeval2017-dev.tsv (German, complaint = sentiment "negative"). Each
 * message goes, by the FNV-1a 64 hash h of its id, to the held-out part
 * when h % 10 < 3 (about 30%), to the tune part otherwise; the word lists
 * were written looking at the tune part only. The folds of the
 * cross-validation are (h >> 32) % 10. --tune-only prints only figures of
 * the tune part (the cross-validation over it too): what is used while
 * writing rules.
 */

#define HELDOUT_OF_10	3
#define NFOLDS		10

struct item {
	char		*id;
	char		*text;
	size_t		 len;
	int		 label;
	int		 heldout;
	int		 fold;
};

struct dataset {
	const char	*name;
	enum classify_lang lang;
	struct item	*it;
	size_t		 n, cap;
};

struct counts {
	size_t	 tp, fp, fn, tn;
	size_t	 lang_ok, n;
};

struct evalopts {
	int	 tune_only;
	struct classify_train_options train;
};

static uint64_t
fnv1a64(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static void
add_item(struct dataset *d, const char *id, const char *text, int label)
{
	struct item *it;
	uint64_t h = fnv1a64(id);

	if (d->n == d->cap) {
		d->cap = d->cap == 0 ? 1024 : d->cap * 2;
		d->it = xreallocarray(d->it, d->cap, sizeof *d->it);
	}
	it = &d->it[d->n++];
	it->id = xstrdup(id);
	it->text = xstrdup(text);
	it->len = strlen(text);
	it->label = label;
	it->heldout = h % 10 < HELDOUT_OF_10;
	it->fold = (int)((h >> 32) % NFOLDS);
}

/* Columns id, text and label (or sentiment, negative = 1) by name. */
static int
load(struct dataset *d, const char *path, char sep, int quoting,
    const char *idcol, const char *labelcol)
{
	struct csvread *r;
	size_t n, i, ci = SIZE_MAX, ct = SIZE_MAX, cl = SIZE_MAX;
	char **f, *err;
	long line;
	FILE *fp;
	int rc, label;

	if ((fp = fopen(path, "re")) == NULL) {
		fprintf(stderr, "rw-eval: %s: %s\n", path, strerror(errno));
		return -1;
	}
	r = csvread_new(fp, sep, quoting);
	while ((rc = csvread_next(r, &f, &n, &line, &err)) == 1) {
		if (line == 1) {
			for (i = 0; i < n; i++) {
				if (strcmp(f[i], idcol) == 0)
					ci = i;
				else if (strcmp(f[i], "text") == 0)
					ct = i;
				else if (strcmp(f[i], labelcol) == 0)
					cl = i;
			}
			continue;
		}
		if (ci == SIZE_MAX || ct == SIZE_MAX || cl == SIZE_MAX ||
		    n <= ci || n <= ct || n <= cl)
			continue;
		if (strcmp(labelcol, "sentiment") == 0)
			label = strcmp(f[cl], "negative") == 0;
		else
			label = strcmp(f[cl], "1") == 0;
		add_item(d, f[ci], f[ct], label);
	}
	csvread_free(r);
	fclose(fp);
	if (rc == -1) {
		fprintf(stderr, "rw-eval: %s: %s\n", path, err);
		free(err);
		return -1;
	}
	return 0;
}

static void
count(struct counts *c, int truth, int pred)
{
	if (truth && pred)
		c->tp++;
	else if (pred)
		c->fp++;
	else if (truth)
		c->fn++;
	else
		c->tn++;
}

static double
ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static double
f1(double p, double r)
{
	return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

static void
print_row(const char *data, const char *what, const char *part,
    const struct counts *c)
{
	size_t n = c->tp + c->fp + c->fn + c->tn;
	double p1 = ratio(c->tp, c->tp + c->fp), r1 = ratio(c->tp, c->tp + c->fn);
	double p0 = ratio(c->tn, c->tn + c->fn), r0 = ratio(c->tn, c->tn + c->fp);
	double acc = ratio(c->tp + c->tn, n);

	printf("%-16s %-26s %-9s %5zu  %5.3f  %5.3f   %5.3f %5.3f %5.3f\n",
	    data, what, part, n, acc, (f1(p1, r1) + f1(p0, r0)) / 2, p1, r1,
	    f1(p1, r1));
}

static int
builtin(const struct dataset *d, int heldout, struct counts *c)
{
	struct classify_options o;
	struct classify_result r;
	struct classify *cl;
	char *err;
	size_t i;

	classify_options_init(&o);
	if ((cl = classify_new(&o, &err)) == NULL) {
		fprintf(stderr, "rw-eval: %s\n", err);
		free(err);
		return -1;
	}
	memset(c, 0, sizeof *c);
	for (i = 0; i < d->n; i++) {
		if (d->it[i].heldout != heldout)
			continue;
		classify_text(cl, d->it[i].text, d->it[i].len, &r);
		count(c, d->it[i].label, r.complaint);
		c->lang_ok += r.lang == d->lang;
		c->n++;
	}
	classify_free(cl);
	return 0;
}

/* Which items to train on and which to test. */
enum role { SKIP, TRAIN, TEST };

static int
train_test(const struct dataset *d, const struct evalopts *eo,
    const enum role *roles, struct counts *c)
{
	struct classify_train_options to = eo->train;
	struct classify_sample *s = xcalloc(d->n, sizeof *s);
	struct classify_options o;
	struct classify_result r;
	struct classify_model *m;
	struct classify *cl;
	char *err, path[64];
	size_t i, n = 0;

	for (i = 0; i < d->n; i++) {
		if (roles[i] != TRAIN)
			continue;
		s[n].text = d->it[i].text;
		s[n].len = d->it[i].len;
		s[n].label = d->it[i].label;
		n++;
	}
	to.lang = d->lang;
	m = classify_model_train(&to, s, n, &err);
	free(s);
	snprintf(path, sizeof path, "rw-eval-%ld.model", (long)getpid());
	if (m == NULL || classify_model_save(m, path, &err) == -1) {
		fprintf(stderr, "rw-eval: %s\n", err);
		free(err);
		classify_model_free(m);
		return -1;
	}
	classify_model_free(m);
	classify_options_init(&o);
	o.lang = d->lang;
	o.model_path = path;
	cl = classify_new(&o, &err);
	unlink(path);
	if (cl == NULL) {
		fprintf(stderr, "rw-eval: %s\n", err);
		free(err);
		return -1;
	}
	for (i = 0; i < d->n; i++) {
		if (roles[i] != TEST)
			continue;
		classify_text(cl, d->it[i].text, d->it[i].len, &r);
		count(c, d->it[i].label, r.complaint);
	}
	classify_free(cl);
	return 0;
}

/* 10-fold cross-validation over the items (the tune part only, or all). */
static int
crossval(const struct dataset *d, const struct evalopts *eo, int tune_only,
    struct counts *c)
{
	enum role *roles = xcalloc(d->n, sizeof *roles);
	size_t i;
	int fold, rc = 0;

	memset(c, 0, sizeof *c);
	for (fold = 0; fold < NFOLDS && rc == 0; fold++) {
		for (i = 0; i < d->n; i++) {
			if (tune_only && d->it[i].heldout)
				roles[i] = SKIP;
			else
				roles[i] = d->it[i].fold == fold ? TEST : TRAIN;
		}
		rc = train_test(d, eo, roles, c);
	}
	free(roles);
	return rc;
}

static int
tune_to_heldout(const struct dataset *d, const struct evalopts *eo,
    struct counts *c)
{
	enum role *roles = xcalloc(d->n, sizeof *roles);
	size_t i;
	int rc;

	memset(c, 0, sizeof *c);
	for (i = 0; i < d->n; i++)
		roles[i] = d->it[i].heldout ? TEST : TRAIN;
	rc = train_test(d, eo, roles, c);
	free(roles);
	return rc;
}

static void
majority(const struct dataset *d, int heldout, struct counts *c)
{
	size_t i, pos = 0, n = 0;

	memset(c, 0, sizeof *c);
	for (i = 0; i < d->n; i++) {
		if (d->it[i].heldout != heldout)
			continue;
		pos += (size_t)d->it[i].label;
		n++;
	}
	for (i = 0; i < d->n; i++)
		if (d->it[i].heldout == heldout)
			count(c, d->it[i].label, pos * 2 > n);
}

static int
evaluate(const struct dataset *d, const struct evalopts *eo)
{
	struct counts c;

	if (builtin(d, 0, &c) == -1)
		return -1;
	print_row(d->name, "built-in", "tune", &c);
	fprintf(stderr, "  (%s, tune: language detected right for %.1f%%)\n",
	    d->name, 100.0 * ratio(c.lang_ok, c.n));
	if (!eo->tune_only) {
		if (builtin(d, 1, &c) == -1)
			return -1;
		print_row(d->name, "built-in", "held-out", &c);
	}
	if (crossval(d, eo, eo->tune_only, &c) == -1)
		return -1;
	print_row(d->name, "trained, 10-fold CV",
	    eo->tune_only ? "tune" : "all", &c);
	if (eo->tune_only)
		return 0;
	if (tune_to_heldout(d, eo, &c) == -1)
		return -1;
	print_row(d->name, "trained on tune", "held-out", &c);
	majority(d, 1, &c);
	print_row(d->name, "majority class", "held-out", &c);
	return 0;
}

static void
dataset_clear(struct dataset *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->it[i].id);
		free(d->it[i].text);
	}
	free(d->it);
}

static int
usage(void)
{
	fprintf(stderr, "usage: rw-eval [--tune-only] [--bits N] [--epochs N] "
	    "[--l2 X] [--chars MIN MAX] DATADIR\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct dataset en = { "complaints (en)", CLASSIFY_EN, NULL, 0, 0 };
	struct dataset de = { "germeval (de)", CLASSIFY_DE, NULL, 0, 0 };
	struct evalopts eo = { 0 };
	char *path;
	int i, rc = 0;

	classify_train_options_init(&eo.train);
	for (i = 1; i < argc - 1; i++) {
		if (strcmp(argv[i], "--tune-only") == 0)
			eo.tune_only = 1;
		else if (strcmp(argv[i], "--bits") == 0 && i + 2 < argc)
			eo.train.bits = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--epochs") == 0 && i + 2 < argc)
			eo.train.epochs = (unsigned)atoi(argv[++i]);
		else if (strcmp(argv[i], "--l2") == 0 && i + 2 < argc)
			eo.train.l2 = atof(argv[++i]);
		else if (strcmp(argv[i], "--chars") == 0 && i + 3 < argc) {
			eo.train.char_min = (unsigned)atoi(argv[++i]);
			eo.train.char_max = (unsigned)atoi(argv[++i]);
		} else
			return usage();
	}
	if (i != argc - 1)
		return usage();
	xasprintf(&path, "%s/complaints-dev.csv", argv[i]);
	rc |= load(&en, path, ',', 1, "tweet_id", "label");
	free(path);
	xasprintf(&path, "%s/germeval2017-dev.tsv", argv[i]);
	rc |= load(&de, path, '\t', 0, "id", "sentiment");
	free(path);
	if (rc == 0) {
		printf("%-16s %-26s %-9s %5s  %5s  %5s   %-17s\n", "data",
		    "classifier", "part", "n", "acc", "macF1",
		    "complaint P/R/F1");
		if (evaluate(&en, &eo) == -1 || evaluate(&de, &eo) == -1)
			rc = -1;
	}
	dataset_clear(&en);
	dataset_clear(&de);
	return rc == 0 ? 0 : 1;
}
