/*
 * rwmap.c: the RW-locked map of rwmap.h.
 *
 * One uthash table under one lc_rwlock_t ("ds_rwmap.lock"). Reads take it
 * shared, writes exclusive. Everything a write may need is allocated before
 * the lock is taken, and everything it unlinks is freed (and handed to the
 * user's entry_free) after it is released, so the write lock covers only
 * table surgery.
 *
 * Entries: COPY keeps the key bytes and then the value bytes inline after
 * the entry (one allocation). BORROW keeps the caller's pointers.
 *
 * Invariants, under the lock:
 *   - each key is in the table at most once (a put adds the new entry and
 *     then unlinks the old, so a failed add leaves the old in place);
 *   - version changes on every successful write, and only then: an
 *     iterator whose version still matches holds a pointer into the table
 *     that is still valid;
 *   - an entry is in the table or on a dead list, never both: the user's
 *     entry_free only gets entries unlinked under the lock, after it is
 *     released (asserted: entry_free runs with the lock not held).
 * The first is asserted after every put: a lookup of the key finds the
 * entry just put. A write that fails to get the lock is only the EDEADLK
 * of rwmap.h (a read callback writing); any other lock failure is a bug,
 * asserted (must.h).
 */
#define _GNU_SOURCE
#include "ds/rwmap.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "cache_mem.h"
#include "hash.h"
#include "lockcheck/lockcheck.h"
#include "must.h"

/* uthash: allocate through the map's allocator, survive a failed one
 * (uthash_nonfatal_oom sets the caller's `oom`), and never hash with the
 * unkeyed default. Every uthash macro is used where the map `m` is in
 * scope; every call passes the hash it computed. */
#define HASH_NONFATAL_OOM	 1
#define HASH_KEYCMP(a, b, n)	 ds__key_cmp((a), (b), (n))
#define uthash_malloc(sz)	 ds__mem_alloc(&m->mem, (sz))
#define uthash_free(ptr, sz)	 ds__mem_free(&m->mem, (ptr), (sz))
#define uthash_nonfatal_oom(obj) ((void)(obj), oom = true)
#define HASH_FUNCTION(keyptr, keylen, hashv)                                   \
	((hashv) = (unsigned)ds__siphash13(&m->hkey, (keyptr), (keylen)))
#include <uthash.h>

struct entry {
	UT_hash_handle hh;     /* table link; hh.key and hh.keylen: the key */
	void *value;	       /* COPY: into bytes[]; BORROW: the caller's */
	size_t vlen;	       /* value length */
	unsigned char bytes[]; /* COPY: key bytes, then value bytes */
};

struct ds_rwmap {
	lc_rwlock_t lock;
	/* lock protects the following state; it guards it in LOCKCHECK=1
	 * builds (lc_guard in ds_rwmap_create), which check the marked
	 * accesses: every write of table and version (under the write lock)
	 * and the reads of size, foreach and the iterator (under either
	 * mode). A lookup's read (find_locked) stays unmarked: it is the
	 * hot path, and the checked build's lookups cost what they did. */
	struct entry *table; /* uthash head */
	uint64_t version;    /* bumped by every write */
	/* Constant after creation. */
	bool borrow;		      /* DS_RWMAP_BORROW */
	ds_rwmap_free_fn *entry_free; /* BORROW only; may be NULL */
	void *free_arg;
	struct ds__hash_key hkey; /* SipHash key */
	struct ds__mem mem;	  /* every allocation goes through it */
};

enum put_mode { PUT_ANY, PUT_NEW, PUT_EXISTING };

/* ---- entries (no lock) ---- */

static size_t entry_size(const ds_rwmap_t *m, size_t keylen, size_t vlen)
{
	return offsetof(struct entry, bytes) + (m->borrow ? 0 : keylen + vlen);
}

