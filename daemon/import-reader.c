/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "classify-msg.h"
#include "import-reader.h"
#include "xmalloc.h"

/*
 * The pipe carries records: a 4-byte body length, a 1-byte type, the body.
 * Both ends are the same program on the same machine: host byte order.
 *
 *   'M' a message: created_ms (8), complaint_score (8), kind, direction,
 *       complaint, scored (1 each), then platform, account, id,
 *       conversation, author, in_reply_to, text, url, lang, cues, each as
 *       a 4-byte length (NONE: absent) and the bytes with their NUL
 *   'E' the end: lines (8), rejected (8)
 *   'X' the input could not be read: the reason, with its NUL
 */
#define NONE		UINT32_MAX
#define NSTRINGS	10
#define PIPE_BUFFER	(1 << 20)	/* the pipe's size, the parent's buffer */
#define OUT_CHUNK	(256 << 10)	/* the child's writes */
#define IN_BUFFER	(256 << 10)	/* the child's reads of the input */

struct reader {
	pid_t		 pid;
	int		 fd;		/* the parent's end of the pipe, or -1 */
	/* what was read from the pipe and not decoded yet is buf[start..end):
	 * records are decoded where they lie, the strings of the current
	 * message included, and the rest moves to the front only when a
	 * record does not fit after it */
	char		*buf;
	size_t		 cap, start, end;
	unsigned long	 lines, rejected;
	int		 ended;
};

/* ---- the child: read, parse, write records ----------------------------- */

/* Records are built one after the other in buf and written to the pipe
 * OUT_CHUNK bytes at a time: through stdio, whose buffer for a pipe is
 * 4 KiB whatever setvbuf asks, each write woke the parent some 100,000
 * times for a million messages. */
struct out {
	int	 fd;
	char	*buf;
	size_t	 len, cap;
	size_t	 rec;		/* where the record being built starts */
};

static void
out_add(struct out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		while (o->len + n > o->cap)
			o->cap = o->cap ? o->cap * 2 : 4096;
		o->buf = xreallocarray(o->buf, o->cap, 1);
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
out_string(struct out *o, const char *s)
{
	uint32_t n = s == NULL ? NONE : (uint32_t)strlen(s) + 1;

	out_add(o, &n, sizeof n);
	if (s != NULL)
		out_add(o, s, n);
}

/* Write what was built: 0, or -1 if the parent is gone. */
static int
out_flush(struct out *o)
{
	size_t done = 0;
	ssize_t n;

	while (done < o->len) {
		n = write(o->fd, o->buf + done, o->len - done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	o->len = 0;
	return 0;
}

/* Finish the record built since out_begin: its 5-byte header. */
static int
out_send(struct out *o, char type)
{
	uint32_t len = (uint32_t)(o->len - o->rec - 5);

	memcpy(o->buf + o->rec, &len, sizeof len);
	o->buf[o->rec + 4] = type;
	return o->len >= OUT_CHUNK ? out_flush(o) : 0;
}

static void
out_begin(struct out *o)
{
	o->rec = o->len;
	out_add(o, "\0\0\0\0\0", 5);
}

static int
send_msg(struct out *o, const struct msg *m)
{
	int8_t b[4] = { (int8_t)m->kind, (int8_t)m->direction,
	    (int8_t)m->complaint, (int8_t)m->scored };

	out_begin(o);
	out_add(o, &m->created_ms, sizeof m->created_ms);
	out_add(o, &m->complaint_score, sizeof m->complaint_score);
	out_add(o, b, sizeof b);
	out_string(o, m->platform);
	out_string(o, m->account);
	out_string(o, m->id);
	out_string(o, m->conversation);
	out_string(o, m->author);
	out_string(o, m->in_reply_to);
	out_string(o, m->text);
	out_string(o, m->url);
	out_string(o, m->scored && m->lang[0] != '\0' ? m->lang : NULL);
	out_string(o, m->cues);
	return out_send(o, 'M');
}

/* Read one line into buf (capacity cap); 1 on a line, 0 at EOF, -1 on a
 * read error. A line too long is consumed and flagged with *too_long. */
static int
read_line(FILE *fp, char *buf, size_t cap, size_t *len, int *too_long)
{
	size_t n;

	*too_long = 0;
	if (fgets(buf, (int)cap, fp) == NULL)
		return ferror(fp) ? -1 : 0;
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n') {
		buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '\r')
			buf[--n] = '\0';
		*len = n;
		return 1;
	}
	if (feof(fp)) {
		*len = n;
		return 1;
	}
	*too_long = 1;
	for (;;) {
		int ch = getc(fp);

		if (ch == EOF || ch == '\n')
			break;
	}
	return ferror(fp) ? -1 : 1;
}

static int
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t')
			return 0;
	return 1;
}

