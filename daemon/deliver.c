/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <unistr.h>

#include "deliver.h"
#include "http.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * One delivery attempt per call: the request is built and checked here,
 * sent by the HTTP client (http_start or http_start_smtp), and its
 * response mapped to OK, RETRY or FAILED. Everything a peer sees is
 * checked before anything is sent: header values never carry CR or LF,
 * text is UTF-8, addresses are plain addresses.
 */

#define KEY_MAX		200
#define ADDR_MAX	254
#define EVENT_MAX	64
#define SNIPPET_MAX	200
#define LINE_MAX_OCTETS	998	/* RFC 5322 2.1.1 */
#define FOLD_AT		78
#define EW_BYTES	39	/* UTF-8 bytes per encoded-word: 52 base64 */
#define BACKOFF_FIRST_MS	INT64_C(5000)
#define BACKOFF_CAP_MS		(INT64_C(3600) * 1000)

struct deliver_call {
	struct http_call *call;
	deliver_done_fn	*done;
	void		*arg;
};

/* ---- a growing string ----------------------------------------------------- */

struct buf {
	char	*s;
	size_t	 len, cap;
};

static void
buf_addn(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 512;

		while (b->len + n + 1 > cap)
			cap *= 2;
		b->s = xreallocarray(b->s, cap, 1);
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
buf_add(struct buf *b, const char *s)
{
	buf_addn(b, s, strlen(s));
}

static void buf_addf(struct buf *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	buf_addn(b, s, (size_t)n);
	free(s);
}

/* ---- checks ----------------------------------------------------------------- */

static int
is_utf8(const char *s)
{
	return u8_check((const uint8_t *)s, strlen(s)) == NULL;
}

/* No CR, LF or other control character (TAB allowed). */
static int
header_safe(const char *s)
{
	for (; *s != '\0'; s++) {
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	}
	return 1;
}

/* Visible ASCII, 1..max bytes. */
static int
token_ok(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
			return 0;
	}
	return n > 0 && n <= max;
}

/* local@domain, visible ASCII without the characters that would make it
 * more than a plain address in a header or an SMTP command. */
static int
addr_ok(const char *s)
{
	const char *at;

	if (s == NULL || !token_ok(s, ADDR_MAX))
		return 0;
	if (strpbrk(s, "<>()[],;:\\\"") != NULL)
		return 0;
	if ((at = strchr(s, '@')) == NULL || at == s || at[1] == '\0' ||
	    strchr(at + 1, '@') != NULL)
		return 0;
	return 1;
}

static int
key_check(const struct delivery *d, char **errstr)
{
	if (d->key == NULL || !token_ok(d->key, KEY_MAX)) {
		xasprintf(errstr, "the idempotency key must be 1 to %d "
		    "visible ASCII characters", KEY_MAX);
		return -1;
	}
	return 0;
}

/* ---- the webhook -------------------------------------------------------------- */

void
deliver_sign(const char *secret, const char *body, size_t len,
    char sig[DELIVER_SIG_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (HMAC(EVP_sha256(), secret, (int)strlen(secret),
	    (const unsigned char *)body, len, md, &mdlen) == NULL ||
	    mdlen != 32)
		abort();
	memcpy(sig, "sha256=", 7);
	for (i = 0; i < mdlen; i++) {
		sig[7 + 2 * i] = hex[md[i] >> 4];
		sig[7 + 2 * i + 1] = hex[md[i] & 0xf];
	}
	sig[7 + 2 * mdlen] = '\0';
	OPENSSL_cleanse(md, sizeof md);
}

/* The body to POST, caller frees. */
static char *
webhook_body(const struct route *r, const struct delivery *d, char **errstr)
{
	cJSON *o;
	char *s;

	if (!r->slack) {
		if (d->json == NULL || !is_utf8(d->json)) {
			xasprintf(errstr, "the alert's JSON is missing or "
			    "not UTF-8");
			return NULL;
		}
		return xstrdup(d->json);
	}
	if (d->text == NULL || !is_utf8(d->text)) {
		xasprintf(errstr, "the alert's text is missing or not UTF-8");
		return NULL;
	}
	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(o, "text", d->text) == NULL ||
	    (s = cJSON_PrintUnformatted(o)) == NULL)
		abort();
	cJSON_Delete(o);
	return s;
}

