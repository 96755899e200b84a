/*
 * watchdog.c: LOCKCHECK_WATCHDOG=seconds, the explanation of a real hang.
 *
 * A thread about to block in an untimed wait (a lock, a condvar, so a
 * channel or a pool too) publishes what it waits for in its state: the
 * fields, then since_ns (one store); it clears since_ns when the wait
 * returns (one store). Timed waits, trylocks and waits on a condvar
 * marked idle (LC_COND_IDLE: a pool's workers waiting for work) publish
 * nothing.
 *
 * The watchdog thread, started by the first published wait, looks four
 * times a period: every thread blocked longer than the period is part of
 * a stuck set (with the blocked holders of what it wants; one set per
 * part of the wait-for graph), reported once two looks in a row saw it,
 * and once per set (the same threads in the same
 * waits) as wait-timeout, with the wait-for graph: for each thread what it
 * waits for, since when and where, what it holds, who holds what it wants
 * and whether that holder is itself blocked; a condvar's last signaller.
 * "deadlock" only when some threads each wait for a lock another of them
 * holds; otherwise a stall.
 *
 * Reading other threads' state: the registry (every thread state made
 * while the watchdog is on) is changed under reg_lock, and so is a held
 * stack's memory (grown, freed); the watchdog reads under reg_lock. A
 * blocked thread's record and held stack do not change while it blocks;
 * since_ns read again after the copy tells a wait that ended meanwhile
 * (its copy is dropped). Holders that run are read as they are: their
 * entries may be stale, never freed memory.
 */
#define _GNU_SOURCE
#include "core.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_STUCK      32 /* threads of one report */
#define MAX_SHOWN_HELD 8  /* holds shown per thread */

int __real_pthread_create(pthread_t *th, const pthread_attr_t *attr,
			  void *(*fn)(void *), void *arg) __attribute__((weak));

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lc__thread *reg_head; /* through wd_next; reg_lock */
static atomic_bool started;

/* A stuck thread, as copied under reg_lock. */
struct stuck {
	struct lc__thread *t;
	int tid;
	char name[LC_TEXT_MAX + 2]; /* as long as lc__thread's: kept whole */
	uint64_t since;
	struct lc__lock *lk;
	struct lc__site at;
	uint8_t mode;
	uint32_t nheld;
	struct lc__held held[MAX_SHOWN_HELD];
	int owner;		  /* tid of a holder of lk, 0: none found */
	int owner_index;	  /* that holder in the stuck set, or -1 */
	struct lc__site owner_at; /* where the holder took it */
};

void lc__watchdog_register(struct lc__thread *t)
{
	pthread_mutex_lock(&reg_lock);
	t->wd_next = reg_head;
	reg_head = t;
	t->wd_listed = true;
	pthread_mutex_unlock(&reg_lock);
}

void lc__watchdog_unregister(struct lc__thread *t)
{
	if (!t->wd_listed)
		return;
	pthread_mutex_lock(&reg_lock);
	for (struct lc__thread **p = &reg_head; *p; p = &(*p)->wd_next)
		if (*p == t) {
			*p = t->wd_next;
			break;
		}
	t->wd_listed = false;
	pthread_mutex_unlock(&reg_lock);
}

void lc__watchdog_hold(bool take)
{
	if (take)
		pthread_mutex_lock(&reg_lock);
	else
		pthread_mutex_unlock(&reg_lock);
}

/* The thread's name as the watchdog can tell it: its lc_thread_set_name
 * name, else its kernel name, else "thread-<tid>". */
static void name_of(const struct lc__thread *t, char *out, size_t size)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	if (t->name[0]) {
		snprintf(out, size, "%s", t->name);
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", t->tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, out, size - 1);
		close(fd);
	}
	if (n <= 0) {
		snprintf(out, size, "thread-%d", t->tid);
		return;
	}
	out[n] = '\0';
	out[strcspn(out, "\n")] = '\0';
}

/* Copies t's wait, if it waits; false when it does not, or its wait ended
 * while being copied. Under reg_lock. */
static bool copy_blocked(struct lc__thread *t, struct stuck *s)
{
	uint64_t since = atomic_load_explicit(&t->blocked.since_ns,
					      memory_order_acquire);

	if (!since)
		return false;
	s->t = t;
	s->tid = t->tid;
	s->since = since;
	s->lk = t->blocked.lk;
	s->at = t->blocked.at;
	s->mode = t->blocked.mode;
	s->nheld = t->nheld < MAX_SHOWN_HELD ? t->nheld : MAX_SHOWN_HELD;
	memcpy(s->held, t->held, s->nheld * sizeof(s->held[0]));
	s->owner = 0;
	s->owner_index = -1;
	/* The copy holds if the wait did not end meanwhile (a seqlock's
	 * check). x86 keeps loads in order; elsewhere a copy may be torn:
	 * a wrong line in a report, never a crash (the memory stays valid
	 * under reg_lock). */
	return atomic_load_explicit(&t->blocked.since_ns,
				    memory_order_acquire) == since;
}

