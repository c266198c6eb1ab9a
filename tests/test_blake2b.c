/* \summary: unit tests of keyed BLAKE2b-256 with a prepared key block: known answers, libsodium agreement */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "cdrmin/blake2b.h"

/*
 * Known answers computed with Python's hashlib, independently of this C code
 * and of libsodium (RFC 7693 Appendix A is unkeyed BLAKE2b-512 of "abc", not
 * this mode):
 *
 *   import hashlib
 *   K = bytes(range(32))
 *   K2 = bytes((0xff - 7 * i) & 0xff for i in range(32))
 *   hashlib.blake2b(msg, key=K, digest_size=32).hexdigest()
 *
 * with msg as in each row; "range(n)" means bytes(i & 0xff for i in range(n)).
 */
static const unsigned char kat_k2[CM_BLAKE2B_KEYBYTES] = {
	0xff, 0xf8, 0xf1, 0xea, 0xe3, 0xdc, 0xd5, 0xce, 0xc7, 0xc0, 0xb9,
	0xb2, 0xab, 0xa4, 0x9d, 0x96, 0x8f, 0x88, 0x81, 0x7a, 0x73, 0x6c,
	0x65, 0x5e, 0x57, 0x50, 0x49, 0x42, 0x3b, 0x34, 0x2d, 0x26,
};

static const struct {
	int k2;		  /* 0: key K, 1: key K2 */
	const char *text; /* the message, or NULL for range(len) */
	size_t len;
	const char *hex;
} kat[] = {
	{ 0, "", 0, "4e51e7a913fc80137da52880fecca175bf81e117d5c68126dc2774033517ea0d" },
	{ 0, "abc", 3, "d63a32d3e44738d7907f964316c241adaba0abfeabc32349677578a15a203f7f" },
	{ 0, "+442079460123", 13,
	  "3feb71a6036d94923f02ed612e4d82aadf7a732a5f4770a2d970abdbeac9b3f8" },
	{ 0, NULL, 127, "12879e69734944f25f9ed95cbfdbb3659a307e485ed8ec118ce7c60f107357f1" },
	{ 0, NULL, 128, "138893f1631ef3165629515d6ed800da3771b7926dced294205c7507351deebc" },
	{ 0, NULL, 129, "ca60f75cbb714330c046d8f28b4ed351a3ee81776bb02a96abb646fe573e3d5c" },
	{ 0, NULL, 256, "b42be36ea26392f67d1d3706ffa72b6c61c2ff38e1fabd9a49e154d54b967d83" },
	{ 1, "abc", 3, "42d3e0d2ff6e7de57232984486a706d34270c65441dbbaba4944569edf74eb4f" },
	{ 1, NULL, 200, "8d9ad49a4d7c90f1b478d7ea83e47be2a02851082c04df711d803c2ebe4ec275" },
};

static void b2_setup(void)
{
	cr_assert_geq(sodium_init(), 0);
}

TestSuite(blake2b, .init = b2_setup);

/* The digest of m[0..n) with a key prepared from key[0..32). */
static void keyed(const unsigned char key[CM_BLAKE2B_KEYBYTES], const unsigned char *m, size_t n,
		  unsigned char out[CM_BLAKE2B_BYTES])
{
	struct cm_blake2b_keyed kd;

	cm_blake2b_keyed_init(&kd, key);
	cm_blake2b_keyed_hash(&kd, m, n, out);
}

/* libsodium's digest of the same, the reference. */
static void ref(const unsigned char key[CM_BLAKE2B_KEYBYTES], const unsigned char *m, size_t n,
		unsigned char out[CM_BLAKE2B_BYTES])
{
	cr_assert_eq(crypto_generichash(out, CM_BLAKE2B_BYTES, m, n, key, CM_BLAKE2B_KEYBYTES), 0);
}

Test(blake2b, hashlib_known_answers)
{
	unsigned char k[CM_BLAKE2B_KEYBYTES], m[256], d[CM_BLAKE2B_BYTES];
	char hex[2 * CM_BLAKE2B_BYTES + 1];
	size_t i;

	for (i = 0; i < sizeof k; i++)
		k[i] = (unsigned char)i;
	for (i = 0; i < sizeof m; i++)
		m[i] = (unsigned char)i;
	for (i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		const unsigned char *msg = kat[i].text ? (const unsigned char *)kat[i].text : m;

		cr_assert_leq(kat[i].len, sizeof m);
		keyed(kat[i].k2 ? kat_k2 : k, msg, kat[i].len, d);
		sodium_bin2hex(hex, sizeof hex, d, sizeof d);
		cr_expect_str_eq(hex, kat[i].hex, "row %zu (length %zu)", i, kat[i].len);
		/* The reference agrees with the table too: the table is about this mode. */
		ref(kat[i].k2 ? kat_k2 : k, msg, kat[i].len, d);
		sodium_bin2hex(hex, sizeof hex, d, sizeof d);
		cr_expect_str_eq(hex, kat[i].hex, "libsodium, row %zu", i);
	}
}

