/* \summary: keyed pseudonyms: per-(kind, epoch) BLAKE2b subkeys and a memo cache */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif
/* XXH3 inlined: a tag costs a few dozen instructions, not a library call */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cdrmin/blake2b.h"
#include "cdrmin/clock.h"
#include "cdrmin/cpu.h"
#include "cdrmin/cryptopan.h"
#include "cdrmin/generalize.h"
#include "cdrmin/pseudo.h"
#include "cdrmin/secmem.h"
#include "cdrmin/retention.h"

/*
 * Subkeys: crypto_kdf_derive_from_key(32 bytes, subkey id = epoch id,
 * context = the kind's 8 bytes below, master key). libsodium 1.0.18 makes
 * that BLAKE2b(key = master, out = 32, salt = LE64(epoch id) || 0^8,
 * personal = context || 0^8, empty message); tests/test_pseudo.c checks it
 * against an independent computation. The contexts are part of the token
 * format: changing one changes every token of that kind.
 */
static const char kind_ctx[CM_KIND__COUNT][crypto_kdf_CONTEXTBYTES + 1] = {
	[CM_KIND_GENERIC] = "cdrm-gen",
	[CM_KIND_PHONE] = "cdrm-phn",
	[CM_KIND_IMSI] = "cdrm-ims",
	[CM_KIND_IMEI] = "cdrm-ime",
	[CM_KIND_IP] = "cdrm-ipa", /* IPv4 and IPv6 alike */
	[CM_KIND_EMAIL] = "cdrm-eml",
};

static const char *const kind_names[CM_KIND__COUNT] = {
	[CM_KIND_GENERIC] = "generic",
	[CM_KIND_PHONE] = "phone",
	[CM_KIND_IMSI] = "imsi",
	[CM_KIND_IMEI] = "imei",
	[CM_KIND_IP] = "ip",
	[CM_KIND_EMAIL] = "email",
};


/*
 * Prepared subkeys of recently used (kind, epoch) pairs, fully associative with
 * LRU replacement. A run sees a few kinds times one or two epochs at a time;
 * 32 leaves room for re-processing archives that interleave months.
 */
#define STATE_SLOTS 32

/*
 * Memo cache geometry. A set holds MEMO_WAYS entries behind one cache line
 * of 64-bit tags (the full XXH3 of the entry's value, seeded by kind and epoch), so a
 * lookup reads one tag line and, on a tag match, the entry. Replacement is
 * CLOCK within the set: a hit sets the entry's reference bit; a new entry
 * starts unreferenced, so values seen once are evicted before values that
 * repeated (real traffic: a few numbers very often, most numbers once).
 */
#define MEMO_WAYS 4
#define MEMO_ENTRIES_MAX ((size_t)1 << 24) /* 2.4 GB of cache: far beyond any sane setting */

/* Characters of a default token's text: base32 of the first 16 bytes (128 bits). */
#define TEXT128 26

/*
 * A value's first line holds what a hit of a default (128-bit) token
 * reads: the value (up to 28 bytes in the line) and the token's text,
 * made once when the entry is. Other token lengths read the digest, in
 * the second line.
 */
struct memo_entry {
	_Alignas(64) uint64_t epoch;
	uint8_t kind;
	uint8_t len;
	char text[TEXT128];
	char v[CM_CACHE_VALUE_MAX]; /* bytes past len are zero */
	unsigned char digest[CM_DIGEST_BYTES];
};
_Static_assert(sizeof(struct memo_entry) == 128, "a memo entry is two cache lines");
_Static_assert(CM_CACHE_VALUE_MAX <= UINT8_MAX, "memo length fits a byte");

struct memo_set {
	uint64_t tag[MEMO_WAYS];
	uint8_t valid; /* bit w: entry w holds a value */
	uint8_t ref;   /* bit w: entry w was hit since the clock hand last passed */
	uint8_t hand;  /* next way the clock hand looks at */
	struct memo_entry e[MEMO_WAYS];
};
_Static_assert(MEMO_WAYS <= 8, "valid and ref masks are bytes");

struct state_tag {
	uint64_t epoch;
	uint64_t last_use; /* 0: slot empty */
	unsigned kind;
};

#define CPAN_ENGINES 4

struct cm_pseudo {
	/*
	 * The key schedule: keys[i] serves the epochs from first[i] on (of the
	 * unit in unit), keys[0] every epoch before first[1] and epoch 0.
	 */
	const struct cm_key *keys[CM_KEYS_MAX];
	uint64_t first[CM_KEYS_MAX];
	unsigned nkeys;
	unsigned unit;      /* the top byte of the schedule's epoch ids */
	unsigned char *sub; /* CM_KEY_BYTES, sodium_malloc: derived keys pass only through here */
	char id[CM_KEYID_CHARS + 1];

