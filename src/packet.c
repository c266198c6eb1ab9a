/*
 * \summary: captured frames to SIP messages (packet.h)
 *
 * Follows: IEEE 802.3 and 802.1Q (Ethernet, VLAN and QinQ tags), the pcap
 * LINKTYPE_ registry (Linux cooked v1 and v2, raw IP, BSD loopback), RFC 791
 * (IPv4, fragments), RFC 8200 (IPv6, extension headers, fragments; section
 * 4.5 for reassembly), RFC 5722 (overlapping IPv6 fragments drop the
 * datagram; done here for IPv4 too), RFC 6946 (atomic fragments), RFC 2003
 * and RFC 4213 (IP-in-IP, IPv6-in-IPv4), RFC 768 (UDP), RFC 9293 (TCP
 * sequence space), RFC 1982 (serial number arithmetic), RFC 3261 (SIP start
 * lines, section 7.1; Content-Length framing on streams, sections 18.3 and
 * 20.14; compact form, 7.3.3), RFC 5626 section 4.4.1 (CRLF keep-alives).
 *
 * Every frame is arbitrary bytes: each read is preceded by a check against
 * the bytes the capture holds (and, inside a header, against the lengths
 * the outer headers claim); no length field is believed before that. The
 * common case, an unfragmented UDP datagram, allocates nothing and copies
 * nothing: the message handed on points into the caller's frame.
 *
 * State: a hash table of datagrams being reassembled (an age list, oldest
 * first, for the timeout and the memory bound), and a hash table of TCP
 * directions (a list by last activity for the timeout and the streams
 * bound, and a second one of the directions holding memory for tcp_mem).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cdrmin/packet.h"

#define DEF_FRAG_MEM ((size_t)16 << 20)
#define DEF_FRAG_TIMEOUT 30000u
#define DEF_TCP_STREAMS ((size_t)65536)
#define DEF_TCP_MEM ((size_t)64 << 20)
#define DEF_TCP_TIMEOUT 300000u
#define DEF_MAX_MESSAGE ((size_t)65536)

#define MAX_DEPTH 6      /* IP layers in one frame: tunnels and reassembled datagrams */
#define MAX_VLAN 8       /* 802.1Q tags in one frame */
#define MAX_EXT 16       /* IPv6 extension headers in one chain */
#define IP_MAXPACKET 65535u
#define TCP_WINDOW ((int32_t)1 << 24) /* farther from the expected sequence number: out of window */
#define OOW_RESET 16     /* out-of-window segments in a row that restart a direction */
#define OOO_SEGS 64      /* out-of-order segments held per direction before a gap is given up */
#define OOO_MIN ((size_t)256 << 10) /* out-of-order bytes held per direction, at least */
#define SNIFF 64         /* bytes of a new stream looked at before its first line ends */
#define SKIP_MAX ((size_t)1 << 24) /* an over-long message is skipped by its length up to this; beyond, resync */
#define CLOCK_MAX ((int64_t)1 << 40) /* seconds: keeps milliseconds far from overflow */
#define BUF_MIN 2048

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04

/* What a frame came to, counted once per frame (the first reason wins). */
enum { O_NONE, O_TRUNC, O_MALF, O_NOTIP, O_OTHER };

/* TCP direction states. */
enum {
	T_SIP,    /* followed: reassembled and framed */
	T_IGNORE, /* seen from its SYN, its first bytes are not SIP: data ignored until a new SYN */
	T_CLOSED  /* FIN reached or RST seen: retransmissions ignored */
};

#define OWNER(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* A doubly linked list with a sentinel; an unlinked node points to itself. */
struct link {
	struct link *prev, *next;
};

/* A hash table node; the key lives in the entry that embeds it. */
struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **b; /* NULL until the first entry */
	size_t mask;
	size_t n;
};

/* The innermost IP header's addresses, for the meta of what it carries. */
struct ipx {
	uint8_t family;
	uint8_t src[16], dst[16];
};

/* A datagram being reassembled: RFC 791 keys on (src, dst, id, protocol), RFC 8200 on (src, dst, id). */
struct dkey {
	uint8_t family, proto, pad[2];
	uint8_t id[4];
	uint8_t src[16], dst[16];
};

struct frag {
	struct frag *next; /* by offset; fragments never overlap */
	uint32_t off, len;
	uint8_t data[];
};

struct dgram {
	struct hnode h;
	struct link age;   /* oldest first */
	struct dkey key;
	int64_t born;      /* ms, when its first fragment came */
	uint32_t total;    /* payload length once the last fragment came, else 0 */
	uint32_t have;     /* payload bytes held */
	uint8_t nh;        /* protocol (IPv4) or next header of the offset-0 fragment (IPv6) */
	size_t mem;        /* bytes of frag_mem held, this struct included */
	struct frag *frags;
};

/* One direction of a TCP connection. */
struct tkey {
	uint8_t family, pad;
	uint8_t sport[2], dport[2];
	uint8_t src[16], dst[16];
};

struct seg {
	struct seg *next; /* by sequence number; segments never overlap */
	uint32_t seq, len;
	uint8_t data[];
};

struct tdir {
	struct hnode h;
	struct link lru;   /* all directions, least recently active first */
	struct link held;  /* directions holding memory, least recently active first */
	struct tkey key;
	int64_t last;      /* ms, last segment */
	uint32_t nxt;      /* next sequence number expected */
	uint32_t isn;      /* initial sequence number, when syn */
	uint32_t fin_seq;  /* sequence number of the FIN, when fin */
	uint8_t state, syn, fin, listed;
	uint8_t verified;  /* a SIP start line was seen: its bytes are not sniffed any more */
	uint8_t resync;    /* framing lost: looking for the next start line */
	uint8_t at_bol;    /* while resync: the data starts at a line start */
	uint8_t oow;       /* out-of-window segments in a row */
	/* Framing of the message at the front of the in-order data (offsets from its start). */
	size_t scan;       /* bytes searched for the end of the headers */
	size_t line_end;   /* just past the start line's LF, 0 before it is seen */
	size_t need;       /* the whole message's length, 0 before it is known */
	size_t skip;       /* bytes of an over-long message still to drop */
	uint8_t *buf;      /* in-order bytes that end no message yet */
	size_t len, cap;
	struct seg *ooo;   /* held out-of-order segments */
	size_t nooo, ooo_bytes;
	size_t mem;        /* bytes of tcp_mem held: cap and the held segments */
};

struct cm_pkt {
	struct cm_pkt_opts o;
	struct cm_pkt_stats st;
	uint8_t ports[65536 / 8]; /* bitmap of o.ports */
	uint64_t seed;
	int64_t now;       /* ms: the latest frame time seen */
	int clock_set;
	size_t ooo_max;    /* out-of-order bytes held per direction at most */
	/* The frame being decoded. */
	int64_t sec;
	uint32_t usec;
	uint64_t frame;
	int cut;           /* caplen < len */
	int outcome;
	int rc;            /* fn's non-zero value, or -1: stop */
	cm_pkt_msg_fn fn;
	void *ud;
	/* Fragments. */
	struct htab ftab;
	struct link fage;
	size_t fmem;
	/* TCP. */
	struct htab ttab;
	struct link tlru, theld;
	size_t tmem;
	size_t ndirs;
};

static void ip_next(struct cm_pkt *p, const struct ipx *ip, unsigned proto, const uint8_t *b, size_t n,
		    int depth);
