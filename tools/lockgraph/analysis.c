/*
 * analysis.c: load, merge, finish, components, cycles, linked reports,
 * scopes - in that order, each step needing the one before.
 */
#include "analysis.h"

#include <errno.h>
#include <string.h>

int lg_analysis_init(struct lg_analysis *a)
{
	memset(a, 0, sizeof(*a));
	lg_cycles_init(&a->cycles);
	return lg_graph_init(&a->g);
}

int lg_analysis_run(struct lg_analysis *a, const struct lg_search_opts *o)
{
	int rc = lg_graph_finish(&a->g);

	rc = rc ? rc : lc__scc_find(&a->g.lc, &a->scc);
	rc = rc ? rc : lg_cycles_find(&a->g, &a->scc, o, &a->cycles);
	rc = rc ? rc : lg_cycles_link_findings(&a->cycles, &a->g, &a->scc);
	rc = rc ? rc : lg_cycles_classify(&a->cycles, &a->g);
	if (!rc)
		lg_cycles_count(&a->cycles);
	return rc;
}

int lg_analyze(struct lg_analysis *a, char *const *paths, int n,
	       const struct lg_search_opts *o, struct lg_err *err)
{
	int rc = lg_analysis_init(a);

	rc = rc ? rc : lg_load(&a->g, paths, n, err);
	rc = rc ? rc : lg_analysis_run(a, o);
	if (rc == ENOMEM)
		lg_errf(err, ENOMEM, "out of memory");
	return rc;
}

void lg_analysis_free(struct lg_analysis *a)
{
	lg_cycles_free(&a->cycles);
	lc__scc_free(&a->scc);
	lg_graph_free(&a->g);
}

bool lg_comp_unsettled(const struct lg_comp *c)
{
	return c->ncycles == 0 && (c->exhausted || c->too_long);
}
