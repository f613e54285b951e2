/* SPDX-License-Identifier: ISC */
#ifndef RW_DELIVER_H
#define RW_DELIVER_H

#include <stddef.h>
#include <stdint.h>

/*
 * Delivery channels: one attempt to hand one alert to one route, on the
 * daemon's HTTP client. The outbox keeps the alert, counts the attempts
 * and decides when to try again; this only makes the attempt and says how
 * it went.
 *
 * Webhook: POST of delivery->json (or, with slack, {"text": text}) with
 * Content-Type: application/json, Idempotency-Key: KEY, X-Replywatch-Event
 * (the JSON's "event", when it has one) and, with a secret,
 * X-Replywatch-Signature: sha256=HEX, the HMAC-SHA256 of the exact body.
 * 2xx is DELIVER_OK; a network error, 5xx or 429 is DELIVER_RETRY (with
 * the time of Retry-After, if given); anything else DELIVER_FAILED.
 *
 * Email: an RFC 5322 message (deliver_message) submitted over SMTP. A 2xx
 * final reply is DELIVER_OK; a 4xx reply, a connection, timeout or TLS
 * error is DELIVER_RETRY; a 5xx reply, a server without STARTTLS when it is
 * required, or one that offers no usable AUTH mechanism is DELIVER_FAILED.
 *
 * Nothing here logs a secret or a password.
 */

struct http;
struct deliver_call;

struct route {			/* one [route "NAME"], secrets loaded */
	const char	*name;
	enum route_type { ROUTE_WEBHOOK, ROUTE_EMAIL } type;
	const char	*url;		/* https:// (http:// on loopback), or
					   smtp:// / smtps:// */
	const char	*secret;	/* webhook: HMAC key; NULL: unsigned */
	int		 slack;		/* webhook: {"text": …} body */
	const char	*from;		/* email: a bare address */
	const char *const *to;		/* email: bare addresses, NULL-terminated */
	const char	*username, *password;	/* email AUTH; NULL: none */
	int		 starttls;	/* smtp://: 1 required, 0 none (loopback
					   only) */
	const char	*ca_file;	/* NULL: the client's */
	long		 timeout_ms;	/* 0: the client's */
};

struct delivery {
	const char	*key;		/* idempotency key, the same on every
					   retry: visible ASCII, 1..200 bytes */
	const char	*json;		/* the versioned JSON body */
	const char	*subject;	/* one line of UTF-8 (email) */
	const char	*text;		/* plain-text UTF-8 (email, slack) */
	int64_t		 created_ms;	/* the email's Date */
};

enum deliver_result { DELIVER_OK, DELIVER_RETRY, DELIVER_FAILED };

/* Called once, from the loop, unless the call was cancelled. retry_at_ms is
 * when the peer asked to be tried again (Retry-After), -1 if it did not;
 * error is NULL for DELIVER_OK, else why, for the log (no secrets). Both
 * live until the callback returns; the call is freed after it. */
typedef void deliver_done_fn(enum deliver_result, int64_t retry_at_ms,
    const char *error, void *arg);

/* Start one attempt. NULL if it cannot be made as given (a bad route or
 * delivery: header injection, invalid UTF-8, a bad URL or address, or
 * libcurl refusing it), with *errstr: a permanent failure. */
struct deliver_call *deliver_start(struct http *, const struct route *,
	    const struct delivery *, deliver_done_fn *, void *arg,
	    char **errstr);
/* Stop an attempt that has not completed; its callback is not called.
 * Not from inside the callback. */
void	 deliver_cancel(struct deliver_call *);

/* The wait before the next attempt after `attempts` failed ones: 5 s,
 * 10 s, 20 s … capped at 1 h; with jitter, between 80 % and 100 % of
 * that. Attempts below 1 count as 1. */
int64_t	 deliver_backoff_ms(int attempts);

/* The email exactly as submitted (CRLF lines), caller frees; NULL with
 * *errstr if a header value would contain CR or LF, the subject or text
 * is not UTF-8, or an address is not a plain address. */
char	*deliver_message(const struct route *, const struct delivery *,
	    char **errstr);

/* "sha256=" and the lowercase hex HMAC-SHA256 of the body with the secret,
 * into sig (DELIVER_SIG_LEN bytes with the NUL). */
#define DELIVER_SIG_LEN	(7 + 64 + 1)
void	 deliver_sign(const char *secret, const char *body, size_t len,
	    char sig[DELIVER_SIG_LEN]);

#endif
