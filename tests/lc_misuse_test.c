/*
 * lc_misuse_test.c: the findings about one thread's use of one lock:
 * recursive-lock, unlock-not-held, destroy-held (also: an init over a
 * lock the thread holds), exit-held, assert-held, and limit; each provoked
 * in a child with its exact report line, each reported once per distinct
 * site, and the correct uses that stay silent.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lockcheck/lockcheck.h"
#include "testutil.h"

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
static const bool sanitized = true;
#else
static const bool sanitized = false;
#endif

static lc_mutex_t A = LC_MUTEX_INITIALIZER("A");
static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");

/* The report's first line starts with want. */
static void expect_line(void (*fn)(void *), const char *kind, size_t n,
			const char *const *env, const char *want)
{
	struct lct_child c = lct_expect_reports(fn, NULL, env, kind, n);
	char got[512];

	if (n) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		if (strncmp(got, want, strlen(want)) != 0)
			lct_child_dump(&c, "first line");
		ck_assert_msg(strncmp(got, want, strlen(want)) == 0,
			      "'%s' does not start with '%s'", got, want);
	}
	lct_child_free(&c);
}

/* ---- recursive-lock ---- */

static const struct timespec epoch = { 0, 0 };

static void lock_twice(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_lock(&A), 0);
	for (int i = 0; i < 3; i++) /* one site: reported once */
		ck_assert_int_eq(lc_mutex_lock(&A), EDEADLK);
	ck_assert_int_eq(lc_mutex_timedlock(&A, &epoch),
			 EDEADLK);		       /* 2nd site */
	ck_assert_int_eq(lc_mutex_trylock(&A), EBUSY); /* cannot block */
	ck_assert_int_eq(lc_mutex_unlock(&A), 0);
}

START_TEST(test_AA_is_recursive_lock_and_returns_EDEADLK)
{
	expect_line(lock_twice, "recursive-lock", 2, NULL,
		    "lockcheck: recursive-lock: A locked again at "
		    "tests/lc_misuse_test.c:");
}
END_TEST

static void reenter(void *arg)
{
	lc_mutex_t *r = arg;

	ck_assert_int_eq(lc_mutex_lock(r), 0);
	ck_assert_int_eq(lc_mutex_lock(&B), 0);
	ck_assert_int_eq(lc_mutex_lock(r), 0); /* re-entry under B */
	ck_assert_int_eq(lc_mutex_unlock(r), 0);
	ck_assert_int_eq(lc_mutex_unlock(&B), 0);
	ck_assert_int_eq(lc_mutex_unlock(r), 0);
}

static void recursive_reentry(void *arg)
{
	lc_mutex_t r;

	(void)arg;
	ck_assert_int_eq(lc_mutex_init_recursive(&r, "R"), 0);
	reenter(&r);
	lct_in_thread(reenter, &r);
	ck_assert_int_eq(lc_mutex_destroy(&r), 0);
}

/* A naive checker adds B->R at the re-entry and sees R->B->R. */
START_TEST(test_recursive_reentry_adds_no_edge)
{
	struct lct_child c =
		lct_expect_reports(recursive_reentry, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- unlock-not-held ---- */

static void unlock_unheld(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_unlock(&A), EPERM);
	ck_assert_int_eq(lc_mutex_lock(&A), 0); /* left untouched: usable */
	ck_assert_int_eq(lc_mutex_unlock(&A), 0);
}

START_TEST(test_unlock_of_unheld_lock_is_reported_with_EPERM)
{
	expect_line(unlock_unheld, "unlock-not-held", 1, NULL,
		    "lockcheck: unlock-not-held: A unlocked at "
		    "tests/lc_misuse_test.c:");
}
END_TEST

static pthread_barrier_t step;

static void unlock_other_threads(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_unlock(&A), EPERM);
}

