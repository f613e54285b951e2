/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "connector.h"
#include "jsonget.h"
#include "log.h"
#include "secret.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * X (API v2) with an OAuth 2.0 user token. Streams:
 *
 *   mentions  GET /2/users/{id}/mentions: posts naming the brand, inbound
 *   tweets    GET /2/users/{id}/tweets: the brand's own posts and replies,
 *             outbound (retweets excluded)
 *   dm        GET /2/dm_events: direct messages both ways
 *
 * Pages come newest first. A poll walks back from the newest page with
 * pagination_token until it reaches what is stored: the since_id it asked
 * for (mentions, tweets), the last stored event id (dm, which has no
 * since_id) or, before anything is stored, the backfill horizon. Every
 * page is committed with a cursor that says how far the walk got, so that
 * a walk cut short (rate limit, page cap, a crash) goes on where it
 * stopped instead of starting over:
 *
 *   SINCE              everything up to SINCE is stored
 *   TOP SINCE UNTIL    everything up to TOP is stored, except what lies
 *                      between SINCE and UNTIL (mentions, tweets: an
 *                      until_id; dm: the pagination token to go on with)
 *
 * SINCE and TOP are a post or event id, or "t" and epoch milliseconds:
 * created since then (start_time), for a stream that has stored nothing
 * yet.
 *
 * The tokens: token_file holds the first access token, refresh_token_file
 * the first refresh token. X rotates refresh tokens: each one works once.
 * The new pair is written to STATE_DIR/ACCOUNT.x-oauth (temporary file,
 * fsync, rename, fsync of the directory) before the new access token is
 * used, and read back at the next start, so that a crash never leaves the
 * account with a spent refresh token only. The file remembers which
 * configured tokens it grew from: new ones in the configuration win.
 *
 * Direct messages have their own budget (15 requests per 15 minutes): its
 * figures are kept between polls; a poll makes one request at most when
 * few are left, and none until the reset when none are.
 */

#define X_DEFAULT_URL	"https://api.x.com"
#define X_WEB		"https://x.com"

#define MAX_PAGES	40
#define PAGE_SIZE	100
#define DM_LOW		3		/* few DM requests left: one a poll */
#define MAX_ID		19
#define MAX_TOKEN	4096
#define MAX_PTOKEN	512		/* pagination token */
#define MAX_STATE	(64 * 1024)
#define ERRLEN		1024
#define PATHLEN		96

#define SEC_MS		INT64_C(1000)
#define DAY_MS		(24 * 3600 * SEC_MS)
#define REFRESH_MARGIN_MS (60 * SEC_MS)
#define Y2006_MS	INT64_C(1136073600000)	/* X began in 2006 */

#define TWEET_QUERY	"max_results=100&tweet.fields=created_at," \
			"conversation_id,in_reply_to_user_id," \
			"referenced_tweets,author_id&expansions=author_id" \
			"&user.fields=username"
#define DM_QUERY	"max_results=100&event_types=MessageCreate" \
			"&dm_event.fields=id,event_type,text,sender_id," \
			"dm_conversation_id,created_at&expansions=sender_id" \
			"&user.fields=username"

enum stream {
	S_MENTIONS,
	S_TWEETS,
	S_DM,
	NSTREAMS
};

static const char *const x_streams[NSTREAMS + 1] = {
	"mentions", "tweets", "dm", NULL
};

enum step {
	STEP_ME,	/* GET /2/users/me: who the brand is */
	STEP_PAGE,	/* a page of the stream */
};

struct xjob;

struct x {
	const struct conf_account *acct;
	struct http	*http;
	char		*base;		/* the url, no trailing '/' */
	char		*state_path;	/* NULL: tokens in memory only */
	char		*client_id;
	char		*basic;		/* "Authorization: Basic …" or NULL */
	char		*seed;		/* fingerprint of the configured tokens */

	char		*access;
	char		*refresh;	/* NULL: cannot renew */
	int64_t		 access_exp_ms;	/* -1: unknown */
	unsigned	 gen;		/* changes with the access token */
	int		 dirty;		/* tokens not saved yet: not used */

	char		*brand_id;
	char		*brand_name;

	struct poll_ratelimit dm_rl;	/* the DM endpoint's, between polls */

	struct http_call *op_call;	/* the token refresh in flight */
	char		*op_body;
	struct xjob	*waiters;	/* polls waiting for it */
	struct xjob	*jobs;		/* polls in flight */
};

struct xjob {
	struct x	*x;
	struct poll_job	*job;
	struct xjob	*next;		/* in x->jobs */
	struct xjob	*wnext;		/* in x->waiters */
	int		 waiting;
	int		 stream;
	int64_t		 now;

	struct http_call *call;
	char		*url;		/* of the request in flight */
	char		*auth;		/* its Authorization line */
	unsigned	 gen;		/* the token it was sent with */
	enum step	 step;
	int		 refreshed;	/* this poll renewed the token */
	int		 retried;	/* sent again after a 401 */
	int		 requests;	/* of the stream, this poll */

	/* the walk */
	char		*start;		/* the cursor at the start */
	char		*top;		/* newest stored so far, NULL: none */
	char		*since;		/* stop at this id, or NULL */
	int64_t		 since_ms;	/* or at this time, -1 */
	char		*until;		/* mentions, tweets: until_id */
	char		*token;		/* pagination token of the next page */
	int		 token_from_cursor;
	int		 pages;

	struct poll_ratelimit rl;
	char		 err[ERRLEN];
};

/* A post or event of a page, checked; strings borrowed from the page. */
struct item {
	const char	*id;
	const char	*author_id;
	const char	*conversation;
	const char	*in_reply_to;
	const char	*text;
	int64_t		 created_ms;
};

static void	job_send(struct xjob *);

/* ---- small helpers --------------------------------------------------------- */

