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
 * whose pidfd is readable, publish all of them in one critical section,
 * then look at the stop request.
 *
 * Invariants:
 * - every tracked, unreaped child is either on the pending list or in
 *   exactly one slot, never both;
 * - a pidfd is reaped once: after waitid consumed it the slot is dropped
 *   in the same pass;
 * - when memory for slots runs out, the children that did not fit stay
 *   pending and the poll gets a timeout (RETRY_MS), the only timed wait;
 *   nothing is lost, exits are only seen later.
 */
#define _GNU_SOURCE
#include "reaper_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define RETRY_MS 50 /* poll timeout while adoption waits for memory */

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
	lc_mutex_lock(&r->lock);
	last->next = r->pending;
	r->pending = list;
	lc_mutex_unlock(&r->lock);
}

static struct ds_reaper_exit *take_pending(struct ds_reaper *r)
{
	struct ds_reaper_exit *list;

	lc_mutex_lock(&r->lock);
	list = r->pending;
	r->pending = NULL;
	lc_mutex_unlock(&r->lock);
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
	r->nfd--;
	r->pfd[i] = r->pfd[r->nfd];
	r->kid[i] = r->kid[r->nfd];
}

/* Reaps every child whose pidfd polled readable; publishes them at once.
 * Walks down so that drop_slot only moves slots already looked at. */
static void reap_ready(struct ds_reaper *r)
{
	struct ds_reaper_exit *done = NULL;

	for (size_t i = r->nfd; i-- > 1;) {
		struct ds__child *c = r->kid[i];

		if (!r->pfd[i].revents || ds__reap(c->pidfd, &c->rec) == EAGAIN)
			continue;
		close(c->pidfd);
		c->pidfd = -1;
		drop_slot(r, i);
		c->rec.next = done;
		done = &c->rec;
	}
	if (done)
		ds__reaper_publish(r, done);
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

	lc_mutex_lock(&r->lock);
	stopping = r->stopping;
	sig = r->stop_sig;
	idle = r->pending == NULL;
	lc_mutex_unlock(&r->lock);
	if (!stopping || sig == 0)
		return stopping;
	if (!r->kill_sig) {
		r->kill_sig = sig;
		for (size_t i = 1; i < r->nfd; i++)
			ds__send_signal(r->kid[i]->pidfd, sig);
	}
	return idle && r->nfd == 1;
}

/* Returns true when the thread should end. */
static bool one_pass(struct ds_reaper *r)
{
	adopt_pending(r);
	if (poll(r->pfd, r->nfd, r->retry ? RETRY_MS : -1) < 0) {
		if (errno != EINTR)
			r->retry = true; /* ENOMEM: try again shortly */
		return false;
	}
	if (r->pfd[0].revents)
		clear_wake(r);
	reap_ready(r);
	return stop_reached(r);
}

/* A child still watched at the end: recorded if it has ended by now,
 * otherwise forgotten (left running). Its pidfd is closed either way. */
static void sort_out(struct ds__child *c, struct ds_reaper_exit **ended,
		     struct ds_reaper_exit **left)
{
	struct ds_reaper_exit **to = ended;

	if (ds__reap(c->pidfd, &c->rec) == EAGAIN)
		to = left;
	close(c->pidfd);
	c->pidfd = -1;
	c->rec.next = *to;
	*to = &c->rec;
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
		ds__reaper_publish(r, ended);
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
