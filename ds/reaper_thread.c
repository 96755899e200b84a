/*
 * reaper_thread.c: the one thread that waits for children and reaps them.
 *
 * Model: the thread owns an array of poll slots, slot 0 the eventfd and
 * one slot per watched child's pidfd. Spawners never touch the slots: they
 * put new children on the pending list (under the lock) and bump the
 * eventfd; the thread takes the whole list in one swap and adopts it into
 * slots. So the slots need no lock, and a child's pidfd is closed only by
 * the thread.
 *
 * One pass: adopt pending children, poll (no timeout), reap every child
 * whose pidfd is readable and record all of them in one critical section
 * (ds__reaper_reap: the reap and the removal from the running hash are one
 * step, so a freed pid is never still listed), then look at the stop
 * request, whatever the poll did.
 *
 * Invariants:
 * - every tracked, unreaped child is either on the pending list, in
 *   exactly one slot, or (during a reap) on the thread's ready list: never
 *   two of them;
 * - a pidfd is reaped once: a child whose waitid consumed it leaves the
 *   slots before the reap and never comes back;
 * - there are only two timed waits, both RETRY_MS, both where the normal
 *   wait cannot be had; nothing is lost, exits are only seen later:
 *   memory for slots runs out (the children that did not fit stay pending,
 *   the poll gets a timeout), or poll itself fails (EINVAL once there are
 *   more slots than RLIMIT_NOFILE, ENOMEM): then the thread waits on the
 *   eventfd alone, so a stop still wakes it at once, and afterwards peeks
 *   at every child for an exit.
 * The slot indices are asserted where slots are dropped and put back, and
 * the thread asserts it holds no lock before each poll: it blocks there.
 *
 * Races: a child's fields are declared guarded by the lock (reaper.c),
 * but the thread reads and links its own children without it, unmarked:
 * a list taken off pending (take_pending, under the lock) and the ready,
 * ended and left lists are the thread's alone, and a child's pidfd is
 * written only before the child is published and by this thread (in
 * ds__reaper_reap), so its reads here cannot race. The one link made
 * under the lock (requeue) is marked.
 */
#define _GNU_SOURCE
#include "reaper_internal.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define RETRY_MS 50 /* poll timeout while adoption or poll lacks means */

/* Appends c to the slots; false when the slots cannot grow. */
static bool add_slot(struct ds_reaper *r, struct ds__child *c)
{
	if (r->nfd == r->cap) {
		size_t cap = r->cap * 2;
		struct pollfd *pfd = realloc(r->pfd, cap * sizeof(*pfd));
		struct ds__child **kid;

		if (!pfd)
			return false;
		r->pfd = pfd; /* larger now; cap grows when kid does too */
		kid = realloc(r->kid, cap * sizeof(*kid));
		if (!kid)
			return false;
		r->kid = kid;
		r->cap = cap;
	}
	r->pfd[r->nfd] = (struct pollfd){ .fd = c->pidfd, .events = POLLIN };
	r->kid[r->nfd++] = c;
	if (r->kill_sig)
		ds__send_signal(c->pidfd, r->kill_sig);
	return true;
}

/* Puts a list back in front of the pending list (adoption ran short). */
static void requeue(struct ds_reaper *r, struct ds_reaper_exit *list)
{
	struct ds_reaper_exit *last = list;

	while (last->next)
		last = last->next;
	DS__MUST(lc_mutex_lock(&r->lock));
	LC_WRITE(last->next, LC_READ(r->pending));
	LC_WRITE(r->pending, list);
	DS__MUST(lc_mutex_unlock(&r->lock));
}

static struct ds_reaper_exit *take_pending(struct ds_reaper *r)
{
	struct ds_reaper_exit *list;

	DS__MUST(lc_mutex_lock(&r->lock));
	list = LC_READ(r->pending);
	LC_WRITE(r->pending, NULL);
	DS__MUST(lc_mutex_unlock(&r->lock));
	return list;
}

static void adopt_pending(struct ds_reaper *r)
{
	struct ds_reaper_exit *e = take_pending(r), *next;

	r->retry = false;
	for (; e; e = next) {
		next = e->next;
		if (!add_slot(r, DS__CHILD_OF(e))) {
			requeue(r, e);
			r->retry = true;
			return;
		}
	}
}

static void drop_slot(struct ds_reaper *r, size_t i)
{
	assert(i >= 1 && i < r->nfd); /* slot 0 is the eventfd's */
	r->nfd--;
	r->pfd[i] = r->pfd[r->nfd];
	r->kid[i] = r->kid[r->nfd];
}

/* Back into a slot after a reap found it running: the slot it left is
 * free, so this cannot fail, and kill_sig was sent to it already. */
static void put_back(struct ds_reaper *r, struct ds__child *c)
{
	assert(r->nfd < r->cap && c->pidfd >= 0 && !c->recorded);
	r->pfd[r->nfd] = (struct pollfd){ .fd = c->pidfd, .events = POLLIN };
	r->kid[r->nfd++] = c;
}

