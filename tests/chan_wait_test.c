/*
 * chan_wait_test.c: a channel's room and contents are wait nodes. A send
 * that waits for room while holding `X`, and a receive made holding `X`
 * (the event that would make room), are a wait-cycle: the sender holds
 * what its waker needs. The waits here are timed (0 ms: they count and
 * never block), so the hazard shows without a hang. Silent twins: a
 * pipeline whose stages hold nothing, a sender holding a lock no receiver
 * needs, and two unrelated channels, which never merge.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/chan.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

#define OK(call) ck_assert_int_eq((call), 0)

static lc_mutex_t X = LC_MUTEX_INITIALIZER("X");
static lc_mutex_t Y = LC_MUTEX_INITIALIZER("Y");
static ds_chan_t *jobs, *other;

static void make_jobs(void)
{
	OK(ds_chan_create(&jobs, 1, sizeof(int), "jobs"));
}

static void make_other(void)
{
	OK(ds_chan_create(&other, 1, sizeof(int), "other"));
}

/* Receives one item from ch holding lock. */
static void recv_holding(ds_chan_t *ch, lc_mutex_t *lock)
{
	int v;

	OK(lc_mutex_lock(lock));
	OK(ds_chan_try_recv(ch, &v));
	OK(lc_mutex_unlock(lock));
}

static void consumer(void *arg)
{
	recv_holding(arg, &X);
}

/* Fills ch, then sends once more holding lock: a (timed) wait for room. */
static void send_waiting_holding(ds_chan_t *ch, lc_mutex_t *lock)
{
	int v = 1;

	OK(ds_chan_send(ch, &v));
	OK(lc_mutex_lock(lock));
	ck_assert_int_eq(ds_chan_send_timeout(ch, &v, 0), ETIMEDOUT);
	OK(lc_mutex_unlock(lock));
}

static void producer(void *arg)
{
	send_waiting_holding(arg, &X);
}

static void send_holding_what_receiver_holds(void *arg)
{
	int v = 1;

	(void)arg;
	make_jobs();
	OK(ds_chan_send(jobs, &v));
	lct_in_named_thread("consumer", consumer, jobs);
	lct_in_named_thread("producer", producer, jobs);
}

START_TEST(test_send_holding_what_the_receiver_needs_is_reported)
{
	struct lct_child c =
		lct_expect_reports(send_holding_what_receiver_holds, NULL, NULL,
				   "wait-cycle", LOCKCHECK);
	char got[256];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_str_eq(got, "lockcheck: wait-cycle: `X` -> channel "
				      "`jobs` (room) -> `X` (1 lock, 1 wait, "
				      "2 threads)");
		LCT_ASSERT_ERR_HAS(&c, "`X` held while waiting on channel "
				       "`jobs` (room) at ");
		LCT_ASSERT_ERR_HAS(&c, "channel `jobs` (room) signalled "
				       "holding `X` at ");
	}
	lct_child_free(&c);
}
END_TEST

/* The receiver holds `X` while it waits for contents; the sender pushes
 * holding `X`. */
static void recv_waiting(void *arg)
{
	int v;

	(void)arg;
	OK(lc_mutex_lock(&X));
	ck_assert_int_eq(ds_chan_recv_timeout(jobs, &v, 0), ETIMEDOUT);
	OK(lc_mutex_unlock(&X));
}

static void send_holding(void *arg)
{
	int v = 1;

	(void)arg;
	OK(lc_mutex_lock(&X));
	OK(ds_chan_send(jobs, &v));
	OK(lc_mutex_unlock(&X));
}

static void recv_holding_what_sender_needs(void *arg)
{
	(void)arg;
	make_jobs();
	lct_in_named_thread("receiver", recv_waiting, NULL);
	lct_in_named_thread("sender", send_holding, NULL);
}

