/*
 * \summary: CSV decoder and encoder
 *
 * Follows RFC 4180 (section 2: records end at a line break, fields split on
 * the delimiter, a field starting with a quote is quoted, "" inside it is
 * one quote), plus what CDR producers really write: LF or CRLF, a last line
 * without a line break, blank lines, a quote inside an unquoted field taken
 * literally, any bytes (UTF-8 or not) passed through untouched.
 *
 * The input is arbitrary bytes. Every read is bounded by the caller's len
 * and, past the first max_record + 1 bytes of a record, by nothing else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_SCAN 1 /* a second block scanner, chosen at run time */
#endif

#include "cdrmin/cpu.h"
#include "cdrmin/csv.h"
#include "cdrmin/err.h"

#define FIELDS_INITIAL 64

/* States of the record scanner (dec->scan_state). */
enum {
	ST_PLAIN = 0, /* no quote seen yet in the record: the memchr fast path */
	ST_FIELD,     /* at the first byte of a field */
	ST_UNQ,       /* inside an unquoted field */
	ST_QUO,       /* inside a quoted field */
	ST_AFTER      /* just after a '"' inside a quoted field: close or "" */
};

/* What the scanner found. */
enum scan_res { SCAN_END, SCAN_MORE, SCAN_TOOLONG };

void cm_csv_opts_default(struct cm_csv_opts *o)
{
	o->delim = ',';
	o->max_record = CM_CSV_MAX_RECORD_DEFAULT;
}

static void scan_clear(struct cm_csv *dec)
{
	dec->scan_pos = 0;
	dec->scan_state = ST_PLAIN;
	dec->scan_bad = 0;
}

int cm_csv_init(struct cm_csv *dec, const struct cm_csv_opts *o)
{
	memset(dec, 0, sizeof *dec);
	if (o)
		dec->o = *o;
	else
		cm_csv_opts_default(&dec->o);
	/* These bytes have a meaning of their own: as a delimiter they would make
	 * records ambiguous. */
	if (dec->o.delim == '"' || dec->o.delim == '\r' || dec->o.delim == '\n' ||
	    dec->o.delim == '\0')
		return -1;
	dec->fields = malloc(FIELDS_INITIAL * sizeof *dec->fields);
	if (!dec->fields)
		return -1;
	dec->cap = FIELDS_INITIAL;
	cm_csv_reset(dec);
	return 0;
}

void cm_csv_deinit(struct cm_csv *dec)
{
	free(dec->fields);
	dec->fields = NULL;
	dec->cap = 0;
}

void cm_csv_swap_fields(struct cm_csv *dec, struct cm_slice **f, size_t *cap)
{
	struct cm_slice *t = dec->fields;
	size_t c = dec->cap;

	dec->fields = *f;
	dec->cap = *cap;
	*f = t;
	*cap = c;
}

void cm_csv_reset(struct cm_csv *dec)
{
	dec->line = 1;
	dec->offset = 0;
	dec->skipping = 0;
	dec->skip_state = ST_PLAIN;
	dec->last_skip_line = 0;
	scan_clear(dec);
}

static uint64_t count_lf(const char *p, size_t n)
{
	const char *end = p + n;
	uint64_t k = 0;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		k++;
		p++;
	}
	return k;
}

/*
 * Accounts for n consumed bytes holding lf line feeds, and clears the
 * record in progress. Returns n for the caller to return.
 */
static ssize_t consume(struct cm_csv *dec, size_t n, uint64_t lf)
{
	dec->offset += n;
	dec->line += lf;
	scan_clear(dec);
	return (ssize_t)n;
}

static ssize_t reject(struct cm_csv *dec, struct cm_csv_result *res, enum cm_reject why,
		      const char *buf, size_t n)
{
	res->what = CM_CSV_REJECT;
	res->reason = why;
	return consume(dec, n, count_lf(buf, n));
}

/*
 * Scans buf[from..len), the tail of an over-long record, from scanner state
 * dec->skip_state, for the LF that ends the record: the one scan() would
 * stop at with no length limit (RFC 4180 section 2: a LF inside a quoted
 * field is data; a quote inside an unquoted field is data too, as in
 * scan()). So the rejected record's bytes, its quoted free text included,
 * never decode as records of their own. Returns the bytes of buf up to and
 * including that LF, with dec->skipping cleared; or len, with the state at
 * buf[len] saved and dec->skipping set. A quote that never closes makes the
 * rest of the input part of the record (fail closed).
 */
