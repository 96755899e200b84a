/*
 * graph.h: the merged lock graph of any number of dumps.
 *
 * The model. A node is a lock CLASS, identified across dumps by (name, init
 * file, init line); class ids inside a dump are local and are mapped to
 * merged ids as the dump is read. An edge from -> to says some process
 * wanted a `to` while holding a `from`. Per edge the merge keeps what the
 * verdict on a cycle rests on (the rules: lockcheck/rules.h):
 *
 *  - modes: the union of the (held, wanted) mode pairs of every dump;
 *  - gates: the locks held at EVERY occurrence in EVERY dump. Inside one dump
 *    a gate is a lock instance; across dumps only a class can be compared,
 *    and only a class with exactly one instance in every dump that has it
 *    (a singleton is the same lock in any process running that code). So
 *    while reading, an edge keeps gate CANDIDATES (class, first dump,
 *    instance, seen-in-several-dumps); lg_graph_finish turns them into gate
 *    keys once every dump is read and singletons are known: a singleton's
 *    key is its class; an instance seen in one dump only keeps a key local
 *    to that dump; any other candidate is dropped.
 *
 * Each edge also keeps its first occurrence (dump, thread, both sites) for
 * reports, and the list of (dump, thread) of all its occurrences, newest
 * dump first, to tell a cycle seen in one thread from one seen across
 * threads or processes. A lock instance is named by (dump, class,
 * instance number): the format says an instance number means something
 * only within its dump.
 *
 * Lifecycle: lg_graph_init; any number of lg_graph_begin_dump + class /
 * edge / finding calls (parse.c); lg_graph_finish once, which sorts classes
 * by (name, file, line) and edges by (from, to), renumbers everything,
 * builds adjacency arrays and the rule module's graph (lc: node i is class
 * i, edge i is edge i, with its modes and gate keys), on which every
 * verdict and search runs. This layer only computes gate keys and modes;
 * it never judges a cycle. Only finished graphs are searched and printed.
 */
#ifndef LOCKGRAPH_GRAPH_H
#define LOCKGRAPH_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "index.h"
#include "lockcheck/graph.h"
#include "strtab.h"
#include "util.h"

/* Mode pair bits, as the dump's two letters: held then wanted. */
enum { LG_RR = 1, LG_RW = 2, LG_WR = 4, LG_WW = 8 };

/* Class kinds seen (bits: a class could be two kinds in broken dumps). */
/* LG_WAIT: a wait node (a condvar, a channel's room or contents, a pool):
 * never held, waited on; dump format 2. */
enum { LG_MUTEX = 1, LG_RECURSIVE = 2, LG_RWLOCK = 4, LG_WAIT = 8 };

struct lg_site {
	uint32_t file, func; /* string ids */
	int32_t line;
};

struct lg_class {
	uint32_t name, file; /* string ids */
	int32_t line;
	uint8_t kinds;	    /* LG_MUTEX... bits */
	bool singleton;	    /* 1 instance in every dump that has it */
	uint32_t ndumps;    /* dumps that have it */
	uint64_t instances; /* most instances in one dump */
	uint64_t acquired, contended, wait_ns; /* summed, saturating */
	uint32_t last_dump; /* while reading: the last dump that had it */
};

/* A gate candidate while reading (see the model above). */
struct lg_gate_cand {
	uint32_t cls;  /* merged class id */
	uint32_t dump; /* the first dump that had it */
	uint64_t inst; /* its instance number there */
	bool multi;    /* also seen in later dumps */
};

/* Gate keys after finish: a class id, or LG_LOCAL_GATE + n for an instance
 * that only one dump knows. */
#define LG_LOCAL_GATE (UINT64_C(1) << 32)

struct lg_occ {
	uint32_t dump;
	int32_t tid;
	uint32_t next; /* the same edge's occurrence in an earlier dump, or
			* LG_NONE */
};

struct lg_edge {
	uint32_t from, to; /* merged class ids */
	uint8_t modes;	   /* LG_RR... bits */
	uint8_t ngates;
	union {
		struct lg_gate_cand *cand; /* while reading */
		uint64_t *keys;		   /* after finish, sorted */
	} gates;			   /* NULL when ngates is 0 */
	uint64_t count;			   /* occurrences, summed */
	uint32_t ndumps;
	uint32_t occ;	    /* newest occurrence in lg_graph.occ */
	uint32_t last_dump; /* the dump of that occurrence */
	/* The first occurrence, for reports. */
	uint32_t dump;
	int32_t tid;
	uint32_t thread; /* string id */
	struct lg_site held, next;
};

struct lg_dump {
	uint32_t path; /* string id of the file read */
	uint64_t pid;
	uint32_t program;		      /* string id */
	uint32_t nclasses, nedges, nfindings; /* lines read */
};

/* A finding, grouped: identical kind, summary and classes in several dumps
 * are one finding seen in ndumps dumps. */
struct lg_finding {
	uint32_t kind, summary; /* string ids */
	uint32_t cls_off, ncls; /* classes in lg_graph.ids */
	uint32_t dump;		/* first dump that reported it */
	uint32_t ndumps;
	uint32_t cycle; /* after cycle search: the cycle it is, or
			 * LG_NONE */
};

