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
 *  - gates: a lock held at every occurrence of every edge of the cycle
 *    serialises them, so a cycle whose edges' gate keys meet cannot
 *    deadlock (graph.h says which keys are comparable across dumps).
 *
 * The verdict depends on the set of edges only, never on the order in
 * which dumps or edges were read.
 */
#ifndef LOCKGRAPH_VERDICT_H
#define LOCKGRAPH_VERDICT_H

#include <stdbool.h>
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

/* True when the cycle edges[0..n) (each edge's target the next one's
 * source, the last one's target the first one's source) can deadlock. */
bool lg_cycle_can_deadlock(const struct lg_graph *g, const uint32_t *edges,
			   uint32_t n);

#endif /* LOCKGRAPH_VERDICT_H */
