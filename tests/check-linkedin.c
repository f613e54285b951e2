/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "connector-lib.h"
#include "connector.h"
#include "http.h"
#include "log.h"
#include "msg.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * The LinkedIn connector against the fake HTTP client and poll job of
 * connector-lib.h, as in check-mastodon.c: canned responses matched by a
 * piece of the URL, delivered only when the test says so. Every request
 * must carry the token, LinkedIn-Version and X-Restli-Protocol-Version:
 * 2.0.0.
 */

extern const struct connector_def connector_linkedin;

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define BASE		"https://api.linkedin.com"
#define TOKEN		"AQX-s3cret-t0ken"
#define ORG		"urn:li:organization:2414183"
#define ORG_ESC		"urn%3Ali%3Aorganization%3A2414183"
#define NOW_S		"2025-08-14T10:00:00Z"
#define MINUTE		(INT64_C(60) * 1000)
#define HOUR		(60 * MINUTE)
#define DAY		(24 * HOUR)
#define POSTS		BASE "/rest/posts?q=author&author=" ORG_ESC \
			    "&count=10&start="
#define SHARE1		"urn:li:share:7361000000000000001"
#define SHARE1_ESC	"urn%3Ali%3Ashare%3A7361000000000000001"
#define COMMENTS1	BASE "/rest/socialActions/" SHARE1_ESC \
			    "/comments?start=0&count=50"
#define ACT		"urn:li:activity:7361000000000000002"
#define C100		"urn:li:comment:(" ACT ",7361000000000000100)"
#define C200		"urn:li:comment:(" ACT ",7361000000000000200)"
#define NOTIFS		BASE "/rest/organizationalEntityNotifications?" \
			    "q=criteria&organizationalEntity=" ORG_ESC \
			    "&actions=List(SHARE_MENTION,COMMENT_MENTION)" \
			    "&timeRange=(start:"

static const char *fx_version(void);

/* The reference's examples (platform-apis.md §4.6). */
static const char example_posts[] =
    "{\"paging\":{\"start\":0,\"count\":10,\"links\":[]},\"elements\":[{"
    "\"id\":\"" SHARE1 "\",\"author\":\"" ORG "\","
    "\"commentary\":\"Summer sale starts today!\",\"visibility\":\"PUBLIC\","
    "\"lifecycleState\":\"PUBLISHED\",\"createdAt\":1755158400000,"
    "\"publishedAt\":1755158400000,\"lastModifiedAt\":1755158400000,"
    "\"distribution\":{\"feedDistribution\":\"MAIN_FEED\","
    "\"targetEntities\":[],\"thirdPartyDistributionChannels\":[]},"
    "\"isReshareDisabledByAuthor\":false}]}";

static const char example_comments[] =
    "{\"paging\":{\"start\":0,\"count\":50,\"total\":2,\"links\":[]},"
    "\"elements\":[{\"$URN\":\"" C100 "\",\"id\":\"7361000000000000100\","
    "\"commentUrn\":\"" C100 "\",\"actor\":\"urn:li:person:AbC123xyZ\","
    "\"object\":\"" ACT "\",\"message\":{\"text\":\"my order never "
    "arrived\",\"attributes\":[]},\"created\":{\"actor\":"
    "\"urn:li:person:AbC123xyZ\",\"time\":1755163867000},\"lastModified\":"
    "{\"actor\":\"urn:li:person:AbC123xyZ\",\"time\":1755163867000}},"
    "{\"$URN\":\"" C200 "\",\"id\":\"7361000000000000200\","
    "\"commentUrn\":\"" C200 "\",\"actor\":\"" ORG "\",\"agent\":"
    "\"urn:li:person:AdminPerson01\",\"object\":\"" ACT "\","
    "\"parentComment\":\"" C100 "\",\"message\":{\"text\":\"Sorry! We've "
    "sent you a message.\",\"attributes\":[]},\"created\":{\"actor\":"
    "\"urn:li:person:AdminPerson01\",\"time\":1755164217000},"
    "\"lastModified\":{\"actor\":\"urn:li:person:AdminPerson01\",\"time\":"
    "1755164217000}}]}";

static const char example_notifs[] =
    "{\"paging\":{\"start\":0,\"count\":10,\"links\":[]},\"elements\":[{"
    "\"action\":\"SHARE_MENTION\",\"organizationalEntity\":\"" ORG "\","
    "\"sourcePost\":\"urn:li:share:7361000000000000777\","
    "\"generatedActivity\":\"urn:li:activity:7361000000000000778\","
    "\"lastModifiedAt\":1755163780000},{\"action\":\"COMMENT\","
    "\"organizationalEntity\":\"" ORG "\",\"sourcePost\":\"" SHARE1 "\","
    "\"generatedActivity\":\"" C100 "\",\"lastModifiedAt\":1755163867000}]}";

/* LinkedIn's error bodies (§4.5). */
static const char expired_body[] =
    "{\"status\":401,\"serviceErrorCode\":65600,\"code\":"
    "\"INVALID_ACCESS_TOKEN\",\"message\":\"Invalid access token\"}";
static const char throttled_body[] =
    "{\"serviceErrorCode\":101,\"message\":\"Resource level throttle limit "
    "for calls to this resource is reached.\",\"status\":429}";

