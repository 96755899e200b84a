/*
 * lc_wait_test.c: condvars as wait nodes. A thread waiting on C while
 * holding `table` needs C's signal; a thread that signals C holding
 * `table` needs `table` first: wait-cycle, reported before the wait (or
 * the signal) that closes it, whichever comes first. Waits here are timed
 * with a deadline in the past: they count and never block, so the hazard
 * is shown without a hang. Silent twins: the classic producer/consumer,
 * a signal after the unlock, a condvar never waited on, the bound mutex's
 * sibling of the same class held at the signal, read locks on both sides.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static const struct timespec long_ago = { 0, 0 };

static lc_mutex_t table = LC_MUTEX_INITIALIZER("table");
static lc_mutex_t queue = LC_MUTEX_INITIALIZER("queue");
static lc_rwlock_t index_lock = LC_RWLOCK_INITIALIZER("index");
static lc_cond_t flushed = LC_COND_INITIALIZER;
static const int FLUSHED_LINE = __LINE__ - 1;
static int yes; /* a non-NULL argument: the variant */

#define OK(call) ck_assert_int_eq((call), 0)

/* The flusher: waits for `flushed` holding `table` (and its own mutex). */
static void flusher(void *arg)
{
	(void)arg;
	OK(lc_mutex_lock(&table));
	OK(lc_mutex_lock(&queue));
	ck_assert_int_eq(lc_cond_timedwait(&flushed, &queue, &long_ago),
			 ETIMEDOUT);
	OK(lc_mutex_unlock(&queue));
	OK(lc_mutex_unlock(&table));
}

/* The writer: signals `flushed` holding `table`. */
static void writer(void *arg)
{
	(void)arg;
	OK(lc_mutex_lock(&table));
	OK(lc_mutex_lock(&queue));
	OK(lc_cond_signal(&flushed));
	OK(lc_mutex_unlock(&queue));
	OK(lc_mutex_unlock(&table));
}

static void expect_cycle_line(const struct lct_child *c)
{
	char want[256], got[256];

	snprintf(want, sizeof(want),
		 "lockcheck: wait-cycle: `table` -> condvar [%s:%d] -> "
		 "`table` (1 lock, 1 wait, 2 threads)",
		 __FILE__, FLUSHED_LINE);
	ck_assert(lct_find_line(c->err, "lockcheck: ", got, sizeof(got)));
	ck_assert_str_eq(got, want);
}

static void signal_then_wait(void *arg)
{
	(void)arg;
	lct_in_named_thread("writer", writer, NULL);
	lct_in_named_thread("flusher", flusher, NULL);
}

START_TEST(test_wait_holding_what_the_signaller_needs_is_reported)
{
	struct lct_child c = lct_expect_reports(signal_then_wait, NULL, NULL,
						"wait-cycle", LOCKCHECK);

	if (LOCKCHECK) {
		expect_cycle_line(&c);
		LCT_ASSERT_ERR_HAS(&c, "`table` held while waiting on condvar");
		LCT_ASSERT_ERR_HAS(&c, "signalled holding `table` at ");
		LCT_ASSERT_ERR_HAS(&c, " in writer()");
		LCT_ASSERT_ERR_HAS(&c, "closed now by thread \"flusher\"");
	}
	lct_child_free(&c);
}
END_TEST

static void wait_then_signal(void *arg)
{
	(void)arg;
	lct_in_named_thread("flusher", flusher, NULL);
	lct_in_named_thread("writer", writer, NULL);
}

START_TEST(test_signal_closing_the_cycle_is_reported)
{
	struct lct_child c = lct_expect_reports(wait_then_signal, NULL, NULL,
						"wait-cycle", LOCKCHECK);

	if (LOCKCHECK) {
		LCT_ASSERT_ERR_HAS(&c, "closed now by thread \"writer\"");
		LCT_ASSERT_ERR_HAS(&c, " signalling condvar [");
	}
	lct_child_free(&c);
}
END_TEST

/* ---- silent twins ---- */

struct box {
	lc_mutex_t lock;
	lc_cond_t changed;
	int items, taken;
};

static void box_init(struct box *b)
{
	OK(lc_mutex_init(&b->lock, "box"));
	OK(lc_cond_init(&b->changed));
	b->items = b->taken = 0;
}

static void *taker(void *arg)
{
	struct box *b = arg;

	OK(lc_mutex_lock(&b->lock));
	while (b->taken < 100) {
		while (b->items == 0)
			OK(lc_cond_wait(&b->changed, &b->lock));
		b->items--;
		b->taken++;
		OK(lc_cond_signal(&b->changed));
	}
	OK(lc_mutex_unlock(&b->lock));
	return NULL;
}

/* Producer/consumer: the waits hold nothing but their own mutex; the
 * producer signals under the bound mutex, or after the unlock, holding
 * `table` too (no waiter ever holds it while waiting). */
