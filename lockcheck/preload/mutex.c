/*
 * mutex.c: the program's pthread_mutex_* calls, through the checker's
 * core steps (lockcheck/core.h) as lockcheck/mutex.c runs them for
 * lc_mutex_t, with the lock's state from the side table.
 *
 * What glibc's mutex kind says is kept: a recursive mutex (also one made
 * by PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP) re-enters; an error-checking
 * mutex keeps its own EDEADLK and EPERM, unreported (a program may rely on
 * them); robust and priority mutexes are passed through untouched (their
 * EOWNERDEAD and ownership rules are the kernel's). A trylock adds no
 * order edge. Return values are pthreads' own, except where the checker
 * refuses to hang: a normal mutex locked again by its owner returns
 * EDEADLK with a recursive-lock report, as the compiled-in checker does,
 * and the misuse it refuses: an unlock by a thread that does not hold the
 * mutex returns EPERM (unlock-not-held), the mutex left as it was.
 */
#define _GNU_SOURCE
#include "preload.h"

#include <errno.h>

/* glibc's mutex kind bits (nptl's pthreadP.h, stable ABI). */
enum {
	KIND_MASK = 3, /* PTHREAD_MUTEX_{NORMAL,RECURSIVE,ERRORCHECK,
			* ADAPTIVE}_NP */
	KIND_UNTOUCHED = 16 | 32 | 64, /* robust, prio-inherit, -protect */
};

static int try_fn(void *m, const struct timespec *abstime)
{
	(void)abstime;
	return LC__PRE_REAL(mutex_trylock)(m);
}

static int lock_fn(void *m, const struct timespec *abstime)
{
	(void)abstime;
	return LC__PRE_REAL(mutex_lock)(m);
}

static int timedlock_fn(void *m, const struct timespec *abstime)
{
	return LC__PRE_REAL(mutex_timedlock)(m, abstime);
}

static int unlock_fn(void *m)
{
	return LC__PRE_REAL(mutex_unlock)(m);
}

static int destroy_fn(void *m)
{
	return LC__PRE_REAL(mutex_destroy)(m);
}

/* pthread_mutex_clocklock's clock rides with the mutex. */
struct clocked {
	pthread_mutex_t *m;
	clockid_t clock;
};

static int clocked_try_fn(void *c, const struct timespec *abstime)
{
	return try_fn(((struct clocked *)c)->m, abstime);
}

static int clocklock_fn(void *c, const struct timespec *abstime)
{
	struct clocked *cl = c;

	return LC__PRE_REAL(mutex_clocklock)(cl->m, cl->clock, abstime);
}

/* The entry's treatment and kind from glibc's kind of the mutex. */
static void treat(struct lc__pre_lock *e, const pthread_mutex_t *m)
{
	int kind = m->__data.__kind;

	e->treat = kind & KIND_UNTOUCHED ? LC__PRE_PASS
		   : (kind & KIND_MASK) == PTHREAD_MUTEX_ERRORCHECK
			   ? LC__PRE_ERRORCHECK
			   : LC__PRE_CHECKED;
	e->lk.kind = (kind & KIND_MASK) == PTHREAD_MUTEX_RECURSIVE
			     ? LC__KIND_RECURSIVE
			     : LC__KIND_MUTEX;
}

struct unseen {
	const pthread_mutex_t *m;
	const void *ra;
};

static void init_unseen(struct lc__pre_lock *e, void *arg)
{
	struct unseen *u = arg;

	treat(e, u->m);
	if (e->treat != LC__PRE_PASS)
		lc__pre_name_unseen(&e->lk, u->m, e->lk.kind, u->ra);
}

/* The entry of m, made at its first lock call at ra when unseen. */
static struct lc__pre_lock *entry(pthread_mutex_t *m, const void *ra)
{
	struct unseen u = { m, ra };

	return lc__pre_claim(m, init_unseen, &u);
}

/* One acquisition of m, how it asked (lc__how), wait_fn its real
 * blocking call; lock is what the real calls are given. */