/* The "event" member of the JSON, if it is a plain token; caller frees. */
static char *
webhook_event(const char *json)
{
	cJSON *o, *e;
	char *ev = NULL;

	if (json == NULL || (o = cJSON_Parse(json)) == NULL)
		return NULL;
	e = cJSON_GetObjectItemCaseSensitive(o, "event");
	if (cJSON_IsString(e) && token_ok(e->valuestring, EVENT_MAX))
		ev = xstrdup(e->valuestring);
	cJSON_Delete(o);
	return ev;
}

/* A response body as one short printable line, for an error message. */
static void
snippet(const char *body, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len && o + 1 < outlen && o < SNIPPET_MAX; i++) {
		unsigned char c = (unsigned char)body[i];

		out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static void
on_webhook(const struct http_response *resp, void *arg)
{
	struct deliver_call *dc = arg;
	enum deliver_result res;
	int64_t at = -1;
	char text[SNIPPET_MAX + 1], *err = NULL;

	if (resp->error != HTTP_OK) {
		res = DELIVER_RETRY;
		err = xstrdup(resp->errstr != NULL ? resp->errstr :
		    "network error");
	} else if (resp->status >= 200 && resp->status <= 299) {
		res = DELIVER_OK;
	} else {
		res = resp->status == 429 || (resp->status >= 500 &&
		    resp->status <= 599) ? DELIVER_RETRY : DELIVER_FAILED;
		if (res == DELIVER_RETRY)
			at = http_retry_after(resp, timefmt_now());
		snippet(resp->body, resp->len, text, sizeof text);
		xasprintf(&err, "HTTP %ld%s%s", resp->status,
		    text[0] != '\0' ? ": " : "", text);
	}
	dc->done(res, at, err, dc->arg);
	free(err);
	free(dc);
}

static struct deliver_call *
webhook_start(struct http *h, const struct route *r,
    const struct delivery *d, struct deliver_call *dc, char **errstr)
{
	struct http_request rq;
	const char *why, *hdr[6];
	char *body, *event, *keyh, *evh = NULL, sig[DELIVER_SIG_LEN];
	char *sigh = NULL;
	size_t n = 0;

	if (r->url == NULL || http_url_check(r->url, &why) == -1) {
		xasprintf(errstr, "url: %s", r->url == NULL ? "missing" : why);
		return NULL;
	}
	if (r->secret != NULL && r->secret[0] == '\0') {
		xasprintf(errstr, "the webhook secret is empty");
		return NULL;
	}
	if ((body = webhook_body(r, d, errstr)) == NULL)
		return NULL;
	hdr[n++] = "Content-Type: application/json";
	xasprintf(&keyh, "Idempotency-Key: %s", d->key);
	hdr[n++] = keyh;
	if ((event = webhook_event(d->json)) != NULL) {
		xasprintf(&evh, "X-Replywatch-Event: %s", event);
		hdr[n++] = evh;
		free(event);
	}
	if (r->secret != NULL) {
		deliver_sign(r->secret, body, strlen(body), sig);
		xasprintf(&sigh, "X-Replywatch-Signature: %s", sig);
		hdr[n++] = sigh;
	}
	hdr[n] = NULL;
	memset(&rq, 0, sizeof rq);
	rq.method = "POST";
	rq.url = r->url;
	rq.headers = hdr;
	rq.body = body;
	rq.body_len = strlen(body);
	rq.timeout_ms = r->timeout_ms;
	rq.ca_file = r->ca_file;
	dc->call = http_start(h, &rq, on_webhook, dc, errstr);
	free(body);
	free(keyh);
	free(evh);
	free(sigh);
	return dc->call != NULL ? dc : NULL;
}

/* ---- the email ------------------------------------------------------------------ */

static void
add_date(struct buf *b, int64_t ms)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)((ms >= 0 ? ms : timefmt_now()) / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	buf_addf(b, "Date: %s, %d %s %04d %02d:%02d:%02d +0000\r\n",
	    wd[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The key as the left part of a Message-ID (RFC 5322 dot-atom-text):
 * atext as it is, '.' between atext, anything else (and '=') as =XX. */
static void
add_message_id(struct buf *b, const char *key)
{
	static const char atext[] = "!#$%&'*+-/?^_`{|}~";
	size_t i, n = strlen(key);
	char c;

	buf_add(b, "Message-ID: <");
	for (i = 0; i < n; i++) {
		c = key[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(atext, c) != NULL ||
		    (c == '.' && i > 0 && i + 1 < n && key[i - 1] != '.'))
			buf_addn(b, &c, 1);
		else
			buf_addf(b, "=%02X", (unsigned char)c);
	}
	buf_add(b, "@replywatch>\r\n");
}

/* Printable ASCII without "=?", short enough to fold at spaces. */
static int
subject_plain(const char *s)
{
	size_t word = 0;

	if (strstr(s, "=?") != NULL)
		return 0;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
		word = *s == ' ' ? 0 : word + 1;
		if (word > LINE_MAX_OCTETS - 10)
			return 0;
	}
	return 1;
}

/* "Subject: " folded at spaces before column 78 where it can be. */
static void
add_subject_plain(struct buf *b, const char *s)
{
	size_t col = 9, wl;
	const char *w;

	buf_add(b, "Subject: ");
	while (*s != '\0') {
		w = s;
		wl = strcspn(w, " ");
		if (col + wl > FOLD_AT && col > 9 && w[-1] == ' ') {
			/* the space before this word becomes the fold */
			b->len--;
			buf_add(b, "\r\n ");
			col = 1;
		}
		buf_addn(b, w, wl);
		col += wl;
		s = w + wl;
		if (*s == ' ') {
			buf_add(b, " ");
			col++;
			s++;
		}
	}
	buf_add(b, "\r\n");
}

static void
base64(struct buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char out[4];
	unsigned long v;
	size_t i;

	for (i = 0; i < n; i += 3) {
		v = (unsigned long)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[0] = tab[(v >> 18) & 63];
		out[1] = tab[(v >> 12) & 63];
		out[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[3] = i + 2 < n ? tab[v & 63] : '=';
		buf_addn(b, out, 4);
	}
}

/* RFC 2047 B encoded-words of at most EW_BYTES bytes each, never splitting
 * a UTF-8 character, one per line: each line stays under 76 columns. */
static void
add_subject_encoded(struct buf *b, const char *s)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + strlen(s), *q;
	int len;

	buf_add(b, "Subject:");
	while (p < end) {
		q = p;
		while (q < end) {
			if ((len = u8_mblen(q, (size_t)(end - q))) < 1)
				len = 1;
			if (q + len - p > EW_BYTES)
				break;
			q += len;
		}
		buf_add(b, p == (const uint8_t *)s ? " =?UTF-8?B?" :
		    "\r\n =?UTF-8?B?");
		base64(b, p, (size_t)(q - p));
		buf_add(b, "?=");
		p = q;
	}
	buf_add(b, "\r\n");
}

static void
add_to(struct buf *b, const char *const *to)
{
	size_t i, col = 4, n;

	buf_add(b, "To: ");
	for (i = 0; to[i] != NULL; i++) {
		n = strlen(to[i]);
		if (i > 0) {
			if (col + 2 + n > FOLD_AT) {
				buf_add(b, ",\r\n ");
				col = 1;
			} else {
				buf_add(b, ", ");
				col += 2;
			}
		}
		buf_add(b, to[i]);
		col += n;
	}
	buf_add(b, "\r\n");
}

/* Does the text need quoted-printable: 8-bit bytes, control characters
 * other than TAB and line ends, or a line over 998 octets? */
static int
needs_qp(const char *t)
{
	size_t col = 0;

	for (; *t != '\0'; t++) {
		unsigned char c = (unsigned char)*t;

		if (c == '\r' || c == '\n') {
			col = 0;
			continue;
		}
		if (c >= 0x7f || (c < 0x20 && c != '\t') ||
		    ++col > LINE_MAX_OCTETS)
			return 1;
	}
	return 0;
}

/* The next line of t (without its end, which may be CRLF, LF or CR);
 * *next is after it, or NULL at the end of the text. */
static size_t
next_line(const char *t, const char **next)
{
	size_t n = strcspn(t, "\r\n");

	if (t[n] == '\0')
		*next = NULL;
	else if (t[n] == '\r' && t[n + 1] == '\n')
		*next = t + n + 2;
	else
		*next = t + n + 1;
	return n;
}

/* One line as quoted-printable (RFC 2045 6.7), soft breaks before 76. */
static void
add_qp_line(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, col = 0, w;
	char enc[3];

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '=' || c >= 0x7f || (c < 0x20 && c != '\t') ||
		    ((c == ' ' || c == '\t') && i + 1 == n)) {
			enc[0] = '=';
			enc[1] = hex[c >> 4];
			enc[2] = hex[c & 15];
			w = 3;
		} else {
			enc[0] = (char)c;
			w = 1;
		}
		if (col + w > 75) {
			buf_add(b, "=\r\n");
			col = 0;
		}
		buf_addn(b, enc, w);
		col += w;
	}
	buf_add(b, "\r\n");
}

