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
