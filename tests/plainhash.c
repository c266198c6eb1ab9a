/*
 * \summary: the plain-hash attack on phone pseudonyms, for tests/plainhash.sh
 *
 * An attacker who holds the filter's output but not the key hashes every
 * number of a numbering range with an unkeyed hash and looks each hash up
 * among the pseudonyms. Against a keyed pseudonym (pseudo.h: keyed BLAKE2b)
 * nothing may match; against plain SHA-256 in the token's format
 * everything must (the control, which proves the checker finds a match).
 *
 * The range: the N numbers +44 7700 0000000 .. +44 7700 (N-1), N = 10^7 by
 * default (-n N, at most 10^7), generated here, never stored in the tree.
 *
 *   plainhash gen [-n N]
 *       Writes a CSV input for cdrmin: a header "number", then the N numbers
 *       in E.164 form, one per line.
 *   plainhash plain [-n N]
 *       The control. Reads cdrmin's output (a header, then row i holding the
 *       pseudonym of number i: [PREFIX/]KID.DIGEST) and writes it back with
 *       each DIGEST replaced by a plain SHA-256 of number i, in the token's
 *       layout. Row i uses form i mod 5 and encoding (i / 5) mod 5 (below),
 *       so every pair is exercised.
 *   plainhash check [-n N]
 *       Reads such an output, keeps every DIGEST in a hash table, then hashes
 *       every number of the range with SHA-256 in each form and looks each
 *       encoding up. Prints "rows= duplicates= foreign-chars=" (what was
 *       read), "numbers= candidates= lookups= matched=" (matched: numbers
 *       with at least one hit), then "hits FORM ENCODING COUNT" for each
 *       pair; the shell test asserts them.
 *
 * Forms of a number hashed (the bytes an attacker would feed SHA-256):
 *   e164 "+447700ddddddd" (what the filter hashes, keyed), plain
 *   "447700ddddddd" (without '+'), national "07700ddddddd", intl
 *   "00447700ddddddd", tel "tel:+447700ddddddd".
 * Encodings of the digest compared with a token's DIGEST (26 characters for
 * the default 128 bits): b32 (RFC 4648 base32 of the first 16 bytes,
 * unpadded: the token's own alphabet and length), b32full (the first 26
 * characters of the base32 of all 32 bytes), hex, b64 and b64url (their
 * first 26 characters). Both sides are compared in lower case, so an
 * upper-case hex or base32 text matches too: the check errs towards finding
 * a match.
 *
 * SHA-256 is OpenSSL's (SHA-NI where the CPU has it), checked at start
 * against the FIPS 180-2 "abc" vector and, on the first and last number in
 * every form, against libsodium's crypto_hash_sha256. The base32 and base64
 * writers here are our own (checked against RFC 4648's vectors), not the
 * library's: the test must not share code with what it tests.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <openssl/evp.h>
#include <sodium.h>
#include <xxhash.h>

#define RANGE_MAX 10000000UL
#define DIGEST_CHARS 26 /* base32 of 128 bits, the default token */
#define NFORMS 5
#define NENCS 5
#define BATCH 64
#define LINE_MAX_LEN 256

static const char *const form_name[NFORMS] = {"e164", "plain", "national", "intl", "tel"};
static const char *const form_head[NFORMS] = {"+447700", "447700", "07700", "00447700", "tel:+447700"};
static const char *const enc_name[NENCS] = {"b32", "b32full", "hex", "b64", "b64url"};

