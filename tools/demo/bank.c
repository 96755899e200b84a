/*
 * bank.c: the same load twice. Tellers move money between accounts at
 * random. The naive bank locks the paying account, then the receiving one:
 * two tellers paying each other's accounts at the same moment deadlock. The
 * checker sees the first pair of accounts taken in both orders and reports
 * it before anything blocks (the narrator runs this scene with
 * LOCKCHECK_ACTION=abort, so the report ends it: it can never hang).
 * ds_ledger carries the same load, locking in id order: silent, and the
 * total is conserved.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"
#include "ds/ledger.h"
#include "lockcheck/lockcheck.h"

struct naive_account {
	lc_mutex_t lock;
	int64_t balance;
};

static struct naive_account naive[BANK_ACCOUNTS];

/* The bug: the lock order depends on the direction of the payment. */
static void naive_transfer(size_t from, size_t to, int64_t amount)
{
	lc_mutex_lock(&naive[from].lock);
	lc_mutex_lock(&naive[to].lock);
	if (naive[from].balance >= amount) {
		naive[from].balance -= amount;
		naive[to].balance += amount;
	}
	lc_mutex_unlock(&naive[to].lock);
	lc_mutex_unlock(&naive[from].lock);
}

struct teller {
	int id;
	struct ds_ledger *ledger; /* NULL: the naive bank */
	long done, refused;
};

static void *teller_main(void *arg)
{
	struct teller *t = arg;
	uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(t->id + 1);
	char name[16];

	snprintf(name, sizeof(name), "teller-%d", t->id);
	lc_thread_set_name(name);
	for (int i = 0; i < BANK_TRANSFERS; i++) {
		size_t from = demo_rand(&rng) % BANK_ACCOUNTS;
		size_t to = demo_rand(&rng) % BANK_ACCOUNTS;
		int64_t amount = 1 + (int64_t)(demo_rand(&rng) % 100);

		if (from == to)
			continue;
		if (!t->ledger)
			naive_transfer(from, to, amount);
		else if (ds_ledger_transfer(t->ledger, from, to, amount))
			t->refused++; /* insufficient funds */
		else
			t->done++;
	}
	return NULL;
}

/* Runs the tellers; *done and *refused sum their transfers. */
static void run_tellers(struct ds_ledger *ledger, long *done, long *refused)
{
	struct teller t[BANK_TELLERS];
	pthread_t th[BANK_TELLERS];

	*done = *refused = 0;
	for (int i = 0; i < BANK_TELLERS; i++) {
		t[i] = (struct teller){ i + 1, ledger, 0, 0 };
		pthread_create(&th[i], NULL, teller_main, &t[i]);
	}
	for (int i = 0; i < BANK_TELLERS; i++) {
		pthread_join(th[i], NULL);
		*done += t[i].done;
		*refused += t[i].refused;
	}
}

int demo_naive_bank(void)
{
	long done, refused;

	for (int i = 0; i < BANK_ACCOUNTS; i++) {
		lc_mutex_init(&naive[i].lock, "bank.account");
		naive[i].balance = BANK_OPENING;
	}
	run_tellers(NULL, &done, &refused);
	say("the naive bank finished without the checker noticing (a bug!)");
	return 0;
}

int demo_ledger_bank(void)
{
	int64_t opening[BANK_ACCOUNTS], before, after;
	struct ds_ledger *ledger;
	long done, refused;

	for (int i = 0; i < BANK_ACCOUNTS; i++)
		opening[i] = BANK_OPENING;
	if (ds_ledger_create(BANK_ACCOUNTS, opening, &ledger))
		return 1;
	ds_ledger_audit(ledger, NULL, &before);
	run_tellers(ledger, &done, &refused);
	ds_ledger_audit(ledger, NULL, &after);
	say("%d tellers made %ld transfers (%ld refused: insufficient funds)",
	    BANK_TELLERS, done, refused);
	say("total before %lld, after %lld: %s", (long long)before,
	    (long long)after, before == after ? "conserved" : "LOST MONEY");
	ds_ledger_destroy(ledger);
	return before == after ? 0 : 1;
}
