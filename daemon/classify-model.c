/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "classify.h"
#include "classify-model.h"
#include "classify-token.h"
#include "xmalloc.h"

/*
 * The trained model of classify-model.h: logistic regression, trained
 * with AdaGrad, over hashed features:
 *   - each token (word, punctuation run, emoji),
 *   - each pair of neighbouring tokens,
 *   - character n-grams of each word with its boundaries ("<word>"),
 * the count of features scaled to unit length, and the built-in
 * classifier's findings (classify_scan) as a few dense inputs.
 */

#define MODEL_MAGIC	"RWCMODEL"
#define MODEL_VERSION	1
#define MODEL_HEADER	36		/* bytes before the dense weights */
#define MODEL_BITS_MIN	10
#define MODEL_BITS_MAX	24
#define MODEL_CHAR_MAX	8
#define MODEL_WEIGHT_MAX 1e4f
#define MODEL_FILE_MAX	(((size_t)4 << MODEL_BITS_MAX) + 4096)

#define DEFAULT_BITS	18
#define DEFAULT_EPOCHS	5
#define DEFAULT_L2	1e-5
#define DEFAULT_CHAR_MIN 1
#define DEFAULT_CHAR_MAX 3
#define LEARNING_RATE	0.3
#define TRAIN_SEED	UINT64_C(0x2545f4914f6cdd1d)

#define SEED_TOKEN	UINT64_C(0x100000001b3)
#define SEED_PAIR	UINT64_C(0x9e3779b97f4a7c15)
#define SEED_CHAR	UINT64_C(0xc2b2ae3d27d4eb4f)
#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME	UINT64_C(0x100000001b3)

/* The weights are read at random: ask for them while hashing goes on. */
#if defined(__GNUC__)
#define PREFETCH(p)	__builtin_prefetch(p)
#else
#define PREFETCH(p)	((void)(p))
#endif

struct classify_model {
	enum classify_lang lang;
	unsigned	 bits, char_min, char_max;
	float		 bias;
	float		 dense[CLASSIFY_NDENSE];
	float		*w;		/* 1 << bits */
	size_t		 exact_n;	/* sums of up to this many of w are
					   exact (model_exact) */
	/* for the default n-grams (model_ready) */
	uint64_t	 h1[256];	/* the hash of the character 1-gram of
					   each byte, gram_first */
	float		 w1[256];	/* its weight */
};

/* ---- features ----------------------------------------------------------- */

/* Indices of a sample's features, for training. */
struct fvec {
	uint32_t	*idx;
	size_t		 n, cap;
};

/* Features of one token at most: itself, the pair, the n-grams. */
#define TOKEN_FEATURES	(2 + (CTOK_MAX_WORD + 2) * MODEL_CHAR_MAX)
#define SINK_CHUNK	(4 * TOKEN_FEATURES)

/* What features() does with each: add its weight, or keep its index. The
 * indices are gathered in chunks, so that hashing does not wait for the
 * sum. */
struct sink {
	const float	*w;
	size_t		 exact_n;
	double		 dot;
	struct fvec	*out;
	size_t		 n;		/* features */
	size_t		 nidx;
	uint32_t	 idx[SINK_CHUNK];
};

/*
 * dot plus the weights of n features, as if added one by one in their
 * order. If no partial sum can round (exact), the order makes no
 * difference: four sums go on side by side, and the additions do not
 * wait for each other.
 */
static double
sum_weights(const float *w, const uint32_t *idx, size_t n, double dot,
    int exact)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	size_t j;

	if (!exact) {
		for (j = 0; j < n; j++)
			dot += w[idx[j]];
		return dot;
	}
	for (j = 0; j + 4 <= n; j += 4) {
		s0 += w[idx[j]];
		s1 += w[idx[j + 1]];
		s2 += w[idx[j + 2]];
		s3 += w[idx[j + 3]];
	}
	for (; j < n; j++)
		s0 += w[idx[j]];
	return dot + ((s0 + s1) + (s2 + s3));
}

static void
sink_flush(struct sink *k)
{
	struct fvec *v = k->out;

	if (k->w != NULL)
		k->dot = sum_weights(k->w, k->idx, k->nidx, k->dot,
		    k->n + k->nidx <= k->exact_n);
	if (v != NULL) {
		while (v->cap - v->n < k->nidx) {
			v->cap = v->cap == 0 ? 256 : v->cap * 2;
			v->idx = xreallocarray(v->idx, v->cap, sizeof *v->idx);
		}
		memcpy(v->idx + v->n, k->idx, k->nidx * sizeof *k->idx);
		v->n += k->nidx;
	}
	k->n += k->nidx;
	k->nidx = 0;
}

