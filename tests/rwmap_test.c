/*
 * rwmap_test.c: ds_rwmap, the RW-locked map.
 *
 * core: each operation and its edges, both ownership modes. oom: every
 * allocation of an operation sequence fails in turn, the map must match a
 * model after each step. threads: 2-16 threads writing their own keys and
 * reading everyone's, stepped by a barrier: values are never torn, never go
 * back in time, and size equals inserts minus deletes. lockcheck: a write
 * from a read callback is reported as recursive-lock (EDEADLK, no hang),
 * and normal use reports nothing.
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

#include "ds/rwmap.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ---- helpers: string keys and values ---- */

static ds_rwmap_t *make_map(void)
{
	ds_rwmap_t *m = NULL;

	ck_assert_int_eq(ds_rwmap_create(&m, NULL), 0);
	ck_assert_ptr_nonnull(m);
	return m;
}

static int put_s(ds_rwmap_t *m, const char *k, const char *v)
{
	return ds_rwmap_put(m, k, strlen(k), v, strlen(v) + 1);
}

/* The value under k as a string in buf, or NULL when absent. */
static const char *get_s(ds_rwmap_t *m, const char *k, char *buf, size_t cap)
{
	size_t len = 0;
	int err = ds_rwmap_get(m, k, strlen(k), buf, cap, &len);

	EXPECT(err == 0 || err == ENOENT);
	return err ? NULL : buf;
}

/* Asserts k's value is the string want (NULL: k is absent). */
static void assert_get(ds_rwmap_t *m, const char *k, const char *want)
{
	char buf[64];
	const char *got = get_s(m, k, buf, sizeof(buf));

	if (want)
		ck_assert_str_eq(got ? got : "(absent)", want);
	else
		ck_assert_ptr_null(got);
}

/* ---- core ---- */

START_TEST(test_rwmap_put_then_get_copies_out)
{
	ds_rwmap_t *m = make_map();

	ck_assert_int_eq(put_s(m, "alpha", "one"), 0);
	ck_assert_int_eq(put_s(m, "beta", "two"), 0);
	assert_get(m, "alpha", "one");
	assert_get(m, "beta", "two");
	assert_get(m, "gamma", NULL);
	ck_assert_uint_eq(ds_rwmap_size(m), 2);
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_get_reports_needed_size)
{
	ds_rwmap_t *m = make_map();
	char buf[8] = "xxxxxxx";
	size_t len = 0;

	ck_assert_int_eq(put_s(m, "k", "a longer value"), 0);
	ck_assert_int_eq(ds_rwmap_get(m, "k", 1, buf, sizeof(buf), &len),
			 ERANGE);
	ck_assert_uint_eq(len, 15);
	ck_assert_str_eq(buf, "xxxxxxx"); /* untouched */
	len = 0;
	ck_assert_int_eq(ds_rwmap_get(m, "k", 1, NULL, 0, &len), ERANGE);
	ck_assert_uint_eq(len, 15);
	ck_assert_int_eq(ds_rwmap_get(m, "k", 1, buf, 14, &len), ERANGE);
	len = 0;
	ck_assert_int_eq(ds_rwmap_get(m, "zz", 2, buf, sizeof(buf), &len),
			 ENOENT);
	ck_assert_uint_eq(len, 0);
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_put_replaces_value)
{
	ds_rwmap_t *m = make_map();

	ck_assert_int_eq(put_s(m, "k", "short"), 0);
	ck_assert_int_eq(put_s(m, "k", "a much longer value"), 0);
	assert_get(m, "k", "a much longer value");
	ck_assert_int_eq(put_s(m, "k", "s"), 0);
	assert_get(m, "k", "s");
	ck_assert_uint_eq(ds_rwmap_size(m), 1);
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_insert_refuses_existing_key)
{
	ds_rwmap_t *m = make_map();

	ck_assert_int_eq(ds_rwmap_insert(m, "k", 1, "v1", 3), 0);
	ck_assert_int_eq(ds_rwmap_insert(m, "k", 1, "v2", 3), EEXIST);
	assert_get(m, "k", "v1");
	ck_assert_uint_eq(ds_rwmap_size(m), 1);
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_replace_needs_existing_key)
{
	ds_rwmap_t *m = make_map();

	ck_assert_int_eq(ds_rwmap_replace(m, "k", 1, "v1", 3), ENOENT);
	assert_get(m, "k", NULL);
	ck_assert_uint_eq(ds_rwmap_size(m), 0);
	ck_assert_int_eq(put_s(m, "k", "v1"), 0);
	ck_assert_int_eq(ds_rwmap_replace(m, "k", 1, "v2", 3), 0);
	assert_get(m, "k", "v2");
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_delete_removes_once)
{
	ds_rwmap_t *m = make_map();

	ck_assert_int_eq(put_s(m, "a", "1"), 0);
	ck_assert_int_eq(put_s(m, "b", "2"), 0);
	ck_assert_int_eq(ds_rwmap_delete(m, "a", 1), 0);
	ck_assert_int_eq(ds_rwmap_delete(m, "a", 1), ENOENT);
	assert_get(m, "a", NULL);
	assert_get(m, "b", "2");
	ck_assert_uint_eq(ds_rwmap_size(m), 1);
	ck_assert_int_eq(ds_rwmap_delete(m, "b", 1), 0);
	ck_assert_uint_eq(ds_rwmap_size(m), 0);
	ck_assert_int_eq(put_s(m, "a", "3"), 0); /* an emptied table again */
	assert_get(m, "a", "3");
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_contains_and_size)
{
	ds_rwmap_t *m = make_map();

	ck_assert(!ds_rwmap_contains(m, "k", 1));
	ck_assert_uint_eq(ds_rwmap_size(m), 0);
	ck_assert_int_eq(put_s(m, "k", "v"), 0);
	ck_assert(ds_rwmap_contains(m, "k", 1));
	ck_assert(!ds_rwmap_contains(m, "k", 0));
	ck_assert(!ds_rwmap_contains(m, NULL, 1));
	ck_assert(!ds_rwmap_contains(NULL, "k", 1));
	ck_assert_uint_eq(ds_rwmap_size(NULL), 0);
	ds_rwmap_destroy(m);
}
END_TEST

