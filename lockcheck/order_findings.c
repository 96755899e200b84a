/*
 * order_findings.c: the text of a lock-order-cycle report (and of an
 * order-violation, its keyed cousin). A cycle is shown edge by edge in
 * cycle order, starting with the edge that closed it: both locks, where
 * each was taken, the thread that first did it and its stack then; then the
 * acquisition that closed the cycle, with its stack now. Only the cycle's
 * nodes appear, whatever else the graph holds.
 */
#define _GNU_SOURCE
#include "internal.h"

#define MAX_EDGE_STACKS	  8  /* edges of a report that show their stack */
#define EDGE_STACK_FRAMES 6  /* frames shown of each */
#define NOW_FRAMES	  64 /* frames shown of the closing acquisition */

/* A long cycle's report stays bounded: its first line names this many
 * locks (each at most LC_TEXT_MAX bytes before escaping, so the line fits
 * lockgraph's 64 KiB with room to spare), its block shows this many
 * edges, and "... and N more" says what is left out. */
#define SUMMARY_LOCKS 16
#define SHOWN_EDGES   32

static const char *mode_name(uint8_t mode)
{
	return mode == LC__READ ? "read" : "write";
}

/* " (held->wanted: W->R, R->W)": the mode pairs an rwlock edge was seen in. */
static void print_modes(struct lc__buf *b, uint8_t modes)
{
	const char *sep = " (held->wanted:";

	for (int h = 1; h >= 0; h--)
		for (int w = 1; w >= 0; w--)
			if (modes & LC__COMBO(h, w)) {
				lc__buf_add(b, "%s %c->%c", sep, "RW"[h],
					    "RW"[w]);
				sep = ",";
			}
	lc__buf_add(b, ")");
}

/* A node: a class by name (with its init site when site is set), or one
 * lock of class cls (instance graphs) as "name#n", the n-th lock of its
 * class (with its address when site is set). */
static void print_node(struct lc__buf *b, const struct lc__graph *g,
		       uint32_t node, const struct lc__class *cls, bool site)
{
	const struct lc__class *c;

	assert(node < g->nnodes);
	c = cls ? cls : lc__class_by_id((uint32_t)g->nodes[node].key);
	assert(c);
	if (site && !cls) {
		lc__print_class(b, c);
		return;
	}
	lc__buf_put_text(b, c->name);
	if (cls && site)
		lc__buf_add(b, "#%u [%p]", g->nodes[node].label,
			    g->nodes[node].addr);
	else if (cls)
		lc__buf_add(b, "#%u", g->nodes[node].label);
}

static const struct lc__edge *edge_at(const struct lc__graph *g,
				      const uint32_t *path, uint32_t i)
{
	assert(path[i] < g->nedges);
	return lc__graph_edge(g, path[i]);
}

/* Threads that first took the cycle's edges, each counted once: linear,
 * with a set of tids (without memory for it, a lower bound: the threads
 * of the edges counted so far, and at least one). */
static uint32_t count_threads(const struct lc__graph *g, const uint32_t *path,
			      uint32_t n)
{
	struct lc__u64map seen = { 0 };
	uint32_t threads = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t tid = (uint32_t)edge_at(g, path, i)->info.tid;

		if (lc__u64map_get(&seen, tid, NULL))
			continue;
		if (lc__u64map_put(&seen, tid, 1))
			break;
		threads++;
	}
	lc__u64map_free(&seen);
	return threads ? threads : 1;
}

/* "A -> B -> A (2 locks, 2 threads)"; a long cycle names its first
 * SUMMARY_LOCKS locks: "A -> B -> ... and 9 more -> A (11 locks, ...)". */
static void print_summary(struct lc__buf *b, const struct lc__graph *g,
			  const uint32_t *path, uint32_t n,
			  const struct lc__class *cls)
{
	uint32_t threads = count_threads(g, path, n);

	for (uint32_t i = 0; i < n && i < SUMMARY_LOCKS; i++) {
		print_node(b, g, edge_at(g, path, i)->from, cls, false);
		lc__buf_add(b, " -> ");
	}
	if (n > SUMMARY_LOCKS)
		lc__buf_add(b, "... and %u more -> ", n - SUMMARY_LOCKS);
	print_node(b, g, edge_at(g, path, 0)->from, cls, false);
	lc__buf_add(b, " (%u locks", n);
	if (cls) {
		lc__buf_add(b, " of class ");
		lc__buf_put_text(b, cls->name);
	}
	lc__buf_add(b, ", %u thread%s)\n", threads, threads == 1 ? "" : "s");
}

static void print_edge(struct lc__buf *b, const struct lc__graph *g,
		       const struct lc__edge *e, uint32_t i,
		       const struct lc__class *cls)
{
	const struct lc__edge_info *in = &e->info;
	void *const *frames;
	int nframes = 0;

	lc__buf_add(b, "  #%u ", i + 1);
	print_node(b, g, e->from, cls, true);
	lc__buf_add(b, " -> ");
	print_node(b, g, e->to, cls, true);
	if (e->modes != LC__COMBO(LC__WRITE, LC__WRITE))
		print_modes(b, e->modes);
	lc__buf_add(b, ", first by thread \"");
	lc__buf_put_text(b, in->thread);
	lc__buf_add(b, "\" (tid %d)\n", in->tid);
	lc__buf_add(b, "      held lock taken at ");
	lc__print_site(b, &in->held_at);
	lc__buf_add(b, "\n      next lock wanted at ");
	lc__print_site(b, &in->next_at);
	lc__buf_add(b, "\n");
	if (i < MAX_EDGE_STACKS && in->stack)
		nframes = lc__stack_get(in->stack, &frames);
	if (nframes > 0)
		lc__print_stack(b, frames,
				nframes < EDGE_STACK_FRAMES ? nframes
							    : EDGE_STACK_FRAMES,
				"        ");
}

