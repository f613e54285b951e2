/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "connector-lib.h"
#include "connector.h"
#include "http.h"
#include "log.h"
#include "msg.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * The X connector against the fake HTTP client and poll job of
 * connector-lib.h, like check-mastodon.c: canned responses matched by a
 * piece of the URL, delivered only when the test calls deliver(); the job
 * records what it is handed, each commit's cursor and how the poll ended.
 * Tokens are renewed through the fake too, and the state file is written
 * to a temporary directory.
 */

extern const struct connector_def connector_x;

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define BASE		"https://api.x.example"
#define BRAND		"1550000000000000001"
#define NOW_S		"2026-08-14T10:00:00Z"
#define HOUR		(INT64_C(3600) * 1000)
#define MENTIONS	BASE "/2/users/" BRAND "/mentions?"
#define TWEETS		BASE "/2/users/" BRAND "/tweets?"
#define DMS		BASE "/2/dm_events?"
#define TOKEN_URL	BASE "/2/oauth2/token"
#define RL(rem)		"x-rate-limit-limit: 300", \
			"x-rate-limit-remaining: " #rem, \
			"x-rate-limit-reset: 1786702500"
#define RESET_MS	INT64_C(1786702500000)

/* platform-apis.md §1.5 */
static const char example_mentions[] =
    "{\"data\":[{\"id\":\"1947712033418608812\",\"text\":\"@AcmeSupport my "
    "order #4411 never arrived, can you help?\",\"author_id\":\"2244994945\","
    "\"conversation_id\":\"1947712033418608812\",\"created_at\":"
    "\"2026-08-14T09:31:07.000Z\",\"edit_history_tweet_ids\":"
    "[\"1947712033418608812\"]},{\"id\":\"1947709981220511744\",\"text\":"
    "\"@AcmeSupport thanks, that fixed it &amp; more\",\"author_id\":"
    "\"783214\",\"conversation_id\":\"1947701200311230464\",\"created_at\":"
    "\"2026-08-14T09:22:58.000Z\",\"in_reply_to_user_id\":"
    "\"1550000000000000001\",\"referenced_tweets\":[{\"type\":\"replied_to\","
    "\"id\":\"1947705522019987456\"}],\"edit_history_tweet_ids\":"
    "[\"1947709981220511744\"]}],\"includes\":{\"users\":[{\"id\":"
    "\"2244994945\",\"name\":\"Dana K\",\"username\":\"danak\"},{\"id\":"
    "\"783214\",\"name\":\"Lee\",\"username\":\"lee_w\"}]},\"meta\":{"
    "\"result_count\":2,\"newest_id\":\"1947712033418608812\",\"oldest_id\":"
    "\"1947709981220511744\"}}";

static const char example_reply[] =
    "{\"data\":[{\"id\":\"1947713500003913728\",\"text\":\"@danak Sorry "
    "about that!\",\"author_id\":\"1550000000000000001\",\"conversation_id\":"
    "\"1947712033418608812\",\"created_at\":\"2026-08-14T09:36:57.000Z\","
    "\"in_reply_to_user_id\":\"2244994945\",\"referenced_tweets\":[{\"type\":"
    "\"replied_to\",\"id\":\"1947712033418608812\"}]}],\"meta\":{"
    "\"result_count\":1,\"newest_id\":\"1947713500003913728\",\"oldest_id\":"
    "\"1947713500003913728\"}}";

static const char example_dms[] =
    "{\"data\":[{\"id\":\"1947714290112266240\",\"event_type\":"
    "\"MessageCreate\",\"text\":\"Hi Dana, could you share the email?\","
    "\"sender_id\":\"1550000000000000001\",\"dm_conversation_id\":"
    "\"1550000000000000001-2244994945\",\"created_at\":"
    "\"2026-08-14T09:40:05.000Z\"},{\"id\":\"1947713902215737344\","
    "\"event_type\":\"MessageCreate\",\"text\":\"Order 4411, still nothing\","
    "\"sender_id\":\"2244994945\",\"dm_conversation_id\":"
    "\"1550000000000000001-2244994945\",\"created_at\":"
    "\"2026-08-14T09:38:33.000Z\"},{\"id\":\"1947713000000000000\","
    "\"event_type\":\"MessageCreate\",\"text\":\"stored already\","
    "\"sender_id\":\"2244994945\",\"dm_conversation_id\":"
    "\"1550000000000000001-2244994945\",\"created_at\":"
    "\"2026-08-14T09:30:00.000Z\"}],\"includes\":{\"users\":[{\"id\":"
    "\"2244994945\",\"name\":\"Dana K\",\"username\":\"danak\"}]},"
    "\"meta\":{\"result_count\":3,\"next_token\":\"18LAA581J5II7LA00000\"}}";

