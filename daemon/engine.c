/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "xmalloc.h"

#define NO_WAIT SIZE_MAX
#define SLOT_CLOSED SIZE_MAX

/* An author's open wait (broadcast), in a small open-addressing table. */
struct slot {
	const char	*author;	/* NULL key is kept as "" */
	size_t		 wait;
};

struct engine {
	enum msg_kind		 kind;
	struct engine_result	 res;
	size_t			 direct_open;	/* direct: the open wait */
	struct slot		*slots;		/* broadcast: author -> open wait */
	size_t			 nslots, nused;
	/* the messages of the current feed, and their ids for in_reply_to */
	struct engine_msg	*msgs;
	size_t			 n;
	size_t			*by_id;
	size_t			 nby_id;
};

int
engine_msg_cmp(const void *pa, const void *pb)
{
	const struct engine_msg *a = pa, *b = pb;

	if (a->created_ms != b->created_ms)
		return a->created_ms < b->created_ms ? -1 : 1;
	if (a->direction != b->direction)
		return a->direction == MSG_INBOUND ? -1 : 1;
	return strcmp(a->id, b->id);
}

const char *
engine_action_name(enum engine_action a)
{
	switch (a) {
	case ENGINE_ACT_OPEN:
		return "opened";
	case ENGINE_ACT_JOIN:
		return "joined";
	case ENGINE_ACT_CLOSE:
		return "closed";
	default:
		return "none";
	}
}

struct engine *
engine_new(enum msg_kind kind)
{
	struct engine *e = xcalloc(1, sizeof *e);

	e->kind = kind;
	e->direct_open = NO_WAIT;
	e->res.first_ms = ENGINE_NONE;
	e->res.first_response_ms = ENGINE_NONE;
	return e;
}

void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	engine_result_clear(&e->res);
	free(e->slots);
	free(e->by_id);
	free(e);
}

const struct engine_result *
engine_result(const struct engine *e)
{
	return &e->res;
}

void
engine_resume(struct engine *e, int64_t first_ms, int first_inbound,
    int64_t first_response_ms)
{
	e->res.first_ms = first_ms;
	e->res.first_inbound = first_inbound;
	e->res.first_response_ms = first_response_ms;
}

/* ---- the open waits by author ----------------------------------------------- */

