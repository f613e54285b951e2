/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "classify-data.h"
#include "classify-model.h"
#include "classify-token.h"
#include "conf.h"
#include "xmalloc.h"

/*
 * The built-in classifier. Each language has a lexicon read from its data
 * file (etc/classifier/LANG.txt, compiled in as a string): weighted cues
 * and sentiment words, negators, intensifiers, question words, the words
 * that tell the language, and the weights of the signs (question,
 * exclamation marks, capitals). A message is tokenized once; its score is
 * a sum of weights turned into [0, 1] by the logistic function.
 * doc/classifier.md explains the rules.
 */

#define LEX_NEGATOR	0x01	/* opens a negation scope */
#define LEX_QUESTION	0x02	/* a question opening with it asks for help */
#define LEX_STARTS	0x04	/* a phrase of several words starts with it */
#define LEX_CUE		0x08	/* cue: weight, not flipped by negation */
#define LEX_SENT	0x10	/* sentiment: weight, flipped by negation */
#define LEX_INTENS	0x20	/* intensifier: factor on the next weight */
#define LEX_FUNC	0x40	/* a frequent word of the language */
#define LEX_CONTRAST	0x80	/* "but": ends a negation scope */

#define LEX_MAX_WORDS	6	/* words in a phrase */
#define LEX_MIN_PREFIX	3	/* bytes before a '*' */
#define GRAM_BITS	4096	/* of a patindex filter */
#define LEX_WEIGHT_MAX	10.0
#define CUES_DEFAULT_WEIGHT 1.5
#define DETECT_TOKENS	200	/* words looked at to tell the language */
#define KEY_PAD		8	/* NUL bytes after a key (same_bytes) */

struct lexent {
	char		*key;		/* tokens separated by single spaces,
					   then KEY_PAD NUL bytes */
	uint64_t	 head;		/* its first 8 bytes (ctok_load_le64),
					   compared without a read of key */
	uint32_t	 hash;
	uint16_t	 len;
	uint8_t		 nwords;
	uint8_t		 flags;
	float		 cue, sent, intens;
};

/* Open addressing, linear probing; slot holds index + 1, 0 if empty. */
struct lextab {
	struct lexent	*e;
	size_t		 n, ecap;
	uint32_t	*slot;
	size_t		 nslot;		/* a power of 2 */
	uint64_t	 bloom[256];	/* bloom_bit of every key's hash */
};

/* Most words looked up are in no list: one bit of 16384 tells. */
#define bloom_bit(h)	(((h) * 2654435761u) >> 18)

/* The rule weights of [settings]. */
struct lexset {
	double	 bias;
	double	 question;	/* the message asks a question */
	double	 exclaim;	/* per '!', at most three */
	double	 shout;		/* "!!", "??", "?!" */
	double	 caps;		/* words written in capitals */
	double	 caps_word;	/* factor on a cue written in capitals */
	double	 elongated;	/* factor on a cue with letters repeated */
	double	 negated_positive;	/* "not happy": -w * this */
	double	 negated_negative;	/* "not bad": -w * this */
	double	 negation_scope;	/* words after a negator */
	double	 length_norm;	/* longer texts: sum * sqrt(this / words) */
};

/*
 * Where a pattern (prefix, infix) can start: a bloom filter of the
 * gram_bit of the first g bytes of every pattern, g the length of the
 * shortest (at most 4, at least LEX_MIN_PREFIX), a byte for each bit so
 * that asking costs one read; for the infixes also the patterns of each
 * bit. Made by lex_index once all are in.
 */
struct patindex {
	size_t		 g;		/* 0: no patterns */
	uint32_t	 gmask;		/* the first g of 4 bytes (gram_bit) */
	uint8_t		*may;		/* GRAM_BITS: 1 if a pattern has the
					   bit, else 0 */
	uint32_t	*start;		/* GRAM_BITS + 1: the patterns of a
					   bit are list[start[bit]..] */
	uint32_t	*list;		/* pattern indices, by bit, then in
					   the order of the table */
};

struct lexicon {
	const char	*name;		/* "en.txt" */
	struct lextab	 words;		/* words and phrases */
	struct lextab	 prefixes;	/* "refund*" as "refund" */
	uint64_t	 prefix_lens;	/* bit n: some prefix has n bytes */
	struct patindex	 prefix_ix;
	struct lextab	 infixes;	/* "*verspät*" as "verspät" */
	struct patindex	 infix_ix;
	struct lexset	 set;
};

struct match {
	uint32_t	 off, len;	/* in the token buffer */
	double		 w;
};

struct classify {
	struct lexicon	 lex[CLASSIFY_NLANGS];
	enum classify_lang lang;
	double		 threshold;
	struct classify_model *model;
	struct ctok_buf	 tok;		/* scratch of classify_text */
	const struct lexent **te[CLASSIFY_NLANGS];	/* scratch: each
					   token's entry in words, or
					   &no_entry */
	size_t		 tdone[CLASSIFY_NLANGS];	/* tokens with te */
	size_t		 tcap;
	struct ctok_buf	 ptok;		/* scratch of the data parser */
	struct match	*m;		/* scratch: matches of one message */
	size_t		 mcap, nm;
	unsigned char	*hit;		/* scratch: token already matched */
	size_t		 hitcap;
	unsigned char	*fired;		/* scratch: infix already counted */
	size_t		 firedcap;
	char		*cuebuf;	/* the cues of the last result */
	size_t		 cuecap;
};

static const struct lexset lexset_defaults = {
	.bias = -1.0, .question = -1.0, .exclaim = 0.2, .shout = 0.5,
	.caps = 0.4, .caps_word = 1.3, .elongated = 1.2,
	.negated_positive = 0.9, .negated_negative = 0.5,
	.negation_scope = 3, .length_norm = 30,
};

/* ---- hash table --------------------------------------------------------- */

/* The words table is keyed by the tokens' hashes (ctok_hash, joined for
 * a phrase); the prefixes by FNV-1a 32, that match_prefix extends one
 * byte at a time. */
