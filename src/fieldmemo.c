/*
 * \summary: a memo of whole field outputs (see fieldmemo.h)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cdrmin/fieldmemo.h"
#include "cdrmin/phone.h"
#include "cdrmin/secmem.h"

/* Longer values, outputs or lookup logs are computed every time. */
#define FM_V_MAX 80
#define FM_OUT_MAX 144
#define FM_PROBE_MAX 32

/* fm_slot flags */
#define FM_ROW 1   /* the record had protected numbers */
#define FM_HOT 2   /* found again since it was made or last aged */
#define FM_TPL 4   /* a scrub template */
#define FM_XPLUS 8 /* a template's number has a '+' */

struct fm_slot {
	uint64_t tag; /* XXH3 of the value under (action, epoch); 0: empty */
	const struct cm_action *a;
	uint64_t epoch;
	uint8_t vn, on, pn;
	uint8_t flags; /* FM_ROW, FM_HOT, FM_TPL, FM_XPLUS */
	int8_t rc;     /* cm_action_apply's answer: 0, or 1 (the value was rejected) */
	/*
	 * A scrub template (FM_TPL, see tpl_number): the value and the output
	 * are held without the number, which was xn bytes at xo in the value
	 * (after a '+' with FM_XPLUS) and whose token goes at so in the output.
	 */
	uint8_t xo, xn, so;
	/*
	 * The value, the lookup log and the output, back to back from the
	 * slot's first cache line on (a number's entry fits in two lines), and
	 * zero past them.
	 */
	unsigned char d[FM_V_MAX + FM_PROBE_MAX + FM_OUT_MAX];
};
_Static_assert(sizeof(struct fm_slot) == 288, "a slot is 4.5 cache lines");

/* Bits of each admission bitmap per slot (see admit). */
#define FM_SEEN_BITS_PER_SLOT 8

struct cm_field_memo {
	struct fm_slot *slot;
	size_t mask, bytes;
	uint64_t seed;
	/*
	 * Admission: a bit per tag seen lately, in two bitmaps, the current
	 * one and the one before (NULL: every value is stored). Bits of a
	 * hash under the random seed, not values: plain memory.
	 */
	uint64_t *seen, *seen_old, *seen_block; /* the two, in one block */
	size_t seen_words, seen_mask; /* words of each; bits used - 1 */
	size_t seen_new, seen_max;    /* bits set in seen; the turn after */
	struct cm_buf probes; /* the lookups of the scrub being computed */
};

struct cm_field_memo *cm_field_memo_new(size_t slots)
{
	struct cm_field_memo *m = calloc(1, sizeof *m);
	size_t s = 2; /* two ways at least */

	if (!m)
		return NULL;
	while (s < slots && s < ((size_t)1 << 20))
		s <<= 1;
	m->bytes = s * sizeof *m->slot;
	m->slot = cm_secmem_map(m->bytes);
	if (!m->slot) {
		free(m);
		return NULL;
	}
	(void)cm_secmem_populate(m->slot, m->bytes); /* made at its first use (cm_plan_apply) */
	m->mask = s - 1;
	/* without them (memory short) every value is stored */
	m->seen_words = (s * FM_SEEN_BITS_PER_SLOT + 63) / 64;
	m->seen_block = calloc(2 * m->seen_words, sizeof *m->seen_block);
	m->seen = m->seen_block;
	m->seen_old = m->seen_block ? m->seen_block + m->seen_words : NULL;
	m->seen_mask = s * FM_SEEN_BITS_PER_SLOT - 1;
	m->seen_max = s / 2; /* s is 2 at least */
	randombytes_buf(&m->seed, sizeof m->seed);
	cm_buf_init(&m->probes);
	return m;
}

void cm_field_memo_free(struct cm_field_memo *m)
{
	if (!m)
		return;
	cm_secmem_unmap(m->slot, m->bytes, 1);
	free(m->seen_block);
	cm_buf_deinit(&m->probes); /* wipes: normalized originals */
	sodium_memzero(m, sizeof *m);
	free(m);
}

