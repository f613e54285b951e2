/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "deliver.h"
#include "http.h"
#include "log.h"
#include "secret.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * tests/deliver.sh's helper: one delivery through the real HTTP client,
 * retried as the outbox would (up to -m attempts, waiting what
 * deliver_backoff_ms or Retry-After says, divided by
 * $RW_DELIVER_BACKOFF_DIV). One line per attempt on stdout:
 *   attempt N: OK | attempt N: RETRY in MS ms: ERROR | attempt N: FAILED: ERROR
 * Exit status: 0 delivered, 1 failed, 2 usage, 3 still failing after -m.
 */

#define MAX_TO	8

struct sender {
	uv_loop_t	*loop;
	struct http	*http;
	uv_timer_t	 timer;
	struct route	 route;
	struct delivery	 delivery;
	int		 attempts, max_attempts;
	long		 div;
	int		 status;
};

static void attempt(struct sender *);

static void
usage(void)
{
	fprintf(stderr, "usage: deliver-send [-Sn] [-c ca-file] [-d created-ms] "
	    "[-f from] [-j json] [-k key]\n"
	    "\t[-m attempts] [-P password-file] [-r to]... [-s secret-file] "
	    "[-T timeout-ms]\n"
	    "\t[-t text] [-u subject] [-U user] webhook|email URL\n");
	exit(2);
}

static void
on_timer(uv_timer_t *t)
{
	attempt(t->data);
}

static void
on_done(enum deliver_result res, int64_t retry_at, const char *error,
    void *arg)
{
	struct sender *s = arg;
	int64_t wait;

	if (res == DELIVER_OK) {
		printf("attempt %d: OK\n", s->attempts);
		s->status = 0;
		uv_stop(s->loop);
		return;
	}
	if (res == DELIVER_FAILED) {
		printf("attempt %d: FAILED: %s\n", s->attempts, error);
		s->status = 1;
		uv_stop(s->loop);
		return;
	}
	wait = retry_at >= 0 ? retry_at - timefmt_now() :
	    deliver_backoff_ms(s->attempts);
	if (wait < 0)
		wait = 0;
	wait /= s->div;
	printf("attempt %d: RETRY in %lld ms%s: %s\n", s->attempts,
	    (long long)wait, retry_at >= 0 ? " (Retry-After)" : "", error);
	fflush(stdout);
	if (s->attempts >= s->max_attempts) {
		s->status = 3;
		uv_stop(s->loop);
		return;
	}
	uv_timer_start(&s->timer, on_timer, (uint64_t)wait, 0);
}

static void
attempt(struct sender *s)
{
	char *err = NULL;

	s->attempts++;
	if (deliver_start(s->http, &s->route, &s->delivery, on_done, s,
	    &err) == NULL) {
		printf("attempt %d: FAILED: %s\n", s->attempts, err);
		free(err);
		s->status = 1;
		uv_stop(s->loop);
	}
}

static char *
load(const char *file)
{
	char *v, *err = NULL;

	if ((v = secret_load(file, &err)) == NULL) {
		fprintf(stderr, "deliver-send: %s\n", err);
		exit(2);
	}
	return v;
}

static void
on_closed(uv_handle_t *h)
{
}

int
main(int argc, char *argv[])
{
	struct sender s;
	struct http_options ho;
	const char *to[MAX_TO + 1];
	char *secret = NULL, *password = NULL, *err = NULL;
	const char *div;
	size_t nto = 0;
	int ch;

	log_init("deliver-send", LOG_LEVEL_ERR);
	memset(&s, 0, sizeof s);
	s.max_attempts = 1;
	s.status = -1;
	s.route.starttls = 1;
	s.delivery.key = "deliver-send-1";
	s.delivery.created_ms = timefmt_now();
	while ((ch = getopt(argc, argv, "c:d:f:j:k:m:nP:r:Ss:T:t:U:u:")) != -1) {
		switch (ch) {
		case 'c': s.route.ca_file = optarg; break;
		case 'd': s.delivery.created_ms = strtoll(optarg, NULL, 10); break;
		case 'f': s.route.from = optarg; break;
		case 'j': s.delivery.json = optarg; break;
		case 'k': s.delivery.key = optarg; break;
		case 'm': s.max_attempts = atoi(optarg); break;
		case 'n': s.route.starttls = 0; break;
		case 'P': password = load(optarg); break;
		case 'r':
			if (nto == MAX_TO)
				usage();
			to[nto++] = optarg;
			break;
		case 'S': s.route.slack = 1; break;
		case 's': secret = load(optarg); break;
		case 'T': s.route.timeout_ms = atol(optarg); break;
		case 't': s.delivery.text = optarg; break;
		case 'U': s.route.username = optarg; break;
		case 'u': s.delivery.subject = optarg; break;
		default: usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	to[nto] = NULL;
	s.route.name = "test";
	s.route.type = strcmp(argv[0], "email") == 0 ? ROUTE_EMAIL :
	    ROUTE_WEBHOOK;
	s.route.url = argv[1];
	s.route.secret = secret;
	s.route.to = to;
	s.route.password = password;
	s.div = (div = getenv("RW_DELIVER_BACKOFF_DIV")) != NULL ?
	    atol(div) : 1;
	if (s.div < 1)
		s.div = 1;

	s.loop = uv_default_loop();
	memset(&ho, 0, sizeof ho);
	if ((s.http = http_new(s.loop, &ho, &err)) == NULL) {
		fprintf(stderr, "deliver-send: %s\n", err);
		return 2;
	}
	uv_timer_init(s.loop, &s.timer);
	s.timer.data = &s;
	attempt(&s);
	if (s.status < 0)
		uv_run(s.loop, UV_RUN_DEFAULT);
	http_free(s.http);
	uv_close((uv_handle_t *)&s.timer, on_closed);
	uv_run(s.loop, UV_RUN_DEFAULT);
	uv_loop_close(s.loop);
	if (secret != NULL)
		secret_free(secret);
	if (password != NULL)
		secret_free(password);
	return s.status < 0 ? 3 : s.status;
}
