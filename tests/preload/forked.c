/*
 * forked.c: the parent takes a then b (with a second thread running, which
 * holds neither) and forks; the child takes b then a. The child inherits
 * the parent's lock graph, so its inversion is reported in the child
 * (status 66), and the parent, which saw none, exits 0 after printing the
 * child's status.
 */
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t idle = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t stop = PTHREAD_COND_INITIALIZER;
static int stopping;

static void *sleeper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&idle);
	while (!stopping)
		pthread_cond_wait(&stop, &idle);
	pthread_mutex_unlock(&idle);
	return NULL;
}

int main(void)
{
	pthread_t t;
	pid_t pid;
	int status;

	if (pthread_create(&t, NULL, sleeper, NULL))
		return 1;
	pthread_mutex_lock(&a);
	pthread_mutex_lock(&b);
	pthread_mutex_unlock(&b);
	pthread_mutex_unlock(&a);
	pid = fork();
	if (pid == 0) {
		pthread_mutex_lock(&b);
		pthread_mutex_lock(&a);
		pthread_mutex_unlock(&a);
		pthread_mutex_unlock(&b);
		return 0;
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	printf("child status %d\n",
	       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	pthread_mutex_lock(&idle);
	stopping = 1;
	pthread_cond_signal(&stop);
	pthread_mutex_unlock(&idle);
	pthread_join(t, NULL);
	return 0;
}