static size_t tail_scan(struct cm_csv *dec, const char *buf, size_t from, size_t len)
{
	const char delim = dec->o.delim;
	int st = dec->skip_state;
	size_t i = from;
	const char *q;
	char c;

	while (i < len) {
		switch (st) {
		case ST_FIELD:
			if (buf[i] == '"') {
				st = ST_QUO;
				i++;
			} else {
				st = ST_UNQ;
			}
			break;
		case ST_QUO:
			q = memchr(buf + i, '"', len - i);
			if (!q) {
				i = len;
				break;
			}
			i = (size_t)(q - buf) + 1;
			st = ST_AFTER;
			break;
		case ST_AFTER:
			/* "" stays quoted; a CR or other bytes after the closing quote
			 * make the rest of the field unquoted, as in scan(), so a LF ends
			 * the record whether a CR came before it or not. */
			c = buf[i];
			if (c == '"') {
				st = ST_QUO;
				i++;
			} else if (c == delim) {
				st = ST_FIELD;
				i++;
			} else {
				st = ST_UNQ;
			}
			break;
		default: /* ST_UNQ */
			for (; i < len; i++) {
				c = buf[i];
				if (c == '\n') {
					dec->skipping = 0;
					dec->skip_state = ST_PLAIN;
					return i + 1;
				}
				if (c == delim) {
					st = ST_FIELD;
					i++;
					break;
				}
			}
			break;
		}
	}
	dec->skipping = 1;
	dec->skip_state = st;
	return len;
}

/*
 * The record has no end within its first lim = max_record + 1 bytes, and st
 * is the scanner state at buf[lim]: reject it once, and drop every byte up
 * to and including the LF that ends it (tail_scan). When that LF is not in
 * buf yet, later calls drop up to it (skip_tail).
 */
static ssize_t too_long(struct cm_csv *dec, struct cm_csv_result *res, const char *buf,
			size_t lim, size_t len, int st)
{
	size_t n;
	ssize_t r;

	dec->skip_state = st;
	n = tail_scan(dec, buf, lim, len);
	r = reject(dec, res, CM_REJ_TOOLONG, buf, n);
	dec->last_skip_line = dec->skipping ? 0 : dec->line - 1;
	return r;
}

/* The over-long record's tail, in later calls: drop bytes up to its end. */
static ssize_t skip_tail(struct cm_csv *dec, const char *buf, size_t len)
{
	size_t n = tail_scan(dec, buf, 0, len);
	ssize_t r = consume(dec, n, count_lf(buf, n));

	if (!dec->skipping)
		dec->last_skip_line = dec->line - 1;
	return r;
}

/* Makes room for one more field. Returns 0, 1 when at CM_CSV_MAX_FIELDS, or -1. */
static int fields_grow(struct cm_csv *dec)
{
	size_t cap;
	struct cm_slice *f;

	if (dec->cap >= CM_CSV_MAX_FIELDS)
		return 1;
	cap = dec->cap ? dec->cap * 2 : FIELDS_INITIAL;
	if (cap > CM_CSV_MAX_FIELDS)
		cap = CM_CSV_MAX_FIELDS;
	f = realloc(dec->fields, cap * sizeof *f);
	if (!f)
		return -1;
	dec->fields = f;
	dec->cap = cap;
	return 0;
}

/*
 * Scans the record in buf[0..lim) from dec->scan_pos in state
 * dec->scan_state, and stops at the LF that ends it (outside quotes),
 * storing its index in *end. Otherwise saves where it stopped, for the next
 * call, and returns SCAN_MORE. full says buf holds the record's first
 * max_record + 1 bytes (lim == max_record + 1): a LF after them is too far.
 * A quote takes this slow path; a record without one ends at the first LF,
 * found by memchr in the caller.
 */
static enum scan_res scan(struct cm_csv *dec, const char *buf, size_t lim, int full,
			  int eof, size_t *end)
{
	const char delim = dec->o.delim;
	size_t i = dec->scan_pos;
	int st = dec->scan_state;
	const char *q;
	char c;

	for (;;) {
		switch (st) {
		case ST_FIELD:
			if (i == lim)
				goto more;
			if (buf[i] == '"') {
				st = ST_QUO;
				i++;
			} else {
				st = ST_UNQ;
			}
			break;
		case ST_UNQ:
			/* A quote here is data (not RFC 4180, but what producers write). */
			for (; i < lim; i++) {
				c = buf[i];
				if (c == '\n') {
					*end = i;
					return SCAN_END;
				}
				if (c == delim) {
					st = ST_FIELD;
					i++;
					break;
				}
			}
			if (st == ST_UNQ)
				goto more;
			break;
		case ST_QUO:
			/* Delimiters, CR and LF are data here: only a quote matters. */
			q = memchr(buf + i, '"', lim - i);
			if (!q) {
				i = lim;
				goto more;
			}
			i = (size_t)(q - buf) + 1;
			st = ST_AFTER;
			break;
		case ST_AFTER:
			if (i == lim)
				goto more;
			c = buf[i];
			if (c == '"') {
				st = ST_QUO; /* "" is one quote */
				i++;
			} else if (c == delim) {
				st = ST_FIELD;
				i++;
			} else if (c == '\n') {
				*end = i;
				return SCAN_END;
			} else if (c == '\r' && i + 1 < lim) {
				if (buf[i + 1] == '\n') {
					*end = i + 1;
					return SCAN_END;
				}
				dec->scan_bad = 1;
				st = ST_UNQ;
			} else if (c == '\r' && !full && !eof) {
				goto more; /* CR LF split by a refill: decide when the LF is here */
			} else if (c == '\r') {
				/* At eof a last CR is dropped like a CR before LF; when full, the
				 * LF could only come too late, and the tail goes on as after a CR
				 * not before a LF (tail_scan starts in this state). */
				i = lim;
				st = ST_UNQ;
				goto more;
			} else {
				/* RFC 4180 allows only the delimiter or the record's end after a
				 * closing quote. Go on as if unquoted, to find where the record
				 * ends, and reject it. */
				dec->scan_bad = 1;
				st = ST_UNQ;
			}
			break;
		default: /* ST_PLAIN is never passed in */
			st = ST_UNQ;
			break;
		}
	}
more:
	dec->scan_pos = i;
	dec->scan_state = st;
	return full ? SCAN_TOOLONG : SCAN_MORE;
}

