/*
 * race_test.c: race checking. Declared guards are checked at every access
 * whatever the schedule; undeclared ranges by happens-before. Each case
 * that must be reported runs in a child and its exact first report line
 * is asserted; each has a silent twin. Threads are put in order with raw
 * POSIX semaphores, which the checker does not see: they fix the schedule
 * without ordering anything for it.
 */
#define _GNU_SOURCE /* gettid */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ds/chan.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* Runs fn in a child: silent, or (checked build) exactly one race whose
 * first line is "lockcheck: race: " + want. Twice: with a dump, whose
 * inventory records every access on the slow path, and without, where
 * the common cases take the fast path (race_access.c): the verdicts must
 * agree. */
static void expect_race(void (*fn)(void *), void *arg, const char *want)
{
	static const char *const no_dump[] = { "LOCKCHECK_DUMP=", NULL };
	const char *const *envs[2] = { NULL, no_dump };

	for (int i = 0; i < 2; i++) {
		struct lct_child c = lct_expect_reports(
			fn, arg, envs[i], want ? "race" : NULL,
			LOCKCHECK && want ? 1 : 0);
		char line[1024], full[1024];

		if (LOCKCHECK && want) {
			snprintf(full, sizeof(full), "lockcheck: race: %s",
				 want);
			LCT_ASSERT_CHILD(&c,
					 lct_find_line(c.err,
						       "lockcheck: race:", line,
						       sizeof(line)) &&
						 strcmp(line, full) == 0);
		}
		lct_child_free(&c);
	}
}

/* "tests/race_test.c:<line> in <func>()", the way reports name a site. */
static const char *site(int line, const char *func)
{
	static char buf[8][256];
	static int next;
	char *b = buf[next++ % 8];

	snprintf(b, 256, "%s:%d in %s()", __FILE__, line, func);
	return b;
}

static const char *fmt(const char *f, const char *a, const char *b)
{
	static char buf[4][512];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, 512, f, a, b);
	return p;
}

/* ---- declared guards ---------------------------------------------- */

struct stats {
	lc_mutex_t lock;
	long hits;
	long misses;
};

static struct stats stats;

static void stats_init(void)
{
	lc_mutex_init(&stats.lock, "stats_lock");
	stats.hits = 0;
	ck_assert_int_eq(lc_guard(&stats.hits, sizeof(stats.hits), &stats.lock),
			 0);
}

enum { L_BUMP = __LINE__ + 5 };
static void bump(bool locked)
{
	if (locked)
		lc_mutex_lock(&stats.lock);
	LC_WRITE(stats.hits, stats.hits + 1);
	if (locked)
		lc_mutex_unlock(&stats.lock);
}

static void write_guarded(void *arg)
{
	stats_init();
	for (int i = 0; i < 3; i++)
		bump(arg != NULL);
}

START_TEST(test_guard_write_without_lock)
{
	expect_race(write_guarded, NULL,
		    fmt("write without `stats_lock` at %s",
			site(L_BUMP, "bump"), NULL));
}
END_TEST

START_TEST(test_guard_write_with_lock_is_silent)
{
	expect_race(write_guarded, "locked", NULL);
}
END_TEST

/* The report's lines: the access, the guard and why. */
START_TEST(test_guard_report_says_why)
{
	struct lct_child c = lct_expect_reports(write_guarded, NULL, NULL,
						"race", LOCKCHECK ? 1 : 0);
	char want[512];

	if (LOCKCHECK) {
		snprintf(want, sizeof(want),
			 "  why: written without `stats_lock`, which guards "
			 "it since %s:",
			 __FILE__);
		LCT_ASSERT_ERR_HAS(&c, want);
		LCT_ASSERT_ERR_HAS(&c, "  write of 8 bytes at ");
		LCT_ASSERT_ERR_HAS(&c, "  guard `stats_lock` of ");
		LCT_ASSERT_ERR_HAS(&c, "holding no lock");
	}
	lct_child_free(&c);
}
END_TEST

enum { L_READ_HITS = __LINE__ + 4 };
static void read_hits(void *arg)
{
	(void)arg;
	EXPECT(LC_READ(stats.hits) == 0);
}

