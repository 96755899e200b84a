/*
 * search.c: the search engine (model in search.h) and the search through
 * one edge.
 *
 * A path of d edges is frames[0 .. d]: frames[i] is the node reached after
 * i edges with the mode state of those edges, path[i] the edge from
 * frames[i] to frames[i + 1]. onpath marks the nodes of frames[1 .. top]
 * (the root is known by its number) and gates holds exactly the gates of
 * path[0 .. top); a pass starts from frames[0 .. base] and restores both
 * to that however it ends. Mode state k of a node is h0 * 2 + w
 * (rules.h). The distance search goes by layers: a queue entry is a node
 * with the mode states first reached at one distance, so an edge is looked
 * at once per node and distance, not once per state.
 */
#include "search.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INF UINT32_MAX

struct lc__search_frame {
	uint32_t node;
	uint32_t next; /* next out-edge to look at; LC__NONE: none left */
	uint8_t state; /* mode state of the path up to node; 0 at the root */
};

void lc__search_init(struct lc__search *s)
{
	memset(s, 0, sizeof(*s));
}

/* The mode rule as tables, for the inner loops. */
static void mode_tables(struct lc__search *s)
{
	for (uint8_t a = 0; a < 16; a++)
		for (uint8_t m = 0; m < 16; m++) {
			s->ext[a][m] = lc__modes_extend(a, m);
			s->back[a][m] = lc__modes_back(a, m);
		}
	s->tables = true;
}

void lc__search_free(struct lc__search *s)
{
	free(s->mark);
	free(s->dseen);
	free(s->dist);
	free(s->queued);
	free(s->onpath);
	free(s->queue);
	free(s->qstates);
	free(s->frames);
	free(s->path);
	lc__u64map_free(&s->gates);
	lc__search_init(s);
}

bool lc__search_step(struct lc__search *s)
{
	if (!s->left) {
		s->broke = s->stop = true;
		return false;
	}
	s->left--;
	s->steps++;
	return true;
}

/* Grows *p from old to n items of size, the new ones zeroed. */
static int grow(void **p, size_t old, size_t n, size_t size)
{
	void *q = realloc(*p, n * size);

	if (!q)
		return ENOMEM;
	memset((char *)q + old * size, 0, (n - old) * size);
	*p = q;
	return 0;
}

/* Room for n nodes, doubling: graphs grow a node at a time. */
static int grow_nodes(struct lc__search *s, uint32_t n)
{
	size_t old = s->ncap;

	if (n <= s->ncap)
		return 0;
	if (n < 2 * old)
		n = (uint32_t)(2 * old);
	if (n < 64)
		n = 64;
	if (grow((void **)&s->mark, old, n, sizeof(*s->mark)) ||
	    grow((void **)&s->dseen, old, n, sizeof(*s->dseen)) ||
	    grow((void **)&s->dist, old, n, sizeof(*s->dist)) ||
	    grow((void **)&s->queued, old, n, sizeof(*s->queued)) ||
	    grow((void **)&s->onpath, old, n, sizeof(*s->onpath)) ||
	    grow((void **)&s->queue, 4 * old, 4 * (size_t)n,
		 sizeof(*s->queue)) ||
	    grow((void **)&s->qstates, 4 * old, 4 * (size_t)n,
		 sizeof(*s->qstates)))
		return ENOMEM;
	s->ncap = n;
	return 0;
}

static int grow_depth(struct lc__search *s, uint32_t n)
{
	size_t old = s->dcap;

	if (n <= s->dcap)
		return 0;
	if (n < 2 * old)
		n = (uint32_t)(2 * old);
	if (grow((void **)&s->frames, old, n, sizeof(*s->frames)) ||
	    grow((void **)&s->path, old, n, sizeof(*s->path)))
		return ENOMEM;
	s->dcap = n;
	return 0;
}