#define PREFIX_HASH_INIT	2166136261u
#define PREFIX_HASH_PRIME	16777619u

static inline uint32_t
prefix_hash_more(uint32_t h, unsigned char c)
{
	return (h ^ c) * PREFIX_HASH_PRIME;
}

static uint32_t
prefix_hash(const char *s, size_t n)
{
	uint32_t h = PREFIX_HASH_INIT;
	size_t i;

	for (i = 0; i < n; i++)
		h = prefix_hash_more(h, (unsigned char)s[i]);
	return h;
}

/* The hash of the phrase of tokens from to to - 1. */
static uint32_t
phrase_hash(const struct ctok_buf *b, size_t from, size_t to)
{
	uint32_t h = b->t[from].hash;

	while (++from < to)
		h = ctok_hash_join(h, b->t[from].hash);
	return h;
}

static void
lextab_clear(struct lextab *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		free(t->e[i].key);
	free(t->e);
	free(t->slot);
	memset(t, 0, sizeof *t);
}

static inline int
bloom_has(const uint64_t *bloom, unsigned bit)
{
	return (bloom[bit / 64] >> (bit % 64)) & 1;
}

static inline void
bloom_add(uint64_t *bloom, unsigned bit)
{
	bloom[bit / 64] |= UINT64_C(1) << (bit % 64);
}

/*
 * Are the n bytes at a and at b the same? Each must be followed by 8
 * bytes that can be read: the CTOK_PAD bytes after the tokens, the
 * KEY_PAD bytes after a key.
 */
static inline int
same_bytes(const char *a, const char *b, size_t n)
{
	uint64_t x;

	for (; n >= 8; a += 8, b += 8, n -= 8)
		if (ctok_load_le64(a) != ctok_load_le64(b))
			return 0;
	x = ctok_load_le64(a) ^ ctok_load_le64(b);
	return (x & ((UINT64_C(1) << (8 * n)) - 1)) == 0;
}

/* Is key (len bytes, as e->len) e's? Most keys are 8 bytes or fewer,
 * all in e->head. */
static inline int
same_key(const struct lexent *e, const char *key, size_t len)
{
	uint64_t x = ctok_load_le64(key) ^ e->head;

	if (len < 8)
		return (x & ((UINT64_C(1) << (8 * len)) - 1)) == 0;
	return x == 0 && same_bytes(e->key + 8, key + 8, len - 8);
}

/* key: followed by 8 bytes that can be read (same_bytes). */
static inline struct lexent *
lextab_probe(const struct lextab *t, const char *key, size_t len, uint32_t h)
{
	size_t mask, i;
	uint32_t s;
	struct lexent *e;

	mask = t->nslot - 1;
	for (i = h & mask; (s = t->slot[i]) != 0; i = (i + 1) & mask) {
		e = &t->e[s - 1];
		if (e->hash == h && e->len == len && same_key(e, key, len))
			return e;
	}
	return NULL;
}

/* The entry of key (len bytes, hash h) or NULL. */
static inline struct lexent *
lextab_find(const struct lextab *t, const char *key, size_t len, uint32_t h)
{
	if (!bloom_has(t->bloom, bloom_bit(h)))
		return NULL;
	return lextab_probe(t, key, len, h);
}

static void
lextab_place(struct lextab *t, size_t idx)
{
	size_t mask = t->nslot - 1, i;

	for (i = t->e[idx].hash & mask; t->slot[i] != 0; i = (i + 1) & mask)
		;
	t->slot[i] = (uint32_t)(idx + 1);
}

static void
lextab_grow(struct lextab *t)
{
	size_t i;

	free(t->slot);
	t->nslot = t->nslot == 0 ? 64 : t->nslot * 2;
	t->slot = xcalloc(t->nslot, sizeof *t->slot);
	for (i = 0; i < t->n; i++)
		lextab_place(t, i);
}

/* The entry of key (hash h), added (all zero) if new. */
static struct lexent *
lextab_get(struct lextab *t, const char *key, size_t len, uint32_t h)
{
	struct lexent *e;

	if ((e = lextab_find(t, key, len, h)) != NULL)
		return e;
	if (t->n == t->ecap) {
		t->ecap = t->ecap == 0 ? 64 : t->ecap * 2;
		t->e = xreallocarray(t->e, t->ecap, sizeof *t->e);
	}
	e = &t->e[t->n];
	memset(e, 0, sizeof *e);
	/* NUL-terminated, and room for same_bytes */
	e->key = xcalloc(1, len + KEY_PAD);
	memcpy(e->key, key, len);
	e->head = ctok_load_le64(e->key);
	e->len = (uint16_t)len;
	e->hash = h;
	bloom_add(t->bloom, bloom_bit(h));
	t->n++;
	if (t->n * 2 > t->nslot)
		lextab_grow(t);
	else
		lextab_place(t, t->n - 1);
	return e;
}

/* Which of GRAM_BITS bits 4 bytes pick, the first in the low byte. */
static inline unsigned
gram_hash(uint32_t h)
{
	return (h * 2654435761u) >> 20;
}

/* Which bit the first g (3 or 4) bytes of s pick, gmask the first g of 4
 * bytes. It reads 8 bytes: a key has KEY_PAD bytes after it, the tokens
 * CTOK_PAD. */
static inline unsigned
gram_bit(const char *s, uint32_t gmask)
{
	return gram_hash((uint32_t)ctok_load_le64(s) & gmask);
}

/* ---- the data files ------------------------------------------------------ */

enum lexsect {
	SECT_NONE,
	SECT_SETTINGS,
	SECT_CUES,
	SECT_SENTIMENT,
	SECT_NEGATORS,
	SECT_INTENSIFIERS,
	SECT_QUESTIONS,
	SECT_LANGUAGE,
	SECT_CONTRAST,
};

