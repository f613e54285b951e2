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
/* Bytes of keys per entry, on average, that the cache may hold before it
 * is emptied as when full: usual keys take some 30, and conversations of
 * MSG_MAX_ID bytes would otherwise take 67 MiB for CONV_CACHE_BULK. */
#define CONV_KEY_BYTES		48
/* What a batch may keep of its new messages before store_batch_full says
 * to commit it: some 87 bytes per message with ids of the usual length
 * (the benchmark's batches end at about 145,000 messages), up to 30 times
 * as much with ids of MSG_MAX_ID bytes. With SQLite's page cache and the
 * conversation cache, this keeps an import within 64 MiB whatever its
 * input. */
#define BATCH_MEMORY_MAX	(12u << 20)
/* New messages of one conversation that the engine takes at a time. */
#define APPEND_SLICE		8192

/* A message the batch added: what its conversation's waits need of it.
 * Its strings follow each other in the arena: the id, then for a broadcast
 * message the author and in_reply_to when present (the engine reads
 * neither for a direct message). */
struct newmsg {
	int64_t		 conv_id;
	int64_t		 account_id;
	int64_t		 ref;		/* its row id */
	int64_t		 created_ms;
	size_t		 strings;	/* arena offset of the id */
	uint8_t		 kind;
	uint8_t		 direction;
	uint8_t		 complaint;	/* flagged as a complaint */
	uint8_t		 created;	/* it added its conversation */
	uint8_t		 has_author;
	uint8_t		 has_reply_to;
};

/* (account, kind, conversation) -> row id, so that most messages need no
 * query to find their conversation. The keys live in the cache's arena
 * (the account id, the kind, the conversation and its NUL); a slot keeps
 * its offset and a tag, 31 bits of the key's hash, so that a probe reads
 * the arena only for a likely match. Conversations are at most
 * MSG_MAX_ID bytes (longer ones are not cached): CONV_CACHE_BULK keys fit
 * in 32-bit offsets. */
struct conv_slot {
	int64_t		 id;
	uint32_t	 key;		/* arena offset of the key */
	uint32_t	 tag;		/* 0: a free slot */
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
	struct sq_arena	 arena;		/* the new messages' strings */
	struct conv_slot *slots;
	size_t		 nslots, nused;
	size_t		 max_used;	/* CONV_CACHE_BULK or _DEFAULT */
	struct sq_arena	 keys;		/* the cached conversations' keys */
};

/* ---- memory of the batch ---------------------------------------------------- */

static void
conv_cache_clear(struct ingest *in)
{
	if (in->slots != NULL)
		memset(in->slots, 0, in->nslots * sizeof *in->slots);
	in->nused = 0;
	in->keys.len = 0;
}

