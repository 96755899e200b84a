/*
 * process.c: threads and the process's end.
 *
 * pthread_create and pthread_join go through the checker's own wrappers
 * (lockcheck/thread_start.c: the new thread learns the name it inherited
 * before the program's code runs; a join orders the thread's code before
 * the joiner's, for race checking), whose real functions are the next
 * ones. pthread_tryjoin_np and pthread_timedjoin_np, which the checker
 * does not wrap, give the same order when they succeed. Their results
 * are pthreads' own. A thread's end needs nothing here, so pthread_exit
 * is not interposed: the checker's thread key destructor (its exit-held
 * report) and the create wrapper's cleanup handler run for pthread_exit
 * as for a return.
 *
 * exit() ends with the checker's exit hook (dump, exit status 66 after a
 * finding). _exit and _Exit skip it, so they do its work first: the
 * dump, the status. Not in a vfork child (it shares the parent's memory:
 * a dump there would be the parent's and would stop the parent's own),
 * nor when the thread is inside the checker (a signal handler's _exit).
 * fork: the checker's fork hooks keep its state usable in the child;
 * these keep the preload's (a child of a fork made while another thread
 * named a lock).
 */
#define _GNU_SOURCE
#include "preload.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __real_pthread_create(pthread_t *th, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);

int __real_pthread_create(pthread_t *th, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	return LC__PRE_REAL(create)(th, attr, fn, arg);
}

int pthread_create(pthread_t *th, const pthread_attr_t *attr,
		   void *(*fn)(void *), void *arg)
{
	return __wrap_pthread_create(th, attr, fn, arg);
}

int __wrap_pthread_join(pthread_t th, void **ret);
int __real_pthread_join(pthread_t th, void **ret);

int __real_pthread_join(pthread_t th, void **ret)
{
	return LC__PRE_REAL(join)(th, ret);
}

int pthread_join(pthread_t th, void **ret)
{
	return __wrap_pthread_join(th, ret);
}

int pthread_tryjoin_np(pthread_t th, void **ret)
{
	int err = LC__PRE_REAL(tryjoin)(th, ret);

	if (!err)
		lc__thread_joined(th);
	return err;
}

int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *until)
{
	int err = LC__PRE_REAL(timedjoin)(th, ret, until);

	if (!err)
		lc__thread_joined(th);
	return err;
}

/* The process the checker's state belongs to (not a vfork child). */
static _Atomic pid_t owner;

/* The status _exit(status) leaves with, after the dump. */
static int finish(int status)
{
	struct lc__thread *t = lc__tls;

	if (getpid() != atomic_load(&owner) || lc__reentered())
		return status;
	if (t) {
		lc__tls = NULL;
		atomic_signal_fence(memory_order_seq_cst);
		lc__thread_flush(t);
		lc__leave(t);
	}
	if (lc__cfg.dump)
		lc__dump_write();
	if (lc__cfg.exitcode && lc__findings_count() > 0)
		return lc__cfg.exitcode;
	return status;
}

void _exit(int status)
{
	LC__PRE_REAL(exit_now)(finish(status));
}

void _Exit(int status)
{
	LC__PRE_REAL(exit_now_c99)(finish(status));
}

static void child(void)
{
	atomic_store(&owner, getpid());
	lc__pre_fork_child();
}

/* LOCKCHECK_PRELOAD_CHILDREN=0 (lockcheck-run --no-children): the
 * programs this one runs are not checked. Before main, the variable goes
 * from the environment and this library from LD_PRELOAD (other preloads
 * stay), so exec'd children never see them. */
static void keep_from_children(void)
{
	const char *v = getenv("LOCKCHECK_PRELOAD_CHILDREN");
	const char *pre = getenv("LD_PRELOAD");
	char rest[4096], word[4096];
	size_t len = 0;

	if (!v || strcmp(v, "0") != 0)
		return;
	unsetenv("LOCKCHECK_PRELOAD_CHILDREN");
	rest[0] = '\0';
	while (pre && *pre) {
		size_t n = strcspn(pre, " :");

		if (n > 0 && n < sizeof(word)) {
			memcpy(word, pre, n);
			word[n] = '\0';
			if (!strstr(word, "liblockcheck-preload.so") &&
			    len + n + 2 < sizeof(rest)) {
				if (len)
					rest[len++] = ' ';
				memcpy(rest + len, word, n + 1);
				len += n;
			}
		}
		pre += n + (pre[n] != '\0');
	}
	if (len)
		setenv("LD_PRELOAD", rest, 1);
	else
		unsetenv("LD_PRELOAD");
}

/* At load: before the program's fork handlers are registered, so ours
 * prepare last and run first in the child. */
__attribute__((constructor)) static void at_load(void)
{
	atomic_store(&owner, getpid());
	keep_from_children();
	lc__pre_resolve();
	pthread_atfork(lc__pre_fork_prepare, lc__pre_fork_parent, child);
}
