/*
 * lc_env_test.c: the environment knobs (LOCKCHECK_ACTION, _LOG, _EXITCODE,
 * _DUMP: a finding fails the process with 66 by default; dumps are named
 * so that none overwrites another) and the shape of a cycle report: both
 * classes with init sites, the file:line:function of both acquisitions,
 * thread names and ids, and a symbolised backtrace. Also: a would-be deadlock
 * between two threads that really block is reported before blocking, so with
 * ACTION=abort the child aborts instead of hanging.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

enum { A_LINE = __LINE__ + 1 };
static lc_mutex_t A = LC_MUTEX_INITIALIZER("A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");

/* take_pair's lock calls are on these lines. */
enum { HELD_LINE = __LINE__ + 4, WANTED_LINE = HELD_LINE + 1 };

static void take_pair(lc_mutex_t *first, lc_mutex_t *second)
{
	ck_assert_int_eq(lc_mutex_lock(first), 0);
	ck_assert_int_eq(lc_mutex_lock(second), 0);
	lc_mutex_unlock(second);
	lc_mutex_unlock(first);
}

static void teller(void *arg)
{
	(void)arg;
	lc_thread_set_name("teller");
	take_pair(&A, &B);
}

static void auditor(void *arg)
{
	(void)arg;
	take_pair(&B, &A);
}

static void abba(void *arg)
{
	(void)arg;
	lct_in_thread(teller, NULL);
	lct_in_named_thread("auditor", auditor, NULL);
}

static void clean(void *arg)
{
	(void)arg;
	take_pair(&A, &B);
	take_pair(&A, &B);
}

/* ---- the report ---- */

/* A stack line with this frame start and a line in this file. */
static bool has_frame(const char *text, const char *frame)
{
	for (const char *p = strstr(text, frame); p; p = strstr(p + 1, frame)) {
		const char *nl = strchr(p, '\n');
		const char *file = strstr(p, "lc_env_test.c:");

		if (file && (!nl || file < nl))
			return true;
	}
	return false;
}

START_TEST(test_cycle_report_shows_sites_threads_and_stack)
{
	struct lct_child c =
		lct_expect_reports(abba, NULL, NULL, "lock-order-cycle", 1);
	char want[256];

	snprintf(want, sizeof(want),
		 "      held lock taken at tests/lc_env_test.c:%d in "
		 "take_pair()",
		 HELD_LINE);
	ck_assert_uint_eq(lct_count_prefix(c.err, want), 2);
	snprintf(want, sizeof(want),
		 "      next lock wanted at tests/lc_env_test.c:%d in "
		 "take_pair()",
		 WANTED_LINE);
	ck_assert_uint_eq(lct_count_prefix(c.err, want), 2);
	snprintf(want, sizeof(want),
		 "  #1 B [tests/lc_env_test.c:%d] -> A "
		 "[tests/lc_env_test.c:%d], "
		 "first by thread \"auditor\" (tid ",
		 A_LINE + 1, A_LINE);
	ck_assert_ptr_nonnull(strstr(c.err, want));
	snprintf(want, sizeof(want),
		 "  #2 A [tests/lc_env_test.c:%d] -> B "
		 "[tests/lc_env_test.c:%d], "
		 "first by thread \"teller\" (tid ",
		 A_LINE, A_LINE + 1);
	ck_assert_ptr_nonnull(strstr(c.err, want));
	ck_assert_ptr_nonnull(
		strstr(c.err, "  closed now by thread \"auditor\""));
	/* Symbolised frames: function and source line (paths vary by build). */
	ck_assert(has_frame(c.err, "#0 take_pair at "));
	ck_assert(has_frame(c.err, "#1 auditor at "));
	lct_child_free(&c);
}
END_TEST

/* ---- LOCKCHECK_ACTION ---- */

static pthread_barrier_t both_hold_one;

static void *grab_a_then_b(void *arg)
{
	(void)arg;
	lc_mutex_lock(&A);
	pthread_barrier_wait(&both_hold_one);
	lc_mutex_lock(&B); /* blocks for real */
	return NULL;
}

static void real_deadlock(void *arg)
{
	pthread_t t;

	(void)arg;
	pthread_barrier_init(&both_hold_one, NULL, 2);
	pthread_create(&t, NULL, grab_a_then_b, NULL);
	lc_mutex_lock(&B);
	pthread_barrier_wait(&both_hold_one);
	lc_mutex_lock(&A); /* blocks for real */
}

START_TEST(test_would_be_deadlock_is_reported_before_it_hangs)
{
	const char *env[] = { "LOCKCHECK_ACTION=abort", NULL };
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(real_deadlock, NULL, env, &c), &c);
	if (!lct_killed_by(&c, SIGABRT))
		lct_child_dump(&c, "deadlock");
	LCT_ASSERT_KILLED(&c, SIGABRT);
	LCT_ASSERT_REPORTS(&c, "lock-order-cycle", 1);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 1);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_action_report_goes_on)
{
	struct lct_child c =
		lct_expect_reports(abba, NULL, NULL, "lock-order-cycle", 1);

	lct_child_free(&c);
}
END_TEST

