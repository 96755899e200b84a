/*
 * preload.h: what the preload library's files share (lc__pre_ names).
 *
 * liblockcheck-preload.so runs the checker of lockcheck/ under a program's
 * own pthread calls. The program's lock objects have no room for the
 * checker's struct lc__lock, so each lock's state lives in a side table
 * keyed by the lock's address (table.c), made the first time a wrapper
 * sees the lock and dropped at its destroy. A lock gets its class from
 * how it was first seen (names.c): its pthread_*_init call site, its
 * static variable, or the first lock call's site.
 *
 * Every wrapper may run before the library's constructor (another
 * library's constructor may lock first) and inside the loader or malloc
 * (dlsym allocates; an allocator may lock): a thread-local flag marks the
 * thread inside the preload, and a call made while it is set goes
 * straight to the real function. Nothing on these paths calls malloc: the
 * table and the names live in memory from mmap (arena.c).
 */
#ifndef LOCKCHECK_PRELOAD_PRELOAD_H
#define LOCKCHECK_PRELOAD_PRELOAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lockcheck/core.h"

#define LC__PRE_CALLER __builtin_return_address(0)

/* ---- real.c: the functions the wrappers stand in front of ---- */

struct lc__pre_real {
	int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
	int (*mutex_lock)(pthread_mutex_t *);
	int (*mutex_trylock)(pthread_mutex_t *);
	int (*mutex_timedlock)(pthread_mutex_t *, const struct timespec *);
	int (*mutex_clocklock)(pthread_mutex_t *, clockid_t,
			       const struct timespec *);
	int (*mutex_unlock)(pthread_mutex_t *);
	int (*mutex_destroy)(pthread_mutex_t *);
	int (*rwlock_init)(pthread_rwlock_t *, const pthread_rwlockattr_t *);
	int (*rwlock_rdlock)(pthread_rwlock_t *);
	int (*rwlock_wrlock)(pthread_rwlock_t *);
	int (*rwlock_tryrdlock)(pthread_rwlock_t *);
	int (*rwlock_trywrlock)(pthread_rwlock_t *);
	int (*rwlock_timedrdlock)(pthread_rwlock_t *, const struct timespec *);
	int (*rwlock_timedwrlock)(pthread_rwlock_t *, const struct timespec *);
	int (*rwlock_clockrdlock)(pthread_rwlock_t *, clockid_t,
				  const struct timespec *);
	int (*rwlock_clockwrlock)(pthread_rwlock_t *, clockid_t,
				  const struct timespec *);
	int (*rwlock_unlock)(pthread_rwlock_t *);
	int (*rwlock_destroy)(pthread_rwlock_t *);
	int (*cond_wait)(pthread_cond_t *, pthread_mutex_t *);
	int (*cond_timedwait)(pthread_cond_t *, pthread_mutex_t *,
			      const struct timespec *);
	int (*cond_clockwait)(pthread_cond_t *, pthread_mutex_t *, clockid_t,
			      const struct timespec *);
	int (*spin_init)(pthread_spinlock_t *, int);
	int (*spin_lock)(pthread_spinlock_t *);
	int (*spin_trylock)(pthread_spinlock_t *);
	int (*spin_unlock)(pthread_spinlock_t *);
	int (*spin_destroy)(pthread_spinlock_t *);
	int (*create)(pthread_t *, const pthread_attr_t *, void *(*)(void *),
		      void *);
	int (*join)(pthread_t, void **);
	int (*tryjoin)(pthread_t, void **);
	int (*timedjoin)(pthread_t, void **, const struct timespec *);
	pid_t (*fork)(void);
	void (*exit_now)(int) __attribute__((noreturn));
	void (*exit_now_c99)(int) __attribute__((noreturn));
};

/* The real functions, all found (lc__pre_resolve) before a wrapper that
 * calls one checks anything. */
extern struct lc__pre_real lc__pre_real;

/* Finds the real functions once (dlsym(RTLD_NEXT), the condition waits'
 * GLIBC_2.3.2 versions with dlvsym). Safe to call from every wrapper: a
 * call made while another is resolving (a lock taken inside dlsym) gets
 * glibc's own mutex functions, which nothing interposes. */
void lc__pre_resolve(void);

/* The real function or, while it is still being looked up, glibc's own. */
#define LC__PRE_REAL(fn) (lc__pre_resolve(), lc__pre_real.fn)

