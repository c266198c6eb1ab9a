/*
 * \summary: JSON lines decoder (RFC 8259), JSON paths, and subtree rewriting
 *
 * A validating scanner of our own, strict RFC 8259: whitespace is space,
 * tab, LF and CR (section 2); numbers follow the grammar of section 6 and
 * are kept as written; strings (section 7) hold no raw control character,
 * only the escapes \" \\ \/ \b \f \n \r \t \uXXXX, and raw bytes that are
 * UTF-8 (section 8.1: no overlong form, no surrogate, nothing past
 * U+10FFFF). The line's one value must be an object.
 *
 * The schema's paths are compiled into a trie: the root is the line's
 * object, a node's children are the keys and indexes paths take from it.
 * The scanner walks the line with an explicit stack (no recursion), one
 * frame per open object or array holding the trie node of that value, or
 * NULL when no path goes inside it: then its members are only validated.
 * Each node remembers the last record that met it (a generation count), so
 * that a named path met twice is found without clearing anything per line.
 *
 * The input is arbitrary bytes: every read is bounded by the line's length.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_JSON_FAST 1 /* the AVX-512 pass for plain lines (decode_fast) */
#endif

#include "cdrmin/buf.h"
#include "cdrmin/cpu.h"
#include "cdrmin/err.h"
#include "cdrmin/json.h"
#include "cdrmin/record.h"

/*
 * Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), or 0 when it is not one.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0; /* overlong, surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0; /* overlong, above U+10FFFF */
		return 4;
	}
	return 0;
}

void cm_json_put_string(struct cm_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	cm_buf_addc(out, '"');
	while (i < n) {
		unsigned char c = u[i];
		size_t len;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run++;
			i++;
			continue;
		}
		cm_buf_add(out, s + i - run, run);
		run = 0;
		if (c == '"' || c == '\\') {
			cm_buf_addc(out, '\\');
			cm_buf_addc(out, (char)c);
			i++;
		} else if (c < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			if (c == '\n')
				cm_buf_add(out, "\\n", 2);
			else if (c == '\r')
				cm_buf_add(out, "\\r", 2);
			else if (c == '\t')
				cm_buf_add(out, "\\t", 2);
			else
				cm_buf_add(out, esc, sizeof esc);
			i++;
		} else if ((len = utf8_len(u + i, n - i)) != 0) {
			cm_buf_add(out, s + i, len);
			i += len;
		} else {
			cm_buf_add(out, "\xef\xbf\xbd", 3); /* U+FFFD for one bad byte */
			i++;
		}
	}
	cm_buf_add(out, s + i - run, run);
	cm_buf_addc(out, '"');
}

/* Nodes with more key children than this look keys up in a hash table. */
#define KEY_LINEAR 8

/* map_tree decodes strings with escapes up to this size on the stack. */
#define MAP_STACK 512

#define BAD SIZE_MAX

/* ------------------------------------------------------------------ */
/* Paths                                                               */
/* ------------------------------------------------------------------ */

enum { SEG_KEY = 0, SEG_INDEX };

/* One step of a path: a key (as written: inside the quotes when quoted) or an index. */
struct seg {
	int kind;
	int quoted;     /* p[0..n) may hold the escapes \' and \\ */
	const char *p;  /* SEG_KEY */
	size_t n;
	uint32_t index; /* SEG_INDEX */
};

/* Blanks end a plain key: the C locale's white space. */
static int path_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int path_plain(unsigned char c)
{
	return c && c != '.' && c != '[' && c != ']' && c != '\'' && c != '\\' && !path_blank(c);
}

/*
 * Reads the step of path at *i, the path's first when first is set.
 * Returns 1 with *s filled and *i past the step, 0 at the end of the path,
 * or -1 with *i on the byte that is wrong and *why saying why.
 */
static int seg_next(const char *path, size_t *i, int first, struct seg *s, const char **why)
{
	const unsigned char *u = (const unsigned char *)path;
	size_t k = *i, start;
	uint32_t v;

	if (u[k] == '\0') {
		if (!first)
			return 0;
		*why = "empty path";
		goto bad;
	}
	if (!first && u[k] == '.') {
		k++;
		goto plain;
	}
	if (u[k] != '[') {
		if (!first) {
			*why = path_blank(u[k]) ? "blank in path (quote such keys: ['...'])"
						: "expected '.' or '[' after a key or index";
			goto bad;
		}
		goto plain;
	}
	k++;
	if (u[k] == '\'') {
		start = ++k;
		for (;;) {
			if (u[k] == '\0') {
				*why = "unterminated quote";
				goto bad;
			}
			if (u[k] == '\\') {
				if (u[k + 1] != '\'' && u[k + 1] != '\\') {
					*why = "bad escape in quotes (only \\' and \\\\)";
					goto bad;
				}
				k += 2;
				continue;
			}
			if (u[k] == '\'')
				break;
			k++;
		}
		s->kind = SEG_KEY;
		s->quoted = 1;
		s->p = path + start;
		s->n = k - start;
		k++;
		if (u[k] != ']') {
			*why = "expected ']' after the quote";
			goto bad;
		}
		*i = k + 1;
		return 1;
	}
	if (u[k] < '0' || u[k] > '9') {
		*why = "expected an index or a quote after '['";
		goto bad;
	}
	if (first) {
		k--;
		*why = "a path starts with a key: the record is an object";
		goto bad;
	}
	if (u[k] == '0' && u[k + 1] >= '0' && u[k + 1] <= '9') {
		*why = "leading zero in index";
		goto bad;
	}
	start = k;
	v = 0;
	while (u[k] >= '0' && u[k] <= '9') {
		v = v * 10 + (uint32_t)(u[k] - '0');
		if (v > CM_JSON_INDEX_MAX) {
			k = start;
			*why = "index too large";
			goto bad;
		}
		k++;
	}
	if (u[k] != ']') {
		*why = "expected ']' after the index";
		goto bad;
	}
	s->kind = SEG_INDEX;
	s->index = v;
	*i = k + 1;
	return 1;
plain:
	start = k;
	while (path_plain(u[k]))
		k++;
	if (k == start) {
		if (u[k] == '\0' || u[k] == '.' || u[k] == '[')
			*why = "empty key";
		else if (path_blank(u[k]))
			*why = "blank in path (quote such keys: ['...'])";
		else
			*why = "unexpected character (quote keys holding . [ ] ' \\ or blanks: ['...'])";
		goto bad;
	}
	s->kind = SEG_KEY;
	s->quoted = 0;
	s->p = path + start;
	s->n = k - start;
	*i = k;
	return 1;
bad:
	*i = k;
	return -1;
}

/* Appends the key s names (escapes resolved) to b. */
static void seg_key(const struct seg *s, struct cm_buf *b)
{
	size_t i;

	if (!s->quoted) {
		cm_buf_add(b, s->p, s->n);
		return;
	}
	for (i = 0; i < s->n; i++) {
		if (s->p[i] == '\\')
			i++;
		cm_buf_addc(b, s->p[i]);
	}
}

/* 1 when steps a and b name the same member or element. */
static int seg_eq(const struct seg *a, const struct seg *b)
{
	size_t i = 0, j = 0;

	if (a->kind != b->kind)
		return 0;
	if (a->kind == SEG_INDEX)
		return a->index == b->index;
	while (i < a->n && j < b->n) {
		char ca = a->p[i], cb = b->p[j];

		if (a->quoted && ca == '\\')
			ca = a->p[++i];
		if (b->quoted && cb == '\\')
			cb = b->p[++j];
		if (ca != cb)
			return 0;
		i++;
		j++;
	}
	return i == a->n && j == b->n;
}

