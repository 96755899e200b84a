/*
 * scc.c: see scc.h. Tarjan with an explicit frame stack: frame i is a node
 * being explored and its next out-edge. A node is on the component stack
 * from its discovery until its component is complete; low[v] is the
 * smallest discovery number reachable from v's subtree through nodes still
 * on that stack.
 */
#include "scc.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct tarjan {
	const struct lc__graph *g;
	uint32_t *index, *low, *stack, *frame_v, *frame_e, *tmp_comp;
	uint8_t *on_stack;
	uint32_t counter, sp, fp, ncomp;
};

static void visit(struct tarjan *t, uint32_t v)
{
	t->index[v] = t->low[v] = t->counter++;
	t->stack[t->sp++] = v;
	t->on_stack[v] = 1;
	t->frame_v[t->fp] = v;
	t->frame_e[t->fp++] =
		lc__graph_node_live(t->g, v) ? t->g->nodes[v].out : LC__NONE;
}

/* v's exploration is over: close its component when v is its root. */
static void finish(struct tarjan *t, uint32_t v)
{
	if (t->low[v] == t->index[v]) {
		uint32_t w;

		do {
			w = t->stack[--t->sp];
			t->on_stack[w] = 0;
			t->tmp_comp[w] = t->ncomp;
		} while (w != v);
		t->ncomp++;
	}
	if (t->fp) {
		uint32_t u = t->frame_v[t->fp - 1];

		if (t->low[v] < t->low[u])
			t->low[u] = t->low[v];
	}
}

static void explore(struct tarjan *t, uint32_t root)
{
	visit(t, root);
	while (t->fp) {
		uint32_t v = t->frame_v[t->fp - 1];
		uint32_t e = t->frame_e[t->fp - 1];
		const struct lc__edge *edge;

		if (e == LC__NONE) {
			t->fp--;
			finish(t, v);
			continue;
		}
		edge = lc__graph_edge(t->g, e);
		t->frame_e[t->fp - 1] = edge->next_out;
		if (t->index[edge->to] == LC__NONE)
			visit(t, edge->to);
		else if (t->on_stack[edge->to] &&
			 t->index[edge->to] < t->low[v])
			t->low[v] = t->index[edge->to];
	}
}

/* Renumbers components by smallest member and groups the members. */
static int group(struct tarjan *t, struct lc__scc *s)
{
	uint32_t n = t->g->nnodes, *renum = t->index, next = 0;

	s->start = calloc((size_t)t->ncomp + 2, sizeof(*s->start));
	if (!s->start)
		return ENOMEM;
	for (uint32_t c = 0; c < t->ncomp; c++)
		renum[c] = LC__NONE;
	for (uint32_t v = 0; v < n; v++) {
		uint32_t c = t->tmp_comp[v];

		if (renum[c] == LC__NONE)
			renum[c] = next++;
		s->comp[v] = renum[c];
		s->start[s->comp[v] + 2]++;
	}
	for (uint32_t c = 0; c < t->ncomp; c++)
		s->start[c + 2] += s->start[c + 1];
	for (uint32_t v = 0; v < n; v++)
		s->members[s->start[s->comp[v] + 1]++] = v;
	s->ncomp = t->ncomp;
	assert(s->start[s->ncomp] == n);
	return 0;
}

int lc__scc_find(const struct lc__graph *g, struct lc__scc *s)
{
	uint32_t n = g->nnodes;
	struct tarjan t = { .g = g };
	size_t sz = ((size_t)n + 1) * sizeof(uint32_t);
	int err = ENOMEM;

	memset(s, 0, sizeof(*s));
	t.index = malloc(sz), t.low = malloc(sz), t.stack = malloc(sz);
	t.frame_v = malloc(sz), t.frame_e = malloc(sz);
	t.tmp_comp = malloc(sz), t.on_stack = calloc((size_t)n + 1, 1);
	s->comp = malloc(sz), s->members = malloc(sz);
	if (t.index && t.low && t.stack && t.frame_v && t.frame_e &&
	    t.tmp_comp && t.on_stack && s->comp && s->members) {
		memset(t.index, 0xff, sz);
		for (uint32_t v = 0; v < n; v++)
			if (t.index[v] == LC__NONE)
				explore(&t, v);
		err = group(&t, s);
	}
	free(t.index), free(t.low), free(t.stack), free(t.frame_v);
	free(t.frame_e), free(t.tmp_comp), free(t.on_stack);
	if (err)
		lc__scc_free(s);
	return err;
}

void lc__scc_free(struct lc__scc *s)
{
	free(s->comp);
	free(s->members);
	free(s->start);
	memset(s, 0, sizeof(*s));
}
