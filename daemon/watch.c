/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "bizhours.h"
#include "conf.h"
#include "log.h"
#include "msg.h"
#include "stats.h"
#include "store.h"
#include "timefmt.h"
#include "timeheap.h"
#include "watch.h"
#include "xmalloc.h"

/*
 * Open waits are kept per conversation in a hash table; a new view of a
 * conversation (from the store's observer) replaces the old one and bumps
 * its generation. Deadlines sit in a binary min-heap; an entry whose
 * conversation has moved on to another generation is stale and dropped
 * when it comes up.
 */

#define EXCERPT_MAX	80

struct open_wait {
	char		*author;
	char		*open_id;
	int64_t		 opened_ms;
	int64_t		 complaint_ms;
	int64_t		 target_ms;
	int64_t		 deadline_ms;
	int64_t		 warn_ms;	/* early warning, -1: none */
	int		 overdue;
	int		 warned;
};

struct conv {
	char		*key;		/* account \x1f kind \x1f conversation */
	size_t		 group;		/* index in watch.groups */
	char		*account;
	enum msg_kind	 kind;
	char		*conversation;
	uint64_t	 gen;
	struct open_wait *waits;
	size_t		 n;
	size_t		 hrefs;		/* heap entries that point to it: it
					   is freed when none do and it has
					   no open wait */
	struct conv	*next;		/* hash chain */
};

struct deadline {
	int64_t		 at_ms;
	struct conv	*conv;
	uint64_t	 gen;
	size_t		 wait;		/* index in conv->waits */
	int		 level;		/* 1 early warning, 2 deadline */
};

struct watch {
	uv_loop_t	*loop;
	const struct conf *conf;
	uv_timer_t	 timer;
	struct conv	**table;
	size_t		 nbuckets, nconvs;
	struct timeheap	 heap;		/* of struct deadline */
	size_t		 nopen, noverdue;
	int		 loading;	/* watch_load: summarise, do not tell */
	struct watch_group *groups;	/* per account and kind */
	size_t		*gopen;		/* open waits per group, kept up to
					   date (groups[].open is not) */
	size_t		 ngroups;
	struct watch_hooks hooks;
};

const double watch_reply_bounds[WATCH_NBUCKETS] = {
	60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400,
};

static void arm(struct watch *);
static void observe(struct watch_group *, double seconds);

/* ---- the hash table -------------------------------------------------------- */

static uint64_t
hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void
grow(struct watch *w)
{
	struct conv **t, *c, *next;
	size_t n = w->nbuckets ? w->nbuckets * 2 : 1024, i, b;

	t = xcalloc(n, sizeof *t);
	for (i = 0; i < w->nbuckets; i++) {
		for (c = w->table[i]; c != NULL; c = next) {
			next = c->next;
			b = hash(c->key) & (n - 1);
			c->next = t[b];
			t[b] = c;
		}
	}
	free(w->table);
	w->table = t;
	w->nbuckets = n;
}

static size_t
group_of(struct watch *w, const char *account, enum msg_kind kind)
{
	struct watch_group *g;
	size_t i;

	for (i = 0; i < w->ngroups; i++) {
		if (w->groups[i].kind == (int)kind &&
		    strcmp(w->groups[i].account, account) == 0)
			return i;
	}
	w->groups = xreallocarray(w->groups, w->ngroups + 1, sizeof *w->groups);
	w->gopen = xreallocarray(w->gopen, w->ngroups + 1, sizeof *w->gopen);
	w->gopen[w->ngroups] = 0;
	g = &w->groups[w->ngroups];
	memset(g, 0, sizeof *g);
	g->account = xstrdup(account);
	g->kind = kind;
	return w->ngroups++;
}