	/* STATE_SLOTS, sodium_malloc: each is as secret as its subkey */
	struct cm_blake2b_keyed *states;
	struct state_tag tags[STATE_SLOTS];
	unsigned last; /* slot of the most recent state lookup */
	uint64_t tick;

	struct memo_set *sets; /* NULL when the cache is off, or not yet used */
	struct memo_set *map;  /* the cache's memory, sets from its first use (cm_pseudo_digest) */
	size_t set_mask;
	size_t map_bytes;
	uint64_t seed; /* XXH3 seed: random, so collisions cannot be crafted offline */

	struct cm_pseudo_stats st;
	/* Crypto-PAn engines of recent epochs (or one for an explicit key) */
	struct cm_cryptopan *cpan[CPAN_ENGINES];
	uint64_t cpan_epoch[CPAN_ENGINES];
	unsigned cpan_next;
	int cpan_fixed;
	size_t cache_entries;
	int bypass; /* cm_pseudo_cache_bypass */
	/* cm_pseudo_ahead: digests computed ahead, found by their value's bytes (v points at them) */
	struct ahead {
		const char *v;
		size_t n;
		uint64_t epoch;
		unsigned kind;
		unsigned char d[CM_DIGEST_BYTES];
	} ahead[CM_PSEUDO_AHEAD_MAX];
	unsigned nahead;
};

const char *cm_kind_name(enum cm_kind k)
{
	if ((unsigned)k >= CM_KIND__COUNT)
		return "unknown";
	return kind_names[k];
}

int cm_kind_parse(const char *s)
{
	int k;

	if (!s)
		return -1;
	for (k = 0; k < CM_KIND__COUNT; k++)
		if (strcmp(s, kind_names[k]) == 0)
			return k;
	return -1;
}

