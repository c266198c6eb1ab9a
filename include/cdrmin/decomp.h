/*
 * cdrmin: compressed inputs (gzip, zstd), recognised by their first bytes.
 *
 * Operators keep years of CDR archives compressed. An input whose first
 * bytes are a gzip or zstd magic number is decompressed in-process, as a
 * stream: concatenated gzip members and consecutive zstd frames (skippable
 * frames skipped) are one stream, as gzip -dc and zstd -dc read them. The
 * name of a file plays no part.
 *
 * Memory is bounded whatever the data: the caller gives the output buffer,
 * gzip needs a 32 KiB window, and a zstd frame asking for a window larger
 * than CM_Z_ZSTD_WINDOW_LOG_MAX is refused (a decompression bomb costs time,
 * never memory). A fault (corrupt data, data after the last member that is
 * not another member, a stream cut short) is reported with its offset in
 * the compressed input and in the decompressed output; the bytes produced
 * before it are valid.
 */
#ifndef CDRMIN_DECOMP_H
#define CDRMIN_DECOMP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cdrmin/err.h"

enum cm_zkind { CM_Z_NONE = 0, CM_Z_GZIP, CM_Z_ZSTD };

/* Bytes that always decide cm_z_detect. */
#define CM_Z_SNIFF 4

/* zstd frames may use windows up to 2^27 bytes (128 MiB, zstd --long's default). */
#define CM_Z_ZSTD_WINDOW_LOG_MAX 27

/*
 * What p[0..n) starts with: CM_Z_GZIP (1f 8b), CM_Z_ZSTD (a zstd frame,
 * 28 b5 2f fd, or a skippable frame, 5? 2a 4d 18), or CM_Z_NONE; or
 * CM_NEED_MORE when the n bytes are the start of one of those and more
 * bytes would decide (never when eof: then it is CM_Z_NONE).
 */
int cm_z_detect(const void *p, size_t n, int eof);

/* "gzip", "zstd" or "none". */
const char *cm_z_name(enum cm_zkind kind);

struct cm_z;

/* A decompressor for kind (CM_Z_GZIP or CM_Z_ZSTD). CM_E_NOMEM, CM_E_INTERNAL. */
struct cm_z *cm_z_new(enum cm_zkind kind, struct cm_err *err);

/*
 * Decompresses from in[0..inlen) into out[0..outcap): *used is set to the
 * input bytes consumed, *made to the output bytes written. With outcap > 0
 * it makes progress (consumes or writes at least one byte) while inlen > 0;
 * with inlen == 0 it writes what it still holds (call until *made is 0
 * before cm_z_finish). Returns 0, or CM_FAIL with err CM_E_DATA: "gzip data
 * corrupt at compressed offset X (decompressed offset Y): reason" (X and Y
 * are 0-based byte offsets where the decompressor stopped); the *made bytes
 * written before the fault are valid, and the stream is dead after it.
 */
int cm_z_run(struct cm_z *z, const void *in, size_t inlen, size_t *used, void *out, size_t outcap,
	     size_t *made, struct cm_err *err);

/*
 * The input has ended: 0 when it ended after a whole member or frame,
 * CM_FAIL with err CM_E_DATA ("gzip data truncated: the input ends inside
 * a member, at compressed offset X (decompressed offset Y)") otherwise.
 */
int cm_z_finish(struct cm_z *z, struct cm_err *err);

/* Input bytes consumed and output bytes written so far. */
uint64_t cm_z_bytes_in(const struct cm_z *z);
uint64_t cm_z_bytes_out(const struct cm_z *z);

/* Frees z; cm_z_free(NULL) does nothing. */
void cm_z_free(struct cm_z *z);

/*
 * A stdio stream over fd for readers that take a FILE * (libpcap): the
 * decompressed data when fd's first bytes are gzip or zstd, fd's bytes as
 * they are otherwise. fclose() frees it and closes fd when owned. A read
 * that meets corrupt or truncated data or a read error fails (ferror, errno
 * EIO or the read's own), and cm_zfile_error then says why (without the
 * name; "" while there was none). *zf stays valid until fclose. Returns
 * NULL with err set (CM_E_NOMEM) on failure; fd is then left open.
 */
struct cm_zfile;
FILE *cm_zfile_open(int fd, int owned, struct cm_zfile **zf, struct cm_err *err);
const char *cm_zfile_error(const struct cm_zfile *zf);
/* Bytes read from fd so far (compressed bytes when compressed). */
uint64_t cm_zfile_bytes_in(const struct cm_zfile *zf);
enum cm_zkind cm_zfile_kind(const struct cm_zfile *zf);

#endif
