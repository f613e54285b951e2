/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bizhours.h"
#include "conf.h"
#include "stats.h"
#include "tz.h"
#include "xmalloc.h"

/*
 * Figures over waits against doc/reply-time.md §3: nearest-rank
 * percentiles, grouping, the evaluation time, SLA outcomes, business time.
 */

#define SEC	INT64_C(1000)
#define MIN	(60 * SEC)
#define HOUR	(60 * MIN)
#define DAY	(24 * HOUR)

/* 2026-11-25T10:00:00Z */
#define T10	INT64_C(1795600800000)

/* Europe/Berlin, around the spring change of Sunday 2026-03-29 */
#define FRI_1600_CET	INT64_C(1774623600000)	/* 2026-03-27T15:00Z */
#define FRI_1630_CET	INT64_C(1774625400000)	/* 2026-03-27T15:30Z */
#define FRI_1700_CET	INT64_C(1774627200000)	/* 2026-03-27T16:00Z */
#define SAT_1200_CET	INT64_C(1774695600000)	/* 2026-03-28T11:00Z */
#define SUN_0000_CET	INT64_C(1774738800000)	/* 2026-03-28T23:00Z */
#define MON_0000_CEST	INT64_C(1774821600000)	/* 2026-03-29T22:00Z */
#define MON_0915_CEST	INT64_C(1774854900000)	/* 2026-03-30T07:15Z */
#define MON_0930_CEST	INT64_C(1774855800000)	/* 2026-03-30T07:30Z */
#define MON_1000_CEST	INT64_C(1774857600000)	/* 2026-03-30T08:00Z */
/* and the autumn change of Sunday 2026-10-25 */
#define SUN_0000_CEST	INT64_C(1792879200000)	/* 2026-10-24T22:00Z */
#define MON_0000_CET	INT64_C(1792969200000)	/* 2026-10-25T23:00Z */

/* 2026-03-01T03:00Z: 2026-02-28 22:00 in New York */
#define MAR01_0300Z	INT64_C(1772334000000)
/* 2026-03-01T06:00Z: 2026-03-01 01:00 in New York */
#define MAR01_0600Z	INT64_C(1772344800000)

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define BIT(d)	(1u << (d))

/* ---- helpers --------------------------------------------------------------- */

static struct stats_wait
W(const char *platform, const char *account, enum msg_kind kind,
    int64_t opened, int64_t closed, int64_t complaint)
{
	struct stats_wait w;

	memset(&w, 0, sizeof w);
	w.platform = platform;
	w.account = account;
	w.kind = kind;
	w.opened_ms = opened;
	w.closed_ms = closed;
	w.complaint_ms = complaint;
	return w;
}

static void
add(struct stats *s, const char *platform, const char *account,
    enum msg_kind kind, int64_t opened, int64_t closed, int64_t complaint)
{
	struct stats_wait w = W(platform, account, kind, opened, closed,
	    complaint);

	stats_add_wait(s, &w);
}

static int
key_is(const char *key, const char *want)
{
	if (want == NULL)
		return key == NULL;
	return key != NULL && strcmp(key, want) == 0;
}

/* The group with exactly these keys (NULL: not grouped by), or fail. */
static const struct stats_group *
find(const struct stats *s, const char *kind, const char *platform,
    const char *account, const char *day, const char *complaint)
{
	size_t i;

	for (i = 0; i < stats_ngroups(s); i++) {
		const struct stats_group *g = stats_group(s, i);

		if (key_is(g->key[STATS_DIM_KIND], kind) &&
		    key_is(g->key[STATS_DIM_PLATFORM], platform) &&
		    key_is(g->key[STATS_DIM_ACCOUNT], account) &&
		    key_is(g->key[STATS_DIM_DAY], day) &&
		    key_is(g->key[STATS_DIM_COMPLAINT], complaint))
			return g;
	}
	ck_abort_msg("no group kind=%s platform=%s account=%s day=%s "
	    "complaint=%s", kind ? kind : "-", platform ? platform : "-",
	    account ? account : "-", day ? day : "-",
	    complaint ? complaint : "-");
	return NULL;
}

static void
check_dist(const struct stats_dist *d, size_t count, int64_t p50,
    int64_t p90, int64_t p99, int64_t max, double mean)
{
	ck_assert_uint_eq(d->count, count);
	if (count == 0)
		return;
	ck_assert_int_eq(d->p50, p50);
	ck_assert_int_eq(d->p90, p90);
	ck_assert_int_eq(d->p99, p99);
	ck_assert_int_eq(d->max, max);
	ck_assert_double_eq_tol(d->mean, mean, 1e-6);
}

/* A configuration whose [daemon] policy has Berlin office hours. */
static struct conf *
conf_berlin(const char *hours, int business_sla)
{
	struct conf *conf = conf_default(":memory:");
	char *err = NULL;

	conf->defaults.biz = bizhours_new("Europe/Berlin", hours, NULL, &err);
	ck_assert_msg(conf->defaults.biz != NULL, "bizhours_new: %s",
	    err ? err : "?");
	conf->defaults.sla_business_time = business_sla;
	return conf;
}

/* ---- nearest rank ------------------------------------------------------------ */

START_TEST(rank_n1)
{
	static const int64_t v[] = { 42 };
	unsigned p;

	for (p = 1; p <= 100; p++)
		ck_assert_int_eq(stats_nearest_rank(v, 1, p), 42);
}
END_TEST

START_TEST(rank_n2)
{
	static const int64_t v[] = { 10, 20 };

	/* rank ceil(p/100 * 2): 1 up to p = 50, 2 above */
	ck_assert_int_eq(stats_nearest_rank(v, 2, 1), 10);
	ck_assert_int_eq(stats_nearest_rank(v, 2, 50), 10);
	ck_assert_int_eq(stats_nearest_rank(v, 2, 51), 20);
	ck_assert_int_eq(stats_nearest_rank(v, 2, 90), 20);
	ck_assert_int_eq(stats_nearest_rank(v, 2, 99), 20);
	ck_assert_int_eq(stats_nearest_rank(v, 2, 100), 20);
}
END_TEST

START_TEST(rank_n10)
{
	static const int64_t v[] = { 100, 200, 300, 400, 500, 600, 700, 800,
	    900, 1000 };

	ck_assert_int_eq(stats_nearest_rank(v, 10, 1), 100);
	ck_assert_int_eq(stats_nearest_rank(v, 10, 10), 100);
	ck_assert_int_eq(stats_nearest_rank(v, 10, 11), 200);
	ck_assert_int_eq(stats_nearest_rank(v, 10, 50), 500);
	ck_assert_int_eq(stats_nearest_rank(v, 10, 51), 600);
	ck_assert_int_eq(stats_nearest_rank(v, 10, 90), 900);
	ck_assert_int_eq(stats_nearest_rank(v, 10, 91), 1000);
	ck_assert_int_eq(stats_nearest_rank(v, 10, 99), 1000);
	ck_assert_int_eq(stats_nearest_rank(v, 10, 100), 1000);
}
END_TEST

