/*
 * settle.c: proofs that no cycle of a component can deadlock, whatever its
 * length, found in linear time, so a big tangle of read-read or gated
 * orders is settled without enumerating its (exponentially many) cycles.
 *
 *  - Modes: a cycle that can deadlock is a closed walk in the graph of
 *    mode STATES (class, mode in which the edge into it wanted it), where
 *    an edge v -> u with pair (h, w2) leads from (v, w) to (u, w2) unless
 *    w and h are both read. If that state graph has no cycle (Kahn's
 *    algorithm peels every state), no cycle of the component can deadlock.
 *    It ignores gates: the gate rule only rules out more cycles.
 *  - Gates: when one gate key is on every edge of the component, it is on
 *    two edges of every cycle (each has two or more), which rules the
 *    cycle out (verdict.h).
 * Both are sufficient, not necessary: a component they do not settle is
 * searched (two gated cycles that share a class, each under its own gate,
 * are not settled here but by the search).
 */
#include "cycles.h"

#include <errno.h>
#include <stdlib.h>

#include "verdict.h"

/* State (v, w) of member position p: 2 * p + w. */
struct states {
	const struct lg_graph *g;
	const struct lg_scc *s;
	uint32_t comp, b, n;	/* members[b .. b + n) */
	uint32_t *pos;		/* class -> member position (its comp's) */
	uint32_t *indeg, *queue;
	uint32_t peeled;	/* states in queue */
};

/* Calls fn for every transition out of state st. */
static void each_next(struct states *t, uint32_t st,
		      void (*fn)(struct states *t, uint32_t to))
{
	const struct lg_graph *g = t->g;
	uint32_t v = t->s->members[t->b + st / 2], w = st & 1;

	for (uint32_t e = g->out[v]; e < g->out[v + 1]; e++) {
		uint32_t u = g->edges[e].to;

		if (t->s->comp[u] != t->comp)
			continue;
		for (uint32_t pair = 0; pair < 4; pair++)
			if (((g->edges[e].modes >> pair) & 1) &&
			    (w || (pair >> 1)))
				fn(t, 2 * t->pos[u] + (pair & 1));
	}
}

static void count_in(struct states *t, uint32_t to)
{
	t->indeg[to]++;
}

static void release(struct states *t, uint32_t to)
{
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
	return t->peeled == 2 * t->n;
}

/* The gate keys common to common[0..n) and edge e (all of e's when it is
 * the first edge). */
static uint32_t meet_edge(uint64_t *common, uint32_t n, bool first,
			  const struct lg_edge *e)
{
	if (!first)
		return lg_gates_meet(common, n, e->gates.keys, e->ngates,
				     common);
	for (uint32_t i = 0; i < e->ngates; i++)
		common[i] = e->gates.keys[i];
	return e->ngates;
}

/* True when one gate key is on every edge inside the component. */
static bool one_gate_everywhere(const struct lg_graph *g,
				const struct lg_scc *s, uint32_t comp)
{
	uint64_t common[LG_MAX_GATES];
	uint32_t n = 0;
	bool first = true;

	for (uint32_t i = s->start[comp]; i < s->start[comp + 1]; i++) {
		uint32_t v = s->members[i];

		for (uint32_t e = g->out[v]; e < g->out[v + 1]; e++) {
			if (s->comp[g->edges[e].to] != comp)
				continue;
			n = meet_edge(common, n, first, &g->edges[e]);
			first = false;
			if (!n)
				return false;
		}
	}
	return n > 0;
}

int lg_comp_cannot_deadlock(const struct lg_graph *g, const struct lg_scc *s,
			    uint32_t comp, uint32_t *pos, bool *cannot)
{
	struct states t = { g, s, comp, s->start[comp],
			    s->start[comp + 1] - s->start[comp], pos, NULL,
			    NULL, 0 };
	int err = 0;

	*cannot = one_gate_everywhere(g, s, comp);
	if (*cannot)
		return 0;
	t.indeg = calloc(2 * (size_t)t.n, sizeof(*t.indeg));
	t.queue = malloc(2 * (size_t)t.n * sizeof(*t.queue));
	if (t.indeg && t.queue) {
		for (uint32_t i = 0; i < t.n; i++)
			pos[s->members[t.b + i]] = i;
		*cannot = states_acyclic(&t);
	} else {
		err = ENOMEM;
	}
	free(t.indeg);
	free(t.queue);
	return err;
}
