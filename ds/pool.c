/*
 * pool.c: worker threads taking tasks from a ring under one mutex.
 *
 * Model: the queue is a ring of cap tasks, the `len` slots from `head` on.
 * Submitters push at the tail and wait on `room` when it is full; idle
 * workers wait on `work` when it is empty and pop from the head. Shutdown
 * sets `stopping` under the lock; from then on nothing is pushed. In
 * CANCEL mode it also takes the queued tasks out in the same critical
 * section (it keeps head and len, sets len to 0; the slots are not touched
 * again by anyone else), so each queued task is either popped by a worker
 * before that moment or handed to the cancel callback after it: never
 * both, never neither. A worker exits when the pool is stopping and the
 * queue is empty, so DRAIN runs the queue dry first.
 *
 * Invariants (under p->lock):
 * - 0 <= len <= cap, head < cap;
 * - nothing is pushed once stopping is set;
 * - running counts the tasks between pop and return, submitters_waiting
 *   the threads inside a wait on room (decremented after the lock is
 *   taken back), so shutdown can wait for both before it frees the pool;
 * - running <= nworkers, and accepted == completed + running + len +
 *   cancelled: every accepted task is queued, running, done or handed to
 *   the cancel callback, exactly one of them.
 * They are asserted at every push and pop, and at the end of shutdown,
 * where accepted == completed + cancelled: each task ran, or was
 * cancelled, exactly once. A worker holds no lock at all when it runs a
 * task (lc_assert_no_locks_held: it is the pool's own thread, so a lock
 * held there is the pool's bug or one a task returned without unlocking).
 *
 * The blocking points, one function each: wait_for_queue_room_locked (a
 * submit), join_workers and wait_for_submitters_to_leave (a shutdown),
 * run_task (a task runs inside its pool). wait_for_work_locked is an idle
 * worker, which waits for nothing anyone owes it.
 *
 * For the checker, `room` is the pool's wait node ("pool `<name>`",
 * classed by the create site): a task runs inside it (LC_NODE_ENTER), a
 * blocking submit waits on it, and so does a shutdown joining its workers
 * (LC_NODE_WAIT): a task that needs a lock the submitter or the shutdown
 * holds is a wait-cycle. The join is an untimed wait on it for the
 * watchdog (LC_NODE_BLOCK): a task that never returns is reported.
 *
 * Races: the state from head to on_cancel and the queue's slots are
 * declared guarded by p->lock (lc_guard), and the accesses that
 * change or report them are marked (LC_READ/LC_WRITE, lc_read/lc_write on
 * a slot), so a checked build checks the discipline at every run. Not
 * declared: the fields set before the workers start and fixed after
 * (queue, workers, nworkers, cap, file, line, name), and current_pool
 * (thread-local). A CANCEL shutdown reads its dropped slots after
 * unlocking (cancel_dropped): those reads are not marked, the slots being
 * the shutdown's alone by then. The assertions' reads are not marked.
 * Built with DS_WITHOUT_LOCK_POOL (//ds:without_lock_pool, for a test
 * only), it gains ds__pool_stats_without_lock, which reads without the
 * lock: the checker must say so.
 */
#include "ds/pool.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "lockcheck/lockcheck.h"
#include "must.h"

#define THREAD_NAME_MAX 64 /* as the checker keeps them; the kernel: 15 */

struct task {
	void (*fn)(void *arg);
	void *arg;
};

struct worker {
	ds_pool_t *pool;
	size_t index; /* 1-based: the N of "<name>-N" */
	pthread_t thread;
};

struct ds_pool {
	lc_mutex_t lock;
	lc_cond_t work;		/* a task was queued, or the pool stops */
	lc_cond_t room;		/* a slot freed, or the pool stops; the
				 * pool's wait node for the checker */
	lc_cond_t left;		/* the last woken submitter left */
	struct task *queue;	/* cap slots */
	struct worker *workers; /* nworkers of them, started */
	size_t nworkers;	/* started so far (creation), then fixed */
	size_t cap;		/* queue slots, >= 1, fixed */
	const char *file;	/* create site: the pool's class */
	int line;
	/* lock protects the following state, declared guarded by it. */
	size_t head;		   /* slot of the oldest queued task */
	size_t len;		   /* tasks queued */
	size_t running;		   /* tasks popped and not yet returned */
	size_t submitters_waiting; /* threads waiting on room */
	uint64_t completed;	   /* tasks that returned */
	uint64_t accepted;	   /* tasks a submit queued */
	uint64_t cancelled;	   /* queued tasks a CANCEL shutdown took */
	bool stopping;		   /* shutdown (or a failed create) began */
	void (*on_cancel)(void *arg);
	char name[]; /* copy of the pool's name */
};

