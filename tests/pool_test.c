/*
 * pool_test.c: ds_pool runs each accepted task exactly once, or hands it
 * to the cancel callback exactly once, refuses bad requests without a
 * trace, blocks submitters while its queue is full, names its workers,
 * leaves no thread behind, and handles tasks that block, submit or shut
 * their own pool down as its header says; silently under the checker.
 *
 * tcases: core (arguments, running, naming, draining, cancelling, thread
 * count), threads (blocking and waking, stepped with the pool's stats or
 * with the tasks themselves: never a sleep), tasks (what a task may do to
 * its own pool), stress (in a child: exactly once under many submitters
 * and self-submitting tasks, DRAIN and CANCEL, no thread left, no checker
 * report), lockcheck (real shapes stay silent).
 */
#define _GNU_SOURCE /* pthread_getname_np */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/pool.h"
#include "lockcheck/lockcheck.h"
#include "testdata/threadcount.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static ds_pool_t *make(size_t workers, size_t queue_cap)
{
	ds_pool_t *p = NULL;

	ck_assert_int_eq(ds_pool_create(&p, workers, queue_cap, "tp"), 0);
	ck_assert_ptr_nonnull(p);
	return p;
}

static struct ds_pool_stats stats_of(ds_pool_t *p)
{
	struct ds_pool_stats st;

	EXPECT_EQ(ds_pool_stats(p, &st), 0);
	return st;
}

/* A task's record: how often it ran and how often it was cancelled. */
struct rec {
	atomic_int ran;
	atomic_int cancelled;
};

static void count_run(void *arg)
{
	atomic_fetch_add(&((struct rec *)arg)->ran, 1);
}

static void count_cancel(void *arg)
{
	atomic_fetch_add(&((struct rec *)arg)->cancelled, 1);
}

static void noop(void *arg)
{
	(void)arg;
}

/* A gate tasks wait at until the test opens it. */
struct gate {
	lc_mutex_t lock;
	lc_cond_t cond;
	bool open;
	int waiting; /* tasks at the gate now */
};

static void gate_init(struct gate *g)
{
	ck_assert_int_eq(lc_mutex_init(&g->lock, "test.gate"), 0);
	ck_assert_int_eq(lc_cond_init(&g->cond), 0);
	g->open = false;
	g->waiting = 0;
}

static void gate_destroy(struct gate *g)
{
	lc_cond_destroy(&g->cond);
	lc_mutex_destroy(&g->lock);
}

/* A task: waits at the gate (arg) until it opens. */
static void wait_at_gate(void *arg)
{
	struct gate *g = arg;

	lc_mutex_lock(&g->lock);
	g->waiting++;
	lc_cond_broadcast(&g->cond);
	while (!g->open)
		lc_cond_wait(&g->cond, &g->lock);
	g->waiting--;
	lc_mutex_unlock(&g->lock);
}

static void gate_await_waiting(struct gate *g, int n)
{
	lc_mutex_lock(&g->lock);
	while (g->waiting != n)
		lc_cond_wait(&g->cond, &g->lock);
	lc_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g)
{
	lc_mutex_lock(&g->lock);
	g->open = true;
	lc_cond_broadcast(&g->cond);
	lc_mutex_unlock(&g->lock);
}

/* Waits (yielding) until n threads are blocked in a submit of p. */
static void await_submitters(ds_pool_t *p, size_t n)
{
	while (stats_of(p).submitters_waiting != n)
		sched_yield();
}

/* A task that keeps the pool's only worker busy until a shutdown
 * begins: it waits at its gate until the test has filled the queue, then
 * polls its own pool until try_submit says EPIPE (the queue stays full
 * until then, so the probe never gets in). */
struct spinner {
	ds_pool_t *p;
	struct gate g;
};

static void spin_until_shutdown(void *arg)
{
	struct spinner *sp = arg;
	int err;

	wait_at_gate(&sp->g);
	while ((err = ds_pool_try_submit(sp->p, noop, NULL)) == EAGAIN)
		sched_yield();
	if (err != EPIPE)
		abort();
}

/* Puts the spinner on p's worker; fill the queue, then release it. */
static void start_spinner(struct spinner *sp, ds_pool_t *p)
{
	sp->p = p;
	gate_init(&sp->g);
	ck_assert_int_eq(ds_pool_submit(p, spin_until_shutdown, sp), 0);
	gate_await_waiting(&sp->g, 1);
}