static void
add_body(struct buf *b, const char *t, int qp)
{
	const char *next;
	size_t n;

	if (*t == '\0')
		return;
	for (; t != NULL; t = next) {
		n = next_line(t, &next);
		if (next != NULL && *next == '\0')
			next = NULL;	/* the text's own last line end */
		if (qp)
			add_qp_line(b, t, n);
		else {
			buf_addn(b, t, n);
			buf_add(b, "\r\n");
		}
	}
}

static int
message_check(const struct route *r, const struct delivery *d,
    char **errstr)
{
	size_t i;

	if (key_check(d, errstr) == -1)
		return -1;
	if (!addr_ok(r->from)) {
		xasprintf(errstr, "from: not a plain address (local@domain)");
		return -1;
	}
	if (r->to == NULL || r->to[0] == NULL) {
		xasprintf(errstr, "to: no recipient");
		return -1;
	}
	for (i = 0; r->to[i] != NULL; i++) {
		if (!addr_ok(r->to[i])) {
			xasprintf(errstr, "to: recipient %zu is not a plain "
			    "address (local@domain)", i + 1);
			return -1;
		}
	}
	if (d->subject == NULL || d->subject[0] == '\0' ||
	    !is_utf8(d->subject)) {
		xasprintf(errstr, "the subject is missing or not UTF-8");
		return -1;
	}
	if (!header_safe(d->subject)) {
		xasprintf(errstr, "the subject contains a line break or a "
		    "control character (header injection refused)");
		return -1;
	}
	if (d->text != NULL && !is_utf8(d->text)) {
		xasprintf(errstr, "the text is not UTF-8");
		return -1;
	}
	return 0;
}