/* How long a submit may wait for room. */
struct wait {
	bool may_wait;			 /* false: try_submit */
	const struct timespec *deadline; /* NULL: no limit */
};

static const struct wait forever = { true, NULL };
static const struct wait never = { false, NULL };

/* The pool this thread is a worker of (NULL on other threads): a task
 * must not wait for its own pool's room nor shut its own pool down. */
static _Thread_local ds_pool_t *current_pool;

/* ---- creation and teardown ------------------------------------------- */

/* Bytes from head to the end of on_cancel: the state p->lock guards. */
static size_t guarded_size(void)
{
	return offsetof(ds_pool_t, on_cancel) +
	       sizeof(((ds_pool_t *)0)->on_cancel) - offsetof(ds_pool_t, head);
}

/* The declarations go before the memory does (a later allocation may
 * reuse it). Harmless where none was made (a failed create). */
static void free_pool(ds_pool_t *p)
{
	lc_unguard(&p->head, guarded_size());
	if (p->queue)
		lc_unguard(p->queue, p->cap * sizeof(*p->queue));
	free(p->workers);
	free(p->queue);
	free(p);
}

static ds_pool_t *alloc_pool(size_t nworkers, size_t cap, const char *name)
{
	size_t namelen = strlen(name);
	ds_pool_t *p;

	/* Sizes that could never be allocated fail here, before calloc:
	 * sanitizers treat an overflowing calloc as a bug, not as NULL. */
	if (namelen > PTRDIFF_MAX - sizeof(*p) - 1 ||
	    cap > PTRDIFF_MAX / sizeof(*p->queue) ||
	    nworkers > PTRDIFF_MAX / sizeof(*p->workers))
		return NULL;
	p = calloc(1, sizeof(*p) + namelen + 1);
	if (!p)
		return NULL;
	memcpy(p->name, name, namelen + 1);
	p->cap = cap;
	p->queue = calloc(cap, sizeof(*p->queue));
	p->workers = calloc(nworkers, sizeof(*p->workers));
	if (!p->queue || !p->workers) {
		free_pool(p);
		return NULL;
	}
	return p;
}

/* The mutex and the three condvars, or none of them. */
static int init_sync(ds_pool_t *p)
{
	int err = ds__init_result(lc_mutex_init(&p->lock, "ds_pool.lock"));

	if (err)
		return err;
	err = ds__init_result(lc_cond_init(&p->work));
	if (err)
		goto no_work;
	LC_COND_IDLE(&p->work); /* idle workers: not stuck, just waiting */
	err = ds__init_result(lc__cond_init_node(&p->room, CLOCK_MONOTONIC,
						 &p->lock, "pool", p->name,
						 NULL, p->file, p->line));
	if (err)
		goto no_room;
	err = ds__init_result(lc_cond_init(&p->left));
	if (err)
		goto no_left;
	return 0;
no_left:
	DS__MUST(lc_cond_destroy(&p->room));
no_room:
	DS__MUST(lc_cond_destroy(&p->work));
no_work:
	DS__MUST(lc_mutex_destroy(&p->lock));
	return err;
}

static void destroy_sync(ds_pool_t *p)
{
	DS__MUST(lc_cond_destroy(&p->left));
	DS__MUST(lc_cond_destroy(&p->room));
	DS__MUST(lc_cond_destroy(&p->work));
	DS__MUST(lc_mutex_destroy(&p->lock));
}

/* The counts of the file head, checked in O(1) at every push and pop. */
static void assert_counts_locked(ds_pool_t *p)
{
	lc_assert_held(&p->lock);
	assert(p->head < p->cap && p->len <= p->cap);
	assert(p->running <= p->nworkers);
	assert(p->accepted ==
	       p->completed + p->running + p->len + p->cancelled);
}

/* ---- workers ---------------------------------------------------------- */