/* Smallest power of two >= n, for 1 <= n <= MEMO_ENTRIES_MAX. */
static size_t pow2_ceil(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

struct cm_pseudo *cm_pseudo_new(const struct cm_key *key, size_t cache_entries,
				struct cm_err *err)
{
	struct cm_pseudo *ps;
	size_t entries;
	void *map;

	if (!key || !key->k) {
		cm_err_set(err, CM_E_INTERNAL, "pseudonym engine: no key loaded");
		return NULL;
	}
	if (cache_entries > MEMO_ENTRIES_MAX) {
		cm_err_set(err, CM_E_USAGE, "memo cache of %zu entries is too large (at most %zu)",
			   cache_entries, MEMO_ENTRIES_MAX);
		return NULL;
	}
	ps = calloc(1, sizeof *ps);
	if (!ps)
		goto nomem;
	ps->keys[0] = key;
	ps->nkeys = 1;
	ps->cache_entries = cache_entries;
	memcpy(ps->id, key->id, sizeof ps->id);
	ps->id[CM_KEYID_CHARS] = '\0';

	/*
	 * sodium_malloc returns (end of a page) - size: a size that is a multiple
	 * of the type's alignment keeps the states aligned.
	 */
	_Static_assert(sizeof(struct cm_blake2b_keyed) % _Alignof(struct cm_blake2b_keyed) == 0,
		       "state size keeps alignment");
	ps->states = sodium_malloc(STATE_SLOTS * sizeof *ps->states);
	if (!ps->states)
		goto nomem;
	sodium_memzero(ps->states, STATE_SLOTS * sizeof *ps->states);
	ps->sub = sodium_malloc(CM_KEY_BYTES);
	if (!ps->sub)
		goto nomem;

	if (cache_entries) {
		entries = pow2_ceil(cache_entries < MEMO_WAYS ? MEMO_WAYS : cache_entries);
		ps->map_bytes = entries / MEMO_WAYS * sizeof(struct memo_set);
		/* The cache holds normalized originals: secmem.h keeps it out of dumps and swap. */
		map = cm_secmem_map(ps->map_bytes);
		if (!map) {
			cm_err_set(err, CM_E_NOMEM,
				   "pseudonym engine: no memory for the cache out of core dumps");
			goto fail;
		}
		ps->map = map;
		ps->set_mask = entries / MEMO_WAYS - 1;
		randombytes_buf(&ps->seed, sizeof ps->seed);
	}
	return ps;
nomem:
	cm_err_set(err, CM_E_NOMEM, "pseudonym engine: out of memory");
fail:
	cm_pseudo_free(ps);
	return NULL;
}

static const char *unit_name(enum cm_epoch_unit u)
{
	return u == CM_EPOCH_DAY ? "day" : u == CM_EPOCH_MONTH ? "month" : "year";
}

/*
 * The first epoch id of key i of s (i >= 1) under unit u, into *first.
 * CM_E_USAGE when its date is not the first day of an epoch: the message
 * names the epoch starts before and after it.
 */
static int key_first_epoch(const struct cm_key_schedule *s, size_t i, enum cm_epoch_unit u,
			   uint64_t *first, struct cm_err *err)
{
	uint64_t before;
	struct cm_date d;
	char prev[32], next[32];

	if (cm_time_epoch(s->from[i], u, first) != 0 ||
	    cm_time_epoch(s->from[i] - 1, u, &before) != 0 || cm_date_parse(s->date[i], &d) != 0)
		return cm_err_set(err, CM_E_USAGE, "key %s: the date %s is out of range", s->path[i],
				  s->date[i]);
	if (*first != before)
		return 0;
	if (u == CM_EPOCH_MONTH) {
		snprintf(prev, sizeof prev, "%04d-%02d-01", d.y, d.m);
		snprintf(next, sizeof next, "%04d-%02d-01", d.m == 12 ? d.y + 1 : d.y,
			 d.m == 12 ? 1 : d.m + 1);
	} else {
		snprintf(prev, sizeof prev, "%04d-01-01", d.y);
		snprintf(next, sizeof next, "%04d-01-01", d.y + 1);
	}
	return cm_err_set(err, CM_E_USAGE,
			  "key %s@%s: the rules' epoch is a %s and %s is not the first day of one: "
			  "a %s's pseudonyms must all come from one key; schedule the key at %s "
			  "(or %s)", s->path[i], s->date[i], unit_name(u), s->date[i], unit_name(u),
			  next, prev);
}

struct cm_pseudo *cm_pseudo_new_schedule(const struct cm_key_schedule *s,
					 enum cm_epoch_unit unit, size_t cache_entries,
					 struct cm_err *err)
{
	uint64_t first[CM_KEYS_MAX];
	struct cm_pseudo *ps;
	size_t i;

	if (!s || cm_key_schedule_check(s, err) != 0)
		return NULL;
	if (s->n > 1 && unit == CM_EPOCH_NONE) {
		cm_err_set(err, CM_E_USAGE,
			   "key %s@%s: the rules have no epoch (one linkability window for all "
			   "time), so there is no boundary for a new key to take effect at: give "
			   "the rules an epoch, or one key",
			   s->path[1], s->date[1]);
		return NULL;
	}
	for (i = 1; i < s->n; i++)
		if (key_first_epoch(s, i, unit, &first[i], err) != 0)
			return NULL;
	ps = cm_pseudo_new(&s->key[0], cache_entries, err);
	if (!ps)
		return NULL;
	for (i = 1; i < s->n; i++) {
		ps->keys[i] = &s->key[i];
		ps->first[i] = first[i];
	}
	ps->nkeys = (unsigned)s->n;
	ps->unit = (unsigned)unit;
	return ps;
}

void cm_pseudo_free(struct cm_pseudo *ps)
{
	if (!ps)
		return;
	{
		unsigned i;

		for (i = 0; i < CPAN_ENGINES; i++)
			cm_cryptopan_free(ps->cpan[i]);
	}
	if (ps->states)
		sodium_free(ps->states); /* wipes */
	if (ps->sub)
		sodium_free(ps->sub);
	cm_secmem_unmap(ps->map, ps->map_bytes, ps->sets != NULL);
	sodium_memzero(ps, sizeof *ps);
	free(ps);
}

/* See cm_pseudo_key_index: a few compares, and none with a single key. */
static inline int key_index(const struct cm_pseudo *ps, uint64_t epoch)
{
	unsigned i;

	if (ps->nkeys == 1 || epoch == 0)
		return 0;
	if ((unsigned)(epoch >> 56) != ps->unit)
		return -1;
	for (i = ps->nkeys - 1; i > 0 && ps->first[i] > epoch; i--)
		;
	return (int)i;
}

int cm_pseudo_key_index(const struct cm_pseudo *ps, uint64_t epoch)
{
	return key_index(ps, epoch);
}

const char *cm_pseudo_key_id_at(const struct cm_pseudo *ps, uint64_t epoch)
{
	int i = key_index(ps, epoch);

	return i < 0 ? NULL : ps->keys[i]->id;
}

/*
 * The prepared BLAKE2b subkey of (kind, epoch), deriving it on a miss from
 * the key the schedule gives epoch. NULL for an epoch the schedule cannot
 * place, or if libsodium refuses the derivation (it cannot with these sizes).
 */
static const struct cm_blake2b_keyed *keyed_state(struct cm_pseudo *ps, unsigned kind,
						  uint64_t epoch)
{
	_Static_assert(CM_KEY_BYTES == CM_BLAKE2B_KEYBYTES, "a subkey fills the scratch key");
	unsigned char *sub = ps->sub;
	struct state_tag *t = &ps->tags[ps->last];
	unsigned i, victim = 0;
	int rc, ki;

	if (t->last_use && t->kind == kind && t->epoch == epoch)
		goto found;
	for (i = 0; i < STATE_SLOTS; i++) {
		t = &ps->tags[i];
		if (t->last_use && t->kind == kind && t->epoch == epoch) {
			ps->last = i;
			goto found;
		}
		if (t->last_use < ps->tags[victim].last_use)
			victim = i;
	}

	ki = key_index(ps, epoch);
	if (ki < 0)
		return NULL;
	rc = crypto_kdf_derive_from_key(sub, CM_BLAKE2B_KEYBYTES, epoch, kind_ctx[kind],
					ps->keys[ki]->k);
	sodium_memzero(&ps->states[victim], sizeof ps->states[victim]);
	if (rc == 0)
		cm_blake2b_keyed_init(&ps->states[victim], sub);
	sodium_memzero(sub, CM_BLAKE2B_KEYBYTES);
	t = &ps->tags[victim];
	if (rc != 0) {
		t->last_use = 0;
		return NULL;
	}
	t->kind = kind;
	t->epoch = epoch;
	ps->last = victim;
found:
	t->last_use = ++ps->tick;
	return &ps->states[ps->last];
}

/*
 * BLAKE2b-256 keyed with the (kind, epoch) subkey over v[0..n): the same bytes
 * as crypto_generichash(out, 32, v, n, subkey, 32). The key block was
 * compressed when the subkey was prepared, so a value of up to 128 bytes
 * costs one compression.
 */
static int compute(struct cm_pseudo *ps, unsigned kind, uint64_t epoch, const char *v,
		   size_t n, unsigned char out[CM_DIGEST_BYTES])
{
	const struct cm_blake2b_keyed *keyed = keyed_state(ps, kind, epoch);

	_Static_assert(CM_DIGEST_BYTES == CM_BLAKE2B_BYTES, "a digest is one BLAKE2b-256 output");
	if (!keyed)
		return CM_FAIL;
	cm_blake2b_keyed_hash(keyed, (const unsigned char *)v, n, out);
	return 0;
}

/*
 * One more in a counter. Only the engine's thread writes it, so a load and a
 * store do (no locked add); both atomic, so that another thread may read it
 * while the engine runs (cm_pseudo_get_stats: -j's monitoring).
 */
static inline void bump(uint64_t *c)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
}

