/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "engine.h"
#include "store.h"
#include "xmalloc.h"

/*
 * SQLite backend of the store.
 *
 * Times are integer milliseconds since the epoch (UTC). Kind and direction
 * are the integers of enum msg_kind and enum msg_direction. The schema is
 * created and upgraded by the numbered migrations below; PRAGMA user_version
 * holds the number of the last one applied.
 */

static const char *const migrations[] = {
	/* 1: messages, conversations, waits */
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  UNIQUE (platform, name));"
	"CREATE TABLE conversations ("
	"  id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL REFERENCES accounts (id),"
	"  kind INTEGER NOT NULL,"
	"  conv TEXT NOT NULL,"
	"  first_ms INTEGER,"		/* set when it begins with an inbound message */
	"  first_response_ms INTEGER,"
	"  first_complaint_ms INTEGER,"
	"  UNIQUE (account_id, kind, conv));"
	"CREATE INDEX conversations_first ON conversations (first_ms)"
	"  WHERE first_ms IS NOT NULL;"
	"CREATE TABLE messages ("
	"  id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL REFERENCES accounts (id),"
	"  msg_id TEXT NOT NULL,"
	"  conv_id INTEGER NOT NULL REFERENCES conversations (id),"
	"  direction INTEGER NOT NULL,"
	"  created_ms INTEGER NOT NULL,"
	"  author TEXT,"
	"  in_reply_to TEXT,"
	"  complaint INTEGER,"
	"  text TEXT,"
	"  url TEXT,"
	"  UNIQUE (account_id, msg_id));"
	"CREATE INDEX messages_conv ON messages (conv_id);"
	"CREATE INDEX messages_reply ON messages (account_id, in_reply_to)"
	"  WHERE in_reply_to IS NOT NULL;"
	"CREATE INDEX messages_created ON messages (created_ms);"
	"CREATE TABLE waits ("
	"  id INTEGER PRIMARY KEY,"
	"  conv_id INTEGER NOT NULL REFERENCES conversations (id),"
	"  account_id INTEGER NOT NULL REFERENCES accounts (id),"
	"  kind INTEGER NOT NULL,"
	"  author TEXT,"
	"  opened_ms INTEGER NOT NULL,"
	"  closed_ms INTEGER,"
	"  complaint_ms INTEGER,"
	"  open_msg INTEGER NOT NULL,"
	"  close_msg INTEGER,"
	"  inbound INTEGER NOT NULL);"
	"CREATE INDEX waits_conv ON waits (conv_id);"
	"CREATE INDEX waits_opened ON waits (opened_ms);"
	"CREATE INDEX waits_unanswered ON waits (opened_ms)"
	"  WHERE closed_ms IS NULL;",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

enum stmt_id {
	S_ACCOUNT_GET,
	S_ACCOUNT_ADD,
	S_ACCOUNT_ALL,
	S_CONV_GET,
	S_CONV_ADD,
	S_CONV_FIRST,
	S_MSG_ADD,
	S_MSG_GET,
	S_MSG_UPDATE,
	S_MSG_CONV_OF,
	S_CONV_MSGS,
	S_CONV_FOREIGN,
	S_WAITS_DELETE,
	S_WAIT_ADD,
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_NSTMT
};

