/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "msg.h"
#include "xmalloc.h"

/*
 * The reply-time engine against doc/reply-time.md §2-§4: the reference
 * example, every rule on hand-made conversations, order independence over
 * every permutation of small sets, and a seeded random comparison with a
 * naive reference implementation written here from the text of the rules.
 */

#define SEC	INT64_C(1000)
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)

/* 2026-11-25T10:00:00Z */
#define T10	INT64_C(1795600800000)
/* hh:mm:ss on 2026-11-25 (UTC) */
#define AT(h, m, s) (T10 + ((h) - 10) * HOUR + (m) * MIN + (s) * SEC)

#define IN	MSG_INBOUND
#define OUT	MSG_OUTBOUND

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A message of a test conversation. ref is its index + 1 in the table. */
struct tmsg {
	const char	*id;
	enum msg_direction dir;
	int64_t		 ms;
	const char	*author;
	const char	*irt;		/* in_reply_to */
	int		 complaint;
	int		 foreign;
};

static struct engine_msg *
load(const struct tmsg *t, size_t n)
{
	struct engine_msg *m = xcalloc(n, sizeof *m);
	size_t i;

	for (i = 0; i < n; i++) {
		m[i].ref = (int64_t)i + 1;
		m[i].id = t[i].id;
		m[i].direction = t[i].dir;
		m[i].created_ms = t[i].ms;
		m[i].author = t[i].author;
		m[i].in_reply_to = t[i].irt;
		m[i].complaint = t[i].complaint;
		m[i].foreign = t[i].foreign;
	}
	return m;
}

/* ---- canonical form of a result ------------------------------------------ */

struct sb {
	char	*s;
	size_t	 len, cap;
};

static void sb_printf(struct sb *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s == NULL ? NULL : b->s + b->len,
		    b->s == NULL ? 0 : b->cap - b->len, fmt, ap);
		va_end(ap);
		ck_assert_int_ge(n, 0);
		if (b->s != NULL && b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = xreallocarray(b->s, b->cap, 1);
		b->s[b->len] = '\0';
	}
	b->len += (size_t)n;
}

static const char *
nz(const char *s)
{
	return s == NULL ? "(null)" : s;
}

/*
 * Everything the engine says, by message ref rather than by position in
 * the caller's array, so that it can be compared across input orders:
 * the waits in order of opening, then per message in the engine's order
 * its action and wait, then the conversation's figures and unresolved
 * replies.
 */
static char *
canon(enum msg_kind kind, const struct engine_msg *msgs, size_t n,
    const struct engine_result *r)
{
	struct sb b = { 0 };
	size_t i;

	sb_printf(&b, "nwaits=%zu\n", r->nwaits);
	for (i = 0; i < r->nwaits; i++) {
		const struct engine_wait *w = &r->waits[i];

		sb_printf(&b, "W%zu author=%s open=%lld closed=%lld "
		    "complaint=%lld open_ref=%lld close_ref=%lld inbound=%d\n",
		    i, kind == MSG_DIRECT ? "-" : nz(w->author),
		    (long long)w->opened_ms,
		    (long long)w->closed_ms, (long long)w->complaint_ms,
		    (long long)w->open_ref, (long long)w->close_ref,
		    w->inbound);
	}
	for (i = 0; i < n; i++) {
		if (r->wait_of[i] == SIZE_MAX)
			sb_printf(&b, "M ref=%lld %s\n", (long long)msgs[i].ref,
			    engine_action_name(r->actions[i]));
		else
			sb_printf(&b, "M ref=%lld %s W%zu\n",
			    (long long)msgs[i].ref,
			    engine_action_name(r->actions[i]), r->wait_of[i]);
	}
	sb_printf(&b, "first=%lld first_inbound=%d first_response=%lld\n",
	    (long long)r->first_ms, r->first_inbound,
	    (long long)r->first_response_ms);
	for (i = 0; i < r->nunresolved; i++)
		sb_printf(&b, "U ref=%lld\n",
		    (long long)msgs[r->unresolved[i]].ref);
	return b.s;
}

/* Runs the engine on msgs (sorted in place) and returns the canonical form. */
static char *
run_canon(enum msg_kind kind, struct engine_msg *msgs, size_t n)
{
	struct engine_result r;
	char *s;

	engine_compute(kind, msgs, n, &r);
	s = canon(kind, msgs, n, &r);
	engine_result_clear(&r);
	return s;
}

/* ---- a naive reference implementation, from the text of the spec ---------- */

struct ref_wait {
	const char	*author;
	int64_t		 opened, closed, complaint, open_ref, close_ref;
	int		 inbound;
};

struct ref_result {
	struct ref_wait	*waits;
	size_t		 nwaits;
	size_t		*order;		/* message indices in processing order */
	enum engine_action *action;	/* by message index */
	size_t		*wait;		/* by message index */
	int64_t		 first, first_response;
	int		 first_inbound;
	size_t		*unresolved;	/* message indices */
	size_t		 nunresolved;
};

static int
same_author(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* "Messages are processed in the order (created_at, inbound before
 * outbound, id)". */
static int
ref_before(const struct engine_msg *a, const struct engine_msg *b)
{
	if (a->created_ms != b->created_ms)
		return a->created_ms < b->created_ms;
	if (a->direction != b->direction)
		return a->direction == MSG_INBOUND;
	return strcmp(a->id, b->id) < 0;
}

static size_t
ref_new_wait(struct ref_result *rr, enum msg_kind kind,
    const struct engine_msg *m)
{
	struct ref_wait *w;

	rr->waits = xreallocarray(rr->waits, rr->nwaits + 1, sizeof *w);
	w = &rr->waits[rr->nwaits];
	/* engine.h: "broadcast: whose wait; direct: NULL" */
	w->author = kind == MSG_BROADCAST ? m->author : NULL;
	w->opened = m->created_ms;
	w->closed = ENGINE_OPEN;
	w->complaint = ENGINE_NONE;
	w->open_ref = m->ref;
	w->close_ref = -1;
	w->inbound = 0;
	return rr->nwaits++;
}

static void
ref_inbound(struct ref_result *rr, size_t w, size_t i,
    const struct engine_msg *m, enum engine_action a)
{
	rr->waits[w].inbound++;
	if (m->complaint && rr->waits[w].complaint == ENGINE_NONE)
		rr->waits[w].complaint = m->created_ms;
	rr->action[i] = a;
	rr->wait[i] = w;
}

static void
ref_close(struct ref_result *rr, size_t w, size_t i, const struct engine_msg *m)
{
	rr->waits[w].closed = m->created_ms;
	rr->waits[w].close_ref = m->ref;
	rr->action[i] = ENGINE_ACT_CLOSE;
	rr->wait[i] = w;
	if (rr->first_inbound && rr->first_response == ENGINE_NONE)
		rr->first_response = m->created_ms;
}

static void
ref_compute(enum msg_kind kind, const struct engine_msg *m, size_t n,
    struct ref_result *rr)
{
	char *used = xcalloc(n, 1);
	size_t k, i, j, w;

	memset(rr, 0, sizeof *rr);
	rr->order = xcalloc(n, sizeof *rr->order);
	rr->action = xcalloc(n, sizeof *rr->action);
	rr->wait = xcalloc(n, sizeof *rr->wait);
	rr->unresolved = xcalloc(n, sizeof *rr->unresolved);
	rr->first = ENGINE_NONE;
	rr->first_response = ENGINE_NONE;
	/* selection: O(n^2), no qsort */
	for (k = 0; k < n; k++) {
		size_t best = SIZE_MAX;

		for (i = 0; i < n; i++)
			if (!used[i] && (best == SIZE_MAX ||
			    ref_before(&m[i], &m[best])))
				best = i;
		used[best] = 1;
		rr->order[k] = best;
		rr->action[best] = ENGINE_ACT_NONE;
		rr->wait[best] = SIZE_MAX;
	}
	free(used);
	/* the conversation begins with its first own message */
	for (k = 0; k < n; k++) {
		if (m[rr->order[k]].foreign)
			continue;
		rr->first = m[rr->order[k]].created_ms;
		rr->first_inbound = m[rr->order[k]].direction == MSG_INBOUND;
		break;
	}