static void release_spinner(struct spinner *sp)
{
	ck_assert_uint_eq(stats_of(sp->p).queued, stats_of(sp->p).queue_cap);
	gate_open(&sp->g);
}

/* One submit on its own thread. */
struct submitter {
	ds_pool_t *p;
	struct rec *rec;
	long ms; /* < 0: untimed */
	int err;
	atomic_bool done;
	pthread_t thread;
};

static void *submit_op(void *arg)
{
	struct submitter *s = arg;

	if (s->ms < 0)
		s->err = ds_pool_submit(s->p, count_run, s->rec);
	else
		s->err = ds_pool_submit_timeout(s->p, count_run, s->rec, s->ms);
	atomic_store(&s->done, true);
	return NULL;
}

static void start_submitter(struct submitter *s, ds_pool_t *p, struct rec *rec,
			    long ms)
{
	*s = (struct submitter){ .p = p, .rec = rec, .ms = ms, .err = -1 };
	ck_assert_int_eq(pthread_create(&s->thread, NULL, submit_op, s), 0);
}

static int finish_submitter(struct submitter *s)
{
	ck_assert_int_eq(pthread_join(s->thread, NULL), 0);
	return s->err;
}

static void assert_counts(struct rec *r, size_t n, int ran, int cancelled)
{
	for (size_t i = 0; i < n; i++) {
		EXPECT_EQ(atomic_load(&r[i].ran), ran);
		EXPECT_EQ(atomic_load(&r[i].cancelled), cancelled);
	}
}

/* ---- core ------------------------------------------------------------- */

START_TEST(test_create_rejects_bad_arguments)
{
	ds_pool_t *p = (ds_pool_t *)&p; /* must stay untouched */
	ds_pool_t *const before = p;
	int threads = threadcount_baseline();

	ck_assert_int_eq(ds_pool_create(NULL, 1, 1, "p"), EINVAL);
	ck_assert_int_eq(ds_pool_create(&p, 1, 1, NULL), EINVAL);
	ck_assert_int_eq(ds_pool_create(&p, 0, 1, "p"), EINVAL);
	ck_assert_int_eq(ds_pool_create(&p, 1, 0, "p"), EINVAL);
	ck_assert_int_eq(ds_pool_create(&p, 1, SIZE_MAX, "p"), ENOMEM);
	ck_assert_int_eq(ds_pool_create(&p, SIZE_MAX, 1, "p"), ENOMEM);
	ck_assert_ptr_eq(p, before);
	ck_assert_int_eq(threadcount_now(), threads);
}
END_TEST

START_TEST(test_bad_calls_change_nothing)
{
	ds_pool_t *p = make(1, 2);
	struct ds_pool_stats st;
	struct rec r = { 0, 0 };

	ck_assert_int_eq(ds_pool_submit(NULL, count_run, &r), EINVAL);
	ck_assert_int_eq(ds_pool_submit(p, NULL, &r), EINVAL);
	ck_assert_int_eq(ds_pool_try_submit(p, NULL, &r), EINVAL);
	ck_assert_int_eq(ds_pool_submit_timeout(p, count_run, &r, -1), EINVAL);
	ck_assert_int_eq(ds_pool_submit_timeout(NULL, count_run, &r, 1),
			 EINVAL);
	ck_assert_int_eq(ds_pool_on_cancel(NULL, count_cancel), EINVAL);
	ck_assert_int_eq(ds_pool_stats(NULL, &st), EINVAL);
	ck_assert_int_eq(ds_pool_stats(p, NULL), EINVAL);
	ck_assert_int_eq(ds_pool_shutdown(NULL, DS_POOL_DRAIN), EINVAL);
	ck_assert_int_eq(ds_pool_shutdown(p, 0), EINVAL);
	ck_assert_int_eq(ds_pool_shutdown(p, 3), EINVAL);
	st = stats_of(p); /* the pool is still whole and open */
	ck_assert_uint_eq(st.queued + st.completed, 0);
	ck_assert_int_eq(ds_pool_submit(p, count_run, &r), 0);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
	ck_assert_int_eq(atomic_load(&r.ran), 1);
}
END_TEST

START_TEST(test_drain_runs_every_task_exactly_once)
{
	static struct rec r[50];
	ds_pool_t *p = make(3, 64);

	for (size_t i = 0; i < 50; i++)
		ck_assert_int_eq(ds_pool_submit(p, count_run, &r[i]), 0);
	ck_assert_int_eq(ds_pool_on_cancel(p, count_cancel), 0);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
	assert_counts(r, 50, 1, 0);
}
END_TEST