static const char *const lexsect_names[] = {
	[SECT_SETTINGS] = "settings", [SECT_CUES] = "cues",
	[SECT_SENTIMENT] = "sentiment", [SECT_NEGATORS] = "negators",
	[SECT_INTENSIFIERS] = "intensifiers", [SECT_QUESTIONS] = "questions",
	[SECT_LANGUAGE] = "language", [SECT_CONTRAST] = "contrast",
};
#define NSECTS (sizeof lexsect_names / sizeof lexsect_names[0])

/* Where a phrase comes from, for error messages. */
struct lexsrc {
	const char	*name;		/* "en.txt", "complaint_cues" */
	int		 line;		/* 0: none */
};

static int lex_error(char **, const struct lexsrc *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
lex_error(char **errstr, const struct lexsrc *src, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) == -1)
		why = NULL;
	va_end(ap);
	if (why == NULL)
		xasprintf(errstr, "out of memory");
	else if (src->line > 0)
		xasprintf(errstr, "%s:%d: %s", src->name, src->line, why);
	else
		xasprintf(errstr, "%s: %s", src->name, why);
	free(why);
	return -1;
}

/* A number in [lo, hi]; the whole of s. */
static int
parse_weight(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || errno != 0 || !isfinite(v) ||
	    v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

enum pattern {
	PAT_EXACT,
	PAT_PREFIX,	/* word* */
	PAT_INFIX,	/* *word* */
};

/* The table and key of a phrase as written (with its '*'s): tokenized the
 * way messages are. *ent is NULL with *errstr on a bad phrase. */
static int
lex_entry(struct classify *c, struct lexicon *lx, const char *phrase,
    const struct lexsrc *src, struct lexent **ent, char **errstr)
{
	enum pattern pat = PAT_EXACT;
	struct ctok_buf *b = &c->ptok;
	struct lextab *tab = &lx->words;
	size_t n = strlen(phrase);

	*ent = NULL;
	if (n > 0 && phrase[n - 1] == '*') {
		n--;
		pat = PAT_PREFIX;
		if (n > 0 && phrase[0] == '*') {
			phrase++;
			n--;
			pat = PAT_INFIX;
		}
	}
	ctok_run(b, phrase, n);
	if (b->n == 0)
		return lex_error(errstr, src, "empty phrase");
	if (b->n > LEX_MAX_WORDS)
		return lex_error(errstr, src, "\"%s\": more than %d words",
		    b->low, LEX_MAX_WORDS);
	if (pat != PAT_EXACT && (b->n != 1 || b->t[0].type != CTOK_WORD))
		return lex_error(errstr, src, "\"%s\": a pattern with '*' "
		    "must be a single word", b->low);
	if (pat != PAT_EXACT && b->t[0].len < LEX_MIN_PREFIX)
		return lex_error(errstr, src, "\"%s*\": at least %d letters "
		    "before '*'", b->low, LEX_MIN_PREFIX);
	if (pat == PAT_PREFIX) {
		tab = &lx->prefixes;
		if (b->lowlen < 64)
			lx->prefix_lens |= UINT64_C(1) << b->lowlen;
	} else if (pat == PAT_INFIX)
		tab = &lx->infixes;
	*ent = lextab_get(tab, b->low, b->lowlen, tab == &lx->words ?
	    phrase_hash(b, 0, b->n) : prefix_hash(b->low, b->lowlen));
	(*ent)->nwords = (uint8_t)b->n;
	if (b->n > 1) {
		/* Mark the first word so that the phrase is looked for. */
		lextab_get(&lx->words, b->low, b->t[0].len,
		    b->t[0].hash)->flags |= LEX_STARTS;
		*ent = lextab_find(&lx->words, b->low, b->lowlen,
		    phrase_hash(b, 0, b->n));
	}
	return 0;
}

static int
lex_setting(struct lexicon *lx, char *line, const struct lexsrc *src,
    char **errstr)
{
	static const struct {
		const char	*name;
		size_t		 off;
		double		 lo, hi;
	} keys[] = {
#define S(f, lo, hi) { #f, offsetof(struct lexset, f), lo, hi }
		S(bias, -10, 10), S(question, -10, 10), S(exclaim, -10, 10),
		S(shout, -10, 10), S(caps, -10, 10), S(caps_word, 0, 10),
		S(elongated, 0, 10), S(negated_positive, 0, 10),
		S(negated_negative, 0, 10), S(negation_scope, 0, 10),
		S(length_norm, 1, 10000),
#undef S
	};
	char *eq, *name, *value, *end;
	size_t i;
	double v;

	if ((eq = strchr(line, '=')) == NULL)
		return lex_error(errstr, src, "expected NAME = VALUE");
	*eq = '\0';
	name = line;
	for (end = eq; end > name && isspace((unsigned char)end[-1]); end--)
		*--end = '\0';
	value = eq + 1;
	while (isspace((unsigned char)*value))
		value++;
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (strcmp(keys[i].name, name) != 0)
			continue;
		if (parse_weight(value, keys[i].lo, keys[i].hi, &v) == -1)
			return lex_error(errstr, src, "%s: \"%s\" is not a "
			    "number from %g to %g", name, value, keys[i].lo,
			    keys[i].hi);
		*(double *)((char *)&lx->set + keys[i].off) = v;
		return 0;
	}
	return lex_error(errstr, src, "unknown setting \"%s\"", name);
}

/* "WEIGHT PHRASE": split in place. */
static int
split_weight(char *line, double lo, double hi, double *w, char **phrase,
    const struct lexsrc *src, char **errstr)
{
	char *sp = line;

	while (*sp != '\0' && !isspace((unsigned char)*sp))
		sp++;
	if (*sp == '\0')
		return lex_error(errstr, src, "expected a number and a phrase");
	*sp++ = '\0';
	if (parse_weight(line, lo, hi, w) == -1)
		return lex_error(errstr, src, "\"%s\" is not a number from "
		    "%g to %g", line, lo, hi);
	while (isspace((unsigned char)*sp))
		sp++;
	*phrase = sp;
	return 0;
}

