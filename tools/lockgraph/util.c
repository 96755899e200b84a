/*
 * util.c: see util.h.
 */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "lockcheck/text.h"

int lg_errf(struct lg_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

int lg_grow(void **p, uint32_t *cap, uint64_t need, size_t elem)
{
	uint64_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	if (need > UINT32_MAX - 1)
		return ENOMEM;
	while (n < need)
		n *= 2;
	if (n > UINT32_MAX - 1)
		n = UINT32_MAX - 1;
	if (n > SIZE_MAX / elem)
		return ENOMEM;
	q = realloc(*p, (size_t)n * elem);
	if (!q)
		return ENOMEM;
	*p = q;
	*cap = (uint32_t)n;
	return 0;
}

uint64_t lg_hash_bytes(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return lg_mix64(h ^ n);
}

size_t lg_utf8_len(const unsigned char *p, size_t n)
{
	return lc_utf8_len(p, n);
}
