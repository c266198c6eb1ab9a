/*
 * Unit tests: compressed inputs (src/decomp.c). The compressed data is made
 * here with zlib and libzstd, so each case knows its exact plaintext.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>

#include "cdrmin/decomp.h"

TestSuite(decomp);

struct blob {
	unsigned char *p;
	size_t n, cap;
};

static void blob_add(struct blob *b, const void *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		cr_assert_not_null(b->p);
	}
	if (n)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

/* One gzip member of p[0..n). */
static void gz_member(struct blob *out, const void *p, size_t n)
{
	z_stream zs;
	unsigned char buf[4096];
	int rc;

	memset(&zs, 0, sizeof zs);
	cr_assert_eq(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = buf;
		zs.avail_out = sizeof buf;
		rc = deflate(&zs, Z_FINISH);
		cr_assert(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
		blob_add(out, buf, sizeof buf - zs.avail_out);
	} while (rc != Z_STREAM_END);
	deflateEnd(&zs);
}

/*
 * One zstd frame of p[0..n) with the given window log (0: the default),
 * streamed without a known size, so that the frame header keeps the window.
 */
static void zstd_frame(struct blob *out, const void *p, size_t n, int wlog)
{
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	unsigned char buf[4096];
	ZSTD_inBuffer ib = {p, n, 0};
	size_t left;

	cr_assert_not_null(cc);
	if (wlog)
		cr_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_windowLog, wlog)));
	do {
		ZSTD_outBuffer ob = {buf, sizeof buf, 0};

		left = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue);
		cr_assert(!ZSTD_isError(left));
		blob_add(out, buf, ob.pos);
	} while (ib.pos < ib.size);
	do {
		ZSTD_outBuffer ob = {buf, sizeof buf, 0};

		left = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);
		cr_assert(!ZSTD_isError(left));
		blob_add(out, buf, ob.pos);
	} while (left != 0);
	ZSTD_freeCCtx(cc);
}

/* Some CDR-like text: n lines, repetitive enough to compress, not trivially. */
static void text(struct blob *out, int lines)
{
	char line[128];
	int i;

	for (i = 0; i < lines; i++) {
		int k = snprintf(line, sizeof line, "%d,+4420794600%02d,077009000%02d,2024-01-%02d 10:%02d:00,%d\n",
				 i, i % 100, (i * 7) % 100, 1 + i % 28, i % 60, (i * 37) % 600);

		blob_add(out, line, (size_t)k);
	}
}

/*
 * Decompresses c[0..n) feeding at most inchunk bytes and giving at most
 * outchunk bytes of room per call; the output goes to *out. Returns 0, or
 * CM_FAIL with err set (from cm_z_run or cm_z_finish).
 */
static int inflate_all(enum cm_zkind kind, const struct blob *c, size_t inchunk, size_t outchunk,
		       struct blob *out, struct cm_err *err)
{
	struct cm_z *z = cm_z_new(kind, err);
	unsigned char buf[65536];
	size_t off = 0;
	int rc = 0;

	cr_assert_not_null(z);
	cr_assert_leq(outchunk, sizeof buf);
	for (;;) {
		size_t in = c->n - off < inchunk ? c->n - off : inchunk, used, made;

		rc = cm_z_run(z, c->p + off, in, &used, buf, outchunk, &made, err);
		cr_assert_leq(used, in);
		cr_assert_leq(made, outchunk);
		off += used;
		blob_add(out, buf, made);
		if (rc != 0)
			break;
		if (in > 0)
			cr_assert(used > 0 || made > 0, "no progress at %zu", off);
		if (in == 0 && made == 0) {
			rc = cm_z_finish(z, err);
			break;
		}
	}
	if (rc == 0) {
		cr_expect_eq(cm_z_bytes_in(z), c->n);
		cr_expect_eq(cm_z_bytes_out(z), out->n);
	}
	cm_z_free(z);
	return rc;
}

