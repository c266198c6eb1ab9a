/*
 * \summary: scrubbing e-mail addresses, IP addresses and telephone numbers
 * out of free text
 *
 * One pass, left to right. At each position the rules are tried in a fixed
 * order: a quoted display name (when asked), an e-mail address (RFC 5322
 * section 3.4.1 addr-spec, dot-atom form, recognised loosely), an IPv6
 * address (RFC 4291 section 2.2), an IPv4 dotted quad, a telephone number
 * (E.123 written forms; the digits of every script, cm_phone_digit_at), or,
 * inside a run too short to be a number, one of the record's protected
 * numbers (ctx->row). A match is replaced and scanning resumes after it.
 *
 * Cost: every scanner only starts where its run starts (the previous byte
 * cannot belong to it), and the number rule is not tried again inside the
 * groups it has already looked at: a run too short for a number is
 * normalized once as a whole and once per group to look it up in the row.
 * So each byte is looked at a bounded number of times (for a row of a few
 * numbers) and a text is scrubbed in linear time, whatever its length.
 */
#include <pthread.h>
#include <string.h>

#include "cdrmin/ipaddr.h"
#include "cdrmin/scrub.h"

#define SCRUB_REDACT_DEFAULT "REDACTED"

void cm_scrub_opts_default(struct cm_scrub_opts *o)
{
	o->min_digits = CM_SCRUB_MIN_DIGITS_DEFAULT;
	o->redact = 0;
	o->redact_text = SCRUB_REDACT_DEFAULT;
	/* A display name is a person's name: gone unless the rules keep it. */
	o->display_redact = 1;
	o->bits = CM_TOKEN_BITS_DEFAULT;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_high(char c) { return (unsigned char)c >= 0x80; }

/*
 * A byte of the e-mail local part: RFC 5322 section 3.2.3 atext and '.',
 * without '/' (a dial string's "PJSIP/alice@trunk" names a channel
 * technology before the user) and '=' (in CDR text it ends a key:
 * "email=alice@example.com" holds the address alice@example.com, which a
 * field gets the token of), plus bytes >= 0x80 (RFC 6532 UTF-8).
 */
static int local_byte(char c)
{
	/* the bytes of "!#$%&'*+-.?" and of "^_`{|}~", as bits of c & 63 */
#define BIT(c) (UINT64_C(1) << ((c) & 63))
	static const uint64_t punct_0x20 = BIT('!') | BIT('#') | BIT('$') | BIT('%') | BIT('&') |
					   BIT('\'') | BIT('*') | BIT('+') | BIT('-') | BIT('.') |
					   BIT('?');
	static const uint64_t punct_0x40 = BIT('^') | BIT('_') | BIT('`') | BIT('{') | BIT('|') |
					   BIT('}') | BIT('~');
#undef BIT
	unsigned char u = (unsigned char)c;

	if (is_alnum(c) || u >= 0x80)
		return 1;
	if (u < 0x40)
		return (int)(punct_0x20 >> (u & 63) & 1);
	return (int)(punct_0x40 >> (u & 63) & 1);
}

/* A byte of an IPv6 address text (with an embedded IPv4 quad). */
static int v6_byte(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
	       c == '.';
}

/*
 * Where a rule can match, per byte: GATE_NUM, '+', '(', a digit (a number,
 * a quad) or a byte >= 0x80 (maybe a digit, maybe anything); GATE_QUOTE,
 * '"' (a display name); GATE_LOCAL, local_byte (an e-mail address);
 * GATE_V6, v6_byte (an IPv6 address). Built once from the predicates.
 */
enum { GATE_NUM = 1, GATE_QUOTE = 2, GATE_LOCAL = 4, GATE_V6 = 8, GATE_DOT = 16 };
static unsigned char gate_bits[256];
static pthread_once_t gate_once = PTHREAD_ONCE_INIT;

static void gate_build(void)
{
	unsigned b;

	for (b = 0; b < 256; b++)
		gate_bits[b] = (unsigned char)((b >= 0x80 || is_digit((char)b) || b == '+' || b == '(' ?
						GATE_NUM : 0) |
					       (b == '"' ? GATE_QUOTE : 0) |
					       (local_byte((char)b) ? GATE_LOCAL : 0) |
					       (v6_byte((char)b) ? GATE_V6 : 0));
}

static int is_local(char c) { return gate_bits[(unsigned char)c] & GATE_LOCAL; }

/*
 * Bytes of the separator at s[i] that shows (cm_phone_sep_len, but not
 * cm_phone_ignorable_len), or 0: a space or a dash ends an e-mail address as
 * ' ' does; a zero width space or a direction mark inside one shows
 * nothing and does not split it.
 */
static size_t visible_sep_len(const char *s, size_t n, size_t i)
{
	size_t sl = cm_phone_sep_len(s, n, i);

	return sl > 1 && cm_phone_ignorable_len(s, n, i) > 0 ? 0 : sl;
}

/* s[i] is a local part byte that opens no visible separator: U+00A0 ends a local part. */
static int local_at(const char *s, size_t n, size_t i)
{
	return is_local(s[i]) && !(is_high(s[i]) && visible_sep_len(s, n, i) > 0);
}

/* s[i - 1] belongs to a local part run: a local byte, not the end of a visible separator. */
static int local_before(const char *s, size_t i)
{
	size_t k;

	if (i == 0 || !is_local(s[i - 1]))
		return 0;
	if (!is_high(s[i - 1]))
		return 1;
	for (k = 2; k <= 4 && k <= i; k++) /* a multibyte separator has 2 to 4 bytes */
		if (visible_sep_len(s, i, i - k) == k)
			return 0;
	return 1;
}

/*
 * A domain byte at s[i]: RFC 1035 section 2.3.1 labels and their dots, and
 * bytes >= 0x80 (RFC 6531 UTF-8 names), except where those bytes spell a
 * separator such as U+00A0, which ends a name as a space does.
 */
static size_t domain_len(const char *s, size_t n, size_t i)
{
	size_t sl;

	if (is_alnum(s[i]) || s[i] == '.' || s[i] == '-')
		return 1;
	if (!is_high(s[i]))
		return 0;
	sl = visible_sep_len(s, n, i);
	return sl ? 0 : 1;
}

/* RFC 5321 section 4.1.3 address literals: "[192.0.2.1]", "[IPv6:2001:db8::1]". */
static int is_literal(char c) { return is_alnum(c) || c == ':' || c == '.' || c == '%' || c == '-'; }

static int is_v6(char c) { return gate_bits[(unsigned char)c] & GATE_V6; }

/* A span of the text that matched a rule. */
enum hit { HIT_NONE = 0, HIT_EMAIL, HIT_IP, HIT_PHONE };

struct span {
	enum hit what;
	size_t start, end;
	struct cm_ip ip; /* HIT_IP: the address */
};

/*
 * The end of the run of ASCII digits at s[j] (j itself when s[j] is none;
 * j <= n, never read past n). Eight bytes at a time where the target
 * allows: t = byte ^ '0' is 0..9 for a digit only, and t + 0x76 has bit 7
 * set for t in 10..0x7f (t >= 0x80 has it already); a carry out of a byte
 * only reaches bytes after a flagged one, so the lowest flagged byte is the
 * first that is not a digit.
 */
static inline size_t ascii_digits_end(const char *s, size_t n, size_t j)
{
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = UINT64_C(0x0101010101010101);
	uint64_t x, t, bad;

	while (n >= 8 && j <= n - 8) {
		memcpy(&x, s + j, 8);
		t = x ^ 0x30 * ones;
		bad = ((t + 0x76 * ones) | t) & 0x80 * ones;
		if (bad)
			return j + (size_t)__builtin_ctzll(bad) / 8;
		j += 8;
	}
#endif
	while (j < n && (unsigned)(s[j] - '0') < 10)
		j++;
	return j;
}

/*
 * Most separator characters between two digit groups of one number, not
 * counting the invisible ones (cm_phone_ignorable_len): those show nothing,
 * so "0207<ZWSP><ZWSP><ZWSP><ZWSP>946" reads as one number.
 */
#define SEP_RUN_MAX 3

/*
 * The end of the run of separators at k (k itself when there is none):
 * at most SEP_RUN_MAX visible ones, and any number of invisible ones
 * (a run between two groups is read by the one phone_at that reaches it,
 * so scrubbing stays linear).
 */
static size_t sep_run_end(const char *s, size_t n, size_t k)
{
	size_t sl, seps = 0;

	while ((sl = cm_phone_sep_len(s, n, k)) > 0) {
		if (!(sl > 1 && cm_phone_ignorable_len(s, n, k) > 0) && ++seps > SEP_RUN_MAX)
			break;
		k += sl;
	}
	return k;
}

/*
 * The local part s[k..e) is a telephone number: an optional '+', then
 * digit groups joined by runs of at most SEP_RUN_MAX separators (the
 * phone rule's groups, which it will take), trailing separators allowed.
 */
static int phone_user(const char *s, size_t e, size_t k)
{
	size_t sl, q;
	int digits = 0;

	if (k < e && s[k] == '+')
		k++;
	while (k < e) {
		if ((q = ascii_digits_end(s, e, k)) > k) {
			k = q, digits = 1;
			continue;
		}
		if (cm_phone_digit_at(s, e, k, &sl) >= 0) {
			k += sl, digits = 1;
			continue;
		}
		q = sep_run_end(s, e, k);
		if (!digits || q == k || (q < e && cm_phone_digit_at(s, e, q, &sl) < 0))
			return 0; /* no separator here, or a run too long */
		k = q;
	}
	return digits;
}

/*
 * An e-mail address whose local part starts at i: the maximal run of local
 * characters, '@', then a domain: the maximal run of domain characters,
 * trailing dots left out (the end of a sentence), or an address literal in
 * brackets. A domain without a dot ("alice@pbx") is an address too: in free
 * text, user@host names a person. Quote characters that open the run
 * ("'alice@x'") are left out of it. A local part that is a telephone
 * number (phone_user) is the phone rule's: the user of a dial string or a
 * SIP URI ("PJSIP/+442079460123@trunk").
 */
static int email_at(const char *s, size_t n, size_t i, struct span *m)
{
	size_t e, a, d, de, step;

	if (!local_at(s, n, i) || local_before(s, i))
		return 0;
	for (e = i; e < n && local_at(s, n, e); e++)
		;
	if (e == n || s[e] != '@')
		return 0;
	for (a = i; a < e && (s[a] == '\'' || s[a] == '`'); a++)
		;
	if (a == e || phone_user(s, e, a))
		return 0;
	d = e + 1;
	if (d < n && s[d] == '[') {
		for (de = d + 1; de < n && is_literal(s[de]); de++)
			;
		if (de == d + 1 || de == n || s[de] != ']')
			return 0;
		de++;
	} else {
		for (de = d; de < n && (step = domain_len(s, n, de)) > 0; de += step)
			;
		while (de > d && s[de - 1] == '.')
			de--;
		if (de == d || s[d] == '.' || s[d] == '-')
			return 0;
	}
	m->what = HIT_EMAIL;
	m->start = a;
	m->end = de;
	return 1;
}

static int ip_ok(const char *s, size_t a, size_t b, struct cm_ip *ip)
{
	size_t i;
	int colons = 0;

	if (b <= a || b - a > 64) /* the longest IPv6 text is far shorter */
		return 0;
	for (i = a; i < b; i++)
		colons += s[i] == ':';
	return colons >= 2 && cm_ip_parse(s + a, b - a, ip) == 0;
}

/*
 * A port written after an address with sep ("192.0.2.1:5060", tcpdump's
 * "192.0.2.1.5060") at s[k]: 1 to 5 digits, then neither a digit nor, for
 * '.', a '.' and a digit. Returns the end of the port, or 0.
 */
static size_t port_end(const char *s, size_t n, size_t k, char sep)
{
	size_t j;

	if (k >= n || s[k] != sep)
		return 0;
	for (j = k + 1; j < n && j - k <= 5 && is_digit(s[j]); j++)
		;
	if (j == k + 1 || (j < n && is_digit(s[j])))
		return 0; /* no digit, or a sixth */
	if (sep == '.' && j + 1 < n && s[j] == '.' && is_digit(s[j + 1]))
		return 0;
	return j;
}

/*
 * An IPv6 address in the run of [0-9A-Fa-f:.] that starts at i, holding at
 * least two ':'. Text glued to it ("host:2001:db8::1", "2001:db8::1:",
 * "2001:db8::1.") gets a second chance without the stray ':' or dots, and
 * a port written after a dot ("2001:db8::1.5060") one without the port.
 */
static int ipv6_at(const char *s, size_t n, size_t i, struct span *m)
{
	size_t a = i, b, colons = 0, k, p, ends[2];
	int lead, trail;

	if (!is_v6(s[i]) || (i > 0 && is_v6(s[i - 1])))
		return 0;
	for (b = i; b < n && is_v6(s[b]); b++)
		colons += s[b] == ':';
	if (colons < 2)
		return 0;
	while (b > a && s[b - 1] == '.')
		b--;
	ends[0] = b;
	for (p = b; p > a && b - p < 5 && is_digit(s[p - 1]); p--)
		;
	ends[1] = p < b && p > a + 1 && s[p - 1] == '.' ? p - 1 : 0;
	for (k = 0; k < 8; k++) {
		b = ends[k >> 2];
		if (b < a + 2)
			continue;
		/* A single ':' at either end is not part of an address ("::" is). */
		lead = s[a] == ':' && s[a + 1] != ':';
		trail = s[b - 1] == ':' && s[b - 2] != ':';
		if (((k & 1) && !lead) || ((k & 2) && !trail))
			continue;
		if (ip_ok(s, a + (k & 1), b - (k >> 1 & 1), &m->ip)) {
			m->what = HIT_IP;
			m->start = a + (k & 1);
			m->end = b - (k >> 1 & 1);
			return 1;
		}
	}
	return 0;
}

/*
 * A dotted quad at i: four parts of 1 to 3 digits, each at most 255. A
 * part opening with '0' is "0", or all four parts are padded to three
 * digits ("192.000.002.001", read as decimal): "01.23.45.67.89" and
 * "030.123.45.67" stay telephone numbers. Not inside a longer run of
 * digits and dots (a version number, an OID): not preceded by a digit or by
 * a '.' after a digit ("x.192.0.2.1" is an address), not followed by a
 * digit, nor by '.' and digits unless they are a port (port_end: tcpdump's
 * "192.0.2.1.5060", which the caller keeps).
 */
static int ipv4_at(const char *s, size_t n, size_t i, struct span *m)
{
	size_t j = i, part, len;
	unsigned v;
	int padded = 0, short_part = 0;

	if (!is_digit(s[i]) || (i > 0 && is_digit(s[i - 1])) ||
	    (i > 1 && s[i - 1] == '.' && is_digit(s[i - 2])))
		return 0;
	memset(&m->ip, 0, sizeof m->ip);
	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (j >= n || s[j] != '.')
				return 0;
			j++;
		}
		for (v = 0, len = 0; j < n && is_digit(s[j]); j++) {
			if (++len > 3)
				return 0;
			v = v * 10 + (unsigned)(s[j] - '0');
		}
		if (len == 0 || v > 255)
			return 0;
		padded |= len > 1 && s[j - len] == '0';
		short_part |= len < 3;
		m->ip.a[part] = (uint8_t)v;
	}
	if (padded && short_part)
		return 0;
	if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1]) && !port_end(s, n, j, '.'))
		return 0;
	m->what = HIT_IP;
	m->start = i;
	m->end = j;
	return 1;
}

