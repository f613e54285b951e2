/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "connector.h"
#include "http.h"
#include "log.h"
#include "msg.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * The Bluesky connector against a fake HTTP client and fake poll jobs.
 *
 * Requests are recorded (method, URL, headers, body) and answered from a
 * list of canned responses matched by method and URL prefix, in the order
 * they were added, but only when the test calls deliver(): never from
 * inside http_start. A job records what it is handed, what is committed
 * and how its poll ended; what a failed poll handed over is dropped, as
 * the daemon does.
 */

extern const struct connector_def connector_bluesky;

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define PDS		"https://pds.example"
#define XRPC		PDS "/xrpc/"
#define CREATE		XRPC "com.atproto.server.createSession"
#define REFRESH		XRPC "com.atproto.server.refreshSession"
#define NOTIFS		XRPC "app.bsky.notification.listNotifications" \
			    "?reasons=mention&reasons=reply&reasons=quote" \
			    "&limit=100"
#define BRAND		"did:plc:acmebrand7zyx3qwe2hvo6jp"
#define BRAND_ESC	"did%3Aplc%3Aacmebrand7zyx3qwe2hvo6jp"
#define FEED		XRPC "app.bsky.feed.getAuthorFeed?actor=" \
			    BRAND_ESC \
			    "&filter=posts_with_replies&limit=100"
#define GETLOG		XRPC "chat.bsky.convo.getLog"
#define CONVOS		XRPC "chat.bsky.convo.listConvos?limit=100"
#define MESSAGES	XRPC "chat.bsky.convo.getMessages?convoId="
#define DANA		"did:plc:4ftjqk2bnydcuzrn6fvxkcmx"
#define LEE		"did:plc:7h3nw5lq2ymmcxqk4ytz3bn2"
#define POST(did, rkey)	"at://" did "/app.bsky.feed.post/" rkey
#define PASSWORD	"app-pass \"w0rd\"\\x"
#define PROXY		"did:web:api.bsky.chat#bsky_chat"
#define NOW_S		"2026-08-14T10:00:00Z"
#define MINUTE		(INT64_C(60) * 1000)
#define HOUR		(60 * MINUTE)
#define CONVO		"3lwq7zq2wqd2b"

/* ---- the fake HTTP client ------------------------------------------------ */

struct http {
	int	 unused;
};

struct http_call {
	struct http_call *next;
	http_done_fn	*fn;
	void		*arg;
	size_t		 req;		/* index in fk.reqs */
};

struct req {
	char	*method;
	char	*url;
	char	*headers;	/* "Name: value\n" each */
	char	*body;
};

struct canned {
	char		*method;
	char		*prefix;
	long		 status;
	enum http_error	 error;
	char		*body;
	struct http_header hdrs[4];
	size_t		 nhdrs;
	int		 used;
};

static struct {
	struct http	 http;
	struct http_call *pending;	/* FIFO */
	struct req	 reqs[64];
	size_t		 nreqs;
	struct canned	 canned[32];
	size_t		 ncanned;
	size_t		 cancelled;
} fk;

struct http *
http_new(uv_loop_t *loop, const struct http_options *o, char **errstr)
{
	(void)loop;
	(void)o;
	(void)errstr;
	return &fk.http;
}

void
http_free(struct http *h)
{
	(void)h;
}

size_t
http_running(const struct http *h)
{
	struct http_call *c;
	size_t n = 0;

	(void)h;
	for (c = fk.pending; c != NULL; c = c->next)
		n++;
	return n;
}

struct http_call *
http_start(struct http *h, const struct http_request *r, http_done_fn *fn,
    void *arg, char **errstr)
{
	struct http_call *c, **pp;
	struct req *q;
	size_t i, len = 0;

	(void)errstr;
	ck_assert_ptr_eq(h, &fk.http);
	ck_assert_uint_lt(fk.nreqs, NELEM(fk.reqs));
	q = &fk.reqs[fk.nreqs];
	q->method = xstrdup(r->method != NULL ? r->method : "GET");
	q->url = xstrdup(r->url);
	for (i = 0; r->headers != NULL && r->headers[i] != NULL; i++)
		len += strlen(r->headers[i]) + 1;
	q->headers = xcalloc(1, len + 1);
	for (i = 0; r->headers != NULL && r->headers[i] != NULL; i++) {
		strcat(q->headers, r->headers[i]);
		strcat(q->headers, "\n");
	}
	q->body = r->body != NULL ? xstrndup(r->body, r->body_len) : NULL;
	c = xcalloc(1, sizeof *c);
	c->fn = fn;
	c->arg = arg;
	c->req = fk.nreqs++;
	for (pp = &fk.pending; *pp != NULL; pp = &(*pp)->next)
		continue;
	*pp = c;
	return c;
}

void
http_cancel(struct http_call *call)
{
	struct http_call **pp;

	for (pp = &fk.pending; *pp != NULL; pp = &(*pp)->next)
		if (*pp == call) {
			*pp = call->next;
			free(call);
			fk.cancelled++;
			return;
		}
	ck_abort_msg("http_cancel of a call that is not running");
}

/* Answer requests matching method and URL prefix, in this order. Extra
 * headers: "Name", "value" pairs, NULL-terminated. */
static void
respond_v(const char *method, const char *prefix, long status,
    enum http_error error, const char *body, va_list ap)
{
	struct canned *c;
	const char *n;

	ck_assert_uint_lt(fk.ncanned, NELEM(fk.canned));
	c = &fk.canned[fk.ncanned++];
	memset(c, 0, sizeof *c);
	c->method = xstrdup(method);
	c->prefix = xstrdup(prefix);
	c->status = status;
	c->error = error;
	c->body = xstrdup(body != NULL ? body : "");
	while ((n = va_arg(ap, const char *)) != NULL) {
		ck_assert_uint_lt(c->nhdrs, NELEM(c->hdrs));
		c->hdrs[c->nhdrs].name = xstrdup(n);
		c->hdrs[c->nhdrs].value = xstrdup(va_arg(ap, const char *));
		c->nhdrs++;
	}
}

static void
respond(const char *method, const char *prefix, long status,
    const char *body, ...)
{
	va_list ap;

	va_start(ap, body);
	respond_v(method, prefix, status, HTTP_OK, body, ap);
	va_end(ap);
}

/* The same, taking the body. */
static void
respond_own(const char *method, const char *prefix, long status, char *body)
{
	respond(method, prefix, status, body, NULL);
	free(body);
}

static void
respond_error(const char *method, const char *prefix, enum http_error e)
{
	struct canned *c;

	respond(method, prefix, 0, "", NULL);
	c = &fk.canned[fk.ncanned - 1];
	c->error = e;
}

/* Answer the oldest request in flight whose URL starts with prefix (NULL:
 * any); 0 if there is none. */
static int
deliver_match(const char *prefix)
{
	struct http_call *c, **pp;
	struct http_response resp;
	struct canned *k = NULL;
	struct req *q;
	size_t i;

	for (pp = &fk.pending; (c = *pp) != NULL; pp = &c->next)
		if (prefix == NULL || strncmp(fk.reqs[c->req].url, prefix,
		    strlen(prefix)) == 0)
			break;
	if (c == NULL)
		return 0;
	*pp = c->next;
	q = &fk.reqs[c->req];
	for (i = 0; i < fk.ncanned; i++) {
		k = &fk.canned[i];
		if (!k->used && strcmp(k->method, q->method) == 0 &&
		    strncmp(q->url, k->prefix, strlen(k->prefix)) == 0)
			break;
	}
	ck_assert_msg(i < fk.ncanned, "no response for %s %s", q->method,
	    q->url);
	k->used = 1;
	memset(&resp, 0, sizeof resp);
	resp.error = k->error;
	resp.errstr = k->error != HTTP_OK ? "Operation timed out" : NULL;
	resp.status = k->error == HTTP_OK ? k->status : 0;
	resp.body = k->body;
	resp.len = strlen(k->body);
	resp.headers = k->hdrs;
	resp.nheaders = k->nhdrs;
	c->fn(&resp, c->arg);
	free(c);
	return 1;
}

static int
deliver(void)
{
	return deliver_match(NULL);
}

static void
run(void)
{
	int n = 0;

	while (deliver())
		ck_assert_int_lt(++n, 200);
}

static size_t
unused_responses(void)
{
	size_t i, n = 0;

	for (i = 0; i < fk.ncanned; i++)
		n += !fk.canned[i].used;
	return n;
}

static size_t
count_requests(const char *prefix)
{
	size_t i, n = 0;

	for (i = 0; i < fk.nreqs; i++)
		n += strncmp(fk.reqs[i].url, prefix, strlen(prefix)) == 0;
	return n;
}

static void
assert_request(size_t i, const char *method, const char *url)
{
	ck_assert_uint_lt(i, fk.nreqs);
	ck_assert_str_eq(fk.reqs[i].method, method);
	ck_assert_str_eq(fk.reqs[i].url, url);
}

static int
has_header(size_t i, const char *line)
{
	char *want;
	int found;

	xasprintf(&want, "%s\n", line);
	found = strstr(fk.reqs[i].headers, want) != NULL;
	free(want);
	return found;
}

static int
has_header_name(size_t i, const char *name)
{
	const char *h = fk.reqs[i].headers;
	size_t n = strlen(name);

	for (; *h != '\0'; h = strchr(h, '\n') + 1)
		if (strncasecmp(h, name, n) == 0 && h[n] == ':')
			return 1;
	return 0;
}

static int
has_bearer(size_t i, const char *token)
{
	char *want;
	int found;

	xasprintf(&want, "Authorization: Bearer %s", token);
	found = has_header(i, want);
	free(want);
	return found;
}

