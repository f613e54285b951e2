/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <unistr.h>

#include "connector.h"
#include "graph.h"
#include "jsonget.h"
#include "log.h"
#include "msg.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * Meta's Graph API, for connectors/facebook.c and connectors/instagram.c
 * (see graph.h for the walks). A poll reads the list of its stream page
 * by page, hands over what it holds (posts) or notes the items whose
 * messages or comments are to be read (conversations, posts), then reads
 * those, page by page, committing each page without moving the cursor.
 * The watermark moves once the whole walk is done.
 *
 * A walk that hits one of the caps below stops short of items it has not
 * read, and the list is newest first: the unread items are older than
 * the watermark would be. So such a poll ends with a resume cursor,
 *
 *	"<since> <watermark> <list page> <item id|-> <child page|->"
 *
 * the next poll keeps since, reads the child page (more messages or
 * comments of that item) if there is one, then the list from that page
 * on, after that item; once a walk ends without a cap, the watermark it
 * carried becomes the cursor. The pages are URLs on the configured
 * server, without the token.
 */

#define DEFAULT_VERSION	"v21.0"
#define LIST_LIMIT	25
#define MAX_PAGES	50		/* of a list, per poll */
#define MAX_CHILD_PAGES	20		/* of one item's messages/comments */
#define MAX_PARENTS	500		/* items whose children are read */
#define POST_WINDOW_MS	(INT64_C(14) * 24 * 3600 * 1000)
#define COUNTS		1024		/* cached comments_count; power of 2 */
#define DAY_MS		(INT64_C(24) * 3600 * 1000)
#define Y2000_MS	INT64_C(946684800000)

/* A media id and the comments_count whose comments were all read. */
struct count {
	char	*id;
	int64_t	 count;
};

struct graph {
	const struct graph_def *def;
	const struct conf_account *account;
	struct http	*http;
	char		*root;		/* the url, without a trailing '/' */
	char		*base;		/* root/version */
	char		*token_q;	/* "access_token=…", escaped */
	const char	*headers[2];
	struct count	*counts;
};

/* An item of a page, checked; strings borrowed from the page. */
struct item {
	const char	*id;
	int64_t		 t;		/* names.time */
	int64_t		 updated;	/* updated_time of a post, -1 */
	int64_t		 count;		/* comments_count, -1 */
	const char	*from_id;	/* NULL if no from */
	const char	*author;
	const char	*parent;	/* parent.id or parent_id */
	const char	*url;
	char		*text;		/* owned */
};

struct parent {
	char	*id;
	int64_t	 count;
	char	*page;		/* the list page it is an item of */
};

/* Where a capped walk goes on in the next poll (see the top). */
struct resume {
	char	*list;		/* the list page; NULL: no resume */
	char	*skip;		/* its items up to this one were read */
	char	*child;		/* the next page of skip's children */
};

enum phase {
	PH_LIST,
	PH_CHILD,
};

/* One poll of one stream. */
struct gjob {
	struct graph	*g;
	const struct graph_stream *st;
	struct poll_job	*job;
	struct http_call *call;
	enum phase	 phase;
	char		*show;		/* the request's URL, without the token */

	int64_t		 since;		/* what is at least this new is taken */
	int64_t		 horizon;	/* GW_POSTS: older posts are left */
	int64_t		 newest;	/* the newest time taken; -1 */
	int		 first;		/* no cursor before */
	int		 pages;		/* of the list */
	int		 child_pages;	/* of the current parent */
	struct parent	*parents;
	size_t		 nparents;
	size_t		 cur;		/* parents[cur] is being read */

	int		 resumed;	/* from a resume cursor */
	char		*skip;		/* list items up to this id are read */
	char		*list_after;	/* the list page to read once the
					   parents are read (resumed) */
	struct resume	 stop;		/* a cap was hit: go on here */
	char		*cursor;	/* the resume cursor written */

	size_t		 handed;	/* messages not committed yet */
	struct graph_usage usage;	/* the highest of the poll */
	char		*err;
	char		 errbuf[512];
};

static void	request(struct gjob *, enum phase, char *);
static void	child_next(struct gjob *);

/* ---- times -------------------------------------------------------------- */

int
graph_time_parse(const char *s, int64_t *ms)
{
	char buf[64];
	size_t n = strlen(s), i;
	long long secs;
	char *end;

	/* room for the ':' a basic offset gets, and the NUL */
	if (n == 0 || n + 2 > sizeof buf)
		return -1;
	for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		;
	if (i == n) {
		/* Unix seconds */
		if (n > 11)
			return -1;
		secs = strtoll(s, &end, 10);
		*ms = (int64_t)secs * 1000;
		return 0;
	}
	memcpy(buf, s, n + 1);
	/* "+0000", "-0130": ISO 8601's basic offset, RFC 3339 wants "+00:00" */
	if (n >= 5 && (buf[n - 5] == '+' || buf[n - 5] == '-') &&
	    strspn(buf + n - 4, "0123456789") == 4) {
		buf[n + 1] = '\0';
		buf[n] = buf[n - 1];
		buf[n - 1] = buf[n - 2];
		buf[n - 2] = ':';
	}
	return timefmt_parse_rfc3339(buf, ms);
}

/* A time field: present if required, a Graph time after 2000 and at most
 * a day ahead. 1 found, 0 absent, -1 error. */
