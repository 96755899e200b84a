/*
 * reaper_test.c: ds_reaper with real child processes.
 *
 * The children are tests/testdata/reaper_child (a data dependency): it
 * exits with a status, dies of a signal, burns CPU, touches memory, or
 * blocks until the test closes a pipe (a "gate"), so every step is driven
 * by the test and nothing depends on timing.
 *
 * Some moments cannot be reached from outside: the instant the kernel has
 * reaped a child, a pidfd that cannot be opened. The reaper makes those
 * system calls through syscall(2), and this file defines syscall(), so a
 * test can arm a probe that sees the call and acts at that instant (see
 * "probes"). Pid reuse itself is forced in a pid namespace of the test's
 * own, where ns_last_pid chooses the next pid; where no namespace can be
 * had, those tests say so and pass.
 *
 * tcases: core (one child at a time: records, errors, lookup/wait/drain),
 * stop (what happens to children at a stop, prompt wake-up, waiters, a
 * failing poll), host (the host's SIGCHLD disposition: ignored, or a
 * handler that interrupts system calls; other code taking a status), pids
 * (a freed pid and its reuse), threads (concurrent spawners and a
 * collector: every child exactly once), lockcheck (a whole session, no
 * report).
 */
#define _GNU_SOURCE
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ds/reaper.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static const char *child_bin(void)
{
	static char path[4096];
	const char *p = lct_runfile("tests/reaper_child");

	ck_assert_msg(p != NULL, "tests/reaper_child not found in runfiles");
	snprintf(path, sizeof(path), "%s", p);
	return path;
}

static struct ds_reaper *make(void)
{
	struct ds_reaper *r = NULL;

	ck_assert_int_eq(ds_reaper_create(&r), 0);
	ck_assert_ptr_nonnull(r);
	ck_assert(ds_reaper_is_running(r));
	return r;
}

/* Starts bin with mode and n; for code in child processes too (no Check
 * assert). Returns ds_reaper_spawn's result. */
static int start(struct ds_reaper *r, const char *bin, const char *mode, long n,
		 pid_t *pid)
{
	char arg[32];
	const char *argv[] = { bin, mode, arg, NULL };

	snprintf(arg, sizeof(arg), "%ld", n);
	return ds_reaper_spawn(r, argv, NULL, pid);
}

static pid_t spawn(struct ds_reaper *r, const char *mode, long n)
{
	pid_t pid = -1;

	ck_assert_int_eq(start(r, child_bin(), mode, n, &pid), 0);
	ck_assert_int_gt(pid, 0);
	return pid;
}

static struct ds_reaper_exit wait_for(struct ds_reaper *r, pid_t pid)
{
	struct ds_reaper_exit e;

	ck_assert_int_eq(ds_reaper_wait(r, pid, -1, &e), 0);
	ck_assert_int_eq(e.pid, pid);
	ck_assert_ptr_null(e.next);
	return e;
}

/* A pipe whose read end children inherit: they block until it closes. */
struct gate {
	int rd, wr;
};

static bool gate_make(struct gate *g)
{
	int fd[2];

	if (pipe2(fd, O_CLOEXEC) || fcntl(fd[0], F_SETFD, 0))
		return false;
	g->rd = fd[0];
	g->wr = fd[1];
	return true;
}

static void gate_open(struct gate *g)
{
	ck_assert(gate_make(g));
}

static void gate_release(struct gate *g)
{
	close(g->wr);
	close(g->rd);
}

static pid_t spawn_gated(struct ds_reaper *r, const struct gate *g)
{
	return spawn(r, "wait-fd", g->rd);
}

/* True when this process has a child that ended and was not reaped. */
static bool have_zombie(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return false; /* ECHILD: no children at all */
	return si.si_pid != 0;
}

static size_t list_length(const struct ds_reaper_exit *e)
{
	size_t n = 0;

	for (; e; e = e->next)
		n++;
	return n;
}

/* For code that runs in a child process, where Check cannot report: says
 * which check failed and ends the child with status 1 (_exit: see
 * in_pid_namespace). */
#define CHILD_EXPECT(cond)                                                     \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "reaper_test.c:%d: failed: %s\n",      \
				__LINE__, #cond);                              \
			_exit(1);                                              \
		}                                                              \
	} while (0)

/* In a child process: a hang ends it with SIGALRM after seconds. (Check's
 * own SIGALRM handler, inherited, would kill the whole test instead.) */
static void hang_alarm(unsigned seconds)
{
	signal(SIGALRM, SIG_DFL);
	alarm(seconds);
}

/* Runs fn(bin) in a child process and expects it to exit 0. */
static void expect_child_ok(void (*fn)(void *), const char *what)
{
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(fn, (void *)child_bin(), NULL, &c), &c);
	if (!lct_exited_with(&c, 0))
		lct_child_dump(&c, what);
	LCT_ASSERT_EXITED(&c, 0);
	lct_child_free(&c);
}

/* ---- probes: the reaper's system calls, seen from the test ------------ */

/*
 * syscall() below is bound ahead of libc's for this whole binary. Every
 * call goes on to libc's unless a test armed a probe, which then sees the
 * call first and makes it (or stands in for it). The callers pass at most
 * five arguments after the number (waitid has the most), so five are
 * passed on.
 */
typedef long (*syscall_fn)(long nr, ...);
typedef long (*probe_fn)(long nr, const long *arg);

static syscall_fn libc_syscall;
static pthread_once_t libc_syscall_once = PTHREAD_ONCE_INIT;
static _Atomic probe_fn probe;

static void find_libc_syscall(void)
{
	libc_syscall = (syscall_fn)dlsym(RTLD_NEXT, "syscall");
}

