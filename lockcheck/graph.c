/*
 * graph.c: see graph.h.
 *
 * Invariants: every live edge is in exactly one out-list (its source's) and
 * one in-list (its target's) and in edge_of; free edges are only on the free
 * list. The search is a breadth-first walk over states (node, wanted mode of
 * the edge that led here, gates of the start edge still common to the path),
 * so the first goal reached is a shortest cycle and no recursion can
 * overflow the stack on long cycles.
 */
#include "graph.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 1024u
#define FREE_KEY UINT64_MAX

struct lc__bfs_item {
	uint32_t node;
	uint32_t parent; /* queue index of the state we came from */
	uint32_t edge;	 /* edge taken from the parent */
	uint32_t depth;	 /* edges from the start state */
	uint8_t want;	 /* wanted mode of that edge */
	uint8_t mask;	 /* start-edge gates still common to the path */
};

void lc__graph_init(struct lc__graph *g)
{
	memset(g, 0, sizeof(*g));
	g->free_edge = LC_NONE;
	g->free_node = LC_NONE;
}

void lc__graph_free(struct lc__graph *g)
{
	for (uint32_t i = 0; i < g->nchunks; i++)
		free(g->chunks[i]);
	free(g->chunks);
	free(g->nodes);
	free(g->queue);
	free(g->path);
	lc__u64map_free(&g->node_of);
	lc__u64map_free(&g->edge_of);
	lc__u64map_free(&g->seen);
	lc__graph_init(g);
}

static int grow_array(void **p, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, (size_t)n * size);
	if (!q)
		return ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

uint32_t lc__graph_node(struct lc__graph *g, uint64_t key, const void *addr,
			bool create)
{
	uint32_t n;

	if (lc__u64map_get(&g->node_of, key, &n))
		return n;
	if (!create)
		return LC_NONE;
	if (g->free_node != LC_NONE) {
		n = g->free_node;
		g->free_node = g->nodes[n].out;
	} else {
		if (grow_array((void **)&g->nodes, &g->node_cap, g->nnodes + 1,
			       sizeof(*g->nodes)))
			return LC_NONE;
		n = g->nnodes++;
	}
	if (lc__u64map_put(&g->node_of, key, n)) {
		g->nodes[n].key = FREE_KEY;
		g->nodes[n].out = g->free_node;
		g->free_node = n;
		return LC_NONE;
	}
	g->nodes[n] = (struct lc__node){ key, addr, 0, LC_NONE, LC_NONE };
	return n;
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
								    : LC_NONE;
}

