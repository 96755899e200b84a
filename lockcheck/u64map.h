/*
 * u64map.h: open-addressing map from 64-bit keys to 32-bit values.
 *
 * Linear probing with backward-shift deletion, so there are no tombstones and
 * a lookup costs the same however many deletes came before. Key 0 is usable:
 * a slot is empty when its stored key is 0 and keys are stored plus one, so
 * the largest key, UINT64_MAX, is the one key it cannot hold. Not thread-safe;
 * the caller serialises.
 */
#ifndef LOCKCHECK_U64MAP_H
#define LOCKCHECK_U64MAP_H

#include <stdbool.h>
#include <stdint.h>

struct lc__u64map {
	uint64_t *keys; /* key + 1, or 0 for an empty slot */
	uint32_t *vals;
	uint32_t cap; /* power of two, or 0 before the first insert */
	uint32_t count;
};

/* Finds key; on success stores its value in *val (when val is not NULL). */
bool lc__u64map_get(const struct lc__u64map *m, uint64_t key, uint32_t *val);

/* Inserts or replaces. Returns 0, or ENOMEM leaving the map unchanged. */
int lc__u64map_put(struct lc__u64map *m, uint64_t key, uint32_t val);

/* Removes key; returns whether it was there. */
bool lc__u64map_del(struct lc__u64map *m, uint64_t key);

/* Empties the map, keeping its memory. */
void lc__u64map_clear(struct lc__u64map *m);

/* Frees the map's memory; the map is empty and reusable after. */
void lc__u64map_free(struct lc__u64map *m);

/* A strong 64-bit mixer (the murmur3 finaliser): used for every hash here. */
static inline uint64_t lc__mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

#endif /* LOCKCHECK_U64MAP_H */
