/*
 * race_clock.c: vector clocks of threads, locks and condvars, and the
 * order thread create and join give (race.h has the model).
 *
 * Slots are never reused, so an epoch names one thread for the life of
 * the process. Invariants: a thread's own entry is at least 1 (an epoch
 * of clock 0 would be ordered before everything); a clock only grows. A
 * table that cannot grow turns happens-before off with a limit finding
 * (a lost order would be a false report; a lost check is only a miss).
 */
#define _GNU_SOURCE
#include "race.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SLOTS (1u << 16)
#define LINE	  64u /* bytes of a cache line */

_Atomic bool lc__race_on;
_Atomic bool lc__race_hb_off;
_Atomic bool lc__race_off;
pthread_mutex_t lc__race_mu = PTHREAD_MUTEX_INITIALIZER;

struct slot {
	struct lc__race_thread *rt; /* NULL once the thread ended */
	char name[LC_TEXT_MAX + 2]; /* raw (lc__copy_name) */
	int tid;
};

/* Keyed by address: locks, condvars, ended threads (by pthread_t). Each
 * entry is allocated alone, so a pointer to it stays valid (threads
 * cache them) until it is deleted, which only ended threads' are. */
struct table {
	struct lc__u64map index; /* key -> position in items */
	struct lc__race_sync **items;
	uint32_t n, cap;
};

static struct slot *slots;
static uint32_t nslots, slots_cap;
static struct table locks, conds, ended;
_Thread_local struct lc__race_thread *lc__race_tls
	__attribute__((tls_model("initial-exec")));
_Atomic(const char *) lc__race_limit_pending, lc__race_stop_pending;

/*
 * Around a fork the forking thread holds every lock of the race checker,
 * so the child gets its state consistent. The core's fork hooks call
 * these with lc__slow held: the dump at exit takes lc__slow and then the
 * inventory's mutex, and a fork must take them in that order too. The
 * mutexes are plain ones, whose unlock glibc does not tie to the owner's
 * thread id: the child lets them go. Not the rwlock: glibc takes an unlock
 * for a writer's only when the writer's id is the caller's, and the
 * child's thread has a new id, so the child starts it afresh instead.
 * Signals stay blocked in between: a handler's race call would wait for
 * what its thread holds.
 */
static _Thread_local sigset_t fork_mask;

void lc__race_fork_prepare(void)
{
	lc__block_signals(&fork_mask);
	lc__race_defer_fork_lock(1);
	pthread_rwlock_wrlock(&lc__guards_lock);
	lc__inventory_fork_lock(true);
	pthread_mutex_lock(&lc__race_mu);
	lc__shadow_fork_lock(true);
}

void lc__race_fork_parent(void)
{
	lc__shadow_fork_lock(false);
	pthread_mutex_unlock(&lc__race_mu);
	lc__inventory_fork_lock(false);
	pthread_rwlock_unlock(&lc__guards_lock);
	lc__race_defer_fork_lock(0);
	pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
}

/* glibc's rwlock unlock tells a writer by its thread id, which the
 * child's thread does not share: the unlock alone would leave the lock
 * held. It still comes first, so that ThreadSanitizer sees the lock
 * released; then the lock is made anew, unheld (the child has one
 * thread). */
void lc__race_fork_child(void)
{
	static const pthread_rwlock_t fresh = PTHREAD_RWLOCK_INITIALIZER;

	lc__shadow_fork_lock(false);
	pthread_mutex_unlock(&lc__race_mu);
	lc__inventory_fork_lock(false);
	pthread_rwlock_unlock(&lc__guards_lock);
	memcpy(&lc__guards_lock, &fresh, sizeof(fresh));
	lc__race_defer_fork_lock(-1);
	pthread_sigmask(SIG_SETMASK, &fork_mask, NULL);
}

_Atomic bool lc__race_armed;

_Atomic uint32_t lc__race_gate = LC__GATE_UNARMED;

static void arm_once(void)
{
	lc__init();
	if (!lc__cfg.dump && !atomic_load(&lc__race_off) &&
	    !atomic_load(&lc__race_hb_off))
		atomic_fetch_and(&lc__race_gate, ~LC__GATE_UNARMED);
	atomic_store_explicit(&lc__race_armed, true, memory_order_release);
}

void lc__race_arm_slow(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, arm_once);
}

void lc__race_start(void)
{
	if (lc__race_active())
		return;
	lc__race_arm();
	atomic_store(&lc__race_on, true);
}

void lc__race_limit(const char *what)
{
	atomic_fetch_or(&lc__race_gate, LC__GATE_STOPPED);
	atomic_store(&lc__race_hb_off, true);
	atomic_store(&lc__race_limit_pending, what);
}

