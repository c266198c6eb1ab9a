/* \summary: unit tests of keyed pseudonyms: known answers, separation, memo cache */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "cdrmin/pseudo.h"
#include "support.h"

/*
 * Known answers, computed with Python's hashlib, independently of this C code,
 * for the master key 00 01 02 ... 1f. The construction they pin down:
 *
 *   subkey(ctx, eid) = BLAKE2b(key = master, digest_size = 32,
 *                              salt = LE64(eid) || 0^8, person = ctx || 0^8, msg = "")
 *       (what crypto_kdf_derive_from_key does in libsodium 1.0.18)
 *   key id  = base32(subkey("cdrm-kid", 0))[:4]
 *   digest  = BLAKE2b(key = subkey(kind ctx, epoch id), digest_size = 32, msg = value)
 *   token   = key id "." base32(digest[:bits/8])  (RFC 4648, lower case, unpadded)
 *
 * To re-derive (python3):
 *   import hashlib,base64; M=bytes(range(32))
 *   S=lambda c,e: hashlib.blake2b(b'',key=M,digest_size=32,salt=e.to_bytes(8,'little')+bytes(8),person=c.encode()+bytes(8)).digest()
 *   B=lambda b: base64.b32encode(b).decode().lower().rstrip('=')
 *   T=lambda c,e,v,bits=128: B(S('cdrm-kid',0))[:4]+'.'+B(hashlib.blake2b(v,key=S(c,e),digest_size=32).digest()[:bits//8])
 *   print(T('cdrm-phn', (2<<56)|650, b'+442079460123'))
 */
static const struct {
	const char *ctx;
	uint64_t eid;
	const char *hex;
} kdf_kat[] = {
	{ "cdrm-kid", 0, "1764cc2aca15f05984aada2e3d351e80c5d8a7c3faf77557a1a49cfca175ae6e" },
	{ "cdrm-phn", 0, "e1929d2f63ddff187a5b87dbcc6c129b788c8f7eaee888d497dd4bad3b8055c9" },
	{ "cdrm-phn", 0x020000000000028aULL,
	  "03a383f473f545b2d6e989d42d387dcc4bce135b2b72c0971478831b768567e6" },
	{ "cdrm-ims", 0x0123456789abcdefULL,
	  "fd9f7b62e2c0d7cb563ee70e2fb8fc1dceb8672eead79bd90616e8ce5931e807" },
};

static const char kat_key_id[] = "c5sm";

static const struct {
	enum cm_kind kind;
	uint64_t epoch;
	const char *value;
	unsigned bits;
	const char *token;
} token_kat[] = {
	{ CM_KIND_PHONE, 0, "+442079460123", 128, "c5sm.5wkapfgvui5hqsr7aumg5ags7e" },
	{ CM_KIND_IMSI, 0, "+442079460123", 128, "c5sm.hzn45cm2tq6yr7ogs7vjepotfa" },
	/* month 650 since 1970-01: cm_epoch_id(CM_EPOCH_MONTH, 650) */
	{ CM_KIND_PHONE, 0x020000000000028aULL, "+442079460123", 128,
	  "c5sm.bdk3nkqrvzqbh2t54svwbsgvzy" },
	{ CM_KIND_GENERIC, 0, "", 128, "c5sm.pophqkkkg73zfk2qybgbtfvtpm" },
	{ CM_KIND_IMEI, 0, "490154203237518", 128, "c5sm.ky6alq7m4v7ggssy43ur3afcfy" },
	/* day 20000: cm_epoch_id(CM_EPOCH_DAY, 20000) */
	{ CM_KIND_IP, 0x0100000000004e20ULL, "192.0.2.1", 128, "c5sm.c3oyqf3dej5sx6v2pvxtj7kane" },
	{ CM_KIND_IP, 0x0100000000004e20ULL, "2001:db8::1", 256,
	  "c5sm.cy3v75xf7jimtdr2ze5wc6g6cfwfegw5owsojoa3neehhoiznnba" },
	/* year 55: cm_epoch_id(CM_EPOCH_YEAR, 55) */
	{ CM_KIND_EMAIL, 0x0300000000000037ULL, "alice@example.org", 200,
	  "c5sm.7k3fdu7zqfpioppmewokbquhec7ecrk67syyqc2a" },
	/* 200 x "x": more than one BLAKE2b block (value built in the test) */
	{ CM_KIND_GENERIC, 0, NULL, 128, "c5sm.d32sdbzhy6dbki2qllyeiwvj6u" },
};

/* Full digest of (phone, 0, "+442079460123"). */
static const char kat_digest_hex[] =
	"ed940794d5a23a784a3f05186e80d2f9da05ace7eafd879854f41c2590c55c9c";

static char pdir[64];
static struct cm_key key0; /* bytes 00..1f */
static struct cm_key key1; /* bytes 00..1e, 20 */

static void load_key(struct cm_key *key, const char *name, unsigned char last)
{
	unsigned char b[CM_KEY_BYTES];
	char path[128];
	struct cm_err err = { 0 };
	int fd, i;

	for (i = 0; i < CM_KEY_BYTES; i++)
		b[i] = (unsigned char)i;
	b[CM_KEY_BYTES - 1] = last;
	snprintf(path, sizeof path, "%s/%s", pdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b, sizeof b), (ssize_t)sizeof b);
	cr_assert_eq(close(fd), 0);
	cr_assert_eq(chmod(path, 0600), 0);
	cr_assert_eq(cm_key_load(key, path, &err), 0, "%s", err.msg);
	unlink(path);
}

static void pseudo_setup(void)
{
	struct cm_err err = { 0 };

	strcpy(pdir, "/tmp/cdrmin-pseudo-XXXXXX");
	cr_assert_not_null(mkdtemp(pdir));
	cr_assert_eq(cm_crypto_init(&err), 0, "%s", err.msg);
	load_key(&key0, "k0", 0x1f);
	load_key(&key1, "k1", 0x20);
}

static void pseudo_teardown(void)
{
	cm_key_free(&key0);
	cm_key_free(&key1);
	rmdir(pdir);
}

TestSuite(pseudo, .init = pseudo_setup, .fini = pseudo_teardown);

static struct cm_pseudo *engine(const struct cm_key *key, size_t cache)
{
	struct cm_err err = { 0 };
	struct cm_pseudo *ps = cm_pseudo_new(key, cache, &err);

