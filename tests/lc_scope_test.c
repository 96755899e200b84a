/*
 * lc_scope_test.c: scoped locks and lc_once.
 *
 * A scoped lock is held inside its block and given back however the block
 * ends (an early return included); the checker sees it like any lock, so
 * scoped inversions are cycles. lc_once runs its function exactly once
 * across threads; for the checker a once is a lock class held while its
 * function runs: an init function that takes `X` while a caller of the
 * same once holds `X` is a lock-order-cycle, and a once called from its
 * own function is a recursive-lock that returns EDEADLK, not a hang.
 * Silent twins: scopes nested in one order, a once whose function takes
 * a lock no caller holds, once called from many threads.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

#define OK(call) ck_assert_int_eq((call), 0)

static lc_mutex_t A = LC_MUTEX_INITIALIZER("A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");
static lc_mutex_t X = LC_MUTEX_INITIALIZER("X");
static lc_rwlock_t R = LC_RWLOCK_INITIALIZER("R");

/* ---- scoped locks ---- */

static int find_in_scope(int want, int stop)
{
	LC_SCOPED_LOCK(&A);

	for (int i = 0; i < 10; i++)
		if (i == want || i == stop)
			return i; /* early return: A is given back */
	return -1;
}

START_TEST(test_scoped_lock_is_released_at_every_exit)
{
	ck_assert_int_eq(find_in_scope(3, 7), 3);
	OK(lc_mutex_trylock(&A));
	OK(lc_mutex_unlock(&A));
	{
		LC_SCOPED_LOCK(&A);
		ck_assert_int_eq(lc_mutex_trylock(&A), EBUSY);
		lc_assert_held(&A);
	}
	OK(lc_mutex_trylock(&A));
	OK(lc_mutex_unlock(&A));
}
END_TEST

START_TEST(test_scoped_rwlocks_take_their_mode)
{
	{
		LC_SCOPED_RDLOCK(&R);
		ck_assert_int_eq(lc_rwlock_trywrlock(&R), EBUSY);
	}
	{
		LC_SCOPED_WRLOCK(&R);
		ck_assert_int_eq(lc_rwlock_tryrdlock(&R), EBUSY);
	}
	OK(lc_rwlock_trywrlock(&R));
	OK(lc_rwlock_unlock(&R));
}
END_TEST

static void a_then_b(void *arg)
{
	(void)arg;
	LC_SCOPED_LOCK(&A);
	LC_SCOPED_LOCK(&B);
}

static void b_then_a(void *arg)
{
	(void)arg;
	LC_SCOPED_LOCK(&B);
	LC_SCOPED_LOCK(&A);
}

static void scoped_inversion(void *arg)
{
	(void)arg;
	lct_in_thread(a_then_b, NULL);
	lct_in_thread(b_then_a, NULL);
}

START_TEST(test_scoped_inversion_is_a_cycle)
{
	struct lct_child c = lct_expect_reports(scoped_inversion, NULL, NULL,
						"lock-order-cycle", LOCKCHECK);

	if (LOCKCHECK)
		LCT_ASSERT_ERR_HAS(&c, "lockcheck: lock-order-cycle: B -> A -> "
				       "B (2 locks, 2 threads)");
	lct_child_free(&c);
}
END_TEST

static void scoped_in_order(void *arg)
{
	(void)arg;
	lct_in_thread(a_then_b, NULL);
	lct_in_thread(a_then_b, NULL);
}

