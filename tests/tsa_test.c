/*
 * tsa_test.c: Clang Thread Safety Analysis. The header's lock types are
 * capabilities and its calls say what they acquire and release, in both
 * modes: a correct sample compiles with clang -Wthread-safety -Werror, a
 * guarded global written without its lock does not, and our own sources
 * (ds/, the checker, the demo) compile clean.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* Runs clang -fsyntax-only -Wthread-safety -Werror on src in mode; the
 * child, for the caller to check and free. */
static struct lct_child tsa(const char *src, int mode)
{
	const char *header = lct_runfile("include/lockcheck/lockcheck.h");
	char inc[4200], file[4200], dsinc[4200];
	struct lct_child c;

	ck_assert_ptr_nonnull(header);
	snprintf(inc, sizeof(inc), "-I%.*s",
		 (int)(strlen(header) - strlen("/lockcheck/lockcheck.h")),
		 header);
	snprintf(dsinc, sizeof(dsinc), "-I%.*s/..",
		 (int)(strlen(header) - strlen("/lockcheck/lockcheck.h")),
		 header); /* the workspace root: "lockcheck/..." includes */
	ck_assert_ptr_nonnull(lct_runfile(src));
	snprintf(file, sizeof(file), "%s", lct_runfile(src));
	{
		const char *argv[] = { "clang",
				       "-std=gnu11",
				       "-fsyntax-only",
				       "-Wthread-safety",
				       "-Werror",
				       mode ? "-DLOCKCHECK=1" : "-DLOCKCHECK=0",
				       inc,
				       dsinc,
				       file,
				       NULL };

		ck_assert_int_eq(lct_run_cmd(argv, NULL, &c), 0);
	}
	return c;
}

START_TEST(test_correct_locking_compiles)
{
	for (int mode = 0; mode < 2; mode++) {
		struct lct_child c = tsa("tests/testdata/tsa_good.c", mode);

		LCT_ASSERT_EXITED(&c, 0);
		lct_child_free(&c);
	}
}
END_TEST

START_TEST(test_unlocked_write_of_guarded_global_fails)
{
	for (int mode = 0; mode < 2; mode++) {
		struct lct_child c = tsa("tests/testdata/tsa_bad.c", mode);

		LCT_ASSERT_CHILD(&c, !lct_exited_with(&c, 0));
		LCT_ASSERT_ERR_HAS(&c, "writing variable 'hits' requires "
				       "holding mutex 'stats_lock' "
				       "exclusively");
		lct_child_free(&c);
	}
}
END_TEST

static const char *const own[] = {
	"ds/cache.c",	      "ds/chan.c",	   "ds/ledger.c",
	"ds/pool.c",	      "ds/reaper.c",	   "ds/rwmap.c",
	"tools/demo/stats.c", "tools/demo/bank.c", "tools/demo/services.c",
};

START_TEST(test_our_sources_compile_clean)
{
	for (int mode = 0; mode < 2; mode++) {
		struct lct_child c = tsa(own[_i], mode);

		LCT_ASSERT_EXITED(&c, 0);
		lct_child_free(&c);
	}
}
END_TEST

/* The checker's entry points: the checked build only. */
static const char *const checker[] = {
	"lockcheck/mutex.c",	    "lockcheck/rwlock.c",
	"lockcheck/cond.c",	    "lockcheck/race_access.c",
	"lockcheck/thread_start.c",
};

START_TEST(test_checker_compiles_clean)
{
	struct lct_child c = tsa(checker[_i], 1);

	LCT_ASSERT_EXITED(&c, 0);
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tsa");
	TCase *tools = tcase_create("tools");
	SRunner *sr;
	int failed;

	tcase_add_test(tools, test_correct_locking_compiles);
	tcase_add_test(tools, test_unlocked_write_of_guarded_global_fails);
	tcase_add_loop_test(tools, test_our_sources_compile_clean, 0,
			    sizeof(own) / sizeof(own[0]));
	tcase_add_loop_test(tools, test_checker_compiles_clean, 0,
			    sizeof(checker) / sizeof(checker[0]));
	tcase_set_timeout(tools, 120);
	suite_add_tcase(s, tools);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
