/*
 * cache_hash_test.c: the keyed hash behind ds_cache and ds_rwmap.
 *
 * SipHash-2-4 must give the paper's reference vectors (key 00..0f, message
 * 00 01 .. of every length 0-63 here: all 64 of the reference
 * implementation's); SipHash-1-3 shares every line of code with it but the
 * round counts, so it is checked for what a table relies on: same input,
 * same hash; a different key, a different hash.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ds/hash.h"
#include "testutil.h"

/* SipHash-2-4 reference outputs, key 00 01 .. 0f, input 00 01 .. (i-1). */
static const uint64_t sip24_vectors[64] = {
	0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull,
	0x85676696d7fb7e2dull, 0xcf2794e0277187b7ull, 0x18765564cd99a68dull,
	0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, 0x93f5f5799a932462ull,
	0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
	0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull,
	0xa129ca6149be45e5ull, 0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull,
	0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull, 0xbed65cf21aa2ee98ull,
	0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
	0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull,
	0x2f2e6163076bcfadull, 0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull,
	0xad87a3535c49ef28ull, 0x32d892fad841c342ull, 0x7127512f72f27cceull,
	0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
	0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull,
	0x9abfd8766a33735cull, 0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull,
	0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull, 0xf935451de4f21df2ull,
	0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
	0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull,
	0xa192d576b245165aull, 0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full,
	0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull, 0xb78dbfaf3a8d83bdull,
	0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
	0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull,
	0x958a324ceb064572ull,
};

/* The paper's key: bytes 00 .. 0f, as two little-endian words. */
static const struct ds__hash_key paper_key = { 0x0706050403020100ull,
					       0x0f0e0d0c0b0a0908ull };

START_TEST(test_siphash24_matches_reference_vectors)
{
	unsigned char msg[64];

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (unsigned char)i;
	for (size_t len = 0; len < 64; len++)
		ck_assert_msg(ds__siphash24(&paper_key, msg, len) ==
				      sip24_vectors[len],
			      "length %zu", len);
}
END_TEST

START_TEST(test_siphash_reads_unaligned_input)
{
	unsigned char buf[80];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i - 3);
	/* buf + 3 holds 00 01 02 ..: an odd address, same vectors. */
	for (size_t len = 0; len < 64; len++)
		ck_assert(ds__siphash24(&paper_key, buf + 3, len) ==
			  sip24_vectors[len]);
}
END_TEST

START_TEST(test_siphash13_is_deterministic_and_keyed)
{
	struct ds__hash_key other = { paper_key.k0, paper_key.k1 ^ 1 };
	const char *k = "some key of a table";
	size_t n = strlen(k);
	uint64_t h = ds__siphash13(&paper_key, k, n);

	ck_assert(h == ds__siphash13(&paper_key, k, n));
	ck_assert(h != ds__siphash13(&other, k, n));
	ck_assert(h != ds__siphash24(&paper_key, k, n));
	ck_assert(h != ds__siphash13(&paper_key, k, n - 1));
	ck_assert(ds__siphash13(&paper_key, NULL, 0) !=
		  ds__siphash13(&other, NULL, 0));
}
END_TEST

START_TEST(test_hash_key_from_seed_or_random)
{
	const uint64_t seed[2] = { 1, 2 }, zero[2] = { 0, 0 };
	struct ds__hash_key a, b, c;

	ds__hash_key_init(&a, seed);
	ck_assert(a.k0 == 1 && a.k1 == 2);
	ds__hash_key_init(&b, zero);
	ds__hash_key_init(&c, NULL);
	ck_assert(b.k0 != c.k0 || b.k1 != c.k1); /* fresh random keys */
	ck_assert(b.k0 != 0 || b.k1 != 0);
}
END_TEST

/* Keys differing in one bit land all over the 32 low bits a table uses. */
START_TEST(test_siphash13_spreads_similar_keys)
{
	enum { N = 4096, BUCKETS = 256 };
	unsigned count[BUCKETS] = { 0 };
	unsigned max = 0;

	for (uint32_t i = 0; i < N; i++) {
		uint64_t key = i;
		uint64_t h = ds__siphash13(&paper_key, &key, sizeof(key));

		count[h % BUCKETS]++;
	}
	for (int i = 0; i < BUCKETS; i++)
		max = count[i] > max ? count[i] : max;
	ck_assert_uint_lt(max, 3 * N / BUCKETS); /* mean 16; ~4 sigma: 32 */
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cache_hash");
	TCase *core = tcase_create("core");

	tcase_add_test(core, test_siphash24_matches_reference_vectors);
	tcase_add_test(core, test_siphash_reads_unaligned_input);
	tcase_add_test(core, test_siphash13_is_deterministic_and_keyed);
	tcase_add_test(core, test_hash_key_from_seed_or_random);
	tcase_add_test(core, test_siphash13_spreads_similar_keys);
	suite_add_tcase(s, core);
	return lct_run_suite(s);
}
