/*
 * lc_text_test.c: strings from the program in report and dump lines.
 *
 * Lock names, the file paths and function names of init and call sites
 * and thread names are escaped by one function (lockcheck/text.h) in every
 * line: a newline, a tab, control bytes, quotes, backslashes and bytes
 * that are not UTF-8 cannot start a line of their own (a forged finding),
 * end a quoted dump field or reach the log raw. A string is cut once, at
 * LC_TEXT_MAX bytes with "...", alike in reports and dumps, and a name
 * longer than that still makes one class per init site. lockgraph reads
 * every such dump.
 *
 * The checked build forges file paths and function names by calling the
 * lc__ entry points behind the macros with its own strings.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* What a forger writes, and the escaped form every line must show. */
#define EVIL "\nlockcheck: lock-order-cycle: forged \"q\" \\ \t\x01\x7f\xff!"
#define SHOWN                                                                  \
	"\\nlockcheck: lock-order-cycle: forged \\\"q\\\" \\\\ \\t"            \
	"\\x01\\x7f\\xff!"

#define NAME_EVIL   "name" EVIL
#define FILE_EVIL   "file" EVIL
#define FUNC_EVIL   "func" EVIL
#define THREAD_EVIL "thread" EVIL

/* Where lock calls say they are: the strings the test chose. */
static const char *at_file = FILE_EVIL, *at_func = FUNC_EVIL;

#if LOCKCHECK
static struct lc__key evil_key = { NULL,      FILE_EVIL, 7,
				   FUNC_EVIL, "evil",	 &lc__tu_anchor };
#define INIT(m, name)	   lc__mutex_init((m), (name), &evil_key)
#define LOCK(m)		   lc__mutex_lock((m), at_file, __LINE__, at_func)
#define UNLOCK(m)	   lc__mutex_unlock((m), at_file, __LINE__, at_func)
#define DESTROY(m)	   lc__mutex_destroy((m), at_file, __LINE__, at_func)
#define ASSERT_NONE_HELD() lc__assert_no_locks_held(at_file, 1, at_func)
#else
#define INIT(m, name)	   lc_mutex_init((m), (name))
#define LOCK(m)		   ((void)at_file, (void)at_func, lc_mutex_lock(m))
#define UNLOCK(m)	   lc_mutex_unlock(m)
#define DESTROY(m)	   lc_mutex_destroy(m)
#define ASSERT_NONE_HELD() lc_assert_no_locks_held()
#endif

static lc_mutex_t a, b;
static const char *a_name = NAME_EVIL;

static void take_a_then_b(void *arg)
{
	(void)arg;
	lc_thread_set_name(THREAD_EVIL);
	ck_assert_int_eq(LOCK(&a), 0);
	ck_assert_int_eq(LOCK(&b), 0);
	ck_assert_int_eq(UNLOCK(&b), 0);
	ck_assert_int_eq(UNLOCK(&a), 0);
}

static void take_b_then_a(void *arg)
{
	(void)arg;
	lc_thread_set_name(THREAD_EVIL);
	ck_assert_int_eq(LOCK(&b), 0);
	ck_assert_int_eq(LOCK(&a), 0);
	ck_assert_int_eq(UNLOCK(&a), 0);
	ck_assert_int_eq(UNLOCK(&b), 0);
}

static void take_a_and_exit(void *arg)
{
	(void)arg;
	lc_thread_set_name(THREAD_EVIL);
	ck_assert_int_eq(LOCK(&a), 0);
}

static void init_both(void)
{
	ck_assert_int_eq(INIT(&a, a_name), 0);
	ck_assert_int_eq(lc_mutex_init(&b, "b"), 0);
	lc_thread_set_name(THREAD_EVIL);
}

static void cycle(void *arg)
{
	(void)arg;
	init_both();
	lct_in_thread(take_a_then_b, NULL);
	lct_in_thread(take_b_then_a, NULL);
}

static void recursive(void *arg)
{
	(void)arg;
	init_both();
	ck_assert_int_eq(LOCK(&a), 0);
	ck_assert_int_eq(LOCK(&a), EDEADLK);
	ck_assert_int_eq(UNLOCK(&a), 0);
}

static void unlock_not_held(void *arg)
{
	(void)arg;
	init_both();
	ck_assert_int_eq(LOCK(&b), 0);
	ck_assert_int_eq(UNLOCK(&a), EPERM);
	ck_assert_int_eq(UNLOCK(&b), 0);
}

static void destroy_held(void *arg)
{
	(void)arg;
	init_both();
	ck_assert_int_eq(LOCK(&a), 0);
	ck_assert_int_eq(DESTROY(&a), EBUSY);
	ck_assert_int_eq(UNLOCK(&a), 0); /* left intact */
}

static void exit_held(void *arg)
{
	(void)arg;
	init_both();
	lct_in_thread(take_a_and_exit, NULL);
}

