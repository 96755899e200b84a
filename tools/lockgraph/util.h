/*
 * util.h: what every lockgraph module shares: error messages, growable
 * arrays, hashing, saturating counters.
 *
 * Errors: every function that can fail returns 0 or a positive errno value
 * (EINVAL for bad input, ENOMEM, EIO) and, for input errors, writes one line
 * into a struct lg_err that names the file and line. Only main.c prints it.
 */
#ifndef LOCKGRAPH_UTIL_H
#define LOCKGRAPH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_NONE UINT32_MAX

/* One error line, "FILE:LINE: what", without a trailing newline. */
struct lg_err {
	char msg[640];
};

/* Formats msg into e (if e is not NULL) and returns code. */
int lg_errf(struct lg_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Makes room for need elements of size elem in *p (capacity *cap,
 * doubled). Returns 0 or ENOMEM; on failure *p and *cap are unchanged.
 */
int lg_grow(void **p, uint32_t *cap, uint64_t need, size_t elem);

/* A good 64-bit mix (finaliser of splitmix64). */
static inline uint64_t lg_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Hash of n bytes (FNV-1a, then mixed). */
uint64_t lg_hash_bytes(const void *p, size_t n);

/* a + b, stuck at UINT64_MAX instead of wrapping: counters are lower
 * bounds, never garbage. */
static inline uint64_t lg_sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 when the
 * bytes there are not valid UTF-8. */
size_t lg_utf8_len(const unsigned char *p, size_t n);

#endif /* LOCKGRAPH_UTIL_H */
