/*
 * Unit tests of the packet stage (src/packet.c).
 *
 * Frames are built by hand, innermost first: a struct pk holds bytes at
 * the end of a buffer and each pk_* helper prepends one header (UDP, TCP,
 * IPv4, IPv6 and its extension headers, Ethernet, 802.1Q, Linux cooked v1
 * and v2, BSD loopback), filling lengths from what is already there.
 * Every frame is fed from a read-only copy that ends against a PROT_NONE
 * page, so that reading one byte past caplen faults. Addresses are from
 * the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32).
 *
 * The last tests read ../shared/corpus/pcap/ipv6frag.pcap (SIP over IPv6
 * with IP fragments, from the sngrep project) with libpcap.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cdrmin/packet.h"

TestSuite(packet);

#define PK_CAP 140000
#define MAX_GOT 256

/* ---- frame building ---- */

struct pk {
	size_t start; /* the frame is b[start..PK_CAP) */
	uint8_t b[PK_CAP];
};

static struct pk *pk_new(void)
{
	struct pk *k = malloc(sizeof *k);

	cr_assert_not_null(k);
	k->start = PK_CAP;
	return k;
}

static size_t pk_len(const struct pk *k)
{
	return PK_CAP - k->start;
}

static const uint8_t *pk_data(const struct pk *k)
{
	return k->b + k->start;
}

static uint8_t *pk_push(struct pk *k, size_t n)
{
	cr_assert(k->start >= n, "frame too big");
	k->start -= n;
	memset(k->b + k->start, 0, n);
	return k->b + k->start;
}

static void pk_bytes(struct pk *k, const void *d, size_t n)
{
	memcpy(pk_push(k, n), d, n);
}

static void pk_str(struct pk *k, const char *s)
{
	pk_bytes(k, s, strlen(s));
}

static void put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v & 0xffff);
}

static void addr(int af, const char *s, uint8_t *out)
{
	cr_assert_eq(inet_pton(af, s, out), 1, "bad test address %s", s);
}

static void pk_udp(struct pk *k, unsigned sport, unsigned dport)
{
	size_t n = pk_len(k) + 8;
	uint8_t *h = pk_push(k, 8);

	put16(h, sport);
	put16(h + 2, dport);
	put16(h + 4, (unsigned)n);
}

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

static void pk_tcp(struct pk *k, unsigned sport, unsigned dport, uint32_t seq, unsigned flags)
{
	uint8_t *h = pk_push(k, 20);

	put16(h, sport);
	put16(h + 2, dport);
	put32(h + 4, seq);
	put32(h + 8, 1);
	h[12] = 5 << 4;
	h[13] = (uint8_t)flags;
	put16(h + 14, 65535);
}

/* IPv4 with optlen bytes of options (NOPs), id and the flags/fragment offset word. */
static void pk_ipv4x(struct pk *k, const char *src, const char *dst, unsigned proto, unsigned id, unsigned fo,
		     size_t optlen)
{
	size_t hl = 20 + optlen, n = pk_len(k) + hl;
	uint8_t *h = pk_push(k, hl);

	cr_assert(optlen % 4 == 0 && hl <= 60);
	h[0] = (uint8_t)(0x40 | hl / 4);
	put16(h + 2, (unsigned)n);
	put16(h + 4, id);
	put16(h + 6, fo);
	h[8] = 64;
	h[9] = (uint8_t)proto;
	addr(AF_INET, src, h + 12);
	addr(AF_INET, dst, h + 16);
	memset(h + 20, 1, optlen);
}

static void pk_ipv4(struct pk *k, const char *src, const char *dst, unsigned proto)
{
	pk_ipv4x(k, src, dst, proto, 0x1234, 0x4000, 0);
}

static void pk_ipv6(struct pk *k, const char *src, const char *dst, unsigned nh)
{
	size_t n = pk_len(k);
	uint8_t *h = pk_push(k, 40);

	h[0] = 0x60;
	put16(h + 4, (unsigned)n);
	h[6] = (uint8_t)nh;
	h[7] = 64;
	addr(AF_INET6, src, h + 8);
	addr(AF_INET6, dst, h + 24);
}

/* A hop-by-hop, routing or destination options header of len bytes (a multiple of 8). */
static void pk_ext6(struct pk *k, unsigned nh, size_t len)
{
	uint8_t *h = pk_push(k, len);

	h[0] = (uint8_t)nh;
	h[1] = (uint8_t)(len / 8 - 1);
	h[2] = 1; /* PadN over the rest */
	h[3] = (uint8_t)(len - 4);
}

static void pk_frag6(struct pk *k, unsigned nh, uint32_t off, int mf, uint32_t id)
{
	uint8_t *h = pk_push(k, 8);

	h[0] = (uint8_t)nh;
	put16(h + 2, off | (mf ? 1 : 0));
	put32(h + 4, id);
}

static void pk_eth(struct pk *k, unsigned type)
{
	uint8_t *h = pk_push(k, 14);

	memcpy(h, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	put16(h + 12, type);
}

/* An 802.1Q tag: the caller then adds the header with tpid as its type. */
static void pk_vlan(struct pk *k, unsigned vid, unsigned inner)
{
	uint8_t *h = pk_push(k, 4);

	put16(h, vid);
	put16(h + 2, inner);
}

static void pk_sll(struct pk *k, unsigned proto)
{
	uint8_t *h = pk_push(k, 16);

	put16(h, 0);      /* to us */
	put16(h + 2, 1);  /* ARPHRD_ETHER */
	put16(h + 4, 6);
	memcpy(h + 6, "\x02\x00\x00\x00\x00\x01", 6);
	put16(h + 14, proto);
}

static void pk_sll2(struct pk *k, unsigned proto)
{
	uint8_t *h = pk_push(k, 20);

	put16(h, proto);
	put32(h + 4, 2);  /* ifindex */
	put16(h + 8, 1);  /* ARPHRD_ETHER */
	h[10] = 0;
	h[11] = 6;
	memcpy(h + 12, "\x02\x00\x00\x00\x00\x01", 6);
}

static void pk_loop(struct pk *k, uint32_t fam, int big_endian)
{
	uint8_t *h = pk_push(k, 4);

	if (big_endian) {
		put32(h, fam);
	} else {
		h[0] = (uint8_t)fam;
		h[1] = (uint8_t)(fam >> 8);
		h[2] = (uint8_t)(fam >> 16);
		h[3] = (uint8_t)(fam >> 24);
	}
}

/* ---- SIP messages ---- */

/* A SIP message with start line sl, a Call-ID tagged with n, and a body of blen bytes (ending in CRLF), in out. */
static size_t sipmsg(char *out, size_t cap, const char *sl, int n, size_t blen)
{
	char body[8192];
	int w;

	cr_assert(blen < sizeof body);
	memset(body, 'x', blen);
	if (blen >= 2)
		memcpy(body + blen - 2, "\r\n", 2);
	body[blen] = 0;
	w = snprintf(out, cap,
		     "%s\r\n"
		     "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9\r\n"
		     "From: <sip:+15550100@192.0.2.10>;tag=9fxced76sl\r\n"
		     "To: <sip:+15550101@192.0.2.20>\r\n"
		     "Call-ID: 3848276298220188511-%d@192.0.2.10\r\n"
		     "CSeq: 1 INVITE\r\n"
		     "Content-Length: %zu\r\n"
		     "\r\n%s",
		     sl, n, blen, body);
	cr_assert(w > 0 && (size_t)w < cap);
	return (size_t)w;
}

#define INVITE_LINE "INVITE sip:+15550101@192.0.2.20 SIP/2.0"
#define OK_LINE "SIP/2.0 200 OK"

/* ---- feeding and collecting ---- */

struct got {
	int n;
	char *msg[MAX_GOT];
	size_t len[MAX_GOT];
	struct cm_pkt_meta meta[MAX_GOT];
	int inframe[MAX_GOT]; /* the message points into the frame (no copy) */
	const uint8_t *lo, *hi; /* the frame being fed */
	uint64_t frame;
	int stop_after; /* return 7 from this message on, when > 0 */
};

static int collect(void *ud, const struct cm_pkt_meta *m, const char *msg, size_t n)
{
	struct got *g = ud;
	const uint8_t *u = (const uint8_t *)msg;

	cr_assert(n > 0, "an empty message");
	cr_assert(g->n < MAX_GOT, "too many messages");
	g->msg[g->n] = malloc(n + 1);
	cr_assert_not_null(g->msg[g->n]);
	memcpy(g->msg[g->n], msg, n);
	g->msg[g->n][n] = 0;
	g->len[g->n] = n;
	g->meta[g->n] = *m;
	g->inframe[g->n] = u >= g->lo && u + n <= g->hi;
	g->n++;
	return g->stop_after > 0 && g->n >= g->stop_after ? 7 : 0;
}

static void got_free(struct got *g)
{
	int i;

	for (i = 0; i < g->n; i++)
		free(g->msg[i]);
	memset(g, 0, sizeof *g);
}

/*
 * Feeds data[0..caplen) (original length len) to p, from a read-only copy
 * placed against a PROT_NONE page. Returns cm_pkt_frame's value.
 */
static int feed_at(struct cm_pkt *p, int dlt, int64_t sec, const uint8_t *data, size_t caplen, size_t len,
		   struct got *g)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = caplen ? (caplen + pg - 1) / pg * pg : pg;
	uint8_t *m = mmap(NULL, span + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *d;
	int rc;

	cr_assert(m != MAP_FAILED);
	d = m + span - caplen;
	if (caplen)
		memcpy(d, data, caplen);
	cr_assert_eq(mprotect(m, span, PROT_READ), 0);
	cr_assert_eq(mprotect(m + span, pg, PROT_NONE), 0);
	g->lo = d;
	g->hi = d + caplen;
	rc = cm_pkt_frame(p, dlt, sec, 250000, ++g->frame, d, caplen, len, collect, g);
	g->lo = g->hi = NULL;
	munmap(m, span + pg);
	return rc;
}

static int feed(struct cm_pkt *p, int dlt, const struct pk *k, struct got *g)
{
	return feed_at(p, dlt, 1700000000, pk_data(k), pk_len(k), pk_len(k), g);
}

static struct cm_pkt *pkt_new(void)
{
	struct cm_pkt *p = cm_pkt_new(NULL);

	cr_assert_not_null(p);
	return p;
}

/* Every frame is counted in at most one of the per-frame outcomes; datagrams have fragments. */
static void check_stats(const struct cm_pkt *p)
{
	const struct cm_pkt_stats *s = cm_pkt_stats(p);

	cr_assert_leq(s->truncated + s->malformed + s->not_ip + s->other, s->frames);
	cr_assert_leq(2 * s->reassembled + s->frag_dropped, s->fragments);
}

/* An Ethernet + IPv4 + UDP frame carrying msg, 192.0.2.10:5060 -> 192.0.2.20:5060. */
static struct pk *udp4(const char *msg, size_t n)
{
	struct pk *k = pk_new();

	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
	pk_eth(k, 0x0800);
	return k;
}

/* Feeds one frame expected to give exactly the message msg[0..n). */
static void expect_one(struct cm_pkt *p, int dlt, const struct pk *k, const char *msg, size_t n)
{
	struct got g = {0};

	cr_assert_eq(feed(p, dlt, k, &g), 0);
	cr_assert_eq(g.n, 1, "dlt %d: %d messages", dlt, g.n);
	cr_assert_eq(g.len[0], n);
	cr_assert_eq(memcmp(g.msg[0], msg, n), 0);
	cr_assert(g.inframe[0], "a UDP message is handed on in place");
	got_free(&g);
}

/* ---- link layers ---- */

Test(packet, ethernet_ipv4_udp_meta)
{
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 1, 20);
	struct pk *k = udp4(msg, n);
	struct got g = {0};
	uint8_t a[4];

	g.frame = 41;
	cr_assert_eq(feed(p, CM_DLT_EN10MB, k, &g), 0);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.len[0], n);
	cr_assert_eq(memcmp(g.msg[0], msg, n), 0);
	cr_assert(g.inframe[0]);
	cr_assert_eq(g.meta[0].family, 4);
	cr_assert_eq(g.meta[0].proto, 17);
	addr(AF_INET, "192.0.2.10", a);
	cr_assert_eq(memcmp(g.meta[0].src, a, 4), 0);
	addr(AF_INET, "192.0.2.20", a);
	cr_assert_eq(memcmp(g.meta[0].dst, a, 4), 0);
	cr_assert_eq(g.meta[0].src[4] | g.meta[0].src[15], 0);
	cr_assert_eq(g.meta[0].sport, 5060);
	cr_assert_eq(g.meta[0].dport, 5060);
	cr_assert_eq(g.meta[0].sec, 1700000000);
	cr_assert_eq(g.meta[0].usec, 250000);
	cr_assert_eq(g.meta[0].frame, 42);
	cr_assert_eq(cm_pkt_stats(p)->frames, 1);
	cr_assert_eq(cm_pkt_stats(p)->messages, 1);
	got_free(&g);
	free(k);
	cm_pkt_free(p);
}

