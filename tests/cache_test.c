/*
 * cache_test.c: ds_cache, the sharded LRU cache.
 *
 * core: one operation or edge per test, in the manner of LevelDB's
 * cache_test (keys and values are small ints, a deleter records what it
 * was given). oom: every allocation of an operation sequence fails in
 * turn and the cache must stay consistent. threads: 2-16 threads, stepped
 * by a barrier, check the invariants (capacity, deleter exactly once,
 * old-or-new values). lockcheck: a child under the checker reports nothing
 * and its dump shows the shards as one class.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ds/cache.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ---- helpers: int keys and values, a recording deleter ---- */

enum { MAX_DELETED = 4096 };

static struct {
	int keys[MAX_DELETED];
	int values[MAX_DELETED];
	size_t n;
} deleted;

static void record_deleter(const void *key, size_t keylen, void *value,
			   void *arg)
{
	int k;

	(void)arg;
	EXPECT_EQ(keylen, sizeof(k));
	memcpy(&k, key, sizeof(k));
	EXPECT(deleted.n < MAX_DELETED);
	deleted.keys[deleted.n] = k;
	deleted.values[deleted.n] = (int)(intptr_t)value;
	deleted.n++;
}

static void reset_deleted(void)
{
	memset(&deleted, 0, sizeof(deleted));
}

static ds_cache_t *make_cache(size_t capacity, unsigned shards, bool strict)
{
	struct ds_cache_options opt = { 0 };
	ds_cache_t *c = NULL;

	opt.capacity = capacity;
	opt.shards = shards;
	opt.strict_capacity = strict;
	opt.deleter = record_deleter;
	opt.seed[0] = 42;
	EXPECT_EQ(ds_cache_create(&c, &opt), 0);
	EXPECT(c != NULL);
	reset_deleted();
	return c;
}

/* Inserts key -> value and releases the handle; returns insert's code. */
static int insert(ds_cache_t *c, int key, int value, size_t charge)
{
	ds_cache_handle_t *h;
	int err = ds_cache_insert(c, &key, sizeof(key), (void *)(intptr_t)value,
				  charge, &h);

	if (!err)
		ds_cache_release(c, h);
	return err;
}

static ds_cache_handle_t *insert_pinned(ds_cache_t *c, int key, int value,
					size_t charge)
{
	ds_cache_handle_t *h = NULL;

	EXPECT_EQ(ds_cache_insert(c, &key, sizeof(key), (void *)(intptr_t)value,
				  charge, &h),
		  0);
	EXPECT(h != NULL);
	return h;
}

/* The value under key, or -1 on a miss. */
static int lookup(ds_cache_t *c, int key)
{
	ds_cache_handle_t *h;
	int v;

	if (ds_cache_lookup(c, &key, sizeof(key), &h) == ENOENT) {
		EXPECT(h == NULL);
		return -1;
	}
	v = (int)(intptr_t)ds_cache_value(h);
	ds_cache_release(c, h);
	return v;
}

static int erase(ds_cache_t *c, int key)
{
	return ds_cache_erase(c, &key, sizeof(key));
}

static struct ds_cache_stats stats(ds_cache_t *c)
{
	struct ds_cache_stats st;

	ck_assert_int_eq(ds_cache_stats(c, &st, NULL, 0), 0);
	return st;
}

/* ---- core ---- */

START_TEST(test_cache_hit_and_miss)
{
	ds_cache_t *c = make_cache(1000, 0, false);

	ck_assert_int_eq(lookup(c, 100), -1);
	ck_assert_int_eq(insert(c, 100, 101, 1), 0);
	ck_assert_int_eq(lookup(c, 100), 101);
	ck_assert_int_eq(lookup(c, 200), -1);
	ck_assert_int_eq(lookup(c, 300), -1);
	ck_assert_int_eq(insert(c, 200, 201, 1), 0);
	ck_assert_int_eq(lookup(c, 100), 101);
	ck_assert_int_eq(lookup(c, 200), 201);
	ck_assert_int_eq(lookup(c, 300), -1);
	ck_assert_uint_eq(deleted.n, 0);
	ds_cache_destroy(c);
	ck_assert_uint_eq(deleted.n, 2);
}
END_TEST

START_TEST(test_cache_insert_replaces_and_deletes_old_value_once)
{
	ds_cache_t *c = make_cache(1000, 0, false);

	ck_assert_int_eq(insert(c, 100, 101, 1), 0);
	ck_assert_int_eq(insert(c, 100, 102, 1), 0);
	ck_assert_int_eq(lookup(c, 100), 102);
	ck_assert_uint_eq(deleted.n, 1);
	ck_assert_int_eq(deleted.keys[0], 100);
	ck_assert_int_eq(deleted.values[0], 101);
	ck_assert_uint_eq(ds_cache_total_charge(c), 1);
	ds_cache_destroy(c);
	ck_assert_uint_eq(deleted.n, 2);
	ck_assert_int_eq(deleted.values[1], 102);
}
END_TEST

START_TEST(test_cache_erase_removes_and_deletes)
{
	ds_cache_t *c = make_cache(1000, 0, false);

	ck_assert_int_eq(erase(c, 200), ENOENT);
	ck_assert_int_eq(insert(c, 100, 101, 1), 0);
	ck_assert_int_eq(insert(c, 200, 201, 1), 0);
	ck_assert_int_eq(erase(c, 100), 0);
	ck_assert_int_eq(lookup(c, 100), -1);
	ck_assert_int_eq(lookup(c, 200), 201);
	ck_assert_uint_eq(deleted.n, 1);
	ck_assert_int_eq(deleted.values[0], 101);
	ck_assert_int_eq(erase(c, 100), ENOENT);
	ck_assert_uint_eq(deleted.n, 1);
	ds_cache_destroy(c);
}
END_TEST

START_TEST(test_cache_entries_are_pinned)
{
	ds_cache_t *c = make_cache(1000, 0, false);
	ds_cache_handle_t *h1, *h2;
	int key = 100;

	ck_assert_int_eq(insert(c, 100, 101, 1), 0);
	ck_assert_int_eq(ds_cache_lookup(c, &key, sizeof(key), &h1), 0);
	ck_assert_int_eq((int)(intptr_t)ds_cache_value(h1), 101);
	ck_assert_int_eq(insert(c, 100, 102, 1), 0);
	ck_assert_int_eq(ds_cache_lookup(c, &key, sizeof(key), &h2), 0);
	ck_assert_int_eq((int)(intptr_t)ds_cache_value(h2), 102);
	ck_assert_uint_eq(deleted.n, 0); /* 101 replaced but pinned */
	ds_cache_release(c, h1);
	ck_assert_uint_eq(deleted.n, 1);
	ck_assert_int_eq(deleted.values[0], 101);
	ck_assert_int_eq(erase(c, 100), 0);
	ck_assert_int_eq(lookup(c, 100), -1);
	ck_assert_uint_eq(deleted.n, 1); /* 102 erased but pinned */
	ck_assert_int_eq((int)(intptr_t)ds_cache_value(h2), 102);
	ds_cache_release(c, h2);
	ck_assert_uint_eq(deleted.n, 2);
	ck_assert_int_eq(deleted.values[1], 102);
	ds_cache_destroy(c);
}
END_TEST