	cr_assert_not_null(ps, "%s", err.msg);
	return ps;
}

/* The token of v as a NUL-terminated string in buf (static: valid until the next call). */
static const char *token(struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch, const char *v,
			 size_t n, unsigned bits)
{
	static char text[CM_TOKEN_MAX];
	struct cm_buf b;

	cm_buf_init(&b);
	cr_assert_eq(cm_pseudo_token(ps, kind, epoch, v, n, bits, &b), 0);
	cr_assert_lt(b.n, sizeof text);
	memcpy(text, b.p, b.n);
	text[b.n] = '\0';
	cm_buf_deinit(&b);
	return text;
}

static const char *tok_s(struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch, const char *v)
{
	return token(ps, kind, epoch, v, strlen(v), CM_TOKEN_BITS_DEFAULT);
}

Test(pseudo, kdf_matches_the_documented_construction)
{
	unsigned char sub[32];
	char hex[65];
	size_t i;

	for (i = 0; i < sizeof kdf_kat / sizeof kdf_kat[0]; i++) {
		cr_assert_eq(crypto_kdf_derive_from_key(sub, sizeof sub, kdf_kat[i].eid,
							kdf_kat[i].ctx, key0.k),
			     0);
		sodium_bin2hex(hex, sizeof hex, sub, sizeof sub);
		cr_expect_str_eq(hex, kdf_kat[i].hex, "ctx %s", kdf_kat[i].ctx);
	}
}

Test(pseudo, known_answers)
{
	static const size_t caches[] = { 0, 8, CM_CACHE_DEFAULT };
	char longv[200];
	size_t c, i, pass;

	memset(longv, 'x', sizeof longv);
	cr_expect_str_eq(key0.id, kat_key_id);
	for (c = 0; c < sizeof caches / sizeof caches[0]; c++) {
		struct cm_pseudo *ps = engine(&key0, caches[c]);

		cr_expect_str_eq(cm_pseudo_key_id(ps), kat_key_id);
		for (pass = 0; pass < 2; pass++) { /* the second pass hits the cache */
			for (i = 0; i < sizeof token_kat / sizeof token_kat[0]; i++) {
				const char *v = token_kat[i].value ? token_kat[i].value : longv;
				size_t n = token_kat[i].value ? strlen(v) : sizeof longv;

				cr_expect_str_eq(token(ps, token_kat[i].kind, token_kat[i].epoch, v,
						       n, token_kat[i].bits),
						 token_kat[i].token, "row %zu cache %zu pass %zu", i,
						 caches[c], pass);
			}
		}
		cm_pseudo_free(ps);
	}
}

Test(pseudo, known_digest)
{
	struct cm_pseudo *ps = engine(&key0, 16);
	unsigned char d[CM_DIGEST_BYTES];
	char hex[2 * CM_DIGEST_BYTES + 1];

	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_PHONE, 0, "+442079460123", 13, d), 0);
	sodium_bin2hex(hex, sizeof hex, d, sizeof d);
	cr_expect_str_eq(hex, kat_digest_hex);
	cm_pseudo_free(ps);
}

Test(pseudo, epoch_ids)
{
	cr_expect_eq(cm_epoch_id(CM_EPOCH_NONE, 650), 0);
	cr_expect_eq(cm_epoch_id(CM_EPOCH_MONTH, 650), 0x020000000000028aULL);
	cr_expect_eq(cm_epoch_id(CM_EPOCH_DAY, 20000), 0x0100000000004e20ULL);
	cr_expect_eq(cm_epoch_id(CM_EPOCH_YEAR, 55), 0x0300000000000037ULL);
}

Test(pseudo, kinds_are_separate)
{
	struct cm_pseudo *ps = engine(&key0, 64);
	char seen[CM_KIND__COUNT][CM_TOKEN_MAX];
	int a, b;

	for (a = 0; a < CM_KIND__COUNT; a++)
		strcpy(seen[a], tok_s(ps, (enum cm_kind)a, 0, "15550100"));
	for (a = 0; a < CM_KIND__COUNT; a++)
		for (b = a + 1; b < CM_KIND__COUNT; b++)
			cr_expect_str_neq(seen[a], seen[b], "kinds %d and %d", a, b);
	cm_pseudo_free(ps);
}

Test(pseudo, epochs_are_separate)
{
	const uint64_t epochs[] = {
		0,
		cm_epoch_id(CM_EPOCH_DAY, 20000),
		cm_epoch_id(CM_EPOCH_DAY, 20001),
		cm_epoch_id(CM_EPOCH_MONTH, 20000),
		cm_epoch_id(CM_EPOCH_YEAR, 20000),
		cm_epoch_id(CM_EPOCH_MONTH, 650),
	};
	enum { NE = sizeof epochs / sizeof epochs[0] };
	struct cm_pseudo *ps = engine(&key0, 64);
	char seen[NE][CM_TOKEN_MAX];
	size_t a, b;

	for (a = 0; a < NE; a++)
		strcpy(seen[a], tok_s(ps, CM_KIND_PHONE, epochs[a], "+15550100"));
	for (a = 0; a < NE; a++)
		for (b = a + 1; b < NE; b++)
			cr_expect_str_neq(seen[a], seen[b], "epochs %zu and %zu", a, b);
	cm_pseudo_free(ps);
}

Test(pseudo, different_keys_differ)
{
	struct cm_pseudo *p0 = engine(&key0, 64), *p1 = engine(&key1, 64);
	char t0[CM_TOKEN_MAX];

	strcpy(t0, tok_s(p0, CM_KIND_PHONE, 0, "+15550100"));
	cr_expect_str_neq(t0, tok_s(p1, CM_KIND_PHONE, 0, "+15550100"));
	cr_expect_str_neq(key0.id, key1.id);
	/* The digest part alone differs too, not only the key id. */
	cr_expect_str_neq(strchr(t0, '.'), strchr(tok_s(p1, CM_KIND_PHONE, 0, "+15550100"), '.'));
	cm_pseudo_free(p0);
	cm_pseudo_free(p1);
}

Test(pseudo, same_value_same_token)
{
	struct cm_pseudo *p0 = engine(&key0, 64), *p1 = engine(&key0, 0);
	char t[CM_TOKEN_MAX];

	strcpy(t, tok_s(p0, CM_KIND_PHONE, 0, "+15550100"));
	cr_expect_str_eq(tok_s(p0, CM_KIND_PHONE, 0, "+15550100"), t);
	/* Another engine (another XXH3 seed, no cache) agrees. */
	cr_expect_str_eq(tok_s(p1, CM_KIND_PHONE, 0, "+15550100"), t);
	cm_pseudo_free(p0);
	cm_pseudo_free(p1);
}

