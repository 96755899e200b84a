/*
 * thread_start.c: what a new thread inherited. Linux gives a new thread
 * its creator's kernel name, so a thread the program never named would
 * show in reports under another thread's name. //lockcheck links with
 * -Wl,--wrap=pthread_create: the program's pthread_create calls come here
 * first, and the new thread records the name it was born with before it
 * runs the program's code; reports show a thread's kernel name only when
 * it differs from that one (thread.c).
 *
 * The same wrapper carries the creator's clock to the new thread, and
 * the thread's last clock to the thread that joins it (race checking: a
 * thread's code is ordered after its create and before its join). So
 * pthread_join is wrapped too (-Wl,--wrap=pthread_join).
 *
 * The real pthread_create is the linker's __real_pthread_create, which
 * under ThreadSanitizer or AddressSanitizer is still their interceptor;
 * when the wrapper is reached from an object linked without the option,
 * the first pthread_create in the global scope stands in for it.
 */
#define _GNU_SOURCE
#include "core.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

typedef int create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *),
		      void *);

int __real_pthread_create(pthread_t *th, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg) __attribute__((weak));
int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg);
int __real_pthread_join(pthread_t th, void **ret) __attribute__((weak));
int __wrap_pthread_join(pthread_t th, void **ret);

/* Written by the new thread itself before the program's code runs. */
static _Thread_local char inherited[16];
static _Thread_local bool inherited_known;

struct start {
	void *(*fn)(void *);
	void *arg;
	bool known;	      /* name could be read */
	char name[16];	      /* the creator's kernel name: the thread's too */
	struct lc__vc *clock; /* the creator's, or NULL */
};

bool lc__inherited_name(char out[16])
{
	if (inherited_known)
		memcpy(out, inherited, sizeof(inherited));
	return inherited_known;
}

/* The race hooks run inside the checker, as the lock steps' do: a
 * signal handler's lock call then goes past it (core.h). */
static void race_born(struct lc__vc *clock)
{
	struct lc__thread *t;

	if (clock && (t = lc__enter())) {
		lc__race_born(clock);
		lc__leave(t);
		return;
	}
	if (clock) /* no state (no memory): its order is lost */
		lc__race_limit("race clocks: out of memory");
	lc__race_unborn(clock);
}

static void race_end(void *unused)
{
	struct lc__thread *t;

	(void)unused;
	if (lc__race_active() && (t = lc__enter())) {
		lc__race_thread_end();
		lc__leave(t);
	}
}

static void *start_thread(void *p)
{
	struct start s = *(struct start *)p;
	void *ret;

	free(p);
	memcpy(inherited, s.name, sizeof(inherited));
	inherited_known = s.known;
	race_born(s.clock);
	/* Its end is reached by return, pthread_exit or cancellation. */
	pthread_cleanup_push(race_end, NULL);
	ret = s.fn(s.arg);
	pthread_cleanup_pop(1);
	return ret;
}

static create_fn *real_create(void)
{
	static create_fn *_Atomic found;
	create_fn *f = atomic_load_explicit(&found, memory_order_acquire);

	if (f)
		return f;
	f = __real_pthread_create;
	if (!f)
		f = (create_fn *)dlsym(RTLD_DEFAULT, "pthread_create");
	atomic_store_explicit(&found, f, memory_order_release);
	return f;
}

int __wrap_pthread_create(pthread_t *th, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg)
{
	struct start *s = malloc(sizeof(*s));
	int err;

	if (!s || !fn) { /* unknown inheritance: thread.c copes */
		free(s);
		if (lc__race_active()) /* nor is the order known */
			lc__race_limit("race clocks: out of memory");
		return real_create()(th, attr, fn, arg);
	}
	*s = (struct start){ fn, arg, false, "", NULL };
	s->known = pthread_getname_np(pthread_self(), s->name,
				      sizeof(s->name)) == 0;
	if (lc__race_active()) {
		struct lc__thread *t = lc__enter();

		if (t) {
			s->clock = lc__race_fork();
			lc__leave(t);
		} else {
			lc__race_limit("race clocks: out of memory");
		}
	}
	err = real_create()(th, attr, start_thread, s);
	if (err) {
		lc__race_unborn(s->clock);
		free(s);
	}
	return err;
}

typedef int join_fn(pthread_t, void **);

static join_fn *real_join(void)
{
	static join_fn *_Atomic found;
	join_fn *f = atomic_load_explicit(&found, memory_order_acquire);

	if (f)
		return f;
	f = __real_pthread_join;
	if (!f)
		f = (join_fn *)dlsym(RTLD_DEFAULT, "pthread_join");
	atomic_store_explicit(&found, f, memory_order_release);
	return f;
}

void lc__thread_joined(pthread_t th)
{
	struct lc__thread *t;

	if (lc__race_active() && (t = lc__enter())) {
		lc__race_joined(th);
		lc__leave(t);
	}
}

int __wrap_pthread_join(pthread_t th, void **ret)
{
	int err = real_join()(th, ret);

	if (!err)
		lc__thread_joined(th);
	return err;
}