/* Every length to 300 under 64 keys against libsodium, with the paths this CPU takes. */
static void every_length_to_300(void)
{
	enum { KEYS = 64, MAXLEN = 300 };
	unsigned char seed[randombytes_SEEDBYTES] = { 'c', 'd', 'r', 'm', 'i', 'n' };
	unsigned char keys[KEYS][CM_BLAKE2B_KEYBYTES], msg[MAXLEN + 8];
	unsigned char a[CM_BLAKE2B_BYTES], b[CM_BLAKE2B_BYTES];
	struct cm_blake2b_keyed kd;
	size_t k, n;

	randombytes_buf_deterministic(keys, sizeof keys, seed);
	seed[sizeof seed - 1] = 1;
	randombytes_buf_deterministic(msg, sizeof msg, seed);
	for (k = 0; k < KEYS; k++) {
		cm_blake2b_keyed_init(&kd, keys[k]);
		for (n = 0; n <= MAXLEN; n++) {
			/* An odd start offset per key: the loads must not assume alignment. */
			const unsigned char *m = msg + k % 8;

			cm_blake2b_keyed_hash(&kd, m, n, a);
			ref(keys[k], m, n, b);
			cr_assert_arr_eq(a, b, sizeof a, "key %zu length %zu", k, n);
		}
	}
	sodium_memzero(&kd, sizeof kd);
}

Test(blake2b, matches_libsodium_at_every_length_to_300)
{
	every_length_to_300();
}

/* The same with the scalar compression alone (the test's own process: the choice is made once). */
Test(blake2b, matches_libsodium_at_every_length_without_avx512)
{
	cr_assert_eq(setenv("CDRMIN_NO_AVX512", "1", 1), 0);
	every_length_to_300();
}

Test(blake2b, matches_libsodium_on_long_messages)
{
	static const size_t lens[] = { 383, 384, 385, 1000, 1023, 1024, 1025, 4096, 65537 };
	unsigned char seed[randombytes_SEEDBYTES] = { 'l', 'o', 'n', 'g' };
	static unsigned char msg[65537];
	unsigned char key[CM_BLAKE2B_KEYBYTES], a[CM_BLAKE2B_BYTES], b[CM_BLAKE2B_BYTES];
	size_t i;

	randombytes_buf_deterministic(msg, sizeof msg, seed);
	memcpy(key, msg, sizeof key);
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		keyed(key, msg, lens[i], a);
		ref(key, msg, lens[i], b);
		cr_assert_arr_eq(a, b, sizeof a, "length %zu", lens[i]);
	}
}

Test(blake2b, prepared_key_is_not_modified)
{
	unsigned char key[CM_BLAKE2B_KEYBYTES] = { 1, 2, 3 };
	unsigned char a[CM_BLAKE2B_BYTES], b[CM_BLAKE2B_BYTES];
	struct cm_blake2b_keyed kd, copy;

	cm_blake2b_keyed_init(&kd, key);
	memcpy(&copy, &kd, sizeof kd);
	cm_blake2b_keyed_hash(&kd, (const unsigned char *)"first", 5, a);
	cm_blake2b_keyed_hash(&kd, (const unsigned char *)"a longer second value", 21, b);
	cr_expect_arr_eq(&kd, &copy, sizeof kd);
	cm_blake2b_keyed_hash(&kd, (const unsigned char *)"first", 5, b);
	cr_expect_arr_eq(a, b, sizeof a);
}

Test(blake2b, empty_message_may_be_null)
{
	unsigned char key[CM_BLAKE2B_KEYBYTES] = { 0 }, a[CM_BLAKE2B_BYTES], b[CM_BLAKE2B_BYTES];

	keyed(key, NULL, 0, a);
	ref(key, (const unsigned char *)"", 0, b);
	cr_expect_arr_eq(a, b, sizeof a);
}

/*
 * Each message ends against an inaccessible page, so a read past m[n-1]
 * faults; the output sits between guard bytes, so a write past 32 bytes shows.
 */
Test(blake2b, reads_and_writes_stay_in_bounds)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char key[CM_BLAKE2B_KEYBYTES] = { 9 }, b[CM_BLAKE2B_BYTES];
	unsigned char out[CM_BLAKE2B_BYTES + 16];
	struct cm_blake2b_keyed kd;
	unsigned char *map, *end;
	size_t n, i;

	cr_assert_geq(page, 512);
	map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	cr_assert_neq(map, MAP_FAILED);
	cr_assert_eq(mprotect(map + page, (size_t)page, PROT_NONE), 0);
	end = map + page;
	for (i = 0; i < (size_t)page; i++)
		map[i] = (unsigned char)(i * 31 + 7);
	cm_blake2b_keyed_init(&kd, key);
	for (n = 0; n <= 300; n++) {
		memset(out, 0xa5, sizeof out);
		cm_blake2b_keyed_hash(&kd, end - n, n, out + 8);
		ref(key, end - n, n, b);
		cr_assert_arr_eq(out + 8, b, sizeof b, "length %zu", n);
		for (i = 0; i < 8; i++) {
			cr_assert_eq(out[i], 0xa5, "length %zu: byte before out", n);
			cr_assert_eq(out[8 + CM_BLAKE2B_BYTES + i], 0xa5, "length %zu: byte after", n);
		}
	}
	munmap(map, 2 * (size_t)page);
}

