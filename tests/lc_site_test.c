/*
 * lc_site_test.c: a lock class is an init call. Two calls are two classes
 * even on one line or in one macro; one call in a loop or a helper is one
 * class however many locks it makes and whatever names it gives them; an
 * init in a header's static inline function, compiled into two files, is
 * one class. Reports name each lock by the name its init call gave.
 *
 * Each pair of locks is taken in both orders by two threads one after the
 * other: a cycle when they are two classes, nothing when they are one
 * class taken in key order. The dump shows how many classes there were.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testdata/lc_site_lock.h"
#include "testutil.h"

struct pair {
	lc_mutex_t *first, *second;
};

static void lock_pair(void *arg)
{
	const struct pair *p = arg;

	ck_assert_int_eq(lc_mutex_lock(p->first), 0);
	ck_assert_int_eq(lc_mutex_lock(p->second), 0);
	ck_assert_int_eq(lc_mutex_unlock(p->second), 0);
	ck_assert_int_eq(lc_mutex_unlock(p->first), 0);
}

/* x then y in one thread, y then x in another. */
static void both_orders(lc_mutex_t *x, lc_mutex_t *y)
{
	struct pair xy = { x, y }, yx = { y, x };

	lct_in_thread(lock_pair, &xy);
	lct_in_thread(lock_pair, &yx);
}

/* Runs fn with its dump in a fresh directory; expects n cycle reports and
 * returns the dump (NULL in the plain build). Free it. */
static char *run_dumped(void (*fn)(void *), size_t ncycles, char *line,
			size_t size)
{
	const char *dir = lct_tmpdir("site");
	char env0[4200];
	const char *env[] = { env0, NULL };
	struct lct_child c;
	char *dump;

	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	c = lct_expect_reports(fn, NULL, env, "lock-order-cycle",
			       LOCKCHECK ? ncycles : 0);
	if (line && !lct_find_line(c.err, "lockcheck: ", line, size))
		line[0] = '\0';
	lct_child_free(&c);
	dump = lct_read_only_dump(dir);
	ck_assert(LOCKCHECK ? dump != NULL : dump == NULL);
	return dump;
}

/* ---- two calls on one line, or in one macro: two classes ---- */

struct conn {
	lc_mutex_t conn, session;
};

static void inits_on_one_line(void *arg)
{
	struct conn c;

	(void)arg;
	/* the two calls share a line on purpose */
	/* clang-format off */
	lc_mutex_init(&c.conn, "conn"); lc_mutex_init(&c.session, "session");
	/* clang-format on */
	both_orders(&c.conn, &c.session);
}

START_TEST(test_two_inits_on_one_line_are_two_classes)
{
	char line[256];
	char *dump = run_dumped(inits_on_one_line, 1, line, sizeof(line));

	if (LOCKCHECK) {
		ck_assert_str_eq(line,
				 "lockcheck: lock-order-cycle: session -> "
				 "conn -> session (2 locks, 2 threads)");
		ck_assert_uint_eq(lct_count_prefix(dump, "class "), 2);
	}
	free(dump);
}
END_TEST

#define PAIR_INIT(p)                                                           \
	do {                                                                   \
		lc_mutex_init(&(p)->conn, "pair.conn");                        \
		lc_mutex_init(&(p)->session, "pair.session");                  \
	} while (0)

static void inits_in_one_macro(void *arg)
{
	struct conn c;

	(void)arg;
	PAIR_INIT(&c);
	both_orders(&c.conn, &c.session);
}

START_TEST(test_two_inits_in_one_macro_are_two_classes)
{
	char line[256];
	char *dump = run_dumped(inits_in_one_macro, 1, line, sizeof(line));

	if (LOCKCHECK) {
		ck_assert_str_eq(line, "lockcheck: lock-order-cycle: "
				       "pair.session -> pair.conn -> "
				       "pair.session (2 locks, 2 threads)");
		ck_assert_uint_eq(lct_count_prefix(dump, "class "), 2);
	}
	free(dump);
}
END_TEST

/* The same text twice on one line: still two calls. */
static void identical_inits_on_one_line(void *arg)
{
	lc_mutex_t x, y, *p = &x;

	(void)arg;
	/* the two calls share a line on purpose */
	/* clang-format off */
	lc_mutex_init(p, "twin"); p = &y; lc_mutex_init(p, "twin");
	/* clang-format on */
	both_orders(&x, &y);
}

START_TEST(test_identical_inits_on_one_line_are_two_classes)
{
	char *dump = run_dumped(identical_inits_on_one_line, 1, NULL, 0);

	if (LOCKCHECK) {
		ck_assert_uint_eq(lct_count_prefix(dump, "class "), 2);
		ck_assert_uint_eq(lct_count_prefix(dump, "class 0 mutex 1 "),
				  1);
		ck_assert_uint_eq(lct_count_prefix(dump, "class 1 mutex 1 "),
				  1);
		/* lockgraph tells classes by name and line: ranked apart */
		ck_assert_ptr_nonnull(
			strstr(dump, " \"twin (p, \\\"twin\\\") #1\" "));
		ck_assert_ptr_nonnull(
			strstr(dump, " \"twin (p, \\\"twin\\\") #2\" "));
	}
	free(dump);
}
END_TEST

/* Two calls on one line giving one name: the dump adds each call's text
 * to the name, and lockgraph sees two classes and their cycle. */
static void same_name_on_one_line(void *arg)
{
	struct conn c;

	(void)arg;
	/* the two calls share a line on purpose */
	/* clang-format off */
	lc_mutex_init(&c.conn, "link"); lc_mutex_init(&c.session, "link");
	/* clang-format on */
	both_orders(&c.conn, &c.session);
}

