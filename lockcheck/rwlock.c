/*
 * rwlock.c: the checked lc_rwlock_* calls, as mutex.c. A read lock looks
 * for itself in the caller's held stack first (lc__before_try), since a
 * reader's trylock succeeds on a lock it already holds for reading.
 * The lock and unlock calls opt out of Thread Safety Analysis: it cannot
 * see the pthread call inside acquire or release.
 */
#define _GNU_SOURCE
#include "core.h"

#define CALLER __builtin_return_address(0)

/* glibc's try calls say EDEADLK where the caller holds the lock for
 * writing: that is a busy lock like any other (lc__before_block tells). */
static int busy(int err)
{
	return err == EDEADLK ? EBUSY : err;
}

static int try_read(void *l, const struct timespec *abstime)
{
	(void)abstime;
	return busy(pthread_rwlock_tryrdlock(l));
}

static int try_write(void *l, const struct timespec *abstime)
{
	(void)abstime;
	return busy(pthread_rwlock_trywrlock(l));
}

static int lock_read(void *l, const struct timespec *abstime)
{
	(void)abstime;
	return pthread_rwlock_rdlock(l);
}

static int lock_write(void *l, const struct timespec *abstime)
{
	(void)abstime;
	return pthread_rwlock_wrlock(l);
}

static int unlock_rwlock(void *l)
{
	return pthread_rwlock_unlock(l);
}

static int destroy_rwlock(void *l)
{
	return pthread_rwlock_destroy(l);
}

int lc__rwlock_init(lc_rwlock_t *l, const char *name, struct lc__key *key)
{
	int err;

	if (!l)
		return EINVAL;
	err = pthread_rwlock_init(&l->prw, NULL);
	if (!err)
		lc__lock_init(&l->lk, name, key, LC__KIND_RWLOCK, CALLER);
	return err;
}

LC_NO_THREAD_SAFETY_ANALYSIS
int lc__rwlock_rdlock(lc_rwlock_t *l, const char *file, int line,
		      const char *func)
{
	struct lc__acq a;

	if (!l)
		return EINVAL;
	a = LC__ACQ(&l->lk, LC__READ, LC__BLOCK, file, line, func, CALLER);
	return lc__acquire(&a, &l->prw, try_read, lock_read, NULL);
}

LC_NO_THREAD_SAFETY_ANALYSIS
int lc__rwlock_wrlock(lc_rwlock_t *l, const char *file, int line,
		      const char *func)
{
	struct lc__acq a;

	if (!l)
		return EINVAL;
	a = LC__ACQ(&l->lk, LC__WRITE, LC__BLOCK, file, line, func, CALLER);
	return lc__acquire(&a, &l->prw, try_write, lock_write, NULL);
}

LC_NO_THREAD_SAFETY_ANALYSIS
int lc__rwlock_tryrdlock(lc_rwlock_t *l, const char *file, int line,
			 const char *func)
{
	struct lc__acq a;

	if (!l)
		return EINVAL;
	a = LC__ACQ(&l->lk, LC__READ, LC__TRY, file, line, func, CALLER);
	return lc__acquire(&a, &l->prw, try_read, lock_read, NULL);
}

LC_NO_THREAD_SAFETY_ANALYSIS
int lc__rwlock_trywrlock(lc_rwlock_t *l, const char *file, int line,
			 const char *func)
{
	struct lc__acq a;

	if (!l)
		return EINVAL;
	a = LC__ACQ(&l->lk, LC__WRITE, LC__TRY, file, line, func, CALLER);
	return lc__acquire(&a, &l->prw, try_write, lock_write, NULL);
}

LC_NO_THREAD_SAFETY_ANALYSIS
int lc__rwlock_unlock(lc_rwlock_t *l, const char *file, int line,
		      const char *func)
{
	struct lc__site at = { file, line, func };

	if (!l)
		return EINVAL;
	return lc__unlock_with(&l->lk, &l->prw, unlock_rwlock, &at, CALLER);
}

int lc__rwlock_destroy(lc_rwlock_t *l, const char *file, int line,
		       const char *func)
{
	struct lc__site at = { file, line, func };

	if (!l)
		return EINVAL;
	return lc__destroy_with(&l->lk, &l->prw, try_write, unlock_rwlock,
				destroy_rwlock, &at, CALLER);
}

int lc__rwlock_set_order(lc_rwlock_t *l, uint64_t key)
{
	if (!l)
		return EINVAL;
	l->lk.order = key;
	l->lk.has_order = 1;
	return 0;
}
