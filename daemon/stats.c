/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bizhours.h"
#include "conf.h"
#include "stats.h"
#include "tz.h"
#include "xmalloc.h"

static const char *dim_names[STATS_NDIMS] = {
	[STATS_DIM_KIND] = "kind",
	[STATS_DIM_PLATFORM] = "platform",
	[STATS_DIM_ACCOUNT] = "account",
	[STATS_DIM_DAY] = "day",
	[STATS_DIM_COMPLAINT] = "complaint",
};

/* Values collected for one group before the percentiles are taken. */
struct vec {
	int64_t	*v;
	size_t	 n, cap;
};

struct group {
	struct stats_group pub;
	char		*keybuf;	/* the key strings, NUL-separated */
	struct vec	 reply, business, first;
	int		 target_set, ctarget_set;
};

/* The last groups found, by the identity of their key strings. */
#define RECENT 64
struct recent {
	const char	*platform, *account;
	int		 kind, complaint;
	struct group	*g;
};

struct stats {
	unsigned	 dims;
	struct recent	 recent[RECENT];
	int64_t		 at_ms;
	struct tz	*daytz;
	const struct conf *conf;
	struct group	**groups;
	size_t		 ngroups;
	/* open-addressing index: key string -> group */
	struct group	**slots;
	char		**slot_keys;
	size_t		 nslots;
};

const char *
stats_dim_name(enum stats_dim d)
{
	return dim_names[d];
}