static const char B32[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static EVP_MD *sha_md;
static EVP_MD_CTX *sha_ctx;

static void die(const char *msg)
{
	fprintf(stderr, "plainhash: %s\n", msg);
	exit(1);
}

static void sha256(const char *p, size_t n, unsigned char out[32])
{
	unsigned int olen = 0;

	if (EVP_DigestInit_ex2(sha_ctx, sha_md, NULL) != 1 || EVP_DigestUpdate(sha_ctx, p, n) != 1 ||
	    EVP_DigestFinal_ex(sha_ctx, out, &olen) != 1 || olen != 32)
		die("OpenSSL SHA-256 failed");
}

/* Writes the unpadded lower-case base32 of p[0..n) to out; returns its length. */
static size_t base32(const unsigned char *p, size_t n, char *out)
{
	size_t i, o = 0;
	unsigned acc = 0, bits = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = B32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits)
		out[o++] = B32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return o;
}

/* Writes the unpadded base64 of p[0..n) in alphabet abc to out; returns its length. */
static size_t base64(const unsigned char *p, size_t n, const char *abc, char *out)
{
	size_t i, o = 0;
	unsigned acc = 0, bits = 0;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			out[o++] = abc[(acc >> (bits - 6)) & 63];
			bits -= 6;
		}
	}
	if (bits)
		out[o++] = abc[(acc << (6 - bits)) & 63];
	out[o] = '\0';
	return o;
}