const void *cm_field_memo_storage(const struct cm_field_memo *m, size_t *bytes)
{
	*bytes = m->bytes;
	return m->slot;
}

int cm_field_memo_wants(const struct cm_action *a)
{
	switch (a->type) {
	case CM_ACT_PSEUDONYM:
	case CM_ACT_PHONE:
	case CM_ACT_IP:
	case CM_ACT_SCRUB:
		return 1;
	default:
		return 0; /* cheap already, or values that seldom repeat (times) */
	}
}

/* The row answers every lookup of the log as it did when the entry was made. */
static inline int same_answers(const struct fm_slot *e, const struct cm_action_ctx *c)
{
	size_t i = 0, k;

	while (i < e->pn) {
		size_t len = e->d[e->vn + i];
		const unsigned char *val = e->d + e->vn + i + 2;
		int hit = 0;

		for (k = 0; k < c->nrow && !hit; k++)
			hit = c->row[k].n == len && memcmp(c->row[k].p, val, len) == 0;
		if (hit != e->d[e->vn + i + 1])
			return 0;
		i += 2 + len;
	}
	return 1;
}

/* The log can stand for the row: complete (no 255) and short enough. */
static int log_usable(const struct cm_buf *p)
{
	size_t i = 0;

	if (p->oom || p->n > FM_PROBE_MAX)
		return 0;
	while (i < p->n) {
		if ((unsigned char)p->p[i] == 255 || i + 2 > p->n)
			return 0;
		i += 2 + (unsigned char)p->p[i];
	}
	return i == p->n;
}

/*
 * The way a new entry for hash h takes: an empty one, else one not found
 * again since it was made; when both were, both age and the hash picks.
 * Values that repeat (the busy numbers of real traffic) outlive the ones
 * seen once, which a one-way memo lets evict them.
 */
static struct fm_slot *victim(struct cm_field_memo *m, uint64_t h)
{
	struct fm_slot *w0 = &m->slot[h & m->mask], *w1 = &m->slot[(h & m->mask) ^ 1];

	if (!w0->tag || w0->tag == h)
		return w0;
	if (!w1->tag || w1->tag == h)
		return w1;
	if (!(w0->flags & FM_HOT))
		return w0;
	if (!(w1->flags & FM_HOT))
		return w1;
	w0->flags &= (uint8_t)~FM_HOT;
	w1->flags &= (uint8_t)~FM_HOT;
	return h >> 63 ? w1 : w0;
}

/*
 * Admission: whether a value the memo lacks is stored. Most such values in
 * real traffic are the Zipf tail's, not seen again before they would be
 * evicted: storing each writes a slot's lines (memory the record did not
 * otherwise need) and evicts an entry that may repeat. A value is stored at
 * its second miss: the first sets its bit (by tag) in the current bitmap,
 * FM_SEEN_BITS_PER_SLOT bits a slot. After as many new bits as half the
 * memo's slots, the current bitmap becomes the old one and the old one,
 * cleared, the current: "seen" means seen in this turn or the one before,
 * so a value seen twice in a row is always stored. A bit shared by two
 * tags stores the second at its first miss: harmless.
 */
static int admit(struct cm_field_memo *m, uint64_t h)
{
	size_t b, w;
	uint64_t bit, *t;

	if (!m->seen)
		return 1;
	b = (size_t)(h >> 32) & m->seen_mask; /* the slot index takes the low bits */
	w = b / 64;
	bit = UINT64_C(1) << (b % 64);
	if ((m->seen[w] | m->seen_old[w]) & bit)
		return 1;
	m->seen[w] |= bit;
	if (++m->seen_new >= m->seen_max) {
		t = m->seen_old;
		memset(t, 0, m->seen_words * sizeof *t);
		m->seen_old = m->seen;
		m->seen = t;
		m->seen_new = 0;
	}
	return 0;
}

