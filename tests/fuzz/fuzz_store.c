/*
 * \summary: libFuzzer target for the retained store's readers (segment.h, store.h).
 *
 * A segment is authenticated (a MAC over its header, AEAD frames bound to
 * their segment and position), so random bytes would stop at the first
 * check. The input therefore builds a real segment under a fixed test key,
 * damages its files, and reads it back the ways the store does:
 *
 *   byte 0   flags: bit 0 close the segment (FINAL frame), else abandon it
 *            as a crash would; bit 1 also walk the store (cm_store_walk);
 *            bit 2 plant an IDHEX.closed file made of input bytes; bit 3
 *            recover (cm_seg_recover) a segment that reads unclosed or
 *            damaged; bits 4 and 5 both set: the rest of the input is the
 *            text of DIR/policy and DIR/holds instead (cm_store_policy,
 *            cm_store_held).
 *   byte 1   the number of frames (low 4 bits)
 *   frames   a length byte L, then the frame's bytes: with bit 7 of L set,
 *            L & 127 bytes that fill a stored record (cm_store_rec_encode);
 *            else L raw bytes
 *   edits    4 bytes each: op, a 16-bit offset, a value. op & 3 picks the
 *            file (.seg twice as often as .key and .closed), op >> 2 & 3
 *            what to do: flip bits of a byte, cut the file, append bytes,
 *            write a 4-byte frame length from a table of edge values.
 *
 * The whole input also goes to cm_store_rec_decode as one frame.
 *
 * Aborts when: a frame read back (cm_seg_next, cm_store_walk) differs from
 * the frame written at that position (a forgery got through); an undamaged
 * segment does not read back whole, ending in END (closed) or UNCLOSED
 * (abandoned); a fault is not CM_E_DATA naming the segment; a recovered
 * segment does not read back as its good frames then END, or lets itself be
 * recovered twice; a record that decodes does not encode back to the same
 * bytes, or one that was encoded does not decode; an error message is not
 * NUL-terminated. Leaks are LeakSanitizer's.
 *
 * The files live in a directory made once per process under /dev/shm when
 * it is there (fsync is free on tmpfs), else under TMPDIR or /tmp, emptied
 * after each input and removed at exit.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/record.h"
#include "cdrmin/retention.h"
#include "cdrmin/segment.h"
#include "cdrmin/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES 15
#define CLS "traffic"
#define DAY "2026-11-22"
#define MAX_READS 64 /* more cm_seg_next calls than frames: a reader that never ends */

/* A synthetic test key: never used for real data. */
static const unsigned char test_key[CM_STORE_KEYBYTES] = {
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f,
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
};

/* Frame lengths worth writing over a length field: the bounds of CM_SEG_FRAME_MAX + 17 and a FINAL frame's 17. */
static const uint32_t lengths[] = {
	0, 1, 16, 17, 18, 53, 0x7fffffffu, 0xffffffffu, CM_SEG_FRAME_MAX + 16, CM_SEG_FRAME_MAX + 17,
	CM_SEG_FRAME_MAX + 18, 1u << 24, 4096, 255, 0x10000, 100,
};

static unsigned char *key;    /* test_key in sodium_malloc memory */
static char base[64];         /* the process's directory */
static char run[96], pdir[160], torn[128];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p) != 0 && errno != ENOENT ? -1 : 0;
}

static void rm_tree(const char *p)
{
	if (nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
		abort();
}

static void at_exit(void)
{
	if (base[0])
		rm_tree(base);
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");
	struct stat st;

	if (sodium_init() < 0)
		abort();
	key = sodium_malloc(CM_STORE_KEYBYTES);
	if (!key)
		abort();
	memcpy(key, test_key, CM_STORE_KEYBYTES);
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
		t = "/dev/shm";
	else if (!t || strlen(t) > 32)
		t = "/tmp";
	snprintf(base, sizeof base, "%s/cdrmin-fuzz-store-XXXXXX", t);
	if (!mkdtemp(base))
		abort();
	atexit(at_exit);
	snprintf(run, sizeof run, "%s/store", base);
	snprintf(pdir, sizeof pdir, "%s/seg/" CLS "/" DAY, run);
	snprintf(torn, sizeof torn, "%s/torn", run);
}

/* Writes p[0..n) to path, replacing it (mode 0600). */
static void put_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (n && write(fd, p, n) != (ssize_t)n) || close(fd) != 0)
		abort();
}

