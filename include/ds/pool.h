/*
 * pool.h: a fixed set of named worker threads running tasks from a
 * bounded queue.
 *
 * Model. A ds_pool owns nworkers threads, named "<name>-1" .. "<name>-N"
 * (lc_thread_set_name: in reports and, cut to 15 bytes, in /proc and
 * debuggers), and a FIFO queue of at most queue_cap tasks, allocated at
 * creation; submitting never allocates. A task is a function and its
 * argument, `void fn(void *arg)`; each idle worker takes the oldest task
 * and runs it. A full queue makes ds_pool_submit wait (backpressure);
 * ds_pool_try_submit never waits (EAGAIN), ds_pool_submit_timeout waits at
 * most ms milliseconds on CLOCK_MONOTONIC (ETIMEDOUT).
 *
 * Ownership. The pool never owns a task's arg. Once a submit returns 0 the
 * task is accepted, and exactly one of these happens to it: fn(arg) runs
 * once on a worker, or (only in ds_pool_shutdown(p, DS_POOL_CANCEL)) the
 * cancel callback runs once with arg. A submit that fails leaves the
 * task with the caller: nothing of it is called.
 *
 * Shutdown. ds_pool_shutdown ends the pool, in one of two ways:
 *   DS_POOL_DRAIN   every accepted task runs, queued ones included;
 *   DS_POOL_CANCEL  the tasks running at that moment finish; the queued
 *                   ones never run: each one's arg goes to the cancel
 *                   callback (ds_pool_on_cancel), on the thread that calls
 *                   shutdown, in queue order, before it waits for the
 *                   workers. Without a callback they are dropped silently:
 *                   set one when an arg owns memory.
 * Either way, from the moment shutdown begins every submit fails with
 * EPIPE (those blocked in submit wake up with it), shutdown joins every
 * worker and waits for woken submitters to leave, then frees the pool.
 *
 * Tasks. A task runs with no lock of the pool held; it may lock, wait and
 * submit like any code. It must return with every lock it took released:
 * in LOCKCHECK=1 builds a worker asserts it holds no lock at all before
 * each task (lc_assert_no_locks_held), so a lock a task kept is reported
 * (assert-held) when the next task starts on that worker. Its own pool is
 * special in two ways: a task's ds_pool_submit on its own pool with a full
 * queue returns EDEADLK instead of waiting (the room it would wait for can only
 * come from the workers, and it occupies one: with every worker doing that, the
 * pool would hang for ever); and ds_pool_shutdown of its own pool returns
 * EDEADLK (it would wait for itself). try_submit and submit_timeout from a task
 * work as from any thread. A task that blocks holds its worker while it blocks:
 * tasks that wait for each other need as many workers as there are tasks in the
 * wait, and a task that never returns makes shutdown wait for ever. A task must
 * return (not pthread_exit, not longjmp out).
 *
 * Locking. One lc_mutex_t per pool (class "ds_pool.lock"), held only to
 * change the queue and counters; tasks and the cancel callback run
 * without it, so the pool's lock is always the last one taken.
 *
 * Errors: 0 or a positive errno value: EINVAL (NULL pointer, zero size,
 * unknown mode, negative timeout), ENOMEM or a pthread_create error such
 * as EAGAIN (creation only), EAGAIN (try_submit on a full queue),
 * ETIMEDOUT, EPIPE (shutdown began), EDEADLK (see Tasks). A failed call
 * changes nothing.
 *
 * Thread safety: every function may be called from any thread, at the
 * same time, with one rule for the end: ds_pool_shutdown frees the pool,
 * so it is called once, and no thread may start a call on the pool once
 * shutdown may have returned. Threads already inside a submit when it
 * begins, and tasks, are safe: shutdown waits for them.
 *
 * Failures, the rule of every ds/ header: a call returns an errno value
 * for what correct use can meet (bad arguments, the states and misuses
 * listed with each function, running out of memory, threads or file
 * descriptors; creation also returns EAGAIN or ENOMEM when a lock or
 * condition variable cannot be initialised) and leaves the structure
 * consistent, unchanged unless its function says otherwise. A lock, unlock
 * or wait on the structure's own locks cannot fail in correct use: if one
 * does, that is a bug in ds/ or a broken REQUIRES, and assert() stops the
 * program; it is never returned.
 */
