/*
 * textbuf.c: the text of findings and dumps, built in memory (a finding is
 * written with as few write() calls as its size allows, and no stdio runs
 * while lc__slow is held). A buffer never fails loudly: when it cannot
 * grow it stops and marks itself cut. Invariant: len < cap and
 * p[len] == '\0'.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lc__buf_init(struct lc__buf *b)
{
	b->p = b->small;
	b->len = 0;
	b->cap = sizeof(b->small);
	b->cut = false;
	b->small[0] = '\0';
}

void lc__buf_free(struct lc__buf *b)
{
	if (b->p != b->small)
		free(b->p);
	lc__buf_init(b);
}

static bool buf_reserve(struct lc__buf *b, size_t more)
{
	size_t cap = b->cap;
	char *p;

	assert(b->len < b->cap); /* p[len] may hold a cut vsnprintf's text */
	if (b->len + more < b->cap)
		return true;
	while (cap <= b->len + more)
		cap *= 2;
	p = b->p == b->small ? malloc(cap) : realloc(b->p, cap);
	if (!p) {
		b->cut = true;
		return false;
	}
	if (b->p == b->small)
		memcpy(p, b->small, b->len + 1);
	b->p = p;
	b->cap = cap;
	return true;
}

void lc__buf_vadd(struct lc__buf *b, const char *fmt, va_list ap)
{
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	if (n > 0 && (size_t)n >= b->cap - b->len) {
		if (buf_reserve(b, (size_t)n + 1))
			vsnprintf(b->p + b->len, b->cap - b->len, fmt, again);
		else
			n = (int)(b->cap - b->len - 1); /* cut short */
	}
	va_end(again);
	if (n > 0)
		b->len += (size_t)n;
	assert(b->len < b->cap && b->p[b->len] == '\0');
}

void lc__buf_putc(struct lc__buf *b, char c)
{
	if (!buf_reserve(b, 1))
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
	assert(b->len < b->cap);
}

void lc__buf_add(struct lc__buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lc__buf_vadd(b, fmt, ap);
	va_end(ap);
}

void lc__print_class(struct lc__buf *b, const struct lc__class *c)
{
	if (!c)
		lc__buf_add(b, "(unknown class)");
	else if (c->line == 0) /* a preloaded program's: no source line */
		lc__buf_add(b, "%s [%s]", c->name, c->file);
	else
		lc__buf_add(b, "%s [%s:%d]", c->name, c->file, c->line);
}

void lc__print_site(struct lc__buf *b, const struct lc__site *s)
{
	char file[512], func[256];

	lc__copy_name(file, sizeof(file), s->file ? s->file : "?");
	lc__copy_name(func, sizeof(func), s->func ? s->func : "?");
	if (s->line == 0) /* a preloaded program's call: module+0xoffset */
		lc__buf_add(b, "%s in %s()", file, func);
	else
		lc__buf_add(b, "%s:%d in %s()", file, s->line, func);
}
