/*
 * cond.c: the program's condition waits, as lockcheck/cond.c runs them:
 * the wait gives its mutex back (popped, and the retake validated before
 * the wait blocks) and takes it again (pushed when the wait returns or is
 * cancelled). The real waits are glibc's GLIBC_2.3.2 versions (real.c).
 * Signals, inits and destroys are not interposed: the checker has nothing
 * to record for them, and the program reaches glibc's directly.
 */
#define _GNU_SOURCE
#include "preload.h"

#include <errno.h>

/* The wait in progress, for its cancellation handler. */
struct wait {
	struct lc__thread *t;
	struct lc__acq a;
	uint32_t depth;
	pthread_cond_t *c;
	pthread_mutex_t *m;
	const struct timespec *abstime;
	clockid_t clock;
	bool timed;   /* pthread_cond_timedwait */
	bool clocked; /* pthread_cond_clockwait */
};

static int real_wait(const struct wait *w)
{
	if (w->clocked)
		return LC__PRE_REAL(cond_clockwait)(w->c, w->m, w->clock,
						    w->abstime);
	if (w->timed)
		return LC__PRE_REAL(cond_timedwait)(w->c, w->m, w->abstime);
	return LC__PRE_REAL(cond_wait)(w->c, w->m);
}

static void retake(void *arg)
{
	struct wait *w = arg;

	lc__after_wait(w->t, &w->a, w->depth);
	lc__leave(w->t);
	lc__pre_out();
}

/* A checked wait (the caller is inside the preload, lc__pre_in). */
static int wait_checked(struct wait *w, const void *ra)
{
	struct lc__pre_lock *e = lc__pre_find(w->m);
	const struct lc__site *at;
	int err;

	if (!e || e->treat == LC__PRE_PASS)
		return real_wait(w);
	at = lc__pre_site(ra);
	w->a = LC__ACQ(&e->lk, LC__WRITE,
		       w->timed || w->clocked ? LC__TIMED : LC__BLOCK, at->file,
		       at->line, at->func, ra);
	w->t = lc__enter();
	if (!w->t)
		return lc__passed_wait(&w->a, real_wait(w));
	err = lc__before_wait(w->t, &w->a, &w->depth);
	if (err == LC__GO) {
		pthread_cleanup_push(retake, w);
		err = real_wait(w);
		pthread_cleanup_pop(0);
		lc__after_wait(w->t, &w->a, w->depth);
	} else if (err == LC__PASS) {
		err = real_wait(w);
	}
	lc__leave(w->t);
	return err;
}

static int wait(struct wait *w, const void *ra)
{
	int err;

	if (!w->c || !w->m || !lc__pre_in())
		return real_wait(w);
	err = wait_checked(w, ra);
	lc__pre_out();
	return err;
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	struct wait w = { .c = c, .m = m };

	return wait(&w, LC__PRE_CALLER);
}

int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
			   const struct timespec *abstime)
{
	struct wait w = { .c = c, .m = m, .abstime = abstime, .timed = true };

	return wait(&w, LC__PRE_CALLER);
}

int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m,
			   clockid_t clock, const struct timespec *abstime)
{
	struct wait w = { .c = c,
			  .m = m,
			  .abstime = abstime,
			  .clock = clock,
			  .clocked = true };

	if (!LC__PRE_REAL(cond_clockwait))
		return ENOSYS;
	return wait(&w, LC__PRE_CALLER);
}
