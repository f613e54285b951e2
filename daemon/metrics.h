/* SPDX-License-Identifier: ISC */
#ifndef RW_METRICS_H
#define RW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/*
 * Metrics for Prometheus: a writer of the text exposition format 0.0.4
 * and a small HTTP/1.1 server on the loop that serves it at GET /metrics.
 */

/* ---- the writer ---------------------------------------------------------- */

/*
 * One exposition being written. Families come one after the other: a
 * family is declared, then its samples follow, then the next family.
 * Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__"); a wrong name, a sample
 * outside a family or a family declared twice is a bug of ours and fails
 * an assert. Label values are any text: backslash, double quote and
 * newline are escaped, invalid UTF-8 becomes U+FFFD.
 *
 * Conventions (promtool check metrics warns otherwise): counters end in
 * _total, units are in the name (_seconds), base units only.
 */
struct metrics_out;

struct metrics_out *metrics_out_new(void);
void	 metrics_out_free(struct metrics_out *);
/* What was written so far, NUL-terminated; *len (if not NULL) its length. */
const char *metrics_out_text(const struct metrics_out *, size_t *len);

/* Start family name of type "counter", "gauge" or "histogram": writes its
 * # HELP and # TYPE lines. Declaring the current family again does
 * nothing; declaring an earlier one is a bug. */
void	 metrics_family(struct metrics_out *, const char *name,
	    const char *type, const char *help);
/* One sample of the current family (not a histogram), named after it,
 * plus suffix if not NULL. labels: name, value, name, value, ..., NULL;
 * NULL for none. Integral values are written without exponent, others
 * so that they read back exactly; NaN, +Inf, -Inf as the format says. */
void	 metrics_sample(struct metrics_out *, const char *suffix,
	    const char *const *labels, double value);
/* One histogram of the current family, which must be name, of type
 * histogram: name_bucket{...,le="B"} for each bound, le="+Inf", name_sum
 * and name_count. bounds: nbounds finite values in increasing order
 * (+Inf not included). counts: nbounds entries, NOT cumulative: counts[i]
 * observations were <= bounds[i] and above bounds[i - 1]; the rest of
 * count were above the last bound. labels must not have "le". */
void	 metrics_histogram(struct metrics_out *, const char *name,
	    const char *const *labels, const double *bounds, size_t nbounds,
	    const uint64_t *counts, double sum, uint64_t count);
/* Count observation v in the right entry of counts (as above): nothing
 * when it is above every bound. The caller adds to its sum and count. */
void	 metrics_observe(const double *bounds, size_t nbounds,
	    uint64_t *counts, double v);

/* ---- the server ---------------------------------------------------------- */

/*
 * Serves only GET (and HEAD) /metrics, the query string ignored: 200 with
 * Content-Type: text/plain; version=0.0.4; charset=utf-8. Another path:
 * 404; another method on /metrics: 405 with Allow: GET, HEAD; a malformed
 * request or one with a body: 400; an HTTP version other than 1.x: 505; a
 * request head over max_head bytes: 431. Every response says Connection:
 * close; the connection is then shut down for writing and read to its
 * end (what comes is dropped) before it is closed, so that the client
 * reads the whole response.
 *
 * At most max_conns connections at once: one more is accepted and closed
 * at once, without a response. A connection that has not sent its whole
 * request head within idle_timeout_ms is closed; so is one still open
 * idle_timeout_ms after its response began.
 */
struct metrics_server;
struct metrics_server_options {
	size_t		 max_conns;		/* 0: 16 */
	size_t		 max_head;		/* bytes; 0: 8192 */
	uint64_t	 idle_timeout_ms;	/* 0: 10000 */
};

/* Called for each scrape: write every family to out. */
typedef void metrics_collect_fn(struct metrics_out *out, void *arg);

/* Check a metrics_listen value: "IPv4:port" or "[IPv6]:port", port 1 to
 * 65535, no host names. -1 with *why (to free) telling what is wrong. */
int	 metrics_parse_listen(const char *, char **why);

/* Listen on listen (as metrics_parse_listen; port 0 picks a free port).
 * NULL with *errstr (to free) on failure; a handle may then still be
 * closing: the loop must run before uv_loop_close. */
struct metrics_server *metrics_server_new(uv_loop_t *, const char *listen,
	    metrics_collect_fn *collect, void *arg, char **errstr);
/* The same, with limits (opt may be NULL: the defaults). */
struct metrics_server *metrics_server_new_opts(uv_loop_t *,
	    const char *listen, const struct metrics_server_options *opt,
	    metrics_collect_fn *collect, void *arg, char **errstr);
/* The port listened on (useful after port 0). */
int	 metrics_server_port(const struct metrics_server *);
/* Connections open now (closing ones included). */
size_t	 metrics_server_nconns(const struct metrics_server *);
/* Stop listening and close every connection. When every handle is
 * closed the server is freed, then done(arg) is called (done may be
 * NULL). collect is not called any more. */
void	 metrics_server_close(struct metrics_server *, void (*done)(void *),
	    void *arg);

#endif
