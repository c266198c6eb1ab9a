/*
 * cdrmin: encrypted append-only segments of the retained store.
 *
 * A segment holds the originals of one retention class and period (e.g.
 * "traffic", "2026-11-22") as a sequence of frames, encrypted with
 * libsodium's secretstream (XChaCha20-Poly1305) under the segment's own
 * random key. That key is stored only wrapped (crypto_secretbox) by the
 * store key, in a key file beside the segment: destroying the key file
 * destroys the segment's data (crypto-shredding).
 *
 * Files, for a segment id ID (16 random bytes, 32 lowercase hex digits).
 * Integers are big-endian; offsets in bytes.
 *
 *   ID.seg  the header (156 bytes):
 *             0   8  "CDRMSEG1"
 *             8   1  version, 1
 *             9   1  class length (1..32)
 *            10   1  period length (1..32)
 *            11   1  0
 *            12  16  segment id (must match the file name)
 *            28   8  creation time, seconds since the epoch (signed)
 *            36  32  class, NUL-padded
 *            68  32  period, NUL-padded
 *           100  24  secretstream header
 *           124  32  HMAC-SHA-512-256 (crypto_auth) of bytes 0..123
 *           then frames: a 4-byte length L (17 <= L <= CM_SEG_FRAME_MAX + 17)
 *           and L bytes of secretstream ciphertext (1 tag byte, the
 *           message, a 16-byte MAC). Frames are numbered from 1; frame n's
 *           additional data is the segment id || n (8 bytes), so a frame
 *           moved, repeated or taken from another segment does not
 *           authenticate (and secretstream chains each frame to the one
 *           before). Data frames carry the tag MESSAGE. A closed segment
 *           ends with one empty frame tagged FINAL, numbered N + 1 after N
 *           data frames.
 *   ID.key  the wrapped segment key (96 bytes): "CDRMKEY1", a random
 *           24-byte nonce, crypto_secretbox_easy(segment id || 32-byte
 *           segment key) under BLAKE2b-256(key = store key, salt = segment
 *           id, personal = "cdrmin-segkey-v1").
 *   ID.closed  written by cm_seg_recover only (80 bytes): "CDRMEND1", a
 *           random 24-byte nonce, crypto_secretbox_easy(segment id ||
 *           frames N (8) || file length after frame N (8)) under
 *           BLAKE2b-256(key = store key, salt = segment id, personal =
 *           "cdrmin-segend-v1").
 *
 * The segment key is never used directly: crypto_kdf with context
 * "cdrmseg1" gives subkey 1, the secretstream key, and subkey 2, the
 * header MAC key. Keys and the stream state live in sodium_malloc memory
 * and are wiped; only ciphertext goes through ordinary buffers.
 *
 * Files are created O_EXCL (never through a symbolic link) with mode 0600.
 *
 * Durability: a frame is durable once cm_seg_sync returned after it
 * (fsync of the segment file; the key file, the header and the directory
 * are synced when the segment is created, before its first frame).
 *
 * Reading (cm_seg_open_read, cm_seg_next) checks everything and names the
 * segment and the frame of the first fault: a bad magic or header, a key
 * that does not unwrap, a frame that does not authenticate (bit flips,
 * reordering, duplication, frames of another segment), a length past the
 * end (a torn write), data after the FINAL frame, no FINAL frame (a segment
 * that was never closed: cm_seg_next returns CM_SEG_UNCLOSED after the last
 * good frame, and cm_seg_recover can quarantine the torn tail). Messages
 * never quote frame contents.
 *
 * WARNING: CM_SEG_UNCLOSED is not proof of a crash. A segment cut at a
 * frame boundary reads the same way; only the FINAL frame, or a .closed
 * file, proves where a segment ends.
 */
#ifndef CDRMIN_SEGMENT_H
#define CDRMIN_SEGMENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"

#define CM_STORE_KEYBYTES 32
#define CM_SEG_ID_BYTES 16
#define CM_SEG_CLASS_MAX 32   /* class names: [a-z0-9_-], 1 to 32 bytes */
#define CM_SEG_PERIOD_MAX 32  /* period labels: printable ASCII, 1 to 32 bytes */
#define CM_SEG_FRAME_MAX (16u << 20)
#define CM_SEG_HEADER_BYTES 156 /* a segment file's header, before its first frame */

struct cm_seg;

/* 1 when s is a class name: [a-z0-9_-], 1 to CM_SEG_CLASS_MAX bytes. */
int cm_seg_class_ok(const char *s);

struct cm_seg_info {
	unsigned char id[CM_SEG_ID_BYTES];
	char idhex[2 * CM_SEG_ID_BYTES + 1];
	char cls[CM_SEG_CLASS_MAX + 1];
	char period[CM_SEG_PERIOD_MAX + 1];
	int64_t created;   /* seconds since the epoch, UTC */
};

/*
 * Creates a new segment in dir for class and period, under store_key
 * (which the caller keeps in locked memory). Writes and syncs the key file,
 * the segment header, and the directory. Returns NULL with err set
 * (CM_E_IO naming the file, CM_E_USAGE for a bad class or period), and
 * then leaves no file behind. The segment file stays locked (flock) while
 * the writer has it open, so that cm_seg_recover cannot cut it under a
 * live writer; the lock goes with the process.
 */
struct cm_seg *cm_seg_create(const char *dir, const char *cls, const char *period,
			     const unsigned char store_key[CM_STORE_KEYBYTES], struct cm_err *err);

