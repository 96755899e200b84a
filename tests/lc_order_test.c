/*
 * lc_order_test.c: lock-order cycles between classes, by the classic
 * patterns (named as in lockdep's userspace tests: each pair of letters is
 * "hold the first, take the second"), long cycles and rings, and the
 * consistent orders that must stay silent. Each case runs in a child; each
 * pair is taken by its own thread, one after the other, so nothing ever
 * deadlocks for real: the checker must see the cycle anyway.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static lc_mutex_t A = LC_MUTEX_INITIALIZER("A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");
static lc_mutex_t C = LC_MUTEX_INITIALIZER("C");
static lc_mutex_t D = LC_MUTEX_INITIALIZER("D");

struct pair {
	lc_mutex_t *first, *second;
};

static void lock_pair(void *arg)
{
	const struct pair *p = arg;

	ck_assert_int_eq(lc_mutex_lock(p->first), 0);
	ck_assert_int_eq(lc_mutex_lock(p->second), 0);
	ck_assert_int_eq(lc_mutex_unlock(p->second), 0);
	ck_assert_int_eq(lc_mutex_unlock(p->first), 0);
}

/* A pattern: pairs terminated by a zeroed pair, each in its own thread. */
static void pairs_in_threads(void *arg)
{
	for (const struct pair *p = arg; p->first; p++)
		lct_in_thread(lock_pair, (void *)p);
}

/* Runs pattern and expects one cycle report whose first line is line. */
static void expect_cycle(const struct pair *pattern, const char *line)
{
	struct lct_child c =
		lct_expect_reports(pairs_in_threads, (void *)pattern, NULL,
				   "lock-order-cycle", LOCKCHECK ? 1 : 0);
	char got[512];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_str_eq(got, line);
	}
	lct_child_free(&c);
}

START_TEST(test_ABBA_is_reported)
{
	const struct pair p[] = { { &A, &B }, { &B, &A }, { 0 } };

	expect_cycle(p, "lockcheck: lock-order-cycle: B -> A -> B "
			"(2 locks, 2 threads)");
}
END_TEST

START_TEST(test_ABBCCA_is_reported)
{
	const struct pair p[] = { { &A, &B }, { &B, &C }, { &C, &A }, { 0 } };

	expect_cycle(p, "lockcheck: lock-order-cycle: C -> A -> B -> C "
			"(3 locks, 3 threads)");
}
END_TEST

START_TEST(test_ABBCCDDA_is_reported)
{
	const struct pair p[] = {
		{ &A, &B }, { &B, &C }, { &C, &D }, { &D, &A }, { 0 }
	};

	expect_cycle(p, "lockcheck: lock-order-cycle: D -> A -> B -> C -> D "
			"(4 locks, 4 threads)");
}
END_TEST

/* The closing edge B->C touches neither end of the first edge seen. */
START_TEST(test_ABCABC_is_reported)
{
	const struct pair p[] = { { &A, &B }, { &C, &A }, { &B, &C }, { 0 } };

	expect_cycle(p, "lockcheck: lock-order-cycle: B -> C -> A -> B "
			"(3 locks, 3 threads)");
}
END_TEST

START_TEST(test_ABCDBCDA_is_reported)
{
	const struct pair p[] = {
		{ &A, &B }, { &C, &D }, { &B, &C }, { &D, &A }, { 0 }
	};

	expect_cycle(p, "lockcheck: lock-order-cycle: D -> A -> B -> C -> D "
			"(4 locks, 4 threads)");
}
END_TEST

/* C->D is a distractor: the report names only the classes on the cycle. */
START_TEST(test_ABCDBDDA_names_only_the_cycle)
{
	const struct pair p[] = {
		{ &A, &B }, { &C, &D }, { &B, &D }, { &D, &A }, { 0 }
	};

	expect_cycle(p, "lockcheck: lock-order-cycle: D -> A -> B -> D "
			"(3 locks, 3 threads)");
}
END_TEST

static void abba_one_thread(void *arg)
{
	const struct pair p[] = { { &A, &B }, { &B, &A } };

	(void)arg;
	for (int round = 0; round < 3; round++) {
		lock_pair((void *)&p[0]);
		lock_pair((void *)&p[1]);
	}
}

START_TEST(test_cycle_of_one_thread_is_reported_once)
{
	struct lct_child c =
		lct_expect_reports(abba_one_thread, NULL, NULL,
				   "lock-order-cycle", LOCKCHECK ? 1 : 0);
	char got[256];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_str_eq(got,
				 "lockcheck: lock-order-cycle: B -> A -> B "
				 "(2 locks, 1 thread)");
	}
	lct_child_free(&c);
}
END_TEST