/* "<name>-<index>", the name cut so that the index always fits. */
static void name_worker(const struct worker *w)
{
	char name[THREAD_NAME_MAX];

	snprintf(name, sizeof(name), "%.*s-%zu", THREAD_NAME_MAX - 22,
		 w->pool->name, w->index);
	lc_thread_set_name(name);
}

/* An idle worker: waits until a task is queued or the pool stops. Not a
 * wait on anyone: no thread owes an idle worker anything. */
static void wait_for_work_locked(ds_pool_t *p) LC_REQUIRES(p->lock);
static void wait_for_work_locked(ds_pool_t *p)
{
	lc_assert_held(&p->lock);
	while (LC_READ(p->len) == 0 && !LC_READ(p->stopping))
		DS__MUST(lc_cond_wait(&p->work, &p->lock));
}

/* Pops the oldest task into *t; false when the pool stops and the queue
 * is empty (the worker's end). */
static bool take_task_locked(ds_pool_t *p, struct task *t) LC_REQUIRES(p->lock);
static bool take_task_locked(ds_pool_t *p, struct task *t)
{
	lc_assert_held(&p->lock);
	wait_for_work_locked(p);
	if (LC_READ(p->len) == 0)
		return false;
	lc_read(&p->queue[p->head], sizeof(*t));
	*t = p->queue[p->head];
	LC_WRITE(p->head, p->head + 1 == p->cap ? 0 : p->head + 1);
	LC_WRITE(p->len, p->len - 1);
	LC_WRITE(p->running, p->running + 1);
	assert_counts_locked(p);
	if (LC_READ(p->submitters_waiting))
		DS__MUST(lc_cond_signal(&p->room));
	return true;
}

/* A task runs inside its pool: the one place a worker runs user code,
 * with no lock of the pool held. */
static void run_task(ds_pool_t *p, const struct task *t)
{
	lc_assert_not_held(&p->lock);
	lc_assert_no_locks_held();
	LC_NODE_ENTER(&p->room);
	t->fn(t->arg);
	LC_NODE_LEAVE(&p->room);
}

static void task_done_locked(ds_pool_t *p)
{
	lc_assert_held(&p->lock);
	assert(p->running > 0);
	LC_WRITE(p->running, p->running - 1);
	LC_WRITE(p->completed, p->completed + 1);
	assert_counts_locked(p);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	ds_pool_t *p = w->pool;
	struct task t;

	name_worker(w);
	current_pool = p;
	DS__MUST(lc_mutex_lock(&p->lock));
	while (take_task_locked(p, &t)) {
		DS__MUST(lc_mutex_unlock(&p->lock));
		run_task(p, &t);
		DS__MUST(lc_mutex_lock(&p->lock));
		task_done_locked(p);
	}
	DS__MUST(lc_mutex_unlock(&p->lock));
	current_pool = NULL;
	return NULL;
}

/* Shutdown waits for every task to return: one join per worker. */
static void join_workers(ds_pool_t *p)
{
	for (size_t i = 0; i < p->nworkers; i++)
		DS__MUST(pthread_join(p->workers[i].thread, NULL));
}

/* A create that could not start every worker: stop the ones it did. */
static void stop_started_workers(ds_pool_t *p)
{
	DS__MUST(lc_mutex_lock(&p->lock));
	LC_WRITE(p->stopping, true);
	DS__MUST(lc_cond_broadcast(&p->work));
	DS__MUST(lc_mutex_unlock(&p->lock));
	join_workers(p);
}

static int start_workers(ds_pool_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct worker *w = &p->workers[i];
		int err;

		w->pool = p;
		w->index = i + 1;
		err = pthread_create(&w->thread, NULL, worker_main, w);
		if (err) {
			stop_started_workers(p);
			return err;
		}
		p->nworkers++;
	}
	return 0;
}

int ds__pool_create(ds_pool_t **out, size_t nworkers, size_t queue_cap,
		    const char *name, const char *file, int line)
{
	ds_pool_t *p;
	int err;

	if (!out || !name || nworkers == 0 || queue_cap == 0)
		return EINVAL;
	p = alloc_pool(nworkers, queue_cap, name);
	if (!p)
		return ENOMEM;
	p->file = file;
	p->line = line;
	err = init_sync(p);
	if (!err) {
		/* Declared before any worker runs; a declaration that cannot
		 * be stored for want of memory leaves the state unchecked. */
		(void)lc_guard(&p->head, guarded_size(), &p->lock);
		(void)lc_guard(p->queue, queue_cap * sizeof(*p->queue),
			       &p->lock);
		err = start_workers(p, nworkers);
		if (err)
			destroy_sync(p);
	}
	if (err) {
		free_pool(p);
		return err;
	}
	*out = p;
	return 0;
}

