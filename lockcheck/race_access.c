/*
 * race_access.c: the race API's entry points: declarations, accesses,
 * hand-overs. An access is checked first against the declarations that
 * cover any of its bytes (the guard must be held by the calling thread,
 * exclusively for a write), under lc__guards_lock for reading; an access
 * no declaration covers is checked against the shadow's history by
 * happens-before. The common cases take a fast path with no lock (see
 * fast()). The finding is written after every lock is let go
 * (race_report.c).
 */
#define _GNU_SOURCE
#include "core.h"
#include "race.h"
#include "race_cell.h"
#include "race_report.h"

#include <string.h>

/* [ptr, ptr + size) as addresses; false for NULL, 0 or a wrapping range. */
static bool range_of(const volatile void *ptr, size_t size, uintptr_t *lo,
		     uintptr_t *hi)
{
	*lo = (uintptr_t)ptr;
	*hi = *lo + size;
	return ptr && size && *hi > *lo;
}

/*
 * Every entry point goes through lc__enter, as the lock calls do: a call
 * from a signal handler that interrupted its thread inside the checker,
 * which may hold any race lock, takes none. There lc_guard refuses
 * (EAGAIN), lc_unguard and lc_handoff are deferred (race_defer.c) and an
 * access is not checked: each can only miss, never report falsely. A
 * thread whose state cannot be allocated still makes its call, marked
 * inside meanwhile (lc__inside_stateless) for its own handlers.
 */
struct entry {
	struct lc__thread *t;
	unsigned char stateless; /* the flag's value before */
};

static bool enter(struct entry *e)
{
	e->t = lc__enter();
	if (!e->t) {
		if (lc__reentered())
			return false;
		e->stateless = lc__inside_stateless;
		lc__inside_stateless = 1;
		atomic_signal_fence(memory_order_seq_cst);
	}
	lc__race_arm();
	lc__race_apply();
	return true;
}

static void leave(struct entry *e)
{
	if (e->t) {
		lc__leave(e->t);
	} else {
		atomic_signal_fence(memory_order_seq_cst);
		lc__inside_stateless = e->stateless;
	}
}

/* The finding of a limit reached since, if any: after the race locks. */
static void report_limit(void)
{
	bool all;
	const char *what;

	if (!lc__race_limit_maybe())
		return;
	what = lc__race_take_limit(&all);
	if (what)
		lc__race_report_limit(what, all);
}

int lc__guard(const volatile void *ptr, size_t size, struct lc__lock *lk,
	      const char *text, const char *file, int line, const char *func)
{
	struct lc__guard_decl d = { .lk = lk, .at = { file, line, func } };
	struct lc__class *cls;
	struct entry e;
	int err;

	if (!lk || !range_of(ptr, size, &d.lo, &d.hi))
		return EINVAL;
	if (!enter(&e))
		return EAGAIN;
	cls = lc__class_fast(lk);
	d.id = lc__id_fast(lk);
	d.cls = cls;
	d.name = cls ? cls->name : text;
	pthread_rwlock_wrlock(&lc__guards_lock);
	err = lc__guards_add(&d);
	pthread_rwlock_unlock(&lc__guards_lock);
	leave(&e);
	return err;
}

void lc__race_forget(uintptr_t lo, uintptr_t hi, bool unguard)
{
	if (unguard) {
		pthread_rwlock_wrlock(&lc__guards_lock);
		lc__guards_remove(lo, hi);
		pthread_rwlock_unlock(&lc__guards_lock);
		if (!lc__race_active())
			return;
	} else {
		lc__race_start();
	}
	lc__shadow_forget(lo, hi);
}

/* lc_unguard (unguard) or lc_handoff of [ptr, ptr + size). A note the
 * table cannot take stops race checking: a declaration or history kept
 * past its end could be reported against reused memory. */
