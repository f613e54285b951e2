/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "xmalloc.h"

/*
 * The parts of the HTTP client that need no loop: reading responses and
 * checking URLs. Kept apart from http.c so that connector tests can fake
 * the client and still use these.
 */

const char *
http_header(const struct http_response *r, const char *name)
{
	size_t i;

	for (i = r->nheaders; i-- > 0;) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return NULL;
}

/* One link-value: "<URL>; rel=\"a b\"; …". *s moves past it. */
static int
link_next(const char **s, const char **url, size_t *urllen,
    const char **params, size_t *plen)
{
	const char *p = *s, *end;

	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	if (*p != '<')
		return -1;
	if ((end = strchr(p, '>')) == NULL)
		return -1;
	*url = p + 1;
	*urllen = (size_t)(end - p - 1);
	p = end + 1;
	*params = p;
	/* the parameters end at the next ',' outside quotes */
	for (; *p != '\0'; p++) {
		if (*p == '"') {
			if ((end = strchr(p + 1, '"')) == NULL)
				return -1;
			p = end;
		} else if (*p == ',')
			break;
	}
	*plen = (size_t)(p - *params);
	*s = p;
	return 0;
}

/* Does the parameter list name rel among its relation types? */
static int
link_has_rel(const char *params, size_t len, const char *rel)
{
	const char *p = params, *end = params + len, *v, *ve;
	size_t rl = strlen(rel);

	while (p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) > 4 && strncasecmp(p, "rel=", 4) == 0) {
			v = p + 4;
			if (*v == '"') {
				v++;
				ve = memchr(v, '"', (size_t)(end - v));
				if (ve == NULL)
					return 0;
			} else {
				for (ve = v; ve < end && *ve != ';' &&
				    *ve != ' '; ve++)
					;
			}
			/* space-separated relation types */
			while (v < ve) {
				const char *w = v;

				while (w < ve && *w != ' ')
					w++;
				if ((size_t)(w - v) == rl &&
				    strncasecmp(v, rel, rl) == 0)
					return 1;
				v = w + 1;
			}
			p = ve + 1;
			continue;
		}
		while (p < end && *p != ';')
			p++;
	}
	return 0;
}

char *
http_link(const struct http_response *r, const char *rel)
{
	const char *s, *url, *params;
	size_t urllen, plen;
	char *out;

	if ((s = http_header(r, "Link")) == NULL)
		return NULL;
	while (*s != '\0') {
		if (link_next(&s, &url, &urllen, &params, &plen) == -1)
			return NULL;
		if (link_has_rel(params, plen, rel) && urllen > 0) {
			out = xmalloc(urllen + 1);
			memcpy(out, url, urllen);
			out[urllen] = '\0';
			return out;
		}
	}
	return NULL;
}

char *
http_escape(const char *s)
{
	char *e, *out;

	if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
		fatal("out of memory");
	out = xstrdup(e);
	curl_free(e);
	return out;
}

/*
 * The host of a URL: after "scheme://", before the port, path, query; a
 * bracketed IPv6 literal without its brackets. userinfo is skipped.
 */
static int
url_host(const char *url, char *host, size_t len, const char **scheme_end)
{
	const char *p, *h, *e, *at;

	if ((p = strstr(url, "://")) == NULL)
		return -1;
	*scheme_end = p;
	h = p + 3;
	e = h + strcspn(h, "/?#");
	if ((at = memchr(h, '@', (size_t)(e - h))) != NULL)
		h = at + 1;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(e - h));

		if (rb == NULL)
			return -1;
		h++;
		e = rb;
	} else {
		const char *colon = memchr(h, ':', (size_t)(e - h));

		if (colon != NULL)
			e = colon;
	}
	if (e <= h || (size_t)(e - h) >= len)
		return -1;
	memcpy(host, h, (size_t)(e - h));
	host[e - h] = '\0';
	return 0;
}

int
http_url_is_loopback(const char *url)
{
	char host[256];
	const char *se;
	unsigned a, b, c, d;
	char extra;

	if (url_host(url, host, sizeof host, &se) == -1)
		return 0;
	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
		return 1;
	if (sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4)
		return a == 127 && b < 256 && c < 256 && d < 256;
	return 0;
}

