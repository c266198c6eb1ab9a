/*
 * \summary: line formats (Kamailio acc key=value, Kannel access log) and SMS text measures
 *
 * kv follows Kamailio's acc module (src/modules/acc/acc.c, acc_log_request):
 * "<text>: timestamp=<t>;<name>=<value>;...", every value written raw. The
 * caller strips everything up to and including the "ACC: " marker.
 *
 * kannel follows the default access log of Kannel's bearerbox
 * (gw/bb_alog.c, bb_alog_sms): "%s [SMSC:%s] [SVC:%s] [ACT:%s] [BINF:%s]
 * [FID:%s] [META:%s] [from:%s] [to:%s] [flags:%ld:%ld:%ld:%ld:%ld]
 * [msg:%ld:%s] [udh:%ld:%s]" after the "YYYY-MM-DD HH:MM:SS " prefix of
 * gwlib/accesslog.c. Only the msg text carries its length; every other
 * value is written raw, so a sender ID can hold "] [".
 *
 * cm_sms_measure follows 3GPP TS 23.038 section 6.2.1 (the GSM 7 bit
 * default alphabet, 6.2.1.1 its extension table) and TS 23.040 9.2.3.24.1
 * (a concatenated message's UDH takes 6 octets: 153 septets or 67 UCS-2
 * units remain).
 *
 * The input is arbitrary bytes. Every read is bounded by the line's length;
 * the values handed out are slices of the line; nothing is allocated once
 * the decoder is initialized.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "cdrmin/linefmt.h"

/* Kannel field names are short; a longer one is looked up the slow way. */
#define NAME_BUF 64

/* ---- name -> schema index ---- */

/* The table's hash of name[0..n); name may be NULL when n is 0. */
static size_t name_hash(const char *name, size_t n)
{
	return (size_t)XXH3_64bits(n ? name : "", n);
}

/* 1 when the C string cand is exactly name[0..n). Never reads cand past its NUL. */
static int name_eq(const char *cand, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cand[i] == '\0' || cand[i] != name[i])
			return 0;
	return cand[n] == '\0';
}

/* c lower-cased when it is an ASCII capital: no locale. */
static unsigned char ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* As name_eq, with name's ASCII letters lower-cased first. */
static int name_eq_lower(const char *cand, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cand[i] == '\0' || (unsigned char)cand[i] != ascii_lower((unsigned char)name[i]))
			return 0;
	return cand[n] == '\0';
}

int cm_fieldmap_init(struct cm_fieldmap *m, const struct cm_schema *schema)
{
	size_t cap = 8, i, h;

	memset(m, 0, sizeof *m);
	/* At most half full, so that a probe for a missing name ends soon. */
	while (cap / 2 < schema->n) {
		if (cap > SIZE_MAX / 2 / sizeof *m->slot)
			return -1;
		cap *= 2;
	}
	m->slot = calloc(cap, sizeof *m->slot);
	if (!m->slot)
		return -1;
	m->mask = cap - 1;
	m->schema = schema;
	for (i = 0; i < schema->n; i++) {
		const char *name = schema->names[i];

		for (h = name_hash(name, strlen(name)) & m->mask; m->slot[h]; h = (h + 1) & m->mask)
			if (strcmp(schema->names[m->slot[h] - 1], name) == 0)
				break; /* a name given twice: its first index wins */
		if (!m->slot[h])
			m->slot[h] = i + 1;
	}
	return 0;
}

void cm_fieldmap_deinit(struct cm_fieldmap *m)
{
	free(m->slot);
	m->slot = NULL;
	m->mask = 0;
	m->schema = NULL;
}

long cm_fieldmap_find(const struct cm_fieldmap *m, const char *name, size_t n)
{
	size_t h, s;

	if (!m->slot)
		return -1;
	for (h = name_hash(name, n) & m->mask; (s = m->slot[h]) != 0; h = (h + 1) & m->mask)
		if (name_eq(m->schema->names[s - 1], name, n))
			return (long)(s - 1);
	return -1;
}

/*
 * The schema index of name[0..n) lower-cased (ASCII), or -1. Lower-cases
 * into a small stack buffer; a longer name (never one Kannel writes) is
 * compared with each schema name in turn.
 */
