/*
 * u64map.c: see u64map.h. The table is kept at most half full, so probe
 * sequences stay short and a free slot always exists.
 */
#include "u64map.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint32_t slot_of(const struct lc__u64map *m, uint64_t stored)
{
	assert(m->cap && (m->cap & (m->cap - 1)) == 0); /* a power of two */
	return (uint32_t)lc__mix64(stored) & (m->cap - 1);
}

bool lc__u64map_get(const struct lc__u64map *m, uint64_t key, uint32_t *val)
{
	uint64_t stored = key + 1;

	if (m->cap == 0)
		return false;
	for (uint32_t i = slot_of(m, stored);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == 0)
			return false;
		if (m->keys[i] == stored) {
			if (val)
				*val = m->vals[i];
			return true;
		}
	}
}

static void insert_fresh(struct lc__u64map *m, uint64_t stored, uint32_t val)
{
	uint32_t i = slot_of(m, stored);

	while (m->keys[i] != 0)
		i = (i + 1) & (m->cap - 1);
	m->keys[i] = stored;
	m->vals[i] = val;
	m->count++;
}

static int grow(struct lc__u64map *m)
{
	struct lc__u64map bigger = { 0 };
	uint32_t cap = m->cap ? m->cap * 2 : 16;

	if (cap == 0)
		return ENOMEM; /* 2^32 slots: refuse rather than wrap */
	bigger.keys = calloc(cap, sizeof(*bigger.keys));
	bigger.vals = malloc(cap * sizeof(*bigger.vals));
	if (!bigger.keys || !bigger.vals) {
		free(bigger.keys);
		free(bigger.vals);
		return ENOMEM;
	}
	bigger.cap = cap;
	for (uint32_t i = 0; i < m->cap; i++)
		if (m->keys[i])
			insert_fresh(&bigger, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	*m = bigger;
	return 0;
}

int lc__u64map_put(struct lc__u64map *m, uint64_t key, uint32_t val)
{
	uint64_t stored = key + 1;

	if (m->cap) {
		for (uint32_t i = slot_of(m, stored); m->keys[i];
		     i = (i + 1) & (m->cap - 1)) {
			if (m->keys[i] == stored) {
				m->vals[i] = val;
				return 0;
			}
		}
	}
	if ((m->count + 1) * 2 > m->cap && grow(m))
		return ENOMEM;
	insert_fresh(m, stored, val);
	assert(m->count * 2 <= m->cap); /* at most half full */
	return 0;
}

bool lc__u64map_del(struct lc__u64map *m, uint64_t key)
{
	uint64_t stored = key + 1;
	uint32_t mask = m->cap - 1, i;

	if (m->cap == 0)
		return false;
	for (i = slot_of(m, stored); m->keys[i] != stored; i = (i + 1) & mask)
		if (m->keys[i] == 0)
			return false;
	/* Backward shift: pull later members of the run into the hole when
	 * their home slot does not lie cyclically in (hole, j]. */
	for (uint32_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
		uint32_t home = slot_of(m, m->keys[j]);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	assert(m->count > 0);
	m->keys[i] = 0;
	m->count--;
	return true;
}

void lc__u64map_clear(struct lc__u64map *m)
{
	if (m->cap)
		memset(m->keys, 0, m->cap * sizeof(*m->keys));
	m->count = 0;
}

void lc__u64map_free(struct lc__u64map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