static void ipv6_chain(struct cm_pkt *p, const struct ipx *ip, unsigned nh, const uint8_t *b, size_t n,
		       int depth);
static void ipv4(struct cm_pkt *p, const uint8_t *b, size_t n, int depth, int edge);
static void ipv6(struct cm_pkt *p, const uint8_t *b, size_t n, int depth, int edge);

/* ---- small helpers ---- */

static inline uint16_t be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint32_t le32(const uint8_t *b)
{
	return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static inline void outcome(struct cm_pkt *p, int o)
{
	if (p->outcome == O_NONE)
		p->outcome = o;
}

static inline int port_listed(const struct cm_pkt *p, unsigned port)
{
	return p->ports[port >> 3] >> (port & 7) & 1;
}

static inline uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Whether s[0..n) equals the lower-case ASCII lit[0..n), ignoring case. */
static int ci_eq(const uint8_t *s, const char *lit, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (lower(s[i]) != (uint8_t)lit[i])
			return 0;
	return 1;
}

static void list_init(struct link *h)
{
	h->prev = h->next = h;
}

static void list_del(struct link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = l;
}

static void list_add_tail(struct link *h, struct link *l)
{
	l->prev = h->prev;
	l->next = h;
	h->prev->next = l;
	h->prev = l;
}

static int list_linked(const struct link *l)
{
	return l->next != l;
}

/* ---- hash tables (chained, doubling; a table that cannot grow keeps working) ---- */

static void htab_grow(struct htab *t)
{
	size_t nb = (t->mask + 1) * 2, i;
	struct hnode **b = calloc(nb, sizeof *b);

	if (!b)
		return;
	for (i = 0; i <= t->mask; i++) {
		struct hnode *e = t->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(t->b);
	t->b = b;
	t->mask = nb - 1;
}

/* Adds e (its hash set). Returns 0, or -1 when the first buckets cannot be allocated. */
static int htab_add(struct htab *t, struct hnode *e)
{
	if (!t->b) {
		if (!(t->b = calloc(256, sizeof *t->b)))
			return -1;
		t->mask = 255;
	}
	if (t->n > t->mask && t->mask < ((size_t)1 << 24))
		htab_grow(t);
	e->next = t->b[e->hash & t->mask];
	t->b[e->hash & t->mask] = e;
	t->n++;
	return 0;
}

static void htab_del(struct htab *t, struct hnode *e)
{
	struct hnode **pp = &t->b[e->hash & t->mask];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = e->next;
		t->n--;
	}
}

static void htab_free(struct htab *t)
{
	free(t->b);
	t->b = NULL;
	t->mask = 0;
	t->n = 0;
}

/* ---- SIP recognition ---- */

/* RFC 3261 section 25.1: token characters. */
static int tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c == '-' || c == '.' || c == '!' || c == '%' || c == '*' || c == '_' || c == '+' ||
	       c == '`' || c == '\'' || c == '~';
}

/* RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static int schemechar(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
	       c == '.';
}

/*
 * Whether s[0..n) starts with a SIP start line (RFC 3261 section 7.1):
 *   Request-Line = Method SP Request-URI SP SIP-Version CRLF
 *   Status-Line  = SIP-Version SP Status-Code SP Reason-Phrase CRLF
 * with Method a token, Request-URI an absolute URI (scheme ":" then no
 * space or control), SIP-Version "SIP/2.0" in any case (section 7.1), and
 * a bare LF taken for CRLF. Returns 1 yes, 0 no, or -1 when s ends before
 * that is known; when final, the end of s ends the line (a whole UDP
 * payload, or a line known to be complete) and -1 is never returned.
 */
static int sip_start(const uint8_t *s, size_t n, int final)
{
	static const char ver[] = "sip/2.0";
	size_t i, k;

	/* Status line: a status code of three digits, then SP (or the line's end). */
	k = n < 8 ? n : 8;
	if (ci_eq(s, "sip/2.0 ", k)) {
		if (n < 8)
			return final ? 0 : -1;
		for (i = 8; i < 11; i++) {
			if (i == n)
				return final ? 0 : -1;
			if (s[i] < '0' || s[i] > '9')
				return 0;
		}
		if (i == n)
			return final ? 1 : -1;
		return s[i] == ' ' || s[i] == '\r' || s[i] == '\n';
	}
	/* Request line. */
	for (i = 0; i < n && tchar(s[i]); i++)
		;
	if (i == n)
		return final ? 0 : -1;
	if (i == 0 || s[i] != ' ')
		return 0;
	i++;
	if (i == n)
		return final ? 0 : -1;
	if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
		return 0;
	for (i++; i < n && schemechar(s[i]); i++)
		;
	if (i == n)
		return final ? 0 : -1;
	if (s[i] != ':')
		return 0;
	for (i++; i < n && s[i] > ' ' && s[i] != 0x7f; i++)
		;
	if (i == n)
		return final ? 0 : -1;
	if (s[i] != ' ')
		return 0;
	i++;
	k = n - i < 7 ? n - i : 7;
	if (!ci_eq(s + i, ver, k))
		return 0;
	if (k < 7)
		return final ? 0 : -1;
	i += 7;
	if (i == n)
		return final ? 1 : -1;
	if (s[i] == '\n')
		return 1;
	if (s[i] != '\r')
		return 0;
	if (i + 1 == n)
		return final ? 1 : -1;
	return s[i + 1] == '\n';
}

/*
 * Offset of the first line of d[0..n) (at 0 or just after a LF) that is a
 * whole SIP start line, or -1: where a stream seen mid-way is joined.
 */
static long hunt(const uint8_t *d, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const uint8_t *lf = memchr(d + i, '\n', n - i);
		size_t e;

		if (!lf)
			break;
		e = (size_t)(lf - d) + 1;
		if (sip_start(d + i, e - i, 1) == 1)
			return (long)i;
		i = e;
	}
	return -1;
}

/*
 * The Content-Length of the header lines h[from..to), which end with the
 * empty line (RFC 3261 section 20.14; compact form "l", section 7.3.3;
 * names in any case, 7.3.1; HCOLON = *( SP / HTAB ) ":" SWS, and LWS may
 * fold onto continuation lines, 25.1). Returns the value (above limit:
 * limit + 1), -1 when there is none, -2 when one is malformed or two differ.
 */
static long long content_length(const uint8_t *h, size_t from, size_t to, size_t limit)
{
	long long v = -1, val;
	size_t i = from, j;

	while (i < to) {
		const uint8_t *lf = memchr(h + i, '\n', to - i);
		size_t le = lf ? (size_t)(lf - h) : to;
		uint8_t c = lower(h[i]);

		if (c == 'c' && le - i >= 14 && ci_eq(h + i, "content-length", 14))
			j = i + 14;
		else if (c == 'l')
			j = i + 1;
		else
			goto next;
		while (j < le && (h[j] == ' ' || h[j] == '\t'))
			j++;
		if (j >= le || h[j] != ':')
			goto next;
		j++;
		/* SWS, possibly folded: a line end followed by SP or HTAB continues the value. */
		for (;;) {
			while (j < to && (h[j] == ' ' || h[j] == '\t'))
				j++;
			if (j < to && (h[j] == '\r' || h[j] == '\n')) {
				size_t k = j + (h[j] == '\r');

				if (k < to && h[k] == '\n' && k + 1 < to && (h[k + 1] == ' ' || h[k + 1] == '\t')) {
					j = k + 1;
					continue;
				}
			}
			break;
		}
		if (j >= to || h[j] < '0' || h[j] > '9')
			return -2;
		for (val = 0; j < to && h[j] >= '0' && h[j] <= '9'; j++)
			if (val <= (long long)limit)
				val = val * 10 + (h[j] - '0');
		if (val > (long long)limit)
			val = (long long)limit + 1;
		/* Only white space, possibly folded, up to the line's end. */
		for (;;) {
			while (j < to && (h[j] == ' ' || h[j] == '\t'))
				j++;
			if (j < to && h[j] == '\r')
				j++;
			if (j >= to || h[j] != '\n')
				return -2;
			if (j + 1 < to && (h[j + 1] == ' ' || h[j + 1] == '\t')) {
				j++;
				continue;
			}
			break;
		}
		if (v >= 0 && v != val)
			return -2;
		v = val;
		le = j;
	next:
		i = le + 1;
	}
	return v;
}