static uint64_t
hash_author(const char *p)
{
	uint64_t h = 1469598103934665603ULL;

	for (; p != NULL && *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static int
same_author(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static struct slot *
slot_find(struct engine *e, const char *author)
{
	size_t i;

	if (e->nslots == 0)
		return NULL;
	i = hash_author(author) & (e->nslots - 1);
	while (e->slots[i].wait != 0) {
		if (same_author(e->slots[i].author, author))
			return &e->slots[i];
		i = (i + 1) & (e->nslots - 1);
	}
	return &e->slots[i];	/* an empty one */
}

static void slot_grow(struct engine *);

/* The open wait of an author (broadcast) or of the conversation (direct). */
static size_t
open_wait_of(struct engine *e, const char *author)
{
	struct slot *s;

	if (e->kind == MSG_DIRECT)
		return e->direct_open;
	s = slot_find(e, author);
	/* slot.wait holds index + 1: 0 is an empty slot, SLOT_CLOSED an
	 * author whose wait was closed */
	return s == NULL || s->wait == 0 || s->wait == SLOT_CLOSED ? NO_WAIT :
	    s->wait - 1;
}

static void
set_open_wait(struct engine *e, const char *author, size_t w)
{
	struct slot *s;

	if (e->kind == MSG_DIRECT) {
		e->direct_open = w;
		return;
	}
	if ((e->nused + 1) * 2 > e->nslots)
		slot_grow(e);
	s = slot_find(e, author);
	if (s->wait == 0)
		e->nused++;
	if (w == NO_WAIT) {
		/* keep the slot as a closed marker: probing stays intact */
		s->author = author;
		s->wait = SLOT_CLOSED;
		return;
	}
	s->author = author;
	s->wait = w + 1;
}

static void
slot_grow(struct engine *e)
{
	struct slot *old = e->slots;
	size_t i, n = e->nslots;

	e->nslots = n ? n * 2 : 16;
	e->slots = xcalloc(e->nslots, sizeof *e->slots);
	e->nused = 0;
	for (i = 0; i < n; i++) {
		if (old[i].wait == 0)
			continue;
		*slot_find(e, old[i].author) = old[i];
		e->nused++;
	}
	free(old);
}

/* ---- steps -------------------------------------------------------------------- */

static size_t
wait_add(struct engine *e, const struct engine_wait *w)
{
	struct engine_result *res = &e->res;

	res->waits = xreallocarray(res->waits, res->nwaits + 1, sizeof *w);
	res->waits[res->nwaits] = *w;
	return res->nwaits++;
}

void
engine_resume_wait(struct engine *e, const struct engine_wait *w)
{
	struct engine_wait copy = *w;

	copy.changed = 0;
	set_open_wait(e, w->author, wait_add(e, &copy));
}

static void
record(struct engine *e, size_t i, enum engine_action a, size_t w)
{
	e->res.actions[i] = a;
	e->res.wait_of[i] = w;
}

static void
step_inbound(struct engine *e, size_t i)
{
	const struct engine_msg *m = &e->msgs[i];
	const char *author = e->kind == MSG_BROADCAST ? m->author : NULL;
	size_t w = open_wait_of(e, author);
	struct engine_wait *wait;

	if (w == NO_WAIT) {
		struct engine_wait nw = {
			.author = author, .opened_ms = m->created_ms,
			.closed_ms = ENGINE_OPEN, .complaint_ms = ENGINE_NONE,
			.open_ref = m->ref, .close_ref = -1, .store_id = -1,
		};

		w = wait_add(e, &nw);
		set_open_wait(e, author, w);
		record(e, i, ENGINE_ACT_OPEN, w);
	} else
		record(e, i, ENGINE_ACT_JOIN, w);
	wait = &e->res.waits[w];
	wait->inbound++;
	wait->changed = 1;
	if (m->complaint && wait->complaint_ms == ENGINE_NONE)
		wait->complaint_ms = m->created_ms;
}

static void
close_wait(struct engine *e, size_t i, const char *author, size_t w)
{
	struct engine_result *res = &e->res;
	const struct engine_msg *m = &e->msgs[i];

	res->waits[w].closed_ms = m->created_ms;
	res->waits[w].close_ref = m->ref;
	res->waits[w].changed = 1;
	set_open_wait(e, author, NO_WAIT);
	record(e, i, ENGINE_ACT_CLOSE, w);
	if (res->first_inbound && res->first_response_ms == ENGINE_NONE)
		res->first_response_ms = m->created_ms;
}

static int
cmp_index_by_id(const void *pa, const void *pb, void *arg)
{
	const struct engine_msg *msgs = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	return strcmp(msgs[a].id, msgs[b].id);
}

/* Own messages of this feed by id, for in_reply_to. */
static void
index_ids(struct engine *e)
{
	size_t i;

	e->by_id = xreallocarray(e->by_id, e->n ? e->n : 1, sizeof *e->by_id);
	e->nby_id = 0;
	for (i = 0; i < e->n; i++)
		if (!e->msgs[i].foreign)
			e->by_id[e->nby_id++] = i;
	if (e->nby_id > 1)
		qsort_r(e->by_id, e->nby_id, sizeof *e->by_id, cmp_index_by_id,
		    e->msgs);
}

static const struct engine_msg *
find_id(const struct engine *e, const char *id)
{
	size_t lo = 0, hi = e->nby_id;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(e->msgs[e->by_id[mid]].id, id);

		if (c == 0)
			return &e->msgs[e->by_id[mid]];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void
note_unresolved(struct engine *e, size_t i)
{
	struct engine_result *res = &e->res;

	res->unresolved = xreallocarray(res->unresolved, res->nunresolved + 1,
	    sizeof *res->unresolved);
	res->unresolved[res->nunresolved++] = i;
}

/* Broadcast outbound: close the open wait of the author it replies to, if
 * the target is an inbound message of this conversation. */
static void
step_broadcast_reply(struct engine *e, size_t i, engine_lookup_fn *lookup,
    void *arg)
{
	const struct engine_msg *m = &e->msgs[i], *t;
	enum msg_direction dir;
	const char *author;
	size_t w;

	if (m->in_reply_to == NULL)
		return;
	if ((t = find_id(e, m->in_reply_to)) != NULL) {
		author = t->author;
		dir = t->direction;
	} else if (lookup == NULL || !lookup(arg, m->in_reply_to, &author, &dir)) {
		if (!m->foreign)
			note_unresolved(e, i);
		return;
	}
	if (dir != MSG_INBOUND)
		return;
	if ((w = open_wait_of(e, author)) != NO_WAIT)
		close_wait(e, i, author, w);
}

void
engine_feed(struct engine *e, struct engine_msg *msgs, size_t n,
    engine_lookup_fn *lookup, void *arg)
{
	struct engine_result *res = &e->res;
	size_t i;

	e->msgs = msgs;
	e->n = n;
	free(res->actions);
	free(res->wait_of);
	free(res->unresolved);
	res->unresolved = NULL;
	res->nunresolved = 0;
	res->actions = xcalloc(n ? n : 1, sizeof *res->actions);
	res->wait_of = xcalloc(n ? n : 1, sizeof *res->wait_of);
	for (i = 0; i < n; i++)
		res->wait_of[i] = NO_WAIT;
	if (e->kind == MSG_BROADCAST)
		index_ids(e);

	for (i = 0; i < n; i++) {
		const struct engine_msg *m = &msgs[i];

		if (!m->foreign && res->first_ms == ENGINE_NONE) {
			res->first_ms = m->created_ms;
			res->first_inbound = m->direction == MSG_INBOUND;
		}
		if (m->direction == MSG_INBOUND) {
			if (!m->foreign)
				step_inbound(e, i);
		} else if (e->kind == MSG_BROADCAST)
			step_broadcast_reply(e, i, lookup, arg);
		else if (!m->foreign && e->direct_open != NO_WAIT)
			close_wait(e, i, NULL, e->direct_open);
	}
}

void
engine_compute(enum msg_kind kind, struct engine_msg *msgs, size_t n,
    struct engine_result *out)
{
	struct engine *e = engine_new(kind);

	if (n > 1)
		qsort(msgs, n, sizeof *msgs, engine_msg_cmp);
	engine_feed(e, msgs, n, NULL, NULL);
	*out = e->res;
	memset(&e->res, 0, sizeof e->res);
	engine_free(e);
}

void
engine_result_clear(struct engine_result *res)
{
	free(res->waits);
	free(res->actions);
	free(res->wait_of);
	free(res->unresolved);
	memset(res, 0, sizeof *res);
}