static void hex(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = "0123456789abcdef"[p[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * The DIGEST_CHARS characters of encoding e of the digest d, in the case
 * they are written (lower for base32 and hex, mixed for base64), in out.
 */
static void encode(int e, const unsigned char d[32], char out[DIGEST_CHARS + 1])
{
	char t[72]; /* hex of 32 bytes and its NUL */

	switch (e) {
	case 0: base32(d, 16, t); break;
	case 1: base32(d, 32, t); break;
	case 2: hex(d, 32, t); break;
	case 3: base64(d, 32, B64, t); break;
	default: base64(d, 32, B64URL, t); break;
	}
	memcpy(out, t, DIGEST_CHARS);
	out[DIGEST_CHARS] = '\0';
}

/* Form f of number i in buf (NUL-terminated); returns its length. */
static size_t number_form(int f, unsigned long i, char *buf)
{
	size_t h = strlen(form_head[f]);
	int k;

	memcpy(buf, form_head[f], h);
	for (k = 6; k >= 0; k--, i /= 10)
		buf[h + (size_t)k] = (char)('0' + i % 10);
	buf[h + 7] = '\0';
	return h + 7;
}

/* Known answers: SHA-256 (FIPS 180-2), base32 and base64 (RFC 4648 section 10). */
static void selftest(unsigned long n)
{
	static const char abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	unsigned char d[32], s[32];
	char t[80], buf[32];
	unsigned long ends[2] = {0, n - 1};
	int f, k;

	sha256("abc", 3, d);
	hex(d, 32, t);
	if (strcmp(t, abc) != 0)
		die("self-test: SHA-256(\"abc\") is wrong");
	base32((const unsigned char *)"foobar", 6, t);
	if (strcmp(t, "mzxw6ytboi") != 0)
		die("self-test: base32(\"foobar\") is wrong");
	base32((const unsigned char *)"f", 1, t);
	if (strcmp(t, "my") != 0)
		die("self-test: base32(\"f\") is wrong");
	base64((const unsigned char *)"foobar", 6, B64, t);
	if (strcmp(t, "Zm9vYmFy") != 0)
		die("self-test: base64(\"foobar\") is wrong");
	base64((const unsigned char *)"fo", 2, B64, t);
	if (strcmp(t, "Zm8") != 0)
		die("self-test: base64(\"fo\") is wrong");
	for (f = 0; f < NFORMS; f++)
		for (k = 0; k < 2; k++) {
			size_t len = number_form(f, ends[k], buf);

			sha256(buf, len, d);
			if (crypto_hash_sha256(s, (const unsigned char *)buf, len) != 0 || memcmp(d, s, 32) != 0)
				die("self-test: OpenSSL and libsodium disagree on SHA-256");
		}
}

/*
 * The digests read: an open-addressing table of 64-bit fingerprints, the
 * slot chosen by other bits of the same XXH3-128 hash of the lower-cased
 * text. A false match needs 64 fingerprint bits to agree with an entry of
 * the probed run: about 10^-11 over a whole check.
 */
struct table {
	uint64_t *slot;
	uint64_t mask;
	size_t bytes;
	unsigned char alphabet[256]; /* 1 for each character of some digest read */
};

static void table_init(struct table *t, unsigned long n)
{
	uint64_t size = 1024;

	while (size < n + n / 2 + n / 8)
		size <<= 1;
	/* zeroed pages; huge pages where the kernel gives them (fewer TLB misses) */
	t->bytes = size * sizeof *t->slot;
	t->slot = mmap(NULL, t->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->slot == MAP_FAILED)
		die("out of memory for the table");
	(void)madvise(t->slot, t->bytes, MADV_HUGEPAGE);
	t->mask = size - 1;
	memset(t->alphabet, 0, sizeof t->alphabet);
}

static void key_of(const char *text, uint64_t *idx, uint64_t *fp, const struct table *t)
{
	XXH128_hash_t h = XXH3_128bits(text, DIGEST_CHARS);

	*idx = h.low64 & t->mask;
	*fp = h.high64 | 1; /* 0 marks an empty slot */
}

/* Inserts the key of a text (key_of); returns 1 when it was already there. */
static int table_add(struct table *t, uint64_t i, uint64_t fp)
{
	for (;; i = (i + 1) & t->mask) {
		if (t->slot[i] == fp)
			return 1;
		if (t->slot[i] == 0) {
			t->slot[i] = fp;
			return 0;
		}
	}
}

static int table_has(const struct table *t, uint64_t i, uint64_t fp)
{
	for (;; i = (i + 1) & t->mask) {
		if (t->slot[i] == fp)
			return 1;
		if (t->slot[i] == 0)
			return 0;
	}
}

/*
 * Per encoding, each symbol's character folded to lower case, or 0 when no
 * digest read holds that character (then no candidate holding it can
 * match). Filled once the digests are read.
 */
static char sym[NENCS][64];

static void sym_init(const struct table *t)
{
	const char *abc[NENCS] = {B32, B32, "0123456789abcdef", B64, B64URL};
	int e, v;

	for (e = 0; e < NENCS; e++)
		for (v = 0; v < (int)strlen(abc[e]); v++) {
			char ch = abc[e][v];

			if (ch >= 'A' && ch <= 'Z')
				ch = (char)(ch - 'A' + 'a');
			sym[e][v] = t->alphabet[(unsigned char)ch] ? ch : 0;
		}
}

/*
 * The first DIGEST_CHARS characters of encoding e (w bits a character) of
 * the digest d[0..32), lower case, in out: 1, or 0 at the first character
 * that no digest holds. For base32 of 16 bytes (limit 128 bits) the last
 * character's 2 pad bits are 0. Bit windows straight from the digest: a
 * path independent of encode(), which writes the control, so the control
 * matching in full shows that the two agree.
 */
static inline int candidate_w(const unsigned char *d, unsigned w, unsigned limit, const char *map,
			      char out[DIGEST_CHARS + 1])
{
	unsigned k, pos;

	for (k = 0, pos = 0; k < DIGEST_CHARS; k++, pos += w) {
		unsigned v = ((unsigned)d[pos >> 3] << 8 | d[(pos >> 3) + 1]) >> (16 - (pos & 7) - w);

		v &= (1u << w) - 1;
		if (pos + w > limit)
			v &= ~((1u << (pos + w - limit)) - 1);
		if (!(out[k] = map[v]))
			return 0;
	}
	out[DIGEST_CHARS] = '\0';
	return 1;
}

static int candidate(int e, const unsigned char *d, char out[DIGEST_CHARS + 1])
{
	switch (e) {
	case 0: return candidate_w(d, 5, 128, sym[0], out);
	case 1: return candidate_w(d, 5, 256, sym[1], out);
	case 2: return candidate_w(d, 4, 256, sym[2], out);
	case 3: return candidate_w(d, 6, 256, sym[3], out);
	default: return candidate_w(d, 6, 256, sym[4], out);
	}
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static unsigned long parse_n(int argc, char **argv)
{
	unsigned long n = RANGE_MAX;
	char *end;

	if (argc == 4 && strcmp(argv[2], "-n") == 0) {
		errno = 0;
		n = strtoul(argv[3], &end, 10);
		if (errno || *end || n == 0 || n > RANGE_MAX)
			die("-n takes a count from 1 to 10000000");
	} else if (argc != 2) {
		die("usage: plainhash gen|plain|check [-n N]");
	}
	return n;
}

/*
 * Reads one line of at most LINE_MAX_LEN bytes into line (no newline, a CR
 * before it removed). Returns 1, 0 at the end, or dies on a longer line.
 */
static int read_line(FILE *in, char *line, unsigned long row)
{
	size_t len;

	if (!fgets(line, LINE_MAX_LEN, in))
		return 0;
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[--len] = '\0';
	else if (!feof(in)) {
		fprintf(stderr, "plainhash: row %lu: longer than %d bytes\n", row, LINE_MAX_LEN);
		exit(1);
	}
	if (len && line[len - 1] == '\r')
		line[--len] = '\0';
	return 1;
}

/*
 * The DIGEST of a row [PREFIX/]KID.DIGEST (the PREFIX, kept digits, holds
 * no '.'; a control DIGEST in base64 may hold a '/'): its start, or NULL
 * when the row has no '.' or the digest is not DIGEST_CHARS long.
 */
static char *row_digest(char *line)
{
	char *dot = strchr(line, '.');

	if (!dot || strlen(dot + 1) != DIGEST_CHARS)
		return NULL;
	return dot + 1;
}

static int cmd_gen(unsigned long n)
{
	char buf[32];
	unsigned long i;

	fputs("number\n", stdout);
	for (i = 0; i < n; i++) {
		size_t len = number_form(0, i, buf);

		buf[len] = '\n';
		if (fwrite(buf, 1, len + 1, stdout) != len + 1)
			die("write error");
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_plain(unsigned long n)
{
	char line[LINE_MAX_LEN], buf[32], enc[DIGEST_CHARS + 1];
	unsigned char d[32];
	unsigned long row = 0;

	if (!read_line(stdin, line, 0))
		die("no header line");
	puts(line);
	while (read_line(stdin, line, row + 1)) {
		char *dg = row_digest(line);
		int f = (int)(row % NFORMS), e = (int)(row / NFORMS % NENCS);

		if (row >= n)
			die("more rows than numbers");
		if (!dg) {
			fprintf(stderr, "plainhash: row %lu: not [PREFIX/]KID.DIGEST of %d characters\n",
				row + 1, DIGEST_CHARS);
			return 1;
		}
		sha256(buf, number_form(f, row, buf), d);
		encode(e, d, enc);
		memcpy(dg, enc, DIGEST_CHARS);
		if (puts(line) == EOF)
			die("write error");
		row++;
	}
	if (row != n)
		die("fewer rows than numbers");
	return fflush(stdout) == 0 ? 0 : 1;
}

struct probe {
	uint64_t idx, fp;
	unsigned long number;
	int combo;
};

static int cmd_check(unsigned long n)
{
	static struct probe pr[BATCH * NFORMS * NENCS];
	static unsigned long hits[NFORMS * NENCS];
	static unsigned char b32char[256];
	struct table t;
	char line[LINE_MAX_LEN], buf[32], enc[DIGEST_CHARS + 1];
	unsigned char d[32];
	unsigned long rows = 0, dups = 0, foreign = 0, matched = 0, lookups = 0, candidates = 0;
	unsigned char *hit_number;
	unsigned long base, i;
	int f, e, k;

	table_init(&t, n);
	hit_number = calloc(BATCH, 1);
	if (!hit_number)
		die("out of memory");
	if (!read_line(stdin, line, 0))
		die("no header line");
	for (k = 0; B32[k]; k++)
		b32char[(unsigned char)B32[k]] = 1;
	/* rows in batches too: each key's slot prefetched before it is filled */
	for (;;) {
		size_t np = 0, j;

		while (np < BATCH && read_line(stdin, line, rows + 1)) {
			char *dg = row_digest(line);

			rows++;
			if (!dg) {
				fprintf(stderr, "plainhash: row %lu: not [PREFIX/]KID.DIGEST of %d characters\n",
					rows, DIGEST_CHARS);
				return 1;
			}
			lower(dg);
			for (k = 0; k < DIGEST_CHARS; k++) {
				t.alphabet[(unsigned char)dg[k]] = 1;
				foreign += !b32char[(unsigned char)dg[k]]; /* 0 for real tokens */
			}
			key_of(dg, &pr[np].idx, &pr[np].fp, &t);
			__builtin_prefetch(&t.slot[pr[np].idx]);
			np++;
		}
		for (j = 0; j < np; j++)
			dups += (unsigned long)table_add(&t, pr[j].idx, pr[j].fp);
		if (np < BATCH)
			break;
	}
	if (ferror(stdin))
		die("read error");
	sym_init(&t);
	/*
	 * Batches of numbers: every candidate's slot is prefetched before any is
	 * probed, so that the table's cache misses overlap. A candidate holding
	 * a character that no digest holds cannot match: it is not looked up
	 * (and its encoding stops at that character).
	 */
	for (base = 0; base < n; base += BATCH) {
		unsigned long end = base + BATCH < n ? base + BATCH : n;
		size_t np = 0, j;

		for (i = base; i < end; i++)
			for (f = 0; f < NFORMS; f++) {
				sha256(buf, number_form(f, i, buf), d);
				for (e = 0; e < NENCS; e++) {
					candidates++;
					if (!candidate(e, d, enc))
						continue;
					key_of(enc, &pr[np].idx, &pr[np].fp, &t);
					pr[np].number = i;
					pr[np].combo = f * NENCS + e;
					__builtin_prefetch(&t.slot[pr[np].idx]);
					np++;
				}
			}
		memset(hit_number, 0, BATCH);
		for (j = 0; j < np; j++) {
			lookups++;
			if (table_has(&t, pr[j].idx, pr[j].fp)) {
				hits[pr[j].combo]++;
				hit_number[pr[j].number - base] = 1;
			}
		}
		for (i = base; i < end; i++)
			matched += hit_number[i - base];
	}
	printf("rows=%lu duplicates=%lu foreign-chars=%lu\n", rows, dups, foreign);
	printf("numbers=%lu candidates=%lu lookups=%lu matched=%lu\n", n, candidates, lookups, matched);
	for (f = 0; f < NFORMS; f++)
		for (e = 0; e < NENCS; e++)
			printf("hits %s %s %lu\n", form_name[f], enc_name[e], hits[f * NENCS + e]);
	free(hit_number);
	munmap(t.slot, t.bytes);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned long n;
	int rc;

	if (argc < 2)
		die("usage: plainhash gen|plain|check [-n N]");
	n = parse_n(argc, argv);
	if (strcmp(argv[1], "gen") == 0)
		return cmd_gen(n);
	if (sodium_init() < 0)
		die("libsodium does not start");
	sha_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	sha_ctx = EVP_MD_CTX_new();
	if (!sha_md || !sha_ctx)
		die("OpenSSL has no SHA-256");
	selftest(n);
	if (strcmp(argv[1], "plain") == 0)
		rc = cmd_plain(n);
	else if (strcmp(argv[1], "check") == 0)
		rc = cmd_check(n);
	else
		die("usage: plainhash gen|plain|check [-n N]");
	EVP_MD_CTX_free(sha_ctx);
	EVP_MD_free(sha_md);
	return rc;
}