int cm_json_path_check(const char *path, size_t *at, const char **why)
{
	struct seg s;
	size_t i = 0, steps = 0, start;
	int r;

	for (;;) {
		start = i;
		r = seg_next(path, &i, steps == 0, &s, why);
		if (r == 0)
			return 0;
		if (r < 0) {
			*at = i;
			return -1;
		}
		/* Deeper than this, the value would sit inside more than
		 * CM_JSON_DEPTH_MAX containers: no accepted line holds it. */
		if (++steps > CM_JSON_DEPTH_MAX) {
			*at = start;
			*why = "too many levels";
			return -1;
		}
	}
}

int cm_json_path_contains(const char *a, const char *b)
{
	struct seg sa, sb;
	size_t i = 0, j = 0;
	const char *why;
	size_t at;
	int first = 1, ra, rb;

	/* Compile time only: a full check of both keeps every rule of valid in one place. */
	if (cm_json_path_check(a, &at, &why) != 0 || cm_json_path_check(b, &at, &why) != 0)
		return 0;
	for (;;) {
		ra = seg_next(a, &i, first, &sa, &why);
		if (ra < 0)
			return 0;
		rb = seg_next(b, &j, first, &sb, &why);
		if (rb < 0)
			return 0;
		if (ra == 0)
			return 1; /* every step of a matched: b is a or lies inside it */
		if (rb == 0 || !seg_eq(&sa, &sb))
			return 0;
		first = 0;
	}
}

/* ------------------------------------------------------------------ */
/* Scanner primitives (RFC 8259)                                       */
/* ------------------------------------------------------------------ */

/* Section 2: insignificant whitespace. */
static inline int ws_byte(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline size_t skip_ws(const unsigned char *s, size_t n, size_t i)
{
	/* Between tokens there is mostly nothing or one space. */
	if (i < n && s[i] > ' ')
		return i;
	if (i + 1 < n && s[i] == ' ' && s[i + 1] > ' ')
		return i + 1;
	while (i < n && ws_byte(s[i]))
		i++;
	return i;
}

/* 1 when p[0] is a and p[1] is b: one 16-bit compare. */
static inline int pair_is(const unsigned char *p, unsigned char a, unsigned char b)
{
	return (unsigned)(p[0] | p[1] << 8) == (unsigned)(a | b << 8);
}

/* A byte that a string may hold as is, with no further check: printable ASCII. */
static inline int plain_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

#if defined(__SSE2__)
/* Bit k set when byte k of s[0..16) is not plain_byte. */
static inline unsigned stop_mask(const unsigned char *s)
{
	/* Signed compare: bytes < 0x20 and bytes >= 0x80 are both "less than 0x20". */
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i m = _mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
				 _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
					      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));

	return (unsigned)_mm_movemask_epi8(m);
}

/*
 * The first byte at or after i (i < n, n - i < 16) that is not plain_byte,
 * or n: the line's last 16 bytes in one load (n >= 16), the bits of those
 * before i shifted out. Reads nothing outside s[0..n).
 */
static inline size_t tail_stop(const unsigned char *s, size_t n, size_t i)
{
	unsigned mask = stop_mask(s + n - 16) >> (16 - (n - i));

	return mask ? i + (size_t)__builtin_ctz(mask) : n;
}
#endif

/* The first byte at or after i that is not plain_byte, or n. */
static inline size_t plain_run(const unsigned char *s, size_t n, size_t i)
{
#if defined(__SSE2__)
	while (n - i >= 16) {
		unsigned mask = stop_mask(s + i);

		if (mask)
			return i + (size_t)__builtin_ctz(mask);
		i += 16;
	}
	if (n >= 16 && i < n)
		return tail_stop(s, n, i);
#endif
	while (i < n && plain_byte(s[i]))
		i++;
	return i;
}

