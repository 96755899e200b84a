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

void lc__buf_put_text(struct lc__buf *b, const char *s)
{
	char line[LC_TEXT_ESCAPED_MAX];

	lc__buf_add(b, "%s", lc_text_line(line, s));
}

void lc__buf_put_quoted(struct lc__buf *b, const char *s)
{
	lc__buf_putc(b, '`');
	lc__buf_put_text(b, s);
	lc__buf_putc(b, '`');
}

void lc__buf_put_escaped(struct lc__buf *b, const char *s)
{
	char out[4 * LC_TEXT_CHUNK + 1];
	size_t len = strlen(s);

	while (len > 0) {
		size_t n = lc_text_chunk(s, len);

		lc_text_escape(out, s, n);
		lc__buf_add(b, "%s", out);
		s += n;
		len -= n;
	}
}

void lc__print_class(struct lc__buf *b, const struct lc__class *c)
{
	if (!c) {
		lc__buf_add(b, "(unknown class)");
		return;
	}
	lc__buf_put_text(b, c->name);
	lc__buf_add(b, " [");
	lc__buf_put_text(b, c->file);
	if (c->line) /* 0: a preloaded program's class, no source line */
		lc__buf_add(b, ":%d", c->line);
	lc__buf_putc(b, ']');
}

void lc__print_site(struct lc__buf *b, const struct lc__site *s)
{
	lc__buf_put_text(b, s->file);
	if (s->line) /* 0: a preloaded program's call, file: module+0xoffset */
		lc__buf_add(b, ":%d", s->line);
	lc__buf_add(b, " in ");
	lc__buf_put_text(b, s->func);
	lc__buf_add(b, "()");
}
