/*
 * lockcheck.h: pthread lock wrappers with an optional lock-order checker.
 *
 * Use lc_mutex_t, lc_rwlock_t and lc_cond_t where you would use the pthread
 * types. Every call returns 0 or an errno value, exactly like pthreads.
 *
 * Built with LOCKCHECK=0 (the default) the wrappers are static inline
 * functions, each the pthread call and nothing else: sizeof(lc_mutex_t) ==
 * sizeof(pthread_mutex_t) and a lock loop compiles to the same
 * instructions. Built with LOCKCHECK=1 they are macros (they pass the
 * call's file, line and function to the checker).
 *
 * Built with LOCKCHECK=1 every lock operation feeds a lockdep-style checker.
 * Each init call is one lock CLASS (two calls are two classes even on one
 * line; one call in a loop is one class for all its locks); the checker
 * learns the order in which classes are taken (an edge A->B when a B is
 * acquired while an A is held) and reports a possible deadlock the first
 * time an order closes a cycle, before the acquisition blocks. Reports go
 * to stderr (or LOCKCHECK_LOG) as blocks starting "lockcheck: <kind>: ", and
 * a process that reported any makes its exit status 66 (LOCKCHECK_EXITCODE).
 * See docs/report-guide.md for the kinds and docs/dump-format.md for
 * LOCKCHECK_DUMP. The checked library links with -Wl,--wrap=pthread_create
 * and -Wl,--wrap=pthread_join (lockcheck/thread_start.c). Lock calls are
 * not async-signal-safe: one made by a signal handler while its thread is
 * inside another goes to pthreads unchecked and is reported
 * (signal-unsafe).
 *
 * The header compiles as C11 (strict -std=c11 -pedantic too) and as C++11
 * and later.
 *
 * Objects built with different LOCKCHECK values must not be linked together:
 * each object references lc_built_with_LOCKCHECK_<n>, which only a library
 * built with the same value defines, so a mix fails at link time.
 */
#ifndef LOCKCHECK_LOCKCHECK_H
#define LOCKCHECK_LOCKCHECK_H

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#ifndef LOCKCHECK
#define LOCKCHECK 0
#endif

/* C++ sees the same struct layouts with the atomic fields as plain ones:
 * only the checker's C code touches them, and C checks below that each
 * _Atomic type has the size and alignment of its plain type. */
#ifdef __cplusplus
#define LC__ATOMIC(T)		     T
#define LC__STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define LC__ATOMIC(T)		     _Atomic(T)
#define LC__STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/*
 * Clang Thread Safety Analysis (-Wthread-safety): lc_mutex_t and
 * lc_rwlock_t are capabilities, and every lc_ lock call says what it
 * acquires or releases, in both modes. Annotate data and functions:
 *
 *   long hits LC_GUARDED_BY(stats_lock);
 *   long *slots LC_PT_GUARDED_BY(table_lock);
 *   void bump_locked(void) LC_REQUIRES(stats_lock);
 *   void lookup(void) LC_REQUIRES_SHARED(table_lock);
 *   void refill(void) LC_EXCLUDES(stats_lock);
 *   void begin(void) LC_ACQUIRE(stats_lock);  void end(void) LC_RELEASE(..);
 *   LC_NO_THREAD_SAFETY_ANALYSIS   on a function the analysis cannot follow
 *
 * Other compilers see nothing. Clang 14 in C does not accept a struct
 * member's LC_GUARDED_BY naming another member of the struct (clang 19
 * does, and C++ does); globals and parameters work with both.
 */
#if defined(__clang__)
#define LC__TSA(x) __attribute__((x))
#else
#define LC__TSA(x)
#endif
#define LC_CAPABILITY(name)	LC__TSA(capability(name))
#define LC_GUARDED_BY(l)	LC__TSA(guarded_by(l))
#define LC_PT_GUARDED_BY(l)	LC__TSA(pt_guarded_by(l))
#define LC_REQUIRES(...)	LC__TSA(requires_capability(__VA_ARGS__))
#define LC_REQUIRES_SHARED(...) LC__TSA(requires_shared_capability(__VA_ARGS__))
#define LC_ACQUIRE(...)		LC__TSA(acquire_capability(__VA_ARGS__))
#define LC_ACQUIRE_SHARED(...)	LC__TSA(acquire_shared_capability(__VA_ARGS__))
#define LC_RELEASE(...)		LC__TSA(release_capability(__VA_ARGS__))
#define LC_RELEASE_SHARED(...)	LC__TSA(release_shared_capability(__VA_ARGS__))
#define LC_RELEASE_GENERIC(...) LC__TSA(release_generic_capability(__VA_ARGS__))
#define LC_TRY_ACQUIRE(...)	LC__TSA(try_acquire_capability(__VA_ARGS__))
#define LC_TRY_ACQUIRE_SHARED(...)                                             \
	LC__TSA(try_acquire_shared_capability(__VA_ARGS__))
#define LC_EXCLUDES(...)	     LC__TSA(locks_excluded(__VA_ARGS__))
#define LC_ASSERT_CAPABILITY(l)	     LC__TSA(assert_capability(l))
#define LC_NO_THREAD_SAFETY_ANALYSIS LC__TSA(no_thread_safety_analysis)

