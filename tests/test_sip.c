/*
 * Unit tests of the SIP decoder (src/sip.c).
 *
 * Most tests go through check(): it decodes a message placed against a
 * guard page (so that any read past its end faults) with a fixed packet
 * meta, and compares a transcript of the record with the expected one.
 * The transcript has one line per non-empty field, in schema order:
 *
 *     name=value
 *
 * with \, CR, LF and NUL escaped as \\, \r, \n, \0 and other bytes
 * outside printable ASCII as \xHH; every field not listed must be empty.
 * A rejected message gives "reject: <why>".
 *
 * The RFC 4475 torture messages are read from $CDRMIN_SHARED/corpus/
 * sip-torture (default ../shared); rfc4475_table says what each must give.
 * All numbers and addresses are synthetic (+1 555 01xx, 192.0.2.0/24,
 * 2001:db8::/32, example.* domains), except in the RFC 4475 files.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/record.h"
#include "cdrmin/sip.h"

TestSuite(sip);

/* The packet fields every check() transcript starts with (meta_v4()). */
#define PKT                                                                   \
	"time=2026-11-22T14:00:00.000042Z\ntransport=udp\nsrc_ip=192.0.2.10\n" \
	"src_port=5060\ndst_ip=192.0.2.20\ndst_port=5080\n"

/* UDP 192.0.2.10:5060 -> 192.0.2.20:5080 at 2026-11-22T14:00:00.000042Z. */
static struct cm_pkt_meta meta_v4(void)
{
	struct cm_pkt_meta m;

	memset(&m, 0, sizeof m);
	m.sec = 1795356000;
	m.usec = 42;
	m.family = 4;
	m.proto = 17;
	memcpy(m.src, "\xc0\x00\x02\x0a", 4);
	memcpy(m.dst, "\xc0\x00\x02\x14", 4);
	m.sport = 5060;
	m.dport = 5080;
	m.frame = 1;
	return m;
}

static void put_escaped(struct cm_buf *t, const char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		switch (c) {
		case '\\': cm_buf_adds(t, "\\\\"); break;
		case '\r': cm_buf_adds(t, "\\r"); break;
		case '\n': cm_buf_adds(t, "\\n"); break;
		case '\0': cm_buf_adds(t, "\\0"); break;
		default:
			if (c < 0x20 || c > 0x7e) {
				cm_buf_adds(t, "\\x");
				cm_buf_addc(t, hex[c >> 4]);
				cm_buf_addc(t, hex[c & 15]);
			} else {
				cm_buf_addc(t, (char)c);
			}
		}
	}
}

/* The transcript of one decode (NUL-terminated in t). */
static void transcript(struct cm_buf *t, int rc, const struct cm_record *r, const char *why)
{
	size_t i;

	cm_buf_reset(t);
	if (rc == 0) {
		cm_buf_adds(t, "reject: ");
		cm_buf_adds(t, why ? why : "(no reason)");
	} else if (rc != 1) {
		cm_buf_adds(t, "error");
	} else {
		cr_assert_eq(r->n, CM_SIP__COUNT);
		cr_assert_null(r->type);
		cr_assert_null(r->raw);
		for (i = 0; i < r->n; i++) {
			if (!r->f[i].n)
				continue;
			cm_buf_adds(t, cm_sip_field_name((enum cm_sip_field)i));
			cm_buf_addc(t, '=');
			put_escaped(t, r->f[i].p, r->f[i].n);
			cm_buf_addc(t, '\n');
		}
	}
	cm_buf_addc(t, '\0');
	cr_assert(!t->oom);
}

/*
 * Decodes msg[0..n) with decoder d, the message's last byte just before a
 * PROT_NONE page, and fills t with the transcript. The record's values
 * must not point into the message (the decoder owns them).
 */
static int decode_guarded(struct cm_sipdec *d, const struct cm_pkt_meta *m, const char *msg,
			  size_t n, struct cm_buf *t)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len = (n + pg - 1) / pg * pg, i;
	struct cm_record rec;
	const char *why = NULL;
	char *map, *p;
	int rc;

	if (!len)
		len = pg;
	map = mmap(NULL, len + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(map, MAP_FAILED);
	cr_assert_eq(mprotect(map + len, pg, PROT_NONE), 0);
	p = map + len - n;
	if (n)
		memcpy(p, msg, n);
	memset(&rec, 0, sizeof rec);
	rec.line = 7;
	rec.offset = 9;
	rc = cm_sip_decode(d, m, p, n, &rec, &why);
	if (rc == 1) {
		cr_assert_eq(rec.line, 7, "line is the caller's");
		cr_assert_eq(rec.offset, 9, "offset is the caller's");
		for (i = 0; i < rec.n; i++)
			cr_assert(!rec.f[i].n || rec.f[i].p + rec.f[i].n <= p || rec.f[i].p >= p + n,
				  "field %s points into the message", cm_sip_field_name((enum cm_sip_field)i));
	} else {
		cr_assert_eq(rc, 0, "decode returned %d", rc);
		cr_assert_not_null(why, "a reject says why");
	}
	transcript(t, rc, &rec, why);
	munmap(map, len + pg);
	return rc;
}

/* Decodes msg[0..n) as meta m says; its transcript must be want. */
static void check_meta(const struct cm_pkt_meta *m, const char *msg, size_t n, const char *want)
{
	struct cm_sipdec *d = cm_sipdec_new();
	struct cm_buf t;

	cr_assert_not_null(d);
	cm_buf_init(&t);
	decode_guarded(d, m, msg, n, &t);
	cr_assert_str_eq(t.p, want, "got:\n%s\nwant:\n%s", t.p, want);
	cm_buf_deinit(&t);
	cm_sipdec_free(d);
}

static void check(const char *msg, const char *want)
{
	struct cm_pkt_meta m = meta_v4();

	check_meta(&m, msg, strlen(msg), want);
}

/*
 * A message: head (LF line ends, made CRLF; no Content-Length) then
 * "<cl>: <length of body>", the empty line and body (bytes as given).
 * Returns a malloc'd buffer of *n bytes.
 */
static char *build(const char *head, const char *cl, const char *body, size_t blen, size_t *n)
{
	struct cm_buf b;
	char *p;
	size_t i;

	cm_buf_init(&b);
	for (i = 0; head[i]; i++) {
		if (head[i] == '\n')
			cm_buf_addc(&b, '\r');
		cm_buf_addc(&b, head[i]);
	}
	if (cl) {
		cm_buf_adds(&b, cl);
		cm_buf_adds(&b, ": ");
		cm_buf_addu(&b, blen);
		cm_buf_adds(&b, "\r\n");
	}
	cm_buf_adds(&b, "\r\n");
	cm_buf_add(&b, body, blen);
	cr_assert(!b.oom);
	p = malloc(b.n + 1);
	cr_assert_not_null(p);
	memcpy(p, b.p, b.n);
	p[b.n] = '\0';
	*n = b.n;
	cm_buf_deinit(&b);
	return p;
}

/* LF line ends made CRLF, into a malloc'd string. */
static char *crlf(const char *s)
{
	size_t n;

	return build(s, NULL, "", 0, &n);
}

/* check() on build(head, "Content-Length", body). */
static void check_body(const char *head, const char *body, size_t blen, const char *want)
{
	struct cm_pkt_meta m = meta_v4();
	size_t n;
	char *msg = build(head, "Content-Length", body, blen, &n);

	check_meta(&m, msg, n, want);
	free(msg);
}

/* ---- schema ---- */

Test(sip, schema_names_in_order)
{
	struct cm_schema s;
	static const char *const want[] = {
		"time", "transport", "src_ip", "src_port", "dst_ip", "dst_port", "method", "status",
		"reason", "ruri_user", "ruri_host", "call_id", "cseq", "cseq_method", "from_display",
		"from_user", "from_host", "from_tag", "to_display", "to_user", "to_host", "to_tag",
		"contact_user", "contact_host", "pai_display", "pai_user", "pai_host", "ppi_user",
		"ppi_host", "rpid_user", "rpid_host", "diversion_user", "diversion_host",
		"diversion_reason", "history_info", "refer_to_user", "refer_to_host", "via_host",
		"via_port", "via_transport", "via_branch", "via_count", "user_agent", "server",
		"content_type", "body_length", "body", "sdp_o_ip", "sdp_c_ip", "sdp_media_ports",
		"sdp_codecs",
	};
	size_t i;

	cr_assert_eq(sizeof want / sizeof want[0], CM_SIP__COUNT);
	cm_schema_init(&s);
	cr_assert_eq(cm_sip_schema(&s), 0);
	cr_assert_eq(s.n, CM_SIP__COUNT);
	for (i = 0; i < s.n; i++) {
		cr_assert_str_eq(s.names[i], want[i]);
		cr_assert_str_eq(cm_sip_field_name((enum cm_sip_field)i), want[i]);
		cr_assert_eq(cm_schema_find(&s, want[i]), (long)i);
	}
	cr_assert_null(cm_sip_field_name(CM_SIP__COUNT));
	cr_assert_null(cm_sip_field_name((enum cm_sip_field)-1));
	cm_schema_deinit(&s);
}

