/*
 * lockgraph_run.c: runs a command and prints "WALL_S CPU_S PEAK_RSS_KB
 * EXIT" on stderr: wall-clock time, the child's user + system CPU time and
 * its peak resident set (wait4's rusage), so bench/lockgraph.sh needs no
 * /usr/bin/time. CPU time is the steadier number on a shared machine. The
 * command's stdout goes to /dev/null.
 *
 *   lockgraph_run COMMAND [ARG...]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double seconds(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	double t0 = now();
	int status = 0;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: lockgraph_run COMMAND [ARG...]\n");
		return 2;
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execvp(argv[1], argv + 1);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return 2;
	fprintf(stderr, "%.3f %.3f %ld %d\n", now() - t0,
		seconds(&ru.ru_utime) + seconds(&ru.ru_stime), ru.ru_maxrss,
		WIFEXITED(status) ? WEXITSTATUS(status)
				  : 128 + WTERMSIG(status));
	return 0;
}
