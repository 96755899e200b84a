/*
 * chains.c: the table of validated acquisitions (lockdep's lock chains).
 *
 * A chain is keyed by a hash of the held stack's classes and modes plus the
 * new lock's class and mode. Readers probe without any lock: slots only ever
 * go from empty to a chain, and a chain is fully written before its slot is
 * published (release/acquire). Inserts and growth happen under lc__slow.
 * Growing publishes a new table; an old one may still be in a reader's hands,
 * so it is kept, not freed (their sizes sum to less than the newest one's).
 * A reader on an old table just misses recent chains and takes the slow
 * path, which looks again under the lock. Invariants: a table's cap is a
 * power of two and it is at most half full, so a probe ends at an empty
 * slot; a chain sits in the probe sequence of its hash.
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>

struct table {
	uint32_t cap; /* power of two */
	struct lc__chain *_Atomic slots[];
};

static struct table *_Atomic current;
static uint32_t count; /* lc__slow */
/* Replaced tables, kept for readers that may still probe them. Each is
 * half the next, so 32 slots outlast any table we could allocate. */
static struct table *retired[32];
static uint32_t nretired;

static struct lc__chain *probe(struct table *t, uint64_t hash)
{
	for (uint32_t i = (uint32_t)hash & (t->cap - 1);;
	     i = (i + 1) & (t->cap - 1)) {
		struct lc__chain *c = atomic_load_explicit(
			&t->slots[i], memory_order_acquire);

		if (!c || c->hash == hash)
			return c;
	}
}

struct lc__chain *lc__chain_find(uint64_t hash)
{
	struct table *t = atomic_load_explicit(&current, memory_order_acquire);

	return t ? probe(t, hash) : NULL;
}

static void place(struct table *t, struct lc__chain *c)
{
	uint32_t i = (uint32_t)c->hash & (t->cap - 1);

	assert(t->cap && (t->cap & (t->cap - 1)) == 0);
	while (atomic_load_explicit(&t->slots[i], memory_order_relaxed))
		i = (i + 1) & (t->cap - 1);
	atomic_store_explicit(&t->slots[i], c, memory_order_release);
}

static int grow(struct table *old)
{
	uint32_t cap = old ? old->cap * 2 : 1024;
	struct table *t;

	if (cap == 0 || cap > (UINT32_MAX >> 1))
		return ENOMEM; /* 2^31 slots: refuse rather than wrap */
	t = calloc(1, sizeof(*t) + (size_t)cap * sizeof(t->slots[0]));
	if (!t)
		return ENOMEM;
	t->cap = cap;
	for (uint32_t i = 0; old && i < old->cap; i++) {
		struct lc__chain *c = atomic_load_explicit(
			&old->slots[i], memory_order_relaxed);

		if (c)
			place(t, c);
	}
	atomic_store_explicit(&current, t, memory_order_release);
	if (old && nretired < 32)
		retired[nretired++] = old;
	return 0;
}

int lc__chain_insert(struct lc__chain *c)
{
	struct table *t = atomic_load_explicit(&current, memory_order_relaxed);

	if (count >= lc__cfg.max_chains)
		return ENOSPC;
	if ((!t || (count + 1) * 2 > t->cap) && grow(t))
		return ENOMEM;
	t = atomic_load_explicit(&current, memory_order_relaxed);
	place(t, c);
	count++;
	assert(count * 2 <= t->cap && lc__chain_find(c->hash) == c);
	return 0;
}

void lc__chain_each(void (*fn)(struct lc__chain *c, void *arg), void *arg)
{
	struct table *t = atomic_load_explicit(&current, memory_order_relaxed);

	for (uint32_t i = 0; t && i < t->cap; i++) {
		struct lc__chain *c = atomic_load_explicit(
			&t->slots[i], memory_order_relaxed);

		if (c)
			fn(c, arg);
	}
}
