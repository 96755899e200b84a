/*
 * lc_env_test.c: the environment knobs (LOCKCHECK_ACTION, _LOG, _EXITCODE,
 * _DUMP) and the shape of a cycle report: both classes with init sites, the
 * file:line:function of both acquisitions, thread names and ids, and a
 * symbolised backtrace. Also: a would-be deadlock between two threads that
 * really block is reported before blocking, so with ACTION=abort the child
 * aborts instead of hanging.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	struct lct_child c = lct_expect_reports(abba, NULL, NULL,
						"lock-order-cycle", 1);
	char want[256];

	snprintf(want, sizeof(want),
		 "      held lock taken at tests/lc_env_test.c:%d in take_pair()",
		 HELD_LINE);
	ck_assert_uint_eq(lct_count_prefix(c.err, want), 2);
	snprintf(want, sizeof(want),
		 "      next lock wanted at tests/lc_env_test.c:%d in "
		 "take_pair()",
		 WANTED_LINE);
	ck_assert_uint_eq(lct_count_prefix(c.err, want), 2);
	snprintf(want, sizeof(want),
		 "  #1 B [tests/lc_env_test.c:%d] -> A [tests/lc_env_test.c:%d], "
		 "first by thread \"auditor\" (tid ",
		 A_LINE + 1, A_LINE);
	ck_assert_ptr_nonnull(strstr(c.err, want));
	snprintf(want, sizeof(want),
		 "  #2 A [tests/lc_env_test.c:%d] -> B [tests/lc_env_test.c:%d], "
		 "first by thread \"teller\" (tid ",
		 A_LINE, A_LINE + 1);
	ck_assert_ptr_nonnull(strstr(c.err, want));
	ck_assert_ptr_nonnull(strstr(c.err, "  closed now by thread \"auditor\""));
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

	ck_assert_int_eq(lct_run_fn(real_deadlock, NULL, env, &c), 0);
	if (!lct_killed_by(&c, SIGABRT))
		lct_child_dump(&c, "deadlock");
	ck_assert(lct_killed_by(&c, SIGABRT));
	ck_assert_uint_eq(lct_count_reports(&c, "lock-order-cycle"), 1);
	ck_assert_uint_eq(lct_count_all_reports(&c), 1);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_action_report_goes_on)
{
	struct lct_child c = lct_expect_reports(abba, NULL, NULL,
						"lock-order-cycle", 1);

	lct_child_free(&c);
}
END_TEST

/* ---- LOCKCHECK_EXITCODE and LOCKCHECK_LOG ---- */

START_TEST(test_exitcode_applies_only_after_a_report)
{
	const char *env[] = { "LOCKCHECK_EXITCODE=7", NULL };
	struct lct_child c;

	ck_assert_int_eq(lct_run_fn(abba, NULL, env, &c), 0);
	ck_assert(lct_exited_with(&c, 7));
	lct_child_free(&c);
	ck_assert_int_eq(lct_run_fn(clean, NULL, env, &c), 0);
	ck_assert(lct_exited_with(&c, 0));
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
	ck_assert_int_eq(lct_run_fn(abba, NULL, env, &c), 0);
	ck_assert_uint_eq(lct_count_all_reports(&c), 0);
	log = lct_read_file(path, NULL);
	ck_assert_ptr_nonnull(log);
	ck_assert_uint_eq(lct_count_prefix(log, "lockcheck: lock-order-cycle: "),
			  1);
	free(log);
	lct_child_free(&c);
}
END_TEST

/* ---- LOCKCHECK_DUMP ---- */