/*
 * A group of a written number at i: digits (cm_phone_digit_at, any of its
 * scripts), or "(" digits ")". Returns its end, or 0; *digits gets the
 * number of digits (not bytes).
 */
static size_t group_at(const char *s, size_t n, size_t i, size_t *digits)
{
	size_t j = i, dl, count = 0;
	int paren = 0;

	if (j < n && s[j] == '(')
		paren = 1, j++;
	for (;;) {
		size_t a = j;

		/* ASCII digits without a call per digit; the other scripts' one at a time */
		j = ascii_digits_end(s, n, j);
		count += j - a;
		if (j >= n || !is_high(s[j]) || cm_phone_digit_at(s, n, j, &dl) < 0)
			break;
		j += dl, count++;
	}
	if (count == 0)
		return 0;
	*digits = count;
	if (paren) {
		if (j >= n || s[j] != ')')
			return 0;
		j++;
	}
	return j;
}

/* The numbering plan of ctx, or the default plan (no country) written to *buf. */
static const struct cm_numbering *plan_of(const struct cm_scrub_ctx *ctx, struct cm_numbering *buf)
{
	if (ctx->np)
		return ctx->np;
	cm_numbering_default(buf);
	return buf;
}

/*
 * s[a..b) normalizes under the plan to one of the record's protected
 * numbers (ctx->row), compared with each of them. tmp is scratch. A
 * failed allocation answers yes: replace() then fails on the same
 * normalization, so no short number is let through for want of memory.
 */
