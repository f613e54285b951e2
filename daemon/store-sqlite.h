/* SPDX-License-Identifier: ISC */
#ifndef RW_STORE_SQLITE_H
#define RW_STORE_SQLITE_H

/*
 * Private to the SQLite backend of the store (store-sqlite.c: opening,
 * schema, statements; store-ingest.c: batches and waits; store-query.c:
 * reading). Nothing else includes this file or sqlite3.h.
 */

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "engine.h"
#include "store.h"

enum stmt_id {
	S_ACCOUNT_ADD,
	S_ACCOUNT_ALL,
	S_CONV_GET,
	S_CONV_ADD,
	S_CONV_STATE,
	S_CONV_SAVE,
	S_CONV_SAVE_LAST,
	S_MSG_ADD,
	S_MSG_GET,
	S_MSG_UPDATE,
	S_MSG_CONV_OF,
	S_MSG_TARGET,
	S_AWAITED,
	S_AWAITED_ANY,
	S_AWAIT,
	S_AWAIT_CLAIM,
	S_AWAIT_DROP,
	S_CROSS_ADD,
	S_CONV_ORDERED,
	S_WAITS_OPEN,
	S_WAITS_DELETE,
	S_WAIT_ADD,
	S_WAIT_UPDATE,
	S_HOUR_SAVE,
	S_STREAM_SAVE,
	S_STREAM_ALL,
	S_CONV_OF_MSG,
	S_MSG_MAX,
	S_CONV_INFO,
	S_CONV_WAITS,
	/* store-alerts.c */
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_ALERT_ADD,
	S_ALERT_UPDATE,
	S_ALERT_LIST,
	S_ALERT_SINCE,
	S_ALERT_FIRING,
	S_EVENT_ADD,
	S_EVENT_PENDING,
	S_EVENT_DONE,
	S_NOTIF_ADD,
	S_NOTIF_EVENT_ADD,
	S_NOTIF_UPDATE,
	S_NOTIF_GET,
	S_NOTIF_PENDING,
	S_NOTIF_OF_ALERT,
	S_SILENCE_ADD,
	S_SILENCE_REMOVE,
	S_SILENCE_LIST,
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_NSTMT
};

struct account {
	int64_t	 id;
	char	*platform;
	char	*name;
};

struct ingest;

/* Strings kept as offsets into one growing buffer until it stops moving. */
struct sq_arena {
	char	*buf;
	size_t	 len, cap;
};

/* A conversation an open batch changed (store-ingest.c). */
struct touched {
	int64_t	 conv_id;
	int64_t	 account_id;
	int	 kind;
	int	 full;		/* must be recomputed from all its messages */
	int	 created;	/* added by this batch: nothing stored before */
};

struct store {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*stmt[S_NSTMT];
	struct account	*accounts;	/* cache of the accounts table */
	size_t		 naccounts;
	struct ingest	*ingest;	/* the open batch (store-ingest.c) */
	int		 in_batch;
	int		 bulk;		/* opened with STORE_BULK */
	int		 awaited_any;	/* at commit: some stored reply awaits
					   a message not stored before it */
	store_waits_fn	*observer;	/* store_set_observer */
	void		*observer_arg;
	int64_t		 batch_first_msg; /* messages above this row id are
					    the open batch's (observer only) */
	int		 tx_depth;	/* store_tx_begin nesting (store-alerts.c) */
	int		 tx_own;	/* the outermost is a transaction of its
					   own, not a savepoint of a batch */
	int		 tx_undone;	/* the last store_tx_commit failed and
					   rolled its level back */
	struct sq_arena	 got;		/* strings of store_notification_get */
};

/* store-sqlite.c */
void	 sq_err(struct store *, char **errstr, const char *what);
sqlite3_stmt *sq_stmt(struct store *, enum stmt_id);	/* reset, unbound */
/* Reset but left bound: for statements whose every parameter the caller
 * binds again on each use (the hot ones of an import). */
sqlite3_stmt *sq_stmt_rebind(struct store *, enum stmt_id);
int	 sq_exec(struct store *, enum stmt_id, char **errstr);
void	 sq_bind_text(sqlite3_stmt *, int, const char *);	/* NULL: SQL NULL */
void	 sq_bind_ms(sqlite3_stmt *, int, int64_t);	/* < 0: SQL NULL */
int64_t	 sq_column_ms(sqlite3_stmt *, int);		/* SQL NULL: -1 */
const char *sq_column_text(sqlite3_stmt *, int);
int	 sq_load_accounts(struct store *, char **errstr);
void	 sq_forget_accounts(struct store *);
const struct account *sq_account_by_id(struct store *, int64_t);
const struct account *sq_account_by_name(const struct store *,
	    const char *platform, const char *name);

size_t	 sq_arena_add(struct sq_arena *, const char *);	/* SIZE_MAX for NULL */
size_t	 sq_arena_put(struct sq_arena *, const void *, size_t);	/* n bytes */
const char *sq_arena_str(const struct sq_arena *, size_t);

/* store-alerts.c */
void	 sq_alerts_close(struct store *);

/* store-ingest.c */
void	 ingest_free(struct ingest *);
/* The id of an account, added if new. -1 on error. */
int64_t	 sq_account_id(struct store *, const char *platform, const char *name,
	    char **errstr);
/* The touched conversations of the open batch. */
const struct touched *ingest_touched(struct store *, size_t *n);

/* store-state.c: the observer, called before the batch commits */
int	 sq_observe(struct store *);
/* Mark a conversation of the open batch for updating. */
void	 ingest_touch(struct store *, int64_t conv_id, int64_t account_id,
	    int kind, int full, int created);

/* store-waits.c: bringing a touched conversation's waits up to date */
/* Recompute from all its messages. 0 or -1. */
int	 waits_recompute(struct store *, const struct touched *);
/* Append the batch's new messages (sorted, all of this conversation):
 * 1 done, 0 cannot be appended (recompute it), -1 error. */
int	 waits_append(struct store *, const struct touched *,
	    struct engine_msg *msgs, size_t n);

#endif
