/*
 * ds_failure_test.c: the failure policy every ds/ header states, tried on
 * every structure.
 *
 * - A failure correct use can meet is an errno value: each create, when a
 *   lock or condition variable cannot be initialised (POSIX allows EAGAIN;
 *   glibc never does, so this binary's pthread_*_init fail on request),
 *   returns that EAGAIN and leaves nothing behind: every lock and condvar
 *   it had initialised is destroyed again.
 * - A broken REQUIRES that a structure can see is an assert(): a cache
 *   destroyed with a handle still out stops the program.
 * - User code runs with no lock of the structure held, and the checks of
 *   that are exact: a deleter or entry_free run while the caller holds a
 *   lock of its own is not a finding; a pool task, which runs on the
 *   pool's own thread, finds that thread holding no lock at all, and a
 *   task that returns with a lock still held is reported at the next one.
 *
 * The failing inits replace glibc's in this binary (forwarding to them
 * through dlsym), so those cases run in the plain and lockcheck builds and
 * are left out of the sanitizer builds, whose runtimes define the same
 * functions.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ds/cache.h"
#include "ds/chan.h"
#include "ds/ledger.h"
#include "ds/pool.h"
#include "ds/reaper.h"
#include "ds/rwmap.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAILSYNC 0
#else
#define FAILSYNC 1
#endif

#ifdef NDEBUG
static const bool asserts_on = false;
#else
static const bool asserts_on = true;
#endif

/* ---- pthread_*_init that fail on request ----------------------------- */

static atomic_long countdown = -1; /* < 0: nothing armed */
static atomic_bool fired;
static atomic_long live; /* initialised and not yet destroyed */

/* The n-th init from now (0: the next) fails with EAGAIN, once. */
static void failsync_arm(long n)
{
	atomic_store(&fired, false);
	atomic_store(&countdown, n);
}

/* Disarms; returns whether the armed failure happened. */
static bool failsync_disarm(void)
{
	atomic_store(&countdown, -1);
	return atomic_load(&fired);
}

#if FAILSYNC
static bool fail_now(void)
{
	if (atomic_load(&countdown) < 0 || atomic_fetch_sub(&countdown, 1))
		return false;
	atomic_store(&fired, true);
	return true;
}

static void *real(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn)
		abort();
	return fn;
}

/* An init that may fail, counted when it succeeds. */
static int counted(int err)
{
	if (!err)
		atomic_fetch_add(&live, 1);
	return err;
}

/* A destroy, uncounted when it succeeds. */
static int uncounted(int err)
{
	if (!err)
		atomic_fetch_sub(&live, 1);
	return err;
}

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
	static int (*fn)(pthread_mutex_t *, const pthread_mutexattr_t *);

	if (fail_now())
		return EAGAIN;
	if (!fn)
		*(void **)&fn = real("pthread_mutex_init");
	return counted(fn(m, a));
}

int pthread_mutex_destroy(pthread_mutex_t *m)
{
	static int (*fn)(pthread_mutex_t *);

	if (!fn)
		*(void **)&fn = real("pthread_mutex_destroy");
	return uncounted(fn(m));
}

int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a)
{
	static int (*fn)(pthread_rwlock_t *, const pthread_rwlockattr_t *);

	if (fail_now())
		return EAGAIN;
	if (!fn)
		*(void **)&fn = real("pthread_rwlock_init");
	return counted(fn(l, a));
}

int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
	static int (*fn)(pthread_rwlock_t *);

	if (!fn)
		*(void **)&fn = real("pthread_rwlock_destroy");
	return uncounted(fn(l));
}

int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
	static int (*fn)(pthread_cond_t *, const pthread_condattr_t *);

	if (fail_now())
		return EAGAIN;
	if (!fn)
		*(void **)&fn = real("pthread_cond_init");
	return counted(fn(c, a));
}

int pthread_cond_destroy(pthread_cond_t *c)
{
	static int (*fn)(pthread_cond_t *);

	if (!fn)
		*(void **)&fn = real("pthread_cond_destroy");
	return uncounted(fn(c));
}
#endif /* FAILSYNC */

/* ---- creates: EAGAIN, and nothing left behind ------------------------- */

/* One structure: make(out) creates it, end(it) destroys it. */
struct kind {
	const char *name;
	int (*make)(void **out);
	void (*end)(void *it);
};

