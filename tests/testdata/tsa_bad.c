/* tsa_bad.c: a guarded global written without its lock. clang
 * -Wthread-safety -Werror must refuse it (in both modes). */
#include "lockcheck/lockcheck.h"

static lc_mutex_t stats_lock = LC_MUTEX_INITIALIZER("stats");
static long hits LC_GUARDED_BY(stats_lock);

void tsa_bad(void);
void tsa_bad(void)
{
	hits++; /* without stats_lock */
}
