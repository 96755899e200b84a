/*
 * lockgraph_input_test.c: lockgraph on input it must refuse. Whatever the
 * bytes - empty, binary, cut short, a wrong version, absurd numbers, a
 * megabyte-long line, broken references - the command exits 2 with exactly
 * one line on stderr naming the file and the line, and never crashes or
 * hangs. The line is clean: every byte of the input it quotes is escaped,
 * no double space. Memory stays bounded whatever the size of a refused
 * dump. The inputs the fuzzer saved (tools/lockgraph/testdata/fuzz) are
 * replayed the same way: exit 0, 1 or 2, never a signal.
 */
#include <check.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char lockgraph_bin[4096];

/* A valid dump: two classes, one edge, one finding. Cases edit it. */
#define HEAD   "lockcheck-dump 1\nprocess 7 \"prog\"\n"
#define CLASS0 "class 0 mutex 1 0 0 0 \"a\" \"x.c\" 1\n"
#define CLASS1 "class 1 rwlock 2 5 1 100 \"b\" \"x.c\" 2\n"
#define EDGE01                                                                 \
	"edge 0 1 3 WW,RR 0:1 42 \"t\" \"x.c\" 10 \"f\" \"x.c\" 11 \"f\"\n"
#define FINDING	 "finding exit-held - \"thread t exited holding a\"\n"
#define VALID	 HEAD CLASS0 CLASS1 EDGE01 FINDING "end 2 1 1\n"
#define HEAD2	 "lockcheck-dump 2\nprocess 7 \"prog\"\n"
#define RANGE_OK "range 4 2 2 8 0 \"guarded by a\" \"x.c\" 3\n"

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void run_lg(const char *cmd, const char *path, struct lct_child *c)
{
	const char *argv[] = { lockgraph_bin, cmd, path, NULL };

	LCT_ASSERT_RAN(lct_run_cmd(argv, NULL, c), c);
}

/* True when text is one line of printable text: no control byte but its
 * final newline, no byte that is never UTF-8 (0xc0, 0xc1, 0xf5-0xff). */
static bool one_clean_line(const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || text[n - 1] != '\n')
		return false;
	for (size_t i = 0; i + 1 < n; i++) {
		unsigned char b = (unsigned char)text[i];

		if (b < 0x20 || b == 0x7f || b == 0xc0 || b == 0xc1 ||
		    b >= 0xf5)
			return false;
	}
	return true;
}

/* The command refuses path with one line "lockgraph: path:line: ..."
 * (just "lockgraph: path" when line is NULL) that contains want. */
static void expect_refused(const char *path, const char *line, const char *want)
{
	char prefix[4400];
	struct lct_child c;

	snprintf(prefix, sizeof(prefix), "lockgraph: %s%s%s%s", path,
		 line ? ":" : "", line ? line : "", line ? ": " : "");
	run_lg("check", path, &c);
	LCT_ASSERT_EXITED(&c, 2);
	LCT_ASSERT_CHILD(&c, one_clean_line(c.err));
	LCT_ASSERT_CHILD(&c, !strstr(c.err, "  ")); /* no empty word */
	LCT_ASSERT_CHILD(&c, c.out_len == 0);
	if (strncmp(c.err, prefix, strlen(prefix)))
		lct_child_fail(&c, __FILE__, __LINE__, "want prefix '%s'",
			       prefix);
	LCT_ASSERT_ERR_HAS(&c, want);
	lct_child_free(&c);
}

static const char *tmpfile_with(const char *data, size_t len)
{
	static char path[4200];

	snprintf(path, sizeof(path), "%s/in.graph", lct_tmpdir("bad"));
	write_file(path, data, len);
	return path;
}

