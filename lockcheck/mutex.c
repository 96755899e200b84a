/*
 * mutex.c: the checked lc_mutex_* calls. Each describes its call once and
 * runs the core steps (core.h) around the real pthread calls. A lock is
 * tried first: a free one needs no search of the caller's held stack.
 * The lock and unlock calls opt out of Thread Safety Analysis: it cannot
 * see the pthread call inside acquire or release.
 */
#define _GNU_SOURCE
#include "core.h"

#define CALLER __builtin_return_address(0)

static int try_mutex(void *m, const struct timespec *abstime)
{
	(void)abstime;
	return pthread_mutex_trylock(m);
}

static int lock_mutex(void *m, const struct timespec *abstime)
{
	(void)abstime;
	return pthread_mutex_lock(m);
}

static int timedlock_mutex(void *m, const struct timespec *abstime)
{
	return pthread_mutex_timedlock(m, abstime);
}

static int unlock_mutex(void *m)
{
	return pthread_mutex_unlock(m);
}

static int destroy_mutex(void *m)
{
	return pthread_mutex_destroy(m);
}

static int init(lc_mutex_t *m, const char *name, struct lc__key *key, int kind,
		const void *ra)
{
	pthread_mutexattr_t attr;
	int err;

	if (!m)
		return EINVAL;
	err = pthread_mutexattr_init(&attr);
	if (err)
		return err;
	if (kind == LC__KIND_RECURSIVE)
		err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	if (!err)
		err = pthread_mutex_init(&m->pm, &attr);
	pthread_mutexattr_destroy(&attr);
	if (!err)
		lc__lock_init(&m->lk, name, key, kind, ra);
	return err;
}

int lc__mutex_init(lc_mutex_t *m, const char *name, struct lc__key *key)
{
	return init(m, name, key, LC__KIND_MUTEX, CALLER);
}

int lc__mutex_init_recursive(lc_mutex_t *m, const char *name,
			     struct lc__key *key)
{
	return init(m, name, key, LC__KIND_RECURSIVE, CALLER);
}

LC_NO_THREAD_SAFETY_ANALYSIS
int lc__mutex_lock(lc_mutex_t *m, const char *file, int line, const char *func)
{
	struct lc__acq a;

	if (!m)
		return EINVAL;
	a = LC__ACQ(&m->lk, LC__WRITE, LC__BLOCK, file, line, func, CALLER);
	return lc__acquire(&a, &m->pm, try_mutex, lock_mutex, NULL);
}

LC_NO_THREAD_SAFETY_ANALYSIS
int lc__mutex_trylock(lc_mutex_t *m, const char *file, int line,
		      const char *func)
{
	struct lc__acq a;

	if (!m)
		return EINVAL;
	a = LC__ACQ(&m->lk, LC__WRITE, LC__TRY, file, line, func, CALLER);
	return lc__acquire(&a, &m->pm, try_mutex, lock_mutex, NULL);
}

LC_NO_THREAD_SAFETY_ANALYSIS
int lc__mutex_timedlock(lc_mutex_t *m, const struct timespec *abstime,
			const char *file, int line, const char *func)
{
	struct lc__acq a;

	if (!m || !abstime)
		return EINVAL;
	a = LC__ACQ(&m->lk, LC__WRITE, LC__TIMED, file, line, func, CALLER);
	return lc__acquire(&a, &m->pm, try_mutex, timedlock_mutex, abstime);
}

LC_NO_THREAD_SAFETY_ANALYSIS
int lc__mutex_unlock(lc_mutex_t *m, const char *file, int line,
		     const char *func)
{
	struct lc__site at = { file, line, func };

	if (!m)
		return EINVAL;
	return lc__unlock_with(&m->lk, &m->pm, unlock_mutex, &at, CALLER);
}

int lc__mutex_destroy(lc_mutex_t *m, const char *file, int line,
		      const char *func)
{
	struct lc__site at = { file, line, func };

	if (!m)
		return EINVAL;
	return lc__destroy_with(&m->lk, &m->pm, try_mutex, unlock_mutex,
				destroy_mutex, &at, CALLER);
}

int lc__mutex_set_order(lc_mutex_t *m, uint64_t key)
{
	if (!m)
		return EINVAL;
	m->lk.order = key;
	m->lk.has_order = 1;
	return 0;
}
