/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "store-sqlite.h"
#include "xmalloc.h"

/*
 * Writing the store: a batch of messages, then the waits of every
 * conversation it touched, in one transaction.
 *
 * A conversation is brought up to date one of two ways, with the same
 * result. When the batch only appends to it (every new message comes after
 * the last one processed, and no stored reply elsewhere answers a new one),
 * the engine resumes from its open waits and takes the new messages alone.
 * Otherwise it is recomputed from all of its messages.
 */

#define CONV_CACHE_MAX	(1u << 17)	/* conversation ids kept in memory */

/* Strings of the batch's new messages, as offsets until the commit. */
struct arena {
	char	*buf;
	size_t	 len, cap;
};

/* A message the batch added. */
struct newmsg {
	int64_t		 conv_id;
	struct engine_msg em;
	size_t		 off[3];	/* id, author, in_reply_to */
};

/* A conversation the batch changed. */
struct touched {
	int64_t	 conv_id;
	int64_t	 account_id;
	int	 kind;
	int	 full;		/* must be recomputed from all its messages */
	int	 created;	/* added by this batch: nothing stored before */
};

/* (account, kind, conversation) -> row id, so that most messages need no
 * query to find their conversation. */
struct conv_slot {
	char	*key;
	int64_t	 id;
};

/* The row ids of the batch's messages of one hour. */
struct hour_span {
	int64_t	 hour;
	int64_t	 first_id, last_id;
};

#define HOUR_MS	(3600 * 1000LL)

struct ingest {
	struct hour_span *hours;	/* unsorted; the last one used first */
	size_t		 nhours, hours_cap;
	struct touched	*touched;
	size_t		 ntouched, touched_cap;
	struct newmsg	*news;
	size_t		 nnews, news_cap;
	struct arena	 arena;
	struct conv_slot *slots;
	size_t		 nslots, nused;
};

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

/* ---- memory of the batch ---------------------------------------------------- */

static size_t
arena_add(struct arena *a, const char *s)
{
	size_t n;

	if (s == NULL)
		return SIZE_MAX;
	n = strlen(s) + 1;
	if (a->len + n > a->cap) {
		while (a->len + n > a->cap)
			a->cap = a->cap ? a->cap * 2 : 4096;
		a->buf = xreallocarray(a->buf, a->cap, 1);
	}
	memcpy(a->buf + a->len, s, n);
	a->len += n;
	return a->len - n;
}

static const char *
arena_str(const struct arena *a, size_t off)
{
	return off == SIZE_MAX ? NULL : a->buf + off;
}

static void
conv_cache_clear(struct ingest *in)
{
	size_t i;

	for (i = 0; i < in->nslots; i++)
		free(in->slots[i].key);
	free(in->slots);
	in->slots = NULL;
	in->nslots = in->nused = 0;
}

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	conv_cache_clear(in);
	free(in->hours);
	free(in->touched);
	free(in->news);
	free(in->arena.buf);
	free(in);
}

static struct ingest *
ingest_get(struct store *st)
{
	if (st->ingest == NULL)
		st->ingest = xcalloc(1, sizeof *st->ingest);
	return st->ingest;
}

static void
batch_reset(struct ingest *in)
{
	in->ntouched = 0;
	in->nnews = 0;
	in->nhours = 0;
	in->arena.len = 0;
}

static void
touch(struct ingest *in, int64_t conv_id, int64_t account, int kind, int full,
    int created)
{
	struct touched *t;

	if (in->ntouched > 0 && in->touched[in->ntouched - 1].conv_id == conv_id &&
	    in->touched[in->ntouched - 1].full >= full &&
	    in->touched[in->ntouched - 1].created >= created)
		return;
	if (in->ntouched == in->touched_cap) {
		in->touched_cap = in->touched_cap ? in->touched_cap * 2 : 256;
		in->touched = xreallocarray(in->touched, in->touched_cap,
		    sizeof *in->touched);
	}
	t = &in->touched[in->ntouched++];
	t->conv_id = conv_id;
	t->account_id = account;
	t->kind = kind;
	t->full = full;
	t->created = created;
}

