/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "alert-notice.h"
#include "alert.h"
#include "conf.h"
#include "log.h"
#include "msg.h"
#include "outbox.h"
#include "poller.h"
#include "routes.h"
#include "store.h"
#include "timefmt.h"
#include "timeheap.h"
#include "watch.h"
#include "xmalloc.h"

/*
 * Firing alerts are kept in a hash table by rule, account and subject.
 * Everything timed (group flushes, repeats, the end of a silence, a
 * connector's grace period, a complaint leaving the spike window) is an
 * entry of one binary min-heap behind one uv timer; an entry holds a
 * reference to what it is about and a generation, so that a later change
 * makes it stale instead of having to find it.
 *
 * An alert is referenced by the table while it fires, by each pending
 * event of a group and by each heap entry: it is freed when the last
 * reference goes.
 */

#define SPIKE_BASELINE_WINDOWS	24
#define RETRY_FLUSH_MS		5000
/* Silences are rows the CLI writes: while alerts wait for one to end,
 * whether it was removed early is looked at this often. */
#define SILENCE_RECHECK_MS	5000
#define EXCERPT_MAX		200

struct alert {
	struct store_alert sa;		/* strings owned */
	char		*key;		/* rule \x1f account \x1f subject */
	int		 firing;	/* in the table */
	int		 in_silence;	/* in alerts.silenced */
	int		 refs;
	uint64_t	 gen;		/* bumped: repeat entries stale */
	struct alert	*next;		/* hash chain */
};

struct group {				/* events to tell together */
	char		*account, *rule, *event;
	int64_t		*events;
	struct alert	**alerts;
	size_t		 n;
	uint64_t	 gen;
	int		 armed;
	struct group	*next;
};

struct stream_health {
	char		*name;
	int		 failing, auth;
	int64_t		 since_ms;	/* failing: counting from */
	int64_t		 failures;
	char		*error;
};

struct acct {
	char		*name;
	struct stream_health *streams;
	size_t		 nstreams;
	uint64_t	 down_gen, spike_gen;
	int64_t		 down_at;	/* its T_DOWN entry is due, -1 */
	int64_t		*complaints;	/* created_ms, sorted */
	size_t		 ncompl, capcompl;
	size_t		 nheld;		/* overdue alerts held back while its
					   connector is down */
};

enum timer_type { T_GROUP, T_REPEAT, T_DOWN, T_SPIKE, T_SILENCE };

struct entry {
	int64_t		 at_ms;
	enum timer_type	 type;
	void		*ptr;
	uint64_t	 gen;
};

struct alerts {
	uv_loop_t	*loop;
	struct store	*store;
	struct outbox	*outbox;
	const struct conf *conf;
	const struct routeset *routes;
	uv_timer_t	 timer;
	struct alert	**table;
	size_t		 nbuckets, nfiring;
	struct group	*groups;
	struct acct	**accts;
	size_t		 naccts;
	struct timeheap	 heap;		/* of struct entry */
	struct alert	**silenced;	/* firing, told nothing: silenced */
	size_t		 nsilenced;
	uint64_t	 silence_gen;
	int64_t		 silence_at;	/* the T_SILENCE entry due, -1 */
	int64_t		 started_ms;
	int		 stopped;
};

static void arm(struct alerts *);
static void flush_group(struct alerts *, struct group *);
static void silence_hold(struct alerts *, struct alert *, int64_t until,
    int64_t now);

/* ---- references ------------------------------------------------------------ */

static void
alert_unref(struct alert *a)
{
	if (--a->refs > 0)
		return;
	free((char *)a->sa.rule);
	free((char *)a->sa.account);
	free((char *)a->sa.subject);
	free((char *)a->sa.severity);
	free((char *)a->sa.summary);
	free((char *)a->sa.details);
	free(a->key);
	free(a);
}

static void
set_str(const char **field, const char *v)
{
	free((char *)*field);
	*field = xstrdup_or_null(v);
}

/* ---- the table ------------------------------------------------------------- */

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static char *
make_key(const char *rule, const char *account, const char *subject)
{
	char *k;

	xasprintf(&k, "%s\x1f%s\x1f%s", rule, account, subject);
	return k;
}

static void
table_grow(struct alerts *al)
{
	size_t n = al->nbuckets ? al->nbuckets * 2 : 256, i, b;
	struct alert **t = xcalloc(n, sizeof *t), *a, *next;

	for (i = 0; i < al->nbuckets; i++) {
		for (a = al->table[i]; a != NULL; a = next) {
			next = a->next;
			b = hash(a->key) & (n - 1);
			a->next = t[b];
			t[b] = a;
		}
	}
	free(al->table);
	al->table = t;
	al->nbuckets = n;
}

static struct alert *
find(struct alerts *al, const char *rule, const char *account,
    const char *subject)
{
	char *k = make_key(rule, account, subject);
	struct alert *a;

	for (a = al->table[hash(k) & (al->nbuckets - 1)]; a != NULL;
	    a = a->next) {
		if (strcmp(a->key, k) == 0)
			break;
	}
	free(k);
	return a;
}

static void
table_add(struct alerts *al, struct alert *a)
{
	size_t b;

	if (al->nfiring >= al->nbuckets)
		table_grow(al);
	b = hash(a->key) & (al->nbuckets - 1);
	a->next = al->table[b];
	al->table[b] = a;
	a->firing = 1;
	a->refs++;
	al->nfiring++;
}

static void
table_remove(struct alerts *al, struct alert *a)
{
	struct alert **pp = &al->table[hash(a->key) & (al->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			a->firing = 0;
			al->nfiring--;
			alert_unref(a);
			return;
		}
	}
}

/* ---- the heap -------------------------------------------------------------- */

/* Is a heap entry still wanted? One that is not lets go of its alert. */
static int
entry_live(const void *p, void *arg)
{
	const struct entry *e = p;
	struct alerts *al = arg;
	int live = 0;

	switch (e->type) {
	case T_GROUP:
		live = ((struct group *)e->ptr)->gen == e->gen;
		break;
	case T_REPEAT:
		live = ((struct alert *)e->ptr)->gen == e->gen &&
		    ((struct alert *)e->ptr)->firing;
		if (!live)
			alert_unref(e->ptr);
		break;
	case T_DOWN:
		live = ((struct acct *)e->ptr)->down_gen == e->gen;
		break;
	case T_SPIKE:
		live = ((struct acct *)e->ptr)->spike_gen == e->gen;
		break;
	case T_SILENCE:
		live = al->silence_gen == e->gen;
		break;
	}
	return live;
}