static int
get_time(const cJSON *o, const char *path, const char *name, int required,
    int64_t now, int64_t *ms, char **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	char shown[48];

	if (v == NULL || cJSON_IsNull(v)) {
		if (!required)
			return 0;
		xasprintf(err, "%s.%s: is missing", path, name);
		return -1;
	}
	if (cJSON_IsNumber(v)) {
		/* Unix seconds (updated_time may come so: UNCONFIRMED) */
		if (v->valuedouble < 0 || v->valuedouble > 1e11) {
			xasprintf(err, "%s.%s: %.0f is not a time", path,
			    name, v->valuedouble);
			return -1;
		}
		*ms = (int64_t)v->valuedouble * 1000;
		snprintf(shown, sizeof shown, "%.0f", v->valuedouble);
	} else if (cJSON_IsString(v)) {
		if (graph_time_parse(v->valuestring, ms) == -1) {
			xasprintf(err, "%s.%s: \"%.40s\" is not a time", path,
			    name, v->valuestring);
			return -1;
		}
		snprintf(shown, sizeof shown, "%.40s", v->valuestring);
	} else {
		xasprintf(err, "%s.%s: expected a string, got %s", path, name,
		    jget_type(v));
		return -1;
	}
	if (*ms < Y2000_MS) {
		xasprintf(err, "%s.%s: %s is before 2000", path, name, shown);
		return -1;
	}
	if (*ms > now + DAY_MS) {
		xasprintf(err, "%s.%s: %s is more than a day in the future",
		    path, name, shown);
		return -1;
	}
	return 1;
}

static void
time_format(int64_t ms, char *buf, size_t len)
{
	timefmt_format_rfc3339(ms, buf, len);
}

/* ---- usage headers ------------------------------------------------------- */

/* The figures of one usage object: the highest percentage, and the
 * estimated time to regain access. */
static void
usage_object(const cJSON *o, struct graph_usage *u)
{
	static const char *const figures[] = {
		"call_count", "total_time", "total_cputime", "call_volume",
		"cpu_time", "acc_id_util_pct", NULL,
	};
	const cJSON *v;
	size_t i;

	if (!cJSON_IsObject(o))
		return;
	for (i = 0; figures[i] != NULL; i++) {
		v = cJSON_GetObjectItemCaseSensitive(o, figures[i]);
		if (cJSON_IsNumber(v) && v->valuedouble >= 0 &&
		    v->valuedouble <= 1e6 && (int64_t)v->valuedouble > u->pct)
			u->pct = (int64_t)v->valuedouble;
	}
	v = cJSON_GetObjectItemCaseSensitive(o,
	    "estimated_time_to_regain_access");
	if (cJSON_IsNumber(v) && v->valuedouble > 0 &&
	    v->valuedouble <= 7 * 24 * 60 &&
	    (int64_t)(v->valuedouble * 60000) > u->regain_ms)
		u->regain_ms = (int64_t)(v->valuedouble * 60000);
}

void
graph_usage_read(const struct http_response *r, struct graph_usage *u)
{
	static const char *const flat[] = {
		"X-App-Usage", "X-Page-Usage", "X-Ad-Account-Usage", NULL,
	};
	const cJSON *biz, *el;
	const char *v;
	cJSON *doc;
	size_t i;

	for (i = 0; flat[i] != NULL; i++) {
		if ((v = http_header(r, flat[i])) == NULL ||
		    (doc = cJSON_Parse(v)) == NULL)
			continue;
		if (u->pct < 0)
			u->pct = 0;
		usage_object(doc, u);
		cJSON_Delete(doc);
	}
	/* {"<business id>": [{"type": "pages", "call_count": 95, …}]} */
	if ((v = http_header(r, "X-Business-Use-Case-Usage")) != NULL &&
	    (doc = cJSON_Parse(v)) != NULL) {
		if (u->pct < 0)
			u->pct = 0;
		cJSON_ArrayForEach(biz, doc) {
			if (cJSON_IsArray(biz)) {
				cJSON_ArrayForEach(el, biz)
					usage_object(el, u);
			} else
				usage_object(biz, u);
		}
		cJSON_Delete(doc);
	}
}

int64_t
graph_usage_delay(const struct graph_usage *u, int64_t interval)
{
	int64_t d = 0;

	if (u->pct >= GRAPH_USAGE_STOP) {
		d = u->regain_ms > 0 ? u->regain_ms : GRAPH_PAUSE_MS;
		if (d < interval * 8)
			d = interval * 8;
	} else if (u->pct >= GRAPH_USAGE_SLOW) {
		/* 75 %: twice the interval, 90 %: five times */
		d = interval * (1 + (u->pct - 70) / 5);
	}
	if (u->regain_ms > d)
		d = u->regain_ms;
	return d;
}

/* ---- URLs ---------------------------------------------------------------- */


/* url without its query parameter name (every one of them), and without
 * a fragment; a new string. */
static char *
strip_param(const char *url, const char *name)
{
	size_t nlen = strlen(name), plen, len;
	const char *q, *p, *amp;
	char *out;
	int first = 1;

	len = strcspn(url, "#");
	if ((q = memchr(url, '?', len)) == NULL)
		return xstrndup(url, len);
	out = xmalloc(len + 1);
	memcpy(out, url, (size_t)(q - url));
	plen = (size_t)(q - url);
	for (p = q + 1; p < url + len; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(url + len - p))) == NULL)
			amp = url + len;
		if (amp == p || (strncmp(p, name, nlen) == 0 &&
		    p[nlen] == '=')) {
			if (amp == url + len)
				break;
			continue;
		}
		out[plen++] = first ? '?' : '&';
		first = 0;
		memcpy(out + plen, p, (size_t)(amp - p));
		plen += (size_t)(amp - p);
		if (amp == url + len)
			break;
	}
	out[plen] = '\0';
	return out;
}

/* The URL of the list of the job's stream. */
static char *
list_url(const struct gjob *gj)
{
	const struct graph *g = gj->g;
	const struct conf_account *a = g->account;
	char *owner, *url;

	owner = http_escape(gj->st->on_page ? a->page_id : a->platform_id);
	xasprintf(&url, "%s/%s/%s?%s&limit=%d", g->base, owner, gj->st->edge,
	    gj->st->query, LIST_LIMIT);
	free(owner);
	return url;
}

static char *
child_url(const struct gjob *gj, const char *id)
{
	char *esc, *url;

	esc = http_escape(id);
	if (gj->st->child_since && gj->since != -1)
		/* a second before: Graph's since may leave it out */
		xasprintf(&url, "%s/%s/%s?%s&since=%lld", gj->g->base, esc,
		    gj->st->child_edge, gj->st->child_query,
		    (long long)(gj->since / 1000 - 1));
	else
		xasprintf(&url, "%s/%s/%s?%s", gj->g->base, esc,
		    gj->st->child_edge, gj->st->child_query);
	free(esc);
	return url;
}

