/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * libcurl's multi_socket API on the libuv loop. libcurl tells us which
 * sockets to watch (socket_cb) and when to call it back (timer_cb); we
 * tell it what happened (socket_action) and then collect the transfers
 * that ended (drain). Rules kept here, each a known pitfall:
 * - a timeout of 0 is not acted on inside timer_cb: the uv timer runs it
 *   on the next loop iteration;
 * - finished transfers are drained after every socket_action, including
 *   the timer's, whatever the number of running handles;
 * - one uv_poll_t per socket, created when libcurl has none assigned and
 *   freed only in its close callback; CURL_POLL_REMOVE stops and closes it;
 * - a poll error is passed to libcurl as CURL_CSELECT_ERR;
 * - no libcurl call from inside libcurl's callbacks.
 */

#define HTTP_DEFAULT_CONNECT_MS	10000
#define HTTP_DEFAULT_TIMEOUT_MS	30000
#define HTTP_DEFAULT_HOST_CONNS	4
#define HTTP_DEFAULT_CONNS	64
#define HTTP_DEFAULT_MAX_BODY	(8u << 20)
#define HTTP_MAX_HEADERS	200
#define HTTP_MAX_HEADER_BYTES	(64u << 10)

/* The calls to one origin: at most max_host_connections are libcurl's,
 * the others wait here in order and cost no libcurl handle. */
struct http_host {
	struct http_host *next;
	char		*origin;	/* scheme://authority of the URLs */
	size_t		 active;
	struct http_call *qhead, *qtail;
};

struct http {
	uv_loop_t	*loop;
	CURLM		*multi;
	uv_timer_t	 timer;
	int		 timer_open;
	struct http_options opt;
	char		*ca_file;
	char		*user_agent;
	struct http_call *calls;	/* running or queued, doubly linked */
	size_t		 ncalls;
	struct http_host *hosts;
	int		 closing;
	int		 draining;
	struct http_watch watch;	/* all NULL: none */
};

struct http_sock {
	uv_poll_t	 poll;
	curl_socket_t	 fd;
	struct http	*h;
};

struct http_call {
	struct http	*h;
	CURL		*easy;
	struct curl_slist *reqheaders;
	char		*body;		/* POST body or message, our copy */
	int		 smtp;		/* a mail submission (http_start_smtp) */
	struct curl_slist *rcpt;	/* SMTP recipients */
	size_t		 body_len, body_off;	/* SMTP upload */
	http_done_fn	*done;
	void		*arg;
	struct http_call *prev, *next;
	/* the request, kept until libcurl gets it */
	struct http_host *host;		/* NULL for mail */
	struct http_call *qnext;	/* waiting behind host->active */
	int		 queued;
	char		*url, *method, *ca_file;
	long		 timeout_ms;
	/* the response */
	char		*buf;
	size_t		 len, cap;
	int		 too_large;
	struct http_header *headers;
	size_t		 nheaders;
	size_t		 header_bytes;
	int64_t		 started_ms;
	char		 errbuf[CURL_ERROR_SIZE];
};

static void drain(struct http *);

/* The watch, if any, sees an answer before the caller does. */
static void
watch_seen(const struct http_call *c, const struct http_response *r)
{
	if (!c->smtp && c->h->watch.seen != NULL)
		c->h->watch.seen(c->url, r, c->h->watch.arg);
}

/* ---- sockets and the timer ---------------------------------------------- */

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct http_sock *s = p->data;
	struct http *h = s->h;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	curl_multi_socket_action(h->multi, s->fd, flags, &running);
	drain(h);
}

static void
on_sock_closed(uv_handle_t *hd)
{
	free(hd->data);
}

static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct http_sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			uv_poll_stop(&s->poll);
			uv_close((uv_handle_t *)&s->poll, on_sock_closed);
			curl_multi_assign(h->multi, fd, NULL);
		}
		return 0;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof *s);
		s->fd = fd;
		s->h = h;
		if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
			log_err("http: cannot watch socket %d", (int)fd);
			free(s);
			return -1;
		}
		s->poll.data = s;
		curl_multi_assign(h->multi, fd, s);
	}
	if (what != CURL_POLL_OUT)
		events |= UV_READABLE;
	if (what != CURL_POLL_IN)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, on_poll);
	return 0;
}

