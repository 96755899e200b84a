/*
 * ledger_test.c: ds_ledger moves money, refuses bad requests without a
 * trace, conserves the total under concurrent load, and its lock order is
 * one the checker really verifies.
 *
 * tcases: core (single thread, every error code), threads (the stress run
 * in a child: total conserved, no negative balance, no checker report),
 * lockcheck (a naive transfer on the same kind of keyed account locks IS
 * reported, so the silence of the stress run means something).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ds/ledger.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

static struct ds_ledger *make(size_t n, const int64_t *balances)
{
	struct ds_ledger *l = NULL;

	ck_assert_int_eq(ds_ledger_create(n, balances, &l), 0);
	ck_assert_ptr_nonnull(l);
	return l;
}

static int64_t bal(struct ds_ledger *l, size_t id)
{
	int64_t b = -1;

	ck_assert_int_eq(ds_ledger_balance(l, id, &b), 0);
	return b;
}

static void assert_balances(struct ds_ledger *l, const int64_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(bal(l, i), want[i]);
}

/* ---- core ------------------------------------------------------------- */

START_TEST(test_create_rejects_bad_arguments)
{
	const int64_t negative[] = { 5, -1 };
	const int64_t too_big[] = { INT64_MAX, 1 };
	struct ds_ledger *l = (struct ds_ledger *)&l; /* must stay untouched */
	struct ds_ledger *const before = l;

	ck_assert_int_eq(ds_ledger_create(0, NULL, &l), EINVAL);
	ck_assert_int_eq(ds_ledger_create(2, negative, &l), EINVAL);
	ck_assert_int_eq(ds_ledger_create(2, too_big, &l), EINVAL);
	ck_assert_int_eq(ds_ledger_create(2, NULL, NULL), EINVAL);
	ck_assert_int_eq(ds_ledger_create(SIZE_MAX, NULL, &l), ENOMEM);
	ck_assert_ptr_eq(l, before);
}
END_TEST

START_TEST(test_opening_balances_are_kept)
{
	const int64_t open[] = { 10, 0, 7 };
	struct ds_ledger *l = make(3, open);
	struct ds_ledger *zero = make(4, NULL);
	int64_t total = -1;

	assert_balances(l, open, 3);
	ck_assert_uint_eq(ds_ledger_size(l), 3);
	ck_assert_int_eq(ds_ledger_audit(zero, NULL, &total), 0);
	ck_assert_int_eq(total, 0);
	ck_assert_uint_eq(ds_ledger_size(NULL), 0);
	ds_ledger_destroy(l);
	ds_ledger_destroy(zero);
	ds_ledger_destroy(NULL);
}
END_TEST

START_TEST(test_transfer_moves_money_either_direction)
{
	const int64_t open[] = { 100, 50 };
	const int64_t after[] = { 70, 80 };
	const int64_t back[] = { 75, 75 };
	struct ds_ledger *l = make(2, open);

	ck_assert_int_eq(ds_ledger_transfer(l, 0, 1, 30), 0);
	assert_balances(l, after, 2);
	ck_assert_int_eq(ds_ledger_transfer(l, 1, 0, 5), 0);
	assert_balances(l, back, 2);
	ck_assert_int_eq(ds_ledger_transfer(l, 0, 1, 75), 0); /* to zero */
	ck_assert_int_eq(bal(l, 0), 0);
	ds_ledger_destroy(l);
}
END_TEST

START_TEST(test_transfer_errors_change_nothing)
{
	const int64_t open[] = { 10, 20, 30 };
	struct ds_ledger *l = make(3, open);
	int64_t b;

	ck_assert_int_eq(ds_ledger_transfer(l, 1, 1, 5), EINVAL);
	ck_assert_int_eq(ds_ledger_transfer(l, 0, 3, 5), ENOENT);
	ck_assert_int_eq(ds_ledger_transfer(l, 3, 0, 5), ENOENT);
	ck_assert_int_eq(ds_ledger_transfer(l, 0, 1, -5), EINVAL);
	ck_assert_int_eq(ds_ledger_transfer(l, 0, 1, 0), EINVAL);
	ck_assert_int_eq(ds_ledger_transfer(l, 0, 1, INT64_MIN), EINVAL);
	ck_assert_int_eq(ds_ledger_transfer(l, 0, 1, 11), ERANGE);
	ck_assert_int_eq(ds_ledger_transfer(l, 2, 0, INT64_MAX), ERANGE);
	ck_assert_int_eq(ds_ledger_transfer(NULL, 0, 1, 1), EINVAL);
	ck_assert_int_eq(ds_ledger_balance(l, 3, &b), ENOENT);
	ck_assert_int_eq(ds_ledger_balance(l, 0, NULL), EINVAL);
	assert_balances(l, open, 3);
	ds_ledger_destroy(l);
}
END_TEST