static const char problem_401[] =
    "{\"title\":\"Unauthorized\",\"type\":\"about:blank\",\"status\":401,"
    "\"detail\":\"Unauthorized\"}";
static const char token_answer[] =
    "{\"token_type\":\"bearer\",\"expires_in\":7200,\"access_token\":"
    "\"at-2\",\"scope\":\"tweet.read users.read dm.read offline.access\","
    "\"refresh_token\":\"rt-2\"}";

/* ---- the fake HTTP client and poll job (connector-lib.h) ------------------- */

/* The token goes to the configured server only. */
static char *
check_start(const struct http_request *req, void *ctx)
{
	ck_assert_msg(strncmp(req->url, BASE "/", strlen(BASE) + 1) == 0 ||
	    strncmp(req->url, "http://127.0.0.1", 16) == 0, "%s", req->url);
	return NULL;
}

static const struct fake_http_opts http_rules = {
	.on_start = check_start,
};

static struct http *fake_http;

#define respond(...)		fake_http_respond(fake_http, __VA_ARGS__)
#define respond_error(pattern, error) \
	fake_http_respond_error(fake_http, pattern, error)

static int
deliver(void)
{
	return fake_http_deliver(fake_http);
}

/* ---- fixture ---------------------------------------------------------------- */

static struct {
	struct conf_account account;
	struct connector_env env;
	void		*conn;
	struct poll_job	 job;
	int64_t		 now;
	char		 dir[64];
	char		*refresh_file;
	char		*state_file;
} fx;

static void
write_file(const char *path, const char *text)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static char *
read_file(const char *path)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return xstrdup(buf);
}

static void
connect_x(void)
{
	char *err = NULL;

	fx.conn = connector_x.new(&fx.env, &err);
	ck_assert_msg(fx.conn != NULL, "new: %s", err);
}

static void
setup(void)
{
	memset(&fx, 0, sizeof fx);
	ck_assert_int_eq(timefmt_parse_rfc3339(NOW_S, &fx.now), 0);
	snprintf(fx.dir, sizeof fx.dir, "/tmp/check-x.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	xasprintf(&fx.refresh_file, "%s/refresh.token", fx.dir);
	xasprintf(&fx.state_file, "%s/acme.x-oauth", fx.dir);
	write_file(fx.refresh_file, "rt-1\n");
	fake_http = fake_http_new(&http_rules);
	fx.account.name = "acme";
	fx.account.url = BASE;
	fx.account.connector = "x";
	fx.account.platform_id = BRAND;
	fx.account.client_id = "client-1";
	fx.account.refresh_token_file = fx.refresh_file;
	fx.account.backfill_ms = 24 * HOUR;
	fx.env.account = &fx.account;
	fx.env.secret = "at-1";
	fx.env.http = fake_http;
	fx.env.state_dir = fx.dir;
	connect_x();
}

static void
teardown(void)
{
	char *p;

	fake_job_clear(&fx.job);
	connector_x.free(fx.conn);
	fake_http_free(fake_http);
	fake_http = NULL;
	unlink(fx.refresh_file);
	unlink(fx.state_file);
	xasprintf(&p, "%s/secret", fx.dir);
	unlink(p);
	free(p);
	rmdir(fx.dir);
	free(fx.refresh_file);
	free(fx.state_file);
}

static void
start(int stream, const char *cursor)
{
	fake_job_clear(&fx.job);
	fake_job_init(&fx.job, stream, cursor, fx.now);
	connector_x.poll(fx.conn, &fx.job);
}

static void
run(void)
{
	fake_job_run(&fx.job, fake_http, 500);
}

static int64_t
at(const char *s)
{
	int64_t ms;

	ck_assert_int_eq(timefmt_parse_rfc3339(s, &ms), 0);
	return ms;
}

static const struct msg *
stored(const char *id)
{
	return fake_job_stored(&fx.job, id);
}

/* "METHOD URL" of request i has piece. */
static int
url_has(size_t i, const char *piece)
{
	char *line;
	int has;

	ck_assert_uint_lt(i, fake_http->nreqs);
	xasprintf(&line, "%s %s", fake_http->reqs[i].method,
	    fake_http->reqs[i].url);
	has = strstr(line, piece) != NULL;
	free(line);
	return has;
}

static void
last_commit_is(const char *cursor)
{
	ck_assert_uint_gt(fx.job.ncommits, 0);
	ck_assert_str_eq(fx.job.commits[fx.job.ncommits - 1], cursor);
}

/* ---- mapping ------------------------------------------------------------------ */

START_TEST(mentions_first_poll)
{
	const struct msg *m;

	respond(MENTIONS, 200, example_mentions, RL(297), NULL);
	start(0, NULL);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 1);
	ck_assert(url_has(0, "GET " MENTIONS "max_results=100&tweet.fields="
	    "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,"
	    "author_id&expansions=author_id&user.fields=username"
	    "&start_time=2026-08-13T10%3A00%3A00Z"));
	ck_assert_str_eq(fake_http->reqs[0].auth, "Authorization: Bearer at-1");
	ck_assert_uint_eq(fx.job.nstored, 2);
	/* oldest first */
	ck_assert_str_eq(fx.job.stored[0].id, "1947709981220511744");
	last_commit_is("1947712033418608812");
	ck_assert_int_eq(fx.job.result.rl.limit, 300);
	ck_assert_int_eq(fx.job.result.rl.remaining, 297);
	ck_assert_int_eq(fx.job.result.rl.reset_ms, RESET_MS);
	ck_assert_int_eq(fx.job.result.retry_at_ms, -1);

	m = stored("1947712033418608812");
	ck_assert_int_eq(m->kind, MSG_BROADCAST);
	ck_assert_int_eq(m->direction, MSG_INBOUND);
	ck_assert_str_eq(m->conversation, "1947712033418608812");
	ck_assert_str_eq(m->author, "danak");
	ck_assert_ptr_null(m->in_reply_to);
	ck_assert_int_eq(m->created_ms, at("2026-08-14T09:31:07Z"));
	ck_assert_str_eq(m->url, "https://x.com/danak/status/"
	    "1947712033418608812");
	m = stored("1947709981220511744");
	ck_assert_str_eq(m->conversation, "1947701200311230464");
	ck_assert_str_eq(m->in_reply_to, "1947705522019987456");
	ck_assert_str_eq(m->author, "lee_w");
	ck_assert_str_eq(m->text, "@AcmeSupport thanks, that fixed it & more");
}
END_TEST

