/*
 * ds_variants_test.c: the library every program links, //ds, holds none of
 * the deliberately broken readers. Each is built only into its test-only
 * variant (ds/BUILD: without_lock_<structure>, DS_WITHOUT_LOCK_<S>); a
 * define leaking into :ds would ship a reader that skips its lock. The
 * readers are declared weak here: present in the linked library, their
 * address is not NULL.
 */
#include <check.h>
#include <stddef.h>

#include "testutil.h"

#define WITHOUT_LOCK(name) extern void name(void) __attribute__((weak))

WITHOUT_LOCK(ds__cache_total_charge_without_lock);
WITHOUT_LOCK(ds__chan_len_without_lock);
WITHOUT_LOCK(ds__ledger_balance_without_lock);
WITHOUT_LOCK(ds__pool_stats_without_lock);
WITHOUT_LOCK(ds__reaper_count_running_without_lock);
WITHOUT_LOCK(ds__reaper_lookup_without_lock);
WITHOUT_LOCK(ds__rwmap_size_without_lock);

/* A public function of each structure, so each file of :ds is linked. */
WITHOUT_LOCK(ds_cache_total_charge);
WITHOUT_LOCK(ds_chan_stats);
WITHOUT_LOCK(ds_ledger_balance);
WITHOUT_LOCK(ds_pool_stats);
WITHOUT_LOCK(ds_reaper_count_running);
WITHOUT_LOCK(ds_rwmap_size);

START_TEST(test_library_has_no_reader_without_lock)
{
	void (*const present[])(void) = {
		ds_cache_total_charge,	 ds_chan_stats,
		ds_ledger_balance,	 ds_pool_stats,
		ds_reaper_count_running, ds_rwmap_size,
	};
	void (*const absent[])(void) = {
		ds__cache_total_charge_without_lock,
		ds__chan_len_without_lock,
		ds__ledger_balance_without_lock,
		ds__pool_stats_without_lock,
		ds__reaper_count_running_without_lock,
		ds__reaper_lookup_without_lock,
		ds__rwmap_size_without_lock,
	};

	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		ck_assert_msg(present[i] != NULL, "public function %zu", i);
	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
		ck_assert_msg(absent[i] == NULL, "broken reader %zu linked", i);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ds_variants");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_library_has_no_reader_without_lock);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