void lc__race_stop(const char *what)
{
	atomic_fetch_or(&lc__race_gate, LC__GATE_STOPPED);
	atomic_store(&lc__race_off, true);
	atomic_store(&lc__race_stop_pending, what);
}

/* Every access asks: loads first, an exchange (a locked instruction)
 * only for a finding pending. One set meanwhile is taken by a later
 * call. */
const char *lc__race_take_limit(bool *all)
{
	const char *what = NULL;

	if (atomic_load_explicit(&lc__race_stop_pending, memory_order_relaxed))
		what = atomic_exchange(&lc__race_stop_pending, NULL);
	*all = what != NULL;
	if (!what &&
	    atomic_load_explicit(&lc__race_limit_pending, memory_order_relaxed))
		what = atomic_exchange(&lc__race_limit_pending, NULL);
	return what;
}

/* Memory of n bytes, zeroed, on cache lines of its own: the clocks of
 * one thread are written often, and must not share a line with another
 * thread's (false sharing would slow both). NULL when out of memory. */
static void *line_alloc(size_t n)
{
	size_t size = (n + LINE - 1) / LINE * LINE;
	void *p = aligned_alloc(LINE, size);

	if (p)
		memset(p, 0, size);
	return p;
}

/* Entries a clock of n has room for: whole cache lines. */
static uint32_t vc_room(uint32_t n)
{
	uint32_t per_line = LINE / sizeof(uint32_t);

	return (n + per_line - 1) / per_line * per_line;
}

static bool vc_grow(struct lc__vc *v, uint32_t n)
{
	uint32_t *c;

	if (n <= v->n)
		return true;
	if (v->c && n <= vc_room(v->n)) { /* zero past n already */
		v->n = n;
		return true;
	}
	c = line_alloc((size_t)vc_room(n) * sizeof(*c));
	if (!c)
		return false;
	if (v->n)
		memcpy(c, v->c, v->n * sizeof(*c));
	free(v->c);
	v->c = c;
	v->n = n;
	return true;
}

/* dst = max(dst, src); false (dst unchanged) when dst cannot grow.
 * *raised: some entry of dst grew; *above: some entry of dst was above
 * src's (either may be NULL). */
static bool vc_join_how(struct lc__vc *dst, const struct lc__vc *src,
			bool *raised, bool *above)
{
	bool r = false, a = false;

	if (!vc_grow(dst, src->n))
		return false;
	for (uint32_t i = 0; i < src->n; i++) {
		if (src->c[i] > dst->c[i]) {
			dst->c[i] = src->c[i];
			r = true;
		} else if (src->c[i] < dst->c[i]) {
			a = true;
		}
	}
	if (raised)
		*raised = r;
	if (above)
		*above = a || dst->n > src->n;
	return true;
}

static bool vc_join(struct lc__vc *dst, const struct lc__vc *src)
{
	return vc_join_how(dst, src, NULL, NULL);
}

static void join_or_stop(struct lc__vc *dst, const struct lc__vc *src)
{
	if (!vc_join(dst, src))
		lc__race_limit("race clocks: out of memory");
}

/* Joins src into the thread's own clock: a change of another thread's
 * entry gives the thread a new stamp. */
static void join_into_thread(struct lc__race_thread *rt,
			     const struct lc__vc *src)
{
	bool raised;

	if (!vc_join_how(&rt->vc, src, &raised, NULL))
		lc__race_limit("race clocks: out of memory");
	else if (raised)
		rt->stamp++;
}

struct lc__race_thread *lc__race_self(void)
{
	struct lc__race_thread *rt = lc__race_tls;
	struct slot *s;

	if (rt)
		return rt;
	if (nslots == MAX_SLOTS) {
		lc__race_limit("race threads: more than 65536");
		return NULL;
	}
	if (nslots == slots_cap) {
		uint32_t cap = slots_cap ? slots_cap * 2 : 16;

		s = realloc(slots, cap * sizeof(*s));
		if (!s) {
			lc__race_limit("race threads: out of memory");
			return NULL;
		}
		slots = s;
		slots_cap = cap;
	}
	rt = line_alloc(sizeof(*rt));
	if (!rt || !vc_grow(&rt->vc, nslots + 1)) {
		free(rt);
		lc__race_limit("race threads: out of memory");
		return NULL;
	}
	rt->slot = nslots;
	rt->vc.c[rt->slot] = 1;
	slots[nslots++] = (struct slot){ rt, "?", 0 };
	lc__race_tls = rt;
	return rt;
}

const char *lc__race_slot_name(uint32_t slot, int *tid)
{
	assert(slot < nslots);
	*tid = slots[slot].tid;
	return slots[slot].name;
}

