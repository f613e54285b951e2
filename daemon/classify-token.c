/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <unistr.h>

#include "classify-token.h"
#include "xmalloc.h"

/* The tokenizer of classify-token.h. ASCII takes a fast path, words 8
 * bytes at a time; anything else goes through libunistring. */

#define CTOK_MAX_PUNCT	8	/* a punctuation token keeps this many bytes */

/* ---- 8 bytes at a time ---------------------------------------------------
 *
 * A uint64_t holds 8 bytes of text, the first in the low byte. A mask has
 * 0x80 in each byte for which something holds, 0 elsewhere.
 */

#define ONES	UINT64_C(0x0101010101010101)
#define HIGHS	UINT64_C(0x8080808080808080)

static inline void
store_le64(char *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &v, sizeof v);
#else
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (char)(unsigned char)(v >> (8 * i));
#endif
}

/* The bytes of x (each below 0x80) from lo to hi. No byte carries into
 * the next: x + (0x80 - lo) is at most 0xff, x + (0x7f - hi) too. */
static inline uint64_t
in_range(uint64_t x, unsigned char lo, unsigned char hi)
{
	return (x + (0x80 - lo) * ONES) & ~(x + (0x7f - hi) * ONES) & HIGHS;
}

/* The bytes of x that are 0 (exactly: no carry from one to the next). */
static inline uint64_t
zero_bytes(uint64_t x)
{
	return ~(((x & ~HIGHS) + ~HIGHS) | x | ~HIGHS);
}

/* How many bytes a mask marks (0 to 8). */
static inline unsigned
count_bytes(uint64_t m)
{
	return (unsigned)(((m >> 7) * ONES) >> 56);
}

/* The index of the first byte a mask marks; m is not 0. */
static inline unsigned
first_byte(uint64_t m)
{
#if defined(__GNUC__)
	return (unsigned)__builtin_ctzll(m) / 8;
#else
	unsigned i = 0;

	while (!(m & 0x80)) {
		m >>= 8;
		i++;
	}
	return i;
#endif
}

/* ---- the hash of tokens --------------------------------------------------
 *
 * Only for the hash tables of classify.c, never stored: a multiply and
 * xor-shift mix of 8 bytes at a time, then of the whole.
 */

#define HASH_MUL1	UINT64_C(0x9e3779b97f4a7c15)
#define HASH_MUL2	UINT64_C(0xff51afd7ed558ccd)

static inline uint64_t
hash_step(uint64_t h, uint64_t x)
{
	h = (h ^ x) * HASH_MUL1;
	return h ^ (h >> 32);
}

static inline uint32_t
hash_final(uint64_t h)
{
	h *= HASH_MUL2;
	return (uint32_t)(h ^ (h >> 29) ^ (h >> 43));
}

/* ctok_hash of s (n > 0 bytes) that may read up to 7 bytes after them:
 * the bytes after are masked out. */
static inline uint32_t
hash_token(const char *s, size_t n)
{
	uint64_t h = n;

	for (; n > 8; s += 8, n -= 8)
		h = hash_step(h, ctok_load_le64(s));
	return hash_final(hash_step(h,
	    ctok_load_le64(s) & (~UINT64_C(0) >> (64 - 8 * n))));
}

uint32_t
ctok_hash(const char *s, size_t n)
{
	char tail[8] = { 0 };
	uint64_t h = n;

	for (; n > 8; s += 8, n -= 8)
		h = hash_step(h, ctok_load_le64(s));
	/* As hash_token, without reading past the end. */
	memcpy(tail, s, n);
	return hash_final(hash_step(h, ctok_load_le64(tail)));
}

uint32_t
ctok_hash_join(uint32_t phrase, uint32_t token)
{
	return hash_final(hash_step((uint64_t)phrase << 32, token));
}

void
ctok_init(struct ctok_buf *b)
{
	memset(b, 0, sizeof *b);
}

void
ctok_clear(struct ctok_buf *b)
{
	free(b->low);
	free(b->t);
	memset(b, 0, sizeof *b);
}

/* 1 for the ASCII letters and digits. */
static const unsigned char ascii_alnum[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* 0x00 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,	/* ' ' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,	/* '0' */
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* '@' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,	/* 'P' */
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* '`' */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,	/* 'p' */
};

static inline int
is_ascii_alnum(unsigned char c)
{
	return ascii_alnum[c];
}

static int
is_ascii_space(unsigned char c)
{
	return c <= ' ' || c == 0x7f;
}

