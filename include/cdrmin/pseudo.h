/*
 * cdrmin: keyed pseudonyms.
 *
 * token = BLAKE2b-256 keyed with a subkey, over a normalized value.
 * Subkeys are derived from the master key with crypto_kdf, one per
 * (kind, epoch): the kind's 8-byte context separates domains (a number as
 * IMSI and as phone gives unrelated tokens), the epoch id selects the
 * linkability window. Each subkey's key block is compressed once, when the
 * subkey is derived (blake2b.h), so a value of up to 128 bytes costs one
 * BLAKE2b compression; the digest equals libsodium's crypto_generichash.
 *
 * Text form of a token: KID "." DIGEST, KID the 4-character key identifier,
 * DIGEST the first bits/8 bytes of the hash in RFC 4648 base32, lower case,
 * unpadded (128 bits: 26 characters). Example: "q3xa.mfrggzdfmztwq2lknnwg23tpob".
 *
 * A bounded memo cache, indexed with XXH3 of (kind, epoch, value), keeps
 * recent digests; output is identical with the cache on or off. The cache
 * holds normalized originals: its memory is never dumped and is wiped on free.
 *
 * Key rotation: an engine made from a key schedule (key.h) derives the
 * subkeys of an epoch from the key in effect at the epoch's start, so the
 * (kind, epoch) subkeys, the memo cache and Crypto-PAn engines need no key
 * in their tags: an epoch has exactly one key for the engine's lifetime.
 *
 * An engine is not thread-safe (cache, keyed states and stats are plain
 * memory): use one per thread. Engines over the same key agree on every token.
 */
#ifndef CDRMIN_PSEUDO_H
#define CDRMIN_PSEUDO_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/generalize.h"
#include "cdrmin/key.h"

enum cm_kind {
	CM_KIND_GENERIC = 0,
	CM_KIND_PHONE,
	CM_KIND_IMSI,
	CM_KIND_IMEI,
	CM_KIND_IP,
	CM_KIND_EMAIL,
	CM_KIND__COUNT
};

/* "generic", "phone", ...; cm_kind_parse returns -1 for an unknown name. */
const char *cm_kind_name(enum cm_kind k);
int cm_kind_parse(const char *s);

/* Epoch ids (cm_epoch_id, enum cm_epoch_unit): generalize.h, with the times they come from. */

#define CM_DIGEST_BYTES 32
#define CM_TOKEN_BITS_DEFAULT 128
#define CM_TOKEN_BITS_MIN 128
#define CM_TOKEN_MAX 64 /* longest token text, with its NUL */
#define CM_CACHE_DEFAULT 65536
#define CM_CACHE_VALUE_MAX 47 /* longer values are hashed but not memoized */

struct cm_pseudo;

struct cm_pseudo_stats {
	uint64_t hits, misses;
	uint64_t ahead; /* digests taken from cm_pseudo_ahead (not cache lookups) */
};

/*
 * New engine for key (which must outlive it), with a memo cache of
 * cache_entries slots (0 disables the cache). NULL on failure (err set).
 */
struct cm_pseudo *cm_pseudo_new(const struct cm_key *key, size_t cache_entries,
				struct cm_err *err);
/*
 * New engine for a key schedule (key.h; it must outlive the engine) and the
 * rules' epoch unit. A record's epoch takes the key in effect at the
 * epoch's first instant: so each key's date must be the first day of an
 * epoch (any day for day epochs, the 1st for month, 1 January for year),
 * else CM_E_USAGE naming the key and the next boundary; more than one key
 * with CM_EPOCH_NONE is CM_E_USAGE too (one window for all time leaves no
 * boundary to switch at). Subkeys and Crypto-PAn keys of an epoch are
 * derived from its key; tokens start with its key id. NULL on failure.
 */
struct cm_pseudo *cm_pseudo_new_schedule(const struct cm_key_schedule *s,
					 enum cm_epoch_unit unit, size_t cache_entries,
					 struct cm_err *err);

/* Wipes subkeys and cache; NULL does nothing. */
void cm_pseudo_free(struct cm_pseudo *ps);

/*
 * While on (not 0), digests are computed without looking in the cache or
 * filling it, and are not counted as lookups: for values that do not repeat
 * (call ids, tags), where a lookup always misses and its entry only evicts
 * one that would have been hit. NULL does nothing.
 */
void cm_pseudo_cache_bypass(struct cm_pseudo *ps, int on);

/* A digest asked for ahead: the value of kind at epoch, v[0..n). */
struct cm_pseudo_ask {
	enum cm_kind kind;
	uint64_t epoch;
	const char *v;
	size_t n;
};

/* The most digests cm_pseudo_ahead keeps at once. */
#define CM_PSEUDO_AHEAD_MAX 8

