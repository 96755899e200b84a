/*
 * reaper.c: the exit table of ds_reaper and its API.
 *
 * Model: one lock guards two hashes keyed by pid, the children still
 * running and the index of exit records, plus the record list itself (in
 * reap order) and the pending list handed to the reaper thread
 * (reaper_thread.c). Process work (spawning, opening pidfds, waiting for
 * children to end) is done outside the lock; the lock covers pointer and
 * hash updates, plus the non-blocking waitid that reaps a child known to
 * have ended (ds__reaper_reap): the kernel frees a pid when it is reaped,
 * so the reap and the removal from running must be one step, or a new
 * child that gets the pid would find it still listed.
 *
 * Invariants, under the lock:
 * - a child is in at most one of: running (with in_running set), the
 *   record list; a pid is in running at most once;
 * - a child in running is unreaped by us: its pid is its own, unless other
 *   code took its status (waitpid(-1), SIGCHLD ignored), which the reaper
 *   cannot prevent; then a new child with that pid takes its place in
 *   running (ds__reaper_track), and the old one is recorded as lost later;
 * - every record is on the list exactly once until a drain takes the whole
 *   list; the index is a lookup aid only: a record it could not take
 *   (out of memory) is counted in `unindexed` and found by a list scan, and
 *   of several records with one pid only the newest is indexed;
 * - nrunning counts the running hash, nexited the list;
 * - after `stopping` is set nothing new is tracked.
 * Asserted where they change: a child is recorded once (`recorded`) and
 * out of running by then, nrunning matches the hash at every change, the
 * index holds at most nexited records, and a drained list has nexited
 * records.
 * Drain swaps the list and the index for empty ones and frees the old
 * index's buckets after unlocking: O(1) in the lock.
 *
 * Races: the fields the lock protects (running to stop_sig) are declared
 * guarded by it (lc_guard, at create; lc_unguard before the free), and
 * the accesses to the counts, the flags and the list heads are marked
 * (LC_READ/LC_WRITE), so a checked build checks them at every run. The
 * hash heads are changed inside uthash's macros, unmarked. Each child's
 * record and flags (rec to recorded) are declared guarded by the lock
 * too, from child_new to child_free (a declaration per spawn, in checked
 * builds only), and the accesses made under the lock are marked. Not
 * marked: a child's fields before it is published (child_new, the spawn,
 * ds__child_open, a lost child's record before record_lost takes the
 * lock), the reaper thread's own lists and pidfd reads
 * (reaper_thread.c). A drain undeclares the records it hands out: they
 * are the caller's alone.
 * Not declared:
 * running_flag (atomic, read without the lock on purpose by spawn, watch
 * and ds_reaper_is_running), wakefd and thread (fixed after create), and
 * the thread's own slots (reaper_internal.h). Built with
 * DS_WITHOUT_LOCK_REAPER (//ds:without_lock_reaper, for a test only), it
 * gains ds__reaper_count_running_without_lock, which reads without the
 * lock, and ds__reaper_lookup_without_lock, which copies a record after
 * unlocking: the checker must say so.
 */
#define _GNU_SOURCE
#include "reaper_internal.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define INITIAL_SLOTS 16 /* poll slots: the eventfd + 15 children */

extern char **environ;

/* ---- the table (everything under the lock) ---------------------------- */

