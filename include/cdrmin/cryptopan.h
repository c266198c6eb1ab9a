/*
 * cdrmin: prefix-preserving IP address pseudonyms, Crypto-PAn.
 *
 * Crypto-PAn (J. Xu, J. Fan, M. Ammar, S. Moon, "Prefix-Preserving IP
 * Address Anonymization", ICNP 2002), AES-128 from OpenSSL's libcrypto.
 *
 * Definition. K = key[0..16) is an AES-128 key; the pad P = AES_K(key[16..32))
 * (the second half of the key, encrypted once). Number the bits of an n-bit
 * address a from 0, the most significant bit of a[0] first (n = 32 for IPv4,
 * 128 for IPv6), and likewise the 128 bits of a block. For i = 0 .. n-1, B_i
 * is the 16-byte block whose bits 0..i-1 are bits 0..i-1 of a and whose bits
 * i..127 are bits i..127 of P; bit i of the pseudonym is bit i of a XOR bit 0
 * of AES_K(B_i). An IPv4 address so fills the first 4 bytes of each block
 * and bytes 4..15 are always P's.
 *
 * Consequences: the map is a bijection on each family, and two addresses
 * whose longest common prefix is exactly k bits give pseudonyms whose
 * longest common prefix is exactly k bits. An IPv4 address a placed in the
 * top 32 bits of an IPv6 address (a followed by 96 zero bits) gets as the
 * top 32 bits of its IPv6 pseudonym the IPv4 pseudonym of a.
 *
 * Compatibility. IPv4 is bit for bit the reference implementation
 * (Crypto-PAn 1.0, panonymizer.cpp; tests/test_cryptopan.c checks its
 * sample trace), as are nfdump's nfanon, libtrace 3's traceanon (panon.c),
 * yacryptopan (Python) and Yawning Angel's cryptopan (Go). libtrace 4's
 * traceanon (Anon.cc) pads with key[16..32) unencrypted and does not match.
 * The reference has no IPv6; the definition above for n = 128 is the one of
 * yacryptopan and of the Go cryptopan (the test checks vectors published
 * with both). nfdump's anonymize_v6 and libtrace 4's anonIPv6 (two
 * independent 64-bit halves) compute other functions: IPv6 pseudonyms from
 * those tools do not match these.
 *
 * Cost: each address is n AES blocks (32 or 128), encrypted as one ECB batch.
 * Results are memoized in a bounded cache; output is identical with the
 * cache on or off. The cache holds original addresses: it is excluded from
 * core dumps, locked in memory when RLIMIT_MEMLOCK allows, wiped on free.
 *
 * An engine is not thread-safe (cache and working blocks are plain state):
 * use one per thread. Engines over the same key agree on every address.
 */
#ifndef CDRMIN_CRYPTOPAN_H
#define CDRMIN_CRYPTOPAN_H

#include <stddef.h>
#include <stdint.h>

#define CM_CRYPTOPAN_KEYBYTES 32

struct cm_cryptopan;

/*
 * A Crypto-PAn engine for key[0..32) with a memo cache of cache_slots
 * entries (0: none; otherwise rounded up to a power of two, at least 4, at
 * most 2^24). key is not kept: the pad and the working blocks live in
 * sodium_malloc memory (locked, guarded, wiped on free), the AES key
 * schedule in libcrypto's cipher context (cleansed on free). The caller
 * wipes its own copy of key. NULL when memory is short, cache_slots is over
 * 2^24, or libsodium or libcrypto fails. cm_cryptopan_free(NULL) does nothing.
 */
struct cm_cryptopan *cm_cryptopan_new(const unsigned char key[CM_CRYPTOPAN_KEYBYTES],
				      size_t cache_slots);
void cm_cryptopan_free(struct cm_cryptopan *c);

/*
 * out[0..4) = the pseudonym of the IPv4 address in[0..4) (network order).
 * in and out may be the same bytes. Returns 0, or -1 should libcrypto ever
 * fail after cm_cryptopan_new succeeded (it cannot with a valid context and
 * whole blocks): out is then all zeros, never in, for this and every later
 * call, and the caller must not write it.
 */
int cm_cryptopan_ip4(struct cm_cryptopan *c, const uint8_t in[4], uint8_t out[4]);

/*
 * out[0..16) = the pseudonym of the IPv6 address in[0..16), same terms as
 * cm_cryptopan_ip4. An IPv4-mapped address (::ffff:a.b.c.d) is treated as
 * any other IPv6 address: a caller that wants the IPv4 pseudonym unmaps it
 * and calls cm_cryptopan_ip4.
 */
int cm_cryptopan_ip6(struct cm_cryptopan *c, const uint8_t in[16], uint8_t out[16]);

/*
 * Reads a Crypto-PAn key file into key: exactly 32 raw bytes, or exactly 64
 * hex digits (either case) followed by nothing, LF, or CR LF. Same file
 * checks as the pseudonym key (cm_key_load): a regular file, not readable
 * or writable by group or others, the length checked both by fstat and by
 * what was read. The file's bytes pass through sodium_malloc memory only.
 * Returns 0 (why set to NULL), or -1 with why set to a static reason that
 * names neither the file (the caller does) nor any of its bytes; key then
 * holds none of the file's bytes.
 */
int cm_cryptopan_key_load(const char *path, unsigned char key[CM_CRYPTOPAN_KEYBYTES],
			  const char **why);

#endif
