/*
 * internal.h: what the checker's modules share (lc__ names, never public).
 *
 * The model. Every thread has a stack of the locks it holds. Acquiring a lock
 * while others are held validates the acquisition BEFORE blocking: an edge
 * from each held lock's class to the new one goes into the class graph, and a
 * new or weakened edge is searched for a cycle that can deadlock. A validated
 * (held classes, new class) combination is remembered as a chain keyed by a
 * hash of the stack, so repeating it costs a lookup in a lock-free table and
 * takes no global lock. Everything else (classes, graphs, findings, stacks)
 * lives under one raw pthread mutex, lc__slow: only first sightings take it.
 *
 * The checker never calls the lc_ wrappers and never allocates on the cached
 * path; only log.c writes to the log. The entry points (mutex.c, rwlock.c,
 * cond.c) go through the core steps of core.h.
 */
#ifndef LOCKCHECK_INTERNAL_H
#define LOCKCHECK_INTERNAL_H

#include <assert.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lockcheck/lockcheck.h"
#include "graph.h"
#include "text.h"

#if !LOCKCHECK
#error "lockcheck/*.c is the checked build: compile with -DLOCKCHECK=1 (the plain build is mode_off.c alone)"
#endif

struct lc__buf;

/* For the few helpers of the cached path that must inline whatever the
 * compiler's heuristics say (they have several callers). */
#define LC__HOT static inline __attribute__((always_inline))

/* ---- runtime.c: configuration, the slow-path lock, process hooks. ---- */

struct lc__config {
	bool abort_on_report; /* LOCKCHECK_ACTION=abort */
	int exitcode;	      /* LOCKCHECK_EXITCODE (66); 0: keep status */
	int log_fd;	      /* stderr or LOCKCHECK_LOG */
	const char *dump;     /* LOCKCHECK_DUMP's directory, NULL when none */
	bool symbolize;	      /* LOCKCHECK_SYMBOLIZE=0 turns addr2line off */
	uint32_t max_classes; /* LOCKCHECK_MAX_CLASSES */
	uint32_t max_held;    /* LOCKCHECK_MAX_HELD: per thread */
	uint32_t max_chains;  /* LOCKCHECK_MAX_CHAINS */
	uint64_t watchdog_ns; /* LOCKCHECK_WATCHDOG; 0: off */
};

extern struct lc__config lc__cfg;

/* lc__slow, the lock of every structure the slow paths touch: a raw
 * pthread mutex, taken only through these. They are re-entrant, so the
 * thread that holds it can still get through a fork handler of the program
 * that takes locks (the structures are consistent whenever that runs); and
 * thread cancellation is off while it is held, so no thread dies holding
 * it. lc__slow_drop lets go of it entirely, before an abort(). Taking it
 * first reports what signal handlers noted (reentry.c). */
void lc__slow_lock(void);
void lc__slow_unlock(void);
void lc__slow_drop(void);

/* Blocks every signal but those a fault raises on the spot (a blocked
 * one kills the process); the mask before goes into *old. */
void lc__block_signals(sigset_t *old);

/* Reads the environment, once. */
void lc__init(void);

/* ---- config.c: the environment. ---- */

/* Sets lc__cfg from the LOCKCHECK_* variables; reports bad values. */
void lc__config_read(void);

/* Reports a problem with a setting (kind config) once per variable and
 * problem: "<var>="<value>": " and then fmt. Takes lc__slow. */
