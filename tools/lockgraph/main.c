/*
 * main.c: the lockgraph command line.
 *
 *   lockgraph report|dot|check|json|order|merge [OPTIONS] FILE|DIR ...
 *   lockgraph diff [OPTIONS] BASE NEW
 *
 * Exit status: 0 done (check, diff: nothing found); 1 check found a
 * problem, or diff a new cycle; 2 bad usage, bad input or an output error,
 * with one line "lockgraph: ..." on stderr. Results go to stdout. The
 * user guide is docs/lockgraph.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "analysis.h"
#include "output.h"

#define EXIT_FOUND 1
#define EXIT_BAD   2

struct cli {
	const char *cmd;
	char **paths;
	int npaths;
	const char *svg;
	struct lg_search_opts search;
};

static const char usage[] =
	"usage: lockgraph report|dot|check|json|order|merge|guards [OPTIONS] "
	"FILE|DIR ...\n"
	"       lockgraph diff [OPTIONS] BASE NEW\n"
	"\n"
	"Merges lock-graph dumps (LOCKCHECK_DUMP) of any number of processes;\n"
	"a directory means every *.graph file in it.\n"
	"  report  cycles with their sites, findings, classes, edges, hot "
	"locks\n"
	"  dot     Graphviz text (cycle edges red); --svg FILE renders it\n"
	"  check   one line per problem; exit 0 none, 1 some, 2 bad input\n"
	"  json    the merged graph and its cycles\n"
	"  order   a lock hierarchy consistent with every edge not on a "
	"cycle\n"
	"  merge   the merged graph as one dump (a baseline for diff)\n"
	"  guards  shared data and the lock that always guarded it (advice)\n"
	"  diff    classes, edges and cycles of NEW that BASE lacks; exit 1 "
	"on a new cycle\n"
	"options:\n"
	"  --svg FILE        dot: write SVG to FILE with Graphviz's dot\n"
	"  --max-cycles N    cycles to list (default 100; every component's\n"
	"                    shortest cycle is always listed)\n"
	"  --max-length N    longest cycle searched, in locks (default 16, "
	"max 64)\n"
	"  --budget N        search steps in all (default 20000000)\n";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "lockgraph: <message>" as one line: the message may quote a file
 * name or bytes of the input, so it goes through the text escape (control
 * bytes and bytes that are not UTF-8 as \n, \xHH) like every string of a
 * report. */
static int fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("lockgraph: ", stderr);
	lg_put_text(stderr, msg);
	fputc('\n', stderr);
	return EXIT_BAD;
}

static int parse_number(const char *opt, const char *s, uint64_t max,
			uint64_t *v)
{
	char *end;

	errno = 0;
	if (!s || *s < '0' || *s > '9')
		return fail("%s wants a number; try 'lockgraph --help'", opt);
	*v = strtoull(s, &end, 10);
	if (errno || *end || *v > max)
		return fail("%s: bad number '%s' (at most %llu)", opt, s,
			    (unsigned long long)max);
	return 0;
}

static int parse_svg(struct cli *c, const char *val)
{
	struct stat st;

	if (strcmp(c->cmd, "dot"))
		return fail("--svg is an option of 'lockgraph dot'");
	if (!val)
		return fail("--svg wants the SVG file to write: lockgraph dot "
			    "--svg FILE DUMPS...");
	if (stat(val, &st) == 0 && S_ISDIR(st.st_mode))
		return fail("--svg %s: a directory, not the SVG file to write "
			    "(forgot the file name? lockgraph dot --svg FILE "
			    "DUMPS...)",
			    val);
	c->svg = val;
	return 0;
}

/* One option at argv[*i], with its value at argv[*i + 1]. */
static int parse_option(struct cli *c, int argc, char **argv, int *i)
{
	const char *opt = argv[*i], *val = *i + 1 < argc ? argv[*i + 1] : NULL;
	uint64_t v = 0;
	int rc;

	*i += 2;
	if (!strcmp(opt, "--svg"))
		return parse_svg(c, val);
	if (!strcmp(opt, "--max-cycles")) {
		rc = parse_number(opt, val, UINT32_MAX - 1, &v);
		c->search.max_cycles = (uint32_t)v;
	} else if (!strcmp(opt, "--max-length")) {
		rc = parse_number(opt, val, LG_MAX_LEN_LIMIT, &v);
		if (!rc && v < 2)
			rc = fail("--max-length: at least 2");
		c->search.max_len = (uint32_t)v;
	} else if (!strcmp(opt, "--budget")) {
		rc = parse_number(opt, val, UINT64_MAX - 1, &v);
		c->search.budget = v;
	} else {
		rc = fail("unknown option '%s'; try 'lockgraph --help'", opt);
	}
	return rc;
}

