/*
 * cache_bench.c: ds_cache against a single-lock uthash LRU and LevelDB's
 * LRU cache, side by side in one run (bench/cache.sh drives it; method and
 * results in docs/performance.md).
 *
 * Workload: a key space of 1M 8-byte keys; a cache of a quarter of it
 * (charge 1 per entry), filled first with a random quarter. Each thread
 * replays its own pre-generated stream of operations: a lookup (then read
 * the value and release) or an insert (then release), in a read-heavy
 * (90% lookups) or write-heavy (50%) mix, keys uniform or scrambled
 * zipfian (theta 0.99, YCSB's generator). Runs last a fixed time after a
 * warm-up; each configuration runs every implementation REPS times,
 * interleaved, and reports the median ops/s with the min-max spread, the
 * hit ratio beside it, and the ratios of the medians.
 *
 * --overhead measures memory per entry instead: malloc's own accounting
 * (mallinfo2: chunk sizes, headers and rounding included) before and after
 * inserting 1M entries, minus the key bytes and the 8-byte value pointer.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache_bench.h"
#include "ds/cache.h"
#include "lockcheck/lockcheck.h"

enum { MAX_IMPLS = 3, MAX_THREADS = 8, MAX_REPS = 15, STREAM_BITS = 21 };
#define STREAM_LEN (1u << STREAM_BITS)
#define WRITE_BIT  (1u << 31)

/* ---- ds_cache behind the common interface ---- */

static void *ds_create(size_t capacity)
{
	struct ds_cache_options opt = { .capacity = capacity };
	ds_cache_t *c;

	return ds_cache_create(&c, &opt) ? NULL : c;
}

static void ds_destroy(void *cache)
{
	ds_cache_destroy(cache);
}

static void ds_put(void *cache, const void *key, size_t keylen, void *value)
{
	ds_cache_handle_t *h;

	if (ds_cache_insert(cache, key, keylen, value, 1, &h) == 0)
		ds_cache_release(cache, h);
}

static int ds_get(void *cache, const void *key, size_t keylen)
{
	ds_cache_handle_t *h;
	volatile void *value;

	if (ds_cache_lookup(cache, key, keylen, &h))
		return 0;
	value = ds_cache_value(h);
	(void)value;
	ds_cache_release(cache, h);
	return 1;
}

static const struct bench_cache ds_impl = {
	LOCKCHECK ? "ds-lockcheck" : "ds",
	ds_create,
	ds_destroy,
	ds_put,
	ds_get,
};

static const struct bench_cache *const all_impls[MAX_IMPLS] = {
	&ds_impl,
	&bench_global_cache,
	&bench_leveldb_cache,
};

/* ---- options ---- */

static struct {
	const struct bench_cache *impls[MAX_IMPLS];
	int nimpls;
	int threads[4], nthreads;
	int mixes[4], nmixes; /* percent of lookups */
	bool zipf[2];	      /* dists: [0] uniform, [1] zipfian */
	int reps;
	int ms, warmup_ms;
	uint32_t keys;
	size_t capacity;
	bool overhead;
	bool cpu;
} opt = {
	.nimpls = 0,
	.threads = { 1, 2 },
	.nthreads = 2,
	.mixes = { 90, 50 },
	.nmixes = 2,
	.zipf = { true, true },
	.reps = 5,
	.ms = 400,
	.warmup_ms = 100,
	.keys = 1u << 20,
};

static int parse_list(const char *s, int *out, int max)
{
	int n = 0;

	while (*s && n < max) {
		out[n++] = atoi(s);
		s += strcspn(s, ",");
		s += *s == ',';
	}
	return n;
}

static void parse_impls(const char *s)
{
	for (int i = 0; i < MAX_IMPLS; i++) {
		const char *name = all_impls[i]->name;

		if (i == 0)
			name = "ds";
		if (strstr(s, name))
			opt.impls[opt.nimpls++] = all_impls[i];
	}
}

