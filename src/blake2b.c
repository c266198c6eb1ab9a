/* \summary: keyed BLAKE2b-256 with the key block compressed once (RFC 7693) */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cdrmin/blake2b.h"
#include "cdrmin/cpu.h"
#include "cdrmin/buf.h"
#include "cdrmin/secmem.h"

/* RFC 7693 section 2.6: the SHA-512 initial values. */
static const uint64_t iv[8] = {
	0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
	0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
	0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

/* RFC 7693 section 2.7: message word schedule; rounds 10 and 11 reuse rows 0 and 1. */
static const uint8_t sigma[12][16] = {
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
	{ 11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4 },
	{ 7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8 },
	{ 9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13 },
	{ 2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9 },
	{ 12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11 },
	{ 13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10 },
	{ 6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5 },
	{ 10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0 },
	{ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
	{ 14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3 },
};

/*
 * Parameter block word 0 (RFC 7693 section 2.5): digest length in byte 0,
 * key length in byte 1, fanout 1 in byte 2, depth 1 in byte 3. Words 1..7
 * (leaf length, node offset, depth, inner length, salt, personalization)
 * are zero here, so those h words stay the IV.
 */
#define PARAM0 (0x01010000ULL | (uint64_t)CM_BLAKE2B_KEYBYTES << 8 | CM_BLAKE2B_BYTES)

/* Byte assembly: portable, alignment-free; compilers turn it into one load on LE hosts. */
static inline uint64_t load64_le(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	       (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline void store64_le(unsigned char *p, uint64_t x)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(x >> (8 * i));
}

static inline uint64_t rotr64(uint64_t x, unsigned n)
{
	return x >> n | x << (64 - n); /* n is 16, 24, 32 or 63: never 0 */
}

/* The message words of p[0..n), n <= 128, zero-padded to a full block (section 3.3). */
static void load_block(uint64_t m[16], const unsigned char *p, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/*
	 * the words are the bytes as they lie: zeros, then one copy (the stores
	 * written out: a memset of 128 bytes becomes "rep stos", dear at this size)
	 */
	m[0] = m[1] = m[2] = m[3] = m[4] = m[5] = m[6] = m[7] = 0;
	m[8] = m[9] = m[10] = m[11] = m[12] = m[13] = m[14] = m[15] = 0;
	memcpy(m, p, cm_copy_len(n));
#else
	size_t i;

	for (i = 0; i < 16; i++)
		m[i] = 0;
	for (i = 0; i + 8 <= n; i += 8)
		m[i / 8] = load64_le(p + i);
	for (; i < n; i++)
		m[i / 8] |= (uint64_t)p[i] << (8 * (i % 8));
#endif
}

/* RFC 7693 section 3.1, the mixing function G. */
#define G(a, b, c, d, x, y)                          \
	do {                                         \
		a = a + b + (x);                     \
		d = rotr64(d ^ a, 32);               \
		c = c + d;                           \
		b = rotr64(b ^ c, 24);               \
		a = a + b + (y);                     \
		d = rotr64(d ^ a, 16);               \
		c = c + d;                           \
		b = rotr64(b ^ c, 63);               \
	} while (0)

/* One round: columns, then diagonals; r is a constant, so sigma folds away. */
#define ROUND(r)                                                                    \
	do {                                                                        \
		G(v[0], v[4], v[8], v[12], m[sigma[r][0]], m[sigma[r][1]]);         \
		G(v[1], v[5], v[9], v[13], m[sigma[r][2]], m[sigma[r][3]]);         \
		G(v[2], v[6], v[10], v[14], m[sigma[r][4]], m[sigma[r][5]]);        \
		G(v[3], v[7], v[11], v[15], m[sigma[r][6]], m[sigma[r][7]]);        \
		G(v[0], v[5], v[10], v[15], m[sigma[r][8]], m[sigma[r][9]]);        \
		G(v[1], v[6], v[11], v[12], m[sigma[r][10]], m[sigma[r][11]]);      \
		G(v[2], v[7], v[8], v[13], m[sigma[r][12]], m[sigma[r][13]]);       \
		G(v[3], v[4], v[9], v[14], m[sigma[r][14]], m[sigma[r][15]]);       \
	} while (0)

/*
 * RFC 7693 section 3.2, the compression function F: h ^= F(h, m, t, f).
 * t = (t0, t1) is the byte count so far, this block included; last is 1 for
 * the final block. The work vector is wiped: with the message, it can be run
 * backwards to h, which after the key block is as good as the key.
 */
static void compress(uint64_t h[8], const uint64_t m[16], uint64_t t0, uint64_t t1, int last)
{
	uint64_t v[16];
	int i;

	for (i = 0; i < 8; i++) {
		v[i] = h[i];
		v[i + 8] = iv[i];
	}
	v[12] ^= t0;
	v[13] ^= t1;
	if (last)
		v[14] = ~v[14];

	ROUND(0);
	ROUND(1);
	ROUND(2);
	ROUND(3);
	ROUND(4);
	ROUND(5);
	ROUND(6);
	ROUND(7);
	ROUND(8);
	ROUND(9);
	ROUND(10);
	ROUND(11);

	for (i = 0; i < 8; i++)
		h[i] ^= v[i] ^ v[i + 8];
	cm_wipe(v, sizeof v);
}

static void store_digest(unsigned char out[CM_BLAKE2B_BYTES], const uint64_t h[8])
{
	int i;

	for (i = 0; i < CM_BLAKE2B_BYTES / 8; i++)
		store64_le(out + 8 * i, h[i]);
}

void cm_blake2b_keyed_init(struct cm_blake2b_keyed *kd,
			   const unsigned char key[CM_BLAKE2B_KEYBYTES])
{
	uint64_t h[8], m[16];
	int i;

	for (i = 0; i < 8; i++)
		h[i] = iv[i];
	h[0] ^= PARAM0;
	/*
	 * Section 3.3: a keyed hash starts with the key padded to one block. It
	 * is the final block only for the empty message (the RFC's dd = 1 when
	 * ll = 0); for every other message it is not.
	 */
	load_block(m, key, CM_BLAKE2B_KEYBYTES);
	memcpy(kd->h, h, sizeof h);
	compress(kd->h, m, CM_BLAKE2B_BLOCKBYTES, 0, 0);
	compress(h, m, CM_BLAKE2B_BLOCKBYTES, 0, 1);
	store_digest(kd->empty, h);
	cm_wipe(h, sizeof h);
	cm_wipe(m, sizeof m);
}

/*
 * One message of 1 to 128 bytes in AVX-512 (VL, BW), the RFC's rows in four
 * 256-bit registers: a, b, c and d hold words 0-3, 4-7, 8-11 and 12-15 of
 * the work vector, so one vector instruction does a step of G for the four
 * columns. For the diagonals, a, c and d turn by one, three and two lanes
 * and b stays: a is ready before b at the end of G, so its turn is done
 * while b is computed (b, the last, would have waited). Rotations are one
 * instruction each (vprorq), and the message stays in two 512-bit
 * registers, from which one two-source permute per half round gathers
 * the words it adds (lanes 0-3 for x, 4-7 for y, in the order of the
 * lanes' G). About a quarter faster than the scalar compression, which
 * has more words than registers. Nothing of the key state or the message
 * is written to memory.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_ONE_512 1

/* Per round, the message words of the columns' and of the diagonals' G (x lanes, y lanes). */
static const uint8_t sigma_lanes[12][2][8] = {
	{ { 0, 2, 4, 6, 1, 3, 5, 7 }, { 14, 8, 10, 12, 15, 9, 11, 13 } },
	{ { 14, 4, 9, 13, 10, 8, 15, 6 }, { 5, 1, 0, 11, 3, 12, 2, 7 } },
	{ { 11, 12, 5, 15, 8, 0, 2, 13 }, { 9, 10, 3, 7, 4, 14, 6, 1 } },
	{ { 7, 3, 13, 11, 9, 1, 12, 14 }, { 15, 2, 5, 4, 8, 6, 10, 0 } },
	{ { 9, 5, 2, 10, 0, 7, 4, 15 }, { 3, 14, 11, 6, 13, 1, 12, 8 } },
	{ { 2, 6, 0, 8, 12, 10, 11, 3 }, { 1, 4, 7, 15, 9, 13, 5, 14 } },
	{ { 12, 1, 14, 4, 5, 15, 13, 10 }, { 8, 0, 6, 9, 11, 7, 3, 2 } },
	{ { 13, 7, 12, 3, 11, 14, 1, 9 }, { 2, 5, 15, 8, 10, 0, 4, 6 } },
	{ { 6, 14, 11, 0, 15, 9, 3, 8 }, { 10, 12, 13, 1, 5, 2, 7, 4 } },
	{ { 10, 8, 7, 1, 2, 4, 6, 5 }, { 13, 15, 9, 3, 0, 11, 14, 12 } },
	{ { 0, 2, 4, 6, 1, 3, 5, 7 }, { 14, 8, 10, 12, 15, 9, 11, 13 } },
	{ { 14, 4, 9, 13, 10, 8, 15, 6 }, { 5, 1, 0, 11, 3, 12, 2, 7 } },
};

/*
 * G on rows of W bits (256: one message, 512: two), W pasted into the
 * intrinsics' names. a + x first: the sum with b, the last word to be
 * ready, comes last (the empty asm keeps the compiler from reassociating).
 */
#define ROWS_ADD3(W, a, x, b)                                               \
	do {                                                                \
		__m##W##i t_ = _mm##W##_add_epi64(a, x);                    \
		__asm__("" : "+v"(t_));                                     \
		a = _mm##W##_add_epi64(t_, b);                              \
	} while (0)

#define ROWS_G(W, a, b, c, d, x, y)                                         \
	do {                                                                \
		ROWS_ADD3(W, a, x, b);                                      \
		d = _mm##W##_ror_epi64(_mm##W##_xor_si##W(d, a), 32);       \
		c = _mm##W##_add_epi64(c, d);                               \
		b = _mm##W##_ror_epi64(_mm##W##_xor_si##W(b, c), 24);       \
		ROWS_ADD3(W, a, y, b);                                      \
		d = _mm##W##_ror_epi64(_mm##W##_xor_si##W(d, a), 16);       \
		c = _mm##W##_add_epi64(c, d);                               \
		b = _mm##W##_ror_epi64(_mm##W##_xor_si##W(b, c), 63);       \
	} while (0)

__attribute__((target("avx512f,avx512vl,avx512bw"))) static void
hash_one_512(const struct cm_blake2b_keyed *kd, const unsigned char *msg, size_t n,
	     unsigned char out[CM_BLAKE2B_BYTES])
{
	/* the block zero-padded as it is loaded: no byte past n is read */
	__m512i m0 = _mm512_maskz_loadu_epi8(n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1, msg);
	__m512i m1 = n > 64 ? _mm512_maskz_loadu_epi8(n >= 128 ? ~(__mmask64)0
							      : ((__mmask64)1 << (n - 64)) - 1,
						      msg + 64)
			    : _mm512_setzero_si512();
	__m256i h0 = _mm256_loadu_si256((const __m256i *)(const void *)kd->h);
	__m256i a = h0, b = _mm256_loadu_si256((const __m256i *)(const void *)(kd->h + 4));
	__m256i c = _mm256_loadu_si256((const __m256i *)(const void *)iv);
	__m256i d = _mm256_loadu_si256((const __m256i *)(const void *)(iv + 4));
	int r;

	/* t = the key block and the message (t1 = 0), and the last block's flag */
	d = _mm256_xor_si256(d, _mm256_set_epi64x(0, -1, 0, (long long)(CM_BLAKE2B_BLOCKBYTES + n)));
	for (r = 0; r < 12; r++) {
		_Pragma("GCC unroll 2") for (int half = 0; half < 2; half++) {
			__m512i z = _mm512_permutex2var_epi64(
				m0,
				_mm512_cvtepu8_epi64(_mm_loadl_epi64(
					(const __m128i *)(const void *)sigma_lanes[r][half])),
				m1);

			ROWS_G(256, a, b, c, d, _mm512_castsi512_si256(z),
			       _mm512_extracti64x4_epi64(z, 1));
			if (half == 0) {
				a = _mm256_permute4x64_epi64(a, _MM_SHUFFLE(2, 1, 0, 3));
				c = _mm256_permute4x64_epi64(c, _MM_SHUFFLE(0, 3, 2, 1));
			} else {
				a = _mm256_permute4x64_epi64(a, _MM_SHUFFLE(0, 3, 2, 1));
				c = _mm256_permute4x64_epi64(c, _MM_SHUFFLE(2, 1, 0, 3));
			}
			d = _mm256_permute4x64_epi64(d, _MM_SHUFFLE(1, 0, 3, 2));
		}
	}
	/* h[0..3] ^ v[0..3] ^ v[8..11]: the 32-byte digest */
	_mm256_storeu_si256((__m256i *)(void *)out, _mm256_xor_si256(h0, _mm256_xor_si256(a, c)));
}

/*
 * The same for two or four messages: two in each 512-bit register, one in
 * each 256-bit half, turned for the diagonals half by half (vpermq with an
 * immediate permutes within each half). A half round gathers each
 * message's words by its permute and pairs them by two 128-bit shuffles.
 * Four messages run as two independent chains, which fill the gaps of each
 * other's latency: two take 109 ns, four 149 ns (the AVX2 lanes 215 ns
 * for two to four, one alone 100 ns).
 */
/* Two 256-bit rows, lo and hi, as one 512-bit register. */
#define PAIR(lo, hi)                                                                        \
	_mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(const void *)(lo))), \
			   _mm256_loadu_si256((const __m256i *)(const void *)(hi)), 1)

