/*
 * classes.c: lock classes, instance ids and interned strings.
 *
 * A class is an init call. A lock initialised by an init macro finds its
 * class through the static key of that call, lockdep's way, once the key
 * is resolved: keys with the same call (file, line, argument text) from
 * different translation units are one class (an init in a header's static
 * inline function has one key per .c file), two keys of one translation
 * unit are two calls even when their text is the same. A lock from
 * LC_*_INITIALIZER has no key: its class is its (name, file, line), looked
 * up when the lock is first used. Classes are never freed: edges keep
 * referring to them after every lock of the class is gone. Class ids are
 * dense, from 0: classes[id]->id == id. A class is whole or not at all:
 * made with its strings and entered in the maps that find it again, or,
 * when memory for any of that runs out, dropped before anything refers to
 * it (a class that could not be found again would be made twice, and a
 * dump with one class twice is refused by lockgraph).
 */
#define _GNU_SOURCE
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static struct lc__class **classes; /* by id; lc__slow */
static uint32_t nclasses, classes_cap;
static struct lc__u64map by_site; /* initializer classes: site hash -> id */
static struct lc__u64map by_call; /* keyed: call hash -> first class id */
static struct lc__u64map bound;	  /* (class, translation unit) pairs */
static _Atomic uint64_t next_instance = 1;

/* Interned strings: hash -> index of the first string with that hash;
 * same-hash strings are chained through intern_next. */
static struct lc__u64map interned;
static char **intern_str;
static uint32_t *intern_next;
static uint32_t nintern, intern_cap;

uint64_t lc__hash_str(uint64_t seed, const char *s)
{
	uint64_t h = lc__mix64(seed ^ 0x5bd1e995);

	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return lc__mix64(h);
}

static int intern_grow(void)
{
	uint32_t cap = intern_cap ? intern_cap * 2 : 64;
	char **s = realloc(intern_str, cap * sizeof(*s));
	uint32_t *n;

	if (!s)
		return -1;
	intern_str = s;
	n = realloc(intern_next, cap * sizeof(*n));
	if (!n)
		return -1;
	intern_next = n;
	intern_cap = cap;
	return 0;
}

/* s interned, or NULL when there is no memory for it. */
static const char *intern_or_null(const char *s)
{
	uint64_t h = lc__hash_str(0, s);
	uint32_t i, head = LC__NONE;
	char *copy;

	if (lc__u64map_get(&interned, h, &head))
		for (i = head; i != LC__NONE; i = intern_next[i])
			if (strcmp(intern_str[i], s) == 0)
				return intern_str[i];
	if (nintern == intern_cap && intern_grow())
		return NULL;
	copy = strdup(s);
	if (!copy || lc__u64map_put(&interned, h, nintern)) {
		free(copy);
		return NULL;
	}
	intern_str[nintern] = copy;
	intern_next[nintern] = head;
	return intern_str[nintern++];
}

const char *lc__intern(const char *s)
{
	const char *p;

	if (!s)
		return NULL;
	p = intern_or_null(s);
	if (!p)
		lc__report_limit("memory", "no memory for a name or a site; "
					   "it is shown as (no memory)");
	return p ? p : "(no memory)";
}

/* The first LC_TEXT_MAX + 1 bytes of s interned, NULL: no memory. */
static const char *intern_prefix(const char *s)
{
	char buf[LC_TEXT_MAX + 2];

	lc__copy_name(buf, sizeof(buf), s);
	return intern_or_null(buf);
}

void lc__copy_name(char *buf, size_t size, const char *name)
{
	size_t n = strnlen(name, size - 1 < LC_TEXT_MAX + 1 ? size - 1
							    : LC_TEXT_MAX + 1);

	assert(size >= LC_TEXT_MAX + 2);
	memcpy(buf, name, n);
	buf[n] = '\0';
}

const char *lc__intern_line(const char *name)
{
	char buf[LC_TEXT_MAX + 2];

	if (!name)
		return NULL;
	lc__copy_name(buf, sizeof(buf), name);
	return lc__intern(buf);
}

