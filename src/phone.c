/*
 * \summary: telephone numbers: E.164 normalization under a numbering plan
 *
 * ITU-T E.164 (at most 15 digits after "+", country codes of 1 to 3 digits),
 * E.123 for the written forms, RFC 3966 (tel:) and RFC 3261 (sip:, sips:) for
 * the URI forms. The input is arbitrary bytes: (pointer, length), never read
 * past its end, never NUL-terminated.
 */
#include <stdint.h>
#include <string.h>

#include "cdrmin/phone.h"

void cm_numbering_default(struct cm_numbering *np)
{
	memset(np, 0, sizeof *np);
	np->bare = CM_BARE_LOCAL;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_blank(char c) { return c == ' ' || c == '\t'; }

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

size_t cm_phone_sep_len(const char *s, size_t n, size_t i)
{
	const unsigned char *u = (const unsigned char *)s;

	if (i >= n)
		return 0;
	switch (s[i]) {
	case ' ': /* E.123 section 7.1: a space between groups */
	case '\t':
	case '-':
	case '.': /* national habits: "01.23.45.67.89", "0470/12.34.56", "01_23" */
	case '/':
	case '_':
		return 1;
	default:
		break;
	}
	if (u[i] == 0xc2 && i + 1 < n && (u[i + 1] == 0xa0 || u[i + 1] == 0xb7))
		return 2; /* U+00A0 no-break space, U+00B7 middle dot */
	if (i + 2 >= n)
		return 0;
	switch (u[i]) {
	case 0xe2:
		/* U+2010..U+2015 hyphens and dashes, U+2027, spaces U+2007, U+2009, U+202F */
		if (u[i + 1] == 0x80 &&
		    ((u[i + 2] >= 0x90 && u[i + 2] <= 0x95) || u[i + 2] == 0x87 ||
		     u[i + 2] == 0x89 || u[i + 2] == 0xa7 || u[i + 2] == 0xaf))
			return 3;
		if (u[i + 1] == 0x88 && u[i + 2] == 0x92)
			return 3; /* U+2212 minus sign */
		return 0;
	case 0xe3: /* U+3000 ideographic space */
		return u[i + 1] == 0x80 && u[i + 2] == 0x80 ? 3 : 0;
	case 0xef: /* U+FF0D fullwidth hyphen-minus */
		return u[i + 1] == 0xbc && u[i + 2] == 0x8d ? 3 : 0;
	default:
		return 0;
	}
}

/*
 * The blocks of ten decimal digits read besides ASCII, in UTF-8: the lead
 * byte(s) and the last byte of the digit zero; the other nine follow it.
 */
static const struct {
	unsigned char len, lead0, lead1, zero;
} digit_blocks[] = {
	{ 2, 0xd9, 0, 0xa0 },    /* U+0660 Arabic-Indic */
	{ 2, 0xdb, 0, 0xb0 },    /* U+06F0 Extended Arabic-Indic */
	{ 3, 0xe0, 0xa5, 0xa6 }, /* U+0966 Devanagari */
	{ 3, 0xef, 0xbc, 0x90 }, /* U+FF10 fullwidth */
};

int cm_phone_digit_at(const char *s, size_t n, size_t i, size_t *len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t k, l;

	if (len)
		*len = 0;
	if (i >= n)
		return -1;
	if (is_digit(s[i])) {
		if (len)
			*len = 1;
		return s[i] - '0';
	}
	for (k = 0; k < sizeof digit_blocks / sizeof digit_blocks[0]; k++) {
		l = digit_blocks[k].len;
		if (n - i < l || u[i] != digit_blocks[k].lead0 ||
		    (l == 3 && u[i + 1] != digit_blocks[k].lead1) ||
		    u[i + l - 1] < digit_blocks[k].zero || u[i + l - 1] > digit_blocks[k].zero + 9)
			continue;
		if (len)
			*len = l;
		return u[i + l - 1] - digit_blocks[k].zero;
	}
	return -1;
}

static int has_prefix_ci(const char *s, size_t n, const char *lit)
{
	size_t i, m = strlen(lit);

	if (n < m)
		return 0;
	for (i = 0; i < m; i++)
		if (lower(s[i]) != lit[i])
			return 0;
	return 1;
}

static int equals_ci(const char *s, size_t n, const char *lit)
{
	return strlen(lit) == n && has_prefix_ci(s, n, lit);
}

static const char *const markers[] = {
	"anonymous", "unknown", "restricted", "private", "unavailable", "withheld",
};

/* The marker s[0..n) spells (any case), or NULL. */
static const char *marker_of(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof markers / sizeof markers[0]; i++)
		if (equals_ci(s, n, markers[i]))
			return markers[i];
	return NULL;
}

