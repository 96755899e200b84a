/*
 * workers.c: two processes, each correct on its own. worker-a takes the
 * registry, then the journal; worker-b the journal, then the registry.
 * Within either process there is one order and nothing to report; running
 * both code paths in one program could deadlock. Only the merged graph of
 * both dumps shows it: lockgraph's job.
 */
#include <string.h>

#include "demo.h"
#include "lockcheck/lockcheck.h"

/* One init site for both processes: the same classes in both dumps. */
static lc_mutex_t registry = LC_MUTEX_INITIALIZER("registry");
static lc_mutex_t journal = LC_MUTEX_INITIALIZER("journal");

static lc_mutex_t *lock_named(const char *name)
{
	return strcmp(name, "registry") == 0 ? &registry : &journal;
}

int demo_worker(const char *first, const char *second)
{
	lc_mutex_t *a = lock_named(first), *b = lock_named(second);

	for (int i = 0; i < 1000; i++) {
		lc_mutex_lock(a);
		lc_mutex_lock(b);
		lc_mutex_unlock(b);
		lc_mutex_unlock(a);
	}
	say("takes %s, then %s (1000 times): nothing to report", first, second);
	return 0;
}
