/* SPDX-License-Identifier: ISC */
#ifndef RW_POLLER_H
#define RW_POLLER_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct conf;
struct conf_account;
struct connector_def;
struct http;
struct msg;
struct store;

/*
 * Polling: every stream of every configured account on its own timer.
 * A poll runs its connector; what the connector hands over is committed
 * with the stream's new cursor in one transaction. The next poll is due
 * one poll_interval (with jitter) after the last one ended, later when
 * the platform asks for it (rate limits) or after failures (exponential
 * backoff with jitter).
 */
struct poller;

/* How a poll ended. */
struct poller_poll {
	const char	*account;
	const char	*stream;
	int		 ok;
	int		 auth;		/* refused the credentials (401/403) */
	int64_t		 failures;	/* in a row, this one included */
	int64_t		 last_ok_ms;	/* the last success, -1: never */
	const char	*error;		/* why it failed, NULL on success */
};

/* What the poller tells its owner. Any may be NULL. */
struct poller_hooks {
	/* a new message was stored */
	void	(*message)(const struct msg *, void *arg);
	/* a poll ended */
	void	(*polled)(const struct poller_poll *, void *arg);
	void	*arg;
};

/* The checks of an account that need the connectors: connector known,
 * url allowed, secret readable. One "file:line: why" per problem is added
 * to errs (see conf.h). Returns the number of problems. */
struct conf_errors;
size_t	 poller_check_account(const struct conf *, const struct conf_account *,
	    struct conf_errors *errs);

/* Set up every account of conf (already checked). If a connector refuses
 * its account, *errstr says so as "file:line: why" (the poller must then
 * be stopped and freed). store may be NULL to only check the accounts.
 * Nothing is polled before poller_start. */
struct poller *poller_new(uv_loop_t *, const struct conf *, struct store *,
	    struct http *, const struct poller_hooks *, char **errstr);
/* Schedule the first poll of every stream, each after a random delay of
 * at most first_delay_ms. */
void	 poller_start(struct poller *, int64_t first_delay_ms);
/* Take a new configuration (already checked): accounts that are new are
 * set up and polled, those gone are stopped, those whose connector
 * settings or secret changed are set up again; the others go on, with the
 * new poll_interval from their next poll. Their state (cursors, failures)
 * is kept in the store either way. All or nothing: -1 with *errstr (one
 * "file:line: why" per line) leaves the old accounts in force. conf must
 * outlive the poller, and so must the old one (kept accounts' connectors
 * still point into it). */
int	 poller_reload(struct poller *, const struct conf *, char **errstr);
/* Stop scheduling and cancel the polls in flight (their messages since
 * the last commit are dropped; the cursor covers only what was stored).
 * done is called once every timer is closed and no poll runs; then
 * poller_free. */
void	 poller_stop(struct poller *, void (*done)(void *), void *arg);
void	 poller_free(struct poller *);

/* Per stream, for metrics. Counters run since the daemon started, except
 * fetched (the stream's whole life). */
struct poller_stream_info {
	const char	*account;
	const char	*connector;
	const char	*stream;
	uint64_t	 polls_ok, polls_failed, rate_limited;
	int64_t		 fetched;
	int64_t		 last_ok_ms;	/* -1: never */
	int		 failing;
	struct {
		int64_t	 limit, remaining, reset_ms;	/* -1: unknown */
	} rl;
};
typedef void poller_stream_fn(const struct poller_stream_info *, void *arg);
void	 poller_each_stream(const struct poller *, poller_stream_fn *, void *);

size_t	 poller_naccounts(const struct poller *);
/* Streams whose last poll failed. */
size_t	 poller_nfailing(const struct poller *);
/* Polls running now. */
size_t	 poller_nrunning(const struct poller *);

#endif
