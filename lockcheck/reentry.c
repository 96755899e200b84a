/*
 * reentry.c: calls that go past the checker. A signal handler may call
 * lc_ functions while its thread is inside the checker, in the middle of
 * changing its held stack or holding lc__slow: such a call (lc__tls NULL
 * while lc__owned is not) makes the real pthread call and records nothing,
 * and so does a call
 * of a thread whose state cannot be allocated. Their holds are counted, so
 * that whichever unlock comes for them passes, and no state the
 * interrupted call was changing is touched.
 *
 * An acquisition made that way by a signal handler is noted, with what
 * async-signal-safe code can do (atomics, a system call), in a small fixed
 * table; the notes become signal-unsafe findings, once per call site, the
 * next time a thread takes lc__slow, or at exit. The checker only sees a
 * handler that interrupted it: a handler's call that lands outside the
 * checker is checked like any other.
 *
 * Invariants: a note is written only in state FILLING, by the one handler
 * that claimed it, and read only in state READY (its site, atomic, is also
 * compared by handlers looking for a pending note of their site);
 * unrecorded holds never go below zero.
 */
#define _GNU_SOURCE
#include "core.h"

#include <sys/prctl.h>
#include <unistd.h>

_Thread_local volatile unsigned char lc__inside_stateless
	__attribute__((tls_model("initial-exec")));

/* Atomic: a signal handler on this thread may change it between another
 * call's load and store. */
static _Thread_local _Atomic uint32_t unrecorded;

#define NOTES 16 /* call sites noted and not reported yet */

enum { FREE, FILLING, READY };

struct note {
	_Atomic int state;
	_Atomic(const char *) file; /* the handler's call */
	_Atomic(const char *) func;
	_Atomic int line;
	const char *what;	    /* "locked", "waited on" */
	struct lc__class *cls;	    /* the lock's class when it had one */
	char name[LC_TEXT_MAX + 2]; /* the lock's name, as lines show it */
	char thread[16];	    /* the thread's kernel name */
	int tid;
};

static struct note notes[NOTES];
static _Atomic bool noted; /* some note may be READY */

struct lc__thread *lc__enter_slow(void)
{
	struct lc__thread *t;

	if (lc__reentered())
		return NULL; /* inside already: a signal handler's call */
	lc__inside_stateless = 1;
	atomic_signal_fence(memory_order_seq_cst);
	t = lc__thread_create();
	atomic_signal_fence(memory_order_seq_cst);
	lc__inside_stateless = 0;
	return t;
}

bool lc__reentered(void)
{
	return !lc__tls && (lc__owned || lc__inside_stateless);
}

uint32_t lc__unrecorded(void)
{
	return atomic_load_explicit(&unrecorded, memory_order_relaxed);
}

static bool same_site(struct note *n, const struct lc__site *at)
{
	return atomic_load_explicit(&n->file, memory_order_relaxed) ==
		       at->file &&
	       atomic_load_explicit(&n->line, memory_order_relaxed) ==
		       at->line &&
	       atomic_load_explicit(&n->func, memory_order_relaxed) == at->func;
}

static void fill(struct note *n, const struct lc__acq *a, const char *what)
{
	const char *name = a->lk->name ? a->lk->name : "(unnamed lock)";
	size_t i = 0;

	atomic_store_explicit(&n->file, a->at.file, memory_order_relaxed);
	atomic_store_explicit(&n->func, a->at.func, memory_order_relaxed);
	atomic_store_explicit(&n->line, a->at.line, memory_order_relaxed);
	n->what = what;
	n->cls = atomic_load_explicit(&a->lk->cls, memory_order_acquire);
	for (; name[i] && i + 1 < sizeof(n->name); i++)
		n->name[i] = name[i];
	n->name[i] = '\0';
	if (prctl(PR_GET_NAME, n->thread, 0, 0, 0))
		n->thread[0] = '\0';
	n->tid = gettid();
}

/* Async-signal-safe: a note of a's call site, unless one is pending. A
 * full table drops it: its site is noted again at its next call. */
static void note(const struct lc__acq *a, const char *what)
{
	for (int i = 0; i < NOTES; i++)
		if (atomic_load(&notes[i].state) == READY &&
		    same_site(&notes[i], &a->at))
			return;
	for (int i = 0; i < NOTES; i++) {
		int expect = FREE;

		if (!atomic_compare_exchange_strong(&notes[i].state, &expect,
						    FILLING))
			continue;
		fill(&notes[i], a, what);
		atomic_store(&notes[i].state, READY);
		atomic_store(&noted, true);
		return;
	}
}

int lc__passed_acquire(const struct lc__acq *a, int err)
{
	if (lc__reentered())
		note(a, "locked");
	if (!err)
		atomic_fetch_add_explicit(&unrecorded, 1, memory_order_relaxed);
	return err;
}

int lc__passed_wait(const struct lc__acq *a, int err)
{
	if (lc__reentered())
		note(a, "waited on");
	return err;
}

void lc__passed_release(void)
{
	uint32_t n = atomic_load_explicit(&unrecorded, memory_order_relaxed);

	while (n && !atomic_compare_exchange_weak_explicit(
			    &unrecorded, &n, n - 1, memory_order_relaxed,
			    memory_order_relaxed))
		;
}

/* Under lc__slow: one signal-unsafe finding per call site. */
static void report(struct note *n)
{
	struct lc__site at = { atomic_load(&n->file), atomic_load(&n->line),
			       atomic_load(&n->func) };
	uint64_t sig =
		lc__hash_str(lc__hash_str((uint64_t)at.line, at.file), at.func);
	struct lc__buf b;

	if (!lc__finding_is_new(LC__FINDING_SIGNAL_UNSAFE, sig))
		return;
	lc__buf_init(&b);
	lc__buf_put_text(&b, n->cls ? n->cls->name : n->name);
	lc__buf_add(&b, " %s at ", n->what);
	lc__print_site(&b, &at);
	lc__buf_add(&b, " by a signal handler of thread \"");
	lc__buf_put_text(&b, n->thread);
	lc__buf_add(&b,
		    "\" (tid %d) "
		    "that interrupted a lock call of its thread: lock "
		    "calls are not async-signal-safe\n"
		    "  a handler that locks deadlocks when it interrupts "
		    "a holder of the same lock; this call went to "
		    "pthreads unchecked\n",
		    n->tid);
	lc__report(LC__FINDING_SIGNAL_UNSAFE, &b, n->cls ? &n->cls->id : NULL,
		   n->cls ? 1 : 0);
	lc__buf_free(&b);
}

void lc__report_signal_notes(void)
{
	if (!atomic_load_explicit(&noted, memory_order_acquire))
		return;
	atomic_store(&noted, false);
	for (int i = 0; i < NOTES; i++) {
		if (atomic_load(&notes[i].state) != READY)
			continue;
		assert(notes[i].what);
		report(&notes[i]);
		atomic_store(&notes[i].state, FREE);
	}
}
