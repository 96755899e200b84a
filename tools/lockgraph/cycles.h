/*
 * cycles.h: the list of cycles of a finished graph that can deadlock.
 *
 * The rules and the searches are the rule module's (lockcheck/rules.h,
 * lockcheck/search.h), run on the graph's lc copy; this file only decides
 * what to ask for and keeps the answers. Per strongly connected component:
 *  0. nothing, when a linear-time proof shows that no cycle of the
 *     component can deadlock (read-read tangles, one gate everywhere);
 *  1. the SHORTEST cycle that can deadlock, for every component before
 *     anything else, so a big tangle cannot starve a small one; each gets
 *     an equal share of the step budget left;
 *  2. then more elementary cycles up to max_len classes, all of length 2,
 *     then 3, ..., until max_cycles cycles are listed or the step budget is
 *     spent; the list is then ordered by length.
 * An elementary cycle is listed once, not once per rotation: the search
 * meets it from its smallest class only, and it is stored starting there.
 *
 * Every step of the search (an edge looked at) counts against the budget,
 * so any graph is searched in bounded time; what was cut short is recorded
 * and reported, never silently dropped.
 */
#ifndef LOCKGRAPH_CYCLES_H
#define LOCKGRAPH_CYCLES_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "index.h"
#include "lockcheck/scc.h"

#define LG_MAX_LEN_LIMIT LC_MAX_LEN_LIMIT /* the largest --max-length */

enum lg_scope {
	LG_SCOPE_THREAD,    /* one dump has every edge, all from one thread */
	LG_SCOPE_THREADS,   /* one dump has every edge */
	LG_SCOPE_PROCESSES, /* no dump has them all: only the merge sees it */
};

struct lg_cycle {
	uint32_t off, len; /* its edges: lg_cycles.edges[off .. off + len) */
	uint32_t comp;	   /* its component */
	bool shortest;	   /* the shortest one found in its component */
	bool from_report;  /* added because a process reported it */
	uint8_t scope;	   /* enum lg_scope (classify.c) */
	uint32_t dump;	   /* for THREAD(S): a dump that has every edge */
	uint32_t nreports; /* process findings that are this cycle */
};

/* A component that has cycles (more than one class). */
struct lg_comp {
	uint32_t comp;
	uint32_t ncycles; /* cycles listed in it */
	bool proven;	  /* a proof showed no cycle can deadlock */
	bool exhausted;	  /* the budget ran out before its shortest
			   * deadlock cycle was settled */
	bool too_long;	  /* it has more classes than max_len: longer
			   * cycles were not searched */
};

struct lg_search_opts {
	uint32_t max_cycles; /* cycles listed in all; each component's
			      * shortest is listed even beyond it */
	uint32_t max_len;    /* classes per cycle, 2..LG_MAX_LEN_LIMIT */
	uint64_t budget;     /* search steps in all */
};

struct lg_cycles {
	struct lg_cycle *v;
	uint32_t n, cap;
	uint32_t *edges;
	uint32_t nedges, edges_cap;
	struct lg_comp *comps;
	uint32_t ncomps;
	struct lg_index ix; /* edge sequence -> cycle */
	bool truncated;	    /* listing stopped by max_cycles or budget */
	uint64_t steps;	    /* search steps used */
};

void lg_cycles_init(struct lg_cycles *c);
void lg_cycles_free(struct lg_cycles *c);

/* Runs the search over g's components s. 0 or ENOMEM. */
int lg_cycles_find(const struct lg_graph *g, const struct lc__scc *s,
		   const struct lg_search_opts *o, struct lg_cycles *out);

/*
 * Adds the cycle edges[0..n) (in cycle order, any rotation) unless it is
 * listed; *id gets its number either way. 0 or ENOMEM.
 */
int lg_cycles_add(struct lg_cycles *c, const struct lg_graph *g,
		  const uint32_t *edges, uint32_t n, uint32_t comp,
		  bool shortest, uint32_t *id);

/* The cycle with these edges (any rotation), or LG_NONE. */
uint32_t lg_cycles_lookup(const struct lg_cycles *c, const struct lg_graph *g,
			  const uint32_t *edges, uint32_t n);

/*
 * The shortest cycle through edge e that can deadlock, at most o->max_len
 * edges, spending at most *budget steps (decreased by what it used). Writes
 * its edges, e first, into path (room for o->max_len) and returns their
 * number; 0 when there is none, or no memory to search.
 */
uint32_t lg_cycle_through(const struct lg_graph *g, const struct lc__scc *s,
			  uint32_t e, const struct lg_search_opts *o,
			  uint64_t *budget, uint32_t *path);

/* Orders the list: each component's shortest cycle first, then the others
 * by length. Cycle numbers change. 0 or ENOMEM. */
int lg_cycles_sort(struct lg_cycles *c);

/* The entry of component comp (one with cycles), or NULL. */
const struct lg_comp *lg_cycles_comp(const struct lg_cycles *c, uint32_t comp);

/* Sets each component's ncycles from the list. */
void lg_cycles_count(struct lg_cycles *c);

static inline const uint32_t *lg_cycle_edges(const struct lg_cycles *c,
					     uint32_t id)
{
	return c->edges + c->v[id].off;
}

/*
 * The rules' verdict on cycle edges[0..n) (in cycle order, any rotation):
 * *can_deadlock is set when it is elementary and can deadlock. 0 or
 * ENOMEM.
 */
int lg_cycle_verdict(const struct lg_graph *g, const uint32_t *edges,
		     uint32_t n, bool *can_deadlock);

/* ---- classify.c ---- */

/* Sets scope and dump of every cycle. 0 or ENOMEM. */
int lg_cycles_classify(struct lg_cycles *c, const struct lg_graph *g);

/* ---- link_findings.c ---- */

/*
 * Links each lock-order-cycle finding of the dumps to its cycle in c (so a
 * cycle a process reported and the same cycle seen in the merge are one),
 * adding the cycle when the search did not list it. 0 or ENOMEM.
 */
int lg_cycles_link_findings(struct lg_cycles *c, struct lg_graph *g,
			    const struct lc__scc *s);

#endif /* LOCKGRAPH_CYCLES_H */