/*
 * Length of a plan field (cc, trunk, intl) when it is all digits, else 0:
 * a field that is not a digit string is treated as not set.
 */
static size_t plan_len(const char *f, size_t cap)
{
	size_t i, n = strnlen(f, cap);

	for (i = 0; i < n; i++)
		if (!is_digit(f[i]))
			return 0;
	return n;
}

/*
 * Replace the first drop bytes of b with ins[0..m). b holds only digits
 * here, so the bytes moved are never originals left behind in slack: the
 * buffer is wiped as a whole by its owner.
 */
static void replace_prefix(struct cm_buf *b, size_t drop, const char *ins, size_t m)
{
	if (m > drop && cm_buf_reserve(b, m - drop) != 0)
		return;
	memmove(b->p + m, b->p + drop, b->n - drop);
	memcpy(b->p, ins, m);
	b->n = b->n - drop + m;
}

static int starts_with(const struct cm_buf *b, const char *pre, size_t m)
{
	return m > 0 && b->n >= m && memcmp(b->p, pre, m) == 0;
}

/* A national significant number of len digits fits the plan's bounds. */
static int nsn_fits(const struct cm_numbering *np, size_t len)
{
	return (np->nsn_min == 0 || len >= np->nsn_min) && (np->nsn_max == 0 || len <= np->nsn_max);
}

/* out = "+" cc digits (digits already in out) when it fits E.164. */
static enum cm_phone_class with_cc(struct cm_buf *out, size_t drop, const char *cc, size_t ccn)
{
	char pre[8]; /* "+" and a cc of at most sizeof cc (4) bytes */

	if (out->n - drop == 0 || out->n - drop + ccn > CM_E164_MAX_DIGITS)
		return CM_PHONE_LOCAL;
	pre[0] = '+';
	memcpy(pre + 1, cc, ccn);
	replace_prefix(out, drop, pre, ccn + 1);
	return CM_PHONE_E164;
}

/* out holds one or more digits and nothing else: apply the plan. */
static enum cm_phone_class classify_digits(const struct cm_numbering *np, struct cm_buf *out)
{
	size_t ccn = plan_len(np->cc, sizeof np->cc);
	size_t tn = plan_len(np->trunk, sizeof np->trunk);
	size_t in = plan_len(np->intl, sizeof np->intl);
	size_t rest;

	/* "00" before "0": the international prefix usually extends the trunk prefix. */
	if (starts_with(out, np->intl, in)) {
		rest = out->n - in;
		if (rest < 1 || rest > CM_E164_MAX_DIGITS || cm_phone_cc_len(out->p + in, rest) == 0)
			return CM_PHONE_LOCAL;
		replace_prefix(out, in, "+", 1);
		return CM_PHONE_E164;
	}
	/*
	 * A trunk prefix or bare national digits of a length no national number
	 * has ("911", "1001" under NANP) are a short code or an extension.
	 */
	if (ccn > 0 && starts_with(out, np->trunk, tn))
		return nsn_fits(np, out->n - tn) ? with_cc(out, tn, np->cc, ccn) : CM_PHONE_LOCAL;
	switch (np->bare) {
	case CM_BARE_NATIONAL:
		return ccn > 0 && nsn_fits(np, out->n) ? with_cc(out, 0, np->cc, ccn) : CM_PHONE_LOCAL;
	case CM_BARE_INTERNATIONAL:
		if (out->n > CM_E164_MAX_DIGITS || cm_phone_cc_len(out->p, out->n) == 0)
			return CM_PHONE_LOCAL;
		replace_prefix(out, 0, "+", 1);
		return CM_PHONE_E164;
	case CM_BARE_LOCAL:
	default:
		return CM_PHONE_LOCAL;
	}
}

