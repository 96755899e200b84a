/*
 * reaper_proc.c: the process system calls of ds_reaper.
 *
 * Everything goes through a pidfd once there is one: a pidfd names one
 * process for good, so a signal or a wait through it can never hit another
 * process that happens to get the same pid later. The one kill and wait by
 * pid left is for a child we spawned and could not open a pidfd for; it
 * acts only while that pid is still an unreaped child of ours (see
 * ds__kill_and_reap_pid).
 *
 * waitid is called as the raw system call: its fifth argument, a struct
 * rusage, is the child's resource usage, which glibc's wrapper drops.
 * Every call that can be interrupted by a host signal handler is retried
 * on EINTR.
 */
#define _GNU_SOURCE
#include "reaper_internal.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3 /* Linux 5.4; older libc headers lack the name */
#endif

void ds__now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

/* The raw waitid: -1 with errno, or 0 (si_pid 0 under WNOHANG: running). */
static int waitid_rusage(int pidfd, siginfo_t *si, int options,
			 struct rusage *ru)
{
	long rc;

	memset(si, 0, sizeof(*si));
	do
		rc = syscall(SYS_waitid, P_PIDFD, pidfd, si, options, ru);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -1 : 0;
}

/*
 * Opens a pidfd for pid and makes sure it is a child of ours that nobody
 * has reaped: WNOWAIT peeks without reaping. ESRCH: no such process;
 * ECHILD: not our child (or already reaped and the pid reused).
 */
int ds__child_open(pid_t pid, int *pidfd)
{
	siginfo_t si;
	int fd, err;

	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return errno;
	if (waitid_rusage(fd, &si, WEXITED | WNOHANG | WNOWAIT, NULL) < 0) {
		err = errno;
		close(fd);
		return err;
	}
	*pidfd = fd;
	return 0;
}

void ds__record_lost(struct ds_reaper_exit *rec)
{
	rec->how = DS_REAPER_LOST;
	rec->code = -1;
	ds__now(&rec->ended);
}

static void fill_record(struct ds_reaper_exit *rec, const siginfo_t *si,
			const struct rusage *ru)
{
	ds__now(&rec->ended);
	rec->how =
		si->si_code == CLD_EXITED ? DS_REAPER_EXITED : DS_REAPER_KILLED;
	rec->code = si->si_status;
	rec->core_dumped = si->si_code == CLD_DUMPED;
	rec->utime = ru->ru_utime;
	rec->stime = ru->ru_stime;
	rec->maxrss_kb = ru->ru_maxrss;
}

/*
 * Reaps the child behind pidfd if it has ended and fills *rec: returns 0
 * (rec filled; DS_REAPER_LOST when the status was taken by someone else),
 * or EAGAIN while it still runs (rec untouched). Never blocks.
 */
int ds__reap(int pidfd, struct ds_reaper_exit *rec)
{
	struct rusage ru;
	siginfo_t si;

	memset(&ru, 0, sizeof(ru));
	if (waitid_rusage(pidfd, &si, WEXITED | WNOHANG, &ru) < 0) {
		ds__record_lost(rec); /* ECHILD: reaped by other code */
		return 0;
	}
	if (si.si_pid == 0)
		return EAGAIN;
	fill_record(rec, &si, &ru);
	return 0;
}

/* A peek that reaps nothing: 0 with si (si_pid 0 while it runs), or -1
 * with errno (ECHILD once its status is gone). */
static int peek(int pidfd, siginfo_t *si)
{
	return waitid_rusage(pidfd, si, WEXITED | WNOHANG | WNOWAIT, NULL);
}

/* Whether the child behind pidfd has ended: a zombie, or reaped by other
 * code. Never blocks, reaps nothing. */
bool ds__child_ended(int pidfd)
{
	siginfo_t si;

	return peek(pidfd, &si) < 0 || si.si_pid != 0;
}

/* Whether other code has taken the status of the child behind pidfd (or the
 * kernel discarded it): its pid is then free and may name a new process. */
bool ds__child_stolen(int pidfd)
{
	siginfo_t si;

	return peek(pidfd, &si) < 0 && errno == ECHILD;
}

int ds__send_signal(int pidfd, int sig)
{
	return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? errno
								       : 0;
}

/* For a child that must not outlive a failed spawn: kill, reap, close. */
void ds__kill_and_reap_fd(int pidfd)
{
	siginfo_t si;

	ds__send_signal(pidfd, SIGKILL);
	waitid_rusage(pidfd, &si, WEXITED, NULL);
	close(pidfd);
}

/*
 * Same without a pidfd (none could be opened), so by pid: it acts only while
 * pid is still an unreaped child of ours (a WNOWAIT peek), whose pid cannot
 * have been reused. When other code has taken its status already (a
 * waitpid(-1)), the pid may name another process by now: it is left alone.
 * What remains: a stranger is hit only if, between the peek and the kill,
 * other code reaps the child and the kernel hands its pid out again (after
 * going round pid_max), or if the stranger is another child of ours.
 */
void ds__kill_and_reap_pid(pid_t pid)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return; /* ECHILD: not ours any more */
	if (si.si_pid == 0)
		kill(pid, SIGKILL); /* still running; a zombie needs no kill */
	while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR)
		;
}
