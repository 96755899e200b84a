/*
 * rules.h: when a cycle of the wait graph (graph.h) can deadlock. The one
 * place the rules are written: the checker's search, lockgraph's searches
 * and proofs (search.h) and every verdict on a given cycle call these.
 *
 * A deadlock is k threads, each holding one lock of the cycle and waiting
 * for the next. So a cycle can deadlock only if
 *
 *  - it is elementary: no node twice (one lock, one holder);
 *  - modes (the strong-path rule): a thread waits for a lock only when the
 *    mode it wants conflicts with the holder's, and readers never wait for
 *    readers (glibc's default rwlock). So one mode pair per edge must be
 *    choosable such that at every lock the incoming edge's wanted mode and
 *    the outgoing edge's held mode are not both read;
 *  - gates: no gate key is in the gate sets of two of its edges. In a
 *    deadlock every thread holds its edge's gates, exclusively, all at once,
 *    so two edges under one gate cannot both be waiting (a gate common to
 *    all edges is the simplest case).
 *
 * A path's modes are tracked as a 4-bit state: bit (h0 * 2 + w) says the
 * path can start by HOLDING its first lock in mode h0 and end WANTING its
 * last one in mode w - the layout of an edge's mode set (LC__COMBO), so an
 * edge alone is its own state.
 */
#ifndef LOCKCHECK_RULES_H
#define LOCKCHECK_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "graph.h"

/* The mode rule: a thread that wants a lock in mode want waits for a
 * holder in mode held unless both are read. */
static inline bool lc__mode_waits(int want, int held)
{
	return want == LC__WRITE || held == LC__WRITE;
}

/* The state of a path in state `state` extended by an edge with mode set
 * modes; 0 when no choice of modes lets the path go on. */
uint8_t lc__modes_extend(uint8_t state, uint8_t modes);

/* The states a path can be in before an edge with mode set modes, when
 * it is in one of the states `after` once that edge is added (the
 * inverse of lc__modes_extend, for searches that go backwards). */
uint8_t lc__modes_back(uint8_t after, uint8_t modes);

/* True when a path in this state, closed into a cycle (its last lock is
 * its first), can deadlock by modes. */
bool lc__modes_close(uint8_t state);

/*
 * The gate rule, over `held`: the gate keys held by the threads of some
 * edges (a set: a u64map whose values mean nothing). True when edge f has
 * one of them: no cycle through f and those edges can deadlock.
 */
bool lc__gates_meet(const struct lc__u64map *held, const struct lc__edge *f);

/* Adds f's gates to held: 0, EEXIST when the gate rule rules f out (held
 * unchanged), or ENOMEM (held unchanged). */
int lc__gates_take(struct lc__u64map *held, const struct lc__edge *f);

/* Removes f's gates from held (after lc__gates_take(held, f) gave 0). */
void lc__gates_drop(struct lc__u64map *held, const struct lc__edge *f);

/*
 * The verdict on a given cycle path[0..n) of g (each edge's target the
 * next one's source, the last one's the first one's): *can_deadlock is
 * set when it is elementary and the modes and gates allow a deadlock.
 * 0, or ENOMEM (then *can_deadlock is not set).
 */
int lc__cycle_verdict(const struct lc__graph *g, const uint32_t *path,
		      uint32_t n, bool *can_deadlock);

#endif /* LOCKCHECK_RULES_H */
