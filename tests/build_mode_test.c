/*
 * build_mode_test.c: each of the four builds does what its switch says.
 *
 * plain: lc_ types are the pthread types and no checker runs;
 * lockcheck: the checker reports; tsan: ThreadSanitizer's runtime is linked
 * and sees a race; asan: AddressSanitizer and UBSan are linked and stop a
 * use-after-free and an overflow. A switch that did nothing fails here.
 * In the three checked builds the checker's assert()s are compiled in.
 *
 * The checked builds keep assert() on (no NDEBUG): ds/ relies on it.
 *
 * And the promises about the plain build: the same instructions as raw
 * pthreads for a lock loop (callgrind), and objects of the two modes refuse
 * to link together, naming the mode symbol.
 */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

#if defined(__SANITIZE_THREAD__)
static const bool tsan_build = true;
#else
static const bool tsan_build = false;
#endif
#if defined(__SANITIZE_ADDRESS__)
static const bool asan_build = true;
#else
static const bool asan_build = false;
#endif

/* ds/ asserts its invariants and its failure policy: the checked builds
 * (lockcheck, tsan and asan all define LOCKCHECK=1) must not define
 * NDEBUG (bazel's -c opt would). */
START_TEST(test_checked_builds_keep_asserts_on)
{
#ifdef NDEBUG
	const bool ndebug = true;
#else
	const bool ndebug = false;
#endif
	ck_assert_msg(!(LOCKCHECK && ndebug),
		      "NDEBUG is defined in a checked build: asserts are off");
}
END_TEST

START_TEST(test_lock_types_match_mode)
{
	if (LOCKCHECK) {
		ck_assert_uint_gt(sizeof(lc_mutex_t), sizeof(pthread_mutex_t));
		ck_assert_uint_gt(sizeof(lc_rwlock_t),
				  sizeof(pthread_rwlock_t));
		ck_assert_uint_gt(sizeof(lc_cond_t), sizeof(pthread_cond_t));
	} else {
		ck_assert_uint_eq(sizeof(lc_mutex_t), sizeof(pthread_mutex_t));
		ck_assert_uint_eq(sizeof(lc_rwlock_t),
				  sizeof(pthread_rwlock_t));
		ck_assert_uint_eq(sizeof(lc_cond_t), sizeof(pthread_cond_t));
	}
}
END_TEST

static void abba_one_thread(void *arg)
{
	lc_mutex_t a, b;

	(void)arg;
	lc_mutex_init(&a, "mode.a");
	lc_mutex_init(&b, "mode.b");
	lc_mutex_lock(&a);
	lc_mutex_lock(&b);
	lc_mutex_unlock(&b);
	lc_mutex_unlock(&a);
	lc_mutex_lock(&b);
	lc_mutex_lock(&a);
	lc_mutex_unlock(&a);
	lc_mutex_unlock(&b);
}

START_TEST(test_report_only_in_checked_build)
{
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(abba_one_thread, NULL, NULL, &c), &c);
	LCT_ASSERT_EXITED(&c, LOCKCHECK ? LCT_FINDING_EXIT : 0);
	LCT_ASSERT_REPORTS(&c, "lock-order-cycle", LOCKCHECK ? 1 : 0);
	lct_child_free(&c);
}
END_TEST

/*
 * A race ThreadSanitizer must see in every run. The old version (two
 * threads incrementing a counter right after pthread_create, ordered by
 * nothing) missed it once in five runs of the suite under load. TSan can
 * miss a race in two ways that depend on timing:
 *  - accesses at the same moment on two cores: TSan's check of the shadow
 *    cells is a plain load, compare, store (CheckRaces), so both threads can
 *    find the cells empty and store into the same one, and neither reports;
 *    TSan's pthread_create returns only once the new thread runs, so the two
 *    increments ran at nearly the same moment;
 *  - a race whose earlier access TSan can no longer find in that thread's
 *    trace (RestoreStack fails: the history was recycled) is dropped in
 *    silence.
 * So here the two writes happen one after the other, forced by a handshake
 * TSan cannot see (uninstrumented atomics and raw futex system calls: no
 * happens-before edge), and the first writer stays alive and adds nothing
 * to its trace (blocked in the kernel) until the second write is checked.
 */
static volatile int racy_word;
static int first_written, second_written; /* futex words */