/*
 * The next page after doc (the page of the request shown as current), or
 * NULL: paging.next if it is on the configured server, else the request
 * again with paging.cursors.after. Graph leaves "next" out on the last
 * page. -1 on bad data.
 */
static int
next_url(struct gjob *gj, const cJSON *doc, const char *path,
    const char *current, char **next, char **err)
{
	const cJSON *paging, *cursors;
	const char *link, *after = NULL;
	char ppath[96], *base, *esc;

	*next = NULL;
	if ((paging = jget_object(doc, path, "paging", 0, err)) == NULL)
		return *err != NULL ? -1 : 0;
	snprintf(ppath, sizeof ppath, "%s.paging", path);
	if ((link = jget_string(paging, ppath, "next", 0, MSG_MAX_URL,
	    err)) == NULL)
		return *err != NULL ? -1 : 0;
	if ((cursors = jget_object(paging, ppath, "cursors", 0, err)) == NULL &&
	    *err != NULL)
		return -1;
	if (cursors != NULL) {
		strncat(ppath, ".cursors", sizeof ppath - strlen(ppath) - 1);
		if ((after = jget_string(cursors, ppath, "after", 0, 1024,
		    err)) == NULL && *err != NULL)
			return -1;
	}
	if (http_same_origin(gj->g->root, link)) {
		*next = strip_param(link, "access_token");
		return 0;
	}
	log_warn("%s %s: not following paging.next to another server",
	    gj->g->def->who, gj->g->account->name);
	if (after == NULL || *after == '\0')
		return 0;
	base = strip_param(current, "after");
	esc = http_escape(after);
	xasprintf(next, "%s%cafter=%s", base, strchr(base, '?') != NULL ?
	    '&' : '?', esc);
	free(base);
	free(esc);
	return 0;
}

/* ---- the end of a poll --------------------------------------------------- */

static void
parents_clear(struct gjob *gj)
{
	size_t i;

	for (i = 0; i < gj->nparents; i++) {
		free(gj->parents[i].id);
		free(gj->parents[i].page);
	}
	free(gj->parents);
	gj->parents = NULL;
	gj->nparents = gj->cur = 0;
}

static void
resume_clear(struct resume *r)
{
	free(r->list);
	free(r->skip);
	free(r->child);
	memset(r, 0, sizeof *r);
}

/* A cap was hit: the next poll goes on at list (after skip, with child
 * first); each may be NULL but list, copied. An earlier stop is
 * replaced: a stop is only ever set at an earlier place of the list. */
static void
stop_at(struct gjob *gj, const char *list, const char *skip,
    const char *child)
{
	resume_clear(&gj->stop);
	gj->stop.list = xstrdup(list);
	gj->stop.skip = xstrdup_or_null(skip);
	gj->stop.child = xstrdup_or_null(child);
}

static void
gjob_free(struct gjob *gj)
{
	parents_clear(gj);
	resume_clear(&gj->stop);
	free(gj->skip);
	free(gj->list_after);
	free(gj->cursor);
	free(gj->show);
	free(gj->err);
	free(gj);
}

/*
 * End the poll with res, whose strings may point into gj: the job is let
 * go of first, gj freed after poll_job_done() has read them. The usage
 * becomes the rate limit shown, and the delay it calls for.
 */
static void
finish(struct gjob *gj, struct poll_result *res, const char *cursor)
{
	struct poll_job *job = gj->job;
	int64_t now = poll_job_now(job), d;

	if (gj->usage.pct >= 0) {
		res->rl.limit = 100;
		res->rl.remaining = gj->usage.pct >= 100 ? 0 :
		    100 - gj->usage.pct;
		if (gj->usage.regain_ms > 0)
			res->rl.reset_ms = now + gj->usage.regain_ms;
	}
	if (res->status == POLL_OK) {
		res->error = NULL;
		res->cursor = cursor;
		d = graph_usage_delay(&gj->usage,
		    gj->g->account->poll_interval_ms);
		if (d > 0) {
			res->retry_at_ms = now + d;
			log_info("%s %s: %s: usage at %lld %%: the next poll "
			    "waits %lld s", gj->g->def->who,
			    gj->g->account->name, gj->st->name,
			    (long long)gj->usage.pct, (long long)(d / 1000));
		}
	} else
		res->cursor = NULL;
	poll_job_set_data(job, NULL);
	poll_job_done(job, res);
	gjob_free(gj);
}

/* A part of a resume cursor: no space in it, and not the "-" of none. */
static int
part_ok(const char *s)
{
	return s == NULL || (*s != '\0' && strcmp(s, "-") != 0 &&
	    strpbrk(s, " \t\r\n") == NULL);
}

/*
 * The resume cursor of gj->stop into gj->cursor: since stays, the
 * watermark waits. NULL if a part cannot be written (a space in an id):
 * then the cursor stays at since, which loses nothing either.
 */
static const char *
resume_cursor(struct gjob *gj)
{
	char since[TIMEFMT_RFC3339_LEN], mark[TIMEFMT_RFC3339_LEN];
	const struct resume *r = &gj->stop;

	if (!part_ok(r->list) || !part_ok(r->skip) || !part_ok(r->child))
		return NULL;
	time_format(gj->since, since, sizeof since);
	time_format(gj->newest > gj->since ? gj->newest : gj->since, mark,
	    sizeof mark);
	free(gj->cursor);
	xasprintf(&gj->cursor, "%s %s %s %s %s", since, mark, r->list,
	    r->skip != NULL ? r->skip : "-",
	    r->child != NULL ? r->child : "-");
	return gj->cursor;
}

/* The walk is done: the watermark moves to the newest time taken; if a
 * cap was hit, the cursor says where to go on. */
