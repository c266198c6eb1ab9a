/*
 * \summary: gzip (RFC 1952, zlib) and zstd (RFC 8878, libzstd) inputs,
 * decompressed as streams in bounded memory
 *
 * A gzip file may hold several members one after another (gzip a b > c,
 * cat x.gz y.gz); a zstd file several frames, some of them skippable
 * (pzstd, seekable archives). Both are read as one stream. Anything after
 * a member that is not another member is corrupt data, not ignored: it
 * could be records.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "cdrmin/decomp.h"

int cm_z_detect(const void *p, size_t n, int eof)
{
	static const unsigned char gz[2] = {0x1f, 0x8b};
	static const unsigned char zs[4] = {0x28, 0xb5, 0x2f, 0xfd};
	static const unsigned char skip[3] = {0x2a, 0x4d, 0x18}; /* after 0x50..0x5f */
	const unsigned char *b = p;
	size_t k;

	if (n >= 2 && memcmp(b, gz, 2) == 0)
		return CM_Z_GZIP;
	if (n >= 4 && (memcmp(b, zs, 4) == 0 || ((b[0] & 0xf0) == 0x50 && memcmp(b + 1, skip, 3) == 0)))
		return CM_Z_ZSTD;
	if (eof || n >= CM_Z_SNIFF)
		return CM_Z_NONE;
	/* Fewer than 4 bytes: are they the start of a magic number? */
	if (n == 0)
		return CM_NEED_MORE;
	if (b[0] == gz[0])
		return n == 1 ? CM_NEED_MORE : CM_Z_NONE;
	if (memcmp(b, zs, n) == 0)
		return CM_NEED_MORE;
	if ((b[0] & 0xf0) == 0x50) {
		for (k = 1; k < n; k++)
			if (b[k] != skip[k - 1])
				return CM_Z_NONE;
		return CM_NEED_MORE;
	}
	return CM_Z_NONE;
}

const char *cm_z_name(enum cm_zkind kind)
{
	return kind == CM_Z_GZIP ? "gzip" : kind == CM_Z_ZSTD ? "zstd" : "none";
}

struct cm_z {
	enum cm_zkind kind;
	z_stream zs;
	ZSTD_DCtx *zd;
	int in_unit;       /* inside a member or frame whose end has not been seen */
	uint64_t members;  /* gzip members ended */
	uint64_t in, out;  /* bytes consumed and written */
	int dead;          /* a fault was reported: nothing more is decoded */
};

struct cm_z *cm_z_new(enum cm_zkind kind, struct cm_err *err)
{
	struct cm_z *z = calloc(1, sizeof *z);

	if (!z) {
		cm_err_set(err, CM_E_NOMEM, "out of memory");
		return NULL;
	}
	z->kind = kind;
	if (kind == CM_Z_GZIP) {
		/* 16 + 15: gzip wrapper only, the largest window deflate has */
		if (inflateInit2(&z->zs, 16 + MAX_WBITS) != Z_OK) {
			free(z);
			cm_err_set(err, CM_E_NOMEM, "out of memory for the gzip decoder");
			return NULL;
		}
	} else if (kind == CM_Z_ZSTD) {
		z->zd = ZSTD_createDCtx();
		if (!z->zd || ZSTD_isError(ZSTD_DCtx_setParameter(z->zd, ZSTD_d_windowLogMax,
								    CM_Z_ZSTD_WINDOW_LOG_MAX))) {
			ZSTD_freeDCtx(z->zd);
			free(z);
			cm_err_set(err, CM_E_NOMEM, "out of memory for the zstd decoder");
			return NULL;
		}
	} else {
		free(z);
		cm_err_set(err, CM_E_INTERNAL, "no decompressor for kind %d", (int)kind);
		return NULL;
	}
	return z;
}

void cm_z_free(struct cm_z *z)
{
	if (!z)
		return;
	if (z->kind == CM_Z_GZIP)
		inflateEnd(&z->zs);
	ZSTD_freeDCtx(z->zd);
	free(z);
}

uint64_t cm_z_bytes_in(const struct cm_z *z)
{
	return z->in;
}

uint64_t cm_z_bytes_out(const struct cm_z *z)
{
	return z->out;
}

static int fault(struct cm_z *z, const char *why, struct cm_err *err)
{
	z->dead = 1;
	if (z->kind == CM_Z_GZIP)
		return cm_err_set(err, CM_E_DATA,
				  "gzip data corrupt in member %llu, at compressed offset %llu "
				  "(decompressed offset %llu): %s",
				  (unsigned long long)z->members + 1, (unsigned long long)z->in,
				  (unsigned long long)z->out, why);
	return cm_err_set(err, CM_E_DATA,
			  "zstd data corrupt at compressed offset %llu (decompressed offset %llu): %s",
			  (unsigned long long)z->in, (unsigned long long)z->out, why);
}

