/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "log.h"
#include "outbox.h"
#include "routes.h"
#include "store.h"
#include "timefmt.h"
#include "xmalloc.h"

/*
 * One FIFO per route name. Only the head of a queue is ever in flight; it
 * is read from the store when it is sent, so the queue holds nothing but
 * ids. One uv timer is set for the earliest head that waits for its next
 * attempt; a new notification starts its route's queue from a zero timer,
 * so that the transaction that wrote it has committed by then.
 */

#define RETRY_MIN_MS	500
#define RETRY_MAX_MS	(60 * 60 * 1000)

struct item {
	int64_t		 id;
	int64_t		 next_ms;
	struct item	*next;
};

struct queue {
	char		*route;
	struct item	*head, *tail;
	size_t		 n;
	struct deliver_call *call;	/* the head's attempt in flight */
	int		 warned;	/* "no such route" logged */
	uint64_t	 delivered, failed, retried;
	struct outbox	*ob;
};

struct outbox {
	uv_loop_t	*loop;
	struct store	*store;
	struct http	*http;
	const struct routeset *routes;
	uv_timer_t	 timer;
	struct queue	**queues;
	size_t		 nqueues;
	int		 stopped;
};

static void arm(struct outbox *);

static struct queue *
queue_get(struct outbox *ob, const char *route)
{
	struct queue *q;
	size_t i;

	for (i = 0; i < ob->nqueues; i++) {
		if (strcmp(ob->queues[i]->route, route) == 0)
			return ob->queues[i];
	}
	q = xcalloc(1, sizeof *q);
	q->route = xstrdup(route);
	q->ob = ob;
	ob->queues = xreallocarray(ob->queues, ob->nqueues + 1,
	    sizeof *ob->queues);
	ob->queues[ob->nqueues++] = q;
	return q;
}

static void
queue_push(struct queue *q, int64_t id, int64_t next_ms)
{
	struct item *it = xcalloc(1, sizeof *it);

	it->id = id;
	it->next_ms = next_ms;
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
}

static void
queue_pop(struct queue *q)
{
	struct item *it = q->head;

	q->head = it->next;
	if (q->head == NULL)
		q->tail = NULL;
	q->n--;
	free(it);
}

/* ---- one attempt ---------------------------------------------------------- */

static void
record(struct queue *q, const struct store_notification *n)
{
	char *err = NULL;

	if (store_notification_update(q->ob->store, n, &err) == -1) {
		log_err("outbox: notification %lld: %s", (long long)n->id, err);
		free(err);
	}
}

static void
on_done(enum deliver_result res, int64_t retry_at_ms, const char *error,
    void *arg)
{
	struct queue *q = arg;
	struct store_notification n;
	char *err = NULL;
	int64_t now = timefmt_now(), id = q->head->id;

	q->call = NULL;
	if (store_notification_get(q->ob->store, id, &n, &err) != 0) {
		log_err("outbox: notification %lld: %s", (long long)id,
		    err != NULL ? err : "gone from the store");
		free(err);
		queue_pop(q);
		arm(q->ob);
		return;
	}
	n.attempts++;
	switch (res) {
	case DELIVER_OK:
		n.state = "delivered";
		n.done_ms = now;
		n.last_error = NULL;
		q->delivered++;
		log_info("route %s: delivered %s (%s %s of %s)", q->route,
		    n.key, n.rule, n.event, n.account);
		record(q, &n);
		queue_pop(q);
		break;
	case DELIVER_FAILED:
		n.state = "failed";
		n.done_ms = now;
		n.last_error = error;
		q->failed++;
		log_err("route %s: %s: failed for good after %d attempt%s: %s",
		    q->route, n.key, n.attempts, n.attempts == 1 ? "" : "s",
		    error);
		record(q, &n);
		queue_pop(q);
		break;
	case DELIVER_RETRY:
		/* the peer's Retry-After, when it gave one, over our
		 * backoff: within half a second to an hour */
		if (retry_at_ms >= 0) {
			n.next_ms = retry_at_ms;
			if (n.next_ms < now + RETRY_MIN_MS)
				n.next_ms = now + RETRY_MIN_MS;
			if (n.next_ms > now + RETRY_MAX_MS)
				n.next_ms = now + RETRY_MAX_MS;
		} else
			n.next_ms = now + deliver_backoff_ms(n.attempts);
		n.last_error = error;
		q->retried++;
		if (n.attempts == 1 || (n.attempts & (n.attempts - 1)) == 0)
			log_warn("route %s: %s: attempt %d failed, trying again "
			    "in %lld s: %s", q->route, n.key, n.attempts,
			    (long long)((n.next_ms - now + 999) / 1000), error);
		record(q, &n);
		q->head->next_ms = n.next_ms;
		break;
	}
	arm(q->ob);
}

/* Start the head's attempt; 0 if one is in flight, -1 if the head was
 * dropped (try the next). */
