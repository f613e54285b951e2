/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistr.h>
#include <uv.h>

#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

/*
 * The writer appends to one growing buffer. Numbers go through printf and
 * strtod, which follow LC_NUMERIC: the daemon never changes it from "C".
 *
 * The server reads a request head into a fixed buffer of max_head bytes,
 * answers it with one write, shuts the connection down for writing, then
 * reads and drops whatever the client still sends until it closes (a
 * "lingering close": closing with unread data would send a reset, which
 * can destroy the response before the client reads it). One timer per
 * connection bounds the time to send the head, then the time to take the
 * response and close.
 */

#define METRICS_DEFAULT_CONNS	16
#define METRICS_DEFAULT_HEAD	8192
#define METRICS_DEFAULT_IDLE_MS	10000
#define METRICS_BACKLOG		16
#define METRICS_PATH		"/metrics"
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"
#define LOG_TEXT_MAX		64	/* bytes of a request shown in logs */

/* ---- the writer ---------------------------------------------------------- */

enum family_type {
	TYPE_COUNTER,
	TYPE_GAUGE,
	TYPE_HISTOGRAM,
};

struct metrics_out {
	char		*buf;
	size_t		 len, cap;
	char		**families;	/* declared; the last one is current */
	size_t		 nfamilies;
	enum family_type type;		/* of the current family */
};

struct metrics_out *
metrics_out_new(void)
{
	struct metrics_out *out = xcalloc(1, sizeof *out);

	out->cap = 4096;
	out->buf = xmalloc(out->cap);
	out->buf[0] = '\0';
	return out;
}

void
metrics_out_free(struct metrics_out *out)
{
	size_t i;

	if (out == NULL)
		return;
	for (i = 0; i < out->nfamilies; i++)
		free(out->families[i]);
	free(out->families);
	free(out->buf);
	free(out);
}

const char *
metrics_out_text(const struct metrics_out *out, size_t *len)
{
	if (len != NULL)
		*len = out->len;
	return out->buf;
}

static void
put(struct metrics_out *out, const char *s, size_t n)
{
	if (out->len + n + 1 > out->cap) {
		while (out->len + n + 1 > out->cap)
			out->cap *= 2;
		out->buf = xreallocarray(out->buf, out->cap, 1);
	}
	memcpy(out->buf + out->len, s, n);
	out->len += n;
	out->buf[out->len] = '\0';
}

static void
puts_(struct metrics_out *out, const char *s)
{
	put(out, s, strlen(s));
}

static int
is_alpha_(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* */
static int
valid_metric_name(const char *s)
{
	if (s == NULL || (!is_alpha_(*s) && *s != ':'))
		return 0;
	for (s++; *s != '\0'; s++)
		if (!is_alpha_(*s) && !is_digit(*s) && *s != ':')
			return 0;
	return 1;
}

/* [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved) */
static int
valid_label_name(const char *s)
{
	if (s == NULL || !is_alpha_(*s) || strncmp(s, "__", 2) == 0)
		return 0;
	for (s++; *s != '\0'; s++)
		if (!is_alpha_(*s) && !is_digit(*s))
			return 0;
	return 1;
}

/*
 * A sample value: "NaN", "+Inf", "-Inf"; an integral value below 1e18
 * in plain digits; any other value in the fewest significant digits that
 * read back to the same double. buf holds 32 bytes.
 */
static void
format_value(double v, char *buf, size_t sz)
{
	int prec;

	if (isnan(v)) {
		snprintf(buf, sz, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, sz, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == 0) {		/* -0 too */
		snprintf(buf, sz, "0");
		return;
	}
	if (fabs(v) < 1e18 && v == trunc(v)) {
		snprintf(buf, sz, "%.0f", v);
		return;
	}
	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, sz, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, sz, "%.17g", v);
}

static void
put_value(struct metrics_out *out, double v)
{
	char buf[32];

	format_value(v, buf, sizeof buf);
	puts_(out, buf);
}

static void
put_u64(struct metrics_out *out, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%" PRIu64, v);
	puts_(out, buf);
}

/* HELP text: backslash and newline escaped. */
static void
put_help(struct metrics_out *out, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			puts_(out, "\\\\");
		else if (*s == '\n')
			puts_(out, "\\n");
		else
			put(out, s, 1);
	}
}