START_TEST(test_recv_holding_what_the_sender_needs_is_reported)
{
	struct lct_child c =
		lct_expect_reports(recv_holding_what_sender_needs, NULL, NULL,
				   "wait-cycle", LOCKCHECK);

	if (LOCKCHECK)
		LCT_ASSERT_ERR_HAS(&c, "lockcheck: wait-cycle: channel `jobs` "
				       "(contents) -> `X` -> channel `jobs` "
				       "(contents) (1 lock, 1 wait, "
				       "2 threads)");
	lct_child_free(&c);
}
END_TEST

/* ---- silent twins ---- */

/* The sender waits holding `X`; the receiver of the same channel holds
 * `Y`, which no sender needs. */
static void receiver_holds_another(void *arg)
{
	(void)arg;
	recv_holding(jobs, &Y);
}

static void send_holding_unneeded_lock(void *arg)
{
	int v = 1;

	(void)arg;
	make_jobs();
	OK(ds_chan_send(jobs, &v));
	lct_in_thread(receiver_holds_another, NULL);
	lct_in_thread(producer, jobs);
}

START_TEST(test_send_holding_a_lock_no_receiver_needs_is_silent)
{
	struct lct_child c = lct_expect_reports(send_holding_unneeded_lock,
						NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* One channel's sender waits holding `X`; another channel's receiver
 * holds `X`: different create sites, different nodes. */
static void unrelated_channels(void *arg)
{
	int v = 1;

	(void)arg;
	make_jobs();
	make_other();
	OK(ds_chan_send(other, &v));
	lct_in_thread(consumer, other);
	lct_in_thread(producer, jobs);
}

START_TEST(test_unrelated_channels_never_merge)
{
	struct lct_child c =
		lct_expect_reports(unrelated_channels, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* source -> a -> doubler -> b -> sink, blocking calls, nothing held. */
struct stage {
	ds_chan_t *in, *out;
	long sum;
};

static void *doubler(void *arg)
{
	struct stage *s = arg;
	int v;

	while (ds_chan_recv(s->in, &v) == 0) {
		v *= 2;
		OK(ds_chan_send(s->out, &v));
	}
	OK(ds_chan_close(s->out));
	return NULL;
}

static void *sink(void *arg)
{
	struct stage *s = arg;
	int v;

	while (ds_chan_recv(s->in, &v) == 0)
		s->sum += v;
	return NULL;
}

static void pipeline(void *arg)
{
	ds_chan_t *a, *b;
	struct stage mid, end = { .sum = 0 };
	pthread_t t1, t2;

	(void)arg;
	OK(ds_chan_create(&a, 2, sizeof(int), "a"));
	OK(ds_chan_create(&b, 2, sizeof(int), "b"));
	mid = (struct stage){ a, b, 0 };
	end.in = b;
	OK(pthread_create(&t1, NULL, doubler, &mid));
	OK(pthread_create(&t2, NULL, sink, &end));
	for (int i = 1; i <= 1000; i++)
		OK(ds_chan_send(a, &i));
	OK(ds_chan_close(a));
	OK(pthread_join(t1, NULL));
	OK(pthread_join(t2, NULL));
	ck_assert_int_eq(end.sum, 1000L * 1001);
	ds_chan_destroy(a);
	ds_chan_destroy(b);
}

START_TEST(test_pipeline_is_silent)
{
	struct lct_child c = lct_expect_reports(pipeline, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chan_wait");
	TCase *tc = tcase_create("lockcheck");
	SRunner *sr;
	int failed;

	tcase_add_test(tc,
		       test_send_holding_what_the_receiver_needs_is_reported);
	tcase_add_test(tc, test_recv_holding_what_the_sender_needs_is_reported);
	tcase_add_test(tc,
		       test_send_holding_a_lock_no_receiver_needs_is_silent);
	tcase_add_test(tc, test_unrelated_channels_never_merge);
	tcase_add_test(tc, test_pipeline_is_silent);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
