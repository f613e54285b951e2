/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "connector.h"
#include "jsonget.h"
#include "log.h"
#include "secret.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * Bluesky (AT Protocol), through the account's PDS with a session opened
 * by an app password (com.atproto.server.createSession). Streams:
 *
 *   notifications  mentions, replies and quotes of the brand: inbound
 *   posts          the brand's own posts and replies: outbound
 *   chat           direct messages both ways, through the chat service
 *                  named by chat_proxy (header atproto-proxy)
 *
 * Cursors: notifications and posts keep a watermark "INDEXEDAT URI", the
 * newest item seen; chat keeps the rev of the chat log.
 *
 * The session (the two tokens) lives in memory only and is shared by the
 * streams of the account. At most one session call (createSession or
 * refreshSession) runs at a time; a poll that needs one while another
 * runs waits for it and goes on with its outcome. A refresh token can be
 * used only once, so two polls refreshing at once would break the session.
 */

#define BSKY_DEFAULT_URL	"https://bsky.social"
#define BSKY_CHAT_PROXY		"did:web:api.bsky.chat#bsky_chat"

#define POST_TYPE		"app.bsky.feed.post"
#define LOG_CREATE_TYPE		"chat.bsky.convo.defs#logCreateMessage"
#define MESSAGE_VIEW_TYPE	"chat.bsky.convo.defs#messageView"

#define MAX_PAGES		50
#define MAX_JWT			8192
#define MAX_CURSOR		1024
#define MAX_TYPE		256
#define PATHLEN			128
#define ERRLEN			1024

#define SEC_MS			INT64_C(1000)
#define REFRESH_MARGIN_MS	(5 * 60 * SEC_MS)
#define DAY_MS			(24 * 3600 * SEC_MS)
#define Y2000_MS		INT64_C(946684800000)
#define LOGIN_BLOCK_MIN_MS	(10 * SEC_MS)

enum stream {
	S_NOTIFICATIONS,
	S_POSTS,
	S_CHAT,
	NSTREAMS
};

static const char *const bsky_streams[NSTREAMS + 1] = {
	"notifications", "posts", "chat", NULL
};

/* What the request of a poll asks for. */
enum step {
	STEP_FEED,	/* notifications or posts: a page */
	STEP_SEED,	/* chat, first poll: getLog without cursor */
	STEP_CONVOS,	/* chat, first poll: a page of listConvos */
	STEP_MESSAGES,	/* chat, first poll: a page of getMessages */
	STEP_LOG,	/* chat: a page of getLog */
};

enum op {
	OP_NONE,
	OP_LOGIN,	/* createSession */
	OP_REFRESH,	/* refreshSession */
};

struct bjob;

struct bsky {
	const struct conf_account *acct;
	const char	*password;
	struct http	*http;
	char		*url;		/* the PDS, no trailing '/' */
	char		*proxy_hdr;	/* "atproto-proxy: …" */

	/* The session. */
	char		*access;
	char		*refresh;
	char		*did;
	char		*handle;
	int64_t		 access_exp_ms;	/* -1: unknown */
	unsigned	 gen;		/* changes with the access token */

	/* The session call in flight and the polls waiting for it. */
	enum op		 op;
	struct http_call *op_call;
	char		*op_body;
	char		*op_auth;
	struct bjob	*waiters;

	/* A failed login: until block_until, polls fail the same way
	 * instead of calling createSession again. */
	char		*block_error;
	enum poll_status block_status;
	int64_t		 block_until;
	int64_t		 block_retry_at;

	struct bjob	*jobs;		/* polls in flight */
};

/* One poll. */
struct bjob {
	struct bsky	*b;
	struct poll_job	*job;
	struct bjob	*next;		/* in b->jobs */
	struct bjob	*wnext;		/* in b->waiters */
	int		 waiting;
	int		 stream;
	int64_t		 now;

	struct http_call *call;
	char		*url;		/* of the request in flight */
	char		*auth;		/* its Authorization header */
	unsigned	 gen;		/* the session it was sent with */
	enum step	 step;
	int		 logged_in;	/* this poll ran createSession */
	int		 refreshed;	/* this poll ran refreshSession */
	int		 retried;	/* a request was sent again after a
					   token error */
	int		 stopped;	/* cut short by the rate limit */

	int		 pages;		/* of the list being read */
	char		*page_cursor;	/* its next page */
	int64_t		 since;		/* first poll: from */

	/* notifications, posts */
	int64_t		 wm_ms;		/* watermark, -1: none */
	char		*wm_uri;
	int64_t		 best_ms;	/* the newest item seen */
	char		*best_at;
	char		*best_uri;

	/* chat */
	char		*start;		/* the cursor at the start */
	char		*log_req;	/* the cursor of this getLog */
	char		*rev;		/* the largest rev seen */
	char		*seed;		/* first poll's cursor */
	char		**convos;	/* first poll: convos to read */
	size_t		 nconvos;
	size_t		 iconvo;

	struct poll_ratelimit rl;
	char		 err[ERRLEN];
};

/* A post of a page. */
struct item {
	const char	*uri;
	const char	*at;		/* indexedAt as received */
	int64_t		 at_ms;
	int		 counts;	/* takes part in the watermark */
	int		 keep;		/* m is to be handed over */
	struct msg	 m;
};

static void	 job_send(struct bjob *);
static void	 login_start(struct bjob *);

/* ---- small helpers ------------------------------------------------------- */

static int
plausible(int64_t ms, int64_t now)
{
	return ms >= Y2000_MS && ms <= now + DAY_MS;
}

/* Printable ASCII without spaces: what may go into a header or a URL. */
static int
token_chars(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return 1;
	return 0;
}

/* PATH.NAME, for errors; cut short if it is too long. */
static void
subpath(char *dst, size_t len, const char *path, const char *name)
{
	int n;

	n = snprintf(dst, len, "%s.%s", path, name);
	if (n < 0 && len > 0)
		dst[0] = '\0';
}

static void __attribute__((format(printf, 2, 3)))
errf(struct bjob *bj, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bj->err, sizeof bj->err, fmt, ap);
	va_end(ap);
}

static void
set_err(struct bjob *bj, char *err)
{
	connector_copy_text(bj->err, sizeof bj->err, err != NULL ? err :
	    "unknown error");
	free(err);
}

static void
ratelimit_read(const struct http_response *resp, struct poll_ratelimit *rl)
{
	rl->limit = http_header_num(resp, "RateLimit-Limit");
	rl->remaining = http_header_num(resp, "RateLimit-Remaining");
	rl->reset_ms = http_header_num(resp, "RateLimit-Reset");
	if (rl->reset_ms > INT64_MAX / SEC_MS)
		rl->reset_ms = -1;
	else if (rl->reset_ms >= 0)
		rl->reset_ms *= SEC_MS;
}

/*
 * The XRPC error of a response: name ("" if none) and "Name: message"
 * ("" if the body is no XRPC error).
 */
