/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "http.h"
#include "log.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * The delivery channels against a fake HTTP client: it records the one
 * request it is handed (webhook or mail) and answers only when the test
 * calls answer(), never from inside the start function.
 */

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- the fake HTTP client ------------------------------------------------- */

struct http_call {
	int		 smtp;
	char		*method, *url, *body;
	size_t		 body_len;
	char		*headers[8];
	size_t		 nheaders;
	long		 timeout_ms;
	/* SMTP */
	char		*mail_from, *rcpt[4], *username, *password;
	int		 require_tls;
	http_done_fn	*fn;
	void		*arg;
};

/* The one call in flight, and how many were cancelled. */
static struct http_call *inflight;
static int ncancelled;

static void
call_free(struct http_call *c)
{
	size_t i;

	free(c->method);
	free(c->url);
	free(c->body);
	for (i = 0; i < c->nheaders; i++)
		free(c->headers[i]);
	free(c->mail_from);
	for (i = 0; i < NELEM(c->rcpt); i++)
		free(c->rcpt[i]);
	free(c->username);
	free(c->password);
	free(c);
}

struct http_call *
http_start(struct http *h, const struct http_request *rq, http_done_fn *fn,
    void *arg, char **errstr)
{
	struct http_call *c;
	size_t i;

	ck_assert_ptr_null(inflight);
	c = xcalloc(1, sizeof *c);
	c->method = xstrdup_or_null(rq->method);
	c->url = xstrdup(rq->url);
	c->body = xmalloc(rq->body_len + 1);
	memcpy(c->body, rq->body, rq->body_len);
	c->body[rq->body_len] = '\0';
	c->body_len = rq->body_len;
	for (i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++) {
		ck_assert_uint_lt(i, NELEM(c->headers));
		c->headers[c->nheaders++] = xstrdup(rq->headers[i]);
	}
	c->timeout_ms = rq->timeout_ms;
	c->fn = fn;
	c->arg = arg;
	inflight = c;
	return c;
}

struct http_call *
http_start_smtp(struct http *h, const struct smtp_request *rq,
    http_done_fn *fn, void *arg, char **errstr)
{
	struct http_call *c;
	size_t i;

	ck_assert_ptr_null(inflight);
	c = xcalloc(1, sizeof *c);
	c->smtp = 1;
	c->url = xstrdup(rq->url);
	c->body = xmalloc(rq->message_len + 1);
	memcpy(c->body, rq->message, rq->message_len);
	c->body[rq->message_len] = '\0';
	c->body_len = rq->message_len;
	c->mail_from = xstrdup(rq->mail_from);
	for (i = 0; rq->rcpt[i] != NULL; i++) {
		ck_assert_uint_lt(i, NELEM(c->rcpt) - 1);
		c->rcpt[i] = xstrdup(rq->rcpt[i]);
	}
	c->username = xstrdup_or_null(rq->username);
	c->password = xstrdup_or_null(rq->password);
	c->require_tls = rq->require_tls;
	c->timeout_ms = rq->timeout_ms;
	c->fn = fn;
	c->arg = arg;
	inflight = c;
	return c;
}

void
http_cancel(struct http_call *c)
{
	ck_assert_ptr_eq(c, inflight);
	call_free(c);
	inflight = NULL;
	ncancelled++;
}

/* Answer the call in flight. Headers are "Name: value", NULL-terminated. */
static void
answer(enum http_error err, long status, const char *body, ...)
{
	struct http_header hs[4];
	struct http_response r;
	struct http_call *c = inflight;
	const char *h, *colon;
	size_t n = 0, i;
	va_list ap;

	ck_assert_ptr_nonnull(c);
	va_start(ap, body);
	while ((h = va_arg(ap, const char *)) != NULL) {
		ck_assert_uint_lt(n, NELEM(hs));
		colon = strchr(h, ':');
		hs[n].name = xstrndup(h, (size_t)(colon - h));
		hs[n].value = xstrdup(colon + 2);
		n++;
	}
	va_end(ap);
	memset(&r, 0, sizeof r);
	r.error = err;
	r.errstr = err != HTTP_OK ? "Failed to connect to 127.0.0.1 port 9: "
	    "Connection refused" : NULL;
	if (err == HTTP_E_REFUSED)
		r.errstr = "STARTTLS is required, but the server does not "
		    "offer it";
	r.status = status;
	r.body = body;
	r.len = strlen(body);
	r.headers = hs;
	r.nheaders = n;
	inflight = NULL;
	c->fn(&r, c->arg);
	call_free(c);
	for (i = 0; i < n; i++) {
		free(hs[i].name);
		free(hs[i].value);
	}
}