/* A new entry for key/value, not in the table; NULL when out of memory. */
static struct entry *entry_new(ds_rwmap_t *m, const void *key, size_t keylen,
			       uint32_t hashv, const void *value, size_t vlen)
{
	struct entry *e = ds__mem_alloc(&m->mem, entry_size(m, keylen, vlen));

	if (!e)
		return NULL;
	memset(&e->hh, 0, sizeof(e->hh));
	e->hh.keylen = (unsigned)keylen;
	e->hh.hashv = hashv;
	e->vlen = vlen;
	if (m->borrow) {
		e->hh.key = key;
		e->value = (void *)(uintptr_t)value;
		return e;
	}
	e->hh.key = e->bytes;
	e->value = e->bytes + keylen;
	memcpy(e->bytes, key, keylen);
	if (vlen)
		memcpy(e->value, value, vlen);
	return e;
}

/* Frees an entry that is in no table; BORROW: entry_free gets its key and
 * value first (keep_contents: not, when the caller keeps them). After
 * swap_locked either may be NULL, kept by the map; with both NULL there is
 * nothing to hand over and entry_free is not called. */
static void entry_free(ds_rwmap_t *m, struct entry *e, bool keep_contents)
{
	size_t keylen = e->hh.keylen;

	if (m->borrow && m->entry_free && !keep_contents &&
	    (e->hh.key || e->value)) {
		lc_assert_not_held(&m->lock);
		m->entry_free((void *)(uintptr_t)e->hh.key, keylen, e->value,
			      e->vlen, m->free_arg);
	}
	ds__mem_free(&m->mem, e, entry_size(m, keylen, e->vlen));
}

/* Frees a list of unlinked entries (through hh.next). No lock held. */
static void free_list(ds_rwmap_t *m, struct entry *dead)
{
	while (dead) {
		struct entry *next = dead->hh.next;

		entry_free(m, dead, false);
		dead = next;
	}
}

static bool key_ok(const void *key, size_t keylen)
{
	return key && keylen > 0 && keylen <= UINT_MAX;
}

static uint32_t hash_of(const ds_rwmap_t *m, const void *key, size_t keylen)
{
	return (uint32_t)ds__siphash13(&m->hkey, key, keylen);
}

/* ---- the table, under the lock ---- */

static struct entry *find_locked(ds_rwmap_t *m, const void *key, size_t keylen,
				 uint32_t hashv)
{
	struct entry *e;

	lc_assert_held(&m->lock);
	HASH_FIND_BYHASHVALUE(hh, m->table, key, keylen, hashv, e);
	return e;
}

/* Doubles the buckets when there are more than two entries per bucket on
 * average (uthash alone waits for one chain of 10). Out of memory, the
 * table stays as it is. */
static void grow_locked(ds_rwmap_t *m)
{
	UT_hash_table *tbl = m->table->hh.tbl;
	bool oom = false;

	lc_assert_held(&m->lock);
	if (tbl->num_items > 2 * tbl->num_buckets)
		HASH_EXPAND_BUCKETS(hh, tbl, oom);
	(void)oom;
}

/* Adds e; false when uthash could not allocate (the table is unchanged). */
static bool add_locked(ds_rwmap_t *m, struct entry *e)
{
	bool oom = false;

	lc_assert_held(&m->lock);
	lc_write(&m->table, sizeof(m->table)); /* uthash may set the head */
	HASH_ADD_KEYPTR_BYHASHVALUE(hh, m->table, e->hh.key, e->hh.keylen,
				    e->hh.hashv, e);
	if (!oom)
		grow_locked(m);
	return !oom;
}

/* Unlinks e and puts it on *dead, to be freed once the lock is dropped. */
static void unlink_locked(ds_rwmap_t *m, struct entry *e, struct entry **dead)
{
	lc_assert_held(&m->lock);
	lc_write(&m->table, sizeof(m->table)); /* uthash may set the head */
	HASH_DELETE(hh, m->table, e);
	e->hh.next = *dead;
	*dead = e;
}