static uint32_t alloc_edge(struct lc__graph *g)
{
	uint32_t e = g->free_edge;

	if (e != LC_NONE) {
		g->free_edge = lc__graph_edge(g, e)->next_out;
		return e;
	}
	if (g->nedges == g->nchunks * CHUNK) {
		struct lc__edge **chunks, *chunk;

		if (g->nchunks >= UINT32_MAX / CHUNK - 1)
			return LC_NONE;
		chunks = realloc(g->chunks, (g->nchunks + 1) * sizeof(*chunks));
		if (!chunks)
			return LC_NONE;
		g->chunks = chunks;
		chunk = calloc(CHUNK, sizeof(*chunk));
		if (!chunk)
			return LC_NONE;
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

static uint32_t new_edge(struct lc__graph *g, uint32_t from, uint32_t to,
			 uint8_t combo, const struct lc__held_inst *held,
			 uint32_t nheld, const struct lc__edge_info *info)
{
	uint32_t e = alloc_edge(g);
	struct lc__edge *edge;
	uint8_t alive = 0;

	if (e == LC_NONE)
		return LC_NONE;
	if (lc__u64map_put(&g->edge_of, edge_key(from, to), e)) {
		lc__graph_edge(g, e)->next_out = g->free_edge;
		g->free_edge = e;
		return LC_NONE;
	}
	edge = lc__graph_edge(g, e);
	memset(edge, 0, sizeof(*edge));
	for (uint32_t i = 0; i < nheld && i < LC_GATE_MAX; i++) {
		edge->gate[i] = held[i].id;
		edge->gate_cls[i] = held[i].cls;
		alive |= (uint8_t)(1u << i);
	}
	atomic_store_explicit(&edge->gate_alive, alive, memory_order_relaxed);
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
	uint8_t alive, kept = 0;

	if (e == LC_NONE) {
		*weakened = true;
		return new_edge(g, from, to, combo, held, nheld, info);
	}
	edge = lc__graph_edge(g, e);
	edge->count++;
	*weakened = !(edge->modes & combo);
	edge->modes |= combo;
	alive = atomic_load_explicit(&edge->gate_alive, memory_order_relaxed);
	for (uint32_t i = 0; i < LC_GATE_MAX; i++)
		if ((alive & (1u << i)) && held_has(held, nheld, edge->gate[i]))
			kept |= (uint8_t)(1u << i);
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
	for (uint32_t *p = head; *p != LC_NONE;) {
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
	edge->next_out = g->free_edge;
	g->free_edge = e;
	g->live_edges--;
}

bool lc__graph_remove_node(struct lc__graph *g, uint64_t key)
{
	uint32_t n;

	if (!lc__u64map_get(&g->node_of, key, &n))
		return false;
	while (g->nodes[n].out != LC_NONE)
		drop_edge(g, g->nodes[n].out);
	while (g->nodes[n].in != LC_NONE)
		drop_edge(g, g->nodes[n].in);
	lc__u64map_del(&g->node_of, key);
	g->nodes[n].key = FREE_KEY;
	g->nodes[n].out = g->free_node;
	g->free_node = n;
	return true;
}

/* Bits of the start edge's live gates that edge f also keeps alive. */
static uint8_t common_gates(const struct lc__edge *start, uint8_t mask,
			    const struct lc__edge *f)
{
	uint8_t alive = atomic_load_explicit(&f->gate_alive,
					     memory_order_relaxed);
	uint8_t keep = 0;

	for (uint32_t i = 0; i < LC_GATE_MAX; i++) {
		if (!(mask & (1u << i)))
			continue;
		for (uint32_t j = 0; j < LC_GATE_MAX; j++)
			if ((alive & (1u << j)) && f->gate[j] == start->gate[i])
				keep |= (uint8_t)(1u << i);
	}
	return keep;
}

static int push(struct lc__graph *g, uint32_t *len, struct lc__bfs_item it)
{
	uint64_t key = (uint64_t)it.node << 5 | (uint64_t)it.want << 4 |
		       it.mask;

	if (lc__u64map_get(&g->seen, key, NULL))
		return 0;
	if (grow_array((void **)&g->queue, &g->queue_cap, *len + 1,
		       sizeof(*g->queue)) ||
	    lc__u64map_put(&g->seen, key, *len))
		return ENOMEM;
	g->queue[(*len)++] = it;
	return 0;
}

/* Writes the path ending with edge last after queue state i; returns its
 * length (start edge included), 0 when out of memory. */
static uint32_t build_path(struct lc__graph *g, uint32_t start, uint32_t i,
			   uint32_t last)
{
	uint32_t len = 2;

	for (uint32_t j = i; g->queue[j].parent != LC_NONE; j = g->queue[j].parent)
		len++;
	if (grow_array((void **)&g->path, &g->path_cap, len, sizeof(*g->path)))
		return 0;
	g->path[0] = start;
	g->path[len - 1] = last;
	for (uint32_t j = i, k = len - 2; g->queue[j].parent != LC_NONE;
	     j = g->queue[j].parent, k--)
		g->path[k] = g->queue[j].edge;
	return len;
}

/* One search: the start edge and the mode it holds its source in. */
struct walk {
	const struct lc__edge *start;
	uint32_t start_edge;
	int held0;
	uint32_t len; /* states queued */
};

/* Follows edge f from queue state head in every mode pair it was seen
 * in that lets a thread wait at the node. Returns the cycle length when f
 * closes one, 0 otherwise (new states queued); UINT32_MAX on no memory. */
static uint32_t follow(struct lc__graph *g, struct walk *w, uint32_t head,
		       uint32_t f)
{
	const struct lc__bfs_item it = g->queue[head];
	const struct lc__edge *fe = lc__graph_edge(g, f);
	uint8_t mask = common_gates(w->start, it.mask, fe);

	for (int h = 0; h < 2; h++) {
		if (h == LC_READ && it.want == LC_READ)
			continue; /* a reader does not wait for a reader */
		for (int want = 0; want < 2; want++) {
			if (!(fe->modes & LC_COMBO(h, want)))
				continue;
			if (fe->to == w->start->from) {
				if (mask || (want == LC_READ && w->held0 == LC_READ))
					continue;
				return build_path(g, w->start_edge, head, f);
			}
			if (fe->to != w->start->to &&
			    push(g, &w->len, (struct lc__bfs_item){
						     fe->to, head, f,
						     it.depth + 1,
						     (uint8_t)want, mask }))
				return UINT32_MAX;
		}
	}
	return 0;
}

/* One breadth-first search for a cycle closing e, with e taken in mode pair
 * (held0, want0). Returns the cycle length or 0. limit: the length of a
 * cycle already found (0: none); only a shorter one is of interest. */
static uint32_t search(struct lc__graph *g, uint32_t e, int held0, int want0,
		       uint32_t limit)
{
	const struct lc__edge *start = lc__graph_edge(g, e);
	struct walk w = { start, e, held0, 0 };
	struct lc__bfs_item first = {
		start->to, LC_NONE, LC_NONE, 0, (uint8_t)want0,
		atomic_load_explicit(&start->gate_alive, memory_order_relaxed)
	};

	lc__u64map_clear(&g->seen);
	if (push(g, &w.len, first))
		return 0;
	for (uint32_t head = 0; head < w.len; head++) {
		if (limit && g->queue[head].depth + 2 >= limit)
			return 0;
		for (uint32_t f = g->nodes[g->queue[head].node].out;
		     f != LC_NONE; f = lc__graph_edge(g, f)->next_out) {
			uint32_t n = follow(g, &w, head, f);

			if (n)
				return n == UINT32_MAX ? 0 : n;
		}
	}
	return 0;
}

uint32_t lc__graph_find_cycle(struct lc__graph *g, uint32_t e,
			      const uint32_t **path)
{
	const struct lc__edge *start = lc__graph_edge(g, e);
	uint32_t best = 0, *best_path = NULL;

	for (int h = 0; h < 2; h++) {
		for (int w = 0; w < 2; w++) {
			uint32_t n;

			if (!(start->modes & LC_COMBO(h, w)))
				continue;
			n = search(g, e, h, w, best);
			if (n && (!best || n < best)) {
				uint32_t *keep = malloc(n * sizeof(*keep));

				if (!keep)
					continue;
				memcpy(keep, g->path, n * sizeof(*keep));
				free(best_path);
				best_path = keep;
				best = n;
			}
		}
	}
	if (!best)
		return 0;
	memcpy(g->path, best_path, best * sizeof(*best_path));
	free(best_path);
	*path = g->path;
	return best;
}
