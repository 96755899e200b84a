/*
 * chan.h: a bounded channel of fixed-size items between threads.
 *
 * Model. A ds_chan is a FIFO ring of `capacity` slots of `item_size` bytes
 * each, allocated once at creation; no send or receive allocates. Items
 * are values: ds_chan_send copies item_size bytes in, ds_chan_recv copies
 * the oldest item out, and the channel keeps no pointer of the caller's.
 * To hand an object over, send its pointer as the item: the receiver owns
 * it from then on. Any number of threads may send and receive at once;
 * each item is received exactly once, and one sender's items are received
 * in the order it sent them.
 *
 * Waiting. A full channel makes ds_chan_send wait for room
 * (backpressure); an empty one makes ds_chan_recv wait for contents. The
 * try_ calls never wait (EAGAIN); the _timeout calls wait at most ms
 * milliseconds, measured on CLOCK_MONOTONIC so a wall-clock step cannot
 * shorten or stretch them (ETIMEDOUT; ms == 0 does not wait at all).
 *
 * Closing. ds_chan_close says "no more items": every later send fails with
 * EPIPE, senders blocked at that moment wake up with EPIPE (their items
 * are not queued), and receivers take what is still queued, then get
 * EPIPE. The usual shape: producers send, the last one done closes,
 * consumers loop until EPIPE.
 *
 * Locking. Each channel has one lc_mutex_t (lock class "ds_chan.lock") and
 * two condition variables, room and contents; a call holds the mutex only
 * while it copies one item or changes the state, and no user code ever
 * runs while it is held (there are no callbacks), so the channel's lock is
 * always the last one taken. A thread may call send or recv holding locks
 * of its own; but a send that waits while holding a lock the receivers
 * need is a deadlock that no lock order shows.
 *
 * Edge cases, decided:
 *   capacity 0      EINVAL: no rendezvous channel (a sender that waits for
 *                   a receiver to take its item is a different wait shape;
 *                   capacity 1 is the nearest thing);
 *   item_size 0     EINVAL: send a byte as a token;
 *   too large       capacity * item_size that overflows size_t: ENOMEM
 *                   (it could never be allocated);
 *   close twice     the second close returns EPIPE and changes nothing;
 *   destroy while   a usage error (use after free): debug builds abort on
 *   threads wait    an assert when threads are blocked in the channel.
 *
 * Errors. Every int-returning function returns 0 or a positive errno
 * value: EINVAL (a NULL pointer, a zero size, a negative timeout), ENOMEM
 * or EAGAIN (creation only), EAGAIN (a try_ call that would wait), ETIMEDOUT (a
 * _timeout call that ran out of time), EPIPE (closed). A failed call
 * changes nothing.
 *
 * Thread safety: every function may be called from any thread at any
 * time, except ds_chan_destroy, which needs every other call on the
 * channel to have returned. Do not cancel a thread (pthread_cancel) that
 * is inside a call: the channel's count of waiting threads would be
 * wrong from then on.
 *
 * Failures, the rule of every ds/ header: a call returns an errno value
 * for what correct use can meet (bad arguments, the states and misuses
 * listed with each function, running out of memory, threads or file
 * descriptors; creation also returns EAGAIN or ENOMEM when a lock or
 * condition variable cannot be initialised) and leaves the structure
 * consistent, unchanged unless its function says otherwise. A lock, unlock
 * or wait on the structure's own locks cannot fail in correct use: if one
 * does, that is a bug in ds/ or a broken REQUIRES, and assert() stops the
 * program; it is never returned.
 */
#ifndef DS_CHAN_H
#define DS_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_chan ds_chan_t;

/* A snapshot of a channel, for monitoring and tests. */
struct ds_chan_stats {
	size_t len;		  /* items queued now, <= capacity */
	size_t capacity;	  /* slots, fixed at creation */
	size_t item_size;	  /* bytes per item, fixed at creation */
	size_t senders_waiting;	  /* threads blocked in a send now */
	size_t receivers_waiting; /* threads blocked in a receive now */
	uint64_t sent;		  /* items ever queued */
	uint64_t received;	  /* items ever taken out */
	bool closed;		  /* ds_chan_close was called */
};

/*
 * Creates a channel of `capacity` items of `item_size` bytes each. `name`
 * names it in reports and is copied (the caller keeps its string). A
 * macro: the channel's create site (file and line) is its class for the
 * checker, the way an lc_mutex_init call site is a lock's.
 * On success *ch owns the channel (free it with ds_chan_destroy).
 * Returns 0; EINVAL when ch or name is NULL or a size is 0; ENOMEM when out
 * of memory or capacity * item_size overflows; EAGAIN (or ENOMEM) when its
 * lock or a condition variable cannot be initialised. *ch is untouched on
 * failure, and nothing is left behind.
 */
#define ds_chan_create(ch, capacity, item_size, name)                          \
	ds__chan_create((ch), (capacity), (item_size), (name), __FILE__,       \
			__LINE__)

/* Frees the channel and any items still queued (their bytes only: a
 * pointer sent as an item is the caller's to free first). NULL is fine.
 * REQUIRES: no other call on ch is running or will start; debug builds
 * assert that no thread is blocked in it. */
void ds_chan_destroy(ds_chan_t *ch);

/*
 * Copies item_size bytes from item into the channel, waiting while it is
 * full. Returns 0; EPIPE when the channel is closed (before or during the
 * wait: the item is not queued); EINVAL for NULL ch or item.
 */
int ds_chan_send(ds_chan_t *ch, const void *item);

/*
 * Takes the oldest item, copying item_size bytes to out, waiting while the
 * channel is empty. Returns 0; EPIPE when the channel is closed and empty
 * (nothing written to out); EINVAL for NULL ch or out.
 */
int ds_chan_recv(ds_chan_t *ch, void *out);

/* ds_chan_send without waiting: EAGAIN when the channel is full (and open),
 * otherwise as ds_chan_send. */
int ds_chan_try_send(ds_chan_t *ch, const void *item);

/* ds_chan_recv without waiting: EAGAIN when the channel is empty (and
 * open), otherwise as ds_chan_recv. */
int ds_chan_try_recv(ds_chan_t *ch, void *out);

/* ds_chan_send waiting at most ms milliseconds (CLOCK_MONOTONIC):
 * ETIMEDOUT when there was no room by then; EINVAL for ms < 0. */
int ds_chan_send_timeout(ds_chan_t *ch, const void *item, long ms);

/* ds_chan_recv waiting at most ms milliseconds (CLOCK_MONOTONIC):
 * ETIMEDOUT when no item came by then; EINVAL for ms < 0. */
int ds_chan_recv_timeout(ds_chan_t *ch, void *out, long ms);

/*
 * Closes the channel: later sends get EPIPE, blocked senders wake with
 * EPIPE, receivers drain what is queued and then get EPIPE (blocked
 * receivers wake). Returns 0; EPIPE when it was closed already; EINVAL for
 * NULL.
 */
int ds_chan_close(ds_chan_t *ch);

/* Fills *st with a consistent snapshot (taken under the channel's lock).
 * Returns 0, EINVAL for NULL pointers. */
int ds_chan_stats(ds_chan_t *ch, struct ds_chan_stats *st);

/* What ds_chan_create expands to; call it through the macro. */
int ds__chan_create(ds_chan_t **ch, size_t capacity, size_t item_size,
		    const char *name, const char *file, int line);

#ifdef __cplusplus
}
#endif

#endif /* DS_CHAN_H */
