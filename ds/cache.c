/*
 * cache.c: the sharded LRU cache of cache.h.
 *
 * Sharding is a thin layer: hash the key (SipHash-1-3, keyed per cache),
 * pick a shard by the top bits of the 32-bit table hash, and do one short
 * critical section under that shard's mutex. A hit moves the entry in the
 * LRU order, so lookups write: a mutex, not an rwlock.
 *
 * A shard is a uthash table whose application order IS the LRU list:
 * uthash appends new items at the tail, a hit moves its entry to the tail
 * (lru_touch_locked), and eviction walks from the head, the least recently
 * used. That saves a second list's 16 bytes per entry. Promotion is lazy,
 * as memcached's: a hit on an entry already in the most recent half of
 * the list leaves it there (no writes to two cold neighbours), which
 * changes nothing at the end eviction takes from.
 *
 * Lookups are bound by cache misses, so the table is tuned to read few
 * cache lines: 1.125 to 2.25 entries per bucket on average (grow_locked);
 * a byte per bucket that answers most misses before any entry is read
 * (tag_bit); a hit moves to the front of its chain (bucket_to_front_locked);
 * and what a hit reads of an entry lies in 40 contiguous bytes.
 *
 * Reference counts. refs counts the cache's own reference (held exactly
 * while the entry is in a table) plus one per handle. Handles are taken
 * only under the shard lock, through the table; they are dropped without
 * any lock (release is one atomic decrement). Whoever drops refs to zero
 * frees the entry and runs the deleter, with no lock held.
 *
 * Invariants, for every shard s, under s->lock:
 *   - usage == the sum of the charges of the entries in s->table;
 *   - tick - e->stamp (mod 2^32) >= the number of entries after e in the
 *     LRU order, while e was put at the tail fewer than 2^32 ticks ago
 *     (older, the lazy promotion may just move e sooner than needed);
 *   - every entry in s->table has refs >= 1, and refs == 1 means unpinned;
 *   - an entry is in one table (hh.tbl set, refs counting the table's
 *     reference) or in none (hh.tbl NULL), never both; only an entry in
 *     none with refs 0 is deleted;
 *   - s->tags, when not NULL, has one byte per bucket (tags_nb is the
 *     bucket count), each the OR of tag_bit() of the entries in its chain;
 *   - usage > capacity only if every entry left in the table was pinned
 *     when eviction last ran;
 *   - whenever s->lock is free, s->over == (usage > capacity), and
 *     cache->nover counts the shards with over set: eviction may set over
 *     mid-section (evictable_locked), so every critical section that
 *     changes usage or evicts ends with note_usage_locked;
 *   - an entry not in any table is pinned by handles only; it is never
 *     looked up again and is freed by the release that drops its last one.
 * All but the stamps are asserted: refs and table membership at every
 * change, over at the end of every critical section, the charge sum and
 * the tags where a walk of the table is paid anyway (prune, destroy), and
 * at destroy, where no handle may be left, refs == 1 everywhere and no
 * shard over capacity.
 *
 * Insertion adds the new entry first and evicts after, so that running out
 * of memory (uthash allocating a table or buckets) changes nothing; an
 * insert that then finds no room takes its entry back out, which cannot
 * fail (insert_locked).
 *
 * Over capacity because of pins: a release that unpins an entry (refs 2->1)
 * while some shard is over takes that shard's lock and evicts. The release
 * decrements refs then reads nover; eviction, meeting a pinned entry, does
 * an RMW on nover then reads refs again: with all four seq_cst, one of the
 * two sees the other, so the cache never stays over capacity once nothing
 * is pinned.
 */
#define _GNU_SOURCE
#include "ds/cache.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cache_mem.h"
#include "hash.h"
#include "lockcheck/lockcheck.h"
#include "must.h"

/* uthash: allocate through the cache's allocator, survive a failed one
 * (uthash_nonfatal_oom sets the caller's `oom`), compare short keys
 * inline, and never hash with the unkeyed default. Every uthash macro is
 * used where a shard `s` is in scope. HASH_FUNCTION is a guard: every call
 * passes the hash it computed. */
#define HASH_NONFATAL_OOM	 1
#define HASH_KEYCMP(a, b, n)	 ds__key_cmp((a), (b), (n))
#define uthash_malloc(sz)	 ds__mem_alloc(&s->cache->mem, (sz))
#define uthash_free(ptr, sz)	 ds__mem_free(&s->cache->mem, (ptr), (sz))
#define uthash_nonfatal_oom(obj) ((void)(obj), oom = true)
#define HASH_FUNCTION(keyptr, keylen, hashv)                                   \
	((hashv) = (unsigned)ds__siphash13(&s->cache->hkey, (keyptr), (keylen)))
#include <uthash.h>