static void parse_dists(const char *s)
{
	opt.zipf[0] = strstr(s, "uniform") != NULL;
	opt.zipf[1] = strstr(s, "zipf") != NULL;
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = strchr(a, '=');

		v = v ? v + 1 : "";
		if (!strncmp(a, "--impls=", 8))
			parse_impls(v);
		else if (!strncmp(a, "--threads=", 10))
			opt.nthreads = parse_list(v, opt.threads, 4);
		else if (!strncmp(a, "--mix=", 6))
			opt.nmixes = parse_list(v, opt.mixes, 4);
		else if (!strncmp(a, "--dist=", 7))
			parse_dists(v);
		else if (!strncmp(a, "--reps=", 7))
			opt.reps = atoi(v) < MAX_REPS ? atoi(v) : MAX_REPS;
		else if (!strncmp(a, "--ms=", 5))
			opt.ms = atoi(v);
		else if (!strncmp(a, "--keys=", 7))
			opt.keys = (uint32_t)atol(v);
		else if (!strcmp(a, "--overhead"))
			opt.overhead = true;
		else if (!strcmp(a, "--cpu"))
			opt.cpu = true;
	}
}

/* ---- key streams ---- */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double uniform01(uint64_t *s)
{
	return (double)(splitmix(s) >> 11) * 0x1.0p-53;
}

/* YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record
 * synthetic databases"): rank 0 is the most popular. */
struct zipf {
	double theta, alpha, zetan, eta, half_pow;
	uint64_t n;
};

static void zipf_init(struct zipf *z, uint64_t n, double theta)
{
	double zeta2 = 1.0 + pow(0.5, theta);

	z->n = n;
	z->theta = theta;
	z->zetan = 0;
	for (uint64_t i = 1; i <= n; i++)
		z->zetan += 1.0 / pow((double)i, theta);
	z->alpha = 1.0 / (1.0 - theta);
	z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) /
		 (1.0 - zeta2 / z->zetan);
	z->half_pow = pow(0.5, theta);
}

static uint64_t zipf_next(const struct zipf *z, uint64_t *s)
{
	double u = uniform01(s), uz = u * z->zetan;
	uint64_t r;

	if (uz < 1.0)
		return 0;
	if (uz < 1.0 + z->half_pow)
		return 1;
	r = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1, z->alpha));
	return r < z->n ? r : z->n - 1;
}

/* YCSB's ScrambledZipfian: the rank's FNV-1a hash picks the item, so the
 * popular keys are spread over the key space. */
static uint32_t scramble(uint64_t rank, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (int i = 0; i < 8; i++) {
		h ^= (rank >> (8 * i)) & 0xff;
		h *= 0x100000001b3ull;
	}
	return (uint32_t)(h % n);
}

static void make_stream(uint32_t *ops, bool zipf, const struct zipf *z,
			int read_pct, uint64_t seed)
{
	for (uint32_t i = 0; i < STREAM_LEN; i++) {
		uint32_t key = zipf ? scramble(zipf_next(z, &seed), opt.keys)
				    : (uint32_t)(splitmix(&seed) % opt.keys);
		bool write = splitmix(&seed) % 100 >= (uint64_t)read_pct;

		ops[i] = key | (write ? WRITE_BIT : 0);
	}
}

/* ---- one timed run ---- */

struct worker {
	pthread_t tid;
	const struct bench_cache *impl;
	void *cache;
	const uint32_t *ops;
	uint64_t ops_done, hits, lookups; /* measured phase only */
	double cpu_s;			  /* this thread's CPU time in it */
};

