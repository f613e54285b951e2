/* SPDX-License-Identifier: ISC */
#ifndef RW_EXPORTER_H
#define RW_EXPORTER_H

struct metrics_out;
struct poller;
struct watch;

/*
 * The daemon's figures for /metrics (metrics.c serves them): what the
 * poller and the watch know at the moment of the scrape.
 */
struct exporter {
	struct poller	*poller;
	struct watch	*watch;
};

/* A metrics_collect_fn; arg is a struct exporter. */
void	exporter_collect(struct metrics_out *, void *arg);

#endif
