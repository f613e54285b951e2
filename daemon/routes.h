/* SPDX-License-Identifier: ISC */
#ifndef RW_ROUTES_H
#define RW_ROUTES_H

#include <stddef.h>

#include "deliver.h"

struct conf;

/*
 * The [route "NAME"] sections of a configuration as delivery channels
 * (struct route, deliver.h), with their secrets (webhook HMAC key, SMTP
 * password) read from their files or $CREDENTIALS_DIRECTORY, as for
 * accounts. The routes point into the set, and into conf for its strings:
 * conf must outlive the set.
 */
struct routeset {
	struct route	*routes;
	size_t		 n;
	/* private: what the set owns */
	char		**owned;
	size_t		 nowned;
};

/* NULL with *errstr ("file:line: why", one per line) if a secret cannot
 * be read. */
struct routeset *routeset_new(const struct conf *, char **errstr);
void	 routeset_free(struct routeset *);
/* The route of that name, or NULL. */
const struct route *routeset_find(const struct routeset *, const char *name);

#endif
