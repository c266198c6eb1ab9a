/*
 * \summary: SIP dialogs assembled into call records (RFC 3261, RFC 3264)
 *
 * The per-message records of sip.h are grouped by Call-ID. Each call is a
 * slot in one array; everything links slots by index, so the array can
 * grow (up to 2 * max_calls: the open calls and as many recently ended
 * ones) without fixing pointers up:
 *
 *   - a chained hash table by Call-ID (XXH3 with a random seed, so chains
 *     cannot be made long on purpose), holding open and ended calls;
 *   - the open calls in the order they started, oldest first: eviction
 *     takes the head, cm_calls_finish walks it;
 *   - four deadline queues. Capture times never go back and each queue
 *     adds one fixed delay to the time a call enters it, so appending
 *     keeps every queue sorted by deadline: a call moves to the tail when
 *     its deadline changes, and finding the calls whose time has passed
 *     looks at three heads (O(1) per message, not O(open calls)).
 *       setup     INVITE sent, no final response: INVITE + setup_timeout
 *       wait      CANCEL sent, or a final response a UAC answers by
 *                 retrying (401, 407, 3xx...): + 32 s (64*T1, Timer B)
 *       answered  2xx seen: answer or last session refresh + call_timeout
 *       linger    ended: + 32 s, so that the 200 to the BYE, the ACK of a
 *                 failure and retransmissions are known as the call's
 *
 * A call's strings (Call-ID, users, addresses, tags, media) are copied,
 * each cut to CM_CALL_FIELD_MAX bytes, into one exact-size allocation of
 * its own: the few that change (media, codecs) rebuild it. A call holds a
 * few hundred bytes, not 18 * CM_CALL_FIELD_MAX. The strings are originals
 * (numbers, addresses): wiped before they are freed. An ended call keeps
 * only the hash and length of its Call-ID while it lingers.
 *
 * Times are kept as microseconds since 1970 (int64), clamped to the years
 * 1970 to 9999, so that no deadline arithmetic can overflow.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
/* Inlined: a Call-ID is a few dozen bytes, a call would cost more than the hash. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cdrmin/calls.h"
#include "cdrmin/sip.h"

#define NIL UINT32_MAX

/* RFC 3261 section 17.1.1.2: Timer B = 64*T1, the longest an INVITE transaction lives. */
#define WAIT_US (32 * 1000000LL)
#define LINGER_US WAIT_US

/* 9999-12-31T23:59:59Z: RFC 3339 years have four digits. */
#define TIME_MAX_SEC 253402300799LL

/* Slot indexes are uint32_t, NIL excluded: 2 * max_calls of them. */
#define MAX_CALLS_CAP (1u << 30)

#define FIRST_SLOTS 64u

/* Every output field is a copy cut to CM_CALL_FIELD_MAX, or shorter (times, numbers). */
#define OUT_MAX (CM_CALL__COUNT * CM_CALL_FIELD_MAX)

/* The strings a call keeps, in its text allocation. */
enum text {
	T_CALL_ID = 0, T_CALLER, T_CALLER_HOST, T_CALLEE, T_CALLEE_HOST, T_PAI, T_SRC_IP,
	T_DST_IP, T_TRANSPORT, T_USER_AGENT, T_CALLER_TAG, T_CALLEE_TAG, T_CALLER_MIP,
	T_CALLER_MPORT, T_CALLEE_MIP, T_CALLEE_MPORT, T_OFFER_CODECS, T_ANSWER_CODECS,
	T__COUNT
};

enum state {
	S_FREE = 0,
	S_SETUP,      /* INVITE sent, no final response */
	S_CANCELLING, /* CANCEL sent, waiting for the 487 */
	S_RETRY,      /* a final response the UAC may answer with a new INVITE */
	S_ANSWERED,   /* 2xx seen */
	S_CLOSED      /* ended: lingers with its Call-ID hash only */
};

enum queue { Q_SETUP = 0, Q_WAIT, Q_ANSWERED, Q_LINGER, Q__COUNT, Q_NONE = Q__COUNT };

/* The two lists a slot is on: by start (open calls), and its deadline queue. */
enum { K_START = 0, K_QUEUE, K__COUNT };

enum side { CALLER = 0, CALLEE = 1 };

enum reason { R_BYE = 0, R_CANCEL, R_REJECTED, R_TIMEOUT, R_EVICTED, R_EOF };

static const char *const reason_names[] = {
	[R_BYE] = "bye", [R_CANCEL] = "cancel", [R_REJECTED] = "rejected",
	[R_TIMEOUT] = "timeout", [R_EVICTED] = "evicted", [R_EOF] = "eof",
};

