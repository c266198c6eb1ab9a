/* \summary: Crypto-PAn prefix-preserving IP address pseudonyms, AES from libcrypto */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>
#include <xxhash.h>

#include "cdrmin/fdio.h"
#include "cdrmin/clock.h"
#include "cdrmin/cryptopan.h"
#include "cdrmin/secmem.h"
#include "cdrmin/key.h"

#define AES_BLOCK 16
#define MAX_BITS 128 /* IPv6: one AES block per address bit */

/*
 * Everything secret or derived from the key and an address, in one
 * sodium_malloc region (guard pages, mlock, never in a core dump, wiped by
 * sodium_free): the pad, the block being built, and the batch of AES inputs
 * and outputs. Only the 16-byte flip mask passes through the stack, and is
 * wiped there.
 */
struct secret {
	unsigned char pad[AES_BLOCK];            /* AES_K(key[16..32)) */
	unsigned char cur[AES_BLOCK];            /* address bits 0..i-1, then pad bits */
	unsigned char in[MAX_BITS * AES_BLOCK];  /* B_0 .. B_{n-1} */
	unsigned char out[MAX_BITS * AES_BLOCK]; /* AES_K(B_i) */
};

/*
 * Memo cache: sets of MEMO_WAYS entries behind a line of 64-bit tags (the
 * full XXH3 of the address), CLOCK replacement within a set as in pseudo.c:
 * a hit sets the entry's reference bit, a new entry starts unreferenced, so
 * addresses seen once go before addresses that repeat. The tag only narrows
 * the search: a hit needs the same family and the same address bytes.
 */
#define MEMO_WAYS 4
#define MEMO_SLOTS_MAX ((size_t)1 << 24) /* 805 MB of cache: far beyond any sane setting */

struct memo_entry {
	uint8_t in[16]; /* the original; IPv4 uses in[0..4), the rest is zero */
	uint8_t out[16];
};

struct memo_set {
	_Alignas(64) uint64_t tag[MEMO_WAYS];
	uint8_t valid; /* bit w: entry w holds an address */
	uint8_t ref;   /* bit w: entry w was hit since the clock hand last passed */
	uint8_t v6;    /* bit w: entry w is an IPv6 address */
	uint8_t hand;  /* next way the clock hand looks at */
	struct memo_entry e[MEMO_WAYS];
};
_Static_assert(MEMO_WAYS <= 8, "masks are bytes");
_Static_assert(sizeof(struct memo_set) == 192, "a set is three cache lines");

struct cm_cryptopan {
	EVP_CIPHER_CTX *ctx; /* AES-128-ECB under key[0..16), no padding; reused for every batch */
	struct secret *s;    /* sodium_malloc */

	struct memo_set *sets; /* NULL when the cache is off, or not yet used */
	struct memo_set *map;  /* the cache's memory, sets from its first use (lookup) */
	size_t set_mask;
	size_t map_bytes;
	uint64_t seed; /* XXH3 seed: random, so collisions cannot be crafted offline */
	int failed;    /* libcrypto failed once: every later output is all zeros */
};

