/*
 * lockgraph_test.c: the lockgraph command on dumps of real processes.
 *
 * tcase core: dumps committed in tools/lockgraph/testdata/dumps, captured
 * from runs of tools/lockgraph/testdata/scenario.c built with LOCKCHECK=1
 * (one directory per case, one file per process), so these run in every
 * build. tcase live: in LOCKCHECK builds the same scenarios run now, write
 * fresh dumps, and must get the same verdicts; in the plain build they
 * must write no dump at all.
 *
 * What the merge must see: opposite orders in two processes are a cycle no
 * single process saw; a 3-cycle over three processes; read-read inversions,
 * a reader that never waits, and a singleton gate stay silent; a gate with
 * two instances is no gate; a cycle a process reported itself and the
 * merged one are one problem.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

#define MAX_ARGS 16

static char lockgraph_bin[4096];

/* A workspace path in the runfiles, copied into buf. */
static const char *runfile(const char *ws_path, char *buf, size_t size)
{
	const char *p = lct_runfile(ws_path);

	ck_assert_msg(p != NULL, "runfile %s not found", ws_path);
	snprintf(buf, size, "%s", p);
	return buf;
}

/* The directory of one committed dump set; four live at once. */
static const char *dumps(const char *set)
{
	static char bufs[4][4096];
	static int next;
	char ws[256];

	snprintf(ws, sizeof(ws), "tools/lockgraph/testdata/dumps/%s", set);
	next = (next + 1) % 4;
	return runfile(ws, bufs[next], sizeof(bufs[next]));
}