Test(sip, new_and_free)
{
	struct cm_sipdec *a = cm_sipdec_new(), *b = cm_sipdec_new();

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cm_sipdec_free(a);
	cm_sipdec_free(b);
	cm_sipdec_free(NULL);
}

/* ---- requests ---- */

static const char invite_head[] =
	"INVITE sip:+15550100@example.com;user=phone SIP/2.0\n"
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\n"
	"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n"
	"Max-Forwards: 70\n"
	"To: \"Bob\" <sip:+15550100@example.com;user=phone>\n"
	"From: Alice <sip:alice@example.org>;tag=1928301774\n"
	"Call-ID: a84b4c76e66710@pc33.example.org\n"
	"CSeq: 314159 INVITE\n"
	"Contact: <sip:alice@192.0.2.10:5060;transport=udp>\n"
	"User-Agent: ExamplePhone/1.2 (build 7, test)\n"
	"Content-Type: application/sdp\n";

static const char invite_sdp[] =
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
	"s=-\r\n"
	"c=IN IP4 192.0.2.11\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/AVP 0 8 18 101\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-16\r\n"
	"m=video 51372 RTP/AVP 31 99\r\n"
	"a=rtpmap:99 H264/90000\r\n";

static const char invite_want[] =
	PKT
	"method=INVITE\n"
	"ruri_user=+15550100\n"
	"ruri_host=example.com\n"
	"call_id=a84b4c76e66710@pc33.example.org\n"
	"cseq=314159\n"
	"cseq_method=INVITE\n"
	"from_display=Alice\n"
	"from_user=alice\n"
	"from_host=example.org\n"
	"from_tag=1928301774\n"
	"to_display=Bob\n"
	"to_user=+15550100\n"
	"to_host=example.com\n"
	"contact_user=alice\n"
	"contact_host=192.0.2.10\n"
	"via_host=192.0.2.10\n"
	"via_port=5060\n"
	"via_transport=UDP\n"
	"via_branch=z9hG4bK776asdhds\n"
	"via_count=2\n"
	"user_agent=ExamplePhone/1.2 (build 7, test)\n"
	"content_type=application/sdp\n"
	"body_length=226\n"
	"sdp_o_ip=192.0.2.10\n"
	"sdp_c_ip=192.0.2.11\n"
	"sdp_media_ports=49170,51372\n"
	"sdp_codecs=PCMU,PCMA,G729,telephone-event,H261,H264\n";

Test(sip, invite_with_sdp)
{
	cr_assert_eq(strlen(invite_sdp), 226);
	check_body(invite_head, invite_sdp, strlen(invite_sdp), invite_want);
}

Test(sip, identities_pai_ppi_rpid_diversion_history_info)
{
	check_body("INVITE sip:bob@example.com SIP/2.0\n"
		   "Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKpai\n"
		   "To: <sip:bob@example.com>\n"
		   "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=9fxced76sl\n"
		   "Call-ID: pai-1@192.0.2.10\n"
		   "CSeq: 1 INVITE\n"
		   "P-Asserted-Identity: \"Alice Smith\" <sip:+15550101@example.com;user=phone>, <tel:+15550101>\n"
		   "P-Preferred-Identity: <sip:alice@example.org>\n"
		   "Remote-Party-ID: \"Alice\" <sip:+15550102@gw.example.com>;party=calling;screen=yes;privacy=full\n"
		   "Diversion: <sip:+15550103@example.com>;reason=unconditional;counter=1, <sip:+15550104@example.net>;reason=\"user-busy\"\n"
		   "Diversion: <sip:+15550199@example.net>;reason=deflection\n"
		   "History-Info: <sip:bob@example.com>;index=1, <sip:bob@192.0.2.30?Reason=SIP%3Bcause%3D302>;index=1.1\n"
		   "History-Info: <tel:+15550105;phone-context=example.com>;index=1.2;mp=1\n",
		   "", 0,
		   PKT
		   "method=INVITE\n"
		   "ruri_user=bob\n"
		   "ruri_host=example.com\n"
		   "call_id=pai-1@192.0.2.10\n"
		   "cseq=1\n"
		   "cseq_method=INVITE\n"
		   "from_display=Anonymous\n"
		   "from_user=anonymous\n"
		   "from_host=anonymous.invalid\n"
		   "from_tag=9fxced76sl\n"
		   "to_user=bob\n"
		   "to_host=example.com\n"
		   "pai_display=Alice Smith\n"
		   "pai_user=+15550101\n"
		   "pai_host=example.com\n"
		   "ppi_user=alice\n"
		   "ppi_host=example.org\n"
		   "rpid_user=+15550102\n"
		   "rpid_host=gw.example.com\n"
		   "diversion_user=+15550103\n"
		   "diversion_host=example.com\n"
		   "diversion_reason=unconditional\n"
		   "history_info=<sip:bob@example.com>;index=1, "
		   "<sip:bob@192.0.2.30?Reason=SIP%3Bcause%3D302>;index=1.1, "
		   "<tel:+15550105;phone-context=example.com>;index=1.2;mp=1\n"
		   "via_host=proxy.example.com\n"
		   "via_transport=TCP\n"
		   "via_branch=z9hG4bKpai\n"
		   "via_count=1\n"
		   "body_length=0\n");
}

Test(sip, identities_as_tel_uris_and_quoted_reason)
{
	check_body("INVITE sip:bob@example.com SIP/2.0\n"
		   "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKtel2\n"
		   "To: <sip:bob@example.com>\n"
		   "From: <sip:alice@example.org>;tag=t2\n"
		   "Call-ID: tel-2@192.0.2.10\n"
		   "CSeq: 2 INVITE\n"
		   "P-Asserted-Identity: <tel:+1-555-0107>\n"
		   "P-Preferred-Identity: tel:%2B15550110\n"
		   "Remote-Party-ID: <tel:+15550111>;party=calling\n"
		   "Diversion: \"Desk, 2nd floor\" <tel:+15550106>;reason=\"user-busy\";counter=2\n",
		   "", 0,
		   PKT
		   "method=INVITE\n"
		   "ruri_user=bob\n"
		   "ruri_host=example.com\n"
		   "call_id=tel-2@192.0.2.10\n"
		   "cseq=2\n"
		   "cseq_method=INVITE\n"
		   "from_user=alice\n"
		   "from_host=example.org\n"
		   "from_tag=t2\n"
		   "to_user=bob\n"
		   "to_host=example.com\n"
		   "pai_user=+1-555-0107\n"
		   "ppi_user=+15550110\n"
		   "rpid_user=+15550111\n"
		   "diversion_user=+15550106\n"
		   "diversion_reason=user-busy\n"
		   "via_host=192.0.2.10\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKtel2\n"
		   "via_count=1\n"
		   "body_length=0\n");
}

Test(sip, unparsable_identity_leaves_its_fields_empty)
{
	check_body("INVITE sip:bob@example.com SIP/2.0\n"
		   "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKbad\n"
		   "To: <sip:bob@example.com>\n"
		   "From: <sip:alice@example.org>;tag=t3\n"
		   "Call-ID: bad-3@192.0.2.10\n"
		   "CSeq: 3 INVITE\n"
		   "P-Asserted-Identity: \"unterminated <sip:+15550112@example.com>\n"
		   "Diversion: <sip:+15550113@example.com\n",
		   "", 0,
		   PKT
		   "method=INVITE\n"
		   "ruri_user=bob\n"
		   "ruri_host=example.com\n"
		   "call_id=bad-3@192.0.2.10\n"
		   "cseq=3\n"
		   "cseq_method=INVITE\n"
		   "from_user=alice\n"
		   "from_host=example.org\n"
		   "from_tag=t3\n"
		   "to_user=bob\n"
		   "to_host=example.com\n"
		   "via_host=192.0.2.10\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKbad\n"
		   "via_count=1\n"
		   "body_length=0\n");
}

Test(sip, refer_to)
{
	check_body("REFER sip:bob@192.0.2.20:5080 SIP/2.0\n"
		   "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKref\n"
		   "Max-Forwards: 70\n"
		   "To: <sip:bob@example.com>;tag=a6c85cf\n"
		   "From: <sip:alice@example.org>;tag=1928301774\n"
		   "Call-ID: refer-1@192.0.2.10\n"
		   "CSeq: 93809824 REFER\n"
		   "Refer-To: <sip:carol@example.net?Replaces=12345%40192.0.2.10%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>\n"
		   "Referred-By: <sip:alice@example.org>\n"
		   "Contact: <sip:alice@192.0.2.10>\n",
		   "", 0,
		   PKT
		   "method=REFER\n"
		   "ruri_user=bob\n"
		   "ruri_host=192.0.2.20\n"
		   "call_id=refer-1@192.0.2.10\n"
		   "cseq=93809824\n"
		   "cseq_method=REFER\n"
		   "from_user=alice\n"
		   "from_host=example.org\n"
		   "from_tag=1928301774\n"
		   "to_user=bob\n"
		   "to_host=example.com\n"
		   "to_tag=a6c85cf\n"
		   "contact_user=alice\n"
		   "contact_host=192.0.2.10\n"
		   "refer_to_user=carol\n"
		   "refer_to_host=example.net\n"
		   "via_host=192.0.2.10\n"
		   "via_port=5060\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKref\n"
		   "via_count=1\n"
		   "body_length=0\n");
}

