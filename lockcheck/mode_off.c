/*
 * The whole library in a LOCKCHECK=0 build: the lock wrappers are inline
 * pthread calls in the header, so all that remains is the link-mode marker,
 * the thread-naming call, and the few calls the header leaves out of line
 * (inits, and what strict ISO C cannot see: see lockcheck.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "lockcheck/lockcheck.h"

/* Referenced by every object built with LOCKCHECK=0 (see lockcheck.h). */
const int lc_built_with_LOCKCHECK_0 = 0;

int lc_thread_set_name(const char *name)
{
	char shortname[16];

	if (!name)
		return EINVAL;
	strncpy(shortname, name, sizeof(shortname) - 1);
	shortname[sizeof(shortname) - 1] = '\0';
	return pthread_setname_np(pthread_self(), shortname);
}

int lc__plain_mutex_init_recursive(lc_mutex_t *m)
{
	pthread_mutexattr_t attr;
	int err;

	if (!m)
		return EINVAL;
	err = pthread_mutexattr_init(&attr);
	if (err)
		return err;
	err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	if (!err)
		err = pthread_mutex_init(&m->pm, &attr);
	pthread_mutexattr_destroy(&attr);
	return err;
}

int lc__plain_mutex_timedlock(lc_mutex_t *m, const struct timespec *abstime)
{
	return pthread_mutex_timedlock(&m->pm, abstime);
}

int lc__plain_rwlock_init(lc_rwlock_t *l)
{
	return pthread_rwlock_init(&l->prw, NULL);
}

int lc__plain_rwlock_rdlock(lc_rwlock_t *l)
{
	return pthread_rwlock_rdlock(&l->prw);
}

int lc__plain_rwlock_wrlock(lc_rwlock_t *l)
{
	return pthread_rwlock_wrlock(&l->prw);
}

int lc__plain_rwlock_tryrdlock(lc_rwlock_t *l)
{
	return pthread_rwlock_tryrdlock(&l->prw);
}

int lc__plain_rwlock_trywrlock(lc_rwlock_t *l)
{
	return pthread_rwlock_trywrlock(&l->prw);
}

int lc__plain_rwlock_unlock(lc_rwlock_t *l)
{
	return pthread_rwlock_unlock(&l->prw);
}

int lc__plain_rwlock_destroy(lc_rwlock_t *l)
{
	return pthread_rwlock_destroy(&l->prw);
}

int lc_cond_init_clock(lc_cond_t *c, clockid_t clock)
{
	pthread_condattr_t attr;
	int err;

	if (!c)
		return EINVAL;
	err = pthread_condattr_init(&attr);
	if (err)
		return err;
	err = pthread_condattr_setclock(&attr, clock);
	if (!err)
		err = pthread_cond_init(&c->pc, &attr);
	pthread_condattr_destroy(&attr);
	return err;
}