/* A label value: backslash, double quote and newline escaped, invalid
 * UTF-8 replaced by U+FFFD. */
static void
put_label_value(struct metrics_out *out, const char *v)
{
	const uint8_t *s = (const uint8_t *)v;
	size_t n = strlen(v);
	ucs4_t uc;
	int k;

	while (n > 0) {
		k = 1;
		if (*s == '\\')
			puts_(out, "\\\\");
		else if (*s == '"')
			puts_(out, "\\\"");
		else if (*s == '\n')
			puts_(out, "\\n");
		else if (*s < 0x80)
			put(out, (const char *)s, 1);
		else if ((k = u8_mbtouc(&uc, s, n)) > 0 && uc == 0xFFFD)
			puts_(out, "\xEF\xBF\xBD");
		else
			put(out, (const char *)s, (size_t)k);
		s += k;
		n -= (size_t)k;
	}
}

/* {name="value",...} with le="..." last if le is not NULL; nothing
 * when there is no label at all. */
static void
put_labels(struct metrics_out *out, const char *const *labels,
    const char *le)
{
	const char *sep = "";
	size_t i;

	if ((labels == NULL || labels[0] == NULL) && le == NULL)
		return;
	puts_(out, "{");
	for (i = 0; labels != NULL && labels[i] != NULL; i += 2) {
		assert(valid_label_name(labels[i]));
		assert(labels[i + 1] != NULL);
		assert(le == NULL || strcmp(labels[i], "le") != 0);
		puts_(out, sep);
		puts_(out, labels[i]);
		puts_(out, "=\"");
		put_label_value(out, labels[i + 1]);
		puts_(out, "\"");
		sep = ",";
	}
	if (le != NULL) {
		puts_(out, sep);
		puts_(out, "le=\"");
		puts_(out, le);
		puts_(out, "\"");
	}
	puts_(out, "}");
}

static enum family_type
parse_type(const char *type)
{
	if (strcmp(type, "counter") == 0)
		return TYPE_COUNTER;
	if (strcmp(type, "gauge") == 0)
		return TYPE_GAUGE;
	assert(strcmp(type, "histogram") == 0);
	return TYPE_HISTOGRAM;
}

static const char *
current_family(const struct metrics_out *out)
{
	assert(out->nfamilies > 0);
	return out->families[out->nfamilies - 1];
}

void
metrics_family(struct metrics_out *out, const char *name, const char *type,
    const char *help)
{
	enum family_type t = parse_type(type);
	size_t i;

	assert(valid_metric_name(name));
	assert(help != NULL);
	if (out->nfamilies > 0 && strcmp(current_family(out), name) == 0) {
		assert(out->type == t);
		return;
	}
	for (i = 0; i < out->nfamilies; i++)
		assert(strcmp(out->families[i], name) != 0);
	out->families = xreallocarray(out->families, out->nfamilies + 1,
	    sizeof *out->families);
	out->families[out->nfamilies++] = xstrdup(name);
	out->type = t;
	puts_(out, "# HELP ");
	puts_(out, name);
	puts_(out, " ");
	put_help(out, help);
	puts_(out, "\n# TYPE ");
	puts_(out, name);
	puts_(out, " ");
	puts_(out, type);
	puts_(out, "\n");
}

/* The name of a sample of the current family. */
static void
put_name(struct metrics_out *out, const char *suffix)
{
	const char *family = current_family(out);
	size_t start = out->len;

	puts_(out, family);
	if (suffix != NULL)
		puts_(out, suffix);
	assert(valid_metric_name(out->buf + start));
}

void
metrics_sample(struct metrics_out *out, const char *suffix,
    const char *const *labels, double value)
{
	assert(out->type != TYPE_HISTOGRAM);
	put_name(out, suffix);
	put_labels(out, labels, NULL);
	puts_(out, " ");
	put_value(out, value);
	puts_(out, "\n");
}

static void
put_count_line(struct metrics_out *out, const char *suffix,
    const char *const *labels, const char *le, uint64_t n)
{
	put_name(out, suffix);
	put_labels(out, labels, le);
	puts_(out, " ");
	put_u64(out, n);
	puts_(out, "\n");
}

