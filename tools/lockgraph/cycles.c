/*
 * cycles.c: the search (model in cycles.h).
 *
 * One depth-first search is rooted at class r of component c and walks
 * only classes of c larger than r ("allowed"), so every elementary cycle is
 * met from its smallest class alone. dist[v] is the length of the shortest
 * path from allowed v back to r through allowed classes (reverse BFS from
 * r), LG_NONE when there is none; a path of d edges may step to v only if
 * d + 1 + dist[v] <= limit, which makes each search visit only paths that
 * can still close in time. Along the path, state[d] is the mode state
 * (verdict.h) of its first d edges, and gate_on marks (by lg_gate_slot)
 * the gate keys its edges hold: an edge with a marked gate, closing edge
 * included, is not taken, since no cycle through both edges can deadlock.
 * Marks are set when a class is pushed and cleared when it is popped.
 */
#include "cycles.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "verdict.h"

struct search {
	const struct lg_graph *g;
	const struct lg_scc *s;
	const struct lg_search_opts *o;
	struct lg_cycles *out;
	uint32_t comp, root, limit;
	bool any_root;	  /* through one edge: all of comp allowed */
	bool first_only;  /* stop at the first cycle (shortest pass) */
	bool stop;	  /* first found, cycle limit or budget reached */
	bool broke;	  /* the budget ran out */
	uint64_t left;	  /* steps left to this search */
	int err;
	uint32_t *dist, *queue, *path, *best;
	uint32_t best_len;
	uint8_t *on_path, *state;
	uint8_t *gate_on; /* per gate slot: held by an edge of the path */
};

static bool step(struct search *s)
{
	if (s->left == 0) {
		s->broke = s->stop = true;
		return false;
	}
	s->left--;
	s->out->steps++;
	return true;
}

static bool allowed(const struct search *s, uint32_t v)
{
	return s->s->comp[v] == s->comp && (v >= s->root || s->any_root);
}

/* Reverse BFS from the root over allowed classes. */
static void distances(struct search *s)
{
	const struct lg_graph *g = s->g;
	uint32_t head = 0, tail = 0;

	for (uint32_t i = s->s->start[s->comp]; i < s->s->start[s->comp + 1];
	     i++)
		s->dist[s->s->members[i]] = LG_NONE;
	s->dist[s->root] = 0;
	s->queue[tail++] = s->root;
	while (head < tail && !s->broke) {
		uint32_t x = s->queue[head++];

		for (uint32_t i = g->in[x]; i < g->in[x + 1] && step(s); i++) {
			uint32_t y = g->edges[g->in_edges[i]].from;

			if (allowed(s, y) && s->dist[y] == LG_NONE) {
				s->dist[y] = s->dist[x] + 1;
				s->queue[tail++] = y;
			}
		}
	}
}

/* The path's d edges plus closing edge e form a cycle that can deadlock:
 * list it (or, in the shortest pass, keep it as the best so far). */
static void emit(struct search *s, uint32_t d, uint32_t e)
{
	uint32_t id, before;

	s->path[d] = e;
	if (s->first_only) {
		memcpy(s->best, s->path, (d + 1) * sizeof(*s->best));
		s->best_len = d + 1;
		s->stop = true;
		return;
	}
	before = s->out->n;
	s->err = lg_cycles_add(s->out, s->g, s->path, d + 1, s->comp, false,
			       &id);
	if (s->err || s->out->n == before) {
		s->stop |= s->err != 0;
		return;
	}
	if (s->out->n >= s->o->max_cycles)
		s->stop = true;
}

/* True when no gate of edge e is held by an edge of the path. */
static bool gates_free(const struct search *s, uint32_t e)
{
	const struct lg_edge *edge = &s->g->edges[e];

	for (uint32_t i = 0; i < edge->ngates; i++)
		if (s->gate_on[lg_gate_slot(s->g, edge->gates.keys[i])])
			return false;
	return true;
}

/* Sets (on 1) or clears (on 0) the marks of edge e's gates. */
static void mark_gates(struct search *s, uint32_t e, uint8_t on)
{
	const struct lg_edge *edge = &s->g->edges[e];

	for (uint32_t i = 0; i < edge->ngates; i++)
		s->gate_on[lg_gate_slot(s->g, edge->gates.keys[i])] = on;
}

/* Extends the path's mode state (d edges so far) by edge e into depth
 * d + 1; false when no mode choice lets the path go on, or when e shares
 * a gate with the path. */
static bool extend(struct search *s, uint32_t d, uint32_t e)
{
	const struct lg_edge *edge = &s->g->edges[e];

	s->state[d + 1] = d ? lg_modes_extend(s->state[d], edge->modes)
			    : edge->modes;
	return s->state[d + 1] && gates_free(s, e);
}

