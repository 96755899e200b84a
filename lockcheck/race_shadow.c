/*
 * race_shadow.c: the history of checked memory, ThreadSanitizer's way.
 * Memory is cut into 8-byte granules; a granule that a checked access
 * touched has CELLS cells, each one earlier access to some of its bytes
 * (epoch, site, bytes, kind). A new access is compared with every cell
 * it shares a byte with, then stored, dropping the cells it makes
 * redundant: those of its bytes, ordered before it (or its own thread's),
 * and no stronger than it (a read never replaces a write). With every
 * cell taken, one is overwritten: a race with that access may then be
 * missed, never invented. Granules live in a hash map from address to a
 * slot of one array, made only for bytes ever checked. Under
 * lc__race_mu. Invariant: a cell is empty (len 0) or off + len <= 8.
 */
#define _GNU_SOURCE
#include "race.h"

#include <stdlib.h>

#define GRANULE 8u
#define CELLS 4

struct granule {
	uint64_t key; /* address / GRANULE */
	struct lc__race_access cell[CELLS];
};

static struct lc__u64map index_of;
static struct granule *granules;
static uint32_t ngranules, cap;
static uint32_t *spare; /* positions freed by lc__shadow_forget */
static uint32_t nspare, spare_cap;

static struct granule *find(uint64_t key)
{
	uint32_t i;

	return lc__u64map_get(&index_of, key, &i) ? &granules[i] : NULL;
}

static bool grow(void)
{
	uint32_t ncap = cap ? cap * 2 : 256;
	struct granule *g;

	if (ncap > UINT32_MAX / 2)
		return false;
	g = realloc(granules, (size_t)ncap * sizeof(*g));
	if (!g)
		return false;
	granules = g;
	cap = ncap;
	return true;
}

/* The granule of key, made empty when new; NULL when out of memory. */
static struct granule *make(uint64_t key)
{
	struct granule *g = find(key);
	uint32_t i;

	if (g)
		return g;
	if (nspare)
		i = spare[nspare - 1];
	else if (ngranules < cap || grow())
		i = ngranules;
	else
		return NULL;
	if (lc__u64map_put(&index_of, key, i))
		return NULL;
	if (nspare)
		nspare--;
	else
		ngranules++;
	granules[i] = (struct granule){ .key = key };
	return &granules[i];
}

static bool ordered(const struct lc__race_thread *rt,
		    const struct lc__race_access *c)
{
	return c->slot == rt->slot ||
	       (c->slot < rt->vc.n && c->clock <= rt->vc.c[c->slot]);
}

static bool overlap(const struct lc__race_access *c, unsigned off,
		    unsigned end)
{
	return c->len && c->off < end && off < (unsigned)c->off + c->len;
}

/* Whether cell c races with access a of bytes [off, end). */
static bool races(const struct lc__race_thread *rt,
		  const struct lc__race_access *c, const struct lc__race_access *a,
		  unsigned off, unsigned end)
{
	return overlap(c, off, end) && (a->write || c->write) &&
	       !ordered(rt, c);
}

static void store(struct granule *g, const struct lc__race_thread *rt,
		  const struct lc__race_access *a, unsigned off, unsigned end)
{
	struct lc__race_access *free_cell = NULL;

	for (int i = 0; i < CELLS; i++) {
		struct lc__race_access *c = &g->cell[i];

		if (c->len && c->off >= off && c->off + c->len <= end &&
		    ordered(rt, c) && (a->write || !c->write))
			c->len = 0;
		if (!c->len && !free_cell)
			free_cell = c;
	}
	if (!free_cell)
		free_cell = &g->cell[a->clock % CELLS];
	*free_cell = *a;
	free_cell->off = (uint8_t)off;
	free_cell->len = (uint8_t)(end - off);
	assert(free_cell->off + free_cell->len <= GRANULE);
}

bool lc__shadow_access(struct lc__race_thread *rt,
		       const struct lc__race_access *a, uintptr_t lo,
		       uintptr_t hi, struct lc__race_access *prior)
{
	bool found = false;

	assert(lo < hi);
	for (uint64_t k = lo / GRANULE; k <= (hi - 1) / GRANULE; k++) {
		uintptr_t base = (uintptr_t)k * GRANULE;
		unsigned off = lo > base ? (unsigned)(lo - base) : 0;
		unsigned end = hi < base + GRANULE ? (unsigned)(hi - base)
						   : GRANULE;
		struct granule *g = make(k);

		if (!g) {
			lc__race_limit("race shadow memory: out of memory");
			break;
		}
		for (int i = 0; i < CELLS && !found; i++)
			if (races(rt, &g->cell[i], a, off, end)) {
				*prior = g->cell[i];
				found = true;
			}
		store(g, rt, a, off, end);
	}
	return found;
}

/* Keeps position i for reuse; when that cannot be noted, the granule
 * stays (empty). */
static bool spare_keep(uint32_t i)
{
	if (nspare == spare_cap) {
		uint32_t ncap = spare_cap ? spare_cap * 2 : 64;
		uint32_t *p = realloc(spare, ncap * sizeof(*p));

		if (!p)
			return false;
		spare = p;
		spare_cap = ncap;
	}
	spare[nspare++] = i;
	return true;
}

void lc__shadow_forget(uintptr_t lo, uintptr_t hi)
{
	assert(lo < hi);
	for (uint64_t k = lo / GRANULE; k <= (hi - 1) / GRANULE; k++) {
		struct granule *g = find(k);
		uintptr_t base = (uintptr_t)k * GRANULE;
		unsigned off = lo > base ? (unsigned)(lo - base) : 0;
		unsigned end = hi < base + GRANULE ? (unsigned)(hi - base)
						   : GRANULE;
		bool empty = true;

		if (!g)
			continue;
		for (int i = 0; i < CELLS; i++) {
			if (overlap(&g->cell[i], off, end))
				g->cell[i].len = 0;
			empty = empty && !g->cell[i].len;
		}
		if (empty && spare_keep((uint32_t)(g - granules)))
			lc__u64map_del(&index_of, k);
	}
}
