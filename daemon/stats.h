/* SPDX-License-Identifier: ISC */
#ifndef RW_STATS_H
#define RW_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct conf;
struct tz;

/*
 * Figures over waits: grouping, nearest-rank percentiles, SLA outcomes.
 * Everything is in milliseconds here; output code turns it into seconds.
 */

enum stats_dim {
	STATS_DIM_KIND,
	STATS_DIM_PLATFORM,
	STATS_DIM_ACCOUNT,
	STATS_DIM_DAY,
	STATS_DIM_COMPLAINT,
	STATS_NDIMS
};

struct stats_dist {
	size_t		 count;		/* 0: no values, the block is null */
	int64_t		 p50, p90, p99, max;
	double		 mean;
};

struct stats_sla {
	int64_t		 target_ms;		/* regular target, -1 if the group mixes */
	int64_t		 complaint_target_ms;	/* complaint target, -1 if mixed */
	size_t		 met, breached, pending;
};

struct stats_group {
	const char	*key[STATS_NDIMS];	/* NULL for dimensions not grouped by */
	size_t		 waits, answered, unanswered;
	int64_t		 oldest_unanswered_ms;	/* -1: none */
	int		 has_business;		/* some account has business hours */
	struct stats_dist reply, reply_business, first_response;
	struct stats_sla sla;
};

/* A wait as the store reports it. */
struct stats_wait {
	const char	*platform;
	const char	*account;
	enum msg_kind	 kind;
	int64_t		 opened_ms;
	int64_t		 closed_ms;	/* -1: open (at any time) */
	int64_t		 complaint_ms;	/* -1: no complaint */
};

/* A conversation that began with an inbound message. */
struct stats_conversation {
	const char	*platform;
	const char	*account;
	enum msg_kind	 kind;
	int64_t		 first_ms;
	int64_t		 first_response_ms;	/* -1: none */
	int64_t		 first_complaint_ms;	/* complaint in its first wait, -1: none */
};

struct stats;
struct conf_policy;

enum stats_sla_outcome {
	STATS_SLA_MET,
	STATS_SLA_BREACHED,
	STATS_SLA_PENDING,
};

/* The SLA of one wait at at_ms: its target (the complaint target when
 * complaint is set), its deadline (in business time when the policy says
 * so), and the outcome. closed_ms -1 or after at_ms: still open. */
enum stats_sla_outcome stats_sla(const struct conf_policy *, enum msg_kind,
	    int complaint, int64_t opened_ms, int64_t closed_ms, int64_t at_ms,
	    int64_t *target_ms, int64_t *deadline_ms);
const char *stats_sla_name(enum stats_sla_outcome);

/* dims: bit (1 << STATS_DIM_x) per grouping dimension. at_ms is the
 * evaluation time; daytz the zone for the day dimension (borrowed). */
struct stats *stats_new(unsigned dims, int64_t at_ms, struct tz *daytz,
	    const struct conf *conf);
void	stats_free(struct stats *);

/* Add a wait (its opened_ms must be <= at; the caller applies the window).
 * Its platform and account strings must stay valid and unchanged while
 * the stats object lives: groups are found again by their pointers. */
void	stats_add_wait(struct stats *, const struct stats_wait *);
void	stats_add_conversation(struct stats *, const struct stats_conversation *);

/* Compute percentiles and sort the groups by their keys. */
void	stats_finish(struct stats *);
size_t	stats_ngroups(const struct stats *);
const struct stats_group *stats_group(const struct stats *, size_t);

/* Nearest rank over sorted values: the value at rank ceil(p/100 * n),
 * 1-based, p a whole percent in 1..100. n must be > 0. */
int64_t	stats_nearest_rank(const int64_t *sorted, size_t n, unsigned p);
/* Sorts vals and fills out. */
void	stats_dist_compute(int64_t *vals, size_t n, struct stats_dist *out);

const char *stats_dim_name(enum stats_dim);
int	stats_dim_parse(const char *, enum stats_dim *);
/* "kind,account" → bit set; -1 with *errstr on an unknown name. */
int	stats_dims_parse(const char *, unsigned *dims, char **errstr);

#endif
