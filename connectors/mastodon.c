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
#include "jsonget.h"
#include "log.h"
#include "msg.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * Mastodon: mentions of the brand (public and direct) from its
 * notifications, and the brand's own statuses, so that its replies are
 * seen. One account, one token.
 *
 * A poll fetches pages of at most 80 notifications (40 statuses). With a
 * cursor, it walks forward from it with min_id (Link rel="prev") and
 * commits page by page; without one (the first poll), it walks back from
 * the newest page with max_id (rel="next") down to the backfill horizon
 * and commits once at the end, with the newest id of the first page.
 *
 * The thread a status belongs to is not in the status: it is the root of
 * its in_reply_to_id chain, which only /statuses/ID/context tells. What
 * was learnt is kept in a small cache, and the job knows the conversation
 * of what is stored already, so that most replies cost no request.
 */

#define MAX_PAGES	100		/* per poll; the next poll goes on */
#define NOTIF_LIMIT	80		/* the server's maximum */
#define STATUS_LIMIT	40
#define ROOTS		4096		/* cached thread roots at most; a power of 2 */
#define ROOTS_MIN	64		/* at first; doubled when half full */
#define DAY_MS		(INT64_C(24) * 3600 * 1000)
#define Y2000_MS	INT64_C(946684800000)	/* 2000-01-01T00:00:00Z */

enum stream {
	S_MENTIONS,
	S_STATUSES,
};

static const char *const mastodon_streams[] = { "mentions", "statuses", NULL };

/* A status id and the id of its thread's root. */
struct root {
	char	*id;
	char	*root;
};

struct mastodon {
	const struct conf_account *account;
	struct http	*http;
	char		*base;		/* the url, without a trailing '/' */
	char		*auth;		/* the Authorization header line */
	const char	*headers[3];
	char		*brand_id;	/* from verify_credentials */
	char		*brand_acct;
	struct root	*roots;		/* nroots slots, direct-mapped */
	size_t		 nroots, used;
};

/* A status of a page, checked; strings borrowed from the page. */
struct item {
	const char	*id;
	const char	*account_id;
	const char	*acct;
	const char	*in_reply_to;
	const char	*url;
	const char	*content;
	int64_t		 created_ms;
	enum msg_kind	 kind;
	char		*conversation;	/* once resolved */
};

enum phase {
	PH_VERIFY,
	PH_PAGE,
	PH_CONTEXT,
};

/* One poll of one stream. */
struct mjob {
	struct mastodon	*ms;
	struct poll_job	*job;
	enum stream	 stream;
	enum phase	 phase;
	struct http_call *call;		/* in flight, or NULL */
	char		*url;		/* of the request in flight */

	int		 backfill;	/* no cursor: walk back */
	int64_t		 since;		/* backfill horizon, -1: none */
	char		*cursor;	/* incremental: committed so far */
	char		*first_newest;	/* backfill: the cursor at the end */
	char		*prev_oldest;	/* backfill: of the previous page */
	int		 pages;
	int		 stop;		/* the page in hand is the last */

	cJSON		*page;		/* the page in hand */
	struct item	*items;
	size_t		 nitems;
	size_t		 unresolved;	/* items[0..unresolved) lack a root */
	const char	*newest;	/* the page's newest and oldest ids */
	const char	*oldest;
	char		*link;		/* the page's Link to the next one */

	struct poll_ratelimit rl;
	char		*err;		/* owned error text */
	char		 errbuf[512];
};

static void	request(struct mjob *, enum phase, char *);
static void	resolve(struct mjob *);

/*
 * Mastodon ids are opaque strings, but the server orders them by length,
 * then bytewise (docs: api/guidelines.md#id).
 */
static int
id_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return la < lb ? -1 : 1;
	return strcmp(a, b);
}

/* ---- the cache of thread roots ------------------------------------------ */

static struct root *
root_slot(struct root *roots, size_t n, const char *id)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return &roots[h & (n - 1)];
}

static const char *
root_get(struct mastodon *ms, const char *id)
{
	struct root *r;

	if (ms->roots == NULL)
		return NULL;
	r = root_slot(ms->roots, ms->nroots, id);

	if (r->id != NULL && strcmp(r->id, id) == 0)
		return r->root;
	return NULL;
}