Test(packet, ethernet_ipv6_udp_meta)
{
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, OK_LINE, 2, 0);
	struct pk *k = pk_new();
	struct got g = {0};
	uint8_t a[16];

	pk_bytes(k, msg, n);
	pk_udp(k, 5062, 15060);
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 17);
	pk_eth(k, 0x86dd);
	cr_assert_eq(feed(p, CM_DLT_EN10MB, k, &g), 0);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.meta[0].family, 6);
	addr(AF_INET6, "2001:db8::1", a);
	cr_assert_eq(memcmp(g.meta[0].src, a, 16), 0);
	addr(AF_INET6, "2001:db8::2", a);
	cr_assert_eq(memcmp(g.meta[0].dst, a, 16), 0);
	cr_assert_eq(g.meta[0].sport, 5062);
	cr_assert_eq(g.meta[0].dport, 15060);
	got_free(&g);
	free(k);
	cm_pkt_free(p);
}

Test(packet, vlan_and_qinq)
{
	static const unsigned outer[] = {0x8100, 0x88a8, 0x9100};
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 3, 4), i;

	for (i = 0; i < 3; i++) {
		struct pk *k = pk_new();

		pk_bytes(k, msg, n);
		pk_udp(k, 5060, 5060);
		pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
		pk_vlan(k, 100, 0x0800);
		if (i) /* QinQ: an S-tag outside the C-tag */
			pk_vlan(k, 200, 0x8100);
		pk_eth(k, outer[i]);
		expect_one(p, CM_DLT_EN10MB, k, msg, n);
		free(k);
	}
	cr_assert_eq(cm_pkt_stats(p)->messages, 3);
	cm_pkt_free(p);
}

Test(packet, vlan_tags_without_end_are_malformed)
{
	struct cm_pkt *p = pkt_new();
	struct pk *k = pk_new();
	struct got g = {0};
	int i;

	pk_str(k, "payload");
	for (i = 0; i < 12; i++)
		pk_vlan(k, (unsigned)i, 0x8100);
	pk_eth(k, 0x8100);
	feed(p, CM_DLT_EN10MB, k, &g);
	cr_assert_eq(g.n, 0);
	cr_assert_eq(cm_pkt_stats(p)->malformed, 1);
	free(k);
	cm_pkt_free(p);
}

Test(packet, ethernet_llc_snap)
{
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 4, 4);
	struct pk *k = pk_new();
	uint8_t *h;

	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
	h = pk_push(k, 8);
	memcpy(h, "\xaa\xaa\x03\x00\x00\x00\x08\x00", 8);
	pk_eth(k, (unsigned)pk_len(k)); /* an 802.3 length, not a type */
	expect_one(p, CM_DLT_EN10MB, k, msg, n);
	free(k);
	cm_pkt_free(p);
}

Test(packet, linux_cooked_v1_and_v2)
{
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 5, 10);
	struct pk *k;

	k = pk_new();
	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
	pk_sll(k, 0x0800);
	expect_one(p, CM_DLT_LINUX_SLL, k, msg, n);
	free(k);

	k = pk_new(); /* a VLAN tag left in place */
	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 17);
	pk_vlan(k, 7, 0x86dd);
	pk_sll(k, 0x8100);
	expect_one(p, CM_DLT_LINUX_SLL, k, msg, n);
	free(k);

	k = pk_new();
	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 17);
	pk_sll2(k, 0x86dd);
	expect_one(p, CM_DLT_LINUX_SLL2, k, msg, n);
	free(k);

	k = pk_new();
	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
	pk_sll2(k, 0x0800);
	expect_one(p, CM_DLT_LINUX_SLL2, k, msg, n);
	free(k);
	cm_pkt_free(p);
}

Test(packet, raw_ip_link_types)
{
	static const int raw[] = {CM_DLT_RAW, 12, 14};
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, OK_LINE, 6, 0), i;
	struct pk *k4 = pk_new(), *k6 = pk_new();
	struct got g = {0};

	pk_bytes(k4, msg, n);
	pk_udp(k4, 5060, 5060);
	pk_ipv4(k4, "198.51.100.1", "198.51.100.2", 17);
	pk_bytes(k6, msg, n);
	pk_udp(k6, 5060, 5060);
	pk_ipv6(k6, "2001:db8::1", "2001:db8::2", 17);
	for (i = 0; i < 3; i++) {
		expect_one(p, raw[i], k4, msg, n);
		expect_one(p, raw[i], k6, msg, n);
	}
	expect_one(p, CM_DLT_IPV4, k4, msg, n);
	expect_one(p, CM_DLT_IPV6, k6, msg, n);
	/* The wrong version for the link type, or no version at all. */
	feed(p, CM_DLT_IPV4, k6, &g);
	feed(p, CM_DLT_IPV6, k4, &g);
	k4->b[k4->start] = 0x55;
	feed(p, CM_DLT_RAW, k4, &g);
	cr_assert_eq(g.n, 0);
	cr_assert_eq(cm_pkt_stats(p)->malformed, 3);
	free(k4);
	free(k6);
	cm_pkt_free(p);
}

