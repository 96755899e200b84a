/*
 * thread.c: per-thread state: the held stack, the chain cache, counters.
 *
 * Only its own thread touches a thread's state, so none of it is locked;
 * a signal handler of the thread that interrupts the checker leaves it
 * alone (reentry.c). Counters and cache hits reach the shared totals when
 * the thread ends (and for the thread that writes the dump, at exit); a
 * thread still running at exit keeps its uncounted hits, which makes
 * counts a lower bound.
 *
 * Invariants of the held stack (lc__held_consistent): nheld <= cap <=
 * LOCKCHECK_MAX_HELD (or the first 64); each entry names its lock, is held
 * depth >= 1 times in mode LC__READ or LC__WRITE, and its chain is the
 * hash of the stack's (class, mode) pairs up to it.
 */
#define _GNU_SOURCE
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

_Thread_local struct lc__thread *lc__tls
	__attribute__((tls_model("initial-exec")));
_Thread_local struct lc__thread *lc__owned
	__attribute__((tls_model("initial-exec")));

static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

/* One exit-held finding per set of (class, site) held at exit. */
static uint64_t exit_signature(const struct lc__thread *t)
{
	uint64_t sig = 0;

	for (uint32_t i = 0; i < t->nheld; i++) {
		const struct lc__held *h = &t->held[i];

		sig = lc__mix64(sig ^ lc__hash_str(h->cls ? h->cls->id : 0,
						   h->at.file)) +
		      (uint64_t)h->at.line;
	}
	return sig;
}

static void report_exit_held(struct lc__thread *t)
{
	uint32_t classes[16], n = 0;
	struct lc__buf b;

	lc__slow_lock();
	if (lc__finding_is_new(LC__FINDING_EXIT_HELD, exit_signature(t))) {
		lc__buf_init(&b);
		lc__buf_add(&b, "thread \"");
		lc__buf_put_text(&b, lc__thread_name(t));
		lc__buf_add(&b, "\" (tid %d) exits holding %u lock%s\n", t->tid,
			    t->nheld, t->nheld == 1 ? "" : "s");
		for (uint32_t i = 0; i < t->nheld; i++) {
			const struct lc__held *h = &t->held[i];

			lc__buf_add(&b, "  holds ");
			lc__print_class(&b, h->cls);
			lc__buf_add(&b, ", taken at ");
			lc__print_site(&b, &h->at);
			lc__buf_add(&b, "\n");
			if (h->cls && n < 16)
				classes[n++] = h->cls->id;
		}
		lc__report(LC__FINDING_EXIT_HELD, &b, classes, n);
		lc__buf_free(&b);
	}
	lc__slow_unlock();
}

/* Runs as the thread ends (a pthread key destructor). Other destructors of
 * the same round may still release locks, so while any is held this comes
 * back once, in the next round, and reports then. (Not later: runtimes
 * such as TSan finish the thread in the last round.) A later destructor
 * that locks again gets fresh state, and this runs again for it. */
static void thread_exit(void *arg)
{
	struct lc__thread *t = arg;

	if (t->nheld && ++t->exit_rounds < 2) {
		pthread_setspecific(exit_key, t);
		return;
	}
	/* A signal handler goes past the checker from here on. */
	lc__tls = NULL;
	lc__inside_stateless = 1;
	atomic_signal_fence(memory_order_seq_cst);
	assert(lc__held_consistent(t));
	if (t->nheld)
		report_exit_held(t);
	lc__thread_flush(t);
	lc__owned = NULL;
	lc__watchdog_unregister(t);
	free(t->held);
	free(t->insts);
	free(t->stats);
	free(t);
	atomic_signal_fence(memory_order_seq_cst);
	lc__inside_stateless = 0;
}

static void make_key(void)
{
	pthread_key_create(&exit_key, thread_exit);
}

struct lc__thread *lc__thread_create(void)
{
	struct lc__thread *t;

	lc__init();
	pthread_once(&key_once, make_key);
	t = calloc(1, sizeof(*t));
	if (!t)
		goto no_memory;
	t->cap = lc__cfg.max_held < 64 ? lc__cfg.max_held : 64;
	t->held = malloc(t->cap * sizeof(*t->held));
	t->insts = malloc(t->cap * sizeof(*t->insts));
	if (!t->held || !t->insts) {
		free(t->held);
		free(t->insts);
		free(t);
		goto no_memory;
	}
	t->tid = gettid();
	/* Not started through the wrapper: whatever name it has now may be
	 * its creator's, so only a later change of it is shown. */
	if (!lc__inherited_name(t->inherited) &&
	    pthread_getname_np(pthread_self(), t->inherited,
			       sizeof(t->inherited)))
		t->inherited[0] = '\0';
	lc__owned = t; /* lc__tls stays NULL: the caller is inside */
	pthread_setspecific(exit_key, t);
	if (lc__cfg.watchdog_ns)
		lc__watchdog_register(t);
	return t;
no_memory:
	if (lc__race_active()) /* its locks' order is lost: no false race */
		lc__race_limit("race clocks: out of memory");
	lc__slow_lock();
	lc__report_limit("memory", "no memory for a thread's state; its lock "
				   "operations go unchecked until memory is "
				   "found");
	lc__slow_unlock();
	return NULL;
}

