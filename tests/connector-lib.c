/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "connector-lib.h"
#include "xmalloc.h"

/*
 * The fake HTTP client and the fake poll job of the connectors' unit tests
 * (connector-lib.h).
 */

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the fake HTTP client ------------------------------------------------ */

struct http_call {
	struct http_call *next;
	struct http	*h;
	size_t		 req;		/* its index in h->reqs */
	http_done_fn	*fn;
	void		*arg;
};

struct http *
fake_http_new(const struct fake_http_opts *o)
{
	struct http *h = xcalloc(1, sizeof *h);

	if (o != NULL)
		h->opts = *o;
	return h;
}

static void
request_clear(struct fake_request *q)
{
	size_t i;

	free(q->method);
	free(q->url);
	free(q->body);
	for (i = 0; i < q->nheaders; i++)
		free(q->headers[i]);
	free(q->headers);
}

static void
canned_clear(struct fake_canned *k)
{
	size_t i;

	free(k->pattern);
	free(k->body);
	for (i = 0; i < k->nheaders; i++) {
		free(k->headers[i].name);
		free(k->headers[i].value);
	}
}

void
fake_http_free(struct http *h)
{
	struct http_call *c;
	size_t i;

	if (h == NULL)
		return;
	while ((c = h->queue) != NULL) {
		h->queue = c->next;
		free(c);
	}
	for (i = 0; i < h->ncanned; i++)
		canned_clear(&h->canned[i]);
	for (i = 0; i < h->nreqs; i++)
		request_clear(&h->reqs[i]);
	free(h->canned);
	free(h->reqs);
	free(h);
}

size_t
http_running(const struct http *h)
{
	const struct http_call *c;
	size_t n = 0;

	for (c = h->queue; c != NULL; c = c->next)
		n++;
	return n;
}

/* The request as made, with the URL to record (owned, taken; NULL: the
 * URL as sent). */
static void
request_record(struct fake_request *q, const struct http_request *req,
    char *url)
{
	size_t i, n = 0;

	memset(q, 0, sizeof *q);
	q->method = xstrdup(req->method != NULL ? req->method : "GET");
	q->url = url != NULL ? url : xstrdup(req->url);
	q->body = req->body != NULL ? xstrndup(req->body, req->body_len) :
	    NULL;
	while (req->headers != NULL && req->headers[n] != NULL)
		n++;
	q->headers = xcalloc(n + 1, sizeof *q->headers);
	for (i = 0; i < n; i++) {
		q->headers[i] = xstrdup(req->headers[i]);
		if (strncmp(q->headers[i], "Authorization:", 14) == 0) {
			ck_assert_ptr_null(q->auth);
			q->auth = q->headers[i];
		}
	}
	q->nheaders = n;
}

struct http_call *
http_start(struct http *h, const struct http_request *req, http_done_fn *fn,
    void *arg, char **errstr)
{
	struct http_call *c, **p;
	char *url = NULL;

	if (h->opts.one_per_job)
		for (c = h->queue; c != NULL; c = c->next)
			ck_assert_msg(c->arg != arg,
			    "a second request of one job: %s", req->url);
	if (h->opts.get_only)
		ck_assert_ptr_null(req->method);
	if (h->opts.on_start != NULL)
		url = h->opts.on_start(req, h->opts.ctx);
	h->reqs = xreallocarray(h->reqs, h->nreqs + 1, sizeof *h->reqs);
	request_record(&h->reqs[h->nreqs], req, url);
	c = xcalloc(1, sizeof *c);
	c->h = h;
	c->req = h->nreqs++;
	c->fn = fn;
	c->arg = arg;
	for (p = &h->queue; *p != NULL; p = &(*p)->next)
		;
	*p = c;
	return c;
}

void
http_cancel(struct http_call *call)
{
	struct http *h = call->h;
	struct http_call **p;

	for (p = &h->queue; *p != NULL && *p != call; p = &(*p)->next)
		;
	ck_assert_msg(*p != NULL, "http_cancel of a call not in flight");
	*p = call->next;
	free(call);
	h->ncancelled++;
}