static void
heap_push(struct alerts *al, int64_t at_ms, enum timer_type type, void *ptr,
    uint64_t gen)
{
	struct entry e;

	/* entries made stale (a resolved alert's repeat, an earlier
	 * timer) are dropped when they are most of the heap */
	if (al->heap.n >= 256 && al->heap.n > 4 * (al->nfiring +
	    al->nsilenced + 4 * al->naccts + 16))
		timeheap_filter(&al->heap, entry_live, al);
	if (type == T_REPEAT)
		((struct alert *)ptr)->refs++;
	memset(&e, 0, sizeof e);
	e.at_ms = at_ms;
	e.type = type;
	e.ptr = ptr;
	e.gen = gen;
	timeheap_push(&al->heap, &e);
	if (!al->stopped)
		arm(al);
}

static struct entry
heap_pop(struct alerts *al)
{
	struct entry e;

	timeheap_pop(&al->heap, &e);
	return e;
}

static int64_t
heap_first(const struct alerts *al)
{
	const struct entry *e = timeheap_top(&al->heap);

	return e != NULL ? e->at_ms : -1;
}

/* ---- accounts -------------------------------------------------------------- */

static struct acct *
acct_get(struct alerts *al, const char *name)
{
	struct acct *ac;
	size_t i;

	for (i = 0; i < al->naccts; i++) {
		if (strcmp(al->accts[i]->name, name) == 0)
			return al->accts[i];
	}
	ac = xcalloc(1, sizeof *ac);
	ac->name = xstrdup(name);
	ac->down_at = -1;
	al->accts = xreallocarray(al->accts, al->naccts + 1,
	    sizeof *al->accts);
	al->accts[al->naccts++] = ac;
	return ac;
}

static void
acct_free(struct acct *ac)
{
	size_t i;

	for (i = 0; i < ac->nstreams; i++) {
		free(ac->streams[i].name);
		free(ac->streams[i].error);
	}
	free(ac->streams);
	free(ac->complaints);
	free(ac->name);
	free(ac);
}

/* ---- writing and telling ------------------------------------------------- */

static void
tx_fail(struct alerts *al, const char *what, char *err)
{
	(void)al;
	log_err("alerts: %s: %s", what, err != NULL ? err : "failed");
	free(err);
}

static struct group *
group_get(struct alerts *al, const char *account, const char *rule,
    const char *event)
{
	struct group *g;

	for (g = al->groups; g != NULL; g = g->next) {
		if (strcmp(g->account, account) == 0 &&
		    strcmp(g->rule, rule) == 0 && strcmp(g->event, event) == 0)
			return g;
	}
	g = xcalloc(1, sizeof *g);
	g->account = xstrdup(account);
	g->rule = xstrdup(rule);
	g->event = xstrdup(event);
	g->next = al->groups;
	al->groups = g;
	return g;
}

static void
group_add(struct alerts *al, struct alert *a, const char *event,
    int64_t event_id, int64_t at_ms)
{
	const struct conf_policy *pol = conf_policy_for(al->conf,
	    a->sa.account);
	struct group *g = group_get(al, a->sa.account, a->sa.rule, event);

	g->events = xreallocarray(g->events, g->n + 1, sizeof *g->events);
	g->alerts = xreallocarray(g->alerts, g->n + 1, sizeof *g->alerts);
	g->events[g->n] = event_id;
	g->alerts[g->n] = a;
	a->refs++;
	g->n++;
	if (pol->group_wait_ms <= 0 && !al->stopped) {
		flush_group(al, g);
		return;
	}
	if (!g->armed) {
		g->armed = 1;
		heap_push(al, at_ms + pol->group_wait_ms, T_GROUP, g, g->gen);
	}
}

/* Write an event of an alert, to be told with its group. */
static int
emit(struct alerts *al, struct alert *a, const char *event, int64_t now)
{
	int64_t id;
	char *err = NULL;

	if (store_event_add(al->store, a->sa.id, event, now, &id,
	    &err) == -1) {
		tx_fail(al, "cannot record an alert event", err);
		return -1;
	}
	group_add(al, a, event, id, now);
	return 0;
}

/* A new alert, firing. NULL if it cannot be stored. */
static struct alert *
fire(struct alerts *al, const char *rule, const char *account,
    const char *subject, const char *severity, const char *summary,
    const char *details, int held, int64_t now)
{
	struct alert *a = xcalloc(1, sizeof *a);
	char *err = NULL;

	a->sa.rule = xstrdup(rule);
	a->sa.account = xstrdup(account);
	a->sa.subject = xstrdup(subject);
	a->sa.severity = xstrdup(severity);
	a->sa.summary = xstrdup(summary);
	a->sa.details = xstrdup_or_null(details);
	a->sa.fired_ms = now;
	a->sa.resolved_ms = -1;
	a->sa.notified_ms = -1;
	a->sa.held = held;
	a->key = make_key(rule, account, subject);
	a->refs = 1;
	/* in the table first: its firing event may be told at once */
	table_add(al, a);
	if (store_tx_begin(al->store, &err) == -1) {
		tx_fail(al, "cannot record an alert", err);
		table_remove(al, a);
		alert_unref(a);
		return NULL;
	}
	if (store_alert_add(al->store, &a->sa, &err) == -1 ||
	    (!held && emit(al, a, "firing", now) == -1) ||
	    store_tx_commit(al->store, &err) == -1) {
		store_tx_rollback(al->store);
		tx_fail(al, "cannot record an alert", err);
		table_remove(al, a);
		alert_unref(a);
		return NULL;
	}
	alert_unref(a);
	log_notice("alert: %s%s", summary, held ? " (held back: the "
	    "account's connector is down)" : "");
	return a;
}

/* Store what changed of a firing alert (and tell event, if not NULL). */
static int
update(struct alerts *al, struct alert *a, const char *event, int64_t now)
{
	char *err = NULL;

	if (store_tx_begin(al->store, &err) == -1) {
		tx_fail(al, "cannot update an alert", err);
		return -1;
	}
	if (store_alert_update(al->store, &a->sa, &err) == -1 ||
	    (event != NULL && emit(al, a, event, now) == -1) ||
	    store_tx_commit(al->store, &err) == -1) {
		store_tx_rollback(al->store);
		tx_fail(al, "cannot update an alert", err);
		return -1;
	}
	return 0;
}

