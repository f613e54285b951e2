/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <unistr.h>

#include "connector-lib.h"
#include "connector.h"
#include "http.h"
#include "log.h"
#include "msg.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * The Mastodon connector against a fake HTTP client and a fake poll job
 * (connector-lib.h).
 *
 * The client answers from canned responses, matched by a piece of the
 * URL, and only when the test calls deliver(): never from inside
 * http_start, as the real client never does either. The job records what
 * it is handed, what is committed with which cursor, and how the poll
 * ended.
 */

extern const struct connector_def connector_mastodon;

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define BASE		"https://mastodon.example"
#define TOKEN		"s3cret-t0ken"
#define BRAND_ID	"109876543210987654"
#define NOW_S		"2026-08-14T10:00:00Z"
#define HOUR		(INT64_C(3600) * 1000)
/* include_filtered: private mentions a NotificationPolicy filtered too */
#define NOTIFS		BASE "/api/v1/notifications?types%5B%5D=mention&limit=80" \
			    "&include_filtered=true"
#define STATUSES	BASE "/api/v1/accounts/" BRAND_ID \
			    "/statuses?limit=40&exclude_reblogs=true"

static const char verify_body[] =
    "{\"id\":\"" BRAND_ID "\",\"username\":\"acme\",\"acct\":\"acme\","
    "\"display_name\":\"Acme Support\",\"locked\":false}";

/* The reference's example: one direct mention (platform-apis.md §5.5). */
static const char example_mention[] =
    "[{\"id\":\"3481100\",\"type\":\"mention\",\"group_key\":"
    "\"ungrouped-3481100\",\"created_at\":\"2026-08-14T09:38:33.412Z\","
    "\"account\":{\"id\":\"110000000000000042\",\"username\":\"dana\","
    "\"acct\":\"dana@social.example\",\"display_name\":\"Dana K\","
    "\"locked\":false,\"bot\":false,\"group\":false,\"indexable\":true,"
    "\"discoverable\":true,\"created_at\":\"2023-01-10T00:00:00.000Z\","
    "\"note\":\"\",\"url\":\"https://social.example/@dana\",\"uri\":"
    "\"https://social.example/users/dana\",\"followers_count\":12,"
    "\"following_count\":40,\"statuses_count\":311,\"last_status_at\":"
    "\"2026-08-14\",\"emojis\":[],\"fields\":[]},"
    "\"status\":{\"id\":\"114991300000000777\",\"uri\":"
    "\"https://social.example/users/dana/statuses/114991300000000777\","
    "\"url\":\"https://social.example/@dana/114991300000000777\","
    "\"created_at\":\"2026-08-14T09:38:33.000Z\",\"account\":{\"id\":"
    "\"110000000000000042\",\"username\":\"dana\",\"acct\":"
    "\"dana@social.example\",\"display_name\":\"Dana K\",\"locked\":false,"
    "\"bot\":false,\"created_at\":\"2023-01-10T00:00:00.000Z\",\"note\":\"\","
    "\"url\":\"https://social.example/@dana\",\"emojis\":[],\"fields\":[]},"
    "\"content\":\"<p><span class=\\\"h-card\\\"><a href=\\\""
    "https://mastodon.example/@acme\\\" class=\\\"u-url mention\\\">@<span>"
    "acme</span></a></span> order 4411, email dana@example.net</p>\","
    "\"visibility\":\"direct\",\"sensitive\":false,\"spoiler_text\":\"\","
    "\"media_attachments\":[],\"application\":null,\"mentions\":[{\"id\":"
    "\"109876543210987654\",\"username\":\"acme\",\"url\":"
    "\"https://mastodon.example/@acme\",\"acct\":\"acme\"}],\"tags\":[],"
    "\"emojis\":[],\"reblogs_count\":0,\"favourites_count\":0,"
    "\"replies_count\":0,\"in_reply_to_id\":null,\"in_reply_to_account_id\":"
    "null,\"reblog\":null,\"poll\":null,\"card\":null,\"language\":\"en\","
    "\"text\":null,\"edited_at\":null,\"favourited\":false,\"reblogged\":"
    "false,\"muted\":false,\"bookmarked\":false}}]";

/* ---- the fake HTTP client and poll job (connector-lib.h) ------------------- */

/* Every request carries the token and asks for JSON. */
static void
check_request(const struct fake_request *q, void *ctx)
{
	ck_assert_str_eq(q->auth, "Authorization: Bearer " TOKEN);
	ck_assert_uint_ge(fake_request_count(q, "Accept: application/json"), 1);
}

static const struct fake_http_opts http_rules = {
	.one_per_job = 1,
	.get_only = 1,
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
	const char	*known_id;	/* stored already, of this thread: */
	const char	*known_root;
} fx;

/* ---- fixture and helpers ---------------------------------------------------- */

static void
setup(void)
{
	char *err = NULL;

	memset(&fx, 0, sizeof fx);
	ck_assert_int_eq(timefmt_parse_rfc3339(NOW_S, &fx.now), 0);
	fake_http = fake_http_new(&http_rules);
	fx.account.name = "acme";
	fx.account.url = BASE;
	fx.account.connector = "mastodon";
	fx.env.account = &fx.account;
	fx.env.secret = TOKEN;
	fx.env.http = fake_http;
	fx.conn = connector_mastodon.new(&fx.env, &err);
	ck_assert_msg(fx.conn != NULL, "new: %s", err);
}

static void
teardown(void)
{
	fake_job_clear(&fx.job);
	connector_mastodon.free(fx.conn);
	fake_http_free(fake_http);
	fake_http = NULL;
}

/* Start a poll of a stream (0 mentions, 1 statuses). */
static void
start(int stream, const char *cursor)
{
	fake_job_clear(&fx.job);
	fake_job_init(&fx.job, stream, cursor, fx.now);
	fx.job.known_id = fx.known_id;
	fx.job.known_root = fx.known_root;
	connector_mastodon.poll(fx.conn, &fx.job);
	ck_assert_int_eq(fx.job.ndone, 0);	/* nothing synchronous */
}

/* Deliver until the poll ends; then nothing may be left in flight. */
static void
run(void)
{
	fake_job_run(&fx.job, fake_http, 500);
}

static void
respond_verify(void)
{
	respond("/api/v1/accounts/verify_credentials", 200, verify_body, NULL);
}

static int64_t
at(const char *s)
{
	int64_t ms;

	ck_assert_int_eq(timefmt_parse_rfc3339(s, &ms), 0);
	return ms;
}