char *
deliver_message(const struct route *r, const struct delivery *d,
    char **errstr)
{
	struct buf b = { NULL, 0, 0 };
	const char *text = d->text != NULL ? d->text : "";
	int qp;

	if (message_check(r, d, errstr) == -1)
		return NULL;
	qp = needs_qp(text);
	add_date(&b, d->created_ms);
	buf_addf(&b, "From: %s\r\n", r->from);
	add_to(&b, r->to);
	if (subject_plain(d->subject))
		add_subject_plain(&b, d->subject);
	else
		add_subject_encoded(&b, d->subject);
	add_message_id(&b, d->key);
	buf_add(&b, "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n");
	buf_addf(&b, "Content-Transfer-Encoding: %s\r\n\r\n",
	    qp ? "quoted-printable" : "7bit");
	add_body(&b, text, qp);
	return b.s;
}

static int
smtp_url_check(const struct route *r, char **errstr)
{
	const char *u = r->url;
	size_t i;

	if (u == NULL || (strncasecmp(u, "smtp://", 7) != 0 &&
	    strncasecmp(u, "smtps://", 8) != 0)) {
		xasprintf(errstr, "url: the scheme must be smtp:// or "
		    "smtps://");
		return -1;
	}
	for (i = 0; u[i] != '\0'; i++) {
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f) {
			xasprintf(errstr, "url: the URL contains spaces or "
			    "control characters");
			return -1;
		}
	}
	if (strncasecmp(u, "smtp://", 7) == 0 && !r->starttls &&
	    !http_url_is_loopback(u)) {
		xasprintf(errstr, "url: mail without STARTTLS is allowed only "
		    "to a loopback server (127.0.0.1, ::1, localhost)");
		return -1;
	}
	return 0;
}