static void
xrpc_error(const struct http_response *resp, char *name, size_t nlen,
    char *text, size_t tlen)
{
	cJSON *doc;
	const cJSON *e, *m;
	char buf[ERRLEN];

	name[0] = '\0';
	text[0] = '\0';
	if (resp->error != HTTP_OK || resp->len == 0)
		return;
	if ((doc = cJSON_ParseWithLength(resp->body, resp->len)) == NULL)
		return;
	e = cJSON_GetObjectItemCaseSensitive(doc, "error");
	m = cJSON_GetObjectItemCaseSensitive(doc, "message");
	if (cJSON_IsString(e) && e->valuestring[0] != '\0') {
		connector_copy_text(name, nlen, e->valuestring);
		if (cJSON_IsString(m) && m->valuestring[0] != '\0')
			snprintf(buf, sizeof buf, "%s: %s", e->valuestring,
			    m->valuestring);
		else
			snprintf(buf, sizeof buf, "%s", e->valuestring);
		connector_copy_text(text, tlen, buf);
	}
	cJSON_Delete(doc);
}

static int
token_error(const char *name)
{
	return strcmp(name, "ExpiredToken") == 0 ||
	    strcmp(name, "InvalidToken") == 0;
}

/* ---- JWT ----------------------------------------------------------------- */

static int
b64url_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

