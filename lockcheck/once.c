/*
 * once.c: lc_once, pthread_once as a lock class. The once's mutex is held
 * while its function runs, so the function's locks are ordered after the
 * once's class, a call made holding a lock orders that lock before it,
 * and a call from inside the function finds the mutex held by its own
 * thread: recursive-lock (EDEADLK), where pthread_once would hang. After
 * the function returned, a call holding locks still orders them before
 * the once's class (a cached chain lookup, like a lock's): the hazard is
 * the same whichever thread happens to run the function first.
 */
#define _GNU_SOURCE
#include "core.h"

#define CALLER __builtin_return_address(0)

/* The order of an acquisition of lk that does not happen (the once is
 * done): validated like one, nothing pushed. */
static void order_only(struct lc__lock *lk, const struct lc__site *at,
		       const void *ra)
{
	struct lc__thread *t = lc__enter_fast();
	struct lc__acq a;

	if (!t)
		return; /* no state (so no locks) yet, or inside */
	a = LC__ACQ(lk, LC__WRITE, LC__BLOCK, at->file, at->line, at->func, ra);
	a.cls = lc__class_fast(lk);
	if (t->nheld && a.cls) {
		a.chain = lc__chain_of(t, a.cls, a.mode);
		if (!lc__validated(t, a.chain))
			lc__validate(t, &a);
	}
	lc__leave(t);
}

int lc__once(lc_once_t *o, void (*fn)(void), const char *file, int line,
	     const char *func)
{
	struct lc__site at = { file, line, func };
	int err;

	if (!o || !fn)
		return EINVAL;
	if (atomic_load_explicit(&o->done, memory_order_acquire)) {
		order_only(&o->m.lk, &at, CALLER);
		return 0;
	}
	err = lc__mutex_lock(&o->m, file, line, func);
	if (err)
		return err;
	if (!atomic_load_explicit(&o->done, memory_order_relaxed)) {
		fn();
		atomic_store_explicit(&o->done, 1, memory_order_release);
	}
	return lc__mutex_unlock(&o->m, file, line, func);
}
