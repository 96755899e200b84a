/*
 * race_defer.c: lc_unguard and lc_handoff from a signal handler that
 * interrupted its thread inside the checker. That thread may hold any of
 * the race checker's locks, so the handler takes none: it notes the range
 * in a fixed table (atomics only: async-signal-safe), and the next race
 * call of any thread applies the notes before its own work. Skipping them
 * instead would leave a declaration or a history that memory reused later
 * could be reported against: a false report. A note is applied before any
 * call that comes after the handler's in the program's order, since that
 * call's thread sees the count of pending notes (lc__race_gate's low
 * bits, raised before the note is READY) and waits for apply_mu until the
 * note is applied.
 *
 * A handler's call that a READY note makes already (the same range and
 * call: a handler may repeat its calls faster than they are applied) adds
 * none: applying one is applying both.
 *
 * Invariants: a note's range is written only in state FILLING, by the
 * handler that claimed it, after its seq grew; it is applied only by the
 * thread that moved it from READY to APPLYING, under apply_mu; the
 * gate's count is the number of notes claimed and not yet applied.
 */
#define _GNU_SOURCE
#include "race.h"

#define NOTES 128 /* far below LC__GATE_PENDING */

enum { FREE, FILLING, READY, APPLYING };

struct note {
	_Atomic int state;
	_Atomic uint32_t seq; /* claims so far: a reader's check */
	_Atomic uintptr_t lo, hi;
	_Atomic bool unguard; /* lc_unguard; else lc_handoff */
};

static struct note notes[NOTES];
/* Taken before the race locks (and first of them at a fork). */
static pthread_mutex_t apply_mu = PTHREAD_MUTEX_INITIALIZER;

/* Whether n is a note of the same call that no thread started applying:
 * the call is made by that note already. Read like a seqlock: the note
 * may be applied, freed and claimed again meanwhile. */
static bool pending_same(struct note *n, uintptr_t lo, uintptr_t hi,
			 bool unguard)
{
	uint32_t seq = atomic_load(&n->seq);
	bool same;

	if (atomic_load(&n->state) != READY)
		return false;
	same = atomic_load(&n->lo) == lo && atomic_load(&n->hi) == hi &&
	       atomic_load(&n->unguard) == unguard;
	return same && atomic_load(&n->state) == READY &&
	       atomic_load(&n->seq) == seq;
}

bool lc__race_defer(uintptr_t lo, uintptr_t hi, bool unguard)
{
	for (int i = 0; i < NOTES; i++)
		if (pending_same(&notes[i], lo, hi, unguard))
			return true;
	for (int i = 0; i < NOTES; i++) {
		struct note *n = &notes[i];
		int expect = FREE;

		if (!atomic_compare_exchange_strong(&n->state, &expect,
						    FILLING))
			continue;
		atomic_fetch_add(&lc__race_gate, 1);
		atomic_fetch_add(&n->seq, 1);
		atomic_store(&n->lo, lo);
		atomic_store(&n->hi, hi);
		atomic_store(&n->unguard, unguard);
		atomic_store(&n->state, READY);
		return true;
	}
	return false;
}

void lc__race_apply_slow(void)
{
	pthread_mutex_lock(&apply_mu);
	for (int i = 0; i < NOTES; i++) {
		struct note *n = &notes[i];
		int expect = READY;

		if (!atomic_compare_exchange_strong(&n->state, &expect,
						    APPLYING))
			continue;
		lc__race_forget(atomic_load(&n->lo), atomic_load(&n->hi),
				atomic_load(&n->unguard));
		atomic_store(&n->state, FREE);
		atomic_fetch_sub(&lc__race_gate, 1);
	}
	pthread_mutex_unlock(&apply_mu);
}

/* In the child, a note another thread was filling stays unfinished: it
 * is freed, and the gate counts what is left. */
void lc__race_defer_fork_lock(int how)
{
	int left = 0;

	if (how > 0) {
		pthread_mutex_lock(&apply_mu);
		return;
	}
	if (how < 0) {
		for (int i = 0; i < NOTES; i++) {
			int expect = FILLING;

			atomic_compare_exchange_strong(&notes[i].state, &expect,
						       FREE);
			assert(atomic_load(&notes[i].state) != APPLYING);
			left += atomic_load(&notes[i].state) == READY;
		}
		atomic_store(&lc__race_gate,
			     (atomic_load(&lc__race_gate) & ~LC__GATE_PENDING) |
				     (uint32_t)left);
	}
	pthread_mutex_unlock(&apply_mu);
}
