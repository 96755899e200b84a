/*
 * reaper_test.c: ds_reaper with real child processes.
 *
 * The children are tests/testdata/reaper_child (a data dependency): it
 * exits with a status, dies of a signal, burns CPU, touches memory, or
 * blocks until the test closes a pipe (a "gate"), so every step is driven
 * by the test and nothing depends on timing.
 *
 * tcases: core (one child at a time: records, errors, lookup/wait/drain),
 * stop (what happens to children at a stop, prompt wake-up, waiters),
 * host (the host's SIGCHLD disposition: ignored, or a handler that
 * interrupts system calls), threads (concurrent spawners and a collector:
 * every child exactly once), lockcheck (a whole session, no report).
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static pid_t spawn(struct ds_reaper *r, const char *mode, long n)
{
	char arg[32];
	const char *argv[] = { child_bin(), mode, arg, NULL };
	pid_t pid = -1;

	snprintf(arg, sizeof(arg), "%ld", n);
	ck_assert_int_eq(ds_reaper_spawn(r, argv, NULL, &pid), 0);
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

static void gate_open(struct gate *g)
{
	int fd[2];

	ck_assert_int_eq(pipe2(fd, O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(fd[0], F_SETFD, 0), 0);
	g->rd = fd[0];
	g->wr = fd[1];
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

/* ---- threads: every child exactly once -------------------------------- */

#define SPAWNERS 2
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
			ck_assert_int_eq(times_seen(&c, c.pid[i][j],
						    i * 100 + j), 1);
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

	ck_assert_int_eq(lct_run_fn(session, (void *)child_bin(), env, &c), 0);
	if (!lct_exited_with(&c, 0) || lct_count_all_reports(&c))
		lct_child_dump(&c, "reaper session");
	ck_assert(lct_exited_with(&c, 0));
	ck_assert_uint_eq(lct_count_all_reports(&c), 0);
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reaper");
	TCase *core = tcase_create("core");
	TCase *stop = tcase_create("stop");
	TCase *host = tcase_create("host");
	TCase *threads = tcase_create("threads");
	TCase *checker = tcase_create("lockcheck");
	SRunner *sr;
	int failed;

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
	tcase_add_test(host, test_ignored_sigchld_records_lost_status);
	tcase_add_test(host, test_host_sigchld_handler_interrupts_nothing);
	tcase_set_timeout(threads, 60);
	tcase_add_test(threads, test_every_child_is_drained_exactly_once);
	tcase_add_test(checker, test_session_gives_no_checker_report);
	suite_add_tcase(s, core);
	suite_add_tcase(s, stop);
	suite_add_tcase(s, host);
	suite_add_tcase(s, threads);
	suite_add_tcase(s, checker);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