/* One cached value. A ds_cache_handle_t * points to one of these. The
 * order puts what a hit reads (hh.key, hh.keylen, hh.hashv, value, refs,
 * stamp, the key) in 40 contiguous bytes, within one cache line half the
 * time given malloc's 16-byte alignment (three quarters of the time
 * across two lines with hh first). */
struct entry {
	size_t charge;	       /* the caller's charge */
	UT_hash_handle hh;     /* table link; hh.prev/next: the LRU order */
	void *value;	       /* the caller's value */
	_Atomic uint32_t refs; /* the table's reference + one per handle */
	uint32_t stamp;	       /* shard tick when last put at the tail */
	unsigned char key[];   /* hh.keylen bytes; hh.key points here */
};

struct shard {
	_Alignas(64) lc_mutex_t lock; /* a line of its own per shard */
	/* lock protects the following state; it guards it in LOCKCHECK=1
	 * builds (lc_guard in shard_init), which check the marked accesses:
	 * every write of usage, over, stats.inserts and stats.evictions, and
	 * the reads that decide (note_usage_locked, rebalance) or report
	 * (ds_cache_total_charge, ds_cache_stats). The lookup path (hits,
	 * misses) and the asserts stay unmarked: marked, they cost the
	 * checked build about a third of its throughput on bench/cache.sh's
	 * read-heavy mix; as it is, no measurable change. */
	struct entry *table;	     /* uthash head: least recently used */
	UT_hash_table *tbl;	     /* its uthash header, NULL when empty:
					lookups read this, not the cold head */
	uint8_t *tags;		     /* per bucket, the tag bits of its
					entries (NULL: no filter) */
	unsigned tags_nb;	     /* bucket count tags were built for */
	size_t usage;		     /* sum of charges in table */
	bool over;		     /* usage > capacity; counted in nover */
	uint32_t tick;		     /* counts placements at the LRU tail */
	struct ds_cache_stats stats; /* hits, misses, inserts, evictions */
	/* Constant after creation. */
	size_t capacity;	/* this shard's share */
	struct ds_cache *cache; /* owner: allocator, hash key, counts */
};

struct ds_cache {
	struct shard *shards;	      /* nshards, 64-byte aligned */
	void *shards_mem;	      /* the allocation shards lie in */
	size_t shards_size;	      /* its size */
	unsigned nshards;	      /* a power of two */
	unsigned shard_shift;	      /* shard = hash32 >> shard_shift */
	unsigned tag_shift;	      /* tag bit = hash32 >> tag_shift & 7 */
	bool strict;		      /* ENOSPC instead of exceeding */
	ds_cache_deleter_fn *deleter; /* may be NULL */
	void *deleter_arg;	      /* its last argument */
	struct ds__hash_key hkey;     /* SipHash key */
	struct ds__mem mem;	      /* every allocation goes through it */
	_Atomic unsigned nover;	      /* shards with over set */
};

/* ---- entries ---- */

static struct entry *entry_of(const ds_cache_handle_t *handle)
{
	return (struct entry *)(uintptr_t)handle;
}

static size_t entry_size(size_t keylen)
{
	return offsetof(struct entry, key) + keylen;
}

static struct entry *entry_new(ds_cache_t *c, const void *key, size_t keylen,
			       uint32_t hashv, void *value, size_t charge)
{
	struct entry *e = ds__mem_alloc(&c->mem, entry_size(keylen));

	if (!e)
		return NULL;
	memset(&e->hh, 0, sizeof(e->hh));
	memcpy(e->key, key, keylen);
	e->hh.key = e->key;
	e->hh.keylen = (unsigned)keylen;
	e->hh.hashv = hashv;
	e->value = value;
	e->charge = charge;
	atomic_init(&e->refs, 0);
	return e;
}

static struct shard *shard_for(ds_cache_t *c, uint32_t hashv)
{
	return &c->shards[(uint64_t)hashv >> c->shard_shift];
}

/* The entry has left the cache and nothing pins it: delete and free. The
 * caller may hold locks of its own (cache.h allows it), so what is
 * asserted is that the one cache lock a path here took, the entry's
 * shard's, was let go. */
static void entry_delete(ds_cache_t *c, struct entry *e)
{
	assert(atomic_load(&e->refs) == 0 && !e->hh.tbl);
	lc_assert_not_held(&shard_for(c, e->hh.hashv)->lock);
	if (c->deleter)
		c->deleter(e->key, e->hh.keylen, e->value, c->deleter_arg);
	ds__mem_free(&c->mem, e, entry_size(e->hh.keylen));
}

/* Deletes a list of dead entries (linked through hh.next). No lock held. */
static void bury(ds_cache_t *c, struct entry *dead)
{
	while (dead) {
		struct entry *next = dead->hh.next;

		entry_delete(c, dead);
		dead = next;
	}
}

static bool key_ok(const void *key, size_t keylen)
{
	return key && keylen > 0 && keylen <= UINT_MAX;
}