static void *hold_a_until_told(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_lock(&A), 0);
	pthread_barrier_wait(&step); /* A is held */
	pthread_barrier_wait(&step); /* the others are done */
	ck_assert_int_eq(lc_mutex_unlock(&A), 0);
	return NULL;
}

static void while_another_holds_a(void (*fn)(void *))
{
	pthread_t t;

	pthread_barrier_init(&step, NULL, 2);
	pthread_create(&t, NULL, hold_a_until_told, NULL);
	pthread_barrier_wait(&step);
	fn(NULL);
	pthread_barrier_wait(&step);
	pthread_join(t, NULL);
}

static void unlock_by_other_thread(void *arg)
{
	(void)arg;
	while_another_holds_a(unlock_other_threads);
}

START_TEST(test_unlock_by_non_owner_thread_is_reported_and_refused)
{
	expect_line(unlock_by_other_thread, "unlock-not-held", 1, NULL,
		    "lockcheck: unlock-not-held: A unlocked at "
		    "tests/lc_misuse_test.c:");
}
END_TEST

/* ---- destroy-held ---- */

static void destroy_own(void *arg)
{
	lc_mutex_t m;

	(void)arg;
	ck_assert_int_eq(lc_mutex_init(&m, "doomed"), 0);
	ck_assert_int_eq(lc_mutex_lock(&m), 0);
	ck_assert_int_eq(lc_mutex_destroy(&m), EBUSY);
	ck_assert_int_eq(lc_mutex_unlock(&m), 0);
	ck_assert_int_eq(lc_mutex_destroy(&m), 0);
}

START_TEST(test_destroy_of_own_held_lock_is_reported)
{
	expect_line(destroy_own, "destroy-held", 1, NULL,
		    "lockcheck: destroy-held: doomed destroyed at "
		    "tests/lc_misuse_test.c:");
}
END_TEST

static void destroy_a(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_destroy(&A), EBUSY);
}

static void destroy_other_threads(void *arg)
{
	(void)arg;
	while_another_holds_a(destroy_a);
}

START_TEST(test_destroy_of_lock_held_elsewhere_is_reported)
{
	struct lct_child c = lct_expect_reports(destroy_other_threads, NULL,
						NULL, "destroy-held", 1);

	ck_assert_ptr_nonnull(strstr(c.err, "while another thread holds it"));
	lct_child_free(&c);
}
END_TEST

static void destroy_rwlock_read_held(void *arg)
{
	lc_rwlock_t l;

	(void)arg;
	ck_assert_int_eq(lc_rwlock_init(&l, "table"), 0);
	ck_assert_int_eq(lc_rwlock_rdlock(&l), 0);
	ck_assert_int_eq(lc_rwlock_destroy(&l), EBUSY);
	ck_assert_int_eq(lc_rwlock_unlock(&l), 0);
	ck_assert_int_eq(lc_rwlock_destroy(&l), 0);
}

START_TEST(test_destroy_of_read_held_rwlock_is_reported)
{
	expect_line(destroy_rwlock_read_held, "destroy-held", 1, NULL,
		    "lockcheck: destroy-held: table destroyed at ");
}
END_TEST

/* A lock whose destroy was refused (it is held) is given up on and its
 * memory used for a new lock: the one report is the destroy's, and the
 * new lock starts clean. */
static void reinit_after_refused_destroy(void *arg)
{
	static lc_mutex_t m; /* the memory, reused */

	(void)arg;
	ck_assert_int_eq(lc_mutex_init(&m, "old"), 0);
	ck_assert_int_eq(lc_mutex_lock(&m), 0);
	ck_assert_int_eq(lc_mutex_destroy(&m), EBUSY);
	ck_assert_int_eq(lc_mutex_init(&m, "new"), 0);
	ck_assert_int_eq(lc_mutex_lock(&m), 0);
	ck_assert_int_eq(lc_mutex_unlock(&m), 0);
	ck_assert_int_eq(lc_mutex_destroy(&m), 0);
	ck_assert_int_eq(lc_mutex_lock(&A), 0); /* nothing stale above */
	ck_assert_int_eq(lc_mutex_unlock(&A), 0);
}

