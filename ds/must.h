/*
 * must.h: the failure policy of ds/ for its own locks (internal to //ds).
 *
 * Every public header of ds/ states the rule: an errno value is returned
 * for what correct use can meet, and a lock, unlock or wait on a
 * structure's own correctly initialised locks that fails is a bug in ds/
 * (or a broken REQUIRES): assert() stops the program, it is never passed
 * on as an error. So ds/ code writes DS__MUST(lc_mutex_lock(&s->lock)):
 * the call runs in every build (NDEBUG too), and a failure names the call
 * and its site. The lc_ call is written at the site, not in a helper, so
 * the checker's reports name the site too.
 *
 * Creation is the one place where a lock call may fail in correct use:
 * POSIX lets an init fail for want of memory or other resources (EAGAIN,
 * ENOMEM; glibc never does), and create passes that on (ds__init_result).
 */
#ifndef DS_MUST_H
#define DS_MUST_H

#include <assert.h>
#include <errno.h>

#include "lockcheck/lockcheck.h"

/* Runs call (an lc_ call of ds/ on its own lock or condvar, or a join of
 * its own thread), which must return 0. */
#define DS__MUST(call)                                                         \
	do {                                                                   \
		int ds__must_err = (call);                                     \
                                                                               \
		assert(ds__must_err == 0 && #call);                            \
		(void)ds__must_err;                                            \
	} while (0)

/* err, from the init of one of ds/'s own locks or condvars: 0, or EAGAIN
 * or ENOMEM (out of resources), which creation returns to its caller.
 * Anything else would mean ds/ passed something invalid. */
static inline int ds__init_result(int err)
{
	assert(err == 0 || err == EAGAIN || err == ENOMEM);
	return err;
}

/* err, from a timed wait of ds/ on its own condvar and mutex: 0 (woken)
 * or ETIMEDOUT (the deadline passed), returned as it is. */
static inline int ds__timed_wait_result(int err)
{
	assert(err == 0 || err == ETIMEDOUT);
	return err;
}

#endif /* DS_MUST_H */