/* Decode len characters of base64url (padding optional); NULL if bad. */
static char *
b64url_decode(const char *s, size_t len, size_t *outlen)
{
	char *out;
	uint32_t acc = 0;
	size_t i, n = 0;
	int bits = 0, v;

	while (len > 0 && s[len - 1] == '=')
		len--;
	out = xmalloc(len * 3 / 4 + 1);
	for (i = 0; i < len; i++) {
		if ((v = b64url_value((unsigned char)s[i])) == -1) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

/* The expiry of a JWT from its payload's "exp", or -1 if unknown. */
static int64_t
jwt_exp_ms(const char *jwt)
{
	const char *p, *q;
	char *payload, *err = NULL;
	cJSON *doc;
	int64_t exp;
	size_t len;
	int rc;

	if ((p = strchr(jwt, '.')) == NULL || (q = strchr(p + 1, '.')) == NULL)
		return -1;
	if ((payload = b64url_decode(p + 1, (size_t)(q - p - 1), &len)) == NULL)
		return -1;
	doc = cJSON_ParseWithLength(payload, len);
	free(payload);
	if (doc == NULL)
		return -1;
	rc = jget_int(doc, NULL, "exp", 1, 0, INT64_C(253402300799), &exp,
	    &err);
	free(err);
	cJSON_Delete(doc);
	return rc == 1 ? exp * SEC_MS : -1;
}

/* ---- the poll's end ------------------------------------------------------ */

static void
job_unlink(struct bjob *bj)
{
	struct bjob **pp;

	for (pp = &bj->b->jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == bj) {
			*pp = bj->next;
			break;
		}
	if (bj->waiting) {
		for (pp = &bj->b->waiters; *pp != NULL; pp = &(*pp)->wnext)
			if (*pp == bj) {
				*pp = bj->wnext;
				break;
			}
		bj->waiting = 0;
	}
}

static void
bjob_free(struct bjob *bj)
{
	size_t i;

	free(bj->url);
	secret_free(bj->auth);
	free(bj->page_cursor);
	free(bj->wm_uri);
	free(bj->best_at);
	free(bj->best_uri);
	free(bj->start);
	free(bj->log_req);
	free(bj->rev);
	free(bj->seed);
	for (i = 0; i < bj->nconvos; i++)
		free(bj->convos[i]);
	free(bj->convos);
	free(bj);
}

/*
 * End the poll. error and cursor may point into bj: it is freed only
 * after poll_job_done, and it is no longer known to the connector then.
 */
static void
job_end(struct bjob *bj, enum poll_status status, const char *error,
    const char *cursor, int64_t retry_at)
{
	struct poll_job *job = bj->job;
	struct poll_result r;

	memset(&r, 0, sizeof r);
	r.status = status;
	r.error = status == POLL_OK ? NULL : error;
	r.cursor = status == POLL_OK ? cursor : NULL;
	r.retry_at_ms = retry_at;
	r.rl = bj->rl;
	if (status != POLL_OK && status != POLL_CANCELLED)
		log_debug("account %s: bluesky %s: %s", bj->b->acct->name,
		    bsky_streams[bj->stream], r.error);
	job_unlink(bj);
	poll_job_set_data(job, NULL);
	poll_job_done(job, &r);
	bjob_free(bj);
}

static void
job_fail(struct bjob *bj, enum poll_status status, int64_t retry_at)
{
	job_end(bj, status, bj->err, NULL, retry_at);
}

/* The cursor that covers what the poll handed over, NULL: unchanged. */
static char *
new_cursor(struct bjob *bj)
{
	char *c = NULL;

	if (bj->stream != S_CHAT) {
		if (bj->stopped || bj->best_uri == NULL)
			return NULL;
		if (bj->wm_uri != NULL && (bj->best_ms < bj->wm_ms ||
		    (bj->best_ms == bj->wm_ms &&
		    strcmp(bj->best_uri, bj->wm_uri) == 0)))
			return NULL;
		xasprintf(&c, "%s %s", bj->best_at, bj->best_uri);
		return c;
	}
	if (bj->start == NULL)
		return !bj->stopped && bj->seed != NULL ?
		    xstrdup(bj->seed) : NULL;
	if (bj->rev != NULL && strcmp(bj->rev, bj->start) > 0)
		return xstrdup(bj->rev);
	return NULL;
}

static void
job_finish(struct bjob *bj)
{
	char *cursor;
	int64_t retry_at;

	retry_at = bj->rl.remaining == 0 ? bj->rl.reset_ms : -1;
	cursor = new_cursor(bj);
	job_end(bj, POLL_OK, NULL, cursor, retry_at);
	free(cursor);
}

/* ---- the session --------------------------------------------------------- */

static void
session_drop(struct bsky *b)
{
	secret_free(b->access);
	secret_free(b->refresh);
	b->access = b->refresh = NULL;
	b->access_exp_ms = -1;
	b->gen++;
}

static void
op_clear(struct bsky *b)
{
	b->op = OP_NONE;
	b->op_call = NULL;
	secret_free(b->op_body);
	secret_free(b->op_auth);
	b->op_body = b->op_auth = NULL;
}

static void
op_join(struct bjob *bj)
{
	struct bjob **pp;

	if (bj->b->op == OP_LOGIN)
		bj->logged_in = 1;
	bj->waiting = 1;
	bj->wnext = NULL;
	for (pp = &bj->b->waiters; *pp != NULL; pp = &(*pp)->wnext)
		continue;
	*pp = bj;
}

/* Take the tokens of a createSession or refreshSession answer. */
static int
session_take(struct bsky *b, const struct http_response *resp, char **err)
{
	const char *access, *refresh, *did, *handle;
	cJSON *doc;

	if ((doc = jget_parse(resp->body, resp->len, err)) == NULL)
		return -1;
	if ((access = jget_string(doc, NULL, "accessJwt", 1, MAX_JWT,
	    err)) == NULL ||
	    (refresh = jget_string(doc, NULL, "refreshJwt", 1, MAX_JWT,
	    err)) == NULL ||
	    (did = jget_string(doc, NULL, "did", 1, MSG_MAX_ID, err)) == NULL)
		goto bad;
	handle = jget_string(doc, NULL, "handle", 0, MSG_MAX_ID, err);
	if (*err != NULL)
		goto bad;
	if (!token_chars(access) || !token_chars(refresh)) {
		xasprintf(err, "the session's tokens have characters a token "
		    "cannot have");
		goto bad;
	}
	if (strncmp(did, "did:", 4) != 0 || !token_chars(did)) {
		xasprintf(err, "did: \"%.100s\" is not a DID", did);
		goto bad;
	}
	session_drop(b);
	b->access = xstrdup(access);
	b->refresh = xstrdup(refresh);
	free(b->did);
	b->did = xstrdup(did);
	free(b->handle);
	b->handle = handle != NULL && !has_control(handle) ?
	    xstrdup(handle) : NULL;
	b->access_exp_ms = jwt_exp_ms(b->access);
	cJSON_Delete(doc);
	return 0;
bad:
	cJSON_Delete(doc);
	return -1;
}

/* Remember a failed login so that other polls do not repeat it soon. */
static void
login_block(struct bsky *b, enum poll_status status, const char *error,
    int64_t now, int64_t retry_at)
{
	int64_t wait;

	free(b->block_error);
	b->block_error = NULL;
	if (status == POLL_AUTH) {
		wait = b->acct->poll_interval_ms * 9 / 10;
		if (wait < LOGIN_BLOCK_MIN_MS)
			wait = LOGIN_BLOCK_MIN_MS;
		b->block_until = now + wait;
	} else if (status == POLL_RATE_LIMITED && retry_at > now)
		b->block_until = retry_at;
	else
		return;
	b->block_error = xstrdup(error);
	b->block_status = status;
	b->block_retry_at = retry_at;
}

static int64_t
rate_limited_at(const struct http_response *resp, int64_t now,
    int64_t fallback)
{
	struct poll_ratelimit rl;
	int64_t t;

	if ((t = http_retry_after(resp, now)) >= 0)
		return t;
	ratelimit_read(resp, &rl);
	if (rl.reset_ms >= 0)
		return rl.reset_ms;
	return fallback;
}

/* The session call ended: every poll waiting for it goes on or fails. */
static void
op_done(const struct http_response *resp, void *arg)
{
	struct bsky *b = arg;
	struct bjob *list, *w, *next;
	struct poll_result res;
	enum poll_status st;
	enum op op = b->op;
	char name[64], text[ERRLEN], buf[ERRLEN], *err = NULL;
	const char *what;
	int64_t now, retry_at;

	list = b->waiters;
	b->waiters = NULL;
	for (w = list; w != NULL; w = w->wnext)
		w->waiting = 0;
	op_clear(b);
	now = list != NULL ? list->now : timefmt_now();
	what = op == OP_LOGIN ? "com.atproto.server.createSession" :
	    "com.atproto.server.refreshSession";

	memset(&res, 0, sizeof res);
	buf[0] = '\0';
	st = connector_http_status(resp, now, buf, sizeof buf, &res);
	xrpc_error(resp, name, sizeof name, text, sizeof text);
	if (st == POLL_OK) {
		if (session_take(b, resp, &err) == 0) {
			if (op == OP_LOGIN) {
				free(b->block_error);
				b->block_error = NULL;
				log_info("account %s: bluesky session opened "
				    "for %s (%s)", b->acct->name,
				    b->handle != NULL ? b->handle : "?",
				    b->did);
			} else
				log_debug("account %s: bluesky session "
				    "refreshed", b->acct->name);
			for (w = list; w != NULL; w = next) {
				next = w->wnext;
				job_send(w);
			}
			return;
		}
		snprintf(buf, sizeof buf, "%s: %s", what, err);
		free(err);
		for (w = list; w != NULL; w = next) {
			next = w->wnext;
			connector_copy_text(w->err, sizeof w->err, buf);
			job_fail(w, POLL_BAD_DATA, -1);
		}
		return;
	}

	if (op == OP_REFRESH && resp->error == HTTP_OK &&
	    resp->status >= 400 && resp->status < 500 &&
	    resp->status != 429) {
		/* The refresh token is spent or revoked: log in again. */
		log_info("account %s: bluesky session refresh refused (%s); "
		    "logging in again", b->acct->name,
		    text[0] != '\0' ? text : buf);
		session_drop(b);
		for (w = list; w != NULL; w = next) {
			next = w->wnext;
			job_send(w);
		}
		return;
	}

	if (text[0] == '\0')
		connector_copy_text(text, sizeof text, buf[0] != '\0' ? buf :
		    "the session request failed");
	retry_at = res.retry_at_ms;
	if (st == POLL_RATE_LIMITED)
		retry_at = rate_limited_at(resp, now, retry_at);
	if (op == OP_LOGIN)
		login_block(b, st, text, now, retry_at);
	for (w = list; w != NULL; w = next) {
		next = w->wnext;
		connector_copy_text(w->err, sizeof w->err, text);
		job_fail(w, st, retry_at);
	}
}

static void
op_start(struct bjob *bj, enum op op, const char *method,
    const char *const *hdrs)
{
	struct bsky *b = bj->b;
	struct http_request req;
	char *url, *err = NULL;

	xasprintf(&url, "%s/xrpc/%s", b->url, method);
	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.ca_file = b->acct->ca_file;
	req.body = b->op_body != NULL ? b->op_body : "";
	req.body_len = strlen(req.body);
	log_debug("account %s: POST %s", b->acct->name, url);
	b->op = op;
	b->op_call = http_start(b->http, &req, op_done, b, &err);
	free(url);
	if (b->op_call == NULL) {
		op_clear(b);
		set_err(bj, err);
		job_fail(bj, POLL_RETRY, -1);
		return;
	}
	op_join(bj);
}

static void
login_start(struct bjob *bj)
{
	static const char *const hdrs[] = {
		"Content-Type: application/json", NULL
	};
	struct bsky *b = bj->b;
	cJSON *o, *pw;
	char *s;

	if (b->block_error != NULL && bj->now < b->block_until) {
		connector_copy_text(bj->err, sizeof bj->err, b->block_error);
		job_fail(bj, b->block_status, b->block_retry_at);
		return;
	}
	if (bj->logged_in) {
		errf(bj, "the session opened by this "
		    "poll was lost; not logging in twice in one poll");
		job_fail(bj, POLL_RETRY, -1);
		return;
	}
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "identifier", b->acct->handle) == NULL ||
	    (pw = cJSON_AddStringToObject(o, "password",
	    b->password)) == NULL ||
	    (s = cJSON_PrintUnformatted(o)) == NULL)
		fatal("out of memory");
	explicit_bzero(pw->valuestring, strlen(pw->valuestring));
	cJSON_Delete(o);
	b->op_body = xstrdup(s);
	explicit_bzero(s, strlen(s));
	cJSON_free(s);
	op_start(bj, OP_LOGIN, "com.atproto.server.createSession", hdrs);
}