/*
 * Splits the record buf[0..n) (no LF, no final CR, no quote) into fields.
 * Returns the number of fields, 0 when there are more than
 * CM_CSV_MAX_FIELDS, or -1 when memory is short.
 */
static long split_plain(struct cm_csv *dec, const char *buf, size_t n)
{
	const char *p = buf, *end = buf + n, *d;
	size_t k = 0;
	int g;

	for (;;) {
		if (k == dec->cap && (g = fields_grow(dec)) != 0)
			return g < 0 ? -1 : 0;
		d = memchr(p, dec->o.delim, (size_t)(end - p));
		dec->fields[k].p = p;
		if (!d) {
			dec->fields[k].n = (size_t)(end - p);
			return (long)(k + 1);
		}
		dec->fields[k].n = (size_t)(d - p);
		k++;
		p = d + 1;
	}
}

/* Unescapes "" in the quoted field f (its quotes excluded) in place. */
static void unescape(struct cm_slice *f, char *p)
{
	char *end = p + f->n, *q, *w;

	q = memchr(p, '"', f->n);
	if (!q)
		return;
	/* Copy down only from the first "" on; the record is well formed, so
	 * every quote in here is the first of a pair. */
	w = q + 1;
	p = q + 2;
	while (p < end && (q = memchr(p, '"', (size_t)(end - p))) != NULL) {
		memmove(w, p, (size_t)(q - p) + 1);
		w += q - p + 1;
		p = q + 2;
	}
	if (p < end) {
		memmove(w, p, (size_t)(end - p));
		w += end - p;
	}
	f->n = (size_t)(w - f->p);
}

/*
 * Splits the well-formed record buf[0..n) (no LF outside quotes, no final
 * CR, every quoted field closed and followed by the delimiter or the end)
 * into fields, then unescapes "" in place, so that the buffer is left
 * alone when the record is rejected for its field count. Returns as split_plain.
 */
static long split_quoted(struct cm_csv *dec, char *buf, size_t n)
{
	const char delim = dec->o.delim;
	char *p = buf, *end = buf + n, *q;
	size_t k = 0, j;
	uint64_t esc = 0; /* bit k: field k (k < 64) holds "" */
	int g;

	for (;;) {
		if (k == dec->cap && (g = fields_grow(dec)) != 0)
			return g < 0 ? -1 : 0;
		if (p < end && *p == '"') {
			dec->fields[k].p = ++p;
			for (;;) {
				q = memchr(p, '"', (size_t)(end - p));
				if (!q) /* cannot happen: scan() saw the close */
					q = end;
				if (q + 1 < end && q[1] == '"') {
					esc |= k < 64 ? UINT64_C(1) << k : 0;
					p = q + 2;
					continue;
				}
				break;
			}
			dec->fields[k].n = (size_t)(q - dec->fields[k].p);
			p = q + 1; /* at the delimiter or the end */
		} else {
			q = memchr(p, delim, (size_t)(end - p));
			dec->fields[k].p = p;
			dec->fields[k].n = (size_t)((q ? q : end) - p);
			p = q ? q : end;
		}
		k++;
		if (p >= end)
			break;
		p++;
	}
	/* A quoted field's value follows its opening quote; an unquoted one
	 * starts the record or follows a delimiter, never a quote. */
	for (j = 0; j < k; j++) {
		if (j < 64 && !(esc >> j & 1))
			continue; /* no "" in it: nothing to unescape */
		q = buf + (dec->fields[j].p - buf);
		if (q > buf && q[-1] == '"')
			unescape(&dec->fields[j], q);
	}
	return (long)k;
}

/*
 * The record is buf[0..n) and consumed is n, or n + 1 with its LF. Checks
 * it, splits it and fills res.
 */