/* Runs lockgraph with args (NULL-terminated) and optional env. */
static void run_env(struct lct_child *c, const char *const *env,
		    const char *const *args)
{
	const char *argv[MAX_ARGS + 2] = { lockgraph_bin };
	int n = 1;

	for (; *args && n <= MAX_ARGS; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	ck_assert_int_eq(lct_run_cmd(argv, env, c), 0);
}

#define LG(c, ...)                                                             \
	run_env((c), NULL, (const char *const[]){ __VA_ARGS__, NULL })

static size_t count_lines(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += *text == '\n';
	return n;
}

static void expect_exit(const struct lct_child *c, int code, const char *what)
{
	if (!lct_exited_with(c, code))
		lct_child_dump(c, what);
	ck_assert_msg(lct_exited_with(c, code), "%s: want exit %d", what, code);
}

/* check on a set: exit status and number of problem lines. */
static void expect_check(const char *set, int code, size_t lines)
{
	struct lct_child c;

	LG(&c, "check", dumps(set));
	expect_exit(&c, code, set);
	LCT_ASSERT_CHILD(&c, count_lines(c.out) == lines);
	LCT_ASSERT_CHILD(&c, strcmp(c.err, "") == 0);
	lct_child_free(&c);
}

START_TEST(test_opposite_orders_in_two_processes_are_a_cycle)
{
	struct lct_child c;

	LG(&c, "check", dumps("opposite"));
	expect_exit(&c, 1, "opposite");
	LCT_ASSERT_CHILD(&c, (count_lines(c.out)) == (1));
	LCT_ASSERT_CHILD(&c, lct_count_prefix(c.out, "cycle: A [") == 1);
	LCT_ASSERT_OUT_HAS(&c, "-> B [tools/lockgraph/testdata/"
			       "scenario.c:");
	LCT_ASSERT_OUT_HAS(&c, "(2 locks, seen in processes)");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_three_processes_close_a_three_cycle)
{
	struct lct_child c;

	LG(&c, "check", dumps("chain3"));
	expect_exit(&c, 1, "chain3");
	LCT_ASSERT_CHILD(&c, (count_lines(c.out)) == (1));
	LCT_ASSERT_OUT_HAS(&c, "3 locks, seen in processes");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_files_and_directory_give_the_same_verdict)
{
	char ab[4200], bc[4200], ca[4200];
	struct lct_child dir, files, reversed;

	snprintf(ab, sizeof(ab), "%s/ab.graph", dumps("chain3"));
	snprintf(bc, sizeof(bc), "%s/bc.graph", dumps("chain3"));
	snprintf(ca, sizeof(ca), "%s/ca.graph", dumps("chain3"));
	LG(&dir, "check", dumps("chain3"));
	LG(&files, "check", ab, bc, ca);
	LG(&reversed, "check", ca, bc, ab);
	LCT_ASSERT_CHILD(&files, strcmp(dir.out, files.out) == 0);
	LCT_ASSERT_CHILD(&reversed, strcmp(dir.out, reversed.out) == 0);
	expect_exit(&reversed, 1, "reversed");
	lct_child_free(&dir);
	lct_child_free(&files);
	lct_child_free(&reversed);
}
END_TEST

START_TEST(test_read_read_inversion_is_silent)
{
	struct lct_child c;

	expect_check("rr", 0, 0);
	LG(&c, "report", dumps("rr"));
	expect_exit(&c, 0, "rr report");
	LCT_ASSERT_OUT_HAS(&c, "== 0 cycles that can deadlock");
	LCT_ASSERT_OUT_HAS(&c, "no deadlock: X, Y");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_reader_that_never_waits_is_silent)
{
	expect_check("xryw", 0, 0);
}
END_TEST

START_TEST(test_writer_reader_inversion_is_a_cycle)
{
	struct lct_child c;

	expect_check("rw", 1, 1);
	LG(&c, "report", dumps("rw"));
	LCT_ASSERT_OUT_HAS(&c, "(WR, 1 time, 1 dump)");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_singleton_gate_silences_the_merged_cycle)
{
	struct lct_child c;

	expect_check("gate", 0, 0);
	LG(&c, "report", dumps("gate"));
	LCT_ASSERT_OUT_HAS(&c, "gates (held every time): G [");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_gate_class_with_two_instances_is_no_gate)
{
	expect_check("gate2", 1, 1);
	expect_check("pool", 1, 1);
}
END_TEST

START_TEST(test_process_report_and_merged_cycle_are_one)
{
	struct lct_child c;

	expect_check("abba", 1, 1);
	LG(&c, "check", dumps("abba"));
	LCT_ASSERT_OUT_HAS(&c, "seen in one thread: scenario");
	lct_child_free(&c);
	LG(&c, "report", dumps("abba"));
	LCT_ASSERT_OUT_HAS(&c, "1 process reported it too");
	LCT_ASSERT_OUT_HAS(&c, "this is cycle 1 above");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_cycle_across_threads_of_one_process)
{
	struct lct_child c;

	LG(&c, "check", dumps("threads"));
	expect_exit(&c, 1, "threads");
	LCT_ASSERT_CHILD(&c, (count_lines(c.out)) == (1));
	LCT_ASSERT_OUT_HAS(&c, "seen in threads of one process");
	lct_child_free(&c);
	LG(&c, "report", dumps("threads"));
	LCT_ASSERT_OUT_HAS(&c, "by thread \"left\"");
	LCT_ASSERT_OUT_HAS(&c, "by thread \"right\"");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_recorded_finding_fails_check)
{
	struct lct_child c;

	LG(&c, "check", dumps("recursive"));
	expect_exit(&c, 1, "recursive");
	LCT_ASSERT_CHILD(&c, (count_lines(c.out)) == (1));
	LCT_ASSERT_CHILD(
		&c,
		lct_count_prefix(c.out, "finding: recursive-lock: A ") == 1);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_clean_dumps_pass_check_silently)
{
	expect_check("clean", 0, 0);
	expect_check("counted", 0, 0);
}
END_TEST

START_TEST(test_report_shows_sites_threads_and_processes)
{
	struct lct_child c;

	LG(&c, "report", dumps("opposite"));
	expect_exit(&c, 0, "report");
	LCT_ASSERT_OUT_HAS(&c, "lockgraph report: 2 dumps");
	LCT_ASSERT_OUT_HAS(&c, "cycle 1: A -> B -> A");
	LCT_ASSERT_OUT_HAS(&c, "seen in processes");
	LCT_ASSERT_OUT_HAS(&c, "held at tools/lockgraph/testdata/scenario.c:");
	LCT_ASSERT_OUT_HAS(&c, " in pair()");
	LCT_ASSERT_OUT_HAS(&c, "by thread \"scenario\" (tid ");
	LCT_ASSERT_OUT_HAS(&c, "of scenario (pid ");
	LCT_ASSERT_OUT_HAS(&c, "== 8 classes");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_report_lists_hottest_locks)
{
	struct lct_child c;

	LG(&c, "report", dumps("counted"));
	LCT_ASSERT_OUT_HAS(&c, "== hottest locks");
	LCT_ASSERT_OUT_HAS(&c, "acquired 1000,");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_dot_escapes_names_and_marks_cycles)
{
	struct lct_child c;

	LG(&c, "dot", dumps("weird"));
	expect_exit(&c, 0, "dot");
	LCT_ASSERT_CHILD(&c,
			 lct_count_prefix(c.out, "digraph lockgraph {") == 1);
	LCT_ASSERT_OUT_HAS(&c, "label=\"we\\\"ird {name}\\nline2"
			       "\\\\\\ntools/");
	LCT_ASSERT_OUT_HAS(&c, "color=red");
	LCT_ASSERT_OUT_HAS(&c, "style=bold");
	LCT_ASSERT_CHILD(&c, lct_count_prefix(c.out, "}") == 1);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_svg_is_rendered_by_graphviz)
{
	char svg[4200];
	struct lct_child c;
	char *text;

	if (access("/usr/bin/dot", X_OK) != 0)
		return; /* graphviz not installed: the next test covers it */
	snprintf(svg, sizeof(svg), "%s/g.svg", lct_tmpdir("svg"));
	LG(&c, "dot", "--svg", svg, dumps("weird"));
	expect_exit(&c, 0, "svg");
	lct_child_free(&c);
	text = lct_read_file(svg, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "<svg"));
	ck_assert_ptr_nonnull(strstr(text, "we&quot;ird {name}"));
	free(text);
}
END_TEST