/* What a naming task saw: pthread's name of the worker it ran on. */
struct names {
	pthread_barrier_t all_running;
	atomic_int next;
	char seen[3][16];
};

static void record_name(void *arg)
{
	struct names *n = arg;
	int i = atomic_fetch_add(&n->next, 1);

	pthread_getname_np(pthread_self(), n->seen[i], sizeof(n->seen[i]));
	pthread_barrier_wait(&n->all_running); /* one task per worker */
}

START_TEST(test_workers_are_named_after_the_pool)
{
	struct names n = { .next = 0 };
	ds_pool_t *p = NULL;
	bool found[3] = { false, false, false };

	pthread_barrier_init(&n.all_running, NULL, 4);
	ck_assert_int_eq(ds_pool_create(&p, 3, 3, "jobs"), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ds_pool_submit(p, record_name, &n), 0);
	pthread_barrier_wait(&n.all_running);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
	for (int i = 0; i < 3; i++) {
		int k = -1;

		ck_assert_int_eq(sscanf(n.seen[i], "jobs-%d", &k), 1);
		ck_assert(k >= 1 && k <= 3 && !found[k - 1]);
		found[k - 1] = true;
	}
	pthread_barrier_destroy(&n.all_running);
}
END_TEST

START_TEST(test_shutdown_leaves_no_thread)
{
	int before = threadcount_baseline();
	ds_pool_t *p = make(5, 4);

	ck_assert_int_gt(before, 0);
	ck_assert_int_eq(threadcount_now(), before + 5);
	ck_assert_uint_eq(stats_of(p).workers, 5);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_CANCEL), 0);
	ck_assert_int_eq(threadcount_settle(before), before);
}
END_TEST

/* One worker busy until the shutdown, 8 tasks queued behind it: CANCEL
 * runs none of them and gives each arg to the callback once, in order. */
static struct rec *cancel_order[8];
static atomic_int cancel_seen;

static void record_cancel(void *arg)
{
	cancel_order[atomic_fetch_add(&cancel_seen, 1)] = arg;
	count_cancel(arg);
}

START_TEST(test_cancel_hands_each_queued_arg_to_the_callback)
{
	static struct rec r[8];
	ds_pool_t *p = make(1, 8);
	struct spinner sp;

	start_spinner(&sp, p);
	for (size_t i = 0; i < 8; i++)
		ck_assert_int_eq(ds_pool_submit(p, count_run, &r[i]), 0);
	ck_assert_int_eq(ds_pool_on_cancel(p, record_cancel), 0);
	release_spinner(&sp);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_CANCEL), 0);
	gate_destroy(&sp.g);
	assert_counts(r, 8, 0, 1);
	ck_assert_int_eq(atomic_load(&cancel_seen), 8);
	for (size_t i = 0; i < 8; i++)
		ck_assert_ptr_eq(cancel_order[i], &r[i]);
}
END_TEST

START_TEST(test_cancel_without_a_callback_drops_silently)
{
	static struct rec r[4];
	ds_pool_t *p = make(1, 4);
	struct spinner sp;

	start_spinner(&sp, p);
	for (size_t i = 0; i < 4; i++)
		ck_assert_int_eq(ds_pool_submit(p, count_run, &r[i]), 0);
	ck_assert_int_eq(ds_pool_on_cancel(p, count_cancel), 0);
	ck_assert_int_eq(ds_pool_on_cancel(p, NULL), 0); /* unset again */
	release_spinner(&sp);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_CANCEL), 0);
	gate_destroy(&sp.g);
	assert_counts(r, 4, 0, 0);
}
END_TEST

/* ---- threads: blocking and waking ------------------------------------- */

START_TEST(test_submit_waits_while_the_queue_is_full)
{
	static struct rec r[3];
	struct gate g;
	struct submitter s;
	ds_pool_t *p = make(1, 2);

	gate_init(&g);
	ck_assert_int_eq(ds_pool_submit(p, wait_at_gate, &g), 0);
	gate_await_waiting(&g, 1); /* the worker is busy */
	ck_assert_int_eq(ds_pool_submit(p, count_run, &r[0]), 0);
	ck_assert_int_eq(ds_pool_submit(p, count_run, &r[1]), 0);
	start_submitter(&s, p, &r[2], -1);
	await_submitters(p, 1);
	ck_assert(!atomic_load(&s.done));
	ck_assert_uint_eq(stats_of(p).queued, 2); /* the bound held */
	gate_open(&g);
	ck_assert_int_eq(finish_submitter(&s), 0);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
	assert_counts(r, 3, 1, 0);
	gate_destroy(&g);
}
END_TEST

