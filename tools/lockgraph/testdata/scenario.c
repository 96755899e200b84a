/*
 * scenario.c: tiny programs whose lock-graph dumps the lockgraph tests
 * merge. `scenario NAME...` runs each named pattern in order, in one
 * process; run it with LOCKCHECK_DUMP=dir in a LOCKCHECK=1 build to get a
 * dump. Every lock is initialised in init_locks() whatever the pattern, so
 * every process has the same classes at the same init sites, and so the
 * merge sees one class per lock across processes.
 *
 * Patterns (each returns with nothing held):
 *   ab, ba        A then B; B then A
 *   bc, ca        B then C; C then A (with ab: a 3-cycle over processes)
 *   abba          A then B, then B then A, one thread
 *   threads       thread "left" takes A then B, then thread "right" B then
 *                 A (one after the other: no real deadlock)
 *   rr_xy, rr_yx  rwlocks X then Y, Y then X, both for reading
 *   rw_xy, rw_yx  X written then Y read; Y written then X read
 *   xr_yw, yw_xr  X read then Y written; Y written then X read (a cycle
 *                 that cannot deadlock: the reader of X never waits)
 *   gate_ab/_ba   under the singleton gate G: A then B; B then A
 *   gate2_ba      like gate_ba, but this process has two G locks
 *   pool_ab/_ba   under pool lock P[0] / P[1] (two instances): A then B,
 *                 B then A
 *   recursive     A taken twice (the second returns EDEADLK; LOCKCHECK=1
 *                 only)
 *   weird, aw     the lock W with quotes, braces, a newline and a backslash
 *                 in its name, then A; A then W
 *   counted       A taken 1000 times (counters for "hottest locks")
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lockcheck/lockcheck.h"

static lc_mutex_t a, b, c, g[2], p[2], w;
static lc_rwlock_t x, y;

static void gate_init(lc_mutex_t *m)
{
	lc_mutex_init(m, "G");
}

static void pool_init(lc_mutex_t *m)
{
	lc_mutex_init(m, "P");
}

static void init_locks(int gates)
{
	lc_mutex_init(&a, "A");
	lc_mutex_init(&b, "B");
	lc_mutex_init(&c, "C");
	lc_mutex_init(&w, "we\"ird {name}\nline2\\");
	lc_rwlock_init(&x, "X");
	lc_rwlock_init(&y, "Y");
	for (int i = 0; i < gates; i++)
		gate_init(&g[i]);
	pool_init(&p[0]);
	pool_init(&p[1]);
}

static void pair(lc_mutex_t *first, lc_mutex_t *second)
{
	lc_mutex_lock(first);
	lc_mutex_lock(second);
	lc_mutex_unlock(second);
	lc_mutex_unlock(first);
}

/* first taken for writing or reading, then second. */
static void rwpair(lc_rwlock_t *first, int w1, lc_rwlock_t *second, int w2)
{
	if (w1)
		lc_rwlock_wrlock(first);
	else
		lc_rwlock_rdlock(first);
	if (w2)
		lc_rwlock_wrlock(second);
	else
		lc_rwlock_rdlock(second);
	lc_rwlock_unlock(second);
	lc_rwlock_unlock(first);
}

static void gated(lc_mutex_t *gate, lc_mutex_t *first, lc_mutex_t *second)
{
	lc_mutex_lock(gate);
	pair(first, second);
	lc_mutex_unlock(gate);
}

static void *left(void *arg)
{
	(void)arg;
	lc_thread_set_name("left");
	pair(&a, &b);
	return NULL;
}

static void *right(void *arg)
{
	(void)arg;
	lc_thread_set_name("right");
	pair(&b, &a);
	return NULL;
}

static void threads(void)
{
	pthread_t t;

	pthread_create(&t, NULL, left, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, right, NULL);
	pthread_join(t, NULL);
}

/* Only the checker turns the second lock into EDEADLK; a plain mutex
 * would hang, so the plain build skips it. */
static void recursive(void)
{
	lc_mutex_lock(&a);
	if (LOCKCHECK && lc_mutex_lock(&a) == 0)
		lc_mutex_unlock(&a);
	lc_mutex_unlock(&a);
}

static void counted(void)
{
	for (int i = 0; i < 1000; i++) {
		lc_mutex_lock(&a);
		lc_mutex_unlock(&a);
	}
}

static int run(const char *n)
{
	if (!strcmp(n, "ab"))
		pair(&a, &b);
	else if (!strcmp(n, "ba"))
		pair(&b, &a);
	else if (!strcmp(n, "bc"))
		pair(&b, &c);
	else if (!strcmp(n, "ca"))
		pair(&c, &a);
	else if (!strcmp(n, "abba"))
		pair(&a, &b), pair(&b, &a);
	else if (!strcmp(n, "threads"))
		threads();
	else if (!strcmp(n, "rr_xy"))
		rwpair(&x, 0, &y, 0);
	else if (!strcmp(n, "rr_yx"))
		rwpair(&y, 0, &x, 0);
	else if (!strcmp(n, "rw_xy"))
		rwpair(&x, 1, &y, 0);
	else if (!strcmp(n, "rw_yx"))
		rwpair(&y, 1, &x, 0);
	else if (!strcmp(n, "xr_yw"))
		rwpair(&x, 0, &y, 1);
	else if (!strcmp(n, "yw_xr"))
		rwpair(&y, 1, &x, 0);
	else if (!strcmp(n, "gate_ab"))
		gated(&g[0], &a, &b);
	else if (!strcmp(n, "gate_ba") || !strcmp(n, "gate2_ba"))
		gated(&g[0], &b, &a);
	else if (!strcmp(n, "pool_ab"))
		gated(&p[0], &a, &b);
	else if (!strcmp(n, "pool_ba"))
		gated(&p[1], &b, &a);
	else if (!strcmp(n, "recursive"))
		recursive();
	else if (!strcmp(n, "weird"))
		pair(&w, &a);
	else if (!strcmp(n, "aw"))
		pair(&a, &w);
	else if (!strcmp(n, "counted"))
		counted();
	else
		return fprintf(stderr, "scenario: unknown pattern %s\n", n), 2;
	return 0;
}

int main(int argc, char **argv)
{
	int gates = 1;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "gate2_ba"))
			gates = 2;
	init_locks(gates);
	for (int i = 1; i < argc; i++)
		if (run(argv[i]))
			return 2;
	return 0;
}
