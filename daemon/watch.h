/* SPDX-License-Identifier: ISC */
#ifndef RW_WATCH_H
#define RW_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct conf;
struct msg;
struct store;
struct store_conv_waits;

/*
 * What the daemon tells as it happens: each new inbound message, each
 * reply with its reply time, and each wait that passes its SLA deadline.
 * It knows every open wait and its deadline; one uv timer is set for the
 * earliest, so a wait is reported overdue when its deadline comes, not
 * found by a scan.
 */
struct watch;

struct watch *watch_new(uv_loop_t *, const struct conf *);

/* What the watch tells its owner (the alerts), as it happens. */
struct watch_wait {
	const char	*account;
	int		 kind;		/* enum msg_kind */
	const char	*conversation;
	const char	*open_id;	/* the message that opened it; NULL if
					   unknown */
	const char	*author;
	int64_t		 opened_ms;
	int64_t		 complaint_ms;	/* -1: no complaint */
	int64_t		 target_ms;
	int64_t		 deadline_ms;
	int64_t		 closed_ms;	/* closed: when; -1 if it is gone
					   without a reply */
	const char	*close_id;	/* closed: the reply, or NULL */
};
struct watch_hooks {
	/* a wait reached its early warning (level 1, at alert_warning
	 * percent of its target) or its deadline (level 2); at start-up,
	 * every wait already past them */
	void	(*due)(const struct watch_wait *, int level, void *arg);
	/* an open wait was answered (closed_ms >= 0) or is gone */
	void	(*closed)(const struct watch_wait *, void *arg);
	/* the number of open waits of an account changed */
	void	(*open_count)(const char *account, size_t n, void *arg);
	void	*arg;
};
void	 watch_set_hooks(struct watch *, const struct watch_hooks *);
/* Whether a wait is open now (open_id as in struct watch_wait). */
int	 watch_is_open(struct watch *, const char *account, int kind,
	    const char *conversation, const char *open_id);
/* Open waits of one account. */
size_t	 watch_account_open(const struct watch *, const char *account);
/* The waits open now, from the store. */
int	 watch_load(struct watch *, struct store *, char **errstr);
/* The store's observer (store_set_observer(st, watch_observe, w)). */
void	 watch_observe(const struct store_conv_waits *, void *watch);
/* A new message was stored. */
void	 watch_message(struct watch *, const struct msg *);
/* New SLA targets or business hours: every deadline again. conf must
 * outlive the watch. */
void	 watch_reconfigure(struct watch *, const struct conf *);
/* Open waits, and those of them past their deadline. */
size_t	 watch_nopen(const struct watch *);
size_t	 watch_noverdue(const struct watch *);
/* Figures per account and kind, for metrics: the waits open now, and the
 * replies told since the daemon started with their reply times. */
#define WATCH_NBUCKETS	9
extern const double watch_reply_bounds[WATCH_NBUCKETS];	/* seconds */
struct watch_group {
	const char	*account;
	int		 kind;		/* enum msg_kind */
	size_t		 open, overdue;
	int64_t		 oldest_opened_ms;	/* -1: none open */
	uint64_t	 replies, met, breached;
	uint64_t	 hist[WATCH_NBUCKETS];	/* not cumulative; above the
						   last bound only in replies */
	double		 reply_seconds_sum;
};
typedef void watch_group_fn(const struct watch_group *, void *arg);
void	 watch_each_group(struct watch *, watch_group_fn *, void *arg);

/* Close the timer; the loop must run on; then watch_free. */
void	 watch_stop(struct watch *);
void	 watch_free(struct watch *);

#endif