/* Sets *word and wakes its waiter, invisibly to TSan. */
__attribute__((no_sanitize_thread, noinline)) static void unseen_post(int *word)
{
	__atomic_store_n(word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Blocks until *word is set, invisibly to TSan. */
__attribute__((no_sanitize_thread, noinline)) static void unseen_wait(int *word)
{
	while (!__atomic_load_n(word, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static void *first_writer(void *arg)
{
	(void)arg;
	racy_word = 1;
	unseen_post(&first_written);
	unseen_wait(&second_written); /* alive until the race is checked */
	return NULL;
}

static void racy_writes(void *arg)
{
	pthread_t t;

	(void)arg;
	if (pthread_create(&t, NULL, first_writer, NULL))
		abort();
	unseen_wait(&first_written);
	racy_word = 2; /* unordered with the first write: the race */
	unseen_post(&second_written);
	pthread_join(t, NULL);
}

START_TEST(test_tsan_runtime_sees_race)
{
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(racy_writes, NULL, NULL, &c), &c);
	LCT_ASSERT_ERR_HAS(&c, "WARNING: ThreadSanitizer: data race");
	LCT_ASSERT_ERR_HAS(&c, "first_writer");
	LCT_ASSERT_ERR_HAS(&c, "racy_writes");
	LCT_ASSERT_CHILD(
		&c, lct_count_prefix(c.err, "WARNING: ThreadSanitizer:") == 1);
	LCT_ASSERT_EXITED(&c, 66); /* TSan's exit code after a report */
	lct_child_free(&c);
}
END_TEST

static void use_after_free(void *arg)
{
	char *p = malloc(16);
	volatile char *volatile alias = p; /* hidden from the compiler */

	(void)arg;
	free(p);
	alias[3] = 1;
}

START_TEST(test_asan_runtime_stops_use_after_free)
{
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(use_after_free, NULL, NULL, &c), &c);
	LCT_ASSERT_ERR_HAS(&c, "AddressSanitizer: heap-use-after-free");
	LCT_ASSERT_CHILD(&c, !lct_exited_with(&c, 0));
	lct_child_free(&c);
}
END_TEST

static void signed_overflow(void *arg)
{
	volatile int big = INT_MAX;

	(void)arg;
	big = big + 1;
}

START_TEST(test_ubsan_runtime_stops_overflow)
{
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(signed_overflow, NULL, NULL, &c), &c);
	LCT_ASSERT_ERR_HAS(&c, "runtime error: signed integer");
	LCT_ASSERT_CHILD(&c, !lct_exited_with(&c, 0));
	lct_child_free(&c);
}
END_TEST

/* ---- zero cost when off: callgrind instruction counts ---- */

/* Instructions callgrind counts in function fn of a bench binary running
 * "workload 1 10000". Lazy PLT binding is turned off: the dynamic linker's
 * first-call work differs between any two binaries. */
static unsigned long long loop_instructions(const char *bin, const char *fn,
					    const char *workload)
{
	char path[4096], toggle[64], out[4200], want[32], line[128];
	const char *dir = lct_tmpdir("callgrind");
	const char *env[] = { "LD_BIND_NOW=1", NULL };
	unsigned long long n = 0;
	struct lct_child c;
	char *text;

	ck_assert_ptr_nonnull(lct_runfile(bin));
	snprintf(path, sizeof(path), "%s", lct_runfile(bin));
	snprintf(toggle, sizeof(toggle), "--toggle-collect=%s", fn);
	snprintf(out, sizeof(out), "--callgrind-out-file=%s/cg.out", dir);
	{
		const char *argv[] = { "valgrind", "-q", "--tool=callgrind",
				       toggle,	   out,	 path,
				       workload,   "1",	 "10000",
				       NULL };

		LCT_ASSERT_RAN(lct_run_cmd(argv, env, &c), &c);
	}
	LCT_ASSERT_EXITED(&c, 0);
	snprintf(out, sizeof(out), "%s/cg.out", dir);
	text = lct_read_file(out, NULL);
	ck_assert_ptr_nonnull(text);
	snprintf(want, sizeof(want), "summary: ");
	ck_assert(lct_find_line(text, want, line, sizeof(line)));
	ck_assert_int_eq(sscanf(line, "summary: %llu", &n), 1);
	free(text);
	lct_child_free(&c);
	return n;
}

START_TEST(test_plain_lock_loops_run_the_pthread_instructions)
{
	static const char *const loops[][2] = { { "pair_loop", "pair" },
						{ "nested_loop", "nested" },
						{ "scoped_loop", "scoped" } };

	for (int i = 0; i < 3; i++) {
		unsigned long long raw = loop_instructions(
			"bench/lock_bench_raw", loops[i][0], loops[i][1]);
		unsigned long long lc = loop_instructions(
			"bench/lock_bench_lc", loops[i][0], loops[i][1]);

		ck_assert_uint_gt(raw, 10000);
		ck_assert_uint_eq(lc, raw);
	}
}
END_TEST

START_TEST(test_checked_lock_loops_do_more_work)
{
	unsigned long long raw =
		loop_instructions("bench/lock_bench_raw", "pair_loop", "pair");
	unsigned long long lc =
		loop_instructions("bench/lock_bench_lc", "pair_loop", "pair");

	ck_assert_uint_gt(lc, raw);
}
END_TEST

/* ---- objects of the two modes do not link together ---- */

static char srcdir[4096], incdir[4096], workdir[4096];

static void find_sources(void)
{
	const char *header = lct_runfile("include/lockcheck/lockcheck.h");
	const char *off;

	ck_assert_ptr_nonnull(header);
	snprintf(incdir, sizeof(incdir), "%.*s",
		 (int)(strlen(header) - strlen("/lockcheck/lockcheck.h")),
		 header);
	off = lct_runfile("lockcheck/mode_off.c"); /* reuses header's buffer */
	ck_assert_ptr_nonnull(off);
	snprintf(srcdir, sizeof(srcdir), "%.*s",
		 (int)(strlen(off) - strlen("/mode_off.c")), off);
	snprintf(workdir, sizeof(workdir), "%s", lct_tmpdir("link"));
}

/* Runs gcc with args (after "gcc -std=gnu11 -I<include>"). */
static struct lct_child gcc(const char *const *args)
{
	const char *argv[64] = { "gcc", "-std=gnu11", "-pthread" };
	char inc[4200];
	struct lct_child c;
	int n = 3;

	snprintf(inc, sizeof(inc), "-I%s", incdir);
	argv[n++] = inc;
	for (; *args && n < 63; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	LCT_ASSERT_RAN(lct_run_cmd(argv, NULL, &c), &c);
	return c;
}

/* Compiles src (a path) with -DLOCKCHECK=<mode> into obj. */
static void compile(const char *src, const char *obj, const char *mode)
{
	const char *args[] = { mode, "-c", src, "-o", obj, NULL };
	struct lct_child c = gcc(args);

	LCT_ASSERT_EXITED(&c, 0);
	lct_child_free(&c);
}

static void write_user(const char *path)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs("#include \"lockcheck/lockcheck.h\"\n"
	      "int main(void)\n{\n\tlc_mutex_t m;\n\n"
	      "\tlc_mutex_init(&m, \"m\");\n\tlc_mutex_lock(&m);\n"
	      "\treturn lc_mutex_unlock(&m);\n}\n",
	      f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Room for the checker's objects and the user's. */
#define MAX_OBJS 96

/* The checked library's objects, compiled into workdir; returns how many
 * paths it wrote to objs. */
static int compile_checker(char objs[][4200], int max)
{
	DIR *d = opendir(srcdir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) && n < max) {
		size_t len = strlen(e->d_name);
		char src[4400];

		if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0 ||
		    strcmp(e->d_name, "mode_off.c") == 0)
			continue;
		snprintf(src, sizeof(src), "%s/%.255s", srcdir, e->d_name);
		snprintf(objs[n], sizeof(objs[n]), "%.3000s/%.*s.o", workdir,
			 (int)(len - 2 > 200 ? 200 : len - 2), e->d_name);
		compile(src, objs[n], "-DLOCKCHECK=1");
		n++;
	}
	closedir(d);
	return n;
}

/* Links objs into workdir/prog; returns the linker's child. */
static struct lct_child link_objs(char objs[][4200], int n)
{
	const char *args[MAX_OBJS + 8];
	char out[4200];
	int k = 0;

	snprintf(out, sizeof(out), "%s/prog", workdir);
	for (int i = 0; i < n && k < MAX_OBJS; i++)
		args[k++] = objs[i];
	args[k++] = "-o";
	args[k++] = out;
	args[k] = NULL;
	return gcc(args);
}

START_TEST(test_objects_of_both_modes_refuse_to_link)
{
	static char objs[MAX_OBJS][4200];
	char user[4200];
	struct lct_child c;
	int n;

	find_sources();
	snprintf(user, sizeof(user), "%s/user.c", workdir);
	write_user(user);
	n = compile_checker(objs + 1, MAX_OBJS - 1);
	ck_assert_int_lt(n, MAX_OBJS - 1); /* every source, none left out */
	/* a LOCKCHECK=0 user with the checked library */
	snprintf(objs[0], sizeof(objs[0]), "%s/user0.o", workdir);
	compile(user, objs[0], "-DLOCKCHECK=0");
	c = link_objs(objs, n + 1);
	LCT_ASSERT_CHILD(&c, !lct_exited_with(&c, 0));
	LCT_ASSERT_ERR_HAS(&c, "lc_built_with_LOCKCHECK_0");
	lct_child_free(&c);
	/* the same user built with LOCKCHECK=1 links */
	snprintf(objs[0], sizeof(objs[0]), "%s/user1.o", workdir);
	compile(user, objs[0], "-DLOCKCHECK=1");
	c = link_objs(objs, n + 1);
	LCT_ASSERT_EXITED(&c, 0);
	lct_child_free(&c);
	/* a LOCKCHECK=1 user with the plain library does not */
	snprintf(objs[1], sizeof(objs[1]), "%s/mode_off.o", workdir);
	snprintf(user, sizeof(user), "%s/mode_off.c", srcdir);
	compile(user, objs[1], "-DLOCKCHECK=0");
	c = link_objs(objs, 2);
	LCT_ASSERT_CHILD(&c, !lct_exited_with(&c, 0));
	LCT_ASSERT_ERR_HAS(&c, "lc_built_with_LOCKCHECK_1");
	lct_child_free(&c);
}
END_TEST

/* ---- the checker's own assertions are compiled in ---- */

/* Scribbles over the checker's part of a lock, then locks it. */
static void lock_scribbled(void *arg)
{
	lc_mutex_t m;
	size_t mine = sizeof(m) - sizeof(pthread_mutex_t);

	(void)arg;
	ck_assert_int_eq(lc_mutex_init(&m, "scribbled"), 0);
	memset((char *)&m + sizeof(pthread_mutex_t), 0x5a, mine);
	lc_mutex_lock(&m);
}

/* NDEBUG is not defined in the checked builds (lockcheck, tsan, asan):
 * a lock whose kind is none of the three stops at an assert(). */
START_TEST(test_checker_asserts_are_on)
{
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(lock_scribbled, NULL, NULL, &c), &c);
	LCT_ASSERT_KILLED(&c, SIGABRT);
	LCT_ASSERT_ERR_HAS(&c, "Assertion `a->lk->kind >= LC__KIND_MUTEX");
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("build_mode");
	TCase *core = tcase_create("core");
	TCase *tools = tcase_create("tools");

	tcase_add_test(core, test_lock_types_match_mode);
	tcase_add_test(core, test_checked_builds_keep_asserts_on);
	tcase_add_test(core, test_report_only_in_checked_build);
	if (LOCKCHECK)
		tcase_add_test(core, test_checker_asserts_are_on);
	if (tsan_build)
		tcase_add_test(core, test_tsan_runtime_sees_race);
	if (asan_build) {
		tcase_add_test(core, test_asan_runtime_stops_use_after_free);
		tcase_add_test(core, test_ubsan_runtime_stops_overflow);
	}
	if (!tsan_build && !asan_build) { /* valgrind and sanitizers clash */
		tcase_add_test(
			tools,
			LOCKCHECK
				? test_checked_lock_loops_do_more_work
				: test_plain_lock_loops_run_the_pthread_instructions);
	}
	if (!LOCKCHECK && !tsan_build && !asan_build)
		tcase_add_test(tools,
			       test_objects_of_both_modes_refuse_to_link);
	tcase_set_timeout(tools, 120);
	suite_add_tcase(s, core);
	suite_add_tcase(s, tools);
	return lct_run_suite(s);
}