/* ---- the bucket filter ---- */

/* Each entry has one of 8 tag bits, from hash bits that pick neither its
 * shard nor (below 2^(29 - shard bits) buckets) its bucket. A bucket's
 * byte in s->tags is the OR of its entries' bits, so most misses are
 * answered from this byte array (a few KiB per shard, cache-resident)
 * without reading uthash's 16-byte bucket or any entry of the chain. */
static uint8_t tag_bit(const struct shard *s, uint32_t hashv)
{
	return (uint8_t)(1u << ((hashv >> s->cache->tag_shift) & 7));
}

static void tags_free_locked(struct shard *s)
{
	lc_assert_held(&s->lock);
	ds__mem_free(&s->cache->mem, s->tags, s->tags_nb);
	s->tags = NULL;
	s->tags_nb = 0;
}

/* Recomputes one bucket's byte from its chain. */
static void tag_bucket_locked(struct shard *s, unsigned bkt)
{
	UT_hash_handle *hh = s->tbl->buckets[bkt].hh_head;
	uint8_t t = 0;

	lc_assert_held(&s->lock);
	for (; hh; hh = hh->hh_next)
		t |= tag_bit(s, hh->hashv);
	s->tags[bkt] = t;
}

/* The bucket count changed (uthash grew the table): a new byte array,
 * filled from every chain. Out of memory, the filter is off (tags NULL:
 * lookups walk every chain) until the table grows again. */
static void tags_rebuild_locked(struct shard *s)
{
	unsigned nb = s->tbl->num_buckets;

	lc_assert_held(&s->lock);
	tags_free_locked(s);
	s->tags_nb = nb;
	s->tags = ds__mem_alloc(&s->cache->mem, nb);
	for (unsigned b = 0; s->tags && b < nb; b++)
		tag_bucket_locked(s, b);
}

/* Whether each bucket's filter byte is the OR of its entries' tag bits
 * (no filter: trivially). Under the lock, or with no other thread. */
static __attribute__((unused)) bool tags_match(const struct shard *s)
{
	if (!s->tags)
		return true;
	if (!s->tbl || s->tags_nb != s->tbl->num_buckets)
		return false;
	for (unsigned b = 0; b < s->tags_nb; b++) {
		UT_hash_handle *hh = s->tbl->buckets[b].hh_head;
		uint8_t t = 0;

		for (; hh; hh = hh->hh_next)
			t |= tag_bit(s, hh->hashv);
		if (t != s->tags[b])
			return false;
	}
	return true;
}

/* e was just added. */
static void tags_add_locked(struct shard *s, const struct entry *e)
{
	lc_assert_held(&s->lock);
	if (s->tags_nb != s->tbl->num_buckets)
		tags_rebuild_locked(s);
	else if (s->tags)
		s->tags[e->hh.hashv & (s->tags_nb - 1)] |=
			tag_bit(s, e->hh.hashv);
}

/* e was just taken out (its hh still holds its hash). */
static void tags_remove_locked(struct shard *s, const struct entry *e)
{
	lc_assert_held(&s->lock);
	if (!s->tbl)
		tags_free_locked(s);
	else if (s->tags)
		tag_bucket_locked(s, e->hh.hashv & (s->tags_nb - 1));
}

/* ---- one shard, under its lock ---- */

static struct entry *find_locked(struct shard *s, const void *key,
				 size_t keylen, uint32_t hashv)
{
	UT_hash_table *tbl = s->tbl;
	struct entry *e = NULL;
	unsigned bkt;

	lc_assert_held(&s->lock);
	if (!tbl)
		return NULL;
	assert(!s->tags || s->tags_nb == tbl->num_buckets);
	HASH_TO_BKT(hashv, tbl->num_buckets, bkt);
	if (s->tags && !(s->tags[bkt] & tag_bit(s, hashv)))
		return NULL; /* a miss that reads no entry */
	HASH_FIND_IN_BKT(tbl, hh, tbl->buckets[bkt], key, keylen, hashv, e);
	return e;
}

/* Moves e to the tail of uthash's application order (head s->table,
 * tail tbl->tail): the most recently used end. */
static void lru_move_to_tail_locked(struct shard *s, struct entry *e)
{
	UT_hash_table *tbl = s->tbl;
	struct entry *prev = e->hh.prev, *next = e->hh.next, *tail;

	lc_assert_held(&s->lock);
	e->stamp = ++s->tick;
	if (!next)
		return; /* already the tail */
	if (prev)
		prev->hh.next = next;
	else
		s->table = next;
	next->hh.prev = prev;
	tail = ELMT_FROM_HH(tbl, tbl->tail);
	tail->hh.next = e;
	e->hh.prev = tail;
	e->hh.next = NULL;
	tbl->tail = &e->hh;
}

