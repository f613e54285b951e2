/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "deliver.h"
#include "routes.h"
#include "secret.h"
#include "xmalloc.h"

/*
 * What the set owns: the secrets and the recipients' addresses, in owned[]
 * (wiped when freed, as secret_free does), and each email route's `to'
 * array. Everything else points into the conf.
 */

static char *
own(struct routeset *rs, char *s)
{
	rs->owned = xreallocarray(rs->owned, rs->nowned + 1,
	    sizeof *rs->owned);
	rs->owned[rs->nowned++] = s;
	return s;
}

/* One more "file:line: route "NAME": why" line. */
static void
add_error(char **errs, const struct conf *conf, const struct conf_route *cr,
    const char *why)
{
	const char *path = conf->path != NULL ? conf->path : "replywatch.conf";
	char *all;

	if (*errs == NULL)
		xasprintf(&all, "%s:%d: route \"%s\": %s", path, cr->line,
		    cr->name, why);
	else
		xasprintf(&all, "%s\n%s:%d: route \"%s\": %s", *errs, path,
		    cr->line, cr->name, why);
	free(*errs);
	*errs = all;
}

/* The comma-separated list, each address trimmed, as a NULL-terminated
 * array; the set owns the strings. */
static const char **
split_addresses(struct routeset *rs, const char *list)
{
	const char **to, *p = list, *start, *end;
	size_t n = 0, len;

	to = xcalloc(1, sizeof *to);
	for (;;) {
		len = strcspn(p, ",");
		start = p;
		end = p + len;
		while (start < end && isspace((unsigned char)*start))
			start++;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		if (end > start) {
			to = xreallocarray(to, n + 2, sizeof *to);
			to[n++] = own(rs, xstrndup(start,
			    (size_t)(end - start)));
			to[n] = NULL;
		}
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	return to;
}

/* The secret in file, owned by the set; NULL with an error added. */
static const char *
load_secret(struct routeset *rs, const struct conf *conf,
    const struct conf_route *cr, const char *file, char **errs)
{
	char *secret, *err = NULL;

	if ((secret = secret_load(file, &err)) == NULL) {
		add_error(errs, conf, cr, err != NULL ? err :
		    "cannot read the secret");
		free(err);
		return NULL;
	}
	return own(rs, secret);
}

struct routeset *
routeset_new(const struct conf *conf, char **errstr)
{
	const struct conf_route *cr;
	struct routeset *rs;
	struct route *r;
	char *errs = NULL;
	size_t i;

	rs = xcalloc(1, sizeof *rs);
	if (conf->nroutes > 0)
		rs->routes = xcalloc(conf->nroutes, sizeof *rs->routes);
	for (i = 0; i < conf->nroutes; i++) {
		cr = &conf->routes[i];
		r = &rs->routes[rs->n++];
		r->name = cr->name;
		r->url = cr->url;
		r->ca_file = cr->ca_file;
		r->timeout_ms = 0;
		if (cr->type != NULL && strcmp(cr->type, "webhook") == 0) {
			r->type = ROUTE_WEBHOOK;
			r->slack = cr->format != NULL &&
			    strcmp(cr->format, "slack") == 0;
			if (cr->secret_file != NULL)
				r->secret = load_secret(rs, conf, cr,
				    cr->secret_file, &errs);
		} else if (cr->type != NULL && strcmp(cr->type, "email") == 0) {
			r->type = ROUTE_EMAIL;
			r->from = cr->from;
			if (cr->to != NULL)
				r->to = split_addresses(rs, cr->to);
			r->username = cr->username;
			if (cr->password_file != NULL)
				r->password = load_secret(rs, conf, cr,
				    cr->password_file, &errs);
			r->starttls = cr->starttls;
		} else
			/* conf_load refuses it: not a checked conf */
			add_error(&errs, conf, cr, "type = must be webhook or "
			    "email");
	}
	if (errs != NULL) {
		routeset_free(rs);
		if (errstr != NULL)
			*errstr = errs;
		else
			free(errs);
		return NULL;
	}
	return rs;
}

void
routeset_free(struct routeset *rs)
{
	size_t i;

	if (rs == NULL)
		return;
	for (i = 0; i < rs->n; i++)
		free((void *)rs->routes[i].to);
	for (i = 0; i < rs->nowned; i++)
		secret_free(rs->owned[i]);
	free(rs->owned);
	free(rs->routes);
	free(rs);
}

const struct route *
routeset_find(const struct routeset *rs, const char *name)
{
	size_t i;

	if (rs == NULL || name == NULL)
		return NULL;
	for (i = 0; i < rs->n; i++) {
		if (strcmp(rs->routes[i].name, name) == 0)
			return &rs->routes[i];
	}
	return NULL;
}
