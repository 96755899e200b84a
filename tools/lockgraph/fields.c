/*
 * fields.c: see fields.h. A string's escapes are \\ \" \n \t and \xHH
 * (two hex digits, any case); \x00 is refused because the writer's strings
 * are C strings. Decoding never grows a string, so a buffer of the raw
 * length always suffices.
 */
#include "fields.h"

#include <errno.h>
#include <string.h>

#include "graph.h"

/* Steps over the separator before a field. */
static int sep(struct lg_cursor *c)
{
	if (c->first) {
		c->first = false;
		return 0;
	}
	if (c->p >= c->end || *c->p != ' ')
		return EINVAL;
	c->p++;
	return 0;
}

int lg_field_word(struct lg_cursor *c, const char **s, size_t *n)
{
	const char *p;

	if (sep(c))
		return EINVAL;
	p = c->p;
	c->p = memchr(p, ' ', (size_t)(c->end - p));
	if (!c->p)
		c->p = c->end;
	*s = p;
	*n = (size_t)(c->p - p);
	return *n ? 0 : EINVAL;
}

static int digits_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 20)
		return n ? ERANGE : EINVAL;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (d > 9)
			return EINVAL;
		if (x > (UINT64_MAX - d) / 10)
			return ERANGE;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

int lg_field_u64(struct lg_cursor *c, uint64_t *v)
{
	const char *s;
	size_t n;

	if (lg_field_word(c, &s, &n))
		return EINVAL;
	return digits_u64(s, n, v);
}

int lg_field_i32(struct lg_cursor *c, int32_t *v)
{
	const char *s;
	size_t n;
	uint64_t x;
	int neg, err;

	if (lg_field_word(c, &s, &n))
		return EINVAL;
	neg = s[0] == '-';
	err = digits_u64(s + neg, n - (size_t)neg, &x);
	if (err)
		return err;
	if (x > (uint64_t)INT32_MAX + (uint64_t)neg)
		return ERANGE;
	*v = neg ? (int32_t)(-(int64_t)x) : (int32_t)x;
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Length of the escape at p (p[0] is the backslash), 0 when invalid. */
static size_t escape_len(const char *p, const char *end)
{
	if (end - p < 2)
		return 0;
	if (p[1] == '\\' || p[1] == '"' || p[1] == 'n' || p[1] == 't')
		return 2;
	if (p[1] != 'x' || end - p < 4 || hexval(p[2]) < 0 ||
	    hexval(p[3]) < 0 || (p[2] == '0' && p[3] == '0'))
		return 0;
	return 4;
}

/* The closing quote of a string without escapes, found with memchr; NULL
 * when the string has a backslash (or no closing quote). */
static const char *plain_end(const char *p, const char *end)
{
	const char *q = memchr(p, '"', (size_t)(end - p));

	return q && !memchr(p, '\\', (size_t)(q - p)) ? q : NULL;
}

int lg_field_str(struct lg_cursor *c, const char **raw, size_t *n)
{
	const char *p, *q;

	if (sep(c) || c->p >= c->end || *c->p != '"')
		return EINVAL;
	p = ++c->p;
	q = plain_end(p, c->end);
	if (q)
		c->p = q; /* the common case: no escape to check */
	while (c->p < c->end && *c->p != '"') {
		size_t k = *c->p == '\\' ? escape_len(c->p, c->end) : 1;

		if (!k)
			return EINVAL;
		c->p += k;
	}
	if (c->p >= c->end)
		return EINVAL; /* no closing quote */
	*raw = p;
	*n = (size_t)(c->p - p);
	c->p++;
	return 0;
}

int lg_field_end(const struct lg_cursor *c)
{
	return c->p == c->end ? 0 : EINVAL;
}

static char unescape(const char *p, size_t *k)
{
	*k = 2;
	switch (p[1]) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case 'x':
		*k = 4;
		return (char)(hexval(p[2]) << 4 | hexval(p[3]));
	default:
		return p[1];
	}
}

size_t lg_field_decode(const char *raw, size_t raw_len, char *buf)
{
	size_t n = 0;

	for (size_t i = 0; i < raw_len;) {
		size_t k = 1;

		buf[n++] = raw[i] == '\\' ? unescape(raw + i, &k) : raw[i];
		i += k;
	}
	buf[n] = '\0';
	return n;
}
