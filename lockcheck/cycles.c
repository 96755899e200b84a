/*
 * cycles.c: does a new or weakened edge close a cycle that can deadlock?
 *
 * A deadlock is k threads, each holding one lock of the cycle and waiting
 * for the next. So a cycle can deadlock only if
 *  - it is elementary: no lock twice (one lock, one holder);
 *  - at every lock, the incoming edge's wanted mode and the outgoing edge's
 *    held mode are not both read (a reader does not wait for readers);
 *  - no lock instance is in the gate sets of two of its edges: every gate is
 *    held, exclusively, by the thread of its edge, all at once.
 * Finding such a cycle is a search over simple paths, exponential in the
 * worst case, so it runs in two steps. A breadth-first search over states
 * (node, wanted mode) finds the shortest closed walk through the start edge
 * that meets the modes and uses no edge sharing a gate with the start edge
 * (the start edge is on every cycle it closes, so such edges are out); it is
 * polynomial, and no valid cycle exists when it finds nothing. Its walk is
 * usually a valid cycle too and is returned as is. Otherwise a depth-first
 * search over simple paths, tracking the gates in use, decides exactly
 * within a step budget. The caller may refuse cycles (those it reported
 * already): the search then goes on to the next one. When memory or the
 * budget runs out the caller is told (g->search_incomplete): neither a
 * cycle nor its absence was shown. Nothing recurses, so long cycles cannot
 * overflow the stack.
 */
#include "graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_BUDGET (1u << 18) /* depth-first steps per mode pair */

struct lc__bfs_item {
	uint32_t node;
	uint32_t parent; /* queue index of the state we came from */
	uint32_t edge;	 /* edge taken from the parent */
	uint32_t depth;	 /* edges from the start state */
	uint8_t want;	 /* wanted mode of that edge */
};

static uint64_t alive_of(const struct lc__edge *e)
{
	return atomic_load_explicit(&e->gate_alive, memory_order_relaxed);
}

/* f has a gate in common with a: both cannot be held at once. */
static bool share_gate(const struct lc__edge *a, const struct lc__edge *f)
{
	for (uint64_t ma = alive_of(a); ma; ma &= ma - 1)
		for (uint64_t mf = alive_of(f); mf; mf &= mf - 1)
			if (a->gate[__builtin_ctzll(ma)] ==
			    f->gate[__builtin_ctzll(mf)])
				return true;
	return false;
}

/* ---- the breadth-first filter ---- */

static int push(struct lc__graph *g, uint32_t *len, struct lc__bfs_item it)
{
	uint64_t key = (uint64_t)it.node << 1 | it.want;

	if (lc__u64map_get(&g->seen, key, NULL))
		return 0;
	if (lc__grow_array((void **)&g->queue, &g->queue_cap, *len + 1,
			   sizeof(*g->queue)) ||
	    lc__u64map_put(&g->seen, key, *len))
		return ENOMEM;
	g->queue[(*len)++] = it;
	return 0;
}

/* Writes the walk ending with edge last after queue state i into g->path;
 * returns its length (start edge included), 0 when out of memory. */
static uint32_t build_path(struct lc__graph *g, uint32_t start, uint32_t i,
			   uint32_t last)
{
	uint32_t len = 2;

	for (uint32_t j = i; g->queue[j].parent != LC__NONE;
	     j = g->queue[j].parent)
		len++;
	if (lc__grow_array((void **)&g->path, &g->path_cap, len,
			   sizeof(*g->path)))
		return 0;
	g->path[0] = start;
	g->path[len - 1] = last;
	for (uint32_t j = i, k = len - 2; g->queue[j].parent != LC__NONE;
	     j = g->queue[j].parent, k--)
		g->path[k] = g->queue[j].edge;
	return len;
}

/* One breadth-first search: the start edge, the mode it holds its source
 * in, states queued, and whether memory ran out. */
struct walk {
	const struct lc__edge *start;
	uint32_t start_edge;
	int held0;
	uint32_t len;
	bool oom;
};

/* Follows edge f from queue state head in every mode pair it was seen in
 * that lets a thread wait at the node. Returns the walk's length when f
 * closes it, 0 otherwise (new states queued). */
static uint32_t follow(struct lc__graph *g, struct walk *w, uint32_t head,
		       uint32_t f)
{
	const struct lc__bfs_item it = g->queue[head];
	const struct lc__edge *fe = lc__graph_edge(g, f);
	uint32_t n;

	if (share_gate(w->start, fe))
		return 0;
	for (int h = 0; h < 2; h++) {
		if (h == LC__READ && it.want == LC__READ)
			continue; /* a reader does not wait for a reader */
		for (int want = 0; want < 2; want++) {
			if (!(fe->modes & LC__COMBO(h, want)))
				continue;
			if (fe->to == w->start->from) {
				if (want == LC__READ && w->held0 == LC__READ)
					continue;
				n = build_path(g, w->start_edge, head, f);
				w->oom |= n == 0;
				return n;
			}
			if (fe->to != w->start->to &&
			    push(g, &w->len,
				 (struct lc__bfs_item){ fe->to, head, f,
							it.depth + 1,
							(uint8_t)want })) {
				w->oom = true;
				return 0;
			}
		}
	}
	return 0;
}

