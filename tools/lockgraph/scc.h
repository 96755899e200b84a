/*
 * scc.h: strongly connected components of a finished graph (Tarjan's
 * algorithm, iterative: a long chain of classes cannot overflow the stack).
 *
 * Every cycle lies inside one component, so the cycle search works one
 * component at a time and never looks at the acyclic rest. Components are
 * numbered by their smallest class id, so the numbering does not depend on
 * the search order.
 */
#ifndef LOCKGRAPH_SCC_H
#define LOCKGRAPH_SCC_H

#include <stdint.h>

#include "graph.h"

struct lg_scc {
	uint32_t *comp;	   /* class id -> component */
	uint32_t ncomp;
	uint32_t *members; /* class ids grouped by component, ascending */
	uint32_t *start;   /* component c: members[start[c] .. start[c + 1]) */
};

/* 0 or ENOMEM (then s is empty but safe to free). */
int lg_scc_find(const struct lg_graph *g, struct lg_scc *s);
void lg_scc_free(struct lg_scc *s);

static inline uint32_t lg_scc_size(const struct lg_scc *s, uint32_t c)
{
	return s->start[c + 1] - s->start[c];
}

#endif /* LOCKGRAPH_SCC_H */
