/*
 * lc_graph_test.c: the rule module on its own: no threads, no locks, just
 * nodes, edges, the mode and gate rules, the searches the checker and
 * lockgraph make, and the map underneath; and all of it against the
 * brute-force model (cycle_model.h) on random graphs. jemalloc's witness
 * tests work the same way.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cycle_model.h"
#include "lockcheck/graph.h"
#include "lockcheck/rules.h"
#include "lockcheck/search.h"
#include "lockcheck/u64map.h"
#include "testutil.h"

enum { R = LC__READ, W = LC__WRITE };

static const struct lc__edge_info no_info;

static struct lc__graph g;
static struct lc__search search;
static enum lc__search_end last_end; /* of the last cycle_at() */
static uint32_t last_path[32768];    /* its path */

static void setup(void)
{
	lc__graph_init(&g);
	lc__search_init(&search);
}

static void teardown(void)
{
	lc__search_free(&search);
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

static bool keep_first(const uint32_t *path, uint32_t n, void *arg)
{
	ck_assert_uint_le(n, sizeof(last_path) / sizeof(last_path[0]));
	memcpy(last_path, path, n * sizeof(*path));
	*(uint32_t *)arg = n;
	return true;
}

/* The first cycle through e the checker's search finds, with its budget:
 * its length (0: none), its path in last_path[]. */
static uint32_t cycle_at(uint32_t e)
{
	uint32_t n = 0;

	search.comp = NULL;
	search.left = LC_SEARCH_STEPS +
		      (uint64_t)LC_SEARCH_STEPS_PER_EDGE * g.live_edges;
	last_end =
		lc__cycle_through(&search, &g, e, UINT32_MAX, keep_first, &n);
	if (n)
		ck_assert_int_eq(last_end, LC__SEARCH_STOPPED);
	return n;
}

/* The same, for a search that must finish: 0 means there is none. */
static uint32_t cycle_len(uint32_t e)
{
	uint32_t n = cycle_at(e);

	ck_assert_int_ne(last_end, LC__SEARCH_CUT);
	return n;
}

START_TEST(test_two_edge_cycle_is_found_with_its_path)
{
	uint32_t ab = see(1, 2, W, W, NULL, 0, NULL);
	uint32_t ba = see(2, 1, W, W, NULL, 0, NULL);

	ck_assert_uint_eq(cycle_at(ba), 2);
	ck_assert_uint_eq(last_path[0], ba);
	ck_assert_uint_eq(last_path[1], ab);
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
	static const int bad[3][4] = { { 1, 2, W, W },
				       { 2, 3, R, W },
				       { 3, 1, W, R } };
	static const int good[3][4] = { { 1, 2, R, R },
					{ 2, 3, R, W },
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
	const uint64_t first[] = { 7, 8, 9 }, second[] = { 9, 7 },
		       third[] = { 5 };
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
	static const struct {
		uint64_t from, to;
		const uint64_t *gate;
	} e[] = { { 3, 4, g2 },
		  { 4, 3, g2 },
		  { 2, 3, g1 },
		  { 3, 1, g1 },
		  { 1, 2, g1 } };
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

	see(2, 3, W, W, gate, 1, NULL);
	see(3, 1, W, W, gate, 1, NULL);
	see(2, 4, W, W, NULL, 0, NULL);
	see(4, 5, W, W, NULL, 0, NULL);
	see(5, 1, W, W, NULL, 0, NULL);
	ck_assert_uint_eq(cycle_at(see(1, 2, W, W, NULL, 0, NULL)), 4);
	ck_assert_uint_eq(lc__graph_edge(&g, last_path[1])->to, node(4));
}
END_TEST

/* The short way back (2 3 4 1) has two edges under gate 100; the only
 * valid cycle goes round 20 more locks: longer than the path buffer the
 * first search left, so the exact search must hand back its own. */
START_TEST(test_long_cycle_from_the_exact_search_comes_back_whole)
{
	static const uint64_t gate[] = { 100 };
	const uint32_t *path = last_path;
	uint32_t n;

	see(2, 3, W, W, gate, 1, NULL);
	see(3, 4, W, W, gate, 1, NULL);
	see(4, 1, W, W, NULL, 0, NULL);
	see(2, 50, W, W, NULL, 0, NULL);
	for (uint64_t k = 50; k < 69; k++)
		see(k, k + 1, W, W, NULL, 0, NULL);
	see(69, 1, W, W, NULL, 0, NULL);
	n = cycle_at(see(1, 2, W, W, NULL, 0, NULL));
	ck_assert_uint_eq(n, 22);	     /* 1 2 50 .. 69 1 */
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
	ck_assert_uint_eq(cycle_at(see(1, 2, W, W, NULL, 0, NULL)), 0);
	ck_assert_int_eq(last_end, LC__SEARCH_CUT);
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

/* ---- the rules on their own ---- */

START_TEST(test_mode_state_follows_the_rule_at_every_lock)
{
	uint8_t rr = LC__COMBO(R, R), rw = LC__COMBO(R, W),
		wr = LC__COMBO(W, R);

	/* a reader wanted, then held for reading: no wait there */
	ck_assert_uint_eq(lc__modes_extend(rr, rr), 0);
	ck_assert_uint_eq(lc__modes_extend(wr, rr), 0);
	/* wanted for writing, then held for reading: the path goes on,
	 * still starting held for reading, now ending wanted for reading */
	ck_assert_uint_eq(lc__modes_extend(rw, rr), rr);
	/* closing: the last wanted and the first held not both read */
	ck_assert(!lc__modes_close(rr));
	ck_assert(lc__modes_close(rw));
	ck_assert(lc__modes_close(wr));
	ck_assert(!lc__modes_close(0));
}
END_TEST

START_TEST(test_gate_set_refuses_an_edge_with_a_held_gate)
{
	const uint64_t g1[] = { 5, 6 }, g2[] = { 7, 6 }, g3[] = { 8 };
	struct lc__u64map held = { 0 };
	const struct lc__edge *a =
		lc__graph_edge(&g, see(1, 2, W, W, g1, 2, NULL));
	const struct lc__edge *b =
		lc__graph_edge(&g, see(2, 3, W, W, g2, 2, NULL));
	const struct lc__edge *c =
		lc__graph_edge(&g, see(3, 1, W, W, g3, 1, NULL));

	ck_assert(!lc__gates_meet(&held, a));
	ck_assert_int_eq(lc__gates_take(&held, a), 0);
	ck_assert(lc__gates_meet(&held, b)); /* 6 on both */
	ck_assert_int_eq(lc__gates_take(&held, b), EEXIST);
	ck_assert_uint_eq(held.count, 2); /* unchanged by the refusal */
	ck_assert_int_eq(lc__gates_take(&held, c), 0);
	lc__gates_drop(&held, a);
	ck_assert_int_eq(lc__gates_take(&held, b), 0);
	ck_assert_uint_eq(held.count, 3);
	lc__u64map_free(&held);
}
END_TEST

START_TEST(test_verdict_on_a_given_cycle)
{
	const uint64_t gate[] = { 9 };
	uint32_t p[3] = { see(1, 2, W, W, NULL, 0, NULL),
			  see(2, 3, R, W, NULL, 0, NULL),
			  see(3, 1, W, W, NULL, 0, NULL) };
	uint32_t walk[4] = { p[0], see(2, 1, W, W, NULL, 0, NULL), p[0],
			     see(2, 1, W, W, NULL, 0, NULL) };
	bool can;

	ck_assert_int_eq(lc__cycle_verdict(&g, p, 3, &can), 0);
	ck_assert(can);
	ck_assert_int_eq(lc__cycle_verdict(&g, walk, 4, &can), 0);
	ck_assert(!can); /* 1 twice: no elementary cycle */
	ck_assert_int_eq(lc__cycle_verdict(&g, walk, 2, &can), 0);
	ck_assert(can);
	lc__graph_free(&g);
	lc__graph_init(&g);
	p[0] = see(1, 2, W, W, gate, 1, NULL);
	p[1] = see(2, 3, W, W, NULL, 0, NULL);
	p[2] = see(3, 1, W, W, gate, 1, NULL);
	ck_assert_int_eq(lc__cycle_verdict(&g, p, 3, &can), 0);
	ck_assert(!can); /* one gate on two edges */
	lc__graph_free(&g);
	lc__graph_init(&g);
	p[0] = see(1, 2, R, R, NULL, 0, NULL);
	p[1] = see(2, 1, R, R, NULL, 0, NULL);
	ck_assert_int_eq(lc__cycle_verdict(&g, p, 2, &can), 0);
	ck_assert(!can); /* readers do not wait for readers */
}
END_TEST

/* ---- the module against the brute-force model ---- */

#define RN     7 /* nodes at most */
#define RGATES 2 /* gates per edge at most, from a pool of 4 */

static uint32_t rng = 1;

static uint32_t rnd(uint32_t n)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) % n;
}

struct rgraph {
	struct cm_graph cm;
	uint64_t gate[RN][RN][RGATES];
	int ngates[RN][RN];
	uint32_t edge[RN][RN]; /* module edge index */
};

static bool rgraph_share(const struct cm_graph *cm, int a, int b, int c, int d)
{
	const struct rgraph *r = cm->ctx;

	for (int i = 0; i < r->ngates[a][b]; i++)
		for (int j = 0; j < r->ngates[c][d]; j++)
			if (r->gate[a][b][i] == r->gate[c][d][j])
				return true;
	return false;
}

static void random_rgraph(struct rgraph *r)
{
	memset(r, 0, sizeof(*r));
	r->cm.n = 2 + (int)rnd(RN - 1);
	r->cm.share = rgraph_share;
	r->cm.ctx = r;
	for (int a = 0; a < r->cm.n; a++)
		node((uint64_t)a);
	for (int a = 0; a < r->cm.n; a++)
		for (int b = 0; b < r->cm.n; b++) {
			uint64_t keys[RGATES] = { 0 };
			int n = (int)rnd(RGATES + 1);

			if (a == b || rnd(100) >= 40)
				continue;
			for (int i = 0; i < n; i++) /* distinct keys */
				keys[i] = 100 + (uint64_t)i * 4 + rnd(4);
			r->cm.modes[a][b] = 1 + (int)rnd(15);
			memcpy(r->gate[a][b], keys, sizeof(keys));
			r->ngates[a][b] = n;
			r->edge[a][b] = lc__graph_observe(
				&g, (uint32_t)a, (uint32_t)b,
				(uint8_t)r->cm.modes[a][b],
				(const struct lc__held_inst[]){
					{ keys[0], 0 }, { keys[1], 0 } },
				(uint32_t)n, &no_info, &(bool){ false });
		}
}

/* The cycles a search hands over, as node sets, each at most once. */
struct sets {
	unsigned v[CM_CYCLES];
	int n;
	const struct lc__graph *g;
};

static bool collect(const uint32_t *path, uint32_t n, void *arg)
{
	struct sets *s = arg;
	unsigned set = 0;

	for (uint32_t i = 0; i < n; i++)
		set |= 1u << lc__graph_edge(s->g, path[i])->from;
	ck_assert_int_lt(s->n, CM_CYCLES);
	s->v[s->n++] = set;
	return false;
}

static bool has_set(const struct sets *s, unsigned set)
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i] == set)
			return true;
	return false;
}

