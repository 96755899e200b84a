/*
 * race_paths_test.c: the fast paths of race checking give the verdicts of
 * the slow ones. An access of a granule its thread checked before, and a
 * lock its thread released last, are settled without the race checker's
 * tables (race_access.c, race_clock.c); these cases reach them and would
 * end in a miss or a false report if they took a shortcut too many. The
 * schedule is fixed with raw semaphores, which order nothing for the
 * checker.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static long x, y;
static lc_mutex_t m = LC_MUTEX_INITIALIZER("m");
static lc_mutex_t l = LC_MUTEX_INITIALIZER("l");
static sem_t step[4];

static void steps_init(void)
{
	for (int i = 0; i < 4; i++)
		sem_init(&step[i], 0, 0);
}

/* Runs fn in a child: silent, or (checked build) one race whose first
 * line starts "lockcheck: race: write at " + the site of want_line in
 * want_func. Without a dump: a dump's inventory records every access,
 * which takes the slow path. */
static void expect(void (*fn)(void *), const void *arg, int want_line,
		   const char *want_func)
{
	static const char *const no_dump[] = { "LOCKCHECK_DUMP=", NULL };
	struct lct_child c = lct_expect_reports(fn, (void *)arg, no_dump,
						want_func ? "race" : NULL,
						LOCKCHECK && want_func ? 1 : 0);
	char prefix[512], suffix[256];

	if (LOCKCHECK && want_func) {
		snprintf(prefix, sizeof(prefix),
			 "lockcheck: race: write at %s:%d in %s()", __FILE__,
			 want_line, want_func);
		snprintf(suffix, sizeof(suffix),
			 "by another thread, unordered");
		LCT_ASSERT_LINE(&c, prefix, suffix);
	}
	lct_child_free(&c);
}

/* ---- a race found on the fast path --------------------------------- */

/* The other thread writes x (after the main thread's first write, by
 * its create), under m when asked. */
static void *write_x(void *arg)
{
	if (arg)
		lc_mutex_lock(&m);
	LC_WRITE(x, 2);
	if (arg)
		lc_mutex_unlock(&m);
	sem_post(&step[0]);
	return NULL;
}

/* The main thread writes x, which gives it the granule's hint; its
 * second write, after the other thread's, is settled on the fast path
 * unless a cell races with it. */
enum { L_AGAIN = __LINE__ + 15 };
static void write_twice(void *arg)
{
	pthread_t th;

	steps_init();
	if (arg)
		lc_mutex_lock(&m);
	LC_WRITE(x, 1);
	if (arg)
		lc_mutex_unlock(&m);
	ck_assert_int_eq(pthread_create(&th, NULL, write_x, arg), 0);
	sem_wait(&step[0]);
	if (arg)
		lc_mutex_lock(&m);
	LC_WRITE(x, 3);
	if (arg)
		lc_mutex_unlock(&m);
	pthread_join(th, NULL);
}

START_TEST(test_race_on_hinted_granule)
{
	expect(write_twice, NULL, L_AGAIN, "write_twice");
}
END_TEST

START_TEST(test_hinted_granule_under_lock_is_silent)
{
	expect(write_twice, "locked", 0, NULL);
}
END_TEST

/* ---- a lock's clock kept by its last releaser ----------------------- */

/*
 * A releases l, so l's clock is A's. B writes x under m. A takes m
 * (when asked), which brings B's write into A's clock, then releases l
 * again: l's clock must now have B's write, though A released it last
 * both times. C takes l and writes x: ordered after B's write only
 * through m and A.
 */
static void *thread_a(void *arg)
{
	lc_mutex_lock(&l);
	lc_mutex_unlock(&l);
	sem_post(&step[0]);
	sem_wait(&step[1]);
	if (arg) {
		lc_mutex_lock(&m);
		lc_mutex_unlock(&m);
	}
	lc_mutex_lock(&l);
	lc_mutex_unlock(&l);
	sem_post(&step[2]);
	return NULL;
}

static void *thread_b(void *arg)
{
	sem_wait(&step[0]);
	lc_mutex_lock(&m);
	LC_WRITE(x, 1);
	lc_mutex_unlock(&m);
	sem_post(&step[1]);
	return arg;
}

enum { L_C = __LINE__ + 5 };
static void *thread_c(void *arg)
{
	sem_wait(&step[2]);
	lc_mutex_lock(&l);
	LC_WRITE(x, 2);
	lc_mutex_unlock(&l);
	return arg;
}

static void through_last_releaser(void *arg)
{
	pthread_t a, b, c;

	steps_init();
	LC_WRITE(y, 1); /* clocks on from the start */
	ck_assert_int_eq(pthread_create(&a, NULL, thread_a, arg), 0);
	ck_assert_int_eq(pthread_create(&b, NULL, thread_b, NULL), 0);
	ck_assert_int_eq(pthread_create(&c, NULL, thread_c, NULL), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_join(c, NULL);
}

START_TEST(test_release_by_last_releaser_keeps_new_order)
{
	expect(through_last_releaser, "through m", 0, NULL);
}
END_TEST

START_TEST(test_release_by_last_releaser_without_order)
{
	expect(through_last_releaser, NULL, L_C, "thread_c");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("race_paths");
	TCase *tc = tcase_create("paths");

	tcase_add_test(tc, test_race_on_hinted_granule);
	tcase_add_test(tc, test_hinted_granule_under_lock_is_silent);
	tcase_add_test(tc, test_release_by_last_releaser_keeps_new_order);
	tcase_add_test(tc, test_release_by_last_releaser_without_order);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