struct lc__class *lc__class_by_id(uint32_t id)
{
	if (id >= nclasses)
		return NULL;
	assert(classes[id]->id == id);
	return classes[id];
}

uint32_t lc__class_count(void)
{
	return nclasses;
}

static struct lc__class *class_new(const struct lc__lock *lk)
{
	struct lc__class *c;

	if (nclasses >= lc__cfg.max_classes) {
		lc__report_limit("classes", "LOCKCHECK_MAX_CLASSES reached");
		return NULL;
	}
	if (nclasses == classes_cap) {
		uint32_t cap = classes_cap ? classes_cap * 2 : 256;
		struct lc__class **p = realloc(classes, cap * sizeof(*p));

		if (!p)
			goto no_memory;
		classes = p;
		classes_cap = cap;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto no_memory;
	assert(nclasses < classes_cap);
	c->id = nclasses;
	c->first_chain[LC__READ] = lc__chain_next(0, c->id, LC__READ);
	c->first_chain[LC__WRITE] = lc__chain_next(0, c->id, LC__WRITE);
	c->kind = lk->kind;
	c->name = intern_prefix(lk->name ? lk->name : "(unnamed lock)");
	c->file = intern_prefix(lk->file ? lk->file : "(unknown)");
	c->line = lk->line;
	c->keyed = lk->key != NULL;
	c->text = lk->key ? intern_prefix(lk->key->text) : NULL;
	c->next_same = LC__NONE;
	if (!c->name || !c->file || (lk->key && !c->text)) {
		free(c);
		goto no_memory;
	}
	classes[nclasses++] = c;
	return c;
no_memory:
	lc__report_limit("memory", "no memory for a new lock class; its "
				   "locks are held but not ordered");
	return NULL;
}

/* Undoes class_new(c), the class made last, that nothing refers to yet:
 * it could not be entered in the maps that find it. */
static void class_drop(struct lc__class *c)
{
	assert(nclasses > 0 && classes[nclasses - 1] == c);
	nclasses--;
	free(c);
	lc__report_limit("memory", "no memory for a new lock class; its "
				   "locks are held but not ordered");
}

/* An initializer's site is its name, file and line (initializers with
 * distinct names are distinct classes). */
static uint64_t site_hash(const struct lc__lock *lk)
{
	return lc__hash_str(lc__hash_str((uint64_t)lk->line, lk->file),
			    lk->name);
}

static bool same_text(const char *stored, const char *raw)
{
	char buf[LC_TEXT_MAX + 2];

	lc__copy_name(buf, sizeof(buf), raw ? raw : "");
	return strcmp(stored ? stored : "", buf) == 0;
}

static bool same_site(const struct lc__class *c, const struct lc__lock *lk)
{
	return !c->keyed && c->line == lk->line &&
	       same_text(c->file, lk->file ? lk->file : "(unknown)") &&
	       same_text(c->name, lk->name ? lk->name : "(unnamed lock)");
}

/* Under lc__slow: the class of an initializer lock, found or made. Sites
 * whose hashes collide probe the following hash values. */
static struct lc__class *class_by_site(const struct lc__lock *lk)
{
	uint64_t h = site_hash(lk);
	uint32_t id;
	struct lc__class *c;