static const struct bad_case {
	const char *data;
	const char *line; /* the line the error names */
	const char *want; /* in the message */
} bad_cases[] = {
	{ "", "1", "empty file" },
	{ "hello world\n", "1", "not a lock-graph dump" },
	{ "lockcheck-dump 3\n", "1", "version 3 is not supported" },
	/* version 2: range lines after the findings, four counts at end */
	{ HEAD CLASS0 RANGE_OK "end 1 0 0\n", "4",
	  "range line in a version 1 dump" },
	{ HEAD2 CLASS0 "range 1 2 1 8 - \"f()\" \"x.c\" 3\nend 1 0 0 1\n", "4",
	  "more writes than accesses" },
	{ HEAD2 CLASS0 RANGE_OK "end 1 0 0\n", "5", "bad ranges field" },
	{ HEAD2 CLASS0 "range 1 1 1 8 7 \"f()\" \"x.c\" 3\nend 1 0 0 1\n", "4",
	  "class id 7 is not a class of this dump" },
	{ HEAD2 CLASS0 RANGE_OK "end 1 0 0 2\n", "5",
	  "end line says 2 ranges, the dump has 1" },
	{ HEAD2 CLASS0 RANGE_OK FINDING "end 1 0 1 1\n", "5",
	  "'finding' line out of order" },
	/* a merged dump's optional records field */
	{ HEAD2 CLASS0 "range 4 2 2 8 0 \"f()\" \"x.c\" 3 0\nend 1 0 0 1\n",
	  "4", "records not in 1..4294967295" },
	{ HEAD2 CLASS0
	  "range 4 2 2 8 0 \"f()\" \"x.c\" 3 4294967296\nend 1 0 0 1\n",
	  "4", "records not in 1..4294967295" },
	{ HEAD2 CLASS0 "range 4 2 2 8 0 \"f()\" \"x.c\" 3 x\nend 1 0 0 1\n",
	  "4", "bad records field" },
	{ HEAD2 CLASS0 "range 4 2 2 8 0 \"f()\" \"x.c\" 3 2 1\nend 1 0 0 1\n",
	  "4", "bad trailing field" },
	{ "lockcheck-dump 0\n", "1", "version 0 is not supported" },
	{ "lockcheck-dump 1\r\n", "1", "CRLF line endings" },
	{ "lockcheck-dump 1\nprocess 7 \"prog\"\r\n", "2",
	  "CRLF line endings" },
	{ HEAD CLASS0 "end 1 0 0\r\n", "4", "CRLF line endings" },
	{ "hello\r\n", "1", "not a lock-graph dump" },
	{ "lockcheck-dump 1 \n", "1", "bad header line" },
	{ "lockcheck-dump 1\n", "2", "truncated: no 'end' line" },
	{ HEAD CLASS0, "4", "truncated: no 'end' line" },
	{ HEAD "class 0 mutex 1 0 0", "3", "last line has no newline" },
	{ HEAD "end 99999999999999999999999 0 0\n", "3", "number too large" },
	{ HEAD "end 18446744073709551615 0 0\n", "3",
	  "end line says 18446744073709551615 classes, the dump has 0" },
	{ HEAD CLASS0 "end 1 0 7\n", "4", "says 7 findings" },
	{ HEAD "class 5 mutex 1 0 0 0 \"a\" \"x.c\" 1\n", "3",
	  "id 5 out of order" },
	{ HEAD "class -1 mutex 1 0 0 0 \"a\" \"x.c\" 1\n", "3",
	  "bad id field" },
	{ HEAD "class 0 spinlock 1 0 0 0 \"a\" \"x.c\" 1\n", "3",
	  "unknown lock kind" },
	/* wait nodes came with format version 2 */
	{ HEAD "class 0 wait 1 0 0 0 \"condvar\" \"x.c\" 1\n", "3",
	  "unknown lock kind 'wait'" },
	{ HEAD "class 0 mutex 1 0 0 0 \"a\\q\" \"x.c\" 1\n", "3",
	  "bad name field" },
	{ HEAD "class 0 mutex 1 0 0 0 \"a\\x00\" \"x.c\" 1\n", "3",
	  "bad name field" },
	{ HEAD "class 0 mutex 1 0 0 0 \"unclosed x.c 1\n", "3",
	  "bad name field" },
	{ HEAD "class 0 mutex 1 0 0 0 \"a\" \"x.c\" 1 extra\n", "3",
	  "bad trailing field" },
	{ HEAD "class 0 mutex 1 0 0 0 \"a\" \"x.c\"  1\n", "3", "bad line" },
	{ HEAD CLASS0 CLASS0, "4", "id 0 out of order" },
	{ HEAD CLASS0 "class 1 mutex 1 0 0 0 \"a\" \"x.c\" 1\n", "4",
	  "already has class" },
	{ HEAD CLASS0 CLASS1 "edge 0 9 1 WW - 1 \"t\" \"x\" 1 \"f\" \"x\" 2 "
			     "\"f\"\n",
	  "5", "not a class of this dump" },
	{ HEAD CLASS0 CLASS1 "edge 1 1 1 WW - 1 \"t\" \"x\" 1 \"f\" \"x\" 2 "
			     "\"f\"\n",
	  "5", "to itself" },
	{ HEAD CLASS0 CLASS1 EDGE01 EDGE01, "6", "already has the edge" },
	{ HEAD CLASS0 CLASS1 "edge 0 1 1 XW - 1 \"t\" \"x\" 1 \"f\" \"x\" 2 "
			     "\"f\"\n",
	  "5", "bad modes" },
	{ HEAD CLASS0 CLASS1 "edge 0 1 1 WW, - 1 \"t\" \"x\" 1 \"f\" \"x\" 2 "
			     "\"f\"\n",
	  "5", "trailing comma" },
	{ HEAD CLASS0 CLASS1 "edge 0 1 1 WW 0:99999999999999999999999 1 \"t\" "
			     "\"x\" 1 \"f\" \"x\" 2 \"f\"\n",
	  "5", "gate instance field (number too large)" },
	{ HEAD CLASS0 CLASS1 "edge 0 1 1 WW 7:1 1 \"t\" \"x\" 1 \"f\" \"x\" 2 "
			     "\"f\"\n",
	  "5", "not a class of this dump" },
	{ HEAD CLASS0 CLASS1 "edge 0 1 1 WW - 99999999999 \"t\" \"x\" 1 \"f\" "
			     "\"x\" 2 \"f\"\n",
	  "5", "bad tid field (number too large)" },
	{ HEAD CLASS0 CLASS1 EDGE01 CLASS1, "6", "'class' line out of order" },
	{ HEAD CLASS0 "finding Bad-Kind - \"x\"\n", "4", "bad kind" },
	{ HEAD CLASS0 "finding exit-held 0,3 \"x\"\n", "4",
	  "not a class of this dump" },
	{ HEAD CLASS0 "finding exit-held 0,,0 \"x\"\n", "4",
	  "finding line: empty class id" },
	{ HEAD CLASS0 "finding exit-held 0, \"x\"\n", "4",
	  "finding line: empty class id" },
	{ HEAD CLASS0 CLASS1 "edge 0 1 1 WW :1 1 \"t\" \"x\" 1 \"f\" \"x\" 2 "
			     "\"f\"\n",
	  "5", "edge line: empty class id" },
	{ HEAD "\xff\xfe\x01 1\n", "3", "unknown record '\\xff\\xfe\\x01'" },
	{ HEAD "class 0 sp\xc3\xa9"
	       "cial 1 0 0 0 \"a\" \"x.c\" 1\n",
	  "3",
	  "unknown lock kind 'sp\xc3\xa9"
	  "cial'" },
	{ HEAD "frob 1\n", "3", "unknown record 'frob'" },
	{ HEAD "\n", "3", "empty or malformed line" },
	{ "lockcheck-dump 1\nclass 0\n", "2", "want the 'process' line" },
	{ VALID "end 2 1 1\n", "8", "data after the 'end' line" },
};