static void forget(const volatile void *ptr, size_t size, bool unguard)
{
	struct entry e;
	uintptr_t lo, hi;

	if (!range_of(ptr, size, &lo, &hi))
		return;
	if (enter(&e)) {
		lc__race_forget(lo, hi, unguard);
		report_limit();
		leave(&e);
	} else if (!lc__race_defer(lo, hi, unguard)) {
		lc__race_stop("race: more than 128 lc_unguard or lc_handoff "
			      "calls of signal handlers pending");
	}
}

void lc__unguard(const volatile void *ptr, size_t size)
{
	forget(ptr, size, true);
}

void lc__handoff(const volatile void *ptr, size_t size)
{
	forget(ptr, size, false);
}

/* How t holds the lock a declaration names: 0 not at all, LC__READ + 1,
 * LC__WRITE + 1. A thread with locks it could not record may hold it:
 * it counts as held for writing (never a false report). */
static int hold_of(const struct lc__thread *t, const struct lc__guard_decl *d)
{
	int best = 0;

	for (uint32_t i = t->nheld; i-- > 0;) {
		const struct lc__held *h = &t->held[i];

		if (h->lk == d->lk && h->id == d->id && h->mode + 1 > best) {
			best = h->mode + 1;
			if (best == LC__WRITE + 1)
				return best;
		}
	}
	if (t->untracked || lc__unrecorded())
		return LC__WRITE + 1;
	return best;
}

/* Pointers into the declarations: valid while they are looked at. */
struct guard_check {
	const struct lc__thread *t;
	bool write;
	bool read_held;			    /* miss: held, only for reading */
	const struct lc__guard_decl *first; /* the first covering, or NULL */
	const struct lc__guard_decl *miss;  /* the first broken, or NULL */
};

static bool check_guard(const struct lc__guard_decl *d, void *arg)
{
	struct guard_check *gc = arg;
	int hold = hold_of(gc->t, d);

	if (!gc->first)
		gc->first = d;
	if (hold == LC__WRITE + 1 || (hold && !gc->write))
		return true;
	gc->miss = d;
	gc->read_held = hold == LC__READ + 1;
	return false;
}

/* The verdict and inventory of gc, while its declarations are valid. */
static void conclude(const struct guard_check *gc, struct lc__thread *t,
		     const struct lc__race_access *a, uintptr_t lo,
		     uintptr_t hi, struct lc__race_verdict *v)
{
	if (gc->miss) {
		v->kind = LC__RACE_GUARD;
		v->miss = (struct lc__race_guard_miss){ *gc->miss,
							gc->read_held };
	}
	if (lc__cfg.dump)
		lc__inventory_note(t, lo, hi, a->write, &a->at, gc->first,
				   t->tid);
}

/* The locks t holds, as an access records them. */
static void note_held(const struct lc__thread *t, struct lc__race_access *a)
{
	a->nheld = t->nheld > 255 ? 255 : (uint8_t)t->nheld;
	for (uint32_t i = 0; i < t->nheld && i < 2; i++)
		a->held[i] = t->held[i].cls;
}

/* The thread's last lookups: the declarations of a range, while the
 * declarations have not changed (lc__guards_gen), when there are at most
 * CACHED_DECLS of them. */
#define LOOKUPS	     8
#define CACHED_DECLS 2
struct lookup {
	uint64_t gen; /* 0: empty (the generation starts at 1) */
	uintptr_t lo, hi;
	uint32_t n;
	struct lc__granule *g; /* n 0, in one granule: it, once known */
	struct lc__guard_decl d[CACHED_DECLS];
};
/* One thread-local object, not two: gold, Bazel's linker, swaps the
 * initial-exec GOT entries of two static thread-locals of one object. */
static _Thread_local struct {
	struct lookup entry[LOOKUPS];
	/* How many times the thread filled one: a signal handler's access
	 * may refill the one the access it interrupted had looked at. */
	uint32_t filled;
} lookups __attribute__((tls_model("initial-exec")));

static struct lookup *lookup_of(uintptr_t lo)
{
	return &lookups.entry[(lo >> 3) % LOOKUPS];
}