static ssize_t finish(struct cm_csv *dec, char *buf, size_t n, size_t consumed, int quoted,
		      struct cm_csv_result *res)
{
	uint64_t lf = quoted ? count_lf(buf, consumed) : consumed > n;
	long k;

	/* A NUL rejects the whole record, wherever it is: downstream C strings
	 * would cut the value short, and no CDR producer writes one. */
	if (memchr(buf, '\0', n))
		return reject(dec, res, CM_REJ_NUL, buf, consumed);
	if (quoted && dec->scan_bad)
		return reject(dec, res, CM_REJ_QUOTE, buf, consumed);
	if (n > 0 && buf[n - 1] == '\r') /* CRLF and LF give the same fields */
		n--;
	if (n == 0) {
		res->what = CM_CSV_NOTHING;
		return consume(dec, consumed, lf);
	}
	k = quoted ? split_quoted(dec, buf, n) : split_plain(dec, buf, n);
	if (k < 0)
		return CM_FAIL;
	if (k == 0)
		return reject(dec, res, CM_REJ_COLUMNS, buf, consumed);
	res->what = CM_CSV_RECORD;
	res->rec.f = dec->fields;
	res->rec.n = (size_t)k;
	return consume(dec, consumed, lf);
}

#if defined(__SSE2__)
#define FAST_NO (-3) /* fast_record() leaves the record to the general path */

/* Bit i: byte i of the 16 at p equals c. */
static inline uint64_t eq16(__m128i x, char c)
{
	return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(c)));
}

/*
 * What fast_record needs to know of a 64-byte block, bit i for byte i: a
 * quote, the delimiter, a LF, a CR or NUL (odd); and the quote parity
 * (inq: an odd number of quotes at or before byte i).
 */
struct block {
	uint64_t q, d, lf, odd, inq;
};

/* The block at p in SSE2: four loads of 16 bytes, a prefix XOR by shifts. */
static inline __attribute__((always_inline)) void block_sse2(const char *p, char delim,
							     struct block *b)
{
	__m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
	__m128i x2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
	__m128i x3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
	uint64_t x;

	b->q = eq16(x0, '"') | eq16(x1, '"') << 16 | eq16(x2, '"') << 32 | eq16(x3, '"') << 48;
	b->d = eq16(x0, delim) | eq16(x1, delim) << 16 | eq16(x2, delim) << 32 |
	       eq16(x3, delim) << 48;
	b->lf = eq16(x0, '\n') | eq16(x1, '\n') << 16 | eq16(x2, '\n') << 32 |
		eq16(x3, '\n') << 48;
	b->odd = (eq16(x0, '\r') | eq16(x0, '\0')) | (eq16(x1, '\r') | eq16(x1, '\0')) << 16 |
		 (eq16(x2, '\r') | eq16(x2, '\0')) << 32 | (eq16(x3, '\r') | eq16(x3, '\0')) << 48;
	x = b->q;
	x ^= x << 1;
	x ^= x << 2;
	x ^= x << 4;
	x ^= x << 8;
	x ^= x << 16;
	x ^= x << 32;
	b->inq = x;
}

#ifdef HAVE_AVX2_SCAN
/* Bit i: byte i of the 32 at p equals c. */
__attribute__((target("avx2"), always_inline)) static inline uint64_t eq32(__m256i x, char c)
{
	return (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, _mm256_set1_epi8(c)));
}

/*
 * The block at p in AVX2: two loads of 32 bytes; the parity is one
 * carry-less multiply by all ones (bit i of the product is the XOR of the
 * bits 0..i of q).
 */
__attribute__((target("avx2,pclmul"), always_inline)) static inline void
block_avx2(const char *p, char delim, struct block *b)
{
	__m256i x0 = _mm256_loadu_si256((const __m256i *)(const void *)p);
	__m256i x1 = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32));
	__m256i cr = _mm256_set1_epi8('\r'), z = _mm256_setzero_si256();

	b->q = eq32(x0, '"') | eq32(x1, '"') << 32;
	b->d = eq32(x0, delim) | eq32(x1, delim) << 32;
	b->lf = eq32(x0, '\n') | eq32(x1, '\n') << 32;
	b->odd = (uint64_t)(uint32_t)_mm256_movemask_epi8(
			 _mm256_or_si256(_mm256_cmpeq_epi8(x0, cr), _mm256_cmpeq_epi8(x0, z))) |
		 (uint64_t)(uint32_t)_mm256_movemask_epi8(
			 _mm256_or_si256(_mm256_cmpeq_epi8(x1, cr), _mm256_cmpeq_epi8(x1, z)))
			 << 32;
	b->inq = (uint64_t)_mm_cvtsi128_si64(_mm_clmulepi64_si128(
		_mm_set_epi64x(0, (long long)b->q), _mm_set1_epi8((char)0xff), 0));
}
#endif

/*
 * The field buf[start..end), quoted (1) or not (0): a quoted one without
 * its quotes. Returns the next field's start.
 */