/* Strict ISO C (-std=c11 with no feature macro) makes glibc hide the POSIX
 * 2001 lock names: pthread_rwlock_t, pthread_mutex_timedlock. Whether they
 * are visible is told by PTHREAD_RWLOCK_INITIALIZER. Without them the
 * rwlock is kept in storage of the same size and alignment (glibc's
 * initializer is all zero bytes, tests/header_test.c checks it) and the
 * plain build reaches those calls through lockcheck/mode_off.c. */
#ifdef PTHREAD_RWLOCK_INITIALIZER
#define LC__POSIX_LOCKS 1
typedef pthread_rwlock_t lc__pthread_rwlock_t;
#define LC__PTHREAD_RWLOCK_INITIALIZER PTHREAD_RWLOCK_INITIALIZER
#else
#define LC__POSIX_LOCKS 0
typedef union {
	char size[__SIZEOF_PTHREAD_RWLOCK_T];
	long align;
} lc__pthread_rwlock_t;
#define LC__PTHREAD_RWLOCK_INITIALIZER                                         \
	{                                                                      \
		{                                                              \
			0                                                      \
		}                                                              \
	}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Names the calling thread in reports (and, truncated to 15 bytes, for the
 * kernel as pthread_setname_np does). Returns 0, EINVAL for NULL. A thread
 * never named shows as "thread-<tid>" (the main thread by its program
 * name), never by the name it inherited from the thread that created it. */
int lc_thread_set_name(const char *name);

#if LOCKCHECK

/* ---- Checked build: the lock carries what the checker needs. ---------- */

struct lc__class;

/*
 * One per init call (declared static by the init macros): its class. An
 * init call is told apart from every other by its file, line and argument
 * text; the same call compiled into several files (an init in a header's
 * static inline function) has one key per file and is one class. tu is
 * this translation unit's lc__tu_anchor: two keys of one file with the
 * same text (two identical calls on one line) are two calls.
 */
struct lc__key {
	LC__ATOMIC(struct lc__class *) cls; /* resolved on first use */
	const char *file;		    /* the init call */
	int line;
	const char *func;
	const char *text; /* its arguments, as written */
	const char *tu;	  /* its file's &lc__tu_anchor */
};

/* One per translation unit: tells keys of different files apart. */
static char lc__tu_anchor __attribute__((unused));

/* Checker state embedded in every lock. Owned by lockcheck/; do not touch. */
struct lc__lock {
	struct lc__key *key; /* init call's key; NULL: initializer */
	const char *name;    /* the name its init call gave */
	const char *file;    /* init site */
	int line;	     /* init site */
	int kind;	     /* LC__KIND_* */
	LC__ATOMIC(struct lc__class *) cls; /* cached class, NULL until used */
	LC__ATOMIC(uint64_t) id;      /* instance id, unique for the process */
	LC__ATOMIC(uint32_t) ordinal; /* n-th lock of its class, from 1 */
	int has_order;		      /* lc_*_set_order was called */
	uint64_t order;		      /* the order key */
	LC__ATOMIC(void *) race;      /* its race clocks, NULL until used */
};

#ifndef __cplusplus
LC__STATIC_ASSERT(sizeof(_Atomic(uint64_t)) == sizeof(uint64_t) &&
			  _Alignof(_Atomic(uint64_t)) == _Alignof(uint64_t) &&
			  sizeof(_Atomic(uint32_t)) == sizeof(uint32_t) &&
			  _Alignof(_Atomic(uint32_t)) == _Alignof(uint32_t) &&
			  sizeof(_Atomic(void *)) == sizeof(void *) &&
			  _Alignof(_Atomic(void *)) == _Alignof(void *),
		  "C++ sees these atomics as plain fields: same layout");
#endif

/* LC__KIND_COND: not a lock but a wait node of the same class graph. */
enum { LC__KIND_MUTEX, LC__KIND_RECURSIVE, LC__KIND_RWLOCK, LC__KIND_COND };

typedef struct LC_CAPABILITY("mutex") lc_mutex {
	pthread_mutex_t pm;
	struct lc__lock lk;
} lc_mutex_t;

typedef struct LC_CAPABILITY("rwlock") lc_rwlock {
	lc__pthread_rwlock_t prw;
	struct lc__lock lk;
} lc_rwlock_t;

/* A condvar is a wait node: its class is its init site, and it learns
 * the mutex instance its waits use (its bound mutex) from the first. */
typedef struct lc_cond {
	pthread_cond_t pc;
	struct lc__lock lk;	    /* class and instance, as a lock's */
	LC__ATOMIC(uint64_t) bound; /* bound mutex's instance id; 0: none yet */
	LC__ATOMIC(uint64_t) pending; /* last hold set kept before a bound */
	const char *last_file;	      /* the last signal (LOCKCHECK_WATCHDOG) */
	int last_line;
	const char *last_func;
	LC__ATOMIC(int) last_tid; /* its thread; 0: none yet */
	int idle;		  /* its waiters are idle, not stuck */
	/* LC_COND_FILL: how full the structure its waiters wait on is. */
	size_t (*fill)(const void *obj, size_t *cap);
	const void *fill_obj;
} lc_cond_t;

#define LC__LOCK_INIT(name, kind)                                              \
	{                                                                      \
		NULL, (name), __FILE__, __LINE__, (kind), NULL, 0, 0, 0, 0,    \
			NULL                                                   \
	}
