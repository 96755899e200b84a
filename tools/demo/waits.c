/*
 * waits.c: the demo's waiting scenes. "flusher": a flusher waits on a
 * condvar holding the table lock that the writer takes before it signals;
 * the checker predicts the wait-cycle, and nothing hangs (the flusher's
 * wait is timed and the writer goes first). "hang": a real AB-BA hang,
 * which the watchdog (LOCKCHECK_WATCHDOG) explains with its wait-for
 * graph while the process stays hung, as a real one would.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <time.h>

#include "demo.h"
#include "lockcheck/lockcheck.h"

static lc_mutex_t table = LC_MUTEX_INITIALIZER("table");
static lc_mutex_t queue = LC_MUTEX_INITIALIZER("queue");
static lc_cond_t flushed = LC_COND_INITIALIZER;
static int dirty;

/* Waits for the next flush holding table (not long: this is a demo). */
static void *flusher(void *arg)
{
	struct timespec soon;

	(void)arg;
	lc_thread_set_name("flusher");
	lc_mutex_lock(&table);
	lc_mutex_lock(&queue);
	clock_gettime(CLOCK_REALTIME, &soon);
	while (dirty && lc_cond_timedwait(&flushed, &queue, &soon) == 0)
		;
	lc_mutex_unlock(&queue);
	lc_mutex_unlock(&table);
	return NULL;
}

/* Updates the table, then wakes the flusher: holding table. */
static void *writer(void *arg)
{
	(void)arg;
	lc_thread_set_name("writer");
	lc_mutex_lock(&table);
	lc_mutex_lock(&queue);
	dirty = 0;
	lc_cond_signal(&flushed);
	lc_mutex_unlock(&queue);
	lc_mutex_unlock(&table);
	return NULL;
}

int demo_flusher(void)
{
	pthread_t t;

	dirty = 1;
	pthread_create(&t, NULL, writer, NULL);
	pthread_join(t, NULL);
	dirty = 1; /* more to flush */
	pthread_create(&t, NULL, flusher, NULL);
	pthread_join(t, NULL);
	return 0;
}

static lc_mutex_t accounts = LC_MUTEX_INITIALIZER("accounts");
static lc_mutex_t audit_log = LC_MUTEX_INITIALIZER("audit-log");
static pthread_barrier_t both;

static void *teller(void *arg)
{
	(void)arg;
	lc_thread_set_name("teller");
	lc_mutex_lock(&accounts);
	pthread_barrier_wait(&both);
	lc_mutex_lock(&audit_log); /* never returns */
	return NULL;
}

static void *auditor(void *arg)
{
	(void)arg;
	lc_thread_set_name("auditor");
	lc_mutex_lock(&audit_log);
	pthread_barrier_wait(&both);
	lc_mutex_lock(&accounts); /* never returns */
	return NULL;
}

int demo_hang(void)
{
	pthread_t t1, t2;

	pthread_barrier_init(&both, NULL, 2);
	pthread_create(&t1, NULL, teller, NULL);
	pthread_create(&t2, NULL, auditor, NULL);
	pthread_join(t1, NULL); /* hangs with them */
	return 0;
}
