/*
 * api.c: the checked lock operations behind the lockcheck.h macros.
 *
 * A lock operation tries the lock first. When that succeeds the caller did
 * not hold it (no recursion to look for) and nothing waited (no contention
 * to count): the acquisition is validated, counted and pushed on the
 * thread's held stack. When the lock is busy, the caller's own stack is
 * searched first (a self-deadlock is reported instead of blocking), then
 * the acquisition is validated before it blocks. Recursive mutexes and read
 * locks are looked up first, since their trylock succeeds on re-entry.
 * Unlock pops the entry, refusing locks the caller does not hold. If the
 * thread's state cannot be allocated, operations go unchecked (counted, so
 * their unlocks pass).
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>

enum { HOW_LOCK, HOW_TRY, HOW_TIMED };

#define CALLER __builtin_return_address(0)

/* Locks this thread took while its checker state could not be allocated:
 * their unlocks must pass (no allocation needed to count them). */
static _Thread_local uint32_t unchecked;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The calling thread still holds a lock at lk, the memory now being
 * initialised: a lock destroyed while held (refused and reported then) and
 * freed, or a held lock whose memory is reused. Its held entry goes, so
 * the new lock starts clean; reported unless its destroy already was. */
static void drop_stale_holds(struct lc__lock *lk, const void *ra)
{
	struct lc__thread *t = lc__tls;
	struct lc__site at;
	int i;

	if (!t || !lk->key)
		return;
	at = (struct lc__site){ lk->key->file, lk->key->line, lk->key->func };
	while ((i = lc__find_held(t, lk)) >= 0) {
		if (!(t->held[i].flags & LC_HELD_DESTROY_REFUSED))
			lc__report_init_held(t, lk, &t->held[i], &at, ra);
		lc__pop_held(t, i);
	}
}

static void lock_init(struct lc__lock *lk, const char *name,
		      struct lc__key *key, int kind, const void *ra)
{
	struct lc__class *c;

	memset(lk, 0, sizeof(*lk));
	lk->key = key;
	lk->name = name;
	lk->file = key ? key->file : NULL;
	lk->line = key ? key->line : 0;
	lk->kind = kind;
	c = lc__class_of(lk);
	drop_stale_holds(lk, ra);
	atomic_store_explicit(&lk->id, lc__new_instance_id(),
			      memory_order_relaxed);
	if (c)
		atomic_store_explicit(
			&lk->ordinal,
			(uint32_t)atomic_fetch_add_explicit(
				&c->instances, 1, memory_order_relaxed) + 1,
			memory_order_relaxed);
}

/* The lock is destroyed: its instance leaves every instance graph, and a
 * lock later built in the same memory starts afresh. */
static void lock_forget(struct lc__lock *lk)
{
	struct lc__class *c = atomic_load(&lk->cls);
	uint64_t id = atomic_exchange(&lk->id, 0);

	if (!c || !id || !atomic_load(&c->igraph))
		return;
	lc__slow_lock();
	lc__forget_instance(c, id);
	lc__slow_unlock();
}

LC__HOT void push(struct lc__thread *t, struct lc__lock *lk,
		  struct lc__class *cls, const struct lc__site *at,
		  uint8_t mode, bool trylock, uint64_t chain)
{
	lc__push(t, lk, cls, lc__id_fast(lk), at, mode, trylock, chain);
}

/* ---- mutexes ---- */

int lc__mutex_init(lc_mutex_t *m, const char *name, struct lc__key *key,
		   int kind)
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
		lock_init(&m->lk, name, key, kind, CALLER);
	return err;
}

static int unchecked_mutex(lc_mutex_t *m, int how,
			   const struct timespec *abstime)
{
	return how == HOW_TRY	  ? pthread_mutex_trylock(&m->pm)
	       : how == HOW_TIMED ? pthread_mutex_timedlock(&m->pm, abstime)
				  : pthread_mutex_lock(&m->pm);
}

/* A lock operation with no thread state to record it in. */
static int counted_unchecked(int err)
{
	unchecked += err == 0;
	return err;
}

/* The caller already holds m (held entry i). */
static int mutex_relock(struct lc__thread *t, lc_mutex_t *m, int i, int how,
			const struct timespec *abstime,
			const struct lc__site *at, const void *ra)
{
	int err;

	if (m->lk.kind == LC__KIND_RECURSIVE) {
		/* Re-entry: no edge, one more level to unlock. */
		err = unchecked_mutex(m, how, abstime);
		if (!err)
			t->held[i].depth++;
		return err;
	}
	if (how == HOW_TRY)
		return EBUSY;
	lc__report_recursive(t, &m->lk, &t->held[i], LC__WRITE, at, ra);
	return EDEADLK;
}

/* m was busy: the caller may hold it itself (a self-deadlock to report
 * instead of blocking); otherwise validate, then block. */