/*
 * Appends one frame p[0..n) (n <= CM_SEG_FRAME_MAX; empty frames are
 * fine). 0 or CM_FAIL: CM_E_USAGE for n too large (nothing written), or
 * CM_E_IO. After a failed write (or sync) the segment is broken: part of
 * a frame may be on disk and the stream has moved on, and writing again
 * could reuse a nonce, so every later append, sync and close fails with
 * CM_E_IO. Abandon it, recover it, and go on in a new segment.
 */
int cm_seg_append(struct cm_seg *s, const void *p, size_t n, struct cm_err *err);

/*
 * fsync of the segment file: every frame appended so far is durable. 0 or
 * CM_FAIL (CM_E_IO; the segment is then broken, as after a failed append:
 * after a failed fsync the kernel may have dropped the unwritten pages).
 */
int cm_seg_sync(struct cm_seg *s, struct cm_err *err);

/*
 * Frames appended, and of them durable (0 for NULL). For a segment opened
 * for reading: good frames read so far, both.
 */
uint64_t cm_seg_frames(const struct cm_seg *s);
uint64_t cm_seg_durable(const struct cm_seg *s);

/*
 * Appends the FINAL frame (empty), syncs, and closes. 0 or CM_FAIL. The
 * segment is freed either way. A broken segment (see cm_seg_append) gets
 * no FINAL frame: CM_E_IO.
 */
int cm_seg_close(struct cm_seg *s, struct cm_err *err);

/* Frees a segment without closing it (the file stays unclosed, as after a crash). */
void cm_seg_abandon(struct cm_seg *s);

/*
 * Opens the segment dir/IDHEX.seg for reading under store_key. Returns NULL
 * with err set, naming the segment: CM_E_USAGE for an idhex that is not 32
 * lowercase hex digits; CM_E_NOINPUT for a missing directory, segment file
 * or key file (a destroyed segment); CM_E_DATA for a damaged or truncated
 * header, a key file that does not unwrap (a wrong store key, or a damaged
 * or substituted key file), or an IDHEX.closed that does not authenticate.
 */
struct cm_seg *cm_seg_open_read(const char *dir, const char *idhex,
				const unsigned char store_key[CM_STORE_KEYBYTES], struct cm_err *err);

const struct cm_seg_info *cm_seg_info(const struct cm_seg *s);

enum cm_seg_read {
	CM_SEG_FRAME = 1,   /* out holds the next frame's bytes */
	CM_SEG_END = 0,     /* the FINAL frame was read, nothing after it */
	CM_SEG_UNCLOSED = 2 /* the file ends after a good frame without FINAL (a crash) */
};

/*
 * Reads the next frame into out (reset first). Returns an enum cm_seg_read
 * value, or CM_FAIL with err (CM_E_DATA) naming the segment and the frame
 * number (1-based) that is damaged, as "frame N:": what was read before it
 * stands. A torn write is a fault at the frame it cut (its length field or
 * its ciphertext runs past the end of the file); bytes after the FINAL
 * frame are a fault at the frame after FINAL. In a recovered segment, a
 * frame missing before, or any byte after, the end its .closed file
 * records is a fault too. Once reading ended (END, UNCLOSED, a fault),
 * every later call returns the same. CM_E_NOMEM consumes nothing: the
 * call may be repeated.
 */
int cm_seg_next(struct cm_seg *s, struct cm_buf *out, struct cm_err *err);

/*
 * After CM_SEG_UNCLOSED, or a CM_E_DATA fault in a segment that has no
 * FINAL frame (a torn write): the good frames stay as they are; the bytes
 * after the last good frame (the torn tail, if any) are copied to
 * quarantine_dir/IDHEX.torn and cut from the segment file; IDHEX.closed
 * records, sealed with the store key (crypto_secretbox, the segment id
 * authenticated), that the segment ends after frame N. Reading a recovered
 * segment returns CM_SEG_END after its frame N. All written files and the
 * directories are synced. Returns 0 or CM_FAIL. New frames go to a new
 * segment: an old one is never appended to.
 *
 * s must come from cm_seg_open_read; if it was not read to its end, this
 * reads on first. Refused, with nothing changed: a segment with a FINAL
 * frame, one already recovered, and one whose writer still holds it
 * (CM_E_USAGE); an I/O fault (CM_E_IO); a damaged frame followed by
 * whole frames that end in one of a FINAL frame's size, the shape of a
 * closed segment damaged inside rather than of a torn write (CM_E_DATA).
 * The quarantine copy and .closed appear whole or not at all (written
 * aside, synced, then linked into place), and the steps run in an order
 * such that a recovery stopped at any point is completed by recovering
 * again; an IDHEX.torn already there with the same bytes counts as done,
 * one with other bytes is never overwritten (CM_E_IO).
 */
int cm_seg_recover(struct cm_seg *s, const char *quarantine_dir, struct cm_err *err);

/* Frees a segment opened for reading. */
void cm_seg_free(struct cm_seg *s);

/*
 * Crypto-shredding: overwrites and deletes IDHEX.key, then deletes
 * IDHEX.seg (and IDHEX.closed), and syncs the directory. 0 or CM_FAIL:
 * CM_E_USAGE for a bad idhex, CM_E_NOINPUT when neither IDHEX.key nor
 * IDHEX.seg exists, CM_E_IO. A quarantined IDHEX.torn is left where it is:
 * it is ciphertext under the destroyed key.
 * WARNING: the overwrite is best effort. On copy-on-write file systems,
 * SSDs, snapshots and backups an old copy of the key file may survive,
 * and with the store key it still opens the segment.
 */
int cm_seg_destroy(const char *dir, const char *idhex, struct cm_err *err);

#endif
