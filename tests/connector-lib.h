/* SPDX-License-Identifier: ISC */
#ifndef RW_TESTS_CONNECTOR_LIB_H
#define RW_TESTS_CONNECTOR_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "connector.h"
#include "http.h"
#include "msg.h"

/*
 * Shared by the connectors' unit tests (check-mastodon.c, check-x.c,
 * check-graph.c, check-linkedin.c): a fake HTTP client and a fake poll
 * job, so that a connector runs without a loop, a network or a store.
 * Both check the connector contract with Check's assertions.
 *
 * The client answers from canned responses, matched by a piece of the
 * URL, and only when the test calls fake_http_deliver(): never from
 * inside http_start, as the real client never does either. It records
 * every request. The job records what it is handed, what is committed
 * with which cursor, and how the poll ended.
 */

/* ---- the fake HTTP client ------------------------------------------------ */

/* A request as it was made. */
struct fake_request {
	char		*method;	/* "GET" where it had none */
	char		*url;		/* as recorded: see on_start */
	char		*body;		/* NULL if none */
	char		**headers;	/* all its lines, NULL-terminated */
	const char	*auth;		/* its Authorization line (one of
					   headers), or NULL */
	size_t		 nheaders;
};

/* What the connector under test must do; all zero: anything goes. */
struct fake_http_opts {
	int		 one_per_job;	/* one request in flight per callback
					   argument (per job) at most */
	int		 get_only;	/* every request a GET (no method) */
	/* Called by http_start with each request, for the test's own
	 * checks. Returns the URL to record and to match responses
	 * against, as a new string; NULL: the URL as sent. */
	char		*(*on_start)(const struct http_request *, void *ctx);
	/* Called when a request is answered, before its callback. */
	void		 (*on_deliver)(const struct fake_request *, void *ctx);
	void		*ctx;
};

/* A response waiting for the request it answers. */
struct fake_canned {
	char		*pattern;	/* a piece of the URL */
	enum http_error	 error;
	long		 status;
	char		*body;
	size_t		 len;
	struct http_header headers[8];
	size_t		 nheaders;
	int		 used;
};

struct http {
	struct fake_http_opts opts;
	struct fake_canned *canned;
	size_t		 ncanned;
	struct http_call *queue;	/* in flight, oldest first */
	struct fake_request *reqs;	/* every request, in order */
	size_t		 nreqs;
	size_t		 ncancelled;
	int		 delivering;
};

/* A client with these rules (NULL: none); fake_http_free() frees it with
 * what it holds: calls still in flight, responses, requests. */
struct http	*fake_http_new(const struct fake_http_opts *);
void		 fake_http_free(struct http *);

/* Answer the next request whose URL contains pattern (once) with this.
 * The headers are "Name: value" strings, NULL-terminated. */
void	 fake_http_respond_len(struct http *, const char *pattern,
	    long status, const char *body, size_t len, ...);
#define fake_http_respond(h, pattern, status, body, ...) \
	fake_http_respond_len(h, pattern, status, body, strlen(body), \
	    __VA_ARGS__)
/* A JSON document as a response body; doc is consumed. */
#define fake_http_respond_json(h, pattern, status, doc, ...) do {	\
	cJSON *d_ = (doc);						\
	char *s_ = cJSON_PrintUnformatted(d_);				\
									\
	fake_http_respond(h, pattern, status, s_, __VA_ARGS__);		\
	free(s_);							\
	cJSON_Delete(d_);						\
} while (0)
/* The next request whose URL contains pattern fails with error. */
void	 fake_http_respond_error(struct http *, const char *pattern,
	    enum http_error);

/* Complete the oldest request in flight. 0 if there is none. */
int	 fake_http_deliver(struct http *);
/* Request i was made, to url. */
void	 fake_http_assert_url(const struct http *, size_t i, const char *url);
/* How many of the request's header lines are exactly line. */
size_t	 fake_request_count(const struct fake_request *, const char *line);
/* The request's first header line that starts with prefix, or NULL. */
const char *fake_request_header(const struct fake_request *,
	    const char *prefix);

/* ---- the fake poll job --------------------------------------------------- */

struct poll_job {
	int		 stream;
	const char	*cursor;
	int64_t		 since;
	int64_t		 now;
	void		*data;

	struct msg	*pending;	/* handed over, not committed */
	size_t		 npending;
	struct msg	*stored;	/* committed */
	size_t		 nstored;
	char		*commits[128];	/* poll_job_commit's cursors */
	size_t		 commit_nstored[128];	/* nstored after each */
	size_t		 ncommits;
	const char	*reject_id;	/* poll_job_add refuses it */
	const char	*known_id;	/* stored before this job, */
	const char	*known_root;	/* of this conversation */

	size_t		 nlookups;	/* poll_job_conversation_of calls */

	int		 ndone;
	struct poll_result result;	/* strings copied */
};

/* A poll of stream from cursor (NULL: the first poll) at now; the
 * backfill reaches back a day. The job must be clear. */
void	 fake_job_init(struct poll_job *, int stream, const char *cursor,
	    int64_t now);
/* Frees what the job holds and zeroes it. */
void	 fake_job_clear(struct poll_job *);
/* The message of that id the job stored; fails the test if none. */
const struct msg *fake_job_stored(const struct poll_job *, const char *id);
/* Deliver until the poll ends (in fewer than max deliveries); then
 * nothing may be left in flight. */
void	 fake_job_run(struct poll_job *, struct http *, int max);

#endif