static int mutex_wait(struct lc__thread *t, lc_mutex_t *m,
		      struct lc__class *cls, int how,
		      const struct timespec *abstime, const struct lc__site *at,
		      const void *ra)
{
	int i = lc__find_held(t, &m->lk), err;
	uint64_t start, chain;

	if (i >= 0)
		return mutex_relock(t, m, i, how, abstime, at, ra);
	chain = lc__chain_of(t, cls, LC__WRITE);
	if (t->nheld)
		lc__validate(t, &m->lk, cls, LC__WRITE, chain, at, ra);
	start = now_ns();
	err = how == HOW_TIMED ? pthread_mutex_timedlock(&m->pm, abstime)
			       : pthread_mutex_lock(&m->pm);
	if (!err) {
		lc__count(t, cls, true, now_ns() - start);
		push(t, &m->lk, cls, at, LC__WRITE, false, chain);
	}
	return err;
}

/*
 * A trylock first: when it succeeds the caller did not hold the lock, there
 * was nothing to wait for, and the acquisition is validated after the fact
 * (it could not block, so nothing hangs first). A recursive mutex is looked
 * up first since its trylock succeeds on re-entry.
 */
int lc__mutex_lock(lc_mutex_t *m, int how, const struct timespec *abstime,
		   const char *file, int line, const char *func)
{
	struct lc__site at = { file, line, func };
	struct lc__thread *t;
	struct lc__class *cls;
	uint64_t chain;
	int i, err;

	if (!m || (how == HOW_TIMED && !abstime))
		return EINVAL;
	t = lc__self();
	if (!t)
		return counted_unchecked(unchecked_mutex(m, how, abstime));
	cls = lc__class_fast(&m->lk);
	if (m->lk.kind == LC__KIND_RECURSIVE &&
	    (i = lc__find_held(t, &m->lk)) >= 0)
		return mutex_relock(t, m, i, how, abstime, &at, CALLER);
	err = pthread_mutex_trylock(&m->pm);
	if (err == EBUSY && how != HOW_TRY)
		return mutex_wait(t, m, cls, how, abstime, &at, CALLER);
	if (err)
		return err;
	chain = lc__chain_of(t, cls, LC__WRITE);
	if (how != HOW_TRY && t->nheld && !(cls && lc__validated(t, chain)))
		lc__validate(t, &m->lk, cls, LC__WRITE, chain, &at, CALLER);
	lc__count_free(t, cls);
	push(t, &m->lk, cls, &at, LC__WRITE, how == HOW_TRY, chain);
	return 0;
}

/* Releases lk in t's stack; EPERM (and a report) when t does not hold it,
 * in which case the caller must leave the lock alone. */
LC__HOT int release(struct lc__thread *t, struct lc__lock *lk,
		   const char *file, int line, const char *func, const void *ra,
		   const char *what)
{
	int i;

	if (lc__pop_top(t, lk))
		return 0;
	i = lc__find_held(t, lk);
	if (i < 0 && t->untracked) {
		t->untracked--; /* one that did not fit in the stack */
		return 0;
	}
	if (i < 0 && unchecked) {
		unchecked--; /* taken while the state could not be made */
		return 0;
	}
	if (i < 0) {
		struct lc__site at = { file, line, func };

		lc__report_unlock_not_held(t, lk, &at, ra, what);
		return EPERM;
	}
	if (t->held[i].depth > 1)
		t->held[i].depth--;
	else
		lc__pop_held(t, i);
	return 0;
}

int lc__mutex_unlock(lc_mutex_t *m, const char *file, int line,
		     const char *func)
{
	struct lc__thread *t;
	int err;

	if (!m)
		return EINVAL;
	t = lc__self();
	if (!t) {
		unchecked -= unchecked > 0;
		return pthread_mutex_unlock(&m->pm);
	}
	err = release(t, &m->lk, file, line, func, CALLER, "unlocked");
	return err ? err : pthread_mutex_unlock(&m->pm);
}

int lc__mutex_destroy(lc_mutex_t *m, const char *file, int line,
		      const char *func)
{
	struct lc__site at = { file, line, func };
	struct lc__thread *t;
	int i, err;

	if (!m)
		return EINVAL;
	t = lc__self();
	i = t ? lc__find_held(t, &m->lk) : -1;
	if (i >= 0) {
		lc__report_destroy_held(t, &m->lk, &t->held[i], &at, CALLER);
		t->held[i].flags |= LC_HELD_DESTROY_REFUSED;
		return EBUSY;
	}
	err = pthread_mutex_trylock(&m->pm);
	if (err == EBUSY) {
		if (t)
			lc__report_destroy_held(t, &m->lk, NULL, &at, CALLER);
		return EBUSY;
	}
	if (!err)
		pthread_mutex_unlock(&m->pm);
	err = pthread_mutex_destroy(&m->pm);
	if (!err)
		lock_forget(&m->lk);
	return err;
}

