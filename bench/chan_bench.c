/*
 * chan_bench.c: messages per second through ds_chan vs a bounded queue
 * written plainly (one mutex, two condvars, a signal on every push and
 * pop), side by side in one run.
 *
 * Method: row "0 pairs" is one thread that sends 32 messages and receives
 * them back, over and over, on a channel of 64: no thread ever waits, so
 * it measures the calls themselves (lock, copy, unlock, no wake-up) and is
 * the number that load on the machine disturbs least. Then P producers
 * and P consumers (P = 1, 2) share one channel of
 * `cap` 8-byte messages (cap = 1: every message is a hand-over; cap = 64:
 * batches). Each producer sends N messages (N = msgs per producer, 1/16
 * of it in the cap = 1 rows, where every message is a wake-up); the
 * main thread closes the channel once the producers are done, and the
 * consumers receive until EPIPE. A run is timed from the start barrier to
 * the last consumer's exit and must deliver every message (the sums are
 * checked, or the program exits 1). Both queues use the lc_ wrappers, so
 * in a LOCKCHECK=1 build both are checked: the ratio within a build is
 * the structure's own cost, the ratio between builds the checker's.
 *
 * Each invocation runs every row and both implementations REPS times,
 * interleaved, the queue first in even rounds and ds_chan first in odd
 * ones ("swap" turns that around), and prints one line per run:
 *   RESULT <impl> <pairs> <cap> <msgs/s> LOCKCHECK=<0|1>
 * bench/chan.sh runs a plain and a checked build alternately and turns
 * the lines into medians and ratios.
 *
 *   chan_bench [msgs-per-producer [reps [swap]]]   (defaults 200000, 1)
 *   chan_bench solo queue|ds_chan MSGS         the solo loop alone
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds/chan.h"
#include "lockcheck/lockcheck.h"

#define MAX_PAIRS 2

/* ---- the baseline: a bounded queue as most people write it ------------ */

struct plain_queue {
	lc_mutex_t lock;
	lc_cond_t not_full, not_empty;
	uint64_t *slot;
	size_t cap, head, len; /* lock protects head, len, closed */
	bool closed;
};

static void *pq_create(size_t cap)
{
	struct plain_queue *q = calloc(1, sizeof(*q));

	if (!q || !(q->slot = calloc(cap, sizeof(*q->slot))))
		exit(2);
	q->cap = cap;
	if (lc_mutex_init(&q->lock, "bench.queue") ||
	    lc_cond_init(&q->not_full) || lc_cond_init(&q->not_empty))
		exit(2);
	return q;
}

static void pq_destroy(void *arg)
{
	struct plain_queue *q = arg;

	lc_cond_destroy(&q->not_empty);
	lc_cond_destroy(&q->not_full);
	lc_mutex_destroy(&q->lock);
	free(q->slot);
	free(q);
}

static int pq_send(void *arg, const uint64_t *v)
{
	struct plain_queue *q = arg;

	lc_mutex_lock(&q->lock);
	while (q->len == q->cap && !q->closed)
		lc_cond_wait(&q->not_full, &q->lock);
	if (q->closed) {
		lc_mutex_unlock(&q->lock);
		return EPIPE;
	}
	q->slot[(q->head + q->len) % q->cap] = *v;
	q->len++;
	lc_cond_signal(&q->not_empty);
	lc_mutex_unlock(&q->lock);
	return 0;
}

static int pq_recv(void *arg, uint64_t *v)
{
	struct plain_queue *q = arg;

	lc_mutex_lock(&q->lock);
	while (q->len == 0 && !q->closed)
		lc_cond_wait(&q->not_empty, &q->lock);
	if (q->len == 0) {
		lc_mutex_unlock(&q->lock);
		return EPIPE;
	}
	*v = q->slot[q->head];
	q->head = (q->head + 1) % q->cap;
	q->len--;
	lc_cond_signal(&q->not_full);
	lc_mutex_unlock(&q->lock);
	return 0;
}

static int pq_close(void *arg)
{
	struct plain_queue *q = arg;

	lc_mutex_lock(&q->lock);
	q->closed = true;
	lc_cond_broadcast(&q->not_full);
	lc_cond_broadcast(&q->not_empty);
	lc_mutex_unlock(&q->lock);
	return 0;
}

/* ---- ds_chan behind the same four calls ------------------------------- */

static void *dc_create(size_t cap)
{
	ds_chan_t *ch;

	if (ds_chan_create(&ch, cap, sizeof(uint64_t), "bench"))
		exit(2);
	return ch;
}

static void dc_destroy(void *ch)
{
	ds_chan_destroy(ch);
}

static int dc_send(void *ch, const uint64_t *v)
{
	return ds_chan_send(ch, v);
}

static int dc_recv(void *ch, uint64_t *v)
{
	return ds_chan_recv(ch, v);
}

static int dc_close(void *ch)
{
	return ds_chan_close(ch);
}

struct impl {
	const char *name;
	void *(*create)(size_t cap);
	void (*destroy)(void *q);
	int (*send)(void *q, const uint64_t *v);
	int (*recv)(void *q, uint64_t *v);
	int (*close)(void *q);
};

static const struct impl impls[] = {
	{ "queue", pq_create, pq_destroy, pq_send, pq_recv, pq_close },
	{ "ds_chan", dc_create, dc_destroy, dc_send, dc_recv, dc_close },
};

