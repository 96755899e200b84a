/*
 * race_cell.h: a granule of the shadow, its cells and their notes
 * (race_shadow.c has the model), shared by the shadow and the access
 * fast path (race_access.c), which inlines them.
 */
#ifndef LOCKCHECK_RACE_CELL_H
#define LOCKCHECK_RACE_CELL_H

#include "race.h"

#define LC__GRANULE 8u
#define LC__CELLS   4

/* What a report says of a cell's access: written and read as a seqlock,
 * word (the cell it describes) last; 0 while it changes. Its fields are
 * stored with release and loaded with acquire, which orders them after
 * word's 0 and before word's second load (no fence: ThreadSanitizer does
 * not model fences; on x86 these are plain moves). */
struct lc__note {
	_Atomic uint64_t word;
	_Atomic(const struct lc__access_site *) at;
	_Atomic(const struct lc__class *) held[2];
	_Atomic uintptr_t addr;
	_Atomic uint32_t size;
	_Atomic uint8_t nheld;
};

/* On cache lines of its own: threads check granules of their own data
 * without false sharing. */
struct lc__granule {
	_Alignas(64) uint64_t key; /* address / LC__GRANULE, set before it is
				      published */
	_Atomic uint64_t cell[LC__CELLS];
	struct lc__note note[LC__CELLS];
};

/* A cell's word: clock (32 bits) | slot (16) | write (1) | bytes (8, a
 * bit a byte of the granule; 0 for an empty cell). */
static inline uint64_t lc__cell_pack(uint32_t slot, uint32_t clock, bool write,
				     unsigned bytes)
{
	return (uint64_t)clock << 32 | (uint64_t)slot << 9 |
	       (uint64_t)write << 8 | bytes;
}

static inline uint32_t lc__cell_clock(uint64_t c)
{
	return (uint32_t)(c >> 32);
}

static inline uint32_t lc__cell_slot(uint64_t c)
{
	return (uint32_t)(c >> 9) & 0xffff;
}

static inline bool lc__cell_write(uint64_t c)
{
	return (c >> 8) & 1;
}

static inline unsigned lc__cell_bytes(uint64_t c)
{
	return c & 0xff;
}

/* The bits of bytes [off, end) of a granule. */
static inline unsigned lc__granule_bytes(unsigned off, unsigned end)
{
	return (0xffu >> (LC__GRANULE - (end - off))) << off;
}

/* Whether cell c's access is ordered before thread rt's present. */
static inline bool lc__cell_ordered(const struct lc__race_thread *rt,
				    uint64_t c)
{
	uint32_t slot = lc__cell_slot(c);

	return slot == rt->slot ||
	       (slot < rt->vc.n && lc__cell_clock(c) <= rt->vc.c[slot]);
}

/*
 * Compares access (write, bytes) of thread rt with g's cells: empties
 * those it makes redundant (its bytes, ordered before it, no stronger
 * than it: a read never replaces a write) and gives in *slot where to
 * store it (an empty cell, else one by its clock). Returns the first
 * cell it races with, its word as loaded in *racy_c, or -1; with
 * first_race, as soon as it finds one (*slot is then not set): the fast
 * path needs no more, and keeps fewer values in registers. A cell of the
 * thread itself is ordered before it and never races: the common case,
 * tested first.
 */
static inline int lc__cells_scan(struct lc__granule *g,
				 const struct lc__race_thread *rt, bool write,
				 unsigned bytes, uint32_t clock,
				 bool first_race, int *slot, uint64_t *racy_c)
{
	const uint64_t slot_bits = (uint64_t)0xffff << 9;
	const uint64_t mine = (uint64_t)rt->slot << 9;
	int racy = -1, room = -1;

	for (int i = 0; i < LC__CELLS; i++) {
		uint64_t c =
			atomic_load_explicit(&g->cell[i], memory_order_acquire);
		unsigned cb = lc__cell_bytes(c);

		if (!cb) {
			room = room < 0 ? i : room;
		} else if ((c & slot_bits) != mine &&
			   !lc__cell_ordered(rt, c)) {
			if (racy < 0 && (cb & bytes) &&
			    (write || lc__cell_write(c))) {
				racy = i;
				*racy_c = c;
				if (first_race)
					return racy;
			}
		} else if (!(cb & ~bytes) && (write || !lc__cell_write(c))) {
			/* redundant */
			if (room < 0)
				room = i;
			else
				atomic_store_explicit(&g->cell[i], 0,
						      memory_order_relaxed);
		}
	}
	*slot = room < 0 ? (int)(clock % LC__CELLS) : room;
	return racy;
}

/* Stores cell c in g's cell i, with its note: the access at site at,
 * of [addr, addr + size), holding nheld locks, the first two held. */
static inline void lc__cell_store(struct lc__granule *g, int i, uint64_t c,
				  const struct lc__access_site *at,
				  const struct lc__class *const held[2],
				  uint8_t nheld, uintptr_t addr, uint32_t size)
{
	struct lc__note *n = &g->note[i];

	atomic_store_explicit(&n->word, 0, memory_order_relaxed);
	atomic_store_explicit(&n->at, at, memory_order_release);
	atomic_store_explicit(&n->held[0], held[0], memory_order_release);
	atomic_store_explicit(&n->held[1], held[1], memory_order_release);
	atomic_store_explicit(&n->nheld, nheld, memory_order_release);
	atomic_store_explicit(&n->addr, addr, memory_order_release);
	atomic_store_explicit(&n->size, size, memory_order_release);
	atomic_store_explicit(&n->word, c, memory_order_release);
	atomic_store_explicit(&g->cell[i], c, memory_order_release);
}

/* The granule of key that thread rt hinted, or NULL. */
static inline struct lc__granule *lc__granule_hinted(struct lc__race_thread *rt,
						     uint64_t key)
{
	const struct lc__shadow_hint *h = &rt->hint[key % LC__SHADOW_HINTS];

	return h->key == key ? h->g : NULL;
}

#endif /* LOCKCHECK_RACE_CELL_H */
