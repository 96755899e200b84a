/*
 * lock_bench.c: the lock-heavy program behind the lock-layer numbers of
 * docs/performance.md, built once per variant (lock_variant.h).
 *
 *   lock_bench pair THREADS STEPS    uncontended lock/unlock of one mutex
 *   lock_bench nested THREADS STEPS  table -> shard -> entry, 64 shards
 *   lock_bench stats THREADS STEPS   table -> shard -> stats, where table
 *                                    and stats are initialised on one line
 *                                    (two init calls: two classes)
 *   lock_bench memory                checked build: heap bytes per class
 *                                    and per edge (mallinfo2 deltas)
 *
 * Every thread has its own locks, so nothing is contended: what is measured
 * is the cost of one operation and whether it grows with threads (a global
 * lock on the checker's cached path would make it grow). The shard and
 * entry locks of all threads are one class each, as in a real sharded
 * table; shards carry their index as order key. Prints one line:
 * "<variant> <workload> <threads> <ns per step>".
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lock_variant.h"

#define SHARDS 64

struct locks {
	bl_mutex_t table;
	bl_mutex_t stats;
	bl_mutex_t shard[SHARDS];
	bl_mutex_t entry[SHARDS];
	char pad[64]; /* keep threads' locks off each other's cache lines */
};

struct run {
	struct locks *l;
	long steps;
	int workload; /* PAIR, NESTED or STATS */
	pthread_barrier_t *start;
};

enum { PAIR, NESTED, STATS, SCOPED };

static void init_locks(struct locks *l)
{
	int err;

	/* Two init calls on one line, as a user may write them. */
	err = bl_init(&l->table, "table", 0) | bl_init(&l->stats, "stats", 0);
	for (int i = 0; i < SHARDS; i++) {
		err |= bl_init(&l->shard[i], "shard", (uint64_t)i);
		err |= bl_init(&l->entry[i], "entry", (uint64_t)i);
	}
	if (err)
		exit(1);
}

/* The measured loops: kept out of line so callgrind can count them. */
__attribute__((noinline, used)) static void pair_loop(bl_mutex_t *m, long steps)
{
	for (long i = 0; i < steps; i++) {
		bl_lock(m);
		bl_unlock(m);
	}
}

/* pair_loop with the lock held by a scope (LC_SCOPED_LOCK). */
__attribute__((noinline, used)) static void scoped_loop(bl_mutex_t *m,
							long steps)
{
	for (long i = 0; i < steps; i++)
		BL_SCOPED_PAIR(m);
}

__attribute__((noinline, used)) static void nested_loop(struct locks *l,
							long steps)
{
	for (long i = 0; i < steps; i++) {
		int s = (int)(i & (SHARDS - 1));

		bl_lock(&l->table);
		bl_lock(&l->shard[s]);
		bl_lock(&l->entry[s]);
		bl_unlock(&l->entry[s]);
		bl_unlock(&l->shard[s]);
		bl_unlock(&l->table);
	}
}

__attribute__((noinline, used)) static void stats_loop(struct locks *l,
						       long steps)
{
	for (long i = 0; i < steps; i++) {
		int s = (int)(i & (SHARDS - 1));

		bl_lock(&l->table);
		bl_lock(&l->shard[s]);
		bl_lock(&l->stats);
		bl_unlock(&l->stats);
		bl_unlock(&l->shard[s]);
		bl_unlock(&l->table);
	}
}

static void *worker(void *arg)
{
	struct run *r = arg;

	pthread_barrier_wait(r->start);
	if (r->workload == NESTED)
		nested_loop(r->l, r->steps);
	else if (r->workload == STATS)
		stats_loop(r->l, r->steps);
	else if (r->workload == SCOPED)
		scoped_loop(&r->l->table, r->steps);
	else
		pair_loop(&r->l->table, r->steps);
	return NULL;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Runs threads x steps; returns wall-clock ns per step of one thread. */
static double measure(int workload, int threads, long steps)
{
	struct run *runs = calloc((size_t)threads, sizeof(*runs));
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	pthread_barrier_t start;
	struct locks *l;
	double begin, end;

	if (posix_memalign((void **)&l, 64, sizeof(*l) * (size_t)threads) ||
	    !runs || !t)
		exit(1);
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) {
		init_locks(&l[i]);
		runs[i] = (struct run){ &l[i], steps, workload, &start };
		pthread_create(&t[i], NULL, worker, &runs[i]);
	}
	pthread_barrier_wait(&start);
	begin = now_ns();
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	end = now_ns();
	free(t);
	free(runs);
	free(l);
	return (end - begin) / (double)steps;
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Heap cost of classes and edges: n classes taken once each, then n-1
 * edges between neighbours. Initializer classes with distinct names. */
static void memory(int n)
{
	bl_mutex_t *m = calloc((size_t)n, sizeof(*m));
	char *names = calloc((size_t)n, 16);
	size_t before, classes, edges;

	if (!m || !names)
		exit(1);
	pair_loop(&m[0], 1); /* the checker's own start-up, not per class */
	before = heap_used();
	for (int i = 1; i < n; i++) {
		snprintf(names + 16 * i, 16, "c%d", i);
		m[i] = (bl_mutex_t)BL_INITIALIZER(names + 16 * i);
		pair_loop(&m[i], 1);
	}
	classes = heap_used() - before;
	for (int i = 1; i + 1 < n; i++) {
		bl_lock(&m[i]);
		bl_lock(&m[i + 1]);
		bl_unlock(&m[i + 1]);
		bl_unlock(&m[i]);
	}
	edges = heap_used() - before - classes;
	printf("%s memory lock_bytes=%zu pthread_bytes=%zu class_bytes=%.0f "
	       "edge_bytes=%.0f\n",
	       BL_VARIANT, sizeof(bl_mutex_t), sizeof(pthread_mutex_t),
	       (double)classes / (n - 1), (double)edges / (n - 2));
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "memory") == 0) {
		memory(10000);
		return 0;
	}
	if (argc != 4 ||
	    (strcmp(argv[1], "pair") && strcmp(argv[1], "nested") &&
	     strcmp(argv[1], "stats") && strcmp(argv[1], "scoped"))) {
		fprintf(stderr, "usage: lock_bench pair|nested|stats|scoped "
				"THREADS STEPS | memory\n");
		return 2;
	}
	printf("%s %s %d %.2f\n", BL_VARIANT, argv[1], atoi(argv[2]),
	       measure(!strcmp(argv[1], "nested")   ? NESTED
		       : !strcmp(argv[1], "stats")  ? STATS
		       : !strcmp(argv[1], "scoped") ? SCOPED
						    : PAIR,
		       atoi(argv[2]), atol(argv[3])));
	return 0;
}