/* ---- messages ---- */

/* Hands msg[0..n) on. */
static void emit(struct cm_pkt *p, const struct cm_pkt_meta *m, const uint8_t *msg, size_t n)
{
	int r;

	p->st.messages++;
	if (!p->fn)
		return;
	r = p->fn(p->ud, m, (const char *)msg, n);
	if (r)
		p->rc = r;
}

static void meta_init(const struct cm_pkt *p, struct cm_pkt_meta *m, uint8_t family, uint8_t proto,
		      const uint8_t *src, const uint8_t *dst, uint16_t sport, uint16_t dport)
{
	m->sec = p->sec;
	m->usec = p->usec;
	m->family = family;
	m->proto = proto;
	memcpy(m->src, src, 16);
	memcpy(m->dst, dst, 16);
	m->sport = sport;
	m->dport = dport;
	m->frame = p->frame;
}

/* ---- UDP (RFC 768) ---- */

static void udp(struct cm_pkt *p, const struct ipx *ip, const uint8_t *b, size_t n)
{
	struct cm_pkt_meta m;
	uint16_t sport, dport;
	size_t ulen;

	if (n < 8) {
		outcome(p, O_MALF);
		return;
	}
	ulen = be16(b + 4);
	if (ulen < 8 || ulen > n) { /* trailing bytes after ulen (padding) are ignored */
		outcome(p, O_MALF);
		return;
	}
	sport = be16(b);
	dport = be16(b + 2);
	b += 8;
	ulen -= 8;
	if (ulen == 0 || (!port_listed(p, sport) && !port_listed(p, dport) && sip_start(b, ulen, 1) != 1)) {
		outcome(p, O_OTHER);
		return;
	}
	if (ulen > p->o.max_message) {
		outcome(p, O_MALF);
		return;
	}
	meta_init(p, &m, ip->family, 17, ip->src, ip->dst, sport, dport);
	emit(p, &m, b, ulen);
}

/* ---- TCP (RFC 9293): directions, memory ---- */

/* Serial number arithmetic (RFC 1982): the signed distance from b to a. */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

/* Adds d (may be negative) to t's share of tcp_mem, entering or leaving the held list. */
static void tmem_adjust(struct cm_pkt *p, struct tdir *t, long long d)
{
	t->mem = (size_t)((long long)t->mem + d);
	p->tmem = (size_t)((long long)p->tmem + d);
	if (t->mem && !list_linked(&t->held))
		list_add_tail(&p->theld, &t->held);
	else if (!t->mem && list_linked(&t->held))
		list_del(&t->held);
}

static void tframe_reset(struct tdir *t)
{
	t->scan = t->line_end = t->need = 0;
}

/* Frees what t holds. Counted as dropped when count. */
static void tdir_release(struct cm_pkt *p, struct tdir *t, int count)
{
	struct seg *s, *next;

	if (count)
		p->st.tcp_dropped += t->len + t->ooo_bytes;
	for (s = t->ooo; s; s = next) {
		next = s->next;
		free(s);
	}
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
	t->ooo = NULL;
	t->nooo = t->ooo_bytes = 0;
	tmem_adjust(p, t, -(long long)t->mem);
	tframe_reset(t);
	t->skip = 0;
}

/* Drops what t holds (counted) and looks for the next start line. */
static void tdir_purge(struct cm_pkt *p, struct tdir *t)
{
	tdir_release(p, t, 1);
	t->resync = 1;
	t->at_bol = 1; /* the next data starts a segment: often a message too */
}

static void tdir_del(struct cm_pkt *p, struct tdir *t)
{
	tdir_release(p, t, 1);
	htab_del(&p->ttab, &t->h);
	list_del(&t->lru);
	p->ndirs--;
	free(t);
}

/* FIN reached or RST: what is held ends no message. */
static void tdir_close(struct cm_pkt *p, struct tdir *t)
{
	tdir_release(p, t, 1);
	t->state = T_CLOSED;
	t->resync = 0;
}

/*
 * Makes room in tcp_mem for more bytes for t, by purging the directions
 * that hold memory and were idle longest (t excepted). Returns 0, or -1.
 */
static int tmem_reserve(struct cm_pkt *p, struct tdir *t, size_t more)
{
	if (more > p->o.tcp_mem)
		return -1;
	while (p->tmem + more > p->o.tcp_mem) {
		struct link *l = p->theld.next;

		if (l == &t->held)
			l = l->next;
		if (l == &p->theld)
			return -1;
		tdir_purge(p, OWNER(l, struct tdir, held));
	}
	return 0;
}

/* Appends d[0..n) to t's buffer. Returns 0, or -1 when tcp_mem or malloc says no. */
static int tbuf_put(struct cm_pkt *p, struct tdir *t, const uint8_t *d, size_t n)
{
	if (t->cap - t->len < n) {
		size_t cap = t->cap ? t->cap : BUF_MIN;
		uint8_t *nb;

		while (cap < t->len + n) {
			if (cap > SIZE_MAX / 4)
				return -1;
			cap *= 2;
		}
		if (tmem_reserve(p, t, cap - t->cap) != 0)
			return -1;
		if (!(nb = realloc(t->buf, cap))) {
			p->rc = -1;
			return -1;
		}
		tmem_adjust(p, t, (long long)(cap - t->cap));
		t->buf = nb;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, d, n);
	t->len += n;
	return 0;
}

/* Drops the first c buffered bytes; an emptied buffer is freed. */
static void tbuf_consume(struct cm_pkt *p, struct tdir *t, size_t c)
{
	if (c < t->len) {
		memmove(t->buf, t->buf + c, t->len - c);
		t->len -= c;
		return;
	}
	tmem_adjust(p, t, -(long long)t->cap);
	free(t->buf);
	t->buf = NULL;
	t->len = t->cap = 0;
}

/* ---- TCP: framing by Content-Length (RFC 3261 section 18.3) ---- */

/*
 * While t->resync: drops m[0..n) up to the next line that is a whole SIP
 * start line. Returns the bytes done with; t->resync is cleared when such
 * a line starts there, else the rest is a partial line kept for more data.
 */
