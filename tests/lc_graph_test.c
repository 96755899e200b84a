/*
 * lc_graph_test.c: the lock-order graph on its own: no threads, no locks,
 * just nodes, edges and the cycle search with its mode and gate rules, and
 * the map underneath. jemalloc's witness tests work the same way.
 */
#include <check.h>
#include <stdlib.h>

#include "lockcheck/graph.h"
#include "lockcheck/u64map.h"

enum { R = LC__READ, W = LC__WRITE };

static const struct lc__edge_info no_info;

static struct lc__graph g;

static void setup(void)
{
	lc__graph_init(&g);
}

static void teardown(void)
{
	lc__graph_free(&g);
}

static uint32_t node(uint64_t key)
{
	uint32_t n = lc__graph_node(&g, key, NULL, true);

	ck_assert_uint_ne(n, LC__NONE);
	return n;
}

/* Observes key_from -> key_to in (held, want) with the given gates;
 * returns the edge and whether it weakened. */
static uint32_t see(uint64_t from, uint64_t to, int held, int want,
		    const uint64_t *gates, uint32_t ngates, bool *weakened)
{
	struct lc__held_inst inst[LC__GATE_MAX];
	bool w;
	uint32_t e;

	for (uint32_t i = 0; i < ngates; i++)
		inst[i] = (struct lc__held_inst){ gates[i], 0 };
	e = lc__graph_observe(&g, node(from), node(to), LC__COMBO(held, want),
			      inst, ngates, &no_info, &w);
	ck_assert_uint_ne(e, LC__NONE);
	if (weakened)
		*weakened = w;
	return e;
}

static uint32_t cycle_len(uint32_t e)
{
	const uint32_t *path;

	return lc__graph_find_cycle(&g, e, NULL, NULL, &path);
}

START_TEST(test_two_edge_cycle_is_found_with_its_path)
{
	const uint32_t *path;
	uint32_t ab = see(1, 2, W, W, NULL, 0, NULL);
	uint32_t ba = see(2, 1, W, W, NULL, 0, NULL);

	ck_assert_uint_eq(lc__graph_find_cycle(&g, ba, NULL, NULL, &path), 2);
	ck_assert_uint_eq(path[0], ba);
	ck_assert_uint_eq(path[1], ab);
}
END_TEST

START_TEST(test_no_cycle_in_a_chain)
{
	see(1, 2, W, W, NULL, 0, NULL);
	see(2, 3, W, W, NULL, 0, NULL);
	ck_assert_uint_eq(cycle_len(see(1, 3, W, W, NULL, 0, NULL)), 0);
}
END_TEST

START_TEST(test_shortest_cycle_is_reported)
{
	/* 1->2->3->4->1 and the shortcut 2->4: closing 4->1 finds 1,2,4. */
	see(1, 2, W, W, NULL, 0, NULL);
	see(2, 3, W, W, NULL, 0, NULL);
	see(3, 4, W, W, NULL, 0, NULL);
	see(2, 4, W, W, NULL, 0, NULL);
	ck_assert_uint_eq(cycle_len(see(4, 1, W, W, NULL, 0, NULL)), 3);
}
END_TEST

START_TEST(test_long_ring_is_found_without_recursion)
{
	uint32_t n = 20000, last;

	for (uint32_t i = 0; i + 1 < n; i++)
		see(i, i + 1, W, W, NULL, 0, NULL);
	last = see(n - 1, 0, W, W, NULL, 0, NULL);
	ck_assert_uint_eq(cycle_len(last), n);
}
END_TEST

/* All 16 mode pairs of a 2-cycle: deadlock unless some lock has a reader
 * waiting on a reader (want R meets held R). */
START_TEST(test_two_cycle_mode_table)
{
	int h1 = _i >> 3 & 1, w1 = _i >> 2 & 1, h2 = _i >> 1 & 1, w2 = _i & 1;
	/* at node 2: incoming want w1, outgoing held h2; at 1: w2 and h1 */
	bool deadlock = !(w1 == R && h2 == R) && !(w2 == R && h1 == R);

	see(1, 2, h1, w1, NULL, 0, NULL);
	ck_assert_uint_eq(cycle_len(see(2, 1, h2, w2, NULL, 0, NULL)) > 0,
			  deadlock);
}
END_TEST