static int in_row(const struct cm_scrub_ctx *ctx, const char *s, size_t a, size_t b,
		  struct cm_buf *tmp)
{
	struct cm_numbering plan;
	enum cm_phone_class cls;
	size_t k;

	int hit = 0;

	if (ctx->nrow == 0 || !ctx->row)
		return 0;
	cls = cm_phone_normalize_memo(ctx->np ? ctx->pm : NULL, plan_of(ctx, &plan), s + a, b - a, tmp);
	if (tmp->oom) {
		if (ctx->probes)
			cm_buf_addc(ctx->probes, (char)255);
		return 1;
	}
	if (cls != CM_PHONE_E164 && cls != CM_PHONE_LOCAL)
		return 0;
	for (k = 0; k < ctx->nrow && !hit; k++)
		hit = ctx->row[k].n == tmp->n && memcmp(ctx->row[k].p, tmp->p, tmp->n) == 0;
	if (ctx->probes) {
		/* a value too long for the log marks the log unusable (255) */
		cm_buf_addc(ctx->probes, (char)(tmp->n < 255 ? tmp->n : 255));
		if (tmp->n < 255) {
			cm_buf_addc(ctx->probes, (char)hit);
			cm_buf_add(ctx->probes, tmp->p, tmp->n);
		}
	}
	return hit;
}