/*
 * Batches of every size to 9 (full lanes, a part-filled last group, a
 * message left alone) mixing four keys, every length 0 to 150 (empty and
 * over one block are hashed alone, between the lanes' turns), each digest
 * against libsodium's. On a CPU without AVX2 this checks the fallback.
 */
/* Batches of 1 to 9 against libsodium message by message, with the paths this CPU takes. */
static void many_lane_by_lane(void)
{
	enum { KEYS = 4, MAXLEN = 150, MAXK = 9 };
	unsigned char seed[randombytes_SEEDBYTES] = { 'l', 'a', 'n', 'e' };
	unsigned char keys[KEYS][CM_BLAKE2B_KEYBYTES], msg[MAXK][MAXLEN + 8];
	unsigned char out[MAXK][CM_BLAKE2B_BYTES], want[CM_BLAKE2B_BYTES];
	static struct cm_blake2b_keyed kd[KEYS];
	const struct cm_blake2b_keyed *kp[MAXK];
	const unsigned char *mp[MAXK];
	unsigned char *op[MAXK];
	size_t n[MAXK], k, i, len, checked = 0;

	for (i = 0; i < MAXK; i++)
		op[i] = out[MAXK - 1 - i]; /* the digests land where out[] says, not in a row */

	randombytes_buf_deterministic(keys, sizeof keys, seed);
	seed[sizeof seed - 1] = 1;
	randombytes_buf_deterministic(msg, sizeof msg, seed);
	for (i = 0; i < KEYS; i++)
		cm_blake2b_keyed_init(&kd[i], keys[i]);
	for (k = 1; k <= MAXK; k++) {
		for (len = 0; len <= MAXLEN; len++) {
			for (i = 0; i < k; i++) {
				kp[i] = &kd[(i + len) % KEYS];
				mp[i] = msg[i] + (i + len) % 8; /* unaligned, each lane its own bytes */
				n[i] = (len + 37 * i) % (MAXLEN + 1); /* lanes of different lengths */
			}
			memset(out, 0, sizeof out);
			cm_blake2b_keyed_hash_many(kp, mp, n, k, op);
			for (i = 0; i < k; i++) {
				ref(keys[(i + len) % KEYS], mp[i], n[i], want);
				cr_assert_arr_eq(op[i], want, sizeof want, "batch of %zu, message %zu, length %zu",
						 k, i, n[i]);
				checked++;
			}
		}
	}
	cr_assert_eq(checked, (size_t)(MAXLEN + 1) * MAXK * (MAXK + 1) / 2);
	sodium_memzero(kd, sizeof kd);
}

Test(blake2b, many_matches_libsodium_lane_by_lane)
{
	many_lane_by_lane();
}

/* AVX-512 off: the AVX2 lanes where the CPU has them (the choice is made once per process). */
Test(blake2b, many_matches_libsodium_without_avx512)
{
	cr_assert_eq(setenv("CDRMIN_NO_AVX512", "1", 1), 0);
	many_lane_by_lane();
}

/* Nothing wide: one message after the other. */
Test(blake2b, many_matches_libsodium_without_avx2)
{
	cr_assert_eq(setenv("CDRMIN_NO_AVX2", "1", 1), 0);
	many_lane_by_lane();
}

/* The known answers again, all nine rows in one batch: lanes agree with hashlib too. */
Test(blake2b, many_gives_the_known_answers)
{
	enum { ROWS = sizeof kat / sizeof kat[0] };
	unsigned char k[CM_BLAKE2B_KEYBYTES], m[256], out[ROWS][CM_BLAKE2B_BYTES];
	char hex[2 * CM_BLAKE2B_BYTES + 1];
	struct cm_blake2b_keyed kd[2];
	const struct cm_blake2b_keyed *kp[ROWS];
	const unsigned char *mp[ROWS];
	unsigned char *op[ROWS];
	size_t n[ROWS], i;

	for (i = 0; i < sizeof k; i++)
		k[i] = (unsigned char)i;
	for (i = 0; i < sizeof m; i++)
		m[i] = (unsigned char)i;
	cm_blake2b_keyed_init(&kd[0], k);
	cm_blake2b_keyed_init(&kd[1], kat_k2);
	for (i = 0; i < ROWS; i++) {
		kp[i] = &kd[kat[i].k2];
		mp[i] = kat[i].text ? (const unsigned char *)kat[i].text : m;
		n[i] = kat[i].len;
		op[i] = out[i];
	}
	cm_blake2b_keyed_hash_many(kp, mp, n, ROWS, op);
	for (i = 0; i < ROWS; i++) {
		sodium_bin2hex(hex, sizeof hex, out[i], sizeof out[i]);
		cr_expect_str_eq(hex, kat[i].hex, "row %zu (length %zu)", i, kat[i].len);
	}
	sodium_memzero(kd, sizeof kd);
}
