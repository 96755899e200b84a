/*
 * fork.c: the preload's own locks across fork. A child has one thread: a
 * claim or a symbol lookup another thread was making at the fork would
 * never end there. The handlers hold them all over the fork, in the order
 * a first sighting nests them (table claim, site claim, symbol tables).
 */
#define _GNU_SOURCE
#include "preload.h"
#include "symbols.h"

void lc__pre_fork_prepare(void)
{
	lc__pre_table_hold();
	lc__pre_sites_hold();
	lc__pre_symbols_hold();
}

void lc__pre_fork_parent(void)
{
	lc__pre_symbols_free(false);
	lc__pre_sites_free();
	lc__pre_table_free();
}

void lc__pre_fork_child(void)
{
	lc__pre_symbols_free(true);
	lc__pre_sites_free();
	lc__pre_table_free();
}