/* Adds c to *list (linked by rec.next). */
static void push(struct ds_reaper_exit **list, struct ds__child *c)
{
	c->rec.next = *list;
	*list = &c->rec;
}

/* Reaps and records every child whose slot is marked (revents) in one
 * critical section. Walks down so that drop_slot only moves slots already
 * looked at. */
static void reap_ready(struct ds_reaper *r)
{
	struct ds_reaper_exit *ready = NULL, *next;

	for (size_t i = r->nfd; i-- > 1;) {
		struct ds__child *c = r->kid[i];

		if (!r->pfd[i].revents)
			continue;
		drop_slot(r, i);
		push(&ready, c);
	}
	if (!ready)
		return;
	for (ready = ds__reaper_reap(r, ready); ready; ready = next) {
		next = ready->next;
		put_back(r, DS__CHILD_OF(ready));
	}
}

static void clear_wake(struct ds_reaper *r)
{
	uint64_t count;

	while (read(r->wakefd, &count, sizeof(count)) < 0 && errno == EINTR)
		;
}

/* Whether the thread may end. A stop with a signal sends it to every
 * child once (adopt_pending sends it to later ones) and waits for all. */
static bool stop_reached(struct ds_reaper *r)
{
	bool stopping, idle;
	int sig;

	DS__MUST(lc_mutex_lock(&r->lock));
	stopping = LC_READ(r->stopping);
	sig = LC_READ(r->stop_sig);
	idle = LC_READ(r->pending) == NULL;
	DS__MUST(lc_mutex_unlock(&r->lock));
	if (!stopping || sig == 0)
		return stopping;
	if (!r->kill_sig) {
		r->kill_sig = sig;
		for (size_t i = 1; i < r->nfd; i++)
			ds__send_signal(r->kid[i]->pidfd, sig);
	}
	return idle && r->nfd == 1;
}

static void clear_revents(struct ds_reaper *r)
{
	for (size_t i = 0; i < r->nfd; i++)
		r->pfd[i].revents = 0;
}

/*
 * poll on every slot failed (EINVAL: more slots than RLIMIT_NOFILE; ENOMEM)
 * and will likely fail again at once. Waits RETRY_MS on the eventfd alone
 * (nothing at all if even that fails), so a stop or a new child still
 * wakes the thread, then marks the children that have ended by now, as
 * their readable pidfds would have been.
 */
static void back_off(struct ds_reaper *r)
{
	clear_revents(r);
	if (poll(r->pfd, 1, RETRY_MS) < 0) {
		r->pfd[0].revents = POLLIN; /* nonblocking read: harmless */
		poll(NULL, 0, RETRY_MS);
	}
	for (size_t i = 1; i < r->nfd; i++)
		if (ds__child_ended(r->kid[i]->pidfd))
			r->pfd[i].revents = POLLIN;
}

/* Waits until a slot is ready (revents), RETRY_MS at most while adoption
 * waits for memory or when poll fails (back_off). */
static void wait_ready(struct ds_reaper *r)
{
	if (poll(r->pfd, r->nfd, r->retry ? RETRY_MS : -1) >= 0)
		return;
	if (errno == EINTR)
		clear_revents(r);
	else
		back_off(r);
}

/* Returns true when the thread should end. */
static bool one_pass(struct ds_reaper *r)
{
	adopt_pending(r);
	lc_assert_no_locks_held(); /* about to block in poll */
	wait_ready(r);
	if (r->pfd[0].revents)
		clear_wake(r);
	reap_ready(r);
	return stop_reached(r);
}

/* A child still watched at the end goes to ended (to be reaped) or left
 * (to be forgotten, still running). The peek keeps the reap's critical
 * section to the children that have ended. */
static void sort_out(struct ds__child *c, struct ds_reaper_exit **ended,
		     struct ds_reaper_exit **left)
{
	push(ds__child_ended(c->pidfd) ? ended : left, c);
}

static void finish(struct ds_reaper *r)
{
	struct ds_reaper_exit *e = take_pending(r), *next;
	struct ds_reaper_exit *ended = NULL, *left = NULL;

	for (; e; e = next) {
		next = e->next;
		sort_out(DS__CHILD_OF(e), &ended, &left);
	}
	for (size_t i = 1; i < r->nfd; i++)
		sort_out(r->kid[i], &ended, &left);
	r->nfd = 1;
	if (ended)
		ended = ds__reaper_reap(r, ended); /* now: any still running */
	for (; ended; ended = next) {
		next = ended->next;
		push(&left, DS__CHILD_OF(ended));
	}
	if (left)
		ds__reaper_forget(r, left);
}

void *ds__reaper_main(void *arg)
{
	struct ds_reaper *r = arg;

	lc_thread_set_name("ds_reaper");
	while (!one_pass(r))
		;
	finish(r);
	return NULL;
}
