/*
 * race_shadow.c: the history of checked memory, ThreadSanitizer's way.
 * Memory is cut into 8-byte granules; a granule that a checked access
 * touched has CELLS cells, each one earlier access to some of its bytes.
 * A cell is one word (epoch, bytes, kind) that threads load and store
 * atomically, with no lock: what a report says of the access (site,
 * locks held, address) lies beside it, in the cell's note. A new access
 * is compared with every cell it shares a byte with, then stored,
 * dropping the cells it makes redundant: those of its bytes, ordered
 * before it (or its own thread's), and no stronger than it (a read never
 * replaces a write). With every cell taken, one is overwritten.
 *
 * Threads that check one granule at once may overwrite each other's
 * cells: a race may then be missed, never invented, since every cell
 * holds an access that was made, with its epoch. Granules are found by a
 * hash map from address, cut into stripes each under a mutex of its own
 * (leaves, as lc__race_mu); a thread's hints (race.h) spare it the map.
 * Invariants: a granule never moves and never changes its key, so a hint
 * stays true; a cell is empty (0, no byte) or names an access.
 */
#define _GNU_SOURCE
#include "race_cell.h"

#include <stdlib.h>
#include <string.h>

#define GRANULE LC__GRANULE
#define CELLS	LC__CELLS

/* Granules are made in blocks that never move. */
#define BLOCK 256

/* The shadow is cut into stripes by granule address, each with a mutex
 * of its own over its map and blocks (not over the cells). */
#define STRIPES 64

struct stripe {
	pthread_mutex_t mu;
	struct lc__u64map index_of; /* key -> position */
	struct lc__granule **block;
	uint32_t ngranules, nblocks, blocks_cap;
	char pad[64]; /* stripes on cache lines of their own */
};

/* Static mutexes: no init call can fail, none is left to destroy. */
#define STRIPE                                                                 \
	{                                                                      \
		.mu = PTHREAD_MUTEX_INITIALIZER                                \
	}
#define STRIPE4	 STRIPE, STRIPE, STRIPE, STRIPE
#define STRIPE16 STRIPE4, STRIPE4, STRIPE4, STRIPE4
static struct stripe stripes[STRIPES] = { STRIPE16, STRIPE16, STRIPE16,
					  STRIPE16 };

static struct stripe *stripe_of(uint64_t key)
{
	return &stripes[lc__mix64(key) % STRIPES];
}

void lc__shadow_fork_lock(bool lock)
{
	for (int i = 0; i < STRIPES; i++) {
		if (lock)
			pthread_mutex_lock(&stripes[i].mu);
		else
			pthread_mutex_unlock(&stripes[i].mu);
	}
}

static struct lc__granule *at_pos(struct stripe *st, uint32_t i)
{
	assert(i < st->ngranules);
	return &st->block[i / BLOCK][i % BLOCK];
}

/* Under st->mu. */
static struct lc__granule *find(struct stripe *st, uint64_t key)
{
	uint32_t i;

	return lc__u64map_get(&st->index_of, key, &i) ? at_pos(st, i) : NULL;
}

/* Under st->mu: room for one more granule. */
static bool grow(struct stripe *st)
{
	struct lc__granule *g;

	if (st->ngranules < st->nblocks * BLOCK)
		return true;
	if (st->nblocks == UINT32_MAX / BLOCK - 1)
		return false;
	if (st->nblocks == st->blocks_cap) {
		uint32_t cap = st->blocks_cap ? st->blocks_cap * 2 : 16;
		struct lc__granule **b = realloc(st->block, cap * sizeof(*b));

		if (!b)
			return false;
		st->block = b;
		st->blocks_cap = cap;
	}
	g = aligned_alloc(_Alignof(struct lc__granule), BLOCK * sizeof(*g));
	if (!g)
		return false;
	memset(g, 0, BLOCK * sizeof(*g));
	st->block[st->nblocks++] = g;
	return true;
}

/* The granule of key, made empty when new; NULL when out of memory. */
static struct lc__granule *make(uint64_t key)
{
	struct stripe *st = stripe_of(key);
	struct lc__granule *g;

	pthread_mutex_lock(&st->mu);
	g = find(st, key);
	if (!g && grow(st) &&
	    !lc__u64map_put(&st->index_of, key, st->ngranules)) {
		g = at_pos(st, st->ngranules++);
		g->key = key;
	}
	pthread_mutex_unlock(&st->mu);
	return g;
}

