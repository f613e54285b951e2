/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <unistr.h>
#include <uv.h>

#include "connector.h"
#include "log.h"
#include "msg.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * The exec connector: any platform, in any language. Each poll runs the
 * account's command with /bin/sh -c, in a session (and process group) of
 * its own, with stdin on /dev/null and the poll described in REPLYWATCH_*
 * variables. The program writes JSON Lines on stdout: normalized messages
 * (as for `replywatch import`), cursor lines {"cursor": "…"} and empty
 * lines. Its stderr goes to the log, line by line.
 *
 * Lines are parsed as they arrive and handed to the job; nothing is
 * committed before the program has exited with status 0. A line that
 * makes no sense, or too much output, spoils the whole run: the
 * messages are discarded and the program is terminated.
 *
 * The run ends when the program has exited and both pipes are at EOF
 * (or the run has been abandoned, below). A timer bounds it:
 *
 *   command_timeout  SIGTERM to the process group
 *   + 2 s            SIGKILL to the process group
 *   + 2 s            stop waiting for EOF: a process that left the group
 *                    (setsid) still holds the pipes; close our ends
 *
 * Cancelling and refused output start the same sequence at SIGTERM.
 * Every handle lives in struct run, which is freed in the last close
 * callback, just after poll_job_done().
 */

#ifndef EXEC_MAX_LINE
#define EXEC_MAX_LINE	((size_t)1 << 20)	/* one line of output */
#endif
#ifndef EXEC_MAX_OUTPUT
#define EXEC_MAX_OUTPUT	((size_t)64 << 20)	/* all of it */
#endif
#define EXEC_SHELL	"/bin/sh"
#define MAX_CURSOR	4096
#define READ_CHUNK	((size_t)64 * 1024)
#define ERR_TAIL	4096		/* stderr kept for errors */
#define LOG_LINE	300		/* bytes of a stderr line logged */
#define KILL_GRACE_MS	2000
#define DEFAULT_TIMEOUT_MS	60000

static const char *const exec_streams[] = { "messages", NULL };

/* The variables we set; inherited ones of these names are dropped. */
static const char *const exec_vars[] = {
	"REPLYWATCH_ACCOUNT", "REPLYWATCH_STREAM", "REPLYWATCH_CURSOR",
	"REPLYWATCH_SINCE", "REPLYWATCH_NOW", "REPLYWATCH_URL",
	"REPLYWATCH_TOKEN_FILE", "REPLYWATCH_PASSWORD_FILE",
};
#define NVARS	(sizeof exec_vars / sizeof exec_vars[0])

extern char **environ;

/* Tunables, lowered by the tests only (exec_test_tune). */
static size_t	 tune_max_line = EXEC_MAX_LINE;
static size_t	 tune_max_output = EXEC_MAX_OUTPUT;
static const char *tune_shell = EXEC_SHELL;

enum stage {
	STAGE_RUN,		/* timer: the command's timeout */
	STAGE_TERM,		/* SIGTERM sent; timer: SIGKILL */
	STAGE_KILL,		/* SIGKILL sent; timer: give up on EOF */
	STAGE_ABANDON,		/* pipes closed by us */
};

struct exec {
	const struct conf_account *account;
	uv_loop_t	*loop;
	struct run	*run;		/* in flight, NULL if none */
};

struct run {
	struct exec	*x;
	struct poll_job	*job;
	uv_process_t	 proc;
	uv_pipe_t	 out, err;
	uv_timer_t	 timer;
	int		 nopen;		/* handles not yet closed */
	int		 pid;		/* also the process group */
	enum stage	 stage;
	uint64_t	 started;	/* uv_now */

	unsigned	 exited:1;	/* exit_cb came (or spawn failed) */
	unsigned	 out_done:1;	/* closing: EOF, error or refused */
	unsigned	 err_done:1;
	unsigned	 timer_closing:1;
	unsigned	 cancelled:1;
	unsigned	 discarded:1;
	int64_t		 exit_status;
	int		 term_signal;