static char *
iso(int64_t ms)
{
	char buf[TIMEFMT_RFC3339_LEN];

	timefmt_format_rfc3339(ms, buf, sizeof buf);
	return xstrdup(buf);
}

/* A Status. in_reply_to may be NULL. */
static cJSON *
status(const char *id, int64_t created, const char *account_id,
    const char *acct, const char *visibility, const char *in_reply_to,
    const char *content)
{
	cJSON *st = cJSON_CreateObject(), *a = cJSON_CreateObject();
	char *when = iso(created), *url;

	xasprintf(&url, "https://social.example/@%s/%s", acct, id);
	cJSON_AddStringToObject(st, "id", id);
	cJSON_AddStringToObject(st, "uri", url);
	cJSON_AddStringToObject(st, "url", url);
	cJSON_AddStringToObject(st, "created_at", when);
	cJSON_AddStringToObject(a, "id", account_id);
	cJSON_AddStringToObject(a, "username", acct);
	cJSON_AddStringToObject(a, "acct", acct);
	cJSON_AddItemToObject(st, "account", a);
	cJSON_AddStringToObject(st, "content", content);
	cJSON_AddStringToObject(st, "visibility", visibility);
	if (in_reply_to != NULL)
		cJSON_AddStringToObject(st, "in_reply_to_id", in_reply_to);
	else
		cJSON_AddNullToObject(st, "in_reply_to_id");
	cJSON_AddNullToObject(st, "reblog");
	free(when);
	free(url);
	return st;
}

/* A mention notification of status st (NULL: none). */
static cJSON *
notif(const char *nid, int64_t created, cJSON *st)
{
	cJSON *n = cJSON_CreateObject();
	char *when = iso(created);

	cJSON_AddStringToObject(n, "id", nid);
	cJSON_AddStringToObject(n, "type", "mention");
	cJSON_AddStringToObject(n, "created_at", when);
	if (st != NULL)
		cJSON_AddItemToObject(n, "status", st);
	free(when);
	return n;
}

/* A mention notification nid of a public status sid by dana. */
static cJSON *
mention(const char *nid, const char *sid, int64_t created)
{
	return notif(nid, created, status(sid, created, "110000000000000042",
	    "dana@social.example", "public", NULL, "<p>hi</p>"));
}

static cJSON *
array(cJSON *first, ...)
{
	cJSON *a = cJSON_CreateArray(), *it;
	va_list ap;

	va_start(ap, first);
	for (it = first; it != NULL; it = va_arg(ap, cJSON *))
		cJSON_AddItemToArray(a, it);
	va_end(ap);
	return a;
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

/* ---- mapping ------------------------------------------------------------------ */

START_TEST(mention_direct)
{
	const struct msg *m;

	respond_verify();
	respond(NOTIFS "&min_id=3481090", 200, example_mention,
	    "Link: <" BASE "/api/v1/notifications?types[]=mention&"
	    "max_id=3481100>; rel=\"next\", <" BASE "/api/v1/notifications?"
	    "types[]=mention&min_id=3481100>; rel=\"prev\"",
	    "X-RateLimit-Limit: 300", "X-RateLimit-Remaining: 297",
	    "X-RateLimit-Reset: 2026-08-14T10:05:00.000000Z", NULL);
	respond("min_id=3481100", 200, "[]", NULL);
	start(0, "3481090");
	run();

	ck_assert_uint_eq(fake_http->nreqs, 3);
	assert_url(0, BASE "/api/v1/accounts/verify_credentials");
	assert_url(1, NOTIFS "&min_id=3481090");
	assert_url(2, BASE "/api/v1/notifications?types[]=mention&"
	    "min_id=3481100");

	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_ptr_null(fx.job.result.error);
	ck_assert_ptr_null(fx.job.result.cursor);
	ck_assert_int_eq(fx.job.result.retry_at_ms, -1);
	ck_assert_int_eq(fx.job.result.rl.limit, 300);
	ck_assert_int_eq(fx.job.result.rl.remaining, 297);
	ck_assert_int_eq(fx.job.result.rl.reset_ms,
	    at("2026-08-14T10:05:00Z"));
	ck_assert_uint_eq(fx.job.ncommits, 1);
	ck_assert_str_eq(fx.job.commits[0], "3481100");

	ck_assert_uint_eq(fx.job.nstored, 1);
	m = stored("114991300000000777");
	ck_assert_str_eq(m->conversation, "114991300000000777");
	ck_assert_int_eq(m->kind, MSG_DIRECT);
	ck_assert_int_eq(m->direction, MSG_INBOUND);
	ck_assert_int_eq(m->created_ms, at("2026-08-14T09:38:33Z"));
	ck_assert_str_eq(m->author, "dana@social.example");
	ck_assert_ptr_null(m->in_reply_to);
	ck_assert_str_eq(m->text, "@acme order 4411, email dana@example.net");
	ck_assert_str_eq(m->url,
	    "https://social.example/@dana/114991300000000777");
	ck_assert_int_eq(m->complaint, MSG_COMPLAINT_UNKNOWN);
	/* a thread's first post needs no look-up of its root */
	ck_assert_uint_eq(fx.job.nlookups, 0);
}
END_TEST

/*
 * A public reply to a thread: its root comes from the parent's context,
 * and a second reply to the same parent costs no second request. The url
 * falls back to the uri.
 */
START_TEST(mention_public_reply)
{
	cJSON *a, *b, *ctx;
	const struct msg *m;

	a = status("500", fx.now - HOUR, "110000000000000042",
	    "dana@social.example", "public", "400", "<p>@acme still "
	    "broken</p>");
	cJSON_ReplaceItemInObject(a, "url", cJSON_CreateNull());
	b = status("501", fx.now - HOUR / 2, "110000000000000099",
	    "eve@other.example", "unlisted", "400", "<p>same here</p>");
	ctx = cJSON_Parse("{\"ancestors\":[{\"id\":\"300\"},{\"id\":\"400\"}],"
	    "\"descendants\":[]}");
	respond_verify();
	respond_json(NOTIFS "&min_id=10", 200,
	    array(notif("21", fx.now - HOUR / 2, b),
	    notif("20", fx.now - HOUR, a), NULL), NULL);
	respond_json("/api/v1/statuses/400/context", 200, ctx, NULL);
	respond(NOTIFS "&min_id=21", 200, "[]", NULL);
	start(0, "10");
	run();

	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 4);
	assert_url(2, BASE "/api/v1/statuses/400/context");
	/* no Link header: the next page's URL is built */
	assert_url(3, NOTIFS "&min_id=21");
	ck_assert_uint_eq(fx.job.nstored, 2);
	m = stored("500");
	ck_assert_str_eq(m->conversation, "300");
	ck_assert_int_eq(m->kind, MSG_BROADCAST);
	ck_assert_int_eq(m->direction, MSG_INBOUND);
	ck_assert_str_eq(m->in_reply_to, "400");
	ck_assert_str_eq(m->author, "dana@social.example");
	ck_assert_str_eq(m->text, "@acme still broken");
	ck_assert_str_eq(m->url, "https://social.example/@dana@social."
	    "example/500");
	m = stored("501");
	ck_assert_str_eq(m->conversation, "300");
	ck_assert_int_eq(m->kind, MSG_BROADCAST);
	ck_assert_str_eq(m->author, "eve@other.example");
	ck_assert_str_eq(fx.job.commits[0], "21");
}
END_TEST