/* BORROW replace, which cannot fail: old takes fresh's key and value in
 * place, and fresh, carrying old's, goes on *dead. The keys are equal. A
 * pointer the put passed again (the very key or value the map stores) is
 * still in use: fresh carries NULL (length 0) instead, so that entry_free
 * gets only what left the map. */
static void swap_locked(ds_rwmap_t *m, struct entry *old, struct entry *fresh,
			struct entry **dead)
{
	const void *key = old->hh.key;
	void *value = old->value;
	size_t vlen = old->vlen;

	lc_assert_held(&m->lock);
	old->hh.key = fresh->hh.key;
	old->value = fresh->value;
	old->vlen = fresh->vlen;
	fresh->hh.key = key == old->hh.key ? NULL : key;
	fresh->hh.keylen = key == old->hh.key ? 0 : fresh->hh.keylen;
	fresh->value = value == old->value ? NULL : value;
	fresh->vlen = value == old->value ? 0 : vlen;
	fresh->hh.next = *dead;
	*dead = fresh;
}

/* Puts fresh in the map as mode allows. *used: whether fresh was taken
 * (into the table, or onto *dead carrying the old contents). */
static int put_locked(ds_rwmap_t *m, struct entry *fresh, enum put_mode mode,
		      bool *used, struct entry **dead)
{
	struct entry *old, *now;

	lc_assert_held(&m->lock);
	old = find_locked(m, fresh->hh.key, fresh->hh.keylen, fresh->hh.hashv);
	if ((old && mode == PUT_NEW) || (!old && mode == PUT_EXISTING))
		return old ? EEXIST : ENOENT;
	if (old && m->borrow) {
		swap_locked(m, old, fresh, dead);
	} else {
		if (!add_locked(m, fresh))
			return ENOMEM;
		if (old)
			unlink_locked(m, old, dead);
	}
	/* The key is in the table once: a lookup finds the entry now holding
	 * the new value (fresh, or old after a swap). */
	now = old && m->borrow ? old : fresh;
	assert(find_locked(m, now->hh.key, now->hh.keylen, now->hh.hashv) ==
	       now);
	(void)now;
	*used = true;
	LC_WRITE(m->version, m->version + 1);
	return 0;
}

/* ---- writes ---- */

/* This and the delete opt out of Thread Safety Analysis: their write lock
 * may fail (EDEADLK), which the analysis cannot tell from success. */
LC_NO_THREAD_SAFETY_ANALYSIS
static int put(ds_rwmap_t *m, const void *key, size_t keylen, const void *value,
	       size_t vlen, enum put_mode mode)
{
	struct entry *fresh, *dead = NULL;
	bool used = false;
	int err;

	if (!m || !key_ok(key, keylen) || (!value && vlen))
		return EINVAL;
	if (!m->borrow && vlen > SIZE_MAX - entry_size(m, keylen, 0))
		return ENOMEM; /* no entry that size can exist */
	fresh = entry_new(m, key, keylen, hash_of(m, key, keylen), value, vlen);
	if (!fresh)
		return ENOMEM;
	err = lc_rwlock_wrlock(&m->lock);
	if (err) { /* a read callback writes: the documented EDEADLK */
		assert(err == EDEADLK);
		entry_free(m, fresh, true);
		return err;
	}
	err = put_locked(m, fresh, mode, &used, &dead);
	DS__MUST(lc_rwlock_unlock(&m->lock));
	if (!used)
		entry_free(m, fresh, true); /* the caller keeps key and value */
	free_list(m, dead);
	return err;
}

int ds_rwmap_put(ds_rwmap_t *map, const void *key, size_t keylen,
		 const void *value, size_t vlen)
{
	return put(map, key, keylen, value, vlen, PUT_ANY);
}

int ds_rwmap_insert(ds_rwmap_t *map, const void *key, size_t keylen,
		    const void *value, size_t vlen)
{
	return put(map, key, keylen, value, vlen, PUT_NEW);
}