/* ---- the fake poll job --------------------------------------------------- */

struct poll_job {
	int		 stream;
	const char	*cursor;
	int64_t		 since;
	int64_t		 now;
	void		*data;
	struct msg	 pending[64];
	size_t		 npending;
	int		 done;
	enum poll_status status;
	char		*error;
	char		*new_cursor;
	int64_t		 retry_at;
	struct poll_ratelimit rl;
};

static struct msg stored[128];
static size_t nstored;
static size_t commits;

int
poll_job_stream(const struct poll_job *j)
{
	return j->stream;
}

const char *
poll_job_cursor(const struct poll_job *j)
{
	return j->cursor;
}

int64_t
poll_job_backfill_since(const struct poll_job *j)
{
	return j->since;
}

int64_t
poll_job_now(const struct poll_job *j)
{
	return j->now;
}

void
poll_job_set_data(struct poll_job *j, void *data)
{
	j->data = data;
}

void *
poll_job_data(const struct poll_job *j)
{
	return j->data;
}

int
poll_job_add(struct poll_job *j, struct msg *m, char **errstr)
{
	ck_assert_msg(!j->done, "a message after the poll ended");
	if (m->id == NULL || m->conversation == NULL ||
	    m->created_ms < INT64_C(946684800000)) {
		xasprintf(errstr, "message: invalid");
		msg_clear(m);
		return -1;
	}
	ck_assert_uint_lt(j->npending, NELEM(j->pending));
	j->pending[j->npending++] = *m;
	memset(m, 0, sizeof *m);
	return 0;
}

static void
store_pending(struct poll_job *j)
{
	size_t i;

	for (i = 0; i < j->npending; i++) {
		ck_assert_uint_lt(nstored, NELEM(stored));
		stored[nstored++] = j->pending[i];
	}
	j->npending = 0;
}

int
poll_job_commit(struct poll_job *j, const char *cursor, char **errstr)
{
	(void)errstr;
	store_pending(j);
	free(j->new_cursor);
	j->new_cursor = xstrdup_or_null(cursor);
	commits++;
	return 0;
}

void
poll_job_discard(struct poll_job *j)
{
	size_t i;

	for (i = 0; i < j->npending; i++)
		msg_clear(&j->pending[i]);
	j->npending = 0;
}

char *
poll_job_conversation_of(struct poll_job *j, const char *id)
{
	(void)j;
	(void)id;
	return NULL;
}

void
poll_job_done(struct poll_job *j, const struct poll_result *r)
{
	ck_assert_msg(!j->done, "poll_job_done twice");
	j->done = 1;
	j->status = r->status;
	j->error = xstrdup_or_null(r->error);
	j->retry_at = r->retry_at_ms;
	j->rl = r->rl;
	if (r->status == POLL_OK) {
		store_pending(j);
		if (r->cursor != NULL) {
			free(j->new_cursor);
			j->new_cursor = xstrdup(r->cursor);
		}
		commits++;
	} else {
		ck_assert_ptr_null(r->cursor);
		ck_assert_ptr_nonnull(r->error);
		poll_job_discard(j);
	}
}

/* ---- fixtures ------------------------------------------------------------ */

static struct conf_account account;
static struct connector_env env;
static void *conn;
static struct poll_job jobs[4];
static size_t njobs;
static int64_t now;
static char *tokens[16];
static size_t ntokens;

static int64_t
at(const char *s)
{
	int64_t ms;

	ck_assert_msg(timefmt_parse_rfc3339(s, &ms) == 0, "bad time %s", s);
	return ms;
}

static void
setup(void)
{
	memset(&fk, 0, sizeof fk);
	memset(jobs, 0, sizeof jobs);
	njobs = 0;
	nstored = 0;
	commits = 0;
	ntokens = 0;
	now = at(NOW_S);
	memset(&account, 0, sizeof account);
	account.name = "acme";
	account.connector = "bluesky";
	account.url = PDS "/";
	account.handle = "acme.example";
	account.chat_proxy = PROXY;
	account.poll_interval_ms = MINUTE;
	account.backfill_ms = 24 * HOUR;
	env.account = &account;
	env.secret = PASSWORD;
	env.http = &fk.http;
	env.loop = NULL;
}

static void
new_connector(void)
{
	char *err = NULL;

	conn = connector_bluesky.new(&env, &err);
	ck_assert_msg(conn != NULL, "new: %s", err);
}