/* ---- LOCKCHECK_EXITCODE and LOCKCHECK_LOG ---- */

static void abba_then_exit_3(void *arg)
{
	abba(arg);
	exit(3);
}

START_TEST(test_a_finding_fails_the_process_by_default)
{
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(abba_then_exit_3, NULL, NULL, &c), &c);
	LCT_ASSERT_EXITED(&c, 66);
	lct_child_free(&c);
	LCT_ASSERT_RAN(lct_run_fn(clean, NULL, NULL, &c), &c);
	LCT_ASSERT_EXITED(&c, 0);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_exitcode_applies_only_after_a_report)
{
	const char *env[] = { "LOCKCHECK_EXITCODE=7", NULL };
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(abba, NULL, env, &c), &c);
	LCT_ASSERT_EXITED(&c, 7);
	lct_child_free(&c);
	LCT_ASSERT_RAN(lct_run_fn(clean, NULL, env, &c), &c);
	LCT_ASSERT_EXITED(&c, 0);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_exitcode_0_keeps_the_program_status)
{
	const char *env[] = { "LOCKCHECK_EXITCODE=0", NULL };
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(abba_then_exit_3, NULL, env, &c), &c);
	LCT_ASSERT_EXITED(&c, 3);
	LCT_ASSERT_REPORTS(&c, "lock-order-cycle", 1);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_log_goes_to_the_file)
{
	const char *dir = lct_tmpdir("log");
	char path[4096], env0[4200];
	const char *env[] = { env0, NULL };
	struct lct_child c;
	char *log;

	snprintf(path, sizeof(path), "%s/lockcheck.log", dir);
	snprintf(env0, sizeof(env0), "LOCKCHECK_LOG=%s", path);
	LCT_ASSERT_RAN(lct_run_fn(abba, NULL, env, &c), &c);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 0);
	log = lct_read_file(path, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_uint_eq(
		lct_count_prefix(log, "lockcheck: lock-order-cycle: "), 1);
	free(log);
	lct_child_free(&c);
}
END_TEST

/* ---- LOCKCHECK_DUMP ---- */

/* The one entry of dir, as a path in name. */
static char *only_dump_in(const char *dir, char *name, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(name, size, "%s/%s", dir, e->d_name);
			n++;
		}
	closedir(d);
	ck_assert_int_eq(n, 1); /* no temporary file left behind */
	return name;
}

START_TEST(test_dump_to_a_directory_holds_the_graph)
{
	const char *dir = lct_tmpdir("dump");
	char env0[4200], path[4200], want[128];
	const char *env[] = { env0, NULL };
	struct lct_child c;
	char *dump;

	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	LCT_ASSERT_RAN(lct_run_fn(abba, NULL, env, &c), &c);
	dump = lct_read_file(only_dump_in(dir, path, sizeof(path)), NULL);
	ck_assert_ptr_nonnull(dump);
	ck_assert_ptr_nonnull(strstr(path, "/lc_env_test."));
	ck_assert_ptr_nonnull(strstr(path, ".graph"));
	ck_assert_uint_eq(lct_count_prefix(dump, "lockcheck-dump 2\n"), 1);
	ck_assert_uint_eq(lct_count_prefix(dump, "process "), 1);
	ck_assert_uint_eq(lct_count_prefix(dump, "class 0 mutex 1 "), 1);
	snprintf(want, sizeof(want), " \"A\" \"tests/lc_env_test.c\" %d\n",
		 A_LINE);
	ck_assert_ptr_nonnull(strstr(dump, want));
	snprintf(want, sizeof(want), " \"B\" \"tests/lc_env_test.c\" %d\n",
		 A_LINE + 1);
	ck_assert_ptr_nonnull(strstr(dump, want));
	ck_assert_uint_eq(lct_count_prefix(dump, "edge "), 2);
	ck_assert_ptr_nonnull(
		strstr(dump, " \"teller\" \"tests/lc_env_test.c\" "));
	ck_assert_uint_eq(lct_count_prefix(dump, "finding lock-order-cycle "),
			  1);
	ck_assert_uint_eq(lct_count_prefix(dump, "end 2 2 1 0\n"), 1);
	free(dump);
	lct_child_free(&c);
}
END_TEST

/* <program>.<pid>.<8 hex digits>.graph */
START_TEST(test_dump_name_is_program_pid_and_random)
{
	const char *dir = lct_tmpdir("dumpname");
	char env0[4200], path[4200], prefix[64];
	const char *env[] = { env0, NULL };
	struct lct_child c;
	unsigned pid, rnd;
	char tail[16];

	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	LCT_ASSERT_RAN(lct_run_fn(clean, NULL, env, &c), &c);
	only_dump_in(dir, path, sizeof(path));
	ck_assert_int_eq(sscanf(strrchr(path, '/'), "/lc_env_test.%u.%8x%15s",
				&pid, &rnd, tail),
			 3);
	ck_assert_str_eq(tail, ".graph");
	snprintf(prefix, sizeof(prefix), "/lc_env_test.%u.", pid);
	ck_assert_ptr_nonnull(strstr(path, prefix));
	lct_child_free(&c);
}
END_TEST

