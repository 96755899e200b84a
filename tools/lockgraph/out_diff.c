/*
 * out_diff.c: what NEW has that BASE lacks - classes, edges, mode pairs of
 * edges, and cycles that can deadlock - for a CI gate against a committed
 * baseline. Classes are matched by (name, file, line), edges by their
 * classes. A cycle of NEW is new unless every edge of it is in BASE and
 * the same cycle can deadlock in BASE too.
 *
 * Completeness: a new deadlock cycle must use an edge that changed (new,
 * new mode pair, or a gate lost), so besides NEW's listed cycles the diff
 * searches the shortest deadlock cycle through every changed edge that lies
 * in a component; the bounded cycle list of NEW alone could miss one in a
 * big component. Should the step budget run out first, the diff says so
 * and fails: a gate must not pass what it did not look at.
 */
#include "output.h"

#include <errno.h>
#include <stdlib.h>

struct diff {
	FILE *f;
	const struct lg_analysis *base, *cur;
	uint32_t *cls;	      /* cur class -> base class, or LG_NONE */
	uint32_t *edge;	      /* cur edge -> base edge, or LG_NONE */
	uint32_t *path;	      /* a cycle, as cur edges */
	uint32_t *mapped;     /* the same cycle, as base edges */
	struct lg_cycles out; /* the new cycles found, deduplicated */
	uint32_t nclasses, nedges, nmodes;
	uint32_t unsearched; /* changed edges on cycles left when the budget
			      * ran out */
};

static void map_classes(struct diff *d)
{
	const struct lg_graph *b = &d->base->g, *c = &d->cur->g;

	for (uint32_t i = 0; i < c->nclasses; i++) {
		const struct lg_class *k = &c->classes[i];

		d->cls[i] =
			lg_graph_find_class(b, lg_str(&c->strs, k->name),
					    lg_str(&c->strs, k->file), k->line);
	}
}

static void map_edges(struct diff *d)
{
	const struct lg_graph *c = &d->cur->g;

	for (uint32_t i = 0; i < c->nedges; i++) {
		uint32_t from = d->cls[c->edges[i].from];
		uint32_t to = d->cls[c->edges[i].to];

		d->edge[i] =
			from == LG_NONE || to == LG_NONE
				? LG_NONE
				: lg_graph_find_edge(&d->base->g, from, to);
	}
}

/* A gate of base edge be that cur edge ce does not keep (a local gate
 * cannot be compared across graphs: counted as lost). */
static bool lost_gate(const struct diff *d, const struct lg_edge *be,
		      const struct lg_edge *ce)
{
	for (uint32_t i = 0; i < be->ngates; i++) {
		bool kept = false;

		for (uint32_t j = 0; j < ce->ngates; j++)
			kept |= ce->gates.keys[j] < LG_LOCAL_GATE &&
				be->gates.keys[i] < LG_LOCAL_GATE &&
				d->cls[ce->gates.keys[j]] == be->gates.keys[i];
		if (!kept)
			return true;
	}
	return false;
}

static bool edge_changed(const struct diff *d, uint32_t i)
{
	const struct lg_edge *ce = &d->cur->g.edges[i], *be;

	if (d->edge[i] == LG_NONE)
		return true;
	be = &d->base->g.edges[d->edge[i]];
	return (ce->modes & ~be->modes) || lost_gate(d, be, ce);
}

static void put_classes(struct diff *d)
{
	for (uint32_t i = 0; i < d->cur->g.nclasses; i++) {
		if (d->cls[i] != LG_NONE)
			continue;
		fputs("+ class ", d->f);
		lg_put_class(d->f, &d->cur->g, i);
		fputc('\n', d->f);
		d->nclasses++;
	}
}

static void put_edges(struct diff *d)
{
	const struct lg_graph *c = &d->cur->g;

	for (uint32_t i = 0; i < c->nedges; i++) {
		const struct lg_edge *e = &c->edges[i];
		uint8_t base_modes =
			d->edge[i] == LG_NONE
				? 0
				: d->base->g.edges[d->edge[i]].modes;

		if (!(e->modes & ~base_modes))
			continue;
		fputs(base_modes ? "~ edge " : "+ edge ", d->f);
		lg_put_class(d->f, c, e->from);
		fputs(" -> ", d->f);
		lg_put_class(d->f, c, e->to);
		fputs(base_modes ? "  now also " : "  ", d->f);
		lg_put_modes(d->f, (uint8_t)(e->modes & ~base_modes));
		fputc('\n', d->f);
		base_modes ? d->nmodes++ : d->nedges++;
	}
}

/* Sets *in when cycle path[0..n) of cur can deadlock in base as well.
 * 0 or ENOMEM. */
