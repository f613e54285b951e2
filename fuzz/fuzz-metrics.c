/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "fuzz.h"
#include "log.h"
#include "metrics.h"

/*
 * The /metrics server's request parsing, which is internal to metrics.c:
 * a real metrics_server on a loop of our own, listening on 127.0.0.1,
 * and one TCP connection per input. The input is sent as the request, in
 * two writes with the loop turned in between (so that the head arrives
 * in pieces), then the connection is shut down for writing. The server
 * must answer with an HTTP/1.1 status line or close, and end up with no
 * connection open, within a few seconds.
 */

#define MAX_HEAD	1024	/* small, so that 431 is reachable */
#define WAIT_MS		3000

static uv_loop_t	 loop;
static struct metrics_server *srv;
static struct sockaddr_in addr;

static void
collect(struct metrics_out *out, void *arg)
{
	static const char *const labels[] = { "account", "fuzz", NULL };

	metrics_family(out, "replywatch_fuzz_total", "counter", "Inputs.");
	metrics_sample(out, NULL, labels, 1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct metrics_server_options o;
	char *err = NULL;

	log_init("fuzz-metrics", LOG_LEVEL_ERR);
	uv_loop_init(&loop);
	memset(&o, 0, sizeof o);
	o.max_head = MAX_HEAD;
	o.idle_timeout_ms = WAIT_MS;
	if ((srv = metrics_server_new_opts(&loop, "127.0.0.1:0", &o, collect,
	    NULL, &err)) == NULL) {
		fprintf(stderr, "fuzz-metrics: %s\n", err);
		exit(1);
	}
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)metrics_server_port(srv));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return 0;
}

static void
turn(void)
{
	uv_run(&loop, UV_RUN_NOWAIT);
}

/* Write all of p, turning the loop while the socket is full. */
static int
send_all(int fd, const uint8_t *p, size_t n, uint64_t deadline)
{
	ssize_t w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return -1;	/* the server closed: fine */
		if (uv_hrtime() / 1000000 > deadline)
			return -1;
		turn();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char resp[4096];
	size_t got = 0, half;
	uint64_t deadline;
	struct pollfd pfd;
	ssize_t r;
	int fd, eof = 0;

	if (srv == NULL)
		LLVMFuzzerInitialize(NULL, NULL);
	deadline = uv_hrtime() / 1000000 + WAIT_MS;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1) {
		perror("fuzz-metrics: socket");
		abort();
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) == -1 &&
	    errno != EINPROGRESS) {
		perror("fuzz-metrics: connect");
		abort();
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	while (poll(&pfd, 1, 0) == 0)
		turn();
	/* until the server has accepted it */
	while (metrics_server_nconns(srv) == 0 &&
	    uv_hrtime() / 1000000 < deadline)
		turn();
	half = size / 2;
	if (send_all(fd, data, half, deadline) == 0) {
		turn();
		turn();
		if (send_all(fd, data + half, size - half, deadline) == 0)
			shutdown(fd, SHUT_WR);
	}
	/* read the response to its end */
	while (!eof) {
		r = recv(fd, resp + got, sizeof resp - 1 - got, 0);
		if (r > 0) {
			got += (size_t)r;
			if (got == sizeof resp - 1)
				got = 64;	/* keep the start */
			continue;
		}
		if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			eof = 1;
		else if (uv_hrtime() / 1000000 > deadline) {
			fprintf(stderr, "fuzz-metrics: no end of the response "
			    "after %d ms\n", WAIT_MS);
			abort();
		} else
			turn();
	}
	close(fd);
	resp[got] = '\0';
	if (got > 0 && strncmp(resp, "HTTP/1.1 ", 9) != 0) {
		fprintf(stderr, "fuzz-metrics: response \"%.40s\"\n", resp);
		abort();
	}
	/* the server lets go of the connection */
	while (metrics_server_nconns(srv) > 0) {
		if (uv_hrtime() / 1000000 > deadline + WAIT_MS) {
			fprintf(stderr, "fuzz-metrics: connection still open\n");
			abort();
		}
		turn();
	}
	return 0;
}
