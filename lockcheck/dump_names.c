/*
 * dump_names.c: the names classes get in the dump. lockgraph knows a class
 * by its name and init site (file, line), but two init calls on one line
 * that give one name are two classes here. In the dump such a class's name
 * is followed by its call's argument text, "twin (&a->lock, \"twin\")", and
 * by a rank, " #2", when even that is the same (one call written twice on
 * one line); every other class keeps its own name. Both are fixed at
 * compile time and in the order the calls run, so every process names the
 * same classes alike.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

static uint64_t site_key(const struct lc__class *c)
{
	return lc__hash_str(lc__hash_str((uint64_t)c->line, c->file), c->name);
}

static uint64_t call_key(const struct lc__class *c)
{
	return lc__hash_str(site_key(c), c->text ? c->text : "");
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

/* Under lc__slow: c's name with its call's text and rank. */
static const char *long_name(const struct lc__class *c, uint32_t rank)
{
	char buf[1024];

	if (rank)
		snprintf(buf, sizeof(buf), "%s (%s) #%u", c->name,
			 c->text ? c->text : "initializer", rank);
	else
		snprintf(buf, sizeof(buf), "%s (%s)", c->name,
			 c->text ? c->text : "initializer");
	return lc__intern_line(buf);
}

void lc__dump_names(const char **names, uint32_t n)
{
	struct lc__u64map sites = { 0 }, calls = { 0 }, ranks = { 0 };

	for (uint32_t i = 0; i < n; i++) {
		names[i] = lc__class_by_id(i)->name;
		bump(&sites, site_key(lc__class_by_id(i)));
	}
	for (uint32_t i = 0; i < n; i++)
		if (count(&sites, site_key(lc__class_by_id(i))) > 1)
			bump(&calls, call_key(lc__class_by_id(i)));
	for (uint32_t i = 0; i < n; i++) {
		const struct lc__class *c = lc__class_by_id(i);

		if (count(&sites, site_key(c)) < 2)
			continue;
		names[i] = long_name(c, count(&calls, call_key(c)) > 1
						? bump(&ranks, call_key(c))
						: 0);
	}
	lc__u64map_free(&sites);
	lc__u64map_free(&calls);
	lc__u64map_free(&ranks);
}
