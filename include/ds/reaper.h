/*
 * reaper.h: start child processes and learn, exactly once each, how they
 * ended.
 *
 * Model. A ds_reaper owns one thread. It holds a pidfd (pidfd_open) for
 * every child it watches and waits for them all with poll(2), together with
 * an eventfd that wakes it when a child is added or a stop is asked for.
 * When pidfds turn readable it reaps every ended child of that wake-up with
 * waitid(P_PIDFD) (rusage included) and moves its record into the exit
 * table in the same critical section. A collector takes records out of the
 * table in one of three ways: ds_reaper_drain swaps the whole table for an
 * empty one and hands the old one over (O(1) under the lock),
 * ds_reaper_wait blocks for one pid with a timeout, ds_reaper_lookup peeks
 * at one pid. Only drain removes records: every child started or watched
 * appears in exactly one drain, whether it ended before or after its
 * spawner returned.
 *
 * Only what is ours. The reaper never calls waitpid(-1): it waits for the
 * pidfds it opened and for nothing else, so other code of the process may
 * keep its own children. The reverse does not hold: code that waits for
 * "any child" (waitpid(-1), wait(), a SIGCHLD handler that reaps) steals the
 * exit status of our children, and a SIGCHLD disposition of SIG_IGN (or the
 * SA_NOCLDWAIT flag) makes the kernel discard it. The reaper still sees such
 * a child end and records it exactly once, as DS_REAPER_LOST. See
 * docs/reaper.md.
 *
 * Pids. While a child is watched its pid cannot be reused (we hold it as an
 * unreaped child). The reaper takes it off the running children in the
 * same step as it reaps it, so a new child that gets the freed pid is
 * watched like any other; a record keeps the pid until drained. If a new
 * child gets the same pid before the old record is drained, lookup and
 * wait answer for the newest child, and both records still come out of
 * drain. The same holds when other code took the old child's status: the
 * new child replaces it, and the old one is recorded as lost.
 *
 * Needs Linux 5.4 or later (pidfd_open, waitid(P_PIDFD)).
 *
 * Thread safety: every function may be called from any thread, at the same
 * time, except ds_reaper_destroy. No user callback exists; the reaper
 * thread blocks every signal, so host signal handlers run on host threads.
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
#ifndef DS_REAPER_H
#define DS_REAPER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_reaper ds_reaper_t;

/* How a child ended (ds_reaper_exit.how). */
enum ds_reaper_how {
	DS_REAPER_EXITED = 1, /* it called exit: code is its status, 0-255 */
	DS_REAPER_KILLED = 2, /* a signal ended it: code is the signal */
	DS_REAPER_LOST = 3,   /* it ended, but its status was taken by other
				 code or discarded (SIGCHLD ignored): code is
				 -1, times and rss are 0 */
};

/* How one child ended. Records come out of ds_reaper_drain as a list. */
struct ds_reaper_exit {
	struct ds_reaper_exit *next; /* next record of a drained list */
	pid_t pid;		     /* the child */
	int how;		     /* enum ds_reaper_how */
	int code;		     /* exit status, signal number, or -1 */
	bool core_dumped;	     /* DS_REAPER_KILLED with a core dump */
	struct timeval utime;	     /* user CPU time */
	struct timeval stime;	     /* system CPU time */
	long maxrss_kb;		     /* peak resident set size, KiB */
	struct timespec started;     /* CLOCK_REALTIME: spawned or watched */
	struct timespec ended;	     /* CLOCK_REALTIME: reaped */
};

/*
 * Creates a reaper and starts its thread. On success *out owns it (free it
 * with ds_reaper_destroy). Returns 0; EINVAL for NULL out; ENOMEM; EMFILE or
 * ENFILE (no fd for the eventfd); EAGAIN (no thread, or its lock or
 * condition variable could not be initialised). *out is untouched on
 * failure, and nothing is left behind.
 */
int ds_reaper_create(struct ds_reaper **out);

/*
 * Stops the reaper (ds_reaper_stop(r, 0) when it still runs), then frees it
 * and every record not drained. NULL is fine. REQUIRES: no other call on r
 * is running or will start.
 */
void ds_reaper_destroy(struct ds_reaper *r);