START_TEST(test_svg_without_graphviz_says_so)
{
	static const char *const env[] = { "PATH=/nonexistent", NULL };
	char svg[4200];
	struct lct_child c;

	snprintf(svg, sizeof(svg), "%s/g.svg", lct_tmpdir("svg"));
	run_env(&c, env,
		(const char *const[]){ "dot", "--svg", svg, dumps("weird"),
				       NULL });
	expect_exit(&c, 2, "svg without dot");
	LCT_ASSERT_CHILD(&c, (count_lines(c.err)) == (1));
	LCT_ASSERT_ERR_HAS(&c, "'dot' is not installed");
	lct_child_free(&c);
}
END_TEST

/* "lockgraph dot --svg DIR": the SVG file name forgotten. */
START_TEST(test_svg_without_its_file_name_says_so)
{
	struct lct_child c;

	LG(&c, "dot", "--svg", dumps("weird"));
	expect_exit(&c, 2, "svg DIR");
	LCT_ASSERT_CHILD(&c, (count_lines(c.err)) == (1));
	LCT_ASSERT_ERR_HAS(&c, "a directory, not the SVG file");
	LCT_ASSERT_ERR_HAS(&c, "forgot the file name?");
	lct_child_free(&c);
	LG(&c, "dot", "--svg", "out.svg");
	expect_exit(&c, 2, "svg FILE");
	LCT_ASSERT_CHILD(&c, (count_lines(c.err)) == (1));
	LCT_ASSERT_ERR_HAS(&c, "no dump file or directory after "
			       "the SVG file name");
	lct_child_free(&c);
}
END_TEST