/* One stripped, non-empty line of section sect. */
static int
lex_line(struct classify *c, struct lexicon *lx, enum lexsect sect,
    char *line, const struct lexsrc *src, char **errstr)
{
	struct lexent *e;
	char *phrase = line;
	double w = 0;

	switch (sect) {
	case SECT_NONE:
		return lex_error(errstr, src, "text before the first [section]");
	case SECT_SETTINGS:
		return lex_setting(lx, line, src, errstr);
	case SECT_CUES:
	case SECT_SENTIMENT:
		if (split_weight(line, -LEX_WEIGHT_MAX, LEX_WEIGHT_MAX, &w,
		    &phrase, src, errstr) == -1)
			return -1;
		break;
	case SECT_INTENSIFIERS:
		if (split_weight(line, 0, LEX_WEIGHT_MAX, &w, &phrase, src,
		    errstr) == -1)
			return -1;
		break;
	default:
		break;
	}
	if (lex_entry(c, lx, phrase, src, &e, errstr) == -1)
		return -1;
	switch (sect) {
	case SECT_CUES:
		if (e->flags & (LEX_CUE | LEX_SENT))
			return lex_error(errstr, src, "\"%s\" is listed twice",
			    e->key);
		e->flags |= LEX_CUE;
		e->cue = (float)w;
		break;
	case SECT_SENTIMENT:
		if (e->flags & (LEX_CUE | LEX_SENT))
			return lex_error(errstr, src, "\"%s\" is listed twice",
			    e->key);
		e->flags |= LEX_SENT;
		e->sent = (float)w;
		break;
	case SECT_INTENSIFIERS:
		e->flags |= LEX_INTENS;
		e->intens = (float)w;
		break;
	case SECT_NEGATORS:
		e->flags |= LEX_NEGATOR;
		break;
	case SECT_QUESTIONS:
		e->flags |= LEX_QUESTION;
		break;
	case SECT_LANGUAGE:
		e->flags |= LEX_FUNC;
		break;
	case SECT_CONTRAST:
		e->flags |= LEX_CONTRAST;
		break;
	default:
		break;
	}
	return 0;
}

static int
lex_section(char *line, enum lexsect *sect, const struct lexsrc *src,
    char **errstr)
{
	char *end = strchr(line, ']');
	size_t i;

	if (end == NULL || end[1] != '\0')
		return lex_error(errstr, src, "invalid section header");
	*end = '\0';
	for (i = 1; i < NSECTS; i++) {
		if (strcmp(lexsect_names[i], line + 1) == 0) {
			*sect = (enum lexsect)i;
			return 0;
		}
	}
	return lex_error(errstr, src, "unknown section [%s]", line + 1);
}

/* A line without its comment ('#' at the start or after a space) and the
 * spaces around it. */
static char *
strip_line(char *s)
{
	char *p, *end;

	for (p = s; *p != '\0'; p++) {
		if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			break;
		}
	}
	while (isspace((unsigned char)*s))
		s++;
	for (end = s + strlen(s); end > s && isspace((unsigned char)end[-1]);)
		*--end = '\0';
	return s;
}

static int
lex_load(struct classify *c, struct lexicon *lx, const char *name,
    const char *data, char **errstr)
{
	struct lexsrc src = { name, 0 };
	enum lexsect sect = SECT_NONE;
	const char *p = data, *nl;
	char *line, *s;
	int rc = 0;

	lx->name = name;
	lx->set = lexset_defaults;
	while (*p != '\0' && rc == 0) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		src.line++;
		line = xstrndup(p, (size_t)(nl - p));
		s = strip_line(line);
		if (*s == '[')
			rc = lex_section(s, &sect, &src, errstr);
		else if (*s != '\0')
			rc = lex_line(c, lx, sect, s, &src, errstr);
		free(line);
		p = *nl == '\n' ? nl + 1 : nl;
	}
	return rc;
}

/* The index of the patterns of t (patindex), with their lists if
 * lists. */
static void
patindex_make(struct patindex *ix, const struct lextab *t, int lists)
{
	uint32_t *fill;
	unsigned bit;
	size_t i;

	ix->g = 0;
	for (i = 0; i < t->n; i++)
		if (ix->g == 0 || t->e[i].len < ix->g)
			ix->g = t->e[i].len;
	if (ix->g > 4)
		ix->g = 4;
	ix->gmask = ix->g == 4 ? 0xffffffff : 0xffffff;
	free(ix->may);
	ix->may = xcalloc(GRAM_BITS, 1);
	for (i = 0; i < t->n; i++)
		ix->may[gram_bit(t->e[i].key, ix->gmask)] = 1;
	if (!lists)
		return;
	free(ix->start);
	free(ix->list);
	ix->start = xcalloc(GRAM_BITS + 1, sizeof *ix->start);
	ix->list = xreallocarray(NULL, t->n + 1, sizeof *ix->list);
	for (i = 0; i < t->n; i++)
		ix->start[gram_bit(t->e[i].key, ix->gmask) + 1]++;
	for (bit = 0; bit < GRAM_BITS; bit++)
		ix->start[bit + 1] += ix->start[bit];
	fill = xreallocarray(NULL, GRAM_BITS, sizeof *fill);
	memcpy(fill, ix->start, GRAM_BITS * sizeof *fill);
	for (i = 0; i < t->n; i++)
		ix->list[fill[gram_bit(t->e[i].key, ix->gmask)]++] =
		    (uint32_t)i;
	free(fill);
}

static void
patindex_clear(struct patindex *ix)
{
	free(ix->may);
	free(ix->start);
	free(ix->list);
	memset(ix, 0, sizeof *ix);
}

/* Once all phrases and patterns are in. */
static void
lex_index(struct lexicon *lx)
{
	patindex_make(&lx->prefix_ix, &lx->prefixes, 0);
	patindex_make(&lx->infix_ix, &lx->infixes, 1);
}

/* ---- extra cues (complaint_cues) --------------------------------------- */

/* The next item of spec at *pp: phrase and weight, in buf. 0 at the end,
 * 1 with an item, -1 on error. */
