/*
 * verdict.h: when a cycle of the merged graph can deadlock. The same rules
 * as the in-process checker (lockcheck/graph.h), over merged edges:
 *
 *  - modes: a thread waits only for a lock held in a conflicting mode, and
 *    readers never wait for readers (glibc's default rwlock). A cycle can
 *    deadlock only if one mode pair per edge can be chosen so that at every
 *    lock on it the incoming edge's wanted mode and the outgoing edge's held
 *    mode are not both read. The choice is tracked along a path as a 4-bit
 *    state: bit (h0 * 2 + w) says the path can start by HOLDING its first
 *    lock in mode h0 and end WANTING its last lock in mode w (read 0,
 *    write 1) - the same layout as an edge's LG_RR.. bits, so an edge alone
 *    is its own state.
 *  - gates: in a deadlock every thread holds the gates of its edge (the
 *    locks held at every occurrence of it) at once, so a cycle in which
 *    one gate key is on two edges cannot deadlock; a key common to all
 *    edges is the simplest case (graph.h says which keys are comparable
 *    across dumps: a lock instance within one dump, a singleton class
 *    across dumps).
 *  - elementary: no class twice; the search (cycles.c) only builds such
 *    cycles and process reports that repeat a class stay findings.
 *
 * The verdict depends on the set of edges only, never on the order in
 * which dumps or edges were read.
 */
#ifndef LOCKGRAPH_VERDICT_H
#define LOCKGRAPH_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "graph.h"

/* The state of a path extended by an edge with mode bits modes; 0 when no
 * choice of modes lets the path go on. */
uint8_t lg_modes_extend(uint8_t state, uint8_t modes);

/* True when a path in this state, closed into a cycle, can deadlock by
 * modes: its last wanted mode and first held mode are not both read. */
static inline bool lg_modes_close(uint8_t state)
{
	return (state & ~LG_RR) != 0;
}

/* Writes the keys common to sorted a[0..na) and b[0..nb) into out (which
 * may be a); returns how many. */
uint32_t lg_gates_meet(const uint64_t *a, uint32_t na, const uint64_t *b,
		       uint32_t nb, uint64_t *out);

/* A dense number for gate key key, below lg_gate_slots(g): a class key is
 * its class id, local key n comes after the classes. For marks. */
static inline uint32_t lg_gate_slot(const struct lg_graph *g, uint64_t key)
{
	return key < LG_LOCAL_GATE
		       ? (uint32_t)key
		       : g->nclasses + (uint32_t)(key - LG_LOCAL_GATE);
}

static inline size_t lg_gate_slots(const struct lg_graph *g)
{
	return (size_t)g->nclasses + g->nlocal;
}

/* True when the elementary cycle edges[0..n) (each edge's target the next
 * one's source, the last one's target the first one's source) can
 * deadlock: modes allow it and no gate key is on two of its edges. */
bool lg_cycle_can_deadlock(const struct lg_graph *g, const uint32_t *edges,
			   uint32_t n);

#endif /* LOCKGRAPH_VERDICT_H */
