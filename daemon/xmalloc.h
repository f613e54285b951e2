/* SPDX-License-Identifier: ISC */
#ifndef RW_XMALLOC_H
#define RW_XMALLOC_H

#include <stddef.h>

/* Allocation that cannot fail: out of memory ends the program with a message. */
void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/* NULL stays NULL. */
char	*xstrdup_or_null(const char *);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
