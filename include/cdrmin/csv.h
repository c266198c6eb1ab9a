/*
 * cdrmin: CSV decoder and encoder (RFC 4180).
 *
 * The decoder is incremental and zero copy: it finds the next record in a
 * caller's buffer and returns its fields as slices into that buffer. A
 * quoted field with doubled quotes is unescaped in place (the buffer is
 * modified only once the whole record is known), so slices always hold
 * the logical value. CRLF and LF line ends give the same fields. Blank
 * lines are skipped.
 */
#ifndef CDRMIN_CSV_H
#define CDRMIN_CSV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h" /* CM_NEED_MORE, CM_FAIL */
#include "cdrmin/record.h"

#define CM_CSV_MAX_RECORD_DEFAULT (1u << 20) /* 1 MiB */
#define CM_CSV_MAX_FIELDS 65536

struct cm_csv_opts {
	char delim;        /* field separator, ',' by default */
	size_t max_record; /* longest record accepted, in bytes */
};

struct cm_csv {
	struct cm_csv_opts o;
	struct cm_slice *fields; /* storage for the current record's fields */
	size_t cap;
	uint64_t line;   /* line number of the next byte to decode, 1-based */
	uint64_t offset; /* stream offset of the next byte to decode */
	/*
	 * After an over-long record is rejected, its tail is dropped up to the
	 * LF that ends it, quotes tracked (see cm_csv_next). skipping is 1
	 * until then; the calls that drop the tail return CM_CSV_NOTHING.
	 */
	int skipping;
	int skip_state; /* scanner state in that tail (private to csv.c) */
	/*
	 * Line of the LF that ended the last over-long record, set when its
	 * skip finished (by the CM_CSV_REJECT itself when that LF was already
	 * in buf, else by the CM_CSV_NOTHING after which skipping is 0); then
	 * dec->line is the next record's line. 0 while skipping, after a
	 * reset, and when the record ran to the end of the input.
	 */
	uint64_t last_skip_line;
	/*
	 * The record in progress after CM_NEED_MORE, so that a refill resumes
	 * the scan instead of restarting it. Positions count from the record's
	 * first byte (the caller may move the buffer between calls).
	 */
	size_t scan_pos; /* bytes of the record already scanned */
	int scan_state;  /* scanner state at scan_pos (private to csv.c) */
	int scan_bad;    /* bytes followed a closing quote */
};

/* What cm_csv_next found. */
enum cm_csv_what {
	CM_CSV_RECORD = 1, /* rec holds a record */
	CM_CSV_REJECT,     /* a malformed record was consumed; see reason, rec.line */
	CM_CSV_NOTHING     /* bytes consumed (blank line, skipped tail), no record */
};

struct cm_csv_result {
	enum cm_csv_what what;
	enum cm_reject reason; /* for CM_CSV_REJECT */
	struct cm_record rec;  /* for RECORD; line and offset also for REJECT */
};

/* Fills opts with the defaults (',' and 1 MiB). */
void cm_csv_opts_default(struct cm_csv_opts *o);

/*
 * Returns 0, or -1 when memory is short or o is invalid (delim is '"',
 * CR, LF or NUL). o may be NULL for the defaults.
 */
int cm_csv_init(struct cm_csv *dec, const struct cm_csv_opts *o);
void cm_csv_deinit(struct cm_csv *dec);

/*
 * Exchanges the decoder's field storage with *f (*cap slots; NULL and 0 to
 * start): the fields of the record just returned stay in *f while the next
 * is decoded into the other. The caller frees what it holds in the end.
 */
void cm_csv_swap_fields(struct cm_csv *dec, struct cm_slice **f, size_t *cap);

/*
 * Resets line and offset counting for a new source (a new file), and
 * forgets any record in progress or over-long tail being skipped.
 */
void cm_csv_reset(struct cm_csv *dec);

/*
 * Decode the next record from buf[0..len).
 * eof != 0 says no byte will follow buf[len-1] (end of the source): then a
 * last line without a newline is a record, and an open quote is a reject.
 * Returns bytes consumed (> 0) and fills res, or CM_NEED_MORE when buf holds
 * only part of a record (consumes nothing; call again with the same bytes
 * and more after them; the caller's buffer must be able to hold
 * max_record + 1 bytes), or 0 when eof and len == 0, or CM_FAIL when the
 * field array cannot grow (out of memory; nothing consumed, buf unchanged).
 * A record is at most max_record bytes from its first byte up to, not
 * counting, its LF (a CR before the LF counts). A record with no end within
 * its first max_record + 1 bytes is rejected (CM_REJ_TOOLONG) once, and
 * every byte up to and including the LF that ends it is dropped: the LF
 * the decoder would have ended it at with no limit, so quotes are tracked
 * from the record's first byte (a LF inside a quoted field does not end
 * it; a quote inside an unquoted field is data). A quote that never closes
 * makes the rest of the input part of that record: one reject, nothing
 * after it. No byte of the tail is kept, and the drop does not depend on
 * how the input is split between calls. Precedence of rejects: too long,
 * NUL, quote, columns.
 * On CM_CSV_REJECT the consumed bytes are the record as read (LF
 * included; for too long, as much of it as buf holds); on CM_CSV_RECORD
 * they may have been unescaped in place.
 * Field slices point into buf (modified in place for "" escapes) and stay
 * valid until the caller moves or refills those bytes.
 */
ssize_t cm_csv_next(struct cm_csv *dec, char *buf, size_t len, int eof,
		    struct cm_csv_result *res);

/*
 * Appends one field to out, quoted when it holds the delimiter, a quote,
 * CR or LF (RFC 4180 section 2), with inner quotes doubled. An empty field
 * is written as nothing: a record of one empty field must be written as
 * "" by the caller, or it reads back as a blank line.
 */
void cm_csv_put(struct cm_buf *out, const char *p, size_t n, char delim);
/* The fields v[0..n) as one record's fields, delimited, quoted as cm_csv_put
 * quotes them; no line break. */
void cm_csv_put_fields(struct cm_buf *out, const struct cm_slice *v, size_t n, char delim);

#endif
