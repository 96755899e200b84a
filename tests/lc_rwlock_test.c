/*
 * lc_rwlock_test.c: read/write modes. A cycle can deadlock only if at every
 * lock on it the incoming edge's wanted mode and the outgoing edge's held
 * mode are not both read (readers never wait for readers with glibc's
 * default rwlock), and the verdict must not depend on the order in which
 * the edges were learned. Plus recursion on one rwlock.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static lc_rwlock_t X = LC_RWLOCK_INITIALIZER("X");
static lc_rwlock_t Y = LC_RWLOCK_INITIALIZER("Y");
static lc_rwlock_t Z = LC_RWLOCK_INITIALIZER("Z");

enum { R, W };

/* Hold first in mode hold, then take second in mode want. */
struct step {
	lc_rwlock_t *first;
	int hold;
	lc_rwlock_t *second;
	int want;
};

static void take(lc_rwlock_t *l, int mode)
{
	ck_assert_int_eq(mode == W ? lc_rwlock_wrlock(l) : lc_rwlock_rdlock(l),
			 0);
}

static void do_step(void *arg)
{
	const struct step *s = arg;

	take(s->first, s->hold);
	take(s->second, s->want);
	ck_assert_int_eq(lc_rwlock_unlock(s->second), 0);
	ck_assert_int_eq(lc_rwlock_unlock(s->first), 0);
}

/* Steps end with a zeroed step; each runs on its own thread. */
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

START_TEST(test_read_read_inversion_is_silent)
{
	const struct step s[] = { { &X, R, &Y, R }, { &Y, R, &X, R }, { 0 } };

	expect(s, 0);
}
END_TEST

START_TEST(test_write_write_inversion_is_reported)
{
	const struct step s[] = { { &X, W, &Y, W }, { &Y, W, &X, W }, { 0 } };

	expect(s, 1);
}
END_TEST

/* T1 holds X for reading and wants Y for writing; T2 the mirror: each
 * waits for the other's reader. */
START_TEST(test_read_held_write_wanted_inversion_is_reported)
{
	const struct step s[] = { { &X, R, &Y, W }, { &Y, R, &X, W }, { 0 } };

	expect(s, 1);
}
END_TEST

START_TEST(test_write_held_read_wanted_inversion_is_reported)
{
	const struct step s[] = { { &X, W, &Y, R }, { &Y, W, &X, R }, { 0 } };

	expect(s, 1);
}
END_TEST

/* T2 wants X only for reading while T1 holds it for reading: T2 never
 * waits at X, so no deadlock. */
START_TEST(test_reader_wanting_a_read_held_lock_breaks_the_cycle)
{
	const struct step s[] = { { &X, R, &Y, W }, { &Y, W, &X, R }, { 0 } };

	expect(s, 0);
}
END_TEST

/* ---- three rwlocks, all six learning orders ---- */

static const int orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
				  { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };

/* Every lock conflicts: X->Y (W,W), Y->Z (R,W), Z->X (W,R): at Y, wanted W
 * meets held R; at Z, W meets W; at X, R meets W. A deadlock. */
static const struct step deadlocking[3] = { { &X, W, &Y, W },
					    { &Y, R, &Z, W },
					    { &Z, W, &X, R } };

/* X->Y held R, and Z->X wants X for R: readers at X never wait. */
static const struct step harmless[3] = { { &X, R, &Y, R },
					 { &Y, R, &Z, W },
					 { &Z, W, &X, R } };

START_TEST(test_three_rwlock_cycle_is_reported_in_every_order)
{
	struct step s[4] = { 0 };

	for (int i = 0; i < 3; i++)
		s[i] = deadlocking[orders[_i][i]];
	expect(s, 1);
}
END_TEST

START_TEST(test_three_rwlock_read_read_cycle_is_silent_in_every_order)
{
	struct step s[4] = { 0 };

	for (int i = 0; i < 3; i++)
		s[i] = harmless[orders[_i][i]];
	expect(s, 0);
}
END_TEST

/* An edge learned first in a harmless mode pair and later in a bad one:
 * the report comes when the bad pair arrives. */
START_TEST(test_mode_pair_learned_later_completes_the_cycle)
{
	const struct step s[] = { { &X, R, &Y, W },
				  { &Y, W, &X, R }, /* harmless so far */
				  { &Y, W, &X, W }, /* now X is wanted W */
				  { 0 } };

	expect(s, 1);
}
END_TEST

/* X->Y->X is reported first. Then X->Y->Z->X is learned harmless (X
 * read-held, wanted for reading), until X->Y is seen write-held too: now
 * it can deadlock, and it must be reported although the shortest cycle
 * through X->Y is the one already reported. */