/* ---- submitting ------------------------------------------------------- */

/* Waits on c (releasing lock meanwhile) until signalled or the deadline. */
static int wait_on(lc_cond_t *c, lc_mutex_t *lock,
		   const struct timespec *deadline) LC_REQUIRES(lock);
static int wait_on(lc_cond_t *c, lc_mutex_t *lock,
		   const struct timespec *deadline)
{
	if (deadline)
		return ds__timed_wait_result(
			lc_cond_timedwait(c, lock, deadline));
	DS__MUST(lc_cond_wait(c, lock));
	return 0;
}

/* The submit's one blocking point: returns, lock held, 0 when a slot is
 * free, else why not: EPIPE, EAGAIN, ETIMEDOUT, or EDEADLK (a task of
 * this pool would wait for room for ever). */
static int wait_for_queue_room_locked(ds_pool_t *p, const struct wait *w)
	LC_REQUIRES(p->lock);
static int wait_for_queue_room_locked(ds_pool_t *p, const struct wait *w)
{
	int err = 0;

	lc_assert_held(&p->lock);
	while (!LC_READ(p->stopping) && LC_READ(p->len) == p->cap) {
		if (!w->may_wait)
			return EAGAIN;
		if (!w->deadline && current_pool == p)
			return EDEADLK;
		if (err)
			return err; /* timed out, and still full */
		LC_WRITE(p->submitters_waiting, p->submitters_waiting + 1);
		err = wait_on(&p->room, &p->lock, w->deadline);
		LC_WRITE(p->submitters_waiting, p->submitters_waiting - 1);
		if (p->stopping && p->submitters_waiting == 0)
			DS__MUST(lc_cond_signal(&p->left));
	}
	return LC_READ(p->stopping) ? EPIPE : 0;
}

static void push_task_locked(ds_pool_t *p, const struct task *t)
{
	size_t tail = p->head + p->len;

	lc_assert_held(&p->lock);
	assert(p->len < p->cap && !p->stopping);
	if (tail >= p->cap)
		tail -= p->cap;
	lc_write(&p->queue[tail], sizeof(*t));
	p->queue[tail] = *t;
	LC_WRITE(p->len, p->len + 1);
	LC_WRITE(p->accepted, p->accepted + 1);
	assert_counts_locked(p);
	DS__MUST(lc_cond_signal(&p->work));
}

static int submit_task(ds_pool_t *p, void (*fn)(void *), void *arg,
		       const struct wait *w)
{
	const struct task t = { fn, arg };
	int err;

	if (!p || !fn)
		return EINVAL;
	DS__MUST(lc_mutex_lock(&p->lock));
	err = wait_for_queue_room_locked(p, w);
	if (!err)
		push_task_locked(p, &t);
	DS__MUST(lc_mutex_unlock(&p->lock));
	return err;
}

int ds_pool_submit(ds_pool_t *p, void (*fn)(void *), void *arg)
{
	return submit_task(p, fn, arg, &forever);
}

int ds_pool_try_submit(ds_pool_t *p, void (*fn)(void *), void *arg)
{
	return submit_task(p, fn, arg, &never);
}

int ds_pool_submit_timeout(ds_pool_t *p, void (*fn)(void *), void *arg, long ms)
{
	struct timespec deadline;
	struct wait w = { true, &deadline };
	int err = ds__deadline_after_ms(ms, &deadline);

	return err ? err : submit_task(p, fn, arg, &w);
}

int ds_pool_on_cancel(ds_pool_t *p, void (*fn)(void *))
{
	int err = 0;

	if (!p)
		return EINVAL;
	DS__MUST(lc_mutex_lock(&p->lock));
	if (LC_READ(p->stopping))
		err = EPIPE;
	else
		LC_WRITE(p->on_cancel, fn);
	DS__MUST(lc_mutex_unlock(&p->lock));
	return err;
}