/* Every n up to 300 and every whole p: the value at the smallest rank k
 * with k >= p/100 * n, i.e. k * 100 >= p * n. */
START_TEST(rank_all)
{
	static int64_t v[300];
	size_t n, k, i;
	unsigned p;

	for (i = 0; i < NELEM(v); i++)
		v[i] = (int64_t)i * 7 + 3;
	for (n = 1; n <= NELEM(v); n++) {
		for (p = 1; p <= 100; p++) {
			for (k = 1; k * 100 < p * n; k++)
				;
			ck_assert_msg(stats_nearest_rank(v, n, p) == v[k - 1],
			    "n=%zu p=%u: got %lld, want rank %zu", n, p,
			    (long long)stats_nearest_rank(v, n, p), k);
		}
	}
}
END_TEST

START_TEST(dist_basic)
{
	int64_t v[] = { 400, 100, 1000, 300, 200 };
	struct stats_dist d;
	size_t i;

	stats_dist_compute(v, NELEM(v), &d);
	/* sorted in place */
	for (i = 1; i < NELEM(v); i++)
		ck_assert_int_le(v[i - 1], v[i]);
	/* p50: rank 3; p90: rank 5 (4.5); p99: rank 5 */
	check_dist(&d, 5, 300, 1000, 1000, 1000, 400.0);
}
END_TEST

/* The reply times of the reference example: 720, 540, 660 s. */
START_TEST(dist_example)
{
	int64_t v[] = { 720 * SEC, 540 * SEC, 660 * SEC };
	struct stats_dist d;

	stats_dist_compute(v, NELEM(v), &d);
	check_dist(&d, 3, 660 * SEC, 720 * SEC, 720 * SEC, 720 * SEC,
	    640.0 * SEC);
}
END_TEST

START_TEST(dist_one_and_none)
{
	int64_t v[] = { 1234 };
	struct stats_dist d;

	stats_dist_compute(v, 1, &d);
	check_dist(&d, 1, 1234, 1234, 1234, 1234, 1234.0);
	memset(&d, 0x55, sizeof d);
	stats_dist_compute(v, 0, &d);
	ck_assert_uint_eq(d.count, 0);
}
END_TEST

/* 100 values 1..100 s in reverse: p50 50 s, p90 90 s, p99 99 s, mean 50.5. */
START_TEST(dist_hundred)
{
	int64_t v[100];
	struct stats_dist d;
	size_t i;

	for (i = 0; i < 100; i++)
		v[i] = (int64_t)(100 - i) * SEC;
	stats_dist_compute(v, 100, &d);
	check_dist(&d, 100, 50 * SEC, 90 * SEC, 99 * SEC, 100 * SEC,
	    50.5 * SEC);
}
END_TEST

/* Mean of large values does not lose precision to integer division. */
START_TEST(dist_mean_fraction)
{
	int64_t v[] = { 1, 2 };
	struct stats_dist d;

	stats_dist_compute(v, 2, &d);
	check_dist(&d, 2, 1, 2, 2, 2, 1.5);
}
END_TEST

/* ---- grouping ------------------------------------------------------------------ */

static void
add_mix(struct stats *s)
{
	/* kind, platform, account; all closed after 10 min unless said */
	add(s, "x", "acme", MSG_DIRECT, T10, T10 + 10 * MIN, -1);
	add(s, "x", "acme", MSG_BROADCAST, T10, T10 + 20 * MIN, -1);
	add(s, "mastodon", "acme", MSG_BROADCAST, T10, T10 + 30 * MIN,
	    T10 + MIN);
	add(s, "x", "zeta", MSG_DIRECT, T10, -1, -1);
	add(s, "mastodon", "zeta", MSG_DIRECT, T10, T10 + 40 * MIN, T10);
}

START_TEST(group_none)
{
	struct conf *conf = conf_default(":memory:");
	struct stats *s = stats_new(0, T10 + DAY, NULL, conf);
	const struct stats_group *g;
	int i;

	add_mix(s);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 1);
	g = stats_group(s, 0);
	for (i = 0; i < STATS_NDIMS; i++)
		ck_assert_ptr_null(g->key[i]);
	ck_assert_uint_eq(g->waits, 5);
	ck_assert_uint_eq(g->answered, 4);
	ck_assert_uint_eq(g->unanswered, 1);
	ck_assert_int_eq(g->oldest_unanswered_ms, DAY);
	check_dist(&g->reply, 4, 20 * MIN, 40 * MIN, 40 * MIN, 40 * MIN,
	    25.0 * MIN);
	ck_assert_int_eq(g->has_business, 0);
	ck_assert_uint_eq(g->reply_business.count, 0);
	ck_assert_uint_eq(g->first_response.count, 0);
	/* direct and broadcast mixed: no single regular target */
	ck_assert_int_eq(g->sla.target_ms, -1);
	ck_assert_int_eq(g->sla.complaint_target_ms, 30 * MIN);
	stats_free(s);
	conf_free(conf);
}
END_TEST

START_TEST(group_kind)
{
	struct conf *conf = conf_default(":memory:");
	struct stats *s = stats_new(BIT(STATS_DIM_KIND), T10 + DAY, NULL, conf);
	const struct stats_group *g;

	add_mix(s);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 2);
	/* sorted by key */
	ck_assert_str_eq(stats_group(s, 0)->key[STATS_DIM_KIND], "broadcast");
	ck_assert_str_eq(stats_group(s, 1)->key[STATS_DIM_KIND], "direct");

	g = find(s, "direct", NULL, NULL, NULL, NULL);
	ck_assert_ptr_null(g->key[STATS_DIM_ACCOUNT]);
	ck_assert_uint_eq(g->waits, 3);
	ck_assert_uint_eq(g->answered, 2);
	ck_assert_uint_eq(g->unanswered, 1);
	ck_assert_int_eq(g->oldest_unanswered_ms, DAY);
	check_dist(&g->reply, 2, 10 * MIN, 40 * MIN, 40 * MIN, 40 * MIN,
	    25.0 * MIN);
	ck_assert_int_eq(g->sla.target_ms, HOUR);
	ck_assert_int_eq(g->sla.complaint_target_ms, 30 * MIN);

	g = find(s, "broadcast", NULL, NULL, NULL, NULL);
	ck_assert_uint_eq(g->waits, 2);
	ck_assert_uint_eq(g->answered, 2);
	ck_assert_uint_eq(g->unanswered, 0);
	ck_assert_int_eq(g->oldest_unanswered_ms, -1);
	check_dist(&g->reply, 2, 20 * MIN, 30 * MIN, 30 * MIN, 30 * MIN,
	    25.0 * MIN);
	ck_assert_int_eq(g->sla.target_ms, 4 * HOUR);
	stats_free(s);
	conf_free(conf);
}
END_TEST