static _Atomic int phase; /* 0 warm-up, 1 measured, 2 stop */
static pthread_barrier_t start;

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t n = 0, hits = 0, lookups = 0, n0 = 0, hits0 = 0, lookups0 = 0;
	double cpu0 = 0;

	pthread_barrier_wait(&start);
	for (;; n++) {
		uint32_t op = w->ops[n & (STREAM_LEN - 1)];
		uint64_t key = op & ~WRITE_BIT;

		if ((n & 255) == 0 && atomic_load(&phase) == 1 && !n0)
			n0 = n, hits0 = hits, lookups0 = lookups,
			cpu0 = thread_cpu_s();
		if ((n & 255) == 0 && atomic_load(&phase) == 2)
			break;
		if (op & WRITE_BIT) {
			w->impl->put(w->cache, &key, sizeof(key),
				     (void *)(uintptr_t)(key + 1));
		} else {
			hits += (uint64_t)w->impl->get(w->cache, &key,
						       sizeof(key));
			lookups++;
		}
	}
	w->cpu_s = thread_cpu_s() - cpu0;
	w->ops_done = n - n0;
	w->hits = hits - hits0;
	w->lookups = lookups - lookups0;
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts))
		;
}

/* A cache of opt.capacity holding the first capacity keys of perm. */
static void *filled_cache(const struct bench_cache *impl, const uint32_t *perm)
{
	void *c = impl->create(opt.capacity);

	for (size_t i = 0; c && i < opt.capacity; i++) {
		uint64_t key = perm[i];

		impl->put(c, &key, sizeof(key), (void *)(uintptr_t)(key + 1));
	}
	return c;
}

struct result {
	double ops_per_s;     /* wall clock */
	double ops_per_cpu_s; /* per second of the workers' CPU time */
	double hit_ratio;
};

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
	sleep_ms(opt.warmup_ms);
	atomic_store(&phase, 1);
	t0 = now_s();
	sleep_ms(opt.ms);
	atomic_store(&phase, 2);
	t1 = now_s();
	for (int t = 0; t < nthreads; t++)
		pthread_join(w[t].tid, NULL);
	pthread_barrier_destroy(&start);
	return t1 - t0;
}

static struct result timed_run(const struct bench_cache *impl, int nthreads,
			       uint32_t *const *streams, const uint32_t *perm)
{
	struct worker w[MAX_THREADS];
	uint64_t ops = 0, hits = 0, lookups = 0;
	void *cache = filled_cache(impl, perm);
	double secs, cpu = 0;
	struct result r;

	for (int t = 0; t < nthreads; t++)
		w[t] = (struct worker){
			0, impl, cache, streams[t], 0, 0, 0, 0
		};
	secs = run_workers(w, nthreads);
	for (int t = 0; t < nthreads; t++) {
		ops += w[t].ops_done;
		hits += w[t].hits;
		lookups += w[t].lookups;
		cpu += w[t].cpu_s;
	}
	impl->destroy(cache);
	r.ops_per_s = (double)ops / secs;
	r.ops_per_cpu_s = (double)ops / cpu;
	r.hit_ratio = lookups ? (double)hits / (double)lookups : 0;
	return r;
}

/* ---- one configuration: every implementation, interleaved ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median and spread of one metric over the repetitions. */
struct spread {
	double median, min, max;
};

struct summary {
	struct spread wall, cpu;
	double hit;
};

static struct spread spread_of(double *v, int n)
{
	struct spread s;

	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	s.min = v[0];
	s.max = v[n - 1];
	return s;
}

static struct summary summarize(const struct result *r, int n)
{
	double wall[MAX_REPS], cpu[MAX_REPS], hit = 0;
	struct summary s;

	for (int i = 0; i < n; i++) {
		wall[i] = r[i].ops_per_s;
		cpu[i] = r[i].ops_per_cpu_s;
		hit += r[i].hit_ratio;
	}
	s.wall = spread_of(wall, n);
	s.cpu = spread_of(cpu, n);
	s.hit = hit / n;
	return s;
}