int lc__search_begin(struct lc__search *s, const struct lc__graph *g)
{
	assert(g->nnodes < (1u << 30)); /* node * 4 + state fits */
	assert(s->gates.count == 0);
	s->g = g;
	s->stop = s->broke = s->oom = s->halted = false;
	s->area = NULL;
	s->above_root = false;
	if (!s->tables)
		mode_tables(s);
	if (grow_nodes(s, g->nnodes) || grow_depth(s, 2)) {
		s->oom = s->stop = true;
		return ENOMEM;
	}
	if (++s->epoch == 0) { /* wrapped: old marks could match */
		memset(s->mark, 0, s->ncap * sizeof(*s->mark));
		s->epoch = 1;
	}
	return 0;
}

enum lc__search_end lc__search_end_of(const struct lc__search *s)
{
	if (s->oom || s->broke)
		return LC__SEARCH_CUT;
	return s->halted ? LC__SEARCH_STOPPED : LC__SEARCH_DONE;
}

static bool allowed(const struct lc__search *s, uint32_t v)
{
	if (s->above_root && v < s->root)
		return false;
	return !s->area || s->area[v] == s->area_id;
}

void lc__search_set_root(struct lc__search *s, uint32_t root)
{
	s->root = root;
	s->frames[0] = (struct lc__search_frame){ root, LC__NONE, 0 };
	s->base = 0;
}

/* ---- distances back to the root ---- */

void lc__search_new_dist(struct lc__search *s)
{
	if (++s->depoch == 0) {
		memset(s->dseen, 0, s->ncap * sizeof(*s->dseen));
		s->depoch = 1;
	}
}

static uint32_t dist_of(const struct lc__search *s, uint32_t v, uint32_t k)
{
	return s->dseen[v] == s->depoch ? s->dist[v][k] : INF;
}

/* The least distance from v over the mode states in state. */
static uint32_t min_dist(const struct lc__search *s, uint32_t v, uint8_t state)
{
	uint32_t best = INF;

	for (uint32_t k = 0; k < 4; k++)
		if ((state & (1u << k)) && dist_of(s, v, k) < best)
			best = dist_of(s, v, k);
	return best;
}

/* The queue of the distance search: entries [head, tail). */
struct layer {
	uint32_t head, tail;
};

/* The states of v in `states` are d edges from the root unless known to
 * be closer; the new ones join v's entry of that distance, or a new one. */
static void relax(struct lc__search *s, struct layer *q, uint32_t v,
		  uint8_t states, uint32_t d)
{
	uint8_t fresh = 0;
	uint32_t at;

	if (s->dseen[v] != s->depoch) {
		s->dseen[v] = s->depoch;
		for (int k = 0; k < 4; k++)
			s->dist[v][k] = INF;
		s->queued[v] = LC__NONE;
	}
	for (uint32_t k = 0; k < 4; k++)
		if ((states & (1u << k)) && s->dist[v][k] == INF) {
			s->dist[v][k] = d;
			fresh |= (uint8_t)(1u << k);
		}
	if (!fresh)
		return;
	at = s->queued[v];
	if (at != LC__NONE && at >= q->head &&
	    s->dist[v][__builtin_ctz(s->qstates[at])] == d) {
		s->qstates[at] |= fresh; /* not looked at yet: same layer */
		return;
	}
	s->queue[q->tail] = v;
	s->qstates[q->tail] = fresh;
	s->queued[v] = q->tail++;
}

/* Every state before edge f that reaches `states` of its target, at
 * distance d. */
static void relax_edge(struct lc__search *s, struct layer *q, uint32_t f,
		       uint8_t states, uint32_t d)
{
	const struct lc__edge *fe = lc__graph_edge(s->g, f);
	uint8_t before = s->back[states][fe->modes];

	if (!before || fe->from == s->root || !allowed(s, fe->from))
		return;
	if (s->gates.count && lc__gates_meet(&s->gates, fe))
		return;
	relax(s, q, fe->from, before, d);
}

