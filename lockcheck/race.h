/*
 * race.h: the race checker's parts and its hooks into the core.
 *
 * The model (FastTrack's, with ThreadSanitizer's shadow cells). Every
 * thread that takes part has a slot and a vector clock; an access is an
 * epoch (slot, the slot's clock then). A lock keeps the clock of its last
 * write release and the join of its read releases; an acquisition joins
 * them in (a read lock only the write release's). A condvar keeps the join
 * of its signals; a wait that returns joins it. A new thread starts from
 * its creator's clock; a join takes the ended thread's. Access A is
 * ordered before access B of another thread when A's clock is at most B's
 * thread's entry for A's slot.
 *
 * Nothing of this runs before the first access no declaration covers,
 * or the first hand-over (lc__race_on): order before it cannot matter,
 * since every access it could order comes after. Declared guards need
 * no clocks: a program that only declares pays only for its checks. The
 * tables (slots, lock and condvar clocks) live under lc__race_mu, a raw
 * mutex that is a leaf: nothing else is locked while it is held, and
 * findings are written after it is let go. The common cases take no lock:
 * a lock's clocks are touched only by its holder (a read release joins
 * under lc__race_mu), and the shadow's cells are atomic words.
 */
#ifndef LOCKCHECK_RACE_H
#define LOCKCHECK_RACE_H

#include "internal.h"

/* Set, never cleared, at the first undeclared access or lc_handoff. */
extern _Atomic bool lc__race_on;

static inline bool lc__race_active(void)
{
	return atomic_load_explicit(&lc__race_on, memory_order_relaxed);
}

/* Turns happens-before checking on (idempotent). */
void lc__race_start(void);

/* Readies the checker for the race calls (its settings read): before
 * the first declaration or access. Idempotent. */
extern _Atomic bool lc__race_armed;
void lc__race_arm_slow(void);

/* 0 when an access may take the fast path (race_access.c), one load for
 * it: LC__GATE_UNARMED until the checker is armed without a dump to
 * write; LC__GATE_STOPPED for good from a limit or a stop, whose finding
 * the slow path writes; the low bits count the notes of signal handlers
 * not applied yet (race_defer.c), which every race call applies first. */
#define LC__GATE_UNARMED (1u << 31)
#define LC__GATE_STOPPED (1u << 30)
#define LC__GATE_PENDING (LC__GATE_STOPPED - 1)
extern _Atomic uint32_t lc__race_gate;
static inline void lc__race_arm(void)
{
	if (!atomic_load_explicit(&lc__race_armed, memory_order_acquire))
		lc__race_arm_slow();
}

/* The race checker's part of the fork hooks (runtime.c), with lc__slow
 * held: the locks of the race checker are taken after it, as the dump
 * takes them. */
void lc__race_fork_prepare(void);
void lc__race_fork_parent(void);
void lc__race_fork_child(void);

extern pthread_mutex_t lc__race_mu;

/* A vector clock: c[i] for slot i < n; slots past n are 0. */
struct lc__vc {
	uint32_t *c;
	uint32_t n;
};

/* ---- race_clock.c (hooks: call them inside the checker) ---- */

/* A lock's or condvar's clocks. w_by: when nonzero, w is the clock of
 * the thread of slot w_by - 1 as it was at its stamp w_stamp, but for
 * that thread's own entry (struct lc__race_thread): set by a write
 * release that found its thread's clock at least w. */
struct lc__race_sync {
	uint64_t key;	     /* its table's key */
	_Atomic uint64_t id; /* the lock instance they belong to */
	struct lc__vc w, r;  /* write releases (signals); read releases */
	uint32_t w_by, w_stamp;
};

/* After an acquisition of lk in mode (LC__READ or LC__WRITE); before the
 * release of a hold of lk in mode. Their common cases are inline below. */
void lc__race_acquire_slow(struct lc__lock *lk, uint8_t mode);
void lc__race_release_slow(struct lc__lock *lk, uint8_t mode);

/* A signal or broadcast of the condvar at cond; a wait on it returned. */
void lc__race_signal(const void *cond);
void lc__race_wakeup(const void *cond);

/* The creator's clock for a new thread (malloc'd; NULL when off or out
 * of memory), which the new thread adopts (lc__race_born) or which is
 * freed when the create failed (lc__race_unborn). */
struct lc__vc *lc__race_fork(void);
void lc__race_born(struct lc__vc *from);
void lc__race_unborn(struct lc__vc *from);

/* The calling thread ends; a join of thread th returned. */
void lc__race_thread_end(void);
void lc__race_joined(pthread_t th);

/* A granule the thread checked lately (race_shadow.c): key -> the
 * granule, which never moves nor changes its key. */