static void
finish_ok(struct gjob *gj)
{
	struct poll_result res;
	char buf[TIMEFMT_RFC3339_LEN];
	const char *cursor = NULL;

	connector_result_init(&res, POLL_OK);
	if (gj->stop.list != NULL) {
		if ((cursor = resume_cursor(gj)) == NULL) {
			log_warn("%s %s: %s: cannot write where to go on: "
			    "the next poll reads all again", gj->g->def->who,
			    gj->g->account->name, gj->st->name);
			time_format(gj->since, buf, sizeof buf);
			cursor = buf;
		}
	} else if (gj->resumed) {
		/* the unread part is read: the watermark carried is due
		 * (a resume cursor never stays) */
		time_format(gj->newest > gj->since ? gj->newest : gj->since,
		    buf, sizeof buf);
		cursor = buf;
	} else if (gj->newest != -1 && (gj->first ||
	    gj->newest > gj->since)) {
		time_format(gj->newest, buf, sizeof buf);
		cursor = buf;
	} else if (gj->first) {
		/* nothing yet: from the backfill horizon on */
		time_format(gj->since, buf, sizeof buf);
		cursor = buf;
	}
	finish(gj, &res, cursor);
}

/* Stopped early (usage): what was committed stays, the cursor too. */
static void
finish_keep(struct gjob *gj)
{
	struct poll_result res;

	connector_result_init(&res, POLL_OK);
	log_info("%s %s: %s: usage at %lld %%: paging stops here",
	    gj->g->def->who, gj->g->account->name, gj->st->name,
	    (long long)gj->usage.pct);
	finish(gj, &res, NULL);
}

/* End with an error of ours; err (owned) is taken. */
static void
fail(struct gjob *gj, enum poll_status status, char *err)
{
	struct poll_result res;

	if (err == NULL)
		err = xstrdup("the poll failed");
	free(gj->err);
	gj->err = err;
	connector_result_init(&res, status);
	res.error = err;
	log_debug("%s %s: %s", gj->g->def->who, gj->g->account->name, err);
	finish(gj, &res, NULL);
}

/* ---- Graph errors -------------------------------------------------------- */

static int
code_is_auth(int64_t code)
{
	return code == 190 || code == 102 || code == 10 ||
	    (code >= 200 && code <= 299);
}

static int
code_is_throttle(int64_t code)
{
	return code == 4 || code == 17 || code == 32 || code == 613 ||
	    (code >= 80001 && code <= 80014);
}

/*
 * A Graph error body ({"error": {"message", "type", "code",
 * "error_subcode", "fbtrace_id"}}) into res, its text into gj->errbuf.
 * 0 if the body is one, -1 if not.
 */
static int
graph_error(struct gjob *gj, const struct http_response *r,
    struct poll_result *res)
{
	const cJSON *e, *code, *sub, *msg;
	int64_t now = poll_job_now(gj->job), icode;
	char text[320];
	size_t i;
	cJSON *doc;

	if (r->len == 0 || (doc = cJSON_ParseWithLength(r->body,
	    r->len)) == NULL)
		return -1;
	e = cJSON_GetObjectItemCaseSensitive(doc, "error");
	code = cJSON_GetObjectItemCaseSensitive(e, "code");
	if (!cJSON_IsObject(e) || !cJSON_IsNumber(code)) {
		cJSON_Delete(doc);
		return -1;
	}
	sub = cJSON_GetObjectItemCaseSensitive(e, "error_subcode");
	msg = cJSON_GetObjectItemCaseSensitive(e, "message");
	snprintf(text, sizeof text, "%s", cJSON_IsString(msg) ?
	    msg->valuestring : "(no message)");
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < ' ' || text[i] == 0x7f)
			text[i] = ' ';
	if (cJSON_IsNumber(sub))
		snprintf(gj->errbuf, sizeof gj->errbuf,
		    "code %.0f/subcode %.0f: %s", code->valuedouble,
		    sub->valuedouble, text);
	else
		snprintf(gj->errbuf, sizeof gj->errbuf, "code %.0f: %s",
		    code->valuedouble, text);
	connector_result_init(res, POLL_BAD_DATA);
	res->error = gj->errbuf;
	/* a code beyond any int64 is no code we know */
	icode = code->valuedouble > -1e15 && code->valuedouble < 1e15 ?
	    (int64_t)code->valuedouble : -1;
	if (code_is_auth(icode))
		res->status = POLL_AUTH;
	else if (code_is_throttle(icode) ||
	    r->status == 429) {
		res->status = POLL_RATE_LIMITED;
		res->retry_at_ms = gj->usage.regain_ms > 0 ?
		    now + gj->usage.regain_ms : http_retry_after(r, now);
		if (res->retry_at_ms == -1)
			res->retry_at_ms = now + GRAPH_PAUSE_MS;
	} else if (code->valuedouble == 1 || code->valuedouble == 2 ||
	    r->status >= 500)
		/* unknown or temporary: "retry the operation later" */
		res->status = POLL_RETRY;
	else if (r->status == 401 || r->status == 403)
		res->status = POLL_AUTH;
	cJSON_Delete(doc);
	return 0;
}

/* ---- pages --------------------------------------------------------------- */

/* A string that is absent or valid UTF-8; cut at MSG_MAX_TEXT on a
 * character boundary. */