Test(packet, bsd_loopback_families)
{
	static const uint32_t v6[] = {10, 24, 28, 30};
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 7, 3), i;
	int be;
	struct got g = {0};

	for (be = 0; be < 2; be++) {
		struct pk *k = pk_new();

		pk_bytes(k, msg, n);
		pk_udp(k, 5060, 5060);
		pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
		pk_loop(k, 2, be);
		expect_one(p, CM_DLT_NULL, k, msg, n);
		expect_one(p, CM_DLT_LOOP, k, msg, n);
		free(k);
		for (i = 0; i < 4; i++) {
			k = pk_new();
			pk_bytes(k, msg, n);
			pk_udp(k, 5060, 5060);
			pk_ipv6(k, "2001:db8::1", "2001:db8::2", 17);
			pk_loop(k, v6[i], be);
			expect_one(p, CM_DLT_NULL, k, msg, n);
			free(k);
		}
	}
	{
		struct pk *k = pk_new();

		pk_str(k, "whatever");
		pk_loop(k, 7, 0); /* AF_IPX, say */
		feed(p, CM_DLT_NULL, k, &g);
		free(k);
	}
	cr_assert_eq(g.n, 0);
	cr_assert_eq(cm_pkt_stats(p)->not_ip, 1);
	cm_pkt_free(p);
}

Test(packet, not_ip)
{
	struct cm_pkt *p = pkt_new();
	struct pk *k = pk_new();
	struct got g = {0};

	pk_push(k, 28); /* an ARP body */
	pk_eth(k, 0x0806);
	feed(p, CM_DLT_EN10MB, k, &g);
	feed(p, 147, k, &g); /* an unknown link type */
	cr_assert_eq(cm_pkt_stats(p)->not_ip, 2);
	cr_assert_eq(g.n, 0);
	free(k);
	cm_pkt_free(p);
}

/* ---- IP ---- */

Test(packet, ipv4_options)
{
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 8, 5), opt;

	for (opt = 4; opt <= 40; opt += 36) {
		struct pk *k = pk_new();

		pk_bytes(k, msg, n);
		pk_udp(k, 5060, 5060);
		pk_ipv4x(k, "192.0.2.10", "192.0.2.20", 17, 1, 0, opt);
		pk_eth(k, 0x0800);
		expect_one(p, CM_DLT_EN10MB, k, msg, n);
		free(k);
	}
	cm_pkt_free(p);
}

Test(packet, ipv6_extension_headers)
{
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 9, 5);
	struct pk *k = pk_new();
	uint8_t *ah;
	struct got g = {0};

	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ext6(k, 17, 8);  /* destination options */
	ah = pk_push(k, 16); /* authentication header: (2 + 2) 4-byte words */
	ah[0] = 60;
	ah[1] = 2;
	pk_ext6(k, 51, 24); /* routing */
	pk_ext6(k, 43, 8);  /* hop-by-hop */
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 0);
	pk_eth(k, 0x86dd);
	expect_one(p, CM_DLT_EN10MB, k, msg, n);
	free(k);

	/* No next header; and a chain longer than anything real. */
	k = pk_new();
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 59);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	k = pk_new();
	{
		int i;

		pk_ext6(k, 60, 8);
		for (i = 0; i < 20; i++)
			pk_ext6(k, 60, 8);
	}
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 60);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	/* An extension header longer than the payload. */
	k = pk_new();
	pk_ext6(k, 17, 8);
	k->b[k->start + 1] = 9;
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 60);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	cr_assert_eq(g.n, 0);
	cr_assert_eq(cm_pkt_stats(p)->other, 1);
	cr_assert_eq(cm_pkt_stats(p)->malformed, 2);
	cm_pkt_free(p);
}

Test(packet, other_protocols_and_payloads)
{
	static const char *const notsip[] = {
		"HTTP/1.1 200 OK\r\n\r\n",
		"INVITE bob SIP/2.0\r\n\r\n",          /* no URI scheme */
		"INVITE sip:bob SIP/3.0\r\n\r\n",
		"INVITE  sip:bob SIP/2.0\r\n\r\n",
		"SIP/2.0 20 OK\r\n\r\n",
		"\r\n\r\n",                           /* a keep-alive on UDP */
		"I",
	};
	static const char *const sip[] = {
		"sip/2.0 180 Ringing\r\n\r\n",
		"SIP/2.0 200\r\n\r\n",
		"FOO-BAR.x tel:+15550100 SIP/2.0\r\n\r\n",
		"OPTIONS sips:192.0.2.1 sip/2.0\n\n",
		"MESSAGE urn:service:sos SIP/2.0",
	};
	struct cm_pkt *p = pkt_new();
	struct pk *k;
	struct got g = {0};
	size_t i;

	for (i = 0; i < sizeof notsip / sizeof *notsip; i++) {
		k = udp4(notsip[i], strlen(notsip[i]));
		feed(p, CM_DLT_EN10MB, k, &g);
		cr_assert_eq(g.n, 0, "taken for SIP: %s", notsip[i]);
		free(k);
	}
	for (i = 0; i < sizeof sip / sizeof *sip; i++) {
		k = udp4(sip[i], strlen(sip[i]));
		expect_one(p, CM_DLT_EN10MB, k, sip[i], strlen(sip[i]));
		free(k);
	}
	k = pk_new(); /* ICMP */
	pk_push(k, 8)[0] = 8;
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 1);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	k = pk_new(); /* UDP without payload */
	pk_udp(k, 5060, 5060);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	cr_assert_eq(g.n, 0);
	cr_assert_eq(cm_pkt_stats(p)->other, sizeof notsip / sizeof *notsip + 2);
	check_stats(p);
	cm_pkt_free(p);
}

Test(packet, listed_ports_hand_on_anything)
{
	static const uint16_t ports[] = {5070};
	struct cm_pkt_opts o;
	struct cm_pkt *p;
	struct pk *k = pk_new();
	struct got g = {0};

	cm_pkt_opts_default(&o);
	o.ports = ports;
	o.nports = 1;
	p = cm_pkt_new(&o);
	pk_str(k, "not SIP at all");
	pk_udp(k, 40000, 5070);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
	feed(p, CM_DLT_RAW, k, &g);
	cr_assert_eq(g.n, 1);
	cr_assert_str_eq(g.msg[0], "not SIP at all");
	got_free(&g);
	free(k);
	cm_pkt_free(p);
}

Test(packet, udp_longer_than_max_message)
{
	struct cm_pkt_opts o;
	struct cm_pkt *p;
	char msg[2048];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 10, 800);
	struct pk *k = udp4(msg, n);
	struct got g = {0};

	cm_pkt_opts_default(&o);
	o.max_message = 512;
	p = cm_pkt_new(&o);
	feed(p, CM_DLT_EN10MB, k, &g);
	cr_assert_eq(g.n, 0);
	cr_assert_eq(cm_pkt_stats(p)->malformed, 1);
	free(k);
	cm_pkt_free(p);
}

Test(packet, callback_stops)
{
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 11, 0);
	struct pk *k = udp4(msg, n);
	struct got g = {0};

	g.stop_after = 1;
	cr_assert_eq(feed(p, CM_DLT_EN10MB, k, &g), 7);
	cr_assert_eq(g.n, 1);
	got_free(&g);
	free(k);
	cm_pkt_free(p);
}

/* ---- IP fragments ---- */

/*
 * Splits the UDP datagram of msg (ports 5060) into IPv4 fragments of at
 * most fl payload bytes (a multiple of 8), in k[0..*nk).
 */
static void frag4(const char *msg, size_t n, size_t fl, unsigned id, struct pk **k, size_t *nk)
{
	struct pk *whole = pk_new();
	size_t off = 0, len, i = 0;

	pk_bytes(whole, msg, n);
	pk_udp(whole, 5060, 5060);
	len = pk_len(whole);
	while (off < len) {
		size_t m = len - off < fl ? len - off : fl;
		int mf = off + m < len;

		cr_assert(i < 32);
		k[i] = pk_new();
		pk_bytes(k[i], pk_data(whole) + off, m);
		pk_ipv4x(k[i], "192.0.2.10", "192.0.2.20", 17, id, (unsigned)(off / 8) | (mf ? 0x2000 : 0), 0);
		pk_eth(k[i], 0x0800);
		off += m;
		i++;
	}
	*nk = i;
	free(whole);
}

static void frag6(const char *msg, size_t n, size_t fl, uint32_t id, struct pk **k, size_t *nk)
{
	struct pk *whole = pk_new();
	size_t off = 0, len, i = 0;

	pk_bytes(whole, msg, n);
	pk_udp(whole, 5060, 5060);
	len = pk_len(whole);
	while (off < len) {
		size_t m = len - off < fl ? len - off : fl;
		int mf = off + m < len;

		cr_assert(i < 32);
		k[i] = pk_new();
		pk_bytes(k[i], pk_data(whole) + off, m);
		pk_frag6(k[i], 17, (uint32_t)off, mf, id);
		pk_ext6(k[i], 44, 8); /* a hop-by-hop header before it: part of the unfragmentable part */
		pk_ipv6(k[i], "2001:db8::1", "2001:db8::2", 0);
		pk_eth(k[i], 0x86dd);
		off += m;
		i++;
	}
	*nk = i;
	free(whole);
}

static void free_all(struct pk **k, size_t nk)
{
	size_t i;

	for (i = 0; i < nk; i++)
		free(k[i]);
}

/* Feeds k[order[0]], k[order[1]], ... and expects msg once, complete, at the end. */
static void feed_order(struct cm_pkt *p, struct pk **k, const size_t *order, size_t no, const char *msg,
		       size_t n)
{
	struct got g = {0};
	size_t i;

	for (i = 0; i < no; i++) {
		feed(p, CM_DLT_EN10MB, k[order[i]], &g);
		cr_assert_eq(g.n, i + 1 == no, "fragment %zu of %zu: %d messages", i, no, g.n);
	}
	cr_assert_eq(g.len[0], n);
	cr_assert_eq(memcmp(g.msg[0], msg, n), 0);
	got_free(&g);
}

