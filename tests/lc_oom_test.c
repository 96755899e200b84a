/*
 * lc_oom_test.c: the checker when memory runs out.
 *
 * Allocations fail where testdata/failalloc.h says (glibc's allocator is
 * replaced for the whole test binary): every k-th one for as long as a
 * program runs (memory pressure), or one chosen one (a sweep over every
 * allocation of a program). The checker must degrade and say so with one
 * `limit:` line per kind of limit, never a flood, never a crash, and
 * every dump it writes must be one lockgraph reads.
 *
 * The program: each of its threads makes 48 classes, a chain of edges
 * through them and an edge that closes a cycle, then the process exits and
 * writes its dump. Nothing in it asserts while allocations fail (Check
 * allocates): it records and the test looks afterwards.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcheck/lockcheck.h"
#include "testdata/failalloc.h"
#include "testutil.h"

#define MAX_THREADS 4
#define LOCKS 48

struct program {
	int threads;
	long every;   /* > 0: every k-th allocation fails */
	long fail_at; /* >= 0: this allocation fails (failalloc_arm) */
};

static lc_mutex_t locks[MAX_THREADS][LOCKS];
static char names[MAX_THREADS][LOCKS][16];

static void take_pair(lc_mutex_t *a, lc_mutex_t *b)
{
	lc_mutex_lock(a);
	lc_mutex_lock(b);
	lc_mutex_unlock(b);
	lc_mutex_unlock(a);
}

/* Classes t<k>-0 .. t<k>-47, edges 0 -> 1 -> ... -> 47 -> 0. */
static void *make_chain(void *arg)
{
	int k = (int)(long)arg;
	lc_mutex_t *l = locks[k];

	for (int i = 0; i < LOCKS; i++) {
		snprintf(names[k][i], sizeof(names[k][i]), "t%d-%d", k, i);
		l[i] = (lc_mutex_t)LC_MUTEX_INITIALIZER(names[k][i]);
	}
	for (int i = 0; i + 1 < LOCKS; i++)
		take_pair(&l[i], &l[i + 1]);
	take_pair(&l[LOCKS - 1], &l[0]);
	return NULL;
}

/* pthread_create allocates: it may fail, then the chain runs here. */
static void start_or_run(pthread_t *t, bool *started, int k)
{
	*started = pthread_create(t, NULL, make_chain, (void *)(long)k) == 0;
	if (!*started)
		make_chain((void *)(long)k);
}

static void run_program(void *arg)
{
	const struct program *p = arg;
	pthread_t t[MAX_THREADS];
	bool started[MAX_THREADS];

	if (p->every > 0)
		failalloc_every(p->every);
	else
		failalloc_arm(p->fail_at);
	for (int k = 0; k < p->threads; k++)
		start_or_run(&t[k], &started[k], k);
	for (int k = 0; k < p->threads; k++)
		if (started[k])
			pthread_join(t[k], NULL);
	failalloc_disarm();
}

/* Each "lockcheck: limit: <what>:" line of text names a different what. */
static void expect_one_line_per_limit(const struct lct_child *c)
{
	const char *p = c->err;
	char seen[16][64];
	int n = 0;

	while ((p = strstr(p, "lockcheck: limit: "))) {
		const char *what = p + strlen("lockcheck: limit: ");
		size_t len = strcspn(what, ":\n");

		LCT_ASSERT_CHILD(c, len < sizeof(seen[0]) && n < 16);
		memcpy(seen[n], what, len);
		seen[n][len] = '\0';
		for (int i = 0; i < n; i++)
			if (strcmp(seen[i], seen[n]) == 0)
				lct_child_fail(c, __FILE__, __LINE__,
					       "two limit lines for %s",
					       seen[n]);
		n++;
		p = what;
	}
}

/* Runs p with its dump in a fresh directory: the child ends normally
 * (0, or 66 for its findings); returns the directory. */
static const char *run(const struct program *p, struct lct_child *c)
{
	const char *dir = lct_tmpdir("oom");
	static char env0[4200];
	const char *env[] = { env0, "LOCKCHECK_EXITCODE=0", NULL };

	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	LCT_ASSERT_RAN(lct_run_fn(run_program, (void *)p, env, c), c);
	LCT_ASSERT_EXITED(c, 0);
	return dir;
}

static void expect_limit_lines_bounded(int threads)
{
	for (long every = 2; every <= 7; every++) {
		struct program p = { threads, every, -1 };
		struct lct_child c;

		run(&p, &c);
		if (LOCKCHECK)
			LCT_ASSERT_CHILD(&c, lct_count_reports(&c, "limit") >= 1);
		expect_one_line_per_limit(&c);
		lct_child_free(&c);
	}
}

START_TEST(test_memory_pressure_gives_one_limit_line_per_kind)
{
	expect_limit_lines_bounded(1);
}
END_TEST

START_TEST(test_memory_pressure_in_4_threads_one_line_per_kind)
{
	expect_limit_lines_bounded(4);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_oom");
	TCase *tc = tcase_create("lockcheck");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 600);
	if (FAILALLOC) {
		tcase_add_test(tc,
			       test_memory_pressure_gives_one_limit_line_per_kind);
		tcase_add_test(tc,
			       test_memory_pressure_in_4_threads_one_line_per_kind);
	}
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
