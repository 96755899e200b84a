/*
 * validate.c: what happens before a blocking acquisition.
 *
 * Fast path: the chain (held classes and modes, new class and mode) was
 * validated before, no gate of its edges is missing now, and any same-class
 * lock held is keyed in ascending order: count a hit in the thread's cache
 * and go. Nothing shared is written and no lock is taken.
 *
 * Slow path, under lc__slow: an edge from every held lock's class to the new
 * class (not only from the top one: modes and gates make the graph
 * non-transitive), each new or weakened edge searched for a cycle; a
 * same-class pair goes to the order keys when both locks have one, else to
 * the class's instance graph, where an inversion between two instances is a
 * cycle like any other.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "search.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct lc__chain *cached_chain(struct lc__thread *t, uint64_t key,
				      struct lc__chain_slot **slotp)
{
	struct lc__chain_slot *slot = &t->cache[key & (LC__CHAIN_SLOTS - 1)];
	struct lc__chain *c;

	*slotp = slot;
	assert(!slot->chain || slot->chain->hash == slot->hash);
	if (slot->chain && slot->hash == key)
		return slot->chain;
	c = lc__chain_find(key);
	if (!c)
		return NULL;
	if (slot->chain && slot->hits)
		atomic_fetch_add_explicit(&slot->chain->hits, slot->hits,
					  memory_order_relaxed);
	slot->hash = key;
	slot->chain = c;
	slot->hits = 0;
	return c;
}

/* Every held lock of lk's class has a smaller order key than lk. */
static bool keyed_in_order(const struct lc__thread *t,
			   const struct lc__lock *lk,
			   const struct lc__class *cls)
{
	if (!lk->has_order)
		return false;
	for (uint32_t i = 0; i < t->nheld; i++) {
		const struct lc__held *h = &t->held[i];

		if (h->cls == cls &&
		    (!h->lk->has_order || h->lk->order >= lk->order))
			return false;
	}
	return true;
}

static bool held_exclusively(const struct lc__thread *t, uint64_t id)
{
	for (uint32_t i = 0; i < t->nheld; i++)
		if (t->held[i].id == id && t->held[i].mode == LC__WRITE)
			return true;
	return false;
}

/* Every gate the chain's edges still have is held now: this occurrence
 * would shrink no gate set. Gates only ever shrink, so reading them while
 * the slow path shrinks them can only ask for a needless slow path. */
bool lc__gates_covered(const struct lc__thread *t, const struct lc__chain *c)
{
	for (uint32_t i = 0; i < c->nedges; i++) {
		const struct lc__edge *e = c->edges[i];
		uint64_t alive = atomic_load_explicit(&e->gate_alive,
						      memory_order_acquire);

		for (; alive; alive &= alive - 1)
			if (!held_exclusively(t,
					      e->gate[__builtin_ctzll(alive)]))
				return false;
	}
	return true;
}

/* Scratch of every cycle search: they all run under lc__slow. */
static struct lc__search search;

/* A new or weakened edge being checked: what its reports need. */
struct closing {
	const struct lc__graph *g;
	struct lc__thread *t;
	const struct lc__acq *a;
	const struct lc__class *cls;
	uint32_t reported;
};

/* Reports a cycle the edge closes unless reported before; stops the
 * search at LC_CYCLES_PER_EDGE new ones. */
static bool report_new(const uint32_t *path, uint32_t n, void *arg)
{
	struct closing *c = arg;

	if (!lc__cycle_is_new(c->g, path, n, c->cls))
		return false;
	lc__report_cycle(c->g, path, n, c->t, c->a, c->cls);
	return ++c->reported == LC_CYCLES_PER_EDGE;
}

/* Every cycle through e not reported before (up to a bound), shortest
 * first: one edge may close several at once, and which get reported must
 * not depend on the order the edges came in. */
static void check_cycle(struct lc__graph *g, uint32_t e, struct lc__thread *t,
			const struct lc__acq *a, const struct lc__class *cls)
{
	struct closing c = { g, t, a, cls, 0 };

	search.comp = NULL;
	search.left = LC_SEARCH_STEPS +
		      (uint64_t)LC_SEARCH_STEPS_PER_EDGE * g->live_edges;
	if (lc__cycle_through(&search, g, e, UINT32_MAX, report_new, &c) ==
	    LC__SEARCH_CUT)
		lc__report_limit("search", "a cycle search ran out of memory "
					   "or of its step budget; a cycle "
					   "may have been missed");
}

/* An edge outlives the code that took it (a plugin may be dlclose'd): it
 * keeps copies of the site's strings, never pointers into that code. */
struct lc__site lc__intern_site(const struct lc__site *at)
{
	struct lc__site copy = { lc__intern_line(at->file), at->line,
				 lc__intern_line(at->func) };

	return copy;
}

/* Under lc__slow: what every edge of the acquisition in progress shares,
 * made once for all of them (a thread holding many locks makes many edges
 * at once; one backtrace and one copy of the site serve them all). Set by
 * observe, reset by slow_path at its start and end. */