static const char *const field_names[CM_CALL__COUNT] = {
	[CM_CALL_CALL_ID] = "call_id",
	[CM_CALL_CALLER] = "caller",
	[CM_CALL_CALLER_HOST] = "caller_host",
	[CM_CALL_CALLEE] = "callee",
	[CM_CALL_CALLEE_HOST] = "callee_host",
	[CM_CALL_PAI_USER] = "pai_user",
	[CM_CALL_SRC_IP] = "src_ip",
	[CM_CALL_DST_IP] = "dst_ip",
	[CM_CALL_TRANSPORT] = "transport",
	[CM_CALL_USER_AGENT] = "user_agent",
	[CM_CALL_INVITE_TIME] = "invite_time",
	[CM_CALL_RINGING_TIME] = "ringing_time",
	[CM_CALL_ANSWER_TIME] = "answer_time",
	[CM_CALL_END_TIME] = "end_time",
	[CM_CALL_DURATION] = "duration",
	[CM_CALL_SETUP_DELAY] = "setup_delay",
	[CM_CALL_FINAL_STATUS] = "final_status",
	[CM_CALL_HANGUP_BY] = "hangup_by",
	[CM_CALL_END_REASON] = "end_reason",
	[CM_CALL_CALLER_MEDIA_IP] = "caller_media_ip",
	[CM_CALL_CALLER_MEDIA_PORT] = "caller_media_port",
	[CM_CALL_CALLEE_MEDIA_IP] = "callee_media_ip",
	[CM_CALL_CALLEE_MEDIA_PORT] = "callee_media_port",
	[CM_CALL_CODECS] = "codecs",
};

struct link {
	uint32_t prev, next;
};

struct list {
	uint32_t head, tail;
};

struct call {
	uint64_t hash;        /* XXH3 of the whole Call-ID */
	size_t id_len;        /* length of the whole Call-ID (text holds its cut) */
	uint32_t hnext;       /* hash chain; the free list when S_FREE */
	struct link lk[K__COUNT];
	unsigned char state;  /* enum state */
	unsigned char queue;  /* enum queue */
	unsigned char late_offer;   /* the last INVITE had no SDP: its 2xx offers, the ACK answers */
	unsigned char has_refresh[2];
	uint32_t cseq;        /* CSeq number of the initial INVITE (its latest retry) */
	uint32_t refresh_cseq[2]; /* last re-INVITE or UPDATE of each side: retransmissions */
	unsigned final_status;    /* 0: none */
	int64_t deadline;
	int64_t invite_t, ring_t, answer_t; /* microseconds; -1: not yet */
	int64_t event_t;      /* the CANCEL, or the final response awaiting a retry */
	char *text;           /* the strings, exact size; NULL when closed */
	uint16_t off[T__COUNT], len[T__COUNT];
};

struct cm_calls {
	struct cm_calls_opts o;
	struct call *slot;
	uint32_t cap;   /* slots allocated */
	uint32_t used;  /* slots ever handed out: [0, used) */
	uint32_t limit; /* 2 * max_calls */
	uint32_t free_head;
	uint32_t *bucket;
	size_t bmask;
	struct list start;
	struct list q[Q__COUNT];
	size_t open, lingering;
	uint64_t seed;
	int64_t now;
	struct cm_calls_stats st;
	struct cm_slice f[CM_CALL__COUNT];
	size_t out_n;
	char out[OUT_MAX];
};

const char *cm_call_field_name(enum cm_call_field f)
{
	return (unsigned)f < CM_CALL__COUNT ? field_names[f] : "unknown";
}

int cm_call_schema(struct cm_schema *s)
{
	int i;

	for (i = 0; i < CM_CALL__COUNT; i++)
		if (cm_schema_add(s, field_names[i], strlen(field_names[i])) != 0)
			return -1;
	return 0;
}

void cm_calls_opts_default(struct cm_calls_opts *o)
{
	o->max_calls = 100000;
	o->setup_timeout_ms = 300000;
	o->call_timeout_ms = 14400000;
}

const struct cm_calls_stats *cm_calls_stats(const struct cm_calls *c)
{
	return &c->st;
}

/* ------------------------------------------------------------------ */
/* Reading the message                                                 */
/* ------------------------------------------------------------------ */

/* Field f of the message, empty when the record is short or the value unset. */
static struct cm_slice fld(const struct cm_record *sip, enum cm_sip_field f)
{
	struct cm_slice none = { "", 0 };

	if ((size_t)f >= sip->n || !sip->f[f].p)
		return none;
	return sip->f[f];
}

#define SLICE_IS(s, lit) cm_slice_eq((s), (lit), sizeof(lit) - 1)