static inline size_t put_field_q(struct cm_slice *f, const char *buf, size_t start, size_t end,
				 size_t quoted)
{
	f->p = buf + start + quoted;
	f->n = end - start - 2 * quoted;
	return end + 1;
}

/* The same, quoted when its first byte is a quote (the record is well formed). */
static inline size_t put_field(struct cm_slice *f, const char *buf, size_t start, size_t end)
{
	return put_field_q(f, buf, start, end, start < end && buf[start] == '"');
}

/*
 * The record at buf[0..lim) in one pass over 64-byte blocks, for records
 * the general scanner would accept as they are: a LF outside quotes ends
 * the record within lim, every quote opens a field, closes it or is half
 * of a "" inside it, no NUL, no CR but one just before that LF, not blank.
 * Quote parity (bit i set inside quotes) tells the delimiters and LFs that
 * count; the per-field rules of scan() become checks on masks:
 * - a quote that opens (parity goes to 1) is at a field's first byte or
 *   right after a closing quote ("" inside the field);
 * - what follows a closing quote is a quote, a delimiter or the record's end.
 * Fills the fields and returns what finish() would, or FAST_NO for any
 * other record, which the general path then takes from its first byte.
 * Reads only buf[0..lim).
 */
static inline __attribute__((always_inline)) ssize_t
fast_record_with(struct cm_csv *dec, char *buf, size_t lim, struct cm_csv_result *res,
		 void (*scan_block)(const char *, char, struct block *))
{
	const char delim = dec->o.delim;
	unsigned char tail[64];
	uint64_t inq_carry = 0, fs_carry = 1, close_carry = 0, esc_pending = 0;
	uint64_t inner_lf = 0, q, d, lf, odd, inq, sd, slf, open, close, cq, fs, er, within, bits;
	size_t base, k = 0, start = 0, e, end, j;
	const char *p;
	uint64_t esc = 0; /* bit k: field k (k < 64) holds "" */
	int g, cr_end;

	for (base = 0; base < lim; base += 64) {
		size_t avail = lim - base;
		struct block b;

		if (avail >= 64) {
			p = buf + base;
		} else {
			memset(tail, 0, sizeof tail);
			memcpy(tail, buf + base, avail);
			p = (const char *)tail;
		}
		scan_block(p, delim, &b);
		q = b.q;
		d = b.d;
		lf = b.lf;
		odd = b.odd;
		inq = b.inq;
		if (avail < 64) { /* the zero padding is not input */
			uint64_t v = (UINT64_C(1) << avail) - 1;

			q &= v;
			d &= v;
			lf &= v;
			odd &= v;
		}
		inq ^= inq_carry;
		sd = d & ~inq;
		slf = lf & ~inq;
		within = slf ? (slf & -slf) - 1 : ~UINT64_C(0); /* bits before the end */
		if (avail < 64 && !slf)
			within &= (UINT64_C(1) << avail) - 1;
		cr_end = 0;
		if (odd & within) {
			/* Only the CR of a CRLF end, in this block: 1 bit, right before the LF. */
			e = slf ? (size_t)__builtin_ctzll(slf) : 64;
			if (!slf || e == 0 || (odd & within) != UINT64_C(1) << (e - 1) ||
			    p[e - 1] != '\r')
				return FAST_NO;
			cr_end = 1;
			within >>= 1; /* the CR ends the last field */
		}
		open = q & inq;
		close = q & ~inq;
		fs = sd << 1 | fs_carry;
		cq = close << 1 | close_carry; /* bit i: byte i - 1 closes a quoted field or half a "" */
		if (open & within & ~(fs | cq))
			return FAST_NO;
		/* After a closing quote: a quote, a delimiter, or the end (CR or LF). */
		if (cq & ~(q | sd) & within)
			return FAST_NO;
		er = cq & q & within; /* the second quote of each "" */
		if (lf & inq & within) /* LFs inside quotes: lines for the count */
			inner_lf += (uint64_t)__builtin_popcountll(lf & inq & within);
		bits = sd & within;
		if (dec->cap - k <= 64 && (g = fields_grow(dec)) != 0)
			return g < 0 ? CM_FAIL : FAST_NO; /* room for this block's fields and one */
		if (er | esc_pending) {
			/* Some field ending here, or the one going on, holds "". */
			while (bits) {
				j = (size_t)__builtin_ctzll(bits);
				if (esc_pending || (er & ((UINT64_C(1) << j) - 1)))
					esc |= k < 64 ? UINT64_C(1) << k : 0;
				esc_pending = 0;
				er &= ~((UINT64_C(2) << j) - 1);
				start = put_field_q(dec->fields + k++, buf, start, base + j, cq >> j & 1);
				bits &= bits - 1;
			}
		} else {
			/*
			 * A field before a delimiter is quoted when the byte before
			 * the delimiter closes a quote: no quote is left inside an
			 * unquoted field here (it would open, off a field's start).
			 */
			while (bits) {
				j = (size_t)__builtin_ctzll(bits);
				start = put_field_q(dec->fields + k++, buf, start, base + j, cq >> j & 1);
				bits &= bits - 1;
			}
		}
		esc_pending |= er != 0;
		if (slf) {
			e = base + (size_t)__builtin_ctzll(slf);
			end = e - (size_t)cr_end;
			if (end == 0)
				return FAST_NO; /* a blank line */
			if (esc_pending)
				esc |= k < 64 ? UINT64_C(1) << k : 0;
			put_field(dec->fields + k++, buf, start, end);
			/* As split_quoted(): past field 63, every quoted field is looked at. */
			for (; esc; esc &= esc - 1) {
				j = (size_t)__builtin_ctzll(esc);
				unescape(&dec->fields[j], buf + (dec->fields[j].p - buf));
			}
			for (j = 64; j < k; j++) {
				char *f = buf + (dec->fields[j].p - buf);

				if (f[-1] == '"')
					unescape(&dec->fields[j], f);
			}
			res->what = CM_CSV_RECORD;
			res->rec.f = dec->fields;
			res->rec.n = k;
			return consume(dec, e + 1, 1 + inner_lf);
		}
		inq_carry = inq >> 63 ? ~UINT64_C(0) : 0;
		fs_carry = sd >> 63;
		close_carry = close >> 63;
	}
	return FAST_NO;
}

