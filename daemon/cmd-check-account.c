/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 * replywatch check-account NAME: poll each stream of an account once,
 * as the daemon would on its first poll but over the last hour only, and
 * store nothing. It prints what works, what the platform refuses in its
 * own words, and the rate-limit state: what a new user runs first.
 *
 * The poll job here is a dry run: it counts what the connector hands
 * over, commits nothing and knows no stored conversation.
 */

#define CHECK_WINDOW_MS	(3600 * 1000LL)

static const char check_help[] =
    "Poll each stream of the account once, over the last hour, storing\n"
    "nothing: what works, what the platform refuses (a missing scope or\n"
    "permission, an expired token) in its own words, and the rate-limit\n"
    "state. Exit status 0 if every stream works, 1 otherwise.\n"
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

/* One stream, its poll run to its end on the loop. */
static int
check_stream(uv_loop_t *loop, const struct connector_def *def, void *conn,
    int stream)
{
	struct poll_job j;
	int ok;

	memset(&j, 0, sizeof j);
	j.stream = stream;
	j.now_ms = timefmt_now();
	j.rl.limit = j.rl.remaining = j.rl.reset_ms = -1;
	def->poll(conn, &j);
	while (!j.done && uv_run(loop, UV_RUN_ONCE) != 0)
		;
	if (!j.done) {
		def->cancel(conn, &j);
		printf("  %-14s did not finish\n", def->streams[stream]);
		free(j.error);
		return 0;
	}
	ok = j.status == POLL_OK;
	printf("  %-14s %s", def->streams[stream], outcome(j.status));
	if (ok)
		printf(": %zu message%s in the last hour (%zu inbound, %zu "
		    "outbound)", j.messages, j.messages == 1 ? "" : "s",
		    j.inbound, j.outbound);
	putchar('\n');
	if (j.error != NULL)
		printf("      %s\n", j.error);
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
	char *err = NULL, *secret = NULL;
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
	env.state_dir = ".";
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
			ok &= check_stream(&loop, def, conn, i);
		def->free(conn);
	}
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