static long find_lower(const struct cm_fieldmap *m, const char *name, size_t n)
{
	char buf[NAME_BUF];
	size_t i;

	if (n <= sizeof buf) {
		for (i = 0; i < n; i++)
			buf[i] = (char)ascii_lower((unsigned char)name[i]);
		return cm_fieldmap_find(m, buf, n);
	}
	for (i = 0; i < m->schema->n; i++)
		if (name_eq_lower(m->schema->names[i], name, n))
			return (long)i;
	return -1;
}

/* ---- the decoder ---- */

int cm_linedec_init(struct cm_linedec *d, enum cm_linefmt fmt, const struct cm_schema *schema,
		    char pair_sep)
{
	size_t k = schema->n ? schema->n : 1;
	int rc = -1;

	memset(d, 0, sizeof *d);
	d->fmt = fmt;
	d->pair_sep = pair_sep;
	d->n = schema->n;
	if (cm_fieldmap_init(&d->map, schema) != 0)
		goto out;
	cm_buf_init(&d->text);
	d->f = calloc(k, sizeof *d->f);
	d->seen = calloc(k, 1);
	if (!d->f || !d->seen)
		goto out;
	rc = 0;
out:
	if (rc != 0)
		cm_linedec_deinit(d);
	return rc;
}

void cm_linedec_deinit(struct cm_linedec *d)
{
	cm_fieldmap_deinit(&d->map);
	cm_buf_deinit(&d->text);
	free(d->f);
	free(d->seen);
	d->f = NULL;
	d->seen = NULL;
	d->n = 0;
}

/* Fills *fault; returns 0, what a decoder returns for a rejected line. */
static int reject(struct cm_line_fault *fault, enum cm_reject reason, size_t at, long field)
{
	fault->reason = reason;
	fault->at = at;
	fault->field = field;
	return 0;
}

/*
 * Gives field idx the value p[0..len); nothing when idx < 0 (a name the
 * schema lacks). Returns 1, or 0 with a duplicate fault at byte at when
 * the field has a value already (an empty one counts).
 */
static int put(struct cm_linedec *d, long idx, const char *p, size_t len, size_t at,
	       struct cm_line_fault *fault)
{
	if (idx < 0)
		return 1;
	if (d->seen[idx])
		return reject(fault, CM_REJ_DUPLICATE, at, idx);
	d->seen[idx] = 1;
	d->f[idx].p = p;
	d->f[idx].n = len;
	return 1;
}

/* The schema index of the C string lit (a name the format itself gives: "event", "time"), or -1. */
static long find_lit(const struct cm_linedec *d, const char *lit)
{
	return cm_fieldmap_find(&d->map, lit, strlen(lit));
}

/*
 * kv. Kamailio writes every value raw, so a From user "x;src_ip=192.0.2.9"
 * reads as a pair of its own. Its name is in the schema (else it is
 * skipped and harmless), and the real pair names it too: the line is then
 * a duplicate and rejected, never decoded with the forged value in place
 * of the real one, whichever comes first. A forged pair without '=' is a
 * syntax reject. (A name the schema holds but the real line never gives,
 * a log_extra that is not configured, can be forged unnoticed: the rules
 * should name only what acc writes.)
 */
static int kv_decode(struct cm_linedec *d, const char *line, size_t n, struct cm_line_fault *fault)
{
	const char *end = line + n, *p = line, *eq, *c, *sep, *pe, *e;
	size_t before;

	if (n == 0)
		return reject(fault, CM_REJ_SYNTAX, 0, -1);
	/* The event: the text before the first ": " that precedes any '='. */
	eq = memchr(line, '=', n);
	before = eq ? (size_t)(eq - line) : n;
	for (c = line; (c = memchr(c, ':', before - (size_t)(c - line))) != NULL; c++) {
		if ((size_t)(c - line) + 1 < before && c[1] == ' ') {
			if (!put(d, find_lit(d, "event"), line, (size_t)(c - line), 0, fault))
				return 0;
			p = c + 2;
			break;
		}
	}
	while (p < end) {
		sep = memchr(p, d->pair_sep, (size_t)(end - p));
		pe = sep ? sep : end;
		if (pe != p) {
			e = memchr(p, '=', (size_t)(pe - p));
			if (!e || e == p)
				return reject(fault, CM_REJ_SYNTAX, (size_t)(p - line), -1);
			if (!put(d, cm_fieldmap_find(&d->map, p, (size_t)(e - p)), e + 1,
				 (size_t)(pe - e - 1), (size_t)(p - line), fault))
				return 0;
		}
		if (!sep)
			break;
		p = sep + 1;
	}
	return 1;
}