Test(sip, refer_to_compact_form)
{
	check_body("REFER sip:bob@example.com SIP/2.0\n"
		   "v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKr\n"
		   "t: <sip:bob@example.com>;tag=x1\n"
		   "f: <sip:alice@example.org>;tag=x2\n"
		   "i: refer-2@192.0.2.10\n"
		   "CSeq: 2 REFER\n"
		   "r: <tel:+15550108>\n",
		   "", 0,
		   PKT
		   "method=REFER\n"
		   "ruri_user=bob\n"
		   "ruri_host=example.com\n"
		   "call_id=refer-2@192.0.2.10\n"
		   "cseq=2\n"
		   "cseq_method=REFER\n"
		   "from_user=alice\n"
		   "from_host=example.org\n"
		   "from_tag=x2\n"
		   "to_user=bob\n"
		   "to_host=example.com\n"
		   "to_tag=x1\n"
		   "refer_to_user=+15550108\n"
		   "via_host=192.0.2.10\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKr\n"
		   "via_count=1\n"
		   "body_length=0\n");
}

Test(sip, tel_uris_and_user_phone)
{
	check_body("INVITE tel:+1-555-0100;phone-context=example.com SIP/2.0\n"
		   "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKtel\n"
		   "To: <TEL:+15550100;isub=1234>\n"
		   "From: <sip:+15550109;isub=22@example.com;user=phone>;tag=t1\n"
		   "Call-ID: tel-1@192.0.2.10\n"
		   "CSeq: 1 INVITE\n"
		   "Contact: <sips:+15550109;npdi@192.0.2.10:5061>\n",
		   "", 0,
		   PKT
		   "method=INVITE\n"
		   "ruri_user=+1-555-0100\n"
		   "call_id=tel-1@192.0.2.10\n"
		   "cseq=1\n"
		   "cseq_method=INVITE\n"
		   "from_user=+15550109\n"
		   "from_host=example.com\n"
		   "from_tag=t1\n"
		   "to_user=+15550100\n"
		   "contact_user=+15550109;npdi\n"
		   "contact_host=192.0.2.10\n"
		   "via_host=192.0.2.10\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKtel\n"
		   "via_count=1\n"
		   "body_length=0\n");
}

Test(sip, other_uri_schemes_are_users)
{
	check_body("OPTIONS urn:service:sos SIP/2.0\n"
		   "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKurn\n"
		   "To: <mailto:bob@example.com>\n"
		   "From: <sip:alice@example.org>;tag=u1\n"
		   "Call-ID: urn-1@192.0.2.10\n"
		   "CSeq: 1 OPTIONS\n",
		   "", 0,
		   PKT
		   "method=OPTIONS\n"
		   "ruri_user=service:sos\n"
		   "call_id=urn-1@192.0.2.10\n"
		   "cseq=1\n"
		   "cseq_method=OPTIONS\n"
		   "from_user=alice\n"
		   "from_host=example.org\n"
		   "from_tag=u1\n"
		   "to_user=bob@example.com\n"
		   "via_host=192.0.2.10\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKurn\n"
		   "via_count=1\n"
		   "body_length=0\n");
}

Test(sip, display_names_unquoted_and_unescaped)
{
	check_body("INVITE sip:bob@example.com SIP/2.0\n"
		   "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKdn\n"
		   "To: \"\" <sip:bob@example.com>\n"
		   "From: \"Bob \\\"the builder\\\" \\\\o/, Jr.\" <sip:bob@example.org>;tag=dn1\n"
		   "Call-ID: dn-1@192.0.2.10\n"
		   "CSeq: 1 INVITE\n"
		   "P-Asserted-Identity: Carol   Jones <sip:carol@example.com>\n",
		   "", 0,
		   PKT
		   "method=INVITE\n"
		   "ruri_user=bob\n"
		   "ruri_host=example.com\n"
		   "call_id=dn-1@192.0.2.10\n"
		   "cseq=1\n"
		   "cseq_method=INVITE\n"
		   "from_display=Bob \"the builder\" \\\\o/, Jr.\n"
		   "from_user=bob\n"
		   "from_host=example.org\n"
		   "from_tag=dn1\n"
		   "to_user=bob\n"
		   "to_host=example.com\n"
		   "pai_display=Carol   Jones\n"
		   "pai_user=carol\n"
		   "pai_host=example.com\n"
		   "via_host=192.0.2.10\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKdn\n"
		   "via_count=1\n"
		   "body_length=0\n");
}