START_TEST(test_new_cycle_through_an_edge_of_a_reported_one_is_reported)
{
	const struct step s[] = { { &X, R, &Y, W }, { &Y, W, &X, W },
				  { &Y, W, &Z, W }, { &Z, W, &X, R },
				  { &X, W, &Y, W }, { 0 } };

	expect(s, 2);
}
END_TEST

/* ---- one rwlock, one thread ---- */

static void recursive_read(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_rwlock_rdlock(&X), 0);
	ck_assert_int_eq(lc_rwlock_rdlock(&X), 0);
	ck_assert_int_eq(lc_rwlock_unlock(&X), 0);
	ck_assert_int_eq(lc_rwlock_unlock(&X), 0);
	ck_assert_int_eq(lc_rwlock_wrlock(&X), 0); /* both reads are gone */
	ck_assert_int_eq(lc_rwlock_unlock(&X), 0);
}

START_TEST(test_recursive_read_is_fine)
{
	struct lct_child c =
		lct_expect_reports(recursive_read, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

static void read_then_write(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_rwlock_rdlock(&X), 0);
	ck_assert_int_eq(lc_rwlock_wrlock(&X), EDEADLK);
	ck_assert_int_eq(lc_rwlock_unlock(&X), 0);
}

static void write_then_read(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_rwlock_wrlock(&X), 0);
	ck_assert_int_eq(lc_rwlock_rdlock(&X), EDEADLK);
	ck_assert_int_eq(lc_rwlock_unlock(&X), 0);
}

static void expect_recursive(void (*fn)(void *), const char *line)
{
	struct lct_child c =
		lct_expect_reports(fn, NULL, NULL, "recursive-lock", 1);
	char got[512];

	ck_assert(lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
	ck_assert_ptr_nonnull(strstr(got, line));
	lct_child_free(&c);
}

START_TEST(test_read_then_write_by_holder_is_recursive_lock)
{
	expect_recursive(read_then_write,
			 "lockcheck: recursive-lock: X wanted for write at ");
}
END_TEST

START_TEST(test_write_then_read_by_holder_is_recursive_lock)
{
	expect_recursive(write_then_read,
			 "lockcheck: recursive-lock: X wanted for read at ");
}
END_TEST

static void try_x_under_y(void *arg)
{
	int expect = *(int *)arg;

	take(&Y, W);
	ck_assert_int_eq(lc_rwlock_trywrlock(&X), expect);
	if (expect == 0)
		ck_assert_int_eq(lc_rwlock_unlock(&X), 0);
	ck_assert_int_eq(lc_rwlock_unlock(&Y), 0);
}

/* Y then trylock X, both when X is free (succeeds) and when the main
 * thread holds it (fails): neither adds Y->X, so X then Y is no cycle. */
static void trylock_inversions(void *arg)
{
	int ok = 0, busy = EBUSY;

	(void)arg;
	lct_in_thread(try_x_under_y, &ok);
	take(&X, W);
	lct_in_thread(try_x_under_y, &busy);
	ck_assert_int_eq(lc_rwlock_unlock(&X), 0);
	lct_in_thread(do_step, &(struct step){ &X, W, &Y, W });
}

START_TEST(test_trylock_inversions_are_silent)
{
	struct lct_child c =
		lct_expect_reports(trylock_inversions, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_rwlock");
	TCase *modes = tcase_create("lockcheck");
	TCase *core = tcase_create("core");

	tcase_set_timeout(modes, 120);
	tcase_add_test(modes, test_read_read_inversion_is_silent);
	tcase_add_test(modes, test_write_write_inversion_is_reported);
	tcase_add_test(modes,
		       test_read_held_write_wanted_inversion_is_reported);
	tcase_add_test(modes,
		       test_write_held_read_wanted_inversion_is_reported);
	tcase_add_test(modes,
		       test_reader_wanting_a_read_held_lock_breaks_the_cycle);
	tcase_add_loop_test(modes,
			    test_three_rwlock_cycle_is_reported_in_every_order,
			    0, 6);
	tcase_add_loop_test(
		modes,
		test_three_rwlock_read_read_cycle_is_silent_in_every_order, 0,
		6);
	tcase_add_test(modes, test_mode_pair_learned_later_completes_the_cycle);
	tcase_add_test(
		modes,
		test_new_cycle_through_an_edge_of_a_reported_one_is_reported);
	tcase_add_test(core, test_recursive_read_is_fine);
	tcase_add_test(core, test_trylock_inversions_are_silent);
	if (LOCKCHECK) { /* without the checker these would self-deadlock */
		tcase_add_test(
			modes,
			test_read_then_write_by_holder_is_recursive_lock);
		tcase_add_test(
			modes,
			test_write_then_read_by_holder_is_recursive_lock);
	}
	suite_add_tcase(s, modes);
	suite_add_tcase(s, core);
	return lct_run_suite(s);
}
