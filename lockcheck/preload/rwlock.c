/*
 * rwlock.c: the program's pthread_rwlock_* calls through the checker's
 * core steps, as lockcheck/rwlock.c runs them for lc_rwlock_t: read locks
 * re-enter, a try adds no order edge, timed and clock waits block.
 */
#define _GNU_SOURCE
#include "preload.h"

#include <errno.h>

/* A clock wait's clock rides with the lock. */
struct clocked {
	pthread_rwlock_t *l;
	clockid_t clock;
};

/* glibc's try calls say EDEADLK where the caller holds the lock for
 * writing: a busy lock for the core (lc__before_block tells). */
static int busy(int err)
{
	return err == EDEADLK ? EBUSY : err;
}

static int try_read(void *l, const struct timespec *abstime)
{
	(void)abstime;
	return busy(LC__PRE_REAL(rwlock_tryrdlock)(l));
}

static int try_write(void *l, const struct timespec *abstime)
{
	(void)abstime;
	return busy(LC__PRE_REAL(rwlock_trywrlock)(l));
}

static int lock_read(void *l, const struct timespec *abstime)
{
	(void)abstime;
	return LC__PRE_REAL(rwlock_rdlock)(l);
}

static int lock_write(void *l, const struct timespec *abstime)
{
	(void)abstime;
	return LC__PRE_REAL(rwlock_wrlock)(l);
}

static int timed_read(void *l, const struct timespec *abstime)
{
	return LC__PRE_REAL(rwlock_timedrdlock)(l, abstime);
}

static int timed_write(void *l, const struct timespec *abstime)
{
	return LC__PRE_REAL(rwlock_timedwrlock)(l, abstime);
}

static int clocked_try_read(void *c, const struct timespec *abstime)
{
	return try_read(((struct clocked *)c)->l, abstime);
}

static int clocked_try_write(void *c, const struct timespec *abstime)
{
	return try_write(((struct clocked *)c)->l, abstime);
}

static int clock_read(void *c, const struct timespec *abstime)
{
	struct clocked *cl = c;

	return LC__PRE_REAL(rwlock_clockrdlock)(cl->l, cl->clock, abstime);
}

static int clock_write(void *c, const struct timespec *abstime)
{
	struct clocked *cl = c;

	return LC__PRE_REAL(rwlock_clockwrlock)(cl->l, cl->clock, abstime);
}

static int unlock_fn(void *l)
{
	return LC__PRE_REAL(rwlock_unlock)(l);
}

static int destroy_fn(void *l)
{
	return LC__PRE_REAL(rwlock_destroy)(l);
}

struct unseen {
	const pthread_rwlock_t *l;
	const void *ra;
};

static void init_unseen(struct lc__pre_lock *e, void *arg)
{
	struct unseen *u = arg;

	lc__pre_name_unseen(&e->lk, u->l, LC__KIND_RWLOCK, u->ra);
}

/* One acquisition of l in mode, how it asked; lock is what the real
 * calls are given. */
static int acquire(pthread_rwlock_t *l, void *lock, uint8_t mode, uint8_t how,
		   lc__real_fn *try, lc__real_fn *wait_fn,
		   const struct timespec *abstime, const void *ra)
{
	struct unseen u = { l, ra };
	struct lc__pre_lock *e = lc__pre_claim(l, init_unseen, &u);
	const struct lc__site *at;
	struct lc__acq a;

	if (!e)
		return (how == LC__TRY ? try : wait_fn)(lock, abstime);
	at = lc__pre_site(ra);
	a = LC__ACQ(&e->lk, mode, how, at->file, at->line, at->func, ra);
	return lc__acquire(&a, lock, try, wait_fn, abstime);
}

/* The body of every acquiring wrapper: checked, or straight through. */
#define ACQUIRE(l, lock, mode, how, try, wait_fn, abstime, real_call)          \
	do {                                                                   \
		int err_;                                                      \
		if (!(l) || !lc__pre_in())                                     \
			return real_call;                                      \
		err_ = acquire((l), (lock), (mode), (how), (try), (wait_fn),   \
			       (abstime), LC__PRE_CALLER);                     \
		lc__pre_out();                                                 \
		return err_;                                                   \
	} while (0)