/* Messages 0 .. 2 * pairs - 1 (pairs 1 or 2), each of 1 to 128 bytes. */
__attribute__((target("avx512f,avx512vl,avx512bw"), always_inline)) static inline void
rows_512(const struct cm_blake2b_keyed *const kd[], const unsigned char *const msg[],
	 const size_t n[], unsigned char *const out[], int pairs)
{
	__m512i m0[4], m1[4], a[2], b[2], c[2], d[2], h0[2];
	int j, r;

	_Pragma("GCC unroll 4") for (j = 0; j < 2 * pairs; j++) {
		m0[j] = _mm512_maskz_loadu_epi8(n[j] >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n[j]) - 1,
						msg[j]);
		m1[j] = n[j] > 64 ? _mm512_maskz_loadu_epi8(n[j] >= 128 ? ~(__mmask64)0
								       : ((__mmask64)1 << (n[j] - 64)) - 1,
							       msg[j] + 64)
				  : _mm512_setzero_si512();
	}
	_Pragma("GCC unroll 2") for (j = 0; j < pairs; j++) {
		h0[j] = a[j] = PAIR(kd[2 * j]->h, kd[2 * j + 1]->h);
		b[j] = PAIR(kd[2 * j]->h + 4, kd[2 * j + 1]->h + 4);
		c[j] = PAIR(iv, iv);
		d[j] = _mm512_xor_si512(PAIR(iv + 4, iv + 4),
					_mm512_set_epi64(0, -1, 0,
							 (long long)(CM_BLAKE2B_BLOCKBYTES + n[2 * j + 1]),
							 0, -1, 0,
							 (long long)(CM_BLAKE2B_BLOCKBYTES + n[2 * j])));
	}
	for (r = 0; r < 12; r++) {
		_Pragma("GCC unroll 2") for (int half = 0; half < 2; half++) {
			__m512i ix = _mm512_cvtepu8_epi64(
				_mm_loadl_epi64((const __m128i *)(const void *)sigma_lanes[r][half]));

			_Pragma("GCC unroll 2") for (j = 0; j < pairs; j++) {
				__m512i za = _mm512_permutex2var_epi64(m0[2 * j], ix, m1[2 * j]);
				__m512i zb = _mm512_permutex2var_epi64(m0[2 * j + 1], ix, m1[2 * j + 1]);

				ROWS_G(512, a[j], b[j], c[j], d[j], _mm512_shuffle_i64x2(za, zb, 0x44),
				       _mm512_shuffle_i64x2(za, zb, 0xee));
				if (half == 0) {
					a[j] = _mm512_permutex_epi64(a[j], _MM_SHUFFLE(2, 1, 0, 3));
					c[j] = _mm512_permutex_epi64(c[j], _MM_SHUFFLE(0, 3, 2, 1));
				} else {
					a[j] = _mm512_permutex_epi64(a[j], _MM_SHUFFLE(0, 3, 2, 1));
					c[j] = _mm512_permutex_epi64(c[j], _MM_SHUFFLE(2, 1, 0, 3));
				}
				d[j] = _mm512_permutex_epi64(d[j], _MM_SHUFFLE(1, 0, 3, 2));
			}
		}
	}
	_Pragma("GCC unroll 2") for (j = 0; j < pairs; j++) {
		__m512i t = _mm512_xor_si512(h0[j], _mm512_xor_si512(a[j], c[j]));

		_mm256_storeu_si256((__m256i *)(void *)out[2 * j], _mm512_castsi512_si256(t));
		_mm256_storeu_si256((__m256i *)(void *)out[2 * j + 1], _mm512_extracti64x4_epi64(t, 1));
	}
}

