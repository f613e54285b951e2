/* SPDX-License-Identifier: ISC */
#ifndef RW_TIMEHEAP_H
#define RW_TIMEHEAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * A binary min-heap of fixed-size entries, earliest first, for the timers
 * of the watch and the alerts: each entry begins with its time, an int64_t
 * (ms). The heap copies entries in and out.
 */
struct timeheap {
	unsigned char	*v;
	size_t		 n, cap, size;
};

void	 timeheap_init(struct timeheap *, size_t entry_size);
void	 timeheap_push(struct timeheap *, const void *entry);
/* Remove the earliest entry, copied to out unless out is NULL. The heap
 * must not be empty. */
void	 timeheap_pop(struct timeheap *, void *out);
/* The earliest entry (NULL if empty), and the i-th in heap order. */
void	*timeheap_top(const struct timeheap *);
void	*timeheap_at(const struct timeheap *, size_t i);
/* Keep only the entries for which keep(entry, arg) is true. */
void	 timeheap_filter(struct timeheap *, int (*keep)(const void *, void *),
	    void *arg);
void	 timeheap_free(struct timeheap *);

#endif