/* The weight index of a feature's hash. */
static inline uint32_t
bucket(uint64_t h, unsigned shift)
{
	h ^= h >> 29;
	h *= UINT64_C(0xbf58476d1ce4e5b9);
	return (uint32_t)(h >> shift);
}

static inline uint64_t
fnv(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* Character n-grams of "<" word ">", into out; returns how many. */
static size_t
char_grams(const struct classify_model *m, const char *s, size_t len,
    uint32_t *out)
{
	unsigned shift = 64 - m->bits;
	unsigned char buf[CTOK_MAX_WORD + 2];
	size_t n = len + 2, i, j, first, end, nout = 0;
	uint64_t h;

	buf[0] = '<';
	memcpy(buf + 1, s, len);
	buf[len + 1] = '>';
	if (m->char_min == 1 && m->char_max == 3) {
		/* The default, unrolled: the 1-, 2- and 3-grams from i. */
		for (i = 0; i + 3 <= n; i++) {
			h = (SEED_CHAR ^ buf[i]) * FNV_PRIME;
			out[nout++] = bucket(h, shift);
			h = (h ^ buf[i + 1]) * FNV_PRIME;
			out[nout++] = bucket(h, shift);
			h = (h ^ buf[i + 2]) * FNV_PRIME;
			out[nout++] = bucket(h, shift);
			PREFETCH(&m->w[out[nout - 3]]);
			PREFETCH(&m->w[out[nout - 2]]);
			PREFETCH(&m->w[out[nout - 1]]);
		}
		h = (SEED_CHAR ^ buf[i]) * FNV_PRIME;
		out[nout++] = bucket(h, shift);
		h = (h ^ buf[i + 1]) * FNV_PRIME;
		out[nout++] = bucket(h, shift);
		out[nout++] = bucket((SEED_CHAR ^ buf[i + 1]) * FNV_PRIME,
		    shift);
		return nout;
	}
	for (i = 0; i < n; i++) {
		/* The n-grams of char_min to char_max bytes from i. */
		h = SEED_CHAR;
		first = i + m->char_min - 1;
		end = n - i > m->char_max ? i + m->char_max : n;
		for (j = i; j < first && j < end; j++)
			h = (h ^ buf[j]) * FNV_PRIME;
		for (; j < end; j++) {
			h = (h ^ buf[j]) * FNV_PRIME;
			out[nout] = bucket(h, shift);
			PREFETCH(&m->w[out[nout]]);
			nout++;
		}
	}
	return nout;
}

static void
features(const struct classify_model *m, const struct ctok_buf *b,
    struct sink *k)
{
	const struct ctok *t;
	const char *s;
	unsigned shift = 64 - m->bits;
	uint32_t *p;
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (SINK_CHUNK - k->nidx < TOKEN_FEATURES)
			sink_flush(k);
		p = k->idx + k->nidx;
		t = &b->t[i];
		s = b->low + t->off;
		*p = bucket(fnv(FNV_OFFSET ^ SEED_TOKEN, s, t->len), shift);
		PREFETCH(&m->w[*p++]);
		if (i + 1 < b->n) {
			*p = bucket(fnv(FNV_OFFSET ^ SEED_PAIR, s,
			    b->t[i + 1].off + b->t[i + 1].len - t->off), shift);
			PREFETCH(&m->w[*p++]);
		}
		if (t->type == CTOK_WORD && m->char_max > 0)
			p += char_grams(m, s, t->len, p);
		k->nidx = (size_t)(p - k->idx);
	}
	sink_flush(k);
}

static double
dense_dot(const struct classify_model *m, const double d[CLASSIFY_NDENSE])
{
	double z = 0;
	size_t j;

	for (j = 0; j < CLASSIFY_NDENSE; j++)
		z += m->dense[j] * d[j];
	return z;
}

/* The hash of a character n-gram after its first byte c. */
static inline uint64_t
gram_first(unsigned char c)
{
	return (SEED_CHAR ^ c) * FNV_PRIME;
}

static inline uint64_t
fnv_byte(uint64_t h, unsigned char c)
{
	return (h ^ c) * FNV_PRIME;
}

