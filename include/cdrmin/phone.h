/*
 * cdrmin: telephone numbers.
 *
 * Normalization to E.164 under a numbering plan (ITU-T E.164, E.123 for the
 * written forms): one pair of surrounding angle brackets is dropped
 * ("<sip:...>"), visual separators are removed (cm_phone_sep_len, and
 * parentheses), digits of other scripts are read as ASCII digits
 * (cm_phone_digit_at), a tel:, sip: or sips: URI is reduced to its user
 * part, then
 *   "+" digits                  -> E.164 as written
 *   international prefix digits -> E.164 (prefix removed)
 *   trunk prefix digits         -> country code + the rest
 *   bare digits                 -> as the plan's `bare` says
 * so that, under country 49, trunk 0, international 00, the values
 * "+49 30 1234567", "+49-30-1234567", "0049301234567" and "0301234567"
 * all become "+49301234567".
 */
#ifndef CDRMIN_PHONE_H
#define CDRMIN_PHONE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cdrmin/buf.h"

#define CM_E164_MAX_DIGITS 15

/* What bare digits (no +, no prefix) mean. */
enum cm_bare {
	CM_BARE_LOCAL = 0,     /* a local or short number: kept apart from E.164 */
	CM_BARE_NATIONAL,      /* a national significant number: country code added */
	CM_BARE_INTERNATIONAL  /* already international, without the "+" */
};

/*
 * A numbering plan. nsn_min and nsn_max bound the length of a national
 * significant number (the digits after the trunk prefix, or bare digits
 * under CM_BARE_NATIONAL); 0 leaves that side unbounded. A value outside
 * the bounds is LOCAL, not E.164: under NANP (cc 1, trunk 1, intl 011,
 * bare national, nsn 10..10) "911", "1911" and "1001" stay local while
 * "2025550143" and "12025550143" both become "+12025550143".
 */
struct cm_numbering {
	char cc[4];     /* country code digits, "" when not set */
	char trunk[8];  /* trunk prefix, e.g. "0"; "" for none */
	char intl[8];   /* international prefix, e.g. "00"; "" for none */
	enum cm_bare bare;
	unsigned nsn_min, nsn_max; /* national number lengths; 0 = any */
};

enum cm_phone_class {
	CM_PHONE_EMPTY = 0, /* empty or only blanks: nothing to protect */
	CM_PHONE_E164,      /* out = "+" and 1..15 digits */
	CM_PHONE_LOCAL,     /* out = digits (no "+"): local, short or extension */
	CM_PHONE_MARKER,    /* out = a privacy marker: anonymous, unknown, ... */
	CM_PHONE_OTHER      /* out = the value trimmed and lower-cased (a user name);
			       for a sip:/sips: URI "user@host", parameters and port dropped */
};

/* Plan with no country, no length bounds: only "+" numbers are E.164. */
void cm_numbering_default(struct cm_numbering *np);

/*
 * Classify and normalize v[0..n) into out (reset first). The normalized
 * forms of the classes never coincide, so they can share one pseudonym
 * domain. A SIP URI whose user part is a number is that number, at any
 * host ("sip:0301234567@gw" is "+49301234567" under country 49); one whose
 * user is a name keeps its host, so "sip:alice@a.example" and
 * "sip:alice@b.example" are two users ("alice@a.example"). Never fails;
 * out->oom reports a failed allocation.
 */
enum cm_phone_class cm_phone_normalize(const struct cm_numbering *np, const char *v, size_t n,
				       struct cm_buf *out);

/* The most a plan puts before a bare number's digits: "+" and a country code. */
#define CM_PHONE_PREFIX_MAX (1 + sizeof(((struct cm_numbering *)0)->cc))

/*
 * cm_phone_normalize of a bare number v[0..n) (cm_phone_bare(v, n) is 1),
 * written at out, which has room for n + CM_PHONE_PREFIX_MAX bytes: its
 * length is returned and its class (E164 or LOCAL) set in *cls.
 */
size_t cm_phone_normalize_bare(const struct cm_numbering *np, const char *v, size_t n, char *out,
			       enum cm_phone_class *cls);