/* Printable ASCII without spaces: what may go into a header or a URL. */
static int
token_chars(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int
all_digits(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	return strspn(s, "0123456789") == n;
}

/* Ids are decimal snowflakes: longer is newer, then bytewise. */
static int
id_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

static void __attribute__((format(printf, 2, 3)))
errf(struct xjob *xj, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(xj->err, sizeof xj->err, fmt, ap);
	va_end(ap);
}

static void
set_err(struct xjob *xj, char *err)
{
	connector_copy_text(xj->err, sizeof xj->err, err != NULL ? err :
	    "unknown error");
	free(err);
}

/* x-rate-limit-*: reset is in epoch seconds. */
static int
ratelimit_read(const struct http_response *r, struct poll_ratelimit *rl)
{
	int64_t limit, remaining, reset;

	if (r->error != HTTP_OK)
		return 0;
	limit = http_header_num(r, "x-rate-limit-limit");
	remaining = http_header_num(r, "x-rate-limit-remaining");
	reset = http_header_num(r, "x-rate-limit-reset");
	if (limit == -1 && remaining == -1 && reset == -1)
		return 0;
	rl->limit = limit;
	rl->remaining = remaining;
	rl->reset_ms = reset >= 0 && reset < INT64_MAX / SEC_MS ?
	    reset * SEC_MS : -1;
	return 1;
}

/*
 * X's words from an error body: a Problem ("title", "detail"), a v1.1
 * style "errors":[{"message"}], or an OAuth error ("error",
 * "error_description"). "" if none.
 */
static void
x_error_text(const struct http_response *r, char *buf, size_t len)
{
	const cJSON *t, *d, *errs, *e0;
	char both[ERRLEN];
	cJSON *doc;

	buf[0] = '\0';
	if (r->error != HTTP_OK || r->len == 0 ||
	    (doc = cJSON_ParseWithLength(r->body, r->len)) == NULL)
		return;
	t = cJSON_GetObjectItemCaseSensitive(doc, "title");
	d = cJSON_GetObjectItemCaseSensitive(doc, "detail");
	if (!cJSON_IsString(t) && !cJSON_IsString(d)) {
		t = cJSON_GetObjectItemCaseSensitive(doc, "error");
		d = cJSON_GetObjectItemCaseSensitive(doc, "error_description");
	}
	if (!cJSON_IsString(t) && !cJSON_IsString(d)) {
		errs = cJSON_GetObjectItemCaseSensitive(doc, "errors");
		e0 = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
		if (e0 != NULL) {
			t = cJSON_GetObjectItemCaseSensitive(e0, "title");
			d = cJSON_GetObjectItemCaseSensitive(e0, "message");
			if (!cJSON_IsString(d))
				d = cJSON_GetObjectItemCaseSensitive(e0,
				    "detail");
		}
	}
	if (cJSON_IsString(t) && cJSON_IsString(d) &&
	    strcmp(t->valuestring, d->valuestring) != 0)
		snprintf(both, sizeof both, "%s: %s", t->valuestring,
		    d->valuestring);
	else if (cJSON_IsString(d))
		snprintf(both, sizeof both, "%s", d->valuestring);
	else if (cJSON_IsString(t))
		snprintf(both, sizeof both, "%s", t->valuestring);
	else
		both[0] = '\0';
	connector_copy_text(buf, len, both);
	cJSON_Delete(doc);
}

/* "HTTP 401: Unauthorized", with X's words where it said something. */
static void
http_error_text(const struct http_response *r, const char *fallback,
    char *buf, size_t len)
{
	char text[ERRLEN / 2];

	x_error_text(r, text, sizeof text);
	if (r->error != HTTP_OK)
		snprintf(buf, len, "%s", fallback);
	else if (text[0] != '\0')
		snprintf(buf, len, "HTTP %ld: %s", r->status, text);
	else
		snprintf(buf, len, "%s", fallback);
}

/* ---- the saved tokens ------------------------------------------------------ */

/* FNV-1a 64 of the configured tokens, to tell when they change. */
static char *
seed_of(const char *access, const char *refresh)
{
	uint64_t h = UINT64_C(14695981039346656037);
	const char *parts[3] = { access, "\n", refresh != NULL ? refresh : "" };
	const char *s;
	char *out;
	size_t i;

	for (i = 0; i < 3; i++)
		for (s = parts[i]; *s != '\0'; s++)
			h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	xasprintf(&out, "%016llx", (unsigned long long)h);
	return out;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
fsync_dir(const char *path)
{
	char *dir, *slash;
	int fd, rc;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * Write the tokens to the state file: a temporary file, fsync, rename,
 * fsync of the directory. Only then may the new access token be used.
 */
static int
state_save(struct x *x, char **err)
{
	cJSON *o;
	char *text, *tmp;
	int fd, saved;

	if (x->state_path == NULL) {
		x->dirty = 0;
		return 0;
	}
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "access_token", x->access) == NULL ||
	    (x->refresh != NULL && cJSON_AddStringToObject(o,
	    "refresh_token", x->refresh) == NULL) ||
	    cJSON_AddNumberToObject(o, "expires_at_ms",
	    (double)x->access_exp_ms) == NULL ||
	    cJSON_AddStringToObject(o, "seed", x->seed) == NULL ||
	    (text = cJSON_Print(o)) == NULL)
		fatal("out of memory");
	/* the copies in the tree go with it */
	cJSON_Delete(o);
	xasprintf(&tmp, "%s.tmp", x->state_path);
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	saved = fd != -1 && write_all(fd, text, strlen(text)) == 0 &&
	    write_all(fd, "\n", 1) == 0 && fsync(fd) == 0;
	if (fd != -1 && close(fd) == -1)
		saved = 0;
	if (saved && rename(tmp, x->state_path) == -1)
		saved = 0;
	if (saved && fsync_dir(x->state_path) == -1)
		saved = 0;
	if (!saved) {
		xasprintf(err, "%s: %s", fd == -1 ? tmp : x->state_path,
		    strerror(errno));
		(void)unlink(tmp);
	} else
		x->dirty = 0;
	explicit_bzero(text, strlen(text));
	cJSON_free(text);
	free(tmp);
	return saved ? 0 : -1;
}

/* Read the file's whole content (at most max bytes); NULL if absent. */
static char *
read_small(const char *path, size_t max, char **err)
{
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT)
			xasprintf(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(max + 1);
	while (len < max) {
		if ((n = read(fd, buf + len, max - len)) == -1) {
			if (errno == EINTR)
				continue;
			xasprintf(err, "%s: %s", path, strerror(errno));
			close(fd);
			explicit_bzero(buf, len);
			free(buf);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/*
 * The saved tokens, if the file is there and grew from the configured
 * ones. 1 taken, 0 not there (or from other tokens), -1 error.
 */
static int
state_load(struct x *x, char **err)
{
	const char *access, *refresh, *seed;
	char *text, *e = NULL;
	int64_t exp;
	cJSON *doc;
	int rc = -1;

	if (x->state_path == NULL)
		return 0;
	if ((text = read_small(x->state_path, MAX_STATE, err)) == NULL)
		return *err != NULL ? -1 : 0;
	doc = jget_parse(text, strlen(text), &e);
	explicit_bzero(text, strlen(text));
	free(text);
	if (doc == NULL)
		goto out;
	if ((seed = jget_string(doc, "state", "seed", 1, 64, &e)) == NULL)
		goto out;
	if (strcmp(seed, x->seed) != 0) {
		log_info("x %s: the configured tokens changed: %s is not "
		    "used", x->acct->name, x->state_path);
		rc = 0;
		goto out;
	}
	if ((access = jget_string(doc, "state", "access_token", 1,
	    MAX_TOKEN, &e)) == NULL)
		goto out;
	refresh = jget_string(doc, "state", "refresh_token", 0, MAX_TOKEN,
	    &e);
	if (e != NULL || jget_int(doc, "state", "expires_at_ms", 0, -1,
	    INT64_MAX / 2, &exp, &e) == -1)
		goto out;
	if (!token_chars(access) || (refresh != NULL &&
	    !token_chars(refresh))) {
		xasprintf(&e, "a token has characters a token cannot have");
		goto out;
	}
	secret_free(x->access);
	secret_free(x->refresh);
	x->access = xstrdup(access);
	x->refresh = xstrdup_or_null(refresh);
	x->access_exp_ms = exp;
	rc = 1;
out:
	if (rc == -1)
		xasprintf(err, "%s: %s", x->state_path, e != NULL ? e :
		    "unreadable");
	free(e);
	if (doc != NULL) {
		const cJSON *it;

		/* no copy of a token left behind */
		cJSON_ArrayForEach(it, doc)
			if (cJSON_IsString(it))
				explicit_bzero(it->valuestring,
				    strlen(it->valuestring));
		cJSON_Delete(doc);
	}
	return rc;
}

/* ---- the end of a poll ----------------------------------------------------- */

static void
job_unlink(struct xjob *xj)
{
	struct xjob **pp;

	for (pp = &xj->x->jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == xj) {
			*pp = xj->next;
			break;
		}
	if (xj->waiting) {
		for (pp = &xj->x->waiters; *pp != NULL; pp = &(*pp)->wnext)
			if (*pp == xj) {
				*pp = xj->wnext;
				break;
			}
		xj->waiting = 0;
	}
}

static void
xjob_free(struct xjob *xj)
{
	free(xj->url);
	secret_free(xj->auth);
	free(xj->start);
	free(xj->top);
	free(xj->since);
	free(xj->until);
	free(xj->token);
	free(xj);
}

static void
job_end(struct xjob *xj, enum poll_status status, int64_t retry_at)
{
	struct poll_job *job = xj->job;
	struct poll_result r;

	memset(&r, 0, sizeof r);
	r.status = status;
	r.error = status == POLL_OK ? NULL : xj->err;
	r.cursor = NULL;	/* each page was committed with its own */
	r.retry_at_ms = retry_at;
	r.rl = xj->rl;
	if (status != POLL_OK && status != POLL_CANCELLED)
		log_debug("x %s: %s: %s", xj->x->acct->name,
		    x_streams[xj->stream], r.error);
	job_unlink(xj);
	poll_job_set_data(job, NULL);
	poll_job_done(job, &r);
	xjob_free(xj);
}

static void
job_fail(struct xjob *xj, enum poll_status status, int64_t retry_at)
{
	job_end(xj, status, retry_at);
}

static void
job_ok(struct xjob *xj)
{
	job_end(xj, POLL_OK, xj->rl.remaining == 0 ? xj->rl.reset_ms : -1);
}

/* ---- the token ------------------------------------------------------------- */

static void
op_join(struct xjob *xj)
{
	struct xjob **pp;

	xj->waiting = 1;
	xj->wnext = NULL;
	for (pp = &xj->x->waiters; *pp != NULL; pp = &(*pp)->wnext)
		continue;
	*pp = xj;
}

/* Take the answer of POST /2/oauth2/token: the new pair, saved. */
static int
token_take(struct x *x, const struct http_response *r, int64_t now,
    char **err)
{
	const char *access, *refresh;
	int64_t expires_in;
	cJSON *doc;
	int rc = -1;

	if ((doc = jget_parse(r->body, r->len, err)) == NULL)
		return -1;
	if ((access = jget_string(doc, "oauth2/token", "access_token", 1,
	    MAX_TOKEN, err)) == NULL)
		goto out;
	refresh = jget_string(doc, "oauth2/token", "refresh_token", 0,
	    MAX_TOKEN, err);
	if (*err != NULL)
		goto out;
	switch (jget_int(doc, "oauth2/token", "expires_in", 0, 1,
	    INT64_C(365) * 24 * 3600, &expires_in, err)) {
	case -1:
		goto out;
	case 0:
		expires_in = -1;
		break;
	}
	if (!token_chars(access) || (refresh != NULL &&
	    !token_chars(refresh))) {
		xasprintf(err, "oauth2/token: a token has characters a token "
		    "cannot have");
		goto out;
	}
	secret_free(x->access);
	x->access = xstrdup(access);
	if (refresh != NULL) {
		secret_free(x->refresh);
		x->refresh = xstrdup(refresh);
	}
	x->access_exp_ms = expires_in > 0 ? now + expires_in * SEC_MS : -1;
	x->gen++;
	x->dirty = 1;
	rc = 0;
out:
	if (doc != NULL) {
		const cJSON *it;

		cJSON_ArrayForEach(it, doc)
			if (cJSON_IsString(it))
				explicit_bzero(it->valuestring,
				    strlen(it->valuestring));
		cJSON_Delete(doc);
	}
	return rc;
}

static void
op_clear(struct x *x)
{
	x->op_call = NULL;
	secret_free(x->op_body);
	x->op_body = NULL;
}

/* The refresh ended: every poll waiting for it goes on or fails. */
static void
refresh_done(const struct http_response *r, void *arg)
{
	struct x *x = arg;
	struct xjob *list, *w, *next;
	struct poll_result res;
	enum poll_status st;
	char text[ERRLEN], buf[ERRLEN], *err = NULL;
	int64_t now, retry_at;

	list = x->waiters;
	x->waiters = NULL;
	for (w = list; w != NULL; w = w->wnext)
		w->waiting = 0;
	op_clear(x);
	now = list != NULL ? list->now : timefmt_now();

	st = connector_http_status(r, now, buf, sizeof buf, &res);
	if (st == POLL_OK) {
		if (token_take(x, r, now, &err) == 0) {
			if (state_save(x, &err) == -1) {
				log_err("x %s: the renewed tokens could not "
				    "be saved: %s", x->acct->name, err);
				free(err);
			} else
				log_info("x %s: token renewed%s%s",
				    x->acct->name, x->state_path != NULL ?
				    " and saved in " : "",
				    x->state_path != NULL ? x->state_path :
				    "");
			for (w = list; w != NULL; w = next) {
				next = w->wnext;
				job_send(w);
			}
			return;
		}
		snprintf(text, sizeof text, "renewing the token: %s", err);
		free(err);
		st = POLL_BAD_DATA;
		retry_at = -1;
	} else {
		http_error_text(r, buf, text, sizeof text);
		retry_at = res.retry_at_ms;
		/* 400 invalid_request/invalid_grant, 401: the refresh
		 * token is spent, revoked or not this client's */
		if (r->error == HTTP_OK && r->status >= 400 &&
		    r->status < 500 && r->status != 429 && r->status != 408) {
			st = POLL_AUTH;
			snprintf(buf, sizeof buf, "renewing the token: %.900s "
			    "(a new refresh token is needed)", text);
			connector_copy_text(text, sizeof text, buf);
		} else if (st == POLL_RATE_LIMITED && retry_at == -1) {
			struct poll_ratelimit rl;

			if (ratelimit_read(r, &rl))
				retry_at = rl.reset_ms;
		}
		if (st != POLL_AUTH) {
			snprintf(buf, sizeof buf, "renewing the token: %.900s",
			    text);
			connector_copy_text(text, sizeof text, buf);
		}
	}
	for (w = list; w != NULL; w = next) {
		next = w->wnext;
		connector_copy_text(w->err, sizeof w->err, text);
		job_fail(w, st, retry_at);
	}
}

static int
can_refresh(const struct x *x)
{
	return x->refresh != NULL && x->client_id != NULL;
}

/* POST /2/oauth2/token with the refresh token. */
static void
refresh_start(struct xjob *xj)
{
	struct x *x = xj->x;
	struct http_request req;
	const char *hdrs[3];
	char *rt, *cid, *url, *err = NULL;

	xj->refreshed = 1;
	rt = http_escape(x->refresh);
	cid = http_escape(x->client_id);
	xasprintf(&x->op_body, "grant_type=refresh_token&refresh_token=%s"
	    "&client_id=%s", rt, cid);
	secret_free(rt);
	free(cid);
	hdrs[0] = "Content-Type: application/x-www-form-urlencoded";
	hdrs[1] = x->basic;
	hdrs[2] = NULL;
	xasprintf(&url, "%s/2/oauth2/token", x->base);
	memset(&req, 0, sizeof req);
	req.method = "POST";
	req.url = url;
	req.headers = hdrs;
	req.body = x->op_body;
	req.body_len = strlen(x->op_body);
	req.ca_file = x->acct->ca_file;
	log_debug("x %s: POST %s", x->acct->name, url);
	x->op_call = http_start(x->http, &req, refresh_done, x, &err);
	free(url);
	if (x->op_call == NULL) {
		op_clear(x);
		set_err(xj, err);
		job_fail(xj, POLL_RETRY, -1);
		return;
	}
	op_join(xj);
}

/* ---- cursors ------------------------------------------------------------------ */

/* An id, or "t" and epoch ms. */
static int
since_form(const char *s, char **id, int64_t *ms)
{
	char *end;
	long long v;

	*id = NULL;
	*ms = -1;
	if (s[0] == 't') {
		if (!all_digits(s + 1, 15))
			return -1;
		errno = 0;
		v = strtoll(s + 1, &end, 10);
		if (errno != 0 || *end != '\0')
			return -1;
		*ms = v;
		return 0;
	}
	if (!all_digits(s, MAX_ID))
		return -1;
	*id = xstrdup(s);
	return 0;
}

static int
cursor_parse(struct xjob *xj, const char *cursor)
{
	char *copy, *f[4], *p, *id;
	int64_t ms;
	size_t n = 0;
	int rc = -1;

	copy = xstrdup(cursor);
	for (p = strtok(copy, " "); p != NULL && n < 4; p = strtok(NULL, " "))
		f[n++] = p;
	if (p != NULL || (n != 1 && n != 3))
		goto out;
	if (since_form(f[0], &id, &ms) == -1)
		goto out;
	if (n == 1) {
		xj->since = id;
		xj->since_ms = ms;
		rc = 0;
		goto out;
	}
	free(id);
	xj->top = xstrdup(f[0]);
	if (since_form(f[1], &xj->since, &xj->since_ms) == -1)
		goto out;
	if (xj->stream == S_DM) {
		if (!token_chars(f[2]) || strlen(f[2]) > MAX_PTOKEN)
			goto out;
		xj->token = xstrdup(f[2]);
		xj->token_from_cursor = 1;
	} else {
		if (!all_digits(f[2], MAX_ID))
			goto out;
		xj->until = xstrdup(f[2]);
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* What the walk stopped at: since as written in a cursor. */
static char *
since_text(const struct xjob *xj)
{
	char *s;

	if (xj->since != NULL)
		return xstrdup(xj->since);
	xasprintf(&s, "t%lld", (long long)(xj->since_ms >= 0 ?
	    xj->since_ms : xj->now));
	return s;
}

/* The newer of the walk's top and id. */
static void
top_raise(struct xjob *xj, const char *id)
{
	if (xj->top == NULL || xj->top[0] == 't' || id_cmp(id, xj->top) > 0) {
		free(xj->top);
		xj->top = xstrdup(id);
	}
}

/* The cursor once the walk is over: the newest stored. */
static char *
cursor_done(const struct xjob *xj)
{
	if (xj->top != NULL)
		return xstrdup(xj->top);
	return since_text(xj);
}

/* The cursor of a walk to go on with from rest (until_id or token). */
static char *
cursor_gap(const struct xjob *xj, const char *rest)
{
	char *s, *since, *c;

	since = since_text(xj);
	s = xj->top != NULL ? xstrdup(xj->top) : xstrdup(since);
	xasprintf(&c, "%s %s %s", s, since, rest);
	free(s);
	free(since);
	return c;
}

/* ---- pages ---------------------------------------------------------------------- */

static int
plausible(const struct xjob *xj, const cJSON *o, const char *path,
    int64_t *ms, char **err)
{
	if (jget_time(o, path, "created_at", 1, ms, err) == -1)
		return -1;
	if (*ms < Y2006_MS || *ms > xj->now + DAY_MS) {
		xasprintf(err, "%s.created_at: %s is not a plausible time",
		    path, cJSON_GetObjectItemCaseSensitive(o,
		    "created_at")->valuestring);
		return -1;
	}
	return 0;
}

static int
get_id(const cJSON *o, const char *path, const char *name, int required,
    const char **out, char **err)
{
	*out = jget_string(o, path, name, required, MAX_ID, err);
	if (*err != NULL)
		return -1;
	if (*out != NULL && !all_digits(*out, MAX_ID)) {
		xasprintf(err, "%s.%s: \"%s\" is not an id", path, name, *out);
		return -1;
	}
	return 0;
}

static int
get_text(const cJSON *o, const char *path, const char **out, char **err)
{
	*out = jget_text(o, path, "text", 0, MSG_MAX_TEXT, err);
	return *err != NULL ? -1 : 0;
}

/*
 * The posts a post refers to. OpenAPI v2.167 renames referenced_tweets to
 * referenced_posts (platform-apis.md §1, UNCONFIRMED which name the server
 * sends), so the old name is read first and the new one when it is absent;
 * the inner shape is the same. *name says which was found, for error paths.
 */
static const cJSON *
tweet_refs(const cJSON *t, const char *path, const char **name, char **err)
{
	const cJSON *refs;

	*name = "referenced_tweets";
	refs = jget_array(t, path, *name, 0, err);
	if (refs != NULL || *err != NULL)
		return refs;
	*name = "referenced_posts";
	return jget_array(t, path, *name, 0, err);
}

/* A post: id, author, thread, what it answers. 1, or -1 on bad data. */
static int
tweet_read(const struct xjob *xj, const cJSON *t, const char *path,
    struct item *it, char **err)
{
	const cJSON *refs, *ref;
	const char *type, *id, *name;
	char rpath[PATHLEN + 32];
	int i = 0;

	memset(it, 0, sizeof *it);
	if (get_id(t, path, "id", 1, &it->id, err) == -1 ||
	    get_id(t, path, "author_id", 1, &it->author_id, err) == -1 ||
	    get_id(t, path, "conversation_id", 1, &it->conversation,
	    err) == -1 ||
	    get_text(t, path, &it->text, err) == -1 ||
	    plausible(xj, t, path, &it->created_ms, err) == -1)
		return -1;
	refs = tweet_refs(t, path, &name, err);
	if (*err != NULL)
		return -1;
	cJSON_ArrayForEach(ref, refs) {
		snprintf(rpath, sizeof rpath, "%s.%s[%d]", path, name, i++);
		if (!cJSON_IsObject(ref)) {
			xasprintf(err, "%s: expected an object, got %s", rpath,
			    jget_type(ref));
			return -1;
		}
		if ((type = jget_string(ref, rpath, "type", 1, 64,
		    err)) == NULL || get_id(ref, rpath, "id", 1, &id,
		    err) == -1)
			return -1;
		if (strcmp(type, "replied_to") == 0)
			it->in_reply_to = id;
	}
	return 1;
}

/* A DM event; 0 if it is no message (someone joined or left). */
static int
dm_read(const struct xjob *xj, const cJSON *e, const char *path,
    struct item *it, char **err)
{
	const char *type;
	size_t n;

	memset(it, 0, sizeof *it);
	if (get_id(e, path, "id", 1, &it->id, err) == -1 ||
	    (type = jget_string(e, path, "event_type", 1, 64, err)) == NULL ||
	    plausible(xj, e, path, &it->created_ms, err) == -1)
		return -1;
	if (strcmp(type, "MessageCreate") != 0)
		return 0;
	if (get_id(e, path, "sender_id", 1, &it->author_id, err) == -1 ||
	    get_text(e, path, &it->text, err) == -1 ||
	    (it->conversation = jget_string(e, path, "dm_conversation_id", 1,
	    MSG_MAX_ID, err)) == NULL)
		return -1;
	n = strlen(it->conversation);
	if (strspn(it->conversation, "0123456789-") != n || n > 2 * MAX_ID + 1) {
		xasprintf(err, "%s.dm_conversation_id: \"%.100s\" is not a "
		    "conversation id", path, it->conversation);
		return -1;
	}
	return 1;
}

/* includes.users: check every one. */
static int
users_check(const cJSON *users, char **err)
{
	const cJSON *u;
	const char *s;
	char path[PATHLEN];
	int i = 0;

	cJSON_ArrayForEach(u, users) {
		snprintf(path, sizeof path, "includes.users[%d]", i++);
		if (get_id(u, path, "id", 1, &s, err) == -1 ||
		    (s = jget_string(u, path, "username", 1, MSG_MAX_ID,
		    err)) == NULL)
			return -1;
		if (!token_chars(s)) {
			xasprintf(err, "%s.username: \"%.100s\" is not a "
			    "username", path, s);
			return -1;
		}
	}
	return 0;
}

static const char *
username_of(const cJSON *users, const char *id)
{
	const cJSON *u, *uid;

	cJSON_ArrayForEach(u, users) {
		uid = cJSON_GetObjectItemCaseSensitive(u, "id");
		if (cJSON_IsString(uid) && strcmp(uid->valuestring, id) == 0)
			return cJSON_GetObjectItemCaseSensitive(u,
			    "username")->valuestring;
	}
	return NULL;
}

/* X escapes &, < and > in a post's text. */
static char *
unescape_text(const char *s)
{
	static const struct {
		const char	*ent;
		char		 c;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' } };
	char *out, *o;
	size_t i, n;

	if (s == NULL || *s == '\0')
		return NULL;
	o = out = xmalloc(strlen(s) + 1);
	while (*s != '\0') {
		for (i = 0; i < sizeof ents / sizeof ents[0]; i++) {
			n = strlen(ents[i].ent);
			if (strncmp(s, ents[i].ent, n) == 0)
				break;
		}
		if (i < sizeof ents / sizeof ents[0]) {
			*o++ = ents[i].c;
			s += n;
		} else
			*o++ = *s++;
	}
	*o = '\0';
	return out;
}

static int
item_hand_over(struct xjob *xj, const struct item *it, const cJSON *users,
    char **err)
{
	struct x *x = xj->x;
	const char *name;
	struct msg m;

	memset(&m, 0, sizeof m);
	name = username_of(users, it->author_id);
	if (name == NULL && x->brand_name != NULL &&
	    strcmp(it->author_id, x->brand_id) == 0)
		name = x->brand_name;
	m.id = xstrdup(it->id);
	m.conversation = xstrdup(it->conversation);
	m.kind = xj->stream == S_DM ? MSG_DIRECT : MSG_BROADCAST;
	m.direction = strcmp(it->author_id, x->brand_id) == 0 ?
	    MSG_OUTBOUND : MSG_INBOUND;
	m.created_ms = it->created_ms;
	m.author = xstrdup(name != NULL ? name : it->author_id);
	m.in_reply_to = xstrdup_or_null(it->in_reply_to);
	m.text = unescape_text(it->text);
	if (xj->stream != S_DM) {
		if (name != NULL)
			xasprintf(&m.url, "%s/%s/status/%s", X_WEB, name,
			    it->id);
		else
			xasprintf(&m.url, "%s/i/web/status/%s", X_WEB, it->id);
	}
	m.complaint = MSG_COMPLAINT_UNKNOWN;
	if (poll_job_add(xj->job, &m, err) == -1) {
		msg_clear(&m);
		return -1;
	}
	msg_clear(&m);
	return 0;
}

/*
 * A 200 without "data": an empty page, or errors only (a suspended or
 * unknown user), which is no page at all.
 */
static int
no_data(const cJSON *doc, const cJSON *meta, char **err)
{
	const cJSON *errs, *e0, *d, *t;
	int64_t count;

	errs = cJSON_GetObjectItemCaseSensitive(doc, "errors");
	if (meta != NULL && jget_int(meta, "meta", "result_count", 0, 0,
	    INT64_C(1000000), &count, err) == 1 && count == 0)
		return 0;
	if (*err != NULL)
		return -1;
	if (!cJSON_IsArray(errs) || cJSON_GetArraySize(errs) == 0)
		return 0;
	e0 = cJSON_GetArrayItem(errs, 0);
	d = cJSON_GetObjectItemCaseSensitive(e0, "detail");
	t = cJSON_GetObjectItemCaseSensitive(e0, "title");
	xasprintf(err, "X answered with errors only: %.200s%s%.300s",
	    cJSON_IsString(t) ? t->valuestring : "?",
	    cJSON_IsString(d) ? ": " : "",
	    cJSON_IsString(d) ? d->valuestring : "");
	return -1;
}

/*
 * A page: check all of it, hand over what is new (oldest first), commit
 * it with the cursor that covers it. 1: ask for the next page, 0: done.
 */
static int
got_page(struct xjob *xj, const cJSON *doc, char **err)
{
	const char *what = xj->stream == S_DM ? "dm_events" : "data";
	const cJSON *data, *el, *meta, *includes, *users = NULL;
	const char *next, *oldest = NULL;
	struct item *items = NULL;
	char path[PATHLEN], *cursor = NULL;
	size_t n, nitems = 0, i = 0;
	int rc, reached = 0, more = 0;

	if (!cJSON_IsObject(doc)) {
		xasprintf(err, "%s: expected an object, got %s", what,
		    jget_type(doc));
		return -1;
	}
	if ((meta = jget_object(doc, NULL, "meta", 0, err)) == NULL &&
	    *err != NULL)
		return -1;
	if ((includes = jget_object(doc, NULL, "includes", 0, err)) == NULL &&
	    *err != NULL)
		return -1;
	if (includes != NULL && ((users = jget_array(includes, "includes",
	    "users", 0, err)) == NULL && *err != NULL))
		return -1;
	if (users_check(users, err) == -1)
		return -1;
	next = meta == NULL ? NULL : jget_string(meta, "meta", "next_token", 0,
	    MAX_PTOKEN, err);
	if (*err != NULL)
		return -1;
	if (next != NULL && !token_chars(next)) {
		xasprintf(err, "meta.next_token: not a token");
		return -1;
	}
	if ((data = jget_array(doc, NULL, "data", 0, err)) == NULL) {
		if (*err != NULL || no_data(doc, meta, err) == -1)
			return -1;
		next = NULL;
	}
	xj->pages++;
	n = data != NULL ? (size_t)cJSON_GetArraySize(data) : 0;
	items = xcalloc(n ? n : 1, sizeof *items);
	cJSON_ArrayForEach(el, data) {
		struct item *it = &items[nitems];

		snprintf(path, sizeof path, "%s[%zu]", what, i++);
		if (!cJSON_IsObject(el)) {
			xasprintf(err, "%s: expected an object, got %s", path,
			    jget_type(el));
			goto bad;
		}
		rc = xj->stream == S_DM ? dm_read(xj, el, path, it, err) :
		    tweet_read(xj, el, path, it, err);
		if (rc == -1)
			goto bad;
		if (oldest == NULL || id_cmp(it->id, oldest) < 0)
			oldest = it->id;
		/* what is stored already, or older than the horizon */
		if ((xj->since != NULL && id_cmp(it->id, xj->since) <= 0) ||
		    (xj->since_ms >= 0 && it->created_ms < xj->since_ms)) {
			reached = 1;
			continue;
		}
		if (rc == 0)
			continue;
		nitems++;
	}
	for (i = nitems; i-- > 0;) {
		if (item_hand_over(xj, &items[i], users, err) == -1)
			goto bad;
	}
	for (i = 0; i < nitems; i++)
		top_raise(xj, items[i].id);

	more = next != NULL && !reached && n > 0;
	free(xj->token);
	xj->token = more ? xstrdup(next) : NULL;
	xj->token_from_cursor = 0;
	if (more)
		cursor = cursor_gap(xj, xj->stream == S_DM ? next : oldest);
	else
		cursor = cursor_done(xj);
	if (strcmp(cursor, xj->start != NULL ? xj->start : "") == 0) {
		free(cursor);
		cursor = NULL;
	}
	if (poll_job_commit(xj->job, cursor, err) == -1) {
		free(cursor);
		free(items);
		return -2;
	}
	if (cursor != NULL) {
		free(xj->start);
		xj->start = cursor;
	}
	free(items);
	if (!more)
		return 0;
	if (xj->pages >= MAX_PAGES) {
		log_info("x %s: %s: %d pages; going on at the next poll",
		    xj->x->acct->name, x_streams[xj->stream], xj->pages);
		return 0;
	}
	if (xj->rl.remaining == 0) {
		log_info("x %s: %s: rate limit reached; going on at %lld",
		    xj->x->acct->name, x_streams[xj->stream],
		    (long long)xj->rl.reset_ms / 1000);
		return 0;
	}
	if (xj->stream == S_DM && xj->rl.remaining >= 0 &&
	    xj->rl.remaining <= DM_LOW)
		return 0;	/* the DM budget is low: one page a poll */
	/* a gap in the cursor ends with its until_id; paging goes on with
	 * the token */
	return 1;
bad:
	free(items);
	return -1;
}

static int
got_me(struct xjob *xj, const cJSON *doc, char **err)
{
	struct x *x = xj->x;
	const cJSON *d;
	const char *id, *name;

	if ((d = jget_object(doc, NULL, "data", 1, err)) == NULL ||
	    get_id(d, "users/me.data", "id", 1, &id, err) == -1 ||
	    (name = jget_string(d, "users/me.data", "username", 1,
	    MSG_MAX_ID, err)) == NULL)
		return -1;
	if (!token_chars(name)) {
		xasprintf(err, "users/me.data.username: not a username");
		return -1;
	}
	if (x->brand_id == NULL || strcmp(x->brand_id, id) != 0)
		log_info("x %s: the token is @%s's (user %s)", x->acct->name,
		    name, id);
	free(x->brand_id);
	free(x->brand_name);
	x->brand_id = xstrdup(id);
	x->brand_name = xstrdup(name);
	xj->step = STEP_PAGE;
	return 1;
}

/* ---- requests ------------------------------------------------------------------ */

static char *
job_url(const struct xjob *xj)
{
	const struct x *x = xj->x;
	char *url, *q = NULL, *tmp, *e, when[TIMEFMT_RFC3339_LEN];

	if (xj->step == STEP_ME) {
		xasprintf(&url, "%s/2/users/me", x->base);
		return url;
	}
	if (xj->stream == S_DM) {
		if (xj->token != NULL) {
			e = http_escape(xj->token);
			xasprintf(&url, "%s/2/dm_events?" DM_QUERY
			    "&pagination_token=%s", x->base, e);
			free(e);
		} else
			xasprintf(&url, "%s/2/dm_events?" DM_QUERY, x->base);
		return url;
	}
	q = xstrdup("");
	if (xj->since != NULL) {
		xasprintf(&tmp, "%s&since_id=%s", q, xj->since);
		free(q);
		q = tmp;
	} else if (xj->since_ms >= 0) {
		timefmt_format_rfc3339(xj->since_ms, when, sizeof when);
		e = http_escape(when);
		xasprintf(&tmp, "%s&start_time=%s", q, e);
		free(e);
		free(q);
		q = tmp;
	}
	if (xj->until != NULL) {
		xasprintf(&tmp, "%s&until_id=%s", q, xj->until);
		free(q);
		q = tmp;
	}
	if (xj->token != NULL) {
		e = http_escape(xj->token);
		xasprintf(&tmp, "%s&pagination_token=%s", q, e);
		free(e);
		free(q);
		q = tmp;
	}
	e = http_escape(x->brand_id);
	xasprintf(&url, "%s/2/users/%s/%s?" TWEET_QUERY "%s%s", x->base, e,
	    xj->stream == S_MENTIONS ? "mentions" : "tweets", q,
	    xj->stream == S_TWEETS ? "&exclude=retweets" : "");
	free(e);
	free(q);
	return url;
}

/* A 401: the token changed meanwhile, or renew it, once a poll. */
static int
unauthorized(struct xjob *xj, const struct http_response *r)
{
	struct x *x = xj->x;
	char text[ERRLEN];

	if (!xj->retried && (xj->gen != x->gen || x->op_call != NULL)) {
		xj->retried = 1;
		job_send(xj);
		return 1;
	}
	if (!xj->retried && !xj->refreshed && can_refresh(x)) {
		xj->retried = 1;
		log_info("x %s: the access token was refused (%s); renewing "
		    "it", x->acct->name, x_streams[xj->stream]);
		refresh_start(xj);
		return 1;
	}
	http_error_text(r, "HTTP 401", text, sizeof text);
	errf(xj, "%s%s", text, can_refresh(x) ? "" :
	    " (no refresh_token_file and client_id to renew the token)");
	job_fail(xj, POLL_AUTH, -1);
	return 1;
}

static void
job_cb(const struct http_response *r, void *arg)
{
	struct xjob *xj = arg;
	struct x *x = xj->x;
	struct poll_result res;
	enum poll_status st;
	char buf[ERRLEN], text[ERRLEN], *err = NULL;
	int64_t retry_at;
	cJSON *doc;
	int rc;

	xj->call = NULL;
	if (ratelimit_read(r, &xj->rl) && xj->stream == S_DM &&
	    xj->step == STEP_PAGE)
		x->dm_rl = xj->rl;
	if (r->error == HTTP_OK && r->status == 401) {
		unauthorized(xj, r);
		return;
	}
	/* a pagination token of the cursor may have expired: walk again
	 * from the newest page down to the same place */
	if (r->error == HTTP_OK && r->status == 400 &&
	    xj->token_from_cursor) {
		log_info("x %s: %s: the saved page token was refused; "
		    "starting from the newest page", x->acct->name,
		    x_streams[xj->stream]);
		free(xj->token);
		xj->token = NULL;
		xj->token_from_cursor = 0;
		job_send(xj);
		return;
	}
	st = connector_http_status(r, xj->now, buf, sizeof buf, &res);
	if (st != POLL_OK) {
		http_error_text(r, buf, text, sizeof text);
		connector_copy_text(xj->err, sizeof xj->err, text);
		retry_at = res.retry_at_ms;
		if (st == POLL_RATE_LIMITED && retry_at == -1)
			retry_at = xj->rl.reset_ms;
		job_fail(xj, st, retry_at);
		return;
	}
	if ((doc = connector_json_body(r, &st, &err)) == NULL) {
		set_err(xj, err);
		job_fail(xj, st, -1);
		return;
	}
	rc = xj->step == STEP_ME ? got_me(xj, doc, &err) :
	    got_page(xj, doc, &err);
	cJSON_Delete(doc);
	if (rc < 0) {
		set_err(xj, err);
		job_fail(xj, rc == -2 ? POLL_RETRY : POLL_BAD_DATA, -1);
		return;
	}
	if (rc == 0)
		job_ok(xj);
	else
		job_send(xj);
}

/* The DM budget is used up until its reset. */
static int
dm_spent(const struct xjob *xj)
{
	const struct poll_ratelimit *rl = &xj->x->dm_rl;

	return xj->stream == S_DM && rl->remaining == 0 &&
	    rl->reset_ms > xj->now;
}

/*
 * Send the poll's next request, after the saved tokens are safe on disk
 * and the access token is renewed if it is about to expire.
 */
static void
job_send(struct xjob *xj)
{
	struct x *x = xj->x;
	struct http_request req;
	const char *hdrs[3];
	char *err = NULL;

	if (x->op_call != NULL) {
		op_join(xj);
		return;
	}
	if (x->dirty && state_save(x, &err) == -1) {
		errf(xj, "the renewed tokens could not be saved, so they are "
		    "not used: %s", err);
		free(err);
		job_fail(xj, POLL_RETRY, -1);
		return;
	}
	if (!xj->refreshed && can_refresh(x) && x->access_exp_ms >= 0 &&
	    xj->now >= x->access_exp_ms - REFRESH_MARGIN_MS) {
		refresh_start(xj);
		return;
	}
	if (xj->step == STEP_PAGE && dm_spent(xj)) {
		log_debug("x %s: dm: the budget is used up until %lld",
		    x->acct->name, (long long)x->dm_rl.reset_ms / 1000);
		if (xj->requests == 0)
			xj->rl = x->dm_rl;
		job_end(xj, POLL_OK, x->dm_rl.reset_ms);
		return;
	}
	free(xj->url);
	xj->url = job_url(xj);
	secret_free(xj->auth);
	xasprintf(&xj->auth, "Authorization: Bearer %s", x->access);
	hdrs[0] = xj->auth;
	hdrs[1] = "Accept: application/json";
	hdrs[2] = NULL;
	memset(&req, 0, sizeof req);
	req.url = xj->url;
	req.headers = hdrs;
	req.ca_file = x->acct->ca_file;
	xj->gen = x->gen;
	if (xj->step == STEP_PAGE)
		xj->requests++;
	log_debug("x %s: GET %s", x->acct->name, xj->url);
	if ((xj->call = http_start(x->http, &req, job_cb, xj, &err)) == NULL) {
		set_err(xj, err);
		job_fail(xj, POLL_RETRY, -1);
	}
}

/* ---- the connector ---------------------------------------------------------------- */

static void
x_poll(void *self, struct poll_job *job)
{
	struct x *x = self;
	struct xjob *xj;
	const char *cursor = poll_job_cursor(job);
	int64_t backfill;

	xj = xcalloc(1, sizeof *xj);
	xj->x = x;
	xj->job = job;
	xj->stream = poll_job_stream(job);
	xj->now = poll_job_now(job);
	xj->since_ms = -1;
	xj->rl.limit = xj->rl.remaining = xj->rl.reset_ms = -1;
	xj->next = x->jobs;
	x->jobs = xj;
	poll_job_set_data(job, xj);
	if (xj->stream < 0 || xj->stream >= NSTREAMS) {
		xj->stream = 0;
		errf(xj, "no such stream");
		job_fail(xj, POLL_BAD_DATA, -1);
		return;
	}
	if (cursor != NULL && cursor[0] == '\0')
		cursor = NULL;
	if (cursor == NULL) {
		xj->since_ms = poll_job_backfill_since(job);
		if (xj->since_ms < 0) {
			backfill = x->acct->backfill_ms > 0 ?
			    x->acct->backfill_ms : DAY_MS;
			xj->since_ms = xj->now - backfill;
		}
	} else {
		xj->start = xstrdup(cursor);
		if (cursor_parse(xj, cursor) == -1) {
			errf(xj, "the %s cursor \"%.200s\" is not one this "
			    "connector wrote", x_streams[xj->stream], cursor);
			job_fail(xj, POLL_BAD_DATA, -1);
			return;
		}
	}
	xj->step = x->brand_id == NULL ? STEP_ME : STEP_PAGE;
	job_send(xj);
}

static void
x_cancel(void *self, struct poll_job *job)
{
	struct xjob *xj = poll_job_data(job);

	(void)self;
	if (xj == NULL)
		return;
	if (xj->call != NULL) {
		http_cancel(xj->call);
		xj->call = NULL;
	}
	/* a refresh it waits for goes on: the others need it too */
	errf(xj, "cancelled");
	job_fail(xj, POLL_CANCELLED, -1);
}

/* "Authorization: Basic base64(id:secret)" */
static char *
basic_auth(const char *id, const char *secret)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *plain, *out, *o;
	size_t len, i;
	uint32_t v;

	xasprintf(&plain, "%s:%s", id, secret);
	len = strlen(plain);
	xasprintf(&out, "Authorization: Basic %*s", (int)((len + 2) / 3 * 4),
	    "");
	o = out + strlen("Authorization: Basic ");
	for (i = 0; i < len; i += 3) {
		v = (uint32_t)(unsigned char)plain[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)(unsigned char)plain[i + 1] << 8;
		if (i + 2 < len)
			v |= (uint32_t)(unsigned char)plain[i + 2];
		*o++ = b64[(v >> 18) & 63];
		*o++ = b64[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		*o++ = i + 2 < len ? b64[v & 63] : '=';
	}
	*o = '\0';
	secret_free(plain);
	return out;
}

static void
x_free(void *self)
{
	struct x *x = self;
	struct xjob *xj, *next;

	if (x == NULL)
		return;
	if (x->op_call != NULL)
		http_cancel(x->op_call);
	op_clear(x);
	for (xj = x->jobs; xj != NULL; xj = next) {
		next = xj->next;
		if (xj->call != NULL)
			http_cancel(xj->call);
		xjob_free(xj);
	}
	free(x->base);
	free(x->state_path);
	free(x->client_id);
	secret_free(x->basic);
	free(x->seed);
	secret_free(x->access);
	secret_free(x->refresh);
	free(x->brand_id);
	free(x->brand_name);
	free(x);
}

static void *
x_new(const struct connector_env *env, char **errstr)
{
	const struct conf_account *a = env->account;
	const char *url, *why;
	char *refresh = NULL, *secret = NULL, *err = NULL;
	struct x *x;

	url = a->url != NULL ? a->url : X_DEFAULT_URL;
	if (http_url_check(url, &why) == -1) {
		xasprintf(errstr, "connector x: url %s: %s", url, why);
		return NULL;
	}
	if (strpbrk(url, "?#") != NULL) {
		xasprintf(errstr, "connector x: url takes no query or "
		    "fragment");
		return NULL;
	}
	if (env->secret == NULL || !token_chars(env->secret)) {
		xasprintf(errstr, "connector x needs an access token "
		    "(token_file) without spaces or control characters");
		return NULL;
	}
	if (a->platform_id != NULL && !all_digits(a->platform_id, MAX_ID)) {
		xasprintf(errstr, "connector x: platform_id \"%.100s\" is not "
		    "a user id (digits)", a->platform_id);
		return NULL;
	}
	if ((a->refresh_token_file != NULL || a->client_secret_file != NULL) &&
	    a->client_id == NULL) {
		xasprintf(errstr, "connector x: refresh_token_file and "
		    "client_secret_file need client_id =");
		return NULL;
	}
	if (a->client_id != NULL && !token_chars(a->client_id)) {
		xasprintf(errstr, "connector x: client_id has spaces or "
		    "control characters");
		return NULL;
	}
	if (a->refresh_token_file != NULL) {
		if ((refresh = secret_load(a->refresh_token_file,
		    &err)) == NULL) {
			xasprintf(errstr, "connector x: refresh_token_file: "
			    "%s", err);
			free(err);
			return NULL;
		}
		if (!token_chars(refresh)) {
			secret_free(refresh);
			xasprintf(errstr, "connector x: the refresh token has "
			    "spaces or control characters");
			return NULL;
		}
	}
	if (a->client_secret_file != NULL &&
	    (secret = secret_load(a->client_secret_file, &err)) == NULL) {
		secret_free(refresh);
		xasprintf(errstr, "connector x: client_secret_file: %s", err);
		free(err);
		return NULL;
	}

	x = xcalloc(1, sizeof *x);
	x->acct = a;
	x->http = env->http;
	x->base = connector_base_url(url);
	x->client_id = xstrdup_or_null(a->client_id);
	if (secret != NULL) {
		x->basic = basic_auth(a->client_id, secret);
		secret_free(secret);
	}
	x->access = xstrdup(env->secret);
	x->refresh = refresh != NULL ? xstrdup(refresh) : NULL;
	x->access_exp_ms = -1;
	x->seed = seed_of(env->secret, refresh);
	secret_free(refresh);
	x->brand_id = xstrdup_or_null(a->platform_id);
	x->dm_rl.limit = x->dm_rl.remaining = x->dm_rl.reset_ms = -1;
	if (env->state_dir != NULL)
		xasprintf(&x->state_path, "%s/%s.x-oauth", env->state_dir,
		    a->name);
	if (state_load(x, &err) == -1) {
		xasprintf(errstr, "connector x: %s", err);
		free(err);
		x_free(x);
		return NULL;
	}
	return x;
}

const struct connector_def connector_x = {
	.name = "x",
	.platform = "x",
	.streams = x_streams,
	.needs_secret = 1,
	.default_url = X_DEFAULT_URL,
	.new = x_new,
	.free = x_free,
	.poll = x_poll,
	.cancel = x_cancel,
};
