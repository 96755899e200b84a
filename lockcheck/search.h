/*
 * search.h: the searches for cycles that can deadlock (rules.h), for the
 * checker and lockgraph alike.
 *
 * One engine (search.c): a depth-first search over elementary paths that
 * come back to a root, iterative (a long cycle cannot overflow the stack),
 * pruned by
 *  - the mode rule: a path carries its mode state, and a step that no mode
 *    choice allows is not taken;
 *  - the gate rule: an edge with a gate that an edge of the path holds is
 *    not taken;
 *  - distance: dist[v][s] is the fewest edges from v, reached in mode state
 *    s, back to the root that the mode rule allows (a breadth-first search
 *    backwards over mode states, linear); a path of d edges steps to v only
 *    if d + 1 + dist[v][s] fits the pass's length for some s of its state.
 * Each pass looks for cycles of one exact length, and passes go by
 * increasing length, so cycles come shortest first and each (edge sequence)
 * once per root. Passes end when a pass cut no path for its length: no
 * longer cycle is left. Every edge looked at is a step; the caller's step
 * budget bounds the time, and a search cut short says so.
 *
 * Uses:
 *  - through one edge (lc__cycle_through): the checker, for each new or
 *    weakened edge, every cycle it closes that is not reported yet;
 *    lockgraph, the shortest cycle through a changed edge (diff);
 *  - per strongly connected component (lockgraph): proofs that none of its
 *    cycles can deadlock, its shortest cycle, then its cycles by increasing
 *    length (comp.c, settle.c).
 * A search never changes the graph; its scratch lives in struct lc__search,
 * which one caller may reuse for any number of searches and graphs.
 */
#ifndef LOCKCHECK_SEARCH_H
#define LOCKCHECK_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"
#include "rules.h"
#include "scc.h"

/* Called with each cycle found: path[0..n), each edge's target the next
 * one's source, the last one's the first one's. Returns true to stop the
 * search. path is the search's: copy what must outlive the call. */
typedef bool lc__cycle_fn(const uint32_t *path, uint32_t n, void *arg);

enum lc__search_end {
	LC__SEARCH_DONE,    /* every cycle asked for was looked at */
	LC__SEARCH_STOPPED, /* the callback stopped it */
	LC__SEARCH_CUT,	    /* the step budget or memory ran out first */
};

struct lc__search_frame;

struct lc__search {
	/* Set by the caller. */
	uint64_t left;	      /* steps the next searches may take */
	const uint32_t *comp; /* with comp_id: the nodes cycles may use
			       * (comp[v] == comp_id); NULL: any node */
	uint32_t comp_id;
	/* Results. */
	uint64_t steps; /* steps taken, summed over searches */
	bool broke;	/* the last search ran out of steps */
	bool oom;	/* the last search ran out of memory */
	/* Private to the engine. */
	const struct lc__graph *g;
	uint32_t root;
	bool above_root; /* only nodes above root (each cycle once) */
	bool stop, deeper;
	bool halted;	/* the callback stopped the search */
	uint32_t limit; /* length of the current pass */
	uint32_t base;	/* frames the pass starts with */
	lc__cycle_fn *fn;
	void *arg;
	uint32_t epoch;	      /* of mark */
	uint32_t depoch;      /* of dseen */
	const uint32_t *area; /* comp, or mark */
	uint32_t area_id;
	uint32_t ncap;	     /* node slots of the arrays below */
	uint32_t *mark;	     /* reachable: mark[v] == epoch */
	uint32_t *dseen;     /* dist[v] is set: dseen[v] == depoch */
	uint32_t (*dist)[4]; /* per node and mode state */
	uint32_t *queued;    /* v's last distance queue entry (dseen) */
	uint8_t *onpath;
	uint32_t *queue;      /* 4 per node: nodes */
	uint8_t *qstates;     /* 4 per node: their new mode states */
	bool tables;	      /* ext and back are filled in */
	uint8_t ext[16][16];  /* lc__modes_extend(state, modes) */
	uint8_t back[16][16]; /* lc__modes_back(states, modes) */
	uint32_t dcap;	      /* depth slots of frames and path */
	struct lc__search_frame *frames;
	uint32_t *path;
	struct lc__u64map gates; /* gates held by the path's edges */
};

