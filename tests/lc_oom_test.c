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
 * The program: one keyed class of two locks and another in a cycle, and
 * each of its threads makes up to 48 classes, a chain of edges
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
#include <sys/mman.h>

#include "lockcheck/lockcheck.h"
#include "testdata/failalloc.h"
#include "testutil.h"

#define MAX_THREADS 4
#define LOCKS	    48

struct program {
	int threads;
	int nlocks;   /* classes per thread, up to LOCKS */
	long every;   /* > 0: every k-th allocation fails */
	long fail_at; /* >= 0: this allocation fails (failalloc_arm) */
};

static lc_mutex_t locks[MAX_THREADS][LOCKS];
static lc_mutex_t keyed[3];
static int nlocks;
static char names[MAX_THREADS][LOCKS][16];

static void take_pair(lc_mutex_t *a, lc_mutex_t *b)
{
	lc_mutex_lock(a);
	lc_mutex_lock(b);
	lc_mutex_unlock(b);
	lc_mutex_unlock(a);
}

/* Classes t<k>-0 .. t<k>-<n-1>, edges 0 -> 1 -> ... -> n-1 -> 0. */
static void *make_chain(void *arg)
{
	int k = (int)(long)arg;
	lc_mutex_t *l = locks[k];

	for (int i = 0; i < nlocks; i++) {
		snprintf(names[k][i], sizeof(names[k][i]), "t%d-%d", k, i);
		l[i] = (lc_mutex_t)LC_MUTEX_INITIALIZER(names[k][i]);
	}
	for (int i = 0; i + 1 < nlocks; i++)
		take_pair(&l[i], &l[i + 1]);
	take_pair(&l[nlocks - 1], &l[0]);
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

	nlocks = p->nlocks;
	if (p->every > 0)
		failalloc_every(p->every);
	else
		failalloc_arm(p->fail_at);
	for (int i = 0; i < 2; i++) /* one keyed class of two locks */
		lc_mutex_init(&keyed[i], "keyed");
	lc_mutex_init(&keyed[2], "keyed-other");
	take_pair(&keyed[0], &keyed[2]);
	take_pair(&keyed[2], &keyed[1]);
	for (int k = 0; k < p->threads; k++)
		start_or_run(&t[k], &started[k], k);
	for (int k = 0; k < p->threads; k++)
		if (started[k])
			pthread_join(t[k], NULL);
	if (p->every > 0)
		failalloc_disarm(); /* a single failure stays armed: the dump */
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
	const char *env[] = { env0, "LOCKCHECK_EXITCODE=0",
			      "LOCKCHECK_SYMBOLIZE=0", NULL };

	snprintf(env0, sizeof(env0), "LOCKCHECK_DUMP=%s", dir);
	LCT_ASSERT_RAN(lct_run_fn(run_program, (void *)p, env, c), c);
	LCT_ASSERT_EXITED(c, 0);
	return dir;
}

static void expect_limit_lines_bounded(int threads)
{
	for (long every = 2; every <= 7; every++) {
		struct program p = { threads, LOCKS, every, -1 };
		struct lct_child c;

		run(&p, &c);
		if (LOCKCHECK)
			LCT_ASSERT_CHILD(&c,
					 lct_count_reports(&c, "limit") >= 1);
		expect_one_line_per_limit(&c);
		lct_child_free(&c);
	}
}

START_TEST(test_memory_pressure_one_limit_per_kind)
{
	expect_limit_lines_bounded(1);
}
END_TEST

START_TEST(test_memory_pressure_4_threads_one_per_kind)
{
	expect_limit_lines_bounded(4);
}
END_TEST

/* One class per init site: no class made twice (the dump would tell the
 * two apart by their call's text) or named "(no memory)". */
static bool classes_whole(const char *dump)
{
	for (const char *p = dump; p; p = strchr(p, '\n'), p = p ? p + 1 : p) {
		size_t len = strcspn(p, "\n");
		char line[512];

		if (strncmp(p, "class ", 6) != 0)
			continue;
		snprintf(line, sizeof(line), "%.*s", (int)len, p);
		if (strstr(line, "(initializer)") || strstr(line, "keyed (") ||
		    strstr(line, "(no memory)"))
			return false;
	}
	return true;
}

/* lockgraph check on dir: 0 (no finding) or 1 (findings), never 2. */
static void expect_lockgraph_reads(const char *dir,
				   const struct lct_child *prog)
{
	const char *bin = lct_runfile("tools/lockgraph/lockgraph");
	char path[4096];
	const char *argv[] = { path, "check", dir, NULL };
	struct lct_child g;
	char *dump;

	ck_assert_ptr_nonnull(bin);
	snprintf(path, sizeof(path), "%s", bin);
	if (lct_count_entries(dir) == 0) { /* no dump: it must say why */
		LCT_ASSERT_ERR_HAS(prog, "lockcheck: limit: memory: ");
		return;
	}
	dump = lct_read_only_dump(dir);
	LCT_ASSERT_CHILD(prog, dump != NULL);
	LCT_ASSERT_CHILD(prog, classes_whole(dump));
	free(dump);
	LCT_ASSERT_RAN(lct_run_cmd(argv, NULL, &g), &g);
	if (!lct_exited_with(&g, 0) && !lct_exited_with(&g, 1)) {
		lct_child_dump(prog, "the program");
		lct_child_fail(&g, __FILE__, __LINE__, "lockgraph refused %s",
			       dir);
	}
	lct_child_free(&g);
}

/* Fails the n-th allocation of the program, for every n until one run
 * meets no failure (the program, its exit and its dump all allocated):
 * each run's dump, if written, is one lockgraph reads. */
START_TEST(test_every_single_failure_readable_dump)
{
	struct failalloc_shared *tally =
		mmap(NULL, sizeof(*tally), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long n = 0;

	ck_assert_ptr_ne(tally, MAP_FAILED);
	failalloc_tally = tally;
	for (bool fired = true; fired; n++) {
		struct program p = { 1, 8, 0, n };
		struct lct_child c;
		const char *dir;

		atomic_store(&tally->fired, false);
		dir = run(&p, &c);
		fired = atomic_load(&tally->fired);
		expect_one_line_per_limit(&c);
		if (LOCKCHECK)
			expect_lockgraph_reads(dir, &c);
		lct_child_free(&c);
		ck_assert_int_lt(n, 20000);
	}
	failalloc_tally = NULL;
	munmap(tally, sizeof(*tally));
	printf("swept %ld allocations\n", n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_oom");
	TCase *tc = tcase_create("lockcheck");

	tcase_set_timeout(tc, 600);
	if (FAILALLOC) {
		tcase_add_test(tc, test_memory_pressure_one_limit_per_kind);
		tcase_add_test(tc, test_memory_pressure_4_threads_one_per_kind);
		tcase_add_test(tc, test_every_single_failure_readable_dump);
	}
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