Test(sip, ipv6_packet_via_contact_and_sdp)
{
	struct cm_pkt_meta m = meta_v4();
	size_t n;
	char *msg;
	static const char sdp[] = "v=0\r\n"
				  "o=- 1 1 IN IP6 2001:db8::10\r\n"
				  "s=-\r\n"
				  "c=IN IP6 2001:db8::11\r\n"
				  "t=0 0\r\n"
				  "m=audio 5004 RTP/AVP 9\r\n";

	m.family = 6;
	m.proto = 6;
	memcpy(m.src, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10", 16);
	memcpy(m.dst, "\x20\x01\x0d\xb8\0\0\0\0\0\x01\0\0\0\0\0\x20", 16);
	m.sport = 5070;
	m.dport = 5080;
	msg = build("INVITE sip:[2001:db8::20]:5080;transport=tcp SIP/2.0\n"
		    "Via: SIP/2.0/TCP [2001:db8::10]:5070;branch=z9hG4bK6\n"
		    "To: <sip:bob@[2001:db8::20]>\n"
		    "From: <sip:alice@[2001:db8::10]>;tag=v6\n"
		    "Call-ID: v6-1@[2001:db8::10]\n"
		    "CSeq: 1 INVITE\n"
		    "Contact: <sip:alice@[2001:db8::10]:5070;transport=tcp>\n"
		    "Content-Type: application/sdp\n",
		    "Content-Length", sdp, strlen(sdp), &n);
	check_meta(&m, msg, n,
		   "time=2026-11-22T14:00:00.000042Z\n"
		   "transport=tcp\n"
		   "src_ip=2001:db8::10\n"
		   "src_port=5070\n"
		   "dst_ip=2001:db8::1:0:0:20\n"
		   "dst_port=5080\n"
		   "method=INVITE\n"
		   "ruri_host=2001:db8::20\n"
		   "call_id=v6-1@[2001:db8::10]\n"
		   "cseq=1\n"
		   "cseq_method=INVITE\n"
		   "from_user=alice\n"
		   "from_host=2001:db8::10\n"
		   "from_tag=v6\n"
		   "to_user=bob\n"
		   "to_host=2001:db8::20\n"
		   "contact_user=alice\n"
		   "contact_host=2001:db8::10\n"
		   "via_host=2001:db8::10\n"
		   "via_port=5070\n"
		   "via_transport=TCP\n"
		   "via_branch=z9hG4bK6\n"
		   "via_count=1\n"
		   "content_type=application/sdp\n"
		   "body_length=93\n"
		   "sdp_o_ip=2001:db8::10\n"
		   "sdp_c_ip=2001:db8::11\n"
		   "sdp_media_ports=5004\n"
		   "sdp_codecs=G722\n");
	free(msg);
}

Test(sip, compact_header_forms)
{
	static const char sdp[] = "v=0\r\n"
				  "o=- 7 7 IN IP4 192.0.2.10\r\n"
				  "s=-\r\n"
				  "c=IN IP4 192.0.2.10\r\n"
				  "t=0 0\r\n"
				  "m=audio 6000 RTP/AVP 8\r\n";
	struct cm_pkt_meta m = meta_v4();
	size_t n;
	char *msg = build("INVITE sip:bob@example.com SIP/2.0\n"
			  "v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKc1\n"
			  "v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc0, SIP/2.0/UDP 192.0.2.2\n"
			  "t: <sip:bob@example.com>\n"
			  "f: \"Alice\" <sip:alice@example.org>;tag=76ff\n"
			  "i: compact-1@192.0.2.10\n"
			  "CSeq: 1 INVITE\n"
			  "m: <sip:alice@192.0.2.10>\n"
			  "s: hello\n"
			  "k: 100rel\n"
			  "c: application/sdp\n",
			  "l", sdp, strlen(sdp), &n);

	check_meta(&m, msg, n,
		   PKT
		   "method=INVITE\n"
		   "ruri_user=bob\n"
		   "ruri_host=example.com\n"
		   "call_id=compact-1@192.0.2.10\n"
		   "cseq=1\n"
		   "cseq_method=INVITE\n"
		   "from_display=Alice\n"
		   "from_user=alice\n"
		   "from_host=example.org\n"
		   "from_tag=76ff\n"
		   "to_user=bob\n"
		   "to_host=example.com\n"
		   "contact_user=alice\n"
		   "contact_host=192.0.2.10\n"
		   "via_host=192.0.2.10\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKc1\n"
		   "via_count=3\n"
		   "content_type=application/sdp\n"
		   "body_length=89\n"
		   "sdp_o_ip=192.0.2.10\n"
		   "sdp_c_ip=192.0.2.10\n"
		   "sdp_media_ports=6000\n"
		   "sdp_codecs=PCMA\n");
	free(msg);
}

static const char message_head[] = "MESSAGE sip:bob@example.com SIP/2.0\n"
				   "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKmsg\n"
				   "Max-Forwards: 70\n"
				   "From: <sip:alice@example.org>;tag=49583\n"
				   "To: <sip:bob@example.com>\n"
				   "Call-ID: msg-1@192.0.2.10\n"
				   "CSeq: 1 MESSAGE\n"
				   "Content-Type: text/plain;charset=UTF-8\n";

#define MESSAGE_WANT(body_fields)                \
	PKT                                      \
	"method=MESSAGE\n"                       \
	"ruri_user=bob\n"                        \
	"ruri_host=example.com\n"                \
	"call_id=msg-1@192.0.2.10\n"             \
	"cseq=1\n"                               \
	"cseq_method=MESSAGE\n"                  \
	"from_user=alice\n"                      \
	"from_host=example.org\n"                \
	"from_tag=49583\n"                       \
	"to_user=bob\n"                          \
	"to_host=example.com\n"                  \
	"via_host=192.0.2.10\n"                  \
	"via_transport=UDP\n"                    \
	"via_branch=z9hG4bKmsg\n"                \
	"via_count=1\n"                          \
	"content_type=text/plain;charset=UTF-8\n" body_fields

Test(sip, message_text_body)
{
	static const char text[] = "Call me back on +1 555 0111, thanks.\r\n2nd line";

	check_body(message_head, text, strlen(text),
		   MESSAGE_WANT("body_length=46\n"
				"body=Call me back on +1 555 0111, thanks.\\r\\n2nd line\n"));
}

Test(sip, body_with_nul_and_binary_bytes_kept)
{
	static const char text[] = "a\0b\x01\xff";

	check_body(message_head, text, 5,
		   MESSAGE_WANT("body_length=5\n"
				"body=a\\0b\\x01\\xff\n"));
}

Test(sip, body_cut_at_content_length)
{
	/* RFC 3261 18.3: bytes of a datagram past Content-Length are discarded */
	struct cm_pkt_meta m = meta_v4();
	size_t n;
	char *msg = build(message_head, "Content-Length", "hello", 5, &n);
	char *two = malloc(n + 6);

	cr_assert_not_null(two);
	memcpy(two, msg, n);
	memcpy(two + n, "extra!", 6);
	check_meta(&m, two, n + 6, MESSAGE_WANT("body_length=5\nbody=hello\n"));
	free(two);
	free(msg);
}

Test(sip, body_without_content_length_is_the_rest)
{
	struct cm_pkt_meta m = meta_v4();
	size_t n;
	char *msg = build(message_head, NULL, "hello there", 11, &n);

	check_meta(&m, msg, n, MESSAGE_WANT("body_length=11\nbody=hello there\n"));
	free(msg);
}

Test(sip, multipart_mixed_sdp_and_text)
{
	static const char body[] = "--unique-boundary-1\r\n"
				   "Content-Type: application/sdp\r\n"
				   "\r\n"
				   "v=0\r\n"
				   "o=- 1 1 IN IP4 192.0.2.10\r\n"
				   "s=-\r\n"
				   "c=IN IP4 192.0.2.12\r\n"
				   "t=0 0\r\n"
				   "m=audio 4000 RTP/AVP 0\r\n"
				   "\r\n"
				   "--unique-boundary-1\r\n"
				   "Content-Type: text/plain\r\n"
				   "\r\n"
				   "Caller number +1 555 0112\r\n"
				   "--unique-boundary-1\r\n"
				   "Content-Type: application/sdp\r\n"
				   "\r\n"
				   "v=0\r\n"
				   "o=- 2 2 IN IP4 192.0.2.99\r\n"
				   "s=-\r\n"
				   "t=0 0\r\n"
				   "m=audio 4002 RTP/AVP 8\r\n"
				   "--unique-boundary-1--\r\n";

	check_body("INVITE sip:bob@example.com SIP/2.0\n"
		   "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKmp\n"
		   "To: <sip:bob@example.com>\n"
		   "From: <sip:alice@example.org>;tag=mp1\n"
		   "Call-ID: mp-1@192.0.2.10\n"
		   "CSeq: 1 INVITE\n"
		   "Content-Type: multipart/mixed;boundary=unique-boundary-1\n"
		   "MIME-Version: 1.0\n",
		   body, strlen(body),
		   PKT
		   "method=INVITE\n"
		   "ruri_user=bob\n"
		   "ruri_host=example.com\n"
		   "call_id=mp-1@192.0.2.10\n"
		   "cseq=1\n"
		   "cseq_method=INVITE\n"
		   "from_user=alice\n"
		   "from_host=example.org\n"
		   "from_tag=mp1\n"
		   "to_user=bob\n"
		   "to_host=example.com\n"
		   "via_host=192.0.2.10\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKmp\n"
		   "via_count=1\n"
		   "content_type=multipart/mixed;boundary=unique-boundary-1\n"
		   "body_length=366\n"
		   "body=Caller number +1 555 0112\\r\\nv=0\\r\\no=- 2 2 IN IP4 192.0.2.99\\r\\ns=-\\r\\n"
		   "t=0 0\\r\\nm=audio 4002 RTP/AVP 8\n"
		   "sdp_o_ip=192.0.2.10\n"
		   "sdp_c_ip=192.0.2.12\n"
		   "sdp_media_ports=4000\n"
		   "sdp_codecs=PCMU\n");
}

/*
 * libosip2 5.3.0 leaks a MIME part's first Content-Type when the part has
 * two (osip_body_set_contenttype): such messages are refused before it
 * parses them; LeakSanitizer watches this test.
 */
Test(sip, multipart_part_with_two_content_types_refused)
{
	static const char head[] = "MESSAGE sip:bob@example.com SIP/2.0\n"
				   "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKct\n"
				   "To: <sip:bob@example.com>\n"
				   "From: <sip:alice@example.org>;tag=ct\n"
				   "Call-ID: ct-1@192.0.2.10\n"
				   "CSeq: 1 MESSAGE\n"
				   "Content-Type: Multipart/Mixed;boundary=b1\n";
	static const char twice[] = "--b1\r\n"
				    "Content-Type: text/plain\r\n"
				    "content-TYPE: text/html\r\n"
				    "\r\n"
				    "hi\r\n"
				    "--b1--\r\n";
	static const char runon[] = "--b1xContent-Type: text/plain\r\n"
				    "Content-Type-Extra: text/html\r\n"
				    "\r\n"
				    "hi\r\n"
				    "--b1--\r\n";
	static const char folded[] = "--b1\r\n"
				     "Content-Type: text/plain\r\n"
				     "X-Note: one,\r\n"
				     "        two, three\r\n"
				     "\t four\r\n"
				     "Content-Type: text/html\r\n"
				     "\r\n"
				     "hi\r\n"
				     "--b1--\r\n";
	static const char folded2[] = "--b1\r\n"
				      "Content-Type: text/plain\r\n"
				      " Content-Type: text/html\r\n"
				      "\r\n"
				      "hi\r\n"
				      "--b1--\r\n";
	static const char once[] = "--b1\r\n"
				   "Content-Type: text/plain\r\n"
				   "\r\n"
				   "Content-Type: a line of text\r\n"
				   "--b1\r\n"
				   "Content-Type: text/plain\r\n"
				   "\r\n"
				   "two\r\n"
				   "--b1--\r\n";

	check_body(head, twice, strlen(twice), "reject: Content-Type twice in a MIME part");
	check_body(head, runon, strlen(runon), "reject: Content-Type twice in a MIME part");
	/* a folded header (a line starting with white space, no colon of its own) between them */
	check_body(head, folded, strlen(folded), "reject: Content-Type twice in a MIME part");
	check_body(head, folded2, strlen(folded2), "reject: Content-Type twice in a MIME part");
	{
		/* libosip2 reads "X\n\r\nMESSAGE" as the method (it looks for the first space
		   with strchr): its headers and body start later than an empty line says */
		struct cm_pkt_meta m = meta_v4();
		size_t n;
		char *msg = build(head, "Content-Length", twice, strlen(twice), &n);
		char *early = malloc(n + 4);

		cr_assert_not_null(early);
		memcpy(early, "X\n\r\n", 4);
		memcpy(early + 4, msg, n);
		check_meta(&m, early, n + 4, "reject: Content-Type twice in a MIME part");
		/* white space between the type and '/' */
		free(msg);
		msg = build("MESSAGE sip:bob@example.com SIP/2.0\n"
			    "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKct\n"
			    "To: <sip:bob@example.com>\n"
			    "From: <sip:alice@example.org>;tag=ct\n"
			    "Call-ID: ct-1@192.0.2.10\n"
			    "CSeq: 1 MESSAGE\n"
			    "Content-Type: MULTIPART\t /mixed;boundary=b1\n",
			    "Content-Length", twice, strlen(twice), &n);
		check_meta(&m, msg, n, "reject: Content-Type twice in a MIME part");
		free(msg);
		free(early);
	}
	check_body(head, once, strlen(once),
		   PKT
		   "method=MESSAGE\n"
		   "ruri_user=bob\n"
		   "ruri_host=example.com\n"
		   "call_id=ct-1@192.0.2.10\n"
		   "cseq=1\n"
		   "cseq_method=MESSAGE\n"
		   "from_user=alice\n"
		   "from_host=example.org\n"
		   "from_tag=ct\n"
		   "to_user=bob\n"
		   "to_host=example.com\n"
		   "via_host=192.0.2.10\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKct\n"
		   "via_count=1\n"
		   "content_type=Multipart/Mixed;boundary=b1\n"
		   "body_length=111\n"
		   "body=Content-Type: a line of text\\r\\ntwo\n");
	/* not multipart: libosip2 does not split the body, nothing is refused */
	check_body(message_head, twice, strlen(twice),
		   MESSAGE_WANT("body_length=71\n"
				"body=--b1\\r\\nContent-Type: text/plain\\r\\ncontent-TYPE: text/html\\r\\n"
				"\\r\\nhi\\r\\n--b1--\\r\\n\n"));
}

static const char sdp_head[] = "INVITE sip:bob@example.com SIP/2.0\n"
			       "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKsdp\n"
			       "To: <sip:bob@example.com>\n"
			       "From: <sip:alice@example.org>;tag=s1\n"
			       "Call-ID: sdp-1@192.0.2.10\n"
			       "CSeq: 1 INVITE\n"
			       "Content-Type: Application/SDP\n";

#define SDP_WANT(rest)                \
	PKT                           \
	"method=INVITE\n"             \
	"ruri_user=bob\n"             \
	"ruri_host=example.com\n"     \
	"call_id=sdp-1@192.0.2.10\n"  \
	"cseq=1\n"                    \
	"cseq_method=INVITE\n"        \
	"from_user=alice\n"           \
	"from_host=example.org\n"     \
	"from_tag=s1\n"               \
	"to_user=bob\n"               \
	"to_host=example.com\n"       \
	"via_host=192.0.2.10\n"       \
	"via_transport=UDP\n"         \
	"via_branch=z9hG4bKsdp\n"     \
	"via_count=1\n"               \
	"content_type=Application/SDP\n" rest

Test(sip, sdp_codecs_static_dynamic_and_media_connection)
{
	static const char sdp[] = "v=0\r\n"
				  "o=- 1 1 IN IP4 192.0.2.10\r\n"
				  "s=-\r\n"
				  "t=0 0\r\n"
				  "m=audio 5000/2 RTP/AVP 0 3 4 8 9 18 13 96 97 101 35\r\n"
				  "a=rtpmap:97 opus/48000/2\r\n"
				  "a=rtpmap:101 telephone-event/8000\r\n"
				  "m=image 5002 udptl t38\r\n"
				  "c=IN IP4 192.0.2.13\r\n"
				  "m=audio 0 RTP/AVP 0\r\n"
				  "c=IN IP4 192.0.2.14\r\n";

	check_body(sdp_head, sdp, strlen(sdp),
		   SDP_WANT("body_length=245\n"
			    "sdp_o_ip=192.0.2.10\n"
			    "sdp_c_ip=192.0.2.13\n"
			    "sdp_media_ports=5000,5002,0\n"
			    "sdp_codecs=PCMU,GSM,G723,PCMA,G722,G729,CN,96,opus,telephone-event,35,t38,PCMU\n"));
}

Test(sip, unparsable_sdp_leaves_sdp_fields_and_body_empty)
{
	check_body(sdp_head, "this is not sdp\r\n", 17, SDP_WANT("body_length=17\n"));
}

/*
 * libosip2 5.3.0's sdp_message_parse runs strchr from one byte past the
 * string's NUL when the text ends in an m= line without payload types and
 * a bare LF (or CR): the decoder hands it a copy padded with NULs.
 * AddressSanitizer watches the strchr.
 */
Test(sip, sdp_ending_in_m_line_without_payloads)
{
	static const char lf[] = "v=0\r\n"
				 "o=- 1 1 IN IP4 192.0.2.10\r\n"
				 "s=-\r\n"
				 "t=0 0\r\n"
				 "m=audio 0 RTP/AVP\n";
	static const char cr[] = "v=0\r\n"
				 "o=- 1 1 IN IP4 192.0.2.10\r\n"
				 "s=-\r\n"
				 "t=0 0\r\n"
				 "m=audio 0 RTP/AVP\r";

	check_body(sdp_head, lf, strlen(lf),
		   SDP_WANT("body_length=62\n"
			    "sdp_o_ip=192.0.2.10\n"
			    "sdp_media_ports=0\n"));
	check_body(sdp_head, cr, strlen(cr),
		   SDP_WANT("body_length=62\n"
			    "sdp_o_ip=192.0.2.10\n"
			    "sdp_media_ports=0\n"));
}

/* ---- responses ---- */

Test(sip, response_200_with_sdp_answer)
{
	static const char sdp[] = "v=0\r\n"
				  "o=bob 2808844564 2808844564 IN IP4 192.0.2.20\r\n"
				  "s=-\r\n"
				  "c=IN IP4 192.0.2.21\r\n"
				  "t=0 0\r\n"
				  "m=audio 3456 RTP/AVP 8 101\r\n"
				  "a=rtpmap:101 telephone-event/8000\r\n";

	check_body("SIP/2.0 200 OK\n"
		   "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;received=192.0.2.10\n"
		   "To: \"Bob\" <sip:+15550100@example.com;user=phone>;tag=a6c85cf\n"
		   "From: Alice <sip:alice@example.org>;tag=1928301774\n"
		   "Call-ID: a84b4c76e66710@pc33.example.org\n"
		   "CSeq: 314159 INVITE\n"
		   "Contact: <sip:bob@192.0.2.20>\n"
		   "Server: ExampleGW/3.1\n"
		   "Content-Type: application/sdp\n",
		   sdp, strlen(sdp),
		   PKT
		   "status=200\n"
		   "reason=OK\n"
		   "call_id=a84b4c76e66710@pc33.example.org\n"
		   "cseq=314159\n"
		   "cseq_method=INVITE\n"
		   "from_display=Alice\n"
		   "from_user=alice\n"
		   "from_host=example.org\n"
		   "from_tag=1928301774\n"
		   "to_display=Bob\n"
		   "to_user=+15550100\n"
		   "to_host=example.com\n"
		   "to_tag=a6c85cf\n"
		   "contact_user=bob\n"
		   "contact_host=192.0.2.20\n"
		   "via_host=192.0.2.10\n"
		   "via_port=5060\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bK776asdhds\n"
		   "via_count=1\n"
		   "server=ExampleGW/3.1\n"
		   "content_type=application/sdp\n"
		   "body_length=148\n"
		   "sdp_o_ip=192.0.2.20\n"
		   "sdp_c_ip=192.0.2.21\n"
		   "sdp_media_ports=3456\n"
		   "sdp_codecs=PCMA,telephone-event\n");
}

static const char resp_tail[] = "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKr\n"
				"To: <sip:bob@example.com>;tag=r2\n"
				"From: <sip:alice@example.org>;tag=r1\n"
				"Call-ID: resp-1@192.0.2.10\n"
				"CSeq: 5 INVITE\n"
				"Content-Length: 0\n"
				"\n";

/* check() of status line sl followed by resp_tail. */
static void check_status(const char *sl, const char *want)
{
	char head[512], *msg;

	snprintf(head, sizeof head, "%s\n%s", sl, resp_tail);
	msg = crlf(head);
	check(msg, want);
	free(msg);
}

#define RESP_WANT(status_reason)     \
	PKT status_reason            \
	"call_id=resp-1@192.0.2.10\n" \
	"cseq=5\n"                   \
	"cseq_method=INVITE\n"       \
	"from_user=alice\n"          \
	"from_host=example.org\n"    \
	"from_tag=r1\n"              \
	"to_user=bob\n"              \
	"to_host=example.com\n"      \
	"to_tag=r2\n"                \
	"via_host=192.0.2.10\n"      \
	"via_transport=UDP\n"        \
	"via_branch=z9hG4bKr\n"      \
	"via_count=1\n"              \
	"body_length=0\n"

Test(sip, response_status_lines)
{
	check_status("SIP/2.0 180 Ringing", RESP_WANT("status=180\nreason=Ringing\n"));
	check_status("SIP/2.0 100 ", RESP_WANT("status=100\n"));
	/* RFC 3261 7.1 calls the version case-insensitive; libosip2 takes a response only
	   after "SIP/" and reads this as a request with method "sip/2.0" */
	check_status("sip/2.0 486 Busy Here", "reject: not a SIP message");
	check_status("SIP/2.0 699 Made Up", RESP_WANT("status=699\nreason=Made Up\n"));
	/* RFC 4475 3.1.1.12 (unreason): a reason phrase of UTF-8 and symbols */
	check_status("SIP/2.0 200 = 2**3 * 5**2 \xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe",
		     RESP_WANT("status=200\nreason== 2**3 * 5**2 \\xd0\\xbd\\xd0\\xbe "
			       "\\xd1\\x81\\xd1\\x82\\xd0\\xbe\n"));
	check_status("SIP/2.0 099 Too Low", "reject: bad status code");
	check_status("SIP/2.0 700 Too High", "reject: bad status code");
	check_status("SIP/2.0 2000 Long", "reject: bad status code");
	check_status("SIP/2.0 4294967496 Wraps To 200", "reject: bad status code");
	check_status("SIP/2.0 20 Short", "reject: bad status code");
	/* no SP after the code: libosip2 would take the reason from the next line */
	check_status("SIP/2.0 200", "reject: bad status code");
	check_status("SIP/3.0 200 OK", "reject: not SIP/2.0");
}

/* ---- the packet ---- */

Test(sip, time_and_transport_formats)
{
	struct {
		int64_t sec;
		uint32_t usec;
		uint8_t proto;
		const char *want;
	} t[] = {
		{ 0, 0, 17, "time=1970-01-01T00:00:00.000000Z\ntransport=udp\n" },
		{ 1795356000, 999999, 6, "time=2026-11-22T14:00:00.999999Z\ntransport=tcp\n" },
		{ -1, 500000, 17, "time=1969-12-31T23:59:59.500000Z\ntransport=udp\n" },
		{ 253402300799, 1, 132, "time=9999-12-31T23:59:59.000001Z\n" },
		{ 253402300800, 0, 17, "transport=udp\n" },          /* year 10000 */
		{ INT64_MAX, 0, 17, "transport=udp\n" },
		{ INT64_MIN, 0, 17, "transport=udp\n" },
		{ 1795356000, 1000000, 17, "transport=udp\n" },      /* not a microsecond count */
	};
	struct cm_sipdec *d = cm_sipdec_new();
	struct cm_buf b, want;
	char *msg = crlf("OPTIONS sip:bob@example.com SIP/2.0\n"
			 "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKt\n"
			 "To: <sip:bob@example.com>\n"
			 "From: <sip:alice@example.org>;tag=t\n"
			 "Call-ID: t-1@192.0.2.10\n"
			 "CSeq: 1 OPTIONS\n"
			 "\n");
	size_t i;

	cr_assert_not_null(d);
	cm_buf_init(&b);
	cm_buf_init(&want);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct cm_pkt_meta m = meta_v4();

		m.sec = t[i].sec;
		m.usec = t[i].usec;
		m.proto = t[i].proto;
		m.family = 4;
		cr_assert_eq(decode_guarded(d, &m, msg, strlen(msg), &b), 1);
		cm_buf_reset(&want);
		cm_buf_adds(&want, t[i].want);
		cm_buf_adds(&want, "src_ip=192.0.2.10\nsrc_port=5060\ndst_ip=192.0.2.20\ndst_port=5080\n"
				   "method=OPTIONS\n");
		cm_buf_addc(&want, '\0');
		cr_assert_eq(strncmp(b.p, want.p, want.n - 1), 0, "case %zu: got:\n%s\nwant:\n%s", i, b.p,
			     want.p);
	}
	/* an unknown family: no addresses */
	{
		struct cm_pkt_meta m = meta_v4();

		m.family = 0;
		static const char w[] = "time=2026-11-22T14:00:00.000042Z\ntransport=udp\nsrc_port=5060\n"
					"dst_port=5080\nmethod=OPTIONS\n";

		cr_assert_eq(decode_guarded(d, &m, msg, strlen(msg), &b), 1);
		cr_assert_eq(strncmp(b.p, w, sizeof w - 1), 0, "got:\n%s", b.p);
	}
	free(msg);
	cm_buf_deinit(&want);
	cm_buf_deinit(&b);
	cm_sipdec_free(d);
}