void
metrics_histogram(struct metrics_out *out, const char *name,
    const char *const *labels, const double *bounds, size_t nbounds,
    const uint64_t *counts, double sum, uint64_t count)
{
	char le[32];
	uint64_t cum = 0;
	size_t i;

	assert(out->type == TYPE_HISTOGRAM);
	assert(strcmp(current_family(out), name) == 0);
	for (i = 0; i < nbounds; i++) {
		assert(isfinite(bounds[i]));
		assert(i == 0 || bounds[i - 1] < bounds[i]);
		cum += counts[i];
		assert(cum <= count);
		format_value(bounds[i], le, sizeof le);
		put_count_line(out, "_bucket", labels, le, cum);
	}
	put_count_line(out, "_bucket", labels, "+Inf", count);
	put_name(out, "_sum");
	put_labels(out, labels, NULL);
	puts_(out, " ");
	put_value(out, sum);
	puts_(out, "\n");
	put_count_line(out, "_count", labels, NULL, count);
}

void
metrics_observe(const double *bounds, size_t nbounds, uint64_t *counts,
    double v)
{
	size_t i;

	for (i = 0; i < nbounds; i++) {
		if (v <= bounds[i]) {
			counts[i]++;
			return;
		}
	}
}

/* ---- the listen address -------------------------------------------------- */

/* "IPv4:port" or "[IPv6]:port"; port 0 only if allow_any_port. */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, int allow_any_port,
    char **why)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN];
	const char *end, *port;
	unsigned long p = 0;
	size_t hlen, i;
	int v6 = s[0] == '[';

	memset(ss, 0, sizeof *ss);
	if (v6) {
		if ((end = strchr(s, ']')) == NULL) {
			xasprintf(why, "no \"]\" after the IPv6 address (as in "
			    "[::1]:9464)");
			return -1;
		}
		s++;
		port = end + 1;
	} else {
		if ((end = strrchr(s, ':')) == NULL) {
			xasprintf(why, "no port (as in 127.0.0.1:9464)");
			return -1;
		}
		port = end;
	}
	if (*port != ':') {
		xasprintf(why, "no port after the address (as in [::1]:9464)");
		return -1;
	}
	port++;
	hlen = (size_t)(end - s);
	if (hlen == 0) {
		xasprintf(why, "no address before the port (0.0.0.0 or [::] "
		    "for every address)");
		return -1;
	}
	if (!v6 && memchr(s, ':', hlen) != NULL) {
		xasprintf(why, "an IPv6 address goes in brackets (as in "
		    "[::1]:9464)");
		return -1;
	}
	if (hlen >= sizeof host) {
		xasprintf(why, "not an IP%s address", v6 ? "v6" : "v4");
		return -1;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, host,
	    v6 ? (void *)&sin6->sin6_addr : (void *)&sin->sin_addr) != 1) {
		xasprintf(why, "not an IP%s address%s", v6 ? "v6" : "v4",
		    v6 ? "" : " (host names are not resolved; [::1] for IPv6)");
		return -1;
	}
	for (i = 0; is_digit(port[i]) && i < 6; i++)
		p = p * 10 + (unsigned long)(port[i] - '0');
	if (i == 0 || port[i] != '\0' || p > 65535 ||
	    (p == 0 && !allow_any_port)) {
		xasprintf(why, "the port must be a number from 1 to 65535");
		return -1;
	}
	if (v6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
	}
	return 0;
}

int
metrics_parse_listen(const char *s, char **why)
{
	struct sockaddr_storage ss;

	return parse_listen(s, &ss, 0, why);
}

/* ---- the server: connections --------------------------------------------- */

enum conn_state {
	CONN_HEAD,		/* reading the request head */
	CONN_WRITING,		/* writing the response, then shutting down */
	CONN_LINGER,		/* reading to the end, dropping it */
	CONN_CLOSING,
};

struct conn {
	struct metrics_server *srv;
	uv_tcp_t	 tcp;
	uv_timer_t	 timer;
	int		 nhandles;	/* not yet closed */
	enum conn_state	 state;
	char		*head;		/* srv->opt.max_head bytes */
	size_t		 len;		/* read into head */
	size_t		 scan;		/* start of the line not ended yet */
	int		 started;	/* a request line has begun */
	uv_write_t	 wreq;
	uv_shutdown_t	 sreq;
	char		*hdr, *body;	/* the response */
	size_t		 hdrlen, bodylen;
	char		 peer[INET6_ADDRSTRLEN + 8];
	struct conn	*prev, *next;
};

