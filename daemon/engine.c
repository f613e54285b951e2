/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "xmalloc.h"

#define NO_WAIT SIZE_MAX

static int
strcmp_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

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

/* Working state of one computation. */
struct run {
	enum msg_kind		 kind;
	struct engine_msg	*msgs;
	size_t			 n;
	struct engine_result	*res;
	size_t			*by_id;		/* own messages sorted by id */
	size_t			 nby_id;
	size_t			*author_of;	/* per message: author number */
	size_t			*open_of;	/* per author number: open wait */
};

static size_t
wait_open(struct run *r, size_t i)
{
	struct engine_result *res = r->res;
	struct engine_msg *m = &r->msgs[i];
	struct engine_wait *w;

	res->waits = xreallocarray(res->waits, res->nwaits + 1, sizeof *w);
	w = &res->waits[res->nwaits];
	w->author = r->kind == MSG_BROADCAST ? m->author : NULL;
	w->opened_ms = m->created_ms;
	w->closed_ms = ENGINE_OPEN;
	w->complaint_ms = ENGINE_NONE;
	w->open_ref = m->ref;
	w->close_ref = -1;
	w->inbound = 0;
	return res->nwaits++;
}

static void
wait_add_inbound(struct run *r, size_t w, size_t i)
{
	struct engine_wait *wait = &r->res->waits[w];
	const struct engine_msg *m = &r->msgs[i];

	wait->inbound++;
	if (m->complaint && wait->complaint_ms == ENGINE_NONE)
		wait->complaint_ms = m->created_ms;
}

static void
wait_close(struct run *r, size_t w, size_t i)
{
	struct engine_result *res = r->res;
	const struct engine_msg *m = &r->msgs[i];

	res->waits[w].closed_ms = m->created_ms;
	res->waits[w].close_ref = m->ref;
	if (res->first_inbound && res->first_response_ms == ENGINE_NONE)
		res->first_response_ms = m->created_ms;
}

static void
record(struct run *r, size_t i, enum engine_action a, size_t w)
{
	r->res->actions[i] = a;
	r->res->wait_of[i] = w;
}

/* Inbound: join the open wait of its key, or open one. */
static void
step_inbound(struct run *r, size_t i, size_t *open)
{
	if (*open != NO_WAIT) {
		wait_add_inbound(r, *open, i);
		record(r, i, ENGINE_ACT_JOIN, *open);
		return;
	}
	*open = wait_open(r, i);
	wait_add_inbound(r, *open, i);
	record(r, i, ENGINE_ACT_OPEN, *open);
}

static void
compute_direct(struct run *r)
{
	size_t i, open = NO_WAIT;

	for (i = 0; i < r->n; i++) {
		if (r->msgs[i].foreign)
			continue;
		if (r->msgs[i].direction == MSG_INBOUND) {
			step_inbound(r, i, &open);
			continue;
		}
		if (open == NO_WAIT)
			continue;
		wait_close(r, open, i);
		record(r, i, ENGINE_ACT_CLOSE, open);
		open = NO_WAIT;
	}
}

static int
cmp_index_by_id(const void *pa, const void *pb, void *arg)
{
	const struct engine_msg *msgs = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	return strcmp(msgs[a].id, msgs[b].id);
}

static int
cmp_index_by_author(const void *pa, const void *pb, void *arg)
{
	const struct engine_msg *msgs = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	return strcmp_null(msgs[a].author, msgs[b].author);
}

/* Number the distinct authors so that each has one slot for its open wait. */
static size_t
number_authors(struct run *r)
{
	size_t *idx = xcalloc(r->n, sizeof *idx);
	size_t i, next = 0;

	for (i = 0; i < r->n; i++)
		idx[i] = i;
	qsort_r(idx, r->n, sizeof *idx, cmp_index_by_author, r->msgs);
	for (i = 0; i < r->n; i++) {
		if (i > 0 && strcmp_null(r->msgs[idx[i]].author,
		    r->msgs[idx[i - 1]].author) != 0)
			next++;
		r->author_of[idx[i]] = next;
	}
	free(idx);
	return r->n == 0 ? 0 : next + 1;
}