/* 1 when the ']' at q ends a Kannel value: the line ends after it, or " [" follows. */
static int closes(const char *q, const char *end)
{
	return q + 1 == end || (end - q >= 3 && q[1] == ' ' && q[2] == '[');
}

/* The first ']' at or after v that closes a value, or NULL. */
static const char *close_at(const char *v, const char *end)
{
	const char *q;

	while (v < end && (q = memchr(v, ']', (size_t)(end - v))) != NULL) {
		if (closes(q, end))
			return q;
		v = q + 1;
	}
	return NULL;
}

/* What the msg fallback needs of a Kannel line, found once per line. */
struct tail {
	int known;
	const char *udh;  /* the ']' of the line's last "] [udh:", or NULL */
	const char *last; /* the line's last ']', or NULL */
};

/* Fills *t for the line line[0..end): one backward scan. */
static void tail_find(struct tail *t, const char *line, const char *end)
{
	static const char pat[] = "] [udh:";
	const char *q;
	size_t lim = (size_t)(end - line);

	t->known = 1;
	t->udh = NULL;
	t->last = lim ? memrchr(line, ']', lim) : NULL;
	for (q = t->last; q; q = lim ? memrchr(line, ']', lim) : NULL) {
		if ((size_t)(end - q) >= sizeof pat - 1 && memcmp(q, pat, sizeof pat - 1) == 0) {
			t->udh = q;
			break;
		}
		lim = (size_t)(q - line);
	}
}

/*
 * The msg value at v: "LEN:TEXT". Sets *text and returns the ']' that
 * ends it, or NULL when none does. A LEN that is larger than what is left
 * of the line, or that does not land on a closing ']' (Kannel's hex of a
 * UCS-2 or 8-bit message is 2 x LEN bytes), makes TEXT run to the last
 * "] [udh:" (or the last ']'), so that a text holding "] [to:..." cannot
 * end the field early when a real udh follows. Without "LEN:" (decimal
 * digits, then ':') TEXT is the whole value, ended the same way.
 */
static const char *msg_value(const char *v, const char *line, const char *end, struct tail *t,
			     struct cm_slice *text)
{
	const char *s = v, *t0 = v, *q;
	size_t len = 0;

	while (s < end && *s >= '0' && *s <= '9') {
		if (len <= (SIZE_MAX - 9) / 10) /* saturates: a huge LEN never fits */
			len = len * 10 + (size_t)(*s - '0');
		else
			len = SIZE_MAX;
		s++;
	}
	if (s > v && s < end && *s == ':') {
		t0 = ++s;
		if (len < (size_t)(end - s) && s[len] == ']' && closes(s + len, end)) {
			text->p = s;
			text->n = len;
			return s + len;
		}
	}
	if (!t->known)
		tail_find(t, line, end);
	if (t->udh && t->udh >= t0)
		q = t->udh;
	else if (t->last && t->last >= t0 && closes(t->last, end))
		q = t->last;
	else
		return NULL;
	text->p = t0;
	text->n = (size_t)(q - t0);
	return q;
}

/* 1 for an ASCII digit: no locale. */
static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * kannel. A value written raw (a sender ID, META) that holds "] [to:..."
 * forges a field; the real one is there too, so the line is a duplicate.
 */