START_TEST(test_bad_input_is_refused_naming_file_and_line)
{
	const struct bad_case *bc = &bad_cases[_i];

	expect_refused(tmpfile_with(bc->data, strlen(bc->data)), bc->line,
		       bc->want);
}
END_TEST

START_TEST(test_valid_reference_dump_is_accepted)
{
	struct lct_child c;

	run_lg("check", tmpfile_with(VALID, strlen(VALID)), &c);
	LCT_ASSERT_EXITED(&c, 1); /* its finding */
	LCT_ASSERT_CHILD(&c, c.err_len == 0);
	lct_child_free(&c);
}
END_TEST

/* Format 2: a condvar is a wait node; a cycle through it is a wait-cycle
 * in every output. Format 1 dumps stay readable (the reference above). */
#define WAITS                                                                  \
	"lockcheck-dump 2\nprocess 7 \"prog\"\n"                               \
	"class 0 mutex 1 0 0 0 \"table\" \"q.c\" 1\n"                          \
	"class 1 wait 1 0 0 0 \"condvar\" \"q.c\" 12\n"                        \
	"edge 0 1 1 WW - 42 \"flusher\" \"q.c\" 38 \"flush\" \"q.c\" 40 "      \
	"\"flush\"\n"                                                          \
	"edge 1 0 1 WW - 43 \"writer\" \"q.c\" 61 \"writer\" \"q.c\" 59 "      \
	"\"writer\"\n"                                                         \
	"end 2 2 0 0\n"

