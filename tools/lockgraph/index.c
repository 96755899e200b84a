/*
 * index.c: see index.h. Invariant: n < cap / 2, so every probe sequence
 * meets an empty slot and lookups terminate (asserted at every add).
 */
#include "index.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "util.h"

void lg_index_init(struct lg_index *ix)
{
	ix->slots = NULL;
	ix->cap = 0;
	ix->n = 0;
}

void lg_index_free(struct lg_index *ix)
{
	free(ix->slots);
	lg_index_init(ix);
}

uint32_t lg_index_find(const struct lg_index *ix, uint64_t hash, lg_eq_fn eq,
		       const void *ctx, const void *key)
{
	uint32_t mask = ix->cap - 1;

	if (!ix->cap)
		return LG_NONE;
	for (uint32_t i = (uint32_t)hash & mask;; i = (i + 1) & mask) {
		const struct lg_slot *s = &ix->slots[i];

		if (s->idx == LG_NONE)
			return LG_NONE;
		if (s->hash == hash && eq(ctx, s->idx, key))
			return s->idx;
	}
}

static void put(struct lg_slot *slots, uint32_t cap, uint64_t hash,
		uint32_t idx)
{
	uint32_t i = (uint32_t)hash & (cap - 1);

	while (slots[i].idx != LG_NONE)
		i = (i + 1) & (cap - 1);
	slots[i].hash = hash;
	slots[i].idx = idx;
}

static int rehash(struct lg_index *ix, uint32_t cap)
{
	struct lg_slot *slots = malloc((size_t)cap * sizeof(*slots));

	if (!slots)
		return ENOMEM;
	for (uint32_t i = 0; i < cap; i++)
		slots[i].idx = LG_NONE;
	for (uint32_t i = 0; i < ix->cap; i++)
		if (ix->slots[i].idx != LG_NONE)
			put(slots, cap, ix->slots[i].hash, ix->slots[i].idx);
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return 0;
}

int lg_index_add(struct lg_index *ix, uint64_t hash, uint32_t idx)
{
	if ((uint64_t)(ix->n + 1) * 2 >= ix->cap) {
		uint32_t cap = ix->cap ? ix->cap * 2 : 64;

		if (ix->cap >= (1u << 31) || rehash(ix, cap))
			return ENOMEM;
	}
	put(ix->slots, ix->cap, hash, idx);
	ix->n++;
	assert((uint64_t)ix->n * 2 < ix->cap && !(ix->cap & (ix->cap - 1)));
	return 0;
}