static size_t resync(struct cm_pkt *p, struct tdir *t, const uint8_t *m, size_t n)
{
	size_t off = 0, k;
	const uint8_t *lf;

	for (;;) {
		if (!t->at_bol) {
			if (!(lf = memchr(m + off, '\n', n - off))) {
				p->st.tcp_dropped += n - off;
				return n;
			}
			k = (size_t)(lf - (m + off)) + 1;
			p->st.tcp_dropped += k;
			off += k;
			t->at_bol = 1;
			t->scan = 0;
		}
		if (!(lf = memchr(m + off + t->scan, '\n', n - off - t->scan))) {
			size_t sniff = n - off < SNIFF ? n - off : SNIFF;

			if (n - off > p->o.max_message || sip_start(m + off, sniff, 0) == 0) {
				p->st.tcp_dropped += n - off;
				t->at_bol = 0;
				t->scan = 0;
				return n;
			}
			t->scan = n - off;
			return off;
		}
		k = (size_t)(lf - (m + off)) + 1;
		t->scan = 0;
		if (sip_start(m + off, k, 1) == 1) {
			t->resync = 0;
			return off;
		}
		p->st.tcp_dropped += k;
		off += k;
	}
}

/* A direction seen from its SYN turns out not to carry SIP: its data is ignored from now on. */
static void abandon(struct cm_pkt *p, struct tdir *t)
{
	t->state = T_IGNORE;
	outcome(p, O_OTHER);
}

/* The message at the front cannot be framed: counted, and framing resumes at the next start line. */
static void bad_message(struct cm_pkt *p, struct tdir *t)
{
	p->st.tcp_bad++;
	tframe_reset(t);
	t->resync = 1;
	t->at_bol = 1;
}

/*
 * Frames the in-order bytes r[0..n) of t, which start where t's current
 * message (or resync search) starts: each whole message is handed on, what
 * cannot be framed is dropped. Returns the bytes done with; the rest is the
 * start of a message still incomplete, for the caller to keep. On return
 * t->state may be T_IGNORE (then all n are done with).
 */
static size_t frame(struct cm_pkt *p, struct tdir *t, const uint8_t *r, size_t n)
{
	size_t off = 0;

	while (off < n && !p->rc) {
		const uint8_t *m = r + off;
		size_t avail = n - off;

		if (t->skip) {
			size_t k = avail < t->skip ? avail : t->skip;

			t->skip -= k;
			p->st.tcp_dropped += k;
			off += k;
			continue;
		}
		if (t->resync) {
			off += resync(p, t, m, avail);
			if (t->resync)
				break;
			continue;
		}
		if (!t->need) {
			size_t hdr = 0;
			long long cl;
			int badstart = 0;

			if (!t->scan) {
				/* At a message's start: CRLF keep-alives, and any CRLF before a start line. */
				size_t k = 0;

				while (k < avail && (m[k] == '\r' || m[k] == '\n'))
					k++;
				if (k) {
					off += k;
					continue;
				}
				if (!t->verified && !t->listed &&
				    sip_start(m, avail < SNIFF ? avail : SNIFF, 0) == 0) {
					abandon(p, t);
					return n;
				}
			}
			for (;;) {
				const uint8_t *lf = memchr(m + t->scan, '\n', avail - t->scan);
				size_t i;

				if (!lf) {
					t->scan = avail;
					break;
				}
				i = (size_t)(lf - m);
				if (!t->line_end) {
					t->line_end = i + 1;
					if (!t->listed && sip_start(m, i + 1, 1) != 1) {
						badstart = 1;
						break;
					}
					t->verified = 1;
				}
				if (i + 1 < avail && m[i + 1] == '\n') {
					hdr = i + 2;
					break;
				}
				if (i + 2 < avail && m[i + 1] == '\r' && m[i + 2] == '\n') {
					hdr = i + 3;
					break;
				}
				if (i + 1 == avail || (i + 2 == avail && m[i + 1] == '\r')) {
					t->scan = i; /* the empty line may be cut: look again with more data */
					break;
				}
				t->scan = i + 1;
			}
			if (badstart) {
				if (!t->verified) {
					abandon(p, t);
					return n;
				}
				bad_message(p, t); /* out of step: the next start line is further on */
				continue;
			}
			if (!hdr) {
				if (avail > p->o.max_message) {
					if (!t->verified && !t->listed) {
						abandon(p, t);
						return n;
					}
					/* Drop up to the end of the first line, and look for a start line after it. */
					size_t k = t->line_end ? t->line_end : avail;

					bad_message(p, t);
					t->at_bol = t->line_end != 0;
					p->st.tcp_dropped += k;
					off += k;
					continue;
				}
				break;
			}
			cl = content_length(m, t->line_end, hdr, SKIP_MAX);
			if (cl < 0 || (size_t)cl > SKIP_MAX) {
				/* RFC 3261 section 18.3: mandatory on streams. A huge one is not believed either. */
				bad_message(p, t);
				p->st.tcp_dropped += hdr;
				off += hdr;
				continue;
			}
			if ((unsigned long long)cl > p->o.max_message - hdr || hdr > p->o.max_message) {
				/* Too long: its length is known, so framing stays in step past it. */
				p->st.tcp_bad++;
				tframe_reset(t);
				t->skip = hdr + (size_t)cl;
				continue;
			}
			t->need = hdr + (size_t)cl;
		}
		if (avail < t->need)
			break;
		{
			struct cm_pkt_meta mt;
			size_t k = t->need;

			meta_init(p, &mt, t->key.family, 6, t->key.src, t->key.dst, be16(t->key.sport),
				  be16(t->key.dport));
			tframe_reset(t);
			off += k;
			emit(p, &mt, m, k);
		}
	}
	return off;
}

/* Memory gave out while t was being fed: its data so far and n more bytes are lost. */
static void tcp_lose(struct cm_pkt *p, struct tdir *t, size_t n)
{
	p->st.tcp_dropped += n;
	tdir_purge(p, t);
}

/*
 * Hands the next in-order bytes d[0..n) of t to the framer, keeping what
 * ends no message yet. With nothing buffered (the usual case) the framer
 * reads d itself and only an incomplete tail is copied.
 */
static void tcp_deliver(struct cm_pkt *p, struct tdir *t, const uint8_t *d, size_t n)
{
	size_t c;

	if (t->state != T_SIP || !n)
		return;
	if (!t->len) {
		c = frame(p, t, d, n);
		if (t->state != T_SIP) {
			tdir_release(p, t, 0);
			return;
		}
		if (c < n && tbuf_put(p, t, d + c, n - c) != 0)
			tcp_lose(p, t, n - c);
		return;
	}
	if (tbuf_put(p, t, d, n) != 0) {
		tcp_lose(p, t, n);
		return;
	}
	c = frame(p, t, t->buf, t->len);
	if (t->state != T_SIP) {
		tdir_release(p, t, 0);
		return;
	}
	tbuf_consume(p, t, c);
}

/* Delivers the held segments that the expected sequence number has reached. */
static void ooo_pull(struct cm_pkt *p, struct tdir *t)
{
	struct seg *s;

	while ((s = t->ooo) && t->state == T_SIP && seq_diff(s->seq, t->nxt) <= 0) {
		uint32_t over = t->nxt - s->seq;

		t->ooo = s->next;
		t->nooo--;
		t->ooo_bytes -= s->len;
		tmem_adjust(p, t, -(long long)(sizeof *s + s->len));
		if (over < s->len) {
			t->nxt += s->len - over;
			tcp_deliver(p, t, s->data + over, s->len - over);
		}
		free(s);
	}
}

/*
 * Holds d[0..n), which starts at seq ahead of t->nxt, among t's
 * out-of-order segments; bytes some held segment already has are trimmed
 * off (the first copy seen wins).
 */
