/*
 * fields.h: the fields of one dump line, read left to right by a cursor.
 *
 * Fields are separated by exactly one space (docs/dump-format.md); every
 * reader checks its field completely (digits only, no overflow, valid
 * escapes) so whatever the bytes, a field is either accepted whole or
 * refused with EINVAL; nothing is read past the line's end.
 */
#ifndef LOCKGRAPH_FIELDS_H
#define LOCKGRAPH_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lg_cursor {
	const char *p, *end;
	bool first; /* no separator before the first field */
};

static inline void lg_cursor_init(struct lg_cursor *c, const char *line,
				  size_t len)
{
	c->p = line;
	c->end = line + len;
	c->first = true;
}

/* The next space-free word: *s and *n. 0 or EINVAL (no field there). */
int lg_field_word(struct lg_cursor *c, const char **s, size_t *n);

/* An unsigned decimal number without sign or leading junk; EINVAL,
 * ERANGE when it does not fit. */
int lg_field_u64(struct lg_cursor *c, uint64_t *v);

/* A signed decimal number that fits in int32_t. */
int lg_field_i32(struct lg_cursor *c, int32_t *v);

/* A double-quoted string, escapes checked: *raw and *n are its bytes
 * between the quotes, still escaped (decode with lg_field_decode). */
int lg_field_str(struct lg_cursor *c, const char **raw, size_t *n);

/* 0 when the line has no more fields, EINVAL otherwise. */
int lg_field_end(const struct lg_cursor *c);

#endif /* LOCKGRAPH_FIELDS_H */
