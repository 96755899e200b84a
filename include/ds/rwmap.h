/*
 * rwmap.h: a hash map of byte-string keys under one reader-writer lock.
 *
 * Reads (get, read, contains, size, foreach, iterator steps) take the read
 * lock and run in parallel; writes (put, insert, replace, delete) take the
 * write lock. Every call may come from any thread, with no external lock.
 *
 * Ownership, chosen once at creation:
 *   - DS_RWMAP_COPY (the default): put copies the key and value bytes in;
 *     the map frees its copies itself.
 *   - DS_RWMAP_BORROW: put stores the caller's key and value pointers and
 *     the map owns them from then on; when an entry leaves the map (replaced,
 *     deleted, destroyed) the entry_free function gets them, once, with no
 *     lock of the map held. A put may pass again the very key or value
 *     pointer the map stores for that key: that pointer stays in the map
 *     and is not given to entry_free (see ds_rwmap_put).
 *
 * Callbacks (ds_rwmap_read, ds_rwmap_foreach, ds_rwmap_iter_next) run with
 * the map's READ lock held. They may read the map, but must not write to
 * it: waiting for the write lock while holding the read lock is a
 * self-deadlock. In LOCKCHECK=1 builds that write is reported as
 * "lockcheck: recursive-lock" and fails with EDEADLK instead of hanging.
 * The pointers a callback gets are valid only during the call.
 *
 * Keys may come from untrusted input: the table hashes them with SipHash
 * under a per-map key. Errors are errno values: EINVAL (NULL map, NULL or
 * zero-length key, NULL value with a non-zero length), ENOMEM (nothing
 * changed), ENOENT, EEXIST, ERANGE, ECANCELED.
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
#ifndef DS_RWMAP_H
#define DS_RWMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_rwmap ds_rwmap_t;

/* Who owns keys and values (see above). */
enum ds_rwmap_ownership {
	DS_RWMAP_COPY = 0,
	DS_RWMAP_BORROW = 1,
};

/* Gets an entry leaving a DS_RWMAP_BORROW map. No map lock is held. key
 * (keylen 0) or value (vlen 0) is NULL when that pointer stays in the map
 * (a put passed it again); the call is skipped when both stay. */
typedef void ds_rwmap_free_fn(void *key, size_t keylen, void *value,
			      size_t vlen, void *arg);

/* Called for entries under the read lock; a non-zero return stops an
 * iteration and is passed back to the caller. */
typedef int ds_rwmap_visit_fn(const void *key, size_t keylen, const void *value,
			      size_t vlen, void *arg);

/* Creation options. Zero-initialise, then set what you need. */
struct ds_rwmap_options {
	enum ds_rwmap_ownership ownership; /* COPY or BORROW */
	ds_rwmap_free_fn *entry_free;	   /* BORROW: NULL leaves them be */
	void *free_arg;			   /* passed to entry_free */
	uint64_t seed[2];		   /* hash key; {0, 0}: a random one */
	void *(*alloc)(size_t size, void *arg); /* NULL with free: malloc */
	void (*free)(void *ptr, size_t size, void *arg); /* size as allocated */
	void *alloc_arg; /* passed to alloc and free */
};

/* A resumable iteration that holds no lock between steps (see
 * ds_rwmap_iter_next). Fields are private. */
struct ds_rwmap_iter {
	ds_rwmap_t *map;  /* the map iterated */
	void *next;	  /* the next entry, valid while version matches */
	uint64_t version; /* the map's version when the iteration began */
};

/*
 * Creates a map and stores it in *out. opt may be NULL: DS_RWMAP_COPY,
 * malloc, a random hash key. Returns 0, EINVAL (out NULL, an unknown
 * ownership, only one of alloc/free set), ENOMEM, or EAGAIN (the lock
 * could not be initialised). Nothing is left behind on failure.
 */
int ds_rwmap_create(ds_rwmap_t **out, const struct ds_rwmap_options *opt);

/*
 * Destroys the map and every entry (BORROW: entry_free gets each). Accepts
 * NULL. REQUIRES: no other thread uses the map.
 */
void ds_rwmap_destroy(ds_rwmap_t *map);

/*
 * Maps key to value (vlen bytes), replacing any earlier value. COPY: the
 * bytes are copied. BORROW: the map takes key and value on success (on a
 * replace it keeps the new key and frees the old key and value, except a
 * pointer passed again: re-putting the very key pointer the map stores
 * frees only the old value, re-putting the stored value pointer only the
 * old key). value may be NULL only with vlen 0. Returns 0, EINVAL or ENOMEM
 * (nothing changed, the caller keeps what it passed).
 */
int ds_rwmap_put(ds_rwmap_t *map, const void *key, size_t keylen,
		 const void *value, size_t vlen);

/* Like ds_rwmap_put, but only when key is absent: EEXIST otherwise. */
int ds_rwmap_insert(ds_rwmap_t *map, const void *key, size_t keylen,
		    const void *value, size_t vlen);

/* Like ds_rwmap_put, but only when key is present: ENOENT otherwise. */
int ds_rwmap_replace(ds_rwmap_t *map, const void *key, size_t keylen,
		     const void *value, size_t vlen);

/* Removes key and its value. Returns 0, ENOENT or EINVAL. */
int ds_rwmap_delete(ds_rwmap_t *map, const void *key, size_t keylen);

/*
 * Copies key's value into buf (cap bytes). *vlen (if not NULL) receives
 * the value's length in every case where the key is found. Returns 0,
 * ENOENT, ERANGE (cap too small: buf untouched; ask again with *vlen
 * bytes; buf may be NULL when cap is 0) or EINVAL.
 */
int ds_rwmap_get(ds_rwmap_t *map, const void *key, size_t keylen, void *buf,
		 size_t cap, size_t *vlen);

/*
 * Calls fn on key's entry with the read lock held and returns what fn
 * returns; ENOENT when the key is absent (fn not called), EINVAL.
 */
int ds_rwmap_read(ds_rwmap_t *map, const void *key, size_t keylen,
		  ds_rwmap_visit_fn *fn, void *arg);

/* True when key is in the map; false too for a NULL map or invalid key. */
bool ds_rwmap_contains(ds_rwmap_t *map, const void *key, size_t keylen);

/* The number of entries (0 for a NULL map). */
size_t ds_rwmap_size(ds_rwmap_t *map);

/*
 * Calls fn on every entry, in no particular order, all under one read lock
 * (a consistent snapshot). Stops at the first non-zero return of fn and
 * returns it; 0 when every entry was visited; EINVAL.
 */
int ds_rwmap_foreach(ds_rwmap_t *map, ds_rwmap_visit_fn *fn, void *arg);

/*
 * Starts a resumable iteration: each ds_rwmap_iter_next takes the read lock
 * for one entry only, so the caller may do anything between steps. Returns
 * 0 or EINVAL.
 */
int ds_rwmap_iter_init(struct ds_rwmap_iter *it, ds_rwmap_t *map);

/*
 * Calls fn on the next entry (the order of ds_rwmap_foreach) under the read
 * lock.
 * Returns fn's return value (the step is taken whatever it is), ENOENT at
 * the end, ECANCELED when the map was modified since ds_rwmap_iter_init
 * (the guard: the iteration cannot go on; start a new one), EINVAL.
 */
int ds_rwmap_iter_next(struct ds_rwmap_iter *it, ds_rwmap_visit_fn *fn,
		       void *arg);

#ifdef __cplusplus
}
#endif

#endif /* DS_RWMAP_H */