static int kannel_decode(struct cm_linedec *d, const char *line, size_t n,
			 struct cm_line_fault *fault)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd ";
	const char *end = line + n, *p, *name, *colon, *s, *q;
	struct tail t = {0, NULL, NULL};
	struct cm_slice v;
	size_t i;
	int is_msg;

	for (i = 0; i < sizeof shape - 1; i++) {
		if (i >= n)
			return reject(fault, CM_REJ_SYNTAX, n, -1);
		if (shape[i] == 'd' ? !is_digit(line[i]) : line[i] != shape[i])
			return reject(fault, CM_REJ_SYNTAX, i, -1);
	}
	put(d, find_lit(d, "time"), line, 19, 0, fault);
	/* The event: up to the first " [", which may start with the time's
	 * space (an empty event). q is the '[' of the first field. */
	p = line + 20;
	for (q = p; (q = memchr(q, '[', (size_t)(end - q))) != NULL; q++)
		if (q[-1] == ' ')
			break;
	s = !q ? end : q - 1 > p ? q - 1 : p;
	put(d, find_lit(d, "event"), p, (size_t)(s - p), 20, fault);
	if (!q)
		return 1;
	for (p = q;;) {
		/* p is at a field's '[' */
		name = p + 1;
		colon = memchr(name, ':', (size_t)(end - name));
		if (!colon || colon == name)
			return reject(fault, CM_REJ_SYNTAX, (size_t)(p - line), -1);
		for (s = name; s < colon; s++)
			if (*s == ' ' || *s == '[' || *s == ']')
				return reject(fault, CM_REJ_SYNTAX, (size_t)(p - line), -1);
		/* The msg rule applies whether or not the schema names msg: the
		 * fields after it must split the same either way. */
		if (colon - name == 3 && ascii_lower((unsigned char)name[0]) == 'm' &&
		    ascii_lower((unsigned char)name[1]) == 's' &&
		    ascii_lower((unsigned char)name[2]) == 'g') {
			q = msg_value(colon + 1, line, end, &t, &v);
			is_msg = 1;
		} else {
			is_msg = 0;
			q = close_at(colon + 1, end);
			v.p = colon + 1;
			v.n = q ? (size_t)(q - v.p) : 0;
		}
		if (!q)
			return reject(fault, CM_REJ_SYNTAX, (size_t)(p - line), -1);
		{
			long idx = find_lower(&d->map, name, (size_t)(colon - name));

			if (!put(d, idx, v.p, v.n, (size_t)(p - line), fault))
				return 0;
			if (is_msg) {
				d->kmsg = v;
				d->kmsg_idx = idx;
			}
			else if (colon - name == 5 && ascii_lower((unsigned char)name[0]) == 'f' &&
				 ascii_lower((unsigned char)name[1]) == 'l' &&
				 ascii_lower((unsigned char)name[2]) == 'a' &&
				 ascii_lower((unsigned char)name[3]) == 'g' &&
				 ascii_lower((unsigned char)name[4]) == 's')
				d->kflags = v;
		}
		if (q + 1 == end)
			return 1;
		p = q + 2; /* closes() saw " [" */
	}
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The 16-bit unit of 4 hex digits at h, or -1. */
static long hex_unit(const char *h)
{
	long u = 0;
	int i, x;

	for (i = 0; i < 4; i++) {
		if ((x = hex_nibble(h[i])) < 0)
			return -1;
		u = u << 4 | x;
	}
	return u;
}

static void put_utf8(struct cm_buf *b, uint32_t cp)
{
	char o[4];

	if (cp < 0x80) {
		cm_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		cm_buf_add(b, o, 2);
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		cm_buf_add(b, o, 3);
	} else {
		o[0] = (char)(0xf0 | cp >> 18);
		o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		cm_buf_add(b, o, 4);
	}
}

/* 1 when the second number of Kannel's flags (mclass:coding:...) is 2, UCS-2. */
static int coding_ucs2(struct cm_slice f)
{
	const char *c = f.n ? memchr(f.p, ':', f.n) : NULL;
	size_t rest;

	if (!c)
		return 0;
	rest = f.n - (size_t)(c + 1 - f.p);
	return rest >= 1 && c[1] == '2' && (rest == 1 || c[2] == ':');
}

/*
 * A UCS-2 message's hex decoded to UTF-8 in d->text (see linefmt.h).
 * Returns 0, or -1 when the hex is not whole 16-bit units (kept as written)
 * or memory is short.
 */