/* A colliding entry is replaced: a miss costs one request, no more. */
static void
root_put(struct mastodon *ms, const char *id, const char *root)
{
	struct root *r, *old = ms->roots, *o;
	size_t i, nold = ms->nroots;

	/* the cache grows with the account's traffic, up to ROOTS slots */
	if (old == NULL || (ms->used >= nold / 2 && nold < ROOTS)) {
		ms->nroots = old == NULL ? ROOTS_MIN : nold * 2;
		ms->roots = xcalloc(ms->nroots, sizeof *ms->roots);
		ms->used = 0;
		for (i = 0; i < nold; i++) {
			if (old[i].id == NULL)
				continue;
			o = root_slot(ms->roots, ms->nroots, old[i].id);
			if (o->id == NULL)
				ms->used++;
			free(o->id);
			free(o->root);
			*o = old[i];
		}
		free(old);
	}
	r = root_slot(ms->roots, ms->nroots, id);
	if (r->id == NULL)
		ms->used++;

	if (r->id != NULL && strcmp(r->id, id) == 0 &&
	    strcmp(r->root, root) == 0)
		return;
	free(r->id);
	free(r->root);
	r->id = xstrdup(id);
	r->root = xstrdup(root);
}

/* ---- HTML to plain text ------------------------------------------------- */

struct text {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	int	 breaks;	/* newlines owed before the next character */
	int	 full;		/* MSG_MAX_TEXT reached */
};

static void
text_trim(struct text *t, const char *chars)
{
	while (t->len > 0 && strchr(chars, t->buf[t->len - 1]) != NULL)
		t->len--;
}

/* Append one whole character (n bytes), after the line breaks owed. */
static void
text_add(struct text *t, const char *s, size_t n)
{
	size_t nl = 0, have = 0;

	if (t->full)
		return;
	if (t->len > 0 && t->breaks > 0) {
		text_trim(t, " ");
		while (have < t->len && have < 2 &&
		    t->buf[t->len - 1 - have] == '\n')
			have++;
		if ((size_t)t->breaks > have)
			nl = (size_t)t->breaks - have;
	}
	t->breaks = 0;
	if (t->len + nl + n > MSG_MAX_TEXT) {
		/* cut here: what was added so far ends on a character */
		t->full = 1;
		return;
	}
	if (t->len + nl + n + 1 > t->cap) {
		t->cap = (t->len + nl + n + 1) * 2;
		if (t->cap > MSG_MAX_TEXT + 1)
			t->cap = MSG_MAX_TEXT + 1;
		t->buf = xreallocarray(t->buf, t->cap, 1);
	}
	memset(t->buf + t->len, '\n', nl);
	memcpy(t->buf + t->len + nl, s, n);
	t->len += nl + n;
}

static void
text_break(struct text *t, int n)
{
	if (t->len > 0 && t->breaks < n)
		t->breaks = n;
}

/*
 * A tag at s ('<'): its effect on the text. Returns what follows the tag,
 * or NULL if s does not start a tag (then '<' is text).
 */
static const char *
text_tag(struct text *t, const char *s)
{
	static const char *const blocks[] = {
		"p", "div", "blockquote", "pre", "ul", "ol", "h1", "h2", "h3",
		"h4", "h5", "h6", NULL,
	};
	char name[12];
	const char *p = s + 1;
	size_t n = 0, i;
	char quote = 0;

	if (*p == '/')
		p++;
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    *p == '!' || *p == '?'))
		return NULL;
	for (; ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9')) && n < sizeof name - 1; p++)
		name[n++] = (char)(*p | 0x20);
	name[n] = '\0';
	/* to the '>' that is not inside an attribute's quotes */
	for (; *p != '\0'; p++) {
		if (quote != 0) {
			if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'')
			quote = *p;
		else if (*p == '>')
			break;
	}
	if (*p == '\0')
		return NULL;
	if (strcmp(name, "br") == 0) {
		if (t->len > 0)
			text_add(t, "\n", 1);
	} else if (strcmp(name, "li") == 0)
		text_break(t, 1);
	else {
		for (i = 0; blocks[i] != NULL; i++)
			if (strcmp(name, blocks[i]) == 0)
				text_break(t, 2);
	}
	return p + 1;
}

/*
 * An entity at s ('&') that we decode: its UTF-8 in out (*outlen bytes)
 * and the length of the entity, or 0 (then '&' is text). Numeric ones
 * must name a character fit for text, in at most 7 decimal or 6 hex
 * digits.
 */
