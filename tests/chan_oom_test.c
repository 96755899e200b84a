/*
 * chan_oom_test.c: ds_chan_create meets a failed allocation at every
 * point it allocates, and each time returns ENOMEM (or the lock layer's
 * error) with nothing leaked or half built; sending, receiving, closing
 * and the stats never allocate.
 *
 * The failures come from testdata/failalloc.h (glibc's allocator replaced
 * for this binary), so the cases run in the plain and lockcheck builds and
 * are left out of the sanitizer builds, which own malloc.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "ds/chan.h"
#include "testdata/failalloc.h"
#include "testutil.h"

START_TEST(test_create_fails_cleanly_at_every_allocation)
{
	long failures = 0;

	for (long n = 0;; n++) {
		ds_chan_t *ch = NULL;
		int err, item = 7, got = 0;
		bool fired;

		failalloc_arm(n);
		err = ds_chan_create(&ch, 4, sizeof(int), "oom");
		fired = failalloc_disarm();
		if (err) {
			ck_assert_int_eq(err, ENOMEM);
			ck_assert_ptr_null(ch);
			failures++;
			continue;
		}
		ck_assert_int_eq(ds_chan_send(ch, &item), 0);
		ck_assert_int_eq(ds_chan_recv(ch, &got), 0);
		ck_assert_int_eq(got, 7);
		ds_chan_destroy(ch);
		if (!fired)
			break; /* got past every allocation */
	}
	ck_assert_int_gt(failures, 0);
}
END_TEST

START_TEST(test_operations_do_not_allocate)
{
	ds_chan_t *ch = NULL;
	struct ds_chan_stats st;
	int item = 1, got[3] = { 0, 0, 0 }, err[9];

	ck_assert_int_eq(ds_chan_create(&ch, 2, sizeof(int), "oom"), 0);
	ck_assert_int_eq(ds_chan_stats(ch, &st), 0); /* warm up */
	failalloc_arm(0); /* no ck_assert while armed: Check allocates */
	err[0] = ds_chan_send(ch, &item);
	err[1] = ds_chan_try_send(ch, &item);
	err[2] = ds_chan_send_timeout(ch, &item, 1);
	err[3] = ds_chan_recv(ch, &got[0]);
	err[4] = ds_chan_try_recv(ch, &got[1]);
	err[5] = ds_chan_recv_timeout(ch, &got[2], 1);
	err[6] = ds_chan_close(ch);
	err[7] = ds_chan_stats(ch, &st);
	err[8] = ds_chan_recv(ch, &got[2]);
	ck_assert(!failalloc_disarm());
	ck_assert_int_eq(err[0] + err[1] + err[3] + err[4] + err[6] + err[7],
			 0);
	ck_assert_int_eq(err[2], ETIMEDOUT);
	ck_assert_int_eq(err[5], ETIMEDOUT);
	ck_assert_int_eq(err[8], EPIPE);
	ck_assert_int_eq(got[0] + got[1], 2);
	ck_assert(st.closed && st.sent == 2 && st.received == 2);
	ds_chan_destroy(ch);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chan_oom");
	TCase *core = tcase_create("core");

	/* The sweep starves the checker too: its limit findings are
	 * expected here, and are not what the exit status should say. */
	setenv("LOCKCHECK_EXITCODE", "0", 1);
	if (FAILALLOC) {
		tcase_add_test(core,
			       test_create_fails_cleanly_at_every_allocation);
		tcase_add_test(core, test_operations_do_not_allocate);
	}
	suite_add_tcase(s, core);
	return lct_run_suite(s);
}
