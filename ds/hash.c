/*
 * hash.c: SipHash-c-d, written from the paper's description (section 2):
 * four 64-bit state words initialised from the key and four constants;
 * each 8-byte little-endian message word m is xored into v3, compressed
 * with c SipRounds and xored into v0; the last word carries the remaining
 * bytes and the length mod 256 in its top byte; finalisation xors 0xff into
 * v2, runs d SipRounds and returns v0 ^ v1 ^ v2 ^ v3.
 *
 * Words are assembled byte by byte, so the result does not depend on the
 * host's byte order or alignment (compilers fold it into one load).
 */
#define _GNU_SOURCE
#include "hash.h"

#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

struct sip {
	uint64_t v0, v1, v2, v3;
};

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const unsigned char *p, size_t n)
{
	uint64_t w = 0;

	for (size_t i = 0; i < n; i++)
		w |= (uint64_t)p[i] << (8 * i);
	return w;
}

static inline void sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static inline void sip_compress(struct sip *s, uint64_t m, int rounds)
{
	s->v3 ^= m;
	for (int i = 0; i < rounds; i++)
		sip_round(s);
	s->v0 ^= m;
}

static inline uint64_t siphash(const struct ds__hash_key *key, const void *data,
			       size_t len, int c, int d)
{
	struct sip s = { key->k0 ^ 0x736f6d6570736575ull,
			 key->k1 ^ 0x646f72616e646f6dull,
			 key->k0 ^ 0x6c7967656e657261ull,
			 key->k1 ^ 0x7465646279746573ull };
	const unsigned char *p = data;
	size_t i, tail = len & 7;

	for (i = 0; i < len - tail; i += 8)
		sip_compress(&s, load_le64(p + i, 8), c);
	sip_compress(&s,
		     (tail ? load_le64(p + i, tail) : 0) | (uint64_t)len << 56,
		     c);
	s.v2 ^= 0xff;
	while (d-- > 0)
		sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t ds__siphash13(const struct ds__hash_key *key, const void *data,
		       size_t len)
{
	return siphash(key, data, len, 1, 3);
}

uint64_t ds__siphash24(const struct ds__hash_key *key, const void *data,
		       size_t len)
{
	return siphash(key, data, len, 2, 4);
}

/* The fallback when getrandom has nothing: not secret against a local
 * attacker, but different per process and per call. */
static void weak_key(struct ds__hash_key *key)
{
	static const struct ds__hash_key mix = { 0x9e3779b97f4a7c15ull,
						 0xbf58476d1ce4e5b9ull };
	struct timespec ts;
	uint64_t words[4];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	words[0] = (uint64_t)ts.tv_sec ^ (uint64_t)ts.tv_nsec << 20;
	words[1] = (uint64_t)getpid();
	words[2] = (uint64_t)(uintptr_t)key;
	words[3] = (uint64_t)(uintptr_t)&weak_key;
	key->k0 = ds__siphash24(&mix, words, sizeof(words));
	words[0] ^= key->k0;
	key->k1 = ds__siphash24(&mix, words, sizeof(words));
}

void ds__hash_key_init(struct ds__hash_key *key, const uint64_t seed[2])
{
	unsigned char raw[16];

	if (seed && (seed[0] || seed[1])) {
		key->k0 = seed[0];
		key->k1 = seed[1];
		return;
	}
	if (getrandom(raw, sizeof(raw), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(raw)) {
		weak_key(key);
		return;
	}
	key->k0 = load_le64(raw, 8);
	key->k1 = load_le64(raw + 8, 8);
}