START_TEST(test_cache_evicts_oldest_unpinned)
{
	enum { CAP = 100 };
	ds_cache_t *c = make_cache(CAP, 1, false);
	ds_cache_handle_t *h;
	struct ds_cache_stats st;

	ck_assert_int_eq(insert(c, 100, 101, 1), 0);
	ck_assert_int_eq(insert(c, 200, 201, 1), 0);
	h = insert_pinned(c, 300, 301, 1);
	/* Frequently used 100 stays; never used 200 goes; pinned 300 stays
	 * although it is never looked up. */
	for (int i = 0; i < CAP + 100; i++) {
		ck_assert_int_eq(insert(c, 1000 + i, 2000 + i, 1), 0);
		ck_assert_int_eq(lookup(c, 1000 + i), 2000 + i);
		ck_assert_int_eq(lookup(c, 100), 101);
	}
	ck_assert_int_eq(lookup(c, 100), 101);
	ck_assert_int_eq(lookup(c, 200), -1);
	ck_assert_int_eq(lookup(c, 300), 301);
	ck_assert_int_eq(lookup(c, 1000), -1); /* oldest filler */
	ck_assert_int_eq(lookup(c, 1000 + CAP + 99), 2000 + CAP + 99);
	ds_cache_release(c, h);
	st = stats(c);
	ck_assert_uint_eq(st.charge, CAP);
	ck_assert_uint_eq(st.entries, CAP);
	ck_assert_uint_eq(st.evictions, 3 + CAP + 100 - CAP);
	ds_cache_destroy(c);
}
END_TEST

/* Promotion is lazy but never late: an entry in the older half of the LRU
 * order that is used moves ahead of every unused one. */
START_TEST(test_cache_hit_saves_entry_from_eviction)
{
	enum { CAP = 100 };
	ds_cache_t *c = make_cache(CAP, 1, false);

	for (int i = 0; i < CAP; i++)
		ck_assert_int_eq(insert(c, i, 1000 + i, 1), 0);
	ck_assert_int_eq(lookup(c, 0), 1000); /* the oldest */
	ck_assert_int_eq(lookup(c, 10), 1010);
	for (int i = 0; i < CAP - 2; i++)
		ck_assert_int_eq(insert(c, CAP + i, 1000 + CAP + i, 1), 0);
	ck_assert_int_eq(lookup(c, 0), 1000);
	ck_assert_int_eq(lookup(c, 10), 1010);
	for (int i = 1; i < CAP; i++)
		if (i != 10)
			ck_assert_int_eq(lookup(c, i), -1);
	ck_assert_uint_eq(deleted.n, CAP - 2);
	ds_cache_destroy(c);
}
END_TEST

START_TEST(test_cache_pinned_entries_exceed_capacity_until_released)
{
	enum { CAP = 10, N = 2 * CAP };
	ds_cache_t *c = make_cache(CAP, 1, false);
	ds_cache_handle_t *h[N];

	for (int i = 0; i < N; i++)
		h[i] = insert_pinned(c, 1000 + i, 2000 + i, 1);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(lookup(c, 1000 + i), 2000 + i);
	ck_assert_uint_eq(ds_cache_total_charge(c), N);
	ck_assert_uint_eq(deleted.n, 0);
	/* Releasing evicts: over capacity only while pinned. */
	for (int i = 0; i < N; i++) {
		ds_cache_release(c, h[i]);
		ck_assert_uint_eq(ds_cache_total_charge(c),
				  N - 1 - i > CAP ? N - 1 - i : CAP);
	}
	ck_assert_uint_eq(deleted.n, N - CAP);
	for (int i = 0; i < N - CAP; i++) /* the first released went first */
		ck_assert_int_eq(deleted.values[i], 2000 + i);
	ds_cache_destroy(c);
}
END_TEST

START_TEST(test_cache_evicts_by_charge)
{
	enum { CAP = 1000, LIGHT = 1, HEAVY = 10 };
	ds_cache_t *c = make_cache(CAP, 1, false);
	size_t cached = 0;

	for (int i = 0; i < 2 * CAP; i++) /* alternate light and heavy */
		ck_assert_int_eq(insert(c, i, 1000 + i, i & 1 ? HEAVY : LIGHT),
				 0);
	for (int i = 0; i < 2 * CAP; i++) {
		int v = lookup(c, i);

		if (v >= 0) {
			cached += i & 1 ? HEAVY : LIGHT;
			ck_assert_int_eq(v, 1000 + i);
		}
	}
	ck_assert_uint_le(cached, CAP);
	ck_assert_uint_ge(cached, CAP - HEAVY);
	ck_assert_uint_eq(ds_cache_total_charge(c), cached);
	ds_cache_destroy(c);
}
END_TEST

START_TEST(test_cache_zero_capacity_caches_nothing)
{
	ds_cache_t *c = make_cache(0, 0, false);
	ds_cache_handle_t *h = insert_pinned(c, 1, 100, 1);

	ck_assert_int_eq((int)(intptr_t)ds_cache_value(h), 100);
	ck_assert_int_eq(lookup(c, 1), -1);
	ck_assert_uint_eq(deleted.n, 0);
	ds_cache_release(c, h);
	ck_assert_uint_eq(deleted.n, 1);
	ck_assert_int_eq(insert(c, 2, 200, 1), 0);
	ck_assert_uint_eq(deleted.n, 2);
	ck_assert_uint_eq(ds_cache_total_charge(c), 0);
	/* A zero charge always fits. */
	ck_assert_int_eq(insert(c, 3, 300, 0), 0);
	ck_assert_int_eq(lookup(c, 3), 300);
	ds_cache_destroy(c);
	ck_assert_uint_eq(deleted.n, 3);
}
END_TEST

START_TEST(test_cache_huge_charge_is_never_cached)
{
	ds_cache_t *c = make_cache(100, 1, false);
	ds_cache_handle_t *h;

	ck_assert_int_eq(insert(c, 1, 100, 1), 0);
	h = insert_pinned(c, 1, 101, SIZE_MAX);
	ck_assert_int_eq((int)(intptr_t)ds_cache_value(h), 101);
	ck_assert_uint_eq(ds_cache_charge(h), SIZE_MAX);
	ck_assert_int_eq(lookup(c, 1), -1); /* the stale 100 is gone too */
	ck_assert_uint_eq(deleted.n, 1);
	ds_cache_release(c, h);
	ck_assert_uint_eq(deleted.n, 2);
	ck_assert_int_eq(deleted.values[1], 101);
	ck_assert_int_eq(insert(c, 2, 200, 101), 0); /* one over: same */
	ck_assert_uint_eq(deleted.n, 3);
	ck_assert_int_eq(insert(c, 3, 300, 100), 0); /* exactly fits */
	ck_assert_int_eq(lookup(c, 3), 300);
	ck_assert_uint_eq(ds_cache_total_charge(c), 100);
	ds_cache_destroy(c);
}
END_TEST