static void
resolve(struct alerts *al, struct alert *a, int64_t now)
{
	a->sa.resolved_ms = now;
	a->gen++;
	if (update(al, a, "resolved", now) == -1) {
		a->sa.resolved_ms = -1;
		return;
	}
	log_notice("alert resolved: %s", a->sa.summary);
	table_remove(al, a);
}

/* ---- groups: from events to notifications ------------------------------ */

struct silence_scan {
	const char	*account, *rule;
	int64_t		 until_ms;	/* latest end of a matching one, -1 */
};

static void
silence_match(const struct store_silence *s, void *arg)
{
	struct silence_scan *ss = arg;

	if (s->account != NULL && strcmp(s->account, ss->account) != 0)
		return;
	if (s->rule != NULL && strcmp(s->rule, ss->rule) != 0)
		return;
	if (s->until_ms > ss->until_ms)
		ss->until_ms = s->until_ms;
}

/* Until when the group's account and rule are silenced; -1: not. */
static int64_t
silenced_until(struct alerts *al, const struct group *g, int64_t now)
{
	struct silence_scan ss;
	char *err = NULL;

	ss.account = g->account;
	ss.rule = g->rule;
	ss.until_ms = -1;
	if (store_each_silence(al->store, now, silence_match, &ss,
	    &err) == -1) {
		tx_fail(al, "cannot read the silences", err);
		return -1;
	}
	return ss.until_ms;
}

/* Does the comma-separated list name the route? */
static int
list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (*p != '\0') {
		const char *e;
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		e = p;
		while (*e != '\0' && *e != ',')
			e++;
		len = (size_t)(e - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == n && strncmp(p, name, n) == 0)
			return 1;
		p = e;
	}
	return 0;
}

struct queued {
	int64_t		 id;
	const char	*route;
};

/* One notification per route for the alerts to tell. */
static int
notify(struct alerts *al, const struct group *g,
    const struct store_alert **tell, const int64_t *events, size_t n,
    int64_t now, struct queued **q, size_t *nq, char **err)
{
	const struct conf_policy *pol = conf_policy_for(al->conf, g->account);
	struct store_notification sn;
	struct notice nt;
	char *key;
	size_t i;
	int rc = 0;

	for (i = 0; i < al->routes->n && rc == 0; i++) {
		const struct route *r = &al->routes->routes[i];

		if (pol->alert_routes != NULL &&
		    !list_has(pol->alert_routes, r->name))
			continue;
		xasprintf(&key, "rw1-%lld-%lld-%s", (long long)now,
		    (long long)events[0], r->name);
		notice_build(g->event, key, tell, n, now, &nt);
		memset(&sn, 0, sizeof sn);
		sn.key = key;
		sn.route = r->name;
		sn.account = g->account;
		sn.rule = g->rule;
		sn.event = g->event;
		sn.created_ms = now;
		sn.subject = nt.subject;
		sn.text = nt.text;
		sn.json = nt.json;
		sn.state = "pending";
		sn.next_ms = now;
		sn.done_ms = -1;
		rc = store_notification_add(al->store, &sn, events, n, err);
		if (rc == 0) {
			*q = xreallocarray(*q, *nq + 1, sizeof **q);
			(*q)[*nq].id = sn.id;
			(*q)[*nq].route = r->name;
			(*nq)++;
			log_info("alerts: %s (route %s, %s)", nt.subject + 13,
			    r->name, key);
		}
		notice_clear(&nt);
		free(key);
	}
	return rc;
}

static void
group_reset(struct group *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		alert_unref(g->alerts[i]);
	g->n = 0;
	g->armed = 0;
	g->gen++;
}

static void
flush_group(struct alerts *al, struct group *g)
{
	const struct conf_policy *pol = conf_policy_for(al->conf, g->account);
	const struct store_alert **tell;
	struct queued *q = NULL;
	int64_t now = timefmt_now(), until, *events;
	int repeat_ev = strcmp(g->event, "resolved") != 0;
	size_t i, ntell = 0, nq = 0;
	char *err = NULL;
	int rc, intx = 0;

	if (g->n == 0)
		return;
	until = repeat_ev ? silenced_until(al, g, now) : -1;
	tell = xcalloc(g->n, sizeof *tell);
	events = xcalloc(g->n, sizeof *events);
	if ((rc = store_tx_begin(al->store, &err)) == -1)
		goto done;
	intx = 1;
	for (i = 0; i < g->n && rc == 0; i++) {
		struct alert *a = g->alerts[i];
		const char *how = NULL;

		if (repeat_ev && (!a->firing || a->sa.held))
			how = "dropped";	/* resolved or held meanwhile */
		else if (!repeat_ev && a->sa.notified_ms < 0)
			how = "dropped";	/* its firing was never told */
		else if (until >= 0) {
			how = "silenced";
			silence_hold(al, a, until, now);
		}
		if (how != NULL) {
			rc = store_event_done(al->store, g->events[i], how,
			    &err);
			continue;
		}
		tell[ntell] = &a->sa;
		events[ntell++] = g->events[i];
	}
	if (rc == 0 && ntell > 0)
		rc = notify(al, g, tell, events, ntell, now, &q, &nq, &err);
	for (i = 0; i < g->n && rc == 0; i++) {
		struct alert *a = g->alerts[i];
		size_t k;

		for (k = 0; k < ntell && tell[k] != &a->sa; k++)
			;
		if (k == ntell)
			continue;
		rc = store_event_done(al->store, g->events[i],
		    nq > 0 ? "notified" : "unrouted", &err);
		if (rc == 0 && repeat_ev) {
			a->sa.notified_ms = now;
			rc = store_alert_update(al->store, &a->sa, &err);
		}
	}
	if (rc == 0)
		rc = store_tx_commit(al->store, &err);
done:
	if (rc == -1) {
		if (intx)
			store_tx_rollback(al->store);
		tx_fail(al, "cannot queue a notification", err);
		free(q);
		free(tell);
		free(events);
		/* the events are still pending: try again */
		g->armed = 1;
		heap_push(al, now + RETRY_FLUSH_MS, T_GROUP, g, g->gen);
		return;
	}
	if (repeat_ev) {
		for (i = 0; i < g->n; i++) {
			struct alert *a = g->alerts[i];

			if (a->firing && a->sa.notified_ms == now) {
				a->gen++;
				heap_push(al, now + pol->repeat_interval_ms,
				    T_REPEAT, a, a->gen);
			}
		}
	}
	for (i = 0; i < nq; i++)
		outbox_queue(al->outbox, q[i].id, q[i].route);
	free(q);
	free(tell);
	free(events);
	group_reset(g);
}

