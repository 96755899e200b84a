/*
 * finish.c: turns the graph as read into the graph searched and printed.
 *
 * Gate candidates become gate keys (rules in graph.h); classes are sorted by
 * (name, file, line) and edges by (from, to), so every output is the same
 * whatever order the dumps came in; then adjacency arrays are built.
 * After this, edges of node v are edges[out[v] .. out[v + 1]), sorted by
 * target; and lc, the rule module's copy of the graph, has node i for
 * class i and edge i for edge i, each node's out-edges in the same order.
 */
#define _GNU_SOURCE
#include "graph.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A lock instance is named by (dump, class, instance): the format only
 * says instance numbers mean something within one dump, so two classes may
 * reuse one number. */
struct local_gate {
	uint32_t dump, cls;
	uint64_t inst;
};

struct local_gates {
	struct local_gate *v;
	uint32_t n, cap;
	struct lg_index ix;
};

static bool local_eq(const void *ctx, uint32_t idx, const void *k)
{
	const struct local_gate *a = &((const struct local_gates *)ctx)->v[idx];
	const struct local_gate *b = k;

	return a->dump == b->dump && a->cls == b->cls && a->inst == b->inst;
}

/* The number of an instance known to one dump only, the same for every
 * edge of that dump that names it. */
static int local_key(struct local_gates *lg, const struct lg_gate_cand *c,
		     uint64_t *key)
{
	struct local_gate k = { c->dump, c->cls, c->inst };
	uint64_t h =
		lg_mix64(c->inst) ^ lg_mix64((uint64_t)c->dump << 32 | c->cls);
	uint32_t id = lg_index_find(&lg->ix, h, local_eq, lg, &k);

	if (id == LG_NONE) {
		if (lg_grow((void **)&lg->v, &lg->cap, (uint64_t)lg->n + 1,
			    sizeof(*lg->v)) ||
		    lg_index_add(&lg->ix, h, lg->n))
			return ENOMEM;
		lg->v[lg->n] = k;
		id = lg->n++;
	}
	*key = LG_LOCAL_GATE + id;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Sorts keys[0..n) and drops repeats; returns the new count. */
static uint32_t sort_unique(uint64_t *keys, uint32_t n)
{
	uint32_t out = 0;

	if (n > 1)
		qsort(keys, n, sizeof(*keys), cmp_u64);
	for (uint32_t i = 0; i < n; i++)
		if (!out || keys[i] != keys[out - 1])
			keys[out++] = keys[i];
	return out;
}

/* Candidates of edge e to sorted, distinct keys; classes renumbered by
 * newid. */
static int edge_gate_keys(struct lg_graph *g, struct lg_edge *e,
			  const uint32_t *newid, struct local_gates *lg)
{
	struct lg_gate_cand *c = e->gates.cand;
	uint64_t *keys = e->ngates ? malloc(e->ngates * sizeof(*keys)) : NULL;
	uint32_t n = 0;

	if (e->ngates && !keys)
		return ENOMEM;
	for (uint32_t i = 0; i < e->ngates; i++) {
		if (g->classes[c[i].cls].singleton)
			keys[n++] = newid[c[i].cls];
		else if (!c[i].multi && local_key(lg, &c[i], &keys[n++])) {
			free(keys);
			return ENOMEM;
		}
	}
	n = sort_unique(keys, n);
	free(c);
	e->gates.keys = n ? keys : NULL;
	if (!n)
		free(keys);
	e->ngates = (uint8_t)n;
	return 0;
}

int lg_class_cmp(const struct lg_graph *g, uint32_t a, uint32_t b)
{
	const struct lg_class *x = &g->classes[a], *y = &g->classes[b];
	int c = strcmp(lg_str(&g->strs, x->name), lg_str(&g->strs, y->name));

	if (!c)
		c = strcmp(lg_str(&g->strs, x->file),
			   lg_str(&g->strs, y->file));
	if (!c)
		c = (x->line > y->line) - (x->line < y->line);
	return c;
}

static int cmp_class_ids(const void *a, const void *b, void *ctx)
{
	return lg_class_cmp(ctx, *(const uint32_t *)a, *(const uint32_t *)b);
}

static int cmp_edges(const void *a, const void *b)
{
	const struct lg_edge *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	return (x->to > y->to) - (x->to < y->to);
}

/* The sorted order of the classes: order[new] = old, newid[old] = new. */
static uint32_t *class_order(const struct lg_graph *g, uint32_t *newid)
{
	uint32_t *order = malloc((g->nclasses + 1) * sizeof(*order));

	if (!order)
		return NULL;
	for (uint32_t i = 0; i < g->nclasses; i++)
		order[i] = i;
	qsort_r(order, g->nclasses, sizeof(*order), cmp_class_ids, (void *)g);
	for (uint32_t i = 0; i < g->nclasses; i++)
		newid[order[i]] = i;
	return order;
}

static int permute_classes(struct lg_graph *g, const uint32_t *order)
{
	struct lg_class *sorted = malloc((g->nclasses + 1) * sizeof(*sorted));

	if (!sorted)
		return ENOMEM;
	for (uint32_t i = 0; i < g->nclasses; i++)
		sorted[i] = g->classes[order[i]];
	free(g->classes);
	g->classes = sorted;
	g->classes_cap = g->nclasses + 1;
	return 0;
}

/* Gate keys (singletons looked up by old class id, keyed by new id) and
 * new endpoints for every edge, then the edges sorted. */
static int renumber_edges(struct lg_graph *g, const uint32_t *newid)
{
	struct local_gates lg = { 0 };
	int err = 0;

	lg_index_init(&lg.ix);
	for (uint32_t i = 0; i < g->nedges && !err; i++)
		err = edge_gate_keys(g, &g->edges[i], newid, &lg);
	g->local_cls = err ? NULL : malloc((lg.n + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; g->local_cls && i < lg.n; i++)
		g->local_cls[i] = newid[lg.v[i].cls];
	g->nlocal = lg.n;
	err = err ? err : g->local_cls ? 0 : ENOMEM;
	free(lg.v);
	lg_index_free(&lg.ix);
	if (err)
		return err;
	for (uint32_t i = 0; i < g->nedges; i++) {
		g->edges[i].from = newid[g->edges[i].from];
		g->edges[i].to = newid[g->edges[i].to];
	}
	if (g->nedges > 1)
		qsort(g->edges, g->nedges, sizeof(*g->edges), cmp_edges);
	return 0;
}

static int build_adjacency(struct lg_graph *g)
{
	uint32_t n = g->nclasses;

	g->out = calloc(n + 1, sizeof(*g->out));
	if (!g->out)
		return ENOMEM;
	for (uint32_t i = 0; i < g->nedges; i++)
		g->out[g->edges[i].from + 1]++;
	for (uint32_t v = 0; v < n; v++)
		g->out[v + 1] += g->out[v];
	return 0;
}

/* The graph the rules judge: classes and edges by number, each edge with
 * its modes and gate keys. */
static int build_rule_graph(struct lg_graph *g)
{
	static const struct lc__edge_info none;
	struct lc__held_inst gates[LC__GATE_MAX];
	bool weakened;

	for (uint32_t i = 0; i < g->nclasses; i++)
		if (lc__graph_node(&g->lc, i, NULL, true) != i)
			return ENOMEM;
	for (uint32_t i = 0; i < g->nedges; i++) {
		const struct lg_edge *e = &g->edges[i];
		uint32_t id;

		assert(e->ngates <= LC__GATE_MAX);
		for (uint32_t j = 0; j < e->ngates; j++)
			gates[j] =
				(struct lc__held_inst){ e->gates.keys[j], 0 };
		id = lc__graph_observe(&g->lc, e->from, e->to, e->modes, gates,
				       e->ngates, &none, &weakened);
		if (id == LC__NONE)
			return ENOMEM;
		assert(id == i && weakened); /* merged edges are distinct */
	}
	lc__graph_reverse_lists(&g->lc); /* out-edges by target */
	return 0;
}

static void drop_reading_state(struct lg_graph *g)
{
	free(g->local);
	g->local = NULL;
	g->local_cap = 0;
	lg_index_free(&g->class_ix);
	lg_index_free(&g->edge_ix);
	lg_index_free(&g->finding_ix);
}

int lg_graph_finish(struct lg_graph *g)
{
	uint32_t *newid = malloc((g->nclasses + 1) * sizeof(*newid));
	uint32_t *order = newid ? class_order(g, newid) : NULL;
	int err = order ? renumber_edges(g, newid) : ENOMEM;

	g->finished = true; /* edge gates are keys (or freed) from here on */
	if (!err)
		err = permute_classes(g, order);
	for (uint32_t i = 0; !err && i < g->nids; i++)
		g->ids[i] = newid[g->ids[i]];
	free(order);
	free(newid);
	drop_reading_state(g);
	err = err ? err : build_adjacency(g);
	return err ? err : build_rule_graph(g);
}

uint32_t lg_graph_find_edge(const struct lg_graph *g, uint32_t from,
			    uint32_t to)
{
	uint32_t lo = g->out[from], hi = g->out[from + 1];

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (g->edges[mid].to == to)
			return mid;
		if (g->edges[mid].to < to)
			lo = mid + 1;
		else
			hi = mid;
	}
	return LG_NONE;
}

uint32_t lg_graph_find_class(const struct lg_graph *g, const char *name,
			     const char *file, int32_t line)
{
	uint32_t lo = 0, hi = g->nclasses;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct lg_class *c = &g->classes[mid];
		int d = strcmp(lg_str(&g->strs, c->name), name);

		if (!d)
			d = strcmp(lg_str(&g->strs, c->file), file);
		if (!d)
			d = (c->line > line) - (c->line < line);
		if (!d)
			return mid;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return LG_NONE;
}
