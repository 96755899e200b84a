/*
 * chan.c: a ring of fixed-size slots under one mutex, with two condvars.
 *
 * Model: one allocation holds the channel, its ring (cap * item_size
 * bytes) and a copy of its name. The ring's items are the `len` slots
 * from `head` on, wrapping at cap. Senders that find it full wait on
 * `room`; receivers that find it empty wait on `contents`. A push signals
 * `contents` and a pop signals `room`, once each and only when someone
 * waits (else the checker is told of the event all the same: a push or
 * pop holding a lock that a waiter holds is a wait-cycle whether or not
 * someone waits now); close broadcasts both. For the checker the two
 * condvars are the channel's wait nodes, classed by its create site and
 * named "channel `<name>` (room)" and "(contents)".
 *
 * Invariants (under ch->lock):
 * - 0 <= len <= cap, head < cap;
 * - sent - received == len;
 * - nothing is pushed once closed is set;
 * - senders_waiting / receivers_waiting count the threads inside a wait
 *   on room / contents (each decrements only after it took the lock back).
 * The first two are asserted at every push and pop (assert_ring_locked),
 * the third at every push, the last at destroy, where both counts are 0.
 * No user code runs in the channel, so nothing is called with its lock
 * held.
 *
 * Why one signal per item is enough: every waiter re-checks its condition
 * after any wake-up, a timed-out one included, before it gives up. So a
 * signal that lands on a waiter whose time just ran out is not lost: that
 * waiter finds the item (or the room) and takes it itself.
 *
 * The blocking points are wait_for_room_locked and
 * wait_for_contents_locked; the events that end them are push_locked,
 * pop_locked and ds_chan_close. Nothing else waits.
 */
#include "ds/chan.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deadline.h"
#include "lockcheck/lockcheck.h"
#include "must.h"

struct ds_chan {
	lc_mutex_t lock;
	lc_cond_t room;	    /* a slot freed, or the channel closed */
	lc_cond_t contents; /* an item arrived, or the channel closed */
	size_t cap;	    /* slots, >= 1, fixed */
	size_t item_size;   /* bytes per slot, >= 1, fixed */
	const char *name;   /* copy, stored after the ring */
	const char *file;   /* create site: the channel's class */
	int line;
	/* lock protects the following state. */
	size_t head;		  /* slot of the oldest item */
	size_t len;		  /* items queued */
	size_t senders_waiting;	  /* threads waiting on room */
	size_t receivers_waiting; /* threads waiting on contents */
	uint64_t sent;		  /* items ever pushed */
	uint64_t received;	  /* items ever popped */
	bool closed;
	unsigned char ring[]; /* cap * item_size bytes, then the name */
};

/* How long a send or receive may wait for its condition. */
struct wait {
	bool may_wait;			 /* false: a try_ call */
	const struct timespec *deadline; /* NULL: no limit */
};

static const struct wait forever = { true, NULL };
static const struct wait never = { false, NULL };

/* Bytes for the channel, its ring and a name of namelen bytes; false when
 * that does not fit in a ptrdiff_t (malloc could never give it). */
static bool chan_size(size_t cap, size_t item_size, size_t namelen,
		      size_t *size)
{
	size_t ring;

	if (cap > PTRDIFF_MAX / item_size)
		return false;
	ring = cap * item_size;
	if (ring > PTRDIFF_MAX - sizeof(struct ds_chan) - namelen - 1)
		return false;
	*size = sizeof(struct ds_chan) + ring + namelen + 1;
	return true;
}

/* How full the channel is, for the watchdog's report of a waiter (called
 * by the waiter, holding ch->lock, before it blocks). */
static size_t fill_locked(const void *obj, size_t *cap)
{
	const ds_chan_t *ch = obj;

	*cap = ch->cap;
	return ch->len;
}

/* One of the channel's wait nodes (role: "room" or "contents"). */
static int init_node(ds_chan_t *ch, lc_cond_t *c, const char *role)
{
	int err = ds__init_result(
		lc__cond_init_node(c, CLOCK_MONOTONIC, &ch->lock, "channel",
				   ch->name, role, ch->file, ch->line));

	if (!err)
		LC_COND_FILL(c, fill_locked, ch);
	return err;
}

/* The mutex and both condvars, or none of them (an error from init). */
static int init_sync(ds_chan_t *ch)
{
	int err = ds__init_result(lc_mutex_init(&ch->lock, "ds_chan.lock"));

	if (err)
		return err;
	err = init_node(ch, &ch->room, "room");
	if (err)
		goto no_room;
	err = init_node(ch, &ch->contents, "contents");
	if (err)
		goto no_contents;
	return 0;
no_contents:
	DS__MUST(lc_cond_destroy(&ch->room));
no_room:
	DS__MUST(lc_mutex_destroy(&ch->lock));
	return err;
}

/* Bytes from head to the ring's end: the state ch->lock guards. */
static size_t guarded_size(const ds_chan_t *ch)
{
	return (size_t)(ch->ring - (const unsigned char *)&ch->head) +
	       ch->cap * ch->item_size;
}