Test(packet, ipv4_fragments_in_order_reversed_duplicated)
{
	struct cm_pkt *p = pkt_new();
	char msg[2048];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 12, 1200), nk;
	struct pk *k[32];
	size_t fwd[] = {0, 1, 2, 3}, rev[] = {3, 2, 1, 0}, dup[] = {0, 2, 0, 1, 2, 3};

	frag4(msg, n, 400, 77, k, &nk);
	cr_assert_eq(nk, 4);
	feed_order(p, k, fwd, 4, msg, n);
	feed_order(p, k, rev, 4, msg, n);
	feed_order(p, k, dup, 6, msg, n);
	cr_assert_eq(cm_pkt_stats(p)->fragments, 14);
	cr_assert_eq(cm_pkt_stats(p)->reassembled, 3);
	cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 0);
	check_stats(p);
	free_all(k, nk);
	cm_pkt_free(p);
}

Test(packet, ipv4_fragments_overlapping_are_dropped)
{
	struct cm_pkt *p = pkt_new();
	char msg[2048];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 13, 1200), nk, nx, i;
	struct pk *k[32], *x[32];
	struct got g = {0};

	frag4(msg, n, 400, 78, k, &nk);
	frag4(msg, n, 200, 78, x, &nx); /* the same datagram cut elsewhere: x[1] lies inside k[0] */
	feed(p, CM_DLT_EN10MB, k[0], &g);
	feed(p, CM_DLT_EN10MB, x[1], &g);
	cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 1);
	for (i = 1; i < nk; i++)
		feed(p, CM_DLT_EN10MB, k[i], &g);
	cr_assert_eq(g.n, 0, "the rest of a dropped datagram must not complete it");
	cm_pkt_finish(p);
	cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 2);
	cr_assert_eq(cm_pkt_stats(p)->reassembled, 0);

	/* Same offset, different bytes: an overlap too. */
	{
		struct pk *y[32];
		size_t ny;
		char alt[2048];

		memcpy(alt, msg, n);
		alt[0] = 'X';
		frag4(alt, n, 400, 79, y, &ny);
		free_all(k, nk);
		frag4(msg, n, 400, 79, k, &nk);
		feed(p, CM_DLT_EN10MB, k[0], &g);
		feed(p, CM_DLT_EN10MB, y[0], &g);
		cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 3);
		free_all(y, ny);
	}
	check_stats(p);
	free_all(k, nk);
	free_all(x, nx);
	cm_pkt_free(p);
}

Test(packet, ipv4_fragment_missing_times_out)
{
	struct cm_pkt *p = pkt_new();
	char msg[2048];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 14, 1200), nk;
	struct pk *k[32];
	struct got g = {0};

	frag4(msg, n, 400, 80, k, &nk);
	feed_at(p, CM_DLT_EN10MB, 100, pk_data(k[0]), pk_len(k[0]), pk_len(k[0]), &g);
	feed_at(p, CM_DLT_EN10MB, 101, pk_data(k[1]), pk_len(k[1]), pk_len(k[1]), &g);
	feed_at(p, CM_DLT_EN10MB, 129, pk_data(k[3]), pk_len(k[3]), pk_len(k[3]), &g);
	cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 0);
	/* 31 s after the first fragment: given up; the late fragment starts a datagram of its own. */
	feed_at(p, CM_DLT_EN10MB, 131, pk_data(k[2]), pk_len(k[2]), pk_len(k[2]), &g);
	cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 1);
	cr_assert_eq(g.n, 0);
	cm_pkt_finish(p);
	cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 2);
	check_stats(p);
	free_all(k, nk);
	cm_pkt_free(p);
}

Test(packet, ipv4_fragments_hostile)
{
	struct cm_pkt *p = pkt_new();
	struct pk *k;
	struct got g = {0};
	uint8_t body[64];

	memset(body, 'a', sizeof body);
	/* Not a multiple of 8 with more to come; past 65535; empty. */
	k = pk_new();
	pk_bytes(k, body, 13);
	pk_ipv4x(k, "192.0.2.10", "192.0.2.20", 17, 5, 0x2000, 0);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	k = pk_new();
	pk_bytes(k, body, 64);
	pk_ipv4x(k, "192.0.2.10", "192.0.2.20", 17, 5, 0x1fff, 0);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	k = pk_new();
	pk_ipv4x(k, "192.0.2.10", "192.0.2.20", 17, 5, 0x2001, 0);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	cr_assert_eq(cm_pkt_stats(p)->malformed, 3);
	/* Two different last fragments; data past the last one. */
	k = pk_new();
	pk_bytes(k, body, 16);
	pk_ipv4x(k, "192.0.2.10", "192.0.2.20", 17, 6, 2, 0);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	k = pk_new();
	pk_bytes(k, body, 16);
	pk_ipv4x(k, "192.0.2.10", "192.0.2.20", 17, 6, 4, 0);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 1);
	k = pk_new();
	pk_bytes(k, body, 16);
	pk_ipv4x(k, "192.0.2.10", "192.0.2.20", 17, 7, 2, 0);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	k = pk_new();
	pk_bytes(k, body, 16);
	pk_ipv4x(k, "192.0.2.10", "192.0.2.20", 17, 7, 0x2000 | 3, 0);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 2);
	/* A last fragment that ends before data already held. */
	k = pk_new();
	pk_bytes(k, body, 16);
	pk_ipv4x(k, "192.0.2.10", "192.0.2.20", 17, 8, 0x2000 | 4, 0);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	k = pk_new();
	pk_bytes(k, body, 16);
	pk_ipv4x(k, "192.0.2.10", "192.0.2.20", 17, 8, 1, 0);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 3);
	cr_assert_eq(g.n, 0);
	check_stats(p);
	cm_pkt_free(p);
}

Test(packet, fragment_memory_is_bounded)
{
	struct cm_pkt_opts o;
	struct cm_pkt *p;
	char msg[2048];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 15, 1200), nk;
	struct pk *k[32];
	struct got g = {0};
	unsigned id;

	cm_pkt_opts_default(&o);
	o.frag_mem = 4096; /* room for a few first fragments only */
	p = cm_pkt_new(&o);
	for (id = 0; id < 50; id++) {
		frag4(msg, n, 400, id, k, &nk);
		feed(p, CM_DLT_EN10MB, k[0], &g);
		free_all(k, nk);
	}
	cr_assert_gt(cm_pkt_stats(p)->frag_dropped, 40);
	/* The newest datagram is still there and completes. */
	frag4(msg, n, 400, 49, k, &nk);
	feed(p, CM_DLT_EN10MB, k[1], &g);
	feed(p, CM_DLT_EN10MB, k[2], &g);
	feed(p, CM_DLT_EN10MB, k[3], &g);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(cm_pkt_stats(p)->reassembled, 1);
	check_stats(p);
	got_free(&g);
	free_all(k, nk);
	cm_pkt_free(p);
}

Test(packet, ipv6_fragments)
{
	struct cm_pkt *p = pkt_new();
	char msg[2048];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 16, 1500), nk;
	struct pk *k[32], *x[32];
	size_t fwd[] = {0, 1, 2}, rev[] = {2, 1, 0}, dup[] = {1, 1, 0, 2};
	struct got g = {0};
	size_t nx;

	frag6(msg, n, 600, 0xabcdef01u, k, &nk);
	cr_assert_eq(nk, 3);
	feed_order(p, k, fwd, 3, msg, n);
	feed_order(p, k, rev, 3, msg, n);
	feed_order(p, k, dup, 4, msg, n);
	cr_assert_eq(cm_pkt_stats(p)->reassembled, 3);
	/* RFC 5722: an overlap drops the datagram. */
	frag6(msg, n, 304, 0xabcdef01u, x, &nx);
	feed(p, CM_DLT_EN10MB, k[0], &g);
	feed(p, CM_DLT_EN10MB, x[1], &g);
	feed(p, CM_DLT_EN10MB, k[1], &g);
	feed(p, CM_DLT_EN10MB, k[2], &g);
	cr_assert_eq(g.n, 0);
	cr_assert_geq(cm_pkt_stats(p)->frag_dropped, 1);
	check_stats(p);
	free_all(k, nk);
	free_all(x, nx);
	cm_pkt_free(p);
}

Test(packet, ipv6_atomic_fragment)
{
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, OK_LINE, 17, 7);
	struct pk *k = pk_new();

	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_frag6(k, 17, 0, 0, 99);
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 44);
	expect_one(p, CM_DLT_RAW, k, msg, n);
	cr_assert_eq(cm_pkt_stats(p)->reassembled, 0);
	free(k);
	cm_pkt_free(p);
}

/* ---- tunnels ---- */