/* A fresh, empty store directory with its STORE file. */
static void fresh_store(void)
{
	char p[192];

	rm_tree(run);
	snprintf(p, sizeof p, "%s/seg/" CLS, run);
	if (mkdir(run, 0700) != 0 || mkdir(torn, 0700) != 0)
		abort();
	snprintf(p, sizeof p, "%s/seg", run);
	if (mkdir(p, 0700) != 0)
		abort();
	snprintf(p, sizeof p, "%s/seg/" CLS, run);
	if (mkdir(p, 0700) != 0 || mkdir(pdir, 0700) != 0)
		abort();
	snprintf(p, sizeof p, "%s/STORE", run);
	put_file(p, "cdrmin store 1\nkey fuzz\n", 24);
}

static void check_msg(const struct cm_err *e)
{
	if (!memchr(e->msg, '\0', sizeof e->msg))
		abort();
}

/* The written frames, to compare with what reading gives back. */
struct frames {
	struct cm_buf f[MAX_FRAMES];
	int record[MAX_FRAMES]; /* built by cm_store_rec_encode: must decode */
	size_t n;
};

/* Decodes p[0..n); when it decodes, encoding it again must give the same bytes. */
static int decode_round_trip(const char *p, size_t n)
{
	struct cm_store_rec r;
	struct cm_buf b;

	if (cm_store_rec_decode(p, n, &r) != 0)
		return -1;
	if (r.source.n > n || r.original.n > n || r.output.n > n ||
	    (r.rejected && (r.output.n || (unsigned)r.reason >= CM_REJ__COUNT)))
		abort();
	cm_buf_init(&b);
	cm_store_rec_encode(&r, &b);
	if (b.oom || b.n != n || memcmp(b.p, p, n) != 0)
		abort();
	cm_buf_deinit(&b);
	return 0;
}

/* Frame k of a reading: abort unless it is the frame written there. */
static void check_frame(const struct frames *w, uint64_t k, const char *p, size_t n)
{
	if (k >= w->n || w->f[k].n != n || (n && memcmp(w->f[k].p, p, n) != 0))
		abort();
}

/* Reads segment s to its end; returns the last cm_seg_next value, the good frames in *good. */
static int read_all(struct cm_seg *s, const struct frames *w, uint64_t *good, struct cm_err *e)
{
	struct cm_buf b;
	int rc, i;

	cm_buf_init(&b);
	*good = 0;
	for (i = 0; i < MAX_READS; i++) {
		rc = cm_seg_next(s, &b, e);
		if (rc != CM_SEG_FRAME)
			break;
		check_frame(w, *good, b.p, b.n);
		if (w->record[*good] && decode_round_trip(b.p, b.n) != 0)
			abort();
		(*good)++;
		if (cm_seg_frames(s) != *good)
			abort();
	}
	if (i == MAX_READS)
		abort(); /* more frames than were written, or no end */
	if (rc == CM_FAIL) {
		check_msg(e);
		if (e->code != CM_E_DATA && e->code != CM_E_NOMEM)
			abort();
	} else if (rc != CM_SEG_END && rc != CM_SEG_UNCLOSED) {
		abort();
	}
	/* Once ended, every call says the same. */
	if (cm_seg_next(s, &b, e) != rc)
		abort();
	cm_buf_deinit(&b);
	return rc;
}

struct walk {
	const struct frames *w;
	uint64_t records, ends, bad;
};

static int on_rec(void *ud, const struct cm_store_seg *seg, const struct cm_store_rec *rec, int status)
{
	struct walk *k = ud;
	struct cm_buf b;

	if (strcmp(seg->info->cls, CLS) != 0 || strcmp(seg->info->period, DAY) != 0)
		abort();
	if (!rec) {
		if (status != CM_SEG_END && status != CM_SEG_UNCLOSED)
			abort();
		k->ends++;
		return 0;
	}
	if (status != CM_SEG_FRAME)
		abort();
	cm_buf_init(&b);
	cm_store_rec_encode(rec, &b);
	if (b.oom)
		abort();
	check_frame(k->w, k->records, b.p, b.n);
	cm_buf_deinit(&b);
	k->records++;
	return 0;
}

