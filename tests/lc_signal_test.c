/*
 * lc_signal_test.c: lock calls from signal handlers. A handler that locks
 * while its thread is inside the checker goes past the checker: the real
 * call, nothing recorded, its unlock (wherever it comes from) passing, the
 * interrupted call finishing as if nothing happened, and one
 * signal-unsafe finding per call site. A handler that does not lock
 * leaves no trace. Its lc_unguard and lc_handoff calls wait in the
 * checker's 128 notes until the next race call; one more stops race
 * checking with a limit line.
 *
 * To land a signal inside the checker on purpose, testdata/failalloc.h
 * raises it from the first allocation the checker makes for a new lock
 * class (plain and lockcheck builds; the sanitizers own malloc). The stress
 * case needs no such help: a timer signal every 20 microseconds whose
 * handler locks, against two threads doing every kind of lock call for
 * two seconds, in every build: the same return values as pthreads, no
 * crash, no hang, no finding but signal-unsafe.
 */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lockcheck/lockcheck.h"
#include "testdata/failalloc.h"
#include "testutil.h"

/* What the handler did, for the test to check once it is over. */
static lc_mutex_t H = LC_MUTEX_INITIALIZER("H");
static atomic_int handled, handler_errors; /* handlers of all threads */
static volatile sig_atomic_t lock_line;
static volatile sig_atomic_t keep_held; /* leave H locked */

/* ThreadSanitizer runs a pending signal's handler at the next intercepted
 * call, the handler's own included: without the guard the handler would
 * wait for the H it holds (with plain pthreads too). */
static _Thread_local volatile sig_atomic_t in_handler;

static void on_signal(int sig)
{
	int saved = errno, err;

	(void)sig;
	if (in_handler)
		return;
	in_handler = 1;
	handled++;
	lock_line = __LINE__, err = lc_mutex_lock(&H);
	if (!err && !keep_held)
		err = lc_mutex_unlock(&H);
	handler_errors += err != 0;
	in_handler = 0;
	errno = saved;
}

static void count_only(int sig)
{
	(void)sig;
	handled++;
}

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	ck_assert_int_eq(sigaction(sig, &sa, NULL), 0);
}

static void raise_usr1(void)
{
	raise(SIGUSR1);
}

/* Holding A, takes a lock of a class never seen: the checker allocates
 * for it, and the signal arrives there. */
static void lock_new_class_interrupted(lc_mutex_t *fresh)
{
	static lc_mutex_t A = LC_MUTEX_INITIALIZER("A");

	ck_assert_int_eq(lc_mutex_lock(&A), 0);
	failalloc_call(0, raise_usr1);
	ck_assert_int_eq(lc_mutex_lock(fresh), 0);
	failalloc_call(-1, NULL);
	ck_assert_int_eq(lc_mutex_unlock(fresh), 0);
	ck_assert_int_eq(lc_mutex_unlock(&A), 0);
}

static void twice_interrupted(void *arg)
{
	static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");
	static lc_mutex_t C = LC_MUTEX_INITIALIZER("C");

	(void)arg;
	handle(SIGUSR1, on_signal);
	lock_new_class_interrupted(&B);
	lock_new_class_interrupted(&C);
	ck_assert_int_eq(handled, 2);
	ck_assert_int_eq(handler_errors, 0);
	/* The checker recorded nothing of H: it is free, and not held. */
	lc_assert_not_held(&H);
	ck_assert_int_eq(lc_mutex_lock(&H), 0);
	ck_assert_int_eq(lc_mutex_unlock(&H), 0);
	printf("line %d\n", (int)lock_line);
}

START_TEST(test_handler_lock_in_checker_reported_once)
{
	const char *dir = lct_tmpdir("signal");
	char dump_env[4200], want[256], *dump;
	const char *env[] = { dump_env, NULL };
	struct lct_child c;
	int line = 0;

	snprintf(dump_env, sizeof(dump_env), "LOCKCHECK_DUMP=%s", dir);
	c = lct_expect_reports(twice_interrupted, NULL, env, "signal-unsafe",
			       1);
	dump = lct_read_only_dump(dir);
	LCT_ASSERT_CHILD(&c, dump && strstr(dump, "\nfinding signal-unsafe "));
	free(dump);

	ck_assert_int_eq(sscanf(c.out, "line %d", &line), 1);
	snprintf(want, sizeof(want),
		 "lockcheck: signal-unsafe: H locked at %s:%d in on_signal() "
		 "by a signal handler of thread \"",
		 __FILE__, line);
	LCT_ASSERT_ERR_HAS(&c, want);
	LCT_ASSERT_ERR_HAS(&c, "that interrupted a lock call of its thread: "
			       "lock calls are not async-signal-safe\n");
	lct_child_free(&c);
}
END_TEST

