/*
 * reaper_race_test.c: ds_reaper declares its table's state guarded by its
 * lock, so a checked build checks the reaper itself.
 *
 * The binary links //ds:without_lock_reaper: the library plus one
 * deliberately broken reader, ds__reaper_count_running_without_lock,
 * which reads the count without the lock. A spawner and a reader of the
 * running count print the exact race line when the reader is that one,
 * and nothing when it is ds_reaper_count_running. The same for a child's
 * own fields: a thread that looks a reaped child's record up with
 * ds__reaper_lookup_without_lock (which copies the record after
 * unlocking) gives a race, with ds_reaper_lookup nothing. A stress of
 * spawners, a collector and a reader prints no finding. With LOCKCHECK=0 there
 * is no checker: every child is silent.
 *
 * The two threads are put in order with a raw POSIX semaphore, which the
 * checker does not see: the reader reads once every child is reaped, so
 * nobody writes the count then and ThreadSanitizer sees no data race, and
 * the declared guard is still broken: it is checked whatever the
 * schedule. Children are forked (and exit at once) or spawned ("true"
 * from PATH), then watched: no helper binary needed.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ds/reaper.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ds/reaper.c, built with DS_WITHOUT_LOCK_REAPER. */
size_t ds__reaper_count_running_without_lock(struct ds_reaper *r);
int ds__reaper_lookup_without_lock(struct ds_reaper *r, pid_t pid,
				   struct ds_reaper_exit *out);

/* A child that exits with code at once, watched by r; its pid or -1. */
static pid_t fork_watched(struct ds_reaper *r, int code)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(code);
	if (pid < 0 || ds_reaper_watch(r, pid))
		return -1;
	return pid;
}

/* "true" spawned by r; its pid or -1. */
static pid_t spawn_true(struct ds_reaper *r)
{
	const char *const argv[] = { "true", NULL };
	pid_t pid;

	return ds_reaper_spawn(r, argv, NULL, &pid) ? -1 : pid;
}

/* ---- a spawner and a reader of the count ------------------------------ */

#define PAIR_CHILDREN 4

struct pair {
	struct ds_reaper *r;
	bool locked;  /* the library's reader, else the broken one */
	sem_t reaped; /* raw: orders the threads, invisible to the checker */
};

static void *spawner(void *arg)
{
	struct pair *pr = arg;
	struct ds_reaper_exit e;

	lc_thread_set_name("spawner");
	for (int i = 0; i < PAIR_CHILDREN; i++) {
		pid_t pid = i % 2 ? fork_watched(pr->r, i) : spawn_true(pr->r);

		if (pid < 0 || ds_reaper_wait(pr->r, pid, -1, &e) ||
		    e.how != DS_REAPER_EXITED || e.code != (i % 2 ? i : 0))
			exit(1);
	}
	sem_post(&pr->reaped);
	return NULL;
}

static void *reporter(void *arg)
{
	struct pair *pr = arg;

	lc_thread_set_name("reporter");
	while (sem_wait(&pr->reaped) && errno == EINTR)
		;
	if ((pr->locked ? ds_reaper_count_running(pr->r)
			: ds__reaper_count_running_without_lock(pr->r)) != 0)
		exit(1);
	return NULL;
}

/* The child: a spawner starts children and waits for each, then a
 * reporter reads the running count (under the lock when arg is not
 * NULL); every child is drained once. */
static void spawner_and_reader(void *arg)
{
	static struct pair pr;
	pthread_t t[2];
	size_t n;

	pr.locked = arg != NULL;
	if (sem_init(&pr.reaped, 0, 0) || ds_reaper_create(&pr.r))
		exit(2);
	pthread_create(&t[0], NULL, spawner, &pr);
	pthread_create(&t[1], NULL, reporter, &pr);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	ds_reaper_exits_free(ds_reaper_drain(pr.r, &n));
	if (n != PAIR_CHILDREN)
		exit(1);
	ds_reaper_destroy(pr.r);
	sem_destroy(&pr.reaped);
}

/* ---- a lookup of a child's record ------------------------------------ */