START_TEST(tweets_outbound)
{
	const struct msg *m;

	respond(TWEETS, 200, example_reply, NULL);
	start(1, "1947700000000000000");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert(url_has(0, "&since_id=1947700000000000000"));
	ck_assert(url_has(0, "&exclude=retweets"));
	m = stored("1947713500003913728");
	ck_assert_int_eq(m->kind, MSG_BROADCAST);
	ck_assert_int_eq(m->direction, MSG_OUTBOUND);
	ck_assert_str_eq(m->conversation, "1947712033418608812");
	ck_assert_str_eq(m->in_reply_to, "1947712033418608812");
	/* not expanded: the id */
	ck_assert_str_eq(m->author, BRAND);
	ck_assert_str_eq(m->url, "https://x.com/i/web/status/"
	    "1947713500003913728");
	last_commit_is("1947713500003913728");
}
END_TEST

/*
 * OpenAPI v2.167 names the replied-to list referenced_posts (and the edit
 * history edit_history_post_ids); which name the server sends is
 * unconfirmed, so both are read, the old one winning when both are there.
 */
START_TEST(referenced_posts)
{
	static const char body[] =
	    "{\"data\":[{\"id\":\"21\",\"text\":\"new naming\",\"author_id\":"
	    "\"7\",\"conversation_id\":\"20\",\"created_at\":"
	    "\"2026-08-14T09:00:00.000Z\",\"referenced_posts\":[{\"type\":"
	    "\"quoted\",\"id\":\"19\"},{\"type\":\"replied_to\",\"id\":"
	    "\"20\"}],\"edit_history_post_ids\":[\"21\"]},{\"id\":\"22\","
	    "\"text\":\"both names\",\"author_id\":\"7\",\"conversation_id\":"
	    "\"20\",\"created_at\":\"2026-08-14T09:01:00.000Z\","
	    "\"referenced_tweets\":[{\"type\":\"replied_to\",\"id\":\"21\"}],"
	    "\"referenced_posts\":[{\"type\":\"replied_to\",\"id\":\"20\"}]},"
	    "{\"id\":\"23\",\"text\":\"no reference\",\"author_id\":\"7\","
	    "\"conversation_id\":\"23\",\"created_at\":"
	    "\"2026-08-14T09:02:00.000Z\",\"referenced_posts\":[]}]}";

	respond(MENTIONS, 200, body, NULL);
	start(0, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fx.job.nstored, 3);
	ck_assert_str_eq(stored("21")->in_reply_to, "20");
	ck_assert_str_eq(stored("22")->in_reply_to, "21");
	ck_assert_ptr_null(stored("23")->in_reply_to);
}
END_TEST