START_TEST(test_transfer_many_applies_every_leg)
{
	const int64_t open[] = { 100, 100, 100, 100 };
	const int64_t after[] = { 130, 60, 100, 110 };
	/* Unsorted on purpose: the ledger sorts before locking. */
	const struct ds_ledger_leg legs[] = {
		{ 3, 10 },
		{ 1, -40 },
		{ 0, 30 },
	};
	struct ds_ledger *l = make(4, open);

	ck_assert_int_eq(ds_ledger_transfer_many(l, legs, 3), 0);
	assert_balances(l, after, 4);
	ds_ledger_destroy(l);
}
END_TEST

START_TEST(test_transfer_many_is_all_or_nothing)
{
	const int64_t open[] = { 10, 10, 10 };
	const struct ds_ledger_leg short_of_funds[] = {
		{ 0, -5 },
		{ 1, -11 },
		{ 2, 16 },
	};
	const struct ds_ledger_leg unknown[] = { { 0, -1 }, { 9, 1 } };
	const struct ds_ledger_leg twice[] = { { 1, -1 }, { 1, 1 } };
	const struct ds_ledger_leg unbalanced[] = { { 0, -2 }, { 1, 1 } };
	const struct ds_ledger_leg zero[] = { { 0, 0 }, { 1, 0 } };
	const struct ds_ledger_leg minimum[] = { { 0, INT64_MIN }, { 1, 1 } };
	const struct ds_ledger_leg overflow[] = {
		{ 0, INT64_MAX },
		{ 1, INT64_MAX },
		{ 2, -1 },
	};
	struct ds_ledger_leg many[DS_LEDGER_MAX_LEGS + 1] = { { 0, 0 } };
	struct ds_ledger *l = make(3, open);
	size_t k;

	ck_assert_int_eq(ds_ledger_transfer_many(l, short_of_funds, 3), ERANGE);
	ck_assert_int_eq(ds_ledger_transfer_many(l, unknown, 2), ENOENT);
	ck_assert_int_eq(ds_ledger_transfer_many(l, twice, 2), EINVAL);
	ck_assert_int_eq(ds_ledger_transfer_many(l, unbalanced, 2), EINVAL);
	ck_assert_int_eq(ds_ledger_transfer_many(l, zero, 2), EINVAL);
	ck_assert_int_eq(ds_ledger_transfer_many(l, minimum, 2), EINVAL);
	ck_assert_int_eq(ds_ledger_transfer_many(l, overflow, 3), EOVERFLOW);
	ck_assert_int_eq(ds_ledger_transfer_many(l, unknown, 1), EINVAL);
	k = DS_LEDGER_MAX_LEGS + 1; /* too many: refused before any leg */
	ck_assert_int_eq(ds_ledger_transfer_many(l, many, k), EINVAL);
	ck_assert_int_eq(ds_ledger_transfer_many(l, NULL, 2), EINVAL);
	assert_balances(l, open, 3);
	ds_ledger_destroy(l);
}
END_TEST

START_TEST(test_audit_gives_snapshot_and_total)
{
	const int64_t open[] = { 1, 2, 3, 4, 5 };
	const int64_t after[] = { 1, 0, 5, 4, 5 };
	int64_t snap[5] = { 0 }, total = 0;
	struct ds_ledger *l = make(5, open);

	ck_assert_int_eq(ds_ledger_transfer(l, 1, 2, 2), 0);
	ck_assert_int_eq(ds_ledger_audit(l, snap, &total), 0);
	ck_assert_int_eq(total, 15);
	for (size_t i = 0; i < 5; i++)
		ck_assert_int_eq(snap[i], after[i]);
	ck_assert_int_eq(ds_ledger_audit(l, NULL, NULL), EINVAL);
	ck_assert_int_eq(ds_ledger_audit(NULL, NULL, &total), EINVAL);
	ds_ledger_destroy(l);
}
END_TEST

