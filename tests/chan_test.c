/*
 * chan_test.c: ds_chan copies items through a bounded FIFO, refuses bad
 * requests without a trace, blocks and wakes exactly as its header says,
 * closes with a drain, and under many producers and consumers delivers
 * every item exactly once within its capacity, silently under the checker.
 *
 * tcases: core (one thread: every call and error code), threads (blocking
 * and waking, stepped with the channel's own stats: a test waits until the
 * other thread is counted as blocked, never sleeps), stress (in a child:
 * exactly once, per-producer order, the bound, no checker report),
 * lockcheck (real programs' shapes stay silent), death (destroy with a
 * thread blocked in the channel asserts).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds/chan.h"
#include "lockcheck/lockcheck.h"
#include "testutil.h"

/* ---- helpers ---------------------------------------------------------- */

/* An item with some width, so copies of item_size bytes are visible. */
struct item {
	uint32_t producer;
	uint32_t seq;
	uint64_t check; /* mix(producer, seq): a torn copy shows */
};

static uint64_t mix(uint32_t producer, uint32_t seq)
{
	uint64_t x = ((uint64_t)producer << 32 | seq) * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29);
}

static struct item make_item(uint32_t producer, uint32_t seq)
{
	return (struct item){ producer, seq, mix(producer, seq) };
}

static ds_chan_t *make(size_t cap, size_t item_size)
{
	ds_chan_t *ch = NULL;

	ck_assert_int_eq(ds_chan_create(&ch, cap, item_size, "test"), 0);
	ck_assert_ptr_nonnull(ch);
	return ch;
}

static struct ds_chan_stats stats_of(ds_chan_t *ch)
{
	struct ds_chan_stats st;

	EXPECT_EQ(ds_chan_stats(ch, &st), 0);
	return st;
}

static void send_seq(ds_chan_t *ch, uint32_t seq)
{
	struct item it = make_item(0, seq);

	ck_assert_int_eq(ds_chan_send(ch, &it), 0);
}

static void expect_seq(ds_chan_t *ch, uint32_t seq)
{
	struct item it;

	ck_assert_int_eq(ds_chan_recv(ch, &it), 0);
	ck_assert_uint_eq(it.seq, seq);
	ck_assert(it.check == mix(0, seq));
}

/* One send or receive on its own thread. */
struct op {
	ds_chan_t *ch;
	struct item item; /* sent, or received */
	long ms;	  /* < 0: untimed */
	int err;
	atomic_bool done;
	pthread_t thread;
};

static void *send_op(void *arg)
{
	struct op *o = arg;

	o->err = o->ms < 0 ? ds_chan_send(o->ch, &o->item)
			   : ds_chan_send_timeout(o->ch, &o->item, o->ms);
	atomic_store(&o->done, true);
	return NULL;
}

static void *recv_op(void *arg)
{
	struct op *o = arg;

	o->err = o->ms < 0 ? ds_chan_recv(o->ch, &o->item)
			   : ds_chan_recv_timeout(o->ch, &o->item, o->ms);
	atomic_store(&o->done, true);
	return NULL;
}

static void start_op(struct op *o, ds_chan_t *ch, void *(*fn)(void *),
		     uint32_t seq, long ms)
{
	o->ch = ch;
	o->item = make_item(0, seq);
	o->ms = ms;
	o->err = -1;
	atomic_store(&o->done, false);
	ck_assert_int_eq(pthread_create(&o->thread, NULL, fn, o), 0);
}

static int finish_op(struct op *o)
{
	ck_assert_int_eq(pthread_join(o->thread, NULL), 0);
	return o->err;
}

/* Waits (yielding) until n senders / receivers are blocked in ch. */
static void await_blocked(ds_chan_t *ch, size_t senders, size_t receivers)
{
	struct ds_chan_stats st = stats_of(ch);

	while (st.senders_waiting != senders ||
	       st.receivers_waiting != receivers) {
		sched_yield();
		st = stats_of(ch);
	}
}

/* ---- core ------------------------------------------------------------- */

