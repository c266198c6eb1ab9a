/*
 * cdrmin: keyed BLAKE2b-256 with the key block absorbed once (RFC 7693).
 *
 * The output equals libsodium's crypto_generichash(out, 32, m, n, key, 32)
 * and Python's hashlib.blake2b(m, key=key, digest_size=32): parameter block
 * digest length 32, key length 32, fanout 1, depth 1, no salt, no
 * personalization. The key, zero-padded to 128 bytes, is the first block;
 * cm_blake2b_keyed_init compresses it once, so a message of up to 128 bytes
 * then costs one compression instead of two.
 */
#ifndef CDRMIN_BLAKE2B_H
#define CDRMIN_BLAKE2B_H

#include <stddef.h>
#include <stdint.h>

#define CM_BLAKE2B_KEYBYTES 32
#define CM_BLAKE2B_BYTES 32
#define CM_BLAKE2B_BLOCKBYTES 128

/*
 * A prepared key: the chaining value after the key block, and the digest of
 * the empty message (there the key block is itself the final block, so it
 * cannot be finished from h).
 * WARNING: h is as secret as the key: anyone holding it computes every
 * digest under that key. Keep it in protected memory (sodium_malloc) and
 * wipe it (sodium_memzero) when done.
 */
struct cm_blake2b_keyed {
	uint64_t h[8];
	unsigned char empty[CM_BLAKE2B_BYTES];
};

/* Prepares *kd from key[0..32): two compressions, once per key. */
void cm_blake2b_keyed_init(struct cm_blake2b_keyed *kd,
			   const unsigned char key[CM_BLAKE2B_KEYBYTES]);

/*
 * The 32-byte keyed digest of m[0..n) (m may be NULL when n is 0) under the
 * key *kd was prepared with; *kd is not modified, so one prepared key serves
 * any number of messages. Any length works: n = 0 is a copy, 1 <= n <= 128
 * one compression, each further 128 bytes (or part) one more.
 */
void cm_blake2b_keyed_hash(const struct cm_blake2b_keyed *kd, const unsigned char *m, size_t n,
			   unsigned char out[CM_BLAKE2B_BYTES]);

/*
 * The digests of k messages, each under its own prepared key: out[i] (32
 * bytes) gets cm_blake2b_keyed_hash(kd[i], m[i], n[i]) for every i < k. Messages of 1
 * to 128 bytes are hashed side by side: with AVX-512 two or four at a
 * time on the rows of 512-bit registers (two in about 110 ns, four in 150),
 * else with AVX2 four at a time in the lanes of 256-bit registers (about
 * 215 ns); the others, and every message on other CPUs, one by one.
 */
void cm_blake2b_keyed_hash_many(const struct cm_blake2b_keyed *const kd[],
				const unsigned char *const m[], const size_t n[], size_t k,
				unsigned char *const out[]);

#endif
