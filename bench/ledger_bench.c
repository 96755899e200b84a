/*
 * ledger_bench.c: transfers per second, ds_ledger's per-account locks taken
 * in id order vs the same ledger behind one global lock, side by side.
 *
 * Method: every thread transfers 1 unit between two random accounts
 * (xorshift, its own seed) for a fixed time, so every transfer succeeds.
 * Pattern "random" draws from all accounts; "disjoint" gives each thread
 * its own half, so per-account locks never meet while the global one
 * always does. The global-lock variant does the same checks and moves
 * under one lc_mutex_t.
 *
 * The machine is shared and has 2 cores, so load comes and goes: every
 * round measures every row and both variants back to back (REPS rounds),
 * and each cell is the median over the rounds. Ratios within a row are the
 * robust numbers. Built like production code: LOCKCHECK=0, -O2.
 *
 *   ledger_bench [ms-per-run]      (default 300)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ds/ledger.h"
#include "lockcheck/lockcheck.h"

#define REPS	    5
#define MAX_THREADS 2
#define OPENING	    1000000

/* The baseline: the same ledger with one lock for every account. */
struct global_ledger {
	lc_mutex_t lock;
	size_t n;
	int64_t *balance; /* lock protects every entry */
};

static int global_transfer(struct global_ledger *g, size_t from, size_t to,
			   int64_t amount)
{
	int err = 0;

	if (from >= g->n || to >= g->n)
		return ENOENT;
	if (from == to || amount <= 0)
		return EINVAL;
	lc_mutex_lock(&g->lock);
	if (g->balance[from] < amount)
		err = ERANGE;
	else if (g->balance[to] > INT64_MAX - amount)
		err = EOVERFLOW;
	if (!err) {
		g->balance[from] -= amount;
		g->balance[to] += amount;
	}
	lc_mutex_unlock(&g->lock);
	return err;
}

struct run {
	struct ds_ledger *ordered;    /* one of these two is set; */
	struct global_ledger *global; /* neither: the same loop, no ledger */
	size_t accounts;
	bool disjoint; /* thread i keeps to its own slice */
	int threads;
	atomic_int next_id; /* hands out thread indexes */
	struct timespec deadline;
	pthread_barrier_t start;
	atomic_ulong ops;
};

static bool past(const struct timespec *d)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > d->tv_sec ||
	       (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Two different accounts of [base, base + n), n >= 2. */
static void pick(uint64_t *seed, size_t base, size_t n, size_t *a, size_t *b)
{
	uint64_t r = next_rand(seed);

	*a = r % n;
	*b = base + (*a + 1 + (r >> 32) % (n - 1)) % n;
	*a += base;
}

static void *worker(void *arg)
{
	struct run *run = arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uintptr_t)&seed, ops = 0;
	int id = atomic_fetch_add(&run->next_id, 1);
	size_t n = run->disjoint ? run->accounts / (size_t)run->threads
				 : run->accounts;
	size_t base = run->disjoint ? n * (size_t)id : 0, a, b;

	pthread_barrier_wait(&run->start);
	do {
		for (int i = 0; i < 256; i++, ops++) {
			pick(&seed, base, n, &a, &b);
			if (run->ordered)
				ds_ledger_transfer(run->ordered, a, b, 1);
			else if (run->global)
				global_transfer(run->global, a, b, 1);
		}
	} while (!past(&run->deadline));
	atomic_fetch_add(&run->ops, ops);
	return NULL;
}

/* Transfers per second of one timed run. */
static double timed_run(struct run *run, int threads, long ms)
{
	pthread_t t[MAX_THREADS];
	struct timespec t0;

	atomic_store(&run->ops, 0);
	atomic_store(&run->next_id, 0);
	run->threads = threads;
	pthread_barrier_init(&run->start, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, run);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run->deadline = t0;
	run->deadline.tv_sec += ms / 1000;
	run->deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (run->deadline.tv_nsec >= 1000000000L) {
		run->deadline.tv_sec++;
		run->deadline.tv_nsec -= 1000000000L;
	}
	pthread_barrier_wait(&run->start);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&run->start);
	return (double)atomic_load(&run->ops) / ((double)ms / 1000.0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v)
{
	qsort(v, REPS, sizeof(*v), cmp_double);
	return v[REPS / 2];
}

/* One line of the table: a workload, both variants measured on it. */
struct row {
	size_t accounts;
	bool disjoint;
	int threads;
	double ordered[REPS], global[REPS]; /* transfers/s of each run */
};

static struct row rows[] = {
	{ .accounts = 1024, .threads = 1 },
	{ .accounts = 1024, .threads = 2 },
	{ .accounts = 1024, .disjoint = true, .threads = 2 },
	{ .accounts = 16, .threads = 1 },
	{ .accounts = 16, .threads = 2 },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Fresh ledgers of both kinds for every run: no run inherits another's
 * cache state or balances. */
static void measure(struct row *w, int rep, long ms)
{
	struct global_ledger g = { .n = w->accounts };
	struct run ord = { .accounts = w->accounts, .disjoint = w->disjoint };
	struct run glo = { .accounts = w->accounts, .disjoint = w->disjoint };
	int64_t *open = malloc(w->accounts * sizeof(*open));

	for (size_t i = 0; open && i < w->accounts; i++)
		open[i] = OPENING;
	g.balance = open;
	if (!open || ds_ledger_create(w->accounts, open, &ord.ordered) ||
	    lc_mutex_init(&g.lock, "bench.global"))
		exit(1);
	glo.global = &g;
	w->ordered[rep] = timed_run(&ord, w->threads, ms);
	w->global[rep] = timed_run(&glo, w->threads, ms);
	ds_ledger_destroy(ord.ordered);
	lc_mutex_destroy(&g.lock);
	free(open);
}

static void print_row(struct row *w)
{
	double om = median(w->ordered), gm = median(w->global);

	printf("%8zu %-8s %7d %12.2fM %12.2fM %14.2fx\n", w->accounts,
	       w->disjoint ? "disjoint" : "random", w->threads, om / 1e6,
	       gm / 1e6, om / gm);
}

/* How much faster 2 threads of the loop without any ledger (random
 * numbers only) run than 1, right now: what the machine gives 2 threads. */
static double parallel_capacity(long ms)
{
	struct run spin = { .accounts = 1024 };
	double one[REPS], two[REPS];

	for (int rep = 0; rep < REPS; rep++) {
		one[rep] = timed_run(&spin, 1, ms);
		two[rep] = timed_run(&spin, 2, ms);
	}
	return median(two) / median(one);
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? strtol(argv[1], NULL, 10) : 300;

	if (ms <= 0)
		ms = 300;
	printf("ledger: 2-account transfers of 1, %ld ms a run, median of "
	       "%d interleaved rounds, LOCKCHECK=%d\n",
	       ms, REPS, LOCKCHECK);
	for (int rep = 0; rep < REPS; rep++)
		for (size_t i = 0; i < NROWS; i++)
			measure(&rows[i], rep, ms);
	printf("%8s %-8s %7s %13s %13s %15s\n", "accounts", "pattern",
	       "threads", "ordered/s", "global/s", "ordered:global");
	for (size_t i = 0; i < NROWS; i++)
		print_row(&rows[i]);
	printf("parallel capacity: 2 threads of the same loop without a "
	       "ledger ran %.2fx as fast as 1\n",
	       parallel_capacity(ms));
	return 0;
}