static int
get_text(const cJSON *o, const char *path, const char *name, char **out,
    char **err)
{
	const char *s;
	size_t len;

	*out = NULL;
	if (name == NULL)
		return 0;
	if ((s = jget_string(o, path, name, 0, 0, err)) == NULL)
		return *err != NULL ? -1 : 0;
	len = strlen(s);
	if (u8_check((const uint8_t *)s, len) != NULL) {
		xasprintf(err, "%s.%s: invalid UTF-8", path, name);
		return -1;
	}
	if (len > MSG_MAX_TEXT) {
		len = MSG_MAX_TEXT;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	if (len > 0)
		*out = xstrndup(s, len);
	return 0;
}

static int
get_id(const cJSON *o, const char *path, const char *name, int required,
    const char **out, char **err)
{
	*out = jget_string(o, path, name, required, MSG_MAX_ID, err);
	if (*err != NULL)
		return -1;
	if (*out != NULL && (*out)[0] == '\0')
		*out = NULL;
	return 0;
}

/* An item at path. need_from: messages must say who wrote them. */
static int
item_read(struct gjob *gj, const cJSON *o, const char *path,
    const struct graph_names *n, int need_from, struct item *it, char **err)
{
	int64_t now = poll_job_now(gj->job);
	const cJSON *from, *parent;
	const char *username = NULL, *fuser = NULL;
	char fpath[128];
	int rc;

	memset(it, 0, sizeof *it);
	it->updated = it->count = -1;
	if (!cJSON_IsObject(o)) {
		xasprintf(err, "%s: expected an object, got %s", path,
		    jget_type(o));
		return -1;
	}
	if (get_id(o, path, "id", 1, &it->id, err) == -1 ||
	    get_time(o, path, n->time, 1, now, &it->t, err) == -1)
		return -1;
	if (strcmp(n->time, "updated_time") != 0 && get_time(o, path,
	    "updated_time", 0, now, &it->updated, err) == -1)
		return -1;
	if ((rc = jget_int(o, path, "comments_count", 0, 0, INT64_C(1) << 40,
	    &it->count, err)) == -1)
		return -1;
	if (rc == 0)
		it->count = -1;
	if ((from = jget_object(o, path, "from", need_from, err)) == NULL &&
	    *err != NULL)
		return -1;
	if (from != NULL) {
		snprintf(fpath, sizeof fpath, "%s.from", path);
		if (get_id(from, fpath, "id", 1, &it->from_id, err) == -1 ||
		    get_id(from, fpath, "username", 0, &fuser, err) == -1)
			return -1;
	}
	if (get_id(o, path, "username", 0, &username, err) == -1)
		return -1;
	it->author = fuser != NULL ? fuser : username != NULL ? username :
	    it->from_id;
	if ((parent = jget_object(o, path, "parent", 0, err)) == NULL &&
	    *err != NULL)
		return -1;
	if (parent != NULL) {
		snprintf(fpath, sizeof fpath, "%s.parent", path);
		if (get_id(parent, fpath, "id", 1, &it->parent, err) == -1)
			return -1;
	} else if (get_id(o, path, "parent_id", 0, &it->parent, err) == -1)
		return -1;
	if (n->url != NULL && (it->url = jget_string(o, path, n->url, 0,
	    MSG_MAX_URL, err)) == NULL && *err != NULL)
		return -1;
	return get_text(o, path, n->text, &it->text, err);
}

static void
items_free(struct item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(items[i].text);
	free(items);
}

/*
 * The items of a page ("data", and for Instagram comments the "replies"
 * of each), all checked before anything is handed over.
 */
static int
page_read(struct gjob *gj, const cJSON *doc, const char *what,
    const struct graph_names *n, int need_from, struct item **out,
    size_t *nout, char **err)
{
	const cJSON *data, *el, *replies, *rdata, *r;
	struct item *items = NULL;
	size_t cap = 0, ni = 0, i = 0, j;
	char path[96], rpath[160];

	*out = NULL;
	*nout = 0;
	if (!cJSON_IsObject(doc)) {
		xasprintf(err, "%s: expected an object, got %s", what,
		    jget_type(doc));
		return -1;
	}
	if ((data = jget_array(doc, what, "data", 1, err)) == NULL)
		return -1;
	cJSON_ArrayForEach(el, data) {
		snprintf(path, sizeof path, "%s.data[%zu]", what, i++);
		if (ni + 1 > cap) {
			cap = cap * 2 + 8;
			items = xreallocarray(items, cap, sizeof *items);
		}
		if (item_read(gj, el, path, n, need_from, &items[ni],
		    err) == -1)
			goto bad;
		ni++;
		if ((replies = jget_object(el, path, "replies", 0,
		    err)) == NULL) {
			if (*err != NULL)
				goto bad;
			continue;
		}
		strncat(path, ".replies", sizeof path - strlen(path) - 1);
		if ((rdata = jget_array(replies, path, "data", 1,
		    err)) == NULL)
			goto bad;
		j = 0;
		cJSON_ArrayForEach(r, rdata) {
			snprintf(rpath, sizeof rpath, "%s.data[%zu]", path,
			    j++);
			if (ni + 1 > cap) {
				cap = cap * 2 + 8;
				items = xreallocarray(items, cap,
				    sizeof *items);
			}
			if (item_read(gj, r, rpath, n, need_from, &items[ni],
			    err) == -1)
				goto bad;
			ni++;
		}
	}
	*out = items;
	*nout = ni;
	return 0;
bad:
	items_free(items, ni);
	return -1;
}

/* Hand an item over as a message of conversation conv. */
static int
hand_over(struct gjob *gj, struct item *it, const char *conv,
    const char *reply_to, int own, char **err)
{
	const struct conf_account *a = gj->g->account;
	struct msg m;

	memset(&m, 0, sizeof m);
	m.id = xstrdup(it->id);
	m.conversation = xstrdup(conv);
	m.kind = gj->st->kind;
	m.direction = own || (it->from_id != NULL &&
	    strcmp(it->from_id, a->platform_id) == 0) ||
	    (a->handle != NULL && it->author != NULL &&
	    strcmp(it->author, a->handle) == 0) ? MSG_OUTBOUND : MSG_INBOUND;
	m.created_ms = it->t;
	m.author = xstrdup_or_null(it->author);
	m.in_reply_to = xstrdup_or_null(it->parent != NULL ? it->parent :
	    reply_to);
	m.text = it->text;
	it->text = NULL;
	m.url = xstrdup_or_null(it->url);
	m.complaint = MSG_COMPLAINT_UNKNOWN;
	if (poll_job_add(gj->job, &m, err) == -1) {
		msg_clear(&m);
		return -1;
	}
	msg_clear(&m);
	gj->handed++;
	if (it->t > gj->newest)
		gj->newest = it->t;
	return 0;
}

/* Commit what a page handed over; a page of nothing new (most of the
 * conversations of a long walk) costs no transaction. */
static int
commit_page(struct gjob *gj, char **err)
{
	if (gj->handed == 0)
		return 0;
	gj->handed = 0;
	return poll_job_commit(gj->job, NULL, err);
}

static int
taken(const struct gjob *gj, int64_t t)
{
	return gj->since == -1 || t >= gj->since;
}

/* ---- the cache of comments counts ---------------------------------------- */

static struct count *
count_slot(struct graph *g, const char *id)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return &g->counts[h & (COUNTS - 1)];
}