bool lc__search_dist(struct lc__search *s)
{
	const struct lc__graph *g = s->g;
	struct layer q = { 0, 0 };
	uint8_t closing = 0;

	lc__search_new_dist(s);
	for (uint32_t k = 0; k < 4; k++) /* wanted in w, first held in h0 */
		if (lc__mode_waits(k & 1, k >> 1))
			closing |= (uint8_t)(1u << k);
	relax(s, &q, s->root, closing, 0);
	while (q.head < q.tail) {
		uint32_t u = s->queue[q.head];
		uint8_t states = s->qstates[q.head++];
		uint32_t d = s->dist[u][__builtin_ctz(states)] + 1;

		for (uint32_t f = g->nodes[u].in; f != LC__NONE;
		     f = lc__graph_edge(g, f)->next_in) {
			if (!lc__search_step(s))
				return false;
			relax_edge(s, &q, f, states, d);
		}
	}
	return true;
}

uint32_t lc__search_girth(const struct lc__search *s)
{
	const struct lc__graph *g = s->g;
	uint32_t best = LC__NONE;

	for (uint32_t f = g->nodes[s->root].out; f != LC__NONE;
	     f = lc__graph_edge(g, f)->next_out) {
		const struct lc__edge *fe = lc__graph_edge(g, f);
		uint32_t d;

		if (fe->to == s->root || !allowed(s, fe->to))
			continue;
		d = min_dist(s, fe->to, fe->modes);
		if (d != INF && d + 1 < best)
			best = d + 1;
	}
	return best;
}

/* ---- one pass ---- */

/* A path of depth edges may step to v in mode state `state` only if it
 * can still close within the pass's length; notes paths cut by length. */
static bool fits(struct lc__search *s, uint32_t v, uint8_t state,
		 uint32_t depth)
{
	uint32_t best = min_dist(s, v, state);

	if (best == INF)
		return false;
	if (depth + best <= s->limit)
		return true;
	s->deeper = true;
	return false;
}

/* Edge f closes the path of d edges at the root. */
static void close_cycle(struct lc__search *s, uint32_t d, uint32_t f)
{
	const struct lc__edge *fe = lc__graph_edge(s->g, f);
	uint8_t state = s->ext[s->frames[d].state][fe->modes];

	if (!lc__modes_close(state) || lc__gates_meet(&s->gates, fe))
		return;
	s->path[d] = f;
	if (s->fn(s->path, d + 1, s->arg))
		s->halted = s->stop = true;
}

/* Looks at edge f out of the top frame d; returns the new top. */
static uint32_t try_edge(struct lc__search *s, uint32_t d, uint32_t f)
{
	const struct lc__edge *fe = lc__graph_edge(s->g, f);
	uint32_t v = fe->to;
	uint8_t state;
	int err;

	if (v == s->root) {
		if (d > 0 && d + 1 == s->limit)
			close_cycle(s, d, f);
		return d;
	}
	if (!allowed(s, v) || s->onpath[v])
		return d;
	state = d ? s->ext[s->frames[d].state][fe->modes] : fe->modes;
	if (!state || !fits(s, v, state, d + 1))
		return d;
	err = lc__gates_take(&s->gates, fe);
	if (err == ENOMEM)
		s->oom = s->stop = true;
	if (err)
		return d;
	assert(d + 1 < s->limit); /* dist >= 1 away from the root */
	s->path[d] = f;
	s->frames[d + 1] =
		(struct lc__search_frame){ v, s->g->nodes[v].out, state };
	s->onpath[v] = 1;
	return d + 1;
}

static uint32_t pop(struct lc__search *s, uint32_t top)
{
	s->onpath[s->frames[top].node] = 0;
	lc__gates_drop(&s->gates, lc__graph_edge(s->g, s->path[top - 1]));
	return top - 1;
}