/* Smallest power of two >= n, for 1 <= n <= MEMO_SLOTS_MAX. */
static size_t pow2_ceil(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/*
 * Encrypts in[0..len) to out[0..len) as independent blocks (ECB), len a
 * multiple of 16. One call per address: the whole batch goes through
 * libcrypto's pipelined ECB loop. Returns 0 or -1.
 */
static int ecb(EVP_CIPHER_CTX *ctx, unsigned char *out, const unsigned char *in, int len)
{
	int outl = 0;

	if (EVP_EncryptUpdate(ctx, out, &outl, in, len) != 1 || outl != len)
		return -1;
	return 0;
}

struct cm_cryptopan *cm_cryptopan_new(const unsigned char key[CM_CRYPTOPAN_KEYBYTES],
				      size_t cache_slots)
{
	struct cm_cryptopan *c;
	size_t slots;
	void *map;

	if (cache_slots > MEMO_SLOTS_MAX || sodium_init() < 0)
		return NULL;
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->s = sodium_malloc(sizeof *c->s);
	if (!c->s)
		goto fail;
	sodium_memzero(c->s, sizeof *c->s);

	c->ctx = EVP_CIPHER_CTX_new();
	if (!c->ctx)
		goto fail;
	if (EVP_EncryptInit_ex(c->ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1)
		goto fail;
	/* Whole blocks in, whole blocks out: no PKCS#7 padding, nothing held back. */
	if (EVP_CIPHER_CTX_set_padding(c->ctx, 0) != 1)
		goto fail;
	/* The reference encrypts the second half of the key once and pads with the result. */
	if (ecb(c->ctx, c->s->pad, key + AES_BLOCK, AES_BLOCK) != 0)
		goto fail;

	if (cache_slots) {
		slots = pow2_ceil(cache_slots < MEMO_WAYS ? MEMO_WAYS : cache_slots);
		c->map_bytes = slots / MEMO_WAYS * sizeof(struct memo_set);
		/* The cache holds original addresses: out of core dumps and swap (secmem.h). */
		map = cm_secmem_map(c->map_bytes);
		if (!map) {
			c->map_bytes = 0;
			goto fail;
		}
		c->map = map;
		c->set_mask = slots / MEMO_WAYS - 1;
		randombytes_buf(&c->seed, sizeof c->seed);
	}
	return c;
fail:
	cm_cryptopan_free(c);
	return NULL;
}

void cm_cryptopan_free(struct cm_cryptopan *c)
{
	if (!c)
		return;
	/* EVP_CIPHER_CTX_free cleanses the key schedule before releasing it. */
	EVP_CIPHER_CTX_free(c->ctx);
	if (c->s)
		sodium_free(c->s); /* wipes */
	cm_secmem_unmap(c->map, c->map_bytes, c->sets != NULL);
	sodium_memzero(c, sizeof *c);
	free(c);
}

/*
 * The Crypto-PAn one-time pad of the nbits-bit address a (nbits = 32 or
 * 128): flip bit i = MSB of AES_K(B_i), B_i = bits 0..i-1 of a followed by
 * bits i..127 of the pad. B_i differs from B_{i-1} only in bit i-1, so each
 * block is the previous one with one more address bit copied in. flip gets
 * nbits/8 bytes. Returns 0, or -1 if libcrypto failed (flip is then zero).
 */
static int one_time_pad(struct cm_cryptopan *c, const uint8_t *a, unsigned nbits, uint8_t *flip)
{
	struct secret *s = c->s;
	unsigned i, byte;
	uint8_t m;
	int rc = 0;

	memcpy(s->cur, s->pad, AES_BLOCK);
	for (i = 0; i < nbits; i++) {
		memcpy(s->in + (size_t)i * AES_BLOCK, s->cur, AES_BLOCK);
		byte = i >> 3;
		m = (uint8_t)(0x80u >> (i & 7));
		s->cur[byte] = (uint8_t)((s->cur[byte] & ~m) | (a[byte] & m));
	}
	memset(flip, 0, nbits / 8);
	if (c->failed || ecb(c->ctx, s->out, s->in, (int)(nbits * AES_BLOCK)) != 0) {
		c->failed = 1;
		rc = -1;
	} else {
		for (i = 0; i < nbits; i++)
			flip[i >> 3] |= (uint8_t)((s->out[(size_t)i * AES_BLOCK] & 0x80u) >> (i & 7));
	}
	/* cur holds a whole address now; in and out are overwritten by the next call. */
	sodium_memzero(s->cur, sizeof s->cur);
	return rc;
}

/* out = pseudonym of a[0..n) (n = 4 or 16), zeros if libcrypto failed; never a itself. */
static int compute(struct cm_cryptopan *c, const uint8_t *a, size_t n, uint8_t *out)
{
	uint8_t flip[16];
	size_t i;

	if (one_time_pad(c, a, (unsigned)(n * 8), flip) != 0) {
		memset(out, 0, n);
		return -1;
	}
	for (i = 0; i < n; i++)
		out[i] = a[i] ^ flip[i];
	sodium_memzero(flip, sizeof flip);
	return 0;
}

/* The pseudonym of a[0..n), through the memo cache when there is one. */
static void lookup(struct cm_cryptopan *c, const uint8_t *a, size_t n, uint8_t *out)
{
	const uint8_t fam = n == 16;
	struct memo_set *set;
	struct memo_entry *e;
	uint64_t h;
	unsigned w;

	if (!c->sets && c->map) {
		/* the first address: the pages come in in the thread that uses them (secmem.h) */
		(void)cm_secmem_populate(c->map, c->map_bytes);
		c->sets = c->map;
	}
	if (!c->sets) {
		compute(c, a, n, out);
		return;
	}
	/* Different lengths, different families: the compare below keeps them apart anyway. */
	h = XXH3_64bits_withSeed(a, n, c->seed);
	set = &c->sets[h & c->set_mask];
	for (w = 0; w < MEMO_WAYS; w++) {
		if (!(set->valid >> w & 1) || set->tag[w] != h || (set->v6 >> w & 1) != fam)
			continue;
		e = &set->e[w];
		if (memcmp(e->in, a, n) == 0) {
			memcpy(out, e->out, n);
			set->ref |= (uint8_t)(1u << w);
			return;
		}
	}

	/* Victim: a free way, else the first unreferenced way from the clock hand. */
	w = cm_clock_victim(set->valid, &set->ref, &set->hand, MEMO_WAYS);
	e = &set->e[w];
	/*
	 * Copy the input in first: out may be the input's own bytes. The zeros
	 * leave no tail of an evicted IPv6 address behind an IPv4 one.
	 */
	memset(e, 0, sizeof *e);
	memcpy(e->in, a, n);
	if (compute(c, e->in, n, e->out) != 0) {
		memset(e, 0, sizeof *e);
		set->valid &= (uint8_t)~(1u << w); /* never memoize a failure */
		memset(out, 0, n);
		return;
	}
	memcpy(out, e->out, n);
	set->tag[w] = h;
	set->valid |= (uint8_t)(1u << w);
	set->ref &= (uint8_t)~(1u << w);
	if (fam)
		set->v6 |= (uint8_t)(1u << w);
	else
		set->v6 &= (uint8_t)~(1u << w);
}

int cm_cryptopan_ip4(struct cm_cryptopan *c, const uint8_t in[4], uint8_t out[4])
{
	lookup(c, in, 4, out);
	return c->failed ? -1 : 0;
}

int cm_cryptopan_ip6(struct cm_cryptopan *c, const uint8_t in[16], uint8_t out[16])
{
	lookup(c, in, 16, out);
	return c->failed ? -1 : 0;
}

/* Group or others may read or write: either lets another user see or swap the key. */
#define KEY_MODE_FORBIDDEN 0066

/* Longest accepted file: 64 hex digits and CR LF. */
#define KEY_FILE_MAX (2 * CM_CRYPTOPAN_KEYBYTES + 2)

/* A static reason for a failed open, from errno (the path is the caller's to name). */
static const char *open_reason(int e)
{
	switch (e) {
	case ENOENT:
		return "no such file";
	case EACCES:
		return "permission denied";
	case ELOOP:
		return "too many symbolic links";
	case ENOTDIR:
		return "a path component is not a directory";
	default:
		return "cannot open";
	}
}

/*
 * The file checks and the error style follow cm_key_load (key.c): open
 * without blocking on a FIFO, fstat the open descriptor (no race with the
 * path), regular file, mode, length from fstat and again from what was read.
 * The bytes pass through sodium_malloc memory only; reasons are static
 * strings that never quote the file.
 */
int cm_cryptopan_key_load(const char *path, unsigned char key[CM_CRYPTOPAN_KEYBYTES],
			  const char **why)
{
	const char *reason = NULL;
	unsigned char *b = NULL;
	struct stat st;
	size_t hexlen, binlen = 0;
	ssize_t got;
	int fd = -1, rc = -1;

	if (sodium_init() < 0) {
		reason = "libsodium initialisation failed";
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		reason = open_reason(errno);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		reason = "cannot stat";
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		reason = "not a regular file";
		goto out;
	}
	if (st.st_mode & KEY_MODE_FORBIDDEN) {
		reason = "readable or writable by group or others (chmod 600 it)";
		goto out;
	}
	if (st.st_size != CM_CRYPTOPAN_KEYBYTES &&
	    (st.st_size < 2 * CM_CRYPTOPAN_KEYBYTES || st.st_size > KEY_FILE_MAX)) {
		reason = "wrong length (expected 32 raw bytes or 64 hex digits)";
		goto out;
	}

	/* One byte more than the longest form, to see a file that grew since fstat. */
	b = sodium_malloc(KEY_FILE_MAX + 1);
	if (!b) {
		reason = "out of protected memory";
		goto out;
	}
	got = cm_read_full(fd, b, KEY_FILE_MAX + 1);
	if (got < 0) {
		reason = "cannot read";
		goto out;
	}
	if (got != st.st_size) {
		reason = "wrong length (changed while reading)";
		goto out;
	}

	if (got == CM_CRYPTOPAN_KEYBYTES) {
		memcpy(key, b, CM_CRYPTOPAN_KEYBYTES);
		rc = 0;
		goto out;
	}
	/* 64 hex digits, then nothing, LF, or CR LF. */
	hexlen = 2 * CM_CRYPTOPAN_KEYBYTES;
	if (!((got == (ssize_t)hexlen) || (got == (ssize_t)hexlen + 1 && b[hexlen] == '\n') ||
	      (got == (ssize_t)hexlen + 2 && b[hexlen] == '\r' && b[hexlen + 1] == '\n'))) {
		reason = "not 64 hex digits with an optional line end";
		goto out;
	}
	/* sodium_hex2bin: constant time for a given length; no hex_end, so any non-digit fails. */
	if (sodium_hex2bin(key, CM_CRYPTOPAN_KEYBYTES, (const char *)b, hexlen, NULL, &binlen,
			   NULL) != 0 ||
	    binlen != CM_CRYPTOPAN_KEYBYTES) {
		sodium_memzero(key, CM_CRYPTOPAN_KEYBYTES);
		reason = "not 64 hex digits with an optional line end";
		goto out;
	}
	rc = 0;
out:
	if (b)
		sodium_free(b); /* wipes */
	if (fd >= 0)
		close(fd);
	if (why)
		*why = rc == 0 ? NULL : reason;
	return rc;
}
