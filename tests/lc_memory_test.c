/*
 * lc_memory_test.c: the checker's memory stays bounded.
 *
 * A long-running service makes and destroys per-object locks all the time:
 * what the checker keeps for a lock (its instance-graph node, the edges of
 * same-class nesting, their stacks) goes with it, and stacks seen before
 * are shared, so memory stays flat however many objects come and go. A
 * thread holding thousands of locks costs a bounded number of edges per
 * lock (one `limit: nesting` line says so) instead of one edge per pair.
 *
 * Memory is each child's peak resident set: the 10x longer run may not
 * take more than a generous constant more; never a time. The sanitizers
 * change what memory costs, so these run in the plain and checked builds.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

struct obj {
	lc_mutex_t outer, inner;
};

static void obj_init(lc_mutex_t *m)
{
	ck_assert_int_eq(lc_mutex_init(m, "obj"), 0); /* one class for both */
}

/* n objects, each made, its two locks nested (an instance edge of their
 * class, with its stack), then destroyed. */
static void churn(void *arg)
{
	long n = *(long *)arg;

	for (long i = 0; i < n; i++) {
		struct obj o;

		obj_init(&o.outer);
		obj_init(&o.inner);
		EXPECT(lc_mutex_lock(&o.outer) == 0);
		EXPECT(lc_mutex_lock(&o.inner) == 0);
		EXPECT(lc_mutex_unlock(&o.inner) == 0);
		EXPECT(lc_mutex_unlock(&o.outer) == 0);
		EXPECT(lc_mutex_destroy(&o.inner) == 0);
		EXPECT(lc_mutex_destroy(&o.outer) == 0);
	}
}

static long churn_peak_kb(long n)
{
	struct lct_child c = lct_expect_reports(churn, &n, NULL, NULL, 0);
	long kb = c.max_rss_kb;

	lct_child_free(&c);
	return kb;
}

START_TEST(test_objects_come_and_go_in_flat_memory)
{
	long small = churn_peak_kb(20000), big = churn_peak_kb(200000);

	printf("peak RSS: %ld KiB for 20,000 objects, %ld KiB for 200,000\n",
	       small, big);
	ck_assert_int_lt(big, small + 8 * 1024);
}
END_TEST

#define DEEP 10000

static lc_mutex_t *deep_locks;

static void hold(int i)
{
	if (i == DEEP)
		return;
	EXPECT(lc_mutex_lock(&deep_locks[i]) == 0);
	hold(i + 1);
	EXPECT(lc_mutex_unlock(&deep_locks[i]) == 0);
}

/* A recursion holding DEEP locks of DEEP classes. */
static void deep(void *arg)
{
	char *names = malloc((size_t)DEEP * 16);

	(void)arg;
	deep_locks = malloc((size_t)DEEP * sizeof(*deep_locks));
	ck_assert(names && deep_locks);
	for (int i = 0; i < DEEP; i++) {
		snprintf(names + 16 * i, 16, "deep%d", i);
		deep_locks[i] =
			(lc_mutex_t)LC_MUTEX_INITIALIZER(names + 16 * i);
	}
	hold(0);
}

/* (No dump: a graph of 10,000 classes with 128 edges each is a big file,
 * and the test is about the memory of checking.) */
START_TEST(test_holding_10000_locks_is_bounded)
{
	const char *env[] = { "LOCKCHECK_DUMP=", NULL };
	struct lct_child c = lct_expect_reports(
		deep, NULL, env, LOCKCHECK ? "limit" : NULL, LOCKCHECK ? 1 : 0);

	printf("peak RSS holding %d locks: %ld KiB\n", DEEP, c.max_rss_kb);
	if (LOCKCHECK)
		LCT_ASSERT_ERR_HAS(&c, "lockcheck: limit: nesting: ");
	LCT_ASSERT_CHILD(&c, c.max_rss_kb < 512 * 1024);
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_memory");
	TCase *tc = tcase_create("lockcheck");

	tcase_set_timeout(tc, 240);
	if (!SANITIZED) {
		tcase_add_test(tc, test_objects_come_and_go_in_flat_memory);
		tcase_add_test(tc, test_holding_10000_locks_is_bounded);
	}
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