/*
 * A memo of recent normalizations: real traffic repeats the same numbers,
 * and one record normalizes each of them several times (its field, the
 * scrubbed texts that quote it, the row the scrubber compares with).
 * Direct mapped, indexed with XXH3 (random seed) of the value; a hit needs
 * the same plan (by address) and the exact bytes. It holds originals: its
 * memory is kept out of core dumps, locked when the system allows, and
 * wiped on free. Not thread-safe: one per thread.
 */
struct cm_phone_memo;

/* A memo of about entries slots (rounded to a power of two); NULL when memory is short. */
struct cm_phone_memo *cm_phone_memo_new(size_t entries);
/* Wipes and frees; NULL does nothing. */
void cm_phone_memo_free(struct cm_phone_memo *m);

/*
 * Starts loading the slot a lookup of v[0..n) will read and returns its
 * tag for cm_phone_normalize_memo_h (m NULL, or v too long to memoize: 0).
 */
uint64_t cm_phone_memo_prefetch(const struct cm_phone_memo *m, const char *v, size_t n);

/*
 * cm_phone_normalize(np, v, n, out), answered from m when it holds the
 * value (m NULL: always computed). Same result, same bytes in out.
 */
enum cm_phone_class cm_phone_normalize_memo(struct cm_phone_memo *m,
					    const struct cm_numbering *np, const char *v,
					    size_t n, struct cm_buf *out);

/*
 * cm_phone_normalize_memo with the tag cm_phone_memo_prefetch returned for
 * the same bytes (0: computed here), so that they are hashed once.
 */
enum cm_phone_class cm_phone_normalize_memo_h(struct cm_phone_memo *m,
					      const struct cm_numbering *np, const char *v,
					      size_t n, uint64_t h, struct cm_buf *out);

/*
 * Length (1, 2 or 3) of the E.164 country code that starts digits[0..n),
 * or 0 when there is none (n == 0, or a leading 0). Country codes form a
 * prefix-free set: zones 1 and 7 are one digit; the two-digit codes are
 * listed; every other code has three digits.
 */
size_t cm_phone_cc_len(const char *digits, size_t n);

/*
 * The multibyte halves of cm_phone_sep_len and cm_phone_digit_at: the same
 * contracts, for s[i] >= 0x80 (a UTF-8 lead byte, or a stray byte that
 * starts nothing). Call the inline functions below, which take ASCII
 * without a call.
 */
size_t cm_phone_sep_len_utf8(const char *s, size_t n, size_t i);
int cm_phone_digit_at_utf8(const char *s, size_t n, size_t i, size_t *len);

/*
 * 1 when s[0..n) is ASCII digits only (n == 0: 1): eight bytes at a time,
 * the last eight overlapping. t = byte ^ '0' is 0..9 for a digit only;
 * t + 0x76 sets bit 7 for t in 10..0x7f, and t >= 0x80 has it set already.
 */
static inline int cm_ascii_digits(const char *s, size_t n)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	uint64_t x, y, bad = 0;
	size_t i;

	if (n < 8) {
		for (i = 0; i < n; i++)
			if ((unsigned)(s[i] - '0') > 9)
				return 0;
		return 1;
	}
	for (i = 0;; i += 8) {
		if (i + 8 > n)
			i = n - 8;
		memcpy(&x, s + i, 8);
		y = x ^ ones * '0';
		bad |= (y + ones * 0x76) | y;
		if (i + 8 == n)
			break;
	}
	return (bad & ones * 0x80) == 0;
}

/*
 * 1 when v[0..n) is a bare number: "+" and 1 to CM_E164_MAX_DIGITS digits,
 * or one or more digits only. cm_phone_normalize copies it as it is (and
 * applies the numbering plan to digits only): nothing in it is trimmed,
 * stripped or a marker.
 */
static inline int cm_phone_bare(const char *v, size_t n)
{
	size_t plus = n > 0 && v[0] == '+';

	return n > plus && cm_ascii_digits(v + plus, n - plus) &&
	       (!plus || n - 1 <= CM_E164_MAX_DIGITS);
}

