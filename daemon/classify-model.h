/* SPDX-License-Identifier: ISC */
#ifndef RW_CLASSIFY_MODEL_H
#define RW_CLASSIFY_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "classify-token.h"

/*
 * A model trained from a team's own labels: logistic regression over
 * hashed word unigrams and bigrams and character n-grams of the words,
 * with the built-in classifier's findings as extra inputs.
 *
 * The file (doc/classifier.md): the magic "RWCMODEL", a version, the
 * language, the hashing and n-gram parameters, the weights as IEEE 754
 * little-endian floats, and an FNV-1a 64 checksum of all that. A model
 * file is untrusted input: every field is checked when it is loaded.
 */

/* What the built-in classifier hands the model (classify_scan). */
enum {
	CLASSIFY_D_LOGIT,	/* the built-in score, before the sigmoid */
	CLASSIFY_D_POS,		/* sum of the cues towards a complaint */
	CLASSIFY_D_NEG,		/* sum of the cues against one */
	CLASSIFY_D_QUESTION,	/* 1 if the message asks a question */
	CLASSIFY_NDENSE
};

struct classify_model;

struct classify_sample {
	const char	*text;
	size_t		 len;
	int		 label;		/* 1 complaint, 0 not */
};

struct classify_train_options {
	enum classify_lang lang;	/* CLASSIFY_EN or CLASSIFY_DE */
	unsigned	 bits;		/* 2^bits hash buckets; 0: default */
	unsigned	 epochs;	/* 0: default */
	double		 l2;		/* < 0: default */
	unsigned	 char_min, char_max;	/* n-grams; 0,0: default */
};

void	classify_train_options_init(struct classify_train_options *);

/* NULL with *errstr if there is nothing to learn from (no samples, one
 * class only) or an option is out of range. */
struct classify_model *classify_model_train(const struct classify_train_options *,
	    const struct classify_sample *, size_t n, char **errstr);

int	classify_model_save(const struct classify_model *, const char *path,
	    char **errstr);
struct classify_model *classify_model_load(const char *path, char **errstr);
/* From memory; name is used in error messages. */
struct classify_model *classify_model_read(const unsigned char *buf,
	    size_t len, const char *name, char **errstr);
/* The file's bytes (caller frees), for tests. */
unsigned char *classify_model_write(const struct classify_model *, size_t *len);
void	classify_model_free(struct classify_model *);

enum classify_lang classify_model_lang(const struct classify_model *);

/* The model's score before the sigmoid, from the tokens and what the
 * built-in classifier found. */
double	classify_model_logit(const struct classify_model *,
	    const struct ctok_buf *, const double dense[CLASSIFY_NDENSE]);

/* classify.c, for the model: tokenize and run the built-in rules of
 * language lang (not CLASSIFY_AUTO); the tokens stay in c until its next
 * call. */
const struct ctok_buf *classify_scan(struct classify *c, const char *text,
	    size_t len, enum classify_lang lang, double dense[CLASSIFY_NDENSE]);

#endif
