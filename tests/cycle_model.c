/*
 * cycle_model.c: see cycle_model.h.
 */
#include "cycle_model.h"

#include <check.h>
#include <string.h>

/* Mode pair of edge k in a choice: base-4 digit k (held * 2 + wanted). */
static int pair_at(long choice, int k)
{
	return (int)((choice >> (2 * k)) & 3);
}

bool cm_modes_allow(const struct cm_graph *g, const int *cyc, int len)
{
	for (long choice = 0; choice < 1L << (2 * len); choice++) {
		bool ok = true;

		for (int k = 0; k < len && ok; k++) {
			int pair = pair_at(choice, k);
			int next = pair_at(choice, (k + 1) % len);
			int modes = g->modes[cyc[k]][cyc[(k + 1) % len]];

			/* the pair was seen, and at the next lock the
			 * wanted mode or the next held mode is write */
			ok = ((modes >> pair) & 1) &&
			     ((pair & 1) || (next >> 1));
		}
		if (ok)
			return true;
	}
	return false;
}

bool cm_gated(const struct cm_graph *g, const int *cyc, int len)
{
	for (int i = 0; i < len; i++)
		for (int j = i + 1; j < len; j++)
			if (g->share(g, cyc[i], cyc[(i + 1) % len], cyc[j],
				     cyc[(j + 1) % len]))
				return true;
	return false;
}

static void permute(const struct cm_graph *g, int *cyc, int len, int k,
		    bool *used, struct cm_cycles *out)
{
	if (k == len) {
		if (g->modes[cyc[len - 1]][cyc[0]] &&
		    cm_modes_allow(g, cyc, len) && !cm_gated(g, cyc, len)) {
			ck_assert_int_lt(out->n, CM_CYCLES);
			memcpy(out->node[out->n], cyc, len * sizeof(int));
			out->len[out->n++] = len;
		}
		return;
	}
	for (int v = cyc[0] + 1; v < g->n; v++) {
		if (used[v] || !g->modes[cyc[k - 1]][v])
			continue;
		used[v] = true;
		cyc[k] = v;
		permute(g, cyc, len, k + 1, used, out);
		used[v] = false;
	}
}

void cm_find_cycles(const struct cm_graph *g, struct cm_cycles *out)
{
	int cyc[CM_NODES];
	bool used[CM_NODES] = { false };

	ck_assert_int_le(g->n, CM_NODES);
	out->n = 0;
	for (int len = 2; len <= g->n; len++)
		for (int s = 0; s < g->n; s++) {
			cyc[0] = s;
			used[s] = true;
			permute(g, cyc, len, 1, used, out);
			used[s] = false;
		}
}

unsigned cm_node_set(const struct cm_cycles *c, int i)
{
	unsigned set = 0;

	for (int k = 0; k < c->len[i]; k++)
		set |= 1u << c->node[i][k];
	return set;
}