/*
 * The tag: XXH3 of the value, seeded with the random seed moved by (kind,
 * epoch), so that one value in two kinds or epochs lands in unrelated sets.
 * The value is hashed where it lies: no copy to wipe.
 */
static inline uint64_t memo_hash(const struct cm_pseudo *ps, unsigned k, uint64_t epoch,
				 const char *v, size_t n)
{
	return XXH3_64bits_withSeed(v, n, ps->seed ^ XXH3_64bits_withSeed(&epoch, sizeof epoch, k));
}

/*
 * The set's tag line and its entries' first lines, asked for at once, not
 * one after the other: the set is seldom in cache, and one wait costs less
 * than two.
 */
static inline void prefetch_set(const struct memo_set *set)
{
	unsigned w;

	__builtin_prefetch(set);
	for (w = 0; w < MEMO_WAYS; w++)
		__builtin_prefetch(&set->e[w]);
}

void cm_pseudo_cache_bypass(struct cm_pseudo *ps, int on)
{
	if (ps)
		ps->bypass = on;
}

uint64_t cm_pseudo_prefetch(const struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch,
			    const char *v, size_t n)
{
	uint64_t h;

	if (!ps || !ps->sets || (unsigned)kind >= CM_KIND__COUNT || n > CM_CACHE_VALUE_MAX)
		return 0;
	h = memo_hash(ps, (unsigned)kind, epoch, v, n);
	prefetch_set(&ps->sets[h & ps->set_mask]);
	return h;
}

void cm_pseudo_ahead(struct cm_pseudo *ps, const struct cm_pseudo_ask *ask, size_t k)
{
	const struct cm_blake2b_keyed *kd[CM_PSEUDO_AHEAD_MAX];
	const unsigned char *m[CM_PSEUDO_AHEAD_MAX];
	unsigned char *d[CM_PSEUDO_AHEAD_MAX];
	size_t n[CM_PSEUDO_AHEAD_MAX], i;
	unsigned got = 0;

	cm_pseudo_ahead_done(ps);
	for (i = 0; i < k && got < CM_PSEUDO_AHEAD_MAX; i++) {
		/*
		 * Fewer than STATE_SLOTS asks: a state found here is among the
		 * most recent, never the next one's LRU victim, so it stays put.
		 */
		const struct cm_blake2b_keyed *s = (unsigned)ask[i].kind < CM_KIND__COUNT
							   ? keyed_state(ps, (unsigned)ask[i].kind,
									 ask[i].epoch)
							   : NULL;

		if (!s)
			continue;
		kd[got] = s;
		m[got] = (const unsigned char *)ask[i].v;
		n[got] = ask[i].n;
		ps->ahead[got].v = ask[i].v;
		ps->ahead[got].n = ask[i].n;
		ps->ahead[got].epoch = ask[i].epoch;
		ps->ahead[got].kind = (unsigned)ask[i].kind;
		d[got] = ps->ahead[got].d;
		got++;
	}
	_Static_assert(CM_PSEUDO_AHEAD_MAX < STATE_SLOTS, "asks keep their states");
	cm_blake2b_keyed_hash_many(kd, m, n, got, d);
	ps->nahead = got;
}

