/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store-sqlite.h"
#include "xmalloc.h"

/*
 * Alerts, the events that tell of them, their notifications and silences
 * (store.h: "Alerts"). alert.c decides and outbox.c delivers; this keeps
 * what they need across restarts.
 *
 * The listing functions read all their rows before the first callback, so
 * that a callback may call into the store, even change what is listed
 * (the outbox marks events done while going through the pending ones).
 */

/* ---- transactions -------------------------------------------------------- */

/*
 * Outside a batch the outermost store_tx_begin is BEGIN IMMEDIATE, not a
 * SAVEPOINT: a SAVEPOINT outside a transaction begins a deferred one,
 * which takes the write lock only at its first write. If it has read
 * before and another connection (the CLI's `silence add`) holds the lock
 * or wrote since, that upgrade fails with SQLITE_BUSY at once, without
 * the busy timeout. Taking the lock at the start waits for it instead
 * (and readers still read meanwhile: WAL). Nested levels, and every level
 * inside a batch (already BEGIN IMMEDIATE), are savepoints.
 *
 * A transaction of its own cannot hold a batch: store_begin inside it
 * fails. Inside a batch, store_commit and store_rollback end what is open
 * of ours with it.
 *
 * A commit that fails rolls its level back, as store_commit does, so the
 * caller sees one outcome; the store_tx_rollback that callers write after
 * it then does nothing (it must not undo the enclosing level too).
 */

/* A batch committed or rolled back while a transaction of ours was open
 * in it: nothing of ours is left open. */
static void
tx_check(struct store *st)
{
	if (st->tx_depth > 0 && sqlite3_get_autocommit(st->db)) {
		st->tx_depth = 0;
		st->tx_own = 0;
	}
}

/* Any other call into the store: a store_tx_rollback after it is meant. */
static void
tx_touch(struct store *st)
{
	st->tx_undone = 0;
}

int
store_tx_begin(struct store *st, char **errstr)
{
	tx_touch(st);
	tx_check(st);
	if (st->tx_depth == 0 && !st->in_batch) {
		if (sq_exec(st, S_BEGIN, errstr) == -1)
			return -1;
		st->tx_own = 1;
	} else {
		if (sq_exec(st, S_SAVEPOINT, errstr) == -1)
			return -1;
		if (st->tx_depth == 0)
			st->tx_own = 0;
	}
	st->tx_depth++;
	return 0;
}

/* Undo the innermost level. */
static void
tx_undo(struct store *st)
{
	char *err = NULL;

	if (st->tx_depth == 1 && st->tx_own) {
		sq_exec(st, S_ROLLBACK, &err);
		st->tx_own = 0;
	} else {
		sq_exec(st, S_ROLLBACK_TO, &err);
		free(err);
		err = NULL;
		sq_exec(st, S_RELEASE, &err);
	}
	free(err);
	st->tx_depth--;
}

int
store_tx_commit(struct store *st, char **errstr)
{
	tx_touch(st);
	tx_check(st);
	if (st->tx_depth == 0) {
		xasprintf(errstr, "%s: no transaction is open", st->path);
		return -1;
	}
	if (sq_exec(st, st->tx_depth == 1 && st->tx_own ? S_COMMIT : S_RELEASE,
	    errstr) == -1) {
		tx_undo(st);
		st->tx_undone = 1;
		return -1;
	}
	if (--st->tx_depth == 0)
		st->tx_own = 0;
	return 0;
}

void
store_tx_rollback(struct store *st)
{
	if (st->tx_undone) {
		/* after a failed commit: that level is gone already */
		st->tx_undone = 0;
		return;
	}
	tx_check(st);
	if (st->tx_depth > 0)
		tx_undo(st);
}

void
sq_alerts_close(struct store *st)
{
	tx_check(st);
	while (st->tx_depth > 0)
		tx_undo(st);
	free(st->got.buf);
	memset(&st->got, 0, sizeof st->got);
}

/* ---- rows read whole ----------------------------------------------------- */

/* Per column of spec: 'i' an integer, 'm' a time in ms (NULL: -1), 't'
 * text (kept as an offset into strings, -1 for NULL). */
struct rows {
	const char	*spec;
	size_t		 ncols;
	int64_t		*v;
	size_t		 n, cap;
	struct sq_arena	 strings;
};

