/*
 * lc_gate_test.c: gate locks. A cycle whose every edge was taken while one
 * common lock instance was held exclusively cannot deadlock (the gate
 * serialises it) and is not reported; lockdep, TSan and Helgrind all report
 * it. More generally a cycle is ruled out when one gate instance guards two
 * of its edges: their threads cannot both hold it. The gate must be one
 * instance, held for writing, at every occurrence: once an occurrence
 * without it is seen, the cycle is reported.
 */
#include <check.h>
#include <stdlib.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

static lc_mutex_t A = LC_MUTEX_INITIALIZER("A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");
static lc_mutex_t G = LC_MUTEX_INITIALIZER("G");
static lc_rwlock_t RG = LC_RWLOCK_INITIALIZER("RG");

enum gate_kind { NO_GATE, MUTEX_GATE, READ_GATE, WRITE_GATE, TRY_GATE };

struct step {
	enum gate_kind gate;
	lc_mutex_t *gate_lock; /* for MUTEX_GATE and TRY_GATE */
	lc_mutex_t *first, *second;
};

static void enter_gate(const struct step *s)
{
	if (s->gate == MUTEX_GATE)
		ck_assert_int_eq(lc_mutex_lock(s->gate_lock), 0);
	if (s->gate == TRY_GATE)
		ck_assert_int_eq(lc_mutex_trylock(s->gate_lock), 0);
	if (s->gate == READ_GATE)
		ck_assert_int_eq(lc_rwlock_rdlock(&RG), 0);
	if (s->gate == WRITE_GATE)
		ck_assert_int_eq(lc_rwlock_wrlock(&RG), 0);
}

static void leave_gate(const struct step *s)
{
	if (s->gate == MUTEX_GATE || s->gate == TRY_GATE)
		ck_assert_int_eq(lc_mutex_unlock(s->gate_lock), 0);
	if (s->gate == READ_GATE || s->gate == WRITE_GATE)
		ck_assert_int_eq(lc_rwlock_unlock(&RG), 0);
}