struct metrics_server {
	uv_loop_t	*loop;
	uv_tcp_t	 listener;
	int		 listener_open;
	struct metrics_server_options opt;
	metrics_collect_fn *collect;
	void		*arg;
	struct conn	*conns;
	size_t		 nconns;	/* closing ones included */
	size_t		 nrefused;	/* refused, not yet closed */
	int		 closing;
	void		(*done)(void *);
	void		*done_arg;
};

static void on_read(uv_stream_t *, ssize_t, const uv_buf_t *);

static void
server_maybe_done(struct metrics_server *s)
{
	void (*done)(void *) = s->done;
	void *arg = s->done_arg;

	if (!s->closing || s->listener_open || s->nconns > 0 ||
	    s->nrefused > 0)
		return;
	free(s);
	if (done != NULL)
		done(arg);
}

static void
on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	struct metrics_server *s = c->srv;

	if (--c->nhandles > 0)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	s->nconns--;
	free(c->head);
	free(c->hdr);
	free(c->body);
	free(c);
	server_maybe_done(s);
}

/* Pending writes and shutdowns are cancelled: their callbacks see
 * UV_ECANCELED before the handles' close callbacks run. */
static void
conn_close(struct conn *c)
{
	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
	uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void
on_conn_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;

	log_debug("metrics: %s: %s", c->peer, c->state == CONN_HEAD ?
	    "no complete request in time" : "not closed in time");
	conn_close(c);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct conn *c = h->data;

	(void)suggested;
	if (c->state == CONN_HEAD) {
		/* never full here: a full head is answered at once */
		buf->base = c->head + c->len;
		buf->len = c->srv->opt.max_head - c->len;
	} else {
		buf->base = c->head;
		buf->len = c->srv->opt.max_head;
	}
}

/* ---- the server: responses ----------------------------------------------- */

static const char *
status_text(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

/* IMF-fixdate, as Date wants it, whatever the locale. */
static void
http_date(char *buf, size_t sz)
{
	static const char days[7][4] = {
		"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat",
	};
	static const char months[12][4] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
		"Oct", "Nov", "Dec",
	};
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL) {
		snprintf(buf, sz, "Thu, 01 Jan 1970 00:00:00 GMT");
		return;
	}
	snprintf(buf, sz, "%s, %02d %s %04d %02d:%02d:%02d GMT",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
	struct conn *c = req->data;

	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		conn_close(c);
		return;
	}
	c->state = CONN_LINGER;
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
}

static void
on_write(uv_write_t *req, int status)
{
	struct conn *c = req->data;

	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		log_debug("metrics: %s: %s", c->peer, uv_strerror(status));
		conn_close(c);
		return;
	}
	c->sreq.data = c;
	if (uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
		conn_close(c);
}

/* Send the response (body: NULL for none, else taken over; send_body: 0
 * for HEAD) and close. */
static void
respond(struct conn *c, int status, char *body, size_t bodylen,
    int send_body)
{
	char date[64];
	uv_buf_t bufs[2];
	unsigned int n = 1;

	http_date(date, sizeof date);
	c->hdrlen = (size_t)xasprintf(&c->hdr,
	    "HTTP/1.1 %d %s\r\n"
	    "Date: %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "%s"
	    "Connection: close\r\n"
	    "\r\n",
	    status, status_text(status), date,
	    status == 200 ? METRICS_CONTENT_TYPE : "text/plain; charset=utf-8",
	    bodylen, status == 405 ? "Allow: GET, HEAD\r\n" : "");
	c->body = body;
	c->bodylen = bodylen;
	c->state = CONN_WRITING;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_start(&c->timer, on_conn_timeout,
	    c->srv->opt.idle_timeout_ms, 0);
	bufs[0] = uv_buf_init(c->hdr, (unsigned int)c->hdrlen);
	if (send_body && bodylen > 0)
		bufs[n++] = uv_buf_init(c->body, (unsigned int)bodylen);
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, bufs, n, on_write) != 0)
		conn_close(c);
}

static void
respond_error(struct conn *c, int status)
{
	char *body;
	size_t len;

	len = (size_t)xasprintf(&body, "%d %s\n", status, status_text(status));
	respond(c, status, body, len, 1);
}

