/*
 * out_dot.c: the merged graph for Graphviz. A class is a box labelled with
 * its name and init site; an edge is labelled with its mode pairs and count;
 * edges and classes on a cycle that can deadlock are red and bold. Nodes
 * are named n<id>, so only labels carry dump strings, and every label goes
 * through lg_put_dot.
 */
#include "output.h"

#include <errno.h>
#include <stdlib.h>

/* Marks the edges and classes of every listed cycle. */
static void mark_cycles(const struct lg_analysis *a, uint8_t *edge_on,
			uint8_t *class_on)
{
	for (uint32_t i = 0; i < a->cycles.n; i++) {
		const uint32_t *e = lg_cycle_edges(&a->cycles, i);

		for (uint32_t j = 0; j < a->cycles.v[i].len; j++) {
			edge_on[e[j]] = 1;
			class_on[a->g.edges[e[j]].from] = 1;
		}
	}
}

static void put_node(FILE *f, const struct lg_graph *g, uint32_t i, bool on)
{
	const struct lg_class *c = &g->classes[i];

	fprintf(f, "\tn%u [label=\"", i);
	lg_put_dot(f, lg_str(&g->strs, c->name));
	fputs("\\n", f);
	lg_put_dot(f, lg_str(&g->strs, c->file));
	if (c->line) /* 0: a preloaded program's class */
		fprintf(f, ":%d", (int)c->line);
	fprintf(f, "\"%s%s];\n",
		c->kinds & LG_WAIT ? ", shape=ellipse, style=dashed" : "",
		on ? ", color=red, penwidth=2" : "");
}

static void put_edge(FILE *f, const struct lg_edge *e, bool on)
{
	fprintf(f, "\tn%u -> n%u [label=\"", e->from, e->to);
	lg_put_modes(f, e->modes);
	fprintf(f, " x%llu\"", (unsigned long long)e->count);
	if (on)
		fputs(", color=red, fontcolor=red, penwidth=2.5, style=bold",
		      f);
	fputs("];\n", f);
}

int lg_out_dot(FILE *f, const struct lg_analysis *a)
{
	const struct lg_graph *g = &a->g;
	uint8_t *edge_on = calloc(g->nedges + 1, 1);
	uint8_t *class_on = calloc(g->nclasses + 1, 1);

	if (!edge_on || !class_on) {
		free(edge_on);
		free(class_on);
		return ENOMEM;
	}
	mark_cycles(a, edge_on, class_on);
	fputs("digraph lockgraph {\n"
	      "\tgraph [rankdir=LR, fontname=\"monospace\"];\n"
	      "\tnode [shape=box, fontname=\"monospace\", fontsize=10];\n"
	      "\tedge [fontname=\"monospace\", fontsize=9];\n",
	      f);
	for (uint32_t i = 0; i < g->nclasses; i++)
		put_node(f, g, i, class_on[i]);
	for (uint32_t i = 0; i < g->nedges; i++)
		put_edge(f, &g->edges[i], edge_on[i]);
	fputs("}\n", f);
	free(edge_on);
	free(class_on);
	return ferror(f) ? EIO : 0;
}