/* A -> B closes A B A and A B C A at once: both are reported, whichever
 * order the other edges came in. */
START_TEST(test_one_edge_closing_two_cycles_reports_both)
{
	const struct pair last[] = {
		{ &B, &A }, { &B, &C }, { &C, &A }, { &A, &B }, { 0 }
	};
	const struct pair first[] = {
		{ &A, &B }, { &B, &A }, { &B, &C }, { &C, &A }, { 0 }
	};
	const struct pair *orders[] = { last, first };

	for (int i = 0; i < 2; i++) {
		struct lct_child c = lct_expect_reports(
			pairs_in_threads, (void *)orders[i], NULL,
			"lock-order-cycle", LOCKCHECK ? 2 : 0);

		lct_child_free(&c);
	}
}
END_TEST

static void two_distinct_cycles(void *arg)
{
	const struct pair p[] = {
		{ &A, &B }, { &B, &A }, { &C, &D }, { &D, &C }, { 0 }
	};

	pairs_in_threads((void *)p);
	(void)arg;
}

START_TEST(test_checking_goes_on_after_a_finding)
{
	struct lct_child c =
		lct_expect_reports(two_distinct_cycles, NULL, NULL,
				   "lock-order-cycle", LOCKCHECK ? 2 : 0);

	if (LOCKCHECK)
		ck_assert_uint_eq(
			lct_count_prefix(
				c.err,
				"lockcheck: lock-order-cycle: D -> C -> D "),
			1);
	lct_child_free(&c);
}
END_TEST

/* A name is one line of a report: a newline in it must not start a line
 * that looks like a finding. */
static void abba_with_evil_names(void *arg)
{
	lc_mutex_t evil = LC_MUTEX_INITIALIZER("evil\nlockcheck: fake: x");

	(void)arg;
	lc_thread_set_name("t\nlockcheck: also-fake: y");
	lock_pair(&(struct pair){ &evil, &A });
	lock_pair(&(struct pair){ &A, &evil });
}

START_TEST(test_control_characters_in_names_cannot_forge_report_lines)
{
	struct lct_child c =
		lct_expect_reports(abba_with_evil_names, NULL, NULL,
				   "lock-order-cycle", LOCKCHECK);

	if (LOCKCHECK)
		ck_assert_ptr_nonnull(
			strstr(c.err, "evil\\nlockcheck: fake: x"));
	lct_child_free(&c);
}
END_TEST

/* ---- many classes: initializers with distinct names are distinct. ---- */

/* n locks, each its own class "<prefix><i>"; the names live in the same
 * block, after the locks, so one free() releases everything. */
static lc_mutex_t *named_locks(int n, const char *prefix)
{
	lc_mutex_t *locks = malloc((size_t)n * (sizeof(*locks) + 32));
	char *names = (char *)(locks + n);

	ck_assert_ptr_nonnull(locks);
	for (int i = 0; i < n; i++) {
		snprintf(names + 32 * i, 32, "%s%d", prefix, i);
		locks[i] = (lc_mutex_t)LC_MUTEX_INITIALIZER(names + 32 * i);
	}
	return locks;
}

static void chain_then_close(void *arg)
{
	int n = *(int *)arg;
	lc_mutex_t *l = named_locks(n, "c");

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i + 1 < n; i++)
			lock_pair(&(struct pair){ &l[i], &l[i + 1] });
		lock_pair(&(struct pair){ &l[n - 1], &l[0] });
	}
	free(l);
}

START_TEST(test_200_class_cycle_is_found_once)
{
	int n = 200;
	struct lct_child c = lct_expect_reports(chain_then_close, &n, NULL,
						"lock-order-cycle", LOCKCHECK);
	char got[4096];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_ptr_nonnull(
			strstr(got, ": c199 -> c0 -> c1 -> c2 -> "));
		ck_assert_ptr_nonnull(strstr(got, "-> c14 -> ... and 184 more "
						  "-> c199 (200 locks, 1 "
						  "thread)"));
	}
	lct_child_free(&c);
}
END_TEST

/* A 10,000-class cycle: its report's first line names the first few
 * locks and how many more, its block shows the first edges, and the dump
 * stays within lockgraph's line limit (lockgraph reads it). */