START_TEST(test_create_rejects_bad_arguments)
{
	ds_chan_t *ch = (ds_chan_t *)&ch; /* must stay untouched */
	ds_chan_t *const before = ch;

	ck_assert_int_eq(ds_chan_create(NULL, 4, 8, "c"), EINVAL);
	ck_assert_int_eq(ds_chan_create(&ch, 4, 8, NULL), EINVAL);
	ck_assert_int_eq(ds_chan_create(&ch, 0, 8, "c"), EINVAL);
	ck_assert_int_eq(ds_chan_create(&ch, 4, 0, "c"), EINVAL);
	ck_assert_int_eq(ds_chan_create(&ch, SIZE_MAX, 2, "c"), ENOMEM);
	ck_assert_int_eq(ds_chan_create(&ch, 2, SIZE_MAX, "c"), ENOMEM);
	ck_assert_int_eq(ds_chan_create(&ch, SIZE_MAX / 2, 1, "c"), ENOMEM);
	ck_assert_ptr_eq(ch, before);
}
END_TEST

START_TEST(test_new_channel_is_empty_and_open)
{
	ds_chan_t *ch = make(5, sizeof(struct item));
	struct ds_chan_stats st = stats_of(ch);

	ck_assert_uint_eq(st.len, 0);
	ck_assert_uint_eq(st.capacity, 5);
	ck_assert_uint_eq(st.item_size, sizeof(struct item));
	ck_assert_uint_eq(st.senders_waiting + st.receivers_waiting, 0);
	ck_assert_uint_eq(st.sent + st.received, 0);
	ck_assert(!st.closed);
	ds_chan_destroy(ch);
	ds_chan_destroy(NULL);
}
END_TEST

START_TEST(test_items_come_out_in_order_across_the_wrap)
{
	ds_chan_t *ch = make(4, sizeof(struct item));
	uint32_t in = 0, out = 0;

	/* 3 in, 3 out, 10 times: head and tail wrap around 4 slots. */
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < 3; i++)
			send_seq(ch, in++);
		ck_assert_uint_eq(stats_of(ch).len, 3);
		for (int i = 0; i < 3; i++)
			expect_seq(ch, out++);
	}
	ck_assert_uint_eq(stats_of(ch).sent, 30);
	ck_assert_uint_eq(stats_of(ch).received, 30);
	ds_chan_destroy(ch);
}
END_TEST

START_TEST(test_items_are_copied_in_and_out)
{
	char big[1000], got[1000];
	ds_chan_t *ch = make(2, sizeof(big));

	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(ds_chan_send(ch, big), 0);
	memset(big, 'b', sizeof(big)); /* the queued copy must not change */
	ck_assert_int_eq(ds_chan_send(ch, big), 0);
	ck_assert_int_eq(ds_chan_recv(ch, got), 0);
	ck_assert(got[0] == 'a' && got[sizeof(got) - 1] == 'a');
	ck_assert_int_eq(ds_chan_recv(ch, got), 0);
	ck_assert(got[0] == 'b' && got[sizeof(got) - 1] == 'b');
	ds_chan_destroy(ch);
}
END_TEST

/* Every size a copy can take (the common ones are special-cased). */
START_TEST(test_every_item_size_round_trips)
{
	static const size_t sizes[] = { 1, 3, 4, 7, 8, 12, 16, 24, 100 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		unsigned char in[100], out[101]; /* out: one byte spare */
		ds_chan_t *ch = make(2, sizes[k]);

		for (int round = 0; round < 3; round++) {
			for (size_t i = 0; i < sizes[k]; i++)
				in[i] = (unsigned char)(k * 31 + round * 7 + i);
			memset(out, 0xee, sizeof(out));
			EXPECT_EQ(ds_chan_send(ch, in), 0);
			EXPECT_EQ(ds_chan_recv(ch, out), 0);
			EXPECT(memcmp(in, out, sizes[k]) == 0);
			EXPECT_EQ(out[sizes[k]], 0xee); /* no byte more */
		}
		ds_chan_destroy(ch);
	}
}
END_TEST

START_TEST(test_try_calls_never_wait)
{
	ds_chan_t *ch = make(2, sizeof(struct item));
	struct item it = make_item(0, 7), got = { 0, 0, 0 };

	ck_assert_int_eq(ds_chan_try_recv(ch, &got), EAGAIN);
	ck_assert_int_eq(ds_chan_try_send(ch, &it), 0);
	ck_assert_int_eq(ds_chan_try_send(ch, &it), 0);
	ck_assert_int_eq(ds_chan_try_send(ch, &it), EAGAIN);
	ck_assert_uint_eq(stats_of(ch).len, 2); /* the refusal queued nothing */
	ck_assert_int_eq(ds_chan_try_recv(ch, &got), 0);
	ck_assert_uint_eq(got.seq, 7);
	ck_assert_int_eq(ds_chan_try_recv(ch, &got), 0);
	ck_assert_int_eq(ds_chan_try_recv(ch, &got), EAGAIN);
	ds_chan_destroy(ch);
}
END_TEST