/* A hit: e becomes the most recently used, lazily. Fewer than tick -
 * stamp entries were put behind e since it was last at the tail, so when
 * that is under half the table, e is in the most recent half already and
 * stays where it is: eviction still takes the least recently used end,
 * and a hot entry costs no list surgery (two cold neighbours) per hit. */
static void lru_touch_locked(struct shard *s, struct entry *e)
{
	lc_assert_held(&s->lock);
	if (s->tick - e->stamp > s->tbl->num_items / 2)
		lru_move_to_tail_locked(s, e);
}

/* Doubles the buckets when there are more than 2.25 entries per bucket on
 * average (uthash alone only grows when one chain reaches 10, letting the
 * average drift to 4 or so). Short chains make misses cheap; the bound
 * keeps a uthash bucket (16 bytes) and a filter byte under 16 bytes per
 * entry even right after a doubling (1.125 per bucket). Out of memory, the
 * table just stays as it is. */
static void grow_locked(struct shard *s)
{
	bool oom = false;

	lc_assert_held(&s->lock);
	HASH_EXPAND_BUCKETS(hh, s->tbl, oom);
	(void)oom;
}

/* Adds e at the LRU tail and takes the table's reference; false when
 * uthash could not allocate, in which case the table is as it was. e's
 * charge is not in usage yet: insert_locked counts it once e stays. */
static bool table_add_locked(struct shard *s, struct entry *e)
{
	bool oom = false;

	lc_assert_held(&s->lock);
	HASH_ADD_KEYPTR_BYHASHVALUE(hh, s->table, e->key, e->hh.keylen,
				    e->hh.hashv, e);
	if (oom)
		return false;
	s->tbl = e->hh.tbl;
	e->stamp = ++s->tick; /* uthash appended it at the tail */
	if (4 * (size_t)s->tbl->num_items > 9 * (size_t)s->tbl->num_buckets)
		grow_locked(s);
	tags_add_locked(s, e);
	atomic_fetch_add(&e->refs, 1);
	return true;
}

/* Takes e out of the table; allocates nothing, so it cannot fail. */
static void unlink_locked(struct shard *s, struct entry *e)
{
	lc_assert_held(&s->lock);
	HASH_DELETE(hh, s->table, e);
	if (!s->table)
		s->tbl = NULL; /* uthash freed it with the last entry */
	tags_remove_locked(s, e);
	e->hh.tbl = NULL; /* in no table: entry_delete checks it */
}

/* Undoes table_add_locked: e was never visible outside this critical
 * section, so refs goes back to the caller's pins alone. */
static void table_take_back_locked(struct shard *s, struct entry *e)
{
	uint32_t refs;

	lc_assert_held(&s->lock);
	unlink_locked(s, e);
	refs = atomic_fetch_sub(&e->refs, 1);
	assert(refs >= 1); /* the table's own reference */
	(void)refs;
}

/* Takes e out of the table and drops the table's reference; if that was
 * the last, e goes on *dead for deletion once the lock is released. */
static void remove_locked(struct shard *s, struct entry *e, struct entry **dead)
{
	uint32_t refs;

	lc_assert_held(&s->lock);
	assert(s->usage >= e->charge);
	unlink_locked(s, e);
	LC_WRITE(s->usage, s->usage - e->charge);
	refs = atomic_fetch_sub(&e->refs, 1);
	assert(refs >= 1); /* the table's own reference */
	if (refs == 1) {
		e->hh.next = *dead;
		*dead = e;
	}
}

/* Marks the shard over capacity. Always an atomic RMW on nover, even when
 * already marked: a read of refs after it cannot miss a release that
 * reads nover after its decrement (see the file head). */
static void mark_over_locked(struct shard *s)
{
	lc_assert_held(&s->lock);
	atomic_fetch_add(&s->cache->nover, LC_READ(s->over) ? 0u : 1u);
	LC_WRITE(s->over, true);
}

/* Keeps s->over equal to (usage > capacity). */
static void note_usage_locked(struct shard *s)
{
	lc_assert_held(&s->lock);
	if (LC_READ(s->usage) > s->capacity) {
		mark_over_locked(s);
	} else if (LC_READ(s->over)) {
		LC_WRITE(s->over, false);
		atomic_fetch_sub(&s->cache->nover, 1u);
	}
}

/* Ends every critical section that may change usage or evict: s->over
 * must then equal (usage > capacity) (see the file head). */
static void assert_settled_locked(struct shard *s)
{
	lc_assert_held(&s->lock);
	assert(s->over == (s->usage > s->capacity));
}

/* True when only the table holds e. Finding it pinned, marks the shard
 * over before looking again, so its release will come back to evict. */
static bool evictable_locked(struct shard *s, struct entry *e)
{
	lc_assert_held(&s->lock);
	if (atomic_load(&e->refs) == 1)
		return true;
	mark_over_locked(s);
	return atomic_load(&e->refs) == 1;
}