static int acquire(pthread_mutex_t *m, void *lock, uint8_t how,
		   lc__real_fn *try, lc__real_fn *wait_fn,
		   const struct timespec *abstime, const void *ra)
{
	struct lc__pre_lock *e = entry(m, ra);
	const struct lc__site *at;
	struct lc__acq a;

	if (!e || e->treat == LC__PRE_PASS ||
	    (e->treat == LC__PRE_ERRORCHECK && lc__pre_held_here(&e->lk)))
		return (how == LC__TRY ? try : wait_fn)(lock, abstime);
	at = lc__pre_site(ra);
	a = LC__ACQ(&e->lk, LC__WRITE, how, at->file, at->line, at->func, ra);
	return lc__acquire(&a, lock, try, wait_fn, abstime);
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	int err;

	if (!m || !lc__pre_in())
		return LC__PRE_REAL(mutex_lock)(m);
	err = acquire(m, m, LC__BLOCK, try_fn, lock_fn, NULL, LC__PRE_CALLER);
	lc__pre_out();
	return err;
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
	int err;

	if (!m || !lc__pre_in())
		return LC__PRE_REAL(mutex_trylock)(m);
	err = acquire(m, m, LC__TRY, try_fn, lock_fn, NULL, LC__PRE_CALLER);
	lc__pre_out();
	return err;
}

int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	int err;

	if (!m || !abstime || !lc__pre_in())
		return LC__PRE_REAL(mutex_timedlock)(m, abstime);
	err = acquire(m, m, LC__TIMED, try_fn, timedlock_fn, abstime,
		      LC__PRE_CALLER);
	lc__pre_out();
	return err;
}

int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t clock,
			    const struct timespec *abstime)
{
	struct clocked c = { m, clock };
	int err;

	if (!LC__PRE_REAL(mutex_clocklock))
		return ENOSYS;
	if (!m || !abstime || !lc__pre_in())
		return LC__PRE_REAL(mutex_clocklock)(m, clock, abstime);
	err = acquire(m, &c, LC__TIMED, clocked_try_fn, clocklock_fn, abstime,
		      LC__PRE_CALLER);
	lc__pre_out();
	return err;
}

static int release(pthread_mutex_t *m, const void *ra)
{
	struct lc__pre_lock *e = lc__pre_find(m);

	if (!e || e->treat == LC__PRE_PASS ||
	    (e->treat == LC__PRE_ERRORCHECK && !lc__pre_held_here(&e->lk)))
		return unlock_fn(
			m); /* an error-checking mutex: its own EPERM */
	/* Unlocked by a thread that did not lock it: reported and refused
	 * (EPERM, the mutex left locked), as the compiled-in checker does. */
	return lc__unlock_with(&e->lk, m, unlock_fn, lc__pre_site(ra), ra);
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
	int err;

	if (!m || !lc__pre_in())
		return LC__PRE_REAL(mutex_unlock)(m);
	err = release(m, LC__PRE_CALLER);
	lc__pre_out();
	return err;
}

static void init_nothing(struct lc__pre_lock *e, void *arg)
{
	(void)e;
	(void)arg;
}

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	struct lc__pre_lock *e;
	int err = LC__PRE_REAL(mutex_init)(m, attr);

	if (err || !m || !lc__pre_in())
		return err;
	e = lc__pre_claim(m, init_nothing, NULL);
	if (e) {
		treat(e, m);
		if (e->treat != LC__PRE_PASS)
			lc__pre_name_init(&e->lk, m, e->lk.kind,
					  "pthread_mutex_init", LC__PRE_CALLER);
	}
	lc__pre_out();
	return err;
}

int pthread_mutex_destroy(pthread_mutex_t *m)
{
	struct lc__pre_lock *e;
	const void *ra = LC__PRE_CALLER;
	int err;

	if (!m || !lc__pre_in())
		return LC__PRE_REAL(mutex_destroy)(m);
	e = lc__pre_find(m);
	if (!e || e->treat == LC__PRE_PASS) {
		err = destroy_fn(m);
	} else {
		err = lc__destroy_with(&e->lk, m, try_fn, unlock_fn, destroy_fn,
				       lc__pre_site(ra), ra);
	}
	if (e && !err)
		lc__pre_release(e);
	lc__pre_out();
	return err;
}