/* DMs page back to the stored event and no further. */
START_TEST(dm_until_stored)
{
	const struct msg *m;

	respond(DMS, 200, example_dms, NULL);
	start(2, "1947713000000000000");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 1);
	ck_assert(url_has(0, "dm_event.fields=id,event_type,text,sender_id,"
	    "dm_conversation_id,created_at&expansions=sender_id"));
	ck_assert(!url_has(0, "since_id"));
	ck_assert_uint_eq(fx.job.nstored, 2);
	m = stored("1947713902215737344");
	ck_assert_int_eq(m->kind, MSG_DIRECT);
	ck_assert_int_eq(m->direction, MSG_INBOUND);
	ck_assert_str_eq(m->conversation, "1550000000000000001-2244994945");
	ck_assert_str_eq(m->author, "danak");
	ck_assert_ptr_null(m->url);
	m = stored("1947714290112266240");
	ck_assert_int_eq(m->direction, MSG_OUTBOUND);
	ck_assert_str_eq(m->author, BRAND);
	last_commit_is("1947714290112266240");
}
END_TEST

START_TEST(users_me)
{
	connector_x.free(fx.conn);
	fx.account.platform_id = NULL;
	connect_x();
	respond(BASE "/2/users/me", 200, "{\"data\":{\"id\":\"" BRAND "\","
	    "\"name\":\"Acme\",\"username\":\"acme\"}}", NULL);
	respond(TWEETS, 200, example_reply, NULL);
	start(1, "1");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_str_eq(stored("1947713500003913728")->author, "acme");
	ck_assert_str_eq(stored("1947713500003913728")->url,
	    "https://x.com/acme/status/1947713500003913728");
	/* once */
	respond(TWEETS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(1, "1");
	run();
	ck_assert_uint_eq(fake_http->nreqs, 3);
}
END_TEST

/* ---- paging ---------------------------------------------------------------- */

static char *
page(const char *id1, const char *id2, const char *next)
{
	char *s, *n = NULL;

	if (next != NULL)
		xasprintf(&n, ",\"next_token\":\"%s\"", next);
	xasprintf(&s, "{\"data\":[{\"id\":\"%s\",\"text\":\"a\",\"author_id\":"
	    "\"7\",\"conversation_id\":\"%s\",\"created_at\":"
	    "\"2026-08-14T09:00:00.000Z\"},{\"id\":\"%s\",\"text\":\"b\","
	    "\"author_id\":\"7\",\"conversation_id\":\"%s\",\"created_at\":"
	    "\"2026-08-14T08:00:00.000Z\"}],\"meta\":{\"result_count\":2%s}}",
	    id1, id1, id2, id2, n != NULL ? n : "");
	free(n);
	return s;
}

START_TEST(mentions_pages)
{
	char *p1 = page("900", "800", "tok-page-2-xxxxxxxx");
	char *p2 = page("700", "600", NULL);

	respond("since_id=500&pagination_token=tok-page-2", 200, p2, NULL);
	respond("since_id=500", 200, p1, NULL);
	start(0, "500");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 2);
	ck_assert_uint_eq(fx.job.nstored, 4);
	ck_assert_uint_eq(fx.job.ncommits, 2);
	/* after the first page: 900 stored down to 800, the gap 500..800 */
	ck_assert_str_eq(fx.job.commits[0], "900 500 800");
	ck_assert_str_eq(fx.job.commits[1], "900");
	free(p1);
	free(p2);
}
END_TEST

/* A gap left by an earlier poll is closed with until_id first. */
START_TEST(gap_resumed)
{
	char *p = page("700", "600", NULL);

	respond("since_id=500&until_id=800", 200, p, NULL);
	start(0, "900 500 800");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fx.job.nstored, 2);
	last_commit_is("900");
	free(p);
}
END_TEST

START_TEST(empty_page)
{
	respond(MENTIONS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(0, "500");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fx.job.nstored, 0);
	last_commit_is("(keep)");
}
END_TEST

