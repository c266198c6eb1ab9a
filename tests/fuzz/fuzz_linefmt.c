/*
 * \summary: libFuzzer target for the line decoders and the SMS text measures (linefmt.h).
 *
 * The first byte picks the format (bit 0: kv or kannel) and the kv pair
 * separator (bits 1 to 3); the rest is one line, copied to a buffer of
 * exactly its length (an over-read on either side is an ASan finding) and
 * decoded against a fixed schema shaped like rules/kamailio-acc.rules or
 * a Kannel policy. Checked, else abort:
 *
 *   - a record has one value per schema name, each a slice of the line,
 *     empty when the line does not give it, no two overlapping; kannel's
 *     time is the line's first 19 bytes;
 *   - a reject is syntax or duplicate, at a byte <= n, naming a schema
 *     index exactly when it is a duplicate;
 *   - duplicates are rejected: for every field a record gives, the same
 *     line with a second pair (kv, appended) or bracket (kannel, inserted
 *     before the first field) of that name is a duplicate of that field;
 *   - decoding twice gives the same answer.
 *
 * The same bytes (the selector byte excluded) also go to cm_sms_measure:
 * -1 exactly when they are not UTF-8 (checked by an independent decoder);
 * else chars is the number of UTF-8 lead bytes, segments 0 exactly for
 * empty text, and the segment count agrees with the characters' bounds of
 * 1 or 2 septets (GSM-7) or 1 or 2 units (UCS-2) each; an ASCII character
 * outside GSM 7 bit (a tab, '`', DEL, ...) makes the text UCS-2; a
 * prefix never takes more segments in the same encoding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/linefmt.h"
#include "cdrmin/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kv_names[] = {"event",   "timestamp", "method",   "from_tag",
				       "to_tag",  "call_id",   "code",     "reason",
				       "src_user", "src_ip",   "dst_user", "dst_domain"};
static const char *const kannel_names[] = {"time", "event", "smsc",  "svc", "meta",
					   "from", "to",    "flags", "msg", "udh"};
static const char seps[8] = {';', ',', '|', ' ', ':', '\t', '&', '\0'};

/* Built on the first input and kept: the decoders allocate only then. */
static struct {
	int ready;
	struct cm_schema kv_s, kannel_s;
	struct cm_linedec kv[8], kannel;
	char *scratch; /* for the duplicate probes */
	size_t cap;
} g;

static void setup(void)
{
	size_t i;

	cm_schema_init(&g.kv_s);
	cm_schema_init(&g.kannel_s);
	for (i = 0; i < sizeof kv_names / sizeof *kv_names; i++)
		if (cm_schema_add(&g.kv_s, kv_names[i], strlen(kv_names[i])) != 0)
			abort();
	for (i = 0; i < sizeof kannel_names / sizeof *kannel_names; i++)
		if (cm_schema_add(&g.kannel_s, kannel_names[i], strlen(kannel_names[i])) != 0)
			abort();
	for (i = 0; i < 8; i++)
		if (cm_linedec_init(&g.kv[i], CM_LINE_KV, &g.kv_s, seps[i]) != 0)
			abort();
	if (cm_linedec_init(&g.kannel, CM_LINE_KANNEL, &g.kannel_s, ';') != 0)
		abort();
	g.ready = 1;
}

/* A buffer of exactly n bytes (at least 1) in g.scratch's place. */
static char *scratch(size_t n)
{
	free(g.scratch);
	g.scratch = malloc(n ? n : 1);
	if (!g.scratch)
		abort();
	return g.scratch;
}

/* Checks a decode's result; returns ok. */
static int check(const struct cm_linedec *d, const struct cm_schema *s, int ok, const char *line,
		 size_t n, const struct cm_record *rec, const struct cm_line_fault *fault)
{
	uintptr_t lo = (uintptr_t)line, hi = lo + n, pi, pj;
	size_t i, j;

	if (ok == 0) {
		if (fault->at > n)
			abort();
		if (fault->reason == CM_REJ_DUPLICATE) {
			if (fault->field < 0 || (size_t)fault->field >= s->n)
				abort();
		} else if (fault->reason != CM_REJ_SYNTAX || fault->field != -1) {
			abort();
		}
		return 0;
	}
	if (ok != 1 || rec->n != s->n || rec->f != d->f || rec->type || rec->raw)
		abort();
	for (i = 0; i < rec->n; i++) {
		uintptr_t tlo = (uintptr_t)d->text.p, thi = tlo + d->text.n;

		pi = (uintptr_t)rec->f[i].p;
		/* a slice of the line, or of the decoder's text (a Kannel UCS-2 message decoded) */
		if (rec->f[i].n && (pi < lo || pi > hi || rec->f[i].n > hi - pi) &&
		    (!d->text.p || pi < tlo || pi > thi || rec->f[i].n > thi - pi))
			abort(); /* not a slice of the line */
		if (!d->seen[i] && rec->f[i].n)
			abort(); /* absent yet not empty */
		for (j = 0; j < i && rec->f[i].n; j++) {
			pj = (uintptr_t)rec->f[j].p;
			if (rec->f[j].n && pi < pj + rec->f[j].n && pj < pi + rec->f[i].n)
				abort(); /* two fields share bytes */
		}
	}
	return 1;
}

