/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

/*
 * The Prometheus text writer, byte for byte, and the /metrics server on a
 * real loop and real sockets. The client side of a server test uses
 * non-blocking sockets in the test's own thread: while it waits, it turns
 * the loop (UV_RUN_NOWAIT) and polls its socket for a few milliseconds.
 * Each server test ends with fx_fini(), which closes the server and
 * requires the loop to close with no handle left.
 *
 * "check-metrics --sample" prints an exposition with every kind of
 * family instead (tests/metrics-format.sh gives it to promtool).
 */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A string literal and its length, NUL bytes included. */
#define LIT(s)	s, sizeof(s) - 1

#define WAIT_MS		5000	/* a client gives up after this */
#define IDLE_MS		2000	/* the server's timeout in most tests */

static const double reply_bounds[] = { 60, 300, 900, 3600, 14400, 86400 };

/* ---- the writer ---------------------------------------------------------- */

static void
assert_text(struct metrics_out *out, const char *want)
{
	size_t len;
	const char *got = metrics_out_text(out, &len);

	ck_assert_uint_eq(len, strlen(got));
	ck_assert_str_eq(got, want);
}

START_TEST(writer_empty)
{
	struct metrics_out *out = metrics_out_new();

	assert_text(out, "");
	metrics_out_free(out);
	metrics_out_free(NULL);
}
END_TEST

START_TEST(writer_families)
{
	static const char *const acme_direct[] = {
		"account", "acme", "kind", "direct", NULL,
	};
	static const char *const acme_ok[] = {
		"account", "acme", "result", "ok", NULL,
	};
	static const char *const acme_error[] = {
		"account", "acme", "result", "error", NULL,
	};
	static const char *const none[] = { NULL };
	struct metrics_out *out = metrics_out_new();

	metrics_family(out, "replywatch_open_waits", "gauge",
	    "Waits open now.");
	metrics_sample(out, NULL, acme_direct, 3);
	metrics_family(out, "replywatch_polls_total", "counter",
	    "Polls ended, by result.");
	metrics_sample(out, NULL, acme_ok, 12);
	metrics_family(out, "replywatch_polls_total", "counter",
	    "Polls ended, by result.");	/* the current one: nothing */
	metrics_sample(out, NULL, acme_error, 0);
	metrics_family(out, "replywatch_up", "gauge", "Always 1.");
	metrics_sample(out, NULL, NULL, 1);
	metrics_sample(out, NULL, none, 1);
	metrics_family(out, "replywatch_build", "gauge", "With a suffix.");
	metrics_sample(out, "_info", NULL, 1.5);
	assert_text(out,
	    "# HELP replywatch_open_waits Waits open now.\n"
	    "# TYPE replywatch_open_waits gauge\n"
	    "replywatch_open_waits{account=\"acme\",kind=\"direct\"} 3\n"
	    "# HELP replywatch_polls_total Polls ended, by result.\n"
	    "# TYPE replywatch_polls_total counter\n"
	    "replywatch_polls_total{account=\"acme\",result=\"ok\"} 12\n"
	    "replywatch_polls_total{account=\"acme\",result=\"error\"} 0\n"
	    "# HELP replywatch_up Always 1.\n"
	    "# TYPE replywatch_up gauge\n"
	    "replywatch_up 1\n"
	    "replywatch_up 1\n"
	    "# HELP replywatch_build With a suffix.\n"
	    "# TYPE replywatch_build gauge\n"
	    "replywatch_build_info 1.5\n");
	metrics_out_free(out);
}
END_TEST

START_TEST(writer_escaping)
{
	static const char *const labels[] = {
		"a", "back\\slash \"quoted\"\nnext line",
		"utf8", "caf\xC3\xA9 \xE2\x9C\x93",
		"bad", "x\xFFy\xC3(z\xE2\x82",
		"empty", "",
		NULL,
	};
	struct metrics_out *out = metrics_out_new();

	metrics_family(out, "x", "gauge", "Help with \\ and\nnewline \"q\".");
	metrics_sample(out, NULL, labels, 1);
	assert_text(out,
	    "# HELP x Help with \\\\ and\\nnewline \"q\".\n"
	    "# TYPE x gauge\n"
	    "x{a=\"back\\\\slash \\\"quoted\\\"\\nnext line\","
	    "utf8=\"caf\xC3\xA9 \xE2\x9C\x93\","
	    "bad=\"x\xEF\xBF\xBDy\xEF\xBF\xBD(z\xEF\xBF\xBD\","
	    "empty=\"\"} 1\n");
	metrics_out_free(out);
}
END_TEST

static const struct {
	double		 v;
	const char	*want;
} values[] = {
	{ 0, "0" },
	{ -0.0, "0" },
	{ 1, "1" },
	{ -3, "-3" },
	{ 86400, "86400" },
	{ 1e17, "100000000000000000" },
	{ 9007199254740993.0, "9007199254740992" },
	{ 1e18, "1e+18" },
	{ 0.1, "0.1" },
	{ 0.005, "0.005" },
	{ 2.5, "2.5" },
	{ 1.0 / 3, "0.3333333333333333" },
	{ 1.5e-7, "1.5e-07" },
	{ 1e300, "1e+300" },
	{ 1.0000000000000002, "1.0000000000000002" },
	{ -123.25, "-123.25" },
	{ NAN, "NaN" },
	{ INFINITY, "+Inf" },
	{ -INFINITY, "-Inf" },
};