/*
 * Length of the UTF-8 sequence at s[0..n) (s[0] >= 0x80), or 0 when it is
 * not one (RFC 3629 section 4: no overlong form, no surrogate, at most
 * U+10FFFF) with *bad on the first byte that cannot continue it (n when s
 * ends first).
 */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned c = s[0], lo = 0x80, hi = 0xbf;
	size_t len, k;

	if (c < 0xc2 || c > 0xf4) {
		*bad = 0;
		return 0;
	}
	len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90; /* overlong */
	else if (c == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	for (k = 1; k < len; k++) {
		if (k >= n) {
			*bad = n;
			return 0;
		}
		if (s[k] < lo || s[k] > hi) {
			*bad = k;
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return len;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * The four hex digits at s[i..i+4): their value, or -1 with *at on the
 * first byte that is not a hex digit (n when the line ends first).
 */
static long hex4(const unsigned char *s, size_t n, size_t i, size_t *at)
{
	long v = 0;
	size_t k;

	for (k = i; k < i + 4; k++) {
		int h;

		if (k >= n) {
			*at = n;
			return -1;
		}
		if ((h = hexval(s[k])) < 0) {
			*at = k;
			return -1;
		}
		v = v << 4 | h;
	}
	return v;
}

static void put_utf8(struct cm_buf *out, uint32_t cp)
{
	char b[4];
	size_t k;

	if (cp < 0x80) {
		b[0] = (char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	cm_buf_add(out, b, k);
}

/*
 * The escape at s[i] (a backslash), section 7. Appends what it stands for
 * to out when out is not NULL: a surrogate pair is its code point, a lone
 * surrogate U+FFFD. Returns the index past it, or BAD with *at on the
 * first byte that cannot continue it (n when the line ends first).
 */
static size_t escape(const unsigned char *s, size_t n, size_t i, struct cm_buf *out, size_t *at)
{
	long cp, lo;
	size_t dummy;
	char c;

	if (i + 1 >= n) {
		*at = n;
		return BAD;
	}
	switch (s[i + 1]) {
	case '"': c = '"'; break;
	case '\\': c = '\\'; break;
	case '/': c = '/'; break;
	case 'b': c = '\b'; break;
	case 'f': c = '\f'; break;
	case 'n': c = '\n'; break;
	case 'r': c = '\r'; break;
	case 't': c = '\t'; break;
	case 'u': goto unicode;
	default: *at = i + 1; return BAD;
	}
	if (out)
		cm_buf_addc(out, c);
	return i + 2;
unicode:
	if ((cp = hex4(s, n, i + 2, at)) < 0)
		return BAD;
	i += 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		/* A pair only when a low surrogate escape follows at once. */
		if (n - i >= 6 && s[i] == '\\' && s[i + 1] == 'u' &&
		    (lo = hex4(s, n, i + 2, &dummy)) >= 0xdc00 && lo <= 0xdfff) {
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		} else {
			cp = 0xfffd;
		}
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		cp = 0xfffd;
	}
	if (out)
		put_utf8(out, (uint32_t)cp);
	return i;
}

/*
 * The closing quote of a string whose body, from s[i] (i <= n), is
 * printable ASCII, or BAD for any other string and for any string of a
 * line shorter than 16 bytes (then str_scan decides). Most keys and values
 * of a CDR are like that: a vector compare per 16 bytes, no call.
 */
static inline size_t str_quick(const unsigned char *s, size_t n, size_t i)
{
#if defined(__SSE2__)
	while (n - i >= 16) {
		unsigned mask = stop_mask(s + i);

		if (mask) {
			i += (size_t)__builtin_ctz(mask);
			return s[i] == '"' ? i : BAD;
		}
		i += 16;
	}
	if (n >= 16 && i < n) {
		i = tail_stop(s, n, i);
		return i < n && s[i] == '"' ? i : BAD;
	}
#else
	(void)s;
	(void)n;
	(void)i;
#endif
	return BAD;
}

/*
 * Scans a string's body from s[i] (just after its opening quote): section 7
 * and raw bytes UTF-8. Returns the index of the closing quote, or BAD with
 * *at on the first byte that cannot continue the string (n when the line
 * ends first).
 * Sets *esc when the string holds an escape; then, when out is not NULL,
 * appends the decoded string to out (left alone for a string without
 * escapes: its value is its body).
 */
static size_t str_scan(const unsigned char *s, size_t n, size_t i, struct cm_buf *out, int *esc,
		       size_t *at)
{
	size_t run = i; /* first byte not yet appended to out */
	size_t len, bad;
	unsigned char c;

	for (;;) {
		i = plain_run(s, n, i);
		if (i >= n) {
			*at = n;
			return BAD;
		}
		c = s[i];
		if (c == '"')
			break;
		if (c == '\\') {
			if (out)
				cm_buf_add(out, s + run, i - run);
			*esc = 1;
			if ((i = escape(s, n, i, out, at)) == BAD)
				return BAD;
			run = i;
			continue;
		}
		if (c < 0x20) {
			*at = i;
			return BAD;
		}
		if ((len = utf8_seq(s + i, n - i, &bad)) == 0) {
			*at = i + bad;
			return BAD;
		}
		i += len;
	}
	if (out && *esc)
		cm_buf_add(out, s + run, i - run);
	return i;
}

/* The first byte at or after i that is not a decimal digit, or n. */
static inline size_t digit_run(const unsigned char *s, size_t n, size_t i)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
	/*
	 * Eight at a time: a digit is 0x3_ and stays so with 6 added. A byte
	 * that is not a digit is found at its own place: a carry out of it
	 * only reaches the bytes after it.
	 */
	const uint64_t hi = UINT64_C(0xf0f0f0f0f0f0f0f0), d3 = UINT64_C(0x3030303030303030),
		       six = UINT64_C(0x0606060606060606);

	while (n - i >= 8) {
		uint64_t x, m;

		memcpy(&x, s + i, 8);
		m = ((x & hi) ^ d3) | (((x + six) & hi) ^ d3);
		if (m)
			return i + (size_t)__builtin_ctzll(m) / 8;
		i += 8;
	}
#endif
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/*
 * Scans a number at s[i] (a '-' or a digit), section 6:
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
 * Returns the index past it, or BAD with *at on the first byte that cannot
 * continue it (n when the line ends first).
 */
static inline size_t num_scan(const unsigned char *s, size_t n, size_t i, size_t *at)
{
	if (s[i] == '-')
		i++;
	if (i >= n)
		goto end;
	if (s[i] == '0') {
		i++;
	} else if (s[i] >= '1' && s[i] <= '9') {
		i = digit_run(s, n, i + 1);
	} else {
		goto bad;
	}
	if (i < n && s[i] == '.') {
		if (++i >= n)
			goto end;
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		i = digit_run(s, n, i + 1);
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n)
			goto end;
		if (s[i] < '0' || s[i] > '9')
			goto bad;
		i = digit_run(s, n, i + 1);
	}
	return i;
end:
	*at = n;
	return BAD;
bad:
	*at = i;
	return BAD;
}

/* Scans the literal w (true, false, null) at s[i]; as num_scan. */
static inline size_t lit_scan(const unsigned char *s, size_t n, size_t i, const char *w, size_t wl,
			      size_t *at)
{
	size_t k;

	for (k = 0; k < wl; k++) {
		if (i + k >= n) {
			*at = n;
			return BAD;
		}
		if (s[i + k] != (unsigned char)w[k]) {
			*at = i + k;
			return BAD;
		}
	}
	return i + wl;
}

/* ------------------------------------------------------------------ */
/* The decoder                                                         */
/* ------------------------------------------------------------------ */

/*
 * Keys are looked up by two words that hold all of a key up to 16 bytes
 * long (overlapping loads from its start and its end) and its length: one
 * compare of each instead of a byte loop, and the hash is a multiply of
 * them. Every load stays inside k[0..n).
 */
static inline void key_words(const char *k, size_t n, uint64_t *lo, uint64_t *hi)
{
	if (n >= 8) {
		memcpy(lo, k, 8);
		memcpy(hi, k + n - 8, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, k, 4);
		memcpy(&b, k + n - 4, 4);
		*lo = a;
		*hi = b;
	} else if (n > 0) {
		const unsigned char *u = (const unsigned char *)k;

		*lo = (uint64_t)u[0] | (uint64_t)u[n / 2] << 8 | (uint64_t)u[n - 1] << 16;
		*hi = 0;
	} else {
		*lo = *hi = 0;
	}
}

/* key_hash's multiplier for seed: odd, one per seed. */
static inline uint64_t key_mul(uint32_t seed)
{
	return UINT64_C(0x9e3779b97f4a7c15) + 2 * (uint64_t)seed;
}

/* The home slot of a key's words under multiplier mul, before the node's mask. */
static inline uint32_t key_hash(uint64_t lo, uint64_t hi, size_t n, uint64_t mul)
{
	/* One multiply: the high half is the slot. */
	uint64_t h = (lo ^ (hi << 31 | hi >> 33) ^ n) * mul;

	return (uint32_t)(h >> 32);
}

/* A key_hash seed under which no two of a node's key children share a home slot. */
#define SEED_TRIES 64
/* Past this many key children a node is not searched for one (it would not be found). */
#define SEED_KEYS_MAX 4096

/* A value some path reaches. */
struct jnode {
	long field;    /* first schema index naming this value, or -1 (more: d->same) */
	long some;     /* the lowest schema index at or under this value */
	uint32_t seen; /* d->gen of the last line that met it */
	uint32_t nkey, key0; /* key children: d->kid[key0 .. key0 + nkey) */
	uint32_t nidx, idx0; /* index children by increasing index: d->idx[idx0 ..] */
	uint32_t hmask, h0;  /* perfect or nkey > KEY_LINEAR: slots d->slot[h0 .. h0 + hmask] */
	uint64_t hmul;       /* key_hash's multiplier for those slots */
	int perfect;         /* every key child sits in its own home slot: no probing */
};

struct jkid {
	const char *k; /* the decoded key, in d->keys */
	size_t n;
	uint64_t lo, hi; /* key_words of the key */
	uint32_t node;
};

struct jidx {
	uint32_t index;
	uint32_t node;
};

/* One open object or array of the line. */
struct frame {
	const struct jnode *node; /* its trie node; NULL when no path goes inside */
	size_t start;             /* byte of its '{' or '[' */
	uint32_t elem;            /* array: index of the current element */
	uint32_t cur;             /* array: the next index child to meet */
	int arr;
};

struct cm_jsonl {
	size_t nf;             /* schema size */
	struct jnode *node;    /* node[0]: the line's object */
	size_t nnode;
	struct jkid *kid;
	struct jidx *idx;
	uint32_t *slot;        /* index in kid + 1; 0 is empty */
	char *keys;            /* every decoded key, back to back */
	long *same;            /* per field: the next field naming the same value, or -1 */
	struct cm_slice *f, *raw;
	struct cm_slice *absent; /* nf empty slices: f and raw at the start of a line */
	unsigned char *type;
	size_t *soff;          /* per field decoded into scratch: its offset there */
	long *fix;             /* those fields, nfix of them */
	size_t nfix;
	struct cm_buf scratch; /* decoded values with escapes: one line's worth */
	struct cm_buf keybuf;  /* a key with escapes, decoded for the lookup */
	uint32_t gen;
	enum cm_jsonl_fast fast;           /* cm_jsonl_set_fast */
	unsigned fast_skip;    /* lines the general path takes before decode_fast is tried again */
	unsigned fast_backoff; /* the last such rest (0: the last line tried was decode_fast's) */
	struct frame stack[CM_JSON_DEPTH_MAX];
};

/* A trie node under construction: children as a list. */
struct bnode {
	long field, some;
	long first, next; /* first child, next sibling; -1 ends */
	int kind;         /* of the step from the parent */
	uint32_t index;
	size_t koff, klen; /* SEG_KEY: the decoded key in the key arena */
};

struct builder {
	struct bnode *b;
	size_t n, cap;
	struct cm_buf keys;
};

/* The child of node p along step s, created when missing. Returns its index or -1. */
static long build_child(struct builder *bd, long p, const struct seg *s)
{
	struct bnode *nb;
	size_t koff = bd->keys.n, klen;
	long c;

	if (s->kind == SEG_KEY) {
		seg_key(s, &bd->keys);
		if (bd->keys.oom)
			return -1;
	}
	klen = bd->keys.n - koff;
	for (c = bd->b[p].first; c >= 0; c = bd->b[c].next) {
		const struct bnode *x = &bd->b[c];

		if (x->kind != s->kind)
			continue;
		if (s->kind == SEG_INDEX ? x->index == s->index
					 : x->klen == klen &&
						   memcmp(bd->keys.p + x->koff, bd->keys.p + koff, klen) == 0) {
			bd->keys.n = koff; /* known key: drop the copy */
			return c;
		}
	}
	if (bd->n == bd->cap) {
		size_t cap = bd->cap ? 2 * bd->cap : 16;

		if (cap >= UINT32_MAX || !(nb = realloc(bd->b, cap * sizeof *nb)))
			return -1;
		bd->b = nb;
		bd->cap = cap;
	}
	c = (long)bd->n++;
	nb = &bd->b[c];
	nb->field = nb->some = -1;
	nb->first = -1;
	nb->kind = s->kind;
	nb->index = s->kind == SEG_INDEX ? s->index : 0;
	nb->koff = koff;
	nb->klen = klen;
	/* Appended last so that children keep the order paths gave them. */
	nb->next = -1;
	if (bd->b[p].first < 0) {
		bd->b[p].first = c;
	} else {
		long t = bd->b[p].first;

		while (bd->b[t].next >= 0)
			t = bd->b[t].next;
		bd->b[t].next = c;
	}
	return c;
}

/* Adds the path of schema field fi. Returns 0 or -1 when memory is short. */
static int build_path(struct builder *bd, struct cm_jsonl *d, const char *path, long fi)
{
	struct seg s;
	const char *why;
	size_t i = 0;
	long p = 0, t;
	int first = 1;

	while (seg_next(path, &i, first, &s, &why) > 0) {
		if ((p = build_child(bd, p, &s)) < 0)
			return -1;
		if (bd->b[p].some < 0)
			bd->b[p].some = fi; /* fields come in order: the first is the lowest */
		first = 0;
	}
	/* Two spellings of one path ("a.b", "a['b']") share the value. */
	d->same[fi] = -1;
	if (bd->b[p].field < 0) {
		bd->b[p].field = fi;
		return 0;
	}
	for (t = bd->b[p].field; d->same[t] >= 0; t = d->same[t])
		;
	d->same[t] = fi;
	return 0;
}

/*
 * Sizes x's slot table (at least twice its key children, a power of two)
 * and picks a seed that gives each key child its own home slot, in a
 * table up to 8 times larger when needed; with no such seed, seed 0 and
 * linear probing. Returns 0, or -1 when memory is short.
 */
static int key_seed(const struct cm_jsonl *d, struct jnode *x)
{
	size_t sz = 1, grow, k;
	uint32_t seed;
	unsigned char *used;

	while (sz < 2 * (size_t)x->nkey)
		sz *= 2;
	x->hmul = key_mul(0);
	x->perfect = 0;
	x->hmask = (uint32_t)(sz - 1);
	if (sz > UINT32_MAX / 8 || x->nkey > SEED_KEYS_MAX)
		return 0;
	if (!(used = malloc(8 * sz)))
		return -1;
	for (grow = 0; grow < 4; grow++, sz *= 2) {
		for (seed = 0; seed < SEED_TRIES; seed++) {
			memset(used, 0, sz);
			for (k = 0; k < x->nkey; k++) {
				const struct jkid *y = &d->kid[x->key0 + k];
				size_t h = key_hash(y->lo, y->hi, y->n, key_mul(seed)) & (sz - 1);

				if (used[h])
					break;
				used[h] = 1;
			}
			if (k == x->nkey) {
				x->hmul = key_mul(seed);
				x->perfect = 1;
				x->hmask = (uint32_t)(sz - 1);
				free(used);
				return 0;
			}
		}
	}
	free(used);
	return 0;
}

/* Turns the builder's lists into d's flat arrays. Returns 0 or -1. */
static int build_flatten(struct builder *bd, struct cm_jsonl *d)
{
	size_t i, nkid = 0, nidx = 0, nslot = 0, k;
	long c;

	for (i = 1; i < bd->n; i++)
		bd->b[i].kind == SEG_KEY ? nkid++ : nidx++;
	d->nnode = bd->n;
	d->node = calloc(bd->n, sizeof *d->node);
	d->kid = malloc((nkid ? nkid : 1) * sizeof *d->kid);
	d->idx = malloc((nidx ? nidx : 1) * sizeof *d->idx);
	if (!d->node || !d->kid || !d->idx)
		return -1;
	d->keys = bd->keys.p; /* the arena now belongs to d */
	cm_buf_init(&bd->keys);
	nkid = nidx = 0;
	for (i = 0; i < bd->n; i++) {
		struct jnode *x = &d->node[i];

		x->field = bd->b[i].field;
		x->some = bd->b[i].some;
		x->key0 = (uint32_t)nkid;
		x->idx0 = (uint32_t)nidx;
		for (c = bd->b[i].first; c >= 0; c = bd->b[c].next) {
			const struct bnode *y = &bd->b[c];

			if (y->kind == SEG_KEY) {
				d->kid[nkid].k = d->keys + y->koff;
				d->kid[nkid].n = y->klen;
				key_words(d->kid[nkid].k, y->klen, &d->kid[nkid].lo, &d->kid[nkid].hi);
				d->kid[nkid++].node = (uint32_t)c;
			} else {
				/* Insertion sort by index: elements come in order. */
				for (k = nidx++; k > x->idx0 && d->idx[k - 1].index > y->index; k--)
					d->idx[k] = d->idx[k - 1];
				d->idx[k].index = y->index;
				d->idx[k].node = (uint32_t)c;
			}
		}
		x->nkey = (uint32_t)nkid - x->key0;
		x->nidx = (uint32_t)nidx - x->idx0;
		if (x->nkey > 0 && key_seed(d, x) != 0)
			return -1;
		if (x->perfect || x->nkey > KEY_LINEAR) {
			x->h0 = (uint32_t)nslot;
			nslot += (size_t)x->hmask + 1;
		}
	}
	d->slot = calloc(nslot ? nslot : 1, sizeof *d->slot);
	if (!d->slot)
		return -1;
	for (i = 0; i < d->nnode; i++) {
		const struct jnode *x = &d->node[i];

		if (!x->perfect && x->nkey <= KEY_LINEAR)
			continue;
		for (k = 0; k < x->nkey; k++) {
			const struct jkid *y = &d->kid[x->key0 + k];
			size_t h = key_hash(y->lo, y->hi, y->n, x->hmul) & x->hmask;

			while (d->slot[x->h0 + h])
				h = (h + 1) & x->hmask;
			d->slot[x->h0 + h] = x->key0 + (uint32_t)k + 1;
		}
	}
	return 0;
}

struct cm_jsonl *cm_jsonl_new(const struct cm_schema *schema, struct cm_err *err)
{
	struct builder bd = {NULL, 0, 0, {NULL, 0, 0, 0}};
	struct cm_jsonl *d = NULL, *res = NULL;
	size_t i, nf = schema->n, at;
	const char *why;

	for (i = 0; i < nf; i++) {
		if (cm_json_path_check(schema->names[i], &at, &why) != 0) {
			cm_err_set(err, CM_E_RULES, "bad JSON path '%.80s' at byte %zu: %s",
				   schema->names[i], at, why);
			goto out;
		}
	}
	d = calloc(1, sizeof *d);
	if (!d)
		goto nomem;
	cm_buf_init(&d->scratch);
	cm_buf_init(&d->keybuf);
	d->fast = CM_JSONL_FAST_AUTO;
	d->nf = nf;
	i = nf ? nf : 1;
	d->same = malloc(i * sizeof *d->same);
	d->f = malloc(i * sizeof *d->f);
	d->raw = malloc(i * sizeof *d->raw);
	d->absent = malloc(i * sizeof *d->absent);
	d->type = malloc(i);
	d->soff = malloc(i * sizeof *d->soff);
	d->fix = malloc(i * sizeof *d->fix);
	bd.b = malloc(16 * sizeof *bd.b);
	if (!d->same || !d->f || !d->raw || !d->absent || !d->type || !d->soff || !d->fix || !bd.b)
		goto nomem;
	for (i = 0; i < nf; i++) {
		d->absent[i].p = "";
		d->absent[i].n = 0;
	}
	/* The key arena exists even when every key is empty: kid pointers point into it. */
	if (cm_buf_reserve(&bd.keys, 1) != 0)
		goto nomem;
	bd.cap = 16;
	bd.n = 1; /* the root: the line's object */
	bd.b[0].field = bd.b[0].some = -1;
	bd.b[0].first = bd.b[0].next = -1;
	bd.b[0].kind = SEG_KEY;
	bd.b[0].index = 0;
	bd.b[0].koff = bd.b[0].klen = 0;
	for (i = 0; i < nf; i++)
		if (build_path(&bd, d, schema->names[i], (long)i) != 0)
			goto nomem;
	if (build_flatten(&bd, d) != 0)
		goto nomem;
	res = d;
	d = NULL;
	goto out;
nomem:
	cm_err_set(err, CM_E_NOMEM, "out of memory");
out:
	cm_jsonl_free(d);
	free(bd.b);
	cm_buf_deinit(&bd.keys);
	return res;
}

void cm_jsonl_free(struct cm_jsonl *d)
{
	if (!d)
		return;
	free(d->node);
	free(d->kid);
	free(d->idx);
	free(d->slot);
	free(d->keys);
	free(d->same);
	free(d->f);
	free(d->raw);
	free(d->absent);
	free(d->type);
	free(d->soff);
	free(d->fix);
	cm_buf_deinit(&d->scratch);
	cm_buf_deinit(&d->keybuf);
	free(d);
}

/* 1 when a[0..n) and b[0..n) are the same bytes: keys are short, a call to memcmp costs more. */
static inline int same_bytes(const char *a, const char *b, size_t n)
{
	uint64_t x, y;

	while (n >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return 0;
		a += 8;
		b += 8;
		n -= 8;
	}
	while (n--)
		if (*a++ != *b++)
			return 0;
	return 1;
}

/* 1 when kid y is the key k[0..n) whose key_words are lo and hi. */
static inline int key_same(const struct jkid *y, const char *k, size_t n, uint64_t lo, uint64_t hi)
{
	/* Up to 16 bytes the words hold the whole key. */
	return y->n == n && y->lo == lo && y->hi == hi && (n <= 16 || same_bytes(y->k, k, n));
}

#if defined(__GNUC__)
#define JSON_NOINLINE __attribute__((noinline))
#else
#define JSON_NOINLINE
#endif

/*
 * key_find for the nodes and keys its inline path leaves: keys compared
 * in turn, a probed table, a key past 16 bytes. Out of line: the decoder
 * keeps its registers for the usual case.
 */
static JSON_NOINLINE const struct jnode *key_find_slow(const struct cm_jsonl *d,
						       const struct jnode *x, const char *k,
						       size_t n)
{
	const struct jkid *kid = d->kid + x->key0;
	uint64_t lo, hi;
	uint32_t j;

	key_words(k, n, &lo, &hi);
	if (!x->perfect && x->nkey <= KEY_LINEAR) {
		for (j = 0; j < x->nkey; j++)
			if (key_same(&kid[j], k, n, lo, hi))
				return &d->node[kid[j].node];
		return NULL;
	} else {
		size_t h = key_hash(lo, hi, n, x->hmul) & x->hmask;
		uint32_t sl;

		while ((sl = d->slot[x->h0 + h]) != 0) {
			const struct jkid *y = &d->kid[sl - 1];

			if (key_same(y, k, n, lo, hi))
				return &d->node[y->node];
			if (x->perfect)
				break; /* a key of x is in its home slot: this one is not a key of x */
			h = (h + 1) & x->hmask;
		}
		return NULL;
	}
}

/* The key child of x named k[0..n), or NULL. */
static inline const struct jnode *key_find(const struct cm_jsonl *d, const struct jnode *x,
					   const char *k, size_t n)
{
	if (x->perfect && n <= 16) {
		/* The key's home slot holds it, or it is not a key of x. */
		uint64_t lo, hi;
		uint32_t sl;
		const struct jkid *y;

		key_words(k, n, &lo, &hi);
		sl = d->slot[x->h0 + (key_hash(lo, hi, n, x->hmul) & x->hmask)];
		if (sl == 0)
			return NULL;
		y = &d->kid[sl - 1];
		return y->n == n && y->lo == lo && y->hi == hi ? &d->node[y->node] : NULL;
	}
	return key_find_slow(d, x, k, n);
}

/* The trie node of the current element of the array fr, or NULL. */
static inline const struct jnode *elem_node(const struct cm_jsonl *d, struct frame *fr)
{
	const struct jidx *x;

	if (!fr->node || fr->cur >= fr->node->nidx)
		return NULL;
	x = &d->idx[fr->node->idx0 + fr->cur];
	if (x->index != fr->elem)
		return NULL;
	fr->cur++;
	return &d->node[x->node];
}

/* Sets every field naming x to a value. */
static inline void put(struct cm_jsonl *d, const struct jnode *x, unsigned char type,
		       const char *p, size_t n, const char *rp, size_t rn)
{
	long f = x->field;

	do {
		d->type[f] = type;
		d->f[f].p = p;
		d->f[f].n = n;
		d->raw[f].p = rp;
		d->raw[f].n = rn;
		f = d->same[f];
	} while (f >= 0);
}

/* As put, for a string decoded into scratch at off: pointers are set at the end of the line. */
static void put_scratch(struct cm_jsonl *d, const struct jnode *x, size_t off, size_t n,
			const char *rp, size_t rn)
{
	long f;

	put(d, x, CM_VT_STR, NULL, n, rp, rn);
	for (f = x->field; f >= 0; f = d->same[f]) {
		/* A field is met at most once per accepted line: nfix < nf. */
		if (d->nfix < d->nf) {
			d->soff[f] = off;
			d->fix[d->nfix++] = f;
		}
	}
}

/*
 * The literal (true, false, null) at line[i], put for vn (NULL: not kept):
 * the index past it, or BAD with *at as lit_scan sets it.
 */
static inline size_t literal(struct cm_jsonl *d, const struct jnode *vn, const char *line, size_t n,
			     size_t i, size_t *at)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t j;

	if (s[i] == 't')
		j = lit_scan(s, n, i, "true", 4, at);
	else if (s[i] == 'f')
		j = lit_scan(s, n, i, "false", 5, at);
	else
		j = lit_scan(s, n, i, "null", 4, at);
	if (j != BAD && vn && vn->field >= 0) {
		if (s[i] == 'n')
			put(d, vn, CM_VT_NULL, line + i, 0, line + i, 4);
		else
			put(d, vn, CM_VT_BOOL, line + i, j - i, line + i, j - i);
	}
	return j;
}

/* A new line: every field absent, no node met, nothing decoded into scratch. */
static void line_start(struct cm_jsonl *d)
{
	size_t k;

	if (++d->gen == 0) {
		for (k = 0; k < d->nnode; k++)
			d->node[k].seen = 0;
		d->gen = 1;
	}
	cm_buf_reset(&d->scratch);
	d->scratch.oom = 0;
	d->keybuf.oom = 0;
	d->nfix = 0;
	/* Block copies: cheaper than a loop over the fields (every line, every field). */
	memset(d->type, CM_VT_ABSENT, d->nf);
	memcpy(d->f, d->absent, d->nf * sizeof *d->f);
	memcpy(d->raw, d->absent, d->nf * sizeof *d->raw);
}

#ifdef HAVE_JSON_FAST
/* Lines of up to FAST_BLOCKS * 64 bytes are tried by decode_fast. */
#define FAST_BLOCKS 32
#define FAST_NO 2 /* decode_fast: the general path decodes this line */
#define FAST_BACKOFF_MAX 4096

/*
 * The line as cm_jsonl_decode decodes it, for the common line: one flat
 * object whose strings hold printable ASCII and no escape. Then every
 * quote opens or closes a string, and the strings are the quotes taken in
 * pairs. A first pass over the line in 64-byte blocks (AVX-512BW) finds
 * the quotes, sees any backslash, or control or non-ASCII byte inside a
 * string (quote parity: a prefix XOR of the quote bits), and lists the
 * quotes' places (VBMI2 compresses the block's byte places to those of
 * its quotes). The members are then read from the list: a key is the next
 * pair; the few bytes between it and the pair after (": ", or ": ", a
 * number or literal and ", ") are checked against the grammar, and that
 * pair must start where they end. A member's place is not found by
 * scanning from the end of the one before, so members do not wait on each
 * other. Returns 1 with the record, or FAST_NO for any other line, or a
 * line that breaks a rule (a duplicate too): the general path then
 * decodes it from its start (with a new generation: the nodes met here
 * count for nothing) and reports what it finds. Reads only line[0..n).
 */
__attribute__((target("avx512f,avx512bw,avx512vbmi2,pclmul"))) static int
decode_fast(struct cm_jsonl *d, const char *line, size_t n, struct cm_record *rec)
{
	const unsigned char *s = (const unsigned char *)line;
	const struct jnode *root = &d->node[0], *vn;
	/* the quotes' places; a block's are stored as 32 + 32, whatever their count */
	uint16_t qp[FAST_BLOCKS * 64 + 64];
	const __m512i lane16 = _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
						 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5,
						 4, 3, 2, 1, 0);
	__m512i place;
	uint64_t carry = 0;
	size_t nb = (n + 63) / 64, nq = 0, b, m, o, c, v, e, at;

	_Static_assert(FAST_BLOCKS * 64 <= UINT16_MAX, "places fit 16 bits");
	if (n == 0 || nb > FAST_BLOCKS || !root->nkey || root->field >= 0)
		return FAST_NO;
	for (b = 0; b < nb; b++) {
		size_t left = n - 64 * b;
		__mmask64 k = left >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << left) - 1;
		__m512i x = _mm512_maskz_loadu_epi8(k, s + 64 * b);
		uint64_t q = _mm512_mask_cmpeq_epi8_mask(k, x, _mm512_set1_epi8('"'));
		uint64_t bs = _mm512_mask_cmpeq_epi8_mask(k, x, _mm512_set1_epi8('\\'));
		/* signed: bytes of 0x80 and up are below 0x20 too */
		uint64_t odd = _mm512_mask_cmplt_epi8_mask(k, x, _mm512_set1_epi8(0x20));
		/* bit i: an odd number of quotes at or before byte i (inside a string) */
		uint64_t inq = (uint64_t)_mm_cvtsi128_si64(_mm_clmulepi64_si128(
				       _mm_set_epi64x(0, (long long)q), _mm_set1_epi8((char)0xff), 0)) ^
			       carry;

		if (bs | (odd & inq))
			return FAST_NO;
		carry = inq >> 63 ? ~UINT64_C(0) : 0;
		/* The places of the quotes: the block's byte places, the quotes' kept (VBMI2). */
		place = _mm512_add_epi16(lane16, _mm512_set1_epi16((short)(64 * b)));
		_mm512_storeu_si512(qp + nq, _mm512_maskz_compress_epi16((__mmask32)q, place));
		nq += (size_t)__builtin_popcount((uint32_t)q);
		place = _mm512_add_epi16(place, _mm512_set1_epi16(32));
		_mm512_storeu_si512(qp + nq,
				    _mm512_maskz_compress_epi16((__mmask32)(q >> 32), place));
		nq += (size_t)__builtin_popcount((uint32_t)(q >> 32));
	}
	if (carry)
		return FAST_NO; /* a string left open */

	line_start(d);
	o = skip_ws(s, n, 0);
	if (o >= n || s[o] != '{')
		return FAST_NO;
	o = skip_ws(s, n, o + 1);
	if (nq == 0) {
		/* {} */
		if (o >= n || s[o] != '}' || skip_ws(s, n, o + 1) != n)
			return FAST_NO;
		goto done;
	}
	if (o != qp[0])
		return FAST_NO;
	for (m = 0;;) {
		/* the key: pair m */
		o = qp[m];
		c = qp[m + 1];
		m += 2;
		vn = key_find(d, root, line + o + 1, c - o - 1);
		if (vn) {
			if (vn->seen == d->gen)
				return FAST_NO;
			d->node[vn - d->node].seen = d->gen;
		}
		/* ':' and the value */
		if (n - c > 3 && pair_is(s + c + 1, ':', ' ') && s[c + 3] > ' ') {
			v = c + 3;
		} else {
			v = skip_ws(s, n, c + 1);
			if (v >= n || s[v] != ':')
				return FAST_NO;
			v = skip_ws(s, n, v + 1);
			if (v >= n)
				return FAST_NO;
		}
		if (s[v] == '"') {
			/* the value is pair m */
			if (m >= nq || qp[m] != v)
				return FAST_NO;
			e = qp[m + 1];
			m += 2;
			if (vn && vn->field >= 0)
				put(d, vn, CM_VT_STR, line + v + 1, e - v - 1, line + v, e + 1 - v);
			e++;
		} else if (s[v] == 't' || s[v] == 'f' || s[v] == 'n') {
			if ((e = literal(d, vn, line, n, v, &at)) == BAD)
				return FAST_NO;
		} else {
			/* a number; objects and arrays are the general path's */
			if (s[v] != '-' && (s[v] < '0' || s[v] > '9'))
				return FAST_NO;
			if ((e = num_scan(s, n, v, &at)) == BAD)
				return FAST_NO;
			if (vn && vn->field >= 0)
				put(d, vn, CM_VT_NUM, line + v, e - v, line + v, e - v);
		}
		/* ", " and the next key where the next pair starts, or '}' and the end */
		if (m < nq && qp[m] == e + 2 && pair_is(s + e, ',', ' '))
			continue;
		e = skip_ws(s, n, e);
		if (e < n && s[e] == ',') {
			if (m >= nq || qp[m] != skip_ws(s, n, e + 1))
				return FAST_NO;
			continue;
		}
		if (m != nq || e >= n || s[e] != '}' || skip_ws(s, n, e + 1) != n)
			return FAST_NO;
		break;
	}
done:
	rec->f = d->f;
	rec->n = d->nf;
	rec->type = d->type;
	rec->raw = d->raw;
	return 1;
}
#endif