/* A parent with no ancestors is the root; a reply to a reply of the same
 * page finds its root in the cache. */
START_TEST(conversation_parent_is_root)
{
	cJSON *a, *b;

	a = status("601", fx.now - 2 * HOUR, "110000000000000042",
	    "dana@social.example", "public", "600", "<p>a</p>");
	b = status("602", fx.now - HOUR, "110000000000000099",
	    "eve@other.example", "public", "601", "<p>b</p>");
	respond_verify();
	respond_json(NOTIFS "&min_id=1", 200, array(notif("31", fx.now - HOUR,
	    b), notif("30", fx.now - 2 * HOUR, a), NULL), NULL);
	respond("/api/v1/statuses/600/context", 200,
	    "{\"ancestors\":[],\"descendants\":[]}", NULL);
	respond(NOTIFS "&min_id=31", 200, "[]", NULL);
	start(0, "1");
	run();

	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 4);
	ck_assert_str_eq(stored("601")->conversation, "600");
	ck_assert_str_eq(stored("602")->conversation, "600");
}
END_TEST

/* A reply and its root on one page: the root is known without asking,
 * whatever the order of the page. */
START_TEST(conversation_same_page)
{
	respond_verify();
	respond_json(NOTIFS "&min_id=1", 200, array(
	    notif("62", fx.now - HOUR, status("652", fx.now - HOUR,
	    "110000000000000099", "eve@other.example", "public", "651",
	    "<p>b</p>")),
	    notif("61", fx.now - 2 * HOUR, status("651", fx.now - 2 * HOUR,
	    "110000000000000042", "dana@social.example", "public", NULL,
	    "<p>a</p>")), NULL), NULL);
	respond(NOTIFS "&min_id=62", 200, "[]", NULL);
	start(0, "1");
	run();

	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);
	ck_assert_uint_eq(fx.job.nlookups, 0);
	ck_assert_str_eq(stored("651")->conversation, "651");
	ck_assert_str_eq(stored("652")->conversation, "651");
	ck_assert_str_eq(stored("652")->in_reply_to, "651");
}
END_TEST

/* The brand's own reply, from its statuses: outbound, direct, and the
 * conversation of its parent as the job knows it (no request). */
START_TEST(brand_outbound)
{
	const struct msg *m;

	respond_verify();
	respond_json(STATUSES "&min_id=114991300000000000", 200,
	    array(status("114991400000000999", at("2026-08-14T09:40:05Z"),
	    BRAND_ID, "acme", "direct", "114991300000000777",
	    "<p><span class=\"h-card\"><a href=\"https://social.example/@dana\" "
	    "class=\"u-url mention\">@<span>dana</span></a></span> sorry! "
	    "checking now.</p>"), NULL), NULL);
	respond(STATUSES "&min_id=114991400000000999", 200, "[]", NULL);
	fx.known_id = "114991300000000777";
	fx.known_root = "114991300000000001";
	start(1, "114991300000000000");
	run();

	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);
	assert_url(1, STATUSES "&min_id=114991300000000000");
	ck_assert_uint_eq(fx.job.nlookups, 1);
	m = stored("114991400000000999");
	ck_assert_int_eq(m->direction, MSG_OUTBOUND);
	ck_assert_int_eq(m->kind, MSG_DIRECT);
	ck_assert_str_eq(m->conversation, "114991300000000001");
	ck_assert_str_eq(m->in_reply_to, "114991300000000777");
	ck_assert_str_eq(m->author, "acme");
	ck_assert_str_eq(m->text, "@dana sorry! checking now.");
	ck_assert_str_eq(fx.job.commits[0], "114991400000000999");
}
END_TEST

/* In the mentions, a status of the brand is outbound too; the brand is
 * asked for once for all polls; what a poll learnt of a thread serves the
 * next. */
START_TEST(brand_once_and_cache)
{
	cJSON *ctx = cJSON_Parse("{\"ancestors\":[{\"id\":\"700\"}]}");

	respond_verify();
	respond_json(NOTIFS "&min_id=1", 200, array(notif("40", fx.now - HOUR,
	    status("701", fx.now - HOUR, BRAND_ID, "acme", "public", "700",
	    "<p>thanks</p>")), NULL), NULL);
	respond_json("/statuses/700/context", 200, ctx, NULL);
	respond(NOTIFS "&min_id=40", 200, "[]", NULL);
	start(0, "1");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_int_eq(stored("701")->direction, MSG_OUTBOUND);
	ck_assert_str_eq(stored("701")->conversation, "700");
	ck_assert_uint_eq(fake_http->nreqs, 4);

	/* the statuses stream: no verify_credentials, no context again */
	respond_json(STATUSES "&min_id=5", 200, array(status("702",
	    fx.now - HOUR / 2, BRAND_ID, "acme", "public", "701",
	    "<p>more</p>"), NULL), NULL);
	respond(STATUSES "&min_id=702", 200, "[]", NULL);
	start(1, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 6);
	assert_url(4, STATUSES "&min_id=5");
	ck_assert_str_eq(stored("702")->conversation, "700");
	ck_assert_uint_eq(fx.job.nlookups, 0);
}
END_TEST

/* The parent is gone (404): the thread is taken to start at it. */
START_TEST(context_gone)
{
	respond_verify();
	respond_json(NOTIFS "&min_id=1", 200, array(notif("50", fx.now - HOUR,
	    status("801", fx.now - HOUR, "110000000000000042",
	    "dana@social.example", "public", "800", "<p>x</p>")), NULL),
	    NULL);
	respond("/statuses/800/context", 404,
	    "{\"error\":\"Record not found\"}", NULL);
	respond(NOTIFS "&min_id=50", 200, "[]", NULL);
	start(0, "1");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_str_eq(stored("801")->conversation, "800");
}
END_TEST