#define LC_MUTEX_INITIALIZER(name)                                             \
	{                                                                      \
		PTHREAD_MUTEX_INITIALIZER, LC__LOCK_INIT(name, LC__KIND_MUTEX) \
	}
#define LC_RWLOCK_INITIALIZER(name)                                            \
	{                                                                      \
		LC__PTHREAD_RWLOCK_INITIALIZER,                                \
			LC__LOCK_INIT(name, LC__KIND_RWLOCK)                   \
	}
#define LC_COND_INITIALIZER                                                    \
	{                                                                      \
		PTHREAD_COND_INITIALIZER,                                      \
			LC__LOCK_INIT("condvar", LC__KIND_COND), 0, 0, NULL,   \
			0, NULL, 0, 0, NULL, NULL                              \
	}

/* The one GNU extension (here and in LC__ACCESS): a statement expression
 * declares the static key of this init call, as lockdep's mutex_init
 * does. text: the call's arguments as written (after macro expansion),
 * which tell apart two calls on one line or in one macro. */
#define LC__INIT(fn, l, name)                                                  \
	__extension__({                                                        \
		static struct lc__key lc__site_key = {                         \
			NULL,	  __FILE__,	 __LINE__,                     \
			__func__, #l ", " #name, &lc__tu_anchor                \
		};                                                             \
		fn((l), (name), &lc__site_key);                                \
	})
#define LC__AT __FILE__, __LINE__, __func__

#define lc_mutex_init(m, name) LC__INIT(lc__mutex_init, m, name)
#define lc_mutex_init_recursive(m, name)                                       \
	LC__INIT(lc__mutex_init_recursive, m, name)
#define lc_mutex_lock(m)    lc__mutex_lock((m), LC__AT)
#define lc_mutex_trylock(m) lc__mutex_trylock((m), LC__AT)
#define lc_mutex_timedlock(m, abstime)                                         \
	lc__mutex_timedlock((m), (abstime), LC__AT)
#define lc_mutex_unlock(m)	   lc__mutex_unlock((m), LC__AT)
#define lc_mutex_destroy(m)	   lc__mutex_destroy((m), LC__AT)
#define lc_mutex_set_order(m, key) lc__mutex_set_order((m), (key))

#define lc_rwlock_init(l, name)	    LC__INIT(lc__rwlock_init, l, name)
#define lc_rwlock_rdlock(l)	    lc__rwlock_rdlock((l), LC__AT)
#define lc_rwlock_wrlock(l)	    lc__rwlock_wrlock((l), LC__AT)
#define lc_rwlock_tryrdlock(l)	    lc__rwlock_tryrdlock((l), LC__AT)
#define lc_rwlock_trywrlock(l)	    lc__rwlock_trywrlock((l), LC__AT)
#define lc_rwlock_unlock(l)	    lc__rwlock_unlock((l), LC__AT)
#define lc_rwlock_destroy(l)	    lc__rwlock_destroy((l), LC__AT)
#define lc_rwlock_set_order(l, key) lc__rwlock_set_order((l), (key))

#define lc_cond_init(c) LC__INIT(lc__cond_init, c, "condvar")
#define lc_cond_init_clock(c, clock)                                           \
	__extension__({                                                        \
		static struct lc__key lc__site_key = {                         \
			NULL,	  __FILE__,	  __LINE__,                    \
			__func__, #c ", " #clock, &lc__tu_anchor               \
		};                                                             \
		lc__cond_init_clock((c), (clock), &lc__site_key);              \
	})
#define lc_cond_wait(c, m) lc__cond_wait((c), (m), LC__AT)
#define lc_cond_timedwait(c, m, abstime)                                       \
	lc__cond_timedwait((c), (m), (abstime), LC__AT)
#define lc_cond_signal(c)    lc__cond_signal((c), LC__AT)
#define lc_cond_broadcast(c) lc__cond_broadcast((c), LC__AT)
#define lc_cond_destroy(c)   lc__cond_destroy((c))

/* lock: an lc_mutex_t * or lc_rwlock_t *. Reports assert-held when the
 * calling thread does not hold it (in any mode); _not_held the reverse. */
#define lc_assert_held(lock)	 lc__assert_held(&(lock)->lk, LC__AT)
#define lc_assert_not_held(lock) lc__assert_not_held(&(lock)->lk, LC__AT)

/* The checked calls behind the macros: one per operation, each with the
 * call's file, line and function (lockcheck/mutex.c, rwlock.c, cond.c).
 * Signals and broadcasts order their thread's past before the waits
 * they wake (race checking). */
int lc__mutex_init(lc_mutex_t *m, const char *name, struct lc__key *key);
int lc__mutex_init_recursive(lc_mutex_t *m, const char *name,
			     struct lc__key *key);
int lc__mutex_lock(lc_mutex_t *m, const char *file, int line, const char *func)
	LC_ACQUIRE(m);
int lc__mutex_trylock(lc_mutex_t *m, const char *file, int line,
		      const char *func) LC_TRY_ACQUIRE(0, m);
int lc__mutex_timedlock(lc_mutex_t *m, const struct timespec *abstime,
			const char *file, int line, const char *func)
	LC_TRY_ACQUIRE(0, m);
int lc__mutex_unlock(lc_mutex_t *m, const char *file, int line,
		     const char *func) LC_RELEASE(m);
