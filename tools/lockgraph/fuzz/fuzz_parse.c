/*
 * fuzz_parse.c: libFuzzer harness for the dump parser and everything
 * behind it. Each input is read as a dump twice (two processes: the merge
 * paths run too); when it parses, the whole analysis runs and every output
 * is written to /dev/null, so arbitrary names and numbers go through the
 * escapes, the cycle search and the diff; and the merged dump must read
 * back with as many cycles (abort() otherwise). Build and run with
 * tools/lockgraph/fuzz/run.sh; a crash is saved to testdata/fuzz/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../analysis.h"
#include "../output.h"
#include "../parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse_once(struct lg_graph *g, const uint8_t *data, size_t size)
{
	struct lg_err err;
	FILE *f = fmemopen((void *)data, size, "r");
	int rc;

	if (!f)
		return -1;
	rc = lg_parse(g, "fuzz", f, &err);
	fclose(f);
	return rc;
}

static int parse_twice(struct lg_graph *g, const uint8_t *data, size_t size)
{
	int rc = parse_once(g, data, size);

	return rc ? rc : parse_once(g, data, size);
}

static void outputs(const struct lg_analysis *a, const struct lg_search_opts *o)
{
	FILE *null = fopen("/dev/null", "w");
	struct lg_analysis empty;
	uint32_t n;

	if (!null)
		return;
	lg_out_report(null, a);
	lg_out_dot(null, a);
	lg_out_json(null, a);
	lg_out_order(null, a);
	lg_out_check(null, a, &n);
	lg_out_diff(null, a, a, o, &n);
	if (!lg_analysis_init(&empty) && !lg_analysis_run(&empty, o))
		lg_out_diff(null, &empty, a, o, &n); /* every edge is new */
	lg_analysis_free(&empty);
	fclose(null);
}

/* lg_out_merge's text must parse and keep the cycles. */
static void round_trip(const struct lg_analysis *a,
		       const struct lg_search_opts *o)
{
	struct lg_analysis back;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return;
	lg_out_merge(f, a);
	fclose(f);
	if (lg_analysis_init(&back) ||
	    parse_once(&back.g, (const uint8_t *)text, len) ||
	    lg_analysis_run(&back, o) || back.g.nedges != a->g.nedges ||
	    (!a->cycles.truncated && !back.cycles.truncated &&
	     back.cycles.n != a->cycles.n))
		abort();
	lg_analysis_free(&back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lg_search_opts o = { 20, 8, 20000 };
	struct lg_analysis a;

	if (size == 0)
		return 0;
	if (!lg_analysis_init(&a) && !parse_twice(&a.g, data, size) &&
	    !lg_analysis_run(&a, &o)) {
		outputs(&a, &o);
		round_trip(&a, &o);
	}
	lg_analysis_free(&a);
	return 0;
}
