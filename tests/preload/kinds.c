/*
 * kinds.c: mutex kinds glibc gives and the checker must keep.
 *   recursive      a PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP mutex taken
 *                  twice and released twice: no recursive-lock report
 *   errorcheck     an error-checking mutex relocked (EDEADLK) and
 *                  unlocked twice (EPERM): pthreads' own returns, silent
 *   robust         a robust mutex: passed through, works
 *   rwlock         a static rwlock read twice by one thread, then written
 *   spin           a spin lock inside a mutex, twice
 * Prints each call's result; exits 0 when every result is pthreads'.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER;

static int bad;

static void expect(const char *what, int got, int want)
{
	printf("%s: %d\n", what, got);
	if (got != want) {
		printf("  want %d\n", want);
		bad = 1;
	}
}

static void recursive(void)
{
	expect("recursive lock", pthread_mutex_lock(&rec), 0);
	expect("recursive relock", pthread_mutex_lock(&rec), 0);
	expect("recursive unlock", pthread_mutex_unlock(&rec), 0);
	expect("recursive unlock", pthread_mutex_unlock(&rec), 0);
}

static void errorcheck(void)
{
	pthread_mutexattr_t attr;
	pthread_mutex_t m;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	expect("errorcheck init", pthread_mutex_init(&m, &attr), 0);
	expect("errorcheck lock", pthread_mutex_lock(&m), 0);
	expect("errorcheck relock", pthread_mutex_lock(&m), EDEADLK);
	expect("errorcheck unlock", pthread_mutex_unlock(&m), 0);
	expect("errorcheck unlock again", pthread_mutex_unlock(&m), EPERM);
	expect("errorcheck destroy", pthread_mutex_destroy(&m), 0);
	pthread_mutexattr_destroy(&attr);
}

static void robust(void)
{
	pthread_mutexattr_t attr;
	pthread_mutex_t m;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	expect("robust init", pthread_mutex_init(&m, &attr), 0);
	expect("robust lock", pthread_mutex_lock(&m), 0);
	expect("robust unlock", pthread_mutex_unlock(&m), 0);
	expect("robust destroy", pthread_mutex_destroy(&m), 0);
	pthread_mutexattr_destroy(&attr);
}

static void rwlock(void)
{
	expect("rdlock", pthread_rwlock_rdlock(&rw), 0);
	expect("rdlock again", pthread_rwlock_rdlock(&rw), 0);
	expect("unlock", pthread_rwlock_unlock(&rw), 0);
	expect("unlock", pthread_rwlock_unlock(&rw), 0);
	expect("wrlock", pthread_rwlock_wrlock(&rw), 0);
	expect("tryrdlock while written", pthread_rwlock_tryrdlock(&rw), EBUSY);
	expect("unlock", pthread_rwlock_unlock(&rw), 0);
}

static void spin(void)
{
	pthread_spinlock_t s;

	expect("spin init", pthread_spin_init(&s, 0), 0);
	for (int i = 0; i < 2; i++) {
		expect("outer lock", pthread_mutex_lock(&outer), 0);
		expect("spin lock", pthread_spin_lock(&s), 0);
		expect("spin trylock held", pthread_spin_trylock(&s), EBUSY);
		expect("spin unlock", pthread_spin_unlock(&s), 0);
		expect("outer unlock", pthread_mutex_unlock(&outer), 0);
	}
	expect("spin destroy", pthread_spin_destroy(&s), 0);
}

int main(void)
{
	recursive();
	errorcheck();
	robust();
	rwlock();
	spin();
	puts(bad ? "results differ" : "results are pthreads'");
	return bad;
}
