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

#include "connector-lib.h"
#include "connector.h"
#include "graph.h"
#include "http.h"
#include "log.h"
#include "msg.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * The Facebook and Instagram connectors (connectors/graph.c) against a
 * fake HTTP client and a fake poll job (connector-lib.h).
 *
 * The client answers from canned responses, matched by a piece of the
 * URL, and only when the test calls deliver(): never from inside
 * http_start, as the real client never does either. The job records what
 * it is handed, what is committed with which cursor, and how the poll
 * ended.
 */

extern const struct connector_def connector_facebook;
extern const struct connector_def connector_instagram;

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define BASE		"https://graph.facebook.com"
#define V		BASE "/v21.0"
#define TOKEN		"EAAG+s3cret/t0ken"
#define TOKEN_Q		"access_token=EAAG%2Bs3cret%2Ft0ken"
#define PAGE		"111222333444555"
#define IG		"17841405309211844"
#define NOW_S		"2026-08-14T10:00:00Z"
#define HOUR		(INT64_C(3600) * 1000)
#define MINUTE		(INT64_C(60) * 1000)
#define INTERVAL	(60 * 1000)
#define CONVS		V "/" PAGE "/conversations?platform=messenger" \
			    "&fields=id,updated_time&limit=25"
#define MSGS		"fields=id,created_time,from,to,message&limit=50"
#define FEED		V "/" PAGE "/feed?fields=id,created_time,from,message," \
			    "permalink_url,updated_time&limit=25"
#define COMMENTS_Q	"filter=stream&order=reverse_chronological&fields=id," \
			    "created_time,from,message,parent%7Bid%7D,permalink_url" \
			    "&limit=100"
#define TAGGED		V "/" PAGE "/tagged?fields=id,created_time,from," \
			    "message,permalink_url&limit=25"
#define MEDIA		V "/" IG "/media?fields=id,timestamp,caption," \
			    "comments_count,permalink&limit=25"
#define TAGS		V "/" IG "/tags?fields=id,timestamp,caption,username," \
			    "permalink&limit=25"
#define IGDM		V "/" PAGE "/conversations?platform=instagram" \
			    "&fields=id,updated_time&limit=25"

/* ---- the fake HTTP client and poll job (connector-lib.h) ----------------- */

/*
 * The token, once, at the end, and only to the configured server; no
 * Authorization header. What is recorded is the URL without the token.
 */
static char *
check_start(const struct http_request *req, void *ctx)
{
	const char *tok;
	size_t i;

	tok = strstr(req->url, "access_token=");
	ck_assert_msg(tok != NULL, "no token in %s", req->url);
	ck_assert_msg(strstr(tok + 1, "access_token=") == NULL, "two tokens");
	ck_assert_str_eq(tok, TOKEN_Q);
	ck_assert_msg(tok[-1] == '&' || tok[-1] == '?', "%s", req->url);
	ck_assert_msg(strncmp(req->url, BASE, strlen(BASE)) == 0 ||
	    strncmp(req->url, "http://127.0.0.1:", 17) == 0, "token to %s",
	    req->url);
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		ck_assert_msg(strncasecmp(req->headers[i], "Authorization:",
		    14) != 0, "an Authorization header");
	return xstrndup(req->url, (size_t)(tok - req->url) - 1);
}

/* Every request asks for JSON. */
static void
check_request(const struct fake_request *q, void *ctx)
{
	ck_assert_uint_ge(fake_request_count(q, "Accept: application/json"), 1);
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
	const struct connector_def *def;
	void		*conn;
	struct poll_job	 job;
	int64_t		 now;
} fx;

/* ---- fixture and helpers ------------------------------------------------- */

static void
connect_as(const struct connector_def *def)
{
	char *err = NULL;

	if (fx.conn != NULL)
		fx.def->free(fx.conn);
	fx.def = def;
	fx.conn = def->new(&fx.env, &err);
	ck_assert_msg(fx.conn != NULL, "new: %s", err);
}

static void
setup(void)
{
	memset(&fx, 0, sizeof fx);
	ck_assert_int_eq(timefmt_parse_rfc3339(NOW_S, &fx.now), 0);
	fake_http = fake_http_new(&http_rules);
	fx.account.name = "acme";
	fx.account.connector = "facebook";
	fx.account.platform_id = PAGE;
	fx.account.poll_interval_ms = INTERVAL;
	fx.env.account = &fx.account;
	fx.env.secret = TOKEN;
	fx.env.http = fake_http;
	connect_as(&connector_facebook);
}

/* The Instagram account, its page for direct messages. */
static void
setup_ig(void)
{
	setup();
	fx.account.connector = "instagram";
	fx.account.platform_id = IG;
	fx.account.page_id = PAGE;
	connect_as(&connector_instagram);
}

static void
teardown(void)
{
	fake_job_clear(&fx.job);
	fx.def->free(fx.conn);
	fake_http_free(fake_http);
	fake_http = NULL;
}

/* Start a poll of a stream (by its index). */
static void
start(int stream, const char *cursor)
{
	fake_job_clear(&fx.job);
	fake_job_init(&fx.job, stream, cursor, fx.now);
	fx.def->poll(fx.conn, &fx.job);
	ck_assert_int_eq(fx.job.ndone, 0);	/* nothing synchronous */
}

/* Deliver until the poll ends; then nothing may be left in flight. */
static void
run(void)
{
	fake_job_run(&fx.job, fake_http, 500);
}