	while (lc__u64map_get(&by_site, h, &id)) {
		if (same_site(classes[id], lk))
			return classes[id];
		h++;
	}
	c = class_new(lk);
	if (c && lc__u64map_put(&by_site, h, c->id)) {
		class_drop(c);
		return NULL;
	}
	return c;
}

/* An init call: file, line and argument text. */
static uint64_t call_hash(const struct lc__key *k)
{
	return lc__hash_str(lc__hash_str((uint64_t)k->line, k->file), k->text);
}

static bool same_call(const struct lc__class *c, const struct lc__key *k)
{
	return c->keyed && c->line == k->line && same_text(c->file, k->file) &&
	       same_text(c->text, k->text);
}

/* The (class, translation unit) pair's key in `bound`. */
static uint64_t bound_key(uint32_t id, const char *tu)
{
	return lc__mix64(lc__mix64((uint64_t)(uintptr_t)tu) + id);
}

/* Under lc__slow: the first class of key k's call (same file, line and
 * text), or LC__NONE; *slot gets the by_call key it has or would get. */
static uint32_t first_of_call(const struct lc__key *k, uint64_t *slot)
{
	uint64_t h = call_hash(k);
	uint32_t id;

	while (lc__u64map_get(&by_call, h, &id)) {
		if (same_call(classes[id], k))
			break;
		h++; /* hashes of different calls collided: probe on */
	}
	*slot = h;
	return lc__u64map_get(&by_call, h, &id) ? id : LC__NONE;
}

/* Under lc__slow: the class of a keyed lock. Among the classes of its
 * call, the first that no key of this translation unit has yet: the same
 * call from another file, or a new class for another call of this one. */
static struct lc__class *class_by_call(const struct lc__lock *lk)
{
	const struct lc__key *k = lk->key;
	uint64_t slot;
	uint32_t id = first_of_call(k, &slot), last = LC__NONE;
	struct lc__class *c;

	for (; id != LC__NONE; last = id, id = classes[id]->next_same)
		if (!lc__u64map_get(&bound, bound_key(id, k->tu), NULL))
			break;
	c = id != LC__NONE ? classes[id] : class_new(lk);
	if (!c)
		return NULL;
	if (id == LC__NONE && last == LC__NONE &&
	    lc__u64map_put(&by_call, slot, c->id)) {
		class_drop(c); /* no memory: made again next time */
		return NULL;
	}
	if (lc__u64map_put(&bound, bound_key(c->id, k->tu), 1)) {
		if (id == LC__NONE && last == LC__NONE)
			lc__u64map_del(&by_call, slot);
		if (id == LC__NONE)
			class_drop(c);
		return NULL; /* found again next time, or made again */
	}
	if (id == LC__NONE && last != LC__NONE)
		classes[last]->next_same = c->id;
	return c;
}

struct lc__class *lc__class_of(struct lc__lock *lk)
{
	struct lc__class *c =
		atomic_load_explicit(&lk->cls, memory_order_acquire);

	if (c)
		return c;
	if (lk->key)
		c = atomic_load_explicit(&lk->key->cls, memory_order_acquire);
	if (c) {
		atomic_store_explicit(&lk->cls, c, memory_order_release);
		return c;
	}
	lc__init();
	lc__slow_lock();
	if (!lk->key)
		c = class_by_site(lk);
	else if (!(c = atomic_load_explicit(&lk->key->cls,
					    memory_order_relaxed)))
		c = class_by_call(lk);
	if (c && lk->key)
		atomic_store_explicit(&lk->key->cls, c, memory_order_release);
	lc__slow_unlock();
	if (c)
		atomic_store_explicit(&lk->cls, c, memory_order_release);
	return c;
}

uint64_t lc__new_instance_id(void)
{
	return atomic_fetch_add_explicit(&next_instance, 1,
					 memory_order_relaxed);
}

uint64_t lc__instance_id(struct lc__lock *lk)
{
	uint64_t id = atomic_load_explicit(&lk->id, memory_order_relaxed);
	uint64_t fresh;

	if (id)
		return id;
	fresh = lc__new_instance_id();
	if (atomic_compare_exchange_strong(&lk->id, &id, fresh)) {
		struct lc__class *c = lc__class_of(lk);

		if (c)
			atomic_store_explicit(
				&lk->ordinal,
				(uint32_t)atomic_fetch_add_explicit(
					&c->instances, 1,
					memory_order_relaxed) +
					1,
				memory_order_relaxed);
		return fresh;
	}
	return id; /* another thread won the race; id holds its value */
}
