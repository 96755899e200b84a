/*
 * cache_bench_global.c: the baseline ds_cache is measured against, the
 * cache one writes first: one pthread mutex around one uthash table and a
 * doubly linked LRU list, refcounted handles, every operation (release too)
 * under the one lock. It hashes with the same keyed SipHash-1-3 as
 * ds_cache, so the comparison is of the locking and layout, not the hash.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache_bench.h"
#include "ds/hash.h"

#define HASH_FUNCTION(keyptr, keylen, hashv)                                   \
	((hashv) = (unsigned)ds__siphash13(&c->hkey, (keyptr), (keylen)))
#include <uthash.h>

struct gentry {
	UT_hash_handle hh;
	struct gentry *older, *newer; /* the LRU list */
	void *value;
	size_t charge;
	unsigned refs;	     /* the cache's + handles' */
	unsigned char key[]; /* hh.keylen bytes */
};

struct gcache {
	pthread_mutex_t lock;
	/* lock protects the following state. */
	struct gentry *table;
	struct gentry *oldest, *newest;
	size_t usage;
	/* Constant. */
	size_t capacity;
	struct ds__hash_key hkey;
};

static void lru_unlink(struct gcache *c, struct gentry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
}

static void lru_append(struct gcache *c, struct gentry *e)
{
	e->older = c->newest;
	e->newer = NULL;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

/* Drops the cache's reference; returns e if it is now unreferenced. */
static struct gentry *remove_entry(struct gcache *c, struct gentry *e)
{
	HASH_DELETE(hh, c->table, e);
	lru_unlink(c, e);
	c->usage -= e->charge;
	return --e->refs == 0 ? e : NULL;
}

/* Evicts unpinned entries, oldest first, until usage fits. */
static void evict(struct gcache *c)
{
	struct gentry *e = c->oldest, *next;

	while (e && c->usage > c->capacity) {
		next = e->newer;
		if (e->refs == 1)
			free(remove_entry(c, e));
		e = next;
	}
}

static void *gcache_create(size_t capacity)
{
	struct gcache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->capacity = capacity;
	ds__hash_key_init(&c->hkey, NULL);
	return c;
}

static void gcache_destroy(void *cache)
{
	struct gcache *c = cache;
	struct gentry *e, *tmp;

	HASH_ITER(hh, c->table, e, tmp)
	{
		HASH_DELETE(hh, c->table, e);
		free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void release(struct gcache *c, struct gentry *e)
{
	bool dead;

	pthread_mutex_lock(&c->lock);
	dead = --e->refs == 0;
	pthread_mutex_unlock(&c->lock);
	if (dead)
		free(e);
}

static void gcache_put(void *cache, const void *key, size_t keylen, void *value)
{
	struct gcache *c = cache;
	struct gentry *e = malloc(sizeof(*e) + keylen), *old, *dead = NULL;
	unsigned hashv;

	memcpy(e->key, key, keylen);
	e->value = value;
	e->charge = 1;
	e->refs = 2; /* the cache's and the caller's handle */
	HASH_VALUE(key, keylen, hashv);
	pthread_mutex_lock(&c->lock);
	HASH_FIND_BYHASHVALUE(hh, c->table, key, keylen, hashv, old);
	if (old)
		dead = remove_entry(c, old);
	HASH_ADD_KEYPTR_BYHASHVALUE(hh, c->table, e->key, keylen, hashv, e);
	lru_append(c, e);
	c->usage += e->charge;
	evict(c);
	pthread_mutex_unlock(&c->lock);
	free(dead);
	release(c, e);
}

static int gcache_get(void *cache, const void *key, size_t keylen)
{
	struct gcache *c = cache;
	struct gentry *e;
	volatile void *value;
	unsigned hashv;

	HASH_VALUE(key, keylen, hashv);
	pthread_mutex_lock(&c->lock);
	HASH_FIND_BYHASHVALUE(hh, c->table, key, keylen, hashv, e);
	if (e) {
		e->refs++;
		lru_unlink(c, e);
		lru_append(c, e);
	}
	pthread_mutex_unlock(&c->lock);
	if (!e)
		return 0;
	value = e->value;
	(void)value;
	release(c, e);
	return 1;
}

const struct bench_cache bench_global_cache = {
	"global", gcache_create, gcache_destroy, gcache_put, gcache_get,
};