void lc__config_report(const char *var, const char *value, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The class graph: nodes are class ids. Under lc__slow. */
extern struct lc__graph lc__classes_graph;

/* ---- classes.c: lock classes and instance ids. ---- */

struct lc__class {
	uint32_t id;
	int kind;	  /* LC__KIND_* of the first lock seen */
	const char *name; /* interned */
	const char *file; /* interned init site */
	int line;
	bool keyed;	    /* an init macro's call, not initializer */
	const char *text;   /* keyed: the call's argument text */
	uint32_t next_same; /* keyed: next class of the same call text */
	_Atomic uint64_t instances; /* locks initialised with this class */
	_Atomic uint64_t acquired;  /* counters of exited threads */
	_Atomic uint64_t contended;
	_Atomic uint64_t wait_ns;
	struct lc__graph *_Atomic igraph; /* same-class instance order */
	uint64_t first_chain[2]; /* by mode: the chain of a stack of it alone */
};

/* The lock's class, resolved and cached on first use. NULL when the class
 * limit is reached or memory ran out: the lock is then held but not
 * ordered. Takes lc__slow only on first use. */
struct lc__class *lc__class_of(struct lc__lock *lk);

/* lc__class_of's cached answer, or the call. */
static inline struct lc__class *lc__class_fast(struct lc__lock *lk)
{
	struct lc__class *c =
		atomic_load_explicit(&lk->cls, memory_order_acquire);

	return c ? c : lc__class_of(lk);
}

/* Under lc__slow: the class with this id, and how many there are. */
struct lc__class *lc__class_by_id(uint32_t id);
uint32_t lc__class_count(void);

/* The instance id of lk, assigned on first use (LC_*_INITIALIZER locks). */
uint64_t lc__instance_id(struct lc__lock *lk);

static inline uint64_t lc__id_fast(struct lc__lock *lk)
{
	uint64_t id = atomic_load_explicit(&lk->id, memory_order_relaxed);

	return id ? id : lc__instance_id(lk);
}

/* A fresh instance id: never reused in this process. */
uint64_t lc__new_instance_id(void);

/* Under lc__slow: a copy of s that lives as long as the process. NULL s
 * gives NULL; out of memory gives a fixed placeholder. */
const char *lc__intern(const char *s);

/* Copies name into buf (cut at size), control characters replaced by '?':
 * a name is one line of a report. src may equal buf. */
/* The first LC_TEXT_MAX + 1 bytes of name into buf of size bytes (at
 * least LC_TEXT_MAX + 2): all a line shows of it (lockcheck/text.h), and
 * one byte more so the line still knows to cut it. */
void lc__copy_name(char *buf, size_t size, const char *name);

/* Under lc__slow: s interned as a line shows it (lc__copy_name): strings
 * from the program are kept raw and escaped only when a line is written. */
const char *lc__intern_line(const char *s);

/* ---- One acquisition, described once. ---- */

/* How an acquisition may wait. */
enum lc__how {
	LC__BLOCK, /* lock, rdlock, wrlock, a condition wait's retake */
	LC__TRY,   /* trylock: never waits, adds no edge */
	LC__TIMED, /* timedlock: waits like a lock */
	LC__EVENT, /* a signal or broadcast of a wait node: never waits */
};

/* An acquisition as its entry point saw it; the core steps (core.h) fill
 * in the rest. Validation and reports read it. */
struct lc__acq {
	struct lc__lock *lk;
	struct lc__class *cls; /* its class; NULL: not ordered (limit) */
	uint64_t chain;	       /* stack's chain hash with lk on top */
	uint64_t start_ns;     /* when a blocking wait began */
	struct lc__site at;    /* the call */
	const void *ra;	       /* its return address: stacks start */
	int held;	       /* lk's held entry, or -1 (by the steps) */
	uint8_t mode;	       /* LC__READ or LC__WRITE */
	uint8_t how;	       /* enum lc__how */
};

/* ---- thread.c: per-thread state. ---- */

struct lc__held {
	struct lc__lock *lk;
	struct lc__class *cls; /* NULL: not ordered (limit) */
	uint64_t id;	       /* instance id when taken */
	struct lc__site at;    /* where it was taken */
	uint64_t chain;	       /* hash of the stack up to this entry */
	uint32_t depth;	       /* recursive holds, at least 1 */
	uint8_t mode;	       /* LC__READ or LC__WRITE */
	uint8_t flags;	       /* LC__HELD_* */
};

enum {
	LC__HELD_TRYLOCK = 1,	      /* taken with a trylock */
	LC__HELD_DESTROY_REFUSED = 2, /* its destroy was refused (reported) */
};

struct lc__stats {
	uint64_t acquired, contended, wait_ns;
};

#define LC__CHAIN_SLOTS 256 /* per-thread chain cache (power of two) */

/* A cached chain: chain is NULL or chain->hash == hash. */
struct lc__chain_slot {
	uint64_t hash;
	struct lc__chain *chain;
	uint64_t hits; /* not yet added to chain->hits */
};

/* What a thread is blocked on, for the watchdog (watchdog.c): the thread
 * writes the fields, then since_ns; since_ns 0: not blocked. */
struct lc__blocked {
	_Atomic uint64_t since_ns;
	struct lc__lock *lk; /* the lock, or the condvar's lk */
	struct lc__site at;  /* the wait's call */
	uint8_t mode;
	uint8_t what;	  /* enum lc__blocked_what */
	size_t fill, cap; /* LC__BLOCKED_FILL: items held, of cap */
};

/* What a blocked record says beyond the wait. */
enum lc__blocked_what {
	LC__BLOCKED_PLAIN, /* a lock or condvar wait */
	LC__BLOCKED_FILL,  /* a condvar wait on a structure of items (a
			    * channel): fill and cap as the wait began */
	LC__BLOCKED_JOIN,  /* a wait for a node outside any condvar (a pool's
			    * shutdown joining its workers) */
};

struct lc__thread {
	struct lc__held *held; /* held[0] is the outermost */
	uint32_t nheld, cap;
	uint32_t untracked;	     /* held locks that did not fit (limit) */
	struct lc__held_inst *insts; /* scratch: exclusive held instances */
	int tid;
	char name[LC_TEXT_MAX + 2]; /* lc_thread_set_name's (lc__copy_name) */
	char sysname[24];	    /* pthread name or "thread-<tid>" */
	char inherited[16];	    /* the kernel name it was born with */
	int exit_rounds;	    /* destructor rounds seen while holding */
	struct lc__stats *stats;    /* indexed by class id */
	uint32_t nstats;
	struct lc__chain_slot cache[LC__CHAIN_SLOTS];
	struct lc__blocked blocked; /* LOCKCHECK_WATCHDOG only */
	struct lc__thread *wd_next; /* the watchdog's registry */
	bool wd_listed;
};

/* The calling thread's state while it is outside the checker; NULL while
 * it is inside a checked call (core.h), and before it has one. So one load
 * tells a signal handler's call that interrupted the checker. initial-exec:
 * one load from %fs even when the library is a shared object (the default
 * model would call __tls_get_addr on every lock operation). */
extern _Thread_local struct lc__thread *lc__tls
	__attribute__((tls_model("initial-exec")));

/* The calling thread's state, inside the checker or not (NULL before it
 * has one): for the rare paths. */
extern _Thread_local struct lc__thread *lc__owned
	__attribute__((tls_model("initial-exec")));

/* The calling thread's new state, inside the checker (core.h); NULL when
 * it cannot be allocated. */
struct lc__thread *lc__thread_create(void);

/* Index of lk in t's held stack (searching from the top), or -1. */
static inline int lc__find_held(const struct lc__thread *t,
				const struct lc__lock *lk)
{
	for (int i = (int)t->nheld - 1; i >= 0; i--)
		if (t->held[i].lk == lk)
			return i;
	return -1;
}

/* The slot for one more held lock after growing the stack, or NULL at the
 * held limit (reported once; the lock then counts as untracked). */
struct lc__held *lc__held_grow(struct lc__thread *t);

/* Removes held entry i from the middle and rehashes the chain above it. */
void lc__pop_held(struct lc__thread *t, int i);

/* The held stack's invariants, the chain hashes recomputed from scratch
 * (lockdep's check_chain_key), for assert(): every entry names a lock,
 * is held at least once in a known mode, and its chain is the hash of the
 * stack up to it. O(held locks): off the cached path. */
bool lc__held_consistent(const struct lc__thread *t);

/* One more counter array slot for class id; false when it cannot grow. */
bool lc__stats_grow(struct lc__thread *t, uint32_t cls_id);

/* Chain hash of the stack prefix extended by one (class, mode). */
static inline uint64_t lc__chain_next(uint64_t prefix, uint32_t cls_id,
				      uint8_t mode)
{
	return lc__mix64(prefix * 0x9e3779b97f4a7c15ULL +
			 ((uint64_t)cls_id << 1 | mode) + 1);
}

/* The chain hash t's stack will have once it also holds a lock of cls in
 * mode: the key of that acquisition's validation and its held entry's
 * chain, computed once for both (a class keeps it for an empty stack). */
LC__HOT uint64_t lc__chain_of(const struct lc__thread *t,
			      const struct lc__class *cls, uint8_t mode)
{
	if (!t->nheld && cls) /* lc__held_consistent checks it */
		return cls->first_chain[mode];
	return lc__chain_next(t->nheld ? t->held[t->nheld - 1].chain : 0,
			      cls ? cls->id : UINT32_MAX, mode);
}

/* Records acquisition a on top of t's stack; a->chain: lc__chain_of. */
LC__HOT void lc__push(struct lc__thread *t, const struct lc__acq *a)
{
	struct lc__held *h =
		t->nheld < t->cap ? &t->held[t->nheld] : lc__held_grow(t);

	if (!h)
		return;
	h->lk = a->lk;
	h->cls = a->cls;
	h->id = lc__id_fast(a->lk);
	h->at = a->at;
	h->chain = a->chain;
	h->depth = 1;
	h->mode = a->mode;
	h->flags = a->how == LC__TRY ? LC__HELD_TRYLOCK : 0;
	t->nheld++;
}

/* Releases lk when it is the top entry, held once: the common case, with
 * nothing to rehash. False when the caller must look further. */
LC__HOT bool lc__pop_top(struct lc__thread *t, const struct lc__lock *lk)
{
	if (!t->nheld || t->held[t->nheld - 1].lk != lk ||
	    t->held[t->nheld - 1].depth != 1)
		return false;
	t->nheld--;
	return true;
}

/* Counts an acquisition of a lock of class cls. */
LC__HOT void lc__count(struct lc__thread *t, const struct lc__class *cls,
		       bool contended, uint64_t wait_ns)
{
	struct lc__stats *s;

	if (!cls || (cls->id >= t->nstats && !lc__stats_grow(t, cls->id)))
		return;
	s = &t->stats[cls->id];
	s->acquired++;
	s->contended += contended;
	s->wait_ns += wait_ns;
}

/* An uncontended acquisition: the counter usually is all there is to it. */
LC__HOT void lc__count_free(struct lc__thread *t, const struct lc__class *cls)
{
	if (cls && cls->id < t->nstats)
		t->stats[cls->id].acquired++;
	else
		lc__count(t, cls, false, 0);
}

/* Fills t->insts with the exclusively held instances; returns how many. */
uint32_t lc__exclusive_insts(struct lc__thread *t);

/* The thread's display name; valid while the thread lives (intern it to
 * keep it). Only its own thread may call this. Its lc_thread_set_name
 * name; else its kernel name unless that is the one it inherited from its
 * creator (the main thread's is the program's); else "thread-<tid>". */
const char *lc__thread_name(struct lc__thread *t);

/* thread_start.c: the kernel name the calling thread was born with, when
 * it was started through the pthread_create wrapper. */
bool lc__inherited_name(char out[16]);

/* thread_start.c: a join of thread th succeeded (pthread_join and, in the
 * preload, pthread_tryjoin_np and pthread_timedjoin_np): th's code is
 * ordered before what the caller does next. */
void lc__thread_joined(pthread_t th);

/* Adds t's counters and cached chain hits to the shared totals. */
void lc__thread_flush(struct lc__thread *t);

/* ---- chains.c: validated acquisitions. ---- */

struct lc__chain {
	uint64_t hash;
	bool same_class;       /* the new class was already held */
	_Atomic bool gated;    /* some edge still has gates to check */
	_Atomic uint64_t hits; /* flushed cache hits */
	uint32_t nedges;
	struct lc__edge *edges[]; /* the class edges it implies */
};

/* Lock-free lookup; NULL when absent. */
struct lc__chain *lc__chain_find(uint64_t hash);

/* Every gate the chain's edges still have is held now (validate.c). */
bool lc__gates_covered(const struct lc__thread *t, const struct lc__chain *c);

/* The common case of lc__validate, inline: the chain key (lc__chain_of:
 * held classes and modes, then the new class and mode) is in t's cache,
 * no lock of the new class is held, and its gates (if any) are held.
 * Counts the hit. REQUIRES: t holds a lock, the new class is not NULL.
 * gated only goes from true to false, so a relaxed read of it only ever
 * costs a needless check. */
LC__HOT bool lc__validated(struct lc__thread *t, uint64_t key)
{
	struct lc__chain_slot *slot = &t->cache[key & (LC__CHAIN_SLOTS - 1)];
	struct lc__chain *c = slot->chain;

	if (!c || slot->hash != key || c->same_class)
		return false;
	if (atomic_load_explicit(&c->gated, memory_order_relaxed) &&
	    !lc__gates_covered(t, c))
		return false;
	slot->hits++;
	return true;
}

/* Under lc__slow: publishes a new chain. ENOMEM, or ENOSPC at the limit. */
int lc__chain_insert(struct lc__chain *c);

/* Under lc__slow: calls fn for every published chain (for the dump). */
void lc__chain_each(void (*fn)(struct lc__chain *c, void *arg), void *arg);

/* ---- validate.c: the acquisition check. ---- */

/* Before a blocking acquisition a while t holds other locks: records and
 * checks its edges. a->chain is its key (lc__chain_of). */
void lc__validate(struct lc__thread *t, const struct lc__acq *a);

/* Under lc__slow: forgets the instance (destroy). */
void lc__forget_instance(struct lc__class *cls, uint64_t id);

/* Under lc__slow: the class graph's node of c (a wait node for a
 * condvar's class), made when missing; LC__NONE without memory. */
uint32_t lc__class_node(const struct lc__class *c);

/* A copy of a site whose strings live as long as the process. */
struct lc__site lc__intern_site(const struct lc__site *at);

/* Under lc__slow: records one occurrence of from -> to in g with mode
 * pair combo while gates[0..ngates) were held exclusively; a new edge
 * keeps info (and a stack from a->ra when info has none). When the edge
 * weakened, searches it for cycles and reports them as closed now by
 * thread t's a (cls: NULL for the class graph). NULL without memory. */
struct lc__edge *
lc__observe_edge(struct lc__graph *g, uint32_t from, uint32_t to, uint8_t combo,
		 const struct lc__held_inst *gates, uint32_t ngates,
		 const struct lc__edge_info *info, struct lc__thread *t,
		 const struct lc__acq *a, const struct lc__class *cls);

/* Under lc__slow: publishes the validated chain key with its edges. */
void lc__publish_chain(uint64_t key, bool same, struct lc__edge **edges,
		       uint32_t n);

/* The chain key is known (cached for t, or published) and none of its
 * gates is missing now: counts the hit. Lock-free. */
bool lc__chain_known(struct lc__thread *t, uint64_t key);

/* ---- waits.c: condvars as wait nodes. ---- */

/* A wait on c (acquisition a describes it: c's lk, the wait site) whose
 * mutex, of instance id mutex_id, t has just given back: learns c's bound
 * mutex, then validates an edge from every lock t still holds to c. */
void lc__wait_edges(struct lc__thread *t, lc_cond_t *c, uint64_t mutex_id,
		    const struct lc__site *at, const void *ra, uint8_t how);

/* The key of a hold set of one lock h, as a signal before its condvar's
 * first wait keeps it (c->pending): its instance and mode. Never 0. */
static inline uint64_t lc__single_hold_key(const struct lc__held *h)
{
	return h->id << 1 | h->mode;
}

/* Whether a signal or broadcast of c adds nothing: t holds no lock, or
 * only c's bound mutex, or (before c has one) the one lock its last
 * signal held. The common case: two loads and a compare. */
static inline bool lc__signal_is_plain(const struct lc__thread *t,
				       const lc_cond_t *c)
{
	const struct lc__held *h = &t->held[0];
	uint64_t bound;

	if (t->nheld != 1)
		return t->nheld == 0;
	bound = atomic_load_explicit(&c->bound, memory_order_relaxed);
	return h->id == bound ||
	       (!bound &&
		atomic_load_explicit(&c->pending, memory_order_relaxed) ==
			lc__single_hold_key(h));
}

/* A signal or broadcast of c at at while t holds locks: an edge from c to
 * every held lock but c's bound mutex (pending until c has one). */
void lc__signal_edges(struct lc__thread *t, lc_cond_t *c,
		      const struct lc__site *at, const void *ra);

/* Gives a freshly initialised condvar its structure's class: the site
 * file:line, named "<what> `<name>` (<role>)"; bound: its mutex or NULL. */
void lc__node_name(lc_cond_t *c, lc_mutex_t *bound, const char *what,
		   const char *name, const char *role, const char *file,
		   int line);

/* Under lc__slow: forgets a destroyed condvar's pending signals. */
void lc__forget_signals(uint64_t cond_id);

/* ---- watchdog.c: LOCKCHECK_WATCHDOG. ---- */

/* A new thread state joins (leaves) the watchdog's registry. */
void lc__watchdog_register(struct lc__thread *t);
void lc__watchdog_unregister(struct lc__thread *t);

/* Takes (take) or gives back the registry's lock, around a change of a
 * registered held stack's memory. */
void lc__watchdog_hold(bool take);

/* t is about to block in an untimed wait for lk (a condvar's lk for a
 * condvar) at `at`, since now: published for the watchdog (started by
 * the first one). REQUIRES: lc__cfg.watchdog_ns. */
void lc__blocked_begin(struct lc__thread *t, struct lc__lock *lk,
		       const struct lc__site *at, uint8_t mode, uint64_t now);

/* lc__blocked_begin for a condvar wait (what: LC__BLOCKED_FILL, with
 * fill of cap items) or a node wait (LC__BLOCKED_JOIN; fill, cap 0). */
void lc__blocked_begin_node(struct lc__thread *t, struct lc__lock *lk,
			    const struct lc__site *at, uint64_t now,
			    uint8_t what, size_t fill, size_t cap);

/* The wait is over: one store. */
static inline void lc__blocked_end(struct lc__thread *t)
{
	atomic_store_explicit(&t->blocked.since_ns, 0, memory_order_release);
}

/* ---- wait_findings.c: wait-cycle. ---- */

/* Under lc__slow: whether the cycle of the class graph has a wait node. */
bool lc__cycle_waits(const struct lc__graph *g, const uint32_t *path,
		     uint32_t n);

/* Under lc__slow: reports the wait cycle path[0..n) of the class graph,
 * closed now by t's a (a wait, or a signal: a->how is LC__EVENT), once
 * per set of nodes (signature sig). */
void lc__report_wait_cycle(const struct lc__graph *g, const uint32_t *path,
			   uint32_t n, struct lc__thread *t,
			   const struct lc__acq *a, uint64_t sig);

/* ---- order_findings.c: lock-order-cycle and order-violation. ---- */

/* Under lc__slow: whether the cycle was not reported yet. */
bool lc__cycle_is_new(const struct lc__graph *g, const uint32_t *path,
		      uint32_t n, const struct lc__class *cls);

/* Under lc__slow: reports the cycle path[0..n) of graph g (the class graph
 * when cls is NULL, else cls's instance graph), closed now by acquisition
 * a of thread t; once per distinct cycle. */
void lc__report_cycle(const struct lc__graph *g, const uint32_t *path,
		      uint32_t n, struct lc__thread *t, const struct lc__acq *a,
		      const struct lc__class *cls);

/* Under lc__slow: a same-class lock wanted with a key not above held h's;
 * once per call site. */
void lc__report_order_violation(struct lc__thread *t, const struct lc__held *h,
				const struct lc__acq *a);

/* ---- misuse_findings.c: misuse by one thread (they take lc__slow). ---- */

/* a wants a lock the caller holds (held entry h) and would wait for. */
void lc__report_recursive(struct lc__thread *t, const struct lc__acq *a,
			  const struct lc__held *h);
/* what: "unlocked", "waited on (lc_cond_wait)". */
void lc__report_unlock_not_held(struct lc__thread *t, struct lc__lock *lk,
				const struct lc__site *at, const void *ra,
				const char *what);
/* h: the caller's own held entry, or NULL when another thread holds it. */
void lc__report_destroy_held(struct lc__thread *t, struct lc__lock *lk,
			     const struct lc__held *h,
			     const struct lc__site *at, const void *ra);
void lc__report_assert(struct lc__thread *t, struct lc__lock *lk,
		       bool want_held, const struct lc__site *at,
		       const void *ra);
/* A lock initialised (at: the init call) over memory where t holds the
 * lock of held entry h: kind destroy-held. */
void lc__report_init_held(struct lc__thread *t, struct lc__lock *lk,
			  const struct lc__held *h, const struct lc__site *at,
			  const void *ra);

/* ---- stack.c: backtraces, captured cheaply, symbolised when printed. ---- */

/* Under lc__slow: stores the current stack from the frame of ra on (the
 * whole stack when ra is not found). Returns its id, or 0 when it failed. */
uint32_t lc__stack_capture(const void *ra);

/* Captures into frames[] without storing; returns the frame count. */
int lc__stack_now(const void *ra, void **frames, int max);

/* Under lc__slow: addresses of a stored stack. */
int lc__stack_get(uint32_t id, void *const **frames);

/* Under lc__slow: appends a symbolised stack, a frame a line. */
void lc__print_stack(struct lc__buf *b, void *const *frames, int n,
		     const char *indent);

/* The main program's file into out (size bytes, NUL-terminated); false
 * when it cannot be read. Through /proc/thread-self: once the main thread
 * has left by pthread_exit, /proc/self is a zombie whose exe link is
 * gone while the other threads still run. */
bool lc__exe_path(char *out, size_t size);

/* ---- textbuf.c: the text of findings. ---- */

/* A growable text buffer that never fails loudly: on no memory it stops
 * growing and the text is cut short. p[len] is always '\0'. */
struct lc__buf {
	char *p;
	size_t len, cap;
	bool cut; /* it could not grow: the text is incomplete */
	char small[1024];
};

void lc__buf_init(struct lc__buf *b);
void lc__buf_free(struct lc__buf *b);
void lc__buf_add(struct lc__buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void lc__buf_vadd(struct lc__buf *b, const char *fmt, va_list ap);
void lc__buf_putc(struct lc__buf *b, char c);

/* Appends a string from the program as every line shows it: cut and
 * escaped by lc_text_line (lockcheck/text.h). */
void lc__buf_put_text(struct lc__buf *b, const char *s);

/* The same between backquotes: `name`. */
void lc__buf_put_quoted(struct lc__buf *b, const char *s);

/* Appends all of s escaped (lc_text_escape), however long: a line the
 * checker made, quoted in the dump. */
void lc__buf_put_escaped(struct lc__buf *b, const char *s);

/* Under lc__slow: appends "name [file:line]" for a class ("name [file]"
 * for line 0: a preloaded program's class, which has no source line). */
void lc__print_class(struct lc__buf *b, const struct lc__class *c);

/* Appends "file:line in func()" ("file in func()" for line 0: a
 * preloaded program's call site, file being its module+0xoffset). */
void lc__print_site(struct lc__buf *b, const struct lc__site *s);

/* ---- finding_set.c: the findings seen, for once-only, dump and exit. ---- */

enum lc__finding {
	LC__FINDING_LOCK_ORDER_CYCLE,
	LC__FINDING_ORDER_VIOLATION,
	LC__FINDING_RECURSIVE_LOCK,
	LC__FINDING_UNLOCK_NOT_HELD,
	LC__FINDING_DESTROY_HELD,
	LC__FINDING_EXIT_HELD,
	LC__FINDING_ASSERT_HELD,
	LC__FINDING_SIGNAL_UNSAFE,
	LC__FINDING_WAIT_CYCLE,
	LC__FINDING_WAIT_TIMEOUT,
	LC__FINDING_RACE,
	LC__FINDING_LIMIT,
	LC__FINDING_CONFIG,
	LC__FINDING_KINDS
};

/* The kind's name in report lines and dumps ("lock-order-cycle"). */
const char *lc__finding_name(enum lc__finding kind);

/* Under lc__slow: true the first time a finding signature is seen. */
bool lc__finding_is_new(enum lc__finding kind, uint64_t signature);

/* Under lc__slow: whether the signature was seen, without recording it. */
bool lc__finding_seen(enum lc__finding kind, uint64_t signature);

/* Under lc__slow: keeps a reported finding for the dump and the count. */
void lc__finding_keep(enum lc__finding kind, const char *summary, size_t len,
		      const uint32_t *classes, uint32_t n);

/* In a forked child: the parent's findings are not the child's (they stay
 * known, so they are not reported again, but are not counted or dumped). */
void lc__findings_forget(void);

/* Number of findings reported so far (for LOCKCHECK_EXITCODE). */
uint32_t lc__findings_count(void);

/* Under lc__slow: calls fn for every finding reported (for the dump). */
void lc__findings_each(void (*fn)(enum lc__finding kind, const char *summary,
				  const uint32_t *classes, uint32_t n,
				  void *arg),
		       void *arg);

/* Hash of a string, for signatures. */
uint64_t lc__hash_str(uint64_t seed, const char *s);

/* ---- log.c: the one writer of the log. ---- */

/* Under lc__slow: writes a finding's block, whose summary is the first
 * line of body, keeps it for the dump (with the classes involved), and
 * applies LOCKCHECK_ACTION (not to config findings). */
void lc__report(enum lc__finding kind, struct lc__buf *body,
		const uint32_t *classes, uint32_t nclasses);

/* Under lc__slow: reports a limit once per limit name. */
void lc__report_limit(const char *what, const char *detail);

/* ---- dump.c, dump_names.c ---- */

/* Under lc__slow: for each class id i < n, at out->p + off[i], the name
 * the dump gives it, escaped and cut as the dump's line shows it
 * (lockcheck/text.h), unique among the classes of this process with its
 * init site as shown (the class's name, unless two calls on one line gave
 * one name). 0, or ENOMEM (out->cut, or a table that could not grow). */
int lc__dump_names(struct lc__buf *out, size_t *off, uint32_t n);

/* Makes path a directory dumps can be written to (creating it and its
 * parents when missing). 0, or the errno value of what failed, with *what
 * saying what that was ("not a directory", ...). */
int lc__dump_dir_prepare(const char *path, const char **what);

/* Writes the graph to LOCKCHECK_DUMP (at exit), once per process: not
 * again after a dump written before an abort. Takes lc__slow. */
void lc__dump_write(void);

/* The same, for a caller that holds lc__slow (an abort on a finding). */
void lc__dump_write_locked(void);

#endif /* LOCKCHECK_INTERNAL_H */
