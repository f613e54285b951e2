/* SPDX-License-Identifier: ISC */
#ifndef RW_EXPORTER_H
#define RW_EXPORTER_H

struct alerts;
struct metrics_out;
struct outbox;
struct poller;
struct watch;

/*
 * The daemon's figures for /metrics (metrics.c serves them): what the
 * poller, the watch, the alerts and the outbox know at the moment of the
 * scrape.
 */
struct exporter {
	struct poller	*poller;
	struct watch	*watch;
	struct alerts	*alerts;
	struct outbox	*outbox;
};

/* A metrics_collect_fn; arg is a struct exporter. */
void	exporter_collect(struct metrics_out *, void *arg);

#endif