static long real_syscall(long nr, const long *a)
{
	pthread_once(&libc_syscall_once, find_libc_syscall);
	return libc_syscall(nr, a[0], a[1], a[2], a[3], a[4]);
}

long syscall(long nr, ...)
{
	probe_fn p = atomic_load(&probe);
	long a[5];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 5; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return p ? p(nr, a) : real_syscall(nr, a);
}

/* The pid that a waitid (rc its result) reaped, or 0 (a peek, a failure,
 * another call). */
static pid_t reaped_pid(long nr, const long *a, long rc)
{
	const siginfo_t *si = (const siginfo_t *)a[2];

	if (nr != SYS_waitid || rc < 0 || (a[3] & WNOWAIT) || !si)
		return 0;
	return si->si_pid;
}

/*
 * An observer: when the reaper thread has just reaped one chosen child
 * (its pid is free from now on), a probe starts a thread that makes one
 * call into the reaper, and holds the reaper thread in the probe until
 * that call has returned or sleeps (state S in /proc/thread-self/stat:
 * waiting for the reaper's lock). Nothing is timed. If the reaper records
 * the child in the same critical section as the reap, the call waits for
 * the lock and then sees the record; if not, it runs in the gap.
 */
struct observer {
	struct ds_reaper *r;
	const char *bin;		  /* for a call that spawns */
	pid_t pid;			  /* the child whose reap fires */
	void (*call)(struct observer *o); /* runs on the observer */
	pthread_t thread;		  /* set before the probe returns */
	int statfd;			  /* the observer's stat file */
	atomic_bool fired, may_block, done;
	int err;		    /* what the call saw: a result, */
	pid_t got;		    /* a pid it spawned, */
	size_t running;		    /* ds_reaper_count_running, */
	struct ds_reaper_exit seen; /* a record */
};

static struct observer obs;
static _Thread_local bool on_observer;

static void *observe(void *arg)
{
	struct observer *o = arg;

	on_observer = true;
	o->statfd = open("/proc/thread-self/stat", O_RDONLY | O_CLOEXEC);
	o->call(o);
	atomic_store(&o->done, true);
	return NULL;
}

/* Whether the thread of this stat file sleeps (S, D); true when unknown,
 * so that the probe never waits for good. */
static bool asleep(int statfd)
{
	char buf[512];
	ssize_t n = statfd < 0 ? -1 : pread(statfd, buf, sizeof(buf) - 1, 0);
	const char *p;

	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return !p || p[1] == '\0' || p[2] == 'S' || p[2] == 'D';
}

static void hold_for_observer(void)
{
	if (pthread_create(&obs.thread, NULL, observe, &obs))
		abort(); /* on the reaper thread: no Check assert there */
	while (!atomic_load(&obs.done) &&
	       !(atomic_load(&obs.may_block) && asleep(obs.statfd)))
		sched_yield();
}

static long probe_reap(long nr, const long *a)
{
	long rc = real_syscall(nr, a);
	int saved = errno;

	if (on_observer && nr == SYS_waitid && (a[3] & WNOWAIT))
		atomic_store(&obs.may_block, true); /* spawn's last peek */
	if (reaped_pid(nr, a, rc) == obs.pid &&
	    !atomic_exchange(&obs.fired, true))
		hold_for_observer();
	errno = saved;
	return rc;
}

/* Watches for the reap of pid; call runs then, on the observer thread. */
static void observe_reap_of(struct ds_reaper *r, const char *bin, pid_t pid,
			    void (*call)(struct observer *o))
{
	obs.r = r;
	obs.bin = bin;
	obs.pid = pid;
	obs.call = call;
	obs.statfd = -1;
	atomic_store(&probe, probe_reap);
}

/* After the record of obs.pid is in: the observer has run. */
static bool observer_joined(void)
{
	atomic_store(&probe, NULL);
	if (!atomic_load(&obs.fired) || pthread_join(obs.thread, NULL))
		return false;
	if (obs.statfd >= 0)
		close(obs.statfd);
	return true;
}

/* ---- a pid namespace of the test's own -------------------------------- */

/* Exit status of a child that could not get a pid namespace here. */
#define NO_NAMESPACE 77

static bool write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text);
}

/* The next process or thread created in this pid namespace gets pid, if
 * it is free (ns_last_pid; needs privilege in the namespace's owner). */
static bool set_next_pid(pid_t pid)
{
	char text[24];

	snprintf(text, sizeof(text), "%d", (int)pid - 1);
	return write_text("/proc/sys/kernel/ns_last_pid", text);
}

/* A new pid namespace (with a user namespace when not privileged): the
 * next fork is its init. */
