/*
 * waits.c: condition variables as wait nodes of the class graph.
 *
 * A thread that waits on condvar C while holding H lets go of H only once
 * C is signalled: an edge H -> C. A thread that signals C while holding H
 * had to take H first, so if a waiter of C holds H the signal never comes:
 * an edge C -> H. C's bound mutex (the instance its waits give back while
 * they wait) is exempt, whichever side learns of it first: a signal made
 * before C's first wait keeps its holds pending on C's instance, and they
 * become edges when that wait tells the bound mutex. Only what is held AT
 * the signal counts ("take H, let go, signal" is the watchdog's).
 *
 * The edges go through the same observation, search and rules as a lock's
 * (validate.c, the rule module), so a cycle through C is judged by the
 * modes and gate rules like any other; wait_findings.c words it.
 *
 * A signal edge's gates are the locks held exclusively BELOW H in the
 * signaller's stack: a signaller that cannot get H blocks holding those,
 * not H itself nor what it took after H.
 *
 * Cost: a signal holding nothing, or only its bound mutex, is a load and a
 * compare (cond.c); any other hold set is one chain key looked up like a
 * lock's (lc__chain_known), its edges recorded the first time only.
 */
#define _GNU_SOURCE
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A signal made before its condvar had a bound mutex: one hold. */
struct pending {
	uint64_t cond;		   /* the condvar's instance id; 0: free slot */
	uint32_t cls;		   /* the condvar's class */
	uint32_t held_cls;	   /* the hold's class */
	uint64_t held_id;	   /* the hold's instance */
	uint8_t mode;		   /* the hold's mode */
	struct lc__edge_info info; /* signal site, hold's site, thread */
	struct lc__held_inst *gates; /* exclusive holds below it */
	uint32_t ngates;
};

#define MAX_PENDING 4096 /* then: one limit line, later holds dropped */

/* All under lc__slow. */
static struct pending *pending;
static uint32_t npending, pending_cap, pending_live;

/* A signal's chain key: the held stack, the condvar's class and which
 * entry is its bound mutex (bound_at: its index + 1, 0 for none). Salted
 * apart from lock chains, whose keys end in a (class, mode) pair. */
static uint64_t signal_key(const struct lc__thread *t,
			   const struct lc__class *cls, uint32_t bound_at)
{
	uint64_t k = lc__chain_of(t, cls, LC__WRITE);

	return lc__mix64(k ^ 0x5167a1ed5167a1edULL) + bound_at;
}

/* The instances and modes t holds (never 0): a signal before its
 * condvar's first wait keeps them once. */
static uint64_t held_key(const struct lc__thread *t)
{
	uint64_t k = 0x9e3779b97f4a7c15ULL;

	if (t->nheld == 1) /* checked inline by lc__signal_is_plain */
		return lc__single_hold_key(&t->held[0]);
	for (uint32_t i = 0; i < t->nheld; i++)
		k = lc__mix64(k + (t->held[i].id << 1 | t->held[i].mode));
	return k ? k : 1;
}

static uint32_t bound_index(const struct lc__thread *t, uint64_t bound)
{
	for (uint32_t i = 0; i < t->nheld; i++)
		if (t->held[i].id == bound)
			return i + 1;
	return 0;
}

static bool has_edge(struct lc__edge *const *edges, uint32_t n,
		     const struct lc__edge *e)
{
	for (uint32_t i = 0; i < n; i++)
		if (edges[i] == e)
			return true;
	return false;
}

/* The edge C -> h's class for a signal at `at` by t (a: the signal). */
static struct lc__edge *signal_edge(struct lc__thread *t,
				    const struct lc__held *h,
				    const struct lc__acq *a, uint32_t ngates)
{
	struct lc__edge_info info = { lc__intern_site(&a->at),
				      lc__intern_site(&h->at), t->tid,
				      lc__intern(lc__thread_name(t)), 0 };

	return lc__observe_edge(&lc__classes_graph, lc__class_node(a->cls),
				lc__class_node(h->cls),
				LC__COMBO(LC__WRITE, h->mode), t->insts, ngates,
				&info, t, a, NULL);
}

/* Under lc__slow: the edges of a signal whose condvar's bound mutex is
 * the instance `bound`; publishes the key when every edge was recorded. */