int ds_rwmap_replace(ds_rwmap_t *map, const void *key, size_t keylen,
		     const void *value, size_t vlen)
{
	return put(map, key, keylen, value, vlen, PUT_EXISTING);
}

LC_NO_THREAD_SAFETY_ANALYSIS
int ds_rwmap_delete(ds_rwmap_t *map, const void *key, size_t keylen)
{
	struct entry *e, *dead = NULL;
	int err;

	if (!map || !key_ok(key, keylen))
		return EINVAL;
	err = lc_rwlock_wrlock(&map->lock);
	if (err) { /* a read callback writes: the documented EDEADLK */
		assert(err == EDEADLK);
		return err;
	}
	e = find_locked(map, key, keylen, hash_of(map, key, keylen));
	if (e) {
		unlink_locked(map, e, &dead);
		LC_WRITE(map->version, map->version + 1);
	}
	DS__MUST(lc_rwlock_unlock(&map->lock));
	free_list(map, dead);
	return e ? 0 : ENOENT;
}

/* ---- reads ---- */

struct copy_out {
	void *buf;
	size_t cap;
	size_t *vlen;
};

static int copy_value(const void *key, size_t keylen, const void *value,
		      size_t vlen, void *arg)
{
	struct copy_out *out = arg;

	(void)key;
	(void)keylen;
	if (out->vlen)
		*out->vlen = vlen;
	if (vlen > out->cap)
		return ERANGE;
	if (vlen)
		memcpy(out->buf, value, vlen);
	return 0;
}

int ds_rwmap_get(ds_rwmap_t *map, const void *key, size_t keylen, void *buf,
		 size_t cap, size_t *vlen)
{
	struct copy_out out = { buf, cap, vlen };

	if (!buf && cap)
		return EINVAL;
	return ds_rwmap_read(map, key, keylen, copy_value, &out);
}

int ds_rwmap_read(ds_rwmap_t *map, const void *key, size_t keylen,
		  ds_rwmap_visit_fn *fn, void *arg)
{
	struct entry *e;
	int err;

	if (!map || !fn || !key_ok(key, keylen))
		return EINVAL;
	DS__MUST(lc_rwlock_rdlock(&map->lock));
	e = find_locked(map, key, keylen, hash_of(map, key, keylen));
	err = e ? fn(e->hh.key, e->hh.keylen, e->value, e->vlen, arg) : ENOENT;
	DS__MUST(lc_rwlock_unlock(&map->lock));
	return err;
}

bool ds_rwmap_contains(ds_rwmap_t *map, const void *key, size_t keylen)
{
	bool found;

	if (!map || !key_ok(key, keylen))
		return false;
	DS__MUST(lc_rwlock_rdlock(&map->lock));
	found = find_locked(map, key, keylen, hash_of(map, key, keylen));
	DS__MUST(lc_rwlock_unlock(&map->lock));
	return found;
}

size_t ds_rwmap_size(ds_rwmap_t *map)
{
	struct entry *table;
	size_t n;

	if (!map)
		return 0;
	DS__MUST(lc_rwlock_rdlock(&map->lock));
	table = LC_READ(map->table);
	n = HASH_COUNT(table);
	DS__MUST(lc_rwlock_unlock(&map->lock));
	return n;
}

int ds_rwmap_foreach(ds_rwmap_t *map, ds_rwmap_visit_fn *fn, void *arg)
{
	struct entry *e;
	int rc = 0;

	if (!map || !fn)
		return EINVAL;
	DS__MUST(lc_rwlock_rdlock(&map->lock));
	for (e = LC_READ(map->table); e && !rc; e = e->hh.next)
		rc = fn(e->hh.key, e->hh.keylen, e->value, e->vlen, arg);
	DS__MUST(lc_rwlock_unlock(&map->lock));
	return rc;
}

int ds_rwmap_iter_init(struct ds_rwmap_iter *it, ds_rwmap_t *map)
{
	if (!it || !map)
		return EINVAL;
	DS__MUST(lc_rwlock_rdlock(&map->lock));
	it->map = map;
	it->next = LC_READ(map->table);
	it->version = LC_READ(map->version);
	DS__MUST(lc_rwlock_unlock(&map->lock));
	return 0;
}