static int gz_run(struct cm_z *z, const unsigned char *in, size_t inlen, size_t *used,
		  unsigned char *out, size_t outcap, size_t *made, struct cm_err *err)
{
	for (;;) {
		size_t ain = inlen - *used, aout = outcap - *made, u, m;
		int rc;

		if (aout == 0)
			return 0;
		if (!z->in_unit) {
			if (ain == 0)
				return 0;
			/* the next member: its header must be a gzip header (zlib checks it) */
			if (z->members && inflateReset(&z->zs) != Z_OK)
				return fault(z, "cannot reset the decoder", err);
			z->in_unit = 1;
		}
		z->zs.next_in = (Bytef *)(uintptr_t)(in + *used); /* zlib's API is not const */
		z->zs.avail_in = ain > UINT_MAX ? UINT_MAX : (uInt)ain;
		z->zs.next_out = out + *made;
		z->zs.avail_out = aout > UINT_MAX ? UINT_MAX : (uInt)aout;
		rc = inflate(&z->zs, Z_NO_FLUSH);
		u = (size_t)(z->zs.next_in - (in + *used));
		m = (size_t)(z->zs.next_out - (out + *made));
		*used += u;
		*made += m;
		z->in += u;
		z->out += m;
		switch (rc) {
		case Z_STREAM_END:
			z->in_unit = 0;
			z->members++;
			break;
		case Z_OK:
			if (u == 0 && m == 0)
				return 0;
			break;
		case Z_BUF_ERROR: /* no progress possible: needs input (or room) */
			return 0;
		case Z_MEM_ERROR:
			z->dead = 1;
			return cm_err_set(err, CM_E_NOMEM, "out of memory in the gzip decoder");
		default:
			return fault(z, z->zs.msg ? z->zs.msg : "invalid data", err);
		}
	}
}

static int zstd_run(struct cm_z *z, const unsigned char *in, size_t inlen, size_t *used,
		    unsigned char *out, size_t outcap, size_t *made, struct cm_err *err)
{
	ZSTD_inBuffer ib = {in, inlen, 0};
	ZSTD_outBuffer ob = {out, outcap, 0};

	while (ob.pos < ob.size) {
		size_t pin = ib.pos, pout = ob.pos;
		size_t r = ZSTD_decompressStream(z->zd, &ob, &ib);

		z->in += ib.pos - pin;
		z->out += ob.pos - pout;
		*used = ib.pos;
		*made = ob.pos;
		if (ZSTD_isError(r)) {
			if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge)
				return fault(z, "the frame asks for a window larger than 128 MiB "
						"(zstd --long=28 or more); refused, to bound memory", err);
			if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation) {
				z->dead = 1;
				return cm_err_set(err, CM_E_NOMEM, "out of memory in the zstd decoder");
			}
			return fault(z, ZSTD_getErrorName(r), err);
		}
		if (ib.pos == pin && ob.pos == pout)
			break;
		/* 0: a frame ended and all of it was written; the next byte starts another */
		z->in_unit = r != 0;
		if (ib.pos == ib.size && r != 0 && ob.pos < ob.size)
			break;
	}
	return 0;
}

int cm_z_run(struct cm_z *z, const void *in, size_t inlen, size_t *used, void *out, size_t outcap,
	     size_t *made, struct cm_err *err)
{
	*used = 0;
	*made = 0;
	if (z->dead)
		return cm_err_set(err, CM_E_DATA, "%s data: read after a fault", cm_z_name(z->kind));
	if (z->kind == CM_Z_GZIP)
		return gz_run(z, in, inlen, used, out, outcap, made, err);
	return zstd_run(z, in, inlen, used, out, outcap, made, err);
}

int cm_z_finish(struct cm_z *z, struct cm_err *err)
{
	if (z->dead)
		return cm_err_set(err, CM_E_DATA, "%s data: read after a fault", cm_z_name(z->kind));
	if (!z->in_unit)
		return 0;
	z->dead = 1;
	return cm_err_set(err, CM_E_DATA,
			  "%s data truncated: the input ends inside a %s, at compressed offset %llu "
			  "(decompressed offset %llu)",
			  cm_z_name(z->kind), z->kind == CM_Z_GZIP ? "member" : "frame",
			  (unsigned long long)z->in, (unsigned long long)z->out);
}

/* ---------------------------------------------------------------- stdio */

#define ZF_IN (64 * 1024)

struct cm_zfile {
	int fd, owned;
	int sniffed;
	enum cm_zkind kind;
	struct cm_z *z;
	unsigned char *in;
	size_t in_start, in_end;
	int in_eof;
	uint64_t bytes_in;
	int failed;  /* sticky: every later read fails with fail_errno */
	int fail_errno;
	char error[CM_ERR_MSG];
};

static ssize_t zf_fail(struct cm_zfile *zf, int e, const char *msg)
{
	zf->failed = 1;
	zf->fail_errno = e;
	snprintf(zf->error, sizeof zf->error, "%s", msg);
	errno = e;
	return -1;
}