/* One breadth-first search for a walk closing e, with e taken in mode pair
 * (held0, want0). Returns its length or 0. limit: the length of a walk
 * already found (0: none); only a shorter one is of interest. */
static uint32_t search(struct lc__graph *g, uint32_t e, int held0, int want0,
		       uint32_t limit)
{
	const struct lc__edge *start = lc__graph_edge(g, e);
	struct walk w = { start, e, held0, 0, false };
	struct lc__bfs_item first = { start->to, LC__NONE, LC__NONE, 0,
				      (uint8_t)want0 };

	lc__u64map_clear(&g->seen);
	if (push(g, &w.len, first))
		w.oom = true;
	for (uint32_t head = 0; head < w.len && !w.oom; head++) {
		if (limit && g->queue[head].depth + 2 >= limit)
			break;
		for (uint32_t f = g->nodes[g->queue[head].node].out;
		     f != LC__NONE && !w.oom;
		     f = lc__graph_edge(g, f)->next_out) {
			uint32_t n = follow(g, &w, head, f);

			if (n)
				return n;
		}
	}
	g->search_incomplete |= w.oom;
	return 0;
}

/* ---- the exact search ---- */

struct lc__dfs_frame {
	uint32_t node;	 /* where this frame stands */
	uint32_t via;	 /* edge that led here (LC__NONE for the first) */
	uint32_t edge;	 /* next out edge to try */
	uint32_t ngates; /* gates in use when this frame was entered */
	uint8_t combo;	 /* next mode pair of edge to try, 0..3 */
	uint8_t want;	 /* mode wanted by via */
};

/* One exact search: the start edge, its mode, what the caller accepts. */
struct exact {
	struct lc__graph *g;
	uint32_t e;
	int held0;
	lc__cycle_accept_fn *accept;
	void *arg;
	uint32_t depth; /* frames on the stack */
	bool oom;	/* memory ran out */
};

static bool gate_in_use(const struct lc__graph *g, uint32_t n, uint64_t id)
{
	for (uint32_t i = 0; i < n; i++)
		if (g->gates[i] == id)
			return true;
	return false;
}

/* Adds f's gates to the ones in use (from index *n); false when one of
 * them is in use already, or (with x->oom set) when memory ran out. */
static bool take_gates(struct exact *x, uint32_t *n, const struct lc__edge *f)
{
	struct lc__graph *g = x->g;

	for (uint64_t m = alive_of(f); m; m &= m - 1) {
		uint64_t id = f->gate[__builtin_ctzll(m)];

		if (gate_in_use(g, *n, id))
			return false;
		if (lc__grow_array((void **)&g->gates, &g->gates_cap, *n + 1,
				   sizeof(*g->gates))) {
			x->oom = true;
			return false;
		}
		g->gates[(*n)++] = id;
	}
	return true;
}

static void push_frame(struct exact *x, uint32_t node, uint32_t via,
		       uint8_t want, uint32_t ngates)
{
	struct lc__graph *g = x->g;

	if (lc__grow_array((void **)&g->frames, &g->frames_cap, x->depth + 1,
			   sizeof(*g->frames))) {
		x->oom = true;
		return;
	}
	g->frames[x->depth++] = (struct lc__dfs_frame){
		node, via, g->nodes[node].out, ngates, 0, want
	};
	g->onpath[node] = 1;
}

/* The cycle: the start edge, the edges of frames 1 .. depth-1, then last. */
static uint32_t exact_path(struct exact *x, uint32_t last)
{
	struct lc__graph *g = x->g;
	uint32_t len = x->depth + 1;

	if (lc__grow_array((void **)&g->path, &g->path_cap, len,
			   sizeof(*g->path))) {
		x->oom = true;
		return 0;
	}
	g->path[0] = x->e;
	for (uint32_t i = 1; i < x->depth; i++)
		g->path[i] = g->frames[i].via;
	g->path[x->depth] = last;
	return len;
}

/* One step: tries the next (edge, mode pair) of the top frame. Returns
 * the cycle length when it closes a valid cycle, 0 otherwise. */
static uint32_t exact_step(struct exact *x)
{
	struct lc__graph *g = x->g;
	struct lc__dfs_frame *fr = &g->frames[x->depth - 1];
	const struct lc__edge *start = lc__graph_edge(g, x->e), *f;
	uint32_t edge = fr->edge, ngates = fr->ngates;
	int h = fr->combo >> 1, w = fr->combo & 1;

	if (edge == LC__NONE) { /* every way out tried: step back */
		g->onpath[fr->node] = 0;
		x->depth--;
		return 0;
	}
	f = lc__graph_edge(g, edge);
	if (++fr->combo == 4) {
		fr->combo = 0;
		fr->edge = f->next_out;
	}
	if (!(f->modes & LC__COMBO(h, w)) || (h == LC__READ && fr->want == LC__READ))
		return 0;
	if (!take_gates(x, &ngates, f))
		return 0;
	if (f->to == start->from)
		return w == LC__READ && x->held0 == LC__READ ? 0
							   : exact_path(x, edge);
	if (!g->onpath[f->to])
		push_frame(x, f->to, edge, (uint8_t)w, ngates);
	return 0;
}