/* xorshift64*: a fixed sequence, so a failure can be replayed. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

Test(pseudo, cache_on_and_off_agree)
{
	enum { DRAWS = 10000, POOL = 300 };
	struct cm_pseudo *on = engine(&key0, 8), *off = engine(&key0, 0);
	struct cm_pseudo_stats st;
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	char v[64], t[CM_TOKEN_MAX];
	int i;

	for (i = 0; i < DRAWS; i++) {
		uint64_t r = rnd(&s);
		/* Skewed: half the draws from the 8 most frequent values. */
		unsigned id = (unsigned)(r & 1 ? (r >> 8) % 8 : (r >> 8) % POOL);
		enum cm_kind kind = (enum cm_kind)((r >> 40) % 2 ? CM_KIND_PHONE : CM_KIND_IMSI);
		uint64_t epoch = cm_epoch_id(CM_EPOCH_DAY, 20000 + (r >> 48) % 2);
		/* Lengths around the memo limit: 46, 47 (memoized) and 48 (not). */
		int n = snprintf(v, sizeof v, "+1555%0*u", 41 + (int)(id % 3), id);

		strcpy(t, token(on, kind, epoch, v, (size_t)n, 128));
		cr_assert_str_eq(t, token(off, kind, epoch, v, (size_t)n, 128), "draw %d", i);
	}
	cm_pseudo_get_stats(on, &st);
	cr_expect_eq(st.hits + st.misses, DRAWS);
	cr_expect_gt(st.hits, 0);
	cr_expect_gt(st.misses, 8); /* evictions happened */
	cm_pseudo_get_stats(off, &st);
	cr_expect_eq(st.hits, 0);
	cr_expect_eq(st.misses, DRAWS);
	cm_pseudo_free(on);
	cm_pseudo_free(off);
}

/*
 * A cached entry answers a default token with the text it keeps, made when
 * the entry was, whatever made it (a digest, a token of another length):
 * every token equals the one an engine without a cache computes, through
 * evictions that reuse ways for other values.
 */
Test(pseudo, cached_token_text_is_the_digest_encoded)
{
	enum { DRAWS = 6000, POOL = 64 };
	static const unsigned bits[] = { 128, 136, 256 };
	struct cm_pseudo *on = engine(&key0, 8), *off = engine(&key0, 0);
	struct cm_pseudo_stats st;
	uint64_t s = 0x2545f4914f6cdd1dULL;
	unsigned char d[CM_DIGEST_BYTES], e[CM_DIGEST_BYTES];
	char v[32], t[CM_TOKEN_MAX];
	int i;

	for (i = 0; i < DRAWS; i++) {
		uint64_t r = rnd(&s);
		int n = snprintf(v, sizeof v, "+4420794%05u", (unsigned)((r >> 8) % POOL));

		if (r % 4 == 0) {
			/* the entry made (or found) by a digest, not a token */
			cr_assert_eq(cm_pseudo_digest(on, CM_KIND_PHONE, 0, v, (size_t)n, d), 0);
			cr_assert_eq(cm_pseudo_digest(off, CM_KIND_PHONE, 0, v, (size_t)n, e), 0);
			cr_assert_arr_eq(d, e, sizeof d, "draw %d", i);
			continue;
		}
		strcpy(t, token(on, CM_KIND_PHONE, 0, v, (size_t)n, bits[(r >> 40) % 3]));
		cr_assert_str_eq(t, token(off, CM_KIND_PHONE, 0, v, (size_t)n, bits[(r >> 40) % 3]),
				 "draw %d", i);
	}
	cm_pseudo_get_stats(on, &st);
	cr_expect_gt(st.hits, DRAWS / 20);
	cr_expect_gt(st.misses, DRAWS / 20);
	cm_pseudo_free(on);
	cm_pseudo_free(off);
}

Test(pseudo, many_epochs_evict_keyed_states)
{
	/* More (kind, epoch) pairs than the engine keeps keyed states for. */
	enum { NE = 100 };
	struct cm_pseudo *ps = engine(&key0, 0);
	static char first[NE][CM_TOKEN_MAX];
	int e, pass;

	for (pass = 0; pass < 3; pass++)
		for (e = 0; e < NE; e++) {
			const char *t = tok_s(ps, CM_KIND_PHONE, cm_epoch_id(CM_EPOCH_DAY, (uint64_t)e),
					      "+15550123");
			if (pass == 0)
				strcpy(first[e], t);
			else
				cr_assert_str_eq(t, first[e], "epoch %d pass %d", e, pass);
		}
	cm_pseudo_free(ps);
}

Test(pseudo, hit_counter_moves)
{
	struct cm_pseudo *ps = engine(&key0, 8);
	struct cm_pseudo_stats st;
	unsigned char d[CM_DIGEST_BYTES];

	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_PHONE, 0, "+15550100", 9, d), 0);
	cm_pseudo_get_stats(ps, &st);
	cr_expect_eq(st.hits, 0);
	cr_expect_eq(st.misses, 1);
	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_PHONE, 0, "+15550100", 9, d), 0);
	cm_pseudo_get_stats(ps, &st);
	cr_expect_eq(st.hits, 1);
	cr_expect_eq(st.misses, 1);
	/* Same bytes, another kind or epoch: not a hit. */
	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_IMSI, 0, "+15550100", 9, d), 0);
	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_PHONE, 1, "+15550100", 9, d), 0);
	/* A prefix of a cached value: not a hit. */
	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_PHONE, 0, "+1555010", 8, d), 0);
	cm_pseudo_get_stats(ps, &st);
	cr_expect_eq(st.hits, 1);
	cr_expect_eq(st.misses, 4);
	cm_pseudo_free(ps);
}

/*
 * The cache's memory (9 MiB here) comes in, locked when the process may
 * lock it, at the first digest, not when the engine is made: a -j run's
 * lead, which seldom filters anything, holds none. Until then the lookups
 * that cannot write see it empty.
 */