/* ---- silenced alerts ------------------------------------------------------ */

static void
silence_arm(struct alerts *al, int64_t at)
{
	if (al->silence_at >= 0 && al->silence_at <= at)
		return;
	al->silence_at = at;
	al->silence_gen++;
	heap_push(al, at, T_SILENCE, NULL, al->silence_gen);
}

/* A firing or repeat notice of a was silenced until `until`: told when
 * the silence ends or is removed, if it still fires. */
static void
silence_hold(struct alerts *al, struct alert *a, int64_t until, int64_t now)
{
	a->gen++;		/* no repeat meanwhile */
	if (!a->in_silence) {
		al->silenced = xreallocarray(al->silenced, al->nsilenced + 1,
		    sizeof *al->silenced);
		al->silenced[al->nsilenced++] = a;
		a->in_silence = 1;
		a->refs++;
	}
	silence_arm(al, until < now + SILENCE_RECHECK_MS ? until :
	    now + SILENCE_RECHECK_MS);
}

struct silence_list {
	struct store_silence *s;
	char		**strs;
	size_t		 n;
};

static void
silence_collect(const struct store_silence *s, void *arg)
{
	struct silence_list *sl = arg;
	struct store_silence *c;

	sl->s = xreallocarray(sl->s, sl->n + 1, sizeof *sl->s);
	sl->strs = xreallocarray(sl->strs, 2 * (sl->n + 1),
	    sizeof *sl->strs);
	c = &sl->s[sl->n];
	*c = *s;
	c->account = sl->strs[2 * sl->n] = xstrdup_or_null(s->account);
	c->rule = sl->strs[2 * sl->n + 1] = xstrdup_or_null(s->rule);
	c->reason = c->created_by = NULL;
	sl->n++;
}

/* Until when a silence of the list holds alert a; -1: none. */
static int64_t
silence_of(const struct silence_list *sl, const struct alert *a)
{
	int64_t until = -1;
	size_t i;

	for (i = 0; i < sl->n; i++) {
		const struct store_silence *s = &sl->s[i];

		if ((s->account == NULL ||
		    strcmp(s->account, a->sa.account) == 0) &&
		    (s->rule == NULL || strcmp(s->rule, a->sa.rule) == 0) &&
		    s->until_ms > until)
			until = s->until_ms;
	}
	return until;
}

static void
on_silence_check(struct alerts *al, int64_t now)
{
	struct silence_list sl = { NULL, NULL, 0 };
	struct alert **tell = NULL;
	size_t i, keep = 0, ntell = 0;
	int64_t until, next = -1;
	char *err = NULL;

	al->silence_at = -1;
	if (store_each_silence(al->store, now, silence_collect, &sl,
	    &err) == -1) {
		tx_fail(al, "cannot read the silences", err);
		silence_arm(al, now + SILENCE_RECHECK_MS);
		return;
	}
	tell = xcalloc(al->nsilenced ? al->nsilenced : 1, sizeof *tell);
	for (i = 0; i < al->nsilenced; i++) {
		struct alert *a = al->silenced[i];

		if (a->firing && !a->sa.held &&
		    (until = silence_of(&sl, a)) >= 0) {
			al->silenced[keep++] = a;
			if (next < 0 || until < next)
				next = until;
			continue;
		}
		a->in_silence = 0;
		if (a->firing && !a->sa.held)
			tell[ntell++] = a;	/* the reference moves */
		else
			alert_unref(a);
	}
	al->nsilenced = keep;
	for (i = 0; i < sl.n; i++) {
		free(sl.strs[2 * i]);
		free(sl.strs[2 * i + 1]);
	}
	free(sl.s);
	free(sl.strs);
	if (keep > 0)
		silence_arm(al, next < now + SILENCE_RECHECK_MS ? next :
		    now + SILENCE_RECHECK_MS);
	for (i = 0; i < ntell; i++) {
		emit(al, tell[i], tell[i]->sa.notified_ms < 0 ? "firing" :
		    "repeat", now);
		alert_unref(tell[i]);
	}
	free(tell);
}

/* ---- overdue --------------------------------------------------------------- */

static char *
wait_subject(const struct watch_wait *ww)
{
	char *s;

	xasprintf(&s, "%s:%s:%s", msg_kind_name((enum msg_kind)ww->kind),
	    ww->conversation, ww->open_id != NULL ? ww->open_id : "");
	return s;
}

struct msg_look {
	char	*url, *text;
};

static void
look_msg(const struct msg *m, void *arg)
{
	struct msg_look *ml = arg;

	if (ml->url == NULL && ml->text == NULL) {
		ml->url = xstrdup_or_null(m->url);
		ml->text = xstrdup_or_null(m->text);
	}
}

static void
add_time(cJSON *o, const char *name, int64_t ms)
{
	char t[40];

	timefmt_format_rfc3339(ms, t, sizeof t);
	cJSON_AddStringToObject(o, name, t);
}

/* The start of a text on one line, at a character boundary. */
static char *
excerpt(const char *text)
{
	size_t i, n;
	char *s;

	if (text == NULL)
		return NULL;
	n = strlen(text);
	if (n > EXCERPT_MAX) {
		n = EXCERPT_MAX;
		while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
			n--;
	}
	s = xstrndup(text, n);
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < ' ')
			s[i] = ' ';
	}
	return s;
}

static char *
wait_details(struct alerts *al, const struct watch_wait *ww)
{
	struct msg_look ml = { NULL, NULL };
	cJSON *o = cJSON_CreateObject();
	char *err = NULL, *ex, *s, *out;

	if (ww->open_id != NULL && store_find_message(al->store, ww->open_id,
	    ww->account, look_msg, &ml, &err) == -1) {
		log_warn("alerts: %s", err);
		free(err);
	}
	cJSON_AddStringToObject(o, "kind",
	    msg_kind_name((enum msg_kind)ww->kind));
	cJSON_AddStringToObject(o, "conversation", ww->conversation);
	if (ww->open_id != NULL)
		cJSON_AddStringToObject(o, "message_id", ww->open_id);
	if (ww->author != NULL)
		cJSON_AddStringToObject(o, "author", ww->author);
	add_time(o, "opened_at", ww->opened_ms);
	add_time(o, "deadline", ww->deadline_ms);
	cJSON_AddNumberToObject(o, "target_seconds",
	    (double)ww->target_ms / 1000);
	cJSON_AddBoolToObject(o, "complaint", ww->complaint_ms >= 0);
	if (ml.url != NULL)
		cJSON_AddStringToObject(o, "url", ml.url);
	if ((ex = excerpt(ml.text)) != NULL)
		cJSON_AddStringToObject(o, "excerpt", ex);
	s = cJSON_PrintUnformatted(o);
	out = xstrdup(s);
	cJSON_free(s);
	cJSON_Delete(o);
	free(ex);
	free(ml.url);
	free(ml.text);
	return out;
}