static void
on_timer(uv_timer_t *t)
{
	struct http *h = t->data;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain(h);
}

static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ---- one call --------------------------------------------------------- */

static size_t
write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_call *c = arg;
	size_t len = size * n;

	if (c->len + len > c->h->opt.max_body) {
		c->too_large = 1;
		return 0;	/* ends the transfer with CURLE_WRITE_ERROR */
	}
	if (c->len + len + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 16384;

		while (c->len + len + 1 > cap)
			cap *= 2;
		c->buf = xreallocarray(c->buf, cap, 1);
		c->cap = cap;
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	c->buf[c->len] = '\0';
	return len;
}

static void
headers_clear(struct http_call *c)
{
	size_t i;

	for (i = 0; i < c->nheaders; i++) {
		free(c->headers[i].name);
		free(c->headers[i].value);
	}
	free(c->headers);
	c->headers = NULL;
	c->nheaders = 0;
	c->header_bytes = 0;
}

/* Response header lines; a new status line (redirect, 100 Continue)
 * starts the list again, so that the final response's headers remain. */
static size_t
header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_call *c = arg;
	size_t len = size * n, nl;
	const char *colon, *v, *end;

	c->header_bytes += len;
	if (c->header_bytes > HTTP_MAX_HEADER_BYTES)
		return 0;
	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		headers_clear(c);
		return len;
	}
	if ((colon = memchr(data, ':', len)) == NULL || colon == data)
		return len;
	if (c->nheaders >= HTTP_MAX_HEADERS)
		return len;
	end = data + len;
	while (end > colon + 1 && (end[-1] == '\r' || end[-1] == '\n' ||
	    end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	nl = (size_t)(colon - data);
	c->headers = xreallocarray(c->headers, c->nheaders + 1,
	    sizeof *c->headers);
	c->headers[c->nheaders].name = xstrndup(data, nl);
	c->headers[c->nheaders].value = xstrndup(v, (size_t)(end - v));
	c->nheaders++;
	return len;
}

/* SMTP: the server's reply lines come here; the last one is kept as the
 * response's body (CRLF stripped, at most HTTP_MAX_REPLY bytes), except
 * the answer to QUIT, which libcurl sends after a refusal too. */
#define HTTP_MAX_REPLY	512
static size_t
smtp_reply_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_call *c = arg;
	size_t len = size * n, keep = len;

	if (len >= 4 && memcmp(data, "221", 3) == 0 &&
	    (data[3] == ' ' || data[3] == '-'))
		return len;
	while (keep > 0 && (data[keep - 1] == '\r' || data[keep - 1] == '\n'))
		keep--;
	if (keep > HTTP_MAX_REPLY)
		keep = HTTP_MAX_REPLY;
	if (c->cap < HTTP_MAX_REPLY + 1) {
		c->buf = xreallocarray(c->buf, HTTP_MAX_REPLY + 1, 1);
		c->cap = HTTP_MAX_REPLY + 1;
	}
	memcpy(c->buf, data, keep);
	c->buf[keep] = '\0';
	c->len = keep;
	return len;
}

/* SMTP: the message, read by libcurl for DATA. */
static size_t
smtp_read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct http_call *c = arg;
	size_t len = size * n;

	if (len > c->body_len - c->body_off)
		len = c->body_len - c->body_off;
	memcpy(buf, c->body + c->body_off, len);
	c->body_off += len;
	return len;
}

static void
call_unlink(struct http_call *c)
{
	struct http *h = c->h;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->ncalls--;
	if (c->queued) {
		struct http_call **pp = &c->host->qhead, *last = NULL;

		while (*pp != c) {
			last = *pp;
			pp = &(*pp)->qnext;
		}
		*pp = c->qnext;
		if (c->host->qtail == c)
			c->host->qtail = last;
		c->queued = 0;
	}
}

static void host_next(struct http *, struct http_host *);

static void
call_free(struct http_call *c)
{
	struct http_host *host = c->host;
	struct http *h = c->h;

	if (c->easy != NULL) {
		curl_multi_remove_handle(h->multi, c->easy);
		curl_easy_cleanup(c->easy);
		if (host != NULL)
			host->active--;
	}
	curl_slist_free_all(c->reqheaders);
	curl_slist_free_all(c->rcpt);
	headers_clear(c);
	free(c->body);
	free(c->buf);
	free(c->url);
	free(c->method);
	free(c->ca_file);
	free(c);
	/* a place is free: the next call waiting for this host */
	if (host != NULL && !h->closing)
		host_next(h, host);
}