/* Reads more of fd into the input buffer (empty or holding the sniffed bytes). 1, 0 at the end, -1. */
static int zf_more(struct cm_zfile *zf)
{
	ssize_t k;

	if (zf->in_start == zf->in_end)
		zf->in_start = zf->in_end = 0;
	/* EINTR is not retried: a stop signal must be able to end a read of stdin */
	k = read(zf->fd, zf->in + zf->in_end, ZF_IN - zf->in_end);
	if (k < 0) {
		if (errno == EINTR)
			return -1;
		zf_fail(zf, errno, strerror(errno));
		return -1;
	}
	if (k == 0) {
		zf->in_eof = 1;
		return 0;
	}
	zf->in_end += (size_t)k;
	zf->bytes_in += (uint64_t)k;
	return 1;
}

static ssize_t zf_read(void *cookie, char *buf, size_t size)
{
	struct cm_zfile *zf = cookie;
	struct cm_err e = {0};

	if (zf->failed) {
		errno = zf->fail_errno;
		return -1;
	}
	while (!zf->sniffed) {
		int d = cm_z_detect(zf->in, zf->in_end, zf->in_eof);

		if (d != CM_NEED_MORE) {
			zf->sniffed = 1;
			zf->kind = (enum cm_zkind)d;
			if (zf->kind != CM_Z_NONE) {
				zf->z = cm_z_new(zf->kind, &e);
				if (!zf->z)
					return zf_fail(zf, ENOMEM, e.msg);
			}
			break;
		}
		if (zf_more(zf) < 0)
			return -1;
	}
	if (!zf->z) {
		ssize_t k;

		if (zf->in_start < zf->in_end) {
			size_t n = zf->in_end - zf->in_start < size ? zf->in_end - zf->in_start : size;

			memcpy(buf, zf->in + zf->in_start, n);
			zf->in_start += n;
			return (ssize_t)n;
		}
		if (zf->in_eof)
			return 0;
		k = read(zf->fd, buf, size);
		if (k < 0 && errno != EINTR)
			return zf_fail(zf, errno, strerror(errno));
		if (k > 0)
			zf->bytes_in += (uint64_t)k;
		return k;
	}
	for (;;) {
		size_t used, made;
		int rc;

		if (zf->in_start == zf->in_end && !zf->in_eof && zf_more(zf) < 0)
			return -1;
		rc = cm_z_run(zf->z, zf->in + zf->in_start, zf->in_end - zf->in_start, &used, buf, size,
			      &made, &e);
		zf->in_start += used;
		if (rc != 0 && made == 0)
			return zf_fail(zf, e.code == CM_E_NOMEM ? ENOMEM : EIO, e.msg);
		if (rc != 0) {
			/* the bytes before the fault first; the next read fails */
			zf_fail(zf, e.code == CM_E_NOMEM ? ENOMEM : EIO, e.msg);
		}
		if (made > 0)
			return (ssize_t)made;
		if (zf->in_start == zf->in_end && zf->in_eof) {
			if (cm_z_finish(zf->z, &e) != 0)
				return zf_fail(zf, EIO, e.msg);
			return 0;
		}
		if (used == 0 && zf->in_start < zf->in_end)
			return zf_fail(zf, EIO, "the decompressor made no progress");
	}
}

static int zf_close(void *cookie)
{
	struct cm_zfile *zf = cookie;
	int rc = 0;

	cm_z_free(zf->z);
	if (zf->owned && close(zf->fd) != 0)
		rc = -1;
	free(zf->in);
	free(zf);
	return rc;
}

FILE *cm_zfile_open(int fd, int owned, struct cm_zfile **zfp, struct cm_err *err)
{
	static const cookie_io_functions_t io = {.read = zf_read, .close = zf_close};
	struct cm_zfile *zf = calloc(1, sizeof *zf);
	FILE *fp;

	if (zf)
		zf->in = malloc(ZF_IN);
	if (!zf || !zf->in) {
		if (zf)
			free(zf->in);
		free(zf);
		cm_err_set(err, CM_E_NOMEM, "out of memory");
		return NULL;
	}
	zf->fd = fd;
	zf->owned = owned;
	fp = fopencookie(zf, "r", io);
	if (!fp) {
		free(zf->in);
		free(zf);
		cm_err_set(err, CM_E_NOMEM, "out of memory");
		return NULL;
	}
	/* stdio's default 8 KiB would mean a read (or a decompressor call) per 8 KiB */
	(void)setvbuf(fp, NULL, _IOFBF, ZF_IN);
	*zfp = zf;
	return fp;
}

const char *cm_zfile_error(const struct cm_zfile *zf)
{
	return zf->error;
}

uint64_t cm_zfile_bytes_in(const struct cm_zfile *zf)
{
	return zf->bytes_in;
}

enum cm_zkind cm_zfile_kind(const struct cm_zfile *zf)
{
	return zf->kind;
}
