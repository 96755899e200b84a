/*
 * lc_site_test.c: a lock class is an init site. One in a header's static
 * inline function, compiled into two files, is still one class, whatever
 * names its callers give: locks made through either file and nested in
 * ascending key order are silent, and the dump has one class for the site.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "testdata/lc_site_lock.h"
#include "testutil.h"

static void ascending_from_both_files(void *arg)
{
	lc_mutex_t x, y, z;

	(void)arg;
	site_lock_init(&x, 1, "site.lock");	/* this file's key */
	site_lock_init_elsewhere(&y, 2);	/* the other's, another name */
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
	const char *dir = lct_tmpdir("site");
	char env0[4200], path[4300];
	const char *env[] = { env0, NULL };
	struct lct_child c;
	char *dump;

	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s/d.graph", dir);
	c = lct_expect_reports(ascending_from_both_files, NULL, env, NULL, 0);
	snprintf(path, sizeof(path), "%s/d.graph", dir);
	dump = lct_read_file(path, NULL);
	if (LOCKCHECK) {
		ck_assert_ptr_nonnull(dump);
		ck_assert_uint_eq(lct_count_prefix(dump, "class "), 1);
		ck_assert_uint_eq(lct_count_prefix(dump, "class 0 mutex 3 "), 1);
	}
	free(dump);
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_site");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_header_init_site_is_one_class_in_every_file);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
