/*
 * ledger_oom_test.c: ds_ledger_create meets a failed allocation at every
 * point it allocates, and each time returns ENOMEM with nothing leaked or
 * half built; transfers never allocate.
 *
 * The failures come from testdata/failalloc.h (glibc's allocator replaced
 * for this binary), so the cases run in the plain and lockcheck builds and
 * are left out of the sanitizer builds, which own malloc.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "ds/ledger.h"
#include "testdata/failalloc.h"
#include "testutil.h"

START_TEST(test_create_fails_cleanly_at_every_allocation)
{
	const int64_t open[] = { 5, 6, 7, 8 };
	int64_t total = 0;
	long failures = 0;

	for (long n = 0;; n++) {
		struct ds_ledger *l = NULL;
		int err;
		bool fired;

		failalloc_arm(n);
		err = ds_ledger_create(4, open, &l);
		fired = failalloc_disarm();
		if (err) {
			ck_assert_int_eq(err, ENOMEM);
			ck_assert_ptr_null(l);
			failures++;
			continue;
		}
		ck_assert_int_eq(ds_ledger_audit(l, NULL, &total), 0);
		ck_assert_int_eq(total, 26);
		ds_ledger_destroy(l);
		if (!fired)
			break; /* got past every allocation */
	}
	ck_assert_int_gt(failures, 0);
}
END_TEST

START_TEST(test_transfers_do_not_allocate)
{
	const struct ds_ledger_leg legs[] = { { 2, -3 }, { 0, 1 }, { 1, 2 } };
	const int64_t open[] = { 5, 6, 7 };
	struct ds_ledger *l = NULL;
	int64_t total;
	int err[3];

	ck_assert_int_eq(ds_ledger_create(3, open, &l), 0);
	ck_assert_int_eq(ds_ledger_audit(l, NULL, &total), 0); /* warm up */
	failalloc_arm(0); /* no ck_assert while armed: Check allocates */
	err[0] = ds_ledger_transfer(l, 0, 1, 2);
	err[1] = ds_ledger_transfer_many(l, legs, 3);
	err[2] = ds_ledger_audit(l, NULL, &total);
	ck_assert(!failalloc_disarm());
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(err[i], 0);
	ck_assert_int_eq(total, 18);
	ds_ledger_destroy(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ledger_oom");
	TCase *core = tcase_create("core");

	/* The sweep starves the checker too: its limit findings are
	 * expected here, and are not what the exit status should say. */
	setenv("LOCKCHECK_EXITCODE", "0", 1);
	if (FAILALLOC) {
		tcase_add_test(core,
			       test_create_fails_cleanly_at_every_allocation);
		tcase_add_test(core, test_transfers_do_not_allocate);
	}
	suite_add_tcase(s, core);
	return lct_run_suite(s);
}