void cm_pseudo_ahead_done(struct cm_pseudo *ps)
{
	if (!ps || !ps->nahead)
		return;
	sodium_memzero(ps->ahead, ps->nahead * sizeof ps->ahead[0]); /* the rest is wiped already */
	ps->nahead = 0;
}

/*
 * The digest of (kind k, epoch, v[0..n)): the one kept ahead for the same
 * value (the same bytes, wherever they lie), else computed.
 */
static inline int ahead_or_compute(struct cm_pseudo *ps, unsigned k, uint64_t epoch,
				   const char *v, size_t n, unsigned char out[CM_DIGEST_BYTES])
{
	unsigned i;

	if (!ps->nahead)
		return compute(ps, k, epoch, v, n, out);
	for (i = 0; i < ps->nahead; i++) {
		const struct ahead *a = &ps->ahead[i];

		if (a->n == n && a->kind == k && a->epoch == epoch &&
		    (a->v == v || memcmp(a->v, v, n) == 0)) {
			memcpy(out, a->d, CM_DIGEST_BYTES);
			bump(&ps->st.ahead);
			return 0;
		}
	}
	return compute(ps, k, epoch, v, n, out);
}

int cm_pseudo_cached(const struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch, const char *v,
		     size_t n, uint64_t h)
{
	const struct memo_set *set;
	unsigned w, k = (unsigned)kind;

	if (!ps || !ps->sets || k >= CM_KIND__COUNT || n > CM_CACHE_VALUE_MAX)
		return 0;
	if (!h)
		h = memo_hash(ps, k, epoch, v, n);
	set = &ps->sets[h & ps->set_mask];
	for (w = 0; w < MEMO_WAYS; w++) {
		const struct memo_entry *e = &set->e[w];

		if ((set->valid >> w & 1) && set->tag[w] == h && e->kind == k && e->epoch == epoch &&
		    e->len == n && cm_same_bytes(e->v, v, n))
			return 1;
	}
	return 0;
}

static void text128(char t[TEXT128], const unsigned char d[CM_DIGEST_BYTES]);

/*
 * The digest of (kind k, epoch, v[0..n)), through the cache. *ep is set to
 * the entry that holds it (found, or made now with its text), or to NULL
 * when the value is not cached (the cache bypassed, off, or the value too
 * long for it). The digest is in out, except after a hit when want is 0.
 */
static int digest_at(struct cm_pseudo *ps, unsigned k, uint64_t epoch, const char *v, size_t n,
		     uint64_t h, unsigned char out[CM_DIGEST_BYTES], int want,
		     const struct memo_entry **ep)
{
	struct memo_set *set;
	struct memo_entry *e;
	unsigned w;

	*ep = NULL;
	if (k >= CM_KIND__COUNT)
		return CM_FAIL;
	if (ps->bypass)
		return ahead_or_compute(ps, k, epoch, v, n, out);
	if (!ps->sets && ps->map) {
		/*
		 * The first value: the cache's pages come in now, in the thread
		 * that uses it (secmem.h). Until then the lookups that cannot
		 * write (prefetch, cm_pseudo_cached) see it empty, as it is.
		 */
		(void)cm_secmem_populate(ps->map, ps->map_bytes);
		ps->sets = ps->map;
	}
	if (!ps->sets || n > CM_CACHE_VALUE_MAX) {
		bump(&ps->st.misses);
		return ahead_or_compute(ps, k, epoch, v, n, out);
	}

	if (!h)
		h = memo_hash(ps, k, epoch, v, n);

	set = &ps->sets[h & ps->set_mask];
	prefetch_set(set);
	for (w = 0; w < MEMO_WAYS; w++) {
		if (!(set->valid >> w & 1) || set->tag[w] != h)
			continue;
		e = &set->e[w];
		/* The tag only narrows: a hit needs the exact (kind, epoch, value). */
		if (e->kind == k && e->epoch == epoch && e->len == n && cm_same_bytes(e->v, v, n)) {
			if (want)
				memcpy(out, e->digest, CM_DIGEST_BYTES);
			set->ref |= (uint8_t)(1u << w);
			bump(&ps->st.hits);
			*ep = e;
			return 0;
		}
	}

	bump(&ps->st.misses);
	if (ahead_or_compute(ps, k, epoch, v, n, out) != 0)
		return CM_FAIL;

	/* Victim: a free way, else the first unreferenced way from the clock hand. */
	w = cm_clock_victim(set->valid, &set->ref, &set->hand, MEMO_WAYS);
	e = &set->e[w];
	memcpy(e->digest, out, CM_DIGEST_BYTES);
	text128(e->text, out);
	e->epoch = epoch;
	e->kind = (uint8_t)k;
	e->len = (uint8_t)n;
	if (n)
		memcpy(e->v, v, n);
	/* No tail of an evicted value may linger. */
	memset(e->v + n, 0, CM_CACHE_VALUE_MAX - n);
	set->tag[w] = h;
	set->valid |= (uint8_t)(1u << w);
	set->ref &= (uint8_t)~(1u << w);
	*ep = e;
	return 0;
}

