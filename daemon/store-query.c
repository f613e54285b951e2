/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-sqlite.h"
#include "xmalloc.h"

/*
 * Reading the store: the waits, conversations, open waits and messages
 * behind `stats`, `pending`, `messages` and `explain`.
 */

/* ---- reading ------------------------------------------------------------ */

/*
 * The read queries bind the same named parameters:
 *   :since :until :at   the window and the evaluation time
 *   :account            an account name, or NULL for all
 *   :kind               an enum msg_kind, or NULL for all
 */
static sqlite3_stmt *
prepare_filtered(struct store *st, const char *sql,
    const struct store_filter *f, char **errstr)
{
	sqlite3_stmt *s;
	int i;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
		sq_err(st, errstr, "cannot prepare query");
		return NULL;
	}
	if ((i = sqlite3_bind_parameter_index(s, ":since")) > 0)
		sqlite3_bind_int64(s, i, f->since_ms);
	if ((i = sqlite3_bind_parameter_index(s, ":until")) > 0)
		sqlite3_bind_int64(s, i, f->until_ms);
	if ((i = sqlite3_bind_parameter_index(s, ":at")) > 0)
		sqlite3_bind_int64(s, i, f->at_ms);
	if ((i = sqlite3_bind_parameter_index(s, ":account")) > 0)
		sq_bind_text(s, i, f->account);
	if ((i = sqlite3_bind_parameter_index(s, ":kind")) > 0) {
		if (f->kind < 0)
			sqlite3_bind_null(s, i);
		else
			sqlite3_bind_int(s, i, f->kind);
	}
	if ((i = sqlite3_bind_parameter_index(s, ":complaints")) > 0)
		sqlite3_bind_int(s, i, f->complaints);
	if ((i = sqlite3_bind_parameter_index(s, ":limit")) > 0)
		sqlite3_bind_int64(s, i, f->limit ? (int64_t)f->limit : -1);
	return s;
}

static int
finish_query(struct store *st, sqlite3_stmt *s, int rc, char **errstr)
{
	if (rc != SQLITE_DONE) {
		sq_err(st, errstr, "query failed");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

/* The SQL of a query with only the filters in use: a condition that is
 * always true still costs its evaluation on every row. Caller frees. */
static char *
with_filters(const char *base, const struct store_filter *f)
{
	char *sql;

	xasprintf(&sql, "%s%s%s", base,
	    f->kind >= 0 ? " AND kind = :kind" : "",
	    f->account != NULL ? " AND account_id IN"
	    " (SELECT id FROM accounts WHERE name = :account)" : "");
	return sql;
}

/* A window query with only the filters in use, prepared and bound. */
static sqlite3_stmt *
prepare_window(struct store *st, const char *base,
    const struct store_filter *f, char **errstr)
{
	char *sql = with_filters(base, f);
	sqlite3_stmt *s = prepare_filtered(st, sql, f, errstr);

	free(sql);
	return s;
}

static const char wait_query[] =
    "SELECT account_id, kind, opened_ms, closed_ms, complaint_ms"
    " FROM waits"
    " WHERE opened_ms >= :since AND opened_ms < :until AND opened_ms <= :at";

int
store_each_wait(struct store *st, const struct store_filter *f,
    store_wait_fn *fn, void *arg, char **errstr)
{
	sqlite3_stmt *s = prepare_window(st, wait_query, f, errstr);
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const struct account *a = sq_account_by_id(st,
		    sqlite3_column_int64(s, 0));
		struct stats_wait w;

		if (a == NULL)
			continue;
		w.platform = a->platform;
		w.account = a->name;
		w.kind = sqlite3_column_int(s, 1);
		w.opened_ms = sqlite3_column_int64(s, 2);
		w.closed_ms = sq_column_ms(s, 3);
		w.complaint_ms = sq_column_ms(s, 4);
		fn(&w, arg);
	}
	return finish_query(st, s, rc, errstr);
}

char *
store_explain_wait_query(struct store *st, const struct store_filter *f)
{
	char *sql, *out = xstrdup(""), *tmp, *err = NULL;
	sqlite3_stmt *s;

	tmp = with_filters(wait_query, f);
	xasprintf(&sql, "EXPLAIN QUERY PLAN %s", tmp);
	free(tmp);
	s = prepare_filtered(st, sql, f, &err);
	free(sql);
	if (s == NULL) {
		free(out);
		return err;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		xasprintf(&tmp, "%s%s\n", out, sq_column_text(s, 3));
		free(out);
		out = tmp;
	}
	sqlite3_finalize(s);
	return out;
}

int
store_each_conversation(struct store *st, const struct store_filter *f,
    store_conversation_fn *fn, void *arg, char **errstr)
{
	static const char base[] =
	    "SELECT account_id, kind, first_ms, first_response_ms,"
	    " first_complaint_ms FROM conversations"
	    " WHERE first_inbound = 1"
	    " AND first_ms >= :since AND first_ms < :until AND first_ms <= :at";
	sqlite3_stmt *s = prepare_window(st, base, f, errstr);
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const struct account *a = sq_account_by_id(st,
		    sqlite3_column_int64(s, 0));
		struct stats_conversation c;

		if (a == NULL)
			continue;
		c.platform = a->platform;
		c.account = a->name;
		c.kind = sqlite3_column_int(s, 1);
		c.first_ms = sqlite3_column_int64(s, 2);
		c.first_response_ms = sq_column_ms(s, 3);
		c.first_complaint_ms = sq_column_ms(s, 4);
		fn(&c, arg);
	}
	return finish_query(st, s, rc, errstr);
}

