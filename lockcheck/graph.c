/*
 * graph.c: the graph's storage: nodes, edges, observations. See graph.h.
 *
 * Invariants: every live edge is in exactly one out-list (its source's) and
 * one in-list (its target's) and in edge_of; free edges are only on the free
 * list. The rules are in rules.c, the searches in search.c.
 */
#include "graph.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK	 1024u
#define FREE_KEY UINT64_MAX

void lc__graph_init(struct lc__graph *g)
{
	memset(g, 0, sizeof(*g));
	g->free_edge = LC__NONE;
	g->free_node = LC__NONE;
}

/* Gate lists are shared: the edges made with the same gate candidates
 * (every new edge of one acquisition; every acquisition of a thread that
 * holds more than LC__GATE_MAX locks) point into one block, counted:
 * refs, then the ids, then the classes. The graph keeps a reference to
 * the last block made, to share it with the next edges. */
static void gates_release(uint64_t *gate)
{
	if (gate && --gate[-1] == 0)
		free(gate - 1);
}

void lc__graph_free(struct lc__graph *g)
{
	for (uint32_t i = 0; i < g->nedges; i++)
		gates_release(lc__graph_edge(g, i)->gate); /* NULL: free */
	gates_release(g->last_gate);
	for (uint32_t i = 0; i < g->nchunks; i++)
		free(g->chunks[i]);
	free(g->chunks);
	free(g->nodes);
	lc__u64map_free(&g->node_of);
	lc__u64map_free(&g->edge_of);
	lc__graph_init(g);
}

int lc__grow_array(void **p, uint32_t *cap, uint32_t need, size_t size)
{
	uint64_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if (n > UINT32_MAX || n > SIZE_MAX / size)
		return ENOMEM;
	q = realloc(*p, (size_t)n * size);
	if (!q)
		return ENOMEM;
	*p = q;
	*cap = (uint32_t)n;
	return 0;
}

uint32_t lc__graph_node(struct lc__graph *g, uint64_t key, const void *addr,
			bool create)
{
	uint32_t n;

	if (lc__u64map_get(&g->node_of, key, &n))
		return n;
	if (!create)
		return LC__NONE;
	if (g->free_node != LC__NONE) {
		n = g->free_node;
		g->free_node = g->nodes[n].out;
	} else {
		if (lc__grow_array((void **)&g->nodes, &g->node_cap,
				   g->nnodes + 1, sizeof(*g->nodes)))
			return LC__NONE;
		n = g->nnodes++;
	}
	if (lc__u64map_put(&g->node_of, key, n)) {
		g->nodes[n].key = FREE_KEY;
		g->nodes[n].out = g->free_node;
		g->free_node = n;
		return LC__NONE;
	}
	g->nodes[n] = (struct lc__node){ key,	   addr,     0,
					 LC__NONE, LC__NONE, LC__NODE_LOCK };
	return n;
}

/* Reverses the list from *head, linked through next_out or next_in. */
static void reverse_list(struct lc__graph *g, uint32_t *head, bool out_list)
{
	uint32_t prev = LC__NONE, e = *head;

	while (e != LC__NONE) {
		struct lc__edge *edge = lc__graph_edge(g, e);
		uint32_t *link = out_list ? &edge->next_out : &edge->next_in;
		uint32_t next = *link;

		*link = prev;
		prev = e;
		e = next;
	}
	*head = prev;
}

void lc__graph_reverse_lists(struct lc__graph *g)
{
	for (uint32_t n = 0; n < g->nnodes; n++) {
		reverse_list(g, &g->nodes[n].out, true);
		reverse_list(g, &g->nodes[n].in, false);
	}
}

static uint64_t edge_key(uint32_t from, uint32_t to)
{
	return (uint64_t)from << 32 | to;
}

uint32_t lc__graph_find_edge(const struct lc__graph *g, uint32_t from,
			     uint32_t to)
{
	uint32_t e;

	return lc__u64map_get(&g->edge_of, edge_key(from, to), &e) ? e
								   : LC__NONE;
}

static uint32_t alloc_edge(struct lc__graph *g)
{
	uint32_t e = g->free_edge;

	if (e != LC__NONE) {
		g->free_edge = lc__graph_edge(g, e)->next_out;
		return e;
	}
	if (g->nedges == g->nchunks * CHUNK) {
		struct lc__edge **chunks, *chunk;

		if (g->nchunks >= UINT32_MAX / CHUNK - 1)
			return LC__NONE;
		chunks = realloc(g->chunks, (g->nchunks + 1) * sizeof(*chunks));
		if (!chunks)
			return LC__NONE;
		g->chunks = chunks;
		chunk = calloc(CHUNK, sizeof(*chunk));
		if (!chunk)
			return LC__NONE;
		g->chunks[g->nchunks++] = chunk;
	}
	return g->nedges++;
}

static bool held_has(const struct lc__held_inst *held, uint32_t nheld,
		     uint64_t id)
{
	for (uint32_t i = 0; i < nheld; i++)
		if (held[i].id == id)
			return true;
	return false;
}

/* The first occurrence's exclusively held locks are the edge's gate
 * candidates: every one of them (up to the mask's 64 bits), since which ones
 * survive must not depend on the order occurrences come in. With no memory
 * for them the edge has none: more reports, never fewer. */
static bool same_gates(const struct lc__graph *g,
		       const struct lc__held_inst *held, uint32_t n)
{
	const uint32_t *cls = (const uint32_t *)(g->last_gate + n);

	if (!g->last_gate || g->last_ngate != n)
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (g->last_gate[i] != held[i].id || cls[i] != held[i].cls)
			return false;
	return true;
}