Test(packet, tunnels)
{
	struct cm_pkt *p = pkt_new();
	char msg[1024];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 18, 9);
	struct pk *k;
	struct got g = {0};
	int i;

	k = pk_new(); /* 4 in 4 */
	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
	pk_ipv4(k, "198.51.100.1", "198.51.100.2", 4);
	pk_eth(k, 0x0800);
	cr_assert_eq(feed(p, CM_DLT_EN10MB, k, &g), 0);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.meta[0].family, 4);
	cr_assert_eq(g.meta[0].src[0], 192, "the inner addresses");
	got_free(&g);
	free(k);

	k = pk_new(); /* 6 in 4 */
	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 17);
	pk_ipv4(k, "198.51.100.1", "198.51.100.2", 41);
	pk_eth(k, 0x0800);
	cr_assert_eq(feed(p, CM_DLT_EN10MB, k, &g), 0);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.meta[0].family, 6);
	got_free(&g);
	free(k);

	k = pk_new(); /* 4 in 6 */
	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 4);
	expect_one(p, CM_DLT_RAW, k, msg, n);
	free(k);

	k = pk_new(); /* 6 in 6, behind a destination options header */
	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv6(k, "2001:db8::3", "2001:db8::4", 17);
	pk_ext6(k, 41, 8);
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 60);
	expect_one(p, CM_DLT_RAW, k, msg, n);
	free(k);

	k = pk_new(); /* too deep */
	pk_bytes(k, msg, n);
	pk_udp(k, 5060, 5060);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
	for (i = 0; i < 10; i++)
		pk_ipv4(k, "198.51.100.1", "198.51.100.2", 4);
	feed(p, CM_DLT_RAW, k, &g);
	cr_assert_eq(g.n, 0);
	cr_assert_eq(cm_pkt_stats(p)->malformed, 1);
	free(k);
	cm_pkt_free(p);
}

Test(packet, fragmented_tunnel)
{
	struct cm_pkt *p = pkt_new();
	char msg[2048];
	size_t n = sipmsg(msg, sizeof msg, INVITE_LINE, 19, 1000), len, off;
	struct pk *inner = pk_new();
	struct got g = {0};

	/* IPv6 over IPv4, the outer datagram fragmented. */
	pk_bytes(inner, msg, n);
	pk_udp(inner, 5060, 5060);
	pk_ipv6(inner, "2001:db8::1", "2001:db8::2", 17);
	len = pk_len(inner);
	for (off = 0; off < len; off += 512) {
		struct pk *k = pk_new();
		size_t m = len - off < 512 ? len - off : 512;

		pk_bytes(k, pk_data(inner) + off, m);
		pk_ipv4x(k, "198.51.100.1", "198.51.100.2", 41, 9, (unsigned)(off / 8) | (off + m < len ? 0x2000 : 0),
			 0);
		feed(p, CM_DLT_RAW, k, &g);
		free(k);
	}
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.len[0], n);
	cr_assert_eq(g.meta[0].family, 6);
	got_free(&g);
	free(inner);
	cm_pkt_free(p);
}

/* ---- TCP ---- */

struct tcpconn {
	struct cm_pkt *p;
	struct got g;
	uint32_t seq; /* next sequence number of the client -> server direction */
	unsigned sport, dport;
	int v6;
};

/* Sends d[0..n) at seq (flags as given) from the client. */
static void tsend_at(struct tcpconn *c, uint32_t seq, unsigned flags, const void *d, size_t n)
{
	struct pk *k = pk_new();

	pk_bytes(k, d, n);
	pk_tcp(k, c->sport, c->dport, seq, flags);
	if (c->v6) {
		pk_ipv6(k, "2001:db8::a", "2001:db8::b", 6);
		pk_eth(k, 0x86dd);
	} else {
		pk_ipv4(k, "192.0.2.10", "192.0.2.20", 6);
		pk_eth(k, 0x0800);
	}
	cr_assert_eq(feed(c->p, CM_DLT_EN10MB, k, &c->g), 0);
	free(k);
}

/* Sends d[0..n) as the next in-order segment. */
static void tsend(struct tcpconn *c, const void *d, size_t n)
{
	tsend_at(c, c->seq, ACK | PSH, d, n);
	c->seq += (uint32_t)n;
}

static void tconn_init(struct tcpconn *c, struct cm_pkt *p, uint32_t isn, int syn)
{
	memset(c, 0, sizeof *c);
	c->p = p;
	c->sport = 40000;
	c->dport = 5060;
	c->seq = isn;
	if (syn) {
		tsend_at(c, isn, SYN, "", 0);
		c->seq = isn + 1;
	}
}

static void expect_msgs(struct got *g, const char *const *msgs, const size_t *lens, int n)
{
	int i;

	cr_assert_eq(g->n, n, "%d messages, %d expected", g->n, n);
	for (i = 0; i < n; i++) {
		cr_assert_eq(g->len[i], lens[i], "message %d: %zu bytes, %zu expected", i, g->len[i], lens[i]);
		cr_assert_eq(memcmp(g->msg[i], msgs[i], lens[i]), 0, "message %d differs", i);
		cr_assert_eq(g->meta[i].proto, 6);
	}
}

Test(packet, tcp_one_message_in_two_segments)
{
	struct tcpconn c;
	char m[2048];
	size_t n = sipmsg(m, sizeof m, INVITE_LINE, 20, 300);
	const char *msgs[] = {m};

	tconn_init(&c, pkt_new(), 1000, 1);
	tsend(&c, m, 100);
	cr_assert_eq(c.g.n, 0);
	tsend(&c, m + 100, n - 100);
	expect_msgs(&c.g, msgs, &n, 1);
	cr_assert_eq(c.g.meta[0].sport, 40000);
	cr_assert_eq(c.g.meta[0].dport, 5060);
	cr_assert_eq(c.g.meta[0].frame, 3);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_segments, 2);
	cr_assert_eq(cm_pkt_stats(c.p)->messages, 1);
	got_free(&c.g);
	cm_pkt_free(c.p);
}

Test(packet, tcp_two_messages_in_one_segment_over_ipv6)
{
	struct tcpconn c;
	char a[2048], b[2048], both[4096];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 21, 100), nb = sipmsg(b, sizeof b, OK_LINE, 22, 0);
	const char *msgs[] = {a, b};
	size_t lens[] = {na, nb};

	memcpy(both, a, na);
	memcpy(both + na, b, nb);
	tconn_init(&c, pkt_new(), 5, 0);
	c.v6 = 1;
	tsend(&c, both, na + nb);
	expect_msgs(&c.g, msgs, lens, 2);
	cr_assert_eq(c.g.meta[0].family, 6);
	cr_assert(c.g.inframe[0] && c.g.inframe[1], "framed in place when nothing is buffered");
	got_free(&c.g);
	cm_pkt_free(c.p);
}

Test(packet, tcp_retransmission_and_overlap)
{
	struct tcpconn c;
	char a[2048], b[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 23, 50), nb = sipmsg(b, sizeof b, OK_LINE, 24, 10);
	const char *msgs[] = {a, b};
	size_t lens[] = {na, nb};
	uint32_t s0;

	tconn_init(&c, pkt_new(), 0xfffffff0u, 1); /* the sequence numbers wrap */
	s0 = c.seq;
	tsend(&c, a, 60);
	tsend_at(&c, s0, ACK, a, 60);           /* the same again */
	tsend_at(&c, s0 + 30, ACK, a + 30, 60); /* overlapping both ends */
	c.seq = s0 + 90;
	tsend(&c, a + 90, na - 90);
	tsend_at(&c, s0, ACK, a, na);            /* all of it again */
	tsend(&c, b, nb);
	expect_msgs(&c.g, msgs, lens, 2);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_dropped, 0);
	got_free(&c.g);
	cm_pkt_free(c.p);
}

Test(packet, tcp_out_of_order)
{
	struct tcpconn c;
	char a[2048], b[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 25, 200), nb = sipmsg(b, sizeof b, OK_LINE, 26, 0);
	const char *msgs[] = {a, b};
	size_t lens[] = {na, nb};
	uint32_t s0;

	tconn_init(&c, pkt_new(), 77777, 1);
	s0 = c.seq;
	tsend_at(&c, s0 + (uint32_t)na, ACK, b, nb); /* the second message first */
	tsend_at(&c, s0 + 150, ACK, a + 150, na - 150);
	tsend_at(&c, s0 + 100, ACK, a + 100, 80); /* overlaps the held one */
	cr_assert_eq(c.g.n, 0);
	tsend_at(&c, s0, ACK, a, 100);
	expect_msgs(&c.g, msgs, lens, 2);
	got_free(&c.g);
	cm_pkt_free(c.p);
}

Test(packet, tcp_split_anywhere)
{
	char a[2048], b[2048], all[4096];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 27, 30), nb = sipmsg(b, sizeof b, OK_LINE, 28, 5);
	const char *msgs[] = {a, b};
	size_t lens[] = {na, nb}, cut, i;

	memcpy(all, a, na);
	memcpy(all + na, b, nb);
	/* Two segments cut at every byte, then one byte per segment. */
	for (cut = 1; cut < na + nb; cut++) {
		struct tcpconn c;

		tconn_init(&c, pkt_new(), (uint32_t)cut * 7919u, 1);
		tsend(&c, all, cut);
		tsend(&c, all + cut, na + nb - cut);
		expect_msgs(&c.g, msgs, lens, 2);
		got_free(&c.g);
		cm_pkt_free(c.p);
	}
	{
		struct tcpconn c;

		tconn_init(&c, pkt_new(), 1, 1);
		for (i = 0; i < na + nb; i++)
			tsend(&c, all + i, 1);
		expect_msgs(&c.g, msgs, lens, 2);
		cr_assert_eq(cm_pkt_stats(c.p)->tcp_dropped, 0);
		got_free(&c.g);
		cm_pkt_free(c.p);
	}
}