Test(pseudo, cache_memory_comes_in_at_first_use)
{
	long rss = cmt_status_kib("VmRSS"), lck = cmt_status_kib("VmLck");
	int can = cmt_may_lock((size_t)16 << 20);
	struct cm_pseudo *ps = engine(&key0, 65536);
	unsigned char d[CM_DIGEST_BYTES], again[CM_DIGEST_BYTES];

	cr_expect_lt(cmt_status_kib("VmRSS") - rss, 2048, "%ld KiB in memory for an unused engine",
		     cmt_status_kib("VmRSS") - rss);
	cr_expect_lt(cmt_status_kib("VmLck") - lck, 1024);
	cr_expect_eq(cm_pseudo_prefetch(ps, CM_KIND_PHONE, 0, "+15550100", 9), 0);
	cr_expect_eq(cm_pseudo_cached(ps, CM_KIND_PHONE, 0, "+15550100", 9, 0), 0);
	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_PHONE, 0, "+15550100", 9, d), 0);
	cr_expect_geq(cmt_status_kib("VmRSS") - rss, 8192, "the cache is not in memory");
	if (can)
		cr_expect_geq(cmt_status_kib("VmLck") - lck, 8192, "the cache is not locked");
	cr_expect_eq(cm_pseudo_cached(ps, CM_KIND_PHONE, 0, "+15550100", 9, 0), 1);
	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_PHONE, 0, "+15550100", 9, again), 0);
	cr_expect_eq(memcmp(d, again, sizeof d), 0);
	cm_pseudo_free(ps);
}

Test(pseudo, hot_value_survives_one_off_values)
{
	/* One set of 4 ways: a value that keeps hitting outlives values seen once. */
	struct cm_pseudo *ps = engine(&key0, 4);
	struct cm_pseudo_stats st;
	unsigned char d[CM_DIGEST_BYTES];
	char v[32];
	int i, n;

	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_PHONE, 0, "+15550100", 9, d), 0);
	for (i = 0; i < 50; i++) {
		n = snprintf(v, sizeof v, "+44207946%04d", i);
		cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_PHONE, 0, v, (size_t)n, d), 0);
		cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_PHONE, 0, "+15550100", 9, d), 0);
	}
	cm_pseudo_get_stats(ps, &st);
	cr_expect_eq(st.hits, 50);
	cr_expect_eq(st.misses, 51);
	cm_pseudo_free(ps);
}

Test(pseudo, memo_limit_is_cache_value_max)
{
	struct cm_pseudo *ps = engine(&key0, 64);
	struct cm_pseudo_stats st;
	unsigned char d[CM_DIGEST_BYTES];
	char v[CM_CACHE_VALUE_MAX + 1];

	memset(v, '7', sizeof v);
	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_GENERIC, 0, v, CM_CACHE_VALUE_MAX, d), 0);
	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_GENERIC, 0, v, CM_CACHE_VALUE_MAX, d), 0);
	cm_pseudo_get_stats(ps, &st);
	cr_expect_eq(st.hits, 1);
	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_GENERIC, 0, v, sizeof v, d), 0);
	cr_assert_eq(cm_pseudo_digest(ps, CM_KIND_GENERIC, 0, v, sizeof v, d), 0);
	cm_pseudo_get_stats(ps, &st);
	cr_expect_eq(st.hits, 1);
	cr_expect_eq(st.misses, 3);
	cm_pseudo_free(ps);
}

Test(pseudo, long_value_is_hashed_not_memoized)
{
	struct cm_pseudo *on = engine(&key0, 64), *off = engine(&key0, 0);
	struct cm_pseudo_stats st;
	char *v = malloc(1024);
	char t[CM_TOKEN_MAX];
	int i;

	cr_assert_not_null(v);
	for (i = 0; i < 1024; i++)
		v[i] = (char)('a' + i % 26);
	strcpy(t, token(on, CM_KIND_GENERIC, 0, v, 1024, 128));
	cr_expect_str_eq(token(on, CM_KIND_GENERIC, 0, v, 1024, 128), t);
	cr_expect_str_eq(token(off, CM_KIND_GENERIC, 0, v, 1024, 128), t);
	/* The last byte counts. */
	v[1023] ^= 1;
	cr_expect_str_neq(token(on, CM_KIND_GENERIC, 0, v, 1024, 128), t);
	cm_pseudo_get_stats(on, &st);
	cr_expect_eq(st.hits, 0);
	cr_expect_eq(st.misses, 3);
	free(v);
	cm_pseudo_free(on);
	cm_pseudo_free(off);
}

Test(pseudo, token_lengths_follow_bits)
{
	struct cm_pseudo *ps = engine(&key0, 64);
	char t128[CM_TOKEN_MAX];
	const char *t;

	strcpy(t128, token(ps, CM_KIND_PHONE, 0, "+15550100", 9, 128));
	cr_expect_eq(strlen(t128), 4 + 1 + 26);
	t = token(ps, CM_KIND_PHONE, 0, "+15550100", 9, 136);
	cr_expect_eq(strlen(t), 4 + 1 + 28);
	/* Longer tokens extend shorter ones (all but the last, partial, character). */
	cr_expect_eq(strncmp(t, t128, strlen(t128) - 1), 0);
	t = token(ps, CM_KIND_PHONE, 0, "+15550100", 9, 256);
	cr_expect_eq(strlen(t), 4 + 1 + 52);
	cr_expect_lt(strlen(t), CM_TOKEN_MAX);
	cr_expect_eq(strncmp(t, t128, strlen(t128) - 1), 0);
	cr_expect_eq(t[4], '.');
	cr_expect_eq(strspn(t + 5, "abcdefghijklmnopqrstuvwxyz234567"), 52);
	cm_pseudo_free(ps);
}

Test(pseudo, bad_bits_refused)
{
	static const unsigned bad[] = { 0, 8, 120, 127, 129, 130, 255, 257, 264, 512 };
	struct cm_pseudo *ps = engine(&key0, 64);
	struct cm_buf b;
	size_t i;

	cm_buf_init(&b);
	cm_buf_adds(&b, "x=");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cr_expect_eq(cm_pseudo_token(ps, CM_KIND_PHONE, 0, "1", 1, bad[i], &b), CM_FAIL,
			     "bits %u", bad[i]);
		cr_expect_eq(b.n, 2, "bits %u appended to the buffer", bad[i]);
	}
	cm_buf_deinit(&b);
	cm_pseudo_free(ps);
}

