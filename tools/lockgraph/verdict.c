/*
 * verdict.c: see verdict.h.
 */
#include "verdict.h"

#include <string.h>

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

bool lg_cycle_can_deadlock(const struct lg_graph *g, const uint32_t *edges,
			   uint32_t n)
{
	const struct lg_edge *first = &g->edges[edges[0]];
	uint64_t common[LG_MAX_GATES];
	uint32_t ncommon = first->ngates;
	uint8_t state = first->modes;

	if (ncommon)
		memcpy(common, first->gates.keys, ncommon * sizeof(*common));
	for (uint32_t i = 1; i < n; i++) {
		const struct lg_edge *e = &g->edges[edges[i]];

		state = lg_modes_extend(state, e->modes);
		ncommon = lg_gates_meet(common, ncommon, e->gates.keys,
					e->ngates, common);
	}
	return lg_modes_close(state) && ncommon == 0;
}