Test(packet, tcp_crlf_keepalives)
{
	struct tcpconn c;
	char a[2048], b[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 29, 10), nb = sipmsg(b, sizeof b, OK_LINE, 30, 0);
	const char *msgs[] = {a, b};
	size_t lens[] = {na, nb};

	tconn_init(&c, pkt_new(), 9, 1);
	tsend(&c, "\r\n\r\n", 4);
	tsend(&c, a, na);
	tsend(&c, "\r\n", 2);
	tsend(&c, "\r\n\r", 3);
	tsend(&c, "\n", 1);
	tsend(&c, b, nb);
	expect_msgs(&c.g, msgs, lens, 2);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_bad, 0);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_dropped, 0);
	got_free(&c.g);
	cm_pkt_free(c.p);
}

Test(packet, tcp_missing_content_length_resyncs)
{
	struct tcpconn c;
	static const char bad[] = INVITE_LINE "\r\nCall-ID: x\r\nContent-Type: text/plain\r\n\r\nsome body\r\n";
	char b[2048];
	size_t nb = sipmsg(b, sizeof b, OK_LINE, 31, 4);
	const char *msgs[] = {b};

	tconn_init(&c, pkt_new(), 9, 1);
	tsend(&c, bad, sizeof bad - 1);
	tsend(&c, b, nb);
	expect_msgs(&c.g, msgs, &nb, 1);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_bad, 1);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_dropped, sizeof bad - 1);
	got_free(&c.g);
	cm_pkt_free(c.p);
}

Test(packet, tcp_content_length_forms)
{
	static const char *const ok[] = {
		INVITE_LINE "\r\nl: 3\r\n\r\nabc",
		INVITE_LINE "\r\nCONTENT-LENGTH:3\r\n\r\nabc",
		INVITE_LINE "\r\ncontent-length \t:  3  \r\n\r\nabc",
		INVITE_LINE "\r\nContent-Length:\r\n  3\r\n\r\nabc",  /* folded */
		INVITE_LINE "\r\nContent-Length: 3\r\nl: 3\r\n\r\nabc", /* twice, the same */
		INVITE_LINE "\nLocation: x\nContent-Length: 00003\n\nabc",
	};
	static const char *const bad[] = {
		INVITE_LINE "\r\nContent-Length: 3\r\nl: 4\r\n\r\n",
		INVITE_LINE "\r\nContent-Length: three\r\n\r\n",
		INVITE_LINE "\r\nContent-Length: 3x\r\n\r\n",
		INVITE_LINE "\r\nContent-Length:\r\n\r\n",
		INVITE_LINE "\r\nX-Content-Length: 3\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof ok / sizeof *ok; i++) {
		struct tcpconn c;
		size_t n = strlen(ok[i]);

		tconn_init(&c, pkt_new(), 9, 1);
		tsend(&c, ok[i], n);
		cr_assert_eq(c.g.n, 1, "not framed: %s", ok[i]);
		cr_assert_eq(c.g.len[0], n);
		got_free(&c.g);
		cm_pkt_free(c.p);
	}
	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct tcpconn c;

		tconn_init(&c, pkt_new(), 9, 1);
		tsend(&c, bad[i], strlen(bad[i]));
		cr_assert_eq(c.g.n, 0, "framed: %s", bad[i]);
		cr_assert_eq(cm_pkt_stats(c.p)->tcp_bad, 1, "not counted: %s", bad[i]);
		cm_pkt_free(c.p);
	}
}

Test(packet, tcp_message_too_long_is_skipped)
{
	struct cm_pkt_opts o;
	struct tcpconn c;
	char a[2048], b[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 32, 1500), nb = sipmsg(b, sizeof b, OK_LINE, 33, 0);
	const char *msgs[] = {b};

	cm_pkt_opts_default(&o);
	o.max_message = 1024;
	tconn_init(&c, cm_pkt_new(&o), 9, 1);
	tsend(&c, a, 300);
	tsend(&c, a + 300, na - 300);
	tsend(&c, b, nb);
	expect_msgs(&c.g, msgs, &nb, 1);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_bad, 1);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_dropped, na);
	got_free(&c.g);
	cm_pkt_free(c.p);
}

Test(packet, tcp_headers_never_ending)
{
	struct cm_pkt_opts o;
	struct tcpconn c;
	char junk[600], b[2048];
	size_t nb = sipmsg(b, sizeof b, OK_LINE, 34, 0), i;
	const char *msgs[] = {b};

	cm_pkt_opts_default(&o);
	o.max_message = 512;
	tconn_init(&c, cm_pkt_new(&o), 9, 1);
	tsend(&c, INVITE_LINE "\r\n", sizeof INVITE_LINE + 1);
	for (i = 0; i < sizeof junk; i++)
		junk[i] = i % 40 == 39 ? '\n' : 'h';
	tsend(&c, junk, sizeof junk);
	tsend(&c, "\r\n", 2);
	tsend(&c, b, nb);
	expect_msgs(&c.g, msgs, &nb, 1);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_bad, 1);
	got_free(&c.g);
	cm_pkt_free(c.p);
}

Test(packet, tcp_joined_mid_way)
{
	struct tcpconn c;
	char a[2048], b[2048], seg[4096];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 35, 40), nb = sipmsg(b, sizeof b, OK_LINE, 36, 3);
	const char *msgs[] = {b, a};
	size_t lens[] = {nb, na};

	/* No SYN seen: the first segment holds the end of a message, then a whole one. */
	tconn_init(&c, pkt_new(), 123456, 0);
	memcpy(seg, a + 50, na - 50);
	memcpy(seg + na - 50, b, nb);
	tsend(&c, seg, na - 50 + nb);
	tsend(&c, a, na);
	expect_msgs(&c.g, msgs, lens, 2);
	got_free(&c.g);
	cm_pkt_free(c.p);
}

Test(packet, tcp_not_sip_is_ignored)
{
	struct tcpconn c;
	static const char http[] = "GET / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n";
	char a[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 37, 0);

	tconn_init(&c, pkt_new(), 1, 1);
	tsend(&c, http, sizeof http - 1);
	tsend(&c, a, na); /* SIP-looking bytes later in an HTTP stream: not followed */
	cr_assert_eq(c.g.n, 0);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_bad, 0);
	cr_assert_eq(cm_pkt_stats(c.p)->other, 3);
	cm_pkt_free(c.p);

	tconn_init(&c, pkt_new(), 1, 0); /* mid-way, no start line: nothing followed */
	tsend(&c, http + 4, sizeof http - 5);
	cr_assert_eq(cm_pkt_stats(c.p)->other, 1);
	cm_pkt_free(c.p);
}

Test(packet, tcp_fin_and_rst)
{
	struct tcpconn c;
	char a[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 38, 20);
	const char *msgs[] = {a};

	/* FIN with half a message: dropped and counted. */
	tconn_init(&c, pkt_new(), 1, 1);
	tsend(&c, a, na);
	tsend_at(&c, c.seq, ACK | FIN, a, 40);
	expect_msgs(&c.g, msgs, &na, 1);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_dropped, 40);
	/* A retransmission after the FIN is not a new stream. */
	tsend_at(&c, 2, ACK, a, na);
	cr_assert_eq(c.g.n, 1);
	got_free(&c.g);
	cm_pkt_free(c.p);

	/* RST: what is held goes. */
	tconn_init(&c, pkt_new(), 1, 1);
	tsend(&c, a, 40);
	tsend_at(&c, c.seq, RST, "", 0);
	tsend(&c, a + 40, na - 40);
	cr_assert_eq(c.g.n, 0);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_dropped, 40);
	cm_pkt_free(c.p);
}

Test(packet, tcp_gap_never_filled)
{
	struct tcpconn c;
	char a[2048], b[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 39, 100), nb, i;
	uint32_t s0;

	tconn_init(&c, pkt_new(), 1, 1);
	s0 = c.seq;
	tsend(&c, a, 50);
	/* The rest of the first message is lost by the capture; many messages follow. */
	c.seq = s0 + (uint32_t)na;
	for (i = 0; i < 100; i++) {
		nb = sipmsg(b, sizeof b, OK_LINE, 100 + (int)i, 0);
		tsend(&c, b, nb);
	}
	/* Held until too many wait behind the gap; then the gap is given up, nothing after it lost. */
	cr_assert_eq(c.g.n, 100, "%d messages", c.g.n);
	for (i = 0; i < (size_t)c.g.n; i++)
		cr_assert_eq(strncmp(c.g.msg[i], OK_LINE, strlen(OK_LINE)), 0);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_dropped, 50);
	cm_pkt_finish(c.p);
	check_stats(c.p);
	got_free(&c.g);
	cm_pkt_free(c.p);
}

Test(packet, tcp_idle_timeout_and_finish)
{
	struct cm_pkt *p = pkt_new();
	struct got g = {0};
	struct pk *k;
	char a[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 40, 10);

	k = pk_new();
	pk_bytes(k, a, 60);
	pk_tcp(k, 40000, 5060, 100, ACK);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 6);
	feed_at(p, CM_DLT_RAW, 1000, pk_data(k), pk_len(k), pk_len(k), &g);
	free(k);
	k = pk_new(); /* 301 s later, on another stream: the first is dropped */
	pk_str(k, "x");
	pk_udp(k, 1, 2);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 17);
	feed_at(p, CM_DLT_RAW, 1301, pk_data(k), pk_len(k), pk_len(k), &g);
	free(k);
	cr_assert_eq(cm_pkt_stats(p)->tcp_dropped, 60);
	k = pk_new(); /* the rest alone does not make a message */
	pk_bytes(k, a + 60, na - 60);
	pk_tcp(k, 40000, 5060, 160, ACK);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 6);
	feed_at(p, CM_DLT_RAW, 1302, pk_data(k), pk_len(k), pk_len(k), &g);
	free(k);
	cr_assert_eq(g.n, 0);
	cm_pkt_finish(p);
	check_stats(p);
	cm_pkt_free(p);
}

