/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <unistr.h>

#include "connector.h"
#include "jsonget.h"
#include "log.h"
#include "msg.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * LinkedIn: an organization's page through the Community Management API
 * (platform-apis.md §4). Streams:
 *
 *   comments  comments on the organization's recent posts, by members
 *             (inbound) and by the organization itself (outbound)
 *   mentions  organization notifications of the organization being
 *             mentioned in a post (inbound)
 *
 * There are no private messages: LinkedIn has no public API for a page's
 * inbox.
 *
 * comments: a poll lists the newest posts of the organization (GET
 * /rest/posts?q=author, start/count), then reads the comments of each
 * (GET /rest/socialActions/{post}/comments, start/count). Comments are not
 * ordered in any documented way, so every poll reads the recent posts'
 * comments again and hands over those created since the cursor, less an
 * overlap for comments that show up late; the store ignores what it has.
 * The cursor is the creation time (epoch ms) of the newest comment seen.
 * Replies to a comment come either in the post's list (with parentComment)
 * or, when the list holds first-level comments only, from the comment's
 * own socialActions: both are read.
 *
 * mentions: GET /rest/organizationalEntityNotifications?q=criteria for the
 * time range from the cursor (less the overlap) to now; the cursor is the
 * end of the range covered. LinkedIn keeps notifications for 60 days.
 *
 * Every request carries LinkedIn-Version and X-Restli-Protocol-Version:
 * 2.0.0, and URNs in paths and queries are percent-encoded while Rest.li's
 * own List(...) and (key:value) syntax is not. Times are epoch ms.
 *
 * LinkedIn publishes no rate-limit headers; its limits are daily and reset
 * at midnight UTC, so a 429 without Retry-After waits until then.
 */

#define LI_DEFAULT_URL		"https://api.linkedin.com"
#define LI_DEFAULT_VERSION	"202601"
#define ORG_PREFIX		"urn:li:organization:"

#define POSTS_COUNT		10	/* posts per page */
#define MAX_POSTS		20	/* the recent posts read on every poll */
#define COMMENTS_COUNT		50	/* comments per page */
#define NOTIF_COUNT		50	/* notifications per page */
#define MAX_PAGES		20	/* of one list, per poll */
#define MAX_REQUESTS		400	/* per poll */
#define MAX_PARENTS		256	/* comments whose replies are read */

#define SEC_MS			INT64_C(1000)
#define DAY_MS			(INT64_C(24) * 3600 * SEC_MS)
#define OVERLAP_MS		(15 * 60 * SEC_MS)
#define POST_MAX_AGE_MS		(30 * DAY_MS)	/* older posts are not read */
#define NOTIF_KEPT_MS		(59 * DAY_MS)	/* LinkedIn keeps 60 days */
#define Y2000_MS		INT64_C(946684800000)

enum stream {
	S_COMMENTS,
	S_MENTIONS,
};

static const char *const linkedin_streams[] = { "comments", "mentions", NULL };

enum phase {
	PH_POSTS,
	PH_COMMENTS,
	PH_NOTIFS,
};

struct linkedin {
	const struct conf_account *account;
	struct http	*http;
	char		*base;		/* the url, without a trailing '/' */
	char		*org;		/* urn:li:organization:ID */
	char		*org_esc;	/* the same, percent-encoded */
	char		*auth;		/* the Authorization header line */
	char		*version;	/* the LinkedIn-Version header line */
	const char	*headers[5];
};

/* A message found, owned. */
struct item {
	struct msg	 m;
};

/* A comment whose replies are to be read: its URN and its post's. */
struct parent {
	char		*urn;
	const char	*post;		/* borrowed from posts[] */
};

/* One poll of one stream. */
struct ljob {
	struct linkedin	*li;
	struct poll_job	*job;
	enum stream	 stream;
	enum phase	 phase;
	struct http_call *call;		/* in flight, or NULL */
	char		*url;		/* of the request in flight */
	int		 requests;
	int		 pages;		/* of the list being read */
	int64_t		 start;		/* its paging offset */
	int64_t		 now;

	int64_t		 cursor;	/* as committed, -1: none */
	int64_t		 since;		/* hand over what is this new */
	int64_t		 newest;	/* newest created time seen, -1 */

	/* comments */
	char		**posts;	/* URNs of the posts to read */
	size_t		 nposts;
	size_t		 post;		/* the one being read */
	size_t		 seen_posts;	/* listed so far */
	struct parent	*parents;
	size_t		 nparents;
	size_t		 parent;	/* next one to read */
	int		 inline_replies; /* the post's list had replies */
	const char	*target;	/* whose comments are read */
	const char	*replies_of;	/* the comment, if target is one */
	const char	*target_post;	/* the post of target */