/*
 * The entry's tag: XXH3 of the value under (action, epoch); never 0, the
 * empty tag. Whether the record had protected numbers is compared in the
 * entry, not hashed, so the tag is known before the row is normalized.
 */
static uint64_t fm_hash(const struct cm_field_memo *m, const struct cm_action *a, uint64_t epoch,
			const char *v, size_t n)
{
	/* The seed moved by odd multiples of both: another (action, epoch), other tags. */
	uint64_t seed = m->seed ^ (epoch * UINT64_C(0x9e3779b97f4a7c15)) ^
			((uint64_t)(uintptr_t)a * UINT64_C(0xc2b2ae3d27d4eb4f));

	return XXH3_64bits_withSeed(v, n, seed) | 1;
}

uint64_t cm_field_memo_prefetch(const struct cm_field_memo *m, const struct cm_action *a,
				uint64_t epoch, const char *v, size_t n)
{
	uint64_t h;
	const char *e;

	if (!m || n > FM_V_MAX)
		return 0;
	h = fm_hash(m, a, epoch, v, n);
	e = (const char *)&m->slot[h & m->mask];
	/* the way's head, value, log and output, and the other way's tag */
	__builtin_prefetch(e);
	__builtin_prefetch(e + 64);
	__builtin_prefetch(e + 128);
	__builtin_prefetch(&m->slot[(h & m->mask) ^ 1]);
	return h;
}

/*
 * Scrub templates. A caller id or a dial string mostly holds one of the
 * record's own numbers ("Alice" <+442079460123>, PJSIP/+442079460123@trunk)
 * and, apart from it, text that repeats far more than the numbers do: the
 * names and trunks are few. A scrub's output of such a value is kept as a
 * template, without the number, and serves every value that differs from
 * it only in that number, of the same shape, with the record's token of
 * its own number put in.
 *
 * Why that is the output the scrub would give (scrub.c): the value is P X
 * S, X one of the record's numbers as the record holds it (rowraw[k],
 * whose normalization is row[k]), shaped +?[0-9]{d} with d at least
 * FM_TPL_DIGITS_MIN and the action's min-digits; the template was made of
 * P Y S, Y of the same shape (a '+' or not, d digits) at the same place,
 * whose scrub replaced exactly Y as one number (cm_scrub_watch).
 * The scrub reads the digits of a run by class (ascii_digits_end,
 * cm_phone_digit_at, the separators, the local part and gate bytes): every
 * choice it makes reads X as it read Y, but for
 * - the address rules, which read values: an IPv4 part has at most 3
 *   digits and an IPv6 group at most 4, so a run of d >= 5 digits is in no
 *   address, whatever the digits;
 * - the row lookups (in_row), which read the normalization: none is of a
 *   span holding X (X has min-digits, its span needs none, and it is
 *   matched, so no group of it is looked up alone), and the others' answers
 *   are in the log, checked against this record's row as for any entry;
 * - replace(), which writes the token of X's normalization, row[k]: the
 *   one put in here (row_token).
 * So P and S are scrubbed alike in both, and their output around the token
 * is the template's. At the template's making, the token the scrub wrote
 * is compared with the one a hit would put in, so a template never says
 * what the scrub did not.
 */
#define FM_TPL_DIGITS_MIN 5

/* The first x[0..xn) in v[0..n) (0 < xn <= n), or NULL: memmem's set-up costs more on texts this short. */
static const char *find_bytes(const char *v, size_t n, const char *x, size_t xn)
{
	const char *p = v, *end = v + (n - xn) + 1;

	while ((p = memchr(p, x[0], (size_t)(end - p))) != NULL) {
		if (cm_same_bytes(p, x, xn))
			return p;
		p++;
	}
	return NULL;
}

/* 1 when x[0..xn) is written +?[0-9]{d} with d >= min (min > 0). */
static int tpl_shape(const char *x, size_t xn, size_t min)
{
	size_t i = xn && x[0] == '+';

	return xn - i >= min && cm_ascii_digits(x + i, xn - i);
}