void lc__race_name_slot(uint32_t slot, const char *name, int tid)
{
	assert(slot < nslots);
	lc__copy_name(slots[slot].name, sizeof(slots[slot].name), name);
	slots[slot].tid = tid;
}

/* The entry for key, made when make is true (NULL: absent, or no memory,
 * which then stops happens-before). */
static struct lc__race_sync *table_get(struct table *t, uint64_t key, bool make)
{
	struct lc__race_sync *s;
	uint32_t i;

	if (lc__u64map_get(&t->index, key, &i))
		return t->items[i];
	if (!make)
		return NULL;
	if (t->n == t->cap) {
		uint32_t cap = t->cap ? t->cap * 2 : 64;
		struct lc__race_sync **items =
			realloc(t->items, cap * sizeof(*items));

		if (!items)
			goto full;
		t->items = items;
		t->cap = cap;
	}
	s = line_alloc(sizeof(*s));
	if (!s || lc__u64map_put(&t->index, key, t->n)) {
		free(s);
		goto full;
	}
	s->key = key;
	t->items[t->n++] = s;
	return s;
full:
	lc__race_limit("race sync objects: out of memory");
	return NULL;
}

/* Removes key's entry, moving the last one into its place. */
static void table_del(struct table *t, uint64_t key)
{
	uint32_t i;

	if (!lc__u64map_get(&t->index, key, &i))
		return;
	free(t->items[i]->w.c);
	free(t->items[i]->r.c);
	free(t->items[i]);
	lc__u64map_del(&t->index, key);
	if (i != --t->n) {
		t->items[i] = t->items[t->n];
		/* replaces an entry: needs no memory */
		lc__u64map_put(&t->index, t->items[i]->key, i);
	}
}

static void tick(struct lc__race_thread *rt)
{
	rt->vc.c[rt->slot]++;
}

/* The lock's clocks, started afresh for a new instance at its address.
 * Under lc__race_mu. */
static struct lc__race_sync *lock_sync(struct lc__lock *lk, uint64_t id,
				       bool make)
{
	struct lc__race_sync *s = table_get(&locks, (uintptr_t)lk, make);

	if (s && atomic_load_explicit(&s->id, memory_order_relaxed) != id) {
		atomic_store_explicit(&s->id, id, memory_order_relaxed);
		s->w.n = 0;
		s->r.n = 0;
		s->w_by = 0;
	}
	return s;
}

static __attribute__((noinline)) struct lc__race_sync *
lock_clocks_slow(struct lc__lock *lk, uint64_t id, bool make,
		 struct lc__race_thread **rtp)
{
	struct lc__race_sync *s;

	pthread_mutex_lock(&lc__race_mu);
	*rtp = lc__race_self();
	s = *rtp ? lock_sync(lk, id, make) : NULL;
	pthread_mutex_unlock(&lc__race_mu);
	if (s)
		atomic_store_explicit(&lk->race, s, memory_order_release);
	return s;
}

/* The calling thread's state and lk's clocks (made when make): the lock
 * keeps a pointer to them (lk->race), checked against its address and
 * instance; else they are looked up under lc__race_mu. */
static inline struct lc__race_sync *lock_clocks(struct lc__lock *lk, bool make,
						struct lc__race_thread **rtp)
{
	struct lc__race_sync *s = lc__race_sync_of(lk);

	*rtp = lc__race_tls;
	if (*rtp && s)
		return s;
	return lock_clocks_slow(lk, lc__id_fast(lk), make, rtp);
}

/*
 * The hooks run while the caller holds lk: after its acquisition, before
 * its release. So a write release and any acquisition touch the clocks of
 * a lock no other thread holds in a conflicting mode, and need no global
 * lock: only read releases, which may run in several threads at once, join
 * into the read clock under lc__race_mu. A thread's own clock is only its
 * own thread's.
 */
void lc__race_acquire_slow(struct lc__lock *lk, uint8_t mode)
{
	struct lc__race_thread *rt;
	struct lc__race_sync *s;

	if (atomic_load_explicit(&lc__race_hb_off, memory_order_relaxed))
		return;
	s = lock_clocks(lk, false, &rt);
	if (!s)
		return;
	if (!lc__race_released_last(rt, s))
		join_into_thread(rt, &s->w);
	if (mode == LC__WRITE && s->r.n)
		join_into_thread(rt, &s->r);
}

/*
 * A write release makes w the thread's clock: the acquisition joined w
 * in, so the thread's clock is at least w unless a table could not grow.
 * When the thread released w last and its clock has had no other entry
 * raised since (same stamp), only its own entry differs: one store.
 */