/* ---- HTML to text ---------------------------------------------------------- */

static const struct {
	const char	*html;
	const char	*text;		/* NULL: none */
} html_cases[] = {
	{ "<p>Hello <strong>world</strong></p>", "Hello world" },
	{ "<p>a<br>b<br/>c<br />d</p>", "a\nb\nc\nd" },
	{ "<p>one</p><p>two</p>", "one\n\ntwo" },
	{ "<p>one</p>\n<p>two<br></p>\n<p>three</p>", "one\n\ntwo\n\nthree" },
	{ "<p>a<br><br>b</p>", "a\n\nb" },
	{ "&amp; &lt; &gt; &quot; &#39; &apos;", "& < > \" ' '" },
	{ "a&nbsp;b", "a\xc2\xa0" "b" },
	{ "&#233;&#xE9;&#X1F600;&#0065;", "\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80" "A" },
	/* invalid or overlong: left as they are */
	{ "&#xD800; &#0; &#1114112; &#x110000; &#00000065; &#x0000041; "
	  "&#; &#x; &hellip; &amp AT&T &#65", "&#xD800; &#0; &#1114112; "
	  "&#x110000; &#00000065; &#x0000041; &#; &#x; &hellip; &amp AT&T "
	  "&#65" },
	{ "&#1;&#127;&#x9F;", "&#1;&#127;&#x9F;" },
	{ "<p>caf\xc3\xa9 \xff\xfe ok \xed\xa0\x80 \xc0\xaf</p>",
	  "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd ok "
	  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd" },
	{ "<p>tail \xe2\x82</p>", "tail \xef\xbf\xbd\xef\xbf\xbd" },
	{ "<p><a href=\"https://example.com/a/long/path\" rel=\"nofollow "
	  "noopener\" target=\"_blank\"><span class=\"invisible\">https://"
	  "</span><span class=\"ellipsis\">example.com/a/lo</span><span "
	  "class=\"invisible\">ng/path</span></a></p>",
	  "https://example.com/a/long/path" },
	{ "<p>1 < 2 and x &lt;3 y</p>", "1 < 2 and x <3 y" },
	{ "<a title=\"a>b\">t</a>", "t" },
	{ "<p>  lots   of\tspace </p>", "lots of space" },
	{ "<ul><li>one</li><li>two</li></ul><p>end</p>", "one\ntwo\n\nend" },
	{ "<blockquote><p>quoted</p></blockquote><p>reply</p>",
	  "quoted\n\nreply" },
	{ "a\x01" "b\x7f" "c", "abc" },
	{ "", NULL },
	{ "<p></p><br>", NULL },
	{ "<p>unclosed <b", "unclosed <b" },
};

/* One status with this content, through a whole poll. */
static const struct msg *
poll_content(const char *html)
{
	respond_verify();
	respond_json(NOTIFS "&min_id=1", 200, array(notif("2", fx.now - HOUR,
	    status("900", fx.now - HOUR, "110000000000000042",
	    "dana@social.example", "public", NULL, html)), NULL), NULL);
	respond(NOTIFS "&min_id=2", 200, "[]", NULL);
	start(0, "1");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	return stored("900");
}

START_TEST(html_text)
{
	const struct msg *m = poll_content(html_cases[_i].html);

	if (html_cases[_i].text == NULL)
		ck_assert_ptr_null(m->text);
	else
		ck_assert_str_eq(m->text, html_cases[_i].text);
}
END_TEST

/* Longer than MSG_MAX_TEXT: cut on a character boundary. */
START_TEST(html_text_cut)
{
	static const char *const units[] = { "\xc3\xa9", "\xf0\x9f\x98\x80",
	    "&amp;", "&#x1F600;" };
	const char *unit = units[_i];
	size_t i, n = MSG_MAX_TEXT + 7, len;
	char *html = xmalloc(1 + n * strlen(unit) + 1);
	const struct msg *m;

	html[0] = 'a';
	for (i = 0; i < n; i++)
		memcpy(html + 1 + i * strlen(unit), unit, strlen(unit));
	html[1 + n * strlen(unit)] = '\0';
	m = poll_content(html);
	free(html);
	len = strlen(m->text);
	ck_assert_uint_le(len, MSG_MAX_TEXT);
	ck_assert_uint_gt(len, MSG_MAX_TEXT - 4);
	ck_assert_ptr_null(u8_check((const uint8_t *)m->text, len));
	ck_assert_int_eq(m->text[0], 'a');
}
END_TEST

/* ---- paging ------------------------------------------------------------------ */

static char *
link_to(const char *rel, const char *url)
{
	char *h;

	xasprintf(&h, "Link: <%s>; rel=\"%s\"", url, rel);
	return h;
}

START_TEST(incremental_three_pages)
{
	char *l1 = link_to("prev", BASE "/api/v1/notifications?types[]="
	    "mention&min_id=103&page=2");
	char *l2 = link_to("prev", "HTTPS://Mastodon.Example:443/api/v1/"
	    "notifications?types[]=mention&min_id=106&page=3");
	char *l3 = link_to("prev", BASE "/api/v1/notifications?types[]="
	    "mention&min_id=107&page=4");

	respond_verify();
	respond_json(NOTIFS "&min_id=100", 200, array(
	    mention("103", "1003", fx.now - 7 * HOUR),
	    mention("102", "1002", fx.now - 8 * HOUR),
	    mention("101", "1001", fx.now - 9 * HOUR), NULL), l1, NULL);
	respond_json("page=2", 200, array(
	    mention("106", "1006", fx.now - 4 * HOUR),
	    mention("105", "1005", fx.now - 5 * HOUR),
	    mention("104", "1004", fx.now - 6 * HOUR), NULL), l2, NULL);
	respond_json("page=3", 200, array(
	    mention("107", "1007", fx.now - 3 * HOUR), NULL), l3, NULL);
	respond("page=4", 200, "[]", NULL);
	free(l1);
	free(l2);
	free(l3);
	start(0, "100");
	run();

	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_ptr_null(fx.job.result.cursor);
	ck_assert_uint_eq(fake_http->nreqs, 5);
	assert_url(2, BASE "/api/v1/notifications?types[]=mention&min_id=103"
	    "&page=2");
	assert_url(3, "HTTPS://Mastodon.Example:443/api/v1/notifications?"
	    "types[]=mention&min_id=106&page=3");
	ck_assert_uint_eq(fx.job.ncommits, 3);
	ck_assert_str_eq(fx.job.commits[0], "103");
	ck_assert_uint_eq(fx.job.commit_nstored[0], 3);
	ck_assert_str_eq(fx.job.commits[1], "106");
	ck_assert_uint_eq(fx.job.commit_nstored[1], 6);
	ck_assert_str_eq(fx.job.commits[2], "107");
	ck_assert_uint_eq(fx.job.commit_nstored[2], 7);
	ck_assert_uint_eq(fx.job.nstored, 7);
	ck_assert_str_eq(stored("1005")->conversation, "1005");
}
END_TEST

/* Ids are ordered by length first: "100" is newer than "99". */
START_TEST(incremental_id_order)
{
	respond_verify();
	respond_json(NOTIFS "&min_id=99", 200, array(
	    mention("101", "2001", fx.now - HOUR),
	    mention("100", "2000", fx.now - 2 * HOUR), NULL), NULL);
	respond(NOTIFS "&min_id=101", 200, "[]", NULL);
	start(0, "99");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fx.job.ncommits, 1);
	ck_assert_str_eq(fx.job.commits[0], "101");
}
END_TEST