START_TEST(test_10000_class_cycle_report_is_bounded)
{
	int n = 10000;
	const char *dir = lct_tmpdir("long-cycle");
	char env0[4200], got[4096];
	const char *env[] = { env0, NULL };
	const char *bin = lct_runfile("tools/lockgraph/lockgraph");
	struct lct_child c;

	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	c = lct_expect_reports(chain_then_close, &n, env, "lock-order-cycle",
			       LOCKCHECK);
	if (LOCKCHECK) {
		LCT_ASSERT_CHILD(&c, lct_find_line(c.err, "lockcheck: ", got,
						   sizeof(got)));
		LCT_ASSERT_ERR_HAS(&c, ": c9999 -> c0 -> c1 -> ");
		LCT_ASSERT_ERR_HAS(&c, "-> c14 -> ... and 9984 more -> c9999 "
				       "(10000 locks, 1 thread)\n");
		LCT_ASSERT_ERR_HAS(&c,
				   "  ... and 9968 more edges, not shown\n");
		LCT_ASSERT_CHILD(&c, c.err_len < 64 * 1024);
	}
	lct_child_free(&c);
	if (LOCKCHECK) {
		char path[4096];
		const char *argv[] = { path, "check", dir, NULL };

		ck_assert_ptr_nonnull(bin);
		snprintf(path, sizeof(path), "%s", bin);
		LCT_ASSERT_RAN(lct_run_cmd(argv, NULL, &c), &c);
		LCT_ASSERT_EXITED(&c, 1);
		lct_child_free(&c);
	}
}
END_TEST

static void ring_in_threads(void *arg)
{
	int n = *(int *)arg;
	lc_mutex_t *l = named_locks(n, "ring");

	for (int i = 0; i < n; i++)
		lct_in_thread(lock_pair,
			      &(struct pair){ &l[i], &l[(i + 1) % n] });
	free(l);
}

START_TEST(test_ring_of_100_locks_is_found)
{
	int n = 100;
	struct lct_child c = lct_expect_reports(ring_in_threads, &n, NULL,
						"lock-order-cycle", LOCKCHECK);
	char got[4096];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_ptr_nonnull(strstr(got, "(100 locks, 100 threads)"));
	}
	lct_child_free(&c);
}
END_TEST

/* ---- dining philosophers ---- */

#define PHILOSOPHERS 5

struct table {
	lc_mutex_t fork[PHILOSOPHERS];
	int seat;
	int lower_first; /* the fix: take the lower-numbered fork first */
};

static void dine(void *arg)
{
	struct table *t = arg;
	int left = t->seat, right = (t->seat + 1) % PHILOSOPHERS;
	int first = left, second = right;

	if (t->lower_first && right < left)
		first = right, second = left;
	lock_pair(&(struct pair){ &t->fork[first], &t->fork[second] });
}

static void dinner(struct table *t)
{
	for (t->seat = 0; t->seat < PHILOSOPHERS; t->seat++)
		lct_in_thread(dine, t);
}

static void philosophers_unkeyed(void *arg)
{
	struct table t = { .lower_first = *(int *)arg };

	for (int i = 0; i < PHILOSOPHERS; i++)
		lc_mutex_init(&t.fork[i], "fork"); /* one class: instances */
	dinner(&t);
}

static void philosophers_keyed(void *arg)
{
	struct table t = { .lower_first = *(int *)arg };

	for (int i = 0; i < PHILOSOPHERS; i++) {
		lc_mutex_init(&t.fork[i], "fork");
		lc_mutex_set_order(&t.fork[i], (uint64_t)i);
	}
	dinner(&t);
}

START_TEST(test_dining_philosophers_are_reported)
{
	int fixed = 0;
	struct lct_child c =
		lct_expect_reports(philosophers_unkeyed, &fixed, NULL,
				   "lock-order-cycle", LOCKCHECK);
	char got[1024];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_str_eq(got, "lockcheck: lock-order-cycle: fork#5 -> "
				      "fork#1 -> fork#2 -> fork#3 -> fork#4 -> "
				      "fork#5 (5 locks of class fork, "
				      "5 threads)");
	}
	lct_child_free(&c);
}
END_TEST