static int
count_same(struct graph *g, const char *id, int64_t count)
{
	struct count *c = count_slot(g, id);

	return c->id != NULL && strcmp(c->id, id) == 0 && c->count == count;
}

static void
count_put(struct graph *g, const char *id, int64_t count)
{
	struct count *c = count_slot(g, id);

	if (c->id == NULL || strcmp(c->id, id) != 0) {
		free(c->id);
		c->id = xstrdup(id);
	}
	c->count = count;
}

/* ---- the walk ------------------------------------------------------------ */

/* MAX_PARENTS is kept by got_list, a page at a time. */
static void
parent_add(struct gjob *gj, const char *id, int64_t count)
{
	gj->parents = xreallocarray(gj->parents, gj->nparents + 1,
	    sizeof *gj->parents);
	gj->parents[gj->nparents].id = xstrdup(id);
	gj->parents[gj->nparents].count = count;
	gj->parents[gj->nparents].page = xstrdup(gj->show);
	gj->nparents++;
}

/*
 * What an item of the list means. Returns 1 if it is older than what the
 * list is read for (the list is newest first: the next page is older
 * still), 0 if not, -1 if handing it over failed.
 */
static int
list_item(struct gjob *gj, struct item *it, char **err)
{
	const struct graph_stream *st = gj->st;

	switch (st->walk) {
	case GW_THREADS:
		if (!taken(gj, it->t))
			return 1;
		parent_add(gj, it->id, -1);
		/* the conversation's update is the watermark: what it
		 * holds is no newer */
		if (it->t > gj->newest)
			gj->newest = it->t;
		return 0;
	case GW_POSTS:
		if (taken(gj, it->t) && hand_over(gj, it, it->id, NULL,
		    st->own, err) == -1)
			return -1;
		if (it->t < gj->horizon)
			return 1;
		if (st->count_cache) {
			if (it->count == 0 || (it->count > 0 &&
			    count_same(gj->g, it->id, it->count)))
				return 0;
		} else if (it->updated != -1 && !taken(gj, it->updated))
			return 0;
		parent_add(gj, it->id, it->count);
		return 0;
	case GW_LIST:
		if (!taken(gj, it->t))
			return 1;
		return hand_over(gj, it, it->id, NULL, 0, err);
	}
	return 0;
}

/*
 * Where a resumed poll starts on its first list page: after the item
 * read last. If that item is no longer there (the list changed), the
 * whole page is read again: the store drops what it has.
 */
static size_t
list_start(struct gjob *gj, const struct item *items, size_t n)
{
	size_t i;

	if (gj->skip == NULL)
		return 0;
	for (i = 0; i < n && strcmp(items[i].id, gj->skip) != 0; i++)
		;
	return i < n ? i + 1 : 0;
}

/*
 * Would the page's items make more parents than MAX_PARENTS? Then the
 * page is left whole for the next poll (not an item of it is handed over
 * or read), unless there is no parent yet: a poll always gets on.
 */
static int
parents_full(struct gjob *gj, size_t n)
{
	if (gj->st->walk == GW_LIST || gj->nparents == 0 ||
	    gj->nparents + n <= MAX_PARENTS)
		return 0;
	log_warn("%s %s: %s: more than %d items to read, those from %s on "
	    "left for the next poll", gj->g->def->who, gj->g->account->name,
	    gj->st->name, MAX_PARENTS, gj->show);
	stop_at(gj, gj->show, gj->skip, NULL);
	return 1;
}

/* The list is done: read the parents' children, or end. */
static void
list_done(struct gjob *gj)
{
	if (gj->st->walk == GW_LIST) {
		finish_ok(gj);
		return;
	}
	gj->cur = 0;
	gj->child_pages = 0;
	child_next(gj);
}

static void
got_list(struct gjob *gj, cJSON *doc)
{
	struct item *items = NULL;
	size_t n, i;
	char *err = NULL, *next = NULL;
	int rc, older = 0;

	gj->pages++;
	if (page_read(gj, doc, gj->st->edge, &gj->st->list, 0, &items, &n,
	    &err) == -1 || next_url(gj, doc, gj->st->edge, gj->show, &next,
	    &err) == -1) {
		items_free(items, n);
		cJSON_Delete(doc);
		fail(gj, POLL_BAD_DATA, err);
		return;
	}
	i = list_start(gj, items, n);
	if (parents_full(gj, n - i)) {
		items_free(items, n);
		free(next);
		cJSON_Delete(doc);
		list_done(gj);
		return;
	}
	free(gj->skip);
	gj->skip = NULL;
	for (; i < n; i++) {
		if ((rc = list_item(gj, &items[i], &err)) == -1) {
			items_free(items, n);
			free(next);
			cJSON_Delete(doc);
			fail(gj, POLL_BAD_DATA, err);
			return;
		}
		older |= rc;
	}
	items_free(items, n);
	cJSON_Delete(doc);
	if (commit_page(gj, &err) == -1) {
		free(next);
		fail(gj, POLL_RETRY, err);
		return;
	}
	if (gj->usage.pct >= GRAPH_USAGE_STOP) {
		free(next);
		finish_keep(gj);
		return;
	}
	if (next != NULL && !older && gj->pages < MAX_PAGES) {
		request(gj, PH_LIST, next);
		return;
	}
	if (next != NULL && !older) {
		log_warn("%s %s: %s: more than %d pages, those from %s on left "
		    "for the next poll", gj->g->def->who,
		    gj->g->account->name, gj->st->name, MAX_PAGES, next);
		stop_at(gj, next, NULL, NULL);
	}
	free(next);
	list_done(gj);
}

/* Read the messages or comments of parents[cur], or go on with the list
 * (a resumed poll that read a parent's children first), or end. */
