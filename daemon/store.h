/* SPDX-License-Identifier: ISC */
#ifndef RW_STORE_H
#define RW_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "stats.h"

/*
 * The message store. All SQL lives behind this interface: only the
 * backend's file (store-sqlite.c) knows SQLite, so another backend can be
 * added without touching the engine, the CLI or the daemon.
 *
 * Writes come in batches: store_begin, any number of store_put_message,
 * store_commit. The commit recomputes the waits of every conversation the
 * batch touched and makes messages and waits durable in one transaction.
 */
struct store;

#define STORE_CREATE	0x1	/* create the database if it does not exist */
#define STORE_READER	0x4	/* only reads: open read-only when the file
				   may not be written (an operator in the
				   daemon's group) */
#define STORE_BULK	0x2	/* large batches: checkpoint the WAL less often
				   (it may grow to 200 MiB meanwhile) and
				   keep more conversation ids in memory */
#define STORE_DAEMON	0x8	/* a long-running writer: a page cache of
				   2 MiB, one block after store_init_daemon */

struct store *store_open(const char *path, int flags, char **errstr);
/* Once in a daemon, before anything else uses the store: -1 on error. */
int	store_init_daemon(void);
/* Once in a bulk import, before anything else uses the store: -1 on error
 * (SQLite was set up already), which only costs some speed. */
int	store_init_bulk(void);
void	store_close(struct store *);
/* The schema version this build writes, and the one of the open database. */
int	store_schema_latest(void);
int	store_schema_version(struct store *);

int	store_begin(struct store *, char **errstr);
/* Insert a message, or update the mutable fields (text, url, complaint)
 * of one already stored. *added: 1 if new, 0 otherwise. */
int	store_put_message(struct store *, const struct msg *, int *added,
	    char **errstr);
int	store_commit(struct store *, char **errstr);
void	store_rollback(struct store *);
/* Whether the open batch keeps so much of its messages in memory that it
 * should be committed now, whatever its size in messages. */
int	store_batch_full(struct store *);

/* Which waits to read: opened_at in [since, until), and not after at. */
struct store_filter {
	int64_t		 since_ms;
	int64_t		 until_ms;
	int64_t		 at_ms;
	const char	*account;	/* NULL: all */
	int		 kind;		/* -1: all, else enum msg_kind */
	int		 complaints;	/* messages: only complaints */
	size_t		 limit;		/* messages: 0 = no limit */
};

typedef void store_wait_fn(const struct stats_wait *, void *arg);
typedef void store_conversation_fn(const struct stats_conversation *, void *arg);
int	store_each_wait(struct store *, const struct store_filter *,
	    store_wait_fn *, void *arg, char **errstr);
/* Conversations that began with an inbound message inside the window. */
int	store_each_conversation(struct store *, const struct store_filter *,
	    store_conversation_fn *, void *arg, char **errstr);

/* An open wait (at the filter's at), for `replywatch pending`. */
struct store_pending {
	const char	*platform;
	const char	*account;
	enum msg_kind	 kind;
	const char	*conversation;
	const char	*author;	/* broadcast: whose wait; direct: who
					   opened it */
	int64_t		 opened_ms;
	int64_t		 complaint_ms;	/* -1: no complaint */
	int		 inbound;	/* messages waiting */
	int64_t		 last_inbound_ms;	/* the customer's last message
						   before at, -1: none */
	const char	*first_id;	/* the message that opened it */
	const char	*url;
	const char	*text;
};
typedef void store_pending_fn(const struct store_pending *, void *arg);
/* Open waits at at_ms, oldest first; since/until are ignored. */
int	store_each_pending(struct store *, const struct store_filter *,
	    store_pending_fn *, void *arg, char **errstr);

/* Messages created in [since, until), newest last. */
typedef void store_msg_fn(const struct msg *, void *arg);
int	store_each_message(struct store *, const struct store_filter *,
	    store_msg_fn *, void *arg, char **errstr);

/* Every stored message with this id (in any account unless account is set). */
int	store_find_message(struct store *, const char *id, const char *account,
	    store_msg_fn *, void *arg, char **errstr);

/* The messages the engine needs for one conversation: its own and the
 * outbound replies from other conversations to them (foreign[i] = 1). */
struct store_conversation {
	struct msg	*msgs;
	int		*foreign;
	size_t		 n;
};
int	store_load_conversation(struct store *, const char *platform,
	    const char *account, enum msg_kind, const char *conversation,
	    struct store_conversation *out, char **errstr);
void	store_conversation_clear(struct store_conversation *);

/*
 * What the daemon keeps per polled stream: the cursor, committed in the
 * same transaction as the messages it covers, and the poll's health for
 * `replywatch status`. Times are ms, -1 where unknown.
 */
struct store_stream {
	const char	*platform;
	const char	*account;
	const char	*stream;
	const char	*connector;
	const char	*cursor;	/* NULL: never polled successfully */
	int64_t		 last_poll_ms;
	int64_t		 last_ok_ms;
	int64_t		 last_error_ms;
	const char	*last_error;	/* NULL: none since the last success */
	int64_t		 failures;	/* in a row */
	int64_t		 fetched;	/* new messages stored, in all */
	int64_t		 rl_limit, rl_remaining, rl_reset_ms;
	int64_t		 next_poll_ms;
	int64_t		 backoff_until_ms;
};
/* Insert or replace; inside an open batch it commits with it, otherwise
 * in a transaction of its own. */
int	store_stream_save(struct store *, const struct store_stream *,
	    char **errstr);
typedef void store_stream_fn(const struct store_stream *, void *arg);
/* Every stream (of one account name if account is not NULL), by account. */
int	store_each_stream(struct store *, const char *account,
	    store_stream_fn *, void *arg, char **errstr);

/* The conversation of a stored message, as a new string; NULL with
 * *errstr NULL if it is not stored. */
char	*store_conversation_of(struct store *, const char *platform,
	    const char *account, const char *msg_id, char **errstr);

/*
 * An observer sees, before each batch commits, every wait of every
 * conversation the batch changed (so it can replace what it knew of
 * them): for deadlines and for telling what happened as it happens.
 */
struct store_wait_info {
	const char	*author;	/* broadcast: whose wait; direct: the
					   author of its first message */
	int64_t		 opened_ms;
	int64_t		 closed_ms;	/* -1: open */
	int64_t		 complaint_ms;	/* -1: no complaint */
	int		 inbound;	/* messages waiting */
	const char	*open_id;	/* the message that opened it */
	const char	*close_id;	/* the reply that closed it, or NULL */
	int		 opened_now;	/* by a message of this batch */
	int		 closed_now;	/* by a reply of this batch */
};
struct store_conv_waits {
	const char	*platform;
	const char	*account;
	enum msg_kind	 kind;
	const char	*conversation;
	const struct store_wait_info *waits;	/* in order of opening */
	size_t		 n;
};
typedef void store_waits_fn(const struct store_conv_waits *, void *arg);
void	store_set_observer(struct store *, store_waits_fn *, void *arg);

/* For tests and benchmarks: the query plan of the wait query for a window,
 * one line per plan row, caller frees. */
char	*store_explain_wait_query(struct store *, const struct store_filter *);

/*
 * Alerts (alert.c decides, outbox.c delivers; this only keeps them).
 *
 * An alert is one rule firing for one subject of one account: "overdue"
 * for a wait, "complaint_spike", "connector_down" and "backlog" for the
 * account as a whole. While it fires, (rule, account, subject) is unique;
 * once resolved it is history. Each change that must be told is written as
 * an event (the outbox's input) in the same transaction as the change;
 * events are then turned into notifications, one per route, which carry
 * the exact body sent and the state of its delivery.
 *
 * store_tx_begin/commit/rollback make several of these writes one
 * transaction: inside an open batch (the observer) a savepoint of it,
 * otherwise a transaction of its own. They nest.
 */
int	store_tx_begin(struct store *, char **errstr);
int	store_tx_commit(struct store *, char **errstr);
void	store_tx_rollback(struct store *);

struct store_alert {
	int64_t		 id;		/* set by store_alert_add */
	const char	*rule;
	const char	*account;
	const char	*subject;	/* what it is about; "" for the account */
	const char	*severity;	/* "warning" or "critical" */
	const char	*summary;	/* one line, for people */
	const char	*details;	/* a JSON object, NULL: none */
	int64_t		 fired_ms;
	int64_t		 resolved_ms;	/* -1: firing */
	int64_t		 notified_ms;	/* last firing or repeat notice queued,
					   -1: none yet */
	int		 held;		/* not told: its account's connector is
					   down */
};
/* Insert; sets a->id. */
int	store_alert_add(struct store *, struct store_alert *, char **errstr);
/* Write back severity, summary, details, resolved_ms, notified_ms and held
 * of the alert with a->id. */
int	store_alert_update(struct store *, const struct store_alert *,
	    char **errstr);

struct store_alert_filter {
	int		 firing;	/* only those not resolved */
	int64_t		 since_ms;	/* fired or resolved at or after; -1: any */
	const char	*account;	/* NULL: all */
	const char	*rule;		/* NULL: all */
	size_t		 limit;		/* 0: no limit; newest first then */
};
typedef void store_alert_fn(const struct store_alert *, void *arg);
/* Oldest first (with a limit: the newest `limit` of them, oldest first). */
int	store_each_alert(struct store *, const struct store_alert_filter *,
	    store_alert_fn *, void *arg, char **errstr);

/* What is to be told: "firing", "repeat" or "resolved". */
struct store_alert_event {
	int64_t		 id;
	int64_t		 alert_id;
	const char	*event;
	int64_t		 at_ms;
};
int	store_event_add(struct store *, int64_t alert_id, const char *event,
	    int64_t at_ms, int64_t *id, char **errstr);
/* Events not yet handled, oldest first, each with its alert. */
typedef void store_event_fn(const struct store_alert_event *,
    const struct store_alert *, void *arg);
int	store_each_pending_event(struct store *, store_event_fn *, void *arg,
	    char **errstr);
/* An event handled: "notified" (notifications were added for it),
 * "silenced" or "dropped" (nothing to tell, e.g. the resolve of an alert
 * never told). */
int	store_event_done(struct store *, int64_t event_id, const char *how,
	    char **errstr);

/* One notification: the events of one group, for one route. */
struct store_notification {
	int64_t		 id;		/* set by store_notification_add */
	const char	*key;		/* the idempotency key */
	const char	*route;
	const char	*account;
	const char	*rule;
	const char	*event;
	int64_t		 created_ms;
	const char	*subject, *text, *json;	/* exactly as sent */
	const char	*state;		/* "pending", "delivered", "failed" */
	int		 attempts;
	int64_t		 next_ms;	/* pending: next attempt */
	int64_t		 done_ms;	/* delivered or failed at, -1 */
	const char	*last_error;	/* NULL: none */
};
/* Insert with the ids of the events it tells; sets n->id. */
int	store_notification_add(struct store *, struct store_notification *,
	    const int64_t *event_ids, size_t nevents, char **errstr);
/* Write back state, attempts, next_ms, done_ms and last_error. */
int	store_notification_update(struct store *,
	    const struct store_notification *, char **errstr);
/* One notification by id; 0 found, 1 not found, -1 error. The strings live
 * until the next call into the store. */
int	store_notification_get(struct store *, int64_t id,
	    struct store_notification *out, char **errstr);
typedef void store_notification_fn(const struct store_notification *,
    void *arg);
/* Pending ones, in order of id. */
int	store_each_pending_notification(struct store *,
	    store_notification_fn *, void *arg, char **errstr);
/* The notifications that told events of one alert, in order of id. */
int	store_each_alert_notification(struct store *, int64_t alert_id,
	    store_notification_fn *, void *arg, char **errstr);

/* Silences: alerts of an account (NULL: every account) and rule (NULL:
 * every rule) are not told while created_ms <= now < until_ms. */
struct store_silence {
	int64_t		 id;
	const char	*account;
	const char	*rule;
	int64_t		 created_ms;
	int64_t		 until_ms;
	const char	*reason;
	const char	*created_by;	/* login name, NULL: unknown */
};
int	store_silence_add(struct store *, struct store_silence *, char **errstr);
/* 0 removed, 1 no such silence, -1 error. */
int	store_silence_remove(struct store *, int64_t id, char **errstr);
/* Those still in force at at_ms (all if at_ms < 0), by id. */
typedef void store_silence_fn(const struct store_silence *, void *arg);
int	store_each_silence(struct store *, int64_t at_ms, store_silence_fn *,
	    void *arg, char **errstr);

#endif