static ssize_t fast_record_sse2(struct cm_csv *dec, char *buf, size_t lim,
				struct cm_csv_result *res)
{
	return fast_record_with(dec, buf, lim, res, block_sse2);
}

#ifdef HAVE_AVX2_SCAN
__attribute__((target("avx2,pclmul"))) static ssize_t
fast_record_avx2(struct cm_csv *dec, char *buf, size_t lim, struct cm_csv_result *res)
{
	return fast_record_with(dec, buf, lim, res, block_avx2);
}

#endif

/* The record at buf[0..lim) by 64-byte blocks (fast_record_with), or FAST_NO. */
static ssize_t fast_record(struct cm_csv *dec, char *buf, size_t lim, struct cm_csv_result *res)
{
#ifdef HAVE_AVX2_SCAN
	if (cm_cpu_has(CM_CPU_AVX2_CLMUL))
		return fast_record_avx2(dec, buf, lim, res);
#endif
	return fast_record_sse2(dec, buf, lim, res);
}
#endif

ssize_t cm_csv_next(struct cm_csv *dec, char *buf, size_t len, int eof,
		    struct cm_csv_result *res)
{
	size_t max = dec->o.max_record, lim, end = 0, i;
	const char *lf, *q, *stop;
	int full;

	res->what = CM_CSV_NOTHING;
	res->reason = CM_REJ_COLUMNS;
	res->rec.f = NULL;
	res->rec.n = 0;
	res->rec.line = dec->line;
	res->rec.offset = dec->offset;

	if (len == 0) {
		if (!eof)
			return CM_NEED_MORE;
		/* An over-long record still being skipped ran to the end. */
		dec->skipping = 0;
		dec->skip_state = ST_PLAIN;
		scan_clear(dec);
		return 0;
	}
	if (dec->skipping)
		return skip_tail(dec, buf, len);
	/* A caller that did not keep the bytes it was asked to keep: start over
	 * rather than trust a position past len. */
	if (dec->scan_pos > len)
		scan_clear(dec);

	/* Look at no more than the record's first max_record + 1 bytes: if its LF
	 * is not among them, it is too long. */
	full = len > max;
	lim = full ? max + 1 : len;

#if defined(__SSE2__)
	if (dec->scan_state == ST_PLAIN && dec->scan_pos == 0) {
		ssize_t r = fast_record(dec, buf, lim, res);

		if (r != FAST_NO)
			return r;
	}
#endif
	if (dec->scan_state == ST_PLAIN) {
		/* buf[0..scan_pos) holds neither LF nor quote. */
		i = dec->scan_pos;
		lf = memchr(buf + i, '\n', lim - i);
		stop = lf ? lf : buf + lim;
		q = memchr(buf + i, '"', (size_t)(stop - (buf + i)));
		if (!q) {
			if (lf)
				return finish(dec, buf, (size_t)(lf - buf), (size_t)(lf - buf) + 1, 0,
					      res);
			if (full)
				return too_long(dec, res, buf, lim, len,
						buf[lim - 1] == dec->o.delim ? ST_FIELD : ST_UNQ);
			if (!eof) {
				dec->scan_pos = lim;
				return CM_NEED_MORE;
			}
			return finish(dec, buf, len, len, 0, res);
		}
		/* Bytes before the first quote are plain: scan on from there. */
		i = (size_t)(q - buf);
		dec->scan_pos = i;
		dec->scan_state = (i == 0 || buf[i - 1] == dec->o.delim) ? ST_FIELD : ST_UNQ;
	}