START_TEST(test_init_after_a_refused_destroy_starts_clean)
{
	expect_line(reinit_after_refused_destroy, "destroy-held", 1, NULL,
		    "lockcheck: destroy-held: old destroyed at "
		    "tests/lc_misuse_test.c:");
}
END_TEST

/* The same without the destroy: the init is where the held lock is lost,
 * reported there, once. */
static void reinit_while_held(void *arg)
{
	static lc_rwlock_t l;

	(void)arg;
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(lc_rwlock_init(&l, "reused"), 0);
		ck_assert_int_eq(lc_rwlock_wrlock(&l), 0);
	}
	ck_assert_int_eq(lc_rwlock_unlock(&l), 0);
	ck_assert_int_eq(lc_rwlock_destroy(&l), 0);
}

START_TEST(test_init_over_a_held_lock_is_reported_once)
{
	expect_line(reinit_while_held, "destroy-held", 1, NULL,
		    "lockcheck: destroy-held: reused initialised at "
		    "tests/lc_misuse_test.c:");
}
END_TEST

/* ---- exit-held ---- */

static void lock_and_leave(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_mutex_lock(&B), 0);
}

static void thread_exits_holding(void *arg)
{
	(void)arg;
	lct_in_named_thread("leaver", lock_and_leave, NULL);
}

START_TEST(test_thread_exiting_with_a_lock_is_reported)
{
	struct lct_child c = lct_expect_reports(thread_exits_holding, NULL,
						NULL, "exit-held", LOCKCHECK);
	char got[256];

	if (LOCKCHECK) {
		ck_assert(
			lct_find_line(c.err, "lockcheck: ", got, sizeof(got)));
		ck_assert_ptr_nonnull(
			strstr(got, "exit-held: thread \"leaver\""));
		ck_assert_ptr_nonnull(strstr(got, "exits holding 1 lock"));
		ck_assert_ptr_nonnull(strstr(c.err, "holds B ["));
	}
	lct_child_free(&c);
}
END_TEST

/* ---- assert-held ---- */

static void assert_unheld(void *arg)
{
	(void)arg;
	lc_assert_held(&A);
}

static void assert_not_held_while_held(void *arg)
{
	(void)arg;
	lc_mutex_lock(&A);
	lc_assert_not_held(&A);
	lc_mutex_unlock(&A);
}

static void assert_a_not_mine(void *arg)
{
	(void)arg;
	lc_assert_not_held(&A); /* another thread holds it, not this one */
}

static void assert_lockless_here(void *arg)
{
	(void)arg;
	lc_assert_no_locks_held();
}

static void assertions_that_hold(void *arg)
{
	lc_rwlock_t l;

	(void)arg;
	lc_assert_not_held(&A);
	lc_mutex_lock(&A);
	lc_assert_held(&A);
	lc_mutex_unlock(&A);
	lc_rwlock_init(&l, "l");
	lc_rwlock_rdlock(&l);
	lc_assert_held(&l); /* held in any mode */
	lc_rwlock_unlock(&l);
	lc_assert_not_held(&l);
	while_another_holds_a(assert_a_not_mine);
}

START_TEST(test_assert_held_fails_when_not_held)
{
	expect_line(assert_unheld, "assert-held", LOCKCHECK, NULL,
		    "lockcheck: assert-held: A is not held by thread ");
}
END_TEST

START_TEST(test_assert_not_held_fails_when_held)
{
	expect_line(assert_not_held_while_held, "assert-held", LOCKCHECK, NULL,
		    "lockcheck: assert-held: A is held by thread ");
}
END_TEST