static int
acct_down(struct alerts *al, const char *account)
{
	return find(al, "connector_down", account, "") != NULL;
}

static char *down_details(const struct acct *);

/* One more overdue alert held back: the connector_down alert says so. */
static void
note_held(struct alerts *al, const char *account, int64_t now)
{
	struct acct *ac = acct_get(al, account);
	struct alert *down = find(al, "connector_down", account, "");
	char *d;

	ac->nheld++;
	if (down == NULL)
		return;
	d = down_details(ac);
	set_str(&down->sa.details, d);
	free(d);
	update(al, down, NULL, now);
}

static void
overdue_summary(const struct watch_wait *ww, int level, char *buf,
    size_t len)
{
	char d[NOTICE_DURATION_LEN];

	notice_duration(ww->target_ms, d);
	snprintf(buf, len, "%s: %s reply for %s to %s%s (target %s)",
	    level == 1 ? "due soon" : "overdue",
	    msg_kind_name((enum msg_kind)ww->kind), ww->account,
	    ww->author != NULL ? ww->author : "someone",
	    ww->complaint_ms >= 0 ? ", a complaint" : "", d);
}

void
alerts_due(const struct watch_wait *ww, int level, void *arg)
{
	struct alerts *al = arg;
	const struct conf_policy *pol = conf_policy_for(al->conf, ww->account);
	struct alert *a;
	char *subject, *details, summary[512];
	int64_t now = timefmt_now();
	int held;

	if (!pol->alert_overdue || al->stopped)
		return;
	subject = wait_subject(ww);
	overdue_summary(ww, level, summary, sizeof summary);
	if ((a = find(al, "overdue", ww->account, subject)) != NULL) {
		/* the warning becomes the overdue alert: told again */
		if (level == 2 && strcmp(a->sa.severity, "warning") == 0) {
			set_str(&a->sa.severity, "critical");
			set_str(&a->sa.summary, summary);
			update(al, a, a->sa.held ? NULL : "firing", now);
		}
		free(subject);
		return;
	}
	details = wait_details(al, ww);
	held = acct_down(al, ww->account);
	if (fire(al, "overdue", ww->account, subject, level == 1 ?
	    "warning" : "critical", summary, details, held, now) != NULL &&
	    held)
		note_held(al, ww->account, now);
	free(details);
	free(subject);
}

static void
resolve_wait(struct alerts *al, struct alert *a, int64_t closed_ms,
    const char *close_id, int64_t now)
{
	cJSON *o = a->sa.details != NULL ? cJSON_Parse(a->sa.details) : NULL;
	char *s;

	if (o == NULL)
		o = cJSON_CreateObject();
	if (closed_ms >= 0) {
		add_time(o, "replied_at", closed_ms);
		if (close_id != NULL)
			cJSON_AddStringToObject(o, "reply_id", close_id);
	} else
		cJSON_AddBoolToObject(o, "gone", 1);
	s = cJSON_PrintUnformatted(o);
	set_str(&a->sa.details, s);
	cJSON_free(s);
	cJSON_Delete(o);
	resolve(al, a, now);
}

void
alerts_closed(const struct watch_wait *ww, void *arg)
{
	struct alerts *al = arg;
	struct alert *a;
	char *subject = wait_subject(ww);

	a = find(al, "overdue", ww->account, subject);
	free(subject);
	if (a != NULL)
		resolve_wait(al, a, ww->closed_ms, ww->close_id,
		    timefmt_now());
}

/* ---- backlog ----------------------------------------------------------- */

static void
backlog_details(size_t n, int64_t limit, char *buf, size_t len)
{
	snprintf(buf, len, "{\"open\":%zu,\"limit\":%lld}", n,
	    (long long)limit);
}

void
alerts_open_count(const char *account, size_t n, void *arg)
{
	struct alerts *al = arg;
	const struct conf_policy *pol = conf_policy_for(al->conf, account);
	struct alert *a = find(al, "backlog", account, "");
	char summary[256], details[128];
	int64_t now = timefmt_now();

	if (al->stopped)
		return;
	if (pol->backlog_limit > 0 && n > (size_t)pol->backlog_limit) {
		if (a != NULL)
			return;
		snprintf(summary, sizeof summary, "backlog: %s, %zu waits "
		    "open (limit %lld)", account, n,
		    (long long)pol->backlog_limit);
		backlog_details(n, pol->backlog_limit, details,
		    sizeof details);
		fire(al, "backlog", account, "", "warning", summary, details,
		    0, now);
		return;
	}
	if (a == NULL)
		return;
	backlog_details(n, pol->backlog_limit, details, sizeof details);
	set_str(&a->sa.details, details);
	resolve(al, a, now);
}

/* ---- complaint spikes ---------------------------------------------------- */