static enum http_error
classify(CURLcode rc, const struct http_call *c)
{
	switch (rc) {
	case CURLE_OK:
		return HTTP_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_E_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return HTTP_E_CONNECT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return HTTP_E_TLS;
	case CURLE_WRITE_ERROR:
		return c->too_large ? HTTP_E_TOO_LARGE : HTTP_E_NETWORK;
	case CURLE_FILESIZE_EXCEEDED:
		/* refused from its Content-Length, before any byte */
		return HTTP_E_TOO_LARGE;
	case CURLE_USE_SSL_FAILED:
	case CURLE_LOGIN_DENIED:
		return c->smtp ? HTTP_E_REFUSED : HTTP_E_NETWORK;
	default:
		return HTTP_E_NETWORK;
	}
}

static void
finish(struct http_call *c, CURLcode rc)
{
	struct http_response r;
	char why[CURL_ERROR_SIZE + 64];
	long status = 0;

	memset(&r, 0, sizeof r);
	r.error = classify(rc, c);
	if (r.error == HTTP_OK || c->smtp)
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	r.status = status;
	if (c->smtp && rc == CURLE_USE_SSL_FAILED && status < 400)
		snprintf(why, sizeof why, "STARTTLS is required, but the "
		    "server does not offer it");
	else if (c->smtp && rc == CURLE_LOGIN_DENIED && status < 400)
		snprintf(why, sizeof why, "the server offers no "
		    "authentication mechanism that libcurl supports");
	else if (r.error == HTTP_E_TOO_LARGE)
		snprintf(why, sizeof why, "the response is larger than %zu "
		    "bytes", c->h->opt.max_body);
	else if (r.error != HTTP_OK)
		snprintf(why, sizeof why, "%s", c->errbuf[0] != '\0' ?
		    c->errbuf : curl_easy_strerror(rc));
	r.errstr = r.error != HTTP_OK ? why : NULL;
	r.body = c->buf != NULL ? c->buf : "";
	r.len = c->len;
	r.headers = c->headers;
	r.nheaders = c->nheaders;
	r.elapsed_ms = timefmt_now() - c->started_ms;
	call_unlink(c);
	watch_seen(c, &r);
	c->done(&r, c->arg);
	call_free(c);
}

/* Hand every finished transfer to its caller. Callers may start new
 * requests from their callbacks; those are only added to the multi
 * handle, which is safe here (we are not inside a libcurl callback). */
static void
drain(struct http *h)
{
	struct http_call *c;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		c = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		if (c == NULL)
			continue;
		finish(c, m->data.result);
	}
}

/* ---- the client ------------------------------------------------------- */

struct http *
http_new(uv_loop_t *loop, const struct http_options *opt, char **errstr)
{
	struct http *h;

	h = xcalloc(1, sizeof *h);
	h->loop = loop;
	h->opt = *opt;
	if (h->opt.connect_timeout_ms <= 0)
		h->opt.connect_timeout_ms = HTTP_DEFAULT_CONNECT_MS;
	if (h->opt.timeout_ms <= 0)
		h->opt.timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
	if (h->opt.max_host_connections <= 0)
		h->opt.max_host_connections = HTTP_DEFAULT_HOST_CONNS;
	if (h->opt.max_connections <= 0)
		h->opt.max_connections = HTTP_DEFAULT_CONNS;
	if (h->opt.max_body == 0)
		h->opt.max_body = HTTP_DEFAULT_MAX_BODY;
	h->ca_file = xstrdup_or_null(opt->ca_file);
	h->user_agent = xstrdup(opt->user_agent != NULL ? opt->user_agent :
	    "replywatch/" PACKAGE_VERSION);
	h->opt.ca_file = h->ca_file;
	h->opt.user_agent = h->user_agent;
	if ((h->multi = curl_multi_init()) == NULL) {
		xasprintf(errstr, "http: cannot create a libcurl multi handle");
		free(h->ca_file);
		free(h->user_agent);
		free(h);
		return NULL;
	}
	uv_timer_init(loop, &h->timer);
	h->timer.data = h;
	h->timer_open = 1;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    h->opt.max_host_connections);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    h->opt.max_connections);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
	    h->opt.max_connections);
	return h;
}