START_TEST(test_cache_strict_huge_charge_fails_and_keeps_old)
{
	ds_cache_t *c = make_cache(100, 1, true);
	ds_cache_handle_t *h = (ds_cache_handle_t *)&h;
	int key = 1;

	ck_assert_int_eq(insert(c, 1, 100, 1), 0);
	ck_assert_int_eq(
		ds_cache_insert(c, &key, sizeof(key), NULL, SIZE_MAX, &h),
		ENOSPC);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(lookup(c, 1), 100);
	ck_assert_uint_eq(deleted.n, 0);
	ds_cache_destroy(c);
}
END_TEST

START_TEST(test_cache_strict_capacity_refuses_when_pinned)
{
	enum { CAP = 4 };
	ds_cache_t *c = make_cache(CAP, 1, true);
	ds_cache_handle_t *h[CAP], *r;

	for (int i = 0; i < CAP; i++)
		h[i] = insert_pinned(c, i, 100 + i, 1);
	ck_assert_int_eq(insert(c, 10, 110, 1), ENOSPC);
	ck_assert_uint_eq(deleted.n, 0); /* the caller still owns 110 */
	ck_assert_int_eq(lookup(c, 10), -1);
	/* Replacing a key frees its charge: fits although all are pinned. */
	r = insert_pinned(c, 0, 200, 1);
	ck_assert_int_eq(lookup(c, 0), 200);
	ck_assert_uint_eq(ds_cache_total_charge(c), CAP);
	ds_cache_release(c, h[1]);
	ck_assert_int_eq(insert(c, 10, 110, 1), 0); /* evicts key 1 */
	ck_assert_int_eq(lookup(c, 1), -1);
	ck_assert_int_eq(lookup(c, 10), 110);
	ck_assert_uint_eq(ds_cache_total_charge(c), CAP);
	ds_cache_release(c, h[0]);
	ds_cache_release(c, h[2]);
	ds_cache_release(c, h[3]);
	ds_cache_release(c, r);
	ds_cache_destroy(c);
	ck_assert_uint_eq(deleted.n, CAP + 2);
}
END_TEST

START_TEST(test_cache_prune_drops_only_unpinned)
{
	ds_cache_t *c = make_cache(1000, 4, false);
	ds_cache_handle_t *h;

	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(insert(c, i, 100 + i, 2), 0);
	h = insert_pinned(c, 5, 105, 2);
	ck_assert_uint_eq(deleted.n, 1); /* the first 105, replaced */
	ck_assert_uint_eq(ds_cache_prune(c), 9);
	ck_assert_uint_eq(deleted.n, 10);
	ck_assert_int_eq(lookup(c, 5), 105);
	ck_assert_int_eq(lookup(c, 4), -1);
	ck_assert_uint_eq(ds_cache_total_charge(c), 2);
	ds_cache_release(c, h);
	ck_assert_uint_eq(ds_cache_prune(c), 1);
	ck_assert_uint_eq(ds_cache_total_charge(c), 0);
	ck_assert_uint_eq(ds_cache_prune(NULL), 0);
	ds_cache_destroy(c);
	ck_assert_uint_eq(deleted.n, 11);
}
END_TEST

START_TEST(test_cache_stats_count_operations)
{
	enum { SHARDS = 4 };
	ds_cache_t *c = make_cache(8, SHARDS, false);
	struct ds_cache_stats st, per[SHARDS], sum = { 0 };

	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(insert(c, i, i, 1), 0);
	for (int i = 0; i < 100; i++)
		lookup(c, i);
	ck_assert_int_eq(ds_cache_stats(c, &st, per, SHARDS), 0);
	ck_assert_uint_eq(st.inserts, 100);
	ck_assert_uint_eq(st.hits + st.misses, 100);
	ck_assert_uint_eq(st.hits, st.entries);
	ck_assert_uint_eq(st.entries, 8); /* 2 per shard, all full */
	ck_assert_uint_eq(st.charge, 8);
	ck_assert_uint_eq(st.evictions, 100 - 8);
	for (int i = 0; i < SHARDS; i++) {
		ck_assert_uint_eq(per[i].entries, 2);
		sum.hits += per[i].hits;
		sum.misses += per[i].misses;
		sum.inserts += per[i].inserts;
		sum.evictions += per[i].evictions;
	}
	ck_assert(sum.hits == st.hits && sum.misses == st.misses);
	ck_assert(sum.inserts == st.inserts && sum.evictions == st.evictions);
	ck_assert_int_eq(ds_cache_stats(NULL, &st, NULL, 0), EINVAL);
	ds_cache_destroy(c);
}
END_TEST

/* An insert too heavy to cache still counts: it succeeded, and erased the
 * key's old mapping. Refused ones do not count. */
START_TEST(test_cache_stats_count_uncached_inserts)
{
	ds_cache_t *c = make_cache(4, 1, false);
	ds_cache_handle_t *h;
	struct ds_cache_stats st;

	ck_assert_int_eq(insert(c, 1, 100, 1), 0);
	ck_assert_int_eq(insert(c, 1, 101, 5), 0); /* erases 100 */
	h = insert_pinned(c, 2, 200, 5);
	st = stats(c);
	ck_assert_uint_eq(st.inserts, 3);
	ck_assert_uint_eq(st.entries, 0);
	ck_assert_uint_eq(st.charge, 0);
	ck_assert_uint_eq(st.evictions, 0);
	ds_cache_release(c, h);
	ck_assert_uint_eq(deleted.n, 3);
	ds_cache_destroy(c);
	c = make_cache(4, 1, true);
	ck_assert_int_eq(insert(c, 1, 100, 5), ENOSPC);
	ck_assert_uint_eq(stats(c).inserts, 0);
	ds_cache_destroy(c);
}
END_TEST

static void unused_free(void *ptr, size_t size, void *arg)
{
	(void)size, (void)arg;
	free(ptr);
}

