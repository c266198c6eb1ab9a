/*
 * \summary: libFuzzer target for the packet stage (packet.h).
 *
 * The input is a capture in a compact form: its first byte picks the link
 * type (and, by its top bit, tiny limits instead of the small ones, so
 * that memory pressure and over-long messages are in reach of a few
 * kilobytes of input), then each frame is a 2-byte big-endian header (bit 15: the frame
 * was cut by the capture, so len > caplen; bits 0..14: caplen), a byte of
 * seconds elapsed since the previous frame (so that fragment and TCP
 * timeouts fire), and caplen bytes (fewer when the input ends first). Each
 * frame is copied to a buffer of exactly caplen bytes, so that an
 * over-read is an ASan finding, and fed to one cm_pkt with small limits.
 *
 * Every message handed on must be non-empty, at most max_message bytes,
 * and start with a SIP start line (checked here independently of
 * packet.c) unless it came through the listed port; the statistics must
 * agree with what the callback saw and with each other. Anything else
 * aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PORT 5060

static const int dlts[] = {
	CM_DLT_EN10MB, CM_DLT_LINUX_SLL, CM_DLT_LINUX_SLL2, CM_DLT_NULL, CM_DLT_LOOP,
	CM_DLT_RAW,    12,               CM_DLT_IPV4,       CM_DLT_IPV6, 147,
};

struct seen {
	size_t max_message;
	uint64_t messages;
	uint64_t frame; /* the frame being fed */
};

static int ci_prefix(const char *s, const char *lit, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];

		if (c != lit[i])
			return 0;
	}
	return 1;
}

/*
 * Whether the first line of m[0..n) (up to LF, a CR before it dropped) is
 * "SIP/2.0 DDD" (then SP or CR, or nothing), or "METHOD SCHEME:REST SIP/2.0"
 * with exactly two spaces: RFC 3261 section 7.1, written apart from packet.c.
 */
static int start_line(const char *m, size_t n)
{
	const char *lf = memchr(m, '\n', n), *sp1, *sp2;
	size_t len = lf ? (size_t)(lf - m) : n, i;

	if (len && m[len - 1] == '\r')
		len--;
	if (len >= 11 && ci_prefix(m, "sip/2.0 ", 8)) {
		for (i = 8; i < 11; i++)
			if (m[i] < '0' || m[i] > '9')
				return 0;
		return len == 11 || m[11] == ' ' || m[11] == '\r';
	}
	if (len < 12 || !ci_prefix(m + len - 8, " sip/2.0", 8))
		return 0;
	sp1 = memchr(m, ' ', len);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - m)) : NULL;
	if (!sp1 || sp1 == m || !sp2 || sp2 != m + len - 8)
		return 0;
	if (!((sp1[1] >= 'a' && sp1[1] <= 'z') || (sp1[1] >= 'A' && sp1[1] <= 'Z')))
		return 0;
	return memchr(sp1 + 1, ':', (size_t)(sp2 - sp1 - 1)) != NULL;
}

static int on_message(void *ud, const struct cm_pkt_meta *m, const char *msg, size_t n)
{
	struct seen *s = ud;

	if (n == 0 || n > s->max_message)
		abort();
	if (m->sport != FUZZ_PORT && m->dport != FUZZ_PORT && !start_line(msg, n))
		abort();
	if ((m->family != 4 && m->family != 6) || (m->proto != 6 && m->proto != 17))
		abort();
	if (m->frame != s->frame)
		abort();
	/* Touch every byte: ASan checks the slice is readable. */
	{
		volatile unsigned sum = 0;
		size_t i;

		for (i = 0; i < n; i++)
			sum += (unsigned char)msg[i];
		(void)sum;
	}
	s->messages++;
	return 0;
}

static void check(const struct cm_pkt *p, const struct seen *s)
{
	const struct cm_pkt_stats *st = cm_pkt_stats(p);

	if (st->messages != s->messages)
		abort();
	if (st->truncated + st->malformed + st->not_ip + st->other > st->frames)
		abort();
	/* A rebuilt datagram took two fragments at least, a dropped one at least one. */
	if (2 * st->reassembled + st->frag_dropped > st->fragments)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t ports[] = {FUZZ_PORT};
	struct cm_pkt_opts o;
	struct cm_pkt *p;
	struct seen s = {0, 0, 0};
	size_t at = 1;
	int64_t sec = 1000;
	int dlt;

	if (size < 1)
		return 0;
	dlt = dlts[(data[0] & 0x7f) % (sizeof dlts / sizeof *dlts)];
	cm_pkt_opts_default(&o);
	o.ports = ports;
	o.nports = 1;
	if (data[0] & 0x80) {
		o.frag_mem = 4 << 10;
		o.tcp_mem = 8 << 10;
		o.tcp_streams = 64;
		o.max_message = 256;
	} else {
		o.frag_mem = 64 << 10;
		o.tcp_mem = 64 << 10;
		o.tcp_streams = 64;
		o.max_message = 4096;
	}
	s.max_message = o.max_message;
	if (!(p = cm_pkt_new(&o)))
		abort();
	while (size - at >= 3) {
		unsigned h = (unsigned)data[at] << 8 | data[at + 1];
		size_t caplen = h & 0x7fff, len;
		uint8_t *frame;
		int rc;

		sec += data[at + 2];
		at += 3;
		if (caplen > size - at)
			caplen = size - at;
		len = caplen + ((h & 0x8000) ? 1 + (caplen & 7) : 0);
		/* Exactly caplen bytes: an over-read past the frame is an ASan finding. */
		if (!(frame = malloc(caplen ? caplen : 1)))
			abort();
		if (caplen)
			memcpy(frame, data + at, caplen);
		at += caplen;
		s.frame++;
		rc = cm_pkt_frame(p, dlt, sec, 0, s.frame, caplen ? frame : NULL, caplen, len, on_message, &s);
		free(frame);
		if (rc != 0)
			abort(); /* the callback never stops, and memory is not short here */
		check(p, &s);
	}
	if (cm_pkt_stats(p)->frames != s.frame)
		abort();
	cm_pkt_finish(p);
	check(p, &s);
	cm_pkt_free(p);
	return 0;
}