	switch (scan(dec, buf, lim, full, eof, &end)) {
	case SCAN_END:
		return finish(dec, buf, end, end + 1, 1, res);
	case SCAN_TOOLONG:
		return too_long(dec, res, buf, lim, len, dec->scan_state);
	case SCAN_MORE:
	default:
		break;
	}
	if (!eof)
		return CM_NEED_MORE;
	/* The last record has no line break. Still inside a quote: the record
	 * runs to the end of the input and is rejected (NUL has precedence). */
	if (dec->scan_state == ST_QUO) {
		if (memchr(buf, '\0', len))
			return reject(dec, res, CM_REJ_NUL, buf, len);
		return reject(dec, res, CM_REJ_QUOTE, buf, len);
	}
	return finish(dec, buf, len, len, 1, res);
}

#if defined(__SSE2__)
/* 1 when one of the 16 bytes of x needs quotes (the quote, CR, LF or the delimiter d). */
static inline int needs_quotes16(__m128i x, unsigned char d)
{
	__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
					      _mm_cmpeq_epi8(x, _mm_set1_epi8('\r'))),
				 _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\n')),
					      _mm_cmpeq_epi8(x, _mm_set1_epi8((char)d))));

	return _mm_movemask_epi8(m) != 0;
}
#else
/* 1 when one of the eight bytes of w is b (exact: the zero-byte test of x ^ b). */
static inline int has_byte(uint64_t w, unsigned char b)
{
	uint64_t x = w ^ (UINT64_C(0x0101010101010101) * b);

	return ((x - UINT64_C(0x0101010101010101)) & ~x & UINT64_C(0x8080808080808080)) != 0;
}
#endif

/*
 * 0 when no byte of p[0..n) needs quotes (RFC 4180 section 2.6: the quote,
 * CR, LF, whatever the delimiter, and the delimiter), having copied it to
 * w unless w is NULL; else 1, having written no more than n bytes at w.
 * Each load is stored as soon as it is checked: one pass, no call. Loads
 * overlap at the end rather than finish bytewise; no byte outside p[0..n)
 * is read. A field under 16 bytes is checked in one compare of a register
 * filled from two overlapping loads that cover it (short fields are most
 * of a CDR's: dispositions, durations, redactions).
 */
static inline __attribute__((always_inline)) int copy_plain(char *w, const char *p, size_t n,
							       unsigned char d)
{
	size_t i;

#if defined(__SSE2__)
	uint64_t lo, hi;
	uint32_t a, b;

	if (n >= 16) {
		__m128i x;

		for (i = 0;; i += 16) {
			if (i + 16 > n)
				i = n - 16;
			x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
			if (needs_quotes16(x, d))
				return 1;
			if (w)
				_mm_storeu_si128((__m128i *)(void *)(w + i), x);
			if (i + 16 >= n)
				return 0;
		}
	}
	if (n >= 8) {
		memcpy(&lo, p, 8);
		memcpy(&hi, p + n - 8, 8);
		if (needs_quotes16(_mm_set_epi64x((long long)hi, (long long)lo), d))
			return 1;
		if (w) {
			memcpy(w, &lo, 8);
			memcpy(w + n - 8, &hi, 8);
		}
		return 0;
	}
	if (n >= 4) {
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		/* every byte of the register is one of the field's: no padding to match */
		if (needs_quotes16(_mm_set1_epi64x((long long)((uint64_t)b << 32 | a)), d))
			return 1;
		if (w) {
			memcpy(w, &a, 4);
			memcpy(w + n - 4, &b, 4);
		}
		return 0;
	}
	if (n == 0)
		return 0;
	/* the first, middle and last bytes are all of a field of 1 to 3 */
	a = (uint32_t)(unsigned char)p[0] | (uint32_t)(unsigned char)p[n / 2] << 8 |
	    (uint32_t)(unsigned char)p[n - 1] << 16 | (uint32_t)(unsigned char)p[0] << 24;
	if (needs_quotes16(_mm_set1_epi32((int)a), d))
		return 1;
	if (w) {
		w[0] = p[0];
		w[n / 2] = p[n / 2];
		w[n - 1] = p[n - 1];
	}
	return 0;
#else
	uint64_t lo;

	if (n >= 8) {
		for (i = 0;; i += 8) {
			if (i + 8 > n)
				i = n - 8;
			memcpy(&lo, p + i, 8);
			if (has_byte(lo, '"') | has_byte(lo, '\r') | has_byte(lo, '\n') | has_byte(lo, d))
				return 1;
			if (w)
				memcpy(w + i, &lo, 8);
			if (i + 8 >= n)
				return 0;
		}
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '"' || c == '\r' || c == '\n' || c == d)
			return 1;
		if (w)
			w[i] = (char)c;
	}
	return 0;
#endif
}