/*
 * The sums of dot_any_order, apart so that no addition waits for the
 * one before. The weights of the tokens and pairs, whose hashes are
 * known last, are gathered and asked for ahead (PREFETCH), and added
 * once the message is done.
 */
#define GATHER_MAX	512

struct sums {
	const float	*w;
	double		 uni, bi, tri;	/* the character n-grams */
	double		 tok;		/* the tokens and pairs */
	size_t		 n;		/* in idx */
	uint32_t	 idx[GATHER_MAX];
};

static inline void
gather_add(struct sums *g, uint32_t i)
{
	PREFETCH(&g->w[i]);
	g->idx[g->n++] = i;
}

static void
gather_flush(struct sums *g)
{
	double s0 = 0, s1 = 0;
	size_t j;

	for (j = 0; j + 2 <= g->n; j += 2) {
		s0 += g->w[g->idx[j]];
		s1 += g->w[g->idx[j + 1]];
	}
	if (j < g->n)
		s0 += g->w[g->idx[j]];
	g->tok += s0 + s1;
	g->n = 0;
}

/*
 * The character n-grams of a word token s (len bytes) for the default
 * model (1 to 3 characters of "<" s ">"), with the hashes h of
 * dot_any_order going on over the same bytes. Going along the bytes,
 * each one ends a 2-gram and a 3-gram (a1 and a2: the hashes of the 1-
 * and 2-gram that end with the byte before); the 1-grams' weights come
 * from a table.
 */
static void
word_features(const struct classify_model *m, const unsigned char *s,
    size_t len, uint64_t h[3], struct sums *sum)
{
	const float *w = m->w;
	unsigned shift = 64 - m->bits;
	uint64_t ht = h[0], hp = h[1], hq = h[2], a1, a2, g2;
	double uni, bi, tri = 0;
	size_t j;

	/* the 1-gram '<' and the 2-gram "<" s[0] */
	a1 = m->h1[s[0]];
	a2 = fnv_byte(m->h1['<'], s[0]);
	uni = (double)m->w1['<'] + (double)m->w1[s[0]];
	bi = w[bucket(a2, shift)];
	ht = fnv_byte(ht, s[0]);
	hp = fnv_byte(hp, s[0]);
	hq = fnv_byte(hq, s[0]);
	for (j = 1; j < len; j++) {
		g2 = fnv_byte(a1, s[j]);
		uni += m->w1[s[j]];
		bi += w[bucket(g2, shift)];
		tri += w[bucket(fnv_byte(a2, s[j]), shift)];
		a1 = m->h1[s[j]];
		a2 = g2;
		ht = fnv_byte(ht, s[j]);
		hp = fnv_byte(hp, s[j]);
		hq = fnv_byte(hq, s[j]);
	}
	/* the 1-gram '>', the 2-gram s[len - 1] ">" and the 3-gram that
	 * ends with '>' */
	sum->uni += uni + m->w1['>'];
	sum->bi += bi + w[bucket(fnv_byte(a1, '>'), shift)];
	sum->tri += tri + w[bucket(fnv_byte(a2, '>'), shift)];
	h[0] = ht;
	h[1] = hp;
	h[2] = hq;
}

/*
 * The dot product of the weights with a message's features for the
 * default n-grams, added in any order: right only when no partial sum
 * rounds (model_exact), which the caller checks with *nf, the number of
 * features. One pass over the bytes of each token gives its hash, the
 * hash of the pair it starts and the end of the hash of the pair it ends;
 * there is exactly one byte, a space, between two tokens.
 */
static double
dot_any_order(const struct classify_model *m, const struct ctok_buf *b,
    size_t *nf)
{
	unsigned shift = 64 - m->bits;
	struct sums g;
	const struct ctok *t;
	const unsigned char *s;
	uint64_t h[3];			/* token, pair it starts, pair it ends */
	size_t i, j, n = 0;

	g.w = m->w;
	g.uni = g.bi = g.tri = g.tok = 0;
	g.n = 0;
	h[2] = 0;
	for (i = 0; i < b->n; i++) {
		if (g.n + 2 > GATHER_MAX)
			gather_flush(&g);
		t = &b->t[i];
		s = (const unsigned char *)b->low + t->off;
		h[0] = FNV_OFFSET ^ SEED_TOKEN;
		h[1] = FNV_OFFSET ^ SEED_PAIR;
		if (t->type == CTOK_WORD) {
			word_features(m, s, t->len, h, &g);
			n += 3 * (size_t)t->len + 3;
		} else {
			for (j = 0; j < t->len; j++) {
				h[0] = fnv_byte(h[0], s[j]);
				h[1] = fnv_byte(h[1], s[j]);
				h[2] = fnv_byte(h[2], s[j]);
			}
		}
		gather_add(&g, bucket(h[0], shift));
		if (i > 0)
			gather_add(&g, bucket(h[2], shift));
		/* the next pair: this token, the space, the next token */
		h[2] = fnv_byte(h[1], (unsigned char)b->low[t->off + t->len]);
	}
	gather_flush(&g);
	*nf = n + (b->n > 0 ? 2 * b->n - 1 : 0);
	return (g.tok + g.uni) + (g.bi + g.tri);
}

