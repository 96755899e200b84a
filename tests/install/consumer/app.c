/*
 * app.c: a program built outside Bazel against an installed lockcheck (the
 * Makefile and CMakeLists.txt next to it). It uses two of the structures and
 * prints what they hold, then takes two locks in both orders: alpha then
 * beta in one thread, beta then alpha in the next (the first is joined
 * before the second starts, so it never hangs). Built plain it is silent on
 * stderr; built checked the second thread closes the cycle alpha <-> beta
 * and the checker reports it.
 */
#include <ds/ledger.h>
#include <ds/rwmap.h>
#include <lockcheck/lockcheck.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

static lc_mutex_t alpha = LC_MUTEX_INITIALIZER("alpha");
static lc_mutex_t beta = LC_MUTEX_INITIALIZER("beta");

static void *take_in_order(void *first_alpha)
{
	lc_mutex_t *first = first_alpha ? &alpha : &beta;
	lc_mutex_t *second = first_alpha ? &beta : &alpha;

	lc_thread_set_name(first_alpha ? "alpha-beta" : "beta-alpha");
	lc_mutex_lock(first);
	lc_mutex_lock(second);
	lc_mutex_unlock(second);
	lc_mutex_unlock(first);
	return NULL;
}

static int run_thread(int first_alpha)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, take_in_order,
				 first_alpha ? &alpha : NULL);

	return err ? err : pthread_join(t, NULL);
}

/* Moves money around three accounts; prints the audited total. */
static int use_ledger(void)
{
	const int64_t open[3] = { 100, 100, 100 };
	struct ds_ledger *l;
	int64_t total = 0, first = 0;
	int err = ds_ledger_create(3, open, &l);

	if (err)
		return err;
	err = ds_ledger_transfer(l, 0, 2, 40);
	if (!err)
		err = ds_ledger_audit(l, NULL, &total);
	if (!err)
		err = ds_ledger_balance(l, 0, &first);
	ds_ledger_destroy(l);
	if (!err)
		printf("ledger: account 0 has %lld, total %lld\n",
		       (long long)first, (long long)total);
	return err;
}

/* Stores one entry and reads it back. */
static int use_rwmap(void)
{
	ds_rwmap_t *m;
	char value[16] = "";
	int err = ds_rwmap_create(&m, NULL);

	if (err)
		return err;
	err = ds_rwmap_put(m, "key", 3, "value", 6);
	if (!err)
		err = ds_rwmap_get(m, "key", 3, value, sizeof(value), NULL);
	if (!err)
		printf("rwmap: %zu entry, key -> %s\n", ds_rwmap_size(m),
		       value);
	ds_rwmap_destroy(m);
	return err;
}

int main(void)
{
	int err = use_ledger();

	if (!err)
		err = use_rwmap();
	if (!err)
		err = run_thread(1);
	if (!err)
		err = run_thread(0);
	if (err) {
		fprintf(stderr, "app: %s\n", strerror(err));
		return 1;
	}
	printf("locks: both orders taken\n");
	return 0;
}
