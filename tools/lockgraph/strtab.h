/*
 * strtab.h: interned strings. Every name, file, function and thread name of
 * the merged graph is stored once and named by a 32-bit id, so a thousand
 * dumps of the same program cost one copy of each string, and equal strings
 * have equal ids (compare ids, not bytes).
 *
 * Strings are NUL-terminated and contain no NUL (the parser refuses one).
 * Id 0 is the empty string.
 */
#ifndef LOCKGRAPH_STRTAB_H
#define LOCKGRAPH_STRTAB_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "index.h"

struct lg_strtab {
	char *bytes;	     /* all strings, each NUL-terminated */
	uint64_t len, cap;   /* bytes used and allocated */
	uint64_t *off;	     /* id -> offset in bytes */
	uint32_t n, off_cap; /* ids in use */
	struct lg_index ix;  /* bytes -> id */
};

/* An empty table holding only id 0 (""). 0 or ENOMEM. */
int lg_strtab_init(struct lg_strtab *t);
void lg_strtab_free(struct lg_strtab *t);

/* The id of s[0..n), added when new. 0 or ENOMEM. */
int lg_str_intern(struct lg_strtab *t, const char *s, size_t n, uint32_t *id);

/* The string of id; valid until the next intern. */
static inline const char *lg_str(const struct lg_strtab *t, uint32_t id)
{
	assert(id < t->n && t->off[id] < t->len);
	return t->bytes + t->off[id];
}

#endif /* LOCKGRAPH_STRTAB_H */