static void
teardown(void)
{
	size_t i, j;

	if (conn != NULL)
		connector_bluesky.free(conn);
	conn = NULL;
	ck_assert_ptr_null(fk.pending);
	for (i = 0; i < fk.nreqs; i++) {
		free(fk.reqs[i].method);
		free(fk.reqs[i].url);
		free(fk.reqs[i].headers);
		free(fk.reqs[i].body);
	}
	for (i = 0; i < fk.ncanned; i++) {
		free(fk.canned[i].method);
		free(fk.canned[i].prefix);
		free(fk.canned[i].body);
		for (j = 0; j < fk.canned[i].nhdrs; j++) {
			free(fk.canned[i].hdrs[j].name);
			free(fk.canned[i].hdrs[j].value);
		}
	}
	for (i = 0; i < njobs; i++) {
		poll_job_discard(&jobs[i]);
		free(jobs[i].error);
		free(jobs[i].new_cursor);
	}
	for (i = 0; i < nstored; i++)
		msg_clear(&stored[i]);
	for (i = 0; i < ntokens; i++)
		free(tokens[i]);
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A JWT whose payload says exp (seconds) and tag; kept until teardown. */
static const char *
jwt(int64_t exp_ms, const char *tag)
{
	char payload[256], enc[400], *t;
	size_t i, n, o = 0;
	uint32_t v;

	n = (size_t)snprintf(payload, sizeof payload, "{\"scope\":\"com.atproto"
	    ".appPass\",\"sub\":\"" BRAND "\",\"exp\":%lld,\"jti\":\"%s\"}",
	    (long long)(exp_ms / 1000), tag);
	for (i = 0; i < n; i += 3) {
		v = (uint32_t)(unsigned char)payload[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)(unsigned char)payload[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)payload[i + 2];
		enc[o++] = b64url[(v >> 18) & 63];
		enc[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < n)
			enc[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < n)
			enc[o++] = b64url[v & 63];
	}
	enc[o] = '\0';
	xasprintf(&t, "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJIUzI1NiJ9.%s.c2ln", enc);
	ck_assert_uint_lt(ntokens, NELEM(tokens));
	tokens[ntokens++] = t;
	return t;
}

static char *
session_body(const char *access, const char *refresh)
{
	char *s;

	xasprintf(&s, "{\"did\":\"" BRAND "\",\"handle\":\"acme.example\","
	    "\"email\":\"acme@example.com\",\"accessJwt\":\"%s\","
	    "\"refreshJwt\":\"%s\",\"active\":true}", access, refresh);
	return s;
}

static void
respond_login(const char *access, const char *refresh)
{
	respond_own("POST", CREATE, 200, session_body(access, refresh));
}

static struct poll_job *
start_at(int stream, const char *cursor, int64_t when)
{
	struct poll_job *j;

	ck_assert_uint_lt(njobs, NELEM(jobs));
	j = &jobs[njobs++];
	j->stream = stream;
	j->cursor = cursor;
	j->now = when;
	j->since = cursor == NULL ? when - 24 * HOUR : -1;
	connector_bluesky.poll(conn, j);
	ck_assert_msg(!j->done || j->status != POLL_OK,
	    "the poll ended before any request");
	return j;
}

static struct poll_job *
start(int stream, const char *cursor)
{
	return start_at(stream, cursor, now);
}

static void
assert_ok(const struct poll_job *j)
{
	ck_assert_msg(j->done, "the poll has not ended");
	ck_assert_msg(j->status == POLL_OK, "status %d: %s", j->status,
	    j->error != NULL ? j->error : "");
}

static void
assert_status(const struct poll_job *j, enum poll_status st,
    const char *error)
{
	ck_assert_msg(j->done, "the poll has not ended");
	ck_assert_msg(j->status == st, "status %d, not %d: %s", j->status, st,
	    j->error != NULL ? j->error : "");
	if (error != NULL)
		ck_assert_str_eq(j->error, error);
}

static const struct msg *
find(const char *id)
{
	size_t i;

	for (i = 0; i < nstored; i++)
		if (strcmp(stored[i].id, id) == 0)
			return &stored[i];
	ck_abort_msg("message %s was not stored", id);
	return NULL;
}

static void
assert_opt_str(const char *got, const char *want)
{
	if (want == NULL)
		ck_assert_ptr_null(got);
	else {
		ck_assert_ptr_nonnull(got);
		ck_assert_str_eq(got, want);
	}
}

static void
assert_msg(const char *id, const char *conversation, enum msg_kind kind,
    enum msg_direction dir, const char *created, const char *author,
    const char *in_reply_to, const char *text, const char *url)
{
	const struct msg *m = find(id);

	ck_assert_str_eq(m->conversation, conversation);
	ck_assert_int_eq(m->kind, kind);
	ck_assert_int_eq(m->direction, dir);
	ck_assert_int_eq(m->created_ms, at(created));
	assert_opt_str(m->author, author);
	assert_opt_str(m->in_reply_to, in_reply_to);
	assert_opt_str(m->text, text);
	assert_opt_str(m->url, url);
	ck_assert_ptr_null(m->platform);
	ck_assert_ptr_null(m->account);
}

/* ---- JSON of pages ------------------------------------------------------- */

/* A post record; root and parent NULL for a post that replies to nothing. */
static cJSON *
record(const char *text, const char *created, const char *root,
    const char *parent)
{
	cJSON *r = cJSON_CreateObject(), *reply, *ref;

	cJSON_AddStringToObject(r, "$type", "app.bsky.feed.post");
	if (text != NULL)
		cJSON_AddStringToObject(r, "text", text);
	if (created != NULL)
		cJSON_AddStringToObject(r, "createdAt", created);
	cJSON_AddItemToObject(r, "langs", cJSON_CreateStringArray(
	    (const char *[]){ "en" }, 1));
	if (root != NULL) {
		reply = cJSON_AddObjectToObject(r, "reply");
		ref = cJSON_AddObjectToObject(reply, "root");
		cJSON_AddStringToObject(ref, "uri", root);
		cJSON_AddStringToObject(ref, "cid", "bafyreiroot");
		ref = cJSON_AddObjectToObject(reply, "parent");
		cJSON_AddStringToObject(ref, "uri", parent);
		cJSON_AddStringToObject(ref, "cid", "bafyreiparent");
	}
	return r;
}

static cJSON *
author(const char *did, const char *handle)
{
	cJSON *a = cJSON_CreateObject();

	cJSON_AddStringToObject(a, "did", did);
	if (handle != NULL)
		cJSON_AddStringToObject(a, "handle", handle);
	cJSON_AddStringToObject(a, "displayName", "Someone");
	return a;
}

static cJSON *
notif(const char *uri, const char *did, const char *handle,
    const char *reason, const char *indexed, cJSON *rec)
{
	cJSON *n = cJSON_CreateObject();

	cJSON_AddStringToObject(n, "uri", uri);
	cJSON_AddStringToObject(n, "cid", "bafyreinotif");
	cJSON_AddItemToObject(n, "author", author(did, handle));
	cJSON_AddStringToObject(n, "reason", reason);
	cJSON_AddItemToObject(n, "record", rec);
	cJSON_AddBoolToObject(n, "isRead", 0);
	cJSON_AddStringToObject(n, "indexedAt", indexed);
	cJSON_AddItemToObject(n, "labels", cJSON_CreateArray());
	return n;
}

/* A plain mention by Lee, created one second before it was indexed. */
static cJSON *
mention(const char *rkey, const char *indexed)
{
	char uri[200], created[40];

	snprintf(uri, sizeof uri, POST(LEE, "%s"), rkey);
	timefmt_format_rfc3339(at(indexed) - 1000, created, sizeof created);
	return notif(uri, LEE, "lee.example.com", "mention", indexed,
	    record("@acme.example hello", created, NULL, NULL));
}

static cJSON *
feed_post(const char *uri, const char *did, const char *handle,
    const char *indexed, cJSON *rec)
{
	cJSON *item = cJSON_CreateObject(), *p;

	p = cJSON_AddObjectToObject(item, "post");
	cJSON_AddStringToObject(p, "uri", uri);
	cJSON_AddStringToObject(p, "cid", "bafyreipost");
	cJSON_AddItemToObject(p, "author", author(did, handle));
	cJSON_AddItemToObject(p, "record", rec);
	cJSON_AddNumberToObject(p, "replyCount", 0);
	cJSON_AddStringToObject(p, "indexedAt", indexed);
	return item;
}

/* {"LIST":[items…],"cursor":CURSOR} as text; items NULL-terminated. */
static cJSON *
page_tree(const char *list, const char *cursor, va_list ap)
{
	cJSON *doc = cJSON_CreateObject(), *arr, *it;

	arr = cJSON_AddArrayToObject(doc, list);
	while ((it = va_arg(ap, cJSON *)) != NULL)
		cJSON_AddItemToArray(arr, it);
	if (cursor != NULL)
		cJSON_AddStringToObject(doc, "cursor", cursor);
	return doc;
}

static char *
page(const char *list, const char *cursor, ...)
{
	va_list ap;
	cJSON *doc;
	char *s;

	va_start(ap, cursor);
	doc = page_tree(list, cursor, ap);
	va_end(ap);
	s = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return s;
}

/* The reference's listNotifications example (platform-apis.md §6.5). */
static const char example_notifications[] =
    "{\"notifications\":[{\"uri\":\"at://did:plc:4ftjqk2bnydcuzrn6fvxkcmx/"
    "app.bsky.feed.post/3lwq7xk2ajc2s\",\"cid\":\"bafyreigh7yods3ndcg7gmhu5"
    "cvpm2xfmtkvlmxdmpx5agtkrz6rv7sxcyq\",\"author\":{\"did\":\"did:plc:"
    "4ftjqk2bnydcuzrn6fvxkcmx\",\"handle\":\"dana.bsky.social\","
    "\"displayName\":\"Dana K\",\"indexedAt\":\"2026-01-02T10:00:00.000Z\","
    "\"createdAt\":\"2025-11-01T08:00:00.000Z\"},\"reason\":\"reply\","
    "\"reasonSubject\":\"at://did:plc:acmebrand7zyx3qwe2hvo6jp/app.bsky."
    "feed.post/3lwq6abcd2k2a\",\"record\":{\"$type\":\"app.bsky.feed.post\","
    "\"text\":\"my order never arrived :(\",\"createdAt\":\"2026-08-14T09:31:"
    "07.512Z\",\"langs\":[\"en\"],\"reply\":{\"root\":{\"uri\":\"at://did:"
    "plc:acmebrand7zyx3qwe2hvo6jp/app.bsky.feed.post/3lwq6abcd2k2a\","
    "\"cid\":\"bafyreiaaa5e2mgyxylvjrpaqxmyw2xq3xq6ngoqd3xbqvfz7xmbe3kkzre\""
    "},\"parent\":{\"uri\":\"at://did:plc:acmebrand7zyx3qwe2hvo6jp/app.bsky."
    "feed.post/3lwq6abcd2k2a\",\"cid\":\"bafyreiaaa5e2mgyxylvjrpaqxmyw2xq3x"
    "q6ngoqd3xbqvfz7xmbe3kkzre\"}}},\"isRead\":false,\"indexedAt\":\"2026-"
    "08-14T09:31:08.201Z\",\"labels\":[]},{\"uri\":\"at://did:plc:7h3nw5lq2"
    "ymmcxqk4ytz3bn2/app.bsky.feed.post/3lwq7vvq3e22c\",\"cid\":\"bafyreib2"
    "rxk3rh6kzwq7xjjqj6vq3k4d4xw5u6v7w8x9y0z1a2b3c4d5e6\",\"author\":{"
    "\"did\":\"did:plc:7h3nw5lq2ymmcxqk4ytz3bn2\",\"handle\":\"lee.example."
    "com\"},\"reason\":\"mention\",\"record\":{\"$type\":\"app.bsky.feed."
    "post\",\"text\":\"@acme.example any ETA on the outage?\",\"createdAt\":"
    "\"2026-08-14T09:29:40.000Z\",\"facets\":[{\"index\":{\"byteStart\":0,"
    "\"byteEnd\":13},\"features\":[{\"$type\":\"app.bsky.richtext.facet#"
    "mention\",\"did\":\"did:plc:acmebrand7zyx3qwe2hvo6jp\"}]}]},\"isRead\":"
    "true,\"indexedAt\":\"2026-08-14T09:29:41.004Z\"}],\"cursor\":\"2026-08-"
    "14T09:29:41.004Z\",\"priority\":false,\"seenAt\":\"2026-08-14T09:30:00."
    "000Z\"}";

/* The reference's getMessages example. */
static const char example_messages[] =
    "{\"messages\":[{\"$type\":\"chat.bsky.convo.defs#messageView\",\"id\":"
    "\"3lwq84kyo3c2d\",\"rev\":\"2226ahbfb4kx2\",\"text\":\"Hi Dana, could "
    "you share the email on the order?\",\"sender\":{\"did\":\"did:plc:"
    "acmebrand7zyx3qwe2hvo6jp\"},\"sentAt\":\"2026-08-14T09:40:05.002Z\"},"
    "{\"$type\":\"chat.bsky.convo.defs#messageView\",\"id\":\"3lwq83ffd6b2c"
    "\",\"rev\":\"2226ahbf7bnvl\",\"text\":\"Order 4411, still nothing\","
    "\"sender\":{\"did\":\"did:plc:4ftjqk2bnydcuzrn6fvxkcmx\"},\"sentAt\":"
    "\"2026-08-14T09:38:33.120Z\"}],\"cursor\":\"3lwq83ffd6b2c\"}";

/* The reference's listConvos example plus an old conversation. */
static const char example_convos[] =
    "{\"convos\":[{\"id\":\"3lwq7zq2wqd2b\",\"rev\":\"2226ahbf7bnvl\","
    "\"members\":[{\"did\":\"did:plc:acmebrand7zyx3qwe2hvo6jp\",\"handle\":"
    "\"acme.example\"},{\"did\":\"did:plc:4ftjqk2bnydcuzrn6fvxkcmx\","
    "\"handle\":\"dana.bsky.social\",\"displayName\":\"Dana K\"}],"
    "\"lastMessage\":{\"$type\":\"chat.bsky.convo.defs#messageView\",\"id\":"
    "\"3lwq83ffd6b2c\",\"rev\":\"2226ahbf7bnvl\",\"text\":\"Order 4411, "
    "still nothing\",\"sender\":{\"did\":\"did:plc:4ftjqk2bnydcuzrn6fvxkcmx"
    "\"},\"sentAt\":\"2026-08-14T09:38:33.120Z\"},\"muted\":false,\"status\":"
    "\"accepted\",\"unreadCount\":1,\"kind\":{\"$type\":\"chat.bsky.convo."
    "defs#directConvo\"}},{\"id\":\"oldconvo\",\"rev\":\"2225aaaaaaaaa\","
    "\"members\":[],\"lastMessage\":{\"$type\":\"chat.bsky.convo.defs#"
    "messageView\",\"id\":\"old1\",\"rev\":\"2225aaaaaaaaa\",\"text\":\"hi\","
    "\"sender\":{\"did\":\"did:plc:someoneelse\"},\"sentAt\":\"2026-07-01T"
    "00:00:00.000Z\"},\"muted\":false,\"unreadCount\":0},{\"id\":\"empty\","
    "\"rev\":\"2225aaaaaaaab\",\"members\":[],\"muted\":false,\"unreadCount\":"
    "0}],\"cursor\":\"cv2\"}";

/* A chat log entry: logCreateMessage of a messageView. */
static cJSON *
log_create(const char *rev, const char *id, const char *sender,
    const char *sent, const char *type)
{
	cJSON *e = cJSON_CreateObject(), *m;

	cJSON_AddStringToObject(e, "$type", "chat.bsky.convo.defs#"
	    "logCreateMessage");
	cJSON_AddStringToObject(e, "rev", rev);
	cJSON_AddStringToObject(e, "convoId", CONVO);
	m = cJSON_AddObjectToObject(e, "message");
	cJSON_AddStringToObject(m, "$type", type);
	cJSON_AddStringToObject(m, "id", id);
	cJSON_AddStringToObject(m, "rev", rev);
	if (strcmp(type, "chat.bsky.convo.defs#messageView") == 0)
		cJSON_AddStringToObject(m, "text", "text of a message");
	cJSON_AddItemToObject(cJSON_AddObjectToObject(m, "sender"), "did",
	    cJSON_CreateString(sender));
	cJSON_AddStringToObject(m, "sentAt", sent);
	return e;
}

#define MV	"chat.bsky.convo.defs#messageView"

static void
login_and_first_poll(void)
{
	struct poll_job *j;

	respond_login(jwt(now + 2 * HOUR, "a1"), jwt(now + 90 * 24 * HOUR,
	    "r1"));
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	j = start(0, NULL);
	run();
	assert_ok(j);
	ck_assert_ptr_null(j->new_cursor);
}

/* ---- tests --------------------------------------------------------------- */

START_TEST(def)
{
	ck_assert_str_eq(connector_bluesky.name, "bluesky");
	ck_assert_str_eq(connector_bluesky.platform, "bluesky");
	ck_assert_str_eq(connector_bluesky.streams[0], "notifications");
	ck_assert_str_eq(connector_bluesky.streams[1], "posts");
	ck_assert_str_eq(connector_bluesky.streams[2], "chat");
	ck_assert_ptr_null(connector_bluesky.streams[3]);
	ck_assert_int_eq(connector_bluesky.needs_secret, 1);
	ck_assert_str_eq(connector_bluesky.default_url, "https://bsky.social");
}
END_TEST

START_TEST(new_needs_handle)
{
	char *err = NULL;

	account.handle = NULL;
	ck_assert_ptr_null(connector_bluesky.new(&env, &err));
	ck_assert_str_eq(err, "connector bluesky needs handle =");
	free(err);
	err = NULL;
	account.handle = "acme.example";
	account.url = "http://pds.example";
	ck_assert_ptr_null(connector_bluesky.new(&env, &err));
	ck_assert_ptr_nonnull(strstr(err, "url http://pds.example"));
	free(err);
	err = NULL;
	account.url = "http://127.0.0.1:2583";
	account.chat_proxy = "did:web:x\r\nX-Evil: 1";
	ck_assert_ptr_null(connector_bluesky.new(&env, &err));
	ck_assert_ptr_nonnull(strstr(err, "chat_proxy"));
	free(err);
	err = NULL;
	account.chat_proxy = NULL;
	env.secret = NULL;
	ck_assert_ptr_null(connector_bluesky.new(&env, &err));
	ck_assert_ptr_nonnull(strstr(err, "password_file"));
	free(err);
}
END_TEST

/* Without url and chat_proxy: bsky.social and Bluesky's chat service. */
START_TEST(new_defaults)
{
	struct poll_job *j;

	account.url = NULL;
	account.chat_proxy = NULL;
	new_connector();
	respond_own("POST", "https://bsky.social/xrpc/com.atproto.server."
	    "createSession", 200, session_body(jwt(now + 2 * HOUR, "a1"),
	    "r1"));
	respond("GET", "https://bsky.social/xrpc/chat.bsky.convo.getLog", 200,
	    "{\"logs\":[]}", NULL);
	j = start(2, "2226ahbf7bnvl");
	run();
	assert_ok(j);
	assert_request(0, "POST", "https://bsky.social/xrpc/"
	    "com.atproto.server.createSession");
	ck_assert(has_header(1, "atproto-proxy: " PROXY));
}
END_TEST

START_TEST(login_then_notifications)
{
	struct poll_job *j;
	const char *access = jwt(now + 2 * HOUR, "a1");
	cJSON *body;
	size_t i;

	new_connector();
	respond_login(access, jwt(now + 90 * 24 * HOUR, "r1"));
	respond("GET", NOTIFS, 200, example_notifications, NULL);
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	j = start(0, NULL);
	ck_assert(!j->done);
	ck_assert_uint_eq(fk.nreqs, 1);
	run();
	assert_ok(j);
	ck_assert_uint_eq(unused_responses(), 0);

	/* the session: the password escaped in a JSON body, never in a URL */
	assert_request(0, "POST", CREATE);
	ck_assert(has_header(0, "Content-Type: application/json"));
	body = cJSON_Parse(fk.reqs[0].body);
	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(cJSON_GetObjectItem(body, "identifier")->valuestring,
	    "acme.example");
	ck_assert_str_eq(cJSON_GetObjectItem(body, "password")->valuestring,
	    PASSWORD);
	cJSON_Delete(body);
	for (i = 0; i < fk.nreqs; i++) {
		ck_assert_ptr_null(strstr(fk.reqs[i].url, "w0rd"));
		ck_assert_ptr_null(strstr(fk.reqs[i].headers, "w0rd"));
	}

	/* page 1, then page 2 by the cursor; the access token as Bearer */
	ck_assert_uint_eq(fk.nreqs, 3);
	assert_request(1, "GET", NOTIFS);
	ck_assert(has_bearer(1, access));
	ck_assert(!has_header_name(1, "atproto-proxy"));
	assert_request(2, "GET", NOTIFS "&cursor=2026-08-14T09%3A29%3A41.004Z");
	ck_assert(has_bearer(2, access));

	/* the reply: its thread is the root, it answers the parent */
	ck_assert_uint_eq(nstored, 2);
	assert_msg(POST(DANA, "3lwq7xk2ajc2s"), POST(BRAND, "3lwq6abcd2k2a"),
	    MSG_BROADCAST, MSG_INBOUND, "2026-08-14T09:31:07.512Z",
	    "dana.bsky.social", POST(BRAND, "3lwq6abcd2k2a"),
	    "my order never arrived :(",
	    "https://bsky.app/profile/dana.bsky.social/post/3lwq7xk2ajc2s");
	/* the mention starts its own thread */
	assert_msg(POST(LEE, "3lwq7vvq3e22c"), POST(LEE, "3lwq7vvq3e22c"),
	    MSG_BROADCAST, MSG_INBOUND, "2026-08-14T09:29:40.000Z",
	    "lee.example.com", NULL, "@acme.example any ETA on the outage?",
	    "https://bsky.app/profile/lee.example.com/post/3lwq7vvq3e22c");
	ck_assert_str_eq(j->new_cursor, "2026-08-14T09:31:08.201Z "
	    POST(DANA, "3lwq7xk2ajc2s"));
	ck_assert_int_eq(j->retry_at, -1);
	ck_assert_int_eq(j->rl.limit, -1);
	ck_assert_int_eq(j->rl.remaining, -1);
	ck_assert_int_eq(j->rl.reset_ms, -1);
}
END_TEST

/* Likes and follows, the brand's own posts and records that are not posts
 * are passed over; a quote answers nothing; "handle.invalid" is no name. */
START_TEST(notifications_skip_and_quote)
{
	struct poll_job *j;
	cJSON *like, *follow, *own, *odd, *quote;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	like = notif("at://" DANA "/app.bsky.feed.like/3lk1", DANA,
	    "dana.bsky.social", "like", "2026-08-14T09:55:00.000Z",
	    cJSON_Parse("{\"$type\":\"app.bsky.feed.like\",\"createdAt\":"
	    "\"2026-08-14T09:54:59Z\",\"subject\":{\"uri\":\"" POST(BRAND,
	    "p1") "\",\"cid\":\"c\"}}"));
	follow = notif("at://" DANA "/app.bsky.graph.follow/3lf1", DANA,
	    "dana.bsky.social", "follow", "2026-08-14T09:54:00.000Z",
	    cJSON_Parse("{\"$type\":\"app.bsky.graph.follow\"}"));
	own = notif(POST(BRAND, "own1"), BRAND, "acme.example", "reply",
	    "2026-08-14T09:53:00.000Z", record("thanks", "2026-08-14T09:52:59Z",
	    POST(DANA, "x1"), POST(DANA, "x1")));
	odd = notif("at://" LEE "/app.bsky.feed.repost/3lr1", LEE,
	    "lee.example.com", "mention", "2026-08-14T09:52:00.000Z",
	    cJSON_Parse("{\"$type\":\"app.bsky.feed.repost\"}"));
	quote = notif(POST(DANA, "q1"), DANA, "handle.invalid", "quote",
	    "2026-08-14T09:51:00.000Z", record("look at this",
	    "2026-08-14T09:50:59.000Z", POST(LEE, "t0"), POST(LEE, "t1")));
	respond_own("GET", NOTIFS, 200, page("notifications", NULL, like,
	    follow, own, odd, quote, NULL));
	j = start(0, NULL);
	run();
	assert_ok(j);
	ck_assert_uint_eq(nstored, 1);
	assert_msg(POST(DANA, "q1"), POST(LEE, "t0"), MSG_BROADCAST,
	    MSG_INBOUND, "2026-08-14T09:50:59.000Z", DANA, NULL,
	    "look at this", "https://bsky.app/profile/" DANA "/post/q1");
	/* the watermark is the newest notification of any kind */
	ck_assert_str_eq(j->new_cursor, "2026-08-14T09:55:00.000Z at://" DANA
	    "/app.bsky.feed.like/3lk1");
}
END_TEST

START_TEST(watermark_two_pages)
{
	struct poll_job *j;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond_own("GET", NOTIFS, 200, page("notifications", "p2",
	    mention("a", "2026-08-14T09:50:00.000Z"),
	    mention("b", "2026-08-14T09:40:00.000Z"), NULL));
	respond_own("GET", NOTIFS "&cursor=p2", 200, page("notifications", "p3",
	    mention("c", "2026-08-14T09:30:00.000Z"),
	    mention("d", "2026-08-14T09:00:00.000Z"),
	    mention("wm", "2026-08-14T09:00:00.000Z"),
	    mention("e", "2026-08-14T08:50:00.000Z"), NULL));
	j = start(0, "2026-08-14T09:00:00.000Z " POST(LEE, "wm"));
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 3);
	assert_request(2, "GET", NOTIFS "&cursor=p2");
	ck_assert_uint_eq(nstored, 4);
	find(POST(LEE, "a"));
	find(POST(LEE, "b"));
	find(POST(LEE, "c"));
	/* the same time as the watermark, another post: handed over */
	find(POST(LEE, "d"));
	ck_assert_str_eq(j->new_cursor, "2026-08-14T09:50:00.000Z "
	    POST(LEE, "a"));
	ck_assert_uint_eq(commits, 1);
}
END_TEST