/* Every cycle through each edge, the checker's search, against the
 * model's cycles that use that edge. */
static void check_through(const struct rgraph *r, const struct cm_cycles *m)
{
	static struct sets got;

	for (int a = 0; a < r->cm.n; a++)
		for (int b = 0; b < r->cm.n; b++) {
			int want = 0;

			if (!r->cm.modes[a][b])
				continue;
			got = (struct sets){ .g = &g };
			search.comp = NULL;
			search.left = LC_SEARCH_STEPS;
			ck_assert_int_eq(
				lc__cycle_through(&search, &g, r->edge[a][b],
						  UINT32_MAX, collect, &got),
				LC__SEARCH_DONE);
			for (int i = 0; i < m->n; i++) {
				unsigned set = cm_node_set(m, i);

				if (!(set & (1u << a)) || !(set & (1u << b)))
					continue;
				for (int k = 0; k < m->len[i]; k++)
					if (m->node[i][k] == a &&
					    m->node[i][(k + 1) % m->len[i]] ==
						    b)
						want++;
			}
			ck_assert_int_eq(got.n, want);
		}
}

/* lockgraph's searches: per component, proofs, then every cycle. */
static void check_components(const struct rgraph *r, const struct cm_cycles *m)
{
	static struct sets got;
	struct lc__scc scc;

	got = (struct sets){ .g = &g };
	ck_assert_int_eq(lc__scc_find(&g, &scc), 0);
	for (uint32_t c = 0; c < scc.ncomp; c++) {
		bool proven;

		if (lc__scc_size(&scc, c) < 2)
			continue;
		ck_assert_int_eq(
			lc__comp_cannot_deadlock(&search, &g, &scc, c, &proven),
			0);
		search.left = LC_SEARCH_STEPS;
		ck_assert_int_eq(lc__comp_cycles(&search, &g, &scc, c,
						 (uint32_t)r->cm.n, collect,
						 &got),
				 LC__SEARCH_DONE);
		for (int i = 0; proven && i < m->n; i++)
			ck_assert(scc.comp[m->node[i][0]] != c);
	}
	ck_assert_int_eq(got.n, m->n); /* each cycle once */
	for (int i = 0; i < m->n; i++)
		ck_assert(has_set(&got, cm_node_set(m, i)));
	lc__scc_free(&scc);
}

