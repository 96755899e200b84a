/*
 * ledger_race_test.c: the ledger's declared guards, checked by the
 * LOCKCHECK=1 builds. Each account's lock guards its balance
 * (ds/ledger.c). The binary links //ds:without_lock_ledger: the library
 * plus one deliberately broken reader, ds__ledger_balance_without_lock.
 * Run on a second thread after a first one moved money, that reader is
 * reported at its read: a guard is checked whatever the schedule, so the
 * two threads need not overlap (and ThreadSanitizer, which sees the join
 * between them, stays quiet). The library's own functions, several
 * threads transferring while another audits, report nothing. With
 * LOCKCHECK=0 there is no checker: every child is silent.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ds/ledger.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ds/ledger.c, built with DS_WITHOUT_LOCK_LEDGER. */
int64_t ds__ledger_balance_without_lock(struct ds_ledger *l, size_t id);

enum { ACCOUNTS = 8, OPENING = 1000 };

static struct ds_ledger *new_ledger(void)
{
	int64_t open[ACCOUNTS];
	struct ds_ledger *l = NULL;

	for (int i = 0; i < ACCOUNTS; i++)
		open[i] = OPENING;
	ck_assert_int_eq(ds_ledger_create(ACCOUNTS, open, &l), 0);
	return l;
}

static void move_money(void *arg)
{
	ck_assert_int_eq(ds_ledger_transfer(arg, 1, 0, 250), 0);
}

struct reader {
	struct ds_ledger *ledger;
	bool locked; /* the library's reader, else the broken one */
	int64_t balance;
};

static void read_balance(void *arg)
{
	struct reader *r = arg;

	if (r->locked)
		ck_assert_int_eq(ds_ledger_balance(r->ledger, 0, &r->balance),
				 0);
	else
		r->balance = ds__ledger_balance_without_lock(r->ledger, 0);
}

/* A "teller" thread, then a "reporter" thread reading account 0. */
static void move_then_read(void *arg)
{
	struct reader r = { new_ledger(), arg != NULL, 0 };

	lct_in_named_thread("teller", move_money, r.ledger);
	lct_in_named_thread("reporter", read_balance, &r);
	ck_assert_int_eq(r.balance, OPENING + 250);
	ds_ledger_destroy(r.ledger);
}

START_TEST(test_balance_without_lock_is_a_race)
{
	struct lct_child c = lct_expect_reports(move_then_read, NULL, NULL,
						"race", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK) { /* else no checker: the child was silent */
		LCT_ASSERT_LINE(
			&c,
			"lockcheck: race: read without `ds_ledger.account` "
			"at ds/ledger.c:",
			" in ds__ledger_balance_without_lock()");
		LCT_ASSERT_ERR_HAS(&c, "by thread \"reporter\"");
		LCT_ASSERT_ERR_HAS(&c, "  guard `ds_ledger.account` of ");
		LCT_ASSERT_ERR_HAS(&c, " in init_accounts()\n");
	}
	lct_child_free(&c);
}
END_TEST

START_TEST(test_balance_with_lock_is_silent)
{
	struct lct_child c =
		lct_expect_reports(move_then_read, "locked", NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- the library under load ---- */

enum { TELLERS = 4, ROUNDS = 2000 };

struct teller {
	struct ds_ledger *ledger;
	unsigned seed;
};

/* Random transfers, single and three-legged; refusals change nothing. */
static void *teller(void *arg)
{
	struct teller *t = arg;

	for (int i = 0; i < ROUNDS; i++) {
		size_t a = (size_t)rand_r(&t->seed) % ACCOUNTS;
		size_t b = (a + 1 + (size_t)rand_r(&t->seed) % (ACCOUNTS - 1)) %
			   ACCOUNTS;
		size_t c = (b + 1) % ACCOUNTS == a ? (a + 1) % ACCOUNTS
						   : (b + 1) % ACCOUNTS;
		int64_t amount = 1 + rand_r(&t->seed) % 100;
		int64_t balance;

		if (i % 2) {
			int err = ds_ledger_transfer(t->ledger, a, b, amount);

			ck_assert(err == 0 || err == ERANGE);
		} else if (a != c && b != c) {
			struct ds_ledger_leg legs[] = { { a, -2 * amount },
							{ b, amount },
							{ c, amount } };
			int err = ds_ledger_transfer_many(t->ledger, legs, 3);

			ck_assert(err == 0 || err == ERANGE);
		}
		ck_assert_int_eq(ds_ledger_balance(t->ledger, a, &balance), 0);
		ck_assert_int_ge(balance, 0);
	}
	return NULL;
}

/* The total never changes, whatever is in flight. */
static void *auditor(void *arg)
{
	int64_t total;

	for (int i = 0; i < ROUNDS / 10; i++) {
		ck_assert_int_eq(ds_ledger_audit(arg, NULL, &total), 0);
		ck_assert_int_eq(total, (int64_t)ACCOUNTS * OPENING);
	}
	return NULL;
}

static void stress(void *arg)
{
	struct teller t[TELLERS];
	pthread_t th[TELLERS + 1];
	struct ds_ledger *l = new_ledger();

	(void)arg;
	for (int i = 0; i < TELLERS; i++) {
		t[i] = (struct teller){ l, (unsigned)i + 1 };
		ck_assert_int_eq(pthread_create(&th[i], NULL, teller, &t[i]),
				 0);
	}
	ck_assert_int_eq(pthread_create(&th[TELLERS], NULL, auditor, l), 0);
	for (int i = 0; i <= TELLERS; i++)
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
	auditor(l);
	ds_ledger_destroy(l);
}

START_TEST(test_stress_is_silent)
{
	struct lct_child c = lct_expect_reports(stress, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ledger_race");
	TCase *tc = tcase_create("guards");

	tcase_add_test(tc, test_balance_without_lock_is_a_race);
	tcase_add_test(tc, test_balance_with_lock_is_silent);
	tcase_add_test(tc, test_stress_is_silent);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
