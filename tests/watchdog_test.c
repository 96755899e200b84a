/*
 * watchdog_test.c: LOCKCHECK_WATCHDOG=1 explains real hangs.
 *
 * Each hang runs in a child whose reports go to a log file
 * (LOCKCHECK_LOG); the child's main thread, which does not hang, waits
 * until the log holds the wait-timeout report, copies it to stderr and
 * leaves (the hung threads go with the process). The test asserts the
 * report's first line and its wait-for graph: a real AB/BA deadlock, and
 * a lost wakeup on a condvar (a stall: nobody holds anything the waiter
 * needs), a send on a full channel and a receive on an empty one (how
 * full it is), a pool shutdown waiting for a task that never returns (the
 * pool, the shutdown, the task's thread).
 * Silent twin: a program whose untimed waits are all short, with a timed
 * wait and idle pool workers longer than the period, and pool shutdowns
 * (DRAIN and CANCEL) that wait for tasks. A bad value is a config line.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ds/chan.h"
#include "ds/pool.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

#define OK(call) ck_assert_int_eq((call), 0)

static lc_mutex_t A = LC_MUTEX_INITIALIZER("A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");
static lc_mutex_t M = LC_MUTEX_INITIALIZER("M");
static lc_cond_t ready = LC_COND_INITIALIZER;
static pthread_barrier_t both; /* raw: a step the checker does not see */
static char log_path[4200];

/* Waits (polling the file: the event is the watchdog's write, which no
 * lock or condvar of this program announces) until the log has a
 * wait-timeout report, then copies the log to stderr. */
static void copy_log_after_report(void)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	char *text = NULL;

	for (;;) {
		free(text);
		text = lct_read_file(log_path, NULL);
		if (text && strstr(text, "lockcheck: wait-timeout: "))
			break;
		nanosleep(&tick, NULL);
	}
	fputs(text, stderr);
	fflush(stderr);
	free(text);
}

static void *take_a_then_b(void *arg)
{
	(void)arg;
	lc_thread_set_name("ab");
	OK(lc_mutex_lock(&A));
	pthread_barrier_wait(&both);
	lc_mutex_lock(&B); /* never returns */
	return NULL;
}

static void *take_b_then_a(void *arg)
{
	(void)arg;
	lc_thread_set_name("ba");
	OK(lc_mutex_lock(&B));
	pthread_barrier_wait(&both);
	lc_mutex_lock(&A); /* never returns */
	return NULL;
}

static void ab_ba_hang(void *arg)
{
	pthread_t t1, t2;

	(void)arg;
	pthread_barrier_init(&both, NULL, 2);
	OK(pthread_create(&t1, NULL, take_a_then_b, NULL));
	OK(pthread_create(&t2, NULL, take_b_then_a, NULL));
	copy_log_after_report();
	_exit(0);
}

/* The child's environment: the watchdog at 1 s, reports to the log,
 * unsymbolised (a predicted cycle's report is printed quickly: the thread
 * printing it blocks right after). */
static const char *const *hang_env(void)
{
	static char log_var[4300];
	static const char *env[] = { "LOCKCHECK_WATCHDOG=1",
				     "LOCKCHECK_SYMBOLIZE=0", log_var, NULL };

	snprintf(log_path, sizeof(log_path), "%s/log", lct_tmpdir("watchdog"));
	snprintf(log_var, sizeof(log_var), "LOCKCHECK_LOG=%s", log_path);
	return env;
}