/*
 * A telephone number at i: an optional '+', then groups joined by runs of
 * 1 to SEP_RUN_MAX separators (cm_phone_sep_len: "01.23.45.67.89",
 * "01 - 23", "0470/12.34.56"), or set off by parentheses, with at least min
 * digits in all, or fewer when the run is one of the record's numbers
 * (in_row: "<101>" when src is 101). A group where an address starts
 * ("call 0301234 192.0.2.1") ends the number before it: the address rules
 * come first; but not a quad with a tcpdump port, which inside a number is
 * more likely its last groups ("+33 1.23.45.67.89"). *scanned is set to
 * the end of the groups looked at, matched or not: a start inside them
 * would find the same groups with fewer digits, so the caller does not try
 * one (which keeps scrubbing linear), only row_group_at.
 */
static int phone_at(const char *s, size_t n, size_t i, size_t min, const struct cm_scrub_ctx *ctx,
		    struct cm_buf *tmp, struct span *m, size_t *scanned)
{
	struct span other;
	size_t p = i, e, q, ge, d, total;

	if (s[p] == '+')
		p++;
	if (p >= n || !(e = group_at(s, n, p, &total)))
		return 0;
	for (;;) {
		q = sep_run_end(s, n, e);
		if (q >= n || !(ge = group_at(s, n, q, &d)))
			break;
		if (s[q] != '(' &&
		    (email_at(s, n, q, &other) || ipv6_at(s, n, q, &other) ||
		     (ipv4_at(s, n, q, &other) && (other.end == n || s[other.end] != '.'))))
			break;
		total += d;
		e = ge;
	}
	*scanned = e;
	if (total < min && !in_row(ctx, s, i, e, tmp))
		return 0;
	m->what = HIT_PHONE;
	m->start = i;
	m->end = e;
	return 1;
}

