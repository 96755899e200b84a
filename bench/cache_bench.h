/*
 * cache_bench.h: the caches bench/cache_bench.c compares, behind one small
 * interface. Every implementation keeps byte-string keys and pointer
 * values with a charge, pins entries with handles, and evicts the least
 * recently used unpinned ones beyond its capacity.
 */
#ifndef BENCH_CACHE_BENCH_H
#define BENCH_CACHE_BENCH_H

#include <stddef.h>

struct bench_cache {
	const char *name;
	/* A cache of this capacity (charge units); NULL if out of memory. */
	void *(*create)(size_t capacity);
	void (*destroy)(void *cache);
	/* Inserts key -> value (charge 1) and releases the handle. */
	void (*put)(void *cache, const void *key, size_t keylen, void *value);
	/* Looks key up, reads the value, releases: 1 hit, 0 miss. */
	int (*get)(void *cache, const void *key, size_t keylen);
};

/* bench/cache_bench_global.c: one mutex around one uthash table and LRU. */
extern const struct bench_cache bench_global_cache;

/* bench/cache_bench_leveldb.cc: leveldb::NewLRUCache (16 shards). */
extern const struct bench_cache bench_leveldb_cache;

#endif /* BENCH_CACHE_BENCH_H */