/* ---- the fake HTTP client and poll job (connector-lib.h) ------------------- */

/* One LinkedIn-Version line at most; the protocol at 2.0.0. The URL is
 * recorded as sent. */
static char *
check_start(const struct http_request *req, void *ctx)
{
	int nversion = 0;
	size_t i;

	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
		if (strncmp(req->headers[i], "LinkedIn-Version:", 17) == 0)
			ck_assert_int_eq(nversion++, 0);
		if (strncmp(req->headers[i], "X-Restli-Protocol-Version:",
		    26) == 0)
			ck_assert_str_eq(req->headers[i],
			    "X-Restli-Protocol-Version: 2.0.0");
	}
	return NULL;
}

/* Every request carries the token and both of LinkedIn's headers, once
 * each, and nothing else. */
static void
check_request(const struct fake_request *q, void *ctx)
{
	const char *version = fake_request_header(q, "LinkedIn-Version:");
	size_t i, restli = 0;

	for (i = 0; i < q->nheaders; i++)
		restli += strncmp(q->headers[i], "X-Restli-Protocol-Version:",
		    26) == 0;
	ck_assert_str_eq(q->auth, "Authorization: Bearer " TOKEN);
	ck_assert_uint_ge(fake_request_count(q, "Accept: application/json"), 1);
	ck_assert_ptr_nonnull(version);
	ck_assert_str_eq(version, fx_version());
	ck_assert_uint_eq(restli, 1);
	ck_assert_uint_eq(q->nheaders, 4);
}

static const struct fake_http_opts http_rules = {
	.one_per_job = 1,
	.get_only = 1,
	.on_start = check_start,
	.on_deliver = check_request,
};

/* The fake has one client: the fixture's. */
static struct http *fake_http;

#define respond(...)		fake_http_respond(fake_http, __VA_ARGS__)
#define respond_json(...)	fake_http_respond_json(fake_http, __VA_ARGS__)
#define respond_error(pattern, error) \
	fake_http_respond_error(fake_http, pattern, error)

static int
deliver(void)
{
	return fake_http_deliver(fake_http);
}

static struct {
	struct conf_account account;
	struct connector_env env;
	void		*conn;
	struct poll_job	 job;
	int64_t		 now;
} fx;

/* The LinkedIn-Version line every request must carry. */
static const char *
fx_version(void)
{
	static char line[64];

	snprintf(line, sizeof line, "LinkedIn-Version: %s",
	    fx.account.api_version != NULL ? fx.account.api_version :
	    "202601");
	return line;
}

/* ---- fixture and helpers ---------------------------------------------------- */

static void
setup(void)
{
	char *err = NULL;

	memset(&fx, 0, sizeof fx);
	ck_assert_int_eq(timefmt_parse_rfc3339(NOW_S, &fx.now), 0);
	fake_http = fake_http_new(&http_rules);
	fx.account.name = "acme";
	fx.account.connector = "linkedin";
	fx.account.platform_id = "2414183";
	fx.env.account = &fx.account;
	fx.env.secret = TOKEN;
	fx.env.http = fake_http;
	fx.conn = connector_linkedin.new(&fx.env, &err);
	ck_assert_msg(fx.conn != NULL, "new: %s", err);
}

static void
teardown(void)
{
	fake_job_clear(&fx.job);
	connector_linkedin.free(fx.conn);
	fake_http_free(fake_http);
	fake_http = NULL;
}

/* Start a poll of a stream (0 comments, 1 mentions). */
static void
start(int stream, const char *cursor)
{
	fake_job_clear(&fx.job);
	fake_job_init(&fx.job, stream, cursor, fx.now);
	connector_linkedin.poll(fx.conn, &fx.job);
	ck_assert_int_eq(fx.job.ndone, 0);	/* nothing synchronous */
}

static void
run(void)
{
	fake_job_run(&fx.job, fake_http, 1000);
}

static const struct msg *
stored(const char *id)
{
	return fake_job_stored(&fx.job, id);
}

static void
assert_url(size_t i, const char *url)
{
	fake_http_assert_url(fake_http, i, url);
}

static char *
ms_str(int64_t ms)
{
	char *s;

	xasprintf(&s, "%lld", (long long)ms);
	return s;
}

/* A post of the organization. */
static cJSON *
post(const char *urn, int64_t created)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "id", urn);
	cJSON_AddStringToObject(p, "author", ORG);
	cJSON_AddStringToObject(p, "lifecycleState", "PUBLISHED");
	cJSON_AddNumberToObject(p, "createdAt", (double)created);
	return p;
}

/* A comment: urn:li:comment:(ACT,id) by actor, parent may be NULL. */
static cJSON *
comment(const char *id, const char *actor, int64_t created,
    const char *parent, const char *text)
{
	cJSON *c = cJSON_CreateObject(), *cr = cJSON_CreateObject();
	cJSON *msg = cJSON_CreateObject();
	char *urn;

	xasprintf(&urn, "urn:li:comment:(%s,%s)", ACT, id);
	cJSON_AddStringToObject(c, "$URN", urn);
	cJSON_AddStringToObject(c, "id", id);
	cJSON_AddStringToObject(c, "commentUrn", urn);
	cJSON_AddStringToObject(c, "actor", actor);
	cJSON_AddStringToObject(c, "object", ACT);
	if (parent != NULL)
		cJSON_AddStringToObject(c, "parentComment", parent);
	cJSON_AddStringToObject(msg, "text", text);
	cJSON_AddItemToObject(c, "message", msg);
	cJSON_AddStringToObject(cr, "actor", actor);
	cJSON_AddNumberToObject(cr, "time", (double)created);
	cJSON_AddItemToObject(c, "created", cr);
	free(urn);
	return c;
}