Test(decomp, detect)
{
	static const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00};
	static const unsigned char zs[] = {0x28, 0xb5, 0x2f, 0xfd};
	static const unsigned char skip[] = {0x5e, 0x2a, 0x4d, 0x18};

	cr_expect_eq(cm_z_detect(gz, 4, 0), CM_Z_GZIP);
	cr_expect_eq(cm_z_detect(gz, 2, 0), CM_Z_GZIP);
	cr_expect_eq(cm_z_detect(gz, 1, 0), CM_NEED_MORE);
	cr_expect_eq(cm_z_detect(gz, 1, 1), CM_Z_NONE);
	cr_expect_eq(cm_z_detect(zs, 4, 0), CM_Z_ZSTD);
	cr_expect_eq(cm_z_detect(zs, 3, 0), CM_NEED_MORE);
	cr_expect_eq(cm_z_detect(zs, 3, 1), CM_Z_NONE);
	cr_expect_eq(cm_z_detect(skip, 4, 0), CM_Z_ZSTD);
	cr_expect_eq(cm_z_detect(skip, 2, 0), CM_NEED_MORE);
	cr_expect_eq(cm_z_detect("", 0, 0), CM_NEED_MORE);
	cr_expect_eq(cm_z_detect("", 0, 1), CM_Z_NONE);
	/* CSV starting with letters that begin a magic number's range */
	cr_expect_eq(cm_z_detect("Start,src", 9, 0), CM_Z_NONE);
	cr_expect_eq(cm_z_detect("S", 1, 0), CM_NEED_MORE);
	cr_expect_eq(cm_z_detect("St", 2, 0), CM_Z_NONE);
	cr_expect_eq(cm_z_detect("(\xb5x", 3, 0), CM_Z_NONE);
	cr_expect_eq(cm_z_detect("\x1f\x8c", 2, 0), CM_Z_NONE);
	cr_expect_eq(cm_z_detect("a,b\n", 4, 0), CM_Z_NONE);
	cr_expect_str_eq(cm_z_name(CM_Z_GZIP), "gzip");
	cr_expect_str_eq(cm_z_name(CM_Z_ZSTD), "zstd");
}

/* Whole, in 1-byte pieces both ways, and in odd chunks: always the same bytes. */
static void roundtrip(enum cm_zkind kind, const struct blob *c, const struct blob *plain)
{
	static const size_t chunks[][2] = {{1u << 20, 65536}, {1, 1}, {1, 65536}, {1u << 20, 1}, {7, 13}, {4093, 511}};
	size_t i;

	for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		struct blob out = {0};
		struct cm_err err = {0};

		cr_assert_eq(inflate_all(kind, c, chunks[i][0], chunks[i][1], &out, &err), 0,
			     "%s in %zu/%zu: %s", cm_z_name(kind), chunks[i][0], chunks[i][1], err.msg);
		cr_assert_eq(out.n, plain->n, "%s in %zu/%zu: %zu bytes, expected %zu", cm_z_name(kind),
			     chunks[i][0], chunks[i][1], out.n, plain->n);
		cr_assert(memcmp(out.p, plain->p, plain->n) == 0);
		free(out.p);
	}
}

Test(decomp, gzip_members)
{
	struct blob a = {0}, b = {0}, plain = {0}, c = {0};

	text(&a, 2000);
	text(&b, 37);
	blob_add(&plain, a.p, a.n);
	blob_add(&plain, b.p, b.n);
	/* a member, an empty member (gzip < /dev/null), another member: cat x.gz y.gz */
	gz_member(&c, a.p, a.n);
	gz_member(&c, "", 0);
	gz_member(&c, b.p, b.n);
	roundtrip(CM_Z_GZIP, &c, &plain);
	free(a.p), free(b.p), free(plain.p), free(c.p);
}

