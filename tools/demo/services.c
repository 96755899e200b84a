/*
 * services.c: ds_cache and ds_rwmap serving threads. Four workers look
 * values up in a sharded cache (and fill it on a miss, as a read-through
 * cache does) over skewed keys, while reading a routing table from an
 * RW-locked map that one of them keeps updating. The checker watches every
 * lock they take; the numbers at the end are the structures' own stats.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"
#include "ds/cache.h"
#include "ds/rwmap.h"
#include "lockcheck/lockcheck.h"

enum { WORKERS = 4, OPS = 100000, KEYS = 50000, CAPACITY = 10000, ROUTES = 64 };

struct service {
	ds_cache_t *cache;
	ds_rwmap_t *routes;
	int id;
	long route_reads, route_writes;
};

/* A skewed key: small numbers are much more likely (a hot set). */
static uint64_t skewed_key(uint64_t *rng)
{
	uint64_t bound = demo_rand(rng) % KEYS + 1;

	return demo_rand(rng) % (demo_rand(rng) % bound + 1);
}

static void serve_one(struct service *s, uint64_t *rng)
{
	uint64_t key = skewed_key(rng);
	char route[16];
	ds_cache_handle_t *h;
	unsigned r = (unsigned)(key % ROUTES);
	size_t len;

	if (ds_cache_lookup(s->cache, &key, sizeof(key), &h) == 0) {
		ds_cache_release(s->cache, h);
	} else if (ds_cache_insert(s->cache, &key, sizeof(key), NULL, 1, &h) ==
		   0) {
		ds_cache_release(s->cache, h); /* read through: fill it */
	}
	if (s->id == 0 && demo_rand(rng) % 64 == 0) {
		snprintf(route, sizeof(route), "node-%llu",
			 (unsigned long long)(demo_rand(rng) % 9));
		s->route_writes += ds_rwmap_put(s->routes, &r, sizeof(r), route,
						sizeof(route)) == 0;
	} else {
		s->route_reads += ds_rwmap_get(s->routes, &r, sizeof(r), route,
					       sizeof(route), &len) == 0;
	}
}

static void *worker(void *arg)
{
	struct service *s = arg;
	uint64_t rng = 0x2545f4914f6cdd1dULL * (uint64_t)(s->id + 1);
	char name[16];

	snprintf(name, sizeof(name), "worker-%d", s->id);
	lc_thread_set_name(name);
	for (int i = 0; i < OPS; i++)
		serve_one(s, &rng);
	return NULL;
}

static int open_services(ds_cache_t **cache, ds_rwmap_t **routes)
{
	struct ds_cache_options copt = { .capacity = CAPACITY };
	struct ds_rwmap_options mopt = { .ownership = DS_RWMAP_COPY };
	char route[16] = "node-0";

	if (ds_cache_create(cache, &copt))
		return 1;
	if (ds_rwmap_create(routes, &mopt))
		return 1;
	for (unsigned r = 0; r < ROUTES; r++)
		if (ds_rwmap_put(*routes, &r, sizeof(r), route, sizeof(route)))
			return 1;
	return 0;
}

int demo_services(void)
{
	struct service s[WORKERS];
	pthread_t t[WORKERS];
	struct ds_cache_stats st;
	long reads = 0, writes = 0;

	if (open_services(&s[0].cache, &s[0].routes))
		return 1;
	for (int i = 0; i < WORKERS; i++) {
		s[i] = (struct service){ s[0].cache, s[0].routes, i, 0, 0 };
		pthread_create(&t[i], NULL, worker, &s[i]);
	}
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(t[i], NULL);
		reads += s[i].route_reads;
		writes += s[i].route_writes;
	}
	ds_cache_stats(s[0].cache, &st, NULL, 0);
	say("ds_cache: %d workers, %u shards: %llu hits, %llu misses "
	    "(hit ratio %.0f%%),",
	    WORKERS, ds_cache_shard_count(s[0].cache),
	    (unsigned long long)st.hits, (unsigned long long)st.misses,
	    100.0 * (double)st.hits / (double)(st.hits + st.misses));
	say("          %llu evictions; %zu entries, charge %zu of %d",
	    (unsigned long long)st.evictions, st.entries, st.charge, CAPACITY);
	say("ds_rwmap: %zu routes, %ld reads under the read lock, %ld updates",
	    ds_rwmap_size(s[0].routes), reads, writes);
	ds_cache_destroy(s[0].cache);
	ds_rwmap_destroy(s[0].routes);
	return 0;
}
