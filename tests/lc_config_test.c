/*
 * lc_config_test.c: a LOCKCHECK_* value that is not valid is one
 * "lockcheck: config:" line naming the variable, the value (escaped), what
 * is accepted and what the checker does instead; it counts as a finding
 * (exit status 66, the dump), and checking goes on with the default.
 * Valid values say nothing. Only the checked build reads the environment.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static void nested_pair(void *arg)
{
	lc_mutex_t a, b;

	(void)arg;
	lc_mutex_init(&a, "config.a");
	lc_mutex_init(&b, "config.b");
	lc_mutex_lock(&a);
	lc_mutex_lock(&b);
	lc_mutex_unlock(&b);
	lc_mutex_unlock(&a);
}

/* Runs nested_pair under one setting; expects exactly line. */
static void expect_config_line(const char *setting, const char *line)
{
	const char *env[] = { setting, NULL };
	struct lct_child c =
		lct_expect_reports(nested_pair, NULL, env, "config", 1);
	char got[1024];

	ck_assert(
		lct_find_line(c.err, "lockcheck: config: ", got, sizeof(got)));
	ck_assert_str_eq(got, line);
	lct_child_free(&c);
}

START_TEST(test_bad_action)
{
	expect_config_line("LOCKCHECK_ACTION=bogus",
			   "lockcheck: config: LOCKCHECK_ACTION=\"bogus\": not "
			   "an action; accepted: report (go on) or abort (stop "
			   "at the first finding); using report");
}
END_TEST

static const char *const bad_exitcodes[] = { "abc", "300", "-1", "7x" };

START_TEST(test_bad_exitcode)
{
	char setting[64], line[512];

	snprintf(setting, sizeof(setting), "LOCKCHECK_EXITCODE=%s",
		 bad_exitcodes[_i]);
	snprintf(line, sizeof(line),
		 "lockcheck: config: LOCKCHECK_EXITCODE=\"%s\": not an exit "
		 "status; accepted: 0 to 255 (0 keeps the program's own "
		 "status); using 66",
		 bad_exitcodes[_i]);
	expect_config_line(setting, line);
}
END_TEST

static const char *const limits[] = { "LOCKCHECK_MAX_CLASSES",
				      "LOCKCHECK_MAX_HELD",
				      "LOCKCHECK_MAX_CHAINS" };
static const char *const bad_limits[] = { "0", "junk", "4294967296" };
static const char *const defaults[] = { "1048576", "65536", "4194304" };

START_TEST(test_bad_limits)
{
	for (int v = 0; v < 3; v++) {
		char setting[96], line[512];

		snprintf(setting, sizeof(setting), "%s=%s", limits[_i],
			 bad_limits[v]);
		snprintf(line, sizeof(line),
			 "lockcheck: config: %s=\"%s\": not a positive number; "
			 "accepted: 1 to 4294967295; using %s",
			 limits[_i], bad_limits[v], defaults[_i]);
		expect_config_line(setting, line);
	}
}
END_TEST

START_TEST(test_bad_symbolize)
{
	expect_config_line("LOCKCHECK_SYMBOLIZE=yes",
			   "lockcheck: config: LOCKCHECK_SYMBOLIZE=\"yes\": "
			   "not 0 or 1; accepted: 1 (source lines through "
			   "addr2line) or 0 (object+offset); using 1");
}
END_TEST

/* Quotes, backslashes and control bytes of a value are escaped: the line
 * stays one line; a long value is cut. */
START_TEST(test_value_is_escaped_and_cut)
{
	char setting[400], line[600];

	expect_config_line("LOCKCHECK_ACTION=a\"b\\c\nlockcheck: fake: x",
			   "lockcheck: config: LOCKCHECK_ACTION=\"a\\\"b\\\\c"
			   "\\nlockcheck: fake: x\": not an action; accepted: "
			   "report (go on) or abort (stop at the first "
			   "finding); using report");
	snprintf(setting, sizeof(setting), "LOCKCHECK_ACTION=%0300d", 0);
	snprintf(line, sizeof(line),
		 "lockcheck: config: LOCKCHECK_ACTION=\"%0252d...\": not an "
		 "action; accepted: report (go on) or abort (stop at the "
		 "first finding); using report",
		 0);
	expect_config_line(setting, line);
}
END_TEST

START_TEST(test_log_that_cannot_be_opened)
{
	expect_config_line("LOCKCHECK_LOG=/dev/null/lc.log",
			   "lockcheck: config: LOCKCHECK_LOG=\"/dev/null/"
			   "lc.log\": cannot open it to append (Not a "
			   "directory); accepted: a file path this process "
			   "can create or append to; reports go to stderr");
}
END_TEST

/* A file where the dump directory should be: left alone, no dump. (Its
 * path is long: the value is cut in the line.) */