START_TEST(watermark_nothing_new)
{
	struct poll_job *j;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond_own("GET", NOTIFS, 200, page("notifications", "p2",
	    mention("wm", "2026-08-14T09:00:00.000Z"),
	    mention("e", "2026-08-14T08:50:00.000Z"), NULL));
	j = start(0, "2026-08-14T09:00:00.000Z " POST(LEE, "wm"));
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 2);
	ck_assert_uint_eq(nstored, 0);
	ck_assert_ptr_null(j->new_cursor);
}
END_TEST

START_TEST(bad_cursor)
{
	struct poll_job *j;

	new_connector();
	j = start(0, "no watermark here");
	assert_status(j, POLL_BAD_DATA, NULL);
	ck_assert_ptr_nonnull(strstr(j->error, "notifications cursor"));
	ck_assert_uint_eq(fk.nreqs, 0);
}
END_TEST

START_TEST(first_poll_backfill_stop)
{
	struct poll_job *j;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond_own("GET", NOTIFS, 200, page("notifications", "p2",
	    mention("a", "2026-08-14T09:50:00.000Z"),
	    mention("b", "2026-08-14T09:20:00.000Z"), NULL));
	respond_own("GET", NOTIFS "&cursor=p2", 200, page("notifications", "p3",
	    mention("c", "2026-08-14T09:10:00.000Z"),
	    mention("d", "2026-08-14T08:30:00.000Z"), NULL));
	ck_assert_uint_lt(njobs, NELEM(jobs));
	j = &jobs[njobs++];
	j->stream = 0;
	j->now = now;
	j->since = now - HOUR;
	connector_bluesky.poll(conn, j);
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 3);
	ck_assert_uint_eq(nstored, 3);
	find(POST(LEE, "a"));
	find(POST(LEE, "b"));
	find(POST(LEE, "c"));
	ck_assert_str_eq(j->new_cursor, "2026-08-14T09:50:00.000Z "
	    POST(LEE, "a"));
}
END_TEST

