/*
 * lc_trylock_test.c: a trylock cannot block. A failed one records nothing;
 * a successful one is held but adds no edge into the lock it took, though
 * later blocking acquisitions add edges out of it. A timedlock blocks (for
 * a while), so it counts as a blocking acquisition.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static lc_mutex_t A = LC_MUTEX_INITIALIZER("A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");

enum how { LOCK, TRY, TIMED };

struct step {
	lc_mutex_t *first;
	enum how first_how;
	lc_mutex_t *second;
	enum how second_how;
	int second_result;
};

static int take(lc_mutex_t *m, enum how how)
{
	struct timespec later;

	clock_gettime(CLOCK_REALTIME, &later);
	later.tv_sec += 30;
	return how == TRY     ? lc_mutex_trylock(m)
	       : how == TIMED ? lc_mutex_timedlock(m, &later)
			      : lc_mutex_lock(m);
}

static void do_step(void *arg)
{
	const struct step *s = arg;

	ck_assert_int_eq(take(s->first, s->first_how), 0);
	ck_assert_int_eq(take(s->second, s->second_how), s->second_result);
	if (s->second_result == 0)
		ck_assert_int_eq(lc_mutex_unlock(s->second), 0);
	ck_assert_int_eq(lc_mutex_unlock(s->first), 0);
}

static void steps_in_threads(void *arg)
{
	for (const struct step *s = arg; s->first; s++)
		lct_in_thread(do_step, (void *)s);
}

static void expect(const struct step *steps, size_t cycles)
{
	struct lct_child c =
		lct_expect_reports(steps_in_threads, (void *)steps, NULL,
				   "lock-order-cycle", LOCKCHECK ? cycles : 0);

	lct_child_free(&c);
}

START_TEST(test_trylock_inversion_is_silent)
{
	const struct step s[] = { { &A, LOCK, &B, LOCK, 0 },
				  { &B, LOCK, &A, TRY, 0 },
				  { 0 } };

	expect(s, 0);
}
END_TEST

START_TEST(test_edges_out_of_a_trylocked_lock_count)
{
	const struct step s[] = { { &A, TRY, &B, LOCK, 0 },
				  { &B, LOCK, &A, LOCK, 0 },
				  { 0 } };

	expect(s, 1);
}
END_TEST

START_TEST(test_timedlock_counts_as_blocking)
{
	const struct step s[] = { { &A, LOCK, &B, LOCK, 0 },
				  { &B, LOCK, &A, TIMED, 0 },
				  { 0 } };

	expect(s, 1);
}
END_TEST

static void failed_trylock(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_lock(&A), 0); /* held here: try fails */
	lct_in_thread(do_step, &(struct step){ &B, LOCK, &A, TRY, EBUSY });
	ck_assert_int_eq(lc_mutex_unlock(&A), 0);
	lct_in_thread(do_step, &(struct step){ &A, LOCK, &B, LOCK, 0 });
}

START_TEST(test_failed_trylock_records_nothing)
{
	struct lct_child c =
		lct_expect_reports(failed_trylock, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_trylock");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_trylock_inversion_is_silent);
	tcase_add_test(tc, test_edges_out_of_a_trylocked_lock_count);
	tcase_add_test(tc, test_timedlock_counts_as_blocking);
	tcase_add_test(tc, test_failed_trylock_records_nothing);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