int cm_pseudo_digest(struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch, const char *v,
		     size_t n, unsigned char out[CM_DIGEST_BYTES])
{
	const struct memo_entry *e;

	return digest_at(ps, (unsigned)kind, epoch, v, n, 0, out, 1, &e);
}

/*
 * The 8 base32 characters of the 40 bits g (MSB first), as a uint64 whose
 * byte k (k * 8 bits up) is character k. Each step halves the lanes (20-bit
 * halves to 32-bit lanes, 10 bits to 16, 5 bits to 8), the first character
 * of a lane going low; then one add per byte maps v to 'a' + v, or to
 * '2' + v - 26 from 26 on: v + 102 has bit 7 set just then, and no byte
 * carries into the next (v < 32). The alphabet of RFC 4648 section 6 in
 * lower case, without a table load per character.
 */
static inline uint64_t b32_chars(uint64_t g)
{
	const uint64_t ones = UINT64_C(0x0101010101010101);
	uint64_t x, ge26;

	x = g >> 20 | (g & 0xfffff) << 32;
	x = (x >> 10 & UINT64_C(0x000003ff000003ff)) | (x & UINT64_C(0x000003ff000003ff)) << 16;
	x = (x >> 5 & UINT64_C(0x001f001f001f001f)) | (x & UINT64_C(0x001f001f001f001f)) << 8;
	ge26 = (x + 0x66 * ones) >> 7 & ones;
	return x + 'a' * ones - ge26 * ('a' - '2' + 26);
}

/* The first c (1 to 8) characters of b32_chars into w, in order. */
static inline void b32_store(char *w, uint64_t x, size_t c)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (c == 8) {
		memcpy(w, &x, 8); /* memory order is character order: one store */
		return;
	}
#endif
	for (; c > 0; c--, w++, x >>= 8)
		*w = (char)(x & 0xff);
}