void lc__race_release_slow(struct lc__lock *lk, uint8_t mode)
{
	struct lc__race_thread *rt;
	struct lc__race_sync *s;
	bool above;

	if (atomic_load_explicit(&lc__race_hb_off, memory_order_relaxed))
		return;
	s = lock_clocks(lk, true, &rt);
	if (!s)
		return;
	if (lc__race_release_is_one_store(rt, s, mode)) {
		lc__race_release_one(rt, s);
		return;
	}
	if (mode == LC__WRITE) {
		if (!vc_join_how(&s->w, &rt->vc, NULL, &above)) {
			lc__race_limit("race clocks: out of memory");
			s->w_by = 0;
		} else {
			s->w_by = above ? 0 : rt->slot + 1;
			s->w_stamp = rt->stamp;
		}
	} else {
		pthread_mutex_lock(&lc__race_mu);
		join_or_stop(&s->r, &rt->vc);
		pthread_mutex_unlock(&lc__race_mu);
	}
	tick(rt);
}

void lc__race_signal(const void *cond)
{
	struct lc__race_thread *rt;
	struct lc__race_sync *s;

	if (atomic_load_explicit(&lc__race_hb_off, memory_order_relaxed))
		return;
	pthread_mutex_lock(&lc__race_mu);
	rt = lc__race_self();
	s = rt ? table_get(&conds, (uintptr_t)cond, true) : NULL;
	if (s) {
		join_or_stop(&s->w, &rt->vc);
		tick(rt);
	}
	pthread_mutex_unlock(&lc__race_mu);
}

void lc__race_wakeup(const void *cond)
{
	struct lc__race_thread *rt;
	struct lc__race_sync *s;

	if (atomic_load_explicit(&lc__race_hb_off, memory_order_relaxed))
		return;
	pthread_mutex_lock(&lc__race_mu);
	rt = lc__race_self();
	s = rt ? table_get(&conds, (uintptr_t)cond, false) : NULL;
	if (s)
		join_into_thread(rt, &s->w);
	pthread_mutex_unlock(&lc__race_mu);
}

struct lc__vc *lc__race_fork(void)
{
	struct lc__race_thread *rt;
	struct lc__vc *v;

	if (!lc__race_active() ||
	    atomic_load_explicit(&lc__race_hb_off, memory_order_relaxed))
		return NULL;
	v = calloc(1, sizeof(*v));
	if (!v) { /* the create goes on without order */
		lc__race_limit("race clocks: out of memory");
		return NULL;
	}
	pthread_mutex_lock(&lc__race_mu);
	rt = lc__race_self();
	if (rt && vc_join(v, &rt->vc))
		tick(rt);
	else if (rt)
		lc__race_limit("race clocks: out of memory");
	pthread_mutex_unlock(&lc__race_mu);
	return v;
}

void lc__race_born(struct lc__vc *from)
{
	struct lc__race_thread *rt;

	if (!from)
		return;
	pthread_mutex_lock(&lc__race_mu);
	rt = lc__race_self();
	if (rt)
		join_into_thread(rt, from);
	pthread_mutex_unlock(&lc__race_mu);
	lc__race_unborn(from);
}

void lc__race_unborn(struct lc__vc *from)
{
	if (from)
		free(from->c);
	free(from);
}

static uint64_t thread_key(pthread_t th)
{
	uint64_t k = 0;

	memcpy(&k, &th, sizeof(th) < sizeof(k) ? sizeof(th) : sizeof(k));
	return k;
}

void lc__race_thread_end(void)
{
	struct lc__race_thread *rt = lc__race_tls;
	struct lc__race_sync *s;

	if (!rt)
		return;
	pthread_mutex_lock(&lc__race_mu);
	s = table_get(&ended, thread_key(pthread_self()), true);
	if (s) { /* a pthread_t in use again: the older record is joined */
		free(s->w.c);
		s->w = rt->vc;
		rt->vc = (struct lc__vc){ NULL, 0 };
	}
	slots[rt->slot].rt = NULL;
	free(rt->vc.c);
	free(rt);
	lc__race_tls = NULL;
	pthread_mutex_unlock(&lc__race_mu);
}

void lc__race_joined(pthread_t th)
{
	struct lc__race_thread *rt;
	struct lc__race_sync *s;
	uint64_t key = thread_key(th);

	if (!lc__race_active())
		return;
	pthread_mutex_lock(&lc__race_mu);
	s = table_get(&ended, key, false);
	rt = s ? lc__race_self() : NULL;
	if (rt) {
		join_into_thread(rt, &s->w);
		table_del(&ended, key);
	}
	pthread_mutex_unlock(&lc__race_mu);
}