/* Held by another thread is not held by the one that reads. */
static void lock_in_main_read_in_thread(void *arg)
{
	(void)arg;
	stats_init();
	lc_mutex_lock(&stats.lock);
	lct_in_thread(read_hits, NULL);
	lc_mutex_unlock(&stats.lock);
}

START_TEST(test_guard_held_by_another_thread)
{
	expect_race(lock_in_main_read_in_thread, NULL,
		    fmt("read without `stats_lock` at %s",
			site(L_READ_HITS, "read_hits"), NULL));
}
END_TEST

static void recursive_held(void *arg)
{
	lc_mutex_t m;
	long x = 0;

	(void)arg;
	lc_mutex_init_recursive(&m, "rec");
	lc_guard(&x, sizeof(x), &m);
	lc_mutex_lock(&m);
	lc_mutex_lock(&m);
	LC_WRITE(x, 1);
	lc_mutex_unlock(&m);
	LC_WRITE(x, 2); /* still held once */
	lc_mutex_unlock(&m);
	lc_mutex_destroy(&m);
}

START_TEST(test_guard_recursive_hold_counts)
{
	expect_race(recursive_held, NULL, NULL);
}
END_TEST

/* Waits for pid; true when it exited with status 0. */
static bool exited_0(pid_t pid)
{
	int status;

	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* A checked process forks after a declaration, and its child forks
 * again (a daemon's double fork): the declarations' lock must be usable
 * in each child (the child's unlock of the fork's write lock used to
 * leave it held, and the second fork hung). */
static void fork_twice(void *arg)
{
	pid_t child;

	(void)arg;
	stats_init();
	child = fork();
	if (child == 0) {
		pid_t grandchild = fork();

		if (grandchild == 0) {
			lc_unguard(&stats.hits, sizeof(stats.hits));
			_exit(lc_guard(&stats.hits, sizeof(stats.hits),
				       &stats.lock));
		}
		bump(true);
		_exit(exited_0(grandchild) ? 0 : 1);
	}
	EXPECT(exited_0(child));
	bump(true);
}

START_TEST(test_guard_survives_fork_twice)
{
	expect_race(fork_twice, NULL, NULL);
}
END_TEST

enum { L_REINIT = __LINE__ + 11 };
static void reinit(void *arg)
{
	lc_mutex_t m;
	long x = 0;

	lc_mutex_init(&m, "first");
	lc_guard(&x, sizeof(x), &m);
	lc_mutex_destroy(&m);
	lc_mutex_init(&m, "second");
	lc_mutex_lock(&m);
	LC_WRITE(x, arg != NULL); /* held: a new lock, not the guard */
	lc_mutex_unlock(&m);
	lc_mutex_destroy(&m);
}

START_TEST(test_guard_reinit_is_another_lock)
{
	expect_race(reinit, NULL,
		    fmt("write without `first` at %s", site(L_REINIT, "reinit"),
			NULL));
}
END_TEST

static lc_rwlock_t rw;
static lc_mutex_t inner = LC_MUTEX_INITIALIZER("inner");
static long table;

/* how: table_lock's mode ('r', 'w' or '-' for none), 'n' to take inner
 * after it (the guard is then not the newest lock held) or '.', then
 * the accesses in order. A read before a write caches the range's
 * declarations, so that the write takes the fast path (without a dump). */
enum { L_RW = __LINE__ + 17 };
static void rw_access(void *arg)
{
	const char *how = arg;

	lc_rwlock_init(&rw, "table_lock");
	lc_guard(&table, sizeof(table), &rw);
	if (how[0] == 'r')
		lc_rwlock_rdlock(&rw);
	if (how[0] == 'w')
		lc_rwlock_wrlock(&rw);
	if (how[1] == 'n')
		lc_mutex_lock(&inner);
	for (const char *a = how + 2; *a; a++) {
		if (*a == 'r')
			(void)LC_READ(table);
		if (*a == 'w')
			LC_WRITE(table, 1);
	}
	if (how[1] == 'n')
		lc_mutex_unlock(&inner);
	if (how[0] != '-')
		lc_rwlock_unlock(&rw);
	lc_rwlock_destroy(&rw);
}

START_TEST(test_guard_rwlock_modes)
{
	expect_race(rw_access, "r.r", NULL);
	expect_race(rw_access, "w.r", NULL);
	expect_race(rw_access, "w.w", NULL);
	expect_race(rw_access, "r.w",
		    fmt("write under a read lock of `table_lock` at %s",
			site(L_RW, "rw_access"), NULL));
	expect_race(rw_access, "-.r",
		    fmt("read without `table_lock` at %s",
			site(L_RW - 2, "rw_access"), NULL));
}
END_TEST

/* The write after a read, on the fast path: the guard the newest lock,
 * or under another lock taken after it. */
START_TEST(test_guard_rwlock_modes_after_a_read)
{
	expect_race(rw_access, "w.rw", NULL);
	expect_race(rw_access, "wnrw", NULL);
	expect_race(rw_access, "rnrr", NULL);
	expect_race(rw_access, "r.rw",
		    fmt("write under a read lock of `table_lock` at %s",
			site(L_RW, "rw_access"), NULL));
	expect_race(rw_access, "rnrw",
		    fmt("write under a read lock of `table_lock` at %s",
			site(L_RW, "rw_access"), NULL));
	expect_race(rw_access, "-nrr",
		    fmt("read without `table_lock` at %s",
			site(L_RW - 2, "rw_access"), NULL));
}
END_TEST

/* Bytes: the guard covers b[4..8) only; overlapping guards all apply. */
static unsigned char bytes[16];
static lc_mutex_t ma = LC_MUTEX_INITIALIZER("ma");
static lc_mutex_t mb = LC_MUTEX_INITIALIZER("mb");

enum { L_BYTES = __LINE__ + 12 };
static void byte_ranges(void *arg)
{
	const char *how = arg;

	lc_guard(&bytes[4], 4, &ma);
	lc_guard(&bytes[6], 4, &mb); /* bytes 6..10 */
	lc_mutex_lock(&ma);
	lc_write(&bytes[0], 4);	 /* unguarded bytes */
	lc_write(&bytes[4], 2);	 /* only ma's */
	lc_write(&bytes[10], 6); /* past both */
	if (how[0] == 'o')
		lc_write(&bytes[5], 2); /* 5 is ma's, 6 ma's and mb's */
	if (how[0] == 'u') {
		lc_unguard(&bytes[6], 2); /* mb keeps 8..10 */
		lc_write(&bytes[5], 3);
	}
	lc_mutex_unlock(&ma);
}

START_TEST(test_guard_bytes_and_overlaps)
{
	expect_race(byte_ranges, "-", NULL);
	expect_race(byte_ranges, "u", NULL);
	expect_race(byte_ranges, "o",
		    fmt("write without `mb` at %s",
			site(L_BYTES, "byte_ranges"), NULL));
}
END_TEST

/* ---- happens-before ----------------------------------------------- */

static sem_t go; /* raw: orders the schedule, not the checker */
static long shared;

struct pair {
	void *(*first)(void *);
	void *(*second)(void *);
};

/* Runs first, then second, each in its own thread, second after first
 * has posted go. */
static void run_pair(void *arg)
{
	const struct pair *p = arg;
	pthread_t a, b;

	sem_init(&go, 0, 0);
	ck_assert_int_eq(pthread_create(&a, NULL, p->first, NULL), 0);
	ck_assert_int_eq(pthread_create(&b, NULL, p->second, NULL), 0);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
}

enum { L_W1 = __LINE__ + 3 };
static void *write_then_post(void *arg)
{
	LC_WRITE(shared, 1);
	sem_post(&go);
	return arg;
}

enum { L_W2 = __LINE__ + 4 };
static void *wait_then_write(void *arg)
{
	sem_wait(&go);
	LC_WRITE(shared, 2);
	return arg;
}

START_TEST(test_unordered_writes)
{
	struct pair p = { write_then_post, wait_then_write };

	expect_race(run_pair, &p,
		    fmt("write at %s and earlier write at %s by another "
			"thread, unordered",
			site(L_W2, "wait_then_write"),
			site(L_W1, "write_then_post")));
}
END_TEST

START_TEST(test_unordered_report_says_why)
{
	struct pair p = { write_then_post, wait_then_write };
	struct lct_child c = lct_expect_reports(run_pair, &p, NULL, "race",
						LOCKCHECK ? 1 : 0);

	if (LOCKCHECK) {
		LCT_ASSERT_ERR_HAS(&c,
				   "  why: no lock or ordering between them");
		LCT_ASSERT_ERR_HAS(&c, "  earlier write of 8 bytes at ");
	}
	lct_child_free(&c);
}
END_TEST

static void *handoff_then_post(void *arg)
{
	LC_WRITE(shared, 1);
	lc_handoff(&shared, sizeof(shared));
	sem_post(&go);
	return arg;
}

START_TEST(test_handoff_is_silent)
{
	struct pair p = { handoff_then_post, wait_then_write };

	expect_race(run_pair, &p, NULL);
}
END_TEST

/* lc_handoff empties the granule of shared, and the writer then writes
 * granules of every stripe: its later write of shared, found again by its
 * hint (race_shadow.c), must keep its history there. 4096 granules:
 * every stripe gets some. */
static long others[4096];

static void write_others(void)
{
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		LC_WRITE(others[i], 1);
}

/* A write of shared after a hand-over, then the other writes. */
enum { L_W3 = __LINE__ + 5 };
static void write_after_handoff(void)
{
	LC_WRITE(shared, 1);
	lc_handoff(&shared, sizeof(shared));
	LC_WRITE(shared, 3);
	write_others();
}

static void *handoff_write_post(void *arg)
{
	write_after_handoff();
	sem_post(&go);
	return arg;
}

static void *handoff_write_handoff_post(void *arg)
{
	write_after_handoff();
	lc_handoff(&shared, sizeof(shared));
	sem_post(&go);
	return arg;
}

START_TEST(test_write_after_handoff_is_kept)
{
	struct pair p = { handoff_write_post, wait_then_write };

	expect_race(run_pair, &p,
		    fmt("write at %s and earlier write at %s by another "
			"thread, unordered",
			site(L_W2, "wait_then_write"),
			site(L_W3, "write_after_handoff")));
}
END_TEST

START_TEST(test_write_after_handoff_handed_off_is_silent)
{
	struct pair p = { handoff_write_handoff_post, wait_then_write };

	expect_race(run_pair, &p, NULL);
}
END_TEST

static lc_mutex_t m = LC_MUTEX_INITIALIZER("m");

static void *locked_write_post(void *arg)
{
	lc_mutex_lock(&m);
	LC_WRITE(shared, 1);
	lc_mutex_unlock(&m);
	sem_post(&go);
	return arg;
}

static void *wait_locked_write(void *arg)
{
	sem_wait(&go);
	lc_mutex_lock(&m);
	LC_WRITE(shared, 2);
	lc_mutex_unlock(&m);
	return arg;
}

START_TEST(test_mutex_orders)
{
	struct pair p = { locked_write_post, wait_locked_write };

	expect_race(run_pair, &p, NULL);
}
END_TEST

/* A failed trylock orders nothing: the second thread's try fails while
 * the first holds m again after its write. */
static sem_t tried;

enum { L_WUR = __LINE__ + 4 };
static void *write_unlock_relock(void *arg)
{
	lc_mutex_lock(&m);
	LC_WRITE(shared, 1);
	lc_mutex_unlock(&m);
	lc_mutex_lock(&m);
	sem_post(&go);
	sem_wait(&tried);
	lc_mutex_unlock(&m);
	return arg;
}

enum { L_TRY = __LINE__ + 5 };
static void *try_then_write(void *arg)
{
	sem_wait(&go);
	ck_assert_int_eq(lc_mutex_trylock(&m), EBUSY);
	LC_WRITE(shared, 2);
	sem_post(&tried);
	return arg;
}

static void run_try(void *arg)
{
	sem_init(&tried, 0, 0);
	run_pair(arg);
}

START_TEST(test_failed_trylock_orders_nothing)
{
	struct pair p = { write_unlock_relock, try_then_write };

	expect_race(run_try, &p,
		    fmt("write at %s and earlier write at %s by another "
			"thread, unordered",
			site(L_TRY, "try_then_write"),
			site(L_WUR, "write_unlock_relock")));
}
END_TEST

/* Init before pthread_create, read after pthread_join (also when the
 * thread leaves through pthread_exit). */
static void *read_and_write(void *arg)
{
	EXPECT(LC_READ(shared) == 1);
	LC_WRITE(shared, 2);
	if (arg)
		pthread_exit(NULL);
	return NULL;
}

static void create_join(void *arg)
{
	pthread_t th;

	LC_WRITE(shared, 1);
	ck_assert_int_eq(pthread_create(&th, NULL, read_and_write, arg), 0);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	EXPECT(LC_READ(shared) == 2);
	LC_WRITE(shared, 3);
}

START_TEST(test_create_and_join_order)
{
	expect_race(create_join, NULL, NULL);
	expect_race(create_join, "pthread_exit", NULL);
}
END_TEST

/* Read-only sharing and thread-local data, many threads. */
enum { NREADERS = 8 };
static long table_ro[4];

static void *read_only(void *arg)
{
	long mine = 0;

	for (int i = 0; i < 100; i++) {
		mine += LC_READ(table_ro[i % 4]);
		LC_WRITE(mine, mine + 1); /* thread-local */
	}
	return arg;
}

static void many_readers(void *arg)
{
	pthread_t th[NREADERS];

	(void)arg;
	for (int i = 0; i < 4; i++)
		LC_WRITE(table_ro[i], i);
	for (int i = 0; i < NREADERS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, read_only, NULL),
				 0);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(th[i], NULL);
}

START_TEST(test_read_sharing_and_thread_local_are_silent)
{
	expect_race(many_readers, NULL, NULL);
}
END_TEST

/* Three threads each hold two of three locks: every pair shares one. */
static lc_mutex_t l3[3] = { LC_MUTEX_INITIALIZER("l0"),
			    LC_MUTEX_INITIALIZER("l1"),
			    LC_MUTEX_INITIALIZER("l2") };

static void *two_of_three(void *arg)
{
	int k = (int)(long)arg, a = k < 2 ? k : 0, b = k < 2 ? k + 1 : 2;

	for (int i = 0; i < 200; i++) {
		lc_mutex_lock(&l3[a]);
		lc_mutex_lock(&l3[b]);
		LC_WRITE(shared, LC_READ(shared) + 1);
		lc_mutex_unlock(&l3[b]);
		lc_mutex_unlock(&l3[a]);
	}
	return NULL;
}

static void three_threads(void *arg)
{
	pthread_t th[3];

	(void)arg;
	for (long i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, two_of_three, (void *)i);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
}

START_TEST(test_two_of_three_locks_are_silent)
{
	expect_race(three_threads, NULL, NULL);
}
END_TEST

/* A consumer that finds the predicate already set never waits; one that
 * waits is woken by the signal. Either way the data is ordered. */
static lc_mutex_t qm = LC_MUTEX_INITIALIZER("queue");
static lc_cond_t qc = LC_COND_INITIALIZER;
static int ready;
static long payload;

static void *producer(void *arg)
{
	LC_WRITE(payload, 42); /* outside the lock, before the flag */
	lc_mutex_lock(&qm);
	ready = 1;
	lc_cond_signal(&qc);
	lc_mutex_unlock(&qm);
	if (arg)
		sem_post(&go);
	return NULL;
}

static void *consumer(void *arg)
{
	if (arg)
		sem_wait(&go); /* the predicate is set before it looks */
	lc_mutex_lock(&qm);
	while (!ready)
		lc_cond_wait(&qc, &qm);
	lc_mutex_unlock(&qm);
	EXPECT(LC_READ(payload) == 42);
	return NULL;
}

static void produce_consume(void *arg)
{
	pthread_t p, c;

	sem_init(&go, 0, 0);
	pthread_create(&c, NULL, consumer, arg);
	pthread_create(&p, NULL, producer, arg);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
}

START_TEST(test_consumer_is_silent)
{
	expect_race(produce_consume, "no wait", NULL);
	expect_race(produce_consume, NULL, NULL);
}
END_TEST

/* Data handed over through a channel. */
static void *chan_consumer(void *arg)
{
	long *item;

	ck_assert_int_eq(ds_chan_recv(arg, &item), 0);
	EXPECT(LC_READ(*item) == 7);
	LC_WRITE(*item, 8);
	return NULL;
}

static void through_chan(void *arg)
{
	ds_chan_t *ch;
	pthread_t th;
	long *item = malloc(sizeof(*item));

	(void)arg;
	ck_assert_ptr_nonnull(item);
	ck_assert_int_eq(ds_chan_create(&ch, 1, sizeof(item), "items"), 0);
	pthread_create(&th, NULL, chan_consumer, ch);
	LC_WRITE(*item, 7);
	ck_assert_int_eq(ds_chan_send(ch, &item), 0);
	pthread_join(th, NULL);
	EXPECT(LC_READ(*item) == 8);
	lc_unguard(item, sizeof(*item));
	free(item);
	ds_chan_destroy(ch);
}

START_TEST(test_chan_hand_over_is_silent)
{
	expect_race(through_chan, NULL, NULL);
}
END_TEST

/* rwlock: a read unlock orders a later write lock, not a later read lock. */
static lc_rwlock_t rwo = LC_RWLOCK_INITIALIZER("rwo");

enum { L_RD1 = __LINE__ + 4 };
static void *read_locked_post(void *arg)
{
	lc_rwlock_rdlock(&rwo);
	(void)LC_READ(shared);
	lc_rwlock_unlock(&rwo);
	sem_post(&go);
	return arg;
}

enum { L_RD2 = __LINE__ + 8 };
static void *wait_write(void *arg)
{
	sem_wait(&go);
	if (arg)
		lc_rwlock_wrlock(&rwo);
	else
		lc_rwlock_rdlock(&rwo);
	LC_WRITE(shared, 1); /* under a read lock: a race by itself */
	lc_rwlock_unlock(&rwo);
	return arg;
}

static void *wait_write_locked(void *arg)
{
	(void)arg;
	return wait_write("wr");
}

START_TEST(test_rwlock_read_unlock_orders_only_writers)
{
	struct pair p = { read_locked_post, wait_write };

	expect_race(run_pair, &p,
		    fmt("write at %s and earlier read at %s by another "
			"thread, unordered",
			site(L_RD2, "wait_write"),
			site(L_RD1, "read_locked_post")));
	p.second = wait_write_locked;
	expect_race(run_pair, &p, NULL);
}
END_TEST

/* A race is reported once per pair of sites, however often it happens. */
static void *write_often(void *arg)
{
	for (int i = 0; i < 50; i++)
		LC_WRITE(shared, i);
	sem_post(&go);
	return arg;
}

static void *wait_write_often(void *arg)
{
	sem_wait(&go);
	for (int i = 0; i < 50; i++)
		LC_WRITE(shared, i);
	return arg;
}

START_TEST(test_once_per_pair_of_sites)
{
	struct pair p = { write_often, wait_write_often };
	struct lct_child c = lct_expect_reports(run_pair, &p, NULL, "race",
						LOCKCHECK ? 1 : 0);

	lct_child_free(&c);
}
END_TEST

/* Bad input changes nothing and reports nothing. */
static void bad_input(void *arg)
{
	(void)arg;
	EXPECT(lc_guard(NULL, 8, &m) == (LOCKCHECK ? EINVAL : 0));
	EXPECT(lc_guard(&shared, 0, &m) == (LOCKCHECK ? EINVAL : 0));
	lc_read(NULL, 8);
	lc_write(&shared, 0);
	lc_unguard(NULL, 1);
	lc_handoff(NULL, 0);
	LC_WRITE(shared, 1);
}

START_TEST(test_bad_input_is_refused)
{
	expect_race(bad_input, NULL, NULL);
}
END_TEST

/* ---- the guard inventory ------------------------------------------ */

/* The dump's threads count tells threads apart by tid, even tids equal
 * modulo 64 (a bitmap of tid % 64 once counted them as one). The main
 * thread writes a range; then threads are started one at a time, and
 * only those whose tid is the main thread's modulo 64 read it, until
 * `colliders` have. Each read follows the write (create orders it). */
static long inv_data;
static int inv_bit, inv_read;

static void *read_if_colliding(void *arg)
{
	(void)arg;
	if (gettid() % 64 == inv_bit)
		inv_read += (int)(LC_READ(inv_data) == 1);
	return NULL;
}

static void write_then_colliders_read(void *arg)
{
	int colliders = *(int *)arg;

	inv_bit = gettid() % 64;
	LC_WRITE(inv_data, 1);
	/* Tids come from the system's pids: a bit comes back within a few
	 * hundred threads unless the pids were used up (then the count
	 * below fails the test, saying so). */
	for (int i = 0; i < 100000 && inv_read < colliders; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, read_if_colliding, NULL) != 0)
			break;
		pthread_join(t, NULL);
	}
	printf("colliders %d\n", inv_read);
}

