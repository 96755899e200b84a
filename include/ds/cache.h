/*
 * cache.h: a sharded LRU cache of byte-string keys to caller pointers.
 *
 * The cache maps keys (byte strings, copied in) to values (caller pointers).
 * Each entry has a charge, in units the caller chooses (bytes, items); when
 * the total charge would exceed the capacity, the least recently used
 * entries that nobody holds are evicted (a hit on an entry that is already
 * among the most recently used half does not reorder it: LRU with lazy
 * promotion, as in memcached). It locks internally: every call may be made
 * from any thread, with no external locking.
 *
 * Handles: insert and lookup return a handle that pins its entry. A pinned
 * entry is never evicted, and stays alive (its value valid) even after it is
 * erased, replaced or evicted from the cache, until its last handle is
 * released. The caller must ds_cache_release() every handle it gets.
 *
 * Ownership: once inserted, a value belongs to the cache until the deleter
 * given at creation runs for it, exactly once, when the entry has left the
 * cache and no handle pins it. The deleter runs with no lock of the cache
 * held, in the thread whose call made the entry go (insert, erase, prune,
 * release, destroy), so it may call back into the cache.
 *
 * Sharding: keys are spread over a power of two of shards by a keyed hash
 * (SipHash; keys may come from untrusted input). Each shard has its own lock
 * and an equal share of the capacity, so an entry is cached only if its
 * charge fits in one shard's share. In LOCKCHECK=1 builds the shard locks
 * are one lock class ("ds_cache.shard") ordered by shard index.
 *
 * Errors are returned as errno values: EINVAL for bad arguments (NULL
 * cache or key, zero-length key), ENOMEM when memory runs out (the cache is
 * then unchanged: nothing evicted, no deleter run), ENOSPC when a
 * strict-capacity cache cannot fit an entry, ENOENT for a missing key.
 *
 * Failures, the rule of every ds/ header: a call returns an errno value
 * for what correct use can meet (bad arguments, the states and misuses
 * listed with each function, running out of memory, threads or file
 * descriptors; creation also returns EAGAIN or ENOMEM when a lock or
 * condition variable cannot be initialised) and leaves the structure
 * consistent, unchanged unless its function says otherwise. A lock, unlock
 * or wait on the structure's own locks cannot fail in correct use: if one
 * does, that is a bug in ds/ or a broken REQUIRES, and assert() stops the
 * program; it is never returned.
 */
#ifndef DS_CACHE_H
#define DS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_cache ds_cache_t;
typedef struct ds_cache_handle ds_cache_handle_t;

/* The shard count used when the options ask for 0. */
#define DS_CACHE_DEFAULT_SHARDS 16u
/* The most shards a cache may have. */
#define DS_CACHE_MAX_SHARDS 4096u

/* Runs once per inserted value when the cache lets go of it. key/keylen are
 * the entry's key (valid only during the call). No cache lock is held. */
typedef void ds_cache_deleter_fn(const void *key, size_t keylen, void *value,
				 void *arg);

/* Creation options. Zero-initialise, then set what you need. */
struct ds_cache_options {
	size_t capacity;	      /* total charge kept (0: only charge 0) */
	unsigned shards;	      /* power of two; 0: the default */
	bool strict_capacity;	      /* insert fails (ENOSPC) rather than
					 exceed capacity with pinned entries */
	ds_cache_deleter_fn *deleter; /* NULL: values are not freed */
	void *deleter_arg;	      /* passed to every deleter call */
	uint64_t seed[2];	      /* hash key; {0, 0}: a random one */
	void *(*alloc)(size_t size, void *arg); /* NULL with free: malloc */
	void (*free)(void *ptr, size_t size, void *arg); /* size as allocated */
	void *alloc_arg; /* passed to alloc and free */
};

/* Counters of one shard, or of the whole cache. */
struct ds_cache_stats {
	uint64_t hits;	    /* lookups that found their key */
	uint64_t misses;    /* lookups that did not */
	uint64_t inserts;   /* successful inserts (replacing or not,
			       uncached ones too) */
	uint64_t evictions; /* entries dropped to make room */
	size_t entries;	    /* entries in the cache now */
	size_t charge;	    /* their total charge */
};

