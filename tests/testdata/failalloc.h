/*
 * failalloc.h: makes one chosen allocation of the process fail (glibc).
 *
 * Include it in exactly one file of a test binary: it defines malloc,
 * calloc, realloc, posix_memalign and aligned_alloc, which take the place of
 * glibc's for the whole process (libc's own calls included) and forward to
 * glibc's __libc_* entry points. failalloc_arm(n) makes the n-th allocation
 * from now (0 = the next one) return NULL, once; the test then sweeps n
 * upward until an operation no longer meets a failure.
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

static atomic_long failalloc_countdown = -1; /* < 0: nothing armed */
static atomic_bool failalloc_fired;

static void failalloc_arm(long n)
{
	atomic_store(&failalloc_fired, false);
	atomic_store(&failalloc_countdown, n);
}

/* Disarms; returns whether the armed failure happened. */
static bool failalloc_disarm(void)
{
	atomic_store(&failalloc_countdown, -1);
	return atomic_load(&failalloc_fired);
}

#if FAILALLOC
static bool failalloc_now(void)
{
	if (atomic_load_explicit(&failalloc_countdown,
				 memory_order_relaxed) < 0)
		return false;
	if (atomic_fetch_sub(&failalloc_countdown, 1) != 0)
		return false;
	atomic_store(&failalloc_fired, true);
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