/* The granule of key for thread rt: from its hint, else made (and
 * hinted). */
static struct lc__granule *granule_of(struct lc__race_thread *rt, uint64_t key)
{
	struct lc__granule *g = lc__granule_hinted(rt, key);

	if (!g) {
		g = make(key);
		rt->hint[key % LC__SHADOW_HINTS] =
			(struct lc__shadow_hint){ key, g };
	}
	return g;
}

/* The access of cell c (loaded from g->cell[i]), as its note tells it;
 * a note that changed meanwhile leaves the site unknown. */
static void read_cell(const struct lc__granule *g, int i, uint64_t c,
		      struct lc__race_access *p)
{
	const struct lc__note *n = &g->note[i];
	uint64_t w = atomic_load_explicit(&n->word, memory_order_acquire);

	*p = (struct lc__race_access){
		.slot = lc__cell_slot(c),
		.clock = lc__cell_clock(c),
		.write = lc__cell_write(c),
	};
	p->site = atomic_load_explicit(&n->at, memory_order_acquire);
	p->held[0] = atomic_load_explicit(&n->held[0], memory_order_acquire);
	p->held[1] = atomic_load_explicit(&n->held[1], memory_order_acquire);
	p->nheld = atomic_load_explicit(&n->nheld, memory_order_acquire);
	p->addr = atomic_load_explicit(&n->addr, memory_order_acquire);
	p->size = atomic_load_explicit(&n->size, memory_order_acquire);
	if (w == c &&
	    atomic_load_explicit(&n->word, memory_order_relaxed) == c &&
	    p->site)
		p->at = (struct lc__site){ p->site->file, p->site->line,
					   p->site->func };
	else
		*p = (struct lc__race_access){
			.slot = p->slot,
			.clock = p->clock,
			.write = p->write,
			.at = { "(site lost)", 0, "?" },
			.addr = (uintptr_t)g->key * GRANULE +
				(unsigned)__builtin_ctz(lc__cell_bytes(c)),
			.size = (uint32_t)__builtin_popcount(lc__cell_bytes(c)),
		};
}

/* Checks access a of the bytes of g in mask against its cells, then
 * stores it; the first cell it races with goes into *prior. */
static bool check_store(struct lc__granule *g, const struct lc__race_thread *rt,
			const struct lc__race_access *a, unsigned mask,
			struct lc__race_access *prior)
{
	uint64_t c = 0;
	int slot;
	int racy = lc__cells_scan(g, rt, a->write, mask, a->clock, false, &slot,
				  &c);

	if (racy >= 0)
		read_cell(g, racy, c, prior);
	lc__cell_store(g, slot,
		       lc__cell_pack(a->slot, a->clock, a->write, mask),
		       a->site, a->held, a->nheld, a->addr, a->size);
	return racy >= 0;
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
		unsigned end =
			hi < base + GRANULE ? (unsigned)(hi - base) : GRANULE;
		struct lc__granule *g = granule_of(rt, k);
		struct lc__race_access p;

		if (!g) {
			lc__race_limit("race shadow memory: out of memory");
			break;
		}
		if (check_store(g, rt, a, lc__granule_bytes(off, end), &p) &&
		    !found) {
			*prior = p;
			found = true;
		}
	}
	return found;
}

/* A granule forgotten keeps its place and key (a hint may name it):
 * only its cells are emptied. */
void lc__shadow_forget(uintptr_t lo, uintptr_t hi)
{
	assert(lo < hi);
	for (uint64_t k = lo / GRANULE; k <= (hi - 1) / GRANULE; k++) {
		struct stripe *st = stripe_of(k);
		struct lc__granule *g;
		uintptr_t base = (uintptr_t)k * GRANULE;
		unsigned off = lo > base ? (unsigned)(lo - base) : 0;
		unsigned end =
			hi < base + GRANULE ? (unsigned)(hi - base) : GRANULE;

		pthread_mutex_lock(&st->mu);
		g = find(st, k);
		pthread_mutex_unlock(&st->mu);
		for (int i = 0; g && i < CELLS; i++) {
			uint64_t c = atomic_load_explicit(&g->cell[i],
							  memory_order_relaxed);

			if (lc__cell_bytes(c) & lc__granule_bytes(off, end))
				atomic_store_explicit(&g->cell[i], 0,
						      memory_order_relaxed);
		}
	}
}
