/* SPDX-License-Identifier: ISC */
#ifndef RW_WATCH_H
#define RW_WATCH_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

struct conf;
struct msg;
struct store;
struct store_conv_waits;

/*
 * What the daemon tells as it happens: each new inbound message, each
 * reply with its reply time, and each wait that passes its SLA deadline.
 * It knows every open wait and its deadline; one uv timer is set for the
 * earliest, so a wait is reported overdue when its deadline comes, not
 * found by a scan.
 */
struct watch;

struct watch *watch_new(uv_loop_t *, const struct conf *);
/* The waits open now, from the store. */
int	 watch_load(struct watch *, struct store *, char **errstr);
/* The store's observer (store_set_observer(st, watch_observe, w)). */
void	 watch_observe(const struct store_conv_waits *, void *watch);
/* A new message was stored. */
void	 watch_message(struct watch *, const struct msg *);
/* New SLA targets or business hours: every deadline again. conf must
 * outlive the watch. */
void	 watch_reconfigure(struct watch *, const struct conf *);
/* Open waits, and those of them past their deadline. */
size_t	 watch_nopen(const struct watch *);
size_t	 watch_noverdue(const struct watch *);
/* Close the timer; the loop must run on; then watch_free. */
void	 watch_stop(struct watch *);
void	 watch_free(struct watch *);

#endif
