/*
 * index.h: a hash index from keys to element numbers of an array the caller
 * owns (classes, edges, strings). The index stores only (hash, number); the
 * caller's eq callback compares a stored element with the key looked up, so
 * one index type serves every key shape.
 *
 * Open addressing, linear probing, power-of-two capacity, at most half full.
 * Elements are never removed.
 */
#ifndef LOCKGRAPH_INDEX_H
#define LOCKGRAPH_INDEX_H

#include <stdbool.h>
#include <stdint.h>

struct lg_slot {
	uint64_t hash;
	uint32_t idx; /* LG_NONE: empty */
};

struct lg_index {
	struct lg_slot *slots;
	uint32_t cap; /* power of two, or 0 */
	uint32_t n;
};

/* True when element idx of the caller's array equals key. */
typedef bool (*lg_eq_fn)(const void *ctx, uint32_t idx, const void *key);

void lg_index_init(struct lg_index *ix);
void lg_index_free(struct lg_index *ix);

/* The element number stored for key, or LG_NONE. */
uint32_t lg_index_find(const struct lg_index *ix, uint64_t hash, lg_eq_fn eq,
		       const void *ctx, const void *key);

/* Adds idx under hash (the caller knows the key is absent). 0 or ENOMEM. */
int lg_index_add(struct lg_index *ix, uint64_t hash, uint32_t idx);

#endif /* LOCKGRAPH_INDEX_H */