void
fake_http_respond_len(struct http *h, const char *pattern, long status,
    const char *body, size_t len, ...)
{
	struct fake_canned *c;
	const char *hd, *colon;
	va_list ap;

	h->canned = xreallocarray(h->canned, h->ncanned + 1,
	    sizeof *h->canned);
	c = &h->canned[h->ncanned++];
	memset(c, 0, sizeof *c);
	c->pattern = xstrdup(pattern);
	c->status = status;
	c->body = xmalloc(len + 1);
	memcpy(c->body, body, len);
	c->body[len] = '\0';
	c->len = len;
	va_start(ap, len);
	while ((hd = va_arg(ap, const char *)) != NULL) {
		ck_assert_uint_lt(c->nheaders, NELEM(c->headers));
		colon = strchr(hd, ':');
		ck_assert_ptr_nonnull(colon);
		c->headers[c->nheaders].name = xstrndup(hd,
		    (size_t)(colon - hd));
		c->headers[c->nheaders].value = xstrdup(colon + 2);
		c->nheaders++;
	}
	va_end(ap);
}

void
fake_http_respond_error(struct http *h, const char *pattern,
    enum http_error error)
{
	fake_http_respond(h, pattern, 0, "", NULL);
	h->canned[h->ncanned - 1].error = error;
}

/* The first unused response for a URL; fails the test if there is none. */
static struct fake_canned *
canned_for(struct http *h, const char *url)
{
	size_t i;

	for (i = 0; i < h->ncanned; i++)
		if (!h->canned[i].used &&
		    strstr(url, h->canned[i].pattern) != NULL)
			return &h->canned[i];
	ck_abort_msg("no response for %s", url);
	return NULL;
}

int
fake_http_deliver(struct http *h)
{
	struct http_response r;
	struct http_call *c = h->queue;
	struct fake_canned *k;

	if (c == NULL)
		return 0;
	ck_assert_msg(!h->delivering, "deliver() inside a callback");
	h->queue = c->next;
	k = canned_for(h, h->reqs[c->req].url);
	k->used = 1;
	if (h->opts.on_deliver != NULL)
		h->opts.on_deliver(&h->reqs[c->req], h->opts.ctx);

	memset(&r, 0, sizeof r);
	r.error = k->error;
	r.errstr = k->error != HTTP_OK ? "Operation timed out" : NULL;
	r.status = k->error != HTTP_OK ? 0 : k->status;
	r.body = k->body;
	r.len = k->len;
	r.headers = k->headers;
	r.nheaders = k->nheaders;
	h->delivering = 1;
	c->fn(&r, c->arg);
	h->delivering = 0;
	free(c);
	return 1;
}

void
fake_http_assert_url(const struct http *h, size_t i, const char *url)
{
	ck_assert_uint_lt(i, h->nreqs);
	ck_assert_str_eq(h->reqs[i].url, url);
}

size_t
fake_request_count(const struct fake_request *q, const char *line)
{
	size_t i, n = 0;

	for (i = 0; i < q->nheaders; i++)
		n += strcmp(q->headers[i], line) == 0;
	return n;
}

const char *
fake_request_header(const struct fake_request *q, const char *prefix)
{
	size_t i;

	for (i = 0; i < q->nheaders; i++)
		if (strncmp(q->headers[i], prefix, strlen(prefix)) == 0)
			return q->headers[i];
	return NULL;
}

/* ---- the fake poll job --------------------------------------------------- */

void
fake_job_init(struct poll_job *job, int stream, const char *cursor,
    int64_t now)
{
	memset(job, 0, sizeof *job);
	job->stream = stream;
	job->cursor = cursor;
	job->now = now;
	job->since = now - INT64_C(24) * 3600 * 1000;
}

int
poll_job_stream(const struct poll_job *job)
{
	return job->stream;
}

const char *
poll_job_cursor(const struct poll_job *job)
{
	return job->cursor;
}

int64_t
poll_job_backfill_since(const struct poll_job *job)
{
	return job->cursor == NULL ? job->since : -1;
}

int64_t
poll_job_now(const struct poll_job *job)
{
	return job->now;
}