static int slice_same(struct cm_slice a, struct cm_slice b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

/* A CSeq number (RFC 3261 section 20.16: 32-bit unsigned); 0 when not one. */
static uint32_t parse_cseq(struct cm_slice s)
{
	uint64_t v = 0;
	size_t i;

	if (s.n == 0 || s.n > 10)
		return 0;
	for (i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
	}
	return v > UINT32_MAX ? 0 : (uint32_t)v;
}

/* A status code 100-699 (RFC 3261 section 21); 0 when not one. */
static unsigned parse_status(struct cm_slice s)
{
	if (s.n != 3 || s.p[0] < '1' || s.p[0] > '6' || s.p[1] < '0' || s.p[1] > '9' ||
	    s.p[2] < '0' || s.p[2] > '9')
		return 0;
	return (unsigned)(s.p[0] - '0') * 100 + (unsigned)(s.p[1] - '0') * 10 + (unsigned)(s.p[2] - '0');
}

static int has_sdp(const struct cm_record *sip)
{
	return fld(sip, CM_SIP_SDP_C_IP).n || fld(sip, CM_SIP_SDP_MEDIA_PORTS).n ||
	       fld(sip, CM_SIP_SDP_CODECS).n;
}

/*
 * A final response after which a UAC sends the INVITE again with the same
 * Call-ID and a higher CSeq: redirection (RFC 3261 section 8.1.3.4), the
 * 4xx of section 8.1.3.5 (credentials, size, content, URI scheme,
 * extensions), 421 and 422 (RFC 4028 session timer) and 494 (RFC 3329).
 */
static int retryable(unsigned code)
{
	if (code >= 300 && code < 400)
		return 1;
	switch (code) {
	case 401: case 407: case 413: case 415: case 416: case 420: case 421: case 422: case 494:
		return 1;
	default:
		return 0;
	}
}

/* n cut to CM_CALL_FIELD_MAX bytes, backing off to the start of a split UTF-8 character. */
static size_t cut_len(const char *p, size_t n)
{
	size_t m, k;

	if (n <= CM_CALL_FIELD_MAX)
		return n;
	m = CM_CALL_FIELD_MAX;
	/* p[m] is the first byte left out: a continuation byte means a split character. */
	for (k = 0; k < 3 && m > 0 && ((unsigned char)p[m] & 0xC0) == 0x80; k++)
		m--;
	if (((unsigned char)p[m] & 0xC0) == 0x80)
		return CM_CALL_FIELD_MAX; /* not UTF-8: a plain cut */
	return m;
}

/* The first m= port that is not 0 (a refused stream, RFC 3264 section 6) of "p1,p2,...". */
static struct cm_slice first_port(struct cm_slice ports)
{
	size_t i = 0, j;
	struct cm_slice none = { "", 0 };

	while (i < ports.n) {
		for (j = i; j < ports.n && ports.p[j] != ','; j++)
			;
		if (j > i) {
			size_t k = i;

			while (k < j && ports.p[k] == '0')
				k++;
			if (k < j) {
				struct cm_slice s = { ports.p + i, j - i };
				return s;
			}
		}
		i = j + 1;
	}
	return none;
}

/* c= 0.0.0.0 puts a stream on hold (RFC 3264 section 8.4): not where the media goes. */
static int unspecified_ip(struct cm_slice ip)
{
	return ip.n == 0 || SLICE_IS(ip, "0.0.0.0") || SLICE_IS(ip, "::");
}

/* ------------------------------------------------------------------ */
/* Times                                                               */
/* ------------------------------------------------------------------ */

static int64_t to_us(int64_t sec, uint32_t usec)
{
	if (sec > TIME_MAX_SEC)
		sec = TIME_MAX_SEC + 1;
	sec += usec / 1000000u;
	usec %= 1000000u;
	if (sec < 0)
		return 0;
	if (sec > TIME_MAX_SEC)
		return TIME_MAX_SEC * 1000000 + 999999;
	return sec * 1000000 + (int64_t)usec;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian; H. Hinnant's algorithm). */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

static void out_start(struct cm_calls *c, enum cm_call_field f)
{
	c->f[f].p = c->out + c->out_n;
	c->f[f].n = 0;
}

/* Appends to field f, which must be the last one started. Sizes are bounded by construction. */
static void out_add(struct cm_calls *c, enum cm_call_field f, const char *p, size_t n)
{
	if (n > OUT_MAX - c->out_n)
		abort(); /* unreachable: every field fits its share */
	memcpy(c->out + c->out_n, p, n);
	c->out_n += n;
	c->f[f].n += n;
}

static void out_digits(struct cm_calls *c, enum cm_call_field f, uint64_t v, int width)
{
	char tmp[24];
	int i = (int)sizeof tmp;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
		width--;
	} while (v || width > 0);
	out_add(c, f, tmp + i, sizeof tmp - (size_t)i);
}

static void out_text(struct cm_calls *c, enum cm_call_field f, const struct call *k, enum text t)
{
	out_start(c, f);
	out_add(c, f, k->text + k->off[t], k->len[t]);
}

/* RFC 3339 UTC with microseconds, as sip.h writes capture times; empty when t < 0. */
static void out_time(struct cm_calls *c, enum cm_call_field f, int64_t t)
{
	int64_t sec, y;
	unsigned mo, d, s;

	out_start(c, f);
	if (t < 0)
		return;
	sec = t / 1000000;
	civil(sec / 86400, &y, &mo, &d);
	s = (unsigned)(sec % 86400);
	out_digits(c, f, (uint64_t)y, 4);
	out_add(c, f, "-", 1);
	out_digits(c, f, mo, 2);
	out_add(c, f, "-", 1);
	out_digits(c, f, d, 2);
	out_add(c, f, "T", 1);
	out_digits(c, f, s / 3600, 2);
	out_add(c, f, ":", 1);
	out_digits(c, f, s / 60 % 60, 2);
	out_add(c, f, ":", 1);
	out_digits(c, f, s % 60, 2);
	out_add(c, f, ".", 1);
	out_digits(c, f, (uint64_t)(t % 1000000), 6);
	out_add(c, f, "Z", 1);
}

/* to - from in seconds with 3 decimals, rounded to the nearest millisecond; empty when unknown. */
static void out_span(struct cm_calls *c, enum cm_call_field f, int64_t from, int64_t to)
{
	uint64_t ms;

	out_start(c, f);
	if (from < 0 || to < 0)
		return;
	ms = to > from ? (uint64_t)(to - from + 500) / 1000 : 0;
	out_digits(c, f, ms / 1000, 1);
	out_add(c, f, ".", 1);
	out_digits(c, f, ms % 1000, 3);
}

/* Fills c->f from call k ending for reason at end_t. */
static void build_record(struct cm_calls *c, const struct call *k, enum reason why, int64_t end_t,
			 int hangup)
{
	static const unsigned char plain[][2] = {
		{ CM_CALL_CALL_ID, T_CALL_ID }, { CM_CALL_CALLER, T_CALLER },
		{ CM_CALL_CALLER_HOST, T_CALLER_HOST }, { CM_CALL_CALLEE, T_CALLEE },
		{ CM_CALL_CALLEE_HOST, T_CALLEE_HOST }, { CM_CALL_PAI_USER, T_PAI },
		{ CM_CALL_SRC_IP, T_SRC_IP }, { CM_CALL_DST_IP, T_DST_IP },
		{ CM_CALL_TRANSPORT, T_TRANSPORT }, { CM_CALL_USER_AGENT, T_USER_AGENT },
		{ CM_CALL_CALLER_MEDIA_IP, T_CALLER_MIP },
		{ CM_CALL_CALLER_MEDIA_PORT, T_CALLER_MPORT },
		{ CM_CALL_CALLEE_MEDIA_IP, T_CALLEE_MIP },
		{ CM_CALL_CALLEE_MEDIA_PORT, T_CALLEE_MPORT },
	};
	const char *s;
	size_t i;
	int64_t setup_end;

	c->out_n = 0;
	for (i = 0; i < sizeof plain / sizeof plain[0]; i++)
		out_text(c, (enum cm_call_field)plain[i][0], k, (enum text)plain[i][1]);
	out_time(c, CM_CALL_INVITE_TIME, k->invite_t);
	out_time(c, CM_CALL_RINGING_TIME, k->ring_t);
	out_time(c, CM_CALL_ANSWER_TIME, k->answer_t);
	out_time(c, CM_CALL_END_TIME, end_t);
	out_span(c, CM_CALL_DURATION, k->answer_t, end_t);
	setup_end = k->ring_t >= 0 ? k->ring_t : k->answer_t >= 0 ? k->answer_t : end_t;
	out_span(c, CM_CALL_SETUP_DELAY, k->invite_t, setup_end);
	out_start(c, CM_CALL_FINAL_STATUS);
	if (k->final_status)
		out_digits(c, CM_CALL_FINAL_STATUS, k->final_status, 1);
	out_start(c, CM_CALL_HANGUP_BY);
	if (hangup >= 0) {
		s = hangup == CALLER ? "caller" : "callee";
		out_add(c, CM_CALL_HANGUP_BY, s, strlen(s));
	}
	out_start(c, CM_CALL_END_REASON);
	out_add(c, CM_CALL_END_REASON, reason_names[why], strlen(reason_names[why]));
	out_text(c, CM_CALL_CODECS, k, k->len[T_ANSWER_CODECS] ? T_ANSWER_CODECS : T_OFFER_CODECS);
}

/* ------------------------------------------------------------------ */
/* Slots, lists, hash table                                            */
/* ------------------------------------------------------------------ */

static void list_append(struct cm_calls *c, struct list *l, uint32_t i, int k)
{
	struct link *lk = &c->slot[i].lk[k];

	lk->prev = l->tail;
	lk->next = NIL;
	if (l->tail != NIL)
		c->slot[l->tail].lk[k].next = i;
	else
		l->head = i;
	l->tail = i;
}

static void list_remove(struct cm_calls *c, struct list *l, uint32_t i, int k)
{
	struct link *lk = &c->slot[i].lk[k];

	if (lk->prev != NIL)
		c->slot[lk->prev].lk[k].next = lk->next;
	else
		l->head = lk->next;
	if (lk->next != NIL)
		c->slot[lk->next].lk[k].prev = lk->prev;
	else
		l->tail = lk->prev;
	lk->prev = lk->next = NIL;
}

/* Moves call i to the tail of queue q with deadline now + delay: the queue stays sorted. */
static void requeue(struct cm_calls *c, uint32_t i, enum queue q, int64_t delay)
{
	struct call *k = &c->slot[i];

	if (k->queue != Q_NONE)
		list_remove(c, &c->q[k->queue], i, K_QUEUE);
	k->queue = (unsigned char)q;
	k->deadline = c->now + delay;
	list_append(c, &c->q[q], i, K_QUEUE);
}

static void text_wipe(struct call *k)
{
	size_t n = 0;
	int t;

	if (!k->text)
		return;
	for (t = 0; t < T__COUNT; t++)
		n += k->len[t];
	sodium_memzero(k->text, n);
	free(k->text);
	k->text = NULL;
	memset(k->off, 0, sizeof k->off);
	memset(k->len, 0, sizeof k->len);
}

/*
 * Replaces the strings of call k with v[0..T__COUNT) (each already cut,
 * possibly pointing into k's own text) with one new allocation. Returns 0,
 * or -1 when memory is short (k unchanged).
 */
static int text_build(struct call *k, const struct cm_slice *v)
{
	uint16_t off[T__COUNT];
	size_t n = 0, at = 0;
	char *p;
	int t;

	for (t = 0; t < T__COUNT; t++)
		n += v[t].n;
	p = malloc(n ? n : 1);
	if (!p)
		return -1;
	for (t = 0; t < T__COUNT; t++) {
		if (v[t].n)
			memcpy(p + at, v[t].p, v[t].n);
		off[t] = (uint16_t)at;
		at += v[t].n;
	}
	text_wipe(k);
	k->text = p;
	for (t = 0; t < T__COUNT; t++) {
		k->off[t] = off[t];
		k->len[t] = (uint16_t)v[t].n;
	}
	return 0;
}

/* Sets one string of call k to s (cut) when it differs. 0 or -1 (memory). */
static int text_set(struct call *k, enum text t, struct cm_slice s)
{
	struct cm_slice v[T__COUNT];
	int u;

	s.n = cut_len(s.p, s.n);
	if (s.n == k->len[t] && (s.n == 0 || memcmp(k->text + k->off[t], s.p, s.n) == 0))
		return 0;
	for (u = 0; u < T__COUNT; u++) {
		v[u].p = k->text + k->off[u];
		v[u].n = k->len[u];
	}
	v[t] = s;
	return text_build(k, v);
}

static struct cm_slice text_get(const struct call *k, enum text t)
{
	struct cm_slice s = { k->text ? k->text + k->off[t] : "", k->text ? k->len[t] : 0 };
	return s;
}

static void hash_insert(struct cm_calls *c, uint32_t i)
{
	size_t b = (size_t)c->slot[i].hash & c->bmask;

	c->slot[i].hnext = c->bucket[b];
	c->bucket[b] = i;
}

static void hash_remove(struct cm_calls *c, uint32_t i)
{
	uint32_t *pp = &c->bucket[(size_t)c->slot[i].hash & c->bmask];

	while (*pp != i)
		pp = &c->slot[*pp].hnext;
	*pp = c->slot[i].hnext;
}

/* The slot of Call-ID id[0..n) with hash h, open or lingering, or NIL. */
static uint32_t hash_find(const struct cm_calls *c, uint64_t h, const char *id, size_t n)
{
	uint32_t i = c->bucket[(size_t)h & c->bmask];

	for (; i != NIL; i = c->slot[i].hnext) {
		const struct call *k = &c->slot[i];

		if (k->hash != h || k->id_len != n)
			continue;
		/* An ended call kept only the hash: 64 bits, seeded, are enough to recognize late messages. */
		if (k->state == S_CLOSED || memcmp(k->text + k->off[T_CALL_ID], id, k->len[T_CALL_ID]) == 0)
			return i;
	}
	return NIL;
}

/* Doubles the slot array (up to limit) and rebuilds the buckets. 0 or -1 (memory). */
static int grow(struct cm_calls *c)
{
	uint32_t ncap = c->cap ? c->cap * 2 : FIRST_SLOTS, i;
	size_t nb = 1;
	struct call *ns;
	uint32_t *bk;

	if (ncap > c->limit || ncap < c->cap)
		ncap = c->limit;
	while (nb < ncap)
		nb <<= 1;
	/* The slots hold no original, only hashes and times: realloc may leave copies. */
	ns = realloc(c->slot, (size_t)ncap * sizeof *ns);
	if (!ns)
		return -1;
	c->slot = ns;
	c->cap = ncap;
	bk = malloc(nb * sizeof *bk);
	if (!bk)
		return -1; /* the old buckets still fit the slots in use */
	free(c->bucket);
	c->bucket = bk;
	c->bmask = nb - 1;
	for (i = 0; i < nb; i++)
		bk[i] = NIL;
	for (i = 0; i < c->used; i++)
		if (c->slot[i].state != S_FREE)
			hash_insert(c, i);
	return 0;
}

/* A fresh slot (S_FREE, not linked), or NIL when memory is short. */
static uint32_t slot_get(struct cm_calls *c)
{
	uint32_t i;

	if (c->free_head != NIL) {
		i = c->free_head;
		c->free_head = c->slot[i].hnext;
	} else {
		if (c->used == c->cap && (c->cap == c->limit || grow(c) != 0))
			return NIL;
		i = c->used++;
	}
	memset(&c->slot[i], 0, sizeof c->slot[i]);
	c->slot[i].hnext = NIL;
	c->slot[i].queue = Q_NONE;
	c->slot[i].lk[K_START].prev = c->slot[i].lk[K_START].next = NIL;
	c->slot[i].lk[K_QUEUE].prev = c->slot[i].lk[K_QUEUE].next = NIL;
	return i;
}

/* Forgets lingering call i: out of the table, its slot free. */
static void slot_drop(struct cm_calls *c, uint32_t i)
{
	struct call *k = &c->slot[i];

	hash_remove(c, i);
	list_remove(c, &c->q[Q_LINGER], i, K_QUEUE);
	text_wipe(k);
	k->state = S_FREE;
	k->queue = Q_NONE;
	k->hnext = c->free_head;
	c->free_head = i;
	c->lingering--;
}

/* ------------------------------------------------------------------ */
/* Ending calls                                                        */
/* ------------------------------------------------------------------ */

/*
 * Ends open call i for reason at end_t (hangup: CALLER, CALLEE or -1):
 * writes its record, counts it, keeps its Call-ID lingering, then calls
 * fn. Returns fn's value.
 */
static int end_call(struct cm_calls *c, uint32_t i, enum reason why, int64_t end_t, int hangup,
		    cm_call_fn fn, void *ud)
{
	struct call *k = &c->slot[i];
	struct cm_record rec;

	build_record(c, k, why, end_t, hangup);
	c->st.calls++;
	switch (why) {
	case R_BYE: c->st.bye++; break;
	case R_CANCEL: c->st.cancel++; break;
	case R_REJECTED: c->st.rejected++; break;
	case R_TIMEOUT: c->st.timeout++; break;
	case R_EVICTED: c->st.evicted++; break;
	case R_EOF: c->st.eof++; break;
	}

	list_remove(c, &c->start, i, K_START);
	c->open--;
	text_wipe(k);
	k->state = S_CLOSED;
	if (c->lingering >= c->o.max_calls && c->q[Q_LINGER].head != NIL)
		slot_drop(c, c->q[Q_LINGER].head);
	requeue(c, i, Q_LINGER, LINGER_US);
	c->lingering++;

	memset(&rec, 0, sizeof rec);
	rec.f = c->f;
	rec.n = CM_CALL__COUNT;
	return fn(ud, &rec);
}

/* Ends the open calls whose deadline has passed, earliest first, and forgets old lingerers. */
static int expire(struct cm_calls *c, cm_call_fn fn, void *ud)
{
	for (;;) {
		uint32_t i = NIL;
		int q, r;
		struct call *k;

		for (q = Q_SETUP; q <= Q_ANSWERED; q++) {
			uint32_t h = c->q[q].head;

			if (h != NIL && (i == NIL || c->slot[h].deadline < c->slot[i].deadline))
				i = h;
		}
		if (i == NIL || c->slot[i].deadline >= c->now)
			break;
		k = &c->slot[i];
		switch (k->state) {
		case S_CANCELLING:
			r = end_call(c, i, R_CANCEL, k->event_t, CALLER, fn, ud);
			break;
		case S_RETRY:
			r = end_call(c, i, R_REJECTED, k->event_t, -1, fn, ud);
			break;
		default:
			r = end_call(c, i, R_TIMEOUT, k->deadline, -1, fn, ud);
			break;
		}
		if (r)
			return r;
	}
	while (c->q[Q_LINGER].head != NIL && c->slot[c->q[Q_LINGER].head].deadline < c->now)
		slot_drop(c, c->q[Q_LINGER].head);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Applying a message                                                  */
/* ------------------------------------------------------------------ */

/*
 * Opens a call for initial INVITE sip (Call-ID hash h), after evicting the
 * oldest open call when max_calls are open. reuse: the lingering slot of
 * the same Call-ID, or NIL.
 */
static int open_call(struct cm_calls *c, const struct cm_record *sip, uint64_t h, uint32_t reuse,
		     cm_call_fn fn, void *ud)
{
	struct cm_slice v[T__COUNT], id = fld(sip, CM_SIP_CALL_ID);
	struct cm_slice ruri = fld(sip, CM_SIP_RURI_USER);
	struct call *k;
	uint32_t i;
	int t, r;

	if (reuse != NIL)
		slot_drop(c, reuse);
	if (c->open >= c->o.max_calls) {
		r = end_call(c, c->start.head, R_EVICTED, c->now, -1, fn, ud);
		if (r)
			return r;
	}
	i = slot_get(c);
	if (i == NIL)
		return -1;
	memset(v, 0, sizeof v);
	v[T_CALL_ID] = id;
	v[T_CALLER] = fld(sip, CM_SIP_FROM_USER);
	v[T_CALLER_HOST] = fld(sip, CM_SIP_FROM_HOST);
	/* The Request-URI names who is called; without a user part, the To URI does. */
	v[T_CALLEE] = ruri.n ? ruri : fld(sip, CM_SIP_TO_USER);
	v[T_CALLEE_HOST] = ruri.n ? fld(sip, CM_SIP_RURI_HOST) : fld(sip, CM_SIP_TO_HOST);
	v[T_PAI] = fld(sip, CM_SIP_PAI_USER);
	v[T_SRC_IP] = fld(sip, CM_SIP_SRC_IP);
	v[T_DST_IP] = fld(sip, CM_SIP_DST_IP);
	v[T_TRANSPORT] = fld(sip, CM_SIP_TRANSPORT);
	v[T_USER_AGENT] = fld(sip, CM_SIP_USER_AGENT);
	v[T_CALLER_TAG] = fld(sip, CM_SIP_FROM_TAG);
	if (!unspecified_ip(fld(sip, CM_SIP_SDP_C_IP)))
		v[T_CALLER_MIP] = fld(sip, CM_SIP_SDP_C_IP);
	v[T_CALLER_MPORT] = first_port(fld(sip, CM_SIP_SDP_MEDIA_PORTS));
	v[T_OFFER_CODECS] = fld(sip, CM_SIP_SDP_CODECS);
	for (t = 0; t < T__COUNT; t++)
		v[t].n = cut_len(v[t].p, v[t].n);

	k = &c->slot[i];
	if (text_build(k, v) != 0) {
		k->hnext = c->free_head;
		c->free_head = i;
		return -1;
	}
	k->hash = h;
	k->id_len = id.n;
	k->state = S_SETUP;
	k->cseq = parse_cseq(fld(sip, CM_SIP_CSEQ));
	k->late_offer = !has_sdp(sip);
	k->invite_t = c->now;
	k->ring_t = k->answer_t = k->event_t = -1;
	hash_insert(c, i);
	list_append(c, &c->start, i, K_START);
	c->open++;
	requeue(c, i, Q_SETUP, (int64_t)c->o.setup_timeout_ms * 1000);
	return 0;
}

/*
 * Takes the SDP that side sent in sip: where its media goes (hold
 * addresses and refused streams left out) and its codecs, as the offer or
 * the answer (RFC 3264). 0 or -1 (memory).
 */
static int take_sdp(struct call *k, const struct cm_record *sip, enum side side, int answer)
{
	struct cm_slice ip = fld(sip, CM_SIP_SDP_C_IP);
	struct cm_slice port = first_port(fld(sip, CM_SIP_SDP_MEDIA_PORTS));
	struct cm_slice codecs = fld(sip, CM_SIP_SDP_CODECS);

	if (!unspecified_ip(ip) && text_set(k, side == CALLER ? T_CALLER_MIP : T_CALLEE_MIP, ip) != 0)
		return -1;
	if (port.n && text_set(k, side == CALLER ? T_CALLER_MPORT : T_CALLEE_MPORT, port) != 0)
		return -1;
	if (codecs.n && text_set(k, answer ? T_ANSWER_CODECS : T_OFFER_CODECS, codecs) != 0)
		return -1;
	return 0;
}

/* Which side sent a request of call k with this From tag (the caller when tags are missing). */
static enum side request_side(const struct call *k, struct cm_slice from_tag)
{
	struct cm_slice ct = text_get(k, T_CALLER_TAG);

	return ct.n == 0 || slice_same(from_tag, ct) ? CALLER : CALLEE;
}

/*
 * Whether a BYE with these tags belongs to the call's dialog (RFC 3261
 * section 12: Call-ID, local and remote tags). Once answered, the BYE of
 * another fork's dialog does not end the call; with tags missing, any
 * BYE does.
 */
static int bye_in_dialog(const struct call *k, struct cm_slice from_tag, struct cm_slice to_tag)
{
	struct cm_slice ct = text_get(k, T_CALLER_TAG), et = text_get(k, T_CALLEE_TAG);

	if (ct.n == 0)
		return 1;
	if (slice_same(from_tag, ct))
		return et.n == 0 || to_tag.n == 0 || slice_same(to_tag, et);
	if (slice_same(to_tag, ct))
		return et.n == 0 || from_tag.n == 0 || slice_same(from_tag, et);
	return 0;
}

static int apply_request(struct cm_calls *c, uint32_t i, const struct cm_record *sip,
			 cm_call_fn fn, void *ud)
{
	struct call *k = &c->slot[i];
	struct cm_slice method = fld(sip, CM_SIP_METHOD);
	struct cm_slice from_tag = fld(sip, CM_SIP_FROM_TAG), to_tag = fld(sip, CM_SIP_TO_TAG);
	uint32_t cseq = parse_cseq(fld(sip, CM_SIP_CSEQ));
	enum side side = request_side(k, from_tag);
	int sdp = has_sdp(sip);

	if (SLICE_IS(method, "INVITE") && to_tag.n == 0) {
		/* The same INVITE again (a retransmission, or a proxy's fork): nothing new. */
		if (cseq <= k->cseq || k->state == S_ANSWERED)
			return 0;
		/* A new INVITE after a 401, 407, 3xx... (RFC 3261 8.1.3.5): the same call goes on. */
		k->cseq = cseq;
		k->state = S_SETUP;
		k->final_status = 0;
		k->event_t = -1;
		k->late_offer = !sdp;
		requeue(c, i, Q_SETUP, (int64_t)c->o.setup_timeout_ms * 1000);
		return sdp ? take_sdp(k, sip, CALLER, 0) : 0;
	}
	if (SLICE_IS(method, "INVITE") || SLICE_IS(method, "UPDATE")) {
		/* A target or session refresh (RFC 3261 14, RFC 3311, RFC 4028); once per CSeq. */
		if (k->has_refresh[side] && k->refresh_cseq[side] == cseq)
			return 0;
		k->has_refresh[side] = 1;
		k->refresh_cseq[side] = cseq;
		if (SLICE_IS(method, "INVITE"))
			k->late_offer = !sdp;
		if (k->state == S_ANSWERED)
			requeue(c, i, Q_ANSWERED, (int64_t)c->o.call_timeout_ms * 1000);
		return sdp ? take_sdp(k, sip, side, 0) : 0;
	}
	if (SLICE_IS(method, "ACK")) {
		/* RFC 3264 section 2: when the INVITE had no offer, the ACK carries the answer. */
		if (sdp && k->late_offer)
			return take_sdp(k, sip, side, 1);
		return 0;
	}
	if (SLICE_IS(method, "CANCEL")) {
		/* RFC 3261 9.1: it cancels the pending INVITE of the same CSeq number; once. */
		if (k->state == S_SETUP && cseq == k->cseq) {
			k->state = S_CANCELLING;
			k->event_t = c->now;
			requeue(c, i, Q_WAIT, WAIT_US);
		}
		return 0;
	}
	if (SLICE_IS(method, "BYE")) {
		if (k->state == S_RETRY || !bye_in_dialog(k, from_tag, to_tag))
			return 0;
		return end_call(c, i, R_BYE, c->now, (int)side, fn, ud);
	}
	return 0;
}

static int apply_response(struct cm_calls *c, uint32_t i, const struct cm_record *sip,
			  cm_call_fn fn, void *ud)
{
	struct call *k = &c->slot[i];
	struct cm_slice cm = fld(sip, CM_SIP_CSEQ_METHOD), from_tag = fld(sip, CM_SIP_FROM_TAG);
	unsigned code = parse_status(fld(sip, CM_SIP_STATUS));
	uint32_t cseq = parse_cseq(fld(sip, CM_SIP_CSEQ));
	/* A response comes from the side the request went to. */
	enum side side = request_side(k, from_tag) == CALLER ? CALLEE : CALLER;
	int sdp = has_sdp(sip), initial;

	if (code == 0)
		return 0;
	if (SLICE_IS(cm, "UPDATE"))
		return code < 300 && sdp ? take_sdp(k, sip, side, 1) : 0;
	if (!SLICE_IS(cm, "INVITE"))
		return 0; /* to CANCEL, BYE, PRACK, ... */
	initial = cseq == k->cseq && side == CALLEE;
	if (!initial) {
		/* To a re-INVITE: its SDP is the answer, or the offer when the re-INVITE had none. */
		return code < 300 && sdp ? take_sdp(k, sip, side, !k->late_offer) : 0;
	}
	/* After the 2xx, more 2xx are retransmissions or other forks' (RFC 3261 13.2.2.4). */
	if (k->state == S_ANSWERED || k->state == S_RETRY)
		return 0;
	if (code < 200) {
		if (code >= 180 && code <= 189 && k->ring_t < 0)
			k->ring_t = c->now;
		/* Early media (RFC 3960): the callee's SDP in a provisional response. */
		return sdp ? take_sdp(k, sip, CALLEE, !k->late_offer) : 0;
	}
	k->final_status = code;
	if (code < 300) {
		k->state = S_ANSWERED;
		k->answer_t = c->now;
		if (text_set(k, T_CALLEE_TAG, fld(sip, CM_SIP_TO_TAG)) != 0)
			return -1;
		requeue(c, i, Q_ANSWERED, (int64_t)c->o.call_timeout_ms * 1000);
		return sdp ? take_sdp(k, sip, CALLEE, !k->late_offer) : 0;
	}
	/* RFC 3261 9.1: 487 is what a CANCEL gets the INVITE; the CANCEL itself may not be seen. */
	if (code == 487)
		return end_call(c, i, R_CANCEL, c->now, CALLER, fn, ud);
	if (k->state == S_SETUP && retryable(code)) {
		k->state = S_RETRY;
		k->event_t = c->now;
		requeue(c, i, Q_WAIT, WAIT_US);
		return 0;
	}
	return end_call(c, i, R_REJECTED, c->now, -1, fn, ud);
}

int cm_calls_message(struct cm_calls *c, const struct cm_record *sip, int64_t sec, uint32_t usec,
		     cm_call_fn fn, void *ud)
{
	struct cm_slice id = fld(sip, CM_SIP_CALL_ID);
	struct cm_slice method = fld(sip, CM_SIP_METHOD);
	int initial_invite, r;
	uint64_t h;
	uint32_t i;
	int64_t t = to_us(sec, usec);

	c->st.messages++;
	if (t > c->now)
		c->now = t;
	r = expire(c, fn, ud);
	if (r)
		return r;
	if (id.n == 0) {
		c->st.not_calls++;
		return 0;
	}
	initial_invite = SLICE_IS(method, "INVITE") && fld(sip, CM_SIP_TO_TAG).n == 0;
	h = XXH3_64bits_withSeed(id.p, id.n, c->seed);
	i = hash_find(c, h, id.p, id.n);
	if (i == NIL) {
		if (!initial_invite) {
			c->st.not_calls++;
			return 0;
		}
		return open_call(c, sip, h, NIL, fn, ud);
	}
	if (c->slot[i].state == S_CLOSED) {
		/* A later INVITE of an ended call's Call-ID starts a new call; the same one again does not. */
		if (initial_invite && parse_cseq(fld(sip, CM_SIP_CSEQ)) > c->slot[i].cseq)
			return open_call(c, sip, h, i, fn, ud);
		return 0;
	}
	if (method.n)
		return apply_request(c, i, sip, fn, ud);
	return apply_response(c, i, sip, fn, ud);
}

int cm_calls_finish(struct cm_calls *c, cm_call_fn fn, void *ud)
{
	int r;

	while (c->start.head != NIL) {
		r = end_call(c, c->start.head, R_EOF, c->now, -1, fn, ud);
		if (r)
			return r;
	}
	return 0;
}

struct cm_calls *cm_calls_new(const struct cm_calls_opts *o)
{
	struct cm_calls *c = calloc(1, sizeof *c);
	int q;

	if (!c)
		return NULL;
	if (o)
		c->o = *o;
	else
		cm_calls_opts_default(&c->o);
	if (c->o.max_calls == 0)
		c->o.max_calls = 1;
	if (c->o.max_calls > MAX_CALLS_CAP)
		c->o.max_calls = MAX_CALLS_CAP;
	c->limit = (uint32_t)(2 * c->o.max_calls);
	c->free_head = NIL;
	c->start.head = c->start.tail = NIL;
	for (q = 0; q < Q__COUNT; q++)
		c->q[q].head = c->q[q].tail = NIL;
	randombytes_buf(&c->seed, sizeof c->seed);
	if (grow(c) != 0) {
		cm_calls_free(c);
		return NULL;
	}
	return c;
}

void cm_calls_free(struct cm_calls *c)
{
	uint32_t i;

	if (!c)
		return;
	for (i = 0; i < c->used; i++)
		text_wipe(&c->slot[i]);
	free(c->slot);
	free(c->bucket);
	sodium_memzero(c->out, sizeof c->out); /* the last record's originals */
	free(c);
}