void cm_jsonl_set_fast(struct cm_jsonl *d, enum cm_jsonl_fast mode)
{
	d->fast = mode;
	d->fast_skip = d->fast_backoff = 0;
}

int cm_jsonl_decode(struct cm_jsonl *d, const char *line, size_t n, struct cm_record *rec,
		    struct cm_json_fault *fault)
{
	const unsigned char *s = (const unsigned char *)line;
	const struct jnode *vn; /* the trie node of the value about to be read, or NULL */
	struct frame *top;
	size_t i, j, k, at = 0, depth = 0;
	int esc;

#ifdef HAVE_JSON_FAST
	/*
	 * The fast pass first, unless lines it handed on came in a row: then
	 * it rests for 1, 2, 4, ... lines (up to FAST_BACKOFF_MAX), so a
	 * stream of other lines pays for it seldom.
	 */
	if (d->fast == CM_JSONL_FAST_OFF) {
		/* the general path only */
	} else if (d->fast_skip && d->fast == CM_JSONL_FAST_AUTO) {
		d->fast_skip--;
	} else if (cm_cpu_has(CM_CPU_AVX512_VBMI2)) {
		if (decode_fast(d, line, n, rec) == 1) {
			d->fast_backoff = 0;
			return 1;
		}
		d->fast_backoff = d->fast_backoff ? d->fast_backoff * 2 : 1;
		if (d->fast_backoff > FAST_BACKOFF_MAX)
			d->fast_backoff = FAST_BACKOFF_MAX;
		d->fast_skip = d->fast_backoff;
	}
#endif
	line_start(d);
	i = skip_ws(s, n, 0);
	if (i >= n || s[i] != '{') {
		at = i;
		goto bad;
	}
	vn = &d->node[0];
value:
	/* i is on the first byte of a value (blanks skipped), inside the frame on top */
	if (i >= n) {
		at = n;
		goto bad;
	}
	switch (s[i]) {
	case '{':
	case '[':
		if (depth == CM_JSON_DEPTH_MAX) {
			at = i;
			goto bad;
		}
		top = &d->stack[depth++];
		top->node = vn;
		top->start = i;
		top->arr = s[i] == '[';
		top->elem = top->cur = 0;
		i = skip_ws(s, n, i + 1);
		if (top->arr) {
			if (i < n && s[i] == ']')
				goto close;
			vn = elem_node(d, top);
			goto value;
		}
		if (i < n && s[i] == '}')
			goto close;
		goto member;
	case '"':
		esc = 0;
		if ((j = str_quick(s, n, i + 1)) != BAD) {
			if (vn && vn->field >= 0)
				put(d, vn, CM_VT_STR, line + i + 1, j - i - 1, line + i, j + 1 - i);
		} else if (vn && vn->field >= 0) {
			size_t off = d->scratch.n;

			if ((j = str_scan(s, n, i + 1, &d->scratch, &esc, &at)) == BAD)
				goto bad;
			if (esc)
				put_scratch(d, vn, off, d->scratch.n - off, line + i, j + 1 - i);
			else
				put(d, vn, CM_VT_STR, line + i + 1, j - i - 1, line + i, j + 1 - i);
		} else if ((j = str_scan(s, n, i + 1, NULL, &esc, &at)) == BAD) {
			goto bad;
		}
		i = j + 1;
		goto after;
	case 't':
	case 'f':
	case 'n':
		if ((j = literal(d, vn, line, n, i, &at)) == BAD)
			goto bad;
		i = j;
		goto after;
	default:
		if (s[i] != '-' && (s[i] < '0' || s[i] > '9')) {
			at = i;
			goto bad;
		}
		if ((j = num_scan(s, n, i, &at)) == BAD)
			goto bad;
		if (vn && vn->field >= 0)
			put(d, vn, CM_VT_NUM, line + i, j - i, line + i, j - i);
		i = j;
		goto after;
	}
after:
	/* a value ended at i, inside the frame on top: ',' or the frame's end */
	if (n - i > 2 && !d->stack[depth - 1].arr) {
		/* ", " or "," and a key: what the general path below finds, in fewer steps */
		if (pair_is(s + i, ',', ' ') && s[i + 2] > ' ') {
			i += 2;
			goto member;
		}
		if (pair_is(s + i, ',', '"')) {
			i += 1;
			goto member;
		}
	}
	i = skip_ws(s, n, i);
	if (i >= n) {
		at = n;
		goto bad;
	}
	top = &d->stack[depth - 1];
	if (s[i] == ',') {
		i = skip_ws(s, n, i + 1);
		if (!top->arr)
			goto member;
		if (top->elem == UINT32_MAX) {
			vn = NULL;
		} else {
			top->elem++;
			vn = elem_node(d, top);
		}
		goto value;
	}
	if (s[i] != (top->arr ? ']' : '}')) {
		at = i;
		goto bad;
	}
close:
	/* s[i] closes the frame on top */
	i++;
	top = &d->stack[--depth];
	if (top->node && top->node->field >= 0)
		put(d, top->node, CM_VT_TREE, line + top->start, i - top->start, line + top->start,
		    i - top->start);
	if (depth == 0)
		goto end;
	goto after;
member:
	/* i is on a member's key (blanks skipped) in the object on top */
	if (i >= n || s[i] != '"') {
		at = i;
		goto bad;
	}
	top = &d->stack[depth - 1];
	esc = 0;
	vn = NULL;
	if (top->node && top->node->nkey) {
		const char *kp;
		size_t kn;

		cm_buf_reset(&d->keybuf);
		if ((j = str_quick(s, n, i + 1)) == BAD &&
		    (j = str_scan(s, n, i + 1, &d->keybuf, &esc, &at)) == BAD)
			goto bad;
		if (d->keybuf.oom)
			goto nomem;
		kp = esc ? d->keybuf.p : line + i + 1;
		kn = esc ? d->keybuf.n : j - i - 1;
		vn = key_find(d, top->node, kp, kn);
		if (vn) {
			if (vn->seen == d->gen) {
				fault->reason = CM_REJ_DUPLICATE;
				fault->at = i;
				fault->field = vn->some;
				return 0;
			}
			/* The only write to the trie per line: the nodes are ours. */
			d->node[vn - d->node].seen = d->gen;
		}
	} else if ((j = str_quick(s, n, i + 1)) == BAD &&
		   (j = str_scan(s, n, i + 1, NULL, &esc, &at)) == BAD) {
		goto bad;
	}
	if (n - j > 3) {
		/* ": " or ":" and a value */
		if (pair_is(s + j + 1, ':', ' ') && s[j + 3] > ' ') {
			i = j + 3;
			goto value;
		}
		if (s[j + 1] == ':' && s[j + 2] > ' ') {
			i = j + 2;
			goto value;
		}
	}
	i = skip_ws(s, n, j + 1);
	if (i >= n || s[i] != ':') {
		at = i;
		goto bad;
	}
	i = skip_ws(s, n, i + 1);
	goto value;
end:
	i = skip_ws(s, n, i);
	if (i != n) {
		at = i;
		goto bad;
	}
	if (d->scratch.oom)
		goto nomem;
	for (k = 0; k < d->nfix; k++)
		d->f[d->fix[k]].p = d->scratch.p + d->soff[d->fix[k]];
	rec->f = d->f;
	rec->n = d->nf;
	rec->type = d->type;
	rec->raw = d->raw;
	return 1;
bad:
	fault->reason = CM_REJ_JSON;
	fault->at = at;
	fault->field = -1;
	return 0;
nomem:
	return CM_FAIL;
}