START_TEST(test_wait_nodes_of_format_2_are_read)
{
	const char *path = tmpfile_with(WAITS, strlen(WAITS));
	struct lct_child c;

	run_lg("check", path, &c);
	LCT_ASSERT_EXITED(&c, 1);
	LCT_ASSERT_OUT_HAS(&c, "wait-cycle: condvar [q.c:12] -> table "
			       "[q.c:1] -> condvar [q.c:12] (2 locks");
	lct_child_free(&c);
	run_lg("dot", path, &c);
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_OUT_HAS(&c, "shape=ellipse");
	lct_child_free(&c);
	run_lg("json", path, &c);
	LCT_ASSERT_OUT_HAS(&c, "\"kind\": \"wait\"");
	LCT_ASSERT_OUT_HAS(&c, "\"wait\": true");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_binary_garbage_is_refused)
{
	char data[4096];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(data); i++) {
		x = x * 1103515245 + 12345;
		data[i] = (char)(x >> 16);
	}
	data[100] = '\0';
	expect_refused(tmpfile_with(data, sizeof(data)), "1", "");
	memcpy(data, "lockcheck-dump 1\n", 17);
	expect_refused(tmpfile_with(data, sizeof(data)), NULL, "");
}
END_TEST

START_TEST(test_megabyte_line_is_refused_in_bounded_memory)
{
	size_t n = 4 << 20;
	char *data = malloc(n + 64);

	ck_assert_ptr_nonnull(data);
	strcpy(data, HEAD "class 0 mutex 1 0 0 0 \"");
	memset(data + strlen(data), 'a', n);
	data[n] = '\n';
	expect_refused(tmpfile_with(data, n + 1), "3", "line longer than");
	free(data);
}
END_TEST

/* Bytes of the big dumps below: ten times LG_CHECK_FIRST (parse.h), the
 * size from which lockgraph checks a whole dump before merging any of it.
 * Merged, their classes would take over 100 MiB. */
#define BIG_DUMP (40u << 20)

/* Writes HEAD and class lines to f, each a new class with new strings,
 * until about bytes are written; returns how many. */
static unsigned write_classes(FILE *f, size_t bytes)
{
	size_t written = 0;
	unsigned n = 0;

	ck_assert_int_ge(fputs(HEAD, f), 0);
	while (written < bytes) {
		int len = fprintf(f,
				  "class %u mutex 1 0 0 0 \"lock %u\" "
				  "\"src/file%u.c\" %u\n",
				  n, n, n, n + 1);

		ck_assert_int_gt(len, 0);
		written += (size_t)len;
		n++;
	}
	return n;
}

/* Peak RSS of lockgraph refusing a small dump: what the process costs
 * before any input does (and, for a forked command, at least what this
 * test process had at the fork). */
static long baseline_rss_kb(void)
{
	struct lct_child c;
	long kb;

	run_lg("check", tmpfile_with(HEAD, strlen(HEAD)), &c);
	LCT_ASSERT_EXITED(&c, 2);
	kb = c.max_rss_kb;
	lct_child_free(&c);
	return kb;
}

/* lockgraph refuses path at line with want, its peak memory not above the
 * baseline's plus 16 MiB (a fraction of the file). */