Test(pseudo, token_appends)
{
	struct cm_pseudo *ps = engine(&key0, 64);
	struct cm_buf b;

	cm_buf_init(&b);
	cm_buf_adds(&b, "+49 ");
	cr_assert_eq(cm_pseudo_token(ps, CM_KIND_PHONE, 0, "+442079460123", 13, 128, &b), 0);
	cr_expect_eq(b.n, 4 + 31);
	cr_expect_eq(memcmp(b.p, "+49 c5sm.5wkapfgvui5hqsr7aumg5ags7e", b.n), 0);
	cm_buf_deinit(&b);
	cm_pseudo_free(ps);
}

Test(pseudo, bad_kind_refused)
{
	struct cm_pseudo *ps = engine(&key0, 64);
	unsigned char d[CM_DIGEST_BYTES];

	cr_expect_eq(cm_pseudo_digest(ps, CM_KIND__COUNT, 0, "1", 1, d), CM_FAIL);
	cr_expect_eq(cm_pseudo_digest(ps, (enum cm_kind)-1, 0, "1", 1, d), CM_FAIL);
	cm_pseudo_free(ps);
}

Test(pseudo, new_checks_its_arguments)
{
	struct cm_key none;
	struct cm_err err = { 0 };

	memset(&none, 0, sizeof none);
	cr_expect_null(cm_pseudo_new(&none, 0, &err));
	cr_expect_neq(err.code, CM_E_NONE);
	err.code = CM_E_NONE;
	cr_expect_null(cm_pseudo_new(&key0, (size_t)1 << 40, &err));
	cr_expect_neq(err.code, CM_E_NONE);
	cm_pseudo_free(NULL);
}

Test(pseudo, odd_cache_sizes_work)
{
	static const size_t sizes[] = { 1, 3, 5, 100, 1000 };
	size_t i;

	for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct cm_pseudo *ps = engine(&key0, sizes[i]);

		cr_expect_str_eq(tok_s(ps, CM_KIND_PHONE, 0, "+442079460123"), token_kat[0].token);
		cr_expect_str_eq(tok_s(ps, CM_KIND_PHONE, 0, "+442079460123"), token_kat[0].token);
		cm_pseudo_free(ps);
	}
}

static const char *b32(const void *p, size_t n)
{
	static char text[256];
	struct cm_buf b;

	cm_buf_init(&b);
	cm_base32_put(&b, p, n);
	cr_assert_lt(b.n, sizeof text);
	if (b.n)
		memcpy(text, b.p, b.n);
	text[b.n] = '\0';
	cm_buf_deinit(&b);
	return text;
}

Test(pseudo, base32_rfc4648_vectors)
{
	/* RFC 4648 section 10, lower case, padding removed. */
	cr_expect_str_eq(b32("", 0), "");
	cr_expect_str_eq(b32("f", 1), "my");
	cr_expect_str_eq(b32("fo", 2), "mzxq");
	cr_expect_str_eq(b32("foo", 3), "mzxw6");
	cr_expect_str_eq(b32("foob", 4), "mzxw6yq");
	cr_expect_str_eq(b32("fooba", 5), "mzxw6ytb");
	cr_expect_str_eq(b32("foobar", 6), "mzxw6ytboi");
}

Test(pseudo, base32_long_input)
{
	/* python3 -c "import base64;print(base64.b32encode(bytes(range(100))).decode().lower().rstrip('='))" */
	static const char want[] =
		"aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypsaijcemsckjrhfausukzmfuxc6mbr"
		"giztinjwg44dsor3hq6t4p2aifbegrcfizduqskkjnge2tspkbiveu2ukvlfowczljnvyxk6l5qgcytd";
	unsigned char in[100];
	int i;

	for (i = 0; i < 100; i++)
		in[i] = (unsigned char)i;
	cr_expect_str_eq(b32(in, sizeof in), want);
}

/* RFC 4648 base32 one bit at a time: the reference cm_base32_put must match. */
static void b32_ref(const unsigned char *p, size_t n, char *out)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	size_t bit, nbits = n * 8, k = 0;
	unsigned v;
	int j;

	for (bit = 0; bit < nbits; bit += 5) {
		for (v = 0, j = 0; j < 5; j++) {
			size_t b = bit + (size_t)j;

			v = v << 1 | (b < nbits ? (unsigned)(p[b / 8] >> (7 - b % 8) & 1) : 0u);
		}
		out[k++] = alphabet[v];
	}
	out[k] = '\0';
}

/*
 * Every length from 1 to 64 bytes (whole groups and each tail of 1 to 4),
 * every byte value, and the input at the very end of its allocation (the
 * encoder's 8-byte loads must stay inside p[0..n): ASan and valgrind see
 * any over-read), into an empty buffer, a buffer of exactly the token's
 * room, and after text already there.
 */
/* cm_base32_put against the reference for every length to 64, with the path this CPU takes. */
static void base32_against_reference(void)
{
	char want[128];
	uint32_t x = 2463534242u;
	size_t n, i, r;

	for (n = 1; n <= 64; n++) {
		for (r = 0; r < 8; r++) {
			unsigned char *p = malloc(n);
			size_t chars = (n * 8 + 4) / 5;
			struct cm_buf b;

			cr_assert_not_null(p);
			for (i = 0; i < n; i++) {
				/* xorshift32; round 0 all zero bits, round 1 all ones */
				x ^= x << 13, x ^= x >> 17, x ^= x << 5;
				p[i] = r == 0 ? 0 : r == 1 ? 0xff : (unsigned char)x;
			}
			b32_ref(p, n, want);
			cr_assert_eq(strlen(want), chars);
			cr_expect_str_eq(b32(p, n), want, "length %zu round %zu", n, r);

			/* a buffer with room for the token and nothing more */
			cm_buf_init(&b);
			cr_assert_eq(cm_buf_reserve(&b, 1), 0);
			b.n = b.cap < chars ? 0 : b.cap - chars;
			cm_base32_put(&b, p, n);
			cr_assert_eq(b.oom, 0);
			cr_expect(memcmp(b.p + b.n - chars, want, chars) == 0, "tail room, length %zu", n);
			/* after other text: appended, nothing before it touched */
			cm_buf_reset(&b);
			cm_buf_adds(&b, "k1.");
			cm_base32_put(&b, p, n);
			cr_expect(b.n == 3 + chars && memcmp(b.p, "k1.", 3) == 0 &&
				  memcmp(b.p + 3, want, chars) == 0, "appended, length %zu", n);
			cm_buf_deinit(&b);
			free(p);
		}
	}
}