START_TEST(test_cache_rejects_bad_arguments)
{
	struct ds_cache_options opt = { 0 };
	ds_cache_t *c = (ds_cache_t *)&opt;
	ds_cache_handle_t *h = (ds_cache_handle_t *)&opt;
	int key = 1;

	ck_assert_int_eq(ds_cache_create(NULL, &opt), EINVAL);
	ck_assert_int_eq(ds_cache_create(&c, NULL), EINVAL);
	opt.shards = 3;
	ck_assert_int_eq(ds_cache_create(&c, &opt), EINVAL);
	opt.shards = DS_CACHE_MAX_SHARDS * 2;
	ck_assert_int_eq(ds_cache_create(&c, &opt), EINVAL);
	opt.shards = 1;
	opt.free = unused_free; /* alloc left NULL */
	ck_assert_int_eq(ds_cache_create(&c, &opt), EINVAL);
	c = make_cache(10, 1, false);
	ck_assert_int_eq(ds_cache_insert(NULL, &key, 4, NULL, 1, &h), EINVAL);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(ds_cache_insert(c, NULL, 4, NULL, 1, NULL), EINVAL);
	ck_assert_int_eq(ds_cache_insert(c, &key, 0, NULL, 1, NULL), EINVAL);
	ck_assert_int_eq(ds_cache_lookup(c, &key, 4, NULL), EINVAL);
	ck_assert_int_eq(ds_cache_lookup(c, &key, 0, &h), EINVAL);
	ck_assert_int_eq(ds_cache_lookup(NULL, &key, 4, &h), EINVAL);
	ck_assert_int_eq(ds_cache_erase(c, NULL, 4), EINVAL);
	ck_assert_int_eq(ds_cache_erase(c, &key, 0), EINVAL);
	ck_assert_int_eq(ds_cache_erase(NULL, &key, 4), EINVAL);
	ck_assert_ptr_null(ds_cache_value(NULL));
	ds_cache_release(c, NULL);
	ck_assert_uint_eq(ds_cache_total_charge(NULL), 0);
	ck_assert_uint_eq(ds_cache_shard_count(NULL), 0);
	ds_cache_destroy(NULL);
	ds_cache_destroy(c);
}
END_TEST

START_TEST(test_cache_spreads_keys_over_shards)
{
	enum { N = 4096 };
	struct ds_cache_stats per[DS_CACHE_DEFAULT_SHARDS];
	ds_cache_t *c = make_cache(N, 0, false);

	ck_assert_uint_eq(ds_cache_shard_count(c), DS_CACHE_DEFAULT_SHARDS);
	for (int i = 0; i < N / 2; i++)
		ck_assert_int_eq(insert(c, i, i, 1), 0);
	ck_assert_int_eq(ds_cache_stats(c, NULL, per, DS_CACHE_DEFAULT_SHARDS),
			 0);
	for (unsigned i = 0; i < DS_CACHE_DEFAULT_SHARDS; i++) {
		ck_assert_uint_gt(per[i].entries, N / 2 / 16 / 2);
		ck_assert_uint_lt(per[i].entries, N / 2 / 16 * 2);
	}
	for (int i = 0; i < N / 2; i++)
		ck_assert_int_eq(lookup(c, i), i);
	ds_cache_destroy(c);
	c = make_cache(N, 1, false);
	ck_assert_uint_eq(ds_cache_shard_count(c), 1);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(insert(c, i, i, 1), 0);
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(lookup(c, i), i);
	ds_cache_destroy(c);
	ck_assert_uint_eq(deleted.n, N);
}
END_TEST

static void noop_deleter(const void *key, size_t keylen, void *value, void *arg)
{
	(void)key, (void)keylen, (void)value, (void)arg;
}

START_TEST(test_cache_keys_are_copied_bytes)
{
	struct ds_cache_options opt = { .capacity = 100,
					.shards = 2,
					.deleter = noop_deleter };
	char key[8] = "ab\0cd", other[8] = "ab\0ce";
	ds_cache_t *c;
	ds_cache_handle_t *h;

	ck_assert_int_eq(ds_cache_create(&c, &opt), 0);
	ck_assert_int_eq(ds_cache_insert(c, key, 5, (void *)1, 1, NULL), 0);
	ck_assert_int_eq(ds_cache_insert(c, key, 2, (void *)2, 1, NULL), 0);
	ck_assert_int_eq(ds_cache_insert(c, key, 3, (void *)3, 1, NULL), 0);
	ck_assert_int_eq(ds_cache_lookup(c, other, 5, &h), ENOENT);
	key[4] = 'x'; /* the cache has its own copy */
	memcpy(other, "ab\0cd", 5);
	ck_assert_int_eq(ds_cache_lookup(c, other, 5, &h), 0);
	ck_assert_ptr_eq(ds_cache_value(h), (void *)1);
	ds_cache_release(c, h);
	ck_assert_int_eq(ds_cache_lookup(c, other, 2, &h), 0);
	ck_assert_ptr_eq(ds_cache_value(h), (void *)2);
	ds_cache_release(c, h);
	ck_assert_int_eq(ds_cache_lookup(c, other, 3, &h), 0);
	ck_assert_ptr_eq(ds_cache_value(h), (void *)3);
	ds_cache_release(c, h);
	ck_assert_uint_eq(ds_cache_total_charge(c), 3);
	ds_cache_destroy(c);
}
END_TEST

/* A deleter that uses the cache it is called from: it must not be called
 * with a cache lock held (a deadlock, or a recursive-lock report). */
static ds_cache_t *reentrant_cache;
static int reentrant_calls;

static void reentrant_deleter(const void *key, size_t keylen, void *value,
			      void *arg)
{
	int k = 7777, v;

	(void)arg;
	record_deleter(key, keylen, value, NULL);
	reentrant_calls++;
	if (!reentrant_cache || memcmp(key, &k, sizeof(k)) == 0)
		return; /* 7777's own deletion calls nothing back */
	v = lookup(reentrant_cache, k);
	ck_assert(v == -1 || v == 7);
	ck_assert_int_eq(insert(reentrant_cache, k, 7, 1), 0);
	ds_cache_prune(reentrant_cache);
	ck_assert_uint_le(ds_cache_total_charge(reentrant_cache), 4);
}

START_TEST(test_cache_deleter_may_call_back_into_cache)
{
	struct ds_cache_options opt = { .capacity = 4,
					.shards = 1,
					.deleter = reentrant_deleter };
	ds_cache_handle_t *h;
	ds_cache_t *c;

	ck_assert_int_eq(ds_cache_create(&reentrant_cache, &opt), 0);
	reset_deleted();
	for (int i = 0; i < 10; i++) /* evictions */
		ck_assert_int_eq(insert(reentrant_cache, i, i, 1), 0);
	ck_assert_int_eq(erase(reentrant_cache, 9), 0); /* erase */
	h = insert_pinned(reentrant_cache, 20, 20, 1);
	ck_assert_int_eq(erase(reentrant_cache, 20), 0);
	ds_cache_release(reentrant_cache, h); /* release */
	ck_assert_int_eq(insert(reentrant_cache, 30, 30, 1), 0);
	ds_cache_prune(reentrant_cache); /* prune */
	ck_assert_int_gt(reentrant_calls, 10);
	c = reentrant_cache;
	reentrant_cache = NULL; /* no callback from destroy */
	ds_cache_destroy(c);
}
END_TEST

START_TEST(test_cache_destroy_deletes_every_value_once)
{
	enum { N = 1000 };
	ds_cache_t *c = make_cache(N, 8, false);
	bool seen[N] = { false };

	for (int i = 0; i < N; i++)
		ck_assert_int_eq(insert(c, i, i, 1), 0);
	ds_cache_destroy(c);
	ck_assert_uint_eq(deleted.n, N);
	for (size_t i = 0; i < deleted.n; i++) {
		ck_assert_int_eq(deleted.keys[i], deleted.values[i]);
		ck_assert(!seen[deleted.values[i]]);
		seen[deleted.values[i]] = true;
	}
}
END_TEST

