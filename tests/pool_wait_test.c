/*
 * pool_wait_test.c: a pool is a wait node. A task runs inside its pool; a
 * blocking submit (full queue) and a shutdown that joins the workers wait
 * on it. So a task that takes `X` while a submitter or a shutdown waits
 * holding `X` is a wait-cycle. The waits here do not hang: the submit is
 * timed (0 ms, it counts) and the shutdown has no task left to wait for.
 * Silent twins: ordinary use (tasks take `X`, nobody waits holding it), a
 * submitter holding a lock no task takes, DRAIN and CANCEL shutdowns.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "ds/pool.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

#define OK(call) ck_assert_int_eq((call), 0)

static lc_mutex_t X = LC_MUTEX_INITIALIZER("X");
static lc_mutex_t Y = LC_MUTEX_INITIALIZER("Y");
static sem_t go, done; /* raw semaphores: steps the checker does not see */
static atomic_int ran;

static void take_x(void *arg)
{
	(void)arg;
	OK(lc_mutex_lock(&X));
	ran++;
	OK(lc_mutex_unlock(&X));
	sem_post(&done);
}

static void take_y(void *arg)
{
	(void)arg;
	OK(lc_mutex_lock(&Y));
	ran++;
	OK(lc_mutex_unlock(&Y));
	sem_post(&done);
}

/* Keeps the one worker busy until `go` is posted. */
static void blocker(void *arg)
{
	(void)arg;
	sem_wait(&go);
}

static void noop(void *arg)
{
	(void)arg;
}

/* One worker, one slot: busy worker, full queue, then a timed submit
 * holding `lock` while the queued task takes `X`. */
static void submit_holding(lc_mutex_t *lock, void (*queued)(void *))
{
	ds_pool_t *p;

	sem_init(&go, 0, 0);
	sem_init(&done, 0, 0);
	OK(ds_pool_create(&p, 1, 1, "workers"));
	OK(ds_pool_submit(p, blocker, NULL));
	OK(ds_pool_submit(p, queued, NULL));
	OK(lc_mutex_lock(lock));
	ck_assert_int_eq(ds_pool_submit_timeout(p, noop, NULL, 0), ETIMEDOUT);
	OK(lc_mutex_unlock(lock));
	sem_post(&go);
	sem_wait(&done);
	OK(ds_pool_shutdown(p, DS_POOL_DRAIN));
	ck_assert_int_eq(ran, 1);
}

static void submit_holding_x(void *arg)
{
	(void)arg;
	submit_holding(&X, take_x);
}

START_TEST(test_task_needing_what_a_blocked_submitter_holds_is_reported)
{
	struct lct_child c = lct_expect_reports(submit_holding_x, NULL, NULL,
						"wait-cycle", LOCKCHECK);
	char got[256];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_str_eq(got, "lockcheck: wait-cycle: pool `workers` "
				      "-> `X` -> pool `workers` (1 lock, "
				      "1 wait, 2 threads)");
		LCT_ASSERT_ERR_HAS(&c, "`X` held while waiting on pool "
				       "`workers` at ");
		LCT_ASSERT_ERR_HAS(&c, "pool `workers` held while wanting `X`");
	}
	lct_child_free(&c);
}
END_TEST

/* A task took `X`; later the shutdown waits for the tasks holding `X`. */
static void shutdown_holding_x(void *arg)
{
	ds_pool_t *p;

	(void)arg;
	sem_init(&done, 0, 0);
	OK(ds_pool_create(&p, 2, 4, "workers"));
	OK(ds_pool_submit(p, take_x, NULL));
	sem_wait(&done);
	OK(lc_mutex_lock(&X));
	OK(ds_pool_shutdown(p, DS_POOL_DRAIN));
	OK(lc_mutex_unlock(&X));
}

START_TEST(test_shutdown_holding_what_a_task_needs_is_reported)
{
	struct lct_child c = lct_expect_reports(shutdown_holding_x, NULL, NULL,
						"wait-cycle", LOCKCHECK);

	if (LOCKCHECK)
		LCT_ASSERT_ERR_HAS(&c, "lockcheck: wait-cycle: `X` -> pool "
				       "`workers` -> `X` (1 lock, 1 wait, "
				       "2 threads)");
	lct_child_free(&c);
}
END_TEST

/* ---- silent twins ---- */

static void submit_holding_y(void *arg)
{
	(void)arg;
	submit_holding(&Y, take_x);
}

START_TEST(test_submitter_holding_a_lock_no_task_takes_is_silent)
{
	struct lct_child c =
		lct_expect_reports(submit_holding_y, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* Many tasks take `X` and `Y`; submitters and the shutdown hold nothing. */
static void ordinary_use(void *arg)
{
	int mode = arg ? DS_POOL_CANCEL : DS_POOL_DRAIN;
	ds_pool_t *p;

	sem_init(&done, 0, 0);
	OK(ds_pool_create(&p, 3, 2, "workers"));
	for (int i = 0; i < 200; i++)
		OK(ds_pool_submit(p, i % 2 ? take_x : take_y, NULL));
	OK(lc_mutex_lock(&X));
	OK(lc_mutex_unlock(&X));
	OK(ds_pool_shutdown(p, mode));
	if (mode == DS_POOL_DRAIN)
		ck_assert_int_eq(ran, 200);
}

START_TEST(test_ordinary_use_with_drain_is_silent)
{
	struct lct_child c =
		lct_expect_reports(ordinary_use, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

START_TEST(test_ordinary_use_with_cancel_is_silent)
{
	static int cancel;
	struct lct_child c =
		lct_expect_reports(ordinary_use, &cancel, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* A task asserting that it holds no lock: running inside the pool is not
 * holding one. */
static void lockless_task(void *arg)
{
	(void)arg;
	lc_assert_no_locks_held();
	sem_post(&done);
}

static void task_asserts_lockless(void *arg)
{
	ds_pool_t *p;

	(void)arg;
	sem_init(&done, 0, 0);
	OK(ds_pool_create(&p, 1, 1, "workers"));
	OK(ds_pool_submit(p, lockless_task, NULL));
	sem_wait(&done);
	OK(ds_pool_shutdown(p, DS_POOL_DRAIN));
}

START_TEST(test_task_holds_no_lock_inside_its_pool)
{
	struct lct_child c =
		lct_expect_reports(task_asserts_lockless, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool_wait");
	TCase *tc = tcase_create("lockcheck");
	SRunner *sr;
	int failed;

	tcase_add_test(
		tc,
		test_task_needing_what_a_blocked_submitter_holds_is_reported);
	tcase_add_test(tc, test_shutdown_holding_what_a_task_needs_is_reported);
	tcase_add_test(tc,
		       test_submitter_holding_a_lock_no_task_takes_is_silent);
	tcase_add_test(tc, test_ordinary_use_with_drain_is_silent);
	tcase_add_test(tc, test_ordinary_use_with_cancel_is_silent);
	tcase_add_test(tc, test_task_holds_no_lock_inside_its_pool);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