/* ---- threads: the stress run ------------------------------------------ */

#define STRESS_ACCOUNTS	    64
#define STRESS_OPENING	    1000
#define STRESS_MS_PER_ROUND 600 /* x 4 thread counts: 2.4 s a build */

struct stress {
	struct ds_ledger *l;
	pthread_barrier_t start;
	struct timespec deadline;
	atomic_bool failed; /* an invariant broke */
	atomic_ulong done;  /* successful operations, all threads */
};

static bool past(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec &&
		now.tv_nsec >= deadline->tv_nsec);
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A random pair transfer or a 3-leg transfer; refusals are expected. */
static int random_op(struct ds_ledger *l, uint64_t *seed)
{
	uint64_t r = next_rand(seed);
	size_t a = r % STRESS_ACCOUNTS, b = (r >> 8) % STRESS_ACCOUNTS;
	size_t c = (r >> 16) % STRESS_ACCOUNTS;
	int64_t amount = (int64_t)((r >> 24) % 300) + 1;
	struct ds_ledger_leg legs[3] = {
		{ a, -amount },
		{ b, amount / 2 },
		{ c, amount - amount / 2 },
	};

	if (r >> 60 == 0 && a != b && b != c && a != c && amount > 1)
		return ds_ledger_transfer_many(l, legs, 3);
	return ds_ledger_transfer(l, a, b, amount);
}

/* Every audit must see the opening total and no negative balance. */
static void audit_once(struct stress *s)
{
	int64_t snap[STRESS_ACCOUNTS], total = 0;

	if (ds_ledger_audit(s->l, snap, &total) ||
	    total != STRESS_ACCOUNTS * STRESS_OPENING)
		atomic_store(&s->failed, true);
	for (size_t i = 0; i < STRESS_ACCOUNTS; i++)
		if (snap[i] < 0)
			atomic_store(&s->failed, true);
}

static void *stress_worker(void *arg)
{
	struct stress *s = arg;
	uint64_t seed = (uint64_t)(uintptr_t)&seed | 1, ops = 0;

	pthread_barrier_wait(&s->start);
	while (!past(&s->deadline)) {
		int err = random_op(s->l, &seed);

		if (err && err != ERANGE && err != EINVAL)
			atomic_store(&s->failed, true);
		ops += !err;
		if (ops % 1024 == 0)
			audit_once(s);
	}
	atomic_fetch_add(&s->done, ops);
	return NULL;
}

static void stress_round(struct stress *s, int nthreads)
{
	pthread_t t[16];

	pthread_barrier_init(&s->start, NULL, (unsigned)nthreads + 1);
	clock_gettime(CLOCK_MONOTONIC, &s->deadline);
	s->deadline.tv_nsec += STRESS_MS_PER_ROUND * 1000000L;
	s->deadline.tv_sec += s->deadline.tv_nsec / 1000000000L;
	s->deadline.tv_nsec %= 1000000000L;
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, stress_worker, s);
	pthread_barrier_wait(&s->start);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&s->start);
	audit_once(s);
}

/* Runs in a child: exits 0 only when every invariant held. */
static void stress_child(void *arg)
{
	int64_t open[STRESS_ACCOUNTS];
	struct stress s = { .failed = false, .done = 0 };
	static const int rounds[] = { 2, 4, 8, 16 };

	(void)arg;
	for (size_t i = 0; i < STRESS_ACCOUNTS; i++)
		open[i] = STRESS_OPENING;
	if (ds_ledger_create(STRESS_ACCOUNTS, open, &s.l))
		exit(2);
	for (size_t i = 0; i < sizeof(rounds) / sizeof(rounds[0]); i++)
		stress_round(&s, rounds[i]);
	printf("%lu transfers\n", (unsigned long)atomic_load(&s.done));
	ds_ledger_destroy(s.l);
	exit(atomic_load(&s.failed) || atomic_load(&s.done) == 0 ? 1 : 0);
}

