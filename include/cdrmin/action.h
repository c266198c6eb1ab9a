/*
 * cdrmin: actions, the small pure functions a rule applies to one value.
 *
 * An action is (value, key material, parameters) -> output text. The rules
 * parser fills struct cm_action; the plan calls cm_action_apply for each
 * protected field of each record. An empty value stays empty (there is
 * nothing in it to protect), except under redact, which always writes its
 * text.
 */
#ifndef CDRMIN_ACTION_H
#define CDRMIN_ACTION_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/buf.h"
#include "cdrmin/generalize.h"
#include "cdrmin/phone.h"
#include "cdrmin/pseudo.h"
#include "cdrmin/record.h"
#include "cdrmin/scrub.h"

enum cm_act {
	CM_ACT_DROP = 0, /* the field leaves no column */
	CM_ACT_KEEP,     /* passes unchanged */
	CM_ACT_REDACT,   /* replaced by a fixed text */
	CM_ACT_PSEUDONYM,/* keyed token of the value normalized for its kind */
	CM_ACT_PHONE,    /* E.164 normalization, then pseudonym or truncation */
	CM_ACT_IP,       /* prefix truncation or pseudonym */
	CM_ACT_GEO,      /* "lat,lon" rounded */
	CM_ACT_LAT,      /* latitude rounded */
	CM_ACT_LON,      /* longitude rounded */
	CM_ACT_GEOHASH,  /* geohash cut to its first N characters */
	CM_ACT_CELL,     /* cell global id -> its location/tracking area */
	CM_ACT_TIME,     /* floor to minute, hour or day */
	CM_ACT_BUCKET,   /* number -> bucket label */
	CM_ACT_SCRUB,    /* identifiers in free text replaced */
	CM_ACT_LENGTH    /* SMS text -> "characters:segments" (linefmt.h, cm_sms_measure) */
};

/*
 * phone: what becomes of an alphanumeric sender id (a brand name in an SMS
 * sender field: 1 to CM_ALNUM_SENDER_MAX characters of letters, digits,
 * blanks and . & ' _ -, at least one letter, fewer than
 * CM_HIDDEN_DIGITS_MIN digits, so no number hides in one).
 */
enum cm_alnum { CM_ALNUM_INVALID = 0, CM_ALNUM_KEEP, CM_ALNUM_PSEUDONYM, CM_ALNUM_REDACT };
#define CM_ALNUM_SENDER_MAX 11 /* 3GPP TS 23.040 9.1.2.5: 11 GSM characters */

/* What happens to a value the action cannot read. */
enum cm_invalid {
	CM_INVALID_REJECT = 0, /* the record is rejected (reason "value") */
	CM_INVALID_REDACT,     /* the value becomes the redact text */
	CM_INVALID_PSEUDONYM   /* the value becomes a token of kind generic */
};

/* phone, ip: pseudonym or truncate; ip also prefix (prefix-preserving, Crypto-PAn). */
enum cm_act_mode { CM_MODE_PSEUDONYM = 0, CM_MODE_TRUNCATE, CM_MODE_PREFIX };

#define CM_REDACT_DEFAULT "REDACTED"

/*
 * A kept prefix (keep=, truncate digits=) is written only when at least
 * this many digits stay hidden: a number is never spelled out whole or
 * nearly whole.
 */
#define CM_HIDDEN_DIGITS_MIN 4

/* Largest prefixes ip truncate accepts: longer ones would keep a host or a customer's network. */
#define CM_IP_V4_BITS_MAX 24
#define CM_IP_V6_BITS_MAX 48

/*
 * Finest places the rules may keep: 4 decimals of a degree (about 11 m)
 * and 8 geohash characters (about 38 x 19 m). Finer would keep a building.
 */
#define CM_GEO_DECIMALS_MAX 4
#define CM_GEOHASH_KEEP_MAX 8