/*
 * Starts argv[0] (looked up in PATH when it has no '/') with arguments argv
 * (NULL-terminated) and environment envp (NULL: this process's environ), and
 * watches it. The child inherits the caller's signal mask, ignored signals
 * and every fd not marked close-on-exec. On success *pid is the child's pid;
 * its record will appear in exactly one drain, even if it has already ended
 * (DS_REAPER_LOST when other code took its status before it was watched).
 * Returns 0, or with no child left behind: EINVAL (NULL or empty argv, NULL
 * pid), ENOENT/EACCES/ENOEXEC... (argv[0] cannot be executed: errno of the
 * exec, from posix_spawnp), ECANCELED (the reaper is stopping or stopped;
 * no record either), ENOMEM, EMFILE (no fd for its pidfd: the child is
 * killed and reaped by pid, unless other code has taken its status
 * already, when its pid may name another process), EAGAIN (no process).
 */
int ds_reaper_spawn(struct ds_reaper *r, const char *const argv[],
		    const char *const envp[], pid_t *pid);

/*
 * Watches a child the caller started itself (fork, posix_spawn, ...). From
 * now on the reaper reaps it: the caller must not wait for it. A child that
 * has already ended but was not reaped yet is recorded at once.
 * Returns 0; EINVAL (pid <= 0); ECHILD (not a child of this process, or
 * already reaped); ESRCH (no such process); EEXIST (this child is watched
 * already); ECANCELED (stopping or stopped); ENOMEM; EMFILE.
 */
int ds_reaper_watch(struct ds_reaper *r, pid_t pid);

/*
 * Copies pid's record into *out (out->next set to NULL) without removing
 * it. Returns 0; EAGAIN while the child runs; ECHILD when the reaper knows
 * no such child (never watched, already drained, or left at a stop);
 * EINVAL for NULL pointers.
 */
int ds_reaper_lookup(struct ds_reaper *r, pid_t pid,
		     struct ds_reaper_exit *out);

/*
 * Like ds_reaper_lookup, but while the child runs it waits for its record,
 * at most timeout_ms milliseconds (< 0: no limit; 0: do not wait). Returns
 * 0, ETIMEDOUT, ECHILD (also when a stop leaves the child while waiting),
 * EINVAL. The record stays in the table for drain. Timeouts are measured
 * on CLOCK_MONOTONIC: a wall-clock step does not move them.
 */
int ds_reaper_wait(struct ds_reaper *r, pid_t pid, int timeout_ms,
		   struct ds_reaper_exit *out);

/*
 * Takes every record in the table, in the order the children were reaped,
 * leaving it empty. The caller owns the list: walk it with ->next and free
 * it with ds_reaper_exits_free. Returns NULL when there is none; *count
 * (when count is not NULL) gets the number of records. Holds the lock for a
 * pointer swap only; never fails. Works on a stopped reaper too.
 */
struct ds_reaper_exit *ds_reaper_drain(struct ds_reaper *r, size_t *count);

/* Frees a list returned by ds_reaper_drain. NULL is fine. */
void ds_reaper_exits_free(struct ds_reaper_exit *list);

/* Number of children watched that have not been reaped yet. */
size_t ds_reaper_count_running(struct ds_reaper *r);

/* True from create until a stop is asked for (an atomic load, no lock). */
bool ds_reaper_is_running(const struct ds_reaper *r);

/*
 * Stops the reaper thread and joins it; spawn and watch fail with ECANCELED
 * from now on. The wake-up is immediate (an eventfd), not a polling loop,
 * also while poll on the children fails (more of them than RLIMIT_NOFILE).
 * Children still running:
 * - sig == 0: they are left running and forgotten (lookup and wait say
 *   ECHILD). Every child that had ended by the stop is reaped and recorded
 *   first; one that ends later is the caller's to wait for.
 * - sig > 0: each is sent sig, and the stop waits until all of them have
 *   ended and are recorded. A child that ignores sig holds the stop up:
 *   SIGKILL cannot be ignored.
 * Records stay drainable after the stop. Returns 0, EALREADY when a stop was
 * already asked for, EINVAL for NULL r or a bad signal number.
 */
int ds_reaper_stop(struct ds_reaper *r, int sig);

/*
 * Writes a one-line description of how the child ended into buf (at most
 * size bytes, NUL-terminated), e.g. "exited with status 3", "killed by
 * signal 9 (Killed)", "ended; status lost (reaped by other code)". Returns
 * buf.
 */
char *ds_reaper_describe(const struct ds_reaper_exit *e, char *buf,
			 size_t size);

#ifdef __cplusplus
}
#endif

#endif /* DS_REAPER_H */