/* An empty search (a zeroed struct is one too); free leaves one. */
void lc__search_init(struct lc__search *s);
void lc__search_free(struct lc__search *s);

/*
 * Every cycle of g through edge e (e first in each path) of at most
 * max_len edges that can deadlock, within s->comp (or, when it is NULL,
 * what can be reached from e), shortest first, each handed to fn until it
 * returns true. Spends at most s->left steps (s->left is decreased).
 */
enum lc__search_end lc__cycle_through(struct lc__search *s,
				      const struct lc__graph *g, uint32_t e,
				      uint32_t max_len, lc__cycle_fn *fn,
				      void *arg);

/* ---- settle.c: proofs over one component ---- */

/*
 * Sets *cannot when a linear-time proof shows that no cycle of component
 * comp can deadlock, whatever its length: the graph of mode states has no
 * closed walk (read-read tangles), or one gate is on every edge of the
 * component, hence on two edges of every cycle. Both are sufficient, not
 * necessary: what they do not settle must be searched. s is scratch.
 * 0 or ENOMEM.
 */
int lc__comp_cannot_deadlock(struct lc__search *s, const struct lc__graph *g,
			     const struct lc__scc *scc, uint32_t comp,
			     bool *cannot);

/* ---- comp.c: searches over one component ---- */

/*
 * The shortest cycle of component comp that can deadlock, of at most
 * max_len edges, into best (room for max_len); returns its length or 0.
 * Each cycle is searched from its smallest node. s->broke says whether
 * the steps ran out first (then a shorter one may exist). 0 also when
 * memory ran out (s->oom).
 */
uint32_t lc__comp_shortest(struct lc__search *s, const struct lc__graph *g,
			   const struct lc__scc *scc, uint32_t comp,
			   uint32_t max_len, uint32_t *best);

/*
 * The cycles of component comp that can deadlock, of 2 to max_len edges,
 * each once (starting at its smallest node), handed to fn until it
 * returns true: all of length 2 first, then 3, ... (one root at a time
 * when the component is too big to keep distance rows; limits.h).
 */
enum lc__search_end lc__comp_cycles(struct lc__search *s,
				    const struct lc__graph *g,
				    const struct lc__scc *scc, uint32_t comp,
				    uint32_t max_len, lc__cycle_fn *fn,
				    void *arg);

/* ---- the engine's steps, for comp.c ---- */

/* Prepares s for a search of g: scratch sized, a fresh epoch. 0 or
 * ENOMEM. */
int lc__search_begin(struct lc__search *s, const struct lc__graph *g);

/* Makes root the search's root (s->above_root: only nodes above it). */
void lc__search_set_root(struct lc__search *s, uint32_t root);

/* Distances back to the root over s->area; false when the steps ran
 * out. */
bool lc__search_dist(struct lc__search *s);

/* Forgets every distance (the caller then sets some: dseen, dist). */
void lc__search_new_dist(struct lc__search *s);

/* The end of the search so far. */
enum lc__search_end lc__search_end_of(const struct lc__search *s);

/* The shortest length any cycle through the root can have by the
 * distances (LC__NONE: none). */
uint32_t lc__search_girth(const struct lc__search *s);

/* One pass from the root: cycles of exactly len edges to fn. Sets
 * s->deeper when a path was cut for its length only. */
void lc__search_pass(struct lc__search *s, uint32_t len);

/* Takes one step of the budget; false (and s->broke) when none is left. */
bool lc__search_step(struct lc__search *s);

#endif /* LOCKCHECK_SEARCH_H */
