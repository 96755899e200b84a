/*
 * core.h: the checker's core steps, between an entry point and the real
 * pthread call it makes.
 *
 * An entry point describes its call once (struct lc__acq: lock, mode, how
 * it may wait, site) and asks the core what to do; the entry point alone
 * calls pthreads. So the same steps serve the lc_ wrappers (mutex.c,
 * rwlock.c, cond.c), whose locks embed a struct lc__lock, and an
 * interposed pthread_mutex_lock that keeps its struct lc__lock elsewhere
 * and reaches the real function through dlsym. Every step takes the
 * thread's state and the lock's struct lc__lock; none blocks.
 *
 *   lc__enter          first: the thread's state, marked inside the checker
 *   lc__before_try     a lock the caller may hold already (recursive mutex,
 *                      read lock): LC__AGAIN, a refusal, or LC__GO
 *     real trylock
 *   lc__acquired       it was free: validate (not a trylock), count, push
 *   lc__before_block   it was busy: self-deadlock, else validate; then the
 *                      wait's start
 *     real blocking call
 *   lc__after_block    count the wait; push when it succeeded
 *   lc__reacquired     after the real call of an LC__AGAIN: one level more
 *   lc__release        before the real unlock: pop, or refuse (EPERM);
 *                      its common case is lc__release_top, alone inline
 *   lc__before_wait    a condition wait gives its mutex back: pop, validate
 *     real wait
 *   lc__after_wait     the mutex is back: push (cancellation too)
 *   lc__leave          last: outside the checker again
 *
 * lc__acquire, lc__unlock_with and lc__destroy_with run the steps around
 * real calls given as functions; lc__lock_init follows a real init. A
 * step returns 0 (LC__GO: make the real call), an errno value for the
 * entry point to return without calling pthreads (it reported what needed
 * it), or LC__AGAIN / LC__PASS as documented below. What later checks add
 * goes into the steps: at lc__acquired, lc__after_block (an acquisition
 * done), lc__release_top and lc__release_deep (a release, before the real
 * unlock), lc__before_block / lc__after_block and lc__before_wait /
 * lc__after_wait (around every wait).
 *
 * Signal handlers. A lock call from a signal handler that interrupted its
 * thread inside the checker must not touch the state the checker was in
 * the middle of changing. Between lc__enter and lc__leave lc__tls is NULL,
 * so such a call sees no state; lc__enter returns NULL then (and when the
 * thread's state cannot be allocated): the entry point makes the real call
 * and only counts it (lc__passed_*), so its unlock passes too; reentry.c
 * notes the acquisition for one signal-unsafe finding.
 */
#ifndef LOCKCHECK_CORE_H
#define LOCKCHECK_CORE_H

#include <errno.h>

#include "internal.h"
#include "race.h"

enum {
	LC__GO = 0,	/* make the real call */
	LC__AGAIN = -1, /* the caller holds it: real call, lc__reacquired */
	LC__PASS = -2,	/* make the real call and record nothing */
};

/* ---- reentry.c: the inside flag and calls made past the checker ---- */

/* Whether a call now would interrupt this thread inside the checker: a
 * call from a signal handler (see the file head). */
bool lc__reentered(void);

/* Set while the thread is inside the checker without a state to mark:
 * while its state is being made or freed. */
extern _Thread_local volatile unsigned char lc__inside_stateless
	__attribute__((tls_model("initial-exec")));

/* Locks this thread took without recording them (lc__enter gave NULL):
 * their unlocks must pass. */
uint32_t lc__unrecorded(void);

/* The acquisition a, made without recording (lc__enter gave NULL) with
 * result err: a hold to let its unlock pass; noted for a signal-unsafe
 * finding when a signal handler made it inside the checker. Returns err. */
int lc__passed_acquire(const struct lc__acq *a, int err);

/* A condition wait made without recording, with result err: noted like
 * lc__passed_acquire's; no hold is gained or lost. Returns err. */
int lc__passed_wait(const struct lc__acq *a, int err);

/* An unlock made without recording: one unrecorded hold fewer, if any. */
void lc__passed_release(void);

/* Under lc__slow: reports the acquisitions signal handlers made inside
 * the checker, once per call site (lc__slow_lock calls it). */
void lc__report_signal_notes(void);

/* lc__enter's rare cases: no state yet, or inside already. */
struct lc__thread *lc__enter_slow(void);

/* lc__enter without its rare cases: NULL when the thread has no state
 * yet or is inside already (the caller's slow path then calls lc__enter). */
LC__HOT struct lc__thread *lc__enter_fast(void)
{
	struct lc__thread *t = lc__tls;

	if (t) {
		lc__tls = NULL;
		atomic_signal_fence(memory_order_seq_cst);
	}
	return t;
}