/* A digit (cm_phone_digit_at, 1 to 4 bytes) ends at s[i - 1]. */
static int digit_before(const char *s, size_t i)
{
	size_t dl, k;

	for (k = 1; k <= 4 && k <= i; k++)
		if (cm_phone_digit_at(s, i, i - k, &dl) >= 0 && dl == k)
			return 1;
	return 0;
}

/*
 * Inside a run phone_at scanned without a match (too few digits, and not
 * one of the record's numbers as a whole), the group that starts at i when
 * it is one of the record's numbers on its own: "101" of "101 30" under
 * min-digits 6. Only where a group starts ('(' or a first digit; start: i
 * is where phone_at began), so each group is looked up once; and not the
 * run's only group (the group at start that ends at run_end), which
 * phone_at has just looked up as the whole run.
 */
static int row_group_at(const char *s, size_t n, size_t i, int start, size_t run_end,
			const struct cm_scrub_ctx *ctx, struct cm_buf *tmp, struct span *m)
{
	size_t e, d;

	if (!start && s[i] != '(' &&
	    (cm_phone_digit_at(s, n, i, &d) < 0 || s[i - 1] == '(' || digit_before(s, i)))
		return 0;
	if (!(e = group_at(s, n, i, &d)) || (start && e == run_end) || !in_row(ctx, s, i, e, tmp))
		return 0;
	m->what = HIT_PHONE;
	m->start = i;
	m->end = e;
	return 1;
}