static struct conv *
conv_get(struct watch *w, const char *account, enum msg_kind kind,
    const char *conversation)
{
	struct conv *c;
	char *key;
	size_t b;

	xasprintf(&key, "%s\x1f%d\x1f%s", account, (int)kind, conversation);
	if (w->nconvs >= w->nbuckets)
		grow(w);
	b = hash(key) & (w->nbuckets - 1);
	for (c = w->table[b]; c != NULL; c = c->next) {
		if (strcmp(c->key, key) == 0) {
			free(key);
			return c;
		}
	}
	c = xcalloc(1, sizeof *c);
	c->key = key;
	c->group = group_of(w, account, kind);
	c->account = xstrdup(account);
	c->kind = kind;
	c->conversation = xstrdup(conversation);
	c->next = w->table[b];
	w->table[b] = c;
	w->nconvs++;
	return c;
}

static void
conv_clear_waits(struct watch *w, struct conv *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		w->noverdue -= c->waits[i].overdue;
		free(c->waits[i].author);
		free(c->waits[i].open_id);
	}
	w->nopen -= c->n;
	w->gopen[c->group] -= c->n;
	free(c->waits);
	c->waits = NULL;
	c->n = 0;
	c->gen++;
}

static void
conv_free(struct conv *c)
{
	free(c->key);
	free(c->account);
	free(c->conversation);
	free(c);
}

/* ---- the heap ---------------------------------------------------------- */

static void
heap_push(struct watch *w, const struct deadline *d)
{
	timeheap_push(&w->heap, d);
	d->conv->hrefs++;
}

/* A conversation with no open wait is forgotten once no heap entry points
 * to it: the table holds what is open, not every conversation seen. */
static void
conv_forget(struct watch *w, struct conv *c)
{
	struct conv **pp;

	if (c->n > 0 || c->hrefs > 0)
		return;
	for (pp = &w->table[hash(c->key) & (w->nbuckets - 1)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			w->nconvs--;
			free(c->waits);
			conv_free(c);
			return;
		}
	}
}

/* The earliest entry, out of the heap (into d). */
static void
heap_take(struct watch *w, struct deadline *d)
{
	timeheap_pop(&w->heap, d);
	d->conv->hrefs--;
}

/* Forget every conversation that can be. */
static void
sweep(struct watch *w)
{
	struct conv *c, *next;
	size_t i;

	for (i = 0; i < w->nbuckets; i++) {
		for (c = w->table[i]; c != NULL; c = next) {
			next = c->next;
			conv_forget(w, c);
		}
	}
}

static int
stale(const struct deadline *d)
{
	return d->gen != d->conv->gen || d->wait >= d->conv->n;
}

static int
fresh(const void *p, void *arg)
{
	const struct deadline *d = p;

	(void)arg;
	if (!stale(d))
		return 1;
	d->conv->hrefs--;
	return 0;
}

/* Drop stale entries when they are most of the heap. */
static void
heap_compact(struct watch *w)
{
	if (w->heap.n < 1024 || w->heap.n < 4 * w->nopen)
		return;
	timeheap_filter(&w->heap, fresh, NULL);
	sweep(w);
}

/* ---- telling ------------------------------------------------------------ */

static const char *
kind_words(enum msg_kind k)
{
	return k == MSG_DIRECT ? "direct message" : "public mention";
}