__attribute__((target("avx512f,avx512vl,avx512bw"))) static void
hash_two_512(const struct cm_blake2b_keyed *const kd[], const unsigned char *const msg[],
	     const size_t n[], unsigned char *const out[])
{
	rows_512(kd, msg, n, out, 1);
}

__attribute__((target("avx512f,avx512vl,avx512bw"))) static void
hash_four_512(const struct cm_blake2b_keyed *const kd[], const unsigned char *const msg[],
	      const size_t n[], unsigned char *const out[])
{
	rows_512(kd, msg, n, out, 2);
}
#endif

void cm_blake2b_keyed_hash(const struct cm_blake2b_keyed *kd, const unsigned char *msg,
			   size_t n, unsigned char out[CM_BLAKE2B_BYTES])
{
	uint64_t h[8], m[16];
	uint64_t t0 = CM_BLAKE2B_BLOCKBYTES, t1 = 0; /* the key block is counted */
	int i;

	if (n == 0) {
		memcpy(out, kd->empty, CM_BLAKE2B_BYTES);
		return;
	}
#ifdef HAVE_ONE_512
	if (n <= CM_BLAKE2B_BLOCKBYTES && cm_cpu_has(CM_CPU_AVX512)) {
		hash_one_512(kd, msg, n, out);
		return;
	}
#endif
	for (i = 0; i < 8; i++)
		h[i] = kd->h[i];
	/* The last block, full or not, is the final one: only a longer tail leaves a block open. */
	while (n > CM_BLAKE2B_BLOCKBYTES) {
		t0 += CM_BLAKE2B_BLOCKBYTES;
		t1 += t0 < CM_BLAKE2B_BLOCKBYTES; /* the counter is 128 bits */
		load_block(m, msg, CM_BLAKE2B_BLOCKBYTES);
		compress(h, m, t0, t1, 0);
		msg += CM_BLAKE2B_BLOCKBYTES;
		n -= CM_BLAKE2B_BLOCKBYTES;
	}
	t0 += n;
	t1 += t0 < n;
	load_block(m, msg, n);
	compress(h, m, t0, t1, 1);

	store_digest(out, h);
	cm_wipe(h, sizeof h);
	cm_wipe(m, sizeof m); /* the caller's value: no copy lingers */
}