/* ---- guard.c: the thread inside the preload ---- */

/* Set while the calling thread runs a wrapper's checking part: a lock
 * call made meanwhile (by dlsym, malloc, the checker itself) goes to the
 * real function unchecked. */
extern _Thread_local bool lc__pre_busy
	__attribute__((tls_model("initial-exec")));

/* Whether a wrapper called now should check: not inside a wrapper, nor
 * inside the checker (a call from an allocator the checker called). Sets
 * the flag when it says yes; lc__pre_out clears it. */
static inline bool lc__pre_in(void)
{
	if (lc__pre_busy || lc__reentered())
		return false;
	lc__pre_busy = true;
	return true;
}

static inline void lc__pre_out(void)
{
	lc__pre_busy = false;
}

/* Whether the calling thread holds lk, by the checker's record. */
static inline bool lc__pre_held_here(const struct lc__lock *lk)
{
	const struct lc__thread *t = lc__owned;

	return t && lc__find_held(t, lk) >= 0;
}

/* ---- arena.c: memory that is never freed, from mmap ---- */

/* size bytes, zeroed, aligned for any object; NULL when mmap fails. */
void *lc__pre_alloc(size_t size);

/* A copy of s in the arena; a fixed placeholder when out of memory. */
const char *lc__pre_strdup(const char *s);

/* ---- table.c: a lock's checker state, by the lock's address ---- */

/* How the checker treats a lock it found. */
enum lc__pre_treat {
	LC__PRE_CHECKED,    /* every call goes through the checker */
	LC__PRE_ERRORCHECK, /* checked; its own errors (a relock, a foreign
			     * unlock) are left to pthreads, unreported */
	LC__PRE_PASS,	    /* robust or priority mutex: untouched */
};

struct lc__pre_lock {
	_Atomic uintptr_t addr;	   /* the program's lock; 0: entry free */
	struct lc__pre_lock *next; /* same bucket; set before publication */
	struct lc__lock lk;	   /* the checker's state for it */
	uint8_t treat;		   /* enum lc__pre_treat */
};

/* The entry of the lock at addr, or NULL when there is none. */
struct lc__pre_lock *lc__pre_find(const void *addr);

/* Makes a claimed entry ready: its lk zeroed, treat LC__PRE_CHECKED. */
typedef void lc__pre_init_fn(struct lc__pre_lock *e, void *arg);

/* The entry of the lock at addr; when there is none, one is claimed (an
 * entry a destroyed lock left, or a new one) and made ready by
 * init(e, arg) before any other thread can find it. NULL when the arena
 * is exhausted (the lock is then not checked). */
struct lc__pre_lock *lc__pre_claim(const void *addr, lc__pre_init_fn *init,
				   void *arg);

/* The lock at e's address is destroyed: e is free for another lock. */
void lc__pre_release(struct lc__pre_lock *e);

/* Fork: holds every claim of the table (no entry half made in the
 * child); frees them. */
void lc__pre_table_hold(void);
void lc__pre_table_free(void);

/* ---- fork.c: the preload's state across fork ---- */

/* pthread_atfork handlers: hold the preload's locks over the fork
 * (lock order: table, sites, symbols, as a first sighting nests them). */
void lc__pre_fork_prepare(void);
void lc__pre_fork_parent(void);
void lc__pre_fork_child(void);

/* ---- names.c: classes for locks nobody named ---- */

/* The site of the call whose return address is ra, for reports:
 * "module+0xoffset" in the enclosing function when a symbol tells it.
 * Never NULL (a placeholder when out of memory). */
const struct lc__site *lc__pre_site(const void *ra);

/* Names the state of a lock first seen at a lock call whose return
 * address is ra: classed by its static variable when addr lies in a
 * module's data, else by that call site. kind: LC__KIND_*. */
void lc__pre_name_unseen(struct lc__lock *lk, const void *addr, int kind,
			 const void *ra);

/* The checker's lc__lock_init for the lock at addr, initialised by a
 * call of function call ("pthread_mutex_init") whose return address is
 * ra: one class per init call site. */
void lc__pre_name_init(struct lc__lock *lk, const void *addr, int kind,
		       const char *call, const void *ra);

/* Fork: holds the site table's claim; frees it. */
void lc__pre_sites_hold(void);
void lc__pre_sites_free(void);

#endif /* LOCKCHECK_PRELOAD_PRELOAD_H */
