/*
 * text.c: see text.h. Pure C, no allocation: the checker calls it with
 * its own lock held, lockgraph on every string it prints.
 */
#include "text.h"

#include <assert.h>
#include <string.h>

/* Continuation bytes 10xxxxxx after a lead byte. */
static int cont_bytes(const unsigned char *p, size_t k)
{
	for (size_t i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return 1;
}

size_t lc_utf8_len(const unsigned char *p, size_t n)
{
	size_t k;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4;
	else
		return 0;
	if (n < k || !cont_bytes(p, k))
		return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0; /* overlong, surrogate or beyond U+10FFFF */
	return k;
}

size_t lc_text_keep(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	if (len <= LC_TEXT_MAX)
		return len;
	while (i < LC_TEXT_MAX - 3) {
		size_t k = lc_utf8_len(p + i, len - i);

		if (k == 0)
			k = 1; /* a byte that will be escaped alone */
		if (i + k > LC_TEXT_MAX - 3)
			break;
		i += k;
	}
	return i;
}

static size_t put_hex(char *out, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 15];
	return 4;
}

size_t lc_text_escape(char *out, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		size_t k = lc_utf8_len(p + i, n - i);

		assert(c != '\0');
		if (c == '\\' || c == '"' || c == '\n' || c == '\t') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : (char)c;
		} else if (c < 0x20 || c == 0x7f || k == 0) {
			o += put_hex(out + o, c);
		} else {
			memcpy(out + o, p + i, k);
			o += k;
			i += k;
			continue;
		}
		i++;
	}
	out[o] = '\0';
	return o;
}

size_t lc_text_chunk(const char *s, size_t len)
{
	size_t n = LC_TEXT_CHUNK;

	if (len <= n)
		return len;
	while (n > LC_TEXT_CHUNK - 3 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

const char *lc_text_line(char out[LC_TEXT_ESCAPED_MAX], const char *s)
{
	size_t len, keep, o;

	if (!s)
		s = "?";
	len = strnlen(s, LC_TEXT_MAX + 1);
	keep = lc_text_keep(s, len);
	o = lc_text_escape(out, s, keep);
	if (keep < len)
		memcpy(out + o, "...", 4);
	assert(strlen(out) < LC_TEXT_ESCAPED_MAX);
	return out;
}