static void
on_http_closed(uv_handle_t *hd)
{
	free(hd->data);
}

void
http_free(struct http *h)
{
	struct http_host *host;

	if (h == NULL)
		return;
	h->closing = 1;
	while (h->calls != NULL)
		http_cancel(h->calls);
	while ((host = h->hosts) != NULL) {
		h->hosts = host->next;
		free(host->origin);
		free(host);
	}
	/* closes the cached connections: socket_cb closes their polls */
	curl_multi_cleanup(h->multi);
	free(h->ca_file);
	free(h->user_agent);
	uv_timer_stop(&h->timer);
	h->timer.data = h;
	uv_close((uv_handle_t *)&h->timer, on_http_closed);
}

static CURL *
easy_new(struct http *h, struct http_call *c)
{
	CURL *e;

	if ((e = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, c->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	else if (h->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    h->opt.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->timeout_ms > 0 ?
	    c->timeout_ms : h->opt.timeout_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)h->opt.max_body);
	if (c->method != NULL && strcmp(c->method, "GET") != 0)
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
	if (c->body != NULL) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)c->body_len);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->reqheaders);
	return e;
}

/* The call joins the multi handle and the list of running calls; on
 * failure it is freed. */
static struct http_call *
call_add(struct http *h, struct http_call *c, char **errstr)
{
	CURLMcode mc;

	c->started_ms = timefmt_now();
	if ((mc = curl_multi_add_handle(h->multi, c->easy)) != CURLM_OK) {
		xasprintf(errstr, "http: %s", curl_multi_strerror(mc));
		curl_easy_cleanup(c->easy);
		curl_slist_free_all(c->reqheaders);
		curl_slist_free_all(c->rcpt);
		free(c->body);
		free(c);
		return NULL;
	}
	c->next = h->calls;
	if (h->calls != NULL)
		h->calls->prev = c;
	h->calls = c;
	h->ncalls++;
	return c;
}

/* The origin of a URL: scheme://authority. */
static struct http_host *
host_of(struct http *h, const char *url)
{
	struct http_host *host;
	const char *p = strstr(url, "://");
	size_t n;

	p = p != NULL ? p + 3 : url;
	n = (size_t)(p - url) + strcspn(p, "/?#");
	for (host = h->hosts; host != NULL; host = host->next) {
		if (strlen(host->origin) == n &&
		    strncmp(host->origin, url, n) == 0)
			return host;
	}
	host = xcalloc(1, sizeof *host);
	host->origin = xstrndup(url, n);
	host->next = h->hosts;
	h->hosts = host;
	return host;
}

/* Hand a call to libcurl: 0, or -1 with *errstr (the call is unchanged). */
static int
call_launch(struct http *h, struct http_call *c, char **errstr)
{
	CURLMcode mc;

	if ((c->easy = easy_new(h, c)) == NULL) {
		xasprintf(errstr, "http: cannot create a libcurl handle");
		return -1;
	}
	c->started_ms = timefmt_now();
	if ((mc = curl_multi_add_handle(h->multi, c->easy)) != CURLM_OK) {
		xasprintf(errstr, "http: %s", curl_multi_strerror(mc));
		curl_easy_cleanup(c->easy);
		c->easy = NULL;
		return -1;
	}
	c->host->active++;
	return 0;
}

/* A place to host is free: start the calls waiting for it. */
static void
host_next(struct http *h, struct http_host *host)
{
	struct http_response r;
	struct http_call *c;
	char *err = NULL;

	while (host->active < (size_t)h->opt.max_host_connections &&
	    (c = host->qhead) != NULL) {
		host->qhead = c->qnext;
		if (host->qhead == NULL)
			host->qtail = NULL;
		c->queued = 0;
		if (call_launch(h, c, &err) == 0)
			continue;
		memset(&r, 0, sizeof r);
		r.error = HTTP_E_NETWORK;
		r.errstr = err;
		r.body = "";
		call_unlink(c);
		watch_seen(c, &r);
		c->done(&r, c->arg);
		free(err);
		err = NULL;
		call_free(c);
	}
}

