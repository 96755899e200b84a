/*
 * runtime.c: the checker's process-wide setup. Configuration comes from the
 * environment once, at the first lock operation; the exit hook writes the
 * dump and applies LOCKCHECK_EXITCODE; the fork hooks keep lc__slow usable
 * in a child forked while another thread held it. The slow-path lock lives
 * here.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
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

pthread_mutex_t lc__slow = PTHREAD_MUTEX_INITIALIZER;
struct lc__graph lc__classes_graph;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static _Thread_local int slow_depth;	/* lc__slow holds by this thread */
static _Thread_local int slow_cancel;	/* cancel state to restore at 0 */

/* Re-entrant by the thread-local depth: only the thread that holds the
 * mutex ever sees its own depth above zero. */
void lc__slow_lock(void)
{
	int old;

	if (slow_depth > 0) {
		slow_depth++;
		return;
	}
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_mutex_lock(&lc__slow);
	slow_cancel = old;
	slow_depth = 1;
}

void lc__slow_unlock(void)
{
	if (--slow_depth > 0)
		return;
	pthread_mutex_unlock(&lc__slow);
	pthread_setcancelstate(slow_cancel, NULL);
}

void lc__slow_drop(void)
{
	if (slow_depth == 0)
		return;
	slow_depth = 1;
	lc__slow_unlock();
}

/* A positive number from the environment, or dflt when unset or bad. */
static uint32_t env_u32(const char *name, uint32_t dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !*v)
		return dflt;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || n == 0 || n > UINT32_MAX)
		return dflt;
	return (uint32_t)n;
}

static void read_env(void)
{
	const char *v;

	v = getenv("LOCKCHECK_ACTION");
	lc__cfg.abort_on_report = v && strcmp(v, "abort") == 0;
	v = getenv("LOCKCHECK_EXITCODE");
	if (v && *v)
		lc__cfg.exitcode = atoi(v) & 0xff;
	v = getenv("LOCKCHECK_LOG");
	if (v && *v) {
		int fd = open(v, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);

		if (fd >= 0)
			lc__cfg.log_fd = fd;
	}
	v = getenv("LOCKCHECK_DUMP");
	if (v && *v)
		lc__cfg.dump = strdup(v);
	v = getenv("LOCKCHECK_SYMBOLIZE");
	lc__cfg.symbolize = !(v && strcmp(v, "0") == 0);
	lc__cfg.max_classes = env_u32("LOCKCHECK_MAX_CLASSES", 1u << 20);
	lc__cfg.max_held = env_u32("LOCKCHECK_MAX_HELD", 1u << 16);
	lc__cfg.max_chains = env_u32("LOCKCHECK_MAX_CHAINS", 1u << 22);
}

static void at_exit(void)
{
	struct lc__thread *t = lc__tls;

	if (t)
		lc__thread_flush(t);
	if (lc__cfg.dump)
		lc__dump_write();
	if (lc__cfg.exitcode && lc__findings_count() > 0) {
		fflush(NULL);
		_exit(lc__cfg.exitcode);
	}
}

static void before_fork(void)
{
	lc__slow_lock();
}

static void after_fork_parent(void)
{
	lc__slow_unlock();
}

/* The child reports and counts its own findings from here on. */
static void after_fork_child(void)
{
	lc__findings_forget();
	lc__slow_unlock();
}

static void init_once(void)
{
	read_env();
	lc__graph_init(&lc__classes_graph);
	atexit(at_exit);
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