static int count_visit(const void *key, size_t keylen, const void *value,
		       size_t vlen, void *arg)
{
	(void)key, (void)keylen, (void)value, (void)vlen;
	++*(int *)arg;
	return 0;
}

static void unused_free(void *ptr, size_t size, void *arg)
{
	(void)size, (void)arg;
	free(ptr);
}

START_TEST(test_rwmap_rejects_bad_arguments)
{
	struct ds_rwmap_options opt = { 0 };
	ds_rwmap_t *m = (ds_rwmap_t *)&opt;
	struct ds_rwmap_iter it;
	char buf[4];
	int n = 0;

	ck_assert_int_eq(ds_rwmap_create(NULL, NULL), EINVAL);
	opt.ownership = (enum ds_rwmap_ownership)7;
	ck_assert_int_eq(ds_rwmap_create(&m, &opt), EINVAL);
	opt.ownership = DS_RWMAP_COPY;
	opt.free = unused_free; /* alloc left NULL */
	ck_assert_int_eq(ds_rwmap_create(&m, &opt), EINVAL);
	m = make_map();
	ck_assert_int_eq(ds_rwmap_put(NULL, "k", 1, "v", 1), EINVAL);
	ck_assert_int_eq(ds_rwmap_put(m, NULL, 1, "v", 1), EINVAL);
	ck_assert_int_eq(ds_rwmap_put(m, "k", 0, "v", 1), EINVAL);
	ck_assert_int_eq(ds_rwmap_put(m, "k", 1, NULL, 1), EINVAL);
	ck_assert_int_eq(ds_rwmap_insert(m, "", 0, "v", 1), EINVAL);
	ck_assert_int_eq(ds_rwmap_replace(m, NULL, 0, "v", 1), EINVAL);
	ck_assert_int_eq(ds_rwmap_delete(m, "k", 0), EINVAL);
	ck_assert_int_eq(ds_rwmap_delete(NULL, "k", 1), EINVAL);
	ck_assert_int_eq(ds_rwmap_get(m, "k", 0, buf, 4, NULL), EINVAL);
	ck_assert_int_eq(ds_rwmap_get(m, "k", 1, NULL, 4, NULL), EINVAL);
	ck_assert_int_eq(ds_rwmap_get(NULL, "k", 1, buf, 4, NULL), EINVAL);
	ck_assert_int_eq(ds_rwmap_read(m, "k", 1, NULL, NULL), EINVAL);
	ck_assert_int_eq(ds_rwmap_read(m, NULL, 1, count_visit, &n), EINVAL);
	ck_assert_int_eq(ds_rwmap_foreach(m, NULL, NULL), EINVAL);
	ck_assert_int_eq(ds_rwmap_foreach(NULL, count_visit, &n), EINVAL);
	ck_assert_int_eq(ds_rwmap_iter_init(NULL, m), EINVAL);
	ck_assert_int_eq(ds_rwmap_iter_init(&it, NULL), EINVAL);
	ck_assert_int_eq(ds_rwmap_iter_next(NULL, count_visit, &n), EINVAL);
	ck_assert_int_eq(ds_rwmap_iter_init(&it, m), 0);
	ck_assert_int_eq(ds_rwmap_iter_next(&it, NULL, NULL), EINVAL);
	ck_assert_uint_eq(ds_rwmap_size(m), 0);
	ck_assert_int_eq(n, 0);
	ds_rwmap_destroy(NULL);
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_refuses_impossible_value_size)
{
	ds_rwmap_t *m = make_map();

	ck_assert_int_eq(ds_rwmap_put(m, "k", 1, "v", SIZE_MAX), ENOMEM);
	ck_assert_int_eq(ds_rwmap_put(m, "k", 1, "v", SIZE_MAX - 60), ENOMEM);
	ck_assert_uint_eq(ds_rwmap_size(m), 0);
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_zero_length_value)
{
	ds_rwmap_t *m = make_map();
	size_t len = 99;

	ck_assert_int_eq(ds_rwmap_put(m, "k", 1, NULL, 0), 0);
	ck_assert_int_eq(ds_rwmap_get(m, "k", 1, NULL, 0, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert(ds_rwmap_contains(m, "k", 1));
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_copy_mode_owns_its_bytes)
{
	ds_rwmap_t *m = make_map();
	char key[] = "key", val[] = "value";

	ck_assert_int_eq(ds_rwmap_put(m, key, 3, val, sizeof(val)), 0);
	key[0] = 'X';
	val[0] = 'X';
	assert_get(m, "key", "value");
	ck_assert(!ds_rwmap_contains(m, key, 3));
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_keys_are_bytes)
{
	ds_rwmap_t *m = make_map();
	char buf[8];

	ck_assert_int_eq(ds_rwmap_put(m, "a\0b", 3, "1", 2), 0);
	ck_assert_int_eq(ds_rwmap_put(m, "a\0c", 3, "2", 2), 0);
	ck_assert_int_eq(ds_rwmap_put(m, "a", 1, "3", 2), 0);
	ck_assert_int_eq(ds_rwmap_get(m, "a\0b", 3, buf, 8, NULL), 0);
	ck_assert_str_eq(buf, "1");
	ck_assert_int_eq(ds_rwmap_get(m, "a\0c", 3, buf, 8, NULL), 0);
	ck_assert_str_eq(buf, "2");
	ck_assert_int_eq(ds_rwmap_get(m, "a\0", 2, buf, 8, NULL), ENOENT);
	ck_assert_uint_eq(ds_rwmap_size(m), 3);
	ds_rwmap_destroy(m);
}
END_TEST

static int check_entry(const void *key, size_t keylen, const void *value,
		       size_t vlen, void *arg)
{
	ck_assert_uint_eq(keylen, 3);
	ck_assert_int_eq(memcmp(key, "key", 3), 0);
	ck_assert_uint_eq(vlen, 6);
	ck_assert_str_eq(value, "value");
	return *(int *)arg;
}

START_TEST(test_rwmap_read_runs_callback_on_entry)
{
	ds_rwmap_t *m = make_map();
	int ret = 0;

	ck_assert_int_eq(ds_rwmap_read(m, "key", 3, check_entry, &ret), ENOENT);
	ck_assert_int_eq(put_s(m, "key", "value"), 0);
	ck_assert_int_eq(ds_rwmap_read(m, "key", 3, check_entry, &ret), 0);
	ret = 1234;
	ck_assert_int_eq(ds_rwmap_read(m, "key", 3, check_entry, &ret), 1234);
	ds_rwmap_destroy(m);
}
END_TEST

struct visit_log {
	int seen[100];
	int n;
	int stop_at; /* stop after this many (0: never) */
};

static int log_visit(const void *key, size_t keylen, const void *value,
		     size_t vlen, void *arg)
{
	struct visit_log *log = arg;
	int k, v;

	ck_assert_uint_eq(keylen, sizeof(k));
	ck_assert_uint_eq(vlen, sizeof(v));
	memcpy(&k, key, sizeof(k));
	memcpy(&v, value, sizeof(v));
	ck_assert_int_eq(v, k * 10);
	log->seen[k]++;
	log->n++;
	return log->n == log->stop_at ? 77 : 0;
}

static ds_rwmap_t *map_of_ints(int n)
{
	ds_rwmap_t *m = make_map();

	for (int k = 0; k < n; k++) {
		int v = k * 10;

		ck_assert_int_eq(ds_rwmap_put(m, &k, sizeof(k), &v, sizeof(v)),
				 0);
	}
	return m;
}

START_TEST(test_rwmap_foreach_visits_each_entry_once)
{
	ds_rwmap_t *m = map_of_ints(100);
	struct visit_log log = { .stop_at = 0 };

	ck_assert_int_eq(ds_rwmap_foreach(m, log_visit, &log), 0);
	ck_assert_int_eq(log.n, 100);
	for (int k = 0; k < 100; k++)
		ck_assert_int_eq(log.seen[k], 1);
	memset(&log, 0, sizeof(log));
	log.stop_at = 10;
	ck_assert_int_eq(ds_rwmap_foreach(m, log_visit, &log), 77);
	ck_assert_int_eq(log.n, 10);
	ds_rwmap_destroy(m);
}
END_TEST

static ds_rwmap_t *reading_map;

/* A callback may read the map it is called from (a recursive read). */
static int read_inside(const void *key, size_t keylen, const void *value,
		       size_t vlen, void *arg)
{
	char buf[16];

	(void)value, (void)vlen;
	ck_assert(ds_rwmap_contains(reading_map, key, keylen));
	ck_assert_int_eq(
		ds_rwmap_get(reading_map, key, keylen, buf, sizeof(buf), NULL),
		0);
	*(size_t *)arg = ds_rwmap_size(reading_map);
	return 0;
}

START_TEST(test_rwmap_callback_may_read_the_map)
{
	size_t size = 0;

	reading_map = map_of_ints(5);
	ck_assert_int_eq(ds_rwmap_foreach(reading_map, read_inside, &size), 0);
	ck_assert_uint_eq(size, 5);
	ds_rwmap_destroy(reading_map);
}
END_TEST

START_TEST(test_rwmap_iterator_visits_every_entry)
{
	ds_rwmap_t *m = map_of_ints(50);
	struct visit_log log = { .stop_at = 0 };
	struct ds_rwmap_iter it;
	int rc;

	ck_assert_int_eq(ds_rwmap_iter_init(&it, m), 0);
	while ((rc = ds_rwmap_iter_next(&it, log_visit, &log)) == 0)
		;
	ck_assert_int_eq(rc, ENOENT);
	ck_assert_int_eq(log.n, 50);
	for (int k = 0; k < 50; k++)
		ck_assert_int_eq(log.seen[k], 1);
	ck_assert_int_eq(ds_rwmap_iter_next(&it, log_visit, &log), ENOENT);
	ds_rwmap_destroy(m);
}
END_TEST

START_TEST(test_rwmap_iterator_detects_modification)
{
	ds_rwmap_t *m = map_of_ints(10);
	struct visit_log log = { .stop_at = 0 };
	struct ds_rwmap_iter it;
	int k = 3, v = 30;

	ck_assert_int_eq(ds_rwmap_iter_init(&it, m), 0);
	ck_assert_int_eq(ds_rwmap_iter_next(&it, log_visit, &log), 0);
	/* Failed writes change nothing: the iteration goes on. */
	ck_assert_int_eq(ds_rwmap_insert(m, &k, sizeof(k), &v, sizeof(v)),
			 EEXIST);
	k = 99;
	ck_assert_int_eq(ds_rwmap_delete(m, &k, sizeof(k)), ENOENT);
	ck_assert_int_eq(ds_rwmap_iter_next(&it, log_visit, &log), 0);
	/* Deleting the very entry the iterator points to next. */
	k = 2;
	ck_assert_int_eq(ds_rwmap_delete(m, &k, sizeof(k)), 0);
	ck_assert_int_eq(ds_rwmap_iter_next(&it, log_visit, &log), ECANCELED);
	ck_assert_int_eq(ds_rwmap_iter_next(&it, log_visit, &log), ECANCELED);
	ck_assert_int_eq(log.n, 2);
	/* A put that replaces counts as a modification too. */
	ck_assert_int_eq(ds_rwmap_iter_init(&it, m), 0);
	k = 5, v = 50;
	ck_assert_int_eq(ds_rwmap_put(m, &k, sizeof(k), &v, sizeof(v)), 0);
	ck_assert_int_eq(ds_rwmap_iter_next(&it, log_visit, &log), ECANCELED);
	ds_rwmap_destroy(m);
}
END_TEST

/* BORROW mode: keys and values are heap strings the map takes over. */
static struct {
	char *keys[64];
	char *values[64];
	int n;
	ds_rwmap_t *map; /* entry_free writes to it when set */
	int nested;	 /* what that write returned */
} freed;

static void record_free(void *key, size_t keylen, void *value, size_t vlen,
			void *arg)
{
	ck_assert_ptr_eq(arg, &freed);
	ck_assert(key || value); /* not called when the map keeps both */
	ck_assert_uint_eq(keylen, key ? strlen(key) : 0);
	ck_assert_uint_eq(vlen, value ? strlen(value) + 1 : 0);
	freed.keys[freed.n] = key;
	freed.values[freed.n++] = value;
	if (freed.map) /* no lock of the map may be held here */
		freed.nested = ds_rwmap_delete(freed.map, "zz", 2);
}

static ds_rwmap_t *make_borrow_map(void)
{
	struct ds_rwmap_options opt = { .ownership = DS_RWMAP_BORROW,
					.entry_free = record_free,
					.free_arg = &freed };
	ds_rwmap_t *m;

	memset(&freed, 0, sizeof(freed));
	ck_assert_int_eq(ds_rwmap_create(&m, &opt), 0);
	return m;
}

static int put_b(ds_rwmap_t *m, const char *k, const char *v)
{
	return ds_rwmap_put(m, k, strlen(k), v, strlen(v) + 1);
}

START_TEST(test_rwmap_borrow_mode_frees_each_entry_once)
{
	ds_rwmap_t *m = make_borrow_map();
	char *k1 = strdup("k"), *v1 = strdup("v1");
	char *k2 = strdup("k"), *v2 = strdup("v2");
	char *k3 = strdup("k"), *v3 = strdup("v3");

	ck_assert_int_eq(put_b(m, k1, v1), 0);
	ck_assert_int_eq(ds_rwmap_insert(m, k2, 1, v2, 3), EEXIST);
	ck_assert_int_eq(freed.n, 0);	       /* k2, v2 are still ours */
	ck_assert_int_eq(put_b(m, k2, v2), 0); /* replace: k1, v1 go */
	ck_assert_int_eq(freed.n, 1);
	ck_assert_ptr_eq(freed.keys[0], k1);
	ck_assert_ptr_eq(freed.values[0], v1);
	assert_get(m, "k", "v2");
	ck_assert_int_eq(ds_rwmap_delete(m, "k", 1), 0);
	ck_assert_int_eq(freed.n, 2);
	ck_assert_ptr_eq(freed.keys[1], k2);
	ck_assert_ptr_eq(freed.values[1], v2);
	ck_assert_int_eq(ds_rwmap_replace(m, k3, 1, v3, 3), ENOENT);
	ck_assert_int_eq(put_b(m, k3, v3), 0);
	ds_rwmap_destroy(m);
	ck_assert_int_eq(freed.n, 3);
	ck_assert_ptr_eq(freed.keys[2], k3);
	for (int i = 0; i < 3; i++) {
		free(freed.keys[i]);
		free(freed.values[i]);
	}
}
END_TEST

/* A put may pass again the very pointers the map stores for the key (a
 * caller that keeps them and re-puts): what stays in the map is not
 * handed to entry_free, which gets NULL in its place. */
START_TEST(test_rwmap_borrow_reput_frees_only_what_left)
{
	ds_rwmap_t *m = make_borrow_map();
	char *k1 = strdup("k"), *k2 = strdup("k");
	char *v1 = strdup("v1"), *v2 = strdup("v2");

	ck_assert_int_eq(put_b(m, k1, v1), 0);
	ck_assert_int_eq(put_b(m, k1, v2), 0); /* the stored key: v1 goes */
	ck_assert_int_eq(freed.n, 1);
	ck_assert_ptr_null(freed.keys[0]);
	ck_assert_ptr_eq(freed.values[0], v1);
	assert_get(m, "k", "v2");
	/* The stored value under a new key pointer: k1 goes. */
	ck_assert_int_eq(ds_rwmap_replace(m, k2, 1, v2, 3), 0);
	ck_assert_int_eq(freed.n, 2);
	ck_assert_ptr_eq(freed.keys[1], k1);
	ck_assert_ptr_null(freed.values[1]);
	assert_get(m, "k", "v2");
	ck_assert_int_eq(put_b(m, k2, v2), 0); /* both stored: nothing goes */
	ck_assert_int_eq(freed.n, 2);
	assert_get(m, "k", "v2");
	ds_rwmap_destroy(m);
	ck_assert_int_eq(freed.n, 3);
	ck_assert_ptr_eq(freed.keys[2], k2);
	ck_assert_ptr_eq(freed.values[2], v2);
	for (int i = 0; i < freed.n; i++) { /* each pointer once */
		free(freed.keys[i]);
		free(freed.values[i]);
	}
}
END_TEST

START_TEST(test_rwmap_entry_free_runs_without_lock)
{
	ds_rwmap_t *m = make_borrow_map();

	ck_assert_int_eq(put_b(m, strdup("a"), strdup("1")), 0);
	ck_assert_int_eq(put_b(m, strdup("b"), strdup("2")), 0);
	freed.map = m;
	freed.nested = -1;
	/* If the write lock were held, the nested write would fail (EDEADLK:
	 * glibc and the checker both catch a writer waiting for itself). */
	ck_assert_int_eq(put_b(m, strdup("a"), strdup("3")), 0);
	ck_assert_int_eq(freed.nested, ENOENT);
	freed.nested = -1;
	ck_assert_int_eq(ds_rwmap_delete(m, "b", 1), 0);
	ck_assert_int_eq(freed.nested, ENOENT);
	freed.map = NULL;
	ck_assert_uint_eq(ds_rwmap_size(m), 1);
	for (int i = 0; i < freed.n; i++) {
		free(freed.keys[i]);
		free(freed.values[i]);
	}
	freed.n = 0;
	ds_rwmap_destroy(m);
	for (int i = 0; i < freed.n; i++) {
		free(freed.keys[i]);
		free(freed.values[i]);
	}
}
END_TEST

START_TEST(test_rwmap_holds_many_entries)
{
	enum { N = 20000 };
	ds_rwmap_t *m = map_of_ints(N);
	int k, v;

	EXPECT_EQ(ds_rwmap_size(m), N);
	for (k = 0; k < N; k++) {
		EXPECT_EQ(ds_rwmap_get(m, &k, sizeof(k), &v, sizeof(v), NULL),
			  0);
		EXPECT_EQ(v, k * 10);
	}
	for (k = 0; k < N; k += 2)
		EXPECT_EQ(ds_rwmap_delete(m, &k, sizeof(k)), 0);
	EXPECT_EQ(ds_rwmap_size(m), N / 2);
	for (k = 0; k < N; k++)
		EXPECT_EQ(ds_rwmap_contains(m, &k, sizeof(k)), k & 1);
	ds_rwmap_destroy(m);
}
END_TEST

/* ---- oom ---- */

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

enum { OOM_KEYS = 256, OOM_STEPS = OOM_KEYS + OOM_KEYS / 4 };

/* What the map should hold: per key the value (a step number), 0: none.
 * BORROW keys and values are malloc'd ints; borrowed_live counts the
 * pairs the map owns. */
static struct {
	int value[OOM_KEYS];
	size_t size;
	long borrowed_live; /* BORROW values owned by the map */
} model;

static void model_free(void *key, size_t keylen, void *value, size_t vlen,
		       void *arg)
{
	(void)keylen, (void)vlen, (void)arg;
	free(key);
	free(value);
	model.borrowed_live--;
}

/* Key k's bytes for the map: an int, copied (COPY) or on the heap. */
static int oom_write(ds_rwmap_t *m, bool borrow, int k, int v, int op)
{
	int *key = borrow ? malloc(sizeof(int)) : &k;
	int *val = borrow ? malloc(sizeof(int)) : &v;
	int err;

	*key = k, *val = v;
	err = op == 0	? ds_rwmap_put(m, key, sizeof(k), val, sizeof(v))
	      : op == 1 ? ds_rwmap_insert(m, key, sizeof(k), val, sizeof(v))
			: ds_rwmap_replace(m, key, sizeof(k), val, sizeof(v));
	if (borrow && err) {
		free(key);
		free(val);
	}
	model.borrowed_live += borrow && !err;
	return err;
}

static void oom_check_key(ds_rwmap_t *m, int k)
{
	int v = -1;
	int err = ds_rwmap_get(m, &k, sizeof(k), &v, sizeof(v), NULL);

	EXPECT_EQ(err, model.value[k] ? 0 : ENOENT);
	if (model.value[k])
		EXPECT_EQ(v, model.value[k]);
}

static void oom_step(ds_rwmap_t *m, bool borrow, int step)
{
	int k = (step * 7) % OOM_KEYS, v = step + 1, op = step % 5, err;
	bool had = model.value[k] != 0;

	if (op == 4) {
		err = ds_rwmap_delete(m, &k, sizeof(k));
		EXPECT_EQ(err, had ? 0 : ENOENT);
		model.size -= had;
		model.value[k] = 0;
	} else {
		op %= 3;
		err = oom_write(m, borrow, k, v, op);
		EXPECT(err == 0 || err == ENOMEM ||
		       (err == EEXIST && op == 1 && had) ||
		       (err == ENOENT && op == 2 && !had));
		if (!err) {
			model.size += !had;
			model.value[k] = v;
		}
	}
	oom_check_key(m, k);
	EXPECT_EQ(ds_rwmap_size(m), model.size);
	if (borrow) /* the map owns one key and value per entry */
		EXPECT_EQ(model.borrowed_live, model.size);
}

/* The sequence with allocation fail_at failing; false once none failed. */
static bool oom_run(bool borrow, long fail_at, long *nallocs)
{
	struct failing_alloc fa = { 0, fail_at, 0 };
	struct ds_rwmap_options opt = { .ownership = borrow ? DS_RWMAP_BORROW
							    : DS_RWMAP_COPY,
					.entry_free = model_free,
					.seed = { 7, 7 },
					.alloc = failing_alloc,
					.free = failing_free,
					.alloc_arg = &fa };
	ds_rwmap_t *m;
	int err = ds_rwmap_create(&m, &opt);

	memset(&model, 0, sizeof(model));
	EXPECT(err == 0 || err == ENOMEM);
	if (err)
		return true;
	for (int step = 0; step < OOM_STEPS; step++)
		oom_step(m, borrow, step);
	for (int k = 0; k < OOM_KEYS; k++)
		oom_check_key(m, k);
	ds_rwmap_destroy(m);
	EXPECT_EQ(fa.live, 0);
	EXPECT_EQ(model.borrowed_live, 0); /* each freed once, no leak */
	*nallocs = fa.n;
	return fa.n >= fail_at;
}

START_TEST(test_rwmap_survives_every_failed_allocation)
{
	bool borrow = _i;
	long n, nallocs = 0;

	for (n = 1; oom_run(borrow, n, &nallocs); n++)
		;
	/* The map, one entry per write, uthash's table and first buckets, and
	 * at least one bucket expansion each had their turn to fail. */
	ck_assert_int_eq(n, nallocs + 1);
	ck_assert_int_ge(nallocs, 1 + OOM_STEPS * 4 / 5 + 2 + 1);
}
END_TEST

/* ---- threads ---- */

enum {
	ST_KEYS = 512,
	ST_ROUNDS = 6,
	ST_OPS = 300,
	ST_MAX_THREADS = 16,
	ST_MAX_VALUE = 64,
};

/* A value: key, version, then filler bytes that depend on both, its length
 * too: a torn or mixed-up copy does not check out. */
struct val_head {
	int key;
	uint64_t version;
};

static size_t val_len(int key, uint64_t version)
{
	return sizeof(struct val_head) + (key + version) % 40;
}

static void val_make(unsigned char *buf, int key, uint64_t version)
{
	struct val_head h;
	size_t len = val_len(key, version);

	memset(&h, 0, sizeof(h)); /* the padding too: values are compared */
	h.key = key;
	h.version = version;
	memcpy(buf, &h, sizeof(h));
	for (size_t i = sizeof(h); i < len; i++)
		buf[i] = (unsigned char)(key * 31 + version * 7 + i);
}

static bool val_ok(const unsigned char *buf, size_t len, int key)
{
	unsigned char want[ST_MAX_VALUE];
	struct val_head h;

	if (len < sizeof(h))
		return false;
	memcpy(&h, buf, sizeof(h));
	if (h.key != key || len != val_len(key, h.version))
		return false;
	val_make(want, key, h.version);
	return memcmp(want, buf, len) == 0;
}

static struct {
	ds_rwmap_t *map;
	pthread_barrier_t barrier;
	int nthreads;
	_Atomic long inserted; /* new keys put */
	_Atomic long deleted;  /* keys deleted */
	_Atomic int failures;
} st;

#define ST_CHECK(cond)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,     \
				#cond);                                        \
			atomic_fetch_add(&st.failures, 1);                     \
		}                                                              \
	} while (0)

