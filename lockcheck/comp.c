/*
 * comp.c: the searches over one strongly connected component (search.h).
 *
 * A search rooted at node r walks only nodes of the component above r, so
 * every elementary cycle is met from its smallest node alone. The
 * shortest cycle: for each root, passes of growing length below the best
 * so far. All cycles: when the component is small enough, one row of
 * distances per root is kept (capped at NO_DIST: farther than any length
 * asked for), so every root can take its pass of length 2, then of 3, ...:
 * short cycles anywhere come before long ones; a bigger component is
 * searched one root at a time, by growing length.
 */
#include "search.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define NO_DIST 255

/* ---- the shortest cycle ---- */

struct first {
	uint32_t *best;
	uint32_t len;
};

static bool keep_first(const uint32_t *path, uint32_t n, void *arg)
{
	struct first *f = arg;

	assert(n >= 2); /* an elementary cycle has two edges or more */
	memcpy(f->best, path, n * sizeof(*path));
	f->len = n;
	return true;
}

/* Clears the callback's stop for the next pass; the budget's stays. */
static void reopen(struct lc__search *s)
{
	s->halted = false;
	s->stop = s->broke || s->oom;
}

/* Passes from the root for a cycle shorter than *best_len. */
static void shortest_at(struct lc__search *s, struct first *found,
			uint32_t *best_len)
{
	if (!lc__search_dist(s))
		return;
	for (uint32_t len = lc__search_girth(s); len < *best_len && !s->stop;
	     len++) {
		s->deeper = false;
		lc__search_pass(s, len);
		if (found->len == len) {
			*best_len = len;
			return;
		}
		if (!s->deeper)
			return;
	}
}

uint32_t lc__comp_shortest(struct lc__search *s, const struct lc__graph *g,
			   const struct lc__scc *scc, uint32_t comp,
			   uint32_t max_len, uint32_t *best)
{
	struct first found = { best, 0 };
	uint32_t best_len = max_len + 1;

	assert(comp < scc->ncomp);
	if (lc__search_begin(s, g))
		return 0;
	s->area = scc->comp;
	s->area_id = comp;
	s->above_root = true;
	s->fn = keep_first;
	s->arg = &found;
	for (uint32_t i = scc->start[comp];
	     i < scc->start[comp + 1] && !s->stop && best_len > 2; i++) {
		lc__search_set_root(s, scc->members[i]);
		shortest_at(s, &found, &best_len);
		reopen(s);
	}
	assert(best_len > max_len || found.len == best_len);
	return best_len <= max_len ? best_len : 0;
}

/* ---- all cycles ---- */

struct rows {
	uint8_t *d;	/* n * n * 4: root i, member j, mode state k */
	uint8_t *girth; /* shortest length by the distances, per root */
	uint8_t *open;	/* per root: longer cycles may be left */
	uint32_t b, n;	/* members[b .. b + n) */
};

static uint8_t cap(uint32_t v)
{
	return v < NO_DIST ? (uint8_t)v : NO_DIST;
}

/* One distance search per root, kept; false when the steps ran out. */
static bool fill_rows(struct lc__search *s, const struct lc__scc *scc,
		      struct rows *r)
{
	for (uint32_t i = 0; i < r->n; i++) {
		uint8_t *row = r->d + (size_t)i * r->n * 4;

		lc__search_set_root(s, scc->members[r->b + i]);
		if (!lc__search_dist(s))
			return false;
		memset(row, NO_DIST, (size_t)r->n * 4);
		for (uint32_t j = i + 1; j < r->n; j++) { /* above the root */
			uint32_t v = scc->members[r->b + j];

			for (uint32_t k = 0; s->dseen[v] == s->depoch && k < 4;
			     k++)
				row[j * 4 + k] = cap(s->dist[v][k]);
		}
		r->girth[i] = cap(lc__search_girth(s));
		r->open[i] = 1;
	}
	return true;
}

static void load_row(struct lc__search *s, const struct lc__scc *scc,
		     const struct rows *r, uint32_t i)
{
	const uint8_t *row = r->d + (size_t)i * r->n * 4;

	lc__search_set_root(s, scc->members[r->b + i]);
	lc__search_new_dist(s);
	for (uint32_t j = 0; j < r->n && lc__search_step(s); j++) {
		uint32_t v = scc->members[r->b + j];

		s->dseen[v] = s->depoch;
		for (uint32_t k = 0; k < 4; k++)
			s->dist[v][k] = row[j * 4 + k] == NO_DIST
						? UINT32_MAX
						: row[j * 4 + k];
	}
}

/* All cycles of length 2 first, then 3, ...: every root at each length,
 * so short cycles anywhere in the component come before long ones. */
static void by_length(struct lc__search *s, const struct lc__scc *scc,
		      struct rows *r, uint32_t max_len)
{
	for (uint32_t len = 2; len <= max_len && !s->stop; len++)
		for (uint32_t i = 0; i < r->n && !s->stop; i++) {
			if (r->girth[i] > len || !r->open[i])
				continue;
			load_row(s, scc, r, i);
			s->deeper = false;
			if (!s->stop)
				lc__search_pass(s, len);
			if (!s->deeper)
				r->open[i] = 0;
		}
}

/* A component too big for rows: per root, by growing length. */
static void by_root(struct lc__search *s, const struct lc__scc *scc,
		    uint32_t comp, uint32_t max_len)
{
	for (uint32_t i = scc->start[comp];
	     i < scc->start[comp + 1] && !s->stop; i++) {
		lc__search_set_root(s, scc->members[i]);
		if (!lc__search_dist(s))
			return;
		for (uint32_t len = lc__search_girth(s);
		     len <= max_len && !s->stop; len++) {
			s->deeper = false;
			lc__search_pass(s, len);
			if (!s->deeper)
				break;
		}
	}
}

enum lc__search_end lc__comp_cycles(struct lc__search *s,
				    const struct lc__graph *g,
				    const struct lc__scc *scc, uint32_t comp,
				    uint32_t max_len, lc__cycle_fn *fn,
				    void *arg)
{
	struct rows r = { NULL, NULL, NULL, scc->start[comp],
			  lc__scc_size(scc, comp) };

	assert(comp < scc->ncomp);
	if (lc__search_begin(s, g))
		return LC__SEARCH_CUT;
	s->area = scc->comp;
	s->area_id = comp;
	s->above_root = true;
	s->fn = fn;
	s->arg = arg;
	if (r.n <= LC_DIST_ROWS_MAX) {
		r.d = malloc((size_t)r.n * r.n * 4);
		r.girth = malloc(r.n);
		r.open = malloc(r.n);
	}
	if (r.d && r.girth && r.open) {
		if (fill_rows(s, scc, &r))
			by_length(s, scc, &r, max_len);
	} else {
		by_root(s, scc, comp, max_len);
	}
	free(r.d);
	free(r.girth);
	free(r.open);
	return lc__search_end_of(s);
}
