/* SPDX-License-Identifier: ISC */
/*
 * HTTP responses as the connectors see them: the header lines go through
 * the client's own header callback and the body through its write
 * callback (http.c is included: both are static there), then through
 * what connectors ask of a response: http_header, http_link,
 * http_retry_after, connector_http_status (which reads the platform's
 * error text from the body) and jget_parse and the jget_* accessors.
 *
 * The input: header lines, each ending in LF (CRLF too), as libcurl hands
 * them over, the first one usually "HTTP/1.1 200"; an empty line; the
 * body.
 */
#include "../daemon/http.c"

#include <stdint.h>

#include "connector.h"
#include "fuzz.h"
#include "jsonget.h"

#define NOW_MS		INT64_C(1786701600000)	/* 2026-08-14T10:00:00Z */

static const char *const names[] = {
	"error", "message", "id", "data", "cursor", "created_at", "next",
	"count", "ok", "items", NULL
};

static void
check_string(const char *s)
{
	char *e;

	if (s == NULL)
		return;
	e = http_escape(s);
	free(e);
	(void)http_url_is_loopback(s);
}

static void
check_url(char *url)
{
	const char *why = NULL;

	if (url == NULL)
		return;
	if (http_url_check(url, &why) == -1 && why == NULL)
		abort();
	check_string(url);
	free(url);
}

/* Every accessor on every member name we know, of o and its items. */
static void
walk(const cJSON *o, int depth)
{
	const cJSON *c;
	char *err;
	int64_t v;
	int b;
	size_t i;

	if (o == NULL || depth > 3)
		return;
	for (i = 0; names[i] != NULL; i++) {
		err = NULL;
		(void)jget_string(o, "x", names[i], i & 1, 64, &err);
		free(err);
		err = NULL;
		(void)jget_int(o, "x", names[i], i & 1, -5, INT64_MAX, &v,
		    &err);
		free(err);
		err = NULL;
		(void)jget_time(o, "x", names[i], 0, &v, &err);
		free(err);
		err = NULL;
		(void)jget_bool(o, "x", names[i], 0, &b, &err);
		free(err);
		err = NULL;
		walk(jget_object(o, "x", names[i], 0, &err), depth + 1);
		free(err);
		err = NULL;
		walk(jget_array(o, "x", names[i], 0, &err), depth + 1);
		free(err);
	}
	(void)jget_type(o);
	if (cJSON_IsArray(o))
		for (c = o->child, i = 0; c != NULL && i < 8; c = c->next, i++)
			walk(c, depth + 1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz-http", LOG_LEVEL_ERR);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http h;
	struct http_call c;
	struct http_response r;
	struct poll_result res;
	const uint8_t *line, *p = data, *end = data + size, *nl;
	char buf[512], *line_copy, *err = NULL;
	enum poll_status st;
	cJSON *doc;
	size_t n, i, chunk;
	long status = 200;

	memset(&h, 0, sizeof h);
	memset(&c, 0, sizeof c);
	h.opt.max_body = 1 << 16;
	c.h = &h;
	/* the head, line by line, as libcurl calls back */
	while (p < end) {
		line = p;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		p += n;
		if (n == 1 || (n == 2 && line[0] == '\r'))
			break;	/* the empty line */
		/* libcurl's buffer is not NUL-terminated either: a copy of
		 * exactly n bytes lets ASan see a read past it */
		line_copy = xmalloc(n);
		memcpy(line_copy, line, n);
		if (n > 9 && memcmp(line, "HTTP/", 5) == 0) {
			status = 0;
			for (i = 9; i < n && i < 12 && line[i] >= '0' &&
			    line[i] <= '9'; i++)
				status = status * 10 + (line[i] - '0');
		}
		if (header_cb(line_copy, 1, n, &c) != n)
			(void)0;	/* over the limit: curl would stop */
		free(line_copy);
	}
	/* the body, in pieces */
	for (chunk = 1; p < end; chunk *= 3) {
		n = (size_t)(end - p) < chunk ? (size_t)(end - p) : chunk;
		line_copy = xmalloc(n);
		memcpy(line_copy, p, n);
		i = write_cb(line_copy, 1, n, &c);
		free(line_copy);
		if (i != n)
			break;
		p += n;
	}

	memset(&r, 0, sizeof r);
	r.status = status;
	r.body = c.buf != NULL ? c.buf : "";
	r.len = c.len;
	r.headers = c.headers;
	r.nheaders = c.nheaders;
	for (i = 0; i < r.nheaders; i++)
		if (r.headers[i].name == NULL || r.headers[i].value == NULL)
			abort();

	check_string(http_header(&r, "Link"));
	check_string(http_header(&r, "x-ratelimit-reset"));
	check_url(http_link(&r, "next"));
	check_url(http_link(&r, "prev"));
	check_url(http_link(&r, ""));
	(void)http_retry_after(&r, NOW_MS);
	st = connector_http_status(&r, NOW_MS, buf, sizeof buf, &res);
	if (memchr(buf, '\0', sizeof buf) == NULL)
		abort();
	if ((st == POLL_OK) != (status >= 200 && status <= 299))
		abort();
	r.error = HTTP_E_NETWORK;
	r.errstr = "network";
	if (connector_http_status(&r, NOW_MS, buf, sizeof buf, &res) !=
	    POLL_RETRY)
		abort();

	if ((doc = jget_parse(r.body, r.len, &err)) != NULL) {
		if (err != NULL)
			abort();
		walk(doc, 0);
		cJSON_Delete(doc);
	} else {
		if (err == NULL)
			abort();
		free(err);
	}
	headers_clear(&c);
	free(c.buf);
	return 0;
}