/* Searches simple paths for a cycle the caller accepts; its length (in
 * g->path) or 0. Sets g->search_incomplete when it could not finish. */
static uint32_t exact(struct exact *x, int want0)
{
	struct lc__graph *g = x->g;
	const struct lc__edge *start = lc__graph_edge(g, x->e);
	uint32_t ngates = 0, budget = EXACT_BUDGET, len;

	x->depth = 0;
	x->oom = lc__grow_array((void **)&g->onpath, &g->onpath_cap, g->nnodes,
				sizeof(*g->onpath)) != 0;
	if (!x->oom) {
		memset(g->onpath, 0, g->nnodes);
		g->onpath[start->from] = 1;
		if (take_gates(x, &ngates, start))
			push_frame(x, start->to, LC__NONE, (uint8_t)want0,
				   ngates);
	}
	while (x->depth > 0 && budget && !x->oom) {
		budget--;
		len = exact_step(x);
		if (len && (!x->accept || x->accept(g, g->path, len, x->arg)))
			return len;
	}
	g->search_incomplete |= x->depth > 0 || x->oom;
	return 0;
}

/* ---- both together ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The walk visits no node twice (linear: marks nodes as it goes). */
static bool walk_is_elementary(struct lc__graph *g, const uint32_t *path,
			       uint32_t n)
{
	bool repeat = false;

	if (lc__grow_array((void **)&g->onpath, &g->onpath_cap, g->nnodes,
			   sizeof(*g->onpath)))
		return false; /* cannot tell: let the exact search decide */
	memset(g->onpath, 0, g->nnodes);
	for (uint32_t i = 0; i < n && !repeat; i++) {
		uint32_t node = lc__graph_edge(g, path[i])->from;

		repeat = g->onpath[node];
		g->onpath[node] = 1;
	}
	return !repeat;
}

/* No gate is on two edges of the walk. */
static bool walk_gates_disjoint(struct lc__graph *g, const uint32_t *path,
				uint32_t n)
{
	uint32_t ngates = 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct lc__edge *f = lc__graph_edge(g, path[i]);

		for (uint64_t m = alive_of(f); m; m &= m - 1) {
			if (lc__grow_array((void **)&g->gates, &g->gates_cap,
					   ngates + 1, sizeof(*g->gates)))
				return false;
			g->gates[ngates++] = f->gate[__builtin_ctzll(m)];
		}
	}
	if (ngates < 2)
		return true;
	qsort(g->gates, ngates, sizeof(*g->gates), cmp_u64);
	for (uint32_t i = 1; i < ngates; i++)
		if (g->gates[i] == g->gates[i - 1])
			return false;
	return true;
}

/* The walk path[0..n) is a valid cycle (its modes are right by
 * construction). */
static bool walk_is_cycle(struct lc__graph *g, const uint32_t *path,
			  uint32_t n)
{
	return walk_is_elementary(g, path, n) &&
	       walk_gates_disjoint(g, path, n);
}

/* The shortest walk meeting the filter, over every mode pair of e; its
 * length (0: none), the walk left in g->path. */
static uint32_t shortest_walk(struct lc__graph *g, uint32_t e)
{
	const struct lc__edge *start = lc__graph_edge(g, e);
	uint32_t best = 0, *best_path = NULL;

	for (int h = 0; h < 2; h++) {
		for (int w = 0; w < 2; w++) {
			uint32_t n;

			if (!(start->modes & LC__COMBO(h, w)))
				continue;
			n = search(g, e, h, w, best);
			if (n && (!best || n < best)) {
				uint32_t *keep = malloc(n * sizeof(*keep));

				if (!keep) {
					g->search_incomplete = true;
					continue;
				}
				memcpy(keep, g->path, n * sizeof(*keep));
				free(best_path);
				best_path = keep;
				best = n;
			}
		}
	}
	if (best)
		memcpy(g->path, best_path, best * sizeof(*best_path));
	free(best_path);
	return best;
}

uint32_t lc__graph_find_cycle(struct lc__graph *g, uint32_t e,
			      lc__cycle_accept_fn *accept, void *arg,
			      const uint32_t **path)
{
	const struct lc__edge *start = lc__graph_edge(g, e);
	struct exact x = { g, e, 0, accept, arg, 0, false };
	uint32_t n, len = 0;

	g->search_incomplete = false;
	n = shortest_walk(g, e);
	*path = g->path;
	if (!n)
		return 0;
	if (walk_is_cycle(g, g->path, n) &&
	    (!accept || accept(g, g->path, n, arg)))
		return n;
	for (int h = 0; h < 2 && !len; h++)
		for (int w = 0; w < 2 && !len; w++) {
			if (!(start->modes & LC__COMBO(h, w)))
				continue;
			x.held0 = h;
			len = exact(&x, w);
		}
	*path = g->path; /* the searches may have moved it */
	return len;
}
