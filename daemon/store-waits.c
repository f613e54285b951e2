/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "store-sqlite.h"
#include "xmalloc.h"

/* Messages that a recomputation feeds to the engine at a time. */
#define RECOMPUTE_SLICE	8192

/*
 * Bringing the waits of a conversation up to date, one of two ways with
 * the same result. When a batch only appends to it (every new message
 * comes after the last one that acted in it, and no stored reply elsewhere
 * awaits a new one), the engine resumes from its open waits and takes the
 * new messages alone. Otherwise it is recomputed from all of its messages
 * and the replies from other threads that act in it.
 */

/* What the conversations table remembers of one conversation. */
struct conv_state {
	int64_t	 first_ms;		/* -1: no message yet */
	int	 first_inbound;
	int64_t	 first_msg;
	int64_t	 first_response_ms;
	int64_t	 first_complaint_ms;
	int64_t	 last_ms;		/* -1: no message yet */
	int	 last_dir;
	char	*last_id;
};

/* ---- the state of a conversation ---------------------------------------------- */

static void
conv_state_empty(struct conv_state *cs)
{
	memset(cs, 0, sizeof *cs);
	cs->first_ms = cs->first_msg = cs->first_response_ms = -1;
	cs->first_complaint_ms = cs->last_ms = -1;
}

