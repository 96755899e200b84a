/*
 * race_fork_test.c: a fork while another thread exits. The exit writes
 * the dump, which takes the checker's lock and then the race inventory's
 * mutex; the fork hooks must take them in the same order, or the two
 * threads wait for each other forever (the child's alarm then ends it).
 *
 * The test's own fork hook is registered before the first race call, so
 * a race checker that registered hooks of its own at that call would run
 * its prepare part (taking the inventory's mutex) before the test's, and
 * the core's (taking the checker's lock) after it. The test's hook lets
 * the main thread exit and never returns: the exit must end the process
 * while the fork waits there, holding none of the checker's locks.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static atomic_bool preparing;

static void test_prepare(void)
{
	atomic_store(&preparing, true);
	for (;;)
		pause(); /* until the exit ends the process */
}

static void *fork_once(void *arg)
{
	(void)arg;
	fork();
	return NULL; /* not reached */
}

static lc_mutex_t stats_lock = LC_MUTEX_INITIALIZER("stats_lock");
static long hits;

/* A range in the inventory (so the dump takes its mutex), then a fork
 * on another thread while this one exits. */
static void fork_while_exiting(void *arg)
{
	pthread_t forker;

	(void)arg;
	if (pthread_atfork(test_prepare, NULL, NULL) != 0)
		_exit(3);
	lc_mutex_lock(&stats_lock);
	LC_WRITE(hits, LC_READ(hits) + 1);
	lc_mutex_unlock(&stats_lock);
	if (pthread_create(&forker, NULL, fork_once, NULL) != 0)
		_exit(4);
	while (!atomic_load(&preparing))
		sched_yield();
	exit(0);
}

START_TEST(test_fork_while_exiting_finishes)
{
	struct lct_child c =
		lct_expect_reports(fork_while_exiting, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("race_fork");
	TCase *core = tcase_create("core");

	tcase_add_test(core, test_fork_while_exiting_finishes);
	suite_add_tcase(s, core);
	return lct_run_suite(s);
}
