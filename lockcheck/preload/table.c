/*
 * table.c: the checker's state of each program lock, by the lock's
 * address. A fixed array of buckets, each a list of entries that only
 * grows: lookups take no lock and never meet a freed entry. A lock's
 * destroy frees its entry for the next lock whose address falls in the
 * same bucket, so the table holds as many entries per bucket as there
 * were locks alive there at once.
 *
 * Invariants: an entry's next is set before the entry is published and
 * never changes; an entry is in the bucket of every address it held; a
 * live address is in at most one entry (claims of one address are
 * serialised by the bucket's insert lock).
 */
#define _GNU_SOURCE
#include "preload.h"

#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#define BUCKETS (1u << 16)

static struct lc__pre_lock *_Atomic buckets[BUCKETS];
static atomic_flag claiming[256]; /* per bucket group: one claimer */

static uint32_t bucket_of(const void *addr)
{
	return (uint32_t)(lc__mix64((uint64_t)(uintptr_t)addr) >> 48);
}

struct lc__pre_lock *lc__pre_find(const void *addr)
{
	struct lc__pre_lock *e = atomic_load_explicit(&buckets[bucket_of(addr)],
						      memory_order_acquire);

	for (; e; e = e->next)
		if (atomic_load_explicit(&e->addr, memory_order_acquire) ==
		    (uintptr_t)addr)
			return e;
	return NULL;
}

/* Under the bucket's claim flag: a free entry of the bucket, or a new one
 * at its head; made ready by init before addr publishes it (only the
 * flag's holder turns a free entry's addr from 0). */
static struct lc__pre_lock *claim_locked(uint32_t b, const void *addr,
					 lc__pre_init_fn *init, void *arg)
{
	struct lc__pre_lock *head = atomic_load(&buckets[b]), *e;
	bool reused = false;

	for (e = head; e && !reused; e = reused ? e : e->next)
		reused = atomic_load(&e->addr) == 0;
	if (!reused) {
		e = lc__pre_alloc(sizeof(*e));
		if (!e)
			return NULL;
		e->next = head;
	}
	memset(&e->lk, 0, sizeof(e->lk));
	e->treat = LC__PRE_CHECKED;
	init(e, arg);
	atomic_store_explicit(&e->addr, (uintptr_t)addr, memory_order_release);
	if (!reused)
		atomic_store_explicit(&buckets[b], e, memory_order_release);
	return e;
}

struct lc__pre_lock *lc__pre_claim(const void *addr, lc__pre_init_fn *init,
				   void *arg)
{
	uint32_t b = bucket_of(addr);
	atomic_flag *flag = &claiming[b & 255];
	struct lc__pre_lock *e;

	if ((e = lc__pre_find(addr)))
		return e;
	while (atomic_flag_test_and_set_explicit(flag, memory_order_acquire))
		sched_yield(); /* another thread claims in this group */
	e = lc__pre_find(addr);
	if (!e)
		e = claim_locked(b, addr, init, arg);
	atomic_flag_clear_explicit(flag, memory_order_release);
	return e;
}

void lc__pre_release(struct lc__pre_lock *e)
{
	atomic_store_explicit(&e->addr, 0, memory_order_release);
}

void lc__pre_table_hold(void)
{
	for (size_t i = 0; i < sizeof(claiming) / sizeof(claiming[0]); i++)
		while (atomic_flag_test_and_set_explicit(&claiming[i],
							 memory_order_acquire))
			sched_yield();
}

void lc__pre_table_free(void)
{
	for (size_t i = 0; i < sizeof(claiming) / sizeof(claiming[0]); i++)
		atomic_flag_clear_explicit(&claiming[i], memory_order_release);
}