static void
refresh_start(struct bjob *bj)
{
	struct bsky *b = bj->b;
	const char *hdrs[2];

	if (b->refresh == NULL) {
		login_start(bj);
		return;
	}
	bj->refreshed = 1;
	xasprintf(&b->op_auth, "Authorization: Bearer %s", b->refresh);
	hdrs[0] = b->op_auth;
	hdrs[1] = NULL;
	op_start(bj, OP_REFRESH, "com.atproto.server.refreshSession", hdrs);
}

/* ---- posts --------------------------------------------------------------- */

static int
at_uri(const char *uri)
{
	return strncmp(uri, "at://", 5) == 0 && uri[5] != '\0' &&
	    token_chars(uri);
}

#define ALNUM	"abcdefghijklmnopqrstuvwxyz" \
		"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

/* https://bsky.app/profile/WHO/post/RKEY, or NULL. */
static char *
post_url(const char *who, const char *uri)
{
	static const char coll[] = "/" POST_TYPE "/";
	const char *rkey;
	char *url;

	if ((rkey = strstr(uri, coll)) == NULL)
		return NULL;
	rkey += sizeof coll - 1;
	if (*rkey == '\0' || rkey[strspn(rkey, ALNUM ".-_:~")] != '\0' ||
	    who[strspn(who, ALNUM ".-_:")] != '\0')
		return NULL;
	xasprintf(&url, "https://bsky.app/profile/%s/post/%s", who, rkey);
	return url;
}

/* The uri of a strongRef member (reply.root, reply.parent). */
static const char *
ref_uri(const cJSON *reply, const char *path, const char *name, char **err)
{
	const cJSON *ref;
	const char *uri;
	char p[PATHLEN];

	if ((ref = jget_object(reply, path, name, 1, err)) == NULL)
		return NULL;
	subpath(p, sizeof p, path, name);
	if ((uri = jget_string(ref, p, "uri", 1, MSG_MAX_ID, err)) == NULL)
		return NULL;
	if (!at_uri(uri)) {
		xasprintf(err, "%s.uri: \"%.100s\" is not an at:// URI", p,
		    uri);
		return NULL;
	}
	return uri;
}

/* The uri and indexedAt of a post view or notification. */
static int
item_common(const cJSON *o, const char *path, int64_t now, struct item *item,
    char **err)
{
	if ((item->uri = jget_string(o, path, "uri", 1, MSG_MAX_ID,
	    err)) == NULL)
		return -1;
	if (!at_uri(item->uri)) {
		xasprintf(err, "%s.uri: \"%.100s\" is not an at:// URI", path,
		    item->uri);
		return -1;
	}
	if (jget_time(o, path, "indexedAt", 1, &item->at_ms, err) == -1)
		return -1;
	item->at = jget_string(o, path, "indexedAt", 1, 64, err);
	if (!plausible(item->at_ms, now)) {
		xasprintf(err, "%s.indexedAt: \"%s\" is not a plausible time "
		    "(before 2000 or more than a day ahead)", path, item->at);
		return -1;
	}
	return 0;
}

/*
 * A post record as a message. createdAt is declared by the author's
 * client: when it is not a plausible time, the server's indexedAt is
 * taken instead, so that one odd post cannot stop the stream.
 */
static int
post_record(struct bjob *bj, const cJSON *record, const char *rpath,
    struct item *item, const char *did, const char *handle, int quote,
    enum msg_direction dir, char **err)
{
	const cJSON *reply;
	const char *text, *root = NULL, *parent = NULL, *created, *who;
	char path[PATHLEN];
	struct msg *m = &item->m;
	int64_t ms;

	text = jget_string(record, rpath, "text", 0, MSG_MAX_TEXT, err);
	if (*err != NULL)
		return -1;
	reply = jget_object(record, rpath, "reply", 0, err);
	if (*err != NULL)
		return -1;
	if (reply != NULL) {
		subpath(path, sizeof path, rpath, "reply");
		if ((root = ref_uri(reply, path, "root", err)) == NULL ||
		    (parent = ref_uri(reply, path, "parent", err)) == NULL)
			return -1;
	}
	created = jget_string(record, rpath, "createdAt", 0, 0, err);
	if (*err != NULL)
		return -1;
	if (created == NULL || timefmt_parse_rfc3339(created, &ms) == -1 ||
	    !plausible(ms, bj->now)) {
		if (created != NULL)
			log_debug("account %s: %s.createdAt is not a plausible "
			    "time; using indexedAt", bj->b->acct->name, rpath);
		ms = item->at_ms;
	}
	who = handle != NULL && handle[0] != '\0' &&
	    strcmp(handle, "handle.invalid") != 0 ? handle : did;

	memset(m, 0, sizeof *m);
	m->id = xstrdup(item->uri);
	m->conversation = xstrdup(root != NULL ? root : item->uri);
	m->kind = MSG_BROADCAST;
	m->direction = dir;
	m->created_ms = ms;
	m->author = xstrdup(who);
	m->in_reply_to = parent != NULL && !quote ? xstrdup(parent) : NULL;
	m->text = xstrdup_or_null(text);
	m->url = post_url(who, item->uri);
	m->complaint = MSG_COMPLAINT_UNKNOWN;
	item->keep = 1;
	return 0;
}

/* The author's did and handle of a notification or post view. */
static int
author_of(const cJSON *o, const char *path, const char **did,
    const char **handle, char **err)
{
	const cJSON *author;
	char apath[PATHLEN];

	if ((author = jget_object(o, path, "author", 1, err)) == NULL)
		return -1;
	subpath(apath, sizeof apath, path, "author");
	if ((*did = jget_string(author, apath, "did", 1, MSG_MAX_ID,
	    err)) == NULL)
		return -1;
	*handle = jget_string(author, apath, "handle", 0, MSG_MAX_ID, err);
	return *err != NULL ? -1 : 0;
}

/* A post record, or 0 for another kind of record (to be skipped). */
static int
is_post(const cJSON *record, const char *rpath, char **err)
{
	const char *type;

	type = jget_string(record, rpath, "$type", 0, MAX_TYPE, err);
	if (*err != NULL)
		return -1;
	return type != NULL && strcmp(type, POST_TYPE) == 0;
}

static int
notification_item(struct bjob *bj, const cJSON *it, const char *path,
    struct item *item, char **err)
{
	const cJSON *record;
	const char *reason, *did, *handle;
	char rpath[PATHLEN];
	int rc;