START_TEST(test_one_name_on_one_line_is_two_classes_for_lockgraph)
{
	const char *dir = lct_tmpdir("samename");
	const char *lockgraph = lct_runfile("tools/lockgraph/lockgraph");
	char env0[4200], bin[4096];
	const char *env[] = { env0, NULL };
	struct lct_child c;

	ck_assert_ptr_nonnull(lockgraph);
	snprintf(bin, sizeof(bin), "%s", lockgraph);
	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	c = lct_expect_reports(same_name_on_one_line, NULL, env,
			       "lock-order-cycle", LOCKCHECK ? 1 : 0);
	lct_child_free(&c);
	if (!LOCKCHECK)
		return; /* no dump */
	{
		const char *argv[] = { bin, "check", dir, NULL };

		ck_assert_int_eq(lct_run_cmd(argv, NULL, &c), 0);
	}
	if (!lct_exited_with(&c, 1))
		lct_child_dump(&c, "lockgraph check");
	ck_assert(lct_exited_with(&c, 1));
	ck_assert_ptr_nonnull(
		strstr(c.out, "cycle: link (&c.conn, \\\"link\\\") "));
	ck_assert_ptr_nonnull(
		strstr(c.out, "link (&c.session, \\\"link\\\") "));
	lct_child_free(&c);
}
END_TEST

/* ---- one call in a loop or a helper: one class ---- */

/* A helper with a name built at run time: "worker-<i>" (a lock keeps a
 * pointer to its name). */
static void worker_lock_init(lc_mutex_t *m, int i)
{
	static char names[4][32];

	snprintf(names[i], sizeof(names[i]), "worker-%d", i);
	ck_assert_int_eq(lc_mutex_init(m, names[i]), 0);
	lc_mutex_set_order(m, (uint64_t)i);
}

static void helper_in_a_loop(void *arg)
{
	lc_mutex_t w[4];

	(void)arg;
	for (int i = 0; i < 4; i++)
		worker_lock_init(&w[i], i);
	for (int i = 0; i < 4; i++) /* ascending keys: one class, silent */
		ck_assert_int_eq(lc_mutex_lock(&w[i]), 0);
	for (int i = 3; i >= 0; i--)
		lc_mutex_unlock(&w[i]);
}

START_TEST(test_helper_in_a_loop_is_one_class)
{
	char *dump = run_dumped(helper_in_a_loop, 0, NULL, 0);

	if (LOCKCHECK) {
		ck_assert_uint_eq(lct_count_prefix(dump, "class "), 1);
		ck_assert_uint_eq(lct_count_prefix(dump, "class 0 mutex 4 "),
				  1);
		ck_assert_ptr_nonnull(strstr(dump, " \"worker-0\" "));
	}
	free(dump);
}
END_TEST

/* ---- one call in a header, compiled into two files: one class ---- */

static void ascending_from_both_files(void *arg)
{
	lc_mutex_t x, y, z;

	(void)arg;
	site_lock_init(&x, 1, "site.lock"); /* this file's key */
	site_lock_init_elsewhere(&y, 2);    /* the other's, another name */
	site_lock_init(&z, 3, "site.lock");
	for (int i = 0; i < 2; i++) {
		lc_mutex_lock(&x);
		lc_mutex_lock(&y);
		lc_mutex_lock(&z);
		lc_mutex_unlock(&z);
		lc_mutex_unlock(&y);
		lc_mutex_unlock(&x);
	}
}

START_TEST(test_header_init_site_is_one_class_in_every_file)
{
	char *dump = run_dumped(ascending_from_both_files, 0, NULL, 0);

	if (LOCKCHECK) {
		ck_assert_uint_eq(lct_count_prefix(dump, "class "), 1);
		ck_assert_uint_eq(lct_count_prefix(dump, "class 0 mutex 3 "),
				  1);
	}
	free(dump);
}
END_TEST

/* Two calls on one line of the header, from both files: two classes in
 * all, the same two in either file. */
static void header_pair_from_both_files(void *arg)
{
	lc_mutex_t a1, b1, a2, b2;

	(void)arg;
	site_pair_init(&a1, &b1);
	site_pair_init_elsewhere(&a2, &b2);
	both_orders(&a1, &b2);
}

START_TEST(test_header_pair_is_two_classes_in_every_file)
{
	char line[256];
	char *dump =
		run_dumped(header_pair_from_both_files, 1, line, sizeof(line));

	if (LOCKCHECK) {
		ck_assert_str_eq(line, "lockcheck: lock-order-cycle: site.b -> "
				       "site.a -> site.b (2 locks, 2 threads)");
		ck_assert_uint_eq(lct_count_prefix(dump, "class "), 2);
		ck_assert_uint_eq(lct_count_prefix(dump, "class 0 mutex 2 "),
				  1);
		ck_assert_uint_eq(lct_count_prefix(dump, "class 1 mutex 2 "),
				  1);
	}
	free(dump);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_site");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_two_inits_on_one_line_are_two_classes);
	tcase_add_test(tc, test_two_inits_in_one_macro_are_two_classes);
	tcase_add_test(tc, test_identical_inits_on_one_line_are_two_classes);
	tcase_add_test(tc,
		       test_one_name_on_one_line_is_two_classes_for_lockgraph);
	tcase_add_test(tc, test_helper_in_a_loop_is_one_class);
	tcase_add_test(tc, test_header_init_site_is_one_class_in_every_file);
	tcase_add_test(tc, test_header_pair_is_two_classes_in_every_file);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
