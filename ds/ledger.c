/*
 * ledger.c: per-account locks taken in ascending id order.
 *
 * Model: an array of accounts, each a cache line holding its lock and its
 * balance. The array and n never change after creation, so ids are checked
 * without a lock; a balance is read or written only under its account's
 * lock.
 *
 * Invariants:
 * - every balance is >= 0;
 * - the sum of all balances is l->total (fixed at creation, fits int64_t);
 * - a thread holding several account locks took them in ascending id
 *   order (the lock's order key is the id, so LOCKCHECK=1 builds report
 *   any other order as an order-violation);
 * - every check that can fail is done before the first balance changes,
 *   with every lock needed already held: a failed operation changes nothing.
 * Because the total is conserved and fits int64_t, a credit cannot overflow
 * in practice; the check stays, so the contract does not lean on that.
 * The first three are asserted where that is cheap: a balance wherever it
 * changes or is read, the total by ds_ledger_audit (which holds every
 * lock), the order of ds_ledger_transfer_many's locks as it takes them.
 */
#include "ds/ledger.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "must.h"

#define ACCOUNT_ALIGN 64 /* one account per cache line: no false sharing */

struct account {
	_Alignas(ACCOUNT_ALIGN) lc_mutex_t lock;
	int64_t balance; /* lock protects it */
};

struct ds_ledger {
	size_t n;	      /* number of accounts, fixed */
	int64_t total;	      /* sum of balances, conserved */
	struct account *acct; /* n accounts, id = index */
};

/* Sums the opening balances; EINVAL on a negative one or an overflow. */
static int opening_total(size_t n, const int64_t *balances, int64_t *total)
{
	int64_t sum = 0;

	for (size_t i = 0; balances && i < n; i++) {
		if (balances[i] < 0 || balances[i] > INT64_MAX - sum)
			return EINVAL;
		sum += balances[i];
	}
	*total = sum;
	return 0;
}

static void destroy_accounts(struct account *acct, size_t n)
{
	for (size_t i = 0; i < n; i++)
		DS__MUST(lc_mutex_destroy(&acct[i].lock));
	lc_unguard(acct, n * sizeof(*acct));
	free(acct);
}

/* All accounts share one lock class (one init site); the id orders them. */
static int init_accounts(struct account *acct, size_t n,
			 const int64_t *balances)
{
	for (size_t i = 0; i < n; i++) {
		int err = lc_mutex_init(&acct[i].lock, "ds_ledger.account");

		if (ds__init_result(err)) {
			destroy_accounts(acct, i);
			return err;
		}
		DS__MUST(lc_mutex_set_order(&acct[i].lock, i));
		acct[i].balance = balances ? balances[i] : 0;
		/* Checked in LOCKCHECK=1 builds; when the declaration cannot
		 * be stored (no memory) the balance goes unchecked. */
		(void)lc_guard(&acct[i].balance, sizeof(acct[i].balance),
			       &acct[i].lock);
	}
	return 0;
}

int ds_ledger_create(size_t n, const int64_t *balances, struct ds_ledger **out)
{
	struct ds_ledger *l;
	void *mem = NULL;
	int err;

	if (!out || n == 0)
		return EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return ENOMEM;
	err = opening_total(n, balances, &l->total);
	if (!err && n > SIZE_MAX / sizeof(struct account))
		err = ENOMEM;
	if (!err && posix_memalign(&mem, ACCOUNT_ALIGN, n * sizeof(*l->acct)))
		err = ENOMEM;
	if (!err)
		err = init_accounts(mem, n, balances); /* frees mem on error */
	if (err) {
		free(l);
		return err;
	}
	l->n = n;
	l->acct = mem;
	*out = l;
	return 0;
}

void ds_ledger_destroy(struct ds_ledger *l)
{
	if (!l)
		return;
	destroy_accounts(l->acct, l->n);
	free(l);
}

size_t ds_ledger_size(const struct ds_ledger *l)
{
	return l ? l->n : 0;
}

int ds_ledger_balance(struct ds_ledger *l, size_t id, int64_t *balance)
{
	struct account *a;

	if (!l || !balance)
		return EINVAL;
	if (id >= l->n)
		return ENOENT;
	a = &l->acct[id];
	DS__MUST(lc_mutex_lock(&a->lock));
	*balance = LC_READ(a->balance);
	assert(*balance >= 0);
	DS__MUST(lc_mutex_unlock(&a->lock));
	return 0;
}

/* Whether the account can take delta (either sign): 0, ERANGE, EOVERFLOW. */
static int check_delta_locked(struct account *a, int64_t delta)
{
	int64_t balance;

	lc_assert_held(&a->lock);
	balance = LC_READ(a->balance);
	if (delta < 0 && balance < -delta)
		return ERANGE;
	if (delta > 0 && balance > INT64_MAX - delta)
		return EOVERFLOW;
	return 0;
}

static int move_locked(struct account *src, struct account *dst, int64_t amount)
{
	int err;

	lc_assert_held(&src->lock);
	lc_assert_held(&dst->lock);
	err = check_delta_locked(src, -amount);
	if (!err)
		err = check_delta_locked(dst, amount);
	if (err)
		return err;
	LC_WRITE(src->balance, src->balance - amount);
	LC_WRITE(dst->balance, dst->balance + amount);
	assert(src->balance >= 0 && dst->balance >= 0);
	return 0;
}

