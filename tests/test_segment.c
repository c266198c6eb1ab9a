/*
 * \summary: unit tests of the segment layer (src/segment.c)
 *
 * Every test works in a fresh temporary directory. Frames carry
 * deterministic bytes (frame_bytes) that begin with a marker, "SECRET",
 * so each read can be checked byte for byte and no error message may
 * contain it. The tamper tests edit the files by the layout documented in
 * include/cdrmin/segment.h, and the format test opens them by hand with
 * libsodium from that documentation alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/segment.h"

/* From the documented layout: header bytes, frame overhead. */
#define HDR 156
#define ABY 17
#define LENB 4
#define MAXF 64

static char sdir[64], qdir[96];
static unsigned char skey[CM_STORE_KEYBYTES], okey[CM_STORE_KEYBYTES];

static void seg_setup(void)
{
	int i;

	strcpy(sdir, "/tmp/cdrmin-seg-XXXXXX");
	cr_assert_not_null(mkdtemp(sdir));
	snprintf(qdir, sizeof qdir, "%s/quarantine", sdir);
	cr_assert_eq(mkdir(qdir, 0700), 0);
	cr_assert_geq(sodium_init(), 0);
	for (i = 0; i < CM_STORE_KEYBYTES; i++) {
		skey[i] = (unsigned char)i;
		okey[i] = (unsigned char)(0xa5 ^ i);
	}
}

static void seg_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", sdir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(segment, .init = seg_setup, .fini = seg_teardown);

/* ------------------------------------------------------------------ helpers */

typedef size_t (*len_fn)(uint64_t i);

static size_t len_small(uint64_t i) { return 20 + (size_t)(i * 13 % 50); }
static size_t len_zero(uint64_t i) { (void)i; return 0; }
static size_t len_mixed(uint64_t i) { return i % 5 == 0 ? 0 : (size_t)(i * 7919 % 3000); }

/* The bytes of frame i (1-based) of a segment written with seed. */
static void frame_bytes(struct cm_buf *b, unsigned seed, uint64_t i, size_t len)
{
	static const char mark[] = "SECRET";
	size_t j;

	cm_buf_reset(b);
	cr_assert_eq(cm_buf_reserve(b, len + 1), 0);
	for (j = 0; j < len; j++)
		b->p[j] = j < sizeof mark - 1 ? mark[j] : (char)(seed * 131u + i * 31u + j * 7u);
	b->n = len;
}

static void path_of(char *p, size_t n, const char *idhex, const char *suffix)
{
	snprintf(p, n, "%s/%s%s", sdir, idhex, suffix);
}

/* Creates a segment of n frames (lengths from len) and closes it if asked. */
static void make_seg(char idhex[33], const unsigned char *key, unsigned seed, uint64_t n,
		     len_fn len, int closed)
{
	struct cm_err err = { 0 };
	struct cm_buf b;
	struct cm_seg *s;
	uint64_t i;

	cm_buf_init(&b);
	s = cm_seg_create(sdir, "traffic", "2026-11-22", key, &err);
	cr_assert_not_null(s, "%s", err.msg);
	memcpy(idhex, cm_seg_info(s)->idhex, 33);
	for (i = 1; i <= n; i++) {
		frame_bytes(&b, seed, i, len(i));
		cr_assert_eq(cm_seg_append(s, b.p, b.n, &err), 0, "%s", err.msg);
	}
	cr_assert_eq(cm_seg_frames(s), n);
	if (closed)
		cr_assert_eq(cm_seg_close(s, &err), 0, "%s", err.msg);
	else
		cm_seg_abandon(s);
	cm_buf_deinit(&b);
}

#define OPEN_FAILED (-100)

/*
 * Opens and reads a segment, checking every frame against frame_bytes.
 * Returns the last cm_seg_next result (never CM_SEG_FRAME) or OPEN_FAILED;
 * *good is the number of good frames.
 */
static int read_seg(const char *idhex, const unsigned char *key, unsigned seed, len_fn len,
		    uint64_t *good, struct cm_err *err)
{
	struct cm_buf out, want;
	struct cm_seg *s;
	int rc;

	*good = 0;
	memset(err, 0, sizeof *err);
	s = cm_seg_open_read(sdir, idhex, key, err);
	if (!s)
		return OPEN_FAILED;
	cm_buf_init(&out);
	cm_buf_init(&want);
	while ((rc = cm_seg_next(s, &out, err)) == CM_SEG_FRAME) {
		++*good;
		frame_bytes(&want, seed, *good, len(*good));
		cr_assert_eq(out.n, want.n, "frame %llu: %zu bytes, expected %zu",
			     (unsigned long long)*good, out.n, want.n);
		cr_assert(out.n == 0 || memcmp(out.p, want.p, out.n) == 0,
			  "frame %llu: other bytes", (unsigned long long)*good);
	}
	/* The end, once reached, stays. */
	cr_assert_eq(cm_seg_next(s, &out, NULL), rc);
	cr_assert_eq(out.n, 0);
	cm_buf_deinit(&out);
	cm_buf_deinit(&want);
	cm_seg_free(s);
	return rc;
}

/* The message names the segment, and never holds the plaintext marker. */
static void expect_named(const struct cm_err *err, const char *idhex)
{
	cr_expect_not_null(strstr(err->msg, idhex), "\"%s\" does not name the segment", err->msg);
	cr_expect_null(strstr(err->msg, "SECRET"), "\"%s\" quotes plaintext", err->msg);
}

/* Reading gives frames 1..good_want intact, then a CM_E_DATA fault naming frame no. */
static void expect_fault_after(const char *idhex, unsigned seed, len_fn len, uint64_t good_want,
			       uint64_t no, const char *what)
{
	struct cm_err err;
	uint64_t good;
	char want[48];
	int rc;

	rc = read_seg(idhex, skey, seed, len, &good, &err);
	cr_assert_eq(rc, CM_FAIL, "%s: read ended with %d after %llu frames, expected a fault", what,
		     rc, (unsigned long long)good);
	cr_expect_eq(err.code, CM_E_DATA, "%s: %s", what, err.msg);
	cr_expect_eq(good, good_want, "%s: %llu good frames before the fault, expected %llu (%s)",
		     what, (unsigned long long)good, (unsigned long long)good_want, err.msg);
	snprintf(want, sizeof want, "frame %llu:", (unsigned long long)no);
	cr_expect_not_null(strstr(err.msg, want), "%s: \"%s\" does not name %s", what, err.msg,
			   want);
	expect_named(&err, idhex);
}