int lc__mutex_set_order(lc_mutex_t *m, uint64_t key)
{
	if (!m)
		return EINVAL;
	m->lk.order = key;
	m->lk.has_order = 1;
	return 0;
}

/* ---- rwlocks ---- */

int lc__rwlock_init(lc_rwlock_t *l, const char *name, struct lc__key *key,
		    int kind)
{
	int err;

	if (!l)
		return EINVAL;
	err = pthread_rwlock_init(&l->prw, NULL);
	if (!err)
		lock_init(&l->lk, name, key, kind, CALLER);
	return err;
}

static int try_rwlock(lc_rwlock_t *l, bool write)
{
	return write ? pthread_rwlock_trywrlock(&l->prw)
		     : pthread_rwlock_tryrdlock(&l->prw);
}

static int block_rwlock(lc_rwlock_t *l, bool write)
{
	return write ? pthread_rwlock_wrlock(&l->prw)
		     : pthread_rwlock_rdlock(&l->prw);
}

/* The caller already holds l (held entry i). */
static int rwlock_relock(struct lc__thread *t, lc_rwlock_t *l, int i,
			 bool write, bool trylock, const struct lc__site *at,
			 const void *ra)
{
	int err;

	if (!write && t->held[i].mode == LC__READ) {
		/* Recursive read: readers never wait for readers here. */
		err = trylock ? try_rwlock(l, false) : block_rwlock(l, false);
		if (!err)
			t->held[i].depth++;
		return err;
	}
	if (trylock)
		return EBUSY;
	lc__report_recursive(t, &l->lk, &t->held[i],
			     write ? LC__WRITE : LC__READ, at, ra);
	return EDEADLK;
}

/* l was busy: report a self-deadlock, or validate and block. */
static int rwlock_wait(struct lc__thread *t, lc_rwlock_t *l,
		       struct lc__class *cls, bool write,
		       const struct lc__site *at, const void *ra)
{
	int i = lc__find_held(t, &l->lk), err;
	uint8_t mode = write ? LC__WRITE : LC__READ;
	uint64_t start, chain;

	if (i >= 0)
		return rwlock_relock(t, l, i, write, false, at, ra);
	chain = lc__chain_of(t, cls, mode);
	if (t->nheld)
		lc__validate(t, &l->lk, cls, mode, chain, at, ra);
	start = now_ns();
	err = block_rwlock(l, write);
	if (!err) {
		lc__count(t, cls, true, now_ns() - start);
		push(t, &l->lk, cls, at, mode, false, chain);
	}
	return err;
}

/* As lc__mutex_lock; a read lock is looked up first, since a reader's
 * trylock succeeds on a lock it already holds for reading. */
int lc__rwlock_lock(lc_rwlock_t *l, int write, int trylock, const char *file,
		    int line, const char *func)
{
	struct lc__site at = { file, line, func };
	uint8_t mode = write ? LC__WRITE : LC__READ;
	struct lc__thread *t;
	struct lc__class *cls;
	uint64_t chain;
	int i, err;

	if (!l)
		return EINVAL;
	t = lc__self();
	if (!t)
		return counted_unchecked(trylock ? try_rwlock(l, write)
						 : block_rwlock(l, write));
	cls = lc__class_fast(&l->lk);
	if (!write && (i = lc__find_held(t, &l->lk)) >= 0)
		return rwlock_relock(t, l, i, write, trylock, &at, CALLER);
	err = try_rwlock(l, write);
	if (err == EBUSY && !trylock)
		return rwlock_wait(t, l, cls, write, &at, CALLER);
	if (err == EDEADLK && !trylock) /* glibc: we hold it for writing */
		return rwlock_wait(t, l, cls, write, &at, CALLER);
	if (err)
		return err == EDEADLK ? EBUSY : err;
	chain = lc__chain_of(t, cls, mode);
	if (!trylock && t->nheld && !(cls && lc__validated(t, chain)))
		lc__validate(t, &l->lk, cls, mode, chain, &at, CALLER);
	lc__count_free(t, cls);
	push(t, &l->lk, cls, &at, mode, trylock, chain);
	return 0;
}

int lc__rwlock_unlock(lc_rwlock_t *l, const char *file, int line,
		      const char *func)
{
	struct lc__thread *t;
	int err;

	if (!l)
		return EINVAL;
	t = lc__self();
	if (!t) {
		unchecked -= unchecked > 0;
		return pthread_rwlock_unlock(&l->prw);
	}
	err = release(t, &l->lk, file, line, func, CALLER, "unlocked");
	return err ? err : pthread_rwlock_unlock(&l->prw);
}