START_TEST(test_stress_conserves_total_silently)
{
	const char *const env[] = { "LOCKCHECK_ACTION=abort", NULL };
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(stress_child, NULL, env, &c), &c);
	if (!lct_exited_with(&c, 0) || lct_count_all_reports(&c))
		lct_child_dump(&c, "ledger stress");
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 0);
	lct_child_free(&c);
}
END_TEST

/* ---- lockcheck: the order is really checked --------------------------- */

struct naive_bank {
	lc_mutex_t lock[2];
	int64_t balance[2];
};

/* The bug ds_ledger avoids: lock `from`, then `to`, whatever their ids. */
static void naive_transfer(struct naive_bank *b, int from, int to, int64_t amt)
{
	lc_mutex_lock(&b->lock[from]);
	lc_mutex_lock(&b->lock[to]);
	b->balance[from] -= amt;
	b->balance[to] += amt;
	lc_mutex_unlock(&b->lock[to]);
	lc_mutex_unlock(&b->lock[from]);
}

static void naive_bank_init(struct naive_bank *b, bool keyed)
{
	for (int i = 0; i < 2; i++) {
		lc_mutex_init(&b->lock[i], "naive.account");
		if (keyed)
			lc_mutex_set_order(&b->lock[i], (uint64_t)i);
		b->balance[i] = 100;
	}
}

/* Both directions once, one thread, so nothing can really deadlock. */
static void naive_child(void *arg)
{
	struct naive_bank b;

	naive_bank_init(&b, arg != NULL);
	naive_transfer(&b, 0, 1, 10);
	naive_transfer(&b, 1, 0, 10);
	for (int i = 0; i < 2; i++)
		lc_mutex_destroy(&b.lock[i]);
}

static void expect_naive_report(bool keyed, const char *kind)
{
	struct lct_child c;

	LCT_ASSERT_RAN(
		lct_run_fn(naive_child, keyed ? "keyed" : NULL, NULL, &c), &c);
	if (!lct_exited_with(&c, LOCKCHECK ? LCT_FINDING_EXIT : 0) ||
	    lct_count_reports(&c, kind) != (LOCKCHECK ? 1u : 0u))
		lct_child_dump(&c, kind);
	LCT_ASSERT_EXITED(&c, LOCKCHECK ? LCT_FINDING_EXIT : 0);
	LCT_ASSERT_REPORTS(&c, kind, LOCKCHECK ? 1 : 0);
	LCT_ASSERT_CHILD(&c,
			 (lct_count_all_reports(&c)) == (LOCKCHECK ? 1 : 0));
	lct_child_free(&c);
}

START_TEST(test_naive_keyed_transfer_is_an_order_violation)
{
	expect_naive_report(true, "order-violation");
}
END_TEST

START_TEST(test_naive_unkeyed_transfer_is_a_cycle)
{
	expect_naive_report(false, "lock-order-cycle");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ledger");
	TCase *core = tcase_create("core");
	TCase *threads = tcase_create("threads");
	TCase *checker = tcase_create("lockcheck");

	tcase_add_test(core, test_create_rejects_bad_arguments);
	tcase_add_test(core, test_opening_balances_are_kept);
	tcase_add_test(core, test_transfer_moves_money_either_direction);
	tcase_add_test(core, test_transfer_errors_change_nothing);
	tcase_add_test(core, test_transfer_many_applies_every_leg);
	tcase_add_test(core, test_transfer_many_is_all_or_nothing);
	tcase_add_test(core, test_audit_gives_snapshot_and_total);
	tcase_set_timeout(threads, 120);
	tcase_add_test(threads, test_stress_conserves_total_silently);
	tcase_add_test(checker,
		       test_naive_keyed_transfer_is_an_order_violation);
	tcase_add_test(checker, test_naive_unkeyed_transfer_is_a_cycle);
	suite_add_tcase(s, core);
	suite_add_tcase(s, threads);
	suite_add_tcase(s, checker);
	return lct_run_suite(s);
}