START_TEST(test_dump_path_that_is_a_file)
{
	static const char tail[] =
		": not a directory (Not a directory); accepted: a directory, "
		"created with its parents when missing; no dump is written";
	const char *dir = lct_tmpdir("dumpfile");
	char path[4200], setting[4300], got[1024];
	const char *env[] = { setting, NULL };
	struct lct_child c;
	FILE *f;
	char *text;

	snprintf(path, sizeof(path), "%s/not-a-dir", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("mine\n", f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(setting, sizeof(setting), "LOCKCHECK_DUMP=%s", path);
	c = lct_expect_reports(nested_pair, NULL, env, "config", 1);
	ck_assert(lct_find_line(c.err, "lockcheck: config: LOCKCHECK_DUMP=\"",
				got, sizeof(got)));
	ck_assert_uint_gt(strlen(got), sizeof(tail));
	ck_assert_str_eq(got + strlen(got) - (sizeof(tail) - 1), tail);
	lct_child_free(&c);
	text = lct_read_file(path, NULL);
	ck_assert_str_eq(text ? text : "", "mine\n");
	free(text);
	ck_assert_int_eq(lct_count_entries(dir), 1);
}
END_TEST

/* A directory that cannot be made (its parent is a file). */
START_TEST(test_dump_directory_that_cannot_be_made)
{
	const char *const env[] = { "LOCKCHECK_DUMP=/dev/null/dumps", NULL };
	struct lct_child c =
		lct_expect_reports(nested_pair, NULL, env, "config", 1);
	char got[1024];

	ck_assert(
		lct_find_line(c.err, "lockcheck: config: ", got, sizeof(got)));
	ck_assert_str_eq(got, "lockcheck: config: LOCKCHECK_DUMP=\"/dev/null/"
			      "dumps\": cannot create it (Not a directory); "
			      "accepted: a directory, created with its parents "
			      "when missing; no dump is written");
	lct_child_free(&c);
}
END_TEST

/* A bad setting is in the dump too, so lockgraph check fails on it. */
START_TEST(test_config_finding_is_in_the_dump)
{
	const char *dir = lct_tmpdir("configdump");
	char setting[4200];
	const char *env[] = { setting, "LOCKCHECK_MAX_HELD=lots", NULL };
	struct lct_child c;
	char *dump;

	snprintf(setting, sizeof(setting), "LOCKCHECK_DUMP=%s", dir);
	c = lct_expect_reports(nested_pair, NULL, env, "config", 1);
	lct_child_free(&c);
	dump = lct_read_only_dump(dir);
	ck_assert_ptr_nonnull(dump);
	ck_assert_uint_eq(lct_count_prefix(dump,
					   "finding config - "
					   "\"LOCKCHECK_MAX_HELD=\\\"lots"
					   "\\\": not a positive number;"),
			  1);
	ck_assert_uint_eq(lct_count_prefix(dump, "edge "), 1);
	free(dump);
}
END_TEST

/* With LOCKCHECK_ACTION=abort a bad setting still does not abort: the
 * program's lock bugs do. */
START_TEST(test_config_finding_does_not_abort)
{
	const char *env[] = { "LOCKCHECK_ACTION=abort", "LOCKCHECK_SYMBOLIZE=2",
			      NULL };
	struct lct_child c =
		lct_expect_reports(nested_pair, NULL, env, "config", 1);

	lct_child_free(&c);
}
END_TEST

/* The silent twin: every setting valid. */
START_TEST(test_valid_settings_say_nothing)
{
	const char *dir = lct_tmpdir("valid");
	char dump[4200], log[4300];
	const char *env[] = { "LOCKCHECK_ACTION=report",
			      "LOCKCHECK_EXITCODE=0",
			      "LOCKCHECK_SYMBOLIZE=0",
			      "LOCKCHECK_MAX_CLASSES=100",
			      "LOCKCHECK_MAX_HELD=8",
			      "LOCKCHECK_MAX_CHAINS=4294967295",
			      dump,
			      log,
			      NULL };
	struct lct_child c;
	char *text;

	snprintf(dump, sizeof(dump), "LOCKCHECK_DUMP=%s/d/", dir);
	snprintf(log, sizeof(log), "LOCKCHECK_LOG=%s/log", dir);
	c = lct_expect_reports(nested_pair, NULL, env, NULL, 0);
	lct_child_free(&c);
	snprintf(log, sizeof(log), "%s/log", dir);
	text = lct_read_file(log, NULL);
	ck_assert_str_eq(text ? text : "(none)", "");
	free(text);
	snprintf(dump, sizeof(dump), "%s/d", dir);
	ck_assert_int_eq(lct_count_entries(dump), 1);
}
END_TEST

/* Without the checker nothing reads the environment. */
START_TEST(test_plain_build_reads_no_setting)
{
	const char *env[] = { "LOCKCHECK_ACTION=bogus",
			      "LOCKCHECK_EXITCODE=abc", NULL };
	struct lct_child c =
		lct_expect_reports(nested_pair, NULL, env, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_config");
	TCase *tc = tcase_create("lockcheck");

	if (LOCKCHECK) {
		tcase_add_test(tc, test_bad_action);
		tcase_add_loop_test(tc, test_bad_exitcode, 0, 4);
		tcase_add_loop_test(tc, test_bad_limits, 0, 3);
		tcase_add_test(tc, test_bad_symbolize);
		tcase_add_test(tc, test_value_is_escaped_and_cut);
		tcase_add_test(tc, test_log_that_cannot_be_opened);
		tcase_add_test(tc, test_dump_path_that_is_a_file);
		tcase_add_test(tc, test_dump_directory_that_cannot_be_made);
		tcase_add_test(tc, test_config_finding_is_in_the_dump);
		tcase_add_test(tc, test_config_finding_does_not_abort);
		tcase_add_test(tc, test_valid_settings_say_nothing);
	} else {
		tcase_add_test(tc, test_plain_build_reads_no_setting);
	}
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