/* ---- the conversation cache ------------------------------------------------- */

static uint64_t
hash_key(const char *p)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static struct conv_slot *
conv_slot(struct ingest *in, const char *key)
{
	size_t i = hash_key(key) & (in->nslots - 1);

	while (in->slots[i].key != NULL && strcmp(in->slots[i].key, key) != 0)
		i = (i + 1) & (in->nslots - 1);
	return &in->slots[i];
}

static void
conv_cache_put(struct ingest *in, const char *key, int64_t id)
{
	struct conv_slot *s;

	if (in->nused >= CONV_CACHE_MAX)
		conv_cache_clear(in);
	if (in->nslots == 0) {
		in->nslots = 2 * CONV_CACHE_MAX;
		in->slots = xcalloc(in->nslots, sizeof *in->slots);
	}
	s = conv_slot(in, key);
	if (s->key != NULL) {
		s->id = id;
		return;
	}
	s->key = xstrdup(key);
	s->id = id;
	in->nused++;
}

/* ---- messages ------------------------------------------------------------- */

int
store_begin(struct store *st, char **errstr)
{
	if (st->in_batch) {
		xasprintf(errstr, "%s: a batch is already open", st->path);
		return -1;
	}
	if (sq_exec(st, S_BEGIN, errstr) == -1)
		return -1;
	st->in_batch = 1;
	batch_reset(ingest_get(st));
	return 0;
}

void
store_rollback(struct store *st)
{
	char *err = NULL;

	if (!st->in_batch)
		return;
	st->in_batch = 0;
	sq_exec(st, S_ROLLBACK, &err);
	free(err);
	/* accounts and conversations added in the batch are gone again */
	batch_reset(st->ingest);
	conv_cache_clear(st->ingest);
	sq_forget_accounts(st);
	err = NULL;
	sq_load_accounts(st, &err);
	free(err);
}

