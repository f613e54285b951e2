/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store-sqlite.h"
#include "xmalloc.h"

/*
 * SQLite backend of the store.
 *
 * Times are integer milliseconds since the epoch (UTC). Kind and direction
 * are the integers of enum msg_kind and enum msg_direction. The schema is
 * created and upgraded by the numbered migrations below; PRAGMA user_version
 * holds the number of the last one applied.
 */

/* The WAL file is cut back to this after a checkpoint (bytes). */
#define WAL_SIZE_LIMIT	"67108864"

static const char *const migrations[] = {
	/* 1: messages, conversations, waits */
	"CREATE TABLE accounts ("
	"  id INTEGER PRIMARY KEY,"
	"  platform TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  UNIQUE (platform, name));"
	/* a conversation remembers its first message, for the first response
	 * time, and its last one: a batch whose messages all come later is
	 * appended to its open waits instead of recomputing all of them */
	"CREATE TABLE conversations ("
	"  id INTEGER PRIMARY KEY,"
	"  account_id INTEGER NOT NULL REFERENCES accounts (id),"
	"  kind INTEGER NOT NULL,"
	"  conv TEXT NOT NULL,"
	"  first_ms INTEGER,"
	"  first_inbound INTEGER NOT NULL DEFAULT 0,"
	"  first_msg INTEGER,"
	"  first_response_ms INTEGER,"
	"  first_complaint_ms INTEGER,"
	"  last_ms INTEGER,"
	"  last_dir INTEGER,"
	"  last_id TEXT,"
	"  UNIQUE (account_id, kind, conv));"
	"CREATE INDEX conversations_first ON conversations (first_ms,"
	"  account_id, kind, first_response_ms, first_complaint_ms)"
	"  WHERE first_inbound = 1;"
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

	/* where the messages of each hour lie, by row id: the log reads a
	 * window through it instead of an index on time, which would cost
	 * every insert more than all of this */
	"CREATE TABLE message_hours ("
	"  hour INTEGER PRIMARY KEY,"
	"  first_id INTEGER NOT NULL,"
	"  last_id INTEGER NOT NULL);"
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
	/* The brand's public replies that answer a message of another
	 * conversation than their own (rare: most stay in their thread).
	 * cross_replies: the reply and the conversation it acts in.
	 * awaited_targets: replies whose target is not stored yet; when it
	 * arrives, the pair moves to cross_replies. Together they replace
	 * an index on in_reply_to, which every insert would pay for. */
	"CREATE TABLE cross_replies ("
	"  conv_id INTEGER NOT NULL,"
	"  reply INTEGER NOT NULL,"
	"  PRIMARY KEY (conv_id, reply)) WITHOUT ROWID;"
	"CREATE TABLE awaited_targets ("
	"  account_id INTEGER NOT NULL,"
	"  msg_id TEXT NOT NULL,"
	"  reply INTEGER NOT NULL,"
	"  PRIMARY KEY (account_id, msg_id, reply)) WITHOUT ROWID;"
	"CREATE INDEX waits_conv ON waits (conv_id);"
	/* covers the stats query: a window reads only its own waits */
	"CREATE INDEX waits_opened ON waits (opened_ms, account_id, kind,"
	"  closed_ms, complaint_ms);",

	/* 2: what the daemon knows of each stream it polls: the cursor,
	 * committed with the messages it covers, and the poll's health */
	"CREATE TABLE streams ("
	"  account_id INTEGER NOT NULL REFERENCES accounts (id),"
	"  stream TEXT NOT NULL,"
	"  connector TEXT,"
	"  cursor TEXT,"
	"  last_poll_ms INTEGER,"
	"  last_ok_ms INTEGER,"
	"  last_error_ms INTEGER,"
	"  last_error TEXT,"
	"  failures INTEGER NOT NULL DEFAULT 0,"
	"  fetched INTEGER NOT NULL DEFAULT 0,"
	"  rl_limit INTEGER,"
	"  rl_remaining INTEGER,"
	"  rl_reset_ms INTEGER,"
	"  next_poll_ms INTEGER,"
	"  backoff_until_ms INTEGER,"
	"  PRIMARY KEY (account_id, stream)) WITHOUT ROWID;",

	/* 3: how the complaint classifier saw each inbound message */
	"ALTER TABLE messages ADD COLUMN complaint_score REAL;"
	"ALTER TABLE messages ADD COLUMN lang TEXT;"
	"ALTER TABLE messages ADD COLUMN cues TEXT;",

	/* 4: alerts (store-alerts.c). An alert is a rule firing for a subject
	 * of an account (names as in the configuration, not row ids: an
	 * account may fire before it has a message); while it fires it is
	 * the only one of its (rule, account, subject). */
	"CREATE TABLE alerts ("
	"  id INTEGER PRIMARY KEY,"
	"  rule TEXT NOT NULL,"
	"  account TEXT NOT NULL,"
	"  subject TEXT NOT NULL,"
	"  severity TEXT NOT NULL,"
	"  summary TEXT NOT NULL,"
	"  details TEXT,"
	"  fired_ms INTEGER NOT NULL,"
	"  resolved_ms INTEGER,"
	"  notified_ms INTEGER,"
	"  held INTEGER NOT NULL DEFAULT 0);"
	"CREATE UNIQUE INDEX alerts_firing ON alerts (rule, account, subject)"
	"  WHERE resolved_ms IS NULL;"
	/* `replywatch alerts --since`: fired or resolved since */
	"CREATE INDEX alerts_fired ON alerts (fired_ms);"
	"CREATE INDEX alerts_resolved ON alerts (resolved_ms)"
	"  WHERE resolved_ms IS NOT NULL;"
	/* what is to be told, written with the change; done: NULL while
	 * pending, else how it was handled (notified, silenced, dropped) */
	"CREATE TABLE alert_events ("
	"  id INTEGER PRIMARY KEY,"
	"  alert_id INTEGER NOT NULL REFERENCES alerts (id),"
	"  event TEXT NOT NULL,"
	"  at_ms INTEGER NOT NULL,"
	"  done TEXT);"
	"CREATE INDEX alert_events_pending ON alert_events (id)"
	"  WHERE done IS NULL;"
	"CREATE INDEX alert_events_alert ON alert_events (alert_id);"
	/* one per group of events and route: the body exactly as sent and
	 * the state of its delivery; key: the idempotency key */
	"CREATE TABLE notifications ("
	"  id INTEGER PRIMARY KEY,"
	"  key TEXT NOT NULL UNIQUE,"
	"  route TEXT NOT NULL,"
	"  account TEXT,"
	"  rule TEXT,"
	"  event TEXT,"
	"  created_ms INTEGER NOT NULL,"
	"  subject TEXT,"
	"  text TEXT,"
	"  json TEXT,"
	"  state TEXT NOT NULL DEFAULT 'pending',"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_ms INTEGER,"
	"  done_ms INTEGER,"
	"  last_error TEXT);"
	"CREATE INDEX notifications_pending ON notifications (id)"
	"  WHERE state = 'pending';"
	"CREATE TABLE notification_events ("
	"  notification_id INTEGER NOT NULL REFERENCES notifications (id),"
	"  event_id INTEGER NOT NULL REFERENCES alert_events (id),"
	"  PRIMARY KEY (notification_id, event_id)) WITHOUT ROWID;"
	"CREATE INDEX notification_events_event ON notification_events"
	"  (event_id);"
	/* account, rule: NULL for every one. AUTOINCREMENT: people remove
	 * silences by id, which must never name a later one. */
	"CREATE TABLE silences ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  account TEXT,"
	"  rule TEXT,"
	"  created_ms INTEGER NOT NULL,"
	"  until_ms INTEGER NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  created_by TEXT);",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

#define ALERT_COLS "id, rule, account, subject, severity, summary, details," \
	" fired_ms, resolved_ms, notified_ms, held"
#define NOTIF_COLS "id, key, route, account, rule, event, created_ms," \
	" subject, text, json, state, attempts, next_ms, done_ms, last_error"

static const char *const stmt_sql[S_NSTMT] = {
	[S_ACCOUNT_ADD] = "INSERT INTO accounts (platform, name) VALUES (?, ?)",
	[S_ACCOUNT_ALL] = "SELECT id, platform, name FROM accounts ORDER BY id",
	[S_CONV_GET] = "SELECT id FROM conversations"
	    " WHERE account_id = ? AND kind = ? AND conv = ?",
	[S_CONV_ADD] = "INSERT INTO conversations (account_id, kind, conv)"
	    " VALUES (?, ?, ?)",
	[S_CONV_STATE] = "SELECT first_ms, first_inbound, first_msg,"
	    " first_response_ms, first_complaint_ms, last_ms, last_dir, last_id"
	    " FROM conversations WHERE id = ?",
	[S_CONV_SAVE] = "UPDATE conversations SET first_ms = ?2,"
	    " first_inbound = ?3, first_msg = ?4, first_response_ms = ?5,"
	    " first_complaint_ms = ?6, last_ms = ?7, last_dir = ?8, last_id = ?9"
	    " WHERE id = ?1",
	/* the same when only the last message changed: SQLite then leaves
	 * the index conversations_first alone */
	[S_CONV_SAVE_LAST] = "UPDATE conversations SET last_ms = ?2,"
	    " last_dir = ?3, last_id = ?4 WHERE id = ?1",
	[S_MSG_ADD] = "INSERT OR IGNORE INTO messages (account_id, msg_id,"
	    " conv_id, direction, created_ms, author, in_reply_to, complaint,"
	    " text, url, complaint_score, lang, cues)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_MSG_GET] = "SELECT conv_id, text, url, complaint, complaint_score,"
	    " lang, cues FROM messages WHERE account_id = ? AND msg_id = ?",
	[S_MSG_UPDATE] = "UPDATE messages SET text = ?3, url = ?4,"
	    " complaint = coalesce(?5, complaint),"
	    " complaint_score = iif(?6 IS NULL, complaint_score, ?6),"
	    " lang = iif(?6 IS NULL, lang, ?7), cues = iif(?6 IS NULL, cues, ?8)"
	    " WHERE account_id = ?1 AND msg_id = ?2",
	[S_MSG_CONV_OF] = "SELECT m.conv_id, c.kind FROM messages m"
	    " JOIN conversations c ON c.id = m.conv_id"
	    " WHERE m.account_id = ? AND m.msg_id = ?",
	[S_MSG_TARGET] = "SELECT conv_id, author, direction FROM messages"
	    " WHERE account_id = ? AND msg_id = ?",
	[S_AWAITED] = "SELECT 1 FROM awaited_targets"
	    " WHERE account_id = ? AND msg_id = ? LIMIT 1",
	[S_AWAITED_ANY] = "SELECT EXISTS (SELECT 1 FROM awaited_targets)",
	[S_AWAIT] = "INSERT OR IGNORE INTO awaited_targets (account_id, msg_id,"
	    " reply) VALUES (?, ?, ?)",
	[S_AWAIT_CLAIM] = "INSERT OR IGNORE INTO cross_replies (conv_id, reply)"
	    " SELECT ?1, a.reply FROM messages t"
	    " JOIN awaited_targets a"
	    "   ON a.account_id = t.account_id AND a.msg_id = t.msg_id"
	    " JOIN messages r ON r.id = a.reply"
	    " WHERE t.conv_id = ?1 AND r.conv_id <> ?1",
	[S_AWAIT_DROP] = "DELETE FROM awaited_targets"
	    " WHERE (account_id, msg_id) IN"
	    "   (SELECT account_id, msg_id FROM messages WHERE conv_id = ?1)",
	[S_CROSS_ADD] = "INSERT OR IGNORE INTO cross_replies (conv_id, reply)"
	    " VALUES (?, ?)",
	/* all that acts in a conversation, its own messages and replies
	 * from other threads (foreign), in the engine's order
	 * (engine_msg_cmp: time, inbound first, id as strcmp) */
	[S_CONV_ORDERED] = "SELECT id, msg_id, author, in_reply_to, created_ms,"
	    " direction, complaint, 0 FROM messages WHERE conv_id = ?1"
	    " UNION ALL"
	    " SELECT r.id, r.msg_id, r.author, r.in_reply_to, r.created_ms,"
	    " r.direction, r.complaint, 1"
	    " FROM cross_replies x JOIN messages r ON r.id = x.reply"
	    " WHERE x.conv_id = ?1 AND r.conv_id <> ?1"
	    " ORDER BY 5, 6, 2",
	[S_WAITS_OPEN] = "SELECT id, author, opened_ms, complaint_ms, open_msg,"
	    " inbound FROM waits WHERE conv_id = ? AND closed_ms IS NULL",
	[S_WAITS_DELETE] = "DELETE FROM waits WHERE conv_id = ?",
	[S_WAIT_ADD] = "INSERT INTO waits (conv_id, account_id, kind, author,"
	    " opened_ms, closed_ms, complaint_ms, open_msg, close_msg, inbound)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_WAIT_UPDATE] = "UPDATE waits SET closed_ms = ?2, close_msg = ?3,"
	    " complaint_ms = ?4, inbound = ?5 WHERE id = ?1",
	[S_HOUR_SAVE] = "INSERT INTO message_hours (hour, first_id, last_id)"
	    " VALUES (?1, ?2, ?3) ON CONFLICT (hour) DO UPDATE SET"
	    " first_id = min(first_id, ?2), last_id = max(last_id, ?3)",
	[S_STREAM_SAVE] = "INSERT OR REPLACE INTO streams (account_id, stream,"
	    " connector, cursor, last_poll_ms, last_ok_ms, last_error_ms,"
	    " last_error, failures, fetched, rl_limit, rl_remaining,"
	    " rl_reset_ms, next_poll_ms, backoff_until_ms)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_STREAM_ALL] = "SELECT a.platform, a.name, s.stream, s.connector,"
	    " s.cursor, s.last_poll_ms, s.last_ok_ms, s.last_error_ms,"
	    " s.last_error, s.failures, s.fetched, s.rl_limit, s.rl_remaining,"
	    " s.rl_reset_ms, s.next_poll_ms, s.backoff_until_ms"
	    " FROM streams s JOIN accounts a ON a.id = s.account_id"
	    " ORDER BY a.name, a.platform, s.stream",
	[S_CONV_OF_MSG] = "SELECT c.conv FROM messages m"
	    " JOIN conversations c ON c.id = m.conv_id"
	    " WHERE m.account_id = ? AND m.msg_id = ?",
	[S_MSG_MAX] = "SELECT coalesce(max(id), 0) FROM messages",
	[S_CONV_INFO] = "SELECT account_id, kind, conv FROM conversations"
	    " WHERE id = ?",
	[S_CONV_WAITS] = "SELECT w.author, w.opened_ms, w.closed_ms,"
	    " w.complaint_ms, w.inbound, o.msg_id, o.id, o.author, c.msg_id,"
	    " c.id FROM waits w JOIN messages o ON o.id = w.open_msg"
	    " LEFT JOIN messages c ON c.id = w.close_msg"
	    " WHERE w.conv_id = ? ORDER BY w.opened_ms, w.id",
	/* store-alerts.c */
	[S_SAVEPOINT] = "SAVEPOINT rw_tx",
	[S_RELEASE] = "RELEASE rw_tx",
	[S_ROLLBACK_TO] = "ROLLBACK TO rw_tx",
	[S_ALERT_ADD] = "INSERT INTO alerts (rule, account, subject, severity,"
	    " summary, details, fired_ms, resolved_ms, notified_ms, held)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_ALERT_UPDATE] = "UPDATE alerts SET severity = ?2, summary = ?3,"
	    " details = ?4, resolved_ms = ?5, notified_ms = ?6, held = ?7"
	    " WHERE id = ?1",
	/* The alerts of `replywatch alerts`, in three shapes so that each
	 * reads through its index: ?2 since, ?3 account, ?4 rule (NULL:
	 * all), ?5 limit (-1: none); the newest of them, oldest first. The
	 * union reads only the alerts fired or resolved since (an OR would
	 * scan them all); +fired_ms keeps the planner from walking the
	 * whole history in order instead of the few firing alerts. */
	[S_ALERT_LIST] = "SELECT " ALERT_COLS " FROM ("
	    " SELECT * FROM alerts WHERE (?3 IS NULL OR account = ?3)"
	    " AND (?4 IS NULL OR rule = ?4)"
	    " ORDER BY fired_ms DESC, id DESC LIMIT ?5) ORDER BY fired_ms, id",
	[S_ALERT_SINCE] = "SELECT " ALERT_COLS " FROM ("
	    " SELECT * FROM alerts WHERE id IN ("
	    "  SELECT id FROM alerts WHERE fired_ms >= ?2 UNION ALL"
	    "  SELECT id FROM alerts WHERE resolved_ms >= ?2)"
	    " AND (?3 IS NULL OR account = ?3) AND (?4 IS NULL OR rule = ?4)"
	    " ORDER BY +fired_ms DESC, id DESC LIMIT ?5) ORDER BY fired_ms, id",
	[S_ALERT_FIRING] = "SELECT " ALERT_COLS " FROM ("
	    " SELECT * FROM alerts WHERE resolved_ms IS NULL"
	    " AND (?2 IS NULL OR fired_ms >= ?2)"
	    " AND (?3 IS NULL OR account = ?3) AND (?4 IS NULL OR rule = ?4)"
	    " ORDER BY +fired_ms DESC, id DESC LIMIT ?5) ORDER BY fired_ms, id",
	[S_EVENT_ADD] = "INSERT INTO alert_events (alert_id, event, at_ms)"
	    " SELECT id, ?2, ?3 FROM alerts WHERE id = ?1",
	[S_EVENT_PENDING] = "SELECT e.id, e.alert_id, e.event, e.at_ms,"
	    " a.id, a.rule, a.account, a.subject, a.severity, a.summary,"
	    " a.details, a.fired_ms, a.resolved_ms, a.notified_ms, a.held"
	    " FROM alert_events e JOIN alerts a ON a.id = e.alert_id"
	    " WHERE e.done IS NULL ORDER BY e.id",
	[S_EVENT_DONE] = "UPDATE alert_events SET done = ?2 WHERE id = ?1",
	[S_NOTIF_ADD] = "INSERT INTO notifications (key, route, account, rule,"
	    " event, created_ms, subject, text, json, state, attempts, next_ms,"
	    " done_ms, last_error)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_NOTIF_EVENT_ADD] = "INSERT OR IGNORE INTO notification_events"
	    " (notification_id, event_id) SELECT ?1, id FROM alert_events"
	    " WHERE id = ?2",
	[S_NOTIF_UPDATE] = "UPDATE notifications SET state = ?2, attempts = ?3,"
	    " next_ms = ?4, done_ms = ?5, last_error = ?6 WHERE id = ?1",
	[S_NOTIF_GET] = "SELECT " NOTIF_COLS " FROM notifications WHERE id = ?",
	[S_NOTIF_PENDING] = "SELECT " NOTIF_COLS " FROM notifications"
	    " WHERE state = 'pending' ORDER BY id",
	[S_NOTIF_OF_ALERT] = "SELECT " NOTIF_COLS " FROM notifications"
	    " WHERE id IN"
	    " (SELECT ne.notification_id FROM alert_events e"
	    "  JOIN notification_events ne ON ne.event_id = e.id"
	    "  WHERE e.alert_id = ?)"
	    " ORDER BY id",
	[S_SILENCE_ADD] = "INSERT INTO silences (account, rule, created_ms,"
	    " until_ms, reason, created_by) VALUES (?, ?, ?, ?, ?, ?)",
	[S_SILENCE_REMOVE] = "DELETE FROM silences WHERE id = ?",
	[S_SILENCE_LIST] = "SELECT id, account, rule, created_ms, until_ms,"
	    " reason, created_by FROM silences"
	    " WHERE ?1 IS NULL OR (created_ms <= ?1 AND ?1 < until_ms)"
	    " ORDER BY id",
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
};

void
sq_err(struct store *st, char **errstr, const char *what)
{
	xasprintf(errstr, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

sqlite3_stmt *
sq_stmt_rebind(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];

	if (s == NULL) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[id], NULL) != SQLITE_OK)
			return NULL;
		s = st->stmt[id];
	}
	sqlite3_reset(s);
	return s;
}

