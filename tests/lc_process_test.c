/*
 * lc_process_test.c: the checker inside a real process's life: fork
 * handlers that take locks, thread cancellation (in the checker's slow path
 * and inside a condition wait), a SIGABRT handler that exits, destructors
 * that release locks as a thread ends. The checker must never hang the host
 * and never report something the program did right.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static lc_mutex_t A = LC_MUTEX_INITIALIZER("A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");

/* ---- fork ---- */

/* The classic prepare handler: take every lock of the subsystem, in order,
 * so the child inherits them consistent. Registered before the checker has
 * been used: a first-time chain inside it needs the checker's slow path. */
static void prepare(void)
{
	lc_mutex_lock(&A);
	lc_mutex_lock(&B);
}

static void release_both(void)
{
	lc_mutex_unlock(&B);
	lc_mutex_unlock(&A);
}

static void fork_with_lock_taking_handlers(void *arg)
{
	int status;
	pid_t pid;

	(void)arg;
	ck_assert_int_eq(pthread_atfork(prepare, release_both, release_both),
			 0);
	lc_mutex_lock(&A); /* the checker starts after the handlers exist */
	lc_mutex_unlock(&A);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		lc_mutex_lock(&A); /* the child's locks work */
		lc_mutex_unlock(&A);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

START_TEST(test_fork_handlers_taking_locks_do_not_hang)
{
	struct lct_child c = lct_expect_reports(fork_with_lock_taking_handlers,
						NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- cancellation ---- */

static void *cancel_during_report(void *arg)
{
	(void)arg;
	lc_mutex_lock(&B);
	lc_mutex_lock(&A);
	lc_mutex_unlock(&A);
	lc_mutex_unlock(&B);
	pthread_cancel(pthread_self()); /* pending: the report's write() or
					   addr2line's read() would act on it */
	lc_mutex_lock(&A);
	lc_mutex_lock(&B); /* closes B -> A -> B: a report */
	lc_mutex_unlock(&B);
	lc_mutex_unlock(&A);
	pthread_testcancel();
	return NULL;
}

static void cancelled_while_reporting(void *arg)
{
	pthread_t t;
	void *ret;

	(void)arg;
	pthread_create(&t, NULL, cancel_during_report, NULL);
	ck_assert_int_eq(pthread_join(t, &ret), 0);
	ck_assert_ptr_eq(ret, PTHREAD_CANCELED);
	lc_mutex_lock(&A); /* the checker is still usable */
	lc_mutex_lock(&B);
	lc_mutex_unlock(&B);
	lc_mutex_unlock(&A);
}

START_TEST(test_cancellation_during_a_report_does_not_hang)
{
	struct lct_child c =
		lct_expect_reports(cancelled_while_reporting, NULL, NULL,
				   "lock-order-cycle", LOCKCHECK);

	lct_child_free(&c);
}
END_TEST

static lc_cond_t never = LC_COND_INITIALIZER;

static void unlock_a(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_unlock(&A), 0);
}

static void *wait_forever(void *arg)
{
	pthread_barrier_t *ready = arg;

	lc_mutex_lock(&A);
	pthread_cleanup_push(unlock_a, NULL);
	pthread_barrier_wait(ready);
	for (;;)
		lc_cond_wait(&never, &A); /* cancelled in here */
	pthread_cleanup_pop(0);
	return NULL;
}

/* glibc takes the mutex back before the cancellation handlers run: the
 * usual handler unlocks it, and the checker must know it is held. */
static void cancel_a_condition_wait(void *arg)
{
	pthread_barrier_t ready;
	pthread_t t;

	(void)arg;
	pthread_barrier_init(&ready, NULL, 2);
	pthread_create(&t, NULL, wait_forever, &ready);
	pthread_barrier_wait(&ready);
	lc_mutex_lock(&A); /* only once the waiter waits */
	lc_mutex_unlock(&A);
	pthread_cancel(t);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(lc_mutex_trylock(&A), 0); /* it was released */
	lc_mutex_unlock(&A);
}

START_TEST(test_cancelled_condition_wait_keeps_the_mutex_held)
{
	struct lct_child c = lct_expect_reports(cancel_a_condition_wait, NULL,
						NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- exit paths ---- */

static void exit_from_handler(int sig)
{
	(void)sig;
	exit(9);
}

static void abba_with_abort_handler(void *arg)
{
	(void)arg;
	signal(SIGABRT, exit_from_handler);
	lc_mutex_lock(&A);
	lc_mutex_lock(&B);
	lc_mutex_unlock(&B);
	lc_mutex_unlock(&A);
	lc_mutex_lock(&B);
	lc_mutex_lock(&A); /* the report, then abort(), then exit(9) */
}

/* The checker aborts holding its own lock; exit() from the handler runs
 * the checker's exit hook on the same thread, which takes that lock to
 * write the dump and applies the finding's exit status. */
START_TEST(test_abort_handler_that_exits_does_not_hang)
{
	const char *dir = lct_tmpdir("abort_exit");
	char dump_env[4200];
	const char *env[] = { "LOCKCHECK_ACTION=abort", dump_env, NULL };
	struct lct_child c;
	char *dump;

	snprintf(dump_env, sizeof(dump_env), "LOCKCHECK_DUMP=%s", dir);
	LCT_ASSERT_RAN(lct_run_fn(abba_with_abort_handler, NULL, env, &c), &c);
	LCT_ASSERT_EXITED(&c, LCT_FINDING_EXIT);
	dump = lct_read_only_dump(dir); /* written before the abort, once */
	ck_assert_ptr_nonnull(dump);
	free(dump);
	LCT_ASSERT_REPORTS(&c, "lock-order-cycle", 1);
	lct_child_free(&c);
}
END_TEST

static pthread_key_t releaser;

static void release_in_destructor(void *arg)
{
	ck_assert_int_eq(lc_mutex_unlock((lc_mutex_t *)arg), 0);
}

static void *hold_until_destructor(void *arg)
{
	(void)arg;
	lc_mutex_lock(&B);
	pthread_setspecific(releaser, &B);
	return NULL; /* B is released by the destructor, after the return */
}

/* The key is made after the checker's own, so its destructor runs later:
 * the checker must not call B held at exit, nor its unlock unheld. */
static void destructor_releases_a_lock(void *arg)
{
	pthread_t t;

	(void)arg;
	lc_mutex_lock(&A); /* the checker's key exists from here */
	lc_mutex_unlock(&A);
	pthread_key_create(&releaser, release_in_destructor);
	pthread_create(&t, NULL, hold_until_destructor, NULL);
	pthread_join(t, NULL);
	ck_assert_int_eq(lc_mutex_trylock(&B), 0);
	lc_mutex_unlock(&B);
}

START_TEST(test_lock_released_by_a_later_destructor_is_not_exit_held)
{
	struct lct_child c = lct_expect_reports(destructor_releases_a_lock,
						NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_process");
	TCase *tc = tcase_create("threads");

	tcase_add_test(tc, test_fork_handlers_taking_locks_do_not_hang);
	tcase_add_test(tc, test_cancellation_during_a_report_does_not_hang);
	tcase_add_test(tc, test_cancelled_condition_wait_keeps_the_mutex_held);
	tcase_add_test(
		tc, test_lock_released_by_a_later_destructor_is_not_exit_held);
	if (LOCKCHECK) /* a real self-deadlock without the checker */
		tcase_add_test(tc, test_abort_handler_that_exits_does_not_hang);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