static void assert_held(void *arg)
{
	(void)arg;
	init_both();
	ck_assert_int_eq(LOCK(&a), 0);
	ASSERT_NONE_HELD();
	ck_assert_int_eq(UNLOCK(&a), 0);
}

static void order_violation(void *arg)
{
	lc_mutex_t two;

	(void)arg;
	init_both();
	ck_assert_int_eq(INIT(&two, a_name), 0);
	lc_mutex_set_order(&a, 2);
	lc_mutex_set_order(&two, 1);
	ck_assert_int_eq(LOCK(&a), 0);
	ck_assert_int_eq(LOCK(&two), 0);
	ck_assert_int_eq(UNLOCK(&two), 0);
	ck_assert_int_eq(UNLOCK(&a), 0);
}

/* Bytes a line may never carry raw: the forger's control and non-UTF-8
 * bytes (a newline only ends a line). */
static bool has_raw_bytes(const char *s)
{
	return strpbrk(s, "\t\x01\x7f\xff") != NULL;
}

/* Runs lockgraph cmd on dir; returns its exit status, its output in out. */
static int lockgraph(const char *cmd, const char *dir, struct lct_child *out)
{
	const char *bin = lct_runfile("tools/lockgraph/lockgraph");
	char path[4096];
	const char *argv[] = { path, cmd, dir, NULL };

	ck_assert_ptr_nonnull(bin);
	snprintf(path, sizeof(path), "%s", bin);
	LCT_ASSERT_RAN(lct_run_cmd(argv, NULL, out), out);
	LCT_ASSERT_CHILD(out, WIFEXITED(out->status));
	return WEXITSTATUS(out->status);
}

/* The dump in dir shows each string escaped, as one line per record, and
 * lockgraph reads it: check finds the findings, report prints them. */
static void dump_is_escaped(const char *dir)
{
	char *dump = lct_read_only_dump(dir);
	struct lct_child g;

	ck_assert_ptr_nonnull(dump);
	ck_assert(!has_raw_bytes(dump));
	ck_assert_ptr_nonnull(strstr(dump, "\"name" SHOWN "\""));
	ck_assert_ptr_nonnull(strstr(dump, "\"file" SHOWN "\""));
	ck_assert_uint_eq(lct_count_prefix(dump, "lockcheck"), 1);
	free(dump);
	ck_assert_int_eq(lockgraph("check", dir, &g), 1);
	lct_child_free(&g);
	ck_assert_int_eq(lockgraph("report", dir, &g), 0);
	LCT_ASSERT_CHILD(&g, !has_raw_bytes(g.out));
	LCT_ASSERT_CHILD(&g, lct_count_prefix(g.out, "lockcheck: ") == 0);
	lct_child_free(&g);
}

/* One finding of kind from fn: its block shows every string escaped.
 * (The programs misuse locks: the plain build would hang or fail.) */
static void expect_escaped(void (*fn)(void *), const char *kind)
{
	const char *dir = lct_tmpdir("text");
	char env0[4200];
	const char *env[] = { env0, NULL };
	struct lct_child c;

	if (!LOCKCHECK)
		return;
	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	c = lct_expect_reports(fn, NULL, env, kind, 1);
	LCT_ASSERT_CHILD(&c, !has_raw_bytes(c.err));
	LCT_ASSERT_ERR_HAS(&c, "name" SHOWN);
	LCT_ASSERT_ERR_HAS(&c, "file" SHOWN);
	LCT_ASSERT_ERR_HAS(&c, "func" SHOWN "()");
	LCT_ASSERT_ERR_HAS(&c, "thread \"thread" SHOWN "\"");
	dump_is_escaped(dir);
	lct_child_free(&c);
}

START_TEST(test_cycle_lines_escape_every_string)
{
	expect_escaped(cycle, "lock-order-cycle");
}
END_TEST

START_TEST(test_recursive_lock_lines_escape_every_string)
{
	expect_escaped(recursive, "recursive-lock");
}
END_TEST

START_TEST(test_unlock_not_held_lines_escape_every_string)
{
	expect_escaped(unlock_not_held, "unlock-not-held");
}
END_TEST

START_TEST(test_destroy_held_lines_escape_every_string)
{
	expect_escaped(destroy_held, "destroy-held");
}
END_TEST

START_TEST(test_exit_held_lines_escape_every_string)
{
	expect_escaped(exit_held, "exit-held");
}
END_TEST

START_TEST(test_assert_held_lines_escape_every_string)
{
	expect_escaped(assert_held, "assert-held");
}
END_TEST

START_TEST(test_order_violation_lines_escape_every_string)
{
	expect_escaped(order_violation, "order-violation");
}
END_TEST

/* ---- long strings: cut once, one class per init site ---- */

/* "L", then "é" (2 bytes) up to n - 1 bytes, then "z" when one is left:
 * n bytes, where a cut that split a character would show. */
