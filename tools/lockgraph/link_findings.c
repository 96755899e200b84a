/*
 * link_findings.c: a cycle a process reported itself (a lock-order-cycle
 * or wait-cycle finding, classes c0 -> c1 -> ... -> c0 in cycle order) and the
 * same cycle found in the merged graph are one cycle: the finding is linked to
 * it. Such a cycle always exists in the merged graph and can still
 * deadlock there (merging only adds modes and removes gates), so when the
 * bounded search did not list it, it is added. A same-class inversion
 * (one class) stays a finding.
 */
#include "cycles.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The finding's cycle as merged edges into edges[]; false when one of
 * them is missing (a dump whose finding does not match its edges). */
static bool finding_edges(const struct lg_graph *g, const struct lg_finding *f,
			  uint32_t *edges)
{
	const uint32_t *cls = g->ids + f->cls_off;

	for (uint32_t i = 0; i < f->ncls; i++) {
		edges[i] =
			lg_graph_find_edge(g, cls[i], cls[(i + 1) % f->ncls]);
		if (edges[i] == LG_NONE)
			return false;
	}
	return true;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* True when the finding names each class once (an elementary cycle: a
 * report that goes through a class twice stays a finding). scratch holds
 * ncls entries. */
static bool distinct_classes(const struct lg_graph *g,
			     const struct lg_finding *f, uint32_t *scratch)
{
	memcpy(scratch, g->ids + f->cls_off, f->ncls * sizeof(*scratch));
	qsort(scratch, f->ncls, sizeof(*scratch), cmp_u32);
	for (uint32_t i = 1; i < f->ncls; i++)
		if (scratch[i] == scratch[i - 1])
			return false;
	return true;
}

static bool is_cycle_report(const struct lg_graph *g,
			    const struct lg_finding *f, uint32_t *scratch)
{
	const char *kind = lg_str(&g->strs, f->kind);

	return f->ncls >= 2 &&
	       (!strcmp(kind, "lock-order-cycle") ||
		!strcmp(kind, "wait-cycle")) &&
	       distinct_classes(g, f, scratch);
}

static int link_one(struct lg_cycles *c, struct lg_graph *g,
		    const struct lc__scc *s, struct lg_finding *f,
		    uint32_t *edges)
{
	bool can = false;
	uint32_t id;
	int err;

	if (!finding_edges(g, f, edges))
		return 0;
	id = lg_cycles_lookup(c, g, edges, f->ncls);
	if (id == LG_NONE) {
		err = lg_cycle_verdict(g, edges, f->ncls, &can);
		if (err || !can)
			return err;
		err = lg_cycles_add(c, g, edges, f->ncls,
				    s->comp[g->edges[edges[0]].from], false,
				    &id);
		if (err)
			return err;
		c->v[id].from_report = true;
	}
	f->cycle = id;
	c->v[id].nreports += f->ndumps;
	return 0;
}

int lg_cycles_link_findings(struct lg_cycles *c, struct lg_graph *g,
			    const struct lc__scc *s)
{
	uint32_t longest = 1, *edges;
	int err = 0;

	for (uint32_t i = 0; i < g->nfindings; i++)
		if (g->findings[i].ncls > longest)
			longest = g->findings[i].ncls;
	edges = malloc(longest * sizeof(*edges));
	if (!edges)
		return ENOMEM;
	for (uint32_t i = 0; i < g->nfindings && !err; i++)
		if (is_cycle_report(g, &g->findings[i], edges))
			err = link_one(c, g, s, &g->findings[i], edges);
	free(edges);
	return err;
}
