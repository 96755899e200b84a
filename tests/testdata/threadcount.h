/*
 * threadcount.h: how many threads this process has, from /proc/self/task,
 * for tests that check a structure leaves no thread behind.
 *
 * Two things make a plain count before and after unreliable:
 * - a joined thread can stay listed for a moment: pthread_join returns
 *   when the kernel clears the thread's tid, a little before the thread
 *   is released. threadcount_settle() looks again until the count is the
 *   expected one (or 10 seconds passed: then the test fails);
 * - ThreadSanitizer starts a helper thread of its own at the first
 *   pthread_create. threadcount_baseline() creates and joins one thread
 *   first, waits until it is gone, and counts after that.
 */
#ifndef DS_TEST_THREADCOUNT_H
#define DS_TEST_THREADCOUNT_H

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Entries of /proc/self/task; -1 when it cannot be read. */
static int threadcount_now(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static bool threadcount_expired(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec - start->tv_sec > 10;
}

/* The count once it equals want, or after 10 seconds the last one. */
static int threadcount_settle(int want)
{
	struct timespec start;
	int n = threadcount_now();

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (n != want && !threadcount_expired(&start)) {
		sched_yield();
		n = threadcount_now();
	}
	return n;
}

static void *threadcount_tid(void *arg)
{
	*(pid_t *)arg = (pid_t)syscall(SYS_gettid);
	return NULL;
}

/* The count to compare with later, once the sanitizers' helper threads
 * exist; -1 when that could not be had. */
static int threadcount_baseline(void)
{
	char path[64];
	pid_t tid = 0;
	pthread_t t;
	struct timespec start;

	if (pthread_create(&t, NULL, threadcount_tid, &tid) ||
	    pthread_join(t, NULL))
		return -1;
	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (access(path, F_OK) == 0 && !threadcount_expired(&start))
		sched_yield();
	return threadcount_now();
}

#endif /* DS_TEST_THREADCOUNT_H */