START_TEST(writer_values)
{
	struct metrics_out *out = metrics_out_new();
	char want[128];

	metrics_family(out, "v", "gauge", "Values.");
	metrics_sample(out, NULL, NULL, values[_i].v);
	snprintf(want, sizeof want, "# HELP v Values.\n# TYPE v gauge\n"
	    "v %s\n", values[_i].want);
	assert_text(out, want);
	/* what is written reads back to the same value */
	if (isfinite(values[_i].v) && fabs(values[_i].v) < 1e17)
		ck_assert(strtod(values[_i].want, NULL) == values[_i].v);
	metrics_out_free(out);
}
END_TEST

START_TEST(writer_histogram)
{
	static const char *const labels[] = {
		"account", "acme", "kind", "direct", NULL,
	};
	static const double bounds[] = { 0.5, 60, 3600 };
	static const uint64_t counts[] = { 1, 0, 4 };
	static const uint64_t zeros[] = { 0, 0, 0 };
	struct metrics_out *out = metrics_out_new();

	metrics_family(out, "replywatch_reply_time_seconds", "histogram",
	    "Time to the first reply.");
	metrics_histogram(out, "replywatch_reply_time_seconds", labels,
	    bounds, NELEM(bounds), counts, 9000.25, 7);
	metrics_histogram(out, "replywatch_reply_time_seconds", NULL,
	    bounds, NELEM(bounds), zeros, 0, 0);
	assert_text(out,
	    "# HELP replywatch_reply_time_seconds Time to the first reply.\n"
	    "# TYPE replywatch_reply_time_seconds histogram\n"
	    "replywatch_reply_time_seconds_bucket{account=\"acme\","
	    "kind=\"direct\",le=\"0.5\"} 1\n"
	    "replywatch_reply_time_seconds_bucket{account=\"acme\","
	    "kind=\"direct\",le=\"60\"} 1\n"
	    "replywatch_reply_time_seconds_bucket{account=\"acme\","
	    "kind=\"direct\",le=\"3600\"} 5\n"
	    "replywatch_reply_time_seconds_bucket{account=\"acme\","
	    "kind=\"direct\",le=\"+Inf\"} 7\n"
	    "replywatch_reply_time_seconds_sum{account=\"acme\","
	    "kind=\"direct\"} 9000.25\n"
	    "replywatch_reply_time_seconds_count{account=\"acme\","
	    "kind=\"direct\"} 7\n"
	    "replywatch_reply_time_seconds_bucket{le=\"0.5\"} 0\n"
	    "replywatch_reply_time_seconds_bucket{le=\"60\"} 0\n"
	    "replywatch_reply_time_seconds_bucket{le=\"3600\"} 0\n"
	    "replywatch_reply_time_seconds_bucket{le=\"+Inf\"} 0\n"
	    "replywatch_reply_time_seconds_sum 0\n"
	    "replywatch_reply_time_seconds_count 0\n");
	metrics_out_free(out);
}
END_TEST

START_TEST(writer_observe)
{
	static const double bounds[] = { 1, 10, 100 };
	uint64_t counts[3] = { 0, 0, 0 };

	metrics_observe(bounds, NELEM(bounds), counts, 0);
	metrics_observe(bounds, NELEM(bounds), counts, 1);	/* le: <= */
	metrics_observe(bounds, NELEM(bounds), counts, 1.5);
	metrics_observe(bounds, NELEM(bounds), counts, 100);
	metrics_observe(bounds, NELEM(bounds), counts, 101);	/* +Inf only */
	metrics_observe(bounds, NELEM(bounds), counts, NAN);	/* +Inf only */
	metrics_observe(bounds, 0, NULL, 5);
	ck_assert_uint_eq(counts[0], 2);
	ck_assert_uint_eq(counts[1], 1);
	ck_assert_uint_eq(counts[2], 1);
}
END_TEST

/* Our own bugs fail an assert (SIGABRT), in fork mode only. */
static void
misuse(int which)
{
	static const char *const bad_label[] = { "2x", "v", NULL };
	static const char *const reserved[] = { "__name__", "v", NULL };
	static const char *const le[] = { "le", "1", NULL };
	static const char *const odd[] = { "a", NULL };
	static const double bounds[] = { 2, 1 };
	static const uint64_t counts[] = { 0, 0 };
	struct metrics_out *out = metrics_out_new();

	switch (which) {
	case 0:
		metrics_family(out, "bad-name", "gauge", "x");
		break;
	case 1:
		metrics_family(out, "1abc", "gauge", "x");
		break;
	case 2:
		metrics_family(out, "x", "summary", "x");
		break;
	case 3:
		metrics_sample(out, NULL, NULL, 1);	/* no family */
		break;
	case 4:
		metrics_family(out, "a", "gauge", "x");
		metrics_family(out, "b", "gauge", "x");
		metrics_family(out, "a", "gauge", "x");
		break;
	case 5:
		metrics_family(out, "a", "gauge", "x");
		metrics_sample(out, NULL, bad_label, 1);
		break;
	case 6:
		metrics_family(out, "a", "gauge", "x");
		metrics_sample(out, NULL, reserved, 1);
		break;
	case 7:
		metrics_family(out, "a", "gauge", "x");
		metrics_sample(out, NULL, odd, 1);
		break;
	case 8:
		metrics_family(out, "h", "histogram", "x");
		metrics_histogram(out, "h", le, bounds, 0, counts, 0, 0);
		break;
	case 9:
		metrics_family(out, "h", "histogram", "x");
		metrics_histogram(out, "h", NULL, bounds, 2, counts, 0, 0);
		break;
	case 10:
		metrics_family(out, "h", "histogram", "x");
		metrics_sample(out, NULL, NULL, 1);
		break;
	case 11:
		metrics_family(out, "g", "gauge", "x");
		metrics_histogram(out, "g", NULL, bounds, 0, counts, 0, 0);
		break;
	case 12:
		metrics_family(out, "a", "gauge", "x");
		metrics_sample(out, "-x", NULL, 1);
		break;
	case 13:
		metrics_family(out, "a", "gauge", "x");
		metrics_family(out, "a", "counter", "x");
		break;
	}
	metrics_out_free(out);
}