static const char *const stmt_sql[S_NSTMT] = {
	[S_ACCOUNT_GET] = "SELECT id FROM accounts WHERE platform = ? AND name = ?",
	[S_ACCOUNT_ADD] = "INSERT INTO accounts (platform, name) VALUES (?, ?)",
	[S_ACCOUNT_ALL] = "SELECT id, platform, name FROM accounts ORDER BY id",
	[S_CONV_GET] = "SELECT id FROM conversations"
	    " WHERE account_id = ? AND kind = ? AND conv = ?",
	[S_CONV_ADD] = "INSERT INTO conversations (account_id, kind, conv)"
	    " VALUES (?, ?, ?)",
	[S_CONV_FIRST] = "UPDATE conversations SET first_ms = ?,"
	    " first_response_ms = ?, first_complaint_ms = ? WHERE id = ?",
	[S_MSG_ADD] = "INSERT OR IGNORE INTO messages (account_id, msg_id,"
	    " conv_id, direction, created_ms, author, in_reply_to, complaint,"
	    " text, url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_MSG_GET] = "SELECT conv_id, text, url, complaint FROM messages"
	    " WHERE account_id = ? AND msg_id = ?",
	[S_MSG_UPDATE] = "UPDATE messages SET text = ?3, url = ?4,"
	    " complaint = coalesce(?5, complaint)"
	    " WHERE account_id = ?1 AND msg_id = ?2",
	[S_MSG_CONV_OF] = "SELECT m.conv_id, c.kind FROM messages m"
	    " JOIN conversations c ON c.id = m.conv_id"
	    " WHERE m.account_id = ? AND m.msg_id = ?",
	[S_CONV_MSGS] = "SELECT id, msg_id, author, in_reply_to, created_ms,"
	    " direction, complaint FROM messages WHERE conv_id = ?",
	[S_CONV_FOREIGN] = "SELECT r.id, r.msg_id, r.author, r.in_reply_to,"
	    " r.created_ms, r.direction, r.complaint"
	    " FROM messages t JOIN messages r"
	    "   ON r.account_id = t.account_id AND r.in_reply_to = t.msg_id"
	    " WHERE t.conv_id = ?1 AND r.conv_id <> ?1 AND r.direction = 1",
	[S_WAITS_DELETE] = "DELETE FROM waits WHERE conv_id = ?",
	[S_WAIT_ADD] = "INSERT INTO waits (conv_id, account_id, kind, author,"
	    " opened_ms, closed_ms, complaint_ms, open_msg, close_msg, inbound)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
};

struct account {
	int64_t	 id;
	char	*platform;
	char	*name;
};

/* A conversation the open batch changed. */
struct touched {
	int64_t	 conv_id;
	int64_t	 account_id;
	int	 kind;
};

struct store {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*stmt[S_NSTMT];
	struct account	*accounts;	/* cache of the accounts table */
	size_t		 naccounts;
	struct touched	*touched;
	size_t		 ntouched, touched_cap;
	int		 in_batch;
};

