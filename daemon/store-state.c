/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store-sqlite.h"
#include "xmalloc.h"

/*
 * The daemon's side of the store: the state of each polled stream, the
 * conversation of a stored message (for connectors that learn a reply's
 * thread from its parent), and the observer of a batch's waits.
 */

/* ---- streams ------------------------------------------------------------ */

static void
bind_stream(sqlite3_stmt *s, int64_t account, const struct store_stream *ss)
{
	sqlite3_bind_int64(s, 1, account);
	sq_bind_text(s, 2, ss->stream);
	sq_bind_text(s, 3, ss->connector);
	sq_bind_text(s, 4, ss->cursor);
	sq_bind_ms(s, 5, ss->last_poll_ms);
	sq_bind_ms(s, 6, ss->last_ok_ms);
	sq_bind_ms(s, 7, ss->last_error_ms);
	sq_bind_text(s, 8, ss->last_error);
	sqlite3_bind_int64(s, 9, ss->failures);
	sqlite3_bind_int64(s, 10, ss->fetched);
	sq_bind_ms(s, 11, ss->rl_limit);
	sq_bind_ms(s, 12, ss->rl_remaining);
	sq_bind_ms(s, 13, ss->rl_reset_ms);
	sq_bind_ms(s, 14, ss->next_poll_ms);
	sq_bind_ms(s, 15, ss->backoff_until_ms);
}

int
store_stream_save(struct store *st, const struct store_stream *ss,
    char **errstr)
{
	int own = !st->in_batch;
	int64_t account;
	sqlite3_stmt *s;

	if (own && sq_exec(st, S_BEGIN, errstr) == -1)
		return -1;
	if ((account = sq_account_id(st, ss->platform, ss->account,
	    errstr)) == -1)
		goto fail;
	if ((s = sq_stmt(st, S_STREAM_SAVE)) == NULL)
		goto sqlfail;
	bind_stream(s, account, ss);
	if (sqlite3_step(s) != SQLITE_DONE) {
		sqlite3_reset(s);
		goto sqlfail;
	}
	sqlite3_reset(s);
	if (own && sq_exec(st, S_COMMIT, errstr) == -1)
		goto fail;
	return 0;
sqlfail:
	sq_err(st, errstr, "cannot save the state of a stream");
fail:
	if (own) {
		char *err = NULL;

		sq_exec(st, S_ROLLBACK, &err);
		free(err);
		/* an account added meanwhile is gone again */
		sq_forget_accounts(st);
		err = NULL;
		sq_load_accounts(st, &err);
		free(err);
	}
	return -1;
}

int
store_each_stream(struct store *st, const char *account, store_stream_fn *fn,
    void *arg, char **errstr)
{
	struct store_stream ss;
	sqlite3_stmt *s;
	int rc;

	if ((s = sq_stmt(st, S_STREAM_ALL)) == NULL) {
		sq_err(st, errstr, "cannot read streams");
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		ss.platform = sq_column_text(s, 0);
		ss.account = sq_column_text(s, 1);
		if (account != NULL && strcmp(account, ss.account) != 0)
			continue;
		ss.stream = sq_column_text(s, 2);
		ss.connector = sq_column_text(s, 3);
		ss.cursor = sq_column_text(s, 4);
		ss.last_poll_ms = sq_column_ms(s, 5);
		ss.last_ok_ms = sq_column_ms(s, 6);
		ss.last_error_ms = sq_column_ms(s, 7);
		ss.last_error = sq_column_text(s, 8);
		ss.failures = sqlite3_column_int64(s, 9);
		ss.fetched = sqlite3_column_int64(s, 10);
		ss.rl_limit = sq_column_ms(s, 11);
		ss.rl_remaining = sq_column_ms(s, 12);
		ss.rl_reset_ms = sq_column_ms(s, 13);
		ss.next_poll_ms = sq_column_ms(s, 14);
		ss.backoff_until_ms = sq_column_ms(s, 15);
		fn(&ss, arg);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		sq_err(st, errstr, "cannot read streams");
		return -1;
	}
	return 0;
}

/* ---- lookups ------------------------------------------------------------ */

