/*
 * lifetime.c: a lock's start and end for the checker. An init gives the
 * lock its class (its init call's) and a fresh instance id; a destroy
 * takes the instance out of its class's instance graph, so a lock later
 * built in the same memory starts afresh. Instance ids are never reused.
 */
#define _GNU_SOURCE
#include "core.h"

#include <string.h>

/* The calling thread still holds a lock at lk, the memory now being
 * initialised: a lock destroyed while held (refused and reported then) and
 * freed, or a held lock whose memory is reused. Its held entry goes, so
 * the new lock starts clean; reported unless its destroy already was. */
static void drop_stale_holds(struct lc__thread *t, struct lc__lock *lk,
			     const void *ra)
{
	struct lc__site at;
	int i;

	if (!lk->key)
		return;
	at = (struct lc__site){ lk->key->file, lk->key->line, lk->key->func };
	while ((i = lc__find_held(t, lk)) >= 0) {
		if (!(t->held[i].flags & LC__HELD_DESTROY_REFUSED))
			lc__report_init_held(t, lk, &t->held[i], &at, ra);
		lc__pop_held(t, i);
	}
	assert(lc__held_consistent(t));
}

/* Numbers lk among its class's locks, from 1. */
static void number(struct lc__lock *lk, struct lc__class *c)
{
	uint64_t n = atomic_fetch_add_explicit(&c->instances, 1,
					       memory_order_relaxed);

	atomic_store_explicit(&lk->ordinal, (uint32_t)n + 1,
			      memory_order_relaxed);
}

/* The init of a thread with no state yet makes none (it may never lock):
 * it is inside the checker all the same. */
static struct lc__thread *enter_without_making(void)
{
	struct lc__thread *t = lc__tls;

	if (t) {
		lc__tls = NULL;
		atomic_signal_fence(memory_order_seq_cst);
		return t;
	}
	lc__inside_stateless = 1;
	atomic_signal_fence(memory_order_seq_cst);
	return NULL;
}

static void leave_without_making(struct lc__thread *t)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (t)
		lc__tls = t;
	else
		lc__inside_stateless = 0;
}

void lc__lock_init(struct lc__lock *lk, const char *name, struct lc__key *key,
		   int kind, const void *ra)
{
	bool passed = lc__reentered();
	struct lc__thread *t;
	struct lc__class *c;

	memset(lk, 0, sizeof(*lk));
	lk->key = key;
	lk->name = name;
	lk->file = key ? key->file : NULL;
	lk->line = key ? key->line : 0;
	lk->kind = kind;
	if (passed)
		return; /* a signal handler's: classed and numbered when used */
	t = enter_without_making();
	c = lc__class_of(lk);
	if (t)
		drop_stale_holds(t, lk, ra);
	atomic_store_explicit(&lk->id, lc__new_instance_id(),
			      memory_order_relaxed);
	if (c)
		number(lk, c);
	leave_without_making(t);
}

/* The lock is destroyed: its instance leaves every instance graph. */
static void forget(struct lc__lock *lk)
{
	struct lc__class *c = atomic_load(&lk->cls);
	uint64_t id = atomic_exchange(&lk->id, 0);

	if (!c || !id || !atomic_load(&c->igraph))
		return;
	lc__slow_lock();
	lc__forget_instance(c, id);
	lc__slow_unlock();
}

/* Whether another thread holds it (reported): a trylock fails. */
static bool held_elsewhere(struct lc__thread *t, struct lc__lock *lk,
			   void *lock, lc__real_fn *try_fn,
			   lc__real_unlock_fn *unlock_fn,
			   const struct lc__site *at, const void *ra)
{
	int err = try_fn(lock, NULL);

	if (err == EBUSY) {
		if (t)
			lc__report_destroy_held(t, lk, NULL, at, ra);
		return true;
	}
	if (!err)
		unlock_fn(lock);
	return false;
}

int lc__destroy_with(struct lc__lock *lk, void *lock, lc__real_fn *try_fn,
		     lc__real_unlock_fn *unlock_fn,
		     lc__real_unlock_fn *destroy_fn, const struct lc__site *at,
		     const void *ra)
{
	struct lc__thread *t = lc__enter();
	bool passed = !t && lc__reentered();
	int i = t ? lc__find_held(t, lk) : -1, err = EBUSY;

	if (passed)
		return destroy_fn(lock); /* a signal handler's: not recorded */
	if (i >= 0) {
		lc__report_destroy_held(t, lk, &t->held[i], at, ra);
		t->held[i].flags |= LC__HELD_DESTROY_REFUSED;
	} else if (!held_elsewhere(t, lk, lock, try_fn, unlock_fn, at, ra)) {
		err = destroy_fn(lock);
		if (!err)
			forget(lk);
	}
	if (t)
		lc__leave(t);
	return err;
}