/*
 * Computes the digests of ask[0..k) side by side (cm_blake2b_keyed_hash_many:
 * AVX-512 or AVX2 where the CPU has them) and keeps them until cm_pseudo_ahead_done,
 * replacing those kept before. Where a digest would be computed (the cache
 * bypassed, off, or missing it), it is looked for among them first, by
 * kind, epoch and the value's bytes; one found in the cache is not. The
 * caller keeps each v[0..n) unchanged and in place until
 * cm_pseudo_ahead_done: the values are not copied, nothing of them stays
 * here. Asks past CM_PSEUDO_AHEAD_MAX, or whose epoch no key serves, are
 * left out (their digests are computed when asked, as before).
 */
void cm_pseudo_ahead(struct cm_pseudo *ps, const struct cm_pseudo_ask *ask, size_t k);

/* Forgets the digests cm_pseudo_ahead kept. NULL does nothing. */
void cm_pseudo_ahead_done(struct cm_pseudo *ps);

/*
 * 1 when the cache holds the digest of (kind, epoch, v[0..n)), else 0
 * (also with the cache off). h: what cm_pseudo_prefetch returned for the
 * same value, or 0. Counts nothing and changes nothing.
 */
int cm_pseudo_cached(const struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch, const char *v,
		     size_t n, uint64_t h);

/*
 * Starts loading the cache set cm_pseudo_digest(ps, kind, epoch, v, n, .)
 * will look at (nothing without a cache, or for a value it does not cache).
 * Returns the value's cache hash, for cm_pseudo_cached (0: none).
 */
uint64_t cm_pseudo_prefetch(const struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch,
			    const char *v, size_t n);

/*
 * The 32-byte digest of the normalized value v[0..n) in (kind, epoch).
 * Returns 0, or CM_FAIL for a kind out of range (it allocates nothing).
 */
int cm_pseudo_digest(struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch,
		     const char *v, size_t n, unsigned char out[CM_DIGEST_BYTES]);

/*
 * Appends the text token (KID "." DIGEST with bits of digest) to out.
 * bits: a multiple of 8 from 128 to 256. Returns 0, or CM_FAIL for bad bits
 * or kind (nothing appended) or when out ran out of memory (out->oom).
 */
int cm_pseudo_token(struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch,
		    const char *v, size_t n, unsigned bits, struct cm_buf *out);

/*
 * cm_pseudo_token, the value's cache hash given: h is what
 * cm_pseudo_prefetch(ps, kind, epoch, v, n) returned (0: computed here).
 */
int cm_pseudo_token_h(struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch, const char *v,
		      size_t n, uint64_t h, unsigned bits, struct cm_buf *out);

/* The key identifier in tokens (of the first key, the one without a date). */
const char *cm_pseudo_key_id(const struct cm_pseudo *ps);

/*
 * The index in the schedule of the key that serves epoch: the last key
 * whose first epoch is at or before it. Epoch 0 (no epoch) is the first
 * key's. -1 for an epoch of another unit than the schedule's when there
 * is more than one key (such an epoch cannot be placed); a token or digest
 * in it fails (CM_FAIL) rather than guess.
 */
int cm_pseudo_key_index(const struct cm_pseudo *ps, uint64_t epoch);

/* The key id of epoch's key (cm_pseudo_key_index), or NULL. */
const char *cm_pseudo_key_id_at(const struct cm_pseudo *ps, uint64_t epoch);

/* The memo cache's counters; another thread may ask while the engine runs. */
void cm_pseudo_get_stats(const struct cm_pseudo *ps, struct cm_pseudo_stats *st);

/* Appends the unpadded lower-case RFC 4648 base32 text of p[0..n). */
void cm_base32_put(struct cm_buf *out, const unsigned char *p, size_t n);

/*
 * Prefix-preserving pseudonym (Crypto-PAn, cryptopan.h) of the address
 * in[0..4) (family 4) or in[0..16) (family 6), written to out, in epoch.
 * The Crypto-PAn key is derived from the master key per epoch
 * (crypto_kdf, context "cdrm-cpn", subkey id the epoch id), so addresses
 * of different epochs do not match, unless cm_pseudo_set_cryptopan_key
 * gave a key: then that key serves every epoch (to cross-check with other
 * Crypto-PAn tools). Engines of the last few epochs are kept. Returns 0, or
 * CM_FAIL when memory is short or libcrypto fails.
 */
int cm_pseudo_cryptopan(struct cm_pseudo *ps, uint64_t epoch, int family, const uint8_t *in,
			uint8_t *out);

/* Sets a Crypto-PAn key for all epochs (copied). Returns 0 or CM_FAIL. */
int cm_pseudo_set_cryptopan_key(struct cm_pseudo *ps, const unsigned char key[32]);

#endif
