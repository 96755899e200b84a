/*
 * lc_site_lock.h: an init site inside a header's static inline function,
 * compiled into two .c files (lc_site_test.c and lc_site_other.c): one init
 * call, so one lock class, although each file has its own static key.
 */
#ifndef LC_SITE_LOCK_H
#define LC_SITE_LOCK_H

#include "lockcheck/lockcheck.h"

static inline void site_lock_init(lc_mutex_t *m, uint64_t key, const char *name)
{
	lc_mutex_init(m, name); /* the name is for reports; the site is one */
	lc_mutex_set_order(m, key);
}

/* Two init calls on one line: two classes, in every file. */
static inline void site_pair_init(lc_mutex_t *a, lc_mutex_t *b)
{
	/* clang-format off */
	lc_mutex_init(a, "site.a"); lc_mutex_init(b, "site.b");
	/* clang-format on */
}

/* In lc_site_other.c: the same init calls, from the other file. */
void site_lock_init_elsewhere(lc_mutex_t *m, uint64_t key);
void site_pair_init_elsewhere(lc_mutex_t *a, lc_mutex_t *b);

#endif /* LC_SITE_LOCK_H */