/* True when an entry of this charge fits, counting keep's charge (an
 * entry about to be replaced, or NULL) as free. Never overflows: keep is
 * in the table, so its charge is at most usage. */
static bool fits_locked(struct shard *s, size_t charge,
			const struct entry *keep)
{
	size_t base;

	lc_assert_held(&s->lock);
	base = s->usage - (keep ? keep->charge : 0);
	return base <= s->capacity && charge <= s->capacity - base;
}

/* Evicts unpinned entries, oldest first, until charge fits (keep's charge
 * counted as free, see fits_locked). Neither keep nor fresh (an entry
 * being inserted, not yet in usage) is evicted. Pinned ones met on the way
 * become most recently used, so each is passed over once; the walk stops
 * after visiting every entry. May mark the shard over: the caller ends
 * with note_usage_locked. */
static bool make_room_locked(struct shard *s, size_t charge,
			     const struct entry *keep,
			     const struct entry *fresh, struct entry **dead)
{
	size_t visits = s->tbl ? s->tbl->num_items : 0;
	struct entry *e = s->table, *next;

	lc_assert_held(&s->lock);
	while (e && visits-- > 0 && !fits_locked(s, charge, keep)) {
		next = e->hh.next;
		if (e != keep && e != fresh && evictable_locked(s, e)) {
			remove_locked(s, e, dead);
			LC_WRITE(s->stats.evictions, s->stats.evictions + 1);
		} else {
			lru_move_to_tail_locked(s, e);
		}
		e = next;
	}
	return fits_locked(s, charge, keep);
}

/* When make_room_locked found no room for e (replacing old): whether e
 * may go in anyway, over capacity. Not in a strict cache, nor when usage
 * would overflow. */
static bool may_exceed_locked(struct shard *s, const struct entry *e,
			      const struct entry *old)
{
	size_t base;

	lc_assert_held(&s->lock);
	base = s->usage - (old ? old->charge : 0);
	return !s->cache->strict && e->charge <= SIZE_MAX - base;
}

/* Puts e in the table in place of any entry with its key. e goes in
 * before anything is evicted: the add is the only step that allocates, so
 * ENOMEM leaves the shard untouched. Room is then made around e and the
 * entry it replaces; without room (ENOSPC), e is taken back out and the
 * old mapping stays. Both ways end with note_usage_locked. */
static int insert_locked(struct shard *s, struct entry *e, struct entry **dead)
{
	struct entry *old;
	int err = 0;

	lc_assert_held(&s->lock);
	old = find_locked(s, e->key, e->hh.keylen, e->hh.hashv);
	if (!table_add_locked(s, e))
		return ENOMEM; /* nothing evicted, nothing marked */
	if (make_room_locked(s, e->charge, old, e, dead) ||
	    may_exceed_locked(s, e, old)) {
		if (old)
			remove_locked(s, old, dead);
		LC_WRITE(s->usage, s->usage + e->charge);
		if (e->hh.next) /* pinned ones passed over went behind e */
			lru_move_to_tail_locked(s, e);
		LC_WRITE(s->stats.inserts, s->stats.inserts + 1);
	} else {
		table_take_back_locked(s, e);
		err = ENOSPC;
	}
	note_usage_locked(s);
	return err;
}

/* ---- one shard: lock, work, unlock, then delete what died ---- */

/* Removes key's entry, if any; true when there was one. */
static bool erase_locked(struct shard *s, const void *key, size_t keylen,
			 uint32_t hashv, struct entry **dead)
{
	struct entry *e;

	lc_assert_held(&s->lock);
	e = find_locked(s, key, keylen, hashv);
	if (!e)
		return false;
	remove_locked(s, e, dead);
	note_usage_locked(s);
	return true;
}

static bool erase_in(struct shard *s, const void *key, size_t keylen,
		     uint32_t hashv)
{
	struct entry *dead = NULL;
	bool found;

	DS__MUST(lc_mutex_lock(&s->lock));
	found = erase_locked(s, key, keylen, hashv, &dead);
	assert_settled_locked(s);
	DS__MUST(lc_mutex_unlock(&s->lock));
	bury(s->cache, dead);
	return found;
}

/* A release unpinned an entry while a shard was over capacity. */
static void rebalance(struct shard *s)
{
	struct entry *dead = NULL;

	DS__MUST(lc_mutex_lock(&s->lock));
	if (LC_READ(s->over)) {
		make_room_locked(s, 0, NULL, NULL, &dead);
		note_usage_locked(s);
	}
	assert_settled_locked(s);
	DS__MUST(lc_mutex_unlock(&s->lock));
	bury(s->cache, dead);
}