/* A thread other than s's holding s->lk (not for condvars). */
static void find_owner(struct stuck *s)
{
	if (s->lk->kind == LC__KIND_COND)
		return;
	for (struct lc__thread *t = reg_head; t; t = t->wd_next) {
		uint32_t n = t->nheld;

		if (t == s->t || n > t->cap)
			continue;
		for (uint32_t i = 0; i < n; i++)
			if (t->held[i].lk == s->lk) {
				s->owner = t->tid;
				s->owner_at = t->held[i].at;
				return;
			}
	}
}

/* Links each wait to a blocked holder of what it wants. */
static void link_owners(struct stuck *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		s[i].owner_index = -1;
		for (uint32_t j = 0; j < n; j++)
			if (s[i].owner && s[j].tid == s[i].owner)
				s[i].owner_index = (int)j;
	}
}

/* Under reg_lock: the stuck set into s[]; returns its size. The set: the
 * threads blocked for the period or longer, and the blocked holders of
 * what they want, however long those have waited (a deadlock's threads
 * block nearly at once: one set, one report). */
static uint32_t collect(struct stuck *s)
{
	static struct stuck all[MAX_STUCK]; /* only the watchdog thread */
	bool keep[MAX_STUCK] = { false };
	uint64_t now = lc__now_ns();
	uint32_t n = 0, kept = 0;

	for (struct lc__thread *t = reg_head; t && n < MAX_STUCK;
	     t = t->wd_next)
		if (copy_blocked(t, &all[n]))
			n++;
	for (uint32_t i = 0; i < n; i++) {
		find_owner(&all[i]);
		keep[i] = now - all[i].since >= lc__cfg.watchdog_ns;
	}
	link_owners(all, n);
	for (uint32_t round = 0; round < n; round++)
		for (uint32_t i = 0; i < n; i++)
			if (keep[i] && all[i].owner_index >= 0)
				keep[all[i].owner_index] = true;
	for (uint32_t i = 0; i < n; i++)
		if (keep[i]) {
			s[kept] = all[i];
			name_of(s[kept].t, s[kept].name, sizeof(s[kept].name));
			kept++;
		}
	link_owners(s, kept);
	return kept;
}

/* The first thread of a cycle of owned waits, or -1: following owners
 * from i comes back to a thread already on the path. */
static int cycle_from(const struct stuck *s, uint32_t n, uint32_t i)
{
	int at = (int)i;

	for (uint32_t steps = 0; steps <= n; steps++) {
		at = s[at].owner_index;
		if (at < 0)
			return -1;
	}
	return at; /* n + 1 steps among n threads: inside a cycle */
}

static uint64_t signature(const struct stuck *s, uint32_t n)
{
	uint64_t sig = 0x77a7c4d06ULL;

	for (uint32_t i = 0; i < n; i++)
		sig += lc__mix64(((uint64_t)(uint32_t)s[i].tid << 32) ^
				 s[i].since);
	return sig;
}

static void print_wanted(struct lc__buf *b, const struct lc__lock *lk)
{
	const struct lc__class *c = atomic_load(&lk->cls);

	if (!c) {
		lc__buf_add(b, "(unclassed lock)");
	} else if (c->kind == LC__KIND_COND) {
		lc__print_class(b, c);
	} else { /* `name` [file:line] */
		lc__buf_put_quoted(b, c->name);
		lc__buf_add(b, " [");
		lc__buf_put_text(b, c->file);
		if (c->line)
			lc__buf_add(b, ":%d", c->line);
		lc__buf_putc(b, ']');
	}
}

/* A condvar's last signaller, if it was ever signalled (with the
 * watchdog on). */
static void print_signaller(struct lc__buf *b, const struct lc__lock *lk)
{
	const lc_cond_t *c =
		(const lc_cond_t *)((const char *)lk - offsetof(lc_cond_t, lk));
	int tid = atomic_load(&c->last_tid);

	if (!tid) {
		lc__buf_add(b, "    no signal of it recorded (signals are "
			       "recorded once the checker is on)\n");
		return;
	}
	struct lc__site at = { c->last_file, c->last_line, c->last_func };

	lc__buf_add(b, "    last signalled at ");
	lc__print_site(b, &at);
	lc__buf_add(b, " by thread tid %d\n", tid);
}