	/* mentions */
	int64_t		 range_start;
	int64_t		 range_end;

	struct item	*items;
	size_t		 nitems;
	size_t		 capitems;

	char		*err;		/* owned error text */
	char		 errbuf[512];
	char		 curbuf[32];
};

static void	request(struct ljob *, enum phase, char *);
static void	next_list(struct ljob *);

/* ---- small helpers -------------------------------------------------------- */

static int
all_digits(const char *s, size_t max)
{
	size_t n = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++, n++)
		if (*s < '0' || *s > '9' || n == max)
			return 0;
	return 1;
}

/* A cursor as stored: epoch ms, digits only; -1 if it is none. */
static int64_t
cursor_parse(const char *s)
{
	char *end;
	long long n;

	if (s == NULL || !all_digits(s, 15))
		return -1;
	n = strtoll(s, &end, 10);
	if (*end != '\0' || n < 0)
		return -1;
	return n;
}

/* The next midnight UTC after t: when LinkedIn's daily limits reset. */
static int64_t
next_midnight(int64_t t)
{
	return (t / DAY_MS + 1) * DAY_MS;
}

/* A copy of valid UTF-8 text, cut at MSG_MAX_TEXT bytes on a character
 * boundary, without control characters but for tab and newline; NULL if
 * nothing is left. */
static char *
text_copy(const char *s)
{
	size_t len = strlen(s), i = 0, o = 0;
	char *out = xmalloc(len + 1);
	int n;
	ucs4_t uc;

	while (i < len) {
		n = u8_mbtoucr(&uc, (const uint8_t *)s + i, len - i);
		if (n < 0)
			n = 1;		/* checked before: cannot happen */
		if (o + (size_t)n > MSG_MAX_TEXT)
			break;
		if (!(uc < 0x20 && uc != '\t' && uc != '\n') && uc != 0x7f) {
			memcpy(out + o, s + i, (size_t)n);
			o += (size_t)n;
		}
		i += (size_t)n;
	}
	while (o > 0 && strchr(" \t\n", out[o - 1]) != NULL)
		o--;
	if (o == 0) {
		free(out);
		return NULL;
	}
	out[o] = '\0';
	return out;
}

/* A string that is either absent or valid UTF-8 of at most max bytes. */
static int
get_text(const cJSON *o, const char *path, const char *name, int required,
    size_t max, const char **out, char **err)
{
	*out = jget_text(o, path, name, required, max, err);
	return *err != NULL ? -1 : 0;
}