/* ---- oom: fail the Nth allocation ---- */

struct failing_alloc {
	long n;	      /* allocations so far */
	long fail_at; /* the one that fails (1-based; 0: none) */
	long live;    /* allocated and not yet freed */
};

static void *failing_alloc(size_t size, void *arg)
{
	struct failing_alloc *fa = arg;
	void *p;

	if (++fa->n == fa->fail_at)
		return NULL;
	p = malloc(size);
	fa->live += p != NULL;
	return p;
}

static void failing_free(void *ptr, size_t size, void *arg)
{
	struct failing_alloc *fa = arg;

	(void)size;
	fa->live--;
	free(ptr);
}

enum { OOM_KEYS = 256, OOM_STEPS = 2 * OOM_KEYS, OOM_EVICT_KEYS = 3 };

/* What the cache should hold: value per key, 0 for none. */
struct model {
	int value[OOM_KEYS];
	bool inserted[4 * OOM_KEYS]; /* per value: insert succeeded */
	int deletions[4 * OOM_KEYS]; /* per value: times deleted */
	long ndeletions;	     /* deleter calls */
	size_t charge;
};

static struct model *model;

static void model_deleter(const void *key, size_t keylen, void *value,
			  void *arg)
{
	(void)key, (void)keylen, (void)arg;
	model->deletions[(intptr_t)value]++;
	model->ndeletions++;
}

/* One step of the sequence: insert, replace or erase key k; check. */
static void oom_step(ds_cache_t *c, int k, int step)
{
	int v = step + 1, err, old = model->value[k];

	if (step % 7 == 6) {
		err = erase(c, k);
		EXPECT_EQ(err, old ? 0 : ENOENT);
		model->charge -= old ? 1 : 0;
		model->value[k] = 0;
		return;
	}
	err = insert(c, k, v, 1);
	EXPECT(err == 0 || err == ENOMEM);
	if (err == 0) {
		model->charge += old ? 0 : 1;
		model->value[k] = v;
		model->inserted[v] = true;
	}
	EXPECT_EQ(lookup(c, k), model->value[k] ? model->value[k] : -1);
	EXPECT_EQ(ds_cache_total_charge(c), model->charge);
}

/* The counters, without Check's write(2) per passing check. */
static struct ds_cache_stats stats_quiet(ds_cache_t *c)
{
	struct ds_cache_stats st;

	EXPECT_EQ(ds_cache_stats(c, &st, NULL, 0), 0);
	return st;
}

/* The key the model holds in an evicting run, or -1. */
static int evict_model_key(void)
{
	for (int k = 0; k < OOM_EVICT_KEYS; k++)
		if (model->value[k])
			return k;
	return -1;
}

/* The key of an evicting step: each twice in a row (a replacement), then
 * the next (an eviction). */
static int evict_step_key(int step)
{
	return step / 2 % OOM_EVICT_KEYS;
}

/* One step of the evicting sequence (capacity 1: the cache holds the last
 * key inserted, unless erased since): insert, or erase the last key
 * inserted, so that the next insert finds the shard empty; check. An
 * insert that fails must not have evicted or deleted anything. */
static void oom_evict_step(ds_cache_t *c, int step)
{
	int k = evict_step_key(step), v = step + 1, held = evict_model_key();
	struct ds_cache_stats before = stats_quiet(c), after;
	long ndeletions = model->ndeletions;
	int err;

	if (step % 5 == 4) { /* uthash frees the table with the last entry */
		k = evict_step_key(step - 1);
		EXPECT_EQ(erase(c, k), held == k ? 0 : ENOENT);
		model->value[k] = 0;
		return;
	}
	err = insert(c, k, v, 1);
	after = stats_quiet(c);
	EXPECT(err == 0 || err == ENOMEM);
	EXPECT_EQ(after.inserts - before.inserts, !err);
	EXPECT_EQ(after.evictions - before.evictions,
		  !err && held >= 0 && held != k);
	EXPECT_EQ(model->ndeletions - ndeletions, !err && held >= 0);
	if (!err) {
		if (held >= 0)
			model->value[held] = 0;
		model->value[k] = v;
		model->inserted[v] = true;
	}
	for (int i = 0; i < OOM_EVICT_KEYS; i++)
		EXPECT_EQ(lookup(c, i), model->value[i] ? model->value[i] : -1);
	EXPECT_EQ(after.charge, evict_model_key() >= 0);
}

/* Runs the sequence with allocation fail_at failing; false when no
 * allocation failed (fail_at is past the end: the loop is done). *nallocs:
 * how many allocations were asked for. evicting: the capacity-1 sequence
 * of oom_evict_step instead of oom_step's roomy one. */
static bool oom_run(long fail_at, bool evicting, long *nallocs)
{
	struct failing_alloc fa = { 0, fail_at, 0 };
	struct ds_cache_options opt = { .capacity = evicting ? 1 : 4 * OOM_KEYS,
					.shards = 1,
					.seed = { 7, 7 },
					.deleter = model_deleter,
					.alloc = failing_alloc,
					.free = failing_free,
					.alloc_arg = &fa };
	ds_cache_t *c;
	int err = ds_cache_create(&c, &opt);

	memset(model, 0, sizeof(*model));
	EXPECT(err == 0 || err == ENOMEM);
	if (err) {
		EXPECT_EQ(fa.live, 0);
		return true;
	}
	for (int step = 0; step < OOM_STEPS; step++) {
		if (evicting)
			oom_evict_step(c, step);
		else
			oom_step(c, (step * 7) % OOM_KEYS, step);
	}
	for (int k = 0; k < OOM_KEYS; k++)
		EXPECT_EQ(lookup(c, k), model->value[k] ? model->value[k] : -1);
	ds_cache_destroy(c);
	EXPECT_EQ(fa.live, 0);
	for (int v = 1; v <= OOM_STEPS; v++) /* once if it went in */
		EXPECT_EQ(model->deletions[v], model->inserted[v]);
	*nallocs = fa.n;
	return fa.n >= fail_at;
}

START_TEST(test_cache_survives_every_failed_allocation)
{
	long n, nallocs = 0, inserts = OOM_STEPS - OOM_STEPS / 7;

	model = calloc(1, sizeof(*model));
	for (n = 1; oom_run(n, false, &nallocs); n++)
		;
	/* Every entry, the cache and its shards, uthash's table and first
	 * buckets, and at least one bucket expansion had its turn to fail. */
	ck_assert_int_gt(nallocs, inserts + 4);
	ck_assert_int_eq(n, nallocs + 1);
	free(model);
}
END_TEST

/* The same with an eviction in nearly every insert: a failed insert, at
 * whichever allocation, must leave the cache as it was (no eviction, no
 * deleter call), as cache.h promises for ENOMEM. */