/* The child: a forked child is watched and waited for, then a thread
 * looks its record up. */
struct look {
	struct ds_reaper *r;
	bool locked; /* the library's lookup, else the broken one */
};

static void *looker(void *arg)
{
	struct look *lk = arg;
	struct ds_reaper_exit e;
	pid_t pid;

	lc_thread_set_name("looker");
	pid = fork_watched(lk->r, 7);
	if (pid < 0 || ds_reaper_wait(lk->r, pid, -1, &e))
		exit(1);
	if ((lk->locked ? ds_reaper_lookup(lk->r, pid, &e)
			: ds__reaper_lookup_without_lock(lk->r, pid, &e)) ||
	    e.how != DS_REAPER_EXITED || e.code != 7 || e.pid != pid)
		exit(1);
	return NULL;
}

/* A thread looks a reaped child's record up (with the library's lookup
 * when arg is not NULL). */
static void look_up_a_record(void *arg)
{
	struct look lk = { .locked = arg != NULL };
	pthread_t t;

	if (ds_reaper_create(&lk.r))
		exit(2);
	pthread_create(&t, NULL, looker, &lk);
	pthread_join(t, NULL);
	ds_reaper_destroy(lk.r);
}

/* The broken reader: one race at the unlocked read of the count, named
 * by the reaper's lock, read by the reporter holding no lock. */
START_TEST(test_count_without_lock_is_a_race)
{
	struct lct_child c = lct_expect_reports(spawner_and_reader, NULL, NULL,
						"race", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK) { /* else no checker: the child was silent */
		LCT_ASSERT_LINE(&c,
				"lockcheck: race: read without "
				"`ds_reaper.lock` at ds/reaper.c:",
				" in ds__reaper_count_running_without_lock()");
		LCT_ASSERT_ERR_HAS(&c, "by thread \"reporter\"");
		LCT_ASSERT_ERR_HAS(&c, "holding no lock");
		LCT_ASSERT_ERR_HAS(&c, "  why: read without `ds_reaper.lock`, "
				       "which guards it since ds/reaper.c:");
	}
	lct_child_free(&c);
}
END_TEST

