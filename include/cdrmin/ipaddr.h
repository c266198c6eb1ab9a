/*
 * cdrmin: IP addresses.
 *
 * Accepts dotted-quad IPv4 (four decimal parts 0..255, no leading zeros)
 * and IPv6 text (RFC 4291 section 2.2, RFC 5952 on output), optionally in
 * brackets, with a zone ("%eth0") that is dropped. An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is IPv4. A zero-padded quad ("010.0.0.1") is
 * refused rather than guessed to be octal or decimal: a field holding one
 * is invalid (the action's invalid= policy). The free-text scrubber reads
 * fully padded quads ("192.000.002.001") itself.
 */
#ifndef CDRMIN_IPADDR_H
#define CDRMIN_IPADDR_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/buf.h"

struct cm_ip {
	int v6;         /* 0: IPv4 in a[0..4); 1: IPv6 in a[0..16) */
	uint8_t a[16];
};

/* Parse s[0..n). Returns 0, or -1 when it is not an address. */
int cm_ip_parse(const char *s, size_t n, struct cm_ip *ip);

/*
 * Keeps the first bits of the address (v4bits or v6bits), zeroing the rest.
 * An IPv6 address that embeds an IPv4 address keeps no more of that IPv4
 * address than v4bits: for 6to4 (2002::/16, the IPv4 address in bits
 * 16..47) the prefix kept is min(v6bits, 16 + v4bits); for the NAT64
 * well-known prefix 64:ff9b::/96 and for Teredo 2001::/32 (the client's
 * IPv4 address in bits 96..127) it is min(v6bits, 96 + v4bits).
 */
void cm_ip_truncate(struct cm_ip *ip, unsigned v4bits, unsigned v6bits);

/* Appends the text form (dotted quad, or RFC 5952 IPv6). */
void cm_ip_put(struct cm_buf *out, const struct cm_ip *ip);

/* Number of bytes of the address: 4 or 16 (the pseudonym input). */
static inline size_t cm_ip_len(const struct cm_ip *ip) { return ip->v6 ? 16 : 4; }

#endif
