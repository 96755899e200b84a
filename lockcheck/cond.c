/*
 * cond.c: the checked condition waits. A wait gives its mutex back and
 * takes it again: lc__before_wait pops the mutex and validates the retake
 * before the wait blocks, lc__after_wait pushes it back when the wait
 * returns, or when it is cancelled (glibc takes the mutex again before
 * the cancellation handlers run, and they usually unlock it): the thread
 * leaves the checker there too. A signal or broadcast passes its
 * thread's order to the waits it wakes (race.h); inits and destroys are
 * plain pthread calls.
 */
#define _GNU_SOURCE
#include "core.h"

#define CALLER __builtin_return_address(0)

/* The wait in progress, for its cancellation handler. */
struct wait {
	lc_cond_t *c;
	struct lc__thread *t;
	struct lc__acq a;
	uint32_t depth;
};

static int real_wait(lc_cond_t *c, lc_mutex_t *m,
		     const struct timespec *abstime)
{
	return abstime ? pthread_cond_timedwait(&c->pc, &m->pm, abstime)
		       : pthread_cond_wait(&c->pc, &m->pm);
}

static void retake(void *arg)
{
	struct wait *w = arg;

	lc__after_wait(w->t, &w->a, w->depth);
	if (lc__race_active()) /* a signal's order reaches its wait */
		lc__race_wakeup(w->c);
	lc__leave(w->t);
}

static int wait(lc_cond_t *c, lc_mutex_t *m, const struct timespec *abstime,
		struct wait *w)
{
	int err;

	w->c = c;
	w->t = lc__enter();
	if (!w->t)
		return lc__passed_wait(&w->a, real_wait(c, m, abstime));
	err = lc__before_wait(w->t, &w->a, &w->depth);
	if (err == LC__GO) {
		pthread_cleanup_push(retake, w);
		err = real_wait(c, m, abstime);
		pthread_cleanup_pop(1);
		return err; /* retake left the checker */
	}
	if (err == LC__PASS) /* a mutex it did not record: nor the wait */
		err = real_wait(c, m, abstime);
	lc__leave(w->t);
	return err;
}

int lc__cond_wait(lc_cond_t *c, lc_mutex_t *m, const char *file, int line,
		  const char *func)
{
	struct wait w;

	if (!c || !m)
		return EINVAL;
	w.a = LC__ACQ(&m->lk, LC__WRITE, LC__BLOCK, file, line, func, CALLER);
	return wait(c, m, NULL, &w);
}

int lc__cond_timedwait(lc_cond_t *c, lc_mutex_t *m,
		       const struct timespec *abstime, const char *file,
		       int line, const char *func)
{
	struct wait w;

	if (!c || !m || !abstime)
		return EINVAL;
	w.a = LC__ACQ(&m->lk, LC__WRITE, LC__TIMED, file, line, func, CALLER);
	return wait(c, m, abstime, &w);
}

/* A signal orders what its thread did before it with the wait it wakes
 * (race.h); the signal itself is pthreads'. */
static int signal_with(lc_cond_t *c, int (*fn)(pthread_cond_t *))
{
	struct lc__thread *t;

	if (!c)
		return EINVAL;
	if (lc__race_active() && (t = lc__enter())) {
		lc__race_signal(c);
		lc__leave(t);
	}
	return fn(&c->pc);
}

int lc__cond_signal(lc_cond_t *c, const char *file, int line,
		    const char *func)
{
	(void)file;
	(void)line;
	(void)func;
	return signal_with(c, pthread_cond_signal);
}

int lc__cond_broadcast(lc_cond_t *c, const char *file, int line,
		       const char *func)
{
	(void)file;
	(void)line;
	(void)func;
	return signal_with(c, pthread_cond_broadcast);
}

/* Like lc_cond_init with a clock: condvars are not checked, so this is
 * the plain build's call (mode_off.c), for the checked library. */
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