double
classify_model_logit(const struct classify_model *m, const struct ctok_buf *b,
    const double dense[CLASSIFY_NDENSE])
{
	struct sink k;
	size_t n;
	double dot;

	if (m->char_min == 1 && m->char_max == 3) {
		dot = dot_any_order(m, b, &n);
		if (n <= m->exact_n)
			return m->bias + (n > 0 ? dot / sqrt((double)n) : dot) +
			    dense_dot(m, dense);
	}
	/* Each weight in the order of the features. */
	k.w = m->w;
	k.exact_n = m->exact_n;
	k.dot = 0;
	k.out = NULL;
	k.n = 0;
	k.nidx = 0;
	features(m, b, &k);
	if (k.n > 0)
		k.dot /= sqrt((double)k.n);
	return m->bias + k.dot + dense_dot(m, dense);
}

enum classify_lang
classify_model_lang(const struct classify_model *m)
{
	return m->lang;
}

/*
 * How many weights can be added up in any order, all giving the sum that
 * adding them one by one gives: every weight is a multiple of u, the unit
 * in the last place of the smallest one but zero, so while the sum of
 * their sizes stays below 2^53 u, no partial sum rounds. With a margin of
 * 2: n * max <= 2^52 u. 0 if a weight is not finite.
 */
static void
model_exact(struct classify_model *m)
{
	size_t i, nw = (size_t)1 << m->bits;
	uint32_t bits, lo = UINT32_MAX, hi = 0, e;
	double n;
	float max;

	for (i = 0; i < nw; i++) {
		memcpy(&bits, &m->w[i], sizeof bits);
		bits &= 0x7fffffff;		/* the size */
		if (bits == 0)
			continue;
		if (bits >= 0x7f800000) {
			m->exact_n = 0;
			return;
		}
		if (bits < lo)
			lo = bits;
		if (bits > hi)
			hi = bits;
	}
	if (hi == 0) {
		m->exact_n = SIZE_MAX;
		return;
	}
	/* A float with the exponent field e is a multiple of 2^(e - 150)
	 * (1 - 150 below the normal range). */
	e = lo >> 23;
	if (e == 0)
		e = 1;
	memcpy(&max, &hi, sizeof max);
	n = ldexp(1, 52 + (int)e - 150) / max;
	m->exact_n = n >= 1e9 ? (size_t)1e9 : (size_t)n;
}

/* Once the weights are in: what classify_model_logit needs besides. */
static void
model_ready(struct classify_model *m)
{
	unsigned c;

	model_exact(m);
	for (c = 0; c < 256; c++) {
		m->h1[c] = gram_first((unsigned char)c);
		m->w1[c] = m->w[bucket(m->h1[c], 64 - m->bits)];
	}
}

static struct classify_model *
model_new(enum classify_lang lang, unsigned bits, unsigned cmin, unsigned cmax)
{
	struct classify_model *m = xcalloc(1, sizeof *m);

	m->lang = lang;
	m->bits = bits;
	m->char_min = cmin;
	m->char_max = cmax;
	m->w = xcalloc((size_t)1 << bits, sizeof *m->w);
	return m;
}

void
classify_model_free(struct classify_model *m)
{
	if (m == NULL)
		return;
	free(m->w);
	free(m);
}

/* ---- training ------------------------------------------------------------ */

void
classify_train_options_init(struct classify_train_options *o)
{
	memset(o, 0, sizeof *o);
	o->lang = CLASSIFY_EN;
	o->l2 = -1;
}