/* Backfill with nothing: from the horizon on. */
START_TEST(empty_backfill)
{
	char want[64];

	respond(MENTIONS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(0, NULL);
	run();
	snprintf(want, sizeof want, "t%lld", (long long)(fx.now - 24 * HOUR));
	last_commit_is(want);
	respond("start_time=2026-08-13T10%3A00%3A00Z", 200,
	    "{\"meta\":{\"result_count\":0}}", NULL);
	start(0, want);
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	last_commit_is("(keep)");
}
END_TEST

START_TEST(remaining_zero_stops)
{
	char *p1 = page("900", "800", "tok-page-2-xxxxxxxx");

	respond(MENTIONS, 200, p1, RL(0), NULL);
	start(0, "500");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 1);
	ck_assert_int_eq(fx.job.result.retry_at_ms, RESET_MS);
	last_commit_is("900 500 800");
	free(p1);
}
END_TEST

/* Few DM requests left: one page, the token kept in the cursor. */
START_TEST(dm_budget_low)
{
	respond(DMS, 200, example_dms, "x-rate-limit-limit: 15",
	    "x-rate-limit-remaining: 2", "x-rate-limit-reset: 1786702500",
	    NULL);
	start(2, "1947000000000000000");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 1);
	ck_assert_uint_eq(fx.job.nstored, 3);
	last_commit_is("1947714290112266240 1947000000000000000 "
	    "18LAA581J5II7LA00000");
	/* the next poll goes on with the token */
	respond("pagination_token=18LAA581J5II7LA00000", 200,
	    "{\"meta\":{\"result_count\":0}}", "x-rate-limit-limit: 15",
	    "x-rate-limit-remaining: 1", "x-rate-limit-reset: 1786702500",
	    NULL);
	start(2, "1947714290112266240 1947000000000000000 "
	    "18LAA581J5II7LA00000");
	run();
	last_commit_is("1947714290112266240");
}
END_TEST