/*
 * A number at i (phone_at, when i is past the runs already scanned), or a
 * group of a scanned run that is one of the record's numbers (row_group_at).
 */
static int number_at(const char *s, size_t n, size_t i, size_t min, const struct cm_scrub_ctx *ctx,
		     struct cm_buf *tmp, struct span *m, size_t *phone_from)
{
	int start = i >= *phone_from;

	if (start && phone_at(s, n, i, min, ctx, tmp, m, phone_from))
		return 1;
	if (ctx->nrow == 0 || i >= *phone_from)
		return 0; /* no row, or no run here */
	return row_group_at(s, n, i, start, *phone_from, ctx, tmp, m);
}

/* The end of the double-quoted string opening at i (after its closing quote), or n. */
static size_t quoted_end(const char *s, size_t n, size_t i)
{
	size_t j = i + 1;

	while (j < n) {
		if (s[j] == '\\')
			j += 2; /* RFC 3261 quoted-pair */
		else if (s[j] == '"')
			return j + 1;
		else
			j++;
	}
	return n;
}

static void put_lower(struct cm_buf *b, const char *s, size_t n)
{
	size_t i;

	cm_buf_reset(b);
	for (i = 0; i < n; i++)
		cm_buf_addc(b, s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i]);
}

/*
 * Append the replacement of the match m of in: the redact text, or the
 * token the field actions give for the same value. tmp is scratch for the
 * normalized value. Returns 0 or CM_FAIL.
 */
