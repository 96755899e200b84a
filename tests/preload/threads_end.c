/*
 * threads_end.c: threads that end by pthread_exit and are joined by
 * pthread_join, pthread_tryjoin_np and pthread_timedjoin_np. Exits 7.
 *   threads_end held: "holder" leaves by pthread_exit holding kept
 *   threads_end clean: every thread unlocks before it leaves
 *   threads_end main_exit [held|cycle]: main leaves by pthread_exit (with
 *     kept held), then a thread that joined it takes first and second
 *     (and in the other order too); the process ends with status 0
 * Prints what the joins returned, which must be pthreads' own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t kept = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t second = PTHREAD_MUTEX_INITIALIZER;
static int held_mode;
static pthread_t main_thread;

static void pair(pthread_mutex_t *x, pthread_mutex_t *y)
{
	pthread_mutex_lock(x);
	pthread_mutex_lock(y);
	pthread_mutex_unlock(y);
	pthread_mutex_unlock(x);
}

/* Runs once main has gone: its locks are named all the same. */
static void *after_main(void *cycle)
{
	printf("join main: %d\n", pthread_join(main_thread, NULL));
	pair(&first, &second);
	if (cycle)
		pair(&second, &first);
	printf("done\n");
	fflush(stdout);
	return NULL;
}

static void main_exit(int argc, char **argv)
{
	bool held = argc > 2 && strcmp(argv[2], "held") == 0;
	bool cycle = argc > 2 && strcmp(argv[2], "cycle") == 0;
	pthread_t t;

	main_thread = pthread_self();
	pthread_create(&t, NULL, after_main, cycle ? &t : NULL);
	if (held)
		pthread_mutex_lock(&kept);
	pthread_exit(NULL);
}

static void *leaver(void *arg)
{
	pthread_setname_np(pthread_self(), "holder");
	pthread_mutex_lock(&kept);
	if (!held_mode)
		pthread_mutex_unlock(&kept);
	pthread_exit(arg);
}

static void *returner(void *arg)
{
	pthread_mutex_lock(&kept);
	pthread_mutex_unlock(&kept);
	return arg;
}

/* Waits at gate until main lets it go: running while main tries it. */
static void *waiter(void *arg)
{
	pthread_mutex_lock(&gate);
	pthread_mutex_unlock(&gate);
	pthread_exit(arg);
}

int main(int argc, char **argv)
{
	pthread_t a, b, c;
	struct timespec until;
	void *ret;

	if (argc > 1 && strcmp(argv[1], "main_exit") == 0)
		main_exit(argc, argv);
	held_mode = argc > 1 && strcmp(argv[1], "held") == 0;
	pthread_create(&a, NULL, leaver, (void *)(uintptr_t)11);
	printf("join: %d", pthread_join(a, &ret));
	printf(" %d\n", (int)(uintptr_t)ret);
	if (held_mode) /* kept stays with the dead thread */
		return 7;

	pthread_create(&b, NULL, returner, (void *)(uintptr_t)12);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	printf("timedjoin: %d", pthread_timedjoin_np(b, &ret, &until));
	printf(" %d\n", (int)(uintptr_t)ret);

	pthread_mutex_lock(&gate);
	pthread_create(&c, NULL, waiter, (void *)(uintptr_t)13);
	printf("tryjoin running: %d\n", pthread_tryjoin_np(c, &ret) == EBUSY);
	pthread_mutex_unlock(&gate);
	printf("join: %d", pthread_join(c, &ret));
	printf(" %d\n", (int)(uintptr_t)ret);
	printf("join self: %d\n",
	       pthread_join(pthread_self(), NULL) == EDEADLK);
	return 7;
}