static void
respond_metrics(struct conn *c, int send_body)
{
	struct metrics_out *out = metrics_out_new();
	char *body;
	size_t len;

	c->srv->collect(out, c->srv->arg);
	body = out->buf;
	len = out->len;
	out->buf = NULL;
	metrics_out_free(out);
	respond(c, 200, body, len, send_body);
}

/* ---- the server: requests ------------------------------------------------ */

/* One line of the head, without its line end. */
struct line {
	const char	*p;
	size_t		 n;
};

static int
is_tchar(int c)
{
	return is_alpha_(c) || is_digit(c) ||
	    (c != '\0' && strchr("!#$%&'*+-.^`|~", c) != NULL);
}

static int
is_token(const char *p, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_tchar((unsigned char)p[i]))
			return 0;
	return 1;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* p[0..n) equals lit, ASCII letters in any case. */
static int
token_eq(const char *p, size_t n, const char *lit)
{
	size_t i;

	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)p[i]) != lower((unsigned char)lit[i]))
			return 0;
	return 1;
}

/* The next line of head[*pos..end) (a complete head: it ends with an
 * empty line). -1 for a CR elsewhere than before the LF. */
static int
next_line(const char *head, size_t end, size_t *pos, struct line *l)
{
	const char *p = head + *pos, *nl;

	nl = memchr(p, '\n', end - *pos);
	assert(nl != NULL);
	l->p = p;
	l->n = (size_t)(nl - p);
	*pos = (size_t)(nl - head) + 1;
	if (l->n > 0 && p[l->n - 1] == '\r')
		l->n--;
	return memchr(p, '\r', l->n) != NULL ? -1 : 0;
}

/* What the request line and the header fields tell. */
struct request {
	struct line	 method;
	struct line	 target;
	struct line	 path;		/* of target, without the query */
	int		 minor;		/* HTTP/1.minor */
	size_t		 nhost;
};

/* method SP target SP HTTP/D.D; 0, or the status to answer. */
static int
parse_request_line(const struct line *l, struct request *r)
{
	const char *p = l->p, *end = l->p + l->n, *sp, *q;

	if ((sp = memchr(p, ' ', l->n)) == NULL ||
	    !is_token(p, (size_t)(sp - p)))
		return 400;
	r->method.p = p;
	r->method.n = (size_t)(sp - p);
	p = sp + 1;
	for (q = p; q < end && *q != ' '; q++)
		if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
			return 400;
	if (q == p || q == end)
		return 400;
	r->target.p = p;
	r->target.n = (size_t)(q - p);
	p = q + 1;
	if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || !is_digit(p[5]) ||
	    p[6] != '.' || !is_digit(p[7]))
		return 400;
	if (p[5] != '1')
		return 505;
	r->minor = p[7] - '0';
	return 0;
}

/* The path of the target: origin form, absolute form, or "*". */
static int
parse_target(struct request *r)
{
	const char *p = r->target.p, *end = p + r->target.n, *q;
	size_t n = r->target.n;

	if (n >= 7 && token_eq(p, 7, "http://"))
		p += 7;
	else if (n >= 8 && token_eq(p, 8, "https://"))
		p += 8;
	else if (*p != '/' && !(n == 1 && *p == '*'))
		return 400;
	if (p != r->target.p) {
		/* absolute form: the path starts after the authority */
		while (p < end && *p != '/' && *p != '?' && *p != '#')
			p++;
	}
	for (q = p; q < end && *q != '?' && *q != '#'; q++)
		;
	r->path.p = p;
	r->path.n = (size_t)(q - p);
	return 0;
}