START_TEST(test_try_and_timed_submits_on_a_full_queue)
{
	static struct rec r[2];
	struct gate g;
	ds_pool_t *p = make(1, 1);
	struct submitter s;

	gate_init(&g);
	ck_assert_int_eq(ds_pool_submit(p, wait_at_gate, &g), 0);
	gate_await_waiting(&g, 1);
	ck_assert_int_eq(ds_pool_try_submit(p, count_run, &r[0]), 0);
	ck_assert_int_eq(ds_pool_try_submit(p, count_run, &r[1]), EAGAIN);
	ck_assert_int_eq(ds_pool_submit_timeout(p, count_run, &r[1], 0),
			 ETIMEDOUT);
	ck_assert_int_eq(ds_pool_submit_timeout(p, count_run, &r[1], 5),
			 ETIMEDOUT);
	ck_assert_uint_eq(stats_of(p).queued, 1);
	start_submitter(&s, p, &r[1], 600000); /* ends when room comes */
	await_submitters(p, 1);
	gate_open(&g);
	ck_assert_int_eq(finish_submitter(&s), 0);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
	assert_counts(r, 2, 1, 0);
	gate_destroy(&g);
}
END_TEST

/* Submitters blocked on a full queue when shutdown begins wake with
 * EPIPE; their tasks are neither run nor cancelled. */
static void shutdown_wakes_submitters(int mode)
{
	static struct rec queued, blocked[3];
	struct submitter s[3];
	ds_pool_t *p = make(1, 1);
	struct spinner sp;

	memset(&queued, 0, sizeof(queued));
	memset(blocked, 0, sizeof(blocked));
	start_spinner(&sp, p);
	ck_assert_int_eq(ds_pool_submit(p, count_run, &queued), 0);
	ck_assert_int_eq(ds_pool_on_cancel(p, count_cancel), 0);
	release_spinner(&sp);
	for (int i = 0; i < 3; i++)
		start_submitter(&s[i], p, &blocked[i], i == 2 ? 600000 : -1);
	await_submitters(p, 3);
	ck_assert_int_eq(ds_pool_shutdown(p, mode), 0);
	gate_destroy(&sp.g);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(finish_submitter(&s[i]), EPIPE);
	assert_counts(blocked, 3, 0, 0);
	ck_assert_int_eq(atomic_load(&queued.ran), mode == DS_POOL_DRAIN);
	ck_assert_int_eq(atomic_load(&queued.cancelled),
			 mode == DS_POOL_CANCEL);
}

START_TEST(test_drain_wakes_blocked_submitters_with_epipe)
{
	shutdown_wakes_submitters(DS_POOL_DRAIN);
}
END_TEST

START_TEST(test_cancel_wakes_blocked_submitters_with_epipe)
{
	shutdown_wakes_submitters(DS_POOL_CANCEL);
}
END_TEST

/* A shutdown that drains waits for a task that is blocked, however long:
 * the pool stays alive (and refuses submits) until the task returns. */
struct shutter {
	ds_pool_t *p;
	int err;
	atomic_bool done;
};

static void *shut_down_draining(void *arg)
{
	struct shutter *s = arg;

	s->err = ds_pool_shutdown(s->p, DS_POOL_DRAIN);
	atomic_store(&s->done, true);
	return NULL;
}

START_TEST(test_drain_waits_for_a_blocked_task)
{
	struct shutter s = { .err = -1, .done = false };
	struct gate g;
	pthread_t t;
	int err;

	gate_init(&g);
	s.p = make(2, 4);
	ck_assert_int_eq(ds_pool_submit(s.p, wait_at_gate, &g), 0);
	gate_await_waiting(&g, 1);
	ck_assert_int_eq(pthread_create(&t, NULL, shut_down_draining, &s), 0);
	/* The blocked task keeps the pool alive: probing it is safe. */
	while ((err = ds_pool_try_submit(s.p, noop, NULL)) == 0 ||
	       err == EAGAIN)
		sched_yield();
	ck_assert_int_eq(err, EPIPE);
	ck_assert(!atomic_load(&s.done));
	gate_open(&g);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(s.err, 0);
	gate_destroy(&g);
}
END_TEST

