/*
 * build_mode_test.c: each of the four builds does what its switch says.
 *
 * plain: lc_ types are the pthread types and no checker runs;
 * lockcheck: the checker reports; tsan: ThreadSanitizer's runtime is linked
 * and sees a race; asan: AddressSanitizer and UBSan are linked and stop a
 * use-after-free and an overflow. A switch that did nothing fails here.
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

#if defined(__SANITIZE_THREAD__)
static const bool tsan_build = true;
#else
static const bool tsan_build = false;
#endif
#if defined(__SANITIZE_ADDRESS__)
static const bool asan_build = true;
#else
static const bool asan_build = false;
#endif

START_TEST(test_lock_types_match_mode)
{
	if (LOCKCHECK) {
		ck_assert_uint_gt(sizeof(lc_mutex_t), sizeof(pthread_mutex_t));
		ck_assert_uint_gt(sizeof(lc_rwlock_t),
				  sizeof(pthread_rwlock_t));
	} else {
		ck_assert_uint_eq(sizeof(lc_mutex_t), sizeof(pthread_mutex_t));
		ck_assert_uint_eq(sizeof(lc_rwlock_t),
				  sizeof(pthread_rwlock_t));
	}
	ck_assert_uint_eq(sizeof(lc_cond_t), sizeof(pthread_cond_t));
}
END_TEST

static void abba_one_thread(void *arg)
{
	lc_mutex_t a, b;

	(void)arg;
	lc_mutex_init(&a, "mode.a");
	lc_mutex_init(&b, "mode.b");
	lc_mutex_lock(&a);
	lc_mutex_lock(&b);
	lc_mutex_unlock(&b);
	lc_mutex_unlock(&a);
	lc_mutex_lock(&b);
	lc_mutex_lock(&a);
	lc_mutex_unlock(&a);
	lc_mutex_unlock(&b);
}

START_TEST(test_report_only_in_checked_build)
{
	struct lct_child c;

	ck_assert_int_eq(lct_run_fn(abba_one_thread, NULL, NULL, &c), 0);
	if (!lct_exited_with(&c, 0))
		lct_child_dump(&c, "abba");
	ck_assert(lct_exited_with(&c, 0));
	ck_assert_uint_eq(lct_count_reports(&c, "lock-order-cycle"),
			  LOCKCHECK ? 1 : 0);
	lct_child_free(&c);
}
END_TEST

static int shared_counter;

static void *bump(void *arg)
{
	(void)arg;
	shared_counter++;
	return NULL;
}

static void racy_increment(void *arg)
{
	pthread_t t;

	(void)arg;
	pthread_create(&t, NULL, bump, NULL);
	shared_counter++;
	pthread_join(t, NULL);
}

START_TEST(test_tsan_runtime_sees_race)
{
	struct lct_child c;

	ck_assert_int_eq(lct_run_fn(racy_increment, NULL, NULL, &c), 0);
	ck_assert_ptr_nonnull(strstr(c.err, "ThreadSanitizer: data race"));
	ck_assert(!lct_exited_with(&c, 0));
	lct_child_free(&c);
}
END_TEST

static void use_after_free(void *arg)
{
	char *p = malloc(16);
	volatile char *volatile alias = p; /* hidden from the compiler */

	(void)arg;
	free(p);
	alias[3] = 1;
}

START_TEST(test_asan_runtime_stops_use_after_free)
{
	struct lct_child c;

	ck_assert_int_eq(lct_run_fn(use_after_free, NULL, NULL, &c), 0);
	ck_assert_ptr_nonnull(
		strstr(c.err, "AddressSanitizer: heap-use-after-free"));
	ck_assert(!lct_exited_with(&c, 0));
	lct_child_free(&c);
}
END_TEST

static void signed_overflow(void *arg)
{
	volatile int big = INT_MAX;

	(void)arg;
	big = big + 1;
}

START_TEST(test_ubsan_runtime_stops_overflow)
{
	struct lct_child c;

	ck_assert_int_eq(lct_run_fn(signed_overflow, NULL, NULL, &c), 0);
	ck_assert_ptr_nonnull(strstr(c.err, "runtime error: signed integer"));
	ck_assert(!lct_exited_with(&c, 0));
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("build_mode");
	TCase *core = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(core, test_lock_types_match_mode);
	tcase_add_test(core, test_report_only_in_checked_build);
	if (tsan_build)
		tcase_add_test(core, test_tsan_runtime_sees_race);
	if (asan_build) {
		tcase_add_test(core, test_asan_runtime_stops_use_after_free);
		tcase_add_test(core, test_ubsan_runtime_stops_overflow);
	}
	suite_add_tcase(s, core);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