/* A server that ignores min_id does not move the cursor back nor loop. */
START_TEST(incremental_no_progress)
{
	char *l = link_to("prev", BASE "/api/v1/notifications?min_id=98");

	respond_verify();
	respond_json(NOTIFS "&min_id=100", 200, array(
	    mention("99", "3099", fx.now - HOUR),
	    mention("98", "3098", fx.now - 2 * HOUR), NULL), l, NULL);
	free(l);
	start(0, "100");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 2);
	ck_assert_uint_eq(fx.job.ncommits, 1);
	ck_assert_str_eq(fx.job.commits[0], "(keep)");
	ck_assert_uint_eq(fx.job.nstored, 2);
}
END_TEST

static const char *const foreign_links[] = {
	"https://evil.example/api/v1/notifications?min_id=103",
	"https://mastodon.example.evil.example/api/v1/notifications",
	"https://mastodon.example:8443/api/v1/notifications?min_id=103",
	"http://mastodon.example/api/v1/notifications?min_id=103",
	"https://user@mastodon.example/api/v1/notifications?min_id=103",
	"https://evil.example@mastodon.example.evil/x",
	"/api/v1/notifications?min_id=103",
	"ftp://mastodon.example/x",
};

/* A Link to another server is not followed: the token stays home. */
START_TEST(link_foreign_host)
{
	char *l = link_to("prev", foreign_links[_i]);
	size_t i;

	respond_verify();
	respond_json(NOTIFS "&min_id=100", 200, array(
	    mention("103", "4003", fx.now - HOUR), NULL), l, NULL);
	respond(NOTIFS "&min_id=103", 200, "[]", NULL);
	free(l);
	start(0, "100");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);
	for (i = 0; i < fake_http->nreqs; i++)
		ck_assert_msg(strncmp(fake_http->reqs[i].url, BASE "/",
		    strlen(BASE) + 1) == 0, "request to %s",
		    fake_http->reqs[i].url);
	assert_url(2, NOTIFS "&min_id=103");
	ck_assert_str_eq(fx.job.commits[0], "103");
}
END_TEST

/* The first poll walks back to the backfill horizon, drops what is older
 * and commits once, with the newest id of the first page. */
START_TEST(backfill_since)
{
	char *l1 = link_to("next", BASE "/api/v1/notifications?types[]="
	    "mention&max_id=299");
	char *l2 = link_to("next", BASE "/api/v1/notifications?types[]="
	    "mention&max_id=296");

	respond_verify();
	respond_json(NOTIFS, 200, array(
	    mention("300", "5300", fx.now - HOUR),
	    mention("299", "5299", fx.now - 2 * HOUR), NULL), l1, NULL);
	respond_json("max_id=299", 200, array(
	    mention("298", "5298", fx.now - 20 * HOUR),
	    mention("297", "5297", fx.now - 30 * HOUR),
	    mention("296", "5296", fx.now - 31 * HOUR), NULL), l2, NULL);
	free(l1);
	free(l2);
	start(0, NULL);
	run();

	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_str_eq(fx.job.result.cursor, "300");
	ck_assert_uint_eq(fake_http->nreqs, 3);
	assert_url(1, NOTIFS);
	assert_url(2, BASE "/api/v1/notifications?types[]=mention&max_id=299");
	ck_assert_uint_eq(fx.job.ncommits, 0);
	ck_assert_uint_eq(fx.job.nstored, 3);
	stored("5300");
	stored("5299");
	stored("5298");
}
END_TEST

/* Back until an empty page; without Link headers the URLs are built. */
START_TEST(backfill_until_empty)
{
	respond_verify();
	respond_json(STATUSES, 200, array(status("6002", fx.now - HOUR,
	    BRAND_ID, "acme", "public", NULL, "<p>news</p>"), status("6001",
	    fx.now - 2 * HOUR, BRAND_ID, "acme", "private", NULL,
	    "<p>followers</p>"), NULL), NULL);
	respond(STATUSES "&max_id=6001", 200, "[]", NULL);
	start(1, NULL);
	run();

	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_str_eq(fx.job.result.cursor, "6002");
	ck_assert_uint_eq(fake_http->nreqs, 3);
	assert_url(1, STATUSES);
	assert_url(2, STATUSES "&max_id=6001");
	ck_assert_uint_eq(fx.job.nstored, 2);
	ck_assert_int_eq(stored("6001")->direction, MSG_OUTBOUND);
	ck_assert_int_eq(stored("6001")->kind, MSG_BROADCAST);
	ck_assert_str_eq(stored("6001")->text, "followers");
}
END_TEST

START_TEST(backfill_empty)
{
	respond_verify();
	respond(NOTIFS, 200, "[]", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	/* nothing yet: whatever comes is new, however old the poll is */
	ck_assert_str_eq(fx.job.result.cursor, "0");
	ck_assert_ptr_null(fx.job.result.error);
	ck_assert_uint_eq(fx.job.nstored, 0);
	ck_assert_uint_eq(fx.job.ncommits, 0);
	ck_assert_uint_eq(fake_http->nreqs, 2);
}
END_TEST

/* Deleted statuses and other kinds of notification hold nothing, but
 * the cursor moves past them. */
START_TEST(notification_without_status)
{
	cJSON *follow = notif("73", fx.now - HOUR, NULL), *gone;

	cJSON_ReplaceItemInObject(follow, "type", cJSON_CreateString("follow"));
	gone = notif("74", fx.now - HOUR, NULL);
	cJSON_AddNullToObject(gone, "status");
	respond_verify();
	respond_json(NOTIFS "&min_id=70", 200, array(
	    notif("75", fx.now - HOUR, NULL), gone, follow,
	    mention("72", "7072", fx.now - 2 * HOUR), NULL), NULL);
	respond(NOTIFS "&min_id=75", 200, "[]", NULL);
	start(0, "70");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fx.job.nstored, 1);
	stored("7072");
	ck_assert_str_eq(fx.job.commits[0], "75");
}
END_TEST