/* Walks the whole table anyway, so it checks the sum of the charges. */
static size_t prune_shard(struct shard *s)
{
	struct entry *e, *next, *dead = NULL;
	size_t n = 0, kept = 0;

	DS__MUST(lc_mutex_lock(&s->lock));
	for (e = s->table; e; e = next) {
		next = e->hh.next;
		if (atomic_load(&e->refs) == 1) {
			remove_locked(s, e, &dead);
			n++;
		} else {
			kept += e->charge;
		}
	}
	assert(kept == s->usage && tags_match(s));
	note_usage_locked(s);
	assert_settled_locked(s);
	DS__MUST(lc_mutex_unlock(&s->lock));
	bury(s->cache, dead);
	return n;
}

/* Destroy: no other thread, and no handle left (asserted: each entry's
 * refs is the table's alone). With nothing pinned the shard is within its
 * capacity, and usage is the sum of the charges. Every entry is deleted. */
static void shard_clear(struct shard *s)
{
	struct entry *e = s->table, *next;
	size_t usage = 0;

	assert(tags_match(s));
	HASH_CLEAR(hh, s->table); /* uthash's own memory; entries stay */
	s->tbl = NULL;
	ds__mem_free(&s->cache->mem, s->tags, s->tags_nb);
	for (; e; e = next) {
		next = e->hh.next;
		assert(atomic_load(&e->refs) == 1 &&
		       "ds_cache_destroy: a handle was not released");
		usage += e->charge;
		atomic_store(&e->refs, 0); /* the table lets go */
		e->hh.tbl = NULL;
		entry_delete(s->cache, e);
	}
	assert(usage == s->usage && !s->over);
}

/* Locks every shard, in ascending index order (their declared order).
 * Thread Safety Analysis cannot follow locks taken in a loop. */
LC_NO_THREAD_SAFETY_ANALYSIS static void lock_all(ds_cache_t *c)
{
	for (unsigned i = 0; i < c->nshards; i++)
		DS__MUST(lc_mutex_lock(&c->shards[i].lock));
}

LC_NO_THREAD_SAFETY_ANALYSIS static void unlock_all(ds_cache_t *c)
{
	for (unsigned i = c->nshards; i-- > 0;)
		DS__MUST(lc_mutex_unlock(&c->shards[i].lock));
}

/* ---- creation ---- */

static int check_options(const struct ds_cache_options *opt)
{
	unsigned n = opt->shards;

	return n > DS_CACHE_MAX_SHARDS || (n & (n - 1)) != 0 ? EINVAL : 0;
}

