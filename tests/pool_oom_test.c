/*
 * pool_oom_test.c: ds_pool_create meets a failed allocation at every
 * point it allocates (its own memory, and the memory pthread_create needs
 * for a new thread's stack bookkeeping), and each time returns the error
 * with nothing leaked: every worker it had started is joined (the process
 * has as many threads as before). Submitting and the stats never
 * allocate.
 *
 * The failures come from testdata/failalloc.h (glibc's allocator replaced
 * for this binary), so the cases run in the plain and lockcheck builds and
 * are left out of the sanitizer builds, which own malloc.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "ds/pool.h"
#include "testdata/failalloc.h"
#include "testdata/threadcount.h"
#include "testutil.h"

static atomic_int ran;

static void count(void *arg)
{
	(void)arg;
	atomic_fetch_add(&ran, 1);
}

/* Every pool of the sweep and its warm-up: one create site and name, so
 * one class for the checker (made by the warm-up, before the sweep). */
static int create_pool(ds_pool_t **p, size_t nworkers, size_t cap)
{
	return ds_pool_create(p, nworkers, cap, "oom");
}

/* One create with allocation n failing: its error, or 0 after a use. */
static int create_failing_at(long n, bool *fired)
{
	ds_pool_t *p = NULL;
	int err;

	failalloc_arm_here(n); /* the workers' own allocations vary by run */
	err = create_pool(&p, 4, 2);
	*fired = failalloc_disarm();
	if (err) {
		ck_assert_ptr_null(p);
		return err;
	}
	atomic_store(&ran, 0);
	ck_assert_int_eq(ds_pool_submit(p, count, NULL), 0);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
	ck_assert_int_eq(atomic_load(&ran), 1);
	return 0;
}

/* A pool with one worker made and ended before the sweep: the checker
 * (LOCKCHECK=1) has its class and thread state by then, and glibc has one
 * cached thread stack, so the sweep's creates start their first worker
 * without an allocation and reach the failing pthread_create of a later
 * one: the half-way case. */
static void warm_up(void)
{
	ds_pool_t *p = NULL;

	ck_assert_int_eq(create_pool(&p, 1, 1), 0);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
}

START_TEST(test_create_fails_cleanly_at_every_allocation)
{
	int threads = threadcount_baseline();
	long nomem = 0, nothread = 0;

	warm_up();
	ck_assert_int_eq(threadcount_settle(threads), threads);

	for (long n = 0;; n++) {
		bool fired;
		int err = create_failing_at(n, &fired);

		ck_assert(err == 0 || err == ENOMEM || err == EAGAIN);
		ck_assert_int_eq(threadcount_settle(threads), threads);
		nomem += err == ENOMEM;
		nothread += err == EAGAIN;
		if (!err && !fired)
			break; /* got past every allocation */
	}
	ck_assert_int_gt(nomem, 0);
	ck_assert_int_gt(nothread, 0); /* pthread_create failed too */
}
END_TEST

static void meet(void *arg)
{
	pthread_barrier_wait(arg);
	count(NULL);
}

/* Every worker has taken a task, run it and gone back to waiting: the
 * checker (LOCKCHECK=1) has met all of the pool's lock paths by then. */
static void warm_up_workers(ds_pool_t *p)
{
	struct ds_pool_stats st = { .completed = 0 };
	pthread_barrier_t both;

	pthread_barrier_init(&both, NULL, 2);
	atomic_store(&ran, 0);
	ck_assert_int_eq(ds_pool_submit(p, meet, &both), 0);
	ck_assert_int_eq(ds_pool_submit(p, meet, &both), 0);
	while (st.completed != 2 || st.running != 0)
		ck_assert_int_eq(ds_pool_stats(p, &st), 0);
	pthread_barrier_destroy(&both);
}

START_TEST(test_submitting_does_not_allocate)
{
	ds_pool_t *p = NULL;
	struct ds_pool_stats st;
	int err[4];

	ck_assert_int_eq(ds_pool_create(&p, 2, 4, "oom"), 0);
	warm_up_workers(p);
	atomic_store(&ran, 0);
	failalloc_arm(0); /* no ck_assert while armed: Check allocates */
	err[0] = ds_pool_submit(p, count, NULL);
	err[1] = ds_pool_try_submit(p, count, NULL);
	err[2] = ds_pool_submit_timeout(p, count, NULL, 1000);
	err[3] = ds_pool_stats(p, &st);
	ck_assert(!failalloc_disarm());
	ck_assert_int_eq(err[0] + err[1] + err[2] + err[3], 0);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
	ck_assert_int_eq(atomic_load(&ran), 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool_oom");
	TCase *core = tcase_create("core");

	/* The sweep starves the checker too: its limit findings are
	 * expected here, and are not what the exit status should say. */
	setenv("LOCKCHECK_EXITCODE", "0", 1);
	if (FAILALLOC) {
		tcase_add_test(core,
			       test_create_fails_cleanly_at_every_allocation);
		tcase_add_test(core, test_submitting_does_not_allocate);
	}
	suite_add_tcase(s, core);
	return lct_run_suite(s);
}