static int parse_args(struct cli *c, int argc, char **argv)
{
	bool options = true;

	c->paths = calloc((size_t)argc + 1, sizeof(*c->paths));
	if (!c->paths)
		return fail("out of memory");
	for (int i = 2; i < argc;) {
		if (options && !strcmp(argv[i], "--")) {
			options = false;
			i++;
		} else if (options && !strncmp(argv[i], "--", 2)) {
			if (parse_option(c, argc, argv, &i))
				return EXIT_BAD;
		} else {
			c->paths[c->npaths++] = argv[i++];
		}
	}
	if (c->npaths == 0 && c->svg)
		return fail(
			"dot --svg %s: no dump file or directory after the "
			"SVG file name (forgot the file name? lockgraph dot "
			"--svg FILE DUMPS...)",
			c->svg);
	if (c->npaths == 0)
		return fail("%s: no dump file or directory given; try "
			    "'lockgraph --help'",
			    c->cmd);
	return 0;
}

static int finish_output(int code)
{
	if (fflush(stdout) || ferror(stdout))
		return fail("cannot write the output: %s", strerror(errno));
	return code;
}

static int run_dot_svg(const struct cli *c, const struct lg_analysis *a)
{
	struct lg_err err;
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int rc;

	if (!mem)
		return fail("out of memory");
	rc = lg_out_dot(mem, a);
	if (fclose(mem) || rc) {
		free(text);
		return fail("out of memory");
	}
	rc = lg_svg(text, len, c->svg, &err);
	free(text);
	return rc ? fail("%s", err.msg) : 0;
}

/* The exit status for an output function's result. */
static int output_status(int rc, int found)
{
	if (rc == ENOMEM)
		return fail("out of memory");
	return finish_output(rc ? EXIT_BAD : found ? EXIT_FOUND : 0);
}

/* Runs the command on an analysed graph; returns the exit status. */
static int output(const struct cli *c, const struct lg_analysis *a)
{
	uint32_t problems = 0;
	int rc;

	if (!strcmp(c->cmd, "dot") && c->svg)
		return run_dot_svg(c, a);
	if (!strcmp(c->cmd, "report"))
		rc = lg_out_report(stdout, a);
	else if (!strcmp(c->cmd, "dot"))
		rc = lg_out_dot(stdout, a);
	else if (!strcmp(c->cmd, "json"))
		rc = lg_out_json(stdout, a);
	else if (!strcmp(c->cmd, "order"))
		rc = lg_out_order(stdout, a);
	else if (!strcmp(c->cmd, "merge"))
		rc = lg_out_merge(stdout, a);
	else if (!strcmp(c->cmd, "guards"))
		rc = lg_out_guards(stdout, a);
	else
		rc = lg_out_check(stdout, a, &problems);
	return output_status(rc, problems > 0);
}

/* Every command but diff: one merged graph of all the inputs. */
static int run_graph(const struct cli *c)
{
	struct lg_analysis a;
	struct lg_err err;
	int rc = lg_analyze(&a, c->paths, c->npaths, &c->search, &err);

	rc = rc ? fail("%s", err.msg) : output(c, &a);
	lg_analysis_free(&a);
	return rc;
}

static int run_diff(const struct cli *c)
{
	struct lg_analysis base, cur;
	struct lg_err err;
	uint32_t added = 0;
	int rc;

	if (c->npaths != 2)
		return fail(
			"diff wants two arguments, BASE and NEW (each a dump "
			"or a directory of dumps)");
	rc = lg_analyze(&base, c->paths, 1, &c->search, &err);
	if (!rc)
		rc = lg_analyze(&cur, c->paths + 1, 1, &c->search, &err);
	else
		memset(&cur, 0, sizeof(cur));
	if (rc) {
		rc = fail("%s", err.msg);
	} else {
		rc = lg_out_diff(stdout, &base, &cur, &c->search, &added);
		rc = output_status(rc, added > 0);
	}
	lg_analysis_free(&base);
	lg_analysis_free(&cur);
	return rc;
}

static bool known_command(const char *cmd)
{
	static const char *const cmds[] = {
		"report", "dot",   "check", "json",
		"order",  "merge", "diff",  "guards"
	};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmd, cmds[i]))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct cli c = { .search = { LC_LG_MAX_CYCLES, LC_LG_MAX_LEN,
				     LC_LG_BUDGET } };
	int rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_BAD : 0;
	}
	c.cmd = argv[1];
	if (!known_command(c.cmd))
		return fail("unknown command '%s'; try 'lockgraph --help'",
			    c.cmd);
	rc = parse_args(&c, argc, argv);
	if (!rc)
		rc = strcmp(c.cmd, "diff") ? run_graph(&c) : run_diff(&c);
	free(c.paths);
	return rc;
}
