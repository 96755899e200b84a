/*
 * scc.h: strongly connected components of a wait graph (Tarjan's algorithm,
 * iterative: a long chain of nodes cannot overflow the stack).
 *
 * Every cycle lies inside one component, so lockgraph searches one
 * component at a time and never looks at the acyclic rest. Components are
 * numbered by their smallest node, so the numbering does not depend on the
 * order edges were added. Free nodes (graph.h) are components of one.
 */
#ifndef LOCKCHECK_SCC_H
#define LOCKCHECK_SCC_H

#include <stdint.h>

#include "graph.h"

struct lc__scc {
	uint32_t *comp; /* node -> component */
	uint32_t ncomp;
	uint32_t *members; /* nodes grouped by component, ascending */
	uint32_t *start;   /* component c: members[start[c] .. start[c + 1]) */
};

/* 0 or ENOMEM (then s is empty but safe to free). */
int lc__scc_find(const struct lc__graph *g, struct lc__scc *s);
void lc__scc_free(struct lc__scc *s);

static inline uint32_t lc__scc_size(const struct lc__scc *s, uint32_t c)
{
	return s->start[c + 1] - s->start[c];
}

#endif /* LOCKCHECK_SCC_H */