/* A body written with ' for " (no text here has an apostrophe). */
static void
respondq_v(const char *pattern, long status, const char *q, va_list ap)
{
	char *body = xstrdup(q), *p, *h[4] = { NULL };
	size_t n = 0;
	const char *s;

	for (p = body; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	while ((s = va_arg(ap, const char *)) != NULL) {
		ck_assert_uint_lt(n, NELEM(h));
		h[n] = xstrdup(s);
		for (p = h[n]; *p != '\0'; p++)
			if (*p == '\'')
				*p = '"';
		n++;
	}
	respond(pattern, status, body, h[0], h[1], h[2], h[3], NULL);
	free(body);
	while (n-- > 0)
		free(h[n]);
}

static void
respondq(const char *pattern, long status, const char *q, ...)
{
	va_list ap;

	va_start(ap, q);
	respondq_v(pattern, status, q, ap);
	va_end(ap);
}

static int64_t
at(const char *s)
{
	int64_t ms;

	ck_assert_int_eq(graph_time_parse(s, &ms), 0);
	return ms;
}

static const struct msg *
stored(const char *id)
{
	return fake_job_stored(&fx.job, id);
}

static int
is_stored(const char *id)
{
	size_t i;

	for (i = 0; i < fx.job.nstored; i++)
		if (strcmp(fx.job.stored[i].id, id) == 0)
			return 1;
	return 0;
}

static void
assert_url(size_t i, const char *url)
{
	fake_http_assert_url(fake_http, i, url);
}

static void
assert_msg(const char *id, const char *conv, enum msg_kind kind,
    enum msg_direction dir, const char *created, const char *author,
    const char *in_reply_to, const char *text)
{
	const struct msg *m = stored(id);

	ck_assert_str_eq(m->conversation, conv);
	ck_assert_int_eq(m->kind, kind);
	ck_assert_int_eq(m->direction, dir);
	ck_assert_int_eq(m->created_ms, at(created));
	if (author == NULL)
		ck_assert_ptr_null(m->author);
	else
		ck_assert_str_eq(m->author, author);
	if (in_reply_to == NULL)
		ck_assert_ptr_null(m->in_reply_to);
	else
		ck_assert_str_eq(m->in_reply_to, in_reply_to);
	if (text == NULL)
		ck_assert_ptr_null(m->text);
	else
		ck_assert_str_eq(m->text, text);
}

/* The reference's conversation (platform-apis.md §2.5), its messages. */
static const char example_convs[] =
    "{'data':[{'id':'t_10223344556677889','updated_time':"
    "'2026-08-14T09:40:05+0000','message_count':3,'unread_count':0}],"
    "'paging':{'cursors':{'before':'QVFIUjRt','after':'QVFIUkhK'}}}";
static const char example_msgs[] =
    "{'data':[{'id':'m_Zx3y','created_time':'2026-08-14T09:40:05+0000',"
    "'from':{'name':'Acme','email':'111222333444555@facebook.com','id':"
    "'111222333444555'},'to':{'data':[{'name':'Dana K','id':"
    "'6543210987654321'}]},'message':'Hi Dana, could you share the email "
    "on the order?'},{'id':'m_Ab1c','created_time':"
    "'2026-08-14T09:38:33+0000','from':{'name':'Dana K','email':"
    "'6543210987654321@facebook.com','id':'6543210987654321'},'to':{'data':"
    "[{'name':'Acme','id':'111222333444555'}]},'message':'Order 4411, still "
    "nothing'}],'paging':{'cursors':{'before':'MTAx','after':'NDMy'}}}";

/* ---- times and usage ----------------------------------------------------- */

START_TEST(times)
{
	int64_t ms;

	ck_assert_int_eq(graph_time_parse("2026-08-14T09:31:07+0000", &ms), 0);
	ck_assert_int_eq(ms, INT64_C(1786699867000));
	ck_assert_int_eq(graph_time_parse("2026-08-14T11:31:07+0200", &ms), 0);
	ck_assert_int_eq(ms, INT64_C(1786699867000));
	ck_assert_int_eq(graph_time_parse("2026-08-14T09:31:07Z", &ms), 0);
	ck_assert_int_eq(ms, INT64_C(1786699867000));
	ck_assert_int_eq(graph_time_parse("2026-08-14T09:31:07+00:00", &ms),
	    0);
	ck_assert_int_eq(graph_time_parse("1786699867", &ms), 0);
	ck_assert_int_eq(ms, INT64_C(1786699867000));
	ck_assert_int_eq(graph_time_parse("2026-08-14T09:31:07+000", &ms), -1);
	ck_assert_int_eq(graph_time_parse("yesterday", &ms), -1);
	ck_assert_int_eq(graph_time_parse("", &ms), -1);
	ck_assert_int_eq(graph_time_parse("123456789012345", &ms), -1);
}
END_TEST

static struct http_header usage_h[4];

static void
usage_of(const char *app, const char *biz, const char *page,
    struct graph_usage *u)
{
	struct http_response r;
	size_t n = 0;

	memset(&r, 0, sizeof r);
	if (app != NULL) {
		usage_h[n].name = "X-App-Usage";
		usage_h[n++].value = (char *)app;
	}
	if (biz != NULL) {
		usage_h[n].name = "x-business-use-case-usage";
		usage_h[n++].value = (char *)biz;
	}
	if (page != NULL) {
		usage_h[n].name = "X-Page-Usage";
		usage_h[n++].value = (char *)page;
	}
	r.headers = usage_h;
	r.nheaders = n;
	r.body = "";
	u->pct = -1;
	u->regain_ms = 0;
	graph_usage_read(&r, u);
}

START_TEST(usage)
{
	struct graph_usage u;

	usage_of(NULL, NULL, NULL, &u);
	ck_assert_int_eq(u.pct, -1);
	ck_assert_int_eq(graph_usage_delay(&u, INTERVAL), 0);
	usage_of("{\"call_count\":28,\"total_time\":25,\"total_cputime\":25}",
	    NULL, NULL, &u);
	ck_assert_int_eq(u.pct, 28);
	ck_assert_int_eq(graph_usage_delay(&u, INTERVAL), 0);
	usage_of("{\"call_count\":28}", NULL,
	    "{\"call_count\":3,\"total_cputime\":76}", &u);
	ck_assert_int_eq(u.pct, 76);
	ck_assert_int_eq(graph_usage_delay(&u, INTERVAL), 2 * INTERVAL);
	usage_of(NULL, "{\"111222333444555\":[{\"type\":\"pages\","
	    "\"call_count\":90,\"total_cputime\":20,\"total_time\":20,"
	    "\"estimated_time_to_regain_access\":0}]}", NULL, &u);
	ck_assert_int_eq(u.pct, 90);
	ck_assert_int_eq(u.regain_ms, 0);
	ck_assert_int_eq(graph_usage_delay(&u, INTERVAL), 5 * INTERVAL);
	usage_of(NULL, "{\"1\":[{\"type\":\"instagram\",\"call_count\":20},"
	    "{\"type\":\"pages\",\"call_count\":99,"
	    "\"estimated_time_to_regain_access\":30}]}", NULL, &u);
	ck_assert_int_eq(u.pct, 99);
	ck_assert_int_eq(u.regain_ms, 30 * MINUTE);
	ck_assert_int_eq(graph_usage_delay(&u, INTERVAL), 30 * MINUTE);
	/* at 95 % and no time said: a long pause */
	usage_of("{\"call_count\":100}", NULL, NULL, &u);
	ck_assert_int_eq(graph_usage_delay(&u, INTERVAL), GRAPH_PAUSE_MS);
	/* junk is no usage, and no failure */
	usage_of("{call_count:", "[1,2]", "\"x\"", &u);
	ck_assert_int_le(u.pct, 0);
	ck_assert_int_eq(graph_usage_delay(&u, INTERVAL), 0);
}
END_TEST

/* ---- Facebook: mapping --------------------------------------------------- */

START_TEST(fb_conversations)
{
	respondq(CONVS, 200, example_convs, NULL);
	respondq(V "/t_10223344556677889/messages?" MSGS, 200, example_msgs,
	    NULL);
	start(0, "2026-08-14T09:00:00Z");
	run();
	ck_assert_uint_eq(fake_http->nreqs, 2);
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:40:05Z");
	ck_assert_int_eq(fx.job.result.retry_at_ms, -1);
	ck_assert_int_eq(fx.job.result.rl.limit, -1);
	ck_assert_uint_eq(fx.job.nstored, 2);
	assert_msg("m_Ab1c", "t_10223344556677889", MSG_DIRECT, MSG_INBOUND,
	    "2026-08-14T09:38:33Z", "6543210987654321", NULL,
	    "Order 4411, still nothing");
	assert_msg("m_Zx3y", "t_10223344556677889", MSG_DIRECT, MSG_OUTBOUND,
	    "2026-08-14T09:40:05Z", PAGE, NULL,
	    "Hi Dana, could you share the email on the order?");
}
END_TEST

/* Conversations older than the watermark end the list; their messages
 * are not read, and messages older than it are not handed over. */
START_TEST(fb_conversations_watermark)
{
	respondq(CONVS, 200,
	    "{'data':[{'id':'t_2','updated_time':'2026-08-14T09:30:00+0000'},"
	    "{'id':'t_1','updated_time':'2026-08-14T08:00:00+0000'}],"
	    "'paging':{'next':'" CONVS "&after=AAA'}}", NULL);
	respondq(V "/t_2/messages?" MSGS, 200,
	    "{'data':[{'id':'m_3','created_time':'2026-08-14T09:30:00+0000',"
	    "'from':{'id':'42'},'message':'new'},{'id':'m_2','created_time':"
	    "'2026-08-14T08:59:59+0000','from':{'id':'42'},'message':'old'}],"
	    "'paging':{'next':'" V "/t_2/messages?" MSGS "&after=BBB'}}",
	    NULL);
	start(0, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 2);
	ck_assert_uint_eq(fx.job.nstored, 1);
	ck_assert(is_stored("m_3"));
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:30:00Z");
}
END_TEST

/* Nothing new: the cursor stays. An empty first poll starts from the
 * backfill horizon. */
START_TEST(fb_empty)
{
	respondq(CONVS, 200, "{'data':[]}", NULL);
	start(0, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_ptr_null(fx.job.result.cursor);
	ck_assert_uint_eq(fx.job.nstored, 0);

	respondq(CONVS, 200, "{'data':[],'paging':{}}", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-13T10:00:00Z");
}
END_TEST

/*
 * The feed: the page's post (outbound) and a visitor's post (inbound);
 * comments of the posts updated since the watermark, with since=, a reply
 * in_reply_to its parent, a top comment to the post.
 */
START_TEST(fb_comments)
{
	respondq(FEED, 200,
	    "{'data':[{'id':'" PAGE "_9001','created_time':"
	    "'2026-08-14T08:00:00+0000','updated_time':'2026-08-14T09:36:57+0000',"
	    "'message':'Summer sale starts today!','from':{'name':'Acme','id':'"
	    PAGE "'},'permalink_url':'https://www.facebook.com/" PAGE
	    "/posts/9001'},"
	    "{'id':'" PAGE "_9000','created_time':'2026-08-13T08:00:00+0000',"
	    "'updated_time':'2026-08-13T09:00:00+0000','message':'Old post',"
	    "'from':{'id':'" PAGE "'}},"
	    "{'id':'" PAGE "_8999','created_time':'2026-08-14T09:10:00+0000',"
	    "'updated_time':'2026-08-14T09:10:00+0000','message':'Where is my "
	    "refund?','from':{'name':'Erin','id':'777'}}],"
	    "'paging':{'previous':'" FEED "&since=1&__previous=1'}}", NULL);
	respondq(V "/" PAGE "_9001/comments?" COMMENTS_Q "&since=1786698000",
	    200,
	    "{'data':[{'id':'9001_2','created_time':'2026-08-14T09:36:57+0000',"
	    "'from':{'name':'Acme','id':'" PAGE "'},'message':'Sorry Dana! We"
	    " messaged you.','parent':{'id':'9001_1'}},"
	    "{'id':'9001_1','created_time':'2026-08-14T09:31:07+0000',"
	    "'from':{'name':'Dana K','id':'6543210987654321'},'message':"
	    "'my order never arrived','comment_count':1,'is_hidden':false}],"
	    "'paging':{'cursors':{'before':'WTI5','after':'WTI6'}}}", NULL);
	respondq(V "/" PAGE "_8999/comments?", 200,
	    "{'data':[{'id':'8999_1','created_time':'2026-08-14T09:20:00+0000',"
	    "'message':'Same here'}]}", NULL);
	start(1, "2026-08-14T09:00:01Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:36:57Z");
	ck_assert_uint_eq(fx.job.nstored, 4);
	ck_assert(!is_stored(PAGE "_9001"));	/* older than the watermark */
	ck_assert(!is_stored(PAGE "_9000"));
	assert_msg(PAGE "_8999", PAGE "_8999", MSG_BROADCAST, MSG_INBOUND,
	    "2026-08-14T09:10:00Z", "777", NULL, "Where is my refund?");
	assert_msg("9001_1", PAGE "_9001", MSG_BROADCAST, MSG_INBOUND,
	    "2026-08-14T09:31:07Z", "6543210987654321", PAGE "_9001",
	    "my order never arrived");
	assert_msg("9001_2", PAGE "_9001", MSG_BROADCAST, MSG_OUTBOUND,
	    "2026-08-14T09:36:57Z", PAGE, "9001_1",
	    "Sorry Dana! We messaged you.");
	/* a comment without from (not shared with the app) is inbound */
	assert_msg("8999_1", PAGE "_8999", MSG_BROADCAST, MSG_INBOUND,
	    "2026-08-14T09:20:00Z", NULL, PAGE "_8999", "Same here");
	ck_assert_ptr_null(stored(PAGE "_8999")->url);
}
END_TEST

START_TEST(fb_tagged)
{
	respondq(TAGGED, 200,
	    "{'data':[{'id':'555_1','created_time':'2026-08-14T09:50:00+0000',"
	    "'from':{'name':'Gus','id':'555'},'message':'@Acme thanks!',"
	    "'permalink_url':'https://www.facebook.com/555/posts/1'},"
	    "{'id':'555_0','created_time':'2026-08-14T07:00:00+0000',"
	    "'from':{'id':'555'}}],"
	    "'paging':{'next':'" TAGGED "&after=CCC'}}", NULL);
	start(2, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 1);
	ck_assert_uint_eq(fx.job.nstored, 1);
	assert_msg("555_1", "555_1", MSG_BROADCAST, MSG_INBOUND,
	    "2026-08-14T09:50:00Z", "555", NULL, "@Acme thanks!");
	ck_assert_str_eq(stored("555_1")->url,
	    "https://www.facebook.com/555/posts/1");
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:50:00Z");
}
END_TEST

/* ---- paging -------------------------------------------------------------- */

/* paging.next is followed, without the token it carries; ours is added. */
START_TEST(paging_next)
{
	respondq(CONVS, 200,
	    "{'data':[{'id':'t_3','updated_time':'2026-08-14T09:50:00+0000'}],"
	    "'paging':{'cursors':{'after':'AAA'},'next':'" V "/" PAGE
	    "/conversations?access_token=leaked&platform=messenger&limit=25"
	    "&after=AAA'}}", NULL);
	respondq(V "/" PAGE "/conversations?platform=messenger&limit=25&"
	    "after=AAA", 200,
	    "{'data':[{'id':'t_2','updated_time':'2026-08-14T09:40:00+0000'}],"
	    "'paging':{'cursors':{'after':'BBB'}}}", NULL);
	respondq(V "/t_3/messages?", 200,
	    "{'data':[{'id':'m_31','created_time':'2026-08-14T09:50:00+0000',"
	    "'from':{'id':'42'}}],'paging':{'next':'" V "/t_3/messages?"
	    MSGS "&after=M1'}}", NULL);
	respondq(V "/t_3/messages?" MSGS "&after=M1", 200,
	    "{'data':[{'id':'m_30','created_time':'2026-08-14T09:45:00+0000',"
	    "'from':{'id':'" PAGE "'},'message':'hi'}]}", NULL);
	respondq(V "/t_2/messages?", 200, "{'data':[]}", NULL);
	start(0, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 5);
	assert_url(1, V "/" PAGE "/conversations?platform=messenger&limit=25&"
	    "after=AAA");
	assert_url(3, V "/t_3/messages?" MSGS "&after=M1");
	ck_assert_uint_eq(fx.job.nstored, 2);
	/* a page at a time is committed (if it held anything), the cursor
	 * at the end */
	ck_assert_uint_ge(fx.job.ncommits, 2);
	ck_assert_str_eq(fx.job.commits[0], "(keep)");
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:50:00Z");
}
END_TEST

/* A paging.next to another server is not followed: the token stays
 * here. With cursors.after, the same request goes on from there. */
static const char *const foreign[] = {
	"https://evil.example/v21.0/" PAGE "/conversations?after=AAA",
	"http://graph.facebook.com/v21.0/x",
	"https://graph.facebook.com:8443/v21.0/x",
	"https://graph.facebook.com@evil.example/v21.0/x",
	"https://graph.facebook.com.evil.example/x",
};

START_TEST(paging_foreign)
{
	char body[512];

	snprintf(body, sizeof body,
	    "{'data':[{'id':'t_3','updated_time':'2026-08-14T09:50:00+0000'}],"
	    "'paging':{'cursors':{'after':'A+B'},'next':'%s'}}", foreign[_i]);
	respondq(CONVS, 200, body, NULL);
	respondq(CONVS "&after=A%2BB", 200, "{'data':[]}", NULL);
	respondq(V "/t_3/messages?", 200, "{'data':[]}", NULL);
	start(0, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);
	assert_url(1, CONVS "&after=A%2BB");
}
END_TEST

START_TEST(paging_foreign_no_cursor)
{
	respondq(TAGGED, 200,
	    "{'data':[{'id':'1','created_time':'2026-08-14T09:50:00+0000'}],"
	    "'paging':{'next':'https://evil.example/x'}}", NULL);
	start(2, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 1);
	ck_assert_uint_eq(fx.job.nstored, 1);
}
END_TEST

/* ---- caps: what a poll leaves, the next one reads ------------------------ */

/* 09:59:59 less k seconds, as Graph writes it. */
static const char *
stamp(int k)
{
	static char buf[8][TIMEFMT_RFC3339_LEN];
	static int n;
	char *b = buf[n++ % 8];

	timefmt_format_rfc3339(at("2026-08-14T09:59:59Z") - k * INT64_C(1000),
	    b, TIMEFMT_RFC3339_LEN);
	return b;
}

/* Count each stored id of the form prefix<k>, k < n, in seen[k]. */
static void
tally(const char *prefix, int *seen, int n)
{
	size_t i, len = strlen(prefix);
	int k;

	for (i = 0; i < fx.job.nstored; i++) {
		if (strncmp(fx.job.stored[i].id, prefix, len) != 0)
			continue;
		k = atoi(fx.job.stored[i].id + len);
		ck_assert_int_lt(k, n);
		seen[k]++;
	}
}

/* Deliver until the poll ends; a capped walk makes many requests. */
static void
run_long(void)
{
	fake_job_run(&fx.job, fake_http, 2000);
}

/* More than MAX_PAGES (50) pages of the list: the rest is read by the
 * next poll, from the page where the first one stopped. */
START_TEST(cap_list_pages)
{
	char url[256], next[256], body[512];
	char *cursor;
	int seen[51] = { 0 }, k;

	for (k = 0; k <= 50; k++) {
		snprintf(url, sizeof url, TAGGED "&after=P%03d", k);
		snprintf(next, sizeof next, ",'paging':{'next':'" TAGGED
		    "&after=P%03d'}", k + 1);
		snprintf(body, sizeof body, "{'data':[{'id':'tg_%d',"
		    "'created_time':'%s','from':{'id':'555'}}]%s}", k,
		    stamp(k), k < 50 ? next : "");
		respondq(k == 0 ? TAGGED : url, 200, body, NULL);
	}
	start(2, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 50);
	tally("tg_", seen, 51);
	ck_assert_uint_eq(fx.job.nstored, 50);
	/* since stays, the watermark waits, the list goes on at page 50 */
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:00:00Z "
	    "2026-08-14T09:59:59Z " TAGGED "&after=P050 - -");

	cursor = xstrdup(fx.job.result.cursor);
	start(2, cursor);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 51);
	assert_url(50, TAGGED "&after=P050");
	tally("tg_", seen, 51);
	for (k = 0; k <= 50; k++)
		ck_assert_msg(seen[k] == 1, "tg_%d stored %d times", k,
		    seen[k]);
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:59:59Z");
	free(cursor);
}
END_TEST

/* More than MAX_PARENTS (500) conversations: the list page that would
 * pass the cap is left whole for the next poll. */
START_TEST(cap_parents)
{
	char url[256], next[256], item[128], *body;
	char *cursor;
	size_t len;
	int seen[502] = { 0 }, k, pg;

	for (pg = 0; pg <= 20; pg++) {
		body = xstrdup("{'data':[");
		for (k = pg * 25; k < 502 && k < pg * 25 + 25; k++) {
			snprintf(item, sizeof item, "%s{'id':'t_%d',"
			    "'updated_time':'%s'}", k == pg * 25 ? "" : ",",
			    k, stamp(k));
			len = strlen(body);
			body = xreallocarray(body, len + strlen(item) + 1, 1);
			memcpy(body + len, item, strlen(item) + 1);
		}
		snprintf(next, sizeof next, "],'paging':{'next':'" CONVS
		    "&after=C%03d'}}", pg + 1);
		len = strlen(body);
		body = xreallocarray(body, len + strlen(next) + 1, 1);
		memcpy(body + len, pg < 20 ? next : "]}", pg < 20 ?
		    strlen(next) + 1 : 3);
		snprintf(url, sizeof url, CONVS "&after=C%03d", pg);
		respondq(pg == 0 ? CONVS : url, 200, body, NULL);
		if (pg == 20)	/* fetched, left, fetched again */
			respondq(url, 200, body, NULL);
		free(body);
	}
	for (k = 0; k < 502; k++) {
		snprintf(url, sizeof url, V "/t_%d/messages?", k);
		if (k == 0 || k >= 499) {
			snprintf(item, sizeof item, "{'data':[{'id':'m_%d',"
			    "'created_time':'%s','from':{'id':'42'}}]}", k,
			    stamp(k));
			respondq(url, 200, item, NULL);
		} else
			respondq(url, 200, "{'data':[]}", NULL);
	}
	start(0, "2026-08-14T09:00:00Z");
	run_long();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	/* 21 list pages, the last one left; 500 conversations */
	ck_assert_uint_eq(fake_http->nreqs, 521);
	tally("m_", seen, 502);
	ck_assert_uint_eq(fx.job.nstored, 2);	/* m_0, m_499 */
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:00:00Z "
	    "2026-08-14T09:59:59Z " CONVS "&after=C020 - -");

	cursor = xstrdup(fx.job.result.cursor);
	start(0, cursor);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 524);
	assert_url(521, CONVS "&after=C020");
	assert_url(522, V "/t_500/messages?" MSGS);
	assert_url(523, V "/t_501/messages?" MSGS);
	tally("m_", seen, 502);
	for (k = 0; k < 502; k++)
		ck_assert_msg(seen[k] == (k == 0 || k >= 499), "m_%d stored "
		    "%d times", k, seen[k]);
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:59:59Z");
	free(cursor);
}
END_TEST