START_TEST(test_timeout_calls_time_out)
{
	ds_chan_t *ch = make(1, sizeof(struct item));
	struct item it = make_item(0, 1), got;

	ck_assert_int_eq(ds_chan_recv_timeout(ch, &got, 0), ETIMEDOUT);
	ck_assert_int_eq(ds_chan_recv_timeout(ch, &got, 5), ETIMEDOUT);
	ck_assert_int_eq(ds_chan_send_timeout(ch, &it, 0), 0); /* room */
	ck_assert_int_eq(ds_chan_send_timeout(ch, &it, 0), ETIMEDOUT);
	ck_assert_int_eq(ds_chan_send_timeout(ch, &it, 5), ETIMEDOUT);
	ck_assert_int_eq(ds_chan_send_timeout(ch, &it, -1), EINVAL);
	ck_assert_int_eq(ds_chan_recv_timeout(ch, &got, -1), EINVAL);
	ck_assert_uint_eq(stats_of(ch).len, 1);
	ck_assert_int_eq(ds_chan_recv_timeout(ch, &got, 5), 0);
	ck_assert_uint_eq(got.seq, 1);
	ck_assert_uint_eq(stats_of(ch).senders_waiting, 0);
	ds_chan_destroy(ch);
}
END_TEST

START_TEST(test_close_refuses_sends_and_drains_receives)
{
	ds_chan_t *ch = make(4, sizeof(struct item));
	struct item it = make_item(0, 9), got;

	send_seq(ch, 0);
	send_seq(ch, 1);
	ck_assert_int_eq(ds_chan_close(ch), 0);
	ck_assert_int_eq(ds_chan_send(ch, &it), EPIPE);
	ck_assert_int_eq(ds_chan_try_send(ch, &it), EPIPE);
	ck_assert_int_eq(ds_chan_send_timeout(ch, &it, 5), EPIPE);
	ck_assert(stats_of(ch).closed);
	ck_assert_uint_eq(stats_of(ch).len, 2); /* nothing got in */
	expect_seq(ch, 0);
	ck_assert_int_eq(ds_chan_try_recv(ch, &got), 0);
	ck_assert_uint_eq(got.seq, 1);
	ck_assert_int_eq(ds_chan_recv(ch, &got), EPIPE);
	ck_assert_int_eq(ds_chan_try_recv(ch, &got), EPIPE);
	ck_assert_int_eq(ds_chan_recv_timeout(ch, &got, 5), EPIPE);
	ds_chan_destroy(ch);
}
END_TEST

START_TEST(test_close_twice_is_epipe)
{
	ds_chan_t *ch = make(1, 1);

	ck_assert_int_eq(ds_chan_close(ch), 0);
	ck_assert_int_eq(ds_chan_close(ch), EPIPE);
	ck_assert(stats_of(ch).closed);
	ds_chan_destroy(ch);
}
END_TEST

START_TEST(test_null_arguments_are_einval)
{
	ds_chan_t *ch = make(1, sizeof(struct item));
	struct item it = make_item(0, 0);
	struct ds_chan_stats st;

	ck_assert_int_eq(ds_chan_send(NULL, &it), EINVAL);
	ck_assert_int_eq(ds_chan_send(ch, NULL), EINVAL);
	ck_assert_int_eq(ds_chan_try_send(ch, NULL), EINVAL);
	ck_assert_int_eq(ds_chan_send_timeout(NULL, &it, 1), EINVAL);
	ck_assert_int_eq(ds_chan_recv(NULL, &it), EINVAL);
	ck_assert_int_eq(ds_chan_recv(ch, NULL), EINVAL);
	ck_assert_int_eq(ds_chan_try_recv(NULL, &it), EINVAL);
	ck_assert_int_eq(ds_chan_recv_timeout(ch, NULL, 1), EINVAL);
	ck_assert_int_eq(ds_chan_close(NULL), EINVAL);
	ck_assert_int_eq(ds_chan_stats(NULL, &st), EINVAL);
	ck_assert_int_eq(ds_chan_stats(ch, NULL), EINVAL);
	st = stats_of(ch);
	ck_assert_uint_eq(st.sent + st.received + st.len, 0);
	ck_assert(!st.closed);
	ds_chan_destroy(ch);
}
END_TEST