static int make_cache(void **out)
{
	struct ds_cache_options opt = { .capacity = 8, .shards = 4 };

	return ds_cache_create((ds_cache_t **)out, &opt);
}

static void end_cache(void *it)
{
	ds_cache_destroy(it);
}

static int make_rwmap(void **out)
{
	return ds_rwmap_create((ds_rwmap_t **)out, NULL);
}

static void end_rwmap(void *it)
{
	ds_rwmap_destroy(it);
}

static int make_ledger(void **out)
{
	return ds_ledger_create(3, NULL, (struct ds_ledger **)out);
}

static void end_ledger(void *it)
{
	ds_ledger_destroy(it);
}

static int make_chan(void **out)
{
	return ds_chan_create((ds_chan_t **)out, 2, sizeof(int), "failure");
}

static void end_chan(void *it)
{
	ds_chan_destroy(it);
}

static int make_pool(void **out)
{
	return ds_pool_create((ds_pool_t **)out, 1, 2, "failure");
}

static void end_pool(void *it)
{
	ck_assert_int_eq(ds_pool_shutdown(it, DS_POOL_DRAIN), 0);
}

static int make_reaper(void **out)
{
	return ds_reaper_create((struct ds_reaper **)out);
}

static void end_reaper(void *it)
{
	ds_reaper_destroy(it);
}

static const struct kind kinds[] = {
	{ "cache", make_cache, end_cache },
	{ "rwmap", make_rwmap, end_rwmap },
	{ "ledger", make_ledger, end_ledger },
	{ "chan", make_chan, end_chan },
	{ "pool", make_pool, end_pool },
	{ "reaper", make_reaper, end_reaper },
};

/* Fails the n-th init of each create in turn, n = 0, 1, ... until a
 * create meets no failure; each failed one must return EAGAIN, leave *out
 * alone and every lock and condvar destroyed again. */
START_TEST(test_create_returns_EAGAIN_when_a_lock_cannot_be_initialised)
{
	const struct kind *k = &kinds[_i];
	long failures = 0;

	for (long n = 0;; n++) {
		long before = atomic_load(&live);
		void *it = NULL;
		bool hit;
		int err;

		failsync_arm(n);
		err = k->make(&it);
		hit = failsync_disarm();
		if (!err) {
			k->end(it);
			ck_assert_int_eq(atomic_load(&live), before);
			if (!hit)
				break;
			continue;
		}
		ck_assert_msg(err == EAGAIN, "%s, init %ld: %d", k->name, n,
			      err);
		ck_assert_ptr_null(it);
		ck_assert_msg(atomic_load(&live) == before,
			      "%s, init %ld: %ld left", k->name, n,
			      atomic_load(&live) - before);
		failures++;
	}
	ck_assert_int_gt(failures, 0);
}
END_TEST

/* ---- a broken REQUIRES is an assertion --------------------------------- */

START_TEST(test_cache_destroy_with_a_handle_out_asserts)
{
	struct ds_cache_options opt = { .capacity = 8, .shards = 1 };
	ds_cache_handle_t *h;
	ds_cache_t *c;

	ck_assert_int_eq(ds_cache_create(&c, &opt), 0);
	ck_assert_int_eq(ds_cache_insert(c, "k", 1, NULL, 1, &h), 0);
	ds_cache_destroy(c); /* REQUIRES every handle released */
}
END_TEST

/* ---- user code and the structure's locks ------------------------------- */

static lc_mutex_t callers_lock = LC_MUTEX_INITIALIZER("caller");
static int deleted;

static void count_deletion(const void *key, size_t keylen, void *value,
			   void *arg)
{
	(void)key, (void)keylen, (void)value, (void)arg;
	deleted++;
}

static void count_free(void *key, size_t keylen, void *value, size_t vlen,
		       void *arg)
{
	(void)key, (void)keylen, (void)value, (void)vlen, (void)arg;
	deleted++;
}