struct worker {
	int id;
	uint64_t rng;
	uint64_t version[ST_KEYS]; /* owned keys: last written, 0: absent */
	uint64_t written[ST_KEYS]; /* owned keys: versions ever written */
	uint64_t seen[ST_KEYS];	   /* every key: highest version read */
};

static uint64_t next_rand(struct worker *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

/* Old-or-new: the value is whole, and not older than one seen before. */
static void st_get(struct worker *w, int k, size_t cap)
{
	unsigned char buf[ST_MAX_VALUE];
	size_t len = 0;
	int err = ds_rwmap_get(st.map, &k, sizeof(k), buf, cap, &len);
	struct val_head h;

	if (err == ENOENT)
		return;
	if (err == ERANGE) {
		ST_CHECK(len > cap && len <= sizeof(buf));
		return;
	}
	ST_CHECK(err == 0 && val_ok(buf, len, k));
	memcpy(&h, buf, sizeof(h));
	ST_CHECK(h.version >= w->seen[k]);
	w->seen[k] = h.version;
}

static void st_write(struct worker *w, int k)
{
	unsigned char buf[ST_MAX_VALUE];
	uint64_t v = ++w->written[k];
	bool had = w->version[k] != 0;

	val_make(buf, k, v);
	if (had && next_rand(w) % 3 == 0) {
		ST_CHECK(ds_rwmap_delete(st.map, &k, sizeof(k)) == 0);
		w->version[k] = 0;
		atomic_fetch_add(&st.deleted, 1);
		return;
	}
	ST_CHECK(ds_rwmap_put(st.map, &k, sizeof(k), buf, val_len(k, v)) == 0);
	w->version[k] = v;
	atomic_fetch_add(&st.inserted, !had);
	st_get(w, k, ST_MAX_VALUE); /* a get right after the put sees it */
	ST_CHECK(w->seen[k] == v);
}

struct snapshot {
	size_t visited;
	size_t size; /* ds_rwmap_size from inside the callback */
};

static int st_visit(const void *key, size_t keylen, const void *value,
		    size_t vlen, void *arg)
{
	struct snapshot *s = arg;
	int k;

	ST_CHECK(keylen == sizeof(k));
	memcpy(&k, key, sizeof(k));
	ST_CHECK(val_ok(value, vlen, k));
	if (s->visited++ == 0)
		s->size = ds_rwmap_size(st.map); /* a recursive read */
	return 0;
}

static void st_scan(struct worker *w)
{
	struct snapshot s = { 0, 0 };
	struct ds_rwmap_iter it;
	int rc, steps = 0;

	ST_CHECK(ds_rwmap_foreach(st.map, st_visit, &s) == 0);
	ST_CHECK(s.visited == 0 || s.visited == s.size);
	ST_CHECK(ds_rwmap_iter_init(&it, st.map) == 0);
	while ((rc = ds_rwmap_iter_next(&it, st_visit, &s)) == 0)
		steps++;
	ST_CHECK(rc == ENOENT || rc == ECANCELED);
	(void)w, (void)steps;
}

static void st_op(struct worker *w)
{
	uint64_t r = next_rand(w);
	int k = (int)((r >> 8) % ST_KEYS);
	int own = k - k % st.nthreads + w->id;
	unsigned what = (unsigned)(r & 0xff);

	if (what < 200)
		st_get(w, k, r & 0x100 ? ST_MAX_VALUE : 12);
	else if (what < 250)
		st_write(w, own);
	else if (what < 252)
		st_scan(w);
	else
		ST_CHECK(ds_rwmap_contains(st.map, &own, sizeof(own)) ==
			 (w->version[own] != 0));
}

static void *st_thread(void *arg)
{
	struct worker *w = arg;

	for (int round = 0; round < ST_ROUNDS; round++) {
		pthread_barrier_wait(&st.barrier);
		for (int i = 0; i < ST_OPS; i++)
			st_op(w);
		/* Between these barriers nobody writes: size must add up. */
		if (pthread_barrier_wait(&st.barrier) ==
		    PTHREAD_BARRIER_SERIAL_THREAD)
			ST_CHECK((long)ds_rwmap_size(st.map) ==
				 atomic_load(&st.inserted) -
					 atomic_load(&st.deleted));
		pthread_barrier_wait(&st.barrier);
	}
	return NULL;
}

static void st_check_final(struct worker *w, int nthreads)
{
	for (int k = 0; k < ST_KEYS; k++) {
		unsigned char buf[ST_MAX_VALUE];
		struct worker *owner = &w[k % nthreads];
		size_t len;
		int err = ds_rwmap_get(st.map, &k, sizeof(k), buf, sizeof(buf),
				       &len);
		struct val_head h;

		EXPECT_EQ(err, owner->version[k] ? 0 : ENOENT);
		if (err)
			continue;
		memcpy(&h, buf, sizeof(h));
		EXPECT_EQ(h.version, owner->version[k]);
	}
}

static void stress_run(int nthreads)
{
	pthread_t tid[ST_MAX_THREADS];
	struct worker *w = calloc(nthreads, sizeof(*w));
	int failures;

	memset(&st, 0, sizeof(st));
	st.nthreads = nthreads;
	ck_assert_int_eq(ds_rwmap_create(&st.map, NULL), 0);
	pthread_barrier_init(&st.barrier, NULL, nthreads);
	for (int i = 0; i < nthreads; i++) {
		w[i].id = i;
		w[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		ck_assert_int_eq(
			pthread_create(&tid[i], NULL, st_thread, &w[i]), 0);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	failures = atomic_load(&st.failures);
	ck_assert_int_eq(failures, 0);
	ck_assert_int_eq((long)ds_rwmap_size(st.map),
			 atomic_load(&st.inserted) - atomic_load(&st.deleted));
	st_check_final(w, nthreads);
	ds_rwmap_destroy(st.map);
	pthread_barrier_destroy(&st.barrier);
	free(w);
}

static const int stress_threads[] = { 2, 4, 8, 16 };

START_TEST(test_rwmap_stress_keeps_invariants)
{
	stress_run(stress_threads[_i]);
}
END_TEST

/* ---- lockcheck ---- */

static ds_rwmap_t *cb_map;
static int cb_err;

static int write_inside(const void *key, size_t keylen, const void *value,
			size_t vlen, void *arg)
{
	(void)key, (void)keylen, (void)value, (void)vlen, (void)arg;
	cb_err = ds_rwmap_put(cb_map, "other", 5, "x", 1);
	return 0;
}

/* In the child: a write from a read callback; exit 0 iff it failed with
 * EDEADLK and left the map as it was. */
static void write_from_callback(void *arg)
{
	bool foreach = arg != NULL;
	int rc;

	ck_assert_int_eq(ds_rwmap_create(&cb_map, NULL), 0);
	ck_assert_int_eq(ds_rwmap_put(cb_map, "k", 1, "v", 1), 0);
	rc = foreach ? ds_rwmap_foreach(cb_map, write_inside, NULL)
		     : ds_rwmap_read(cb_map, "k", 1, write_inside, NULL);
	if (rc != 0 || cb_err != EDEADLK || ds_rwmap_size(cb_map) != 1)
		exit(3);
	ds_rwmap_destroy(cb_map);
}

START_TEST(test_rwmap_write_from_callback_reports_recursive_lock)
{
	struct lct_child c;
	char line[512];

	if (!LOCKCHECK)
		return; /* without the checker it is the deadlock it is */
	LCT_ASSERT_RAN(lct_run_fn(write_from_callback, _i ? (void *)1 : NULL,
				  NULL, &c),
		       &c);
	if (!lct_exited_with(&c, LCT_FINDING_EXIT) ||
	    lct_count_reports(&c, "recursive-lock") != 1)
		lct_child_dump(&c, "write from callback");
	LCT_ASSERT_EXITED(&c, LCT_FINDING_EXIT);
	LCT_ASSERT_REPORTS(&c, "recursive-lock", 1);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 1);
	LCT_ASSERT_CHILD(&c, lct_find_line(c.err, "lockcheck: recursive-lock: ",
					   line, sizeof(line)));
	ck_assert_ptr_nonnull(strstr(line, "ds_rwmap.lock wanted for write"));
	ck_assert_ptr_nonnull(strstr(line, "already holds it for read"));
	lct_child_free(&c);
}
END_TEST

static int delete_inside(const void *key, size_t keylen, const void *value,
			 size_t vlen, void *arg)
{
	(void)key, (void)keylen, (void)value, (void)vlen, (void)arg;
	cb_err = ds_rwmap_delete(cb_map, "k", 1);
	return 0;
}

/* In the child: a delete from a read callback; exit 0 iff it failed with
 * EDEADLK and the key is still there. */
static void delete_from_callback(void *arg)
{
	(void)arg;
	ck_assert_int_eq(ds_rwmap_create(&cb_map, NULL), 0);
	ck_assert_int_eq(ds_rwmap_put(cb_map, "k", 1, "v", 1), 0);
	ck_assert_int_eq(ds_rwmap_read(cb_map, "k", 1, delete_inside, NULL), 0);
	if (cb_err != EDEADLK || !ds_rwmap_contains(cb_map, "k", 1))
		exit(3);
	ds_rwmap_destroy(cb_map);
}

/* The other write path: the same documented EDEADLK, not an assertion. */
START_TEST(test_rwmap_delete_from_callback_fails_with_EDEADLK)
{
	struct lct_child c = lct_expect_reports(delete_from_callback, NULL,
						NULL, "recursive-lock", 1);

	LCT_ASSERT_ERR_HAS(&c, "ds_rwmap.lock wanted for write");
	lct_child_free(&c);
}
END_TEST

static void checked_workload(void *arg)
{
	(void)arg;
	stress_run(4);
}

START_TEST(test_rwmap_reports_nothing_under_checker)
{
	static const char *const env[] = { "LOCKCHECK_ACTION=abort", NULL };
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(checked_workload, NULL, env, &c), &c);
	if (!lct_exited_with(&c, 0) || lct_count_all_reports(&c))
		lct_child_dump(&c, "rwmap workload");
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 0);
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rwmap");
	TCase *core = tcase_create("core");
	TCase *oom = tcase_create("oom");
	TCase *threads = tcase_create("threads");
	TCase *checked = tcase_create("lockcheck");
	int n = sizeof(stress_threads) / sizeof(stress_threads[0]);

	tcase_add_test(core, test_rwmap_put_then_get_copies_out);
	tcase_add_test(core, test_rwmap_get_reports_needed_size);
	tcase_add_test(core, test_rwmap_put_replaces_value);
	tcase_add_test(core, test_rwmap_insert_refuses_existing_key);
	tcase_add_test(core, test_rwmap_replace_needs_existing_key);
	tcase_add_test(core, test_rwmap_delete_removes_once);
	tcase_add_test(core, test_rwmap_contains_and_size);
	tcase_add_test(core, test_rwmap_rejects_bad_arguments);
	tcase_add_test(core, test_rwmap_refuses_impossible_value_size);
	tcase_add_test(core, test_rwmap_zero_length_value);
	tcase_add_test(core, test_rwmap_copy_mode_owns_its_bytes);
	tcase_add_test(core, test_rwmap_keys_are_bytes);
	tcase_add_test(core, test_rwmap_read_runs_callback_on_entry);
	tcase_add_test(core, test_rwmap_foreach_visits_each_entry_once);
	tcase_add_test(core, test_rwmap_callback_may_read_the_map);
	tcase_add_test(core, test_rwmap_iterator_visits_every_entry);
	tcase_add_test(core, test_rwmap_iterator_detects_modification);
	tcase_add_test(core, test_rwmap_borrow_mode_frees_each_entry_once);
	tcase_add_test(core, test_rwmap_borrow_reput_frees_only_what_left);
	tcase_add_test(core, test_rwmap_entry_free_runs_without_lock);
	tcase_add_test(core, test_rwmap_holds_many_entries);
	tcase_add_loop_test(oom, test_rwmap_survives_every_failed_allocation, 0,
			    2);
	tcase_set_timeout(oom, 120);
	tcase_add_loop_test(threads, test_rwmap_stress_keeps_invariants, 0, n);
	tcase_set_timeout(threads, 120);
	tcase_add_loop_test(
		checked, test_rwmap_write_from_callback_reports_recursive_lock,
		0, 2);
	if (LOCKCHECK) /* without the checker: the deadlock it is */
		tcase_add_test(
			checked,
			test_rwmap_delete_from_callback_fails_with_EDEADLK);
	tcase_add_test(checked, test_rwmap_reports_nothing_under_checker);
	tcase_set_timeout(checked, 120);
	suite_add_tcase(s, core);
	suite_add_tcase(s, oom);
	suite_add_tcase(s, threads);
	suite_add_tcase(s, checked);
	return lct_run_suite(s);
}