START_TEST(posts_stream)
{
	struct poll_job *j;
	cJSON *reply, *repost, *other, *top;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	reply = feed_post(POST(BRAND, "3lwq82m4nrs2k"), BRAND, "acme.example",
	    "2026-08-14T09:36:58.011Z", record("Sorry Dana! Check your DMs.",
	    "2026-08-14T09:36:57.000Z", POST(BRAND, "3lwq6abcd2k2a"),
	    POST(DANA, "3lwq7xk2ajc2s")));
	/* a repost of an old post: would end the paging if it counted */
	repost = feed_post(POST(DANA, "old"), DANA, "dana.bsky.social",
	    "2026-08-01T00:00:00.000Z", record("old news",
	    "2026-08-01T00:00:00.000Z", NULL, NULL));
	cJSON_AddItemToObject(repost, "reason", cJSON_Parse("{\"$type\":"
	    "\"app.bsky.feed.defs#reasonRepost\",\"by\":{\"did\":\"" BRAND
	    "\",\"handle\":\"acme.example\"},\"indexedAt\":"
	    "\"2026-08-14T09:20:00.000Z\"}"));
	other = feed_post(POST(LEE, "x"), LEE, "lee.example.com",
	    "2026-08-14T09:15:00.000Z", record("not ours",
	    "2026-08-14T09:15:00.000Z", NULL, NULL));
	top = feed_post(POST(BRAND, "top1"), BRAND, "acme.example",
	    "2026-08-14T09:10:00.000Z", record("We are back",
	    "2026-08-14T09:09:59.000Z", NULL, NULL));
	respond_own("GET", FEED, 200, page("feed", "f2", reply, repost, other,
	    top, NULL));
	respond("GET", FEED "&cursor=f2", 200, "{\"feed\":[]}", NULL);
	j = start(1, NULL);
	run();
	assert_ok(j);
	assert_request(1, "GET", FEED);
	assert_request(2, "GET", FEED "&cursor=f2");
	ck_assert_uint_eq(nstored, 2);
	assert_msg(POST(BRAND, "3lwq82m4nrs2k"), POST(BRAND, "3lwq6abcd2k2a"),
	    MSG_BROADCAST, MSG_OUTBOUND, "2026-08-14T09:36:57.000Z",
	    "acme.example", POST(DANA, "3lwq7xk2ajc2s"),
	    "Sorry Dana! Check your DMs.",
	    "https://bsky.app/profile/acme.example/post/3lwq82m4nrs2k");
	assert_msg(POST(BRAND, "top1"), POST(BRAND, "top1"), MSG_BROADCAST,
	    MSG_OUTBOUND, "2026-08-14T09:09:59.000Z", "acme.example", NULL,
	    "We are back", "https://bsky.app/profile/acme.example/post/top1");
	ck_assert_str_eq(j->new_cursor, "2026-08-14T09:36:58.011Z "
	    POST(BRAND, "3lwq82m4nrs2k"));
}
END_TEST

START_TEST(chat_first_poll)
{
	struct poll_job *j;
	size_t i;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond("GET", GETLOG, 200, "{\"logs\":[],\"cursor\":"
	    "\"2226ahbfc0000\"}", NULL);
	respond("GET", CONVOS, 200, example_convos, NULL);
	respond("GET", CONVOS "&cursor=cv2", 200,
	    "{\"convos\":[],\"cursor\":null}", NULL);
	respond("GET", MESSAGES CONVO "&limit=100", 200, example_messages,
	    NULL);
	respond("GET", MESSAGES CONVO "&limit=100&cursor=3lwq83ffd6b2c", 200,
	    "{\"messages\":[{\"$type\":\"chat.bsky.convo.defs#deletedMessage"
	    "View\",\"id\":\"del1\",\"rev\":\"2226ahbf00001\",\"sender\":{"
	    "\"did\":\"" DANA "\"},\"sentAt\":\"2026-08-14T09:30:00.000Z\"},{"
	    "\"$type\":\"" MV "\",\"id\":\"old2\",\"rev\":\"2226ahbf00000\","
	    "\"text\":\"old\",\"sender\":{\"did\":\"" DANA "\"},\"sentAt\":"
	    "\"2026-08-12T09:00:00.000Z\"}],\"cursor\":\"more\"}", NULL);
	j = start(2, NULL);
	run();
	assert_ok(j);
	ck_assert_uint_eq(unused_responses(), 0);
	ck_assert_uint_eq(fk.nreqs, 6);
	/* the log's cursor first, so that nothing falls between */
	assert_request(1, "GET", GETLOG);
	assert_request(2, "GET", CONVOS);
	assert_request(3, "GET", CONVOS "&cursor=cv2");
	assert_request(4, "GET", MESSAGES CONVO "&limit=100");
	assert_request(5, "GET", MESSAGES CONVO "&limit=100&cursor="
	    "3lwq83ffd6b2c");
	for (i = 1; i < fk.nreqs; i++) {
		ck_assert(has_header(i, "atproto-proxy: " PROXY));
		ck_assert(has_header_name(i, "Authorization"));
	}
	ck_assert_uint_eq(nstored, 2);
	assert_msg("3lwq84kyo3c2d", CONVO, MSG_DIRECT, MSG_OUTBOUND,
	    "2026-08-14T09:40:05.002Z", BRAND, NULL,
	    "Hi Dana, could you share the email on the order?", NULL);
	assert_msg("3lwq83ffd6b2c", CONVO, MSG_DIRECT, MSG_INBOUND,
	    "2026-08-14T09:38:33.120Z", DANA, NULL,
	    "Order 4411, still nothing", NULL);
	ck_assert_str_eq(j->new_cursor, "2226ahbfc0000");
}
END_TEST