/* The length of s[0..n) up to the first byte of stops (a NUL byte is none). */
static size_t span_to(const char *s, size_t n, const char *stops)
{
	size_t i;

	for (i = 0; i < n && (s[i] == '\0' || !strchr(stops, s[i])); i++)
		;
	return i;
}

/*
 * The host of a SIP URI, h[0..*hn) after the '@': RFC 3261 section 19.1.1
 * hostport, without the port (after ':', or after the ']' of an IPv6
 * reference) and without the uri-parameters (';') and headers ('?').
 */
static void sip_host(const char *h, size_t *hn)
{
	size_t m = span_to(h, *hn, ";?"), rb;

	if (m > 0 && h[0] == '[') {
		rb = span_to(h, m, "]");
		m = rb < m ? rb + 1 : m;
	} else {
		m = span_to(h, m, ":");
	}
	*hn = m;
}

/*
 * Reduce a tel:, sip: or sips: URI to its user part: RFC 3261 section 19.1.1
 * puts the user before '@'; RFC 3966 and sip user parameters
 * (";phone-context=", ";isub=") follow ';'. *host gets the host of a sip:
 * or sips: URI (sip_host), empty when there is none. A value without a
 * scheme is left whole.
 */
static void strip_uri(const char **s, size_t *n, const char **host, size_t *hn)
{
	const char *p = *s, *at;
	size_t m = *n;
	int sip;

	*host = NULL;
	*hn = 0;
	if (has_prefix_ci(p, m, "tel:"))
		p += 4, m -= 4, sip = 0;
	else if (has_prefix_ci(p, m, "sip:"))
		p += 4, m -= 4, sip = 1;
	else if (has_prefix_ci(p, m, "sips:"))
		p += 5, m -= 5, sip = 1;
	else
		return;
	if (sip && (at = memchr(p, '@', m)) != NULL) {
		*host = at + 1;
		*hn = m - (size_t)(at + 1 - p);
		sip_host(*host, hn);
		m = (size_t)(at - p);
	}
	m = span_to(p, m, ";");
	*s = p;
	*n = m;
}

/* "<" v ">" (RFC 3261 section 20.10 name-addr brackets): drops the one pair. */
static void strip_angle(const char **v, size_t *n)
{
	if (*n >= 2 && (*v)[0] == '<' && (*v)[*n - 1] == '>') {
		(*v)++;
		*n -= 2;
	}
}

static void trim_blanks(const char **v, size_t *n)
{
	while (*n > 0 && is_blank((*v)[0]))
		(*v)++, (*n)--;
	while (*n > 0 && is_blank((*v)[*n - 1]))
		(*n)--;
}

/* The length of "(0)" at s[i] (the 0 in any script of cm_phone_digit_at), or 0. */
static size_t trunk_hint(const char *s, size_t m, size_t i)
{
	size_t dl;

	if (i + 2 >= m || s[i] != '(' || cm_phone_digit_at(s, m, i + 1, &dl) != 0)
		return 0;
	return i + 1 + dl < m && s[i + 1 + dl] == ')' ? dl + 2 : 0;
}

static void put_lower(struct cm_buf *out, const char *s, size_t n)
{
	size_t i;

	if (cm_buf_reserve(out, n) != 0)
		return;
	for (i = 0; i < n; i++)
		out->p[out->n + i] = lower(s[i]);
	out->n += n;
}

enum cm_phone_class cm_phone_normalize(const struct cm_numbering *np, const char *v, size_t n,
				       struct cm_buf *out)
{
	static const struct cm_numbering no_plan; /* all empty, bare LOCAL */
	const char *s, *mk, *host;
	size_t m, i, sl, hn, digits = 0;
	int d, plus = 0, other = 0, seen = 0;

	if (!np)
		np = &no_plan;
	cm_buf_reset(out);
	trim_blanks(&v, &n);
	strip_angle(&v, &n);
	trim_blanks(&v, &n);
	if (n == 0)
		return CM_PHONE_EMPTY;
	if ((mk = marker_of(v, n)) != NULL) {
		cm_buf_adds(out, mk);
		return CM_PHONE_MARKER;
	}