Test(decomp, zstd_frames)
{
	/* a skippable frame (pzstd writes them) of 4 bytes: magic 0x184D2A55, size 4 */
	static const unsigned char skip[] = {0x55, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 'x', 'y', 'z', 'w'};
	struct blob a = {0}, b = {0}, plain = {0}, c = {0};

	text(&a, 3000);
	text(&b, 5);
	blob_add(&plain, a.p, a.n);
	blob_add(&plain, b.p, b.n);
	blob_add(&c, skip, sizeof skip);
	zstd_frame(&c, a.p, a.n, 0);
	blob_add(&c, skip, sizeof skip);
	zstd_frame(&c, "", 0, 0);
	zstd_frame(&c, b.p, b.n, 0);
	roundtrip(CM_Z_ZSTD, &c, &plain);
	free(a.p), free(b.p), free(plain.p), free(c.p);
}

/*
 * Cut at every length: the stream is truncated (never silently short), the
 * message gives both offsets, and what came out is a prefix of the text.
 */
static void cut_everywhere(enum cm_zkind kind, const struct blob *c, const struct blob *plain)
{
	size_t cut;

	for (cut = 1; cut < c->n; cut++) {
		struct blob part = {c->p, cut, 0}, out = {0};
		struct cm_err err = {0};
		char want[64];

		cr_assert_eq(inflate_all(kind, &part, 1u << 20, 65536, &out, &err), CM_FAIL,
			     "%s cut at %zu: no error", cm_z_name(kind), cut);
		cr_assert_eq(err.code, CM_E_DATA);
		cr_assert_leq(out.n, plain->n);
		cr_assert(out.n == 0 || memcmp(out.p, plain->p, out.n) == 0);
		snprintf(want, sizeof want, "compressed offset %zu (decompressed offset %zu)", cut, out.n);
		cr_assert(strstr(err.msg, want) != NULL, "cut at %zu: '%s' lacks '%s'", cut, err.msg, want);
		cr_assert(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
		free(out.p);
	}
}

Test(decomp, truncated)
{
	struct blob plain = {0}, g = {0}, z = {0};

	text(&plain, 60);
	gz_member(&g, plain.p, plain.n);
	zstd_frame(&z, plain.p, plain.n, 0);
	cut_everywhere(CM_Z_GZIP, &g, &plain);
	cut_everywhere(CM_Z_ZSTD, &z, &plain);
	free(plain.p), free(g.p), free(z.p);
}

Test(decomp, corrupt_gzip)
{
	struct blob plain = {0}, c = {0}, out = {0};
	struct cm_err err = {0};
	size_t at;

	text(&plain, 4000);
	gz_member(&c, plain.p, plain.n);
	at = c.n / 2;
	c.p[at] ^= 0xff;
	c.p[at + 1] ^= 0x5a;
	cr_assert_eq(inflate_all(CM_Z_GZIP, &c, 4096, 65536, &out, &err), CM_FAIL);
	cr_expect_eq(err.code, CM_E_DATA);
	cr_expect(strstr(err.msg, "gzip data corrupt in member 1, at compressed offset ") != NULL, "%s",
		  err.msg);
	cr_expect(strstr(err.msg, "(decompressed offset ") != NULL, "%s", err.msg);
	/* what came out before the fault is the text's start (a damaged block may mislead
	   a decoder for some bytes before it notices, so only a prefix up to well before) */
	cr_assert_gt(out.n, 1000);
	cr_expect(memcmp(out.p, plain.p, 1000) == 0);
	free(plain.p), free(c.p), free(out.p);
}

Test(decomp, corrupt_zstd)
{
	struct blob plain = {0}, c = {0}, out = {0};
	struct cm_err err = {0};

	text(&plain, 4000);
	zstd_frame(&c, plain.p, plain.n, 0);
	/* no content checksum by default: damage the middle of the compressed blocks */
	c.p[c.n / 2] ^= 0xff;
	c.p[c.n / 2 + 1] ^= 0xff;
	c.p[c.n / 2 + 2] ^= 0xff;
	/* zstd may or may not notice bit errors in literals; damaged sequences it does */
	if (inflate_all(CM_Z_ZSTD, &c, 4096, 65536, &out, &err) == CM_FAIL) {
		cr_expect_eq(err.code, CM_E_DATA);
		cr_expect(strstr(err.msg, "zstd data corrupt at compressed offset ") != NULL, "%s", err.msg);
	}
	free(out.p);
	/* a frame magic followed by garbage is always noticed */
	memset(c.p + 4, 0xff, 64);
	out = (struct blob){0};
	cr_assert_eq(inflate_all(CM_Z_ZSTD, &c, 4096, 65536, &out, &err), CM_FAIL);
	cr_expect(strstr(err.msg, "zstd data corrupt at compressed offset ") != NULL, "%s", err.msg);
	cr_expect_eq(out.n, 0);
	free(plain.p), free(c.p), free(out.p);
}

/* Bytes after the last member that do not start another are an error, not ignored. */
Test(decomp, trailing_garbage)
{
	struct blob plain = {0}, c = {0}, out = {0};
	struct cm_err err = {0};
	char want[64];
	size_t member;

	text(&plain, 10);
	gz_member(&c, plain.p, plain.n);
	member = c.n;
	blob_add(&c, "1,x,y\n", 6);
	cr_assert_eq(inflate_all(CM_Z_GZIP, &c, 1u << 20, 65536, &out, &err), CM_FAIL);
	cr_expect(strstr(err.msg, "in member 2") != NULL, "%s", err.msg);
	snprintf(want, sizeof want, "(decompressed offset %zu)", plain.n);
	cr_expect(strstr(err.msg, want) != NULL, "%s", err.msg);
	cr_expect_eq(out.n, plain.n);
	(void)member;
	free(c.p), free(out.p);

	/* zstd: the same */
	c = (struct blob){0};
	out = (struct blob){0};
	zstd_frame(&c, plain.p, plain.n, 0);
	blob_add(&c, "1,x,y\n", 6);
	cr_assert_eq(inflate_all(CM_Z_ZSTD, &c, 1u << 20, 65536, &out, &err), CM_FAIL);
	cr_expect(strstr(err.msg, "zstd data corrupt") != NULL, "%s", err.msg);
	cr_expect_eq(out.n, plain.n);
	free(plain.p), free(c.p), free(out.p);
}

/* A frame that asks for more than a 128 MiB window is refused before any allocation. */
Test(decomp, zstd_window_limit)
{
	struct blob plain = {0}, big = {0}, ok = {0}, out = {0};
	struct cm_err err = {0};

	text(&plain, 100);
	zstd_frame(&big, plain.p, plain.n, CM_Z_ZSTD_WINDOW_LOG_MAX + 1);
	cr_assert_eq(inflate_all(CM_Z_ZSTD, &big, 1u << 20, 65536, &out, &err), CM_FAIL);
	cr_expect(strstr(err.msg, "window larger than 128 MiB") != NULL, "%s", err.msg);
	cr_expect_eq(out.n, 0);
	free(out.p);
	out = (struct blob){0};
	zstd_frame(&ok, plain.p, plain.n, CM_Z_ZSTD_WINDOW_LOG_MAX);
	cr_assert_eq(inflate_all(CM_Z_ZSTD, &ok, 1u << 20, 65536, &out, &err), 0, "%s", err.msg);
	cr_expect_eq(out.n, plain.n);
	free(plain.p), free(big.p), free(ok.p), free(out.p);
}

/*
 * A bomb: 256 MiB of zeros in a few hundred KiB. Decoded through a 64 KiB
 * buffer it never needs more than that buffer; each call writes at most the
 * room it is given (inflate_all checks), and the count comes out exact.
 */
Test(decomp, bomb_streams, .timeout = 60)
{
	static unsigned char zeros[1 << 20];
	struct blob c = {0};
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	unsigned char buf[65536];
	struct cm_z *z;
	struct cm_err err = {0};
	uint64_t total = 0;
	size_t off = 0;
	int i;

	for (i = 0; i < 256; i++) {
		ZSTD_inBuffer ib = {zeros, sizeof zeros, 0};

		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = {buf, sizeof buf, 0};

			cr_assert(!ZSTD_isError(ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_continue)));
			blob_add(&c, buf, ob.pos);
		}
	}
	for (;;) {
		ZSTD_inBuffer ib = {NULL, 0, 0};
		ZSTD_outBuffer ob = {buf, sizeof buf, 0};
		size_t left = ZSTD_compressStream2(cc, &ob, &ib, ZSTD_e_end);

		cr_assert(!ZSTD_isError(left));
		blob_add(&c, buf, ob.pos);
		if (!left)
			break;
	}
	ZSTD_freeCCtx(cc);
	cr_assert_lt(c.n, 1 << 20);
	z = cm_z_new(CM_Z_ZSTD, &err);
	cr_assert_not_null(z);
	for (;;) {
		size_t used, made;

		cr_assert_eq(cm_z_run(z, c.p + off, c.n - off, &used, buf, sizeof buf, &made, &err), 0);
		off += used;
		total += made;
		if (!used && !made)
			break;
	}
	cr_expect_eq(cm_z_finish(z, &err), 0);
	cr_expect_eq(total, 256ull << 20);
	cm_z_free(z);
	free(c.p);
}

