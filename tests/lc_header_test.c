/*
 * lc_header_test.c: lockcheck.h in the language modes users compile it in.
 *
 * In every build: testdata/lc_header_probe.c, built as strict ISO C
 * (-std=c11 -pedantic, no feature macro) into this binary, runs every call
 * of the header; glibc's PTHREAD_RWLOCK_INITIALIZER is all zero bytes (the
 * strict-C rwlock initializer relies on it). In the plain build, the probe
 * is also compiled by each compiler installed in each mode: gcc and clang
 * as -std=c11 -pedantic, g++ and clang++ as C++11, 14 and 17, each with
 * LOCKCHECK=0 and 1, all with -Wall -Wextra -Werror.
 */
#define _GNU_SOURCE
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testdata/lc_header_probe.h"
#include "testutil.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
static const bool sanitized = true;
#else
static const bool sanitized = false;
#endif

START_TEST(test_strict_c11_probe_runs_every_call)
{
	ck_assert_int_eq(lc_header_probe(), 0);
}
END_TEST

START_TEST(test_rwlock_initializer_is_zero_bytes)
{
	static const pthread_rwlock_t init = PTHREAD_RWLOCK_INITIALIZER;
	static const unsigned char zero[sizeof(init)];

	ck_assert_int_eq(memcmp(&init, zero, sizeof(init)), 0);
	ck_assert_uint_eq(sizeof(lc__pthread_rwlock_t), sizeof(init));
}
END_TEST

static const char *const modes[][3] = {
	{ "gcc", "-xc", "-std=c11" },
	{ "clang", "-xc", "-std=c11" },
	{ "g++", "-xc++", "-std=c++11" },
	{ "g++", "-xc++", "-std=c++14" },
	{ "g++", "-xc++", "-std=c++17" },
	{ "clang++", "-xc++", "-std=c++11" },
	{ "clang++", "-xc++", "-std=c++14" },
	{ "clang++", "-xc++", "-std=c++17" },
};

/* -I for lockcheck.h and the probe's path, from the runfiles. */
static void paths(char *inc, size_t isize, char *probe, size_t psize)
{
	const char *header = lct_runfile("include/lockcheck/lockcheck.h");

	ck_assert_ptr_nonnull(header);
	snprintf(inc, isize, "-I%.*s",
		 (int)(strlen(header) - strlen("/lockcheck/lockcheck.h")),
		 header);
	ck_assert_ptr_nonnull(lct_runfile("tests/testdata/lc_header_probe.c"));
	snprintf(probe, psize, "%s",
		 lct_runfile("tests/testdata/lc_header_probe.c"));
}

START_TEST(test_probe_compiles_in_every_language_mode)
{
	const char *const *m = modes[_i];
	char inc[4200], probe[4200];

	paths(inc, sizeof(inc), probe, sizeof(probe));
	for (int mode = 0; mode < 2; mode++) {
		const char *argv[] = { m[0],
				       m[1],
				       m[2],
				       "-pedantic",
				       "-Wall",
				       "-Wextra",
				       "-Werror",
				       "-fsyntax-only",
				       mode ? "-DLOCKCHECK=1" : "-DLOCKCHECK=0",
				       inc,
				       probe,
				       NULL };
		struct lct_child c;

		ck_assert_int_eq(lct_run_cmd(argv, NULL, &c), 0);
		if (!lct_exited_with(&c, 0))
			lct_child_dump(&c, m[0]);
		ck_assert_msg(lct_exited_with(&c, 0), "%s %s LOCKCHECK=%d",
			      m[0], m[2], mode);
		lct_child_free(&c);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_header");
	TCase *core = tcase_create("core");
	TCase *tools = tcase_create("tools");

	tcase_add_test(core, test_strict_c11_probe_runs_every_call);
	tcase_add_test(core, test_rwlock_initializer_is_zero_bytes);
	if (!LOCKCHECK && !sanitized) /* the compilers' verdict is one */
		tcase_add_loop_test(tools,
				    test_probe_compiles_in_every_language_mode,
				    0, sizeof(modes) / sizeof(modes[0]));
	tcase_set_timeout(tools, 120);
	suite_add_tcase(s, core);
	suite_add_tcase(s, tools);
	return lct_run_suite(s);
}