/* The 5 bytes at p as the 40-bit big-endian number of RFC 4648's groups. */
static inline uint64_t b32_group(const unsigned char *p, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
	uint64_t t;

	if (n >= 8) { /* 8 bytes lie in p[0..n): one load */
		memcpy(&t, p, 8);
		return __builtin_bswap64(t) >> 24;
	}
#endif
	(void)n;
	return (uint64_t)p[0] << 32 | (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 8 | p[4];
}

/* A last group of 1 to 4 bytes as a 40-bit group: zero bits fill it. */
static inline uint64_t b32_tail(const unsigned char *p, size_t n)
{
	uint64_t g = 0;
	size_t i;

	for (i = 0; i < n; i++)
		g |= (uint64_t)p[i] << (32 - 8 * i);
	return g;
}

#if defined(__SSE2__)
/* b32_chars of g0 and g1 at once: 16 characters, g0's first in memory. */
static inline __m128i b32_chars2(uint64_t g0, uint64_t g1)
{
	const __m128i m20 = _mm_set1_epi64x(0xfffff);
	const __m128i m10 = _mm_set1_epi64x(0x000003ff000003ff);
	const __m128i m5 = _mm_set1_epi64x(0x001f001f001f001f);
	__m128i x = _mm_set_epi64x((long long)g1, (long long)g0), ge26;

	x = _mm_or_si128(_mm_srli_epi64(x, 20), _mm_slli_epi64(_mm_and_si128(x, m20), 32));
	x = _mm_or_si128(_mm_and_si128(_mm_srli_epi64(x, 10), m10),
			 _mm_slli_epi64(_mm_and_si128(x, m10), 16));
	x = _mm_or_si128(_mm_and_si128(_mm_srli_epi64(x, 5), m5),
			 _mm_slli_epi64(_mm_and_si128(x, m5), 8));
	ge26 = _mm_cmpgt_epi8(x, _mm_set1_epi8(25)); /* bytes are 0..31: signed compare is fine */
	return _mm_sub_epi8(_mm_add_epi8(x, _mm_set1_epi8('a')),
			    _mm_and_si128(ge26, _mm_set1_epi8('a' - '2' + 26)));
}
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_B32_VBMI 1
/*
 * Up to 20 bytes (four groups, 32 characters: a default token's 16 bytes)
 * in a handful of AVX-512 VBMI instructions. A masked load takes the
 * bytes (none past n); one byte permute lays each group out as a 40-bit
 * number in a 64-bit lane (its bytes reversed: lane byte j is the group's
 * byte 4 - j, the top three bytes zero); one multishift takes the eight
 * 5-bit fields MSB first (the field k of a lane starts at bit 35 - 5k);
 * one more permute maps each to the alphabet. A masked store writes the
 * chars characters, and no byte past them.
 */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512vbmi"))) static void
b32_vbmi(char *w, const unsigned char *p, size_t n, size_t chars)
{
	static const char alphabet[32] = "abcdefghijklmnopqrstuvwxyz234567";
	/* 31: a byte of the load past n <= 20, so zero */
	const __m256i lay = _mm256_setr_epi8(4, 3, 2, 1, 0, 31, 31, 31, 9, 8, 7, 6, 5, 31, 31, 31,
					     14, 13, 12, 11, 10, 31, 31, 31, 19, 18, 17, 16, 15, 31, 31,
					     31);
	const __m256i at = _mm256_set1_epi64x(0x00050a0f14191e23LL); /* 35, 30, ..., 0 */
	__m256i x = _mm256_maskz_loadu_epi8((__mmask32)((1u << n) - 1), p);

	x = _mm256_permutexvar_epi8(lay, x);
	x = _mm256_and_si256(_mm256_multishift_epi64_epi8(at, x), _mm256_set1_epi8(31));
	x = _mm256_permutexvar_epi8(x, _mm256_loadu_si256((const __m256i *)(const void *)alphabet));
	_mm256_mask_storeu_epi8(w, (__mmask32)(chars >= 32 ? ~0u : (1u << chars) - 1), x);
}

#endif

/* RFC 4648 section 6: each 5-byte group gives 8 characters, 5 bits each, MSB first. */
void cm_base32_put(struct cm_buf *out, const unsigned char *p, size_t n)
{
	size_t chars = (n * 8 + 4) / 5;
	char *w;

	if (out->cap - out->n < chars && cm_buf_reserve(out, chars) != 0)
		return;
	w = out->p + out->n;
#ifdef HAVE_B32_VBMI
	if (n <= 20 && cm_cpu_has(CM_CPU_AVX512_VBMI)) {
		b32_vbmi(w, p, n, chars);
		out->n += chars;
		return;
	}
#endif
#if defined(__SSE2__)
	/*
	 * Two groups per store, the second maybe the last, short one, while
	 * the buffer has room for 16 characters (bytes past out->n are
	 * scratch; the buffer keeps chars of them).
	 */
	while (n > 5 && (size_t)(out->p + out->cap - w) >= 16) {
		size_t step = n >= 10 ? 10 : n;
		uint64_t g1 = n >= 10 ? b32_group(p + 5, n - 5) : b32_tail(p + 5, n - 5);

		_mm_storeu_si128((__m128i *)(void *)w, b32_chars2(b32_group(p, n), g1));
		p += step, n -= step, w += 16;
	}
#endif
	for (; n >= 5; p += 5, n -= 5, w += 8)
		b32_store(w, b32_chars(b32_group(p, n)), 8);
	if (n) {
		/*
		 * A last group of 1 to 4 bytes, no '=' padding. With room for a
		 * whole group past the token (bytes past out->n are scratch): one
		 * store, of which the buffer keeps (n * 8 + 4) / 5.
		 */
		b32_store(w, b32_chars(b32_tail(p, n)),
			  (size_t)(out->p + out->cap - w) >= 8 ? 8 : (n * 8 + 4) / 5);
	}
	out->n += chars;
}

/* The text of a default token's digest: base32 of its first 16 bytes. */
static void text128(char t[TEXT128], const unsigned char d[CM_DIGEST_BYTES])
{
	char room[32]; /* cm_base32_put writes whole groups of 8 past the text: room for them */
	struct cm_buf b = { room, 0, sizeof room, 0 };

	_Static_assert(TEXT128 == (16 * 8 + 4) / 5, "26 characters of 5 bits hold 128");
	cm_base32_put(&b, d, 16);
	memcpy(t, room, TEXT128);
}

int cm_pseudo_token(struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch, const char *v,
		    size_t n, unsigned bits, struct cm_buf *out)
{
	return cm_pseudo_token_h(ps, kind, epoch, v, n, 0, bits, out);
}

int cm_pseudo_token_h(struct cm_pseudo *ps, enum cm_kind kind, uint64_t epoch, const char *v,
		      size_t n, uint64_t h, unsigned bits, struct cm_buf *out)
{
	unsigned char d[CM_DIGEST_BYTES];
	const struct memo_entry *e;
	int ki = key_index(ps, epoch);

	if (bits % 8 != 0 || bits < CM_TOKEN_BITS_MIN || bits > CM_DIGEST_BYTES * 8 || ki < 0)
		return CM_FAIL;
	/* a cached default token is its entry's text: no digest copy, no encoding */
	if (digest_at(ps, (unsigned)kind, epoch, v, n, h, d, bits != 128, &e) != 0)
		return CM_FAIL;
	/* the id of the key that made this token: the analytics side sees a rotation */
	if (out->cap - out->n < CM_KEYID_CHARS + 1 + TEXT128 &&
	    cm_buf_reserve(out, CM_KEYID_CHARS + 1 + TEXT128) != 0)
		return CM_FAIL;
	memcpy(out->p + out->n, ps->keys[ki]->id, CM_KEYID_CHARS);
	out->p[out->n + CM_KEYID_CHARS] = '.';
	if (bits == 128 && e) {
		/* the whole token in fixed-size moves */
		memcpy(out->p + out->n + CM_KEYID_CHARS + 1, e->text, TEXT128);
		out->n += CM_KEYID_CHARS + 1 + TEXT128;
		return 0;
	}
	out->n += CM_KEYID_CHARS + 1;
	cm_base32_put(out, d, bits / 8);
	return out->oom ? CM_FAIL : 0;
}

const char *cm_pseudo_key_id(const struct cm_pseudo *ps)
{
	return ps->id;
}

void cm_pseudo_get_stats(const struct cm_pseudo *ps, struct cm_pseudo_stats *st)
{
	st->hits = __atomic_load_n(&ps->st.hits, __ATOMIC_RELAXED);
	st->misses = __atomic_load_n(&ps->st.misses, __ATOMIC_RELAXED);
	st->ahead = __atomic_load_n(&ps->st.ahead, __ATOMIC_RELAXED);
}

int cm_pseudo_set_cryptopan_key(struct cm_pseudo *ps, const unsigned char key[32])
{
	unsigned i;

	for (i = 0; i < CPAN_ENGINES; i++) {
		cm_cryptopan_free(ps->cpan[i]);
		ps->cpan[i] = NULL;
	}
	ps->cpan[0] = cm_cryptopan_new(key, ps->cache_entries / 4);
	ps->cpan_fixed = 1;
	return ps->cpan[0] ? 0 : CM_FAIL;
}

/*
 * The Crypto-PAn engine of epoch, derived on a miss (oldest replaced) from
 * the key the schedule gives epoch; NULL when it gives none.
 */
static struct cm_cryptopan *cpan_engine(struct cm_pseudo *ps, uint64_t epoch)
{
	_Static_assert(CM_CRYPTOPAN_KEYBYTES == CM_KEY_BYTES, "the scratch key holds a Crypto-PAn key");
	unsigned char *k = ps->sub;
	unsigned i;
	int rc, ki;

	if (ps->cpan_fixed)
		return ps->cpan[0];
	for (i = 0; i < CPAN_ENGINES; i++)
		if (ps->cpan[i] && ps->cpan_epoch[i] == epoch)
			return ps->cpan[i];
	ki = key_index(ps, epoch);
	if (ki < 0)
		return NULL;
	i = ps->cpan_next++ % CPAN_ENGINES;
	cm_cryptopan_free(ps->cpan[i]);
	ps->cpan[i] = NULL;
	rc = crypto_kdf_derive_from_key(k, CM_CRYPTOPAN_KEYBYTES, epoch, "cdrm-cpn",
					ps->keys[ki]->k);
	if (rc == 0)
		ps->cpan[i] = cm_cryptopan_new(k, ps->cache_entries / 4);
	sodium_memzero(k, CM_CRYPTOPAN_KEYBYTES);
	ps->cpan_epoch[i] = epoch;
	return ps->cpan[i];
}

int cm_pseudo_cryptopan(struct cm_pseudo *ps, uint64_t epoch, int family, const uint8_t *in,
			uint8_t *out)
{
	struct cm_cryptopan *c = cpan_engine(ps, epoch);

	if (!c)
		return CM_FAIL;
	if ((family == 4 ? cm_cryptopan_ip4(c, in, out) : cm_cryptopan_ip6(c, in, out)) != 0)
		return CM_FAIL;
	return 0;
}