START_TEST(test_name_is_copied)
{
	char name[] = "jobs";
	ds_chan_t *ch = NULL;
	struct item it = make_item(0, 3);

	ck_assert_int_eq(ds_chan_create(&ch, 1, sizeof(it), name), 0);
	memset(name, 'x', sizeof(name) - 1); /* the channel keeps no pointer */
	ck_assert_int_eq(ds_chan_send(ch, &it), 0);
	expect_seq(ch, 3);
	ds_chan_destroy(ch);
}
END_TEST

/* ---- threads: blocking and waking ------------------------------------- */

START_TEST(test_send_waits_while_full_until_a_receive)
{
	ds_chan_t *ch = make(1, sizeof(struct item));
	struct op s;

	send_seq(ch, 0);
	start_op(&s, ch, send_op, 1, -1);
	await_blocked(ch, 1, 0);
	ck_assert(!atomic_load(&s.done));
	ck_assert_uint_eq(stats_of(ch).len, 1); /* the bound held */
	expect_seq(ch, 0);			/* makes room */
	ck_assert_int_eq(finish_op(&s), 0);
	expect_seq(ch, 1);
	ds_chan_destroy(ch);
}
END_TEST

START_TEST(test_recv_waits_while_empty_until_a_send)
{
	ds_chan_t *ch = make(2, sizeof(struct item));
	struct op r;

	start_op(&r, ch, recv_op, 0, -1);
	await_blocked(ch, 0, 1);
	ck_assert(!atomic_load(&r.done));
	send_seq(ch, 42);
	ck_assert_int_eq(finish_op(&r), 0);
	ck_assert_uint_eq(r.item.seq, 42);
	ck_assert(r.item.check == mix(0, 42));
	ck_assert_uint_eq(stats_of(ch).len, 0);
	ds_chan_destroy(ch);
}
END_TEST

START_TEST(test_timed_calls_succeed_when_the_wait_ends_in_time)
{
	ds_chan_t *ch = make(1, sizeof(struct item));
	struct op s, r;

	send_seq(ch, 0);
	start_op(&s, ch, send_op, 1, 600000); /* far longer than needed */
	await_blocked(ch, 1, 0);
	expect_seq(ch, 0);
	ck_assert_int_eq(finish_op(&s), 0);
	expect_seq(ch, 1);
	start_op(&r, ch, recv_op, 0, 600000);
	await_blocked(ch, 0, 1);
	send_seq(ch, 2);
	ck_assert_int_eq(finish_op(&r), 0);
	ck_assert_uint_eq(r.item.seq, 2);
	ds_chan_destroy(ch);
}
END_TEST