struct tsample {
	size_t		 first, n;	/* in the shared index array */
	double		 norm;		/* 1 / sqrt(n) */
	double		 dense[CLASSIFY_NDENSE];
	int		 label;
};

struct trainer {
	struct classify_model *m;
	double		*g;		/* AdaGrad sums, 1 << bits */
	double		 gdense[CLASSIFY_NDENSE], gbias;
	double		 l2, cw[2];	/* class weights */
};

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
adagrad(float *w, double *g, double grad)
{
	*g += grad * grad;
	*w -= (float)(LEARNING_RATE * grad / (sqrt(*g) + 1e-8));
}

static void
train_one(struct trainer *tr, const struct tsample *s, const uint32_t *idx)
{
	struct classify_model *m = tr->m;
	double z = m->bias, p, err, grad;
	size_t i, j;

	for (i = 0; i < s->n; i++)
		z += m->w[idx[i]] * s->norm;
	z += dense_dot(m, s->dense);
	p = 1 / (1 + exp(-z));
	err = (p - s->label) * tr->cw[s->label];
	for (i = 0; i < s->n; i++) {
		j = idx[i];
		grad = err * s->norm + tr->l2 * m->w[j];
		adagrad(&m->w[j], &tr->g[j], grad);
	}
	for (j = 0; j < CLASSIFY_NDENSE; j++)
		adagrad(&m->dense[j], &tr->gdense[j], err * s->dense[j]);
	adagrad(&m->bias, &tr->gbias, err);
}

static int
train_check(const struct classify_train_options *o, size_t n, size_t npos,
    char **errstr)
{
	if (o->lang != CLASSIFY_EN && o->lang != CLASSIFY_DE)
		xasprintf(errstr, "the language must be en or de");
	else if (o->bits != 0 && (o->bits < MODEL_BITS_MIN ||
	    o->bits > MODEL_BITS_MAX))
		xasprintf(errstr, "bits must be from %d to %d", MODEL_BITS_MIN,
		    MODEL_BITS_MAX);
	else if (o->char_max > MODEL_CHAR_MAX || o->char_min > o->char_max ||
	    (o->char_max > 0 && o->char_min == 0))
		xasprintf(errstr, "character n-grams must be from 1 to %d "
		    "characters", MODEL_CHAR_MAX);
	else if (n == 0)
		xasprintf(errstr, "no labeled messages to learn from");
	else if (npos == 0 || npos == n)
		xasprintf(errstr, "all %zu messages have the label %d: both "
		    "labels are needed", n, npos == 0 ? 0 : 1);
	else
		return 0;
	return -1;
}

/* Features of every sample, from the built-in classifier's tokens. */
static struct tsample *
train_prepare(const struct classify_model *m, struct classify *c,
    const struct classify_sample *samples, size_t n, struct fvec *all)
{
	const struct ctok_buf *b;
	struct tsample *ts = xcalloc(n, sizeof *ts);
	struct sink k;
	size_t i;

	for (i = 0; i < n; i++) {
		b = classify_scan(c, samples[i].text, samples[i].len, m->lang,
		    ts[i].dense);
		ts[i].first = all->n;
		k.w = NULL;
		k.exact_n = 0;
		k.dot = 0;
		k.out = all;
		k.n = 0;
		k.nidx = 0;
		features(m, b, &k);
		ts[i].n = k.n;
		ts[i].norm = k.n > 0 ? 1 / sqrt((double)k.n) : 0;
		ts[i].label = samples[i].label ? 1 : 0;
	}
	return ts;
}

