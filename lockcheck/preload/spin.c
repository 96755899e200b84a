/*
 * spin.c: the program's pthread_spin_* calls, checked as mutexes for lock
 * order (a spinning wait deadlocks as a sleeping one does). A spin lock
 * taken again by its holder would spin for ever: the checker reports
 * recursive-lock and returns EDEADLK instead.
 */
#define _GNU_SOURCE
#include "preload.h"

#include <errno.h>

static int try_fn(void *s, const struct timespec *abstime)
{
	(void)abstime;
	return LC__PRE_REAL(spin_trylock)(s);
}

static int lock_fn(void *s, const struct timespec *abstime)
{
	(void)abstime;
	return LC__PRE_REAL(spin_lock)(s);
}

static int unlock_fn(void *s)
{
	return LC__PRE_REAL(spin_unlock)(s);
}

static int destroy_fn(void *s)
{
	return LC__PRE_REAL(spin_destroy)(s);
}

struct unseen {
	const void *s;
	const void *ra;
};

static void init_unseen(struct lc__pre_lock *e, void *arg)
{
	struct unseen *u = arg;

	lc__pre_name_unseen(&e->lk, u->s, LC__KIND_MUTEX, u->ra);
}

static int acquire(void *s, uint8_t how, const void *ra)
{
	struct unseen u = { s, ra };
	struct lc__pre_lock *e = lc__pre_claim(s, init_unseen, &u);
	const struct lc__site *at;
	struct lc__acq a;

	if (!e)
		return (how == LC__TRY ? try_fn : lock_fn)(s, NULL);
	at = lc__pre_site(ra);
	a = LC__ACQ(&e->lk, LC__WRITE, how, at->file, at->line, at->func, ra);
	return lc__acquire(&a, s, try_fn, lock_fn, NULL);
}

int pthread_spin_lock(pthread_spinlock_t *lock)
{
	void *s = (void *)(uintptr_t)lock; /* the type is volatile */
	int err;

	if (!lc__pre_in())
		return LC__PRE_REAL(spin_lock)(s);
	err = acquire(s, LC__BLOCK, LC__PRE_CALLER);
	lc__pre_out();
	return err;
}

int pthread_spin_trylock(pthread_spinlock_t *lock)
{
	void *s = (void *)(uintptr_t)lock; /* the type is volatile */
	int err;

	if (!lc__pre_in())
		return LC__PRE_REAL(spin_trylock)(s);
	err = acquire(s, LC__TRY, LC__PRE_CALLER);
	lc__pre_out();
	return err;
}

int pthread_spin_unlock(pthread_spinlock_t *lock)
{
	void *s = (void *)(uintptr_t)lock; /* the type is volatile */
	const void *ra = LC__PRE_CALLER;
	struct lc__pre_lock *e;
	int err;

	if (!lc__pre_in())
		return LC__PRE_REAL(spin_unlock)(s);
	e = lc__pre_find(s);
	err = e ? lc__unlock_with(&e->lk, s, unlock_fn, lc__pre_site(ra), ra)
		: unlock_fn(s);
	lc__pre_out();
	return err;
}

static void init_nothing(struct lc__pre_lock *e, void *arg)
{
	(void)e;
	(void)arg;
}

int pthread_spin_init(pthread_spinlock_t *lock, int pshared)
{
	void *s = (void *)(uintptr_t)lock; /* the type is volatile */
	struct lc__pre_lock *e;
	int err = LC__PRE_REAL(spin_init)(s, pshared);

	if (err || !lc__pre_in())
		return err;
	e = lc__pre_claim(s, init_nothing, NULL);
	if (e)
		lc__pre_name_init(&e->lk, s, LC__KIND_MUTEX,
				  "pthread_spin_init", LC__PRE_CALLER);
	lc__pre_out();
	return err;
}

int pthread_spin_destroy(pthread_spinlock_t *lock)
{
	void *s = (void *)(uintptr_t)lock; /* the type is volatile */
	const void *ra = LC__PRE_CALLER;
	struct lc__pre_lock *e;
	int err;

	if (!lc__pre_in())
		return LC__PRE_REAL(spin_destroy)(s);
	e = lc__pre_find(s);
	err = e ? lc__destroy_with(&e->lk, s, try_fn, unlock_fn, destroy_fn,
				   lc__pre_site(ra), ra)
		: destroy_fn(s);
	if (e && !err)
		lc__pre_release(e);
	lc__pre_out();
	return err;
}
