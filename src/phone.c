/*
 * \summary: telephone numbers: E.164 normalization under a numbering plan
 *
 * ITU-T E.164 (at most 15 digits after "+", country codes of 1 to 3 digits),
 * E.123 for the written forms, RFC 3966 (tel:) and RFC 3261 (sip:, sips:) for
 * the URI forms. The input is arbitrary bytes: (pointer, length), never read
 * past its end, never NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
/* XXH3 inlined: a memo lookup costs a few dozen instructions, not a library call */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cdrmin/phone.h"
#include "cdrmin/secmem.h"

void cm_numbering_default(struct cm_numbering *np)
{
	memset(np, 0, sizeof *np);
	np->bare = CM_BARE_LOCAL;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_blank(char c) { return c == ' ' || c == '\t'; }

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

/*
 * The code point of the well-formed UTF-8 character that starts at u[i]
 * (u[i] >= 0x80, i < n), its length in *len; or -1 for a stray byte, an
 * overlong form, a surrogate, or a character cut short by n (RFC 3629
 * section 4): a malformed sequence is never read as a digit or separator.
 */
static long utf8_at(const unsigned char *u, size_t n, size_t i, size_t *len)
{
	unsigned char c = u[i];
	size_t k, more;
	long cp, min;

	if (c < 0xc2 || c > 0xf4)
		return -1; /* a continuation byte, an overlong 2-byte lead, or past U+10FFFF */
	if (c < 0xe0)
		more = 1, cp = c & 0x1f, min = 0x80;
	else if (c < 0xf0)
		more = 2, cp = c & 0x0f, min = 0x800;
	else
		more = 3, cp = c & 0x07, min = 0x10000;
	if (n - i <= more)
		return -1;
	for (k = 1; k <= more; k++) {
		if ((u[i + k] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (u[i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = more + 1;
	return cp;
}

/*
 * The separators of cm_phone_sep_len beyond ASCII, as sorted, disjoint
 * ranges of code points, following Unicode 15.1: every space (Zs), every
 * dash (Pd), the dots and marks written between digit groups, and every
 * default ignorable code point (DerivedCoreProperties.txt,
 * Default_Ignorable_Code_Point, reserved ones included). ign marks the
 * characters of cm_phone_ignorable_len: the default ignorable ones and the
 * enclosing keycap U+20E3.
 */
static const struct sep_range {
	uint32_t lo, hi;
	unsigned char ign;
} sep_ranges[] = {
	{ 0x0085, 0x0085, 0 },   /* next line (NEL) */
	{ 0x00a0, 0x00a0, 0 },   /* no-break space */
	{ 0x00ad, 0x00ad, 1 },   /* soft hyphen */
	{ 0x00b7, 0x00b7, 0 },   /* middle dot */
	{ 0x034f, 0x034f, 1 },   /* combining grapheme joiner */
	{ 0x058a, 0x058a, 0 },   /* Armenian hyphen */
	{ 0x05be, 0x05be, 0 },   /* Hebrew maqaf */
	{ 0x061c, 0x061c, 1 },   /* Arabic letter mark */
	{ 0x115f, 0x1160, 1 },   /* Hangul fillers */
	{ 0x1400, 0x1400, 0 },   /* Canadian syllabics hyphen */
	{ 0x1680, 0x1680, 0 },   /* Ogham space mark */
	{ 0x17b4, 0x17b5, 1 },   /* Khmer inherent vowels */
	{ 0x1806, 0x1806, 0 },   /* Mongolian todo soft hyphen */
	{ 0x180b, 0x180f, 1 },   /* Mongolian variation selectors, vowel separator */
	{ 0x2000, 0x200a, 0 },   /* en quad .. hair space */
	{ 0x200b, 0x200f, 1 },   /* zero width space, (non-)joiner, LRM, RLM */
	{ 0x2010, 0x2015, 0 },   /* hyphen .. horizontal bar */
	{ 0x2027, 0x2029, 0 },   /* hyphenation point, line and paragraph separators */
	{ 0x202a, 0x202e, 1 },   /* bidi embeddings and overrides */
	{ 0x202f, 0x202f, 0 },   /* narrow no-break space */
	{ 0x2043, 0x2043, 0 },   /* hyphen bullet */
	{ 0x205f, 0x205f, 0 },   /* medium mathematical space */
	{ 0x2060, 0x206f, 1 },   /* word joiner, invisible operators, isolates, deprecated */
	{ 0x20e3, 0x20e3, 1 },   /* combining enclosing keycap: "1" U+FE0F U+20E3 is a 1 */
	{ 0x2212, 0x2212, 0 },   /* minus sign */
	{ 0x2e17, 0x2e17, 0 },   /* double oblique hyphen */
	{ 0x2e1a, 0x2e1a, 0 },   /* hyphen with diaeresis */
	{ 0x2e3a, 0x2e3b, 0 },   /* two-em and three-em dash */
	{ 0x2e40, 0x2e40, 0 },   /* double hyphen */
	{ 0x2e5d, 0x2e5d, 0 },   /* oblique hyphen */
	{ 0x3000, 0x3000, 0 },   /* ideographic space */
	{ 0x301c, 0x301c, 0 },   /* wave dash */
	{ 0x3030, 0x3030, 0 },   /* wavy dash */
	{ 0x30a0, 0x30a0, 0 },   /* katakana-hiragana double hyphen */
	{ 0x30fb, 0x30fc, 0 },   /* katakana middle dot, prolonged sound mark */
	{ 0x3164, 0x3164, 1 },   /* Hangul filler */
	{ 0xfe00, 0xfe0f, 1 },   /* variation selectors */
	{ 0xfe31, 0xfe32, 0 },   /* vertical em and en dash */
	{ 0xfe58, 0xfe58, 0 },   /* small em dash */
	{ 0xfe63, 0xfe63, 0 },   /* small hyphen-minus */
	{ 0xfeff, 0xfeff, 1 },   /* zero width no-break space (byte order mark) */
	{ 0xff0d, 0xff0f, 0 },   /* fullwidth hyphen-minus, full stop, solidus */
	{ 0xff3f, 0xff3f, 0 },   /* fullwidth low line */
	{ 0xff65, 0xff65, 0 },   /* halfwidth katakana middle dot */
	{ 0xff70, 0xff70, 0 },   /* halfwidth prolonged sound mark */
	{ 0xffa0, 0xffa0, 1 },   /* halfwidth Hangul filler */
	{ 0xfff0, 0xfff8, 1 },   /* reserved, default ignorable */
	{ 0x10ead, 0x10ead, 0 }, /* Yezidi hyphenation mark */
	{ 0x1bca0, 0x1bca3, 1 }, /* shorthand format controls */
	{ 0x1d173, 0x1d17a, 1 }, /* musical symbol format controls */
	{ 0xe0000, 0xe0fff, 1 }, /* tags, variation selectors supplement, reserved */
};

/* The separator range holding the character at s[i] (s[i] >= 0x80), or NULL; *len its bytes. */
static const struct sep_range *sep_find(const char *s, size_t n, size_t i, size_t *len)
{
	size_t lo = 0, hi = sizeof sep_ranges / sizeof sep_ranges[0], mid;
	long cp = utf8_at((const unsigned char *)s, n, i, len);

	if (cp < 0)
		return NULL;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if ((uint32_t)cp < sep_ranges[mid].lo)
			hi = mid;
		else if ((uint32_t)cp > sep_ranges[mid].hi)
			lo = mid + 1;
		else
			return &sep_ranges[mid];
	}
	return NULL;
}

size_t cm_phone_sep_len_utf8(const char *s, size_t n, size_t i)
{
	size_t len;

	return i < n && sep_find(s, n, i, &len) ? len : 0;
}

size_t cm_phone_ignorable_len(const char *s, size_t n, size_t i)
{
	const struct sep_range *r;
	size_t len;

	if (i >= n || (unsigned char)s[i] < 0x80)
		return 0;
	r = sep_find(s, n, i, &len);
	return r && r->ign ? len : 0;
}

/*
 * The digit zero of every block of ten decimal digits beyond ASCII, sorted:
 * each block is zero..zero+9 with the values 0..9. These are the
 * characters of general category Nd of Unicode 15.1 (68 blocks with ASCII;
 * Unicode guarantees Nd comes in such blocks), plus the subscript digits
 * U+2080..U+2089 (category No, the same shape).
 */
static const uint32_t digit_zeros[] = {
	0x0660,  /* Arabic-Indic */
	0x06f0,  /* Extended Arabic-Indic */
	0x07c0,  /* NKo */
	0x0966,  /* Devanagari */
	0x09e6,  /* Bengali */
	0x0a66,  /* Gurmukhi */
	0x0ae6,  /* Gujarati */
	0x0b66,  /* Oriya */
	0x0be6,  /* Tamil */
	0x0c66,  /* Telugu */
	0x0ce6,  /* Kannada */
	0x0d66,  /* Malayalam */
	0x0de6,  /* Sinhala Lith */
	0x0e50,  /* Thai */
	0x0ed0,  /* Lao */
	0x0f20,  /* Tibetan */
	0x1040,  /* Myanmar */
	0x1090,  /* Myanmar Shan */
	0x17e0,  /* Khmer */
	0x1810,  /* Mongolian */
	0x1946,  /* Limbu */
	0x19d0,  /* New Tai Lue */
	0x1a80,  /* Tai Tham Hora */
	0x1a90,  /* Tai Tham Tham */
	0x1b50,  /* Balinese */
	0x1bb0,  /* Sundanese */
	0x1c40,  /* Lepcha */
	0x1c50,  /* Ol Chiki */
	0x2080,  /* subscripts (No) */
	0xa620,  /* Vai */
	0xa8d0,  /* Saurashtra */
	0xa900,  /* Kayah Li */
	0xa9d0,  /* Javanese */
	0xa9f0,  /* Myanmar Tai Laing */
	0xaa50,  /* Cham */
	0xabf0,  /* Meetei Mayek */
	0xff10,  /* fullwidth */
	0x104a0, /* Osmanya */
	0x10d30, /* Hanifi Rohingya */
	0x11066, /* Brahmi */
	0x110f0, /* Sora Sompeng */
	0x11136, /* Chakma */
	0x111d0, /* Sharada */
	0x112f0, /* Khudawadi */
	0x11450, /* Newa */
	0x114d0, /* Tirhuta */
	0x11650, /* Modi */
	0x116c0, /* Takri */
	0x11730, /* Ahom */
	0x118e0, /* Warang Citi */
	0x11950, /* Dives Akuru */
	0x11c50, /* Bhaiksuki */
	0x11d50, /* Masaram Gondi */
	0x11da0, /* Gunjala Gondi */
	0x11f50, /* Kawi */
	0x16a60, /* Mro */
	0x16ac0, /* Tangsa */
	0x16b50, /* Pahawh Hmong */
	0x1d7ce, /* mathematical bold */
	0x1d7d8, /* mathematical double-struck */
	0x1d7e2, /* mathematical sans-serif */
	0x1d7ec, /* mathematical sans-serif bold */
	0x1d7f6, /* mathematical monospace */
	0x1e140, /* Nyiakeng Puachue Hmong */
	0x1e2f0, /* Wancho */
	0x1e4f0, /* Nag Mundari */
	0x1e950, /* Adlam */
	0x1fbf0, /* segmented digits */
};

/* The value of the digit cp, or -1: digit_zeros, then the superscripts (No, not a block). */
static int digit_value(long cp)
{
	size_t lo = 0, hi = sizeof digit_zeros / sizeof digit_zeros[0], mid;

	if (cp < 0)
		return -1;
	/* the last zero <= cp */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (digit_zeros[mid] <= (uint32_t)cp)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0 && (uint32_t)cp - digit_zeros[lo - 1] <= 9)
		return (int)((uint32_t)cp - digit_zeros[lo - 1]);
	switch (cp) {
	case 0x00b9:
		return 1;
	case 0x00b2:
		return 2;
	case 0x00b3:
		return 3;
	case 0x2070:
		return 0;
	default:
		/* U+2071..U+2073 are a letter and two unassigned code points */
		return cp >= 0x2074 && cp <= 0x2079 ? (int)(cp - 0x2070) : -1;
	}
}

int cm_phone_digit_at_utf8(const char *s, size_t n, size_t i, size_t *len)
{
	size_t l = 0;
	int d = -1;

	if (i < n)
		d = digit_value(utf8_at((const unsigned char *)s, n, i, &l));
	if (len)
		*len = d >= 0 ? l : 0;
	return d;
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

	if (n == 0 || lower(s[0]) < 'a' || lower(s[0]) > 'z')
		return NULL; /* every marker starts with a letter; a number never does */
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
	size_t i;

	for (i = 0; i < cap && f[i] != '\0'; i++)
		if (!is_digit(f[i]))
			return 0;
	return i;
}

/* d[0..n) starts with pre[0..m), a plan field of a few bytes (m 0: an unset field, never). */
static int starts_with(const char *d, size_t n, const char *pre, size_t m)
{
	size_t i;

	if (m == 0 || n < m)
		return 0;
	for (i = 0; i < m; i++)
		if (d[i] != pre[i])
			return 0;
	return 1;
}

/* A national significant number of len digits fits the plan's bounds. */
static int nsn_fits(const struct cm_numbering *np, size_t len)
{
	return (np->nsn_min == 0 || len >= np->nsn_min) && (np->nsn_max == 0 || len <= np->nsn_max);
}

/*
 * What the numbering plan makes of digits: E.164 as ins[0..*insn) then
 * the digits from *drop on, or LOCAL, the digits as they are (*drop and
 * *insn 0). ins has room for "+" and a cc (sizeof cc bytes at most).
 */
struct digits_plan {
	size_t drop, insn;
	char ins[8];
};

/* "+" cc, in place of the first drop of n digits, when that fits E.164. */
static enum cm_phone_class with_cc(struct digits_plan *dp, size_t n, size_t drop, const char *cc,
				   size_t ccn)
{
	if (n - drop == 0 || n - drop + ccn > CM_E164_MAX_DIGITS)
		return CM_PHONE_LOCAL;
	dp->ins[0] = '+';
	memcpy(dp->ins + 1, cc, ccn);
	dp->insn = ccn + 1;
	dp->drop = drop;
	return CM_PHONE_E164;
}

/* The plan applied to d[0..n), one or more digits and nothing else. */
static enum cm_phone_class plan_digits(const struct cm_numbering *np, const char *d, size_t n,
				       struct digits_plan *dp)
{
	size_t in = plan_len(np->intl, sizeof np->intl), ccn, tn, rest;

	dp->drop = 0;
	dp->insn = 0;
	/* "00" before "0": the international prefix usually extends the trunk prefix. */
	if (starts_with(d, n, np->intl, in)) {
		rest = n - in;
		if (rest < 1 || rest > CM_E164_MAX_DIGITS || cm_phone_cc_len(d + in, rest) == 0)
			return CM_PHONE_LOCAL;
		dp->ins[0] = '+';
		dp->insn = 1;
		dp->drop = in;
		return CM_PHONE_E164;
	}
	ccn = plan_len(np->cc, sizeof np->cc);
	tn = plan_len(np->trunk, sizeof np->trunk);
	/*
	 * A trunk prefix or bare national digits of a length no national number
	 * has ("911", "1001" under NANP) are a short code or an extension.
	 */
	if (ccn > 0 && starts_with(d, n, np->trunk, tn))
		return nsn_fits(np, n - tn) ? with_cc(dp, n, tn, np->cc, ccn) : CM_PHONE_LOCAL;
	switch (np->bare) {
	case CM_BARE_NATIONAL:
		return ccn > 0 && nsn_fits(np, n) ? with_cc(dp, n, 0, np->cc, ccn) : CM_PHONE_LOCAL;
	case CM_BARE_INTERNATIONAL:
		if (n > CM_E164_MAX_DIGITS || cm_phone_cc_len(d, n) == 0)
			return CM_PHONE_LOCAL;
		dp->ins[0] = '+';
		dp->insn = 1;
		return CM_PHONE_E164;
	case CM_BARE_LOCAL:
	default:
		return CM_PHONE_LOCAL;
	}
}

/*
 * out holds one or more digits and nothing else: apply the plan. The first
 * drop bytes give way to the prefix; out holds only digits, so the bytes
 * moved are never originals left behind in slack: the buffer is wiped as a
 * whole by its owner.
 */
static enum cm_phone_class classify_digits(const struct cm_numbering *np, struct cm_buf *out)
{
	struct digits_plan dp;
	enum cm_phone_class cls = plan_digits(np, out->p, out->n, &dp);

	if (dp.insn == 0)
		return cls;
	if (dp.insn > dp.drop && cm_buf_reserve(out, dp.insn - dp.drop) != 0)
		return cls;
	memmove(out->p + dp.insn, out->p + dp.drop, out->n - dp.drop);
	memcpy(out->p, dp.ins, dp.insn);
	out->n = out->n - dp.drop + dp.insn;
	return cls;
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
	if (m < 4 || (lower(p[0]) != 't' && lower(p[0]) != 's'))
		return; /* the common case, a number: no scheme */
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

/*
 * The length of "(0)" at s[i] (the 0 in any script of cm_phone_digit_at),
 * or 0. The caller has seen s[i] == '('.
 */
static size_t trunk_hint(const char *s, size_t m, size_t i)
{
	size_t dl;

	if (cm_phone_digit_at(s, m, i + 1, &dl) != 0)
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

static const struct cm_numbering no_plan; /* all empty, bare LOCAL */

size_t cm_phone_normalize_bare(const struct cm_numbering *np, const char *v, size_t n, char *out,
			       enum cm_phone_class *cls)
{
	struct digits_plan dp = {0, 0, {0}};

	_Static_assert(sizeof dp.ins >= CM_PHONE_PREFIX_MAX, "the prefix fits");
	if (!np)
		np = &no_plan;
	*cls = v[0] == '+' ? CM_PHONE_E164 : plan_digits(np, v, n, &dp);
	/* written once: the plan's prefix, then the digits it keeps */
	memcpy(out, dp.ins, dp.insn);
	memcpy(out + dp.insn, v + dp.drop, n - dp.drop);
	return n - dp.drop + dp.insn;
}

enum cm_phone_class cm_phone_normalize(const struct cm_numbering *np, const char *v, size_t n,
				       struct cm_buf *out)
{
	const char *s, *mk, *host;
	char *w;
	size_t m, i, sl, k, hn, digits;
	int d, plus = 0, seen = 0;

	if (!np)
		np = &no_plan;
	cm_buf_reset(out);
	/*
	 * The common case first: a bare number, "+" and up to 15 digits or
	 * digits only. Nothing in it is trimmed, stripped or a marker, and the
	 * loop below would copy it as it is: the same class and bytes.
	 */
	if (cm_phone_bare(v, n)) {
		enum cm_phone_class cls;

		if (n > SIZE_MAX - CM_PHONE_PREFIX_MAX ||
		    cm_buf_reserve(out, n + CM_PHONE_PREFIX_MAX) != 0)
			return CM_PHONE_OTHER;
		out->n = cm_phone_normalize_bare(np, v, n, out->p, &cls);
		return cls;
	}
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
	if (cm_buf_reserve(out, m) != 0) /* "+" and the digits take at most m bytes */
		return CM_PHONE_OTHER;
	w = out->p; /* a local pointer: stores through out->p could alias out->n */
	for (i = 0; i < m; i += sl) {
		if (s[i] == '(' && seen && (sl = trunk_hint(s, m, i)) > 0)
			continue;
		if ((d = cm_phone_digit_at(s, m, i, &sl)) >= 0) {
			*w++ = (char)('0' + d), seen = 1;
			continue;
		}
		sl = 1;
		if (s[i] == '+' && !seen)
			*w++ = '+', plus = 1, seen = 1;
		else if ((k = cm_phone_sep_len(s, m, i)) > 0)
			sl = k;
		else if (s[i] != '(' && s[i] != ')')
			break; /* a name: no need to read further */
	}
	out->n = (size_t)(w - out->p);
	digits = out->n - (size_t)plus;
	if (i >= m && digits > 0 && (!plus || digits <= CM_E164_MAX_DIGITS)) {
		if (plus)
			return CM_PHONE_E164;
		return classify_digits(np, out);
	}
	cm_buf_reset(out);
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

/* Values longer than this (a URI with parameters) are normalized each time. */
#define MEMO_RAW_MAX 29
#define MEMO_NORM_MAX 16 /* "+" and 15 digits fit */

struct memo_slot {
	uint64_t tag;     /* XXH3 of the value; 0: empty */
	const struct cm_numbering *np;
	uint8_t n, norm_n, cls;
	char v[MEMO_RAW_MAX];
	char norm[MEMO_NORM_MAX];
};
/* The slots start on a page (cm_secmem_map): each is one cache line, one load. */
_Static_assert(sizeof(struct memo_slot) == 64, "a slot is one cache line");

struct cm_phone_memo {
	struct memo_slot *slot;
	size_t mask, bytes;
	uint64_t seed;
};

struct cm_phone_memo *cm_phone_memo_new(size_t entries)
{
	struct cm_phone_memo *m;
	size_t slots = 1;
	void *map;

	while (slots < entries && slots < ((size_t)1 << 24))
		slots <<= 1;
	m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->bytes = slots * sizeof *m->slot;
	map = cm_secmem_map(m->bytes);
	if (!map) {
		free(m);
		return NULL;
	}
	(void)cm_secmem_populate(map, m->bytes); /* made at its first use (cm_plan_apply) */
	m->slot = map;
	m->mask = slots - 1;
	randombytes_buf(&m->seed, sizeof m->seed);
	return m;
}

void cm_phone_memo_free(struct cm_phone_memo *m)
{
	if (!m)
		return;
	cm_secmem_unmap(m->slot, m->bytes, 1);
	sodium_memzero(m, sizeof *m);
	free(m);
}

/* The tag of v[0..n) in m: never 0, the empty slot's. */
static inline uint64_t memo_tag(const struct cm_phone_memo *m, const char *v, size_t n)
{
	return XXH3_64bits_withSeed(v, n, m->seed) | 1;
}

uint64_t cm_phone_memo_prefetch(const struct cm_phone_memo *m, const char *v, size_t n)
{
	uint64_t h;

	if (!m || n > MEMO_RAW_MAX)
		return 0;
	h = memo_tag(m, v, n);
	__builtin_prefetch(&m->slot[h & m->mask]);
	return h;
}

enum cm_phone_class cm_phone_normalize_memo(struct cm_phone_memo *m,
					    const struct cm_numbering *np, const char *v,
					    size_t n, struct cm_buf *out)
{
	return cm_phone_normalize_memo_h(m, np, v, n, 0, out);
}

enum cm_phone_class cm_phone_normalize_memo_h(struct cm_phone_memo *m,
					      const struct cm_numbering *np, const char *v,
					      size_t n, uint64_t h, struct cm_buf *out)
{
	struct memo_slot *e;
	enum cm_phone_class cls;

	if (!m || n > MEMO_RAW_MAX)
		return cm_phone_normalize(np, v, n, out);
	if (!h)
		h = memo_tag(m, v, n);
	e = &m->slot[h & m->mask];
	if (e->tag == h && e->np == np && e->n == n && memcmp(e->v, v, n) == 0) {
		cm_buf_reset(out);
		cm_buf_add(out, e->norm, e->norm_n);
		return (enum cm_phone_class)e->cls;
	}
	cls = cm_phone_normalize(np, v, n, out);
	if (out->oom || out->n > MEMO_NORM_MAX)
		return cls;
	e->tag = h;
	e->np = np;
	e->n = (uint8_t)n;
	e->cls = (uint8_t)cls;
	e->norm_n = (uint8_t)out->n;
	if (n)
		memcpy(e->v, v, n);
	if (out->n) /* an empty normalization may leave out without a buffer */
		memcpy(e->norm, out->p, out->n);
	/* No tail of an evicted value may linger. */
	memset(e->v + n, 0, MEMO_RAW_MAX - n);
	memset(e->norm + out->n, 0, MEMO_NORM_MAX - out->n);
	return cls;
}
