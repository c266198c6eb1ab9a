/*
 * cdrmin: scrubbing identifiers out of free text.
 *
 * Finds e-mail addresses, IPv4 and IPv6 addresses and telephone numbers in
 * a text (a caller id, a dial string, a note) and replaces each with its
 * pseudonym, the same token the field actions give for that value (phone
 * numbers normalized under the numbering plan, kind phone; addresses, kind
 * ip; e-mail, kind email), or with a fixed text. Everything else is copied.
 *
 * A telephone number here is an optional "+" followed by digits, where
 * single spaces, dashes and parentheses may separate groups, holding at
 * least min_digits digits. Shorter digit runs (a timeout) stay, and so
 * does the port after an address (192.0.2.1:5060, [2001:db8::1]:5060).
 */
#ifndef CDRMIN_SCRUB_H
#define CDRMIN_SCRUB_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/buf.h"
#include "cdrmin/phone.h"
#include "cdrmin/pseudo.h"

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
	uint64_t epoch;
};

/*
 * Appends the scrubbed form of in[0..n) to out. Returns 0, or CM_FAIL when
 * memory is short.
 */
int cm_scrub(const struct cm_scrub_opts *o, const struct cm_scrub_ctx *ctx, const char *in,
	     size_t n, struct cm_buf *out);

#endif