static char *only_dump_in(const char *dir, char *name, size_t size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
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
	ck_assert_int_eq(lct_run_fn(abba, NULL, env, &c), 0);
	dump = lct_read_file(only_dump_in(dir, path, sizeof(path)), NULL);
	ck_assert_ptr_nonnull(dump);
	ck_assert_ptr_nonnull(strstr(path, "/lockcheck."));
	ck_assert_ptr_nonnull(strstr(path, ".graph"));
	ck_assert_uint_eq(lct_count_prefix(dump, "lockcheck-dump 1\n"), 1);
	ck_assert_uint_eq(lct_count_prefix(dump, "process "), 1);
	ck_assert_uint_eq(lct_count_prefix(dump, "class 0 mutex 1 "), 1);
	snprintf(want, sizeof(want), " \"A\" \"tests/lc_env_test.c\" %d\n",
		 A_LINE);
	ck_assert_ptr_nonnull(strstr(dump, want));
	snprintf(want, sizeof(want), " \"B\" \"tests/lc_env_test.c\" %d\n",
		 A_LINE + 1);
	ck_assert_ptr_nonnull(strstr(dump, want));
	ck_assert_uint_eq(lct_count_prefix(dump, "edge "), 2);
	ck_assert_ptr_nonnull(strstr(dump, " \"teller\" \"tests/lc_env_test.c\" "));
	ck_assert_uint_eq(lct_count_prefix(dump, "finding lock-order-cycle "),
			  1);
	ck_assert_uint_eq(lct_count_prefix(dump, "end 2 2 1\n"), 1);
	free(dump);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_dump_to_a_file_path)
{
	const char *dir = lct_tmpdir("dumpfile");
	char env0[4300], path[4200];
	const char *env[] = { env0, NULL };
	struct lct_child c;
	char *dump;

	snprintf(path, sizeof(path), "%s/run.graph", dir);
	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", path);
	ck_assert_int_eq(lct_run_fn(clean, NULL, env, &c), 0);
	dump = lct_read_file(path, NULL);
	ck_assert_ptr_nonnull(dump);
	ck_assert_uint_eq(lct_count_prefix(dump, "edge "), 1);
	ck_assert_uint_eq(lct_count_prefix(dump, "end 2 1 0\n"), 1);
	free(dump);
	lct_child_free(&c);
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
	ck_assert_int_eq(lct_run_fn(abba, NULL, env, &c), 0);
	ck_assert(lct_killed_by(&c, SIGABRT));
	dump = lct_read_file(only_dump_in(dir, path, sizeof(path)), NULL);
	ck_assert_ptr_nonnull(dump);
	ck_assert_uint_eq(lct_count_prefix(dump, "finding lock-order-cycle "),
			  1);
	ck_assert_uint_eq(lct_count_prefix(dump, "end 2 2 1\n"), 1);
	free(dump);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_unwritable_dump_is_a_note_not_a_finding)
{
	const char *env[] = { "LOCKCHECK_DUMP=/nonexistent/dir/x.graph", NULL };
	struct lct_child c;

	ck_assert_int_eq(lct_run_fn(clean, NULL, env, &c), 0);
	ck_assert(lct_exited_with(&c, 0));
	ck_assert_uint_eq(lct_count_all_reports(&c), 0);
	ck_assert_uint_eq(lct_count_prefix(c.err, "lockcheck-dump: cannot "
						  "write /nonexistent/dir/"),
			  1);
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
	ck_assert_int_eq(lct_run_fn(abba, NULL, env, &c), 0);
	ck_assert(lct_exited_with(&c, 0));
	ck_assert_uint_eq(lct_count_all_reports(&c), 0);
	ck_assert_int_eq(rmdir(dir), 0); /* still empty */
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_env");
	TCase *tc = tcase_create("lockcheck");
	SRunner *sr;
	int failed;

	if (LOCKCHECK) { /* all of this is the checker's */
		tcase_add_test(tc, test_cycle_report_shows_sites_threads_and_stack);
		tcase_add_test(tc, test_would_be_deadlock_is_reported_before_it_hangs);
		tcase_add_test(tc, test_action_report_goes_on);
		tcase_add_test(tc, test_exitcode_applies_only_after_a_report);
		tcase_add_test(tc, test_log_goes_to_the_file);
		tcase_add_test(tc, test_dump_to_a_directory_holds_the_graph);
		tcase_add_test(tc, test_dump_to_a_file_path);
		tcase_add_test(tc, test_unwritable_dump_is_a_note_not_a_finding);
		tcase_add_test(tc, test_abort_writes_the_dump_first);
	} else {
		tcase_add_test(tc, test_plain_build_ignores_the_environment);
	}
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