static void
spike_eval(struct alerts *al, struct acct *ac, int64_t now)
{
	const struct conf_policy *pol = conf_policy_for(al->conf, ac->name);
	struct alert *a = find(al, "complaint_spike", ac->name, "");
	int64_t w = pol->spike_window_ms, from = now - w;
	size_t i, drop = 0, inwin = 0, base = 0, first = SIZE_MAX;
	double baseline;
	int spike;
	char summary[256], details[256], d[NOTICE_DURATION_LEN];

	for (i = 0; i < ac->ncompl; i++) {
		int64_t t = ac->complaints[i];

		if (t < from - SPIKE_BASELINE_WINDOWS * w)
			drop++;
		else if (t < from)
			base++;
		else if (t <= now) {
			if (first == SIZE_MAX)
				first = i;
			inwin++;
		}
	}
	if (drop > 0) {
		memmove(ac->complaints, ac->complaints + drop,
		    (ac->ncompl - drop) * sizeof *ac->complaints);
		ac->ncompl -= drop;
		if (first != SIZE_MAX)
			first -= drop;
	}
	baseline = (double)base / SPIKE_BASELINE_WINDOWS;
	spike = pol->spike_floor > 0 && inwin >= (size_t)pol->spike_floor &&
	    (double)inwin > (double)pol->spike_factor * baseline;
	notice_duration(w, d);
	snprintf(details, sizeof details, "{\"complaints\":%zu,"
	    "\"window_seconds\":%lld,\"baseline\":%.2f,\"floor\":%lld,"
	    "\"factor\":%lld}", inwin, (long long)(w / 1000), baseline,
	    (long long)pol->spike_floor, (long long)pol->spike_factor);
	if (spike && a == NULL) {
		snprintf(summary, sizeof summary, "complaint spike: %s, %zu "
		    "complaints in %s (baseline %.1f per %s)", ac->name,
		    inwin, d, baseline, d);
		fire(al, "complaint_spike", ac->name, "", "critical", summary,
		    details, 0, now);
	} else if (!spike && a != NULL) {
		set_str(&a->sa.details, details);
		resolve(al, a, now);
	}
	/* the count only falls when the oldest complaint leaves the window */
	if (spike && first != SIZE_MAX) {
		ac->spike_gen++;
		heap_push(al, ac->complaints[first] + w + 1, T_SPIKE, ac,
		    ac->spike_gen);
	}
}

static void
spike_add(struct acct *ac, int64_t t)
{
	size_t i;

	if (ac->ncompl == ac->capcompl) {
		ac->capcompl = ac->capcompl ? ac->capcompl * 2 : 64;
		ac->complaints = xreallocarray(ac->complaints, ac->capcompl,
		    sizeof *ac->complaints);
	}
	for (i = ac->ncompl; i > 0 && ac->complaints[i - 1] > t; i--)
		ac->complaints[i] = ac->complaints[i - 1];
	ac->complaints[i] = t;
	ac->ncompl++;
}

void
alerts_message(struct alerts *al, const struct msg *m)
{
	struct acct *ac;
	int64_t now = timefmt_now();

	if (al->stopped || m->direction != MSG_INBOUND ||
	    m->complaint != MSG_COMPLAINT_YES)
		return;
	ac = acct_get(al, m->account);
	spike_add(ac, m->created_ms < now ? m->created_ms : now);
	spike_eval(al, ac, now);
}

/* ---- connector health ---------------------------------------------------- */

static struct stream_health *
stream_get(struct acct *ac, const char *name)
{
	struct stream_health *sh;
	size_t i;

	for (i = 0; i < ac->nstreams; i++) {
		if (strcmp(ac->streams[i].name, name) == 0)
			return &ac->streams[i];
	}
	ac->streams = xreallocarray(ac->streams, ac->nstreams + 1,
	    sizeof *ac->streams);
	sh = &ac->streams[ac->nstreams++];
	memset(sh, 0, sizeof *sh);
	sh->name = xstrdup(name);
	return sh;
}

static char *
down_details(const struct acct *ac)
{
	cJSON *o = cJSON_CreateObject(), *arr, *e;
	char *s, *out;
	size_t i;

	arr = cJSON_AddArrayToObject(o, "streams");
	for (i = 0; i < ac->nstreams; i++) {
		const struct stream_health *sh = &ac->streams[i];

		if (!sh->failing)
			continue;
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "stream", sh->name);
		cJSON_AddStringToObject(e, "error", sh->error != NULL ?
		    sh->error : "");
		cJSON_AddNumberToObject(e, "failures", (double)sh->failures);
		cJSON_AddBoolToObject(e, "auth", sh->auth);
		add_time(e, "failing_since", sh->since_ms);
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_AddNumberToObject(o, "held_overdue", (double)ac->nheld);
	s = cJSON_PrintUnformatted(o);
	out = xstrdup(s);
	cJSON_free(s);
	cJSON_Delete(o);
	return out;
}

/* Fire connector_down if a stream is refused or failing for too long;
 * else set the timer for when the first one will have been. */
static void
down_eval(struct alerts *al, struct acct *ac, int64_t now)
{
	const struct conf_policy *pol = conf_policy_for(al->conf, ac->name);
	const struct stream_health *bad = NULL;
	int64_t next = -1;
	char summary[512], *details;
	size_t i;

	if (find(al, "connector_down", ac->name, "") != NULL)
		return;
	for (i = 0; i < ac->nstreams && bad == NULL; i++) {
		const struct stream_health *sh = &ac->streams[i];

		if (!sh->failing)
			continue;
		if (sh->auth || now - sh->since_ms >= pol->down_after_ms)
			bad = sh;
		else if (next < 0 || sh->since_ms + pol->down_after_ms < next)
			next = sh->since_ms + pol->down_after_ms;
	}
	if (bad == NULL) {
		/* one entry per account: a new one only if it is earlier */
		if (next >= 0 && (ac->down_at < 0 || next < ac->down_at ||
		    ac->down_at <= now)) {
			ac->down_at = next;
			ac->down_gen++;
			heap_push(al, next, T_DOWN, ac, ac->down_gen);
		}
		return;
	}
	snprintf(summary, sizeof summary, "connector down: %s: %s: %.300s",
	    ac->name, bad->name, bad->error != NULL ? bad->error : "failing");
	details = down_details(ac);
	fire(al, "connector_down", ac->name, "", "critical", summary, details,
	    0, now);
	free(details);
}

/* The account polls again: its held overdue alerts are told now. */
static void
release_held(struct alerts *al, const char *account, int64_t now)
{
	struct alert *a;
	size_t i, n = 0;

	for (i = 0; i < al->nbuckets; i++) {
		for (a = al->table[i]; a != NULL; a = a->next) {
			if (!a->sa.held || strcmp(a->sa.account, account) != 0)
				continue;
			a->sa.held = 0;
			if (update(al, a, "firing", now) == 0)
				n++;
		}
	}
	if (n > 0)
		log_notice("alerts: %s: %zu overdue alert%s held back while "
		    "its connector was down, told now", account, n,
		    n == 1 ? "" : "s");
}