Test(pseudo, base32_every_length_against_reference)
{
	base32_against_reference();
}

/* The same without the AVX-512 VBMI path (the test's own process: the choice is made once). */
Test(pseudo, base32_every_length_without_avx512)
{
	cr_assert_eq(setenv("CDRMIN_NO_AVX512", "1", 1), 0);
	base32_against_reference();
}

Test(pseudo, kind_names)
{
	static const char *const names[CM_KIND__COUNT] = { "generic", "phone", "imsi",
							   "imei",    "ip",    "email" };
	int k;

	for (k = 0; k < CM_KIND__COUNT; k++) {
		cr_expect_str_eq(cm_kind_name((enum cm_kind)k), names[k]);
		cr_expect_eq(cm_kind_parse(names[k]), k);
	}
	cr_expect_eq(cm_kind_parse("msisdn"), -1);
	cr_expect_eq(cm_kind_parse(""), -1);
	cr_expect_eq(cm_kind_parse("phon"), -1);
	cr_expect_eq(cm_kind_parse(NULL), -1);
}

/* ---- key schedules (rotation) ---- */

#define MONTH(n) cm_epoch_id(CM_EPOCH_MONTH, (n)) /* months since 1970-01: 684 is 2027-01 */

/* Writes pdir/name: bytes 00.. with last byte last (00..1f is key0, 00..1e 20 is key1). */
static const char *key_path(const char *name, unsigned char last, const char *date)
{
	static char arg[128];
	unsigned char b[CM_KEY_BYTES];
	char path[96];
	int fd, i;

	for (i = 0; i < CM_KEY_BYTES; i++)
		b[i] = (unsigned char)i;
	b[CM_KEY_BYTES - 1] = last;
	snprintf(path, sizeof path, "%s/%s", pdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, b, sizeof b), (ssize_t)sizeof b);
	cr_assert_eq(close(fd), 0);
	snprintf(arg, sizeof arg, "%s%s%s", path, date ? "@" : "", date ? date : "");
	return arg;
}

static void sched_add(struct cm_key_schedule *s, const char *name, unsigned char last,
		      const char *date)
{
	struct cm_err err = { 0 };

	cr_assert_eq(cm_key_schedule_add(s, key_path(name, last, date), &err), 0, "%s", err.msg);
}

static void sched_cleanup(struct cm_key_schedule *s)
{
	char path[96];
	size_t i;

	for (i = 0; i < s->n; i++) {
		snprintf(path, sizeof path, "%s", s->path[i]);
		unlink(path);
	}
	cm_key_schedule_free(s);
}

/* key0 until 2026-12, key1 from 2027-01, key "c" (last byte 0x21) from 2027-03, given out of order. */
static struct cm_pseudo *three_keys(struct cm_key_schedule *s, size_t cache)
{
	struct cm_err err = { 0 };
	struct cm_pseudo *ps;

	memset(s, 0, sizeof *s);
	sched_add(s, "c", 0x21, "2027-03-01");
	sched_add(s, "a", 0x1f, NULL);
	sched_add(s, "b", 0x20, "2027-01-01");
	ps = cm_pseudo_new_schedule(s, CM_EPOCH_MONTH, cache, &err);
	cr_assert_not_null(ps, "%s", err.msg);
	return ps;
}

Test(pseudo, schedule_selects_the_key_at_epoch_boundaries)
{
	struct cm_key_schedule s;
	struct cm_pseudo *ps = three_keys(&s, 64);
	struct cm_buf b;

	cr_expect_eq(cm_pseudo_key_index(ps, 0), 0, "no epoch: the first key");
	cr_expect_eq(cm_pseudo_key_index(ps, MONTH(0)), 0);
	cr_expect_eq(cm_pseudo_key_index(ps, MONTH(683)), 0, "2026-12");
	cr_expect_eq(cm_pseudo_key_index(ps, MONTH(684)), 1, "2027-01");
	cr_expect_eq(cm_pseudo_key_index(ps, MONTH(685)), 1, "2027-02");
	cr_expect_eq(cm_pseudo_key_index(ps, MONTH(686)), 2, "2027-03");
	cr_expect_eq(cm_pseudo_key_index(ps, MONTH(100000)), 2);
	cr_expect_str_eq(cm_pseudo_key_id_at(ps, MONTH(683)), key0.id);
	cr_expect_str_eq(cm_pseudo_key_id_at(ps, MONTH(684)), key1.id);
	cr_expect_str_eq(cm_pseudo_key_id(ps), key0.id);
	/* an epoch of another unit cannot be placed: refused, nothing appended */
	cr_expect_eq(cm_pseudo_key_index(ps, cm_epoch_id(CM_EPOCH_DAY, 20819)), -1);
	cr_expect_null(cm_pseudo_key_id_at(ps, cm_epoch_id(CM_EPOCH_YEAR, 57)));
	cm_buf_init(&b);
	cr_expect_eq(cm_pseudo_token(ps, CM_KIND_PHONE, cm_epoch_id(CM_EPOCH_DAY, 20819), "+1", 2,
				     128, &b), CM_FAIL);
	cr_expect_eq(b.n, 0);
	cm_buf_deinit(&b);
	cm_pseudo_free(ps);
	sched_cleanup(&s);
}