static bool remember(const struct lc__guard_decl *d, void *arg)
{
	struct lookup *l = arg;

	if (l->n < CACHED_DECLS)
		l->d[l->n] = *d;
	l->n++;
	return true;
}

/* The declarations of [lo, hi): cached, or looked up (and cached when
 * few). NULL when there are too many to cache: the caller looks. */
static const struct lookup *declarations(uintptr_t lo, uintptr_t hi)
{
	struct lookup *l = lookup_of(lo);
	uint64_t gen;

	/* A declaration changed by another thread while this one looks is
	 * the program's own race: either answer is one it could get. */
	gen = atomic_load_explicit(&lc__guards_gen, memory_order_acquire);
	if (l->gen == gen && l->lo == lo && l->hi == hi)
		return l;
	pthread_rwlock_rdlock(&lc__guards_lock);
	gen = atomic_load_explicit(&lc__guards_gen, memory_order_relaxed);
	*l = (struct lookup){ gen, lo, hi, 0, NULL, { { 0 } } };
	lookups.filled++;
	lc__guards_each(lo, hi, remember, l);
	pthread_rwlock_unlock(&lc__guards_lock);
	if (l->n <= CACHED_DECLS)
		return l;
	l->gen = 0;
	return NULL;
}

/* Whether t holds every guard of l as an access needs them (for a
 * write, exclusively): the common case, settled without a record. */
static bool guards_held(const struct lc__thread *t, const struct lookup *l,
			bool write)
{
	for (uint32_t i = 0; i < l->n; i++) {
		int hold = hold_of(t, &l->d[i]);

		if (hold != LC__WRITE + 1 && !(hold && !write))
			return false;
	}
	return true;
}

/* The verdict of the declarations on access a of [lo, hi) by t, l its
 * cached lookup or NULL; false when none covers it. The inventory notes
 * the access. */
static bool judge_guards(struct lc__thread *t, struct lc__race_access *a,
			 uintptr_t lo, uintptr_t hi, const struct lookup *l,
			 struct lc__race_verdict *v)
{
	struct guard_check gc = { t, a->write, false, NULL, NULL };

	if (l) {
		for (uint32_t i = 0; i < l->n && check_guard(&l->d[i], &gc);)
			i++;
		conclude(&gc, t, a, lo, hi, v);
	} else {
		pthread_rwlock_rdlock(&lc__guards_lock);
		lc__guards_each(lo, hi, check_guard, &gc);
		conclude(&gc, t, a, lo, hi, v);
		pthread_rwlock_unlock(&lc__guards_lock);
	}
	return gc.first != NULL;
}

/* The calling thread's clock, made (and its slot named) on its first
 * checked access; NULL when it cannot have one. */
static struct lc__race_thread *clock_of(struct lc__thread *t)
{
	struct lc__race_thread *rt = lc__race_self_fast();

	if (rt && rt->named)
		return rt;
	pthread_mutex_lock(&lc__race_mu);
	rt = lc__race_self();
	if (rt && !rt->named) {
		lc__race_name_slot(rt->slot, lc__thread_name(t), t->tid);
		rt->named = true;
	}
	pthread_mutex_unlock(&lc__race_mu);
	return rt;
}

/* The verdict of happens-before on access a of [lo, hi) by t. */
static void judge(struct lc__thread *t, struct lc__race_access *a, uintptr_t lo,
		  uintptr_t hi, struct lc__race_verdict *v)
{
	struct lc__race_thread *rt = clock_of(t);
	const char *name;

	if (!rt || atomic_load_explicit(&lc__race_hb_off, memory_order_relaxed))
		return;
	a->slot = rt->slot;
	a->clock = rt->vc.c[rt->slot];
	if (!lc__shadow_access(rt, a, lo, hi, &v->prior))
		return;
	v->kind = LC__RACE_UNORDERED;
	pthread_mutex_lock(&lc__race_mu);
	name = lc__race_slot_name(v->prior.slot, &v->prior_tid);
	lc__copy_name(v->prior_name, sizeof(v->prior_name), name);
	pthread_mutex_unlock(&lc__race_mu);
}

