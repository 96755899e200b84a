/*
 * cycles.c: what lockgraph asks the rule module's searches (model in
 * cycles.h), and the cycles it lists. Edge numbers are the same in the
 * merged graph and its lc copy, so the module's paths are listed as they
 * come.
 */
#include "cycles.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/search.h"

/* One call of lg_cycles_find. */
struct find {
	const struct lg_graph *g;
	const struct lc__scc *s;
	const struct lg_search_opts *o;
	struct lg_cycles *out;
	struct lc__search se;
	uint32_t comp; /* the component being enumerated */
	int err;
};

static int collect_comps(struct lg_cycles *out, const struct lc__scc *s)
{
	uint32_t n = 0;

	out->comps = malloc((s->ncomp + 1) * sizeof(*out->comps));
	if (!out->comps)
		return ENOMEM;
	for (uint32_t c = 0; c < s->ncomp; c++)
		if (lc__scc_size(s, c) > 1)
			out->comps[n++] =
				(struct lg_comp){ c, 0, false, false, false };
	out->ncomps = n;
	return 0;
}

/* The shortest deadlock cycle of one component, within se.left steps;
 * nothing to search when a proof shows there is none. */
static int shortest_in(struct find *x, struct lg_comp *info, uint32_t *best)
{
	uint32_t size = lc__scc_size(x->s, info->comp), id, n;
	int err = lc__comp_cannot_deadlock(&x->se, &x->g->lc, x->s, info->comp,
					   &info->proven);

	if (err || info->proven)
		return err;
	n = lc__comp_shortest(&x->se, &x->g->lc, x->s, info->comp,
			      x->o->max_len, best);
	if (x->se.oom)
		return ENOMEM;
	info->exhausted = x->se.broke;
	info->too_long = size > x->o->max_len;
	if (!n)
		return 0;
	return lg_cycles_add(x->out, x->g, best, n, info->comp, true, &id);
}

/* Pass 1: each component gets an equal share of what budget is left. */
static int shortest_pass(struct find *x, uint64_t *budget)
{
	struct lg_cycles *out = x->out;
	uint32_t *best = malloc((x->o->max_len + 1) * sizeof(*best));
	int err = best ? 0 : ENOMEM;

	for (uint32_t i = 0; i < out->ncomps && !err; i++) {
		uint64_t share = *budget / (out->ncomps - i);

		x->se.left = share;
		err = shortest_in(x, &out->comps[i], best);
		*budget -= share - x->se.left;
	}
	free(best);
	return err;
}

/* Lists one cycle the enumeration found; stops at max_cycles. */
static bool list_cycle(const uint32_t *path, uint32_t n, void *arg)
{
	struct find *x = arg;
	uint32_t id, before = x->out->n;

	x->err = lg_cycles_add(x->out, x->g, path, n, x->comp, false, &id);
	if (x->err)
		return true;
	return x->out->n > before && x->out->n >= x->o->max_cycles;
}

/* Pass 2: more cycles with what is left. */
static int enumerate_pass(struct find *x, uint64_t budget)
{
	struct lg_cycles *out = x->out;
	enum lc__search_end end = LC__SEARCH_DONE;

	x->se.left = budget;
	if (out->n >= x->o->max_cycles)
		end = LC__SEARCH_STOPPED;
	for (uint32_t i = 0; i < out->ncomps && end == LC__SEARCH_DONE; i++) {
		if (out->comps[i].proven)
			continue;
		x->comp = out->comps[i].comp;
		end = lc__comp_cycles(&x->se, &x->g->lc, x->s, x->comp,
				      x->o->max_len, list_cycle, x);
	}
	if (x->se.oom)
		x->err = ENOMEM;
	out->truncated = end != LC__SEARCH_DONE && !x->err;
	return x->err ? x->err : lg_cycles_sort(out);
}

int lg_cycles_find(const struct lg_graph *g, const struct lc__scc *s,
		   const struct lg_search_opts *o, struct lg_cycles *out)
{
	struct find x = { .g = g, .s = s, .o = o, .out = out };
	uint64_t budget = o->budget;
	int err = collect_comps(out, s);

	lc__search_init(&x.se);
	if (!err)
		err = shortest_pass(&x, &budget);
	if (!err)
		err = enumerate_pass(&x, budget);
	out->steps = x.se.steps;
	lc__search_free(&x.se);
	return err;
}

/* Keeps the first cycle found (the shortest) and stops. */
struct first {
	uint32_t *path;
	uint32_t n;
};

static bool keep_first(const uint32_t *path, uint32_t n, void *arg)
{
	struct first *f = arg;

	memcpy(f->path, path, n * sizeof(*path));
	f->n = n;
	return true;
}

uint32_t lg_cycle_through(const struct lg_graph *g, const struct lc__scc *sc,
			  uint32_t e, const struct lg_search_opts *o,
			  uint64_t *budget, uint32_t *path)
{
	struct lc__search se;
	struct first found = { path, 0 };

	lc__search_init(&se);
	se.left = *budget;
	se.comp = sc->comp;
	se.comp_id = sc->comp[g->edges[e].from];
	lc__cycle_through(&se, &g->lc, e, o->max_len, keep_first, &found);
	*budget = se.left;
	lc__search_free(&se);
	return found.n;
}

int lg_cycle_verdict(const struct lg_graph *g, const uint32_t *edges,
		     uint32_t n, bool *can_deadlock)
{
	return lc__cycle_verdict(&g->lc, edges, n, can_deadlock);
}
