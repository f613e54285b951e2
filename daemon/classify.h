/* SPDX-License-Identifier: ISC */
#ifndef RW_CLASSIFY_H
#define RW_CLASSIFY_H

#include <stddef.h>

/*
 * The complaint classifier: offline, deterministic, English and German.
 *
 * Built once (classify_new) from the options of an account, then asked
 * once per message text (classify_text): complaint or not, a score in
 * [0, 1], the language, and the cues that decided. The word lists and
 * rules are etc/classifier/en.txt and de.txt, compiled into the program;
 * doc/classifier.md describes them. A model trained by `replywatch train`
 * (classify-model.h) may replace the score for messages in its language;
 * it was trained with the built-in score as one of its inputs.
 *
 * A struct classify is not shared between threads: classify_text uses
 * scratch space inside it.
 */

struct conf_policy;

enum classify_lang {
	CLASSIFY_AUTO = 0,	/* detected per message */
	CLASSIFY_EN = 1,
	CLASSIFY_DE = 2,
};
#define CLASSIFY_NLANGS	2

#define CLASSIFY_DEFAULT_THRESHOLD 0.5

struct classify_options {
	enum classify_lang lang;	/* CLASSIFY_AUTO: detected */
	double		 threshold;	/* complaint when score >= it; 0..1 */
	const char	*cues;		/* extra cues, complaint_cues syntax;
					   NULL: none */
	const char	*model_path;	/* a trained model; NULL: none */
};

#define CLASSIFY_MAX_CUES 8

struct classify_result {
	int		 complaint;	/* 1 or 0 */
	double		 score;		/* 0..1 */
	enum classify_lang lang;	/* never CLASSIFY_AUTO */
	int		 model;		/* 1 if the trained model scored it */
	size_t		 ncues;
	/* Strongest first: the words or phrases (as found in the text,
	 * lowercased, e.g. "not happy", "still waiting") and signs ("!!",
	 * "CAPS") that pushed towards a complaint. They point into the
	 * classifier and stay valid until its next classify_text. */
	const char	*cues[CLASSIFY_MAX_CUES];
};

/* Options with the defaults: automatic language, threshold 0.5. */
void	classify_options_init(struct classify_options *);
/* The options an account's policy gives (complaint_model,
 * complaint_threshold, complaint_cues, language); strings point into p. */
void	classify_options_from_policy(struct classify_options *,
	    const struct conf_policy *p);

/* NULL with *errstr (caller frees) if an option is bad or the model file
 * cannot be loaded. */
struct classify *classify_new(const struct classify_options *, char **errstr);
void	classify_free(struct classify *);

/* text: len bytes of UTF-8, not necessarily NUL-terminated. */
void	classify_text(struct classify *, const char *text, size_t len,
	    struct classify_result *out);

/* "en", "de" ("auto" for CLASSIFY_AUTO). */
const char *classify_lang_name(enum classify_lang);
/* "auto", "en", "de": 0, else -1. */
int	classify_lang_parse(const char *, enum classify_lang *);

/*
 * Extra cues: comma-separated items PHRASE[=WEIGHT], e.g.
 *   late delivery=2.0, refund*=1.5, "kaputt"
 * A phrase is one or more words (quotes around it are optional); a '*'
 * after the last word matches any ending of that word. WEIGHT: -10..10,
 * default 1.5; positive pushes towards a complaint. 0, else -1 with *errstr.
 */
int	classify_cues_check(const char *spec, char **errstr);

#endif