START_TEST(test_cache_survives_every_failed_allocation_while_evicting)
{
	long n, nallocs = 0;

	model = calloc(1, sizeof(*model));
	for (n = 1; oom_run(n, true, &nallocs); n++)
		;
	/* Every entry, the cache and its shards, and the table had their
	 * turn to fail. */
	ck_assert_int_gt(nallocs, OOM_STEPS - OOM_STEPS / 5 + 2);
	ck_assert_int_eq(n, nallocs + 1);
	free(model);
}
END_TEST

/* One shard filled by one unpinned entry, and an insert that must evict
 * it, with each of the insert's allocations failing in turn. (Evicting
 * first, as the cache once did, emptied the table; uthash freed it and
 * the add, needing a new one, failed after the deleter had run.) */
START_TEST(test_cache_failed_insert_evicts_nothing)
{
	struct failing_alloc fa = { 0, 0, 0 };
	struct ds_cache_options opt = { .capacity = 10,
					.shards = 1,
					.deleter = record_deleter,
					.alloc = failing_alloc,
					.free = failing_free,
					.alloc_arg = &fa };
	struct ds_cache_stats st;
	ds_cache_t *c;
	int err = ENOMEM;

	for (long k = 1; err; k++) {
		ck_assert_int_eq(ds_cache_create(&c, &opt), 0);
		ck_assert_int_eq(insert(c, 1, 100, 10), 0);
		reset_deleted();
		fa.fail_at = fa.n + k;
		err = insert(c, 2, 200, 10);
		fa.fail_at = 0;
		ck_assert(err == 0 || err == ENOMEM);
		st = stats(c);
		ck_assert_int_eq(lookup(c, 1), (err ? 100 : -1));
		ck_assert_int_eq(lookup(c, 2), (err ? -1 : 200));
		ck_assert_uint_eq(deleted.n, (err ? 0 : 1));
		ck_assert_uint_eq(st.evictions, (err ? 0 : 1));
		ck_assert_uint_eq(st.inserts, (err ? 1 : 2));
		ds_cache_destroy(c);
		ck_assert_int_eq(fa.live, 0);
	}
}
END_TEST

START_TEST(test_cache_insert_failure_leaves_value_to_caller)
{
	struct failing_alloc fa = { 0, 0, 0 };
	struct ds_cache_options opt = { .capacity = 10,
					.shards = 1,
					.deleter = record_deleter,
					.alloc = failing_alloc,
					.free = failing_free,
					.alloc_arg = &fa };
	ds_cache_t *c;
	ds_cache_handle_t *h = (ds_cache_handle_t *)&fa;
	int key = 5;

	ck_assert_int_eq(ds_cache_create(&c, &opt), 0);
	reset_deleted();
	fa.fail_at = fa.n + 1;
	ck_assert_int_eq(ds_cache_insert(c, &key, 4, (void *)5, 1, &h), ENOMEM);
	ck_assert_ptr_null(h);
	fa.fail_at = fa.n + 2; /* the entry, then the first table */
	ck_assert_int_eq(ds_cache_insert(c, &key, 4, (void *)5, 1, &h), ENOMEM);
	ck_assert_uint_eq(deleted.n, 0);
	ck_assert_int_eq(lookup(c, 5), -1);
	ck_assert_int_eq(insert(c, 5, 6, 1), 0);
	ck_assert_int_eq(lookup(c, 5), 6);
	ds_cache_destroy(c);
	ck_assert_int_eq(fa.live, 0);
}
END_TEST

/* ---- threads ---- */

enum {
	ST_KEYS = 256,
	ST_CAP_PER_THREAD = 4, /* small: pins often fill a shard */
	ST_ROUNDS = 8,
	ST_OPS = 250,
	ST_PINS = 3,
	ST_MAX_THREADS = 16,
	ST_MAX_VALUES = ST_MAX_THREADS * ST_ROUNDS * ST_OPS + 1,
	VAL_ALIVE = 0x11a71fe,
	VAL_DEAD = 0xdead,
};

struct val {
	uint32_t magic;
	int key;
	uint64_t version;
	uint32_t id;
};

struct stress {
	ds_cache_t *cache;
	pthread_barrier_t barrier;
	int nthreads;
	size_t capacity;
	_Atomic uint32_t next_id;
	_Atomic unsigned char deletions[ST_MAX_VALUES];
	_Atomic bool callback; /* the deleter looks the key up */
	_Atomic int failures;
};

static struct stress *st;

#define ST_CHECK(cond)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,     \
				#cond);                                        \
			atomic_fetch_add(&st->failures, 1);                    \
		}                                                              \
	} while (0)

static void stress_deleter(const void *key, size_t keylen, void *value,
			   void *arg)
{
	struct val *v = value;
	ds_cache_handle_t *h;

	(void)arg;
	ST_CHECK(v->magic == VAL_ALIVE);
	ST_CHECK(keylen == sizeof(int) && memcmp(key, &v->key, keylen) == 0);
	ST_CHECK(atomic_fetch_add(&st->deletions[v->id], 1) == 0);
	v->magic = VAL_DEAD;
	free(v);
	if (atomic_load(&st->callback) &&
	    ds_cache_lookup(st->cache, key, keylen, &h) == 0)
		ds_cache_release(st->cache, h);
}

struct worker {
	int id;
	uint64_t rng;
	uint64_t version[ST_KEYS]; /* last written, for keys we own */
	uint64_t seen[ST_KEYS];	   /* highest seen by a lookup */
	ds_cache_handle_t *pins[ST_PINS];
	int npins;
};

