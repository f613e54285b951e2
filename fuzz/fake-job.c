/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistr.h>

#include "fake-job.h"
#include "xmalloc.h"

#define MIN_TIME_MS	946684800000LL	/* as poller.c */
#define FUTURE_SLACK_MS	(24LL * 3600 * 1000)
#define DAY_MS		(24LL * 3600 * 1000)

static void __attribute__((noreturn))
contract(const struct poll_job *j, const char *what)
{
	fprintf(stderr, "fuzz: connector %s broke the contract: %s\n",
	    j->def != NULL ? j->def->name : "?", what);
	abort();
}

void
fake_job_init(struct poll_job *j, const struct connector_def *def,
    const char *account, int stream, const char *cursor, int64_t now)
{
	memset(j, 0, sizeof *j);
	j->def = def;
	j->account = account;
	j->stream = stream;
	j->cursor = cursor;
	j->now = now;
	j->since = now - DAY_MS;
	j->status = (enum poll_status)-1;
}

void
fake_job_clear(struct poll_job *j)
{
	poll_job_discard(j);
	free(j->msgs);
	free(j->error);
	j->msgs = NULL;
	j->error = NULL;
	j->cap = 0;
}

int
poll_job_stream(const struct poll_job *j)
{
	if (j->ndone)
		contract(j, "poll_job_stream after the end");
	return j->stream;
}

const char *
poll_job_cursor(const struct poll_job *j)
{
	if (j->ndone)
		contract(j, "poll_job_cursor after the end");
	return j->cursor;
}

int64_t
poll_job_backfill_since(const struct poll_job *j)
{
	return j->cursor == NULL ? j->since : -1;
}

int64_t
poll_job_now(const struct poll_job *j)
{
	return j->now;
}

void
poll_job_set_data(struct poll_job *j, void *data)
{
	if (j->ndone)
		contract(j, "poll_job_set_data after the end");
	j->data = data;
}

void *
poll_job_data(const struct poll_job *j)
{
	return j->data;
}

/* poller.c's check_string */
static int
check_string(const char *name, const char *v, size_t max, int required,
    char **errstr)
{
	size_t len;

	if (v == NULL) {
		if (required)
			xasprintf(errstr, "message: %s is missing", name);
		return required ? -1 : 0;
	}
	len = strlen(v);
	if (required && len == 0) {
		xasprintf(errstr, "message: %s is empty", name);
		return -1;
	}
	if (len > max) {
		xasprintf(errstr, "message: %s is too long", name);
		return -1;
	}
	if (u8_check((const uint8_t *)v, len) != NULL) {
		xasprintf(errstr, "message: %s is not valid UTF-8", name);
		return -1;
	}
	return 0;
}

int
poll_job_add(struct poll_job *j, struct msg *m, char **errstr)
{
	if (j->ndone)
		contract(j, "poll_job_add after the end");
	/* as poller.c: the job sets platform and account */
	if (j->def->platform != NULL) {
		free(m->platform);
		m->platform = xstrdup(j->def->platform);
	}
	if (m->account == NULL || strcmp(m->account, j->account) != 0) {
		free(m->account);
		m->account = xstrdup(j->account);
	}
	if (check_string("platform", m->platform, MSG_MAX_NAME, 1, errstr) ||
	    check_string("id", m->id, MSG_MAX_ID, 1, errstr) ||
	    check_string("conversation", m->conversation, MSG_MAX_ID, 1,
	    errstr) ||
	    check_string("author", m->author, MSG_MAX_ID, 0, errstr) ||
	    check_string("in_reply_to", m->in_reply_to, MSG_MAX_ID, 0,
	    errstr) ||
	    check_string("text", m->text, MSG_MAX_TEXT, 0, errstr) ||
	    check_string("url", m->url, MSG_MAX_URL, 0, errstr) ||
	    ((m->created_ms < MIN_TIME_MS ||
	    m->created_ms > j->now + FUTURE_SLACK_MS) &&
	    xasprintf(errstr, "message: created_at is not plausible"))) {
		j->spoiled = 1;
		if (j->error == NULL)
			j->error = xstrdup(*errstr);
		msg_clear(m);
		return -1;
	}
	if ((unsigned)m->kind > MSG_BROADCAST ||
	    (unsigned)m->direction > MSG_OUTBOUND)
		contract(j, "kind or direction out of range");
	if (j->n == j->cap) {
		j->cap = j->cap ? j->cap * 2 : 16;
		j->msgs = xreallocarray(j->msgs, j->cap, sizeof *j->msgs);
	}
	j->msgs[j->n++] = *m;
	memset(m, 0, sizeof *m);
	return 0;
}

static int
commit(struct poll_job *j, const char *cursor, char **errstr)
{
	size_t i;
	char *json;

	if (j->spoiled) {
		xasprintf(errstr, "%s", j->error);
		return -1;
	}
	if (cursor != NULL && strlen(cursor) > 1 << 20)
		contract(j, "a cursor over 1 MiB");
	/* as the store would: every message as JSON */
	for (i = 0; i < j->n; i++) {
		json = msg_to_json(&j->msgs[i]);
		free(json);
		msg_clear(&j->msgs[i]);
	}
	j->ncommitted += j->n;
	j->n = 0;
	j->ncommits++;
	return 0;
}

int
poll_job_commit(struct poll_job *j, const char *cursor, char **errstr)
{
	if (j->ndone)
		contract(j, "poll_job_commit after the end");
	return commit(j, cursor, errstr);
}

void
poll_job_discard(struct poll_job *j)
{
	size_t i;

	for (i = 0; i < j->n; i++)
		msg_clear(&j->msgs[i]);
	j->n = 0;
}

char *
poll_job_conversation_of(struct poll_job *j, const char *msg_id)
{
	size_t i;

	if (j->ndone)
		contract(j, "poll_job_conversation_of after the end");
	if (msg_id == NULL)
		contract(j, "poll_job_conversation_of(NULL)");
	for (i = j->n; i-- > 0;)
		if (strcmp(j->msgs[i].id, msg_id) == 0)
			return xstrdup(j->msgs[i].conversation);
	if (j->known_roots)
		return xstrdup(msg_id);	/* stored before: its own root */
	return NULL;
}

void
poll_job_done(struct poll_job *j, const struct poll_result *res)
{
	char *err = NULL;

	if (j->ndone++)
		contract(j, "poll_job_done twice");
	if ((unsigned)res->status > POLL_CANCELLED)
		contract(j, "status out of range");
	if (res->error != NULL)
		(void)strlen(res->error);
	j->status = res->status;
	if (res->status == POLL_OK && commit(j, res->cursor, &err) == -1)
		j->status = POLL_BAD_DATA;
	free(err);
	poll_job_discard(j);
}