static void ooo_add(struct cm_pkt *p, struct tdir *t, uint32_t seq, const uint8_t *d, size_t n)
{
	struct seg **pp = &t->ooo, *s;
	uint32_t rel = seq - t->nxt; /* offsets from t->nxt: all within (0, TCP_WINDOW + 65535] */

	while (n) {
		size_t k = n;

		while (*pp && (*pp)->seq - t->nxt + (*pp)->len <= rel)
			pp = &(*pp)->next;
		if (*pp) {
			uint32_t srel = (*pp)->seq - t->nxt;

			if (srel <= rel) {
				size_t cover = srel + (*pp)->len - rel;

				if (cover >= n)
					return;
				rel += (uint32_t)cover;
				d += cover;
				n -= cover;
				pp = &(*pp)->next;
				continue;
			}
			if (srel - rel < k)
				k = srel - rel;
		}
		if (tmem_reserve(p, t, sizeof *s + k) != 0) {
			p->st.tcp_dropped += n;
			return;
		}
		if (!(s = malloc(sizeof *s + k))) {
			p->rc = -1;
			p->st.tcp_dropped += n;
			return;
		}
		s->seq = t->nxt + rel;
		s->len = (uint32_t)k;
		memcpy(s->data, d, k);
		s->next = *pp;
		*pp = s;
		pp = &s->next;
		t->nooo++;
		t->ooo_bytes += k;
		tmem_adjust(p, t, (long long)(sizeof *s + k));
		rel += (uint32_t)k;
		d += k;
		n -= k;
	}
}

/*
 * Payload d[0..n) at seq for t. Returns 1 when the direction has gone out
 * of step for good (too many segments out of window): start it afresh.
 */
static int tcp_data(struct cm_pkt *p, struct tdir *t, uint32_t seq, const uint8_t *d, size_t n)
{
	int32_t rel = seq_diff(seq, t->nxt);

	if (rel > TCP_WINDOW || rel < -TCP_WINDOW) {
		if (++t->oow >= OOW_RESET)
			return 1;
		p->st.tcp_dropped += n;
		return 0;
	}
	t->oow = 0;
	if (rel <= 0) {
		if ((int64_t)rel + (int64_t)n <= 0)
			return 0; /* a retransmission of what was delivered */
		d += (uint32_t)-rel;
		n -= (uint32_t)-rel;
		t->nxt += (uint32_t)n;
		tcp_deliver(p, t, d, n);
		ooo_pull(p, t);
		return 0;
	}
	ooo_add(p, t, seq, d, n);
	if (t->nooo > OOO_SEGS || t->ooo_bytes > p->ooo_max) {
		/* The gap is not coming (lost by the capture): give it up and resync after it. */
		p->st.tcp_dropped += t->len;
		if (t->cap)
			tbuf_consume(p, t, t->len);
		tframe_reset(t);
		t->skip = 0;
		t->resync = 1;
		t->at_bol = 1; /* a segment start: often a message start too (sip_start checks the whole line) */
		t->nxt = t->ooo->seq;
		ooo_pull(p, t);
	}
	return 0;
}

static void tkey_make(struct tkey *k, const struct ipx *ip, uint16_t sport, uint16_t dport)
{
	memset(k, 0, sizeof *k);
	k->family = ip->family;
	k->sport[0] = (uint8_t)(sport >> 8);
	k->sport[1] = (uint8_t)sport;
	k->dport[0] = (uint8_t)(dport >> 8);
	k->dport[1] = (uint8_t)dport;
	memcpy(k->src, ip->src, 16);
	memcpy(k->dst, ip->dst, 16);
}

static struct tdir *tdir_find(struct cm_pkt *p, const struct tkey *k, uint64_t h)
{
	struct hnode *e;

	if (!p->ttab.b)
		return NULL;
	for (e = p->ttab.b[h & p->ttab.mask]; e; e = e->next) {
		if (e->hash == h) {
			struct tdir *t = OWNER(e, struct tdir, h);

			if (!memcmp(&t->key, k, sizeof *k))
				return t;
		}
	}
	return NULL;
}

/* A new direction (the one idle longest makes room when tcp_streams are followed). NULL: no memory. */
static struct tdir *tdir_new(struct cm_pkt *p, const struct tkey *k, uint64_t h, int listed)
{
	struct tdir *t;

	if (p->ndirs >= p->o.tcp_streams && list_linked(&p->tlru))
		tdir_del(p, OWNER(p->tlru.next, struct tdir, lru));
	if (!(t = calloc(1, sizeof *t))) {
		p->rc = -1;
		return NULL;
	}
	t->key = *k;
	t->h.hash = h;
	if (htab_add(&p->ttab, &t->h) != 0) {
		free(t);
		p->rc = -1;
		return NULL;
	}
	list_init(&t->lru);
	list_init(&t->held);
	list_add_tail(&p->tlru, &t->lru);
	p->ndirs++;
	t->listed = (uint8_t)listed;
	t->state = T_SIP;
	return t;
}

static void tcp_segment(struct cm_pkt *p, const struct ipx *ip, uint16_t sport, uint16_t dport, uint32_t seq,
			uint8_t flags, const uint8_t *d, size_t n)
{
	int listed = port_listed(p, sport) || port_listed(p, dport);
	struct tdir *t;
	struct tkey k;
	uint64_t h;
	int restarts = 0;

	if (n)
		p->st.tcp_segments++;
	tkey_make(&k, ip, sport, dport);
	h = XXH3_64bits_withSeed(&k, sizeof k, p->seed);
again:
	t = tdir_find(p, &k, h);
	if (flags & TH_RST) {
		if (t && t->state == T_SIP)
			tdir_close(p, t); /* RFC 9293 section 3.10.7.4: nothing more is delivered */
		outcome(p, O_OTHER);
		return;
	}
	if (flags & TH_SYN) {
		if (!t || !t->syn || t->isn != seq || t->state == T_CLOSED) {
			/* A new connection (or one reusing the ports): start afresh at its ISN. */
			if (!t && !(t = tdir_new(p, &k, h, listed)))
				return;
			tdir_release(p, t, 1);
			t->state = T_SIP;
			t->syn = 1;
			t->fin = 0;
			t->isn = seq;
			t->nxt = seq + 1;
			t->verified = t->resync = t->at_bol = 0;
			t->oow = 0;
		}
		seq++; /* data on a SYN (RFC 7413) starts after it */
	}
	if (!t) {
		long at;

		if (!n) {
			outcome(p, O_OTHER);
			return;
		}
		at = hunt(d, n);
		if (at < 0 && !listed) {
			outcome(p, O_OTHER); /* mid-way and no start line yet */
			return;
		}
		if (!(t = tdir_new(p, &k, h, listed)))
			return;
		if (at < 0) {
			t->nxt = seq; /* a listed port: join at the first segment, framing at the next start line */
			t->resync = 1;
			t->at_bol = 1;
		} else {
			t->nxt = seq + (uint32_t)at;
			t->verified = 1;
			seq += (uint32_t)at;
			d += at;
			n -= (size_t)at;
		}
	}
	t->last = p->now;
	list_del(&t->lru);
	list_add_tail(&p->tlru, &t->lru);
	if (list_linked(&t->held)) {
		list_del(&t->held);
		list_add_tail(&p->theld, &t->held);
	}
	if (t->state == T_IGNORE) {
		outcome(p, O_OTHER);
		return;
	}
	if (t->state == T_CLOSED) {
		if (!n || seq_diff(seq + (uint32_t)n, t->nxt) <= 0 || restarts) {
			outcome(p, O_OTHER); /* a retransmission, or the last ACK */
			return;
		}
		/* New data on a closed direction, no SYN seen: the ports are reused. */
		tdir_del(p, t);
		restarts++;
		goto again;
	}
	if (!n) {
		outcome(p, O_OTHER);
	} else if (tcp_data(p, t, seq, d, n)) {
		tdir_del(p, t);
		if (restarts++)
			return;
		goto again;
	}
	if (t->state == T_SIP && (flags & TH_FIN) && !t->fin) {
		t->fin = 1;
		t->fin_seq = seq + (uint32_t)n;
	}
	if (t->state == T_SIP && t->fin && t->nxt == t->fin_seq) {
		tdir_close(p, t);
		t->nxt = t->fin_seq + 1;
	}
}

