/*
 * graph.h: the wait graph the deadlock rules judge, shared by the checker
 * and lockgraph (the rule module: graph.h, rules.h, search.h, limits.h).
 *
 * A node is anything a thread can wait for: a lock class (the checker's
 * class graph, lockgraph's merged graph), a lock instance of one class (a
 * class's instance graph); its kind, label and address are the caller's
 * notes for reports, which the rules never read, so other kinds of waits
 * are just more nodes. An edge X->Y says a Y was wanted while an X was
 * held. Each edge keeps what the verdict on a cycle rests on (the rules
 * themselves are in rules.h):
 *
 *  - modes: which (held mode, wanted mode) pairs were seen;
 *  - gates: 64-bit keys of the locks held exclusively at EVERY occurrence
 *    (the intersection over occurrences): the checker's instance ids, or
 *    lockgraph's class and dump-local keys.
 *
 * The module is pure data: no threads, no I/O, no printing. The caller
 * serialises all calls. Edges never move in memory and an edge's gate
 * candidates never change after it is made; gate_alive only loses bits, and
 * is the one field others may read (atomically) while the graph is updated.
 */
#ifndef LOCKCHECK_GRAPH_H
#define LOCKCHECK_GRAPH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "u64map.h"

#define LC__NONE UINT32_MAX

enum lc__mode { LC__READ = 0, LC__WRITE = 1 };

/* Bit for one (held mode, wanted mode) pair in an edge's mode set. */
#define LC__COMBO(held, want) ((uint8_t)(1u << ((held)*2 + (want))))

/* A source location, as the lock macros pass it. */
struct lc__site {
	const char *file;
	int line;
	const char *func;
};

/* What a report shows about an edge: its first occurrence. */
struct lc__edge_info {
	struct lc__site held_at; /* where the held lock was taken */
	struct lc__site next_at; /* where the next one was wanted */
	int tid;		 /* thread that did it */
	const char *thread;	 /* its name (interned, never freed) */
	uint32_t stack;		 /* captured stack id, 0 for none */
};

struct lc__edge {
	uint32_t from, to;	     /* node indices */
	uint32_t next_out, next_in;  /* node lists; LC__NONE ends them */
	uint64_t *gate;		     /* gate candidates, fixed at creation */
	uint32_t *gate_cls;	     /* their classes, for dumps */
	_Atomic uint64_t gate_alive; /* bit i: gate[i] held every time */
	uint8_t modes;		     /* LC__COMBO bits seen */
	uint64_t count;		     /* occurrences seen by the slow path */
	uint64_t hits;		     /* scratch for the dump: cached ones */
	struct lc__edge_info info;
};

/* What a node stands for: notes for reports; the rules ignore it. */
enum lc__node_kind {
	LC__NODE_LOCK, /* a lock class or a lock instance */
	LC__NODE_WAIT, /* a wait node: a condvar, a channel's room or
			* contents, a pool; it is never held, its edges
			* say who waits on it and who its event needs */
};

struct lc__node {
	uint64_t key;	  /* class id or instance id; ~0 when free */
	const void *addr; /* the lock's address (instance graphs) */
	uint32_t label;	  /* the caller's name for it (lock ordinals) */
	uint32_t out, in; /* first edge of each list */
	uint8_t kind;	  /* enum lc__node_kind */
};

/* A lock held at an occurrence: a gate candidate (its key, and the class
 * the checker's dump names it by). */
struct lc__held_inst {
	uint64_t id;
	uint32_t cls;
};

struct lc__graph {
	struct lc__edge *
		*chunks; /* edges never move: fast paths keep pointers */
	uint32_t nchunks;
	uint32_t nedges;    /* high-water mark of edge indices */
	uint32_t free_edge; /* free list through next_out */
	uint32_t live_edges;
	struct lc__node *nodes;
	uint32_t nnodes, node_cap;
	uint32_t free_node;	   /* free list through out */
	struct lc__u64map node_of; /* key -> node index */
	struct lc__u64map edge_of; /* from << 32 | to -> edge index */
	uint64_t *last_gate;	   /* the gate list made last, shared */
	uint32_t last_ngate;	   /* its length */
};

void lc__graph_init(struct lc__graph *g);
void lc__graph_free(struct lc__graph *g);

/* Node index of key, created (with addr) when absent and create is set.
 * LC__NONE when absent, or when creating it failed for lack of memory. */
uint32_t lc__graph_node(struct lc__graph *g, uint64_t key, const void *addr,
			bool create);

/* Removes a node and every edge touching it; false when key is absent.
 * The removed edges' memory is reused: only instance graphs remove. */
bool lc__graph_remove_node(struct lc__graph *g, uint64_t key);

static inline struct lc__edge *lc__graph_edge(const struct lc__graph *g,
					      uint32_t e)
{
	return &g->chunks[e >> 10][e & 1023];
}

/* Whether node n is in use (removed nodes wait on a free list). */
static inline bool lc__graph_node_live(const struct lc__graph *g, uint32_t n)
{
	return g->nodes[n].key != UINT64_MAX;
}

/* Grows an array to hold need items of size (doubling). 0 or ENOMEM. */
int lc__grow_array(void **p, uint32_t *cap, uint32_t need, size_t size);

/* Reverses every node's edge lists. New edges go to the front of their
 * lists, so a graph built in edge order and reversed lists each node's
 * edges in that order (lockgraph: out-edges by target). */
void lc__graph_reverse_lists(struct lc__graph *g);

/* The edge from -> to, or LC__NONE. */
uint32_t lc__graph_find_edge(const struct lc__graph *g, uint32_t from,
			     uint32_t to);

/*
 * Records one occurrence of from -> to in mode pair combo while the
 * instances held[0..nheld) were held exclusively (outermost first). A new
 * edge copies info. Sets *weakened when the edge is new, gained a mode pair
 * or lost a gate: then a cycle through it may have become possible and the
 * caller must search. Returns the edge index, or LC__NONE when out of memory.
 */
uint32_t lc__graph_observe(struct lc__graph *g, uint32_t from, uint32_t to,
			   uint8_t combo, const struct lc__held_inst *held,
			   uint32_t nheld, const struct lc__edge_info *info,
			   bool *weakened);

#endif /* LOCKCHECK_GRAPH_H */
