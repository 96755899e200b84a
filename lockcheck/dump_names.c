/*
 * dump_names.c: the names classes get in the dump. lockgraph knows a class
 * by its name and init site (file, line) as the dump shows them (escaped
 * and cut, lockcheck/text.h), but two init calls on one line that give
 * one name are two classes here, and so are two names that differ only
 * past the cut. In the dump such a class's name is followed by its call's
 * argument text, "twin (&a->lock, \"twin\")", and by a rank, " #2", when
 * even that is the same (one call written twice on one line); every other
 * class keeps its own name. Both are fixed at compile time and in the
 * order the calls run, so every process names the same classes alike.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* The class's init site and name as the dump's line shows them. */
static uint64_t site_key(const struct lc__class *c)
{
	char name[LC_TEXT_ESCAPED_MAX], file[LC_TEXT_ESCAPED_MAX];

	return lc__hash_str(
		lc__hash_str((uint64_t)c->line, lc_text_line(file, c->file)),
		lc_text_line(name, c->name));
}

static uint64_t call_key(const struct lc__class *c)
{
	char text[LC_TEXT_ESCAPED_MAX];

	return lc__hash_str(site_key(c),
			    c->text ? lc_text_line(text, c->text) : "");
}

/* Adds one to key's count; returns the new count (0: no memory). */
static uint32_t bump(struct lc__u64map *m, uint64_t key)
{
	uint32_t n = 0;

	lc__u64map_get(m, key, &n);
	return lc__u64map_put(m, key, n + 1) ? 0 : n + 1;
}

static uint32_t count(const struct lc__u64map *m, uint64_t key)
{
	uint32_t n = 0;

	lc__u64map_get(m, key, &n);
	return n;
}

/* Appends c's name, with its call's text and rank when twin, and a NUL. */
static void put_name(struct lc__buf *out, const struct lc__class *c, bool twin,
		     uint32_t rank)
{
	lc__buf_put_text(out, c->name);
	if (twin) {
		lc__buf_add(out, " (");
		lc__buf_put_text(out, c->text ? c->text : "initializer");
		lc__buf_add(out, ")");
	}
	if (rank)
		lc__buf_add(out, " #%u", rank);
	lc__buf_putc(out, '\0');
}

/* Counts each site, then each call of a site with more than one class. */
static int count_all(struct lc__u64map *sites, struct lc__u64map *calls,
		     uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (!bump(sites, site_key(lc__class_by_id(i))))
			return ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		const struct lc__class *c = lc__class_by_id(i);

		if (count(sites, site_key(c)) > 1 && !bump(calls, call_key(c)))
			return ENOMEM;
	}
	return 0;
}

int lc__dump_names(struct lc__buf *out, size_t *off, uint32_t n)
{
	struct lc__u64map sites = { 0 }, calls = { 0 }, ranks = { 0 };
	int err = count_all(&sites, &calls, n);

	for (uint32_t i = 0; i < n && !err; i++) {
		const struct lc__class *c = lc__class_by_id(i);
		bool twin = count(&sites, site_key(c)) > 1;
		uint32_t rank = 0;

		if (twin && count(&calls, call_key(c)) > 1 &&
		    !(rank = bump(&ranks, call_key(c))))
			err = ENOMEM;
		off[i] = out->len;
		put_name(out, c, twin, rank);
	}
	lc__u64map_free(&sites);
	lc__u64map_free(&calls);
	lc__u64map_free(&ranks);
	return err || out->cut ? ENOMEM : 0;
}
