/*
 * early_lib.c: a shared library whose constructor takes two locks, in
 * the order outer -> inner, before main runs (and maybe before the
 * preload's own constructor). early_main.c takes them the other way.
 */
#include <pthread.h>

pthread_mutex_t early_outer = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t early_inner = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void take_both(void)
{
	pthread_mutex_lock(&early_outer);
	pthread_mutex_lock(&early_inner);
	pthread_mutex_unlock(&early_inner);
	pthread_mutex_unlock(&early_outer);
}