/* ---- NUL bytes ---- */

static const char nul_head_a[] = "MESSAGE sip:bob@example.com SIP/2.0\r\n"
				 "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKnul\r\n"
				 "To: \"a\\";
static const char nul_head_b[] = "b\" <sip:bob@example.com>\r\n"
				 "From: <sip:%01x@example.org>;tag=n1\r\n"
				 "Call-ID: nul-1@192.0.2.10\r\n"
				 "CSeq: 1 MESSAGE\r\n"
				 "Content-Type: application/octet-stream\r\n"
				 "Content-Length: 4\r\n"
				 "\r\n"
				 "\x01\x02\0\x7f";

Test(sip, escaped_nul_in_headers_parsed_and_restored)
{
	/* RFC 3261 25.1: quoted-pair = "\" %x00-09 ...; the stand-in byte is none of 0x01 (escaped
	   as %01 in From), 0x02 or 0x7f (in the body) as they come back unchanged */
	struct cm_pkt_meta m = meta_v4();
	struct cm_buf b;

	cm_buf_init(&b);
	cm_buf_add(&b, nul_head_a, strlen(nul_head_a));
	cm_buf_addc(&b, '\0');
	cm_buf_add(&b, nul_head_b, sizeof nul_head_b - 1);
	check_meta(&m, b.p, b.n,
		   PKT
		   "method=MESSAGE\n"
		   "ruri_user=bob\n"
		   "ruri_host=example.com\n"
		   "call_id=nul-1@192.0.2.10\n"
		   "cseq=1\n"
		   "cseq_method=MESSAGE\n"
		   "from_user=\\x01x\n"
		   "from_host=example.org\n"
		   "from_tag=n1\n"
		   "to_display=a\\0b\n"
		   "to_user=bob\n"
		   "to_host=example.com\n"
		   "via_host=192.0.2.10\n"
		   "via_transport=UDP\n"
		   "via_branch=z9hG4bKnul\n"
		   "via_count=1\n"
		   "content_type=application/octet-stream\n"
		   "body_length=4\n"
		   "body=\\x01\\x02\\0\\x7f\n");
	cm_buf_deinit(&b);
}

