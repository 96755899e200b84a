/*
 * out_check.c: the CI verdict, one line per problem, nothing when there is
 * none. A problem is a cycle that can deadlock, a finding a process
 * recorded (except a cycle report already counted as its cycle), or a
 * component whose verdict the bounded search could not settle: a gate must
 * not pass what it did not look at.
 */
#include "output.h"

#include <errno.h>

static void put_cycle_line(FILE *f, const struct lg_analysis *a, uint32_t id)
{
	const struct lg_cycle *cy = &a->cycles.v[id];

	fputs(lg_cycle_waits(a, id) ? "wait-cycle: " : "cycle: ", f);
	lg_put_cycle_names(f, a, id, true);
	fprintf(f, " (%u locks, seen in %s", cy->len, lg_scope_name(cy->scope));
	if (cy->dump != LG_NONE) {
		fputs(": ", f);
		lg_put_dump(f, &a->g, cy->dump);
	}
	fputs(")\n", f);
}

static void put_finding_line(FILE *f, const struct lg_graph *g,
			     const struct lg_finding *fd)
{
	fputs("finding: ", f);
	lg_put_text(f, lg_str(&g->strs, fd->kind));
	fputs(": ", f);
	lg_put_text(f, lg_str(&g->strs, fd->summary));
	fputs(" (", f);
	lg_put_dump(f, g, fd->dump);
	if (fd->ndumps > 1)
		fprintf(f, " and %u more", fd->ndumps - 1);
	fputs(")\n", f);
}

static void put_unsettled_line(FILE *f, const struct lg_analysis *a,
			       const struct lg_comp *c)
{
	const struct lc__scc *s = &a->scc;

	fprintf(f, "unsettled: %u classes from ", lc__scc_size(s, c->comp));
	lg_put_class(f, &a->g, s->members[s->start[c->comp]]);
	fprintf(f, " form cycles the search did not finish (%s)\n",
		c->exhausted ? "raise --budget" : "raise --max-length");
}

int lg_out_check(FILE *f, const struct lg_analysis *a, uint32_t *problems)
{
	const struct lg_graph *g = &a->g;
	uint32_t n = 0;

	for (uint32_t i = 0; i < a->cycles.n; i++, n++)
		put_cycle_line(f, a, i);
	for (uint32_t i = 0; i < g->nfindings; i++) {
		if (g->findings[i].cycle != LG_NONE)
			continue;
		put_finding_line(f, g, &g->findings[i]);
		n++;
	}
	for (uint32_t i = 0; i < a->cycles.ncomps; i++) {
		if (!lg_comp_unsettled(&a->cycles.comps[i]))
			continue;
		put_unsettled_line(f, a, &a->cycles.comps[i]);
		n++;
	}
	*problems = n;
	return ferror(f) ? EIO : 0;
}