/* ---- one timed run ---------------------------------------------------- */

struct run {
	const struct impl *impl;
	void *q;
	uint64_t msgs; /* per producer */
	pthread_barrier_t start;
	uint64_t got[MAX_PAIRS];  /* sum received, per consumer */
	atomic_int next_consumer; /* hands out indexes into got[] */
};

static void *producer(void *arg)
{
	struct run *r = arg;

	pthread_barrier_wait(&r->start);
	for (uint64_t i = 1; i <= r->msgs; i++)
		if (r->impl->send(r->q, &i))
			exit(1);
	return NULL;
}

static void *consumer(void *arg)
{
	struct run *r = arg;
	int id = atomic_fetch_add(&r->next_consumer, 1);
	uint64_t v, sum = 0;

	pthread_barrier_wait(&r->start);
	while (r->impl->recv(r->q, &v) == 0)
		sum += v;
	r->got[id] = sum;
	return NULL;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One thread, batches of 32 sent and received back: no waiting. */
static double solo_run(const struct impl *impl, size_t cap, uint64_t msgs)
{
	void *q = impl->create(cap);
	uint64_t v, sum = 0, n = 0;
	struct timespec t0;
	double s;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (; n + 32 <= msgs; n += 32) {
		for (uint64_t i = n + 1; i <= n + 32; i++)
			if (impl->send(q, &i))
				exit(1);
		for (int i = 0; i < 32; i++)
			sum += impl->recv(q, &v) ? 0 : v;
	}
	s = seconds_since(&t0);
	if (sum != n * (n + 1) / 2)
		exit(1);
	impl->destroy(q);
	return (double)n / s;
}

/* Messages per second of one run; exits 1 when a message went missing. */
static double timed_run(const struct impl *impl, int pairs, size_t cap,
			uint64_t msgs)
{
	struct run r = { .impl = impl, .q = impl->create(cap), .msgs = msgs };
	pthread_t prod[MAX_PAIRS], cons[MAX_PAIRS];
	uint64_t sum = 0;
	struct timespec t0;
	double s;

	if (pairs == 0)
		return solo_run(impl, cap, msgs);
	pthread_barrier_init(&r.start, NULL, 2 * (unsigned)pairs + 1);
	for (int i = 0; i < pairs; i++) {
		pthread_create(&cons[i], NULL, consumer, &r);
		pthread_create(&prod[i], NULL, producer, &r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_barrier_wait(&r.start);
	for (int i = 0; i < pairs; i++)
		pthread_join(prod[i], NULL);
	impl->close(r.q);
	for (int i = 0; i < pairs; i++)
		pthread_join(cons[i], NULL);
	s = seconds_since(&t0);
	for (int i = 0; i < pairs; i++)
		sum += r.got[i];
	if (sum != (uint64_t)pairs * msgs * (msgs + 1) / 2)
		exit(1);
	impl->destroy(r.q);
	pthread_barrier_destroy(&r.start);
	return (double)pairs * (double)msgs / s;
}

/* A capacity of 1 makes every message a sleep and a wake-up: those rows
 * send 1/16 of the messages, and the solo row, which never sleeps, 8
 * times as many, so that every run takes about as long. */
static const struct row {
	int pairs;
	size_t cap;
	double scale; /* of msgs per producer */
} rows[] = {
	{ 0, 64, 8 },	    { 1, 1, 1.0 / 16 }, { 1, 64, 1 },
	{ 2, 1, 1.0 / 16 }, { 2, 64, 1 },
};

/* One row, both queues (ds_chan first when swap is set): a RESULT line
 * each. */
static void measure(const struct row *w, long msgs, bool swap)
{
	uint64_t n = (uint64_t)((double)msgs * w->scale) + 1;

	for (size_t k = 0; k < 2; k++) {
		const struct impl *impl = &impls[swap ? 1 - k : k];

		printf("RESULT %s %d %zu %.0f LOCKCHECK=%d\n", impl->name,
		       w->pairs, w->cap, timed_run(impl, w->pairs, w->cap, n),
		       LOCKCHECK);
	}
}

/* "solo <impl> <msgs>": only that queue's solo loop (for callgrind). */
static int solo_only(const char *name, long msgs)
{
	for (size_t i = 0; i < sizeof(impls) / sizeof(impls[0]); i++)
		if (strcmp(impls[i].name, name) == 0 && msgs > 0) {
			solo_run(&impls[i], 64, (uint64_t)msgs);
			return 0;
		}
	return 2;
}

int main(int argc, char **argv)
{
	long msgs = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	long reps = argc > 2 ? strtol(argv[2], NULL, 10) : 1;
	bool swap = argc > 3 && strcmp(argv[3], "swap") == 0;

	if (argc == 4 && strcmp(argv[1], "solo") == 0)
		return solo_only(argv[2], strtol(argv[3], NULL, 10));
	if (msgs <= 0 || reps <= 0) {
		fputs("usage: chan_bench [msgs-per-producer [reps [swap]]]\n"
		      "       chan_bench solo queue|ds_chan msgs\n",
		      stderr);
		return 2;
	}
	for (long rep = 0; rep < reps; rep++)
		for (size_t w = 0; w < sizeof(rows) / sizeof(rows[0]); w++)
			measure(&rows[w], msgs, swap != (rep % 2 == 1));
	return 0;
}