START_TEST(chat_incremental)
{
	struct poll_job *j;
	cJSON *read;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	read = cJSON_Parse("{\"$type\":\"chat.bsky.convo.defs#logReadConvo\","
	    "\"rev\":\"2226ahbfb6000\",\"convoId\":\"" CONVO "\"}");
	respond_own("GET", GETLOG "?cursor=2226ahbf7bnvl", 200, page("logs",
	    "2226ahbfb7000",
	    log_create("2226ahbf7bnvl", "seen", DANA,
	    "2026-08-14T09:38:00.000Z", MV),
	    log_create("2226ahbfb4kx2", "3lwq84kyo3c2d", BRAND,
	    "2026-08-14T09:40:05.002Z", MV),
	    log_create("2226ahbfb5000", "gone", DANA,
	    "2026-08-14T09:41:00.000Z",
	    "chat.bsky.convo.defs#deletedMessageView"),
	    read,
	    log_create("2226ahbfb7000", "in2", DANA,
	    "2026-08-14T09:45:00.000Z", MV), NULL));
	respond("GET", GETLOG "?cursor=2226ahbfb7000", 200,
	    "{\"logs\":[],\"cursor\":\"2226ahbfb7000\"}", NULL);
	j = start(2, "2226ahbf7bnvl");
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 3);
	ck_assert(has_header(1, "atproto-proxy: " PROXY));
	ck_assert_uint_eq(nstored, 2);
	assert_msg("3lwq84kyo3c2d", CONVO, MSG_DIRECT, MSG_OUTBOUND,
	    "2026-08-14T09:40:05.002Z", BRAND, NULL, "text of a message", NULL);
	assert_msg("in2", CONVO, MSG_DIRECT, MSG_INBOUND,
	    "2026-08-14T09:45:00.000Z", DANA, NULL, "text of a message", NULL);
	ck_assert_str_eq(j->new_cursor, "2226ahbfb7000");
}
END_TEST

START_TEST(chat_nothing_new)
{
	struct poll_job *j;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond("GET", GETLOG "?cursor=2226ahbf7bnvl", 200,
	    "{\"logs\":[],\"cursor\":\"2226ahbf7bnvl\"}", NULL);
	j = start(2, "2226ahbf7bnvl");
	run();
	assert_ok(j);
	ck_assert_uint_eq(nstored, 0);
	ck_assert_ptr_null(j->new_cursor);
}
END_TEST

START_TEST(chat_not_available)
{
	struct poll_job *j;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond("GET", GETLOG, 404, "{\"error\":\"XRPCNotSupported\","
	    "\"message\":\"XRPCNotSupported\"}", NULL);
	j = start(2, NULL);
	run();
	assert_status(j, POLL_BAD_DATA, "chat is not available through this "
	    "PDS (XRPCNotSupported: XRPCNotSupported)");
}
END_TEST

START_TEST(expired_token_refresh_retry)
{
	struct poll_job *j;
	const char *a1 = jwt(now + 2 * HOUR, "a1"), *r1 = jwt(now + HOUR, "r1");
	const char *a2 = jwt(now + 2 * HOUR, "a2"), *r2 = jwt(now + HOUR, "r2");

	new_connector();
	respond_login(a1, r1);
	respond("GET", NOTIFS, 400, "{\"error\":\"ExpiredToken\",\"message\":"
	    "\"Token has expired\"}", NULL);
	respond_own("POST", REFRESH, 200, session_body(a2, r2));
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	j = start(0, NULL);
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 4);
	assert_request(1, "GET", NOTIFS);
	ck_assert(has_bearer(1, a1));
	assert_request(2, "POST", REFRESH);
	ck_assert(has_bearer(2, r1));
	ck_assert_ptr_null(strstr(fk.reqs[2].body != NULL ? fk.reqs[2].body :
	    "", "w0rd"));
	assert_request(3, "GET", NOTIFS);
	ck_assert(has_bearer(3, a2));
	ck_assert_uint_eq(count_requests(CREATE), 1);
}
END_TEST

START_TEST(expired_twice_gives_up)
{
	struct poll_job *j;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond("GET", NOTIFS, 400, "{\"error\":\"ExpiredToken\",\"message\":"
	    "\"Token has expired\"}", NULL);
	respond_own("POST", REFRESH, 200, session_body("a2", "r2"));
	respond("GET", NOTIFS, 400, "{\"error\":\"ExpiredToken\",\"message\":"
	    "\"Token has expired\"}", NULL);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_RETRY, "ExpiredToken: Token has expired");
	ck_assert_uint_eq(fk.nreqs, 4);
	/* the session was dropped: the next poll logs in */
	respond_login("a3", "r3");
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	j = start(0, NULL);
	run();
	assert_ok(j);
	ck_assert_uint_eq(count_requests(CREATE), 2);
	ck_assert(has_bearer(5, "a3"));
}
END_TEST

START_TEST(refresh_refused_login_again)
{
	struct poll_job *j;

	new_connector();
	login_and_first_poll();
	respond("GET", NOTIFS, 400, "{\"error\":\"ExpiredToken\",\"message\":"
	    "\"Token has expired\"}", NULL);
	respond("POST", REFRESH, 400, "{\"error\":\"ExpiredToken\",\"message\":"
	    "\"Token has been revoked\"}", NULL);
	respond_login("a3", "r3");
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	j = start(0, NULL);
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 6);
	assert_request(2, "GET", NOTIFS);
	assert_request(3, "POST", REFRESH);
	assert_request(4, "POST", CREATE);
	assert_request(5, "GET", NOTIFS);
	ck_assert(has_bearer(5, "a3"));
}
END_TEST

START_TEST(wrong_password)
{
	static const char refused[] = "{\"error\":\"AuthenticationRequired\","
	    "\"message\":\"Invalid identifier or password\"}";
	struct poll_job *j;

	new_connector();
	respond("POST", CREATE, 401, refused, NULL);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_AUTH, "AuthenticationRequired: Invalid "
	    "identifier or password");
	ck_assert_uint_eq(fk.nreqs, 1);
	ck_assert_uint_eq(nstored, 0);
	/* another stream soon after: the same answer, no new attempt */
	j = start_at(1, NULL, now + 10 * 1000);
	assert_status(j, POLL_AUTH, "AuthenticationRequired: Invalid "
	    "identifier or password");
	ck_assert_uint_eq(fk.nreqs, 1);
	/* the next poll tries again */
	respond("POST", CREATE, 401, refused, NULL);
	j = start_at(0, NULL, now + 2 * MINUTE);
	ck_assert_uint_eq(fk.nreqs, 2);
	run();
	assert_status(j, POLL_AUTH, NULL);
}
END_TEST

START_TEST(invalid_token)
{
	struct poll_job *j;

	new_connector();
	login_and_first_poll();
	/* chat refused for its scope: the session is kept */
	respond("GET", GETLOG, 400, "{\"error\":\"InvalidToken\",\"message\":"
	    "\"Bad token scope\"}", NULL);
	j = start(2, "2226ahbf7bnvl");
	run();
	assert_status(j, POLL_AUTH, "InvalidToken: Bad token scope (does the "
	    "app password allow direct messages?)");
	/* a token refused outright: the session is dropped */
	respond("GET", NOTIFS, 400, "{\"error\":\"InvalidToken\",\"message\":"
	    "\"Token could not be verified\"}", NULL);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_AUTH, "InvalidToken: Token could not be "
	    "verified");
	ck_assert_uint_eq(count_requests(CREATE), 1);
	ck_assert_uint_eq(count_requests(REFRESH), 0);
	respond_login("a2", "r2");
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	j = start(0, NULL);
	run();
	assert_ok(j);
	ck_assert_uint_eq(count_requests(CREATE), 2);
}
END_TEST

START_TEST(login_bad_answer)
{
	struct poll_job *j;

	new_connector();
	respond("POST", CREATE, 200, "{\"did\":\"" BRAND "\",\"refreshJwt\":"
	    "\"r\"}", NULL);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_BAD_DATA, "com.atproto.server.createSession: "
	    "accessJwt: is missing");
}
END_TEST

START_TEST(rate_limited)
{
	struct poll_job *j;
	char reset[32];

	snprintf(reset, sizeof reset, "%lld", (long long)(now / 1000 + 120));
	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond("GET", NOTIFS, 429, "{\"error\":\"RateLimitExceeded\","
	    "\"message\":\"Rate Limit Exceeded\"}", "Retry-After", "30",
	    "RateLimit-Limit", "3000", "RateLimit-Remaining", "0",
	    "RateLimit-Reset", reset, NULL);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_RATE_LIMITED, "RateLimitExceeded: Rate Limit "
	    "Exceeded");
	ck_assert_int_eq(j->retry_at, now + 30 * 1000);
	ck_assert_int_eq(j->rl.limit, 3000);
	ck_assert_int_eq(j->rl.remaining, 0);
	ck_assert_int_eq(j->rl.reset_ms, now + 120 * 1000);
	/* without Retry-After: the window's reset */
	respond("GET", NOTIFS, 429, "{\"error\":\"RateLimitExceeded\"}",
	    "RateLimit-Limit", "3000", "RateLimit-Remaining", "0",
	    "RateLimit-Reset", reset, NULL);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_RATE_LIMITED, "RateLimitExceeded");
	ck_assert_int_eq(j->retry_at, now + 120 * 1000);
}
END_TEST