static void
child_next(struct gjob *gj)
{
	char *list;

	if (gj->cur >= gj->nparents && gj->list_after != NULL) {
		parents_clear(gj);
		list = gj->list_after;
		gj->list_after = NULL;
		request(gj, PH_LIST, list);
		return;
	}
	if (gj->cur >= gj->nparents) {
		finish_ok(gj);
		return;
	}
	gj->child_pages = 0;
	request(gj, PH_CHILD, child_url(gj, gj->parents[gj->cur].id));
}

static void
got_child(struct gjob *gj, cJSON *doc)
{
	const struct graph_stream *st = gj->st;
	struct parent *p = &gj->parents[gj->cur];
	struct item *items = NULL;
	size_t n, i;
	char *err = NULL, *next = NULL;
	int older = 0;

	gj->child_pages++;
	if (page_read(gj, doc, st->child_edge, &st->child,
	    st->walk == GW_THREADS, &items, &n, &err) == -1 ||
	    next_url(gj, doc, st->child_edge, gj->show, &next, &err) == -1) {
		items_free(items, n);
		cJSON_Delete(doc);
		fail(gj, POLL_BAD_DATA, err);
		return;
	}
	for (i = 0; i < n; i++) {
		if (!taken(gj, items[i].t)) {
			older = 1;
			continue;
		}
		if (hand_over(gj, &items[i], p->id, st->walk == GW_POSTS ?
		    p->id : NULL, 0, &err) == -1) {
			items_free(items, n);
			free(next);
			cJSON_Delete(doc);
			fail(gj, POLL_BAD_DATA, err);
			return;
		}
	}
	items_free(items, n);
	cJSON_Delete(doc);
	if (commit_page(gj, &err) == -1) {
		free(next);
		fail(gj, POLL_RETRY, err);
		return;
	}
	if (gj->usage.pct >= GRAPH_USAGE_STOP) {
		free(next);
		finish_keep(gj);
		return;
	}
	/* messages and Facebook comments come newest first; Instagram's
	 * order is not documented: all of them are read */
	if (st->count_cache)
		older = 0;
	if (next != NULL && !older && gj->child_pages < MAX_CHILD_PAGES) {
		request(gj, PH_CHILD, next);
		return;
	}
	if (next != NULL && !older) {
		/* the walk stops here: the next poll reads on from this
		 * page, then the parents after this one */
		log_warn("%s %s: %s: more than %d pages of %s, those from %s "
		    "on left for the next poll", gj->g->def->who,
		    gj->g->account->name, st->name, MAX_CHILD_PAGES, p->id,
		    next);
		stop_at(gj, p->page, p->id, next);
		free(next);
		finish_ok(gj);
		return;
	}
	free(next);
	if (st->count_cache && p->count > 0)
		count_put(gj->g, p->id, p->count);
	gj->cur++;
	child_next(gj);
}

static void
on_response(const struct http_response *r, void *arg)
{
	struct gjob *gj = arg;
	struct poll_result res;
	enum poll_status st;
	char *err = NULL;
	cJSON *doc;

	gj->call = NULL;
	graph_usage_read(r, &gj->usage);
	if (r->error == HTTP_OK && (r->status < 200 || r->status > 299 ||
	    strstr(r->body, "\"error\"") != NULL) &&
	    graph_error(gj, r, &res) == 0) {
		log_debug("%s %s: %s: %s", gj->g->def->who,
		    gj->g->account->name, gj->show, res.error);
		finish(gj, &res, NULL);
		return;
	}
	if (connector_http_status(r, poll_job_now(gj->job), gj->errbuf,
	    sizeof gj->errbuf, &res) != POLL_OK) {
		log_debug("%s %s: %s: %s", gj->g->def->who,
		    gj->g->account->name, gj->show, res.error);
		finish(gj, &res, NULL);
		return;
	}
	if ((doc = connector_json_body(r, &st, &err)) == NULL) {
		fail(gj, st, err);
		return;
	}
	if (gj->phase == PH_LIST)
		got_list(gj, doc);
	else
		got_child(gj, doc);
}

/* Start a request of the job; show (owned, without the token) is taken. */
static void
request(struct gjob *gj, enum phase phase, char *show)
{
	struct http_request req;
	char *err = NULL, *url;

	free(gj->show);
	gj->show = show;
	gj->phase = phase;
	xasprintf(&url, "%s%c%s", show, strchr(show, '?') != NULL ? '&' : '?',
	    gj->g->token_q);
	memset(&req, 0, sizeof req);
	req.url = url;
	req.headers = gj->g->headers;
	req.ca_file = gj->g->account->ca_file;
	/* the URL shown has no token: never log the one sent */
	log_debug("%s %s: GET %s", gj->g->def->who, gj->g->account->name,
	    show);
	gj->call = http_start(gj->g->http, &req, on_response, gj, &err);
	free(url);
	if (gj->call == NULL) {
		if (err == NULL)
			err = xstrdup("the request could not be started");
		fail(gj, POLL_RETRY, err);
	}
}

/* ---- the connector ------------------------------------------------------- */

/* Graph ids: digits, letters, '_', '-', '.'; no path or query in them. */
static int
id_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 128)
		return 0;
	return s[strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-.")] == '\0';
}

/* "v21.0": 'v', digits, '.', digits. */
static int
version_ok(const char *v)
{
	size_t n;

	if (*v++ != 'v' || (n = strspn(v, "0123456789")) == 0 || n > 4)
		return 0;
	v += n;
	if (*v++ != '.' || (n = strspn(v, "0123456789")) == 0 || n > 4)
		return 0;
	return v[n] == '\0';
}

