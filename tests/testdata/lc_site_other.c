/* lc_site_other.c: the header's init site, compiled in a second file. */
#include "lc_site_lock.h"

void site_lock_init_elsewhere(lc_mutex_t *m, uint64_t key)
{
	site_lock_init(m, key, "site.lock.b");
}
