/*
 * race_inventory.c: which locks guarded which data, for the dump (advice,
 * not findings). Each checked range, a declaration or else the bytes of
 * one access, keeps how often it was accessed and written, by how many
 * threads, and Eraser's candidate set: the lock classes held at every
 * access (the first access's set, intersected with each later one's).
 * `lockgraph guards` turns it into suggested declarations and a list of
 * unguarded shared data. Kept only when a dump will be written
 * (LOCKCHECK_DUMP), under a mutex of its own (a leaf). Invariants: nlocks
 * <= MAX_LOCKS; a range's lock set only shrinks; ntids <= MAX_TIDS, and
 * threads == ntids until ntids reaches MAX_TIDS.
 *
 * Threads are counted exactly up to MAX_TIDS (their tids kept), which is
 * what `guards` asks (one thread or several); past it, by a bitmap of
 * tid % 64, which misses a thread whose bit an earlier one set: a lower
 * bound, never below MAX_TIDS.
 */
#define _GNU_SOURCE
#include "race.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOCKS  4
#define MAX_RANGES 65536
#define MAX_TIDS   4

struct range {
	uintptr_t lo, hi;
	struct lc__site at; /* the declaration, or the first access */
	const char *guard;  /* the declared lock's name, or NULL */
	uint64_t accesses, writes;
	int tids[MAX_TIDS];	   /* the first threads that accessed it */
	uint64_t seen;		   /* bit tid % 64: thread tid accessed it */
	uint32_t threads;	   /* distinct threads (exact up to MAX_TIDS) */
	uint32_t locks[MAX_LOCKS]; /* candidate set: class ids */
	uint8_t nlocks, ntids;
};

static pthread_mutex_t inv_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lc__u64map index_of;
static struct range *ranges;
static uint32_t nranges, cap;
static bool full;

void lc__inventory_fork_lock(bool lock)
{
	if (lock)
		pthread_mutex_lock(&inv_mu);
	else
		pthread_mutex_unlock(&inv_mu);
}

static uint64_t key_of(uintptr_t lo, uintptr_t hi)
{
	return lc__mix64((uint64_t)lo * 31 + hi);
}

static struct range *find_or_make(uintptr_t lo, uintptr_t hi,
				  const struct lc__site *at, const char *guard)
{
	uint64_t key = key_of(lo, hi);
	uint32_t i;

	if (lc__u64map_get(&index_of, key, &i) && ranges[i].lo == lo &&
	    ranges[i].hi == hi)
		return &ranges[i];
	if (full || nranges == MAX_RANGES)
		goto full;
	if (nranges == cap) {
		uint32_t ncap = cap ? cap * 2 : 64;
		struct range *r = realloc(ranges, ncap * sizeof(*r));

		if (!r)
			goto full;
		ranges = r;
		cap = ncap;
	}
	if (lc__u64map_put(&index_of, key, nranges))
		goto full;
	ranges[nranges] =
		(struct range){ .lo = lo, .hi = hi, .at = *at, .guard = guard };
	return &ranges[nranges++];
full:
	full = true; /* the inventory is advice: it stops, silently */
	return NULL;
}

/* The candidate set meets the locks t holds now. */
static void intersect(struct range *r, const struct lc__thread *t)
{
	uint8_t k = 0;

	for (uint8_t i = 0; i < r->nlocks; i++) {
		bool held = false;

		for (uint32_t j = 0; j < t->nheld && !held; j++)
			held = t->held[j].cls &&
			       t->held[j].cls->id == r->locks[i];
		if (held)
			r->locks[k++] = r->locks[i];
	}
	r->nlocks = k;
}

static bool in_set(const struct range *r, uint32_t id)
{
	for (uint8_t i = 0; i < r->nlocks; i++)
		if (r->locks[i] == id)
			return true;
	return false;
}

/* The classes held (each once: locks of one class count as one). */
static void first_set(struct range *r, const struct lc__thread *t)
{
	for (uint32_t j = 0; j < t->nheld && r->nlocks < MAX_LOCKS; j++)
		if (t->held[j].cls && !in_set(r, t->held[j].cls->id))
			r->locks[r->nlocks++] = t->held[j].cls->id;
}

/* Counts thread tid in r's threads, once. */
static void count_thread(struct range *r, int tid)
{
	uint64_t bit = (uint64_t)1 << ((unsigned)tid % 64);

	for (uint8_t i = 0; i < r->ntids; i++)
		if (r->tids[i] == tid)
			return;
	if (r->ntids < MAX_TIDS) {
		r->tids[r->ntids++] = tid;
		r->threads++;
	} else if (!(r->seen & bit)) {
		r->threads++;
	}
	r->seen |= bit;
	assert(r->threads >= r->ntids);
}

void lc__inventory_note(const struct lc__thread *t, uintptr_t lo, uintptr_t hi,
			bool write, const struct lc__site *at,
			const struct lc__guard_decl *decl, int tid)
{
	struct range *r;

	if (!lc__cfg.dump)
		return;
	if (decl) {
		lo = decl->lo;
		hi = decl->hi;
		at = &decl->at;
	}
	pthread_mutex_lock(&inv_mu);
	r = find_or_make(lo, hi, at, decl ? decl->name : NULL);
	if (r) {
		if (r->accesses++ == 0)
			first_set(r, t);
		else
			intersect(r, t);
		r->writes += write;
		count_thread(r, tid);
	}
	pthread_mutex_unlock(&inv_mu);
}

/* Under lc__slow (the dump): one line per range with an access. */
uint32_t lc__inventory_dump(struct lc__buf *b,
			    void (*put_str)(struct lc__buf *b, const char *s))
{
	uint32_t n = 0;

	pthread_mutex_lock(&inv_mu);
	for (uint32_t i = 0; i < nranges; i++) {
		const struct range *r = &ranges[i];
		char what[300];

		if (r->guard)
			snprintf(what, sizeof(what), "guarded by %s", r->guard);
		else
			snprintf(what, sizeof(what), "%s()",
				 r->at.func ? r->at.func : "?");
		lc__buf_add(b, "range %llu %llu %u %llu ",
			    (unsigned long long)r->accesses,
			    (unsigned long long)r->writes, r->threads,
			    (unsigned long long)(r->hi - r->lo));
		if (!r->nlocks)
			lc__buf_putc(b, '-');
		for (uint8_t k = 0; k < r->nlocks; k++)
			lc__buf_add(b, "%s%u", k ? "," : "", r->locks[k]);
		put_str(b, what);
		put_str(b, r->at.file);
		lc__buf_add(b, " %d\n", r->at.line);
		n++;
	}
	pthread_mutex_unlock(&inv_mu);
	return n;
}