START_TEST(test_ab_ba_hang_is_reported_as_deadlock)
{
	struct lct_child c;
	char got[256];

	LCT_ASSERT_RAN(lct_run_fn(ab_ba_hang, NULL, hang_env(), &c), &c);
	LCT_ASSERT_REPORTS(&c, "wait-timeout", 1);
	LCT_ASSERT_REPORTS(&c, "lock-order-cycle", 1);
	ck_assert(lct_find_line(c.err, "lockcheck: wait-timeout: ", got,
				sizeof(got)));
	ck_assert_str_eq(got, "lockcheck: wait-timeout: deadlock: 2 threads "
			      "each wait for a lock another of them holds "
			      "(blocked over 1 s)");
	LCT_ASSERT_ERR_HAS(&c, "  thread \"ab\" (tid ");
	LCT_ASSERT_ERR_HAS(&c, ") waits for `B` [");
	LCT_ASSERT_ERR_HAS(&c, "    holds `A` [");
	LCT_ASSERT_ERR_HAS(&c, "    it is held by thread \"ba\" (tid ");
	LCT_ASSERT_ERR_HAS(&c, "    it is held by thread \"ab\" (tid ");
	LCT_ASSERT_ERR_HAS(&c, "; that thread is blocked too\n");
	LCT_ASSERT_ERR_HAS(&c, "  predicted earlier by this process: "
			       "lock-order-cycle: ");
	lct_child_free(&c);
}
END_TEST

static int flag; /* set under M: the condition the waiter waits for */

static void *signal_too_early(void *arg)
{
	(void)arg;
	lc_thread_set_name("notifier");
	OK(lc_cond_signal(&ready)); /* bug: the flag is never set */
	return NULL;
}

static void *wait_for_flag(void *arg)
{
	(void)arg;
	lc_thread_set_name("waiter");
	OK(lc_mutex_lock(&M));
	while (!flag)
		OK(lc_cond_wait(&ready, &M)); /* never woken */
	return NULL;
}

static void lost_wakeup(void *arg)
{
	pthread_t t1, t2;

	(void)arg;
	OK(pthread_create(&t1, NULL, signal_too_early, NULL));
	OK(pthread_join(t1, NULL));
	OK(pthread_create(&t2, NULL, wait_for_flag, NULL));
	copy_log_after_report();
	_exit(0);
}