/* More than MAX_CHILD_PAGES (20) pages of one conversation: the walk
 * stops there; the next poll reads on in it, then the conversations
 * after it in the list. */
START_TEST(cap_child_pages)
{
	char url[256], next[256], body[512];
	char *cursor;
	int seen[21] = { 0 }, k;
	static const char convs[] =
	    "{'data':[{'id':'t_1','updated_time':'2026-08-14T09:59:59+0000'},"
	    "{'id':'t_2','updated_time':'2026-08-14T09:58:00+0000'}]}";

	respondq(CONVS, 200, convs, NULL);
	respondq(CONVS, 200, convs, NULL);
	for (k = 0; k <= 20; k++) {
		snprintf(url, sizeof url, V "/t_1/messages?" MSGS
		    "&after=M%03d", k);
		snprintf(next, sizeof next, ",'paging':{'next':'" V
		    "/t_1/messages?" MSGS "&after=M%03d'}", k + 1);
		snprintf(body, sizeof body, "{'data':[{'id':'m1_%d',"
		    "'created_time':'%s','from':{'id':'42'}}]%s}", k,
		    stamp(k), k < 20 ? next : "");
		respondq(k == 0 ? V "/t_1/messages?" : url, 200, body, NULL);
	}
	respondq(V "/t_2/messages?", 200, "{'data':[{'id':'m2_0',"
	    "'created_time':'2026-08-14T09:58:00+0000','from':{'id':'42'}}]}",
	    NULL);
	start(0, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 21);
	ck_assert(!is_stored("m2_0"));
	tally("m1_", seen, 21);
	ck_assert_uint_eq(fx.job.nstored, 20);
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:00:00Z "
	    "2026-08-14T09:59:59Z " CONVS " t_1 " V "/t_1/messages?" MSGS
	    "&after=M020");

	cursor = xstrdup(fx.job.result.cursor);
	start(0, cursor);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 24);
	assert_url(21, V "/t_1/messages?" MSGS "&after=M020");
	assert_url(22, CONVS);
	assert_url(23, V "/t_2/messages?" MSGS);
	tally("m1_", seen, 21);
	for (k = 0; k <= 20; k++)
		ck_assert_msg(seen[k] == 1, "m1_%d stored %d times", k,
		    seen[k]);
	ck_assert_uint_eq(fx.job.nstored, 2);
	ck_assert(is_stored("m2_0"));
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:59:59Z");
	free(cursor);
}
END_TEST