	/* The first failure decides the outcome (unless cancelled). */
	int		 failed;
	enum poll_status fail_status;
	char		*error;

	/* stdout: the current partial line at the front of buf */
	char		*buf;
	size_t		 len, cap;
	size_t		 scanned;	/* bytes known to hold no '\n' */
	size_t		 total;
	size_t		 lineno;	/* lines complete so far */
	size_t		 nmsgs;
	char		*cursor;

	/* stderr: its last ERR_TAIL bytes, and the line being logged */
	char		 tail[ERR_TAIL];
	size_t		 tail_len;
	char		 logline[LOG_LINE];
	size_t		 log_len;
	char		 errbuf[ERR_TAIL];	/* what one read brings */
};

/* For tests only: lower the output limits or use another shell. Zero or
 * NULL restores the default. Not part of the connector contract. */
void	exec_test_tune(size_t max_line, size_t max_output,
	    const char *shell);

void
exec_test_tune(size_t max_line, size_t max_output, const char *shell)
{
	tune_max_line = max_line != 0 ? max_line : EXEC_MAX_LINE;
	tune_max_output = max_output != 0 ? max_output : EXEC_MAX_OUTPUT;
	tune_shell = shell != NULL ? shell : EXEC_SHELL;
}

/* ---- text for people ----------------------------------------------------- */

/*
 * Copy src into dst (size dstlen > 0) for a log line or an error: valid
 * UTF-8 without control characters (tabs become spaces; invalid bytes
 * become '?'), no leading or trailing spaces, cut at a character
 * boundary when it does not fit. Returns the length written.
 */
static size_t
sanitize(char *dst, size_t dstlen, const char *src, size_t len)
{
	const uint8_t *s = (const uint8_t *)src;
	const char *c;
	size_t i = 0, o = 0, clen;
	ucs4_t uc;
	int n;

	while (i < len) {
		n = u8_mbtoucr(&uc, s + i, len - i);
		if (n == -2)
			break;	/* cut in the middle of a character */
		if (n <= 0) {
			c = "?";	/* not UTF-8 */
			clen = 1;
			i++;
		} else {
			c = src + i;
			clen = (size_t)n;
			i += (size_t)n;
			if (uc == '\t') {
				c = " ";
				clen = 1;
			} else if (uc < 0x20 || (uc >= 0x7f && uc < 0xa0))
				continue;
		}
		if (c[0] == ' ' && o == 0)
			continue;
		if (o + clen >= dstlen)
			break;
		memcpy(dst + o, c, clen);
		o += clen;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
	return o;
}

/* The last line of stderr with something left after sanitize, or "". */
static void
last_err_line(const struct run *r, char *dst, size_t dstlen)
{
	size_t end = r->tail_len, start;

	dst[0] = '\0';
	while (end > 0) {
		start = end;
		while (start > 0 && r->tail[start - 1] != '\n')
			start--;
		/* the tail may begin in the middle of a character */
		while (start == 0 && start < end &&
		    ((unsigned char)r->tail[start] & 0xc0) == 0x80)
			start++;
		if (sanitize(dst, dstlen, r->tail + start, end - start) > 0)
			return;
		end = start > 0 ? start - 1 : 0;
	}
}

static void
format_timeout(int64_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, len, "%lldms", (long long)ms);
}

/* ---- outcome ------------------------------------------------------------- */