/* The usual case: frames 1..no-1 intact, a fault at frame no. */
static void expect_fault_at(const char *idhex, unsigned seed, len_fn len, uint64_t no,
			    const char *what)
{
	expect_fault_after(idhex, seed, len, no - 1, no, what);
}

struct file {
	unsigned char *p;
	size_t n;
};

static struct file slurp(const char *path)
{
	struct file f = { 0 };
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	f.n = (size_t)st.st_size;
	f.p = malloc(f.n + 1);
	cr_assert_not_null(f.p);
	cr_assert_eq(read(fd, f.p, f.n), (ssize_t)f.n);
	close(fd);
	return f;
}

static void spit(const char *path, const unsigned char *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, p, n), (ssize_t)n);
	cr_assert_eq(close(fd), 0);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static uint32_t be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/*
 * Offsets of the frames of a segment file: off[k] is where frame k
 * (1-based) starts; off[count + 1] is the end of the file. Returns count.
 */
static size_t frame_offsets(const struct file *f, size_t off[MAXF + 2])
{
	size_t pos = HDR, k = 0;

	while (pos < f->n) {
		cr_assert_lt(k, (size_t)MAXF);
		cr_assert_leq(pos + LENB, f->n);
		off[++k] = pos;
		pos += LENB + be32(f->p + pos);
	}
	cr_assert_eq(pos, f->n);
	off[k + 1] = pos;
	return k;
}

/* ------------------------------------------------------------- round trips */

static void round_trip(uint64_t n, len_fn len)
{
	char id[33];
	struct cm_err err;
	uint64_t good;

	make_seg(id, skey, 7, n, len, 1);
	cr_assert_eq(read_seg(id, skey, 7, len, &good, &err), CM_SEG_END, "%s", err.msg);
	cr_assert_eq(good, n);
}

Test(segment, round_trip_zero_frames) { round_trip(0, len_small); }
Test(segment, round_trip_one_frame) { round_trip(1, len_small); }
Test(segment, round_trip_many_frames) { round_trip(2000, len_mixed); }
Test(segment, round_trip_empty_frames) { round_trip(50, len_zero); }

static size_t len_max(uint64_t i) { return i == 2 ? CM_SEG_FRAME_MAX : 3; }