/* {"paging": {...}, "elements": [first, ...]}; total < 0: none. */
static cJSON *
page(int64_t start, int count, int64_t total, cJSON *first, ...)
{
	cJSON *doc = cJSON_CreateObject(), *p = cJSON_CreateObject();
	cJSON *a = cJSON_CreateArray(), *it;
	va_list ap;

	cJSON_AddNumberToObject(p, "start", (double)start);
	cJSON_AddNumberToObject(p, "count", count);
	if (total >= 0)
		cJSON_AddNumberToObject(p, "total", (double)total);
	cJSON_AddItemToObject(p, "links", cJSON_CreateArray());
	cJSON_AddItemToObject(doc, "paging", p);
	va_start(ap, first);
	for (it = first; it != NULL; it = va_arg(ap, cJSON *))
		cJSON_AddItemToArray(a, it);
	va_end(ap);
	cJSON_AddItemToObject(doc, "elements", a);
	return doc;
}

static const char empty_page[] = "{\"paging\":{\"start\":0,\"count\":50,"
    "\"links\":[]},\"elements\":[]}";

/* ---- mapping ------------------------------------------------------------------ */

/*
 * The reference's post and its two comments: a member's, and the
 * organization's reply to it, which comes inline with parentComment.
 */
START_TEST(comments_example)
{
	const struct msg *m;

	respond(POSTS "0", 200, example_posts, NULL);
	respond(COMMENTS1, 200, example_comments, NULL);
	start(0, NULL);
	run();

	ck_assert_uint_eq(fake_http->nreqs, 2);
	assert_url(0, POSTS "0");
	assert_url(1, COMMENTS1);
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_ptr_null(fx.job.result.error);
	ck_assert_str_eq(fx.job.result.cursor, "1755164217000");
	ck_assert_int_eq(fx.job.result.retry_at_ms, -1);
	ck_assert_int_eq(fx.job.result.rl.remaining, -1);
	ck_assert_uint_eq(fx.job.nstored, 2);

	m = &fx.job.stored[0];		/* oldest first */
	ck_assert_str_eq(m->id, C100);
	ck_assert_str_eq(m->conversation, SHARE1);
	ck_assert_int_eq(m->kind, MSG_BROADCAST);
	ck_assert_int_eq(m->direction, MSG_INBOUND);
	ck_assert_int_eq(m->created_ms, INT64_C(1755163867000));
	ck_assert_str_eq(m->author, "urn:li:person:AbC123xyZ");
	ck_assert_str_eq(m->in_reply_to, SHARE1);
	ck_assert_str_eq(m->text, "my order never arrived");
	ck_assert_str_eq(m->url, "https://www.linkedin.com/feed/update/"
	    SHARE1 "/");
	ck_assert_int_eq(m->complaint, MSG_COMPLAINT_UNKNOWN);

	m = &fx.job.stored[1];
	ck_assert_str_eq(m->id, C200);
	ck_assert_str_eq(m->conversation, SHARE1);
	ck_assert_int_eq(m->kind, MSG_BROADCAST);
	ck_assert_int_eq(m->direction, MSG_OUTBOUND);
	ck_assert_int_eq(m->created_ms, INT64_C(1755164217000));
	ck_assert_str_eq(m->author, ORG);
	ck_assert_str_eq(m->in_reply_to, C100);
	ck_assert_str_eq(m->text, "Sorry! We've sent you a message.");
}
END_TEST

/*
 * The other shape: no commentUrn nor $URN (the URN is built from object
 * and id), and replies not inline but behind commentsSummary, read from
 * the comment's own socialActions, without parentComment.
 */
START_TEST(comments_other_shape)
{
	cJSON *c, *s, *r;
	const struct msg *m;

	c = comment("100", "urn:li:person:dana", fx.now - 2 * HOUR, NULL,
	    "where is my parcel");
	cJSON_DeleteItemFromObject(c, "$URN");
	cJSON_DeleteItemFromObject(c, "commentUrn");
	s = cJSON_CreateObject();
	cJSON_AddNumberToObject(s, "totalFirstLevelComments", 1);
	cJSON_AddNumberToObject(s, "aggregatedTotalComments", 1);
	cJSON_AddItemToObject(c, "commentsSummary", s);
	r = comment("300", ORG, fx.now - HOUR, NULL, "On its way!");
	cJSON_DeleteItemFromObject(r, "commentUrn");

	respond_json(POSTS "0", 200, page(0, 10, -1, post(SHARE1,
	    fx.now - DAY), NULL), NULL);
	respond_json(COMMENTS1, 200, page(0, 50, 1, c, NULL), NULL);
	respond_json("/rest/socialActions/urn%3Ali%3Acomment%3A%28"
	    "urn%3Ali%3Aactivity%3A7361000000000000002%2C100%29/comments?"
	    "start=0&count=50", 200, page(0, 50, 1, r, NULL), NULL);
	start(0, NULL);
	run();

	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);
	ck_assert_uint_eq(fx.job.nstored, 2);
	m = stored("urn:li:comment:(" ACT ",100)");
	ck_assert_int_eq(m->direction, MSG_INBOUND);
	ck_assert_str_eq(m->in_reply_to, SHARE1);
	m = stored("urn:li:comment:(" ACT ",300)");
	ck_assert_int_eq(m->direction, MSG_OUTBOUND);
	ck_assert_str_eq(m->conversation, SHARE1);
	ck_assert_str_eq(m->in_reply_to, "urn:li:comment:(" ACT ",100)");
}
END_TEST