/* Tasks that wait for each other run together when there are workers
 * enough: two tasks meet at a barrier on a pool of two. */
struct meeting {
	pthread_barrier_t both;
	atomic_int met; /* tasks past the barrier */
};

static void meet(void *arg)
{
	struct meeting *m = arg;

	pthread_barrier_wait(&m->both);
	atomic_fetch_add(&m->met, 1);
}

START_TEST(test_tasks_that_wait_for_each_other_need_enough_workers)
{
	struct meeting m = { .met = 0 };
	ds_pool_t *p = make(2, 2);

	pthread_barrier_init(&m.both, NULL, 2);
	ck_assert_int_eq(ds_pool_submit(p, meet, &m), 0);
	ck_assert_int_eq(ds_pool_submit(p, meet, &m), 0);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
	ck_assert_int_eq(atomic_load(&m.met), 2);
	pthread_barrier_destroy(&m.both);
}
END_TEST

/* ---- tasks: a task and its own pool ----------------------------------- */

/* What a task did to its own pool. */
struct self_test {
	ds_pool_t *p;
	struct gate *g;		 /* waits here first, when set */
	pthread_barrier_t poked; /* the task and the test meet when done */
	struct rec rec, filler;
	int submit, try_submit, timed, zero_timed, shutdown;
};

/* On a full queue: submit refuses to wait, the others behave as usual;
 * shutdown of its own pool is refused. */
static void poke_own_pool(void *arg)
{
	struct self_test *t = arg;

	if (t->g)
		wait_at_gate(t->g);
	t->submit = ds_pool_submit(t->p, count_run, &t->rec);
	t->try_submit = ds_pool_try_submit(t->p, count_run, &t->rec);
	t->zero_timed = ds_pool_submit_timeout(t->p, count_run, &t->rec, 0);
	t->timed = ds_pool_submit_timeout(t->p, count_run, &t->rec, 5);
	t->shutdown = ds_pool_shutdown(t->p, DS_POOL_DRAIN);
	pthread_barrier_wait(&t->poked);
}

/* Runs poke_own_pool on p and waits until it is done with the pool. */
static void poke(struct self_test *t)
{
	ck_assert_int_eq(ds_pool_submit(t->p, poke_own_pool, t), 0);
	if (t->g) {
		gate_await_waiting(t->g, 1);
		ck_assert_int_eq(ds_pool_submit(t->p, count_run, &t->filler),
				 0); /* the queue is full now */
		gate_open(t->g);
	}
	pthread_barrier_wait(&t->poked);
	ck_assert_int_eq(ds_pool_shutdown(t->p, DS_POOL_DRAIN), 0);
	pthread_barrier_destroy(&t->poked);
}

START_TEST(test_task_submit_to_its_full_pool_is_edeadlk)
{
	static struct self_test t;
	struct gate g;

	gate_init(&g);
	t = (struct self_test){ .p = make(1, 1), .g = &g };
	pthread_barrier_init(&t.poked, NULL, 2);
	poke(&t);
	ck_assert_int_eq(t.submit, EDEADLK);
	ck_assert_int_eq(t.try_submit, EAGAIN);
	ck_assert_int_eq(t.zero_timed, ETIMEDOUT);
	ck_assert_int_eq(t.timed, ETIMEDOUT);
	ck_assert_int_eq(t.shutdown, EDEADLK);
	ck_assert_int_eq(atomic_load(&t.rec.ran), 0);
	ck_assert_int_eq(atomic_load(&t.filler.ran), 1);
	gate_destroy(&g);
}
END_TEST

START_TEST(test_task_submit_to_its_pool_with_room_runs)
{
	static struct self_test t;

	t = (struct self_test){ .p = make(1, 8) };
	pthread_barrier_init(&t.poked, NULL, 2);
	poke(&t);
	ck_assert_int_eq(t.submit, 0);
	ck_assert_int_eq(t.try_submit, 0);
	ck_assert_int_eq(t.zero_timed, 0);
	ck_assert_int_eq(t.timed, 0);
	ck_assert_int_eq(t.shutdown, EDEADLK);
	ck_assert_int_eq(atomic_load(&t.rec.ran), 4); /* all ran in the drain */
}
END_TEST

/* A task of another pool may shut this one down. */
struct cross {
	ds_pool_t *victim;
	int err;
};

