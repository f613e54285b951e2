/* SPDX-License-Identifier: ISC */
#ifndef RW_CONNECTOR_H
#define RW_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "conf.h"
#include "http.h"
#include "msg.h"

/*
 * The connector contract. A connector is one file under connectors/ that
 * defines a `const struct connector_def` and one line in registry.c.
 *
 * It polls one account of one platform. Each account has one or more
 * streams (mentions, direct messages, the brand's own posts, …), each with
 * its own cursor and its own timer. The daemon starts a poll of a stream
 * with `poll`; the connector makes its HTTP requests through the client it
 * was given, hands normalized messages to the job and ends the poll with
 * exactly one poll_job_done(). It never touches the store: the job commits
 * its messages and the cursor that covers them in one transaction.
 *
 * Everything a platform returns is untrusted. A page with a wrong type, a
 * missing field or an absurd value is refused as a whole (POLL_BAD_DATA,
 * with the field named in the error) and nothing of it is stored.
 */

struct poll_job;
struct cJSON;

/* What a connector gets when an account is set up. Everything is borrowed
 * and outlives the connector. */
struct connector_env {
	const struct conf_account *account;
	const char	*secret;	/* token or password, NUL-terminated, no
					   trailing newline; NULL if none */
	struct http	*http;
	uv_loop_t	*loop;
	const char	*state_dir;	/* where a connector may keep files of
					   its own (the database's directory);
					   write them atomically */
};

enum poll_status {
	POLL_OK,		/* done; the cursor was advanced */
	POLL_RETRY,		/* transient (5xx, timeout, network, truncated
				   body): back off and try again */
	POLL_RATE_LIMITED,	/* the platform asked to wait: retry_at_ms */
	POLL_AUTH,		/* 401/403: the account is failing until the
				   configuration or the token changes */
	POLL_BAD_DATA,		/* the platform's data made no sense */
	POLL_CANCELLED,		/* the daemon stopped the poll */
};

/* The platform's own rate-limit figures, -1 where unknown. */
struct poll_ratelimit {
	int64_t	 limit;
	int64_t	 remaining;
	int64_t	 reset_ms;	/* when the window resets (epoch ms) */
};

struct poll_result {
	enum poll_status status;
	const char	*error;		/* what went wrong, with the platform's
					   own text; borrowed. NULL on POLL_OK */
	const char	*cursor;	/* POLL_OK: the stream's new cursor
					   (NULL: unchanged); borrowed */
	int64_t		 retry_at_ms;	/* earliest time to poll again (rate
					   limits, Retry-After); -1: none */
	struct poll_ratelimit rl;
};

struct connector_def {
	const char	*name;		/* in `connector =` */
	const char	*platform;	/* the messages' platform */
	const char *const *streams;	/* stream names, NULL-terminated */
	int		 needs_secret;	/* token_file/password_file required */
	const char	*default_url;	/* NULL: url is required unless
					   url_optional */
	int		 url_optional;	/* url is passed on if set */
	int64_t		 reply_window_ms;	/* direct messages may be answered
					   only this long after the customer's
					   last one (Meta: 24 h); 0: no limit */

	/* Set up one account; NULL with *errstr on a configuration problem. */
	void	*(*new)(const struct connector_env *, char **errstr);
	void	 (*free)(void *self);
	/* Start polling one stream (index into streams). Must end, now or
	 * later, with exactly one poll_job_done(job, …). */
	void	 (*poll)(void *self, struct poll_job *job);
	/* Stop the poll in flight: cancel its requests, then call
	 * poll_job_done(job, POLL_CANCELLED). */
	void	 (*cancel)(void *self, struct poll_job *job);
};

/* registry.c: the connector of that name, or NULL. */
const struct connector_def *connector_find(const char *name);
/* The i-th connector, NULL past the last. */
const struct connector_def *connector_at(size_t i);

/*
 * The poll job (the daemon's poller.c implements these).
 */
int	 poll_job_stream(const struct poll_job *);
/* The stream's cursor as last committed; NULL before its first poll. */
const char *poll_job_cursor(const struct poll_job *);
/* First poll only: fetch messages created since then (now - backfill);
 * -1 on every later poll. */
int64_t	 poll_job_backfill_since(const struct poll_job *);
int64_t	 poll_job_now(const struct poll_job *);
/* The connector's own per-job state, for its callbacks. */
void	 poll_job_set_data(struct poll_job *, void *);
void	*poll_job_data(const struct poll_job *);

/* Hand over a message: the job takes its strings (and clears *m). platform
 * and account are set by the job. -1 (with the reason logged, the job
 * spoiled) if the message is invalid: the connector should then end with
 * POLL_BAD_DATA. */
int	 poll_job_add(struct poll_job *, struct msg *m, char **errstr);
/* Commit the messages handed over so far together with the cursor that
 * covers them (NULL: keep the cursor); lets a long catch-up store its
 * progress page by page. 0 or -1 (errstr). */
int	 poll_job_commit(struct poll_job *, const char *cursor, char **errstr);
/* Drop the messages handed over since the last commit. */
void	 poll_job_discard(struct poll_job *);
/* The conversation a stored message (or one handed to this job) belongs
 * to, as a new string, or NULL if it is not known. */
char	*poll_job_conversation_of(struct poll_job *, const char *msg_id);

/* End the poll. POLL_OK commits what was handed over with result->cursor;
 * anything else discards what was not committed. The job must not be
 * used afterwards. */
void	 poll_job_done(struct poll_job *, const struct poll_result *);

/* For connectors: the poll_result of a failed HTTP exchange (transport
 * error, 429, 401/403, 5xx, other 4xx), with the platform's error text
 * taken from the body's "error"/"message" field where there is one. The
 * text is written into buf. Returns POLL_OK if the response was a 2xx. */
enum poll_status connector_http_status(const struct http_response *,
	    int64_t now_ms, char *buf, size_t len, struct poll_result *out);
/* For connectors: the JSON document of a 2xx response's body (caller
 * deletes it), or NULL with *errstr (caller frees) and *status:
 * POLL_RETRY if the body is JSON cut off (a truncated transfer),
 * POLL_BAD_DATA if it is anything else. */
struct cJSON *connector_json_body(const struct http_response *,
	    enum poll_status *status, char **errstr);
/* A poll_result of that status with nothing known: no error, no cursor,
 * no retry time, no rate-limit figures. */
void	 connector_result_init(struct poll_result *, enum poll_status);
/* A platform's text for an error: control characters made spaces, cut to
 * at most len-1 bytes. */
void	 connector_copy_text(char *dst, size_t len, const char *src);
/* For new(): the access token is there, and fit for a header or a URL
 * (no spaces, no control characters). 0, or -1 with *errstr. */
int	 connector_token_check(const char *token, char **errstr);
/* The account's url without its trailing '/'s, as a new string. */
char	*connector_base_url(const char *url);

#endif