START_TEST(test_lost_wakeup_is_reported_as_stall)
{
	struct lct_child c;
	char got[256];

	LCT_ASSERT_RAN(lct_run_fn(lost_wakeup, NULL, hang_env(), &c), &c);
	LCT_ASSERT_REPORTS(&c, "wait-timeout", 1);
	ck_assert_uint_eq(lct_count_all_reports(&c), 1);
	ck_assert(lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
	ck_assert_str_eq(got, "lockcheck: wait-timeout: stall: 1 thread "
			      "blocked over 1 s; no thread holds anything "
			      "it needs");
	LCT_ASSERT_ERR_HAS(&c, "  thread \"waiter\" (tid ");
	LCT_ASSERT_ERR_HAS(&c, ") waits for condvar [");
	LCT_ASSERT_ERR_HAS(&c, "    holds nothing\n");
	LCT_ASSERT_ERR_HAS(&c, "    last signalled at ");
	LCT_ASSERT_ERR_HAS(&c, " in signal_too_early() by thread tid ");
	lct_child_free(&c);
}
END_TEST

static void *send_five(void *arg)
{
	ds_chan_t *ch = arg;

	lc_thread_set_name("producer");
	for (int i = 0; i < 5; i++)
		OK(ds_chan_send(ch, &i)); /* the fifth never returns */
	return NULL;
}

static void full_channel(void *arg)
{
	ds_chan_t *ch;
	pthread_t t;

	(void)arg;
	OK(ds_chan_create(&ch, 4, sizeof(int), "jobs"));
	OK(pthread_create(&t, NULL, send_five, ch));
	copy_log_after_report();
	_exit(0);
}

START_TEST(test_send_on_full_channel_says_how_full)
{
	struct lct_child c;
	char got[256];

	LCT_ASSERT_RAN(lct_run_fn(full_channel, NULL, hang_env(), &c), &c);
	LCT_ASSERT_REPORTS(&c, "wait-timeout", 1);
	ck_assert_uint_eq(lct_count_all_reports(&c), 1);
	ck_assert(lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
	ck_assert_str_eq(got, "lockcheck: wait-timeout: stall: 1 thread "
			      "blocked over 1 s; no thread holds anything "
			      "it needs");
	LCT_ASSERT_ERR_HAS(&c, "  thread \"producer\" (tid ");
	LCT_ASSERT_ERR_HAS(&c, ") waits for channel `jobs` (room) [");
	LCT_ASSERT_ERR_HAS(&c,
			   "    channel `jobs` (room) holds 4 of 4 items\n");
	lct_child_free(&c);
}
END_TEST

static void *receive_one(void *arg)
{
	int item;

	lc_thread_set_name("consumer");
	OK(ds_chan_recv(arg, &item)); /* never returns */
	return NULL;
}

static void empty_channel(void *arg)
{
	ds_chan_t *ch;
	pthread_t t;

	(void)arg;
	OK(ds_chan_create(&ch, 2, sizeof(int), "results"));
	OK(pthread_create(&t, NULL, receive_one, ch));
	copy_log_after_report();
	_exit(0);
}

START_TEST(test_recv_on_empty_channel_says_how_full)
{
	struct lct_child c;
	char got[256];

	LCT_ASSERT_RAN(lct_run_fn(empty_channel, NULL, hang_env(), &c), &c);
	LCT_ASSERT_REPORTS(&c, "wait-timeout", 1);
	ck_assert(lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
	ck_assert_str_eq(got, "lockcheck: wait-timeout: stall: 1 thread "
			      "blocked over 1 s; no thread holds anything "
			      "it needs");
	LCT_ASSERT_ERR_HAS(&c, "  thread \"consumer\" (tid ");
	LCT_ASSERT_ERR_HAS(&c, "    channel `results` (contents) holds 0 of "
			       "2 items\n");
	lct_child_free(&c);
}
END_TEST

static int never_written[2]; /* a pipe: a task's endless wait, unseen */
static pthread_barrier_t task_began;

static void endless_task(void *arg)
{
	char byte;

	(void)arg;
	pthread_barrier_wait(&task_began);
	while (read(never_written[0], &byte, 1) != 0)
		; /* bug: nobody ever writes, nor closes */
}

static void *shut_down(void *arg)
{
	lc_thread_set_name("closer");
	OK(ds_pool_shutdown(arg, DS_POOL_DRAIN)); /* never returns */
	return NULL;
}

static void endless_task_at_shutdown(void *arg)
{
	ds_pool_t *p;
	pthread_t t;

	(void)arg;
	OK(pipe(never_written));
	pthread_barrier_init(&task_began, NULL, 2);
	OK(ds_pool_create(&p, 2, 2, "workers"));
	OK(ds_pool_submit(p, endless_task, NULL));
	pthread_barrier_wait(&task_began);
	OK(pthread_create(&t, NULL, shut_down, p));
	copy_log_after_report();
	_exit(0);
}

START_TEST(test_shutdown_waiting_for_endless_task_is_reported)
{
	struct lct_child c;
	char got[256];

	LCT_ASSERT_RAN(
		lct_run_fn(endless_task_at_shutdown, NULL, hang_env(), &c), &c);
	LCT_ASSERT_REPORTS(&c, "wait-timeout", 1);
	ck_assert_uint_eq(lct_count_all_reports(&c), 1);
	ck_assert(lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
	ck_assert_str_eq(got, "lockcheck: wait-timeout: stall: 1 thread "
			      "blocked over 1 s");
	LCT_ASSERT_ERR_HAS(&c, "  thread \"closer\" (tid ");
	LCT_ASSERT_ERR_HAS(&c, ") waits for pool `workers` [");
	LCT_ASSERT_ERR_HAS(&c, " in ds_pool_shutdown(), blocked ");
	LCT_ASSERT_ERR_HAS(&c, "    a task runs in it on thread \"workers");
	LCT_ASSERT_ERR_HAS(&c, " in run_task(); that thread is running\n");
	lct_child_free(&c);
}
END_TEST

/* ---- silent twin ---- */

static void *ping(void *arg)
{
	int *turns = arg;

	OK(lc_mutex_lock(&M));
	for (int i = 0; i < 1000; i++) {
		while (*turns % 2 == 0)
			OK(lc_cond_wait(&ready, &M));
		(*turns)++;
		OK(lc_cond_broadcast(&ready));
	}
	OK(lc_mutex_unlock(&M));
	return NULL;
}

static void short_task(void *arg)
{
	const struct timespec tick = { 0, 1000 * 1000 };

	(void)arg;
	nanosleep(&tick, NULL);
}

/* DRAIN and CANCEL shutdowns that wait for running tasks (briefly). */
static void shutdowns_waiting_for_tasks(void)
{
	static const int modes[] = { DS_POOL_DRAIN, DS_POOL_CANCEL };
	ds_pool_t *p;

	for (int m = 0; m < 2; m++) {
		OK(ds_pool_create(&p, 2, 8, "busy"));
		for (int i = 0; i < 8; i++)
			OK(ds_pool_submit(p, short_task, NULL));
		OK(ds_pool_shutdown(p, modes[m]));
	}
}

/* Short untimed waits (a ping-pong), then a timed wait of 2 s that times
 * out while a pool's workers sit idle: longer than the period, never
 * reported. */
static void short_waits(void *arg)
{
	struct timespec deadline;
	int turns = 0;
	ds_pool_t *p;
	pthread_t t;

	(void)arg;
	OK(pthread_create(&t, NULL, ping, &turns));
	OK(lc_mutex_lock(&M));
	for (int i = 0; i < 1000; i++) {
		while (turns % 2 == 1)
			OK(lc_cond_wait(&ready, &M));
		turns++;
		OK(lc_cond_broadcast(&ready));
	}
	OK(lc_mutex_unlock(&M));
	OK(pthread_join(t, NULL));
	OK(ds_pool_create(&p, 2, 2, "idle"));
	OK(lc_mutex_lock(&M));
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2;
	ck_assert_int_eq(lc_cond_timedwait(&ready, &M, &deadline), ETIMEDOUT);
	OK(lc_mutex_unlock(&M));
	OK(ds_pool_shutdown(p, DS_POOL_DRAIN));
	shutdowns_waiting_for_tasks();
}

START_TEST(test_short_and_timed_waits_are_silent)
{
	const char *env[] = { "LOCKCHECK_WATCHDOG=1", NULL };
	struct lct_child c =
		lct_expect_reports(short_waits, NULL, env, NULL, 0);

	lct_child_free(&c);
}
END_TEST

static void lock_once(void *arg)
{
	(void)arg;
	OK(lc_mutex_lock(&A));
	OK(lc_mutex_unlock(&A));
}

START_TEST(test_bad_watchdog_value_is_a_config_line)
{
	const char *env[] = { "LOCKCHECK_WATCHDOG=soon", NULL };
	struct lct_child c =
		lct_expect_reports(lock_once, NULL, env, "config", 1);
	char got[256];

	ck_assert(lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
	ck_assert_str_eq(got, "lockcheck: config: LOCKCHECK_WATCHDOG=\"soon\": "
			      "not a number of seconds; accepted: 1 to 86400 "
			      "(an untimed wait longer than that is "
			      "reported); the watchdog stays off");
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("watchdog");
	TCase *tc = tcase_create("lockcheck");
	SRunner *sr;
	int failed;

	if (LOCKCHECK) {
		tcase_add_test(tc, test_ab_ba_hang_is_reported_as_deadlock);
		tcase_add_test(tc, test_lost_wakeup_is_reported_as_stall);
		tcase_add_test(tc, test_send_on_full_channel_says_how_full);
		tcase_add_test(tc, test_recv_on_empty_channel_says_how_full);
		tcase_add_test(
			tc, test_shutdown_waiting_for_endless_task_is_reported);
		tcase_add_test(tc, test_bad_watchdog_value_is_a_config_line);
	}
	tcase_add_test(tc, test_short_and_timed_waits_are_silent);
	tcase_set_timeout(tc, 90);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