/* Each epoch's tokens and Crypto-PAn addresses are those of a single-key run with its key. */
Test(pseudo, schedule_tokens_equal_single_key_tokens)
{
	static const char *const values[] = { "+442079460123", "+447700900123", "" };
	static const unsigned months[] = { 0, 683, 684, 685, 686, 700 };
	const uint8_t ip[4] = { 192, 0, 2, 77 }, ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 };
	struct cm_key_schedule s;
	struct cm_pseudo *ps = three_keys(&s, 64), *off, *single[3];
	size_t i, j, k;

	off = cm_pseudo_new_schedule(&s, CM_EPOCH_MONTH, 0, &(struct cm_err){ 0 });
	cr_assert_not_null(off);
	for (k = 0; k < 3; k++)
		single[k] = engine(&s.key[k], 64);
	for (i = 0; i < sizeof months / sizeof months[0]; i++) {
		uint64_t e = MONTH(months[i]);
		int ki = cm_pseudo_key_index(ps, e);
		uint8_t a[16], want[16];
		char t[CM_TOKEN_MAX];

		cr_assert_geq(ki, 0);
		for (j = 0; j < sizeof values / sizeof values[0]; j++) {
			snprintf(t, sizeof t, "%s", tok_s(ps, CM_KIND_PHONE, e, values[j]));
			cr_expect_str_eq(t, tok_s(single[ki], CM_KIND_PHONE, e, values[j]), "month %u",
					 months[i]);
			cr_expect_str_eq(t, tok_s(off, CM_KIND_PHONE, e, values[j]), "cache off");
			cr_expect_eq(strncmp(t, s.key[ki].id, CM_KEYID_CHARS), 0, "%s", t);
		}
		cr_assert_eq(cm_pseudo_cryptopan(ps, e, 4, ip, a), 0);
		cr_assert_eq(cm_pseudo_cryptopan(single[ki], e, 4, ip, want), 0);
		cr_expect_eq(memcmp(a, want, 4), 0, "month %u", months[i]);
		cr_assert_eq(cm_pseudo_cryptopan(ps, e, 6, ip6, a), 0);
		cr_assert_eq(cm_pseudo_cryptopan(single[ki], e, 6, ip6, want), 0);
		cr_expect_eq(memcmp(a, want, 16), 0, "month %u", months[i]);
	}
	/* across the switch the same number's tokens differ in key id and digest */
	{
		char before[CM_TOKEN_MAX];

		snprintf(before, sizeof before, "%s", tok_s(ps, CM_KIND_PHONE, MONTH(683), values[0]));
		cr_expect_str_neq(before, tok_s(ps, CM_KIND_PHONE, MONTH(684), values[0]));
		cr_expect_neq(strncmp(before, tok_s(ps, CM_KIND_PHONE, MONTH(684), values[0]),
				      CM_KEYID_CHARS), 0);
	}
	for (k = 0; k < 3; k++)
		cm_pseudo_free(single[k]);
	cm_pseudo_free(off);
	cm_pseudo_free(ps);
	sched_cleanup(&s);
}

/* Asserts that the schedule is refused under unit with CM_E_USAGE and a message holding want. */
static void expect_schedule_refused(const struct cm_key_schedule *s, enum cm_epoch_unit unit,
				    const char *want, const char *want2)
{
	struct cm_err err = { 0 };

	cr_expect_null(cm_pseudo_new_schedule(s, unit, 16, &err));
	cr_expect_eq(err.code, CM_E_USAGE);
	cr_expect_not_null(strstr(err.msg, want), "\"%s\" lacks \"%s\"", err.msg, want);
	if (want2)
		cr_expect_not_null(strstr(err.msg, want2), "\"%s\" lacks \"%s\"", err.msg, want2);
}

Test(pseudo, schedule_dates_must_start_an_epoch)
{
	struct cm_key_schedule s;
	struct cm_err err = { 0 };
	struct cm_pseudo *ps;
	uint64_t d = 20819 + 14; /* 2027-01-15 in days since 1970 */

	memset(&s, 0, sizeof s);
	sched_add(&s, "a", 0x1f, NULL);
	sched_add(&s, "b", 0x20, "2027-01-15");
	expect_schedule_refused(&s, CM_EPOCH_MONTH, "is not the first day of one", "2027-02-01");
	expect_schedule_refused(&s, CM_EPOCH_YEAR, "is not the first day of one", "2028-01-01");
	expect_schedule_refused(&s, CM_EPOCH_NONE, "the rules have no epoch", NULL);
	/* day epochs: any date is a boundary */
	ps = cm_pseudo_new_schedule(&s, CM_EPOCH_DAY, 16, &err);
	cr_assert_not_null(ps, "%s", err.msg);
	cr_expect_eq(cm_pseudo_key_index(ps, cm_epoch_id(CM_EPOCH_DAY, d - 1)), 0);
	cr_expect_eq(cm_pseudo_key_index(ps, cm_epoch_id(CM_EPOCH_DAY, d)), 1);
	cm_pseudo_free(ps);
	sched_cleanup(&s);

	memset(&s, 0, sizeof s);
	sched_add(&s, "a", 0x1f, NULL);
	sched_add(&s, "b", 0x20, "2027-01-01");
	ps = cm_pseudo_new_schedule(&s, CM_EPOCH_YEAR, 16, &err);
	cr_assert_not_null(ps, "%s", err.msg);
	cr_expect_eq(cm_pseudo_key_index(ps, cm_epoch_id(CM_EPOCH_YEAR, 56)), 0, "2026");
	cr_expect_eq(cm_pseudo_key_index(ps, cm_epoch_id(CM_EPOCH_YEAR, 57)), 1, "2027");
	cm_pseudo_free(ps);
	sched_cleanup(&s);

	/* one key and no epoch: the ordinary run */
	memset(&s, 0, sizeof s);
	sched_add(&s, "a", 0x1f, NULL);
	ps = cm_pseudo_new_schedule(&s, CM_EPOCH_NONE, 16, &err);
	cr_assert_not_null(ps, "%s", err.msg);
	cr_expect_str_eq(tok_s(ps, CM_KIND_PHONE, 0, "+442079460123"), token_kat[0].token);
	cm_pseudo_free(ps);
	sched_cleanup(&s);

	/* every key dated: nothing serves the records before the first date */
	memset(&s, 0, sizeof s);
	sched_add(&s, "b", 0x20, "2027-01-01");
	expect_schedule_refused(&s, CM_EPOCH_MONTH, "no key serves the records before 2027-01-01", NULL);
	sched_cleanup(&s);
}

/* ------------------------------------------------------ digests ahead */

/* The digest of v[0..n) from ps while its cache is bypassed (where digests kept ahead are taken). */
static void bypassed(struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch, const char *v,
		     size_t n, unsigned char d[CM_DIGEST_BYTES])
{
	cm_pseudo_cache_bypass(ps, 1);
	cr_assert_eq(cm_pseudo_digest(ps, kind, epoch, v, n, d), 0);
	cm_pseudo_cache_bypass(ps, 0);
}

/*
 * Six values of two kinds and two epochs, lengths 1 to 150 (four take the
 * lanes, one is over a block, one is left alone after them): each digest
 * taken ahead is the one an engine that never looked ahead computes.
 */
