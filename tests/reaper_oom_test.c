/*
 * reaper_oom_test.c: ds_reaper meets a failed allocation at every point of
 * create and of a spawn-and-wait, and each time either succeeds or returns
 * a clean error: no child left running or unreaped, and a child that was
 * started is recorded even when the record index could not grow (it is
 * found by a scan instead).
 *
 * Failures come from testdata/failalloc.h; the cases run in the plain and
 * lockcheck builds and are left out of the sanitizer builds.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ds/reaper.h"
#include "testdata/failalloc.h"
#include "testutil.h"

static bool have_zombie(void)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return false;
	return si.si_pid != 0;
}

START_TEST(test_create_fails_cleanly_at_every_allocation)
{
	long failures = 0;

	for (long n = 0;; n++) {
		struct ds_reaper *r = NULL;
		bool fired;
		int err;

		failalloc_arm(n);
		err = ds_reaper_create(&r);
		fired = failalloc_disarm();
		if (err) {
			ck_assert_msg(err == ENOMEM || err == EAGAIN,
				      "create: %s", strerror(err));
			ck_assert_ptr_null(r);
			failures++;
			continue;
		}
		ds_reaper_destroy(r);
		if (!fired)
			break;
	}
	ck_assert_int_gt(failures, 0);
}
END_TEST

/* One spawn and wait with the n-th allocation failing; no ck_assert while
 * armed (Check allocates). Returns the spawn's error. */
static int spawn_and_wait(struct ds_reaper *r, const char *const *argv, long n,
			  bool *fired, struct ds_reaper_exit *e)
{
	pid_t pid = 0;
	int err;

	failalloc_arm(n);
	err = ds_reaper_spawn(r, argv, NULL, &pid);
	if (!err)
		err = ds_reaper_wait(r, pid, -1, e) ? -1 : 0;
	*fired = failalloc_disarm();
	if (!err && e->pid != pid)
		err = -2;
	return err;
}

START_TEST(test_spawn_fails_cleanly_at_every_allocation)
{
	const char *child = lct_runfile("tests/reaper_child");
	const char *argv[] = { child, "exit", "9", NULL };
	struct ds_reaper *r = NULL;
	long failures = 0, records = 0;
	struct ds_reaper_exit e;
	bool fired = true;
	size_t drained;

	ck_assert_ptr_nonnull(child);
	ck_assert_int_eq(ds_reaper_create(&r), 0);
	for (long n = 0; fired; n++) {
		int err = spawn_and_wait(r, argv, n, &fired, &e);

		ck_assert_msg(err == 0 || err == ENOMEM || err == EAGAIN,
			      "n %ld: %d", n, err);
		ck_assert_uint_eq(ds_reaper_count_running(r), 0);
		ck_assert(!have_zombie());
		failures += err != 0;
		records += err == 0;
		if (!err)
			ck_assert_int_eq(e.code, 9);
	}
	ds_reaper_exits_free(ds_reaper_drain(r, &drained));
	ck_assert_uint_eq(drained, (size_t)records);
	ck_assert_int_gt(failures, 0);
	ds_reaper_destroy(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reaper_oom");
	TCase *core = tcase_create("core");

	/* The sweep starves the checker too: its limit findings are
	 * expected here, and are not what the exit status should say. */
	setenv("LOCKCHECK_EXITCODE", "0", 1);
	if (FAILALLOC) {
		tcase_add_test(core,
			       test_create_fails_cleanly_at_every_allocation);
		tcase_add_test(core,
			       test_spawn_fails_cleanly_at_every_allocation);
	}
	suite_add_tcase(s, core);
	return lct_run_suite(s);
}