static int
cues_next(const char **pp, char **phrase, double *w, struct lexsrc *src,
    char **errstr)
{
	const char *p = *pp, *start, *end;
	char *item, *eq, *q;

	while (isspace((unsigned char)*p) || *p == ',')
		p++;
	if (*p == '\0')
		return 0;
	start = p;
	for (q = NULL; *p != '\0' && *p != ','; p++) {
		if ((*p == '"' || *p == '\'') && (q = strchr(p + 1, *p)) != NULL)
			p = q;
	}
	end = p;
	*pp = p;
	item = xstrndup(start, (size_t)(end - start));
	*w = CUES_DEFAULT_WEIGHT;
	if ((eq = strrchr(item, '=')) != NULL) {
		*eq = '\0';
		if (parse_weight(strip_line(eq + 1), -LEX_WEIGHT_MAX,
		    LEX_WEIGHT_MAX, w) == -1) {
			lex_error(errstr, src, "\"%s\": the weight must be a "
			    "number from -10 to 10", strip_line(item));
			free(item);
			return -1;
		}
	}
	q = strip_line(item);
	end = q + strlen(q);
	if (end - q >= 2 && (*q == '"' || *q == '\'') && end[-1] == *q) {
		q++;
		*(char *)--end = '\0';
	}
	*phrase = xstrdup(q);
	free(item);
	return 1;
}

static int
cues_add(struct classify *c, const char *spec, char **errstr)
{
	struct lexsrc src = { "complaint_cues", 0 };
	struct lexent *e;
	char *phrase;
	double w;
	size_t i;
	int rc;

	while ((rc = cues_next(&spec, &phrase, &w, &src, errstr)) == 1) {
		for (i = 0; i < CLASSIFY_NLANGS; i++) {
			if (lex_entry(c, &c->lex[i], phrase, &src, &e,
			    errstr) == -1) {
				free(phrase);
				return -1;
			}
			/* It replaces what the built-in lists say. */
			e->flags = (uint8_t)((e->flags & ~LEX_SENT) | LEX_CUE);
			e->cue = (float)w;
			e->sent = 0;
		}
		free(phrase);
	}
	return rc;
}

int
classify_cues_check(const char *spec, char **errstr)
{
	struct classify_options o;
	struct classify *c;

	classify_options_init(&o);
	o.cues = spec;
	if ((c = classify_new(&o, errstr)) == NULL)
		return -1;
	classify_free(c);
	return 0;
}

/* ---- building ----------------------------------------------------------- */

void
classify_options_init(struct classify_options *o)
{
	memset(o, 0, sizeof *o);
	o->lang = CLASSIFY_AUTO;
	o->threshold = CLASSIFY_DEFAULT_THRESHOLD;
}

void
classify_options_from_policy(struct classify_options *o,
    const struct conf_policy *p)
{
	classify_options_init(o);
	o->lang = (enum classify_lang)p->language;
	o->threshold = p->complaint_threshold;
	o->cues = p->complaint_cues;
	o->model_path = p->complaint_model;
}

const char *
classify_lang_name(enum classify_lang l)
{
	switch (l) {
	case CLASSIFY_EN:
		return "en";
	case CLASSIFY_DE:
		return "de";
	default:
		return "auto";
	}
}

int
classify_lang_parse(const char *s, enum classify_lang *out)
{
	if (strcmp(s, "auto") == 0)
		*out = CLASSIFY_AUTO;
	else if (strcmp(s, "en") == 0)
		*out = CLASSIFY_EN;
	else if (strcmp(s, "de") == 0)
		*out = CLASSIFY_DE;
	else
		return -1;
	return 0;
}

void
classify_free(struct classify *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CLASSIFY_NLANGS; i++) {
		lextab_clear(&c->lex[i].words);
		lextab_clear(&c->lex[i].prefixes);
		lextab_clear(&c->lex[i].infixes);
		patindex_clear(&c->lex[i].prefix_ix);
		patindex_clear(&c->lex[i].infix_ix);
		free(c->te[i]);
	}
	classify_model_free(c->model);
	ctok_clear(&c->tok);
	ctok_clear(&c->ptok);
	free(c->m);
	free(c->hit);
	free(c->fired);
	free(c->cuebuf);
	free(c);
}

