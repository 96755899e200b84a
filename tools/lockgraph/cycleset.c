/*
 * cycleset.c: the list of cycles, each stored once in canonical rotation:
 * starting with the edge out of its smallest class (an elementary cycle
 * visits that class once, so the rotation is unique). The index maps the
 * canonical edge sequence to the cycle.
 */
#include "cycles.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct seq {
	const uint32_t *edges;
	uint32_t n;
};

static bool seq_eq(const void *ctx, uint32_t idx, const void *k)
{
	const struct lg_cycles *c = ctx;
	const struct seq *s = k;

	return c->v[idx].len == s->n &&
	       !memcmp(lg_cycle_edges(c, idx), s->edges,
		       s->n * sizeof(*s->edges));
}

void lg_cycles_init(struct lg_cycles *c)
{
	memset(c, 0, sizeof(*c));
	lg_index_init(&c->ix);
}

void lg_cycles_free(struct lg_cycles *c)
{
	free(c->v);
	free(c->edges);
	free(c->comps);
	lg_index_free(&c->ix);
	lg_cycles_init(c);
}

/* Index of the edge leaving the smallest class. */
static uint32_t min_rotation(const struct lg_graph *g, const uint32_t *edges,
			     uint32_t n)
{
	uint32_t best = 0;

	for (uint32_t i = 1; i < n; i++)
		if (g->edges[edges[i]].from < g->edges[edges[best]].from)
			best = i;
	return best;
}

/* Copies edges rotated into canonical order into dst. */
static void canonical(const struct lg_graph *g, const uint32_t *edges,
		      uint32_t n, uint32_t *dst)
{
	uint32_t r = min_rotation(g, edges, n);

	assert(n >= 2); /* elementary cycles have two edges or more */
	for (uint32_t i = 0; i < n; i++)
		dst[i] = edges[(r + i) % n];
	for (uint32_t i = 0; i < n; i++) /* a closed walk */
		assert(g->edges[dst[i]].to == g->edges[dst[(i + 1) % n]].from);
}

static uint64_t seq_hash(const uint32_t *edges, uint32_t n)
{
	return lg_hash_bytes(edges, n * sizeof(*edges));
}

uint32_t lg_cycles_lookup(const struct lg_cycles *c, const struct lg_graph *g,
			  const uint32_t *edges, uint32_t n)
{
	uint32_t *tmp = malloc((n + 1) * sizeof(*tmp));
	struct seq key = { tmp, n };
	uint32_t id;

	if (!tmp)
		return LG_NONE;
	canonical(g, edges, n, tmp);
	id = lg_index_find(&c->ix, seq_hash(tmp, n), seq_eq, c, &key);
	free(tmp);
	return id;
}

int lg_cycles_add(struct lg_cycles *c, const struct lg_graph *g,
		  const uint32_t *edges, uint32_t n, uint32_t comp,
		  bool shortest, uint32_t *id)
{
	uint32_t off = c->nedges;
	struct seq key;
	uint64_t h;

	if (lg_grow((void **)&c->edges, &c->edges_cap, (uint64_t)off + n,
		    sizeof(*c->edges)) ||
	    lg_grow((void **)&c->v, &c->cap, (uint64_t)c->n + 1, sizeof(*c->v)))
		return ENOMEM;
	canonical(g, edges, n, c->edges + off);
	key = (struct seq){ c->edges + off, n };
	h = seq_hash(key.edges, n);
	*id = lg_index_find(&c->ix, h, seq_eq, c, &key);
	if (*id != LG_NONE)
		return 0;
	if (lg_index_add(&c->ix, h, c->n))
		return ENOMEM;
	c->v[c->n] = (struct lg_cycle){ off,	  n,	 comp,
					shortest, false, LG_SCOPE_PROCESSES,
					LG_NONE,  0 };
	c->nedges += n;
	*id = c->n++;
	return 0;
}

const struct lg_comp *lg_cycles_comp(const struct lg_cycles *c, uint32_t comp)
{
	uint32_t lo = 0, hi = c->ncomps;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (c->comps[mid].comp == comp)
			return &c->comps[mid];
		if (c->comps[mid].comp < comp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void lg_cycles_count(struct lg_cycles *c)
{
	for (uint32_t i = 0; i < c->ncomps; i++)
		c->comps[i].ncycles = 0;
	for (uint32_t i = 0; i < c->n; i++) {
		const struct lg_comp *info = lg_cycles_comp(c, c->v[i].comp);

		if (info)
			c->comps[info - c->comps].ncycles++;
	}
}

/* Shortest-per-component cycles first (in component order), then by
 * length, then in the order found. */
static int cmp_listed(const void *pa, const void *pb)
{
	const struct lg_cycle *a = pa, *b = pb;

	if (a->shortest != b->shortest)
		return a->shortest ? -1 : 1;
	if (a->shortest && a->comp != b->comp)
		return a->comp < b->comp ? -1 : 1;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return (a->off > b->off) - (a->off < b->off);
}

int lg_cycles_sort(struct lg_cycles *c)
{
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), cmp_listed);
	lg_index_free(&c->ix);
	for (uint32_t i = 0; i < c->n; i++) {
		const uint32_t *e = lg_cycle_edges(c, i);

		if (lg_index_add(&c->ix, seq_hash(e, c->v[i].len), i))
			return ENOMEM;
	}
	return 0;
}