int
http_url_check(const char *url, const char **why)
{
	char host[256];
	const char *se;
	size_t i;

	if (url_host(url, host, sizeof host, &se) == -1) {
		*why = "not a URL with a host (e.g. https://example.com)";
		return -1;
	}
	for (i = 0; url[i] != '\0'; i++) {
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f) {
			*why = "the URL contains spaces or control characters";
			return -1;
		}
	}
	if ((size_t)(se - url) == 5 && strncasecmp(url, "https", 5) == 0)
		return 0;
	if ((size_t)(se - url) == 4 && strncasecmp(url, "http", 4) == 0) {
		if (http_url_is_loopback(url))
			return 0;
		*why = "http:// is accepted only for loopback addresses "
		    "(127.0.0.1, ::1, localhost): use https://";
		return -1;
	}
	*why = "the scheme must be https:// (or http:// on loopback)";
	return -1;
}

int64_t
http_retry_after(const struct http_response *r, int64_t now_ms)
{
	const char *v;
	char *end;
	long long secs;
	time_t t;

	if ((v = http_header(r, "Retry-After")) == NULL)
		return -1;
	while (*v == ' ')
		v++;
	if (isdigit((unsigned char)*v)) {
		secs = strtoll(v, &end, 10);
		while (*end == ' ')
			end++;
		if (*end != '\0' || secs < 0 || secs > 7 * 24 * 3600)
			return -1;
		return now_ms + secs * 1000;
	}
	/* an HTTP date */
	if ((t = curl_getdate(v, NULL)) == -1)
		return -1;
	return (int64_t)t * 1000;
}

/* ---- origins ------------------------------------------------------------ */

struct origin {
	const char	*scheme;
	size_t		 schemelen;
	const char	*host;
	size_t		 hostlen;
	long		 port;
};

/* The scheme, host and port of an http(s) URL; -1 if it is not one, or
 * has user info or odd characters. */
static int
url_origin(const char *url, struct origin *o)
{
	const char *p, *auth, *end, *colon = NULL;
	char *pe;
	size_t i;

	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return -1;
	if ((p = strstr(url, "://")) == NULL)
		return -1;
	o->scheme = url;
	o->schemelen = (size_t)(p - url);
	if (!(o->schemelen == 5 && strncasecmp(url, "https", 5) == 0) &&
	    !(o->schemelen == 4 && strncasecmp(url, "http", 4) == 0))
		return -1;
	auth = p + 3;
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return -1;
	if (*auth == '[') {
		if ((p = memchr(auth, ']', (size_t)(end - auth))) == NULL)
			return -1;
		if (p + 1 < end)
			colon = p + 1;
		p++;
	} else {
		colon = memchr(auth, ':', (size_t)(end - auth));
		p = colon != NULL ? colon : end;
	}
	o->host = auth;
	o->hostlen = (size_t)(p - auth);
	if (o->hostlen == 0)
		return -1;
	o->port = o->schemelen == 5 ? 443 : 80;
	if (colon != NULL) {
		if (*colon != ':' || colon + 1 == end)
			return -1;
		o->port = strtol(colon + 1, &pe, 10);
		if (pe != end || o->port <= 0 || o->port > 65535)
			return -1;
	}
	return 0;
}

int
http_same_origin(const char *base, const char *url)
{
	struct origin a, b;

	if (url_origin(base, &a) == -1 || url_origin(url, &b) == -1)
		return 0;
	return a.schemelen == b.schemelen &&
	    strncasecmp(a.scheme, b.scheme, a.schemelen) == 0 &&
	    a.hostlen == b.hostlen &&
	    strncasecmp(a.host, b.host, a.hostlen) == 0 && a.port == b.port;
}

int64_t
http_header_num(const struct http_response *r, const char *name)
{
	const char *s;
	char *end;
	long long v;

	if ((s = http_header(r, name)) == NULL)
		return -1;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	return *end == '\0' ? (int64_t)v : -1;
}