static int ucs2_text(struct cm_linedec *d, struct cm_slice h)
{
	size_t i;

	cm_buf_reset(&d->text);
	if (h.n % 4)
		return -1;
	for (i = 0; i < h.n; i += 4) {
		long u = hex_unit(h.p + i), lo;

		if (u < 0)
			return -1;
		if (u >= 0xd800 && u <= 0xdbff && i + 8 <= h.n && (lo = hex_unit(h.p + i + 4)) >= 0xdc00 &&
		    lo <= 0xdfff) {
			put_utf8(&d->text, 0x10000 + (((uint32_t)u - 0xd800) << 10) + ((uint32_t)lo - 0xdc00));
			i += 4;
		} else if (u >= 0xd800 && u <= 0xdfff) {
			put_utf8(&d->text, 0xfffd);
		} else {
			put_utf8(&d->text, (uint32_t)u);
		}
	}
	return d->text.oom ? -1 : 0;
}

int cm_linedec_decode(struct cm_linedec *d, const char *line, size_t n, struct cm_record *rec,
		      struct cm_line_fault *fault)
{
	size_t i;
	int ok;

	for (i = 0; i < d->n; i++) {
		d->f[i].p = line;
		d->f[i].n = 0;
	}
	if (d->n)
		memset(d->seen, 0, d->n);
	d->kflags.n = d->kmsg.n = 0;
	d->kmsg_idx = -1;
	ok = d->fmt == CM_LINE_KV ? kv_decode(d, line, n, fault) : kannel_decode(d, line, n, fault);
	if (!ok)
		return 0;
	if (d->fmt == CM_LINE_KANNEL && d->kmsg_idx >= 0 && coding_ucs2(d->kflags) &&
	    ucs2_text(d, d->kmsg) == 0) {
		d->f[d->kmsg_idx].p = d->text.p;
		d->f[d->kmsg_idx].n = d->text.n;
	}
	rec->f = d->f;
	rec->n = d->n;
	rec->type = NULL;
	rec->raw = NULL;
	return 1;
}

/* ---- SMS text measures ---- */

/*
 * Each ASCII character in GSM 7 bit (TS 23.038 6.2.1), as a digit: 1 in
 * the default alphabet ('@' is its 0x00, '$' 0x02, '_' 0x11, LF, CR, space
 * to '~' where ASCII has them), 2 in the extension table (form feed,
 * [ \ ] ^ { | } ~), NOT_GSM for the rest (controls, '`', DEL). As bits,
 * or-ed over a text they say which kinds it holds; & 3 is the septets.
 */
#define NOT_GSM 4
static const char ascii_septets[] = "4444444444142144" /* 0x00: LF, FF, CR */
				    "4444444444444444" /* 0x10 */
				    "1111111111111111" /* 0x20: space to '/' */
				    "1111111111111111" /* 0x30: '0' to '?' */
				    "1111111111111111" /* 0x40: '@' to 'O' */
				    "1111111111122221" /* 0x50: [ \ ] ^ */
				    "4111111111111111" /* 0x60: '`' */
				    "1111111111122224"; /* 0x70: { | } ~, DEL */
_Static_assert(sizeof ascii_septets == 128 + 1, "one digit per ASCII character");

/*
 * Septets that code point cp >= 0x80 takes in GSM 7 bit: 1 in the default
 * alphabet, 2 in the extension table (escape 0x1B, then its code),
 * NOT_GSM when it has none. Only the characters of the tables: no
 * look-alike folding (c-cedilla is not C-cedilla).
 */
static unsigned gsm_septets(uint32_t cp)
{
	switch (cp) {
	case 0xa3: case 0xa5: case 0xe8: case 0xe9: case 0xf9: case 0xec: case 0xf2: case 0xc7:
	case 0xd8: case 0xf8: case 0xc5: case 0xe5: /* 0x01-0x0F */
	case 0x394: case 0x3a6: case 0x393: case 0x39b: case 0x3a9: case 0x3a0: case 0x3a8:
	case 0x3a3: case 0x398: case 0x39e: /* Greek capitals, 0x10, 0x12-0x1A */
	case 0xc6: case 0xe6: case 0xdf: case 0xc9: /* 0x1C-0x1F */
	case 0xa4: /* currency sign, 0x24 */
	case 0xa1: case 0xc4: case 0xd6: case 0xd1: case 0xdc: case 0xa7: /* 0x40, 0x5B-0x5F */
	case 0xbf: case 0xe4: case 0xf6: case 0xf1: case 0xfc: case 0xe0: /* 0x60, 0x7B-0x7F */
		return 1;
	case 0x20ac: /* euro sign, extension 0x65 */
		return 2;
	default:
		return NOT_GSM;
	}
}

