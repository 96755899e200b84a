/*
 * lc_names_test.c: how reports name threads. A thread named with
 * lc_thread_set_name or pthread_setname_np shows that name; a thread the
 * program never named shows as "thread-<tid>", never under the name Linux
 * copied from the thread that created it; the main thread shows the
 * program's name unless it was given another.
 *
 * In each case a main thread (perhaps named) starts two workers one after
 * the other that take A and B in opposite orders: the cycle report names
 * the thread of each edge and the one that closed it.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static lc_mutex_t A = LC_MUTEX_INITIALIZER("names.A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("names.B");

static void take(lc_mutex_t *first, lc_mutex_t *second)
{
	lc_mutex_lock(first);
	lc_mutex_lock(second);
	lc_mutex_unlock(second);
	lc_mutex_unlock(first);
}

static void worker_ab(void *arg)
{
	(void)arg;
	take(&A, &B);
}

static void worker_ba(void *arg)
{
	(void)arg;
	take(&B, &A);
}

/* Every "thread \"thread-<n>\" (tid <m>)" of the report has n == m;
 * returns how many there are. */
static int anonymous_threads(const char *err)
{
	int n = 0;

	for (const char *p = strstr(err, "thread \"thread-"); p;
	     p = strstr(p + 1, "thread \"thread-")) {
		int name_tid, tid;

		ck_assert_int_eq(sscanf(p, "thread \"thread-%d\" (tid %d)",
					&name_tid, &tid),
				 2);
		ck_assert_int_eq(name_tid, tid);
		n++;
	}
	return n;
}

/* lc_thread_set_name in main: its unnamed workers do not inherit it. */
static void boss_named_by_lc(void *arg)
{
	(void)arg;
	lc_thread_set_name("boss");
	lct_in_thread(worker_ab, NULL);
	lct_in_thread(worker_ba, NULL);
}

/* pthread_setname_np in main, which the checker cannot see being done. */
static void boss_named_by_pthread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "boss");
	lct_in_thread(worker_ab, NULL);
	lct_in_thread(worker_ba, NULL);
}

static void expect_workers_unnamed(void (*fn)(void *))
{
	struct lct_child c = lct_expect_reports(
		fn, NULL, NULL, "lock-order-cycle", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK) {
		ck_assert_ptr_null(strstr(c.err, "thread \"boss\""));
		/* both edges and the closing acquisition */
		ck_assert_int_eq(anonymous_threads(c.err), 3);
	}
	lct_child_free(&c);
}

START_TEST(test_workers_of_a_named_main_are_not_named_after_it)
{
	expect_workers_unnamed(boss_named_by_lc);
}
END_TEST

START_TEST(test_workers_of_a_pthread_named_main_are_not_named_after_it)
{
	expect_workers_unnamed(boss_named_by_pthread);
}
END_TEST

/* Workers that name themselves, either way, before their first lock. */
static void named_worker_ab(void *arg)
{
	(void)arg;
	lc_thread_set_name("lc-named");
	take(&A, &B);
}

static void workers_that_name_themselves(void *arg)
{
	(void)arg;
	lc_thread_set_name("boss");
	lct_in_thread(named_worker_ab, NULL);
	lct_in_named_thread("pthread-named", worker_ba, NULL);
}

START_TEST(test_names_a_thread_gave_itself_are_shown)
{
	struct lct_child c =
		lct_expect_reports(workers_that_name_themselves, NULL, NULL,
				   "lock-order-cycle", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK) {
		ck_assert_ptr_nonnull(
			strstr(c.err, "first by thread \"lc-named\" (tid "));
		ck_assert_ptr_nonnull(strstr(
			c.err, "first by thread \"pthread-named\" (tid "));
		ck_assert_ptr_nonnull(strstr(
			c.err, "closed now by thread \"pthread-named\" (tid "));
		ck_assert_int_eq(anonymous_threads(c.err), 0);
	}
	lct_child_free(&c);
}
END_TEST

/* The main thread, never named, is the program. */
static void main_thread_abba(void *arg)
{
	(void)arg;
	take(&A, &B);
	take(&B, &A);
}

START_TEST(test_main_thread_shows_the_program_name)
{
	struct lct_child c =
		lct_expect_reports(main_thread_abba, NULL, NULL,
				   "lock-order-cycle", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK)
		ck_assert_ptr_nonnull(strstr(
			c.err, "closed now by thread \"lc_names_test\" (tid "));
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_names");
	TCase *tc = tcase_create("threads");

	tcase_add_test(tc, test_workers_of_a_named_main_are_not_named_after_it);
	tcase_add_test(
		tc,
		test_workers_of_a_pthread_named_main_are_not_named_after_it);
	tcase_add_test(tc, test_names_a_thread_gave_itself_are_shown);
	tcase_add_test(tc, test_main_thread_shows_the_program_name);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