struct cm_action {
	enum cm_act type;
	enum cm_act_mode mode;   /* phone, ip */
	enum cm_kind kind;       /* pseudonym */
	enum cm_invalid invalid;
	enum cm_alnum alnum;     /* phone: alphanumeric sender ids (default: as invalid= says) */
	int decode_url;          /* decode=url: %XX escapes decoded before the action reads the value */
	unsigned bits;           /* token bits */
	int keep_cc;             /* phone pseudonym: prefix the country code */
	unsigned keep_digits;    /* phone, imsi, imei pseudonym: prefix N digits */
	unsigned digits;         /* phone truncate */
	unsigned v4bits, v6bits; /* ip truncate */
	unsigned decimals;       /* geo, lat, lon */
	unsigned chars;          /* geohash: characters kept */
	enum cm_time_unit unit;  /* time */
	struct cm_bucket bucket; /* bucket */
	struct cm_scrub_opts scrub;
	char *text;              /* redact text (owned), also for invalid=redact */
};

/* A row number's token, written at off in a buffer: len bytes, of bits. */
struct cm_row_token {
	size_t off;
	unsigned len, bits;
};

struct cm_action_ctx {
	struct cm_pseudo *ps; /* NULL when the plan needs no key */
	const struct cm_numbering *np;
	struct cm_phone_memo *pm; /* normalizations memo (phone.h), or NULL */
	uint64_t epoch;       /* the record's epoch id */
	struct cm_buf *tmp;   /* caller's scratch for normalized values */
	const struct cm_slice *row; /* the record's protected numbers, for scrub (see scrub.h) */
	size_t nrow;
	struct cm_buf *dec;   /* caller's scratch for decode=url values (may be NULL without it) */
	struct cm_buf *probes; /* scrub's log of its lookups in the row (scrub.h), or NULL */
	struct cm_scrub_watch *watch; /* scrub's watched span (scrub.h), or NULL */
	/*
	 * For the scrub templates of fieldmemo.c: the row numbers' bytes as
	 * the record holds them (row[k] is the normalization of rowraw[k]; of
	 * length 0 when the value was decoded first) and their pseudonym
	 * cache hashes. NULL: not known.
	 */
	const struct cm_slice *rowraw;
	const uint64_t *rowh;
	/*
	 * The row numbers' tokens written already for this record: rowtok[k]
	 * is row[k]'s token of rowtok[k].bits, at rowtok[k].off in tokbuf
	 * (len 0: none yet). NULL: none known.
	 */
	const struct cm_row_token *rowtok;
	const struct cm_buf *tokbuf;
	/*
	 * When not NULL, a phone action given its value's normalization sets
	 * *tok_at to where its token starts in out (plan.c fills rowtok so).
	 */
	size_t *tok_at;
	/*
	 * A phone action's value normalized already (a row number: plan.c),
	 * of class given_cls (E.164 or local), or NULL: the action normalizes
	 * the value itself. Set only around one field's action.
	 */
	const struct cm_slice *given;
	enum cm_phone_class given_cls;
	uint64_t given_h; /* its pseudonym cache hash (cm_pseudo_prefetch), or 0 */
};

/* Sets defaults for an action of type t (bits 128, /24 and /48, 2 decimals, 5 geohash chars, ...). */
void cm_action_init(struct cm_action *a, enum cm_act t);
void cm_action_deinit(struct cm_action *a);

/*
 * Appends the output for value v[0..n) to out. Returns 0, 1 when the value
 * cannot be read and the action's invalid policy is reject, or CM_FAIL when
 * memory is short or the action needs a token and c->ps is NULL.
 */
int cm_action_apply(const struct cm_action *a, const struct cm_action_ctx *c, const char *v,
		    size_t n, struct cm_buf *out);

/*
 * URL percent-decoding (RFC 3986 section 2.1), as FreeSWITCH's JSON CDRs
 * encode their variables, into out (reset first): %XX becomes its byte; a
 * '%' not followed by two hex digits stays; '+' stays (not a blank here).
 */
void cm_url_decode(const char *v, size_t n, struct cm_buf *out);

/* 1 when the action needs the pseudonym key. */
int cm_action_keyed(const struct cm_action *a);

/* Appends a one-line description for `cdrmin check` ("phone pseudonym, ..."). */
void cm_action_describe(const struct cm_action *a, struct cm_buf *out);

/* Name of an action type as written in rules ("keep", "phone", ...). */
const char *cm_act_name(enum cm_act t);

#endif
