/*
 * symbols.h: modules and symbols for the names of locks and call sites
 * (symbols.c).
 */
#ifndef LOCKCHECK_PRELOAD_SYMBOLS_H
#define LOCKCHECK_PRELOAD_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lc__pre_module {
	uintptr_t base;	  /* load bias: an address minus it is its offset */
	bool writable;	  /* the address lies in a writable segment */
	char path[512];	  /* the module's file */
	const char *name; /* its base name, within path */
};

/* The loaded module that contains addr; false when none does (heap,
 * stack). */
bool lc__pre_module_of(const void *addr, struct lc__pre_module *out);

/* The function (object false) or variable (object true) of module m that
 * contains addr: its name in name[size], addr's offset in it in *off.
 * False when the module has no such symbol (a stripped binary's static
 * data). */
bool lc__pre_symbol(const struct lc__pre_module *m, const void *addr,
		    bool object, char *name, size_t size, uintptr_t *off);

/* Fork: holds the symbol tables' lock; frees it (in the child: makes it
 * anew). */
void lc__pre_symbols_hold(void);
void lc__pre_symbols_free(bool in_child);

#endif /* LOCKCHECK_PRELOAD_SYMBOLS_H */
