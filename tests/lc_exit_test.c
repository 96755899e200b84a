/*
 * lc_exit_test.c: a process that reported a finding exits 66, and changing
 * its status loses nothing the program does at exit: atexit handlers
 * registered before and after the checker started, destructor functions,
 * output still in stdio buffers. Lock bugs in those exit paths count too.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static lc_mutex_t A = LC_MUTEX_INITIALIZER("exit.A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("exit.B");

static const char *marker_dir;	/* where the exit work leaves its files */
static bool abba_in_destructor; /* the destructor's lock bug, on request */

static void take(lc_mutex_t *first, lc_mutex_t *second)
{
	lc_mutex_lock(first);
	lc_mutex_lock(second);
	lc_mutex_unlock(second);
	lc_mutex_unlock(first);
}

static void abba(void)
{
	take(&A, &B);
	take(&B, &A);
}

/* Leaves a file named name in marker_dir. */
static void mark(const char *name)
{
	char path[4200];
	FILE *f;

	if (!marker_dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", marker_dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(name, f);
		fclose(f);
	}
}

static void handler_registered_first(void)
{
	mark("atexit-first");
}

static void handler_registered_last(void)
{
	mark("atexit-last");
}

__attribute__((destructor)) static void destructor(void)
{
	mark("destructor");
	if (abba_in_destructor)
		abba();
}

static bool marked(const char *dir, const char *name)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Exit work on both sides of the checker's start, then a finding, then
 * output left in stdout's buffer (a pipe: fully buffered). */
static void finding_with_exit_work(void *arg)
{
	marker_dir = arg;
	atexit(handler_registered_first);
	abba();
	atexit(handler_registered_last);
	printf("buffered, never flushed by the program");
}

START_TEST(test_exit_status_change_loses_no_exit_work)
{
	const char *dir = lct_tmpdir("exitwork");
	struct lct_child c;

	ck_assert_int_eq(
		lct_run_fn(finding_with_exit_work, (void *)dir, NULL, &c), 0);
	if (!lct_exited_with(&c, LOCKCHECK ? LCT_FINDING_EXIT : 0))
		lct_child_dump(&c, "exit work");
	ck_assert(lct_exited_with(&c, LOCKCHECK ? LCT_FINDING_EXIT : 0));
	ck_assert_uint_eq(lct_count_reports(&c, "lock-order-cycle"),
			  LOCKCHECK ? 1 : 0);
	ck_assert_str_eq(c.out, "buffered, never flushed by the program");
	ck_assert(marked(dir, "atexit-first"));
	ck_assert(marked(dir, "atexit-last"));
	ck_assert(marked(dir, "destructor"));
	lct_child_free(&c);
}
END_TEST

static void abba_at_exit(void)
{
	abba();
}

/* The program is clean until its exit handler inverts the order. */
static void finding_in_exit_handler(void *arg)
{
	(void)arg;
	atexit(abba_at_exit);
	take(&A, &B);
}

START_TEST(test_finding_in_an_exit_handler_counts)
{
	struct lct_child c =
		lct_expect_reports(finding_in_exit_handler, NULL, NULL,
				   "lock-order-cycle", LOCKCHECK ? 1 : 0);

	lct_child_free(&c);
}
END_TEST

static void finding_in_destructor(void *arg)
{
	(void)arg;
	abba_in_destructor = true;
	take(&A, &B);
}

START_TEST(test_finding_in_a_destructor_counts)
{
	struct lct_child c =
		lct_expect_reports(finding_in_destructor, NULL, NULL,
				   "lock-order-cycle", LOCKCHECK ? 1 : 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_exit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_exit_status_change_loses_no_exit_work);
	tcase_add_test(tc, test_finding_in_an_exit_handler_counts);
	tcase_add_test(tc, test_finding_in_a_destructor_counts);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