/* None left: no request until the reset. */
START_TEST(dm_budget_spent)
{
	respond(DMS, 200, "{\"meta\":{\"result_count\":0}}",
	    "x-rate-limit-limit: 15", "x-rate-limit-remaining: 0",
	    "x-rate-limit-reset: 1786702500", NULL);
	start(2, "5");
	run();
	ck_assert_int_eq(fx.job.result.retry_at_ms, RESET_MS);
	start(2, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_int_eq(fx.job.result.retry_at_ms, RESET_MS);
	ck_assert_int_eq(fx.job.result.rl.remaining, 0);
	ck_assert_uint_eq(fake_http->nreqs, 1);
	/* the other streams have their own budgets */
	respond(MENTIONS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(0, "5");
	run();
	ck_assert_uint_eq(fake_http->nreqs, 2);
	/* after the reset */
	fx.now = RESET_MS + 1000;
	respond(DMS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(2, "5");
	run();
	ck_assert_uint_eq(fake_http->nreqs, 3);
}
END_TEST

/* An expired page token of the cursor: from the newest page again. */
START_TEST(dm_token_expired)
{
	respond("pagination_token=old-token-xxxxxxxx", 400,
	    "{\"title\":\"Invalid Request\",\"detail\":\"bad token\"}", NULL);
	respond(DMS, 200, example_dms, NULL);
	start(2, "1947714290112266240 1947713000000000000 "
	    "old-token-xxxxxxxx");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 2);
	last_commit_is("1947714290112266240");
}
END_TEST

/* ---- the token -------------------------------------------------------------- */

START_TEST(refresh_on_401)
{
	char *state;

	respond(MENTIONS, 401, problem_401, NULL);
	respond(TOKEN_URL, 200, token_answer, NULL);
	respond(MENTIONS, 200, example_mentions, NULL);
	start(0, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 3);
	ck_assert_str_eq(fake_http->reqs[1].method, "POST");
	ck_assert_str_eq(fake_http->reqs[1].url, TOKEN_URL);
	ck_assert_str_eq(fake_http->reqs[1].body, "grant_type=refresh_token&"
	    "refresh_token=rt-1&client_id=client-1");
	ck_assert_ptr_null(fake_http->reqs[1].auth);
	ck_assert_str_eq(fake_http->reqs[2].auth, "Authorization: Bearer at-2");
	ck_assert_uint_eq(fx.job.nstored, 2);
	state = read_file(fx.state_file);
	ck_assert_ptr_nonnull(state);
	ck_assert_ptr_nonnull(strstr(state, "\"rt-2\""));
	ck_assert_ptr_nonnull(strstr(state, "\"at-2\""));
	free(state);

	/* a new start prefers the saved pair */
	connector_x.free(fx.conn);
	connect_x();
	respond(TWEETS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(1, "5");
	run();
	ck_assert_str_eq(fake_http->reqs[3].auth, "Authorization: Bearer at-2");

	/* new tokens in the configuration win over the saved ones */
	connector_x.free(fx.conn);
	fx.env.secret = "at-new";
	connect_x();
	respond(TWEETS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(1, "5");
	run();
	ck_assert_str_eq(fake_http->reqs[4].auth,
	    "Authorization: Bearer at-new");
}
END_TEST

/* A confidential client authenticates the refresh. */
START_TEST(refresh_confidential)
{
	char *secret;

	xasprintf(&secret, "%s/secret", fx.dir);
	write_file(secret, "s3cr3t\n");
	connector_x.free(fx.conn);
	fx.account.client_secret_file = secret;
	connect_x();
	respond(MENTIONS, 401, problem_401, NULL);
	respond(TOKEN_URL, 200, token_answer, NULL);
	respond(MENTIONS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(0, "5");
	run();
	/* base64("client-1:s3cr3t") */
	ck_assert_str_eq(fake_http->reqs[1].auth,
	    "Authorization: Basic Y2xpZW50LTE6czNjcjN0");
	fx.account.client_secret_file = NULL;
	free(secret);
}
END_TEST

START_TEST(refresh_refused)
{
	respond(MENTIONS, 401, problem_401, NULL);
	respond(TOKEN_URL, 400, "{\"error\":\"invalid_request\","
	    "\"error_description\":\"Value passed for the token was "
	    "invalid.\"}", NULL);
	start(0, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_AUTH);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error,
	    "invalid_request: Value passed for the token was invalid."));
	ck_assert_ptr_null(strstr(fx.job.result.error, "rt-1"));
	ck_assert_int_eq(access(fx.state_file, F_OK), -1);
}
END_TEST

START_TEST(no_refresh_401)
{
	connector_x.free(fx.conn);
	fx.account.refresh_token_file = NULL;
	fx.account.client_id = NULL;
	connect_x();
	respond(MENTIONS, 401, problem_401, NULL);
	start(0, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_AUTH);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error,
	    "HTTP 401: Unauthorized"));
	ck_assert_uint_eq(fake_http->nreqs, 1);
}
END_TEST

/* Two polls meet a 401: one refresh, both go on with the new token. */
START_TEST(refresh_shared)
{
	struct poll_job other;

	fake_job_init(&other, 1, "5", fx.now);
	respond(MENTIONS, 401, problem_401, NULL);
	respond(TWEETS, 401, problem_401, NULL);
	respond(TOKEN_URL, 200, token_answer, NULL);
	respond(MENTIONS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	respond(TWEETS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(0, "5");
	connector_x.poll(fx.conn, &other);
	while ((fx.job.ndone == 0 || other.ndone == 0) && deliver())
		;
	ck_assert_int_eq(fx.job.result.status, POLL_OK);
	ck_assert_int_eq(other.result.status, POLL_OK);
	ck_assert_uint_eq(fake_http->nreqs, 5);
	ck_assert_str_eq(fake_http->reqs[3].auth, "Authorization: Bearer at-2");
	ck_assert_str_eq(fake_http->reqs[4].auth, "Authorization: Bearer at-2");
	fake_job_clear(&other);
}
END_TEST

/* A token about to expire is renewed before it is used. */
START_TEST(refresh_ahead)
{
	respond(MENTIONS, 401, problem_401, NULL);
	respond(TOKEN_URL, 200, token_answer, NULL);
	respond(MENTIONS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(0, "5");
	run();
	fx.now += 7200 * 1000;
	respond(TOKEN_URL, 200, token_answer, NULL);
	respond(MENTIONS, 200, "{\"meta\":{\"result_count\":0}}", NULL);
	start(0, "5");
	run();
	ck_assert_uint_eq(fake_http->nreqs, 5);
	ck_assert_str_eq(fake_http->reqs[3].method, "POST");
	ck_assert_str_eq(fake_http->reqs[3].url, TOKEN_URL);
	ck_assert_str_eq(fake_http->reqs[3].body, "grant_type=refresh_token&"
	    "refresh_token=rt-2&client_id=client-1");
}
END_TEST

START_TEST(cancel_in_refresh)
{
	respond(MENTIONS, 401, problem_401, NULL);
	start(0, "5");
	ck_assert(deliver());
	ck_assert_uint_eq(http_running(fake_http), 1);
	connector_x.cancel(fx.conn, &fx.job);
	ck_assert_int_eq(fx.job.result.status, POLL_CANCELLED);
	/* the refresh goes on; freeing the connector stops it */
}
END_TEST

/* ---- failures ---------------------------------------------------------------- */

START_TEST(rate_limited)
{
	respond(MENTIONS, 429, "{\"title\":\"Too Many Requests\",\"detail\":"
	    "\"Too Many Requests\",\"type\":\"about:blank\",\"status\":429}",
	    RL(0), NULL);
	start(0, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RATE_LIMITED);
	ck_assert_int_eq(fx.job.result.retry_at_ms, RESET_MS);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error,
	    "HTTP 429: Too Many Requests"));
}
END_TEST

START_TEST(forbidden)
{
	respond(DMS, 403, "{\"title\":\"Forbidden\",\"detail\":\"You are not "
	    "permitted to use this endpoint\",\"type\":\"about:blank\","
	    "\"status\":403}", NULL);
	start(2, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_AUTH);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error,
	    "Forbidden: You are not permitted"));
}
END_TEST