/*
 * Bytes of the one separator character that starts at s[i] (i < n, never
 * read past n), or 0 when s[i] starts none. Separators are what people put
 * between digit groups, or what a text can hold there without showing it
 * (Unicode 15.1, the table in src/phone.c):
 *   ASCII: space, tab, '-', '.', '/', '_', and the line breaks LF, CR,
 *   VT, FF (with NEL U+0085, LS U+2028, PS U+2029 below);
 *   every Unicode space (general category Zs: U+00A0, U+1680,
 *   U+2000..U+200A, U+202F, U+205F, U+3000);
 *   every dash (Pd: U+2010..U+2015, U+FE58, U+FE63, U+FF0D, the Armenian,
 *   Hebrew, Mongolian, Yezidi hyphens, the wave dash ...), the minus sign
 *   U+2212 and the hyphen bullet U+2043;
 *   the dots U+00B7, U+2027, U+30FB, U+FF65, and the prolonged sound
 *   marks U+30FC, U+FF70, written as a dash between digit groups in Japan;
 *   the fullwidth forms of '.', '/' and '_': U+FF0E, U+FF0F, U+FF3F;
 *   the characters of cm_phone_ignorable_len.
 * A multibyte separator is one well-formed UTF-8 character (2 to 4 bytes).
 * Parentheses are not separators: they enclose a group; nor are ',' and
 * ':', which separate the items of a list ("101,102") and the parts of a
 * time. Shared by cm_phone_normalize and the scrubber, so that every
 * written form the scrubber finds normalizes to the field's form.
 */
static inline size_t cm_phone_sep_len(const char *s, size_t n, size_t i)
{
	unsigned char c;

	if (i >= n)
		return 0;
	c = (unsigned char)s[i];
	if (c >= 0x80)
		return cm_phone_sep_len_utf8(s, n, i);
	/*
	 * E.123 section 7.1 spaces, and national habits: "01.23.45.67.89",
	 * "0470/12.34.56"; line breaks too, so that a number wrapped over lines
	 * (a text message, a multi-line field) is still one number.
	 */
	return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '/' || c == '_' || c == '\n' ||
	       c == '\r' || c == '\v' || c == '\f';
}

/*
 * Bytes of the separator at s[i] (i < n) that shows nothing between two
 * digit groups, or 0: every default ignorable code point (Unicode's
 * Default_Ignorable_Code_Point: the soft hyphen U+00AD, the zero width
 * space, joiners and direction marks U+200B..U+200F, the bidi controls
 * U+202A..U+202E and U+2066..U+2069, the word joiner and invisible
 * operators U+2060..U+2064, U+FEFF, the variation selectors, the tags,
 * ...), and the enclosing keycap U+20E3, which draws a key around the
 * digit before it. The scrubber does not count these in a run of
 * separators, and does not end an e-mail address at them.
 */
size_t cm_phone_ignorable_len(const char *s, size_t n, size_t i);

/*
 * The value (0 to 9) of the decimal digit that starts at s[i] (i < n, never
 * read past n), or -1 when s[i] starts none. *len (when len is not NULL)
 * gets the digit's length in bytes (1 to 4), or 0 when there is none.
 * Digits are ASCII '0'..'9' and, in UTF-8, every decimal digit of Unicode
 * (general category Nd: Arabic-Indic, Devanagari, Bengali, Thai, Tamil,
 * Khmer, Myanmar, fullwidth, the mathematical digits U+1D7CE..U+1D7FF and
 * the rest, in the version src/phone.c names) and the superscript and
 * subscript digits (U+00B2, U+00B3, U+00B9, U+2070, U+2074..U+2079,
 * U+2080..U+2089): numbers are written with them in CDR text, and each is
 * the same number as its ASCII spelling. Shared by cm_phone_normalize and
 * the scrubber.
 */
static inline int cm_phone_digit_at(const char *s, size_t n, size_t i, size_t *len)
{
	unsigned char c;

	if (i < n) {
		c = (unsigned char)s[i];
		if (c >= '0' && c <= '9') {
			if (len)
				*len = 1;
			return c - '0';
		}
		if (c >= 0x80)
			return cm_phone_digit_at_utf8(s, n, i, len);
	}
	if (len)
		*len = 0;
	return -1;
}

#endif