int lc__mutex_destroy(lc_mutex_t *m, const char *file, int line,
		      const char *func);
int lc__mutex_set_order(lc_mutex_t *m, uint64_t key);

int lc__rwlock_init(lc_rwlock_t *l, const char *name, struct lc__key *key);
int lc__rwlock_rdlock(lc_rwlock_t *l, const char *file, int line,
		      const char *func) LC_ACQUIRE_SHARED(l);
int lc__rwlock_wrlock(lc_rwlock_t *l, const char *file, int line,
		      const char *func) LC_ACQUIRE(l);
int lc__rwlock_tryrdlock(lc_rwlock_t *l, const char *file, int line,
			 const char *func) LC_TRY_ACQUIRE_SHARED(0, l);
int lc__rwlock_trywrlock(lc_rwlock_t *l, const char *file, int line,
			 const char *func) LC_TRY_ACQUIRE(0, l);
int lc__rwlock_unlock(lc_rwlock_t *l, const char *file, int line,
		      const char *func) LC_RELEASE_GENERIC(l);
int lc__rwlock_destroy(lc_rwlock_t *l, const char *file, int line,
		       const char *func);
int lc__rwlock_set_order(lc_rwlock_t *l, uint64_t key);

int lc__cond_wait(lc_cond_t *c, lc_mutex_t *m, const char *file, int line,
		  const char *func) LC_REQUIRES(m);
int lc__cond_timedwait(lc_cond_t *c, lc_mutex_t *m,
		       const struct timespec *abstime, const char *file,
		       int line, const char *func) LC_REQUIRES(m);
int lc__cond_init(lc_cond_t *c, const char *name, struct lc__key *key);
int lc__cond_signal(lc_cond_t *c, const char *file, int line, const char *func);
int lc__cond_broadcast(lc_cond_t *c, const char *file, int line,
		       const char *func);
int lc__cond_destroy(lc_cond_t *c);
#ifdef CLOCK_MONOTONIC
int lc__cond_init_clock(lc_cond_t *c, clockid_t clock, struct lc__key *key);
#endif

void lc__assert_held(struct lc__lock *lk, const char *file, int line,
		     const char *func);
void lc__assert_not_held(struct lc__lock *lk, const char *file, int line,
			 const char *func);

#if defined(__GNUC__)
extern const int lc_built_with_LOCKCHECK_1;
static const int *const lc__link_mode __attribute__((used)) =
	&lc_built_with_LOCKCHECK_1;
#endif

#else /* !LOCKCHECK */

/* ---- Plain build: the pthread calls and nothing else. ----------------- */

typedef struct LC_CAPABILITY("mutex") lc_mutex {
	pthread_mutex_t pm;
} lc_mutex_t;

typedef struct LC_CAPABILITY("rwlock") lc_rwlock {
	lc__pthread_rwlock_t prw;
} lc_rwlock_t;

typedef struct lc_cond {
	pthread_cond_t pc;
} lc_cond_t;

#define LC_MUTEX_INITIALIZER(name)                                             \
	{                                                                      \
		PTHREAD_MUTEX_INITIALIZER                                      \
	}
#define LC_RWLOCK_INITIALIZER(name)                                            \
	{                                                                      \
		LC__PTHREAD_RWLOCK_INITIALIZER                                 \
	}
#define LC_COND_INITIALIZER                                                    \
	{                                                                      \
		PTHREAD_COND_INITIALIZER                                       \
	}

/* In lockcheck/mode_off.c: the calls strict ISO C cannot see (a recursive
 * mutex needs pthread_mutexattr_settype, hidden there too). */
int lc__plain_mutex_init_recursive(lc_mutex_t *m);
int lc__plain_mutex_timedlock(lc_mutex_t *m, const struct timespec *abstime);
int lc__plain_rwlock_init(lc_rwlock_t *l);
int lc__plain_rwlock_rdlock(lc_rwlock_t *l);
int lc__plain_rwlock_wrlock(lc_rwlock_t *l);
int lc__plain_rwlock_tryrdlock(lc_rwlock_t *l);
int lc__plain_rwlock_trywrlock(lc_rwlock_t *l);
int lc__plain_rwlock_unlock(lc_rwlock_t *l);
int lc__plain_rwlock_destroy(lc_rwlock_t *l);

/* What each call does to its lock, for Thread Safety Analysis (their
 * bodies are pthreads', which the analysis does not follow). */
static inline int lc_mutex_lock(lc_mutex_t *m) LC_ACQUIRE(m);
static inline int lc_mutex_trylock(lc_mutex_t *m) LC_TRY_ACQUIRE(0, m);
static inline int lc_mutex_timedlock(lc_mutex_t *m,
				     const struct timespec *abstime)
	LC_TRY_ACQUIRE(0, m);
static inline int lc_mutex_unlock(lc_mutex_t *m) LC_RELEASE(m);
static inline int lc_rwlock_rdlock(lc_rwlock_t *l) LC_ACQUIRE_SHARED(l);
static inline int lc_rwlock_wrlock(lc_rwlock_t *l) LC_ACQUIRE(l);
static inline int lc_rwlock_tryrdlock(lc_rwlock_t *l)
	LC_TRY_ACQUIRE_SHARED(0, l);