static void tcp(struct cm_pkt *p, const struct ipx *ip, const uint8_t *b, size_t n)
{
	size_t doff;

	if (n < 20) {
		outcome(p, O_MALF);
		return;
	}
	doff = (size_t)(b[12] >> 4) * 4;
	if (doff < 20 || doff > n) {
		outcome(p, O_MALF);
		return;
	}
	tcp_segment(p, ip, be16(b), be16(b + 2), be32(b + 4), b[13], b + doff, n - doff);
}

/* ---- IP fragments ---- */

static void dgram_free(struct cm_pkt *p, struct dgram *d, int count)
{
	struct frag *f, *next;

	for (f = d->frags; f; f = next) {
		next = f->next;
		free(f);
	}
	htab_del(&p->ftab, &d->h);
	list_del(&d->age);
	p->fmem -= d->mem;
	if (count)
		p->st.frag_dropped++;
	free(d);
}

/* Makes room in frag_mem for more bytes, dropping the oldest datagrams (cur excepted). */
static int fmem_reserve(struct cm_pkt *p, const struct dgram *cur, size_t more)
{
	if (more > p->o.frag_mem)
		return -1;
	while (p->fmem + more > p->o.frag_mem) {
		struct link *l = p->fage.next;

		if (cur && l == &cur->age)
			l = l->next;
		if (l == &p->fage)
			return -1;
		dgram_free(p, OWNER(l, struct dgram, age), 1);
	}
	return 0;
}

static struct dgram *dgram_find(struct cm_pkt *p, const struct dkey *k, uint64_t h)
{
	struct hnode *e;

	if (!p->ftab.b)
		return NULL;
	for (e = p->ftab.b[h & p->ftab.mask]; e; e = e->next) {
		if (e->hash == h) {
			struct dgram *d = OWNER(e, struct dgram, h);

			if (!memcmp(&d->key, k, sizeof *k))
				return d;
		}
	}
	return NULL;
}

/* The datagram d is whole: rebuilt, dropped from the table, and decoded. */
static void dgram_done(struct cm_pkt *p, struct dgram *d, int depth)
{
	struct frag *f;
	struct ipx ip;
	uint8_t *buf = malloc(d->total);
	uint32_t total = d->total;
	unsigned nh = d->nh;

	if (!buf) {
		dgram_free(p, d, 1);
		p->rc = -1;
		return;
	}
	for (f = d->frags; f; f = f->next)
		memcpy(buf + f->off, f->data, f->len);
	ip.family = d->key.family;
	memcpy(ip.src, d->key.src, 16);
	memcpy(ip.dst, d->key.dst, 16);
	dgram_free(p, d, 0);
	p->st.reassembled++;
	if (ip.family == 4)
		ip_next(p, &ip, nh, buf, total, depth + 1);
	else
		ipv6_chain(p, &ip, nh, buf, total, depth + 1);
	free(buf);
}

/*
 * One fragment: data[0..len) at byte offset off of the payload of datagram
 * (ip, proto, id) (proto 0 for IPv6, nh its fragment header's next header),
 * more fragments follow when mf.
 */
static void frag_add(struct cm_pkt *p, const struct ipx *ip, unsigned proto, unsigned nh, uint32_t id,
		     uint32_t off, int mf, const uint8_t *data, size_t len, int depth)
{
	struct frag **pp, *prev = NULL, *f;
	struct dgram *d;
	struct dkey k;
	uint64_t h;
	size_t need = sizeof *f + len;

	p->st.fragments++;
	/* RFC 8200 section 4.5: a fragment that is not the last is a multiple of 8 bytes long. */
	if (len == 0 || (mf && len % 8) || off + len > IP_MAXPACKET) {
		outcome(p, O_MALF);
		return;
	}
	memset(&k, 0, sizeof k);
	k.family = ip->family;
	k.proto = (uint8_t)proto;
	k.id[0] = (uint8_t)(id >> 24);
	k.id[1] = (uint8_t)(id >> 16);
	k.id[2] = (uint8_t)(id >> 8);
	k.id[3] = (uint8_t)id;
	memcpy(k.src, ip->src, 16);
	memcpy(k.dst, ip->dst, 16);
	h = XXH3_64bits_withSeed(&k, sizeof k, p->seed);
	if (!(d = dgram_find(p, &k, h))) {
		if (fmem_reserve(p, NULL, sizeof *d + need) != 0) {
			p->st.frag_dropped++;
			return;
		}
		if (!(d = calloc(1, sizeof *d))) {
			p->rc = -1;
			return;
		}
		d->key = k;
		d->h.hash = h;
		d->born = p->now;
		if (htab_add(&p->ftab, &d->h) != 0) {
			free(d);
			p->rc = -1;
			return;
		}
		list_init(&d->age);
		list_add_tail(&p->fage, &d->age);
		d->mem = sizeof *d;
		p->fmem += sizeof *d;
	}
	if (d->total && off + len > d->total)
		goto drop; /* past the end the last fragment gave */
	for (pp = &d->frags; *pp && (*pp)->off < off; pp = &(*pp)->next)
		prev = *pp;
	if (*pp && (*pp)->off == off && (*pp)->len == len && !memcmp((*pp)->data, data, len) &&
	    (mf || d->total == off + len))
		return; /* an exact duplicate (RFC 8200 section 4.5): ignored */
	if ((prev && prev->off + prev->len > off) || (*pp && off + len > (*pp)->off))
		goto drop; /* overlap: RFC 5722 */
	if (!mf) {
		if (d->total || *pp)
			goto drop; /* a second last fragment, or data past this end */
		d->total = (uint32_t)(off + len);
	}
	if (fmem_reserve(p, d, need) != 0)
		goto drop;
	if (!(f = malloc(need))) {
		p->rc = -1;
		goto drop;
	}
	f->off = off;
	f->len = (uint32_t)len;
	memcpy(f->data, data, len);
	f->next = *pp;
	*pp = f;
	d->have += (uint32_t)len;
	d->mem += need;
	p->fmem += need;
	if (off == 0)
		d->nh = (uint8_t)nh;
	if (d->total && d->have == d->total) {
		if (depth + 1 >= MAX_DEPTH) {
			dgram_free(p, d, 1);
			outcome(p, O_MALF);
			return;
		}
		dgram_done(p, d, depth);
	}
	return;
drop:
	dgram_free(p, d, 1);
}

/* ---- IP ---- */

