/*
 * foreign_unlock.c: a mutex locked by one thread and unlocked by another
 * (undefined for a normal mutex, yet glibc does it, and programs use it as
 * a binary semaphore). The checker reports unlock-not-held, and the
 * unlock is made all the same: main locks the mutex again afterwards,
 * which would hang if it had been refused.
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static void *take(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&gate);
	return NULL;
}

int main(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, take, NULL) || pthread_join(t, NULL))
		return 1;
	printf("unlock by main: %d\n", pthread_mutex_unlock(&gate));
	pthread_mutex_lock(&gate);
	pthread_mutex_unlock(&gate);
	puts("done");
	return 0;
}
