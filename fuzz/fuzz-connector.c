/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connector.h"
#include "fake-job.h"
#include "fuzz.h"
#include "http.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Every connector of the registry (connector_at), polled against a fake
 * HTTP client that answers whatever it asks with responses taken from the
 * input, and a fake poll job (fake-job.c). New connectors are covered as
 * soon as they are in registry.c; exec is not (it runs a program: see
 * fuzz-exec-output.c).
 *
 * The input, as text:
 *
 *	CONNECTOR STREAM FLAGS CURSOR
 *	STATUS
 *	Header: value
 *	...
 *	<empty line>
 *	body
 *	----
 *	STATUS
 *	...
 *
 * The first line picks the connector (by name, else by the sum of its
 * bytes), the stream (by name or number), flags (a number, below) and
 * the stream's cursor ("-" or nothing: none, a first poll). Then the
 * responses, separated by a line "----", each a status (a number, or
 * E1 .. E5 for a transport error), header lines, an empty line and the
 * body. Requests are answered in the order they are made, oldest first,
 * never from inside http_start; when the responses run out, every further
 * request fails with a network error.
 *
 * FLAGS: 1  a second poll at the same time, of the next stream
 *	  2  poll_job_conversation_of knows every id
 *	  4 << k (k = 0..3: bits 2..5) cancel the polls after k + 1 responses
 *	      ... as the number (FLAGS >> 2) & 15, 0 for never
 */

#define NOW_MS		INT64_C(1786701600000)	/* 2026-08-14T10:00:00Z */
#define SECRET		"fuzz-s3cret-t0ken"
#define MAX_DELIVERIES	300
#define SEP		"\n----\n"

/* ---- the connectors ------------------------------------------------------- */

/* Connectors that do not talk HTTP and must not be run here. */
static const char *const skipped[] = { "exec", NULL };

struct target {
	const struct connector_def *def;
	struct conf_account account;	/* one that new() accepts */
};

static struct target	*targets;
static size_t		 ntargets;
static char		 statedir[64], secretdir[64];
static char		*secret_file;
static uv_loop_t	 loop;

/* ---- the fake HTTP client ------------------------------------------------- */

struct http_call {
	struct http_call *next;
	http_done_fn	*fn;
	void		*arg;
};

struct http {
	struct http_call *queue;	/* oldest first */
	int		 delivering;
};

static struct http	 fake;

struct http *
http_new(uv_loop_t *l, const struct http_options *o, char **errstr)
{
	return &fake;
}

void
http_free(struct http *h)
{
}

size_t
http_running(const struct http *h)
{
	const struct http_call *c;
	size_t n = 0;

	for (c = h->queue; c != NULL; c = c->next)
		n++;
	return n;
}

static void
no_crlf(const char *what, const char *s)
{
	if (s != NULL && strpbrk(s, "\r\n") != NULL) {
		fprintf(stderr, "fuzz-connector: a line break in the %s: "
		    "%.200s\n", what, s);
		abort();
	}
}

struct http_call *
http_start(struct http *h, const struct http_request *req, http_done_fn *fn,
    void *arg, char **errstr)
{
	struct http_call *c, **p;
	size_t i;

	if (req->url == NULL || fn == NULL)
		abort();
	/* what goes on the wire must not be split by platform data */
	no_crlf("request URL", req->url);
	no_crlf("method", req->method);
	for (i = 0; req->headers != NULL && req->headers[i] != NULL; i++)
		no_crlf("request header", req->headers[i]);
	if (req->body != NULL && req->body_len > 0)
		(void)memchr(req->body, 0, req->body_len);	/* readable */
	c = xcalloc(1, sizeof *c);
	c->fn = fn;
	c->arg = arg;
	for (p = &h->queue; *p != NULL; p = &(*p)->next)
		;
	*p = c;
	return c;
}

void
http_cancel(struct http_call *call)
{
	struct http_call **p;

	for (p = &fake.queue; *p != NULL && *p != call; p = &(*p)->next)
		;
	if (*p == NULL) {
		fprintf(stderr, "fuzz-connector: http_cancel of a call that "
		    "is not running\n");
		abort();
	}
	*p = call->next;
	free(call);
}