/* The payload b[0..n) of an IP header (or reassembled datagram) carrying proto. */
static void ip_next(struct cm_pkt *p, const struct ipx *ip, unsigned proto, const uint8_t *b, size_t n,
		    int depth)
{
	switch (proto) {
	case 17:
		udp(p, ip, b, n);
		break;
	case 6:
		tcp(p, ip, b, n);
		break;
	case 4:  /* IP-in-IP, RFC 2003 */
	case 41: /* IPv6-in-IPv4 (RFC 4213) and IPv6-in-IPv6 (RFC 2473) */
		if (depth + 1 >= MAX_DEPTH) {
			outcome(p, O_MALF);
			break;
		}
		if (proto == 4)
			ipv4(p, b, n, depth + 1, 0);
		else
			ipv6(p, b, n, depth + 1, 0);
		break;
	default:
		outcome(p, O_OTHER);
		break;
	}
}

/*
 * An IPv6 header chain from next header nh over b[0..n) (after the fixed
 * header, or a reassembled datagram's fragmentable part): hop-by-hop,
 * routing, destination options, mobility (RFC 8200 section 4, RFC 6275)
 * and authentication (RFC 4302) headers skipped, fragments reassembled,
 * then the upper layer.
 */
static void ipv6_chain(struct cm_pkt *p, const struct ipx *ip, unsigned nh, const uint8_t *b, size_t n,
		       int depth)
{
	size_t off = 0, hl;
	int i;

	for (i = 0; i < MAX_EXT; i++) {
		switch (nh) {
		case 0:   /* hop-by-hop options */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
		case 51:  /* authentication header: its length counts 4-byte words, less 2 */
			if (n - off < 2) {
				outcome(p, O_MALF);
				return;
			}
			hl = nh == 51 ? ((size_t)b[off + 1] + 2) * 4 : ((size_t)b[off + 1] + 1) * 8;
			if (n - off < hl) {
				outcome(p, O_MALF);
				return;
			}
			nh = b[off];
			off += hl;
			break;
		case 44: { /* fragment (RFC 8200 section 4.5) */
			uint16_t fo;

			if (n - off < 8) {
				outcome(p, O_MALF);
				return;
			}
			fo = be16(b + off + 2);
			if ((fo & 0xfff8) == 0 && !(fo & 1)) {
				/* An atomic fragment (RFC 6946): the whole datagram, not reassembled. */
				nh = b[off];
				off += 8;
				break;
			}
			frag_add(p, ip, 0, b[off], be32(b + off + 4), fo & 0xfff8u, fo & 1, b + off + 8,
				 n - off - 8, depth);
			return;
		}
		case 59: /* no next header */
			outcome(p, O_OTHER);
			return;
		default:
			ip_next(p, ip, nh, b + off, n - off, depth);
			return;
		}
	}
	outcome(p, O_MALF);
}

/*
 * The IPv4 datagram at b[0..n). edge: n is where the captured frame ends
 * (an outermost header), else where an outer header says its payload ends.
 */
static void ipv4(struct cm_pkt *p, const uint8_t *b, size_t n, int depth, int edge)
{
	struct ipx ip;
	size_t hl, tot;
	uint16_t fo;

	if (n < 20) {
		outcome(p, edge ? O_TRUNC : O_MALF);
		return;
	}
	hl = (size_t)(b[0] & 15) * 4;
	tot = be16(b + 2);
	if (tot == 0 && edge && !p->cut)
		tot = n; /* TCP segmentation offload: the sender's NIC fills the length in */
	if ((b[0] >> 4) != 4 || hl < 20 || tot < hl) {
		outcome(p, O_MALF);
		return;
	}
	if (tot > n) {
		outcome(p, edge && p->cut ? O_TRUNC : O_MALF);
		return;
	}
	memset(&ip, 0, sizeof ip);
	ip.family = 4;
	memcpy(ip.src, b + 12, 4);
	memcpy(ip.dst, b + 16, 4);
	fo = be16(b + 6);
	if (fo & 0x3fff) /* MF or an offset: a fragment (RFC 791 section 3.2) */
		frag_add(p, &ip, b[9], b[9], be16(b + 4), (uint32_t)(fo & 0x1fff) * 8, (fo & 0x2000) != 0, b + hl,
			 tot - hl, depth);
	else
		ip_next(p, &ip, b[9], b + hl, tot - hl, depth);
}

/* The IPv6 datagram at b[0..n); edge as for ipv4. */
static void ipv6(struct cm_pkt *p, const uint8_t *b, size_t n, int depth, int edge)
{
	struct ipx ip;
	size_t plen;

	if (n < 40) {
		outcome(p, edge ? O_TRUNC : O_MALF);
		return;
	}
	if ((b[0] >> 4) != 6) {
		outcome(p, O_MALF);
		return;
	}
	plen = be16(b + 4);
	if (plen == 0 && edge && !p->cut)
		plen = n - 40; /* segmentation offload, or a jumbogram (RFC 2675) */
	if (plen > n - 40) {
		outcome(p, edge && p->cut ? O_TRUNC : O_MALF);
		return;
	}
	ip.family = 6;
	memcpy(ip.src, b + 8, 16);
	memcpy(ip.dst, b + 24, 16);
	ipv6_chain(p, &ip, b[6], b + 40, plen, depth);
}

/* ---- link layers ---- */

/* The payload b[0..n) of a link header whose EtherType is type; 802.1Q tags followed. */
static void ether_payload(struct cm_pkt *p, unsigned type, const uint8_t *b, size_t n)
{
	int tags = 0;

	/* 802.1Q, 802.1ad (QinQ) and the older 0x9100/0x9200 S-tags: TCI, then the next type. */
	while (type == 0x8100 || type == 0x88a8 || type == 0x9100 || type == 0x9200) {
		if (++tags > MAX_VLAN) {
			outcome(p, O_MALF);
			return;
		}
		if (n < 4) {
			outcome(p, O_TRUNC);
			return;
		}
		type = be16(b + 2);
		b += 4;
		n -= 4;
	}
	if (type == 0x0800)
		ipv4(p, b, n, 0, 1);
	else if (type == 0x86dd)
		ipv6(p, b, n, 0, 1);
	else
		outcome(p, O_NOTIP);
}

/* Ethernet II, or 802.3 with an LLC/SNAP header (RFC 1042) carrying an EtherType. */
static void ethernet(struct cm_pkt *p, const uint8_t *b, size_t n)
{
	unsigned type;

	if (n < 14) {
		outcome(p, O_TRUNC);
		return;
	}
	type = be16(b + 12);
	b += 14;
	n -= 14;
	if (type <= 1500) {
		if (n < 8) {
			outcome(p, O_TRUNC);
			return;
		}
		if (b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 || b[3] || b[4] || b[5]) {
			outcome(p, O_NOTIP);
			return;
		}
		type = be16(b + 6);
		b += 8;
		n -= 8;
	}
	ether_payload(p, type, b, n);
}

/*
 * BSD loopback: a 4-byte address family in the capturing host's byte order
 * (DLT_NULL) or in network order (DLT_LOOP); either is read. AF_INET is 2
 * everywhere, AF_INET6 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30
 * (macOS).
 */