int
store_each_pending(struct store *st, const struct store_filter *f,
    store_pending_fn *fn, void *arg, char **errstr)
{
	static const char sql[] =
	    "SELECT w.account_id, w.kind, c.conv, coalesce(w.author, m.author),"
	    " w.opened_ms,"
	    " w.complaint_ms, w.inbound, m.msg_id, m.url, m.text,"
	    " (SELECT max(i.created_ms) FROM messages i"
	    "  WHERE i.conv_id = w.conv_id AND i.direction = 0"
	    "  AND i.created_ms <= :at)"
	    " FROM waits w"
	    " JOIN conversations c ON c.id = w.conv_id"
	    " JOIN messages m ON m.id = w.open_msg"
	    " WHERE w.opened_ms <= :at"
	    " AND (w.closed_ms IS NULL OR w.closed_ms > :at)"
	    " AND (:kind IS NULL OR w.kind = :kind)"
	    " AND (:account IS NULL OR w.account_id IN"
	    "      (SELECT id FROM accounts WHERE name = :account))"
	    " ORDER BY w.opened_ms, w.id";
	sqlite3_stmt *s = prepare_filtered(st, sql, f, errstr);
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const struct account *a = sq_account_by_id(st,
		    sqlite3_column_int64(s, 0));
		struct store_pending p;
		int64_t cms;

		if (a == NULL)
			continue;
		p.platform = a->platform;
		p.account = a->name;
		p.kind = sqlite3_column_int(s, 1);
		p.conversation = sq_column_text(s, 2);
		p.author = sq_column_text(s, 3);
		p.opened_ms = sqlite3_column_int64(s, 4);
		cms = sq_column_ms(s, 5);
		p.complaint_ms = cms >= 0 && cms <= f->at_ms ? cms : -1;
		p.inbound = sqlite3_column_int(s, 6);
		p.first_id = sq_column_text(s, 7);
		p.url = sq_column_text(s, 8);
		p.text = sq_column_text(s, 9);
		p.last_inbound_ms = sq_column_ms(s, 10);
		fn(&p, arg);
	}
	return finish_query(st, s, rc, errstr);
}

#define MESSAGE_COLUMNS \
	"SELECT m.account_id, m.msg_id, c.conv, c.kind, m.direction," \
	" m.created_ms, m.author, m.in_reply_to, m.text, m.url, m.complaint," \
	" m.complaint_score, m.lang, m.cues" \
	" FROM messages m JOIN conversations c ON c.id = m.conv_id"

/* Fill a borrowed struct msg from a MESSAGE_COLUMNS row. */
static int
row_to_msg(struct store *st, sqlite3_stmt *s, struct msg *m)
{
	const struct account *a = sq_account_by_id(st, sqlite3_column_int64(s, 0));

	if (a == NULL)
		return -1;
	memset(m, 0, sizeof *m);
	m->platform = a->platform;
	m->account = a->name;
	m->id = (char *)sq_column_text(s, 1);
	m->conversation = (char *)sq_column_text(s, 2);
	m->kind = sqlite3_column_int(s, 3);
	m->direction = sqlite3_column_int(s, 4);
	m->created_ms = sqlite3_column_int64(s, 5);
	m->author = (char *)sq_column_text(s, 6);
	m->in_reply_to = (char *)sq_column_text(s, 7);
	m->text = (char *)sq_column_text(s, 8);
	m->url = (char *)sq_column_text(s, 9);
	m->complaint = sqlite3_column_type(s, 10) == SQLITE_NULL ?
	    MSG_COMPLAINT_UNKNOWN : sqlite3_column_int(s, 10);
	if (sqlite3_column_type(s, 11) != SQLITE_NULL) {
		m->scored = 1;
		m->complaint_score = sqlite3_column_double(s, 11);
		if (sq_column_text(s, 12) != NULL)
			snprintf(m->lang, sizeof m->lang, "%s",
			    sq_column_text(s, 12));
		m->cues = (char *)sq_column_text(s, 13);
	}
	return 0;
}

static int
each_message_row(struct store *st, sqlite3_stmt *s, store_msg_fn *fn,
    void *arg, char **errstr)
{
	struct msg m;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (row_to_msg(st, s, &m) == 0)
			fn(&m, arg);
	return finish_query(st, s, rc, errstr);
}