static int replace(const struct cm_scrub_opts *o, const struct cm_scrub_ctx *ctx, const char *in,
		   const struct span *m, struct cm_buf *tmp, struct cm_buf *out)
{
	struct cm_numbering plan;
	const char *v = in + m->start;
	size_t n = m->end - m->start;
	unsigned bits = o->bits ? o->bits : CM_TOKEN_BITS_DEFAULT;

	if (o->redact) {
		cm_buf_adds(out, o->redact_text ? o->redact_text : SCRUB_REDACT_DEFAULT);
		return 0;
	}
	if (!ctx->ps)
		return CM_FAIL;
	switch (m->what) {
	case HIT_EMAIL:
		put_lower(tmp, v, n);
		if (tmp->oom)
			return CM_FAIL;
		return cm_pseudo_token(ctx->ps, CM_KIND_EMAIL, ctx->epoch, tmp->p, tmp->n, bits, out);
	case HIT_IP:
		/* The address bytes: ::ffff:192.0.2.1, 192.000.002.001 and 192.0.2.1 are one address. */
		return cm_pseudo_token(ctx->ps, CM_KIND_IP, ctx->epoch, (const char *)m->ip.a,
				       cm_ip_len(&m->ip), bits, out);
	case HIT_PHONE:
		/* the memo knows plans by address: not the default one on the stack */
		cm_phone_normalize_memo(ctx->np ? ctx->pm : NULL, plan_of(ctx, &plan), v, n, tmp);
		if (tmp->oom)
			return CM_FAIL;
		return cm_pseudo_token(ctx->ps, CM_KIND_PHONE, ctx->epoch, tmp->p, tmp->n, bits, out);
	case HIT_NONE:
		break;
	}
	return CM_FAIL;
}

/*
 * The end of the port written after the address or host m
 * ("192.0.2.1:5060", "[2001:db8::1]:5060", "192.0.2.1.5060",
 * "2001:db8::1.5060", "alice@pbx:5060"), or 0. A port names a service, not
 * a person: it is kept, unless its digits are one of the record's numbers.
 */
static size_t port_after(const char *in, size_t n, const struct span *m)
{
	size_t k = m->end, j;

	if (m->what == HIT_EMAIL)
		return port_end(in, n, k, ':');
	if (m->what != HIT_IP)
		return 0;
	if (memchr(in + m->start, ':', m->end - m->start) == NULL) /* a quad */
		return (j = port_end(in, n, k, ':')) ? j : port_end(in, n, k, '.');
	if (m->start > 0 && in[m->start - 1] == '[' && k < n && in[k] == ']')
		return port_end(in, n, k + 1, ':');
	/* a colon after a bare IPv6 address is its own */
	return port_end(in, n, k, '.');
}

/*
 * The mask of gate_bits under which a byte can start a match in in[0..n):
 * at a byte c with !(gate_bits[c] & mask), email_at, ipv6_at, ipv4_at and
 * number_at all return 0 without side effects, so the scan steps over it.
 * An e-mail address needs an '@' in the text, an IPv6 address two ':', an
 * IPv4 quad a '.' (GATE_DOT: no byte has it, it only says whether ipv4_at
 * is worth trying).
 */
static unsigned scrub_gate(const char *in, size_t n, int display)
{
	const char *c = memchr(in, ':', n);
	unsigned mask = GATE_NUM;

	if (display)
		mask |= GATE_QUOTE;
	if (memchr(in, '@', n))
		mask |= GATE_LOCAL;
	if (c && memchr(c + 1, ':', n - (size_t)(c + 1 - in)))
		mask |= GATE_V6;
	if (memchr(in, '.', n))
		mask |= GATE_DOT;
	return mask;
}