static int
send_head(struct queue *q, int64_t now)
{
	struct outbox *ob = q->ob;
	const struct route *r;
	struct store_notification n;
	struct delivery d;
	char *err = NULL;
	int rc;

	if ((r = routeset_find(ob->routes, q->route)) == NULL) {
		if (!q->warned)
			log_warn("outbox: %zu notification%s for route %s, "
			    "which is not configured: kept until it is",
			    q->n, q->n == 1 ? "" : "s", q->route);
		q->warned = 1;
		return 0;
	}
	q->warned = 0;
	rc = store_notification_get(ob->store, q->head->id, &n, &err);
	if (rc != 0 || strcmp(n.state, "pending") != 0) {
		if (rc == -1) {
			log_err("outbox: %s", err);
			free(err);
			/* the store may come back: try again later */
			q->head->next_ms = now + deliver_backoff_ms(1);
			return 0;
		}
		queue_pop(q);	/* rolled back, or done meanwhile */
		return -1;
	}
	memset(&d, 0, sizeof d);
	d.key = n.key;
	d.json = n.json;
	d.subject = n.subject;
	d.text = n.text;
	d.created_ms = n.created_ms;
	q->call = deliver_start(ob->http, r, &d, on_done, q, &err);
	if (q->call != NULL)
		return 0;
	n.attempts++;
	n.state = "failed";
	n.done_ms = now;
	n.last_error = err;
	q->failed++;
	log_err("route %s: %s: cannot be sent: %s", q->route, n.key, err);
	record(q, &n);
	free(err);
	queue_pop(q);
	return -1;
}

static void
on_timer(uv_timer_t *t)
{
	struct outbox *ob = t->data;
	int64_t now = timefmt_now();
	size_t i;

	for (i = 0; i < ob->nqueues && !ob->stopped; i++) {
		struct queue *q = ob->queues[i];

		while (q->call == NULL && q->head != NULL &&
		    q->head->next_ms <= now) {
			if (send_head(q, now) == 0)
				break;
		}
	}
	arm(ob);
}

static void
arm(struct outbox *ob)
{
	int64_t now, first = -1;
	size_t i;

	if (ob->stopped)
		return;
	for (i = 0; i < ob->nqueues; i++) {
		struct queue *q = ob->queues[i];

		if (q->call != NULL || q->head == NULL)
			continue;
		if (routeset_find(ob->routes, q->route) == NULL)
			continue;
		if (first < 0 || q->head->next_ms < first)
			first = q->head->next_ms;
	}
	if (first < 0) {
		uv_timer_stop(&ob->timer);
		return;
	}
	now = timefmt_now();
	uv_timer_start(&ob->timer, on_timer,
	    first > now ? (uint64_t)(first - now) : 0, 0);
}

/* ---- the whole ------------------------------------------------------------ */

/* A queue for every configured route, so that metrics list them all. */
static void
known_routes(struct outbox *ob)
{
	size_t i;

	for (i = 0; ob->routes != NULL && i < ob->routes->n; i++)
		queue_get(ob, ob->routes->routes[i].name);
}

struct outbox *
outbox_new(uv_loop_t *loop, struct store *st, struct http *http,
    const struct routeset *routes)
{
	struct outbox *ob = xcalloc(1, sizeof *ob);

	ob->loop = loop;
	ob->store = st;
	ob->http = http;
	ob->routes = routes;
	uv_timer_init(loop, &ob->timer);
	ob->timer.data = ob;
	known_routes(ob);
	return ob;
}

void
outbox_set_routes(struct outbox *ob, const struct routeset *routes)
{
	size_t i;

	ob->routes = routes;
	known_routes(ob);
	for (i = 0; i < ob->nqueues; i++)
		ob->queues[i]->warned = 0;
	arm(ob);
}

static void
load_one(const struct store_notification *n, void *arg)
{
	struct outbox *ob = arg;

	queue_push(queue_get(ob, n->route), n->id, n->next_ms);
}

int
outbox_load(struct outbox *ob, char **errstr)
{
	size_t i, n = 0;

	if (store_each_pending_notification(ob->store, load_one, ob,
	    errstr) == -1)
		return -1;
	for (i = 0; i < ob->nqueues; i++)
		n += ob->queues[i]->n;
	if (n > 0)
		log_notice("outbox: %zu notification%s still to deliver", n,
		    n == 1 ? "" : "s");
	arm(ob);
	return 0;
}

void
outbox_queue(struct outbox *ob, int64_t id, const char *route)
{
	struct queue *q = queue_get(ob, route);

	queue_push(q, id, 0);
	if (!ob->stopped)
		uv_timer_start(&ob->timer, on_timer, 0, 0);
}

void
outbox_stats(const struct outbox *ob, struct outbox_stats *s)
{
	size_t i;

	memset(s, 0, sizeof *s);
	for (i = 0; i < ob->nqueues; i++) {
		s->delivered += ob->queues[i]->delivered;
		s->failed += ob->queues[i]->failed;
		s->retried += ob->queues[i]->retried;
		s->pending += ob->queues[i]->n;
	}
}

void
outbox_each_route(const struct outbox *ob, outbox_route_fn *fn, void *arg)
{
	size_t i;

	for (i = 0; i < ob->nqueues; i++) {
		const struct queue *q = ob->queues[i];

		fn(q->route, q->delivered, q->failed, q->retried, q->n, arg);
	}
}

static void
on_closed(uv_handle_t *h)
{
	(void)h;
}

void
outbox_stop(struct outbox *ob)
{
	size_t i;

	if (ob->stopped)
		return;
	ob->stopped = 1;
	for (i = 0; i < ob->nqueues; i++) {
		deliver_cancel(ob->queues[i]->call);
		ob->queues[i]->call = NULL;
	}
	uv_timer_stop(&ob->timer);
	uv_close((uv_handle_t *)&ob->timer, on_closed);
}

void
outbox_free(struct outbox *ob)
{
	size_t i;

	if (ob == NULL)
		return;
	for (i = 0; i < ob->nqueues; i++) {
		while (ob->queues[i]->head != NULL)
			queue_pop(ob->queues[i]);
		free(ob->queues[i]->route);
		free(ob->queues[i]);
	}
	free(ob->queues);
	free(ob);
}
