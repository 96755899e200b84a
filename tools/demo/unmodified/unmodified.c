/*
 * unmodified.c: a small service written with raw pthread calls, as most
 * programs are: no lockcheck header, nothing rebuilt. A request handler
 * takes the table lock, then the statistics lock; the reporter, which
 * runs later, takes them the other way round. Run one after the other
 * they never hang, so tests pass; under load they would deadlock.
 * tools/lockcheck-run finds it from the one run.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static long entries, requests;

static void *handle_requests(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&table_lock);
		entries++;
		pthread_mutex_lock(&stats_lock);
		requests++;
		pthread_mutex_unlock(&stats_lock);
		pthread_mutex_unlock(&table_lock);
	}
	return NULL;
}

static void *report(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&stats_lock);
	pthread_mutex_lock(&table_lock);
	printf("   unmodified: %ld requests, %ld entries\n", requests, entries);
	pthread_mutex_unlock(&table_lock);
	pthread_mutex_unlock(&stats_lock);
	return NULL;
}

int main(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, handle_requests, NULL) ||
	    pthread_join(t, NULL))
		return 1;
	if (pthread_create(&t, NULL, report, NULL) || pthread_join(t, NULL))
		return 1;
	fflush(stdout);
	return 0;
}
