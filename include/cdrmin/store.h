/*
 * cdrmin: the retained store, where originals live (segment.h, retention.h).
 *
 * Layout of a store directory DIR (directories 0700, files 0600):
 *   DIR/STORE                 "cdrmin store 1\nkey KID\n", KID the store key's
 *                             id (key.h): a check that the right store key
 *                             is used (the segments' key files are the proof)
 *   DIR/policy                the retention declarations of the last writing
 *                             run ("zone ZONE", "retain CLASS NUNIT [year-end]",
 *                             one a line, '#' comments), replaced atomically
 *                             (written aside, fsync, rename, fsync of DIR):
 *                             a shortened period takes effect at the next purge
 *   DIR/holds                 legal holds, one per line "CLASS FROM|- TO|-"
 *                             (days YYYY-MM-DD, inclusive; "-" an open end),
 *                             replaced atomically
 *   DIR/holds.lock            flock: editing the holds excludes a purge
 *   DIR/audit.log             one line per find or export (never an original)
 *   DIR/seg/CLASS/PERIOD/     the segments of a class and day (segment.h);
 *                             class "quarantine" holds rejected records
 *   DIR/torn/                 torn tails of segments recovered after a crash
 *
 * Several writing runs may share a store: each writes its own segments
 * (segment.h locks a segment while its writer lives), and the last run to
 * open writes the policy.
 *
 * A frame of a segment is one stored record, encoded as (integers
 * big-endian): u8 version 1, u8 kind (0 record, 1 rejected), u8 reject
 * reason (enum cm_reject, 255 for none), u64 epoch id, i64 time (UTC
 * seconds of the communication, 0 when unknown), u16 + bytes source name,
 * u64 line (or frame), u32 + bytes the original, u32 + bytes the record as
 * the filter wrote it (its pseudonyms; empty for a rejected record).
 * Nothing may follow. A record's frame is never empty (37 bytes at least):
 * only a segment's FINAL frame is.
 */
#ifndef CDRMIN_STORE_H
#define CDRMIN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/err.h"
#include "cdrmin/record.h"
#include "cdrmin/retention.h"
#include "cdrmin/segment.h"

#define CM_STORE_QUARANTINE "quarantine"

enum cm_sync_policy {
	CM_SYNC_CLOSE = 0, /* fsync only when a segment closes */
	CM_SYNC_RECORDS,   /* fsync after every N records */
	CM_SYNC_MS         /* fsync when T ms passed since the first frame not yet
			      synced (checked in put and tick), and at close */
};

struct cm_store_opts {
	const char *dir;
	const unsigned char *key;  /* the store key, CM_STORE_KEYBYTES, in locked memory */
	const char *key_id;        /* its 4-character id (key.h) */
	enum cm_sync_policy sync;
	uint64_t sync_records;     /* CM_SYNC_RECORDS: N */
	unsigned sync_ms;          /* CM_SYNC_MS: T */
	size_t open_max;           /* segments kept open at once (0: 256); the least
				      recently used is closed to open another */
};

/* One stored record, as written and as read back. Slices are not owned. */
struct cm_store_rec {
	int rejected;            /* 0: a record; 1: a rejected record (quarantine) */
	enum cm_reject reason;   /* when rejected (decoded as 0 otherwise) */
	uint64_t epoch;
	int64_t time;
	struct cm_slice source;
	uint64_t line;
	struct cm_slice original;
	struct cm_slice output;
};

struct cm_store_stats {
	uint64_t records, rejected;  /* frames written this run */
	uint64_t durable;            /* of them, synced (by the policy, or by closing a
					segment, evicted or at cm_store_close) */
	uint64_t segments;           /* segments created this run */
	uint64_t recovered;          /* unclosed segments found and recovered at open */
};

struct cm_store;

/*
 * Opens (creating when missing) the store for writing. DIR's parent must
 * exist; a DIR that has no STORE file must be empty (else CM_E_USAGE: not a
 * store). Checks DIR/STORE against the key id (a store made under another
 * key is refused), then recovers every segment left unclosed by an earlier
 * run (segment.h, cm_seg_recover: its torn tail to DIR/torn), counted in
 * stats.recovered. Passed over: segments with a .closed file, segments
 * whose last 21 bytes are shaped like a FINAL frame (a length of 17: taken
 * as closed without decrypting the whole store; cm_store_walk proves it),
 * segments a live writer holds, and segments whose key file is gone (a
 * purge stopped half way). Then writes DIR/policy from ret (NULL: zone UTC,
 * no class). o->key must stay valid until cm_store_close.
 * Returns NULL with err set (CM_E_USAGE, CM_E_IO, CM_E_KEY for the wrong
 * key, CM_E_DATA for a damaged segment that cannot be recovered, naming it).
 */
struct cm_store *cm_store_open(const struct cm_store_opts *o, const struct cm_retention *ret,
			       struct cm_err *err);

/*
 * Appends r to the segment of class cls (CM_STORE_QUARANTINE for a
 * rejected record, and only for one) and day period ("YYYY-MM-DD"),
 * creating it on first use (a new segment per class, day and run, and
 * again after an eviction: an old one is never appended to); syncs as the
 * policy says. Returns 0 or CM_FAIL: CM_E_USAGE (nothing written) for a bad
 * class or day, a rejected record elsewhere than the quarantine or a record
 * in it, a source name over 65535 bytes, a frame over CM_SEG_FRAME_MAX;
 * CM_E_IO, after which the segment at fault is abandoned (left unclosed,
 * for the next open to recover) and the next record of its class and day
 * starts a new one.
 */