	for (k = 0; k < n; k++) {
		const struct engine_msg *x = &m[i = rr->order[k]];
		size_t open = SIZE_MAX, t;

		if (kind == MSG_DIRECT) {
			/* foreign messages are not of the conversation */
			if (x->foreign)
				continue;
			for (w = 0; w < rr->nwaits; w++)
				if (rr->waits[w].closed == ENGINE_OPEN)
					open = w;
			if (x->direction == MSG_INBOUND) {
				if (open == SIZE_MAX)
					ref_inbound(rr, ref_new_wait(rr, kind, x), i,
					    x, ENGINE_ACT_OPEN);
				else
					ref_inbound(rr, open, i, x,
					    ENGINE_ACT_JOIN);
			} else if (open != SIZE_MAX)
				ref_close(rr, open, i, x);
			continue;
		}

		/* broadcast */
		if (x->direction == MSG_INBOUND) {
			if (x->foreign)
				continue;
			for (w = 0; w < rr->nwaits; w++)
				if (rr->waits[w].closed == ENGINE_OPEN &&
				    same_author(rr->waits[w].author, x->author))
					open = w;
			if (open == SIZE_MAX)
				ref_inbound(rr, ref_new_wait(rr, kind, x), i, x,
				    ENGINE_ACT_OPEN);
			else
				ref_inbound(rr, open, i, x, ENGINE_ACT_JOIN);
			continue;
		}
		if (x->in_reply_to == NULL)
			continue;
		t = SIZE_MAX;
		for (j = 0; j < n; j++)
			if (!m[j].foreign && strcmp(m[j].id, x->in_reply_to) == 0)
				t = j;
		if (t == SIZE_MAX) {
			if (!x->foreign)
				rr->unresolved[rr->nunresolved++] = i;
			continue;
		}
		if (m[t].direction != MSG_INBOUND)
			continue;
		for (w = 0; w < rr->nwaits; w++)
			if (rr->waits[w].closed == ENGINE_OPEN &&
			    same_author(rr->waits[w].author, m[t].author))
				open = w;
		if (open != SIZE_MAX)
			ref_close(rr, open, i, x);
	}
}

static char *
ref_canon(enum msg_kind kind, const struct engine_msg *m, size_t n,
    const struct ref_result *rr)
{
	struct sb b = { 0 };
	size_t i, k;

	sb_printf(&b, "nwaits=%zu\n", rr->nwaits);
	for (i = 0; i < rr->nwaits; i++) {
		const struct ref_wait *w = &rr->waits[i];

		sb_printf(&b, "W%zu author=%s open=%lld closed=%lld "
		    "complaint=%lld open_ref=%lld close_ref=%lld inbound=%d\n",
		    i, kind == MSG_DIRECT ? "-" : nz(w->author),
		    (long long)w->opened,
		    (long long)w->closed, (long long)w->complaint,
		    (long long)w->open_ref, (long long)w->close_ref,
		    w->inbound);
	}
	for (k = 0; k < n; k++) {
		i = rr->order[k];
		if (rr->wait[i] == SIZE_MAX)
			sb_printf(&b, "M ref=%lld %s\n", (long long)m[i].ref,
			    engine_action_name(rr->action[i]));
		else
			sb_printf(&b, "M ref=%lld %s W%zu\n", (long long)m[i].ref,
			    engine_action_name(rr->action[i]), rr->wait[i]);
	}
	sb_printf(&b, "first=%lld first_inbound=%d first_response=%lld\n",
	    (long long)rr->first, rr->first_inbound,
	    (long long)rr->first_response);
	for (i = 0; i < rr->nunresolved; i++)
		sb_printf(&b, "U ref=%lld\n",
		    (long long)m[rr->unresolved[i]].ref);
	return b.s;
}

static void
ref_clear(struct ref_result *rr)
{
	free(rr->waits);
	free(rr->order);
	free(rr->action);
	free(rr->wait);
	free(rr->unresolved);
	memset(rr, 0, sizeof *rr);
}

/* ---- assertions on one computed conversation ------------------------------- */

/* The message with that ref, in the engine's (sorted) array. */
static size_t
pos_of(const struct engine_msg *msgs, size_t n, int64_t ref)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (msgs[i].ref == ref)
			return i;
	ck_abort_msg("no message with ref %lld", (long long)ref);
	return SIZE_MAX;
}

#define ACT(msgs, n, r, ref)	((r)->actions[pos_of((msgs), (n), (ref))])
#define WAITOF(msgs, n, r, ref)	((r)->wait_of[pos_of((msgs), (n), (ref))])

/* check_wait's author for direct waits: not checked here (see
 * direct_wait_has_no_author). */
static const char DIRECT[] = "(direct)";

static void
check_wait(const struct engine_wait *w, const char *author, int64_t opened,
    int64_t closed, int64_t complaint, int64_t open_ref, int64_t close_ref,
    int inbound)
{
	if (author == DIRECT)
		;
	else if (author == NULL)
		ck_assert_ptr_null(w->author);
	else {
		ck_assert_ptr_nonnull(w->author);
		ck_assert_str_eq(w->author, author);
	}
	ck_assert_int_eq(w->opened_ms, opened);
	ck_assert_int_eq(w->closed_ms, closed);
	ck_assert_int_eq(w->complaint_ms, complaint);
	ck_assert_int_eq(w->open_ref, open_ref);
	ck_assert_int_eq(w->close_ref, close_ref);
	ck_assert_int_eq(w->inbound, inbound);
}

/* ---- §4: the reference example ----------------------------------------------- */