/*
 * The number a template of v[0..n) stands for: of the row numbers (as the
 * record holds them: rowraw) with the template shape, the one written
 * first in v, at *xo, as row number *k. 0: none (then the value has no
 * template).
 */
static int tpl_number(const struct cm_action *a, const struct cm_action_ctx *c, const char *v,
		      size_t n, size_t *xo, size_t *k)
{
	size_t i, best = SIZE_MAX, min = a->scrub.min_digits;

	if (min < FM_TPL_DIGITS_MIN)
		min = FM_TPL_DIGITS_MIN;
	for (i = 0; i < c->nrow; i++) {
		const char *x = c->rowraw[i].p, *f;
		size_t xn = c->rowraw[i].n;

		if (xn == 0 || xn > n || xn > UINT8_MAX ||
		    (f = find_bytes(v, n, x, xn)) == NULL || (size_t)(f - v) >= best ||
		    !tpl_shape(x, xn, min))
			continue;
		best = (size_t)(f - v);
		*k = i;
	}
	if (best == SIZE_MAX)
		return 0;
	*xo = best;
	return 1;
}

/* The tag of v[0..n)'s template, without the number xn bytes at xo (never 0). */
static uint64_t tpl_hash(const struct cm_field_memo *m, const struct cm_action *a, uint64_t epoch,
			 const char *v, size_t n, size_t xo, size_t xn)
{
	/* the shape in the seed: the same text around another shape, another tag */
	uint64_t seed = m->seed ^ (epoch * UINT64_C(0x9e3779b97f4a7c15)) ^
			((uint64_t)(uintptr_t)a * UINT64_C(0xc2b2ae3d27d4eb4f)) ^
			(((uint64_t)xo << 16 | (uint64_t)xn << 1 | (v[xo] == '+')) *
			 UINT64_C(0x165667b19e3779f9));

	return (XXH3_64bits_withSeed(v, xo, seed) ^
		XXH3_64bits_withSeed(v + xo + xn, n - xo - xn, ~seed) * UINT64_C(0x27d4eb2f165667c5)) |
	       1;
}

/* The entry at either way for tag h, or NULL. */
static inline struct fm_slot *find(struct cm_field_memo *m, uint64_t h)
{
	struct fm_slot *e = &m->slot[h & m->mask];

	if (e->tag == h)
		return e;
	e = &m->slot[(h & m->mask) ^ 1];
	return e->tag == h ? e : NULL;
}

/* Stores an entry for tag h (admitted): value, the lookup log, output. */
static struct fm_slot *store(struct cm_field_memo *m, uint64_t h, const struct cm_action *a,
			     const struct cm_action_ctx *c, int rc, const char *v, size_t n,
			     const char *o1, size_t n1, const char *o2, size_t n2)
{
	struct fm_slot *e = victim(m, h);
	size_t was = (size_t)e->vn + e->pn + e->on, now = n + m->probes.n + n1 + n2;

	e->tag = h;
	e->a = a;
	e->epoch = c->epoch;
	e->flags = c->nrow > 0 ? FM_ROW : 0;
	e->rc = (int8_t)rc;
	e->vn = (uint8_t)n;
	e->on = (uint8_t)(n1 + n2);
	e->pn = (uint8_t)m->probes.n;
	memcpy(e->d, v, n);
	if (m->probes.n)
		memcpy(e->d + n, m->probes.p, m->probes.n);
	memcpy(e->d + n + m->probes.n, o1, n1);
	if (n2)
		memcpy(e->d + n + m->probes.n + n1, o2, n2);
	/* No tail of an evicted entry may linger (past the longest, all was zero already). */
	if (was > now)
		memset(e->d + now, 0, was - now);
	return e;
}

/*
 * The token of row number k as the scrub of a (replace() in scrub.c)
 * writes it, appended to out: copied when the record's phone field wrote
 * it already with the same bits (plan.c), else made.
 */