/*
 * Decodes the UTF-8 sequence at s[0..n) (n >= 1) into *cp. Returns its
 * length, or 0 when it is malformed (RFC 3629 section 4).
 */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char b = s[0], lo = 0x80, hi = 0xbf;
	size_t len, i;
	uint32_t c;

	if (b < 0x80) {
		*cp = b;
		return 1;
	}
	if (b >= 0xc2 && b <= 0xdf) {
		len = 2;
		c = b & 0x1f;
	} else if (b >= 0xe0 && b <= 0xef) {
		len = 3;
		c = b & 0x0f;
		if (b == 0xe0)
			lo = 0xa0; /* overlong */
		else if (b == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (b >= 0xf0 && b <= 0xf4) {
		len = 4;
		c = b & 0x07;
		if (b == 0xf0)
			lo = 0x90; /* overlong */
		else if (b == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if (s[i] < lo || s[i] > hi)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = c;
	return len;
}

/* The septets (GSM-7) or UTF-16 units (UCS-2) code point cp takes. */
static unsigned cost(uint32_t cp, int ucs2)
{
	if (ucs2)
		return cp > 0xffff ? 2 : 1;
	return (cp < 0x80 ? (unsigned)(ascii_septets[cp] - '0') : gsm_septets(cp)) & 3;
}

/*
 * The segments of the valid UTF-8 text u[0..n) as a multi-part message,
 * filled in order, a character that does not fit the segment's room
 * starting the next one: an escape pair or a surrogate pair is never split.
 */
static size_t greedy_segments(const unsigned char *u, size_t n, int ucs2)
{
	size_t i = 0, k, seg = 0, cur = 0, room = ucs2 ? 67 : 153;
	unsigned c;
	uint32_t cp;

	while (i < n) {
		if (u[i] < 0x80) {
			cp = u[i++];
		} else {
			k = utf8_next(u + i, n - i, &cp);
			if (k == 0)
				break; /* not reached: the caller checked the text */
			i += k;
		}
		c = cost(cp, ucs2);
		if (seg == 0 || cur + c > room) {
			seg++;
			cur = 0;
		}
		cur += c;
	}
	return seg;
}

/*
 * A first pass counts characters, septets and units; only a multi-part
 * text holding an escape pair (GSM-7) or a surrogate pair (UCS-2) needs
 * the second, greedy one: without, the segments are full but the last.
 */
int cm_sms_measure(const char *s, size_t n, size_t *chars, size_t *segments, int *ucs2)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k, nch = 0, sept = 0, units = 0, seg;
	unsigned c7, kinds = 0, pairs = 0;
	uint32_t cp;

	if (chars)
		*chars = 0;
	if (segments)
		*segments = 0;
	if (ucs2)
		*ucs2 = 0;
	while (i < n) {
		if (u[i] < 0x80) {
			c7 = (unsigned)(ascii_septets[u[i]] - '0');
			i++;
			units++;
		} else {
			k = utf8_next(u + i, n - i, &cp);
			if (k == 0)
				return -1;
			i += k;
			c7 = kinds & NOT_GSM ? NOT_GSM : gsm_septets(cp);
			units += cp > 0xffff ? 2 : 1;
			pairs |= cp > 0xffff;
		}
		nch++;
		sept += c7 & 3;
		kinds |= c7;
	}
	if (nch == 0)
		seg = 0;
	else if (!(kinds & NOT_GSM))
		seg = sept <= 160 ? 1 : !(kinds & 2) ? (sept + 152) / 153 : greedy_segments(u, n, 0);
	else
		seg = units <= 70 ? 1 : !pairs ? (units + 66) / 67 : greedy_segments(u, n, 1);
	if (chars)
		*chars = nch;
	if (segments)
		*segments = seg;
	if (ucs2)
		*ucs2 = (kinds & NOT_GSM) != 0;
	return 0;
}