	s = v;
	m = n;
	strip_uri(&s, &m, &host, &hn);
	if (m == 0) {
		/* "tel:", "sip:@host": nothing left of a user; the whole value, which holds ':'. */
		put_lower(out, v, n);
		return CM_PHONE_OTHER;
	}
	if ((mk = marker_of(s, m)) != NULL) { /* sip:anonymous@anonymous.invalid (RFC 3323) */
		cm_buf_adds(out, mk);
		return CM_PHONE_MARKER;
	}

	/*
	 * One "+" before the first digit, then digits and separators only. In
	 * "+44 (0)20 7946 0123" the "(0)" is the trunk prefix shown for national
	 * callers (a habit E.123 advises against): after a "+" or a first digit
	 * ("0044 (0)20 ...") it is not part of the number. A multibyte
	 * separator or digit is skipped whole, so its bytes are never read as
	 * others.
	 */
	for (i = 0; i < m; i++) {
		if (seen && (sl = trunk_hint(s, m, i)) > 0)
			i += sl - 1;
		else if (cm_phone_digit_at(s, m, i, &sl) >= 0)
			digits++, seen = 1, i += sl - 1;
		else if (s[i] == '+' && !seen && !plus)
			plus = 1, seen = 1;
		else if ((sl = cm_phone_sep_len(s, m, i)) > 0)
			i += sl - 1;
		else if (s[i] != '(' && s[i] != ')')
			other = 1;
	}
	if (!other && digits > 0 && (!plus || digits <= CM_E164_MAX_DIGITS)) {
		if (cm_buf_reserve(out, digits + 1) != 0)
			return CM_PHONE_OTHER;
		if (plus)
			out->p[out->n++] = '+';
		seen = plus;
		for (i = 0; i < m; i++)
			if (seen && (sl = trunk_hint(s, m, i)) > 0)
				i += sl - 1;
			else if ((d = cm_phone_digit_at(s, m, i, &sl)) >= 0)
				out->p[out->n++] = (char)('0' + d), seen = 1, i += sl - 1;
			else if ((sl = cm_phone_sep_len(s, m, i)) > 0)
				i += sl - 1;
		if (plus)
			return CM_PHONE_E164;
		return classify_digits(np, out);
	}
	/*
	 * Anything else is a user name. It is never '+' with 1..15 digits nor
	 * all digits (those were taken above), nor a marker, so the classes'
	 * forms stay apart. "+" with more than 15 digits lands here too: too
	 * long for E.164, so it cannot meet an E.164 form. A SIP user name
	 * keeps its host: alice@a.example and alice@b.example are two people.
	 */
	put_lower(out, s, m);
	if (hn > 0) {
		cm_buf_addc(out, '@');
		put_lower(out, host, hn);
	}
	return CM_PHONE_OTHER;
}

/* Two-digit country codes, as a bit set of second digits per first digit (E.164 annex). */
static const uint16_t cc2[10] = {
	[2] = 1u << 0 | 1u << 7,
	[3] = 1u << 0 | 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 6 | 1u << 9,
	[4] = 1u << 0 | 1u << 1 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 8 |
	      1u << 9,
	[5] = 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 8,
	[6] = 1u << 0 | 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6,
	[8] = 1u << 1 | 1u << 2 | 1u << 4 | 1u << 6,
	[9] = 1u << 0 | 1u << 1 | 1u << 2 | 1u << 3 | 1u << 4 | 1u << 5 | 1u << 8,
};

size_t cm_phone_cc_len(const char *digits, size_t n)
{
	size_t len, i;
	int d0;

	if (n == 0 || !is_digit(digits[0]) || digits[0] == '0')
		return 0;
	d0 = digits[0] - '0';
	if (d0 == 1 || d0 == 7)
		return 1;
	if (n < 2 || !is_digit(digits[1]))
		return 0;
	len = cc2[d0] & (1u << (digits[1] - '0')) ? 2 : 3;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++)
		if (!is_digit(digits[i]))
			return 0;
	return len;
}
