/*
 * classify.c: where a cycle was seen. Each edge's occurrence list is sorted
 * by dump, newest first, so the dumps that have every edge of a cycle are
 * found by walking all its lists together (a merge of sorted lists). In
 * such a dump, if each edge was first taken by the same thread, one thread
 * alone can (with other instances of the same classes) close the cycle;
 * otherwise it took several threads of one process; when no dump has every
 * edge, only the merge of processes shows the cycle.
 */
#include "cycles.h"

#include <errno.h>
#include <stdlib.h>

/* Moves every cursor to its first occurrence at dump d or earlier; true
 * when all of them are at d. */
static bool all_at(const struct lg_graph *g, uint32_t *cur, uint32_t n,
		   uint32_t d)
{
	bool all = true;

	for (uint32_t i = 0; i < n; i++) {
		while (cur[i] != LG_NONE && g->occ[cur[i]].dump > d)
			cur[i] = g->occ[cur[i]].next;
		if (cur[i] == LG_NONE)
			return false;
		all &= g->occ[cur[i]].dump == d;
	}
	return all;
}

static bool same_thread(const struct lg_graph *g, const uint32_t *cur,
			uint32_t n)
{
	for (uint32_t i = 1; i < n; i++)
		if (g->occ[cur[i]].tid != g->occ[cur[0]].tid)
			return false;
	return true;
}

static void classify_one(struct lg_cycle *cy, const struct lg_graph *g,
			 const uint32_t *edges, uint32_t *cur)
{
	cy->scope = LG_SCOPE_PROCESSES;
	cy->dump = LG_NONE;
	for (uint32_t i = 0; i < cy->len; i++)
		cur[i] = g->edges[edges[i]].occ;
	for (uint32_t o = cur[0]; o != LG_NONE; o = g->occ[o].next) {
		uint32_t d = g->occ[o].dump;

		if (!all_at(g, cur, cy->len, d))
			continue;
		if (same_thread(g, cur, cy->len)) {
			cy->scope = LG_SCOPE_THREAD;
			cy->dump = d;
			return;
		}
		if (cy->scope == LG_SCOPE_PROCESSES) {
			cy->scope = LG_SCOPE_THREADS;
			cy->dump = d;
		}
	}
}

int lg_cycles_classify(struct lg_cycles *c, const struct lg_graph *g)
{
	uint32_t longest = 1;
	uint32_t *cur;

	for (uint32_t i = 0; i < c->n; i++)
		if (c->v[i].len > longest)
			longest = c->v[i].len;
	cur = malloc(longest * sizeof(*cur));
	if (!cur)
		return ENOMEM;
	for (uint32_t i = 0; i < c->n; i++)
		classify_one(&c->v[i], g, lg_cycle_edges(c, i), cur);
	free(cur);
	return 0;
}