static inline int lc_rwlock_trywrlock(lc_rwlock_t *l) LC_TRY_ACQUIRE(0, l);
static inline int lc_rwlock_unlock(lc_rwlock_t *l) LC_RELEASE_GENERIC(l);
static inline int lc_cond_wait(lc_cond_t *c, lc_mutex_t *m) LC_REQUIRES(m);
static inline int lc_cond_timedwait(lc_cond_t *c, lc_mutex_t *m,
				    const struct timespec *abstime)
	LC_REQUIRES(m);

/* The wrappers are functions, each one pthread call (the same
 * instructions once inlined); names and order keys only matter to the
 * checker. Where strict ISO C hides a call, it goes through mode_off.c. */
static inline int lc_mutex_init(lc_mutex_t *m, const char *name)
{
	(void)name;
	return pthread_mutex_init(&m->pm, NULL);
}

static inline int lc_mutex_init_recursive(lc_mutex_t *m, const char *name)
{
	(void)name;
	return lc__plain_mutex_init_recursive(m);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_mutex_lock(lc_mutex_t *m)
{
	return pthread_mutex_lock(&m->pm);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_mutex_trylock(lc_mutex_t *m)
{
	return pthread_mutex_trylock(&m->pm);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_mutex_timedlock(lc_mutex_t *m,
				     const struct timespec *abstime)
{
#if LC__POSIX_LOCKS
	return pthread_mutex_timedlock(&m->pm, abstime);
#else
	return lc__plain_mutex_timedlock(m, abstime);
#endif
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_mutex_unlock(lc_mutex_t *m)
{
	return pthread_mutex_unlock(&m->pm);
}

static inline int lc_mutex_destroy(lc_mutex_t *m)
{
	return pthread_mutex_destroy(&m->pm);
}

static inline int lc_mutex_set_order(lc_mutex_t *m, uint64_t key)
{
	(void)m;
	(void)key;
	return 0;
}

#if LC__POSIX_LOCKS
static inline int lc_rwlock_init(lc_rwlock_t *l, const char *name)
{
	(void)name;
	return pthread_rwlock_init(&l->prw, NULL);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_rwlock_rdlock(lc_rwlock_t *l)
{
	return pthread_rwlock_rdlock(&l->prw);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_rwlock_wrlock(lc_rwlock_t *l)
{
	return pthread_rwlock_wrlock(&l->prw);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_rwlock_tryrdlock(lc_rwlock_t *l)
{
	return pthread_rwlock_tryrdlock(&l->prw);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_rwlock_trywrlock(lc_rwlock_t *l)
{
	return pthread_rwlock_trywrlock(&l->prw);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_rwlock_unlock(lc_rwlock_t *l)
{
	return pthread_rwlock_unlock(&l->prw);
}

static inline int lc_rwlock_destroy(lc_rwlock_t *l)
{
	return pthread_rwlock_destroy(&l->prw);
}
#else
static inline int lc_rwlock_init(lc_rwlock_t *l, const char *name)
{
	(void)name;
	return lc__plain_rwlock_init(l);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_rwlock_rdlock(lc_rwlock_t *l)
{
	return lc__plain_rwlock_rdlock(l);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_rwlock_wrlock(lc_rwlock_t *l)
{
	return lc__plain_rwlock_wrlock(l);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_rwlock_tryrdlock(lc_rwlock_t *l)
{
	return lc__plain_rwlock_tryrdlock(l);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_rwlock_trywrlock(lc_rwlock_t *l)
{
	return lc__plain_rwlock_trywrlock(l);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_rwlock_unlock(lc_rwlock_t *l)
{
	return lc__plain_rwlock_unlock(l);
}

static inline int lc_rwlock_destroy(lc_rwlock_t *l)
{
	return lc__plain_rwlock_destroy(l);
}
#endif

static inline int lc_rwlock_set_order(lc_rwlock_t *l, uint64_t key)
{
	(void)l;
	(void)key;
	return 0;
}

static inline int lc_cond_init(lc_cond_t *c)
{
	return pthread_cond_init(&c->pc, NULL);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_cond_wait(lc_cond_t *c, lc_mutex_t *m)
{
	return pthread_cond_wait(&c->pc, &m->pm);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline int lc_cond_timedwait(lc_cond_t *c, lc_mutex_t *m,
				    const struct timespec *abstime)
{
	return pthread_cond_timedwait(&c->pc, &m->pm, abstime);
}

static inline int lc_cond_signal(lc_cond_t *c)
{
	return pthread_cond_signal(&c->pc);
}

static inline int lc_cond_broadcast(lc_cond_t *c)
{
	return pthread_cond_broadcast(&c->pc);
}

static inline int lc_cond_destroy(lc_cond_t *c)
{
	return pthread_cond_destroy(&c->pc);
}

/* Either lock type: a macro, evaluating its argument once. */
#define lc_assert_held(lock)	 ((void)(lock))
#define lc_assert_not_held(lock) ((void)(lock))

#if defined(__GNUC__)
extern const int lc_built_with_LOCKCHECK_0;
static const int *const lc__link_mode __attribute__((used)) =
	&lc_built_with_LOCKCHECK_0;
#endif

#endif /* LOCKCHECK */

LC__STATIC_ASSERT(sizeof(lc__pthread_rwlock_t) == __SIZEOF_PTHREAD_RWLOCK_T,
		  "lc_rwlock_t holds a pthread_rwlock_t in every mode");

/* lc_cond_init_clock(c, clock): like lc_cond_init, with
 * lc_cond_timedwait's deadline measured on clock: CLOCK_MONOTONIC makes a
 * timeout that a wall-clock step cannot move. (Strict ISO C has no
 * clockid_t: there it is not declared.) Checked: a macro, site-keyed. */
#if !LOCKCHECK && defined(CLOCK_MONOTONIC)
int lc_cond_init_clock(lc_cond_t *c, clockid_t clock);
#endif

/*
 * Scoped locks: LC_SCOPED_LOCK(m), LC_SCOPED_RDLOCK(l), LC_SCOPED_WRLOCK(l)
 * take the lock and give it back when the enclosing block ends, however
 * it ends (return, break, goto out of it), as Linux's guard(mutex): a
 * declaration, so write it as a statement of its own, once per lock, in
 * the block the lock covers. GCC and clang (the cleanup attribute), C and
 * C++. The plain build runs exactly the lock and the unlock call; the
 * checked build passes the declaration's site to both. A lock that fails
 * (the checker's EDEADLK on a recursive lock) is not unlocked. Clang's
 * Thread Safety Analysis does not follow a cleanup function: it does not
 * see a scoped lock as held (take the lock explicitly where it checks).
 */
#define LC__CAT2(a, b) a##b
#define LC__CAT(a, b)  LC__CAT2(a, b)
#define LC__SCOPE_VAR  LC__CAT(lc__scope_, __COUNTER__)

#if LOCKCHECK
/* The lock a scope holds and the scope's site, for its unlock. */
struct lc__scope {
	struct lc__lock *lk; /* NULL: the lock failed, nothing to undo */
	void *lock;	     /* the lc_mutex_t or lc_rwlock_t */
	const char *file;
	int line;
	const char *func;
};

struct lc__scope lc__scope_lock(lc_mutex_t *m, const char *file, int line,
				const char *func);
struct lc__scope lc__scope_rdlock(lc_rwlock_t *l, const char *file, int line,
				  const char *func);
struct lc__scope lc__scope_wrlock(lc_rwlock_t *l, const char *file, int line,
				  const char *func);
void lc__scope_end(struct lc__scope *s);

#define LC__SCOPE(start)                                                       \
	struct lc__scope LC__SCOPE_VAR                                         \
		__attribute__((unused, cleanup(lc__scope_end))) = start

#define LC_SCOPED_LOCK(m)   LC__SCOPE(lc__scope_lock((m), LC__AT))
#define LC_SCOPED_RDLOCK(l) LC__SCOPE(lc__scope_rdlock((l), LC__AT))
#define LC_SCOPED_WRLOCK(l) LC__SCOPE(lc__scope_wrlock((l), LC__AT))
#else
LC_NO_THREAD_SAFETY_ANALYSIS
static inline lc_mutex_t *lc__scope_lock(lc_mutex_t *m)
{
	lc_mutex_lock(m);
	return m;
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline void lc__scope_unlock(lc_mutex_t **m)
{
	lc_mutex_unlock(*m);
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline lc_rwlock_t *lc__scope_rdlock(lc_rwlock_t *l)
{
	lc_rwlock_rdlock(l);
	return l;
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline lc_rwlock_t *lc__scope_wrlock(lc_rwlock_t *l)
{
	lc_rwlock_wrlock(l);
	return l;
}

LC_NO_THREAD_SAFETY_ANALYSIS
static inline void lc__scope_rwunlock(lc_rwlock_t **l)
{
	lc_rwlock_unlock(*l);
}

#define LC__PLAIN_SCOPE(type, end, start)                                      \
	type *LC__SCOPE_VAR __attribute__((unused, cleanup(end))) = start
#define LC_SCOPED_LOCK(m)                                                      \
	LC__PLAIN_SCOPE(lc_mutex_t, lc__scope_unlock, lc__scope_lock(m))
#define LC_SCOPED_RDLOCK(l)                                                    \
	LC__PLAIN_SCOPE(lc_rwlock_t, lc__scope_rwunlock, lc__scope_rdlock(l))
#define LC_SCOPED_WRLOCK(l)                                                    \
	LC__PLAIN_SCOPE(lc_rwlock_t, lc__scope_rwunlock, lc__scope_wrlock(l))
#endif

/*
 * lc_once(once, fn): pthread_once for an lc_once_t, which the checker sees
 * as a lock class (LC_ONCE_INIT(name): the class and its name): a call
 * takes it while fn runs, so fn's locks are ordered after it and a call
 * made holding a lock is ordered before it, done or not. An init function
 * that takes a lock which a thread calling the same once holds is a
 * lock-order-cycle; a once called from its own init function is a
 * recursive-lock and returns EDEADLK instead of hanging. Returns 0, or
 * EINVAL for NULL. Plain build: pthread_once, nothing else.
 */
#if LOCKCHECK
typedef struct lc_once_control {
	lc_mutex_t m;	      /* held while fn runs */
	LC__ATOMIC(int) done; /* fn returned */
} lc_once_t;
#define LC_ONCE_INIT(name)                                                     \
	{                                                                      \
		LC_MUTEX_INITIALIZER(name), 0                                  \
	}
#define lc_once(once, fn) lc__once((once), (fn), LC__AT)
int lc__once(lc_once_t *once, void (*fn)(void), const char *file, int line,
	     const char *func);
#else
typedef struct lc_once_control {
	pthread_once_t po;
} lc_once_t;
#define LC_ONCE_INIT(name)                                                     \
	{                                                                      \
		PTHREAD_ONCE_INIT                                              \
	}
static inline int lc_once(lc_once_t *once, void (*fn)(void))
{
	return once && fn ? pthread_once(&once->po, fn) : EINVAL;
}
#endif

/*
 * Wait nodes of the structures built on the lock layer (ds_chan, ds_pool):
 * the checker's hooks, no-ops in the plain build. Internal to this
 * project: the API may change.
 *
 * lc__cond_init_node(c, clock, bound, what, name, role, file, line): an
 * lc_cond_init_clock whose class is the structure's create site (file,
 * line) and whose reports say "<what> `<name>` (<role>)" (no role: NULL);
 * bound: the mutex its waits will use, or NULL.
 * lc__cond_event(c): what a waiter on c waits for happened, with nobody
 * to wake: recorded as a signal (a channel's push or pop).
 * lc__node_enter(c) / lc__node_leave(c): the calling thread runs inside
 * the node (a pool's task): locks it takes are wanted inside it.
 * lc__node_wait(c): the calling thread is about to wait for the node (a
 * blocking submit, a shutdown that waits for tasks).
 * LC_COND_IDLE(c): c's waiters wait for work, which nobody owes them (a
 * pool's idle workers): the watchdog never reports them.
 * LC_COND_FILL(c, fn, obj): c's waiters wait on a structure of items (a
 * channel): a waiter, before it blocks and holding the mutex that guards
 * obj, calls fn(obj, &cap) (items held; *cap: its capacity), and the
 * watchdog's report says it. Set after init.
 * LC_NODE_BLOCK(c) / LC_NODE_UNBLOCK(c): around a wait for the node
 * outside any condvar (a pool's shutdown joining its workers): the
 * watchdog sees it as an untimed wait on c. No locks taken in between.
 */
#if LOCKCHECK
#ifdef CLOCK_MONOTONIC
int lc__cond_init_node(lc_cond_t *c, clockid_t clock, lc_mutex_t *bound,
		       const char *what, const char *name, const char *role,
		       const char *file, int line);
#endif
void lc__cond_event(lc_cond_t *c, const char *file, int line, const char *func);
void lc__node_enter(lc_cond_t *c, const char *file, int line, const char *func);
void lc__node_leave(lc_cond_t *c);
void lc__node_wait(lc_cond_t *c, const char *file, int line, const char *func);
void lc__node_block(lc_cond_t *c, const char *file, int line, const char *func);
void lc__node_unblock(lc_cond_t *c);
#define LC_COND_EVENT(c) lc__cond_event((c), LC__AT)
#define LC_NODE_ENTER(c) lc__node_enter((c), LC__AT)
#define LC_NODE_LEAVE(c) lc__node_leave((c))
#define LC_NODE_WAIT(c)	 lc__node_wait((c), LC__AT)
#define LC_COND_IDLE(c)	 ((void)((c)->idle = 1))
#define LC_COND_FILL(c, fn, obj)                                               \
	((void)((c)->fill = (fn), (c)->fill_obj = (obj)))
#define LC_NODE_BLOCK(c)   lc__node_block((c), LC__AT)
#define LC_NODE_UNBLOCK(c) lc__node_unblock((c))
#else
#ifdef CLOCK_MONOTONIC
static inline int lc__cond_init_node(lc_cond_t *c, clockid_t clock,
				     lc_mutex_t *bound, const char *what,
				     const char *name, const char *role,
				     const char *file, int line)
{
	(void)bound, (void)what, (void)name, (void)role, (void)file, (void)line;
	return lc_cond_init_clock(c, clock);
}
#endif
#define LC_COND_EVENT(c)	 ((void)(c))
#define LC_NODE_ENTER(c)	 ((void)(c))
#define LC_NODE_LEAVE(c)	 ((void)(c))
#define LC_NODE_WAIT(c)		 ((void)(c))
#define LC_COND_IDLE(c)		 ((void)(c))
#define LC_COND_FILL(c, fn, obj) ((void)(c), (void)(fn), (void)(obj))
#define LC_NODE_BLOCK(c)	 ((void)(c))
#define LC_NODE_UNBLOCK(c)	 ((void)(c))
#endif

/* lc_assert_no_locks_held(): reports assert-held when the calling thread
 * holds any lock (in any mode), naming each and where it was taken; for
 * code that must run with no lock at all, as a pool worker about to run a
 * task. Like jemalloc's witness_assert_lockless. No-op with LOCKCHECK=0. */
#if LOCKCHECK
#define lc_assert_no_locks_held() lc__assert_no_locks_held(LC__AT)
void lc__assert_no_locks_held(const char *file, int line, const char *func);
#else
#define lc_assert_no_locks_held() ((void)0)
#endif

/*
 * Race checking. A range of memory [ptr, ptr + size) can be declared
 * guarded by a lock: every checked access to it must hold the lock (a
 * write exclusively: a mutex, or an rwlock's write lock; a read in any
 * mode), and one that does not is reported (kind race) at that access,
 * whatever the schedule, once per access site and declaration. The check
 * is by byte: an access is checked against every declaration that covers
 * any of its bytes, so overlapping declarations all apply and a
 * declaration may cover part of a struct. The guard is the lock
 * instance: a lock destroyed and initialised again is another lock.
 *
 * Accesses to ranges no declaration covers are checked by happens-before,
 * as ThreadSanitizer does but only where asked: two accesses with a byte
 * in common, by different threads, at least one a write, that no order
 * connects are reported once per pair of sites. Order comes from thread
 * create and join, an lc_ lock's release and a later acquisition (an
 * rwlock's read unlock orders only a later write lock), a condvar signal
 * and the wait it wakes, and lc_handoff. Only accesses marked with
 * lc_read/lc_write (or LC_READ/LC_WRITE) are checked; the checker starts
 * recording order at the first of these calls, so a program that makes
 * none pays nothing for it.
 *
 *   lc_guard(ptr, size, lock)  declares the guard (lock: an lc_mutex_t *
 *                              or lc_rwlock_t *); 0, EINVAL (NULL, size
 *                              0), ENOMEM, EAGAIN (from a signal handler
 *                              that interrupted its thread inside the
 *                              checker: nothing declared, call it again
 *                              outside the handler)
 *   lc_unguard(ptr, size)      forgets declarations and history of the
 *                              range (call it before the memory is freed
 *                              or reused); a declaration partly inside
 *                              keeps its bytes outside
 *   lc_read / lc_write(ptr, size)   records one access of size bytes
 *   LC_READ(lv)                the value of lvalue lv, its read recorded
 *   LC_WRITE(lv, v)            lv = v, its write recorded
 *   lc_handoff(ptr, size)      the range passes to the next thread that
 *                              touches it: its history is forgotten
 *
 * These calls are not async-signal-safe either, but a signal handler's
 * call that interrupted its thread inside the checker never waits for
 * what its thread holds: lc_guard returns EAGAIN, an access is not checked
 * (a miss), and lc_unguard and lc_handoff are kept in a fixed table
 * (128 distinct ranges) and take effect before the next race call of any
 * thread; when that table is full race checking stops, with a limit
 * finding, rather than report against a declaration or history the
 * handler ended. fork() is safe with race calls in other threads: the
 * child can use every race call.
 *
 * With LOCKCHECK=0 they do nothing: lc_guard, lc_unguard, lc_read,
 * lc_write and lc_handoff are static inline functions that return 0 or
 * nothing (their arguments are evaluated once); LC_READ(lv) is
 * (lv) and LC_WRITE(lv, v) is ((lv) = (v)). With LOCKCHECK=1 LC_READ and
 * LC_WRITE evaluate lv twice (its address, then its value): give them an
 * lvalue without side effects.
 */
#if LOCKCHECK
#define lc_guard(ptr, size, lock)                                              \
	lc__guard((ptr), (size), &(lock)->lk, #lock, LC__AT)
#define lc_unguard(ptr, size) lc__unguard((ptr), (size))
/* Where an access is made: one constant per call site, so that a call
 * passes one pointer and the checker keeps it (a statement expression
 * declares it, as LC__INIT does a lock's key; named by __COUNTER__, so
 * that an access within another's arguments shadows nothing). */
struct lc__access_site {
	const char *file;
	int line;
	const char *func;
};
#define LC__ACCESS(ptr, size, write)                                           \
	LC__ACCESS_AT(ptr, size, write, LC__CAT(lc__access_at_, __COUNTER__))
#define LC__ACCESS_AT(ptr, size, write, at)                                    \
	__extension__({                                                        \
		static const struct lc__access_site at = { __FILE__, __LINE__, \
							   __func__ };         \
		lc__access((ptr), (size), (write), &at);                       \
	})
#define lc_read(ptr, size)    LC__ACCESS((ptr), (size), 0)
#define lc_write(ptr, size)   LC__ACCESS((ptr), (size), 1)
#define lc_handoff(ptr, size) lc__handoff((ptr), (size))
#define LC_READ(lv)	      (LC__ACCESS(&(lv), sizeof(lv), 0), (lv))
#define LC_WRITE(lv, v)	      (LC__ACCESS(&(lv), sizeof(lv), 1), (lv) = (v))

int lc__guard(const volatile void *ptr, size_t size, struct lc__lock *lk,
	      const char *text, const char *file, int line, const char *func);
void lc__unguard(const volatile void *ptr, size_t size);
void lc__access(const volatile void *ptr, size_t size, int write,
		const struct lc__access_site *at);
void lc__handoff(const volatile void *ptr, size_t size);
#else
/* lock: either lock type (the checked build's macro takes both). */
static inline int lc_guard(const volatile void *ptr, size_t size,
			   const volatile void *lock)
{
	(void)ptr;
	(void)size;
	(void)lock;
	return 0;
}

#define LC_READ(lv)	(lv)
#define LC_WRITE(lv, v) ((lv) = (v))

static inline void lc_unguard(const volatile void *ptr, size_t size)
{
	(void)ptr;
	(void)size;
}

static inline void lc_read(const volatile void *ptr, size_t size)
{
	(void)ptr;
	(void)size;
}

static inline void lc_write(const volatile void *ptr, size_t size)
{
	(void)ptr;
	(void)size;
}

static inline void lc_handoff(const volatile void *ptr, size_t size)
{
	(void)ptr;
	(void)size;
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* LOCKCHECK_LOCKCHECK_H */