Test(pseudo, ahead_digests_are_the_computed_ones)
{
	static char longv[150];
	struct cm_pseudo *a = engine(&key0, 64), *b = engine(&key0, 0);
	uint64_t e1 = cm_epoch_id(CM_EPOCH_MONTH, 650), e2 = cm_epoch_id(CM_EPOCH_MONTH, 651);
	struct cm_pseudo_ask ask[6] = {
		{ CM_KIND_GENERIC, e1, "0-d87226d1@198.51.100.206", 25 },
		{ CM_KIND_GENERIC, e1, "b9ed4a21", 8 },
		{ CM_KIND_PHONE, e1, "+442079460123", 13 },
		{ CM_KIND_GENERIC, e2, "b9ed4a21", 8 },
		{ CM_KIND_GENERIC, e2, longv, sizeof longv },
		{ CM_KIND_EMAIL, e2, "x", 1 },
	};
	unsigned char got[CM_DIGEST_BYTES], want[CM_DIGEST_BYTES];
	struct cm_pseudo_stats st;
	size_t i;

	memset(longv, 'q', sizeof longv);
	cm_pseudo_ahead(a, ask, 6);
	for (i = 0; i < 6; i++) {
		bypassed(a, ask[i].kind, ask[i].epoch, ask[i].v, ask[i].n, got);
		cr_assert_eq(cm_pseudo_digest(b, ask[i].kind, ask[i].epoch, ask[i].v, ask[i].n, want), 0);
		cr_assert_arr_eq(got, want, sizeof got, "ask %zu", i);
	}
	cm_pseudo_get_stats(a, &st);
	cr_expect_eq(st.ahead, 6, "%llu of 6 taken from ahead", (unsigned long long)st.ahead);
	cr_expect_eq(st.hits + st.misses, 0, "bypassed: no cache lookups");

	/* The same address with another length, kind or epoch is not the same value. */
	bypassed(a, CM_KIND_GENERIC, e1, ask[0].v, 24, got);
	cr_assert_eq(cm_pseudo_digest(b, CM_KIND_GENERIC, e1, ask[0].v, 24, want), 0);
	cr_expect_arr_eq(got, want, sizeof got);
	bypassed(a, CM_KIND_IMSI, e1, ask[1].v, 8, got);
	cr_assert_eq(cm_pseudo_digest(b, CM_KIND_IMSI, e1, ask[1].v, 8, want), 0);
	cr_expect_arr_eq(got, want, sizeof got);
	bypassed(a, CM_KIND_PHONE, e2, ask[2].v, 13, got);
	cr_assert_eq(cm_pseudo_digest(b, CM_KIND_PHONE, e2, ask[2].v, 13, want), 0);
	cr_expect_arr_eq(got, want, sizeof got);
	cm_pseudo_get_stats(a, &st);
	cr_expect_eq(st.ahead, 6, "none of those came from ahead");
	cm_pseudo_free(a);
	cm_pseudo_free(b);
}

/*
 * Digests ahead answer only while kept: once done, new bytes at the same
 * address are hashed, not answered with the old value's digest. Without
 * the cache bypassed, the cache is asked first; a miss takes the digest
 * kept ahead (found by its bytes, wherever they lie) and fills the cache.
 */
Test(pseudo, ahead_done_forgets_and_the_cache_comes_first)
{
	struct cm_pseudo *a = engine(&key0, 64), *b = engine(&key0, 0);
	char v[16] = "call-1@a", w[16] = "call-9@a";
	struct cm_pseudo_ask ask[2] = { { CM_KIND_GENERIC, 0, v, 8 }, { CM_KIND_GENERIC, 0, w, 8 } };
	unsigned char got[CM_DIGEST_BYTES], want[CM_DIGEST_BYTES];
	struct cm_pseudo_stats st;

	cm_pseudo_ahead(a, ask, 2);
	cm_pseudo_ahead_done(a);
	memcpy(v, "call-2@a", 8);
	bypassed(a, CM_KIND_GENERIC, 0, v, 8, got);
	cr_assert_eq(cm_pseudo_digest(b, CM_KIND_GENERIC, 0, "call-2@a", 8, want), 0);
	cr_expect_arr_eq(got, want, sizeof got, "the old value's digest after done");

	/* a new batch replaces the last one */
	cm_pseudo_ahead(a, ask, 2);
	memcpy(v, "call-3@a", 8);
	cm_pseudo_ahead(a, ask + 1, 1); /* a lone ask: replaces, and is kept */
	bypassed(a, CM_KIND_GENERIC, 0, v, 8, got);
	cr_assert_eq(cm_pseudo_digest(b, CM_KIND_GENERIC, 0, "call-3@a", 8, want), 0);
	cr_expect_arr_eq(got, want, sizeof got, "the replaced batch's digest");

	cm_pseudo_get_stats(a, &st);
	cr_expect_eq(st.ahead, 0);

	/* not bypassed: a miss takes it (by its bytes: a copy elsewhere), then the cache has it */
	{
		char copy[16];

		memcpy(copy, w, 8);
		cr_expect(!cm_pseudo_cached(a, CM_KIND_GENERIC, 0, copy, 8, 0));
		cr_assert_eq(cm_pseudo_digest(a, CM_KIND_GENERIC, 0, copy, 8, got), 0);
		cm_pseudo_get_stats(a, &st);
		cr_expect_eq(st.ahead, 1, "a cache miss takes the digest kept ahead");
		cr_expect_eq(st.misses, 1);
		cr_assert_eq(cm_pseudo_digest(b, CM_KIND_GENERIC, 0, w, 8, want), 0);
		cr_expect_arr_eq(got, want, sizeof got);
		cr_expect(cm_pseudo_cached(a, CM_KIND_GENERIC, 0, copy, 8, 0), "and fills the cache");
		cr_expect(cm_pseudo_cached(a, CM_KIND_GENERIC, 0, w, 8,
					   cm_pseudo_prefetch(a, CM_KIND_GENERIC, 0, w, 8)),
			  "the prefetch's hash finds it too");
		cr_expect(!cm_pseudo_cached(a, CM_KIND_GENERIC, 1, w, 8, 0), "another epoch is not it");
		cr_assert_eq(cm_pseudo_digest(a, CM_KIND_GENERIC, 0, w, 8, got), 0);
		cm_pseudo_get_stats(a, &st);
		cr_expect_eq(st.ahead, 1, "a hit: the cache answers");
		cr_expect_eq(st.hits, 1);
		cr_expect_arr_eq(got, want, sizeof got);
	}
	cm_pseudo_free(a);
	cm_pseudo_free(b);
}
