/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "timeheap.h"
#include "xmalloc.h"

static int64_t
at_of(const struct timeheap *h, size_t i)
{
	int64_t t;

	memcpy(&t, h->v + i * h->size, sizeof t);
	return t;
}

/* Swap entries i and j through the spare slot at index cap. */
static void
swap(struct timeheap *h, size_t i, size_t j)
{
	unsigned char *tmp = h->v + h->cap * h->size;

	memcpy(tmp, h->v + i * h->size, h->size);
	memcpy(h->v + i * h->size, h->v + j * h->size, h->size);
	memcpy(h->v + j * h->size, tmp, h->size);
}

void
timeheap_init(struct timeheap *h, size_t entry_size)
{
	memset(h, 0, sizeof *h);
	h->size = entry_size;
}

void
timeheap_push(struct timeheap *h, const void *entry)
{
	size_t i, parent;

	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		/* one more entry: the spare slot of swap */
		h->v = xreallocarray(h->v, h->cap + 1, h->size);
	}
	i = h->n++;
	memcpy(h->v + i * h->size, entry, h->size);
	for (; i > 0; i = parent) {
		parent = (i - 1) / 2;
		if (at_of(h, parent) <= at_of(h, i))
			break;
		swap(h, parent, i);
	}
}

void
timeheap_pop(struct timeheap *h, void *out)
{
	size_t i = 0, l, r, m;

	if (out != NULL)
		memcpy(out, h->v, h->size);
	if (--h->n > 0)
		memcpy(h->v, h->v + h->n * h->size, h->size);
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < h->n && at_of(h, l) < at_of(h, m))
			m = l;
		if (r < h->n && at_of(h, r) < at_of(h, m))
			m = r;
		if (m == i)
			break;
		swap(h, i, m);
		i = m;
	}
}

void *
timeheap_top(const struct timeheap *h)
{
	return h->n > 0 ? h->v : NULL;
}

void *
timeheap_at(const struct timeheap *h, size_t i)
{
	return i < h->n ? h->v + i * h->size : NULL;
}

void
timeheap_filter(struct timeheap *h, int (*keep)(const void *, void *),
    void *arg)
{
	struct timeheap old = *h;
	size_t i;

	h->v = NULL;
	h->n = h->cap = 0;
	for (i = 0; i < old.n; i++) {
		if (keep(old.v + i * old.size, arg))
			timeheap_push(h, old.v + i * old.size);
	}
	free(old.v);
}

void
timeheap_free(struct timeheap *h)
{
	free(h->v);
	memset(h, 0, sizeof *h);
}