static void producer_consumer(void *arg)
{
	bool after_unlock = arg != NULL;
	struct box b;
	pthread_t t;

	box_init(&b);
	OK(pthread_create(&t, NULL, taker, &b));
	for (int i = 0; i < 100; i++) {
		OK(lc_mutex_lock(&b.lock));
		while (b.items == 4)
			OK(lc_cond_wait(&b.changed, &b.lock));
		OK(lc_mutex_unlock(&b.lock));
		OK(lc_mutex_lock(&table));
		OK(lc_mutex_lock(&b.lock));
		b.items++;
		if (after_unlock) {
			OK(lc_mutex_unlock(&b.lock));
			OK(lc_cond_broadcast(&b.changed));
		} else {
			OK(lc_cond_broadcast(&b.changed));
			OK(lc_mutex_unlock(&b.lock));
		}
		OK(lc_mutex_unlock(&table));
	}
	OK(pthread_join(t, NULL));
	ck_assert_int_eq(b.taken, 100);
	OK(lc_cond_destroy(&b.changed));
	OK(lc_mutex_destroy(&b.lock));
}

START_TEST(test_producer_consumer_is_silent)
{
	struct lct_child c =
		lct_expect_reports(producer_consumer, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

START_TEST(test_signal_after_unlock_is_silent)
{
	struct lct_child c =
		lct_expect_reports(producer_consumer, &yes, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* Signalled holding `table`, never waited on; a flusher that waits on
 * another condvar holding `table` has nothing to do with it. */
static void never_waited(void *arg)
{
	lc_cond_t other;

	(void)arg;
	OK(lc_cond_init(&other));
	lct_in_thread(writer, NULL);
	OK(lc_mutex_lock(&table));
	OK(lc_mutex_lock(&queue));
	ck_assert_int_eq(lc_cond_timedwait(&other, &queue, &long_ago),
			 ETIMEDOUT);
	OK(lc_mutex_unlock(&queue));
	OK(lc_mutex_unlock(&table));
	OK(lc_cond_destroy(&other));
}

START_TEST(test_condvar_never_waited_on_is_silent)
{
	struct lct_child c =
		lct_expect_reports(never_waited, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* Two boxes of one class: the signal of a's condvar holds a's mutex (its
 * bound one) and b's (same class, another instance); a's waiter holds b's
 * class too, at another time, not while waiting. */
static void sibling_held(void *arg)
{
	struct box a, b;

	(void)arg;
	box_init(&a);
	box_init(&b);
	OK(lc_mutex_lock(&a.lock));
	ck_assert_int_eq(lc_cond_timedwait(&a.changed, &a.lock, &long_ago),
			 ETIMEDOUT);
	OK(lc_mutex_unlock(&a.lock));
	OK(lc_mutex_lock(&b.lock));
	OK(lc_mutex_lock(&a.lock));
	OK(lc_cond_signal(&a.changed));
	OK(lc_mutex_unlock(&a.lock));
	OK(lc_mutex_unlock(&b.lock));
}

START_TEST(test_signal_holding_bound_mutex_and_a_sibling_is_silent)
{
	struct lct_child c =
		lct_expect_reports(sibling_held, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* Waiter and signaller both hold `index` for reading: readers never wait
 * for readers, so the signaller gets it. With the signaller writing, the
 * same program is a wait-cycle. */
static void index_waiter(void *arg)
{
	(void)arg;
	OK(lc_rwlock_rdlock(&index_lock));
	OK(lc_mutex_lock(&queue));
	ck_assert_int_eq(lc_cond_timedwait(&flushed, &queue, &long_ago),
			 ETIMEDOUT);
	OK(lc_mutex_unlock(&queue));
	OK(lc_rwlock_unlock(&index_lock));
}

static void index_signaller(void *arg)
{
	bool write = arg != NULL;

	OK(write ? lc_rwlock_wrlock(&index_lock)
		 : lc_rwlock_rdlock(&index_lock));
	OK(lc_cond_broadcast(&flushed));
	OK(lc_rwlock_unlock(&index_lock));
}

static void readers_both_sides(void *arg)
{
	lct_in_named_thread("waiter", index_waiter, NULL);
	lct_in_named_thread("signaller", index_signaller, arg);
}

START_TEST(test_read_holds_on_both_sides_are_silent)
{
	struct lct_child c =
		lct_expect_reports(readers_both_sides, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

START_TEST(test_write_hold_at_the_signal_is_reported)
{
	struct lct_child c = lct_expect_reports(readers_both_sides, &yes, NULL,
						"wait-cycle", LOCKCHECK);

	if (LOCKCHECK)
		LCT_ASSERT_ERR_HAS(&c, "lockcheck: wait-cycle: condvar [");
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_wait");
	TCase *tc = tcase_create("lockcheck");
	SRunner *sr;
	int failed;

	tcase_add_test(tc,
		       test_wait_holding_what_the_signaller_needs_is_reported);
	tcase_add_test(tc, test_signal_closing_the_cycle_is_reported);
	tcase_add_test(tc, test_write_hold_at_the_signal_is_reported);
	tcase_add_test(tc, test_producer_consumer_is_silent);
	tcase_add_test(tc, test_signal_after_unlock_is_silent);
	tcase_add_test(tc, test_condvar_never_waited_on_is_silent);
	tcase_add_test(tc,
		       test_signal_holding_bound_mutex_and_a_sibling_is_silent);
	tcase_add_test(tc, test_read_holds_on_both_sides_are_silent);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