/* ---- failures ------------------------------------------------------------------ */

START_TEST(auth_401)
{
	respond("/verify_credentials", 401,
	    "{\"error\":\"The access token is invalid\"}", NULL);
	start(0, "1");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_AUTH);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error,
	    "The access token is invalid"));
	ck_assert_ptr_null(strstr(fx.job.result.error, TOKEN));
	ck_assert_uint_eq(fx.job.nstored, 0);
	ck_assert_uint_eq(fake_http->nreqs, 1);
}
END_TEST

START_TEST(auth_403_page)
{
	respond_verify();
	respond(NOTIFS, 403, "{\"error\":\"This action is outside the "
	    "authorized scopes\"}", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_AUTH);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error,
	    "outside the authorized scopes"));
}
END_TEST

START_TEST(rate_limited_retry_after)
{
	respond_verify();
	respond(NOTIFS, 429, "{\"error\":\"Too many requests\"}",
	    "Retry-After: 120", "X-RateLimit-Limit: 300",
	    "X-RateLimit-Remaining: 0",
	    "X-RateLimit-Reset: 2026-08-14T10:05:00.123456Z", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RATE_LIMITED);
	ck_assert_int_eq(fx.job.result.retry_at_ms, fx.now + 120 * 1000);
	ck_assert_int_eq(fx.job.result.rl.limit, 300);
	ck_assert_int_eq(fx.job.result.rl.remaining, 0);
	ck_assert_int_eq(fx.job.result.rl.reset_ms,
	    at("2026-08-14T10:05:00.123Z"));
	ck_assert_ptr_nonnull(strstr(fx.job.result.error,
	    "Too many requests"));
}
END_TEST

START_TEST(rate_limited_reset)
{
	respond_verify();
	respond(NOTIFS, 429, "{\"error\":\"Too many requests\"}",
	    "X-RateLimit-Limit: 300", "X-RateLimit-Remaining: 0",
	    "X-RateLimit-Reset: 2026-08-14T10:05:00.000000Z", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RATE_LIMITED);
	ck_assert_int_eq(fx.job.result.retry_at_ms,
	    at("2026-08-14T10:05:00Z"));
	ck_assert_int_eq(fx.job.result.rl.remaining, 0);
}
END_TEST

START_TEST(server_error_500)
{
	respond_verify();
	respond(NOTIFS, 500, "<html>oops</html>", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error, "500"));
}
END_TEST

START_TEST(transport_error)
{
	respond_error("/verify_credentials", HTTP_E_TIMEOUT);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
	ck_assert_str_eq(fx.job.result.error, "Operation timed out");
}
END_TEST

/* A cut-off body is worth a retry; a body that is not JSON is not. */
START_TEST(truncated_body)
{
	static const char body[] = "[{\"id\":\"1\",\"type\":\"mention\",\"sta";

	respond_verify();
	respond(NOTIFS, 200, body, NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error, "truncated"));
}
END_TEST

START_TEST(not_json_body)
{
	respond_verify();
	respond(NOTIFS, 200, "<html><body>Maintenance</body></html>", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
}
END_TEST

/* What is wrong with notifications[2] of a page, and how it is named. */
static const struct {
	const char	*field;		/* "status.x" or "x" (notification) */
	const char	*json;		/* the value; NULL: removed */
	const char	*error;
} bad_cases[] = {
	{ "status.created_at", "12345",
	  "notifications[2].status.created_at: expected a string, got a "
	  "number" },
	{ "status.created_at", "\"yesterday\"",
	  "notifications[2].status.created_at: \"yesterday\" is not an RFC "
	  "3339 time" },
	{ "status.created_at", "\"1999-12-31T23:59:59Z\"",
	  "notifications[2].status.created_at: 1999-12-31T23:59:59Z is before "
	  "2000" },
	{ "status.created_at", "\"2026-08-15T10:00:01Z\"",
	  "notifications[2].status.created_at: 2026-08-15T10:00:01Z is more "
	  "than a day in the future" },
	{ "status.id", NULL, "notifications[2].status.id" },
	{ "status.id", "42", "notifications[2].status.id: expected a string, "
	  "got a number" },
	{ "status.account", "[]", "notifications[2].status.account: expected "
	  "an object, got an array" },
	{ "status.account.acct", "5", "notifications[2].status.account.acct: "
	  "expected a string, got a number" },
	{ "status.account.acct", "\"dana\xff\"", NULL },
	{ "status.account.id", NULL, "notifications[2].status.account.id" },
	{ "status.visibility", "null", "notifications[2].status.visibility" },
	{ "status.in_reply_to_id", "7", "notifications[2].status."
	  "in_reply_to_id: expected a string, got a number" },
	{ "status.content", "{}", "notifications[2].status.content: expected "
	  "a string, got an object" },
	{ "status.url", "false", "notifications[2].status.url: expected a "
	  "string, got a boolean" },
	{ "status", "\"gone\"", "notifications[2].status: expected an object, "
	  "got a string" },
	{ "id", "3", "notifications[2].id: expected a string, got a number" },
	{ "created_at", NULL, "notifications[2].created_at" },
};

static cJSON *
bad_page(size_t c)
{
	cJSON *page, *o, *v;
	char *path = xstrdup(bad_cases[c].field), *dot, *name = path;

	page = array(mention("13", "8013", fx.now - HOUR),
	    mention("12", "8012", fx.now - 2 * HOUR),
	    mention("11", "8011", fx.now - 3 * HOUR), NULL);
	o = cJSON_GetArrayItem(page, 2);
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
		cJSON_ReplaceItemInObjectCaseSensitive(o, name, v);
	}
	free(path);
	return page;
}

/* A bad page: the poll fails naming the field, nothing of it is stored,
 * and what came before it stays. */