static struct {
	const struct lc__acq *a; /* NULL: nothing made yet */
	struct lc__site next_at;
	const char *thread;
	bool captured;
	uint32_t stack;
} acq_shared;

static void share_acq(struct lc__thread *t, const struct lc__acq *a)
{
	if (acq_shared.a == a)
		return;
	acq_shared.a = a;
	acq_shared.next_at = lc__intern_site(&a->at);
	acq_shared.thread = lc__intern(lc__thread_name(t));
	acq_shared.captured = false;
}

/* The acquisition's stack: once per slow path, or once per call for an
 * edge made elsewhere (a wait's or a signal's, waits.c). */
static uint32_t acq_stack(const struct lc__acq *a)
{
	if (acq_shared.a != a)
		return lc__stack_capture(a->ra);
	if (!acq_shared.captured) {
		acq_shared.captured = true;
		acq_shared.stack = lc__stack_capture(a->ra);
	}
	return acq_shared.stack;
}

struct lc__edge *
lc__observe_edge(struct lc__graph *g, uint32_t from, uint32_t to, uint8_t combo,
		 const struct lc__held_inst *gates, uint32_t ngates,
		 const struct lc__edge_info *info, struct lc__thread *t,
		 const struct lc__acq *a, const struct lc__class *cls)
{
	struct lc__edge *edge;
	bool weakened;
	uint32_t e;

	if (from == LC__NONE || to == LC__NONE)
		goto no_memory;
	assert(from < g->nnodes && to < g->nnodes);
	e = lc__graph_observe(g, from, to, combo, gates, ngates, info,
			      &weakened);
	if (e == LC__NONE)
		goto no_memory;
	assert(e < g->nedges);
	edge = lc__graph_edge(g, e);
	if (edge->count == 1 && !edge->info.stack)
		edge->info.stack = acq_stack(a);
	if (weakened)
		check_cycle(g, e, t, a, cls);
	return edge;
no_memory:
	lc__report_limit("memory", "no memory for the lock graph; some "
				   "orders are not recorded");
	return NULL;
}

/* Records held -> acquired in graph g between nodes from and to, capturing
 * a stack for a new edge; searches for a cycle when the edge got weaker.
 * cls is NULL for the class graph. Returns the edge, or NULL. */
static struct lc__edge *observe(struct lc__graph *g, uint32_t from, uint32_t to,
				struct lc__thread *t, const struct lc__held *h,
				const struct lc__acq *a, uint32_t ninst,
				const struct lc__class *cls)
{
	struct lc__edge_info info;

	if (from == LC__NONE || to == LC__NONE)
		return lc__observe_edge(g, from, to, 0, NULL, 0, NULL, t, a,
					cls); /* the limit line */
	share_acq(t, a);
	info = (struct lc__edge_info){ lc__intern_site(&h->at),
				       acq_shared.next_at, t->tid,
				       acq_shared.thread, 0 };
	return lc__observe_edge(g, from, to, LC__COMBO(h->mode, a->mode),
				t->insts, ninst, &info, t, a, cls);
}

static void same_class(struct lc__thread *t, const struct lc__held *h,
		       const struct lc__acq *a, uint32_t ninst)
{
	struct lc__class *cls = a->cls;
	struct lc__graph *g = atomic_load(&cls->igraph);
	uint32_t from, to;

	if (h->lk->has_order || a->lk->has_order) {
		/* Keys order a class only if every lock held together has one:
		 * a keyless one has no place in the order. */
		if (!h->lk->has_order || !a->lk->has_order ||
		    h->lk->order >= a->lk->order)
			lc__report_order_violation(t, h, a);
		return;
	}
	if (!g) {
		g = malloc(sizeof(*g));
		if (!g) {
			lc__report_limit("memory", "no memory for an instance "
						   "graph");
			return;
		}
		lc__graph_init(g);
		atomic_store(&cls->igraph, g);
	}
	from = lc__graph_node(g, h->id, h->lk, true);
	to = lc__graph_node(g, lc__id_fast(a->lk), a->lk, true);
	if (from != LC__NONE) /* the locks are alive: held or being taken */
		g->nodes[from].label = atomic_load(&h->lk->ordinal);
	if (to != LC__NONE)
		g->nodes[to].label = atomic_load(&a->lk->ordinal);
	observe(g, from, to, t, h, a, ninst, cls);
}

uint32_t lc__class_node(const struct lc__class *c)
{
	struct lc__graph *g = &lc__classes_graph;
	uint32_t n = lc__graph_node(g, c->id, NULL, true);

	if (n != LC__NONE && c->kind == LC__KIND_COND)
		g->nodes[n].kind = LC__NODE_WAIT;
	return n;
}

static struct lc__edge *class_edge(struct lc__thread *t,
				   const struct lc__held *h,
				   const struct lc__acq *a, uint32_t ninst)
{
	return observe(&lc__classes_graph, lc__class_node(h->cls),
		       lc__class_node(a->cls), t, h, a, ninst, NULL);
}

