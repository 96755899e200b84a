/*
 * trylock.c: thread one takes a then b; thread two, holding b, only
 * tries a (and backs off when busy). A trylock never waits, so this
 * cannot deadlock: no edge b -> a, no report (Helgrind reports it).
 */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;

static void *one(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&a);
	pthread_mutex_lock(&b);
	pthread_mutex_unlock(&b);
	pthread_mutex_unlock(&a);
	return NULL;
}

static void *two(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&b);
	if (pthread_mutex_trylock(&a) == 0)
		pthread_mutex_unlock(&a);
	pthread_mutex_unlock(&b);
	return NULL;
}

int main(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, one, NULL) || pthread_join(t, NULL))
		return 1;
	if (pthread_create(&t, NULL, two, NULL) || pthread_join(t, NULL))
		return 1;
	puts("done");
	return 0;
}