START_TEST(group_platform_account)
{
	struct conf *conf = conf_default(":memory:");
	struct stats *s = stats_new(BIT(STATS_DIM_PLATFORM) |
	    BIT(STATS_DIM_ACCOUNT), T10 + DAY, NULL, conf);
	const struct stats_group *g;
	size_t i;
	static const char *const order[][2] = {
		{ "mastodon", "acme" }, { "mastodon", "zeta" },
		{ "x", "acme" }, { "x", "zeta" },
	};

	add_mix(s);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 4);
	for (i = 0; i < NELEM(order); i++) {
		g = stats_group(s, i);
		ck_assert_ptr_null(g->key[STATS_DIM_KIND]);
		ck_assert_str_eq(g->key[STATS_DIM_PLATFORM], order[i][0]);
		ck_assert_str_eq(g->key[STATS_DIM_ACCOUNT], order[i][1]);
	}
	g = find(s, NULL, "x", "acme", NULL, NULL);
	ck_assert_uint_eq(g->waits, 2);
	ck_assert_uint_eq(g->answered, 2);
	g = find(s, NULL, "x", "zeta", NULL, NULL);
	ck_assert_uint_eq(g->waits, 1);
	ck_assert_uint_eq(g->unanswered, 1);
	ck_assert_uint_eq(g->reply.count, 0);
	g = find(s, NULL, "mastodon", "zeta", NULL, NULL);
	check_dist(&g->reply, 1, 40 * MIN, 40 * MIN, 40 * MIN, 40 * MIN,
	    40.0 * MIN);
	stats_free(s);
	conf_free(conf);
}
END_TEST

START_TEST(group_complaint)
{
	struct conf *conf = conf_default(":memory:");
	struct stats *s = stats_new(BIT(STATS_DIM_COMPLAINT), T10 + DAY, NULL,
	    conf);
	const struct stats_group *g;

	add_mix(s);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 2);
	ck_assert_str_eq(stats_group(s, 0)->key[STATS_DIM_COMPLAINT], "no");
	ck_assert_str_eq(stats_group(s, 1)->key[STATS_DIM_COMPLAINT], "yes");
	g = find(s, NULL, NULL, NULL, NULL, "yes");
	ck_assert_uint_eq(g->waits, 2);
	/* both complaint waits took 30 and 40 min: over the 30 min target
	 * only the second one */
	ck_assert_uint_eq(g->sla.met, 1);
	ck_assert_uint_eq(g->sla.breached, 1);
	g = find(s, NULL, NULL, NULL, NULL, "no");
	ck_assert_uint_eq(g->waits, 3);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* The day of a wait is the day of its opening in the given zone. */
START_TEST(group_day_new_york)
{
	struct conf *conf = conf_default(":memory:");
	char *err = NULL;
	struct tz *ny = tz_new("America/New_York", &err);
	struct stats *s;
	const struct stats_group *g;

	ck_assert_msg(ny != NULL, "tz_new: %s", err ? err : "?");
	s = stats_new(BIT(STATS_DIM_DAY), MAR01_0600Z + DAY, ny, conf);
	add(s, "x", "acme", MSG_DIRECT, MAR01_0300Z, MAR01_0300Z + MIN, -1);
	add(s, "x", "acme", MSG_DIRECT, MAR01_0600Z, MAR01_0600Z + 3 * MIN, -1);
	add(s, "x", "acme", MSG_DIRECT, MAR01_0600Z + HOUR, -1, -1);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 2);
	ck_assert_str_eq(stats_group(s, 0)->key[STATS_DIM_DAY], "2026-02-28");
	ck_assert_str_eq(stats_group(s, 1)->key[STATS_DIM_DAY], "2026-03-01");
	g = find(s, NULL, NULL, NULL, "2026-02-28", NULL);
	ck_assert_uint_eq(g->waits, 1);
	check_dist(&g->reply, 1, MIN, MIN, MIN, MIN, 1.0 * MIN);
	g = find(s, NULL, NULL, NULL, "2026-03-01", NULL);
	ck_assert_uint_eq(g->waits, 2);
	ck_assert_uint_eq(g->unanswered, 1);
	ck_assert_int_eq(g->oldest_unanswered_ms, DAY - HOUR);
	stats_free(s);
	tz_free(ny);

	/* the same waits by UTC day: one group */
	ny = tz_new("UTC", &err);
	ck_assert_ptr_nonnull(ny);
	s = stats_new(BIT(STATS_DIM_DAY), MAR01_0600Z + DAY, ny, conf);
	add(s, "x", "acme", MSG_DIRECT, MAR01_0300Z, MAR01_0300Z + MIN, -1);
	add(s, "x", "acme", MSG_DIRECT, MAR01_0600Z, MAR01_0600Z + 3 * MIN, -1);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 1);
	ck_assert_str_eq(stats_group(s, 0)->key[STATS_DIM_DAY], "2026-03-01");
	stats_free(s);
	tz_free(ny);
	conf_free(conf);
}
END_TEST

/* All five dimensions at once, and the groups sorted by them in order. */
START_TEST(group_all_dims)
{
	struct conf *conf = conf_default(":memory:");
	struct tz *utc = tz_new("UTC", NULL);
	struct stats *s = stats_new(BIT(STATS_DIM_KIND) |
	    BIT(STATS_DIM_PLATFORM) | BIT(STATS_DIM_ACCOUNT) |
	    BIT(STATS_DIM_DAY) | BIT(STATS_DIM_COMPLAINT), T10 + 2 * DAY, utc,
	    conf);
	const struct stats_group *g, *prev = NULL;
	size_t i;
	int d;

	add_mix(s);
	add(s, "x", "acme", MSG_DIRECT, T10 + DAY, T10 + DAY + MIN, -1);
	add(s, "x", "acme", MSG_DIRECT, T10 + 5 * MIN, T10 + 6 * MIN, -1);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 6);
	for (i = 0; i < stats_ngroups(s); i++) {
		g = stats_group(s, i);
		for (d = 0; d < STATS_NDIMS; d++)
			ck_assert_ptr_nonnull(g->key[d]);
		if (prev != NULL) {
			int c = 0;

			for (d = 0; d < STATS_NDIMS && c == 0; d++)
				c = strcmp(prev->key[d], g->key[d]);
			ck_assert_int_lt(c, 0);
		}
		prev = g;
	}
	g = find(s, "direct", "x", "acme", "2026-11-25", "no");
	ck_assert_uint_eq(g->waits, 2);
	check_dist(&g->reply, 2, MIN, 10 * MIN, 10 * MIN, 10 * MIN, 5.5 * MIN);
	g = find(s, "direct", "x", "acme", "2026-11-26", "no");
	ck_assert_uint_eq(g->waits, 1);
	g = find(s, "broadcast", "mastodon", "acme", "2026-11-25", "yes");
	ck_assert_uint_eq(g->waits, 1);
	stats_free(s);
	tz_free(utc);
	conf_free(conf);
}
END_TEST

