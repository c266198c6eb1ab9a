/* \summary: encrypted append-only segments of the retained store */
/*
 * libsodium's secretstream (XChaCha20-Poly1305) for the frames, secretbox
 * (XSalsa20-Poly1305) for the key file and the .closed record, BLAKE2b and
 * crypto_kdf for key derivation, HMAC-SHA-512-256 (crypto_auth) for the
 * header. The byte layouts are in include/cdrmin/segment.h; the offsets
 * below are the authority.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cdrmin/fdio.h"
#include "cdrmin/key.h"
#include "cdrmin/segment.h"

#define MAGIC_BYTES 8
#define SEG_MAGIC "CDRMSEG1"
#define KEY_MAGIC "CDRMKEY1"
#define END_MAGIC "CDRMEND1"
#define SEG_VERSION 1
#define SEGKEY_BYTES crypto_secretstream_xchacha20poly1305_KEYBYTES
#define SS_HEADER_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL

/* Header of IDHEX.seg: every byte before H_MAC is authenticated by the MAC. */
#define H_MAGIC 0
#define H_VERSION 8
#define H_CLS_LEN 9
#define H_PERIOD_LEN 10
#define H_RESERVED 11
#define H_ID 12
#define H_CREATED 28
#define H_CLS 36
#define H_PERIOD (H_CLS + CM_SEG_CLASS_MAX)
#define H_SS (H_PERIOD + CM_SEG_PERIOD_MAX)
#define H_MAC (H_SS + SS_HEADER_BYTES)
#define HDR_BYTES (H_MAC + crypto_auth_BYTES)
_Static_assert(HDR_BYTES == CM_SEG_HEADER_BYTES, "the header layout documented in segment.h");

/* A frame: 4-byte big-endian ciphertext length, then the ciphertext. */
#define LEN_BYTES 4
#define CLEN_MAX ((uint32_t)CM_SEG_FRAME_MAX + ABYTES)
#define AD_BYTES (CM_SEG_ID_BYTES + 8) /* segment id || frame number, big-endian */

/* IDHEX.key: magic, nonce, secretbox(segment id || segment key). */
#define KF_NONCE MAGIC_BYTES
#define KF_BOX (KF_NONCE + crypto_secretbox_NONCEBYTES)
#define KF_PLAIN (CM_SEG_ID_BYTES + SEGKEY_BYTES)
#define KF_BYTES (KF_BOX + crypto_secretbox_MACBYTES + KF_PLAIN)
_Static_assert(KF_BYTES == 96, "the key file layout documented in segment.h");

/* IDHEX.closed: magic, nonce, secretbox(segment id || frames || end offset). */
#define END_NONCE MAGIC_BYTES
#define END_BOX (END_NONCE + crypto_secretbox_NONCEBYTES)
#define END_PLAIN (CM_SEG_ID_BYTES + 8 + 8)
#define END_BYTES (END_BOX + crypto_secretbox_MACBYTES + END_PLAIN)
_Static_assert(END_BYTES == 80, "the .closed layout documented in segment.h");

/*
 * Keys under the store key are BLAKE2b(key = store key, salt = segment id,
 * personal = one of these): one per use, each bound to the segment, so a
 * key file or .closed record of another segment does not open.
 */
#define WRAP_PERSONAL "cdrmin-segkey-v1"
#define END_PERSONAL "cdrmin-segend-v1"
_Static_assert(sizeof WRAP_PERSONAL - 1 == crypto_generichash_blake2b_PERSONALBYTES, "16 bytes");
_Static_assert(sizeof END_PERSONAL - 1 == crypto_generichash_blake2b_PERSONALBYTES, "16 bytes");
_Static_assert(CM_SEG_ID_BYTES == crypto_generichash_blake2b_SALTBYTES, "the id is the salt");

/* Keys under the segment key: crypto_kdf, context "cdrmseg1". */
#define SEG_KDF_CTX "cdrmseg1"
#define SUBKEY_STREAM 1
#define SUBKEY_HEADER 2

#define COPY_CHUNK 65536

/*
 * Everything secret of one segment, in one sodium_malloc block (guarded,
 * locked, out of core dumps, wiped when freed). Byte arrays only: the block
 * starts at (end of page - size), which need not be aligned.
 */
struct secret {
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char segkey[SEGKEY_BYTES]; /* only between load or keygen and init */
	unsigned char k[32];                /* a derived key, only while in use */
	unsigned char endkey[32];           /* read: the .closed key (recover writes with it) */
	unsigned char plain[KF_PLAIN];      /* key file or .closed plaintext, only while in use */
};
_Static_assert(_Alignof(crypto_secretstream_xchacha20poly1305_state) == 1, "byte arrays only");
_Static_assert(END_PLAIN <= KF_PLAIN, "plain holds both");

enum seg_mode { SEG_WRITE = 1, SEG_READ };
enum read_state { RS_READING, RS_END, RS_UNCLOSED, RS_FAULT };

struct cm_seg {
	struct cm_seg_info info;
	enum seg_mode mode;
	int fd;    /* IDHEX.seg: O_WRONLY (write) or O_RDONLY (read) */
	int dirfd; /* the segment's directory */
	struct secret *sec;
	uint64_t frames;  /* write: frames appended; read: good frames read */
	uint64_t durable; /* write: frames covered by the last successful fsync */
	uint64_t pos;     /* byte offset just after the last good frame (or the header) */
	unsigned char *buf; /* one frame's length field and ciphertext (no plaintext) */
	size_t cap;
	int broken;       /* write: a write or fsync failed; nothing more is written */

	/* reading */
	enum read_state rs;
	struct cm_err fault; /* the fault that ended reading (RS_FAULT) */
	int saw_final;
	int has_end;         /* IDHEX.closed was present and authentic */
	uint64_t end_frames; /* ... and records these */
	uint64_t end_pos;
};

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put_be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}


/* fsync of a directory: makes the entries created or removed in it durable. */
static int fsync_dir(int dirfd)
{
	if (fsync(dirfd) == 0)
		return 0;
	/* Some file systems cannot fsync a directory: there is nothing more to do there. */
	return errno == EINVAL ? 0 : -1;
}