static bool unshare_pids(void)
{
	char map[32];
	unsigned uid = (unsigned)getuid(), gid = (unsigned)getgid();

	if (unshare(CLONE_NEWPID) == 0)
		return true;
	if (unshare(CLONE_NEWUSER | CLONE_NEWPID))
		return false;
	snprintf(map, sizeof(map), "0 %u 1", uid);
	if (!write_text("/proc/self/uid_map", map))
		return false;
	write_text("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "0 %u 1", gid);
	return write_text("/proc/self/gid_map", map);
}

static int status_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* pid 1: runs the scenario as pid 2, reaps whatever ends up with it, and
 * returns the scenario's exit status. Its parent's death kills it, and
 * with it the whole namespace. */
static int ns_init(int (*scenario)(const char *bin), const char *bin)
{
	int status, code = 1;
	pid_t first, w;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (!set_next_pid(2))
		return NO_NAMESPACE; /* e.g. a read-only /proc/sys */
	first = fork();
	if (first == 0) {
		hang_alarm(LCT_CHILD_ALARM / 3);
		_exit(scenario(bin));
	}
	while ((w = wait(&status)) > 0 || (w < 0 && errno == EINTR))
		if (w == first)
			code = status_code(status);
	return code;
}

/*
 * Runs scenario(bin) in a new pid namespace, from an lct child; the child
 * exits with its status, or NO_NAMESPACE. Every process here leaves with
 * _exit: LeakSanitizer's check at exit starts a tracer task and reads the
 * threads from /proc, which fails both in the namespace (/proc is the
 * outer one) and in this process (its new tasks would go into the
 * namespace, dead by then).
 */
static void in_pid_namespace(int (*scenario)(const char *bin), const char *bin)
{
	pid_t init;
	int status;

	if (!unshare_pids())
		_exit(NO_NAMESPACE);
	init = fork();
	if (init < 0)
		_exit(NO_NAMESPACE);
	if (init == 0)
		_exit(ns_init(scenario, bin));
	while (waitpid(init, &status, 0) < 0 && errno == EINTR)
		;
	_exit(status_code(status));
}

/* Like expect_child_ok for an lct child that calls in_pid_namespace;
 * passes with a note where there is no namespace to be had. */
static void expect_ok_in_namespace(void (*fn)(void *), const char *what)
{
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(fn, (void *)child_bin(), NULL, &c), &c);
	if (lct_exited_with(&c, NO_NAMESPACE))
		fprintf(stderr, "%s: skipped: no pid namespace here\n", what);
	else
		LCT_ASSERT_EXITED(&c, 0);
	lct_child_free(&c);
}

/* ---- core ------------------------------------------------------------- */

START_TEST(test_exit_status_is_recorded)
{
	struct ds_reaper *r = make();
	pid_t pid = spawn(r, "exit", 3);
	struct ds_reaper_exit e = wait_for(r, pid);

	ck_assert_int_eq(e.how, DS_REAPER_EXITED);
	ck_assert_int_eq(e.code, 3);
	ck_assert(!e.core_dumped);
	ck_assert(e.ended.tv_sec > e.started.tv_sec ||
		  (e.ended.tv_sec == e.started.tv_sec &&
		   e.ended.tv_nsec >= e.started.tv_nsec));
	ck_assert_int_eq(ds_reaper_stop(r, 0), 0);
	ds_reaper_destroy(r);
	ck_assert(!have_zombie());
}
END_TEST

START_TEST(test_terminating_signal_is_recorded)
{
	struct ds_reaper *r = make();
	pid_t killed = spawn(r, "signal", SIGKILL);
	pid_t termed = spawn(r, "signal", SIGTERM);
	struct ds_reaper_exit e = wait_for(r, killed);
	char text[128];

	ck_assert_int_eq(e.how, DS_REAPER_KILLED);
	ck_assert_int_eq(e.code, SIGKILL);
	ck_assert_str_eq(ds_reaper_describe(&e, text, sizeof(text)),
			 "killed by signal 9 (Killed)");
	e = wait_for(r, termed);
	ck_assert_int_eq(e.how, DS_REAPER_KILLED);
	ck_assert_int_eq(e.code, SIGTERM);
	ds_reaper_destroy(r);
}
END_TEST

START_TEST(test_rusage_is_recorded)
{
	struct ds_reaper *r = make();
	pid_t spinner = spawn(r, "spin", 60);
	pid_t hog = spawn(r, "rss", 48);
	struct ds_reaper_exit e = wait_for(r, spinner);
	long cpu_ms = (e.utime.tv_sec + e.stime.tv_sec) * 1000 +
		      (e.utime.tv_usec + e.stime.tv_usec) / 1000;

	ck_assert_int_eq(e.how, DS_REAPER_EXITED);
	ck_assert_int_eq(e.code, 0);
	ck_assert_int_ge(cpu_ms, 50);
	e = wait_for(r, hog);
	ck_assert_int_eq(e.code, 0);
	ck_assert_int_ge(e.maxrss_kb, 48 * 1024);
	ds_reaper_destroy(r);
}
END_TEST

