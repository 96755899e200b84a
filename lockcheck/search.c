/*
 * search.c: the search engine (model in search.h) and the search through
 * one edge.
 *
 * A path of d edges is frames[0 .. d]: frames[i] is the node reached after
 * i edges with the mode state of those edges, path[i] the edge from
 * frames[i] to frames[i + 1]. onpath marks the nodes of frames[1 .. top]
 * (the root is known by its number) and gates holds exactly the gates of
 * path[0 .. top); a pass starts from frames[0 .. base] and restores both
 * to that however it ends. Mode
 * state s of a node is h0 * 2 + w (rules.h); the distance queue holds
 * node * 4 + s.
 */
#include "search.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INF UINT32_MAX

struct lc__search_frame {
	uint32_t node;
	uint32_t next; /* next out-edge to look at; LC_NONE: none left */
	uint8_t state; /* mode state of the path up to node; 0 at the root */
};

void lc__search_init(struct lc__search *s)
{
	memset(s, 0, sizeof(*s));
}

void lc__search_free(struct lc__search *s)
{
	free(s->mark);
	free(s->dseen);
	free(s->dist);
	free(s->onpath);
	free(s->queue);
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

static int grow_nodes(struct lc__search *s, uint32_t n)
{
	size_t old = s->ncap;

	if (n <= s->ncap)
		return 0;
	if (grow((void **)&s->mark, old, n, sizeof(*s->mark)) ||
	    grow((void **)&s->dseen, old, n, sizeof(*s->dseen)) ||
	    grow((void **)&s->dist, old, n, sizeof(*s->dist)) ||
	    grow((void **)&s->onpath, old, n, sizeof(*s->onpath)) ||
	    grow((void **)&s->queue, 4 * old, 4 * (size_t)n,
		 sizeof(*s->queue)))
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
	s->frames[0] = (struct lc__search_frame){ root, LC_NONE, 0 };
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
static uint32_t min_dist(const struct lc__search *s, uint32_t v,
			 uint8_t state)
{
	uint32_t best = INF;

	for (uint32_t k = 0; k < 4; k++)
		if ((state & (1u << k)) && dist_of(s, v, k) < best)
			best = dist_of(s, v, k);
	return best;
}

/* State (v, k) is d edges from the root unless known to be closer. */
static uint32_t relax(struct lc__search *s, uint32_t v, uint32_t k,
		      uint32_t d, uint32_t tail)
{
	if (s->dseen[v] != s->depoch) {
		s->dseen[v] = s->depoch;
		for (int i = 0; i < 4; i++)
			s->dist[v][i] = INF;
	}
	if (s->dist[v][k] != INF)
		return tail;
	s->dist[v][k] = d;
	s->queue[tail] = v * 4 + k;
	return tail + 1;
}

/* The states before edge f that lead to state k of its target in one
 * step, at distance d. */
static uint32_t relax_edge(struct lc__search *s, uint32_t f, uint32_t k,
			   uint32_t d, uint32_t tail)
{
	const struct lc__edge *fe = lc__graph_edge(s->g, f);
	uint32_t v = fe->from, h0 = k >> 1, w2 = k & 1;

	if (v == s->root || !allowed(s, v) || lc__gates_meet(&s->gates, fe))
		return tail;
	for (int h = 0; h < 2; h++) {
		if (!(fe->modes & LC_COMBO(h, w2)))
			continue;
		for (int w = 0; w < 2; w++)
			if (lc__mode_waits(w, h))
				tail = relax(s, v, h0 * 2 + (uint32_t)w, d,
					     tail);
	}
	return tail;
}

bool lc__search_dist(struct lc__search *s)
{
	const struct lc__graph *g = s->g;
	uint32_t head = 0, tail = 0;

	lc__search_new_dist(s);
	s->dseen[s->root] = s->depoch;
	for (uint32_t k = 0; k < 4; k++) {
		/* closing here: wanted in w, first held in h0 */
		s->dist[s->root][k] = lc__mode_waits(k & 1, k >> 1) ? 0 : INF;
		if (!s->dist[s->root][k])
			s->queue[tail++] = s->root * 4 + k;
	}
	while (head < tail) {
		uint32_t st = s->queue[head++], u = st >> 2, k = st & 3;

		for (uint32_t f = g->nodes[u].in; f != LC_NONE;
		     f = lc__graph_edge(g, f)->next_in) {
			if (!lc__search_step(s))
				return false;
			tail = relax_edge(s, f, k, s->dist[u][k] + 1, tail);
		}
	}
	return true;
}

uint32_t lc__search_girth(const struct lc__search *s)
{
	const struct lc__graph *g = s->g;
	uint32_t best = LC_NONE;

	for (uint32_t f = g->nodes[s->root].out; f != LC_NONE;
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
	uint8_t state = lc__modes_extend(s->frames[d].state, fe->modes);

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
	state = d ? lc__modes_extend(s->frames[d].state, fe->modes)
		  : fe->modes;
	if (!state || !fits(s, v, state, d + 1))
		return d;
	err = lc__gates_take(&s->gates, fe);
	if (err == ENOMEM)
		s->oom = s->stop = true;
	if (err)
		return d;
	assert(d + 1 < s->limit); /* dist >= 1 away from the root */
	s->path[d] = f;
	s->frames[d + 1] = (struct lc__search_frame){ v, s->g->nodes[v].out,
						      state };
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

		if (f == LC_NONE) {
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

		for (uint32_t f = g->nodes[u].out; f != LC_NONE;
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
static void deepen_through(struct lc__search *s, uint32_t e,
			   uint32_t max_len)
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
	s->frames[1] = (struct lc__search_frame){ fe->to, LC_NONE, fe->modes };
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
