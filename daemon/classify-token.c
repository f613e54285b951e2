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

/* The tokenizer of classify-token.h. ASCII takes a fast path; anything
 * else goes through libunistring. */

#define CTOK_MAX_PUNCT	8	/* a punctuation token keeps this many bytes */

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

static inline uint32_t
hash_byte(uint32_t h, unsigned char c)
{
	return (h ^ c) * CTOK_HASH_PRIME;
}

/* hash: of the token's bytes, as they were added. */
static void
tok_end(struct ctok_buf *b, struct ctok *t, uint32_t hash)
{
	t->hash = hash;
	t->len = (uint16_t)(b->lowlen - t->off);
	if (t->len == 0) {
		/* Nothing kept: take the separator back. */
		if (b->lowlen > 0)
			b->lowlen--;
		return;
	}
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
	ucs4_t		 last;
	unsigned	 run, letters, upper;
	uint32_t	 hash;		/* of the bytes added */
};

static inline void
word_byte(struct ctok_buf *b, struct wordstate *ws, unsigned char c)
{
	b->low[b->lowlen++] = (char)c;
	ws->hash = hash_byte(ws->hash, c);
}

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
		word_byte(b, ws, (unsigned char)lc);
	else if (lc < 0x800) {
		word_byte(b, ws, (unsigned char)(0xc0 | lc >> 6));
		word_byte(b, ws, (unsigned char)(0x80 | (lc & 0x3f)));
	} else if ((k = u8_uctomb(u, lc, sizeof u)) > 0) {
		for (i = 0; i < k; i++)
			word_byte(b, ws, u[i]);
	}
}

/* A run of ASCII letters and digits in a word, from text[i]: the most of
 * most words, in local variables. Returns the index after it. */
static size_t
word_ascii(struct ctok_buf *b, struct ctok *t, struct wordstate *ws,
    const char *text, size_t len, size_t i)
{
	char *low = b->low;
	size_t n = b->lowlen, last = t->off + CTOK_MAX_WORD - 4;
	unsigned letters = ws->letters, upper = ws->upper, run = ws->run, up;
	uint32_t hash = ws->hash;
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
		if (n <= last) {
			low[n++] = (char)c;
			hash = hash_byte(hash, c);
		}
	}
	b->lowlen = n;
	ws->hash = hash;
	ws->letters = letters;
	ws->upper = upper;
	ws->run = run;
	ws->last = prev;
	return i;
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

/* A word from text[i]; returns the index after it. */
static size_t
word(struct ctok_buf *b, const char *text, size_t len, size_t i)
{
	struct wordstate ws = { .hash = CTOK_HASH_INIT };
	struct ctok *t, dummy;
	ucs4_t uc;
	size_t k;

	if ((t = tok_begin(b, CTOK_WORD)) == NULL) {
		t = &dummy;
		t->off = (uint32_t)b->lowlen;
	}
	while (i < len) {
		if (is_ascii_alnum((unsigned char)text[i])) {
			if (t != &dummy)
				i = word_ascii(b, t, &ws, text, len, i);
			else
				i++;
			continue;
		}
		/* ASCII but for an apostrophe: the end of the word. */
		if ((unsigned char)text[i] < 0x80 && text[i] != '\'')
			break;
		if ((k = decode(text + i, len - i, &uc)) == 0 || !is_letter(uc)) {
			if ((k = inner_apostrophe(text + i, len - i)) == 0)
				break;
			i += k;
			if (t != &dummy && b->lowlen - t->off + 2 <= CTOK_MAX_WORD)
				word_byte(b, &ws, '\'');
			ws.last = '\'';
			continue;
		}
		if (t != &dummy)
			word_put(b, t, &ws, uc);
		i += k;
	}
	if (t == &dummy)
		return i;
	if (ws.letters >= 2 && ws.upper == ws.letters) {
		t->flags |= CTOK_CAPS;
		if (ws.letters >= 3)
			b->ncaps++;
	}
	b->nwords++;
	tok_end(b, t, ws.hash);
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
	uint32_t hash = CTOK_HASH_INIT;
	size_t n = 0, marks = 0;

	for (; i < len && is_ascii_punct((unsigned char)text[i]); i++) {
		if (text[i] == '!')
			b->nexclaim++;
		else if (text[i] == '?')
			b->nquestion++;
		if (t != NULL && n++ < CTOK_MAX_PUNCT) {
			b->low[b->lowlen++] = text[i];
			hash = hash_byte(hash, (unsigned char)text[i]);
			if (text[i] == '!' || text[i] == '?')
				marks++;
		}
	}
	if (t != NULL) {
		tok_end(b, t, hash);
		if (marks >= 2)
			b->nshout++;
	}
	return i;
}

static void
symbol(struct ctok_buf *b, const char *s, size_t k)
{
	struct ctok *t;
	uint32_t hash = CTOK_HASH_INIT;
	size_t i;

	if ((t = tok_begin(b, CTOK_SYMBOL)) == NULL)
		return;
	for (i = 0; i < k; i++) {
		b->low[b->lowlen++] = s[i];
		hash = hash_byte(hash, (unsigned char)s[i]);
	}
	tok_end(b, t, hash);
}

/* Starts a URL? */
static int
is_url(const char *s, size_t n)
{
	return (n >= 7 && strncmp(s, "http://", 7) == 0) ||
	    (n >= 8 && strncmp(s, "https://", 8) == 0) ||
	    (n >= 4 && strncmp(s, "www.", 4) == 0);
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

static void
reserve(struct ctok_buf *b, size_t len)
{
	size_t need = 2 * len + 16, ntok = len + 1;

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
			else if (is_ascii_alnum(c)) {
				if ((c == 'h' || c == 'w') &&
				    is_url(text + i, len - i))
					i = skip_nonspace(text, len, i);
				else
					i = word(b, text, len, i);
			} else if (c == '@' && i + 1 < len &&
			    (is_ascii_alnum((unsigned char)text[i + 1]) ||
			    text[i + 1] == '_'))
				i = skip_mention(text, len, i);
			else if (c == '#' && i + 1 < len &&
			    !is_ascii_space((unsigned char)text[i + 1]) &&
			    !is_ascii_punct((unsigned char)text[i + 1]))
				i++;
			else
				i = punct(b, text, len, i);
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
	b->low[b->lowlen] = '\0';
}