/* One code point at s (n bytes left): its value in *uc, its length, or 0
 * for invalid UTF-8. */
static inline size_t
decode(const char *s, size_t n, ucs4_t *uc)
{
	unsigned char c0 = (unsigned char)s[0], c1;
	int k;

	if (c0 < 0x80) {
		*uc = c0;
		return 1;
	}
	/* Two bytes (Latin, Greek, Cyrillic...) without a call. */
	if (c0 >= 0xc2 && c0 <= 0xdf && n >= 2 &&
	    ((c1 = (unsigned char)s[1]) & 0xc0) == 0x80) {
		*uc = (ucs4_t)(c0 & 0x1f) << 6 | (c1 & 0x3f);
		return 2;
	}
	k = u8_mbtoucr(uc, (const uint8_t *)s, n);
	return k > 0 ? (size_t)k : 0;
}

/* U+00C0..U+00FF (à, ä, ß...): all letters but × and ÷. */
static inline int
is_latin1_letter(ucs4_t uc)
{
	return uc >= 0xc0 && uc <= 0xff && uc != 0xd7 && uc != 0xf7;
}

static inline int
is_letter(ucs4_t uc)
{
	if (uc < 0x80)
		return is_ascii_alnum((unsigned char)uc);
	if (is_latin1_letter(uc))
		return 1;
	return uc_is_alpha(uc) || uc_is_digit(uc) ||
	    uc_is_general_category(uc, UC_CATEGORY_M);
}

/* Neither part of a word nor a token: joiners, variation selectors, skin
 * tones, the replacement character, spaces, non-ASCII punctuation. */
static int
is_ignorable(ucs4_t uc)
{
	return uc == 0x200d || (uc >= 0xfe00 && uc <= 0xfe0f) ||
	    (uc >= 0x1f3fb && uc <= 0x1f3ff) || uc == 0xfffd ||
	    (uc >= 0xe0020 && uc <= 0xe007f) || uc_is_space(uc) ||
	    uc_is_general_category(uc, UC_CATEGORY_P) ||
	    uc_is_general_category(uc, UC_CATEGORY_C);
}

static struct ctok *
tok_begin(struct ctok_buf *b, enum ctok_type type)
{
	struct ctok *t;

	if (b->n >= CTOK_MAX_TOKENS)
		return NULL;
	if (b->lowlen > 0)
		b->low[b->lowlen++] = ' ';
	t = &b->t[b->n];
	t->off = (uint32_t)b->lowlen;
	t->len = 0;
	t->type = (uint8_t)type;
	t->flags = 0;
	return t;
}

static void
tok_end(struct ctok_buf *b, struct ctok *t)
{
	t->len = (uint16_t)(b->lowlen - t->off);
	if (t->len == 0) {
		/* Nothing kept: take the separator back. */
		if (b->lowlen > 0)
			b->lowlen--;
		return;
	}
	/* reserve() leaves room for the 8 bytes it reads. */
	t->hash = hash_token(b->low + t->off, t->len);
	b->n++;
}

/* Does an apostrophe at s (ASCII or U+2019) join two letters? */
static size_t
inner_apostrophe(const char *s, size_t n)
{
	ucs4_t uc;
	size_t k;

	if (n >= 2 && *s == '\'')
		k = 1;
	else if (n >= 4 && memcmp(s, "\xe2\x80\x99", 3) == 0)
		k = 3;
	else
		return 0;
	if (decode(s + k, n - k, &uc) == 0 || !is_letter(uc))
		return 0;
	return k;
}

struct wordstate {
	ucs4_t		 last;		/* the letter before, lowercase */
	unsigned	 run;		/* how many times in a row */
	unsigned	 letters, upper;
};

/* Appends lc, the lowercase of a letter of the word, unless it repeats
 * the letter before it a third time or the word is full. */
static inline void
word_add(struct ctok_buf *b, struct ctok *t, struct wordstate *ws, ucs4_t lc)
{
	uint8_t u[6];
	int i, k;

	if (lc == ws->last && lc != '0') {
		if (++ws->run >= 3) {
			t->flags |= CTOK_ELONG;
			return;
		}
	} else {
		ws->last = lc;
		ws->run = 1;
	}
	if (b->lowlen - t->off + 4 > CTOK_MAX_WORD)
		return;
	if (lc < 0x80)
		b->low[b->lowlen++] = (char)lc;
	else if (lc < 0x800) {
		b->low[b->lowlen++] = (char)(0xc0 | lc >> 6);
		b->low[b->lowlen++] = (char)(0x80 | (lc & 0x3f));
	} else if ((k = u8_uctomb(u, lc, sizeof u)) > 0) {
		for (i = 0; i < k; i++)
			b->low[b->lowlen++] = (char)u[i];
	}
}

