/*
 * cdrmin: scrubbing identifiers out of free text.
 *
 * Finds e-mail addresses, IPv4 and IPv6 addresses and telephone numbers in
 * a text (a caller id, a dial string, a note) and replaces each with its
 * pseudonym, the same token the field actions give for that value (phone
 * numbers normalized under the numbering plan, kind phone; addresses, kind
 * ip; e-mail, kind email), or with a fixed text. Everything else is copied.
 *
 * A telephone number here is an optional "+" followed by digit groups
 * joined by runs of one to three separator characters (cm_phone_sep_len:
 * blanks, tab, '-', '.', '/', '_', every Unicode space and dash, the
 * minus, the middle dots; "01.23.45.67.89", "01 - 23 - 45",
 * "0470/12.34.56"; not ',' nor ':'), where the invisible ones
 * (cm_phone_ignorable_len: zero width space, soft hyphen, direction marks
 * ...) are not counted, or set off by parentheses, holding at least
 * min_digits digits in all, whatever the length of each group. Digits are
 * those of cm_phone_digit_at: ASCII and every Unicode decimal digit, and
 * the superscripts and subscripts (020 7946 0123 in Arabic-Indic or Thai
 * digits is the number 02079460123).
 * Shorter digit runs (a timeout) stay, unless the run, or one of its
 * groups, normalizes to one of the record's protected numbers (ctx->row):
 * those get the number's token whatever their length. Dates and dotted
 * version numbers of min_digits digits or more are read as numbers.
 *
 * An e-mail address is any user@host: a local part of RFC 5322 atext and
 * dots (but not '/', so "PJSIP/alice@trunk" keeps "PJSIP/", nor '=', so
 * "email=alice@example.com" keeps "email=") and UTF-8 (up to a separator
 * that shows: "alice<U+3000>bob@x" holds bob@x, "ali<U+200B>ce@x" is one), then
 * a host name, with or without a dot ("alice@pbx"), or an address literal
 * ("alice@[2001:db8::1]"). A local part that is a telephone number
 * ("PJSIP/+442079460123@trunk") is the number's: the token of the number,
 * then "@trunk".
 *
 * An IPv4 address is a dotted quad whose parts are at most 255, where a
 * part opening with 0 is "0" or padded to three digits ("192.000.002.001"
 * is 192.0.2.1 and gets its token; "01.23.45.67.89" is a number). The
 * port after an address stays (192.0.2.1:5060, [2001:db8::1]:5060, and
 * tcpdump's 192.0.2.1.5060 and 2001:db8::1.5060): a fifth dotted part of 1
 * to 5 digits after a quad is a port, so "1.2.3.4.5" is an address and a
 * port. "x.192.0.2.1" is an address; a longer dotted run ("1.2.3.4.5.6", an
 * OID) holds none and is read as a number. A port that is one of the
 * record's numbers (ctx->row) is replaced like any of them.
 */
#ifndef CDRMIN_SCRUB_H
#define CDRMIN_SCRUB_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/buf.h"
#include "cdrmin/phone.h"
#include "cdrmin/pseudo.h"
#include "cdrmin/record.h"

#define CM_SCRUB_MIN_DIGITS_DEFAULT 4

struct cm_scrub_opts {
	unsigned min_digits;     /* shortest digit run taken as a number */
	int redact;              /* 1: replace with redact_text instead of tokens */
	const char *redact_text; /* used when redact */
	int display_redact;      /* 1: double-quoted display names become "" */
	unsigned bits;           /* token bits */
};

/*
 * Defaults: min_digits CM_SCRUB_MIN_DIGITS_DEFAULT, tokens of
 * CM_TOKEN_BITS_DEFAULT bits, redact_text "REDACTED" (used only when
 * redact), and display_redact on: a display name is a person's name. With
 * display_redact, "Alice \"A\" Example" <...> becomes "" <...>, and an
 * unterminated quote drops the rest of the text (written as "").
 */
void cm_scrub_opts_default(struct cm_scrub_opts *o);

struct cm_scrub_ctx {
	const struct cm_numbering *np;
	struct cm_pseudo *ps;
	struct cm_phone_memo *pm; /* normalizations memo (phone.h), or NULL */
	uint64_t epoch;
	/*
	 * The numbers the record's phone fields protect, in their normalized
	 * forms (cm_phone_normalize under np: "+" and digits, or local
	 * digits). A digit run of the text, or a group of a run too short to
	 * be a number, that normalizes to one of them is replaced by its token
	 * (the field's) whatever its length: extension 101 in src is not left
	 * in clear in the clid "Alice" <101> of the same record. Other forms
	 * (markers, user names) are never matched. May be NULL (nrow 0).
	 * Each lookup compares with every entry: meant for a record's few
	 * phone fields.
	 */
	const struct cm_slice *row;
	size_t nrow;
	/*
	 * Scratch for normalized values, reused across calls (the caller wipes
	 * it when done: it holds originals); NULL: cm_scrub uses its own.
	 */
	struct cm_buf *tmp;
	/*
	 * When not NULL, every comparison with the row is logged here: the
	 * normalized value looked up (its length byte, then whether it was one
	 * of the row's numbers, then its bytes), or a length byte of 255 when
	 * memory ran short. The output depends on the row through these
	 * answers only (and whether nrow is 0): a memo of the output is good
	 * for another row that answers them the same (fieldmemo.h).
	 */
	struct cm_buf *probes;
	/*
	 * When not NULL: tells where the span watch->start..end of the text,
	 * if it is replaced as one telephone number on its own, put its token
	 * (fieldmemo.c makes a template of the output from it).
	 */
	struct cm_scrub_watch *watch;
};

/*
 * A span of a scrubbed text: watched for its replacement. cm_scrub sets
 * found to the times the span was replaced as one telephone number (by
 * the number rule, not as a port), at and len to where its token went in
 * the output (from out's length at the call).
 */
struct cm_scrub_watch {
	size_t start, end;
	size_t at, len;
	unsigned found;
};

/*
 * Appends the scrubbed form of in[0..n) to out. Returns 0, or CM_FAIL when
 * memory is short or a token is needed and ctx->ps is NULL (out is then
 * left as it was).
 */
int cm_scrub(const struct cm_scrub_opts *o, const struct cm_scrub_ctx *ctx, const char *in,
	     size_t n, struct cm_buf *out);

#endif
