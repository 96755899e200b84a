/*
 * out_order.c: a lock hierarchy consistent with every edge that is not on
 * a cycle. The components form a DAG (an edge between two components never
 * lies on a cycle); a topological order of that DAG (Kahn's algorithm,
 * taking the ready component with the smallest number first, so the order
 * is the same on every run) gives each component a rank, and every class
 * its component's rank. Classes of one component share a rank: they are on
 * cycles, and no order is consistent with all their edges.
 */
#include "output.h"

#include <errno.h>
#include <stdlib.h>

/* A min-heap of component numbers. */
struct heap {
	uint32_t *v;
	uint32_t n;
};

static void heap_push(struct heap *h, uint32_t x)
{
	uint32_t i = h->n++;

	while (i && h->v[(i - 1) / 2] > x) {
		h->v[i] = h->v[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->v[i] = x;
}

static uint32_t heap_pop(struct heap *h)
{
	uint32_t top = h->v[0], x = h->v[--h->n], i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1] < h->v[c])
			c++;
		if (h->v[c] >= x)
			break;
		h->v[i] = h->v[c];
		i = c;
	}
	if (h->n)
		h->v[i] = x;
	return top;
}

/* In-degrees of components in the DAG of components. */
static void comp_indegrees(const struct lg_analysis *a, uint32_t *indeg)
{
	const struct lg_graph *g = &a->g;

	for (uint32_t i = 0; i < g->nedges; i++) {
		uint32_t cf = a->scc.comp[g->edges[i].from];
		uint32_t ct = a->scc.comp[g->edges[i].to];

		if (cf != ct)
			indeg[ct]++;
	}
}

/* Releases the components that comp's out-edges point to. */
static void release(const struct lg_analysis *a, uint32_t comp, uint32_t *indeg,
		    struct heap *h)
{
	const struct lg_graph *g = &a->g;
	const struct lc__scc *s = &a->scc;

	for (uint32_t i = s->start[comp]; i < s->start[comp + 1]; i++) {
		uint32_t v = s->members[i];

		for (uint32_t e = g->out[v]; e < g->out[v + 1]; e++) {
			uint32_t ct = s->comp[g->edges[e].to];

			if (ct != comp && --indeg[ct] == 0)
				heap_push(h, ct);
		}
	}
}

static bool comp_deadlocks(const struct lg_analysis *a, uint32_t comp)
{
	const struct lg_comp *c = lg_cycles_comp(&a->cycles, comp);

	return c && c->ncycles > 0;
}

static void put_comp(FILE *f, const struct lg_analysis *a, uint32_t comp,
		     uint32_t rank)
{
	const struct lc__scc *s = &a->scc;
	uint32_t size = lc__scc_size(s, comp);
	const char *note = size == 1 ? ""
			   : comp_deadlocks(a, comp)
				   ? "  (cycle: can deadlock)"
				   : "  (cycle: cannot deadlock)";

	for (uint32_t i = s->start[comp]; i < s->start[comp + 1]; i++) {
		fprintf(f, "%u ", rank);
		lg_put_class(f, &a->g, s->members[i]);
		fprintf(f, "%s\n", note);
	}
}

static const char order_header[] =
	"# lock order: take a lock only while holding locks of a smaller "
	"rank\n"
	"# classes that share a rank are on a cycle (see lockgraph report)\n"
	"# rank class [init site]\n";

int lg_out_order(FILE *f, const struct lg_analysis *a)
{
	uint32_t n = a->scc.ncomp, rank = 0;
	uint32_t *indeg = calloc(n + 1, sizeof(*indeg));
	struct heap h = { malloc((n + 1) * sizeof(uint32_t)), 0 };

	if (!indeg || !h.v) {
		free(indeg);
		free(h.v);
		return ENOMEM;
	}
	fputs(order_header, f);
	comp_indegrees(a, indeg);
	for (uint32_t c = 0; c < n; c++)
		if (!indeg[c])
			heap_push(&h, c);
	while (h.n) {
		uint32_t c = heap_pop(&h);

		put_comp(f, a, c, ++rank);
		release(a, c, indeg, &h);
	}
	free(indeg);
	free(h.v);
	return ferror(f) ? EIO : 0;
}