static void record_signal(struct lc__thread *t, const struct lc__acq *a,
			  uint64_t bound, uint64_t key)
{
	struct lc__edge **edges = malloc(t->nheld * sizeof(*edges));
	uint32_t ngates = 0, nedges = 0;
	bool whole = edges != NULL;

	for (uint32_t i = 0; i < t->nheld; i++) {
		const struct lc__held *h = &t->held[i];
		struct lc__edge *e;

		if (!h->cls)
			continue;
		if (h->id != bound && h->cls != a->cls) {
			e = signal_edge(t, h, a, ngates);
			whole &= e != NULL;
			if (e && edges && !has_edge(edges, nedges, e))
				edges[nedges++] = e;
		}
		if (h->mode == LC__WRITE)
			t->insts[ngates++] =
				(struct lc__held_inst){ h->id, h->cls->id };
	}
	if (whole && !lc__chain_find(key))
		lc__publish_chain(key, false, edges, nedges);
	free(edges);
}

static bool same_pending(const struct pending *p, uint64_t cond,
			 const struct lc__held *h)
{
	return p->cond == cond && p->held_cls == h->cls->id &&
	       p->held_id == h->id && p->mode == h->mode;
}

/* Under lc__slow: a free slot, or NULL (the limit was reported). */
static struct pending *pending_slot(void)
{
	for (uint32_t i = 0; pending_live < npending && i < npending; i++)
		if (!pending[i].cond)
			return &pending[i];
	if (npending == MAX_PENDING) {
		lc__report_limit("pending-signals",
				 "too many signals of condvars never waited "
				 "on; some wait edges are not recorded");
		return NULL;
	}
	if (npending == pending_cap &&
	    lc__grow_array((void **)&pending, &pending_cap, npending + 1,
			   sizeof(*pending))) {
		lc__report_limit("memory", "no memory for a pending signal");
		return NULL;
	}
	return &pending[npending++];
}

/* Under lc__slow: keeps hold h of a signal (a) of condvar cond, gates
 * t->insts[0..ngates), for when the condvar's bound mutex is known. */
static void keep_one(struct lc__thread *t, uint64_t cond,
		     const struct lc__held *h, const struct lc__acq *a,
		     uint32_t ngates)
{
	struct pending *p;

	for (uint32_t i = 0; i < npending; i++)
		if (same_pending(&pending[i], cond, h))
			return;
	p = pending_slot();
	if (!p)
		return;
	p->gates = malloc((ngates ? ngates : 1) * sizeof(*p->gates));
	if (!p->gates) {
		lc__report_limit("memory", "no memory for a pending signal");
		return;
	}
	memcpy(p->gates, t->insts, ngates * sizeof(*p->gates));
	p->ngates = ngates;
	p->cond = cond;
	p->cls = a->cls->id;
	p->held_cls = h->cls->id;
	p->held_id = h->id;
	p->mode = h->mode;
	p->info = (struct lc__edge_info){ lc__intern_site(&a->at),
					  lc__intern_site(&h->at), t->tid,
					  lc__intern(lc__thread_name(t)),
					  lc__stack_capture(a->ra) };
	pending_live++;
}

/* Under lc__slow: a signal of a condvar with no bound mutex yet. */
static void keep_pending(struct lc__thread *t, lc_cond_t *c,
			 const struct lc__acq *a)
{
	uint64_t cond = lc__id_fast(&c->lk);
	uint32_t ngates = 0;

	for (uint32_t i = 0; i < t->nheld; i++) {
		const struct lc__held *h = &t->held[i];

		if (!h->cls)
			continue;
		if (h->cls != a->cls)
			keep_one(t, cond, h, a, ngates);
		if (h->mode == LC__WRITE)
			t->insts[ngates++] =
				(struct lc__held_inst){ h->id, h->cls->id };
	}
}

static void drop_pending(struct pending *p)
{
	free(p->gates);
	memset(p, 0, sizeof(*p));
	pending_live--;
}

/* Under lc__slow: the pending signals of condvar cond become edges now
 * that its bound mutex is known; a: the wait that told it (t's). */
static void flush_pending(struct lc__thread *t, uint64_t cond, uint64_t bound,
			  const struct lc__acq *a)
{
	struct lc__graph *g = &lc__classes_graph;

	for (uint32_t i = 0; pending_live && i < npending; i++) {
		struct pending *p = &pending[i];

		if (p->cond != cond)
			continue;
		if (p->held_id != bound)
			lc__observe_edge(
				g, lc__class_node(lc__class_by_id(p->cls)),
				lc__class_node(lc__class_by_id(p->held_cls)),
				LC__COMBO(LC__WRITE, p->mode), p->gates,
				p->ngates, &p->info, t, a, NULL);
		drop_pending(p);
	}
}

