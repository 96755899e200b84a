/*
 * core.c: the out-of-line core steps (core.h): re-entry, a busy lock, a
 * deep release, a condition wait's release and retake, assertions.
 *
 * Every step leaves the held stack consistent (lc__held_consistent), and
 * an acquisition's chain key, computed before it blocks, is still the
 * stack's key when it is pushed: nothing else changes the stack of a
 * blocked thread.
 */
#define _GNU_SOURCE
#include "core.h"

#include <time.h>

uint64_t lc__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int lc__held_again(struct lc__thread *t, const struct lc__acq *a)
{
	const struct lc__held *h = &t->held[a->held];

	assert(h->lk == a->lk && h->depth >= 1);
	/* Re-entry adds no edge: readers never wait for readers here. */
	if (a->lk->kind == LC__KIND_RECURSIVE ||
	    (a->mode == LC__READ && h->mode == LC__READ))
		return LC__AGAIN;
	if (a->how == LC__TRY)
		return EBUSY;
	lc__report_recursive(t, a, h);
	return EDEADLK;
}

int lc__block_check(struct lc__thread *t, const struct lc__acq *a)
{
	if (a->held >= 0) {
		lc__report_recursive(t, a, &t->held[a->held]);
		return EDEADLK;
	}
	if (t->nheld)
		lc__validate(t, a);
	/* Here, out of line: the inline lock path stays as it was. */
	if (lc__cfg.watchdog_ns && a->how == LC__BLOCK)
		lc__blocked_begin(t, a->lk, &a->at, a->mode, lc__now_ns());
	return LC__GO;
}

int lc__release_deep(struct lc__thread *t, struct lc__lock *lk,
		     const struct lc__site *at, const void *ra)
{
	int i = lc__find_held(t, lk);

	if (i < 0 && t->untracked) {
		t->untracked--; /* one that did not fit in the stack */
		return 0;
	}
	if (i < 0 && lc__unrecorded()) {
		lc__passed_release(); /* taken past the checker */
		return 0;
	}
	if (i < 0) {
		lc__report_unlock_not_held(t, lk, at, ra, "unlocked");
		return EPERM;
	}
	if (t->held[i].depth > 1) {
		t->held[i].depth--;
	} else {
		if (lc__race_active())
			lc__race_release(lk, t->held[i].mode);
		lc__pop_held(t, i);
	}
	assert(lc__held_consistent(t));
	return 0;
}

int lc__unlock_slow(struct lc__lock *lk, void *lock, lc__real_unlock_fn *fn,
		    const struct lc__site *at, const void *ra)
{
	struct lc__thread *t = lc__enter();
	int err;

	if (!t) {
		lc__passed_release();
		return fn(lock);
	}
	err = lc__release(t, lk, at, ra);
	lc__leave(t);
	return err ? err : fn(lock);
}

int lc__before_wait(struct lc__thread *t, struct lc__acq *a, uint32_t *depth)
{
	int i = lc__find_held(t, a->lk);

	a->cls = lc__class_fast(a->lk);
	if (i < 0 && (t->untracked || lc__unrecorded()))
		return LC__PASS;
	if (i < 0) {
		lc__report_unlock_not_held(t, a->lk, &a->at, a->ra,
					   "waited on (lc_cond_wait)");
		return EPERM;
	}
	/* The wait releases the mutex and takes it again: for the checker
	 * the retake happens under whatever else is still held, and it is
	 * validated now, before the wait can block. */
	*depth = t->held[i].depth;
	if (lc__race_active())
		lc__race_release(a->lk, t->held[i].mode);
	lc__pop_held(t, i);
	a->chain = lc__chain_of(t, a->cls, a->mode);
	if (t->nheld)
		lc__validate(t, a);
	return LC__GO;
}

void lc__after_wait(struct lc__thread *t, const struct lc__acq *a,
		    uint32_t depth)
{
	uint32_t i = t->nheld;

	assert(a->chain == lc__chain_of(t, a->cls, a->mode));
	lc__push(t, a);
	if (t->nheld > i)
		t->held[i].depth = depth;
	if (lc__race_active())
		lc__race_acquire(a->lk, a->mode);
	assert(lc__held_consistent(t));
}

/* ---- assertions ---- */

static void assert_held(struct lc__lock *lk, bool want_held,
			const struct lc__site *at, const void *ra)
{
	struct lc__thread *t;
	bool held;

	if (!lk || !(t = lc__enter()))
		return;
	held = lc__find_held(t, lk) >= 0;
	/* Right, or cannot tell (locks it did not record). */
	if (held != want_held && (held || (!t->untracked && !lc__unrecorded())))
		lc__report_assert(t, lk, want_held, at, ra);
	lc__leave(t);
}

void lc__assert_held(struct lc__lock *lk, const char *file, int line,
		     const char *func)
{
	struct lc__site at = { file, line, func };

	assert_held(lk, true, &at, __builtin_return_address(0));
}

void lc__assert_not_held(struct lc__lock *lk, const char *file, int line,
			 const char *func)
{
	struct lc__site at = { file, line, func };

	assert_held(lk, false, &at, __builtin_return_address(0));
}
