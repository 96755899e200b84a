/*
 * stats.c: a race. Workers count requests into a stats struct under its
 * lock; a reporter thread reads the totals without it. stats_lock is
 * declared the guard of the counters (lc_guard), so the first unlocked
 * read is reported at once, whatever the schedule: the reporter need not
 * even run while a worker writes. The fixed version reads under the lock.
 */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "demo.h"
#include "lockcheck/lockcheck.h"

enum { STATS_WORKERS = 3, STATS_REQUESTS = 20000 };

struct stats {
	lc_mutex_t lock;
	long requests;
	long bytes;
};

static struct stats stats;
static bool fixed;

static void *worker(void *arg)
{
	lc_thread_set_name("worker");
	for (int i = 0; i < STATS_REQUESTS; i++) {
		lc_mutex_lock(&stats.lock);
		LC_WRITE(stats.requests, stats.requests + 1);
		LC_WRITE(stats.bytes, stats.bytes + 512);
		lc_mutex_unlock(&stats.lock);
	}
	return arg;
}

static long read_locked(void)
{
	long requests;

	lc_mutex_lock(&stats.lock);
	requests = LC_READ(stats.requests);
	lc_mutex_unlock(&stats.lock);
	return requests;
}

static void *reporter(void *arg)
{
	lc_thread_set_name("reporter");
	*(long *)arg = fixed ? read_locked() : LC_READ(stats.requests);
	return NULL;
}

int demo_stats(const char *version)
{
	pthread_t th[STATS_WORKERS], rep;
	long seen = 0, total;

	fixed = strcmp(version, "fixed") == 0;
	lc_mutex_init(&stats.lock, "stats_lock");
	lc_guard(&stats.requests, sizeof(stats.requests), &stats.lock);
	lc_guard(&stats.bytes, sizeof(stats.bytes), &stats.lock);
	for (int i = 0; i < STATS_WORKERS; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	pthread_create(&rep, NULL, reporter, &seen);
	for (int i = 0; i < STATS_WORKERS; i++)
		pthread_join(th[i], NULL);
	pthread_join(rep, NULL);
	total = read_locked(); /* the declaration holds after joins too */
	say("%d workers counted %ld requests; the reporter saw %ld "
	    "mid-run",
	    STATS_WORKERS, total, seen);
	lc_unguard(&stats, sizeof(stats));
	return lc_mutex_destroy(&stats.lock);
}