/* ---- what the delivery reported ---------------------------------------------- */

struct outcome {
	int		 called;
	enum deliver_result res;
	int64_t		 retry_at;
	char		*error;
};

static void
on_done(enum deliver_result res, int64_t at, const char *error, void *arg)
{
	struct outcome *o = arg;

	o->called++;
	o->res = res;
	o->retry_at = at;
	free(o->error);
	o->error = xstrdup_or_null(error);
}

static struct outcome out;

static void
setup(void)
{
	memset(&out, 0, sizeof out);
	inflight = NULL;
	ncancelled = 0;
}

static void
teardown(void)
{
	if (inflight != NULL) {
		call_free(inflight);
		inflight = NULL;
	}
	free(out.error);
}

/* The fake client is never dereferenced. */
#define FAKE_HTTP	((struct http *)&out)

static const struct route hook = {
	.name = "ops-hook", .type = ROUTE_WEBHOOK,
	.url = "https://hooks.example.com/replywatch", .secret = "Jefe",
	.timeout_ms = 5000,
};

static const char event_json[] =
    "{\"version\":1,\"event\":\"overdue\",\"account\":\"acme-x\","
    "\"waiting_ms\":2520000}";

static struct deliver_call *
start(const struct route *r, const struct delivery *d)
{
	struct deliver_call *dc;
	char *err = NULL;

	dc = deliver_start(FAKE_HTTP, r, d, on_done, &out, &err);
	ck_assert_msg(dc != NULL, "deliver_start: %s", err);
	ck_assert_ptr_nonnull(inflight);
	return dc;
}

static int
has_header(const char *line)
{
	size_t i;

	for (i = 0; i < inflight->nheaders; i++)
		if (strcmp(inflight->headers[i], line) == 0)
			return 1;
	return 0;
}

/* ---- the signature ---------------------------------------------------------------- */

