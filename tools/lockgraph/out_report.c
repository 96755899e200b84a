/*
 * out_report.c: the report for people, in a terminal. Sections in order of
 * urgency: the cycles that can deadlock (each edge with both sites, the
 * thread and the process that showed it), what the search could not
 * settle, the findings the processes recorded, then the inventory (classes,
 * edges with counts) and the hottest locks when the dumps carry counters.
 */
#define _GNU_SOURCE
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HOT_MAX 10 /* hottest locks listed */

static void put_header(FILE *f, const struct lg_analysis *a)
{
	const struct lg_graph *g = &a->g;

	fprintf(f, "lockgraph report: %u dump%s, %u class%s, %u edge%s\n",
		g->ndumps, g->ndumps == 1 ? "" : "s", g->nclasses,
		g->nclasses == 1 ? "" : "es", g->nedges,
		g->nedges == 1 ? "" : "s");
	for (uint32_t i = 0; i < g->ndumps; i++) {
		fputs("  ", f);
		lg_put_dump(f, g, i);
		fputs(": ", f);
		lg_put_text(f, lg_str(&g->strs, g->dumps[i].path));
		fputc('\n', f);
	}
}

static void put_edge_first(FILE *f, const struct lg_graph *g,
			   const struct lg_edge *e, const char *indent)
{
	fprintf(f, "%sheld at ", indent);
	lg_put_site(f, g, &e->held);
	fprintf(f, "\n%swanted at ", indent);
	lg_put_site(f, g, &e->next);
	fprintf(f, "\n%sby thread \"", indent);
	lg_put_text(f, lg_str(&g->strs, e->thread));
	fprintf(f, "\" (tid %d) of ", (int)e->tid);
	lg_put_dump(f, g, e->dump);
	fputc('\n', f);
}

static void put_edge_head(FILE *f, const struct lg_graph *g,
			  const struct lg_edge *e)
{
	lg_put_class(f, g, e->from);
	fputs(" -> ", f);
	lg_put_class(f, g, e->to);
	fputs("  (", f);
	lg_put_modes(f, e->modes);
	fprintf(f, ", %llu time%s, %u dump%s)\n", (unsigned long long)e->count,
		e->count == 1 ? "" : "s", e->ndumps, e->ndumps == 1 ? "" : "s");
}

static void put_cycle(FILE *f, const struct lg_analysis *a, uint32_t id)
{
	const struct lg_cycle *cy = &a->cycles.v[id];
	const uint32_t *edges = lg_cycle_edges(&a->cycles, id);

	fprintf(f, "\n%s %u: ", lg_cycle_waits(a, id) ? "wait-cycle" : "cycle",
		id + 1);
	lg_put_cycle_names(f, a, id, false);
	fprintf(f, "\n  %u locks, seen in %s", cy->len,
		lg_scope_name(cy->scope));
	if (cy->dump != LG_NONE) {
		fputs(": ", f);
		lg_put_dump(f, &a->g, cy->dump);
	}
	if (cy->shortest)
		fputs("; the shortest in its component", f);
	if (cy->nreports)
		fprintf(f, "; %u process%s reported it too", cy->nreports,
			cy->nreports == 1 ? "" : "es");
	fputc('\n', f);
	for (uint32_t i = 0; i < cy->len; i++) {
		const struct lg_edge *e = &a->g.edges[edges[i]];

		fprintf(f, "  #%u ", i + 1);
		put_edge_head(f, &a->g, e);
		put_edge_first(f, &a->g, e, "      ");
	}
}

static void put_comp_classes(FILE *f, const struct lg_analysis *a,
			     uint32_t comp)
{
	const struct lc__scc *s = &a->scc;
	const char *sep = "";

	for (uint32_t i = s->start[comp]; i < s->start[comp + 1]; i++) {
		fputs(sep, f);
		lg_put_text(f, lg_str(&a->g.strs,
				      a->g.classes[s->members[i]].name));
		sep = ", ";
	}
}

/* Components with cycles none of which can deadlock, or not settled. */
static void put_quiet_comps(FILE *f, const struct lg_analysis *a)
{
	for (uint32_t i = 0; i < a->cycles.ncomps; i++) {
		const struct lg_comp *c = &a->cycles.comps[i];

		if (c->ncycles)
			continue;
		fputs(lg_comp_unsettled(c) ? "\nunsettled: "
					   : "\nno deadlock: ",
		      f);
		put_comp_classes(f, a, c->comp);
		if (lg_comp_unsettled(c))
			fprintf(f,
				"\n  cycles here were not all searched (%s); "
				"raise --budget or --max-length\n",
				c->exhausted ? "search budget spent"
					     : "longer than --max-length");
		else
			fputs("\n  every cycle through these classes is "
			      "read-read or has two edges under one gate "
			      "lock\n",
			      f);
	}
}

static void put_cycles(FILE *f, const struct lg_analysis *a)
{
	fprintf(f, "\n== %u cycle%s that can deadlock\n", a->cycles.n,
		a->cycles.n == 1 ? "" : "s");
	for (uint32_t i = 0; i < a->cycles.n; i++)
		put_cycle(f, a, i);
	if (a->cycles.truncated)
		fputs("\n(more cycles may exist: the list stopped at "
		      "--max-cycles or the search budget)\n",
		      f);
	put_quiet_comps(f, a);
}