/* One response of the input, in r (strings borrowed from the copy). */
struct response {
	struct http_response r;
	struct http_header h[32];
	char		*copy;
};

static void
response_parse(struct response *rs, const uint8_t *p, size_t n)
{
	struct http_response *r = &rs->r;
	char *s, *nl, *colon, *v, *e;
	size_t len, nh = 0;

	memset(rs, 0, sizeof *rs);
	rs->copy = xmalloc(n + 1);
	memcpy(rs->copy, p, n);
	rs->copy[n] = '\0';
	s = rs->copy;
	r->body = "";
	/* the status line */
	if ((nl = memchr(s, '\n', (size_t)(rs->copy + n - s))) != NULL)
		*nl = '\0';
	if (s[0] == 'E' && s[1] >= '1' && s[1] <= '5') {
		r->error = (enum http_error)(s[1] - '0');
		r->errstr = "fuzz: transport error";
	} else {
		r->status = strtol(s, &e, 10);
		if (e == s)
			r->status = 200;
	}
	if (nl == NULL)
		return;
	s = nl + 1;
	/* header lines up to an empty one */
	while (s < rs->copy + n) {
		nl = memchr(s, '\n', (size_t)(rs->copy + n - s));
		len = nl != NULL ? (size_t)(nl - s) : (size_t)(rs->copy + n - s);
		if (len > 0 && s[len - 1] == '\r')
			s[--len] = '\0';
		if (nl != NULL)
			*nl = '\0';
		if (len == 0) {
			s = nl != NULL ? nl + 1 : s + len;
			break;
		}
		if ((colon = memchr(s, ':', len)) != NULL && colon != s &&
		    nh < sizeof rs->h / sizeof rs->h[0]) {
			*colon = '\0';
			for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
				;
			rs->h[nh].name = s;
			rs->h[nh].value = v;
			nh++;
		}
		if (nl == NULL) {
			s = rs->copy + n;
			break;
		}
		s = nl + 1;
	}
	if (r->error != HTTP_OK) {
		r->status = 0;
		return;
	}
	r->headers = rs->h;
	r->nheaders = nh;
	/* the body: an exact copy, NUL-terminated as the client's */
	r->len = (size_t)(rs->copy + n - s);
	r->body = s;
}

/* ---- set-up ---------------------------------------------------------------- */

static void
write_file(const char *dir, const char *name, const char *text, char **path)
{
	FILE *fp;

	xasprintf(path, "%s/%s", dir, name);
	if ((fp = fopen(*path, "w")) == NULL ||
	    fputs(text, fp) == EOF || fclose(fp) == EOF) {
		fprintf(stderr, "fuzz-connector: %s: %s\n", *path,
		    strerror(errno));
		exit(1);
	}
}