static void print_config(int nthreads, int mix, bool zipf,
			 const struct summary *s)
{
	const char *dist = zipf ? "zipf" : "uniform";

	for (int i = 0; i < opt.nimpls; i++)
		printf("%3d%% %-7s %dT  %-12s %6.2f Mops/s [%5.2f-%5.2f]  "
		       "%6.2f Mops/cpu-s [%5.2f-%5.2f]  hit %4.1f%%\n",
		       mix, dist, nthreads, opt.impls[i]->name,
		       s[i].wall.median / 1e6, s[i].wall.min / 1e6,
		       s[i].wall.max / 1e6, s[i].cpu.median / 1e6,
		       s[i].cpu.min / 1e6, s[i].cpu.max / 1e6, 100 * s[i].hit);
	for (int i = 1; i < opt.nimpls; i++)
		printf("RATIO %s/%s %d%% %s %dT wall %.2f cpu %.2f\n",
		       opt.impls[0]->name, opt.impls[i]->name, mix, dist,
		       nthreads, s[0].wall.median / s[i].wall.median,
		       s[0].cpu.median / s[i].cpu.median);
}

static void run_config(int nthreads, int mix, bool zipf,
		       uint32_t *const *streams, const uint32_t *perm)
{
	struct result r[MAX_IMPLS][MAX_REPS];
	struct summary s[MAX_IMPLS];

	for (int rep = 0; rep < opt.reps; rep++)
		for (int k = 0; k < opt.nimpls; k++) {
			int i = (k + rep) % opt.nimpls; /* rotate the order */

			r[i][rep] = timed_run(opt.impls[i], nthreads, streams,
					      perm);
			printf("RESULT %s %d%% %s %dT %.0f %.4f %.0f\n",
			       opt.impls[i]->name, mix,
			       zipf ? "zipf" : "uniform", nthreads,
			       r[i][rep].ops_per_s, r[i][rep].hit_ratio,
			       r[i][rep].ops_per_cpu_s);
		}
	for (int i = 0; i < opt.nimpls; i++)
		s[i] = summarize(r[i], opt.reps);
	print_config(nthreads, mix, zipf, s);
	fflush(stdout);
}

static uint32_t *random_perm(uint32_t n)
{
	uint32_t *p = malloc(n * sizeof(*p));
	uint64_t seed = 12345;

	for (uint32_t i = 0; i < n; i++)
		p[i] = i;
	for (uint32_t i = n - 1; i > 0; i--) {
		uint32_t j = (uint32_t)(splitmix(&seed) % (i + 1)), t = p[i];

		p[i] = p[j];
		p[j] = t;
	}
	return p;
}

static void run_all(void)
{
	uint32_t *streams[MAX_THREADS], *perm = random_perm(opt.keys);
	struct zipf z;

	int nstreams = 0;

	for (int i = 0; i < opt.nthreads; i++)
		if (opt.threads[i] > nstreams && opt.threads[i] <= MAX_THREADS)
			nstreams = opt.threads[i];
	zipf_init(&z, opt.keys, 0.99);
	for (int t = 0; t < nstreams; t++)
		streams[t] = malloc(STREAM_LEN * sizeof(uint32_t));
	for (int d = 0; d < 2; d++)
		for (int m = 0; m < opt.nmixes && opt.zipf[d]; m++) {
			for (int t = 0; t < nstreams; t++)
				make_stream(streams[t], d, &z, opt.mixes[m],
					    (uint64_t)t * 7919 + 1);
			for (int i = 0; i < opt.nthreads; i++)
				run_config(opt.threads[i], opt.mixes[m], d,
					   streams, perm);
		}
	for (int t = 0; t < nstreams; t++)
		free(streams[t]);
	free(perm);
}

/* ---- how much of the machine is ours ---- */

static void *spin(void *arg)
{
	uint64_t n = 0;

	while (atomic_load_explicit(&phase, memory_order_relaxed) != 2)
		n++;
	*(uint64_t *)arg = n;
	return NULL;
}

/* Spins nthreads for ms; the iterations they did in all. */
static uint64_t spin_for(int nthreads, int ms)
{
	pthread_t tid[MAX_THREADS];
	uint64_t n[MAX_THREADS], sum = 0;

	atomic_store(&phase, 0);
	for (int t = 0; t < nthreads; t++)
		pthread_create(&tid[t], NULL, spin, &n[t]);
	sleep_ms(ms);
	atomic_store(&phase, 2);
	for (int t = 0; t < nthreads; t++) {
		pthread_join(tid[t], NULL);
		sum += n[t];
	}
	return sum;
}