/* dot fails (it cannot write the file): how it ended, and what it said. */
START_TEST(test_failed_dot_says_why)
{
	char svg[4200];
	struct lct_child c;

	if (access("/usr/bin/dot", X_OK) != 0)
		return; /* graphviz not installed: covered by the test above */
	snprintf(svg, sizeof(svg), "%s/no/such/dir/g.svg", lct_tmpdir("svg"));
	LG(&c, "dot", "--svg", svg, dumps("weird"));
	expect_exit(&c, 2, "svg into a missing directory");
	LCT_ASSERT_CHILD(&c, (count_lines(c.err)) == (1));
	LCT_ASSERT_ERR_HAS(&c, "dot could not write ");
	LCT_ASSERT_ERR_HAS(&c, " (exit status 1): ");
	LCT_ASSERT_ERR_HAS(&c, "Could not open");
	LCT_ASSERT_CHILD(&c, (strstr(c.err, "256")) == NULL);
	lct_child_free(&c);
}
END_TEST

/* ---- a strict JSON syntax check, enough to catch bad escaping ---- */

static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (; *p != '"'; p++) {
		if ((unsigned char)*p < 0x20)
			return NULL; /* a raw control byte: bad escaping */
		if (*p != '\\')
			continue;
		p++;
		if (*p == 'u') {
			for (int i = 1; i <= 4; i++)
				if (!strchr("0123456789abcdefABCDEF", p[i]) ||
				    !p[i])
					return NULL;
			p += 4;
		} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
			return NULL;
		}
	}
	return p + 1;
}

static const char *json_list(const char *p, char close, bool object, int depth)
{
	p = json_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (object) {
			p = json_string(json_ws(p));
			if (!p || *(p = json_ws(p)) != ':')
				return NULL;
			p++;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *json_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > 64)
		return NULL;
	if (*p == '{')
		return json_list(p, '}', true, depth);
	if (*p == '[')
		return json_list(p, ']', false, depth);
	if (*p == '"')
		return json_string(p);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (*p == '-' || (*p >= '0' && *p <= '9')) {
		p += *p == '-';
		while (*p >= '0' && *p <= '9')
			p++;
		return p;
	}
	return NULL;
}

static bool json_valid(const char *text)
{
	const char *end = json_value(text, 0);

	return end && *json_ws(end) == '\0';
}

START_TEST(test_json_is_valid_and_escapes_names)
{
	struct lct_child c;

	LG(&c, "json", dumps("weird"), dumps("chain3"), dumps("abba"));
	expect_exit(&c, 0, "json");
	LCT_ASSERT_CHILD(&c, json_valid(c.out));
	LCT_ASSERT_OUT_HAS(&c, "\"name\": \"we\\\"ird {name}\\nline2\\\\\"");
	LCT_ASSERT_OUT_HAS(&c, "\"scope\": \"processes\"");
	LCT_ASSERT_OUT_HAS(&c, "\"kind\": \"lock-order-cycle\"");
	lct_child_free(&c);
}
END_TEST

/* The rank printed before "name [" on the order output, or 0. */
static unsigned rank_of(const char *out, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), " %s [", name);
	p = strstr(out, key);
	if (!p)
		return 0;
	while (p > out && p[-1] != '\n')
		p--;
	return (unsigned)strtoul(p, NULL, 10);
}