static void expect_refused_in_little_memory(const char *path, unsigned line,
					    const char *want)
{
	long base = baseline_rss_kb();
	char where[64];
	struct lct_child c;

	run_lg("check", path, &c);
	LCT_ASSERT_EXITED(&c, 2);
	snprintf(where, sizeof(where), ".graph:%u: ", line);
	LCT_ASSERT_ERR_HAS(&c, where);
	LCT_ASSERT_ERR_HAS(&c, want);
	if (c.max_rss_kb > base + 16384)
		lct_child_fail(&c, __FILE__, __LINE__,
			       "peak RSS %ld KiB for a %u MiB dump, %ld KiB "
			       "for an empty one",
			       c.max_rss_kb, BIG_DUMP >> 20, base);
	lct_child_free(&c);
	ck_assert_int_eq(unlink(path), 0);
}

START_TEST(test_big_truncated_dump_is_refused_in_little_memory)
{
	char path[4200];
	unsigned n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cut.graph", lct_tmpdir("big"));
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	n = write_classes(f, BIG_DUMP);
	ck_assert_int_ge(fputs("class 999 mut", f), 0); /* cut mid-line */
	ck_assert_int_eq(fclose(f), 0);
	expect_refused_in_little_memory(path, n + 3,
					"the last line has no newline");
}
END_TEST

START_TEST(test_big_dump_broken_near_its_end_is_refused_in_little_memory)
{
	char path[4200];
	unsigned n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/broken.graph", lct_tmpdir("big"));
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	n = write_classes(f, BIG_DUMP);
	ck_assert_int_ge(fprintf(f,
				 "edge 0 %u 1 WW - 1 \"t\" \"x\" 1 \"f\" "
				 "\"x\" 2 \"f\"\nend %u 1 0\n",
				 n, n),
			 0);
	ck_assert_int_eq(fclose(f), 0);
	expect_refused_in_little_memory(path, n + 3,
					"is not a class of this dump");
}
END_TEST

START_TEST(test_big_dump_is_checked_then_merged_once)
{
	char path[4200], want[128];
	struct lct_child c;
	unsigned n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/whole.graph", lct_tmpdir("big"));
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	n = write_classes(f, 6u << 20); /* over LG_CHECK_FIRST: two passes */
	ck_assert_int_ge(fprintf(f,
				 "edge 0 1 1 WW - 1 \"t\" \"x\" 1 \"f\" "
				 "\"x\" 2 \"f\"\n"
				 "edge 1 0 1 WW - 1 \"t\" \"x\" 3 \"g\" "
				 "\"x\" 4 \"g\"\n"
				 "end %u 2 0\n",
				 n),
			 0);
	ck_assert_int_eq(fclose(f), 0);
	run_lg("report", path, &c);
	LCT_ASSERT_EXITED(&c, 0);
	snprintf(want, sizeof(want),
		 "lockgraph report: 1 dump, %u classes, 2 edges\n", n);
	LCT_ASSERT_OUT_HAS(&c, want);
	LCT_ASSERT_OUT_HAS(&c, "\n== 1 cycle that can deadlock\n");
	LCT_ASSERT_OUT_HAS(&c, "\ncycle 1: lock 0 -> lock 1 -> lock 0\n");
	lct_child_free(&c);
	ck_assert_int_eq(unlink(path), 0);
}
END_TEST

/* Runs "lockgraph check /dev/stdin" with data in a pipe on its stdin. */
static void check_from_pipe(const char *data, struct lct_child *c)
{
	int p[2], saved = dup(STDIN_FILENO);

	ck_assert_int_ge(saved, 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], data, strlen(data)),
			 (ssize_t)strlen(data)); /* fits the pipe's buffer */
	ck_assert_int_eq(close(p[1]), 0);
	ck_assert_int_ge(dup2(p[0], STDIN_FILENO), 0);
	ck_assert_int_eq(close(p[0]), 0);
	run_lg("check", "/dev/stdin", c);
	ck_assert_int_ge(dup2(saved, STDIN_FILENO), 0);
	ck_assert_int_eq(close(saved), 0);
}