/* 1 when a second decode (ok2, r2, f2) gave what the first did (ok1, its values v1, f1). */
static int same(int ok1, const struct cm_slice *v1, const struct cm_line_fault *f1, int ok2,
		const struct cm_record *r2, const struct cm_line_fault *f2)
{
	size_t i;

	if (ok1 != ok2)
		return 0;
	if (!ok1)
		return f1->reason == f2->reason && f1->at == f2->at && f1->field == f2->field;
	for (i = 0; i < r2->n; i++)
		if (v1[i].p != r2->f[i].p || v1[i].n != r2->f[i].n)
			return 0;
	return 1;
}

/* The byte where the first " [" starts, at or after the time's space; n when none. */
static size_t first_field(const char *line, size_t n)
{
	size_t i;

	for (i = 19; i + 1 < n; i++)
		if (line[i] == ' ' && line[i + 1] == '[')
			return i;
	return n;
}

/* A second pair or bracket naming each field the record gives must be a duplicate of it. */
static void probe_duplicates(struct cm_linedec *d, const struct cm_schema *s, int kv,
			     const char *line, size_t n)
{
	struct cm_record rec;
	struct cm_line_fault fault;
	size_t i, j, k, at, m;
	char *p;
	int ok;

	for (i = 0; i < s->n; i++) {
		if (!d->seen[i])
			continue;
		k = strlen(s->names[i]);
		if (kv) {
			/* line SEP name=x */
			m = n + 1 + k + 2;
			p = scratch(m);
			memcpy(p, line, n);
			p[n] = d->pair_sep;
			memcpy(p + n + 1, s->names[i], k);
			memcpy(p + n + 1 + k, "=x", 2);
			at = n + 1;
		} else {
			/* The msg rule would let a forged msg swallow the rest. */
			if (strcmp(s->names[i], "msg") == 0)
				continue;
			/* line[0..j) " [name:x]" line[j..n) */
			j = first_field(line, n);
			m = n + 2 + k + 3;
			p = scratch(m);
			memcpy(p, line, j);
			memcpy(p + j, " [", 2);
			memcpy(p + j + 2, s->names[i], k);
			memcpy(p + j + 2 + k, ":x]", 3);
			memcpy(p + j + 2 + k + 3, line + j, n - j);
			at = (size_t)-1; /* the real field or the forged one, whichever is second */
		}
		ok = cm_linedec_decode(d, p, m, &rec, &fault);
		check(d, s, ok, p, m, &rec, &fault);
		if (ok || fault.reason != CM_REJ_DUPLICATE || fault.field != (long)i)
			abort(); /* a repeated field got through */
		if (at != (size_t)-1 && fault.at != at)
			abort();
	}
}

static void decode_line(const uint8_t *data, size_t size)
{
	int kv = !(data[0] & 1);
	struct cm_linedec *d = kv ? &g.kv[(data[0] >> 1) & 7] : &g.kannel;
	const struct cm_schema *s = kv ? &g.kv_s : &g.kannel_s;
	size_t n = size - 1;
	char *line = malloc(n ? n : 1); /* exactly n bytes */
	struct cm_slice v1[16];
	struct cm_record rec, rec2;
	struct cm_line_fault fault, fault2;
	size_t i;
	int ok, ok2;

	if (!line || s->n > sizeof v1 / sizeof *v1)
		abort();
	if (n)
		memcpy(line, data + 1, n);
	ok = cm_linedec_decode(d, line, n, &rec, &fault);
	if (check(d, s, ok, line, n, &rec, &fault)) {
		for (i = 0; i < rec.n; i++)
			v1[i] = rec.f[i];
		if (!kv && (rec.f[0].p != line || rec.f[0].n != 19 || rec.f[1].p != line + 20))
			abort(); /* time and event where the format puts them */
	}
	ok2 = cm_linedec_decode(d, line, n, &rec2, &fault2);
	check(d, s, ok2, line, n, &rec2, &fault2);
	if (!same(ok, v1, &fault, ok2, &rec2, &fault2))
		abort(); /* not deterministic */
	if (ok)
		probe_duplicates(d, s, kv, line, n);
	free(line);
}

