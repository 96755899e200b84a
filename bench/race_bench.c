/*
 * race_bench.c: the counter program behind the race-checking numbers of
 * docs/performance.md, built once per variant (lock_variant.h; the race
 * calls are the header's in the lc_ variants and plain accesses in raw).
 *
 *   race_bench THREADS STEPS   each thread, per step: takes its own lock,
 *                              reads and writes its guarded counter
 *                              (declared with lc_guard), lets go, then
 *                              reads and writes an undeclared counter of
 *                              its own (happens-before)
 *   race_bench memory          checked build: heap bytes per checked
 *                              range and per thread (mallinfo2 deltas)
 *
 * Each thread has its own lock and counters, so nothing is contended:
 * what is measured is the cost of a checked access and whether it grows
 * with threads. Prints "<variant> race <threads> <ns per step>".
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lock_variant.h"

#ifdef BENCH_RAW
#define RD(lv)	       (lv)
#define WR(lv, v)      ((lv) = (v))
#define GUARD(p, n, l) ((void)0)
#else
#define RD(lv)	       LC_READ(lv)
#define WR(lv, v)      LC_WRITE(lv, v)
#define GUARD(p, n, l) lc_guard((p), (n), (l))
#endif

struct counters {
	bl_mutex_t lock;
	long guarded; /* under lock, declared */
	long own;     /* no lock: this thread's alone, happens-before */
	char pad[64]; /* threads' counters on lines of their own */
};

struct run {
	struct counters *c;
	long steps;
	pthread_barrier_t *start;
};

static void *loop(void *arg)
{
	struct run *r = arg;
	struct counters *c = r->c;

	pthread_barrier_wait(r->start);
	for (long i = 0; i < r->steps; i++) {
		bl_lock(&c->lock);
		WR(c->guarded, RD(c->guarded) + 1);
		bl_unlock(&c->lock);
		WR(c->own, RD(c->own) + 1);
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void bench(int threads, long steps)
{
	struct counters *c = calloc((size_t)threads, sizeof(*c));
	struct run *r = calloc((size_t)threads, sizeof(*r));
	pthread_t *th = calloc((size_t)threads, sizeof(*th));
	pthread_barrier_t start;
	double t0;

	if (!c || !r || !th)
		exit(1);
	pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) {
		bl_init(&c[i].lock, "counter", (uint64_t)i);
		(void)GUARD(&c[i].guarded, sizeof(c[i].guarded), &c[i].lock);
		r[i] = (struct run){ &c[i], steps, &start };
		pthread_create(&th[i], NULL, loop, &r[i]);
	}
	pthread_barrier_wait(&start);
	t0 = now();
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	printf("%s race %d %.2f\n", BL_VARIANT, threads,
	       (now() - t0) / (double)steps);
	for (int i = 0; i < threads; i++)
		if (c[i].guarded != steps || c[i].own != steps)
			exit(1);
	free(c);
	free(r);
	free(th);
}

#if !defined(BENCH_RAW) && LOCKCHECK
/* Bytes in use, big (mmap'd) blocks included. */
static size_t heap(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void *touch(void *arg)
{
	WR(*(long *)arg, 1);
	return NULL;
}

/* Bytes of checker state per checked range (8 bytes, undeclared, one
 * access) and per thread that made one (of THREADS, one at a time: the
 * tables that grow by doubling amortised), each writing the range the
 * one before wrote (ordered by join and create: no race, no granule). */
#define THREADS 2000
static void memory(int n)
{
	long *ranges = calloc((size_t)n, 2 * sizeof(long));
	size_t before;
	pthread_t th;

	if (!ranges)
		exit(1);
	WR(ranges[0], 0); /* starts the clocks */
	before = heap();
	for (int i = 1; i < n; i++)
		WR(ranges[2 * i], i); /* one granule each, 16 bytes apart */
	printf("%s memory range_bytes=%.0f", BL_VARIANT,
	       (double)(heap() - before) / (n - 1));
	before = heap();
	for (int i = 0; i < THREADS; i++) {
		pthread_create(&th, NULL, touch, &ranges[0]);
		pthread_join(th, NULL);
	}
	printf(" thread_bytes=%.0f\n", (double)(heap() - before) / THREADS);
}
#endif

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "memory") == 0) {
#if !defined(BENCH_RAW) && LOCKCHECK
		memory(100000);
#endif
		return 0;
	}
	if (argc != 3)
		return 2;
	bench(atoi(argv[1]), atol(argv[2]));
	return 0;
}