	if (item_common(it, path, bj->now, item, err) == -1 ||
	    (reason = jget_string(it, path, "reason", 1, MAX_TYPE,
	    err)) == NULL ||
	    author_of(it, path, &did, &handle, err) == -1 ||
	    (record = jget_object(it, path, "record", 1, err)) == NULL)
		return -1;
	item->counts = 1;
	if (strcmp(reason, "mention") != 0 && strcmp(reason, "reply") != 0 &&
	    strcmp(reason, "quote") != 0)
		return 0;
	if (strcmp(did, bj->b->did) == 0)
		return 0;
	subpath(rpath, sizeof rpath, path, "record");
	if ((rc = is_post(record, rpath, err)) != 1)
		return rc;
	return post_record(bj, record, rpath, item, did, handle,
	    strcmp(reason, "quote") == 0, MSG_INBOUND, err);
}

static int
feed_item(struct bjob *bj, const cJSON *it, const char *path,
    struct item *item, char **err)
{
	const cJSON *post, *reason, *record;
	const char *did, *handle;
	char ppath[PATHLEN], rpath[PATHLEN];
	int rc;

	if ((post = jget_object(it, path, "post", 1, err)) == NULL)
		return -1;
	reason = jget_object(it, path, "reason", 0, err);
	if (*err != NULL)
		return -1;
	/* A repost (or a pinned post): not where it belongs in time. */
	if (reason != NULL)
		return 0;
	subpath(ppath, sizeof ppath, path, "post");
	if (item_common(post, ppath, bj->now, item, err) == -1 ||
	    author_of(post, ppath, &did, &handle, err) == -1 ||
	    (record = jget_object(post, ppath, "record", 1, err)) == NULL)
		return -1;
	if (strcmp(did, bj->b->did) != 0)
		return 0;
	item->counts = 1;
	subpath(rpath, sizeof rpath, ppath, "record");
	if ((rc = is_post(record, rpath, err)) != 1)
		return rc;
	return post_record(bj, record, rpath, item, did, handle, 0,
	    MSG_OUTBOUND, err);
}

static int
add_msg(struct bjob *bj, struct msg *m, char **err)
{
	int rc;

	rc = poll_job_add(bj->job, m, err);
	msg_clear(m);
	if (rc == -1 && *err == NULL)
		xasprintf(err, "a message was refused");
	return rc;
}

/* At or older than the watermark, or older than the backfill. */
static int
item_is_old(const struct bjob *bj, const struct item *item)
{
	if (bj->wm_uri != NULL && (item->at_ms < bj->wm_ms ||
	    (item->at_ms == bj->wm_ms && strcmp(item->uri, bj->wm_uri) == 0)))
		return 1;
	return bj->since >= 0 && item->at_ms < bj->since;
}

/* A page of listNotifications or getAuthorFeed: 1 for more, 0 done. */
static int
feed_page(struct bjob *bj, const cJSON *doc, char **err)
{
	const char *list, *cursor;
	const cJSON *arr, *it;
	struct item item;
	char path[PATHLEN];
	int i = 0, older = 0, rc;

	list = bj->stream == S_NOTIFICATIONS ? "notifications" : "feed";
	if ((arr = jget_array(doc, NULL, list, 1, err)) == NULL)
		return -1;
	cursor = jget_string(doc, NULL, "cursor", 0, MAX_CURSOR, err);
	if (*err != NULL)
		return -1;
	bj->pages++;
	cJSON_ArrayForEach(it, arr) {
		snprintf(path, sizeof path, "%s[%d]", list, i++);
		memset(&item, 0, sizeof item);
		rc = bj->stream == S_NOTIFICATIONS ?
		    notification_item(bj, it, path, &item, err) :
		    feed_item(bj, it, path, &item, err);
		if (rc == -1) {
			msg_clear(&item.m);
			return -1;
		}
		if (!item.counts)
			continue;
		/* the newest item: normally the first of page 1 */
		if (bj->best_uri == NULL || item.at_ms > bj->best_ms) {
			free(bj->best_at);
			free(bj->best_uri);
			bj->best_at = xstrdup(item.at);
			bj->best_uri = xstrdup(item.uri);
			bj->best_ms = item.at_ms;
		}
		if (item_is_old(bj, &item)) {
			older = 1;
			msg_clear(&item.m);
			continue;
		}
		if (item.keep && add_msg(bj, &item.m, err) == -1)
			return -1;
	}
	free(bj->page_cursor);
	bj->page_cursor = NULL;
	if (older || i == 0 || cursor == NULL || cursor[0] == '\0')
		return 0;
	if (bj->pages >= MAX_PAGES) {
		log_warn("account %s: bluesky %s: stopped after %d pages",
		    bj->b->acct->name, list, bj->pages);
		return 0;
	}
	bj->page_cursor = xstrdup(cursor);
	return 1;
}

/* ---- chat ---------------------------------------------------------------- */

static void
keep_max(char **dst, const char *rev)
{
	if (rev == NULL || rev[0] == '\0')
		return;
	if (*dst == NULL || strcmp(rev, *dst) > 0) {
		free(*dst);
		*dst = xstrdup(rev);
	}
}

/* A messageView as a message. */
static int
chat_message(struct bjob *bj, const cJSON *mv, const char *path,
    const char *convo, struct msg *m, char **err)
{
	const cJSON *sender;
	const char *id, *did, *text, *sent;
	char spath[PATHLEN];
	int64_t ms;

	if ((id = jget_string(mv, path, "id", 1, MSG_MAX_ID, err)) == NULL ||
	    (sender = jget_object(mv, path, "sender", 1, err)) == NULL)
		return -1;
	subpath(spath, sizeof spath, path, "sender");
	if ((did = jget_string(sender, spath, "did", 1, MSG_MAX_ID,
	    err)) == NULL ||
	    jget_time(mv, path, "sentAt", 1, &ms, err) == -1)
		return -1;
	if (!plausible(ms, bj->now)) {
		sent = jget_string(mv, path, "sentAt", 1, 64, err);
		xasprintf(err, "%s.sentAt: \"%s\" is not a plausible time "
		    "(before 2000 or more than a day ahead)", path, sent);
		return -1;
	}
	text = jget_string(mv, path, "text", 0, MSG_MAX_TEXT, err);
	if (*err != NULL)
		return -1;
	memset(m, 0, sizeof *m);
	m->id = xstrdup(id);
	m->conversation = xstrdup(convo);
	m->kind = MSG_DIRECT;
	m->direction = strcmp(did, bj->b->did) == 0 ? MSG_OUTBOUND :
	    MSG_INBOUND;
	m->created_ms = ms;
	m->author = xstrdup(did);
	m->text = xstrdup_or_null(text);
	m->complaint = MSG_COMPLAINT_UNKNOWN;
	return 0;
}