/* 1 when s[0..n) is UTF-8 (RFC 3629), by the table of section 4; *lead counts characters. */
static int utf8_ok(const uint8_t *s, size_t n, size_t *lead)
{
	size_t i = 0, k, j;
	uint8_t lo, hi;

	*lead = 0;
	while (i < n) {
		uint8_t b = s[i];

		lo = 0x80;
		hi = 0xbf;
		if (b <= 0x7f)
			k = 0;
		else if (b >= 0xc2 && b <= 0xdf)
			k = 1;
		else if (b == 0xe0)
			k = 2, lo = 0xa0;
		else if (b == 0xed)
			k = 2, hi = 0x9f;
		else if (b >= 0xe1 && b <= 0xef)
			k = 2;
		else if (b == 0xf0)
			k = 3, lo = 0x90;
		else if (b == 0xf4)
			k = 3, hi = 0x8f;
		else if (b >= 0xf1 && b <= 0xf3)
			k = 3;
		else
			return 0;
		if (n - i - 1 < k)
			return 0;
		for (j = 1; j <= k; j++) {
			if (s[i + j] < lo || s[i + j] > hi)
				return 0;
			lo = 0x80;
			hi = 0xbf;
		}
		i += k + 1;
		++*lead;
	}
	return 1;
}

/* Measures s[0..n) and checks the result against the bounds; returns what cm_sms_measure did. */
static int measure(const uint8_t *s, size_t n, size_t *chars, size_t *segs, int *ucs2)
{
	size_t lead, c, g_, per, first;
	int rc = cm_sms_measure((const char *)s, n, chars, segs, ucs2);

	if (rc != (utf8_ok(s, n, &lead) ? 0 : -1))
		abort();
	if (rc != 0) {
		if (*chars || *segs || *ucs2)
			abort();
		return rc;
	}
	c = *chars;
	g_ = *segs;
	if (c != lead || (*ucs2 != 0 && *ucs2 != 1) || (c == 0) != (g_ == 0) || (c == 0 && *ucs2))
		abort();
	if (c == 0)
		return rc;
	/* per segment: at most per, at least per - 1 when another follows; one alone holds first */
	per = *ucs2 ? 67 : 153;
	first = *ucs2 ? 70 : 160;
	/* c to 2c septets (units); a segment that another follows holds
	 * per - 1 at least (only a pair can fail to fit its last place) */
	if (g_ == 1) {
		if (c > first)
			abort();
	} else if (2 * c <= first || c > g_ * per || 2 * c <= (g_ - 1) * (per - 1)) {
		abort();
	}
	return rc;
}

static void measure_text(const uint8_t *s, size_t n)
{
	size_t chars, segs, pchars, psegs, i, cut;
	int ucs2, pucs2, odd = 0;
	uint8_t *copy = malloc(n ? n : 1); /* exactly n bytes */

	if (!copy)
		abort();
	if (n)
		memcpy(copy, s, n);
	if (cm_sms_measure((const char *)copy, n, NULL, NULL, NULL) !=
	    measure(copy, n, &chars, &segs, &ucs2))
		abort();
	if (measure(copy, n, &chars, &segs, &ucs2) == 0) {
		for (i = 0; i < n; i++)
			if (copy[i] < 0x80 && ((copy[i] < 0x20 && copy[i] != '\n' && copy[i] != '\r' &&
						copy[i] != '\f') ||
					       copy[i] == '`' || copy[i] == 0x7f))
				odd = 1;
		if (odd && !ucs2)
			abort(); /* a character GSM 7 bit lacks, taken as GSM */
		/* a prefix, cut at a character's start */
		for (cut = n / 2; cut > 0 && (copy[cut] & 0xc0) == 0x80; cut--)
			;
		if (measure(copy, cut, &pchars, &psegs, &pucs2) != 0)
			abort();
		if (pchars > chars || (pucs2 == ucs2 && psegs > segs))
			abort();
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!g.ready)
		setup();
	if (size == 0)
		return 0;
	decode_line(data, size);
	measure_text(data + 1, size - 1);
	return 0;
}