/* The threads field of the dump's range line of the write above. */
static unsigned inventory_threads(int colliders)
{
	const char *dir = lct_tmpdir("inventory");
	char env_dump[4200], want[64];
	const char *env[] = { env_dump, NULL };
	struct lct_child c;
	unsigned accesses, writes, threads;
	const char *line;
	char *dump;

	ck_assert_ptr_nonnull(dir);
	snprintf(env_dump, sizeof(env_dump), "LOCKCHECK_DUMP=%s", dir);
	LCT_ASSERT_RAN(
		lct_run_fn(write_then_colliders_read, &colliders, env, &c), &c);
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 0);
	snprintf(want, sizeof(want), "colliders %d\n", colliders);
	LCT_ASSERT_CHILD(&c, strcmp(c.out, want) == 0);
	dump = lct_read_only_dump(dir);
	ck_assert_ptr_nonnull(dump);
	line = strstr(dump, "\nrange ");
	ck_assert_ptr_nonnull(line);
	ck_assert_ptr_nonnull(
		strstr(line, " \"write_then_colliders_read()\" "));
	ck_assert_int_eq(
		sscanf(line, "\nrange %u %u %u", &accesses, &writes, &threads),
		3);
	ck_assert_uint_eq(accesses, 1 + (unsigned)colliders);
	ck_assert_uint_eq(writes, 1);
	ck_assert_ptr_null(strstr(line + 1, "\nrange "));
	free(dump);
	lct_child_free(&c);
	return threads;
}