START_TEST(bad_data)
{
	char *l = link_to("prev", BASE "/api/v1/notifications?types[]="
	    "mention&min_id=10&p=2");
	size_t i = (size_t)_i;

	respond_verify();
	respond_json(NOTIFS "&min_id=9", 200, array(mention("10", "8010",
	    fx.now - 4 * HOUR), NULL), l, NULL);
	respond_json("p=2", 200, bad_page(i), NULL);
	free(l);
	start(0, "9");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	if (bad_cases[i].error == NULL)
		ck_assert_str_eq(fx.job.result.error,
		    "notifications[2].status.account.acct: invalid UTF-8");
	else if (strstr(bad_cases[i].error, ": ") == NULL)
		/* missing: jsonget says how */
		ck_assert_msg(strncmp(fx.job.result.error, bad_cases[i].error,
		    strlen(bad_cases[i].error)) == 0 &&
		    strstr(fx.job.result.error, "missing") != NULL,
		    "error \"%s\"", fx.job.result.error);
	else
		ck_assert_str_eq(fx.job.result.error, bad_cases[i].error);
	ck_assert_uint_eq(fx.job.ncommits, 1);
	ck_assert_str_eq(fx.job.commits[0], "10");
	ck_assert_uint_eq(fx.job.nstored, 1);
	stored("8010");
	ck_assert_uint_eq(fx.job.npending, 0);
}
END_TEST

/* On a first poll, a bad page leaves nothing at all. */
START_TEST(bad_data_backfill)
{
	char *l = link_to("next", BASE "/api/v1/notifications?types[]="
	    "mention&max_id=10");

	respond_verify();
	respond_json(NOTIFS, 200, array(mention("10", "8010",
	    fx.now - 4 * HOUR), NULL), l, NULL);
	respond("max_id=10", 200, "{\"error\":\"not a list\"}", NULL);
	free(l);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_str_eq(fx.job.result.error,
	    "notifications: expected an array, got an object");
	ck_assert_ptr_null(fx.job.result.cursor);
	ck_assert_uint_eq(fx.job.ncommits, 0);
	ck_assert_uint_eq(fx.job.nstored, 0);
}
END_TEST

START_TEST(bad_context)
{
	respond_verify();
	respond_json(NOTIFS "&min_id=1", 200, array(notif("50", fx.now - HOUR,
	    status("801", fx.now - HOUR, "110000000000000042",
	    "dana@social.example", "public", "800", "<p>x</p>")), NULL),
	    NULL);
	respond("/statuses/800/context", 200, "{\"ancestors\":[{\"id\":1}]}",
	    NULL);
	start(0, "1");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_str_eq(fx.job.result.error,
	    "context.ancestors[0].id: expected a string, got a number");
	ck_assert_uint_eq(fx.job.nstored, 0);
}
END_TEST

START_TEST(bad_verify)
{
	respond("/verify_credentials", 200, "{\"acct\":\"acme\"}", NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_msg(strncmp(fx.job.result.error, "verify_credentials.id",
	    21) == 0, "error \"%s\"", fx.job.result.error);
}
END_TEST

/* The job refuses a message: the poll ends with bad data. */
START_TEST(add_refused)
{
	respond_verify();
	respond_json(NOTIFS "&min_id=1", 200, array(
	    mention("3", "9003", fx.now - HOUR),
	    mention("2", "9002", fx.now - 2 * HOUR), NULL), NULL);
	start(0, "1");
	fx.job.reject_id = "9003";
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_str_eq(fx.job.result.error, "message 9003 refused");
	ck_assert_uint_eq(fx.job.nstored, 0);
	ck_assert_uint_eq(fx.job.ncommits, 0);
}
END_TEST

/* The window is used up after a page: stop there, say when to come back. */
START_TEST(remaining_zero)
{
	char *l = link_to("prev", BASE "/api/v1/notifications?types[]="
	    "mention&min_id=103");

	respond_verify();
	respond_json(NOTIFS "&min_id=100", 200, array(
	    mention("103", "1103", fx.now - HOUR),
	    mention("102", "1102", fx.now - 2 * HOUR), NULL), l,
	    "X-RateLimit-Limit: 300", "X-RateLimit-Remaining: 0",
	    "X-RateLimit-Reset: 2026-08-14T10:03:20.500000Z", NULL);
	free(l);
	start(0, "100");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_int_eq(fx.job.result.retry_at_ms,
	    at("2026-08-14T10:03:20.500Z"));
	ck_assert_int_eq(fx.job.result.rl.remaining, 0);
	ck_assert_int_eq(fx.job.result.rl.limit, 300);
	ck_assert_uint_eq(fake_http->nreqs, 2);
	ck_assert_uint_eq(fx.job.ncommits, 1);
	ck_assert_str_eq(fx.job.commits[0], "103");
	ck_assert_uint_eq(fx.job.nstored, 2);
}
END_TEST

/* Cancelled with a page request in flight: what was committed stays. */
START_TEST(cancel_paging)
{
	char *l = link_to("prev", BASE "/api/v1/notifications?types[]="
	    "mention&min_id=103");

	respond_verify();
	respond_json(NOTIFS "&min_id=100", 200, array(
	    mention("103", "1203", fx.now - HOUR), NULL), l, NULL);
	free(l);
	start(0, "100");
	ck_assert_int_eq(deliver(), 1);
	ck_assert_int_eq(deliver(), 1);
	ck_assert_uint_eq(http_running(fake_http), 1);
	ck_assert_int_eq(fx.job.ndone, 0);
	connector_mastodon.cancel(fx.conn, &fx.job);
	ck_assert_int_eq(fx.job.ndone, 1);
	ck_assert_int_eq(fx.job.result.status, POLL_CANCELLED);
	ck_assert_ptr_null(fx.job.result.cursor);
	ck_assert_uint_eq(fake_http->ncancelled, 1);
	ck_assert_uint_eq(http_running(fake_http), 0);
	ck_assert_uint_eq(fx.job.ncommits, 1);
	ck_assert_uint_eq(fx.job.nstored, 1);
	ck_assert_ptr_null(fx.job.data);
}
END_TEST

/* Cancelled while a page waits for a thread's root: none of it stays. */
START_TEST(cancel_context)
{
	respond_verify();
	respond_json(NOTIFS, 200, array(notif("50", fx.now - HOUR,
	    status("801", fx.now - HOUR, "110000000000000042",
	    "dana@social.example", "public", "800", "<p>x</p>")), NULL),
	    NULL);
	start(0, NULL);
	ck_assert_int_eq(deliver(), 1);
	ck_assert_int_eq(deliver(), 1);
	ck_assert_str_eq(fake_http->reqs[2].url, BASE
	    "/api/v1/statuses/800/context");
	connector_mastodon.cancel(fx.conn, &fx.job);
	ck_assert_int_eq(fx.job.result.status, POLL_CANCELLED);
	ck_assert_uint_eq(fake_http->ncancelled, 1);
	ck_assert_uint_eq(http_running(fake_http), 0);
	ck_assert_uint_eq(fx.job.nstored, 0);
}
END_TEST

/* 100 pages at most per poll; the next poll goes on from the cursor. */
START_TEST(page_cap)
{
	char pat[32], id[16], sid[16], *l;
	int i;

	respond_verify();
	for (i = 0; i <= 100; i++) {
		snprintf(pat, sizeof pat, "min_id=%d&p", 1000 + i);
		snprintf(id, sizeof id, "%d", 1001 + i);
		snprintf(sid, sizeof sid, "%d", 5001 + i);
		xasprintf(&l, "Link: <" BASE "/api/v1/notifications?min_id=%d&"
		    "p=1>; rel=\"prev\"", 1001 + i);
		respond_json(i == 0 ? NOTIFS "&min_id=1000" : pat, 200,
		    array(mention(id, sid, fx.now - HOUR), NULL), l, NULL);
		free(l);
	}
	start(0, "1000");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 1 + 100);
	ck_assert_uint_eq(fx.job.ncommits, 100);
	ck_assert_str_eq(fx.job.commits[99], "1100");
	ck_assert_uint_eq(fx.job.nstored, 100);
	ck_assert_int_eq(fake_http->canned[101].used, 0);
}
END_TEST