/* Many groups (the index grows) keep their own figures. */
START_TEST(group_many)
{
	struct conf *conf = conf_default(":memory:");
	struct stats *s = stats_new(BIT(STATS_DIM_ACCOUNT), T10 + DAY, NULL,
	    conf);
	char names[500][8];
	size_t i;

	for (i = 0; i < 500; i++) {
		snprintf(names[i], sizeof names[i], "a%03u", (unsigned)i);
		add(s, "x", names[i], MSG_DIRECT, T10, T10 + (int64_t)i * SEC,
		    -1);
		add(s, "x", names[i], MSG_DIRECT, T10, -1, -1);
	}
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 500);
	for (i = 0; i < 500; i++) {
		const struct stats_group *g = stats_group(s, i);

		ck_assert_str_eq(g->key[STATS_DIM_ACCOUNT], names[i]);
		ck_assert_uint_eq(g->waits, 2);
		ck_assert_uint_eq(g->answered, 1);
		ck_assert_int_eq(g->reply.max, (int64_t)i * SEC);
	}
	stats_free(s);
	conf_free(conf);
}
END_TEST

START_TEST(empty_stats)
{
	struct conf *conf = conf_default(":memory:");
	struct stats *s = stats_new(BIT(STATS_DIM_KIND), T10, NULL, conf);

	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 0);
	stats_free(s);
	stats_free(NULL);
	conf_free(conf);
}
END_TEST

/* ---- the evaluation time ------------------------------------------------------- */

/*
 * at = 12:00. Direct target 1h, complaint 30m.
 *   w1 10:00-10:30                      answered, met
 *   w2 10:10, closed 12:00:00.001       unanswered at 12:00, aged 110 min,
 *                                       past its 11:10 deadline: breached
 *   w3 11:30, open                      unanswered, aged 30 min, pending
 *   w4 11:00, closed 12:00 exactly      answered (1h), met (deadline 12:00)
 *   w5 11:20-12:30, complaint at 12:00:00.001
 *                                       open at 12:00, not a complaint yet:
 *                                       pending (a complaint's deadline
 *                                       would have been 11:50)
 *   w6 10:00-10:45, complaint at 10:05  complaint: 45 min > 30 min, breached
 */
static void
add_eval(struct stats *s)
{
	int64_t at = T10 + 2 * HOUR;

	add(s, "x", "acme", MSG_DIRECT, T10, T10 + 30 * MIN, -1);
	add(s, "x", "acme", MSG_DIRECT, T10 + 10 * MIN, at + 1, -1);
	add(s, "x", "acme", MSG_DIRECT, T10 + 90 * MIN, -1, -1);
	add(s, "x", "acme", MSG_DIRECT, T10 + 60 * MIN, at, -1);
	add(s, "x", "acme", MSG_DIRECT, T10 + 80 * MIN, T10 + 150 * MIN, at + 1);
	add(s, "x", "acme", MSG_DIRECT, T10, T10 + 45 * MIN, T10 + 5 * MIN);
}

START_TEST(eval_time)
{
	struct conf *conf = conf_default(":memory:");
	struct stats *s = stats_new(0, T10 + 2 * HOUR, NULL, conf);
	const struct stats_group *g;

	add_eval(s);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 1);
	g = stats_group(s, 0);
	ck_assert_uint_eq(g->waits, 6);
	ck_assert_uint_eq(g->answered, 3);
	ck_assert_uint_eq(g->unanswered, 3);
	ck_assert_int_eq(g->oldest_unanswered_ms, 110 * MIN);
	/* 30, 45, 60 min */
	check_dist(&g->reply, 3, 45 * MIN, 60 * MIN, 60 * MIN, 60 * MIN,
	    45.0 * MIN);
	ck_assert_uint_eq(g->sla.met, 2);
	ck_assert_uint_eq(g->sla.breached, 2);
	ck_assert_uint_eq(g->sla.pending, 2);
	ck_assert_int_eq(g->sla.target_ms, HOUR);
	ck_assert_int_eq(g->sla.complaint_target_ms, 30 * MIN);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* A complaint flagged after the evaluation time does not make a complaint
 * wait yet. */
START_TEST(eval_time_complaint)
{
	struct conf *conf = conf_default(":memory:");
	struct stats *s = stats_new(BIT(STATS_DIM_COMPLAINT), T10 + 2 * HOUR,
	    NULL, conf);
	const struct stats_group *g;

	add_eval(s);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 2);
	g = find(s, NULL, NULL, NULL, NULL, "yes");
	ck_assert_uint_eq(g->waits, 1);
	ck_assert_uint_eq(g->sla.breached, 1);
	g = find(s, NULL, NULL, NULL, NULL, "no");
	ck_assert_uint_eq(g->waits, 5);
	ck_assert_uint_eq(g->sla.met, 2);
	ck_assert_uint_eq(g->sla.breached, 1);
	ck_assert_uint_eq(g->sla.pending, 2);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* The same waits a day later: everything closed, the complaint counts. */