static uint64_t next_rand(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

static void pin(struct worker *w, ds_cache_handle_t *h)
{
	if (w->npins == ST_PINS) {
		ds_cache_release(st->cache, w->pins[0]);
		memmove(w->pins, w->pins + 1, sizeof(w->pins[0]) * --w->npins);
	}
	w->pins[w->npins++] = h;
}

static void unpin_all(struct worker *w)
{
	while (w->npins > 0)
		ds_cache_release(st->cache, w->pins[--w->npins]);
}

/* Old-or-new: a value found under k is k's, alive, and never older than
 * one this thread saw before (only k's owner writes it, in order). */
static void stress_lookup(struct worker *w, int k)
{
	ds_cache_handle_t *h;
	struct val *v;

	if (ds_cache_lookup(st->cache, &k, sizeof(k), &h) == ENOENT)
		return;
	v = ds_cache_value(h);
	ST_CHECK(v->magic == VAL_ALIVE && v->key == k);
	ST_CHECK(v->version >= w->seen[k]);
	w->seen[k] = v->version;
	pin(w, h);
}

/* Writes a new version of an owned key; a lookup right after sees it. */
static void stress_insert(struct worker *w, int k)
{
	struct val *v = malloc(sizeof(*v));
	ds_cache_handle_t *h, *again;

	v->magic = VAL_ALIVE;
	v->key = k;
	v->version = ++w->version[k];
	v->id = atomic_fetch_add(&st->next_id, 1);
	ST_CHECK(v->id < ST_MAX_VALUES);
	ST_CHECK(ds_cache_insert(st->cache, &k, sizeof(k), v,
				 1 + (next_rand(w) & 1), &h) == 0);
	ST_CHECK(ds_cache_lookup(st->cache, &k, sizeof(k), &again) == 0);
	ST_CHECK(ds_cache_value(again) == v);
	ds_cache_release(st->cache, again);
	pin(w, h);
}

static void stress_op(struct worker *w)
{
	uint64_t r = next_rand(w);
	int k = (int)((r >> 8) % ST_KEYS);
	int own = k - k % st->nthreads + w->id; /* a key this thread owns */
	unsigned what = (unsigned)(r & 0xff);

	if (own >= ST_KEYS)
		own -= st->nthreads;
	if (what < 128)
		stress_lookup(w, k);
	else if (what < 220)
		stress_insert(w, own);
	else if (what < 240)
		ds_cache_erase(st->cache, &own, sizeof(own));
	else if (what < 250)
		unpin_all(w);
	else if (what < 253)
		ds_cache_prune(st->cache);
	else
		ST_CHECK(ds_cache_total_charge(st->cache) <=
			 st->capacity +
				 (ST_PINS + 2) * 2 * (size_t)st->nthreads);
}

static void *stress_thread(void *arg)
{
	struct worker *w = arg;

	for (int round = 0; round < ST_ROUNDS; round++) {
		pthread_barrier_wait(&st->barrier);
		for (int i = 0; i < ST_OPS; i++)
			stress_op(w);
		unpin_all(w);
		/* Nothing is pinned between these two barriers. */
		if (pthread_barrier_wait(&st->barrier) ==
		    PTHREAD_BARRIER_SERIAL_THREAD)
			ST_CHECK(ds_cache_total_charge(st->cache) <=
				 st->capacity);
		pthread_barrier_wait(&st->barrier);
	}
	return NULL;
}

/* Runs nthreads stress_thread workers to the end. */
static void run_workers(int nthreads)
{
	pthread_t tid[ST_MAX_THREADS];
	struct worker *w = calloc(nthreads, sizeof(*w));

	pthread_barrier_init(&st->barrier, NULL, nthreads);
	for (int i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		ck_assert_int_eq(
			pthread_create(&tid[i], NULL, stress_thread, &w[i]), 0);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&st->barrier);
	free(w);
}

static void stress_run(int nthreads, bool callback)
{
	struct ds_cache_options opt = { .capacity = ST_CAP_PER_THREAD *
						    (size_t)nthreads,
					.shards = 4,
					.deleter = stress_deleter };
	uint32_t n;
	int failures;

	st = calloc(1, sizeof(*st));
	st->nthreads = nthreads;
	st->capacity = opt.capacity;
	atomic_store(&st->callback, callback);
	ck_assert_int_eq(ds_cache_create(&st->cache, &opt), 0);
	run_workers(nthreads);
	ck_assert_uint_le(ds_cache_total_charge(st->cache), st->capacity);
	atomic_store(&st->callback, false);
	ds_cache_destroy(st->cache);
	n = atomic_load(&st->next_id);
	for (uint32_t i = 0; i < n; i++) /* every value deleted, once */
		EXPECT_EQ(atomic_load(&st->deletions[i]), 1);
	failures = atomic_load(&st->failures);
	ck_assert_int_eq(failures, 0);
	free(st);
}

static const int stress_threads[] = { 2, 4, 8, 16 };

START_TEST(test_cache_stress_keeps_invariants)
{
	stress_run(stress_threads[_i], false);
}
END_TEST

START_TEST(test_cache_stress_with_reentrant_deleter)
{
	stress_run(stress_threads[_i], true);
}
END_TEST

/* ---- lockcheck ---- */

static void checked_workload(void *arg)
{
	(void)arg;
	stress_run(4, true); /* exits non-zero on a failed check */
}

START_TEST(test_cache_reports_nothing_under_checker)
{
	static const char *const env[] = { "LOCKCHECK_ACTION=abort", NULL };
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(checked_workload, NULL, env, &c), &c);
	if (!lct_exited_with(&c, 0) || lct_count_all_reports(&c))
		lct_child_dump(&c, "cache workload");
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 0);
	lct_child_free(&c);
}
END_TEST

static void stats_of_8_shards(void *arg)
{
	ds_cache_t *c = make_cache(1000, 8, false);

	(void)arg;
	for (int i = 0; i < 64; i++)
		insert(c, i, i, 1);
	ck_assert_uint_eq(stats(c).entries, 64); /* all 8 locks at once */
	ds_cache_destroy(c);
}

/* The dump's class line: "class <id> <kind> <instances> ... "<name>" ..." */
static int count_shard_classes(const char *dump, unsigned *instances)
{
	int n = 0;

	for (const char *p = dump; (p = strstr(p, "\nclass ")); p++) {
		const char *eol = strchr(p + 1, '\n');
		const char *name = strstr(p, "\"ds_cache.shard\"");

		if (name && (!eol || name < eol)) {
			ck_assert_int_eq(
				sscanf(p, "\nclass %*u mutex %u", instances),
				1);
			n++;
		}
	}
	return n;
}

START_TEST(test_cache_shards_are_one_lock_class)
{
	const char *dir;
	char env_dump[4200];
	const char *env[] = { "LOCKCHECK_ACTION=abort", env_dump, NULL };
	struct lct_child c;
	unsigned instances = 0;
	char *dump;

	if (!LOCKCHECK)
		return; /* no checker, no dump */
	dir = lct_tmpdir("cache_dump");
	ck_assert_ptr_nonnull(dir);
	snprintf(env_dump, sizeof(env_dump), "LOCKCHECK_DUMP=%s", dir);
	LCT_ASSERT_RAN(lct_run_fn(stats_of_8_shards, NULL, env, &c), &c);
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 0);
	dump = lct_read_only_dump(dir);
	ck_assert_ptr_nonnull(dump);
	ck_assert_int_eq(count_shard_classes(dump, &instances), 1);
	ck_assert_uint_eq(instances, 8);
	ck_assert_ptr_null(strstr(dump, "\nfinding "));
	free(dump);
	lct_child_free(&c);
}
END_TEST

/* The id of the dump's class with this name, or -1. */
static int dump_class_id(const char *dump, const char *name)
{
	char quoted[128];
	int id;

	snprintf(quoted, sizeof(quoted), "\"%s\"", name);
	for (const char *p = dump; (p = strstr(p, "\nclass ")); p++) {
		const char *eol = strchr(p + 1, '\n');
		const char *at = strstr(p, quoted);

		if (at && (!eol || at < eol) &&
		    sscanf(p, "\nclass %d", &id) == 1)
			return id;
	}
	return -1;
}

/* True when the dump has an edge from class `from` to class `to`: a `to`
 * lock was taken while a `from` one was held. */
static bool dump_has_edge(const char *dump, int from, int to)
{
	char edge[64];

	snprintf(edge, sizeof(edge), "\nedge %d %d ", from, to);
	return strstr(dump, edge) != NULL;
}