int
store_each_message(struct store *st, const struct store_filter *f,
    store_msg_fn *fn, void *arg, char **errstr)
{
	/* the rows of the window's hours lie between these row ids */
	static const char sql[] = MESSAGE_COLUMNS
	    " WHERE m.id BETWEEN"
	    "   (SELECT ifnull(min(first_id), 0) FROM message_hours"
	    "    WHERE hour BETWEEN :since / 3600000 AND :until / 3600000)"
	    " AND"
	    "   (SELECT ifnull(max(last_id), -1) FROM message_hours"
	    "    WHERE hour BETWEEN :since / 3600000 AND :until / 3600000)"
	    " AND m.created_ms >= :since AND m.created_ms < :until"
	    " AND m.created_ms <= :at"
	    " AND (:kind IS NULL OR c.kind = :kind)"
	    " AND (:complaints = 0 OR m.complaint = 1)"
	    " AND (:account IS NULL OR m.account_id IN"
	    "      (SELECT id FROM accounts WHERE name = :account))"
	    " ORDER BY m.created_ms, m.direction, m.msg_id LIMIT :limit";
	sqlite3_stmt *s = prepare_filtered(st, sql, f, errstr);

	if (s == NULL)
		return -1;
	return each_message_row(st, s, fn, arg, errstr);
}

int
store_find_message(struct store *st, const char *id, const char *account,
    store_msg_fn *fn, void *arg, char **errstr)
{
	static const char sql[] = MESSAGE_COLUMNS
	    " WHERE m.msg_id = :id"
	    " AND (:account IS NULL OR m.account_id IN"
	    "      (SELECT id FROM accounts WHERE name = :account))"
	    " ORDER BY m.account_id";
	struct store_filter f = { .account = account, .kind = -1 };
	sqlite3_stmt *s = prepare_filtered(st, sql, &f, errstr);

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, sqlite3_bind_parameter_index(s, ":id"), id, -1,
	    SQLITE_STATIC);
	return each_message_row(st, s, fn, arg, errstr);
}

static void
conversation_append(const struct msg *m, void *arg)
{
	struct store_conversation *c = arg;
	struct msg *d;

	c->msgs = xreallocarray(c->msgs, c->n + 1, sizeof *c->msgs);
	c->foreign = xreallocarray(c->foreign, c->n + 1, sizeof *c->foreign);
	d = &c->msgs[c->n];
	memset(d, 0, sizeof *d);
	d->platform = xstrdup(m->platform);
	d->account = xstrdup(m->account);
	d->id = xstrdup(m->id);
	d->conversation = xstrdup(m->conversation);
	d->kind = m->kind;
	d->direction = m->direction;
	d->created_ms = m->created_ms;
	d->author = xstrdup_or_null(m->author);
	d->in_reply_to = xstrdup_or_null(m->in_reply_to);
	d->text = xstrdup_or_null(m->text);
	d->url = xstrdup_or_null(m->url);
	d->complaint = m->complaint;
	d->scored = m->scored;
	d->complaint_score = m->complaint_score;
	memcpy(d->lang, m->lang, sizeof d->lang);
	d->cues = xstrdup_or_null(m->cues);
	c->foreign[c->n] = 0;
	c->n++;
}

int
store_load_conversation(struct store *st, const char *platform,
    const char *account, enum msg_kind kind, const char *conversation,
    struct store_conversation *out, char **errstr)
{
	static const char own[] = MESSAGE_COLUMNS
	    " WHERE m.conv_id = :conv";
	static const char foreign[] = MESSAGE_COLUMNS
	    " WHERE m.id IN (SELECT reply FROM cross_replies"
	    "   WHERE conv_id = :conv) AND m.conv_id <> :conv";
	const struct account *a = sq_account_by_name(st, platform, account);
	struct store_filter f = { .kind = -1 };
	sqlite3_stmt *s;
	size_t own_n;
	int64_t conv;
	int rc;

	memset(out, 0, sizeof *out);
	if (a == NULL)
		return 0;
	if ((s = sq_stmt(st, S_CONV_GET)) == NULL) {
		sq_err(st, errstr, "cannot find conversation");
		return -1;
	}
	sqlite3_bind_int64(s, 1, a->id);
	sqlite3_bind_int(s, 2, kind);
	sqlite3_bind_text(s, 3, conversation, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	conv = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	if (conv == -1)
		return rc == SQLITE_DONE ? 0 : -1;

	if ((s = prepare_filtered(st, own, &f, errstr)) == NULL)
		return -1;
	sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":conv"), conv);
	if (each_message_row(st, s, conversation_append, out, errstr) == -1)
		return -1;
	if (kind != MSG_BROADCAST)
		return 0;
	own_n = out->n;
	if ((s = prepare_filtered(st, foreign, &f, errstr)) == NULL)
		return -1;
	sqlite3_bind_int64(s, sqlite3_bind_parameter_index(s, ":conv"), conv);
	if (each_message_row(st, s, conversation_append, out, errstr) == -1)
		return -1;
	for (; own_n < out->n; own_n++)
		out->foreign[own_n] = 1;
	return 0;
}

void
store_conversation_clear(struct store_conversation *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		msg_clear(&c->msgs[i]);
	free(c->msgs);
	free(c->foreign);
	memset(c, 0, sizeof *c);
}