START_TEST(eval_time_later)
{
	struct conf *conf = conf_default(":memory:");
	struct stats *s = stats_new(BIT(STATS_DIM_COMPLAINT), T10 + DAY, NULL,
	    conf);
	const struct stats_group *g;

	add_eval(s);
	stats_finish(s);
	g = find(s, NULL, NULL, NULL, NULL, "yes");
	/* w5 (70 min) and w6 (45 min): both breach the 30 min target */
	ck_assert_uint_eq(g->waits, 2);
	ck_assert_uint_eq(g->sla.breached, 2);
	g = find(s, NULL, NULL, NULL, NULL, "no");
	ck_assert_uint_eq(g->waits, 4);
	ck_assert_uint_eq(g->answered, 3);
	ck_assert_uint_eq(g->unanswered, 1);
	ck_assert_int_eq(g->oldest_unanswered_ms, DAY - 90 * MIN);
	/* w1 met, w2 closed 110 min after opening: breached, w3 open past
	 * its deadline: breached, w4 met */
	ck_assert_uint_eq(g->sla.met, 2);
	ck_assert_uint_eq(g->sla.breached, 2);
	ck_assert_uint_eq(g->sla.pending, 0);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* ---- SLA ------------------------------------------------------------------------ */

START_TEST(sla_default_targets)
{
	struct conf *conf = conf_default(":memory:");
	const struct conf_policy *pol = conf_policy_for(conf, "anyone");

	ck_assert_int_eq(pol->sla_direct_ms, HOUR);
	ck_assert_int_eq(pol->sla_broadcast_ms, 4 * HOUR);
	ck_assert_int_eq(pol->sla_complaint_ms, 30 * MIN);
	ck_assert_int_eq(pol->sla_business_time, 0);
	ck_assert_ptr_null(pol->biz);
	conf_free(conf);
}
END_TEST

START_TEST(sla_direct)
{
	struct conf *conf = conf_default(":memory:");
	const struct conf_policy *pol = &conf->defaults;
	int64_t o = T10, target = 0, deadline = 0;

	/* closed within the target, up to the deadline itself: met */
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, o, o + 59 * MIN,
	    o + DAY, &target, &deadline), STATS_SLA_MET);
	ck_assert_int_eq(target, HOUR);
	ck_assert_int_eq(deadline, o + HOUR);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, o, o + HOUR, o + DAY,
	    NULL, NULL), STATS_SLA_MET);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, o, o, o, NULL, NULL),
	    STATS_SLA_MET);
	/* closed later: breached */
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, o, o + HOUR + 1,
	    o + DAY, NULL, NULL), STATS_SLA_BREACHED);
	/* open, deadline not passed: pending, up to the deadline itself */
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, o, -1, o + 10 * MIN,
	    NULL, NULL), STATS_SLA_PENDING);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, o, -1, o + HOUR,
	    NULL, NULL), STATS_SLA_PENDING);
	/* open past the deadline: breached */
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, o, -1, o + HOUR + 1,
	    NULL, NULL), STATS_SLA_BREACHED);
	/* closed after at: still open at at */
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, o, o + 50 * MIN,
	    o + 10 * MIN, NULL, NULL), STATS_SLA_PENDING);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, o, o + 3 * HOUR,
	    o + 2 * HOUR, NULL, NULL), STATS_SLA_BREACHED);
	conf_free(conf);
}
END_TEST

START_TEST(sla_broadcast_and_complaint)
{
	struct conf *conf = conf_default(":memory:");
	const struct conf_policy *pol = &conf->defaults;
	int64_t o = T10, target = 0, deadline = 0;

	ck_assert_int_eq(stats_sla(pol, MSG_BROADCAST, 0, o, o + 3 * HOUR,
	    o + DAY, &target, &deadline), STATS_SLA_MET);
	ck_assert_int_eq(target, 4 * HOUR);
	ck_assert_int_eq(deadline, o + 4 * HOUR);
	ck_assert_int_eq(stats_sla(pol, MSG_BROADCAST, 0, o, o + 4 * HOUR + 1,
	    o + DAY, NULL, NULL), STATS_SLA_BREACHED);
	ck_assert_int_eq(stats_sla(pol, MSG_BROADCAST, 0, o, -1, o + 3 * HOUR,
	    NULL, NULL), STATS_SLA_PENDING);
	ck_assert_int_eq(stats_sla(pol, MSG_BROADCAST, 0, o, -1, o + 5 * HOUR,
	    NULL, NULL), STATS_SLA_BREACHED);

	/* complaint waits of either kind use the complaint target */
	ck_assert_int_eq(stats_sla(pol, MSG_BROADCAST, 1, o, o + 45 * MIN,
	    o + DAY, &target, &deadline), STATS_SLA_BREACHED);
	ck_assert_int_eq(target, 30 * MIN);
	ck_assert_int_eq(deadline, o + 30 * MIN);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 1, o, o + 45 * MIN,
	    o + DAY, &target, &deadline), STATS_SLA_BREACHED);
	ck_assert_int_eq(target, 30 * MIN);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 1, o, o + 30 * MIN,
	    o + DAY, NULL, NULL), STATS_SLA_MET);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 1, o, -1, o + 31 * MIN,
	    NULL, NULL), STATS_SLA_BREACHED);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 1, o, -1, o + 29 * MIN,
	    NULL, NULL), STATS_SLA_PENDING);
	conf_free(conf);
}
END_TEST

START_TEST(sla_names)
{
	ck_assert_str_eq(stats_sla_name(STATS_SLA_MET), "met");
	ck_assert_str_eq(stats_sla_name(STATS_SLA_BREACHED), "breached");
	ck_assert_str_eq(stats_sla_name(STATS_SLA_PENDING), "pending");
}
END_TEST

