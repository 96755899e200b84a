/*
 * ledger_test.c (consumer workspace): a lock-order bug over three locks:
 * journal -> index, index -> cache, cache -> journal, each in its own
 * thread. The checker reports the cycle and the test fails (exit 66).
 */
#include <pthread.h>

#include "lockcheck/lockcheck.h"

static lc_mutex_t journal = LC_MUTEX_INITIALIZER("ledger.journal");
static lc_mutex_t index_lock = LC_MUTEX_INITIALIZER("ledger.index");
static lc_mutex_t cache = LC_MUTEX_INITIALIZER("ledger.cache");

struct pair {
	lc_mutex_t *first, *second;
};

static void *take(void *arg)
{
	struct pair *p = arg;

	lc_mutex_lock(p->first);
	lc_mutex_lock(p->second);
	lc_mutex_unlock(p->second);
	lc_mutex_unlock(p->first);
	return NULL;
}

int main(void)
{
	struct pair pairs[] = { { &journal, &index_lock },
				{ &index_lock, &cache },
				{ &cache, &journal } };
	pthread_t t;

	for (int i = 0; i < 3; i++) {
		pthread_create(&t, NULL, take, &pairs[i]);
		pthread_join(t, NULL);
	}
	return 0;
}