static void on_bad(void *ud, const struct cm_store_seg *seg, const struct cm_err *e)
{
	struct walk *k = ud;

	(void)seg;
	check_msg(e);
	if (e->code != CM_E_DATA && e->code != CM_E_NOINPUT)
		abort();
	k->bad++;
}

/* Fills a record from p[0..n) and encodes it into out. */
static void make_record(const uint8_t *p, size_t n, struct cm_buf *out)
{
	struct cm_store_rec r;
	size_t half;

	memset(&r, 0, sizeof r);
	if (n >= 4) {
		r.rejected = p[0] & 1;
		r.reason = r.rejected ? (enum cm_reject)((p[0] >> 1) % CM_REJ__COUNT) : (enum cm_reject)0;
		r.epoch = p[1];
		r.time = (int64_t)(int8_t)p[2] * 86400;
		r.line = p[3];
		p += 4;
		n -= 4;
	}
	r.source.p = "fuzz.pcap";
	r.source.n = 9;
	half = n / 2;
	r.original.p = (const char *)p;
	r.original.n = r.rejected ? n : half;
	r.output.p = (const char *)p + half;
	r.output.n = r.rejected ? 0 : n - half;
	cm_store_rec_encode(&r, out);
	if (out->oom)
		abort();
}

/* Applies one edit to the file at path. */
static void edit(const char *path, unsigned op, unsigned off, unsigned val)
{
	unsigned char b[4];
	struct stat st;
	size_t size, i;
	int fd;

	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return;
		abort();
	}
	if (fstat(fd, &st) != 0)
		abort();
	size = (size_t)st.st_size;
	switch ((op >> 2) & 3) {
	case 0: /* flip bits of one byte */
		if (size == 0)
			break;
		off %= size;
		if (pread(fd, b, 1, off) != 1)
			abort();
		b[0] ^= (unsigned char)(val ? val : 0x80);
		if (pwrite(fd, b, 1, off) != 1)
			abort();
		break;
	case 1: /* cut */
		if (ftruncate(fd, (off_t)(off % (size + 1))) != 0)
			abort();
		break;
	case 2: /* append val + 1 bytes of (off & 255) */
		memset(b, off & 255, sizeof b);
		for (i = 0; i <= val; i += 4)
			if (pwrite(fd, b, val + 1 - i < 4 ? val + 1 - i : 4, (off_t)(size + i)) < 0)
				abort();
		break;
	case 3: /* a 4-byte length */
		{
			uint32_t v = lengths[val % (sizeof lengths / sizeof *lengths)];

			b[0] = (unsigned char)(v >> 24);
			b[1] = (unsigned char)(v >> 16);
			b[2] = (unsigned char)(v >> 8);
			b[3] = (unsigned char)v;
			if (pwrite(fd, b, 4, (off_t)(off % (size + 1))) != 4)
				abort();
		}
		break;
	}
	close(fd);
}

