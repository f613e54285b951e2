/* SPDX-License-Identifier: ISC */
#ifndef RW_CLASSIFY_TOKEN_H
#define RW_CLASSIFY_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * The tokenizer shared by the built-in classifier and the trained model.
 *
 * A message becomes a list of tokens, each a span of one buffer (low) that
 * holds them all, lowercased, separated by single spaces: a phrase of
 * several words is a substring of it. Words are letters and digits (an
 * apostrophe inside a word is kept, digits become '0', letters repeated
 * three times or more are cut to two); a run of ASCII punctuation is one
 * token ("!!!", "?!", ":("); an emoji or other symbol is a token of its
 * own. URLs and @mentions are dropped; '#' is dropped from a hashtag.
 * Invalid UTF-8 is treated as spaces.
 */

enum ctok_type {
	CTOK_WORD = 0,
	CTOK_PUNCT = 1,		/* ASCII punctuation run */
	CTOK_SYMBOL = 2,	/* emoji, other symbol: one code point */
};

#define CTOK_CAPS	0x01	/* a word written in capitals (>= 2 letters) */
#define CTOK_ELONG	0x02	/* letters were repeated ("sooo") */
#define CTOK_NONASCII	0x04	/* has a letter outside ASCII */

struct ctok {
	uint32_t	 off;	/* in low */
	uint16_t	 len;
	uint8_t		 type;	/* enum ctok_type */
	uint8_t		 flags;
	uint32_t	 hash;	/* ctok_hash of its len bytes */
};

#define CTOK_MAX_WORD	64	/* longer words are cut */
#define CTOK_MAX_TOKENS	4096	/* further tokens are ignored */
#define CTOK_MAX_TEXT	(1024 * 1024)	/* further bytes are ignored */
#define CTOK_PAD	16	/* NUL bytes after the tokens in low: 8
				   bytes can be read from any byte of them */

struct ctok_buf {
	char		*low;		/* tokens, space-separated, then
					   CTOK_PAD NUL bytes */
	size_t		 lowlen, lowcap;
	struct ctok	*t;
	size_t		 n, cap;
	unsigned	 nwords;	/* word tokens */
	unsigned	 ncaps;		/* of them in capitals, >= 3 letters */
	unsigned	 nexclaim;	/* '!' characters */
	unsigned	 nquestion;	/* '?' characters */
	unsigned	 nshout;	/* punctuation tokens with two '!' or
					   '?' or more ("!!", "?!") */
	unsigned	 umlauts;	/* ä ö ü ß (a German hint) */
};

/* 8 bytes from p, the first in the low byte (whatever the byte order of
 * the machine): a word of low can be read 8 bytes at a time. */
static inline uint64_t
ctok_load_le64(const char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
#else
	const unsigned char *u = (const unsigned char *)p;

	return (uint64_t)u[0] | (uint64_t)u[1] << 8 | (uint64_t)u[2] << 16 |
	    (uint64_t)u[3] << 24 | (uint64_t)u[4] << 32 |
	    (uint64_t)u[5] << 40 | (uint64_t)u[6] << 48 | (uint64_t)u[7] << 56;
#endif
}

/*
 * The hash of a token's bytes, for hash tables: 8 bytes at a time, so
 * that it does not add a multiplication per byte to the tokenizer. A
 * phrase of several tokens hashes as its tokens' hashes joined in order,
 * so that a phrase one token longer costs one step more.
 */
uint32_t ctok_hash(const char *s, size_t n);
uint32_t ctok_hash_join(uint32_t phrase, uint32_t token);

void	ctok_init(struct ctok_buf *);
void	ctok_clear(struct ctok_buf *);
/* Tokenize text (len bytes, not NUL-terminated); replaces what was there. */
void	ctok_run(struct ctok_buf *, const char *text, size_t len);

#endif
