/*
 * \summary: IP addresses: strict parsing, prefix truncation, canonical text
 *
 * IPv4 dotted quad (RFC 791 addresses, written as four decimal parts with no
 * leading zeros, the strict form that avoids octal ambiguity), IPv6 text of
 * RFC 4291 section 2.2 (including the trailing dotted quad and "::"), zone
 * ids of RFC 4007 section 11, brackets of RFC 3986 section 3.2.2, and the
 * RFC 5952 canonical text on output. Parsing and printing are done here
 * rather than with inet_pton/inet_ntop so that results do not depend on the
 * C library.
 */
#include <string.h>

#include "cdrmin/ipaddr.h"

/* Longest address text accepted, brackets and zone included. */
#define IP_TEXT_MAX 64

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Dotted quad s[0..n) into a[0..4): exactly four parts of 1 to 3 digits,
 * each at most 255, "0" the only part that may start with 0.
 */
static int parse_v4(const char *s, size_t n, uint8_t a[4])
{
	size_t i = 0, part, len;
	unsigned v;

	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= n || s[i] != '.')
				return -1;
			i++;
		}
		v = 0;
		for (len = 0; i < n && is_digit(s[i]); len++, i++) {
			if (len == 3)
				return -1;
			v = v * 10 + (unsigned)(s[i] - '0');
		}
		if (len == 0 || v > 255 || (len > 1 && s[i - len] == '0'))
			return -1;
		a[part] = (uint8_t)v;
	}
	return i == n ? 0 : -1;
}

/*
 * IPv6 text s[0..n) into a[0..16) (RFC 4291 section 2.2): up to eight groups
 * of 1 to 4 hex digits separated by ':', at most one "::" standing for one
 * or more zero groups, and optionally a dotted quad as the last 32 bits.
 */
static int parse_v6(const char *s, size_t n, uint8_t a[16])
{
	uint8_t w[16];
	size_t i = 0, k = 0, gap = SIZE_MAX, start, len;
	unsigned v;
	int h;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
		if (i == n)
			goto done;
	} else if (n >= 1 && s[0] == ':') {
		return -1; /* a single leading ':' */
	}
	for (;;) {
		start = i;
		v = 0;
		for (len = 0; i < n && (h = hex_value(s[i])) >= 0; len++, i++) {
			if (len == 4)
				return -1;
			v = v << 4 | (unsigned)h;
		}
		if (i < n && s[i] == '.')
			goto maybe_v4;
		if (len == 0 || k + 2 > 16)
			return -1;
		w[k++] = (uint8_t)(v >> 8);
		w[k++] = (uint8_t)v;
		if (i == n)
			break;
		if (s[i] != ':')
			return -1;
		i++;
		if (i < n && s[i] == ':') {
			if (gap != SIZE_MAX)
				return -1; /* a second "::" */
			gap = k;
			i++;
			if (i == n)
				break;
		} else if (i == n) {
			return -1; /* a single trailing ':' */
		}
	}
	goto done;

maybe_v4:
	/* The dotted quad takes the rest of the text, and the last 32 bits. */
	if (k + 4 > 16 || parse_v4(s + start, n - start, w + k) != 0)
		return -1;
	k += 4;

done:
	if (gap == SIZE_MAX) {
		if (k != 16)
			return -1;
		memcpy(a, w, 16);
		return 0;
	}
	if (k == 16)
		return -1; /* "::" must stand for at least one group */
	memset(a, 0, 16);
	memcpy(a, w, gap);
	memcpy(a + 16 - (k - gap), w + gap, k - gap);
	return 0;
}

/* RFC 6874 / RFC 3986 unreserved characters, which is what zone ids use in practice. */
static int is_zone_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