static const struct tmsg ex_d1[] = {
	{ "d1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
	{ "d2", IN, AT(10, 5, 0), "A", NULL, 0, 0 },
	{ "d3", OUT, AT(10, 12, 0), "brand", NULL, 0, 0 },
};

static const struct tmsg ex_p1[] = {
	{ "p0", IN, AT(10, 20, 0), "B", NULL, 0, 0 },	/* m1 */
	{ "p2", IN, AT(10, 21, 0), "C", NULL, 0, 0 },	/* m2 */
	{ "p3", OUT, AT(10, 30, 0), "brand", "p2", 0, 0 },
	{ "p4", OUT, AT(10, 31, 0), "brand", "p0", 0, 0 },
};

START_TEST(example_direct)
{
	struct engine_msg *m = load(ex_d1, NELEM(ex_d1));
	struct engine_result r;
	size_t n = NELEM(ex_d1);

	engine_compute(MSG_DIRECT, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 1);
	/* W1 (D1): opened by the first message, joined, closed at 10:12 */
	check_wait(&r.waits[0], DIRECT, AT(10, 0, 0), AT(10, 12, 0),
	    ENGINE_NONE, 1, 3, 2);
	ck_assert_int_eq(r.waits[0].closed_ms - r.waits[0].opened_ms,
	    720 * SEC);
	ck_assert_int_eq(ACT(m, n, &r, 1), ENGINE_ACT_OPEN);
	ck_assert_int_eq(ACT(m, n, &r, 2), ENGINE_ACT_JOIN);
	ck_assert_int_eq(ACT(m, n, &r, 3), ENGINE_ACT_CLOSE);
	ck_assert_uint_eq(WAITOF(m, n, &r, 1), 0);
	ck_assert_uint_eq(WAITOF(m, n, &r, 2), 0);
	ck_assert_uint_eq(WAITOF(m, n, &r, 3), 0);
	/* first response: 720 s for D1 */
	ck_assert_int_eq(r.first_ms, AT(10, 0, 0));
	ck_assert_int_eq(r.first_inbound, 1);
	ck_assert_int_eq(r.first_response_ms - r.first_ms, 720 * SEC);
	ck_assert_uint_eq(r.nunresolved, 0);
	engine_result_clear(&r);
	free(m);
}
END_TEST

START_TEST(example_broadcast)
{
	struct engine_msg *m = load(ex_p1, NELEM(ex_p1));
	struct engine_result r;
	size_t n = NELEM(ex_p1);

	engine_compute(MSG_BROADCAST, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 2);
	/* W2 (P1, B) and W3 (P1, C), in order of opening */
	check_wait(&r.waits[0], "B", AT(10, 20, 0), AT(10, 31, 0),
	    ENGINE_NONE, 1, 4, 1);
	check_wait(&r.waits[1], "C", AT(10, 21, 0), AT(10, 30, 0),
	    ENGINE_NONE, 2, 3, 1);
	ck_assert_int_eq(r.waits[1].closed_ms - r.waits[1].opened_ms,
	    540 * SEC);
	ck_assert_int_eq(r.waits[0].closed_ms - r.waits[0].opened_ms,
	    660 * SEC);
	ck_assert_int_eq(ACT(m, n, &r, 1), ENGINE_ACT_OPEN);
	ck_assert_int_eq(ACT(m, n, &r, 2), ENGINE_ACT_OPEN);
	ck_assert_int_eq(ACT(m, n, &r, 3), ENGINE_ACT_CLOSE);
	ck_assert_int_eq(ACT(m, n, &r, 4), ENGINE_ACT_CLOSE);
	ck_assert_uint_eq(WAITOF(m, n, &r, 1), 0);
	ck_assert_uint_eq(WAITOF(m, n, &r, 2), 1);
	ck_assert_uint_eq(WAITOF(m, n, &r, 3), 1);
	ck_assert_uint_eq(WAITOF(m, n, &r, 4), 0);
	/* first response: 600 s for P1 (10:20 to the first close, 10:30) */
	ck_assert_int_eq(r.first_ms, AT(10, 20, 0));
	ck_assert_int_eq(r.first_inbound, 1);
	ck_assert_int_eq(r.first_response_ms - r.first_ms, 600 * SEC);
	ck_assert_uint_eq(r.nunresolved, 0);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* At 10:30, W2 stays open: only C was answered. */
START_TEST(example_broadcast_w2_stays_open)
{
	struct engine_msg *m = load(ex_p1, 3);
	struct engine_result r;

	engine_compute(MSG_BROADCAST, m, 3, &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], "B", AT(10, 20, 0), ENGINE_OPEN, ENGINE_NONE,
	    1, -1, 1);
	check_wait(&r.waits[1], "C", AT(10, 21, 0), AT(10, 30, 0),
	    ENGINE_NONE, 2, 3, 1);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* The example given in reverse and shuffled: same waits. */
START_TEST(example_any_input_order)
{
	static const size_t perm[][4] = {
		{ 3, 2, 1, 0 }, { 2, 0, 3, 1 }, { 1, 3, 0, 2 },
	};
	struct engine_msg *m = load(ex_p1, 4), *p;
	char *want, *got;
	size_t k, i;

	want = run_canon(MSG_BROADCAST, m, 4);
	for (k = 0; k < NELEM(perm); k++) {
		p = load(ex_p1, 4);
		for (i = 0; i < 4; i++)
			p[i] = m[perm[k][i]];
		got = run_canon(MSG_BROADCAST, p, 4);
		ck_assert_str_eq(got, want);
		free(got);
		free(p);
	}
	free(want);
	free(m);
}
END_TEST

/* ---- ties and order ------------------------------------------------------- */

START_TEST(order_cmp)
{
	struct engine_msg a = { .id = "b", .created_ms = 10,
	    .direction = MSG_INBOUND };
	struct engine_msg b = { .id = "a", .created_ms = 10,
	    .direction = MSG_OUTBOUND };
	struct engine_msg c = { .id = "a", .created_ms = 10,
	    .direction = MSG_INBOUND };
	struct engine_msg d = { .id = "a", .created_ms = 9,
	    .direction = MSG_OUTBOUND };

	/* time first */
	ck_assert_int_gt(engine_msg_cmp(&a, &d), 0);
	ck_assert_int_lt(engine_msg_cmp(&d, &a), 0);
	/* then inbound before outbound, whatever the ids */
	ck_assert_int_lt(engine_msg_cmp(&a, &b), 0);
	ck_assert_int_gt(engine_msg_cmp(&b, &a), 0);
	/* then id */
	ck_assert_int_lt(engine_msg_cmp(&c, &a), 0);
	ck_assert_int_gt(engine_msg_cmp(&a, &c), 0);
	ck_assert_int_eq(engine_msg_cmp(&a, &a), 0);
}
END_TEST

START_TEST(msgs_sorted_in_place)
{
	static const struct tmsg t[] = {
		{ "z", OUT, AT(10, 1, 0), NULL, NULL, 0, 0 },
		{ "c", IN, AT(10, 1, 0), "A", NULL, 0, 0 },
		{ "y", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "a", OUT, AT(10, 1, 0), NULL, NULL, 0, 0 },
		{ "b", IN, AT(10, 1, 0), "A", NULL, 0, 0 },
	};
	static const int64_t want[] = { 3, 5, 2, 4, 1 };
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;
	size_t i;

	engine_compute(MSG_DIRECT, m, NELEM(t), &r);
	for (i = 0; i < NELEM(t); i++)
		ck_assert_int_eq(m[i].ref, want[i]);
	/* y opens, b and c join, a closes (first outbound by id), z nothing */
	ck_assert_int_eq(r.actions[0], ENGINE_ACT_OPEN);
	ck_assert_int_eq(r.actions[1], ENGINE_ACT_JOIN);
	ck_assert_int_eq(r.actions[2], ENGINE_ACT_JOIN);
	ck_assert_int_eq(r.actions[3], ENGINE_ACT_CLOSE);
	ck_assert_int_eq(r.actions[4], ENGINE_ACT_NONE);
	ck_assert_uint_eq(r.wait_of[4], SIZE_MAX);
	ck_assert_uint_eq(r.nwaits, 1);
	check_wait(&r.waits[0], DIRECT, AT(10, 0, 0), AT(10, 1, 0), ENGINE_NONE,
	    3, 4, 3);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* An inbound and an outbound at the same instant: the inbound comes first,
 * so the outbound answers it with a reply time of 0, whatever the ids and
 * the input order. */
START_TEST(tie_inbound_before_outbound_direct)
{
	static const struct tmsg t[] = {
		{ "a-out", OUT, AT(11, 0, 0), NULL, NULL, 0, 0 },
		{ "z-in", IN, AT(11, 0, 0), "A", NULL, 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;

	engine_compute(MSG_DIRECT, m, NELEM(t), &r);
	ck_assert_int_eq(m[0].ref, 2);
	ck_assert_int_eq(m[1].ref, 1);
	ck_assert_uint_eq(r.nwaits, 1);
	check_wait(&r.waits[0], DIRECT, AT(11, 0, 0), AT(11, 0, 0), ENGINE_NONE,
	    2, 1, 1);
	ck_assert_int_eq(r.first_inbound, 1);
	ck_assert_int_eq(r.first_response_ms, AT(11, 0, 0));
	engine_result_clear(&r);
	free(m);
}
END_TEST

START_TEST(tie_inbound_before_outbound_broadcast)
{
	static const struct tmsg t[] = {
		{ "a-out", OUT, AT(11, 0, 0), NULL, "z-in", 0, 0 },
		{ "z-in", IN, AT(11, 0, 0), "A", NULL, 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;

	engine_compute(MSG_BROADCAST, m, NELEM(t), &r);
	ck_assert_uint_eq(r.nwaits, 1);
	check_wait(&r.waits[0], "A", AT(11, 0, 0), AT(11, 0, 0), ENGINE_NONE,
	    2, 1, 1);
	ck_assert_uint_eq(r.nunresolved, 0);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* Same instant, same direction: the id decides. Two outbound messages at
 * once: the one with the smaller id closes the wait, the other nothing. */
START_TEST(tie_id_order)
{
	static const struct tmsg t[] = {
		{ "o2", OUT, AT(11, 5, 0), NULL, NULL, 0, 0 },
		{ "i2", IN, AT(11, 0, 0), "A", NULL, 1, 0 },
		{ "o1", OUT, AT(11, 5, 0), NULL, NULL, 0, 0 },
		{ "i1", IN, AT(11, 0, 0), "B", NULL, 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;
	size_t n = NELEM(t);

	engine_compute(MSG_DIRECT, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 1);
	/* i1 (ref 4) opens, i2 (ref 2, the complaint) joins at the same time */
	check_wait(&r.waits[0], DIRECT, AT(11, 0, 0), AT(11, 5, 0), AT(11, 0, 0),
	    4, 3, 2);
	ck_assert_int_eq(ACT(m, n, &r, 4), ENGINE_ACT_OPEN);
	ck_assert_int_eq(ACT(m, n, &r, 2), ENGINE_ACT_JOIN);
	ck_assert_int_eq(ACT(m, n, &r, 3), ENGINE_ACT_CLOSE);
	ck_assert_int_eq(ACT(m, n, &r, 1), ENGINE_ACT_NONE);
	ck_assert_uint_eq(WAITOF(m, n, &r, 1), SIZE_MAX);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* ---- every permutation of small sets -------------------------------------- */

/* Direct, 5 messages: ties in time, an outbound with nothing open. */
static const struct tmsg perm_d5[] = {
	{ "a", OUT, AT(10, 0, 0), NULL, NULL, 0, 0 },
	{ "b", IN, AT(10, 1, 0), "A", NULL, 0, 0 },
	{ "c", IN, AT(10, 1, 0), "B", NULL, 1, 0 },
	{ "d", OUT, AT(10, 1, 0), NULL, NULL, 0, 0 },
	{ "e", IN, AT(10, 3, 0), "A", NULL, 1, 0 },
};

/* Direct, 6 messages: two waits, a double answer, a tie on id. */
static const struct tmsg perm_d6[] = {
	{ "m5", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
	{ "m4", IN, AT(10, 2, 0), "A", NULL, 1, 0 },
	{ "m3", OUT, AT(10, 4, 0), NULL, NULL, 0, 0 },
	{ "m2", OUT, AT(10, 4, 0), NULL, NULL, 0, 0 },
	{ "m1", IN, AT(10, 6, 0), "B", NULL, 0, 0 },
	{ "m0", OUT, AT(10, 9, 0), NULL, NULL, 0, 0 },
};

/* Broadcast, 6 messages: two authors, a reply to the brand's own post,
 * an unresolved reply, a reply before its parent in time order ties. */
static const struct tmsg perm_b6[] = {
	{ "post", OUT, AT(10, 0, 0), NULL, NULL, 0, 0 },
	{ "c1", IN, AT(10, 1, 0), "A", "post", 0, 0 },
	{ "c2", IN, AT(10, 1, 0), "B", "post", 1, 0 },
	{ "r1", OUT, AT(10, 2, 0), NULL, "c2", 0, 0 },
	{ "r2", OUT, AT(10, 2, 0), NULL, "post", 0, 0 },
	{ "r3", OUT, AT(10, 3, 0), NULL, "elsewhere", 0, 0 },
};

/* Broadcast, 7 messages: a foreign reply, a join, a second wait of the
 * same author after an answer, ties between authors. */
static const struct tmsg perm_b7[] = {
	{ "x1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
	{ "x2", IN, AT(10, 0, 0), "B", NULL, 0, 0 },
	{ "x3", IN, AT(10, 2, 0), "A", "x1", 1, 0 },
	{ "f1", OUT, AT(10, 4, 0), NULL, "x1", 0, 1 },
	{ "x4", OUT, AT(10, 4, 0), NULL, "x2", 0, 0 },
	{ "x5", IN, AT(10, 4, 0), "A", NULL, 0, 0 },
	{ "x6", OUT, AT(10, 8, 0), NULL, "x3", 0, 0 },
};

/* Direct, 7 messages, all at one instant: only the tie rules order them. */
static const struct tmsg perm_d7[] = {
	{ "g", IN, AT(12, 0, 0), "A", NULL, 0, 0 },
	{ "f", OUT, AT(12, 0, 0), NULL, NULL, 0, 0 },
	{ "e", IN, AT(12, 0, 0), "B", NULL, 1, 0 },
	{ "d", OUT, AT(12, 0, 0), NULL, NULL, 0, 0 },
	{ "c", IN, AT(12, 0, 0), "A", NULL, 0, 0 },
	{ "b", OUT, AT(12, 0, 0), NULL, NULL, 0, 0 },
	{ "a", IN, AT(12, 0, 0), "C", NULL, 1, 0 },
};

/* Broadcast, 7 messages at two instants, with a foreign reply to an
 * unknown message and replies to the brand's own reply. */
static const struct tmsg perm_b7_ties[] = {
	{ "a", IN, AT(12, 0, 0), "A", NULL, 0, 0 },
	{ "b", IN, AT(12, 0, 0), "B", NULL, 1, 0 },
	{ "c", OUT, AT(12, 0, 0), NULL, "b", 0, 0 },
	{ "d", OUT, AT(12, 0, 0), NULL, "c", 0, 0 },
	{ "e", OUT, AT(12, 1, 0), NULL, "nowhere", 0, 1 },
	{ "f", IN, AT(12, 1, 0), "B", "c", 0, 0 },
	{ "g", OUT, AT(12, 1, 0), NULL, "a", 0, 0 },
};

static const struct {
	const char	*name;
	enum msg_kind	 kind;
	const struct tmsg *t;
	size_t		 n;
	size_t		 nperms;
} perm_sets[] = {
	{ "d5", MSG_DIRECT, perm_d5, NELEM(perm_d5), 120 },
	{ "d6", MSG_DIRECT, perm_d6, NELEM(perm_d6), 720 },
	{ "b6", MSG_BROADCAST, perm_b6, NELEM(perm_b6), 720 },
	{ "b7", MSG_BROADCAST, perm_b7, NELEM(perm_b7), 5040 },
	{ "d7", MSG_DIRECT, perm_d7, NELEM(perm_d7), 5040 },
	{ "b7ties", MSG_BROADCAST, perm_b7_ties, NELEM(perm_b7_ties), 5040 },
	/* the example of §4 as one broadcast set and one direct set */
	{ "p1", MSG_BROADCAST, ex_p1, NELEM(ex_p1), 24 },
	{ "d1", MSG_DIRECT, ex_d1, NELEM(ex_d1), 6 },
};

START_TEST(permutations)
{
	const struct tmsg *t = perm_sets[_i].t;
	size_t n = perm_sets[_i].n, c[8] = { 0 }, idx[8], i, count = 0;
	enum msg_kind kind = perm_sets[_i].kind;
	struct engine_msg *m;
	struct ref_result rr;
	char *want, *refs, *got;

	ck_assert_uint_le(n, 8);
	/* the expected result: the naive reference on the table as given */
	m = load(t, n);
	ref_compute(kind, m, n, &rr);
	refs = ref_canon(kind, m, n, &rr);
	ref_clear(&rr);
	want = run_canon(kind, m, n);
	ck_assert_msg(strcmp(want, refs) == 0, "set %s: engine\n%s\nreference\n%s",
	    perm_sets[_i].name, want, refs);
	free(refs);
	free(m);

	/* Heap's algorithm over the indices */
	for (i = 0; i < n; i++)
		idx[i] = i;
	for (i = 0;;) {
		struct engine_msg *p = xcalloc(n, sizeof *p);
		struct engine_msg *all = load(t, n);
		size_t k;

		for (k = 0; k < n; k++)
			p[k] = all[idx[k]];
		got = run_canon(kind, p, n);
		ck_assert_msg(strcmp(got, want) == 0,
		    "set %s, permutation %zu: got\n%s\nwant\n%s",
		    perm_sets[_i].name, count, got, want);
		free(got);
		free(p);
		free(all);
		count++;

		while (i < n && c[i] >= i) {
			c[i] = 0;
			i++;
		}
		if (i >= n)
			break;
		if (i % 2 == 0) {
			size_t tmp = idx[0];

			idx[0] = idx[i];
			idx[i] = tmp;
		} else {
			size_t tmp = idx[c[i]];

			idx[c[i]] = idx[i];
			idx[i] = tmp;
		}
		c[i]++;
		i = 0;
	}
	ck_assert_uint_eq(count, perm_sets[_i].nperms);
	free(want);
}
END_TEST

/* Spot checks of the permutation sets' expected results, so that the
 * reference implementation itself is held to the spec. */
START_TEST(perm_sets_expected)
{
	struct engine_msg *m;
	struct engine_result r;
	size_t n;

	/* d5: a (outbound, nothing open) nothing; b opens at 10:01, c joins
	 * (complaint), d closes at 10:01; e opens a second wait. */
	n = NELEM(perm_d5);
	m = load(perm_d5, n);
	engine_compute(MSG_DIRECT, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], DIRECT, AT(10, 1, 0), AT(10, 1, 0), AT(10, 1, 0),
	    2, 4, 2);
	check_wait(&r.waits[1], DIRECT, AT(10, 3, 0), ENGINE_OPEN, AT(10, 3, 0),
	    5, -1, 1);
	ck_assert_int_eq(ACT(m, n, &r, 1), ENGINE_ACT_NONE);
	ck_assert_int_eq(r.first_ms, AT(10, 0, 0));
	ck_assert_int_eq(r.first_inbound, 0);
	ck_assert_int_eq(r.first_response_ms, ENGINE_NONE);
	engine_result_clear(&r);
	free(m);

	/* d6: m2 (smaller id) closes at 10:04, m3 nothing */
	n = NELEM(perm_d6);
	m = load(perm_d6, n);
	engine_compute(MSG_DIRECT, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], DIRECT, AT(10, 0, 0), AT(10, 4, 0), AT(10, 2, 0),
	    1, 4, 2);
	check_wait(&r.waits[1], DIRECT, AT(10, 6, 0), AT(10, 9, 0), ENGINE_NONE,
	    5, 6, 1);
	ck_assert_int_eq(ACT(m, n, &r, 3), ENGINE_ACT_NONE);
	ck_assert_int_eq(r.first_response_ms - r.first_ms, 4 * MIN);
	engine_result_clear(&r);
	free(m);

	/* b6: the post comes first (no first response); c1 and c2 open their
	 * authors' waits; r1 closes B's; r2 replies to the post: nothing;
	 * r3 replies to an unknown message: unresolved. */
	n = NELEM(perm_b6);
	m = load(perm_b6, n);
	engine_compute(MSG_BROADCAST, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], "A", AT(10, 1, 0), ENGINE_OPEN, ENGINE_NONE,
	    2, -1, 1);
	check_wait(&r.waits[1], "B", AT(10, 1, 0), AT(10, 2, 0), AT(10, 1, 0),
	    3, 4, 1);
	ck_assert_int_eq(ACT(m, n, &r, 5), ENGINE_ACT_NONE);
	ck_assert_int_eq(ACT(m, n, &r, 6), ENGINE_ACT_NONE);
	ck_assert_int_eq(r.first_inbound, 0);
	ck_assert_int_eq(r.first_response_ms, ENGINE_NONE);
	ck_assert_uint_eq(r.nunresolved, 1);
	ck_assert_int_eq(m[r.unresolved[0]].ref, 6);
	engine_result_clear(&r);
	free(m);

	/* b7: A's wait (x1, x3 joins) closed at 10:04 by the foreign f1;
	 * B's closed at 10:04 by x4; x5 (inbound, 10:04) comes before both
	 * outbound messages of 10:04, so it joins A's wait, and x6 finds
	 * nothing open. */
	n = NELEM(perm_b7);
	m = load(perm_b7, n);
	engine_compute(MSG_BROADCAST, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], "A", AT(10, 0, 0), AT(10, 4, 0), AT(10, 2, 0),
	    1, 4, 3);
	check_wait(&r.waits[1], "B", AT(10, 0, 0), AT(10, 4, 0), ENGINE_NONE,
	    2, 5, 1);
	ck_assert_int_eq(ACT(m, n, &r, 6), ENGINE_ACT_JOIN);
	ck_assert_int_eq(ACT(m, n, &r, 7), ENGINE_ACT_NONE);
	ck_assert_int_eq(r.first_response_ms - r.first_ms, 4 * MIN);
	ck_assert_uint_eq(r.nunresolved, 0);
	engine_result_clear(&r);
	free(m);

	/* d7: order a c e g (inbound by id) then b d f: one wait of four
	 * inbound messages, closed by b; d and f nothing. */
	n = NELEM(perm_d7);
	m = load(perm_d7, n);
	engine_compute(MSG_DIRECT, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 1);
	check_wait(&r.waits[0], DIRECT, AT(12, 0, 0), AT(12, 0, 0), AT(12, 0, 0),
	    7, 6, 4);
	ck_assert_int_eq(ACT(m, n, &r, 7), ENGINE_ACT_OPEN);
	ck_assert_int_eq(ACT(m, n, &r, 5), ENGINE_ACT_JOIN);
	ck_assert_int_eq(ACT(m, n, &r, 3), ENGINE_ACT_JOIN);
	ck_assert_int_eq(ACT(m, n, &r, 1), ENGINE_ACT_JOIN);
	ck_assert_int_eq(ACT(m, n, &r, 6), ENGINE_ACT_CLOSE);
	ck_assert_int_eq(ACT(m, n, &r, 4), ENGINE_ACT_NONE);
	ck_assert_int_eq(ACT(m, n, &r, 2), ENGINE_ACT_NONE);
	ck_assert_int_eq(r.first_response_ms - r.first_ms, 0);
	engine_result_clear(&r);
	free(m);

	/* b7ties: 12:00 a(A) opens, b(B) opens, c closes B's, d replies to
	 * the brand's own c: nothing; 12:01 f(B) opens B's second wait, e
	 * (foreign, unknown target) nothing and not unresolved, g closes A's */
	n = NELEM(perm_b7_ties);
	m = load(perm_b7_ties, n);
	engine_compute(MSG_BROADCAST, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 3);
	check_wait(&r.waits[0], "A", AT(12, 0, 0), AT(12, 1, 0), ENGINE_NONE,
	    1, 7, 1);
	check_wait(&r.waits[1], "B", AT(12, 0, 0), AT(12, 0, 0), AT(12, 0, 0),
	    2, 3, 1);
	check_wait(&r.waits[2], "B", AT(12, 1, 0), ENGINE_OPEN, ENGINE_NONE,
	    6, -1, 1);
	ck_assert_int_eq(ACT(m, n, &r, 4), ENGINE_ACT_NONE);
	ck_assert_int_eq(ACT(m, n, &r, 5), ENGINE_ACT_NONE);
	ck_assert_uint_eq(r.nunresolved, 0);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* ---- direct conversations ---------------------------------------------------- */

/* Several people in one direct conversation share its one clock. */
START_TEST(direct_several_authors_join)
{
	static const struct tmsg t[] = {
		{ "1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "2", IN, AT(10, 1, 0), "B", NULL, 0, 0 },
		{ "3", IN, AT(10, 2, 0), "C", NULL, 0, 0 },
		{ "4", IN, AT(10, 3, 0), NULL, NULL, 0, 0 },
		{ "5", OUT, AT(10, 10, 0), "brand", NULL, 0, 0 },
		{ "6", IN, AT(10, 20, 0), "B", NULL, 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;
	size_t n = NELEM(t);

	engine_compute(MSG_DIRECT, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], DIRECT, AT(10, 0, 0), AT(10, 10, 0), ENGINE_NONE,
	    1, 5, 4);
	check_wait(&r.waits[1], DIRECT, AT(10, 20, 0), ENGINE_OPEN, ENGINE_NONE,
	    6, -1, 1);
	ck_assert_int_eq(ACT(m, n, &r, 1), ENGINE_ACT_OPEN);
	ck_assert_int_eq(ACT(m, n, &r, 2), ENGINE_ACT_JOIN);
	ck_assert_int_eq(ACT(m, n, &r, 3), ENGINE_ACT_JOIN);
	ck_assert_int_eq(ACT(m, n, &r, 4), ENGINE_ACT_JOIN);
	ck_assert_int_eq(ACT(m, n, &r, 5), ENGINE_ACT_CLOSE);
	ck_assert_int_eq(ACT(m, n, &r, 6), ENGINE_ACT_OPEN);
	ck_assert_uint_eq(WAITOF(m, n, &r, 6), 1);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* An outbound message with no open wait closes nothing: not the next
 * wait either. */
START_TEST(direct_outbound_nothing_open)
{
	static const struct tmsg t[] = {
		{ "1", OUT, AT(10, 0, 0), NULL, NULL, 0, 0 },
		{ "2", IN, AT(10, 5, 0), "A", NULL, 0, 0 },
		{ "3", OUT, AT(10, 6, 0), NULL, NULL, 0, 0 },
		{ "4", OUT, AT(10, 7, 0), NULL, NULL, 0, 0 },
		{ "5", IN, AT(10, 8, 0), "A", NULL, 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;
	size_t n = NELEM(t);

	engine_compute(MSG_DIRECT, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], DIRECT, AT(10, 5, 0), AT(10, 6, 0), ENGINE_NONE,
	    2, 3, 1);
	check_wait(&r.waits[1], DIRECT, AT(10, 8, 0), ENGINE_OPEN, ENGINE_NONE,
	    5, -1, 1);
	ck_assert_int_eq(ACT(m, n, &r, 1), ENGINE_ACT_NONE);
	ck_assert_int_eq(ACT(m, n, &r, 4), ENGINE_ACT_NONE);
	ck_assert_uint_eq(WAITOF(m, n, &r, 1), SIZE_MAX);
	ck_assert_uint_eq(WAITOF(m, n, &r, 4), SIZE_MAX);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* In a direct conversation in_reply_to does not matter: the next outbound
 * message closes the open wait, whatever it replies to. */
START_TEST(direct_ignores_in_reply_to)
{
	static const struct tmsg t[] = {
		{ "1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "2", IN, AT(10, 1, 0), "A", NULL, 0, 0 },
		{ "3", OUT, AT(10, 2, 0), NULL, "unknown", 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;

	engine_compute(MSG_DIRECT, m, NELEM(t), &r);
	ck_assert_uint_eq(r.nwaits, 1);
	check_wait(&r.waits[0], DIRECT, AT(10, 0, 0), AT(10, 2, 0), ENGINE_NONE,
	    1, 3, 2);
	ck_assert_uint_eq(r.nunresolved, 0);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* Messages of other conversations are not of this direct conversation:
 * they open, join and close nothing and are not its first message. */
START_TEST(direct_foreign_ignored)
{
	static const struct tmsg t[] = {
		{ "0", OUT, AT(9, 0, 0), NULL, "1", 0, 1 },
		{ "1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "2", OUT, AT(10, 1, 0), NULL, "1", 0, 1 },
		{ "3", OUT, AT(10, 2, 0), NULL, NULL, 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;
	size_t n = NELEM(t);

	engine_compute(MSG_DIRECT, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 1);
	check_wait(&r.waits[0], DIRECT, AT(10, 0, 0), AT(10, 2, 0), ENGINE_NONE,
	    2, 4, 1);
	ck_assert_int_eq(ACT(m, n, &r, 1), ENGINE_ACT_NONE);
	ck_assert_int_eq(ACT(m, n, &r, 3), ENGINE_ACT_NONE);
	ck_assert_int_eq(r.first_ms, AT(10, 0, 0));
	ck_assert_int_eq(r.first_inbound, 1);
	ck_assert_int_eq(r.first_response_ms, AT(10, 2, 0));
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* complaint_ms: the time of the first complaint in the wait, in time
 * order, not in input order; outbound complaints do not count. */
START_TEST(complaint_first_in_wait)
{
	static const struct tmsg t[] = {
		{ "4", IN, AT(10, 9, 0), "A", NULL, 1, 0 },
		{ "1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "3", IN, AT(10, 7, 0), "A", NULL, 1, 0 },
		{ "2", IN, AT(10, 3, 0), "A", NULL, 0, 0 },
		{ "5", OUT, AT(10, 10, 0), NULL, NULL, 1, 0 },
		{ "6", IN, AT(10, 11, 0), "A", NULL, 0, 0 },
		{ "7", OUT, AT(10, 12, 0), NULL, NULL, 1, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;

	engine_compute(MSG_DIRECT, m, NELEM(t), &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], DIRECT, AT(10, 0, 0), AT(10, 10, 0),
	    AT(10, 7, 0), 2, 5, 4);
	check_wait(&r.waits[1], DIRECT, AT(10, 11, 0), AT(10, 12, 0),
	    ENGINE_NONE, 6, 7, 1);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* A complaint that opens its wait. */
START_TEST(complaint_opening)
{
	static const struct tmsg t[] = {
		{ "1", IN, AT(10, 0, 0), "A", NULL, 1, 0 },
		{ "2", IN, AT(10, 1, 0), "B", NULL, 1, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;

	engine_compute(MSG_BROADCAST, m, NELEM(t), &r);
	ck_assert_uint_eq(r.nwaits, 2);
	ck_assert_int_eq(r.waits[0].complaint_ms, AT(10, 0, 0));
	ck_assert_int_eq(r.waits[1].complaint_ms, AT(10, 1, 0));
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* A conversation that begins with an outbound message has no first
 * response time, even when waits are closed later. */
START_TEST(first_outbound_no_first_response)
{
	static const struct tmsg t[] = {
		{ "1", OUT, AT(10, 0, 0), NULL, NULL, 0, 0 },
		{ "2", IN, AT(10, 1, 0), "A", NULL, 0, 0 },
		{ "3", OUT, AT(10, 2, 0), NULL, NULL, 0, 0 },
	};
	static const struct tmsg b[] = {
		{ "post", OUT, AT(10, 0, 0), NULL, NULL, 0, 0 },
		{ "c", IN, AT(10, 1, 0), "A", "post", 0, 0 },
		{ "r", OUT, AT(10, 2, 0), NULL, "c", 0, 0 },
	};
	struct engine_msg *m;
	struct engine_result r;

	m = load(t, NELEM(t));
	engine_compute(MSG_DIRECT, m, NELEM(t), &r);
	ck_assert_uint_eq(r.nwaits, 1);
	ck_assert_int_eq(r.waits[0].closed_ms, AT(10, 2, 0));
	ck_assert_int_eq(r.first_ms, AT(10, 0, 0));
	ck_assert_int_eq(r.first_inbound, 0);
	ck_assert_int_eq(r.first_response_ms, ENGINE_NONE);
	engine_result_clear(&r);
	free(m);

	m = load(b, NELEM(b));
	engine_compute(MSG_BROADCAST, m, NELEM(b), &r);
	ck_assert_uint_eq(r.nwaits, 1);
	ck_assert_int_eq(r.waits[0].closed_ms, AT(10, 2, 0));
	ck_assert_int_eq(r.first_ms, AT(10, 0, 0));
	ck_assert_int_eq(r.first_inbound, 0);
	ck_assert_int_eq(r.first_response_ms, ENGINE_NONE);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* First response: to the first outbound that closes a wait, not the first
 * outbound; and none while nothing is closed. */
START_TEST(first_response_first_close)
{
	static const struct tmsg b[] = {
		{ "c1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "r0", OUT, AT(10, 3, 0), NULL, NULL, 0, 0 },
		{ "r1", OUT, AT(10, 4, 0), NULL, "r0", 0, 0 },
		{ "r2", OUT, AT(10, 5, 0), NULL, "c1", 0, 0 },
		{ "c2", IN, AT(10, 6, 0), "B", NULL, 0, 0 },
		{ "r3", OUT, AT(10, 7, 0), NULL, "c2", 0, 0 },
	};
	struct engine_msg *m;
	struct engine_result r;

	m = load(b, NELEM(b));
	engine_compute(MSG_BROADCAST, m, NELEM(b), &r);
	ck_assert_int_eq(r.first_inbound, 1);
	ck_assert_int_eq(r.first_ms, AT(10, 0, 0));
	ck_assert_int_eq(r.first_response_ms, AT(10, 5, 0));
	engine_result_clear(&r);
	free(m);

	m = load(b, 3);
	engine_compute(MSG_BROADCAST, m, 3, &r);
	ck_assert_int_eq(r.first_inbound, 1);
	ck_assert_int_eq(r.first_response_ms, ENGINE_NONE);
	ck_assert_uint_eq(r.nwaits, 1);
	ck_assert_int_eq(r.waits[0].closed_ms, ENGINE_OPEN);
	engine_result_clear(&r);
	free(m);
}
END_TEST

START_TEST(empty)
{
	struct engine_result r;
	struct engine_msg dummy;

	memset(&dummy, 0, sizeof dummy);
	engine_compute(MSG_DIRECT, &dummy, 0, &r);
	ck_assert_uint_eq(r.nwaits, 0);
	ck_assert_uint_eq(r.nunresolved, 0);
	ck_assert_int_eq(r.first_ms, ENGINE_NONE);
	ck_assert_int_eq(r.first_inbound, 0);
	ck_assert_int_eq(r.first_response_ms, ENGINE_NONE);
	engine_result_clear(&r);
	ck_assert_ptr_null(r.waits);
	ck_assert_ptr_null(r.actions);
	ck_assert_uint_eq(r.nwaits, 0);

	engine_compute(MSG_BROADCAST, &dummy, 0, &r);
	ck_assert_uint_eq(r.nwaits, 0);
	ck_assert_int_eq(r.first_ms, ENGINE_NONE);
	engine_result_clear(&r);
}
END_TEST

/* Only foreign messages: the conversation has no message of its own. */
START_TEST(only_foreign)
{
	static const struct tmsg t[] = {
		{ "f", OUT, AT(10, 0, 0), NULL, "x", 0, 1 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;

	engine_compute(MSG_BROADCAST, m, NELEM(t), &r);
	ck_assert_uint_eq(r.nwaits, 0);
	ck_assert_int_eq(r.first_ms, ENGINE_NONE);
	ck_assert_int_eq(r.first_inbound, 0);
	ck_assert_uint_eq(r.nunresolved, 0);
	ck_assert_int_eq(r.actions[0], ENGINE_ACT_NONE);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* engine.h: a wait's author is "broadcast: whose wait; direct: NULL". A
 * direct conversation has one clock whoever writes, so its wait has no
 * author, even when the opening message has one. */
START_TEST(direct_wait_has_no_author)
{
	static const struct tmsg t[] = {
		{ "1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "2", IN, AT(10, 1, 0), "B", NULL, 0, 0 },
		{ "3", OUT, AT(10, 2, 0), "brand", NULL, 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;
	const char *author;
	size_t nwaits;

	engine_compute(MSG_DIRECT, m, NELEM(t), &r);
	nwaits = r.nwaits;
	author = nwaits > 0 ? r.waits[0].author : NULL;	/* borrowed from t */
	engine_result_clear(&r);
	free(m);
	ck_assert_uint_eq(nwaits, 1);
	ck_assert_msg(author == NULL,
	    "direct wait has author \"%s\", engine.h says NULL", author);
}
END_TEST

START_TEST(action_names)
{
	ck_assert_str_eq(engine_action_name(ENGINE_ACT_NONE), "none");
	ck_assert_str_eq(engine_action_name(ENGINE_ACT_OPEN), "opened");
	ck_assert_str_eq(engine_action_name(ENGINE_ACT_JOIN), "joined");
	ck_assert_str_eq(engine_action_name(ENGINE_ACT_CLOSE), "closed");
}
END_TEST

/* ---- broadcast posts ----------------------------------------------------------- */

/* Each author has their own clock; a reply closes the wait of the author
 * of the message it replies to, from that wait's opening (even when it
 * replies to a later message of the wait). */
START_TEST(broadcast_clock_per_author)
{
	static const struct tmsg t[] = {
		{ "a1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "b1", IN, AT(10, 1, 0), "B", NULL, 0, 0 },
		{ "a2", IN, AT(10, 2, 0), "A", NULL, 0, 0 },
		{ "c1", IN, AT(10, 3, 0), "C", "a1", 0, 0 },
		{ "r1", OUT, AT(10, 4, 0), NULL, "b1", 0, 0 },
		{ "r2", OUT, AT(10, 6, 0), NULL, "a2", 0, 0 },
		{ "r3", OUT, AT(10, 7, 0), NULL, "a1", 0, 0 },
		{ "b2", IN, AT(10, 8, 0), "B", NULL, 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;
	size_t n = NELEM(t);

	engine_compute(MSG_BROADCAST, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 4);
	check_wait(&r.waits[0], "A", AT(10, 0, 0), AT(10, 6, 0), ENGINE_NONE,
	    1, 6, 2);
	check_wait(&r.waits[1], "B", AT(10, 1, 0), AT(10, 4, 0), ENGINE_NONE,
	    2, 5, 1);
	check_wait(&r.waits[2], "C", AT(10, 3, 0), ENGINE_OPEN, ENGINE_NONE,
	    4, -1, 1);
	check_wait(&r.waits[3], "B", AT(10, 8, 0), ENGINE_OPEN, ENGINE_NONE,
	    8, -1, 1);
	ck_assert_int_eq(ACT(m, n, &r, 3), ENGINE_ACT_JOIN);
	ck_assert_uint_eq(WAITOF(m, n, &r, 3), 0);
	/* A's wait is already closed: r3 closes nothing */
	ck_assert_int_eq(ACT(m, n, &r, 7), ENGINE_ACT_NONE);
	ck_assert_uint_eq(WAITOF(m, n, &r, 7), SIZE_MAX);
	ck_assert_int_eq(r.first_response_ms - r.first_ms, 4 * MIN);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* A reply to an old message of an author who has since opened a new wait
 * closes that author's open wait. */
START_TEST(broadcast_reply_to_older_message)
{
	static const struct tmsg t[] = {
		{ "a1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "r1", OUT, AT(10, 1, 0), NULL, "a1", 0, 0 },
		{ "a2", IN, AT(10, 2, 0), "A", NULL, 0, 0 },
		{ "r2", OUT, AT(10, 5, 0), NULL, "a1", 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;

	engine_compute(MSG_BROADCAST, m, NELEM(t), &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], "A", AT(10, 0, 0), AT(10, 1, 0), ENGINE_NONE,
	    1, 2, 1);
	check_wait(&r.waits[1], "A", AT(10, 2, 0), AT(10, 5, 0), ENGINE_NONE,
	    3, 4, 1);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* An outbound message that replies to nothing, to the brand's own message
 * or to an unknown id closes nothing; only the unknown target of an own
 * message is reported as unresolved, not that of a foreign one. */
START_TEST(broadcast_replies_closing_nothing)
{
	static const struct tmsg t[] = {
		{ "c1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "o1", OUT, AT(10, 1, 0), NULL, NULL, 0, 0 },
		{ "o2", OUT, AT(10, 2, 0), NULL, "o1", 0, 0 },
		{ "o3", OUT, AT(10, 3, 0), NULL, "unknown-1", 0, 0 },
		{ "f1", OUT, AT(10, 4, 0), NULL, "unknown-2", 0, 1 },
		{ "o4", OUT, AT(10, 5, 0), NULL, "unknown-3", 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;
	size_t n = NELEM(t), i;

	engine_compute(MSG_BROADCAST, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 1);
	check_wait(&r.waits[0], "A", AT(10, 0, 0), ENGINE_OPEN, ENGINE_NONE,
	    1, -1, 1);
	for (i = 2; i <= 6; i++) {
		ck_assert_int_eq(ACT(m, n, &r, (int64_t)i), ENGINE_ACT_NONE);
		ck_assert_uint_eq(WAITOF(m, n, &r, (int64_t)i), SIZE_MAX);
	}
	ck_assert_uint_eq(r.nunresolved, 2);
	ck_assert_int_eq(m[r.unresolved[0]].ref, 4);
	ck_assert_str_eq(m[r.unresolved[0]].in_reply_to, "unknown-1");
	ck_assert_int_eq(m[r.unresolved[1]].ref, 6);
	ck_assert_int_eq(r.first_response_ms, ENGINE_NONE);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* A brand reply stored in another conversation (foreign) that answers a
 * message of this one closes its author's wait, and counts as the first
 * response; foreign messages are never the conversation's first message. */
START_TEST(broadcast_foreign_reply_closes)
{
	static const struct tmsg t[] = {
		{ "f0", OUT, AT(9, 0, 0), NULL, "elsewhere", 0, 1 },
		{ "c1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "c2", IN, AT(10, 1, 0), "B", NULL, 1, 0 },
		{ "f1", OUT, AT(10, 7, 0), NULL, "c2", 0, 1 },
		{ "f2", OUT, AT(10, 8, 0), NULL, "f1", 0, 1 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;
	size_t n = NELEM(t);

	engine_compute(MSG_BROADCAST, m, n, &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], "A", AT(10, 0, 0), ENGINE_OPEN, ENGINE_NONE,
	    2, -1, 1);
	check_wait(&r.waits[1], "B", AT(10, 1, 0), AT(10, 7, 0), AT(10, 1, 0),
	    3, 4, 1);
	ck_assert_int_eq(ACT(m, n, &r, 4), ENGINE_ACT_CLOSE);
	ck_assert_uint_eq(WAITOF(m, n, &r, 4), 1);
	/* foreign messages are never reply targets */
	ck_assert_int_eq(ACT(m, n, &r, 5), ENGINE_ACT_NONE);
	ck_assert_int_eq(r.first_ms, AT(10, 0, 0));
	ck_assert_int_eq(r.first_inbound, 1);
	ck_assert_int_eq(r.first_response_ms - r.first_ms, 7 * MIN);
	ck_assert_uint_eq(r.nunresolved, 0);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* A reply stored before its parent (in the input), or even created
 * earlier than a later message of its author. */
START_TEST(broadcast_reply_before_parent_in_input)
{
	static const struct tmsg t[] = {
		{ "r", OUT, AT(10, 5, 0), NULL, "c", 0, 0 },
		{ "f", OUT, AT(10, 6, 0), NULL, "d", 0, 1 },
		{ "d", IN, AT(10, 1, 0), "B", NULL, 0, 0 },
		{ "c", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;

	engine_compute(MSG_BROADCAST, m, NELEM(t), &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], "A", AT(10, 0, 0), AT(10, 5, 0), ENGINE_NONE,
	    4, 1, 1);
	check_wait(&r.waits[1], "B", AT(10, 1, 0), AT(10, 6, 0), ENGINE_NONE,
	    3, 2, 1);
	ck_assert_uint_eq(r.nunresolved, 0);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* Anonymous messages (no author) share one clock, apart from named ones. */
START_TEST(broadcast_anonymous)
{
	static const struct tmsg t[] = {
		{ "1", IN, AT(10, 0, 0), NULL, NULL, 0, 0 },
		{ "2", IN, AT(10, 1, 0), "A", NULL, 0, 0 },
		{ "3", IN, AT(10, 2, 0), NULL, NULL, 0, 0 },
		{ "4", OUT, AT(10, 3, 0), NULL, "3", 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;

	engine_compute(MSG_BROADCAST, m, NELEM(t), &r);
	ck_assert_uint_eq(r.nwaits, 2);
	check_wait(&r.waits[0], NULL, AT(10, 0, 0), AT(10, 3, 0), ENGINE_NONE,
	    1, 4, 2);
	check_wait(&r.waits[1], "A", AT(10, 1, 0), ENGINE_OPEN, ENGINE_NONE,
	    2, -1, 1);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* An inbound message that replies to another inbound one does not close
 * anything (only outbound messages close). */
START_TEST(broadcast_inbound_reply_closes_nothing)
{
	static const struct tmsg t[] = {
		{ "1", IN, AT(10, 0, 0), "A", NULL, 0, 0 },
		{ "2", IN, AT(10, 1, 0), "B", "1", 0, 0 },
	};
	struct engine_msg *m = load(t, NELEM(t));
	struct engine_result r;

	engine_compute(MSG_BROADCAST, m, NELEM(t), &r);
	ck_assert_uint_eq(r.nwaits, 2);
	ck_assert_int_eq(r.waits[0].closed_ms, ENGINE_OPEN);
	ck_assert_int_eq(r.waits[1].closed_ms, ENGINE_OPEN);
	ck_assert_uint_eq(r.nunresolved, 0);
	engine_result_clear(&r);
	free(m);
}
END_TEST

/* ---- random conversations ---------------------------------------------------- */

static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t
rnd(uint64_t *s, size_t n)
{
	return (size_t)(next_rand(s) % n);
}

#define RMAX	40

struct rconv {
	char		 ids[RMAX][16];
	char		 irts[RMAX][16];
	struct engine_msg m[RMAX];
	size_t		 n;
};

static const char *const rauthors[] = { "alice", "bob", "carol", NULL };

static void
random_conv(uint64_t *seed, enum msg_kind kind, struct rconv *c)
{
	size_t i;

	memset(c, 0, sizeof *c);
	c->n = rnd(seed, RMAX + 1);
	for (i = 0; i < c->n; i++) {
		struct engine_msg *m = &c->m[i];
		size_t k;

		/* unique ids whose order is not the order of creation */
		snprintf(c->ids[i], sizeof c->ids[i], "%c%u",
		    (char)('a' + rnd(seed, 26)), (unsigned)i);
		m->ref = 1000 + (int64_t)i;
		m->id = c->ids[i];
		/* few distinct instants, so that ties are common */
		m->created_ms = T10 + (int64_t)rnd(seed, 12) * MIN +
		    (rnd(seed, 4) == 0 ? 500 : 0);
		m->direction = rnd(seed, 2) ? MSG_OUTBOUND : MSG_INBOUND;
		m->author = m->direction == MSG_OUTBOUND && rnd(seed, 2) ?
		    "brand" : rauthors[rnd(seed, NELEM(rauthors))];
		m->complaint = rnd(seed, 5) == 0;
		m->foreign = m->direction == MSG_OUTBOUND &&
		    rnd(seed, 6) == 0;
		if (kind == MSG_DIRECT && rnd(seed, 2))
			m->foreign = 0;
		k = rnd(seed, 10);
		if (k < 2)
			m->in_reply_to = NULL;
		else if (k < 3) {
			snprintf(c->irts[i], sizeof c->irts[i], "zz%u",
			    (unsigned)rnd(seed, 3));
			m->in_reply_to = c->irts[i];
		} else {
			/* any message of the set, possibly a later one, a
			 * foreign one, an outbound one or itself */
			size_t j = rnd(seed, c->n);

			snprintf(c->irts[i], sizeof c->irts[i], "%c%u",
			    (char)('a' + rnd(seed, 26)), (unsigned)j);
			m->in_reply_to = c->irts[i];
			if (rnd(seed, 3))
				m->in_reply_to = c->ids[j];
		}
	}
	/* in_reply_to may name a message created after it: fine, the ids
	 * are fixed before anything is computed */
}

static void
shuffle(uint64_t *seed, struct engine_msg *m, size_t n)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = rnd(seed, i);
		struct engine_msg t = m[i - 1];

		m[i - 1] = m[j];
		m[j] = t;
	}
}

static int
ref_cmp(const void *pa, const void *pb)
{
	const struct engine_msg *a = pa, *b = pb;

	if (ref_before(a, b))
		return -1;
	if (ref_before(b, a))
		return 1;
	return 0;
}

#define RCASES	3000

/* Random conversations, shuffled: the same result as from sorted input,
 * as from another shuffle, and as the naive reference's. */
START_TEST(random_vs_reference)
{
	enum msg_kind kind = _i == 0 ? MSG_DIRECT : MSG_BROADCAST;
	uint64_t seed = _i == 0 ? UINT64_C(0x9e3779b97f4a7c15) :
	    UINT64_C(0xd1b54a32d192ed03);
	static struct rconv c;
	struct engine_msg sorted[RMAX], shuf[RMAX];
	struct ref_result rr;
	size_t cases, nonempty = 0, closes = 0, joins = 0, unres = 0;

	for (cases = 0; cases < RCASES; cases++) {
		char *want, *a, *b;
		struct engine_result r;
		size_t i;

		random_conv(&seed, kind, &c);
		ref_compute(kind, c.m, c.n, &rr);
		want = ref_canon(kind, c.m, c.n, &rr);
		ref_clear(&rr);

		memcpy(sorted, c.m, sizeof sorted);
		qsort(sorted, c.n, sizeof *sorted, ref_cmp);
		a = run_canon(kind, sorted, c.n);

		memcpy(shuf, c.m, sizeof shuf);
		shuffle(&seed, shuf, c.n);
		engine_compute(kind, shuf, c.n, &r);
		b = canon(kind, shuf, c.n, &r);
		for (i = 0; i < c.n; i++) {
			closes += r.actions[i] == ENGINE_ACT_CLOSE;
			joins += r.actions[i] == ENGINE_ACT_JOIN;
		}
		unres += r.nunresolved;
		nonempty += r.nwaits > 0;
		engine_result_clear(&r);

		ck_assert_msg(strcmp(a, want) == 0,
		    "case %zu (%s): engine\n%s\nreference\n%s", cases,
		    msg_kind_name(kind), a, want);
		ck_assert_msg(strcmp(b, a) == 0,
		    "case %zu (%s): shuffled\n%s\nsorted\n%s", cases,
		    msg_kind_name(kind), b, a);
		free(want);
		free(a);
		free(b);
	}
	/* the generator does exercise the rules */
	ck_assert_uint_gt(nonempty, RCASES / 2);
	ck_assert_uint_gt(closes, RCASES);
	ck_assert_uint_gt(joins, RCASES);
	if (kind == MSG_BROADCAST)
		ck_assert_uint_gt(unres, RCASES / 10);
}
END_TEST

/* The same conversation in many orders, and the reference agrees with
 * hand-checked facts about it: waits never overlap per key, reply times
 * are never negative, every closed wait has its closing message. */
START_TEST(random_invariants)
{
	enum msg_kind kind = _i == 0 ? MSG_DIRECT : MSG_BROADCAST;
	uint64_t seed = UINT64_C(0x2545f4914f6cdd1d) + (uint64_t)_i;
	static struct rconv c;
	size_t cases;

	for (cases = 0; cases < 1000; cases++) {
		struct engine_result r;
		size_t i, j, open = 0;

		random_conv(&seed, kind, &c);
		engine_compute(kind, c.m, c.n, &r);
		for (i = 0; i < r.nwaits; i++) {
			const struct engine_wait *w = &r.waits[i];

			ck_assert_int_ge(w->inbound, 1);
			if (w->closed_ms == ENGINE_OPEN) {
				ck_assert_int_eq(w->close_ref, -1);
				open++;
			} else {
				ck_assert_int_ge(w->closed_ms, w->opened_ms);
				ck_assert_int_ne(w->close_ref, -1);
			}
			if (w->complaint_ms != ENGINE_NONE) {
				ck_assert_int_ge(w->complaint_ms, w->opened_ms);
				if (w->closed_ms != ENGINE_OPEN)
					ck_assert_int_le(w->complaint_ms,
					    w->closed_ms);
			}
			if (i > 0)
				ck_assert_int_ge(w->opened_ms,
				    r.waits[i - 1].opened_ms);
			/* at most one open wait per key, at the end */
			for (j = i + 1; j < r.nwaits; j++)
				if (w->closed_ms == ENGINE_OPEN &&
				    r.waits[j].closed_ms == ENGINE_OPEN)
					ck_assert(kind == MSG_BROADCAST &&
					    !same_author(w->author,
					    r.waits[j].author));
		}
		if (kind == MSG_DIRECT)
			ck_assert_uint_le(open, 1);
		for (i = 0; i < c.n; i++) {
			if (i > 0)
				ck_assert_int_le(engine_msg_cmp(&c.m[i - 1],
				    &c.m[i]), 0);
			switch (r.actions[i]) {
			case ENGINE_ACT_NONE:
				ck_assert_uint_eq(r.wait_of[i], SIZE_MAX);
				break;
			case ENGINE_ACT_OPEN:
				ck_assert_int_eq(c.m[i].direction, MSG_INBOUND);
				ck_assert_int_eq(
				    r.waits[r.wait_of[i]].open_ref, c.m[i].ref);
				break;
			case ENGINE_ACT_JOIN:
				ck_assert_int_eq(c.m[i].direction, MSG_INBOUND);
				ck_assert_uint_lt(r.wait_of[i], r.nwaits);
				break;
			case ENGINE_ACT_CLOSE:
				ck_assert_int_eq(c.m[i].direction,
				    MSG_OUTBOUND);
				ck_assert_int_eq(
				    r.waits[r.wait_of[i]].close_ref,
				    c.m[i].ref);
				break;
			}
		}
		engine_result_clear(&r);
	}
}
END_TEST

static Suite *
engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc;

	tc = tcase_create("example");
	tcase_add_test(tc, example_direct);
	tcase_add_test(tc, example_broadcast);
	tcase_add_test(tc, example_broadcast_w2_stays_open);
	tcase_add_test(tc, example_any_input_order);
	suite_add_tcase(s, tc);

	tc = tcase_create("order");
	tcase_add_test(tc, order_cmp);
	tcase_add_test(tc, msgs_sorted_in_place);
	tcase_add_test(tc, tie_inbound_before_outbound_direct);
	tcase_add_test(tc, tie_inbound_before_outbound_broadcast);
	tcase_add_test(tc, tie_id_order);
	tcase_add_loop_test(tc, permutations, 0, (int)NELEM(perm_sets));
	tcase_add_test(tc, perm_sets_expected);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);

	tc = tcase_create("direct");
	tcase_add_test(tc, direct_several_authors_join);
	tcase_add_test(tc, direct_wait_has_no_author);
	tcase_add_test(tc, direct_outbound_nothing_open);
	tcase_add_test(tc, direct_ignores_in_reply_to);
	tcase_add_test(tc, direct_foreign_ignored);
	tcase_add_test(tc, complaint_first_in_wait);
	tcase_add_test(tc, complaint_opening);
	tcase_add_test(tc, first_outbound_no_first_response);
	tcase_add_test(tc, first_response_first_close);
	tcase_add_test(tc, empty);
	tcase_add_test(tc, only_foreign);
	tcase_add_test(tc, action_names);
	suite_add_tcase(s, tc);

	tc = tcase_create("broadcast");
	tcase_add_test(tc, broadcast_clock_per_author);
	tcase_add_test(tc, broadcast_reply_to_older_message);
	tcase_add_test(tc, broadcast_replies_closing_nothing);
	tcase_add_test(tc, broadcast_foreign_reply_closes);
	tcase_add_test(tc, broadcast_reply_before_parent_in_input);
	tcase_add_test(tc, broadcast_anonymous);
	tcase_add_test(tc, broadcast_inbound_reply_closes_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_add_loop_test(tc, random_vs_reference, 0, 2);
	tcase_add_loop_test(tc, random_invariants, 0, 2);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(engine_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
