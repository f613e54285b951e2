/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <uv.h>

#include "cmd.h"
#include "conf.h"
#include "connector.h"
#include "http.h"
#include "msg.h"
#include "secret.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * replywatch check-account NAME: one request for each stream of an
 * account, as the daemon's first poll would start it but over the last
 * hour only, storing nothing. It prints what works, what the platform
 * refuses in its own words, and the rate-limit state: what a new user runs
 * first.
 *
 * The poll job here is a dry run: it counts what the connector hands
 * over, commits nothing and knows no stored conversation.
 *
 * A watch on the HTTP client keeps it to one request a stream: a further
 * one is refused, which ends the connector's poll; the stream works if the
 * first answer was a 2xx the connector took (it asked for more rather than
 * failing). The watch also refuses any OAuth refresh: X's refresh tokens
 * work once, and the daemon holds the current one, in memory and in its
 * state directory (the database's directory), whose saved tokens are read
 * here but never replaced.
 */

#define CHECK_WINDOW_MS	(3600 * 1000LL)
#define REFRESH_GRANT	"grant_type=refresh_token"
#define WHY_ONE		"check-account makes one request per stream"
#define WHY_REFRESH	"the access token has expired or was refused: " \
			"replywatchd renews it with the refresh token; " \
			"check-account does not spend a refresh token"

static const char check_help[] =
    "One request for each stream of the account, over the last hour,\n"
    "storing nothing: what works, what the platform refuses (a missing\n"
    "scope or permission, an expired token) in its own words, and the\n"
    "rate-limit state. It never renews a token: that is replywatchd's.\n"
    "Exit status 0 if every stream works, 1 otherwise.\n"
    "\n"
    "Options:\n"
    "  -h, --help   this help\n";

struct poll_job {
	int		 stream;
	int64_t		 now_ms;
	void		*data;
	size_t		 messages;
	size_t		 inbound, outbound;
	int		 done;
	enum poll_status status;
	char		*error;
	struct poll_ratelimit rl;
	int64_t		 retry_at_ms;
};

int
poll_job_stream(const struct poll_job *j)
{
	return j->stream;
}

const char *
poll_job_cursor(const struct poll_job *j)
{
	(void)j;
	return NULL;
}

int64_t
poll_job_backfill_since(const struct poll_job *j)
{
	return j->now_ms - CHECK_WINDOW_MS;
}

int64_t
poll_job_now(const struct poll_job *j)
{
	return j->now_ms;
}

void
poll_job_set_data(struct poll_job *j, void *data)
{
	j->data = data;
}

void *
poll_job_data(const struct poll_job *j)
{
	return j->data;
}

int
poll_job_add(struct poll_job *j, struct msg *m, char **errstr)
{
	(void)errstr;
	j->messages++;
	if (m->direction == MSG_INBOUND)
		j->inbound++;
	else
		j->outbound++;
	msg_clear(m);
	return 0;
}

int
poll_job_commit(struct poll_job *j, const char *cursor, char **errstr)
{
	(void)j;
	(void)cursor;
	(void)errstr;
	return 0;
}

void
poll_job_discard(struct poll_job *j)
{
	(void)j;
}

char *
poll_job_conversation_of(struct poll_job *j, const char *msg_id)
{
	(void)j;
	(void)msg_id;
	return NULL;
}

void
poll_job_done(struct poll_job *j, const struct poll_result *r)
{
	j->done = 1;
	j->status = r->status;
	j->error = r->error != NULL ? xstrdup(r->error) : NULL;
	j->rl = r->rl;
	j->retry_at_ms = r->retry_at_ms;
}

/* What the HTTP watch saw of the stream being checked. */
struct watch_state {
	int		 requests;	/* started */
	int		 answered;
	int		 cut;		/* a further request was refused */
	int		 refresh;	/* a token refresh was refused */
	enum poll_status first;		/* how the first answer reads */
	long		 first_status;	/* its HTTP status; 0: none */
	char		 text[512];	/* its error, the platform's words */
	char		 path[256];	/* of the first request */
	const char	*avoid;		/* refuse a first request there */
	int		 repeat;	/* and one was refused */
};

/* The path of an http(s) URL, without scheme, host or query, cut to fit. */
static void
url_path(const char *url, char *buf, size_t len)
{
	const char *p = strstr(url, "://");

	p = p != NULL ? p + 3 : url;
	p += strcspn(p, "/?#");
	snprintf(buf, len, "%.*s", (int)strcspn(p, "?#"), p);
}

static int
watch_vet(const struct http_request *rq, void *arg, const char **why)
{
	struct watch_state *w = arg;

	/* first, so that a refresh after a 401 is named as such */
	if (rq->body != NULL && memmem(rq->body, rq->body_len, REFRESH_GRANT,
	    strlen(REFRESH_GRANT)) != NULL) {
		w->refresh = 1;
		*why = WHY_REFRESH;
		return 1;
	}
	if (w->requests > 0) {
		w->cut = 1;
		*why = WHY_ONE;
		return 1;
	}
	url_path(rq->url, w->path, sizeof w->path);
	if (w->avoid != NULL && strcmp(w->path, w->avoid) == 0) {
		w->repeat = 1;
		*why = WHY_ONE;
		return 1;
	}
	w->requests++;
	return 0;
}

/*
 * An RFC 7807 problem's words ("detail", else "title": X's errors), added
 * to a bare "HTTP 401": the connector that knows them was stopped before
 * it could say them (its refresh refused).
 */
static void
add_problem_text(const struct http_response *r, char *buf, size_t len)
{
	const cJSON *d;
	cJSON *doc;
	char text[300];
	size_t n = strlen(buf);

	if (strchr(buf, ':') != NULL || r->len == 0 ||
	    (doc = cJSON_ParseWithLength(r->body, r->len)) == NULL)
		return;
	d = cJSON_GetObjectItemCaseSensitive(doc, "detail");
	if (!cJSON_IsString(d))
		d = cJSON_GetObjectItemCaseSensitive(doc, "title");
	if (cJSON_IsString(d)) {
		connector_copy_text(text, sizeof text, d->valuestring);
		snprintf(buf + n, len - n, ": %s", text);
	}
	cJSON_Delete(doc);
}

static void
watch_seen(const char *url, const struct http_response *r, void *arg)
{
	struct watch_state *w = arg;
	struct poll_result res;

	(void)url;
	if (w->answered++ > 0)
		return;
	w->first_status = r->error == HTTP_OK ? r->status : 0;
	w->first = connector_http_status(r, timefmt_now(), w->text,
	    sizeof w->text, &res);
	if (w->first != POLL_OK && r->error == HTTP_OK)
		add_problem_text(r, w->text, sizeof w->text);
}

static const char *
outcome(enum poll_status st)
{
	switch (st) {
	case POLL_OK: return "works";
	case POLL_RETRY: return "failed (temporary)";
	case POLL_RATE_LIMITED: return "rate limited";
	case POLL_AUTH: return "refused (authentication or permission)";
	case POLL_BAD_DATA: return "failed (the platform's answer made no "
	    "sense)";
	case POLL_CANCELLED: return "cancelled";
	}
	return "?";
}

static void
print_ratelimit(const struct poll_job *j)
{
	char when[TIMEFMT_DURATION_LEN];

	if (j->rl.remaining >= 0 && j->rl.limit >= 0)
		printf("      rate limit: %lld of %lld left", (long long)
		    j->rl.remaining, (long long)j->rl.limit);
	else if (j->rl.remaining >= 0)
		printf("      rate limit: %lld left", (long long)
		    j->rl.remaining);
	else
		return;
	if (j->rl.reset_ms > j->now_ms) {
		timefmt_format_duration(j->rl.reset_ms - j->now_ms, when,
		    sizeof when);
		printf(", resets in %s", when);
	}
	putchar('\n');
}

/* The poll was cut after its first answer: that answer tells. */
static void
judge_cut(struct poll_job *j, const struct watch_state *w)
{
	free(j->error);
	j->error = NULL;
	j->status = w->first;
	if (w->first != POLL_OK)
		j->error = xstrdup(w->text);
}

static void
print_outcome(const struct poll_job *j, const struct watch_state *w,
    const char *name)
{
	printf("  %-14s ", name);
	if (w->refresh && w->answered == 0)
		printf("not checked");
	else
		printf("%s", outcome(j->status));
	if (j->status == POLL_OK && w->cut)
		printf(" (one request: further pages and replies not "
		    "fetched)");
	else if (j->status == POLL_OK)
		printf(": %zu message%s in the last hour (%zu inbound, %zu "
		    "outbound)", j->messages, j->messages == 1 ? "" : "s",
		    j->inbound, j->outbound);
	putchar('\n');
	/* after a refused refresh, the connector's error is ours: the
	 * first answer has the platform's words */
	if (w->refresh && w->answered > 0 && w->first != POLL_OK)
		printf("      %s\n", w->text);
	if (j->error != NULL)
		printf("      %s\n", j->error);
}

/* One poll of the stream, ended after its first request; 0 if it did not
 * end by itself (cancelled then). */
static int
run_stream(uv_loop_t *loop, const struct connector_def *def, void *conn,
    struct http *http, int stream, struct poll_job *j, struct watch_state *w)
{
	struct http_watch hw = { watch_vet, watch_seen, w };

	memset(j, 0, sizeof *j);
	j->stream = stream;
	j->now_ms = timefmt_now();
	j->rl.limit = j->rl.remaining = j->rl.reset_ms = -1;
	http_set_watch(http, &hw);
	def->poll(conn, j);
	while (!j->done && uv_run(loop, UV_RUN_ONCE) != 0)
		;
	if (!j->done) {
		def->cancel(conn, j);
		http_set_watch(http, NULL);
		return 0;
	}
	http_set_watch(http, NULL);
	w->avoid = NULL;
	return 1;
}

/*
 * The first stream's request may have been the connector's lookup of who
 * the account is (Mastodon's verify_credentials, X's users/me), which it
 * keeps: then the stream is polled again for a request of its own. If
 * that would go where the first one went, it is refused before it is
 * sent, and the first answer stands.
 */
static void
recheck_first(uv_loop_t *loop, const struct connector_def *def, void *conn,
    struct http *http, struct poll_job *j, struct watch_state *w)
{
	struct poll_job j2;
	struct watch_state w2;

	memset(&w2, 0, sizeof w2);
	w2.avoid = w->path;
	if (!run_stream(loop, def, conn, http, j->stream, &j2, &w2) ||
	    w2.repeat) {
		free(j2.error);
		return;
	}
	free(j->error);
	*j = j2;
	*w = w2;
}

/* One stream: what its own first request tells. */
static int
check_stream(uv_loop_t *loop, const struct connector_def *def, void *conn,
    struct http *http, int stream)
{
	struct watch_state w;
	struct poll_job j;
	int ok;

	memset(&w, 0, sizeof w);
	if (!run_stream(loop, def, conn, http, stream, &j, &w)) {
		printf("  %-14s did not finish\n", def->streams[stream]);
		free(j.error);
		return 0;
	}
	if (stream == 0 && w.cut && w.first == POLL_OK && !w.refresh)
		recheck_first(loop, def, conn, http, &j, &w);
	if (w.refresh) {
		j.status = w.answered > 0 && w.first != POLL_OK ? w.first :
		    POLL_AUTH;
	} else if (w.cut)
		judge_cut(&j, &w);
	ok = j.status == POLL_OK;
	print_outcome(&j, &w, def->streams[stream]);
	print_ratelimit(&j);
	free(j.error);
	return ok;
}

static void
on_closed(uv_handle_t *h)
{
	(void)h;
}

static void
close_all(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, on_closed);
}