/* ------------------------------------------------------------------ */
/* Subtree rewriting                                                   */
/* ------------------------------------------------------------------ */

/*
 * Calls fn for p[0..n) and turns what it appended to out into a JSON
 * string in place. Returns fn's non-zero value, or 0 (out->oom set when
 * memory is short).
 */
static int map_emit(cm_json_leaf_fn fn, void *ud, const char *p, size_t n, struct cm_buf *out)
{
	size_t m = out->n, k;
	int r;

	if ((r = fn(ud, p, n, out)) != 0 || out->oom)
		return r;
	k = out->n - m;
	/*
	 * Encoded, a byte takes at most 6 (\u00XX): with that room reserved
	 * the encoder never reallocates, so it can read the callback's bytes
	 * where they are and write after them; the result then moves down.
	 */
	if (k > (SIZE_MAX - 2) / 6 || cm_buf_reserve(out, 6 * k + 2) != 0) {
		out->oom = 1;
		return 0;
	}
	cm_json_put_string(out, out->p + m, k);
	memmove(out->p + m, out->p + m + k, out->n - m - k);
	out->n -= k;
	return 0;
}

/*
 * The string at text[i] (its opening quote) through fn, or copied as
 * written when fn is NULL. Sets *j on its closing quote. Returns 0, fn's
 * value, or -1 when it is not a valid string.
 */
