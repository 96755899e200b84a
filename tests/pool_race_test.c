/*
 * pool_race_test.c: ds_pool declares its state guarded by its lock, so a
 * checked build checks the pool itself.
 *
 * The binary links //ds:without_lock_pool: the library plus one
 * deliberately broken reader, ds__pool_stats_without_lock, which reads
 * the counters without the lock. A reader of the stats beside a
 * submitter prints the exact race line when it is that one, and nothing
 * when it is ds_pool_stats; a stress of submitters, workers and a stats
 * reader prints no finding. With LOCKCHECK=0 there is no checker: every
 * child is silent.
 *
 * The two threads are put in order with a raw POSIX semaphore, which the
 * checker does not see: the reader reads while nobody writes, so the run
 * has no data race for ThreadSanitizer, and the declared guard is still
 * broken: it is checked whatever the schedule.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/pool.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ds/pool.c, built with DS_WITHOUT_LOCK_POOL. */
int ds__pool_stats_without_lock(ds_pool_t *p, struct ds_pool_stats *st);

/* A task of the runs below: counts its runs and cancellations. */
struct rec {
	atomic_int ran;
	atomic_int cancelled;
};

static void count_run(void *arg)
{
	atomic_fetch_add(&((struct rec *)arg)->ran, 1);
}

/* ---- a stats reader and a submitter ---------------------------------- */

#define PAIR_TASKS 64

struct pair {
	ds_pool_t *p;
	bool locked;	 /* the library's reader, else the broken one */
	sem_t read_done; /* raw: orders the threads, invisible to the checker */
	struct rec recs[PAIR_TASKS];
};

static void *reporter(void *arg)
{
	struct pair *pr = arg;
	struct ds_pool_stats st;

	lc_thread_set_name("reporter");
	if ((pr->locked ? ds_pool_stats(pr->p, &st)
			: ds__pool_stats_without_lock(pr->p, &st)) ||
	    st.workers != 2 || st.queued != 0 || st.completed != 0)
		exit(1);
	sem_post(&pr->read_done);
	return NULL;
}

static void *submitter(void *arg)
{
	struct pair *pr = arg;

	lc_thread_set_name("submitter");
	while (sem_wait(&pr->read_done) && errno == EINTR)
		;
	for (int i = 0; i < PAIR_TASKS; i++)
		if (ds_pool_submit(pr->p, count_run, &pr->recs[i]))
			exit(1);
	return NULL;
}

/* The child: a reporter reads the stats (under the lock when arg is not
 * NULL), then a submitter queues tasks; every task runs exactly once. */
static void reader_and_submitter(void *arg)
{
	static struct pair pr;
	pthread_t t[2];

	pr.locked = arg != NULL;
	if (sem_init(&pr.read_done, 0, 0) ||
	    ds_pool_create(&pr.p, 2, 4, "racy"))
		exit(2);
	pthread_create(&t[0], NULL, reporter, &pr);
	pthread_create(&t[1], NULL, submitter, &pr);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	if (ds_pool_shutdown(pr.p, DS_POOL_DRAIN))
		exit(1);
	for (int i = 0; i < PAIR_TASKS; i++)
		if (atomic_load(&pr.recs[i].ran) != 1)
			exit(1);
	sem_destroy(&pr.read_done);
}

/* The broken reader: one race at the unlocked read of the counters,
 * named by the pool's lock, read by the reporter holding no lock. */
START_TEST(test_stats_without_lock_is_a_race)
{
	struct lct_child c = lct_expect_reports(
		reader_and_submitter, NULL, NULL, "race", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK) { /* else no checker: the child was silent */
		LCT_ASSERT_LINE(&c,
				"lockcheck: race: read without `ds_pool.lock` "
				"at ds/pool.c:",
				" in copy_stats()");
		LCT_ASSERT_ERR_HAS(&c, "by thread \"reporter\"");
		LCT_ASSERT_ERR_HAS(&c, "holding no lock");
		LCT_ASSERT_ERR_HAS(&c, "  why: read without `ds_pool.lock`, "
				       "which guards it since ds/pool.c:");
	}
	lct_child_free(&c);
}
END_TEST

