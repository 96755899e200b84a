/*
 * clean_test.c (consumer workspace): two locks always taken in one order,
 * from two threads, and a cache from @lockcheck//ds: nothing to report,
 * the test passes.
 */
#include <pthread.h>
#include <string.h>

#include "ds/cache.h"
#include "lockcheck/lockcheck.h"

static lc_mutex_t outer = LC_MUTEX_INITIALIZER("clean.outer");
static lc_mutex_t inner = LC_MUTEX_INITIALIZER("clean.inner");

static void *in_order(void *arg)
{
	(void)arg;
	for (int i = 0; i < 100; i++) {
		lc_mutex_lock(&outer);
		lc_mutex_lock(&inner);
		lc_mutex_unlock(&inner);
		lc_mutex_unlock(&outer);
	}
	return NULL;
}

/* The cache's own locks, from the user's side: insert and look up. */
static int use_cache(void)
{
	static char value[] = "v";
	struct ds_cache_options opt;
	ds_cache_t *cache;
	int err;

	memset(&opt, 0, sizeof(opt));
	opt.capacity = 16;
	err = ds_cache_create(&cache, &opt);
	if (err)
		return err;
	err = ds_cache_insert(cache, "k", 1, value, 1, NULL);
	ds_cache_destroy(cache);
	return err;
}

int main(void)
{
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, in_order, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	return use_cache();
}