START_TEST(remaining_zero_stops_paging)
{
	struct poll_job *j;
	char reset[32];

	snprintf(reset, sizeof reset, "%lld", (long long)(now / 1000 + 300));
	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond_own("GET", NOTIFS, 200, page("notifications", "p2",
	    mention("a", "2026-08-14T09:50:00.000Z"), NULL));
	fk.canned[fk.ncanned - 1].hdrs[0].name = xstrdup("RateLimit-Limit");
	fk.canned[fk.ncanned - 1].hdrs[0].value = xstrdup("3000");
	fk.canned[fk.ncanned - 1].hdrs[1].name = xstrdup("ratelimit-remaining");
	fk.canned[fk.ncanned - 1].hdrs[1].value = xstrdup("0");
	fk.canned[fk.ncanned - 1].hdrs[2].name = xstrdup("RateLimit-Reset");
	fk.canned[fk.ncanned - 1].hdrs[2].value = xstrdup(reset);
	fk.canned[fk.ncanned - 1].nhdrs = 3;
	j = start(0, NULL);
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 2);
	ck_assert_uint_eq(nstored, 1);
	/* the walk was cut short: the old cursor stays */
	ck_assert_ptr_null(j->new_cursor);
	ck_assert_int_eq(j->retry_at, now + 300 * 1000);
	ck_assert_int_eq(j->rl.limit, 3000);
	ck_assert_int_eq(j->rl.remaining, 0);
}
END_TEST

START_TEST(server_errors)
{
	struct poll_job *j;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond("GET", NOTIFS, 502, "{\"error\":\"UpstreamFailure\","
	    "\"message\":\"Upstream service unreachable\"}", NULL);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_RETRY, "UpstreamFailure: Upstream service "
	    "unreachable");
	respond_error("GET", NOTIFS, HTTP_E_TIMEOUT);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_RETRY, "Operation timed out");
	respond("GET", NOTIFS, 502, "<html>Bad Gateway</html>", NULL);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_RETRY, "HTTP 502");
	respond("GET", NOTIFS, 200, "{\"notifications\":[", NULL);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_BAD_DATA, NULL);
	ck_assert_ptr_nonnull(strstr(j->error, "app.bsky.notification."
	    "listNotifications: the JSON response ends early"));
	ck_assert_uint_eq(count_requests(CREATE), 1);
}
END_TEST

/* Set the member at a dotted path ("notifications.2.record.createdAt") to
 * the JSON value, or remove it (value NULL). */
static void
set_path(cJSON *doc, const char *path, const char *value)
{
	char *copy = xstrdup(path), *part, *next, *end;
	cJSON *o = doc, *v;
	long idx;

	for (part = copy; (next = strchr(part, '.')) != NULL; part = next + 1) {
		*next = '\0';
		idx = strtol(part, &end, 10);
		o = *end == '\0' ? cJSON_GetArrayItem(o, (int)idx) :
		    cJSON_GetObjectItem(o, part);
		ck_assert_msg(o != NULL, "%s: no %s", path, part);
	}
	if (value == NULL)
		cJSON_DeleteItemFromObject(o, part);
	else {
		v = cJSON_Parse(value);
		ck_assert_ptr_nonnull(v);
		if (cJSON_GetObjectItem(o, part) != NULL)
			cJSON_ReplaceItemInObject(o, part, v);
		else
			cJSON_AddItemToObject(o, part, v);
	}
	free(copy);
}

static const struct {
	const char	*path;
	const char	*value;
	const char	*error;
} bad_notifications[] = {
	{ "notifications.2.record.createdAt", "12345",
	  "notifications[2].record.createdAt: expected a string, got a "
	  "number" },
	{ "notifications.1.uri", NULL, "notifications[1].uri: is missing" },
	{ "notifications.0.author", "\"dana\"",
	  "notifications[0].author: expected an object, got a string" },
	{ "notifications.0.author.did", NULL,
	  "notifications[0].author.did: is missing" },
	{ "notifications.1.record.reply.root", "{}",
	  "notifications[1].record.reply.root.uri: is missing" },
	{ "notifications.1.record.reply.parent.uri", "[]",
	  "notifications[1].record.reply.parent.uri: expected a string, got "
	  "an array" },
	{ "notifications.2.indexedAt", "\"1990-01-01T00:00:00Z\"",
	  "notifications[2].indexedAt: \"1990-01-01T00:00:00Z\" is not a "
	  "plausible time (before 2000 or more than a day ahead)" },
	{ "notifications.2.indexedAt", "\"2026-08-16T00:00:00Z\"",
	  "notifications[2].indexedAt: \"2026-08-16T00:00:00Z\" is not a "
	  "plausible time (before 2000 or more than a day ahead)" },
	{ "notifications.0.indexedAt", "\"yesterday\"",
	  "notifications[0].indexedAt: \"yesterday\" is not an RFC 3339 time" },
	{ "notifications.0.record.text", "true",
	  "notifications[0].record.text: expected a string, got a boolean" },
	{ "notifications.1.reason", "7",
	  "notifications[1].reason: expected a string, got a number" },
	{ "notifications.2.uri", "\"https://example.com/x\"",
	  "notifications[2].uri: \"https://example.com/x\" is not an at:// "
	  "URI" },
	{ "notifications.2.record", "null",
	  "notifications[2].record: is missing" },
	{ "notifications.2.record.$type", "1",
	  "notifications[2].record.$type: expected a string, got a number" },
	{ "notifications", "{}",
	  "notifications: expected an array, got an object" },
	{ "cursor", "5", "cursor: expected a string, got a number" },
};

START_TEST(bad_data_refused)
{
	struct poll_job *j;
	cJSON *doc;
	char *body;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	doc = cJSON_CreateObject();
	cJSON_AddItemToObject(doc, "notifications", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetObjectItem(doc, "notifications"),
	    mention("m0", "2026-08-14T09:50:00.000Z"));
	cJSON_AddItemToArray(cJSON_GetObjectItem(doc, "notifications"),
	    notif(POST(DANA, "r1"), DANA, "dana.bsky.social", "reply",
	    "2026-08-14T09:40:00.000Z", record("where is it",
	    "2026-08-14T09:39:59.000Z", POST(BRAND, "root"),
	    POST(BRAND, "root"))));
	cJSON_AddItemToArray(cJSON_GetObjectItem(doc, "notifications"),
	    mention("m2", "2026-08-14T09:30:00.000Z"));
	cJSON_AddStringToObject(doc, "cursor", "p2");
	set_path(doc, bad_notifications[_i].path, bad_notifications[_i].value);
	body = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	respond_own("GET", NOTIFS, 200, body);
	j = start(0, NULL);
	run();
	assert_status(j, POLL_BAD_DATA, bad_notifications[_i].error);
	ck_assert_uint_eq(nstored, 0);
	ck_assert_uint_eq(fk.nreqs, 2);
}
END_TEST

START_TEST(bad_data_posts_and_chat)
{
	struct poll_job *j;
	cJSON *item;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	item = feed_post(POST(BRAND, "p1"), BRAND, "acme.example",
	    "2026-08-14T09:36:58.011Z", cJSON_CreateArray());
	respond_own("GET", FEED, 200, page("feed", NULL, feed_post(POST(BRAND,
	    "p0"), BRAND, "acme.example", "2026-08-14T09:40:00.000Z",
	    record("ok", "2026-08-14T09:40:00.000Z", NULL, NULL)), item, NULL));
	j = start(1, NULL);
	run();
	assert_status(j, POLL_BAD_DATA, "feed[1].post.record: expected an "
	    "object, got an array");
	ck_assert_uint_eq(nstored, 0);

	respond_own("GET", GETLOG, 200, page("logs", "2226ahbfb7000",
	    log_create("2226ahbfb4kx2", "ok", DANA, "2026-08-14T09:40:05.002Z",
	    MV), log_create("2226ahbfb5000", "x", DANA, "2099-01-01T00:00:00Z",
	    MV), NULL));
	j = start(2, "2226ahbf7bnvl");
	run();
	assert_status(j, POLL_BAD_DATA, "logs[1].message.sentAt: "
	    "\"2099-01-01T00:00:00Z\" is not a plausible time (before 2000 or "
	    "more than a day ahead)");
	ck_assert_uint_eq(nstored, 0);

	respond("GET", GETLOG, 200, "{\"logs\":[{\"$type\":\"chat.bsky.convo."
	    "defs#logCreateMessage\",\"rev\":\"2226ahbfb9000\",\"convoId\":"
	    "\"" CONVO "\",\"message\":{\"$type\":\"" MV "\",\"id\":\"m\","
	    "\"sender\":{\"did\":\"" DANA "\"},\"sentAt\":5}}]}", NULL);
	j = start(2, "2226ahbf7bnvl");
	run();
	assert_status(j, POLL_BAD_DATA, "logs[0].message.sentAt: expected a "
	    "string, got a number");
	ck_assert_uint_eq(nstored, 0);
}
END_TEST

/* createdAt is the author's client's word: when it makes no sense, the
 * server's indexedAt is taken. */
START_TEST(created_at_fallback)
{
	static const char *const created[] = {
		"1990-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "not a time",
		NULL,
	};
	struct poll_job *j;
	cJSON *doc, *arr;
	char uri[100], indexed[40];
	size_t i;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	doc = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(doc, "notifications");
	for (i = 0; i < NELEM(created); i++) {
		snprintf(uri, sizeof uri, POST(LEE, "c%zu"), i);
		timefmt_format_rfc3339(now - (int64_t)(i + 1) * MINUTE, indexed,
		    sizeof indexed);
		cJSON_AddItemToArray(arr, notif(uri, LEE, "lee.example.com",
		    "mention", indexed, record("hi", created[i], NULL, NULL)));
	}
	respond_own("GET", NOTIFS, 200, cJSON_PrintUnformatted(doc));
	cJSON_Delete(doc);
	j = start(0, NULL);
	run();
	assert_ok(j);
	ck_assert_uint_eq(nstored, NELEM(created));
	for (i = 0; i < NELEM(created); i++) {
		snprintf(uri, sizeof uri, POST(LEE, "c%zu"), i);
		ck_assert_int_eq(find(uri)->created_ms,
		    now - (int64_t)(i + 1) * MINUTE);
	}
}
END_TEST

