/*
 * limits.h: every bound of the deadlock rules and of their searches, for
 * the checker and lockgraph alike. Nothing else in either defines one.
 *
 * A bound may only ever cost a report's precision in the safe direction or
 * be said out loud: fewer gates make more cycles possible (more reports,
 * never fewer), and a search that runs out of steps says so (the checker's
 * `limit: search` line, lockgraph's "unsettled" components).
 */
#ifndef LOCKCHECK_LIMITS_H
#define LOCKCHECK_LIMITS_H

/*
 * Gate locks kept per edge: the bits of one alive mask (graph.h), so the
 * checker's fast path tests them with one load. The checker keeps the
 * first LC__GATE_MAX locks held exclusively at an edge's first occurrence
 * (outermost first) and dumps at most that many; lockgraph refuses a dump
 * line with more (docs/dump-format.md).
 */
#define LC__GATE_MAX 64

/* The checker: a thread that holds more locks than this orders a new one
 * after the LC__HELD_EDGES it took last only (one `limit: nesting` line):
 * holding N locks then costs N * LC__HELD_EDGES edges, not N * N / 2. The
 * older locks' order still follows through the newer ones' edges. */
#define LC__HELD_EDGES 128

/* The checker: steps (edges looked at) one cycle search may take beyond
 * its linear part (reachability and distances, which always complete). */
#define LC_SEARCH_STEPS (1u << 20)

/* The checker: the linear part's allowance per live edge of the graph
 * (one look while finding what is reachable, four while measuring
 * distances in the four mode states). */
#define LC_SEARCH_STEPS_PER_EDGE 5u

/* The checker: new cycles one new or weakened edge may report. Every one
 * in a graph of up to 8 locks (2^6 sets of locks hold a given edge). */
#define LC_CYCLES_PER_EDGE 64

/* lockgraph: the longest cycle (in locks) a search may be asked for
 * (--max-length), and its defaults. */
#define LC_MAX_LEN_LIMIT 64
#define LC_LG_MAX_LEN	 16	  /* --max-length */
#define LC_LG_MAX_CYCLES 100	  /* --max-cycles */
#define LC_LG_BUDGET	 20000000 /* --budget: search steps in all */

/* lockgraph: a component of up to this many locks keeps one row of
 * distances per root (4 bytes per pair of its locks: 16 MiB at most), so
 * it can be searched all lengths at a time; a bigger one is searched one
 * root at a time. */
#define LC_DIST_ROWS_MAX 2048

#endif /* LOCKCHECK_LIMITS_H */
