/*
 * verdict.c: see verdict.h.
 */
#include "verdict.h"

uint8_t lg_modes_extend(uint8_t state, uint8_t modes)
{
	uint8_t next = 0;

	for (int s = 0; s < 4; s++) {
		int h0 = s >> 1, w = s & 1;

		if (!(state & (1u << s)))
			continue;
		for (int m = 0; m < 4; m++) {
			int h = m >> 1, w2 = m & 1;

			if ((modes & (1u << m)) && (w || h))
				next |= (uint8_t)(1u << (h0 * 2 + w2));
		}
	}
	return next;
}

uint32_t lg_gates_meet(const uint64_t *a, uint32_t na, const uint64_t *b,
		       uint32_t nb, uint64_t *out)
{
	uint32_t i = 0, j = 0, n = 0;

	while (i < na && j < nb) {
		if (a[i] < b[j]) {
			i++;
		} else if (a[i] > b[j]) {
			j++;
		} else {
			out[n++] = a[i];
			i++;
			j++;
		}
	}
	return n;
}

/* True when sorted key lists a[0..na) and b[0..nb) have a key in
 * common. */
static bool keys_share(const uint64_t *a, uint32_t na, const uint64_t *b,
		       uint32_t nb)
{
	uint32_t i = 0, j = 0;

	while (i < na && j < nb) {
		if (a[i] == b[j])
			return true;
		if (a[i] < b[j])
			i++;
		else
			j++;
	}
	return false;
}

/* True when no gate key is on two of the edges. Quadratic in the gated
 * edges, with no allocation (a predicate cannot fail); cycles are short. */
static bool gates_disjoint(const struct lg_graph *g, const uint32_t *edges,
			   uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct lg_edge *a = &g->edges[edges[i]];

		for (uint32_t j = i + 1; a->ngates && j < n; j++) {
			const struct lg_edge *b = &g->edges[edges[j]];

			if (keys_share(a->gates.keys, a->ngates, b->gates.keys,
				       b->ngates))
				return false;
		}
	}
	return true;
}

bool lg_cycle_can_deadlock(const struct lg_graph *g, const uint32_t *edges,
			   uint32_t n)
{
	uint8_t state = g->edges[edges[0]].modes;

	for (uint32_t i = 1; i < n; i++)
		state = lg_modes_extend(state, g->edges[edges[i]].modes);
	return lg_modes_close(state) && gates_disjoint(g, edges, n);
}
