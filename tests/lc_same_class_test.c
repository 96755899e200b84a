/*
 * lc_same_class_test.c: two locks of one class held together. With order
 * keys on both, they must be taken in ascending key order (order-violation
 * otherwise). Without keys the checker orders the instances themselves: an
 * inversion between two instances is a cycle, a consistent order is silent
 * however many instances there are, and a destroyed lock leaves nothing
 * behind for a new lock in the same memory.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

struct accounts {
	lc_mutex_t lock[3];
};

static void open_accounts(struct accounts *a, bool keyed)
{
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(lc_mutex_init(&a->lock[i], "account"), 0);
		if (keyed)
			ck_assert_int_eq(lc_mutex_set_order(&a->lock[i],
							    (uint64_t)i * 10),
					 0);
	}
}

static void both(lc_mutex_t *first, lc_mutex_t *second)
{
	ck_assert_int_eq(lc_mutex_lock(first), 0);
	ck_assert_int_eq(lc_mutex_lock(second), 0);
	ck_assert_int_eq(lc_mutex_unlock(second), 0);
	ck_assert_int_eq(lc_mutex_unlock(first), 0);
}

struct both_args {
	lc_mutex_t *first, *second;
};

static void both_in_thread(void *arg)
{
	struct both_args *b = arg;

	both(b->first, b->second);
}

static void keyed_ascending(void *arg)
{
	struct accounts a;

	(void)arg;
	open_accounts(&a, true);
	both(&a.lock[0], &a.lock[2]);
	lct_in_thread(both_in_thread,
		      &(struct both_args){ &a.lock[1], &a.lock[2] });
}

START_TEST(test_keyed_locks_in_ascending_order_are_silent)
{
	struct lct_child c =
		lct_expect_reports(keyed_ascending, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

static void keyed_descending(void *arg)
{
	struct accounts a;

	(void)arg;
	open_accounts(&a, true);
	both(&a.lock[2], &a.lock[1]);
}

START_TEST(test_keyed_locks_out_of_order_are_order_violation)
{
	struct lct_child c = lct_expect_reports(keyed_descending, NULL, NULL,
						"order-violation", LOCKCHECK);
	char got[512];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_ptr_nonnull(strstr(got, "lockcheck: order-violation: "
						  "account with key 10 wanted "
						  "while holding key 20"));
	}
	lct_child_free(&c);
}
END_TEST

static void keyed_equal(void *arg)
{
	struct accounts a;

	(void)arg;
	open_accounts(&a, true);
	lc_mutex_set_order(&a.lock[1], 0);
	both(&a.lock[0], &a.lock[1]);
}

START_TEST(test_equal_keys_are_order_violation)
{
	struct lct_child c = lct_expect_reports(keyed_equal, NULL, NULL,
						"order-violation", LOCKCHECK);

	lct_child_free(&c);
}
END_TEST

static void unkeyed_consistent(void *arg)
{
	struct accounts a;

	(void)arg;
	open_accounts(&a, false);
	for (int i = 0; i < 3; i++) {
		both(&a.lock[0], &a.lock[1]);
		lct_in_thread(both_in_thread,
			      &(struct both_args){ &a.lock[1], &a.lock[2] });
		both(&a.lock[0], &a.lock[2]);
	}
}

/* lockdep reports every same-class nesting; a consistent order is fine. */
START_TEST(test_unkeyed_instances_in_one_order_are_silent)
{
	struct lct_child c =
		lct_expect_reports(unkeyed_consistent, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

static void unkeyed_inversion(void *arg)
{
	struct accounts a;

	(void)arg;
	open_accounts(&a, false);
	both(&a.lock[0], &a.lock[1]);
	lct_in_thread(both_in_thread,
		      &(struct both_args){ &a.lock[1], &a.lock[0] });
}

START_TEST(test_unkeyed_instances_in_both_orders_are_a_cycle)
{
	struct lct_child c = lct_expect_reports(unkeyed_inversion, NULL, NULL,
						"lock-order-cycle", LOCKCHECK);
	char got[512];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_str_eq(got,
				 "lockcheck: lock-order-cycle: account#2 -> "
				 "account#1 -> account#2 (2 locks of class "
				 "account, 2 threads)");
	}
	lct_child_free(&c);
}
END_TEST

static void unkeyed_triangle(void *arg)
{
	struct accounts a;

	(void)arg;
	open_accounts(&a, false);
	both(&a.lock[0], &a.lock[1]);
	both(&a.lock[1], &a.lock[2]);
	both(&a.lock[2], &a.lock[0]);
}

START_TEST(test_unkeyed_three_instance_cycle_is_reported)
{
	struct lct_child c = lct_expect_reports(unkeyed_triangle, NULL, NULL,
						"lock-order-cycle", LOCKCHECK);

	if (LOCKCHECK)
		ck_assert_ptr_nonnull(
			strstr(c.err, "(3 locks of class account"));
	lct_child_free(&c);
}
END_TEST

#define MANY 100000

static void many_instances(void *arg)
{
	lc_mutex_t *l = malloc(MANY * sizeof(*l));

	(void)arg;
	ck_assert_ptr_nonnull(l);
	for (int i = 0; i < MANY; i++)
		ck_assert_int_eq(lc_mutex_init(&l[i], "node"), 0);
	for (int i = 0; i + 1 < MANY; i++)
		both(&l[i], &l[i + 1]);
	for (int i = 0; i < MANY; i++)
		ck_assert_int_eq(lc_mutex_destroy(&l[i]), 0);
	free(l);
}

/* x(key 1) -> y(key 2) is in order, but z has no key: y -> z and z -> x
 * could close a cycle the keys cannot see. Mixing is the violation (once:
 * both mixed pairs are taken at one call site, in both()). */
static void keyed_and_keyless(void *arg)
{
	struct accounts a;

	(void)arg;
	open_accounts(&a, false);
	lc_mutex_set_order(&a.lock[0], 1);
	lc_mutex_set_order(&a.lock[1], 2);
	both(&a.lock[0], &a.lock[1]);
	both(&a.lock[1], &a.lock[2]);
	both(&a.lock[2], &a.lock[0]);
}

START_TEST(test_keyless_lock_among_keyed_ones_is_order_violation)
{
	struct lct_child c = lct_expect_reports(keyed_and_keyless, NULL, NULL,
						"order-violation", LOCKCHECK);

	if (LOCKCHECK)
		ck_assert_uint_eq(
			lct_count_prefix(
				c.err,
				"lockcheck: order-violation: account with no "
				"key "
				"wanted while holding key 2 of the same class"),
			1);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_100000_instances_in_one_order_are_silent)
{
	struct lct_child c =
		lct_expect_reports(many_instances, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* Two locks taken a then b, destroyed; two new locks in the same memory
 * taken in the other order are new instances: no inversion. */
static void reuse_after_destroy(void *arg)
{
	lc_mutex_t *mem = malloc(2 * sizeof(*mem));

	(void)arg;
	ck_assert_ptr_nonnull(mem);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 2; i++) /* one init site: one class */
			ck_assert_int_eq(lc_mutex_init(&mem[i], "slot"), 0);
		both(&mem[round], &mem[1 - round]);
		ck_assert_int_eq(lc_mutex_destroy(&mem[0]), 0);
		ck_assert_int_eq(lc_mutex_destroy(&mem[1]), 0);
	}
	free(mem);
}

START_TEST(test_address_reuse_after_destroy_starts_afresh)
{
	struct lct_child c =
		lct_expect_reports(reuse_after_destroy, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* Same, with the memory freed and reused without any destroy call. */
static void reuse_without_destroy(void *arg)
{
	lc_mutex_t *mem = malloc(2 * sizeof(*mem));

	(void)arg;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 2; i++)
			ck_assert_int_eq(lc_mutex_init(&mem[i], "slot"), 0);
		both(&mem[round], &mem[1 - round]);
	}
	free(mem);
}

START_TEST(test_address_reuse_by_init_starts_afresh)
{
	struct lct_child c =
		lct_expect_reports(reuse_without_destroy, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* Edges between classes outlive the locks: a lock destroyed in between
 * does not make the checker forget A->B. */
static void init_ab(lc_mutex_t *a, lc_mutex_t *b)
{
	ck_assert_int_eq(lc_mutex_init(a, "A"), 0);
	ck_assert_int_eq(lc_mutex_init(b, "B"), 0);
}

static void edges_outlive_locks(void *arg)
{
	lc_mutex_t a, b;

	(void)arg;
	init_ab(&a, &b);
	both(&a, &b);
	ck_assert_int_eq(lc_mutex_destroy(&a), 0);
	ck_assert_int_eq(lc_mutex_destroy(&b), 0);
	init_ab(&a, &b); /* the same sites: the same classes */
	both(&b, &a);
}

START_TEST(test_destroyed_locks_keep_their_class_edges)
{
	struct lct_child c = lct_expect_reports(edges_outlive_locks, NULL, NULL,
						"lock-order-cycle", LOCKCHECK);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_same_class");
	TCase *core = tcase_create("core");

	tcase_set_timeout(core, 120);
	tcase_add_test(core, test_keyed_locks_in_ascending_order_are_silent);
	tcase_add_test(core, test_keyed_locks_out_of_order_are_order_violation);
	tcase_add_test(core, test_equal_keys_are_order_violation);
	tcase_add_test(core, test_unkeyed_instances_in_one_order_are_silent);
	tcase_add_test(core, test_unkeyed_instances_in_both_orders_are_a_cycle);
	tcase_add_test(core, test_unkeyed_three_instance_cycle_is_reported);
	tcase_add_test(core,
		       test_keyless_lock_among_keyed_ones_is_order_violation);
	tcase_add_test(core, test_100000_instances_in_one_order_are_silent);
	tcase_add_test(core, test_address_reuse_after_destroy_starts_afresh);
	tcase_add_test(core, test_address_reuse_by_init_starts_afresh);
	tcase_add_test(core, test_destroyed_locks_keep_their_class_edges);
	suite_add_tcase(s, core);
	return lct_run_suite(s);
}
