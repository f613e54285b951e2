/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "timeheap.h"

struct ent {
	int64_t		 at_ms;
	uint32_t	 tag;
	char		 pad[13];	/* an odd size on purpose */
};

static uint64_t
next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

START_TEST(pops_in_order)
{
	struct timeheap h;
	struct ent e, prev;
	uint64_t seed = 42;
	size_t i;

	timeheap_init(&h, sizeof e);
	ck_assert_ptr_null(timeheap_top(&h));
	for (i = 0; i < 5000; i++) {
		e.at_ms = (int64_t)(next_rand(&seed) % 1000) - 500;
		e.tag = (uint32_t)i;
		timeheap_push(&h, &e);
	}
	ck_assert_uint_eq(h.n, 5000);
	timeheap_pop(&h, &prev);
	for (i = 1; i < 5000; i++) {
		int64_t top = ((struct ent *)timeheap_top(&h))->at_ms;

		timeheap_pop(&h, &e);
		if (e.at_ms < prev.at_ms || e.at_ms != top)
			ck_abort_msg("out of order at %zu", i);
		prev = e;
	}
	ck_assert_uint_eq(h.n, 0);
	ck_assert_ptr_null(timeheap_top(&h));
	timeheap_free(&h);
}
END_TEST

static int
even_tag(const void *p, void *arg)
{
	(void)arg;
	return ((const struct ent *)p)->tag % 2 == 0;
}

START_TEST(filter_keeps_order)
{
	struct timeheap h;
	struct ent e;
	int64_t last = INT64_MIN;
	size_t i;

	timeheap_init(&h, sizeof e);
	for (i = 0; i < 100; i++) {
		e.at_ms = (int64_t)((i * 37) % 100);
		e.tag = (uint32_t)i;
		timeheap_push(&h, &e);
	}
	timeheap_filter(&h, even_tag, NULL);
	ck_assert_uint_eq(h.n, 50);
	for (i = 0; i < h.n; i++)
		ck_assert_uint_eq(((struct ent *)timeheap_at(&h, i))->tag % 2, 0);
	ck_assert_ptr_null(timeheap_at(&h, h.n));
	while (h.n > 0) {
		timeheap_pop(&h, &e);
		ck_assert_int_ge(e.at_ms, last);
		ck_assert_uint_eq(e.tag % 2, 0);
		last = e.at_ms;
	}
	/* pop without a copy; empty again, reusable */
	timeheap_push(&h, &e);
	timeheap_pop(&h, NULL);
	ck_assert_uint_eq(h.n, 0);
	timeheap_free(&h);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("timeheap");
	TCase *tc = tcase_create("heap");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, pops_in_order);
	tcase_add_test(tc, filter_keeps_order);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