static size_t
text_entity(const char *s, uint8_t out[8], size_t *outlen)
{
	static const struct {
		const char	*name;
		const char	*utf8;
	} named[] = {
		{ "amp;", "&" }, { "lt;", "<" }, { "gt;", ">" },
		{ "quot;", "\"" }, { "apos;", "'" }, { "nbsp;", "\xc2\xa0" },
	};
	const char *p = s + 1;
	size_t i, ndig = 0, maxdig = 7;
	uint32_t uc = 0;
	int hex = 0, d;

	if (*p != '#') {
		for (i = 0; i < sizeof named / sizeof named[0]; i++) {
			size_t n = strlen(named[i].name);

			if (strncmp(p, named[i].name, n) == 0) {
				*outlen = strlen(named[i].utf8);
				memcpy(out, named[i].utf8, *outlen);
				return 1 + n;
			}
		}
		return 0;
	}
	p++;
	if (*p == 'x' || *p == 'X') {
		hex = 1;
		maxdig = 6;
		p++;
	}
	for (;; p++, ndig++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (hex && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (hex && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (ndig == maxdig)
			return 0;
		uc = uc * (hex ? 16 : 10) + (uint32_t)d;
	}
	if (*p != ';' || ndig == 0)
		return 0;
	if (uc > 0x10ffff || (uc >= 0xd800 && uc <= 0xdfff) ||
	    (uc < 0x20 && uc != '\t' && uc != '\n') ||
	    (uc >= 0x7f && uc <= 0x9f))
		return 0;
	*outlen = (size_t)u8_uctomb(out, uc, 8);
	return (size_t)(p + 1 - s);
}

/*
 * Mastodon's sanitized HTML as plain text: tags dropped, <br> a newline,
 * blocks apart by a blank line, entities decoded. Invalid UTF-8 becomes
 * U+FFFD, control characters are dropped, and the text is cut at
 * MSG_MAX_TEXT bytes on a character boundary. NULL if nothing is left.
 */
static char *
html_to_text(const char *html)
{
	struct text t = { 0 };
	const char *s = html, *end = html + strlen(html), *next;
	uint8_t ent[8];
	size_t n, entlen;
	ucs4_t uc;
	int ulen;

	while (s < end && !t.full) {
		unsigned char c = (unsigned char)*s;

		if (c == '<' && (next = text_tag(&t, s)) != NULL)
			s = next;
		else if (c == '&' && (n = text_entity(s, ent, &entlen)) > 0) {
			text_add(&t, (const char *)ent, entlen);
			s += n;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			/* HTML's white space: one space between words, none
			 * where a line or a block starts */
			if (t.len > 0 && t.breaks == 0 &&
			    t.buf[t.len - 1] != ' ' && t.buf[t.len - 1] != '\n')
				text_add(&t, " ", 1);
			s++;
		} else if (c < 0x20 || c == 0x7f)
			s++;
		else if (c < 0x80)
			text_add(&t, s++, 1);
		else {
			ulen = u8_mbtoucr(&uc, (const uint8_t *)s,
			    (size_t)(end - s));
			if (ulen < 0) {
				text_add(&t, "\xef\xbf\xbd", 3);
				s++;
			} else {
				text_add(&t, s, (size_t)ulen);
				s += ulen;
			}
		}
	}
	text_trim(&t, " \n");
	if (t.len == 0) {
		free(t.buf);
		return NULL;
	}
	t.buf[t.len] = '\0';
	return t.buf;
}

/* ---- URLs ---------------------------------------------------------------- */

/* The URL of a page of the job's stream; key=value (escaped) if key. */
static char *
page_url(const struct mjob *mj, const char *key, const char *value)
{
	const struct mastodon *ms = mj->ms;
	char *url, *esc, *id, *param = NULL;

	if (key != NULL) {
		esc = http_escape(value);
		xasprintf(&param, "&%s=%s", key, esc);
		free(esc);
	}
	/*
	 * include_filtered: since Mastodon 4.3 a NotificationPolicy may
	 * filter private mentions from accounts the brand does not follow.
	 * Those are customers' direct messages all the same, and whether
	 * the notifications list shows them without it is not documented:
	 * ask for them. Mastodon's Link headers carry the parameter on
	 * to the next page. (Older servers are expected to ignore an
	 * unknown parameter, as Rails does by default: not checked.)
	 */
	if (mj->stream == S_MENTIONS)
		xasprintf(&url, "%s/api/v1/notifications?types%%5B%%5D=mention"
		    "&limit=%d&include_filtered=true%s", ms->base, NOTIF_LIMIT,
		    param != NULL ? param : "");
	else {
		/* boosts are not the brand's words */
		id = http_escape(ms->brand_id);
		xasprintf(&url, "%s/api/v1/accounts/%s/statuses?limit=%d"
		    "&exclude_reblogs=true%s", ms->base, id, STATUS_LIMIT,
		    param != NULL ? param : "");
		free(id);
	}
	free(param);
	return url;
}

/* ---- the end of a poll ---------------------------------------------------- */

static void
page_clear(struct mjob *mj)
{
	size_t i;

	for (i = 0; i < mj->nitems; i++)
		free(mj->items[i].conversation);
	free(mj->items);
	mj->items = NULL;
	mj->nitems = mj->unresolved = 0;
	cJSON_Delete(mj->page);
	mj->page = NULL;
	mj->newest = mj->oldest = NULL;
	free(mj->link);
	mj->link = NULL;
}

static void
mjob_free(struct mjob *mj)
{
	page_clear(mj);
	free(mj->url);
	free(mj->cursor);
	free(mj->first_newest);
	free(mj->prev_oldest);
	free(mj->err);
	free(mj);
}

/*
 * End the poll with res, whose strings may point into mj: the job is
 * let go of first, mj freed after poll_job_done() has read them.
 */
static void
finish(struct mjob *mj, struct poll_result *res)
{
	struct poll_job *job = mj->job;

	res->rl = mj->rl;
	if (res->status == POLL_OK) {
		res->error = NULL;
		/* an empty first page: everything to come is new */
		res->cursor = !mj->backfill ? NULL :
		    mj->first_newest != NULL ? mj->first_newest : "0";
		/* the window is used up: wait for it to reset */
		if (res->rl.remaining == 0 && res->rl.reset_ms != -1)
			res->retry_at_ms = res->rl.reset_ms;
	} else
		res->cursor = NULL;
	poll_job_set_data(job, NULL);
	poll_job_done(job, res);
	mjob_free(mj);
}

static void
finish_ok(struct mjob *mj)
{
	struct poll_result res;

	connector_result_init(&res, POLL_OK);
	finish(mj, &res);
}

/* End with an error of ours; err (owned) is taken. */
static void
fail(struct mjob *mj, enum poll_status status, char *err)
{
	struct poll_result res;

	if (err == NULL)
		err = xstrdup("the poll failed");
	free(mj->err);
	mj->err = err;
	connector_result_init(&res, status);
	res.error = err;
	log_debug("mastodon %s: %s", mj->ms->account->name, err);
	finish(mj, &res);
}

/* ---- responses ------------------------------------------------------------ */

/* A count in a header: digits only. */
static int
header_count(const struct http_response *r, const char *name, int64_t *out)
{
	const char *v = http_header(r, name);
	char *end;
	long long n;

	if (v == NULL)
		return -1;
	while (*v == ' ')
		v++;
	if (*v < '0' || *v > '9')
		return -1;
	n = strtoll(v, &end, 10);
	while (*end == ' ')
		end++;
	if (*end != '\0' || n < 0 || n > INT64_C(1000000000000))
		return -1;
	*out = n;
	return 0;
}

/* X-RateLimit-*: what a response says, kept over what it does not. */
static void
ratelimit_read(const struct http_response *r, struct poll_ratelimit *rl)
{
	const char *v;
	int64_t n;

	if (header_count(r, "X-RateLimit-Limit", &n) == 0)
		rl->limit = n;
	if (header_count(r, "X-RateLimit-Remaining", &n) == 0)
		rl->remaining = n;
	if ((v = http_header(r, "X-RateLimit-Reset")) != NULL &&
	    timefmt_parse_rfc3339(v, &n) == 0)
		rl->reset_ms = n;
}

/* created_at of o: present, RFC 3339, after 2000, at most a day ahead. */
static int
get_time(const cJSON *o, const char *path, int64_t now, int64_t *ms,
    char **err)
{
	if (jget_time(o, path, "created_at", 1, ms, err) == -1)
		return -1;
	if (*ms < Y2000_MS) {
		xasprintf(err, "%s.created_at: %s is before 2000", path,
		    cJSON_GetObjectItemCaseSensitive(o, "created_at")->
		    valuestring);
		return -1;
	}
	if (*ms > now + DAY_MS) {
		xasprintf(err, "%s.created_at: %s is more than a day in the "
		    "future", path, cJSON_GetObjectItemCaseSensitive(o,
		    "created_at")->valuestring);
		return -1;
	}
	return 0;
}

/* A string that is either absent or valid UTF-8 of at most max bytes. */
static int
get_text(const cJSON *o, const char *path, const char *name, int required,
    size_t max, const char **out, char **err)
{
	*out = jget_text(o, path, name, required, max, err);
	return *err != NULL ? -1 : 0;
}

/* A Status at path, into it. */
static int
status_read(struct mjob *mj, const cJSON *st, const char *path,
    struct item *it, char **err)
{
	const cJSON *account;
	const char *visibility, *uri;
	char apath[128];

	memset(it, 0, sizeof *it);
	if (get_text(st, path, "id", 1, MSG_MAX_ID, &it->id, err) == -1 ||
	    get_time(st, path, poll_job_now(mj->job), &it->created_ms,
	    err) == -1)
		return -1;
	if ((account = jget_object(st, path, "account", 1, err)) == NULL)
		return -1;
	snprintf(apath, sizeof apath, "%s.account", path);
	if (get_text(account, apath, "id", 1, MSG_MAX_ID, &it->account_id,
	    err) == -1 ||
	    get_text(account, apath, "acct", 1, MSG_MAX_ID, &it->acct,
	    err) == -1 ||
	    get_text(st, path, "visibility", 1, 64, &visibility, err) == -1 ||
	    get_text(st, path, "in_reply_to_id", 0, MSG_MAX_ID,
	    &it->in_reply_to, err) == -1 ||
	    get_text(st, path, "url", 0, MSG_MAX_URL, &it->url, err) == -1 ||
	    get_text(st, path, "uri", 0, MSG_MAX_URL, &uri, err) == -1)
		return -1;
	if ((it->content = jget_string(st, path, "content", 0, 0,
	    err)) == NULL && *err != NULL)
		return -1;
	if (it->url == NULL || *it->url == '\0')
		it->url = uri;
	if (it->in_reply_to != NULL && *it->in_reply_to == '\0')
		it->in_reply_to = NULL;
	/* public, unlisted, private (followers only) are all seen by more
	 * than the brand: only "direct" is a private conversation */
	it->kind = strcmp(visibility, "direct") == 0 ? MSG_DIRECT :
	    MSG_BROADCAST;
	return 0;
}

/*
 * Element i of a page. Returns 1 with *it filled, 0 if it holds nothing
 * to store, -1 on bad data; *key is its id for paging either way. The
 * backfill horizon is checked against the time the list is ordered by:
 * a notification's own, not its status's (an old post may mention the
 * brand today).
 */
static int
element_read(struct mjob *mj, const cJSON *el, size_t i, struct item *it,
    const char **key, char **err)
{
	const cJSON *st;
	const char *type;
	char path[64];
	int64_t when;

	if (mj->stream == S_STATUSES) {
		snprintf(path, sizeof path, "statuses[%zu]", i);
		if (status_read(mj, el, path, it, err) == -1)
			return -1;
		*key = it->id;
		when = it->created_ms;
	} else {
		snprintf(path, sizeof path, "notifications[%zu]", i);
		if (get_text(el, path, "id", 1, MSG_MAX_ID, key, err) == -1 ||
		    get_text(el, path, "type", 1, 64, &type, err) == -1 ||
		    get_time(el, path, poll_job_now(mj->job), &when,
		    err) == -1)
			return -1;
		if (strcmp(type, "mention") != 0) {
			log_debug("mastodon %s: notification %s is a %s, "
			    "ignored", mj->ms->account->name, *key, type);
			return 0;
		}
		if ((st = jget_object(el, path, "status", 0, err)) == NULL) {
			if (*err != NULL)
				return -1;
			log_debug("mastodon %s: notification %s has no status "
			    "(deleted?), skipped", mj->ms->account->name, *key);
			return 0;
		}
		strncat(path, ".status", sizeof path - strlen(path) - 1);
		if (status_read(mj, st, path, it, err) == -1)
			return -1;
	}
	if (mj->backfill && mj->since != -1 && when < mj->since) {
		/* the pages go back in time: this is the last one */
		mj->stop = 1;
		return 0;
	}
	return 1;
}

/* Hand the page's messages to the job, oldest first, and commit. */
static void
page_hand_over(struct mjob *mj)
{
	struct mastodon *ms = mj->ms;
	struct item *it;
	struct msg m;
	char *err = NULL, *url;
	size_t i;

	for (i = mj->nitems; i-- > 0;) {
		it = &mj->items[i];
		memset(&m, 0, sizeof m);
		m.id = xstrdup(it->id);
		m.conversation = it->conversation;
		it->conversation = NULL;
		m.kind = it->kind;
		m.direction = strcmp(it->account_id, ms->brand_id) == 0 ?
		    MSG_OUTBOUND : MSG_INBOUND;
		m.created_ms = it->created_ms;
		m.author = xstrdup(it->acct);
		m.in_reply_to = xstrdup_or_null(it->in_reply_to);
		m.text = it->content != NULL ? html_to_text(it->content) :
		    NULL;
		m.url = xstrdup_or_null(it->url);
		m.complaint = MSG_COMPLAINT_UNKNOWN;
		if (poll_job_add(mj->job, &m, &err) == -1) {
			msg_clear(&m);
			fail(mj, POLL_BAD_DATA, err);
			return;
		}
		msg_clear(&m);
	}

	if (mj->backfill) {
		if (mj->first_newest == NULL)
			mj->first_newest = xstrdup(mj->newest);
		/* a server that does not go back would loop */
		if (mj->prev_oldest != NULL &&
		    id_cmp(mj->oldest, mj->prev_oldest) >= 0)
			mj->stop = 1;
		free(mj->prev_oldest);
		mj->prev_oldest = xstrdup(mj->oldest);
	} else if (id_cmp(mj->newest, mj->cursor) > 0) {
		if (poll_job_commit(mj->job, mj->newest, &err) == -1) {
			fail(mj, POLL_RETRY, err);
			return;
		}
		free(mj->cursor);
		mj->cursor = xstrdup(mj->newest);
	} else {
		/* nothing newer than the cursor: min_id was not honoured */
		if (poll_job_commit(mj->job, NULL, &err) == -1) {
			fail(mj, POLL_RETRY, err);
			return;
		}
		mj->stop = 1;
	}

	/* a used-up window ends the poll: finish() says when to resume */
	if (mj->stop || mj->pages >= MAX_PAGES || mj->rl.remaining == 0) {
		finish_ok(mj);
		return;
	}
	if ((url = mj->link) != NULL)
		mj->link = NULL;
	else if (mj->backfill)
		url = page_url(mj, "max_id", mj->oldest);
	else
		url = page_url(mj, "min_id", mj->newest);
	page_clear(mj);
	request(mj, PH_PAGE, url);
}

/* A page arrived: check all of it, then find the threads' roots. */
static void
got_page(struct mjob *mj, cJSON *doc, const struct http_response *r)
{
	const char *what = mj->stream == S_MENTIONS ? "notifications" :
	    "statuses";
	const cJSON *el;
	const char *key;
	char *err = NULL, *link;
	size_t n, i = 0;
	int rc;

	page_clear(mj);
	mj->page = doc;
	mj->pages++;
	if (!cJSON_IsArray(doc)) {
		xasprintf(&err, "%s: expected an array, got %s", what,
		    jget_type(doc));
		fail(mj, POLL_BAD_DATA, err);
		return;
	}
	if ((n = (size_t)cJSON_GetArraySize(doc)) == 0) {
		finish_ok(mj);
		return;
	}
	mj->items = xcalloc(n, sizeof *mj->items);
	cJSON_ArrayForEach(el, doc) {
		key = NULL;
		rc = element_read(mj, el, i, &mj->items[mj->nitems], &key,
		    &err);
		if (rc == -1) {
			fail(mj, POLL_BAD_DATA, err);
			return;
		}
		mj->nitems += (size_t)rc;
		if (mj->newest == NULL || id_cmp(key, mj->newest) > 0)
			mj->newest = key;
		if (mj->oldest == NULL || id_cmp(key, mj->oldest) < 0)
			mj->oldest = key;
		i++;
	}
	mj->unresolved = mj->nitems;

	/* newer pages are rel="prev", older ones rel="next" */
	link = http_link(r, mj->backfill ? "next" : "prev");
	if (link != NULL && !http_same_origin(mj->ms->base, link)) {
		log_warn("mastodon %s: not following a Link to another "
		    "server: %.200s", mj->ms->account->name, link);
		free(link);
		link = NULL;
	}
	mj->link = link;
	resolve(mj);
}

/*
 * Find the root of each item's thread, oldest item first so that a reply
 * finds its parent of the same page in the cache. Goes on in got_context
 * when a request is needed.
 */
static void
resolve(struct mjob *mj)
{
	struct mastodon *ms = mj->ms;
	struct item *it;
	const char *root;
	char *conv, *id, *url;

	while (mj->unresolved > 0) {
		it = &mj->items[mj->unresolved - 1];
		if (it->in_reply_to == NULL)
			conv = xstrdup(it->id);
		else if ((root = root_get(ms, it->in_reply_to)) != NULL)
			conv = xstrdup(root);
		else if ((conv = poll_job_conversation_of(mj->job,
		    it->in_reply_to)) == NULL) {
			id = http_escape(it->in_reply_to);
			xasprintf(&url, "%s/api/v1/statuses/%s/context",
			    ms->base, id);
			free(id);
			request(mj, PH_CONTEXT, url);
			return;
		}
		it->conversation = conv;
		root_put(ms, it->id, conv);
		mj->unresolved--;
	}
	page_hand_over(mj);
}

/*
 * The context of the parent of items[unresolved - 1]: its ancestors,
 * oldest first. The root is the first, or the parent itself.
 */
static void
got_context(struct mjob *mj, cJSON *doc)
{
	struct item *it = &mj->items[mj->unresolved - 1];
	const cJSON *ancestors, *a;
	const char *id, *root = it->in_reply_to;
	char *err = NULL, path[64];
	size_t i;

	if ((ancestors = jget_array(doc, "context", "ancestors", 1,
	    &err)) == NULL) {
		cJSON_Delete(doc);
		fail(mj, POLL_BAD_DATA, err);
		return;
	}
	i = 0;
	cJSON_ArrayForEach(a, ancestors) {
		snprintf(path, sizeof path, "context.ancestors[%zu]", i);
		if (get_text(a, path, "id", 1, MSG_MAX_ID, &id, &err) == -1) {
			cJSON_Delete(doc);
			fail(mj, POLL_BAD_DATA, err);
			return;
		}
		if (i++ == 0)
			root = id;
		root_put(mj->ms, id, root);
	}
	root_put(mj->ms, it->in_reply_to, root);
	it->conversation = xstrdup(root);
	root_put(mj->ms, it->id, root);
	mj->unresolved--;
	cJSON_Delete(doc);
	resolve(mj);
}

/* The parent is gone or hidden from us: it is the root we know of. */
static void
context_missing(struct mjob *mj, long status)
{
	struct item *it = &mj->items[mj->unresolved - 1];

	log_debug("mastodon %s: no context for %s (HTTP %ld): its thread is "
	    "taken to start there", mj->ms->account->name, it->in_reply_to,
	    status);
	it->conversation = xstrdup(it->in_reply_to);
	mj->unresolved--;
	resolve(mj);
}

static void
got_verify(struct mjob *mj, cJSON *doc)
{
	struct mastodon *ms = mj->ms;
	const char *id, *acct;
	char *err = NULL;

	if (get_text(doc, "verify_credentials", "id", 1, MSG_MAX_ID, &id,
	    &err) == -1 ||
	    get_text(doc, "verify_credentials", "acct", 1, MSG_MAX_ID, &acct,
	    &err) == -1) {
		cJSON_Delete(doc);
		fail(mj, POLL_BAD_DATA, err);
		return;
	}
	if (ms->brand_id == NULL || strcmp(ms->brand_id, id) != 0)
		log_info("mastodon %s: the token is @%s's (account %s)",
		    ms->account->name, acct, id);
	free(ms->brand_id);
	free(ms->brand_acct);
	ms->brand_id = xstrdup(id);
	ms->brand_acct = xstrdup(acct);
	cJSON_Delete(doc);
	request(mj, PH_PAGE, page_url(mj, mj->backfill ? NULL : "min_id",
	    mj->cursor));
}

static void
on_response(const struct http_response *r, void *arg)
{
	struct mjob *mj = arg;
	struct poll_result res;
	enum poll_status st;
	char *err = NULL;
	cJSON *doc;

	mj->call = NULL;
	ratelimit_read(r, &mj->rl);
	if (connector_http_status(r, poll_job_now(mj->job), mj->errbuf,
	    sizeof mj->errbuf, &res) != POLL_OK) {
		if (mj->phase == PH_CONTEXT && r->error == HTTP_OK &&
		    (r->status == 404 || r->status == 410)) {
			context_missing(mj, r->status);
			return;
		}
		/* Mastodon sends no Retry-After: its window's end */
		if (res.status == POLL_RATE_LIMITED && res.retry_at_ms == -1)
			res.retry_at_ms = mj->rl.reset_ms;
		log_debug("mastodon %s: %s: %s", mj->ms->account->name,
		    mj->url, res.error);
		finish(mj, &res);
		return;
	}
	if ((doc = connector_json_body(r, &st, &err)) == NULL) {
		fail(mj, st, err);
		return;
	}
	switch (mj->phase) {
	case PH_VERIFY:
		got_verify(mj, doc);
		break;
	case PH_PAGE:
		got_page(mj, doc, r);
		break;
	case PH_CONTEXT:
		got_context(mj, doc);
		break;
	}
}

/* Start a request of the job; url (owned) is taken. */
static void
request(struct mjob *mj, enum phase phase, char *url)
{
	struct http_request req;
	char *err = NULL;

	free(mj->url);
	mj->url = url;
	mj->phase = phase;
	memset(&req, 0, sizeof req);
	req.url = url;
	req.headers = mj->ms->headers;
	req.ca_file = mj->ms->account->ca_file;
	log_debug("mastodon %s: GET %s", mj->ms->account->name, url);
	if ((mj->call = http_start(mj->ms->http, &req, on_response, mj,
	    &err)) == NULL) {
		if (err == NULL)
			err = xstrdup("the request could not be started");
		fail(mj, POLL_RETRY, err);
	}
}

/* ---- the connector -------------------------------------------------------- */

static void *
mastodon_new(const struct connector_env *env, char **errstr)
{
	const struct conf_account *a = env->account;
	struct mastodon *ms;
	const char *why;

	if (a->url == NULL) {
		xasprintf(errstr, "url is required (the server's address, "
		    "e.g. https://mastodon.social)");
		return NULL;
	}
	if (http_url_check(a->url, &why) == -1) {
		xasprintf(errstr, "url: %s", why);
		return NULL;
	}
	if (strpbrk(a->url, "?#") != NULL) {
		xasprintf(errstr, "url: the server's address takes no query "
		    "or fragment");
		return NULL;
	}
	if (connector_token_check(env->secret, errstr) == -1)
		return NULL;

	ms = xcalloc(1, sizeof *ms);
	ms->account = a;
	ms->http = env->http;
	ms->base = connector_base_url(a->url);
	xasprintf(&ms->auth, "Authorization: Bearer %s", env->secret);
	ms->headers[0] = ms->auth;
	ms->headers[1] = "Accept: application/json";
	ms->headers[2] = NULL;
	return ms;
}

static void
mastodon_free(void *self)
{
	struct mastodon *ms = self;
	size_t i;

	if (ms == NULL)
		return;
	for (i = 0; i < ms->nroots; i++) {
		free(ms->roots[i].id);
		free(ms->roots[i].root);
	}
	free(ms->roots);
	free(ms->base);
	free(ms->auth);
	free(ms->brand_id);
	free(ms->brand_acct);
	free(ms);
}

static void
mastodon_poll(void *self, struct poll_job *job)
{
	struct mastodon *ms = self;
	struct mjob *mj;
	const char *cursor = poll_job_cursor(job);

	mj = xcalloc(1, sizeof *mj);
	mj->ms = ms;
	mj->job = job;
	mj->stream = poll_job_stream(job) == 1 ? S_STATUSES : S_MENTIONS;
	mj->rl.limit = mj->rl.remaining = mj->rl.reset_ms = -1;
	if (cursor != NULL)
		mj->cursor = xstrdup(cursor);
	else {
		mj->backfill = 1;
		mj->since = poll_job_backfill_since(job);
	}
	poll_job_set_data(job, mj);
	/* who the brand is, once: it tells outbound from inbound */
	if (ms->brand_id == NULL) {
		char *url;

		xasprintf(&url, "%s/api/v1/accounts/verify_credentials",
		    ms->base);
		request(mj, PH_VERIFY, url);
	} else
		request(mj, PH_PAGE, page_url(mj, mj->backfill ? NULL :
		    "min_id", mj->cursor));
}

static void
mastodon_cancel(void *self, struct poll_job *job)
{
	struct mjob *mj = poll_job_data(job);
	struct poll_result res;

	/* the job's data is set from the start of a poll to its end */
	if (mj == NULL)
		return;
	if (mj->call != NULL) {
		http_cancel(mj->call);
		mj->call = NULL;
	}
	connector_result_init(&res, POLL_CANCELLED);
	finish(mj, &res);
}

const struct connector_def connector_mastodon = {
	.name = "mastodon",
	.platform = "mastodon",
	.streams = mastodon_streams,
	.needs_secret = 1,
	.default_url = NULL,
	.new = mastodon_new,
	.free = mastodon_free,
	.poll = mastodon_poll,
	.cancel = mastodon_cancel,
};
