/* Unit tests: IP address parsing, truncation and text (src/ipaddr.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "cdrmin/ipaddr.h"

/* Parse s, then print it back: the text, or "-" when it does not parse. */
static void roundtrip(const char *s, const char *want)
{
	struct cm_ip ip;
	struct cm_buf out;

	cm_buf_init(&out);
	if (cm_ip_parse(s, strlen(s), &ip) != 0)
		cm_buf_adds(&out, "-");
	else
		cm_ip_put(&out, &ip);
	cm_buf_addc(&out, '\0');
	cr_expect_str_eq(out.p, want, "\"%s\"", s);
	cm_buf_deinit(&out);
}

static void truncated(const char *s, unsigned v4bits, unsigned v6bits, const char *want)
{
	struct cm_ip ip;
	struct cm_buf out;

	cr_assert_eq(cm_ip_parse(s, strlen(s), &ip), 0, "\"%s\"", s);
	cm_ip_truncate(&ip, v4bits, v6bits);
	cm_buf_init(&out);
	cm_ip_put(&out, &ip);
	cm_buf_addc(&out, '\0');
	cr_expect_str_eq(out.p, want, "\"%s\" /%u /%u", s, v4bits, v6bits);
	cm_buf_deinit(&out);
}

static int parses(const char *s, size_t n)
{
	struct cm_ip ip;

	return cm_ip_parse(s, n, &ip) == 0;
}

TestSuite(ipaddr);

Test(ipaddr, ipv4)
{
	struct cm_ip ip;

	cr_assert_eq(cm_ip_parse("192.0.2.77", 10, &ip), 0);
	cr_expect_eq(ip.v6, 0);
	cr_expect_eq(cm_ip_len(&ip), 4);
	cr_expect(ip.a[0] == 192 && ip.a[1] == 0 && ip.a[2] == 2 && ip.a[3] == 77);
	roundtrip("0.0.0.0", "0.0.0.0");
	roundtrip("255.255.255.255", "255.255.255.255");
	roundtrip("10.0.0.1", "10.0.0.1");
	roundtrip("[192.0.2.1]", "192.0.2.1");
}

