/*
 * deadline.h: the absolute CLOCK_MONOTONIC deadline of a "_timeout(ms)"
 * call, for lc_cond_timedwait on a condvar made with
 * lc_cond_init_clock(c, CLOCK_MONOTONIC). Internal to //ds.
 */
#ifndef DS_DEADLINE_H
#define DS_DEADLINE_H

#include <time.h>

/* Sets *abs to now + ms on CLOCK_MONOTONIC. Returns 0, or EINVAL for a
 * negative ms. ms == 0 gives "now": a wait until it times out at once. */
int ds__deadline_after_ms(long ms, struct timespec *abs);

#endif /* DS_DEADLINE_H */
