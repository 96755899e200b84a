/*
 * nesting_bench.c: the checker's cost of holding many locks and of locks
 * made and destroyed in a loop (bench/nesting.sh runs it).
 *
 *   nesting_bench deep N     recursion holding N locks of N classes, then
 *                            releasing them: prints seconds and peak RSS
 *   nesting_bench churn N    N objects, each with two nested locks of one
 *                            class (an instance edge), made, locked,
 *                            unlocked and destroyed: seconds and peak RSS
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lockcheck/lockcheck.h"

static lc_mutex_t *locks;

static void hold(int i, int n)
{
	if (i == n)
		return;
	lc_mutex_lock(&locks[i]);
	hold(i + 1, n);
	lc_mutex_unlock(&locks[i]);
}

static void deep(int n)
{
	char *names = malloc((size_t)n * 16);

	locks = malloc((size_t)n * sizeof(*locks));
	if (!names || !locks)
		exit(1);
	for (int i = 0; i < n; i++) {
		snprintf(names + 16 * i, 16, "deep%d", i);
		locks[i] = (lc_mutex_t)LC_MUTEX_INITIALIZER(names + 16 * i);
	}
	hold(0, n);
}

struct obj {
	lc_mutex_t outer, inner;
};

static void obj_init(lc_mutex_t *m)
{
	lc_mutex_init(m, "obj"); /* one call: one class for both */
}

static void churn(int n)
{
	for (int i = 0; i < n; i++) {
		struct obj o;

		obj_init(&o.outer);
		obj_init(&o.inner);
		lc_mutex_lock(&o.outer);
		lc_mutex_lock(&o.inner);
		lc_mutex_unlock(&o.inner);
		lc_mutex_unlock(&o.outer);
		lc_mutex_destroy(&o.inner);
		lc_mutex_destroy(&o.outer);
	}
}

int main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	int n;

	if (argc != 3 || (strcmp(argv[1], "deep") && strcmp(argv[1], "churn")))
		return fprintf(stderr, "usage: %s deep|churn N\n", argv[0]), 2;
	n = atoi(argv[2]);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (!strcmp(argv[1], "deep"))
		deep(n);
	else
		churn(n);
	clock_gettime(CLOCK_MONOTONIC, &b);
	getrusage(RUSAGE_SELF, &ru);
	printf("%s %d: %.3f s, peak RSS %ld MiB\n", argv[1], n,
	       (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
	       ru.ru_maxrss / 1024);
	return 0;
}