/* The start of a text on one line; buf holds EXCERPT_MAX + 4 bytes. */
static void
excerpt(const char *text, char *buf)
{
	size_t i, o;

	if (text == NULL) {
		buf[0] = '\0';
		return;
	}
	for (i = 0; text[i] != '\0' && i < EXCERPT_MAX; i++)
		buf[i] = (unsigned char)text[i] < ' ' ? ' ' : text[i];
	o = i;
	if (text[i] != '\0') {
		/* back to the start of the character cut in two */
		while (o > 0 && ((unsigned char)text[o] & 0xC0) == 0x80)
			o--;
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
}

void
watch_message(struct watch *w, const struct msg *m)
{
	char ex[EXCERPT_MAX + 4];

	(void)w;
	if (m->direction != MSG_INBOUND)
		return;
	excerpt(m->text, ex);
	log_info("%s: %s from %s%s%s%s", m->account, kind_words(m->kind),
	    m->author != NULL ? m->author : "someone",
	    m->complaint == MSG_COMPLAINT_YES ? " (complaint)" : "",
	    *ex != '\0' ? ": " : "", ex);
}

static void
tell_reply(struct watch *w, const struct conv *c,
    const struct store_wait_info *wi)
{
	struct watch_group *g = &w->groups[c->group];
	const struct conf_policy *pol = conf_policy_for(w->conf, c->account);
	enum stats_sla_outcome o;
	char took[TIMEFMT_DURATION_LEN], target[TIMEFMT_DURATION_LEN];
	int64_t target_ms, deadline_ms;

	o = stats_sla(pol, c->kind, wi->complaint_ms >= 0 &&
	    wi->complaint_ms <= wi->closed_ms, wi->opened_ms, wi->closed_ms,
	    wi->closed_ms, &target_ms, &deadline_ms);
	g->replies++;
	if (o == STATS_SLA_MET)
		g->met++;
	else
		g->breached++;
	g->reply_seconds_sum += (double)(wi->closed_ms - wi->opened_ms) / 1000;
	observe(g, (double)(wi->closed_ms - wi->opened_ms) / 1000);
	timefmt_format_duration(wi->closed_ms - wi->opened_ms, took,
	    sizeof took);
	timefmt_format_duration(target_ms, target, sizeof target);
	log_info("%s: replied to %s after %s (%s; target %s: %s)", c->account,
	    wi->author != NULL ? wi->author : "someone", took,
	    c->kind == MSG_DIRECT ? "direct" : "broadcast", target,
	    o == STATS_SLA_MET ? "met" : "breached");
}

static void
tell_overdue(const struct conv *c, const struct open_wait *ow, int64_t now)
{
	char age[TIMEFMT_DURATION_LEN], target[TIMEFMT_DURATION_LEN];

	timefmt_format_duration(now - ow->opened_ms, age, sizeof age);
	timefmt_format_duration(ow->target_ms, target, sizeof target);
	log_notice("%s: overdue: %s%s from %s waiting %s (target %s)",
	    c->account, ow->complaint_ms >= 0 ? "complaint in a " : "",
	    kind_words(c->kind), ow->author != NULL ? ow->author : "someone",
	    age, target);
}

static void
observe(struct watch_group *g, double seconds)
{
	size_t i;

	for (i = 0; i < WATCH_NBUCKETS; i++) {
		if (seconds <= watch_reply_bounds[i]) {
			g->hist[i]++;
			return;
		}
	}
}

/* ---- tracking waits ------------------------------------------------------- */

/* Its target and deadline, and the time of its early warning. A complaint
 * makes the complaint target count from the opening. */
static void
set_deadlines(const struct conf_policy *pol, enum msg_kind kind,
    struct open_wait *ow)
{
	int64_t warn;

	stats_sla(pol, kind, ow->complaint_ms >= 0, ow->opened_ms, -1,
	    ow->opened_ms, &ow->target_ms, &ow->deadline_ms);
	ow->warn_ms = -1;
	if (pol->alert_warning_pct <= 0)
		return;
	warn = ow->target_ms / 100 * pol->alert_warning_pct +
	    ow->target_ms % 100 * pol->alert_warning_pct / 100;
	if (pol->sla_business_time && pol->biz != NULL) {
		ow->warn_ms = bizhours_add(pol->biz, ow->opened_ms, warn + 1);
		if (ow->warn_ms != INT64_MAX)
			ow->warn_ms--;
	} else
		ow->warn_ms = ow->opened_ms + warn;
}

static void
push_deadlines(struct watch *w, struct conv *c, size_t k)
{
	const struct open_wait *ow = &c->waits[k];
	struct deadline d;

	d.conv = c;
	d.gen = c->gen;
	d.wait = k;
	d.level = 2;
	d.at_ms = ow->deadline_ms;
	heap_push(w, &d);
	if (ow->warn_ms >= 0 && ow->warn_ms < ow->deadline_ms) {
		d.level = 1;
		d.at_ms = ow->warn_ms;
		heap_push(w, &d);
	}
}

static void
wait_view(const struct conv *c, const struct open_wait *ow,
    struct watch_wait *ww)
{
	memset(ww, 0, sizeof *ww);
	ww->account = c->account;
	ww->kind = c->kind;
	ww->conversation = c->conversation;
	ww->open_id = ow->open_id;
	ww->author = ow->author;
	ww->opened_ms = ow->opened_ms;
	ww->complaint_ms = ow->complaint_ms;
	ww->target_ms = ow->target_ms;
	ww->deadline_ms = ow->deadline_ms;
	ww->closed_ms = -1;
}

/* Tell the hooks about an old open wait that the new view no longer has
 * open: answered, or gone. */
static void
tell_closed(struct watch *w, const struct conv *c, const struct open_wait *ow,
    const struct store_conv_waits *cw)
{
	struct watch_wait ww;
	size_t i;

	if (w->hooks.closed == NULL)
		return;
	wait_view(c, ow, &ww);
	for (i = 0; i < cw->n && ow->open_id != NULL; i++) {
		const struct store_wait_info *wi = &cw->waits[i];

		if (wi->open_id != NULL && strcmp(wi->open_id,
		    ow->open_id) == 0) {
			if (wi->closed_ms < 0)
				return;		/* still open */
			ww.closed_ms = wi->closed_ms;
			ww.close_id = wi->close_id;
			break;
		}
	}
	w->hooks.closed(&ww, w->hooks.arg);
}

static size_t
account_open(const struct watch *w, const char *account)
{
	size_t i, n = 0;

	for (i = 0; i < w->ngroups; i++) {
		if (strcmp(w->groups[i].account, account) == 0)
			n += w->gopen[i];
	}
	return n;
}

size_t
watch_account_open(const struct watch *w, const char *account)
{
	return account_open(w, account);
}

void
watch_set_hooks(struct watch *w, const struct watch_hooks *h)
{
	w->hooks = *h;
}

static void
add_open(struct watch *w, struct conv *c, const char *author,
    const char *open_id, int64_t opened_ms, int64_t complaint_ms)
{
	const struct conf_policy *pol = conf_policy_for(w->conf, c->account);
	struct open_wait *ow;

	c->waits = xreallocarray(c->waits, c->n + 1, sizeof *c->waits);
	ow = &c->waits[c->n];
	memset(ow, 0, sizeof *ow);
	ow->author = xstrdup_or_null(author);
	ow->open_id = xstrdup_or_null(open_id);
	ow->opened_ms = opened_ms;
	ow->complaint_ms = complaint_ms;
	set_deadlines(pol, c->kind, ow);
	c->n++;
	w->nopen++;
	w->gopen[c->group]++;
	push_deadlines(w, c, c->n - 1);
}

void
watch_observe(const struct store_conv_waits *cw, void *arg)
{
	struct watch *w = arg;
	struct open_wait *old;
	struct conv *c;
	size_t i, k, nold;

	c = conv_get(w, cw->account, cw->kind, cw->conversation);
	/* keep the old view until the new one knows what was told */
	old = c->waits;
	nold = c->n;
	c->waits = NULL;
	c->n = 0;
	w->nopen -= nold;
	w->gopen[c->group] -= nold;
	c->gen++;
	for (i = 0; i < cw->n; i++) {
		const struct store_wait_info *wi = &cw->waits[i];

		if (wi->closed_ms >= 0) {
			if (wi->closed_now)
				tell_reply(w, c, wi);
			continue;
		}
		add_open(w, c, wi->author, wi->open_id, wi->opened_ms,
		    wi->complaint_ms);
		/* an overdue wait that took another message is still the
		 * same overdue wait: it is not told twice */
		for (k = 0; k < nold; k++) {
			if (old[k].open_id != NULL && wi->open_id != NULL &&
			    strcmp(old[k].open_id, wi->open_id) == 0) {
				c->waits[c->n - 1].overdue = old[k].overdue;
				c->waits[c->n - 1].warned = old[k].warned;
				old[k].overdue = 0;
				old[k].open_id[0] = '\0';	/* still open */
				break;
			}
		}
	}
	for (k = 0; k < nold; k++) {
		if (old[k].open_id == NULL || old[k].open_id[0] != '\0')
			tell_closed(w, c, &old[k], cw);
		w->noverdue -= old[k].overdue;
		free(old[k].author);
		free(old[k].open_id);
	}
	free(old);
	if (w->hooks.open_count != NULL)
		w->hooks.open_count(c->account, account_open(w, c->account),
		    w->hooks.arg);
	conv_forget(w, c);
	heap_compact(w);
	arm(w);
}

static void
tell_due(struct watch *w, const struct conv *c, const struct open_wait *ow,
    int level)
{
	struct watch_wait ww;

	if (w->hooks.due == NULL)
		return;
	wait_view(c, ow, &ww);
	w->hooks.due(&ww, level, w->hooks.arg);
}

static void
on_deadline(uv_timer_t *t)
{
	struct watch *w = t->data;
	int64_t now = timefmt_now();
	size_t told = 0, held = 0;

	while (w->heap.n > 0 &&
	    ((struct deadline *)timeheap_top(&w->heap))->at_ms <= now) {
		struct deadline d;
		struct open_wait *ow;

		heap_take(w, &d);
		if (stale(&d)) {
			conv_forget(w, d.conv);
			continue;
		}
		ow = &d.conv->waits[d.wait];
		if (d.level == 1) {
			if (ow->warned || ow->overdue)
				continue;
			ow->warned = 1;
			tell_due(w, d.conv, ow, 1);
			continue;
		}
		if (ow->overdue)
			continue;
		ow->overdue = 1;
		w->noverdue++;
		/* at start-up, a long backlog is summed up, not listed */
		if (!w->loading || told < 10) {
			tell_overdue(d.conv, ow, now);
			told++;
		} else
			held++;
		tell_due(w, d.conv, ow, 2);
	}
	if (held > 0)
		log_notice("... and %zu more waits overdue (replywatch pending "
		    "lists them)", held);
	arm(w);
}

static void
arm(struct watch *w)
{
	int64_t now, d;

	while (w->heap.n > 0 && stale(timeheap_top(&w->heap))) {
		struct deadline gone;

		heap_take(w, &gone);
		conv_forget(w, gone.conv);
	}
	if (w->heap.n == 0) {
		uv_timer_stop(&w->timer);
		return;
	}
	now = timefmt_now();
	d = ((struct deadline *)timeheap_top(&w->heap))->at_ms - now;
	uv_timer_start(&w->timer, on_deadline, d > 0 ? (uint64_t)d : 0, 0);
}

/* ---- the whole --------------------------------------------------------- */

struct watch *
watch_new(uv_loop_t *loop, const struct conf *conf)
{
	struct watch *w = xcalloc(1, sizeof *w);

	w->loop = loop;
	w->conf = conf;
	uv_timer_init(loop, &w->timer);
	w->timer.data = w;
	timeheap_init(&w->heap, sizeof(struct deadline));
	grow(w);
	return w;
}

static void
load_pending(const struct store_pending *p, void *arg)
{
	struct watch *w = arg;
	struct conv *c;

	c = conv_get(w, p->account, p->kind, p->conversation);
	add_open(w, c, p->author, p->first_id, p->opened_ms, p->complaint_ms);
}

int
watch_load(struct watch *w, struct store *st, char **errstr)
{
	struct store_filter f;
	int rc;

	memset(&f, 0, sizeof f);
	f.at_ms = timefmt_now();
	f.kind = -1;
	rc = store_each_pending(st, &f, load_pending, w, errstr);
	if (rc == 0) {
		w->loading = 1;
		on_deadline(&w->timer);
		w->loading = 0;
		log_info("%zu waits open, %zu of them overdue", w->nopen,
		    w->noverdue);
	}
	return rc;
}

void
watch_each_group(struct watch *w, watch_group_fn *fn, void *arg)
{
	struct conv *c;
	size_t i, k;

	for (i = 0; i < w->ngroups; i++) {
		w->groups[i].open = w->groups[i].overdue = 0;
		w->groups[i].oldest_opened_ms = -1;
	}
	for (i = 0; i < w->nbuckets; i++) {
		for (c = w->table[i]; c != NULL; c = c->next) {
			struct watch_group *g = &w->groups[c->group];

			for (k = 0; k < c->n; k++) {
				g->open++;
				g->overdue += c->waits[k].overdue;
				if (g->oldest_opened_ms < 0 ||
				    c->waits[k].opened_ms < g->oldest_opened_ms)
					g->oldest_opened_ms =
					    c->waits[k].opened_ms;
			}
		}
	}
	for (i = 0; i < w->ngroups; i++)
		fn(&w->groups[i], arg);
}

void
watch_reconfigure(struct watch *w, const struct conf *conf)
{
	struct conv *c;
	int64_t now = timefmt_now();
	size_t i, k;

	w->conf = conf;
	w->heap.n = 0;
	for (i = 0; i < w->nbuckets; i++) {
		for (c = w->table[i]; c != NULL; c = c->next) {
			const struct conf_policy *pol =
			    conf_policy_for(conf, c->account);

			c->hrefs = 0;	/* the heap was emptied */
			for (k = 0; k < c->n; k++) {
				struct open_wait *ow = &c->waits[k];

				set_deadlines(pol, c->kind, ow);
				/* a longer target may make it due again */
				if (ow->overdue && ow->deadline_ms > now) {
					ow->overdue = 0;
					w->noverdue--;
				}
				if (ow->warned && (ow->warn_ms < 0 ||
				    ow->warn_ms > now))
					ow->warned = 0;
				push_deadlines(w, c, k);
			}
		}
	}
	sweep(w);
	arm(w);
}

int
watch_is_open(struct watch *w, const char *account, int kind,
    const char *conversation, const char *open_id)
{
	struct conv *c;
	char *key;
	size_t k;

	xasprintf(&key, "%s\x1f%d\x1f%s", account, kind, conversation);
	for (c = w->table[hash(key) & (w->nbuckets - 1)]; c != NULL;
	    c = c->next) {
		if (strcmp(c->key, key) == 0)
			break;
	}
	free(key);
	for (k = 0; c != NULL && k < c->n; k++) {
		if (c->waits[k].open_id != NULL && open_id != NULL &&
		    strcmp(c->waits[k].open_id, open_id) == 0)
			return 1;
	}
	return 0;
}

size_t
watch_nopen(const struct watch *w)
{
	return w->nopen;
}

size_t
watch_noverdue(const struct watch *w)
{
	return w->noverdue;
}

static void
on_watch_closed(uv_handle_t *h)
{
	(void)h;
}

void
watch_stop(struct watch *w)
{
	uv_timer_stop(&w->timer);
	uv_close((uv_handle_t *)&w->timer, on_watch_closed);
}

void
watch_free(struct watch *w)
{
	struct conv *c, *next;
	size_t i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nbuckets; i++) {
		for (c = w->table[i]; c != NULL; c = next) {
			next = c->next;
			conv_clear_waits(w, c);
			conv_free(c);
		}
	}
	for (i = 0; i < w->ngroups; i++)
		free((char *)w->groups[i].account);
	free(w->groups);
	free(w->gopen);
	free(w->table);
	timeheap_free(&w->heap);
	free(w);
}