/* ---- shutdown --------------------------------------------------------- */

/* The queued tasks a CANCEL shutdown took out of the queue. */
struct dropped {
	size_t head, len;
	void (*on_cancel)(void *arg);
};

/* Stops submits and, for CANCEL, empties the queue into *d. EALREADY when
 * a shutdown began before. */
static int begin_shutdown_locked(ds_pool_t *p, int mode, struct dropped *d)
{
	lc_assert_held(&p->lock);
	if (LC_READ(p->stopping))
		return EALREADY;
	LC_WRITE(p->stopping, true);
	*d = (struct dropped){ LC_READ(p->head), 0, LC_READ(p->on_cancel) };
	if (mode == DS_POOL_CANCEL) {
		d->len = LC_READ(p->len);
		LC_WRITE(p->cancelled, d->len);
		LC_WRITE(p->len, 0);
	}
	DS__MUST(lc_cond_broadcast(&p->work));
	DS__MUST(lc_cond_broadcast(&p->room));
	return 0;
}

/* Hands each dropped task's arg to the cancel callback, in queue order.
 * No lock held: nobody touches those slots any more. */
static void cancel_dropped(ds_pool_t *p, const struct dropped *d)
{
	size_t i = d->head;

	lc_assert_not_held(&p->lock);
	for (size_t n = 0; n < d->len; n++) {
		if (d->on_cancel)
			d->on_cancel(p->queue[i].arg);
		i = i + 1 == p->cap ? 0 : i + 1;
	}
}

/* Shutdown waits for the submitters it woke to leave the pool. */
static void wait_for_submitters_to_leave(ds_pool_t *p)
{
	DS__MUST(lc_mutex_lock(&p->lock));
	while (LC_READ(p->submitters_waiting) > 0)
		DS__MUST(lc_cond_wait(&p->left, &p->lock));
	assert(p->running == 0 && p->len == 0);
	assert(p->accepted == p->completed + p->cancelled);
	DS__MUST(lc_mutex_unlock(&p->lock));
}

int ds_pool_shutdown(ds_pool_t *p, int mode)
{
	struct dropped d;
	int err;

	if (!p || (mode != DS_POOL_DRAIN && mode != DS_POOL_CANCEL))
		return EINVAL;
	if (current_pool == p)
		return EDEADLK;
	DS__MUST(lc_mutex_lock(&p->lock));
	err = begin_shutdown_locked(p, mode, &d);
	DS__MUST(lc_mutex_unlock(&p->lock));
	if (err)
		return err;
	cancel_dropped(p, &d);
	LC_NODE_WAIT(&p->room);	 /* for every task to return */
	LC_NODE_BLOCK(&p->room); /* the watchdog sees a task that never does */
	join_workers(p);
	LC_NODE_UNBLOCK(&p->room);
	wait_for_submitters_to_leave(p);
	destroy_sync(p);
	free_pool(p);
	return 0;
}

/* The counters as one read of the guarded state: one access, so a
 * reader without the lock is one finding, not one per field. */
static void copy_stats(ds_pool_t *p, struct ds_pool_stats *st)
{
	lc_read(&p->head, guarded_size());
	*st = (struct ds_pool_stats){
		.workers = p->nworkers,
		.queue_cap = p->cap,
		.queued = p->len,
		.running = p->running,
		.submitters_waiting = p->submitters_waiting,
		.completed = p->completed,
	};
}

int ds_pool_stats(ds_pool_t *p, struct ds_pool_stats *st)
{
	if (!p || !st)
		return EINVAL;
	DS__MUST(lc_mutex_lock(&p->lock));
	copy_stats(p, st);
	DS__MUST(lc_mutex_unlock(&p->lock));
	return 0;
}

#ifdef DS_WITHOUT_LOCK_POOL
/* DELIBERATELY BROKEN, built only into ds/BUILD's :without_lock_pool for
 * tests/pool_race_test.c: ds_pool_stats without p->lock, the race a
 * LOCKCHECK=1 build must report. */
int ds__pool_stats_without_lock(ds_pool_t *p, struct ds_pool_stats *st);
int ds__pool_stats_without_lock(ds_pool_t *p, struct ds_pool_stats *st)
{
	copy_stats(p, st); /* no lock: the bug */
	return 0;
}
#endif