void
alerts_polled(struct alerts *al, const struct poller_poll *pp)
{
	struct acct *ac;
	struct stream_health *sh;
	struct alert *a;
	int64_t now = timefmt_now();
	size_t i;

	if (al->stopped)
		return;
	ac = acct_get(al, pp->account);
	sh = stream_get(ac, pp->stream);
	if (pp->ok) {
		if (!sh->failing)
			return;
		sh->failing = sh->auth = 0;
		free(sh->error);
		sh->error = NULL;
		for (i = 0; i < ac->nstreams; i++) {
			if (ac->streams[i].failing)
				return;
		}
		ac->down_gen++;
		ac->down_at = -1;
		if ((a = find(al, "connector_down", ac->name, "")) != NULL) {
			resolve(al, a, now);
			release_held(al, ac->name, now);
		}
		ac->nheld = 0;
		return;
	}
	if (!sh->failing) {
		sh->failing = 1;
		sh->since_ms = pp->last_ok_ms > al->started_ms ?
		    pp->last_ok_ms : al->started_ms;
	}
	sh->auth = pp->auth;
	sh->failures = pp->failures;
	free(sh->error);
	sh->error = xstrdup_or_null(pp->error);
	down_eval(al, ac, now);
}

/* ---- the timer ----------------------------------------------------------- */

static void
on_repeat(struct alerts *al, struct alert *a, int64_t now)
{
	if (!a->firing || a->sa.held)
		return;
	emit(al, a, a->sa.notified_ms < 0 ? "firing" : "repeat", now);
}

static void
on_timer(uv_timer_t *t)
{
	struct alerts *al = t->data;
	int64_t now = timefmt_now();

	while (al->heap.n > 0 && heap_first(al) <= now && !al->stopped) {
		struct entry e = heap_pop(al);

		switch (e.type) {
		case T_GROUP: {
			struct group *g = e.ptr;

			if (g->gen == e.gen)
				flush_group(al, g);
			break;
		}
		case T_REPEAT: {
			struct alert *a = e.ptr;

			if (a->gen == e.gen)
				on_repeat(al, a, now);
			alert_unref(a);
			break;
		}
		case T_DOWN: {
			struct acct *ac = e.ptr;

			if (ac->down_gen == e.gen) {
				ac->down_at = -1;
				down_eval(al, ac, now);
			}
			break;
		}
		case T_SPIKE: {
			struct acct *ac = e.ptr;

			if (ac->spike_gen == e.gen)
				spike_eval(al, ac, now);
			break;
		}
		case T_SILENCE:
			if (al->silence_gen == e.gen)
				on_silence_check(al, now);
			break;
		}
	}
	arm(al);
}

static void
arm(struct alerts *al)
{
	int64_t now;

	if (al->stopped)
		return;
	if (al->heap.n == 0) {
		uv_timer_stop(&al->timer);
		return;
	}
	now = timefmt_now();
	uv_timer_start(&al->timer, on_timer, heap_first(al) > now ?
	    (uint64_t)(heap_first(al) - now) : 0, 0);
}

/* ---- start-up ------------------------------------------------------------ */

struct alerts *
alerts_new(uv_loop_t *loop, struct store *st, struct outbox *ob,
    const struct conf *conf, const struct routeset *routes)
{
	struct alerts *al = xcalloc(1, sizeof *al);

	al->loop = loop;
	al->store = st;
	al->outbox = ob;
	al->conf = conf;
	al->routes = routes;
	al->started_ms = timefmt_now();
	al->silence_at = -1;
	timeheap_init(&al->heap, sizeof(struct entry));
	uv_timer_init(loop, &al->timer);
	al->timer.data = al;
	table_grow(al);
	return al;
}

static void
load_alert(const struct store_alert *sa, void *arg)
{
	struct alerts *al = arg;
	struct alert *a = xcalloc(1, sizeof *a);
	const struct conf_policy *pol;

	a->sa = *sa;
	a->sa.rule = xstrdup(sa->rule);
	a->sa.account = xstrdup(sa->account);
	a->sa.subject = xstrdup(sa->subject);
	a->sa.severity = xstrdup(sa->severity);
	a->sa.summary = xstrdup(sa->summary);
	a->sa.details = xstrdup_or_null(sa->details);
	a->key = make_key(sa->rule, sa->account, sa->subject);
	a->refs = 1;
	table_add(al, a);
	alert_unref(a);
	/* told before: repeat on time; never told (silenced): now, unless
	 * an event of it is still pending (alerts_start) */
	pol = conf_policy_for(al->conf, sa->account);
	if (!sa->held)
		heap_push(al, sa->notified_ms >= 0 ? sa->notified_ms +
		    pol->repeat_interval_ms : al->started_ms, T_REPEAT, a,
		    a->gen);
}

int
alerts_load(struct alerts *al, char **errstr)
{
	struct store_alert_filter f;

	memset(&f, 0, sizeof f);
	f.firing = 1;
	f.since_ms = -1;
	return store_each_alert(al->store, &f, load_alert, al, errstr);
}

static struct alert *
find_by_id(struct alerts *al, int64_t id)
{
	struct alert *a;
	size_t i;

	for (i = 0; i < al->nbuckets; i++) {
		for (a = al->table[i]; a != NULL; a = a->next) {
			if (a->sa.id == id)
				return a;
		}
	}
	return NULL;
}

/* Events the last run left untold, collected before they are grouped
 * (grouping may write to the store, which is being read). */
struct pending_ev {
	struct alert	*a;		/* referenced */
	char		*event;
	int64_t		 id, at_ms;
};
struct pending_scan {
	struct alerts	*al;
	struct pending_ev *ev;
	size_t		 n;
};

static void
scan_event(const struct store_alert_event *ev, const struct store_alert *sa,
    void *arg)
{
	struct pending_scan *ps = arg;
	struct pending_ev *pe;
	struct alert *a;

	a = find_by_id(ps->al, ev->alert_id);
	if (a == NULL) {
		/* resolved: told from a copy */
		a = xcalloc(1, sizeof *a);
		a->sa = *sa;
		a->sa.rule = xstrdup(sa->rule);
		a->sa.account = xstrdup(sa->account);
		a->sa.subject = xstrdup(sa->subject);
		a->sa.severity = xstrdup(sa->severity);
		a->sa.summary = xstrdup(sa->summary);
		a->sa.details = xstrdup_or_null(sa->details);
		a->key = make_key(sa->rule, sa->account, sa->subject);
	}
	a->refs++;
	a->gen++;	/* its start-up repeat is not needed */
	ps->ev = xreallocarray(ps->ev, ps->n + 1, sizeof *ps->ev);
	pe = &ps->ev[ps->n++];
	pe->a = a;
	pe->event = xstrdup(ev->event);
	pe->id = ev->id;
	pe->at_ms = ev->at_ms;
}

