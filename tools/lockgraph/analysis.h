/*
 * analysis.h: everything one command needs from its inputs: the merged,
 * finished graph, its components and the cycles that can deadlock (with
 * process reports linked and scopes set). The output modules only read it.
 */
#ifndef LOCKGRAPH_ANALYSIS_H
#define LOCKGRAPH_ANALYSIS_H

#include "cycles.h"
#include "graph.h"
#include "lockcheck/scc.h"

struct lg_analysis {
	struct lg_graph g;
	struct lc__scc scc;
	struct lg_cycles cycles;
};

/* ---- inputs.c ---- */

/*
 * Reads the dumps named by paths[0..n) into g (not finished): a file is a
 * dump; a directory means every regular file in it whose name ends in
 * ".graph", in name order (the *.tmp.<pid> files of a dump being written
 * are skipped). A directory with no dump, an unreadable file or bad input:
 * EINVAL or EIO with the message in *err. 0, or ENOMEM.
 */
int lg_load(struct lg_graph *g, char *const *paths, int n, struct lg_err *err);

/* ---- analysis.c ---- */

/* An empty analysis whose graph is ready for dumps. 0 or ENOMEM; safe to
 * free either way. */
int lg_analysis_init(struct lg_analysis *a);

/* Finishes the graph and runs every analysis step. 0 or ENOMEM. */
int lg_analysis_run(struct lg_analysis *a, const struct lg_search_opts *o);

/* Loads and analyses; on error *a is still safe to free. */
int lg_analyze(struct lg_analysis *a, char *const *paths, int n,
	       const struct lg_search_opts *o, struct lg_err *err);
void lg_analysis_free(struct lg_analysis *a);

/* Components that have cycles but no cycle that can deadlock was found,
 * and whose search was cut short (budget) or left longer cycles unseen:
 * a verdict the tool could not settle. */
bool lg_comp_unsettled(const struct lg_comp *c);

#endif /* LOCKGRAPH_ANALYSIS_H */