int cm_scrub(const struct cm_scrub_opts *o, const struct cm_scrub_ctx *ctx, const char *in,
	     size_t n, struct cm_buf *out)
{
	struct cm_buf own, *tmp = ctx->tmp ? ctx->tmp : &own;
	struct span m;
	size_t i = 0, copied = 0, min = o->min_digits ? o->min_digits : 1, start = out->n;
	size_t phone_from = 0, j, p, at = SIZE_MAX, at_lo = 0, tok_at;
	unsigned gate;
	int rc = 0;

	cm_buf_init(&own);
	pthread_once(&gate_once, gate_build);
	gate = scrub_gate(in, n, o->display_redact);
	while (i < n) {
		unsigned g = gate;
		size_t lim = n; /* the skip below may not pass where g changes */

		/*
		 * An e-mail address starts only in the run of local-part bytes
		 * that ends at the next '@': in [at_lo, at). The run is found
		 * looking back over is_local, a superset of local_at (a
		 * separator ends a run, its bytes pass is_local), so no start is
		 * missed.
		 */
		if (gate & GATE_LOCAL) {
			if (i > at || at == SIZE_MAX) {
				const char *q = memchr(in + i, '@', n - i);

				if (!q) {
					gate &= ~(unsigned)GATE_LOCAL; /* no '@' ahead */
					g = gate;
				} else {
					at = (size_t)(q - in);
					for (at_lo = at; at_lo > i && is_local(in[at_lo - 1]); at_lo--)
						;
				}
			}
			if (i < at_lo || i >= at) {
				g &= ~(unsigned)GATE_LOCAL;
				lim = i < at_lo ? at_lo : at + 1; /* past at, the next '@' is looked for */
			}
		}
		/*
		 * Most bytes of a text start nothing: skip them without trying
		 * each rule (the gate is exact, so output is as if they were
		 * tried), in a tight loop up to lim, where g may change.
		 */
		if (!(gate_bits[(unsigned char)in[i]] & g)) {
			for (i++; i < lim && !(gate_bits[(unsigned char)in[i]] & g); i++)
				;
			continue;
		}
		if (o->display_redact && in[i] == '"') {
			/* The display name goes, its quotes stay: "Alice" <...> -> "" <...>. */
			cm_buf_add(out, in + copied, i - copied);
			cm_buf_add(out, "\"\"", 2);
			i = copied = quoted_end(in, n, i);
			continue;
		}
		if (!((g & GATE_LOCAL) && email_at(in, n, i, &m)) &&
		    !((gate & GATE_V6) && ipv6_at(in, n, i, &m)) &&
		    !((gate & GATE_DOT) && ipv4_at(in, n, i, &m)) &&
		    !number_at(in, n, i, min, ctx, tmp, &m, &phone_from)) {
			i++;
			continue;
		}
		cm_buf_add(out, in + copied, m.start - copied);
		tok_at = out->n;
		if (replace(o, ctx, in, &m, tmp, out) != 0) {
			rc = CM_FAIL;
			goto out;
		}
		if (ctx->watch && m.what == HIT_PHONE && m.start == ctx->watch->start &&
		    m.end == ctx->watch->end) {
			ctx->watch->found++;
			ctx->watch->at = tok_at - start;
			ctx->watch->len = out->n - tok_at;
		}
		i = copied = m.end;
		if ((j = port_after(in, n, &m)) != 0) {
			/* A port stays, unless it is one of the record's numbers ("pbx:101"). */
			for (p = j; is_digit(in[p - 1]); p--)
				;
			if (in_row(ctx, in, p, j, tmp)) {
				cm_buf_add(out, in + i, p - i);
				m.what = HIT_PHONE;
				m.start = p;
				m.end = j;
				if (replace(o, ctx, in, &m, tmp, out) != 0) {
					rc = CM_FAIL;
					goto out;
				}
			} else {
				cm_buf_add(out, in + i, j - i);
			}
			i = copied = j;
		}
	}
	cm_buf_add(out, in + copied, n - copied);
out:
	cm_buf_deinit(&own); /* it held originals: deinit wipes (a caller's tmp is the caller's) */
	if (out->oom)
		rc = CM_FAIL;
	if (rc != 0)
		out->n = start; /* nothing half-scrubbed is left for a caller to use */
	return rc;
}