START_TEST(test_close_wakes_blocked_senders_with_epipe)
{
	ds_chan_t *ch = make(1, sizeof(struct item));
	struct op s[3];
	struct item got;

	send_seq(ch, 0);
	for (int i = 0; i < 3; i++) /* the third one timed, far too long */
		start_op(&s[i], ch, send_op, (uint32_t)i + 1,
			 i == 2 ? 600000 : -1);
	await_blocked(ch, 3, 0);
	ck_assert_int_eq(ds_chan_close(ch), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(finish_op(&s[i]), EPIPE);
	expect_seq(ch, 0); /* queued before the close: still delivered */
	ck_assert_int_eq(ds_chan_recv(ch, &got), EPIPE);
	ck_assert_uint_eq(stats_of(ch).sent, 1);
	ds_chan_destroy(ch);
}
END_TEST

START_TEST(test_close_wakes_blocked_receivers_with_epipe)
{
	ds_chan_t *ch = make(3, sizeof(struct item));
	struct op r[3];

	for (int i = 0; i < 3; i++)
		start_op(&r[i], ch, recv_op, 0, i == 2 ? 600000 : -1);
	await_blocked(ch, 0, 3);
	ck_assert_int_eq(ds_chan_close(ch), 0);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(finish_op(&r[i]), EPIPE);
	ck_assert_uint_eq(stats_of(ch).received, 0);
	ds_chan_destroy(ch);
}
END_TEST

/* Two items sent while two receivers wait: one signal each, both wake. */
START_TEST(test_each_item_wakes_its_own_receiver)
{
	ds_chan_t *ch = make(2, sizeof(struct item));
	struct op r[2];
	uint32_t sum;

	for (int i = 0; i < 2; i++)
		start_op(&r[i], ch, recv_op, 0, -1);
	await_blocked(ch, 0, 2);
	send_seq(ch, 10);
	send_seq(ch, 20);
	ck_assert_int_eq(finish_op(&r[0]), 0);
	ck_assert_int_eq(finish_op(&r[1]), 0);
	sum = r[0].item.seq + r[1].item.seq;
	ck_assert_uint_eq(sum, 30);
	ck_assert_uint_ne(r[0].item.seq, r[1].item.seq);
	ds_chan_destroy(ch);
}
END_TEST

/* ---- stress: many producers and consumers ----------------------------- */

#define PRODUCERS    4
#define CONSUMERS    3
#define PER_PRODUCER 20000
#define STRESS_CAP   3

struct stress {
	ds_chan_t *ch;
	pthread_barrier_t start;
	atomic_int next_id;	  /* hands out producer/consumer ids */
	atomic_long sent_done;	  /* sends that returned 0 */
	atomic_long recv_started; /* receives begun, minus failed ones */
	atomic_uchar seen[PRODUCERS][PER_PRODUCER];
	atomic_bool failed; /* an invariant broke */
};

static void flag_if(struct stress *s, bool broken)
{
	if (broken)
		atomic_store(&s->failed, true);
}

/* Sent items minus receives begun can never exceed the capacity: read
 * sent_done first, as both only make the difference smaller later. */
static void check_bound(struct stress *s)
{
	long sent = atomic_load(&s->sent_done);

	flag_if(s, sent - atomic_load(&s->recv_started) > STRESS_CAP);
}

/* Sends one item with the call chosen by seq: send, try_send, timeout. */
static int send_one(ds_chan_t *ch, const struct item *it)
{
	int err;

	switch (it->seq % 3) {
	case 0:
		return ds_chan_send(ch, it);
	case 1:
		while ((err = ds_chan_try_send(ch, it)) == EAGAIN)
			sched_yield();
		return err;
	default:
		while ((err = ds_chan_send_timeout(ch, it, 1)) == ETIMEDOUT)
			;
		return err;
	}
}

static void *producer(void *arg)
{
	struct stress *s = arg;
	uint32_t id = (uint32_t)atomic_fetch_add(&s->next_id, 1);

	pthread_barrier_wait(&s->start);
	for (uint32_t seq = 0; seq < PER_PRODUCER; seq++) {
		struct item it = make_item(id, seq);

		flag_if(s, send_one(s->ch, &it) != 0);
		atomic_fetch_add(&s->sent_done, 1);
		check_bound(s);
	}
	return NULL;
}

/* One receive with the call chosen by n; recv_started counts it first. */
static int recv_one(struct stress *s, struct item *it, unsigned n)
{
	int err;

	atomic_fetch_add(&s->recv_started, 1);
	if (n % 3 == 0)
		err = ds_chan_recv(s->ch, it);
	else if (n % 3 == 1)
		err = ds_chan_try_recv(s->ch, it);
	else
		err = ds_chan_recv_timeout(s->ch, it, 1);
	if (err)
		atomic_fetch_sub(&s->recv_started, 1);
	if (err == EAGAIN)
		sched_yield();
	return err;
}

/* An item is whole, new, and later than this consumer's last one of its
 * producer (FIFO seen from one receiver). */
static void check_item(struct stress *s, const struct item *it, int64_t *last)
{
	if (it->producer >= PRODUCERS || it->seq >= PER_PRODUCER ||
	    it->check != mix(it->producer, it->seq)) {
		flag_if(s, true);
		return;
	}
	flag_if(s, (int64_t)it->seq <= last[it->producer]);
	last[it->producer] = it->seq;
	flag_if(s, atomic_fetch_add(&s->seen[it->producer][it->seq], 1) != 0);
}

static void check_stats(struct stress *s)
{
	struct ds_chan_stats st;

	flag_if(s, ds_chan_stats(s->ch, &st) != 0);
	flag_if(s, st.len > STRESS_CAP || st.sent - st.received != st.len);
}

static void *consumer(void *arg)
{
	struct stress *s = arg;
	int64_t last[PRODUCERS];
	struct item it;
	unsigned n = 0;
	int err;

	for (int i = 0; i < PRODUCERS; i++)
		last[i] = -1;
	pthread_barrier_wait(&s->start);
	while ((err = recv_one(s, &it, n++)) != EPIPE) {
		flag_if(s, err != 0 && err != EAGAIN && err != ETIMEDOUT);
		if (!err)
			check_item(s, &it, last);
		if (n % 64 == 0)
			check_stats(s);
	}
	return NULL;
}

static void check_every_item_once(struct stress *s)
{
	struct ds_chan_stats st;

	for (int p = 0; p < PRODUCERS; p++)
		for (int q = 0; q < PER_PRODUCER; q++)
			flag_if(s, atomic_load(&s->seen[p][q]) != 1);
	flag_if(s, ds_chan_stats(s->ch, &st) != 0);
	flag_if(s, st.sent != PRODUCERS * PER_PRODUCER ||
			   st.received != st.sent || st.len != 0);
}

/* Runs in a child: exits 0 only when every invariant held. */
static void stress_child(void *arg)
{
	static struct stress s; /* seen[] is large: not on the stack */
	pthread_t prod[PRODUCERS], cons[CONSUMERS];

	(void)arg;
	if (ds_chan_create(&s.ch, STRESS_CAP, sizeof(struct item), "stress"))
		exit(2);
	pthread_barrier_init(&s.start, NULL, PRODUCERS + CONSUMERS);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_create(&cons[i], NULL, consumer, &s);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&prod[i], NULL, producer, &s);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	flag_if(&s, ds_chan_close(s.ch) != 0);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_join(cons[i], NULL);
	check_every_item_once(&s);
	ds_chan_destroy(s.ch);
	pthread_barrier_destroy(&s.start);
	exit(atomic_load(&s.failed) ? 1 : 0);
}

