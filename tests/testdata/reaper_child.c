/*
 * reaper_child.c: a child process that ends the way a reaper test asks.
 *
 *   reaper_child exit N       exits with status N
 *   reaper_child signal N     dies of signal N (default action restored)
 *   reaper_child wait-fd N    reads fd N until end of file, then exits 0
 *                             (the test holds the write end: closing it is
 *                             the go signal, so no timing is involved)
 *   reaper_child pause        waits for a signal forever
 *   reaper_child spin MS      burns MS ms of CPU time, then exits 0
 *   reaper_child rss MB       touches MB MiB of memory, then exits 0
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int wait_fd(int fd)
{
	char buf[64];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0)
		if (n < 0)
			return 3;
	return 0;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int spin(long ms)
{
	volatile unsigned long x = 0;
	double start = cpu_ms();

	while (cpu_ms() - start < (double)ms)
		x++;
	return 0;
}

static int touch(long mb)
{
	size_t n = (size_t)mb << 20;
	volatile char *p = malloc(n);

	if (!p)
		return 4;
	for (size_t i = 0; i < n; i += 4096)
		p[i] = 1;
	free((void *)p); /* the peak is what counts; LeakSanitizer is happy */
	return 0;
}

static int die_of(int sig)
{
	signal(sig, SIG_DFL);
	raise(sig);
	return 5; /* the signal did not end us */
}

int main(int argc, char **argv)
{
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;
	const char *mode = argc > 1 ? argv[1] : "";

	if (strcmp(mode, "exit") == 0)
		return (int)n;
	if (strcmp(mode, "signal") == 0)
		return die_of((int)n);
	if (strcmp(mode, "wait-fd") == 0)
		return wait_fd((int)n);
	if (strcmp(mode, "spin") == 0)
		return spin(n);
	if (strcmp(mode, "rss") == 0)
		return touch(n);
	if (strcmp(mode, "pause") == 0)
		for (;;)
			pause();
	fprintf(stderr, "reaper_child: unknown mode '%s'\n", mode);
	return 2;
}