/* The caller's own lock held across every call that runs user code. */
static void callbacks_under_callers_lock(void *arg)
{
	struct ds_cache_options copt = { .capacity = 1,
					 .shards = 1,
					 .deleter = count_deletion };
	struct ds_rwmap_options mopt = { .ownership = DS_RWMAP_BORROW,
					 .entry_free = count_free };
	static char k1[] = "1", k2[] = "2", v[] = "v";
	ds_rwmap_t *m;
	ds_cache_t *c;

	(void)arg;
	ck_assert_int_eq(ds_cache_create(&c, &copt), 0);
	ck_assert_int_eq(ds_rwmap_create(&m, &mopt), 0);
	ck_assert_int_eq(lc_mutex_lock(&callers_lock), 0);
	ck_assert_int_eq(ds_cache_insert(c, "a", 1, NULL, 1, NULL), 0);
	ck_assert_int_eq(ds_cache_insert(c, "b", 1, NULL, 1, NULL), 0);
	ck_assert_int_eq(ds_cache_erase(c, "b", 1), 0);
	ck_assert_int_eq(ds_rwmap_put(m, k1, 1, v, 1), 0);
	ck_assert_int_eq(ds_rwmap_put(m, k2, 1, v, 1), 0);
	ck_assert_int_eq(ds_rwmap_delete(m, k1, 1), 0);
	ds_rwmap_destroy(m);
	ds_cache_destroy(c);
	ck_assert_int_eq(lc_mutex_unlock(&callers_lock), 0);
	ck_assert_int_eq(deleted, 4); /* a (evicted), b; 1, 2 */
}

START_TEST(test_callbacks_may_run_under_the_callers_own_lock)
{
	struct lct_child c = lct_expect_reports(callbacks_under_callers_lock,
						NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

static lc_mutex_t task_lock = LC_MUTEX_INITIALIZER("task.lock");

static void lock_and_return(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_lock(&task_lock), 0);
}

static void unlock_and_return(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_unlock(&task_lock), 0);
}

static void lock_and_unlock(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_lock(&task_lock), 0);
	ck_assert_int_eq(lc_mutex_unlock(&task_lock), 0);
}

/* One worker runs the tasks in order: with leak set, the first returns
 * holding task.lock and the next one starts (and unlocks it) under it. */
static void tasks_on_one_worker(void *arg)
{
	bool leak = arg != NULL;
	ds_pool_t *p;

	ck_assert_int_eq(ds_pool_create(&p, 1, 4, "tasks"), 0);
	ck_assert_int_eq(
		ds_pool_submit(p, leak ? lock_and_return : lock_and_unlock,
			       NULL),
		0);
	ck_assert_int_eq(
		ds_pool_submit(p, leak ? unlock_and_return : lock_and_unlock,
			       NULL),
		0);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
}

START_TEST(test_task_started_under_a_leaked_lock_is_reported)
{
	static const char want[] = "lockcheck: assert-held: thread "
				   "\"tasks-1\" holds 1 lock at ds/pool.c:";
	struct lct_child c = lct_expect_reports(tasks_on_one_worker, (void *)1,
						NULL, "assert-held", LOCKCHECK);
	char line[512];

	if (LOCKCHECK) {
		LCT_ASSERT_CHILD(&c, lct_find_line(c.err, "lockcheck: ", line,
						   sizeof(line)));
		LCT_ASSERT_CHILD(&c, strncmp(line, want, strlen(want)) == 0);
		LCT_ASSERT_ERR_HAS(&c, "(lc_assert_no_locks_held failed)\n"
				       "  holds task.lock [");
		LCT_ASSERT_ERR_HAS(&c, "in lock_and_return()\n");
	}
	lct_child_free(&c);
}
END_TEST

START_TEST(test_tasks_that_release_their_locks_are_silent)
{
	struct lct_child c =
		lct_expect_reports(tasks_on_one_worker, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ds_failure");
	TCase *core = tcase_create("core");
	TCase *death = tcase_create("death");

	if (FAILSYNC)
		tcase_add_loop_test(
			core,
			test_create_returns_EAGAIN_when_a_lock_cannot_be_initialised,
			0, (int)(sizeof(kinds) / sizeof(kinds[0])));
	tcase_add_test(core, test_callbacks_may_run_under_the_callers_own_lock);
	tcase_add_test(core, test_task_started_under_a_leaked_lock_is_reported);
	tcase_add_test(core, test_tasks_that_release_their_locks_are_silent);
	/* The checked builds (lockcheck, tsan, asan) must keep ds/'s asserts
	 * on: there the test runs whatever NDEBUG says, and fails without. */
	if (asserts_on || LOCKCHECK)
		tcase_add_test_raise_signal(
			death, test_cache_destroy_with_a_handle_out_asserts,
			SIGABRT);
	suite_add_tcase(s, core);
	suite_add_tcase(s, death);
	return lct_run_suite(s);
}
