/*
 * cdrmin: captured frames to SIP messages.
 *
 * The packet stage takes the frames a capture gives (pcap, pcapng, live)
 * with their link type, and finds the SIP messages they carry:
 *
 *   link layer  Ethernet (DLT_EN10MB) with 802.1Q VLAN and QinQ tags
 *               (0x8100, 0x88a8, 0x9100), Linux cooked (DLT_LINUX_SLL,
 *               DLT_LINUX_SLL2), raw IP (DLT_RAW, LINKTYPE_IPV4,
 *               LINKTYPE_IPV6), BSD loopback (DLT_NULL, DLT_LOOP)
 *   network     IPv4 (options skipped), IPv6 (hop-by-hop, routing,
 *               destination options and fragment headers followed); IP
 *               fragments of both reassembled (bounded memory, a timeout);
 *               IP-in-IP (protocol 4) and IPv6-in-IPv4 (41) and IPv6
 *               tunnels decapsulated
 *   transport   UDP: one datagram, one message. TCP: each direction of a
 *               connection reassembled in sequence order (retransmissions
 *               and overlaps dropped, out-of-order segments held, bounded),
 *               then framed into messages by their Content-Length (RFC 3261
 *               section 18.3; "l" is its compact form): several messages in
 *               one segment, one message across segments, CRLF keep-alives
 *               (RFC 5626) skipped.
 *
 * A payload is SIP when it starts with a request line ("INVITE sip:... "
 * ending in " SIP/2.0") or a status line ("SIP/2.0 NNN "), on any port,
 * or when its source or destination port is one of opts.ports (then
 * whatever it holds is handed on and the SIP decoder judges it). A TCP
 * direction is followed from its SYN when its first bytes are SIP, or,
 * joined mid-way, from the first segment holding a whole start line at a
 * line start; on a listed port, from its first segment. Checksums are not
 * verified (capture hosts with offload record wrong ones).
 *
 * Every frame is read as hostile: a truncated frame (the capture cut it,
 * caplen < len, before the end of its IP datagram; or a link or IP header
 * cut short by the frame's end), a bad length or another inconsistency is
 * counted and skipped, never read past caplen.
 */
#ifndef CDRMIN_PACKET_H
#define CDRMIN_PACKET_H

#include <stddef.h>
#include <stdint.h>

/* Link types (pcap LINKTYPE_ values, as pcap_datalink gives them). */
#define CM_DLT_NULL 0
#define CM_DLT_EN10MB 1
#define CM_DLT_RAW 101       /* LINKTYPE_RAW (pcap_datalink may say 12 or 14 on some systems: taken as raw too) */
#define CM_DLT_LOOP 108
#define CM_DLT_LINUX_SLL 113
#define CM_DLT_IPV4 228
#define CM_DLT_IPV6 229
#define CM_DLT_LINUX_SLL2 276

/* Where a SIP message came from. Addresses in network order. */
struct cm_pkt_meta {
	int64_t sec;       /* capture time of the frame completing the message, UTC */
	uint32_t usec;
	uint8_t family;    /* 4 or 6 */
	uint8_t proto;     /* 17 UDP, 6 TCP */
	uint8_t src[16], dst[16]; /* IPv4 addresses in the first 4 bytes */
	uint16_t sport, dport;
	uint64_t frame;    /* 1-based number of that frame in its source */
};

/* A zero field takes its default. */
struct cm_pkt_opts {
	const uint16_t *ports; /* also hand on payloads of these ports; may be NULL; copied by cm_pkt_new */
	size_t nports;
	size_t frag_mem;       /* bytes held for IP fragments at most (default 16 MiB) */
	unsigned frag_timeout_ms; /* an incomplete datagram is dropped after this (default 30000) */
	size_t tcp_streams;    /* TCP directions followed at most (default 65536) */
	size_t tcp_mem;        /* bytes held for TCP reassembly at most: unframed and out-of-order data (default 64 MiB) */
	unsigned tcp_timeout_ms; /* an idle direction is dropped after this (default 300000) */
	size_t max_message;    /* longest SIP message (default 65536); longer ones are skipped and counted */
};

/* What the packet stage counted. */
struct cm_pkt_stats {
	uint64_t frames;       /* frames seen */
	uint64_t truncated;    /* caplen < len, or a header cut short: skipped */
	uint64_t malformed;    /* bad lengths, versions, header chains, UDP messages over max_message: skipped */
	uint64_t not_ip;       /* ARP and other non-IP frames, unknown link types */
	uint64_t other;        /* IP packets that are neither UDP nor TCP, or carry no SIP (pure ACKs too) */
	uint64_t fragments;    /* IP fragments seen */
	uint64_t reassembled;  /* datagrams rebuilt from fragments */
	uint64_t frag_dropped; /* incomplete datagrams dropped (timeout, memory, overlap) */
	uint64_t tcp_segments; /* TCP segments with payload */
	uint64_t tcp_dropped;  /* bytes of TCP data dropped (gaps never filled, memory, timeout, the bytes
				  of tcp_bad messages and those skipped to the next start line) */
	uint64_t tcp_bad;      /* TCP messages that could not be framed (no Content-Length, too long) */
	uint64_t messages;     /* SIP messages handed on */
};

/*
 * Called for each SIP message found: msg[0..n) is the whole message (start
 * line, headers, body), valid only during the call (it may point into the
 * frame itself). Each frame ends up counted in at most one of truncated,
 * malformed, not_ip and other. Returns 0 to go on, or non-zero to stop:
 * cm_pkt_frame then returns that value.
 */
typedef int (*cm_pkt_msg_fn)(void *ud, const struct cm_pkt_meta *m, const char *msg, size_t n);

struct cm_pkt;

/* Fills o with the defaults. */
void cm_pkt_opts_default(struct cm_pkt_opts *o);

/* A packet stage (o NULL: defaults). NULL when memory is short. */
struct cm_pkt *cm_pkt_new(const struct cm_pkt_opts *o);
void cm_pkt_free(struct cm_pkt *p);

/*
 * Decodes one frame of link type dlt: data[0..caplen), of original length
 * len, captured at sec.usec, the frame'th of its source. Calls fn for each
 * SIP message the frame completes (a UDP datagram, the last fragment of a
 * datagram, TCP data that ends messages). Timeouts are checked against the
 * frames' own times (the latest seen: a frame from the past expires
 * nothing). fn may be NULL: messages are then only counted. Returns 0,
 * fn's non-zero value, or -1 when memory is short.
 */
int cm_pkt_frame(struct cm_pkt *p, int dlt, int64_t sec, uint32_t usec, uint64_t frame,
		 const uint8_t *data, size_t caplen, size_t len, cm_pkt_msg_fn fn, void *ud);

/*
 * End of the input: what is still held (incomplete fragments, TCP data
 * that ends no message) is dropped and counted; p then holds nothing and
 * may take frames again. Returns 0.
 */
int cm_pkt_finish(struct cm_pkt *p);

const struct cm_pkt_stats *cm_pkt_stats(const struct cm_pkt *p);

#endif