struct classify_model *
classify_model_train(const struct classify_train_options *o,
    const struct classify_sample *samples, size_t n, char **errstr)
{
	struct classify_options co;
	struct trainer tr = { 0 };
	struct fvec all = { 0 };
	struct tsample *ts;
	struct classify *c;
	size_t i, j, tmp, npos = 0, *order;
	unsigned epoch, epochs;
	uint64_t seed = TRAIN_SEED;

	*errstr = NULL;
	for (i = 0; i < n; i++)
		npos += samples[i].label ? 1 : 0;
	if (train_check(o, n, npos, errstr) == -1)
		return NULL;
	classify_options_init(&co);
	co.lang = o->lang;
	if ((c = classify_new(&co, errstr)) == NULL)
		return NULL;
	tr.m = o->char_max == 0 && o->char_min == 0 ?
	    model_new(o->lang, o->bits ? o->bits : DEFAULT_BITS,
	    DEFAULT_CHAR_MIN, DEFAULT_CHAR_MAX) :
	    model_new(o->lang, o->bits ? o->bits : DEFAULT_BITS, o->char_min,
	    o->char_max);
	tr.g = xcalloc((size_t)1 << tr.m->bits, sizeof *tr.g);
	tr.l2 = o->l2 >= 0 ? o->l2 : DEFAULT_L2;
	/* Balanced: each class weighs as much as the other. */
	tr.cw[1] = (double)n / (2.0 * (double)npos);
	tr.cw[0] = (double)n / (2.0 * (double)(n - npos));
	ts = train_prepare(tr.m, c, samples, n, &all);
	classify_free(c);
	order = xcalloc(n, sizeof *order);
	for (i = 0; i < n; i++)
		order[i] = i;
	epochs = o->epochs ? o->epochs : DEFAULT_EPOCHS;
	for (epoch = 0; epoch < epochs; epoch++) {
		for (i = n - 1; i > 0; i--) {
			j = (size_t)(xorshift(&seed) % (i + 1));
			tmp = order[i];
			order[i] = order[j];
			order[j] = tmp;
		}
		for (i = 0; i < n; i++)
			train_one(&tr, &ts[order[i]], all.idx + ts[order[i]].first);
	}
	free(order);
	free(ts);
	free(all.idx);
	free(tr.g);
	model_ready(tr.m);
	return tr.m;
}

/* ---- the file ----------------------------------------------------------- */

static uint64_t
checksum(const unsigned char *p, size_t n)
{
	uint64_t h = FNV_OFFSET;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

static void
put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put_f32(unsigned char *p, float f)
{
	uint32_t v;

	memcpy(&v, &f, sizeof v);
	put_u32(p, v);
}

static float
get_f32(const unsigned char *p)
{
	uint32_t v = get_u32(p);
	float f;

	memcpy(&f, &v, sizeof f);
	return f;
}

static size_t
model_size(unsigned bits)
{
	return MODEL_HEADER + 4 * CLASSIFY_NDENSE + ((size_t)4 << bits) + 8;
}

unsigned char *
classify_model_write(const struct classify_model *m, size_t *len)
{
	size_t n = model_size(m->bits), i, nw = (size_t)1 << m->bits;
	unsigned char *buf = xmalloc(n), *p;
	uint64_t h;

	memcpy(buf, MODEL_MAGIC, 8);
	put_u32(buf + 8, MODEL_VERSION);
	put_u32(buf + 12, (uint32_t)m->lang);
	put_u32(buf + 16, m->bits);
	put_u32(buf + 20, m->char_min);
	put_u32(buf + 24, m->char_max);
	put_u32(buf + 28, CLASSIFY_NDENSE);
	put_f32(buf + 32, m->bias);
	p = buf + MODEL_HEADER;
	for (i = 0; i < CLASSIFY_NDENSE; i++, p += 4)
		put_f32(p, m->dense[i]);
	for (i = 0; i < nw; i++, p += 4)
		put_f32(p, m->w[i]);
	h = checksum(buf, n - 8);
	put_u32(p, (uint32_t)h);
	put_u32(p + 4, (uint32_t)(h >> 32));
	*len = n;
	return buf;
}

static int model_error(char **, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
model_error(char **errstr, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) == -1)
		why = NULL;
	va_end(ap);
	xasprintf(errstr, "%s: %s", name, why != NULL ? why : "out of memory");
	free(why);
	return -1;
}