Test(packet, tcp_stream_and_memory_bounds)
{
	struct cm_pkt_opts o;
	struct cm_pkt *p;
	char a[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 41, 1000);
	unsigned i;
	struct got g = {0};

	cm_pkt_opts_default(&o);
	o.tcp_streams = 8;
	o.tcp_mem = 16384;
	p = cm_pkt_new(&o);
	/* 100 connections each leave half a message. */
	for (i = 0; i < 100; i++) {
		struct pk *k = pk_new();

		pk_bytes(k, a, na / 2);
		pk_tcp(k, 10000 + i, 5060, 1, ACK);
		pk_ipv4(k, "192.0.2.10", "192.0.2.20", 6);
		feed(p, CM_DLT_RAW, k, &g);
		free(k);
	}
	cr_assert_eq(cm_pkt_stats(p)->tcp_dropped, (uint64_t)(100 - 8) * (na / 2));
	/* The last connection completes its message. */
	{
		struct pk *k = pk_new();

		pk_bytes(k, a + na / 2, na - na / 2);
		pk_tcp(k, 10099, 5060, 1 + (uint32_t)(na / 2), ACK);
		pk_ipv4(k, "192.0.2.10", "192.0.2.20", 6);
		feed(p, CM_DLT_RAW, k, &g);
		free(k);
	}
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.len[0], na);
	cm_pkt_finish(p);
	check_stats(p);
	got_free(&g);
	cm_pkt_free(p);
}

/* A client segment of stream sport (no SYN seen) from 192.0.2.10 to 192.0.2.20:5060, fed to p. */
static void tseg(struct cm_pkt *p, unsigned sport, uint32_t seq, const void *d, size_t n, struct got *g)
{
	struct pk *k = pk_new();

	pk_bytes(k, d, n);
	pk_tcp(k, sport, 5060, seq, ACK);
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 6);
	feed(p, CM_DLT_RAW, k, g);
	free(k);
}

Test(packet, tcp_memory_pressure)
{
	struct cm_pkt_opts o;
	struct cm_pkt *p;
	char a[4096], b[2048], big[8192];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 43, 1900), nb = sipmsg(b, sizeof b, OK_LINE, 44, 0);
	size_t nbig = sipmsg(big, sizeof big, INVITE_LINE, 47, 5000);
	struct got g = {0};
	uint64_t dropped;

	cm_pkt_opts_default(&o);
	o.tcp_mem = 4096;
	p = cm_pkt_new(&o);
	/* A and B hold half a message each (2048-byte buffers): C's half needs room, A's goes. */
	tseg(p, 1111, 1, a, 1000, &g);
	tseg(p, 2222, 1, big, 1000, &g);
	tseg(p, 3333, 1, a, 1000, &g);
	cr_assert_eq(cm_pkt_stats(p)->tcp_dropped, 1000);
	/* A goes on: the rest of its message is dropped, the next one framed. */
	tseg(p, 1111, 1001, a + 1000, na - 1000, &g);
	cr_assert_eq(cm_pkt_stats(p)->tcp_dropped, na);
	tseg(p, 1111, 1 + (uint32_t)na, b, nb, &g);
	cr_assert_eq(g.n, 1);
	cr_assert_eq(g.len[0], nb);
	/* B grows to 4000 bytes (C's half goes), then past all of tcp_mem: its own data goes. */
	tseg(p, 2222, 1001, big + 1000, 3000, &g);
	cr_assert_eq(cm_pkt_stats(p)->tcp_dropped, na + 1000);
	tseg(p, 2222, 4001, big + 4000, 1000, &g);
	dropped = cm_pkt_stats(p)->tcp_dropped;
	cr_assert_eq(dropped, na + 1000 + 5000);
	/* Framing resumes at the next start line. */
	tseg(p, 2222, 5001, big + 5000, nbig - 5000, &g);
	tseg(p, 2222, 1 + (uint32_t)nbig, b, nb, &g);
	cr_assert_eq(g.n, 2);
	cr_assert_eq(cm_pkt_stats(p)->tcp_dropped, dropped + nbig - 5000);
	cm_pkt_finish(p);
	check_stats(p);
	got_free(&g);
	cm_pkt_free(p);
}

Test(packet, many_streams_without_callback)
{
	struct cm_pkt *p = pkt_new();
	char a[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 45, 20);
	struct got g = {0};
	unsigned i, round;

	/* More directions than the table's first buckets, each seen mid-way; fn NULL counts only. */
	for (round = 0; round < 2; round++) {
		for (i = 0; i < 1000; i++) {
			struct pk *k = pk_new();

			pk_bytes(k, a, na);
			pk_tcp(k, 20000 + i, 5060, 1 + round * (uint32_t)na, ACK);
			pk_ipv4(k, "192.0.2.10", "192.0.2.20", 6);
			cr_assert_eq(cm_pkt_frame(p, CM_DLT_RAW, 1, 0, ++g.frame, pk_data(k), pk_len(k), pk_len(k), NULL,
						  NULL),
				     0);
			free(k);
		}
	}
	cr_assert_eq(cm_pkt_stats(p)->messages, 2000);
	cr_assert_eq(cm_pkt_stats(p)->tcp_dropped, 0);
	cm_pkt_free(p);
}

Test(packet, tcp_unverified_stream_without_line_end)
{
	struct cm_pkt_opts o;
	struct tcpconn c;
	char junk[600];
	char a[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 46, 0);

	/* Seen from its SYN, token characters and no line end: not SIP once max_message is passed. */
	cm_pkt_opts_default(&o);
	o.max_message = 512;
	memset(junk, 'A', sizeof junk);
	tconn_init(&c, cm_pkt_new(&o), 1, 1);
	tsend(&c, junk, 100);
	tsend(&c, junk, sizeof junk);
	tsend(&c, a, na);
	cr_assert_eq(c.g.n, 0);
	cr_assert_eq(cm_pkt_stats(c.p)->tcp_bad, 0);
	cr_assert_eq(cm_pkt_stats(c.p)->other, 3);
	cm_pkt_free(c.p);
}

Test(packet, tcp_hostile_sequence_numbers)
{
	struct tcpconn c;
	char a[2048];
	size_t na = sipmsg(a, sizeof a, INVITE_LINE, 42, 10), i;
	const char *msgs[] = {a};

	tconn_init(&c, pkt_new(), 1, 1);
	for (i = 0; i < 10; i++) /* far out of the window: ignored */
		tsend_at(&c, 0x80000000u + (uint32_t)i * 1000, ACK, a, na);
	tsend(&c, a, na);
	expect_msgs(&c.g, msgs, &na, 1);
	got_free(&c.g);
	/* Out of the window for good (the ports reused without a SYN seen): joined afresh. */
	for (i = 0; i < 20; i++)
		tsend_at(&c, 0x90000000u + (uint32_t)i * (uint32_t)na, ACK, a, na);
	cr_assert_geq(c.g.n, 1);
	got_free(&c.g);
	cm_pkt_free(c.p);
}

/* ---- hostile frames ---- */

/* Frames of each kind that carry one SIP message. */
static size_t sample_frames(struct pk **k, int *dlt)
{
	static char m[2048];
	size_t n = sipmsg(m, sizeof m, INVITE_LINE, 50, 30), i = 0;

	k[i] = udp4(m, n);
	dlt[i++] = CM_DLT_EN10MB;
	k[i] = pk_new();
	pk_bytes(k[i], m, n);
	pk_udp(k[i], 5060, 5060);
	pk_ext6(k[i], 17, 16);
	pk_ipv6(k[i], "2001:db8::1", "2001:db8::2", 60);
	pk_vlan(k[i], 5, 0x86dd);
	pk_eth(k[i], 0x8100);
	dlt[i++] = CM_DLT_EN10MB;
	k[i] = pk_new();
	pk_bytes(k[i], m, n);
	pk_tcp(k[i], 5060, 5060, 1, ACK);
	pk_ipv4x(k[i], "192.0.2.10", "192.0.2.20", 6, 1, 0, 8);
	pk_sll(k[i], 0x0800);
	dlt[i++] = CM_DLT_LINUX_SLL;
	k[i] = pk_new();
	pk_bytes(k[i], m, n);
	pk_udp(k[i], 5060, 5060);
	pk_ipv4(k[i], "192.0.2.10", "192.0.2.20", 17);
	pk_ipv6(k[i], "2001:db8::1", "2001:db8::2", 4);
	pk_sll2(k[i], 0x86dd);
	dlt[i++] = CM_DLT_LINUX_SLL2;
	k[i] = pk_new();
	pk_bytes(k[i], m, n);
	pk_udp(k[i], 5060, 5060);
	pk_ipv4(k[i], "192.0.2.10", "192.0.2.20", 17);
	pk_loop(k[i], 2, 0);
	dlt[i++] = CM_DLT_NULL;
	return i;
}