/*
 * With a cursor: only comments since it (less the overlap) are handed
 * over, and the cursor is the newest comment's time, whatever its post.
 */
START_TEST(comments_incremental)
{
	char *cursor = ms_str(fx.now - 3 * HOUR), *want;

	respond_json(POSTS "0", 200, page(0, 10, 2, post(SHARE1,
	    fx.now - DAY), post("urn:li:share:2", fx.now - 2 * DAY), NULL),
	    NULL);
	respond_json(COMMENTS1, 200, page(0, 50, -1,
	    comment("1", "urn:li:person:a", fx.now - 5 * HOUR, NULL, "old"),
	    comment("2", "urn:li:person:b", fx.now - 3 * HOUR - 10 * MINUTE,
	    NULL, "late, within the overlap"),
	    comment("3", "urn:li:person:c", fx.now - 2 * HOUR, NULL, "new"),
	    NULL), NULL);
	respond_json("socialActions/urn%3Ali%3Ashare%3A2/comments", 200,
	    page(0, 50, -1, comment("4", ORG, fx.now - 30 * MINUTE, NULL,
	    "hello"), NULL), NULL);
	start(0, cursor);
	run();

	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fx.job.nstored, 3);
	ck_assert_str_eq(fx.job.stored[0].id, "urn:li:comment:(" ACT ",2)");
	ck_assert_str_eq(fx.job.stored[1].id, "urn:li:comment:(" ACT ",3)");
	ck_assert_str_eq(fx.job.stored[2].id, "urn:li:comment:(" ACT ",4)");
	ck_assert_str_eq(fx.job.stored[2].conversation, "urn:li:share:2");
	want = ms_str(fx.now - 30 * MINUTE);
	ck_assert_str_eq(fx.job.result.cursor, want);
	free(want);
	free(cursor);
}
END_TEST

/* Nothing new: the cursor stays; nothing at all on a first poll: it is
 * where the poll looked from. Posts over 30 days old are not read. */
START_TEST(comments_nothing_new)
{
	char *cursor = ms_str(fx.now - HOUR), *want;

	respond_json(POSTS "0", 200, page(0, 10, -1, post(SHARE1,
	    fx.now - DAY), NULL), NULL);
	respond(COMMENTS1, 200, empty_page, NULL);
	start(0, cursor);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_ptr_null(fx.job.result.cursor);
	ck_assert_uint_eq(fx.job.nstored, 0);
	free(cursor);

	respond_json(POSTS "0", 200, page(0, 10, -1, post("urn:li:share:9",
	    fx.now - 31 * DAY), NULL), NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);	/* no comments of it */
	want = ms_str(fx.now - DAY);
	ck_assert_str_eq(fx.job.result.cursor, want);
	free(want);
}
END_TEST

/* The backfill: comments older than it are not handed over. */
START_TEST(comments_backfill)
{
	respond(POSTS "0", 200, example_posts, NULL);
	respond_json(COMMENTS1, 200, page(0, 50, -1,
	    comment("1", "urn:li:person:a", fx.now - 25 * HOUR, NULL, "x"),
	    comment("2", "urn:li:person:a", fx.now - 23 * HOUR, NULL, "y"),
	    NULL), NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fx.job.nstored, 1);
	stored("urn:li:comment:(" ACT ",2)");
}
END_TEST

/* The reference's notifications: the mention is stored, the comment
 * notification (read through the comments stream) is not. */
START_TEST(mentions_example)
{
	const struct msg *m;
	char *url, *now = ms_str(fx.now);

	xasprintf(&url, "%s%lld,end:%lld)&start=0&count=50", NOTIFS,
	    (long long)(fx.now - DAY), (long long)fx.now);
	respond(NOTIFS, 200, example_notifs, NULL);
	start(1, NULL);
	run();

	ck_assert_uint_eq(fake_http->nreqs, 1);
	assert_url(0, url);
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_str_eq(fx.job.result.cursor, now);
	ck_assert_uint_eq(fx.job.nstored, 1);
	m = stored("urn:li:share:7361000000000000777");
	ck_assert_str_eq(m->conversation, "urn:li:share:7361000000000000777");
	ck_assert_int_eq(m->kind, MSG_BROADCAST);
	ck_assert_int_eq(m->direction, MSG_INBOUND);
	ck_assert_int_eq(m->created_ms, INT64_C(1755163780000));
	ck_assert_ptr_null(m->author);
	ck_assert_ptr_null(m->in_reply_to);
	ck_assert_ptr_null(m->text);
	ck_assert_str_eq(m->url, "https://www.linkedin.com/feed/update/"
	    "urn:li:share:7361000000000000777/");
	free(url);
	free(now);
}
END_TEST

