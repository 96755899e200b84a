/*
 * early_main.c: takes libearly's locks inner -> outer, after its
 * constructor took them outer -> inner: a cycle only a checker that saw
 * the constructor's locks can report.
 */
#include <pthread.h>
#include <stdio.h>

extern pthread_mutex_t early_outer, early_inner;

int main(void)
{
	pthread_mutex_lock(&early_inner);
	pthread_mutex_lock(&early_outer);
	pthread_mutex_unlock(&early_outer);
	pthread_mutex_unlock(&early_inner);
	puts("done");
	return 0;
}