Test(packet, truncated_frames)
{
	struct pk *k[8];
	int dlt[8];
	size_t nk = sample_frames(k, dlt), i, cut;

	for (i = 0; i < nk; i++) {
		struct cm_pkt *p = pkt_new();
		struct got g = {0};
		size_t len = pk_len(k[i]);

		for (cut = 0; cut < len; cut++)
			feed_at(p, dlt[i], 1, pk_data(k[i]), cut, len, &g);
		cr_assert_eq(g.n, 0, "frame %zu: a message from a truncated frame", i);
		cr_assert_eq(cm_pkt_stats(p)->truncated, len, "frame %zu: %llu of %zu counted", i,
			     (unsigned long long)cm_pkt_stats(p)->truncated, len);
		/* Whole, it gives its message. */
		feed(p, dlt[i], k[i], &g);
		cr_assert_eq(g.n, 1, "frame %zu", i);
		got_free(&g);
		cm_pkt_free(p);
		free(k[i]);
	}
}

Test(packet, bad_lengths)
{
	struct cm_pkt *p = pkt_new();
	char m[1024];
	size_t n = sipmsg(m, sizeof m, INVITE_LINE, 51, 0);
	struct got g = {0};
	struct pk *k;
	uint8_t *ip;

	/* UDP length beyond the IP payload; UDP length under 8. */
	k = udp4(m, n);
	ip = k->b + k->start + 14;
	put16(ip + 20 + 4, (unsigned)n + 9);
	feed(p, CM_DLT_EN10MB, k, &g);
	put16(ip + 20 + 4, 7);
	feed(p, CM_DLT_EN10MB, k, &g);
	/* IHL under 5; total length under IHL; total length beyond the (whole) frame. */
	put16(ip + 20 + 4, (unsigned)n + 8);
	ip[0] = 0x44;
	feed(p, CM_DLT_EN10MB, k, &g);
	ip[0] = 0x45;
	put16(ip + 2, 19);
	feed(p, CM_DLT_EN10MB, k, &g);
	put16(ip + 2, (unsigned)n + 29);
	feed(p, CM_DLT_EN10MB, k, &g);
	/* IHL beyond the total length. */
	put16(ip + 2, 30);
	ip[0] = 0x4f;
	feed(p, CM_DLT_EN10MB, k, &g);
	free(k);
	cr_assert_eq(cm_pkt_stats(p)->malformed, 6);
	/* Headers cut short by the end of a (whole) frame. */
	k = pk_new();
	pk_push(k, 10)[0] = 0x45;
	pk_eth(k, 0x0800);
	feed(p, CM_DLT_EN10MB, k, &g);
	free(k);
	k = pk_new();
	pk_push(k, 6);
	pk_eth(k, 0x0800);
	k->start += 10;
	feed(p, CM_DLT_EN10MB, k, &g);
	free(k);
	cr_assert_eq(cm_pkt_stats(p)->truncated, 2);
	/* IPv6 payload length beyond the frame; TCP data offset under 5 and beyond the segment. */
	k = pk_new();
	pk_bytes(k, m, n);
	pk_udp(k, 5060, 5060);
	pk_ipv6(k, "2001:db8::1", "2001:db8::2", 17);
	put16(k->b + k->start + 4, (unsigned)n + 100);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	k = pk_new();
	pk_bytes(k, m, n);
	pk_tcp(k, 1, 2, 3, ACK);
	k->b[k->start + 12] = 4 << 4;
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 6);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	k = pk_new();
	pk_tcp(k, 1, 2, 3, ACK);
	k->b[k->start + 12] = 15 << 4;
	pk_ipv4(k, "192.0.2.10", "192.0.2.20", 6);
	feed(p, CM_DLT_RAW, k, &g);
	free(k);
	cr_assert_eq(cm_pkt_stats(p)->malformed, 9);
	cr_assert_eq(g.n, 0);
	check_stats(p);
	cm_pkt_free(p);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rng(void)
{
	/* xorshift64*: a fixed seed makes every run the same. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

/* Sample frames with random bytes changed and random cuts: every result is counted, none crashes. */
Test(packet, mutated_frames_never_crash)
{
	struct pk *k[8];
	int dlt[8];
	size_t nk = sample_frames(k, dlt), i, round;
	struct cm_pkt_opts o;
	struct cm_pkt *p;
	uint8_t buf[4096];
	struct got g = {0};
	uint64_t frames = 0;

	cm_pkt_opts_default(&o);
	o.frag_mem = 65536;
	o.tcp_mem = 65536;
	o.max_message = 4096;
	p = cm_pkt_new(&o);
	for (round = 0; round < 6000; round++) {
		size_t w = rng() % nk, len = pk_len(k[w]), flips = 1 + rng() % 6, f, cap;

		cr_assert(len <= sizeof buf);
		memcpy(buf, pk_data(k[w]), len);
		for (f = 0; f < flips; f++) {
			size_t at = rng() % (len < 80 ? len : 80); /* mostly in the headers */

			if (rng() % 4 == 0)
				at = rng() % len;
			buf[at] = (uint8_t)rng();
		}
		cap = rng() % 3 ? len : rng() % (len + 1);
		feed_at(p, rng() % 10 ? dlt[w] : (int)(rng() % 300), (int64_t)(round / 50), buf, cap, len, &g);
		frames++;
		got_free(&g);
	}
	cm_pkt_finish(p);
	cr_assert_eq(cm_pkt_stats(p)->frames, frames);
	check_stats(p);
	cm_pkt_free(p);
	for (i = 0; i < nk; i++)
		free(k[i]);
}

/* ---- a real capture ---- */

#define CORPUS_PCAP "../shared/corpus/pcap/ipv6frag.pcap"

/* The value of the message's Content-Length (full or compact form), or -1. */
static long msg_content_length(const char *m, size_t n)
{
	const char *end = m + n, *line = m;

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));

		if (!nl || nl - line <= 1)
			break;
		if (!strncasecmp(line, "Content-Length:", 15))
			return strtol(line + 15, NULL, 10);
		if (!strncasecmp(line, "l:", 2))
			return strtol(line + 2, NULL, 10);
		line = nl + 1;
	}
	return -1;
}

/* Whether the first line of m is a status line or a request line ending in " SIP/2.0". */
static int is_start_line(const char *m)
{
	const char *nl = strstr(m, "\r\n");

	if (!nl)
		return 0;
	if (!strncmp(m, "SIP/2.0 ", 8))
		return nl - m >= 11;
	return nl - m > 8 && !strncmp(nl - 8, " SIP/2.0", 8) && strchr(m, ' ') < nl - 8;
}

Test(packet, pcap_ipv6_fragments)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(CORPUS_PCAP, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	struct cm_pkt *p = pkt_new();
	struct got g = {0};
	int i, r, dlt, with_cl = 0;

	cr_assert_not_null(pc, "%s: %s (tests run from the project root)", CORPUS_PCAP, err);
	dlt = pcap_datalink(pc);
	cr_assert_eq(dlt, CM_DLT_LINUX_SLL);
	while ((r = pcap_next_ex(pc, &h, &d)) == 1)
		feed_at(p, dlt, h->ts.tv_sec, d, h->caplen, h->len, &g);
	cr_assert_eq(r, PCAP_ERROR_BREAK);
	pcap_close(pc);
	cm_pkt_finish(p);
	/* 34 frames: 2 datagrams in 2 fragments each, 30 whole ones; every one a SIP message. */
	cr_assert_eq(cm_pkt_stats(p)->frames, 34);
	cr_assert_eq(cm_pkt_stats(p)->fragments, 4);
	cr_assert_eq(cm_pkt_stats(p)->reassembled, 2);
	cr_assert_eq(cm_pkt_stats(p)->frag_dropped, 0);
	cr_assert_eq(g.n, 32);
	cr_assert_eq(cm_pkt_stats(p)->messages, 32);
	for (i = 0; i < g.n; i++) {
		const char *body = strstr(g.msg[i], "\r\n\r\n");
		long cl = msg_content_length(g.msg[i], g.len[i]);

		cr_assert(is_start_line(g.msg[i]), "message %d: %.60s", i, g.msg[i]);
		cr_assert_not_null(body, "message %d: no end of headers", i);
		if (cl >= 0) /* optional on UDP: the 200 OK for PRACK, say, has none */
			cr_assert_eq((long)(g.msg[i] + g.len[i] - (body + 4)), cl, "message %d: body of %ld bytes", i,
				     (long)(g.msg[i] + g.len[i] - (body + 4)));
		else
			cr_assert_eq(body + 4, g.msg[i] + g.len[i], "message %d: a body but no Content-Length", i);
		with_cl += cl >= 0;
		cr_assert_eq(g.meta[i].family, 6);
		cr_assert_eq(g.meta[i].proto, 17);
	}
	cr_assert_geq(with_cl, 24, "%d messages with a Content-Length", with_cl);
	/* The two reassembled ones (tcpdump: "frag ... UDP, length 1691" and "length 1871"). */
	cr_assert_eq(g.len[0], 1691);
	cr_assert_eq(strncmp(g.msg[0], "INVITE sip:", 11), 0);
	cr_assert_eq(g.meta[0].frame, 2);
	cr_assert_eq(g.len[2], 1871);
	got_free(&g);
	cm_pkt_free(p);
}