/* Runs fn in a child under the checker (reports abort it): it must exit 0
 * with no report of any kind. */
static void expect_silent_child(void (*fn)(void *), const char *what)
{
	const char *const env[] = { "LOCKCHECK_ACTION=abort", NULL };
	struct lct_child c;

	ck_assert_int_eq(lct_run_fn(fn, NULL, env, &c), 0);
	if (!lct_exited_with(&c, 0) || lct_count_all_reports(&c))
		lct_child_dump(&c, what);
	ck_assert(lct_exited_with(&c, 0));
	ck_assert_uint_eq(lct_count_all_reports(&c), 0);
	lct_child_free(&c);
}

START_TEST(test_stress_every_item_exactly_once_within_capacity)
{
	expect_silent_child(stress_child, "chan stress");
}
END_TEST

/* ---- lockcheck: real shapes stay silent ------------------------------- */

/* A producer sends while holding a lock of its own that the consumer
 * never takes: waiting for room there is no deadlock. */
struct holder {
	ds_chan_t *ch;
	lc_mutex_t mine;
};

static void *drain_all(void *arg)
{
	struct holder *h = arg;
	struct item it;

	while (ds_chan_recv(h->ch, &it) == 0)
		;
	return NULL;
}

static void send_holding_child(void *arg)
{
	struct holder h;
	pthread_t t;

	(void)arg;
	if (ds_chan_create(&h.ch, 1, sizeof(struct item), "holder") ||
	    lc_mutex_init(&h.mine, "producer.state"))
		exit(2);
	pthread_create(&t, NULL, drain_all, &h);
	for (uint32_t i = 0; i < 1000; i++) {
		struct item it = make_item(0, i);

		lc_mutex_lock(&h.mine);
		if (ds_chan_send(h.ch, &it))
			exit(1);
		lc_mutex_unlock(&h.mine);
	}
	ds_chan_close(h.ch);
	pthread_join(t, NULL);
	ds_chan_destroy(h.ch);
	lc_mutex_destroy(&h.mine);
}

START_TEST(test_send_holding_a_lock_no_receiver_needs_is_silent)
{
	expect_silent_child(send_holding_child, "send holding a lock");
}
END_TEST

/* A pipeline: a stage thread receives from a and sends to b, the main
 * thread feeds a and drains b; two channels of one create site. */
struct pipeline {
	ds_chan_t *a, *b;
};

