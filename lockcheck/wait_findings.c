/*
 * wait_findings.c: the text of a wait-cycle report. A cycle of the class
 * graph through a wait node (a condvar) is shown as sentences, one per
 * edge, in cycle order from the edge that closed it:
 *
 *   `table` held while waiting on condvar [q.c:12] at q.c:40 in flush()
 *   condvar [q.c:12] signalled holding `table` at q.c:61 in writer()
 *   `a` held while wanting `b` at x.c:9 in f()
 *   pool `workers` held while wanting `X` at t.c:31 in task()
 *
 * each with where its held lock was taken and the thread that first did
 * it; then the wait or signal that closed the cycle, with its stack.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <string.h>

#define EDGE_STACK_FRAMES 6  /* frames shown of each edge */
#define MAX_EDGE_STACKS	  8  /* edges of a report that show their stack */
#define NOW_FRAMES	  64 /* frames shown of the closing call */

static const struct lc__class *class_at(const struct lc__graph *g,
					uint32_t node)
{
	assert(node < g->nnodes);
	return lc__class_by_id((uint32_t)g->nodes[node].key);
}

static bool is_wait(const struct lc__class *c)
{
	return c && c->kind == LC__KIND_COND;
}

/* A lock as `name`, a condvar as "condvar [file:line]" (a named wait
 * node, as a channel's, by its name). */
static void print_node(struct lc__buf *b, const struct lc__class *c)
{
	if (!c)
		lc__buf_add(b, "(unknown class)");
	else if (!is_wait(c))
		lc__buf_put_quoted(b, c->name);
	else if (strcmp(c->name, "condvar") == 0)
		lc__print_class(b, c);
	else
		lc__buf_put_text(b, c->name);
}

bool lc__cycle_waits(const struct lc__graph *g, const uint32_t *path,
		     uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (g->nodes[lc__graph_edge(g, path[i])->from].kind ==
		    LC__NODE_WAIT)
			return true;
	return false;
}

/* "`table` -> condvar [q.c:12] -> `table` (1 lock, 1 wait, 2 threads)" */
static void print_summary(struct lc__buf *b, const struct lc__graph *g,
			  const uint32_t *path, uint32_t n)
{
	uint32_t waits = 0, threads = 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct lc__edge *e = lc__graph_edge(g, path[i]);
		bool seen = false;

		print_node(b, class_at(g, e->from));
		lc__buf_add(b, " -> ");
		waits += is_wait(class_at(g, e->from));
		for (uint32_t j = 0; j < i; j++)
			seen |= lc__graph_edge(g, path[j])->info.tid ==
				e->info.tid;
		threads += !seen;
	}
	print_node(b, class_at(g, lc__graph_edge(g, path[0])->from));
	lc__buf_add(b, " (%u lock%s, %u wait%s, %u thread%s)\n", n - waits,
		    n - waits == 1 ? "" : "s", waits, waits == 1 ? "" : "s",
		    threads, threads == 1 ? "" : "s");
}

/* An edge out of a wait node held for read: a thread inside the node (a
 * pool's task) wanted the next lock; any other edge out of one is a
 * signal (the node "held" for write, as the signaller's event). */
static bool is_inside(const struct lc__edge *e)
{
	return e->modes &
	       (LC__COMBO(LC__READ, LC__READ) | LC__COMBO(LC__READ, LC__WRITE));
}

/* One edge as a sentence: a wait (lock -> wait node), a signal (wait node
 * -> lock), or a lock wanted while holding a lock or inside a node. */
static void print_edge(struct lc__buf *b, const struct lc__graph *g,
		       const struct lc__edge *e, uint32_t i)
{
	const struct lc__class *from = class_at(g, e->from);
	const struct lc__class *to = class_at(g, e->to);
	const struct lc__edge_info *in = &e->info;
	bool signal = is_wait(from) && !is_inside(e);
	void *const *frames;
	int nframes = 0;

	lc__buf_add(b, "  #%u ", i + 1);
	print_node(b, from);
	lc__buf_add(b, signal	     ? " signalled holding "
		       : is_wait(to) ? " held while waiting on "
				     : " held while wanting ");
	print_node(b, to);
	lc__buf_add(b, " at ");
	lc__print_site(b, signal ? &in->held_at : &in->next_at);
	lc__buf_add(b, "\n      ");
	print_node(b, signal ? to : from);
	lc__buf_add(b,
		    is_wait(from) && !signal ? " entered at " : " taken at ");
	lc__print_site(b, signal ? &in->next_at : &in->held_at);
	lc__buf_add(b, ", first by thread \"");
	lc__buf_put_text(b, in->thread);
	lc__buf_add(b, "\" (tid %d)\n", in->tid);
	if (i < MAX_EDGE_STACKS && in->stack)
		nframes = lc__stack_get(in->stack, &frames);
	if (nframes > 0)
		lc__print_stack(b, frames,
				nframes < EDGE_STACK_FRAMES ? nframes
							    : EDGE_STACK_FRAMES,
				"        ");
}

/* The wait, signal or lock that closed the cycle, with its stack now. */
static void print_closer(struct lc__buf *b, struct lc__thread *t,
			 const struct lc__acq *a)
{
	void *frames[NOW_FRAMES];
	int n = lc__stack_now(a->ra, frames, NOW_FRAMES);

	lc__buf_add(b, "  closed now by thread \"");
	lc__buf_put_text(b, lc__thread_name(t));
	lc__buf_add(b, "\" (tid %d) ", t->tid);
	lc__buf_add(b, a->how == LC__EVENT ? "signalling "
		       : is_wait(a->cls)   ? "waiting on "
					   : "wanting ");
	print_node(b, a->cls);
	lc__buf_add(b, " at ");
	lc__print_site(b, &a->at);
	lc__buf_add(b, ":\n");
	lc__print_stack(b, frames, n, "    ");
}

void lc__report_wait_cycle(const struct lc__graph *g, const uint32_t *path,
			   uint32_t n, struct lc__thread *t,
			   const struct lc__acq *a, uint64_t sig)
{
	uint32_t classes[64], ncls = 0;
	struct lc__buf b;

	if (!lc__finding_is_new(LC__FINDING_WAIT_CYCLE, sig))
		return;
	lc__buf_init(&b);
	print_summary(&b, g, path, n);
	lc__buf_add(&b, "  each thread below waits for the next while holding "
			"what that one needs: together they wait forever\n");
	for (uint32_t i = 0; i < n; i++)
		print_edge(&b, g, lc__graph_edge(g, path[i]), i);
	print_closer(&b, t, a);
	for (uint32_t i = 0; i < n && ncls < 64; i++)
		classes[ncls++] =
			(uint32_t)g->nodes[lc__graph_edge(g, path[i])->from]
				.key;
	lc__report(LC__FINDING_WAIT_CYCLE, &b, classes, ncls);
	lc__buf_free(&b);
}