static void shut_other_pool(void *arg)
{
	struct cross *c = arg;

	c->err = ds_pool_shutdown(c->victim, DS_POOL_CANCEL);
}

START_TEST(test_task_may_shut_down_another_pool)
{
	struct cross c = { make(2, 2), -1 };
	ds_pool_t *p = make(1, 1);

	ck_assert_int_eq(ds_pool_submit(p, shut_other_pool, &c), 0);
	ck_assert_int_eq(ds_pool_shutdown(p, DS_POOL_DRAIN), 0);
	ck_assert_int_eq(c.err, 0);
}
END_TEST

/* The cancel callback runs on the shutdown's thread with no pool lock:
 * it may call the pool, which is past taking anything. */
static ds_pool_t *callback_pool;
static atomic_int callback_errs[2];

static void cancel_and_poke(void *arg)
{
	(void)arg;
	atomic_store(&callback_errs[0],
		     ds_pool_try_submit(callback_pool, noop, NULL));
	atomic_store(&callback_errs[1],
		     ds_pool_shutdown(callback_pool, DS_POOL_DRAIN));
}

START_TEST(test_cancel_callback_may_call_the_pool)
{
	static struct rec r;
	struct spinner sp;

	callback_pool = make(1, 2);
	start_spinner(&sp, callback_pool);
	ck_assert_int_eq(ds_pool_submit(callback_pool, noop, &r), 0);
	ck_assert_int_eq(ds_pool_submit(callback_pool, noop, &r), 0);
	ck_assert_int_eq(ds_pool_on_cancel(callback_pool, cancel_and_poke), 0);
	release_spinner(&sp);
	ck_assert_int_eq(ds_pool_shutdown(callback_pool, DS_POOL_CANCEL), 0);
	gate_destroy(&sp.g);
	ck_assert_int_eq(atomic_load(&callback_errs[0]), EPIPE);
	ck_assert_int_eq(atomic_load(&callback_errs[1]), EALREADY);
}
END_TEST

/* ---- stress: many submitters, self-submitting tasks ------------------- */

/* Phase 1: SUBMITTERS threads submit PER_SUBMITTER tasks each, with every
 * kind of submit, into a small queue (they block and retry often); they
 * are joined. Phase 2: SEEDS task chains, each task submitting two
 * follow-ups to its own pool, keep the queue full; once CHAIN_RUNS chain
 * tasks ran, the test shuts the pool down while the chains still submit.
 * Each accepted task has its own record: it must run or be cancelled
 * exactly once, and a refused one neither. */
#define SUBMITTERS    4
#define PER_SUBMITTER 5000
#define SEEDS	      8
#define CHAIN_RUNS    2000
#define CHAIN_RECS    200000 /* records for follow-ups; chains end after */
#define EXTERNAL      (SUBMITTERS * PER_SUBMITTER)
#define RECS	      (EXTERNAL + SEEDS + CHAIN_RECS)

struct stress {
	ds_pool_t *p;
	pthread_barrier_t start;
	atomic_int next_sub;	/* submitter ids */
	atomic_long next_rec;	/* chain records handed out */
	atomic_long chain_runs; /* chain tasks that ran */
	struct srec {
		struct stress *s;
		atomic_int ran, cancelled;
		atomic_bool accepted; /* its submit returned 0 */
	} rec[RECS];
	atomic_bool failed;
};

static void stress_task(void *arg);

/* Submits rec with the call chosen by i: submit, try_submit, timeout.
 * Retries EAGAIN and ETIMEDOUT unless once is set; returns the error. */
static int submit_rec(struct srec *r, long i, bool once)
{
	ds_pool_t *p = r->s->p;
	int err;

	do {
		if (i % 3 == 0)
			err = ds_pool_submit(p, stress_task, r);
		else if (i % 3 == 1)
			err = ds_pool_try_submit(p, stress_task, r);
		else
			err = ds_pool_submit_timeout(p, stress_task, r, 1);
	} while (!once && (err == EAGAIN || err == ETIMEDOUT));
	if (!err)
		atomic_store(&r->accepted, true);
	return err;
}

/* A chain task's follow-up: refused when the queue is full (try_submit,
 * or a task's submit: EDEADLK), late (timeout) or closed (EPIPE). */
