/*
 * cdrmin: decoders of line-oriented log formats, one record per line.
 *
 *   kv      key=value pairs, as Kamailio's acc module logs a transaction
 *           (src/modules/acc/acc.c, acc_log_request; values written raw,
 *           never escaped, so a value may hold ';' and '='):
 *             transaction answered: timestamp=1700000000;method=INVITE;...
 *           The text before the first ": " that comes before any '=' is the
 *           field "event" ("transaction answered", also for a failed
 *           transaction under failed_transaction_flag; "call missed";
 *           "request acknowledged"; "request accounted"); then pairs split
 *           at the pair separator (';' by default), each split at its
 *           first '=' into the field name (exact bytes, case-sensitive)
 *           and its value. Empty pairs (";;", a trailing ';') are skipped.
 *           An empty line is a syntax reject. With multi_leg_info, acc
 *           repeats the leg names once per leg: such names must stay out
 *           of the schema, or every multi-leg line is a duplicate.
 *   kannel  Kannel's bearerbox access log (gw/bb_alog.c, bb_alog_sms; the
 *           time prefix from gwlib/accesslog.c, absent when access-log-clean
 *           is set: such lines are syntax rejects):
 *             2026-11-22 10:00:00 Receive SMS [SMSC:smsc1] [SVC:] ...
 *               [from:+447700900123] [to:12345] [flags:-1:0:-1:0:-1]
 *               [msg:11:Hello world] [udh:0:]
 *           "time" is the leading "YYYY-MM-DD HH:MM:SS" (digits in those
 *           places, then a space); "event" the bytes after it up to the
 *           first " [" or the end of the line ("Receive SMS", "Sent SMS",
 *           "FAILED Send SMS", "Receive DLR", ...; a "Log begins" line has
 *           no fields); then each [NAME:VALUE] is the field NAME lower-cased
 *           (ASCII; smsc, svc, act, binf, fid, meta, from, to, flags, msg,
 *           udh), NAME non-empty and without ' ', '[' or ']'. A value ends at
 *           the first ']' followed by " [" or by the end of the line, except
 *           msg: its value is "LEN:TEXT" and TEXT is the LEN bytes after the
 *           colon when they are followed by ']' and then " [" or the end of
 *           the line, so brackets and colons inside the text are data; when
 *           LEN does not fit (too large, or not followed so), TEXT runs to
 *           the last "] [udh:" of the line (or the line's last ']'), and
 *           without "LEN:" (decimal digits, then ':') TEXT is the whole
 *           value, ended the same way. The field "msg" is TEXT alone.
 *           Kannel's LEN is the octet count of the message: for coding 0
 *           or -1 (flags' second number) TEXT is those octets with the
 *           non-printable ones written as '.' (raw in older releases); for
 *           coding 1 (8-bit) and 2 (UCS-2) it is their upper-case hex,
 *           2 x LEN bytes, found by the fallback. For coding 2 the field
 *           "msg" is that hex decoded as UTF-16BE and written in UTF-8 (a
 *           lone surrogate becomes U+FFFD), so that scrub and length read
 *           the text itself; hex that is not whole UTF-16 units is kept as
 *           written. Coding 1 (binary) stays hex. The udh value is
 *           "LEN:HEX" likewise.
 *
 * Deny by default: the schema holds the names the rules use; a field the
 * schema lacks is skipped, and a schema name the line lacks is empty.
 */
#ifndef CDRMIN_LINEFMT_H
#define CDRMIN_LINEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/record.h"

/* A name -> schema index table, built once (open addressing, XXH3). */
struct cm_fieldmap {
	size_t mask;
	size_t *slot; /* index + 1; 0 is empty */
	const struct cm_schema *schema;
};

/* Returns 0, or -1 when memory is short. The schema must outlive the map. */
int cm_fieldmap_init(struct cm_fieldmap *m, const struct cm_schema *schema);
void cm_fieldmap_deinit(struct cm_fieldmap *m);
/* The schema index of name[0..n), or -1. */
long cm_fieldmap_find(const struct cm_fieldmap *m, const char *name, size_t n);

/* What went wrong in a line that is rejected. */
struct cm_line_fault {
	enum cm_reject reason; /* CM_REJ_SYNTAX or CM_REJ_DUPLICATE */
	size_t at;             /* byte of the line where it was found, 0-based */
	long field;            /* for CM_REJ_DUPLICATE: the schema index, else -1 */
};

enum cm_linefmt { CM_LINE_KV = 0, CM_LINE_KANNEL };

struct cm_linedec {
	enum cm_linefmt fmt;
	char pair_sep; /* kv */
	struct cm_fieldmap map;
	struct cm_slice *f;
	unsigned char *seen;
	size_t n;
	/* kannel: the line's flags and msg values, and a UCS-2 text decoded */
	struct cm_slice kflags, kmsg;
	long kmsg_idx;
	struct cm_buf text;
};

/*
 * A decoder of fmt for schema (copied by reference: it must outlive the
 * decoder). pair_sep is the kv pair separator. Returns 0, or -1 when memory
 * is short.
 */
int cm_linedec_init(struct cm_linedec *d, enum cm_linefmt fmt, const struct cm_schema *schema,
		    char pair_sep);
void cm_linedec_deinit(struct cm_linedec *d);

/*
 * Decodes line[0..n) (no LF; a trailing CR already removed). Returns 1 and
 * fills rec (n, f; the values are slices of line, valid while it is; type
 * and raw NULL; line and offset untouched), or 0 and fills *fault: reason
 * syntax (kv: an empty line, a pair without '=' or with an empty name;
 * kannel: no leading time, a '[' field without ':', with a bad name or
 * without its ']'), or duplicate (a field the schema names appears twice:
 * a forged pair or bracket must not hide the real one). at is the byte of
 * the time that is out of shape, the first byte of the pair, or the '[' of
 * the field at fault, n at most.
 */
int cm_linedec_decode(struct cm_linedec *d, const char *line, size_t n, struct cm_record *rec,
		      struct cm_line_fault *fault);

/*
 * SMS text measures (3GPP TS 23.038): the number of characters of the UTF-8
 * text s[0..n) and the number of segments it takes. Text made only of the
 * GSM 7-bit default alphabet and its extension table (an extension
 * character counts two septets) is GSM-7: one segment up to 160 septets,
 * else segments of 153 septets, an escape pair never split. Any other text
 * is UCS-2: one segment up to 70 UTF-16 units, else segments of 67 units,
 * a surrogate pair never split. Empty text is 0 characters in 0 segments
 * (GSM-7). Returns 0, or -1 (and zeros) when s is not UTF-8 (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF).
 */
int cm_sms_measure(const char *s, size_t n, size_t *chars, size_t *segments, int *ucs2);

#endif