/* name ":" OWS value OWS; 0, or the status to answer. */
static int
parse_field(const struct line *l, struct request *r)
{
	const char *colon, *v, *end = l->p + l->n;
	size_t nlen, i;

	if ((colon = memchr(l->p, ':', l->n)) == NULL)
		return 400;
	nlen = (size_t)(colon - l->p);
	if (!is_token(l->p, nlen))
		return 400;	/* obs-fold and space before ":" too */
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (i = 0; v + i < end; i++) {
		unsigned char ch = (unsigned char)v[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return 400;
	}
	if (token_eq(l->p, nlen, "host"))
		r->nhost++;
	else if (token_eq(l->p, nlen, "transfer-encoding"))
		return 400;	/* no body expected */
	else if (token_eq(l->p, nlen, "content-length")) {
		if (v == end)
			return 400;
		for (; v < end; v++)
			if (*v != '0')
				return 400;	/* a body, or not a number */
	}
	return 0;
}

/* The status of the complete head in c->head[0..end). */
static int
parse_head(const char *head, size_t end, struct request *r)
{
	struct line l;
	size_t pos = 0;
	int st;

	memset(r, 0, sizeof *r);
	do {
		if (next_line(head, end, &pos, &l) == -1)
			return 400;
	} while (l.n == 0);	/* empty lines before the request line */
	if ((st = parse_request_line(&l, r)) != 0)
		return st;
	if (parse_target(r) != 0)
		return 400;
	for (;;) {
		if (next_line(head, end, &pos, &l) == -1)
			return 400;
		if (l.n == 0)
			break;
		if ((st = parse_field(&l, r)) != 0)
			return st;
	}
	if (r->nhost > 1 || (r->minor >= 1 && r->nhost == 0))
		return 400;
	return 0;
}

static void
handle_request(struct conn *c, size_t end)
{
	struct request r;
	int st, head;

	if ((st = parse_head(c->head, end, &r)) != 0) {
		log_debug("metrics: %s: malformed request: %d", c->peer, st);
		respond_error(c, st);
		return;
	}
	head = r.method.n == 4 && memcmp(r.method.p, "HEAD", 4) == 0;
	if (r.path.n != strlen(METRICS_PATH) ||
	    memcmp(r.path.p, METRICS_PATH, r.path.n) != 0)
		st = 404;
	else if (!head && (r.method.n != 3 ||
	    memcmp(r.method.p, "GET", 3) != 0))
		st = 405;
	else
		st = 200;
	/* both checked: printable ASCII */
	log_debug("metrics: %s: %.*s %.*s: %d", c->peer,
	    (int)(r.method.n < LOG_TEXT_MAX ? r.method.n : LOG_TEXT_MAX),
	    r.method.p,
	    (int)(r.target.n < LOG_TEXT_MAX ? r.target.n : LOG_TEXT_MAX),
	    r.target.p, st);
	if (st != 200)
		respond_error(c, st);
	else
		respond_metrics(c, !head);
}

/* Look for the end of the head in what came since the last call: the
 * first empty line after a request line (a lone LF ends a line too).
 * Its offset past the end, or 0. */
static size_t
head_end(struct conn *c)
{
	const char *nl;
	size_t n;

	while ((nl = memchr(c->head + c->scan, '\n', c->len - c->scan))
	    != NULL) {
		n = (size_t)(nl - (c->head + c->scan));
		if (n > 0 && nl[-1] == '\r')
			n--;
		c->scan = (size_t)(nl - c->head) + 1;
		if (n > 0)
			c->started = 1;
		else if (c->started)
			return c->scan;
	}
	return 0;
}

static void
on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = st->data;
	size_t end;

	(void)buf;
	if (nread == 0 || c->state == CONN_CLOSING)
		return;
	if (nread < 0) {
		if (c->state == CONN_HEAD && c->len > 0)
			log_debug("metrics: %s: closed before the end of its "
			    "request", c->peer);
		conn_close(c);
		return;
	}
	if (c->state != CONN_HEAD)
		return;		/* lingering: dropped */
	c->len += (size_t)nread;
	if ((end = head_end(c)) > 0)
		handle_request(c, end);
	else if (c->len == c->srv->opt.max_head) {
		log_debug("metrics: %s: request head over %zu bytes", c->peer,
		    c->srv->opt.max_head);
		respond_error(c, 431);
	}
}

/* ---- the server: listening ----------------------------------------------- */

static void
peer_name(uv_tcp_t *tcp, char *buf, size_t sz)
{
	struct sockaddr_storage ss;
	char ip[INET6_ADDRSTRLEN] = "?";
	int len = (int)sizeof ss;

	if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) != 0) {
		snprintf(buf, sz, "?");
		return;
	}
	if (ss.ss_family == AF_INET6) {
		uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
		snprintf(buf, sz, "[%s]:%u", ip, (unsigned int)ntohs(
		    ((struct sockaddr_in6 *)&ss)->sin6_port));
	} else {
		uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
		snprintf(buf, sz, "%s:%u", ip, (unsigned int)ntohs(
		    ((struct sockaddr_in *)&ss)->sin_port));
	}
}