/* A URN: "urn:li:…", printable, without spaces. */
static int
get_urn(const cJSON *o, const char *path, const char *name, int required,
    const char **out, char **err)
{
	const char *s;

	if (get_text(o, path, name, required, MSG_MAX_ID, out, err) == -1)
		return -1;
	if (*out == NULL)
		return 0;
	for (s = *out; *s != '\0'; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			break;
	if (strncmp(*out, "urn:", 4) != 0 || *s != '\0') {
		xasprintf(err, "%s.%s: \"%.100s\" is not a URN", path, name,
		    *out);
		return -1;
	}
	return 0;
}

/* An epoch-ms time: after 2000, at most a day ahead. */
static int
get_ms(const cJSON *o, const char *path, const char *name, int required,
    int64_t now, int64_t *ms, char **err)
{
	return jget_int(o, path, name, required, Y2000_MS, now + DAY_MS, ms,
	    err);
}

/*
 * The paging object of a list: whether there is a page after this one of
 * n elements (of count asked for). Its "total", where there is one, says;
 * else a full page means more, full by the count the server says it used
 * (it may serve fewer than asked for). The "links" are not followed: the
 * next page's URL is ours.
 */
static int
paging_more(const cJSON *doc, const char *what, int64_t start, size_t n,
    int count, int *more, char **err)
{
	const cJSON *paging;
	char path[64];
	int64_t total, used;
	int rc;

	*more = n > 0 && n >= (size_t)count;
	if ((paging = jget_object(doc, what, "paging", 0, err)) == NULL)
		return *err != NULL ? -1 : 0;
	snprintf(path, sizeof path, "%s.paging", what);
	if ((rc = jget_int(paging, path, "count", 0, 0, 1000, &used,
	    err)) == -1)
		return -1;
	if (rc == 1 && used > 0 && used < count)
		*more = n > 0 && n >= (size_t)used;
	if ((rc = jget_int(paging, path, "total", 0, 0, INT64_C(1) << 40,
	    &total, err)) == -1)
		return -1;
	if (rc == 1)
		*more = n > 0 && start + (int64_t)n < total;
	return 0;
}

/* ---- the end of a poll ---------------------------------------------------- */

static void
items_clear(struct ljob *lj)
{
	size_t i;

	for (i = 0; i < lj->nitems; i++)
		msg_clear(&lj->items[i].m);
	free(lj->items);
	lj->items = NULL;
	lj->nitems = lj->capitems = 0;
}

static void
ljob_free(struct ljob *lj)
{
	size_t i;

	items_clear(lj);
	for (i = 0; i < lj->nposts; i++)
		free(lj->posts[i]);
	free(lj->posts);
	for (i = 0; i < lj->nparents; i++)
		free(lj->parents[i].urn);
	free(lj->parents);
	free(lj->url);
	free(lj->err);
	free(lj);
}

/* End the poll with res, whose strings may point into lj. */
static void
finish(struct ljob *lj, struct poll_result *res)
{
	struct poll_job *job = lj->job;

	if (res->status != POLL_OK)
		res->cursor = NULL;
	poll_job_set_data(job, NULL);
	poll_job_done(job, res);
	ljob_free(lj);
}

/* End with an error of ours; err (owned) is taken. */
static void
fail(struct ljob *lj, enum poll_status status, char *err)
{
	struct poll_result res;

	if (err == NULL)
		err = xstrdup("the poll failed");
	free(lj->err);
	lj->err = err;
	connector_result_init(&res, status);
	res.error = err;
	log_debug("linkedin %s: %s", lj->li->account->name, err);
	finish(lj, &res);
}

static int
item_cmp(const void *a, const void *b)
{
	const struct msg *x = &((const struct item *)a)->m;
	const struct msg *y = &((const struct item *)b)->m;

	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Hand over what was found, oldest first, with the cursor: done. */
static void
finish_ok(struct ljob *lj, int64_t cursor)
{
	struct poll_result res;
	char *err = NULL;
	size_t i;

	if (lj->nitems > 1)
		qsort(lj->items, lj->nitems, sizeof *lj->items, item_cmp);
	for (i = 0; i < lj->nitems; i++) {
		if (poll_job_add(lj->job, &lj->items[i].m, &err) == -1) {
			fail(lj, POLL_BAD_DATA, err);
			return;
		}
	}
	connector_result_init(&res, POLL_OK);
	if (cursor != -1 && cursor != lj->cursor) {
		snprintf(lj->curbuf, sizeof lj->curbuf, "%lld",
		    (long long)cursor);
		res.cursor = lj->curbuf;
	}
	finish(lj, &res);
}

/* Whether a message of that id was found already in this poll. */
static int
item_have(const struct ljob *lj, const char *id)
{
	size_t i;

	for (i = 0; i < lj->nitems; i++)
		if (strcmp(lj->items[i].m.id, id) == 0)
			return 1;
	return 0;
}

/* A new item, zeroed, to fill. */
static struct msg *
item_new(struct ljob *lj)
{
	struct msg *m;

	if (lj->nitems == lj->capitems) {
		lj->capitems = lj->capitems ? lj->capitems * 2 : 16;
		lj->items = xreallocarray(lj->items, lj->capitems,
		    sizeof *lj->items);
	}
	m = &lj->items[lj->nitems++].m;
	memset(m, 0, sizeof *m);
	m->complaint = MSG_COMPLAINT_UNKNOWN;
	return m;
}

/* The address of a post or a comment's post on the web. */
static char *
post_url(const char *urn)
{
	char *url;

	xasprintf(&url, "https://www.linkedin.com/feed/update/%s/", urn);
	return url;
}

/* ---- URLs ------------------------------------------------------------------- */

static char *
posts_url(const struct ljob *lj)
{
	char *url;

	xasprintf(&url, "%s/rest/posts?q=author&author=%s&count=%d&start=%lld",
	    lj->li->base, lj->li->org_esc, POSTS_COUNT, (long long)lj->start);
	return url;
}

static char *
comments_url(const struct ljob *lj)
{
	char *url, *esc = http_escape(lj->target);

	xasprintf(&url, "%s/rest/socialActions/%s/comments?start=%lld"
	    "&count=%d", lj->li->base, esc, (long long)lj->start,
	    COMMENTS_COUNT);
	free(esc);
	return url;
}

/* Rest.li 2.0: the URN encoded, List(...) and (start:…,end:…) not. Both
 * kinds of mention are asked for: a post naming the brand and a comment
 * naming it (COMMENT_MENTION is not in the reference's list of values
 * seen, which it says is not the whole enum). */
static char *
notifs_url(const struct ljob *lj)
{
	char *url;

	xasprintf(&url, "%s/rest/organizationalEntityNotifications?q=criteria"
	    "&organizationalEntity=%s&actions=List(SHARE_MENTION,"
	    "COMMENT_MENTION)"
	    "&timeRange=(start:%lld,end:%lld)&start=%lld&count=%d",
	    lj->li->base, lj->li->org_esc, (long long)lj->range_start,
	    (long long)lj->range_end, (long long)lj->start, NOTIF_COUNT);
	return url;
}

/* ---- posts ---------------------------------------------------------------- */

/* When a post was created (or published), -1 if it does not say. */
static int
post_time(const struct ljob *lj, const cJSON *el, const char *path,
    int64_t *ms, char **err)
{
	int rc;

	*ms = -1;
	if ((rc = get_ms(el, path, "createdAt", 0, lj->now, ms, err)) != 0)
		return rc;
	if ((rc = get_ms(el, path, "publishedAt", 0, lj->now, ms, err)) != 0)
		return rc;
	*ms = -1;
	return 0;
}

static void
got_posts(struct ljob *lj, cJSON *doc)
{
	const cJSON *elements, *el;
	const char *urn, *state;
	char *err = NULL, path[64];
	int64_t created;
	size_t i = 0, n;
	int more;

	if ((elements = jget_array(doc, "posts", "elements", 1, &err)) ==
	    NULL)
		goto bad;
	n = (size_t)cJSON_GetArraySize(elements);
	/* check the whole page before taking anything of it */
	cJSON_ArrayForEach(el, elements) {
		snprintf(path, sizeof path, "posts.elements[%zu]", i++);
		if (!cJSON_IsObject(el)) {
			xasprintf(&err, "%s: expected an object, got %s", path,
			    jget_type(el));
			goto bad;
		}
		if (get_urn(el, path, "id", 1, &urn, &err) == -1 ||
		    get_text(el, path, "lifecycleState", 0, 64, &state,
		    &err) == -1)
			goto bad;
		if (post_time(lj, el, path, &created, &err) == -1)
			goto bad;
	}
	if (paging_more(doc, "posts", lj->start, n, POSTS_COUNT, &more,
	    &err) == -1)
		goto bad;

	cJSON_ArrayForEach(el, elements) {
		if (lj->seen_posts >= MAX_POSTS)
			break;
		lj->seen_posts++;
		urn = cJSON_GetObjectItemCaseSensitive(el, "id")->valuestring;
		(void)post_time(lj, el, "posts", &created, &err);
		/* comments under old posts are not looked for */
		if (created != -1 && created < lj->now - POST_MAX_AGE_MS)
			continue;
		lj->posts = xreallocarray(lj->posts, lj->nposts + 1,
		    sizeof *lj->posts);
		lj->posts[lj->nposts++] = xstrdup(urn);
	}
	cJSON_Delete(doc);
	lj->pages++;
	if (more && lj->seen_posts < MAX_POSTS && lj->pages < MAX_PAGES) {
		lj->start += (int64_t)n;
		request(lj, PH_POSTS, posts_url(lj));
		return;
	}
	lj->post = 0;
	lj->target = NULL;
	next_list(lj);
	return;
bad:
	cJSON_Delete(doc);
	fail(lj, POLL_BAD_DATA, err);
}

/* ---- comments ------------------------------------------------------------- */

/*
 * A comment at path, of post, into a new item (if new enough). Its id is
 * its URN: commentUrn or $URN, or urn:li:comment:(object,id) built from
 * the two. Comments with replies not in this list are noted in parents.
 */
static int
comment_read(struct ljob *lj, const cJSON *el, const char *path,
    const char *post, int check_only, char **err)
{
	const cJSON *created, *message, *summary;
	const char *urn, *id, *object, *actor, *parent, *text = NULL;
	char sub[96], *built = NULL;
	int64_t when, replies = 0, total = 0;
	struct msg *m;

	if (!cJSON_IsObject(el)) {
		xasprintf(err, "%s: expected an object, got %s", path,
		    jget_type(el));
		return -1;
	}
	if (get_urn(el, path, "commentUrn", 0, &urn, err) == -1)
		return -1;
	if (urn == NULL && get_urn(el, path, "$URN", 0, &urn, err) == -1)
		return -1;
	if (get_text(el, path, "id", urn == NULL, MSG_MAX_ID / 4, &id,
	    err) == -1 ||
	    get_urn(el, path, "object", urn == NULL, &object, err) == -1 ||
	    get_urn(el, path, "actor", 1, &actor, err) == -1 ||
	    get_urn(el, path, "parentComment", 0, &parent, err) == -1)
		return -1;
	if ((created = jget_object(el, path, "created", 1, err)) == NULL)
		return -1;
	snprintf(sub, sizeof sub, "%s.created", path);
	if (get_ms(created, sub, "time", 1, lj->now, &when, err) == -1)
		return -1;
	if ((message = jget_object(el, path, "message", 0, err)) == NULL &&
	    *err != NULL)
		return -1;
	snprintf(sub, sizeof sub, "%s.message", path);
	if (message != NULL && get_text(message, sub, "text", 0, 0, &text,
	    err) == -1)
		return -1;
	if ((summary = jget_object(el, path, "commentsSummary", 0,
	    err)) == NULL && *err != NULL)
		return -1;
	snprintf(sub, sizeof sub, "%s.commentsSummary", path);
	if (summary != NULL && (jget_int(summary, sub,
	    "totalFirstLevelComments", 0, 0, INT64_C(1) << 40, &replies,
	    err) == -1 || jget_int(summary, sub, "aggregatedTotalComments",
	    0, 0, INT64_C(1) << 40, &total, err) == -1))
		return -1;
	if (urn == NULL && (strchr(id, ',') != NULL ||
	    strchr(id, ')') != NULL)) {
		xasprintf(err, "%s.id: \"%.100s\" is not a comment id", path,
		    id);
		return -1;
	}
	if (check_only) {
		if (parent != NULL)
			lj->inline_replies = 1;
		return 0;
	}

	if (urn == NULL) {
		xasprintf(&built, "urn:li:comment:(%s,%s)", object, id);
		urn = built;
	}
	if (when > lj->newest)
		lj->newest = when;
	/* in a comment's own list, every one replies to it */
	if (lj->replies_of != NULL && parent == NULL)
		parent = lj->replies_of;
	/* a comment with replies, read from its own socialActions unless
	 * the post's list has them */
	if (parent == NULL && (replies > 0 || total > 0) &&
	    !lj->inline_replies && lj->nparents >= MAX_PARENTS)
		/* not silently: the replies of this one are not read */
		log_warn("linkedin %s: %s: more than %d comments with replies "
		    "in one poll: the %lld replies of %s are not read",
		    lj->li->account->name, post, MAX_PARENTS,
		    (long long)(total > replies ? total : replies), urn);
	else if (parent == NULL && (replies > 0 || total > 0) &&
	    !lj->inline_replies) {
		lj->parents = xreallocarray(lj->parents, lj->nparents + 1,
		    sizeof *lj->parents);
		lj->parents[lj->nparents].urn = xstrdup(urn);
		lj->parents[lj->nparents++].post = post;
	}
	if (when < lj->since || item_have(lj, urn)) {
		free(built);
		return 0;
	}
	m = item_new(lj);
	m->id = built != NULL ? built : xstrdup(urn);
	m->conversation = xstrdup(post);
	m->kind = MSG_BROADCAST;
	m->direction = strcmp(actor, lj->li->org) == 0 ? MSG_OUTBOUND :
	    MSG_INBOUND;
	m->created_ms = when;
	m->author = xstrdup(actor);
	m->in_reply_to = xstrdup(parent != NULL ? parent : post);
	m->text = text != NULL ? text_copy(text) : NULL;
	m->url = post_url(post);
	return 0;
}

static void
got_comments(struct ljob *lj, cJSON *doc)
{
	const cJSON *elements, *el;
	const char *post = lj->target_post;
	char *err = NULL, path[64];
	size_t i = 0, n;
	int more;

	if ((elements = jget_array(doc, "comments", "elements", 1,
	    &err)) == NULL)
		goto bad;
	n = (size_t)cJSON_GetArraySize(elements);
	cJSON_ArrayForEach(el, elements) {
		snprintf(path, sizeof path, "comments.elements[%zu]", i++);
		if (comment_read(lj, el, path, post, 1, &err) == -1)
			goto bad;
	}
	if (paging_more(doc, "comments", lj->start, n, COMMENTS_COUNT, &more,
	    &err) == -1)
		goto bad;
	i = 0;
	cJSON_ArrayForEach(el, elements) {
		snprintf(path, sizeof path, "comments.elements[%zu]", i++);
		if (comment_read(lj, el, path, post, 0, &err) == -1)
			goto bad;
	}
	cJSON_Delete(doc);
	lj->pages++;
	if (more && lj->pages < MAX_PAGES) {
		lj->start += (int64_t)n;
		request(lj, PH_COMMENTS, comments_url(lj));
		return;
	}
	next_list(lj);
	return;
bad:
	cJSON_Delete(doc);
	fail(lj, POLL_BAD_DATA, err);
}

/*
 * The next list of comments to read: the replies of a comment noted in
 * parents, else the next post's comments; at the end, done.
 */
static void
next_list(struct ljob *lj)
{
	int64_t cursor;

	lj->start = 0;
	lj->pages = 0;
	if (lj->parent < lj->nparents) {
		lj->replies_of = lj->target = lj->parents[lj->parent].urn;
		lj->target_post = lj->parents[lj->parent++].post;
	} else {
		if (lj->target != NULL)
			lj->post++;
		if (lj->post >= lj->nposts) {
			/* the newest comment seen; nothing yet: covered up
			 * to where this poll looked from */
			cursor = lj->cursor;
			if (lj->newest > cursor)
				cursor = lj->newest;
			if (cursor == -1)
				cursor = lj->since;
			finish_ok(lj, cursor);
			return;
		}
		lj->target = lj->target_post = lj->posts[lj->post];
		lj->replies_of = NULL;
		lj->inline_replies = 0;
	}
	request(lj, PH_COMMENTS, comments_url(lj));
}

/* ---- mentions -------------------------------------------------------------- */

static int
notif_read(struct ljob *lj, const cJSON *el, const char *path,
    int check_only, char **err)
{
	const char *action, *source, *activity, *actor, *id;
	int64_t when;
	struct msg *m;

	if (!cJSON_IsObject(el)) {
		xasprintf(err, "%s: expected an object, got %s", path,
		    jget_type(el));
		return -1;
	}
	if (get_text(el, path, "action", 1, 64, &action, err) == -1 ||
	    get_urn(el, path, "sourcePost", 0, &source, err) == -1 ||
	    get_urn(el, path, "generatedActivity", 0, &activity, err) == -1 ||
	    get_urn(el, path, "actor", 0, &actor, err) == -1 ||
	    get_ms(el, path, "lastModifiedAt", 1, lj->now, &when, err) == -1)
		return -1;
	if (strcmp(action, "SHARE_MENTION") != 0 &&
	    strcmp(action, "COMMENT_MENTION") != 0) {
		if (!check_only)
			log_debug("linkedin %s: a notification of %s, ignored",
			    lj->li->account->name, action);
		return 0;
	}
	if (source == NULL && activity == NULL) {
		xasprintf(err, "%s.sourcePost: is missing", path);
		return -1;
	}
	if (strcmp(action, "COMMENT_MENTION") == 0 &&
	    (source == NULL || activity == NULL)) {
		xasprintf(err, "%s.%s: is missing", path, source == NULL ?
		    "sourcePost" : "generatedActivity");
		return -1;
	}
	if (check_only)
		return 0;
	if (when > lj->newest)
		lj->newest = when;
	/* a post that mentions is a thread of its own; a comment that
	 * mentions is under its post */
	id = strcmp(action, "SHARE_MENTION") == 0 ?
	    (source != NULL ? source : activity) : activity;
	if (item_have(lj, id))
		return 0;
	m = item_new(lj);
	m->id = xstrdup(id);
	if (strcmp(action, "SHARE_MENTION") == 0)
		m->conversation = xstrdup(id);
	else {
		m->conversation = xstrdup(source);
		m->in_reply_to = xstrdup(source);
	}
	m->kind = MSG_BROADCAST;
	m->direction = MSG_INBOUND;
	m->created_ms = when;
	m->author = xstrdup_or_null(actor);
	m->url = post_url(m->conversation);
	return 0;
}

static void
got_notifs(struct ljob *lj, cJSON *doc)
{
	const cJSON *elements, *el;
	char *err = NULL, path[64];
	size_t i = 0, n;
	int more;

	if ((elements = jget_array(doc, "notifications", "elements", 1,
	    &err)) == NULL)
		goto bad;
	n = (size_t)cJSON_GetArraySize(elements);
	cJSON_ArrayForEach(el, elements) {
		snprintf(path, sizeof path, "notifications.elements[%zu]",
		    i++);
		if (notif_read(lj, el, path, 1, &err) == -1)
			goto bad;
	}
	if (paging_more(doc, "notifications", lj->start, n, NOTIF_COUNT,
	    &more, &err) == -1)
		goto bad;
	i = 0;
	cJSON_ArrayForEach(el, elements) {
		snprintf(path, sizeof path, "notifications.elements[%zu]",
		    i++);
		if (notif_read(lj, el, path, 0, &err) == -1)
			goto bad;
	}
	cJSON_Delete(doc);
	lj->pages++;
	if (more && lj->pages < MAX_PAGES) {
		lj->start += (int64_t)n;
		request(lj, PH_NOTIFS, notifs_url(lj));
		return;
	}
	if (more)
		log_warn("linkedin %s: over %d notifications between %lld "
		    "and %lld: the rest are skipped", lj->li->account->name,
		    MAX_PAGES * NOTIF_COUNT, (long long)lj->range_start,
		    (long long)lj->range_end);
	finish_ok(lj, lj->range_end);
	return;
bad:
	cJSON_Delete(doc);
	fail(lj, POLL_BAD_DATA, err);
}

/* ---- responses ------------------------------------------------------------ */

/* LinkedIn's serviceErrorCode of an error body, -1 if none. */
static long long
service_error_code(const struct http_response *r)
{
	const cJSON *code;
	cJSON *doc;
	long long n = -1;

	if (r->len == 0 ||
	    (doc = cJSON_ParseWithLength(r->body, r->len)) == NULL)
		return -1;
	code = cJSON_GetObjectItemCaseSensitive(doc, "serviceErrorCode");
	if (cJSON_IsNumber(code) && code->valuedouble >= 0 &&
	    code->valuedouble < 1e12)
		n = (long long)code->valuedouble;
	cJSON_Delete(doc);
	return n;
}

static void
on_response(const struct http_response *r, void *arg)
{
	struct ljob *lj = arg;
	struct poll_result res;
	enum poll_status st;
	char *err = NULL;
	cJSON *doc;
	long long code;
	size_t len;

	lj->call = NULL;
	if (connector_http_status(r, lj->now, lj->errbuf, sizeof lj->errbuf,
	    &res) != POLL_OK) {
		if (res.status != POLL_RETRY || r->error == HTTP_OK) {
			code = service_error_code(r);
			len = strlen(lj->errbuf);
			if (code != -1 && len + 1 < sizeof lj->errbuf)
				snprintf(lj->errbuf + len,
				    sizeof lj->errbuf - len,
				    " (serviceErrorCode %lld)", code);
		}
		/* daily limits, reset at midnight UTC */
		if (res.status == POLL_RATE_LIMITED) {
			if (res.retry_at_ms == -1)
				res.retry_at_ms = next_midnight(lj->now);
			res.rl.limit = -1;
			res.rl.remaining = 0;
			res.rl.reset_ms = res.retry_at_ms;
		}
		log_debug("linkedin %s: %s: %s", lj->li->account->name,
		    lj->url, res.error);
		finish(lj, &res);
		return;
	}
	if ((doc = connector_json_body(r, &st, &err)) == NULL) {
		fail(lj, st, err);
		return;
	}
	if (!cJSON_IsObject(doc)) {
		xasprintf(&err, "%s: expected an object, got %s",
		    lj->phase == PH_POSTS ? "posts" : lj->phase ==
		    PH_COMMENTS ? "comments" : "notifications",
		    jget_type(doc));
		cJSON_Delete(doc);
		fail(lj, POLL_BAD_DATA, err);
		return;
	}
	switch (lj->phase) {
	case PH_POSTS:
		got_posts(lj, doc);
		break;
	case PH_COMMENTS:
		got_comments(lj, doc);
		break;
	case PH_NOTIFS:
		got_notifs(lj, doc);
		break;
	}
}

/* Start a request of the job; url (owned) is taken. */
static void
request(struct ljob *lj, enum phase phase, char *url)
{
	struct http_request req;
	char *err = NULL;

	free(lj->url);
	lj->url = url;
	lj->phase = phase;
	if (++lj->requests > MAX_REQUESTS) {
		/* what was found is kept; the cursor stays for the rest */
		log_warn("linkedin %s: %d requests in one poll: the rest "
		    "waits for the next", lj->li->account->name, MAX_REQUESTS);
		finish_ok(lj, lj->cursor);
		return;
	}
	memset(&req, 0, sizeof req);
	req.url = url;
	req.headers = lj->li->headers;
	req.ca_file = lj->li->account->ca_file;
	log_debug("linkedin %s: GET %s", lj->li->account->name, url);
	if ((lj->call = http_start(lj->li->http, &req, on_response, lj,
	    &err)) == NULL) {
		if (err == NULL)
			err = xstrdup("the request could not be started");
		fail(lj, POLL_RETRY, err);
	}
}

/* ---- the connector -------------------------------------------------------- */

static void *
linkedin_new(const struct connector_env *env, char **errstr)
{
	const struct conf_account *a = env->account;
	const char *url = a->url != NULL ? a->url : LI_DEFAULT_URL;
	const char *version = a->api_version != NULL ? a->api_version :
	    LI_DEFAULT_VERSION;
	const char *id = a->platform_id, *why;
	struct linkedin *li;
	size_t len;

	if (http_url_check(url, &why) == -1) {
		xasprintf(errstr, "url: %s", why);
		return NULL;
	}
	if (strpbrk(url, "?#") != NULL) {
		xasprintf(errstr, "url: the API's address takes no query or "
		    "fragment");
		return NULL;
	}
	if (id == NULL) {
		xasprintf(errstr, "platform_id is required (the "
		    "organization's id, e.g. 2414183)");
		return NULL;
	}
	if (strncmp(id, ORG_PREFIX, strlen(ORG_PREFIX)) == 0)
		id += strlen(ORG_PREFIX);
	if (!all_digits(id, 19)) {
		xasprintf(errstr, "platform_id: \"%.64s\" is not an "
		    "organization id (digits, or urn:li:organization:"
		    "digits)", a->platform_id);
		return NULL;
	}
	/* YYYYMM, or YYYYMM.RR for a revision */
	len = strlen(version);
	if (!((len == 6 && all_digits(version, 6)) || (len == 9 &&
	    version[6] == '.' && all_digits(version + 7, 2) &&
	    strspn(version, "0123456789") == 6)) ||
	    strncmp(version, "20", 2) != 0 || (version[4] - '0') * 10 +
	    (version[5] - '0') < 1 || (version[4] - '0') * 10 +
	    (version[5] - '0') > 12) {
		xasprintf(errstr, "api_version: \"%.64s\" is not a LinkedIn "
		    "version (YYYYMM, e.g. %s)", version, LI_DEFAULT_VERSION);
		return NULL;
	}
	if (connector_token_check(env->secret, errstr) == -1)
		return NULL;

	li = xcalloc(1, sizeof *li);
	li->account = a;
	li->http = env->http;
	li->base = connector_base_url(url);
	xasprintf(&li->org, ORG_PREFIX "%s", id);
	li->org_esc = http_escape(li->org);
	xasprintf(&li->auth, "Authorization: Bearer %s", env->secret);
	xasprintf(&li->version, "LinkedIn-Version: %s", version);
	li->headers[0] = li->auth;
	li->headers[1] = li->version;
	li->headers[2] = "X-Restli-Protocol-Version: 2.0.0";
	li->headers[3] = "Accept: application/json";
	li->headers[4] = NULL;
	return li;
}

static void
linkedin_free(void *self)
{
	struct linkedin *li = self;

	if (li == NULL)
		return;
	free(li->base);
	free(li->org);
	free(li->org_esc);
	if (li->auth != NULL) {
		explicit_bzero(li->auth, strlen(li->auth));
		free(li->auth);
	}
	free(li->version);
	free(li);
}

static void
linkedin_poll(void *self, struct poll_job *job)
{
	struct linkedin *li = self;
	struct ljob *lj;
	const char *cursor = poll_job_cursor(job);
	int64_t since = poll_job_backfill_since(job);

	lj = xcalloc(1, sizeof *lj);
	lj->li = li;
	lj->job = job;
	lj->stream = poll_job_stream(job) == 1 ? S_MENTIONS : S_COMMENTS;
	lj->now = poll_job_now(job);
	lj->newest = -1;
	lj->cursor = cursor_parse(cursor);
	if (cursor != NULL && lj->cursor == -1)
		log_warn("linkedin %s: the stored cursor \"%.40s\" is not a "
		    "time: starting over", li->account->name, cursor);
	if (lj->cursor > lj->now + DAY_MS)
		lj->cursor = lj->now;
	/* since: what is new; the overlap takes in what showed up late */
	if (lj->cursor != -1)
		lj->since = lj->cursor - OVERLAP_MS;
	else
		lj->since = since != -1 ? since : lj->now;
	poll_job_set_data(job, lj);
	if (lj->stream == S_COMMENTS) {
		request(lj, PH_POSTS, posts_url(lj));
		return;
	}
	lj->range_end = lj->now;
	lj->range_start = lj->since;
	if (lj->range_start < lj->now - NOTIF_KEPT_MS)
		lj->range_start = lj->now - NOTIF_KEPT_MS;
	if (lj->range_start >= lj->range_end)
		lj->range_start = lj->range_end - 1;
	request(lj, PH_NOTIFS, notifs_url(lj));
}

static void
linkedin_cancel(void *self, struct poll_job *job)
{
	struct ljob *lj = poll_job_data(job);
	struct poll_result res;

	if (lj == NULL)
		return;
	if (lj->call != NULL) {
		http_cancel(lj->call);
		lj->call = NULL;
	}
	connector_result_init(&res, POLL_CANCELLED);
	finish(lj, &res);
}

const struct connector_def connector_linkedin = {
	.name = "linkedin",
	.platform = "linkedin",
	.streams = linkedin_streams,
	.needs_secret = 1,
	.default_url = LI_DEFAULT_URL,
	.new = linkedin_new,
	.free = linkedin_free,
	.poll = linkedin_poll,
	.cancel = linkedin_cancel,
};