START_TEST(hmac_rfc4231)
{
	char sig[DELIVER_SIG_LEN];

	/* RFC 4231, test case 2 */
	deliver_sign("Jefe", "what do ya want for nothing?", 28, sig);
	ck_assert_str_eq(sig, "sha256=5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
}
END_TEST

/* ---- the webhook -------------------------------------------------------------------- */

START_TEST(webhook_signed_exact_body)
{
	struct delivery d = { .key = "alert-7-route-1",
	    .json = "what do ya want for nothing?" };

	start(&hook, &d);
	ck_assert_int_eq(inflight->smtp, 0);
	ck_assert_str_eq(inflight->method, "POST");
	ck_assert_str_eq(inflight->url, hook.url);
	ck_assert_str_eq(inflight->body, d.json);
	ck_assert_int_eq(inflight->timeout_ms, 5000);
	ck_assert_uint_eq(inflight->nheaders, 3);
	ck_assert_str_eq(inflight->headers[0],
	    "Content-Type: application/json");
	ck_assert_str_eq(inflight->headers[1],
	    "Idempotency-Key: alert-7-route-1");
	ck_assert_str_eq(inflight->headers[2], "X-Replywatch-Signature: "
	    "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	answer(HTTP_OK, 200, "", NULL);
	ck_assert_int_eq(out.called, 1);
	ck_assert_int_eq(out.res, DELIVER_OK);
	ck_assert_ptr_null(out.error);
}
END_TEST

START_TEST(webhook_event_header_unsigned)
{
	struct route r = hook;
	struct delivery d = { .key = "k1", .json = event_json };

	r.secret = NULL;
	start(&r, &d);
	ck_assert_str_eq(inflight->body, event_json);
	ck_assert(has_header("X-Replywatch-Event: overdue"));
	ck_assert(has_header("Idempotency-Key: k1"));
	ck_assert_uint_eq(inflight->nheaders, 3);
	answer(HTTP_OK, 204, "", NULL);
	ck_assert_int_eq(out.res, DELIVER_OK);
}
END_TEST

START_TEST(webhook_same_key_on_retry)
{
	struct delivery d = { .key = "alert-9", .json = event_json };
	char first[128];

	start(&hook, &d);
	ck_assert_str_eq(inflight->headers[1], "Idempotency-Key: alert-9");
	snprintf(first, sizeof first, "%s", inflight->headers[3]);
	answer(HTTP_OK, 503, "busy", NULL);
	ck_assert_int_eq(out.res, DELIVER_RETRY);
	start(&hook, &d);
	ck_assert_str_eq(inflight->headers[1], "Idempotency-Key: alert-9");
	ck_assert_str_eq(inflight->headers[3], first);
	answer(HTTP_OK, 200, "", NULL);
	ck_assert_int_eq(out.res, DELIVER_OK);
}
END_TEST

START_TEST(webhook_slack_body)
{
	struct route r = hook;
	struct delivery d = { .key = "k2", .json = event_json,
	    .text = "overdue: \"Dana\" waits 42 min\n\\ für acme-x\t<https://x.example/1>" };
	char sig[DELIVER_SIG_LEN], line[128];

	r.slack = 1;
	start(&r, &d);
	ck_assert_str_eq(inflight->body, "{\"text\":\"overdue: \\\"Dana\\\" "
	    "waits 42 min\\n\\\\ für acme-x\\t<https://x.example/1>\"}");
	/* the signature covers the body as sent */
	deliver_sign("Jefe", inflight->body, inflight->body_len, sig);
	snprintf(line, sizeof line, "X-Replywatch-Signature: %s", sig);
	ck_assert(has_header(line));
	answer(HTTP_OK, 200, "ok", NULL);
	ck_assert_int_eq(out.res, DELIVER_OK);
}
END_TEST

static const struct {
	long		 status;
	enum deliver_result res;
	const char	*retry_after;	/* header value, or NULL */
	int64_t		 wait_s;	/* -1: no retry time */
	const char	*error;
} statuses[] = {
	{ 200, DELIVER_OK, NULL, -1, NULL },
	{ 201, DELIVER_OK, NULL, -1, NULL },
	{ 204, DELIVER_OK, NULL, -1, NULL },
	{ 400, DELIVER_FAILED, NULL, -1, "HTTP 400: no such field" },
	{ 401, DELIVER_FAILED, NULL, -1, "HTTP 401: no such field" },
	{ 404, DELIVER_FAILED, NULL, -1, "HTTP 404: no such field" },
	{ 301, DELIVER_FAILED, NULL, -1, "HTTP 301: no such field" },
	{ 429, DELIVER_RETRY, "30", 30, "HTTP 429: no such field" },
	{ 429, DELIVER_RETRY, NULL, -1, "HTTP 429: no such field" },
	{ 500, DELIVER_RETRY, NULL, -1, "HTTP 500: no such field" },
	{ 503, DELIVER_RETRY, "120", 120, "HTTP 503: no such field" },
	{ 503, DELIVER_RETRY, "soon", -1, "HTTP 503: no such field" },
};

START_TEST(webhook_status_mapping)
{
	struct delivery d = { .key = "k3", .json = event_json };
	char ra[64];
	int64_t now;

	start(&hook, &d);
	now = timefmt_now();
	if (statuses[_i].retry_after != NULL) {
		snprintf(ra, sizeof ra, "Retry-After: %s",
		    statuses[_i].retry_after);
		answer(HTTP_OK, statuses[_i].status, "no such field\r\n", ra,
		    NULL);
	} else
		answer(HTTP_OK, statuses[_i].status, "no such field\r\n",
		    NULL);
	ck_assert_int_eq(out.called, 1);
	ck_assert_int_eq(out.res, statuses[_i].res);
	if (statuses[_i].error == NULL)
		ck_assert_ptr_null(out.error);
	else
		ck_assert_str_eq(out.error, statuses[_i].error);
	if (statuses[_i].wait_s < 0)
		ck_assert_int_eq(out.retry_at, -1);
	else {
		ck_assert_int_ge(out.retry_at, now + statuses[_i].wait_s * 1000);
		ck_assert_int_le(out.retry_at,
		    now + statuses[_i].wait_s * 1000 + 5000);
	}
}
END_TEST

START_TEST(webhook_network_error)
{
	struct delivery d = { .key = "k4", .json = event_json };

	start(&hook, &d);
	answer(HTTP_E_CONNECT, 0, "", NULL);
	ck_assert_int_eq(out.res, DELIVER_RETRY);
	ck_assert_int_eq(out.retry_at, -1);
	ck_assert_ptr_nonnull(strstr(out.error, "Connection refused"));
}
END_TEST

START_TEST(webhook_refused)
{
	struct route r = hook;
	struct delivery d = { .key = "k5", .json = event_json };
	char *err = NULL;

	/* header injection through the key */
	d.key = "k5\r\nX-Evil: 1";
	ck_assert_ptr_null(deliver_start(FAKE_HTTP, &r, &d, on_done, &out,
	    &err));
	ck_assert_ptr_nonnull(strstr(err, "idempotency key"));
	free(err);
	err = NULL;
	d.key = "";
	ck_assert_ptr_null(deliver_start(FAKE_HTTP, &r, &d, on_done, &out,
	    &err));
	free(err);
	err = NULL;
	d.key = "k5";
	/* plain HTTP off loopback */
	r.url = "http://hooks.example.com/x";
	ck_assert_ptr_null(deliver_start(FAKE_HTTP, &r, &d, on_done, &out,
	    &err));
	ck_assert_ptr_nonnull(strstr(err, "loopback"));
	free(err);
	err = NULL;
	r.url = "http://127.0.0.1:8080/x";
	ck_assert_ptr_nonnull(deliver_start(FAKE_HTTP, &r, &d, on_done, &out,
	    &err));
	answer(HTTP_OK, 200, "", NULL);
	/* not UTF-8 */
	d.json = "{\"event\":\"\xff\"}";
	ck_assert_ptr_null(deliver_start(FAKE_HTTP, &r, &d, on_done, &out,
	    &err));
	free(err);
	err = NULL;
	/* slack without text */
	d.json = event_json;
	r.slack = 1;
	ck_assert_ptr_null(deliver_start(FAKE_HTTP, &r, &d, on_done, &out,
	    &err));
	free(err);
	ck_assert_ptr_null(inflight);
	ck_assert_int_eq(out.called, 1);
}
END_TEST

START_TEST(cancel_no_callback)
{
	struct delivery d = { .key = "k6", .json = event_json };
	struct deliver_call *dc;

	dc = start(&hook, &d);
	deliver_cancel(dc);
	ck_assert_int_eq(ncancelled, 1);
	ck_assert_ptr_null(inflight);
	ck_assert_int_eq(out.called, 0);
}
END_TEST

/* ---- the email ------------------------------------------------------------------- */

static const char *const two_to[] = { "ops@example.com",
    "oncall@example.com", NULL };

static const struct route mail = {
	.name = "ops-mail", .type = ROUTE_EMAIL,
	.url = "smtp://mail.example.com:587", .from = "replywatch@example.com",
	.to = two_to, .username = "replywatch", .password = "pw",
	.starttls = 1,
};

#define NOV25_NOON	INT64_C(1795608000000)	/* 2026-11-25T12:00:00Z */

START_TEST(message_ascii_exact)
{
	struct delivery d = { .key = "alert-42.r1", .created_ms = NOV25_NOON,
	    .subject = "[replywatch] overdue: direct reply for acme-x, "
	    "waiting 42 min",
	    .text = "dana@social.example has waited 42 min for a direct "
	    "reply on acme-x.\n\n.\n.leading dot\nhttps://social.example/@dana/1\n" };
	char *m, *err = NULL;

	m = deliver_message(&mail, &d, &err);
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_str_eq(m,
	    "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
	    "From: replywatch@example.com\r\n"
	    "To: ops@example.com, oncall@example.com\r\n"
	    "Subject: [replywatch] overdue: direct reply for acme-x, waiting "
	    "42 min\r\n"
	    "Message-ID: <alert-42.r1@replywatch>\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n"
	    "\r\n"
	    "dana@social.example has waited 42 min for a direct reply on "
	    "acme-x.\r\n"
	    "\r\n"
	    ".\r\n"
	    ".leading dot\r\n"
	    "https://social.example/@dana/1\r\n");
	free(m);
}
END_TEST

START_TEST(message_utf8_exact)
{
	static const char *const one_to[] = { "ops@example.com", NULL };
	struct route r = mail;
	struct delivery d = { .key = "alert:42/r=1", .created_ms = NOV25_NOON,
	    .subject = "[replywatch] überfällig: Antwort für acme-x, seit "
	    "42 min",
	    .text = "Grüße: Dana wartet seit 42 min.\r\n"
	    "a=b\n"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx " };
	char *m, *err = NULL;

	r.to = one_to;
	m = deliver_message(&r, &d, &err);
	ck_assert_msg(m != NULL, "%s", err);
	ck_assert_str_eq(m,
	    "Date: Wed, 25 Nov 2026 12:00:00 +0000\r\n"
	    "From: replywatch@example.com\r\n"
	    "To: ops@example.com\r\n"
	    "Subject: =?UTF-8?B?W3JlcGx5d2F0Y2hdIMO8YmVyZsOkbGxpZzogQW50d29ydCBmw7xy?=\r\n"
	    " =?UTF-8?B?IGFjbWUteCwgc2VpdCA0MiBtaW4=?=\r\n"
	    "Message-ID: <alert=3A42/r=3D1@replywatch>\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n"
	    "\r\n"
	    "Gr=C3=BC=C3=9Fe: Dana wartet seit 42 min.\r\n"
	    "a=3Db\r\n"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx=\r\n"
	    "xxxxx=20\r\n");
	free(m);
}
END_TEST

START_TEST(message_long_subject_folded)
{
	struct delivery d = { .key = "k", .created_ms = NOV25_NOON,
	    .subject = "[replywatch] overdue: direct reply for "
	    "acme-customer-support-emea, waiting 3h 42m, target 15m, "
	    "complaint", .text = "" };
	char *m, *err = NULL, *s, *e;

	m = deliver_message(&mail, &d, &err);
	ck_assert_ptr_nonnull(m);
	s = strstr(m, "Subject: ");
	e = strstr(s, "\r\nMessage-ID");
	*e = '\0';
	ck_assert_str_eq(s, "Subject: [replywatch] overdue: direct reply for "
	    "acme-customer-support-emea,\r\n waiting 3h 42m, target 15m, "
	    "complaint");
	free(m);
}
END_TEST

START_TEST(message_injection_refused)
{
	static const char *const bad_to[] = { "ops@example.com",
	    "x@example.com\r\nBcc: all@example.com", NULL };
	static const char *const angle_to[] = { "Ops <ops@example.com>",
	    NULL };
	struct route r = mail;
	struct delivery d = { .key = "k", .subject = "overdue\r\nBcc: "
	    "all@example.com", .text = "t" };
	char *err = NULL;

	ck_assert_ptr_null(deliver_message(&r, &d, &err));
	ck_assert_ptr_nonnull(strstr(err, "header injection"));
	free(err);
	err = NULL;
	d.subject = "overdue\nBcc: all@example.com";
	ck_assert_ptr_null(deliver_message(&r, &d, &err));
	free(err);
	err = NULL;
	d.subject = "ok";
	r.from = "replywatch@example.com\nBcc: all@example.com";
	ck_assert_ptr_null(deliver_message(&r, &d, &err));
	ck_assert_ptr_nonnull(strstr(err, "from"));
	free(err);
	err = NULL;
	r.from = mail.from;
	r.to = bad_to;
	ck_assert_ptr_null(deliver_message(&r, &d, &err));
	ck_assert_ptr_nonnull(strstr(err, "recipient 2"));
	free(err);
	err = NULL;
	r.to = angle_to;
	ck_assert_ptr_null(deliver_message(&r, &d, &err));
	free(err);
	err = NULL;
	r.to = mail.to;
	d.key = "k\r\nBcc: all@example.com";
	ck_assert_ptr_null(deliver_message(&r, &d, &err));
	free(err);
	err = NULL;
	d.key = "k";
	d.subject = "caf\xe9";	/* Latin-1, not UTF-8 */
	ck_assert_ptr_null(deliver_message(&r, &d, &err));
	free(err);
	err = NULL;
	/* and nothing is sent */
	d.subject = "overdue\r\n.\r\nMAIL FROM:<x@y>";
	ck_assert_ptr_null(deliver_start(FAKE_HTTP, &r, &d, on_done, &out,
	    &err));
	free(err);
	ck_assert_ptr_null(inflight);
}
END_TEST

START_TEST(email_request)
{
	struct delivery d = { .key = "alert-1", .created_ms = NOV25_NOON,
	    .subject = "s", .text = "t" };
	char *m, *err = NULL;

	start(&mail, &d);
	ck_assert_int_eq(inflight->smtp, 1);
	ck_assert_str_eq(inflight->url, mail.url);
	ck_assert_str_eq(inflight->mail_from, "replywatch@example.com");
	ck_assert_str_eq(inflight->rcpt[0], "ops@example.com");
	ck_assert_str_eq(inflight->rcpt[1], "oncall@example.com");
	ck_assert_ptr_null(inflight->rcpt[2]);
	ck_assert_str_eq(inflight->username, "replywatch");
	ck_assert_str_eq(inflight->password, "pw");
	ck_assert_int_eq(inflight->require_tls, 1);
	m = deliver_message(&mail, &d, &err);
	ck_assert_str_eq(inflight->body, m);
	free(m);
	answer(HTTP_OK, 250, "250 2.0.0 Ok: queued as 4Xk2", NULL);
	ck_assert_int_eq(out.res, DELIVER_OK);
	ck_assert_ptr_null(out.error);
}
END_TEST

START_TEST(email_url_refused)
{
	struct route r = mail;
	struct delivery d = { .key = "k", .subject = "s", .text = "t" };
	char *err = NULL;

	r.starttls = 0;
	ck_assert_ptr_null(deliver_start(FAKE_HTTP, &r, &d, on_done, &out,
	    &err));
	ck_assert_ptr_nonnull(strstr(err, "loopback"));
	free(err);
	err = NULL;
	r.url = "smtp://127.0.0.1:2525";
	ck_assert_ptr_nonnull(deliver_start(FAKE_HTTP, &r, &d, on_done, &out,
	    &err));
	ck_assert_int_eq(inflight->require_tls, 0);
	answer(HTTP_OK, 250, "250 ok", NULL);
	r.url = "https://mail.example.com";
	ck_assert_ptr_null(deliver_start(FAKE_HTTP, &r, &d, on_done, &out,
	    &err));
	ck_assert_ptr_nonnull(strstr(err, "smtp://"));
	free(err);
}
END_TEST

static const struct {
	enum http_error	 err;
	long		 status;
	const char	*reply;
	enum deliver_result res;
	const char	*error;
} smtp_replies[] = {
	{ HTTP_OK, 250, "250 2.0.0 Ok: queued", DELIVER_OK, NULL },
	{ HTTP_E_NETWORK, 421, "421 4.3.2 Service shutting down",
	    DELIVER_RETRY, "SMTP: 421 4.3.2 Service shutting down" },
	{ HTTP_E_NETWORK, 450, "450 4.2.0 Mailbox busy", DELIVER_RETRY,
	    "SMTP: 450 4.2.0 Mailbox busy" },
	{ HTTP_E_NETWORK, 451, "451 4.3.0 Error: queue file write error",
	    DELIVER_RETRY, "SMTP: 451 4.3.0 Error: queue file write error" },
	{ HTTP_E_NETWORK, 452, "452 4.3.1 Insufficient system storage",
	    DELIVER_RETRY, "SMTP: 452 4.3.1 Insufficient system storage" },
	{ HTTP_E_REFUSED, 454, "454 4.7.0 TLS not available",
	    DELIVER_RETRY, "SMTP: 454 4.7.0 TLS not available" },
	{ HTTP_E_REFUSED, 535, "535 5.7.8 Error: authentication failed",
	    DELIVER_FAILED, "SMTP: 535 5.7.8 Error: authentication failed" },
	{ HTTP_E_NETWORK, 550, "550 5.1.1 <ops@example.com>: unknown",
	    DELIVER_FAILED, "SMTP: 550 5.1.1 <ops@example.com>: unknown" },
	{ HTTP_E_NETWORK, 554, "", DELIVER_FAILED,
	    "SMTP 554: Failed to connect to 127.0.0.1 port 9: Connection "
	    "refused" },
	{ HTTP_E_REFUSED, 250, "250 CHUNKING", DELIVER_FAILED,
	    "STARTTLS is required, but the server does not offer it" },
	{ HTTP_E_CONNECT, 0, "", DELIVER_RETRY,
	    "Failed to connect to 127.0.0.1 port 9: Connection refused" },
	{ HTTP_E_TLS, 220, "220 2.0.0 Ready to start TLS", DELIVER_RETRY,
	    "Failed to connect to 127.0.0.1 port 9: Connection refused" },
	{ HTTP_E_TIMEOUT, 250, "250 ok", DELIVER_RETRY,
	    "Failed to connect to 127.0.0.1 port 9: Connection refused" },
};

START_TEST(email_reply_mapping)
{
	struct delivery d = { .key = "k", .subject = "s", .text = "t" };

	start(&mail, &d);
	answer(smtp_replies[_i].err, smtp_replies[_i].status,
	    smtp_replies[_i].reply, NULL);
	ck_assert_int_eq(out.called, 1);
	ck_assert_int_eq(out.res, smtp_replies[_i].res);
	ck_assert_int_eq(out.retry_at, -1);
	if (smtp_replies[_i].error == NULL)
		ck_assert_ptr_null(out.error);
	else
		ck_assert_str_eq(out.error, smtp_replies[_i].error);
}
END_TEST

/* ---- backoff ---------------------------------------------------------------------- */

START_TEST(backoff_steps)
{
	static const struct {
		int	 attempts;
		int64_t	 max;
	} steps[] = {
		{ -3, 5000 }, { 0, 5000 }, { 1, 5000 }, { 2, 10000 },
		{ 3, 20000 }, { 4, 40000 }, { 10, 2560000 },
		{ 11, 3600000 }, { 12, 3600000 }, { 1000, 3600000 },
		{ 2147483647, 3600000 },
	};
	size_t i;
	int k, differ = 0;
	int64_t v, first;

	for (i = 0; i < NELEM(steps); i++) {
		first = deliver_backoff_ms(steps[i].attempts);
		for (k = 0; k < 200; k++) {
			v = deliver_backoff_ms(steps[i].attempts);
			ck_assert_int_le(v, steps[i].max);
			ck_assert_int_ge(v, steps[i].max * 4 / 5);
			differ |= v != first;
		}
	}
	ck_assert_msg(differ, "no jitter");
}
END_TEST

static Suite *
deliver_suite(void)
{
	Suite *s = suite_create("deliver");
	TCase *tc;

	tc = tcase_create("webhook");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, hmac_rfc4231);
	tcase_add_test(tc, webhook_signed_exact_body);
	tcase_add_test(tc, webhook_event_header_unsigned);
	tcase_add_test(tc, webhook_same_key_on_retry);
	tcase_add_test(tc, webhook_slack_body);
	tcase_add_loop_test(tc, webhook_status_mapping, 0,
	    (int)NELEM(statuses));
	tcase_add_test(tc, webhook_network_error);
	tcase_add_test(tc, webhook_refused);
	tcase_add_test(tc, cancel_no_callback);
	suite_add_tcase(s, tc);

	tc = tcase_create("email");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, message_ascii_exact);
	tcase_add_test(tc, message_utf8_exact);
	tcase_add_test(tc, message_long_subject_folded);
	tcase_add_test(tc, message_injection_refused);
	tcase_add_test(tc, email_request);
	tcase_add_test(tc, email_url_refused);
	tcase_add_loop_test(tc, email_reply_mapping, 0,
	    (int)NELEM(smtp_replies));
	suite_add_tcase(s, tc);

	tc = tcase_create("backoff");
	tcase_add_test(tc, backoff_steps);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init("check-deliver", LOG_LEVEL_ERR);
	sr = srunner_create(deliver_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