/* The calling thread's state, the thread inside the checker until
 * lc__leave (lc__tls is NULL meanwhile); NULL when the call must go past
 * the checker (see the file head). The fences order the flag's changes
 * with the state's for a signal handler of this thread. */
LC__HOT struct lc__thread *lc__enter(void)
{
	struct lc__thread *t = lc__enter_fast();

	return t ? t : lc__enter_slow();
}

LC__HOT void lc__leave(struct lc__thread *t)
{
	atomic_signal_fence(memory_order_seq_cst);
	lc__tls = t;
}

/* ---- core.c: the steps ---- */

/* An acquisition of lk in mode (a read lock or a write lock; a mutex is
 * always LC__WRITE) at the call file:line in func, whose return address is
 * ra. */
#define LC__ACQ(lk_, mode_, how_, file_, line_, func_, ra_)                    \
	((struct lc__acq){ .lk = (lk_),                                        \
			   .at = { (file_), (line_), (func_) },                \
			   .ra = (ra_),                                        \
			   .mode = (mode_),                                    \
			   .how = (how_) })

/*
 * The hot steps below are inline. The out-of-line ones are given a copy of
 * the acquisition (a const one): a itself never has its address taken, so
 * the compiler keeps it in registers on the cached path; an escaped struct
 * is stored, and reloaded after every call.
 */

/* The caller holds a->lk (held entry a->held): re-entry or refusal. */
int lc__held_again(struct lc__thread *t, const struct lc__acq *a);

LC__HOT int lc__before_try(struct lc__thread *t, struct lc__acq *a)
{
	struct lc__acq copy;

	assert(a->lk->kind >= LC__KIND_MUTEX && a->lk->kind <= LC__KIND_RWLOCK);
	a->cls = lc__class_fast(a->lk);
	/* Any other lock's trylock fails when the caller holds it. */
	if (a->lk->kind != LC__KIND_RECURSIVE && a->mode == LC__WRITE)
		return LC__GO;
	a->held = lc__find_held(t, a->lk);
	if (a->held < 0)
		return LC__GO;
	copy = *a;
	return lc__held_again(t, &copy);
}

/* The trylock succeeded: the caller did not hold the lock and nothing
 * waited, so a blocking acquisition is validated after the fact (it could
 * not block: nothing hangs first). */
LC__HOT void lc__acquired(struct lc__thread *t, struct lc__acq *a)
{
	a->chain = lc__chain_of(t, a->cls, a->mode);
	if (a->how != LC__TRY && t->nheld &&
	    !(a->cls && lc__validated(t, a->chain))) {
		struct lc__acq copy = *a;

		lc__validate(t, &copy);
	}
	lc__count_free(t, a->cls);
	lc__push(t, a);
	if (lc__race_active())
		lc__race_acquire(a->lk, a->mode);
}

/* A busy lock: EDEADLK (reported) when a->held >= 0, the caller holding
 * it itself; else validates and gives LC__GO. */
int lc__block_check(struct lc__thread *t, const struct lc__acq *a);

/* CLOCK_MONOTONIC in nanoseconds: how long waits take. */
uint64_t lc__now_ns(void);

/* A blocking acquisition found its lock busy: EDEADLK (reported) when the
 * caller holds it itself, else LC__GO once validated, with the wait's
 * start. */
LC__HOT int lc__before_block(struct lc__thread *t, struct lc__acq *a)
{
	struct lc__acq copy;
	int err;

	a->held = lc__find_held(t, a->lk);
	a->chain = lc__chain_of(t, a->cls, a->mode);
	copy = *a;
	err = lc__block_check(t, &copy);
	if (err)
		return err;
	a->start_ns = lc__now_ns();
	return 0;
}

/* The blocking call returned err: counts the wait, pushes the lock. */
LC__HOT void lc__after_block(struct lc__thread *t, const struct lc__acq *a,
			     int err)
{
	lc__blocked_end(t); /* one store: cheaper than asking */
	if (err)
		return;
	assert(a->chain == lc__chain_of(t, a->cls, a->mode));
	lc__count(t, a->cls, true, lc__now_ns() - a->start_ns);
	lc__push(t, a);
	if (lc__race_active())
		lc__race_acquire(a->lk, a->mode);
}

LC__HOT void lc__reacquired(struct lc__thread *t, const struct lc__acq *a,
			    int err)
{
	if (!err)
		t->held[a->held].depth++;
}

/* Releases lk from t's stack when it is not the top entry held once. */
int lc__release_deep(struct lc__thread *t, struct lc__lock *lk,
		     const struct lc__site *at, const void *ra);

/* The common release: lk is t's top entry, held once. False when
 * lc__release must look further. */
