/*
 * out_merge.c: the merged graph written back as ONE version 2 dump
 * (docs/dump-format.md), for a baseline to commit and diff against.
 *
 * Read back, it gives the same classes, edges, modes, counts, findings and
 * the same deadlock verdict on every cycle:
 *  - a class that is a singleton in every dump is written with 1 instance,
 *    any other with at least 2, so singletons stay singletons;
 *  - a singleton gate is written as "class:0"; a lock instance known to one
 *    dump (local gate key n) as "class:n+1", unique in the file;
 *  - each edge keeps its first occurrence (thread, sites).
 *  - each checked range keeps its counts, its candidate locks and how
 *    many ranges of the dumps it sums (the optional records field), so
 *    `lockgraph guards` on the merge says what it says on the dumps.
 * What one file cannot keep: which process showed which edge (the scope of
 * a cycle), and the dumps' pids and paths. The process line is pid 0,
 * program "lockgraph-merge".
 */
#include "output.h"

#include <errno.h>

/* A string field as lockcheck/dump.c writes it: quoted, escaped by the
 * one function the checker uses too (lg_put_text, lockcheck/text.h). */
static void put_field(FILE *f, const char *s)
{
	fputs(" \"", f);
	lg_put_text(f, s);
	fputc('"', f);
}

static void put_class(FILE *f, const struct lg_graph *g, uint32_t i)
{
	const struct lg_class *c = &g->classes[i];
	uint64_t inst = c->singleton ? 1 : c->instances < 2 ? 2 : c->instances;

	fprintf(f, "class %u %s %llu %llu %llu %llu", i, lg_kind_word(c->kinds),
		(unsigned long long)inst, (unsigned long long)c->acquired,
		(unsigned long long)c->contended,
		(unsigned long long)c->wait_ns);
	put_field(f, lg_str(&g->strs, c->name));
	put_field(f, lg_str(&g->strs, c->file));
	fprintf(f, " %d\n", (int)c->line);
}

static void put_gates(FILE *f, const struct lg_graph *g,
		      const struct lg_edge *e)
{
	if (!e->ngates)
		fputs(" -", f);
	for (uint32_t i = 0; i < e->ngates; i++) {
		uint64_t k = e->gates.keys[i];
		uint64_t local = k - LG_LOCAL_GATE;

		fputc(i ? ',' : ' ', f);
		if (k < LG_LOCAL_GATE)
			fprintf(f, "%llu:0", (unsigned long long)k);
		else
			fprintf(f, "%u:%llu", g->local_cls[local],
				(unsigned long long)local + 1);
	}
}

static void put_site(FILE *f, const struct lg_graph *g, const struct lg_site *s)
{
	put_field(f, lg_str(&g->strs, s->file));
	fprintf(f, " %d", (int)s->line);
	put_field(f, lg_str(&g->strs, s->func));
}

static void put_edge(FILE *f, const struct lg_graph *g, uint32_t i)
{
	static const char *const names[4] = { "RR", "RW", "WR", "WW" };
	const struct lg_edge *e = &g->edges[i];
	const char *sep = " ";

	fprintf(f, "edge %u %u %llu", e->from, e->to,
		(unsigned long long)e->count);
	for (int m = 0; m < 4; m++)
		if (e->modes & (1u << m)) {
			fprintf(f, "%s%s", sep, names[m]);
			sep = ",";
		}
	put_gates(f, g, e);
	fprintf(f, " %d", (int)e->tid);
	put_field(f, lg_str(&g->strs, e->thread));
	put_site(f, g, &e->held);
	put_site(f, g, &e->next);
	fputc('\n', f);
}

static void put_finding(FILE *f, const struct lg_graph *g, uint32_t i)
{
	const struct lg_finding *fd = &g->findings[i];

	fprintf(f, "finding %s ", lg_str(&g->strs, fd->kind));
	if (!fd->ncls)
		fputc('-', f);
	for (uint32_t k = 0; k < fd->ncls; k++)
		fprintf(f, "%s%u", k ? "," : "", g->ids[fd->cls_off + k]);
	put_field(f, lg_str(&g->strs, fd->summary));
	fputc('\n', f);
}

/* A merged range; records only when it sums more than one, so a range of
 * one dump reads back as it was written. */
static void put_range(FILE *f, const struct lg_graph *g, uint32_t i)
{
	const struct lg_range *r = &g->ranges[i];

	fprintf(f, "range %llu %llu %llu %llu ",
		(unsigned long long)r->accesses, (unsigned long long)r->writes,
		(unsigned long long)r->threads, (unsigned long long)r->bytes);
	if (!r->ncls)
		fputc('-', f);
	for (uint32_t k = 0; k < r->ncls; k++)
		fprintf(f, "%s%u", k ? "," : "", g->ids[r->cls_off + k]);
	put_field(f, lg_str(&g->strs, r->what));
	put_field(f, lg_str(&g->strs, r->file));
	fprintf(f, " %d", (int)r->line);
	if (r->records > 1)
		fprintf(f, " %u", r->records);
	fputc('\n', f);
}

int lg_out_merge(FILE *f, const struct lg_analysis *a)
{
	const struct lg_graph *g = &a->g;

	fputs("lockcheck-dump 2\nprocess 0 \"lockgraph-merge\"\n", f);
	for (uint32_t i = 0; i < g->nclasses; i++)
		put_class(f, g, i);
	for (uint32_t i = 0; i < g->nedges; i++)
		put_edge(f, g, i);
	for (uint32_t i = 0; i < g->nfindings; i++)
		put_finding(f, g, i);
	for (uint32_t i = 0; i < g->nranges; i++)
		put_range(f, g, i);
	fprintf(f, "end %u %u %u %u\n", g->nclasses, g->nedges, g->nfindings,
		g->nranges);
	return ferror(f) ? EIO : 0;
}