void
poll_job_set_data(struct poll_job *job, void *data)
{
	job->data = data;
}

void *
poll_job_data(const struct poll_job *job)
{
	return job->data;
}

int
poll_job_add(struct poll_job *job, struct msg *m, char **errstr)
{
	ck_assert_int_eq(job->ndone, 0);
	ck_assert_ptr_nonnull(m->id);
	ck_assert_ptr_nonnull(m->conversation);
	ck_assert_ptr_null(m->platform);
	ck_assert_ptr_null(m->account);
	if (m->text != NULL) {
		ck_assert_ptr_null(u8_check((const uint8_t *)m->text,
		    strlen(m->text)));
		ck_assert_uint_le(strlen(m->text), MSG_MAX_TEXT);
	}
	if (job->reject_id != NULL && strcmp(m->id, job->reject_id) == 0) {
		xasprintf(errstr, "message %s refused", m->id);
		return -1;
	}
	job->pending = xreallocarray(job->pending, job->npending + 1,
	    sizeof *job->pending);
	job->pending[job->npending++] = *m;
	memset(m, 0, sizeof *m);
	return 0;
}

static void
store_pending(struct poll_job *job)
{
	size_t i;

	job->stored = xreallocarray(job->stored, job->nstored +
	    job->npending + 1, sizeof *job->stored);
	for (i = 0; i < job->npending; i++)
		job->stored[job->nstored++] = job->pending[i];
	job->npending = 0;
}

int
poll_job_commit(struct poll_job *job, const char *cursor, char **errstr)
{
	ck_assert_int_eq(job->ndone, 0);
	ck_assert_uint_lt(job->ncommits, NELEM(job->commits));
	store_pending(job);
	job->commits[job->ncommits] = xstrdup(cursor != NULL ? cursor :
	    "(keep)");
	job->commit_nstored[job->ncommits++] = job->nstored;
	return 0;
}

void
poll_job_discard(struct poll_job *job)
{
	size_t i;

	for (i = 0; i < job->npending; i++)
		msg_clear(&job->pending[i]);
	job->npending = 0;
}

char *
poll_job_conversation_of(struct poll_job *job, const char *id)
{
	size_t i;

	job->nlookups++;
	if (job->known_id != NULL && strcmp(job->known_id, id) == 0)
		return xstrdup(job->known_root);
	for (i = 0; i < job->nstored; i++)
		if (strcmp(job->stored[i].id, id) == 0)
			return xstrdup(job->stored[i].conversation);
	return NULL;
}

void
poll_job_done(struct poll_job *job, const struct poll_result *res)
{
	ck_assert_int_eq(job->ndone, 0);
	ck_assert_ptr_null(job->data);
	job->ndone++;
	job->result = *res;
	job->result.error = xstrdup_or_null(res->error);
	job->result.cursor = xstrdup_or_null(res->cursor);
	if (res->status == POLL_OK)
		store_pending(job);
	else
		poll_job_discard(job);
}

void
fake_job_clear(struct poll_job *job)
{
	size_t i;

	poll_job_discard(job);
	for (i = 0; i < job->nstored; i++)
		msg_clear(&job->stored[i]);
	free(job->stored);
	free(job->pending);
	for (i = 0; i < job->ncommits; i++)
		free(job->commits[i]);
	free((char *)job->result.error);
	free((char *)job->result.cursor);
	memset(job, 0, sizeof *job);
}

const struct msg *
fake_job_stored(const struct poll_job *job, const char *id)
{
	size_t i;

	for (i = 0; i < job->nstored; i++)
		if (strcmp(job->stored[i].id, id) == 0)
			return &job->stored[i];
	ck_abort_msg("message %s was not stored", id);
	return NULL;
}

void
fake_job_run(struct poll_job *job, struct http *h, int max)
{
	int n = 0;

	while (job->ndone == 0 && fake_http_deliver(h))
		ck_assert_int_lt(++n, max);
	ck_assert_msg(job->ndone == 1, "the poll did not end");
	ck_assert_uint_eq(http_running(h), 0);
}