char *
store_conversation_of(struct store *st, const char *platform,
    const char *account, const char *msg_id, char **errstr)
{
	const struct account *a;
	sqlite3_stmt *s;
	char *conv = NULL;
	int rc;

	if ((a = sq_account_by_name(st, platform, account)) == NULL)
		return NULL;
	if ((s = sq_stmt(st, S_CONV_OF_MSG)) == NULL) {
		sq_err(st, errstr, "cannot look up a message");
		return NULL;
	}
	sqlite3_bind_int64(s, 1, a->id);
	sqlite3_bind_text(s, 2, msg_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		conv = xstrdup(sq_column_text(s, 0));
	else if (rc != SQLITE_DONE)
		sq_err(st, errstr, "cannot look up a message");
	sqlite3_reset(s);
	return conv;
}

/* ---- the observer --------------------------------------------------------- */

void
store_set_observer(struct store *st, store_waits_fn *fn, void *arg)
{
	st->observer = fn;
	st->observer_arg = arg;
}

struct observed {
	struct store_wait_info *w;
	size_t		 n, cap;
	struct sq_arena	 strings;
	size_t		*offs;		/* 3 per wait: author, open, close */
};

static void
observed_add(struct observed *o, sqlite3_stmt *s, int64_t first_new)
{
	struct store_wait_info *w;
	size_t *off;

	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 8;
		o->w = xreallocarray(o->w, o->cap, sizeof *o->w);
		o->offs = xreallocarray(o->offs, o->cap, 3 * sizeof *o->offs);
	}
	w = &o->w[o->n];
	off = &o->offs[3 * o->n];
	o->n++;
	memset(w, 0, sizeof *w);
	w->opened_ms = sqlite3_column_int64(s, 1);
	w->closed_ms = sq_column_ms(s, 2);
	w->complaint_ms = sq_column_ms(s, 3);
	w->inbound = sqlite3_column_int(s, 4);
	w->opened_now = sqlite3_column_int64(s, 6) > first_new;
	w->closed_now = sqlite3_column_type(s, 9) != SQLITE_NULL &&
	    sqlite3_column_int64(s, 9) > first_new;
	/* a direct wait has no author of its own: the opener's */
	off[0] = sq_arena_add(&o->strings, sqlite3_column_type(s, 0) !=
	    SQLITE_NULL ? sq_column_text(s, 0) : sq_column_text(s, 7));
	off[1] = sq_arena_add(&o->strings, sq_column_text(s, 5));
	off[2] = sq_arena_add(&o->strings, sq_column_text(s, 8));
}

static int
observe_conversation(struct store *st, int64_t conv, struct observed *o)
{
	struct store_conv_waits cw;
	const struct account *a;
	sqlite3_stmt *s;
	char *name;
	size_t i;
	int rc, kind;

	o->n = 0;
	o->strings.len = 0;
	if ((s = sq_stmt(st, S_CONV_INFO)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, conv);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return -1;
	}
	a = sq_account_by_id(st, sqlite3_column_int64(s, 0));
	kind = sqlite3_column_int(s, 1);
	name = xstrdup(sq_column_text(s, 2));
	sqlite3_reset(s);
	if (a == NULL || (s = sq_stmt(st, S_CONV_WAITS)) == NULL) {
		free(name);
		return -1;
	}
	sqlite3_bind_int64(s, 1, conv);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		observed_add(o, s, st->batch_first_msg);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		free(name);
		return -1;
	}
	for (i = 0; i < o->n; i++) {
		o->w[i].author = sq_arena_str(&o->strings, o->offs[3 * i]);
		o->w[i].open_id = sq_arena_str(&o->strings, o->offs[3 * i + 1]);
		o->w[i].close_id = sq_arena_str(&o->strings,
		    o->offs[3 * i + 2]);
	}
	cw.platform = a->platform;
	cw.account = a->name;
	cw.kind = kind;
	cw.conversation = name;
	cw.waits = o->w;
	cw.n = o->n;
	st->observer(&cw, st->observer_arg);
	free(name);
	return 0;
}

int
sq_observe(struct store *st)
{
	const struct touched *t;
	struct observed o;
	size_t i, n;
	int rc = 0;

	memset(&o, 0, sizeof o);
	t = ingest_touched(st, &n);
	for (i = 0; i < n && rc == 0; i++) {
		/* listed by both passes of the commit: once is enough
		 * (the observer replaces what it knew, so twice is harmless) */
		if (i > 0 && t[i].conv_id == t[i - 1].conv_id)
			continue;
		rc = observe_conversation(st, t[i].conv_id, &o);
	}
	free(o.w);
	free(o.offs);
	free(o.strings.buf);
	return rc;
}
