/* SPDX-License-Identifier: ISC */
#ifndef RW_OUTBOX_H
#define RW_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct http;
struct routeset;
struct store;

/*
 * The delivery loop of the durable outbox. Notifications are rows of the
 * store (store_notification_add), written in the transaction of the state
 * change that caused them; the outbox sends each to its route and records
 * the outcome. Per route, notifications go out one at a time in the order
 * they were written: a failing route holds its own queue back (with
 * exponential backoff, or the peer's Retry-After), never another route's.
 * Delivery is at least once: a notification is pending until its route
 * took it, across restarts and crashes, always with the same idempotency
 * key and body.
 */
struct outbox;

struct outbox *outbox_new(uv_loop_t *, struct store *, struct http *,
	    const struct routeset *);
/* New routes (reload): queues of routes that are gone wait, kept. The set
 * must outlive the outbox or the next call. */
void	 outbox_set_routes(struct outbox *, const struct routeset *);
/* Queue every pending notification of the store (start-up). */
int	 outbox_load(struct outbox *, char **errstr);
/* Queue one just added. Its transaction may still be open: it is read
 * back when it is sent, from the next turn of the loop on, and dropped if
 * it was rolled back. */
void	 outbox_queue(struct outbox *, int64_t id, const char *route);

/* For metrics and status. */
struct outbox_stats {
	uint64_t	 delivered, failed, retried;	/* since start */
	size_t		 pending;
};
void	 outbox_stats(const struct outbox *, struct outbox_stats *);
/* Per route, for metrics. */
typedef void outbox_route_fn(const char *route, uint64_t delivered,
    uint64_t failed, uint64_t retried, size_t pending, void *arg);
void	 outbox_each_route(const struct outbox *, outbox_route_fn *, void *);

/* Cancel what is in flight (it stays pending in the store) and close the
 * timer; the loop must run on; then outbox_free. */
void	 outbox_stop(struct outbox *);
void	 outbox_free(struct outbox *);

#endif