/* Every process is pid 1 of a new pid namespace, as every test under
 * Bazel's linux-sandbox has one pid: three dumps all the same. */
static void in_new_pid_namespace(void *arg)
{
	pid_t pid;
	int status;

	if (unshare(CLONE_NEWPID) != 0)
		_exit(77); /* not allowed here: the caller says so */
	pid = fork();
	if (pid == 0) {
		clean(arg);
		exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		_exit(1);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

START_TEST(test_dumps_of_one_pid_never_overwrite_each_other)
{
	const char *dir = lct_tmpdir("samepid");
	char env0[4200];
	const char *env[] = { env0, NULL };
	struct lct_child c;
	bool same_pid = true;

	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	for (int i = 0; i < 3; i++) {
		LCT_ASSERT_RAN(lct_run_fn(in_new_pid_namespace, NULL, env, &c),
			       &c);
		if (lct_exited_with(&c, 77)) { /* no namespaces: plain runs */
			same_pid = false;
			lct_child_free(&c);
			LCT_ASSERT_RAN(lct_run_fn(clean, NULL, env, &c), &c);
		}
		LCT_ASSERT_EXITED(&c, 0);
		lct_child_free(&c);
	}
	ck_assert_int_eq(lct_count_entries(dir), 3);
	if (!same_pid)
		fprintf(stderr, "note: no pid namespace here; three dumps of "
				"three pids checked instead\n");
}
END_TEST

/* A path ending in '/' (or any missing directory) is created. */
START_TEST(test_missing_dump_directory_is_created)
{
	const char *base = lct_tmpdir("mkdump");
	char env0[4400], dir[4200], with_slash[4300];
	const char *env[] = { env0, NULL };
	struct lct_child c;
	char *dump;

	snprintf(dir, sizeof(dir), "%s/ci/dumps", base);
	snprintf(with_slash, sizeof(with_slash), "%s/", dir);
	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", with_slash);
	c = lct_expect_reports(clean, NULL, env, NULL, 0);
	lct_child_free(&c);
	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	c = lct_expect_reports(clean, NULL, env, NULL, 0);
	lct_child_free(&c);
	ck_assert_int_eq(lct_count_entries(dir), 2);
	snprintf(dir, sizeof(dir), "%s/new", base);
	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	c = lct_expect_reports(clean, NULL, env, NULL, 0);
	lct_child_free(&c);
	dump = lct_read_only_dump(dir); /* a directory, not a file */
	ck_assert_ptr_nonnull(dump);
	free(dump);
}
END_TEST

/* An abort on a finding skips exit hooks; the dump is written first. */
START_TEST(test_abort_writes_the_dump_first)
{
	const char *dir = lct_tmpdir("abortdump");
	char env0[4200], path[4200];
	const char *env[] = { env0, "LOCKCHECK_ACTION=abort", NULL };
	struct lct_child c;
	char *dump;

	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	LCT_ASSERT_RAN(lct_run_fn(abba, NULL, env, &c), &c);
	LCT_ASSERT_KILLED(&c, SIGABRT);
	dump = lct_read_file(only_dump_in(dir, path, sizeof(path)), NULL);
	ck_assert_ptr_nonnull(dump);
	ck_assert_uint_eq(lct_count_prefix(dump, "finding lock-order-cycle "),
			  1);
	ck_assert_uint_eq(lct_count_prefix(dump, "end 2 2 1 0\n"), 1);
	free(dump);
	lct_child_free(&c);
}
END_TEST

/* Without the checker the knobs do nothing: no dump, no exit code. */
START_TEST(test_plain_build_ignores_the_environment)
{
	const char *dir = lct_tmpdir("plain");
	char env0[4200];
	const char *env[] = { env0, "LOCKCHECK_EXITCODE=7", NULL };
	struct lct_child c;

	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	LCT_ASSERT_RAN(lct_run_fn(abba, NULL, env, &c), &c);
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 0);
	ck_assert_int_eq(rmdir(dir), 0); /* still empty */
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_env");
	TCase *tc = tcase_create("lockcheck");

	if (LOCKCHECK) { /* all of this is the checker's */
		tcase_add_test(tc,
			       test_cycle_report_shows_sites_threads_and_stack);
		tcase_add_test(
			tc, test_would_be_deadlock_is_reported_before_it_hangs);
		tcase_add_test(tc, test_action_report_goes_on);
		tcase_add_test(tc, test_a_finding_fails_the_process_by_default);
		tcase_add_test(tc, test_exitcode_applies_only_after_a_report);
		tcase_add_test(tc, test_exitcode_0_keeps_the_program_status);
		tcase_add_test(tc, test_log_goes_to_the_file);
		tcase_add_test(tc, test_dump_to_a_directory_holds_the_graph);
		tcase_add_test(tc, test_dump_name_is_program_pid_and_random);
		tcase_add_test(
			tc, test_dumps_of_one_pid_never_overwrite_each_other);
		tcase_add_test(tc, test_missing_dump_directory_is_created);
		tcase_add_test(tc, test_abort_writes_the_dump_first);
	} else {
		tcase_add_test(tc, test_plain_build_ignores_the_environment);
	}
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