/* From the cursor less the overlap; never more than LinkedIn keeps; a
 * comment mention (and its actor, if given) under its post. */
START_TEST(mentions_range)
{
	char *cursor = ms_str(fx.now - HOUR), *url;
	const struct msg *m;

	xasprintf(&url, "%s%lld,end:%lld)&start=0&count=50", NOTIFS,
	    (long long)(fx.now - HOUR - 15 * MINUTE), (long long)fx.now);
	respond(NOTIFS, 200, "{\"elements\":[{\"action\":\"COMMENT_MENTION\","
	    "\"sourcePost\":\"urn:li:share:5\",\"generatedActivity\":"
	    "\"urn:li:comment:(urn:li:activity:6,7)\",\"actor\":"
	    "\"urn:li:person:x\",\"lastModifiedAt\":1755160000000}]}", NULL);
	start(1, cursor);
	run();
	assert_url(0, url);
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	m = stored("urn:li:comment:(urn:li:activity:6,7)");
	ck_assert_str_eq(m->conversation, "urn:li:share:5");
	ck_assert_str_eq(m->in_reply_to, "urn:li:share:5");
	ck_assert_str_eq(m->author, "urn:li:person:x");
	free(url);
	free(cursor);

	/* a cursor of long ago: 59 days back at most */
	cursor = ms_str(fx.now - 90 * DAY);
	xasprintf(&url, "%s%lld,end:%lld)&start=0&count=50", NOTIFS,
	    (long long)(fx.now - 59 * DAY), (long long)fx.now);
	respond(NOTIFS, 200, "{\"elements\":[]}", NULL);
	start(1, cursor);
	run();
	assert_url(1, url);
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fx.job.nstored, 0);
	free(url);
	free(cursor);
}
END_TEST

/* ---- paging -------------------------------------------------------------------- */

/* Posts: 10 and then 3 (start=10); 13 posts, their comments each. */
START_TEST(posts_paging)
{
	cJSON *p1 = page(0, 10, -1, NULL), *a;
	char urn[64];
	int i;

	a = cJSON_GetObjectItem(p1, "elements");
	for (i = 0; i < 10; i++) {
		snprintf(urn, sizeof urn, "urn:li:share:%d", 100 + i);
		cJSON_AddItemToArray(a, post(urn, fx.now - HOUR));
	}
	respond_json(POSTS "0", 200, p1, NULL);
	respond_json(POSTS "10", 200, page(10, 10, -1,
	    post("urn:li:share:110", fx.now - HOUR),
	    post("urn:li:share:111", fx.now - HOUR),
	    post("urn:li:share:112", fx.now - HOUR), NULL), NULL);
	for (i = 0; i < 13; i++) {
		snprintf(urn, sizeof urn, "share%%3A%d/comments", 100 + i);
		respond(urn, 200, empty_page, NULL);
	}
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 15);
	assert_url(1, POSTS "10");
	assert_url(14, BASE "/rest/socialActions/urn%3Ali%3Ashare%3A112/"
	    "comments?start=0&count=50");
}
END_TEST

/* Comments: a full page of 50, then one more at start=50; the total
 * ends it. */
START_TEST(comments_paging)
{
	cJSON *p1 = page(0, 50, 51, NULL), *a;
	char id[16];
	int i;

	a = cJSON_GetObjectItem(p1, "elements");
	for (i = 0; i < 50; i++) {
		snprintf(id, sizeof id, "%d", 1000 + i);
		cJSON_AddItemToArray(a, comment(id, "urn:li:person:a",
		    fx.now - HOUR, NULL, "hi"));
	}
	respond(POSTS "0", 200, example_posts, NULL);
	respond_json(COMMENTS1, 200, p1, NULL);
	respond_json(BASE "/rest/socialActions/" SHARE1_ESC
	    "/comments?start=50&count=50", 200, page(50, 50, 51,
	    comment("2000", "urn:li:person:b", fx.now - MINUTE, NULL, "last"),
	    NULL), NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);
	ck_assert_uint_eq(fx.job.nstored, 51);
}
END_TEST

/* A server that serves fewer than asked for (20 of 50) and no total:
 * its page of 20 is full, the next starts at 20. */
START_TEST(comments_server_count)
{
	cJSON *p1 = page(0, 20, -1, NULL), *a;
	char id[16];
	int i;

	a = cJSON_GetObjectItem(p1, "elements");
	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof id, "%d", 1000 + i);
		cJSON_AddItemToArray(a, comment(id, "urn:li:person:a",
		    fx.now - HOUR, NULL, "hi"));
	}
	respond(POSTS "0", 200, example_posts, NULL);
	respond_json(COMMENTS1, 200, p1, NULL);
	respond_json(BASE "/rest/socialActions/" SHARE1_ESC
	    "/comments?start=20&count=50", 200, page(20, 20, -1, NULL), NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);
	ck_assert_uint_eq(fx.job.nstored, 20);
}
END_TEST