static int64_t
account_id(struct store *st, const char *platform, const char *name,
    char **errstr)
{
	const struct account *a = sq_account_by_name(st, platform, name);
	struct account *na;
	sqlite3_stmt *s;

	if (a != NULL)
		return a->id;
	if ((s = sq_stmt(st, S_ACCOUNT_ADD)) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, platform, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		goto fail;
	sqlite3_reset(s);
	st->accounts = xreallocarray(st->accounts, st->naccounts + 1,
	    sizeof *st->accounts);
	na = &st->accounts[st->naccounts++];
	na->id = sqlite3_last_insert_rowid(st->db);
	na->platform = xstrdup(platform);
	na->name = xstrdup(name);
	return na->id;
fail:
	sq_err(st, errstr, "cannot add account");
	if (s != NULL)
		sqlite3_reset(s);
	return -1;
}

static int64_t
conversation_id(struct store *st, int64_t account, int kind, const char *conv,
    int *created, char **errstr)
{
	struct ingest *in = st->ingest;
	struct conv_slot *slot;
	char key[MSG_MAX_ID + 48];
	sqlite3_stmt *s;
	int64_t id = -1;
	int rc;

	*created = 0;
	/* conv is at most MSG_MAX_ID bytes: the key always fits */
	snprintf(key, sizeof key, "%lld/%d/%s", (long long)account, kind, conv);
	if (in->nslots > 0 && (slot = conv_slot(in, key))->key != NULL)
		return slot->id;
	if ((s = sq_stmt(st, S_CONV_GET)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_int(s, 2, kind);
	sqlite3_bind_text(s, 3, conv, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
	sqlite3_reset(s);
	if (rc != SQLITE_ROW) {
		if (rc != SQLITE_DONE || (s = sq_stmt(st, S_CONV_ADD)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, account);
		sqlite3_bind_int(s, 2, kind);
		sqlite3_bind_text(s, 3, conv, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			goto fail;
		id = sqlite3_last_insert_rowid(st->db);
		*created = 1;
	}
	conv_cache_put(in, key, id);
	return id;
fail:
	sq_err(st, errstr, "cannot find or add conversation");
	return -1;
}

static int
same_text(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
bind_complaint(sqlite3_stmt *s, int i, enum msg_complaint c)
{
	if (c == MSG_COMPLAINT_UNKNOWN)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int(s, i, c);
}

/* The message exists: update its mutable fields; its conversation is
 * recomputed if the complaint flag changed (the waits depend on it). */
static int
update_message(struct store *st, int64_t account, const struct msg *m,
    char **errstr)
{
	sqlite3_stmt *s = sq_stmt(st, S_MSG_GET);
	int64_t conv;
	int rc, changed, complaint_changed;

	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_text(s, 2, m->id, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_reset(s);
		goto fail;
	}
	conv = sqlite3_column_int64(s, 0);
	complaint_changed = m->complaint != MSG_COMPLAINT_UNKNOWN &&
	    (sqlite3_column_type(s, 3) == SQLITE_NULL ||
	    sqlite3_column_int(s, 3) != (int)m->complaint);
	changed = complaint_changed ||
	    !same_text(sq_column_text(s, 1), m->text) ||
	    !same_text(sq_column_text(s, 2), m->url);
	sqlite3_reset(s);
	if (!changed)
		return 0;

	if ((s = sq_stmt(st, S_MSG_UPDATE)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_text(s, 2, m->id, -1, SQLITE_STATIC);
	sq_bind_text(s, 3, m->text);
	sq_bind_text(s, 4, m->url);
	bind_complaint(s, 5, m->complaint);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto fail;
	if (complaint_changed)
		touch(st->ingest, conv, account, m->kind, 1, 0);
	return 0;
fail:
	sq_err(st, errstr, "cannot update message");
	return -1;
}

/* Note a new message's row id under the hour it was created in. */
static void
note_hour(struct ingest *in, int64_t created_ms, int64_t id)
{
	int64_t hour = created_ms / HOUR_MS;
	struct hour_span *h;
	size_t i;

	/* messages mostly come in time order: look from the newest hour */
	for (i = in->nhours; i > 0; i--) {
		h = &in->hours[i - 1];
		if (h->hour != hour)
			continue;
		if (id < h->first_id)
			h->first_id = id;
		if (id > h->last_id)
			h->last_id = id;
		return;
	}
	if (in->nhours == in->hours_cap) {
		in->hours_cap = in->hours_cap ? in->hours_cap * 2 : 64;
		in->hours = xreallocarray(in->hours, in->hours_cap,
		    sizeof *in->hours);
	}
	h = &in->hours[in->nhours++];
	h->hour = hour;
	h->first_id = h->last_id = id;
}

static int
save_hours(struct store *st)
{
	struct ingest *in = st->ingest;
	sqlite3_stmt *s;
	size_t i;
	int rc;

	for (i = 0; i < in->nhours; i++) {
		if ((s = sq_stmt(st, S_HOUR_SAVE)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, in->hours[i].hour);
		sqlite3_bind_int64(s, 2, in->hours[i].first_id);
		sqlite3_bind_int64(s, 3, in->hours[i].last_id);
		rc = sqlite3_step(s);
		sqlite3_reset(s);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

static void
remember_new(struct ingest *in, int64_t conv, int64_t ref, const struct msg *m)
{
	struct newmsg *n;

	if (in->nnews == in->news_cap) {
		in->news_cap = in->news_cap ? in->news_cap * 2 : 1024;
		in->news = xreallocarray(in->news, in->news_cap, sizeof *in->news);
	}
	n = &in->news[in->nnews++];
	memset(n, 0, sizeof *n);
	n->conv_id = conv;
	n->em.ref = ref;
	n->em.created_ms = m->created_ms;
	n->em.direction = m->direction;
	n->em.complaint = m->complaint == MSG_COMPLAINT_YES;
	n->off[0] = arena_add(&in->arena, m->id);
	n->off[1] = arena_add(&in->arena, m->author);
	n->off[2] = arena_add(&in->arena, m->in_reply_to);
}

int
store_put_message(struct store *st, const struct msg *m, int *added,
    char **errstr)
{
	int64_t account, conv;
	sqlite3_stmt *s;
	int created;

	*added = 0;
	if (!st->in_batch) {
		xasprintf(errstr, "%s: no batch is open", st->path);
		return -1;
	}
	if ((account = account_id(st, m->platform, m->account, errstr)) == -1)
		return -1;
	if ((conv = conversation_id(st, account, m->kind, m->conversation,
	    &created, errstr)) == -1)
		return -1;
	if ((s = sq_stmt(st, S_MSG_ADD)) == NULL) {
		sq_err(st, errstr, "cannot add message");
		return -1;
	}
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_text(s, 2, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, conv);
	sqlite3_bind_int(s, 4, m->direction);
	sqlite3_bind_int64(s, 5, m->created_ms);
	sq_bind_text(s, 6, m->author);
	sq_bind_text(s, 7, m->in_reply_to);
	bind_complaint(s, 8, m->complaint);
	sq_bind_text(s, 9, m->text);
	sq_bind_text(s, 10, m->url);
	if (sqlite3_step(s) != SQLITE_DONE) {
		sq_err(st, errstr, "cannot add message");
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	if (sqlite3_changes(st->db) == 0)
		return update_message(st, account, m, errstr);
	*added = 1;
	remember_new(st->ingest, conv, sqlite3_last_insert_rowid(st->db), m);
	note_hour(st->ingest, m->created_ms, sqlite3_last_insert_rowid(st->db));
	touch(st->ingest, conv, account, m->kind, 0, created);
	return 0;
}

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

static int
conv_state_save(struct store *st, int64_t conv, const struct conv_state *cs)
{
	sqlite3_stmt *s = sq_stmt(st, S_CONV_SAVE);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, conv);
	sq_bind_ms(s, 2, cs->first_ms);
	sqlite3_bind_int(s, 3, cs->first_inbound);
	sq_bind_ms(s, 4, cs->first_msg);
	sq_bind_ms(s, 5, cs->first_response_ms);
	sq_bind_ms(s, 6, cs->first_complaint_ms);
	sq_bind_ms(s, 7, cs->last_ms);
	sqlite3_bind_int(s, 8, cs->last_dir);
	sq_bind_text(s, 9, cs->last_id);
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
	struct arena	 arena;
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

/* Append the rows of an (id, msg_id, author, in_reply_to, created_ms,
 * direction, complaint) query. */
static int
load_rows(sqlite3_stmt *s, struct loaded *l, int foreign)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct engine_msg *m;

		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 32;
			l->msgs = xreallocarray(l->msgs, l->cap, sizeof *l->msgs);
			l->off = xreallocarray(l->off, l->cap, sizeof *l->off);
		}
		m = &l->msgs[l->n];
		memset(m, 0, sizeof *m);
		m->ref = sqlite3_column_int64(s, 0);
		l->off[l->n][0] = arena_add(&l->arena, sq_column_text(s, 1));
		l->off[l->n][1] = arena_add(&l->arena, sq_column_text(s, 2));
		l->off[l->n][2] = arena_add(&l->arena, sq_column_text(s, 3));
		m->created_ms = sqlite3_column_int64(s, 4);
		m->direction = sqlite3_column_int(s, 5);
		m->complaint = sqlite3_column_int(s, 6) == MSG_COMPLAINT_YES;
		m->foreign = foreign;
		l->n++;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int
load_all(struct store *st, const struct touched *t, struct loaded *l)
{
	sqlite3_stmt *s;
	size_t i;

	if ((s = sq_stmt(st, S_CONV_MSGS)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, t->conv_id);
	if (load_rows(s, l, 0) == -1)
		return -1;
	if (t->kind == MSG_BROADCAST) {
		if ((s = sq_stmt(st, S_CONV_FOREIGN)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, t->conv_id);
		if (load_rows(s, l, 1) == -1)
			return -1;
	}
	for (i = 0; i < l->n; i++) {
		l->msgs[i].id = arena_str(&l->arena, l->off[i][0]);
		l->msgs[i].author = arena_str(&l->arena, l->off[i][1]);
		l->msgs[i].in_reply_to = arena_str(&l->arena, l->off[i][2]);
	}
	return 0;
}

static int
wait_insert(struct store *st, const struct touched *t,
    const struct engine_wait *w)
{
	sqlite3_stmt *s = sq_stmt(st, S_WAIT_ADD);
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
	sqlite3_stmt *s = sq_stmt(st, S_WAIT_UPDATE);
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
			touch(st->ingest, conv, account, MSG_BROADCAST, 1, 0);
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

static int
recompute_full(struct store *st, const struct touched *t)
{
	struct engine_result res;
	struct loaded l = { 0 };
	struct conv_state cs;
	sqlite3_stmt *s;
	size_t i;
	int rc = -1;

	memset(&res, 0, sizeof res);
	/* from scratch: nothing remembered counts */
	conv_state_empty(&cs);
	/* replies elsewhere that awaited one of its messages act here now */
	if (t->kind == MSG_BROADCAST &&
	    (exec_ids(st, S_AWAIT_CLAIM, t->conv_id, -1, NULL) == -1 ||
	    exec_ids(st, S_AWAIT_DROP, t->conv_id, -1, NULL) == -1))
		return -1;
	if (load_all(st, t, &l) == -1) {
		loaded_clear(&l);
		return -1;
	}
	engine_compute(t->kind, l.msgs, l.n, &res);
	if ((s = sq_stmt(st, S_WAITS_DELETE)) == NULL)
		goto out;
	sqlite3_bind_int64(s, 1, t->conv_id);
	if (sqlite3_step(s) != SQLITE_DONE)
		goto out;
	sqlite3_reset(s);
	for (i = 0; i < res.nwaits; i++)
		if (wait_insert(st, t, &res.waits[i]) == -1)
			goto out;
	conv_state_update(&cs, &res, l.msgs, l.n);
	if (conv_state_save(st, t->conv_id, &cs) == -1 ||
	    touch_unresolved(st, t, &res, l.msgs) == -1)
		goto out;
	rc = 0;
out:
	free(cs.last_id);
	engine_result_clear(&res);
	loaded_clear(&l);
	return rc;
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
	for (i = 0; i < n; i++) {
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

/* 1 done, 0 not appendable (recompute it), -1 error. */
static int
append(struct store *st, const struct touched *t, struct engine_msg *msgs,
    size_t n)
{
	struct strings ss = { 0 };
	struct lookup lk = { .st = st, .t = t, .strings = &ss };
	const struct engine_result *res;
	struct engine *e = NULL;
	struct conv_state cs;
	size_t i;
	int rc;

	/* a conversation this batch created has no stored state to read */
	if (t->created)
		conv_state_empty(&cs);
	else if (conv_state_load(st, t->conv_id, &cs) == -1)
		return -1;
	if ((rc = appendable(st, t, &cs, msgs, n)) != 1)
		goto out;
	rc = -1;
	e = engine_new(t->kind);
	if (cs.first_ms >= 0)
		engine_resume(e, cs.first_ms, cs.first_inbound,
		    cs.first_response_ms);
	if (!t->created && resume_open_waits(st, e, t->conv_id, &ss) == -1)
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
	conv_state_update(&cs, res, msgs, n);
	if (conv_state_save(st, t->conv_id, &cs) == -1 ||
	    touch_unresolved(st, t, res, msgs) == -1)
		goto out;
	rc = 1;
out:
	engine_free(e);
	strings_clear(&ss);
	free(cs.last_id);
	return rc;
}

/* ---- commit -------------------------------------------------------------------- */

static int
cmp_touched(const void *pa, const void *pb)
{
	const struct touched *a = pa, *b = pb;

	return (a->conv_id > b->conv_id) - (a->conv_id < b->conv_id);
}

/* Sort touched[from..] and merge entries of one conversation. */
static void
touched_unique(struct ingest *in, size_t from)
{
	size_t i, j;

	if (in->ntouched - from < 2)
		return;
	qsort(in->touched + from, in->ntouched - from, sizeof *in->touched,
	    cmp_touched);
	for (i = j = from + 1; i < in->ntouched; i++) {
		if (in->touched[i].conv_id == in->touched[j - 1].conv_id) {
			in->touched[j - 1].full |= in->touched[i].full;
			in->touched[j - 1].created |= in->touched[i].created;
		} else
			in->touched[j++] = in->touched[i];
	}
	in->ntouched = j;
}

static int
cmp_newmsg(const void *pa, const void *pb)
{
	const struct newmsg *a = pa, *b = pb;

	if (a->conv_id != b->conv_id)
		return (a->conv_id > b->conv_id) - (a->conv_id < b->conv_id);
	return engine_msg_cmp(&a->em, &b->em);
}

/* The batch's new messages, by conversation in the engine's order. */
static void
news_prepare(struct ingest *in)
{
	size_t i;

	for (i = 0; i < in->nnews; i++) {
		struct newmsg *n = &in->news[i];

		n->em.id = arena_str(&in->arena, n->off[0]);
		n->em.author = arena_str(&in->arena, n->off[1]);
		n->em.in_reply_to = arena_str(&in->arena, n->off[2]);
	}
	if (in->nnews > 1)
		qsort(in->news, in->nnews, sizeof *in->news, cmp_newmsg);
}

/* Bring one conversation up to date: append its new messages, or
 * recompute it. */
static int
update_conversation(struct store *st, const struct touched *t, size_t *next)
{
	struct ingest *in = st->ingest;
	struct engine_msg *msgs;
	size_t a, b, i;
	int rc;

	while (*next < in->nnews && in->news[*next].conv_id < t->conv_id)
		(*next)++;
	for (a = b = *next; b < in->nnews && in->news[b].conv_id == t->conv_id; b++)
		;
	*next = b;
	if (t->full || a == b)
		return recompute_full(st, t);
	msgs = xcalloc(b - a, sizeof *msgs);
	for (i = a; i < b; i++)
		msgs[i - a] = in->news[i].em;
	rc = append(st, t, msgs, b - a);
	free(msgs);
	if (rc == 0)
		return recompute_full(st, t);
	return rc == 1 ? 0 : -1;
}

int
store_commit(struct store *st, char **errstr)
{
	struct ingest *in = st->ingest;
	size_t i, first_pass, next = 0;

	if (!st->in_batch) {
		xasprintf(errstr, "%s: no batch is open", st->path);
		return -1;
	}
	news_prepare(in);
	touched_unique(in, 0);
	first_pass = in->ntouched;
	for (i = 0; i < first_pass; i++) {
		struct touched t = in->touched[i];

		if (update_conversation(st, &t, &next) == -1)
			goto fail;
	}
	/* Conversations that replies from others now act in: recompute
	 * them with those replies. That notes no pair twice, so it ends. */
	touched_unique(in, first_pass);
	for (i = first_pass; i < in->ntouched; i++) {
		struct touched t = in->touched[i];

		if (recompute_full(st, &t) == -1)
			goto fail;
	}
	if (save_hours(st) == -1)
		goto fail;
	if (sq_exec(st, S_COMMIT, errstr) == -1) {
		store_rollback(st);
		return -1;
	}
	st->in_batch = 0;
	batch_reset(in);
	return 0;
fail:
	sq_err(st, errstr, "cannot update waits");
	store_rollback(st);
	return -1;
}