/*
 * Four messages side by side: AVX2 holds word i of the four states in one
 * register, so one vector instruction does a step of G for all four. The
 * lanes are independent hashes (each its own key state, length and
 * message); nothing crosses from one lane to another.
 */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_LANES 1

#define LANES 4

/* Rotations right within each 64-bit lane: 32 swaps halves, 24 and 16 move bytes, 63 is a shift pair. */
#define R32(x) _mm256_shuffle_epi32((x), _MM_SHUFFLE(2, 3, 0, 1))
#define R24(x) _mm256_shuffle_epi8((x), r24)
#define R16(x) _mm256_shuffle_epi8((x), r16)
#define R63(x) _mm256_or_si256(_mm256_srli_epi64((x), 63), _mm256_add_epi64((x), (x)))

#define G4(a, b, c, d, x, y)                                            \
	do {                                                            \
		a = _mm256_add_epi64(_mm256_add_epi64(a, b), x);        \
		d = R32(_mm256_xor_si256(d, a));                        \
		c = _mm256_add_epi64(c, d);                             \
		b = R24(_mm256_xor_si256(b, c));                        \
		a = _mm256_add_epi64(_mm256_add_epi64(a, b), y);        \
		d = R16(_mm256_xor_si256(d, a));                        \
		c = _mm256_add_epi64(c, d);                             \
		b = R63(_mm256_xor_si256(b, c));                        \
	} while (0)

