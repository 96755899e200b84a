/*
 * rwmap_bench.c: ds_rwmap (one reader-writer lock) against the same map
 * under one mutex, side by side in one run (bench/cache.sh drives it).
 *
 * The mutex map below is ds_rwmap's design with the lock swapped: the same
 * uthash table, the same keyed SipHash-1-3, entries with the key and value
 * inline, allocation and freeing outside the lock, get copying the value
 * out. 64K keys of 8 bytes, 32-byte values, the map filled first; each
 * thread replays its own pre-generated stream of gets and puts (replacing a
 * value) with uniform keys, for a fixed time after a warm-up; median ops/s
 * of REPS interleaved runs with the spread, and the ratio of the medians.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds/hash.h"
#include "ds/rwmap.h"
#include "lockcheck/lockcheck.h"

#define HASH_FUNCTION(keyptr, keylen, hashv)                                   \
	((hashv) = (unsigned)ds__siphash13(&m->hkey, (keyptr), (keylen)))
#define HASH_KEYCMP(a, b, n) ds__key_cmp((a), (b), (n))
#include <uthash.h>

enum { KEYS = 1 << 16, VLEN = 32, MAX_THREADS = 8, MAX_REPS = 15 };
#define STREAM_LEN (1u << 20)
#define WRITE_BIT  (1u << 31)

/* ---- the same map under one mutex ---- */

struct mentry {
	UT_hash_handle hh;
	size_t vlen;
	unsigned char bytes[]; /* key, then value */
};

struct mmap {
	pthread_mutex_t lock;
	struct mentry *table;
	struct ds__hash_key hkey;
};

static void *mmap_create(void)
{
	struct mmap *m = calloc(1, sizeof(*m));

	pthread_mutex_init(&m->lock, NULL);
	ds__hash_key_init(&m->hkey, NULL);
	return m;
}

