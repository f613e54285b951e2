/* SPDX-License-Identifier: ISC */
#ifndef RW_ALERT_H
#define RW_ALERT_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct conf;
struct msg;
struct outbox;
struct poller_poll;
struct routeset;
struct store;
struct watch;
struct watch_wait;

/*
 * The alert rules and their lifecycle (doc/alerts.md):
 *
 *   overdue          a wait passed its SLA deadline (or, with
 *                    alert_warning, that share of its target: severity
 *                    warning until the deadline); resolved when answered
 *   complaint_spike  complaints in complaint_spike_window reach
 *                    complaint_spike_floor and exceed
 *                    complaint_spike_factor times the mean of the 24
 *                    windows before; resolved when they no longer do
 *   connector_down   a stream of the account is refused its credentials,
 *                    or has failed for connector_down_after; resolved when
 *                    every stream polls again. Meanwhile the account's new
 *                    overdue alerts are held back, and told when it is up
 *                    again if still unanswered
 *   backlog          more than backlog_limit waits open
 *
 * One alert per rule and subject while it fires. Every change to be told
 * is written to the store with the change (an event); events of one
 * account, rule and kind ("firing", "repeat", "resolved") within
 * group_wait become one notification per route, unless silenced; an alert
 * still firing is told again every repeat_interval. All times come from
 * timers: the watch's deadlines, group and repeat timers here.
 */
struct alerts;

struct alerts *alerts_new(uv_loop_t *, struct store *, struct outbox *,
	    const struct conf *, const struct routeset *);
/* Start-up, in this order: alerts_load (the alerts still firing, before
 * the watch loads its waits, so that they are not fired twice), then
 * watch_load, then alerts_start (alerts of waits answered meanwhile are
 * resolved, backlogs and complaint spikes evaluated, events left
 * untold by the last run are told). */
int	 alerts_load(struct alerts *, char **errstr);
int	 alerts_start(struct alerts *, struct watch *, char **errstr);
/* A new configuration (and routes) is in force; both must outlive the
 * alerts or the next call. */
void	 alerts_reconfigure(struct alerts *, const struct conf *,
	    const struct routeset *);

/* The watch's hooks (struct watch_hooks; arg is the alerts). */
void	 alerts_due(const struct watch_wait *, int level, void *alerts);
void	 alerts_closed(const struct watch_wait *, void *alerts);
void	 alerts_open_count(const char *account, size_t n, void *alerts);
/* From the poller: a new message was stored; a poll ended. */
void	 alerts_message(struct alerts *, const struct msg *);
void	 alerts_polled(struct alerts *, const struct poller_poll *);

/* Firing alerts, in all and per account and rule (for metrics). */
size_t	 alerts_nfiring(const struct alerts *);
typedef void alerts_count_fn(const char *account, const char *rule,
    size_t firing, void *arg);
void	 alerts_each_count(const struct alerts *, alerts_count_fn *, void *);

/* Close the timer; the loop must run on; then alerts_free. */
void	 alerts_stop(struct alerts *);
void	 alerts_free(struct alerts *);

#endif