#define ROUND4(r)                                                                   \
	do {                                                                        \
		G4(v[0], v[4], v[8], v[12], m[sigma[r][0]], m[sigma[r][1]]);        \
		G4(v[1], v[5], v[9], v[13], m[sigma[r][2]], m[sigma[r][3]]);        \
		G4(v[2], v[6], v[10], v[14], m[sigma[r][4]], m[sigma[r][5]]);       \
		G4(v[3], v[7], v[11], v[15], m[sigma[r][6]], m[sigma[r][7]]);       \
		G4(v[0], v[5], v[10], v[15], m[sigma[r][8]], m[sigma[r][9]]);       \
		G4(v[1], v[6], v[11], v[12], m[sigma[r][10]], m[sigma[r][11]]);     \
		G4(v[2], v[7], v[8], v[13], m[sigma[r][12]], m[sigma[r][13]]);      \
		G4(v[3], v[4], v[9], v[14], m[sigma[r][14]], m[sigma[r][15]]);      \
	} while (0)

/*
 * The digests of four messages of 1 to 128 bytes (one block each, the
 * final one), lane j hashing msg[j][0..n[j]) under kd[j].
 */
__attribute__((target("avx2"))) static void hash_lanes(const struct cm_blake2b_keyed *const kd[LANES],
						     const unsigned char *const msg[LANES],
						     const size_t n[LANES],
						     unsigned char *const out[LANES])
{
	const __m256i r24 = _mm256_setr_epi8(3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10,
					     3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10);
	const __m256i r16 = _mm256_setr_epi8(2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9,
					     2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9);
	/* one struct, so that one call wipes it all */
	struct {
		__m256i v[16], m[16], h[4];
		uint64_t w[LANES][16], d[4][LANES];
	} s;
	__m256i *v = s.v, *m = s.m, *h = s.h;
	uint64_t(*w)[16] = s.w, (*d)[LANES] = s.d;
	int i, j;

	/* x86-64 is little-endian: a block's words are its bytes as they lie */
	for (j = 0; j < LANES; j++) {
		/* eight 32-byte zero stores, not the "rep stos" of a memset */
		for (i = 0; i < 4; i++)
			_mm256_storeu_si256((__m256i *)(void *)&w[j][4 * i], _mm256_setzero_si256());
		memcpy(w[j], msg[j], cm_copy_len(n[j]));
	}
	for (i = 0; i < 16; i++)
		m[i] = _mm256_set_epi64x((long long)w[3][i], (long long)w[2][i], (long long)w[1][i],
					 (long long)w[0][i]);
	for (i = 0; i < 8; i++) {
		v[i] = _mm256_set_epi64x((long long)kd[3]->h[i], (long long)kd[2]->h[i],
					 (long long)kd[1]->h[i], (long long)kd[0]->h[i]);
		v[i + 8] = _mm256_set1_epi64x((long long)iv[i]);
	}
	for (i = 0; i < 4; i++)
		h[i] = v[i];
	/* t = the key block and the message: under 2^64, so t1 stays 0; the block is the last */
	v[12] = _mm256_xor_si256(v[12], _mm256_set_epi64x((long long)(CM_BLAKE2B_BLOCKBYTES + n[3]),
							  (long long)(CM_BLAKE2B_BLOCKBYTES + n[2]),
							  (long long)(CM_BLAKE2B_BLOCKBYTES + n[1]),
							  (long long)(CM_BLAKE2B_BLOCKBYTES + n[0])));
	v[14] = _mm256_xor_si256(v[14], _mm256_set1_epi64x(-1));

	ROUND4(0);
	ROUND4(1);
	ROUND4(2);
	ROUND4(3);
	ROUND4(4);
	ROUND4(5);
	ROUND4(6);
	ROUND4(7);
	ROUND4(8);
	ROUND4(9);
	ROUND4(10);
	ROUND4(11);

	/* Only the first four words of h make a 32-byte digest. */
	for (i = 0; i < 4; i++)
		_mm256_storeu_si256((__m256i *)(void *)d[i],
				    _mm256_xor_si256(h[i], _mm256_xor_si256(v[i], v[i + 8])));
	for (j = 0; j < LANES; j++)
		for (i = 0; i < 4; i++)
			memcpy(out[j] + 8 * i, &d[i][j], 8);
	/* as compress: the work vector runs back to the key state; the words are the callers' values */
	cm_wipe(&s, sizeof s);
}