static void
rows_init(struct rows *r, const char *spec)
{
	memset(r, 0, sizeof *r);
	r->spec = spec;
	r->ncols = strlen(spec);
}

static void
rows_free(struct rows *r)
{
	free(r->v);
	free(r->strings.buf);
}

/* Steps s to its end and resets it. 0, or -1 with the error in the db. */
static int
rows_read(struct rows *r, sqlite3_stmt *s)
{
	size_t c, off;
	int64_t *row;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (r->n == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 16;
			r->v = xreallocarray(r->v, r->cap,
			    r->ncols * sizeof *r->v);
		}
		row = r->v + r->n * r->ncols;
		r->n++;
		for (c = 0; c < r->ncols; c++) {
			switch (r->spec[c]) {
			case 'm':
				row[c] = sq_column_ms(s, (int)c);
				break;
			case 't':
				off = sq_arena_add(&r->strings,
				    sq_column_text(s, (int)c));
				row[c] = off == SIZE_MAX ? -1 : (int64_t)off;
				break;
			default:
				row[c] = sqlite3_column_int64(s, (int)c);
				break;
			}
		}
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int64_t
row_int(const struct rows *r, size_t i, size_t c)
{
	return r->v[i * r->ncols + c];
}

static const char *
row_str(const struct rows *r, size_t i, size_t c)
{
	int64_t off = r->v[i * r->ncols + c];

	return off < 0 ? NULL : r->strings.buf + off;
}

/* The columns of ALERT_COLS and NOTIF_COLS (store-sqlite.c). */
#define ALERT_SPEC	"ittttttimmi"
#define NOTIF_SPEC	"itttttittttimmt"

static void
row_alert(const struct rows *r, size_t i, size_t c, struct store_alert *a)
{
	a->id = row_int(r, i, c);
	a->rule = row_str(r, i, c + 1);
	a->account = row_str(r, i, c + 2);
	a->subject = row_str(r, i, c + 3);
	a->severity = row_str(r, i, c + 4);
	a->summary = row_str(r, i, c + 5);
	a->details = row_str(r, i, c + 6);
	a->fired_ms = row_int(r, i, c + 7);
	a->resolved_ms = row_int(r, i, c + 8);
	a->notified_ms = row_int(r, i, c + 9);
	a->held = row_int(r, i, c + 10) != 0;
}

static void
row_notification(const struct rows *r, size_t i,
    struct store_notification *n)
{
	n->id = row_int(r, i, 0);
	n->key = row_str(r, i, 1);
	n->route = row_str(r, i, 2);
	n->account = row_str(r, i, 3);
	n->rule = row_str(r, i, 4);
	n->event = row_str(r, i, 5);
	n->created_ms = row_int(r, i, 6);
	n->subject = row_str(r, i, 7);
	n->text = row_str(r, i, 8);
	n->json = row_str(r, i, 9);
	n->state = row_str(r, i, 10);
	n->attempts = (int)row_int(r, i, 11);
	n->next_ms = row_int(r, i, 12);
	n->done_ms = row_int(r, i, 13);
	n->last_error = row_str(r, i, 14);
}

/* Step a write statement once; -1 with *errstr on failure. */
static int
step_write(struct store *st, sqlite3_stmt *s, char **errstr, const char *what)
{
	if (sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_reset(s);
		sq_err(st, errstr, what);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

static sqlite3_stmt *
stmt_or_err(struct store *st, enum stmt_id id, char **errstr, const char *what)
{
	sqlite3_stmt *s = sq_stmt(st, id);

	if (s == NULL)
		sq_err(st, errstr, what);
	return s;
}

/* ---- alerts -------------------------------------------------------------- */

int
store_alert_add(struct store *st, struct store_alert *a, char **errstr)
{
	sqlite3_stmt *s;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_ALERT_ADD, errstr, "cannot add an alert"))
	    == NULL)
		return -1;
	sq_bind_text(s, 1, a->rule);
	sq_bind_text(s, 2, a->account);
	sq_bind_text(s, 3, a->subject);
	sq_bind_text(s, 4, a->severity);
	sq_bind_text(s, 5, a->summary != NULL ? a->summary : "");
	sq_bind_text(s, 6, a->details);
	sqlite3_bind_int64(s, 7, a->fired_ms);
	sq_bind_ms(s, 8, a->resolved_ms);
	sq_bind_ms(s, 9, a->notified_ms);
	sqlite3_bind_int(s, 10, a->held != 0);
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(st->db) ==
		    SQLITE_CONSTRAINT_UNIQUE)
			xasprintf(errstr, "%s: cannot add an alert: %s of "
			    "account %s (subject \"%s\") is already firing",
			    st->path, a->rule, a->account, a->subject);
		else
			sq_err(st, errstr, "cannot add an alert");
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	a->id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_alert_update(struct store *st, const struct store_alert *a,
    char **errstr)
{
	sqlite3_stmt *s;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_ALERT_UPDATE, errstr,
	    "cannot update an alert")) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->id);
	sq_bind_text(s, 2, a->severity);
	sq_bind_text(s, 3, a->summary != NULL ? a->summary : "");
	sq_bind_text(s, 4, a->details);
	sq_bind_ms(s, 5, a->resolved_ms);
	sq_bind_ms(s, 6, a->notified_ms);
	sqlite3_bind_int(s, 7, a->held != 0);
	if (step_write(st, s, errstr, "cannot update an alert") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		xasprintf(errstr, "%s: cannot update alert %" PRId64
		    ": no such alert", st->path, a->id);
		return -1;
	}
	return 0;
}