sqlite3_stmt *
sq_stmt(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s = sq_stmt_rebind(st, id);

	if (s != NULL)
		sqlite3_clear_bindings(s);
	return s;
}

int
sq_exec(struct store *st, enum stmt_id id, char **errstr)
{
	sqlite3_stmt *s = sq_stmt(st, id);

	if (s == NULL || sqlite3_step(s) != SQLITE_DONE) {
		sq_err(st, errstr, stmt_sql[id]);
		if (s != NULL)
			sqlite3_reset(s);
		return -1;
	}
	sqlite3_reset(s);
	return 0;
}

void
sq_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

void
sq_bind_ms(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

int64_t
sq_column_ms(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return -1;
	return sqlite3_column_int64(s, i);
}

const char *
sq_column_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* ---- strings of loaded rows -------------------------------------------- */

size_t
sq_arena_put(struct sq_arena *a, const void *p, size_t n)
{
	if (a->len + n > a->cap) {
		while (a->len + n > a->cap)
			a->cap = a->cap ? a->cap * 2 : 4096;
		a->buf = xreallocarray(a->buf, a->cap, 1);
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
	return a->len - n;
}

size_t
sq_arena_add(struct sq_arena *a, const char *s)
{
	if (s == NULL)
		return SIZE_MAX;
	return sq_arena_put(a, s, strlen(s) + 1);
}

const char *
sq_arena_str(const struct sq_arena *a, size_t off)
{
	return off == SIZE_MAX ? NULL : a->buf + off;
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
check_readonly_schema(struct store *st, char **errstr)
{
	int version = store_schema_version(st);

	if (version == NMIGRATIONS)
		return 0;
	if (version > NMIGRATIONS)
		xasprintf(errstr, "%s: database schema version %d is newer than "
		    "this replywatch supports (%d): use a newer replywatch",
		    st->path, version, NMIGRATIONS);
	else
		xasprintf(errstr, "%s: database schema version %d is older than "
		    "this replywatch's (%d), and it may not write to the "
		    "database to upgrade it: run replywatchd once", st->path,
		    version, NMIGRATIONS);
	return -1;
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
		sq_err(st, errstr, "cannot lock the database for its schema");
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
		sq_err(st, errstr, "cannot commit the schema");
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

#define CACHE_KIB	16384	/* page cache of a command */
#define DAEMON_CACHE_KIB 2048	/* of the daemon (STORE_DAEMON) */
/* Of an import (STORE_BULK). Its sorts may take as much again: 16 MiB was
 * no faster, and left a recomputed conversation of 400,000 messages close
 * to the 64 MiB an import may take. */
#define BULK_CACHE_KIB	12288

/* A reader that may not write (an operator in the daemon's group) sets
 * nothing that writes: WAL mode is already in the file. */
static int
configure_reader(struct store *st, char **errstr)
{
	char *sqlerr = NULL, sql[80];

	snprintf(sql, sizeof sql, "PRAGMA temp_store = MEMORY;"
	    "PRAGMA cache_size = -%d;", CACHE_KIB);
	sqlite3_busy_timeout(st->db, 10000);
	if (sqlite3_exec(st->db, sql, NULL, NULL, &sqlerr) != SQLITE_OK) {
		xasprintf(errstr, "%s: %s", st->path, sqlerr ? sqlerr : "?");
		sqlite3_free(sqlerr);
		return -1;
	}
	return 0;
}

static int
configure_connection(struct store *st, int flags, char **errstr)
{
	static const char *pragmas =
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = NORMAL;"
	    "PRAGMA foreign_keys = OFF;"
	    /* temp_store stays FILE: a sort larger than the page cache (that
	     * of a long conversation recomputed) goes to a temporary file,
	     * not to memory; smaller ones never touch the file */
	    /* fewer checkpoints: each one writes the pages that every batch
	     * dirties again (index pages); the WAL file is cut back to
	     * 64 MiB after each */
	    "PRAGMA wal_autocheckpoint = 10000;"
	    "PRAGMA journal_size_limit = " WAL_SIZE_LIMIT ";";
	/* A bulk import checkpoints less often, and leaves the WAL file at
	 * its size in between: cutting it back to 64 MiB after each
	 * checkpoint had the file system free, then allocate again, some
	 * 150 MiB of it each time. store_close restores the limit, so that
	 * the last close still truncates the file. */
	static const char *bulk_pragmas =
	    "PRAGMA wal_autocheckpoint = 50000;"
	    "PRAGMA journal_size_limit = -1;";
	char *sqlerr = NULL, cache[64];

	/* first, before a page is read: the cache's block is sized then */
	snprintf(cache, sizeof cache, "PRAGMA cache_size = -%d;",
	    (flags & STORE_DAEMON) ? DAEMON_CACHE_KIB :
	    (flags & STORE_BULK) ? BULK_CACHE_KIB : CACHE_KIB);
	sqlite3_busy_timeout(st->db, 10000);
	if (sqlite3_exec(st->db, cache, NULL, NULL, &sqlerr) != SQLITE_OK ||
	    sqlite3_exec(st->db, pragmas, NULL, NULL, &sqlerr) != SQLITE_OK ||
	    ((flags & STORE_BULK) && sqlite3_exec(st->db, bulk_pragmas, NULL,
	    NULL, &sqlerr) != SQLITE_OK)) {
		xasprintf(errstr, "%s: %s", st->path, sqlerr ? sqlerr : "?");
		sqlite3_free(sqlerr);
		return -1;
	}
	/* Keep the -wal and -shm files when the last writer closes, so that
	 * readers without write access to the directory can still open the
	 * database (they cannot create them). */
	sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL,
	    &(int){ 1 });
	return 0;
}

int
sq_load_accounts(struct store *st, char **errstr)
{
	sqlite3_stmt *s = sq_stmt(st, S_ACCOUNT_ALL);
	int rc;

	if (s == NULL) {
		sq_err(st, errstr, "cannot read accounts");
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
		a->platform = xstrdup(sq_column_text(s, 1));
		a->name = xstrdup(sq_column_text(s, 2));
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		sq_err(st, errstr, "cannot read accounts");
		return -1;
	}
	return 0;
}

/*
 * A daemon's page cache is small and lives in one block of its own: SQLite
 * takes all of it at the first page read. Page by page from malloc, its
 * pages would be spread among the daemon's own small allocations, and the
 * heap would fragment and grow for months.
 */
int
store_init_daemon(void)
{
	return sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0,
	    -DAEMON_CACHE_KIB) == SQLITE_OK ? 0 : -1;
}

/*
 * SQLite counts the memory it allocates under a lock, which its default
 * build takes at every allocation and free (some twenty per message
 * imported); the store never reads those statistics.
 */
int
store_init_bulk(void)
{
	return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK ? 0 : -1;
}

struct store *
store_open(const char *path, int flags, char **errstr)
{
	struct store *st = xcalloc(1, sizeof *st);
	int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, readonly;

	/* a reader that may not write opens read-only, if the database is
	 * there and up to date */
	readonly = (flags & STORE_READER) && access(path, F_OK) == 0 &&
	    access(path, W_OK) == -1;
	if (readonly)
		oflags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
	if (flags & STORE_CREATE)
		oflags |= SQLITE_OPEN_CREATE;
	st->path = xstrdup(path);
	st->bulk = (flags & STORE_BULK) != 0;
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
	if (readonly) {
		if (configure_reader(st, errstr) == -1 ||
		    check_readonly_schema(st, errstr) == -1 ||
		    sq_load_accounts(st, errstr) == -1) {
			store_close(st);
			return NULL;
		}
		return st;
	}
	if (configure_connection(st, flags, errstr) == -1 || migrate(st, errstr) == -1 ||
	    sq_load_accounts(st, errstr) == -1) {
		store_close(st);
		return NULL;
	}
	return st;
}

void
sq_forget_accounts(struct store *st)
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

void
store_close(struct store *st)
{
	size_t i;

	if (st == NULL)
		return;
	if (st->in_batch)
		store_rollback(st);
	ingest_free(st->ingest);
	sq_alerts_close(st);
	for (i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(st->stmt[i]);
	sq_forget_accounts(st);
	/* with a limit, the close (the last checkpoint) truncates the WAL */
	if (st->bulk && st->db != NULL)
		sqlite3_exec(st->db, "PRAGMA journal_size_limit = "
		    WAL_SIZE_LIMIT, NULL, NULL, NULL);
	if (st->db != NULL)
		sqlite3_close(st->db);
	free(st->path);
	free(st);
}

/* An account by row id. Another process (the daemon) may have added it
 * since the cache was loaded: on a miss, read the new ones once. */
const struct account *
sq_account_by_id(struct store *st, int64_t id)
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
		if (sq_load_accounts(st, &err) == -1) {
			free(err);
			break;
		}
	}
	return NULL;
}

const struct account *
sq_account_by_name(const struct store *st, const char *platform, const char *name)
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