/* The header's fields, before the size is known to be right. */
static int
check_header(const unsigned char *buf, size_t len, const char *name,
    char **errstr)
{
	uint32_t v, bits, cmin, cmax;

	if (len < 8 || memcmp(buf, MODEL_MAGIC, 8) != 0)
		return model_error(errstr, name, "not a replywatch model "
		    "(it does not start with \"%s\")", MODEL_MAGIC);
	if (len < MODEL_HEADER)
		return model_error(errstr, name, "truncated: %zu bytes, the "
		    "header alone has %d", len, MODEL_HEADER);
	if ((v = get_u32(buf + 8)) != MODEL_VERSION)
		return model_error(errstr, name, "model format version %u is "
		    "not supported (this program reads version %d): train "
		    "the model again", v, MODEL_VERSION);
	v = get_u32(buf + 12);
	if (v != CLASSIFY_EN && v != CLASSIFY_DE)
		return model_error(errstr, name, "unknown language %u", v);
	bits = get_u32(buf + 16);
	if (bits < MODEL_BITS_MIN || bits > MODEL_BITS_MAX)
		return model_error(errstr, name, "invalid hash size 2^%u "
		    "(2^%d to 2^%d)", bits, MODEL_BITS_MIN, MODEL_BITS_MAX);
	cmin = get_u32(buf + 20);
	cmax = get_u32(buf + 24);
	if (cmax > MODEL_CHAR_MAX || cmin > cmax || (cmax > 0 && cmin == 0))
		return model_error(errstr, name, "invalid character n-gram "
		    "range %u..%u", cmin, cmax);
	if ((v = get_u32(buf + 28)) != CLASSIFY_NDENSE)
		return model_error(errstr, name, "%u built-in inputs, this "
		    "program has %d", v, CLASSIFY_NDENSE);
	if (len != model_size(bits))
		return model_error(errstr, name, "%s: %zu bytes, a model with "
		    "2^%u weights has %zu", len < model_size(bits) ?
		    "truncated" : "trailing bytes", len, bits,
		    model_size(bits));
	return 0;
}

static int
get_weight(const unsigned char *p, float *out)
{
	float f = get_f32(p);

	if (!isfinite(f) || fabsf(f) > MODEL_WEIGHT_MAX)
		return -1;
	*out = f;
	return 0;
}

struct classify_model *
classify_model_read(const unsigned char *buf, size_t len, const char *name,
    char **errstr)
{
	struct classify_model *m;
	const unsigned char *p;
	uint64_t want;
	size_t i, nw;

	*errstr = NULL;
	if (check_header(buf, len, name, errstr) == -1)
		return NULL;
	want = (uint64_t)get_u32(buf + len - 8) |
	    (uint64_t)get_u32(buf + len - 4) << 32;
	if (checksum(buf, len - 8) != want) {
		model_error(errstr, name, "checksum mismatch: the file is "
		    "corrupt");
		return NULL;
	}
	m = model_new((enum classify_lang)get_u32(buf + 12),
	    get_u32(buf + 16), get_u32(buf + 20), get_u32(buf + 24));
	nw = (size_t)1 << m->bits;
	p = buf + MODEL_HEADER;
	if (get_weight(buf + 32, &m->bias) == -1)
		goto bad;
	for (i = 0; i < CLASSIFY_NDENSE; i++, p += 4)
		if (get_weight(p, &m->dense[i]) == -1)
			goto bad;
	for (i = 0; i < nw; i++, p += 4)
		if (get_weight(p, &m->w[i]) == -1)
			goto bad;
	model_ready(m);
	return m;
bad:
	model_error(errstr, name, "invalid weight at byte %zu (not a finite "
	    "number below %g)", (size_t)(p - buf), (double)MODEL_WEIGHT_MAX);
	classify_model_free(m);
	return NULL;
}

struct classify_model *
classify_model_load(const char *path, char **errstr)
{
	struct classify_model *m;
	unsigned char *buf;
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd;

	*errstr = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		model_error(errstr, path, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > MODEL_FILE_MAX) {
		model_error(errstr, path, "not a regular file of at most "
		    "%zu bytes", (size_t)MODEL_FILE_MAX);
		close(fd);
		return NULL;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size &&
	    (r = read(fd, buf + n, (size_t)st.st_size - n)) != 0) {
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			model_error(errstr, path, "cannot read: %s",
			    strerror(errno));
			free(buf);
			close(fd);
			return NULL;
		}
		n += (size_t)r;
	}
	close(fd);
	m = classify_model_read(buf, n, path, errstr);
	free(buf);
	return m;
}

int
classify_model_save(const struct classify_model *m, const char *path,
    char **errstr)
{
	unsigned char *buf;
	size_t len;
	char *tmp;
	FILE *fp;
	int ok;

	*errstr = NULL;
	buf = classify_model_write(m, &len);
	xasprintf(&tmp, "%s.tmp", path);
	if ((fp = fopen(tmp, "wbe")) == NULL) {
		model_error(errstr, path, "cannot create %s: %s", tmp,
		    strerror(errno));
		free(buf);
		free(tmp);
		return -1;
	}
	ok = fwrite(buf, 1, len, fp) == len;
	ok = fclose(fp) == 0 && ok;
	free(buf);
	if (!ok || rename(tmp, path) == -1) {
		model_error(errstr, path, "cannot write: %s", strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}