START_TEST(refresh_before_expiry)
{
	struct poll_job *j;
	const char *a2 = jwt(now + 3 * HOUR, "a2");

	new_connector();
	respond_login(jwt(now + HOUR, "a1"), "r1");
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	j = start(0, NULL);
	run();
	assert_ok(j);
	/* 3 minutes left: refreshed first */
	respond_own("POST", REFRESH, 200, session_body(a2, "r2"));
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	j = start_at(0, NULL, now + 57 * MINUTE);
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 4);
	assert_request(2, "POST", REFRESH);
	ck_assert(has_bearer(2, "r1"));
	assert_request(3, "GET", NOTIFS);
	ck_assert(has_bearer(3, a2));
	/* plenty left now */
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	j = start_at(0, NULL, now + 58 * MINUTE);
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 5);
	ck_assert_uint_eq(count_requests(REFRESH), 1);
}
END_TEST

/* A token that is no JWT: its expiry is unknown, no refresh ahead. */
START_TEST(opaque_token)
{
	struct poll_job *j;

	new_connector();
	respond_login("not-a-jwt", "r1");
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	j = start(0, NULL);
	run();
	assert_ok(j);
	j = start_at(0, NULL, now + 5 * HOUR);
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 3);
	ck_assert(has_bearer(2, "not-a-jwt"));
	ck_assert_uint_eq(count_requests(REFRESH), 0);
}
END_TEST

START_TEST(one_login_for_all_streams)
{
	struct poll_job *a, *b, *c;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	respond("GET", FEED, 200, "{\"feed\":[]}", NULL);
	respond("GET", GETLOG, 200, "{\"logs\":[]}", NULL);
	a = start(0, NULL);
	b = start(1, NULL);
	c = start(2, "2226ahbf7bnvl");
	ck_assert_uint_eq(fk.nreqs, 1);
	run();
	assert_ok(a);
	assert_ok(b);
	assert_ok(c);
	ck_assert_uint_eq(count_requests(CREATE), 1);
	ck_assert_uint_eq(fk.nreqs, 4);
}
END_TEST

/* Two polls that need a refresh at once: one refresh, both wait for it. */
START_TEST(one_refresh_for_two_polls)
{
	struct poll_job *a, *b;

	new_connector();
	login_and_first_poll();
	respond_own("POST", REFRESH, 200, session_body(jwt(now + 3 * HOUR,
	    "a2"), "r2"));
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	respond("GET", FEED, 200, "{\"feed\":[]}", NULL);
	a = start_at(0, NULL, now + 118 * MINUTE);
	b = start_at(1, NULL, now + 118 * MINUTE);
	ck_assert_uint_eq(fk.nreqs, 3);
	run();
	assert_ok(a);
	assert_ok(b);
	ck_assert_uint_eq(count_requests(REFRESH), 1);
	ck_assert_uint_eq(fk.nreqs, 5);
}
END_TEST

/* A request sent with the old token while another poll refreshed the
 * session: sent again with the new one, without a second refresh. */
START_TEST(token_replaced_meanwhile)
{
	struct poll_job *a, *b;
	const char *a2 = jwt(now + 4 * HOUR, "a2");

	new_connector();
	login_and_first_poll();
	respond("GET", FEED, 400, "{\"error\":\"InvalidToken\",\"message\":"
	    "\"Token has been revoked\"}", NULL);
	respond_own("POST", REFRESH, 200, session_body(a2, "r2"));
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	respond("GET", FEED, 200, "{\"feed\":[]}", NULL);
	b = start_at(1, NULL, now);
	a = start_at(0, NULL, now + 118 * MINUTE);
	ck_assert_uint_eq(fk.nreqs, 4);
	assert_request(2, "GET", FEED);
	assert_request(3, "POST", REFRESH);
	ck_assert_int_eq(deliver_match(REFRESH), 1);
	ck_assert_int_eq(deliver_match(FEED), 1);
	run();
	assert_ok(a);
	assert_ok(b);
	ck_assert_uint_eq(fk.nreqs, 6);
	assert_request(5, "GET", FEED);
	ck_assert(has_bearer(5, a2));
	ck_assert_uint_eq(count_requests(REFRESH), 1);
	ck_assert_uint_eq(count_requests(CREATE), 1);
}
END_TEST

/* Out of calls on the chat log: what was read is kept with its rev. */
START_TEST(chat_remaining_zero)
{
	struct poll_job *j;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond_own("GET", GETLOG "?cursor=2226ahbf7bnvl", 200, page("logs",
	    "2226ahbfb4kx2", log_create("2226ahbfb4kx2", "m1", DANA,
	    "2026-08-14T09:40:05.002Z", MV), NULL));
	fk.canned[fk.ncanned - 1].hdrs[0].name = xstrdup("RateLimit-Remaining");
	fk.canned[fk.ncanned - 1].hdrs[0].value = xstrdup("0");
	fk.canned[fk.ncanned - 1].nhdrs = 1;
	j = start(2, "2226ahbf7bnvl");
	run();
	assert_ok(j);
	ck_assert_uint_eq(fk.nreqs, 2);
	ck_assert_uint_eq(nstored, 1);
	ck_assert_str_eq(j->new_cursor, "2226ahbfb4kx2");
	ck_assert_int_eq(j->retry_at, -1);
}
END_TEST

START_TEST(cancel_mid_request)
{
	struct poll_job *a, *b;

	new_connector();
	respond_login(jwt(now + 2 * HOUR, "a1"), "r1");
	respond("GET", NOTIFS, 200, "{\"notifications\":[]}", NULL);
	a = start(0, NULL);
	/* b waits for a's login; cancelling b leaves the login running */
	b = start(1, NULL);
	connector_bluesky.cancel(conn, b);
	assert_status(b, POLL_CANCELLED, NULL);
	ck_assert_uint_eq(fk.cancelled, 0);
	ck_assert_uint_eq(http_running(&fk.http), 1);
	ck_assert_int_eq(deliver(), 1);
	/* a's listNotifications is in flight */
	ck_assert_uint_eq(fk.nreqs, 2);
	ck_assert(!a->done);
	connector_bluesky.cancel(conn, a);
	assert_status(a, POLL_CANCELLED, NULL);
	ck_assert_uint_eq(fk.cancelled, 1);
	ck_assert_ptr_null(fk.pending);
	ck_assert_uint_eq(nstored, 0);
	ck_assert_uint_eq(commits, 0);
}
END_TEST

/* Freeing the connector while its login runs cancels the login. */
START_TEST(free_during_login)
{
	struct poll_job *a;

	new_connector();
	a = start(0, NULL);
	connector_bluesky.cancel(conn, a);
	assert_status(a, POLL_CANCELLED, NULL);
	ck_assert_uint_eq(http_running(&fk.http), 1);
	connector_bluesky.free(conn);
	conn = NULL;
	ck_assert_uint_eq(fk.cancelled, 1);
	ck_assert_ptr_null(fk.pending);
}
END_TEST

static Suite *
bluesky_suite(void)
{
	Suite *s = suite_create("bluesky");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, def);
	tcase_add_test(tc, new_needs_handle);
	tcase_add_test(tc, new_defaults);
	suite_add_tcase(s, tc);

	tc = tcase_create("notifications");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, login_then_notifications);
	tcase_add_test(tc, notifications_skip_and_quote);
	tcase_add_test(tc, watermark_two_pages);
	tcase_add_test(tc, watermark_nothing_new);
	tcase_add_test(tc, bad_cursor);
	tcase_add_test(tc, first_poll_backfill_stop);
	tcase_add_test(tc, created_at_fallback);
	suite_add_tcase(s, tc);

	tc = tcase_create("posts");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, posts_stream);
	suite_add_tcase(s, tc);

	tc = tcase_create("chat");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, chat_first_poll);
	tcase_add_test(tc, chat_incremental);
	tcase_add_test(tc, chat_nothing_new);
	tcase_add_test(tc, chat_not_available);
	tcase_add_test(tc, chat_remaining_zero);
	suite_add_tcase(s, tc);

	tc = tcase_create("session");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, expired_token_refresh_retry);
	tcase_add_test(tc, expired_twice_gives_up);
	tcase_add_test(tc, refresh_refused_login_again);
	tcase_add_test(tc, wrong_password);
	tcase_add_test(tc, invalid_token);
	tcase_add_test(tc, login_bad_answer);
	tcase_add_test(tc, refresh_before_expiry);
	tcase_add_test(tc, opaque_token);
	tcase_add_test(tc, one_login_for_all_streams);
	tcase_add_test(tc, one_refresh_for_two_polls);
	tcase_add_test(tc, token_replaced_meanwhile);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rate_limited);
	tcase_add_test(tc, remaining_zero_stops_paging);
	tcase_add_test(tc, server_errors);
	tcase_add_loop_test(tc, bad_data_refused, 0,
	    (int)NELEM(bad_notifications));
	tcase_add_test(tc, bad_data_posts_and_chat);
	tcase_add_test(tc, cancel_mid_request);
	tcase_add_test(tc, free_during_login);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* quiet unless REPLYWATCH_DEBUG is set: then the connector's
	 * debug lines (URLs, never tokens) show */
	log_init("check-bluesky", getenv("REPLYWATCH_DEBUG") != NULL ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	sr = srunner_create(bluesky_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
