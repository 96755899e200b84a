/*
 * cond.c: the checked condition waits. A wait gives its mutex back and
 * takes it again: lc__before_wait pops the mutex and validates the retake
 * before the wait blocks, lc__after_wait pushes it back when the wait
 * returns, or when it is cancelled (glibc takes the mutex again before
 * the cancellation handlers run, and they usually unlock it): the thread
 * leaves the checker there too. A condvar is also a wait node
 * (waits.c): a wait adds edges from the locks still held to it, a signal
 * holding locks other than its bound mutex edges from it to them. A
 * signal or broadcast also passes its thread's order to the waits it
 * wakes (race.h).
 */
#define _GNU_SOURCE
#include "core.h"

#include <string.h>
#include <unistd.h>

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

	if (lc__cfg.watchdog_ns)
		lc__blocked_end(w->t);
	lc__after_wait(w->t, &w->a, w->depth);
	if (lc__race_active()) /* a signal's order reaches its wait */
		lc__race_wakeup(w->c);
	lc__leave(w->t);
}

/* For the watchdog: t blocks on c. A structure's fill is read here,
 * where the waiter still holds the mutex that guards it; it stays so
 * until a signal ends the wait. */
static void publish(struct lc__thread *t, lc_cond_t *c,
		    const struct lc__site *at)
{
	size_t fill, cap = 0;

	if (c->lk.kind != LC__KIND_COND || !c->fill) {
		lc__blocked_begin(t, &c->lk, at, LC__WRITE, lc__now_ns());
		return;
	}
	fill = c->fill(c->fill_obj, &cap);
	lc__blocked_begin_node(t, &c->lk, at, lc__now_ns(), LC__BLOCKED_FILL,
			       fill, cap);
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
	if (err == LC__GO && c->lk.kind == LC__KIND_COND)
		lc__wait_edges(w->t, c, lc__id_fast(&m->lk), &w->a.at, w->a.ra,
			       w->a.how);
	if (err == LC__GO && lc__cfg.watchdog_ns && !abstime && !c->idle)
		publish(w->t, c, &w->a.at);
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

static int init(lc_cond_t *c, const pthread_condattr_t *attr, const char *name,
		struct lc__key *key, const void *ra)
{
	int err;

	if (!c)
		return EINVAL;
	err = pthread_cond_init(&c->pc, attr);
	if (err)
		return err;
	lc__lock_init(&c->lk, name, key, LC__KIND_COND, ra);
	atomic_store(&c->bound, 0);
	atomic_store(&c->pending, 0);
	c->fill = NULL;
	c->fill_obj = NULL;
	return 0;
}

int lc__cond_init(lc_cond_t *c, const char *name, struct lc__key *key)
{
	return init(c, NULL, name, key, CALLER);
}

int lc__cond_init_clock(lc_cond_t *c, clockid_t clock, struct lc__key *key)
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
		err = init(c, &attr, "condvar", key, CALLER);
	pthread_condattr_destroy(&attr);
	return err;
}

/* A structure's condvar: classed by lc__node_name, not by this call. */
int lc__cond_init_node(lc_cond_t *c, clockid_t clock, lc_mutex_t *bound,
		       const char *what, const char *name, const char *role,
		       const char *file, int line)
{
	pthread_condattr_t attr;
	int err;

	if (!c || !what || !name || !file)
		return EINVAL;
	err = pthread_condattr_init(&attr);
	if (err)
		return err;
	err = pthread_condattr_setclock(&attr, clock);
	if (!err)
		err = pthread_cond_init(&c->pc, &attr);
	pthread_condattr_destroy(&attr);
	if (err)
		return err;
	memset(&c->lk, 0, sizeof(c->lk));
	c->lk.kind = LC__KIND_COND;
	atomic_store(&c->bound, 0);
	atomic_store(&c->pending, 0);
	c->fill = NULL;
	c->fill_obj = NULL;
	lc__node_name(c, bound, what, name, role, file, line);
	return 0;
}

/* The watchdog's "last signalled at": racy, for a report only. */
static void note_signaller(lc_cond_t *c, const char *file, int line,
			   const char *func)
{
	c->last_file = file;
	c->last_line = line;
	c->last_func = func;
	atomic_store_explicit(&c->last_tid,
			      lc__owned ? lc__owned->tid : (int)gettid(),
			      memory_order_release);
}

/* Before a signal or broadcast: the common holds (none, or only the bound
 * mutex) cost a load and a compare; any other goes to waits.c. */
static void signalled(lc_cond_t *c, const char *file, int line,
		      const char *func, const void *ra)
{
	struct lc__thread *t = lc__tls; /* read only: no need to enter */
	struct lc__site at;

	if (lc__cfg.watchdog_ns)
		note_signaller(c, file, line, func);
	/* Not initialised by us, no state (so no locks), inside, or the
	 * common hold set: nothing to record. */
	if (!t || c->lk.kind != LC__KIND_COND || lc__signal_is_plain(t, c))
		return;
	t = lc__enter_fast();
	if (!t)
		return;
	at = (struct lc__site){ file, line, func };
	lc__signal_edges(t, c, &at, ra);
	lc__leave(t);
}

void lc__cond_event(lc_cond_t *c, const char *file, int line, const char *func)
{
	if (c)
		signalled(c, file, line, func, CALLER);
}

/* A signal orders what its thread did before it with the wait it wakes
 * (race.h). */
static void race_signal(lc_cond_t *c)
{
	struct lc__thread *t;

	if (lc__race_active() && (t = lc__enter())) {
		lc__race_signal(c);
		lc__leave(t);
	}
}

int lc__cond_signal(lc_cond_t *c, const char *file, int line, const char *func)
{
	if (!c)
		return EINVAL;
	signalled(c, file, line, func, CALLER);
	race_signal(c);
	return pthread_cond_signal(&c->pc);
}

int lc__cond_broadcast(lc_cond_t *c, const char *file, int line,
		       const char *func)
{
	if (!c)
		return EINVAL;
	signalled(c, file, line, func, CALLER);
	race_signal(c);
	return pthread_cond_broadcast(&c->pc);
}

/* A destroyed condvar's pending signals go; its memory starts afresh. */
int lc__cond_destroy(lc_cond_t *c)
{
	uint64_t id;
	int err;

	if (!c)
		return EINVAL;
	err = pthread_cond_destroy(&c->pc);
	if (err || c->lk.kind != LC__KIND_COND)
		return err;
	id = atomic_exchange(&c->lk.id, 0);
	atomic_store(&c->bound, 0);
	if (id) {
		lc__slow_lock();
		lc__forget_signals(id);
		lc__slow_unlock();
	}
	return 0;
}