int cm_ip_parse(const char *s, size_t n, struct cm_ip *ip)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const char *pct;
	uint8_t a[16];
	size_t i;

	if (n == 0 || n > IP_TEXT_MAX)
		return -1;
	if (s[0] == '[' || s[n - 1] == ']') {
		if (n < 2 || s[0] != '[' || s[n - 1] != ']')
			return -1;
		s++;
		n -= 2;
	}
	if (memchr(s, ':', n) == NULL) {
		if (parse_v4(s, n, a) != 0)
			return -1;
		memset(ip, 0, sizeof *ip);
		memcpy(ip->a, a, 4);
		return 0;
	}
	if ((pct = memchr(s, '%', n)) != NULL) {
		size_t at = (size_t)(pct - s);

		if (at + 1 == n)
			return -1; /* an empty zone */
		for (i = at + 1; i < n; i++)
			if (!is_zone_char(s[i]))
				return -1;
		n = at;
	}
	if (parse_v6(s, n, a) != 0)
		return -1;
	memset(ip, 0, sizeof *ip);
	if (memcmp(a, mapped, sizeof mapped) == 0) {
		/* ::ffff:0:0/96, RFC 4291 section 2.5.5.2: an IPv4 host seen through IPv6. */
		memcpy(ip->a, a + 12, 4);
		return 0;
	}
	ip->v6 = 1;
	memcpy(ip->a, a, 16);
	return 0;
}

/*
 * IPv6 prefixes whose addresses carry an IPv4 address, and the bit where it
 * starts: 6to4 2002::/16 (RFC 3056 section 2, the site's IPv4 address in
 * bits 16..47), the NAT64 well-known prefix 64:ff9b::/96 (RFC 6052 section
 * 2.1) and Teredo 2001::/32 (RFC 4380 section 4, the client's address,
 * inverted, in bits 96..127; the server's in bits 32..63 is the relay's).
 */
static const struct {
	uint8_t prefix[12];
	unsigned prefix_bits, v4_at;
} embeds_v4[] = {
	{ { 0x20, 0x02 }, 16, 16 },
	{ { 0x00, 0x64, 0xff, 0x9b }, 96, 96 },
	{ { 0x20, 0x01, 0x00, 0x00 }, 32, 96 },
};

/* Bit where the embedded IPv4 address of a v6 address starts, or 0. */
static unsigned embedded_v4_at(const struct cm_ip *ip)
{
	size_t k;

	for (k = 0; k < sizeof embeds_v4 / sizeof embeds_v4[0]; k++)
		if (memcmp(ip->a, embeds_v4[k].prefix, embeds_v4[k].prefix_bits / 8) == 0)
			return embeds_v4[k].v4_at;
	return 0;
}

void cm_ip_truncate(struct cm_ip *ip, unsigned v4bits, unsigned v6bits)
{
	unsigned bits = ip->v6 ? v6bits : v4bits, at;
	size_t len = cm_ip_len(ip), i;

	/* An IPv4 address inside an IPv6 one keeps no more than v4bits of itself. */
	if (ip->v6 && (at = embedded_v4_at(ip)) != 0 && bits > at && bits - at > v4bits)
		bits = at + v4bits;

	if (bits >= len * 8)
		return;
	i = bits / 8;
	if (bits % 8) {
		ip->a[i] &= (uint8_t)(0xff00u >> (bits % 8));
		i++;
	}
	memset(ip->a + i, 0, len - i);
}

static void put_hex16(struct cm_buf *out, unsigned v)
{
	static const char hex[] = "0123456789abcdef";
	int shift, started = 0;

	/* RFC 5952 section 4.1 and 4.3: no leading zeros, lower case. */
	for (shift = 12; shift >= 0; shift -= 4) {
		unsigned d = (v >> shift) & 0xf;

		if (d || started || shift == 0) {
			cm_buf_addc(out, hex[d]);
			started = 1;
		}
	}
}

void cm_ip_put(struct cm_buf *out, const struct cm_ip *ip)
{
	unsigned w[8];
	int i, best = -1, best_len = 0, run = 0;

	if (!ip->v6) {
		for (i = 0; i < 4; i++) {
			if (i)
				cm_buf_addc(out, '.');
			cm_buf_addu(out, ip->a[i]);
		}
		return;
	}
	for (i = 0; i < 8; i++)
		w[i] = (unsigned)ip->a[2 * i] << 8 | ip->a[2 * i + 1];
	/*
	 * RFC 5952 section 4.2: "::" replaces the longest run of zero groups,
	 * the first one on a tie, and never a single group.
	 */
	for (i = 0; i < 8; i++) {
		run = w[i] == 0 ? run + 1 : 0;
		if (run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		if (i == best) {
			cm_buf_add(out, "::", 2);
			i += best_len - 1;
			continue;
		}
		if (i > 0 && i != best + best_len)
			cm_buf_addc(out, ':');
		put_hex16(out, w[i]);
	}
}
