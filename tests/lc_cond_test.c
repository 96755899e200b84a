/*
 * lc_cond_test.c: lc_cond_wait releases its mutex and takes it again, for
 * the checker too. Waiting on M's condition while holding B re-acquires M
 * under B: with M->B known that is a real hazard (a thread holding M waits
 * for B, held by the waiter, who wakes up wanting M) and it is reported
 * before the wait. An ordinary producer/consumer stays silent, and a wait
 * on a mutex the checker could not record (beyond LOCKCHECK_MAX_HELD)
 * waits as it would without the checker.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static lc_mutex_t M = LC_MUTEX_INITIALIZER("M");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");
static lc_cond_t cond = LC_COND_INITIALIZER;
static const struct timespec long_ago = { 0, 0 };

static void wait_holding_b(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_lock(&M), 0);
	ck_assert_int_eq(lc_mutex_lock(&B), 0); /* M -> B */
	ck_assert_int_eq(lc_cond_timedwait(&cond, &M, &long_ago), ETIMEDOUT);
	lc_assert_held(&M); /* taken again */
	ck_assert_int_eq(lc_mutex_unlock(&B), 0);
	ck_assert_int_eq(lc_mutex_unlock(&M), 0);
}

START_TEST(test_wait_reacquiring_under_another_lock_is_reported)
{
	struct lct_child c = lct_expect_reports(wait_holding_b, NULL, NULL,
						"lock-order-cycle", LOCKCHECK);
	char got[256];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_str_eq(got,
				 "lockcheck: lock-order-cycle: B -> M -> B "
				 "(2 locks, 1 thread)");
	}
	lct_child_free(&c);
}
END_TEST

struct queue {
	lc_mutex_t lock;
	lc_cond_t nonempty, nonfull;
	int items, produced, consumed;
};

static void *consumer(void *arg)
{
	struct queue *q = arg;

	lc_thread_set_name("consumer");
	ck_assert_int_eq(lc_mutex_lock(&q->lock), 0);
	while (q->consumed < 1000) {
		while (q->items == 0)
			ck_assert_int_eq(lc_cond_wait(&q->nonempty, &q->lock),
					 0);
		q->items--;
		q->consumed++;
		lc_cond_signal(&q->nonfull);
	}
	ck_assert_int_eq(lc_mutex_unlock(&q->lock), 0);
	return NULL;
}

static void producer_consumer(void *arg)
{
	struct queue q = { .items = 0 };
	pthread_t t;

	(void)arg;
	lc_mutex_init(&q.lock, "queue");
	lc_cond_init(&q.nonempty);
	lc_cond_init(&q.nonfull);
	pthread_create(&t, NULL, consumer, &q);
	ck_assert_int_eq(lc_mutex_lock(&q.lock), 0);
	while (q.produced < 1000) {
		while (q.items == 4)
			ck_assert_int_eq(lc_cond_wait(&q.nonfull, &q.lock), 0);
		q.items++;
		q.produced++;
		lc_cond_signal(&q.nonempty);
	}
	ck_assert_int_eq(lc_mutex_unlock(&q.lock), 0);
	pthread_join(t, NULL);
	ck_assert_int_eq(q.consumed, 1000);
}

START_TEST(test_producer_consumer_is_silent)
{
	struct lct_child c =
		lct_expect_reports(producer_consumer, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

static void wait_without_mutex(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_cond_timedwait(&cond, &M, &long_ago), EPERM);
}

START_TEST(test_wait_without_holding_the_mutex_is_reported)
{
	struct lct_child c = lct_expect_reports(wait_without_mutex, NULL, NULL,
						"unlock-not-held", 1);

	ck_assert_ptr_nonnull(strstr(c.err, "lockcheck: unlock-not-held: M "
					    "waited on (lc_cond_wait) at "));
	lct_child_free(&c);
}
END_TEST

/* ---- lc_cond_init_clock ---- */

struct flag {
	lc_mutex_t lock;
	lc_cond_t set;
	int value;
};

static void *raise_flag(void *arg)
{
	struct flag *f = arg;

	lc_mutex_lock(&f->lock); /* only once the waiter waits */
	f->value = 1;
	lc_cond_signal(&f->set);
	lc_mutex_unlock(&f->lock);
	return NULL;
}

/* A deadline an hour ahead on the monotonic clock: were the condition on
 * the wall clock, that instant (seconds since boot) lies decades in the
 * past and the wait would time out at once. */
START_TEST(test_monotonic_condition_waits_for_its_deadline)
{
	struct flag f = { .value = 0 };
	struct timespec deadline;
	pthread_t t;

	lc_mutex_init(&f.lock, "flag");
	ck_assert_int_eq(lc_cond_init_clock(&f.set, CLOCK_MONOTONIC), 0);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += 3600;
	lc_mutex_lock(&f.lock);
	pthread_create(&t, NULL, raise_flag, &f);
	while (!f.value)
		ck_assert_int_eq(lc_cond_timedwait(&f.set, &f.lock, &deadline),
				 0);
	lc_mutex_unlock(&f.lock);
	pthread_join(t, NULL);
	lc_cond_destroy(&f.set);
	lc_mutex_destroy(&f.lock);
}
END_TEST

/* ---- a mutex beyond LOCKCHECK_MAX_HELD ---- */

/* The checker does not record a lock that does not fit in the held stack:
 * a wait on it must still wait, as it would without the checker. */
static void wait_on_untracked_mutex(void *arg)
{
	lc_mutex_t fill[2];
	struct flag f = { .value = 0 };
	pthread_t t;

	(void)arg;
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(lc_mutex_init(&fill[i], "fill"), 0);
		lc_mutex_set_order(&fill[i], (uint64_t)i);
		ck_assert_int_eq(lc_mutex_lock(&fill[i]), 0);
	}
	ck_assert_int_eq(lc_mutex_init(&f.lock, "flag"), 0);
	ck_assert_int_eq(lc_cond_init(&f.set), 0);
	ck_assert_int_eq(lc_mutex_lock(&f.lock), 0); /* the third: no room */
	ck_assert_int_eq(pthread_create(&t, NULL, raise_flag, &f), 0);
	while (!f.value)
		ck_assert_int_eq(lc_cond_wait(&f.set, &f.lock), 0);
	ck_assert_int_eq(lc_cond_timedwait(&f.set, &f.lock, &long_ago),
			 ETIMEDOUT);
	ck_assert_int_eq(lc_mutex_unlock(&f.lock), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	for (int i = 1; i >= 0; i--)
		ck_assert_int_eq(lc_mutex_unlock(&fill[i]), 0);
}

START_TEST(test_wait_on_untracked_mutex_waits)
{
	const char *env[] = { "LOCKCHECK_MAX_HELD=2", NULL };
	struct lct_child c =
		lct_expect_reports(wait_on_untracked_mutex, NULL, env,
				   LOCKCHECK ? "limit" : NULL, LOCKCHECK);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_cond");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc,
		       test_wait_reacquiring_under_another_lock_is_reported);
	tcase_add_test(tc, test_producer_consumer_is_silent);
	tcase_add_test(tc, test_monotonic_condition_waits_for_its_deadline);
	tcase_add_test(tc, test_wait_on_untracked_mutex_waits);
	if (LOCKCHECK) /* undefined behaviour with plain pthreads */
		tcase_add_test(tc,
			       test_wait_without_holding_the_mutex_is_reported);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