static void dfs(struct search *s, uint32_t u, uint32_t d)
{
	const struct lg_graph *g = s->g;

	for (uint32_t e = g->out[u]; e < g->out[u + 1] && !s->stop; e++) {
		uint32_t v = g->edges[e].to;

		if (!step(s))
			return;
		if (v == s->root) {
			if ((s->first_only || d + 1 == s->limit) &&
			    extend(s, d, e) && lg_modes_close(s->state[d + 1]))
				emit(s, d, e);
			continue;
		}
		if (!allowed(s, v) || s->on_path[v] || s->dist[v] == LG_NONE ||
		    d + 1 + s->dist[v] > s->limit || !extend(s, d, e))
			continue;
		s->path[d] = e;
		s->on_path[v] = 1;
		mark_gates(s, e, 1);
		dfs(s, v, d + 1);
		mark_gates(s, e, 0);
		s->on_path[v] = 0;
	}
}

/* Length of the shortest cycle through the root, modes and gates aside;
 * LG_NONE when there is none. Needs dist. */
static uint32_t plain_girth(const struct search *s)
{
	const struct lg_graph *g = s->g;
	uint32_t best = LG_NONE;

	for (uint32_t e = g->out[s->root]; e < g->out[s->root + 1]; e++) {
		uint32_t v = g->edges[e].to;

		if (allowed(s, v) && s->dist[v] != LG_NONE &&
		    s->dist[v] + 1 < best)
			best = s->dist[v] + 1;
	}
	return best;
}

/* Iterative deepening at one root for a cycle shorter than best_len. */
static void shortest_at(struct search *s)
{
	uint32_t from;

	s->stop = false;
	distances(s);
	from = plain_girth(s);
	for (uint32_t len = from; len < s->best_len && len <= s->o->max_len &&
				  !s->broke;
	     len++) {
		s->limit = len;
		s->stop = false;
		dfs(s, s->root, 0);
		if (s->best_len == len)
			return;
	}
}

static int add_best(struct search *s)
{
	uint32_t id;

	if (s->best_len > s->o->max_len)
		return 0;
	return lg_cycles_add(s->out, s->g, s->best, s->best_len, s->comp, true,
			     &id);
}

/* The shortest deadlock cycle of component comp, within the budget;
 * nothing to search when settle.c proves there is none. */
static int shortest_in(struct search *s, struct lg_comp *info)
{
	uint32_t b = s->s->start[info->comp], e = s->s->start[info->comp + 1];
	int err = lg_comp_cannot_deadlock(s->g, s->s, info->comp, s->queue,
					  &info->proven);

	if (err || info->proven)
		return err;
	s->comp = info->comp;
	s->first_only = true;
	s->best_len = s->o->max_len + 1;
	for (uint32_t i = b; i < e && !s->broke && s->best_len > 2; i++) {
		s->root = s->s->members[i];
		shortest_at(s);
	}
	info->exhausted = s->broke;
	info->too_long = e - b > s->o->max_len;
	return add_best(s);
}

/* Distance rows of a component (DIST_ROWS_MAX classes at most): row i
 * holds each member's distance back to root members[start + i], capped at
 * 255 (NO_DIST: farther than any length limit, or no path). */
#define DIST_ROWS_MAX 4096
#define NO_DIST 255

struct rows {
	uint8_t *d;	/* n * n */
	uint8_t *girth; /* shortest plain cycle through each root */
	uint32_t b, n;	/* members[b .. b + n) */
};

static uint8_t cap(uint32_t v)
{
	return v < NO_DIST ? (uint8_t)v : NO_DIST;
}

/* One BFS per root, kept; false when the budget ran out. */
static bool fill_rows(struct search *s, struct rows *r)
{
	for (uint32_t i = 0; i < r->n; i++) {
		s->root = s->s->members[r->b + i];
		distances(s);
		if (s->broke)
			return false;
		for (uint32_t j = 0; j < r->n; j++)
			r->d[(size_t)i * r->n + j] =
				cap(s->dist[s->s->members[r->b + j]]);
		r->girth[i] = cap(plain_girth(s));
	}
	return true;
}

static void load_row(struct search *s, const struct rows *r, uint32_t i)
{
	const uint8_t *row = r->d + (size_t)i * r->n;

	s->root = s->s->members[r->b + i];
	for (uint32_t j = 0; j < r->n && step(s); j++)
		s->dist[s->s->members[r->b + j]] =
			row[j] == NO_DIST ? LG_NONE : row[j];
}

/* All cycles of length 2 first, then 3, ...: every root at each length,
 * so short cycles anywhere in the component come before long ones. */
static void by_length(struct search *s, struct rows *r)
{
	for (uint32_t len = 2; len <= s->o->max_len && !s->stop; len++)
		for (uint32_t i = 0; i < r->n && !s->stop; i++) {
			if (r->girth[i] > len)
				continue;
			load_row(s, r, i);
			s->limit = len;
			if (!s->stop)
				dfs(s, s->root, 0);
		}
}

/* A component too big for rows: per root, by increasing length. */
static void by_root(struct search *s, uint32_t b, uint32_t e)
{
	for (uint32_t i = b; i < e && !s->stop; i++) {
		s->root = s->s->members[i];
		distances(s);
		for (uint32_t len = plain_girth(s);
		     len <= s->o->max_len && !s->stop; len++) {
			s->limit = len;
			dfs(s, s->root, 0);
		}
	}
}

/* More cycles of component comp (each pass lists the cycles of exactly
 * one length), until max_cycles or the budget stops it. */