/* A run of ASCII letters and digits in a word, from text[i], one by one
 * in local variables (word_fast takes most words whole). Returns the
 * index after it. */
static size_t
word_ascii(struct ctok_buf *b, struct ctok *t, struct wordstate *ws,
    const char *text, size_t len, size_t i)
{
	char *low = b->low;
	size_t n = b->lowlen, last = t->off + CTOK_MAX_WORD - 4;
	unsigned letters = ws->letters, upper = ws->upper, run = ws->run, up;
	ucs4_t prev = ws->last;
	unsigned char c;

	for (; i < len && is_ascii_alnum(c = (unsigned char)text[i]); i++) {
		/* Capitals start most German nouns: no branch on them. */
		up = (unsigned)(c - 'A') < 26;
		upper += up;
		c |= (unsigned char)(up << 5);
		if (c <= '9')
			c = '0';
		else
			letters++;
		/* As word_add, with no branch on doubled letters. */
		run = c == prev && c != '0' ? run + 1 : 1;
		prev = c;
		if (run >= 3) {
			t->flags |= CTOK_ELONG;
			continue;
		}
		if (n <= last)
			low[n++] = (char)c;
	}
	b->lowlen = n;
	ws->letters = letters;
	ws->upper = upper;
	ws->run = run;
	ws->last = prev;
	return i;
}

/* What 8 bytes of text hold, for word_fast. */
struct chunk {
	uint64_t	 lc;		/* the bytes, lowercase, digits as '0' */
	uint64_t	 upper, alpha, digit;	/* masks of ASCII bytes */
	uint64_t	 same;		/* bytes equal to the one before */
	uint64_t	 keep;		/* the first k bytes */
	unsigned	 k;		/* ASCII letters and digits first */
};

static inline void
chunk_read(struct chunk *ch, const char *s)
{
	uint64_t x = ctok_load_le64(s), y = x & ~HIGHS, ascii = ~x & HIGHS, other;

	ch->digit = in_range(y, '0', '9') & ascii;
	ch->alpha = in_range(y | 0x20 * ONES, 'a', 'z') & ascii;
	/* a capital is a letter without 0x20, that x << 2 moves to 0x80 */
	ch->upper = ch->alpha & ~(x << 2);
	other = ~(ch->digit | ch->alpha) & HIGHS;
	ch->k = other != 0 ? first_byte(other) : 8;
	/* the bytes before the lowest bit of other (all if none) */
	ch->keep = ((other & (~other + 1)) >> 7) - 1;
	/* Capitals get 0x20; digits ('0' to '9') lose their low 4 bits, that
	 * (digit >> 3) - (digit >> 7), 0x10 - 0x01 a byte, has. */
	ch->lc = (x | ch->upper >> 2) & ~((ch->digit >> 3) - (ch->digit >> 7));
	ch->same = zero_bytes(ch->lc ^ ch->lc << 8);
}

/* Is a letter among the first k three times in a row (a byte the same as
 * the two before it)? Not '0', that stands for any digit. */
static inline int
chunk_elongated(const struct chunk *ch)
{
	return (ch->same & ch->same << 8 & ~ch->digit & ch->keep) != 0;
}

/* The byte at index i. */
static inline unsigned char
chunk_byte(const struct chunk *ch, unsigned i)
{
	return (unsigned char)(ch->lc >> (8 * i));
}

/*
 * Most words in one go, 8 bytes at a time, with no branch on each byte:
 * ASCII letters and digits from text[i], then an ASCII byte that ends
 * the word (not an apostrophe); no letter three times in a row, nor the
 * same letter on both sides of 8 bytes; at most CTOK_MAX_WORD - 4 bytes;
 * 8 bytes to read from each 8. A word of up to 7 takes one pass of the
 * loop. Returns the index after the word (and a space after it), or 0 for
 * a word that word() must take, or when there is no room for another
 * token.
 */