int cm_seg_class_ok(const char *s)
{
	size_t n = strnlen(s, CM_SEG_CLASS_MAX + 1), i;

	if (n < 1 || n > CM_SEG_CLASS_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return 0;
	return 1;
}

static int valid_period(const char *s)
{
	size_t n = strnlen(s, CM_SEG_PERIOD_MAX + 1), i;

	if (n < 1 || n > CM_SEG_PERIOD_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* 32 lowercase hex digits, nothing else: the only names that reach openat. */
static int valid_idhex(const char *s)
{
	size_t i;

	for (i = 0; i < 2 * CM_SEG_ID_BYTES; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* name = idhex + suffix. */
static void file_name(char name[64], const char *idhex, const char *suffix)
{
	snprintf(name, 64, "%s%s", idhex, suffix);
}

/* out = BLAKE2b-256(key = store key, salt = id, personal = personal). */
static void store_subkey(unsigned char out[32], const unsigned char store_key[CM_STORE_KEYBYTES],
			 const unsigned char id[CM_SEG_ID_BYTES], const char *personal)
{
	crypto_generichash_blake2b_salt_personal(out, 32, NULL, 0, store_key, CM_STORE_KEYBYTES, id,
						 (const unsigned char *)personal);
}

/* The additional data of frame number no: segment id || no, big-endian. */
static void frame_ad(unsigned char ad[AD_BYTES], const unsigned char id[CM_SEG_ID_BYTES],
		     uint64_t no)
{
	memcpy(ad, id, CM_SEG_ID_BYTES);
	put_be64(ad + CM_SEG_ID_BYTES, no);
}

static struct cm_seg *seg_new(enum seg_mode mode)
{
	struct cm_seg *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	s->sec = sodium_malloc(sizeof *s->sec);
	if (!s->sec) {
		free(s);
		return NULL;
	}
	sodium_memzero(s->sec, sizeof *s->sec);
	s->mode = mode;
	s->fd = s->dirfd = -1;
	s->rs = RS_READING;
	return s;
}

static void seg_release(struct cm_seg *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	if (s->sec)
		sodium_free(s->sec); /* wipes */
	free(s->buf);
	free(s);
}

static int reserve(struct cm_seg *s, size_t n)
{
	unsigned char *p;

	if (n <= s->cap)
		return 0;
	p = realloc(s->buf, n); /* ciphertext only: nothing to wipe */
	if (!p)
		return -1;
	s->buf = p;
	s->cap = n;
	return 0;
}

/*
 * Creates dir/name new (O_EXCL, no symbolic link followed) with mode 0600,
 * whatever the umask. Returns the descriptor or -1 (errno set).
 */
static int create_0600(int dirfd, const char *name)
{
	int fd, e;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) != 0) {
		e = errno;
		close(fd);
		unlinkat(dirfd, name, 0);
		errno = e;
		return -1;
	}
	return fd;
}

/* ---------------------------------------------------------------- writing */

struct cm_seg *cm_seg_create(const char *dir, const char *cls, const char *period,
			     const unsigned char store_key[CM_STORE_KEYBYTES], struct cm_err *err)
{
	struct cm_seg *s = NULL;
	struct secret *x;
	unsigned char hdr[HDR_BYTES], kf[KF_BYTES];
	char kname[64], sname[64];
	int kfd = -1, made_key = 0, made_seg = 0, ok = 0;
	size_t n;

	if (sodium_init() < 0) {
		cm_err_set(err, CM_E_INTERNAL, "libsodium: initialisation failed");
		return NULL;
	}
	if (!cm_seg_class_ok(cls)) {
		cm_err_set(err, CM_E_USAGE, "segment class: 1 to %d of [a-z0-9_-]", CM_SEG_CLASS_MAX);
		return NULL;
	}
	if (!valid_period(period)) {
		cm_err_set(err, CM_E_USAGE, "segment period: 1 to %d printable ASCII characters",
			   CM_SEG_PERIOD_MAX);
		return NULL;
	}
	s = seg_new(SEG_WRITE);
	if (!s) {
		cm_err_set(err, CM_E_NOMEM, "segment: out of memory");
		return NULL;
	}
	x = s->sec;
	randombytes_buf(s->info.id, CM_SEG_ID_BYTES);
	sodium_bin2hex(s->info.idhex, sizeof s->info.idhex, s->info.id, CM_SEG_ID_BYTES);
	memcpy(s->info.cls, cls, strlen(cls) + 1);
	memcpy(s->info.period, period, strlen(period) + 1);
	s->info.created = (int64_t)time(NULL);
	file_name(kname, s->info.idhex, ".key");
	file_name(sname, s->info.idhex, ".seg");

	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		cm_err_set(err, CM_E_IO, "segment directory %s: cannot open: %s", dir,
			   strerror(errno));
		goto out;
	}

	/* The key file first: a segment file is never on disk without its key. */
	crypto_secretstream_xchacha20poly1305_keygen(x->segkey);
	store_subkey(x->k, store_key, s->info.id, WRAP_PERSONAL);
	memcpy(x->plain, s->info.id, CM_SEG_ID_BYTES);
	memcpy(x->plain + CM_SEG_ID_BYTES, x->segkey, SEGKEY_BYTES);
	memcpy(kf, KEY_MAGIC, MAGIC_BYTES);
	randombytes_buf(kf + KF_NONCE, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(kf + KF_BOX, x->plain, KF_PLAIN, kf + KF_NONCE, x->k);
	sodium_memzero(x->plain, sizeof x->plain);
	sodium_memzero(x->k, sizeof x->k);

	kfd = create_0600(s->dirfd, kname);
	if (kfd < 0) {
		cm_err_set(err, CM_E_IO, "segment %s: %s/%s: cannot create: %s", s->info.idhex, dir,
			   kname, strerror(errno));
		goto out;
	}
	made_key = 1;
	if (cm_write_full(kfd, kf, KF_BYTES) != 0 || fsync(kfd) != 0) {
		cm_err_set(err, CM_E_IO, "segment %s: %s/%s: cannot write: %s", s->info.idhex, dir,
			   kname, strerror(errno));
		goto out;
	}
	/* close can report a deferred write error (NFS). */
	if (close(kfd) != 0) {
		kfd = -1;
		cm_err_set(err, CM_E_IO, "segment %s: %s/%s: cannot close: %s", s->info.idhex, dir,
			   kname, strerror(errno));
		goto out;
	}
	kfd = -1;

	memset(hdr, 0, sizeof hdr);
	memcpy(hdr + H_MAGIC, SEG_MAGIC, MAGIC_BYTES);
	hdr[H_VERSION] = SEG_VERSION;
	n = strlen(cls);
	hdr[H_CLS_LEN] = (unsigned char)n;
	memcpy(hdr + H_CLS, cls, n);
	n = strlen(period);
	hdr[H_PERIOD_LEN] = (unsigned char)n;
	memcpy(hdr + H_PERIOD, period, n);
	memcpy(hdr + H_ID, s->info.id, CM_SEG_ID_BYTES);
	put_be64(hdr + H_CREATED, (uint64_t)s->info.created);
	crypto_kdf_derive_from_key(x->k, sizeof x->k, SUBKEY_STREAM, SEG_KDF_CTX, x->segkey);
	crypto_secretstream_xchacha20poly1305_init_push(&x->st, hdr + H_SS, x->k);
	crypto_kdf_derive_from_key(x->k, sizeof x->k, SUBKEY_HEADER, SEG_KDF_CTX, x->segkey);
	crypto_auth(hdr + H_MAC, hdr, H_MAC, x->k);
	sodium_memzero(x->k, sizeof x->k);
	sodium_memzero(x->segkey, sizeof x->segkey); /* the stream state is all we keep */

	s->fd = create_0600(s->dirfd, sname);
	if (s->fd < 0) {
		cm_err_set(err, CM_E_IO, "segment %s: %s/%s: cannot create: %s", s->info.idhex, dir,
			   sname, strerror(errno));
		goto out;
	}
	made_seg = 1;
	/*
	 * Held until the writer closes or dies: cm_seg_recover refuses a
	 * segment whose writer is alive. Our own new file: cannot be contended.
	 */
	if (flock(s->fd, LOCK_EX | LOCK_NB) != 0) {
		cm_err_set(err, CM_E_IO, "segment %s: %s/%s: cannot lock: %s", s->info.idhex, dir,
			   sname, strerror(errno));
		goto out;
	}
	if (cm_write_full(s->fd, hdr, HDR_BYTES) != 0 || fsync(s->fd) != 0) {
		cm_err_set(err, CM_E_IO, "segment %s: %s/%s: cannot write the header: %s",
			   s->info.idhex, dir, sname, strerror(errno));
		goto out;
	}
	if (fsync_dir(s->dirfd) != 0) {
		cm_err_set(err, CM_E_IO, "segment %s: %s: cannot fsync the directory: %s",
			   s->info.idhex, dir, strerror(errno));
		goto out;
	}
	close(s->dirfd); /* a writer needs no more of it */
	s->dirfd = -1;
	s->pos = HDR_BYTES;
	ok = 1;
out:
	if (kfd >= 0)
		close(kfd);
	if (!ok) {
		/* Segment file first: never leave a segment without its key. */
		if (made_seg)
			unlinkat(s->dirfd, sname, 0);
		if (made_key)
			unlinkat(s->dirfd, kname, 0);
		if (made_seg || made_key)
			(void)fsync_dir(s->dirfd);
		seg_release(s);
		return NULL;
	}
	return s;
}

/* Encrypts p[0..n) as the next frame with tag and writes it. */
static int put_frame(struct cm_seg *s, const void *p, size_t n, unsigned char tag,
		     struct cm_err *err)
{
	static const unsigned char none[1];
	uint64_t no = s->frames + 1;
	size_t clen = n + ABYTES;
	unsigned char ad[AD_BYTES];

	if (reserve(s, LEN_BYTES + clen) != 0)
		return cm_err_set(err, CM_E_NOMEM, "segment %s: frame %llu: out of memory",
				  s->info.idhex, (unsigned long long)no);
	put_be32(s->buf, (uint32_t)clen);
	frame_ad(ad, s->info.id, no);
	crypto_secretstream_xchacha20poly1305_push(&s->sec->st, s->buf + LEN_BYTES, NULL,
						   n ? p : none, n, ad, AD_BYTES, tag);
	if (cm_write_full(s->fd, s->buf, LEN_BYTES + clen) != 0) {
		/*
		 * Part of the frame may be on disk, and the stream state has moved on.
		 * Writing again, even from a restored state, could reuse a nonce with
		 * another plaintext: the segment takes no more frames.
		 */
		s->broken = 1;
		return cm_err_set(err, CM_E_IO, "segment %s: frame %llu: cannot write: %s",
				  s->info.idhex, (unsigned long long)no, strerror(errno));
	}
	if (tag == TAG_MESSAGE)
		s->frames = no;
	s->pos += LEN_BYTES + clen;
	return 0;
}

static int writable(const struct cm_seg *s, struct cm_err *err)
{
	if (!s || s->mode != SEG_WRITE)
		return cm_err_set(err, CM_E_USAGE, "segment: not opened for writing");
	if (s->broken)
		return cm_err_set(err, CM_E_IO,
				  "segment %s: an earlier write or fsync failed: frames after "
				  "frame %llu are not durable; abandon it and recover it",
				  s->info.idhex, (unsigned long long)s->durable);
	return 0;
}

int cm_seg_append(struct cm_seg *s, const void *p, size_t n, struct cm_err *err)
{
	if (writable(s, err) != 0)
		return CM_FAIL;
	if (n > CM_SEG_FRAME_MAX)
		return cm_err_set(err, CM_E_USAGE, "segment %s: frame %llu: %zu bytes, over %u",
				  s->info.idhex, (unsigned long long)(s->frames + 1), n,
				  CM_SEG_FRAME_MAX);
	return put_frame(s, p, n, TAG_MESSAGE, err);
}

int cm_seg_sync(struct cm_seg *s, struct cm_err *err)
{
	if (writable(s, err) != 0)
		return CM_FAIL;
	if (fsync(s->fd) != 0) {
		/* After a failed fsync the kernel may have dropped the dirty pages (and the error). */
		s->broken = 1;
		return cm_err_set(err, CM_E_IO, "segment %s: cannot fsync: %s", s->info.idhex,
				  strerror(errno));
	}
	s->durable = s->frames;
	return 0;
}

uint64_t cm_seg_frames(const struct cm_seg *s) { return s ? s->frames : 0; }

uint64_t cm_seg_durable(const struct cm_seg *s)
{
	if (!s)
		return 0;
	return s->mode == SEG_WRITE ? s->durable : s->frames;
}

int cm_seg_close(struct cm_seg *s, struct cm_err *err)
{
	int rc = CM_FAIL, fd;

	if (writable(s, err) != 0)
		goto out;
	if (put_frame(s, NULL, 0, TAG_FINAL, err) != 0)
		goto out;
	if (fsync(s->fd) != 0) {
		cm_err_set(err, CM_E_IO, "segment %s: cannot fsync: %s", s->info.idhex,
			   strerror(errno));
		goto out;
	}
	s->durable = s->frames;
	fd = s->fd;
	s->fd = -1;
	if (close(fd) != 0) {
		cm_err_set(err, CM_E_IO, "segment %s: cannot close: %s", s->info.idhex,
			   strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (s && s->mode == SEG_WRITE)
		seg_release(s);
	return rc;
}

void cm_seg_abandon(struct cm_seg *s) { seg_release(s); }

void cm_seg_free(struct cm_seg *s) { seg_release(s); }

const struct cm_seg_info *cm_seg_info(const struct cm_seg *s) { return &s->info; }

/* ---------------------------------------------------------------- reading */

/*
 * Opens dir/name for reading: a regular file, no symbolic link followed.
 * Returns the descriptor, or -1 with err set (CM_E_NOINPUT when missing).
 */
static int open_regular(const struct cm_seg *s, const char *name, struct stat *st,
			struct cm_err *err)
{
	int fd, e;

	fd = openat(s->dirfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		cm_err_set(err, e == ENOENT ? CM_E_NOINPUT : CM_E_IO,
			   "segment %s: %s: %s", s->info.idhex, name,
			   e == ENOENT ? "missing" : strerror(e));
		return -1;
	}
	if (fstat(fd, st) != 0) {
		cm_err_set(err, CM_E_IO, "segment %s: %s: cannot stat: %s", s->info.idhex, name,
			   strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st->st_mode)) {
		cm_err_set(err, CM_E_DATA, "segment %s: %s: not a regular file", s->info.idhex, name);
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads exactly n bytes of dir/name (which must be n bytes long) into b. */
static int read_small(const struct cm_seg *s, const char *name, unsigned char *b, size_t n,
		      struct cm_err *err)
{
	struct stat st;
	unsigned char extra;
	ssize_t got;
	int fd, rc = CM_FAIL;

	fd = open_regular(s, name, &st, err);
	if (fd < 0)
		return CM_FAIL;
	got = cm_pread_full(fd, b, n, 0);
	if (got < 0) {
		cm_err_set(err, CM_E_IO, "segment %s: %s: cannot read: %s", s->info.idhex, name,
			   strerror(errno));
		goto out;
	}
	if ((size_t)got != n || cm_pread_full(fd, &extra, 1, n) != 0) {
		cm_err_set(err, CM_E_DATA, "segment %s: %s: wrong length (expected %zu bytes)",
			   s->info.idhex, name, n);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Unwraps IDHEX.key into s->sec->segkey. */
static int load_key_file(struct cm_seg *s, const unsigned char store_key[CM_STORE_KEYBYTES],
			 struct cm_err *err)
{
	struct secret *x = s->sec;
	unsigned char kf[KF_BYTES];
	char name[64];
	int rc = CM_FAIL;

	file_name(name, s->info.idhex, ".key");
	if (read_small(s, name, kf, KF_BYTES, err) != 0)
		return CM_FAIL;
	if (memcmp(kf, KEY_MAGIC, MAGIC_BYTES) != 0) {
		cm_err_set(err, CM_E_DATA, "segment %s: %s: not a segment key file (bad magic)",
			   s->info.idhex, name);
		goto out;
	}
	store_subkey(x->k, store_key, s->info.id, WRAP_PERSONAL);
	if (crypto_secretbox_open_easy(x->plain, kf + KF_BOX, KF_BYTES - KF_BOX, kf + KF_NONCE,
				       x->k) != 0 ||
	    sodium_memcmp(x->plain, s->info.id, CM_SEG_ID_BYTES) != 0) {
		cm_err_set(err, CM_E_DATA,
			   "segment %s: %s does not unwrap: wrong store key, or a damaged or "
			   "substituted key file",
			   s->info.idhex, name);
		goto out;
	}
	memcpy(x->segkey, x->plain + CM_SEG_ID_BYTES, SEGKEY_BYTES);
	rc = 0;
out:
	sodium_memzero(x->plain, sizeof x->plain);
	sodium_memzero(x->k, sizeof x->k);
	return rc;
}

/* Reads IDHEX.closed when there is one (s->has_end). */
static int load_end_file(struct cm_seg *s, struct cm_err *err)
{
	struct secret *x = s->sec;
	unsigned char b[END_BYTES];
	char name[64];
	int rc = CM_FAIL;

	file_name(name, s->info.idhex, ".closed");
	if (faccessat(s->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 0;
		return cm_err_set(err, CM_E_IO, "segment %s: %s: %s", s->info.idhex, name,
				  strerror(errno));
	}
	if (read_small(s, name, b, END_BYTES, err) != 0)
		return CM_FAIL;
	if (memcmp(b, END_MAGIC, MAGIC_BYTES) != 0 ||
	    crypto_secretbox_open_easy(x->plain, b + END_BOX, END_BYTES - END_BOX, b + END_NONCE,
				       x->endkey) != 0 ||
	    sodium_memcmp(x->plain, s->info.id, CM_SEG_ID_BYTES) != 0) {
		cm_err_set(err, CM_E_DATA,
			   "segment %s: %s does not authenticate: forged, damaged or from another "
			   "segment",
			   s->info.idhex, name);
		goto out;
	}
	s->end_frames = get_be64(x->plain + CM_SEG_ID_BYTES);
	s->end_pos = get_be64(x->plain + CM_SEG_ID_BYTES + 8);
	/* Each frame takes at least LEN_BYTES + ABYTES. */
	if (s->end_pos < HDR_BYTES ||
	    (s->end_pos - HDR_BYTES) / (LEN_BYTES + ABYTES) < s->end_frames) {
		cm_err_set(err, CM_E_DATA, "segment %s: %s: inconsistent end", s->info.idhex, name);
		goto out;
	}
	s->has_end = 1;
	rc = 0;
out:
	sodium_memzero(x->plain, sizeof x->plain);
	sodium_memzero(x->k, sizeof x->k);
	return rc;
}

struct cm_seg *cm_seg_open_read(const char *dir, const char *idhex,
				const unsigned char store_key[CM_STORE_KEYBYTES], struct cm_err *err)
{
	struct cm_seg *s = NULL;
	struct secret *x;
	unsigned char hdr[HDR_BYTES];
	char sname[64];
	struct stat st;
	ssize_t got;
	size_t cl, pl, i;
	int ok = 0;

	if (sodium_init() < 0) {
		cm_err_set(err, CM_E_INTERNAL, "libsodium: initialisation failed");
		return NULL;
	}
	if (!idhex || !valid_idhex(idhex)) {
		cm_err_set(err, CM_E_USAGE, "segment id: 32 lowercase hex digits expected");
		return NULL;
	}
	s = seg_new(SEG_READ);
	if (!s) {
		cm_err_set(err, CM_E_NOMEM, "segment: out of memory");
		return NULL;
	}
	x = s->sec;
	memcpy(s->info.idhex, idhex, sizeof s->info.idhex);
	sodium_hex2bin(s->info.id, CM_SEG_ID_BYTES, idhex, 2 * CM_SEG_ID_BYTES, NULL, NULL, NULL);
	file_name(sname, idhex, ".seg");

	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		cm_err_set(err, errno == ENOENT ? CM_E_NOINPUT : CM_E_IO,
			   "segment %s: directory %s: %s", idhex, dir, strerror(errno));
		goto out;
	}
	s->fd = open_regular(s, sname, &st, err);
	if (s->fd < 0)
		goto out;
	got = cm_pread_full(s->fd, hdr, HDR_BYTES, 0);
	if (got < 0) {
		cm_err_set(err, CM_E_IO, "segment %s: %s: cannot read: %s", idhex, sname,
			   strerror(errno));
		goto out;
	}
	if (got < HDR_BYTES) {
		cm_err_set(err, CM_E_DATA, "segment %s: header truncated (%zd of %d bytes)", idhex,
			   got, HDR_BYTES);
		goto out;
	}
	if (memcmp(hdr + H_MAGIC, SEG_MAGIC, MAGIC_BYTES) != 0) {
		cm_err_set(err, CM_E_DATA, "segment %s: header: not a segment (bad magic)", idhex);
		goto out;
	}
	if (hdr[H_VERSION] != SEG_VERSION) {
		cm_err_set(err, CM_E_DATA, "segment %s: header: unsupported version %u", idhex,
			   hdr[H_VERSION]);
		goto out;
	}
	if (sodium_memcmp(hdr + H_ID, s->info.id, CM_SEG_ID_BYTES) != 0) {
		cm_err_set(err, CM_E_DATA, "segment %s: header: holds another segment id", idhex);
		goto out;
	}
	if (load_key_file(s, store_key, err) != 0)
		goto out;
	crypto_kdf_derive_from_key(x->k, sizeof x->k, SUBKEY_HEADER, SEG_KDF_CTX, x->segkey);
	if (crypto_auth_verify(hdr + H_MAC, hdr, H_MAC, x->k) != 0) {
		cm_err_set(err, CM_E_DATA, "segment %s: header does not authenticate (damaged)",
			   idhex);
		goto out;
	}
	/* Authentic, so written by us: checked anyway, the fields reach callers as strings. */
	cl = hdr[H_CLS_LEN];
	pl = hdr[H_PERIOD_LEN];
	if (hdr[H_RESERVED] != 0 || cl < 1 || cl > CM_SEG_CLASS_MAX || pl < 1 ||
	    pl > CM_SEG_PERIOD_MAX) {
		cm_err_set(err, CM_E_DATA, "segment %s: header: bad field lengths", idhex);
		goto out;
	}
	memcpy(s->info.cls, hdr + H_CLS, cl);
	s->info.cls[cl] = '\0';
	memcpy(s->info.period, hdr + H_PERIOD, pl);
	s->info.period[pl] = '\0';
	for (i = cl; i < CM_SEG_CLASS_MAX; i++)
		if (hdr[H_CLS + i])
			break;
	if (i < CM_SEG_CLASS_MAX || !cm_seg_class_ok(s->info.cls)) {
		cm_err_set(err, CM_E_DATA, "segment %s: header: bad class", idhex);
		goto out;
	}
	for (i = pl; i < CM_SEG_PERIOD_MAX; i++)
		if (hdr[H_PERIOD + i])
			break;
	if (i < CM_SEG_PERIOD_MAX || !valid_period(s->info.period)) {
		cm_err_set(err, CM_E_DATA, "segment %s: header: bad period", idhex);
		goto out;
	}
	s->info.created = (int64_t)get_be64(hdr + H_CREATED);

	crypto_kdf_derive_from_key(x->k, sizeof x->k, SUBKEY_STREAM, SEG_KDF_CTX, x->segkey);
	if (crypto_secretstream_xchacha20poly1305_init_pull(&x->st, hdr + H_SS, x->k) != 0) {
		cm_err_set(err, CM_E_DATA, "segment %s: header: bad stream header", idhex);
		goto out;
	}
	/* Kept for cm_seg_recover, which has no store key: this subkey opens only .closed files. */
	store_subkey(x->endkey, store_key, s->info.id, END_PERSONAL);
	if (load_end_file(s, err) != 0)
		goto out;
	s->pos = HDR_BYTES;
	ok = 1;
out:
	if (s) {
		sodium_memzero(x->k, sizeof x->k);
		sodium_memzero(x->segkey, sizeof x->segkey);
	}
	if (!ok) {
		seg_release(s);
		return NULL;
	}
	return s;
}

/* Sets a data fault at frame no. */
static int data_fault(struct cm_seg *s, struct cm_err *e, uint64_t no, const char *why)
{
	return cm_err_set(e, CM_E_DATA, "segment %s: frame %llu: %s", s->info.idhex,
			  (unsigned long long)no, why);
}

/*
 * Reads the frame at s->pos. Returns an enum cm_seg_read value, or CM_FAIL
 * with e set; s->rs says whether reading is over.
 */
static int read_frame(struct cm_seg *s, struct cm_buf *out, struct cm_err *e)
{
	uint64_t no = s->frames + 1;
	unsigned char lb[LEN_BYTES], ad[AD_BYTES], tag = 0;
	unsigned long long mlen = 0;
	uint32_t clen;
	ssize_t got;
	char why[128];

	got = cm_pread_full(s->fd, lb, LEN_BYTES, s->pos);
	if (got < 0) {
		s->rs = RS_FAULT;
		return cm_err_set(e, CM_E_IO, "segment %s: frame %llu: cannot read: %s",
				  s->info.idhex, (unsigned long long)no, strerror(errno));
	}
	if (s->has_end && s->frames == s->end_frames) {
		s->rs = got == 0 && s->pos == s->end_pos ? RS_END : RS_FAULT;
		if (s->rs == RS_END)
			return CM_SEG_END;
		return data_fault(s, e, no,
				  got ? "data after the end recorded in the .closed file"
				      : "the frames end elsewhere than the .closed file records");
	}
	if (got == 0) {
		if (s->has_end) {
			s->rs = RS_FAULT;
			snprintf(why, sizeof why,
				 "missing: the .closed file records %llu frames (the segment was cut)",
				 (unsigned long long)s->end_frames);
			return data_fault(s, e, no, why);
		}
		s->rs = RS_UNCLOSED;
		return CM_SEG_UNCLOSED;
	}
	s->rs = RS_FAULT; /* until this frame proves good */
	if (got < LEN_BYTES) {
		snprintf(why, sizeof why, "torn: the file ends inside the length field (%zd of 4 bytes)",
			 got);
		return data_fault(s, e, no, why);
	}
	clen = get_be32(lb);
	if (clen < ABYTES || clen > CLEN_MAX) {
		snprintf(why, sizeof why, "bad length %lu (%u to %lu expected)", (unsigned long)clen,
			 (unsigned)ABYTES, (unsigned long)CLEN_MAX);
		return data_fault(s, e, no, why);
	}
	if (reserve(s, clen) != 0 || cm_buf_reserve(out, clen - ABYTES + 1) != 0) {
		s->rs = RS_READING; /* nothing was consumed: the caller may try again */
		return cm_err_set(e, CM_E_NOMEM, "segment %s: frame %llu: out of memory",
				  s->info.idhex, (unsigned long long)no);
	}
	got = cm_pread_full(s->fd, s->buf, clen, s->pos + LEN_BYTES);
	if (got < 0)
		return cm_err_set(e, CM_E_IO, "segment %s: frame %llu: cannot read: %s",
				  s->info.idhex, (unsigned long long)no, strerror(errno));
	if ((size_t)got < clen) {
		snprintf(why, sizeof why,
			 "torn: its length %lu runs past the end of the file (%zd bytes there)",
			 (unsigned long)clen, got);
		return data_fault(s, e, no, why);
	}
	frame_ad(ad, s->info.id, no);
	if (crypto_secretstream_xchacha20poly1305_pull(&s->sec->st, (unsigned char *)out->p, &mlen,
						       &tag, s->buf, clen, ad, AD_BYTES) != 0)
		return data_fault(s, e, no,
				  "does not authenticate (damaged, moved, repeated, or from another "
				  "segment)");
	s->pos += LEN_BYTES + clen;
	if (tag == TAG_MESSAGE) {
		out->n = (size_t)mlen;
		s->frames = no;
		s->rs = RS_READING;
		return CM_SEG_FRAME;
	}
	sodium_memzero(out->p, (size_t)mlen); /* not handed out */
	if (tag != TAG_FINAL || mlen != 0 || s->has_end) {
		snprintf(why, sizeof why, "unexpected frame (tag %u, %llu bytes)", tag, mlen);
		return data_fault(s, e, no, why);
	}
	s->saw_final = 1;
	got = cm_pread_full(s->fd, lb, 1, s->pos);
	if (got < 0)
		return cm_err_set(e, CM_E_IO, "segment %s: frame %llu: cannot read: %s",
				  s->info.idhex, (unsigned long long)no + 1, strerror(errno));
	if (got > 0)
		return data_fault(s, e, no + 1, "data after the FINAL frame");
	s->rs = RS_END;
	return CM_SEG_END;
}

int cm_seg_next(struct cm_seg *s, struct cm_buf *out, struct cm_err *err)
{
	struct cm_err e = { 0 };
	int rc;

	cm_buf_reset(out);
	if (!s || s->mode != SEG_READ)
		return cm_err_set(err, CM_E_USAGE, "segment: not opened for reading");
	switch (s->rs) {
	case RS_END:
		return CM_SEG_END;
	case RS_UNCLOSED:
		return CM_SEG_UNCLOSED;
	case RS_FAULT:
		if (err)
			*err = s->fault;
		return CM_FAIL;
	case RS_READING:
		break;
	}
	rc = read_frame(s, out, &e);
	if (rc == CM_FAIL) {
		if (s->rs == RS_FAULT)
			s->fault = e;
		if (err)
			*err = e;
	}
	return rc;
}

/* ---------------------------------------------------------------- recovery */

/*
 * Whether the bytes from s->pos to size parse as two or more whole frames
 * (lengths only) of which the last has the size of a FINAL frame: the
 * shape of a closed segment damaged inside, not of a torn write, which
 * ends in a frame that runs past the end, in zeros, or in one bad frame.
 */
static int looks_closed(struct cm_seg *s, uint64_t size)
{
	unsigned char lb[LEN_BYTES];
	uint64_t pos = s->pos, count = 0;
	uint32_t clen = 0;

	while (pos < size) {
		if (size - pos < LEN_BYTES || cm_pread_full(s->fd, lb, LEN_BYTES, pos) != LEN_BYTES)
			return 0;
		clen = get_be32(lb);
		if (clen < ABYTES || clen > CLEN_MAX || clen > size - pos - LEN_BYTES)
			return 0;
		pos += LEN_BYTES + clen;
		count++;
	}
	return count >= 2 && clen == ABYTES;
}

/*
 * Whether files a and b in dirfd have the same bytes. 1 yes, 0 no, -1 on
 * an error (errno set).
 */
static int same_content(int dirfd, const char *a, const char *b)
{
	unsigned char *pa = NULL, *pb = NULL;
	int fa, fb, rc = -1;
	uint64_t off = 0;
	ssize_t na, nb;

	fa = openat(dirfd, a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	fb = openat(dirfd, b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	pa = malloc(COPY_CHUNK);
	pb = malloc(COPY_CHUNK);
	if (fa < 0 || fb < 0 || !pa || !pb)
		goto out;
	for (;;) {
		na = cm_pread_full(fa, pa, COPY_CHUNK, off);
		nb = cm_pread_full(fb, pb, COPY_CHUNK, off);
		if (na < 0 || nb < 0)
			goto out;
		if (na != nb || memcmp(pa, pb, (size_t)na) != 0) {
			rc = 0;
			goto out;
		}
		if (na == 0)
			break;
		off += (uint64_t)na;
	}
	rc = 1;
out:
	free(pa);
	free(pb);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return rc;
}

/*
 * Publishes a file written and synced as dirfd/part under the name name:
 * link(2) never replaces, so name only ever appears whole. When name exists
 * and same_ok is set, an identical file there (an earlier run that stopped
 * after this step) counts as done. Then removes part and syncs the
 * directory. Returns 0, or -1 with errno set (EEXIST: name holds other bytes).
 */
static int publish(int dirfd, const char *part, const char *name, int same_ok)
{
	int e, same;

	if (linkat(dirfd, part, dirfd, name, 0) != 0) {
		e = errno;
		if (e != EEXIST || !same_ok)
			goto fail;
		same = same_content(dirfd, part, name);
		if (same < 0) {
			e = errno;
			goto fail;
		}
		if (!same)
			goto fail;
	}
	unlinkat(dirfd, part, 0);
	return fsync_dir(dirfd);
fail:
	unlinkat(dirfd, part, 0);
	errno = e;
	return -1;
}

/* Creates dirfd/part afresh (an old one is a leftover of a stopped run). */
static int create_part(int dirfd, const char *part)
{
	if (unlinkat(dirfd, part, 0) != 0 && errno != ENOENT)
		return -1;
	return create_0600(dirfd, part);
}

/* Copies the segment's bytes from s->pos to size to quarantine_dir/IDHEX.torn. */
static int quarantine(struct cm_seg *s, const char *quarantine_dir, uint64_t size,
		      struct cm_err *err)
{
	char name[64], part[64];
	unsigned char *b = NULL;
	uint64_t off = s->pos;
	int qfd, fd = -1, rc = CM_FAIL;
	size_t want;
	ssize_t got;
	const char *what = "cannot write";

	file_name(name, s->info.idhex, ".torn");
	file_name(part, s->info.idhex, ".torn.part");
	qfd = open(quarantine_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (qfd < 0)
		return cm_err_set(err, CM_E_IO, "segment %s: quarantine directory %s: %s",
				  s->info.idhex, quarantine_dir, strerror(errno));
	b = malloc(COPY_CHUNK);
	if (!b) {
		cm_err_set(err, CM_E_NOMEM, "segment %s: out of memory", s->info.idhex);
		goto out;
	}
	fd = create_part(qfd, part);
	if (fd < 0)
		goto io;
	while (off < size) {
		want = size - off < COPY_CHUNK ? (size_t)(size - off) : COPY_CHUNK;
		got = cm_pread_full(s->fd, b, want, off);
		if (got < 0 || (size_t)got != want) {
			if (got >= 0)
				errno = EIO; /* the file shrank under us */
			what = "cannot read the tail for";
			goto io_part;
		}
		if (cm_write_full(fd, b, want) != 0)
			goto io_part;
		off += want;
	}
	if (fsync(fd) != 0)
		goto io_part;
	if (close(fd) != 0) {
		fd = -1;
		goto io_part;
	}
	fd = -1;
	if (publish(qfd, part, name, 1) != 0) {
		if (errno == EEXIST)
			cm_err_set(err, CM_E_IO, "segment %s: %s/%s exists with other bytes: move it "
						 "away first", s->info.idhex, quarantine_dir, name);
		else
			cm_err_set(err, CM_E_IO, "segment %s: %s/%s: %s", s->info.idhex,
				   quarantine_dir, name, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
io_part:
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlinkat(qfd, part, 0);
io:
	cm_err_set(err, CM_E_IO, "segment %s: %s %s/%s: %s", s->info.idhex, what,
		   quarantine_dir, part, strerror(errno));
out:
	free(b);
	if (fd >= 0)
		close(fd);
	close(qfd);
	return rc;
}

/* Cuts the segment file at s->pos and syncs it. */
static int cut(struct cm_seg *s, struct cm_err *err)
{
	char name[64];
	int fd;

	file_name(name, s->info.idhex, ".seg");
	fd = openat(s->dirfd, name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)s->pos) != 0 || fsync(fd) != 0) {
		cm_err_set(err, CM_E_IO, "segment %s: cannot cut %s after frame %llu: %s",
			   s->info.idhex, name, (unsigned long long)s->frames, strerror(errno));
		if (fd >= 0)
			close(fd);
		return CM_FAIL;
	}
	if (close(fd) != 0)
		return cm_err_set(err, CM_E_IO, "segment %s: cannot close %s: %s", s->info.idhex,
				  name, strerror(errno));
	return 0;
}

/* Writes IDHEX.closed: the segment ends after s->frames frames, at s->pos. */
static int write_end_file(struct cm_seg *s, struct cm_err *err)
{
	struct secret *x = s->sec;
	unsigned char b[END_BYTES];
	char name[64], part[64];
	int fd;

	file_name(name, s->info.idhex, ".closed");
	file_name(part, s->info.idhex, ".closed.part");
	memcpy(x->plain, s->info.id, CM_SEG_ID_BYTES);
	put_be64(x->plain + CM_SEG_ID_BYTES, s->frames);
	put_be64(x->plain + CM_SEG_ID_BYTES + 8, s->pos);
	memcpy(b, END_MAGIC, MAGIC_BYTES);
	randombytes_buf(b + END_NONCE, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(b + END_BOX, x->plain, END_PLAIN, b + END_NONCE, x->endkey);
	sodium_memzero(x->plain, sizeof x->plain);

	fd = create_part(s->dirfd, part);
	if (fd < 0)
		goto fail;
	if (cm_write_full(fd, b, END_BYTES) != 0 || fsync(fd) != 0) {
		close(fd);
		unlinkat(s->dirfd, part, 0);
		goto fail;
	}
	if (close(fd) != 0) {
		unlinkat(s->dirfd, part, 0);
		goto fail;
	}
	if (publish(s->dirfd, part, name, 0) != 0)
		goto fail;
	return 0;
fail:
	return cm_err_set(err, CM_E_IO, "segment %s: cannot write %s: %s", s->info.idhex, name,
			  strerror(errno));
}

int cm_seg_recover(struct cm_seg *s, const char *quarantine_dir, struct cm_err *err)
{
	struct cm_buf scratch;
	struct stat st;
	int rc;

	if (!s || s->mode != SEG_READ)
		return cm_err_set(err, CM_E_USAGE, "segment: not opened for reading");
	if (s->has_end)
		return cm_err_set(err, CM_E_USAGE, "segment %s: already recovered (it has a .closed "
						   "file)", s->info.idhex);
	/* Released with s->fd. */
	if (flock(s->fd, LOCK_EX | LOCK_NB) != 0)
		return cm_err_set(err, errno == EWOULDBLOCK ? CM_E_USAGE : CM_E_IO,
				  "segment %s: %s", s->info.idhex,
				  errno == EWOULDBLOCK ? "a writer still has it open: not recovering"
						       : strerror(errno));
	/* Read on to the end if the caller has not. */
	cm_buf_init(&scratch);
	while ((rc = cm_seg_next(s, &scratch, err)) == CM_SEG_FRAME)
		;
	cm_buf_deinit(&scratch); /* wipes the plaintext */
	if (rc == CM_FAIL && s->rs != RS_FAULT)
		return CM_FAIL; /* out of memory: nothing decided */
	if (s->rs == RS_END || s->saw_final)
		return cm_err_set(err, CM_E_USAGE,
				  "segment %s: closed (it has its FINAL frame): not a torn write, "
				  "nothing to recover", s->info.idhex);
	if (s->rs == RS_FAULT && s->fault.code != CM_E_DATA) {
		if (err)
			*err = s->fault;
		return CM_FAIL;
	}
	if (fstat(s->fd, &st) != 0)
		return cm_err_set(err, CM_E_IO, "segment %s: cannot stat: %s", s->info.idhex,
				  strerror(errno));
	if ((uint64_t)st.st_size < s->pos)
		return cm_err_set(err, CM_E_DATA, "segment %s: the file shrank while reading",
				  s->info.idhex);
	if (s->rs == RS_FAULT && looks_closed(s, (uint64_t)st.st_size))
		return cm_err_set(err, CM_E_DATA,
				  "segment %s: frame %llu is damaged, and what follows it has the "
				  "shape of a closed segment: not a torn write, refusing to cut it",
				  s->info.idhex, (unsigned long long)s->frames + 1);

	/* Order: a crash between steps leaves a state that recovering again completes. */
	if ((uint64_t)st.st_size > s->pos) {
		if (quarantine(s, quarantine_dir, (uint64_t)st.st_size, err) != 0)
			return CM_FAIL;
		if (cut(s, err) != 0)
			return CM_FAIL;
	}
	if (write_end_file(s, err) != 0)
		return CM_FAIL;
	s->has_end = 1;
	s->end_frames = s->frames;
	s->end_pos = s->pos;
	s->rs = RS_END;
	return 0;
}

/* ---------------------------------------------------------------- destruction */

/* Overwrites the whole of fd with random bytes and syncs it. */
static int overwrite(int fd)
{
	unsigned char b[4096];
	struct stat st;
	uint64_t left;
	size_t n;

	if (fstat(fd, &st) != 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	left = (uint64_t)st.st_size;
	while (left) {
		n = left < sizeof b ? (size_t)left : sizeof b;
		randombytes_buf(b, n);
		if (cm_write_full(fd, b, n) != 0)
			return -1;
		left -= n;
	}
	return fsync(fd);
}

int cm_seg_destroy(const char *dir, const char *idhex, struct cm_err *err)
{
	char name[64];
	int dirfd, fd, found = 0, rc = CM_FAIL;

	if (sodium_init() < 0)
		return cm_err_set(err, CM_E_INTERNAL, "libsodium: initialisation failed");
	if (!idhex || !valid_idhex(idhex))
		return cm_err_set(err, CM_E_USAGE, "segment id: 32 lowercase hex digits expected");
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return cm_err_set(err, errno == ENOENT ? CM_E_NOINPUT : CM_E_IO,
				  "segment %s: directory %s: %s", idhex, dir, strerror(errno));

	/* The key file first: once it is gone, the segment's data is. */
	file_name(name, idhex, ".key");
	fd = openat(dirfd, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		found = 1;
		if (overwrite(fd) != 0) {
			cm_err_set(err, CM_E_IO, "segment %s: cannot overwrite %s: %s", idhex, name,
				   strerror(errno));
			close(fd);
			goto out;
		}
		close(fd);
		if (unlinkat(dirfd, name, 0) != 0)
			goto unlink_failed;
		if (fsync_dir(dirfd) != 0)
			goto sync_failed;
	} else if (errno != ENOENT) {
		cm_err_set(err, CM_E_IO, "segment %s: %s: %s", idhex, name, strerror(errno));
		goto out;
	}

	file_name(name, idhex, ".seg");
	if (unlinkat(dirfd, name, 0) == 0)
		found = 1;
	else if (errno != ENOENT)
		goto unlink_failed;
	file_name(name, idhex, ".closed");
	if (unlinkat(dirfd, name, 0) != 0 && errno != ENOENT)
		goto unlink_failed;
	if (!found) {
		cm_err_set(err, CM_E_NOINPUT, "segment %s: not found in %s", idhex, dir);
		goto out;
	}
	if (fsync_dir(dirfd) != 0)
		goto sync_failed;
	rc = 0;
	goto out;
unlink_failed:
	cm_err_set(err, CM_E_IO, "segment %s: cannot remove %s: %s", idhex, name, strerror(errno));
	goto out;
sync_failed:
	cm_err_set(err, CM_E_IO, "segment %s: %s: cannot fsync the directory: %s", idhex, dir,
		   strerror(errno));
out:
	close(dirfd);
	return rc;
}