static void
run_fail(struct run *r, enum poll_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
run_fail(struct run *r, enum poll_status st, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return;
	r->failed = 1;
	r->fail_status = st;
	va_start(ap, fmt);
	if (vasprintf(&r->error, fmt, ap) == -1)
		fatal("out of memory");
	va_end(ap);
}

/* What the exit of the program means, when nothing failed before. */
static enum poll_status
exit_outcome(struct run *r)
{
	char line[ERR_TAIL + 1];
	const char *sep;

	last_err_line(r, line, sizeof line);
	sep = line[0] != '\0' ? ": " : "";
	if (r->term_signal != 0) {
		xasprintf(&r->error, "command killed by signal %d (%s)%s%s",
		    r->term_signal, strsignal(r->term_signal), sep, line);
		return POLL_RETRY;
	}
	if (r->exit_status == 0)
		return POLL_OK;
	xasprintf(&r->error, "command exited with status %lld%s%s%s",
	    (long long)r->exit_status,
	    r->exit_status == 75 ? " (temporary failure)" :
	    r->exit_status == 77 ? " (permission denied)" : "", sep, line);
	return r->exit_status == 77 ? POLL_AUTH : POLL_RETRY;
}

/* Drop what was handed over: early, when the run is known to fail. */
static void
run_discard(struct run *r)
{
	if (r->discarded)
		return;
	r->discarded = 1;
	poll_job_discard(r->job);
}

static void
run_free(struct run *r)
{
	free(r->error);
	free(r->buf);
	free(r->cursor);
	free(r);
}

/* Every handle is closed: end the job. */
static void
run_finish(struct run *r)
{
	struct poll_result res;
	uint64_t ms = uv_now(r->x->loop) - r->started;

	memset(&res, 0, sizeof res);
	res.retry_at_ms = -1;
	res.rl.limit = res.rl.remaining = res.rl.reset_ms = -1;
	if (r->cancelled) {
		res.status = POLL_CANCELLED;
		res.error = "cancelled";
	} else if (r->failed) {
		res.status = r->fail_status;
		res.error = r->error;
	} else if ((res.status = exit_outcome(r)) == POLL_OK)
		res.cursor = r->cursor;
	else
		res.error = r->error;
	log_debug("account %s: command ended after %llu ms, %zu lines, "
	    "%zu messages", r->x->account->name, (unsigned long long)ms,
	    r->lineno, r->nmsgs);
	if (res.status != POLL_OK)
		run_discard(r);
	r->x->run = NULL;
	poll_job_done(r->job, &res);
	run_free(r);
}

static void
on_close(uv_handle_t *h)
{
	struct run *r = h->data;

	if (--r->nopen == 0)
		run_finish(r);
}

/* The timer is closed last, once nothing else is left to wait for. */
static void
maybe_end(struct run *r)
{
	if (!r->exited || !r->out_done || !r->err_done || r->timer_closing)
		return;
	r->timer_closing = 1;
	uv_close((uv_handle_t *)&r->timer, on_close);
}

/* ---- signals and the timer ----------------------------------------------- */

static void
run_signal(struct run *r, int sig)
{
	if (r->pid <= 0)
		return;
	if (!r->exited)
		uv_process_kill(&r->proc, sig);
	/* the rest of its group, also once it has exited */
	uv_kill(-r->pid, sig);
}

static void
stop_out(struct run *r)
{
	if (r->out_done)
		return;
	r->out_done = 1;
	uv_close((uv_handle_t *)&r->out, on_close);
}

static void
stop_err(struct run *r);

static void
on_timer(uv_timer_t *t)
{
	struct run *r = t->data;
	char after[32];

	switch (r->stage) {
	case STAGE_RUN:
		format_timeout(r->x->account->command_timeout_ms > 0 ?
		    r->x->account->command_timeout_ms : DEFAULT_TIMEOUT_MS,
		    after, sizeof after);
		if (r->exited && !r->term_signal)
			run_fail(r, POLL_RETRY, "command timed out after %s "
			    "(it exited with status %lld, but a process it "
			    "started kept its output open)", after,
			    (long long)r->exit_status);
		else
			run_fail(r, POLL_RETRY, "command timed out after %s",
			    after);
		log_warn("account %s: command timed out after %s",
		    r->x->account->name, after);
		run_signal(r, SIGTERM);
		r->stage = STAGE_TERM;
		uv_timer_start(&r->timer, on_timer, KILL_GRACE_MS, 0);
		break;
	case STAGE_TERM:
		log_warn("account %s: command still running %d s after "
		    "SIGTERM: sending SIGKILL", r->x->account->name,
		    KILL_GRACE_MS / 1000);
		run_signal(r, SIGKILL);
		r->stage = STAGE_KILL;
		uv_timer_start(&r->timer, on_timer, KILL_GRACE_MS, 0);
		break;
	case STAGE_KILL:
		if (!r->out_done || !r->err_done)
			log_warn("account %s: a process outside the command's "
			    "group keeps its output open: no longer waiting",
			    r->x->account->name);
		r->stage = STAGE_ABANDON;
		stop_out(r);
		stop_err(r);
		maybe_end(r);
		break;
	case STAGE_ABANDON:
		break;
	}
}

/* Stop the program early: SIGTERM now, the rest by the timer. */
static void
run_terminate(struct run *r)
{
	if (r->stage != STAGE_RUN || r->timer_closing)
		return;
	run_signal(r, SIGTERM);
	r->stage = STAGE_TERM;
	uv_timer_start(&r->timer, on_timer, KILL_GRACE_MS, 0);
}

/* The output is refused: discard the run, stop reading, stop the program. */
static void
refuse(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
refuse(struct run *r, const char *fmt, ...)
{
	va_list ap;
	char *why;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) == -1)
		fatal("out of memory");
	va_end(ap);
	run_fail(r, POLL_BAD_DATA, "%s", why);
	free(why);
	run_discard(r);
	stop_out(r);
	run_terminate(r);
	maybe_end(r);
}