int lc__rwlock_destroy(lc_rwlock_t *l, const char *file, int line,
		       const char *func)
{
	struct lc__site at = { file, line, func };
	struct lc__thread *t;
	int i, err;

	if (!l)
		return EINVAL;
	t = lc__self();
	i = t ? lc__find_held(t, &l->lk) : -1;
	if (i >= 0) {
		lc__report_destroy_held(t, &l->lk, &t->held[i], &at, CALLER);
		t->held[i].flags |= LC_HELD_DESTROY_REFUSED;
		return EBUSY;
	}
	err = pthread_rwlock_trywrlock(&l->prw);
	if (err == EBUSY) {
		if (t)
			lc__report_destroy_held(t, &l->lk, NULL, &at, CALLER);
		return EBUSY;
	}
	if (!err)
		pthread_rwlock_unlock(&l->prw);
	err = pthread_rwlock_destroy(&l->prw);
	if (!err)
		lock_forget(&l->lk);
	return err;
}

int lc__rwlock_set_order(lc_rwlock_t *l, uint64_t key)
{
	if (!l)
		return EINVAL;
	l->lk.order = key;
	l->lk.has_order = 1;
	return 0;
}

/* ---- condition variables ---- */

/* The mutex a condition wait gives back, to record again when the wait
 * returns, or when it is cancelled (glibc takes the mutex again before the
 * cancellation handlers run, and they usually unlock it). */
struct rewait {
	struct lc__thread *t;
	lc_mutex_t *m;
	struct lc__class *cls;
	struct lc__site at;
	uint32_t depth;
	uint64_t chain; /* of the stack with the mutex back on top */
};

static void retake_after_wait(void *arg)
{
	struct rewait *w = arg;
	uint32_t i = w->t->nheld;

	push(w->t, &w->m->lk, w->cls, &w->at, LC__WRITE, false, w->chain);
	if (w->t->nheld > i)
		w->t->held[i].depth = w->depth;
}

int lc__cond_wait(lc_cond_t *c, lc_mutex_t *m, const struct timespec *abstime,
		  const char *file, int line, const char *func)
{
	struct rewait w = { lc__self(), m, NULL, { file, line, func }, 0, 0 };
	int i, err;

	if (!c || !m)
		return EINVAL;
	if (!w.t)
		return abstime ? pthread_cond_timedwait(&c->pc, &m->pm, abstime)
			       : pthread_cond_wait(&c->pc, &m->pm);
	w.cls = lc__class_fast(&m->lk);
	i = lc__find_held(w.t, &m->lk);
	if (i < 0 && unchecked) /* taken unchecked: wait unchecked */
		return abstime ? pthread_cond_timedwait(&c->pc, &m->pm, abstime)
			       : pthread_cond_wait(&c->pc, &m->pm);
	if (i < 0) {
		lc__report_unlock_not_held(w.t, &m->lk, &w.at, CALLER,
					   "waited on (lc_cond_wait)");
		return EPERM;
	}
	/* The wait releases the mutex and takes it again: for the checker
	 * the re-acquisition happens under whatever else is still held, and
	 * it is validated now, before the wait can block. */
	w.depth = w.t->held[i].depth;
	lc__pop_held(w.t, i);
	w.chain = lc__chain_of(w.t, w.cls, LC__WRITE);
	if (w.t->nheld)
		lc__validate(w.t, &m->lk, w.cls, LC__WRITE, w.chain, &w.at,
			     CALLER);
	pthread_cleanup_push(retake_after_wait, &w);
	err = abstime ? pthread_cond_timedwait(&c->pc, &m->pm, abstime)
		      : pthread_cond_wait(&c->pc, &m->pm);
	pthread_cleanup_pop(1);
	return err;
}

/* Like lc_cond_init with a clock: condvars are not checked, so this is
 * the plain build's call (mode_off.c), for the checked library. */
int lc_cond_init_clock(lc_cond_t *c, clockid_t clock)
{
	pthread_condattr_t attr;
	int err;

	if (!c)
		return EINVAL;
	err = pthread_condattr_init(&attr);
	if (err)
		return err;
	err = pthread_condattr_setclock(&attr, clock);
	if (!err)
		err = pthread_cond_init(&c->pc, &attr);
	pthread_condattr_destroy(&attr);
	return err;
}

/* ---- assertions ---- */

void lc__assert_held(struct lc__lock *lk, int want_held, const char *file,
		     int line, const char *func)
{
	struct lc__thread *t = lc__self();
	struct lc__site at = { file, line, func };
	bool held;

	if (!t || !lk)
		return;
	held = lc__find_held(t, lk) >= 0;
	if (held == (bool)want_held || (!held && (t->untracked || unchecked)))
		return; /* right, or cannot tell */
	lc__report_assert(t, lk, want_held, &at, CALLER);
}