START_TEST(test_dining_philosophers_lower_fork_first_is_silent)
{
	int fixed = 1;
	struct lct_child c =
		lct_expect_reports(philosophers_unkeyed, &fixed, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

START_TEST(test_keyed_forks_out_of_order_are_reported)
{
	int fixed = 0;
	struct lct_child c = lct_expect_reports(
		philosophers_keyed, &fixed, NULL, "order-violation", LOCKCHECK);
	char got[512];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_ptr_nonnull(strstr(got, "order-violation: fork with "
						  "key 0 wanted while holding "
						  "key 4 of the same class"));
	}
	lct_child_free(&c);
}
END_TEST

START_TEST(test_keyed_forks_lower_first_are_silent)
{
	int fixed = 1;
	struct lct_child c =
		lct_expect_reports(philosophers_keyed, &fixed, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- consistent orders stay silent ---- */

static void nest(lc_mutex_t *l, int n)
{
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(lc_mutex_lock(&l[i]), 0);
	for (int i = n - 1; i >= 0; i--)
		ck_assert_int_eq(lc_mutex_unlock(&l[i]), 0);
}

static lc_mutex_t *deep;

static void nest40(void *arg)
{
	(void)arg;
	nest(deep, 40);
}

static void nesting_40_deep(void *arg)
{
	(void)arg;
	deep = named_locks(40, "deep");
	for (int round = 0; round < 3; round++) {
		nest40(NULL);
		lct_in_thread(nest40, NULL);
	}
	free(deep);
}

START_TEST(test_40_deep_nesting_in_one_order_is_silent)
{
	struct lct_child c =
		lct_expect_reports(nesting_40_deep, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* A is released from under B. B was trylocked, so no A->B edge exists: if
 * A stayed in the held set by mistake, C taken next would get an A->C edge
 * and C then A would close a cycle. */
static void non_lifo_unlock(void *arg)
{
	(void)arg;
	lc_mutex_lock(&A);
	ck_assert_int_eq(lc_mutex_trylock(&B), 0);
	ck_assert_int_eq(lc_mutex_unlock(&A), 0);
	lc_mutex_lock(&C);
	ck_assert_int_eq(lc_mutex_unlock(&C), 0);
	ck_assert_int_eq(lc_mutex_unlock(&B), 0);
	lct_in_thread(lock_pair, &(struct pair){ &C, &A });
}

START_TEST(test_non_lifo_unlock_keeps_the_held_set_right)
{
	struct lct_child c =
		lct_expect_reports(non_lifo_unlock, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

static void hold_1024_keyed(void *arg)
{
	int n = 1024;
	lc_mutex_t *l = malloc((size_t)n * sizeof(*l));

	(void)arg;
	ck_assert_ptr_nonnull(l);
	for (int i = 0; i < n; i++) {
		lc_mutex_init(&l[i], "bucket");
		lc_mutex_set_order(&l[i], (uint64_t)i);
	}
	nest(l, n);
	nest(l, n);
	free(l);
}

START_TEST(test_1024_locks_held_at_once_are_fine)
{
	struct lct_child c =
		lct_expect_reports(hold_1024_keyed, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_order");
	TCase *cycles = tcase_create("lockcheck");
	TCase *silent = tcase_create("core");

	tcase_set_timeout(cycles, 120);
	tcase_set_timeout(silent, 120);
	tcase_add_test(cycles, test_ABBA_is_reported);
	tcase_add_test(cycles, test_ABBCCA_is_reported);
	tcase_add_test(cycles, test_ABBCCDDA_is_reported);
	tcase_add_test(cycles, test_ABCABC_is_reported);
	tcase_add_test(cycles, test_ABCDBCDA_is_reported);
	tcase_add_test(cycles, test_ABCDBDDA_names_only_the_cycle);
	tcase_add_test(cycles, test_cycle_of_one_thread_is_reported_once);
	tcase_add_test(cycles, test_checking_goes_on_after_a_finding);
	tcase_add_test(cycles, test_one_edge_closing_two_cycles_reports_both);
	tcase_add_test(
		cycles,
		test_control_characters_in_names_cannot_forge_report_lines);
	tcase_add_test(cycles, test_200_class_cycle_is_found_once);
	tcase_add_test(cycles, test_10000_class_cycle_report_is_bounded);
	tcase_add_test(cycles, test_ring_of_100_locks_is_found);
	tcase_add_test(cycles, test_dining_philosophers_are_reported);
	tcase_add_test(cycles, test_keyed_forks_out_of_order_are_reported);
	tcase_add_test(silent,
		       test_dining_philosophers_lower_fork_first_is_silent);
	tcase_add_test(silent, test_keyed_forks_lower_first_are_silent);
	tcase_add_test(silent, test_40_deep_nesting_in_one_order_is_silent);
	tcase_add_test(silent, test_non_lifo_unlock_keeps_the_held_set_right);
	tcase_add_test(silent, test_1024_locks_held_at_once_are_fine);
	suite_add_tcase(s, cycles);
	suite_add_tcase(s, silent);
	return lct_run_suite(s);
}