/* ---- stdout: JSON Lines -------------------------------------------------- */

static int
is_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* A "\u0000" escape, which cJSON would turn into a NUL inside a string. */
static int
has_nul_escape(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < len &&
		    memcmp(s + i + 2, "0000", 4) == 0)
			return 1;
		i++;
	}
	return 0;
}

/*
 * A cursor line: an object whose only member is "cursor". Returns 1 with
 * *cursor (caller frees) or with *errstr if its value is refused, 0 if the
 * line is not a cursor line.
 */
static int
parse_cursor(const char *line, size_t len, char **cursor, char **errstr)
{
	const char *end = NULL;
	cJSON *obj;
	const cJSON *v;
	size_t i, n;
	int rc = 0;

	if (u8_check((const uint8_t *)line, len) != NULL)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t' &&
		    line[i] != '\r')
			return 0;
	if ((obj = cJSON_ParseWithLengthOpts(line, len, &end, 0)) == NULL)
		return 0;
	while (end < line + len && (*end == ' ' || *end == '\t' ||
	    *end == '\r'))
		end++;
	v = obj->child;
	if (end != line + len || !cJSON_IsObject(obj) || v == NULL ||
	    v->next != NULL ||
	    v->string == NULL || strcmp(v->string, "cursor") != 0)
		goto out;
	rc = 1;
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		xasprintf(errstr, "field \"cursor\" must be a string");
		goto out;
	}
	if (has_nul_escape(line, len)) {
		xasprintf(errstr, "field \"cursor\" contains a NUL character");
		goto out;
	}
	n = strlen(v->valuestring);
	if (n > MAX_CURSOR) {
		xasprintf(errstr, "field \"cursor\" is longer than %d bytes",
		    MAX_CURSOR);
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)v->valuestring[i] < 0x20 ||
		    v->valuestring[i] == 0x7f) {
			xasprintf(errstr, "field \"cursor\" contains a control "
			    "character");
			goto out;
		}
	*cursor = xstrdup(v->valuestring);
out:
	cJSON_Delete(obj);
	return rc;
}

