/* tsa_good.c: correct locking that clang -Wthread-safety accepts (in
 * both modes): guarded globals, REQUIRES helpers, rwlock modes, trylock. */
#include "lockcheck/lockcheck.h"

static lc_mutex_t stats_lock = LC_MUTEX_INITIALIZER("stats");
static lc_rwlock_t table_lock = LC_RWLOCK_INITIALIZER("table");
static long hits LC_GUARDED_BY(stats_lock);
static long table LC_GUARDED_BY(table_lock);
static long *slots LC_PT_GUARDED_BY(table_lock);

static void bump_locked(void) LC_REQUIRES(stats_lock);
static void bump_locked(void)
{
	hits++;
}

static long peek_locked(void) LC_REQUIRES_SHARED(table_lock);
static long peek_locked(void)
{
	return table + (slots ? *slots : 0);
}

long tsa_good(void) LC_EXCLUDES(stats_lock);
long tsa_good(void)
{
	long h, t;

	lc_mutex_lock(&stats_lock);
	bump_locked();
	h = hits;
	lc_mutex_unlock(&stats_lock);
	lc_rwlock_rdlock(&table_lock);
	t = peek_locked();
	lc_rwlock_unlock(&table_lock);
	lc_rwlock_wrlock(&table_lock);
	table = t + 1;
	lc_rwlock_unlock(&table_lock);
	if (lc_mutex_trylock(&stats_lock) == 0) {
		hits = 0;
		lc_mutex_unlock(&stats_lock);
	}
	return h + t;
}
