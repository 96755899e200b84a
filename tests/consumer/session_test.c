/*
 * session_test.c (consumer workspace): a lock-order bug between two locks
 * initialised on one line. One thread takes conn then state, another state
 * then conn, one after the other: it never hangs here, but the checker
 * reports the cycle and the test fails (exit 66).
 */
#include <pthread.h>

#include "lockcheck/lockcheck.h"

struct session {
	lc_mutex_t conn, state;
};

static struct session s;

static void *connect_then_update(void *arg)
{
	(void)arg;
	lc_mutex_lock(&s.conn);
	lc_mutex_lock(&s.state);
	lc_mutex_unlock(&s.state);
	lc_mutex_unlock(&s.conn);
	return NULL;
}

static void *update_then_reconnect(void *arg)
{
	(void)arg;
	lc_mutex_lock(&s.state);
	lc_mutex_lock(&s.conn);
	lc_mutex_unlock(&s.conn);
	lc_mutex_unlock(&s.state);
	return NULL;
}

int main(void)
{
	pthread_t t;

	/* two init calls on one line (the consumer's case) */
	/* clang-format off */
	lc_mutex_init(&s.conn, "session.conn"); lc_mutex_init(&s.state, "session.state");
	/* clang-format on */
	pthread_create(&t, NULL, connect_then_update, NULL);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, update_then_reconnect, NULL);
	pthread_join(t, NULL);
	return 0;
}