static int grow_held(struct lc__thread *t)
{
	uint32_t cap = t->cap * 2;
	struct lc__held *held;
	struct lc__held_inst *insts;

	if (cap > lc__cfg.max_held)
		cap = lc__cfg.max_held;
	if (cap <= t->cap || t->nheld >= lc__cfg.max_held)
		return ENOSPC;
	held = realloc(t->held, cap * sizeof(*held));
	if (!held)
		return ENOMEM;
	t->held = held;
	insts = realloc(t->insts, cap * sizeof(*insts));
	if (!insts)
		return ENOMEM;
	t->insts = insts;
	t->cap = cap;
	return 0;
}

struct lc__held *lc__held_grow(struct lc__thread *t)
{
	int err;

	assert(t->nheld == t->cap);
	if (t->wd_listed) /* the watchdog may be reading the stack */
		lc__watchdog_hold(true);
	err = grow_held(t);
	if (t->wd_listed)
		lc__watchdog_hold(false);
	if (err == 0)
		return &t->held[t->nheld];
	lc__slow_lock();
	lc__report_limit("held", "a thread holds more locks than "
				 "LOCKCHECK_MAX_HELD or memory allows; "
				 "further ones are not ordered");
	lc__slow_unlock();
	t->untracked++;
	return NULL;
}

void lc__pop_held(struct lc__thread *t, int i)
{
	uint32_t n = t->nheld - 1;

	assert(i >= 0 && (uint32_t)i < t->nheld);
	memmove(&t->held[i], &t->held[i + 1],
		(n - (uint32_t)i) * sizeof(*t->held));
	t->nheld = n;
	for (uint32_t j = (uint32_t)i; j < n; j++) {
		struct lc__held *h = &t->held[j];

		h->chain = lc__chain_next(j ? t->held[j - 1].chain : 0,
					  h->cls ? h->cls->id : UINT32_MAX,
					  h->mode);
	}
}

bool lc__held_consistent(const struct lc__thread *t)
{
	uint64_t chain = 0;

	if (t->nheld > t->cap)
		return false;
	for (uint32_t i = 0; i < t->nheld; i++) {
		const struct lc__held *h = &t->held[i];

		chain = lc__chain_next(chain, h->cls ? h->cls->id : UINT32_MAX,
				       h->mode);
		if (!h->lk || h->depth < 1 || h->mode > LC__WRITE ||
		    h->chain != chain)
			return false;
	}
	return true;
}

uint32_t lc__exclusive_insts(struct lc__thread *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->nheld; i++) {
		const struct lc__held *h = &t->held[i];

		if (h->mode == LC__WRITE && h->cls)
			t->insts[n++] =
				(struct lc__held_inst){ h->id, h->cls->id };
	}
	assert(n <= t->cap);
	return n;
}

const char *lc__thread_name(struct lc__thread *t)
{
	if (t->name[0])
		return t->name;
	if (pthread_getname_np(pthread_self(), t->sysname,
			       sizeof(t->sysname)) == 0 &&
	    t->sysname[0] &&
	    (t->tid == getpid() || strcmp(t->sysname, t->inherited) != 0))
		return t->sysname; /* raw: lines escape it */
	snprintf(t->sysname, sizeof(t->sysname), "thread-%d", t->tid);
	return t->sysname;
}

bool lc__stats_grow(struct lc__thread *t, uint32_t cls_id)
{
	uint64_t n = t->nstats ? t->nstats : 64;
	struct lc__stats *s;

	while (n <= cls_id)
		n *= 2;
	if (n > UINT32_MAX)
		return false;
	s = realloc(t->stats, n * sizeof(*s));
	if (!s)
		return false;
	memset(s + t->nstats, 0, (n - t->nstats) * sizeof(*s));
	t->stats = s;
	t->nstats = (uint32_t)n;
	return true;
}

void lc__thread_flush(struct lc__thread *t)
{
	lc__slow_lock();
	for (uint32_t i = 0; i < t->nstats; i++) {
		struct lc__class *c = lc__class_by_id(i);
		struct lc__stats *s = &t->stats[i];

		if (!c)
			continue;
		atomic_fetch_add(&c->acquired, s->acquired);
		atomic_fetch_add(&c->contended, s->contended);
		atomic_fetch_add(&c->wait_ns, s->wait_ns);
		memset(s, 0, sizeof(*s));
	}
	for (uint32_t i = 0; i < LC__CHAIN_SLOTS; i++) {
		struct lc__chain_slot *slot = &t->cache[i];

		if (slot->chain && slot->hits)
			atomic_fetch_add(&slot->chain->hits, slot->hits);
		slot->hits = 0;
	}
	lc__slow_unlock();
}

int lc_thread_set_name(const char *name)
{
	struct lc__thread *t;
	char shortname[16];

	if (!name)
		return EINVAL;
	t = lc__enter();
	if (t) {
		lc__copy_name(t->name, sizeof(t->name), name);
		lc__leave(t);
	}
	strncpy(shortname, name, sizeof(shortname) - 1);
	shortname[sizeof(shortname) - 1] = '\0';
	return pthread_setname_np(pthread_self(), shortname);
}