static bool has_edge(struct lc__edge *const *edges, uint32_t n,
		     const struct lc__edge *e)
{
	for (uint32_t i = 0; i < n; i++)
		if (edges[i] == e)
			return true;
	return false;
}

void lc__publish_chain(uint64_t key, bool same, struct lc__edge **edges,
		       uint32_t n)
{
	struct lc__chain *c = malloc(sizeof(*c) + n * sizeof(c->edges[0]));
	bool gated = false;
	int err;

	if (!c)
		return; /* the acquisition stays on the slow path */
	c->hash = key;
	c->same_class = same;
	c->nedges = n;
	atomic_init(&c->hits, 0);
	for (uint32_t i = 0; i < n; i++) {
		c->edges[i] = edges[i];
		gated |= atomic_load(&edges[i]->gate_alive) != 0;
	}
	atomic_init(&c->gated, gated);
	err = lc__chain_insert(c);
	if (err) {
		free(c);
		if (err == ENOSPC)
			lc__report_limit("chains", "LOCKCHECK_MAX_CHAINS "
						   "reached; new lock "
						   "combinations take the "
						   "slow path");
	}
}

/* The first held lock a new acquisition makes an edge from: only the
 * LC__HELD_EDGES taken last get one (the order of the ones before follows
 * through them: each got its edge to the next when that was taken), so a
 * thread holding N locks costs N * LC__HELD_EDGES edges, not N * N / 2. */
static uint32_t first_edge_from(const struct lc__thread *t)
{
	return t->nheld <= LC__HELD_EDGES ? 0 : t->nheld - LC__HELD_EDGES;
}

/* Edges from held locks before first_edge_from were not made. */
static void skipped_edges(void)
{
	lc__report_limit("nesting", "a thread holds more than 128 locks at "
				    "once; a lock taken then is ordered after "
				    "the 128 taken last only, and through them "
				    "after the others");
}

static void slow_path(struct lc__thread *t, const struct lc__acq *a)
{
	struct lc__edge **edges = malloc(t->nheld * sizeof(*edges));
	struct lc__chain *c;
	uint32_t ninst, nedges = 0, first;
	bool same = false, gated = false, whole = edges != NULL;
	bool skipped = false;

	assert(lc__held_consistent(t));
	assert(a->chain == lc__chain_of(t, a->cls, a->mode));
	lc__slow_lock();
	acq_shared.a = NULL;
	ninst = lc__exclusive_insts(t);
	first = first_edge_from(t);
	for (uint32_t i = 0; i < t->nheld; i++) {
		const struct lc__held *h = &t->held[i];
		struct lc__edge *e;

		if (!h->cls)
			continue;
		if (h->cls == a->cls) {
			/* A wait node inside itself (a task waiting for its
			 * own pool) has no instance order: no edge. */
			if (a->cls->kind == LC__KIND_COND)
				continue;
			same = true;
			if (i >= first || h->lk->has_order ||
			    a->lk->has_order) /* keys: compared, no edge */
				same_class(t, h, a, ninst);
			else
				skipped = true;
			continue;
		}
		if (i < first) {
			skipped = true;
			continue;
		}
		e = class_edge(t, h, a, ninst);
		whole &= e != NULL;
		if (!e || !edges || has_edge(edges, nedges, e))
			continue;
		edges[nedges++] = e;
		gated |= atomic_load(&e->gate_alive) != 0;
	}
	if (skipped)
		skipped_edges();
	/* Only a chain whose every edge was recorded may be trusted later. */
	c = whole ? lc__chain_find(a->chain) : NULL;
	if (c)
		atomic_store(&c->gated, gated);
	else if (whole)
		lc__publish_chain(a->chain, same, edges, nedges);
	acq_shared.a = NULL;
	lc__slow_unlock();
	free(edges);
}

bool lc__chain_known(struct lc__thread *t, uint64_t key)
{
	struct lc__chain_slot *slot;
	struct lc__chain *c = cached_chain(t, key, &slot);

	if (!c || (atomic_load_explicit(&c->gated, memory_order_acquire) &&
		   !lc__gates_covered(t, c)))
		return false;
	slot->hits++;
	return true;
}

void lc__validate(struct lc__thread *t, const struct lc__acq *a)
{
	struct lc__chain_slot *slot;
	struct lc__chain *c;

	if (t->nheld == 0 || !a->cls)
		return;
	c = cached_chain(t, a->chain, &slot);
	if (c && (!c->same_class || keyed_in_order(t, a->lk, a->cls)) &&
	    (!atomic_load_explicit(&c->gated, memory_order_acquire) ||
	     lc__gates_covered(t, c))) {
		slot->hits++;
		return;
	}
	slow_path(t, a);
}

void lc__forget_instance(struct lc__class *cls, uint64_t id)
{
	struct lc__graph *g = atomic_load(&cls->igraph);

	if (g)
		lc__graph_remove_node(g, id);
}
