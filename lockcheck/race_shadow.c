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
 * slot of one array, made only for bytes ever checked; map and array are
 * cut into stripes by address, each under a mutex of its own (leaves, as
 * lc__race_mu). Invariants: a cell is empty (len 0) or off + len <= 8; a
 * granule is in its stripe's map under its key, or kept for reuse with
 * SPARE_KEY.
 */
#define _GNU_SOURCE
#include "race.h"

#include <stdlib.h>

#define GRANULE 8u
#define CELLS	4

struct granule {
	uint64_t key; /* address / GRANULE */
	struct lc__race_access cell[CELLS];
};

/* The shadow is cut into stripes by granule address, each with a mutex
 * of its own: threads that check different memory rarely meet. */
#define STRIPES 64

struct stripe {
	pthread_mutex_t mu;
	struct lc__u64map index_of;
	struct granule *granules;
	uint32_t ngranules, cap;
	uint32_t *spare; /* positions freed by lc__shadow_forget */
	uint32_t nspare, spare_cap;
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

/* A granule kept for reuse has this key, which no address has (keys are
 * addresses / GRANULE). */
#define SPARE_KEY UINT64_MAX

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

static struct granule *find(struct stripe *st, uint64_t key)
{
	uint32_t i;

	return lc__u64map_get(&st->index_of, key, &i) ? &st->granules[i] : NULL;
}

static bool grow(struct stripe *st)
{
	uint32_t ncap = st->cap ? st->cap * 2 : 64;
	struct granule *g;

	if (ncap > UINT32_MAX / 2)
		return false;
	g = realloc(st->granules, (size_t)ncap * sizeof(*g));
	if (!g)
		return false;
	st->granules = g;
	st->cap = ncap;
	return true;
}

/* The granule of key, made empty when new; NULL when out of memory. The
 * thread's hints (on the heap with its clock, not in TLS, which would
 * grow every thread's stack) spare it the map when it checks a granule
 * again: a hint is taken only when, under the stripe's mutex, the
 * granule at its position still has its key. */
static struct granule *make(struct stripe *st, uint64_t key,
			    struct lc__race_thread *rt)
{
	struct lc__shadow_hint *r = &rt->hint[key % LC__SHADOW_HINTS];
	struct granule *g;
	uint32_t i;

	if (r->pos < st->ngranules && st->granules[r->pos].key == key)
		return &st->granules[r->pos];
	g = find(st, key);
	if (g) {
		*r = (struct lc__shadow_hint){ key,
					       (uint32_t)(g - st->granules) };
		return g;
	}
	if (st->nspare)
		i = st->spare[st->nspare - 1];
	else if (st->ngranules < st->cap || grow(st))
		i = st->ngranules;
	else
		return NULL;
	if (lc__u64map_put(&st->index_of, key, i))
		return NULL;
	if (st->nspare)
		st->nspare--;
	else
		st->ngranules++;
	st->granules[i] = (struct granule){ .key = key };
	*r = (struct lc__shadow_hint){ key, i };
	return &st->granules[i];
}

static bool ordered(const struct lc__race_thread *rt,
		    const struct lc__race_access *c)
{
	return c->slot == rt->slot ||
	       (c->slot < rt->vc.n && c->clock <= rt->vc.c[c->slot]);
}

static bool overlap(const struct lc__race_access *c, unsigned off, unsigned end)
{
	return c->len && c->off < end && off < (unsigned)c->off + c->len;
}

/* Whether cell c races with access a of bytes [off, end). */
static bool races(const struct lc__race_thread *rt,
		  const struct lc__race_access *c,
		  const struct lc__race_access *a, unsigned off, unsigned end)
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
		unsigned end =
			hi < base + GRANULE ? (unsigned)(hi - base) : GRANULE;
		struct stripe *st = stripe_of(k);
		struct granule *g;

		pthread_mutex_lock(&st->mu);
		g = make(st, k, rt);
		if (!g) {
			pthread_mutex_unlock(&st->mu);
			lc__race_limit("race shadow memory: out of memory");
			break;
		}
		for (int i = 0; i < CELLS && !found; i++)
			if (races(rt, &g->cell[i], a, off, end)) {
				*prior = g->cell[i];
				found = true;
			}
		store(g, rt, a, off, end);
		pthread_mutex_unlock(&st->mu);
	}
	return found;
}

/* Keeps position i for reuse; when that cannot be noted, the granule
 * stays (empty). */
static bool spare_keep(struct stripe *st, uint32_t i)
{
	if (st->nspare == st->spare_cap) {
		uint32_t ncap = st->spare_cap ? st->spare_cap * 2 : 64;
		uint32_t *p = realloc(st->spare, ncap * sizeof(*p));

		if (!p)
			return false;
		st->spare = p;
		st->spare_cap = ncap;
	}
	st->spare[st->nspare++] = i;
	return true;
}

void lc__shadow_forget(uintptr_t lo, uintptr_t hi)
{
	assert(lo < hi);
	for (uint64_t k = lo / GRANULE; k <= (hi - 1) / GRANULE; k++) {
		struct stripe *st = stripe_of(k);
		struct granule *g;
		uintptr_t base = (uintptr_t)k * GRANULE;
		unsigned off = lo > base ? (unsigned)(lo - base) : 0;
		unsigned end =
			hi < base + GRANULE ? (unsigned)(hi - base) : GRANULE;
		bool empty = true;

		pthread_mutex_lock(&st->mu);
		g = find(st, k);
		for (int i = 0; g && i < CELLS; i++) {
			if (overlap(&g->cell[i], off, end))
				g->cell[i].len = 0;
			empty = empty && !g->cell[i].len;
		}
		if (g && empty &&
		    spare_keep(st, (uint32_t)(g - st->granules))) {
			lc__u64map_del(&st->index_of, k);
			g->key = SPARE_KEY; /* no thread's hint finds it */
		}
		pthread_mutex_unlock(&st->mu);
	}
}