START_TEST(test_inventory_tells_colliding_tids_apart)
{
	if (!LOCKCHECK)
		return; /* no checker, no dump */
	ck_assert_uint_eq(inventory_threads(1), 2);
	ck_assert_uint_eq(inventory_threads(3), 4);
}
END_TEST

/* Past four threads the count is a lower bound (docs/dump-format.md):
 * never below four, never above the truth. */
START_TEST(test_inventory_counts_at_least_four)
{
	unsigned threads;

	if (!LOCKCHECK)
		return;
	threads = inventory_threads(5);
	ck_assert_uint_ge(threads, 4);
	ck_assert_uint_le(threads, 6);
}
END_TEST

/* ---- fork ---------------------------------------------------------- */

/* Threads that declare, access and undeclare while the main thread
 * forks: the child, whose one thread is the one that forked, must find
 * every lock of the checker usable (a hang there is the child's alarm). */
#define FORKS	     50
#define FORK_THREADS 2

static atomic_bool forking;
static sem_t churning; /* a churner is past its first round */

struct churner {
	lc_mutex_t lock;
	long data, local;
	bool declare; /* false: only lc_unguard, so nothing arms the checker */
};

static void *churn(void *arg)
{
	struct churner *c = arg;
	bool first = true;

	while (atomic_load(&forking)) {
		if (c->declare)
			EXPECT(lc_guard(&c->data, sizeof(c->data), &c->lock) ==
			       0);
		lc_mutex_lock(&c->lock);
		if (c->declare)
			LC_WRITE(c->data, c->data + 1);
		lc_mutex_unlock(&c->lock);
		if (c->declare)
			LC_WRITE(c->local, c->local + 1);
		lc_unguard(&c->data, sizeof(c->data));
		if (first)
			sem_post(&churning);
		first = false;
	}
	return NULL;
}