void lc__search_pass(struct lc__search *s, uint32_t len)
{
	uint32_t top = s->base;

	if (grow_depth(s, len + 1)) {
		s->oom = s->stop = true;
		return;
	}
	s->limit = len;
	s->frames[top].next = s->g->nodes[s->frames[top].node].out;
	while (!s->stop) {
		struct lc__search_frame *fr = &s->frames[top];
		uint32_t f = fr->next;

		if (f == LC__NONE) {
			if (top == s->base)
				break;
			top = pop(s, top);
			continue;
		}
		fr->next = lc__graph_edge(s->g, f)->next_out;
		if (!lc__search_step(s))
			break;
		top = try_edge(s, top, f);
	}
	while (top > s->base)
		top = pop(s, top);
}

/* ---- through one edge ---- */

/* Marks what can be reached from start without passing the root; false
 * when the steps ran out. */
static bool reach(struct lc__search *s, uint32_t start)
{
	const struct lc__graph *g = s->g;
	uint32_t head = 0, tail = 0;

	s->mark[start] = s->epoch;
	s->queue[tail++] = start;
	while (head < tail) {
		uint32_t u = s->queue[head++];

		for (uint32_t f = g->nodes[u].out; f != LC__NONE;
		     f = lc__graph_edge(g, f)->next_out) {
			uint32_t v = lc__graph_edge(g, f)->to;

			if (!lc__search_step(s))
				return false;
			if (s->mark[v] == s->epoch)
				continue;
			s->mark[v] = s->epoch;
			if (v != s->root)
				s->queue[tail++] = v;
		}
	}
	return true;
}

/* Sets the nodes a cycle from the root through start may use; false when
 * there is no such cycle (or the steps ran out). */
static bool open_area(struct lc__search *s, uint32_t start)
{
	if (s->comp) {
		s->area = s->comp;
		s->area_id = s->comp_id;
		return s->comp[s->root] == s->comp_id &&
		       s->comp[start] == s->comp_id;
	}
	s->area = s->mark;
	s->area_id = s->epoch;
	return reach(s, start) && s->mark[s->root] == s->epoch;
}

/* Passes of growing length from e's target, e taken. */
static void deepen_through(struct lc__search *s, uint32_t e, uint32_t max_len)
{
	const struct lc__edge *fe = lc__graph_edge(s->g, e);
	uint32_t d;

	if (max_len > s->g->nnodes)
		max_len = s->g->nnodes; /* a cycle has no node twice */
	if (!lc__search_dist(s))
		return;
	d = min_dist(s, fe->to, fe->modes);
	if (d == INF)
		return; /* no walk back the modes allow: no cycle */
	s->path[0] = e;
	s->frames[1] = (struct lc__search_frame){ fe->to, LC__NONE, fe->modes };
	s->base = 1;
	for (uint32_t len = d + 1; len <= max_len && !s->stop; len++) {
		s->deeper = false;
		lc__search_pass(s, len);
		if (!s->deeper)
			break;
	}
}

enum lc__search_end lc__cycle_through(struct lc__search *s,
				      const struct lc__graph *g, uint32_t e,
				      uint32_t max_len, lc__cycle_fn *fn,
				      void *arg)
{
	const struct lc__edge *fe = lc__graph_edge(g, e);

	if (lc__search_begin(s, g))
		return LC__SEARCH_CUT;
	lc__search_set_root(s, fe->from);
	s->fn = fn;
	s->arg = arg;
	if (fe->to == s->root || !open_area(s, fe->to))
		return lc__search_end_of(s);
	if (lc__gates_take(&s->gates, fe)) { /* empty before: ENOMEM */
		s->oom = true;
		return LC__SEARCH_CUT;
	}
	s->onpath[fe->to] = 1;
	deepen_through(s, e, max_len);
	s->onpath[fe->to] = 0;
	lc__gates_drop(&s->gates, fe);
	return lc__search_end_of(s);
}