/* The handler leaves H locked; the program unlocks it later, outside. */
static void unlock_what_the_handler_took(void *arg)
{
	static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");

	(void)arg;
	keep_held = 1;
	handle(SIGUSR1, on_signal);
	lock_new_class_interrupted(&B);
	ck_assert_int_eq(handled, 1);
	ck_assert_int_eq(handler_errors, 0);
	ck_assert_int_eq(lc_mutex_trylock(&H), EBUSY); /* really locked */
	ck_assert_int_eq(lc_mutex_unlock(&H), 0);
	ck_assert_int_eq(lc_mutex_trylock(&H), 0);
	ck_assert_int_eq(lc_mutex_unlock(&H), 0);
}

START_TEST(test_unlock_of_lock_handler_left_passes)
{
	struct lct_child c = lct_expect_reports(unlock_what_the_handler_took,
						NULL, NULL, "signal-unsafe", 1);

	lct_child_free(&c);
}
END_TEST

static void interrupted_by_a_quiet_handler(void *arg)
{
	static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");

	(void)arg;
	handle(SIGUSR1, count_only);
	lock_new_class_interrupted(&B);
	ck_assert_int_eq(handled, 1);
}

START_TEST(test_handler_that_does_not_lock_is_silent)
{
	struct lct_child c = lct_expect_reports(interrupted_by_a_quiet_handler,
						NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- the race API from a handler that interrupted the checker ---- */

static lc_mutex_t G = LC_MUTEX_INITIALIZER("G");
static long declared_here;   /* declared here, undeclared by the handler */
static long handed, refused; /* handed over by the handler; never declared */
static volatile sig_atomic_t guard_err = -1;
static sem_t written;

static void race_calls(int sig)
{
	(void)sig;
	handled++;
	guard_err = lc_guard(&refused, sizeof(refused), &G);
	lc_unguard(&declared_here, sizeof(declared_here));
	lc_handoff(&handed, sizeof(handed));
}

static void *write_handed(void *arg)
{
	(void)arg;
	LC_WRITE(handed, 1);
	sem_post(&written); /* unseen by the checker: orders nothing */
	return NULL;
}

/* lc_guard refuses; lc_unguard and lc_handoff take effect before the next
 * race call: the writes after them, without G and with no order to the
 * thread's write, are silent. */
static void race_calls_interrupted(void *arg)
{
	static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");
	pthread_t t;

	(void)arg;
	sem_init(&written, 0, 0);
	ck_assert_int_eq(lc_guard(&declared_here, sizeof(declared_here), &G),
			 0);
	ck_assert_int_eq(pthread_create(&t, NULL, write_handed, NULL), 0);
	while (sem_wait(&written) != 0)
		;
	handle(SIGUSR1, race_calls);
	lock_new_class_interrupted(&B);
	ck_assert_int_eq(handled, 1);
	ck_assert_int_eq(guard_err, EAGAIN);
	LC_WRITE(declared_here, 1);
	LC_WRITE(handed, 2);
	LC_WRITE(refused, 3);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
}

START_TEST(test_race_calls_of_interrupting_handler_are_safe)
{
	struct lct_child c =
		lct_expect_reports(race_calls_interrupted, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* The same calls made outside the checker take effect at once. */
static void race_calls_outside(void *arg)
{
	(void)arg;
	ck_assert_int_eq(lc_guard(&declared_here, sizeof(declared_here), &G),
			 0);
	handle(SIGUSR1, race_calls);
	raise(SIGUSR1);
	ck_assert_int_eq(handled, 1);
	ck_assert_int_eq(guard_err, 0);
	LC_WRITE(declared_here, 1);
	LC_WRITE(refused, 3); /* declared by the handler: G not held */
}

START_TEST(test_race_calls_of_handler_outside_the_checker)
{
	struct lct_child c = lct_expect_reports(race_calls_outside, NULL, NULL,
						"race", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK)
		LCT_ASSERT_ERR_HAS(&c, "lockcheck: race: write without `G` ");
	lct_child_free(&c);
}
END_TEST

/* ---- more deferred calls than the checker can note ---- */

#define DEFER_NOTES 128 /* the notes of lockcheck/race_defer.c */

static long many[DEFER_NOTES + 1];     /* under G; the handler undeclares */
static long watched;		       /* under G, written without it */
static volatile sig_atomic_t unguards; /* calls the handler makes */

/* One handler, `unguards` distinct ranges: a note each, none applied
 * before it returns (its thread is inside the checker). */
static void unguard_many(int sig)
{
	(void)sig;
	handled++;
	for (int i = 0; i < unguards; i++)
		lc_unguard(&many[i], sizeof(many[i]));
}

/* The handler's calls pile up, then the program writes the undeclared
 * ranges (silent either way) and `watched` without G: a race while
 * checking goes on, nothing once the table overflowed. */
static void unguards_interrupted(void *arg)
{
	static lc_mutex_t B = LC_MUTEX_INITIALIZER("B");

	unguards = (int)(intptr_t)arg;
	for (int i = 0; i <= DEFER_NOTES; i++)
		ck_assert_int_eq(lc_guard(&many[i], sizeof(many[i]), &G), 0);
	ck_assert_int_eq(lc_guard(&watched, sizeof(watched), &G), 0);
	handle(SIGUSR1, unguard_many);
	lock_new_class_interrupted(&B);
	ck_assert_int_eq(handled, 1);
	for (int i = 0; i < unguards; i++)
		LC_WRITE(many[i], i);
	LC_WRITE(watched, 1);
}

START_TEST(test_too_many_deferred_unguards_stop_race_checking)
{
	struct lct_child c = lct_expect_reports(
		unguards_interrupted, (void *)(intptr_t)(DEFER_NOTES + 1), NULL,
		"limit", 1);

	LCT_ASSERT_ERR_HAS(&c, "lockcheck: limit: race: more than 128 "
			       "lc_unguard or lc_handoff calls of signal "
			       "handlers pending: race checking stopped, "
			       "declared guards too\n");
	lct_child_free(&c);
}
END_TEST

/* As many as the notes hold: every one applied, checking goes on. */
START_TEST(test_deferred_unguards_that_fit_keep_race_checking)
{
	struct lct_child c = lct_expect_reports(unguards_interrupted,
						(void *)(intptr_t)DEFER_NOTES,
						NULL, "race", 1);

	LCT_ASSERT_ERR_HAS(&c, "lockcheck: race: write without `G` ");
	LCT_ASSERT_ERR_HAS(&c, " in unguards_interrupted()");
	lct_child_free(&c);
}
END_TEST

/* ---- stress: a timer signal every 20 microseconds ---- */

#define STRESS_SECONDS 2
#define WORKERS	       2

static lc_mutex_t shared = LC_MUTEX_INITIALIZER("shared");
static long shared_total; /* under shared */

struct worker {
	lc_mutex_t a, b, rec, fresh;
	lc_rwlock_t rw;
	lc_cond_t cond;
	long steps;
	long wrong; /* calls that did not return what pthreads do */
};

static const struct timespec long_ago = { 0, 0 };

static void set_mask(int how)
{
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(how, &usr1, NULL);
}

/* Counts each call whose result is not want. */
#define CALL(w, want, call) ((w)->wrong += (call) != (want))

static void nested_and_shared(struct worker *w)
{
	CALL(w, 0, lc_mutex_lock(&w->a));
	CALL(w, 0, lc_mutex_lock(&w->b));
	CALL(w, 0, lc_mutex_lock(&shared));
	shared_total++;
	CALL(w, 0, lc_mutex_unlock(&shared));
	CALL(w, 0, lc_mutex_unlock(&w->b));
	CALL(w, 0, lc_mutex_unlock(&w->a));
}

static void readers_writers_recursion(struct worker *w)
{
	CALL(w, 0, lc_rwlock_rdlock(&w->rw));
	CALL(w, 0, lc_rwlock_tryrdlock(&w->rw));
	CALL(w, 0, lc_rwlock_unlock(&w->rw));
	CALL(w, 0, lc_rwlock_unlock(&w->rw));
	CALL(w, 0, lc_rwlock_wrlock(&w->rw));
	CALL(w, 0, lc_mutex_trylock(&w->a));
	CALL(w, 0, lc_mutex_unlock(&w->a));
	CALL(w, 0, lc_rwlock_unlock(&w->rw));
	CALL(w, 0, lc_mutex_lock(&w->rec));
	CALL(w, 0, lc_mutex_lock(&w->rec));
	CALL(w, 0, lc_mutex_unlock(&w->rec));
	CALL(w, 0, lc_mutex_unlock(&w->rec));
	CALL(w, 0, lc_mutex_lock(&w->a));
	CALL(w, ETIMEDOUT, lc_cond_timedwait(&w->cond, &w->a, &long_ago));
	CALL(w, 0, lc_mutex_unlock(&w->a));
}

/* A lock made and destroyed again and again: the checker's init, destroy
 * and slow paths under the signals too. */
static void fresh_lock(struct worker *w)
{
	CALL(w, 0, lc_mutex_init(&w->fresh, "fresh"));
	CALL(w, 0, lc_mutex_lock(&w->a));
	CALL(w, 0, lc_mutex_lock(&w->fresh));
	CALL(w, 0, lc_mutex_unlock(&w->fresh));
	CALL(w, 0, lc_mutex_unlock(&w->a));
	CALL(w, 0, lc_mutex_destroy(&w->fresh));
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct timespec now, end;

	/* Before the signals: its state and H's counters exist, so the
	 * handler's own calls do not allocate. */
	CALL(w, 0, lc_mutex_lock(&H));
	CALL(w, 0, lc_mutex_unlock(&H));
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += STRESS_SECONDS;
	set_mask(SIG_UNBLOCK);
	do {
		for (int i = 0; i < 256; i++, w->steps++) {
			nested_and_shared(w);
			readers_writers_recursion(w);
		}
		fresh_lock(w);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	set_mask(SIG_BLOCK);
	return NULL;
}

static void init_worker(struct worker *w)
{
	memset(w, 0, sizeof(*w));
	ck_assert_int_eq(lc_mutex_init(&w->a, "a"), 0);
	ck_assert_int_eq(lc_mutex_init(&w->b, "b"), 0);
	ck_assert_int_eq(lc_mutex_init_recursive(&w->rec, "rec"), 0);
	ck_assert_int_eq(lc_rwlock_init(&w->rw, "rw"), 0);
	ck_assert_int_eq(lc_cond_init(&w->cond), 0);
}

static timer_t start_timer(void)
{
	struct sigevent ev;
	struct itimerspec every = { { 0, 20000 }, { 0, 20000 } };
	timer_t timer;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	ck_assert_int_eq(timer_create(CLOCK_MONOTONIC, &ev, &timer), 0);
	ck_assert_int_eq(timer_settime(timer, 0, &every, NULL), 0);
	return timer;
}

static void timer_stress(void *arg)
{
	static struct worker w[WORKERS];
	pthread_t t[WORKERS];
	long steps = 0;
	timer_t timer;

	(void)arg;
	handle(SIGUSR1, on_signal);
	set_mask(SIG_BLOCK); /* only the workers take the signal */
	for (int i = 0; i < WORKERS; i++)
		init_worker(&w[i]);
	timer = start_timer();
	for (int i = 0; i < WORKERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, work, &w[i]), 0);
	for (int i = 0; i < WORKERS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(w[i].wrong, 0);
		steps += w[i].steps;
	}
	ck_assert_int_eq(timer_delete(timer), 0);
	ck_assert_int_eq(handler_errors, 0);
	ck_assert_int_gt(handled, 0);
	ck_assert_int_eq(shared_total, steps);
	printf("steps %ld signals %d\n", steps, atomic_load(&handled));
}

START_TEST(test_timer_signals_whose_handler_locks_change_nothing)
{
	struct lct_child c;
	size_t unsafe;

	LCT_ASSERT_RAN(lct_run_fn(timer_stress, NULL, NULL, &c), &c);
	unsafe = lct_count_reports(&c, "signal-unsafe");
	LCT_ASSERT_CHILD(&c, unsafe <= 1);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == unsafe);
	LCT_ASSERT_EXITED(&c, unsafe ? LCT_FINDING_EXIT : 0);
	LCT_ASSERT_OUT_HAS(&c, "steps ");
	lct_child_free(&c);
}
END_TEST

/* A worker of the race stress: declares slot, writes it under lock while
 * declared and without once undeclared; handlers undeclare it. */
struct racer {
	lc_mutex_t lock;
	long slot, mine, handed, refused;
	volatile sig_atomic_t declared;
	long steps, wrong;
};

static _Thread_local struct racer *racing; /* this thread's, for its handler */
static atomic_int refusals;		   /* lc_guard said EAGAIN */

/* The handler's calls: declare (or be refused), undeclare, hand over. */
static void race_api_calls(struct racer *r)
{
	int err = lc_guard(&r->refused, sizeof(r->refused), &r->lock);

	handler_errors += err != 0 && err != EAGAIN;
	refusals += err == EAGAIN;
	lc_unguard(&r->refused, sizeof(r->refused));
	if (r->declared) {
		lc_unguard(&r->slot, sizeof(r->slot));
		r->declared = 0;
	}
	lc_handoff(&r->handed, sizeof(r->handed));
}

static void race_on_signal(int sig)
{
	struct racer *r = racing;
	int saved = errno;

	(void)sig;
	if (in_handler || !r)
		return;
	in_handler = 1;
	handled++;
	race_api_calls(r);
	in_handler = 0;
	errno = saved;
}

static void race_step(struct racer *r)
{
	if (!r->declared) {
		LC_WRITE(r->slot, r->slot + 1); /* undeclared: no lock needed */
		if (lc_guard(&r->slot, sizeof(r->slot), &r->lock) == 0)
			r->declared = 1;
		else
			r->wrong++;
	}
	CALL(r, 0, lc_mutex_lock(&r->lock));
	LC_WRITE(r->slot, r->slot + 1);
	CALL(r, 0, lc_mutex_unlock(&r->lock));
	LC_WRITE(r->mine, r->mine + 1);
	LC_WRITE(r->handed, r->handed + 1);
}

static void *race_work(void *arg)
{
	struct racer *r = arg;
	struct timespec now, end;

	/* Before the signals: its state, its declarations and the shadow's
	 * tables exist, so the handler's own calls do not allocate. */
	race_step(r);
	race_api_calls(r);
	race_step(r);
	racing = r;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += STRESS_SECONDS;
	set_mask(SIG_UNBLOCK);
	do {
		for (int i = 0; i < 256; i++, r->steps++)
			race_step(r);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	set_mask(SIG_BLOCK);
	return NULL;
}

static void race_stress(void *arg)
{
	static struct racer r[WORKERS];
	pthread_t t[WORKERS];
	timer_t timer;

	(void)arg;
	handle(SIGUSR1, race_on_signal);
	set_mask(SIG_BLOCK); /* only the workers take the signal */
	for (int i = 0; i < WORKERS; i++)
		ck_assert_int_eq(lc_mutex_init(&r[i].lock, "racer"), 0);
	timer = start_timer();
	for (int i = 0; i < WORKERS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, race_work, &r[i]),
				 0);
	for (int i = 0; i < WORKERS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_int_eq(r[i].wrong, 0);
	}
	ck_assert_int_eq(timer_delete(timer), 0);
	ck_assert_int_eq(handler_errors, 0);
	ck_assert_int_gt(handled, 0);
	printf("signals %d refusals %d\n", atomic_load(&handled),
	       atomic_load(&refusals));
}

/* Handlers that undeclare, hand over and declare, against threads that
 * declare and access: no hang, no finding. */
START_TEST(test_timer_signals_whose_handler_calls_race_api_change_nothing)
{
	struct lct_child c;

	LCT_ASSERT_RAN(lct_run_fn(race_stress, NULL, NULL, &c), &c);
	LCT_ASSERT_CHILD(&c, lct_count_all_reports(&c) == 0);
	LCT_ASSERT_EXITED(&c, 0);
	LCT_ASSERT_OUT_HAS(&c, "signals ");
	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lc_signal");
	TCase *core = tcase_create("core");
	TCase *threads = tcase_create("threads");

	if (LOCKCHECK && FAILALLOC) { /* plain pthreads: nothing to see */
		tcase_add_test(core,
			       test_handler_lock_in_checker_reported_once);
		tcase_add_test(core, test_unlock_of_lock_handler_left_passes);
		tcase_add_test(core, test_handler_that_does_not_lock_is_silent);
		tcase_add_test(
			core, test_race_calls_of_interrupting_handler_are_safe);
		tcase_add_test(
			core,
			test_too_many_deferred_unguards_stop_race_checking);
		tcase_add_test(
			core,
			test_deferred_unguards_that_fit_keep_race_checking);
	}
	tcase_add_test(core, test_race_calls_of_handler_outside_the_checker);
	tcase_add_test(threads,
		       test_timer_signals_whose_handler_locks_change_nothing);
	tcase_add_test(
		threads,
		test_timer_signals_whose_handler_calls_race_api_change_nothing);
	suite_add_tcase(s, core);
	suite_add_tcase(s, threads);
	return lct_run_suite(s);
}