/* Outcomes counted per group, with the targets of the configuration. */
START_TEST(sla_in_groups)
{
	struct conf *conf = conf_default(":memory:");
	int64_t at = T10 + 10 * HOUR;
	struct stats *s = stats_new(BIT(STATS_DIM_KIND), at, NULL, conf);
	const struct stats_group *g;

	conf->defaults.sla_direct_ms = 2 * HOUR;
	conf->defaults.sla_broadcast_ms = 8 * HOUR;
	conf->defaults.sla_complaint_ms = 15 * MIN;
	/* direct: met (2h), breached (2h01), pending, breached open,
	 * complaint met (15 min), complaint breached (16 min) */
	add(s, "x", "a", MSG_DIRECT, T10, T10 + 2 * HOUR, -1);
	add(s, "x", "a", MSG_DIRECT, T10, T10 + 121 * MIN, -1);
	add(s, "x", "a", MSG_DIRECT, at - HOUR, -1, -1);
	add(s, "x", "a", MSG_DIRECT, T10, -1, -1);
	add(s, "x", "a", MSG_DIRECT, T10, T10 + 15 * MIN, T10);
	add(s, "x", "a", MSG_DIRECT, T10, T10 + 16 * MIN, T10 + MIN);
	/* broadcast: met after 7 hours, pending after 7 hours open */
	add(s, "x", "a", MSG_BROADCAST, T10, T10 + 7 * HOUR, -1);
	add(s, "x", "a", MSG_BROADCAST, at - 7 * HOUR, -1, -1);
	stats_finish(s);

	g = find(s, "direct", NULL, NULL, NULL, NULL);
	ck_assert_uint_eq(g->sla.met, 2);
	ck_assert_uint_eq(g->sla.breached, 3);
	ck_assert_uint_eq(g->sla.pending, 1);
	ck_assert_int_eq(g->sla.target_ms, 2 * HOUR);
	ck_assert_int_eq(g->sla.complaint_target_ms, 15 * MIN);
	g = find(s, "broadcast", NULL, NULL, NULL, NULL);
	ck_assert_uint_eq(g->sla.met, 1);
	ck_assert_uint_eq(g->sla.breached, 0);
	ck_assert_uint_eq(g->sla.pending, 1);
	ck_assert_int_eq(g->sla.target_ms, 8 * HOUR);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* ---- business time ----------------------------------------------------------- */

/* Friday 16:00 CET to Monday 10:00 CEST, over the spring change: 1h on
 * Friday and 1h on Monday, 65 hours of wall-clock time. */
START_TEST(business_reply_dst)
{
	struct conf *conf = conf_berlin("mon-fri 09:00-17:00", 0);
	struct stats *s = stats_new(0, MON_1000_CEST + DAY, NULL, conf);
	const struct stats_group *g;

	add(s, "x", "acme", MSG_DIRECT, FRI_1600_CET, MON_1000_CEST, -1);
	stats_finish(s);
	g = stats_group(s, 0);
	ck_assert_int_eq(g->has_business, 1);
	check_dist(&g->reply, 1, 65 * HOUR, 65 * HOUR, 65 * HOUR, 65 * HOUR,
	    65.0 * HOUR);
	check_dist(&g->reply_business, 1, 2 * HOUR, 2 * HOUR, 2 * HOUR,
	    2 * HOUR, 2.0 * HOUR);
	ck_assert_int_eq(g->reply_business.p50, INT64_C(7200000));
	/* the wall-clock targets still apply (sla_business_time = no) */
	ck_assert_uint_eq(g->sla.breached, 1);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* Over whole days, a business day of the change lasts 23 or 25 hours. */
START_TEST(business_reply_whole_days)
{
	struct conf *conf = conf_berlin("mon-sun 00:00-24:00", 0);
	struct stats *s = stats_new(0, MON_0000_CET + DAY, NULL, conf);
	const struct stats_group *g;

	add(s, "x", "acme", MSG_DIRECT, SUN_0000_CET, MON_0000_CEST, -1);
	add(s, "x", "acme", MSG_DIRECT, SUN_0000_CEST, MON_0000_CET, -1);
	stats_finish(s);
	g = stats_group(s, 0);
	check_dist(&g->reply, 2, 23 * HOUR, 25 * HOUR, 25 * HOUR, 25 * HOUR,
	    24.0 * HOUR);
	check_dist(&g->reply_business, 2, 23 * HOUR, 25 * HOUR, 25 * HOUR,
	    25 * HOUR, 24.0 * HOUR);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* Outside opening hours no business time passes; open waits have none. */
START_TEST(business_reply_closed_hours)
{
	struct conf *conf = conf_berlin("mon-fri 09:00-17:00", 0);
	struct stats *s = stats_new(0, MON_1000_CEST, NULL, conf);
	const struct stats_group *g;

	add(s, "x", "acme", MSG_DIRECT, SAT_1200_CET, SAT_1200_CET + HOUR, -1);
	add(s, "x", "acme", MSG_DIRECT, FRI_1700_CET, MON_0915_CEST, -1);
	add(s, "x", "acme", MSG_DIRECT, FRI_1600_CET, -1, -1);
	stats_finish(s);
	g = stats_group(s, 0);
	ck_assert_uint_eq(g->answered, 2);
	check_dist(&g->reply_business, 2, 0, 15 * MIN, 15 * MIN, 15 * MIN,
	    7.5 * MIN);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* SLA targets in business time: the deadline moves over the weekend and
 * across the change of offset. */
START_TEST(business_sla_deadline)
{
	struct conf *conf = conf_berlin("mon-fri 09:00-17:00", 1);
	const struct conf_policy *pol = &conf->defaults;
	int64_t target = 0, deadline = 0;

	/* Friday 16:30 + 1h of business time: Monday 09:30 CEST */
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, FRI_1630_CET,
	    MON_0915_CEST, MON_1000_CEST, &target, &deadline), STATS_SLA_MET);
	ck_assert_int_eq(target, HOUR);
	ck_assert_int_eq(deadline, MON_0930_CEST);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, FRI_1630_CET,
	    MON_0930_CEST, MON_1000_CEST, NULL, NULL), STATS_SLA_MET);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, FRI_1630_CET,
	    MON_0930_CEST + 1, MON_1000_CEST, NULL, NULL), STATS_SLA_BREACHED);
	/* open on Saturday: pending, though 20 wall-clock hours passed */
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, FRI_1630_CET, -1,
	    SAT_1200_CET, NULL, NULL), STATS_SLA_PENDING);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, FRI_1630_CET, -1,
	    MON_0930_CEST, NULL, NULL), STATS_SLA_PENDING);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, FRI_1630_CET, -1,
	    MON_0930_CEST + 1, NULL, NULL), STATS_SLA_BREACHED);
	/* complaint: 30 min of business time, used up at Friday's closing:
	 * due when business resumes, Monday 09:00, so a reply on Saturday
	 * or before Monday's opening met it */
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 1, FRI_1630_CET, -1,
	    SAT_1200_CET, &target, &deadline), STATS_SLA_PENDING);
	ck_assert_int_eq(target, 30 * MIN);
	ck_assert_int_eq(deadline, MON_0915_CEST - 15 * MIN);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 1, FRI_1630_CET,
	    SAT_1200_CET, MON_1000_CEST, NULL, NULL), STATS_SLA_MET);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 1, FRI_1630_CET,
	    MON_0915_CEST, MON_1000_CEST, NULL, NULL), STATS_SLA_BREACHED);
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 1, FRI_1630_CET, -1,
	    MON_0915_CEST - 15 * MIN + 1, NULL, NULL), STATS_SLA_BREACHED);
	/* broadcast: 4h: 30 min Friday, 3h30 Monday: 12:30 CEST */
	ck_assert_int_eq(stats_sla(pol, MSG_BROADCAST, 0, FRI_1630_CET, -1,
	    MON_1000_CEST, &target, &deadline), STATS_SLA_PENDING);
	ck_assert_int_eq(deadline, MON_0930_CEST + 3 * HOUR);
	/* opened on Saturday: the clock starts on Monday 09:00 */
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, SAT_1200_CET, -1,
	    MON_0915_CEST, &target, &deadline), STATS_SLA_PENDING);
	ck_assert_int_eq(deadline, MON_1000_CEST);

	/* the same hours with sla_business_time off: wall-clock deadline */
	conf->defaults.sla_business_time = 0;
	ck_assert_int_eq(stats_sla(pol, MSG_DIRECT, 0, FRI_1630_CET,
	    MON_0915_CEST, MON_1000_CEST, &target, &deadline),
	    STATS_SLA_BREACHED);
	ck_assert_int_eq(deadline, FRI_1630_CET + HOUR);
	conf_free(conf);
}
END_TEST