static int map_string(const unsigned char *s, size_t n, size_t i, size_t *j, cm_json_leaf_fn fn,
		      void *ud, struct cm_buf *out, struct cm_buf *heap)
{
	char stack[MAP_STACK];
	struct cm_buf view, *b;
	size_t at, e;
	int esc = 0, r;

	if ((e = str_scan(s, n, i + 1, NULL, &esc, &at)) == BAD)
		return -1;
	*j = e;
	if (!fn) {
		cm_buf_add(out, s + i, e + 1 - i);
		return 0;
	}
	if (!esc)
		return map_emit(fn, ud, (const char *)s + i + 1, e - i - 1, out);
	/* Decoded is never longer than written: a body that fits the stack
	 * decodes there without growing it. */
	if (e - i - 1 <= sizeof stack) {
		view.p = stack;
		view.n = 0;
		view.cap = sizeof stack;
		view.oom = 0;
		b = &view;
	} else {
		cm_buf_reset(heap);
		b = heap;
	}
	esc = 0;
	str_scan(s, n, i + 1, b, &esc, &at);
	if (b->oom) {
		out->oom = 1;
		r = 0;
	} else {
		r = map_emit(fn, ud, b->p, b->n, out);
	}
	if (b == &view)
		sodium_memzero(stack, view.n); /* it held a value that may be protected */
	return r;
}