START_TEST(test_dump_in_a_pipe_is_read_once)
{
	struct lct_child c;

	check_from_pipe(VALID, &c);
	LCT_ASSERT_EXITED(&c, 1);
	LCT_ASSERT_OUT_HAS(&c, "finding: exit-held");
	LCT_ASSERT_CHILD(&c, c.err_len == 0);
	lct_child_free(&c);
	check_from_pipe(HEAD CLASS0, &c);
	LCT_ASSERT_EXITED(&c, 2);
	LCT_ASSERT_ERR_HAS(&c, "lockgraph: /dev/stdin:4: truncated");
	lct_child_free(&c);
}
END_TEST

START_TEST(test_many_gates_and_classes_are_accepted)
{
	static char data[65536];
	size_t len = 0;
	struct lct_child c;

	len += (size_t)snprintf(data + len, sizeof(data) - len, "%s", HEAD);
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(
			data + len, sizeof(data) - len,
			"class %d mutex 1 0 0 0 \"c%d\" \"x.c\" "
			"%d\n",
			i, i, i);
	len += (size_t)snprintf(data + len, sizeof(data) - len,
				"edge 0 1 1 WW ");
	for (int i = 0; i < 100; i++)
		len += (size_t)snprintf(data + len, sizeof(data) - len,
					"%s%d:%d", i ? "," : "", i, i);
	len += (size_t)snprintf(data + len, sizeof(data) - len,
				" 1 \"t\" \"x\" 1 \"f\" \"x\" 2 \"f\"\n"
				"end 100 1 0\n");
	run_lg("report", tmpfile_with(data, len), &c);
	LCT_ASSERT_EXITED(&c, 0);
	lct_child_free(&c);
}
END_TEST

START_TEST(test_directory_without_dumps_is_refused)
{
	char dir[4096], sub[4200], other[4200];

	snprintf(dir, sizeof(dir), "%s", lct_tmpdir("nodumps"));
	snprintf(sub, sizeof(sub), "%s/looks-like.graph", dir);
	snprintf(other, sizeof(other), "%s/notes.txt", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);	 /* a directory, not a dump */
	write_file(other, VALID, strlen(VALID)); /* not named *.graph */
	expect_refused(dir, NULL, "no lock-graph dumps");
}
END_TEST

START_TEST(test_missing_and_unreadable_files_are_refused)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/absent.graph", lct_tmpdir("missing"));
	expect_refused(path, NULL, "cannot open: No such file");
	if (geteuid() == 0)
		return; /* root reads any file */
	snprintf(path, sizeof(path), "%s", tmpfile_with(VALID, strlen(VALID)));
	ck_assert_int_eq(chmod(path, 0), 0);
	expect_refused(path, NULL, "cannot open: Permission denied");
}
END_TEST

START_TEST(test_bad_file_in_a_directory_is_named)
{
	char dir[4096], good[4200], bad[4200];

	snprintf(dir, sizeof(dir), "%s", lct_tmpdir("mixed"));
	snprintf(good, sizeof(good), "%s/a.graph", dir);
	snprintf(bad, sizeof(bad), "%s/b.graph", dir);
	write_file(good, VALID, strlen(VALID));
	write_file(bad, HEAD, strlen(HEAD));
	expect_refused(bad, "3", "truncated");
	expect_refused(dir, NULL, "b.graph:3: truncated");
}
END_TEST

START_TEST(test_error_stays_one_line_whatever_the_bytes)
{
	static const char data[] = HEAD "\033[31mred\rx\xff\n";
	char path[4200];
	struct lct_child c;

	snprintf(path, sizeof(path), "%s/two\nlines\xfe.graph",
		 lct_tmpdir("names"));
	write_file(path, data, strlen(data));
	run_lg("check", path, &c);
	LCT_ASSERT_EXITED(&c, 2);
	LCT_ASSERT_CHILD(&c, one_clean_line(c.err));
	LCT_ASSERT_ERR_HAS(&c, "two\\nlines\\xfe.graph:3: unknown record "
			       "'\\x1b[31mred\\x0dx\\xff'");
	lct_child_free(&c);
}
END_TEST