static void loopback(struct cm_pkt *p, const uint8_t *b, size_t n)
{
	uint32_t fam;

	if (n < 4) {
		outcome(p, O_TRUNC);
		return;
	}
	fam = le32(b);
	if (fam > 0xffff)
		fam = be32(b);
	if (fam == 2)
		ipv4(p, b + 4, n - 4, 0, 1);
	else if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
		ipv6(p, b + 4, n - 4, 0, 1);
	else
		outcome(p, O_NOTIP);
}

/* Raw IP: the version nibble tells which. */
static void raw(struct cm_pkt *p, const uint8_t *b, size_t n)
{
	if (n < 1) {
		outcome(p, O_TRUNC);
		return;
	}
	if (b[0] >> 4 == 4)
		ipv4(p, b, n, 0, 1);
	else if (b[0] >> 4 == 6)
		ipv6(p, b, n, 0, 1);
	else
		outcome(p, O_MALF);
}

static void link_layer(struct cm_pkt *p, int dlt, const uint8_t *b, size_t n)
{
	switch (dlt) {
	case CM_DLT_EN10MB:
		ethernet(p, b, n);
		break;
	case CM_DLT_LINUX_SLL: /* type, ARPHRD, address length, 8 address bytes, protocol */
		if (n < 16) {
			outcome(p, O_TRUNC);
			break;
		}
		ether_payload(p, be16(b + 14), b + 16, n - 16);
		break;
	case CM_DLT_LINUX_SLL2: /* protocol, reserved, ifindex, ARPHRD, type, address length, 8 address bytes */
		if (n < 20) {
			outcome(p, O_TRUNC);
			break;
		}
		ether_payload(p, be16(b), b + 20, n - 20);
		break;
	case CM_DLT_NULL:
	case CM_DLT_LOOP:
		loopback(p, b, n);
		break;
	case CM_DLT_RAW:
	case 12: /* DLT_RAW as most systems' pcap_datalink says it */
	case 14: /* DLT_RAW on OpenBSD */
		raw(p, b, n);
		break;
	case CM_DLT_IPV4:
		ipv4(p, b, n, 0, 1);
		break;
	case CM_DLT_IPV6:
		ipv6(p, b, n, 0, 1);
		break;
	default:
		outcome(p, O_NOTIP);
		break;
	}
}

/* ---- time ---- */

/* The clock is the latest frame time seen: a frame from the past expires nothing early. */
static void set_clock(struct cm_pkt *p, int64_t sec, uint32_t usec)
{
	int64_t t;

	if (sec > CLOCK_MAX)
		sec = CLOCK_MAX;
	if (sec < -CLOCK_MAX)
		sec = -CLOCK_MAX;
	t = sec * 1000 + (int64_t)(usec / 1000);
	if (!p->clock_set || t > p->now) {
		p->now = t;
		p->clock_set = 1;
	}
}

/* Drops the datagrams and TCP directions whose time is up. */
static void expire(struct cm_pkt *p)
{
	while (list_linked(&p->fage)) {
		struct dgram *d = OWNER(p->fage.next, struct dgram, age);

		if (p->now - d->born <= (int64_t)p->o.frag_timeout_ms)
			break;
		dgram_free(p, d, 1);
	}
	while (list_linked(&p->tlru)) {
		struct tdir *t = OWNER(p->tlru.next, struct tdir, lru);

		if (p->now - t->last <= (int64_t)p->o.tcp_timeout_ms)
			break;
		tdir_del(p, t);
	}
}

/* ---- the API ---- */

void cm_pkt_opts_default(struct cm_pkt_opts *o)
{
	memset(o, 0, sizeof *o);
	o->frag_mem = DEF_FRAG_MEM;
	o->frag_timeout_ms = DEF_FRAG_TIMEOUT;
	o->tcp_streams = DEF_TCP_STREAMS;
	o->tcp_mem = DEF_TCP_MEM;
	o->tcp_timeout_ms = DEF_TCP_TIMEOUT;
	o->max_message = DEF_MAX_MESSAGE;
}

struct cm_pkt *cm_pkt_new(const struct cm_pkt_opts *o)
{
	struct cm_pkt *p = calloc(1, sizeof *p);
	size_t i;

	if (!p)
		return NULL;
	cm_pkt_opts_default(&p->o);
	if (o) {
		if (o->frag_mem)
			p->o.frag_mem = o->frag_mem;
		if (o->frag_timeout_ms)
			p->o.frag_timeout_ms = o->frag_timeout_ms;
		if (o->tcp_streams)
			p->o.tcp_streams = o->tcp_streams;
		if (o->tcp_mem)
			p->o.tcp_mem = o->tcp_mem;
		if (o->tcp_timeout_ms)
			p->o.tcp_timeout_ms = o->tcp_timeout_ms;
		if (o->max_message)
			p->o.max_message = o->max_message;
		for (i = 0; o->ports && i < o->nports; i++)
			p->ports[o->ports[i] >> 3] |= (uint8_t)(1u << (o->ports[i] & 7));
	}
	/* The caller's port list is not kept: the bitmap holds it. */
	p->o.ports = NULL;
	p->o.nports = 0;
	p->ooo_max = p->o.max_message > SIZE_MAX / 4 ? SIZE_MAX
		     : p->o.max_message > OOO_MIN / 4 ? 4 * p->o.max_message : OOO_MIN;
	if (p->ooo_max > p->o.tcp_mem)
		p->ooo_max = p->o.tcp_mem;
	/* Hash seeds nobody outside can guess, so that colliding keys cannot be crafted. */
	if (getentropy(&p->seed, sizeof p->seed) != 0)
		p->seed = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15u;
	list_init(&p->fage);
	list_init(&p->tlru);
	list_init(&p->theld);
	return p;
}

/* Drops every datagram and direction held; counted when count. */
static void drop_all(struct cm_pkt *p, int count)
{
	while (list_linked(&p->fage))
		dgram_free(p, OWNER(p->fage.next, struct dgram, age), count);
	while (list_linked(&p->tlru)) {
		struct tdir *t = OWNER(p->tlru.next, struct tdir, lru);

		if (!count)
			tdir_release(p, t, 0);
		tdir_del(p, t);
	}
}

void cm_pkt_free(struct cm_pkt *p)
{
	if (!p)
		return;
	drop_all(p, 0);
	htab_free(&p->ftab);
	htab_free(&p->ttab);
	free(p);
}

int cm_pkt_frame(struct cm_pkt *p, int dlt, int64_t sec, uint32_t usec, uint64_t frame,
		 const uint8_t *data, size_t caplen, size_t len, cm_pkt_msg_fn fn, void *ud)
{
	p->st.frames++;
	p->sec = sec;
	p->usec = usec;
	p->frame = frame;
	p->cut = caplen < len;
	p->fn = fn;
	p->ud = ud;
	p->rc = 0;
	p->outcome = O_NONE;
	set_clock(p, sec, usec);
	expire(p);
	link_layer(p, dlt, data ? data : (const uint8_t *)"", data ? caplen : 0);
	switch (p->outcome) {
	case O_TRUNC: p->st.truncated++; break;
	case O_MALF: p->st.malformed++; break;
	case O_NOTIP: p->st.not_ip++; break;
	case O_OTHER: p->st.other++; break;
	default: break;
	}
	p->fn = NULL;
	p->ud = NULL;
	return p->rc;
}

int cm_pkt_finish(struct cm_pkt *p)
{
	drop_all(p, 1);
	return 0;
}

const struct cm_pkt_stats *cm_pkt_stats(const struct cm_pkt *p)
{
	return &p->st;
}
