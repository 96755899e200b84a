/* lc_site_other.c: the header's init site, compiled in a second file. */
#include "lc_site_lock.h"

void site_lock_init_elsewhere(lc_mutex_t *m, uint64_t key)
{
	site_lock_init(m, key, "site.lock.b");
}

void site_pair_init_elsewhere(lc_mutex_t *a, lc_mutex_t *b)
{
	site_pair_init(a, b);
}