/* A checked range (dump version 2), merged by what it is and its site:
 * the accesses of every dump added, its lock set the intersection of
 * theirs (Eraser's candidate set: locks held at every access). */
struct lg_range {
	uint32_t what, file; /* string ids: "guarded by L" or "func()" */
	int32_t line;
	uint64_t accesses, writes, threads, bytes;
	uint32_t cls_off, ncls; /* candidate locks in lg_graph.ids */
	uint32_t records;	/* ranges of the dumps it sums */
};

struct lg_graph {
	struct lg_strtab strs;
	struct lg_class *classes;
	uint32_t nclasses, classes_cap;
	struct lg_edge *edges;
	uint32_t nedges, edges_cap;
	struct lg_occ *occ;
	uint32_t nocc, occ_cap;
	struct lg_dump *dumps;
	uint32_t ndumps, dumps_cap;
	struct lg_finding *findings;
	uint32_t nfindings, findings_cap;
	uint32_t *ids; /* class lists of findings and ranges */
	uint32_t nids, ids_cap;
	uint32_t *local; /* while reading: current dump's id -> merged id */
	uint32_t local_cap;
	struct lg_range *ranges;
	uint32_t nranges, ranges_cap;
	struct lg_index class_ix, edge_ix, finding_ix, range_ix;
	bool finished;
	/* After finish: edges sorted by (from, to); out[v] .. out[v + 1] are
	 * the out-edges of v. */
	uint32_t *out;
	uint32_t *local_cls; /* local gate key n -> its lock's class */
	uint32_t nlocal;
	struct lc__graph lc; /* after finish: what the rules judge */
};

/* 0 or ENOMEM. */
int lg_graph_init(struct lg_graph *g);
void lg_graph_free(struct lg_graph *g);

/* ---- merge.c: building the graph while dumps are read. ---- */

/* Starts a dump read from path; *dump gets its number. */
int lg_graph_begin_dump(struct lg_graph *g, const char *path, uint64_t pid,
			const char *program, size_t program_len,
			uint32_t *dump);

/* One class line of the current dump, with its local id (dense, checked by
 * the caller). Strings are decoded. */
struct lg_class_rec {
	const char *name, *file;
	size_t name_len, file_len;
	int32_t line;
	uint8_t kind;
	uint64_t instances, acquired, contended, wait_ns;
};
int lg_graph_add_class(struct lg_graph *g, const struct lg_class_rec *r);

/* A gate as the dump gives it: local class id and instance number. */
struct lg_gate_rec {
	uint32_t cls;
	uint64_t inst;
};

/* One edge line of the current dump. Local class ids, checked by the
 * caller. Strings are decoded only for a new edge, through the callback. */
struct lg_edge_rec {
	uint32_t from, to;
	uint8_t modes;
	uint32_t ngates;
	struct lg_gate_rec gates[LC__GATE_MAX]; /* more: bad input */
	uint64_t count;
	int32_t tid;
	int32_t held_line, next_line;
	/* raw (escaped) strings: thread, held file, held func, next file,
	 * next func */
	const char *raw[5];
	size_t raw_len[5];
};

/* Decodes an escaped dump string into buf (room for raw_len + 1 bytes);
 * returns the decoded length. Provided by fields.c. */
size_t lg_field_decode(const char *raw, size_t raw_len, char *buf);

/* EEXIST when the dump has this edge twice. */
int lg_graph_add_edge(struct lg_graph *g, const struct lg_edge_rec *r);

/* One finding line: kind word, local class ids, decoded summary. */
int lg_graph_add_finding(struct lg_graph *g, const char *kind, size_t kind_len,
			 const uint32_t *cls, uint32_t ncls,
			 const char *summary, size_t summary_len);

/* One range line: local class ids (checked by the caller), decoded
 * strings. */
struct lg_range_rec {
	uint64_t accesses, writes, threads, bytes;
	const uint32_t *cls;
	uint32_t ncls;
	const char *what, *file;
	size_t what_len, file_len;
	int32_t line;
	uint32_t records; /* ranges of the dumps it sums: >= 1 */
};
int lg_graph_add_range(struct lg_graph *g, const struct lg_range_rec *r);

/* ---- finish.c ---- */

/* Gate keys, sorting, renumbering, adjacency, the rule graph. 0 or
 * ENOMEM. */
int lg_graph_finish(struct lg_graph *g);

/* After finish: the edge from -> to, or LG_NONE. */
uint32_t lg_graph_find_edge(const struct lg_graph *g, uint32_t from,
			    uint32_t to);

/* After finish: the class with these strings, or LG_NONE (for diff). */
uint32_t lg_graph_find_class(const struct lg_graph *g, const char *name,
			     const char *file, int32_t line);

/* Orders classes by name, then file, then line. */
int lg_class_cmp(const struct lg_graph *g, uint32_t a, uint32_t b);

#endif /* LOCKGRAPH_GRAPH_H */