/* The stdio stream: compressed or not, fread gives the text; a cut shows as an error. */
static FILE *tmp_with(const struct blob *b, int *fd)
{
	FILE *t = tmpfile();

	cr_assert_not_null(t);
	cr_assert_eq(fwrite(b->p, 1, b->n, t), b->n);
	cr_assert_eq(fflush(t), 0);
	*fd = dup(fileno(t));
	cr_assert_geq(*fd, 0);
	cr_assert_eq(lseek(*fd, 0, SEEK_SET), 0);
	return t;
}

static void read_through(const struct blob *file, const struct blob *plain, enum cm_zkind kind)
{
	struct cm_zfile *zf;
	struct cm_err err = {0};
	struct blob out = {0};
	char buf[1000];
	size_t k;
	int fd;
	FILE *t = tmp_with(file, &fd), *fp = cm_zfile_open(fd, 1, &zf, &err);

	cr_assert_not_null(fp, "%s", err.msg);
	while ((k = fread(buf, 1, sizeof buf, fp)) > 0)
		blob_add(&out, buf, k);
	cr_expect(!ferror(fp));
	cr_expect_str_eq(cm_zfile_error(zf), "");
	cr_expect_eq(cm_zfile_kind(zf), kind);
	cr_expect_eq(cm_zfile_bytes_in(zf), file->n);
	cr_assert_eq(out.n, plain->n);
	cr_expect(memcmp(out.p, plain->p, out.n) == 0);
	fclose(fp);
	fclose(t);
	free(out.p);
}