/* A resume cursor to another server, or cut short, is no cursor. */
START_TEST(cap_cursor_foreign)
{
	respondq(TAGGED, 200, "{'data':[]}", NULL);
	start(2, "2026-08-14T09:00:00Z 2026-08-14T09:59:59Z "
	    "https://evil.example/x - -");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	assert_url(0, TAGGED);
	/* from the backfill */
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-13T10:00:00Z");
	respondq(TAGGED, 200, "{'data':[]}", NULL);
	start(2, "2026-08-14T09:00:00Z 2026-08-14T09:59:59Z " TAGGED " -");
	run();
	assert_url(1, TAGGED);
}
END_TEST

/* ---- usage headers: slowing down ----------------------------------------- */

START_TEST(usage_stretches)
{
	respondq(TAGGED, 200, "{'data':[]}",
	    "X-App-Usage: {'call_count':90,'total_time':12,'total_cputime':3}",
	    NULL);
	start(2, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_int_eq(fx.job.result.retry_at_ms, fx.now + 5 * INTERVAL);
	ck_assert_int_eq(fx.job.result.rl.limit, 100);
	ck_assert_int_eq(fx.job.result.rl.remaining, 10);
	ck_assert_int_eq(fx.job.result.rl.reset_ms, -1);
}
END_TEST

/* At 95 % paging stops where it is (the cursor stays), and the next poll
 * waits as long as the platform says. */
START_TEST(usage_stops)
{
	respondq(CONVS, 200,
	    "{'data':[{'id':'t_3','updated_time':'2026-08-14T09:50:00+0000'}],"
	    "'paging':{'next':'" CONVS "&after=AAA'}}",
	    "X-Business-Use-Case-Usage: {'" PAGE "':[{'type':'pages',"
	    "'call_count':96,'total_cputime':10,'total_time':10,"
	    "'estimated_time_to_regain_access':20}]}", NULL);
	start(0, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 1);
	ck_assert_ptr_null(fx.job.result.cursor);
	ck_assert_int_eq(fx.job.result.retry_at_ms, fx.now + 20 * MINUTE);
	ck_assert_int_eq(fx.job.result.rl.remaining, 4);
	ck_assert_int_eq(fx.job.result.rl.reset_ms, fx.now + 20 * MINUTE);
}
END_TEST

/* ---- Graph errors -------------------------------------------------------- */

static const struct {
	long		 status;
	const char	*body;
	const char	*header;
	enum poll_status result;
	const char	*error;
	int64_t		 retry;		/* after now; -1: none */
} errors[] = {
	{ 400, "{'error':{'message':'Error validating access token: Session "
	    "has expired on Thursday, 14-Aug-26 09:00:00 PDT.','type':"
	    "'OAuthException','code':190,'error_subcode':463,'fbtrace_id':"
	    "'AbCd'}}", NULL, POLL_AUTH, "code 190/subcode 463: Error "
	    "validating access token: Session has expired on Thursday, "
	    "14-Aug-26 09:00:00 PDT.", -1 },
	{ 403, "{'error':{'message':'(#10) Requires pages_messaging "
	    "permission','type':'OAuthException','code':10}}", NULL,
	    POLL_AUTH, "code 10: (#10) Requires pages_messaging permission",
	    -1 },
	{ 400, "{'error':{'message':'(#230) Requires pages_messaging "
	    "permission','type':'OAuthException','code':230}}", NULL,
	    POLL_AUTH, "code 230: (#230) Requires pages_messaging permission",
	    -1 },
	{ 400, "{'error':{'message':'Session key invalid','code':102}}", NULL,
	    POLL_AUTH, "code 102: Session key invalid", -1 },
	{ 403, "{'error':{'message':'(#4) Application request limit "
	    "reached','type':'OAuthException','code':4,'is_transient':true}}",
	    NULL, POLL_RATE_LIMITED, "code 4: (#4) Application request limit "
	    "reached", GRAPH_PAUSE_MS },
	{ 400, "{'error':{'message':'(#17) User request limit reached',"
	    "'code':17,'error_subcode':2446079}}", NULL, POLL_RATE_LIMITED,
	    "code 17/subcode 2446079: (#17) User request limit reached",
	    GRAPH_PAUSE_MS },
	{ 400, "{'error':{'message':'(#32) Page request limit reached',"
	    "'code':32}}", "Retry-After: 120", POLL_RATE_LIMITED,
	    "code 32: (#32) Page request limit reached", 120 * 1000 },
	{ 400, "{'error':{'message':'(#613) Calls to this api have exceeded "
	    "the rate limit.','code':613}}", NULL, POLL_RATE_LIMITED,
	    "code 613: (#613) Calls to this api have exceeded the rate limit.",
	    GRAPH_PAUSE_MS },
	{ 400, "{'error':{'message':'(#80001) There have been too many calls "
	    "to this Page account.','code':80001}}",
	    "X-Business-Use-Case-Usage: {'1':[{'type':'pages','call_count':"
	    "100,'estimated_time_to_regain_access':7}]}", POLL_RATE_LIMITED,
	    "code 80001: (#80001) There have been too many calls to this Page "
	    "account.", 7 * MINUTE },
	{ 400, "{'error':{'message':'(#80002) Too many calls to this "
	    "Instagram account.','code':80002}}", NULL, POLL_RATE_LIMITED,
	    "code 80002: (#80002) Too many calls to this Instagram account.",
	    GRAPH_PAUSE_MS },
	{ 500, "{'error':{'message':'An unexpected error has occurred. Please "
	    "retry your request later.','type':'OAuthException','code':2,"
	    "'is_transient':true}}", NULL, POLL_RETRY, "code 2: An unexpected "
	    "error has occurred. Please retry your request later.", -1 },
	{ 400, "{'error':{'message':'(#100) Tried accessing nonexisting "
	    "field (conversations)','type':'OAuthException','code':100,"
	    "'error_subcode':33}}", NULL, POLL_BAD_DATA, "code 100/subcode 33: "
	    "(#100) Tried accessing nonexisting field (conversations)", -1 },
	{ 200, "{'error':{'message':'Error validating access token','code':"
	    "190}}", NULL, POLL_AUTH, "code 190: Error validating access "
	    "token", -1 },
	{ 502, "<html>Bad Gateway</html>", NULL, POLL_RETRY, "HTTP 502", -1 },
	{ 401, "", NULL, POLL_AUTH, "HTTP 401", -1 },
	{ 429, "slow down", "Retry-After: 30", POLL_RATE_LIMITED,
	    "HTTP 429: slow down", 30 * 1000 },
};

START_TEST(graph_errors)
{
	respondq(TAGGED, errors[_i].status, errors[_i].body,
	    errors[_i].header, NULL);
	start(2, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, errors[_i].result);
	ck_assert_str_eq(fx.job.result.error, errors[_i].error);
	ck_assert_int_eq(fx.job.result.retry_at_ms, errors[_i].retry == -1 ?
	    -1 : fx.now + errors[_i].retry);
	ck_assert_ptr_null(fx.job.result.cursor);
	ck_assert_uint_eq(fx.job.nstored, 0);
}
END_TEST

/* An error in the middle: the pages committed stay, the cursor too. */
START_TEST(expired_midway)
{
	respondq(CONVS, 200,
	    "{'data':[{'id':'t_2','updated_time':'2026-08-14T09:30:00+0000'},"
	    "{'id':'t_1','updated_time':'2026-08-14T09:20:00+0000'}]}", NULL);
	respondq(V "/t_2/messages?", 200,
	    "{'data':[{'id':'m_2','created_time':'2026-08-14T09:30:00+0000',"
	    "'from':{'id':'42'}}]}", NULL);
	respondq(V "/t_1/messages?", 400,
	    "{'error':{'message':'Error validating access token: The session "
	    "has been invalidated because the user changed their password.',"
	    "'type':'OAuthException','code':190,'error_subcode':460}}", NULL);
	start(0, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_AUTH);
	ck_assert_str_eq(fx.job.result.error, "code 190/subcode 460: Error "
	    "validating access token: The session has been invalidated "
	    "because the user changed their password.");
	ck_assert_uint_eq(fx.job.nstored, 1);
	ck_assert_ptr_null(fx.job.result.cursor);
}
END_TEST

START_TEST(transport)
{
	respond_error(TAGGED, HTTP_E_TIMEOUT);
	start(2, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
	ck_assert_str_eq(fx.job.result.error, "Operation timed out");
}
END_TEST

/* ---- bad data ------------------------------------------------------------ */

static const struct {
	int		 stream;
	const char	*list;
	const char	*child;		/* NULL: the list is bad */
	const char	*error;
} bad[] = {
	{ 2, "[]", NULL, "tagged: expected an object, got an array" },
	{ 2, "{'paging':{}}", NULL, "tagged.data: is missing" },
	{ 2, "{'data':{}}", NULL, "tagged.data: expected an array" },
	{ 2, "{'data':[{'created_time':'2026-08-14T09:50:00+0000'}]}", NULL,
	    "tagged.data[0].id: is missing" },
	{ 2, "{'data':[{'id':'1','created_time':'2026-08-14T09:50:00+0000'},"
	    "{'id':2,'created_time':'2026-08-14T09:50:00+0000'}]}", NULL,
	    "tagged.data[1].id: expected a string" },
	{ 2, "{'data':[{'id':'1','created_time':1.5e12}]}", NULL,
	    "tagged.data[0].created_time: 1500000000000 is not a time" },
	{ 2, "{'data':[{'id':'1','created_time':'2026-08-14 09:50'}]}", NULL,
	    "tagged.data[0].created_time: \"2026-08-14 09:50\" is not a time" },
	{ 2, "{'data':[{'id':'1','created_time':'1999-08-14T09:50:00+0000'}]}",
	    NULL, "tagged.data[0].created_time: 1999-08-14T09:50:00+0000 is "
	    "before 2000" },
	{ 2, "{'data':[{'id':'1','created_time':'2026-08-16T09:50:00+0000'}]}",
	    NULL, "tagged.data[0].created_time: 2026-08-16T09:50:00+0000 is "
	    "more than a day in the future" },
	{ 2, "{'data':[{'id':'1','created_time':'2026-08-14T09:50:00+0000',"
	    "'from':'dana'}]}", NULL, "tagged.data[0].from: expected an "
	    "object" },
	{ 2, "{'data':[{'id':'1','created_time':'2026-08-14T09:50:00+0000',"
	    "'from':{'name':'Dana'}}]}", NULL, "tagged.data[0].from.id: is "
	    "missing" },
	{ 2, "{'data':[{'id':'1','created_time':'2026-08-14T09:50:00+0000',"
	    "'message':['hi']}]}", NULL, "tagged.data[0].message: expected a "
	    "string" },
	{ 2, "{'data':[],'paging':{'next':7}}", NULL, "tagged.paging.next: "
	    "expected a string" },
	{ 0, "{'data':[{'id':'t_1','updated_time':'2026-08-14T09:50:00+0000'}]}",
	    "{'data':[{'id':'m_1','created_time':'2026-08-14T09:50:00+0000',"
	    "'from':{'id':'1'}},{'id':'m_2','created_time':"
	    "'2026-08-14T09:51:00+0000'}]}", "messages.data[1].from: is "
	    "missing" },
	{ 1, "{'data':[{'id':'1_1','created_time':'2026-08-14T09:50:00+0000',"
	    "'from':{'id':'" PAGE "'}}]}",
	    "{'data':[{'id':'c_1','created_time':'2026-08-14T09:50:00+0000',"
	    "'parent':{'id':5}}]}", "comments.data[0].parent.id: expected a "
	    "string" },
};

START_TEST(bad_data)
{
	static const char *const lists[] = { CONVS, FEED, TAGGED };

	respondq(lists[bad[_i].stream], 200, bad[_i].list, NULL);
	if (bad[_i].child != NULL)
		respondq("/", 200, bad[_i].child, NULL);
	start(bad[_i].stream, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_msg(strncmp(fx.job.result.error, bad[_i].error,
	    strlen(bad[_i].error)) == 0, "\"%s\"", fx.job.result.error);
	ck_assert_ptr_null(fx.job.result.cursor);
	/* nothing of that page */
	ck_assert(!is_stored("m_1"));
	ck_assert(!is_stored("1"));
}
END_TEST

START_TEST(malformed_json)
{
	respond(TAGGED, 200, "{\"data\":[{\"id\":\"1\",", NULL);
	start(2, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
	ck_assert_str_eq(fx.job.result.error, "the JSON response ends early "
	    "(truncated after 19 bytes)");

	respond(TAGGED, 200, "<html>oops</html>", NULL);
	start(2, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_ptr_nonnull(fx.job.result.error);
}
END_TEST

START_TEST(add_refused)
{
	respondq(TAGGED, 200,
	    "{'data':[{'id':'1','created_time':'2026-08-14T09:50:00+0000'}]}",
	    NULL);
	start(2, "2026-08-14T09:00:00Z");
	fx.job.reject_id = "1";
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_str_eq(fx.job.result.error, "message 1 refused");
}
END_TEST

START_TEST(cancel)
{
	respondq(CONVS, 200, example_convs, NULL);
	start(0, "2026-08-14T09:00:00Z");
	ck_assert_int_eq(deliver(), 1);
	ck_assert_uint_eq(http_running(fake_http), 1);
	fx.def->cancel(fx.conn, &fx.job);
	ck_assert_int_eq(fx.job.ndone, 1);
	ck_assert_int_eq(fx.job.result.status, POLL_CANCELLED);
	ck_assert_uint_eq(fake_http->ncancelled, 1);
	ck_assert_uint_eq(http_running(fake_http), 0);
	ck_assert_ptr_null(fx.job.data);
}
END_TEST

/* ---- Instagram ----------------------------------------------------------- */

static const char ig_comments[] =
    "{'data':[{'id':'17870913679156914','text':'my order never arrived',"
    "'timestamp':'2026-08-14T09:31:07+0000','username':'dana.k','from':"
    "{'id':'17841400000000042','username':'dana.k'},'like_count':0,"
    "'hidden':false,'replies':{'data':[{'id':'17858893269000001','text':"
    "'@dana.k sorry! please check your DMs','timestamp':"
    "'2026-08-14T09:36:57+0000','username':'acme','from':{'id':'"
    IG "','username':'acme'},'parent_id':'17870913679156914'}]}}],"
    "'paging':{'cursors':{'before':'QVFI','after':'QVFJ'}}}";

START_TEST(ig_comments_mapping)
{
	respondq(MEDIA, 200,
	    "{'data':[{'id':'17895695668004550','timestamp':"
	    "'2026-08-14T08:00:00+0000','caption':'Summer sale','comments_count':2,"
	    "'permalink':'https://www.instagram.com/p/Abc/'},"
	    "{'id':'17895695668004549','timestamp':'2026-08-13T08:00:00+0000',"
	    "'comments_count':0}]}", NULL);
	respondq(V "/17895695668004550/comments?fields=id,text,timestamp,"
	    "username,from,parent_id,replies.limit(50)%7Bid,text,timestamp,"
	    "username,from,parent_id%7D&limit=50", 200, ig_comments, NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 2);
	ck_assert_uint_eq(fx.job.nstored, 3);
	assert_msg("17895695668004550", "17895695668004550", MSG_BROADCAST,
	    MSG_OUTBOUND, "2026-08-14T08:00:00Z", NULL, NULL, "Summer sale");
	ck_assert_str_eq(stored("17895695668004550")->url,
	    "https://www.instagram.com/p/Abc/");
	assert_msg("17870913679156914", "17895695668004550", MSG_BROADCAST,
	    MSG_INBOUND, "2026-08-14T09:31:07Z", "dana.k", "17895695668004550",
	    "my order never arrived");
	assert_msg("17858893269000001", "17895695668004550", MSG_BROADCAST,
	    MSG_OUTBOUND, "2026-08-14T09:36:57Z", "acme", "17870913679156914",
	    "@dana.k sorry! please check your DMs");
	ck_assert_str_eq(fx.job.result.cursor, "2026-08-14T09:36:57Z");

	/* the same comments_count: its comments are not read again */
	respondq(MEDIA, 200,
	    "{'data':[{'id':'17895695668004550','timestamp':"
	    "'2026-08-14T08:00:00+0000','comments_count':2}]}", NULL);
	start(0, "2026-08-14T09:36:57Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);
	ck_assert_ptr_null(fx.job.result.cursor);
}
END_TEST

/* A reply by the account's username (handle) is outbound too. */
START_TEST(ig_handle)
{
	fx.account.handle = "acme";
	respondq(MEDIA, 200,
	    "{'data':[{'id':'500','timestamp':'2026-08-14T08:00:00+0000'}]}",
	    NULL);
	respondq(V "/500/comments?", 200,
	    "{'data':[{'id':'501','text':'thanks','timestamp':"
	    "'2026-08-14T09:00:00+0000','username':'acme'}]}", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_int_eq(stored("501")->direction, MSG_OUTBOUND);
	ck_assert_str_eq(stored("501")->in_reply_to, "500");
}
END_TEST

START_TEST(ig_tags)
{
	respondq(TAGS, 200,
	    "{'data':[{'id':'900','timestamp':'2026-08-14T09:00:00+0000',"
	    "'caption':'love it @acme','username':'finn',"
	    "'permalink':'https://www.instagram.com/p/Xyz/'}]}", NULL);
	start(1, "2026-08-14T08:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	assert_msg("900", "900", MSG_BROADCAST, MSG_INBOUND,
	    "2026-08-14T09:00:00Z", "finn", NULL, "love it @acme");
}
END_TEST

START_TEST(ig_dm)
{
	respondq(IGDM, 200,
	    "{'data':[{'id':'aWdfZAG06','updated_time':'2026-08-14T09:40:05+0000'}]}",
	    NULL);
	respondq(V "/aWdfZAG06/messages?" MSGS, 200,
	    "{'data':[{'id':'aWdf2','created_time':'2026-08-14T09:40:05+0000',"
	    "'from':{'username':'acme','id':'" IG "'},'to':{'data':[{"
	    "'username':'dana.k','id':'6812345678901234'}]},'message':'Hi "
	    "Dana'},{'id':'aWdf1','created_time':'2026-08-14T09:38:33+0000',"
	    "'from':{'username':'dana.k','id':'6812345678901234'},'message':"
	    "'Order 4411'}]}", NULL);
	start(2, "2026-08-14T09:00:00Z");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	assert_msg("aWdf1", "aWdfZAG06", MSG_DIRECT, MSG_INBOUND,
	    "2026-08-14T09:38:33Z", "dana.k", NULL, "Order 4411");
	assert_msg("aWdf2", "aWdfZAG06", MSG_DIRECT, MSG_OUTBOUND,
	    "2026-08-14T09:40:05Z", "acme", NULL, "Hi Dana");
}
END_TEST

/* ---- setup --------------------------------------------------------------- */

START_TEST(new_refuses)
{
	static const struct {
		const char	*url;
		const char	*platform_id;
		const char	*page_id;
		const char	*version;
		const char	*secret;
		int		 ig;
		const char	*error;
	} cases[] = {
		{ NULL, NULL, NULL, NULL, TOKEN, 0, "platform_id is required: "
		    "the Facebook page's id" },
		{ NULL, "12/../x", NULL, NULL, TOKEN, 0, "platform_id is "
		    "required" },
		{ NULL, IG, NULL, NULL, TOKEN, 1, "page_id is required: the id "
		    "of the Facebook page linked" },
		{ NULL, PAGE, NULL, "21.0", TOKEN, 0, "api_version: \"21.0\" is "
		    "not a Graph API version like v21.0" },
		{ NULL, PAGE, NULL, "v21", TOKEN, 0, "api_version" },
		{ "http://graph.example", PAGE, NULL, NULL, TOKEN, 0, "url: " },
		{ "https://graph.example/?x", PAGE, NULL, NULL, TOKEN, 0,
		    "url: the Graph API's address takes no query" },
		{ NULL, PAGE, NULL, NULL, NULL, 0, "an access token is "
		    "required" },
		{ NULL, PAGE, NULL, NULL, "a b", 0, "the access token contains "
		    "spaces" },
	};
	struct conf_account a;
	struct connector_env env;
	const struct connector_def *def;
	char *err;
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		memset(&a, 0, sizeof a);
		a.name = "x";
		a.url = (char *)cases[i].url;
		a.platform_id = (char *)cases[i].platform_id;
		a.page_id = (char *)cases[i].page_id;
		a.api_version = (char *)cases[i].version;
		env = fx.env;
		env.account = &a;
		env.secret = cases[i].secret;
		def = cases[i].ig ? &connector_instagram : &connector_facebook;
		err = NULL;
		ck_assert_ptr_null(def->new(&env, &err));
		ck_assert_msg(err != NULL && strncmp(err, cases[i].error,
		    strlen(cases[i].error)) == 0, "case %zu: \"%s\"", i, err);
		free(err);
	}
	ck_assert_str_eq(connector_facebook.name, "facebook");
	ck_assert_str_eq(connector_facebook.platform, "facebook");
	ck_assert_str_eq(connector_facebook.default_url,
	    "https://graph.facebook.com");
	ck_assert_str_eq(connector_facebook.streams[0], "conversations");
	ck_assert_str_eq(connector_facebook.streams[1], "comments");
	ck_assert_str_eq(connector_facebook.streams[2], "tagged");
	ck_assert_ptr_null(connector_facebook.streams[3]);
	ck_assert_str_eq(connector_instagram.name, "instagram");
	ck_assert_str_eq(connector_instagram.platform, "instagram");
	ck_assert_str_eq(connector_instagram.streams[0], "comments");
	ck_assert_str_eq(connector_instagram.streams[1], "tags");
	ck_assert_str_eq(connector_instagram.streams[2], "dm");
	ck_assert_ptr_null(connector_instagram.streams[3]);
}
END_TEST

/* api_version and a loopback url with a trailing '/'. */
START_TEST(new_url_version)
{
	fx.account.url = "http://127.0.0.1:3000/";
	fx.account.api_version = "v25.0";
	connect_as(&connector_facebook);
	respondq("http://127.0.0.1:3000/v25.0/" PAGE "/tagged?", 200,
	    "{'data':[]}", NULL);
	start(2, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	assert_url(0, "http://127.0.0.1:3000/v25.0/" PAGE "/tagged?fields=id,"
	    "created_time,from,message,permalink_url&limit=25");
}
END_TEST

static Suite *
graph_suite(void)
{
	Suite *s = suite_create("graph");
	TCase *tc;

	tc = tcase_create("parts");
	tcase_add_test(tc, times);
	tcase_add_test(tc, usage);
	suite_add_tcase(s, tc);

	tc = tcase_create("facebook");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, fb_conversations);
	tcase_add_test(tc, fb_conversations_watermark);
	tcase_add_test(tc, fb_empty);
	tcase_add_test(tc, fb_comments);
	tcase_add_test(tc, fb_tagged);
	suite_add_tcase(s, tc);

	tc = tcase_create("paging");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, paging_next);
	tcase_add_loop_test(tc, paging_foreign, 0, (int)NELEM(foreign));
	tcase_add_test(tc, paging_foreign_no_cursor);
	tcase_add_test(tc, cap_list_pages);
	tcase_add_test(tc, cap_parents);
	tcase_add_test(tc, cap_child_pages);
	tcase_add_test(tc, cap_cursor_foreign);
	tcase_add_test(tc, usage_stretches);
	tcase_add_test(tc, usage_stops);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, graph_errors, 0, (int)NELEM(errors));
	tcase_add_test(tc, expired_midway);
	tcase_add_test(tc, transport);
	tcase_add_loop_test(tc, bad_data, 0, (int)NELEM(bad));
	tcase_add_test(tc, malformed_json);
	tcase_add_test(tc, add_refused);
	tcase_add_test(tc, cancel);
	suite_add_tcase(s, tc);

	tc = tcase_create("instagram");
	tcase_add_checked_fixture(tc, setup_ig, teardown);
	tcase_add_test(tc, ig_comments_mapping);
	tcase_add_test(tc, ig_handle);
	tcase_add_test(tc, ig_tags);
	tcase_add_test(tc, ig_dm);
	suite_add_tcase(s, tc);

	tc = tcase_create("setup");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, new_refuses);
	tcase_add_test(tc, new_url_version);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init("check-graph", getenv("REPLYWATCH_DEBUG") != NULL ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	sr = srunner_create(graph_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
