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
 * The waits of each touched conversation are then brought up to date by
 * store-waits.c.
 */

/* Conversation ids kept in memory: a bulk import meets many conversations
 * once each, the daemon a few thousand live ones over and over. The table
 * (two slots per entry) is allocated whole, so its size is what the daemon
 * keeps resident; when it is full it is emptied and fills again. */
#define CONV_CACHE_BULK		(1u << 17)	/* 4 MiB of slots */
#define CONV_CACHE_DEFAULT	(1u << 12)	/* 128 KiB of slots */

/* A message the batch added. */
struct newmsg {
	int64_t		 conv_id;
	struct engine_msg em;
	size_t		 off[3];	/* id, author, in_reply_to */
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
	struct sq_arena	 arena;
	struct conv_slot *slots;
	size_t		 nslots, nused;
	size_t		 max_used;	/* CONV_CACHE_BULK or _DEFAULT */
};

/* ---- memory of the batch ---------------------------------------------------- */

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
	if (st->ingest == NULL) {
		st->ingest = xcalloc(1, sizeof *st->ingest);
		st->ingest->max_used = st->bulk ? CONV_CACHE_BULK :
		    CONV_CACHE_DEFAULT;
	}
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

void
ingest_touch(struct store *st, int64_t conv_id, int64_t account_id, int kind,
    int full, int created)
{
	touch(st->ingest, conv_id, account_id, kind, full, created);
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

	if (in->nused >= in->max_used)
		conv_cache_clear(in);
	if (in->nslots == 0) {
		in->nslots = 2 * in->max_used;
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

static int
batch_first_msg(struct store *st, char **errstr)
{
	sqlite3_stmt *s;

	if ((s = sq_stmt(st, S_MSG_MAX)) == NULL ||
	    sqlite3_step(s) != SQLITE_ROW) {
		sq_err(st, errstr, "cannot begin a batch");
		return -1;
	}
	st->batch_first_msg = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return 0;
}

const struct touched *
ingest_touched(struct store *st, size_t *n)
{
	*n = st->ingest->ntouched;
	return st->ingest->touched;
}

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
	if (st->observer != NULL && batch_first_msg(st, errstr) == -1) {
		store_rollback(st);
		return -1;
	}
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

int64_t
sq_account_id(struct store *st, const char *platform, const char *name,
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
/* The classifier's score, language and cues at i, i+1, i+2 (NULL when
 * the message was not scored). */
static void
bind_scored(sqlite3_stmt *s, int i, const struct msg *m)
{
	if (!m->scored) {
		sqlite3_bind_null(s, i);
		sqlite3_bind_null(s, i + 1);
		sqlite3_bind_null(s, i + 2);
		return;
	}
	sqlite3_bind_double(s, i, m->complaint_score);
	sq_bind_text(s, i + 1, m->lang[0] != '\0' ? m->lang : NULL);
	sq_bind_text(s, i + 2, m->cues);
}

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
	    !same_text(sq_column_text(s, 2), m->url) ||
	    (m->scored && (sqlite3_column_type(s, 4) == SQLITE_NULL ||
	    sqlite3_column_double(s, 4) != m->complaint_score ||
	    !same_text(sq_column_text(s, 5), m->lang[0] ? m->lang : NULL) ||
	    !same_text(sq_column_text(s, 6), m->cues)));
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
	bind_scored(s, 6, m);
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
	n->off[0] = sq_arena_add(&in->arena, m->id);
	n->off[1] = sq_arena_add(&in->arena, m->author);
	n->off[2] = sq_arena_add(&in->arena, m->in_reply_to);
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
	if ((account = sq_account_id(st, m->platform, m->account,
	    errstr)) == -1)
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
	bind_scored(s, 11, m);
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

		n->em.id = sq_arena_str(&in->arena, n->off[0]);
		n->em.author = sq_arena_str(&in->arena, n->off[1]);
		n->em.in_reply_to = sq_arena_str(&in->arena, n->off[2]);
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
		return waits_recompute(st, t);
	msgs = xcalloc(b - a, sizeof *msgs);
	for (i = a; i < b; i++)
		msgs[i - a] = in->news[i].em;
	rc = waits_append(st, t, msgs, b - a);
	free(msgs);
	if (rc == 0)
		return waits_recompute(st, t);
	return rc == 1 ? 0 : -1;
}

int
store_commit(struct store *st, char **errstr)
{
	struct ingest *in = st->ingest;
	size_t i, first_pass, next = 0;
	sqlite3_stmt *s;

	if (!st->in_batch) {
		xasprintf(errstr, "%s: no batch is open", st->path);
		return -1;
	}
	/* Whether any reply awaits its target: entries that this commit
	 * adds name messages not stored, so never one of this batch's. */
	if ((s = sq_stmt(st, S_AWAITED_ANY)) == NULL ||
	    sqlite3_step(s) != SQLITE_ROW)
		goto fail;
	st->awaited_any = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
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

		if (waits_recompute(st, &t) == -1)
			goto fail;
	}
	if (save_hours(st) == -1)
		goto fail;
	if (st->observer != NULL && sq_observe(st) == -1)
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