int ds__chan_create(ds_chan_t **out, size_t cap, size_t item_size,
		    const char *name, const char *file, int line)
{
	size_t namelen, size;
	ds_chan_t *ch;
	int err;

	if (!out || !name || cap == 0 || item_size == 0)
		return EINVAL;
	namelen = strlen(name);
	if (!chan_size(cap, item_size, namelen, &size))
		return ENOMEM;
	ch = calloc(1, size);
	if (!ch)
		return ENOMEM;
	ch->cap = cap;
	ch->item_size = item_size;
	ch->name = memcpy(ch->ring + cap * item_size, name, namelen + 1);
	ch->file = file;
	ch->line = line;
	err = init_sync(ch);
	if (err) {
		free(ch);
		return err;
	}
	/* The state after the lock, the ring included, is the lock's: the
	 * checked build checks it (a declaration that cannot be stored for
	 * want of memory leaves it unchecked). */
	(void)lc_guard(&ch->head, guarded_size(ch), &ch->lock);
	*out = ch;
	return 0;
}

/* The ring's indices in range and its counts consistent. */
static void assert_ring_locked(ds_chan_t *ch)
{
	lc_assert_held(&ch->lock);
	assert(ch->head < ch->cap && ch->len <= ch->cap);
	assert(ch->sent - ch->received == ch->len);
}

void ds_chan_destroy(ds_chan_t *ch)
{
	if (!ch)
		return;
	DS__MUST(lc_mutex_lock(&ch->lock));
	assert(ch->senders_waiting == 0 && ch->receivers_waiting == 0 &&
	       "ds_chan_destroy: threads are still blocked in the channel");
	assert_ring_locked(ch);
	DS__MUST(lc_mutex_unlock(&ch->lock));
	DS__MUST(lc_cond_destroy(&ch->contents));
	DS__MUST(lc_cond_destroy(&ch->room));
	DS__MUST(lc_mutex_destroy(&ch->lock));
	lc_unguard(ch, sizeof(*ch) + ch->cap * ch->item_size);
	free(ch);
}

static unsigned char *slot(ds_chan_t *ch, size_t i)
{
	return ch->ring + i * ch->item_size;
}

/* memcpy of item_size bytes. A pointer, an integer or a pair of them is
 * what most channels carry: with the size a constant, those copies are
 * plain moves, where a call to memcpy was a tenth of a message's cost
 * (bench/chan_bench.c solo row, counted with callgrind). */
static void copy_item(void *dst, const void *src, size_t size)
{
	switch (size) {
	case 4:
		memcpy(dst, src, 4);
		break;
	case 8:
		memcpy(dst, src, 8);
		break;
	case 16:
		memcpy(dst, src, 16);
		break;
	default:
		memcpy(dst, src, size);
	}
}

/* Waits on c (releasing lock meanwhile) until signalled or the deadline. */
static int wait_on(lc_cond_t *c, lc_mutex_t *lock,
		   const struct timespec *deadline) LC_REQUIRES(lock);
static int wait_on(lc_cond_t *c, lc_mutex_t *lock,
		   const struct timespec *deadline)
{
	if (deadline)
		return ds__timed_wait_result(
			lc_cond_timedwait(c, lock, deadline));
	DS__MUST(lc_cond_wait(c, lock));
	return 0;
}

/* The send's one blocking point: returns, lock held, 0 when a slot is
 * free, else why not: EPIPE (closed), EAGAIN (may not wait), ETIMEDOUT. */
static int wait_for_room_locked(ds_chan_t *ch, const struct wait *w)
	LC_REQUIRES(ch->lock);
static int wait_for_room_locked(ds_chan_t *ch, const struct wait *w)
{
	int err = 0;

	lc_assert_held(&ch->lock);
	while (!ch->closed && ch->len == ch->cap) {
		if (!w->may_wait)
			return EAGAIN;
		if (err)
			return err; /* timed out, and still full */
		ch->senders_waiting++;
		err = wait_on(&ch->room, &ch->lock, w->deadline);
		ch->senders_waiting--;
	}
	return ch->closed ? EPIPE : 0;
}

/* The receive's one blocking point: returns, lock held, 0 when an item is
 * queued, else EPIPE (closed and empty), EAGAIN or ETIMEDOUT. */
static int wait_for_contents_locked(ds_chan_t *ch, const struct wait *w)
	LC_REQUIRES(ch->lock);
static int wait_for_contents_locked(ds_chan_t *ch, const struct wait *w)
{
	int err = 0;

	lc_assert_held(&ch->lock);
	while (!ch->closed && ch->len == 0) {
		if (!w->may_wait)
			return EAGAIN;
		if (err)
			return err; /* timed out, and still empty */
		ch->receivers_waiting++;
		err = wait_on(&ch->contents, &ch->lock, w->deadline);
		ch->receivers_waiting--;
	}
	return ch->len ? 0 : EPIPE;
}