static void print_stuck(struct lc__buf *b, const struct stuck *s,
			const struct stuck *all, uint64_t now)
{
	lc__buf_add(b, "  thread \"");
	lc__buf_put_text(b, s->name);
	lc__buf_add(b, "\" (tid %d) waits for ", s->tid);
	print_wanted(b, s->lk);
	lc__buf_add(b, "%s at ",
		    s->lk->kind == LC__KIND_RWLOCK && s->mode == LC__READ
			    ? " (read)"
			    : "");
	lc__print_site(b, &s->at);
	lc__buf_add(b, ", blocked %.1f s\n", (double)(now - s->since) / 1e9);
	for (uint32_t i = 0; i < s->nheld; i++) {
		lc__buf_add(b, "    holds ");
		print_wanted(b, s->held[i].lk);
		lc__buf_add(b, ", taken at ");
		lc__print_site(b, &s->held[i].at);
		lc__buf_add(b, "\n");
	}
	if (!s->nheld)
		lc__buf_add(b, "    holds nothing\n");
	if (s->lk->kind == LC__KIND_COND) {
		print_signaller(b, s->lk);
		return;
	}
	if (!s->owner) {
		lc__buf_add(b, "    no thread holds it now\n");
		return;
	}
	lc__buf_add(b, "    it is held by ");
	if (s->owner_index >= 0) {
		lc__buf_add(b, "thread \"");
		lc__buf_put_text(b, all[s->owner_index].name);
		lc__buf_add(b, "\" ");
	}
	lc__buf_add(b, "(tid %d), taken at ", s->owner);
	lc__print_site(b, &s->owner_at);
	lc__buf_add(b, s->owner_index >= 0 ? "; that thread is blocked too\n"
					   : "; that thread is running\n");
}

/* A cycle finding of this process over every class in want[0..n). */
struct prediction {
	const uint32_t *want;
	uint32_t n;
	enum lc__finding kind;
	const char *summary; /* the first that matches, or NULL */
};

static void match_prediction(enum lc__finding kind, const char *summary,
			     const uint32_t *classes, uint32_t n, void *arg)
{
	struct prediction *p = arg;
	uint32_t found = 0;

	if (p->summary || (kind != LC__FINDING_LOCK_ORDER_CYCLE &&
			   kind != LC__FINDING_WAIT_CYCLE))
		return;
	for (uint32_t i = 0; i < p->n; i++)
		for (uint32_t j = 0; j < n; j++)
			if (classes[j] == p->want[i]) {
				found++;
				break;
			}
	if (found == p->n) {
		p->kind = kind;
		p->summary = summary;
	}
}

/* Under lc__slow: says which earlier report predicted the deadlock of the
 * cycle through s[cyc], if one did. */
static void say_predicted(struct lc__buf *b, const struct stuck *s, int cyc)
{
	uint32_t want[MAX_STUCK], n = 0;
	struct prediction p = { want, 0, LC__FINDING_LOCK_ORDER_CYCLE, NULL };
	int at = cyc;

	do {
		const struct lc__class *c = atomic_load(&s[at].lk->cls);

		if (c && n < MAX_STUCK)
			want[n++] = c->id;
		at = s[at].owner_index;
	} while (at != cyc);
	p.n = n;
	lc__findings_each(match_prediction, &p);
	if (p.summary)
		lc__buf_add(b, "  predicted earlier by this process: %s: %s\n",
			    lc__finding_name(p.kind), p.summary);
}

static void report(const struct stuck *s, uint32_t n)
{
	int cyc = -1;
	uint32_t owned = 0, classes[MAX_STUCK], ncls = 0;
	uint64_t now = lc__now_ns();
	double secs = (double)lc__cfg.watchdog_ns / 1e9;
	struct lc__buf b;

	for (uint32_t i = 0; i < n && cyc < 0; i++)
		cyc = cycle_from(s, n, i);
	for (uint32_t i = 0; i < n; i++)
		owned += s[i].owner != 0;
	lc__buf_init(&b);
	if (cyc >= 0) {
		uint32_t len = 0;
		int at = cyc;

		do {
			len++;
			at = s[at].owner_index;
		} while (at != cyc);
		lc__buf_add(&b,
			    "deadlock: %u threads each wait for a lock "
			    "another of them holds (blocked over %.0f s)\n",
			    len, secs);
	} else {
		lc__buf_add(&b, "stall: %u thread%s blocked over %.0f s%s\n", n,
			    n == 1 ? "" : "s", secs,
			    owned ? "" : "; no thread holds anything it needs");
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct lc__class *c = atomic_load(&s[i].lk->cls);

		print_stuck(&b, &s[i], s, now);
		if (c && ncls < MAX_STUCK)
			classes[ncls++] = c->id;
	}
	if (cyc >= 0)
		say_predicted(&b, s, cyc);
	lc__report(LC__FINDING_WAIT_TIMEOUT, &b, classes, ncls);
	lc__buf_free(&b);
}

