/*
 * rwmap_race_test.c: the map's declared guard, checked by the LOCKCHECK=1
 * builds. The rwlock guards the table head and the version (ds/rwmap.c):
 * reads hold it in either mode, writes hold the write lock. The binary
 * links //ds:without_lock_rwmap: the library plus one deliberately broken
 * reader, ds__rwmap_size_without_lock. Run on a second thread after a
 * first one put entries, that reader is reported at its read: a guard is
 * checked whatever the schedule, so the two threads need not overlap (and
 * ThreadSanitizer, which sees the join between them, stays quiet). The
 * library's own functions, writers and readers at once, report nothing.
 * With LOCKCHECK=0 there is no checker: every child is silent.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ds/rwmap.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ds/rwmap.c, built with DS_WITHOUT_LOCK_RWMAP. */
size_t ds__rwmap_size_without_lock(ds_rwmap_t *map);

enum { KEYS = 64, PUT = 10 };

static ds_rwmap_t *new_map(void)
{
	ds_rwmap_t *m = NULL;

	ck_assert_int_eq(ds_rwmap_create(&m, NULL), 0);
	return m;
}

/* Every value is its key times 3. */
static int put_key(ds_rwmap_t *m, uint32_t k)
{
	uint64_t v = (uint64_t)k * 3;

	return ds_rwmap_put(m, &k, sizeof(k), &v, sizeof(v));
}

static void put_some(void *arg)
{
	for (uint32_t k = 0; k < PUT; k++)
		ck_assert_int_eq(put_key(arg, k), 0);
}

struct reader {
	ds_rwmap_t *map;
	bool locked; /* the library's reader, else the broken one */
	size_t size;
};

static void read_size(void *arg)
{
	struct reader *r = arg;

	r->size = r->locked ? ds_rwmap_size(r->map)
			    : ds__rwmap_size_without_lock(r->map);
}

/* A "writer" thread, then a "reporter" thread reading the size. */
static void put_then_read(void *arg)
{
	struct reader r = { new_map(), arg != NULL, 0 };

	lct_in_named_thread("writer", put_some, r.map);
	lct_in_named_thread("reporter", read_size, &r);
	ck_assert_uint_eq(r.size, PUT);
	ds_rwmap_destroy(r.map);
}

START_TEST(test_size_without_lock_is_a_race)
{
	struct lct_child c = lct_expect_reports(put_then_read, NULL, NULL,
						"race", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK) { /* else no checker: the child was silent */
		LCT_ASSERT_LINE(
			&c,
			"lockcheck: race: read without `ds_rwmap.lock` at "
			"ds/rwmap.c:",
			" in ds__rwmap_size_without_lock()");
		LCT_ASSERT_ERR_HAS(&c, "by thread \"reporter\"");
		LCT_ASSERT_ERR_HAS(&c, "  guard `ds_rwmap.lock` of ");
		LCT_ASSERT_ERR_HAS(&c, " in ds_rwmap_create()\n");
	}
	lct_child_free(&c);
}
END_TEST

START_TEST(test_size_with_lock_is_silent)
{
	struct lct_child c =
		lct_expect_reports(put_then_read, "locked", NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- the library under load ---- */

enum { WRITERS = 2, READERS = 2, ROUNDS = 2000 };

struct worker {
	ds_rwmap_t *map;
	unsigned seed;
};

static void *write_some(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < ROUNDS; i++) {
		uint32_t k = (uint32_t)rand_r(&w->seed) % KEYS;

		if (rand_r(&w->seed) % 3)
			ck_assert_int_eq(put_key(w->map, k), 0);
		else
			ck_assert(ds_rwmap_delete(w->map, &k, sizeof(k)) !=
				  EINVAL);
	}
	return NULL;
}

/* Every entry found maps its key to key * 3. */
static int check_entry(const void *key, size_t keylen, const void *value,
		       size_t vlen, void *arg)
{
	uint32_t k;
	uint64_t v;

	(void)arg;
	ck_assert_uint_eq(keylen, sizeof(k));
	ck_assert_uint_eq(vlen, sizeof(v));
	memcpy(&k, key, sizeof(k));
	memcpy(&v, value, sizeof(v));
	ck_assert_uint_eq(v, (uint64_t)k * 3);
	return 0;
}

static void *read_some(void *arg)
{
	struct worker *w = arg;
	struct ds_rwmap_iter it;

	for (int i = 0; i < ROUNDS; i++) {
		uint32_t k = (uint32_t)rand_r(&w->seed) % KEYS;
		uint64_t v;
		int err = ds_rwmap_get(w->map, &k, sizeof(k), &v, sizeof(v),
				       NULL);

		ck_assert(err == 0 || err == ENOENT);
		if (err == 0)
			ck_assert_uint_eq(v, (uint64_t)k * 3);
		ck_assert_uint_le(ds_rwmap_size(w->map), KEYS);
		if (i % 100 == 0) {
			ck_assert_int_eq(
				ds_rwmap_foreach(w->map, check_entry, NULL), 0);
			ck_assert_int_eq(ds_rwmap_iter_init(&it, w->map), 0);
			while ((err = ds_rwmap_iter_next(&it, check_entry,
							 NULL)) == 0)
				;
			ck_assert(err == ENOENT || err == ECANCELED);
		}
	}
	return NULL;
}

static void stress(void *arg)
{
	struct worker w[WRITERS + READERS];
	pthread_t th[WRITERS + READERS];
	ds_rwmap_t *m = new_map();
	size_t n = 0;

	(void)arg;
	for (int i = 0; i < WRITERS + READERS; i++) {
		w[i] = (struct worker){ m, (unsigned)i + 1 };
		ck_assert_int_eq(
			pthread_create(&th[i], NULL,
				       i < WRITERS ? write_some : read_some,
				       &w[i]),
			0);
	}
	for (int i = 0; i < WRITERS + READERS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	for (uint32_t k = 0; k < KEYS; k++)
		n += ds_rwmap_contains(m, &k, sizeof(k));
	ck_assert_uint_eq(ds_rwmap_size(m), n);
	ds_rwmap_destroy(m);
}

START_TEST(test_stress_is_silent)
{
	struct lct_child c = lct_expect_reports(stress, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rwmap_race");
	TCase *tc = tcase_create("guards");

	tcase_add_test(tc, test_size_without_lock_is_a_race);
	tcase_add_test(tc, test_size_with_lock_is_silent);
	tcase_add_test(tc, test_stress_is_silent);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
