/*
 * out_json.c: the merged graph for machines. One object:
 *
 *   {"format": "lockgraph-json", "version": 1,
 *    "dumps": [{"path", "pid", "program"}],
 *    "classes": [{"id", "name", "file", "line", "kind", "instances",
 *                 "singleton", "dumps", "acquired", "contended", "wait_ns"}],
 *    "edges": [{"id", "from", "to", "modes": ["WW"], "count", "dumps",
 *               "gates": [class id or "local:N"],
 *               "first": {"dump", "tid", "thread",
 *                         "held": {"file", "line", "func"},
 *                         "wanted": {...}}}],
 *    "cycles": [{"classes": [ids], "edges": [ids], "wait" (through a
 *                wait node: a wait-cycle), "scope", "dump",
 *                "shortest", "reported_by"}],
 *    "no_deadlock_components": [[ids]], "unsettled_components": [[ids]],
 *    "findings": [{"kind", "summary", "classes", "dump", "dumps",
 *                  "cycle"}],
 *    "truncated": bool}
 *
 * Ids index the arrays they name; "dump" is null when there is none.
 * Counters are JSON numbers (exact up to 2^53 in most readers).
 */
#include "output.h"

#include <errno.h>

static void put_dumps(FILE *f, const struct lg_graph *g)
{
	fputs("\"dumps\": [", f);
	for (uint32_t i = 0; i < g->ndumps; i++) {
		const struct lg_dump *d = &g->dumps[i];

		fputs(i ? ",\n  {\"path\": " : "\n  {\"path\": ", f);
		lg_put_json(f, lg_str(&g->strs, d->path));
		fprintf(f, ", \"pid\": %llu, \"program\": ",
			(unsigned long long)d->pid);
		lg_put_json(f, lg_str(&g->strs, d->program));
		fputc('}', f);
	}
	fputs("],\n", f);
}

static void put_class(FILE *f, const struct lg_graph *g, uint32_t i)
{
	const struct lg_class *c = &g->classes[i];

	fprintf(f, "  {\"id\": %u, \"name\": ", i);
	lg_put_json(f, lg_str(&g->strs, c->name));
	fputs(", \"file\": ", f);
	lg_put_json(f, lg_str(&g->strs, c->file));
	fprintf(f,
		", \"line\": %d, \"kind\": \"%s\", \"instances\": %llu, "
		"\"singleton\": %s, \"dumps\": %u, \"acquired\": %llu, "
		"\"contended\": %llu, \"wait_ns\": %llu}",
		(int)c->line, lg_kind_word(c->kinds),
		(unsigned long long)c->instances,
		c->singleton ? "true" : "false", c->ndumps,
		(unsigned long long)c->acquired,
		(unsigned long long)c->contended,
		(unsigned long long)c->wait_ns);
}

static void put_site(FILE *f, const struct lg_graph *g, const char *name,
		     const struct lg_site *s)
{
	fprintf(f, "\"%s\": {\"file\": ", name);
	lg_put_json(f, lg_str(&g->strs, s->file));
	fprintf(f, ", \"line\": %d, \"func\": ", (int)s->line);
	lg_put_json(f, lg_str(&g->strs, s->func));
	fputc('}', f);
}

static void put_modes(FILE *f, uint8_t modes)
{
	static const char *const names[4] = { "RR", "RW", "WR", "WW" };
	const char *sep = "";

	fputc('[', f);
	for (int i = 0; i < 4; i++)
		if (modes & (1u << i)) {
			fprintf(f, "%s\"%s\"", sep, names[i]);
			sep = ", ";
		}
	fputc(']', f);
}

/* Gates: a class id for a singleton; "local:N" for a lock instance only
 * one dump knows (equal strings are the same lock). */
static void put_gates(FILE *f, const struct lg_edge *e)
{
	fputc('[', f);
	for (uint32_t i = 0; i < e->ngates; i++) {
		uint64_t k = e->gates.keys[i];

		if (i)
			fputs(", ", f);
		if (k < LG_LOCAL_GATE)
			fprintf(f, "%llu", (unsigned long long)k);
		else
			fprintf(f, "\"local:%llu\"",
				(unsigned long long)(k - LG_LOCAL_GATE));
	}
	fputc(']', f);
}

static void put_edge(FILE *f, const struct lg_graph *g, uint32_t i)
{
	const struct lg_edge *e = &g->edges[i];

	fprintf(f, "  {\"id\": %u, \"from\": %u, \"to\": %u, \"modes\": ", i,
		e->from, e->to);
	put_modes(f, e->modes);
	fprintf(f, ", \"count\": %llu, \"dumps\": %u, \"gates\": ",
		(unsigned long long)e->count, e->ndumps);
	put_gates(f, e);
	fprintf(f, ",\n   \"first\": {\"dump\": %u, \"tid\": %d, \"thread\": ",
		e->dump, (int)e->tid);
	lg_put_json(f, lg_str(&g->strs, e->thread));
	fputs(", ", f);
	put_site(f, g, "held", &e->held);
	fputs(", ", f);
	put_site(f, g, "wanted", &e->next);
	fputs("}}", f);
}