/*
 * p[0..n) quoted at w, its quotes doubled (room for 2n + 2 bytes); the end
 * of what was written. By 16 bytes while 16 remain: a block is stored
 * whole, then w moves past its bytes up to the first quote, which is
 * doubled (a store at w, having consumed i bytes, ends by 2i + 17, within
 * the room as i + 16 <= n); the last bytes one by one.
 */
static inline __attribute__((always_inline)) char *put_quoted(char *w, const char *p, size_t n)
{
	size_t i = 0;

	*w++ = '"';
#if defined(__SSE2__)
	while (i + 16 <= n) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')));

		_mm_storeu_si128((__m128i *)(void *)w, x);
		if (!m) {
			w += 16;
			i += 16;
			continue;
		}
		m = (unsigned)__builtin_ctz(m) + 1; /* the bytes up to the quote, which w keeps */
		w += m;
		*w++ = '"';
		i += m;
	}
#endif
	for (; i < n; i++) {
		*w++ = p[i];
		if (p[i] == '"')
			*w++ = '"';
	}
	*w++ = '"';
	return w;
}

#ifdef HAVE_AVX2_SCAN
/*
 * The fields v[0..n) at w as cm_csv_put_fields writes them, in AVX-512: a
 * field of up to 64 bytes is one masked load, four compares and one masked
 * store (the masked-off bytes load as zero, which needs no quotes, and are
 * neither read nor written). Only where neither 64 bytes cross a page:
 * masked-off bytes on a page that is not mapped are not touched, but can
 * cost the CPU a slow assist. Longer fields, fields that need quotes and the
 * rest take the SSE2 path, inlined here (put_quoted, copy_plain): a call
 * to SSE code while the 512-bit registers hold the constants paid the
 * SSE/AVX transition each time (Asterisk ran 45% slower).
 */
__attribute__((target("avx512f,avx512bw"))) static char *
put_fields_512(char *w, const struct cm_slice *v, size_t n, char delim)
{
	const __m512i dq = _mm512_set1_epi8('"'), cr = _mm512_set1_epi8('\r'),
		      lf = _mm512_set1_epi8('\n'), dl = _mm512_set1_epi8(delim);
	size_t i;

	for (i = 0; i < n; i++) {
		size_t len = v[i].n;

		if (i)
			*w++ = delim;
		if (len <= 64 && (uintptr_t)v[i].p % 4096 <= 4096 - 64 &&
		    (uintptr_t)w % 4096 <= 4096 - 64) {
			__mmask64 k = len == 64 ? ~(__mmask64)0 : ((__mmask64)1 << len) - 1;
			__m512i x = _mm512_maskz_loadu_epi8(k, v[i].p);

			if (!(_mm512_cmpeq_epi8_mask(x, dq) | _mm512_cmpeq_epi8_mask(x, cr) |
			      _mm512_cmpeq_epi8_mask(x, lf) | _mm512_cmpeq_epi8_mask(x, dl))) {
				_mm512_mask_storeu_epi8(w, k, x);
				w += len;
				continue;
			}
		} else if (!copy_plain(w, v[i].p, len, (unsigned char)delim)) {
			w += len;
			continue;
		}
		w = put_quoted(w, v[i].p, len);
	}
	return w;
}
#endif

void cm_csv_put_fields(struct cm_buf *out, const struct cm_slice *v, size_t n, char delim)
{
	size_t i, need = 1;
	char *w;

	/* Room for the worst case once (every byte a quote, every field quoted),
	 * then no check per field. */
	for (i = 0; i < n; i++)
		need += 2 * v[i].n + 3;
	if (cm_buf_reserve(out, need) != 0) {
		for (i = 0; i < n; i++) {
			if (i)
				cm_buf_addc(out, delim);
			cm_csv_put(out, v[i].p, v[i].n, delim);
		}
		return;
	}
	w = out->p + out->n;
#ifdef HAVE_AVX2_SCAN
	if (cm_cpu_has(CM_CPU_AVX512)) {
		out->n = (size_t)(put_fields_512(w, v, n, delim) - out->p);
		return;
	}
#endif
	for (i = 0; i < n; i++) {
		if (i)
			*w++ = delim;
		if (!copy_plain(w, v[i].p, v[i].n, (unsigned char)delim))
			w += v[i].n;
		else
			w = put_quoted(w, v[i].p, v[i].n); /* within the room reserved */
	}
	out->n = (size_t)(w - out->p);
}

void cm_csv_put(struct cm_buf *out, const char *p, size_t n, char delim)
{
	if (!copy_plain(NULL, p, n, (unsigned char)delim)) {
		cm_buf_add(out, p, n);
		return;
	}
	if (n > (SIZE_MAX - 2) / 2 || cm_buf_reserve(out, 2 * n + 2) != 0) {
		out->oom = 1;
		return;
	}
	out->n = (size_t)(put_quoted(out->p + out->n, p, n) - out->p);
}
