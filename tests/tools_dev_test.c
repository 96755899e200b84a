/*
 * tools_dev_test.c: tools/dev's command line. Help (--help, -h, help, or
 * after a command) prints the usage on stdout and exits 0 without running
 * anything; a mistake (no command, an unknown command or build) names
 * itself on stderr with the usage and exits 2. None of these cases reaches
 * Bazel or apt-get.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static struct lct_child dev(const char *a, const char *b)
{
	const char *path = lct_runfile("tools/dev");
	const char *argv[] = { path, a, b, NULL };
	struct lct_child c;

	ck_assert_ptr_nonnull(path);
	if (!a)
		argv[1] = NULL;
	ck_assert_int_eq(lct_run_cmd(argv, NULL, &c), 0);
	return c;
}

static const char *const helps[][2] = {
	{ "--help", NULL },   { "-h", NULL },	{ "help", NULL },
	{ "test", "--help" }, { "demo", "-h" }, { "bench", "help" },
};

START_TEST(test_help_prints_usage_and_runs_nothing)
{
	struct lct_child c = dev(helps[_i][0], helps[_i][1]);

	if (!lct_exited_with(&c, 0))
		lct_child_dump(&c, helps[_i][0]);
	ck_assert(lct_exited_with(&c, 0));
	ck_assert_uint_eq(lct_count_prefix(c.out, "tools/dev: the project's "
						  "one entry point."),
			  1);
	ck_assert_uint_eq(lct_count_prefix(c.out, "  tools/dev test "), 1);
	ck_assert_str_eq(c.err, "");
	ck_assert_uint_eq(lct_count_prefix(c.out, "==="), 0); /* no suite */
	lct_child_free(&c);
}
END_TEST

static const char *const mistakes[][3] = {
	{ NULL, NULL, "tools/dev: no command given" },
	{ "frobnicate", NULL, "tools/dev: unknown command 'frobnicate'" },
	{ "test", "bogus",
	  "tools/dev: unknown build 'bogus' (plain lockcheck tsan asan "
	  "scripts)" },
};

START_TEST(test_mistake_names_itself_and_exits_2)
{
	struct lct_child c = dev(mistakes[_i][0], mistakes[_i][1]);
	char first[256];

	if (!lct_exited_with(&c, 2))
		lct_child_dump(&c, "mistake");
	ck_assert(lct_exited_with(&c, 2));
	ck_assert(lct_find_line(c.err, "", first, sizeof(first)));
	ck_assert_str_eq(first, mistakes[_i][2]);
	ck_assert_uint_eq(lct_count_prefix(c.err, "  tools/dev test "), 1);
	ck_assert_str_eq(c.out, "");
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tools_dev");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_help_prints_usage_and_runs_nothing, 0,
			    sizeof(helps) / sizeof(helps[0]));
	tcase_add_loop_test(tc, test_mistake_names_itself_and_exits_2, 0,
			    sizeof(mistakes) / sizeof(mistakes[0]));
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