/*
 * The fast path: the common cases settled with loads and a few stores,
 * no lock, no record and no call: nothing pending, no dump asked for,
 * and the range's declarations cached. A declared access whose guards
 * the thread holds as it needs them is settled; an undeclared one within
 * a granule the thread hinted is checked and stored, unless a cell races
 * with it, which the slow path then reports. The helpers' false: take
 * the slow path (nothing was stored).
 */
#define LC__FAST static inline __attribute__((always_inline))
#define RA	 __builtin_return_address(0)

LC__FAST bool quiet(void)
{
	return !atomic_load_explicit(&lc__race_gate, memory_order_acquire);
}

/* Whether l is the declarations of [lo, lo + size) as they are now. A
 * cached lookup is of a valid range: lc__access needs no other check. */
LC__FAST bool cached(const struct lookup *l, uintptr_t lo, size_t size)
{
	return l->gen == atomic_load_explicit(&lc__guards_gen,
					      memory_order_acquire) &&
	       l->lo == lo && l->hi == lo + size;
}

/* Whether t holds every guard of l as a write (or a read) needs it. The
 * rarer answers (an untracked lock, a miss) are the slow path's. */
LC__FAST bool fast_guards_held(const struct lc__thread *t,
			       const struct lookup *l, bool write)
{
	for (uint32_t i = 0; i < l->n; i++) {
		const struct lc__guard_decl *d = &l->d[i];
		uint32_t j = t->nheld;

		while (j-- > 0) {
			const struct lc__held *h = &t->held[j];

			if (h->lk == d->lk && h->id == d->id &&
			    (h->mode == LC__WRITE || !write))
				break;
		}
		if (j == UINT32_MAX)
			return false;
	}
	return true;
}

/* Whether t's newest lock is d's guard, held as a write (or a read)
 * needs it: the commonest guard, checked with the fewest registers. */
LC__FAST bool top_guards(const struct lc__thread *t,
			 const struct lc__guard_decl *d, int write)
{
	const struct lc__held *h;

	if (!t || !t->nheld)
		return false;
	h = &t->held[t->nheld - 1];
	return h->lk == d->lk && h->id == d->id &&
	       (h->mode == LC__WRITE || !write);
}

/* The undeclared access [lo, lo + size) by t at site at, l its lookup.
 * A thread with a clock has turned happens-before on: it needs no other
 * check (a limit turns the fast path off). */
LC__FAST bool fast_undeclared(struct lc__thread *t, struct lookup *l,
			      uintptr_t lo, uint32_t size, bool write,
			      const struct lc__access_site *at)
{
	struct lc__race_thread *rt = lc__race_self_fast();
	const struct lc__class *held[2] = { NULL, NULL };
	unsigned off = lo % LC__GRANULE;
	unsigned bytes = lc__granule_bytes(off, off + size);
	struct lc__granule *g = l->g;
	uint64_t racy_c;
	uint32_t clock;
	int slot = 0; /* the scan sets it when it finds no race */

	if (!rt || !rt->named)
		return false;
	if (!g) {
		if (off + size > LC__GRANULE)
			return false;
		g = l->g = lc__granule_hinted(rt, lo / LC__GRANULE);
		if (!g)
			return false;
	}
	clock = rt->vc.c[rt->slot];
	if (lc__cells_scan(g, rt, write, bytes, clock, true, &slot, &racy_c) >=
	    0)
		return false;
	if (t->nheld)
		held[0] = t->held[0].cls;
	if (t->nheld > 1)
		held[1] = t->held[1].cls;
	lc__cell_store(g, slot, lc__cell_pack(rt->slot, clock, write, bytes),
		       at, held, t->nheld > 255 ? 255 : (uint8_t)t->nheld, lo,
		       size);
	return true;
}