void ds__reaper_wake(struct ds_reaper *r)
{
	uint64_t one = 1;

	/* EAGAIN only when the counter is full: it is readable anyway. */
	while (write(r->wakefd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void leave_running_locked(struct ds_reaper *r, struct ds__child *c)
{
	lc_assert_held(&r->lock);
	if (!LC_READ(c->in_running))
		return;
	HASH_DEL(r->running, c);
	LC_WRITE(c->in_running, false);
	LC_WRITE(r->nrunning, r->nrunning - 1);
	assert(HASH_COUNT(r->running) == r->nrunning);
}

/* 0 when c's pid may enter running, EEXIST when it is watched already. A
 * child listed under that pid whose status other code took no longer owns
 * the pid: it leaves running, and the thread still records it, as lost.
 * The peek at its pidfd is one WNOHANG waitid, on a collision only. */
static int claim_pid_locked(struct ds_reaper *r, struct ds__child *c)
{
	struct ds__child *dup;

	lc_assert_held(&r->lock);
	HASH_FIND(hh, r->running, &c->rec.pid, sizeof(pid_t), dup);
	if (!dup)
		return 0;
	if (!ds__child_stolen(LC_READ(dup->pidfd)))
		return EEXIST;
	leave_running_locked(r, dup);
	return 0;
}

/* Puts a freshly opened child into running and on the pending list. */
int ds__reaper_track(struct ds_reaper *r, struct ds__child *c)
{
	int err;

	DS__MUST(lc_mutex_lock(&r->lock));
	err = LC_READ(r->stopping) ? ECANCELED : claim_pid_locked(r, c);
	if (!err) {
		HASH_ADD(hh, r->running, rec.pid, sizeof(pid_t), c);
		err = c->hh.tbl ? 0 : ENOMEM;
	}
	if (!err) {
		assert(!c->in_running && !c->recorded);
		LC_WRITE(c->in_running, true);
		LC_WRITE(r->nrunning, r->nrunning + 1);
		assert(HASH_COUNT(r->running) == r->nrunning);
		LC_WRITE(c->rec.next, LC_READ(r->pending));
		LC_WRITE(r->pending, &c->rec);
	}
	DS__MUST(lc_mutex_unlock(&r->lock));
	if (!err)
		ds__reaper_wake(r);
	return err;
}

/* Appends c's record to the list and indexes it (newest of its pid). */
static void record_locked(struct ds_reaper *r, struct ds__child *c)
{
	struct ds_reaper_exit **last;
	struct ds__child *old;

	lc_assert_held(&r->lock);
	leave_running_locked(r, c);
	assert(!c->in_running && !c->recorded); /* exactly once */
	LC_WRITE(c->recorded, true);
	HASH_FIND(hh, r->exited, &c->rec.pid, sizeof(pid_t), old);
	if (old)
		HASH_DEL(r->exited, old);
	HASH_ADD(hh, r->exited, rec.pid, sizeof(pid_t), c);
	if (!c->hh.tbl)
		LC_WRITE(r->unindexed, r->unindexed + 1);
	LC_WRITE(c->rec.next, NULL);
	last = LC_READ(r->tail); /* r->first, or the last record's next */
	LC_WRITE(*last, &c->rec);
	LC_WRITE(r->tail, &c->rec.next);
	LC_WRITE(r->nexited, r->nexited + 1);
	assert(HASH_COUNT(r->exited) <= r->nexited);
}

/*
 * Reaps the children of list (linked by rec.next; the thread's, each known
 * to have ended) and records them, in the one critical section that also
 * takes them out of running: see the head comment. Each waitid is WNOHANG
 * on a child that has ended, so the lock is held for a few system calls.
 * Returns those that turned out to be still running, untouched.
 */
struct ds_reaper_exit *ds__reaper_reap(struct ds_reaper *r,
				       struct ds_reaper_exit *list)
{
	struct ds_reaper_exit *alive = NULL, *next;
	bool any = false;

	DS__MUST(lc_mutex_lock(&r->lock));
	for (; list; list = next) {
		struct ds__child *c = DS__CHILD_OF(list);

		next = LC_READ(list->next);
		lc_write(&c->rec, sizeof(c->rec)); /* the reap fills it */
		if (ds__reap(LC_READ(c->pidfd), &c->rec) == EAGAIN) {
			LC_WRITE(list->next, alive);
			alive = list;
			continue;
		}
		close(LC_READ(c->pidfd));
		LC_WRITE(c->pidfd, -1);
		record_locked(r, c); /* c may be drained once we unlock */
		any = true;
	}
	if (any)
		DS__MUST(lc_cond_broadcast(&r->changed));
	DS__MUST(lc_mutex_unlock(&r->lock));
	return alive;
}

/* Bytes of a type from field first to the end of field last. */
#define FIELDS_SIZE(type, first, last)                                         \
	(offsetof(type, last) + sizeof(((type *)0)->last) -                    \
	 offsetof(type, first))

/* Bytes from rec to the end of recorded: the child's state r->lock
 * guards. */
static size_t child_guarded_size(void)
{
	return FIELDS_SIZE(struct ds__child, rec, recorded);
}

/* The declaration goes before the memory does (a later allocation may
 * reuse it). Harmless where none was made. */
static void child_free(struct ds__child *c)
{
	lc_unguard(&c->rec, child_guarded_size());
	free(c);
}

/* Drops children left running at a stop from the table, then closes their
 * pidfds and frees them (out of the table, they are the thread's alone:
 * not marked). */
void ds__reaper_forget(struct ds_reaper *r, struct ds_reaper_exit *list)
{
	struct ds_reaper_exit *e, *next;

	DS__MUST(lc_mutex_lock(&r->lock));
	for (e = list; e; e = e->next)
		leave_running_locked(r, DS__CHILD_OF(e));
	DS__MUST(lc_cond_broadcast(&r->changed));
	DS__MUST(lc_mutex_unlock(&r->lock));
	for (e = list; e; e = next) {
		next = e->next;
		close(DS__CHILD_OF(e)->pidfd);
		child_free(DS__CHILD_OF(e));
	}
}

static struct ds__child *find_record_locked(struct ds_reaper *r, pid_t pid)
{
	struct ds__child *c;

	lc_assert_held(&r->lock);
	HASH_FIND(hh, r->exited, &pid, sizeof(pid_t), c);
	if (c || !LC_READ(r->unindexed))
		return c;
	for (struct ds_reaper_exit *e = LC_READ(r->first); e;
	     e = LC_READ(e->next))
		if (LC_READ(e->pid) == pid)
			c = DS__CHILD_OF(e); /* the last one is the newest */
	return c;
}

/* c's record, copied under the lock (its caller's). */
static void copy_record(const struct ds__child *c, struct ds_reaper_exit *out)
{
	lc_read(&c->rec, sizeof(c->rec));
	*out = c->rec;
	out->next = NULL;
}

/* 0 with *c the newest record of pid, EAGAIN while pid runs, ECHILD when
 * unknown. A running child wins over an older record of the same pid. */
static int find_child_locked(struct ds_reaper *r, pid_t pid,
			     struct ds__child **c)
{
	lc_assert_held(&r->lock);
	HASH_FIND(hh, r->running, &pid, sizeof(pid_t), *c);
	if (*c)
		return EAGAIN;
	*c = find_record_locked(r, pid);
	return *c ? 0 : ECHILD;
}

/* find_child_locked, with *out filled from the record. */
static int find_locked(struct ds_reaper *r, pid_t pid,
		       struct ds_reaper_exit *out)
{
	struct ds__child *c;
	int err = find_child_locked(r, pid, &c);

	if (!err)
		copy_record(c, out);
	return err;
}

/* ---- create, destroy, stop -------------------------------------------- */

/* Bytes from running to the end of stop_sig: the state r->lock guards. */
static size_t guarded_size(void)
{
	return FIELDS_SIZE(struct ds_reaper, running, stop_sig);
}

/* Everything create may have set up, in reverse; the thread is gone. */
static void release(struct ds_reaper *r)
{
	lc_unguard(&r->running, guarded_size());
	if (r->wakefd >= 0)
		close(r->wakefd);
	free(r->pfd);
	free(r->kid);
	DS__MUST(lc_cond_destroy(&r->changed));
	DS__MUST(lc_mutex_destroy(&r->lock));
	free(r);
}

/* The thread blocks every signal: host handlers run on host threads. */
static int start_thread(struct ds_reaper *r)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	atomic_store(&r->running_flag, true);
	err = pthread_create(&r->thread, NULL, ds__reaper_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		atomic_store(&r->running_flag, false);
	return err;
}

/* The eventfd and the first poll slots; 0 or an errno value. */
static int open_slots(struct ds_reaper *r)
{
	r->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wakefd < 0)
		return errno;
	r->pfd = malloc(INITIAL_SLOTS * sizeof(*r->pfd));
	r->kid = malloc(INITIAL_SLOTS * sizeof(*r->kid));
	if (!r->pfd || !r->kid)
		return ENOMEM;
	r->pfd[0] = (struct pollfd){ .fd = r->wakefd, .events = POLLIN };
	r->kid[0] = NULL;
	r->nfd = 1;
	r->cap = INITIAL_SLOTS;
	return 0;
}

static int init_sync(struct ds_reaper *r)
{
	int err = ds__init_result(lc_mutex_init(&r->lock, "ds_reaper.lock"));

	if (err)
		return err;
	err = ds__init_result(lc_cond_init_clock(&r->changed, CLOCK_MONOTONIC));
	if (err)
		DS__MUST(lc_mutex_destroy(&r->lock));
	return err;
}

int ds_reaper_create(struct ds_reaper **out)
{
	struct ds_reaper *r;
	int err;

	if (!out)
		return EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	r->wakefd = -1;
	r->tail = &r->first;
	err = init_sync(r);
	if (err) {
		free(r);
		return err;
	}
	/* Declared before the thread runs; a declaration that cannot be
	 * stored for want of memory leaves the state unchecked. */
	(void)lc_guard(&r->running, guarded_size(), &r->lock);
	err = open_slots(r);
	if (!err)
		err = start_thread(r);
	if (err) {
		release(r);
		return err;
	}
	*out = r;
	return 0;
}

int ds_reaper_stop(struct ds_reaper *r, int sig)
{
	if (!r || sig < 0 || sig > SIGRTMAX)
		return EINVAL;
	DS__MUST(lc_mutex_lock(&r->lock));
	if (LC_READ(r->stopping)) {
		DS__MUST(lc_mutex_unlock(&r->lock));
		return EALREADY;
	}
	LC_WRITE(r->stopping, true);
	LC_WRITE(r->stop_sig, sig);
	atomic_store(&r->running_flag, false);
	DS__MUST(lc_mutex_unlock(&r->lock));
	ds__reaper_wake(r);
	DS__MUST(pthread_join(r->thread, NULL));
	return 0;
}

void ds_reaper_destroy(struct ds_reaper *r)
{
	if (!r)
		return;
	ds_reaper_stop(r, 0); /* EALREADY when stopped: joined already */
	ds_reaper_exits_free(ds_reaper_drain(r, NULL));
	release(r);
}

bool ds_reaper_is_running(const struct ds_reaper *r)
{
	return r && atomic_load(&r->running_flag);
}

/* ---- starting and watching children ----------------------------------- */

/* A child record, declared guarded by r->lock (a declaration that cannot
 * be stored for want of memory leaves it unchecked). Until it is tracked
 * or recorded, only its maker touches it: those accesses are not marked. */
static struct ds__child *child_new(struct ds_reaper *r, pid_t pid)
{
	struct ds__child *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	(void)lc_guard(&c->rec, child_guarded_size(), &r->lock);
	c->pidfd = -1;
	c->rec.pid = pid;
	ds__now(&c->rec.started);
	return c;
}

/* A spawned child that was gone before it could be watched: recorded as
 * lost, unless a stop is under way (ECANCELED, as any spawn then; the
 * child is gone, so none is left behind). */
static int record_lost(struct ds_reaper *r, struct ds__child *c)
{
	int err = 0;

	ds__record_lost(&c->rec);
	DS__MUST(lc_mutex_lock(&r->lock));
	if (LC_READ(r->stopping)) {
		err = ECANCELED;
	} else {
		record_locked(r, c); /* c may be drained once we unlock */
		DS__MUST(lc_cond_broadcast(&r->changed));
	}
	DS__MUST(lc_mutex_unlock(&r->lock));
	if (err)
		child_free(c);
	return err;
}

/*
 * Watches a child spawn just started. Gone already (auto-reaped under an
 * ignored SIGCHLD, or reaped by other code): recorded as lost, and the
 * spawn still succeeded (record_lost). Any other failure kills and reaps
 * it, by pid when no pidfd could be opened (only while it is still ours).
 */
static int adopt_spawned(struct ds_reaper *r, struct ds__child *c)
{
	int err = ds__child_open(c->rec.pid, &c->pidfd);

	if (err == ESRCH || err == ECHILD)
		return record_lost(r, c);
	if (err) {
		ds__kill_and_reap_pid(c->rec.pid);
		child_free(c);
		return err;
	}
	err = ds__reaper_track(r, c);
	if (err) {
		ds__kill_and_reap_fd(c->pidfd);
		child_free(c);
	}
	return err;
}

int ds_reaper_spawn(struct ds_reaper *r, const char *const argv[],
		    const char *const envp[], pid_t *pid)
{
	char *const *env = envp ? (char *const *)envp : environ;
	struct ds__child *c;
	pid_t child;
	int err;

	if (!r || !argv || !argv[0] || !pid)
		return EINVAL;
	if (!ds_reaper_is_running(r))
		return ECANCELED;
	c = child_new(r, 0);
	if (!c)
		return ENOMEM;
	err = posix_spawnp(&c->rec.pid, argv[0], NULL, NULL,
			   (char *const *)argv, env);
	if (err) {
		child_free(c);
		return err;
	}
	child = c->rec.pid; /* c may be drained and freed once adopted */
	err = adopt_spawned(r, c);
	if (!err)
		*pid = child;
	return err;
}

int ds_reaper_watch(struct ds_reaper *r, pid_t pid)
{
	struct ds__child *c;
	int err;

	if (!r || pid <= 0)
		return EINVAL;
	if (!ds_reaper_is_running(r))
		return ECANCELED;
	c = child_new(r, pid);
	if (!c)
		return ENOMEM;
	err = ds__child_open(pid, &c->pidfd);
	if (!err)
		err = ds__reaper_track(r, c);
	if (err) {
		if (c->pidfd >= 0)
			close(c->pidfd);
		child_free(c);
	}
	return err;
}

/* ---- collecting -------------------------------------------------------- */

int ds_reaper_lookup(struct ds_reaper *r, pid_t pid, struct ds_reaper_exit *out)
{
	int err;

	if (!r || !out)
		return EINVAL;
	DS__MUST(lc_mutex_lock(&r->lock));
	err = find_locked(r, pid, out);
	DS__MUST(lc_mutex_unlock(&r->lock));
	return err;
}

/* On the monotonic clock, as r->changed's timed waits are. */
static void deadline_after(int ms, struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int ds_reaper_wait(struct ds_reaper *r, pid_t pid, int timeout_ms,
		   struct ds_reaper_exit *out)
{
	struct timespec deadline;
	int err, rc = 0;

	if (!r || !out)
		return EINVAL;
	if (timeout_ms > 0)
		deadline_after(timeout_ms, &deadline);
	DS__MUST(lc_mutex_lock(&r->lock));
	while ((err = find_locked(r, pid, out)) == EAGAIN && timeout_ms &&
	       rc != ETIMEDOUT) {
		if (timeout_ms < 0)
			DS__MUST(lc_cond_wait(&r->changed, &r->lock));
		else
			rc = ds__timed_wait_result(lc_cond_timedwait(
				&r->changed, &r->lock, &deadline));
	}
	DS__MUST(lc_mutex_unlock(&r->lock));
	return err == EAGAIN ? ETIMEDOUT : err;
}

/* Records in a drained list (for the assertion that it holds them all). */
static __attribute__((unused)) size_t
list_length(const struct ds_reaper_exit *list)
{
	size_t n = 0;

	for (; list; list = list->next)
		n++;
	return n;
}

struct ds_reaper_exit *ds_reaper_drain(struct ds_reaper *r, size_t *count)
{
	struct ds_reaper_exit *list = NULL;
	struct ds__child *index = NULL;
	size_t n = 0;

	if (r) {
		DS__MUST(lc_mutex_lock(&r->lock));
		list = LC_READ(r->first);
		index = LC_READ(r->exited);
		n = LC_READ(r->nexited);
		LC_WRITE(r->first, NULL);
		LC_WRITE(r->tail, &r->first);
		LC_WRITE(r->exited, NULL);
		LC_WRITE(r->nexited, 0);
		LC_WRITE(r->unindexed, 0);
		DS__MUST(lc_mutex_unlock(&r->lock));
	}
	HASH_CLEAR(hh, index); /* the buckets only; the records are list's */
	assert(list_length(list) == n);
	/* The records are the caller's now: accesses it marks are its own
	 * business, not our lock's. */
	for (struct ds_reaper_exit *e = list; LOCKCHECK && e; e = e->next)
		lc_unguard(e, child_guarded_size());
	if (count)
		*count = n;
	return list;
}

void ds_reaper_exits_free(struct ds_reaper_exit *list)
{
	struct ds_reaper_exit *next;

	for (; list; list = next) {
		next = list->next;
		free(DS__CHILD_OF(list)); /* undeclared by the drain */
	}
}

size_t ds_reaper_count_running(struct ds_reaper *r)
{
	size_t n;

	if (!r)
		return 0;
	DS__MUST(lc_mutex_lock(&r->lock));
	n = LC_READ(r->nrunning);
	DS__MUST(lc_mutex_unlock(&r->lock));
	return n;
}

#ifdef DS_WITHOUT_LOCK_REAPER
/* DELIBERATELY BROKEN, built only into ds/BUILD's :without_lock_reaper for
 * tests/reaper_race_test.c: the running count read without r->lock, the
 * race a LOCKCHECK=1 build must report. */
size_t ds__reaper_count_running_without_lock(struct ds_reaper *r);
size_t ds__reaper_count_running_without_lock(struct ds_reaper *r)
{
	return LC_READ(r->nrunning); /* no lock: the bug */
}

/* DELIBERATELY BROKEN, as above: ds_reaper_lookup with the record copied
 * after unlocking, a race on a child's declared fields. */
int ds__reaper_lookup_without_lock(struct ds_reaper *r, pid_t pid,
				   struct ds_reaper_exit *out);
int ds__reaper_lookup_without_lock(struct ds_reaper *r, pid_t pid,
				   struct ds_reaper_exit *out)
{
	struct ds__child *c;
	int err;

	DS__MUST(lc_mutex_lock(&r->lock));
	err = find_child_locked(r, pid, &c);
	DS__MUST(lc_mutex_unlock(&r->lock));
	if (!err)
		copy_record(c, out); /* no lock: the bug */
	return err;
}
#endif

char *ds_reaper_describe(const struct ds_reaper_exit *e, char *buf, size_t size)
{
	if (!buf || !size)
		return buf;
	if (!e)
		snprintf(buf, size, "no record");
	else if (e->how == DS_REAPER_EXITED)
		snprintf(buf, size, "exited with status %d", e->code);
	else if (e->how == DS_REAPER_KILLED)
		snprintf(buf, size, "killed by signal %d (%s)%s", e->code,
			 strsignal(e->code),
			 e->core_dumped ? ", core dumped" : "");
	else
		snprintf(buf, size,
			 "ended; status lost (reaped by other "
			 "code, or SIGCHLD ignored)");
	return buf;
}
