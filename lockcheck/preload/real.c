/*
 * real.c: the functions the wrappers stand in front of. Each is the next
 * definition after the preload library's (dlsym(RTLD_NEXT)), so another
 * preloaded library still sees the calls; the condition waits are the
 * GLIBC_2.3.2 versions a program built today links against (the default
 * dlsym would give the old 2.2.5 ones, with another pthread_cond_t).
 *
 * dlsym may allocate and an allocator may lock: a wrapper called on this
 * thread while it resolves gets glibc's __pthread_mutex_* functions, which
 * are exported for that kind of use and which nothing interposes. Every
 * pointer is written once, atomically, by whichever thread resolves first;
 * a second resolver writes the same values.
 */
#define _GNU_SOURCE
#include "preload.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int __pthread_mutex_init(pthread_mutex_t *, const pthread_mutexattr_t *);
int __pthread_mutex_lock(pthread_mutex_t *);
int __pthread_mutex_trylock(pthread_mutex_t *);
int __pthread_mutex_unlock(pthread_mutex_t *);
int __pthread_mutex_destroy(pthread_mutex_t *);

/* Until resolved: what a lock taken inside dlsym needs. */
struct lc__pre_real lc__pre_real = {
	.mutex_init = __pthread_mutex_init,
	.mutex_lock = __pthread_mutex_lock,
	.mutex_trylock = __pthread_mutex_trylock,
	.mutex_unlock = __pthread_mutex_unlock,
	.mutex_destroy = __pthread_mutex_destroy,
};

static atomic_int state; /* 0 not yet, 1 resolved */
static _Thread_local bool resolving __attribute__((tls_model("initial-exec")));

/* A symbol every glibc this runs on has: without it nothing can work. */
static void *need(const char *name, const char *version)
{
	void *p = version ? dlvsym(RTLD_NEXT, name, version)
			  : dlsym(RTLD_NEXT, name);
	static const char msg[] = "liblockcheck-preload: a pthread function "
				  "is missing from the C library\n";

	if (!p) {
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			abort();
		abort();
	}
	return p;
}

/* Newer calls an older glibc may lack: NULL then (the wrapper says ENOSYS
 * as the missing call would have failed to link). */
static void *maybe(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

#define NEED(field, name)      (*(void **)&r.field = need(name, NULL))
#define NEED_V(field, name, v) (*(void **)&r.field = need(name, v))
#define MAYBE(field, name)     (*(void **)&r.field = maybe(name))

static void resolve_all(void)
{
	struct lc__pre_real r;

	NEED(mutex_init, "pthread_mutex_init");
	NEED(mutex_lock, "pthread_mutex_lock");
	NEED(mutex_trylock, "pthread_mutex_trylock");
	NEED(mutex_timedlock, "pthread_mutex_timedlock");
	MAYBE(mutex_clocklock, "pthread_mutex_clocklock");
	NEED(mutex_unlock, "pthread_mutex_unlock");
	NEED(mutex_destroy, "pthread_mutex_destroy");
	NEED(rwlock_init, "pthread_rwlock_init");
	NEED(rwlock_rdlock, "pthread_rwlock_rdlock");
	NEED(rwlock_wrlock, "pthread_rwlock_wrlock");
	NEED(rwlock_tryrdlock, "pthread_rwlock_tryrdlock");
	NEED(rwlock_trywrlock, "pthread_rwlock_trywrlock");
	NEED(rwlock_timedrdlock, "pthread_rwlock_timedrdlock");
	NEED(rwlock_timedwrlock, "pthread_rwlock_timedwrlock");
	MAYBE(rwlock_clockrdlock, "pthread_rwlock_clockrdlock");
	MAYBE(rwlock_clockwrlock, "pthread_rwlock_clockwrlock");
	NEED(rwlock_unlock, "pthread_rwlock_unlock");
	NEED(rwlock_destroy, "pthread_rwlock_destroy");
	NEED_V(cond_wait, "pthread_cond_wait", "GLIBC_2.3.2");
	NEED_V(cond_timedwait, "pthread_cond_timedwait", "GLIBC_2.3.2");
	MAYBE(cond_clockwait, "pthread_cond_clockwait");
	NEED(spin_init, "pthread_spin_init");
	NEED(spin_lock, "pthread_spin_lock");
	NEED(spin_trylock, "pthread_spin_trylock");
	NEED(spin_unlock, "pthread_spin_unlock");
	NEED(spin_destroy, "pthread_spin_destroy");
	NEED(create, "pthread_create");
	NEED(join, "pthread_join");
	NEED(tryjoin, "pthread_tryjoin_np");
	NEED(timedjoin, "pthread_timedjoin_np");
	NEED(fork, "fork");
	NEED(exit_now, "_exit");
	NEED(exit_now_c99, "_Exit");
	/* Field by field: a thread that reads a pointer early sees either
	 * glibc's own function or the final one, both right. */
	for (size_t i = 0; i < sizeof(r) / sizeof(void *); i++)
		atomic_store_explicit(
			(void *_Atomic *)((void **)&lc__pre_real + i),
			((void **)&r)[i], memory_order_relaxed);
}

void lc__pre_resolve(void)
{
	if (atomic_load_explicit(&state, memory_order_acquire) || resolving)
		return;
	resolving = true;
	resolve_all();
	resolving = false;
	atomic_store_explicit(&state, 1, memory_order_release);
}