static inline size_t
word_fast(struct ctok_buf *b, const char *text, size_t len, size_t i)
{
	struct chunk ch;
	struct ctok *t;
	unsigned letters = 0, upper = 0, caps;
	unsigned char end;
	size_t off = b->lowlen + (b->lowlen > 0), n = off;

	if (b->n >= CTOK_MAX_TOKENS)
		return 0;
	do {
		if (len - i < 8)
			return 0;
		chunk_read(&ch, text + i);
		if (chunk_elongated(&ch) || (n > off &&
		    chunk_byte(&ch, 0) == (unsigned char)b->low[n - 1]) ||
		    n - off + ch.k + 3 > CTOK_MAX_WORD)
			return 0;
		store_le64(b->low + n, ch.lc);
		n += ch.k;
		i += ch.k;
		letters += count_bytes(ch.alpha & ch.keep);
		upper += count_bytes(ch.upper & ch.keep);
	} while (ch.k == 8);
	end = (unsigned char)text[i];
	if (end >= 0x80 || end == '\'')
		return 0;
	if (off > 0)
		b->low[off - 1] = ' ';
	b->lowlen = n;
	caps = letters >= 2 && upper == letters;
	t = &b->t[b->n++];
	t->off = (uint32_t)off;
	t->len = (uint16_t)(n - off);
	t->type = CTOK_WORD;
	t->flags = caps ? CTOK_CAPS : 0;
	/* hash_token; of the last 8 bytes read, when there are no others */
	t->hash = n - off < 8 ? hash_final(hash_step(n - off, ch.lc & ch.keep)) :
	    hash_token(b->low + off, n - off);
	b->ncaps += caps && letters >= 3;
	b->nwords++;
	/* past the space that most often follows, as ctok_run would be */
	return i + (end == ' ');
}

static void
word_put(struct ctok_buf *b, struct ctok *t, struct wordstate *ws, ucs4_t uc)
{
	ucs4_t lc;

	if (is_latin1_letter(uc)) {
		/* What uc_tolower and uc_is_alpha say, without the calls. */
		lc = uc < 0xdf ? uc + 0x20 : uc;
		ws->letters++;
		if (lc != uc)
			ws->upper++;
	} else {
		lc = uc_tolower(uc);
		if (uc_is_alpha(uc)) {
			ws->letters++;
			if (lc != uc)
				ws->upper++;
		}
	}
	t->flags |= CTOK_NONASCII;
	if (lc == 0xe4 || lc == 0xf6 || lc == 0xfc || lc == 0xdf)
		b->umlauts++;
	word_add(b, t, ws, lc);
}

/* Past a word from text[i] when there is no room for more tokens. */
static size_t
word_skip(const char *text, size_t len, size_t i)
{
	ucs4_t uc;
	size_t k;

	while (i < len) {
		if (is_ascii_alnum((unsigned char)text[i])) {
			i++;
			continue;
		}
		if ((unsigned char)text[i] < 0x80 && text[i] != '\'')
			break;
		if ((k = decode(text + i, len - i, &uc)) == 0 || !is_letter(uc))
			k = inner_apostrophe(text + i, len - i);
		if (k == 0)
			break;
		i += k;
	}
	return i;
}

/* A word from text[i]; returns the index after it. */
static size_t
word(struct ctok_buf *b, const char *text, size_t len, size_t i)
{
	struct wordstate ws = { 0, 0, 0, 0 };
	struct ctok *t;
	ucs4_t uc;
	size_t k;

	if ((t = tok_begin(b, CTOK_WORD)) == NULL)
		return word_skip(text, len, i);
	while (i < len) {
		if (is_ascii_alnum((unsigned char)text[i])) {
			i = word_ascii(b, t, &ws, text, len, i);
			continue;
		}
		/* ASCII but for an apostrophe: the end of the word. */
		if ((unsigned char)text[i] < 0x80 && text[i] != '\'')
			break;
		if ((k = decode(text + i, len - i, &uc)) == 0 || !is_letter(uc)) {
			if ((k = inner_apostrophe(text + i, len - i)) == 0)
				break;
			i += k;
			if (b->lowlen - t->off + 2 <= CTOK_MAX_WORD)
				b->low[b->lowlen++] = '\'';
			ws.last = '\'';
			continue;
		}
		word_put(b, t, &ws, uc);
		i += k;
	}
	if (ws.letters >= 2 && ws.upper == ws.letters) {
		t->flags |= CTOK_CAPS;
		if (ws.letters >= 3)
			b->ncaps++;
	}
	b->nwords++;
	tok_end(b, t);
	return i;
}

static int
is_ascii_punct(unsigned char c)
{
	return c > ' ' && c < 0x7f && !is_ascii_alnum(c);
}