static void
empty_dir(const char *dir, int remove_it)
{
	struct dirent *de;
	char *p;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		xasprintf(&p, "%s/%s", dir, de->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	if (remove_it)
		rmdir(dir);
}

static void
cleanup(void)
{
	empty_dir(statedir, 1);
	empty_dir(secretdir, 1);
}

static struct connector_env
env_for(const struct conf_account *a)
{
	struct connector_env env;

	memset(&env, 0, sizeof env);
	env.account = a;
	env.secret = SECRET;
	env.http = &fake;
	env.loop = &loop;
	env.state_dir = statedir;
	return env;
}

/* An account the connector accepts: the same plausible values for every
 * platform, with the variants that cannot be shared tried in turn. */
static int
find_account(const struct connector_def *def, struct conf_account *a)
{
	static const char *const versions[] = { NULL, "v21.0", "202411" };
	static const char *const urls[] = { NULL, "https://fuzz.example" };
	struct connector_env env;
	char *err = NULL, *last = NULL;
	size_t v, u;
	void *conn;

	for (u = 0; u < 2; u++)
		for (v = 0; v < 3; v++) {
			memset(a, 0, sizeof *a);
			a->name = (char *)"acme";
			a->line = 1;
			a->connector = (char *)def->name;
			a->url = (char *)urls[u];
			a->token_file = secret_file;
			a->password_file = secret_file;
			a->poll_interval_ms = 60000;
			a->backfill_ms = 24 * 3600 * 1000;
			a->command_timeout_ms = 60000;
			a->handle = (char *)"acme.fuzz.example";
			a->platform_id = (char *)"17841400000000001";
			a->page_id = (char *)"100000000000001";
			a->api_version = (char *)versions[v];
			a->client_id = (char *)"fuzz-client-id";
			a->client_secret_file = secret_file;
			a->refresh_token_file = secret_file;
			a->policy.complaint_threshold = 0.5;
			env = env_for(a);
			err = NULL;
			if ((conn = def->new(&env, &err)) != NULL) {
				def->free(conn);
				free(last);
				return 0;
			}
			free(last);
			last = err;
		}
	fprintf(stderr, "fuzz-connector: connector %s refuses every "
	    "account tried (%s): not fuzzed\n", def->name,
	    last != NULL ? last : "no reason");
	free(last);
	return -1;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct connector_def *def;
	const char *tmp = getenv("TMPDIR");
	size_t i, k;

	log_init("fuzz-connector", getenv("FUZZ_DEBUG") != NULL ?
	    LOG_LEVEL_DEBUG : LOG_LEVEL_ERR);
	uv_loop_init(&loop);
	if (tmp == NULL || *tmp != '/')
		tmp = "/tmp";
	snprintf(statedir, sizeof statedir, "%.40s/fuzz-state.XXXXXX", tmp);
	snprintf(secretdir, sizeof secretdir, "%.40s/fuzz-secret.XXXXXX", tmp);
	if (mkdtemp(statedir) == NULL || mkdtemp(secretdir) == NULL) {
		fprintf(stderr, "fuzz-connector: mkdtemp: %s\n",
		    strerror(errno));
		exit(1);
	}
	atexit(cleanup);
	write_file(secretdir, "secret", SECRET "\n", &secret_file);
	chmod(secret_file, 0600);
	for (i = 0; (def = connector_at(i)) != NULL; i++) {
		for (k = 0; skipped[k] != NULL; k++)
			if (strcmp(def->name, skipped[k]) == 0)
				break;
		if (skipped[k] != NULL)
			continue;
		targets = xreallocarray(targets, ntargets + 1,
		    sizeof *targets);
		targets[ntargets].def = def;
		if (find_account(def, &targets[ntargets].account) == 0)
			ntargets++;
	}
	if (ntargets == 0) {
		fprintf(stderr, "fuzz-connector: no connector to fuzz\n");
		exit(1);
	}
	if (getenv("FUZZ_DEBUG") != NULL)
		for (i = 0; i < ntargets; i++)
			fprintf(stderr, "fuzz-connector: %s\n",
			    targets[i].def->name);
	return 0;
}

/* ---- one input ------------------------------------------------------------ */

static size_t
nstreams(const struct connector_def *def)
{
	size_t n = 0;

	while (def->streams[n] != NULL)
		n++;
	return n;
}

/* The first line: connector, stream, flags, cursor. */
static const struct target *
header(char *line, int *stream, unsigned *flags, char **cursor)
{
	const struct target *t = NULL;
	char *w[3], *e;
	size_t i, ns, sum = 0;
	long v;

	for (i = 0; line[i] != '\0'; i++)
		sum += (unsigned char)line[i];
	for (i = 0; i < 3; i++) {
		w[i] = line;
		line += strcspn(line, " ");
		if (*line != '\0')
			*line++ = '\0';
	}
	*cursor = line[0] == '\0' || strcmp(line, "-") == 0 ? NULL : line;
	for (i = 0; i < ntargets && t == NULL; i++)
		if (strcmp(targets[i].def->name, w[0]) == 0)
			t = &targets[i];
	if (t == NULL)
		t = &targets[sum % ntargets];
	ns = nstreams(t->def);
	*stream = 0;
	for (i = 0; i < ns; i++)
		if (strcmp(t->def->streams[i], w[1]) == 0)
			*stream = (int)i;
	v = strtol(w[1], &e, 10);
	if (e != w[1] && v >= 0)
		*stream = (int)((unsigned long)v % ns);
	v = strtol(w[2], &e, 10);
	*flags = e != w[2] ? (unsigned)v : 0;
	return t;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	const struct target *t;
	struct connector_env env;
	struct poll_job job[2];
	struct http_call *c;
	struct response rs;
	const uint8_t *p;
	char *line, *cursor, *err = NULL;
	size_t n, njobs, i, deliveries = 0, cancel_after;
	unsigned flags;
	int stream;
	void *conn;

	if (ntargets == 0)
		LLVMFuzzerInitialize(NULL, NULL);
	if ((p = fuzz_next(&in, "\n", 1, &n)) == NULL)
		return 0;
	line = fuzz_strndup(p, n);
	t = header(line, &stream, &flags, &cursor);
	cancel_after = (flags >> 2) & 15;
	empty_dir(statedir, 0);

	env = env_for(&t->account);
	if ((conn = t->def->new(&env, &err)) == NULL) {
		fprintf(stderr, "fuzz-connector: %s: %s\n", t->def->name, err);
		abort();	/* it took this account in LLVMFuzzerInitialize */
	}
	njobs = (flags & 1) ? 2 : 1;
	for (i = 0; i < njobs; i++) {
		fake_job_init(&job[i], t->def, t->account.name,
		    (int)((size_t)(stream + (int)i) % nstreams(t->def)),
		    cursor, NOW_MS);
		job[i].known_roots = (flags & 2) != 0;
	}
	for (i = 0; i < njobs; i++) {
		t->def->poll(conn, &job[i]);
	}

	/* answer, oldest request first, until every poll has ended */
	for (;;) {
		for (i = 0; i < njobs && job[i].ndone; i++)
			;
		if (i == njobs)
			break;
		if ((c = fake.queue) == NULL) {
			/* a timer of the connector's own? */
			uv_run(&loop, UV_RUN_NOWAIT);
			if (fake.queue != NULL)
				continue;
			fprintf(stderr, "fuzz-connector: %s: a poll waits with "
			    "no request in flight\n", t->def->name);
			abort();
		}
		fake.queue = c->next;
		if ((p = fuzz_next(&in, SEP, sizeof SEP - 1, &n)) != NULL)
			response_parse(&rs, p, n);
		else {
			memset(&rs, 0, sizeof rs);
			rs.r.error = HTTP_E_NETWORK;
			rs.r.errstr = "fuzz: no more responses";
			rs.r.body = "";
		}
		fake.delivering = 1;
		c->fn(&rs.r, c->arg);
		fake.delivering = 0;
		free(c);
		free(rs.copy);
		if (++deliveries == cancel_after ||
		    deliveries == MAX_DELIVERIES) {
			for (i = 0; i < njobs; i++)
				if (!job[i].ndone) {
					t->def->cancel(conn, &job[i]);
					if (!job[i].ndone) {
						fprintf(stderr, "fuzz-connector: "
						    "%s: cancel did not end the "
						    "poll\n", t->def->name);
						abort();
					}
					if (job[i].status != POLL_CANCELLED)
						abort();
				}
		}
	}
	for (i = 0; i < njobs; i++)
		fake_job_clear(&job[i]);
	t->def->free(conn);
	if (fake.queue != NULL) {
		fprintf(stderr, "fuzz-connector: %s: a request still in flight "
		    "after free\n", t->def->name);
		abort();
	}
	uv_run(&loop, UV_RUN_NOWAIT);
	if (uv_loop_alive(&loop)) {
		fprintf(stderr, "fuzz-connector: %s: a handle left open after "
		    "free\n", t->def->name);
		abort();
	}
	free(line);
	return 0;
}