/* An item in: the event a waiting receiver waits for. */
static void push_locked(ds_chan_t *ch, const void *item)
{
	size_t tail = ch->head + ch->len;

	lc_assert_held(&ch->lock);
	assert(ch->len < ch->cap && !ch->closed);
	if (tail >= ch->cap)
		tail -= ch->cap;
	lc_write(slot(ch, tail), ch->item_size);
	copy_item(slot(ch, tail), item, ch->item_size);
	LC_WRITE(ch->len, ch->len + 1);
	ch->sent++;
	assert_ring_locked(ch);
	if (ch->receivers_waiting)
		DS__MUST(lc_cond_signal(&ch->contents));
	else
		LC_COND_EVENT(&ch->contents);
}

/* The oldest item out: the event a waiting sender waits for. */
static void pop_locked(ds_chan_t *ch, void *out)
{
	lc_assert_held(&ch->lock);
	assert(ch->len > 0);
	lc_read(slot(ch, ch->head), ch->item_size);
	copy_item(out, slot(ch, ch->head), ch->item_size);
	LC_WRITE(ch->head, ch->head + 1 == ch->cap ? 0 : ch->head + 1);
	LC_WRITE(ch->len, ch->len - 1);
	ch->received++;
	assert_ring_locked(ch);
	if (ch->senders_waiting)
		DS__MUST(lc_cond_signal(&ch->room));
	else
		LC_COND_EVENT(&ch->room);
}

static int send_item(ds_chan_t *ch, const void *item, const struct wait *w)
{
	int err;

	if (!ch || !item)
		return EINVAL;
	DS__MUST(lc_mutex_lock(&ch->lock));
	err = wait_for_room_locked(ch, w);
	if (!err)
		push_locked(ch, item);
	DS__MUST(lc_mutex_unlock(&ch->lock));
	return err;
}

static int recv_item(ds_chan_t *ch, void *out, const struct wait *w)
{
	int err;

	if (!ch || !out)
		return EINVAL;
	DS__MUST(lc_mutex_lock(&ch->lock));
	err = wait_for_contents_locked(ch, w);
	if (!err)
		pop_locked(ch, out);
	DS__MUST(lc_mutex_unlock(&ch->lock));
	return err;
}

int ds_chan_send(ds_chan_t *ch, const void *item)
{
	return send_item(ch, item, &forever);
}

int ds_chan_recv(ds_chan_t *ch, void *out)
{
	return recv_item(ch, out, &forever);
}

int ds_chan_try_send(ds_chan_t *ch, const void *item)
{
	return send_item(ch, item, &never);
}

int ds_chan_try_recv(ds_chan_t *ch, void *out)
{
	return recv_item(ch, out, &never);
}

int ds_chan_send_timeout(ds_chan_t *ch, const void *item, long ms)
{
	struct timespec deadline;
	struct wait w = { true, &deadline };
	int err = ds__deadline_after_ms(ms, &deadline);

	return err ? err : send_item(ch, item, &w);
}

int ds_chan_recv_timeout(ds_chan_t *ch, void *out, long ms)
{
	struct timespec deadline;
	struct wait w = { true, &deadline };
	int err = ds__deadline_after_ms(ms, &deadline);

	return err ? err : recv_item(ch, out, &w);
}

int ds_chan_close(ds_chan_t *ch)
{
	int err = 0;

	if (!ch)
		return EINVAL;
	DS__MUST(lc_mutex_lock(&ch->lock));
	if (ch->closed) {
		err = EPIPE;
	} else {
		ch->closed = true;
		DS__MUST(lc_cond_broadcast(&ch->room));
		DS__MUST(lc_cond_broadcast(&ch->contents));
	}
	DS__MUST(lc_mutex_unlock(&ch->lock));
	return err;
}

int ds_chan_stats(ds_chan_t *ch, struct ds_chan_stats *st)
{
	if (!ch || !st)
		return EINVAL;
	DS__MUST(lc_mutex_lock(&ch->lock));
	*st = (struct ds_chan_stats){
		.len = LC_READ(ch->len),
		.capacity = ch->cap,
		.item_size = ch->item_size,
		.senders_waiting = ch->senders_waiting,
		.receivers_waiting = ch->receivers_waiting,
		.sent = ch->sent,
		.received = ch->received,
		.closed = ch->closed,
	};
	assert_ring_locked(ch);
	DS__MUST(lc_mutex_unlock(&ch->lock));
	return 0;
}

#ifdef DS_WITHOUT_LOCK_CHAN
/* DELIBERATELY BROKEN, built only into ds/BUILD's :without_lock_chan for
 * tests/chan_race_test.c: the channel's length read without its lock, the
 * race a LOCKCHECK=1 build must report. */
size_t ds__chan_len_without_lock(ds_chan_t *ch);
size_t ds__chan_len_without_lock(ds_chan_t *ch)
{
	return LC_READ(ch->len); /* no lock: the bug */
}
#endif