static lc_mutex_t cm = LC_MUTEX_INITIALIZER("child_lock");

/* In the forked child: a declaration, a write under it, and its end. */
static void guard_in_child(void)
{
	static long x;

	alarm(10); /* a hang kills it: the parent sees the signal */
	if (lc_guard(&x, sizeof(x), &cm) != 0)
		_exit(2);
	lc_mutex_lock(&cm);
	LC_WRITE(x, x + 1);
	lc_mutex_unlock(&cm);
	lc_unguard(&x, sizeof(x));
	_exit(0);
}

static void fork_while_churning(void *arg)
{
	static struct churner c[FORK_THREADS];
	pthread_t t[FORK_THREADS];

	/* The allocators of the sanitizers may be left locked in a child
	 * forked while another thread allocates: the checker's state of this
	 * thread and of cm is made now, and the churners have made theirs
	 * (allocating no more) before the first fork. */
	lc_mutex_lock(&cm);
	lc_mutex_unlock(&cm);
	sem_init(&churning, 0, 0);
	atomic_store(&forking, true);
	for (int i = 0; i < FORK_THREADS; i++) {
		lc_mutex_init(&c[i].lock, "churn_lock");
		c[i].declare = arg != NULL;
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn, &c[i]), 0);
	}
	for (int i = 0; i < FORK_THREADS; i++)
		while (sem_wait(&churning) != 0)
			;
	for (int i = 0; i < FORKS; i++) {
		int status;
		pid_t pid = fork();

		if (pid == 0)
			guard_in_child();
		ck_assert_int_gt(pid, 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	atomic_store(&forking, false);
	for (int i = 0; i < FORK_THREADS; i++)
		pthread_join(t[i], NULL);
}

START_TEST(test_fork_after_guard_is_silent)
{
	expect_race(fork_while_churning, "declare", NULL);
}
END_TEST

/* Threads that only undeclare, while the process forks. */
START_TEST(test_fork_while_unguarding_is_silent)
{
	expect_race(fork_while_churning, NULL, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("race");
	TCase *guards = tcase_create("guards");
	TCase *hb = tcase_create("happens_before");
	TCase *forks = tcase_create("fork");
	TCase *inventory = tcase_create("inventory");
	SRunner *sr;
	int failed;

	tcase_add_test(guards, test_guard_write_without_lock);
	tcase_add_test(guards, test_guard_write_with_lock_is_silent);
	tcase_add_test(guards, test_guard_report_says_why);
	tcase_add_test(guards, test_guard_held_by_another_thread);
	tcase_add_test(guards, test_guard_recursive_hold_counts);
	tcase_add_test(guards, test_guard_reinit_is_another_lock);
	tcase_add_test(guards, test_guard_survives_fork_twice);
	tcase_add_test(guards, test_guard_rwlock_modes);
	tcase_add_test(guards, test_guard_rwlock_modes_after_a_read);
	tcase_add_test(guards, test_guard_bytes_and_overlaps);
	tcase_add_test(hb, test_unordered_writes);
	tcase_add_test(hb, test_unordered_report_says_why);
	tcase_add_test(hb, test_handoff_is_silent);
	tcase_add_test(hb, test_write_after_handoff_is_kept);
	tcase_add_test(hb, test_write_after_handoff_handed_off_is_silent);
	tcase_add_test(hb, test_mutex_orders);
	tcase_add_test(hb, test_failed_trylock_orders_nothing);
	tcase_add_test(hb, test_create_and_join_order);
	tcase_add_test(hb, test_read_sharing_and_thread_local_are_silent);
	tcase_add_test(hb, test_two_of_three_locks_are_silent);
	tcase_add_test(hb, test_consumer_is_silent);
	tcase_add_test(hb, test_chan_hand_over_is_silent);
	tcase_add_test(hb, test_rwlock_read_unlock_orders_only_writers);
	tcase_add_test(hb, test_once_per_pair_of_sites);
	tcase_add_test(hb, test_bad_input_is_refused);
	suite_add_tcase(s, guards);
	suite_add_tcase(s, hb);
	tcase_add_test(inventory, test_inventory_tells_colliding_tids_apart);
	tcase_add_test(inventory, test_inventory_counts_at_least_four);
	tcase_set_timeout(inventory, 60);
	suite_add_tcase(s, inventory);
	tcase_add_test(forks, test_fork_after_guard_is_silent);
	tcase_add_test(forks, test_fork_while_unguarding_is_silent);
	tcase_set_timeout(forks, 60);
	suite_add_tcase(s, forks);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