static void
on_refused_closed(uv_handle_t *h)
{
	struct metrics_server *s = h->data;

	free(h);
	s->nrefused--;
	server_maybe_done(s);
}

/* Accept (so that libuv goes on listening) and close at once. */
static void
refuse(struct metrics_server *s)
{
	uv_tcp_t *t = xmalloc(sizeof *t);

	uv_tcp_init(s->loop, t);
	t->data = s;
	s->nrefused++;
	uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)t);
	uv_close((uv_handle_t *)t, on_refused_closed);
	log_debug("metrics: %zu connections open: one more refused",
	    s->nconns);
}

static void
on_connection(uv_stream_t *listener, int status)
{
	struct metrics_server *s = listener->data;
	struct conn *c;

	if (status < 0) {
		log_debug("metrics: accept: %s", uv_strerror(status));
		return;
	}
	if (s->nconns >= s->opt.max_conns) {
		refuse(s);
		return;
	}
	c = xcalloc(1, sizeof *c);
	c->srv = s;
	c->head = xmalloc(s->opt.max_head);
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->nhandles = 2;
	c->next = s->conns;
	if (s->conns != NULL)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c);
		return;
	}
	peer_name(&c->tcp, c->peer, sizeof c->peer);
	uv_timer_start(&c->timer, on_conn_timeout, s->opt.idle_timeout_ms, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
		conn_close(c);
}

static void
on_listener_closed(uv_handle_t *h)
{
	struct metrics_server *s = h->data;

	s->listener_open = 0;
	server_maybe_done(s);
}

struct metrics_server *
metrics_server_new_opts(uv_loop_t *loop, const char *listen,
    const struct metrics_server_options *opt, metrics_collect_fn *collect,
    void *arg, char **errstr)
{
	struct metrics_server *s;
	struct sockaddr_storage ss;
	char *why = NULL;
	int rc;

	if (parse_listen(listen, &ss, 1, &why) == -1) {
		xasprintf(errstr, "metrics_listen: %s", why);
		free(why);
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->loop = loop;
	if (opt != NULL)
		s->opt = *opt;
	if (s->opt.max_conns == 0)
		s->opt.max_conns = METRICS_DEFAULT_CONNS;
	if (s->opt.max_head == 0)
		s->opt.max_head = METRICS_DEFAULT_HEAD;
	if (s->opt.idle_timeout_ms == 0)
		s->opt.idle_timeout_ms = METRICS_DEFAULT_IDLE_MS;
	s->collect = collect;
	s->arg = arg;
	if ((rc = uv_tcp_init(loop, &s->listener)) != 0) {
		xasprintf(errstr, "metrics: %s", uv_strerror(rc));
		free(s);
		return NULL;
	}
	s->listener.data = s;
	s->listener_open = 1;
	if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rc = uv_listen((uv_stream_t *)&s->listener, METRICS_BACKLOG,
	    on_connection)) != 0) {
		xasprintf(errstr, "metrics: cannot listen on %s: %s", listen,
		    uv_strerror(rc));
		s->closing = 1;
		uv_close((uv_handle_t *)&s->listener, on_listener_closed);
		return NULL;
	}
	log_debug("metrics: listening on %s", listen);
	return s;
}

struct metrics_server *
metrics_server_new(uv_loop_t *loop, const char *listen,
    metrics_collect_fn *collect, void *arg, char **errstr)
{
	return metrics_server_new_opts(loop, listen, NULL, collect, arg,
	    errstr);
}

int
metrics_server_port(const struct metrics_server *s)
{
	struct sockaddr_storage ss;
	int len = (int)sizeof ss;

	if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss,
	    &len) != 0)
		return -1;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

size_t
metrics_server_nconns(const struct metrics_server *s)
{
	return s->nconns;
}

void
metrics_server_close(struct metrics_server *s, void (*done)(void *),
    void *arg)
{
	struct conn *c;

	if (s->closing)
		return;
	s->closing = 1;
	s->done = done;
	s->done_arg = arg;
	uv_close((uv_handle_t *)&s->listener, on_listener_closed);
	for (c = s->conns; c != NULL; c = c->next)
		conn_close(c);
}