static void
on_email(const struct http_response *resp, void *arg)
{
	struct deliver_call *dc = arg;
	enum deliver_result res;
	char *err = NULL;

	if (resp->status >= 400 && resp->status <= 599) {
		res = resp->status < 500 ? DELIVER_RETRY : DELIVER_FAILED;
		if (resp->body[0] != '\0')
			xasprintf(&err, "SMTP: %s", resp->body);
		else
			xasprintf(&err, "SMTP %ld: %s", resp->status,
			    resp->errstr != NULL ? resp->errstr : "refused");
	} else if (resp->error == HTTP_OK) {
		res = DELIVER_OK;
	} else {
		res = resp->error == HTTP_E_REFUSED ? DELIVER_FAILED :
		    DELIVER_RETRY;
		err = xstrdup(resp->errstr != NULL ? resp->errstr :
		    "network error");
	}
	dc->done(res, -1, err, dc->arg);
	free(err);
	free(dc);
}

static struct deliver_call *
email_start(struct http *h, const struct route *r, const struct delivery *d,
    struct deliver_call *dc, char **errstr)
{
	struct smtp_request rq;
	char *msg;

	if (smtp_url_check(r, errstr) == -1)
		return NULL;
	if ((msg = deliver_message(r, d, errstr)) == NULL)
		return NULL;
	memset(&rq, 0, sizeof rq);
	rq.url = r->url;
	rq.mail_from = r->from;
	rq.rcpt = r->to;
	rq.message = msg;
	rq.message_len = strlen(msg);
	rq.username = r->username;
	rq.password = r->password;
	rq.require_tls = r->starttls;
	rq.timeout_ms = r->timeout_ms;
	rq.ca_file = r->ca_file;
	dc->call = http_start_smtp(h, &rq, on_email, dc, errstr);
	free(msg);
	return dc->call != NULL ? dc : NULL;
}

/* ---- the channel-independent part --------------------------------------------- */

struct deliver_call *
deliver_start(struct http *h, const struct route *r, const struct delivery *d,
    deliver_done_fn *done, void *arg, char **errstr)
{
	struct deliver_call *dc, *ok;

	if (key_check(d, errstr) == -1)
		return NULL;
	dc = xcalloc(1, sizeof *dc);
	dc->done = done;
	dc->arg = arg;
	if (r->type == ROUTE_WEBHOOK)
		ok = webhook_start(h, r, d, dc, errstr);
	else
		ok = email_start(h, r, d, dc, errstr);
	if (ok == NULL)
		free(dc);
	return ok;
}

void
deliver_cancel(struct deliver_call *dc)
{
	if (dc == NULL)
		return;
	http_cancel(dc->call);
	free(dc);
}

/* xorshift64*, seeded from the monotonic clock on every call */
int64_t
deliver_backoff_ms(int attempts)
{
	struct timespec ts;
	uint64_t x;
	int64_t d = BACKOFF_FIRST_MS;
	int i;

	for (i = 1; i < attempts && d < BACKOFF_CAP_MS; i++)
		d *= 2;
	if (d > BACKOFF_CAP_MS)
		d = BACKOFF_CAP_MS;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
	    ((uint64_t)(unsigned)attempts << 32);
	if (x == 0)
		x = 0x9e3779b97f4a7c15u;
	for (i = 0; i < 3; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
	}
	x *= 2685821657736338717u;
	/* jitter: between 80 % and 100 % of the step */
	return d - (int64_t)(x % (uint64_t)(d / 5 + 1));
}
