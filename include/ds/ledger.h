/*
 * ledger.h: accounts that move money between themselves, lock-ordered.
 *
 * Model. A ledger holds n accounts, ids 0 .. n-1, each with a balance in
 * integer units (cents, say) that never goes below zero. Money only moves:
 * every operation takes from some accounts exactly what it gives to others,
 * so the total of all balances stays what it was at creation under any
 * concurrent load.
 *
 * Locking. Each account has its own lc_mutex_t whose order key is its id
 * (lc_mutex_set_order), all of one lock class "ds_ledger.account". An
 * operation that touches several accounts locks them in ascending id order,
 * so no two operations can wait on each other in a cycle; in a LOCKCHECK=1
 * build the checker verifies that order on every acquisition. Transfers
 * between disjoint pairs of accounts run in parallel. No user callback is
 * ever called.
 *
 * Errors. Every int-returning function returns 0 or a positive errno value
 * and changes nothing when it fails:
 *   EINVAL     a NULL pointer, a self transfer, an amount or delta that is
 *              zero, negative (for an amount) or INT64_MIN, legs that do
 *              not sum to zero, an account named twice, too many legs
 *   ENOENT     an account id >= the number of accounts
 *   ERANGE     insufficient funds: a balance would go below zero
 *   EOVERFLOW  a sum or a balance would not fit in int64_t
 *   ENOMEM     out of memory (creation only)
 *   EAGAIN     an account's lock could not be initialised (creation only)
 *
 * Thread safety: every function may be called from any thread at any time,
 * except ds_ledger_destroy, which needs all other calls to have returned.
 *
 * Failures, the rule of every ds/ header: a call returns an errno value
 * for what correct use can meet (bad arguments, the states and misuses
 * listed with each function, running out of memory, threads or file
 * descriptors; creation also returns EAGAIN or ENOMEM when a lock or
 * condition variable cannot be initialised) and leaves the structure
 * consistent, unchanged unless its function says otherwise. A lock, unlock
 * or wait on the structure's own locks cannot fail in correct use: if one
 * does, that is a bug in ds/ or a broken REQUIRES, and assert() stops the
 * program; it is never returned.
 */
#ifndef DS_LEDGER_H
#define DS_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ds_ledger ds_ledger_t;

/* One account's part in ds_ledger_transfer_many: delta < 0 debits it,
 * delta > 0 credits it. */
struct ds_ledger_leg {
	size_t account; /* account id */
	int64_t delta;	/* signed change of its balance, never 0 */
};

/* Most legs one ds_ledger_transfer_many may have (they are sorted on the
 * stack: no allocation on any transfer path). */
#define DS_LEDGER_MAX_LEGS 64

/*
 * Creates a ledger of n accounts. balances[i] is account i's opening
 * balance; balances NULL opens every account at 0. On success *out owns
 * the ledger (free it with ds_ledger_destroy).
 * Returns 0; EINVAL when out is NULL, n is 0, a balance is negative or
 * their sum does not fit in int64_t; ENOMEM when out of memory (or when n
 * accounts could never fit in memory); EAGAIN (or ENOMEM) when an
 * account's lock cannot be initialised. *out is untouched on failure, and
 * nothing is left behind.
 */
int ds_ledger_create(size_t n, const int64_t *balances, struct ds_ledger **out);

/* Frees the ledger. NULL is fine. REQUIRES: no other call on it is running
 * or will start. */
void ds_ledger_destroy(struct ds_ledger *l);

/* Number of accounts; 0 for NULL. */
size_t ds_ledger_size(const struct ds_ledger *l);

/* Copies account id's balance into *balance. Returns 0, ENOENT for an
 * unknown id, EINVAL for NULL pointers. */
int ds_ledger_balance(struct ds_ledger *l, size_t id, int64_t *balance);

/*
 * Moves amount from account `from` to account `to`, or does nothing.
 * Locks the lower id first. Returns 0; ENOENT for an unknown id; EINVAL for
 * from == to or amount <= 0; ERANGE when `from` holds less than amount;
 * EOVERFLOW when `to` would overflow.
 */
int ds_ledger_transfer(struct ds_ledger *l, size_t from, size_t to,
		       int64_t amount);

/*
 * Applies k legs at once, all or nothing: either every balance changes by
 * its leg's delta or none changes. The deltas must sum to exactly zero and
 * name each account at most once; 2 <= k <= DS_LEDGER_MAX_LEGS. The
 * accounts are locked in ascending id order whatever the order of legs.
 * Returns 0 or, changing nothing: EINVAL (NULL legs, k out of range, a zero
 * or INT64_MIN delta, an account named twice, a non-zero sum), ENOENT (an
 * unknown id), EOVERFLOW (the deltas' sum or a credited balance would
 * overflow), ERANGE (a debit exceeds its account's balance).
 */
int ds_ledger_transfer_many(struct ds_ledger *l,
			    const struct ds_ledger_leg *legs, size_t k);

/*
 * A consistent snapshot: holds every account's lock at once (ascending ids)
 * while reading, so no transfer is seen half done. Writes the sum of all
 * balances to *total (always the opening total) and, when balances is not
 * NULL, every balance to balances[0 .. n-1]. Transfers wait while it runs:
 * call it to check, not on a hot path. In LOCKCHECK=1 builds it holds n
 * locks at once: keep n within the checker's per-thread limit
 * (LOCKCHECK_MAX_HELD, 65,536 by default). Returns 0, EINVAL for NULL
 * l/total.
 */
int ds_ledger_audit(struct ds_ledger *l, int64_t *balances, int64_t *total);

#ifdef __cplusplus
}
#endif

#endif /* DS_LEDGER_H */
