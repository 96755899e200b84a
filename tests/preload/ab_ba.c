/*
 * ab_ba.c: an AB-BA lock-order inversion in a program that knows nothing
 * of the checker. lock_a is a static mutex (classed by its variable),
 * lock_b is initialised by pthread_mutex_init in make_b (classed by that
 * call), and the heap mutex c is never initialised (classed by its first
 * lock call). Thread one takes a then b then c; thread two, after one has
 * finished, takes c then a: two cycles, found without a hang.
 * With "twin" as argument both threads take the locks in one order.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b;
static pthread_mutex_t *c;
static int twin;

__attribute__((noinline)) static void make_b(void)
{
	pthread_mutex_init(&lock_b, NULL);
}

static void *one(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock_a);
	pthread_mutex_lock(&lock_b);
	pthread_mutex_lock(c);
	pthread_mutex_unlock(c);
	pthread_mutex_unlock(&lock_b);
	pthread_mutex_unlock(&lock_a);
	return NULL;
}

static void *two(void *arg)
{
	(void)arg;
	if (twin) {
		pthread_mutex_lock(&lock_a);
		pthread_mutex_lock(c);
		pthread_mutex_unlock(c);
		pthread_mutex_unlock(&lock_a);
		pthread_mutex_lock(&lock_b);
		pthread_mutex_lock(c);
		pthread_mutex_unlock(c);
		pthread_mutex_unlock(&lock_b);
		return NULL;
	}
	pthread_mutex_lock(c);
	pthread_mutex_lock(&lock_a);
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(c);
	pthread_mutex_lock(&lock_b);
	pthread_mutex_lock(&lock_a);
	pthread_mutex_unlock(&lock_a);
	pthread_mutex_unlock(&lock_b);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t t;

	twin = argc > 1 && strcmp(argv[1], "twin") == 0;
	c = calloc(1, sizeof(*c)); /* zeroes: a default mutex, unlocked */
	if (!c)
		return 1;
	make_b();
	if (pthread_create(&t, NULL, one, NULL) || pthread_join(t, NULL))
		return 1;
	if (pthread_create(&t, NULL, two, NULL) || pthread_join(t, NULL))
		return 1;
	puts("done");
	return 0;
}
