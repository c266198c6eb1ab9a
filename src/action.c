/*
 * \summary: actions: keep, redact, pseudonym, phone, ip, geo, geohash, cell,
 * time, bucket, scrub, applied to one value
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/action.h"
#include "cdrmin/ipaddr.h"
#include "cdrmin/linefmt.h"

static const char *const act_names[] = {
	[CM_ACT_DROP] = "drop",     [CM_ACT_KEEP] = "keep",   [CM_ACT_REDACT] = "redact",
	[CM_ACT_PSEUDONYM] = "pseudonym", [CM_ACT_PHONE] = "phone", [CM_ACT_IP] = "ip",
	[CM_ACT_GEO] = "geo",       [CM_ACT_LAT] = "lat",     [CM_ACT_LON] = "lon",
	[CM_ACT_GEOHASH] = "geohash", [CM_ACT_CELL] = "cell",     [CM_ACT_TIME] = "time",   [CM_ACT_BUCKET] = "bucket",
	[CM_ACT_SCRUB] = "scrub",   [CM_ACT_LENGTH] = "length",
};

const char *cm_act_name(enum cm_act t)
{
	return (unsigned)t < sizeof act_names / sizeof act_names[0] ? act_names[t] : "?";
}

void cm_action_init(struct cm_action *a, enum cm_act t)
{
	memset(a, 0, sizeof *a);
	a->type = t;
	a->kind = CM_KIND_GENERIC;
	a->bits = CM_TOKEN_BITS_DEFAULT;
	a->v4bits = 24;
	a->v6bits = 48;
	a->decimals = 2;
	a->chars = CM_GEOHASH_CHARS_DEFAULT;
	a->unit = CM_TIME_HOUR;
	/*
	 * A pseudonym always yields a token: what it cannot normalize gets a
	 * token of kind generic. Structured values (addresses, times, places,
	 * numbers) that do not parse reject the record unless the rules say
	 * otherwise: the data is not what the rules expect.
	 */
	a->invalid = (t == CM_ACT_PHONE || t == CM_ACT_PSEUDONYM) ? CM_INVALID_PSEUDONYM
								 : CM_INVALID_REJECT;
	cm_scrub_opts_default(&a->scrub);
	a->scrub.bits = a->bits;
}

void cm_action_deinit(struct cm_action *a)
{
	size_t i;

	for (i = 0; i < a->bucket.n; i++)
		free(a->bucket.label[i]);
	free(a->bucket.label);
	free(a->bucket.bound);
	free(a->text);
	memset(a, 0, sizeof *a);
}

int cm_action_keyed(const struct cm_action *a)
{
	switch (a->type) {
	case CM_ACT_PSEUDONYM:
		return 1;
	case CM_ACT_PHONE:
	case CM_ACT_IP:
		return a->mode == CM_MODE_PSEUDONYM || a->mode == CM_MODE_PREFIX ||
		       a->invalid == CM_INVALID_PSEUDONYM || a->alnum == CM_ALNUM_PSEUDONYM;
	case CM_ACT_SCRUB:
		return !a->scrub.redact;
	default:
		return a->invalid == CM_INVALID_PSEUDONYM && a->type != CM_ACT_KEEP &&
		       a->type != CM_ACT_DROP && a->type != CM_ACT_REDACT;
	}
}

static const char *redact_text(const struct cm_action *a)
{
	return a->text ? a->text : CM_REDACT_DEFAULT;
}

static int token(const struct cm_action *a, const struct cm_action_ctx *c, enum cm_kind kind,
		 const char *v, size_t n, struct cm_buf *out)
{
	if (!c->ps)
		return CM_FAIL;
	return cm_pseudo_token(c->ps, kind, c->epoch, v, n, a->bits, out);
}

/* The value cannot be read: apply the invalid= policy. */
static int invalid(const struct cm_action *a, const struct cm_action_ctx *c, const char *v, size_t n,
		   struct cm_buf *out)
{
	switch (a->invalid) {
	case CM_INVALID_REDACT:
		cm_buf_adds(out, redact_text(a));
		return 0;
	case CM_INVALID_PSEUDONYM:
		return token(a, c, CM_KIND_GENERIC, v, n, out);
	case CM_INVALID_REJECT:
		break;
	}
	return 1;
}

/*
 * Prefix, "/", token. The prefix is the first keep digits of digits[0..n)
 * (after a "+" when plus), written only when it leaves at least
 * CM_HIDDEN_DIGITS_MIN digits hidden.
 */