int cm_store_put(struct cm_store *s, const char *cls, const char *period,
		 const struct cm_store_rec *r, struct cm_err *err);

/* Syncs when the CM_SYNC_MS policy's time is up (call it when idle). 0 or CM_FAIL. */
int cm_store_tick(struct cm_store *s, struct cm_err *err);

/* Closes every open segment (FINAL frame, fsync). Frees s, also on failure. 0 or CM_FAIL. */
int cm_store_close(struct cm_store *s, struct cm_err *err);

const struct cm_store_stats *cm_store_stats(const struct cm_store *s);

/*
 * Encodes / decodes one frame (the layout above). Encode resets out first
 * (check out->oom); r must pass cm_store_put's checks. Decode: 0 with r's
 * slices into p, or -1 when malformed: short, a length past the end, bytes
 * after the output, a version other than 1, a kind other than 0 or 1, a
 * record with a reason other than 255, a rejected record with an unknown
 * reason or with an output.
 */
void cm_store_rec_encode(const struct cm_store_rec *r, struct cm_buf *out);
int cm_store_rec_decode(const char *p, size_t n, struct cm_store_rec *r);

/* What reading a store visits. */
struct cm_store_seg {
	const struct cm_seg_info *info;
	const char *path;        /* the segment's directory */
};

/*
 * Visits every record of every segment of dir (classes in name order, days
 * in order, segments in creation order: the header's creation second, then
 * the segment file's modification time, then the id) under key: fn(ud, seg,
 * rec, CM_SEG_FRAME) for each record (rec and its slices valid during the
 * call only), and fn(ud, seg, NULL, status) once per segment after its last
 * record, with status the segment's end: CM_SEG_END, CM_SEG_UNCLOSED. cls
 * NULL: every class. A damaged segment (or one that does not open under
 * key) is reported through bad(ud, seg, err) instead of its end, after the
 * records read before the fault, and the walk goes on. Returns 0, or
 * CM_FAIL: CM_E_NOINPUT when dir is not a store, CM_E_IO, CM_E_NOMEM; or
 * fn's non-zero, which stops the walk and leaves err as it was.
 */
typedef int (*cm_store_rec_fn)(void *ud, const struct cm_store_seg *seg,
			       const struct cm_store_rec *rec, int status);
typedef void (*cm_store_bad_fn)(void *ud, const struct cm_store_seg *seg, const struct cm_err *err);
int cm_store_walk(const char *dir, const unsigned char *key, const char *cls, cm_store_rec_fn fn,
		  cm_store_bad_fn bad, void *ud, struct cm_err *err);

/* Reads DIR/policy into r. 0 or CM_FAIL (CM_E_NOINPUT: none; CM_E_DATA naming the line). */
int cm_store_policy(const char *dir, struct cm_retention *r, struct cm_err *err);

/*
 * Adds or removes (release) the hold "cls from to"; from/to NULL for open
 * ends. Adding a hold that is there already changes nothing; releasing
 * removes the lines equal to it (word for word) and fails (CM_E_NOINPUT)
 * when there is none: a range is released only as it was placed. 0 or
 * CM_FAIL (CM_E_USAGE for a bad class, day, or a range that ends before it
 * begins; CM_E_NOINPUT when dir is not a store).
 */
int cm_store_hold(const char *dir, const char *cls, const char *from, const char *to, int release,
		  struct cm_err *err);

/* 1 when a hold covers class cls on day d, and when DIR/holds cannot be read or parsed. */
int cm_store_held(const char *dir, const char *cls, const struct cm_date *d);

/*
 * Destroys (cm_seg_destroy) exactly the segments whose retention ended by
 * today under DIR/policy (cm_retention_expired) and that no hold covers,
 * then removes their emptied day directory; the quarantine follows the
 * policy of its own class "quarantine" when declared, else it is kept.
 * Calls done(ud, cls, period, idhex, destroyed, why) for each segment
 * looked at (done may be NULL): destroyed 1 with why NULL, or 0 with why
 * "class not in the policy", "retained until YYYY-MM-DD", "under a legal
 * hold" or "the period is not a day YYYY-MM-DD". Holds new edits for its
 * duration (DIR/holds.lock). Returns 0, or CM_FAIL at the first failure
 * (no policy, holds that do not parse, CM_E_IO): what was reported destroyed
 * before it is.
 */
typedef void (*cm_store_purge_fn)(void *ud, const char *cls, const char *period, const char *idhex,
				  int destroyed, const char *why);
int cm_store_purge(const char *dir, const struct cm_date *today, cm_store_purge_fn done, void *ud,
		   struct cm_err *err);

/*
 * Appends one line to DIR/audit.log (O_APPEND, one write of the line and
 * '\n', fsync'd): the caller composes it, without originals. 0 or CM_FAIL
 * (CM_E_USAGE for a line with CR or LF; CM_E_NOINPUT when dir is not a store).
 */
int cm_store_audit(const char *dir, const char *line, struct cm_err *err);

#endif
