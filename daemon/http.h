/* SPDX-License-Identifier: ISC */
#ifndef RW_HTTP_H
#define RW_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/*
 * The daemon's HTTP client: one libcurl multi handle driven by the libuv
 * loop (uv_poll per socket, one uv_timer). Connections are kept and reused
 * across requests; at most max_host_connections run to one host at a time,
 * further requests wait in the client's own queue, without a libcurl
 * handle. Every request has a connect
 * and a total timeout, and a response body larger than max_body ends it.
 *
 * Only http.c includes curl/curl.h. Nothing here logs request headers:
 * they carry tokens.
 */

struct http;
struct http_call;

struct http_options {
	long		 connect_timeout_ms;	/* 0: 10 s */
	long		 timeout_ms;		/* 0: 30 s (whole request) */
	long		 max_host_connections;	/* 0: 4 */
	long		 max_connections;	/* 0: 64, open at once in all */
	size_t		 max_body;		/* 0: 8 MiB */
	const char	*ca_file;		/* NULL: the system's CAs */
	const char	*user_agent;		/* NULL: "replywatch/VERSION" */
};

enum http_error {
	HTTP_OK = 0,		/* a response arrived: see status */
	HTTP_E_TIMEOUT,		/* connect or total timeout */
	HTTP_E_CONNECT,		/* could not connect (refused, DNS, …) */
	HTTP_E_TLS,		/* TLS handshake or certificate refused */
	HTTP_E_TOO_LARGE,	/* body over max_body */
	HTTP_E_NETWORK,		/* reset, truncated transfer, anything else */
	HTTP_E_REFUSED,		/* SMTP: STARTTLS required but not offered,
				   or AUTH refused or impossible */
};

struct http_header {
	char	*name;
	char	*value;
};

struct http_response {
	enum http_error	 error;
	const char	*errstr;	/* what went wrong (error != HTTP_OK) */
	long		 status;	/* HTTP status; 0 when error != HTTP_OK.
					   SMTP: the last reply code, also when
					   error is set (0: none) */
	const char	*body;		/* NUL-terminated; never NULL. SMTP:
					   the server's last reply line */
	size_t		 len;
	const struct http_header *headers;	/* of the final response */
	size_t		 nheaders;
	int64_t		 elapsed_ms;
};

/* Called once per request, from the loop, unless the call is cancelled.
 * The response and everything in it live until the callback returns. */
typedef void http_done_fn(const struct http_response *, void *arg);

struct http_request {
	const char	*method;	/* NULL: GET */
	const char	*url;
	const char *const *headers;	/* "Name: value", NULL-terminated; may
					   be NULL */
	const char	*body;		/* POST body, or NULL */
	size_t		 body_len;
	long		 timeout_ms;	/* 0: the client's default */
	const char	*ca_file;	/* CAs to trust; NULL: the client's */
};

struct http *http_new(uv_loop_t *, const struct http_options *, char **errstr);
/* Cancels every call still running (their callbacks are not called) and
 * closes all handles; the loop must run on until they are closed. */
void	 http_free(struct http *);

/* Start a request. NULL only if libcurl refuses it (errstr set). */
struct http_call *http_start(struct http *, const struct http_request *,
	    http_done_fn *, void *arg, char **errstr);
/*
 * Mail submission on the same multi handle: the message as given (CRLF
 * lines; libcurl dot-stuffs it and adds the final ".") to every recipient,
 * all of which must be accepted. url is smtp://host[:port][/EHLO-NAME] or
 * smtps://…; with require_tls an smtp:// session must switch to TLS with
 * STARTTLS (else HTTP_E_REFUSED). The response's status and body are the
 * last SMTP reply.
 */
struct smtp_request {
	const char	*url;
	const char	*mail_from;	/* envelope sender, a bare address */
	const char *const *rcpt;	/* bare addresses, NULL-terminated */
	const char	*message;
	size_t		 message_len;
	const char	*username;	/* NULL: no AUTH */
	const char	*password;
	int		 require_tls;
	long		 timeout_ms;	/* 0: the client's default */
	const char	*ca_file;	/* NULL: the client's */
};

struct http_call *http_start_smtp(struct http *, const struct smtp_request *,
	    http_done_fn *, void *arg, char **errstr);

/*
 * An optional watch on the client's HTTP requests (not mail), for
 * `replywatch check-account`, which makes one request per stream and never
 * spends a refresh token whatever the connector would do. vet is asked
 * before each request starts: nonzero refuses it, and http_start then
 * returns NULL with *errstr the reason given in *why. seen is told of each
 * answer, with its request's URL, just before the caller's callback. Either
 * may be NULL; a NULL watch removes it. The daemon sets none.
 */
struct http_watch {
	int	(*vet)(const struct http_request *, void *arg, const char **why);
	void	(*seen)(const char *url, const struct http_response *,
		    void *arg);
	void	*arg;
};

void	 http_set_watch(struct http *, const struct http_watch *);

/* Stop a call that has not completed; its callback will not be called. */
void	 http_cancel(struct http_call *);
/* Calls running now. */
size_t	 http_running(const struct http *);

/* The value of a response header (case-insensitive name; the last one if
 * repeated), or NULL. */
const char *http_header(const struct http_response *, const char *name);

/* The URL of a Link header relation ("next", "prev"), as a new string, or
 * NULL. */
char	*http_link(const struct http_response *, const char *rel);

/* Both http(s) URLs have the same scheme, host and port (and no user
 * info): a token for base may be sent to url. */
int	 http_same_origin(const char *base, const char *url);

/* A header's non-negative decimal value, or -1 if absent or malformed. */
int64_t	 http_header_num(const struct http_response *, const char *name);

/* Percent-encode a string for a URL query or path, caller frees. */
char	*http_escape(const char *);

/* The host part of an http:// or https:// URL is a loopback address
 * (127.0.0.0/8, ::1, localhost). */
int	 http_url_is_loopback(const char *url);

/* "https" or "http" URL with a host, nothing else. 0 or -1 with a reason. */
int	 http_url_check(const char *url, const char **why);

/* Seconds of a Retry-After header (delta or HTTP date) from now_ms, as an
 * absolute time in ms, or -1 if absent or malformed. */
int64_t	 http_retry_after(const struct http_response *, int64_t now_ms);

#endif
