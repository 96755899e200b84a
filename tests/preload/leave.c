/*
 * leave.c: a program that leaves through _exit (or _Exit, or exit) with
 * status 3, after an AB-BA inversion when asked ("cycle"). The dump must
 * be written all the same, and the status be 66 after a finding.
 *   leave _exit|_Exit|exit [cycle]
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t first = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t second = PTHREAD_MUTEX_INITIALIZER;

static void pair(pthread_mutex_t *x, pthread_mutex_t *y)
{
	pthread_mutex_lock(x);
	pthread_mutex_lock(y);
	pthread_mutex_unlock(y);
	pthread_mutex_unlock(x);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	pair(&first, &second);
	if (argc > 2 && strcmp(argv[2], "cycle") == 0)
		pair(&second, &first);
	if (strcmp(argv[1], "_exit") == 0)
		_exit(3);
	if (strcmp(argv[1], "_Exit") == 0)
		_Exit(3);
	exit(3);
}
