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
#include "cdrmin/secmem.h"

/* Longer values, outputs or lookup logs are computed every time. */
#define FM_V_MAX 80
#define FM_OUT_MAX 144
#define FM_PROBE_MAX 32

struct fm_slot {
	uint64_t tag; /* XXH3 of the value under (action, epoch); 0: empty */
	const struct cm_action *a;
	uint64_t epoch;
	uint8_t vn, on, pn;
	uint8_t row;  /* the record had protected numbers */
	int8_t rc;    /* cm_action_apply's answer: 0, or 1 (the value was rejected) */
	uint8_t hot;  /* found again since it was made or last aged */
	/*
	 * The value, the lookup log and the output, back to back from the
	 * slot's first cache line on (a number's entry fits in two lines), and
	 * zero past them.
	 */
	unsigned char d[FM_V_MAX + FM_PROBE_MAX + FM_OUT_MAX];
};

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
static int same_answers(const struct fm_slot *e, const struct cm_action_ctx *c)
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
	if (!w0->hot)
		return w0;
	if (!w1->hot)
		return w1;
	w0->hot = 0;
	w1->hot = 0;
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

int cm_field_memo_apply(struct cm_field_memo *m, const struct cm_action *a,
			struct cm_action_ctx *c, const char *v, size_t n, struct cm_buf *out)
{
	return cm_field_memo_apply_h(m, a, c, v, n, 0, out, NULL);
}

int cm_field_memo_apply_h(struct cm_field_memo *m, const struct cm_action *a,
			  struct cm_action_ctx *c, const char *v, size_t n, uint64_t h,
			  struct cm_buf *out, int *hit)
{
	struct fm_slot *e;
	size_t start = out->n, on, was, now;
	int row = c->nrow > 0, rc;

	if (hit)
		*hit = 0;
	if (!m || n > FM_V_MAX)
		return cm_action_apply(a, c, v, n, out);
	if (!h)
		h = fm_hash(m, a, c->epoch, v, n);
	/* Two ways: the slot the hash names and its neighbour. */
	e = &m->slot[h & m->mask];
	if (e->tag != h)
		e = &m->slot[(h & m->mask) ^ 1];
	if (e->tag == h && e->a == a && e->epoch == c->epoch && e->row == row && e->vn == n &&
	    memcmp(e->d, v, n) == 0 && same_answers(e, c)) {
		e->hot = 1;
		if (hit)
			*hit = 1;
		cm_buf_add(out, e->d + e->vn + e->pn, e->on);
		return out->oom ? CM_FAIL : e->rc;
	}
	cm_buf_reset(&m->probes);
	c->probes = a->type == CM_ACT_SCRUB ? &m->probes : NULL;
	rc = cm_action_apply(a, c, v, n, out);
	c->probes = NULL;
	on = out->n - start;
	if ((rc != 0 && rc != 1) || out->oom || on > FM_OUT_MAX || !log_usable(&m->probes) ||
	    !admit(m, h))
		return rc;
	e = victim(m, h);
	was = (size_t)e->vn + e->pn + e->on;
	now = n + m->probes.n + on;
	e->tag = h;
	e->a = a;
	e->epoch = c->epoch;
	e->row = (uint8_t)row;
	e->rc = (int8_t)rc;
	e->vn = (uint8_t)n;
	e->on = (uint8_t)on;
	e->pn = (uint8_t)m->probes.n;
	e->hot = 0;
	memcpy(e->d, v, n);
	if (m->probes.n)
		memcpy(e->d + n, m->probes.p, m->probes.n);
	memcpy(e->d + n + m->probes.n, out->p + start, on);
	/* No tail of an evicted entry may linger (past the longest, all was zero already). */
	if (was > now)
		memset(e->d + now, 0, was - now);
	return rc;
}
