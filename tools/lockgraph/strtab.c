/*
 * strtab.c: see strtab.h. Invariant: off[i] < len and bytes[off[i] ..] is
 * the i-th string with its NUL; the index holds every id once. Asserted as
 * each string goes in (and off[i] < len at every lg_str).
 */
#include "strtab.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct key {
	const char *s;
	size_t n;
};

static bool str_eq(const void *ctx, uint32_t id, const void *k)
{
	const struct lg_strtab *t = ctx;
	const struct key *key = k;
	const char *s = lg_str(t, id);

	return strncmp(s, key->s, key->n) == 0 && s[key->n] == '\0';
}

static int grow_bytes(struct lg_strtab *t, uint64_t need)
{
	uint64_t cap = t->cap ? t->cap : 4096;
	char *p;

	if (need <= t->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if (cap > SIZE_MAX)
		return ENOMEM;
	p = realloc(t->bytes, (size_t)cap);
	if (!p)
		return ENOMEM;
	t->bytes = p;
	t->cap = cap;
	return 0;
}

int lg_strtab_init(struct lg_strtab *t)
{
	uint32_t id;

	memset(t, 0, sizeof(*t));
	lg_index_init(&t->ix);
	return lg_str_intern(t, "", 0, &id);
}

void lg_strtab_free(struct lg_strtab *t)
{
	free(t->bytes);
	free(t->off);
	lg_index_free(&t->ix);
	memset(t, 0, sizeof(*t));
}

int lg_str_intern(struct lg_strtab *t, const char *s, size_t n, uint32_t *id)
{
	struct key key = { s, n };
	uint64_t h = lg_hash_bytes(s, n);
	uint32_t found = lg_index_find(&t->ix, h, str_eq, t, &key);

	if (found != LG_NONE) {
		assert(found < t->n);
		*id = found;
		return 0;
	}
	if (grow_bytes(t, t->len + n + 1) ||
	    lg_grow((void **)&t->off, &t->off_cap, (uint64_t)t->n + 1,
		    sizeof(*t->off)) ||
	    lg_index_add(&t->ix, h, t->n))
		return ENOMEM;
	memcpy(t->bytes + t->len, s, n);
	t->bytes[t->len + n] = '\0';
	t->off[t->n] = t->len;
	t->len += n + 1;
	*id = t->n++;
	assert(t->ix.n == t->n && t->bytes[t->len - 1] == '\0');
	return 0;
}