int
store_each_alert(struct store *st, const struct store_alert_filter *f,
    store_alert_fn *fn, void *arg, char **errstr)
{
	static const struct store_alert_filter all = { .since_ms = -1 };
	struct store_alert a;
	struct rows r;
	sqlite3_stmt *s;
	enum stmt_id id;
	size_t i;

	tx_touch(st);
	if (f == NULL)
		f = &all;
	if (f->firing)
		id = S_ALERT_FIRING;
	else if (f->since_ms >= 0)
		id = S_ALERT_SINCE;
	else
		id = S_ALERT_LIST;
	if ((s = stmt_or_err(st, id, errstr, "cannot read alerts")) == NULL)
		return -1;
	sq_bind_ms(s, 2, f->since_ms);
	sq_bind_text(s, 3, f->account);
	sq_bind_text(s, 4, f->rule);
	sqlite3_bind_int64(s, 5, f->limit > 0 && f->limit <= INT64_MAX ?
	    (int64_t)f->limit : -1);
	rows_init(&r, ALERT_SPEC);
	if (rows_read(&r, s) == -1) {
		sq_err(st, errstr, "cannot read alerts");
		rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++) {
		row_alert(&r, i, 0, &a);
		fn(&a, arg);
	}
	rows_free(&r);
	return 0;
}

/* ---- events -------------------------------------------------------------- */

int
store_event_add(struct store *st, int64_t alert_id, const char *event,
    int64_t at_ms, int64_t *id, char **errstr)
{
	sqlite3_stmt *s;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_EVENT_ADD, errstr, "cannot add an event"))
	    == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, alert_id);
	sq_bind_text(s, 2, event);
	sqlite3_bind_int64(s, 3, at_ms);
	if (step_write(st, s, errstr, "cannot add an event") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		xasprintf(errstr, "%s: cannot add an event: no alert %" PRId64,
		    st->path, alert_id);
		return -1;
	}
	if (id != NULL)
		*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_each_pending_event(struct store *st, store_event_fn *fn, void *arg,
    char **errstr)
{
	struct store_alert_event e;
	struct store_alert a;
	struct rows r;
	sqlite3_stmt *s;
	size_t i;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_EVENT_PENDING, errstr,
	    "cannot read pending events")) == NULL)
		return -1;
	rows_init(&r, "iiti" ALERT_SPEC);
	if (rows_read(&r, s) == -1) {
		sq_err(st, errstr, "cannot read pending events");
		rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++) {
		e.id = row_int(&r, i, 0);
		e.alert_id = row_int(&r, i, 1);
		e.event = row_str(&r, i, 2);
		e.at_ms = row_int(&r, i, 3);
		row_alert(&r, i, 4, &a);
		fn(&e, &a, arg);
	}
	rows_free(&r);
	return 0;
}

int
store_event_done(struct store *st, int64_t event_id, const char *how,
    char **errstr)
{
	sqlite3_stmt *s;

	tx_touch(st);
	if (how == NULL) {
		xasprintf(errstr, "%s: event %" PRId64 " done, but not how",
		    st->path, event_id);
		return -1;
	}
	if ((s = stmt_or_err(st, S_EVENT_DONE, errstr,
	    "cannot mark an event done")) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, event_id);
	sq_bind_text(s, 2, how);
	if (step_write(st, s, errstr, "cannot mark an event done") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		xasprintf(errstr, "%s: cannot mark event %" PRId64 " done: "
		    "no such event", st->path, event_id);
		return -1;
	}
	return 0;
}

