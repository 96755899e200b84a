/*
 * settle.c: proofs that no cycle of a component can deadlock, whatever its
 * length, in linear time, so a big tangle of read-read or gated orders is
 * settled without enumerating its (exponentially many) cycles. Both follow
 * from the rules (rules.h):
 *
 *  - Modes: a cycle that can deadlock is a closed walk in the graph of mode
 *    states (node, mode the edge into it wanted), where an edge v -> u with
 *    pair (h, w2) leads from (v, w) to (u, w2) when the mode rule lets a
 *    thread wanting w wait on a holder in h. If that graph has no closed
 *    walk (Kahn's algorithm peels every state), no cycle can deadlock.
 *  - Gates: one gate on every edge of the component is on two edges of
 *    every cycle (each has two or more), which rules each one out.
 */
#include "search.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

/* State (v, w) of member position p: 2 * p + w. */
struct states {
	const struct lc__graph *g;
	const struct lc__scc *scc;
	uint32_t comp, b, n; /* members[b .. b + n) */
	const uint32_t *pos; /* node -> member position (its comp's) */
	uint32_t *indeg, *queue;
	uint32_t peeled; /* states in queue */
};

/* Calls fn for every transition out of state st. */
static void each_next(struct states *t, uint32_t st,
		      void (*fn)(struct states *t, uint32_t to))
{
	const struct lc__graph *g = t->g;
	uint32_t v = t->scc->members[t->b + st / 2];
	int w = st & 1;

	for (uint32_t e = g->nodes[v].out; e != LC__NONE;
	     e = lc__graph_edge(g, e)->next_out) {
		const struct lc__edge *edge = lc__graph_edge(g, e);

		if (t->scc->comp[edge->to] != t->comp)
			continue;
		for (uint32_t pair = 0; pair < 4; pair++)
			if (((edge->modes >> pair) & 1) &&
			    lc__mode_waits(w, (int)(pair >> 1)))
				fn(t, 2 * t->pos[edge->to] + (pair & 1));
	}
}

static void count_in(struct states *t, uint32_t to)
{
	t->indeg[to]++;
}

static void release(struct states *t, uint32_t to)
{
	assert(t->indeg[to] > 0 && t->peeled < 2 * t->n);
	if (--t->indeg[to] == 0)
		t->queue[t->peeled++] = to;
}

/* True when Kahn's algorithm removes every state: no closed walk. */
static bool states_acyclic(struct states *t)
{
	uint32_t head = 0;

	for (uint32_t st = 0; st < 2 * t->n; st++)
		each_next(t, st, count_in);
	for (uint32_t st = 0; st < 2 * t->n; st++)
		if (!t->indeg[st])
			t->queue[t->peeled++] = st;
	while (head < t->peeled)
		each_next(t, t->queue[head++], release);
	assert(t->peeled <= 2 * t->n);
	return t->peeled == 2 * t->n;
}

static bool has_gate(const struct lc__edge *e, uint64_t key)
{
	uint64_t alive =
		atomic_load_explicit(&e->gate_alive, memory_order_relaxed);

	for (; alive; alive &= alive - 1)
		if (e->gate[__builtin_ctzll(alive)] == key)
			return true;
	return false;
}

/* The gates common to common[0..n) and edge e (all of e's when it is the
 * first edge); returns how many. */
static uint32_t meet_edge(uint64_t *common, uint32_t n, bool first,
			  const struct lc__edge *e)
{
	uint64_t alive =
		atomic_load_explicit(&e->gate_alive, memory_order_relaxed);
	uint32_t kept = 0;

	if (first) {
		for (; alive; alive &= alive - 1)
			common[kept++] = e->gate[__builtin_ctzll(alive)];
		return kept;
	}
	for (uint32_t i = 0; i < n; i++)
		if (has_gate(e, common[i]))
			common[kept++] = common[i];
	return kept;
}

/* True when one gate is on every edge inside the component. */
static bool one_gate_everywhere(const struct lc__graph *g,
				const struct lc__scc *scc, uint32_t comp)
{
	uint64_t common[LC__GATE_MAX];
	uint32_t n = 0;
	bool first = true;

	for (uint32_t i = scc->start[comp]; i < scc->start[comp + 1]; i++) {
		uint32_t v = scc->members[i];

		for (uint32_t e = g->nodes[v].out; e != LC__NONE;
		     e = lc__graph_edge(g, e)->next_out) {
			const struct lc__edge *edge = lc__graph_edge(g, e);

			if (scc->comp[edge->to] != comp)
				continue;
			n = meet_edge(common, n, first, edge);
			assert(n <= LC__GATE_MAX);
			first = false;
			if (!n)
				return false;
		}
	}
	return n > 0;
}

int lc__comp_cannot_deadlock(struct lc__search *s, const struct lc__graph *g,
			     const struct lc__scc *scc, uint32_t comp,
			     bool *cannot)
{
	struct states t = { g,
			    scc,
			    comp,
			    scc->start[comp],
			    lc__scc_size(scc, comp),
			    NULL,
			    NULL,
			    NULL,
			    0 };
	uint32_t *pos;
	int err = 0;

	assert(comp < scc->ncomp && t.n > 0);

	*cannot = one_gate_everywhere(g, scc, comp);
	if (*cannot)
		return 0;
	if (lc__search_begin(s, g))
		return ENOMEM;
	pos = s->queue; /* scratch with a slot per node */
	t.pos = pos;
	t.indeg = calloc(2 * (size_t)t.n, sizeof(*t.indeg));
	t.queue = malloc(2 * (size_t)t.n * sizeof(*t.queue));
	if (t.indeg && t.queue) {
		for (uint32_t i = 0; i < t.n; i++)
			pos[scc->members[t.b + i]] = i;
		*cannot = states_acyclic(&t);
	} else {
		err = ENOMEM;
	}
	free(t.indeg);
	free(t.queue);
	return err;
}
