/*
 * cycle_model.h: the deadlock rules by brute force, for tests. Every
 * elementary cycle of a small graph by permutation (from its smallest
 * node, so each once), every choice of one mode pair per edge, every pair
 * of edges for a common gate: slow, obviously right, and written without
 * the rule module (lockcheck/rules.h), which must agree with it.
 *
 * The graph is a matrix of mode sets (bit held * 2 + wanted, read 0 and
 * write 1: an edge's LC__COMBO bits) and a predicate saying whether two
 * edges have a gate in common; what a gate is (an instance, a class across
 * dumps) is the caller's model.
 */
#ifndef LC_CYCLE_MODEL_H
#define LC_CYCLE_MODEL_H

#include <stdbool.h>

#define CM_NODES  12   /* nodes at most */
#define CM_CYCLES 4096 /* cycles at most */

struct cm_graph {
	int n;
	int modes[CM_NODES][CM_NODES]; /* 0: no edge */
	/* True when edges a -> b and c -> d have a gate in common. */
	bool (*share)(const struct cm_graph *g, int a, int b, int c, int d);
	const void *ctx; /* for share */
};

struct cm_cycles {
	int n;
	int len[CM_CYCLES];
	int node[CM_CYCLES][CM_NODES]; /* smallest node first */
};

/* True when one mode pair per edge of cycle cyc[0..len) can be chosen so
 * that at every node the incoming edge's wanted mode and the outgoing
 * edge's held mode are not both read. */
bool cm_modes_allow(const struct cm_graph *g, const int *cyc, int len);

/* True when two edges of the cycle have a gate in common. */
bool cm_gated(const struct cm_graph *g, const int *cyc, int len);

/* Every elementary cycle of g that can deadlock into out, by length, each
 * starting at its smallest node. Fails the test past CM_CYCLES. */
void cm_find_cycles(const struct cm_graph *g, struct cm_cycles *out);

/* Cycle i's nodes as a bit set. */
unsigned cm_node_set(const struct cm_cycles *c, int i);

#endif /* LC_CYCLE_MODEL_H */