int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	ACQUIRE(l, l, LC__READ, LC__BLOCK, try_read, lock_read, NULL,
		LC__PRE_REAL(rwlock_rdlock)(l));
}

int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	ACQUIRE(l, l, LC__WRITE, LC__BLOCK, try_write, lock_write, NULL,
		LC__PRE_REAL(rwlock_wrlock)(l));
}

int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
	ACQUIRE(l, l, LC__READ, LC__TRY, try_read, lock_read, NULL,
		LC__PRE_REAL(rwlock_tryrdlock)(l));
}

int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	ACQUIRE(l, l, LC__WRITE, LC__TRY, try_write, lock_write, NULL,
		LC__PRE_REAL(rwlock_trywrlock)(l));
}

int pthread_rwlock_timedrdlock(pthread_rwlock_t *l,
			       const struct timespec *abstime)
{
	ACQUIRE(abstime ? l : NULL, l, LC__READ, LC__TIMED, try_read,
		timed_read, abstime,
		LC__PRE_REAL(rwlock_timedrdlock)(l, abstime));
}

int pthread_rwlock_timedwrlock(pthread_rwlock_t *l,
			       const struct timespec *abstime)
{
	ACQUIRE(abstime ? l : NULL, l, LC__WRITE, LC__TIMED, try_write,
		timed_write, abstime,
		LC__PRE_REAL(rwlock_timedwrlock)(l, abstime));
}

int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clock,
			       const struct timespec *abstime)
{
	struct clocked c = { l, clock };

	if (!LC__PRE_REAL(rwlock_clockrdlock))
		return ENOSYS;
	ACQUIRE(abstime ? l : NULL, &c, LC__READ, LC__TIMED, clocked_try_read,
		clock_read, abstime,
		LC__PRE_REAL(rwlock_clockrdlock)(l, clock, abstime));
}

int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clock,
			       const struct timespec *abstime)
{
	struct clocked c = { l, clock };

	if (!LC__PRE_REAL(rwlock_clockwrlock))
		return ENOSYS;
	ACQUIRE(abstime ? l : NULL, &c, LC__WRITE, LC__TIMED, clocked_try_write,
		clock_write, abstime,
		LC__PRE_REAL(rwlock_clockwrlock)(l, clock, abstime));
}

int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	const void *ra = LC__PRE_CALLER;
	struct lc__pre_lock *e;
	int err;

	if (!l || !lc__pre_in())
		return LC__PRE_REAL(rwlock_unlock)(l);
	e = lc__pre_find(l);
	err = e ? lc__unlock_with(&e->lk, l, unlock_fn, lc__pre_site(ra), ra)
		: unlock_fn(l);
	lc__pre_out();
	return err;
}

static void init_nothing(struct lc__pre_lock *e, void *arg)
{
	(void)e;
	(void)arg;
}

int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *attr)
{
	struct lc__pre_lock *e;
	int err = LC__PRE_REAL(rwlock_init)(l, attr);

	if (err || !l || !lc__pre_in())
		return err;
	e = lc__pre_claim(l, init_nothing, NULL);
	if (e)
		lc__pre_name_init(&e->lk, l, LC__KIND_RWLOCK,
				  "pthread_rwlock_init", LC__PRE_CALLER);
	lc__pre_out();
	return err;
}

int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
	const void *ra = LC__PRE_CALLER;
	struct lc__pre_lock *e;
	int err;

	if (!l || !lc__pre_in())
		return LC__PRE_REAL(rwlock_destroy)(l);
	e = lc__pre_find(l);
	err = e ? lc__destroy_with(&e->lk, l, try_write, unlock_fn, destroy_fn,
				   lc__pre_site(ra), ra)
		: destroy_fn(l);
	if (e && !err)
		lc__pre_release(e);
	lc__pre_out();
	return err;
}