/* ---- notifications ------------------------------------------------------- */

static int
notification_insert(struct store *st, const struct store_notification *n,
    const int64_t *event_ids, size_t nevents, int64_t *id, char **errstr)
{
	sqlite3_stmt *s;
	size_t i, k;

	if ((s = stmt_or_err(st, S_NOTIF_ADD, errstr,
	    "cannot add a notification")) == NULL)
		return -1;
	sq_bind_text(s, 1, n->key);
	sq_bind_text(s, 2, n->route);
	sq_bind_text(s, 3, n->account);
	sq_bind_text(s, 4, n->rule);
	sq_bind_text(s, 5, n->event);
	sqlite3_bind_int64(s, 6, n->created_ms);
	sq_bind_text(s, 7, n->subject);
	sq_bind_text(s, 8, n->text);
	sq_bind_text(s, 9, n->json);
	sq_bind_text(s, 10, n->state != NULL ? n->state : "pending");
	sqlite3_bind_int(s, 11, n->attempts);
	sq_bind_ms(s, 12, n->next_ms);
	sq_bind_ms(s, 13, n->done_ms);
	sq_bind_text(s, 14, n->last_error);
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(st->db) ==
		    SQLITE_CONSTRAINT_UNIQUE)
			xasprintf(errstr, "%s: cannot add a notification: "
			    "key %s is taken", st->path, n->key);
		else
			sq_err(st, errstr, "cannot add a notification");
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	*id = sqlite3_last_insert_rowid(st->db);
	for (i = 0; i < nevents; i++) {
		for (k = 0; k < i; k++)
			if (event_ids[k] == event_ids[i])
				break;
		if (k < i)
			continue;	/* listed twice */
		if ((s = stmt_or_err(st, S_NOTIF_EVENT_ADD, errstr,
		    "cannot add a notification")) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, *id);
		sqlite3_bind_int64(s, 2, event_ids[i]);
		if (step_write(st, s, errstr, "cannot add a notification")
		    == -1)
			return -1;
		if (sqlite3_changes(st->db) == 0) {
			xasprintf(errstr, "%s: cannot add a notification: no "
			    "event %" PRId64, st->path, event_ids[i]);
			return -1;
		}
	}
	return 0;
}

int
store_notification_add(struct store *st, struct store_notification *n,
    const int64_t *event_ids, size_t nevents, char **errstr)
{
	int64_t id;

	if (store_tx_begin(st, errstr) == -1)
		return -1;
	if (notification_insert(st, n, event_ids, nevents, &id, errstr) == -1) {
		store_tx_rollback(st);
		return -1;
	}
	if (store_tx_commit(st, errstr) == -1)
		return -1;
	n->id = id;
	return 0;
}

int
store_notification_update(struct store *st,
    const struct store_notification *n, char **errstr)
{
	sqlite3_stmt *s;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_NOTIF_UPDATE, errstr,
	    "cannot update a notification")) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, n->id);
	sq_bind_text(s, 2, n->state);
	sqlite3_bind_int(s, 3, n->attempts);
	sq_bind_ms(s, 4, n->next_ms);
	sq_bind_ms(s, 5, n->done_ms);
	sq_bind_text(s, 6, n->last_error);
	if (step_write(st, s, errstr, "cannot update a notification") == -1)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		xasprintf(errstr, "%s: cannot update notification %" PRId64
		    ": no such notification", st->path, n->id);
		return -1;
	}
	return 0;
}