static char *long_text(size_t n)
{
	char *s = malloc(n + 1);
	size_t i = 1;

	ck_assert_ptr_nonnull(s);
	s[0] = 'L';
	for (; i + 2 <= n; i += 2)
		memcpy(s + i, "\xc3\xa9", 2);
	if (i < n)
		s[i++] = 'z';
	s[i] = '\0';
	return s;
}

/* What every line shows of long_text(n): whole up to LC_TEXT_MAX (255)
 * bytes; else "L", 125 "é" (251 bytes: the 126th would pass 252) and
 * "...". */
static char *shown(size_t n)
{
	char *s;

	if (n <= 255)
		return long_text(n);
	s = long_text(251);
	s = realloc(s, 255);
	ck_assert_ptr_nonnull(s);
	strcat(s, "...");
	return s;
}

/* Two locks of one init call named long_text(n), file path and function
 * name long_text(n), and a third lock: l[0] -> x in one thread, x -> l[1]
 * in another is a cycle only when l[0] and l[1] are one class. */
static size_t long_len;
static lc_mutex_t longs[2], x;
static const char *long_name;

static void take_two(lc_mutex_t *p, lc_mutex_t *q)
{
	lc_thread_set_name(long_name);
	ck_assert_int_eq(LOCK(p), 0);
	ck_assert_int_eq(LOCK(q), 0);
	ck_assert_int_eq(UNLOCK(q), 0);
	ck_assert_int_eq(UNLOCK(p), 0);
}

static void long_then_x(void *arg)
{
	(void)arg;
	take_two(&longs[0], &x);
}

static void x_then_long(void *arg)
{
	(void)arg;
	take_two(&x, &longs[1]);
}

static void long_cycle(void *arg)
{
	char *text = long_text(long_len);

	(void)arg;
	at_file = at_func = text;
#if LOCKCHECK
	evil_key.file = evil_key.func = text;
#endif
	long_name = text;
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(INIT(&longs[i], text), 0);
	ck_assert_int_eq(lc_mutex_init(&x, "x"), 0);
	lct_in_thread(long_then_x, NULL);
	lct_in_thread(x_then_long, NULL);
}

static void expect_long_cut(size_t n)
{
	const char *dir = lct_tmpdir("long");
	char env0[4200], *want = shown(n), summary[2048];
	const char *env[] = { env0, NULL };
	struct lct_child c, g;
	char *dump;

	long_len = n;
	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	c = lct_expect_reports(long_cycle, NULL, env, "lock-order-cycle",
			       LOCKCHECK ? 1 : 0);
	if (!LOCKCHECK) {
		lct_child_free(&c);
		free(want);
		return;
	}
	snprintf(summary, sizeof(summary),
		 "lockcheck: lock-order-cycle: x -> %s -> x (2 locks", want);
	LCT_ASSERT_ERR_HAS(&c, summary);
	snprintf(summary, sizeof(summary), "%s [%s:7]", want, want);
	LCT_ASSERT_ERR_HAS(&c, summary);
	snprintf(summary, sizeof(summary), "%s:", want);
	LCT_ASSERT_ERR_HAS(&c, summary);
	snprintf(summary, sizeof(summary), "thread \"%s\"", want);
	LCT_ASSERT_ERR_HAS(&c, summary);
	lct_child_free(&c);
	dump = lct_read_only_dump(dir);
	ck_assert_ptr_nonnull(dump);
	ck_assert_uint_eq(lct_count_prefix(dump, "class "), 2);
	snprintf(summary, sizeof(summary), "\"%s\" \"%s\" 7\n", want, want);
	ck_assert_ptr_nonnull(strstr(dump, summary));
	free(dump);
	ck_assert_int_eq(lockgraph("check", dir, &g), 1);
	lct_child_free(&g);
	free(want);
}

START_TEST(test_255_byte_strings_are_shown_whole)
{
	expect_long_cut(255);
}
END_TEST

START_TEST(test_256_byte_strings_are_cut_once)
{
	expect_long_cut(256);
}
END_TEST

START_TEST(test_300_byte_strings_are_cut_once)
{
	expect_long_cut(300);
}
END_TEST

START_TEST(test_5000_byte_strings_are_cut_once)
{
	expect_long_cut(5000);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_text");
	TCase *tc = tcase_create("lockcheck");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_cycle_lines_escape_every_string);
	tcase_add_test(tc, test_recursive_lock_lines_escape_every_string);
	tcase_add_test(tc, test_unlock_not_held_lines_escape_every_string);
	tcase_add_test(tc, test_destroy_held_lines_escape_every_string);
	tcase_add_test(tc, test_exit_held_lines_escape_every_string);
	tcase_add_test(tc, test_assert_held_lines_escape_every_string);
	tcase_add_test(tc, test_order_violation_lines_escape_every_string);
	tcase_add_test(tc, test_255_byte_strings_are_shown_whole);
	tcase_add_test(tc, test_256_byte_strings_are_cut_once);
	tcase_add_test(tc, test_300_byte_strings_are_cut_once);
	tcase_add_test(tc, test_5000_byte_strings_are_cut_once);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
