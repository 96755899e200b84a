/*
 * foreign_unlock.c: a mutex locked by one thread and unlocked by another
 * (undefined for a normal mutex; glibc does it). The checker reports
 * unlock-not-held and refuses it, as the compiled-in checker does: EPERM,
 * the mutex left locked (a trylock then finds it busy).
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
	printf("trylock: %d\n", pthread_mutex_trylock(&gate));
	puts("done");
	return 0;
}