/* The entries of a getLog answer newer than `after` (NULL: all). */
static int
log_entries(struct bjob *bj, const cJSON *logs, const char *after,
    char **err)
{
	const cJSON *e, *mv;
	const char *type, *rev, *convo;
	char path[PATHLEN], mpath[PATHLEN];
	struct msg m;
	int i = 0;

	cJSON_ArrayForEach(e, logs) {
		snprintf(path, sizeof path, "logs[%d]", i++);
		if ((type = jget_string(e, path, "$type", 1, MAX_TYPE,
		    err)) == NULL)
			return -1;
		rev = jget_string(e, path, "rev", 0, MAX_CURSOR, err);
		if (*err != NULL)
			return -1;
		keep_max(&bj->rev, rev);
		if (strcmp(type, LOG_CREATE_TYPE) != 0)
			continue;
		if (rev == NULL || rev[0] == '\0') {
			xasprintf(err, "%s.rev: is missing", path);
			return -1;
		}
		if ((convo = jget_string(e, path, "convoId", 1, MSG_MAX_ID,
		    err)) == NULL ||
		    (mv = jget_object(e, path, "message", 1, err)) == NULL)
			return -1;
		subpath(mpath, sizeof mpath, path, "message");
		if ((type = jget_string(mv, mpath, "$type", 1, MAX_TYPE,
		    err)) == NULL)
			return -1;
		if (strcmp(type, MESSAGE_VIEW_TYPE) != 0)
			continue;
		if (chat_message(bj, mv, mpath, convo, &m, err) == -1)
			return -1;
		if ((after != NULL && strcmp(rev, after) <= 0) ||
		    (bj->since >= 0 && m.created_ms < bj->since)) {
			msg_clear(&m);
			continue;
		}
		if (add_msg(bj, &m, err) == -1)
			return -1;
	}
	return 0;
}

/* First poll: getLog without cursor gives the cursor to keep. */
static int
seed_page(struct bjob *bj, const cJSON *doc, char **err)
{
	const cJSON *logs;
	const char *cursor;

	if ((logs = jget_array(doc, NULL, "logs", 1, err)) == NULL)
		return -1;
	cursor = jget_string(doc, NULL, "cursor", 0, MAX_CURSOR, err);
	if (*err != NULL || log_entries(bj, logs, NULL, err) == -1)
		return -1;
	keep_max(&bj->rev, cursor);
	free(bj->seed);
	bj->seed = xstrdup_or_null(bj->rev);
	if (bj->seed == NULL)
		log_info("account %s: bluesky chat log gave no cursor",
		    bj->b->acct->name);
	bj->step = STEP_CONVOS;
	bj->pages = 0;
	return 1;
}

static int
next_convo(struct bjob *bj)
{
	free(bj->page_cursor);
	bj->page_cursor = NULL;
	bj->pages = 0;
	if (bj->step == STEP_MESSAGES)
		bj->iconvo++;
	bj->step = STEP_MESSAGES;
	return bj->iconvo < bj->nconvos;
}

static int
convos_page(struct bjob *bj, const cJSON *doc, char **err)
{
	const cJSON *arr, *c, *last;
	const char *cursor, *id;
	char path[PATHLEN], lpath[PATHLEN];
	int64_t ms;
	int i = 0, rc;

	if ((arr = jget_array(doc, NULL, "convos", 1, err)) == NULL)
		return -1;
	cursor = jget_string(doc, NULL, "cursor", 0, MAX_CURSOR, err);
	if (*err != NULL)
		return -1;
	bj->pages++;
	cJSON_ArrayForEach(c, arr) {
		snprintf(path, sizeof path, "convos[%d]", i++);
		if ((id = jget_string(c, path, "id", 1, MSG_MAX_ID,
		    err)) == NULL)
			return -1;
		last = jget_object(c, path, "lastMessage", 0, err);
		if (*err != NULL)
			return -1;
		if (last == NULL)
			continue;
		subpath(lpath, sizeof lpath, path, "lastMessage");
		if ((rc = jget_time(last, lpath, "sentAt", 0, &ms, err)) == -1)
			return -1;
		if (rc == 1 && bj->since >= 0 && ms < bj->since)
			continue;
		bj->convos = xreallocarray(bj->convos, bj->nconvos + 1,
		    sizeof *bj->convos);
		bj->convos[bj->nconvos++] = xstrdup(id);
	}
	free(bj->page_cursor);
	bj->page_cursor = NULL;
	if (cursor != NULL && cursor[0] != '\0') {
		if (bj->pages < MAX_PAGES) {
			bj->page_cursor = xstrdup(cursor);
			return 1;
		}
		log_warn("account %s: bluesky chat: stopped listing "
		    "conversations after %d pages", bj->b->acct->name,
		    bj->pages);
	}
	return next_convo(bj);
}

static int
messages_page(struct bjob *bj, const cJSON *doc, char **err)
{
	const cJSON *arr, *mv;
	const char *cursor, *type;
	char path[PATHLEN];
	struct msg m;
	int64_t ms;
	int i = 0, older = 0, rc;

	if ((arr = jget_array(doc, NULL, "messages", 1, err)) == NULL)
		return -1;
	cursor = jget_string(doc, NULL, "cursor", 0, MAX_CURSOR, err);
	if (*err != NULL)
		return -1;
	bj->pages++;
	cJSON_ArrayForEach(mv, arr) {
		snprintf(path, sizeof path, "messages[%d]", i++);
		if ((type = jget_string(mv, path, "$type", 1, MAX_TYPE,
		    err)) == NULL)
			return -1;
		if (strcmp(type, MESSAGE_VIEW_TYPE) != 0) {
			/* deleted or system message: only its age counts */
			if ((rc = jget_time(mv, path, "sentAt", 0, &ms,
			    err)) == -1)
				return -1;
			if (rc == 1 && ms < bj->since)
				older = 1;
			continue;
		}
		if (chat_message(bj, mv, path, bj->convos[bj->iconvo], &m,
		    err) == -1)
			return -1;
		if (m.created_ms < bj->since) {
			older = 1;
			msg_clear(&m);
			continue;
		}
		if (add_msg(bj, &m, err) == -1)
			return -1;
	}
	free(bj->page_cursor);
	bj->page_cursor = NULL;
	if (!older && cursor != NULL && cursor[0] != '\0' &&
	    bj->pages < MAX_PAGES) {
		bj->page_cursor = xstrdup(cursor);
		return 1;
	}
	return next_convo(bj);
}

static int
log_page(struct bjob *bj, const cJSON *doc, char **err)
{
	const cJSON *logs;
	const char *cursor;

	if ((logs = jget_array(doc, NULL, "logs", 1, err)) == NULL)
		return -1;
	cursor = jget_string(doc, NULL, "cursor", 0, MAX_CURSOR, err);
	if (*err != NULL || log_entries(bj, logs, bj->log_req, err) == -1)
		return -1;
	bj->pages++;
	if (cJSON_GetArraySize(logs) == 0)
		return 0;
	keep_max(&bj->rev, cursor);
	if (bj->rev == NULL || strcmp(bj->rev, bj->log_req) <= 0)
		return 0;
	if (bj->pages >= MAX_PAGES)
		return 0;
	free(bj->log_req);
	bj->log_req = xstrdup(bj->rev);
	return 1;
}

