/*
 * deadline.c: milliseconds from now as a CLOCK_MONOTONIC deadline.
 *
 * A long of milliseconds is at most about 9.2e15 seconds, far inside
 * time_t, so the sum cannot overflow; the nanoseconds are normalised to
 * [0, 1e9) as pthread_cond_timedwait requires.
 */
#include "deadline.h"

#include <assert.h>
#include <errno.h>

#define NS_PER_SEC 1000000000L
#define NS_PER_MS  1000000L

int ds__deadline_after_ms(long ms, struct timespec *abs)
{
	if (ms < 0)
		return EINVAL;
	clock_gettime(CLOCK_MONOTONIC, abs);
	abs->tv_sec += (time_t)(ms / 1000);
	abs->tv_nsec += (ms % 1000) * NS_PER_MS;
	if (abs->tv_nsec >= NS_PER_SEC) {
		abs->tv_sec++;
		abs->tv_nsec -= NS_PER_SEC;
	}
	assert(abs->tv_nsec >= 0 && abs->tv_nsec < NS_PER_SEC);
	return 0;
}