/* A run of ASCII punctuation. */
static size_t
punct(struct ctok_buf *b, const char *text, size_t len, size_t i)
{
	struct ctok *t = tok_begin(b, CTOK_PUNCT);
	size_t n = 0, marks = 0;

	for (; i < len && is_ascii_punct((unsigned char)text[i]); i++) {
		if (text[i] == '!')
			b->nexclaim++;
		else if (text[i] == '?')
			b->nquestion++;
		if (t != NULL && n++ < CTOK_MAX_PUNCT) {
			b->low[b->lowlen++] = text[i];
			if (text[i] == '!' || text[i] == '?')
				marks++;
		}
	}
	if (t != NULL) {
		tok_end(b, t);
		if (marks >= 2)
			b->nshout++;
	}
	return i;
}

static void
symbol(struct ctok_buf *b, const char *s, size_t k)
{
	struct ctok *t;

	if ((t = tok_begin(b, CTOK_SYMBOL)) == NULL)
		return;
	memcpy(b->low + b->lowlen, s, k);
	b->lowlen += k;
	tok_end(b, t);
}

/* Starts a URL? */
static int
is_url(const char *s, size_t n)
{
	return (n >= 7 && memcmp(s, "http://", 7) == 0) ||
	    (n >= 8 && memcmp(s, "https://", 8) == 0) ||
	    (n >= 4 && memcmp(s, "www.", 4) == 0);
}

static size_t
skip_nonspace(const char *text, size_t len, size_t i)
{
	while (i < len && !is_ascii_space((unsigned char)text[i]))
		i++;
	return i;
}

static size_t
skip_mention(const char *text, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (!is_ascii_alnum((unsigned char)text[i]) && text[i] != '_')
			break;
	}
	return i;
}

/*
 * Room for the tokens of len bytes of text. Each byte gives at most two
 * bytes of low (a one-byte token and its separator; a two-byte letter
 * whose lowercase takes three, and its separator); then CTOK_PAD bytes
 * more, and as many again for word_fast, that writes 8 bytes at a time,
 * and tok_end, that reads 8.
 */
static void
reserve(struct ctok_buf *b, size_t len)
{
	size_t need = 2 * len + 2 * CTOK_PAD, ntok = len + 1;

	if (b->lowcap < need) {
		free(b->low);
		b->low = xmalloc(need);
		b->lowcap = need;
	}
	if (ntok > CTOK_MAX_TOKENS)
		ntok = CTOK_MAX_TOKENS;
	if (b->cap < ntok) {
		free(b->t);
		b->t = xreallocarray(NULL, ntok, sizeof *b->t);
		b->cap = ntok;
	}
}

/* An ASCII byte at text[i] that is not a space. */
static inline size_t
ascii_token(struct ctok_buf *b, const char *text, size_t len, size_t i)
{
	unsigned char c = (unsigned char)text[i];
	size_t k;

	if (is_ascii_alnum(c)) {
		if ((c == 'h' || c == 'w') && is_url(text + i, len - i))
			return skip_nonspace(text, len, i);
		if ((k = word_fast(b, text, len, i)) != 0)
			return k;
		return word(b, text, len, i);
	}
	if (c == '@' && i + 1 < len &&
	    (is_ascii_alnum((unsigned char)text[i + 1]) || text[i + 1] == '_'))
		return skip_mention(text, len, i);
	if (c == '#' && i + 1 < len &&
	    !is_ascii_space((unsigned char)text[i + 1]) &&
	    !is_ascii_punct((unsigned char)text[i + 1]))
		return i + 1;
	return punct(b, text, len, i);
}

void
ctok_run(struct ctok_buf *b, const char *text, size_t len)
{
	unsigned char c;
	ucs4_t uc;
	size_t i = 0, k;

	if (len > CTOK_MAX_TEXT)
		len = CTOK_MAX_TEXT;
	reserve(b, len);
	b->n = b->lowlen = 0;
	b->nwords = b->ncaps = b->nexclaim = b->nquestion = b->umlauts = 0;
	b->nshout = 0;
	while (i < len) {
		c = (unsigned char)text[i];
		if (c < 0x80) {
			if (is_ascii_space(c))
				i++;
			else
				i = ascii_token(b, text, len, i);
			continue;
		}
		if ((k = decode(text + i, len - i, &uc)) == 0)
			i++;
		else if (is_letter(uc))
			i = word(b, text, len, i);
		else {
			if (!is_ignorable(uc))
				symbol(b, text + i, k);
			i += k;
		}
	}
	/* NUL, and more (classify-token.h) */
	memset(b->low + b->lowlen, 0, CTOK_PAD);
}