static void follow_up(struct stress *s)
{
	long k = atomic_fetch_add(&s->next_rec, 1);
	int err;

	if (k >= CHAIN_RECS)
		return;
	err = submit_rec(&s->rec[EXTERNAL + SEEDS + k], k, true);
	if (err && err != EAGAIN && err != ETIMEDOUT && err != EPIPE &&
	    err != EDEADLK)
		atomic_store(&s->failed, true);
}

/* Runs once per accepted record; a chain task submits two follow-ups. */
static void stress_task(void *arg)
{
	struct srec *r = arg;
	struct stress *s = r->s;

	if (atomic_fetch_add(&r->ran, 1) != 0)
		atomic_store(&s->failed, true);
	if (r - s->rec < EXTERNAL)
		return;
	atomic_fetch_add(&s->chain_runs, 1);
	follow_up(s);
	follow_up(s);
}

static void stress_cancel(void *arg)
{
	struct srec *r = arg;

	if (atomic_fetch_add(&r->cancelled, 1) != 0)
		atomic_store(&r->s->failed, true);
}

static void *stress_submitter(void *arg)
{
	struct stress *s = arg;
	long base = (long)atomic_fetch_add(&s->next_sub, 1) * PER_SUBMITTER;

	pthread_barrier_wait(&s->start);
	for (long i = 0; i < PER_SUBMITTER; i++)
		if (submit_rec(&s->rec[base + i], i, false))
			atomic_store(&s->failed, true);
	return NULL;
}

static void run_submitters(struct stress *s)
{
	pthread_t sub[SUBMITTERS];

	pthread_barrier_init(&s->start, NULL, SUBMITTERS);
	for (int i = 0; i < SUBMITTERS; i++)
		pthread_create(&sub[i], NULL, stress_submitter, s);
	for (int i = 0; i < SUBMITTERS; i++)
		pthread_join(sub[i], NULL);
	pthread_barrier_destroy(&s->start);
}

/* Seeds the chains and returns once CHAIN_RUNS chain tasks ran (or the
 * chains died out: then the shutdown just finds less to do). */
static void run_chains(struct stress *s)
{
	for (long i = 0; i < SEEDS; i++)
		if (submit_rec(&s->rec[EXTERNAL + i], 0, false))
			atomic_store(&s->failed, true);
	while (atomic_load(&s->chain_runs) < CHAIN_RUNS &&
	       atomic_load(&s->next_rec) < CHAIN_RECS) {
		struct ds_pool_stats st;

		if (ds_pool_stats(s->p, &st) == 0 && !st.queued && !st.running)
			break;
		sched_yield();
	}
}

/* Accepted: ran or cancelled, exactly once. Refused: neither. */
static long check_records(struct stress *s, long *cancelled)
{
	long accepted = 0;

	*cancelled = 0;
	for (long i = 0; i < RECS; i++) {
		struct srec *r = &s->rec[i];
		int ran = atomic_load(&r->ran);
		int can = atomic_load(&r->cancelled);

		if (ran + can != (atomic_load(&r->accepted) ? 1 : 0))
			atomic_store(&s->failed, true);
		accepted += atomic_load(&r->accepted);
		*cancelled += can;
	}
	return accepted;
}

/* Runs in a child: exits 0 only when every invariant held. */
static void stress_child(void *arg)
{
	static struct stress s;
	int mode = (int)(intptr_t)arg, threads = threadcount_baseline();
	long accepted, cancelled;

	for (long i = 0; i < RECS; i++)
		s.rec[i].s = &s;
	if (ds_pool_create(&s.p, 3, 16, "stress") ||
	    ds_pool_on_cancel(s.p, stress_cancel))
		exit(2);
	run_submitters(&s);
	run_chains(&s);
	if (ds_pool_shutdown(s.p, mode)) /* the chains are still going */
		exit(3);
	accepted = check_records(&s, &cancelled);
	if (threadcount_settle(threads) != threads)
		exit(4);
	printf("%ld tasks accepted, %ld chain tasks ran, %ld cancelled\n",
	       accepted, atomic_load(&s.chain_runs), cancelled);
	if (mode == DS_POOL_DRAIN && cancelled)
		exit(5);
	exit(atomic_load(&s.failed) || accepted < EXTERNAL + SEEDS);
}

static void expect_silent_child(void (*fn)(void *), void *arg, const char *what)
{
	const char *const env[] = { "LOCKCHECK_ACTION=abort", NULL };
	struct lct_child c;

	ck_assert_int_eq(lct_run_fn(fn, arg, env, &c), 0);
	if (!lct_exited_with(&c, 0) || lct_count_all_reports(&c))
		lct_child_dump(&c, what);
	ck_assert(lct_exited_with(&c, 0));
	ck_assert_uint_eq(lct_count_all_reports(&c), 0);
	lct_child_free(&c);
}