/*
 * Creates a cache as opt says and stores it in *out. Returns 0, EINVAL
 * (out or opt NULL, shards not a power of two or above
 * DS_CACHE_MAX_SHARDS, only one of alloc/free set), ENOMEM, or EAGAIN (a
 * shard lock could not be initialised). Nothing is left behind on failure.
 */
int ds_cache_create(ds_cache_t **out, const struct ds_cache_options *opt);

/*
 * Destroys the cache: the deleter runs for every value still in it. Accepts
 * NULL. REQUIRES: every handle has been released and no other thread uses
 * the cache.
 */
void ds_cache_destroy(ds_cache_t *cache);

/*
 * Maps key to value with this charge, replacing any earlier mapping of the
 * key (whose value is deleted once no handle pins it). The key is copied.
 * When handle is not NULL, *handle receives a handle that pins the new
 * entry: release it with ds_cache_release(). A lookup that starts after
 * insert returns sees the new value (or a later one).
 *
 * Capacity: unpinned entries are evicted, least recently used first, to
 * make room. If pinned entries leave no room, a strict cache fails with
 * ENOSPC (the key keeps its old mapping; unpinned entries may have been
 * evicted in the attempt); otherwise the entry goes in and the cache stays
 * over capacity until enough handles are released. An entry whose
 * charge exceeds a shard's share of the capacity is never cached: a strict
 * cache returns ENOSPC; otherwise the key's old mapping is erased and
 * *handle (if asked for) holds an uncached entry whose value is deleted
 * at its release (with handle NULL: at once). Any cache also returns
 * ENOSPC, as a strict one would, when pinned entries leave no room and the
 * shard's total charge would overflow a size_t.
 *
 * Returns 0, EINVAL, ENOMEM or ENOSPC. On error the caller still owns
 * value and the key keeps its old mapping; the only change an error may
 * leave is ENOSPC's evictions above (ENOMEM evicts nothing).
 */
int ds_cache_insert(ds_cache_t *cache, const void *key, size_t keylen,
		    void *value, size_t charge, ds_cache_handle_t **handle);

/*
 * Looks key up. On a hit, *handle receives a handle that pins the entry
 * (release it with ds_cache_release()) and the entry becomes the most
 * recently used. Returns 0 (hit), ENOENT (miss; *handle set to NULL) or
 * EINVAL.
 */
int ds_cache_lookup(ds_cache_t *cache, const void *key, size_t keylen,
		    ds_cache_handle_t **handle);

/* The value of a handle's entry. REQUIRES: handle not yet released. */
void *ds_cache_value(const ds_cache_handle_t *handle);

/* The charge of a handle's entry. REQUIRES: handle not yet released. */
size_t ds_cache_charge(const ds_cache_handle_t *handle);

/*
 * Releases a handle from ds_cache_insert or ds_cache_lookup of this cache.
 * If it was the entry's last pin and the entry has left the cache, the
 * deleter runs now, in this thread. Accepts a NULL handle. Takes no lock
 * unless the cache is over capacity because of pins.
 */
void ds_cache_release(ds_cache_t *cache, ds_cache_handle_t *handle);

/*
 * Removes key's mapping. Its value is deleted now, or at the release of its
 * last handle. Returns 0, ENOENT (no such key) or EINVAL.
 */
int ds_cache_erase(ds_cache_t *cache, const void *key, size_t keylen);

/*
 * Removes every entry that no handle pins and deletes their values.
 * Returns how many were removed (0 for a NULL cache).
 */
size_t ds_cache_prune(ds_cache_t *cache);

/*
 * The total charge of the entries in the cache, taken with every shard
 * locked at once, so it is a consistent snapshot (0 for a NULL cache).
 */
size_t ds_cache_total_charge(ds_cache_t *cache);

/* The number of shards (0 for a NULL cache). */
unsigned ds_cache_shard_count(const ds_cache_t *cache);

/*
 * Copies the counters, a consistent snapshot taken with every shard locked
 * at once: the sum into *total (if not NULL) and, if per_shard is not NULL,
 * shard i's into per_shard[i] for i < n (n may be below the shard count).
 * Returns 0, or EINVAL for a NULL cache.
 */
int ds_cache_stats(ds_cache_t *cache, struct ds_cache_stats *total,
		   struct ds_cache_stats *per_shard, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* DS_CACHE_H */
