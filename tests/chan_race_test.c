/*
 * chan_race_test.c: the channel's declared guard, checked by the
 * LOCKCHECK=1 builds. The channel's lock guards everything after it, the
 * ring included (ds/chan.c). The binary links //ds:without_lock_chan: the
 * library plus one deliberately broken reader, ds__chan_len_without_lock.
 * Run on a second thread after a first one sent, that reader is reported
 * at its read: a guard is checked whatever the schedule, so the two
 * threads need not overlap (and ThreadSanitizer, which sees the join
 * between them, stays quiet). The library's own functions, producers,
 * consumers and a stats reader at once, report nothing. With LOCKCHECK=0
 * there is no checker: every child is silent.
 */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "ds/chan.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ds/chan.c, built with DS_WITHOUT_LOCK_CHAN. */
size_t ds__chan_len_without_lock(ds_chan_t *ch);

enum { CAP = 4, SENT = 3 };

static void send_some(void *arg)
{
	for (uint64_t i = 0; i < SENT; i++)
		ck_assert_int_eq(ds_chan_send(arg, &i), 0);
}

struct reader {
	ds_chan_t *ch;
	bool locked; /* the library's reader, else the broken one */
	size_t len;
};

static void read_len(void *arg)
{
	struct reader *r = arg;
	struct ds_chan_stats st;

	if (r->locked) {
		ck_assert_int_eq(ds_chan_stats(r->ch, &st), 0);
		r->len = st.len;
	} else {
		r->len = ds__chan_len_without_lock(r->ch);
	}
}

/* A "sender" thread, then a "reporter" thread reading the length. */
static void send_then_read(void *arg)
{
	struct reader r = { NULL, arg != NULL, 0 };

	ck_assert_int_eq(ds_chan_create(&r.ch, CAP, sizeof(uint64_t), "jobs"),
			 0);
	lct_in_named_thread("sender", send_some, r.ch);
	lct_in_named_thread("reporter", read_len, &r);
	ck_assert_uint_eq(r.len, SENT);
	ds_chan_destroy(r.ch);
}

START_TEST(test_len_without_lock_is_a_race)
{
	struct lct_child c = lct_expect_reports(send_then_read, NULL, NULL,
						"race", LOCKCHECK ? 1 : 0);

	if (LOCKCHECK) { /* else no checker: the child was silent */
		LCT_ASSERT_LINE(
			&c,
			"lockcheck: race: read without `ds_chan.lock` at "
			"ds/chan.c:",
			" in ds__chan_len_without_lock()");
		LCT_ASSERT_ERR_HAS(&c, "by thread \"reporter\"");
		LCT_ASSERT_ERR_HAS(&c, "  guard `ds_chan.lock` of ");
		LCT_ASSERT_ERR_HAS(&c, " in ds__chan_create()\n");
	}
	lct_child_free(&c);
}
END_TEST

START_TEST(test_len_with_lock_is_silent)
{
	struct lct_child c =
		lct_expect_reports(send_then_read, "locked", NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

/* ---- the library under load ---- */

enum { PAIRS = 2, ITEMS = 2000 };

/* Each producer sends 1..ITEMS; each consumer adds what it receives. */
static void *produce(void *arg)
{
	for (uint64_t i = 1; i <= ITEMS; i++)
		ck_assert_int_eq(ds_chan_send(arg, &i), 0);
	return NULL;
}

struct consumer {
	ds_chan_t *ch;
	uint64_t sum, n;
};

static void *consume(void *arg)
{
	struct consumer *c = arg;
	uint64_t item;

	while (ds_chan_recv(c->ch, &item) == 0) {
		c->sum += item;
		c->n++;
	}
	return NULL;
}

/* The counts agree while items move: len == sent - received <= cap. */
static void *watch(void *arg)
{
	struct ds_chan_stats st;

	for (int i = 0; i < ITEMS / 10; i++) {
		ck_assert_int_eq(ds_chan_stats(arg, &st), 0);
		ck_assert_uint_le(st.len, CAP);
		ck_assert_uint_eq(st.sent - st.received, st.len);
	}
	return NULL;
}

static void stress(void *arg)
{
	pthread_t prod[PAIRS], cons[PAIRS], watcher;
	struct consumer c[PAIRS];
	uint64_t sum = 0, n = 0;
	ds_chan_t *ch;

	(void)arg;
	ck_assert_int_eq(ds_chan_create(&ch, CAP, sizeof(uint64_t), "jobs"), 0);
	for (int i = 0; i < PAIRS; i++) {
		c[i] = (struct consumer){ ch, 0, 0 };
		ck_assert_int_eq(pthread_create(&cons[i], NULL, consume, &c[i]),
				 0);
		ck_assert_int_eq(pthread_create(&prod[i], NULL, produce, ch),
				 0);
	}
	ck_assert_int_eq(pthread_create(&watcher, NULL, watch, ch), 0);
	for (int i = 0; i < PAIRS; i++)
		ck_assert_int_eq(pthread_join(prod[i], NULL), 0);
	ck_assert_int_eq(ds_chan_close(ch), 0);
	for (int i = 0; i < PAIRS; i++) {
		ck_assert_int_eq(pthread_join(cons[i], NULL), 0);
		sum += c[i].sum;
		n += c[i].n;
	}
	ck_assert_int_eq(pthread_join(watcher, NULL), 0);
	/* Every item arrived once. */
	ck_assert_uint_eq(n, (uint64_t)PAIRS * ITEMS);
	ck_assert_uint_eq(sum, (uint64_t)PAIRS * ITEMS * (ITEMS + 1) / 2);
	ds_chan_destroy(ch);
}

START_TEST(test_stress_is_silent)
{
	struct lct_child c = lct_expect_reports(stress, NULL, NULL, NULL, 0);

	lct_child_free(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("chan_race");
	TCase *tc = tcase_create("guards");

	tcase_add_test(tc, test_len_without_lock_is_a_race);
	tcase_add_test(tc, test_len_with_lock_is_silent);
	tcase_add_test(tc, test_stress_is_silent);
	suite_add_tcase(s, tc);
	return lct_run_suite(s);
}
