/* SPDX-License-Identifier: ISC */
#ifndef RW_FUZZ_H
#define RW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "xmalloc.h"

/*
 * A fuzz target: libFuzzer's entry points. Built with
 * -fsanitize=fuzzer by fuzz/run.sh, and without libFuzzer by the normal
 * build, where fuzz/regress-main.c feeds it every file of
 * fuzz/corpus/NAME and fuzz/regress/NAME (make check).
 */
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	LLVMFuzzerInitialize(int *, char ***);

/* A target's input, cut into pieces: the next piece up to sep (not
 * included) or to the end. NULL when nothing is left. */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 len;
};

static inline const uint8_t *
fuzz_next(struct fuzz_in *in, const char *sep, size_t seplen, size_t *len)
{
	const uint8_t *s = in->p, *q;
	size_t i;

	if (s == NULL)
		return NULL;
	for (i = 0; i + seplen <= in->len; i++) {
		q = s + i;
		if (q[0] == (uint8_t)sep[0] &&
		    __builtin_memcmp(q, sep, seplen) == 0) {
			*len = i;
			in->p = s + i + seplen;
			in->len -= i + seplen;
			return s;
		}
	}
	*len = in->len;
	in->p = NULL;
	in->len = 0;
	return s;
}

/* The piece as a NUL-terminated string, cut at a NUL (caller frees). */
static inline char *
fuzz_strndup(const uint8_t *p, size_t n)
{
	return xstrndup((const char *)p, n);
}

#endif