LC__HOT bool lc__release_top(struct lc__thread *t, struct lc__lock *lk)
{
	if (!lc__pop_top(t, lk))
		return false;
	if (lc__race_active()) /* the entry popped is still in place */
		lc__race_release(lk, t->held[t->nheld].mode);
	return true;
}

/* Before the real unlock of lk: 0, or EPERM (reported) when t does not
 * hold it, in which case the lock must be left alone. */
LC__HOT int lc__release(struct lc__thread *t, struct lc__lock *lk,
			const struct lc__site *at, const void *ra)
{
	struct lc__site copy;

	if (lc__release_top(t, lk))
		return 0;
	copy = *at;
	return lc__release_deep(t, lk, &copy, ra);
}

/* A condition wait on a->lk: its held entry goes (its depth in *depth)
 * and the retake is validated now, before the wait can block. EPERM
 * (reported) when t does not hold it; LC__PASS when t cannot tell (it
 * holds locks it did not record): the wait then goes unrecorded. */
int lc__before_wait(struct lc__thread *t, struct lc__acq *a, uint32_t *depth);

/* The wait is over (or cancelled): the mutex is held again, depth times. */
void lc__after_wait(struct lc__thread *t, const struct lc__acq *a,
		    uint32_t depth);

/* ---- The steps around real calls given as functions ---- */

/* A real lock call. abstime: the timed calls' deadline, else NULL. */
typedef int lc__real_fn(void *lock, const struct timespec *abstime);
typedef int lc__real_unlock_fn(void *lock);

LC__HOT int lc__block(struct lc__thread *t, struct lc__acq *a, void *lock,
		      lc__real_fn *wait_fn, const struct timespec *abstime)
{
	int err = lc__before_block(t, a);

	if (err)
		return err;
	err = wait_fn(lock, abstime);
	lc__after_block(t, a, err);
	return err;
}

/* Acquisition a of lock: try_fn must not block (EBUSY when busy), wait_fn
 * blocks (or times out); a->how says which the caller asked for. */
LC__HOT int lc__acquire(struct lc__acq *a, void *lock, lc__real_fn *try_fn,
			lc__real_fn *wait_fn, const struct timespec *abstime)
{
	struct lc__thread *t = lc__enter();
	lc__real_fn *asked = a->how == LC__TRY ? try_fn : wait_fn;
	int err;

	if (!t) {
		struct lc__acq copy = *a;

		return lc__passed_acquire(&copy, asked(lock, abstime));
	}
	err = lc__before_try(t, a);
	if (err == LC__AGAIN) {
		err = asked(lock, abstime);
		lc__reacquired(t, a, err);
	} else if (err == LC__GO) {
		err = try_fn(lock, abstime);
		if (!err)
			lc__acquired(t, a);
		else if (err == EBUSY && a->how != LC__TRY)
			err = lc__block(t, a, lock, wait_fn, abstime);
	}
	lc__leave(t);
	return err;
}

/* Every unlock but the common one (core.c): lc__enter, lc__release, the
 * real unlock. */
int lc__unlock_slow(struct lc__lock *lk, void *lock, lc__real_unlock_fn *fn,
		    const struct lc__site *at, const void *ra);

/* The unlock of lk at site at: fn is the real unlock of lock. Inline only
 * the common case, lk on top held once: all else is one call away, so the
 * compiler needs no saved registers for it. The real unlock changes no
 * checker state: it runs outside. */
LC__HOT int lc__unlock_with(struct lc__lock *lk, void *lock,
			    lc__real_unlock_fn *fn, const struct lc__site *at,
			    const void *ra)
{
	struct lc__thread *t = lc__enter_fast();
	struct lc__site copy;

	if (t) {
		bool popped = lc__release_top(t, lk);

		lc__leave(t);
		if (popped)
			return fn(lock);
	}
	copy = *at;
	return lc__unlock_slow(lk, lock, fn, &copy, ra);
}

/* ---- lifetime.c: init and destroy ---- */

/* After the real init of lk's lock: the lock starts afresh (class,
 * instance id; a hold of the memory's previous lock is dropped). */
void lc__lock_init(struct lc__lock *lk, const char *name, struct lc__key *key,
		   int kind, const void *ra);

/* Destroys lk's lock: refused with EBUSY (reported) while it is held;
 * try_fn / unlock_fn tell whether another thread holds it, destroy_fn is
 * the real destroy. The lock leaves every instance graph. */
int lc__destroy_with(struct lc__lock *lk, void *lock, lc__real_fn *try_fn,
		     lc__real_unlock_fn *unlock_fn,
		     lc__real_unlock_fn *destroy_fn, const struct lc__site *at,
		     const void *ra);

#endif /* LOCKCHECK_CORE_H */