void *
graph_new(const struct connector_env *env, const struct graph_def *def,
    char **errstr)
{
	const struct conf_account *a = env->account;
	const char *url = a->url != NULL ? a->url : "https://graph.facebook.com";
	const char *version = a->api_version != NULL ? a->api_version :
	    DEFAULT_VERSION;
	struct graph *g;
	const char *why;
	char *tok;

	if (http_url_check(url, &why) == -1) {
		xasprintf(errstr, "url: %s", why);
		return NULL;
	}
	if (strpbrk(url, "?#") != NULL) {
		xasprintf(errstr, "url: the Graph API's address takes no "
		    "query or fragment");
		return NULL;
	}
	if (!id_ok(a->platform_id)) {
		xasprintf(errstr, "platform_id is required: %s",
		    def->need_page_id ? "the Instagram professional "
		    "account's id" : "the Facebook page's id");
		return NULL;
	}
	if (def->need_page_id && !id_ok(a->page_id)) {
		xasprintf(errstr, "page_id is required: %s",
		    def->page_id_why);
		return NULL;
	}
	if (!version_ok(version)) {
		xasprintf(errstr, "api_version: \"%s\" is not a Graph API "
		    "version like %s", version, DEFAULT_VERSION);
		return NULL;
	}
	if (connector_token_check(env->secret, errstr) == -1)
		return NULL;

	g = xcalloc(1, sizeof *g);
	g->def = def;
	g->account = a;
	g->http = env->http;
	g->root = connector_base_url(url);
	xasprintf(&g->base, "%s/%s", g->root, version);
	tok = http_escape(env->secret);
	xasprintf(&g->token_q, "access_token=%s", tok);
	explicit_bzero(tok, strlen(tok));
	free(tok);
	g->headers[0] = "Accept: application/json";
	g->headers[1] = NULL;
	g->counts = xcalloc(COUNTS, sizeof *g->counts);
	return g;
}

void
graph_free(void *self)
{
	struct graph *g = self;
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < COUNTS; i++)
		free(g->counts[i].id);
	free(g->counts);
	free(g->root);
	free(g->base);
	explicit_bzero(g->token_q, strlen(g->token_q));
	free(g->token_q);
	free(g);
}

/* A page of a resume cursor: on the configured server, or "-" (NULL). */
static int
resume_page(const struct graph *g, const char *s, char **out)
{
	*out = NULL;
	if (strcmp(s, "-") == 0)
		return 0;
	if (!http_same_origin(g->root, s))
		return -1;
	*out = xstrdup(s);
	return 0;
}

/*
 * A resume cursor (see the top) into gj: since, the watermark as the
 * newest time taken, the list page to read (list_after) and the item of
 * it read last (skip); *child, the page of that item's children to read
 * first, or NULL. 0, or -1 if it is none.
 */
static int
resume_read(struct gjob *gj, const char *cursor, char **child)
{
	char *copy = xstrdup(cursor), *part[5], *p = copy;
	int64_t mark;
	size_t n;
	int rc = -1;

	*child = NULL;
	for (n = 0; n < 5 && (part[n] = strsep(&p, " ")) != NULL; n++)
		;
	if (n < 5 || p != NULL || graph_time_parse(part[0],
	    &gj->since) == -1 || graph_time_parse(part[1], &mark) == -1 ||
	    strcmp(part[2], "-") == 0 || resume_page(gj->g, part[2],
	    &gj->list_after) == -1 || resume_page(gj->g, part[4],
	    child) == -1 || (*child != NULL && strcmp(part[3], "-") == 0))
		goto out;
	gj->newest = mark;
	gj->resumed = 1;
	if (strcmp(part[3], "-") != 0)
		gj->skip = xstrdup(part[3]);
	rc = 0;
out:
	free(copy);
	if (rc == -1) {
		free(gj->list_after);
		gj->list_after = NULL;
		free(*child);
		*child = NULL;
	}
	return rc;
}

/* A resumed poll starts: with the children of the item read last if the
 * cursor says so (the list after them), else with the list. */
static void
resume_start(struct gjob *gj, char *child)
{
	char *list;

	if (child == NULL) {
		list = gj->list_after;
		gj->list_after = NULL;
		request(gj, PH_LIST, list);
		return;
	}
	gj->parents = xcalloc(1, sizeof *gj->parents);
	gj->parents[0].id = xstrdup(gj->skip);
	gj->parents[0].count = -1;
	gj->parents[0].page = xstrdup(gj->list_after);
	gj->nparents = 1;
	gj->cur = 0;
	gj->child_pages = 0;
	request(gj, PH_CHILD, child);
}

void
graph_poll(void *self, struct poll_job *job)
{
	struct graph *g = self;
	struct gjob *gj;
	const char *cursor = poll_job_cursor(job);
	int64_t now = poll_job_now(job);
	char *child = NULL;

	gj = xcalloc(1, sizeof *gj);
	gj->g = g;
	gj->job = job;
	gj->st = &g->def->streams[poll_job_stream(job)];
	gj->newest = -1;
	gj->usage.pct = -1;
	if (cursor != NULL && graph_time_parse(cursor, &gj->since) == 0)
		gj->first = 0;
	else if (cursor != NULL && resume_read(gj, cursor, &child) == 0)
		gj->first = 0;
	else {
		if (cursor != NULL)
			log_warn("%s %s: %s: the cursor \"%.40s\" is not a "
			    "time: starting over from the backfill",
			    g->def->who, g->account->name, gj->st->name,
			    cursor);
		gj->first = 1;
		gj->since = poll_job_backfill_since(job);
		if (gj->since == -1)
			gj->since = now - DAY_MS;
	}
	/* posts of the last days may get comments, older ones rarely */
	gj->horizon = now - POST_WINDOW_MS;
	if (gj->since < gj->horizon)
		gj->horizon = gj->since;
	poll_job_set_data(job, gj);
	if (gj->resumed)
		resume_start(gj, child);
	else
		request(gj, PH_LIST, list_url(gj));
}

void
graph_cancel(void *self, struct poll_job *job)
{
	struct gjob *gj = poll_job_data(job);
	struct poll_result res;

	(void)self;
	/* the job's data is set from the start of a poll to its end */
	if (gj == NULL)
		return;
	if (gj->call != NULL) {
		http_cancel(gj->call);
		gj->call = NULL;
	}
	connector_result_init(&res, POLL_CANCELLED);
	finish(gj, &res, NULL);
}
