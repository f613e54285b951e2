/* SPDX-License-Identifier: ISC */
#ifndef RW_GRAPH_H
#define RW_GRAPH_H

#include <stdint.h>

#include "connector.h"

/*
 * What the Facebook Pages and Instagram connectors share: Meta's Graph
 * API. Requests carry the access token as the access_token query
 * parameter (the form the reference confirms); pages are followed with
 * paging.next when it is on the configured server, else with
 * paging.cursors.after. The usage headers (X-App-Usage,
 * X-Business-Use-Case-Usage, X-Page-Usage) slow the polls down before
 * the platform throttles them, and Graph error bodies are reported as
 * they are ("code 190/subcode 463: Error validating access token: …").
 *
 * A stream is one of three walks:
 *
 *  GW_THREADS  a list of conversations, newest first by updated_time;
 *              the messages of each one updated since the watermark
 *  GW_POSTS    the brand's posts of the last days (feed, media), each one
 *              stored, then the comments of those that may have new ones
 *  GW_LIST     posts by others that name the brand (tagged, tags)
 *
 * The cursor of every stream is a watermark, an RFC 3339 time: the
 * newest time seen. Graph times have whole seconds, so the next poll asks
 * for what is at least as new as the watermark, and the store's identity
 * of messages drops what was seen twice.
 */

enum graph_walk {
	GW_THREADS,
	GW_POSTS,
	GW_LIST,
};

/* The field names of a kind of item. */
struct graph_names {
	const char	*time;		/* "created_time", "timestamp", … */
	const char	*text;		/* "message", "text", "caption"; NULL */
	const char	*url;		/* "permalink_url", "permalink"; NULL */
};

struct graph_stream {
	const char	*name;
	enum graph_walk	 walk;
	int		 on_page;	/* the edge hangs off page_id, not
					   platform_id */
	const char	*edge;		/* "conversations", "feed", "tags", … */
	const char	*query;		/* its parameters, without the token */
	struct graph_names list;	/* of the list's items */
	enum msg_kind	 kind;		/* of the messages */
	int		 own;		/* the list's items are the brand's
					   (Instagram media have no from) */
	/* GW_THREADS and GW_POSTS: the edge of each item with the messages
	 * or comments, and their parameters */
	const char	*child_edge;
	const char	*child_query;
	struct graph_names child;
	int		 child_since;	/* comments take since=UNIX */
	int		 count_cache;	/* Instagram media: skip those whose
					   comments_count did not change */
};

struct graph_def {
	const char	*who;		/* "facebook", for logs */
	const struct graph_stream *streams;	/* one per connector stream */
	int		 need_page_id;	/* page_id = is required */
	const char	*page_id_why;	/* what it is for, in the error */
};

/* The connector_def functions. */
void	*graph_new(const struct connector_env *, const struct graph_def *,
	    char **errstr);
void	 graph_free(void *);
void	 graph_poll(void *, struct poll_job *);
void	 graph_cancel(void *, struct poll_job *);

/*
 * Exposed for the unit tests.
 */

/* A Graph time: ISO 8601 with "+0000" or any RFC 3339 offset, or Unix
 * seconds in a string of digits. 0 or -1. */
int	 graph_time_parse(const char *, int64_t *ms);

/* What the usage headers say: the highest percentage of any figure in
 * any of them (-1: no header), and the longest
 * estimated_time_to_regain_access (ms, 0: none). */
struct graph_usage {
	int64_t	 pct;
	int64_t	 regain_ms;
};
void	 graph_usage_read(const struct http_response *, struct graph_usage *);
/* How long to wait before the next poll at that usage, at least; 0 if no
 * slowdown is needed. */
int64_t	 graph_usage_delay(const struct graph_usage *, int64_t interval_ms);

#define GRAPH_USAGE_SLOW	75	/* % from which polls are stretched */
#define GRAPH_USAGE_STOP	95	/* % from which paging stops */
#define GRAPH_PAUSE_MS		(INT64_C(15) * 60 * 1000)
					/* throttled, and no time was given */

#endif