int ds_rwmap_iter_next(struct ds_rwmap_iter *it, ds_rwmap_visit_fn *fn,
		       void *arg)
{
	ds_rwmap_t *m = it ? it->map : NULL;
	struct entry *e;
	int rc = 0;

	if (!m || !fn)
		return EINVAL;
	DS__MUST(lc_rwlock_rdlock(&m->lock));
	e = it->next;
	if (LC_READ(m->version) != it->version)
		rc = ECANCELED; /* e may be gone: do not touch it */
	else if (!e)
		rc = ENOENT;
	else
		it->next = e->hh.next;
	if (!rc)
		rc = fn(e->hh.key, e->hh.keylen, e->value, e->vlen, arg);
	DS__MUST(lc_rwlock_unlock(&m->lock));
	return rc;
}

/* ---- creation ---- */

/* Bytes from table to the end of version: the state m->lock guards. */
static size_t guarded_size(void)
{
	return offsetof(struct ds_rwmap, borrow) -
	       offsetof(struct ds_rwmap, table);
}

static void configure(ds_rwmap_t *m, const struct ds_rwmap_options *opt,
		      const struct ds__mem *mem)
{
	m->borrow = opt->ownership == DS_RWMAP_BORROW;
	m->entry_free = opt->entry_free;
	m->free_arg = opt->free_arg;
	ds__hash_key_init(&m->hkey, opt->seed);
	m->mem = *mem;
}

int ds_rwmap_create(ds_rwmap_t **out, const struct ds_rwmap_options *opt)
{
	static const struct ds_rwmap_options defaults;
	struct ds__mem mem;
	ds_rwmap_t *m;
	int err;

	opt = opt ? opt : &defaults;
	if (!out || (unsigned)opt->ownership > DS_RWMAP_BORROW ||
	    ds__mem_init(&mem, opt->alloc, opt->free, opt->alloc_arg))
		return EINVAL;
	*out = NULL;
	m = ds__mem_alloc(&mem, sizeof(*m));
	if (!m)
		return ENOMEM;
	memset(m, 0, sizeof(*m));
	err = ds__init_result(lc_rwlock_init(&m->lock, "ds_rwmap.lock"));
	if (err) {
		ds__mem_free(&mem, m, sizeof(*m));
		return err;
	}
	configure(m, opt, &mem);
	/* Checked in LOCKCHECK=1 builds (a declaration that cannot be stored
	 * for want of memory leaves it unchecked). */
	(void)lc_guard(&m->table, guarded_size(), &m->lock);
	*out = m;
	return 0;
}

void ds_rwmap_destroy(ds_rwmap_t *map)
{
	ds_rwmap_t *m = map; /* uthash's macros use `m` */
	struct entry *e, *next;
	struct ds__mem mem;

	if (!m)
		return;
	e = m->table;
	HASH_CLEAR(hh, m->table); /* uthash's own memory; entries stay */
	for (; e; e = next) {
		next = e->hh.next;
		entry_free(m, e, false);
	}
	DS__MUST(lc_rwlock_destroy(&m->lock));
	lc_unguard(&m->table, guarded_size());
	mem = m->mem;
	ds__mem_free(&mem, m, sizeof(*m));
}

#ifdef DS_WITHOUT_LOCK_RWMAP
/* DELIBERATELY BROKEN, built only into ds/BUILD's :without_lock_rwmap for
 * tests/rwmap_race_test.c: ds_rwmap_size without the read lock, the race
 * a LOCKCHECK=1 build must report. */
size_t ds__rwmap_size_without_lock(ds_rwmap_t *map);
size_t ds__rwmap_size_without_lock(ds_rwmap_t *map)
{
	struct entry *table = LC_READ(map->table); /* no lock: the bug */

	return HASH_COUNT(table);
}
#endif