Test(decomp, zfile)
{
	struct blob plain = {0}, g = {0}, z = {0}, cut = {0};
	struct cm_zfile *zf;
	struct cm_err err = {0};
	char buf[1000];
	size_t k, total = 0;
	int fd;
	FILE *t, *fp;

	text(&plain, 5000);
	gz_member(&g, plain.p, plain.n);
	zstd_frame(&z, plain.p, plain.n, 0);
	read_through(&plain, &plain, CM_Z_NONE);
	read_through(&g, &plain, CM_Z_GZIP);
	read_through(&z, &plain, CM_Z_ZSTD);
	/* one byte of plain text, shorter than any magic number */
	cut.p = plain.p;
	cut.n = 1;
	read_through(&cut, &cut, CM_Z_NONE);

	cut.p = g.p;
	cut.n = g.n - 4; /* inside the trailer: every byte of text is there, the length is not */
	t = tmp_with(&cut, &fd);
	fp = cm_zfile_open(fd, 1, &zf, &err);
	cr_assert_not_null(fp);
	while ((k = fread(buf, 1, sizeof buf, fp)) > 0)
		total += k;
	cr_expect(ferror(fp));
	cr_expect(strstr(cm_zfile_error(zf), "gzip data truncated") != NULL, "%s", cm_zfile_error(zf));
	cr_expect_eq(total, plain.n); /* every byte came out; only the check failed */
	fclose(fp);
	fclose(t);
	free(plain.p), free(g.p), free(z.p);
}