static void do_step(void *arg)
{
	const struct step *s = arg;

	enter_gate(s);
	ck_assert_int_eq(lc_mutex_lock(s->first), 0);
	ck_assert_int_eq(lc_mutex_lock(s->second), 0);
	ck_assert_int_eq(lc_mutex_unlock(s->second), 0);
	ck_assert_int_eq(lc_mutex_unlock(s->first), 0);
	leave_gate(s);
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

START_TEST(test_cycle_under_one_gate_is_silent)
{
	const struct step s[] = { { MUTEX_GATE, &G, &A, &B },
				  { MUTEX_GATE, &G, &B, &A },
				  { 0 } };

	expect(s, 0);
}
END_TEST

START_TEST(test_cycle_under_a_trylocked_gate_is_silent)
{
	const struct step s[] = { { TRY_GATE, &G, &A, &B },
				  { TRY_GATE, &G, &B, &A },
				  { 0 } };

	expect(s, 0);
}
END_TEST

START_TEST(test_cycle_under_a_write_held_rwlock_gate_is_silent)
{
	const struct step s[] = { { WRITE_GATE, NULL, &A, &B },
				  { WRITE_GATE, NULL, &B, &A },
				  { 0 } };

	expect(s, 0);
}
END_TEST

/* Once B->A is seen without the gate, the gate no longer covers the cycle. */
START_TEST(test_occurrence_without_the_gate_reports_the_cycle)
{
	const struct step s[] = { { MUTEX_GATE, &G, &A, &B },
				  { MUTEX_GATE, &G, &B, &A },
				  { NO_GATE, NULL, &B, &A },
				  { 0 } };

	expect(s, 1);
}
END_TEST

/* Readers hold a read-held rwlock together: it serialises nothing. */
START_TEST(test_read_held_gate_is_no_gate)
{
	const struct step s[] = { { READ_GATE, NULL, &A, &B },
				  { READ_GATE, NULL, &B, &A },
				  { 0 } };

	expect(s, 1);
}
END_TEST

static void gates_of_one_class(void *arg)
{
	lc_mutex_t gate[2];

	(void)arg;
	for (int i = 0; i < 2; i++)
		lc_mutex_init(&gate[i], "gate");
	lct_in_thread(do_step, &(struct step){ MUTEX_GATE, &gate[0], &A, &B });
	lct_in_thread(do_step, &(struct step){ MUTEX_GATE, &gate[1], &B, &A });
}

/* Two instances of one gate class are two gates: no common instance. */
START_TEST(test_different_gate_instances_do_not_gate)
{
	struct lct_child c = lct_expect_reports(gates_of_one_class, NULL, NULL,
						"lock-order-cycle", LOCKCHECK);

	lct_child_free(&c);
}
END_TEST

/* The second step repeats the first's chain (gate class, A, B) exactly, so
 * it is validated from the chain cache: the cache must still notice that
 * the gate instance differs, or A->B would keep gate[0] and the cycle
 * closed by the third step would stay hidden. */
static void gate_changes_on_a_cached_chain(void *arg)
{
	lc_mutex_t gate[2];

	(void)arg;
	for (int i = 0; i < 2; i++)
		lc_mutex_init(&gate[i], "gate");
	lct_in_thread(do_step, &(struct step){ MUTEX_GATE, &gate[0], &A, &B });
	lct_in_thread(do_step, &(struct step){ MUTEX_GATE, &gate[1], &A, &B });
	lct_in_thread(do_step, &(struct step){ MUTEX_GATE, &gate[0], &B, &A });
}

START_TEST(test_gate_lost_on_a_cached_chain_is_noticed)
{
	struct lct_child c =
		lct_expect_reports(gate_changes_on_a_cached_chain, NULL, NULL,
				   "lock-order-cycle", LOCKCHECK);

	lct_child_free(&c);
}
END_TEST

/* ---- gates that rule out a cycle without covering all of it ---- */

static lc_mutex_t C = LC_MUTEX_INITIALIZER("C");
static lc_mutex_t D = LC_MUTEX_INITIALIZER("D");
static lc_mutex_t G2 = LC_MUTEX_INITIALIZER("G2");

/* A -> B and C -> A under G, B -> C free: the threads of the first and
 * last edge would both hold G, so the three cannot wait on each other. */
START_TEST(test_two_edges_under_one_gate_is_silent)
{
	const struct step s[] = { { MUTEX_GATE, &G, &A, &B },
				  { NO_GATE, NULL, &B, &C },
				  { MUTEX_GATE, &G, &C, &A },
				  { 0 } };

	expect(s, 0);
}
END_TEST

/* C-D under G2 and A-B-C under G: each cycle is gated, and the walk
 * through both (C twice) is no cycle. Silent in both learning orders. */
START_TEST(test_two_gated_cycles_sharing_a_lock_are_silent)
{
	const struct step first[] = {
		{ MUTEX_GATE, &G2, &C, &D }, { MUTEX_GATE, &G2, &D, &C },
		{ MUTEX_GATE, &G, &B, &C },  { MUTEX_GATE, &G, &C, &A },
		{ MUTEX_GATE, &G, &A, &B },  { 0 }
	};
	const struct step last[] = {
		{ MUTEX_GATE, &G, &A, &B },  { MUTEX_GATE, &G2, &C, &D },
		{ MUTEX_GATE, &G2, &D, &C }, { MUTEX_GATE, &G, &B, &C },
		{ MUTEX_GATE, &G, &C, &A },  { 0 }
	};

	expect(first, 0);
	expect(last, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_gate");
	TCase *tc = tcase_create("lockcheck");

	tcase_add_test(tc, test_cycle_under_one_gate_is_silent);
	tcase_add_test(tc, test_cycle_under_a_trylocked_gate_is_silent);
	tcase_add_test(tc, test_cycle_under_a_write_held_rwlock_gate_is_silent);
	tcase_add_test(tc, test_occurrence_without_the_gate_reports_the_cycle);
	tcase_add_test(tc, test_read_held_gate_is_no_gate);
	tcase_add_test(tc, test_different_gate_instances_do_not_gate);
	tcase_add_test(tc, test_gate_lost_on_a_cached_chain_is_noticed);
	tcase_add_test(tc, test_two_edges_under_one_gate_is_silent);
	tcase_add_test(tc, test_two_gated_cycles_sharing_a_lock_are_silent);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