/* The library's reader: the same two threads, no finding. */
START_TEST(test_stats_with_lock_is_silent)
{
	struct lct_child c = lct_expect_reports(reader_and_submitter, "locked",
						NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- stress: submitters, workers and a stats reader ------------------ */

static void count_cancel(void *arg)
{
	atomic_fetch_add(&((struct rec *)arg)->cancelled, 1);
}

#define SUBMITTERS    3
#define PER_SUBMITTER 400

struct stress {
	ds_pool_t *p;
	atomic_bool done; /* the submitters finished: the reader stops */
	struct rec recs[SUBMITTERS][PER_SUBMITTER];
	int next_id;
	pthread_mutex_t id_lock; /* raw: hands out submitter indices */
};

/* Submits every task of one row, in turns blocking, trying and timed;
 * a refused try or an expired wait is tried again. */
static void *stress_submitter(void *arg)
{
	struct stress *s = arg;
	int row, err;

	pthread_mutex_lock(&s->id_lock);
	row = s->next_id++;
	pthread_mutex_unlock(&s->id_lock);
	for (int i = 0; i < PER_SUBMITTER; i++) {
		struct rec *r = &s->recs[row][i];

		do {
			if (i % 3 == 0)
				err = ds_pool_submit(s->p, count_run, r);
			else if (i % 3 == 1)
				err = ds_pool_try_submit(s->p, count_run, r);
			else
				err = ds_pool_submit_timeout(s->p, count_run, r,
							     1);
			if (err == EAGAIN)
				sched_yield();
		} while (err == EAGAIN || err == ETIMEDOUT);
		if (err)
			exit(1);
	}
	return NULL;
}

/* Reads the stats until the submitters are done: each snapshot is
 * consistent, and completed never goes down. */
static void *stress_reader(void *arg)
{
	struct stress *s = arg;
	uint64_t last = 0;

	lc_thread_set_name("reader");
	while (!atomic_load(&s->done)) {
		struct ds_pool_stats st;

		if (ds_pool_stats(s->p, &st) || st.queued > st.queue_cap ||
		    st.running > st.workers || st.completed < last)
			exit(1);
		last = st.completed;
		sched_yield();
	}
	return NULL;
}

/* The child: every accepted task runs (DRAIN) or runs or is cancelled
 * (CANCEL) exactly once. */
static void stress_child(void *arg)
{
	static struct stress s;
	int mode = (int)(intptr_t)arg;
	pthread_t sub[SUBMITTERS], reader;

	pthread_mutex_init(&s.id_lock, NULL);
	if (ds_pool_create(&s.p, 3, 8, "stress") ||
	    ds_pool_on_cancel(s.p, count_cancel))
		exit(2);
	pthread_create(&reader, NULL, stress_reader, &s);
	for (int i = 0; i < SUBMITTERS; i++)
		pthread_create(&sub[i], NULL, stress_submitter, &s);
	for (int i = 0; i < SUBMITTERS; i++)
		pthread_join(sub[i], NULL);
	atomic_store(&s.done, true);
	pthread_join(reader, NULL);
	if (ds_pool_shutdown(s.p, mode))
		exit(1);
	for (int i = 0; i < SUBMITTERS; i++)
		for (int j = 0; j < PER_SUBMITTER; j++) {
			struct rec *r = &s.recs[i][j];
			int ran = atomic_load(&r->ran);
			int cancelled = atomic_load(&r->cancelled);

			if (ran + cancelled != 1 ||
			    (mode == DS_POOL_DRAIN && ran != 1))
				exit(1);
		}
	pthread_mutex_destroy(&s.id_lock);
}

START_TEST(test_stress_drain_is_silent)
{
	struct lct_child c = lct_expect_reports(
		stress_child, (void *)(intptr_t)DS_POOL_DRAIN, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

START_TEST(test_stress_cancel_is_silent)
{
	struct lct_child c = lct_expect_reports(
		stress_child, (void *)(intptr_t)DS_POOL_CANCEL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool_race");
	TCase *tc = tcase_create("race");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_stats_without_lock_is_a_race);
	tcase_add_test(tc, test_stats_with_lock_is_silent);
	tcase_add_test(tc, test_stress_drain_is_silent);
	tcase_add_test(tc, test_stress_cancel_is_silent);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