START_TEST(test_missing_binary_fails_cleanly)
{
	const char *by_path[] = { "/nonexistent/reaper_child", NULL };
	const char *by_name[] = { "no-such-program-for-ds-reaper", NULL };
	struct ds_reaper *r = make();
	pid_t pid = 12345;
	size_t n = 1;

	ck_assert_int_eq(ds_reaper_spawn(r, by_path, NULL, &pid), ENOENT);
	ck_assert_int_eq(ds_reaper_spawn(r, by_name, NULL, &pid), ENOENT);
	ck_assert_int_eq(pid, 12345); /* untouched */
	ck_assert_uint_eq(ds_reaper_count_running(r), 0);
	ck_assert_ptr_null(ds_reaper_drain(r, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert(!have_zombie());
	ds_reaper_destroy(r);
}
END_TEST

START_TEST(test_bad_arguments_are_einval)
{
	const char *empty[] = { NULL };
	const char *argv[] = { "true", NULL };
	struct ds_reaper_exit e;
	struct ds_reaper *r = make();
	pid_t pid;

	ck_assert_int_eq(ds_reaper_create(NULL), EINVAL);
	ck_assert_int_eq(ds_reaper_spawn(r, NULL, NULL, &pid), EINVAL);
	ck_assert_int_eq(ds_reaper_spawn(r, empty, NULL, &pid), EINVAL);
	ck_assert_int_eq(ds_reaper_spawn(r, argv, NULL, NULL), EINVAL);
	ck_assert_int_eq(ds_reaper_spawn(NULL, argv, NULL, &pid), EINVAL);
	ck_assert_int_eq(ds_reaper_watch(r, 0), EINVAL);
	ck_assert_int_eq(ds_reaper_watch(r, -4), EINVAL);
	ck_assert_int_eq(ds_reaper_lookup(r, 1, NULL), EINVAL);
	ck_assert_int_eq(ds_reaper_wait(NULL, 1, 0, &e), EINVAL);
	ck_assert_int_eq(ds_reaper_stop(r, -1), EINVAL);
	ck_assert_int_eq(ds_reaper_stop(r, SIGRTMAX + 1), EINVAL);
	ck_assert(ds_reaper_is_running(r));
	ds_reaper_destroy(r);
}
END_TEST

START_TEST(test_idle_reaper_knows_no_child)
{
	struct ds_reaper *r = make();
	struct ds_reaper_exit e;
	size_t n = 7;

	ck_assert_int_eq(ds_reaper_lookup(r, getpid(), &e), ECHILD);
	ck_assert_int_eq(ds_reaper_wait(r, getpid(), -1, &e), ECHILD);
	ck_assert_int_eq(ds_reaper_watch(r, getpid()), ECHILD);
	ck_assert_int_eq(ds_reaper_watch(r, getppid()), ECHILD);
	ck_assert_ptr_null(ds_reaper_drain(r, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(ds_reaper_count_running(r), 0);
	ds_reaper_destroy(r);
	ds_reaper_destroy(NULL);
}
END_TEST

START_TEST(test_lookup_and_wait_do_not_drain)
{
	struct ds_reaper *r = make();
	struct ds_reaper_exit e, *list;
	struct gate g;
	pid_t pid;
	size_t n;

	gate_open(&g);
	pid = spawn_gated(r, &g);
	ck_assert_int_eq(ds_reaper_lookup(r, pid, &e), EAGAIN);
	ck_assert_int_eq(ds_reaper_wait(r, pid, 0, &e), ETIMEDOUT);
	ck_assert_int_eq(ds_reaper_wait(r, pid, 20, &e), ETIMEDOUT);
	ck_assert_uint_eq(ds_reaper_count_running(r), 1);
	gate_release(&g);
	wait_for(r, pid);
	ck_assert_int_eq(ds_reaper_lookup(r, pid, &e), 0);
	ck_assert_int_eq(ds_reaper_wait(r, pid, 0, &e), 0);
	ck_assert_uint_eq(ds_reaper_count_running(r), 0);
	list = ds_reaper_drain(r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(list_length(list), 1);
	ck_assert_int_eq(list->pid, pid);
	ds_reaper_exits_free(list);
	ck_assert_int_eq(ds_reaper_lookup(r, pid, &e), ECHILD);
	ck_assert_ptr_null(ds_reaper_drain(r, NULL));
	ds_reaper_destroy(r);
}
END_TEST

/* The classic race made certain: the child is a zombie before we watch. */
START_TEST(test_child_that_ended_before_watch_is_recorded_once)
{
	struct ds_reaper *r = make();
	struct ds_reaper_exit e, *list;
	siginfo_t si;
	pid_t pid = fork();
	size_t n;

	if (pid == 0)
		_exit(7);
	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	ck_assert_int_eq(ds_reaper_watch(r, pid), 0);
	e = wait_for(r, pid);
	ck_assert_int_eq(e.how, DS_REAPER_EXITED);
	ck_assert_int_eq(e.code, 7);
	list = ds_reaper_drain(r, &n);
	ck_assert_uint_eq(n, 1);
	ds_reaper_exits_free(list);
	ck_assert(!have_zombie());
	ds_reaper_destroy(r);
}
END_TEST

START_TEST(test_watch_refuses_duplicates_and_strangers)
{
	struct ds_reaper *r = make();
	struct ds_reaper_exit e;
	struct gate g;
	pid_t gone = fork(), pid;

	if (gone == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(gone, NULL, 0), gone); /* reaped by us */
	gate_open(&g);
	pid = spawn_gated(r, &g);
	ck_assert_int_eq(ds_reaper_watch(r, pid), EEXIST);
	ck_assert_int_ne(ds_reaper_watch(r, gone), 0); /* ESRCH or ECHILD */
	gate_release(&g);
	e = wait_for(r, pid);
	ck_assert_int_eq(e.code, 0);
	ds_reaper_destroy(r);
}
END_TEST

START_TEST(test_describe_says_how_it_ended)
{
	struct ds_reaper_exit e = { .how = DS_REAPER_EXITED, .code = 3 };
	char buf[128];

	ck_assert_str_eq(ds_reaper_describe(&e, buf, sizeof(buf)),
			 "exited with status 3");
	e.how = DS_REAPER_LOST;
	ck_assert_ptr_nonnull(
		strstr(ds_reaper_describe(&e, buf, sizeof(buf)), "lost"));
	ck_assert_str_eq(ds_reaper_describe(NULL, buf, sizeof(buf)),
			 "no record");
}
END_TEST

/* ---- stop ------------------------------------------------------------- */

/* An idle reaper sleeps in poll() with no timeout: stop returning at all
 * shows the eventfd woke it (no polling loop would). */
START_TEST(test_stop_wakes_an_idle_reaper_and_is_final)
{
	const char *argv[] = { "true", NULL };
	struct ds_reaper *r = make();
	pid_t pid;

	ck_assert_int_eq(ds_reaper_stop(r, 0), 0);
	ck_assert(!ds_reaper_is_running(r));
	ck_assert_int_eq(ds_reaper_stop(r, 0), EALREADY);
	ck_assert_int_eq(ds_reaper_spawn(r, argv, NULL, &pid), ECANCELED);
	ck_assert_int_eq(ds_reaper_watch(r, getpid()), ECANCELED);
	ds_reaper_destroy(r);
	ck_assert(!have_zombie());
}
END_TEST

START_TEST(test_stop_without_signal_leaves_running_children)
{
	struct ds_reaper *r = make();
	struct ds_reaper_exit e, *list;
	struct gate g;
	pid_t done, left;
	int status;
	size_t n;

	gate_open(&g);
	left = spawn_gated(r, &g);
	done = spawn(r, "exit", 4);
	wait_for(r, done);
	ck_assert_int_eq(ds_reaper_stop(r, 0), 0);
	ck_assert_int_eq(ds_reaper_lookup(r, left, &e), ECHILD);
	ck_assert_int_eq(kill(left, 0), 0); /* still running, now ours */
	list = ds_reaper_drain(r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(list->pid, done);
	ds_reaper_exits_free(list);
	gate_release(&g);
	ck_assert_int_eq(waitpid(left, &status, 0), left);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ds_reaper_destroy(r);
}
END_TEST

START_TEST(test_stop_with_signal_reaps_every_child)
{
	struct ds_reaper *r = make();
	struct ds_reaper_exit *list;
	size_t n;

	for (int i = 0; i < 5; i++)
		spawn(r, "pause", 0);
	ck_assert_int_eq(ds_reaper_stop(r, SIGTERM), 0);
	ck_assert_uint_eq(ds_reaper_count_running(r), 0);
	list = ds_reaper_drain(r, &n);
	ck_assert_uint_eq(n, 5);
	for (struct ds_reaper_exit *e = list; e; e = e->next) {
		ck_assert_int_eq(e->how, DS_REAPER_KILLED);
		ck_assert_int_eq(e->code, SIGTERM);
	}
	ds_reaper_exits_free(list);
	ck_assert(!have_zombie());
	ds_reaper_destroy(r);
}
END_TEST

struct waiter {
	struct ds_reaper *r;
	pid_t pid;
	int result;
};

static void *wait_forever(void *arg)
{
	struct waiter *w = arg;
	struct ds_reaper_exit e;

	w->result = ds_reaper_wait(w->r, w->pid, -1, &e);
	return NULL;
}

/* Whether the waiter blocked before the stop or not, it ends with ECHILD. */
START_TEST(test_stop_releases_waiters_of_left_children)
{
	struct ds_reaper *r = make();
	struct waiter w = { .r = r, .result = -1 };
	struct gate g;
	pthread_t t;

	gate_open(&g);
	w.pid = spawn_gated(r, &g);
	ck_assert_int_eq(pthread_create(&t, NULL, wait_forever, &w), 0);
	ck_assert_int_eq(ds_reaper_stop(r, 0), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(w.result, ECHILD);
	gate_release(&g);
	ck_assert_int_eq(waitpid(w.pid, NULL, 0), w.pid);
	ds_reaper_destroy(r);
}
END_TEST

START_TEST(test_destroy_without_stop_leaves_children)
{
	struct ds_reaper *r = make();
	struct gate g;
	pid_t pid;

	gate_open(&g);
	pid = spawn_gated(r, &g);
	ds_reaper_destroy(r);
	gate_release(&g);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}
END_TEST

/*
 * With more children than RLIMIT_NOFILE allows, poll on all their pidfds
 * fails (EINVAL). The reaper still sees every exit (it peeks at each child
 * between waits) and a stop still wakes it. In a child process: the limit
 * stays low, and a hang ends in the child's alarm, not in a stuck suite.
 */
static void poll_failure_session(void *arg)
{
	enum { HALF = 20 };
	const char *bin = arg;
	struct gate first, half, rest;
	struct ds_reaper_exit e, *list;
	struct ds_reaper *r;
	struct rlimit rl;
	pid_t pid, quit[HALF];
	size_t n, killed = 0;

	hang_alarm(LCT_CHILD_ALARM / 3);
	CHILD_EXPECT(ds_reaper_create(&r) == 0);
	CHILD_EXPECT(gate_make(&first) && gate_make(&half) && gate_make(&rest));
	CHILD_EXPECT(start(r, bin, "wait-fd", first.rd, &pid) == 0);
	for (int i = 0; i < HALF; i++) {
		CHILD_EXPECT(start(r, bin, "wait-fd", half.rd, &quit[i]) == 0);
		CHILD_EXPECT(start(r, bin, "wait-fd", rest.rd, &e.pid) == 0);
	}
	CHILD_EXPECT(getrlimit(RLIMIT_NOFILE, &rl) == 0);
	rl.rlim_cur = 2 * HALF / 3; /* fewer than the poll slots */
	CHILD_EXPECT(setrlimit(RLIMIT_NOFILE, &rl) == 0);
	gate_release(&first); /* seen by the poll under way; the next fails */
	CHILD_EXPECT(ds_reaper_wait(r, pid, -1, &e) == 0 && e.code == 0);
	gate_release(&half);
	for (int i = 0; i < HALF; i++)
		CHILD_EXPECT(ds_reaper_wait(r, quit[i], -1, &e) == 0 &&
			     e.how == DS_REAPER_EXITED && e.code == 0);
	CHILD_EXPECT(ds_reaper_stop(r, SIGKILL) == 0);
	list = ds_reaper_drain(r, &n);
	CHILD_EXPECT(n == 1 + 2 * HALF);
	for (struct ds_reaper_exit *k = list; k; k = k->next)
		killed += k->how == DS_REAPER_KILLED && k->code == SIGKILL;
	CHILD_EXPECT(killed == HALF);
	ds_reaper_exits_free(list);
	ds_reaper_destroy(r);
	gate_release(&rest);
}

START_TEST(test_failing_poll_still_reaps_and_stops)
{
	expect_child_ok(poll_failure_session, "poll failure session");
}
END_TEST

/* ---- host: SIGCHLD dispositions and interrupted system calls ---------- */

START_TEST(test_ignored_sigchld_records_lost_status)
{
	struct ds_reaper *r;
	struct ds_reaper_exit e, *list;
	struct gate g;
	pid_t quick, gated;
	size_t n;

	signal(SIGCHLD, SIG_IGN); /* the kernel now reaps our children */
	r = make();
	gate_open(&g);
	gated = spawn_gated(r, &g);
	quick = spawn(r, "exit", 3);
	gate_release(&g);
	e = wait_for(r, gated);
	ck_assert_int_eq(e.how, DS_REAPER_LOST);
	ck_assert_int_eq(e.code, -1);
	e = wait_for(r, quick);
	ck_assert_int_eq(e.how, DS_REAPER_LOST);
	list = ds_reaper_drain(r, &n);
	ck_assert_uint_eq(n, 2);
	ds_reaper_exits_free(list);
	ds_reaper_destroy(r);
	signal(SIGCHLD, SIG_DFL);
}
END_TEST

static atomic_int sigchld_seen;

static void count_sigchld(int sig)
{
	(void)sig;
	atomic_fetch_add(&sigchld_seen, 1);
}

/* A host handler without SA_RESTART: SIGCHLD lands on this thread (the
 * reaper's blocks it) and interrupts whatever it is in; nothing breaks. */
START_TEST(test_host_sigchld_handler_interrupts_nothing)
{
	struct sigaction sa = { .sa_handler = count_sigchld };
	struct ds_reaper *r;
	struct ds_reaper_exit e;
	enum { N = 40 };

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGCHLD, &sa, NULL), 0);
	r = make();
	for (int i = 0; i < N; i++) {
		pid_t pid = spawn(r, "exit", i);

		e = wait_for(r, pid);
		ck_assert_int_eq(e.how, DS_REAPER_EXITED);
		ck_assert_int_eq(e.code, i);
	}
	ds_reaper_exits_free(ds_reaper_drain(r, NULL));
	ds_reaper_destroy(r);
	ck_assert_int_gt(atomic_load(&sigchld_seen), 0);
	signal(SIGCHLD, SIG_DFL);
}
END_TEST

/* Other code takes the status of a child spawn has just started, before
 * the reaper can open its pidfd (a waitpid(-1) of the host). */
static struct {
	struct ds_reaper *r;
	atomic_bool armed;
	bool then_stop; /* and a stop is asked for at that moment */
} theft;

static long probe_theft(long nr, const long *a)
{
	siginfo_t si;

	if (nr == SYS_pidfd_open && atomic_exchange(&theft.armed, false)) {
		waitid(P_PID, (id_t)a[0], &si, WEXITED);
		if (theft.then_stop)
			ds_reaper_stop(theft.r, 0);
	}
	return real_syscall(nr, a);
}

/* Recorded as lost while the reaper runs; during a stop the spawn fails
 * with ECANCELED like any other, and leaves no record. */
START_TEST(test_taken_status_at_spawn_is_lost_or_cancelled)
{
	const char *argv[] = { child_bin(), "exit", "0", NULL };
	struct ds_reaper *r = make();
	struct ds_reaper_exit e, *list;
	pid_t pid, late = 0;
	size_t n;

	theft.r = r;
	atomic_store(&theft.armed, true);
	atomic_store(&probe, probe_theft);
	pid = spawn(r, "exit", 0);
	e = wait_for(r, pid);
	ck_assert_int_eq(e.how, DS_REAPER_LOST);
	theft.then_stop = true;
	atomic_store(&theft.armed, true);
	ck_assert_int_eq(ds_reaper_spawn(r, argv, NULL, &late), ECANCELED);
	atomic_store(&probe, NULL);
	ck_assert(!atomic_load(&theft.armed));
	ck_assert_int_eq(late, 0);
	list = ds_reaper_drain(r, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(list->pid, pid);
	ds_reaper_exits_free(list);
	ck_assert(!have_zombie());
	ds_reaper_destroy(r);
}
END_TEST

/* ---- pids: a freed pid and its reuse ---------------------------------- */

static void observe_lookup(struct observer *o)
{
	atomic_store(&o->may_block, true);
	o->err = ds_reaper_lookup(o->r, o->pid, &o->seen);
	o->running = ds_reaper_count_running(o->r);
}

/* From the instant the kernel frees a child's pid, the reaper no longer
 * lists it as running: a spawn that gets the pid must find it free. */
START_TEST(test_reaped_child_is_never_listed_as_running)
{
	struct ds_reaper *r = make();
	struct gate g;
	pid_t pid;

	gate_open(&g);
	pid = spawn_gated(r, &g);
	observe_reap_of(r, NULL, pid, observe_lookup);
	gate_release(&g);
	wait_for(r, pid);
	ck_assert(observer_joined());
	ck_assert_int_eq(obs.err, 0); /* the record, not EAGAIN */
	ck_assert_int_eq(obs.seen.pid, pid);
	ck_assert_uint_eq(obs.running, 0);
	ds_reaper_destroy(r);
}
END_TEST

static void observe_spawn(struct observer *o)
{
	if (!set_next_pid(o->pid))
		o->err = -1;
	else
		o->err = start(o->r, o->bin, "exit", 5, &o->got);
}

/* The real race: a spawn at the instant the old child's pid is free gets
 * that pid, and succeeds. */
static int reuse_at_reap(const char *bin)
{
	struct ds_reaper_exit e, *list;
	struct ds_reaper *r;
	struct gate g;
	pid_t pid;
	size_t n;

	CHILD_EXPECT(ds_reaper_create(&r) == 0 && gate_make(&g));
	CHILD_EXPECT(start(r, bin, "wait-fd", g.rd, &pid) == 0);
	observe_reap_of(r, bin, pid, observe_spawn);
	gate_release(&g);
	CHILD_EXPECT(ds_reaper_wait(r, pid, -1, &e) == 0);
	CHILD_EXPECT(observer_joined());
	CHILD_EXPECT(obs.err == 0); /* not EEXIST */
	CHILD_EXPECT(obs.got == pid);
	CHILD_EXPECT(ds_reaper_wait(r, pid, -1, &e) == 0 && e.code == 5);
	list = ds_reaper_drain(r, &n);
	CHILD_EXPECT(n == 2 && list->pid == pid && list->next->pid == pid);
	CHILD_EXPECT(list->code == 0 && list->next->code == 5);
	ds_reaper_exits_free(list);
	ds_reaper_destroy(r);
	return 0;
}

static void reuse_at_reap_session(void *arg)
{
	in_pid_namespace(reuse_at_reap, arg);
}

START_TEST(test_spawn_gets_a_pid_freed_by_a_reap)
{
	expect_ok_in_namespace(reuse_at_reap_session, "reuse at reap");
}
END_TEST

/* A stranger: a process that is not our child, with a pid of our choice.
 * It lives until hold closes, then says so on alive. */
static struct {
	atomic_bool armed;
	bool made;
	int hold, alive; /* our ends */
} stranger;

static void stranger_main(int hold, int alive)
{
	char c;

	while (read(hold, &c, 1) < 0 && errno == EINTR)
		;
	if (write(alive, "k", 1) != 1)
		_exit(1);
	_exit(0);
}

/* Forks a middle process that sets the next pid and forks the stranger:
 * the stranger is then init's child, not ours. */
static void make_stranger(pid_t pid)
{
	int hold[2], alive[2], status;
	pid_t middle;

	if (pipe2(hold, O_CLOEXEC) || pipe2(alive, O_CLOEXEC))
		return;
	middle = fork();
	if (middle == 0) {
		pid_t s = set_next_pid(pid) ? fork() : -1;

		if (s == 0) {
			close(hold[1]);
			close(alive[0]);
			stranger_main(hold[0], alive[1]);
		}
		_exit(s == pid ? 0 : 1);
	}
	while (waitpid(middle, &status, 0) < 0 && errno == EINTR)
		;
	close(hold[0]);
	close(alive[1]);
	stranger.made = status == 0;
	stranger.hold = hold[1];
	stranger.alive = alive[0];
}

static bool stranger_lived(void)
{
	char c = 0;

	close(stranger.hold);
	return read(stranger.alive, &c, 1) == 1 && c == 'k';
}

/* No pidfd for a child just spawned (EMFILE); meanwhile other code took
 * its status, and its pid went to a stranger. */
static long probe_no_pidfd(long nr, const long *a)
{
	siginfo_t si;

	if (nr != SYS_pidfd_open || !atomic_exchange(&stranger.armed, false))
		return real_syscall(nr, a);
	waitid(P_PID, (id_t)a[0], &si, WEXITED);
	make_stranger((pid_t)a[0]);
	errno = EMFILE;
	return -1;
}

static int no_pidfd_after_theft(const char *bin)
{
	struct ds_reaper *r;
	pid_t pid = 0;

	CHILD_EXPECT(ds_reaper_create(&r) == 0);
	atomic_store(&stranger.armed, true);
	atomic_store(&probe, probe_no_pidfd);
	CHILD_EXPECT(start(r, bin, "exit", 0, &pid) == EMFILE);
	atomic_store(&probe, NULL);
	CHILD_EXPECT(stranger.made);
	CHILD_EXPECT(stranger_lived()); /* the failed spawn did not kill it */
	CHILD_EXPECT(ds_reaper_count_running(r) == 0);
	CHILD_EXPECT(ds_reaper_drain(r, NULL) == NULL);
	ds_reaper_destroy(r);
	return 0;
}

static void no_pidfd_session(void *arg)
{
	in_pid_namespace(no_pidfd_after_theft, arg);
}

START_TEST(test_failed_spawn_spares_a_reused_pid)
{
	expect_ok_in_namespace(no_pidfd_session, "no pidfd after theft");
}
END_TEST

/* ---- threads: every child exactly once -------------------------------- */

#define SPAWNERS    2
#define PER_SPAWNER 60

struct crowd {
	struct ds_reaper *r;
	char bin[4096]; /* child_bin() is not thread-safe: resolved once */
	pid_t pid[SPAWNERS][PER_SPAWNER];
	struct ds_reaper_exit seen[SPAWNERS * PER_SPAWNER + 8];
	size_t nseen;
	atomic_int spawners_left;
	atomic_bool failed;
};

struct spawner {
	struct crowd *c;
	int id;
};

static void *spawn_many(void *arg)
{
	struct spawner *s = arg;
	struct crowd *c = s->c;
	char code[16];
	const char *argv[] = { c->bin, "exit", code, NULL };

	for (int i = 0; i < PER_SPAWNER; i++) {
		snprintf(code, sizeof(code), "%d", s->id * 100 + i);
		if (ds_reaper_spawn(c->r, argv, NULL, &c->pid[s->id][i]))
			atomic_store(&c->failed, true);
	}
	atomic_fetch_sub(&c->spawners_left, 1);
	return NULL;
}

static void collect(struct crowd *c, struct ds_reaper_exit *list)
{
	for (struct ds_reaper_exit *e = list; e; e = e->next) {
		if (c->nseen < sizeof(c->seen) / sizeof(c->seen[0]))
			c->seen[c->nseen] = *e;
		c->nseen++;
	}
	ds_reaper_exits_free(list);
}

/* Drains while spawners run (the racy part); then waits for every pid (0:
 * still in the table, ECHILD: drained already) and drains the rest. */
static void *collector(void *arg)
{
	struct crowd *c = arg;
	struct ds_reaper_exit e;

	while (atomic_load(&c->spawners_left) > 0) {
		collect(c, ds_reaper_drain(c->r, NULL));
		sched_yield();
	}
	for (int i = 0; i < SPAWNERS; i++)
		for (int j = 0; j < PER_SPAWNER; j++)
			ds_reaper_wait(c->r, c->pid[i][j], -1, &e);
	collect(c, ds_reaper_drain(c->r, NULL));
	return NULL;
}

static int times_seen(const struct crowd *c, pid_t pid, int code)
{
	int n = 0;

	for (size_t i = 0; i < c->nseen; i++)
		if (c->seen[i].pid == pid) {
			ck_assert_int_eq(c->seen[i].code, code);
			n++;
		}
	return n;
}

START_TEST(test_every_child_is_drained_exactly_once)
{
	static struct crowd c;
	struct spawner s[SPAWNERS];
	pthread_t t[SPAWNERS], col;

	c.r = make();
	snprintf(c.bin, sizeof(c.bin), "%s", child_bin());
	atomic_store(&c.spawners_left, SPAWNERS);
	pthread_create(&col, NULL, collector, &c);
	for (int i = 0; i < SPAWNERS; i++) {
		s[i] = (struct spawner){ &c, i };
		pthread_create(&t[i], NULL, spawn_many, &s[i]);
	}
	for (int i = 0; i < SPAWNERS; i++)
		pthread_join(t[i], NULL);
	pthread_join(col, NULL);
	ck_assert(!atomic_load(&c.failed));
	ck_assert_uint_eq(c.nseen, SPAWNERS * PER_SPAWNER);
	for (int i = 0; i < SPAWNERS; i++)
		for (int j = 0; j < PER_SPAWNER; j++)
			ck_assert_int_eq(
				times_seen(&c, c.pid[i][j], i * 100 + j), 1);
	ds_reaper_destroy(c.r);
	ck_assert(!have_zombie());
}
END_TEST

/* ---- lockcheck: a whole session, silent ------------------------------- */

static void session(void *arg)
{
	const char *bin = arg;
	const char *ok[] = { bin, "exit", "0", NULL };
	const char *hang[] = { bin, "pause", NULL };
	struct ds_reaper *r;
	struct ds_reaper_exit e;
	pid_t pid;

	if (ds_reaper_create(&r))
		exit(2);
	for (int i = 0; i < 8; i++)
		if (ds_reaper_spawn(r, ok, NULL, &pid) ||
		    ds_reaper_wait(r, pid, -1, &e) || e.code != 0)
			exit(3);
	if (ds_reaper_spawn(r, hang, NULL, &pid) ||
	    ds_reaper_stop(r, SIGKILL) || ds_reaper_lookup(r, pid, &e) ||
	    e.code != SIGKILL)
		exit(4);
	ds_reaper_exits_free(ds_reaper_drain(r, NULL));
	ds_reaper_destroy(r);
}

START_TEST(test_session_gives_no_checker_report)
{
	const char *const env[] = { "LOCKCHECK_ACTION=abort", NULL };
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(session, (void *)child_bin(), env, &c), &c);
	if (!lct_exited_with(&c, 0) || lct_count_all_reports(&c))
		lct_child_dump(&c, "reaper session");
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 0);
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reaper");
	TCase *core = tcase_create("core");
	TCase *stop = tcase_create("stop");
	TCase *host = tcase_create("host");
	TCase *pids = tcase_create("pids");
	TCase *threads = tcase_create("threads");
	TCase *checker = tcase_create("lockcheck");

	tcase_add_test(core, test_exit_status_is_recorded);
	tcase_add_test(core, test_terminating_signal_is_recorded);
	tcase_add_test(core, test_rusage_is_recorded);
	tcase_add_test(core, test_missing_binary_fails_cleanly);
	tcase_add_test(core, test_bad_arguments_are_einval);
	tcase_add_test(core, test_idle_reaper_knows_no_child);
	tcase_add_test(core, test_lookup_and_wait_do_not_drain);
	tcase_add_test(core,
		       test_child_that_ended_before_watch_is_recorded_once);
	tcase_add_test(core, test_watch_refuses_duplicates_and_strangers);
	tcase_add_test(core, test_describe_says_how_it_ended);
	tcase_add_test(stop, test_stop_wakes_an_idle_reaper_and_is_final);
	tcase_add_test(stop, test_stop_without_signal_leaves_running_children);
	tcase_add_test(stop, test_stop_with_signal_reaps_every_child);
	tcase_add_test(stop, test_stop_releases_waiters_of_left_children);
	tcase_add_test(stop, test_destroy_without_stop_leaves_children);
	tcase_add_test(stop, test_failing_poll_still_reaps_and_stops);
	tcase_add_test(host, test_ignored_sigchld_records_lost_status);
	tcase_add_test(host, test_host_sigchld_handler_interrupts_nothing);
	tcase_add_test(host, test_taken_status_at_spawn_is_lost_or_cancelled);
	tcase_add_test(pids, test_reaped_child_is_never_listed_as_running);
	tcase_add_test(pids, test_spawn_gets_a_pid_freed_by_a_reap);
	tcase_add_test(pids, test_failed_spawn_spares_a_reused_pid);
	tcase_set_timeout(threads, 60);
	tcase_add_test(threads, test_every_child_is_drained_exactly_once);
	tcase_add_test(checker, test_session_gives_no_checker_report);
	suite_add_tcase(s, core);
	suite_add_tcase(s, stop);
	suite_add_tcase(s, host);
	suite_add_tcase(s, pids);
	suite_add_tcase(s, threads);
	suite_add_tcase(s, checker);
	return lct_run_suite(s);
}
