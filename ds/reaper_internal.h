/*
 * reaper_internal.h: what the three parts of ds_reaper share.
 *
 * reaper.c        the table and the API (spawn, watch, lookup, wait, drain,
 *                 stop); everything under the lock lives there.
 * reaper_thread.c the reaper thread: poll, reap, publish, stop.
 * reaper_proc.c   the process system calls (pidfd, waitid with rusage,
 *                 signals), no lock, no table.
 *
 * A child's life: child_new (spawner) -> running hash + pending list
 * (ds__reaper_track) -> the thread's poll slots (adopted) -> reaped, out of
 * the running hash and into the exit index + record list, all in one
 * critical section (ds__reaper_reap) -> a drained list (the caller's) ->
 * freed by ds_reaper_exits_free. Or, at a stop with sig 0 while it still
 * runs: forgotten (ds__reaper_forget) and freed.
 *
 * Pidfds: a child's pidfd is open from before it is tracked until after it
 * has left the running hash; while it is in the hash, the pidfd may be used
 * under the lock (ds__reaper_track peeks at it).
 */
#ifndef DS_REAPER_INTERNAL_H
#define DS_REAPER_INTERNAL_H

#define HASH_NONFATAL_OOM 1 /* a failed add leaves hh.tbl NULL, no exit() */

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <uthash.h>

#include "ds/reaper.h"
#include "lockcheck/lockcheck.h"
#include "must.h"

/* One child from spawn or watch until its record is freed. rec to
 * recorded are declared guarded by the reaper's lock (reaper.c). */
struct ds__child {
	struct ds_reaper_exit rec; /* first: a record's address is its child's;
				      rec.next links the pending list, then
				      the record list */
	int pidfd;		   /* open while watched, -1 once reaped */
	bool in_running;	   /* hh is in the running hash */
	bool recorded;		   /* its record went on the list (once) */
	UT_hash_handle hh;	   /* running hash or exit index, key rec.pid */
};

#define DS__CHILD_OF(e)                                                        \
	((struct ds__child *)((char *)(e)-offsetof(struct ds__child, rec)))

struct ds_reaper {
	lc_mutex_t lock;
	lc_cond_t changed; /* broadcast when records arrive or children are
			      forgotten */
	/* lock protects the following state, declared guarded by it
	 * (reaper.c) from running to stop_sig. */
	struct ds__child *running;	/* hash by pid: watched, not reaped */
	size_t nrunning;		/* entries of running */
	struct ds_reaper_exit *pending; /* tracked, not yet adopted */
	struct ds__child *exited;	/* hash by pid: index of the records */
	struct ds_reaper_exit *first;	/* records, in reap order */
	struct ds_reaper_exit **tail;	/* &last->next, or &first */
	size_t nexited;			/* records in the list */
	size_t unindexed;		/* records the index failed to take */
	bool stopping;			/* a stop was asked for */
	int stop_sig;			/* its signal for running children */

	/* Set by create, then read-only (running_flag: atomic, read
	 * without the lock on purpose): not declared guarded. */
	int wakefd;		  /* eventfd: children pending, stop asked */
	pthread_t thread;	  /* the reaper thread */
	atomic_bool running_flag; /* true until a stop is asked for */

	/* The reaper thread's own: no other thread touches them after
	 * create, so no lock and no guard declared. Slot 0 is wakefd; slot
	 * i >= 1 is kid[i]. */
	struct pollfd *pfd;
	struct ds__child **kid;
	size_t nfd, cap; /* slots used, slots allocated */
	int kill_sig;	 /* stopping with this signal: send it to every
			    child adopted from now on */
	bool retry;	 /* adoption failed for memory: poll with a
			    timeout until it succeeds */
};

/* reaper.c: table operations, each one short critical section. */
int ds__reaper_track(struct ds_reaper *r, struct ds__child *c);
struct ds_reaper_exit *ds__reaper_reap(struct ds_reaper *r,
				       struct ds_reaper_exit *list);
void ds__reaper_forget(struct ds_reaper *r, struct ds_reaper_exit *list);
void ds__reaper_wake(struct ds_reaper *r);

/* reaper_thread.c */
void *ds__reaper_main(void *arg);

/* reaper_proc.c: 0 or an errno value; none blocks except where said. */
int ds__child_open(pid_t pid, int *pidfd);
int ds__reap(int pidfd, struct ds_reaper_exit *rec);
bool ds__child_ended(int pidfd);
bool ds__child_stolen(int pidfd);
int ds__send_signal(int pidfd, int sig);
void ds__kill_and_reap_fd(int pidfd);
void ds__kill_and_reap_pid(pid_t pid);
void ds__record_lost(struct ds_reaper_exit *rec);
void ds__now(struct timespec *ts);

#endif /* DS_REAPER_INTERNAL_H */