START_TEST(writer_misuse)
{
	/* the assert's message is expected: not in the log */
	ck_assert_ptr_nonnull(freopen("/dev/null", "w", stderr));
	misuse(_i);
}
END_TEST

/* ---- the listen address -------------------------------------------------- */

static const char *const good_listen[] = {
	"127.0.0.1:9464", "0.0.0.0:1", "[::1]:9464", "[::]:65535",
	"[fe80::1:2]:80", "10.0.0.1:009464",
};

static const struct {
	const char	*s;
	const char	*why;
} bad_listen[] = {
	{ "", "no port" },
	{ "9464", "no port" },
	{ ":9464", "no address" },
	{ "localhost:9464", "not an IPv4 address" },
	{ "127.0.0.1", "no port" },
	{ "127.0.0.1:", "port must be" },
	{ "127.0.0.1:0", "port must be" },
	{ "127.0.0.1:65536", "port must be" },
	{ "127.0.0.1:94a", "port must be" },
	{ "127.0.0.1:+80", "port must be" },
	{ "127.0.0.1: 80", "port must be" },
	{ "127.0.0.1:0009464", "port must be" },
	{ "127.0.0.1.5:80", "not an IPv4 address" },
	{ "::1:9464", "in brackets" },
	{ "[::1", "no \"]\"" },
	{ "[::1]", "no port" },
	{ "[::1]9464", "no port" },
	{ "[::1]:", "port must be" },
	{ "[]:80", "no address" },
	{ "[127.0.0.1]:9464", "not an IPv6 address" },
	{ "[fe80::1%eth0]:80", "not an IPv6 address" },
	{ "[::1:80", "no \"]\"" },
};

START_TEST(listen_good)
{
	char *why = NULL;

	ck_assert_msg(metrics_parse_listen(good_listen[_i], &why) == 0,
	    "%s: %s", good_listen[_i], why != NULL ? why : "?");
	ck_assert_ptr_null(why);
}
END_TEST

START_TEST(listen_bad)
{
	char *why = NULL;
	int rc = metrics_parse_listen(bad_listen[_i].s, &why);

	ck_assert_msg(rc == -1, "\"%s\" accepted", bad_listen[_i].s);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, bad_listen[_i].why) != NULL,
	    "\"%s\": \"%s\" does not say \"%s\"", bad_listen[_i].s, why,
	    bad_listen[_i].why);
	free(why);
}
END_TEST

/* ---- the server: fixture and client -------------------------------------- */

static struct {
	uv_loop_t	 loop;
	struct metrics_server *srv;
	int		 port;
	int		 collected;
	int		 closed;
	int		 sample;	/* the collector writes the sample */
	char		 body[512];	/* what the fake collector writes */
} fx;

static void sample_exposition(struct metrics_out *);

static void
fake_collect(struct metrics_out *out, void *arg)
{
	static const char *const labels[] = { "account", "acme", NULL };
	const char *text;

	ck_assert_ptr_eq(arg, &fx);
	fx.collected++;
	if (fx.sample) {
		sample_exposition(out);
		return;
	}
	metrics_family(out, "test_scrapes_total", "counter", "Scrapes.");
	metrics_sample(out, NULL, labels, fx.collected);
	text = metrics_out_text(out, NULL);
	ck_assert_uint_lt(strlen(text), sizeof fx.body);
	snprintf(fx.body, sizeof fx.body, "%s", text);
}

static void
on_server_closed(void *arg)
{
	int *closed = arg;

	(*closed)++;
}

static void
fx_init_opts(size_t max_conns, size_t max_head, uint64_t idle_ms)
{
	struct metrics_server_options o;
	char *err = NULL;

	memset(&fx, 0, sizeof fx);
	ck_assert_int_eq(uv_loop_init(&fx.loop), 0);
	memset(&o, 0, sizeof o);
	o.max_conns = max_conns;
	o.max_head = max_head;
	o.idle_timeout_ms = idle_ms;
	fx.srv = metrics_server_new_opts(&fx.loop, "127.0.0.1:0", &o,
	    fake_collect, &fx, &err);
	ck_assert_msg(fx.srv != NULL, "%s", err != NULL ? err : "?");
	fx.port = metrics_server_port(fx.srv);
	ck_assert_int_gt(fx.port, 0);
}

static void
fx_init(void)
{
	fx_init_opts(0, 0, IDLE_MS);
}

