/*
 * failalloc.h: makes one chosen allocation of the process fail (glibc).
 *
 * Include it in exactly one file of a test binary: it defines malloc,
 * calloc, realloc, posix_memalign and aligned_alloc, which take the place of
 * glibc's for the whole process (libc's own calls included) and forward to
 * glibc's __libc_* entry points. failalloc_arm(n) makes the n-th allocation
 * from now (0 = the next one) return NULL, once; the test then sweeps n
 * upward until an operation no longer meets a failure. failalloc_arm_here(n)
 * counts only the calling thread's allocations: a sweep over code that
 * starts threads stays the same from run to run, whatever the new threads
 * allocate meanwhile. failalloc_call(n,
 * fn) instead calls fn in the n-th allocation, which then succeeds: a way
 * to act in the middle of code that allocates (raise a signal there).
 * failalloc_every(k) makes every k-th allocation fail until
 * failalloc_disarm(): memory pressure that goes on. failalloc_tally, when
 * set, also records a failure in memory a parent shares with its child, so
 * a parent can tell whether an armed child met its failure at all, even in
 * code that runs as late as the checker's exit hook.
 *
 * Sanitizer builds replace malloc themselves, so there FAILALLOC is 0, the
 * functions are not defined, and the tests that need them are not
 * registered.
 */
#ifndef DS_TEST_FAILALLOC_H
#define DS_TEST_FAILALLOC_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define FAILALLOC 0
#else
#define FAILALLOC 1
#endif

/* Shared with a parent (MAP_SHARED) to tell it that a failure happened. */
struct failalloc_shared {
	atomic_bool fired;
};
static struct failalloc_shared *failalloc_tally __attribute__((unused));

static atomic_long failalloc_countdown = -1; /* < 0: nothing armed */
static atomic_bool failalloc_only_arming_thread;
static _Thread_local bool failalloc_arming_thread;
static atomic_long failalloc_period; /* > 0: every period-th fails */
static atomic_long failalloc_tick;
static atomic_bool failalloc_fired;
static atomic_long failalloc_call_countdown = -1;
static void (*_Atomic failalloc_call_fn)(void);

/* The n-th allocation from now calls fn, once, then allocates. */
static __attribute__((unused)) void failalloc_call(long n, void (*fn)(void))
{
	atomic_store(&failalloc_call_fn, fn);
	atomic_store(&failalloc_call_countdown, n);
}

/* Until failalloc_disarm: every period-th allocation fails (memory
 * pressure that goes on, not one failure). */
static __attribute__((unused)) void failalloc_every(long period)
{
	atomic_store(&failalloc_fired, false);
	atomic_store(&failalloc_tick, 0);
	atomic_store(&failalloc_period, period);
}

static __attribute__((unused)) void failalloc_arm(long n)
{
	atomic_store(&failalloc_only_arming_thread, false);
	atomic_store(&failalloc_fired, false);
	atomic_store(&failalloc_countdown, n);
}

/* As failalloc_arm, counting only this thread's allocations. */
static __attribute__((unused)) void failalloc_arm_here(long n)
{
	failalloc_arming_thread = true;
	atomic_store(&failalloc_only_arming_thread, true);
	atomic_store(&failalloc_fired, false);
	atomic_store(&failalloc_countdown, n);
}

/* Disarms; returns whether the armed failure happened. */
static __attribute__((unused)) bool failalloc_disarm(void)
{
	atomic_store(&failalloc_countdown, -1);
	atomic_store(&failalloc_period, 0);
	failalloc_arming_thread = false;
	return atomic_load(&failalloc_fired);
}

#if FAILALLOC
static void failalloc_maybe_call(void)
{
	if (atomic_load_explicit(&failalloc_call_countdown,
				 memory_order_relaxed) < 0 ||
	    atomic_fetch_sub(&failalloc_call_countdown, 1) != 0)
		return;
	atomic_load (&failalloc_call_fn)();
}

static bool failalloc_now(void)
{
	long period;

	failalloc_maybe_call();
	period = atomic_load_explicit(&failalloc_period, memory_order_relaxed);
	if (period > 0 &&
	    (atomic_fetch_add(&failalloc_tick, 1) + 1) % period == 0) {
		atomic_store(&failalloc_fired, true);
		errno = ENOMEM;
		return true;
	}
	if (atomic_load_explicit(&failalloc_countdown, memory_order_relaxed) <
	    0)
		return false;
	if (atomic_load(&failalloc_only_arming_thread) &&
	    !failalloc_arming_thread)
		return false;
	if (atomic_fetch_sub(&failalloc_countdown, 1) != 0)
		return false;
	atomic_store(&failalloc_fired, true);
	if (failalloc_tally)
		atomic_store(&failalloc_tally->fired, true);
	errno = ENOMEM; /* as glibc's malloc does; callers rely on it */
	return true;
}

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);

void *malloc(size_t size)
{
	return failalloc_now() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return failalloc_now() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	return failalloc_now() ? NULL : __libc_realloc(p, size);
}

int posix_memalign(void **p, size_t align, size_t size)
{
	void *m = failalloc_now() ? NULL : __libc_memalign(align, size);

	if (!m)
		return ENOMEM;
	*p = m;
	return 0;
}

void *aligned_alloc(size_t align, size_t size)
{
	return failalloc_now() ? NULL : __libc_memalign(align, size);
}
#endif /* FAILALLOC */

#endif /* DS_TEST_FAILALLOC_H */