static int prefixed_token(const struct cm_action *a, const struct cm_action_ctx *c, enum cm_kind kind,
			  const char *norm, size_t nn, uint64_t h, int plus, size_t keep,
			  struct cm_buf *out)
{
	size_t ndigits = nn - (plus ? 1 : 0);

	if (keep && keep + CM_HIDDEN_DIGITS_MIN <= ndigits) {
		cm_buf_add(out, norm, keep + (plus ? 1 : 0));
		cm_buf_addc(out, '/');
	}
	if (!c->ps)
		return CM_FAIL;
	if (c->given && c->tok_at)
		*c->tok_at = out->n;
	return cm_pseudo_token_h(c->ps, kind, c->epoch, norm, nn, h, a->bits, out);
}

/* 1 when v[0..n) reads as an alphanumeric SMS sender id (see enum cm_alnum). */
static int alnum_sender(const char *v, size_t n)
{
	size_t i, letters = 0, digits = 0;

	if (n == 0 || n > CM_ALNUM_SENDER_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = v[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
			letters++;
		else if (ch >= '0' && ch <= '9')
			digits++;
		else if (!strchr(" .&'_-", ch) || ch == '\0')
			return 0;
	}
	return letters > 0 && digits < CM_HIDDEN_DIGITS_MIN;
}

static int apply_phone(const struct cm_action *a, const struct cm_action_ctx *c, size_t keep_digits,
		       const char *v, size_t n, struct cm_buf *out)
{
	struct cm_buf *t = c->tmp;
	enum cm_phone_class cls;
	const char *np;
	size_t nn, keep = 0;

	if (c->given) {
		/* normalized for the row already (plan.c) */
		cls = c->given_cls;
		np = c->given->p;
		nn = c->given->n;
	} else {
		cls = cm_phone_normalize_memo(c->pm, c->np, v, n, t);
		if (t->oom)
			return CM_FAIL;
		np = t->p;
		nn = t->n;
	}
	switch (cls) {
	case CM_PHONE_EMPTY:
		return 0;
	case CM_PHONE_MARKER:
		cm_buf_add(out, np, nn);
		return 0;
	case CM_PHONE_OTHER:
		if (a->alnum != CM_ALNUM_INVALID && alnum_sender(v, n)) {
			if (a->alnum == CM_ALNUM_KEEP) {
				cm_buf_add(out, v, n);
				return 0;
			}
			if (a->alnum == CM_ALNUM_REDACT) {
				cm_buf_adds(out, redact_text(a));
				return 0;
			}
			return token(a, c, CM_KIND_PHONE, np, nn, out);
		}
		if (a->invalid == CM_INVALID_PSEUDONYM)
			/* Normalized non-numbers never equal a number's form: one domain. */
			return token(a, c, CM_KIND_PHONE, np, nn, out);
		return invalid(a, c, v, n, out);
	case CM_PHONE_E164:
	case CM_PHONE_LOCAL:
		break;
	}
	if (a->type == CM_ACT_PHONE && a->mode == CM_MODE_TRUNCATE) {
		size_t plus = cls == CM_PHONE_E164, nd = nn - plus;

		if (nd < a->digits + CM_HIDDEN_DIGITS_MIN) {
			cm_buf_adds(out, redact_text(a));
			return 0;
		}
		cm_buf_add(out, np, plus + a->digits);
		return 0;
	}
	if (cls == CM_PHONE_E164)
		keep = a->keep_cc ? cm_phone_cc_len(np + 1, nn - 1) : keep_digits;
	return prefixed_token(a, c, CM_KIND_PHONE, np, nn, c->given ? c->given_h : 0,
			      cls == CM_PHONE_E164, keep, out);
}

static int apply_ip(const struct cm_action *a, const struct cm_action_ctx *c, const char *v, size_t n,
		    struct cm_buf *out)
{
	struct cm_ip ip;

	if (cm_ip_parse(v, n, &ip) != 0)
		return invalid(a, c, v, n, out);
	if (a->type == CM_ACT_IP && a->mode == CM_MODE_TRUNCATE) {
		cm_ip_truncate(&ip, a->v4bits, a->v6bits);
		cm_ip_put(out, &ip);
		return 0;
	}
	if (a->type == CM_ACT_IP && a->mode == CM_MODE_PREFIX) {
		struct cm_ip o = ip;

		if (!c->ps || cm_pseudo_cryptopan(c->ps, c->epoch, ip.v6 ? 6 : 4, ip.a, o.a) != 0)
			return CM_FAIL;
		cm_ip_put(out, &o);
		return 0;
	}
	return token(a, c, CM_KIND_IP, (const char *)ip.a, cm_ip_len(&ip), out);
}

/*
 * IMSI (5 to 15 digits, ITU-T E.212) and IMEI (3GPP TS 23.003 section 6.2:
 * 14 digits TAC and serial number, 15 with the check digit, 16 as IMEISV
 * with a software version). An IMEI is pseudonymized over its first 14
 * digits, so the IMEI and IMEISV of one device join.
 */
static int apply_digits_kind(const struct cm_action *a, const struct cm_action_ctx *c, const char *v,
			     size_t n, struct cm_buf *out)
{
	struct cm_buf *t = c->tmp;
	size_t i, lo = a->kind == CM_KIND_IMSI ? 5 : 14, hi = a->kind == CM_KIND_IMSI ? 15 : 16;

	cm_buf_reset(t);
	for (i = 0; i < n; i++) {
		if (v[i] >= '0' && v[i] <= '9')
			cm_buf_addc(t, v[i]);
		else if (v[i] != ' ' && v[i] != '-')
			return invalid(a, c, v, n, out);
	}
	if (t->oom)
		return CM_FAIL;
	if (t->n < lo || t->n > hi)
		return invalid(a, c, v, n, out);
	if (a->kind == CM_KIND_IMEI)
		t->n = 14;
	return prefixed_token(a, c, a->kind, t->p, t->n, 0, 0, a->keep_digits, out);
}

static void trim_blanks(const char **v, size_t *n)
{
	while (*n && (**v == ' ' || **v == '\t'))
		(*v)++, (*n)--;
	while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
		(*n)--;
}

/* v[0..n) starts with the ASCII lower-case lit, in any case. */
static int has_scheme(const char *v, size_t n, const char *lit)
{
	size_t i, m = strlen(lit);

	if (n < m)
		return 0;
	for (i = 0; i < m; i++)
		if ((v[i] >= 'A' && v[i] <= 'Z' ? v[i] + 32 : v[i]) != lit[i])
			return 0;
	return 1;
}

/* The length of v[0..n) up to the first byte of stops (a NUL byte is none). */
static size_t span_to(const char *v, size_t n, const char *stops)
{
	size_t i;

	for (i = 0; i < n && (v[i] == '\0' || !strchr(stops, v[i])); i++)
		;
	return i;
}

/*
 * The e-mail address in v[0..n), as v[*off..*off + *len), so that every written
 * form of an address gets the token of the plain address, the one scrub
 * gives it in text: the inside of the last "<...>" (RFC 5322 section 3.4
 * name-addr: "Alice <alice@example.com>"); then without a mailto: scheme
 * and its '?' headers (RFC 6068), or a sip: or sips: scheme and its ';'
 * parameters, '?' headers and the port after the host (RFC 3261 section
 * 19.1.1); then without the trailing dots of a sentence's end. The result
 * may hold no address at all: the caller checks.
 */
static void email_address(const char *v, size_t n, size_t *off, size_t *len)
{
	size_t o = 0, m = n, lt, gt, at, h;

	for (lt = m; lt > 0 && v[lt - 1] != '<'; lt--)
		;
	if (lt > 0 && (gt = span_to(v + lt, m - lt, ">")) < m - lt) {
		o = lt;
		m = gt;
	}
	while (m > 0 && (v[o] == ' ' || v[o] == '\t'))
		o++, m--;
	while (m > 0 && (v[o + m - 1] == ' ' || v[o + m - 1] == '\t'))
		m--;
	if (has_scheme(v + o, m, "mailto:")) {
		o += 7, m -= 7;
		m = span_to(v + o, m, "?");
	} else if (has_scheme(v + o, m, "sip:") || has_scheme(v + o, m, "sips:")) {
		h = v[o + 3] == ':' ? 4 : 5;
		o += h, m -= h;
		m = span_to(v + o, m, ";?");
		if ((at = span_to(v + o, m, "@")) < m) {
			h = at + 1;
			if (h < m && v[o + h] == '[')
				h += span_to(v + o + h, m - h, "]");
			m = h + span_to(v + o + h, m - h, ":");
		}
	}
	while (m > 0 && v[o + m - 1] == '.')
		m--;
	*off = o;
	*len = m;
}

static int apply_email(const struct cm_action *a, const struct cm_action_ctx *c, const char *v, size_t n,
		       struct cm_buf *out)
{
	struct cm_buf *t = c->tmp;
	const char *at, *e;
	size_t i, off, en;

	trim_blanks(&v, &n);
	email_address(v, n, &off, &en);
	e = v + off;
	at = memchr(e, '@', en);
	if (!at || at == e || at == e + en - 1 || memchr(at + 1, '@', (size_t)(e + en - at - 1)))
		return invalid(a, c, v, n, out);
	cm_buf_reset(t);
	for (i = 0; i < en; i++) {
		char ch = e[i];
		cm_buf_addc(t, ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch);
	}
	if (t->oom)
		return CM_FAIL;
	return token(a, c, CM_KIND_EMAIL, t->p, t->n, out);
}

static int apply_pseudonym(const struct cm_action *a, const struct cm_action_ctx *c, const char *v,
			   size_t n, struct cm_buf *out)
{
	switch (a->kind) {
	case CM_KIND_PHONE:
		return apply_phone(a, c, a->keep_digits, v, n, out);
	case CM_KIND_IMSI:
	case CM_KIND_IMEI:
		return apply_digits_kind(a, c, v, n, out);
	case CM_KIND_IP:
		return apply_ip(a, c, v, n, out);
	case CM_KIND_EMAIL:
		return apply_email(a, c, v, n, out);
	case CM_KIND_GENERIC:
	case CM_KIND__COUNT:
		break;
	}
	return token(a, c, CM_KIND_GENERIC, v, n, out);
}

/* Generalizers share one shape: 0 done, -1 unreadable. */
static int general(const struct cm_action *a, const struct cm_action_ctx *c, int rc, const char *v,
		   size_t n, struct cm_buf *out)
{
	if (rc == 0)
		return out->oom ? CM_FAIL : 0;
	return invalid(a, c, v, n, out);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

void cm_url_decode(const char *v, size_t n, struct cm_buf *out)
{
	size_t i;

	cm_buf_reset(out);
	for (i = 0; i < n; i++) {
		int hi, lo;

		if (v[i] == '%' && i + 2 < n && (hi = hexval(v[i + 1])) >= 0 &&
		    (lo = hexval(v[i + 2])) >= 0) {
			cm_buf_addc(out, (char)(hi << 4 | lo));
			i += 2;
		} else {
			cm_buf_addc(out, v[i]);
		}
	}
}

int cm_action_apply(const struct cm_action *a, const struct cm_action_ctx *c, const char *v,
		    size_t n, struct cm_buf *out)
{
	struct cm_scrub_ctx sc;
	int rc;

	if (a->decode_url && c->dec && n && memchr(v, '%', n)) {
		cm_url_decode(v, n, c->dec);
		if (c->dec->oom)
			return CM_FAIL;
		v = c->dec->p;
		n = c->dec->n;
	}

	if (n == 0 && a->type != CM_ACT_REDACT)
		return 0;
	switch (a->type) {
	case CM_ACT_DROP:
		return 0;
	case CM_ACT_KEEP:
		cm_buf_add(out, v, n);
		return out->oom ? CM_FAIL : 0;
	case CM_ACT_REDACT:
		cm_buf_adds(out, redact_text(a));
		return out->oom ? CM_FAIL : 0;
	case CM_ACT_PSEUDONYM:
		rc = apply_pseudonym(a, c, v, n, out);
		break;
	case CM_ACT_PHONE:
		rc = apply_phone(a, c, a->keep_digits, v, n, out);
		break;
	case CM_ACT_IP:
		rc = apply_ip(a, c, v, n, out);
		break;
	case CM_ACT_GEO:
		return general(a, c, cm_geo_pair_round(v, n, a->decimals, out), v, n, out);
	case CM_ACT_LAT:
		return general(a, c, cm_geo_round(v, n, 90.0, a->decimals, out), v, n, out);
	case CM_ACT_LON:
		return general(a, c, cm_geo_round(v, n, 180.0, a->decimals, out), v, n, out);
	case CM_ACT_GEOHASH:
		return general(a, c, cm_geohash_truncate(v, n, a->chars, out), v, n, out);
	case CM_ACT_CELL:
		return general(a, c, cm_cell_area(v, n, out), v, n, out);
	case CM_ACT_TIME:
		return general(a, c, cm_time_floor(v, n, a->unit, out), v, n, out);
	case CM_ACT_BUCKET:
		return general(a, c, cm_bucket_put(&a->bucket, v, n, out), v, n, out);
	case CM_ACT_LENGTH: {
		size_t chars, segs;
		int ucs2;

		if (cm_sms_measure(v, n, &chars, &segs, &ucs2) != 0)
			return invalid(a, c, v, n, out);
		cm_buf_addu(out, chars);
		cm_buf_addc(out, ':');
		cm_buf_addu(out, segs);
		return out->oom ? CM_FAIL : 0;
	}
	case CM_ACT_SCRUB:
		sc.np = c->np;
		sc.pm = c->pm;
		sc.probes = c->probes;
		sc.ps = c->ps;
		sc.epoch = c->epoch;
		sc.row = c->row;
		sc.nrow = c->nrow;
		sc.tmp = c->tmp;
		sc.watch = c->watch;
		return cm_scrub(&a->scrub, &sc, v, n, out);
	default:
		return CM_FAIL;
	}
	if (rc == 0 && out->oom)
		return CM_FAIL;
	return rc;
}

static void describe_invalid(const struct cm_action *a, struct cm_buf *out, const char *what)
{
	cm_buf_adds(out, "; ");
	cm_buf_adds(out, what);
	switch (a->invalid) {
	case CM_INVALID_REJECT:
		cm_buf_adds(out, ": record rejected");
		break;
	case CM_INVALID_REDACT:
		cm_buf_adds(out, ": \"");
		cm_buf_adds(out, redact_text(a));
		cm_buf_adds(out, "\"");
		break;
	case CM_INVALID_PSEUDONYM:
		cm_buf_adds(out, ": generic pseudonym");
		break;
	}
}

static void describe_bits(const struct cm_action *a, struct cm_buf *out)
{
	cm_buf_adds(out, ", ");
	cm_buf_addu(out, a->bits);
	cm_buf_adds(out, "-bit keyed token");
}

/*
 * Width x height of a geohash cell of 1..12 characters at the equator:
 * 5 bits per character, longitude takes the odd bit when there is one.
 */
static const char *const geohash_cell[CM_GEOHASH_CHARS_MAX] = {
	"5000 x 5000 km", "1250 x 625 km", "156 x 156 km", "39 x 20 km",
	"4.9 x 4.9 km",   "1.2 x 0.6 km",  "153 x 153 m",  "38 x 19 m",
	"4.8 x 4.8 m",    "1.2 x 0.6 m",   "15 x 15 cm",   "3.7 x 1.9 cm",
};

void cm_action_describe(const struct cm_action *a, struct cm_buf *out)
{
	static const char *const units[] = {"minute", "hour", "day"};
	size_t i;

	if (a->decode_url)
		cm_buf_adds(out, "URL-decoded, then ");
	switch (a->type) {
	case CM_ACT_DROP:
		cm_buf_adds(out, "dropped");
		return;
	case CM_ACT_KEEP:
		cm_buf_adds(out, "kept unchanged");
		return;
	case CM_ACT_REDACT:
		cm_buf_adds(out, "redacted to \"");
		cm_buf_adds(out, redact_text(a));
		cm_buf_adds(out, "\"");
		return;
	case CM_ACT_PSEUDONYM:
		cm_buf_adds(out, "pseudonym (kind ");
		cm_buf_adds(out, cm_kind_name(a->kind));
		cm_buf_adds(out, ")");
		if (a->keep_digits) {
			cm_buf_adds(out, ", first ");
			cm_buf_addu(out, a->keep_digits);
			cm_buf_adds(out, " digits kept");
		}
		describe_bits(a, out);
		if (a->kind == CM_KIND_PHONE && a->invalid == CM_INVALID_PSEUDONYM)
			cm_buf_adds(out, "; non-numbers (user names): pseudonym (kind phone)");
		else if (a->kind != CM_KIND_GENERIC)
			describe_invalid(a, out, "unreadable values");
		return;
	case CM_ACT_PHONE:
		cm_buf_adds(out, "phone number normalized to E.164, ");
		if (a->mode == CM_MODE_TRUNCATE) {
			cm_buf_adds(out, "truncated to ");
			cm_buf_addu(out, a->digits);
			cm_buf_adds(out, " digits (numbers with fewer than ");
			cm_buf_addu(out, a->digits + CM_HIDDEN_DIGITS_MIN);
			cm_buf_adds(out, " digits redacted)");
		} else {
			cm_buf_adds(out, "pseudonym (kind phone)");
			if (a->keep_cc)
				cm_buf_adds(out, ", country code kept");
			else if (a->keep_digits) {
				cm_buf_adds(out, ", first ");
				cm_buf_addu(out, a->keep_digits);
				cm_buf_adds(out, " digits kept");
			}
			describe_bits(a, out);
		}
		cm_buf_adds(out, "; privacy markers (anonymous, unknown, ...) kept");
		if (a->alnum != CM_ALNUM_INVALID)
			cm_buf_adds(out, a->alnum == CM_ALNUM_KEEP ? "; alphanumeric sender ids kept"
				    : a->alnum == CM_ALNUM_REDACT ? "; alphanumeric sender ids redacted"
								  : "; alphanumeric sender ids: pseudonym");
		if (a->invalid == CM_INVALID_PSEUDONYM)
			cm_buf_adds(out, "; non-numbers (user names): pseudonym (kind phone)");
		else
			describe_invalid(a, out, "non-numbers");
		return;
	case CM_ACT_IP:
		if (a->mode == CM_MODE_TRUNCATE) {
			cm_buf_adds(out, "IP address truncated to /");
			cm_buf_addu(out, a->v4bits);
			cm_buf_adds(out, " (IPv4), /");
			cm_buf_addu(out, a->v6bits);
			cm_buf_adds(out, " (IPv6)");
		} else if (a->mode == CM_MODE_PREFIX) {
			cm_buf_adds(out, "IP address prefix-preserving pseudonym (Crypto-PAn)");
		} else {
			cm_buf_adds(out, "IP address pseudonym (kind ip)");
			describe_bits(a, out);
		}
		describe_invalid(a, out, "non-addresses");
		return;
	case CM_ACT_GEO:
	case CM_ACT_LAT:
	case CM_ACT_LON:
		cm_buf_adds(out, a->type == CM_ACT_GEO ? "latitude,longitude" :
				 a->type == CM_ACT_LAT ? "latitude" : "longitude");
		cm_buf_adds(out, " rounded to ");
		cm_buf_addu(out, a->decimals);
		cm_buf_adds(out, " decimals");
		describe_invalid(a, out, "malformed or out of range");
		return;
	case CM_ACT_GEOHASH:
		cm_buf_adds(out, "geohash truncated to ");
		cm_buf_addu(out, a->chars);
		cm_buf_adds(out, a->chars == 1 ? " character" : " characters");
		if (a->chars >= 1 && a->chars <= CM_GEOHASH_CHARS_MAX) {
			cm_buf_adds(out, " (cells of about ");
			cm_buf_adds(out, geohash_cell[a->chars - 1]);
			cm_buf_adds(out, " at the equator)");
		}
		describe_invalid(a, out, "malformed");
		return;
	case CM_ACT_CELL:
		cm_buf_adds(out, "cell id generalized to MCC-MNC-LAC/TAC");
		describe_invalid(a, out, "malformed");
		return;
	case CM_ACT_TIME:
		cm_buf_adds(out, "time floored to the ");
		cm_buf_adds(out, units[a->unit]);
		describe_invalid(a, out, "unreadable");
		return;
	case CM_ACT_BUCKET:
		cm_buf_adds(out, "number bucketed by bounds ");
		for (i = 0; i < a->bucket.n; i++) {
			if (i)
				cm_buf_addc(out, ',');
			cm_buf_adds(out, a->bucket.label[i]);
		}
		describe_invalid(a, out, "non-numbers");
		return;
	case CM_ACT_SCRUB:
		cm_buf_adds(out, "free text: phone numbers (");
		cm_buf_addu(out, a->scrub.min_digits);
		cm_buf_adds(out, "+ digits, and the numbers of the record's phone fields "
				 "whatever their length), IP and e-mail addresses ");
		if (a->scrub.redact) {
			cm_buf_adds(out, "replaced by \"");
			cm_buf_adds(out, a->scrub.redact_text ? a->scrub.redact_text : CM_REDACT_DEFAULT);
			cm_buf_adds(out, "\"");
		} else {
			cm_buf_adds(out, "replaced by their pseudonyms");
			describe_bits(a, out);
		}
		if (a->scrub.display_redact)
			cm_buf_adds(out, "; quoted display names emptied");
		/* what a reader of the policy must not assume is protected */
		cm_buf_adds(out, "; shorter digit runs, names and other text pass unchanged");
		return;
	case CM_ACT_LENGTH:
		cm_buf_adds(out, "SMS text: only \"characters:segments\" (GSM-7 or UCS-2 segments)");
		describe_invalid(a, out, "not UTF-8");
		return;
	}
}
