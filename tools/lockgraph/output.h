/*
 * output.h: the commands' outputs, each from a finished analysis, each in
 * its own file (out_*.c), and the string escapes they share (text.c).
 *
 * Every string that came from a dump is written through one of the lg_put
 * escapes: a lock name may hold quotes, braces, newlines or bytes that are
 * not UTF-8, and must not break a line of text, a DOT file or a JSON file.
 */
#ifndef LOCKGRAPH_OUTPUT_H
#define LOCKGRAPH_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analysis.h"

/* ---- text.c ---- */

/* Text on one line, escaped as the checker escapes strings in its reports
 * and dumps (lc_text_escape, lockcheck/text.h): a backslash as \\, a
 * quote as \", control bytes and bytes that are not UTF-8 as \n, \t,
 * \xHH. Also a dump's string field (between its quotes). */
void lg_put_text(FILE *f, const char *s);

/* The inside of a DOT double-quoted string: \" \\ and \n escaped,
 * other control bytes dropped, non-UTF-8 bytes as '?'. */
void lg_put_dot(FILE *f, const char *s);

/* A JSON string, quotes included; non-UTF-8 bytes as U+FFFD. */
void lg_put_json(FILE *f, const char *s);

/* The dump format's word for a class's kind: "rwlock", "recursive" or
 * "mutex" (an rwlock anywhere wins, then a recursive mutex). */
const char *lg_kind_word(uint8_t kinds);

/* "name [file:line]" of a class, as text. */
void lg_put_class(FILE *f, const struct lg_graph *g, uint32_t cls);

/* "file:line in func()" as text. */
void lg_put_site(FILE *f, const struct lg_graph *g, const struct lg_site *s);

/* "program (pid N)" of a dump, as text. */
void lg_put_dump(FILE *f, const struct lg_graph *g, uint32_t dump);

/* Mode pairs as the dump writes them: "WW" or "RR,WR". */
void lg_put_modes(FILE *f, uint8_t modes);

/* "one thread", "threads of one process", "processes". */
const char *lg_scope_name(uint8_t scope);

/* Whether cycle id goes through a wait node (a wait-cycle). */
bool lg_cycle_waits(const struct lg_analysis *a, uint32_t id);

/* "a -> b -> a" as text: class names, with init sites when sites. */
void lg_put_cycle_names(FILE *f, const struct lg_analysis *a, uint32_t id,
			bool sites);

/* ---- the commands; each returns 0, or EIO when writing failed ---- */

int lg_out_report(FILE *f, const struct lg_analysis *a);
int lg_out_dot(FILE *f, const struct lg_analysis *a);
int lg_out_json(FILE *f, const struct lg_analysis *a);
int lg_out_order(FILE *f, const struct lg_analysis *a);

/* The merged graph as one version 1 dump (a baseline for diff). */
int lg_out_merge(FILE *f, const struct lg_analysis *a);
int lg_out_guards(FILE *f, const struct lg_analysis *a);

/* One line per problem; *problems gets their number. */
int lg_out_check(FILE *f, const struct lg_analysis *a, uint32_t *problems);

/* What NEW (cur) has that BASE lacks; *new_cycles gets the number of new
 * cycles that can deadlock (plus one when the search could not finish).
 * o bounds the extra searches. */
int lg_out_diff(FILE *f, const struct lg_analysis *base,
		const struct lg_analysis *cur, const struct lg_search_opts *o,
		uint32_t *new_cycles);

/* ---- svg.c ---- */

/* Renders DOT text into an SVG file with Graphviz's dot. ENOENT (with a
 * message saying how to install it) when dot is not installed. */
int lg_svg(const char *dot, size_t len, const char *out, struct lg_err *err);

#endif /* LOCKGRAPH_OUTPUT_H */