static void
fx_fini(void)
{
	metrics_server_close(fx.srv, on_server_closed, &fx.closed);
	ck_assert_int_eq(uv_run(&fx.loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(fx.closed, 1);
	ck_assert_int_eq(uv_loop_close(&fx.loop), 0);
	fx.srv = NULL;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Turn the loop once, then wait at most 5 ms for events on fd (if >= 0). */
static void
turn(int fd, short events)
{
	struct pollfd pfd;

	if (fx.srv != NULL)
		uv_run(&fx.loop, UV_RUN_NOWAIT);
	pfd.fd = fd;
	pfd.events = events;
	pfd.revents = 0;
	poll(&pfd, fd >= 0 ? 1 : 0, 5);
}

/* Turn the loop for ms milliseconds. */
static void
turn_for(int64_t ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end)
		turn(-1, 0);
}

static int
client_connect(void)
{
	struct sockaddr_in sin;
	struct pollfd pfd;
	int64_t deadline = now_ms() + WAIT_MS;
	int fd, err = 0;
	socklen_t len = sizeof err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)fx.port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == 0)
		return fd;
	ck_assert_msg(errno == EINPROGRESS, "connect: %s", strerror(errno));
	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 0) == 1)
			break;
		ck_assert_msg(now_ms() < deadline, "connect: timed out");
		turn(fd, POLLOUT);
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	ck_assert_msg(err == 0, "connect: %s", strerror(err));
	return fd;
}

/* Send it all; -1 if the server closed first. */
static int
client_send(int fd, const char *data, size_t len)
{
	int64_t deadline = now_ms() + WAIT_MS;
	ssize_t n;

	while (len > 0) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return -1;
		ck_assert_msg(now_ms() < deadline, "send: timed out");
		turn(fd, POLLOUT);
	}
	return 0;
}

/* Everything up to the end of the stream (or a reset), NUL-terminated. */
static char *
client_recv_all(int fd, size_t *lenp)
{
	int64_t deadline = now_ms() + WAIT_MS;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	char tmp[4096];

	for (;;) {
		n = recv(fd, tmp, sizeof tmp, 0);
		if (n > 0) {
			buf = xreallocarray(buf, len + (size_t)n + 1, 1);
			memcpy(buf + len, tmp, (size_t)n);
			len += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			break;
		ck_assert_msg(now_ms() < deadline, "recv: timed out");
		turn(fd, POLLIN);
	}
	buf = xreallocarray(buf, len + 1, 1);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

/* One request on a new connection: the whole response. */
static char *
exchange(const char *req, size_t len)
{
	char *resp;
	int fd = client_connect();

	client_send(fd, req, len);
	resp = client_recv_all(fd, NULL);
	close(fd);
	return resp;
}

static void
wait_nconns(size_t n)
{
	int64_t deadline = now_ms() + WAIT_MS;

	while (metrics_server_nconns(fx.srv) != n) {
		ck_assert_msg(now_ms() < deadline, "%zu connections, not %zu",
		    metrics_server_nconns(fx.srv), n);
		turn(-1, 0);
	}
}

/* The status of a response, with checks common to all of them: the
 * headers end, Content-Length is right (unless head_only), the
 * connection is closed. *body points into resp. */
static int
check_response(const char *resp, int head_only, const char **body)
{
	const char *end, *cl;
	int status;

	ck_assert_msg(strncmp(resp, "HTTP/1.1 ", 9) == 0, "response: %s",
	    resp);
	status = atoi(resp + 9);
	ck_assert_ptr_nonnull(end = strstr(resp, "\r\n\r\n"));
	end += 4;
	ck_assert_ptr_nonnull(strstr(resp, "\r\nConnection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(resp, "\r\nDate: "));
	ck_assert_ptr_nonnull(cl = strstr(resp, "\r\nContent-Length: "));
	if (!head_only)
		ck_assert_uint_eq(strtoul(cl + 18, NULL, 10), strlen(end));
	else
		ck_assert_str_eq(end, "");
	if (body != NULL)
		*body = end;
	return status;
}

static int
status_of(const char *req, size_t len)
{
	char *resp = exchange(req, len);
	int st = check_response(resp, 0, NULL);

	free(resp);
	return st;
}

#define GET_METRICS "GET /metrics HTTP/1.1\r\nHost: localhost:9464\r\n" \
	"User-Agent: test\r\nAccept: text/plain\r\n\r\n"

/* ---- the server: requests ------------------------------------------------ */

START_TEST(serve_metrics)
{
	const char *body;
	char *resp;

	fx_init();
	resp = exchange(LIT(GET_METRICS));
	ck_assert_int_eq(check_response(resp, 0, &body), 200);
	ck_assert_int_eq(fx.collected, 1);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: text/plain; "
	    "version=0.0.4; charset=utf-8\r\n"));
	ck_assert_str_eq(body, fx.body);
	ck_assert_str_eq(body,
	    "# HELP test_scrapes_total Scrapes.\n"
	    "# TYPE test_scrapes_total counter\n"
	    "test_scrapes_total{account=\"acme\"} 1\n");
	free(resp);
	/* again: a new scrape */
	resp = exchange(LIT(GET_METRICS));
	ck_assert_int_eq(check_response(resp, 0, &body), 200);
	ck_assert_ptr_nonnull(strstr(body, "} 2\n"));
	free(resp);
	wait_nconns(0);
	fx_fini();
}
END_TEST

/* Requests answered with 200. */
static const struct {
	const char	*req;
	size_t		 len;
} ok_requests[] = {
	{ LIT("GET /metrics?name[]=x&y HTTP/1.1\r\nHost: x\r\n\r\n") },
	{ LIT("GET /metrics#frag HTTP/1.1\r\nHost: x\r\n\r\n") },
	{ LIT("GET http://localhost:9464/metrics HTTP/1.1\r\nHost: x\r\n"
	    "\r\n") },
	{ LIT("GET HTTPS://h/metrics?q HTTP/1.1\r\nHost: x\r\n\r\n") },
	{ LIT("GET /metrics HTTP/1.0\r\n\r\n") },
	{ LIT("GET /metrics HTTP/1.1\nHost: x\n\n") },
	{ LIT("\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") },
	{ LIT("GET /metrics HTTP/1.1\r\nhOsT:x\r\nContent-Length: 0\r\n\r\n") },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: \t x \t\r\n"
	    "X-Empty:\r\nX-Obs: caf\xC3\xA9\r\n\r\n") },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
	    "GET /other HTTP/1.1\r\nHost: x\r\n\r\n") },
	{ LIT("GET /metrics HTTP/1.9\r\nHost: x\r\n\r\n") },
};