START_TEST(test_stress_drain_runs_every_accepted_task_once)
{
	expect_silent_child(stress_child, (void *)(intptr_t)DS_POOL_DRAIN,
			    "pool stress, drain");
}
END_TEST

START_TEST(test_stress_cancel_runs_or_cancels_every_task_once)
{
	expect_silent_child(stress_child, (void *)(intptr_t)DS_POOL_CANCEL,
			    "pool stress, cancel");
}
END_TEST

/* ---- lockcheck: real shapes stay silent ------------------------------- */

/* Submitters hold a lock of their own that no task takes, and tasks take
 * a lock that no submitter holds: ordinary pool use. */
struct shapes {
	lc_mutex_t submitter_lock, task_lock;
	long total; /* task_lock protects it */
};

static void add_one(void *arg)
{
	struct shapes *sh = arg;

	lc_mutex_lock(&sh->task_lock);
	sh->total++;
	lc_mutex_unlock(&sh->task_lock);
}

static void ordinary_use_child(void *arg)
{
	struct shapes sh = { .total = 0 };
	ds_pool_t *p;

	(void)arg;
	if (lc_mutex_init(&sh.submitter_lock, "submitter.state") ||
	    lc_mutex_init(&sh.task_lock, "task.state") ||
	    ds_pool_create(&p, 2, 2, "ordinary"))
		exit(2);
	for (int i = 0; i < 1000; i++) {
		lc_mutex_lock(&sh.submitter_lock);
		if (ds_pool_submit(p, add_one, &sh))
			exit(1);
		lc_mutex_unlock(&sh.submitter_lock);
	}
	if (ds_pool_shutdown(p, DS_POOL_DRAIN) || sh.total != 1000)
		exit(1);
	lc_mutex_destroy(&sh.task_lock);
	lc_mutex_destroy(&sh.submitter_lock);
}

START_TEST(test_ordinary_use_is_silent)
{
	expect_silent_child(ordinary_use_child, NULL, "ordinary pool use");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pool");
	TCase *core = tcase_create("core");
	TCase *threads = tcase_create("threads");
	TCase *tasks = tcase_create("tasks");
	TCase *stress = tcase_create("stress");
	TCase *checker = tcase_create("lockcheck");

	tcase_add_test(core, test_create_rejects_bad_arguments);
	tcase_add_test(core, test_bad_calls_change_nothing);
	tcase_add_test(core, test_drain_runs_every_task_exactly_once);
	tcase_add_test(core, test_workers_are_named_after_the_pool);
	tcase_add_test(core, test_shutdown_leaves_no_thread);
	tcase_add_test(core, test_cancel_hands_each_queued_arg_to_the_callback);
	tcase_add_test(core, test_cancel_without_a_callback_drops_silently);
	tcase_add_test(threads, test_submit_waits_while_the_queue_is_full);
	tcase_add_test(threads, test_try_and_timed_submits_on_a_full_queue);
	tcase_add_test(threads, test_drain_wakes_blocked_submitters_with_epipe);
	tcase_add_test(threads,
		       test_cancel_wakes_blocked_submitters_with_epipe);
	tcase_add_test(threads, test_drain_waits_for_a_blocked_task);
	tcase_add_test(threads,
		       test_tasks_that_wait_for_each_other_need_enough_workers);
	tcase_add_test(tasks, test_task_submit_to_its_full_pool_is_edeadlk);
	tcase_add_test(tasks, test_task_submit_to_its_pool_with_room_runs);
	tcase_add_test(tasks, test_task_may_shut_down_another_pool);
	tcase_add_test(tasks, test_cancel_callback_may_call_the_pool);
	tcase_set_timeout(stress, 240);
	tcase_add_test(stress, test_stress_drain_runs_every_accepted_task_once);
	tcase_add_test(stress,
		       test_stress_cancel_runs_or_cancels_every_task_once);
	tcase_add_test(checker, test_ordinary_use_is_silent);
	suite_add_tcase(s, core);
	suite_add_tcase(s, threads);
	suite_add_tcase(s, tasks);
	suite_add_tcase(s, stress);
	suite_add_tcase(s, checker);
	return lct_run_suite(s);
}