START_TEST(test_order_ranks_classes_by_their_edges)
{
	struct lct_child c;

	LG(&c, "order", dumps("clean"), dumps("gate"));
	expect_exit(&c, 0, "order");
	LCT_ASSERT_CHILD(&c, (rank_of(c.out, "A")) > (0));
	LCT_ASSERT_CHILD(&c, (rank_of(c.out, "G")) < (rank_of(c.out, "A")));
	LCT_ASSERT_CHILD(&c, (rank_of(c.out, "B")) < (rank_of(c.out, "C")));
	lct_child_free(&c);
	LG(&c, "order", dumps("chain3"));
	LCT_ASSERT_CHILD(&c, (rank_of(c.out, "A")) == (rank_of(c.out, "B")));
	LCT_ASSERT_CHILD(&c, (rank_of(c.out, "B")) == (rank_of(c.out, "C")));
	LCT_ASSERT_OUT_HAS(&c, "(cycle: can deadlock)");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_diff_fails_on_a_new_cycle)
{
	struct lct_child c;

	LG(&c, "diff", dumps("clean"), dumps("chain3"));
	expect_exit(&c, 1, "diff clean chain3");
	LCT_ASSERT_CHILD(&c, lct_count_prefix(c.out, "+ edge C [") == 1);
	LCT_ASSERT_CHILD(&c, lct_count_prefix(c.out, "+ cycle A [") == 1);
	LCT_ASSERT_CHILD(&c, lct_count_prefix(c.out, "+ class") == 0);
	LCT_ASSERT_OUT_HAS(&c, "lockgraph diff: 0 new classes, "
			       "1 new edge, 0 edges with new "
			       "modes, 1 new cycle\n");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_diff_fails_when_its_search_cannot_finish)
{
	struct lct_child c;

	LG(&c, "diff", "--budget", "0", dumps("clean"), dumps("chain3"));
	expect_exit(&c, 1, "diff without budget");
	LCT_ASSERT_CHILD(&c, lct_count_prefix(c.out, "? unsettled: ") == 1);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_diff_passes_without_a_new_cycle)
{
	struct lct_child c;

	LG(&c, "diff", dumps("opposite"), dumps("opposite"));
	expect_exit(&c, 0, "diff same");
	LCT_ASSERT_CHILD(&c, (count_lines(c.out)) == (1));
	lct_child_free(&c);
	LG(&c, "diff", dumps("opposite"), dumps("clean"));
	expect_exit(&c, 0, "diff fewer");
	LCT_ASSERT_CHILD(&c, lct_count_prefix(c.out, "+ edge B [") == 1);
	lct_child_free(&c);
	LG(&c, "diff", dumps("rr"), dumps("xryw"));
	expect_exit(&c, 0, "diff to a silent cycle");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_diff_sees_new_modes_and_lost_gates)
{
	struct lct_child c;

	LG(&c, "diff", dumps("rr"), dumps("rw"));
	expect_exit(&c, 1, "diff rr rw");
	LCT_ASSERT_CHILD(&c, lct_count_prefix(c.out, "~ edge X [") == 1);
	LCT_ASSERT_OUT_HAS(&c, "now also WR");
	lct_child_free(&c);
	LG(&c, "diff", dumps("gate"), dumps("gate2"));
	expect_exit(&c, 1, "diff gate gate2");
	LCT_ASSERT_CHILD(&c, lct_count_prefix(c.out, "+ cycle A [") == 1);
	lct_child_free(&c);
}
END_TEST

/* Writes `lockgraph merge` of a set into dir/set.graph; returns it. */
static const char *merged(const char *dir, const char *set, char *buf,
			  size_t size)
{
	struct lct_child c;
	FILE *f;

	LG(&c, "merge", dumps(set));
	expect_exit(&c, 0, "merge");
	snprintf(buf, size, "%s/%s.graph", dir, set);
	f = fopen(buf, "w");
	ck_assert_ptr_nonnull(f);
	LCT_ASSERT_CHILD(&c, (fwrite(c.out, 1, c.out_len, f)) == (c.out_len));
	ck_assert_int_eq(fclose(f), 0);
	lct_child_free(&c);
	return buf;
}

