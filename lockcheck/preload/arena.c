/*
 * arena.c: memory that lives as long as the process, from mmap: the side
 * table's entries and the names of classes and sites. Not malloc: a
 * wrapper may run inside malloc (an allocator that takes a pthread lock)
 * or before malloc is usable. Blocks are carved from 1 MiB chunks with one
 * atomic bump; a chunk is replaced when full (its tail is left unused).
 */
#define _GNU_SOURCE
#include "preload.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#define CHUNK (1u << 20)
#define ALIGN 16u

struct chunk {
	char *base;
	_Atomic size_t used;
};

static struct chunk *_Atomic current;

/* A new chunk, its header at its start. NULL when mmap fails. */
static struct chunk *chunk_new(void)
{
	char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct chunk *c;

	if (p == MAP_FAILED)
		return NULL;
	c = (struct chunk *)(void *)p;
	c->base = p;
	atomic_init(&c->used, (sizeof(*c) + ALIGN - 1) & ~(size_t)(ALIGN - 1));
	return c;
}

void *lc__pre_alloc(size_t size)
{
	size = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	if (size > CHUNK / 2)
		return NULL;
	for (;;) {
		struct chunk *c = atomic_load(&current), *fresh;
		size_t off;

		if (c) {
			off = atomic_fetch_add(&c->used, size);
			if (off + size <= CHUNK)
				return c->base + off;
		}
		fresh = chunk_new();
		if (!fresh)
			return NULL;
		if (!atomic_compare_exchange_strong(&current, &c, fresh))
			munmap(fresh, CHUNK); /* another thread replaced it */
	}
}

const char *lc__pre_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = lc__pre_alloc(n);

	if (!p)
		return "(no memory)";
	memcpy(p, s, n);
	return p;
}