/* Replays one saved fuzz input through three commands. */
static void replay(const char *path)
{
	static const char *const cmds[] = { "check", "report", "json" };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct lct_child c;
		bool ok;

		run_lg(cmds[i], path, &c);
		ok = lct_exited_with(&c, 0) || lct_exited_with(&c, 1) ||
		     (lct_exited_with(&c, 2) && one_clean_line(c.err) &&
		      !strncmp(c.err, "lockgraph: ", 11));
		if (!ok)
			lct_child_fail(&c, __FILE__, __LINE__, "%s %s", cmds[i],
				       path);
		lct_child_free(&c);
	}
}

START_TEST(test_saved_fuzz_inputs_never_crash)
{
	const char *dir = lct_runfile("tools/lockgraph/testdata/fuzz");
	char base[4096], path[4400];
	struct dirent *ent;
	unsigned n = 0;
	DIR *d;

	ck_assert_ptr_nonnull(dir);
	snprintf(base, sizeof(base), "%s", dir);
	d = opendir(base);
	ck_assert_ptr_nonnull(d);
	while ((ent = readdir(d))) {
		if (ent->d_name[0] == '.' || !strcmp(ent->d_name, "README.md"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, ent->d_name);
		replay(path);
		n++;
	}
	closedir(d);
	ck_assert_uint_gt(n, 0);
}
END_TEST

/* Version 2 dumps: ranges merged over dumps (lock sets intersected),
 * shared ones listed, unguarded first. */
START_TEST(test_guards_lists_shared_ranges)
{
	static const char one[] = HEAD2 CLASS0 CLASS1
		"range 10 5 2 8 0,1 \"guarded by a\" \"x.c\" 3\n"
		"range 3 1 2 4 - \"loner()\" \"y.c\" 9\n"
		"range 2 0 1 4 0 \"own()\" \"y.c\" 12\n"
		"end 2 0 0 3\n";
	static const char two[] =
		HEAD2 "class 0 rwlock 2 5 1 100 \"b\" \"x.c\" 2\n"
		      "range 1 1 1 8 0 \"guarded by a\" \"x.c\" 3\n"
		      "end 1 0 0 1\n";
	const char *dir = lct_tmpdir("guards");
	char path[4200];
	struct lct_child c;

	snprintf(path, sizeof(path), "%s/one.graph", dir);
	write_file(path, one, sizeof(one) - 1);
	snprintf(path, sizeof(path), "%s/two.graph", dir);
	write_file(path, two, sizeof(two) - 1);
	run_lg("guards", dir, &c);
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_OUT_HAS(&c, "== unguarded shared data (written, shared, "
			       "no lock held at every access)\n"
			       "  loner() at y.c:9 (4 bytes): 3 accesses, 1 "
			       "writes, 2 threads\n");
	/* two's class 0 is b: the lock common to both dumps */
	LCT_ASSERT_OUT_HAS(&c, "  guarded by a at x.c:3 (8 bytes): 11 "
			       "accesses, 6 writes, 3 threads, 2 records\n"
			       "    always held: b [x.c:2]\n"
			       "    declare: lc_guard(ptr, size, &b) or "
			       "LC_GUARDED_BY(b)\n");
	LCT_ASSERT_OUT_HAS(&c, "3 checked ranges: 1 unguarded shared, 1 "
			       "guarded shared, 1 touched by one thread\n");
	lct_child_free(&c);
}
END_TEST

/* lockgraph merge keeps the ranges: its file's guards inventory is the
 * dumps' own, records included, and a merge of the merge is the merge. */
START_TEST(test_merge_keeps_ranges)
{
	static const char one[] = HEAD2 CLASS0 CLASS1
		"range 10 5 2 8 0,1 \"guarded by a\" \"x.c\" 3\n"
		"range 3 1 2 4 - \"loner()\" \"y.c\" 9\n"
		"end 2 0 0 2\n";
	static const char two[] =
		HEAD2 "class 0 mutex 2 5 1 100 \"a\" \"x.c\" 1\n"
		      "range 1 1 1 8 0 \"guarded by a\" \"x.c\" 3\n"
		      "range 5 5 1 4 0 \"own()\" \"y.c\" 12\n"
		      "end 1 0 0 2\n";
	const char *dir = lct_tmpdir("merge-ranges");
	char dumps[4096], path[4200];
	struct lct_child m, m2, a, b;

	snprintf(dumps, sizeof(dumps), "%s/dumps", dir);
	ck_assert_int_eq(mkdir(dumps, 0700), 0);
	snprintf(path, sizeof(path), "%s/one.graph", dumps);
	write_file(path, one, sizeof(one) - 1);
	snprintf(path, sizeof(path), "%s/two.graph", dumps);
	write_file(path, two, sizeof(two) - 1);
	run_lg("merge", dumps, &m);
	LCT_ASSERT_EXITED(&m, 0);
	/* a is class 0 of both dumps: the only lock common to all accesses */
	LCT_ASSERT_OUT_HAS(&m, "\"guarded by a\" \"x.c\" 3 2\n");
	LCT_ASSERT_OUT_HAS(&m, "range 3 1 2 4 - \"loner()\" \"y.c\" 9\n");
	LCT_ASSERT_OUT_HAS(&m, "end 2 0 0 3\n");
	snprintf(path, sizeof(path), "%s/merged.graph", dir);
	write_file(path, m.out, m.out_len);

	run_lg("guards", dumps, &a);
	run_lg("guards", path, &b);
	LCT_ASSERT_EXITED(&a, 0);
	LCT_ASSERT_EXITED(&b, 0);
	LCT_ASSERT_OUT_HAS(&a, "11 accesses, 6 writes, 3 threads, 2 records\n");
	ck_assert_str_eq(b.out, a.out);

	run_lg("merge", path, &m2);
	LCT_ASSERT_EXITED(&m2, 0);
	ck_assert_str_eq(m2.out, m.out);
	lct_child_free(&m);
	lct_child_free(&m2);
	lct_child_free(&a);
	lct_child_free(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lockgraph_input");
	TCase *bad = tcase_create("bad_input"), *fuzz = tcase_create("fuzz");
	const char *bin = lct_runfile("tools/lockgraph/lockgraph");

	if (!bin) {
		fprintf(stderr, "lockgraph_input_test: no lockgraph binary\n");
		return EXIT_FAILURE;
	}
	snprintf(lockgraph_bin, sizeof(lockgraph_bin), "%s", bin);
	tcase_add_loop_test(bad, test_bad_input_is_refused_naming_file_and_line,
			    0, sizeof(bad_cases) / sizeof(bad_cases[0]));
	tcase_add_test(bad, test_wait_nodes_of_format_2_are_read);
	tcase_add_test(bad, test_valid_reference_dump_is_accepted);
	tcase_add_test(bad, test_guards_lists_shared_ranges);
	tcase_add_test(bad, test_merge_keeps_ranges);
	tcase_add_test(bad, test_binary_garbage_is_refused);
	tcase_add_test(bad, test_megabyte_line_is_refused_in_bounded_memory);
	tcase_add_test(bad, test_many_gates_and_classes_are_accepted);
	tcase_add_test(bad,
		       test_big_truncated_dump_is_refused_in_little_memory);
	tcase_add_test(
		bad,
		test_big_dump_broken_near_its_end_is_refused_in_little_memory);
	tcase_add_test(bad, test_big_dump_is_checked_then_merged_once);
	tcase_add_test(bad, test_dump_in_a_pipe_is_read_once);
	tcase_add_test(bad, test_directory_without_dumps_is_refused);
	tcase_add_test(bad, test_missing_and_unreadable_files_are_refused);
	tcase_add_test(bad, test_bad_file_in_a_directory_is_named);
	tcase_add_test(bad, test_error_stays_one_line_whatever_the_bytes);
	tcase_add_test(fuzz, test_saved_fuzz_inputs_never_crash);
	tcase_set_timeout(bad, 120);
	tcase_set_timeout(fuzz, 240);
	suite_add_tcase(s, bad);
	suite_add_tcase(s, fuzz);
	return lct_run_suite(s);
}