START_TEST(test_merged_baseline_keeps_every_verdict)
{
	static const char *const sets[] = {
		"opposite", "chain3", "rr",   "xryw",  "rw",
		"gate",	    "gate2",  "pool", "weird", "recursive",
	};
	char dir[4096], file[4400];

	snprintf(dir, sizeof(dir), "%s", lct_tmpdir("merged"));
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		struct lct_child a, b;

		LG(&a, "check", dumps(sets[i]));
		LG(&b, "check", merged(dir, sets[i], file, sizeof(file)));
		expect_exit(&b, WEXITSTATUS(a.status), sets[i]);
		LCT_ASSERT_CHILD(&a,
				 (count_lines(a.out)) == (count_lines(b.out)));
		lct_child_free(&a);
		lct_child_free(&b);
		LG(&a, "diff", file, dumps(sets[i]));
		expect_exit(&a, 0, "diff against its own merge");
		lct_child_free(&a);
	}
}
END_TEST

START_TEST(test_diff_against_merged_baseline_gates_ci)
{
	char dir[4096], base[4400];
	struct lct_child c;

	snprintf(dir, sizeof(dir), "%s", lct_tmpdir("baseline"));
	merged(dir, "clean", base, sizeof(base));
	LG(&c, "diff", base, dumps("chain3"));
	expect_exit(&c, 1, "diff baseline chain3");
	LCT_ASSERT_CHILD(&c, lct_count_prefix(c.out, "+ cycle A [") == 1);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_bad_usage_exits_2_with_one_line)
{
	static const char *const cases[][4] = {
		{ "frobnicate", "x", NULL },
		{ "check", NULL },
		{ "check", "--max-length", "1", NULL },
		{ "check", "--budget", "lots", NULL },
		{ "check", "--bogus", "x", NULL },
		{ "report", "--svg", "x.svg", NULL },
		{ "diff", "onlyone", NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lct_child c;

		run_env(&c, NULL, cases[i]);
		expect_exit(&c, 2, cases[i][0]);
		LCT_ASSERT_CHILD(&c, (count_lines(c.err)) == (1));
		LCT_ASSERT_CHILD(&c,
				 lct_count_prefix(c.err, "lockgraph: ") == 1);
		lct_child_free(&c);
	}
}
END_TEST

/* ---- live: the scenarios run now (LOCKCHECK builds) ---- */

static const struct live_case {
	const char *set;
	const char *patterns[4];
	int code;
} live_cases[] = {
	{ "opposite", { "ab", "ba" }, 1 },
	{ "chain3", { "ab", "bc", "ca" }, 1 },
	{ "abba", { "abba" }, 1 },
	{ "threads", { "threads" }, 1 },
	{ "rr", { "rr_xy", "rr_yx" }, 0 },
	{ "xryw", { "xr_yw", "yw_xr" }, 0 },
	{ "rw", { "rw_xy", "rw_yx" }, 1 },
	{ "gate", { "gate_ab", "gate_ba" }, 0 },
	{ "gate2", { "gate_ab", "gate2_ba" }, 1 },
	{ "pool", { "pool_ab", "pool_ba" }, 1 },
	{ "recursive", { "recursive" }, 1 },
	{ "clean", { "ab", "bc" }, 0 },
};

/* Runs each pattern as its own process dumping into dir. */
static void run_scenarios(const struct live_case *lc, const char *dir)
{
	char bin[4096], env_dump[4200];
	/* The verdict is lockgraph's here: keep the scenario's own status. */
	const char *env[] = { env_dump, "LOCKCHECK_LOG=/dev/null",
			      "LOCKCHECK_EXITCODE=0", NULL };

	runfile("tools/lockgraph/scenario", bin, sizeof(bin));
	snprintf(env_dump, sizeof(env_dump), "LOCKCHECK_DUMP=%s", dir);
	for (int i = 0; i < 4 && lc->patterns[i]; i++) {
		const char *argv[] = { bin, lc->patterns[i], NULL };
		struct lct_child c;

		LCT_ASSERT_RAN(lct_run_cmd(argv, env, &c), &c);
		expect_exit(&c, 0, lc->patterns[i]);
		lct_child_free(&c);
	}
}

START_TEST(test_live_dumps_get_the_committed_verdicts)
{
	const struct live_case *lc = &live_cases[_i];
	char dir[4096];
	struct lct_child live, committed;

	snprintf(dir, sizeof(dir), "%s", lct_tmpdir(lc->set));
	run_scenarios(lc, dir);
	LG(&live, "check", dir);
	if (!LOCKCHECK) {
		expect_exit(&live, 2, "plain build: no dump");
		LCT_ASSERT_ERR_HAS(&live, "no lock-graph dumps");
		lct_child_free(&live);
		return;
	}
	LG(&committed, "check", dumps(lc->set));
	expect_exit(&live, lc->code, lc->set);
	expect_exit(&committed, lc->code, lc->set);
	LCT_ASSERT_CHILD(&committed, (count_lines(live.out)) ==
					     (count_lines(committed.out)));
	lct_child_free(&live);
	lct_child_free(&committed);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lockgraph");
	TCase *core = tcase_create("core"), *live = tcase_create("live");

	if (!lct_runfile("tools/lockgraph/lockgraph")) {
		fprintf(stderr, "lockgraph_test: no tools/lockgraph/lockgraph "
				"in the runfiles\n");
		return EXIT_FAILURE;
	}
	snprintf(lockgraph_bin, sizeof(lockgraph_bin), "%s",
		 lct_runfile("tools/lockgraph/lockgraph"));
	tcase_add_test(core, test_opposite_orders_in_two_processes_are_a_cycle);
	tcase_add_test(core, test_three_processes_close_a_three_cycle);
	tcase_add_test(core, test_files_and_directory_give_the_same_verdict);
	tcase_add_test(core, test_read_read_inversion_is_silent);
	tcase_add_test(core, test_reader_that_never_waits_is_silent);
	tcase_add_test(core, test_writer_reader_inversion_is_a_cycle);
	tcase_add_test(core, test_singleton_gate_silences_the_merged_cycle);
	tcase_add_test(core, test_gate_class_with_two_instances_is_no_gate);
	tcase_add_test(core, test_process_report_and_merged_cycle_are_one);
	tcase_add_test(core, test_cycle_across_threads_of_one_process);
	tcase_add_test(core, test_recorded_finding_fails_check);
	tcase_add_test(core, test_clean_dumps_pass_check_silently);
	tcase_add_test(core, test_report_shows_sites_threads_and_processes);
	tcase_add_test(core, test_report_lists_hottest_locks);
	tcase_add_test(core, test_dot_escapes_names_and_marks_cycles);
	tcase_add_test(core, test_svg_is_rendered_by_graphviz);
	tcase_add_test(core, test_svg_without_graphviz_says_so);
	tcase_add_test(core, test_svg_without_its_file_name_says_so);
	tcase_add_test(core, test_failed_dot_says_why);
	tcase_add_test(core, test_json_is_valid_and_escapes_names);
	tcase_add_test(core, test_order_ranks_classes_by_their_edges);
	tcase_add_test(core, test_diff_fails_on_a_new_cycle);
	tcase_add_test(core, test_diff_fails_when_its_search_cannot_finish);
	tcase_add_test(core, test_diff_passes_without_a_new_cycle);
	tcase_add_test(core, test_diff_sees_new_modes_and_lost_gates);
	tcase_add_test(core, test_merged_baseline_keeps_every_verdict);
	tcase_add_test(core, test_diff_against_merged_baseline_gates_ci);
	tcase_add_test(core, test_bad_usage_exits_2_with_one_line);
	tcase_add_loop_test(live, test_live_dumps_get_the_committed_verdicts, 0,
			    sizeof(live_cases) / sizeof(live_cases[0]));
	tcase_set_timeout(core, 120);
	tcase_set_timeout(live, 120);
	suite_add_tcase(s, core);
	suite_add_tcase(s, live);
	return lct_run_suite(s);
}
