/*
 * cache_race_test.c: the cache's declared guards, checked by the
 * LOCKCHECK=1 builds. Each shard's lock guards its usage, over flag and
 * counters (ds/cache.c). The binary links //ds:without_lock_cache: the
 * library plus one deliberately broken reader,
 * ds__cache_total_charge_without_lock. Run on a second thread after a
 * first one filled the cache, that reader is reported at its read: a
 * guard is checked whatever the schedule, so the two threads need not
 * overlap (and ThreadSanitizer, which sees the join between them, stays
 * quiet). The library's own functions, several threads at once, report
 * nothing. With LOCKCHECK=0 there is no checker: every child is silent.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/cache.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ds/cache.c, built with DS_WITHOUT_LOCK_CACHE. */
size_t ds__cache_total_charge_without_lock(ds_cache_t *cache);

enum { SHARDS = 4, CAPACITY = 64, KEYS = 96 };

static ds_cache_t *new_cache(void)
{
	struct ds_cache_options opt = { .capacity = CAPACITY,
					.shards = SHARDS };
	ds_cache_t *c = NULL;

	ck_assert_int_eq(ds_cache_create(&c, &opt), 0);
	return c;
}

/* Keys 0..KEYS-1, charge 1 each: more than fit, so some are evicted. */
static void fill(void *arg)
{
	for (uint32_t k = 0; k < KEYS; k++)
		ck_assert_int_eq(
			ds_cache_insert(arg, &k, sizeof(k), NULL, 1, NULL), 0);
}

struct reader {
	ds_cache_t *cache;
	bool locked; /* the library's reader, else the broken one */
	size_t total;
};

static void read_total(void *arg)
{
	struct reader *r = arg;

	r->total = r->locked ? ds_cache_total_charge(r->cache)
			     : ds__cache_total_charge_without_lock(r->cache);
}

/* A "filler" thread, then a "reporter" thread reading the total. */
static void fill_then_read(void *arg)
{
	struct reader r = { new_cache(), arg != NULL, 0 };

	lct_in_named_thread("filler", fill, r.cache);
	lct_in_named_thread("reporter", read_total, &r);
	ck_assert_uint_eq(r.total, ds_cache_total_charge(r.cache));
	ck_assert_uint_gt(r.total, 0);
	ds_cache_destroy(r.cache);
}

START_TEST(test_total_without_lock_is_a_race)
{
	struct lct_child c = lct_expect_reports(fill_then_read, NULL, NULL,
						"race", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK) { /* else no checker: the child was silent */
		LCT_ASSERT_LINE(
			&c,
			"lockcheck: race: read without `ds_cache.shard` at "
			"ds/cache.c:",
			" in ds__cache_total_charge_without_lock()");
		LCT_ASSERT_ERR_HAS(&c, "by thread \"reporter\"");
		LCT_ASSERT_ERR_HAS(&c, "  guard `ds_cache.shard` of ");
		LCT_ASSERT_ERR_HAS(&c, " in shard_init()\n");
	}
	lct_child_free(&c);
}
END_TEST

START_TEST(test_total_with_lock_is_silent)
{
	struct lct_child c =
		lct_expect_reports(fill_then_read, "locked", NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- the library under load ---- */

enum { WORKERS = 4, ROUNDS = 3000 };

struct worker {
	ds_cache_t *cache;
	unsigned seed;
	uint64_t lookups, inserts; /* what this worker did */
};

static void work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < ROUNDS; i++) {
		uint32_t k = (uint32_t)rand_r(&w->seed) % KEYS;
		ds_cache_handle_t *h;

		switch (rand_r(&w->seed) % 4) {
		case 0:
			ck_assert_int_eq(ds_cache_insert(w->cache, &k,
							 sizeof(k), NULL, 1,
							 NULL),
					 0);
			w->inserts++;
			break;
		case 1:
			(void)ds_cache_erase(w->cache, &k, sizeof(k));
			break;
		default:
			w->lookups++;
			if (ds_cache_lookup(w->cache, &k, sizeof(k), &h) == 0)
				ds_cache_release(w->cache, h);
		}
	}
}

/* Reads the totals while the workers run: never over capacity (nothing
 * stays pinned), and the stats agree with the total charge. */
static void *watch(void *arg)
{
	struct ds_cache_stats st;

	for (int i = 0; i < ROUNDS / 10; i++) {
		ck_assert_uint_le(ds_cache_total_charge(arg), CAPACITY);
		ck_assert_int_eq(ds_cache_stats(arg, &st, NULL, 0), 0);
		ck_assert_uint_le(st.charge, CAPACITY);
		ck_assert_uint_eq(st.charge, st.entries); /* charge 1 each */
	}
	return NULL;
}

static void *work_thread(void *arg)
{
	work(arg);
	return NULL;
}

static void stress(void *arg)
{
	struct worker w[WORKERS];
	pthread_t th[WORKERS + 1];
	struct ds_cache_stats st;
	uint64_t lookups = 0, inserts = 0;
	ds_cache_t *c = new_cache();

	(void)arg;
	for (int i = 0; i < WORKERS; i++) {
		w[i] = (struct worker){ c, (unsigned)i + 1, 0, 0 };
		ck_assert_int_eq(
			pthread_create(&th[i], NULL, work_thread, &w[i]), 0);
	}
	ck_assert_int_eq(pthread_create(&th[WORKERS], NULL, watch, c), 0);
	for (int i = 0; i <= WORKERS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < WORKERS; i++) {
		lookups += w[i].lookups;
		inserts += w[i].inserts;
	}
	ck_assert_int_eq(ds_cache_stats(c, &st, NULL, 0), 0);
	ck_assert_uint_eq(st.hits + st.misses, lookups);
	ck_assert_uint_eq(st.inserts, inserts);
	ck_assert_uint_eq(st.charge, ds_cache_total_charge(c));
	ds_cache_destroy(c);
}

START_TEST(test_stress_is_silent)
{
	struct lct_child c = lct_expect_reports(stress, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cache_race");
	TCase *tc = tcase_create("guards");

	tcase_add_test(tc, test_total_without_lock_is_a_race);
	tcase_add_test(tc, test_total_with_lock_is_silent);
	tcase_add_test(tc, test_stress_is_silent);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