static void
spike_load(const struct msg *m, void *arg)
{
	struct alerts *al = arg;

	if (m->direction == MSG_INBOUND && m->complaint == MSG_COMPLAINT_YES)
		spike_add(acct_get(al, m->account), m->created_ms);
}

int
alerts_start(struct alerts *al, struct watch *w, char **errstr)
{
	struct pending_scan ps;
	struct alert *a, **stale = NULL;
	struct store_filter f;
	int64_t now = timefmt_now();
	size_t i, nstale = 0;
	int rc;

	/* overdue alerts whose wait was answered while we were away */
	for (i = 0; i < al->nbuckets; i++) {
		for (a = al->table[i]; a != NULL; a = a->next) {
			cJSON *o;
			const cJSON *k, *c, *m;
			int kind;

			if (strcmp(a->sa.rule, "overdue") != 0)
				continue;
			o = a->sa.details ? cJSON_Parse(a->sa.details) : NULL;
			k = cJSON_GetObjectItemCaseSensitive(o, "kind");
			c = cJSON_GetObjectItemCaseSensitive(o, "conversation");
			m = cJSON_GetObjectItemCaseSensitive(o, "message_id");
			if (cJSON_IsString(k) && cJSON_IsString(c) &&
			    msg_kind_parse(k->valuestring,
			    (enum msg_kind *)&kind) == 0 &&
			    !watch_is_open(w, a->sa.account, kind,
			    c->valuestring, cJSON_IsString(m) ?
			    m->valuestring : NULL)) {
				stale = xreallocarray(stale, nstale + 1,
				    sizeof *stale);
				stale[nstale++] = a;
				a->refs++;
			}
			cJSON_Delete(o);
		}
	}
	for (i = 0; i < nstale; i++) {
		resolve_wait(al, stale[i], -1, NULL, now);
		alert_unref(stale[i]);
	}
	free(stale);
	if (nstale > 0)
		log_notice("alerts: %zu overdue alert%s resolved: no longer "
		    "waiting", nstale, nstale == 1 ? "" : "s");

	/* events the last run did not tell */
	memset(&ps, 0, sizeof ps);
	ps.al = al;
	rc = store_each_pending_event(al->store, scan_event, &ps, errstr);
	for (i = 0; i < ps.n; i++) {
		if (rc == 0)
			group_add(al, ps.ev[i].a, ps.ev[i].event, ps.ev[i].id,
			    ps.ev[i].at_ms);
		alert_unref(ps.ev[i].a);
		free(ps.ev[i].event);
	}
	free(ps.ev);
	if (rc == -1)
		return -1;
	if (ps.n > 0)
		log_notice("alerts: %zu event%s left untold by the last run",
		    ps.n, ps.n == 1 ? "" : "s");

	/* complaints of the spike windows, and the backlogs */
	for (i = 0; i < al->conf->naccounts; i++) {
		const struct conf_account *ca = &al->conf->accounts[i];
		const struct conf_policy *pol = &ca->policy;
		struct acct *ac = acct_get(al, ca->name);

		memset(&f, 0, sizeof f);
		f.since_ms = now - (SPIKE_BASELINE_WINDOWS + 1) *
		    pol->spike_window_ms;
		f.until_ms = now + 1;
		f.at_ms = now;
		f.account = ca->name;
		f.kind = -1;
		f.complaints = 1;
		if (pol->spike_floor > 0 && store_each_message(al->store, &f,
		    spike_load, al, errstr) == -1)
			return -1;
		if (ac->ncompl > 0)
			spike_eval(al, ac, now);
		alerts_open_count(ca->name, watch_account_open(w, ca->name),
		    al);
	}
	log_info("alerts: %zu firing", al->nfiring);
	arm(al);
	return 0;
}

void
alerts_reconfigure(struct alerts *al, const struct conf *conf,
    const struct routeset *routes)
{
	size_t i;

	al->conf = conf;
	al->routes = routes;
	for (i = 0; i < al->naccts; i++) {
		if (al->accts[i]->ncompl > 0)
			spike_eval(al, al->accts[i], timefmt_now());
		down_eval(al, al->accts[i], timefmt_now());
	}
}

size_t
alerts_nfiring(const struct alerts *al)
{
	return al->nfiring;
}

void
alerts_each_count(const struct alerts *al, alerts_count_fn *fn, void *arg)
{
	static const char *const rules[] = {
		"overdue", "complaint_spike", "connector_down", "backlog",
	};
	const struct alert *a;
	size_t i, r, k, n;

	for (i = 0; i < al->naccts; i++) {
		for (r = 0; r < sizeof rules / sizeof rules[0]; r++) {
			n = 0;
			for (k = 0; k < al->nbuckets; k++) {
				for (a = al->table[k]; a != NULL; a = a->next)
					n += strcmp(a->sa.rule, rules[r]) ==
					    0 && strcmp(a->sa.account,
					    al->accts[i]->name) == 0;
			}
			fn(al->accts[i]->name, rules[r], n, arg);
		}
	}
}

static void
on_closed(uv_handle_t *h)
{
	(void)h;
}

void
alerts_stop(struct alerts *al)
{
	if (al->stopped)
		return;
	al->stopped = 1;
	uv_timer_stop(&al->timer);
	uv_close((uv_handle_t *)&al->timer, on_closed);
}

void
alerts_free(struct alerts *al)
{
	struct group *g, *gnext;
	struct alert *a, *next;
	size_t i;

	if (al == NULL)
		return;
	while (al->heap.n > 0) {
		struct entry e = heap_pop(al);

		if (e.type == T_REPEAT)
			alert_unref(e.ptr);
	}
	for (g = al->groups; g != NULL; g = gnext) {
		gnext = g->next;
		group_reset(g);
		free(g->events);
		free(g->alerts);
		free(g->account);
		free(g->rule);
		free(g->event);
		free(g);
	}
	for (i = 0; i < al->nbuckets; i++) {
		for (a = al->table[i]; a != NULL; a = next) {
			next = a->next;
			alert_unref(a);
		}
	}
	for (i = 0; i < al->nsilenced; i++)
		alert_unref(al->silenced[i]);
	free(al->silenced);
	for (i = 0; i < al->naccts; i++)
		acct_free(al->accts[i]);
	free(al->accts);
	free(al->table);
	timeheap_free(&al->heap);
	free(al);
}