static unsigned log2u(unsigned n)
{
	unsigned b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

static void configure(ds_cache_t *c, const struct ds_cache_options *opt)
{
	c->nshards = opt->shards ? opt->shards : DS_CACHE_DEFAULT_SHARDS;
	c->shard_shift = 32 - log2u(c->nshards);
	c->tag_shift = 29 - log2u(c->nshards); /* the 3 bits below */
	c->strict = opt->strict_capacity;
	c->deleter = opt->deleter;
	c->deleter_arg = opt->deleter_arg;
	ds__hash_key_init(&c->hkey, opt->seed);
	atomic_init(&c->nover, 0);
}

/* Bytes from table to the end of stats: the state s->lock guards. */
static size_t guarded_size(void)
{
	return offsetof(struct shard, capacity) - offsetof(struct shard, table);
}

/* Initialises shard i with its share of capacity (the remainder spread
 * over the first shards, so the shares add up to capacity exactly). */
static int shard_init(ds_cache_t *c, unsigned i, size_t capacity)
{
	struct shard *s = &c->shards[i];
	int err;

	memset(s, 0, sizeof(*s));
	err = ds__init_result(lc_mutex_init(&s->lock, "ds_cache.shard"));
	if (err)
		return err;
	DS__MUST(lc_mutex_set_order(&s->lock, i));
	s->capacity = capacity / c->nshards + (i < capacity % c->nshards);
	s->cache = c;
	/* The state the lock protects, checked in LOCKCHECK=1 builds (a
	 * declaration that cannot be stored for want of memory leaves it
	 * unchecked). */
	(void)lc_guard(&s->table, guarded_size(), &s->lock);
	return 0;
}

/* Forgets shard i's declaration and destroys its lock. */
static void shard_fini(ds_cache_t *c, unsigned i)
{
	struct shard *s = &c->shards[i];

	lc_unguard(&s->table, guarded_size());
	DS__MUST(lc_mutex_destroy(&s->lock));
}

static int shards_create(ds_cache_t *c, size_t capacity)
{
	size_t align = _Alignof(struct shard);
	int err;

	c->shards_size = c->nshards * sizeof(struct shard) + align - 1;
	c->shards_mem = ds__mem_alloc(&c->mem, c->shards_size);
	if (!c->shards_mem)
		return ENOMEM;
	c->shards = (struct shard *)(((uintptr_t)c->shards_mem + align - 1) &
				     ~(uintptr_t)(align - 1));
	for (unsigned i = 0; i < c->nshards; i++) {
		err = shard_init(c, i, capacity);
		if (err) {
			while (i-- > 0)
				shard_fini(c, i);
			ds__mem_free(&c->mem, c->shards_mem, c->shards_size);
			return err;
		}
	}
	return 0;
}

int ds_cache_create(ds_cache_t **out, const struct ds_cache_options *opt)
{
	struct ds__mem mem;
	ds_cache_t *c;
	int err;

	if (!out || !opt || check_options(opt) ||
	    ds__mem_init(&mem, opt->alloc, opt->free, opt->alloc_arg))
		return EINVAL;
	*out = NULL;
	c = ds__mem_alloc(&mem, sizeof(*c));
	if (!c)
		return ENOMEM;
	memset(c, 0, sizeof(*c));
	c->mem = mem;
	configure(c, opt);
	err = shards_create(c, opt->capacity);
	if (err) {
		ds__mem_free(&mem, c, sizeof(*c));
		return err;
	}
	*out = c;
	return 0;
}

void ds_cache_destroy(ds_cache_t *cache)
{
	struct ds__mem mem;

	if (!cache)
		return;
	for (unsigned i = 0; i < cache->nshards; i++) {
		shard_clear(&cache->shards[i]);
		shard_fini(cache, i);
	}
	assert(atomic_load(&cache->nover) == 0);
	mem = cache->mem;
	ds__mem_free(&mem, cache->shards_mem, cache->shards_size);
	ds__mem_free(&mem, cache, sizeof(*cache));
}

/* ---- the public operations ---- */

/* charge exceeds the shard's share: never cached (see cache.h), but an
 * insert all the same: it erases the key's old mapping and is counted.
 * Unless it fails, e is taken: pinned for the caller's handle, or deleted
 * now. */
static int insert_uncached(ds_cache_t *c, struct shard *s, struct entry *e,
			   bool pinned)
{
	struct entry *dead = NULL;

	if (c->strict)
		return ENOSPC;
	DS__MUST(lc_mutex_lock(&s->lock));
	erase_locked(s, e->key, e->hh.keylen, e->hh.hashv, &dead);
	LC_WRITE(s->stats.inserts, s->stats.inserts + 1);
	assert_settled_locked(s);
	DS__MUST(lc_mutex_unlock(&s->lock));
	bury(c, dead);
	if (pinned)
		atomic_init(&e->refs, 1);
	else
		entry_delete(c, e);
	return 0;
}

static int insert_cached(struct shard *s, struct entry *e, bool pinned)
{
	struct entry *dead = NULL;
	int err;

	atomic_init(&e->refs, pinned ? 1 : 0); /* the table adds its own */
	DS__MUST(lc_mutex_lock(&s->lock));
	err = insert_locked(s, e, &dead);
	assert_settled_locked(s);
	DS__MUST(lc_mutex_unlock(&s->lock));
	bury(s->cache, dead);
	return err;
}

int ds_cache_insert(ds_cache_t *cache, const void *key, size_t keylen,
		    void *value, size_t charge, ds_cache_handle_t **handle)
{
	uint32_t hashv;
	struct shard *s;
	struct entry *e;
	int err;

	if (handle)
		*handle = NULL;
	if (!cache || !key_ok(key, keylen))
		return EINVAL;
	hashv = (uint32_t)ds__siphash13(&cache->hkey, key, keylen);
	s = shard_for(cache, hashv);
	e = entry_new(cache, key, keylen, hashv, value, charge);
	if (!e)
		return ENOMEM;
	if (charge > s->capacity)
		err = insert_uncached(cache, s, e, handle != NULL);
	else
		err = insert_cached(s, e, handle != NULL);
	if (err)
		ds__mem_free(&cache->mem, e, entry_size(keylen));
	else if (handle)
		*handle = (ds_cache_handle_t *)e;
	return err;
}

/* Moves a hit to the head of its bucket's chain: a hot entry is then the
 * first one read (uthash adds new entries at the head, so without this
 * long-lived hot entries sink behind newer cold ones). */
static void bucket_to_front_locked(struct shard *s, struct entry *e)
{
	UT_hash_bucket *b =
		&s->tbl->buckets[e->hh.hashv & (s->tbl->num_buckets - 1)];
	UT_hash_handle *hh = &e->hh;

	lc_assert_held(&s->lock);
	if (b->hh_head == hh)
		return;
	hh->hh_prev->hh_next = hh->hh_next; /* not the head: has a prev */
	if (hh->hh_next)
		hh->hh_next->hh_prev = hh->hh_prev;
	hh->hh_prev = NULL;
	hh->hh_next = b->hh_head;
	b->hh_head->hh_prev = hh;
	b->hh_head = hh;
}

/* A hit pins the entry (handles are only ever taken here, under the
 * lock, through the table) and makes it the most recently used. */
static struct entry *lookup_locked(struct shard *s, const void *key,
				   size_t keylen, uint32_t hashv)
{
	struct entry *e;
	uint32_t refs;

	lc_assert_held(&s->lock);
	e = find_locked(s, key, keylen, hashv);
	if (!e) {
		s->stats.misses++;
		return NULL;
	}
	refs = atomic_fetch_add_explicit(&e->refs, 1, memory_order_relaxed);
	assert(refs >= 1); /* the table's own reference */
	(void)refs;
	bucket_to_front_locked(s, e);
	lru_touch_locked(s, e);
	s->stats.hits++;
	return e;
}

int ds_cache_lookup(ds_cache_t *cache, const void *key, size_t keylen,
		    ds_cache_handle_t **handle)
{
	uint32_t hashv;
	struct shard *s;
	struct entry *e;

	if (handle)
		*handle = NULL;
	if (!cache || !handle || !key_ok(key, keylen))
		return EINVAL;
	hashv = (uint32_t)ds__siphash13(&cache->hkey, key, keylen);
	s = shard_for(cache, hashv);
	DS__MUST(lc_mutex_lock(&s->lock));
	e = lookup_locked(s, key, keylen, hashv);
	DS__MUST(lc_mutex_unlock(&s->lock));
	*handle = (ds_cache_handle_t *)e;
	return e ? 0 : ENOENT;
}

void *ds_cache_value(const ds_cache_handle_t *handle)
{
	return handle ? entry_of(handle)->value : NULL;
}

size_t ds_cache_charge(const ds_cache_handle_t *handle)
{
	return handle ? entry_of(handle)->charge : 0;
}

void ds_cache_release(ds_cache_t *cache, ds_cache_handle_t *handle)
{
	struct entry *e = entry_of(handle);
	uint32_t hashv;
	uint32_t old;

	if (!cache || !e)
		return;
	hashv = e->hh.hashv; /* e may be freed by others after the decrement */
	old = atomic_fetch_sub(&e->refs, 1);
	assert(old >= 1); /* else released twice */
	if (old == 1)
		entry_delete(cache, e);
	else if (old == 2 && atomic_load(&cache->nover) > 0)
		rebalance(shard_for(cache, hashv));
}

int ds_cache_erase(ds_cache_t *cache, const void *key, size_t keylen)
{
	uint32_t hashv;

	if (!cache || !key_ok(key, keylen))
		return EINVAL;
	hashv = (uint32_t)ds__siphash13(&cache->hkey, key, keylen);
	return erase_in(shard_for(cache, hashv), key, keylen, hashv) ? 0
								     : ENOENT;
}

size_t ds_cache_prune(ds_cache_t *cache)
{
	size_t n = 0;

	if (!cache)
		return 0;
	for (unsigned i = 0; i < cache->nshards; i++)
		n += prune_shard(&cache->shards[i]);
	return n;
}

size_t ds_cache_total_charge(ds_cache_t *cache)
{
	size_t sum = 0;

	if (!cache)
		return 0;
	lock_all(cache);
	for (unsigned i = 0; i < cache->nshards; i++)
		sum += LC_READ(cache->shards[i].usage);
	unlock_all(cache);
	return sum;
}

unsigned ds_cache_shard_count(const ds_cache_t *cache)
{
	return cache ? cache->nshards : 0;
}

static void stats_add(struct ds_cache_stats *sum,
		      const struct ds_cache_stats *s)
{
	sum->hits += s->hits;
	sum->misses += s->misses;
	sum->inserts += s->inserts;
	sum->evictions += s->evictions;
	sum->entries += s->entries;
	sum->charge += s->charge;
}

int ds_cache_stats(ds_cache_t *cache, struct ds_cache_stats *total,
		   struct ds_cache_stats *per_shard, size_t n)
{
	struct ds_cache_stats sum = { 0 }, one;

	if (!cache)
		return EINVAL;
	lock_all(cache);
	for (unsigned i = 0; i < cache->nshards; i++) {
		struct shard *s = &cache->shards[i];

		one = LC_READ(s->stats);
		one.entries = s->tbl ? s->tbl->num_items : 0;
		one.charge = LC_READ(s->usage);
		stats_add(&sum, &one);
		if (per_shard && i < n)
			per_shard[i] = one;
	}
	unlock_all(cache);
	if (total)
		*total = sum;
	return 0;
}

#ifdef DS_WITHOUT_LOCK_CACHE
/* DELIBERATELY BROKEN, built only into ds/BUILD's :without_lock_cache for
 * tests/cache_race_test.c: ds_cache_total_charge without the shard locks,
 * the race a LOCKCHECK=1 build must report. */
size_t ds__cache_total_charge_without_lock(ds_cache_t *cache);
size_t ds__cache_total_charge_without_lock(ds_cache_t *cache)
{
	size_t sum = 0;

	for (unsigned i = 0; i < cache->nshards; i++)
		sum += LC_READ(cache->shards[i].usage); /* no lock: the bug */
	return sum;
}
#endif