static int
conv_state_load(struct store *st, int64_t conv, struct conv_state *cs)
{
	sqlite3_stmt *s = sq_stmt(st, S_CONV_STATE);
	int rc;

	memset(cs, 0, sizeof *cs);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, conv);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		cs->first_ms = sq_column_ms(s, 0);
		cs->first_inbound = sqlite3_column_int(s, 1);
		cs->first_msg = sq_column_ms(s, 2);
		cs->first_response_ms = sq_column_ms(s, 3);
		cs->first_complaint_ms = sq_column_ms(s, 4);
		cs->last_ms = sq_column_ms(s, 5);
		cs->last_dir = sqlite3_column_int(s, 6);
		cs->last_id = xstrdup_or_null(sq_column_text(s, 7));
	}
	sqlite3_reset(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* Whether two states remember the same first message facts. */
static int
conv_state_same_first(const struct conv_state *a, const struct conv_state *b)
{
	return a->first_ms == b->first_ms &&
	    a->first_inbound == b->first_inbound &&
	    a->first_msg == b->first_msg &&
	    a->first_response_ms == b->first_response_ms &&
	    a->first_complaint_ms == b->first_complaint_ms;
}

/* Write cs; only its last message when the first facts are those of
 * stored (as stored in the table), which spares the index on them. Every
 * parameter of either statement is bound. */
static int
conv_state_save(struct store *st, int64_t conv, const struct conv_state *cs,
    const struct conv_state *stored)
{
	int last_only = stored != NULL && conv_state_same_first(cs, stored);
	sqlite3_stmt *s = sq_stmt_rebind(st, last_only ? S_CONV_SAVE_LAST :
	    S_CONV_SAVE);
	int rc, last = last_only ? 2 : 7;	/* the last message's first */

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, conv);
	if (!last_only) {
		sq_bind_ms(s, 2, cs->first_ms);
		sqlite3_bind_int(s, 3, cs->first_inbound);
		sq_bind_ms(s, 4, cs->first_msg);
		sq_bind_ms(s, 5, cs->first_response_ms);
		sq_bind_ms(s, 6, cs->first_complaint_ms);
	}
	sq_bind_ms(s, last, cs->last_ms);
	sqlite3_bind_int(s, last + 1, cs->last_dir);
	sq_bind_text(s, last + 2, cs->last_id);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The first response facts and the last message, from an engine result
 * and the messages it was fed (in the engine's order). */
static void
conv_state_update(struct conv_state *cs, const struct engine_result *res,
    const struct engine_msg *msgs, size_t n)
{
	size_t i;

	if (cs->first_ms < 0 && res->first_ms != ENGINE_NONE) {
		cs->first_ms = res->first_ms;
		cs->first_inbound = res->first_inbound;
		for (i = 0; i < n; i++)
			if (!msgs[i].foreign) {
				cs->first_msg = msgs[i].ref;
				break;
			}
	}
	cs->first_response_ms = res->first_response_ms;
	/* the first wait's complaint can change only while it is open, and
	 * then it is among the result's waits */
	for (i = 0; i < res->nwaits; i++)
		if (cs->first_inbound && res->waits[i].open_ref == cs->first_msg)
			cs->first_complaint_ms = res->waits[i].complaint_ms;
	/* the last message that acted here, a reply from elsewhere
	 * included: a new message before it cannot simply be appended.
	 * (Appended messages all come after the last one; a recomputation
	 * starts from nothing.) */
	if (n > 0) {
		cs->last_ms = msgs[n - 1].created_ms;
		cs->last_dir = msgs[n - 1].direction;
		free(cs->last_id);
		cs->last_id = xstrdup(msgs[n - 1].id);
	}
}

/* ---- recomputing from all messages ---------------------------------------------- */

/* Strings of loaded messages, as offsets until loading is done. */
struct loaded {
	struct engine_msg *msgs;
	size_t		 n, cap;
	struct sq_arena	 arena;
	size_t		(*off)[3];
};

static void
loaded_clear(struct loaded *l)
{
	free(l->msgs);
	free(l->off);
	free(l->arena.buf);
	memset(l, 0, sizeof *l);
}

/* Load up to max rows of an (id, msg_id, author, in_reply_to, created_ms,
 * direction, complaint, foreign) query into l, emptied first: 1 if
 * rows may remain, 0 at the end (s is reset), -1 on error. */
static int
load_slice(sqlite3_stmt *s, struct loaded *l, size_t max)
{
	size_t i;
	int rc = SQLITE_DONE;

	l->n = 0;
	l->arena.len = 0;
	while (l->n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct engine_msg *m;

		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 32;
			l->msgs = xreallocarray(l->msgs, l->cap, sizeof *l->msgs);
			l->off = xreallocarray(l->off, l->cap, sizeof *l->off);
		}
		m = &l->msgs[l->n];
		memset(m, 0, sizeof *m);
		m->ref = sqlite3_column_int64(s, 0);
		l->off[l->n][0] = sq_arena_add(&l->arena, sq_column_text(s, 1));
		l->off[l->n][1] = sq_arena_add(&l->arena, sq_column_text(s, 2));
		l->off[l->n][2] = sq_arena_add(&l->arena, sq_column_text(s, 3));
		m->created_ms = sqlite3_column_int64(s, 4);
		m->direction = sqlite3_column_int(s, 5);
		m->complaint = sqlite3_column_int(s, 6) == MSG_COMPLAINT_YES;
		m->foreign = sqlite3_column_int(s, 7);
		l->n++;
	}
	for (i = 0; i < l->n; i++) {
		l->msgs[i].id = sq_arena_str(&l->arena, l->off[i][0]);
		l->msgs[i].author = sq_arena_str(&l->arena, l->off[i][1]);
		l->msgs[i].in_reply_to = sq_arena_str(&l->arena, l->off[i][2]);
	}
	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
wait_insert(struct store *st, const struct touched *t,
    const struct engine_wait *w)
{
	sqlite3_stmt *s = sq_stmt_rebind(st, S_WAIT_ADD);	/* all bound */
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, t->conv_id);
	sqlite3_bind_int64(s, 2, t->account_id);
	sqlite3_bind_int(s, 3, t->kind);
	sq_bind_text(s, 4, w->author);
	sqlite3_bind_int64(s, 5, w->opened_ms);
	sq_bind_ms(s, 6, w->closed_ms);
	sq_bind_ms(s, 7, w->complaint_ms);
	sqlite3_bind_int64(s, 8, w->open_ref);
	sq_bind_ms(s, 9, w->close_ref);
	sqlite3_bind_int(s, 10, w->inbound);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
wait_update(struct store *st, const struct engine_wait *w)
{
	sqlite3_stmt *s = sq_stmt_rebind(st, S_WAIT_UPDATE);	/* all bound */
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, w->store_id);
	sq_bind_ms(s, 2, w->closed_ms);
	sq_bind_ms(s, 3, w->close_ref);
	sq_bind_ms(s, 4, w->complaint_ms);
	sqlite3_bind_int(s, 5, w->inbound);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Run a statement bound to (a, b[, text c]) to its end. */
static int
exec_ids(struct store *st, enum stmt_id id, int64_t a, int64_t b,
    const char *c)
{
	sqlite3_stmt *s = sq_stmt(st, id);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a);
	if (b >= 0)
		sqlite3_bind_int64(s, 2, b);
	if (c != NULL)
		sqlite3_bind_text(s, 3, c, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* An own reply whose target is not in its conversation. If the target is
 * stored elsewhere, the reply acts there: note it, and recompute that
 * conversation. If it is not stored yet, note that it is awaited. */
static int
touch_reply_target(struct store *st, int64_t account, const char *target,
    int64_t reply)
{
	sqlite3_stmt *s = sq_stmt(st, S_MSG_CONV_OF);
	int64_t conv = -1;
	int rc, kind = -1;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_text(s, 2, target, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		conv = sqlite3_column_int64(s, 0);
		kind = sqlite3_column_int(s, 1);
	}
	sqlite3_reset(s);
	if (rc == SQLITE_ROW) {
		if (kind != MSG_BROADCAST)
			return 0;
		if (exec_ids(st, S_CROSS_ADD, conv, reply, NULL) == -1)
			return -1;
		/* only a new pair changes that conversation: touching it for
		 * a known one would recompute two threads that answer each
		 * other back and forth for ever */
		if (sqlite3_changes(st->db) > 0)
			ingest_touch(st, conv, account, MSG_BROADCAST, 1, 0);
		return 0;
	}
	if (rc != SQLITE_DONE || (s = sq_stmt(st, S_AWAIT)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_text(s, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, reply);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
touch_unresolved(struct store *st, const struct touched *t,
    const struct engine_result *res, const struct engine_msg *msgs)
{
	size_t i;

	for (i = 0; i < res->nunresolved; i++) {
		const struct engine_msg *m = &msgs[res->unresolved[i]];

		if (touch_reply_target(st, t->account_id, m->in_reply_to,
		    m->ref) == -1)
			return -1;
	}
	return 0;
}

/* ---- appending to the open waits -------------------------------------------- */

/* Strings that lookups and resumed waits hand to the engine. */
struct strings {
	char	**v;
	size_t	  n;
};

static const char *
strings_keep(struct strings *ss, const char *s)
{
	if (s == NULL)
		return NULL;
	ss->v = xreallocarray(ss->v, ss->n + 1, sizeof *ss->v);
	return ss->v[ss->n++] = xstrdup(s);
}

static void
strings_clear(struct strings *ss)
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		free(ss->v[i]);
	free(ss->v);
	memset(ss, 0, sizeof *ss);
}

struct lookup {
	struct store		*st;
	const struct touched	*t;
	struct strings		*strings;
	int			 failed;
};

/* A reply target among the stored messages: 1 if in this conversation. */
static int
lookup_target(void *arg, const char *id, const char **author,
    enum msg_direction *dir)
{
	struct lookup *lk = arg;
	sqlite3_stmt *s = sq_stmt(lk->st, S_MSG_TARGET);
	int rc, found = 0;

	if (s == NULL) {
		lk->failed = 1;
		return 0;
	}
	sqlite3_bind_int64(s, 1, lk->t->account_id);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_int64(s, 0) == lk->t->conv_id) {
		*author = strings_keep(lk->strings, sq_column_text(s, 1));
		*dir = sqlite3_column_int(s, 2);
		found = 1;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		lk->failed = 1;
	sqlite3_reset(s);
	return found;
}

/* Can the new messages simply be appended? 1 yes, 0 no, -1 error. */
static int
appendable(struct store *st, const struct touched *t,
    const struct conv_state *cs, const struct engine_msg *msgs, size_t n)
{
	struct engine_msg last = { 0 };
	sqlite3_stmt *s;
	size_t i;
	int rc;

	if (cs->last_ms >= 0) {
		last.created_ms = cs->last_ms;
		last.direction = cs->last_dir;
		last.id = cs->last_id ? cs->last_id : "";
		if (engine_msg_cmp(&msgs[0], &last) <= 0)
			return 0;
	}
	if (t->kind != MSG_BROADCAST)
		return 1;
	/* a reply stored earlier, elsewhere, awaits a new message: every
	 * reply whose target was missing is noted by touch_reply_target */
	for (i = 0; st->awaited_any && i < n; i++) {
		if (msgs[i].direction != MSG_INBOUND)
			continue;
		if ((s = sq_stmt(st, S_AWAITED)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, t->account_id);
		sqlite3_bind_text(s, 2, msgs[i].id, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc == SQLITE_ROW)
			return 0;
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 1;
}

static int
resume_open_waits(struct store *st, struct engine *e, int64_t conv,
    struct strings *ss)
{
	sqlite3_stmt *s = sq_stmt(st, S_WAITS_OPEN);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, conv);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct engine_wait w = {
			.store_id = sqlite3_column_int64(s, 0),
			.author = strings_keep(ss, sq_column_text(s, 1)),
			.opened_ms = sqlite3_column_int64(s, 2),
			.closed_ms = ENGINE_OPEN,
			.complaint_ms = sq_column_ms(s, 3),
			.open_ref = sqlite3_column_int64(s, 4),
			.close_ref = -1,
			.inbound = sqlite3_column_int(s, 5),
		};

		engine_resume_wait(e, &w);
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Feed msgs, in the engine's order and after everything cs remembers, to
 * the engine of a conversation resumed from cs and (if resume) from its
 * open waits as stored; write the waits that changed and the new state to
 * cs and the table. saved: whether the table holds cs already.
 */
static int
feed(struct store *st, const struct touched *t, struct conv_state *cs,
    int saved, int resume, struct engine_msg *msgs, size_t n)
{
	struct strings ss = { 0 };
	struct lookup lk = { .st = st, .t = t, .strings = &ss };
	const struct engine_result *res;
	struct engine *e = engine_new(t->kind);
	struct conv_state before = *cs;
	size_t i;
	int rc = -1;

	before.last_id = NULL;		/* cs owns it; not compared */
	if (cs->first_ms >= 0)
		engine_resume(e, cs->first_ms, cs->first_inbound,
		    cs->first_response_ms);
	if (resume && resume_open_waits(st, e, t->conv_id, &ss) == -1)
		goto out;
	engine_feed(e, msgs, n, lookup_target, &lk);
	if (lk.failed)
		goto out;
	res = engine_result(e);
	for (i = 0; i < res->nwaits; i++) {
		const struct engine_wait *w = &res->waits[i];

		if (w->store_id < 0 ? wait_insert(st, t, w) == -1 :
		    w->changed && wait_update(st, w) == -1)
			goto out;
	}
	conv_state_update(cs, res, msgs, n);
	if (conv_state_save(st, t->conv_id, cs, saved ? &before : NULL) == -1 ||
	    touch_unresolved(st, t, res, msgs) == -1)
		goto out;
	rc = 0;
out:
	engine_free(e);
	strings_clear(&ss);
	return rc;
}

int
waits_append(struct store *st, const struct touched *t, struct engine_msg *msgs,
    size_t n)
{
	struct conv_state cs;
	int rc;

	/* a conversation this batch created has no stored state to read,
	 * and its row holds the empty one */
	if (t->created)
		conv_state_empty(&cs);
	else if (conv_state_load(st, t->conv_id, &cs) == -1)
		return -1;
	if ((rc = appendable(st, t, &cs, msgs, n)) == 1 &&
	    feed(st, t, &cs, 1, !t->created, msgs, n) == -1)
		rc = -1;
	free(cs.last_id);
	return rc;
}

/* ---- recomputing from all messages ------------------------------------------ */

/*
 * From scratch: the waits are deleted and the messages fed again in the
 * engine's order, RECOMPUTE_SLICE at a time, as appended ones would be.
 * Reply targets are looked up among all stored messages either way, so the
 * result is the same as from one feed of all of them, and memory does not
 * grow with the conversation.
 */
int
waits_recompute(struct store *st, const struct touched *t)
{
	struct loaded l = { 0 };
	struct conv_state cs;
	sqlite3_stmt *s;
	int more, first = 1, rc = -1;

	/* nothing remembered counts */
	conv_state_empty(&cs);
	/* replies elsewhere that awaited one of its messages act here now */
	if (t->kind == MSG_BROADCAST &&
	    (exec_ids(st, S_AWAIT_CLAIM, t->conv_id, -1, NULL) == -1 ||
	    exec_ids(st, S_AWAIT_DROP, t->conv_id, -1, NULL) == -1))
		return -1;
	if (exec_ids(st, S_WAITS_DELETE, t->conv_id, -1, NULL) == -1 ||
	    (s = sq_stmt(st, S_CONV_ORDERED)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, t->conv_id);
	do {
		if ((more = load_slice(s, &l, RECOMPUTE_SLICE)) == -1)
			goto out;
		/* the first feed saves the state, even of no message */
		if ((l.n > 0 || first) &&
		    feed(st, t, &cs, !first, !first, l.msgs, l.n) == -1)
			goto out;
		first = 0;
	} while (more);
	rc = 0;
out:
	sqlite3_reset(s);
	free(cs.last_id);
	loaded_clear(&l);
	return rc;
}