int cm_json_map_tree(const char *text, size_t n, cm_json_leaf_fn leaf, cm_json_leaf_fn key,
		     void *ud, struct cm_buf *out)
{
	const unsigned char *s = (const unsigned char *)text;
	unsigned char arr[CM_JSON_DEPTH_MAX];
	struct cm_buf heap;
	size_t i, j, at, depth = 0;
	int rc = -1, r;

	cm_buf_init(&heap);
	i = skip_ws(s, n, 0);
	if (i >= n || (s[i] != '{' && s[i] != '['))
		goto out;
value:
	if (out->oom) {
		rc = 0;
		goto out;
	}
	if (i >= n)
		goto out;
	switch (s[i]) {
	case '{':
	case '[':
		if (depth == CM_JSON_DEPTH_MAX)
			goto out;
		arr[depth++] = s[i] == '[';
		cm_buf_addc(out, (char)s[i]);
		i = skip_ws(s, n, i + 1);
		if (i < n && s[i] == (arr[depth - 1] ? ']' : '}'))
			goto close;
		if (arr[depth - 1])
			goto value;
		goto member;
	case '"':
		if ((r = map_string(s, n, i, &j, leaf, ud, out, &heap)) != 0) {
			rc = r;
			goto out;
		}
		i = j + 1;
		goto after;
	case 't':
	case 'f':
	case 'n':
		j = lit_scan(s, n, i, s[i] == 't' ? "true" : s[i] == 'f' ? "false" : "null",
			     s[i] == 'f' ? 5 : 4, &at);
		if (j == BAD)
			goto out;
		cm_buf_add(out, s + i, j - i);
		i = j;
		goto after;
	default:
		if ((s[i] != '-' && (s[i] < '0' || s[i] > '9')) || (j = num_scan(s, n, i, &at)) == BAD)
			goto out;
		if (!leaf)
			cm_buf_add(out, s + i, j - i);
		else if ((r = map_emit(leaf, ud, text + i, j - i, out)) != 0) {
			rc = r;
			goto out;
		}
		i = j;
		goto after;
	}
after:
	i = skip_ws(s, n, i);
	if (i >= n)
		goto out;
	if (s[i] == ',') {
		cm_buf_addc(out, ',');
		i = skip_ws(s, n, i + 1);
		if (arr[depth - 1])
			goto value;
		goto member;
	}
	if (s[i] != (arr[depth - 1] ? ']' : '}'))
		goto out;
close:
	cm_buf_addc(out, (char)s[i]);
	i++;
	if (--depth == 0)
		goto end;
	goto after;
member:
	if (out->oom) {
		rc = 0;
		goto out;
	}
	if (i >= n || s[i] != '"')
		goto out;
	if ((r = map_string(s, n, i, &j, key, ud, out, &heap)) != 0) {
		rc = r;
		goto out;
	}
	i = skip_ws(s, n, j + 1);
	if (i >= n || s[i] != ':')
		goto out;
	cm_buf_addc(out, ':');
	i = skip_ws(s, n, i + 1);
	goto value;
end:
	if (skip_ws(s, n, i) == n)
		rc = 0;
out:
	cm_buf_deinit(&heap);
	return rc;
}