START_TEST(test_searches_match_brute_force_model)
{
	static struct rgraph r;
	static struct cm_cycles m;

	rng = 777u + (uint32_t)_i;
	for (int round = 0; round < 100; round++) {
		random_rgraph(&r);
		cm_find_cycles(&r.cm, &m);
		check_through(&r, &m);
		check_components(&r, &m);
		lc__graph_free(&g);
		lc__graph_init(&g);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_graph");
	TCase *tc = tcase_create("core");

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
	tcase_add_test(
		tc, test_longer_valid_cycle_is_found_past_an_invalid_short_one);
	tcase_add_test(tc,
		       test_long_cycle_from_the_exact_search_comes_back_whole);
	tcase_add_test(
		tc,
		test_every_held_lock_of_the_first_occurrence_is_a_candidate);
	tcase_add_test(tc, test_search_that_runs_out_of_budget_says_so);
	tcase_add_test(tc, test_removing_a_node_removes_its_edges);
	tcase_add_test(tc, test_map_survives_many_puts_and_deletes);
	tcase_add_test(tc, test_mode_state_follows_the_rule_at_every_lock);
	tcase_add_test(tc, test_gate_set_refuses_an_edge_with_a_held_gate);
	tcase_add_test(tc, test_verdict_on_a_given_cycle);
	tcase_add_loop_test(tc, test_searches_match_brute_force_model, 0, 4);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