/* Inbound messages whose source did not flag them are classified here,
 * in the child: the parent's core is busy storing. */
static void
child_classify(struct classify_set *cs, struct msg *m, const char *name,
    uint64_t line)
{
	struct classify *c;
	char *err = NULL;

	if (cs == NULL || m->direction != MSG_INBOUND ||
	    m->complaint != MSG_COMPLAINT_UNKNOWN || m->text == NULL)
		return;
	if ((c = classify_set_get(cs, m->account, &err)) == NULL) {
		fprintf(stderr, "%s:%llu: account %s: complaint classifier: "
		    "%s\n", name, (unsigned long long)line, m->account, err);
		free(err);
		return;
	}
	classify_msg(c, m);
}

static int
child_main(FILE *fp, const char *name, size_t max_line,
    const struct conf *conf, struct out *o)
{
	struct classify_set *cs = conf != NULL ? classify_set_new(conf) : NULL;
	char *line = xmalloc(max_line + 2), *err;
	char *inbuf = xmalloc(IN_BUFFER);
	uint64_t lines = 0, rejected = 0;
	int too_long, rc;
	struct msg m;
	size_t len;

	/* stdio reads a file 4 KiB at a time unless given a buffer */
	setvbuf(fp, inbuf, _IOFBF, IN_BUFFER);
	while ((rc = read_line(fp, line, max_line + 2, &len, &too_long)) == 1) {
		lines++;
		if (too_long) {
			fprintf(stderr, "%s:%llu: line longer than %zu bytes\n",
			    name, (unsigned long long)lines, max_line);
			rejected++;
			continue;
		}
		if (blank(line))
			continue;
		err = NULL;
		if (msg_parse_json(line, len, &m, &err) == -1) {
			fprintf(stderr, "%s:%llu: %s\n", name,
			    (unsigned long long)lines, err);
			free(err);
			rejected++;
			continue;
		}
		child_classify(cs, &m, name, lines);
		rc = send_msg(o, &m);
		msg_clear(&m);
		if (rc == -1)
			break;	/* the parent is gone */
	}
	free(line);
	classify_set_free(cs);
	out_begin(o);
	if (rc == -1 && ferror(fp)) {
		out_add(o, strerror(errno), strlen(strerror(errno)) + 1);
		out_send(o, 'X');
	} else {
		out_add(o, &lines, sizeof lines);
		out_add(o, &rejected, sizeof rejected);
		out_send(o, 'E');
	}
	free(inbuf);	/* fp is not read again */
	return out_flush(o) == 0 ? 0 : 1;
}

/* ---- the parent ------------------------------------------------------------ */