static int in_base(struct diff *d, uint32_t n, bool *in)
{
	*in = false;
	for (uint32_t i = 0; i < n; i++) {
		d->mapped[i] = d->edge[d->path[i]];
		if (d->mapped[i] == LG_NONE)
			return 0;
	}
	return lg_cycle_verdict(&d->base->g, d->mapped, n, in);
}

static int consider(struct diff *d, uint32_t n)
{
	bool in;
	uint32_t id;
	int err;

	if (!n)
		return 0;
	err = in_base(d, n, &in);
	if (err || in)
		return err;
	return lg_cycles_add(&d->out, &d->cur->g, d->path, n, 0, false, &id);
}

/* New cycles: NEW's listed ones, then one through each changed edge. */
static int find_new_cycles(struct diff *d, const struct lg_search_opts *o)
{
	const struct lg_analysis *c = d->cur;
	uint64_t budget = o->budget;
	int err = 0;

	for (uint32_t i = 0; i < c->cycles.n && !err; i++) {
		const struct lg_cycle *cy = &c->cycles.v[i];

		for (uint32_t j = 0; j < cy->len; j++)
			d->path[j] = lg_cycle_edges(&c->cycles, i)[j];
		err = consider(d, cy->len);
	}
	for (uint32_t i = 0; i < c->g.nedges && !err; i++) {
		if (!edge_changed(d, i) ||
		    c->scc.comp[c->g.edges[i].from] !=
			    c->scc.comp[c->g.edges[i].to])
			continue; /* unchanged, or on no cycle at all */
		if (!budget) {
			d->unsearched++;
			continue;
		}
		err = consider(d, lg_cycle_through(&c->g, &c->scc, i, o,
						   &budget, d->path));
	}
	return err ? err : lg_cycles_classify(&d->out, &c->g);
}

static void put_cycles(struct diff *d)
{
	struct lg_analysis view = *d->cur;

	view.cycles = d->out; /* to print them with the shared helpers */
	for (uint32_t i = 0; i < d->out.n; i++) {
		fputs("+ cycle ", d->f);
		lg_put_cycle_names(d->f, &view, i, true);
		fprintf(d->f, " (%u locks, seen in %s)\n", d->out.v[i].len,
			lg_scope_name(d->out.v[i].scope));
	}
}

static int alloc_diff(struct diff *d, uint32_t max_len)
{
	const struct lg_graph *c = &d->cur->g;

	lg_cycles_init(&d->out);
	d->cls = malloc((c->nclasses + 1) * sizeof(*d->cls));
	d->edge = malloc((c->nedges + 1) * sizeof(*d->edge));
	d->path = malloc((max_len + 1) * sizeof(*d->path));
	d->mapped = malloc((max_len + 1) * sizeof(*d->mapped));
	return d->cls && d->edge && d->path && d->mapped ? 0 : ENOMEM;
}

static void free_diff(struct diff *d)
{
	free(d->cls);
	free(d->edge);
	free(d->path);
	free(d->mapped);
	lg_cycles_free(&d->out);
}

static uint32_t longest_cycle(const struct lg_cycles *c, uint32_t floor)
{
	for (uint32_t i = 0; i < c->n; i++)
		if (c->v[i].len > floor)
			floor = c->v[i].len;
	return floor;
}

int lg_out_diff(FILE *f, const struct lg_analysis *base,
		const struct lg_analysis *cur, const struct lg_search_opts *o,
		uint32_t *new_cycles)
{
	struct diff d = { .f = f, .base = base, .cur = cur };
	int err = alloc_diff(&d, longest_cycle(&cur->cycles, o->max_len));

	if (!err) {
		map_classes(&d);
		map_edges(&d);
		err = find_new_cycles(&d, o);
	}
	if (!err) {
		put_classes(&d);
		put_edges(&d);
		put_cycles(&d);
		if (d.unsearched)
			fprintf(f,
				"? unsettled: the search budget ran out with "
				"%u changed edges on cycles unsearched "
				"(raise --budget)\n",
				d.unsearched);
		fprintf(f,
			"lockgraph diff: %u new class%s, %u new edge%s, "
			"%u edge%s with new modes, %u new cycle%s\n",
			d.nclasses, d.nclasses == 1 ? "" : "es", d.nedges,
			d.nedges == 1 ? "" : "s", d.nmodes,
			d.nmodes == 1 ? "" : "s", d.out.n,
			d.out.n == 1 ? "" : "s");
		*new_cycles = d.out.n + (d.unsearched ? 1 : 0);
	}
	free_diff(&d);
	return err ? err : ferror(f) ? EIO : 0;
}