/* Labels each stuck thread with the lowest index of its part of the
 * wait-for graph (threads linked by "waits for a lock that one holds"). */
static void label_parts(const struct stuck *s, uint32_t n, uint32_t *label)
{
	for (uint32_t i = 0; i < n; i++)
		label[i] = i;
	for (uint32_t round = 0; round < n; round++)
		for (uint32_t i = 0; i < n; i++) {
			int j = s[i].owner_index;
			uint32_t low;

			if (j < 0)
				continue;
			low = label[i] < label[j] ? label[i] : label[j];
			label[i] = label[j] = low;
		}
}

static bool has_sig(const uint64_t *sigs, uint32_t n, uint64_t sig)
{
	for (uint32_t i = 0; i < n; i++)
		if (sigs[i] == sig)
			return true;
	return false;
}

/* One look. Each part of the wait-for graph is a stuck set of its own,
 * reported when two looks in a row see it: threads that hang together
 * block nearly at once, but one of them may still be on its way (printing
 * the report that predicted the hang). */
static void look(void)
{
	static struct stuck s[MAX_STUCK], part[MAX_STUCK]; /* this thread's */
	static uint64_t seen[MAX_STUCK];		   /* the last look's */
	static uint32_t nseen;
	uint64_t now[MAX_STUCK];
	uint32_t label[MAX_STUCK], n, nnow = 0;

	pthread_mutex_lock(&reg_lock);
	n = collect(s);
	pthread_mutex_unlock(&reg_lock);
	label_parts(s, n, label);
	for (uint32_t root = 0; root < n; root++) {
		uint32_t k = 0;

		if (label[root] != root)
			continue;
		for (uint32_t i = 0; i < n; i++)
			if (label[i] == root)
				part[k++] = s[i];
		link_owners(part, k);
		now[nnow] = signature(part, k);
		if (has_sig(seen, nseen, now[nnow])) {
			lc__slow_lock();
			if (lc__finding_is_new(LC__FINDING_WAIT_TIMEOUT,
					       now[nnow]))
				report(part, k);
			lc__slow_unlock();
		}
		nnow++;
	}
	memcpy(seen, now, nnow * sizeof(now[0]));
	nseen = nnow;
}

static void *watch(void *arg)
{
	struct timespec quarter = {
		(time_t)(lc__cfg.watchdog_ns / 4 / 1000000000u),
		(long)(lc__cfg.watchdog_ns / 4 % 1000000000u)
	};

	(void)arg;
	for (;;) {
		nanosleep(&quarter, NULL);
		look();
	}
	return NULL;
}

/* The forked child has no watchdog: the next wait starts one. */
static void before_fork(void)
{
	pthread_mutex_lock(&reg_lock);
}

static void after_fork_parent(void)
{
	pthread_mutex_unlock(&reg_lock);
}

static void after_fork_child(void)
{
	struct lc__thread *self = lc__owned;

	reg_head = NULL;
	if (self) {
		self->wd_next = NULL;
		reg_head = self;
	}
	atomic_store(&started, false);
	pthread_mutex_unlock(&reg_lock);
}

static void start(void)
{
	static atomic_bool hooked;
	sigset_t all, old;
	pthread_t th;
	int err;

	if (atomic_exchange(&started, true))
		return;
	if (!atomic_exchange(&hooked, true))
		pthread_atfork(before_fork, after_fork_parent,
			       after_fork_child);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* the watchdog takes none */
	err = __real_pthread_create
		      ? __real_pthread_create(&th, NULL, watch, NULL)
		      : pthread_create(&th, NULL, watch, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		lc__slow_lock();
		lc__report_limit("watchdog", "the watchdog thread could not "
					     "be started; hangs go "
					     "unexplained");
		lc__slow_unlock();
		return;
	}
	pthread_detach(th);
	pthread_setname_np(th, "lc-watchdog");
}

void lc__blocked_begin(struct lc__thread *t, struct lc__lock *lk,
		       const struct lc__site *at, uint8_t mode, uint64_t now)
{
	if (!atomic_load_explicit(&started, memory_order_relaxed))
		start();
	t->blocked.lk = lk;
	t->blocked.at = *at;
	t->blocked.mode = mode;
	atomic_store_explicit(&t->blocked.since_ns, now ? now : 1,
			      memory_order_release);
}
