/*
 * lock_variant.h: the lock API of one benchmark variant, so one program
 * source measures them all. BENCH_RAW: plain pthreads (also the TSan and
 * Helgrind variants); otherwise the lc_ layer, whose LOCKCHECK value makes
 * it the checker-off or checker-on variant.
 */
#ifndef BENCH_LOCK_VARIANT_H
#define BENCH_LOCK_VARIANT_H

#include <pthread.h>
#include <stdint.h>

#ifdef BENCH_RAW

typedef pthread_mutex_t bl_mutex_t;
#define BL_INITIALIZER(name)  PTHREAD_MUTEX_INITIALIZER
#define bl_init(m, name, key) pthread_mutex_init((m), NULL)
#define bl_lock(m)	      pthread_mutex_lock(m)
#define bl_unlock(m)	      pthread_mutex_unlock(m)
#define bl_destroy(m)	      pthread_mutex_destroy(m)
/* A lock held for one block: the calls LC_SCOPED_LOCK stands for. */
#define BL_SCOPED_PAIR(m)                                                      \
	do {                                                                   \
		pthread_mutex_lock(m);                                         \
		pthread_mutex_unlock(m);                                       \
	} while (0)
#define BL_VARIANT "raw"

#else

#include "lockcheck/lockcheck.h"

typedef lc_mutex_t bl_mutex_t;
#define BL_INITIALIZER(name) LC_MUTEX_INITIALIZER(name)
#define bl_init(m, name, key)                                                  \
	(lc_mutex_init((m), (name)) || lc_mutex_set_order((m), (key)))
#define bl_lock(m)    lc_mutex_lock(m)
#define bl_unlock(m)  lc_mutex_unlock(m)
#define bl_destroy(m) lc_mutex_destroy(m)
#define BL_SCOPED_PAIR(m)                                                      \
	do {                                                                   \
		LC_SCOPED_LOCK(m);                                             \
	} while (0)
#define BL_VARIANT (LOCKCHECK ? "lc-on" : "lc-off")

#endif

#endif /* BENCH_LOCK_VARIANT_H */