/* Own messages by id, for in_reply_to. Foreign ones are never targets. */
static void
index_ids(struct run *r)
{
	size_t i;

	r->by_id = xcalloc(r->n, sizeof *r->by_id);
	r->nby_id = 0;
	for (i = 0; i < r->n; i++)
		if (!r->msgs[i].foreign)
			r->by_id[r->nby_id++] = i;
	qsort_r(r->by_id, r->nby_id, sizeof *r->by_id, cmp_index_by_id, r->msgs);
}

static size_t
find_id(const struct run *r, const char *id)
{
	size_t lo = 0, hi = r->nby_id;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->msgs[r->by_id[mid]].id, id);

		if (c == 0)
			return r->by_id[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NO_WAIT;
}

static void
note_unresolved(struct run *r, size_t i)
{
	struct engine_result *res = r->res;

	res->unresolved = xreallocarray(res->unresolved, res->nunresolved + 1,
	    sizeof *res->unresolved);
	res->unresolved[res->nunresolved++] = i;
}

/* A broadcast outbound message: close the open wait of the author it
 * replies to, if the target is an inbound message of this conversation. */
static void
step_broadcast_reply(struct run *r, size_t i)
{
	const struct engine_msg *m = &r->msgs[i];
	size_t t, author, w;

	if (m->in_reply_to == NULL)
		return;
	t = find_id(r, m->in_reply_to);
	if (t == NO_WAIT) {
		if (!m->foreign)
			note_unresolved(r, i);
		return;
	}
	if (r->msgs[t].direction != MSG_INBOUND)
		return;
	author = r->author_of[t];
	w = r->open_of[author];
	if (w == NO_WAIT)
		return;
	wait_close(r, w, i);
	record(r, i, ENGINE_ACT_CLOSE, w);
	r->open_of[author] = NO_WAIT;
}

static void
compute_broadcast(struct run *r)
{
	size_t i, nauthors;

	r->author_of = xcalloc(r->n, sizeof *r->author_of);
	nauthors = number_authors(r);
	r->open_of = xcalloc(nauthors, sizeof *r->open_of);
	for (i = 0; i < nauthors; i++)
		r->open_of[i] = NO_WAIT;
	index_ids(r);

	for (i = 0; i < r->n; i++) {
		const struct engine_msg *m = &r->msgs[i];

		if (m->direction == MSG_OUTBOUND)
			step_broadcast_reply(r, i);
		else if (!m->foreign)
			step_inbound(r, i, &r->open_of[r->author_of[i]]);
	}
	free(r->author_of);
	free(r->open_of);
	free(r->by_id);
}

void
engine_compute(enum msg_kind kind, struct engine_msg *msgs, size_t n,
    struct engine_result *out)
{
	struct run r = { .kind = kind, .msgs = msgs, .n = n, .res = out };
	size_t i;

	memset(out, 0, sizeof *out);
	out->first_ms = ENGINE_NONE;
	out->first_response_ms = ENGINE_NONE;
	out->actions = xcalloc(n, sizeof *out->actions);
	out->wait_of = xcalloc(n, sizeof *out->wait_of);
	for (i = 0; i < n; i++)
		out->wait_of[i] = NO_WAIT;

	qsort(msgs, n, sizeof *msgs, engine_msg_cmp);
	for (i = 0; i < n; i++) {
		if (msgs[i].foreign)
			continue;
		out->first_ms = msgs[i].created_ms;
		out->first_inbound = msgs[i].direction == MSG_INBOUND;
		break;
	}
	if (kind == MSG_DIRECT)
		compute_direct(&r);
	else
		compute_broadcast(&r);
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