#endif

void cm_blake2b_keyed_hash_many(const struct cm_blake2b_keyed *const kd[],
				const unsigned char *const m[], const size_t n[], size_t k,
				unsigned char *const out[])
{
	size_t i = 0;

#ifdef HAVE_LANES
	if (k >= 2 && cm_cpu_has(CM_CPU_AVX2)) {
		const struct cm_blake2b_keyed *lk[LANES];
		const unsigned char *lm[LANES];
		unsigned char *lo[LANES], spare[CM_BLAKE2B_BYTES];
		size_t ln[LANES], at[LANES], used = 0, j;

		for (;;) {
			/* the next messages that fit one block; the others are hashed alone */
			for (; i < k && used < LANES; i++) {
				if (n[i] == 0 || n[i] > CM_BLAKE2B_BLOCKBYTES) {
					cm_blake2b_keyed_hash(kd[i], m[i], n[i], out[i]);
					continue;
				}
				at[used++] = i;
			}
			if (used == 0)
				break;
			if (used == 1) {
				cm_blake2b_keyed_hash(kd[at[0]], m[at[0]], n[at[0]], out[at[0]]);
				break; /* i == k: nothing left to pair it with */
			}
			for (j = 0; j < LANES; j++) {
				/* an empty lane repeats the first message into a scratch digest */
				size_t s = at[j < used ? j : 0];

				lk[j] = kd[s];
				lm[j] = m[s];
				ln[j] = n[s];
				lo[j] = j < used ? out[s] : spare;
			}
#ifdef HAVE_ONE_512
			if (cm_cpu_has(CM_CPU_AVX512)) {
				if (used == 2)
					hash_two_512(lk, lm, ln, lo);
				else
					hash_four_512(lk, lm, ln, lo);
				used = 0;
				continue;
			}
#endif
			hash_lanes(lk, lm, ln, lo);
			used = 0;
		}
		cm_wipe(spare, sizeof spare);
		return;
	}
#endif
	for (; i < k; i++)
		cm_blake2b_keyed_hash(kd[i], m[i], n[i], out[i]);
}
