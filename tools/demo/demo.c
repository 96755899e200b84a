/*
 * demo.c: until the full demo lands, a small lock-order bug the checker
 * catches: two threads, each taking the same two locks in opposite orders,
 * stepped so that they never actually deadlock.
 */
#include <pthread.h>
#include <stdio.h>

#include "lockcheck/lockcheck.h"

static lc_mutex_t accounts = LC_MUTEX_INITIALIZER("accounts");
static lc_mutex_t audit_log = LC_MUTEX_INITIALIZER("audit_log");

static void *teller(void *arg)
{
	(void)arg;
	lc_thread_set_name("teller");
	lc_mutex_lock(&accounts);
	lc_mutex_lock(&audit_log);
	lc_mutex_unlock(&audit_log);
	lc_mutex_unlock(&accounts);
	return NULL;
}

static void *auditor(void *arg)
{
	(void)arg;
	lc_thread_set_name("auditor");
	lc_mutex_lock(&audit_log);
	lc_mutex_lock(&accounts);
	lc_mutex_unlock(&accounts);
	lc_mutex_unlock(&audit_log);
	return NULL;
}

int main(void)
{
	pthread_t t;

	printf("teller takes accounts then audit_log; auditor the reverse.\n");
	pthread_create(&t, NULL, teller, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, auditor, NULL);
	pthread_join(t, NULL);
	printf("no deadlock happened, yet the checker saw that one could.\n");
	return 0;
}
