/*
 * lc_threads_test.c: the checker under real concurrency (run under
 * ThreadSanitizer in the tsan build). Threads that start together discover
 * classes, edges and chains at the same moment; a consistent order stays
 * silent however hard it is hammered; what was learned concurrently is
 * complete afterwards (a later inversion of any edge is reported).
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

#define THREADS 8
#define ROUNDS	2000

static lc_mutex_t A = LC_MUTEX_INITIALIZER("A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");
static lc_rwlock_t T = LC_RWLOCK_INITIALIZER("T");
static pthread_barrier_t start;

struct worker {
	int id;
	lc_mutex_t own[2]; /* per-thread locks: one class for all threads */
	lc_mutex_t *shared;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;

	pthread_barrier_wait(&start);
	for (int i = 0; i < ROUNDS; i++) {
		lc_rwlock_rdlock(&T);
		lc_mutex_lock(&w->own[0]);
		lc_mutex_lock(&w->own[1]);
		if (i % 8 == 0) {
			lc_mutex_lock(&A);
			lc_mutex_lock(&B);
			lc_mutex_unlock(&B);
			lc_mutex_unlock(&A);
		}
		lc_mutex_unlock(&w->own[1]);
		lc_mutex_unlock(&w->own[0]);
		lc_rwlock_unlock(&T);
	}
	return NULL;
}

static void init_worker(struct worker *w, int id)
{
	w->id = id;
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(lc_mutex_init(&w->own[i], "own"), 0);
		lc_mutex_set_order(&w->own[i], (uint64_t)i);
	}
}

static void consistent_hammering(void *arg)
{
	struct worker w[THREADS];
	pthread_t t[THREADS];

	(void)arg;
	pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		init_worker(&w[i], i);
		pthread_create(&t[i], NULL, hammer, &w[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

START_TEST(test_consistent_order_under_concurrency_is_silent)
{
	struct lct_child c =
		lct_expect_reports(consistent_hammering, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* Each thread makes its own class ("x<i>", an initializer with its own
 * name) and takes it before the shared B, all at once. */
static lc_mutex_t xs[THREADS];

static void *discover(void *arg)
{
	int id = *(int *)arg;
	char *name = malloc(16);

	snprintf(name, 16, "x%d", id);
	xs[id] = (lc_mutex_t)LC_MUTEX_INITIALIZER(name);
	pthread_barrier_wait(&start);
	for (int i = 0; i < 100; i++) {
		lc_mutex_lock(&xs[id]);
		lc_mutex_lock(&B);
		lc_mutex_unlock(&B);
		lc_mutex_unlock(&xs[id]);
	}
	return NULL;
}

static void concurrent_discovery(void *arg)
{
	int inverted = *(int *)arg, ids[THREADS];
	pthread_t t[THREADS];

	pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++) {
		ids[i] = i;
		pthread_create(&t[i], NULL, discover, &ids[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	lc_mutex_lock(&B); /* B -> x<inverted> closes one cycle */
	lc_mutex_lock(&xs[inverted]);
	lc_mutex_unlock(&xs[inverted]);
	lc_mutex_unlock(&B);
}

START_TEST(test_edges_discovered_at_once_are_all_kept)
{
	for (int inverted = 0; inverted < THREADS; inverted += 3) {
		struct lct_child c =
			lct_expect_reports(concurrent_discovery, &inverted,
					   NULL, "lock-order-cycle", LOCKCHECK);
		char want[64];

		snprintf(want, sizeof(want), ": B -> x%d -> B ", inverted);
		if (LOCKCHECK)
			ck_assert_ptr_nonnull(strstr(c.err, want));
		lct_child_free(&c);
	}
}
END_TEST

/* Pairs of unkeyed same-class locks, each pair in one order, from many
 * threads at once: the instance graphs grow concurrently and stay quiet;
 * locks are created and destroyed all along. */
static void *pairs(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < 200; i++) {
		lc_mutex_t p[2];

		for (int j = 0; j < 2; j++)
			lc_mutex_init(&p[j], "pair");
		lc_mutex_lock(&p[0]);
		lc_mutex_lock(&p[1]);
		lc_mutex_unlock(&p[1]);
		lc_mutex_unlock(&p[0]);
		lc_mutex_destroy(&p[0]);
		lc_mutex_destroy(&p[1]);
	}
	return NULL;
}

static void concurrent_instances(void *arg)
{
	pthread_t t[THREADS];

	(void)arg;
	pthread_barrier_init(&start, NULL, THREADS);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, pairs, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
}

START_TEST(test_concurrent_instance_pairs_are_silent)
{
	struct lct_child c =
		lct_expect_reports(concurrent_instances, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_threads");
	TCase *tc = tcase_create("threads");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_consistent_order_under_concurrency_is_silent);
	tcase_add_test(tc, test_edges_discovered_at_once_are_all_kept);
	tcase_add_test(tc, test_concurrent_instance_pairs_are_silent);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