static int row_token(const struct cm_action *a, const struct cm_action_ctx *c, size_t k,
		     struct cm_buf *out)
{
	unsigned bits = a->scrub.bits ? a->scrub.bits : CM_TOKEN_BITS_DEFAULT;
	const struct cm_row_token *t = c->rowtok ? &c->rowtok[k] : NULL;

	if (t && t->len && t->bits == bits && c->tokbuf == out) {
		/* the phone field's token of the same number: the same bytes */
		if (out->cap - out->n < t->len && cm_buf_reserve(out, t->len) != 0)
			return CM_FAIL;
		memcpy(out->p + out->n, out->p + t->off, t->len);
		out->n += t->len;
		return 0;
	}
	return cm_pseudo_token_h(c->ps, CM_KIND_PHONE, c->epoch, c->row[k].p, c->row[k].n,
				 c->rowh ? c->rowh[k] : 0, bits, out);
}

int cm_field_memo_apply(struct cm_field_memo *m, const struct cm_action *a,
			struct cm_action_ctx *c, const char *v, size_t n, struct cm_buf *out)
{
	return cm_field_memo_apply_h(m, a, c, v, n, 0, out, NULL);
}

/* The entry for exactly (a, epoch, row-emptiness, v[0..n)) under tag h, or NULL (the hit path: inlined). */
static inline __attribute__((always_inline)) struct fm_slot *
exact_find(struct cm_field_memo *m, const struct cm_action *a, const struct cm_action_ctx *c,
	   const char *v, size_t n, uint64_t h)
{
	struct fm_slot *e = find(m, h);

	if (e && (e->flags & (FM_ROW | FM_TPL)) == (c->nrow > 0 ? FM_ROW : 0) && e->a == a &&
	    e->epoch == c->epoch && e->vn == n && memcmp(e->d, v, n) == 0 && same_answers(e, c))
		return e;
	return NULL;
}

/* The answer of entry e, found for the value itself: its output appended to out. */
static inline int exact_answer(struct fm_slot *e, struct cm_buf *out, int *hit)
{
	e->flags |= FM_HOT;
	if (hit)
		*hit = 1;
	cm_buf_add(out, e->d + e->vn + e->pn, e->on);
	return out->oom ? CM_FAIL : e->rc;
}

/* Applies a; a scrub logs its lookups in the row (m->probes) and watches w (or NULL). */
static inline int apply_logged(struct cm_field_memo *m, const struct cm_action *a,
			       struct cm_action_ctx *c, const char *v, size_t n,
			       struct cm_scrub_watch *w, struct cm_buf *out)
{
	int rc;

	cm_buf_reset(&m->probes);
	c->probes = a->type == CM_ACT_SCRUB ? &m->probes : NULL;
	c->watch = w;
	rc = cm_action_apply(a, c, v, n, out);
	c->probes = NULL;
	c->watch = NULL;
	return rc;
}

/*
 * cm_field_memo_apply_h for a scrub of v[0..n) whose row number k is
 * written at xo (tpl_number): its template, else its own entry, else
 * computed, and kept as a template when the scrub replaced the number on
 * its own, else as its own entry. Out of line: the other fields' path
 * stays as short.
 */
