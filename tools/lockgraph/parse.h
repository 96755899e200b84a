/*
 * parse.h: reads one dump (docs/dump-format.md, version 1 or 2) into a
 * graph.
 */
#ifndef LOCKGRAPH_PARSE_H
#define LOCKGRAPH_PARSE_H

#include <stdio.h>

#include "graph.h"

#define LG_DUMP_VERSION	    2 /* the version it reads, and older ones: */
#define LG_DUMP_VERSION_MIN 1 /* version 1 has no wait nodes */

/* Bytes: a dump in a regular file bigger than this is checked whole before
 * any of it is merged (parse.c), so a broken one costs no memory. */
#define LG_CHECK_FIRST (4 << 20)

/*
 * Reads the dump in f (named path in messages) and merges it into g, which
 * must not be finished. Returns 0; EINVAL for bad input, with "path:line:
 * what" in *err; ENOMEM; EIO for a read error (also described in *err).
 * On error g holds part of the dump (at most LG_CHECK_FIRST bytes of it):
 * use it only to free it.
 */
int lg_parse(struct lg_graph *g, const char *path, FILE *f, struct lg_err *err);

#endif /* LOCKGRAPH_PARSE_H */