#define LC__SHADOW_HINTS 32
struct lc__granule;
struct lc__shadow_hint {
	uint64_t key;
	struct lc__granule *g; /* NULL: none */
};

/* Under lc__race_mu: the calling thread's slot and clock (NULL when it
 * cannot have one: out of memory or slots). lc__race_self_fast: without
 * the lock, NULL when it has none yet. Only its own thread uses its
 * clock. */
struct lc__race_thread {
	uint32_t slot;
	struct lc__vc vc; /* vc.c[slot] is its own clock, from 1 */
	uint32_t stamp;	  /* grows when another entry of vc does */
	bool named;	  /* its slot has its name */
	struct lc__shadow_hint hint[LC__SHADOW_HINTS];
};
struct lc__race_thread *lc__race_self(void);
extern _Thread_local struct lc__race_thread *lc__race_tls
	__attribute__((tls_model("initial-exec")));
static inline struct lc__race_thread *lc__race_self_fast(void)
{
	return lc__race_tls;
}

/* lk's clocks when the lock keeps them for its present instance, else
 * NULL. */
static inline struct lc__race_sync *lc__race_sync_of(struct lc__lock *lk)
{
	struct lc__race_sync *s =
		atomic_load_explicit(&lk->race, memory_order_acquire);

	if (s && s->key == (uintptr_t)lk &&
	    atomic_load_explicit(&s->id, memory_order_relaxed) ==
		    atomic_load_explicit(&lk->id, memory_order_relaxed))
		return s;
	return NULL;
}

/* Whether rt made s's last write release: its clock has w already. */
static inline bool lc__race_released_last(const struct lc__race_thread *rt,
					  const struct lc__race_sync *s)
{
	return s->w_by == rt->slot + 1;
}

/* Whether rt's release of s in mode is one store: a write release by the
 * last releaser, whose clock had no other entry raised since (its
 * stamp), so that only its own entry differs from w. */
static inline bool
lc__race_release_is_one_store(const struct lc__race_thread *rt,
			      const struct lc__race_sync *s, uint8_t mode)
{
	return mode == LC__WRITE && lc__race_released_last(rt, s) &&
	       s->w_stamp == rt->stamp;
}

/* That release: the store, then the thread's tick. */
static inline void lc__race_release_one(struct lc__race_thread *rt,
					struct lc__race_sync *s)
{
	assert(s->w.n > rt->slot);
	s->w.c[rt->slot] = rt->vc.c[rt->slot];
	rt->vc.c[rt->slot]++;
}

/* The hooks run while the caller holds lk (race_clock.c). Inline: an
 * acquisition of a lock the thread itself released last (for writing,
 * with no read release to join) joins nothing, and a release that is one
 * store makes it; the rest is out of line. */
static inline void lc__race_acquire(struct lc__lock *lk, uint8_t mode)
{
	struct lc__race_thread *rt = lc__race_tls;
	struct lc__race_sync *s = lc__race_sync_of(lk);

	if (rt && s && lc__race_released_last(rt, s) &&
	    (mode != LC__WRITE || !s->r.n))
		return;
	lc__race_acquire_slow(lk, mode);
}

static inline void lc__race_release(struct lc__lock *lk, uint8_t mode)
{
	struct lc__race_thread *rt = lc__race_tls;
	struct lc__race_sync *s = lc__race_sync_of(lk);

	if (rt && s && lc__race_release_is_one_store(rt, s, mode))
		lc__race_release_one(rt, s);
	else
		lc__race_release_slow(lk, mode);
}

/* Under lc__race_mu: the name and tid of the thread of a slot, as it was
 * at that thread's first access (lc__race_name_slot). */
const char *lc__race_slot_name(uint32_t slot, int *tid);
void lc__race_name_slot(uint32_t slot, const char *name, int tid);

/* Happens-before checking stops (a table could not grow): set once with
 * a limit finding to follow; declared guards are still checked. */
extern _Atomic bool lc__race_hb_off;
void lc__race_limit(const char *what);

/* The limit found since the last call, or NULL: its finding is written
 * by the caller, after lc__race_mu is let go; *all: it stopped race
 * checking altogether (lc__race_stop). */
const char *lc__race_take_limit(bool *all);
extern _Atomic(const char *) lc__race_limit_pending, lc__race_stop_pending;

/* Whether lc__race_take_limit may have one: two loads. */
static inline bool lc__race_limit_maybe(void)
{
	return atomic_load_explicit(&lc__race_limit_pending,
				    memory_order_relaxed) ||
	       atomic_load_explicit(&lc__race_stop_pending,
				    memory_order_relaxed);
}

