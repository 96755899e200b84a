/*
 * cache_mem.h: the allocator of ds_cache and ds_rwmap (internal).
 *
 * Every allocation of a cache or map, uthash's own included, goes through
 * the pair of functions its creation options named (malloc and free when
 * they named none). Users account or pool memory with it; the tests fail
 * the Nth allocation with it.
 */
#ifndef DS_CACHE_MEM_H
#define DS_CACHE_MEM_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

struct ds__mem {
	void *(*alloc)(size_t size, void *arg);
	void (*free)(void *ptr, size_t size, void *arg); /* size as asked */
	void *arg;
};

static inline void *ds__std_alloc(size_t size, void *arg)
{
	(void)arg;
	return malloc(size);
}

static inline void ds__std_free(void *ptr, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	free(ptr);
}

/* The allocator that options' alloc/free/arg ask for: malloc when both
 * are NULL. Returns 0, or EINVAL when only one of them is set. */
static inline int ds__mem_init(struct ds__mem *m,
			       void *(*alloc)(size_t, void *),
			       void (*free_fn)(void *, size_t, void *),
			       void *arg)
{
	if (!alloc != !free_fn)
		return EINVAL;
	m->alloc = alloc ? alloc : ds__std_alloc;
	m->free = alloc ? free_fn : ds__std_free;
	m->arg = arg;
	return 0;
}

static inline void *ds__mem_alloc(const struct ds__mem *m, size_t size)
{
	return m->alloc(size, m->arg);
}

/* Frees ptr (NULL is fine), allocated with this size. */
static inline void ds__mem_free(const struct ds__mem *m, void *ptr, size_t size)
{
	if (ptr)
		m->free(ptr, size, m->arg);
}

#endif /* DS_CACHE_MEM_H */