START_TEST(test_true_assertions_are_silent)
{
	struct lct_child c =
		lct_expect_reports(assertions_that_hold, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- assert-held: lc_assert_no_locks_held ---- */

/* One init call: one class, named by the first lock it made. */
static void init_named(lc_mutex_t *m, const char *name)
{
	ck_assert_int_eq(lc_mutex_init(m, name), 0);
}

static void assert_lockless_holding_three(void *arg)
{
	lc_mutex_t first, second;
	lc_rwlock_t l;

	(void)arg;
	lc_thread_set_name("asserter");
	init_named(&first, "first");
	init_named(&second, "second");
	ck_assert_int_eq(lc_rwlock_init(&l, "L"), 0);
	lc_mutex_lock(&A);
	lc_rwlock_rdlock(&l);
	lc_mutex_lock(&second);
	for (int i = 0; i < 3; i++)
		lc_assert_no_locks_held(); /* one site: reported once */
	lc_mutex_unlock(&second);
	lc_rwlock_unlock(&l);
	lc_assert_no_locks_held(); /* another site: A alone */
	lc_mutex_unlock(&A);
	ck_assert_int_eq(lc_rwlock_destroy(&l), 0);
	ck_assert_int_eq(lc_mutex_destroy(&second), 0);
	ck_assert_int_eq(lc_mutex_destroy(&first), 0);
}

START_TEST(test_assert_no_locks_held_names_every_held_lock)
{
	static const char *const want[] = {
		"lockcheck: assert-held: thread \"asserter\" holds 3 locks at "
		"tests/lc_misuse_test.c:",
		"lockcheck: assert-held: thread \"asserter\" holds 1 lock at "
		"tests/lc_misuse_test.c:",
	};
	static const char tail[] = " (lc_assert_no_locks_held failed)";
	struct lct_child c =
		lct_expect_reports(assert_lockless_holding_three, NULL, NULL,
				   "assert-held", LOCKCHECK ? 2 : 0);
	const char *p = c.err;
	char got[512];

	for (int i = 0; LOCKCHECK && i < 2; i++) {
		LCT_ASSERT_CHILD(
			&c, lct_find_line(p, "lockcheck: ", got, sizeof(got)));
		LCT_ASSERT_CHILD(&c,
				 strncmp(got, want[i], strlen(want[i])) == 0);
		LCT_ASSERT_CHILD(
			&c, strlen(got) > strlen(tail) &&
				    strcmp(got + strlen(got) - strlen(tail),
					   tail) == 0);
		p = strstr(p, got) + strlen(got);
	}
	if (LOCKCHECK) {
		LCT_ASSERT_ERR_HAS(&c, "\n  holds A [tests/lc_misuse_test.c:");
		LCT_ASSERT_ERR_HAS(&c, "\n  holds L [tests/lc_misuse_test.c:");
		LCT_ASSERT_ERR_HAS(&c, "] for read, taken at "
				       "tests/lc_misuse_test.c:");
		LCT_ASSERT_ERR_HAS(&c, " in assert_lockless_holding_three()\n");
		LCT_ASSERT_ERR_HAS(&c, "\n  holds second of class first "
				       "[tests/lc_misuse_test.c:");
	}
	lct_child_free(&c);
}
END_TEST

static void lockless_after_release(void *arg)
{
	lc_mutex_t r;
	lc_cond_t cv;
	struct timespec past = { 0, 0 };

	(void)arg;
	lc_assert_no_locks_held(); /* nothing taken yet */
	ck_assert_int_eq(lc_mutex_init_recursive(&r, "R"), 0);
	ck_assert_int_eq(lc_cond_init(&cv), 0);
	lc_mutex_lock(&r);
	lc_mutex_lock(&r);
	ck_assert_int_ne(lc_cond_timedwait(&cv, &r, &past), 0);
	lc_mutex_unlock(&r);
	lc_mutex_unlock(&r);
	lc_assert_no_locks_held(); /* re-entered, waited, all released */
	while_another_holds_a(assert_lockless_here); /* not this thread's */
	ck_assert_int_eq(lc_cond_destroy(&cv), 0);
	ck_assert_int_eq(lc_mutex_destroy(&r), 0);
}

START_TEST(test_assert_no_locks_held_is_silent_when_none_is_held)
{
	struct lct_child c =
		lct_expect_reports(lockless_after_release, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- limit ---- */

static void too_many_classes(void *arg)
{
	lc_mutex_t c = LC_MUTEX_INITIALIZER("C"), d = LC_MUTEX_INITIALIZER("D");

	(void)arg;
	lc_mutex_lock(&A); /* three classes fit: A, B, C */
	lc_mutex_lock(&B);
	lc_mutex_lock(&c);
	lc_mutex_lock(&d); /* D does not */
	lc_mutex_unlock(&d);
	lc_mutex_unlock(&c);
	lc_mutex_unlock(&B);
	lc_mutex_unlock(&A);
	lc_mutex_lock(&c); /* C -> A still closes a cycle */
	lc_mutex_lock(&A);
	lc_mutex_unlock(&A);
	lc_mutex_unlock(&c);
}

START_TEST(test_class_limit_is_reported_once_and_checking_goes_on)
{
	const char *env[] = { "LOCKCHECK_MAX_CLASSES=3", NULL };
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(too_many_classes, NULL, env, &c), &c);
	LCT_ASSERT_EXITED(&c, LCT_FINDING_EXIT);
	LCT_ASSERT_REPORTS(&c, "limit", 1);
	LCT_ASSERT_CHILD(
		&c, lct_count_prefix(c.err, "lockcheck: limit: classes:") == 1);
	LCT_ASSERT_REPORTS(&c, "lock-order-cycle", 1);
	lct_child_free(&c);
}
END_TEST

static void hold_too_many(void *arg)
{
	lc_mutex_t l[12];

	(void)arg;
	for (int i = 0; i < 12; i++) {
		lc_mutex_init(&l[i], "slot");
		lc_mutex_set_order(&l[i], (uint64_t)i);
	}
	for (int i = 0; i < 12; i++)
		ck_assert_int_eq(lc_mutex_lock(&l[i]), 0);
	for (int i = 0; i < 12; i++) /* FIFO: untracked ones included */
		ck_assert_int_eq(lc_mutex_unlock(&l[i]), 0);
	lc_mutex_lock(&A);
	lc_mutex_lock(&B);
	lc_mutex_unlock(&B);
	lc_mutex_unlock(&A);
}

START_TEST(test_held_limit_is_reported_once_without_false_unlocks)
{
	const char *env[] = { "LOCKCHECK_MAX_HELD=8", NULL };

	expect_line(hold_too_many, "limit", 1, env, "lockcheck: limit: held: ");
}
END_TEST

/* ---- big tables, and memory running out ---- */

#define MANY_CLASSES 70000

/* n locks, each its own class (initializers named "k<i>"); names live in
 * the same block. */
static lc_mutex_t *classes_block(int n)
{
	lc_mutex_t *l = malloc((size_t)n * (sizeof(*l) + 16));
	char *names = (char *)(l + n);

	ck_assert_ptr_nonnull(l);
	for (int i = 0; i < n; i++) {
		snprintf(names + 16 * i, 16, "k%d", i);
		l[i] = (lc_mutex_t)LC_MUTEX_INITIALIZER(names + 16 * i);
	}
	return l;
}

/* Every class taken under the first one: classes and edges by the
 * tens of thousands, all in one order. */
static void many_classes(void *arg)
{
	lc_mutex_t *l = classes_block(MANY_CLASSES);

	(void)arg;
	lc_mutex_lock(&l[0]);
	for (int i = 1; i < MANY_CLASSES; i++) {
		ck_assert_int_eq(lc_mutex_lock(&l[i]), 0);
		ck_assert_int_eq(lc_mutex_unlock(&l[i]), 0);
	}
	lc_mutex_unlock(&l[0]);
	free(l);
}

START_TEST(test_65536_classes_and_more_fit)
{
	struct lct_child c =
		lct_expect_reports(many_classes, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

static long mapped_bytes(void)
{
	long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld", &pages), 1);
	fclose(f);
	return pages * 4096;
}

/* The same, with the address space capped a little above what is mapped
 * already: the checker's tables cannot grow for long. */
static void starved(void *arg)
{
	lc_mutex_t *l = classes_block(MANY_CLASSES);
	long limit;

	(void)arg;
	lc_mutex_lock(&l[0]); /* the checker's own start-up first */
	lc_mutex_unlock(&l[0]);
	limit = mapped_bytes() + (4l << 20);
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &(struct rlimit){ limit, limit }),
			 0);
	/* No Check assertions from here on: they allocate. */
	if (lc_mutex_lock(&l[0]))
		_exit(3);
	for (int i = 1; i < MANY_CLASSES; i++)
		if (lc_mutex_lock(&l[i]) || lc_mutex_unlock(&l[i]))
			_exit(4);
	if (lc_mutex_unlock(&l[0]))
		_exit(5);
}

START_TEST(test_running_out_of_memory_is_a_limit_not_a_crash)
{
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(starved, NULL, NULL, &c), &c);
	if (!lct_exited_with(&c, LCT_FINDING_EXIT) ||
	    lct_count_reports(&c, "limit") != lct_count_all_reports(&c))
		lct_child_dump(&c, "starved");
	LCT_ASSERT_EXITED(&c, LCT_FINDING_EXIT);
	LCT_ASSERT_CHILD(
		&c, lct_count_prefix(c.err, "lockcheck: limit: memory: ") >= 1);
	LCT_ASSERT_REPORTS(&c, "limit", lct_count_all_reports(&c));
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_misuse");
	TCase *core = tcase_create("core");
	TCase *checked = tcase_create("lockcheck");

	tcase_add_test(core, test_recursive_reentry_adds_no_edge);
	tcase_add_test(core, test_thread_exiting_with_a_lock_is_reported);
	tcase_add_test(core, test_assert_held_fails_when_not_held);
	tcase_add_test(core, test_assert_not_held_fails_when_held);
	tcase_add_test(core, test_true_assertions_are_silent);
	tcase_add_test(core, test_assert_no_locks_held_names_every_held_lock);
	tcase_add_test(core,
		       test_assert_no_locks_held_is_silent_when_none_is_held);
	if (LOCKCHECK) { /* undefined behaviour or a hang without checker */
		tcase_add_test(checked,
			       test_AA_is_recursive_lock_and_returns_EDEADLK);
		tcase_add_test(
			checked,
			test_unlock_of_unheld_lock_is_reported_with_EPERM);
		tcase_add_test(
			checked,
			test_unlock_by_non_owner_thread_is_reported_and_refused);
		tcase_add_test(checked,
			       test_destroy_of_own_held_lock_is_reported);
		tcase_add_test(checked,
			       test_destroy_of_lock_held_elsewhere_is_reported);
		tcase_add_test(checked,
			       test_destroy_of_read_held_rwlock_is_reported);
		tcase_add_test(checked,
			       test_init_after_a_refused_destroy_starts_clean);
		tcase_add_test(checked,
			       test_init_over_a_held_lock_is_reported_once);
		tcase_add_test(
			checked,
			test_class_limit_is_reported_once_and_checking_goes_on);
		tcase_add_test(
			checked,
			test_held_limit_is_reported_once_without_false_unlocks);
		tcase_add_test(checked, test_65536_classes_and_more_fit);
		if (!sanitized) /* sanitizers reserve address space up front */
			tcase_add_test(
				checked,
				test_running_out_of_memory_is_a_limit_not_a_crash);
	}
	tcase_set_timeout(checked, 120);
	suite_add_tcase(s, core);
	suite_add_tcase(s, checked);
	return lct_run_suite(s);
}