/* Race checking stops altogether, declared guards too: set once, with a
 * limit finding to follow (lc__race_take_limit). For a loss that could
 * otherwise give a false report, such as a declaration that outlived the
 * lc_unguard meant to end it. Async-signal-safe. */
extern _Atomic bool lc__race_off;
void lc__race_stop(const char *what);

/* ---- race_access.c ---- */

/* Forgets the history of [lo, hi), and its declarations when unguard
 * (lc_unguard); else starts happens-before first (lc_handoff). Takes the
 * race locks: never with one held, nor from a handler that interrupted
 * the checker. */
void lc__race_forget(uintptr_t lo, uintptr_t hi, bool unguard);

/* ---- race_defer.c: lc_unguard and lc_handoff of a signal handler that
 * interrupted its thread inside the checker ---- */

/* Async-signal-safe: notes lc__race_forget(lo, hi, unguard) for the next
 * race call of any thread; false when the table is full. */
bool lc__race_defer(uintptr_t lo, uintptr_t hi, bool unguard);

void lc__race_apply_slow(void);

/* Applies the notes: first in every race call, inside the checker (not
 * reentered), with no race lock held. */
static inline void lc__race_apply(void)
{
	if (atomic_load_explicit(&lc__race_gate, memory_order_acquire) &
	    LC__GATE_PENDING)
		lc__race_apply_slow();
}

/* Around a fork: takes its lock (how > 0, first of the race locks), lets
 * go of it in the parent (0) or in the child (how < 0, which also drops
 * the notes other threads were filling). */
void lc__race_defer_fork_lock(int how);

/* ---- race_guard.c: declarations, under lc__guards_lock (read to look,
 * write to change; a leaf like lc__race_mu, never held with it) ---- */

extern pthread_rwlock_t lc__guards_lock;

/* Changes with every change of the declarations, from 1 (read without
 * the lock: a thread's cached lookup is valid while it has not changed). */
extern _Atomic uint64_t lc__guards_gen;

struct lc__guard_decl {
	uintptr_t lo, hi;	     /* [lo, hi) */
	struct lc__lock *lk;	     /* may be gone: compared, never read */
	uint64_t id;		     /* the lock instance declared */
	const struct lc__class *cls; /* its class, or NULL */
	const char *name;	     /* the lock's name (interned) */
	struct lc__site at;	     /* the declaration */
};

/* 0, ENOMEM. */
int lc__guards_add(const struct lc__guard_decl *g);
void lc__guards_remove(uintptr_t lo, uintptr_t hi);

/* Calls fn for each declaration with a byte in [lo, hi); stops when fn
 * returns false. */
void lc__guards_each(uintptr_t lo, uintptr_t hi,
		     bool (*fn)(const struct lc__guard_decl *g, void *arg),
		     void *arg);

/* ---- race_shadow.c: the history of checked bytes, under locks of its
 * own (leaves) ---- */

/* Takes (lock true) or lets go of all its locks around a fork. */
void lc__shadow_fork_lock(bool lock);

/* One access as the shadow keeps it. */
struct lc__race_access {
	uint32_t slot, clock; /* its epoch */
	struct lc__site at;
	const struct lc__access_site *site; /* at, as the call passed it */
	const struct lc__class *held[2];    /* first locks held */
	uint8_t nheld; /* locks held (may be more than 2) */
	uint8_t write;
	uintptr_t addr; /* the whole access's first byte */
	uint32_t size;	/* and its size */
};

/* Checks access a of [lo, hi) by thread rt against the history and
 * records it. The first earlier access it races with goes into *prior;
 * returns whether there was one. */
bool lc__shadow_access(struct lc__race_thread *rt,
		       const struct lc__race_access *a, uintptr_t lo,
		       uintptr_t hi, struct lc__race_access *prior);

/* Forgets the history of [lo, hi). */
void lc__shadow_forget(uintptr_t lo, uintptr_t hi);

/* ---- race_inventory.c: the dump's record of checked ranges ---- */

/* Access of [lo, hi) by t, of the range a declaration covers (decl) or
 * of its own bytes (decl NULL, at its site). Only when a dump will be
 * written. */
void lc__inventory_note(const struct lc__thread *t, uintptr_t lo, uintptr_t hi,
			bool write, const struct lc__site *at,
			const struct lc__guard_decl *decl, int tid);

/* Takes (lock true) or lets go of its mutex around a fork. */
void lc__inventory_fork_lock(bool lock);

/* Under lc__slow: appends a "range" line per range (docs/dump-format.md),
 * strings written by put_str; returns how many. */
uint32_t lc__inventory_dump(struct lc__buf *b,
			    void (*put_str)(struct lc__buf *b, const char *s));

#endif /* LOCKCHECK_RACE_H */