static void put_finding(FILE *f, const struct lg_graph *g,
			const struct lg_finding *fd)
{
	fputs("  ", f);
	lg_put_text(f, lg_str(&g->strs, fd->kind));
	fputs(": ", f);
	lg_put_text(f, lg_str(&g->strs, fd->summary));
	fputs("\n    in ", f);
	lg_put_dump(f, g, fd->dump);
	if (fd->ndumps > 1)
		fprintf(f, " and %u more", fd->ndumps - 1);
	if (fd->cycle != LG_NONE)
		fprintf(f, "; this is cycle %u above", fd->cycle + 1);
	fputc('\n', f);
}

static void put_findings(FILE *f, const struct lg_graph *g)
{
	fprintf(f, "\n== %u finding%s recorded by the processes\n",
		g->nfindings, g->nfindings == 1 ? "" : "s");
	for (uint32_t i = 0; i < g->nfindings; i++)
		put_finding(f, g, &g->findings[i]);
}

static const char *kind_name(uint8_t kinds)
{
	return kinds & LG_WAIT	      ? "wait node"
	       : kinds & LG_RWLOCK    ? "rwlock"
	       : kinds & LG_RECURSIVE ? "recursive mutex"
				      : "mutex";
}

static void put_classes(FILE *f, const struct lg_graph *g)
{
	fprintf(f, "\n== %u class%s\n", g->nclasses,
		g->nclasses == 1 ? "" : "es");
	for (uint32_t i = 0; i < g->nclasses; i++) {
		const struct lg_class *c = &g->classes[i];

		fputs("  ", f);
		lg_put_class(f, g, i);
		fprintf(f, "  %s, %llu instance%s, %u dump%s%s\n",
			kind_name(c->kinds), (unsigned long long)c->instances,
			c->instances == 1 ? "" : "s", c->ndumps,
			c->ndumps == 1 ? "" : "s",
			c->singleton ? ", singleton" : "");
	}
}

/* The singleton locks held at every occurrence (besides the held lock
 * itself); instances known to one process only are not named. */
static void put_gates(FILE *f, const struct lg_graph *g,
		      const struct lg_edge *e)
{
	const char *sep = "      gates (held every time): ";

	for (uint32_t i = 0; i < e->ngates; i++) {
		uint64_t k = e->gates.keys[i];

		if (k >= LG_LOCAL_GATE || k == e->from)
			continue;
		fputs(sep, f);
		lg_put_class(f, g, (uint32_t)k);
		sep = ", ";
	}
	if (sep[0] == ',')
		fputc('\n', f);
}

static void put_edges(FILE *f, const struct lg_graph *g)
{
	fprintf(f, "\n== %u edge%s (held -> wanted)\n", g->nedges,
		g->nedges == 1 ? "" : "s");
	for (uint32_t i = 0; i < g->nedges; i++) {
		const struct lg_edge *e = &g->edges[i];

		fputs("  ", f);
		put_edge_head(f, g, e);
		put_edge_first(f, g, e, "      ");
		put_gates(f, g, e);
	}
}

static int cmp_hot(const void *pa, const void *pb, void *ctx)
{
	const struct lg_class *c = ctx;
	const struct lg_class *x = &c[*(const uint32_t *)pa];
	const struct lg_class *y = &c[*(const uint32_t *)pb];

	if (x->wait_ns != y->wait_ns)
		return x->wait_ns < y->wait_ns ? 1 : -1;
	if (x->contended != y->contended)
		return x->contended < y->contended ? 1 : -1;
	if (x->acquired != y->acquired)
		return x->acquired < y->acquired ? 1 : -1;
	return 0;
}

static void put_hot(FILE *f, const struct lg_graph *g, const uint32_t *ids,
		    uint32_t n)
{
	fputs("\n== hottest locks (by time waited)\n", f);
	for (uint32_t i = 0; i < n && i < HOT_MAX; i++) {
		const struct lg_class *c = &g->classes[ids[i]];

		fputs("  ", f);
		lg_put_class(f, g, ids[i]);
		fprintf(f, "  acquired %llu, contended %llu, waited %.3f ms\n",
			(unsigned long long)c->acquired,
			(unsigned long long)c->contended,
			(double)c->wait_ns / 1e6);
	}
}

/* Classes with counters, hottest first (nothing when none has any). */
static int put_hottest(FILE *f, const struct lg_graph *g)
{
	uint32_t *ids = malloc((g->nclasses + 1) * sizeof(*ids)), n = 0;

	if (!ids)
		return ENOMEM;
	for (uint32_t i = 0; i < g->nclasses; i++)
		if (g->classes[i].acquired || g->classes[i].contended ||
		    g->classes[i].wait_ns)
			ids[n++] = i;
	qsort_r(ids, n, sizeof(*ids), cmp_hot, g->classes);
	if (n)
		put_hot(f, g, ids, n);
	free(ids);
	return 0;
}

int lg_out_report(FILE *f, const struct lg_analysis *a)
{
	int err;

	put_header(f, a);
	put_cycles(f, a);
	put_findings(f, &a->g);
	put_classes(f, &a->g);
	put_edges(f, &a->g);
	err = put_hottest(f, &a->g);
	return err ? err : ferror(f) ? EIO : 0;
}