static __attribute__((noinline)) int tpl_apply(struct cm_field_memo *m, const struct cm_action *a,
					       struct cm_action_ctx *c, const char *v, size_t n,
					       uint64_t h, size_t xo, size_t k, struct cm_buf *out,
					       int *hit)
{
	size_t xn = c->rowraw[k].n, start = out->n, on, mark;
	uint64_t ht = tpl_hash(m, a, c->epoch, v, n, xo, xn);
	uint8_t shape = FM_ROW | FM_TPL | (v[xo] == '+' ? FM_XPLUS : 0);
	struct fm_slot *e = find(m, ht);
	struct cm_scrub_watch watch;
	char skel[FM_V_MAX]; /* the value without the number: P then S */
	const char *o;
	int rc, same;

	if (e && (e->flags & ~FM_HOT) == shape && e->a == a && e->epoch == c->epoch &&
	    e->xo == xo && e->xn == xn && e->vn == n - xn && cm_same_bytes((const char *)e->d, v, xo) &&
	    cm_same_bytes((const char *)e->d + xo, v + xo + xn, n - xo - xn) && same_answers(e, c)) {
		const unsigned char *t = e->d + e->vn + e->pn;

		e->flags |= FM_HOT;
		if (hit)
			*hit = 2;
		if (out->cap - out->n < e->on && cm_buf_reserve(out, e->on) != 0)
			return CM_FAIL;
		memcpy(out->p + out->n, t, e->so);
		out->n += e->so;
		if (row_token(a, c, k, out) != 0)
			return CM_FAIL;
		cm_buf_add(out, t + e->so, (size_t)e->on - e->so);
		return out->oom ? CM_FAIL : 0;
	}
	if (!h)
		h = fm_hash(m, a, c->epoch, v, n);
	if ((e = exact_find(m, a, c, v, n, h)) != NULL)
		return exact_answer(e, out, hit);
	memset(&watch, 0, sizeof watch);
	watch.start = xo;
	watch.end = xo + xn;
	rc = apply_logged(m, a, c, v, n, &watch, out);
	on = out->n - start;
	if (rc != 0 || out->oom || !log_usable(&m->probes))
		return rc;
	if (watch.found != 1 || on - watch.len > FM_OUT_MAX) {
		if (on <= FM_OUT_MAX && admit(m, h))
			store(m, h, a, c, rc, v, n, out->p + start, on, NULL, 0);
		return rc;
	}
	/* The token a hit would put in must be the one the scrub wrote. */
	mark = out->n;
	if (row_token(a, c, k, out) != 0) {
		out->n = mark;
		return out->oom ? CM_FAIL : rc;
	}
	same = out->n - mark == watch.len &&
	       memcmp(out->p + mark, out->p + start + watch.at, watch.len) == 0;
	out->n = mark;
	if (!same || !admit(m, ht))
		return rc;
	o = out->p + start;
	memcpy(skel, v, xo);
	memcpy(skel + xo, v + xo + xn, n - xo - xn);
	e = store(m, ht, a, c, rc, skel, n - xn, o, watch.at, o + watch.at + watch.len,
		  on - watch.at - watch.len);
	sodium_memzero(skel, n - xn); /* originals */
	e->flags |= shape;
	e->xo = (uint8_t)xo;
	e->xn = (uint8_t)xn;
	e->so = (uint8_t)watch.at;
	return rc;
}

int cm_field_memo_apply_h(struct cm_field_memo *m, const struct cm_action *a,
			  struct cm_action_ctx *c, const char *v, size_t n, uint64_t h,
			  struct cm_buf *out, int *hit)
{
	struct fm_slot *e;
	size_t start = out->n, on, xo, k;
	int rc;

	if (hit)
		*hit = 0;
	if (!m || n > FM_V_MAX)
		return cm_action_apply(a, c, v, n, out);
	if (a->type == CM_ACT_SCRUB && c->rowraw && !a->scrub.redact && c->nrow && c->ps &&
	    tpl_number(a, c, v, n, &xo, &k))
		return tpl_apply(m, a, c, v, n, h, xo, k, out, hit);
	if (!h)
		h = fm_hash(m, a, c->epoch, v, n);
	if ((e = exact_find(m, a, c, v, n, h)) != NULL)
		return exact_answer(e, out, hit);
	rc = apply_logged(m, a, c, v, n, NULL, out);
	on = out->n - start;
	if ((rc != 0 && rc != 1) || out->oom || on > FM_OUT_MAX || !log_usable(&m->probes) ||
	    !admit(m, h))
		return rc;
	store(m, h, a, c, rc, v, n, out->p + start, on, NULL, 0);
	return rc;
}
