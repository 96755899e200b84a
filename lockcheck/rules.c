/*
 * rules.c: see rules.h.
 */
#include "rules.h"

#include <assert.h>
#include <errno.h>

uint8_t lc__modes_extend(uint8_t state, uint8_t modes)
{
	uint8_t next = 0;

	for (int s = 0; s < 4; s++) {
		int h0 = s >> 1, w = s & 1;

		if (!(state & (1u << s)))
			continue;
		for (int m = 0; m < 4; m++) {
			int h = m >> 1, w2 = m & 1;

			if ((modes & (1u << m)) && lc__mode_waits(w, h))
				next |= (uint8_t)(1u << (h0 * 2 + w2));
		}
	}
	return next;
}

uint8_t lc__modes_back(uint8_t after, uint8_t modes)
{
	uint8_t before = 0;

	for (int s = 0; s < 4; s++) {
		int h0 = s >> 1, w2 = s & 1;

		if (!(after & (1u << s)))
			continue;
		for (int m = 0; m < 4; m++) {
			int h = m >> 1, w = m & 1; /* held by the edge, wanted
						    * by the one before */

			if ((modes & LC__COMBO(h, w2)) && lc__mode_waits(w, h))
				before |= (uint8_t)(1u << (h0 * 2 + w));
		}
	}
	return before;
}

bool lc__modes_close(uint8_t state)
{
	for (int s = 0; s < 4; s++)
		if ((state & (1u << s)) && lc__mode_waits(s & 1, s >> 1))
			return true;
	return false;
}

static uint64_t alive_of(const struct lc__edge *f)
{
	return atomic_load_explicit(&f->gate_alive, memory_order_relaxed);
}

bool lc__gates_meet(const struct lc__u64map *held, const struct lc__edge *f)
{
	for (uint64_t m = alive_of(f); m && held->count; m &= m - 1)
		if (lc__u64map_get(held, f->gate[__builtin_ctzll(m)], NULL))
			return true;
	return false;
}

/* Removes the first n gates of f (in alive-bit order) from held. */
static void drop_first(struct lc__u64map *held, const struct lc__edge *f,
		       uint32_t n)
{
	for (uint64_t m = alive_of(f); m && n; m &= m - 1, n--)
		lc__u64map_del(held, f->gate[__builtin_ctzll(m)]);
}

int lc__gates_take(struct lc__u64map *held, const struct lc__edge *f)
{
	uint32_t taken = 0;

	if (lc__gates_meet(held, f))
		return EEXIST;
	for (uint64_t m = alive_of(f); m; m &= m - 1, taken++) {
		if (lc__u64map_put(held, f->gate[__builtin_ctzll(m)], 0)) {
			drop_first(held, f, taken);
			return ENOMEM;
		}
	}
	return 0;
}

void lc__gates_drop(struct lc__u64map *held, const struct lc__edge *f)
{
	drop_first(held, f, LC__GATE_MAX);
}

static bool elementary(const struct lc__graph *g, const uint32_t *path,
		       uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < i; j++)
			if (lc__graph_edge(g, path[i])->from ==
			    lc__graph_edge(g, path[j])->from)
				return false;
	return true;
}

static bool modes_allow(const struct lc__graph *g, const uint32_t *path,
			uint32_t n)
{
	uint8_t state = lc__graph_edge(g, path[0])->modes;

	for (uint32_t i = 1; i < n && state; i++)
		state = lc__modes_extend(state,
					 lc__graph_edge(g, path[i])->modes);
	return lc__modes_close(state);
}

/* 0 when no gate is on two edges of the path, EEXIST when one is, or
 * ENOMEM. */
static int gates_disjoint(const struct lc__graph *g, const uint32_t *path,
			  uint32_t n)
{
	struct lc__u64map held = { 0 };
	int err = 0;

	for (uint32_t i = 0; i < n && !err; i++)
		err = lc__gates_take(&held, lc__graph_edge(g, path[i]));
	lc__u64map_free(&held);
	return err;
}

int lc__cycle_verdict(const struct lc__graph *g, const uint32_t *path,
		      uint32_t n, bool *can_deadlock)
{
	int err;

	assert(n >= 2);
	for (uint32_t i = 0; i < n; i++)
		assert(lc__graph_edge(g, path[i])->to ==
		       lc__graph_edge(g, path[(i + 1) % n])->from);
	if (!elementary(g, path, n) || !modes_allow(g, path, n)) {
		*can_deadlock = false;
		return 0;
	}
	err = gates_disjoint(g, path, n);
	if (err == ENOMEM)
		return ENOMEM;
	*can_deadlock = err == 0;
	return 0;
}