START_TEST(test_scoped_locks_in_one_order_are_silent)
{
	struct lct_child c =
		lct_expect_reports(scoped_in_order, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- lc_once ---- */

static lc_once_t config_once = LC_ONCE_INIT("config_once");
static atomic_int runs;

static void init_taking_x(void)
{
	runs++;
	OK(lc_mutex_lock(&X));
	OK(lc_mutex_unlock(&X));
}

static void *call_once(void *arg)
{
	(void)arg;
	OK(lc_once(&config_once, init_taking_x));
	return NULL;
}

START_TEST(test_once_runs_its_function_once)
{
	pthread_t t[8];

	for (int i = 0; i < 8; i++)
		OK(pthread_create(&t[i], NULL, call_once, NULL));
	for (int i = 0; i < 8; i++)
		OK(pthread_join(t[i], NULL));
	ck_assert_int_eq(runs, 1);
	ck_assert_int_eq(lc_once(NULL, init_taking_x), EINVAL);
}
END_TEST

static void call_once_step(void *arg)
{
	call_once(arg);
}

static void call_once_holding_x(void *arg)
{
	(void)arg;
	OK(lc_mutex_lock(&X));
	OK(lc_once(&config_once, init_taking_x));
	OK(lc_mutex_unlock(&X));
}

/* The function ran first (taking X inside the once); then a caller holds
 * X: had it come first, the two would wait for each other. */
static void once_inversion(void *arg)
{
	(void)arg;
	lct_in_thread(call_once_step, NULL);
	lct_in_thread(call_once_holding_x, NULL);
	ck_assert_int_eq(runs, 1);
}

START_TEST(test_init_taking_what_a_caller_holds_is_a_cycle)
{
	struct lct_child c = lct_expect_reports(once_inversion, NULL, NULL,
						"lock-order-cycle", LOCKCHECK);

	if (LOCKCHECK)
		LCT_ASSERT_ERR_HAS(&c, "lockcheck: lock-order-cycle: X -> "
				       "config_once -> X (2 locks, "
				       "2 threads)");
	lct_child_free(&c);
}
END_TEST

static lc_once_t self_once = LC_ONCE_INIT("self_once");
static int inner_err = -1;

static void init_calling_itself(void)
{
	inner_err = lc_once(&self_once, init_calling_itself);
}

static void once_from_its_function(void *arg)
{
	(void)arg;
	OK(lc_once(&self_once, init_calling_itself));
	ck_assert_int_eq(inner_err, EDEADLK);
}

START_TEST(test_once_from_its_own_function_is_recursive_lock)
{
	struct lct_child c = lct_expect_reports(once_from_its_function, NULL,
						NULL, "recursive-lock", 1);

	LCT_ASSERT_ERR_HAS(&c, "lockcheck: recursive-lock: self_once locked "
			       "again at ");
	lct_child_free(&c);
}
END_TEST

static lc_mutex_t Y = LC_MUTEX_INITIALIZER("Y");
static lc_once_t quiet_once = LC_ONCE_INIT("quiet_once");

static void init_taking_y(void)
{
	OK(lc_mutex_lock(&Y));
	OK(lc_mutex_unlock(&Y));
}

static void callers_hold_other_locks(void *arg)
{
	(void)arg;
	OK(lc_mutex_lock(&X));
	OK(lc_once(&quiet_once, init_taking_y));
	OK(lc_mutex_unlock(&X));
	OK(lc_once(&quiet_once, init_taking_y));
	OK(lc_mutex_lock(&X));
	OK(lc_once(&quiet_once, init_taking_y));
	OK(lc_mutex_unlock(&X));
}

START_TEST(test_once_whose_function_takes_a_free_lock_is_silent)
{
	struct lct_child c = lct_expect_reports(callers_hold_other_locks, NULL,
						NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_scope");
	TCase *core = tcase_create("core");
	TCase *checked = tcase_create("lockcheck");
	SRunner *sr;
	int failed;

	tcase_add_test(core, test_scoped_lock_is_released_at_every_exit);
	tcase_add_test(core, test_scoped_rwlocks_take_their_mode);
	tcase_add_test(core, test_once_runs_its_function_once);
	tcase_add_test(checked, test_scoped_inversion_is_a_cycle);
	tcase_add_test(checked, test_scoped_locks_in_one_order_are_silent);
	tcase_add_test(checked,
		       test_init_taking_what_a_caller_holds_is_a_cycle);
	tcase_add_test(checked,
		       test_once_whose_function_takes_a_free_lock_is_silent);
	if (LOCKCHECK) /* plain pthread_once hangs there */
		tcase_add_test(
			checked,
			test_once_from_its_own_function_is_recursive_lock);
	tcase_set_timeout(checked, 60);
	suite_add_tcase(s, core);
	suite_add_tcase(s, checked);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