/* One complete line (without its '\n'). 0, or -1 once refused. */
static int
handle_line(struct run *r, const char *line, size_t len)
{
	const char *name = r->x->account->name;
	char *errstr = NULL, *cerr = NULL, *cursor = NULL;
	char acct[MSG_MAX_NAME + 1];
	struct msg m;

	r->lineno++;
	if (len > tune_max_line) {
		refuse(r, "command output line %zu is longer than %zu bytes",
		    r->lineno, tune_max_line);
		return -1;
	}
	if (is_blank(line, len))
		return 0;
	if (msg_parse_json(line, len, &m, &errstr) == -1) {
		if (parse_cursor(line, len, &cursor, &cerr) == 1 &&
		    cursor != NULL) {
			free(errstr);
			free(r->cursor);
			r->cursor = cursor;
			return 0;
		}
		/* a cursor line's own reason, else msg_parse_json's */
		refuse(r, "command output line %zu: %s", r->lineno,
		    cerr != NULL ? cerr : errstr);
		free(cerr);
		free(errstr);
		return -1;
	}
	if (strcmp(m.account, name) != 0) {
		sanitize(acct, sizeof acct, m.account, strlen(m.account));
		refuse(r, "command output line %zu: account \"%s\" is not "
		    "this account (\"%s\")", r->lineno, acct, name);
		msg_clear(&m);
		return -1;
	}
	if (poll_job_add(r->job, &m, &errstr) == -1) {
		refuse(r, "command output line %zu: %s", r->lineno,
		    errstr != NULL ? errstr : "message refused");
		free(errstr);
		msg_clear(&m);
		return -1;
	}
	msg_clear(&m);
	r->nmsgs++;
	return 0;
}

static void
on_out_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct run *r = h->data;
	size_t want = r->len + READ_CHUNK, ncap;

	if (r->cap < want) {
		ncap = r->cap != 0 ? r->cap : READ_CHUNK;
		while (ncap < want)
			ncap *= 2;
		r->buf = xreallocarray(r->buf, ncap, 1);
		r->cap = ncap;
	}
	*b = uv_buf_init(r->buf + r->len, (unsigned int)(r->cap - r->len));
}

/* Handle the complete lines in buf; keep the partial one at the front. */
static int
split_lines(struct run *r)
{
	size_t start = 0;
	char *nl;

	while ((nl = memchr(r->buf + r->scanned, '\n',
	    r->len - r->scanned)) != NULL) {
		if (handle_line(r, r->buf + start,
		    (size_t)(nl - r->buf) - start) == -1)
			return -1;
		start = (size_t)(nl - r->buf) + 1;
		r->scanned = start;
	}
	if (start > 0) {
		memmove(r->buf, r->buf + start, r->len - start);
		r->len -= start;
	}
	r->scanned = r->len;
	if (r->len > tune_max_line) {
		refuse(r, "command output line %zu is longer than %zu bytes",
		    r->lineno + 1, tune_max_line);
		return -1;
	}
	return 0;
}

static void
on_out_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct run *r = s->data;

	if (nread == 0 || r->out_done)
		return;
	if (nread == UV_EOF) {
		if (r->len > 0 && handle_line(r, r->buf, r->len) == -1)
			return;
		r->len = 0;
		stop_out(r);
		maybe_end(r);
		return;
	}
	if (nread < 0) {
		run_fail(r, POLL_RETRY, "reading the command's output: %s",
		    uv_strerror((int)nread));
		run_discard(r);
		stop_out(r);
		run_terminate(r);
		maybe_end(r);
		return;
	}
	r->total += (size_t)nread;
	if (r->total > tune_max_output) {
		refuse(r, "command output is larger than %zu bytes",
		    tune_max_output);
		return;
	}
	r->len += (size_t)nread;
	split_lines(r);
}

/* ---- stderr: to the log, and its tail for errors ------------------------- */

static void
log_flush(struct run *r)
{
	char line[LOG_LINE + 1];

	if (sanitize(line, sizeof line, r->logline, r->log_len) > 0)
		log_info("account %s: command: %s", r->x->account->name, line);
	r->log_len = 0;
}