Test(sip, bare_nul_in_headers_rejected)
{
	static const char msg[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKnul\r\n"
				  "To: <sip:bob@example.com>\r\n"
				  "From: <sip:alice@example.org>;tag=n\0x\r\n"
				  "Call-ID: nul-2@192.0.2.10\r\n"
				  "CSeq: 1 OPTIONS\r\n"
				  "\r\n";
	static const char msg2[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
				   "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKnul\r\n"
				   "To: \"a\\\\\0\" <sip:bob@example.com>\r\n"
				   "From: <sip:alice@example.org>;tag=n\r\n"
				   "Call-ID: nul-2@192.0.2.10\r\n"
				   "CSeq: 1 OPTIONS\r\n"
				   "\r\n";
	struct cm_pkt_meta m = meta_v4();

	check_meta(&m, msg, sizeof msg - 1, "reject: NUL byte in the headers");
	/* "\\" is an escaped backslash: the NUL after it is bare */
	check_meta(&m, msg2, sizeof msg2 - 1, "reject: NUL byte in the headers");
	check_meta(&m, "\0", 1, "reject: NUL byte in the headers");
	check_meta(&m, "\r\n\0", 3, "reject: NUL byte in the headers");
}

/* ---- rejects ---- */

/* The request of reject_table with line `drop` left out and `add` added after the start line. */
static char *variant(const char *drop, const char *add)
{
	static const char *const lines[] = {
		"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKrej\n",
		"To: <sip:bob@example.com>\n",
		"From: <sip:alice@example.org>;tag=rj\n",
		"Call-ID: rej-1@192.0.2.10\n",
		"CSeq: 1 INVITE\n",
	};
	char head[1024];
	size_t i;

	snprintf(head, sizeof head, "INVITE sip:bob@example.com SIP/2.0\n%s", add);
	for (i = 0; i < sizeof lines / sizeof lines[0]; i++)
		if (!drop || strncmp(lines[i], drop, strlen(drop)) != 0)
			strncat(head, lines[i], sizeof head - strlen(head) - 1);
	strncat(head, "\n", sizeof head - strlen(head) - 1);
	return crlf(head);
}

Test(sip, rejects_missing_or_bad_required_fields)
{
	struct {
		const char *drop, *add, *want;
	} t[] = {
		{ "Call-ID", "", "reject: no Call-ID" },
		{ "CSeq", "", "reject: no CSeq" },
		{ "From", "", "reject: no From" },
		{ "To", "", "reject: no To" },
		{ "Via", "", "reject: no Via" },
		{ "CSeq", "CSeq: 2147483648 INVITE\n", "reject: bad CSeq" },
		{ "CSeq", "CSeq: -1 INVITE\n", "reject: bad CSeq" },
		{ "CSeq", "CSeq: 1 INVITE extra\n", "reject: bad CSeq" },
		{ "CSeq", "CSeq: 1 invite\n", "reject: CSeq method differs from the request's" },
		{ "CSeq", "CSeq: 1 BYE\n", "reject: CSeq method differs from the request's" },
		{ "From", "From: \n", "reject: no From" },
		{ NULL, "Content-Length: -1\n", "reject: bad Content-Length" },
		{ NULL, "Content-Length: abc\n", "reject: bad Content-Length" },
		{ NULL, "Content-Length: 5\n", "reject: Content-Length exceeds the body" },
		{ NULL, "Content-Length: 99999999999999999999999\n",
		  "reject: Content-Length exceeds the body" },
		/* with a Content-Type, libosip2 itself refuses a short body */
		{ NULL, "Content-Type: text/plain\nContent-Length: 5\n", "reject: not a SIP message" },
		{ "From", "From: <sip:alice@example.org>;tag=a\nFrom: <sip:eve@example.org>;tag=b\n",
		  "reject: not a SIP message" },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *msg = variant(t[i].drop, t[i].add);

		check(msg, t[i].want);
		free(msg);
	}
	{
		/* the variant with nothing dropped is fine */
		char *msg = variant(NULL, "");

		check(msg, PKT
			   "method=INVITE\n"
			   "ruri_user=bob\n"
			   "ruri_host=example.com\n"
			   "call_id=rej-1@192.0.2.10\n"
			   "cseq=1\n"
			   "cseq_method=INVITE\n"
			   "from_user=alice\n"
			   "from_host=example.org\n"
			   "from_tag=rj\n"
			   "to_user=bob\n"
			   "to_host=example.com\n"
			   "via_host=192.0.2.10\n"
			   "via_transport=UDP\n"
			   "via_branch=z9hG4bKrej\n"
			   "via_count=1\n"
			   "body_length=0\n");
		free(msg);
	}
}

Test(sip, rejects_what_is_not_a_sip_message)
{
	struct cm_pkt_meta m = meta_v4();
	struct {
		const char *msg, *want;
	} t[] = {
		{ "", "reject: not a SIP message" },
		{ "\r\n\r\n", "reject: not a SIP message" },
		{ "hello", "reject: not a SIP message" },
		{ "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "reject: not a SIP message" },
		{ "INVITE sip:bob@example.com SIP/3.0\r\n"
		  "Via: SIP/3.0/UDP 192.0.2.10;branch=z9hG4bKv\r\n"
		  "To: <sip:bob@example.com>\r\nFrom: <sip:alice@example.org>;tag=v\r\n"
		  "Call-ID: v@192.0.2.10\r\nCSeq: 1 INVITE\r\n\r\n",
		  "reject: not SIP/2.0" },
		/* a method that is no token: libosip2 takes everything up to the first space */
		{ "INV\"ITE sip:bob@example.com SIP/2.0\r\n"
		  "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKv\r\n"
		  "To: <sip:bob@example.com>\r\nFrom: <sip:alice@example.org>;tag=v\r\n"
		  "Call-ID: v@192.0.2.10\r\nCSeq: 1 INV\"ITE\r\n\r\n",
		  "reject: bad method" },
		{ "SIP/2.0 200 OK\r\n", "reject: no Call-ID" },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		check_meta(&m, t[i].msg, strlen(t[i].msg), t[i].want);
}

/* ---- the decoder across messages ---- */

Test(sip, decoder_reused_across_messages_and_rejects)
{
	struct cm_pkt_meta m = meta_v4();
	struct cm_sipdec *d = cm_sipdec_new();
	struct cm_buf t;
	size_t n, k;
	char *invite = build(invite_head, "Content-Length", invite_sdp, strlen(invite_sdp), &n);
	char *bad = variant("Via", "");
	struct {
		const char *msg;
		size_t n;
		const char *want;
	} seq[] = {
		{ invite, n, invite_want },
		{ bad, strlen(bad), "reject: no Via" },
		{ "x", 1, "reject: not a SIP message" },
		{ invite, n, invite_want },
	};

	cr_assert_not_null(d);
	cm_buf_init(&t);
	for (k = 0; k < 3; k++) {
		size_t i;

		for (i = 0; i < sizeof seq / sizeof seq[0]; i++) {
			decode_guarded(d, &m, seq[i].msg, seq[i].n, &t);
			cr_assert_str_eq(t.p, seq[i].want, "round %zu step %zu got:\n%s", k, i, t.p);
		}
	}
	cm_buf_deinit(&t);
	free(bad);
	free(invite);
	cm_sipdec_free(d);
}

Test(sip, leading_crlf_skipped)
{
	char *msg = variant(NULL, "");
	size_t n = strlen(msg);
	char *two = malloc(n + 4);
	struct cm_pkt_meta m = meta_v4();
	struct cm_buf a, b;
	struct cm_sipdec *d = cm_sipdec_new();

	cr_assert_not_null(two);
	memcpy(two, "\r\n\r\n", 4);
	memcpy(two + 4, msg, n);
	cm_buf_init(&a);
	cm_buf_init(&b);
	cr_assert_eq(decode_guarded(d, &m, msg, n, &a), 1);
	cr_assert_eq(decode_guarded(d, &m, two, n + 4, &b), 1);
	cr_assert_str_eq(a.p, b.p);
	cm_buf_deinit(&a);
	cm_buf_deinit(&b);
	cm_sipdec_free(d);
	free(two);
	free(msg);
}

/* ---- RFC 4475 ---- */

/*
 * What each RFC 4475 torture message must give: a record, or a reject
 * with this reason. Section numbers are RFC 4475's. Files of the RFC
 * that the corpus lacks (dblreq, unreason, noreason, ltgtruri, baddate,
 * mismatch01, insuf, bext01, regescrt) are not listed; every file the
 * corpus has must be. tests/sip.sh reads this table too (each row's first
 * line: { "file.dat", "section", valid, NULL or "reason",): keep that form.
 */
static const struct {
	const char *file, *section;
	int valid;        /* what RFC 4475 says: 1 a receiver must parse it, 0 it is invalid */
	const char *want; /* NULL: a record; else the reject reason */
	const char *why;  /* where a valid one is rejected, or an invalid one accepted: why */
} rfc4475_table[] = {
	/* 3.1.1 valid messages */
	{ "wsinv.dat", "3.1.1.1", 1, NULL, NULL },
	{ "intmeth.dat", "3.1.1.2", 1, NULL, "parsed from a copy: the escaped NUL in To is restored" },
	{ "esc01.dat", "3.1.1.3", 1, NULL, NULL },
	{ "escnull.dat", "3.1.1.4", 1, NULL, "libosip2 cuts a user at its %00: from_user is \"null-\"" },
	{ "esc02.dat", "3.1.1.5", 1, NULL, NULL },
	{ "lwsdisp.dat", "3.1.1.6", 1, NULL, NULL },
	{ "longreq.dat", "3.1.1.7", 1, NULL, NULL },
	{ "semiuri.dat", "3.1.1.9", 1, NULL, NULL },
	{ "transports.dat", "3.1.1.10", 1, NULL, NULL },
	{ "mpart01.dat", "3.1.1.11", 1, NULL, NULL },
	/* 3.1.2 invalid messages */
	{ "badinv01.dat", "3.1.2.1", 0, "not a SIP message", NULL },
	{ "clerr.dat", "3.1.2.2", 0, "not a SIP message", NULL },
	{ "ncl.dat", "3.1.2.3", 0, "bad Content-Length", NULL },
	{ "scalar02.dat", "3.1.2.4", 0, "bad CSeq", NULL },
	{ "scalarlg.dat", "3.1.2.5", 0, "bad CSeq", NULL },
	{ "quotbal.dat", "3.1.2.6", 0, "not a SIP message", NULL },
	{ "lwsruri.dat", "3.1.2.8", 0, "not a SIP message", NULL },
	{ "lwsstart.dat", "3.1.2.9", 0, "not a SIP message", NULL },
	{ "trws.dat", "3.1.2.10", 0, "not a SIP message", NULL },
	{ "escruri.dat", "3.1.2.11", 0, NULL,
	  "RFC 4475 lets a receiver ignore the escaped Route header of the Request-URI; it is" },
	{ "regbadct.dat", "3.1.2.13", 0, NULL,
	  "the Contact addr-spec's ?Route header goes with the URI, as RFC 4475 allows; user and host are sound" },
	{ "badaspec.dat", "3.1.2.14", 0, "not a SIP message", NULL },
	{ "baddn.dat", "3.1.2.15", 0, "not a SIP message", NULL },
	{ "badvers.dat", "3.1.2.16", 0, "not SIP/2.0", NULL },
	{ "mismatch02.dat", "3.1.2.18", 0, "CSeq method differs from the request's", NULL },
	{ "bigcode.dat", "3.1.2.19", 0, "bad status code", NULL },
	/* 3.2 transaction layer, 3.3 application layer, 3.4 backward compatibility: valid syntax */
	{ "badbranch.dat", "3.2.1", 1, NULL, NULL },
	{ "unkscm.dat", "3.3.2", 1, NULL, NULL },
	{ "novelsc.dat", "3.3.3", 1, "not a SIP message",
	  "libosip2 takes only letters in a URI scheme (osip_uri_parse): soap.beep: fails the request line" },
	{ "unksm2.dat", "3.3.4", 1, NULL, NULL },
	{ "invut.dat", "3.3.6", 1, NULL, NULL },
	{ "regaut01.dat", "3.3.7", 1, NULL, NULL },
	{ "multi01.dat", "3.3.8", 0, "not a SIP message", "two From, To, Call-ID, CSeq: RFC 4475 wants a 400" },
	{ "mcl01.dat", "3.3.9", 0, "not a SIP message", "several Content-Length values: RFC 4475 wants a 400" },
	{ "bcast.dat", "3.3.10", 1, NULL, NULL },
	{ "zeromf.dat", "3.3.11", 1, NULL, NULL },
	{ "cparam01.dat", "3.3.12", 1, NULL, NULL },
	{ "cparam02.dat", "3.3.13", 1, NULL, NULL },
	{ "sdp01.dat", "3.3.15", 1, NULL, NULL },
	{ "inv2543.dat", "3.4.1", 1, NULL, NULL },
};

#define NTABLE (sizeof rfc4475_table / sizeof rfc4475_table[0])

static void torture_path(char *buf, size_t len, const char *name)
{
	const char *dir = getenv("CDRMIN_SHARED");

	snprintf(buf, len, "%s/corpus/sip-torture/%s", dir && *dir ? dir : "../shared", name);
}

/* Reads a torture file into a malloc'd buffer of exactly *n bytes. */
static char *read_torture(const char *name, size_t *n)
{
	char path[512];
	FILE *f;
	char *p;
	long sz;

	torture_path(path, sizeof path, name);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	sz = ftell(f);
	cr_assert_gt(sz, 0);
	rewind(f);
	p = malloc((size_t)sz);
	cr_assert_not_null(p);
	cr_assert_eq(fread(p, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	*n = (size_t)sz;
	return p;
}

/* The transcript of a torture file (decoded against a guard page). */
static int torture(const char *name, struct cm_buf *t)
{
	struct cm_pkt_meta m = meta_v4();
	struct cm_sipdec *d = cm_sipdec_new();
	size_t n;
	char *p = read_torture(name, &n);
	int rc;

	cr_assert_not_null(d);
	rc = decode_guarded(d, &m, p, n, t);
	free(p);
	cm_sipdec_free(d);
	return rc;
}

Test(sip, rfc4475_every_file_as_the_table_says)
{
	struct cm_buf t;
	size_t i;

	cm_buf_init(&t);
	for (i = 0; i < NTABLE; i++) {
		int rc = torture(rfc4475_table[i].file, &t);

		if (!rfc4475_table[i].want) {
			cr_expect_eq(rc, 1, "%s (%s): want a record, got %s", rfc4475_table[i].file,
				     rfc4475_table[i].section, t.p);
		} else {
			char want[128];

			snprintf(want, sizeof want, "reject: %s", rfc4475_table[i].want);
			cr_expect_str_eq(t.p, want, "%s (%s): got %s", rfc4475_table[i].file,
					 rfc4475_table[i].section, t.p);
		}
	}
	cm_buf_deinit(&t);
}

Test(sip, rfc4475_table_lists_every_corpus_file)
{
	char path[512];
	DIR *dir;
	struct dirent *e;
	size_t seen = 0, i;

	torture_path(path, sizeof path, "");
	dir = opendir(path);
	cr_assert_not_null(dir, "cannot open %s", path);
	while ((e = readdir(dir)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l < 4 || strcmp(e->d_name + l - 4, ".dat") != 0)
			continue;
		for (i = 0; i < NTABLE; i++)
			if (strcmp(rfc4475_table[i].file, e->d_name) == 0)
				break;
		cr_expect_lt(i, NTABLE, "%s is not in rfc4475_table", e->d_name);
		seen++;
	}
	closedir(dir);
	cr_assert_eq(seen, NTABLE, "the corpus has %zu files, the table %zu", seen, NTABLE);
}

/* 1 when the transcript t holds the line "name=value". */
static int has_line(const struct cm_buf *t, const char *line)
{
	size_t l = strlen(line);
	const char *p = t->p;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == t->p || p[-1] == '\n') && p[l] == '\n')
			return 1;
		p++;
	}
	return 0;
}

Test(sip, rfc4475_fields_of_valid_messages)
{
	static const struct {
		const char *file, *line;
	} t[] = {
		{ "wsinv.dat", "from_display=J Rosenberg \\\\\"" },
		{ "wsinv.dat", "call_id=wsinv.ndaksdj@192.0.2.1" },
		{ "wsinv.dat", "cseq=0009" },
		{ "wsinv.dat", "to_tag=1918181833n" },
		{ "wsinv.dat", "via_branch=390skdjuw" },
		{ "wsinv.dat", "via_count=3" },
		{ "wsinv.dat", "sdp_c_ip=192.0.2.4" },
		{ "intmeth.dat", "method=!interesting-Method0123456789_*+`.%indeed'~" },
		{ "intmeth.dat", "to_display=BEL:\\x07 NUL:\\0 DEL:\\x7f" },
		{ "intmeth.dat", "ruri_user=1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*" },
		{ "intmeth.dat", "from_display=token1~` token2'+_ token3*%!.-" },
		{ "intmeth.dat", "call_id=intmeth.word%ZK-!.*_+'@word`~)(><:\\\\/\"][?}{" },
		{ "esc01.dat", "ruri_user=sips:user@example.com" },
		{ "esc01.dat", "from_user=I have spaces" },
		{ "escnull.dat", "from_user=null-" },
		{ "esc02.dat", "method=RE%47IST%45R" },
		{ "esc02.dat", "from_display=%Z%45" },
		{ "esc02.dat", "contact_user=alias1" },
		{ "lwsdisp.dat", "from_display=caller" },
		{ "longreq.dat", "via_count=34" },
		{ "longreq.dat", "to_host=example.com" },
		{ "semiuri.dat", "ruri_user=user;par=u@example.net" },
		{ "transports.dat", "via_count=5" },
		{ "mpart01.dat", "content_type=multipart/mixed;boundary=7a9cbec02ceef655" },
		{ "mpart01.dat", "body_length=553" },
		{ "unkscm.dat", "ruri_user=totallyopaquecontent" },
		{ "unksm2.dat", "to_user=2983792873" },
		{ "unksm2.dat", "contact_user=John_Smith" },
		{ "bcast.dat", "via_host=192.0.2.198" },
		{ "bcast.dat", "status=200" },
		{ "cparam01.dat", "contact_user=+19725552222" },
		{ "inv2543.dat", "from_user=+13035551111" },
		{ "inv2543.dat", "sdp_codecs=PCMU" },
		{ "invut.dat", "content_type=application/unknownformat" },
		{ "regbadct.dat", "contact_host=example.com" },
		{ "escruri.dat", "ruri_host=example.com" },
	};
	struct cm_buf b;
	size_t i;

	cm_buf_init(&b);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		cr_assert_eq(torture(t[i].file, &b), 1, "%s: %s", t[i].file, b.p);
		cr_expect(has_line(&b, t[i].line), "%s lacks %s:\n%s", t[i].file, t[i].line, b.p);
	}
	/* mpart01's body: the text part, CRLF, then the binary signature part */
	cr_assert_eq(torture("mpart01.dat", &b), 1);
	cr_expect_not_null(strstr(b.p, "\nbody=Hello\\r\\n0\\x82\\x01R\\x06"), "%s", b.p);
	cm_buf_deinit(&b);
}

Test(sip, ipv4_addresses_written_as_inet_ntop_writes_them)
{
	/* Every octet value in every position (one- two- and three-digit ones,
	 * 0, 9, 10, 99, 100, 255 among them), as src_ip and dst_ip. */
	static const char msg[] = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
				  "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\n"
				  "To: <sip:bob@example.com>\r\n"
				  "From: <sip:alice@example.org>;tag=1\r\n"
				  "Call-ID: ip@example.org\r\n"
				  "CSeq: 1 OPTIONS\r\n"
				  "Content-Length: 0\r\n\r\n";
	struct cm_sipdec *d = cm_sipdec_new();
	struct cm_pkt_meta m = meta_v4();
	struct cm_record rec;
	const char *why = NULL;
	char want[INET_ADDRSTRLEN];
	unsigned v, pos, side;

	cr_assert_not_null(d);
	for (v = 0; v < 256; v++) {
		for (pos = 0; pos < 4; pos++) {
			memcpy(m.src, "\xc6\x33\x64\x07", 4);
			memcpy(m.dst, "\xcb\x00\x71\x58", 4);
			m.src[pos] = (uint8_t)v;
			m.dst[3 - pos] = (uint8_t)(255 - v);
			memset(&rec, 0, sizeof rec);
			cr_assert_eq(cm_sip_decode(d, &m, msg, sizeof msg - 1, &rec, &why), 1);
			for (side = 0; side < 2; side++) {
				struct cm_slice f = rec.f[side ? CM_SIP_DST_IP : CM_SIP_SRC_IP];

				cr_assert_not_null(inet_ntop(AF_INET, side ? m.dst : m.src, want,
							     sizeof want));
				cr_assert(f.n == strlen(want) && memcmp(f.p, want, f.n) == 0,
					  "octet %u at %u: got %.*s, want %s", v, pos, (int)f.n, f.p,
					  want);
			}
		}
	}
	cm_sipdec_free(d);
}