/* Mentions: a full page, then the next from start=50. */
START_TEST(mentions_paging)
{
	cJSON *p1 = page(0, 50, -1, NULL), *a, *n;
	char urn[64];
	int i;

	a = cJSON_GetObjectItem(p1, "elements");
	for (i = 0; i < 50; i++) {
		n = cJSON_CreateObject();
		snprintf(urn, sizeof urn, "urn:li:share:%d", 500 + i);
		cJSON_AddStringToObject(n, "action", "SHARE_MENTION");
		cJSON_AddStringToObject(n, "sourcePost", urn);
		cJSON_AddNumberToObject(n, "lastModifiedAt",
		    (double)(fx.now - HOUR));
		cJSON_AddItemToArray(a, n);
	}
	respond_json(NOTIFS, 200, p1, NULL);
	respond("&start=50&count=50", 200, "{\"elements\":[]}", NULL);
	start(1, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 2);
	ck_assert_uint_eq(fx.job.nstored, 50);
}
END_TEST

/* ---- failures ------------------------------------------------------------------ */

START_TEST(auth_401)
{
	respond(POSTS "0", 401, expired_body, NULL);
	start(0, "1755160000000");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_AUTH);
	ck_assert_str_eq(fx.job.result.error, "HTTP 401: Invalid access "
	    "token (serviceErrorCode 65600)");
	ck_assert_ptr_null(fx.job.result.cursor);
}
END_TEST

/* Comments found before a failure are not stored. */
START_TEST(auth_403_later)
{
	respond(POSTS "0", 200, example_posts, NULL);
	respond(COMMENTS1, 403, "{\"status\":403,\"serviceErrorCode\":100,"
	    "\"code\":\"ACCESS_DENIED\",\"message\":\"Not enough permissions "
	    "to access: socialActions.GET.NO_VERSION\"}", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_AUTH);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error,
	    "Not enough permissions"));
	ck_assert_uint_eq(fx.job.nstored, 0);
}
END_TEST

START_TEST(rate_limited_retry_after)
{
	respond(NOTIFS, 429, throttled_body, "Retry-After: 120", NULL);
	start(1, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RATE_LIMITED);
	ck_assert_int_eq(fx.job.result.retry_at_ms, fx.now + 120000);
	ck_assert_str_eq(fx.job.result.error, "HTTP 429: Resource level "
	    "throttle limit for calls to this resource is reached. "
	    "(serviceErrorCode 101)");
}
END_TEST

/* No Retry-After (LinkedIn documents none): the daily limit resets at
 * midnight UTC. */
START_TEST(rate_limited_daily)
{
	int64_t midnight;

	ck_assert_int_eq(timefmt_parse_rfc3339("2025-08-15T00:00:00Z",
	    &midnight), 0);
	respond(POSTS "0", 429, "{\"message\":\"Resource level throttle "
	    "APPLICATION DAY limit for calls to this resource is reached.\","
	    "\"status\":429}", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RATE_LIMITED);
	ck_assert_int_eq(fx.job.result.retry_at_ms, midnight);
	ck_assert_int_eq(fx.job.result.rl.remaining, 0);
	ck_assert_int_eq(fx.job.result.rl.reset_ms, midnight);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error, "APPLICATION DAY"));
}
END_TEST