/* ---- requests ------------------------------------------------------------ */

static const char *
step_method(const struct bjob *bj)
{
	switch (bj->step) {
	case STEP_FEED:
		return bj->stream == S_NOTIFICATIONS ?
		    "app.bsky.notification.listNotifications" :
		    "app.bsky.feed.getAuthorFeed";
	case STEP_SEED:
	case STEP_LOG:
		return "chat.bsky.convo.getLog";
	case STEP_CONVOS:
		return "chat.bsky.convo.listConvos";
	case STEP_MESSAGES:
		return "chat.bsky.convo.getMessages";
	}
	return "?";
}

static char *
job_url(const struct bjob *bj)
{
	const struct bsky *b = bj->b;
	const char *method = step_method(bj);
	char *url, *e = NULL, *c = NULL;

	if (bj->page_cursor != NULL) {
		e = http_escape(bj->page_cursor);
		xasprintf(&c, "&cursor=%s", e);
		free(e);
		e = NULL;
	}
	switch (bj->step) {
	case STEP_FEED:
		if (bj->stream == S_NOTIFICATIONS) {
			xasprintf(&url, "%s/xrpc/%s?reasons=mention&"
			    "reasons=reply&reasons=quote&limit=100%s", b->url,
			    method, c != NULL ? c : "");
			break;
		}
		e = http_escape(b->did);
		xasprintf(&url, "%s/xrpc/%s?actor=%s&filter=posts_with_replies"
		    "&limit=100%s", b->url, method, e, c != NULL ? c : "");
		break;
	case STEP_SEED:
		xasprintf(&url, "%s/xrpc/%s", b->url, method);
		break;
	case STEP_CONVOS:
		xasprintf(&url, "%s/xrpc/%s?limit=100%s", b->url, method,
		    c != NULL ? c : "");
		break;
	case STEP_MESSAGES:
		e = http_escape(bj->convos[bj->iconvo]);
		xasprintf(&url, "%s/xrpc/%s?convoId=%s&limit=100%s", b->url,
		    method, e, c != NULL ? c : "");
		break;
	case STEP_LOG:
	default:
		e = http_escape(bj->log_req);
		xasprintf(&url, "%s/xrpc/%s?cursor=%s", b->url, method, e);
		break;
	}
	free(e);
	free(c);
	return url;
}

/*
 * An ExpiredToken or InvalidToken answer. The request is sent once more
 * if the token was replaced meanwhile, or after a refresh if it expired.
 * InvalidToken on chat usually means that the app password has no access
 * to direct messages: the session is kept for the other streams.
 */
static void
token_problem(struct bjob *bj, const char *name, const char *text)
{
	struct bsky *b = bj->b;
	int expired = strcmp(name, "ExpiredToken") == 0;

	if (!bj->retried && (bj->gen != b->gen || b->op != OP_NONE)) {
		bj->retried = 1;
		job_send(bj);
		return;
	}
	if (!bj->retried && expired) {
		bj->retried = 1;
		refresh_start(bj);
		return;
	}
	if (bj->gen == b->gen && (expired || bj->stream != S_CHAT))
		session_drop(b);
	if (bj->stream == S_CHAT && !expired)
		errf(bj, "%s (does the app password "
		    "allow direct messages?)", text);
	else
		errf(bj, "%s", text);
	job_fail(bj, expired ? POLL_RETRY : POLL_AUTH, -1);
}

static int
chat_unavailable(const struct http_response *resp, const char *name)
{
	return resp->error == HTTP_OK && (resp->status == 501 ||
	    strcmp(name, "XRPCNotSupported") == 0 ||
	    strcmp(name, "MethodNotImplemented") == 0);
}

static int
page(struct bjob *bj, const cJSON *doc, char **err)
{
	switch (bj->step) {
	case STEP_FEED:
		return feed_page(bj, doc, err);
	case STEP_SEED:
		return seed_page(bj, doc, err);
	case STEP_CONVOS:
		return convos_page(bj, doc, err);
	case STEP_MESSAGES:
		return messages_page(bj, doc, err);
	case STEP_LOG:
		return log_page(bj, doc, err);
	}
	return -1;
}

static void
job_cb(const struct http_response *resp, void *arg)
{
	struct bjob *bj = arg;
	struct poll_result res;
	enum poll_status st;
	char name[64], text[ERRLEN], buf[ERRLEN], *err = NULL;
	int64_t retry_at;
	cJSON *doc;
	int rc;

	bj->call = NULL;
	ratelimit_read(resp, &bj->rl);
	xrpc_error(resp, name, sizeof name, text, sizeof text);
	if (resp->error == HTTP_OK && (resp->status == 400 ||
	    resp->status == 401) && token_error(name)) {
		token_problem(bj, name, text);
		return;
	}
	memset(&res, 0, sizeof res);
	buf[0] = '\0';
	st = connector_http_status(resp, bj->now, buf, sizeof buf, &res);
	if (st != POLL_OK && bj->stream == S_CHAT &&
	    chat_unavailable(resp, name)) {
		errf(bj, "chat is not available "
		    "through this PDS (%s)", text[0] != '\0' ? text : buf);
		job_fail(bj, POLL_BAD_DATA, -1);
		return;
	}
	if (st != POLL_OK) {
		retry_at = res.retry_at_ms;
		if (st == POLL_RATE_LIMITED)
			retry_at = rate_limited_at(resp, bj->now, retry_at);
		connector_copy_text(bj->err, sizeof bj->err,
		    text[0] != '\0' ? text : buf[0] != '\0' ? buf :
		    "the request failed");
		job_fail(bj, st, retry_at);
		return;
	}
	if ((doc = jget_parse(resp->body, resp->len, &err)) == NULL) {
		errf(bj, "%s: %s", step_method(bj),
		    err);
		free(err);
		job_fail(bj, POLL_BAD_DATA, -1);
		return;
	}
	rc = page(bj, doc, &err);
	cJSON_Delete(doc);
	if (rc == -1) {
		set_err(bj, err);
		job_fail(bj, POLL_BAD_DATA, -1);
		return;
	}
	if (rc == 1 && bj->rl.remaining == 0) {
		log_info("account %s: bluesky %s: rate limit reached; going "
		    "on later", bj->b->acct->name, bsky_streams[bj->stream]);
		bj->stopped = 1;
		rc = 0;
	}
	if (rc == 0)
		job_finish(bj);
	else
		job_send(bj);
}

/*
 * Send the poll's next request, after opening or refreshing the session
 * if needed (or waiting for the session call in flight).
 */