Test(segment, round_trip_frame_of_the_maximum_size)
{
	struct cm_err err = { 0 };
	struct cm_seg *s;
	unsigned char *big;

	round_trip(3, len_max);
	s = cm_seg_create(sdir, "traffic", "2026-11-22", skey, &err);
	cr_assert_not_null(s);
	big = calloc(1, CM_SEG_FRAME_MAX + 1);
	cr_assert_not_null(big);
	cr_expect_eq(cm_seg_append(s, big, CM_SEG_FRAME_MAX + 1, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_USAGE);
	cr_expect_eq(cm_seg_frames(s), 0);
	/* A refused frame leaves the segment usable. */
	cr_expect_eq(cm_seg_append(s, big, 1, &err), 0, "%s", err.msg);
	cr_expect_eq(cm_seg_close(s, &err), 0, "%s", err.msg);
	free(big);
}

Test(segment, info_and_file_modes)
{
	struct cm_err err = { 0 };
	struct cm_seg *s, *r;
	char id[33], p[160];
	struct stat st;
	time_t t0 = time(NULL);
	const struct cm_seg_info *in;

	umask(0); /* the files are 0600 whatever the umask */
	s = cm_seg_create(sdir, "cdr_v2-x", "2026-11-22 UTC+1", skey, &err);
	cr_assert_not_null(s, "%s", err.msg);
	in = cm_seg_info(s);
	memcpy(id, in->idhex, sizeof id);
	cr_expect_eq(strlen(id), 32);
	cr_expect_eq(strspn(id, "0123456789abcdef"), 32);
	cr_expect_str_eq(in->cls, "cdr_v2-x");
	cr_expect_str_eq(in->period, "2026-11-22 UTC+1");
	cr_expect(in->created >= t0 && in->created <= time(NULL));
	cr_assert_eq(cm_seg_close(s, &err), 0);

	path_of(p, sizeof p, id, ".seg");
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	cr_expect_eq(st.st_size, HDR + LENB + ABY); /* the header and the empty FINAL frame */
	path_of(p, sizeof p, id, ".key");
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	cr_expect_eq(st.st_size, 96);

	r = cm_seg_open_read(sdir, id, skey, &err);
	cr_assert_not_null(r, "%s", err.msg);
	in = cm_seg_info(r);
	cr_expect_str_eq(in->idhex, id);
	cr_expect_str_eq(in->cls, "cdr_v2-x");
	cr_expect_str_eq(in->period, "2026-11-22 UTC+1");
	cr_expect(in->created >= t0 && in->created <= time(NULL));
	cm_seg_free(r);
}

Test(segment, bad_class_period_and_id_are_usage_errors)
{
	static const char *bad_cls[] = { "", "Traffic", "a b", "a/b", "x.y",
					 "123456789012345678901234567890123" };
	static const char *bad_period[] = { "", "tab\there", "nl\n", "\x7f",
					    "123456789012345678901234567890123" };
	static const char *bad_id[] = { "", "0123", "0123456789ABCDEF0123456789abcdef",
					"../../../../../../../../etc/pas",
					"0123456789abcdef0123456789abcdef0" };
	struct cm_err err = { 0 };
	size_t i;

	for (i = 0; i < sizeof bad_cls / sizeof *bad_cls; i++) {
		cr_expect_null(cm_seg_create(sdir, bad_cls[i], "p", skey, &err), "class %zu", i);
		cr_expect_eq(err.code, CM_E_USAGE);
	}
	for (i = 0; i < sizeof bad_period / sizeof *bad_period; i++) {
		cr_expect_null(cm_seg_create(sdir, "c", bad_period[i], skey, &err), "period %zu", i);
		cr_expect_eq(err.code, CM_E_USAGE);
	}
	for (i = 0; i < sizeof bad_id / sizeof *bad_id; i++) {
		cr_expect_null(cm_seg_open_read(sdir, bad_id[i], skey, &err), "id %zu", i);
		cr_expect_eq(err.code, CM_E_USAGE);
		cr_expect_eq(cm_seg_destroy(sdir, bad_id[i], &err), CM_FAIL);
		cr_expect_eq(err.code, CM_E_USAGE);
	}
	cr_expect_null(cm_seg_create("/nonexistent/dir", "c", "p", skey, &err));
	cr_expect_eq(err.code, CM_E_IO);
}

Test(segment, missing_segment_is_noinput)
{
	struct cm_err err = { 0 };

	cr_expect_null(cm_seg_open_read(sdir, "0123456789abcdef0123456789abcdef", skey, &err));
	cr_expect_eq(err.code, CM_E_NOINPUT);
	cr_expect_not_null(strstr(err.msg, "0123456789abcdef0123456789abcdef"));
}

Test(segment, durability_counters)
{
	struct cm_err err = { 0 };
	struct cm_seg *s;
	char id[33];
	uint64_t good;

	s = cm_seg_create(sdir, "traffic", "p", skey, &err);
	cr_assert_not_null(s);
	memcpy(id, cm_seg_info(s)->idhex, sizeof id);
	cr_expect_eq(cm_seg_frames(s), 0);
	cr_expect_eq(cm_seg_durable(s), 0);
	cr_assert_eq(cm_seg_append(s, "a", 1, &err), 0);
	cr_assert_eq(cm_seg_append(s, "b", 1, &err), 0);
	cr_expect_eq(cm_seg_frames(s), 2);
	cr_expect_eq(cm_seg_durable(s), 0);
	cr_assert_eq(cm_seg_sync(s, &err), 0, "%s", err.msg);
	cr_expect_eq(cm_seg_durable(s), 2);
	cr_assert_eq(cm_seg_append(s, "c", 1, &err), 0);
	cr_expect_eq(cm_seg_frames(s), 3);
	cr_expect_eq(cm_seg_durable(s), 2);
	cr_assert_eq(cm_seg_sync(s, &err), 0);
	cr_assert_eq(cm_seg_sync(s, &err), 0); /* nothing new: still fine */
	cr_expect_eq(cm_seg_durable(s), 3);
	cm_seg_abandon(s);
	cr_expect_eq(cm_seg_frames(NULL), 0);
	cr_expect_eq(cm_seg_durable(NULL), 0);

	/* Read back: unclosed after frame 3. */
	s = cm_seg_open_read(sdir, id, skey, &err);
	cr_assert_not_null(s, "%s", err.msg);
	{
		struct cm_buf b;

		cm_buf_init(&b);
		for (good = 0; cm_seg_next(s, &b, &err) == CM_SEG_FRAME; good++)
			cr_expect_eq(b.p[0], (char)('a' + good));
		cr_expect_eq(good, 3);
		cr_expect_eq(cm_seg_frames(s), 3);
		cm_buf_deinit(&b);
	}
	cm_seg_free(s);
}

Test(segment, wrong_mode_calls_are_usage_errors)
{
	struct cm_err err = { 0 };
	struct cm_seg *w, *r;
	struct cm_buf b;
	char id[33];

	cm_buf_init(&b);
	w = cm_seg_create(sdir, "traffic", "p", skey, &err);
	cr_assert_not_null(w);
	memcpy(id, cm_seg_info(w)->idhex, sizeof id);
	cr_expect_eq(cm_seg_next(w, &b, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_USAGE);
	cr_expect_eq(cm_seg_recover(w, qdir, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_USAGE);
	cr_assert_eq(cm_seg_close(w, &err), 0);
	r = cm_seg_open_read(sdir, id, skey, &err);
	cr_assert_not_null(r);
	cr_expect_eq(cm_seg_append(r, "x", 1, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_USAGE);
	cr_expect_eq(cm_seg_sync(r, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_USAGE);
	cm_seg_free(r);
	cm_seg_free(NULL);
	cm_seg_abandon(NULL);
	cm_buf_deinit(&b);
}

/* ------------------------------------------------------------- the format */

/* Opens every file of a segment by hand, from the documentation alone. */
Test(segment, files_follow_the_documented_format)
{
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char k[32], segkey[32], plain[64], m[64], ad[24], tag;
	unsigned long long mlen;
	struct cm_err err = { 0 };
	struct cm_seg *r;
	struct file kf, sf, cf;
	char id[33], p[160];
	size_t off[MAXF + 2];
	int i;

	make_seg(id, skey, 3, 2, len_small, 0);
	path_of(p, sizeof p, id, ".key");
	kf = slurp(p);
	path_of(p, sizeof p, id, ".seg");
	sf = slurp(p);

	/* Header. */
	cr_assert_eq(memcmp(sf.p, "CDRMSEG1", 8), 0);
	cr_expect_eq(sf.p[8], 1);
	cr_expect_eq(sf.p[9], 7);
	cr_expect_eq(sf.p[10], 10);
	cr_expect_eq(sf.p[11], 0);
	sodium_bin2hex(p, sizeof p, sf.p + 12, 16);
	cr_expect_str_eq(p, id);
	cr_expect_eq(memcmp(sf.p + 36, "traffic", 8), 0); /* NUL-padded */
	cr_expect_eq(memcmp(sf.p + 68, "2026-11-22", 11), 0);

	/* Key file: BLAKE2b(key = store key, salt = id, personal "cdrmin-segkey-v1"). */
	cr_assert_eq(kf.n, 96);
	cr_expect_eq(memcmp(kf.p, "CDRMKEY1", 8), 0);
	crypto_generichash_blake2b_salt_personal(k, 32, NULL, 0, skey, 32, sf.p + 12,
						 (const unsigned char *)"cdrmin-segkey-v1");
	cr_assert_eq(crypto_secretbox_open_easy(plain, kf.p + 32, 64, kf.p + 8, k), 0);
	cr_expect_eq(memcmp(plain, sf.p + 12, 16), 0);
	memcpy(segkey, plain + 16, 32);

	/* Header MAC: HMAC-SHA-512-256 under kdf subkey 2, context "cdrmseg1". */
	crypto_kdf_derive_from_key(k, 32, 2, "cdrmseg1", segkey);
	cr_expect_eq(crypto_auth_verify(sf.p + 124, sf.p, 124, k), 0);

	/* Frames: secretstream under kdf subkey 1, AD = id || frame number. */
	crypto_kdf_derive_from_key(k, 32, 1, "cdrmseg1", segkey);
	cr_assert_eq(crypto_secretstream_xchacha20poly1305_init_pull(&st, sf.p + 100, k), 0);
	cr_assert_eq(frame_offsets(&sf, off), 2);
	for (i = 1; i <= 2; i++) {
		memcpy(ad, sf.p + 12, 16);
		memset(ad + 16, 0, 8);
		ad[23] = (unsigned char)i;
		cr_assert_eq(be32(sf.p + off[i]), len_small((uint64_t)i) + ABY);
		cr_assert_eq(crypto_secretstream_xchacha20poly1305_pull(
				     &st, m, &mlen, &tag, sf.p + off[i] + 4, be32(sf.p + off[i]), ad,
				     24),
			     0);
		cr_expect_eq(mlen, len_small((uint64_t)i));
		cr_expect_eq(tag, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
		cr_expect_eq(memcmp(m, "SECRET", 6), 0);
	}

	/* .closed after recovery: "cdrmin-segend-v1", id || frames || end offset. */
	r = cm_seg_open_read(sdir, id, skey, &err);
	cr_assert_not_null(r);
	cr_assert_eq(cm_seg_recover(r, qdir, &err), 0, "%s", err.msg);
	cm_seg_free(r);
	path_of(p, sizeof p, id, ".closed");
	cf = slurp(p);
	cr_assert_eq(cf.n, 80);
	cr_expect_eq(memcmp(cf.p, "CDRMEND1", 8), 0);
	crypto_generichash_blake2b_salt_personal(k, 32, NULL, 0, skey, 32, sf.p + 12,
						 (const unsigned char *)"cdrmin-segend-v1");
	cr_assert_eq(crypto_secretbox_open_easy(plain, cf.p + 32, 48, cf.p + 8, k), 0);
	cr_expect_eq(memcmp(plain, sf.p + 12, 16), 0);
	cr_expect_eq(be32(plain + 16), 0);
	cr_expect_eq(be32(plain + 20), 2);
	cr_expect_eq(be32(plain + 24), 0);
	cr_expect_eq(be32(plain + 28), sf.n);
	free(kf.p);
	free(sf.p);
	free(cf.p);
	sodium_memzero(segkey, sizeof segkey);
	sodium_memzero(k, sizeof k);
}

/* ------------------------------------------------------------- keys */

Test(segment, wrong_store_key_is_a_clean_error)
{
	struct cm_err err;
	uint64_t good;
	char id[33];

	make_seg(id, skey, 1, 3, len_small, 1);
	cr_assert_eq(read_seg(id, okey, 1, len_small, &good, &err), OPEN_FAILED);
	cr_expect_eq(err.code, CM_E_DATA);
	cr_expect_not_null(strstr(err.msg, ".key does not unwrap"), "%s", err.msg);
	expect_named(&err, id);
}

Test(segment, key_file_of_another_segment_is_refused)
{
	char a[33], b[33], pa[160], pb[160];
	struct cm_err err;
	struct file f;
	uint64_t good;

	make_seg(a, skey, 1, 3, len_small, 1);
	make_seg(b, skey, 2, 3, len_small, 1);
	path_of(pa, sizeof pa, a, ".key");
	path_of(pb, sizeof pb, b, ".key");
	f = slurp(pb);
	spit(pa, f.p, f.n);
	free(f.p);
	cr_assert_eq(read_seg(a, skey, 1, len_small, &good, &err), OPEN_FAILED);
	cr_expect_eq(err.code, CM_E_DATA);
	cr_expect_not_null(strstr(err.msg, "does not unwrap"), "%s", err.msg);
	expect_named(&err, a);
	cr_expect_eq(read_seg(b, skey, 2, len_small, &good, &err), CM_SEG_END);
}

Test(segment, damaged_or_missing_key_file_is_refused)
{
	char id[33], p[160];
	struct cm_err err;
	struct file f;
	uint64_t good;
	size_t i;

	make_seg(id, skey, 1, 1, len_small, 1);
	path_of(p, sizeof p, id, ".key");
	f = slurp(p);
	for (i = 0; i < f.n; i++) {
		f.p[i] ^= (unsigned char)(1u << (i % 8));
		spit(p, f.p, f.n);
		cr_expect_eq(read_seg(id, skey, 1, len_small, &good, &err), OPEN_FAILED, "byte %zu",
			     i);
		cr_expect_eq(err.code, CM_E_DATA);
		f.p[i] ^= (unsigned char)(1u << (i % 8));
	}
	spit(p, f.p, f.n - 1);
	cr_expect_eq(read_seg(id, skey, 1, len_small, &good, &err), OPEN_FAILED);
	cr_expect_eq(err.code, CM_E_DATA);
	cr_expect_eq(unlink(p), 0);
	cr_expect_eq(read_seg(id, skey, 1, len_small, &good, &err), OPEN_FAILED);
	cr_expect_eq(err.code, CM_E_NOINPUT);
	expect_named(&err, id);
	spit(p, f.p, f.n);
	cr_expect_eq(read_seg(id, skey, 1, len_small, &good, &err), CM_SEG_END);
	free(f.p);
}

/* ------------------------------------------------------------- tampering */

Test(segment, every_header_bit_flip_is_detected)
{
	char id[33], p[160];
	struct cm_err err;
	struct file f;
	uint64_t good;
	size_t i;
	int bit;

	make_seg(id, skey, 1, 2, len_small, 1);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	for (i = 0; i < HDR; i++)
		for (bit = 0; bit < 8; bit++) {
			f.p[i] ^= (unsigned char)(1u << bit);
			spit(p, f.p, f.n);
			cr_assert_eq(read_seg(id, skey, 1, len_small, &good, &err), OPEN_FAILED,
				     "byte %zu bit %d", i, bit);
			cr_assert_eq(err.code, CM_E_DATA, "byte %zu bit %d: %s", i, bit, err.msg);
			expect_named(&err, id);
			f.p[i] ^= (unsigned char)(1u << bit);
		}
	spit(p, f.p, f.n);
	cr_expect_eq(read_seg(id, skey, 1, len_small, &good, &err), CM_SEG_END);
	free(f.p);
}

Test(segment, truncated_header_is_detected)
{
	char id[33], p[160];
	struct cm_err err;
	struct file f;
	uint64_t good;
	size_t i;

	make_seg(id, skey, 1, 1, len_small, 1);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	for (i = 0; i < HDR; i++) {
		spit(p, f.p, i);
		cr_assert_eq(read_seg(id, skey, 1, len_small, &good, &err), OPEN_FAILED, "at %zu", i);
		cr_assert_eq(err.code, CM_E_DATA, "at %zu: %s", i, err.msg);
	}
	free(f.p);
}

/*
 * Flips every bit of frame k's length field, of bytes of its ciphertext
 * (the encrypted tag byte, the message, the 16-byte MAC) in a closed
 * segment: each is a fault at frame k, with frames 1..k-1 intact.
 */
Test(segment, every_frame_bit_flip_is_detected_at_its_frame)
{
	char id[33], p[160], what[64];
	struct file f;
	size_t off[MAXF + 2], n, i, k, end;
	int bit;

	make_seg(id, skey, 5, 4, len_small, 1);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	n = frame_offsets(&f, off);
	cr_assert_eq(n, 5); /* 4 and FINAL */
	for (k = 1; k <= n; k++) {
		end = off[k + 1];
		for (i = off[k]; i < end; i++) {
			/* Every bit of the length field; one per byte elsewhere. */
			bit = i < off[k] + LENB ? 0 : (int)(i % 8);
			for (; bit < 8; bit += i < off[k] + LENB ? 1 : 8) {
				snprintf(what, sizeof what, "frame %zu byte %zu bit %d", k,
					 i - off[k], bit);
				f.p[i] ^= (unsigned char)(1u << bit);
				spit(p, f.p, f.n);
				expect_fault_at(id, 5, len_small, k, what);
				f.p[i] ^= (unsigned char)(1u << bit);
			}
		}
	}
	free(f.p);
}

/* Rebuilds the segment file as the header then the listed frames of src. */
static void rebuild(const char *p, const struct file *src, const size_t *off, const size_t *order,
		    size_t count, const unsigned char *tail, size_t tail_n)
{
	unsigned char *b = malloc(src->n * 2 + tail_n + 1);
	size_t n = HDR, i, len;

	cr_assert_not_null(b);
	memcpy(b, src->p, HDR);
	for (i = 0; i < count; i++) {
		len = off[order[i] + 1] - off[order[i]];
		memcpy(b + n, src->p + off[order[i]], len);
		n += len;
	}
	if (tail_n) {
		memcpy(b + n, tail, tail_n);
		n += tail_n;
	}
	spit(p, b, n);
	free(b);
}

Test(segment, reordered_repeated_and_deleted_frames_are_detected)
{
	static const size_t swap[] = { 1, 3, 2, 4, 5, 6 }, dup[] = { 1, 2, 2, 3, 4, 5, 6 },
			    del[] = { 1, 3, 4, 5, 6 }, del_last[] = { 1, 2, 3, 4, 6 },
			    final_early[] = { 1, 2, 6 }, two_finals[] = { 1, 2, 3, 4, 5, 6, 6 };
	char id[33], p[160];
	struct file f;
	size_t off[MAXF + 2];

	make_seg(id, skey, 9, 5, len_small, 1);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	cr_assert_eq(frame_offsets(&f, off), 6);

	rebuild(p, &f, off, swap, 6, NULL, 0);
	expect_fault_at(id, 9, len_small, 2, "swap 2 and 3");
	rebuild(p, &f, off, dup, 7, NULL, 0);
	expect_fault_at(id, 9, len_small, 3, "repeat 2");
	rebuild(p, &f, off, del, 5, NULL, 0);
	expect_fault_at(id, 9, len_small, 2, "delete 2");
	rebuild(p, &f, off, del_last, 5, NULL, 0);
	expect_fault_at(id, 9, len_small, 5, "delete 5");
	rebuild(p, &f, off, final_early, 3, NULL, 0);
	expect_fault_at(id, 9, len_small, 3, "FINAL moved up");
	rebuild(p, &f, off, two_finals, 7, NULL, 0);
	expect_fault_after(id, 9, len_small, 5, 7, "FINAL repeated");
	free(f.p);
}

Test(segment, frame_from_another_segment_is_detected)
{
	char a[33], b[33], pa[160], pb[160];
	struct file fa, fb;
	size_t oa[MAXF + 2], ob[MAXF + 2], n;
	unsigned char *x;

	/* Same store key, same frame lengths and contents. */
	make_seg(a, skey, 4, 3, len_small, 1);
	make_seg(b, skey, 4, 3, len_small, 1);
	path_of(pa, sizeof pa, a, ".seg");
	path_of(pb, sizeof pb, b, ".seg");
	fa = slurp(pa);
	fb = slurp(pb);
	frame_offsets(&fa, oa);
	frame_offsets(&fb, ob);
	x = malloc(fa.n);
	cr_assert_not_null(x);
	/* a with b's frame 2 in place (same length). */
	memcpy(x, fa.p, fa.n);
	n = oa[3] - oa[2];
	cr_assert_eq(n, ob[3] - ob[2]);
	memcpy(x + oa[2], fb.p + ob[2], n);
	spit(pa, x, fa.n);
	expect_fault_at(a, 4, len_small, 2, "frame 2 of another segment");
	/* a with b's FINAL frame. */
	memcpy(x, fa.p, fa.n);
	memcpy(x + oa[4], fb.p + ob[4], oa[5] - oa[4]);
	spit(pa, x, fa.n);
	expect_fault_at(a, 4, len_small, 4, "FINAL of another segment");
	/* b's header on a's frames (and a's key file) */
	memcpy(x, fa.p, fa.n);
	memcpy(x, fb.p, HDR);
	spit(pa, x, fa.n);
	{
		struct cm_err err;
		uint64_t good;

		cr_expect_eq(read_seg(a, skey, 4, len_small, &good, &err), OPEN_FAILED);
		cr_expect_eq(err.code, CM_E_DATA);
	}
	free(x);
	free(fa.p);
	free(fb.p);
}

/*
 * Cuts a closed segment at every byte offset after the header: a cut at
 * the start of frame k reads as UNCLOSED after k-1 frames, a cut inside
 * frame k as a fault at frame k. Never a wrong frame, never END.
 */
Test(segment, every_truncation_is_unclosed_or_a_fault_at_its_frame)
{
	char id[33], p[160], what[64];
	struct cm_err err;
	struct file f;
	size_t off[MAXF + 2], n, c, k;
	uint64_t good;
	int rc;

	make_seg(id, skey, 6, 6, len_small, 1);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	n = frame_offsets(&f, off);
	cr_assert_eq(n, 7);
	for (c = HDR; c < f.n; c++) {
		spit(p, f.p, c);
		for (k = 1; off[k + 1] <= c; k++)
			;
		snprintf(what, sizeof what, "cut at %zu (frame %zu)", c, k);
		if (c == off[k]) {
			rc = read_seg(id, skey, 6, len_small, &good, &err);
			cr_assert_eq(rc, CM_SEG_UNCLOSED, "%s: %d %s", what, rc, err.msg);
			cr_assert_eq(good, k - 1, "%s", what);
		} else {
			expect_fault_at(id, 6, len_small, k, what);
		}
	}
	free(f.p);
}

Test(segment, bytes_after_final_are_detected)
{
	static const unsigned char junk[] = { 0, 0, 0, 17, 1, 2, 3 };
	char id[33], p[160];
	struct file f;
	size_t k;

	make_seg(id, skey, 2, 3, len_small, 1);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	for (k = 1; k <= sizeof junk; k++) {
		unsigned char *b = malloc(f.n + k);

		memcpy(b, f.p, f.n);
		memcpy(b + f.n, junk, k);
		spit(p, b, f.n + k);
		/* 3 frames, FINAL is frame 4, the junk frame 5. */
		expect_fault_after(id, 2, len_small, 3, 5, "after FINAL");
		free(b);
	}
	free(f.p);
}

Test(segment, impossible_lengths_are_detected)
{
	static const uint32_t lens[] = { 0, 1, 16, CM_SEG_FRAME_MAX + ABY + 1, 0xffffffffu };
	char id[33], p[160];
	struct file f;
	size_t off[MAXF + 2], i;

	make_seg(id, skey, 2, 3, len_small, 0);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	frame_offsets(&f, off);
	for (i = 0; i < sizeof lens / sizeof *lens; i++) {
		unsigned char *q = f.p + off[2];
		unsigned char save[4];

		memcpy(save, q, 4);
		q[0] = (unsigned char)(lens[i] >> 24);
		q[1] = (unsigned char)(lens[i] >> 16);
		q[2] = (unsigned char)(lens[i] >> 8);
		q[3] = (unsigned char)lens[i];
		spit(p, f.p, f.n);
		expect_fault_at(id, 2, len_small, 2, "bad length");
		memcpy(q, save, 4);
	}
	free(f.p);
}

/* ------------------------------------------------------------- recovery */

static void expect_recovered(const char *id, unsigned seed, len_fn len, uint64_t n,
			     const unsigned char *tail, size_t tail_n)
{
	struct cm_err err;
	char p[160];
	uint64_t good;
	struct stat st;

	cr_assert_eq(read_seg(id, skey, seed, len, &good, &err), CM_SEG_END, "%s", err.msg);
	cr_assert_eq(good, n);
	snprintf(p, sizeof p, "%s/%s.torn", qdir, id);
	if (tail_n) {
		struct file t = slurp(p);

		cr_expect_eq(t.n, tail_n);
		cr_expect(t.n == tail_n && memcmp(t.p, tail, tail_n) == 0, "quarantined bytes");
		cr_assert_eq(stat(p, &st), 0);
		cr_expect_eq(st.st_mode & 07777, 0600);
		free(t.p);
	} else {
		cr_expect(!exists(p), "no tail, no .torn file");
	}
	path_of(p, sizeof p, id, ".closed");
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	snprintf(p, sizeof p, "%s/%s.closed.part", sdir, id);
	cr_expect(!exists(p));
	snprintf(p, sizeof p, "%s/%s.torn.part", qdir, id);
	cr_expect(!exists(p));
}

static void recover(const char *id, int want)
{
	struct cm_err err = { 0 };
	struct cm_seg *s;
	int rc;

	s = cm_seg_open_read(sdir, id, skey, &err);
	cr_assert_not_null(s, "%s", err.msg);
	rc = cm_seg_recover(s, qdir, &err);
	cr_assert_eq(rc, want, "recover: %d, %s", rc, err.msg);
	if (rc != 0)
		expect_named(&err, id);
	cm_seg_free(s);
}

Test(segment, recover_an_abandoned_segment)
{
	struct cm_err err = { 0 };
	uint64_t good;
	char id[33];

	make_seg(id, skey, 8, 10, len_mixed, 0);
	cr_assert_eq(read_seg(id, skey, 8, len_mixed, &good, &err), CM_SEG_UNCLOSED);
	cr_assert_eq(good, 10);
	recover(id, 0);
	expect_recovered(id, 8, len_mixed, 10, NULL, 0);
	/* Only once. */
	recover(id, CM_FAIL);
}

Test(segment, recover_refuses_a_segment_with_a_live_writer)
{
	struct cm_err err = { 0 };
	struct cm_seg *w, *r;
	char id[33], p[160];

	w = cm_seg_create(sdir, "traffic", "p", skey, &err);
	cr_assert_not_null(w);
	memcpy(id, cm_seg_info(w)->idhex, sizeof id);
	cr_assert_eq(cm_seg_append(w, "a", 1, &err), 0);
	cr_assert_eq(cm_seg_sync(w, &err), 0);
	r = cm_seg_open_read(sdir, id, skey, &err);
	cr_assert_not_null(r);
	cr_expect_eq(cm_seg_recover(r, qdir, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_USAGE);
	cr_expect_not_null(strstr(err.msg, "writer"), "%s", err.msg);
	cm_seg_free(r);
	path_of(p, sizeof p, id, ".closed");
	cr_expect(!exists(p));
	/* The writer goes on. */
	cr_expect_eq(cm_seg_append(w, "b", 1, &err), 0);
	cm_seg_abandon(w);
	recover(id, 0);
}

Test(segment, recover_an_empty_abandoned_segment)
{
	char id[33];

	make_seg(id, skey, 8, 0, len_small, 0);
	recover(id, 0);
	expect_recovered(id, 8, len_small, 0, NULL, 0);
}

Test(segment, recover_a_torn_half_frame)
{
	char id[33], p[160];
	struct file f;
	unsigned char half[40];
	size_t i;
	int fd;

	make_seg(id, skey, 8, 4, len_small, 0);
	/* The length of a 100-byte ciphertext and 36 bytes of it: a write cut short. */
	memset(half, 0, sizeof half);
	half[3] = 100;
	for (i = 4; i < sizeof half; i++)
		half[i] = (unsigned char)(i * 29);
	path_of(p, sizeof p, id, ".seg");
	fd = open(p, O_WRONLY | O_APPEND);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, half, sizeof half), (ssize_t)sizeof half);
	close(fd);
	f = slurp(p);
	expect_fault_at(id, 8, len_small, 5, "torn frame");
	recover(id, 0);
	expect_recovered(id, 8, len_small, 4, half, sizeof half);
	{
		struct file g = slurp(p);

		cr_expect_eq(g.n, f.n - sizeof half);
		cr_expect_eq(memcmp(g.p, f.p, g.n), 0, "the good frames are untouched");
		free(g.p);
	}
	free(f.p);
}

Test(segment, recover_after_every_torn_cut_of_an_unclosed_segment)
{
	char id[33], p[160], ids[33];
	struct file f;
	size_t off[MAXF + 2], n, c, k;
	char cmd[256];

	make_seg(id, skey, 6, 3, len_small, 0);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	n = frame_offsets(&f, off);
	cr_assert_eq(n, 3);
	memcpy(ids, id, sizeof ids);
	for (c = off[2]; c <= f.n; c++) {
		spit(p, f.p, c);
		path_of(cmd, sizeof cmd, id, ".closed");
		unlink(cmd);
		snprintf(cmd, sizeof cmd, "%s/%s.torn", qdir, id);
		unlink(cmd);
		for (k = 1; k <= n && off[k + 1] <= c; k++)
			;
		recover(id, 0);
		/* The frames wholly inside the cut survive; the rest is quarantined. */
		if (c == off[k] || c == f.n)
			expect_recovered(id, 6, len_small, c == f.n ? n : k - 1, NULL, 0);
		else
			expect_recovered(id, 6, len_small, k - 1, f.p + off[k], c - off[k]);
	}
	free(f.p);
}

Test(segment, recover_a_segment_abandoned_after_a_failed_write)
{
	struct cm_err err = { 0 };
	struct cm_seg *s;
	struct rlimit rl, lim;
	struct stat st;
	char id[33], p[160];
	unsigned char big[100];
	uint64_t good;

	memset(big, 'x', sizeof big);
	memcpy(big, "SECRET", 6);
	s = cm_seg_create(sdir, "traffic", "p", skey, &err);
	cr_assert_not_null(s);
	memcpy(id, cm_seg_info(s)->idhex, sizeof id);
	cr_assert_eq(cm_seg_append(s, "SECRET one", 10, &err), 0);
	cr_assert_eq(cm_seg_sync(s, &err), 0);
	path_of(p, sizeof p, id, ".seg");
	cr_assert_eq(stat(p, &st), 0);

	/* The file may grow by 30 bytes only: the next write is cut short (EFBIG). */
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	lim = rl;
	lim.rlim_cur = (rlim_t)st.st_size + 30;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	cr_expect_eq(cm_seg_append(s, big, sizeof big, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_IO);
	expect_named(&err, id);
	/* A broken segment takes nothing more. */
	cr_expect_eq(cm_seg_append(s, "x", 1, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_IO);
	cr_expect_eq(cm_seg_sync(s, &err), CM_FAIL);
	cr_expect_eq(cm_seg_frames(s), 1);
	cr_expect_eq(cm_seg_durable(s), 1);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	cr_expect_eq(cm_seg_close(s, &err), CM_FAIL); /* and is freed */

	cr_assert_eq(stat(p, &st), 0);
	s = cm_seg_open_read(sdir, id, skey, &err);
	cr_assert_not_null(s);
	cr_assert_eq(cm_seg_recover(s, qdir, &err), 0, "%s", err.msg);
	cm_seg_free(s);
	s = cm_seg_open_read(sdir, id, skey, &err);
	cr_assert_not_null(s);
	{
		struct cm_buf b;

		cm_buf_init(&b);
		cr_expect_eq(cm_seg_next(s, &b, &err), CM_SEG_FRAME);
		cr_expect(b.n == 10 && memcmp(b.p, "SECRET one", 10) == 0);
		cr_expect_eq(cm_seg_next(s, &b, &err), CM_SEG_END);
		good = cm_seg_frames(s);
		cr_expect_eq(good, 1);
		cm_buf_deinit(&b);
	}
	cm_seg_free(s);
	snprintf(p, sizeof p, "%s/%s.torn", qdir, id);
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_size, 30);
}

Test(segment, recover_refuses_closed_segments)
{
	char id[33], p[160];
	struct file f;
	size_t off[MAXF + 2];

	/* Intact and closed. */
	make_seg(id, skey, 3, 4, len_small, 1);
	recover(id, CM_FAIL);
	path_of(p, sizeof p, id, ".closed");
	cr_expect(!exists(p));

	/* Closed, with a damaged frame inside: not a torn write; the file stays as it is. */
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	frame_offsets(&f, off);
	f.p[off[2] + 10] ^= 1;
	spit(p, f.p, f.n);
	recover(id, CM_FAIL);
	{
		struct file g = slurp(p);

		cr_expect_eq(g.n, f.n);
		free(g.p);
	}
	f.p[off[2] + 10] ^= 1;

	/* Closed, with data after FINAL. */
	{
		unsigned char *b = malloc(f.n + 3);

		memcpy(b, f.p, f.n);
		memset(b + f.n, 0, 3);
		spit(p, b, f.n + 3);
		free(b);
	}
	recover(id, CM_FAIL);
	path_of(p, sizeof p, id, ".closed");
	cr_expect(!exists(p));
	free(f.p);
}

Test(segment, recover_quarantines_from_a_damaged_frame_of_an_unclosed_segment)
{
	char id[33], p[160];
	struct file f;
	size_t off[MAXF + 2];

	make_seg(id, skey, 3, 5, len_small, 0);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	frame_offsets(&f, off);
	f.p[off[3] + 9] ^= 0x40;
	spit(p, f.p, f.n);
	recover(id, 0);
	expect_recovered(id, 3, len_small, 2, f.p + off[3], f.n - off[3]);
	free(f.p);
}

Test(segment, recovered_segment_detects_cuts_and_appends)
{
	char id[33], p[160];
	struct file f;
	size_t off[MAXF + 2];

	make_seg(id, skey, 3, 4, len_small, 0);
	recover(id, 0);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	cr_assert_eq(frame_offsets(&f, off), 4);
	/* Cut at a frame boundary: no longer a clean UNCLOSED, .closed says 4. */
	spit(p, f.p, off[4]);
	expect_fault_at(id, 3, len_small, 4, "cut after recovery");
	/* Data appended after the recorded end. */
	{
		unsigned char *b = malloc(f.n + 21);

		memcpy(b, f.p, f.n);
		memcpy(b + f.n, f.p + off[4], 21);
		spit(p, b, f.n + 21);
		free(b);
	}
	expect_fault_at(id, 3, len_small, 5, "appended after recovery");
	spit(p, f.p, f.n);
	expect_recovered(id, 3, len_small, 4, NULL, 0);
	free(f.p);
}

/* Seals a .closed record by the documented format under key. */
static void seal_closed(const char *id, const unsigned char *key, uint64_t frames, uint64_t end)
{
	unsigned char k[32], plain[32], b[80], bid[16];
	char p[160];
	int i;

	sodium_hex2bin(bid, 16, id, 32, NULL, NULL, NULL);
	crypto_generichash_blake2b_salt_personal(k, 32, NULL, 0, key, 32, bid,
						 (const unsigned char *)"cdrmin-segend-v1");
	memcpy(plain, bid, 16);
	for (i = 0; i < 8; i++) {
		plain[16 + i] = (unsigned char)(frames >> (56 - 8 * i));
		plain[24 + i] = (unsigned char)(end >> (56 - 8 * i));
	}
	memcpy(b, "CDRMEND1", 8);
	randombytes_buf(b + 8, 24);
	crypto_secretbox_easy(b + 32, plain, 32, b + 8, k);
	path_of(p, sizeof p, id, ".closed");
	spit(p, b, sizeof b);
}

Test(segment, forged_closed_file_is_refused)
{
	char a[33], b[33], pa[160], pb[160];
	struct cm_err err;
	struct file f, sf;
	size_t off[MAXF + 2];
	uint64_t good;

	make_seg(a, skey, 3, 4, len_small, 0);
	make_seg(b, skey, 3, 4, len_small, 0);
	recover(b, 0);
	path_of(pa, sizeof pa, a, ".seg");
	sf = slurp(pa);
	frame_offsets(&sf, off);

	/* Wrong store key: would hide frames 3 and 4. */
	seal_closed(a, okey, 2, off[3]);
	cr_assert_eq(read_seg(a, skey, 3, len_small, &good, &err), OPEN_FAILED);
	cr_expect_eq(err.code, CM_E_DATA);
	cr_expect_not_null(strstr(err.msg, ".closed does not authenticate"), "%s", err.msg);
	expect_named(&err, a);

	/* Another segment's genuine .closed. */
	path_of(pa, sizeof pa, a, ".closed");
	path_of(pb, sizeof pb, b, ".closed");
	f = slurp(pb);
	spit(pa, f.p, f.n);
	cr_assert_eq(read_seg(a, skey, 3, len_small, &good, &err), OPEN_FAILED);
	cr_expect_eq(err.code, CM_E_DATA);

	/* Damaged: every byte. */
	{
		size_t i;

		seal_closed(a, skey, 4, sf.n);
		free(f.p);
		f = slurp(pa);
		for (i = 0; i < f.n; i++) {
			f.p[i] ^= 0x10;
			spit(pa, f.p, f.n);
			cr_expect_eq(read_seg(a, skey, 3, len_small, &good, &err), OPEN_FAILED,
				     "byte %zu", i);
			f.p[i] ^= 0x10;
		}
		spit(pa, f.p, f.n - 1);
		cr_expect_eq(read_seg(a, skey, 3, len_small, &good, &err), OPEN_FAILED);
	}

	/* Under the right key it rules: the segment ends where it says. */
	seal_closed(a, skey, 4, sf.n);
	cr_expect_eq(read_seg(a, skey, 3, len_small, &good, &err), CM_SEG_END, "%s", err.msg);
	cr_expect_eq(good, 4);
	seal_closed(a, skey, 2, off[3]);
	expect_fault_at(a, 3, len_small, 3, "frames past a genuine .closed");
	free(f.p);
	free(sf.p);
}

Test(segment, recover_again_after_an_interrupted_recovery)
{
	char id[33], p[160], t[160];
	struct file f;
	size_t off[MAXF + 2];
	static const unsigned char tail[] = { 0, 0, 1, 0, 9, 9, 9 };

	make_seg(id, skey, 3, 3, len_small, 0);
	path_of(p, sizeof p, id, ".seg");
	f = slurp(p);
	frame_offsets(&f, off);
	{
		unsigned char *b = malloc(f.n + sizeof tail);

		memcpy(b, f.p, f.n);
		memcpy(b + f.n, tail, sizeof tail);
		spit(p, b, f.n + sizeof tail);
		free(b);
	}
	/* A run that stopped after quarantining: .torn in place, leftovers of .part files. */
	snprintf(t, sizeof t, "%s/%s.torn", qdir, id);
	spit(t, tail, sizeof tail);
	snprintf(t, sizeof t, "%s/%s.torn.part", qdir, id);
	spit(t, tail, 2);
	snprintf(t, sizeof t, "%s/%s.closed.part", sdir, id);
	spit(t, tail, 3);
	recover(id, 0);
	expect_recovered(id, 3, len_small, 3, tail, sizeof tail);

	/* A .torn with other bytes is not overwritten. */
	make_seg(id, skey, 3, 3, len_small, 0);
	path_of(p, sizeof p, id, ".seg");
	{
		int fd = open(p, O_WRONLY | O_APPEND);

		cr_assert_eq(write(fd, tail, sizeof tail), (ssize_t)sizeof tail);
		close(fd);
	}
	snprintf(t, sizeof t, "%s/%s.torn", qdir, id);
	spit(t, tail, 1);
	recover(id, CM_FAIL);
	{
		struct file g = slurp(t);

		cr_expect_eq(g.n, 1);
		free(g.p);
	}
	free(f.p);
}

/* ------------------------------------------------------------- destruction */

Test(segment, destroy_removes_the_files)
{
	struct cm_err err = { 0 };
	char id[33], p[160];
	uint64_t good;

	make_seg(id, skey, 3, 3, len_small, 0);
	recover(id, 0);
	cr_assert_eq(cm_seg_destroy(sdir, id, &err), 0, "%s", err.msg);
	path_of(p, sizeof p, id, ".key");
	cr_expect(!exists(p));
	path_of(p, sizeof p, id, ".seg");
	cr_expect(!exists(p));
	path_of(p, sizeof p, id, ".closed");
	cr_expect(!exists(p));
	cr_expect_eq(read_seg(id, skey, 3, len_small, &good, &err), OPEN_FAILED);
	cr_expect_eq(err.code, CM_E_NOINPUT);
	cr_expect_eq(cm_seg_destroy(sdir, id, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_NOINPUT);

	/* A closed one, and a segment whose key file is already gone. */
	make_seg(id, skey, 3, 3, len_small, 1);
	cr_assert_eq(cm_seg_destroy(sdir, id, &err), 0, "%s", err.msg);
	cr_expect_eq(read_seg(id, skey, 3, len_small, &good, &err), OPEN_FAILED);
	cr_expect_eq(err.code, CM_E_NOINPUT);
	make_seg(id, skey, 3, 3, len_small, 1);
	path_of(p, sizeof p, id, ".key");
	cr_assert_eq(unlink(p), 0);
	cr_expect_eq(read_seg(id, skey, 3, len_small, &good, &err), OPEN_FAILED);
	cr_expect_eq(err.code, CM_E_NOINPUT);
	cr_assert_eq(cm_seg_destroy(sdir, id, &err), 0, "%s", err.msg);
	path_of(p, sizeof p, id, ".seg");
	cr_expect(!exists(p));
}

Test(segment, destroy_leaves_other_segments)
{
	struct cm_err err = { 0 };
	char a[33], b[33];
	uint64_t good;

	make_seg(a, skey, 1, 2, len_small, 1);
	make_seg(b, skey, 2, 2, len_small, 1);
	cr_assert_eq(cm_seg_destroy(sdir, a, &err), 0);
	cr_expect_eq(read_seg(b, skey, 2, len_small, &good, &err), CM_SEG_END);
	cr_expect_eq(good, 2);
}