Test(ipaddr, ipv4_rejects)
{
	static const char *const bad[] = {
		"256.1.1.1", "1.2.3",    "01.2.3.4", "1.2.3.4.5", "",       "1.2.3.",  ".1.2.3",
		"1..2.3",    "1.2.3.04", "1234.1.1.1", "1.2.3.4 ", " 1.2.3.4", "1.2.3.a", "+1.2.3.4",
		"1.2.3.-4",  "0x1.2.3.4", "1.2.3.4%eth0", "[1.2.3.4", "1.2.3.4]", "[]", "1.2.3.999",
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect(!parses(bad[i], strlen(bad[i])), "\"%s\" accepted", bad[i]);
}

Test(ipaddr, ipv6_canonical)
{
	roundtrip("2001:db8:1234:5678::1", "2001:db8:1234:5678::1");
	roundtrip("2001:DB8:0:0:0:0:0:1", "2001:db8::1");
	roundtrip("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1");
	roundtrip("::", "::");
	roundtrip("::1", "::1");
	roundtrip("1::", "1::");
	/* RFC 5952 4.2.2: one zero group is not shortened */
	roundtrip("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1");
	/* 4.2.3: the longest run, the first one on a tie */
	roundtrip("2001:0:0:1:0:0:0:1", "2001:0:0:1::1");
	roundtrip("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1");
	roundtrip("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8");
	/* a trailing dotted quad that is not IPv4-mapped stays IPv6 */
	roundtrip("::192.0.2.1", "::c000:201");
	roundtrip("64:ff9b::192.0.2.1", "64:ff9b::c000:201");
	roundtrip("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304");
}

Test(ipaddr, ipv4_mapped_is_ipv4)
{
	struct cm_ip a, b;

	cr_assert_eq(cm_ip_parse("::ffff:192.0.2.1", 16, &a), 0);
	cr_expect_eq(a.v6, 0);
	cr_assert_eq(cm_ip_parse("192.0.2.1", 9, &b), 0);
	cr_expect(memcmp(&a, &b, sizeof a) == 0);
	roundtrip("::FFFF:192.0.2.1", "192.0.2.1");
	roundtrip("::ffff:c000:201", "192.0.2.1");
	roundtrip("0:0:0:0:0:ffff:192.0.2.1", "192.0.2.1");
	roundtrip("[::ffff:192.0.2.1]", "192.0.2.1");
}

Test(ipaddr, brackets_and_zone)
{
	roundtrip("[2001:db8::1]", "2001:db8::1");
	roundtrip("fe80::1%eth0", "fe80::1");
	roundtrip("[fe80::1%25eth0]", "fe80::1");
	roundtrip("fe80::1%", "-");
	roundtrip("fe80::1%eth 0", "-");
	roundtrip("[2001:db8::1", "-");
	roundtrip("2001:db8::1]", "-");
	roundtrip("[[2001:db8::1]]", "-");
	roundtrip("[2001:db8::1]%eth0", "-");
}

Test(ipaddr, ipv6_rejects)
{
	static const char *const bad[] = {
		"::g",          ":",           ":::",          "1:2:3:4:5:6:7:8:9", "1::2::3",
		":1::",         "1::2:",       "1:2:3:4:5:6:7", "12345::",          "1:2:3:4:5:6:7:8::",
		"1::2:3:4:5:6:7:8", "::1.2.3",  "::1.2.3.4.5",  "::01.2.3.4",       "::256.1.1.1",
		"1.2.3.4::",    "::1.2.3.4:1", "2001:db8::1 ", "1:2:3:4:5:6:7:1.2.3.4", "-::1",
		"::ffff:1.2.3.4%", "::%eth0%x",
	};
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect(!parses(bad[i], strlen(bad[i])), "\"%s\" accepted", bad[i]);
}

Test(ipaddr, hostile_bytes)
{
	static const char nul4[] = "1.2.3.4\0";
	static const char nul6[] = "::1\0:2";
	char big[4096];

	cr_expect(!parses(nul4, sizeof nul4 - 1));
	cr_expect(!parses(nul6, sizeof nul6 - 1));
	/* a length that stops early reads only that much */
	cr_expect(parses("1.2.3.45", 7));
	cr_expect(!parses("1.2.3.4", 0));
	memset(big, '1', sizeof big);
	cr_expect(!parses(big, sizeof big));
	memset(big, ':', sizeof big);
	cr_expect(!parses(big, sizeof big));
	/* 65 bytes of an otherwise valid form */
	cr_expect(!parses("0000:0000:0000:0000:0000:0000:0000:0001%eth000000000000000000000000", 67));
	cr_expect(parses("0000:0000:0000:0000:0000:0000:0000:0001", 39));
}

Test(ipaddr, truncate)
{
	truncated("192.0.2.77", 24, 48, "192.0.2.0");
	truncated("192.0.2.77", 16, 48, "192.0.0.0");
	truncated("192.0.2.255", 25, 48, "192.0.2.128");
	truncated("192.0.2.77", 0, 48, "0.0.0.0");
	truncated("192.0.2.77", 32, 48, "192.0.2.77");
	truncated("192.0.2.77", 99, 48, "192.0.2.77");
	truncated("2001:db8:1234:5678::1", 24, 48, "2001:db8:1234::");
	truncated("2001:db8:1234:5678::1", 24, 56, "2001:db8:1234:5600::");
	truncated("2001:db8:1234:5678::1", 24, 0, "::");
	truncated("2001:db8:1234:5678::1", 24, 128, "2001:db8:1234:5678::1");
	truncated("2001:db8:1234:5678::1", 24, 500, "2001:db8:1234:5678::1");
	truncated("2001:db8:ffff::", 24, 33, "2001:db8:8000::");
	truncated("::ffff:192.0.2.77", 24, 48, "192.0.2.0");
}

/* Finding 6: an IPv4 address inside an IPv6 one keeps no more than v4bits. */
Test(ipaddr, truncate_embedded_ipv4)
{
	/* 6to4: 2002:c000:024d:: embeds 192.0.2.77 in bits 16..47 */
	truncated("2002:c000:24d:1234::1", 24, 48, "2002:c000:200::");
	truncated("2002:c000:24d:1234::1", 24, 64, "2002:c000:200::");
	truncated("2002:c000:24d:1234::1", 24, 128, "2002:c000:200::");
	truncated("2002:c000:24d:1234::1", 16, 48, "2002:c000::");
	truncated("2002:c000:24d:1234::1", 0, 48, "2002::");
	truncated("2002:c000:24d:1234::1", 24, 32, "2002:c000::"); /* v6bits is smaller */
	truncated("2002:c000:24d:1234::1", 24, 0, "::");
	truncated("2002:c000:24d:1234::1", 32, 64, "2002:c000:24d::");
	truncated("2002:c000:24d:1234::1", 99, 64, "2002:c000:24d:1234::");
	truncated("2002:c000:24d:1234::1", 4294967295u, 128, "2002:c000:24d:1234::1");
	/* NAT64 well-known prefix: the IPv4 address is the last 32 bits */
	truncated("64:ff9b::192.0.2.77", 24, 128, "64:ff9b::c000:200");
	truncated("64:ff9b::192.0.2.77", 24, 48, "64:ff9b::");
	truncated("64:ff9b:1::192.0.2.77", 24, 128, "64:ff9b:1::c000:24d"); /* not the WKP */
	/* Teredo: the client's address, inverted, in the last 32 bits */
	truncated("2001:0:4136:e378:8000:63bf:3fff:fdd2", 24, 128, "2001:0:4136:e378:8000:63bf:3fff:fd00");
	truncated("2001:0:4136:e378:8000:63bf:3fff:fdd2", 24, 48, "2001:0:4136::");
	/* prefixes that only look alike are plain IPv6 */
	truncated("2001:db8:1234:5678::1", 8, 128, "2001:db8:1234:5678::1");
	truncated("2003:c000:24d:1234::1", 24, 64, "2003:c000:24d:1234::");
	truncated("2002:c000:24d:1234::1", 24, 16, "2002::");
}

/* Fields stay strict about zero padding (the scrubber reads padded quads itself). */
Test(ipaddr, zero_padded_refused)
{
	cr_expect(!parses("192.000.002.001", 15));
	cr_expect(!parses("010.000.000.001", 15));
}