/* The library's reader: the same two threads, no finding. */
START_TEST(test_count_with_lock_is_silent)
{
	struct lct_child c =
		lct_expect_reports(spawner_and_reader, "locked", NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* The broken lookup: one race at the copy of a record after unlocking,
 * named by the reaper's lock, which guards each child's fields. */
START_TEST(test_record_without_lock_is_a_race)
{
	struct lct_child c = lct_expect_reports(look_up_a_record, NULL, NULL,
						"race", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK) { /* else no checker: the child was silent */
		LCT_ASSERT_LINE(&c,
				"lockcheck: race: read without "
				"`ds_reaper.lock` at ds/reaper.c:",
				" in copy_record()");
		LCT_ASSERT_ERR_HAS(&c, "by thread \"looker\"");
	}
	lct_child_free(&c);
}
END_TEST

/* The library's lookup: the same thread, no finding. */
START_TEST(test_record_with_lock_is_silent)
{
	struct lct_child c =
		lct_expect_reports(look_up_a_record, "locked", NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- stress: spawners, a collector and a reader ----------------------- */

#define SPAWNERS    3
#define PER_SPAWNER 16
#define CHILDREN    (SPAWNERS * PER_SPAWNER)

struct kid {
	pid_t pid;
	int code;     /* expected exit status */
	bool drained; /* matched with a record */
};

struct stress {
	struct ds_reaper *r;
	struct kid kids[CHILDREN];
	atomic_int next_row;
	atomic_bool spawned;  /* the spawners finished */
	atomic_bool finished; /* every child ended: the collector stops */
	pthread_mutex_t lock; /* raw: the records drained so far */
	struct ds_reaper_exit *drained[CHILDREN];
	size_t ndrained;
};

/* Starts one row of children, forked and spawned in turns. */
static void *stress_spawner(void *arg)
{
	struct stress *s = arg;
	int row = atomic_fetch_add(&s->next_row, 1);

	for (int i = 0; i < PER_SPAWNER; i++) {
		struct kid *k = &s->kids[row * PER_SPAWNER + i];

		k->code = i % 2 ? 1 + row * PER_SPAWNER + i : 0;
		k->pid = i % 2 ? fork_watched(s->r, k->code) : spawn_true(s->r);
		if (k->pid < 0)
			exit(1);
	}
	return NULL;
}

/* Keeps the records of one drain (at most CHILDREN in all). */
static void keep(struct stress *s, struct ds_reaper_exit *list)
{
	pthread_mutex_lock(&s->lock);
	for (; list; list = list->next) {
		if (s->ndrained == CHILDREN)
			exit(1); /* more records than children */
		s->drained[s->ndrained++] = list;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Drains while children come and go. */
static void *stress_collector(void *arg)
{
	struct stress *s = arg;

	lc_thread_set_name("collector");
	while (!atomic_load(&s->finished)) {
		keep(s, ds_reaper_drain(s->r, NULL));
		sched_yield();
	}
	return NULL;
}

/* Reads the running count until every spawner is done. */
static void *stress_reader(void *arg)
{
	struct stress *s = arg;

	lc_thread_set_name("reader");
	while (!atomic_load(&s->spawned)) {
		if (ds_reaper_count_running(s->r) > CHILDREN)
			exit(1);
		sched_yield();
	}
	return NULL;
}

/* Each record matches one child (pid and status), each child one record. */
static void match_records(struct stress *s)
{
	if (s->ndrained != CHILDREN)
		exit(1);
	for (size_t i = 0; i < s->ndrained; i++) {
		const struct ds_reaper_exit *e = s->drained[i];
		struct kid *k = NULL;

		for (int j = 0; j < CHILDREN && !k; j++)
			if (!s->kids[j].drained && s->kids[j].pid == e->pid &&
			    s->kids[j].code == e->code)
				k = &s->kids[j];
		if (!k || e->how != DS_REAPER_EXITED)
			exit(1);
		k->drained = true;
	}
}

/* The child: spawners, a collector and a reader at once; afterwards every
 * child was reaped and drained exactly once, with its status. */
static void stress_child(void *arg)
{
	static struct stress s;
	pthread_t sp[SPAWNERS], collector, reader;
	struct ds_reaper_exit e;

	(void)arg;
	pthread_mutex_init(&s.lock, NULL);
	if (ds_reaper_create(&s.r))
		exit(2);
	pthread_create(&collector, NULL, stress_collector, &s);
	pthread_create(&reader, NULL, stress_reader, &s);
	for (int i = 0; i < SPAWNERS; i++)
		pthread_create(&sp[i], NULL, stress_spawner, &s);
	for (int i = 0; i < SPAWNERS; i++)
		pthread_join(sp[i], NULL);
	atomic_store(&s.spawned, true);
	pthread_join(reader, NULL);
	/* Each child ended: its record is here, or the collector took it. */
	for (int i = 0; i < CHILDREN; i++) {
		int err = ds_reaper_wait(s.r, s.kids[i].pid, -1, &e);

		if (err && err != ECHILD)
			exit(1);
	}
	atomic_store(&s.finished, true);
	pthread_join(collector, NULL);
	keep(&s, ds_reaper_drain(s.r, NULL));
	if (ds_reaper_count_running(s.r) != 0)
		exit(1);
	match_records(&s);
	for (size_t i = 0; i < s.ndrained; i++) {
		s.drained[i]->next = NULL;
		ds_reaper_exits_free(s.drained[i]);
	}
	ds_reaper_destroy(s.r);
	pthread_mutex_destroy(&s.lock);
}

START_TEST(test_stress_is_silent)
{
	struct lct_child c =
		lct_expect_reports(stress_child, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reaper_race");
	TCase *tc = tcase_create("race");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_count_without_lock_is_a_race);
	tcase_add_test(tc, test_record_without_lock_is_a_race);
	tcase_add_test(tc, test_count_with_lock_is_silent);
	tcase_add_test(tc, test_record_with_lock_is_silent);
	tcase_add_test(tc, test_stress_is_silent);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