/* The business-time SLA through the groups, and the business reply. */
START_TEST(business_sla_in_groups)
{
	struct conf *conf = conf_berlin("mon-fri 09:00-17:00", 1);
	struct stats *s = stats_new(0, MON_1000_CEST, NULL, conf);
	const struct stats_group *g;

	/* met: 1h business exactly at Monday 09:30 would be the deadline */
	add(s, "x", "acme", MSG_DIRECT, FRI_1630_CET, MON_0915_CEST, -1);
	/* breached: 2h of business time */
	add(s, "x", "acme", MSG_DIRECT, FRI_1600_CET, MON_1000_CEST, -1);
	/* pending: opened Monday 09:30, 30 min of business time so far */
	add(s, "x", "acme", MSG_DIRECT, MON_0930_CEST, -1, -1);
	stats_finish(s);
	g = stats_group(s, 0);
	ck_assert_uint_eq(g->sla.met, 1);
	ck_assert_uint_eq(g->sla.breached, 1);
	ck_assert_uint_eq(g->sla.pending, 1);
	ck_assert_int_eq(g->sla.target_ms, HOUR);
	check_dist(&g->reply_business, 2, 45 * MIN, 2 * HOUR, 2 * HOUR,
	    2 * HOUR, 82.5 * MIN);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* Business hours are per account: an account without them has no business
 * figures, and its targets are wall-clock ones. */
START_TEST(business_per_account)
{
	struct conf *conf = conf_default(":memory:");
	struct stats *s;
	const struct stats_group *g;
	char *err = NULL;

	/* the accounts copy [daemon]'s policy, which owns no strings */
	ck_assert_ptr_null(conf->defaults.timezone);
	ck_assert_ptr_null(conf->defaults.business_hours);
	ck_assert_ptr_null(conf->defaults.closed);
	ck_assert_ptr_null(conf->defaults.biz);
	conf->accounts = xcalloc(2, sizeof *conf->accounts);
	conf->naccounts = 2;
	conf->accounts[0].name = xstrdup("office");
	conf->accounts[0].policy = conf->defaults;
	conf->accounts[0].policy.biz = bizhours_new("Europe/Berlin",
	    "mon-fri 09:00-17:00", NULL, &err);
	ck_assert_msg(conf->accounts[0].policy.biz != NULL, "%s",
	    err ? err : "?");
	conf->accounts[0].policy.sla_business_time = 1;
	conf->accounts[1].name = xstrdup("always");
	conf->accounts[1].policy = conf->defaults;
	conf->accounts[1].policy.sla_direct_ms = 90 * MIN;
	ck_assert_ptr_eq(conf_policy_for(conf, "office"),
	    &conf->accounts[0].policy);
	ck_assert_ptr_eq(conf_policy_for(conf, "unknown"), &conf->defaults);

	s = stats_new(BIT(STATS_DIM_ACCOUNT), MON_1000_CEST, NULL, conf);
	add(s, "x", "office", MSG_DIRECT, FRI_1630_CET, MON_0915_CEST, -1);
	add(s, "x", "always", MSG_DIRECT, FRI_1630_CET, FRI_1630_CET + 80 * MIN,
	    -1);
	add(s, "x", "unknown", MSG_DIRECT, FRI_1630_CET, FRI_1630_CET + 80 * MIN,
	    -1);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 3);

	g = find(s, NULL, NULL, "office", NULL, NULL);
	ck_assert_int_eq(g->has_business, 1);
	check_dist(&g->reply_business, 1, 45 * MIN, 45 * MIN, 45 * MIN,
	    45 * MIN, 45.0 * MIN);
	ck_assert_uint_eq(g->sla.met, 1);

	g = find(s, NULL, NULL, "always", NULL, NULL);
	ck_assert_int_eq(g->has_business, 0);
	ck_assert_uint_eq(g->reply_business.count, 0);
	ck_assert_int_eq(g->sla.target_ms, 90 * MIN);
	ck_assert_uint_eq(g->sla.met, 1);

	/* unconfigured account: [daemon]'s 1h */
	g = find(s, NULL, NULL, "unknown", NULL, NULL);
	ck_assert_int_eq(g->has_business, 0);
	ck_assert_int_eq(g->sla.target_ms, HOUR);
	ck_assert_uint_eq(g->sla.breached, 1);
	stats_free(s);

	/* one group over both: mixed targets */
	s = stats_new(0, MON_1000_CEST, NULL, conf);
	add(s, "x", "office", MSG_DIRECT, FRI_1630_CET, MON_0915_CEST, -1);
	add(s, "x", "always", MSG_DIRECT, FRI_1630_CET, FRI_1630_CET + 80 * MIN,
	    -1);
	stats_finish(s);
	g = stats_group(s, 0);
	ck_assert_int_eq(g->has_business, 1);
	ck_assert_int_eq(g->sla.target_ms, -1);
	ck_assert_int_eq(g->sla.complaint_target_ms, 30 * MIN);
	/* only the account with hours has a business duration */
	ck_assert_uint_eq(g->reply_business.count, 1);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* ---- first response ----------------------------------------------------------- */

static void
add_conv(struct stats *s, enum msg_kind kind, const char *account,
    int64_t first, int64_t response, int64_t complaint)
{
	struct stats_conversation c;

	memset(&c, 0, sizeof c);
	c.platform = "x";
	c.account = account;
	c.kind = kind;
	c.first_ms = first;
	c.first_response_ms = response;
	c.first_complaint_ms = complaint;
	stats_add_conversation(s, &c);
}

START_TEST(first_response)
{
	struct conf *conf = conf_default(":memory:");
	int64_t at = T10 + 3 * HOUR;
	struct stats *s = stats_new(BIT(STATS_DIM_KIND), at, NULL, conf);
	const struct stats_group *g;

	/* the reference example: D1 720 s, P1 600 s */
	add_conv(s, MSG_DIRECT, "acme", T10, T10 + 720 * SEC, -1);
	add_conv(s, MSG_BROADCAST, "acme", T10 + 20 * MIN,
	    T10 + 30 * MIN, -1);
	add_conv(s, MSG_DIRECT, "acme", T10 + HOUR, T10 + HOUR + 5 * MIN, -1);
	/* no response yet, and a response after at: not counted */
	add_conv(s, MSG_DIRECT, "acme", T10, -1, -1);
	add_conv(s, MSG_DIRECT, "acme", T10 + 2 * HOUR, at + 1, -1);
	/* a response exactly at at counts */
	add_conv(s, MSG_BROADCAST, "acme", T10 + 2 * HOUR, at, -1);
	/* the waits of the same conversations */
	add(s, "x", "acme", MSG_DIRECT, T10, T10 + 720 * SEC, -1);
	stats_finish(s);

	g = find(s, "direct", NULL, NULL, NULL, NULL);
	check_dist(&g->first_response, 2, 300 * SEC, 720 * SEC, 720 * SEC,
	    720 * SEC, 510.0 * SEC);
	ck_assert_uint_eq(g->waits, 1);
	g = find(s, "broadcast", NULL, NULL, NULL, NULL);
	check_dist(&g->first_response, 2, 600 * SEC, HOUR, HOUR, HOUR,
	    2100.0 * SEC);
	ck_assert_uint_eq(g->waits, 0);
	stats_free(s);
	conf_free(conf);
}
END_TEST

/* First responses grouped by complaint (of the first wait, as of at) and
 * by the day of the conversation's first message. */
START_TEST(first_response_groups)
{
	struct conf *conf = conf_default(":memory:");
	char *err = NULL;
	struct tz *ny = tz_new("America/New_York", &err);
	int64_t at = MAR01_0600Z + DAY;
	struct stats *s;
	const struct stats_group *g;

	ck_assert_ptr_nonnull(ny);
	s = stats_new(BIT(STATS_DIM_DAY) | BIT(STATS_DIM_COMPLAINT), at, ny,
	    conf);
	/* answered the next day in New York: the day of its first message */
	add_conv(s, MSG_DIRECT, "acme", MAR01_0300Z, MAR01_0600Z, MAR01_0300Z);
	add_conv(s, MSG_DIRECT, "acme", MAR01_0600Z, MAR01_0600Z + 2 * MIN,
	    at + 1);
	add_conv(s, MSG_DIRECT, "acme", MAR01_0600Z, MAR01_0600Z + 4 * MIN, -1);
	stats_finish(s);
	ck_assert_uint_eq(stats_ngroups(s), 2);
	g = find(s, NULL, NULL, NULL, "2026-02-28", "yes");
	check_dist(&g->first_response, 1, 3 * HOUR, 3 * HOUR, 3 * HOUR,
	    3 * HOUR, 3.0 * HOUR);
	g = find(s, NULL, NULL, NULL, "2026-03-01", "no");
	check_dist(&g->first_response, 2, 2 * MIN, 4 * MIN, 4 * MIN, 4 * MIN,
	    3.0 * MIN);
	stats_free(s);
	tz_free(ny);
	conf_free(conf);
}
END_TEST

/* ---- dimensions --------------------------------------------------------------- */

START_TEST(dims_parse_good)
{
	unsigned dims = 12345;
	char *err = NULL;
	enum stats_dim d;
	int i;

	ck_assert_int_eq(stats_dims_parse("kind", &dims, &err), 0);
	ck_assert_uint_eq(dims, BIT(STATS_DIM_KIND));
	ck_assert_int_eq(stats_dims_parse("kind,account", &dims, &err), 0);
	ck_assert_uint_eq(dims, BIT(STATS_DIM_KIND) | BIT(STATS_DIM_ACCOUNT));
	ck_assert_int_eq(stats_dims_parse("complaint,day,platform,account,kind",
	    &dims, &err), 0);
	ck_assert_uint_eq(dims, (1u << STATS_NDIMS) - 1);
	ck_assert_ptr_null(err);

	for (i = 0; i < STATS_NDIMS; i++) {
		ck_assert_int_eq(stats_dim_parse(stats_dim_name(i), &d), 0);
		ck_assert_int_eq(d, i);
	}
	ck_assert_str_eq(stats_dim_name(STATS_DIM_KIND), "kind");
	ck_assert_str_eq(stats_dim_name(STATS_DIM_PLATFORM), "platform");
	ck_assert_str_eq(stats_dim_name(STATS_DIM_ACCOUNT), "account");
	ck_assert_str_eq(stats_dim_name(STATS_DIM_DAY), "day");
	ck_assert_str_eq(stats_dim_name(STATS_DIM_COMPLAINT), "complaint");
	ck_assert_int_eq(stats_dim_parse("week", &d), -1);
}
END_TEST

static const struct {
	const char	*list;
	const char	*named;		/* must appear in the message */
} dims_bad[] = {
	{ "bogus", "\"bogus\"" },
	{ "kind,bogus", "\"bogus\"" },
	{ "bogus,kind", "\"bogus\"" },
	{ "kind,", "\"\"" },
	{ ",kind", "\"\"" },
	{ "kind,,day", "\"\"" },
	{ "", "\"\"" },
	{ "days", "\"days\"" },
	{ "kinds", "\"kinds\"" },
};

START_TEST(dims_parse_bad)
{
	unsigned dims = 0;
	char *err = NULL;

	ck_assert_int_eq(stats_dims_parse(dims_bad[_i].list, &dims, &err), -1);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, dims_bad[_i].named) != NULL,
	    "\"%s\": message \"%s\" does not name %s", dims_bad[_i].list, err,
	    dims_bad[_i].named);
	ck_assert_msg(strstr(err, "unknown dimension") != NULL, "%s", err);
	free(err);
}
END_TEST