/* Other load on the machine makes "2 threads" mean less than 2 cores:
 * this says how much more work 2 spinning threads get done than 1. */
static void cpu_check(void)
{
	uint64_t one = spin_for(1, 300), two = spin_for(2, 300);

	printf("CPU 2 threads spin %.2fx as much as 1 (2.00: two idle "
	       "cores)\n",
	       (double)two / (double)one);
}

/* ---- memory per entry ---- */

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static size_t requested; /* bytes ds_cache asked its allocator for */

static void *counting_alloc(size_t size, void *arg)
{
	(void)arg;
	requested += size;
	return malloc(size);
}

static void counting_free(void *ptr, size_t size, void *arg)
{
	(void)arg;
	requested -= size;
	free(ptr);
}

static void put_n(const struct bench_cache *impl, void *cache, uint32_t n,
		  size_t keylen)
{
	unsigned char key[32] = { 0 };

	for (uint32_t i = 0; i < n; i++) {
		memcpy(key, &i, sizeof(i));
		impl->put(cache, key, keylen, (void *)(uintptr_t)(i + 1));
	}
}

/* malloc's bytes per entry beyond key and value, for n entries. */
static void overhead_of(const struct bench_cache *impl, uint32_t n,
			size_t keylen)
{
	size_t before = heap_in_use();
	void *cache = impl->create(n);
	double b;

	put_n(impl, cache, n, keylen);
	b = (double)(heap_in_use() - before) / n;
	impl->destroy(cache);
	printf("OVERHEAD %-12s key %2zu, %7u entries: %5.1f bytes (%.1f in "
	       "all)\n",
	       impl->name, keylen, n, b - (double)keylen - 8, b);
}

/* What ds_cache itself asks its allocator for per entry (the entry, its
 * key, uthash's buckets, the filter), before malloc's header and rounding. */
static void ds_requested(uint32_t n, size_t keylen)
{
	struct ds_cache_options o = { .capacity = n,
				      .alloc = counting_alloc,
				      .free = counting_free };
	ds_cache_t *c;
	size_t base;

	requested = 0;
	if (ds_cache_create(&c, &o))
		return;
	base = requested;
	put_n(&ds_impl, c, n, keylen);
	printf("REQUESTED ds key %2zu, %7u entries: %5.1f bytes asked of the "
	       "allocator beyond key and value\n",
	       keylen, n, (double)(requested - base) / n - (double)keylen - 8);
	ds_cache_destroy(c);
}

/* Two sizes: 1M entries (ds_cache's tables at their fullest, 2 entries
 * per bucket) and 600,000 (just after they doubled: 1.14 per bucket). */
static void overhead(void)
{
	const uint32_t sizes[2] = { opt.keys, opt.keys / 1000 * 572 };

	printf("bytes per entry beyond the key and the 8-byte value pointer "
	       "(mallinfo2: malloc headers and rounding included)\n");
	for (size_t keylen = 8; keylen <= 16; keylen += 8)
		for (int k = 0; k < 2; k++) {
			for (int i = 0; i < opt.nimpls; i++)
				overhead_of(opt.impls[i], sizes[k], keylen);
			ds_requested(sizes[k], keylen);
		}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	if (opt.nimpls == 0)
		parse_impls("ds,global,leveldb");
	opt.capacity = opt.keys / 4;
	printf("cache_bench: %u keys of 8 bytes, capacity %zu, %d ms runs "
	       "after %d ms warm-up, median of %d\n",
	       opt.keys, opt.capacity, opt.ms, opt.warmup_ms, opt.reps);
	if (opt.cpu) {
		cpu_check();
		return 0;
	}
	if (opt.overhead) {
		overhead();
		return 0;
	}
	run_all();
	return 0;
}