struct reader *
reader_start(FILE *fp, const char *name, size_t max_line,
    const struct conf *conf, char **errstr)
{
	struct reader *r;
	int fds[2];
	pid_t pid;

	if (pipe(fds) == -1) {
		xasprintf(errstr, "pipe: %s", strerror(errno));
		return NULL;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		xasprintf(errstr, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		struct out o = { 0 };
		int rc;

		close(fds[0]);
		/* end with the parent, whatever ends it */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		o.fd = fds[1];
		rc = child_main(fp, name, max_line, conf, &o);
		free(o.buf);
		close(o.fd);
		_exit(rc);
	}
	close(fds[1]);
#ifdef F_SETPIPE_SZ
	/* fewer, larger transfers: each wakes the other side once; an error
	 * leaves the default size */
	(void)fcntl(fds[0], F_SETPIPE_SZ, PIPE_BUFFER);
#endif
	r = xcalloc(1, sizeof *r);
	r->pid = pid;
	r->fd = fds[0];
	r->cap = PIPE_BUFFER;
	r->buf = xmalloc(r->cap);
	return r;
}

/* Have at least n bytes at buf[start..]: 0, or -1 if the pipe ended or
 * failed first. */
static int
fill(struct reader *r, size_t n)
{
	ssize_t got;

	if (r->end - r->start >= n)
		return 0;
	if (r->start + n > r->cap) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
		if (n > r->cap) {
			r->cap = n;
			r->buf = xreallocarray(r->buf, r->cap, 1);
		}
	}
	while (r->end - r->start < n) {
		got = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (got == -1 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		r->end += (size_t)got;
	}
	return 0;
}

/* Take a string from the record body at *p; NULL for an absent one. */
static int
take_string(char *body, size_t *p, size_t len, char **out)
{
	uint32_t n;

	if (*p + sizeof n > len)
		return -1;
	memcpy(&n, body + *p, sizeof n);
	*p += sizeof n;
	if (n == NONE) {
		*out = NULL;
		return 0;
	}
	if (n == 0 || *p + n > len || body[*p + n - 1] != '\0')
		return -1;
	*out = body + *p;
	*p += n;
	return 0;
}

static int
decode_msg(char *body, size_t len, struct msg *m)
{
	char *lang = NULL;
	char **strings[NSTRINGS] = {
		&m->platform, &m->account, &m->id, &m->conversation,
		&m->author, &m->in_reply_to, &m->text, &m->url, &lang, &m->cues,
	};
	size_t p = 0, i;
	int8_t b[4];

	memset(m, 0, sizeof *m);
	if (len < sizeof m->created_ms + sizeof m->complaint_score + sizeof b)
		return -1;
	memcpy(&m->created_ms, body, sizeof m->created_ms);
	p += sizeof m->created_ms;
	memcpy(&m->complaint_score, body + p, sizeof m->complaint_score);
	p += sizeof m->complaint_score;
	memcpy(b, body + p, sizeof b);
	p += sizeof b;
	m->kind = b[0];
	m->direction = b[1];
	m->complaint = b[2];
	m->scored = b[3];
	for (i = 0; i < NSTRINGS; i++)
		if (take_string(body, &p, len, strings[i]) == -1)
			return -1;
	if (lang != NULL) {
		/* truncated as snprintf would, without its cost per message */
		size_t n = strnlen(lang, sizeof m->lang - 1);

		memcpy(m->lang, lang, n);
		m->lang[n] = '\0';
	}
	return p == len ? 0 : -1;
}

int
reader_next(struct reader *r, struct msg *m, char **errstr)
{
	uint32_t len;
	uint64_t counts[2];
	char *body;
	int type;

	if (r->ended)
		return 0;
	if (fill(r, 5) == -1)
		goto died;
	memcpy(&len, r->buf + r->start, sizeof len);
	type = (unsigned char)r->buf[r->start + 4];
	if (fill(r, 5 + (size_t)len) == -1)
		goto died;
	body = r->buf + r->start + 5;
	r->start += 5 + (size_t)len;
	switch (type) {
	case 'M':
		if (decode_msg(body, len, m) == 0)
			return 1;
		break;
	case 'E':
		if (len != sizeof counts)
			break;
		memcpy(counts, body, sizeof counts);
		r->lines = counts[0];
		r->rejected = counts[1];
		r->ended = 1;
		return 0;
	case 'X':
		if (len == 0 || body[len - 1] != '\0')
			break;
		xasprintf(errstr, "read error: %s", body);
		return -1;
	}
	xasprintf(errstr, "the reading process sent a bad record");
	return -1;
died:
	xasprintf(errstr, "the reading process ended early");
	return -1;
}

void
reader_counts(const struct reader *r, unsigned long *lines,
    unsigned long *rejected)
{
	if (lines != NULL)
		*lines = r->lines;
	if (rejected != NULL)
		*rejected = r->rejected;
}

void
reader_stop(struct reader *r)
{
	int status;

	if (r == NULL)
		return;
	if (!r->ended)
		kill(r->pid, SIGTERM);
	if (r->fd != -1)
		close(r->fd);
	while (waitpid(r->pid, &status, 0) == -1 && errno == EINTR)
		;
	free(r->buf);
	free(r);
}