int
stats_dim_parse(const char *s, enum stats_dim *out)
{
	int i;

	for (i = 0; i < STATS_NDIMS; i++) {
		if (strcmp(s, dim_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

int
stats_dims_parse(const char *list, unsigned *dims, char **errstr)
{
	char *copy = xstrdup(list), *p = copy, *tok;
	enum stats_dim d;

	*dims = 0;
	while ((tok = strsep(&p, ",")) != NULL) {
		if (stats_dim_parse(tok, &d) == -1) {
			xasprintf(errstr, "unknown dimension \"%s\" (use kind, "
			    "platform, account, day, complaint)", tok);
			free(copy);
			return -1;
		}
		*dims |= 1u << d;
	}
	free(copy);
	return 0;
}

int64_t
stats_nearest_rank(const int64_t *sorted, size_t n, unsigned p)
{
	size_t rank = (p * n + 99) / 100;

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

static int
cmp_i64(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;

	return (a > b) - (a < b);
}

/*
 * Sort durations: an LSD radix sort on 11-bit digits, as many passes as the
 * largest value needs (three for anything under 271 years in ms). It is
 * several times faster than qsort on the hundreds of thousands of reply
 * times of a big window. Negative values (impossible for durations, but
 * cheap to allow) fall back to qsort.
 */
static void
sort_durations(int64_t *v, size_t n)
{
	uint64_t max = 0;
	int64_t *tmp, *src = v, *dst;
	size_t i, count[2048];
	unsigned shift;

	for (i = 0; i < n; i++) {
		if (v[i] < 0) {
			qsort(v, n, sizeof *v, cmp_i64);
			return;
		}
		if ((uint64_t)v[i] > max)
			max = (uint64_t)v[i];
	}
	if (n < 256) {
		qsort(v, n, sizeof *v, cmp_i64);
		return;
	}
	tmp = xreallocarray(NULL, n, sizeof *tmp);
	dst = tmp;
	for (shift = 0; shift < 64 && (max >> shift) != 0; shift += 11) {
		size_t sum = 0, c;

		memset(count, 0, sizeof count);
		for (i = 0; i < n; i++)
			count[((uint64_t)src[i] >> shift) & 2047]++;
		for (i = 0; i < 2048; i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[((uint64_t)src[i] >> shift) & 2047]++] = src[i];
		src = dst;
		dst = src == tmp ? v : tmp;
	}
	if (src != v)
		memcpy(v, src, n * sizeof *v);
	free(tmp);
}

void
stats_dist_compute(int64_t *vals, size_t n, struct stats_dist *out)
{
	double sum = 0;
	size_t i;

	memset(out, 0, sizeof *out);
	if (n == 0)
		return;
	sort_durations(vals, n);
	for (i = 0; i < n; i++)
		sum += (double)vals[i];
	out->count = n;
	out->p50 = stats_nearest_rank(vals, n, 50);
	out->p90 = stats_nearest_rank(vals, n, 90);
	out->p99 = stats_nearest_rank(vals, n, 99);
	out->max = vals[n - 1];
	out->mean = sum / (double)n;
}

static void
vec_push(struct vec *v, int64_t x)
{
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 16;
		v->v = xreallocarray(v->v, v->cap, sizeof *v->v);
	}
	v->v[v->n++] = x;
}

struct stats *
stats_new(unsigned dims, int64_t at_ms, struct tz *daytz,
    const struct conf *conf)
{
	struct stats *s = xcalloc(1, sizeof *s);

	s->dims = dims;
	s->at_ms = at_ms;
	s->daytz = daytz;
	s->conf = conf;
	s->nslots = 64;
	s->slots = xcalloc(s->nslots, sizeof *s->slots);
	s->slot_keys = xcalloc(s->nslots, sizeof *s->slot_keys);
	return s;
}

void
stats_free(struct stats *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ngroups; i++) {
		struct group *g = s->groups[i];

		free(g->keybuf);
		free(g->reply.v);
		free(g->business.v);
		free(g->first.v);
		free(g);
	}
	for (i = 0; i < s->nslots; i++)
		free(s->slot_keys[i]);
	free(s->slots);
	free(s->slot_keys);
	free(s->groups);
	free(s);
}

static uint64_t
hash_str(const char *p)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static void
index_grow(struct stats *s)
{
	size_t i, old = s->nslots;
	struct group **slots = s->slots;
	char **keys = s->slot_keys;

	s->nslots *= 2;
	s->slots = xcalloc(s->nslots, sizeof *s->slots);
	s->slot_keys = xcalloc(s->nslots, sizeof *s->slot_keys);
	for (i = 0; i < old; i++) {
		size_t j;

		if (keys[i] == NULL)
			continue;
		j = hash_str(keys[i]) & (s->nslots - 1);
		while (s->slot_keys[j] != NULL)
			j = (j + 1) & (s->nslots - 1);
		s->slot_keys[j] = keys[i];
		s->slots[j] = slots[i];
	}
	free(slots);
	free(keys);
}

/* The group of these key values, created on first use. */
static struct group *
group_get(struct stats *s, const char *vals[STATS_NDIMS])
{
	char key[2048];
	size_t len = 0, j, i;
	struct group *g;
	char *p;

	for (i = 0; i < STATS_NDIMS; i++) {
		const char *v = vals[i] ? vals[i] : "";
		size_t vl = strlen(v);

		if (len + vl + 2 > sizeof key)
			vl = sizeof key - len - 2;
		memcpy(key + len, v, vl);
		len += vl;
		key[len++] = '\x1f';
	}
	key[len] = '\0';

	j = hash_str(key) & (s->nslots - 1);
	while (s->slot_keys[j] != NULL) {
		if (strcmp(s->slot_keys[j], key) == 0)
			return s->slots[j];
		j = (j + 1) & (s->nslots - 1);
	}

	g = xcalloc(1, sizeof *g);
	g->keybuf = xmalloc(len + 1);
	memcpy(g->keybuf, key, len + 1);
	p = g->keybuf;
	for (i = 0; i < STATS_NDIMS; i++) {
		char *end = strchr(p, '\x1f');

		*end = '\0';
		g->pub.key[i] = vals[i] ? p : NULL;
		p = end + 1;
	}
	g->pub.oldest_unanswered_ms = -1;
	g->pub.sla.target_ms = -1;
	g->pub.sla.complaint_target_ms = -1;

	s->slot_keys[j] = xstrdup(key);
	s->slots[j] = g;
	s->groups = xreallocarray(s->groups, s->ngroups + 1, sizeof *s->groups);
	s->groups[s->ngroups++] = g;
	if (s->ngroups * 2 > s->nslots)
		index_grow(s);
	return g;
}

static struct group *
group_for(struct stats *s, const char *platform, const char *account,
    enum msg_kind kind, int64_t when_ms, int complaint)
{
	const char *vals[STATS_NDIMS] = { NULL };
	struct recent *r = NULL;
	struct group *g;
	char day[16];

	/* Without days, a group is known by the same strings again: the
	 * store hands every wait of an account the same pointers. */
	if (!(s->dims & (1u << STATS_DIM_DAY))) {
		r = &s->recent[((uintptr_t)account >> 4 ^ (uintptr_t)kind << 1 ^
		    (uintptr_t)complaint) % RECENT];
		if (r->g != NULL && r->platform == platform &&
		    r->account == account && r->kind == (int)kind &&
		    r->complaint == complaint)
			return r->g;
	}

	if (s->dims & (1u << STATS_DIM_KIND))
		vals[STATS_DIM_KIND] = msg_kind_name(kind);
	if (s->dims & (1u << STATS_DIM_PLATFORM))
		vals[STATS_DIM_PLATFORM] = platform;
	if (s->dims & (1u << STATS_DIM_ACCOUNT))
		vals[STATS_DIM_ACCOUNT] = account;
	if (s->dims & (1u << STATS_DIM_DAY)) {
		tz_date(s->daytz, when_ms, day);
		vals[STATS_DIM_DAY] = day;
	}
	if (s->dims & (1u << STATS_DIM_COMPLAINT))
		vals[STATS_DIM_COMPLAINT] = complaint ? "yes" : "no";
	g = group_get(s, vals);
	if (r != NULL) {
		r->platform = platform;
		r->account = account;
		r->kind = kind;
		r->complaint = complaint;
		r->g = g;
	}
	return g;
}

/* Record the group's target; -1 once two different ones are seen. */
static void
note_target(int64_t *slot, int *set, int64_t target)
{
	if (!*set) {
		*slot = target;
		*set = 1;
	} else if (*slot != target)
		*slot = -1;
}

enum stats_sla_outcome
stats_sla(const struct conf_policy *pol, enum msg_kind kind, int complaint,
    int64_t opened_ms, int64_t closed_ms, int64_t at_ms, int64_t *target_ms,
    int64_t *deadline_ms)
{
	int64_t target, deadline;

	if (complaint)
		target = pol->sla_complaint_ms;
	else
		target = kind == MSG_DIRECT ? pol->sla_direct_ms :
		    pol->sla_broadcast_ms;
	/* In business time the deadline is the last instant at which no
	 * more than the target has passed: a budget used up at Friday's
	 * closing time falls due when business resumes on Monday, so a
	 * reply on Saturday still meets it. */
	if (pol->sla_business_time && pol->biz != NULL) {
		deadline = bizhours_add(pol->biz, opened_ms, target + 1);
		if (deadline != INT64_MAX)
			deadline--;
	} else
		deadline = opened_ms + target;
	if (target_ms != NULL)
		*target_ms = target;
	if (deadline_ms != NULL)
		*deadline_ms = deadline;

	if (closed_ms >= 0 && closed_ms <= at_ms)
		return closed_ms <= deadline ? STATS_SLA_MET : STATS_SLA_BREACHED;
	return at_ms > deadline ? STATS_SLA_BREACHED : STATS_SLA_PENDING;
}

const char *
stats_sla_name(enum stats_sla_outcome o)
{
	switch (o) {
	case STATS_SLA_MET:
		return "met";
	case STATS_SLA_BREACHED:
		return "breached";
	default:
		return "pending";
	}
}

static void
add_sla(struct stats *s, struct group *g, const struct stats_wait *w,
    const struct conf_policy *pol, int complaint)
{
	note_target(&g->pub.sla.target_ms, &g->target_set,
	    w->kind == MSG_DIRECT ? pol->sla_direct_ms : pol->sla_broadcast_ms);
	note_target(&g->pub.sla.complaint_target_ms, &g->ctarget_set,
	    pol->sla_complaint_ms);
	switch (stats_sla(pol, w->kind, complaint, w->opened_ms, w->closed_ms,
	    s->at_ms, NULL, NULL)) {
	case STATS_SLA_MET:
		g->pub.sla.met++;
		break;
	case STATS_SLA_BREACHED:
		g->pub.sla.breached++;
		break;
	case STATS_SLA_PENDING:
		g->pub.sla.pending++;
		break;
	}
}

void
stats_add_wait(struct stats *s, const struct stats_wait *w)
{
	const struct conf_policy *pol = conf_policy_for(s->conf, w->account);
	int complaint = w->complaint_ms >= 0 && w->complaint_ms <= s->at_ms;
	int closed = w->closed_ms >= 0 && w->closed_ms <= s->at_ms;
	struct group *g;

	g = group_for(s, w->platform, w->account, w->kind, w->opened_ms,
	    complaint);
	g->pub.waits++;
	if (pol->biz != NULL)
		g->pub.has_business = 1;
	if (closed) {
		g->pub.answered++;
		vec_push(&g->reply, w->closed_ms - w->opened_ms);
		if (pol->biz != NULL)
			vec_push(&g->business, bizhours_between(pol->biz,
			    w->opened_ms, w->closed_ms));
	} else {
		int64_t age = s->at_ms - w->opened_ms;

		g->pub.unanswered++;
		if (age > g->pub.oldest_unanswered_ms)
			g->pub.oldest_unanswered_ms = age;
	}
	add_sla(s, g, w, pol, complaint);
}

void
stats_add_conversation(struct stats *s, const struct stats_conversation *c)
{
	int complaint = c->first_complaint_ms >= 0 &&
	    c->first_complaint_ms <= s->at_ms;
	struct group *g;

	if (c->first_response_ms < 0 || c->first_response_ms > s->at_ms)
		return;
	g = group_for(s, c->platform, c->account, c->kind, c->first_ms,
	    complaint);
	vec_push(&g->first, c->first_response_ms - c->first_ms);
}

static int
cmp_group(const void *pa, const void *pb)
{
	const struct group *a = *(struct group *const *)pa;
	const struct group *b = *(struct group *const *)pb;
	int i, c;

	for (i = 0; i < STATS_NDIMS; i++) {
		if (a->pub.key[i] == NULL || b->pub.key[i] == NULL)
			continue;
		if ((c = strcmp(a->pub.key[i], b->pub.key[i])) != 0)
			return c;
	}
	return 0;
}

void
stats_finish(struct stats *s)
{
	size_t i;

	for (i = 0; i < s->ngroups; i++) {
		struct group *g = s->groups[i];

		stats_dist_compute(g->reply.v, g->reply.n, &g->pub.reply);
		stats_dist_compute(g->business.v, g->business.n,
		    &g->pub.reply_business);
		stats_dist_compute(g->first.v, g->first.n,
		    &g->pub.first_response);
	}
	if (s->ngroups > 1)
		qsort(s->groups, s->ngroups, sizeof *s->groups, cmp_group);
}

size_t
stats_ngroups(const struct stats *s)
{
	return s->ngroups;
}

const struct stats_group *
stats_group(const struct stats *s, size_t i)
{
	return &s->groups[i]->pub;
}