struct http_call *
http_start(struct http *h, const struct http_request *rq, http_done_fn *done,
    void *arg, char **errstr)
{
	struct http_call *c;
	struct curl_slist *l;
	const char *why = NULL;
	size_t i;

	if (h->watch.vet != NULL && h->watch.vet(rq, h->watch.arg, &why)) {
		xasprintf(errstr, "%s", why != NULL ? why : "refused");
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	c->h = h;
	c->done = done;
	c->arg = arg;
	for (i = 0; rq->headers != NULL && rq->headers[i] != NULL; i++) {
		if ((l = curl_slist_append(c->reqheaders, rq->headers[i])) ==
		    NULL)
			fatal("out of memory");
		c->reqheaders = l;
	}
	/* libcurl would add "Expect: 100-continue" to larger POSTs */
	if (rq->body != NULL) {
		if ((l = curl_slist_append(c->reqheaders, "Expect:")) == NULL)
			fatal("out of memory");
		c->reqheaders = l;
		c->body = xmalloc(rq->body_len + 1);
		memcpy(c->body, rq->body, rq->body_len);
		c->body[rq->body_len] = '\0';
		c->body_len = rq->body_len;
	}
	c->url = xstrdup(rq->url);
	c->method = xstrdup_or_null(rq->method);
	c->ca_file = xstrdup_or_null(rq->ca_file);
	c->timeout_ms = rq->timeout_ms;
	c->host = host_of(h, rq->url);
	if (c->host->active < (size_t)h->opt.max_host_connections) {
		if (call_launch(h, c, errstr) == -1) {
			c->host = NULL;
			call_free(c);
			return NULL;
		}
	} else {
		c->queued = 1;
		if (c->host->qtail != NULL)
			c->host->qtail->qnext = c;
		else
			c->host->qhead = c;
		c->host->qtail = c;
	}
	c->next = h->calls;
	if (h->calls != NULL)
		h->calls->prev = c;
	h->calls = c;
	h->ncalls++;
	return c;
}

void
http_set_watch(struct http *h, const struct http_watch *w)
{
	if (w != NULL)
		h->watch = *w;
	else
		memset(&h->watch, 0, sizeof h->watch);
}

/* ---- mail submission ---------------------------------------------------- */

static CURL *
easy_new_smtp(struct http *h, struct http_call *c,
    const struct smtp_request *rq)
{
	CURL *e;

	if ((e = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, rq->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, c);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, smtp_reply_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, smtp_read_cb);
	curl_easy_setopt(e, CURLOPT_READDATA, c);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)c->body_len);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(e, CURLOPT_USE_SSL, rq->require_tls ?
	    (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rq->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, rq->ca_file);
	else if (h->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    h->opt.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms > 0 ?
	    rq->timeout_ms : h->opt.timeout_ms);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, rq->mail_from);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, c->rcpt);
	if (rq->username != NULL) {
		curl_easy_setopt(e, CURLOPT_USERNAME, rq->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, rq->password != NULL ?
		    rq->password : "");
	}
	return e;
}

struct http_call *
http_start_smtp(struct http *h, const struct smtp_request *rq,
    http_done_fn *done, void *arg, char **errstr)
{
	struct http_call *c;
	struct curl_slist *l;
	size_t i;

	c = xcalloc(1, sizeof *c);
	c->h = h;
	c->done = done;
	c->arg = arg;
	c->smtp = 1;
	for (i = 0; rq->rcpt != NULL && rq->rcpt[i] != NULL; i++) {
		if ((l = curl_slist_append(c->rcpt, rq->rcpt[i])) == NULL)
			fatal("out of memory");
		c->rcpt = l;
	}
	c->body = xmalloc(rq->message_len + 1);
	memcpy(c->body, rq->message, rq->message_len);
	c->body[rq->message_len] = '\0';
	c->body_len = rq->message_len;
	if (c->rcpt == NULL || (c->easy = easy_new_smtp(h, c, rq)) == NULL) {
		xasprintf(errstr, c->rcpt == NULL ? "smtp: no recipient" :
		    "smtp: cannot create a libcurl handle");
		curl_slist_free_all(c->rcpt);
		free(c->body);
		free(c);
		return NULL;
	}
	return call_add(h, c, errstr);
}

void
http_cancel(struct http_call *c)
{
	if (c == NULL)
		return;
	call_unlink(c);
	call_free(c);
}

size_t
http_running(const struct http *h)
{
	return h->ncalls;
}