#ifndef DS_POOL_H
#define DS_POOL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_pool ds_pool_t;

/* How ds_pool_shutdown treats the queued tasks. */
enum ds_pool_mode {
	DS_POOL_DRAIN = 1,  /* run every one of them */
	DS_POOL_CANCEL = 2, /* run none: hand each arg to the cancel callback */
};

/* A snapshot of a pool, for monitoring and tests. */
struct ds_pool_stats {
	size_t workers;		   /* threads, fixed at creation */
	size_t queue_cap;	   /* queue slots, fixed at creation */
	size_t queued;		   /* tasks waiting for a worker now */
	size_t running;		   /* tasks running now */
	size_t submitters_waiting; /* threads blocked in a submit now */
	uint64_t completed;	   /* tasks that ran and returned */
};

/*
 * Creates a pool of nworkers threads and a queue of queue_cap tasks. name
 * is copied; workers are named "<name>-1" .. "<name>-<nworkers>". A macro:
 * the pool's create site is its class for the checker (as a lock's init
 * site is). On success *p owns the pool (end it with ds_pool_shutdown).
 * Returns 0; EINVAL for NULL p or name, or a zero size; ENOMEM; EAGAIN (or
 * ENOMEM) when its lock or a condition variable cannot be initialised; or
 * the error of pthread_create (EAGAIN: no more threads). When a worker cannot
 * be started, the ones started before it are stopped and joined: nothing
 * is left behind, and *p is untouched.
 */
#define ds_pool_create(p, nworkers, queue_cap, name)                           \
	ds__pool_create((p), (nworkers), (queue_cap), (name), __FILE__,        \
			__LINE__)

/*
 * Sets the callback that ds_pool_shutdown(p, DS_POOL_CANCEL) calls once
 * with the arg of each queued task it drops (NULL: none, the default). It
 * runs on the thread calling shutdown, with no lock of the pool held.
 * Returns 0; EINVAL for NULL p; EPIPE when shutdown began.
 */
int ds_pool_on_cancel(ds_pool_t *p, void (*fn)(void *arg));

/*
 * Queues fn(arg) to run on a worker, waiting while the queue is full.
 * Returns 0 (the task is accepted: see Ownership); EPIPE when shutdown
 * began, before or during the wait; EINVAL for NULL p or fn; EDEADLK when
 * called by a task of p on a full queue (it does not wait).
 */
int ds_pool_submit(ds_pool_t *p, void (*fn)(void *arg), void *arg);

/* ds_pool_submit without waiting: EAGAIN when the queue is full. */
int ds_pool_try_submit(ds_pool_t *p, void (*fn)(void *arg), void *arg);

/* ds_pool_submit waiting at most ms milliseconds (CLOCK_MONOTONIC):
 * ETIMEDOUT when the queue had no room by then; EINVAL for ms < 0. */
int ds_pool_submit_timeout(ds_pool_t *p, void (*fn)(void *arg), void *arg,
			   long ms);

/*
 * Ends the pool (see Shutdown): mode DS_POOL_DRAIN runs every queued task,
 * DS_POOL_CANCEL drops them to the cancel callback. Joins every worker,
 * then frees p. Returns 0 (p is gone); EINVAL for NULL p or another mode;
 * EDEADLK when called from a task of p; EALREADY when another shutdown of
 * p is under way. On an error p is unchanged.
 */
int ds_pool_shutdown(ds_pool_t *p, int mode);

/* Fills *st with a consistent snapshot (taken under the pool's lock).
 * Returns 0, EINVAL for NULL pointers. */
int ds_pool_stats(ds_pool_t *p, struct ds_pool_stats *st);

/* What ds_pool_create expands to; call it through the macro. */
int ds__pool_create(ds_pool_t **p, size_t nworkers, size_t queue_cap,
		    const char *name, const char *file, int line);

#ifdef __cplusplus
}
#endif

#endif /* DS_POOL_H */
