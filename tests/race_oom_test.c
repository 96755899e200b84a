/*
 * race_oom_test.c: race checking under allocation failure. Every
 * allocation of a correct threaded program that uses guards and
 * happens-before is made to fail in turn: the program never crashes,
 * and never gets a race report (a lost order stops happens-before with
 * one limit line instead); a racy program still ends normally.
 */
#include <check.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "testdata/failalloc.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

static lc_mutex_t lock = LC_MUTEX_INITIALIZER("lock");
static long guarded, ordered;

static void *worker(void *arg)
{
	for (int i = 0; i < 20; i++) {
		lc_mutex_lock(&lock);
		LC_WRITE(guarded, LC_READ(guarded) + 1);
		LC_WRITE(ordered, LC_READ(ordered) + 1);
		lc_mutex_unlock(&lock);
	}
	return arg;
}

static long armed;

static void correct_program(void *arg)
{
	pthread_t th[3];
	long mine[4];

	(void)arg;
	failalloc_arm(armed);
	lc_guard(&guarded, sizeof(guarded), &lock);
	LC_WRITE(ordered, 0);
	for (int i = 0; i < 4; i++)
		LC_WRITE(mine[i], i);
	EXPECT(LC_READ(mine[3]) == 3);
	for (int i = 0; i < 3; i++)
		if (pthread_create(&th[i], NULL, worker, NULL))
			th[i] = pthread_self();
	for (int i = 0; i < 3; i++)
		if (!pthread_equal(th[i], pthread_self()))
			pthread_join(th[i], NULL);
	(void)LC_READ(ordered);
	lc_unguard(&guarded, sizeof(guarded));
	failalloc_disarm();
}

START_TEST(test_allocation_failures_give_no_false_race)
{
	int stopped = 0; /* children whose happens-before stopped */

	for (armed = 0; armed < 150; armed++) {
		struct lct_child c;

		LCT_ASSERT_RAN(lct_run_fn(correct_program, NULL, NULL, &c), &c);
		LCT_ASSERT_CHILD(&c, lct_exited_with(&c, 0) ||
					     lct_exited_with(&c, 66));
		LCT_ASSERT_REPORTS(&c, "race", 0);
		LCT_ASSERT_CHILD(
			&c, lct_count_all_reports(&c) ==
				    lct_count_reports(&c, "limit") +
					    lct_count_reports(&c, "config"));
		stopped += strstr(c.err, "lockcheck: limit: race") != NULL;
		lct_child_free(&c);
	}
	if (LOCKCHECK) /* the limit path was taken */
		ck_assert_int_gt(stopped, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("race_oom");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (FAILALLOC)
		tcase_add_test(tc, test_allocation_failures_give_no_false_race);
	tcase_set_timeout(tc, 240);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