static void *stage(void *arg)
{
	struct pipeline *pl = arg;
	struct item it;

	while (ds_chan_recv(pl->a, &it) == 0)
		if (ds_chan_send(pl->b, &it))
			exit(1);
	ds_chan_close(pl->b);
	return NULL;
}

static int make_pair(struct pipeline *pl)
{
	ds_chan_t **both[2] = { &pl->a, &pl->b };

	for (int i = 0; i < 2; i++)
		if (ds_chan_create(both[i], 2, sizeof(struct item), "stage"))
			return -1;
	return 0;
}

/* Keeps up to 3 items in flight: a and b fill and drain in turn. */
static void pipeline_child(void *arg)
{
	struct pipeline pl;
	struct item it;
	uint32_t got = 0;
	pthread_t t;

	(void)arg;
	if (make_pair(&pl))
		exit(2);
	pthread_create(&t, NULL, stage, &pl);
	for (uint32_t i = 0; i < 1000; i++) {
		struct item in = make_item(0, i);

		if (ds_chan_send(pl.a, &in))
			exit(1);
		if (i >= 3 && (ds_chan_recv(pl.b, &it) || it.seq != got++))
			exit(1);
	}
	ds_chan_close(pl.a);
	while (ds_chan_recv(pl.b, &it) == 0)
		if (it.seq != got++)
			exit(1);
	pthread_join(t, NULL);
	ds_chan_destroy(pl.a);
	ds_chan_destroy(pl.b);
	exit(got == 1000 ? 0 : 1);
}

START_TEST(test_pipeline_of_two_channels_is_silent)
{
	expect_silent_child(pipeline_child, "pipeline");
}
END_TEST

/* ---- death: destroy with a blocked thread ----------------------------- */

START_TEST(test_destroy_with_a_blocked_receiver_asserts)
{
	ds_chan_t *ch = make(1, sizeof(struct item));
	struct op r;

	start_op(&r, ch, recv_op, 0, -1);
	await_blocked(ch, 0, 1);
	ds_chan_destroy(ch); /* a usage error: aborts in debug builds */
}
END_TEST

#ifdef NDEBUG
static const bool asserts_on = false;
#else
static const bool asserts_on = true;
#endif

int main(void)
{
	Suite *s = suite_create("chan");
	TCase *core = tcase_create("core");
	TCase *threads = tcase_create("threads");
	TCase *stress = tcase_create("stress");
	TCase *checker = tcase_create("lockcheck");
	TCase *death = tcase_create("death");

	tcase_add_test(core, test_create_rejects_bad_arguments);
	tcase_add_test(core, test_new_channel_is_empty_and_open);
	tcase_add_test(core, test_items_come_out_in_order_across_the_wrap);
	tcase_add_test(core, test_items_are_copied_in_and_out);
	tcase_add_test(core, test_every_item_size_round_trips);
	tcase_add_test(core, test_try_calls_never_wait);
	tcase_add_test(core, test_timeout_calls_time_out);
	tcase_add_test(core, test_close_refuses_sends_and_drains_receives);
	tcase_add_test(core, test_close_twice_is_epipe);
	tcase_add_test(core, test_null_arguments_are_einval);
	tcase_add_test(core, test_name_is_copied);
	tcase_add_test(threads, test_send_waits_while_full_until_a_receive);
	tcase_add_test(threads, test_recv_waits_while_empty_until_a_send);
	tcase_add_test(threads,
		       test_timed_calls_succeed_when_the_wait_ends_in_time);
	tcase_add_test(threads, test_close_wakes_blocked_senders_with_epipe);
	tcase_add_test(threads, test_close_wakes_blocked_receivers_with_epipe);
	tcase_add_test(threads, test_each_item_wakes_its_own_receiver);
	tcase_set_timeout(stress, 240);
	tcase_add_test(stress,
		       test_stress_every_item_exactly_once_within_capacity);
	tcase_add_test(checker,
		       test_send_holding_a_lock_no_receiver_needs_is_silent);
	tcase_add_test(checker, test_pipeline_of_two_channels_is_silent);
	if (asserts_on)
		tcase_add_test_raise_signal(
			death, test_destroy_with_a_blocked_receiver_asserts,
			SIGABRT);
	suite_add_tcase(s, core);
	suite_add_tcase(s, threads);
	suite_add_tcase(s, stress);
	suite_add_tcase(s, checker);
	suite_add_tcase(s, death);
	return lct_run_suite(s);
}