START_TEST(server_error_500)
{
	respond(POSTS "0", 200, example_posts, NULL);
	respond(COMMENTS1, 500, "{\"message\":\"Internal Server Error\","
	    "\"status\":500}", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
	ck_assert_str_eq(fx.job.result.error,
	    "HTTP 500: Internal Server Error");
	ck_assert_uint_eq(fx.job.nstored, 0);
}
END_TEST

START_TEST(transport_error)
{
	respond_error(NOTIFS, HTTP_E_TIMEOUT);
	start(1, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
	ck_assert_str_eq(fx.job.result.error, "Operation timed out");
}
END_TEST

START_TEST(truncated_body)
{
	respond(POSTS "0", 200, "{\"paging\":{\"start\":0},\"elements\":[{\"id",
	    NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error, "truncated"));
}
END_TEST

START_TEST(not_json_body)
{
	respond(NOTIFS, 200, "<html><body>Maintenance</body></html>", NULL);
	start(1, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
}
END_TEST

/* A 400 (a version LinkedIn no longer serves, say) is bad data, in
 * LinkedIn's words. */
START_TEST(version_refused)
{
	respond(POSTS "0", 426, "{\"status\":426,\"code\":"
	    "\"NONEXISTENT_VERSION\",\"message\":\"Requested version 20240101 "
	    "is not active\"}", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_str_eq(fx.job.result.error, "HTTP 426: Requested version "
	    "20240101 is not active");
}
END_TEST

/* What is wrong with elements[1] of a page, and how it is named. */
static const struct {
	int		 stream;	/* 0: a comments page, 1: mentions */
	const char	*field;		/* "a.b" in elements[1] */
	const char	*json;		/* the value; NULL: removed */
	const char	*error;		/* a prefix of the error */
} bad_cases[] = {
	{ 0, "created.time", "\"1755163867000\"",
	  "comments.elements[1].created.time: expected a number, got a "
	  "string" },
	{ 0, "created.time", "946684799999",
	  "comments.elements[1].created.time: 9.46685e+11 is not an integer" },
	{ 0, "created.time", "1755252000001",
	  "comments.elements[1].created.time: 1.75525e+12 is not an integer" },
	{ 0, "created.time", "1755163867000.5",
	  "comments.elements[1].created.time: " },
	{ 0, "created", NULL, "comments.elements[1].created: is missing" },
	{ 0, "actor", NULL, "comments.elements[1].actor: is missing" },
	{ 0, "actor", "42", "comments.elements[1].actor: expected a string" },
	{ 0, "actor", "\"dana\"", "comments.elements[1].actor: \"dana\" is "
	  "not a URN" },
	{ 0, "commentUrn", "[]", "comments.elements[1].commentUrn: expected "
	  "a string" },
	{ 0, "parentComment", "{}", "comments.elements[1].parentComment: "
	  "expected a string" },
	{ 0, "message", "\"hi\"", "comments.elements[1].message: expected "
	  "an object" },
	{ 0, "message.text", "7", "comments.elements[1].message.text: "
	  "expected a string" },
	{ 0, "message.text", "\"caf\xc3\"", "comments.elements[1].message."
	  "text: invalid UTF-8" },
	{ 0, "commentsSummary", "3", "comments.elements[1].commentsSummary: "
	  "expected an object" },
	{ 1, "lastModifiedAt", "\"yesterday\"",
	  "notifications.elements[1].lastModifiedAt: expected a number" },
	{ 1, "lastModifiedAt", NULL,
	  "notifications.elements[1].lastModifiedAt: is missing" },
	{ 1, "action", "null", "notifications.elements[1].action: is "
	  "missing" },
	{ 1, "sourcePost", "5", "notifications.elements[1].sourcePost: "
	  "expected a string" },
};

static cJSON *
bad_doc(size_t c)
{
	cJSON *doc, *o, *v;
	char *path = xstrdup(bad_cases[c].field), *dot, *name = path;

	if (bad_cases[c].stream == 0)
		doc = cJSON_Parse(example_comments);
	else
		doc = cJSON_Parse(example_notifs);
	o = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "elements"), 1);
	if (bad_cases[c].stream == 0)
		cJSON_DeleteItemFromObject(o, "$URN");
	while ((dot = strchr(name, '.')) != NULL) {
		*dot = '\0';
		o = cJSON_GetObjectItemCaseSensitive(o, name);
		name = dot + 1;
	}
	if (bad_cases[c].json == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(o, name);
	else {
		v = cJSON_Parse(bad_cases[c].json);
		ck_assert_ptr_nonnull(v);
		if (cJSON_GetObjectItemCaseSensitive(o, name) != NULL)
			cJSON_ReplaceItemInObjectCaseSensitive(o, name, v);
		else
			cJSON_AddItemToObject(o, name, v);
	}
	free(path);
	return doc;
}

/* A bad element: the poll fails naming the field; nothing is stored. */
START_TEST(bad_data)
{
	size_t i = (size_t)_i;

	if (bad_cases[i].stream == 0) {
		respond(POSTS "0", 200, example_posts, NULL);
		respond_json(COMMENTS1, 200, bad_doc(i), NULL);
	} else
		respond_json(NOTIFS, 200, bad_doc(i), NULL);
	start(bad_cases[i].stream, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_msg(strncmp(fx.job.result.error, bad_cases[i].error,
	    strlen(bad_cases[i].error)) == 0, "error \"%s\", want \"%s…\"",
	    fx.job.result.error, bad_cases[i].error);
	ck_assert_ptr_null(fx.job.result.cursor);
	ck_assert_uint_eq(fx.job.nstored, 0);
	ck_assert_uint_eq(fx.job.ncommits, 0);
}
END_TEST

static const struct {
	const char	*body;
	const char	*error;
} bad_lists[] = {
	{ "[]", "posts: expected an object, got an array" },
	{ "{\"paging\":{}}", "posts.elements: is missing" },
	{ "{\"elements\":{}}", "posts.elements: expected an array" },
	{ "{\"elements\":[3]}", "posts.elements[0]: expected an object" },
	{ "{\"elements\":[{\"id\":7}]}", "posts.elements[0].id: expected a "
	  "string" },
	{ "{\"elements\":[{\"id\":\"urn:li:share:1\",\"createdAt\":\"x\"}]}",
	  "posts.elements[0].createdAt: expected a number" },
	{ "{\"paging\":[],\"elements\":[]}", "posts.paging: expected an "
	  "object" },
	{ "{\"paging\":{\"total\":-1},\"elements\":[]}",
	  "posts.paging.total: " },
};

START_TEST(bad_posts)
{
	size_t i = (size_t)_i;

	respond(POSTS "0", 200, bad_lists[i].body, NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_msg(strncmp(fx.job.result.error, bad_lists[i].error,
	    strlen(bad_lists[i].error)) == 0, "error \"%s\", want \"%s…\"",
	    fx.job.result.error, bad_lists[i].error);
}
END_TEST

START_TEST(add_refused)
{
	respond(POSTS "0", 200, example_posts, NULL);
	respond(COMMENTS1, 200, example_comments, NULL);
	fx.job.reject_id = NULL;
	start(0, NULL);
	fx.job.reject_id = C200;
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_str_eq(fx.job.result.error, "message " C200 " refused");
	ck_assert_uint_eq(fx.job.nstored, 0);
}
END_TEST

START_TEST(cancel_paging)
{
	respond(POSTS "0", 200, example_posts, NULL);
	start(0, NULL);
	ck_assert_int_eq(deliver(), 1);
	ck_assert_uint_eq(http_running(fake_http), 1);
	connector_linkedin.cancel(fx.conn, &fx.job);
	ck_assert_int_eq(fx.job.ndone, 1);
	ck_assert_int_eq(fx.job.result.status, POLL_CANCELLED);
	ck_assert_uint_eq(http_running(fake_http), 0);
	ck_assert_uint_eq(fake_http->ncancelled, 1);
	ck_assert_uint_eq(fx.job.nstored, 0);
}
END_TEST

/* ---- setup ------------------------------------------------------------------------ */

static const struct {
	const char	*url;
	const char	*platform_id;
	const char	*api_version;
	const char	*secret;
	const char	*error;		/* a prefix */
} refusals[] = {
	{ NULL, NULL, NULL, TOKEN, "platform_id is required" },
	{ NULL, "acme", NULL, TOKEN, "platform_id: \"acme\" is not" },
	{ NULL, "urn:li:person:12", NULL, TOKEN, "platform_id: " },
	{ NULL, "12a", NULL, TOKEN, "platform_id: " },
	{ NULL, "12", "2024-11", TOKEN, "api_version: \"2024-11\"" },
	{ NULL, "12", "202413", TOKEN, "api_version: " },
	{ NULL, "12", "v21.0", TOKEN, "api_version: " },
	{ NULL, "12", "202411.1", TOKEN, "api_version: " },
	{ "http://api.linkedin.com", "12", NULL, TOKEN, "url: " },
	{ BASE "/rest?x=1", "12", NULL, TOKEN, "url: " },
	{ NULL, "12", NULL, NULL, "an access token is required" },
	{ NULL, "12", NULL, "two words", "the access token contains" },
};

START_TEST(new_refuses)
{
	struct conf_account a = { 0 };
	struct connector_env env = { 0 };
	size_t i = (size_t)_i;
	char *err = NULL;

	a.name = "x";
	a.url = (char *)refusals[i].url;
	a.platform_id = (char *)refusals[i].platform_id;
	a.api_version = (char *)refusals[i].api_version;
	env.account = &a;
	env.secret = refusals[i].secret;
	env.http = fake_http;
	ck_assert_ptr_null(connector_linkedin.new(&env, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strncmp(err, refusals[i].error,
	    strlen(refusals[i].error)) == 0, "error \"%s\"", err);
	free(err);
}
END_TEST

/* The URN form of the id, a version and a local URL of one's own: the
 * requests say so. */
START_TEST(new_accepts)
{
	char *err = NULL;

	connector_linkedin.free(fx.conn);
	fx.account.platform_id = ORG;
	fx.account.api_version = "202411";
	fx.account.url = "http://127.0.0.1:8080/";
	fx.conn = connector_linkedin.new(&fx.env, &err);
	ck_assert_msg(fx.conn != NULL, "new: %s", err);
	respond(NOTIFS + strlen(BASE), 200, "{\"elements\":[]}", NULL);
	start(1, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_ptr_nonnull(strstr(fake_http->reqs[0].url,
	    "http://127.0.0.1:8080/rest/organizationalEntityNotifications?"));
	fx.account.api_version = "202411.01";
	connector_linkedin.free(fx.conn);
	fx.conn = connector_linkedin.new(&fx.env, &err);
	ck_assert_msg(fx.conn != NULL, "new: %s", err);
}
END_TEST

static Suite *
linkedin_suite(void)
{
	Suite *s = suite_create("linkedin");
	TCase *tc;

	tc = tcase_create("mapping");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, comments_example);
	tcase_add_test(tc, comments_other_shape);
	tcase_add_test(tc, comments_incremental);
	tcase_add_test(tc, comments_nothing_new);
	tcase_add_test(tc, comments_backfill);
	tcase_add_test(tc, mentions_example);
	tcase_add_test(tc, mentions_range);
	suite_add_tcase(s, tc);

	tc = tcase_create("paging");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, posts_paging);
	tcase_add_test(tc, comments_paging);
	tcase_add_test(tc, comments_server_count);
	tcase_add_test(tc, mentions_paging);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, auth_401);
	tcase_add_test(tc, auth_403_later);
	tcase_add_test(tc, rate_limited_retry_after);
	tcase_add_test(tc, rate_limited_daily);
	tcase_add_test(tc, server_error_500);
	tcase_add_test(tc, transport_error);
	tcase_add_test(tc, truncated_body);
	tcase_add_test(tc, not_json_body);
	tcase_add_test(tc, version_refused);
	tcase_add_loop_test(tc, bad_data, 0, (int)NELEM(bad_cases));
	tcase_add_loop_test(tc, bad_posts, 0, (int)NELEM(bad_lists));
	tcase_add_test(tc, add_refused);
	tcase_add_test(tc, cancel_paging);
	suite_add_tcase(s, tc);

	tc = tcase_create("setup");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, new_refuses, 0, (int)NELEM(refusals));
	tcase_add_test(tc, new_accepts);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init("check-linkedin", getenv("REPLYWATCH_DEBUG") != NULL ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	sr = srunner_create(linkedin_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