static void put_u32_list(FILE *f, const uint32_t *v, uint32_t n)
{
	fputc('[', f);
	for (uint32_t i = 0; i < n; i++)
		fprintf(f, "%s%u", i ? ", " : "", v[i]);
	fputc(']', f);
}

static void put_cycle(FILE *f, const struct lg_analysis *a, uint32_t id)
{
	const struct lg_cycle *cy = &a->cycles.v[id];
	const uint32_t *e = lg_cycle_edges(&a->cycles, id);
	static const char *const scopes[] = { "thread", "threads",
					      "processes" };

	fputs("  {\"classes\": [", f);
	for (uint32_t i = 0; i < cy->len; i++)
		fprintf(f, "%s%u", i ? ", " : "", a->g.edges[e[i]].from);
	fputs("], \"edges\": ", f);
	put_u32_list(f, e, cy->len);
	fprintf(f, ", \"wait\": %s, \"scope\": \"%s\", \"dump\": ",
		lg_cycle_waits(a, id) ? "true" : "false", scopes[cy->scope]);
	if (cy->dump == LG_NONE)
		fputs("null", f);
	else
		fprintf(f, "%u", cy->dump);
	fprintf(f, ", \"shortest\": %s, \"reported_by\": %u}",
		cy->shortest ? "true" : "false", cy->nreports);
}

static void put_finding(FILE *f, const struct lg_graph *g, uint32_t i)
{
	const struct lg_finding *fd = &g->findings[i];

	fputs("  {\"kind\": ", f);
	lg_put_json(f, lg_str(&g->strs, fd->kind));
	fputs(", \"summary\": ", f);
	lg_put_json(f, lg_str(&g->strs, fd->summary));
	fputs(", \"classes\": ", f);
	put_u32_list(f, fd->ncls ? g->ids + fd->cls_off : NULL, fd->ncls);
	fprintf(f, ", \"dump\": %u, \"dumps\": %u, \"cycle\": ", fd->dump,
		fd->ndumps);
	if (fd->cycle == LG_NONE)
		fputs("null}", f);
	else
		fprintf(f, "%u}", fd->cycle);
}

/* Components with no deadlock cycle: settled ones or unsettled ones. */
static void put_comps(FILE *f, const struct lg_analysis *a, bool unsettled)
{
	const char *sep = "";

	fputc('[', f);
	for (uint32_t i = 0; i < a->cycles.ncomps; i++) {
		const struct lg_comp *c = &a->cycles.comps[i];

		if (c->ncycles || lg_comp_unsettled(c) != unsettled)
			continue;
		fputs(sep, f);
		put_u32_list(f, a->scc.members + a->scc.start[c->comp],
			     lc__scc_size(&a->scc, c->comp));
		sep = ", ";
	}
	fputc(']', f);
}

/* "name": [ item(0), ..., item(n - 1) ] */
static void put_array(FILE *f, const char *name, uint32_t n,
		      void (*item)(FILE *, const struct lg_graph *, uint32_t),
		      const struct lg_graph *g)
{
	fprintf(f, "\"%s\": [", name);
	for (uint32_t i = 0; i < n; i++) {
		fputs(i ? ",\n" : "\n", f);
		item(f, g, i);
	}
	fputs("],\n", f);
}

int lg_out_json(FILE *f, const struct lg_analysis *a)
{
	const struct lg_graph *g = &a->g;

	fputs("{\"format\": \"lockgraph-json\", \"version\": 1,\n", f);
	put_dumps(f, g);
	put_array(f, "classes", g->nclasses, put_class, g);
	put_array(f, "edges", g->nedges, put_edge, g);
	fputs("\"cycles\": [", f);
	for (uint32_t i = 0; i < a->cycles.n; i++) {
		fputs(i ? ",\n" : "\n", f);
		put_cycle(f, a, i);
	}
	fputs("],\n\"no_deadlock_components\": ", f);
	put_comps(f, a, false);
	fputs(",\n\"unsettled_components\": ", f);
	put_comps(f, a, true);
	fputs(",\n", f);
	put_array(f, "findings", g->nfindings, put_finding, g);
	fprintf(f, "\"truncated\": %s}\n",
		a->cycles.truncated ? "true" : "false");
	return ferror(f) ? EIO : 0;
}