/* The acquisition that closed the cycle, with its stack now. */
static void print_closer(struct lc__buf *b, struct lc__thread *t,
			 const struct lc__acq *a)
{
	void *frames[NOW_FRAMES];
	int n = lc__stack_now(a->ra, frames, NOW_FRAMES);

	lc__buf_add(b, "  closed now by thread \"");
	lc__buf_put_text(b, lc__thread_name(t));
	lc__buf_add(b, "\" (tid %d) wanting ", t->tid);
	lc__buf_put_text(b, a->cls->name);
	lc__buf_add(b, " (%s) at ", mode_name(a->mode));
	lc__print_site(b, &a->at);
	lc__buf_add(b, ":\n");
	lc__print_stack(b, frames, n, "    ");
}

/* The same cycle is the same set of nodes, whichever edge closed it.
 * Class ids and instance ids are small numbers from one range, so each
 * graph salts its keys (the class graph with 0, an instance graph with its
 * class): a cycle of instances never passes for a cycle of classes. Plus
 * one, since the mixer maps 0 to 0 and class 0 must count. */
static uint64_t cycle_signature(const struct lc__graph *g, const uint32_t *path,
				uint32_t n, const struct lc__class *cls)
{
	uint64_t salt = cls ? lc__mix64(cls->id + 1) : 0, sig = salt;

	for (uint32_t i = 0; i < n; i++)
		sig += lc__mix64(g->nodes[edge_at(g, path, i)->from].key + 1 +
				 salt);
	return sig;
}

bool lc__cycle_is_new(const struct lc__graph *g, const uint32_t *path,
		      uint32_t n, const struct lc__class *cls)
{
	return !lc__finding_seen(!cls && lc__cycle_waits(g, path, n)
					 ? LC__FINDING_WAIT_CYCLE
					 : LC__FINDING_LOCK_ORDER_CYCLE,
				 cycle_signature(g, path, n, cls));
}

void lc__report_cycle(const struct lc__graph *g, const uint32_t *path,
		      uint32_t n, struct lc__thread *t, const struct lc__acq *a,
		      const struct lc__class *cls)
{
	uint32_t classes[64], ncls = 0;
	struct lc__buf b;

	if (!cls && lc__cycle_waits(g, path, n)) {
		lc__report_wait_cycle(g, path, n, t, a,
				      cycle_signature(g, path, n, cls));
		return;
	}
	if (!lc__finding_is_new(LC__FINDING_LOCK_ORDER_CYCLE,
				cycle_signature(g, path, n, cls)))
		return;
	lc__buf_init(&b);
	print_summary(&b, g, path, n, cls);
	lc__buf_add(&b, "  each lock below is held while the next one is "
			"wanted: threads doing this at once deadlock\n");
	for (uint32_t i = 0; i < n && i < SHOWN_EDGES; i++)
		print_edge(&b, g, edge_at(g, path, i), i, cls);
	if (n > SHOWN_EDGES)
		lc__buf_add(&b, "  ... and %u more edges, not shown\n",
			    n - SHOWN_EDGES);
	print_closer(&b, t, a);
	if (cls)
		classes[ncls++] = cls->id;
	for (uint32_t i = 0; !cls && i < n && ncls < 64; i++)
		classes[ncls++] =
			(uint32_t)g->nodes[edge_at(g, path, i)->from].key;
	lc__report(LC__FINDING_LOCK_ORDER_CYCLE, &b, classes, ncls);
	lc__buf_free(&b);
}

/* "key 7", or "no key" for a lock without one. */
static void print_key(struct lc__buf *b, const struct lc__lock *lk)
{
	if (lk->has_order)
		lc__buf_add(b, "key %llu", (unsigned long long)lk->order);
	else
		lc__buf_add(b, "no key");
}

void lc__report_order_violation(struct lc__thread *t, const struct lc__held *h,
				const struct lc__acq *a)
{
	void *frames[NOW_FRAMES];
	struct lc__buf b;
	int n;

	if (!lc__finding_is_new(LC__FINDING_ORDER_VIOLATION,
				lc__hash_str(a->cls->id, a->at.file) +
					(uint64_t)a->at.line))
		return;
	lc__buf_init(&b);
	lc__buf_put_text(&b, a->cls->name);
	lc__buf_add(&b, " with ");
	print_key(&b, a->lk);
	lc__buf_add(&b, " wanted while holding ");
	print_key(&b, h->lk);
	lc__buf_add(&b, " of the same class, at ");
	lc__print_site(&b, &a->at);
	lc__buf_add(&b, "\n  locks of one class held together must all have "
			"order keys and be taken in ascending key order "
			"(lc_mutex_set_order)\n  class ");
	lc__print_class(&b, a->cls);
	lc__buf_add(&b, "\n  holds ");
	print_key(&b, h->lk);
	lc__buf_add(&b, " (%p), taken at ", (void *)h->lk);
	lc__print_site(&b, &h->at);
	lc__buf_add(&b, "\n  wants ");
	print_key(&b, a->lk);
	lc__buf_add(&b, " (%p) at ", (void *)a->lk);
	lc__print_site(&b, &a->at);
	lc__buf_add(&b, "\n  thread \"");
	lc__buf_put_text(&b, lc__thread_name(t));
	lc__buf_add(&b, "\" (tid %d):\n", t->tid);
	n = lc__stack_now(a->ra, frames, NOW_FRAMES);
	lc__print_stack(&b, frames, n, "    ");
	lc__report(LC__FINDING_ORDER_VIOLATION, &b, &a->cls->id, 1);
	lc__buf_free(&b);
}
