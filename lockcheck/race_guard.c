/*
 * race_guard.c: the guard declarations, an interval list sorted by first
 * byte. Declarations may overlap; an access meets every one that has a
 * byte in common with it. A lookup finds by binary search the first
 * declaration starting past the access and walks back over those that
 * could still reach it (none is longer than maxlen). Under
 * lc__guards_lock.
 * Invariants: g[i].lo <= g[i+1].lo; lo < hi; hi - lo <= maxlen.
 */
#define _GNU_SOURCE
#include "race.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

pthread_rwlock_t lc__guards_lock = PTHREAD_RWLOCK_INITIALIZER;
_Atomic uint64_t lc__guards_gen = 1; /* 0 marks an empty lookup */

static struct lc__guard_decl *g;
static uint32_t n, cap;
static uintptr_t maxlen;

/* The first declaration whose lo is at least lo. */
static uint32_t first_at(uintptr_t lo)
{
	uint32_t a = 0, b = n;

	while (a < b) {
		uint32_t m = a + (b - a) / 2;

		if (g[m].lo < lo)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* For assert() only. */
static __attribute__((unused)) bool sorted(void)
{
	for (uint32_t i = 1; i < n; i++)
		if (g[i - 1].lo > g[i].lo)
			return false;
	return true;
}

static int insert(const struct lc__guard_decl *d)
{
	uint32_t at;

	assert(d->lo < d->hi);
	if (n == cap) {
		uint32_t ncap = cap ? cap * 2 : 16;
		struct lc__guard_decl *p = realloc(g, ncap * sizeof(*p));

		if (!p)
			return ENOMEM;
		g = p;
		cap = ncap;
	}
	at = first_at(d->lo);
	memmove(&g[at + 1], &g[at], (n - at) * sizeof(*g));
	g[at] = *d;
	n++;
	if (d->hi - d->lo > maxlen)
		maxlen = d->hi - d->lo;
	return 0;
}

int lc__guards_add(const struct lc__guard_decl *d)
{
	int err = insert(d);

	atomic_fetch_add(&lc__guards_gen, 1);
	assert(sorted());
	return err;
}

static void remove_at(uint32_t i)
{
	memmove(&g[i], &g[i + 1], (n - i - 1) * sizeof(*g));
	n--;
}

/* Keeps piece d of a declaration cut by lc__guards_remove. */
static void keep(struct lc__guard_decl **kept, uint32_t *nkept,
		 const struct lc__guard_decl *d)
{
	struct lc__guard_decl *p =
		realloc(*kept, (*nkept + 1) * sizeof(**kept));

	if (!p)
		return; /* forgotten: a miss, never a false report */
	p[(*nkept)++] = *d;
	*kept = p;
}

/* The declarations' bytes in [lo, hi) go; what they cover outside the
 * range stays declared (one declaration may become two). Removed from
 * the top down, so the entries below are where they were; the pieces
 * kept go back in after. */
void lc__guards_remove(uintptr_t lo, uintptr_t hi)
{
	struct lc__guard_decl *kept = NULL;
	uint32_t nkept = 0, i = first_at(hi);

	while (i-- > 0) {
		struct lc__guard_decl d = g[i];

		if (d.hi <= lo) {
			if (d.lo + maxlen <= lo)
				break;
			continue;
		}
		remove_at(i);
		if (d.lo < lo)
			keep(&kept, &nkept,
			     &(struct lc__guard_decl){ d.lo, lo, d.lk, d.id,
						       d.cls, d.name, d.at });
		if (d.hi > hi)
			keep(&kept, &nkept,
			     &(struct lc__guard_decl){ hi, d.hi, d.lk, d.id,
						       d.cls, d.name, d.at });
	}
	for (uint32_t k = 0; k < nkept; k++)
		insert(&kept[k]);
	free(kept);
	atomic_fetch_add(&lc__guards_gen, 1);
	assert(sorted());
}

void lc__guards_each(uintptr_t lo, uintptr_t hi,
		     bool (*fn)(const struct lc__guard_decl *d, void *arg),
		     void *arg)
{
	uint32_t i = first_at(hi);

	while (i-- > 0) {
		if (g[i].hi <= lo) {
			if (g[i].lo + maxlen <= lo)
				break;
			continue;
		}
		if (!fn(&g[i], arg))
			return;
	}
}