static void
set_err(struct store *st, char **errstr, const char *what)
{
	xasprintf(errstr, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

static sqlite3_stmt *
stmt_get(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];

	if (s == NULL) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[id], NULL) != SQLITE_OK)
			return NULL;
		s = st->stmt[id];
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static int
exec_simple(struct store *st, enum stmt_id id, char **errstr)
{
	sqlite3_stmt *s = stmt_get(st, id);

	if (s == NULL || sqlite3_step(s) != SQLITE_DONE) {
		set_err(st, errstr, stmt_sql[id]);
		if (s != NULL)
			sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

static void
bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static void
bind_ms_or_null(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

static int64_t
column_ms_or_none(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return -1;
	return sqlite3_column_int64(s, i);
}

static const char *
column_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* ---- opening and migrations ------------------------------------------- */

int
store_schema_latest(void)
{
	return NMIGRATIONS;
}

static int
pragma_int(struct store *st, const char *sql, int *out)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
store_schema_version(struct store *st)
{
	int v = -1;

	pragma_int(st, "PRAGMA user_version", &v);
	return v;
}

static int
migrate(struct store *st, char **errstr)
{
	char *sqlerr = NULL, pragma[64];
	int version, i;

	/* Up to date: take no lock, so readers never wait for a writer. */
	version = store_schema_version(st);
	if (version == NMIGRATIONS)
		return 0;
	if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(st, errstr, "cannot lock the database for its schema");
		return -1;
	}
	version = store_schema_version(st);
	if (version > NMIGRATIONS) {
		xasprintf(errstr, "%s: database schema version %d is newer than "
		    "this replywatch supports (%d): use a newer replywatch",
		    st->path, version, NMIGRATIONS);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	for (i = version; i < NMIGRATIONS; i++) {
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", i + 1);
		if (sqlite3_exec(st->db, migrations[i], NULL, NULL, &sqlerr) != SQLITE_OK ||
		    sqlite3_exec(st->db, pragma, NULL, NULL, &sqlerr) != SQLITE_OK) {
			xasprintf(errstr, "%s: schema migration %d failed: %s",
			    st->path, i + 1, sqlerr ? sqlerr : "?");
			sqlite3_free(sqlerr);
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		set_err(st, errstr, "cannot commit the schema");
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int
configure_connection(struct store *st, char **errstr)
{
	static const char *pragmas =
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA foreign_keys = OFF;"
	    "PRAGMA temp_store = MEMORY;"
	    "PRAGMA cache_size = -16384;";
	char *sqlerr = NULL;

	sqlite3_busy_timeout(st->db, 10000);
	if (sqlite3_exec(st->db, pragmas, NULL, NULL, &sqlerr) != SQLITE_OK) {
		xasprintf(errstr, "%s: %s", st->path, sqlerr ? sqlerr : "?");
		sqlite3_free(sqlerr);
		return -1;
	}
	return 0;
}

static int
load_accounts(struct store *st, char **errstr)
{
	sqlite3_stmt *s = stmt_get(st, S_ACCOUNT_ALL);
	int rc;

	if (s == NULL) {
		set_err(st, errstr, "cannot read accounts");
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct account *a;
		int64_t id = sqlite3_column_int64(s, 0);
		size_t i;

		/* keep what is cached: callers hold its name strings */
		for (i = 0; i < st->naccounts; i++)
			if (st->accounts[i].id == id)
				break;
		if (i < st->naccounts)
			continue;
		st->accounts = xreallocarray(st->accounts, st->naccounts + 1,
		    sizeof *st->accounts);
		a = &st->accounts[st->naccounts++];
		a->id = sqlite3_column_int64(s, 0);
		a->platform = xstrdup(column_text(s, 1));
		a->name = xstrdup(column_text(s, 2));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		set_err(st, errstr, "cannot read accounts");
		return -1;
	}
	return 0;
}

struct store *
store_open(const char *path, int flags, char **errstr)
{
	struct store *st = xcalloc(1, sizeof *st);
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;

	if (flags & STORE_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	st->path = xstrdup(path);
	if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
		if (st->db == NULL)
			xasprintf(errstr, "%s: cannot open database", path);
		else
			xasprintf(errstr, "%s: cannot open database: %s", path,
			    sqlite3_errmsg(st->db));
		store_close(st);
		return NULL;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (configure_connection(st, errstr) == -1 || migrate(st, errstr) == -1 ||
	    load_accounts(st, errstr) == -1) {
		store_close(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	size_t i;

	if (st == NULL)
		return;
	if (st->in_batch)
		store_rollback(st);
	for (i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(st->stmt[i]);
	for (i = 0; i < st->naccounts; i++) {
		free(st->accounts[i].platform);
		free(st->accounts[i].name);
	}
	free(st->accounts);
	free(st->touched);
	if (st->db != NULL)
		sqlite3_close(st->db);
	free(st->path);
	free(st);
}

/* An account by row id. Another process (the daemon) may have added it
 * since the cache was loaded: on a miss, read the new ones once. */
static const struct account *
account_by_id(struct store *st, int64_t id)
{
	char *err = NULL;
	int pass;
	size_t i;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < st->naccounts; i++)
			if (st->accounts[i].id == id)
				return &st->accounts[i];
		if (pass == 1 || st->in_batch)
			break;
		if (load_accounts(st, &err) == -1) {
			free(err);
			break;
		}
	}
	return NULL;
}

static const struct account *
account_by_name(const struct store *st, const char *platform, const char *name)
{
	size_t i;

	for (i = 0; i < st->naccounts; i++) {
		const struct account *a = &st->accounts[i];

		if (strcmp(a->name, name) == 0 &&
		    (platform == NULL || strcmp(a->platform, platform) == 0))
			return a;
	}
	return NULL;
}

/* ---- writing ------------------------------------------------------------ */

static void
accounts_forget(struct store *st)
{
	size_t i;

	for (i = 0; i < st->naccounts; i++) {
		free(st->accounts[i].platform);
		free(st->accounts[i].name);
	}
	free(st->accounts);
	st->accounts = NULL;
	st->naccounts = 0;
}

int
store_begin(struct store *st, char **errstr)
{
	if (st->in_batch) {
		xasprintf(errstr, "%s: a batch is already open", st->path);
		return -1;
	}
	if (exec_simple(st, S_BEGIN, errstr) == -1)
		return -1;
	st->in_batch = 1;
	st->ntouched = 0;
	return 0;
}

void
store_rollback(struct store *st)
{
	char *err = NULL;

	if (!st->in_batch)
		return;
	st->in_batch = 0;
	st->ntouched = 0;
	exec_simple(st, S_ROLLBACK, &err);
	free(err);
	/* accounts added in the batch are gone again */
	accounts_forget(st);
	err = NULL;
	load_accounts(st, &err);
	free(err);
}

static int64_t
account_id(struct store *st, const char *platform, const char *name,
    char **errstr)
{
	const struct account *a = account_by_name(st, platform, name);
	struct account *na;
	sqlite3_stmt *s;

	if (a != NULL)
		return a->id;
	if ((s = stmt_get(st, S_ACCOUNT_ADD)) == NULL)
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
	set_err(st, errstr, "cannot add account");
	if (s != NULL)
		sqlite3_reset(s);
	return -1;
}

static int64_t
conversation_id(struct store *st, int64_t account, int kind, const char *conv,
    char **errstr)
{
	sqlite3_stmt *s = stmt_get(st, S_CONV_GET);
	int64_t id;
	int rc;

	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_int(s, 2, kind);
	sqlite3_bind_text(s, 3, conv, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		id = sqlite3_column_int64(s, 0);
		sqlite3_reset(s);
		return id;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE || (s = stmt_get(st, S_CONV_ADD)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_int(s, 2, kind);
	sqlite3_bind_text(s, 3, conv, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE)
		goto fail;
	sqlite3_reset(s);
	return sqlite3_last_insert_rowid(st->db);
fail:
	set_err(st, errstr, "cannot find or add conversation");
	if (s != NULL)
		sqlite3_reset(s);
	return -1;
}

static void
touch(struct store *st, int64_t conv_id, int64_t account, int kind)
{
	struct touched *t;

	if (st->ntouched > 0 && st->touched[st->ntouched - 1].conv_id == conv_id)
		return;
	if (st->ntouched == st->touched_cap) {
		st->touched_cap = st->touched_cap ? st->touched_cap * 2 : 256;
		st->touched = xreallocarray(st->touched, st->touched_cap,
		    sizeof *st->touched);
	}
	t = &st->touched[st->ntouched++];
	t->conv_id = conv_id;
	t->account_id = account;
	t->kind = kind;
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

/* The message exists: update its mutable fields; touch its conversation
 * if the complaint flag changed (the waits depend on it). */
static int
update_message(struct store *st, int64_t account, const struct msg *m,
    char **errstr)
{
	sqlite3_stmt *s = stmt_get(st, S_MSG_GET);
	int64_t conv;
	int rc, changed, complaint_changed;

	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_text(s, 2, m->id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(s)) != SQLITE_ROW) {
		sqlite3_reset(s);
		goto fail;
	}
	conv = sqlite3_column_int64(s, 0);
	complaint_changed = m->complaint != MSG_COMPLAINT_UNKNOWN &&
	    (sqlite3_column_type(s, 3) == SQLITE_NULL ||
	    sqlite3_column_int(s, 3) != (int)m->complaint);
	changed = complaint_changed ||
	    !same_text(column_text(s, 1), m->text) ||
	    !same_text(column_text(s, 2), m->url);
	sqlite3_reset(s);
	if (!changed)
		return 0;

	if ((s = stmt_get(st, S_MSG_UPDATE)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_text(s, 2, m->id, -1, SQLITE_STATIC);
	bind_text_or_null(s, 3, m->text);
	bind_text_or_null(s, 4, m->url);
	bind_complaint(s, 5, m->complaint);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto fail;
	if (complaint_changed)
		touch(st, conv, account, m->kind);
	return 0;
fail:
	set_err(st, errstr, "cannot update message");
	return -1;
}

int
store_put_message(struct store *st, const struct msg *m, int *added,
    char **errstr)
{
	int64_t account, conv;
	sqlite3_stmt *s;

	*added = 0;
	if ((account = account_id(st, m->platform, m->account, errstr)) == -1)
		return -1;
	if ((conv = conversation_id(st, account, m->kind, m->conversation,
	    errstr)) == -1)
		return -1;
	if ((s = stmt_get(st, S_MSG_ADD)) == NULL) {
		set_err(st, errstr, "cannot add message");
		return -1;
	}
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_text(s, 2, m->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, conv);
	sqlite3_bind_int(s, 4, m->direction);
	sqlite3_bind_int64(s, 5, m->created_ms);
	bind_text_or_null(s, 6, m->author);
	bind_text_or_null(s, 7, m->in_reply_to);
	bind_complaint(s, 8, m->complaint);
	bind_text_or_null(s, 9, m->text);
	bind_text_or_null(s, 10, m->url);
	if (sqlite3_step(s) != SQLITE_DONE) {
		set_err(st, errstr, "cannot add message");
		sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	if (sqlite3_changes(st->db) == 0)
		return update_message(st, account, m, errstr);
	*added = 1;
	touch(st, conv, account, m->kind);
	return 0;
}

/* ---- recomputing waits ---------------------------------------------------- */

/* Strings of the loaded messages, kept as offsets until loading is done. */
struct arena {
	char	*buf;
	size_t	 len, cap;
};

static size_t
arena_add(struct arena *a, const char *s)
{
	size_t n, off;

	if (s == NULL)
		return SIZE_MAX;
	n = strlen(s) + 1;
	if (a->len + n > a->cap) {
		while (a->len + n > a->cap)
			a->cap = a->cap ? a->cap * 2 : 1024;
		a->buf = xreallocarray(a->buf, a->cap, 1);
	}
	off = a->len;
	memcpy(a->buf + off, s, n);
	a->len += n;
	return off;
}

struct loaded {
	struct engine_msg *msgs;
	size_t		 n, cap;
	struct arena	 arena;
	/* offsets of id, author, in_reply_to per message */
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

/* Append the rows of a (id, msg_id, author, in_reply_to, created_ms,
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
		l->off[l->n][0] = arena_add(&l->arena, column_text(s, 1));
		l->off[l->n][1] = arena_add(&l->arena, column_text(s, 2));
		l->off[l->n][2] = arena_add(&l->arena, column_text(s, 3));
		m->created_ms = sqlite3_column_int64(s, 4);
		m->direction = sqlite3_column_int(s, 5);
		m->complaint = sqlite3_column_int(s, 6) == MSG_COMPLAINT_YES;
		m->foreign = foreign;
		l->n++;
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
loaded_fix_pointers(struct loaded *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		struct engine_msg *m = &l->msgs[i];

		m->id = l->arena.buf + l->off[i][0];
		m->author = l->off[i][1] == SIZE_MAX ? NULL :
		    l->arena.buf + l->off[i][1];
		m->in_reply_to = l->off[i][2] == SIZE_MAX ? NULL :
		    l->arena.buf + l->off[i][2];
	}
}

static int
load_for_engine(struct store *st, const struct touched *t, struct loaded *l)
{
	sqlite3_stmt *s;

	if ((s = stmt_get(st, S_CONV_MSGS)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, t->conv_id);
	if (load_rows(s, l, 0) == -1)
		return -1;
	if (t->kind == MSG_BROADCAST) {
		if ((s = stmt_get(st, S_CONV_FOREIGN)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, t->conv_id);
		if (load_rows(s, l, 1) == -1)
			return -1;
	}
	loaded_fix_pointers(l);
	return 0;
}

static int
write_waits(struct store *st, const struct touched *t,
    const struct engine_result *res)
{
	sqlite3_stmt *s;
	size_t i;

	if ((s = stmt_get(st, S_WAITS_DELETE)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, t->conv_id);
	if (sqlite3_step(s) != SQLITE_DONE)
		return -1;
	sqlite3_reset(s);
	for (i = 0; i < res->nwaits; i++) {
		const struct engine_wait *w = &res->waits[i];

		if ((s = stmt_get(st, S_WAIT_ADD)) == NULL)
			return -1;
		sqlite3_bind_int64(s, 1, t->conv_id);
		sqlite3_bind_int64(s, 2, t->account_id);
		sqlite3_bind_int(s, 3, t->kind);
		bind_text_or_null(s, 4, t->kind == MSG_BROADCAST ? w->author : NULL);
		sqlite3_bind_int64(s, 5, w->opened_ms);
		bind_ms_or_null(s, 6, w->closed_ms);
		bind_ms_or_null(s, 7, w->complaint_ms);
		sqlite3_bind_int64(s, 8, w->open_ref);
		bind_ms_or_null(s, 9, w->close_ref);
		sqlite3_bind_int(s, 10, w->inbound);
		if (sqlite3_step(s) != SQLITE_DONE)
			return -1;
		sqlite3_reset(s);
	}
	if ((s = stmt_get(st, S_CONV_FIRST)) == NULL)
		return -1;
	if (res->first_inbound) {
		sqlite3_bind_int64(s, 1, res->first_ms);
		bind_ms_or_null(s, 2, res->first_response_ms);
		bind_ms_or_null(s, 3, res->nwaits > 0 ?
		    res->waits[0].complaint_ms : -1);
	}
	sqlite3_bind_int64(s, 4, t->conv_id);
	if (sqlite3_step(s) != SQLITE_DONE)
		return -1;
	sqlite3_reset(s);
	return 0;
}

/* An own reply whose target is in another conversation: that one's waits
 * depend on it too. */
static int
touch_reply_target(struct store *st, int64_t account, const char *target)
{
	sqlite3_stmt *s = stmt_get(st, S_MSG_CONV_OF);
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, account);
	sqlite3_bind_text(s, 2, target, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_int(s, 1) == MSG_BROADCAST)
		touch(st, sqlite3_column_int64(s, 0), account, MSG_BROADCAST);
	sqlite3_reset(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int
recompute(struct store *st, size_t ti)
{
	struct touched t = st->touched[ti];
	struct engine_result res;
	struct loaded l = { 0 };
	size_t i;
	int rc = -1;

	if (load_for_engine(st, &t, &l) == -1)
		goto out;
	engine_compute(t.kind, l.msgs, l.n, &res);
	if (write_waits(st, &t, &res) == -1)
		goto done;
	for (i = 0; i < res.nunresolved; i++)
		if (touch_reply_target(st, t.account_id,
		    l.msgs[res.unresolved[i]].in_reply_to) == -1)
			goto done;
	rc = 0;
done:
	engine_result_clear(&res);
out:
	loaded_clear(&l);
	return rc;
}

static int
cmp_touched(const void *pa, const void *pb)
{
	const struct touched *a = pa, *b = pb;

	return (a->conv_id > b->conv_id) - (a->conv_id < b->conv_id);
}

/* Sort and drop duplicates from touched[from..]. */
static void
touched_unique(struct store *st, size_t from)
{
	size_t i, j;

	if (st->ntouched - from < 2)
		return;
	qsort(st->touched + from, st->ntouched - from, sizeof *st->touched,
	    cmp_touched);
	for (i = j = from + 1; i < st->ntouched; i++)
		if (st->touched[i].conv_id != st->touched[j - 1].conv_id)
			st->touched[j++] = st->touched[i];
	st->ntouched = j;
}

static int
touched_contains(const struct store *st, size_t n, int64_t conv)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (st->touched[mid].conv_id == conv)
			return 1;
		if (st->touched[mid].conv_id < conv)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int
store_commit(struct store *st, char **errstr)
{
	size_t i, first_pass;

	if (!st->in_batch) {
		xasprintf(errstr, "%s: no batch is open", st->path);
		return -1;
	}
	touched_unique(st, 0);
	first_pass = st->ntouched;
	for (i = 0; i < first_pass; i++)
		if (recompute(st, i) == -1)
			goto fail;
	/* Conversations reached only through replies from others: compute
	 * each once (their recomputation adds no further ones). */
	touched_unique(st, first_pass);
	for (i = first_pass; i < st->ntouched; i++) {
		if (touched_contains(st, first_pass, st->touched[i].conv_id))
			continue;
		if (recompute(st, i) == -1)
			goto fail;
	}
	if (exec_simple(st, S_COMMIT, errstr) == -1) {
		store_rollback(st);
		return -1;
	}
	st->in_batch = 0;
	st->ntouched = 0;
	return 0;
fail:
	set_err(st, errstr, "cannot recompute waits");
	store_rollback(st);
	return -1;
}

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
		set_err(st, errstr, "cannot prepare query");
		return NULL;
	}
	if ((i = sqlite3_bind_parameter_index(s, ":since")) > 0)
		sqlite3_bind_int64(s, i, f->since_ms);
	if ((i = sqlite3_bind_parameter_index(s, ":until")) > 0)
		sqlite3_bind_int64(s, i, f->until_ms);
	if ((i = sqlite3_bind_parameter_index(s, ":at")) > 0)
		sqlite3_bind_int64(s, i, f->at_ms);
	if ((i = sqlite3_bind_parameter_index(s, ":account")) > 0)
		bind_text_or_null(s, i, f->account);
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
		set_err(st, errstr, "query failed");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

/* Accounts are matched by id in C: the table is tiny and a join per row
 * costs more than the lookup. */
#define ACCOUNT_MATCH \
	" AND (:account IS NULL OR account_id IN" \
	"      (SELECT id FROM accounts WHERE name = :account))"

static const char wait_query[] =
    "SELECT account_id, kind, opened_ms, closed_ms, complaint_ms"
    " FROM waits"
    " WHERE opened_ms >= :since AND opened_ms < :until AND opened_ms <= :at"
    " AND (:kind IS NULL OR kind = :kind)" ACCOUNT_MATCH;

int
store_each_wait(struct store *st, const struct store_filter *f,
    store_wait_fn *fn, void *arg, char **errstr)
{
	sqlite3_stmt *s = prepare_filtered(st, wait_query, f, errstr);
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const struct account *a = account_by_id(st,
		    sqlite3_column_int64(s, 0));
		struct stats_wait w;

		if (a == NULL)
			continue;
		w.platform = a->platform;
		w.account = a->name;
		w.kind = sqlite3_column_int(s, 1);
		w.opened_ms = sqlite3_column_int64(s, 2);
		w.closed_ms = column_ms_or_none(s, 3);
		w.complaint_ms = column_ms_or_none(s, 4);
		fn(&w, arg);
	}
	return finish_query(st, s, rc, errstr);
}

char *
store_explain_wait_query(struct store *st, const struct store_filter *f)
{
	char *sql, *out = xstrdup(""), *tmp, *err = NULL;
	sqlite3_stmt *s;

	xasprintf(&sql, "EXPLAIN QUERY PLAN %s", wait_query);
	s = prepare_filtered(st, sql, f, &err);
	free(sql);
	if (s == NULL) {
		free(out);
		return err;
	}
	while (sqlite3_step(s) == SQLITE_ROW) {
		xasprintf(&tmp, "%s%s\n", out, column_text(s, 3));
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
	static const char sql[] =
	    "SELECT account_id, kind, first_ms, first_response_ms,"
	    " first_complaint_ms FROM conversations"
	    " WHERE first_ms >= :since AND first_ms < :until AND first_ms <= :at"
	    " AND (:kind IS NULL OR kind = :kind)" ACCOUNT_MATCH;
	sqlite3_stmt *s = prepare_filtered(st, sql, f, errstr);
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const struct account *a = account_by_id(st,
		    sqlite3_column_int64(s, 0));
		struct stats_conversation c;

		if (a == NULL)
			continue;
		c.platform = a->platform;
		c.account = a->name;
		c.kind = sqlite3_column_int(s, 1);
		c.first_ms = sqlite3_column_int64(s, 2);
		c.first_response_ms = column_ms_or_none(s, 3);
		c.first_complaint_ms = column_ms_or_none(s, 4);
		fn(&c, arg);
	}
	return finish_query(st, s, rc, errstr);
}

int
store_each_pending(struct store *st, const struct store_filter *f,
    store_pending_fn *fn, void *arg, char **errstr)
{
	static const char sql[] =
	    "SELECT w.account_id, w.kind, c.conv, w.author, w.opened_ms,"
	    " w.complaint_ms, w.inbound, m.msg_id, m.url, m.text"
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
		const struct account *a = account_by_id(st,
		    sqlite3_column_int64(s, 0));
		struct store_pending p;
		int64_t cms;

		if (a == NULL)
			continue;
		p.platform = a->platform;
		p.account = a->name;
		p.kind = sqlite3_column_int(s, 1);
		p.conversation = column_text(s, 2);
		p.author = column_text(s, 3);
		p.opened_ms = sqlite3_column_int64(s, 4);
		cms = column_ms_or_none(s, 5);
		p.complaint_ms = cms >= 0 && cms <= f->at_ms ? cms : -1;
		p.inbound = sqlite3_column_int(s, 6);
		p.first_id = column_text(s, 7);
		p.url = column_text(s, 8);
		p.text = column_text(s, 9);
		fn(&p, arg);
	}
	return finish_query(st, s, rc, errstr);
}

#define MESSAGE_COLUMNS \
	"SELECT m.account_id, m.msg_id, c.conv, c.kind, m.direction," \
	" m.created_ms, m.author, m.in_reply_to, m.text, m.url, m.complaint" \
	" FROM messages m JOIN conversations c ON c.id = m.conv_id"

/* Fill a borrowed struct msg from a MESSAGE_COLUMNS row. */
static int
row_to_msg(struct store *st, sqlite3_stmt *s, struct msg *m)
{
	const struct account *a = account_by_id(st, sqlite3_column_int64(s, 0));

	if (a == NULL)
		return -1;
	m->platform = a->platform;
	m->account = a->name;
	m->id = (char *)column_text(s, 1);
	m->conversation = (char *)column_text(s, 2);
	m->kind = sqlite3_column_int(s, 3);
	m->direction = sqlite3_column_int(s, 4);
	m->created_ms = sqlite3_column_int64(s, 5);
	m->author = (char *)column_text(s, 6);
	m->in_reply_to = (char *)column_text(s, 7);
	m->text = (char *)column_text(s, 8);
	m->url = (char *)column_text(s, 9);
	m->complaint = sqlite3_column_type(s, 10) == SQLITE_NULL ?
	    MSG_COMPLAINT_UNKNOWN : sqlite3_column_int(s, 10);
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
	static const char sql[] = MESSAGE_COLUMNS
	    " WHERE m.created_ms >= :since AND m.created_ms < :until"
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
	    " WHERE m.id IN (SELECT r.id FROM messages t JOIN messages r"
	    "   ON r.account_id = t.account_id AND r.in_reply_to = t.msg_id"
	    "   WHERE t.conv_id = :conv AND r.conv_id <> :conv"
	    "   AND r.direction = 1)";
	const struct account *a = account_by_name(st, platform, account);
	struct store_filter f = { .kind = -1 };
	sqlite3_stmt *s;
	size_t own_n;
	int64_t conv;
	int rc;

	memset(out, 0, sizeof *out);
	if (a == NULL)
		return 0;
	if ((s = stmt_get(st, S_CONV_GET)) == NULL) {
		set_err(st, errstr, "cannot find conversation");
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
