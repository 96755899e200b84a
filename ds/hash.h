/*
 * hash.h: the keyed hash of ds/ (internal, ds__ names).
 *
 * Keys of ds_cache and ds_rwmap may come from untrusted input, so their
 * tables hash with SipHash (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012) under a 128-bit secret key: without the key an
 * attacker cannot choose keys that collide, and uthash's unkeyed default
 * (Jenkins) is never used. The tables use SipHash-1-3, the variant Python
 * and Rust hash tables use; SipHash-2-4 (the paper's) shares the code and
 * checks it against the paper's test vectors.
 */
#ifndef DS_HASH_H
#define DS_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A SipHash key: k0 is bytes 0-7, k1 bytes 8-15, both little-endian. */
struct ds__hash_key {
	uint64_t k0;
	uint64_t k1;
};

/*
 * Sets *key from seed (two 64-bit words). A seed of {0, 0} draws a fresh
 * random key from getrandom(2); if the kernel has none to give, a key mixed
 * from the clock, the process id and addresses (weaker, never fails).
 */
void ds__hash_key_init(struct ds__hash_key *key, const uint64_t seed[2]);

/* SipHash-1-3 of len bytes at data (data may be NULL when len is 0). */
uint64_t ds__siphash13(const struct ds__hash_key *key, const void *data,
		       size_t len);

/* SipHash-2-4, the paper's parameters: for test vectors and comparison. */
uint64_t ds__siphash24(const struct ds__hash_key *key, const void *data,
		       size_t len);

/*
 * Key equality for the tables (uthash's HASH_KEYCMP): 0 when the n bytes
 * at a and b are equal. Keys of 8 to 16 bytes, the common case, take two
 * overlapping 8-byte loads each instead of a call to memcmp.
 */
static inline int ds__key_cmp(const void *a, const void *b, size_t n)
{
	uint64_t a0, a1, b0, b1;

	if (n < 8 || n > 16)
		return memcmp(a, b, n);
	memcpy(&a0, a, 8);
	memcpy(&b0, b, 8);
	memcpy(&a1, (const char *)a + n - 8, 8);
	memcpy(&b1, (const char *)b + n - 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) != 0;
}

#endif /* DS_HASH_H */
