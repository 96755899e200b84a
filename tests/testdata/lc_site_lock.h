/*
 * lc_site_lock.h: an init site inside a header's static inline function,
 * compiled into two .c files (lc_site_test.c and lc_site_other.c): one init
 * site, so one lock class, although each file has its own static key.
 */
#ifndef LC_SITE_LOCK_H
#define LC_SITE_LOCK_H

#include "lockcheck/lockcheck.h"

static inline void site_lock_init(lc_mutex_t *m, uint64_t key,
				  const char *name)
{
	lc_mutex_init(m, name); /* the name is for reports; the site is one */
	lc_mutex_set_order(m, key);
}

/* In lc_site_other.c: the same init site, from the other file. */
void site_lock_init_elsewhere(lc_mutex_t *m, uint64_t key);

#endif /* LC_SITE_LOCK_H */