static Suite *
stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc;

	tc = tcase_create("percentiles");
	tcase_add_test(tc, rank_n1);
	tcase_add_test(tc, rank_n2);
	tcase_add_test(tc, rank_n10);
	tcase_add_test(tc, rank_all);
	tcase_add_test(tc, dist_basic);
	tcase_add_test(tc, dist_example);
	tcase_add_test(tc, dist_one_and_none);
	tcase_add_test(tc, dist_hundred);
	tcase_add_test(tc, dist_mean_fraction);
	suite_add_tcase(s, tc);

	tc = tcase_create("groups");
	tcase_add_test(tc, group_none);
	tcase_add_test(tc, group_kind);
	tcase_add_test(tc, group_platform_account);
	tcase_add_test(tc, group_complaint);
	tcase_add_test(tc, group_day_new_york);
	tcase_add_test(tc, group_all_dims);
	tcase_add_test(tc, group_many);
	tcase_add_test(tc, empty_stats);
	suite_add_tcase(s, tc);

	tc = tcase_create("evaluation time");
	tcase_add_test(tc, eval_time);
	tcase_add_test(tc, eval_time_complaint);
	tcase_add_test(tc, eval_time_later);
	suite_add_tcase(s, tc);

	tc = tcase_create("sla");
	tcase_add_test(tc, sla_default_targets);
	tcase_add_test(tc, sla_direct);
	tcase_add_test(tc, sla_broadcast_and_complaint);
	tcase_add_test(tc, sla_names);
	tcase_add_test(tc, sla_in_groups);
	suite_add_tcase(s, tc);

	tc = tcase_create("business time");
	tcase_add_test(tc, business_reply_dst);
	tcase_add_test(tc, business_reply_whole_days);
	tcase_add_test(tc, business_reply_closed_hours);
	tcase_add_test(tc, business_sla_deadline);
	tcase_add_test(tc, business_sla_in_groups);
	tcase_add_test(tc, business_per_account);
	suite_add_tcase(s, tc);

	tc = tcase_create("first response");
	tcase_add_test(tc, first_response);
	tcase_add_test(tc, first_response_groups);
	suite_add_tcase(s, tc);

	tc = tcase_create("dimensions");
	tcase_add_test(tc, dims_parse_good);
	tcase_add_loop_test(tc, dims_parse_bad, 0, (int)NELEM(dims_bad));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	sr = srunner_create(stats_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
