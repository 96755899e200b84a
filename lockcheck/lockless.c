/*
 * lockless.c: lc_assert_no_locks_held, jemalloc's witness_assert_lockless.
 *
 * The calling thread must hold no lock at all. When it holds some, the
 * finding is an assert-held report that names each lock held, its class
 * and where it was taken, the thread and the stack of the assertion; once
 * per call site of the assertion. Only its own thread reads a thread's
 * held stack, so the check itself takes no lock.
 */
#define _GNU_SOURCE
#include "core.h"

#include <string.h>

#define CALLER	    __builtin_return_address(0)
#define MAX_CLASSES 16 /* classes of a report kept for the dump */

/* Set apart from misuse_findings.c's assert-held signatures, seeded by class.
 */
#define LOCKLESS_SEED 0x6c6f636b6c657373ULL

static uint64_t signature(const struct lc__site *at)
{
	return lc__hash_str(lc__hash_str(LOCKLESS_SEED, at->file), at->func) +
	       (uint64_t)at->line * 31;
}

/* "  holds CLASS [init site] for read, taken at SITE", the lock's own
 * name first ("NAME of class CLASS ...") when its class has another. */
static void print_held(struct lc__buf *b, const struct lc__held *h)
{
	const char *name = h->lk->name;

	lc__buf_add(b, "  holds ");
	if (name && (!h->cls || strcmp(name, h->cls->name) != 0)) {
		lc__buf_put_text(b, name);
		lc__buf_add(b, " of class ");
	}
	lc__print_class(b, h->cls);
	if (h->mode == LC__READ)
		lc__buf_add(b, " for read");
	lc__buf_add(b, ", taken at ");
	lc__print_site(b, &h->at);
	lc__buf_add(b, "\n");
}

/* A pool's task runs "inside" its pool (waits.c): not a lock. */
static bool is_lock(const struct lc__held *h)
{
	return !h->cls || h->cls->kind != LC__KIND_COND;
}

static uint32_t locks_held(const struct lc__thread *t)
{
	uint32_t n = t->untracked;

	for (uint32_t i = 0; i < t->nheld; i++)
		n += is_lock(&t->held[i]);
	return n;
}

static void report(struct lc__thread *t, const struct lc__site *at,
		   const void *ra)
{
	uint32_t classes[MAX_CLASSES], n = 0, held = locks_held(t);
	void *frames[64];
	struct lc__buf b;

	lc__buf_init(&b);
	lc__buf_add(&b, "thread \"");
	lc__buf_put_text(&b, lc__thread_name(t));
	lc__buf_add(&b, "\" holds %u lock%s at ", held, held == 1 ? "" : "s");
	lc__buf_put_text(&b, at->file);
	lc__buf_add(&b, ":%d (lc_assert_no_locks_held failed)\n", at->line);
	for (uint32_t i = 0; i < t->nheld; i++) {
		if (!is_lock(&t->held[i]))
			continue;
		print_held(&b, &t->held[i]);
		if (t->held[i].cls && n < MAX_CLASSES)
			classes[n++] = t->held[i].cls->id;
	}
	if (t->untracked)
		lc__buf_add(&b, "  and %u more beyond LOCKCHECK_MAX_HELD\n",
			    t->untracked);
	lc__buf_add(&b, "  thread \"");
	lc__buf_put_text(&b, lc__thread_name(t));
	lc__buf_add(&b, "\" (tid %d) at ", t->tid);
	lc__print_site(&b, at);
	lc__buf_add(&b, ":\n");
	lc__print_stack(&b, frames, lc__stack_now(ra, frames, 64), "    ");
	lc__report(LC__FINDING_ASSERT_HELD, &b, classes, n);
	lc__buf_free(&b);
}

void lc__assert_no_locks_held(const char *file, int line, const char *func)
{
	struct lc__site at = { file, line, func };
	struct lc__thread *t = lc__enter();

	if (!t)
		return; /* no state to tell, or a signal handler inside */
	if (locks_held(t)) {
		lc__slow_lock();
		if (lc__finding_is_new(LC__FINDING_ASSERT_HELD, signature(&at)))
			report(t, &at, CALLER);
		lc__slow_unlock();
	}
	lc__leave(t);
}