static void enumerate_in(struct search *s, uint32_t comp)
{
	struct rows r = { NULL, NULL, s->s->start[comp],
			  s->s->start[comp + 1] - s->s->start[comp] };

	s->comp = comp;
	s->first_only = false;
	if (r.n <= DIST_ROWS_MAX) {
		r.d = malloc((size_t)r.n * r.n);
		r.girth = malloc(r.n);
	}
	if (r.d && r.girth) {
		if (fill_rows(s, &r))
			by_length(s, &r);
	} else {
		by_root(s, r.b, r.b + r.n);
	}
	free(r.d);
	free(r.girth);
}

static int collect_comps(struct lg_cycles *out, const struct lg_scc *s)
{
	uint32_t n = 0;

	out->comps = malloc((s->ncomp + 1) * sizeof(*out->comps));
	if (!out->comps)
		return ENOMEM;
	for (uint32_t c = 0; c < s->ncomp; c++)
		if (lg_scc_size(s, c) > 1)
			out->comps[n++] = (struct lg_comp){ c, 0, false, false,
							    false };
	out->ncomps = n;
	return 0;
}

static int alloc_search(struct search *s, uint32_t depth)
{
	size_t n = (size_t)s->g->nclasses + 1, d = (size_t)depth + 2;

	s->dist = malloc(n * sizeof(*s->dist));
	s->queue = malloc(n * sizeof(*s->queue));
	s->on_path = calloc(n, 1);
	s->path = malloc(d * sizeof(*s->path));
	s->best = malloc(d * sizeof(*s->best));
	s->state = malloc(d);
	s->gate_on = calloc(lg_gate_slots(s->g) + 1, 1);
	return s->dist && s->queue && s->on_path && s->path && s->best &&
			       s->state && s->gate_on
		       ? 0
		       : ENOMEM;
}

static void free_search(struct search *s)
{
	free(s->dist), free(s->queue), free(s->on_path), free(s->path);
	free(s->best), free(s->state), free(s->gate_on);
}

/* Pass 1: each component gets an equal share of what budget is left. */
static int shortest_pass(struct search *s, uint64_t *budget)
{
	struct lg_cycles *out = s->out;
	int err = 0;

	for (uint32_t i = 0; i < out->ncomps && !err; i++) {
		uint64_t share = *budget / (out->ncomps - i);

		s->left = share;
		s->broke = false;
		err = shortest_in(s, &out->comps[i]);
		*budget -= share - s->left;
	}
	return err;
}

/* Pass 2: more cycles with what is left. */
static int enumerate_pass(struct search *s, uint64_t budget)
{
	struct lg_cycles *out = s->out;

	s->left = budget;
	s->stop = s->broke = out->n >= s->o->max_cycles;
	for (uint32_t i = 0; i < out->ncomps && !s->stop; i++)
		if (!out->comps[i].proven)
			enumerate_in(s, out->comps[i].comp);
	out->truncated = s->stop && !s->err;
	return s->err ? s->err : lg_cycles_sort(out);
}

int lg_cycles_find(const struct lg_graph *g, const struct lg_scc *s,
		   const struct lg_search_opts *o, struct lg_cycles *out)
{
	struct search se = { .g = g, .s = s, .o = o, .out = out };
	uint64_t budget = o->budget;
	int err = collect_comps(out, s);

	if (!err)
		err = alloc_search(&se, o->max_len);
	if (!err)
		err = shortest_pass(&se, &budget);
	if (!err)
		err = enumerate_pass(&se, budget);
	free_search(&se);
	return err;
}

/* Iterative deepening for a cycle whose first edge is e. */
static void through(struct search *s, uint32_t e)
{
	uint32_t v = s->g->edges[e].to;

	distances(s);
	if (s->broke || s->dist[v] == LG_NONE)
		return;
	s->path[0] = e;
	extend(s, 0, e);
	s->on_path[v] = 1;
	mark_gates(s, e, 1);
	for (uint32_t len = s->dist[v] + 1; len <= s->o->max_len && !s->broke;
	     len++) {
		s->limit = len;
		s->stop = false;
		dfs(s, v, 1);
		if (s->best_len == len)
			break;
	}
	mark_gates(s, e, 0);
	s->on_path[v] = 0;
}

uint32_t lg_cycle_through(const struct lg_graph *g, const struct lg_scc *sc,
			  uint32_t e, const struct lg_search_opts *o,
			  uint64_t *budget, uint32_t *path)
{
	struct search s = { .g = g, .s = sc, .o = o, .any_root = true,
			    .first_only = true };
	struct lg_cycles dummy;

	lg_cycles_init(&dummy);
	s.out = &dummy;
	s.root = g->edges[e].from;
	s.comp = sc->comp[s.root];
	s.best_len = 0;
	s.left = *budget;
	if (sc->comp[g->edges[e].to] != s.comp ||
	    alloc_search(&s, o->max_len)) {
		free_search(&s);
		return 0;
	}
	through(&s, e);
	*budget = s.left;
	if (s.best_len)
		memcpy(path, s.best, s.best_len * sizeof(*path));
	free_search(&s);
	return s.best_len;
}