/* ---- set-up ------------------------------------------------------------------- */

START_TEST(new_refuses)
{
	static const struct {
		const char	*url;
		const char	*secret;
		const char	*error;
	} cases[] = {
		{ NULL, TOKEN, "url is required" },
		{ "http://mastodon.example", TOKEN, "url: http://" },
		{ "mastodon.example", TOKEN, "url: not a URL" },
		{ BASE "/?x=1", TOKEN, "url: the server's address takes no" },
		{ BASE, NULL, "an access token is required" },
		{ BASE, "", "an access token is required" },
		{ BASE, "abc\r\nX-Evil: 1", "the access token contains" },
	};
	struct conf_account a;
	struct connector_env env;
	char *err;
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		memset(&a, 0, sizeof a);
		a.name = "x";
		a.url = (char *)cases[i].url;
		env = fx.env;
		env.account = &a;
		env.secret = cases[i].secret;
		err = NULL;
		ck_assert_ptr_null(connector_mastodon.new(&env, &err));
		ck_assert_msg(err != NULL && strncmp(err, cases[i].error,
		    strlen(cases[i].error)) == 0, "case %zu: \"%s\"", i, err);
		free(err);
	}
	ck_assert_str_eq(connector_mastodon.name, "mastodon");
	ck_assert_str_eq(connector_mastodon.platform, "mastodon");
	ck_assert_str_eq(connector_mastodon.streams[0], "mentions");
	ck_assert_str_eq(connector_mastodon.streams[1], "statuses");
	ck_assert_ptr_null(connector_mastodon.streams[2]);
	ck_assert_int_eq(connector_mastodon.needs_secret, 1);
	ck_assert_ptr_null(connector_mastodon.default_url);
}
END_TEST

/* A trailing '/' and a loopback http:// server are fine. */
START_TEST(new_url_forms)
{
	struct conf_account a;
	struct connector_env env;
	char *err = NULL;
	void *c;

	memset(&a, 0, sizeof a);
	a.name = "local";
	a.url = "http://127.0.0.1:3000/";
	env = fx.env;
	env.account = &a;
	c = connector_mastodon.new(&env, &err);
	ck_assert_msg(c != NULL, "%s", err);
	respond("http://127.0.0.1:3000/api/v1/accounts/verify_credentials",
	    200, verify_body, NULL);
	respond("http://127.0.0.1:3000/api/v1/notifications?", 200, "[]",
	    NULL);
	fake_job_clear(&fx.job);
	fx.job.now = fx.now;
	connector_mastodon.poll(c, &fx.job);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	assert_url(1, "http://127.0.0.1:3000/api/v1/notifications?types%5B%5D="
	    "mention&limit=80&include_filtered=true");
	connector_mastodon.free(c);
}
END_TEST

static Suite *
mastodon_suite(void)
{
	Suite *s = suite_create("mastodon");
	TCase *tc;

	tc = tcase_create("mapping");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mention_direct);
	tcase_add_test(tc, mention_public_reply);
	tcase_add_test(tc, conversation_parent_is_root);
	tcase_add_test(tc, conversation_same_page);
	tcase_add_test(tc, brand_outbound);
	tcase_add_test(tc, brand_once_and_cache);
	tcase_add_test(tc, context_gone);
	suite_add_tcase(s, tc);

	tc = tcase_create("text");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, html_text, 0, (int)NELEM(html_cases));
	tcase_add_loop_test(tc, html_text_cut, 0, 4);
	suite_add_tcase(s, tc);

	tc = tcase_create("paging");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, incremental_three_pages);
	tcase_add_test(tc, incremental_id_order);
	tcase_add_test(tc, incremental_no_progress);
	tcase_add_loop_test(tc, link_foreign_host, 0,
	    (int)NELEM(foreign_links));
	tcase_add_test(tc, backfill_since);
	tcase_add_test(tc, backfill_until_empty);
	tcase_add_test(tc, backfill_empty);
	tcase_add_test(tc, notification_without_status);
	tcase_add_test(tc, page_cap);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, auth_401);
	tcase_add_test(tc, auth_403_page);
	tcase_add_test(tc, rate_limited_retry_after);
	tcase_add_test(tc, rate_limited_reset);
	tcase_add_test(tc, server_error_500);
	tcase_add_test(tc, transport_error);
	tcase_add_test(tc, truncated_body);
	tcase_add_test(tc, not_json_body);
	tcase_add_loop_test(tc, bad_data, 0, (int)NELEM(bad_cases));
	tcase_add_test(tc, bad_data_backfill);
	tcase_add_test(tc, bad_context);
	tcase_add_test(tc, bad_verify);
	tcase_add_test(tc, add_refused);
	tcase_add_test(tc, remaining_zero);
	tcase_add_test(tc, cancel_paging);
	tcase_add_test(tc, cancel_context);
	suite_add_tcase(s, tc);

	tc = tcase_create("setup");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, new_refuses);
	tcase_add_test(tc, new_url_forms);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* the connector's warnings are expected here: REPLYWATCH_DEBUG=1
	 * shows them and its debug lines */
	log_init("check-mastodon", getenv("REPLYWATCH_DEBUG") != NULL ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	sr = srunner_create(mastodon_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