struct classify *
classify_new(const struct classify_options *o, char **errstr)
{
	struct classify *c;

	*errstr = NULL;
	if (o->lang != CLASSIFY_AUTO && o->lang != CLASSIFY_EN &&
	    o->lang != CLASSIFY_DE) {
		xasprintf(errstr, "unknown language");
		return NULL;
	}
	if (!(o->threshold >= 0 && o->threshold <= 1)) {
		xasprintf(errstr, "the threshold must be from 0 to 1");
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	ctok_init(&c->tok);
	ctok_init(&c->ptok);
	c->lang = o->lang;
	c->threshold = o->threshold;
	if (lex_load(c, &c->lex[0], "en.txt", classify_data_en, errstr) == -1 ||
	    lex_load(c, &c->lex[1], "de.txt", classify_data_de, errstr) == -1 ||
	    (o->cues != NULL && cues_add(c, o->cues, errstr) == -1)) {
		classify_free(c);
		return NULL;
	}
	ctok_clear(&c->ptok);
	lex_index(&c->lex[0]);
	lex_index(&c->lex[1]);
	if (o->model_path != NULL &&
	    (c->model = classify_model_load(o->model_path, errstr)) == NULL) {
		classify_free(c);
		return NULL;
	}
	return c;
}

/* ---- scoring ------------------------------------------------------------- */

/* Make room for the per-token scratch of b and forget the entries of the
 * message before. */
static void
prepare_tokens(struct classify *c, const struct ctok_buf *b)
{
	size_t l;

	if (c->tcap < b->n) {
		c->tcap = b->n;
		for (l = 0; l < CLASSIFY_NLANGS; l++) {
			free(c->te[l]);
			c->te[l] = xreallocarray(NULL, c->tcap,
			    sizeof *c->te[l]);
		}
	}
	for (l = 0; l < CLASSIFY_NLANGS; l++)
		c->tdone[l] = 0;
}

/* A token's entry when it is in no list: its flags can be asked for with
 * no test for NULL. */
static const struct lexent no_entry;

/* The entries of language l of the tokens up to n not looked up yet. */
static const struct lexent **
lookup_tokens(struct classify *c, size_t l, const struct ctok_buf *b,
    size_t n)
{
	const struct lextab *words = &c->lex[l].words;
	const struct lexent *e;
	const struct ctok *t;
	size_t i;

	for (i = c->tdone[l]; i < n; i++) {
		t = &b->t[i];
		e = lextab_find(words, b->low + t->off, t->len, t->hash);
		c->te[l][i] = e != NULL ? e : &no_entry;
	}
	if (c->tdone[l] < n)
		c->tdone[l] = n;
	return c->te[l];
}

/* The entries it looks up stay for the scoring. */
static enum classify_lang
detect(struct classify *c, const struct ctok_buf *b)
{
	const struct lexent **te_en, **te_de;
	unsigned en = 0, de = 0, words = 0, word;
	size_t i, n;

	for (n = 0; n < b->n && words < DETECT_TOKENS; n++)
		if (b->t[n].type == CTOK_WORD)
			words++;
	te_en = lookup_tokens(c, 0, b, n);
	te_de = lookup_tokens(c, 1, b, n);
	/* no branch on each word */
	for (i = 0; i < n; i++) {
		word = b->t[i].type == CTOK_WORD;
		en += 2 * (word & ((te_en[i]->flags & LEX_FUNC) != 0));
		de += 2 * (word & ((te_de[i]->flags & LEX_FUNC) != 0));
	}
	de += b->umlauts < 3 ? b->umlauts : 3;
	return de > en ? CLASSIFY_DE : CLASSIFY_EN;
}

/* The end of token j in the buffer. */
static uint32_t
tok_end(const struct ctok_buf *b, size_t j)
{
	return b->t[j].off + b->t[j].len;
}

/* "baad" (from "baaaad") as "bad", "soo" as "so": doubled letters once. */
static const struct lexent *
match_single(const struct lexicon *lx, const char *s, size_t len)
{
	char buf[CTOK_MAX_WORD + KEY_PAD];
	const struct lexent *e;
	size_t i, n = 0;

	for (i = 0; i < len && n < CTOK_MAX_WORD; i++)
		if (n == 0 || s[i] != buf[n - 1] || (unsigned char)s[i] >= 0x80)
			buf[n++] = s[i];
	memset(buf + n, 0, KEY_PAD);
	e = lextab_find(&lx->words, buf, n, ctok_hash(buf, n));
	if (e != NULL && (e->flags & (LEX_CUE | LEX_SENT | LEX_INTENS)))
		return e;
	return NULL;
}

/* The longest phrase of two words or more starting at token i, or NULL. */
static const struct lexent *
match_phrase(const struct lexicon *lx, const struct ctok_buf *b, size_t i,
    size_t *nw)
{
	const char *s = b->low + b->t[i].off;
	const struct lexent *f;
	uint32_t h[LEX_MAX_WORDS + 1];
	size_t k, kmax;

	/* Each phrase's hash goes on from the one a word shorter. */
	kmax = b->n - i < LEX_MAX_WORDS ? b->n - i : LEX_MAX_WORDS;
	h[1] = b->t[i].hash;
	for (k = 2; k <= kmax; k++)
		h[k] = ctok_hash_join(h[k - 1], b->t[i + k - 1].hash);
	for (k = kmax; k >= 2; k--) {
		f = lextab_find(&lx->words, s, tok_end(b, i + k - 1) -
		    b->t[i].off, h[k]);
		if (f != NULL && (f->flags & ~(LEX_STARTS | LEX_FUNC |
		    LEX_QUESTION))) {
			*nw = k;
			return f;
		}
	}
	return NULL;
}

/* The longest listed prefix of a word (s, len bytes), or NULL. The first
 * bytes tell most words apart from all prefixes (patindex). */
static const struct lexent *
match_prefix(const struct lexicon *lx, const char *s, size_t len)
{
	const struct lexent *e, *f = NULL;
	uint32_t h = PREFIX_HASH_INIT;
	size_t j;

	/* one branch, most often taken, not one on how long the word is */
	if (lx->prefix_ix.g == 0 ||
	    !(lx->prefix_ix.may[gram_bit(s, lx->prefix_ix.gmask)] &
	    (len >= lx->prefix_ix.g)))
		return NULL;
	for (j = 0; j < len && j < 63; j++) {
		if ((lx->prefix_lens >> (j + 1)) == 0)
			break;
		h = prefix_hash_more(h, (unsigned char)s[j]);
		if ((lx->prefix_lens & (UINT64_C(2) << j)) &&
		    (e = lextab_find(&lx->prefixes, s, j + 1, h)) != NULL)
			f = e;
	}
	return f;
}

/* The longest phrase or word starting at token i: its entry and length in
 * tokens, or NULL. te: the tokens' entries in words. */
static const struct lexent *
match_at(const struct lexicon *lx, const struct ctok_buf *b,
    const struct lexent *const *te, size_t i, size_t *nw)
{
	const struct ctok *t = &b->t[i];
	const char *s = b->low + t->off;
	const struct lexent *e = te[i], *f;

	if ((e->flags & LEX_STARTS) && (f = match_phrase(lx, b, i, nw)) != NULL)
		return f;
	*nw = 1;
	if (e->flags & (LEX_CUE | LEX_SENT | LEX_NEGATOR | LEX_INTENS |
	    LEX_CONTRAST))
		return e;
	if ((t->flags & CTOK_ELONG) && (e = match_single(lx, s, t->len)) != NULL)
		return e;
	if (t->type != CTOK_WORD || lx->prefix_lens == 0)
		return NULL;
	return match_prefix(lx, s, t->len);
}

static void
add_match(struct classify *c, uint32_t off, uint32_t end, double w)
{
	struct match *m;

	if (c->nm == c->mcap) {
		c->mcap = c->mcap == 0 ? 32 : c->mcap * 2;
		c->m = xreallocarray(c->m, c->mcap, sizeof *c->m);
	}
	m = &c->m[c->nm++];
	m->off = off;
	m->len = end - off;
	m->w = w;
}

/* Is token i followed by a negator that ends its clause ("gefällt mir
 * nicht.")? */
static int
negated_after(const struct lexent *const *te, const struct ctok_buf *b,
    size_t i)
{
	const struct lexent *e;
	size_t j;

	for (j = i + 1; j < b->n && j <= i + 2; j++) {
		if (b->t[j].type != CTOK_WORD)
			return 0;
		e = te[j];
		if (e->flags & LEX_NEGATOR)
			return j + 1 == b->n || b->t[j + 1].type != CTOK_WORD;
	}
	return 0;
}

struct scan {
	const struct lexent *const *te;	/* each token's entry in words */
	size_t		 neg_left;	/* words still in the negation scope */
	uint32_t	 neg_off;	/* where the negator is */
	double		 intens;	/* factor on the next weight */
	size_t		 intens_left;
	double		 pos, neg;	/* sums of contributions */
};

static void
weigh(struct classify *c, const struct lexicon *lx, const struct ctok_buf *b,
    const struct lexent *e, size_t i, size_t nw, struct scan *sc)
{
	const struct lexset *set = &lx->set;
	const struct ctok *t = &b->t[i];
	uint32_t off = t->off, end = tok_end(b, i + nw - 1);
	double w = e->cue, s = e->sent;

	if (s != 0 && (sc->neg_left > 0 || negated_after(sc->te, b, i + nw - 1))) {
		s = -s * (s < 0 ? set->negated_positive : set->negated_negative);
		if (sc->neg_left > 0)
			off = sc->neg_off;
	}
	w += s;
	if (sc->intens_left > 0) {
		w *= sc->intens;
		sc->intens_left = 0;
	}
	if (t->flags & CTOK_CAPS)
		w *= set->caps_word;
	if (t->flags & CTOK_ELONG)
		w *= set->elongated;
	if (w > 0)
		sc->pos += w;
	else
		sc->neg += w;
	add_match(c, off, end, w);
}

static void
scan_tokens(struct classify *c, const struct lexicon *lx,
    const struct ctok_buf *b, struct scan *sc)
{
	const struct lexent *e;
	const struct ctok *t;
	size_t i, nw;

	for (i = 0; i < b->n; i += nw) {
		t = &b->t[i];
		e = match_at(lx, b, sc->te, i, &nw);
		if (t->type == CTOK_PUNCT || (e != NULL &&
		    (e->flags & LEX_CONTRAST)))
			sc->neg_left = 0;
		if (e == NULL) {
			if (sc->neg_left > 0)
				sc->neg_left--;
			if (sc->intens_left > 0)
				sc->intens_left--;
			continue;
		}
		memset(c->hit + i, 1, nw);
		if (e->flags & (LEX_CUE | LEX_SENT))
			weigh(c, lx, b, e, i, nw, sc);
		else if (sc->neg_left > 0)
			sc->neg_left--;
		if (e->flags & LEX_NEGATOR) {
			sc->neg_left = (size_t)lx->set.negation_scope;
			sc->neg_off = t->off;
		}
		if (e->flags & LEX_INTENS) {
			sc->intens = e->intens;
			sc->intens_left = 2;
		} else if (sc->intens_left > 0)
			sc->intens_left--;
	}
}

/*
 * An infix that may start at low[pos] (the bloom filter says): in which
 * token, from *j on (the positions come in order); then, if that is a
 * word not matched yet, the infixes of the same gram_bit (patindex) not
 * counted yet are compared, and the first found is counted.
 */
static void
infix_from(struct classify *c, const struct lexicon *lx,
    const struct ctok_buf *b, size_t *j, size_t pos, struct scan *sc)
{
	const struct patindex *ix = &lx->infix_ix;
	const struct ctok *t;
	const struct lexent *e;
	unsigned bit;
	size_t i, x;

	while (*j < b->n && b->t[*j].off + b->t[*j].len <= pos)
		(*j)++;
	if (*j == b->n)
		return;
	t = &b->t[*j];
	/* not in a space, nor in a word already matched */
	if (pos < t->off || c->hit[*j] || t->type != CTOK_WORD ||
	    pos + ix->g > t->off + t->len)
		return;
	bit = gram_bit(b->low + pos, ix->gmask);
	for (x = ix->start[bit]; x < ix->start[bit + 1]; x++) {
		i = ix->list[x];
		e = &lx->infixes.e[i];
		if (c->fired[i] || pos + e->len > t->off + t->len ||
		    !same_bytes(b->low + pos, e->key, e->len))
			continue;
		c->fired[i] = c->hit[*j] = 1;
		weigh(c, lx, b, e, *j, 1, sc);
		return;
	}
}

/* Not 0 if some pattern may start with the low 4 bytes of v. */
static inline unsigned
gram_may(const struct patindex *ix, uint64_t v)
{
	return ix->may[gram_hash((uint32_t)v & ix->gmask)];
}

/*
 * "*verspät*": inside any word not matched otherwise, once per entry
 * and at most one per word, the first from the start. The bloom filter
 * of the infixes' first bytes is asked about every position of the
 * tokens' buffer, 4 at a time from one read of 8 bytes, with no branch
 * that depends on how long each word is; the few positions it lets
 * through are looked at further (infix_from).
 */
static void
scan_infixes(struct classify *c, const struct lexicon *lx,
    const struct ctok_buf *b, struct scan *sc)
{
	const struct patindex *ix = &lx->infix_ix;
	const char *low = b->low;
	size_t j = 0, pos, end = b->lowlen;
	unsigned q;
	uint64_t v;

	if (c->firedcap < lx->infixes.n) {
		free(c->fired);
		c->firedcap = lx->infixes.n;
		c->fired = xmalloc(c->firedcap);
	}
	memset(c->fired, 0, lx->infixes.n);
	for (pos = 0; pos + ix->g <= end; pos += 4) {
		/* up to 3 bytes into the CTOK_PAD after the tokens */
		v = ctok_load_le64(low + pos);
		if ((gram_may(ix, v) | gram_may(ix, v >> 8) |
		    gram_may(ix, v >> 16) | gram_may(ix, v >> 24)) == 0)
			continue;
		for (q = 0; q < 4 && pos + q + ix->g <= end; q++)
			if (gram_may(ix, v >> 8 * q))
				infix_from(c, lx, b, &j, pos + q, sc);
	}
}

static int
is_question(const struct lexent *const *te, const struct ctok_buf *b)
{
	if (b->nquestion > 0)
		return 1;
	if (b->n == 0 || b->t[0].type != CTOK_WORD)
		return 0;
	return (te[0]->flags & LEX_QUESTION) != 0;
}

/* The built-in score before the sigmoid in the lexicon of language l (0
 * en, 1 de), the matches in c->m. The tokens b went through
 * prepare_tokens. */
static double
score_builtin(struct classify *c, size_t l, const struct ctok_buf *b,
    double dense[CLASSIFY_NDENSE])
{
	const struct lexicon *lx = &c->lex[l];
	const struct lexset *set = &lx->set;
	struct scan sc = { 0 };
	double s, norm = 1, q;

	sc.te = lookup_tokens(c, l, b, b->n);
	c->nm = 0;
	if (c->hitcap < b->n + 1) {
		free(c->hit);
		c->hitcap = b->n + 1;
		c->hit = xmalloc(c->hitcap);
	}
	memset(c->hit, 0, b->n + 1);
	scan_tokens(c, lx, b, &sc);
	/* the infix scan starts again from the first word: a negation
	 * scope left open at the end of the text must not reach back */
	sc.neg_left = 0;
	if (lx->infixes.n > 0)
		scan_infixes(c, lx, b, &sc);
	if (b->nwords > set->length_norm)
		norm = sqrt(set->length_norm / b->nwords);
	s = set->bias + (sc.pos + sc.neg) * norm;
	s += set->exclaim * (b->nexclaim < 3 ? b->nexclaim : 3);
	if (b->nshout > 0) {
		s += set->shout;
		add_match(c, UINT32_MAX, 0, set->shout);
	}
	if (b->ncaps >= 2 || (b->ncaps == 1 && b->nwords <= 4)) {
		s += set->caps;
		add_match(c, UINT32_MAX - 1, 0, set->caps);
	}
	q = is_question(sc.te, b);
	s += set->question * q;
	dense[CLASSIFY_D_LOGIT] = s;
	dense[CLASSIFY_D_POS] = sc.pos * norm;
	dense[CLASSIFY_D_NEG] = sc.neg * norm;
	dense[CLASSIFY_D_QUESTION] = q;
	return s;
}

const struct ctok_buf *
classify_scan(struct classify *c, const char *text, size_t len,
    enum classify_lang lang, double dense[CLASSIFY_NDENSE])
{
	ctok_run(&c->tok, text, len);
	prepare_tokens(c, &c->tok);
	score_builtin(c, lang == CLASSIFY_DE, &c->tok, dense);
	return &c->tok;
}

static int
match_cmp(const void *a, const void *b)
{
	const struct match *ma = a, *mb = b;

	if (ma->w != mb->w)
		return ma->w > mb->w ? -1 : 1;
	return ma->off < mb->off ? -1 : ma->off > mb->off;
}

/* The cues towards a complaint, strongest first, each once. */
static void
collect_cues(struct classify *c, const struct ctok_buf *b,
    struct classify_result *out)
{
	const struct match *m;
	const char *s;
	size_t i, j, n, used = 0, need = 0;

	out->ncues = 0;
	if (c->nm == 0)
		return;
	qsort(c->m, c->nm, sizeof *c->m, match_cmp);
	for (i = 0; i < c->nm && i < 4 * CLASSIFY_MAX_CUES; i++)
		need += (c->m[i].len > 8 ? c->m[i].len : 8) + 1;
	if (c->cuecap < need) {
		free(c->cuebuf);
		c->cuecap = need;
		c->cuebuf = xmalloc(need);
	}
	out->ncues = 0;
	for (i = 0; i < c->nm && i < 4 * CLASSIFY_MAX_CUES &&
	    out->ncues < CLASSIFY_MAX_CUES; i++) {
		m = &c->m[i];
		if (m->w <= 0)
			break;
		if (m->off == UINT32_MAX)
			s = "!!", n = 2;
		else if (m->off == UINT32_MAX - 1)
			s = "CAPS", n = 4;
		else
			s = b->low + m->off, n = m->len;
		for (j = 0; j < out->ncues; j++)
			if (strlen(out->cues[j]) == n &&
			    memcmp(out->cues[j], s, n) == 0)
				break;
		if (j < out->ncues)
			continue;
		memcpy(c->cuebuf + used, s, n);
		c->cuebuf[used + n] = '\0';
		out->cues[out->ncues++] = c->cuebuf + used;
		used += n + 1;
	}
}

static double
sigmoid(double x)
{
	return 1 / (1 + exp(-x));
}

void
classify_text(struct classify *c, const char *text, size_t len,
    struct classify_result *out)
{
	double dense[CLASSIFY_NDENSE], s;
	const struct ctok_buf *b = &c->tok;

	memset(out, 0, sizeof *out);
	ctok_run(&c->tok, text, len);
	prepare_tokens(c, b);
	out->lang = c->lang != CLASSIFY_AUTO ? c->lang : detect(c, b);
	s = score_builtin(c, out->lang == CLASSIFY_DE, b, dense);
	if (c->model != NULL && classify_model_lang(c->model) == out->lang) {
		s = classify_model_logit(c->model, b, dense);
		out->model = 1;
	}
	/* Rounded, so that the JSON and the decision agree. */
	out->score = round(sigmoid(s) * 1000) / 1000;
	out->complaint = out->score >= c->threshold;
	collect_cues(c, b, out);
}