START_TEST(server_error)
{
	respond(MENTIONS, 503, "<html>over capacity</html>", NULL);
	start(0, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
	respond_error(MENTIONS, HTTP_E_TIMEOUT);
	start(0, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
}
END_TEST

START_TEST(malformed_json)
{
	respond(MENTIONS, 200, "{\"data\":[{\"id\":\"1\",\"text\":\"cut", NULL);
	start(0, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_RETRY);
	ck_assert_ptr_nonnull(strstr(fx.job.result.error, "truncated"));
	respond(MENTIONS, 200, "<html>oops</html>", NULL);
	start(0, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
}
END_TEST

#define GOOD_ITEM	"{\"id\":\"99\",\"text\":\"ok\",\"author_id\":\"7\"," \
			"\"conversation_id\":\"99\",\"created_at\":" \
			"\"2026-08-14T09:00:00Z\"}"

/* An item after a good one, or (item NULL) a whole body. */
static const struct {
	const char	*item;
	const char	*body;
	const char	*error;
} bad_cases[] = {
	{ "{\"id\":1,\"author_id\":\"7\",\"conversation_id\":\"1\","
	  "\"created_at\":\"2026-08-14T09:00:00Z\"}", NULL, "data[1].id" },
	{ "{\"id\":\"12\",\"author_id\":\"7\",\"conversation_id\":\"1\"}",
	  NULL, "data[1].created_at" },
	{ "{\"id\":\"12\",\"author_id\":\"7\",\"conversation_id\":\"1\","
	  "\"created_at\":\"1999-01-01T00:00:00Z\"}", NULL,
	  "data[1].created_at" },
	{ "{\"id\":\"12\",\"author_id\":\"x7\",\"conversation_id\":\"1\","
	  "\"created_at\":\"2026-08-14T09:00:00Z\"}", NULL,
	  "data[1].author_id" },
	{ "{\"id\":\"12\",\"author_id\":\"7\",\"created_at\":"
	  "\"2026-08-14T09:00:00Z\"}", NULL, "data[1].conversation_id" },
	{ "{\"id\":\"12\",\"author_id\":\"7\",\"conversation_id\":\"1\","
	  "\"created_at\":\"2026-08-14T09:00:00Z\",\"referenced_tweets\":"
	  "[{\"type\":\"replied_to\"}]}", NULL,
	  "data[1].referenced_tweets[0].id" },
	{ "{\"id\":\"12\",\"author_id\":\"7\",\"conversation_id\":\"1\","
	  "\"created_at\":\"2026-08-14T09:00:00Z\",\"referenced_posts\":"
	  "[{\"type\":\"replied_to\",\"id\":\"x\"}]}", NULL,
	  "data[1].referenced_posts[0].id" },
	{ "{\"id\":\"12\",\"author_id\":\"7\",\"conversation_id\":\"1\","
	  "\"created_at\":\"2026-08-14T09:00:00Z\",\"referenced_posts\":"
	  "{}}", NULL, "data[1].referenced_posts" },
	{ "\"just a string\"", NULL, "data[1]" },
	{ NULL, "{\"data\":{}}", "data" },
	{ NULL, "{\"data\":[],\"meta\":{\"next_token\":5}}",
	  "meta.next_token" },
	{ NULL, "{\"data\":[" GOOD_ITEM "],\"includes\":{\"users\":"
	  "[{\"id\":\"7\"}]}}", "includes.users[0].username" },
	{ NULL, "{\"errors\":[{\"title\":\"Not Found Error\",\"detail\":"
	  "\"Could not find user\"}]}", "Could not find user" },
};

/* A bad item spoils the whole page: nothing of it is stored. */
START_TEST(bad_data)
{
	char *body;

	if (bad_cases[_i].item != NULL)
		xasprintf(&body, "{\"data\":[" GOOD_ITEM ",%s]}",
		    bad_cases[_i].item);
	else
		body = xstrdup(bad_cases[_i].body);
	respond(MENTIONS, 200, body, NULL);
	start(0, "5");
	run();
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_msg(strstr(fx.job.result.error, bad_cases[_i].error) != NULL,
	    "%s", fx.job.result.error);
	ck_assert_uint_eq(fx.job.nstored, 0);
	ck_assert_uint_eq(fx.job.ncommits, 0);
	free(body);
}
END_TEST

START_TEST(bad_cursor)
{
	start(0, "not a cursor");
	ck_assert_int_eq(fx.job.ndone, 1);
	ck_assert_int_eq(fx.job.result.status, POLL_BAD_DATA);
	ck_assert_uint_eq(fake_http->nreqs, 0);
}
END_TEST

START_TEST(new_refuses)
{
	static const struct {
		const char	*url, *platform_id, *client_id, *secret;
		const char	*error;
	} cases[] = {
		{ "http://api.x.com", NULL, NULL, "at", "loopback" },
		{ BASE "?q=1", NULL, NULL, "at", "no query" },
		{ NULL, "@acme", NULL, "at", "platform_id" },
		{ NULL, NULL, NULL, "at", "client_id" },
		{ NULL, NULL, "c", "a t", "access token" },
	};
	struct conf_account a;
	struct connector_env env;
	char *err = NULL;
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		a = fx.account;
		a.url = (char *)cases[i].url;
		a.platform_id = (char *)cases[i].platform_id;
		a.client_id = (char *)cases[i].client_id;
		env = fx.env;
		env.account = &a;
		env.secret = cases[i].secret;
		ck_assert_ptr_null(connector_x.new(&env, &err));
		ck_assert_msg(strstr(err, cases[i].error) != NULL, "%zu: %s",
		    i, err);
		free(err);
		err = NULL;
	}
	/* a corrupt state file is an error, not a silent fallback */
	write_file(fx.state_file, "{\"seed\":");
	env = fx.env;
	ck_assert_ptr_null(connector_x.new(&env, &err));
	ck_assert_ptr_nonnull(strstr(err, "acme.x-oauth"));
	free(err);
}
END_TEST

static Suite *
x_suite(void)
{
	Suite *s = suite_create("x");
	TCase *tc;

	tc = tcase_create("mapping");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mentions_first_poll);
	tcase_add_test(tc, tweets_outbound);
	tcase_add_test(tc, referenced_posts);
	tcase_add_test(tc, dm_until_stored);
	tcase_add_test(tc, users_me);
	suite_add_tcase(s, tc);

	tc = tcase_create("paging");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, mentions_pages);
	tcase_add_test(tc, gap_resumed);
	tcase_add_test(tc, empty_page);
	tcase_add_test(tc, empty_backfill);
	tcase_add_test(tc, remaining_zero_stops);
	tcase_add_test(tc, dm_budget_low);
	tcase_add_test(tc, dm_budget_spent);
	tcase_add_test(tc, dm_token_expired);
	suite_add_tcase(s, tc);

	tc = tcase_create("token");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, refresh_on_401);
	tcase_add_test(tc, refresh_confidential);
	tcase_add_test(tc, refresh_refused);
	tcase_add_test(tc, no_refresh_401);
	tcase_add_test(tc, refresh_shared);
	tcase_add_test(tc, refresh_ahead);
	tcase_add_test(tc, cancel_in_refresh);
	suite_add_tcase(s, tc);

	tc = tcase_create("failures");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, rate_limited);
	tcase_add_test(tc, forbidden);
	tcase_add_test(tc, server_error);
	tcase_add_test(tc, malformed_json);
	tcase_add_loop_test(tc, bad_data, 0, (int)NELEM(bad_cases));
	tcase_add_test(tc, bad_cursor);
	tcase_add_test(tc, new_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	log_init("check-x", getenv("REPLYWATCH_DEBUG") != NULL ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	sr = srunner_create(x_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