/* The rest: lc__access past its fast path, ra its caller. */
static __attribute__((noinline)) void
access_slow(const volatile void *ptr, size_t size, int write,
	    const struct lc__access_site *at, const void *ra)
{
	struct lc__race_verdict v; /* only kind, until it says a race */
	struct lc__race_access a;  /* made past the settled cases */
	struct lc__thread *t;
	const struct lookup *l;
	uintptr_t lo, hi;
	bool undeclared = false;

	if (!range_of(ptr, size, &lo, &hi))
		return;
	v.kind = LC__RACE_NONE;
	t = lc__enter();
	if (!t)
		return;
	lc__race_arm();
	lc__race_apply();
	if (atomic_load_explicit(&lc__race_off, memory_order_relaxed))
		goto settled; /* checking stopped */
	l = declarations(lo, hi);
	/* Without an inventory to note, a declared access with its guards
	 * held has nothing to record, and an undeclared one goes straight
	 * to happens-before. */
	if (l && !lc__cfg.dump) {
		if (l->n && guards_held(t, l, write != 0))
			goto settled;
		undeclared = !l->n;
	}
	a = (struct lc__race_access){
		.at = { at->file, at->line, at->func },
		.site = at,
	};
	a.write = write != 0;
	a.addr = lo;
	a.size = hi - lo > UINT32_MAX ? UINT32_MAX : (uint32_t)(hi - lo);
	note_held(t, &a);
	/* Declared data needs no clocks: they start at the first access
	 * that no declaration covers. */
	if (undeclared || !judge_guards(t, &a, lo, hi, l, &v)) {
		lc__race_start();
		judge(t, &a, lo, hi, &v);
	}
	report_limit();
	if (v.kind != LC__RACE_NONE)
		lc__race_report(t, &a, &v, ra);
	lc__leave(t);
	return;
settled:
	report_limit();
	lc__leave(t);
}

/*
 * lc__access settles the commonest case itself, a guard that is the
 * newest lock held; the tiers below it take its arguments and its
 * caller ra and end in the slow path when they cannot settle the access.
 * Each is its caller's last step, a jump, so that lc__access needs no
 * saved register. A declared access only reads the thread's state, so
 * it needs no lc__enter: a signal handler that changes the state
 * meanwhile can only make it miss; an undeclared one stores cells, which
 * a handler's own access must not interleave with: inside the checker it
 * uses its lookup only if no handler filled one since lc__access looked
 * (filled: lookups.filled then).
 */

/* A declared access whose guards are not simply the newest lock. */
static __attribute__((noinline)) void
access_declared(const volatile void *ptr, size_t size, int write,
		const struct lc__access_site *at, const void *ra)
{
	const struct lc__thread *t = lc__tls;

	if (t && fast_guards_held(t, lookup_of((uintptr_t)ptr), write != 0))
		return;
	access_slow(ptr, size, write, at, ra);
}

static __attribute__((noinline)) void
access_undeclared(const volatile void *ptr, size_t size, int write,
		  const struct lc__access_site *at, const void *ra,
		  uint32_t filled)
{
	struct lc__thread *t = lc__enter_fast();
	bool done = false;

	if (t) {
		if (lookups.filled == filled)
			done = fast_undeclared(t, lookup_of((uintptr_t)ptr),
					       (uintptr_t)ptr, (uint32_t)size,
					       write != 0, at);
		lc__leave(t);
	}
	if (!done)
		access_slow(ptr, size, write, at, ra);
}

void lc__access(const volatile void *ptr, size_t size, int write,
		const struct lc__access_site *at)
{
	uintptr_t lo = (uintptr_t)ptr;
	const struct lookup *l = lookup_of(lo);
	uint32_t filled = lookups.filled;

	atomic_signal_fence(memory_order_acq_rel); /* filled read first */
	if (!quiet() || !cached(l, lo, size))
		access_slow(ptr, size, write, at, RA);
	else if (!l->n)
		access_undeclared(ptr, size, write, at, RA, filled);
	else if (l->n != 1 || !top_guards(lc__tls, &l->d[0], write))
		access_declared(ptr, size, write, at, RA);
}