/* Releases h holding outer: a shard lock that the release takes shows in
 * the dump as an edge from outer's class (one per init site). */
static void release_holding(ds_cache_t *c, ds_cache_handle_t *h,
			    lc_mutex_t *outer)
{
	EXPECT_EQ(lc_mutex_lock(outer), 0);
	ds_cache_release(c, h);
	EXPECT_EQ(lc_mutex_unlock(outer), 0);
	EXPECT_EQ(lc_mutex_destroy(outer), 0);
}

/* Two inserts refused (ENOSPC) after meeting a pinned entry while looking
 * for room; then the pin's release, with the cache within capacity, which
 * cache.h says takes no lock. For contrast, a release in a cache that is
 * over capacity because of pins, which must take one. */
static void release_after_refused_inserts(void *arg)
{
	ds_cache_t *strict = make_cache(10, 1, true);
	ds_cache_t *loose = make_cache(SIZE_MAX, 1, false);
	ds_cache_t *over = make_cache(1, 1, false);
	ds_cache_handle_t *hs, *hl, *ho[2];
	lc_mutex_t in_strict, in_loose, in_over;

	(void)arg;
	EXPECT_EQ(lc_mutex_init(&in_strict, "cache_test.within_strict"), 0);
	EXPECT_EQ(lc_mutex_init(&in_loose, "cache_test.within_loose"), 0);
	EXPECT_EQ(lc_mutex_init(&in_over, "cache_test.over"), 0);
	hs = insert_pinned(strict, 1, 100, 10);
	hl = insert_pinned(loose, 1, 100, SIZE_MAX - 1);
	EXPECT_EQ(insert(strict, 2, 200, 5), ENOSPC);
	EXPECT_EQ(insert(loose, 2, 200, 2), ENOSPC); /* usage would overflow */
	release_holding(strict, hs, &in_strict);     /* within capacity */
	release_holding(loose, hl, &in_loose);
	EXPECT_EQ(lookup(strict, 1), 100);
	EXPECT_EQ(lookup(loose, 1), 100);
	ho[0] = insert_pinned(over, 1, 100, 1);
	ho[1] = insert_pinned(over, 2, 200, 1);
	release_holding(over, ho[0], &in_over); /* over: evicts 1 */
	ds_cache_release(over, ho[1]);
	EXPECT_EQ(lookup(over, 1), -1);
	ds_cache_destroy(strict);
	ds_cache_destroy(loose);
	ds_cache_destroy(over);
}

START_TEST(test_cache_refused_insert_leaves_release_lock_free)
{
	static const char *const classes[] = { "cache_test.within_strict",
					       "cache_test.within_loose" };
	const char *dir = lct_tmpdir("cache_release");
	char env_dump[4200];
	const char *env[] = { "LOCKCHECK_ACTION=abort", env_dump, NULL };
	struct lct_child c;
	char *dump;
	int shard;

	ck_assert_ptr_nonnull(dir);
	snprintf(env_dump, sizeof(env_dump), "LOCKCHECK_DUMP=%s", dir);
	LCT_ASSERT_RAN(lct_run_fn(release_after_refused_inserts, NULL, env, &c),
		       &c);
	if (!lct_exited_with(&c, 0) || lct_count_all_reports(&c))
		lct_child_dump(&c, "release after refused inserts");
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 0);
	lct_child_free(&c);
	if (!LOCKCHECK)
		return; /* no checker, no dump: the behaviour alone */
	dump = lct_read_only_dump(dir);
	ck_assert_ptr_nonnull(dump);
	shard = dump_class_id(dump, "ds_cache.shard");
	ck_assert_int_ge(shard, 0);
	ck_assert(dump_has_edge(dump, dump_class_id(dump, "cache_test.over"),
				shard));
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		int outer = dump_class_id(dump, classes[i]);

		ck_assert_int_ge(outer, 0);
		if (dump_has_edge(dump, outer, shard))
			ck_abort_msg("a release in %s took a shard lock",
				     classes[i]);
	}
	free(dump);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cache");
	TCase *core = tcase_create("core");
	TCase *oom = tcase_create("oom");
	TCase *threads = tcase_create("threads");
	TCase *checked = tcase_create("lockcheck");
	int n = sizeof(stress_threads) / sizeof(stress_threads[0]);

	tcase_add_test(core, test_cache_hit_and_miss);
	tcase_add_test(core,
		       test_cache_insert_replaces_and_deletes_old_value_once);
	tcase_add_test(core, test_cache_erase_removes_and_deletes);
	tcase_add_test(core, test_cache_entries_are_pinned);
	tcase_add_test(core, test_cache_evicts_oldest_unpinned);
	tcase_add_test(core, test_cache_hit_saves_entry_from_eviction);
	tcase_add_test(
		core, test_cache_pinned_entries_exceed_capacity_until_released);
	tcase_add_test(core, test_cache_evicts_by_charge);
	tcase_add_test(core, test_cache_zero_capacity_caches_nothing);
	tcase_add_test(core, test_cache_huge_charge_is_never_cached);
	tcase_add_test(core, test_cache_strict_huge_charge_fails_and_keeps_old);
	tcase_add_test(core, test_cache_strict_capacity_refuses_when_pinned);
	tcase_add_test(core, test_cache_prune_drops_only_unpinned);
	tcase_add_test(core, test_cache_stats_count_operations);
	tcase_add_test(core, test_cache_stats_count_uncached_inserts);
	tcase_add_test(core, test_cache_rejects_bad_arguments);
	tcase_add_test(core, test_cache_spreads_keys_over_shards);
	tcase_add_test(core, test_cache_keys_are_copied_bytes);
	tcase_add_test(core, test_cache_deleter_may_call_back_into_cache);
	tcase_add_test(core, test_cache_destroy_deletes_every_value_once);
	tcase_add_test(oom, test_cache_survives_every_failed_allocation);
	tcase_add_test(
		oom,
		test_cache_survives_every_failed_allocation_while_evicting);
	tcase_add_test(oom, test_cache_failed_insert_evicts_nothing);
	tcase_add_test(oom, test_cache_insert_failure_leaves_value_to_caller);
	tcase_set_timeout(oom, 120);
	tcase_add_loop_test(threads, test_cache_stress_keeps_invariants, 0, n);
	tcase_add_loop_test(threads, test_cache_stress_with_reentrant_deleter,
			    0, n);
	tcase_set_timeout(threads, 120);
	tcase_add_test(checked, test_cache_reports_nothing_under_checker);
	tcase_add_test(checked, test_cache_shards_are_one_lock_class);
	tcase_add_test(checked,
		       test_cache_refused_insert_leaves_release_lock_free);
	tcase_set_timeout(checked, 120);
	suite_add_tcase(s, core);
	suite_add_tcase(s, oom);
	suite_add_tcase(s, threads);
	suite_add_tcase(s, checked);
	return lct_run_suite(s);
}