static void
err_keep(struct run *r, const char *p, size_t n)
{
	size_t i, drop;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n')
			log_flush(r);
		else if (r->log_len < sizeof r->logline)
			r->logline[r->log_len++] = p[i];
	}
	if (n >= ERR_TAIL) {
		memcpy(r->tail, p + n - ERR_TAIL, ERR_TAIL);
		r->tail_len = ERR_TAIL;
		return;
	}
	if (r->tail_len + n > ERR_TAIL) {
		drop = r->tail_len + n - ERR_TAIL;
		memmove(r->tail, r->tail + drop, r->tail_len - drop);
		r->tail_len -= drop;
	}
	memcpy(r->tail + r->tail_len, p, n);
	r->tail_len += n;
}

static void
stop_err(struct run *r)
{
	if (r->err_done)
		return;
	r->err_done = 1;
	log_flush(r);
	uv_close((uv_handle_t *)&r->err, on_close);
}

static void
on_err_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct run *r = h->data;

	*b = uv_buf_init(r->errbuf, sizeof r->errbuf);
}

static void
on_err_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct run *r = s->data;

	if (nread > 0) {
		err_keep(r, b->base, (size_t)nread);
		return;
	}
	if (nread == 0 || r->err_done)
		return;
	stop_err(r);
	maybe_end(r);
}

/* ---- the process --------------------------------------------------------- */

static void
on_proc_exit(uv_process_t *p, int64_t status, int sig)
{
	struct run *r = p->data;

	r->exited = 1;
	r->exit_status = status;
	r->term_signal = sig;
	uv_close((uv_handle_t *)&r->proc, on_close);
	maybe_end(r);
}

static char **
make_env(struct run *r)
{
	const struct conf_account *a = r->x->account;
	const char *cursor = poll_job_cursor(r->job);
	int64_t since = poll_job_backfill_since(r->job);
	char sincebuf[TIMEFMT_RFC3339_LEN], nowbuf[TIMEFMT_RFC3339_LEN];
	size_t n = 0, i, k, len;
	char **env;

	for (i = 0; environ[i] != NULL; i++)
		continue;
	env = xreallocarray(NULL, i + NVARS + 1, sizeof *env);
	for (i = 0; environ[i] != NULL; i++) {
		for (k = 0; k < NVARS; k++) {
			len = strlen(exec_vars[k]);
			if (strncmp(environ[i], exec_vars[k], len) == 0 &&
			    environ[i][len] == '=')
				break;
		}
		if (k == NVARS)
			env[n++] = xstrdup(environ[i]);
	}
	sincebuf[0] = '\0';
	if (since >= 0)
		timefmt_format_rfc3339(since, sincebuf, sizeof sincebuf);
	timefmt_format_rfc3339(poll_job_now(r->job), nowbuf, sizeof nowbuf);
	xasprintf(&env[n++], "REPLYWATCH_ACCOUNT=%s", a->name);
	/* one stream: poll_job_stream() can only be 0 */
	xasprintf(&env[n++], "REPLYWATCH_STREAM=%s", exec_streams[0]);
	xasprintf(&env[n++], "REPLYWATCH_CURSOR=%s",
	    cursor != NULL ? cursor : "");
	xasprintf(&env[n++], "REPLYWATCH_SINCE=%s", sincebuf);
	xasprintf(&env[n++], "REPLYWATCH_NOW=%s", nowbuf);
	if (a->url != NULL)
		xasprintf(&env[n++], "REPLYWATCH_URL=%s", a->url);
	if (a->token_file != NULL)
		xasprintf(&env[n++], "REPLYWATCH_TOKEN_FILE=%s", a->token_file);
	if (a->password_file != NULL)
		xasprintf(&env[n++], "REPLYWATCH_PASSWORD_FILE=%s",
		    a->password_file);
	env[n] = NULL;
	return env;
}