static void mmap_destroy(void *map)
{
	struct mmap *m = map;
	struct mentry *e, *tmp;

	HASH_ITER(hh, m->table, e, tmp)
	{
		HASH_DELETE(hh, m->table, e);
		free(e);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int mmap_put(void *map, const void *key, size_t keylen,
		    const void *value, size_t vlen)
{
	struct mmap *m = map;
	struct mentry *e = malloc(sizeof(*e) + keylen + vlen), *old;
	unsigned hashv;

	memcpy(e->bytes, key, keylen);
	memcpy(e->bytes + keylen, value, vlen);
	e->vlen = vlen;
	HASH_VALUE(key, keylen, hashv);
	pthread_mutex_lock(&m->lock);
	HASH_FIND_BYHASHVALUE(hh, m->table, key, keylen, hashv, old);
	HASH_ADD_KEYPTR_BYHASHVALUE(hh, m->table, e->bytes, keylen, hashv, e);
	if (old)
		HASH_DELETE(hh, m->table, old);
	pthread_mutex_unlock(&m->lock);
	free(old);
	return 0;
}

static int mmap_get(void *map, const void *key, size_t keylen, void *buf,
		    size_t cap, size_t *vlen)
{
	struct mmap *m = map;
	struct mentry *e;
	unsigned hashv;
	int err = ENOENT;

	HASH_VALUE(key, keylen, hashv);
	pthread_mutex_lock(&m->lock);
	HASH_FIND_BYHASHVALUE(hh, m->table, key, keylen, hashv, e);
	if (e) {
		*vlen = e->vlen;
		err = e->vlen > cap ? ERANGE : 0;
		if (!err)
			memcpy(buf, e->bytes + keylen, e->vlen);
	}
	pthread_mutex_unlock(&m->lock);
	return err;
}

/* ---- ds_rwmap behind the same interface ---- */

static void *rw_create(void)
{
	ds_rwmap_t *m;

	return ds_rwmap_create(&m, NULL) ? NULL : m;
}

static void rw_destroy(void *map)
{
	ds_rwmap_destroy(map);
}

static int rw_put(void *map, const void *key, size_t keylen, const void *value,
		  size_t vlen)
{
	return ds_rwmap_put(map, key, keylen, value, vlen);
}

static int rw_get(void *map, const void *key, size_t keylen, void *buf,
		  size_t cap, size_t *vlen)
{
	return ds_rwmap_get(map, key, keylen, buf, cap, vlen);
}

struct bench_map {
	const char *name;
	void *(*create)(void);
	void (*destroy)(void *map);
	int (*put)(void *map, const void *key, size_t keylen, const void *value,
		   size_t vlen);
	int (*get)(void *map, const void *key, size_t keylen, void *buf,
		   size_t cap, size_t *vlen);
};

static const struct bench_map impls[2] = {
	{ LOCKCHECK ? "rwmap-lockcheck" : "rwmap", rw_create, rw_destroy,
	  rw_put, rw_get },
	{ "mutex", mmap_create, mmap_destroy, mmap_put, mmap_get },
};

/* ---- timed runs ---- */

struct worker {
	pthread_t tid;
	const struct bench_map *impl;
	void *map;
	const uint32_t *ops;
	uint64_t done; /* measured phase only */
	double cpu_s;  /* this thread's CPU time in it */
};

static _Atomic int phase; /* 0 warm-up, 1 measured, 2 stop */
static pthread_barrier_t start;
static int run_ms = 300, warmup_ms = 100, reps = 5;

static void do_op(const struct worker *w, uint32_t op)
{
	uint64_t key = op & ~WRITE_BIT;
	unsigned char val[VLEN];
	size_t vlen;

	if (op & WRITE_BIT) {
		memset(val, (int)(op & 0xff), sizeof(val));
		w->impl->put(w->map, &key, sizeof(key), val, sizeof(val));
	} else if (w->impl->get(w->map, &key, sizeof(key), val, sizeof(val),
				&vlen) != 0) {
		abort(); /* every key is there */
	}
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t n, n0 = 0;
	double cpu0 = 0;

	pthread_barrier_wait(&start);
	for (n = 0;; n++) {
		if ((n & 255) == 0 && atomic_load(&phase) == 1 && !n0)
			n0 = n, cpu0 = thread_cpu_s();
		if ((n & 255) == 0 && atomic_load(&phase) == 2)
			break;
		do_op(w, w->ops[n & (STREAM_LEN - 1)]);
	}
	w->cpu_s = thread_cpu_s() - cpu0;
	w->done = n - n0;
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *filled_map(const struct bench_map *impl)
{
	void *m = impl->create();
	unsigned char val[VLEN] = { 0 };

	for (uint64_t k = 0; m && k < KEYS; k++)
		impl->put(m, &k, sizeof(k), val, sizeof(val));
	return m;
}

/* Starts the workers, lets them warm up, and returns the seconds of the
 * measured phase; they have stopped when it returns. */
static double run_workers(struct worker *w, int nthreads)
{
	double t0, t1;

	atomic_store(&phase, 0);
	pthread_barrier_init(&start, NULL, (unsigned)nthreads + 1);
	for (int t = 0; t < nthreads; t++)
		pthread_create(&w[t].tid, NULL, worker_main, &w[t]);
	pthread_barrier_wait(&start);
	sleep_ms(warmup_ms);
	atomic_store(&phase, 1);
	t0 = now_s();
	sleep_ms(run_ms);
	atomic_store(&phase, 2);
	t1 = now_s();
	for (int t = 0; t < nthreads; t++)
		pthread_join(w[t].tid, NULL);
	pthread_barrier_destroy(&start);
	return t1 - t0;
}

struct result {
	double wall, cpu; /* ops per second: wall clock, workers' CPU time */
};

static struct result timed_run(const struct bench_map *impl, int nthreads,
			       uint32_t *const *streams)
{
	struct worker w[MAX_THREADS];
	void *map = filled_map(impl);
	uint64_t ops = 0;
	double secs, cpu = 0;
	struct result r;

	for (int t = 0; t < nthreads; t++)
		w[t] = (struct worker){ 0, impl, map, streams[t], 0, 0 };
	secs = run_workers(w, nthreads);
	for (int t = 0; t < nthreads; t++) {
		ops += w[t].done;
		cpu += w[t].cpu_s;
	}
	impl->destroy(map);
	r.wall = (double)ops / secs;
	r.cpu = (double)ops / cpu;
	return r;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void make_stream(uint32_t *ops, int read_pct, uint64_t seed)
{
	for (uint32_t i = 0; i < STREAM_LEN; i++) {
		uint32_t key = (uint32_t)(splitmix(&seed) % KEYS);
		bool write = splitmix(&seed) % 100 >= (uint64_t)read_pct;

		ops[i] = key | (write ? WRITE_BIT : 0);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_of(double *v, double *min, double *max)
{
	qsort(v, (size_t)reps, sizeof(double), cmp_double);
	*min = v[0];
	*max = v[reps - 1];
	return v[reps / 2];
}

static void print_row(int read_pct, int nthreads, const char *name,
		      double *wall, double *cpu, double med[2])
{
	double wmin, wmax, cmin, cmax;

	med[0] = median_of(wall, &wmin, &wmax);
	med[1] = median_of(cpu, &cmin, &cmax);
	printf("%3d%% reads %dT  %-15s %6.2f Mops/s [%5.2f-%5.2f]  %6.2f "
	       "Mops/cpu-s [%5.2f-%5.2f]\n",
	       read_pct, nthreads, name, med[0] / 1e6, wmin / 1e6, wmax / 1e6,
	       med[1] / 1e6, cmin / 1e6, cmax / 1e6);
}

/* Runs both maps reps times, interleaved; prints medians and the ratio. */
static void run_config(int nthreads, int read_pct, uint32_t *const *streams)
{
	double wall[2][MAX_REPS], cpu[2][MAX_REPS], med[2][2];

	for (int rep = 0; rep < reps; rep++)
		for (int k = 0; k < 2; k++) {
			int i = (k + rep) % 2;
			struct result r =
				timed_run(&impls[i], nthreads, streams);

			wall[i][rep] = r.wall;
			cpu[i][rep] = r.cpu;
			printf("RESULT %s %d%% %dT %.0f %.0f\n", impls[i].name,
			       read_pct, nthreads, r.wall, r.cpu);
		}
	for (int i = 0; i < 2; i++)
		print_row(read_pct, nthreads, impls[i].name, wall[i], cpu[i],
			  med[i]);
	printf("RATIO %s/mutex %d%% %dT wall %.2f cpu %.2f\n", impls[0].name,
	       read_pct, nthreads, med[0][0] / med[1][0],
	       med[0][1] / med[1][1]);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const int mixes[] = { 90, 99 };
	uint32_t *streams[2];

	if (argc > 1)
		reps = atoi(argv[1]) > 0 && atoi(argv[1]) <= MAX_REPS
			       ? atoi(argv[1])
			       : reps;
	if (argc > 2)
		run_ms = atoi(argv[2]);
	printf("rwmap_bench: %d keys of 8 bytes, %d-byte values, %d ms runs "
	       "after %d ms warm-up, median of %d\n",
	       KEYS, VLEN, run_ms, warmup_ms, reps);
	for (int t = 0; t < 2; t++)
		streams[t] = malloc(STREAM_LEN * sizeof(uint32_t));
	for (size_t m = 0; m < sizeof(mixes) / sizeof(mixes[0]); m++) {
		for (int t = 0; t < 2; t++)
			make_stream(streams[t], mixes[m], (uint64_t)t + 99);
		for (int nthreads = 1; nthreads <= 2; nthreads++)
			run_config(nthreads, mixes[m], streams);
	}
	free(streams[0]);
	free(streams[1]);
	return 0;
}