static void
job_send(struct bjob *bj)
{
	struct bsky *b = bj->b;
	struct http_request req;
	const char *hdrs[3];
	char *err = NULL;

	if (b->op != OP_NONE) {
		op_join(bj);
		return;
	}
	if (b->access == NULL) {
		login_start(bj);
		return;
	}
	if (!bj->refreshed && b->access_exp_ms >= 0 &&
	    b->access_exp_ms - bj->now < REFRESH_MARGIN_MS) {
		refresh_start(bj);
		return;
	}
	free(bj->url);
	bj->url = job_url(bj);
	secret_free(bj->auth);
	xasprintf(&bj->auth, "Authorization: Bearer %s", b->access);
	hdrs[0] = bj->auth;
	hdrs[1] = bj->stream == S_CHAT ? b->proxy_hdr : NULL;
	hdrs[2] = NULL;
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.url = bj->url;
	req.headers = hdrs;
	req.ca_file = b->acct->ca_file;
	bj->gen = b->gen;
	log_debug("account %s: GET %s", b->acct->name, bj->url);
	if ((bj->call = http_start(b->http, &req, job_cb, bj, &err)) == NULL) {
		set_err(bj, err);
		job_fail(bj, POLL_RETRY, -1);
	}
}

/* ---- the connector ------------------------------------------------------- */

/* "INDEXEDAT URI" */
static int
feed_cursor(struct bjob *bj, const char *cursor)
{
	const char *sp;
	char *at;
	int rc;

	if ((sp = strrchr(cursor, ' ')) == NULL || sp == cursor ||
	    !at_uri(sp + 1))
		return -1;
	at = xstrndup(cursor, (size_t)(sp - cursor));
	rc = timefmt_parse_rfc3339(at, &bj->wm_ms);
	free(at);
	if (rc == -1)
		return -1;
	bj->wm_uri = xstrdup(sp + 1);
	return 0;
}

static int
stream_init(struct bjob *bj)
{
	const char *cursor = poll_job_cursor(bj->job);
	int64_t backfill;

	if (cursor != NULL && cursor[0] == '\0')
		cursor = NULL;
	if (cursor == NULL) {
		bj->since = poll_job_backfill_since(bj->job);
		if (bj->since < 0) {
			backfill = bj->b->acct->backfill_ms > 0 ?
			    bj->b->acct->backfill_ms : DAY_MS;
			bj->since = bj->now - backfill;
		}
	}
	if (bj->stream == S_CHAT) {
		if (cursor == NULL) {
			bj->step = STEP_SEED;
			return 0;
		}
		if (!token_chars(cursor))
			goto bad;
		bj->step = STEP_LOG;
		bj->start = xstrdup(cursor);
		bj->log_req = xstrdup(cursor);
		return 0;
	}
	bj->step = STEP_FEED;
	if (cursor != NULL && feed_cursor(bj, cursor) == -1)
		goto bad;
	return 0;
bad:
	errf(bj, "the %s cursor \"%.200s\" is not "
	    "one this connector wrote", bsky_streams[bj->stream], cursor);
	return -1;
}

static void
bsky_poll(void *self, struct poll_job *job)
{
	struct bsky *b = self;
	struct bjob *bj;

	bj = xcalloc(1, sizeof *bj);
	bj->b = b;
	bj->job = job;
	bj->stream = poll_job_stream(job);
	bj->now = poll_job_now(job);
	bj->since = -1;
	bj->wm_ms = -1;
	bj->best_ms = -1;
	bj->rl.limit = bj->rl.remaining = bj->rl.reset_ms = -1;
	bj->next = b->jobs;
	b->jobs = bj;
	poll_job_set_data(job, bj);
	if (bj->stream < 0 || bj->stream >= NSTREAMS) {
		bj->stream = 0;
		errf(bj, "no such stream");
		job_fail(bj, POLL_BAD_DATA, -1);
		return;
	}
	if (stream_init(bj) == -1) {
		job_fail(bj, POLL_BAD_DATA, -1);
		return;
	}
	job_send(bj);
}

static void
bsky_cancel(void *self, struct poll_job *job)
{
	struct bjob *bj = poll_job_data(job);
	struct poll_result r;

	(void)self;
	if (bj == NULL) {
		memset(&r, 0, sizeof r);
		r.status = POLL_CANCELLED;
		r.error = "cancelled";
		r.retry_at_ms = -1;
		r.rl.limit = r.rl.remaining = r.rl.reset_ms = -1;
		poll_job_done(job, &r);
		return;
	}
	if (bj->call != NULL) {
		http_cancel(bj->call);
		bj->call = NULL;
	}
	/* A session call it waits for goes on: others may need it. */
	errf(bj, "cancelled");
	job_fail(bj, POLL_CANCELLED, -1);
}

static void *
bsky_new(const struct connector_env *env, char **errstr)
{
	const struct conf_account *a = env->account;
	const char *url, *proxy, *why;
	struct bsky *b;

	if (a->handle == NULL || a->handle[0] == '\0') {
		xasprintf(errstr, "connector bluesky needs handle =");
		return NULL;
	}
	if (env->secret == NULL || env->secret[0] == '\0') {
		xasprintf(errstr, "connector bluesky needs password_file =");
		return NULL;
	}
	/* Refuses plain http except to a loopback address: the app
	 * password would travel in clear. */
	url = a->url != NULL ? a->url : BSKY_DEFAULT_URL;
	if (http_url_check(url, &why) == -1) {
		xasprintf(errstr, "connector bluesky: url %s: %s", url, why);
		return NULL;
	}
	proxy = a->chat_proxy != NULL ? a->chat_proxy : BSKY_CHAT_PROXY;
	if (proxy[0] == '\0' || has_control(proxy)) {
		xasprintf(errstr, "connector bluesky: chat_proxy is empty or "
		    "has control characters");
		return NULL;
	}
	b = xcalloc(1, sizeof *b);
	b->acct = a;
	b->password = env->secret;
	b->http = env->http;
	b->url = connector_base_url(url);
	xasprintf(&b->proxy_hdr, "atproto-proxy: %s", proxy);
	b->access_exp_ms = -1;
	return b;
}

/* The daemon cancels the polls first; any left are dropped silently. */
static void
bsky_free(void *self)
{
	struct bsky *b = self;
	struct bjob *bj, *next;

	if (b == NULL)
		return;
	if (b->op_call != NULL)
		http_cancel(b->op_call);
	op_clear(b);
	for (bj = b->jobs; bj != NULL; bj = next) {
		next = bj->next;
		if (bj->call != NULL)
			http_cancel(bj->call);
		bjob_free(bj);
	}
	session_drop(b);
	free(b->did);
	free(b->handle);
	free(b->block_error);
	free(b->url);
	free(b->proxy_hdr);
	free(b);
}

const struct connector_def connector_bluesky = {
	.name = "bluesky",
	.platform = "bluesky",
	.streams = bsky_streams,
	.needs_secret = 1,
	.default_url = BSKY_DEFAULT_URL,
	.new = bsky_new,
	.free = bsky_free,
	.poll = bsky_poll,
	.cancel = bsky_cancel,
};