static void
free_env(char **env)
{
	size_t i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* Start the program; -1 (with the run failed) if it could not be. */
static int
run_spawn(struct run *r)
{
	uv_process_options_t opt;
	uv_stdio_container_t stdio[3];
	char *args[4];
	char **env;
	int rc;

	memset(&opt, 0, sizeof opt);
	args[0] = (char *)tune_shell;
	args[1] = (char *)"-c";
	args[2] = r->x->account->command;
	args[3] = NULL;
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[1].data.stream = (uv_stream_t *)&r->out;
	stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
	stdio[2].data.stream = (uv_stream_t *)&r->err;
	opt.exit_cb = on_proc_exit;
	opt.file = tune_shell;
	opt.args = args;
	opt.env = env = make_env(r);
	opt.stdio = stdio;
	opt.stdio_count = 3;
	/* a session of its own: its whole process group can be signalled */
	opt.flags = UV_PROCESS_DETACHED;
	rc = uv_spawn(r->x->loop, &r->proc, &opt);
	free_env(env);
	if (rc != 0) {
		run_fail(r, POLL_RETRY, "cannot run %s: %s", tune_shell,
		    uv_strerror(rc));
		return -1;
	}
	r->pid = r->proc.pid;
	return 0;
}

static void
exec_poll(void *self, struct poll_job *job)
{
	struct exec *x = self;
	struct poll_result res;
	struct run *r;
	int64_t timeout;

	if (x->run != NULL) {
		memset(&res, 0, sizeof res);
		res.status = POLL_RETRY;
		res.error = "the previous run of the command is still going";
		res.retry_at_ms = -1;
		res.rl.limit = res.rl.remaining = res.rl.reset_ms = -1;
		poll_job_done(job, &res);
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->x = x;
	r->job = job;
	r->started = uv_now(x->loop);
	x->run = r;
	r->proc.data = r->out.data = r->err.data = r->timer.data = r;
	uv_timer_init(x->loop, &r->timer);
	uv_pipe_init(x->loop, &r->out, 0);
	uv_pipe_init(x->loop, &r->err, 0);
	r->nopen = 4;
	log_debug("account %s: running command", x->account->name);
	if (run_spawn(r) == -1) {
		/* the process handle is initialized even so */
		r->exited = 1;
		uv_close((uv_handle_t *)&r->proc, on_close);
		stop_out(r);
		stop_err(r);
		maybe_end(r);
		return;
	}
	timeout = x->account->command_timeout_ms > 0 ?
	    x->account->command_timeout_ms : DEFAULT_TIMEOUT_MS;
	uv_timer_start(&r->timer, on_timer, (uint64_t)timeout, 0);
	if (uv_read_start((uv_stream_t *)&r->out, on_out_alloc,
	    on_out_read) != 0 ||
	    uv_read_start((uv_stream_t *)&r->err, on_err_alloc,
	    on_err_read) != 0) {
		run_fail(r, POLL_RETRY, "cannot read the command's output");
		stop_out(r);
		stop_err(r);
		run_terminate(r);
		maybe_end(r);
	}
}

static void
exec_cancel(void *self, struct poll_job *job)
{
	struct exec *x = self;
	struct run *r = x->run;

	if (r == NULL || r->job != job || r->cancelled)
		return;
	r->cancelled = 1;
	/* its output no longer matters: the program gets SIGPIPE or EOF */
	run_discard(r);
	stop_out(r);
	run_terminate(r);
	maybe_end(r);
}

static void *
exec_new(const struct connector_env *env, char **errstr)
{
	struct exec *x;

	if (env->account->command == NULL || env->account->command[0] == '\0') {
		xasprintf(errstr, "connector exec needs command =");
		return NULL;
	}
	x = xcalloc(1, sizeof *x);
	x->account = env->account;
	x->loop = env->loop;
	return x;
}

static void
exec_free(void *self)
{
	struct exec *x = self;

	if (x == NULL)
		return;
	if (x->run != NULL)
		fatal("exec connector freed with a poll in flight");
	free(x);
}

const struct connector_def connector_exec = {
	.name = "exec",
	.platform = NULL,	/* each message names its own */
	.streams = exec_streams,
	.needs_secret = 0,
	.default_url = NULL,
	.url_optional = 1,	/* handed to the program if set */
	.new = exec_new,
	.free = exec_free,
	.poll = exec_poll,
	.cancel = exec_cancel,
};