void lc__forget_signals(uint64_t cond)
{
	for (uint32_t i = 0; pending_live && i < npending; i++)
		if (pending[i].cond == cond)
			drop_pending(&pending[i]);
}

void lc__signal_edges(struct lc__thread *t, lc_cond_t *c,
		      const struct lc__site *at, const void *ra)
{
	struct lc__acq a = LC__ACQ(&c->lk, LC__WRITE, LC__EVENT, at->file,
				   at->line, at->func, ra);
	uint64_t bound, key;

	assert(t->nheld > 0);
	a.cls = lc__class_fast(&c->lk);
	if (!a.cls)
		return;
	bound = atomic_load_explicit(&c->bound, memory_order_acquire);
	if (!bound) {
		uint64_t held = held_key(t);

		/* The same holds as the last signal's: kept already. */
		if (atomic_load_explicit(&c->pending, memory_order_relaxed) ==
		    held)
			return;
		lc__slow_lock();
		bound = atomic_load(&c->bound);
		if (!bound) {
			keep_pending(t, c, &a);
			atomic_store_explicit(&c->pending, held,
					      memory_order_relaxed);
		}
		lc__slow_unlock();
		if (!bound)
			return;
	}
	key = signal_key(t, a.cls, bound_index(t, bound));
	if (lc__chain_known(t, key))
		return;
	lc__slow_lock();
	record_signal(t, &a, bound, key);
	lc__slow_unlock();
}

void lc__wait_edges(struct lc__thread *t, lc_cond_t *c, uint64_t mutex_id,
		    const struct lc__site *at, const void *ra, uint8_t how)
{
	struct lc__acq a = LC__ACQ(&c->lk, LC__WRITE, how, at->file, at->line,
				   at->func, ra);
	uint64_t none = 0;

	a.cls = lc__class_fast(&c->lk);
	if (!a.cls)
		return;
	if (!atomic_load_explicit(&c->bound, memory_order_acquire)) {
		lc__slow_lock();
		if (atomic_compare_exchange_strong(&c->bound, &none,
						   mutex_id) &&
		    pending_live)
			flush_pending(t, lc__id_fast(&c->lk), mutex_id, &a);
		lc__slow_unlock();
	}
	if (!t->nheld)
		return;
	a.chain = lc__chain_of(t, a.cls, a.mode);
	lc__validate(t, &a);
}

void lc__node_name(lc_cond_t *c, lc_mutex_t *bound, const char *what,
		   const char *name, const char *role, const char *file,
		   int line)
{
	char buf[512];

	snprintf(buf, sizeof(buf), role ? "%s `%s` (%s)" : "%s `%s`", what,
		 name, role);
	lc__init();
	lc__slow_lock();
	/* A class by site, as an initializer's: its name, file and line. */
	c->lk.name = lc__intern_line(buf);
	c->lk.file = lc__intern_line(file);
	c->lk.line = line;
	lc__slow_unlock();
	lc__id_fast(&c->lk); /* classed and numbered now */
	if (bound)
		atomic_store(&c->bound, lc__id_fast(&bound->lk));
}

void lc__node_enter(lc_cond_t *c, const char *file, int line, const char *func)
{
	struct lc__acq a = LC__ACQ(&c->lk, LC__READ, LC__BLOCK, file, line,
				   func, __builtin_return_address(0));
	struct lc__thread *t;

	if (c->lk.kind != LC__KIND_COND || !(t = lc__enter()))
		return;
	a.cls = lc__class_fast(&c->lk);
	a.chain = lc__chain_of(t, a.cls, a.mode);
	lc__push(t, &a);
	lc__leave(t);
}

void lc__node_leave(lc_cond_t *c)
{
	struct lc__thread *t;
	int i;

	if (c->lk.kind != LC__KIND_COND || !(t = lc__enter()))
		return;
	i = lc__find_held(t, &c->lk);
	if (i >= 0 && !lc__pop_top(t, &c->lk))
		lc__pop_held(t, i);
	lc__leave(t);
}

void lc__node_wait(lc_cond_t *c, const char *file, int line, const char *func)
{
	struct lc__acq a = LC__ACQ(&c->lk, LC__WRITE, LC__BLOCK, file, line,
				   func, __builtin_return_address(0));
	struct lc__thread *t;

	if (c->lk.kind != LC__KIND_COND || !(t = lc__enter()))
		return;
	a.cls = lc__class_fast(&c->lk);
	if (t->nheld && a.cls) {
		a.chain = lc__chain_of(t, a.cls, a.mode);
		lc__validate(t, &a);
	}
	lc__leave(t);
}
