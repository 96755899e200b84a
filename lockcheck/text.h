/*
 * text.h: how a string from the program (a lock name, a file path, a
 * function name, a thread name) is written into a line of a report or a
 * dump. One function for the checker and tools/lockgraph, so every line
 * shows such a string alike and lockgraph reads back what the checker
 * wrote (docs/dump-format.md, docs/report-guide.md).
 *
 * Escaped: a backslash as \\, a quote as \", newline \n, tab \t, every
 * other byte below 0x20, 0x7f and every byte that does not start a valid
 * UTF-8 sequence as \xHH; a valid UTF-8 sequence stands for itself. So no
 * string can end a line or a quoted field, or start a line of its own.
 * Cut: a line shows at most LC_TEXT_MAX bytes of a string; a longer one
 * shows its first bytes, up to a character boundary, then "...".
 */
#ifndef LOCKCHECK_TEXT_H
#define LOCKCHECK_TEXT_H

#include <stddef.h>

#define LC_TEXT_MAX 255 /* bytes of a string a line shows, "..." included */

/* Room for the escaped form of a string cut to LC_TEXT_MAX, NUL included. */
#define LC_TEXT_ESCAPED_MAX (4 * LC_TEXT_MAX + 1)

/* Length of the valid UTF-8 sequence at p (of n bytes), 0 when p does not
 * start one (overlong, surrogate, beyond U+10FFFF, cut short). */
size_t lc_utf8_len(const unsigned char *p, size_t n);

/* How many of s's len bytes a line shows before "...": len when
 * len <= LC_TEXT_MAX, else the most that fit in LC_TEXT_MAX - 3 bytes
 * without splitting a UTF-8 sequence. */
size_t lc_text_keep(const char *s, size_t len);

/* Writes the escaped form of s's first n bytes (no NUL among them) to out,
 * which has room for 4 * n + 1 bytes, and a NUL; returns its length. */
size_t lc_text_escape(char *out, const char *s, size_t n);

/* A string of any length is escaped in chunks of at most
 * LC_TEXT_CHUNK bytes (4 * LC_TEXT_CHUNK + 1 bytes escaped): the length of
 * the next chunk of s's len bytes, which splits no UTF-8 sequence. */
#define LC_TEXT_CHUNK 256
size_t lc_text_chunk(const char *s, size_t len);

/* s as a line shows it: cut (lc_text_keep, then "...") and escaped, into
 * out of LC_TEXT_ESCAPED_MAX bytes; returns out. NULL shows as "?". */
const char *lc_text_line(char out[LC_TEXT_ESCAPED_MAX], const char *s);

#endif /* LOCKCHECK_TEXT_H */