static int
check_account(const struct conf *conf, const struct conf_account *a)
{
	const struct connector_def *def;
	struct connector_env env;
	struct http_options ho;
	struct http *http;
	uv_loop_t loop;
	char *err = NULL, *secret = NULL, *state_dir;
	const char *file;
	void *conn;
	int i, ok = 1;

	if (a->connector == NULL || (def = connector_find(a->connector)) ==
	    NULL) {
		fprintf(stderr, "replywatch check-account: %s: no known "
		    "connector\n", a->name);
		return EXIT_FAIL;
	}
	file = a->token_file != NULL ? a->token_file : a->password_file;
	if (def->needs_secret && (file == NULL ||
	    (secret = secret_load(file, &err)) == NULL)) {
		fprintf(stderr, "replywatch check-account: %s: %s\n", a->name,
		    err != NULL ? err : "no token_file or password_file");
		free(err);
		return EXIT_FAIL;
	}
	uv_loop_init(&loop);
	memset(&ho, 0, sizeof ho);
	ho.connect_timeout_ms = (long)conf->connect_timeout_ms;
	ho.timeout_ms = (long)conf->http_timeout_ms;
	ho.max_body = (size_t)conf->max_response_size;
	if ((http = http_new(&loop, &ho, &err)) == NULL) {
		fprintf(stderr, "replywatch check-account: %s\n", err);
		free(err);
		secret_free(secret);
		uv_loop_close(&loop);
		return EXIT_FAIL;
	}
	memset(&env, 0, sizeof env);
	env.account = a;
	env.secret = secret;
	env.http = http;
	env.loop = &loop;
	state_dir = conf_state_dir(conf);
	env.state_dir = state_dir;
	if ((conn = def->new(&env, &err)) == NULL) {
		fprintf(stderr, "replywatch check-account: %s: %s\n", a->name,
		    err);
		free(err);
		ok = 0;
	} else {
		printf("%s (%s, %s):\n", a->name, def->name, a->url != NULL ?
		    a->url : def->default_url != NULL ? def->default_url :
		    "no url");
		for (i = 0; def->streams[i] != NULL; i++)
			ok &= check_stream(&loop, def, conn, http, i);
		def->free(conn);
	}
	free(state_dir);
	http_free(http);
	uv_walk(&loop, close_all, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	secret_free(secret);
	return ok ? EXIT_OK : EXIT_FAIL;
}

int
cmd_check_account(struct cmd_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct conf_account *a;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			cmd_usage(stdout, "check-account", check_help);
			return EXIT_OK;
		default:
			cmd_usage(stderr, "check-account", check_help);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc)
		return cmd_usage_error("check-account", "name one account of "
		    "the configuration");
	if ((a = conf_find_account(ctx->conf, argv[optind])) == NULL) {
		fprintf(stderr, "replywatch check-account: no [account \"%s\"] "
		    "in %s\n", argv[optind], ctx->conf->path != NULL ?
		    ctx->conf->path : "the configuration");
		return EXIT_FAIL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = check_account(ctx->conf, a);
	curl_global_cleanup();
	return rc;
}