/* A block for these n gates: the last one made when it has them. */
static uint64_t *gates_for(struct lc__graph *g,
			   const struct lc__held_inst *held, uint32_t n)
{
	uint64_t *block;
	uint32_t *cls;

	if (same_gates(g, held, n)) {
		g->last_gate[-1]++;
		return g->last_gate;
	}
	block = malloc(sizeof(uint64_t) +
		       n * (sizeof(uint64_t) + sizeof(uint32_t)));
	if (!block)
		return NULL;
	block[0] = 2; /* the edge's reference and the graph's */
	cls = (uint32_t *)(block + 1 + n);
	for (uint32_t i = 0; i < n; i++) {
		block[1 + i] = held[i].id;
		cls[i] = held[i].cls;
	}
	gates_release(g->last_gate);
	g->last_gate = block + 1;
	g->last_ngate = n;
	return g->last_gate;
}

static void set_gates(struct lc__graph *g, struct lc__edge *edge,
		      const struct lc__held_inst *held, uint32_t nheld)
{
	uint32_t n = nheld < LC__GATE_MAX ? nheld : LC__GATE_MAX;
	uint64_t alive = 0;

	edge->gate = n ? gates_for(g, held, n) : NULL;
	edge->gate_cls = edge->gate ? (uint32_t *)(edge->gate + n) : NULL;
	for (uint32_t i = 0; edge->gate && i < n; i++)
		alive |= 1ull << i;
	atomic_store_explicit(&edge->gate_alive, alive, memory_order_relaxed);
}

static uint32_t new_edge(struct lc__graph *g, uint32_t from, uint32_t to,
			 uint8_t combo, const struct lc__held_inst *held,
			 uint32_t nheld, const struct lc__edge_info *info)
{
	uint32_t e = alloc_edge(g);
	struct lc__edge *edge;

	if (e == LC__NONE)
		return LC__NONE;
	if (lc__u64map_put(&g->edge_of, edge_key(from, to), e)) {
		lc__graph_edge(g, e)->next_out = g->free_edge;
		g->free_edge = e;
		return LC__NONE;
	}
	edge = lc__graph_edge(g, e);
	memset(edge, 0, sizeof(*edge));
	set_gates(g, edge, held, nheld);
	edge->from = from;
	edge->to = to;
	edge->modes = combo;
	edge->count = 1;
	edge->info = *info;
	edge->next_out = g->nodes[from].out;
	g->nodes[from].out = e;
	edge->next_in = g->nodes[to].in;
	g->nodes[to].in = e;
	g->live_edges++;
	return e;
}

uint32_t lc__graph_observe(struct lc__graph *g, uint32_t from, uint32_t to,
			   uint8_t combo, const struct lc__held_inst *held,
			   uint32_t nheld, const struct lc__edge_info *info,
			   bool *weakened)
{
	uint32_t e = lc__graph_find_edge(g, from, to);
	struct lc__edge *edge;
	uint64_t alive, kept = 0;

	assert(from < g->nnodes && to < g->nnodes && from != to);
	assert(combo && combo < 16);

	if (e == LC__NONE) {
		*weakened = true;
		return new_edge(g, from, to, combo, held, nheld, info);
	}
	edge = lc__graph_edge(g, e);
	edge->count++;
	*weakened = !(edge->modes & combo);
	edge->modes |= combo;
	alive = atomic_load_explicit(&edge->gate_alive, memory_order_relaxed);
	for (uint32_t i = 0; i < LC__GATE_MAX; i++)
		if ((alive & (1ull << i)) &&
		    held_has(held, nheld, edge->gate[i]))
			kept |= 1ull << i;
	if (kept != alive) {
		atomic_store_explicit(&edge->gate_alive, kept,
				      memory_order_release);
		*weakened = true;
	}
	return e;
}

static void unlink_edge(struct lc__graph *g, uint32_t *head, uint32_t e,
			bool out_list)
{
	for (uint32_t *p = head; *p != LC__NONE;) {
		struct lc__edge *cur = lc__graph_edge(g, *p);

		if (*p == e) {
			*p = out_list ? cur->next_out : cur->next_in;
			return;
		}
		p = out_list ? &cur->next_out : &cur->next_in;
	}
}

static void drop_edge(struct lc__graph *g, uint32_t e)
{
	struct lc__edge *edge = lc__graph_edge(g, e);

	unlink_edge(g, &g->nodes[edge->from].out, e, true);
	unlink_edge(g, &g->nodes[edge->to].in, e, false);
	lc__u64map_del(&g->edge_of, edge_key(edge->from, edge->to));
	gates_release(edge->gate); /* only instance graphs drop edges: no
				      fast path reads theirs */
	edge->gate = NULL;
	edge->next_out = g->free_edge;
	g->free_edge = e;
	g->live_edges--;
}

bool lc__graph_remove_node(struct lc__graph *g, uint64_t key)
{
	uint32_t n;

	if (!lc__u64map_get(&g->node_of, key, &n))
		return false;
	while (g->nodes[n].out != LC__NONE)
		drop_edge(g, g->nodes[n].out);
	while (g->nodes[n].in != LC__NONE)
		drop_edge(g, g->nodes[n].in);
	lc__u64map_del(&g->node_of, key);
	g->nodes[n].key = FREE_KEY;
	g->nodes[n].out = g->free_node;
	g->free_node = n;
	return true;
}