START_TEST(request_ok)
{
	fx_init();
	ck_assert_int_eq(status_of(ok_requests[_i].req, ok_requests[_i].len),
	    200);
	ck_assert_int_eq(fx.collected, 1);
	fx_fini();
}
END_TEST

START_TEST(request_head)
{
	const char *body;
	char *resp, cl[64];

	fx_init();
	resp = exchange(LIT("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
	ck_assert_int_eq(check_response(resp, 1, &body), 200);
	ck_assert_int_eq(fx.collected, 1);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: text/plain; "
	    "version=0.0.4; charset=utf-8\r\n"));
	snprintf(cl, sizeof cl, "\r\nContent-Length: %zu\r\n",
	    strlen(fx.body));
	ck_assert_ptr_nonnull(strstr(resp, cl));
	free(resp);
	fx_fini();
}
END_TEST

/* Requests answered with an error, and which. */
static const struct {
	const char	*req;
	size_t		 len;
	int		 status;
} bad_requests[] = {
	{ LIT("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 404 },
	{ LIT("GET /metricsx HTTP/1.1\r\nHost: x\r\n\r\n"), 404 },
	{ LIT("GET /metrics/ HTTP/1.1\r\nHost: x\r\n\r\n"), 404 },
	{ LIT("GET /Metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 404 },
	{ LIT("GET /%6detrics HTTP/1.1\r\nHost: x\r\n\r\n"), 404 },
	{ LIT("GET //metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 404 },
	{ LIT("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), 404 },
	{ LIT("GET http://h HTTP/1.1\r\nHost: x\r\n\r\n"), 404 },
	{ LIT("POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 405 },
	{ LIT("DELETE /metrics?x HTTP/1.1\r\nHost: x\r\n\r\n"), 405 },
	{ LIT("get /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 405 },
	{ LIT("GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n"), 505 },
	{ LIT("GET /metrics HTTP/0.9\r\nHost: x\r\n\r\n"), 505 },
	{ LIT("garbage\r\n\r\n"), 400 },
	{ LIT("GET /metrics\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400 },
	{ LIT("GET metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 400 },
	{ LIT("GET /met rics HTTP/1.1\r\nHost: x\r\n\r\n"), 400 },
	{ LIT("GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 400 },
	{ LIT("GET /metrics  HTTP/1.1\r\nHost: x\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n"), 400 },
	{ LIT("GET /metrics http/1.1\r\nHost: x\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.10\r\nHost: x\r\n\r\n"), 400 },
	{ LIT("G(T /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 400 },
	{ LIT("GET /m\xC3\xA9trics HTTP/1.1\r\nHost: x\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
	    "\r\nhello"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n"
	    "\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n"),
	    400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -0\r\n"
	    "\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n0\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\x01z\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\x7fz\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\nX: a\0z\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\rHost: x\r\n\r\n"), 400 },
	{ LIT("GET /metrics HTTP/1.1\r\nHost: x\r\r\n\r\n"), 400 },
	{ LIT("\0\0\0\0\n\n"), 400 },
	{ LIT("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n"), 400 },
	{ LIT("GET\r\n\r\n"), 400 },
	{ LIT(" GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"), 400 },
};

START_TEST(request_bad)
{
	char *resp;
	const char *body;
	int st;

	fx_init();
	resp = exchange(bad_requests[_i].req, bad_requests[_i].len);
	st = check_response(resp, 0, &body);
	ck_assert_msg(st == bad_requests[_i].status, "request %d: %d, not %d",
	    _i, st, bad_requests[_i].status);
	ck_assert_ptr_nonnull(strstr(resp, "\r\nContent-Type: text/plain; "
	    "charset=utf-8\r\n"));
	ck_assert_int_eq(atoi(body), st);
	if (st == 405)
		ck_assert_ptr_nonnull(strstr(resp, "\r\nAllow: GET, HEAD\r\n"));
	else
		ck_assert_ptr_null(strstr(resp, "Allow:"));
	ck_assert_int_eq(fx.collected, 0);
	free(resp);
	fx_fini();
}
END_TEST

/* A request of exactly n bytes, ending its head. */
static char *
request_of_size(size_t n)
{
	static const char start[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX: ";
	char *req = xmalloc(n);

	ck_assert_uint_gt(n, sizeof start + 4);
	memcpy(req, start, sizeof start - 1);
	memset(req + sizeof start - 1, 'a', n - (sizeof start - 1) - 4);
	memcpy(req + n - 4, "\r\n\r\n", 4);
	return req;
}

START_TEST(head_limit)
{
	char *req, *resp;

	fx_init();
	/* 8192 bytes: the most there may be */
	req = request_of_size(8192);
	ck_assert_int_eq(status_of(req, 8192), 200);
	free(req);
	/* one more: the end is past the limit */
	req = request_of_size(8193);
	ck_assert_int_eq(status_of(req, 8193), 431);
	free(req);
	/* a head that never ends, far longer than the limit: the client
	 * still reads the whole response (the rest is read and dropped) */
	req = request_of_size(200000);
	resp = exchange(req, 200000);
	ck_assert_int_eq(check_response(resp, 0, NULL), 431);
	free(resp);
	free(req);
	ck_assert_int_eq(fx.collected, 1);
	wait_nconns(0);
	fx_fini();
}
END_TEST

START_TEST(head_limit_option)
{
	fx_init_opts(0, 64, IDLE_MS);
	ck_assert_int_eq(status_of(LIT("GET /metrics HTTP/1.1\r\nHost: x\r\n"
	    "\r\n")), 200);
	ck_assert_int_eq(status_of(LIT("GET /metrics HTTP/1.1\r\nHost: x\r\n"
	    "User-Agent: a longer one, past 64 bytes\r\n\r\n")), 431);
	fx_fini();
}
END_TEST

/* The head in pieces, down to one byte at a time. */
START_TEST(request_split)
{
	static const char req[] = GET_METRICS;
	size_t i;
	char *resp;
	int fd;

	fx_init();
	fd = client_connect();
	for (i = 0; i < sizeof req - 1; i++) {
		client_send(fd, req + i, 1);
		turn_for(1);
	}
	resp = client_recv_all(fd, NULL);
	close(fd);
	ck_assert_int_eq(check_response(resp, 0, NULL), 200);
	free(resp);
	fx_fini();
}
END_TEST

/* ---- the server: connections --------------------------------------------- */

START_TEST(conn_limit)
{
	int fds[16], extra;
	size_t i, len;
	char *resp;

	fx_init();
	for (i = 0; i < NELEM(fds); i++)
		fds[i] = client_connect();
	wait_nconns(NELEM(fds));
	/* one too many: closed at once, no response */
	extra = client_connect();
	resp = client_recv_all(extra, &len);
	ck_assert_uint_eq(len, 0);
	free(resp);
	close(extra);
	ck_assert_uint_eq(metrics_server_nconns(fx.srv), NELEM(fds));
	/* the others are still served */
	for (i = 0; i < NELEM(fds); i++) {
		ck_assert_int_eq(client_send(fds[i], LIT(GET_METRICS)), 0);
		resp = client_recv_all(fds[i], NULL);
		ck_assert_int_eq(check_response(resp, 0, NULL), 200);
		free(resp);
		close(fds[i]);
	}
	ck_assert_int_eq(fx.collected, (int)NELEM(fds));
	wait_nconns(0);
	/* and new ones again */
	ck_assert_int_eq(status_of(LIT(GET_METRICS)), 200);
	fx_fini();
}
END_TEST

START_TEST(conn_limit_option)
{
	int a, b;
	size_t len;
	char *resp;

	fx_init_opts(1, 0, IDLE_MS);
	a = client_connect();
	wait_nconns(1);
	b = client_connect();
	resp = client_recv_all(b, &len);
	ck_assert_uint_eq(len, 0);
	free(resp);
	close(b);
	close(a);
	wait_nconns(0);
	ck_assert_int_eq(status_of(LIT(GET_METRICS)), 200);
	fx_fini();
}
END_TEST

/* A client that sends nothing, or not all of its head, is closed after
 * the timeout, without a response. */
START_TEST(idle_timeout)
{
	int64_t t0, took;
	size_t len;
	char *resp;
	int fd;

	fx_init_opts(0, 0, 200);
	fd = client_connect();
	t0 = now_ms();
	resp = client_recv_all(fd, &len);
	took = now_ms() - t0;
	close(fd);
	ck_assert_uint_eq(len, 0);
	free(resp);
	ck_assert_int_ge(took, 150);
	ck_assert_int_lt(took, 2000);

	fd = client_connect();
	client_send(fd, LIT("GET /metrics HTTP/1.1\r\nHost: x\r\n"));
	t0 = now_ms();
	resp = client_recv_all(fd, &len);
	took = now_ms() - t0;
	close(fd);
	ck_assert_uint_eq(len, 0);
	free(resp);
	ck_assert_int_ge(took, 150);
	ck_assert_int_lt(took, 2000);
	ck_assert_int_eq(fx.collected, 0);
	wait_nconns(0);
	fx_fini();
}
END_TEST

/* A client that takes its response but does not close is closed after
 * the timeout too. */
START_TEST(linger_timeout)
{
	char *resp;
	int fd;

	fx_init_opts(0, 0, 1000);
	fd = client_connect();
	client_send(fd, LIT(GET_METRICS));
	resp = client_recv_all(fd, NULL);
	ck_assert_int_eq(check_response(resp, 0, NULL), 200);
	free(resp);
	/* the server has shut its side down and waits for ours */
	ck_assert_uint_eq(metrics_server_nconns(fx.srv), 1);
	client_send(fd, LIT("more data, dropped"));
	wait_nconns(0);
	close(fd);
	fx_fini();
}
END_TEST

/* A client gone without reading the response, or with a reset. */
START_TEST(client_gone)
{
	struct linger lg = { 1, 0 };
	int fd, i;

	fx_init();
	for (i = 0; i < 20; i++) {
		fd = client_connect();
		if (i % 2 == 0)
			client_send(fd, LIT(GET_METRICS));
		else
			client_send(fd, LIT("GET /metr"));
		turn_for(i % 3);
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		close(fd);
	}
	wait_nconns(0);
	ck_assert_int_eq(status_of(LIT(GET_METRICS)), 200);
	fx_fini();
}
END_TEST

/* Closing the server closes every connection, in every state. */
START_TEST(close_busy)
{
	int idle, partial, done;
	size_t len;
	char *resp;

	fx_init();
	idle = client_connect();
	partial = client_connect();
	client_send(partial, LIT("GET /metrics HTTP/1.1\r\n"));
	done = client_connect();
	client_send(done, LIT(GET_METRICS));
	resp = client_recv_all(done, NULL);
	ck_assert_int_eq(check_response(resp, 0, NULL), 200);
	free(resp);
	wait_nconns(3);
	fx_fini();
	resp = client_recv_all(idle, &len);
	ck_assert_uint_eq(len, 0);
	free(resp);
	resp = client_recv_all(partial, &len);
	ck_assert_uint_eq(len, 0);
	free(resp);
	close(idle);
	close(partial);
	close(done);
}
END_TEST

START_TEST(close_at_once)
{
	fx_init();
	fx_fini();
}
END_TEST

/* ---- the server: start-up ------------------------------------------------ */

START_TEST(new_bad_address)
{
	uv_loop_t loop;
	char *err = NULL;

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_ptr_null(metrics_server_new(&loop, "localhost:9464",
	    fake_collect, &fx, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strncmp(err, "metrics_listen: ", 16) == 0, "%s", err);
	free(err);
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

START_TEST(new_in_use)
{
	char addr[64], *err = NULL;

	fx_init();
	snprintf(addr, sizeof addr, "127.0.0.1:%d", fx.port);
	ck_assert_ptr_null(metrics_server_new(&fx.loop, addr, fake_collect,
	    &fx, &err));
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "cannot listen on 127.0.0.1:") != NULL &&
	    strstr(err, "in use") != NULL, "%s", err);
	free(err);
	/* the first one still serves */
	ck_assert_int_eq(status_of(LIT(GET_METRICS)), 200);
	fx_fini();
}
END_TEST

START_TEST(new_ipv6)
{
	uv_loop_t loop;
	struct metrics_server *s;
	char *err = NULL;
	int closed = 0;

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	s = metrics_server_new(&loop, "[::1]:0", fake_collect, &fx, &err);
	if (s == NULL) {
		/* no IPv6 here: nothing to test */
		fprintf(stderr, "check-metrics: [::1]: %s\n", err);
		free(err);
	} else {
		ck_assert_int_gt(metrics_server_port(s), 0);
		metrics_server_close(s, on_server_closed, &closed);
	}
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
	ck_assert_int_eq(closed, s != NULL);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}
END_TEST

/* ---- a sample exposition ------------------------------------------------- */

/* Every kind of family, as the daemon is meant to write them. */
static void
sample_exposition(struct metrics_out *out)
{
	static const char *const kinds[] = { "direct", "broadcast" };
	static const char *const accounts[] = { "acme", "we\"ird\\ \n\xFF" };
	uint64_t counts[NELEM(reply_bounds)];
	const char *l[9];
	size_t a, k, i;

	metrics_family(out, "replywatch_open_waits", "gauge",
	    "Conversations waiting for a reply, by account and kind.");
	for (a = 0; a < NELEM(accounts); a++)
		for (k = 0; k < NELEM(kinds); k++) {
			l[0] = "account"; l[1] = accounts[a];
			l[2] = "kind"; l[3] = kinds[k]; l[4] = NULL;
			metrics_sample(out, NULL, l, (double)(a * 2 + k));
		}
	metrics_family(out, "replywatch_oldest_open_wait_age_seconds", "gauge",
	    "Age of the oldest unanswered message, by account and kind.");
	for (a = 0; a < NELEM(accounts); a++)
		for (k = 0; k < NELEM(kinds); k++) {
			l[0] = "account"; l[1] = accounts[a];
			l[2] = "kind"; l[3] = kinds[k]; l[4] = NULL;
			metrics_sample(out, NULL, l, k == 0 ? 4711.5 : 0);
		}
	metrics_family(out, "replywatch_reply_time_seconds", "histogram",
	    "Time from a message to its first reply.");
	for (a = 0; a < NELEM(accounts); a++)
		for (k = 0; k < NELEM(kinds); k++) {
			for (i = 0; i < NELEM(reply_bounds); i++)
				counts[i] = 0;
			metrics_observe(reply_bounds, NELEM(reply_bounds),
			    counts, 30);
			metrics_observe(reply_bounds, NELEM(reply_bounds),
			    counts, 4000);
			l[0] = "account"; l[1] = accounts[a];
			l[2] = "kind"; l[3] = kinds[k]; l[4] = NULL;
			metrics_histogram(out, "replywatch_reply_time_seconds",
			    l, reply_bounds, NELEM(reply_bounds), counts,
			    4030.25, 3);
		}
	metrics_family(out, "replywatch_sla_replies_total", "counter",
	    "Replies, by account, kind and SLA outcome (met or breached).");
	l[0] = "account"; l[1] = "acme"; l[2] = "kind"; l[3] = "direct";
	l[4] = "outcome"; l[5] = "met"; l[6] = NULL;
	metrics_sample(out, NULL, l, 10);
	l[5] = "breached";
	metrics_sample(out, NULL, l, 2);
	metrics_family(out, "replywatch_polls_total", "counter",
	    "Polls ended, by account, stream and result (ok or error).");
	l[0] = "account"; l[1] = "acme"; l[2] = "stream"; l[3] = "mentions";
	l[4] = "result"; l[5] = "ok"; l[6] = NULL;
	metrics_sample(out, NULL, l, 1234567);
	l[5] = "error";
	metrics_sample(out, NULL, l, 3);
	metrics_family(out, "replywatch_rate_limit_waits_total", "counter",
	    "Polls delayed because the platform limited the rate.");
	l[0] = "account"; l[1] = "acme"; l[2] = NULL;
	metrics_sample(out, NULL, l, 1);
	metrics_family(out, "replywatch_alerts_firing", "gauge",
	    "Alerts firing now.");
	metrics_sample(out, NULL, NULL, 0);
	metrics_family(out, "replywatch_alert_deliveries_total", "counter",
	    "Alert deliveries, by result (ok or error).");
	l[0] = "result"; l[1] = "ok"; l[2] = NULL;
	metrics_sample(out, NULL, l, 5);
	l[1] = "error";
	metrics_sample(out, NULL, l, 0);
	metrics_family(out, "replywatch_start_time_seconds", "gauge",
	    "Start time of the daemon since the Unix epoch.");
	metrics_sample(out, NULL, NULL, 1795608000.125);
	metrics_family(out, "replywatch_test_special_values", "gauge",
	    "Not a number and infinities (test only).");
	l[0] = "v"; l[1] = "nan"; l[2] = NULL;
	metrics_sample(out, NULL, l, NAN);
	l[1] = "inf";
	metrics_sample(out, NULL, l, INFINITY);
	l[1] = "-inf";
	metrics_sample(out, NULL, l, -INFINITY);
}

static int
print_sample(void)
{
	struct metrics_out *out = metrics_out_new();
	size_t len;
	const char *text;

	sample_exposition(out);
	text = metrics_out_text(out, &len);
	fwrite(text, 1, len, stdout);
	metrics_out_free(out);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* The sample is what a real scrape returns. */
START_TEST(serve_sample)
{
	struct metrics_out *want = metrics_out_new();
	const char *body;
	char *resp;

	fx_init();
	fx.sample = 1;
	resp = exchange(LIT(GET_METRICS));
	ck_assert_int_eq(check_response(resp, 0, &body), 200);
	sample_exposition(want);
	ck_assert_str_eq(body, metrics_out_text(want, NULL));
	free(resp);
	metrics_out_free(want);
	fx_fini();
}
END_TEST

/* ---- the suite ----------------------------------------------------------- */

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	const char *fork = getenv("CK_FORK");
	TCase *tc;

	tc = tcase_create("writer");
	tcase_add_test(tc, writer_empty);
	tcase_add_test(tc, writer_families);
	tcase_add_test(tc, writer_escaping);
	tcase_add_loop_test(tc, writer_values, 0, (int)NELEM(values));
	tcase_add_test(tc, writer_histogram);
	tcase_add_test(tc, writer_observe);
	/* a signal kills the runner itself without fork */
	if (fork == NULL || strcmp(fork, "no") != 0)
		tcase_add_loop_test_raise_signal(tc, writer_misuse, SIGABRT,
		    0, 14);
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_add_loop_test(tc, listen_good, 0, (int)NELEM(good_listen));
	tcase_add_loop_test(tc, listen_bad, 0, (int)NELEM(bad_listen));
	suite_add_tcase(s, tc);

	tc = tcase_create("server");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, serve_metrics);
	tcase_add_loop_test(tc, request_ok, 0, (int)NELEM(ok_requests));
	tcase_add_test(tc, request_head);
	tcase_add_loop_test(tc, request_bad, 0, (int)NELEM(bad_requests));
	tcase_add_test(tc, head_limit);
	tcase_add_test(tc, head_limit_option);
	tcase_add_test(tc, request_split);
	tcase_add_test(tc, serve_sample);
	suite_add_tcase(s, tc);

	tc = tcase_create("connections");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, conn_limit);
	tcase_add_test(tc, conn_limit_option);
	tcase_add_test(tc, idle_timeout);
	tcase_add_test(tc, linger_timeout);
	tcase_add_test(tc, client_gone);
	tcase_add_test(tc, close_busy);
	tcase_add_test(tc, close_at_once);
	tcase_add_test(tc, new_bad_address);
	tcase_add_test(tc, new_in_use);
	tcase_add_test(tc, new_ipv6);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	int failed;

	if (argc == 2 && strcmp(argv[1], "--sample") == 0)
		return print_sample();
	if (argc != 1) {
		fprintf(stderr, "usage: check-metrics [--sample]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	log_init("check-metrics", LOG_LEVEL_ERR);
	sr = srunner_create(metrics_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
