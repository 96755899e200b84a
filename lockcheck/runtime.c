/*
 * runtime.c: the checker's process-wide setup. Configuration comes from the
 * environment once, at the first lock operation (config.c); the exit hook
 * writes the dump and applies LOCKCHECK_EXITCODE; the fork hooks keep
 * lc__slow usable in a child forked while another thread held it. The
 * slow-path lock lives here.
 *
 * The exit hook runs after everything else the process does at exit: the
 * program's atexit handlers, C++ static destructors, every object's
 * destructor functions (a lock bug in any of them still counts), so that
 * changing the exit status with _exit() loses none of them. At exit, glibc
 * runs the atexit list last-registered first, and the object destructors
 * from a handler registered before main; the checker's own destructor
 * (priority 101: after the other destructors of its object) registers the
 * hook from there, and a handler registered while exit runs is run after
 * the one that registered it. Output the hook's _exit() would leave in
 * stdio buffers is flushed first.
 */
#define _GNU_SOURCE
#include "core.h"
#include "race.h"

#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Referenced by every object built with LOCKCHECK=1 (see lockcheck.h). */
const int lc_built_with_LOCKCHECK_1 = 1;

struct lc__config lc__cfg = {
	.log_fd = STDERR_FILENO,
	.symbolize = true,
	.max_classes = 1u << 20,
	.max_held = 1u << 16,
	.max_chains = 1u << 22,
};

static pthread_mutex_t lc__slow = PTHREAD_MUTEX_INITIALIZER;
struct lc__graph lc__classes_graph;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Thread_local int slow_depth;	 /* lc__slow holds by this thread */
static _Thread_local int slow_cancel;	 /* cancel state to restore at 0 */
static _Thread_local sigset_t slow_mask; /* signal mask to restore at 0 */

/* Signals a fault raises on the spot: never blocked (a blocked one kills
 * the process). */
static const int faults[] = {
	SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS
};

void lc__block_signals(sigset_t *old)
{
	sigset_t block;

	sigfillset(&block);
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&block, faults[i]);
	pthread_sigmask(SIG_BLOCK, &block, old);
}

/*
 * Re-entrant by the thread-local depth: only the thread that holds the
 * mutex ever sees its own depth above zero. Asynchronous signals wait
 * while it is held: a signal handler that locks (going past the checker,
 * reentry.c) could otherwise wait for a lock whose holder waits for
 * lc__slow, which its own thread holds.
 */
void lc__slow_lock(void)
{
	sigset_t old_mask;
	int old;

	if (slow_depth > 0) {
		slow_depth++;
		return;
	}
	lc__block_signals(&old_mask);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_mutex_lock(&lc__slow);
	slow_cancel = old;
	slow_mask = old_mask;
	slow_depth = 1;
	lc__report_signal_notes();
}

void lc__slow_unlock(void)
{
	assert(slow_depth > 0);
	if (--slow_depth > 0)
		return;
	pthread_mutex_unlock(&lc__slow);
	pthread_setcancelstate(slow_cancel, NULL);
	pthread_sigmask(SIG_SETMASK, &slow_mask, NULL);
}

void lc__slow_drop(void)
{
	if (slow_depth == 0)
		return;
	slow_depth = 1;
	lc__slow_unlock();
}

/* Under AddressSanitizer its leak check runs after the hook: run it now. */
extern void __lsan_do_leak_check(void) __attribute__((weak));

static atomic_bool started; /* lc__init ran: there is something to do */

static void at_exit(void)
{
	struct lc__thread *t = lc__tls;

	lc__slow_lock(); /* reports what signal handlers noted */
	lc__slow_unlock();
	if (t) { /* inside the checker: a signal handler goes past it */
		lc__tls = NULL;
		atomic_signal_fence(memory_order_seq_cst);
		lc__thread_flush(t);
		lc__leave(t);
	}
	if (lc__cfg.dump)
		lc__dump_write();
	if (!lc__cfg.exitcode || lc__findings_count() == 0)
		return;
	fflush(NULL);
	if (__lsan_do_leak_check)
		__lsan_do_leak_check();
	_exit(lc__cfg.exitcode);
}

__attribute__((destructor(101))) static void arm_exit_hook(void)
{
	if (atomic_load(&started) && atexit(at_exit) != 0)
		at_exit(); /* cannot register: as late as it gets */
}

/* lc__slow first, then the race checker's locks: the order the dump at
 * exit takes them in (a fork while another thread exits must not wait
 * for it forever). */
static void before_fork(void)
{
	lc__slow_lock();
	lc__race_fork_prepare();
}

static void after_fork_parent(void)
{
	lc__race_fork_parent();
	lc__slow_unlock();
}

/* The child reports and counts its own findings from here on; its
 * thread is the one that forked, under a new id. */
static void after_fork_child(void)
{
	lc__race_fork_child();
	lc__findings_forget();
	if (lc__owned)
		lc__owned->tid = gettid();
	lc__slow_unlock();
}

static void init_once(void)
{
	lc__graph_init(&lc__classes_graph);
	lc__config_read();
	atomic_store(&started, true);
}

/* The environment is read at the first lock operation, so a program may
 * still set LOCKCHECK_ variables in main() before its first lock. */
void lc__init(void)
{
	pthread_once(&once, init_once);
}

/* At load time: fork hooks registered first run their prepare part last,
 * after the program's own (which may take lc_ locks); and the unwinder is
 * loaded now, not by a first backtrace() under lc__slow. */
__attribute__((constructor)) static void init_at_load(void)
{
	void *frame;

	pthread_atfork(before_fork, after_fork_parent, after_fork_child);
	backtrace(&frame, 1);
}