int ds_ledger_transfer(struct ds_ledger *l, size_t from, size_t to,
		       int64_t amount)
{
	struct account *lo, *hi;
	int err;

	if (!l)
		return EINVAL;
	if (from >= l->n || to >= l->n)
		return ENOENT;
	if (from == to || amount <= 0)
		return EINVAL;
	lo = &l->acct[from < to ? from : to];
	hi = &l->acct[from < to ? to : from];
	DS__MUST(lc_mutex_lock(&lo->lock));
	DS__MUST(lc_mutex_lock(&hi->lock));
	err = move_locked(&l->acct[from], &l->acct[to], amount);
	DS__MUST(lc_mutex_unlock(&hi->lock));
	DS__MUST(lc_mutex_unlock(&lo->lock));
	return err;
}

/* Checks one leg on its own: a known id and a usable delta. */
static int check_leg(const struct ds_ledger *l, const struct ds_ledger_leg *g)
{
	if (g->account >= l->n)
		return ENOENT;
	if (g->delta == 0 || g->delta == INT64_MIN)
		return EINVAL;
	return 0;
}

/* Checks the legs that need no lock: ids, deltas, a zero sum. */
static int check_legs(const struct ds_ledger *l,
		      const struct ds_ledger_leg *legs, size_t k)
{
	int64_t sum = 0;

	for (size_t i = 0; i < k; i++) {
		int64_t d = legs[i].delta;
		int err = check_leg(l, &legs[i]);

		if (err)
			return err;
		if ((d > 0 && sum > INT64_MAX - d) ||
		    (d < 0 && sum < INT64_MIN - d))
			return EOVERFLOW;
		sum += d;
	}
	return sum == 0 ? 0 : EINVAL;
}

/* Sorts the legs by account id into sorted[]: insertion sort, k is small.
 * Returns EINVAL when an account is named twice. */
static int sort_legs(const struct ds_ledger_leg *legs, size_t k,
		     struct ds_ledger_leg *sorted)
{
	for (size_t i = 0; i < k; i++) {
		size_t j = i;

		while (j > 0 && sorted[j - 1].account > legs[i].account) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		if (j > 0 && sorted[j - 1].account == legs[i].account)
			return EINVAL;
		sorted[j] = legs[i];
	}
	return 0;
}

/* With every leg's account locked (check_delta_locked asserts each): check
 * all, then apply all. */
static int apply_legs_locked(struct ds_ledger *l,
			     const struct ds_ledger_leg *sorted, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		int err = check_delta_locked(&l->acct[sorted[i].account],
					     sorted[i].delta);
		if (err)
			return err;
	}
	for (size_t i = 0; i < k; i++) {
		struct account *a = &l->acct[sorted[i].account];

		LC_WRITE(a->balance, a->balance + sorted[i].delta);
		assert(a->balance >= 0);
	}
	return 0;
}

/* Thread Safety Analysis cannot follow locks taken in a loop: this and
 * the audit opt out of it. */
LC_NO_THREAD_SAFETY_ANALYSIS
int ds_ledger_transfer_many(struct ds_ledger *l,
			    const struct ds_ledger_leg *legs, size_t k)
{
	struct ds_ledger_leg sorted[DS_LEDGER_MAX_LEGS];
	int err;

	if (!l || !legs || k < 2 || k > DS_LEDGER_MAX_LEGS)
		return EINVAL;
	err = check_legs(l, legs, k);
	if (!err)
		err = sort_legs(legs, k, sorted);
	if (err)
		return err;
	for (size_t i = 0; i < k; i++) {
		assert(i == 0 || sorted[i - 1].account < sorted[i].account);
		DS__MUST(lc_mutex_lock(&l->acct[sorted[i].account].lock));
	}
	err = apply_legs_locked(l, sorted, k);
	for (size_t i = k; i-- > 0;)
		DS__MUST(lc_mutex_unlock(&l->acct[sorted[i].account].lock));
	return err;
}

LC_NO_THREAD_SAFETY_ANALYSIS
int ds_ledger_audit(struct ds_ledger *l, int64_t *balances, int64_t *total)
{
	int64_t sum = 0;

	if (!l || !total)
		return EINVAL;
	for (size_t i = 0; i < l->n; i++)
		DS__MUST(lc_mutex_lock(&l->acct[i].lock));
	for (size_t i = 0; i < l->n; i++) {
		int64_t balance = LC_READ(l->acct[i].balance);

		assert(balance >= 0);
		sum += balance;
		if (balances)
			balances[i] = balance;
	}
	assert(sum == l->total); /* conserved: every lock is held */
	for (size_t i = l->n; i-- > 0;)
		DS__MUST(lc_mutex_unlock(&l->acct[i].lock));
	*total = sum;
	return 0;
}

#ifdef DS_WITHOUT_LOCK_LEDGER
/* DELIBERATELY BROKEN, built only into ds/BUILD's :without_lock_ledger for
 * tests/ledger_race_test.c: a balance read without its account's lock, the
 * race a LOCKCHECK=1 build must report. */
int64_t ds__ledger_balance_without_lock(struct ds_ledger *l, size_t id);
int64_t ds__ledger_balance_without_lock(struct ds_ledger *l, size_t id)
{
	return LC_READ(l->acct[id].balance); /* no lock: the bug */
}
#endif