void
ingest_free(struct ingest *in)
{
	if (in == NULL)
		return;
	free(in->slots);
	free(in->keys.buf);
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
hash_conv(int64_t account, int kind, const char *conv)
{
	uint64_t h = 1469598103934665603ULL;

	h = (h ^ (uint64_t)account) * 1099511628211ULL;
	h = (h ^ (uint64_t)kind) * 1099511628211ULL;
	for (; *conv != '\0'; conv++)
		h = (h ^ (unsigned char)*conv) * 1099511628211ULL;
	return h;
}

/* The tag of a key of hash h: its high bits, never 0 (a free slot). */
static uint32_t
conv_tag(uint64_t h)
{
	return (uint32_t)(h >> 32) | 1;
}

/* A key in the arena: the account id, the kind, the conversation. */
static int
conv_key_is(const struct ingest *in, uint32_t key, int64_t account, int kind,
    const char *conv)
{
	const char *p = in->keys.buf + key;
	int64_t a;

	memcpy(&a, p, sizeof a);
	return a == account && (unsigned char)p[sizeof a] == (unsigned)kind &&
	    strcmp(p + sizeof a + 1, conv) == 0;
}

/* The slot of a conversation (hash h), or the free slot where it would go. */
static struct conv_slot *
conv_slot(struct ingest *in, int64_t account, int kind, const char *conv,
    uint64_t h)
{
	uint32_t tag = conv_tag(h);
	size_t i = h & (in->nslots - 1);
	struct conv_slot *s;

	for (;; i = (i + 1) & (in->nslots - 1)) {
		s = &in->slots[i];
		if (s->tag == 0 || (s->tag == tag &&
		    conv_key_is(in, s->key, account, kind, conv)))
			return s;
	}
}

static void
conv_cache_put(struct ingest *in, int64_t account, int kind, const char *conv,
    uint64_t h, int64_t id)
{
	struct conv_slot *s;
	size_t len = strlen(conv);
	unsigned char k = (unsigned char)kind;

	if (len > MSG_MAX_ID)
		return;		/* not cached: keys stay in 32-bit offsets */
	if (in->nused >= in->max_used || in->keys.len + sizeof account + 1 +
	    len + 1 > in->max_used * CONV_KEY_BYTES)
		conv_cache_clear(in);
	if (in->nslots == 0) {
		in->nslots = 2 * in->max_used;
		in->slots = xcalloc(in->nslots, sizeof *in->slots);
	}
	s = conv_slot(in, account, kind, conv, h);
	if (s->tag == 0) {
		s->tag = conv_tag(h);
		s->key = (uint32_t)sq_arena_put(&in->keys, &account,
		    sizeof account);
		sq_arena_put(&in->keys, &k, 1);
		sq_arena_put(&in->keys, conv, len + 1);
		in->nused++;
	}
	s->id = id;
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
	uint64_t h = hash_conv(account, kind, conv);
	struct conv_slot *slot;
	sqlite3_stmt *s;
	int64_t id = -1;
	int rc;

	*created = 0;
	if (in->nslots > 0 &&
	    (slot = conv_slot(in, account, kind, conv, h))->tag != 0)
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
	conv_cache_put(in, account, kind, conv, h, id);
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
remember_new(struct ingest *in, int64_t account, int64_t conv, int created,
    int64_t ref, const struct msg *m)
{
	struct newmsg *n;

	if (in->nnews == in->news_cap) {
		in->news_cap = in->news_cap ? in->news_cap * 2 : 1024;
		in->news = xreallocarray(in->news, in->news_cap, sizeof *in->news);
	}
	n = &in->news[in->nnews++];
	n->conv_id = conv;
	n->account_id = account;
	n->ref = ref;
	n->created_ms = m->created_ms;
	n->kind = (uint8_t)m->kind;
	n->direction = (uint8_t)m->direction;
	n->complaint = m->complaint == MSG_COMPLAINT_YES;
	n->created = (uint8_t)created;
	n->strings = sq_arena_add(&in->arena, m->id);
	n->has_author = n->has_reply_to = 0;
	if (m->kind != MSG_BROADCAST)
		return;
	if (m->author != NULL) {
		sq_arena_add(&in->arena, m->author);
		n->has_author = 1;
	}
	if (m->in_reply_to != NULL) {
		sq_arena_add(&in->arena, m->in_reply_to);
		n->has_reply_to = 1;
	}
}

int
store_batch_full(struct store *st)
{
	const struct ingest *in = st->ingest;

	return in != NULL && in->arena.len + in->nnews * sizeof *in->news >=
	    BATCH_MEMORY_MAX;
}

int
store_put_message(struct store *st, const struct msg *m, int *added,
    char **errstr)
{
	int64_t account, conv, ref;
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
	/* every parameter is bound below */
	if ((s = sq_stmt_rebind(st, S_MSG_ADD)) == NULL) {
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
	ref = sqlite3_last_insert_rowid(st->db);
	remember_new(st->ingest, account, conv, created, ref, m);
	note_hour(st->ingest, m->created_ms, ref);
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

/* The engine's view of a new message; its strings are in the arena. */
static struct engine_msg
news_engine_msg(const struct ingest *in, const struct newmsg *n)
{
	struct engine_msg em = {
		.ref = n->ref,
		.id = in->arena.buf + n->strings,
		.created_ms = n->created_ms,
		.direction = n->direction,
		.complaint = n->complaint,
	};
	const char *p = em.id + strlen(em.id) + 1;

	if (n->has_author) {
		em.author = p;
		p += strlen(p) + 1;
	}
	if (n->has_reply_to)
		em.in_reply_to = p;
	return em;
}

static int
cmp_newmsg(const void *pa, const void *pb, void *arg)
{
	const struct ingest *in = arg;
	const struct newmsg *a = pa, *b = pb;

	if (a->conv_id != b->conv_id)
		return (a->conv_id > b->conv_id) - (a->conv_id < b->conv_id);
	/* what engine_msg_cmp reads */
	return engine_msg_cmp(&(struct engine_msg){ .created_ms = a->created_ms,
	    .direction = a->direction, .id = in->arena.buf + a->strings },
	    &(struct engine_msg){ .created_ms = b->created_ms,
	    .direction = b->direction, .id = in->arena.buf + b->strings });
}

/* The batch's new messages, by conversation in the engine's order (that of
 * engine_msg_cmp), and one touched entry for each of their conversations. */
static void
news_prepare(struct ingest *in)
{
	size_t i;

	if (in->nnews > 1)
		qsort_r(in->news, in->nnews, sizeof *in->news, cmp_newmsg, in);
	for (i = 0; i < in->nnews; i++) {
		const struct newmsg *n = &in->news[i];

		touch(in, n->conv_id, n->account_id, n->kind, 0, n->created);
	}
}

/* Bring one conversation up to date: append its new messages, APPEND_SLICE
 * at a time so that the engine's memory does not grow with the batch, or
 * recompute it. */
static int
update_conversation(struct store *st, const struct touched *t, size_t *next)
{
	struct ingest *in = st->ingest;
	struct touched slice = *t;
	struct engine_msg *msgs;
	size_t a, b, end, i;
	int rc = 1;

	while (*next < in->nnews && in->news[*next].conv_id < t->conv_id)
		(*next)++;
	for (a = b = *next; b < in->nnews && in->news[b].conv_id == t->conv_id; b++)
		;
	*next = b;
	if (t->full || a == b)
		return waits_recompute(st, t);
	msgs = xreallocarray(NULL, b - a < APPEND_SLICE ? b - a : APPEND_SLICE,
	    sizeof *msgs);
	for (; a < b && rc == 1; a = end) {
		end = b - a < APPEND_SLICE ? b : a + APPEND_SLICE;
		for (i = a; i < end; i++)
			msgs[i - a] = news_engine_msg(in, &in->news[i]);
		rc = waits_append(st, &slice, msgs, end - a);
		slice.created = 0;	/* the first slice saved its state */
	}
	free(msgs);
	/* not appendable: a recomputation takes all of its messages, those
	 * of the slices not appended yet included */
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