/* DIR/policy and DIR/holds from text. */
static void texts(const uint8_t *data, size_t size)
{
	static const char *const days[] = { "2026-11-22", "1970-01-01", "9999-12-31", "2024-02-29" };
	struct cm_retention r;
	struct cm_date d;
	struct cm_err e;
	char p[192];
	size_t i;

	snprintf(p, sizeof p, "%s/policy", run);
	put_file(p, data, size);
	snprintf(p, sizeof p, "%s/holds", run);
	put_file(p, data, size);
	memset(&e, 0, sizeof e);
	if (cm_store_policy(run, &r, &e) != 0) {
		check_msg(&e);
		if (e.code != CM_E_DATA)
			abort();
	} else if (!memchr(r.zone, '\0', sizeof r.zone)) {
		abort();
	}
	for (i = 0; i < sizeof days / sizeof *days; i++) {
		int h;

		if (cm_date_parse(days[i], &d) != 0)
			abort();
		h = cm_store_held(run, CLS, &d);
		if (h != 0 && h != 1)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frames w;
	struct cm_seg *s = NULL;
	struct cm_err e;
	char path[256], idhex[2 * CM_SEG_ID_BYTES + 1];
	size_t at = 2, i, edits = 0;
	unsigned flags;
	uint64_t good = 0, again = 0;
	int rc = CM_FAIL;

	if (!key)
		setup();
	(void)decode_round_trip((const char *)data, size);
	if (size < 2)
		return 0;
	flags = data[0];
	fresh_store();
	if ((flags & 0x30) == 0x30) {
		texts(data + 1, size - 1);
		return 0;
	}

	/* The segment, its frames from the input. */
	memset(&w, 0, sizeof w);
	memset(&e, 0, sizeof e);
	s = cm_seg_create(pdir, CLS, DAY, key, &e);
	if (!s)
		abort();
	memcpy(idhex, cm_seg_info(s)->idhex, sizeof idhex);
	w.n = data[1] & 15;
	for (i = 0; i < w.n; i++) {
		size_t l = at < size ? data[at] : 0;

		at++;
		cm_buf_init(&w.f[i]);
		if (l & 0x80) {
			l &= 0x7f;
			if (l > size - (at < size ? at : size))
				l = at < size ? size - at : 0;
			make_record(data + (at < size ? at : size), l, &w.f[i]);
			w.record[i] = 1;
		} else {
			if (l > size - (at < size ? at : size))
				l = at < size ? size - at : 0;
			cm_buf_add(&w.f[i], data + (at < size ? at : size), l);
		}
		at += l;
		if (cm_seg_append(s, w.f[i].p, w.f[i].n, &e) != 0)
			abort();
	}
	if (flags & 1) {
		if (cm_seg_close(s, &e) != 0)
			abort();
	} else {
		cm_seg_abandon(s);
	}
	s = NULL;

	if (flags & 4) {
		unsigned char forged[80];

		memset(forged, 0, sizeof forged);
		memcpy(forged, "CDRMEND1", 8);
		for (i = 8; i < sizeof forged && at < size; i++)
			forged[i] = data[at++];
		snprintf(path, sizeof path, "%s/%s.closed", pdir, idhex);
		put_file(path, forged, sizeof forged);
		edits++;
	}
	/* Damage. */
	for (; at + 4 <= size; at += 4) {
		static const char *const ext[] = { ".seg", ".key", ".closed", ".seg" };

		snprintf(path, sizeof path, "%s/%s%s", pdir, idhex, ext[data[at] & 3]);
		edit(path, data[at], (unsigned)data[at + 1] << 8 | data[at + 2], data[at + 3]);
		edits++;
	}

	/* Reading. */
	memset(&e, 0, sizeof e);
	s = cm_seg_open_read(pdir, idhex, key, &e);
	if (!s) {
		check_msg(&e);
		if (edits == 0 || (e.code != CM_E_DATA && e.code != CM_E_NOINPUT))
			abort();
	} else {
		if (strcmp(cm_seg_info(s)->cls, CLS) != 0 || strcmp(cm_seg_info(s)->period, DAY) != 0)
			abort();
		rc = read_all(s, &w, &good, &e);
		if (edits == 0 && (good != w.n || rc != ((flags & 1) ? CM_SEG_END : CM_SEG_UNCLOSED)))
			abort();
		if ((flags & 8) && rc != CM_SEG_END && !(rc == CM_FAIL && e.code == CM_E_NOMEM)) {
			memset(&e, 0, sizeof e);
			if (cm_seg_recover(s, torn, &e) == 0) {
				cm_seg_free(s);
				s = cm_seg_open_read(pdir, idhex, key, &e);
				if (!s)
					abort(); /* recovered, then cannot be opened */
				if (read_all(s, &w, &again, &e) != CM_SEG_END || again != good)
					abort();
				memset(&e, 0, sizeof e);
				if (cm_seg_recover(s, torn, &e) == 0)
					abort(); /* recovered twice */
				check_msg(&e);
			} else {
				check_msg(&e);
				if (e.code != CM_E_DATA && e.code != CM_E_USAGE)
					abort();
			}
		}
		cm_seg_free(s);
	}

	if (flags & 2) {
		struct walk k = { &w, 0, 0, 0 };

		memset(&e, 0, sizeof e);
		if (cm_store_walk(run, key, NULL, on_rec, on_bad, &k, &e) != 0)
			abort(); /* one damaged segment is reported, not a failure */
		if (k.ends + k.bad != 1 || k.records > w.n)
			abort();
	}
	for (i = 0; i < w.n; i++)
		cm_buf_deinit(&w.f[i]);
	return 0;
}