/* One verdict whatever the order the three edges arrive in. */
static const int orders[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
				  { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };

static bool any_cycle_after(const int edges[3][4], int order)
{
	bool found = false;

	for (int i = 0; i < 3; i++) {
		const int *e = edges[orders[order][i]];
		bool weak;
		uint32_t id = see((uint64_t)e[0], (uint64_t)e[1], e[2], e[3],
				  NULL, 0, &weak);

		if (weak && cycle_len(id))
			found = true;
	}
	return found;
}

START_TEST(test_three_cycle_verdict_ignores_learning_order)
{
	static const int bad[3][4] = { { 1, 2, W, W }, { 2, 3, R, W },
				       { 3, 1, W, R } };
	static const int good[3][4] = { { 1, 2, R, R }, { 2, 3, R, W },
					{ 3, 1, W, R } };

	ck_assert(any_cycle_after(bad, _i));
	lc__graph_free(&g);
	lc__graph_init(&g);
	ck_assert(!any_cycle_after(good, _i));
}
END_TEST

START_TEST(test_common_gate_hides_the_cycle_until_it_shrinks)
{
	const uint64_t gate[] = { 100 }, other[] = { 200 };
	bool weak;
	uint32_t ba;

	see(1, 2, W, W, gate, 1, NULL);
	ba = see(2, 1, W, W, gate, 1, NULL);
	ck_assert_uint_eq(cycle_len(ba), 0);
	see(2, 1, W, W, gate, 1, &weak); /* same gate: nothing new */
	ck_assert(!weak);
	ck_assert_uint_eq(see(2, 1, W, W, other, 1, &weak), ba);
	ck_assert(weak); /* the gate set shrank to nothing */
	ck_assert_uint_eq(cycle_len(ba), 2);
}
END_TEST

START_TEST(test_gates_shrink_to_the_instances_held_every_time)
{
	const uint64_t first[] = { 7, 8, 9 }, second[] = { 9, 7 }, third[] = { 5 };
	uint32_t e = see(1, 2, W, W, first, 3, NULL);
	const struct lc__edge *edge = lc__graph_edge(&g, e);

	ck_assert_uint_eq(atomic_load(&edge->gate_alive), 0x7);
	see(1, 2, W, W, second, 2, NULL);
	ck_assert_uint_eq(atomic_load(&edge->gate_alive), 0x5); /* 7 and 9 */
	ck_assert_uint_eq(edge->gate[0], 7);
	ck_assert_uint_eq(edge->gate[2], 9);
	see(1, 2, W, W, third, 1, NULL);
	ck_assert_uint_eq(atomic_load(&edge->gate_alive), 0);
}
END_TEST

/* Two cycles, each under a gate of its own, sharing node 3: A-B-C
 * (1-2-3) under gate 100, C-D (3-4) under gate 200. The closed walk
 * 1 2 3 4 3 1 has no gate common to all its edges, but it is no cycle
 * (3 twice) and neither elementary cycle can deadlock. Every learning order
 * (the permutation is _i in lexicographic rank) must agree. */
START_TEST(test_walk_through_two_gated_cycles_is_no_cycle)
{
	static const uint64_t g1[] = { 100 }, g2[] = { 200 };
	static const struct { uint64_t from, to; const uint64_t *gate; } e[] = {
		{ 3, 4, g2 }, { 4, 3, g2 }, { 2, 3, g1 }, { 3, 1, g1 }, { 1, 2, g1 }
	};
	int order[5] = { 0, 1, 2, 3, 4 }, rank = _i;

	for (int i = 0; i < 5; i++) { /* the rank-th permutation */
		int f = 1, pick;

		for (int k = 2; k < 5 - i; k++)
			f *= k;
		pick = i + rank / f;
		rank %= f;
		for (int j = pick; j > i; j--) {
			int t = order[j];

			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	}
	for (int i = 0; i < 5; i++) {
		bool weak;
		uint32_t id = see(e[order[i]].from, e[order[i]].to, W, W,
				  e[order[i]].gate, 1, &weak);

		ck_assert(weak);
		ck_assert_uint_eq(cycle_len(id), 0);
	}
}
END_TEST

/* 1 -> 2 and 3 -> 1 under one gate: their threads would both hold it. */
START_TEST(test_two_edges_under_one_gate_rule_out_the_cycle)
{
	static const uint64_t gate[] = { 100 }, other[] = { 300 };

	see(1, 2, W, W, gate, 1, NULL);
	see(2, 3, W, W, NULL, 0, NULL);
	ck_assert_uint_eq(cycle_len(see(3, 1, W, W, gate, 1, NULL)), 0);
	ck_assert_uint_eq(cycle_len(see(3, 1, W, W, other, 1, NULL)), 3);
}
END_TEST

/* The shortest walk back (2 3 1, both under gate 100) is ruled out; the
 * longer way round (2 4 5 1) is free: the exact search must find it. */
START_TEST(test_longer_valid_cycle_is_found_past_an_invalid_short_one)
{
	static const uint64_t gate[] = { 100 };
	const uint32_t *path;

	see(2, 3, W, W, gate, 1, NULL);
	see(3, 1, W, W, gate, 1, NULL);
	see(2, 4, W, W, NULL, 0, NULL);
	see(4, 5, W, W, NULL, 0, NULL);
	see(5, 1, W, W, NULL, 0, NULL);
	ck_assert_uint_eq(lc__graph_find_cycle(&g, see(1, 2, W, W, NULL, 0,
							NULL),
					       NULL, NULL, &path),
			  4);
	ck_assert_uint_eq(lc__graph_edge(&g, path[1])->to, node(4));
}
END_TEST

/* The short way back (2 3 4 1) has two edges under gate 100; the only
 * valid cycle goes round 20 more locks: longer than the path buffer the
 * first search left, so the exact search must hand back its own. */
START_TEST(test_long_cycle_from_the_exact_search_comes_back_whole)
{
	static const uint64_t gate[] = { 100 };
	const uint32_t *path;
	uint32_t n;

	see(2, 3, W, W, gate, 1, NULL);
	see(3, 4, W, W, gate, 1, NULL);
	see(4, 1, W, W, NULL, 0, NULL);
	see(2, 50, W, W, NULL, 0, NULL);
	for (uint64_t k = 50; k < 69; k++)
		see(k, k + 1, W, W, NULL, 0, NULL);
	see(69, 1, W, W, NULL, 0, NULL);
	n = lc__graph_find_cycle(&g, see(1, 2, W, W, NULL, 0, NULL), NULL,
				 NULL, &path);
	ck_assert_uint_eq(n, 22); /* 1 2 50 .. 69 1 */
	for (uint32_t i = 0; i + 1 < n; i++) /* a closed chain of edges */
		ck_assert_uint_eq(lc__graph_edge(&g, path[i])->to,
				  lc__graph_edge(&g, path[i + 1])->from);
	ck_assert_uint_eq(lc__graph_edge(&g, path[n - 1])->to,
			  lc__graph_edge(&g, path[0])->from);
}
END_TEST

/* The first occurrence of 1 -> 2 holds six locks, the gate 100 fifth;
 * the second holds only the gate. Every candidate must be kept, or the
 * gate would be lost by the order the occurrences came in. */
START_TEST(test_every_held_lock_of_the_first_occurrence_is_a_candidate)
{
	static const uint64_t many[] = { 11, 12, 13, 14, 100, 15 };
	static const uint64_t gate[] = { 100 };

	see(1, 2, W, W, many, 6, NULL);
	see(1, 2, W, W, gate, 1, NULL);
	ck_assert_uint_eq(cycle_len(see(2, 1, W, W, gate, 1, NULL)), 0);
}
END_TEST

/* 2^20 ways from 2 back to 1, every one ending with two edges under gate
 * 100: no valid cycle, but too many paths to try. The search says it could
 * not finish rather than answer either way. */
START_TEST(test_search_that_runs_out_of_budget_says_so)
{
	static const uint64_t gate[] = { 100 };
	uint64_t node = 2, id = 1000;

	for (int rung = 0; rung < 20; rung++) { /* two ways to each end */
		uint64_t a = id++, b = id++, end = id++;

		see(node, a, W, W, NULL, 0, NULL);
		see(node, b, W, W, NULL, 0, NULL);
		see(a, end, W, W, NULL, 0, NULL);
		see(b, end, W, W, NULL, 0, NULL);
		node = end;
	}
	see(node, 7, W, W, gate, 1, NULL);
	see(7, 1, W, W, gate, 1, NULL);
	ck_assert_uint_eq(cycle_len(see(1, 2, W, W, NULL, 0, NULL)), 0);
	ck_assert(g.search_incomplete);
}
END_TEST

START_TEST(test_removing_a_node_removes_its_edges)
{
	see(1, 2, W, W, NULL, 0, NULL);
	see(2, 3, W, W, NULL, 0, NULL);
	ck_assert(lc__graph_remove_node(&g, 2));
	ck_assert_uint_eq(g.live_edges, 0);
	ck_assert(!lc__graph_remove_node(&g, 2));
	/* 3->1 now closes nothing; a new 2 starts with no edges */
	ck_assert_uint_eq(cycle_len(see(3, 1, W, W, NULL, 0, NULL)), 0);
	ck_assert_uint_eq(cycle_len(see(1, 2, W, W, NULL, 0, NULL)), 0);
}
END_TEST

START_TEST(test_map_survives_many_puts_and_deletes)
{
	struct lc__u64map m = { 0 };
	uint32_t v;

	for (uint64_t k = 0; k < 50000; k++)
		ck_assert_int_eq(lc__u64map_put(&m, k * 7919, (uint32_t)k), 0);
	for (uint64_t k = 0; k < 50000; k += 2)
		ck_assert(lc__u64map_del(&m, k * 7919));
	ck_assert_uint_eq(m.count, 25000);
	for (uint64_t k = 0; k < 50000; k++) {
		bool present = lc__u64map_get(&m, k * 7919, &v);

		ck_assert(present == (k % 2 == 1));
		if (present)
			ck_assert_uint_eq(v, k);
	}
	ck_assert(lc__u64map_get(&m, 0, NULL) == false);
	ck_assert_int_eq(lc__u64map_put(&m, 0, 42), 0);
	ck_assert(lc__u64map_get(&m, 0, &v) && v == 42);
	lc__u64map_free(&m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_graph");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60); /* the 20,000-lock ring under TSan */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_two_edge_cycle_is_found_with_its_path);
	tcase_add_test(tc, test_no_cycle_in_a_chain);
	tcase_add_test(tc, test_shortest_cycle_is_reported);
	tcase_add_test(tc, test_long_ring_is_found_without_recursion);
	tcase_add_loop_test(tc, test_two_cycle_mode_table, 0, 16);
	tcase_add_loop_test(tc, test_three_cycle_verdict_ignores_learning_order,
			    0, 6);
	tcase_add_test(tc, test_common_gate_hides_the_cycle_until_it_shrinks);
	tcase_add_test(tc, test_gates_shrink_to_the_instances_held_every_time);
	tcase_add_loop_test(tc, test_walk_through_two_gated_cycles_is_no_cycle,
			    0, 120);
	tcase_add_test(tc, test_two_edges_under_one_gate_rule_out_the_cycle);
	tcase_add_test(tc,
		       test_longer_valid_cycle_is_found_past_an_invalid_short_one);
	tcase_add_test(tc, test_long_cycle_from_the_exact_search_comes_back_whole);
	tcase_add_test(tc,
		       test_every_held_lock_of_the_first_occurrence_is_a_candidate);
	tcase_add_test(tc, test_search_that_runs_out_of_budget_says_so);
	tcase_add_test(tc, test_removing_a_node_removes_its_edges);
	tcase_add_test(tc, test_map_survives_many_puts_and_deletes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