int
store_notification_get(struct store *st, int64_t id,
    struct store_notification *out, char **errstr)
{
	size_t off[15];
	sqlite3_stmt *s;
	int c, rc;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_NOTIF_GET, errstr,
	    "cannot read a notification")) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		sq_err(st, errstr, "cannot read a notification");
		return -1;
	}
	/* copied: the statement must not stay open (it would hold a read
	 * snapshot of the database) */
	st->got.len = 0;
	for (c = 0; c < 15; c++)
		off[c] = NOTIF_SPEC[c] == 't' ?
		    sq_arena_add(&st->got, sq_column_text(s, c)) : SIZE_MAX;
	memset(out, 0, sizeof *out);
	out->id = sqlite3_column_int64(s, 0);
	out->created_ms = sqlite3_column_int64(s, 6);
	out->attempts = sqlite3_column_int(s, 11);
	out->next_ms = sq_column_ms(s, 12);
	out->done_ms = sq_column_ms(s, 13);
	sqlite3_reset(s);
	out->key = sq_arena_str(&st->got, off[1]);
	out->route = sq_arena_str(&st->got, off[2]);
	out->account = sq_arena_str(&st->got, off[3]);
	out->rule = sq_arena_str(&st->got, off[4]);
	out->event = sq_arena_str(&st->got, off[5]);
	out->subject = sq_arena_str(&st->got, off[7]);
	out->text = sq_arena_str(&st->got, off[8]);
	out->json = sq_arena_str(&st->got, off[9]);
	out->state = sq_arena_str(&st->got, off[10]);
	out->last_error = sq_arena_str(&st->got, off[14]);
	return 0;
}

static int
each_notification(struct store *st, sqlite3_stmt *s,
    store_notification_fn *fn, void *arg, char **errstr)
{
	struct store_notification n;
	struct rows r;
	size_t i;

	rows_init(&r, NOTIF_SPEC);
	if (rows_read(&r, s) == -1) {
		sq_err(st, errstr, "cannot read notifications");
		rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++) {
		row_notification(&r, i, &n);
		fn(&n, arg);
	}
	rows_free(&r);
	return 0;
}

int
store_each_pending_notification(struct store *st, store_notification_fn *fn,
    void *arg, char **errstr)
{
	sqlite3_stmt *s;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_NOTIF_PENDING, errstr,
	    "cannot read notifications")) == NULL)
		return -1;
	return each_notification(st, s, fn, arg, errstr);
}

int
store_each_alert_notification(struct store *st, int64_t alert_id,
    store_notification_fn *fn, void *arg, char **errstr)
{
	sqlite3_stmt *s;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_NOTIF_OF_ALERT, errstr,
	    "cannot read notifications")) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, alert_id);
	return each_notification(st, s, fn, arg, errstr);
}

/* ---- silences ------------------------------------------------------------ */

int
store_silence_add(struct store *st, struct store_silence *si, char **errstr)
{
	sqlite3_stmt *s;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_SILENCE_ADD, errstr,
	    "cannot add a silence")) == NULL)
		return -1;
	sq_bind_text(s, 1, si->account);
	sq_bind_text(s, 2, si->rule);
	sqlite3_bind_int64(s, 3, si->created_ms);
	sqlite3_bind_int64(s, 4, si->until_ms);
	sq_bind_text(s, 5, si->reason);
	sq_bind_text(s, 6, si->created_by);
	if (step_write(st, s, errstr, "cannot add a silence") == -1)
		return -1;
	si->id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
store_silence_remove(struct store *st, int64_t id, char **errstr)
{
	sqlite3_stmt *s;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_SILENCE_REMOVE, errstr,
	    "cannot remove a silence")) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (step_write(st, s, errstr, "cannot remove a silence") == -1)
		return -1;
	return sqlite3_changes(st->db) > 0 ? 0 : 1;
}

int
store_each_silence(struct store *st, int64_t at_ms, store_silence_fn *fn,
    void *arg, char **errstr)
{
	struct store_silence si;
	struct rows r;
	sqlite3_stmt *s;
	size_t i;

	tx_touch(st);
	if ((s = stmt_or_err(st, S_SILENCE_LIST, errstr,
	    "cannot read silences")) == NULL)
		return -1;
	sq_bind_ms(s, 1, at_ms);
	rows_init(&r, "ittiitt");
	if (rows_read(&r, s) == -1) {
		sq_err(st, errstr, "cannot read silences");
		rows_free(&r);
		return -1;
	}
	for (i = 0; i < r.n; i++) {
		si.id = row_int(&r, i, 0);
		si.account = row_str(&r, i, 1);
		si.rule = row_str(&r, i, 2);
		si.created_ms = row_int(&r, i, 3);
		si.until_ms = row_int(&r, i, 4);
		si.reason = row_str(&r, i, 5);
		si.created_by = row_str(&r, i, 6);
		fn(&si, arg);
	}
	rows_free(&r);
	return 0;
}
