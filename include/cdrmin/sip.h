/*
 * cdrmin: SIP messages to records (RFC 3261, parsed with libosip2).
 *
 * Each SIP message becomes one record of the fixed schema below (the
 * fields rules files name, like CSV columns). Values are text: a field the
 * message lacks is empty. URIs are split into user and host (a tel: URI's
 * number is its user); display names are unquoted; ports are decimal.
 *
 *   time            capture time, RFC 3339 UTC with microseconds
 *                   ("2026-11-22T14:00:00.123456Z"); empty for a time
 *                   outside years 1000-9999 or usec >= 1000000
 *   transport       udp or tcp (empty for another protocol)
 *   src_ip src_port dst_ip dst_port    of the packet (IPv6 as RFC 5952)
 *   method          request method ("INVITE"), empty for a response
 *   status reason   response code (three digits) and phrase (may be
 *                   empty), empty for a request
 *   ruri_user ruri_host                Request-URI
 *   call_id         as written ("local@host")
 *   cseq cseq_method                   the number as written (leading zeros kept)
 *   from_display from_user from_host from_tag
 *   to_display to_user to_host to_tag
 *   contact_user contact_host          the first Contact
 *   pai_display pai_user pai_host      the first P-Asserted-Identity (RFC 3325)
 *   ppi_user ppi_host                  P-Preferred-Identity
 *   rpid_user rpid_host                Remote-Party-ID
 *   diversion_user diversion_host diversion_reason   the first Diversion (RFC 5806)
 *   history_info    the History-Info header values (RFC 7044) as written,
 *                   joined by ", " (URIs with numbers: scrub it)
 *   refer_to_user refer_to_host        (Refer-To, or its compact form r)
 *   via_host via_port via_transport via_branch      the first Via's sent-by
 *                   (port and transport as written: "5060", "UDP", "TLS")
 *   via_count       number of Via values
 *   user_agent server
 *   content_type body_length
 *   body            the body when it is not SDP (a MESSAGE's text), else empty
 *   sdp_o_ip        the SDP origin's address (o=)
 *   sdp_c_ip        the session connection address, else that of the first
 *                   media that has one (c=)
 *   sdp_media_ports the m= ports, comma-separated ("49170,49172")
 *   sdp_codecs      the codecs of the m= lines by rtpmap name or static
 *                   payload type, comma-separated ("PCMU,PCMA,telephone-event")
 *
 * In detail:
 *
 *   URIs       sip, sips: the user part as libosip2 gives it,
 *              percent-decoded (a "%00" ends it there: RFC 4475's escnull
 *              gives "null-"), cut at its first ';' when the URI has
 *              user=phone (the telephone-subscriber's parameters); the
 *              host as written, an IPv6 reference without its brackets.
 *              tel: the number as written up to its first ';',
 *              percent-decoded; no host. Any other scheme (urn:, mailto:):
 *              the whole part after the scheme's ':' is the user, so that
 *              rules protect it as a user; no host.
 *   display    a quoted-string loses its quotes and its backslashes
 *   names      (RFC 3261 25.1 quoted-pair: \" stands for ", \\ for \);
 *              a token display name is kept as written.
 *   first      P-Asserted-Identity, P-Preferred-Identity, Remote-Party-ID,
 *              Diversion, Refer-To: the first value of the first header
 *              (a header may hold several, comma-separated); a value
 *              libosip2 cannot parse as a name-addr or addr-spec leaves
 *              its fields empty, the record is still made.
 *   body       body_length is the bytes of the body: Content-Length
 *              bytes (what a datagram holds past them is dropped, RFC 3261
 *              18.3), or all that follows the headers when the message
 *              has no Content-Length. body is those bytes as they are (any
 *              byte, NUL included) unless the Content-Type is
 *              application/sdp; for a multipart body, the first
 *              application/sdp part gives the sdp_* fields and the other
 *              parts' contents, joined by CRLF, are the body.
 *   content    type/subtype then ";name=value" per parameter, as libosip2
 *   _type      parsed them ("text/plain;charset=UTF-8").
 *   sdp_*      m= ports as written (a port count "/2" left out); a codec
 *              is its a=rtpmap encoding name, else its RFC 3551 static
 *              name (0 PCMU, 3 GSM, 4 G723, 8 PCMA, 9 G722, 18 G729, ...),
 *              else the format as written ("96", "t38"). All empty when
 *              the SDP cannot be parsed.
 *   NUL bytes  a NUL in the start line or headers rejects the message,
 *              unless it is escaped by a backslash (a quoted-pair, as in
 *              RFC 4475's intmeth): then it is kept in the field.
 */
#ifndef CDRMIN_SIP_H
#define CDRMIN_SIP_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/buf.h"
#include "cdrmin/packet.h"
#include "cdrmin/record.h"

enum cm_sip_field {
	CM_SIP_TIME = 0, CM_SIP_TRANSPORT, CM_SIP_SRC_IP, CM_SIP_SRC_PORT, CM_SIP_DST_IP,
	CM_SIP_DST_PORT, CM_SIP_METHOD, CM_SIP_STATUS, CM_SIP_REASON, CM_SIP_RURI_USER,
	CM_SIP_RURI_HOST, CM_SIP_CALL_ID, CM_SIP_CSEQ, CM_SIP_CSEQ_METHOD, CM_SIP_FROM_DISPLAY,
	CM_SIP_FROM_USER, CM_SIP_FROM_HOST, CM_SIP_FROM_TAG, CM_SIP_TO_DISPLAY, CM_SIP_TO_USER,
	CM_SIP_TO_HOST, CM_SIP_TO_TAG, CM_SIP_CONTACT_USER, CM_SIP_CONTACT_HOST, CM_SIP_PAI_DISPLAY,
	CM_SIP_PAI_USER, CM_SIP_PAI_HOST, CM_SIP_PPI_USER, CM_SIP_PPI_HOST, CM_SIP_RPID_USER,
	CM_SIP_RPID_HOST, CM_SIP_DIVERSION_USER, CM_SIP_DIVERSION_HOST, CM_SIP_DIVERSION_REASON,
	CM_SIP_HISTORY_INFO, CM_SIP_REFER_TO_USER, CM_SIP_REFER_TO_HOST, CM_SIP_VIA_HOST,
	CM_SIP_VIA_PORT, CM_SIP_VIA_TRANSPORT, CM_SIP_VIA_BRANCH, CM_SIP_VIA_COUNT,
	CM_SIP_USER_AGENT, CM_SIP_SERVER, CM_SIP_CONTENT_TYPE, CM_SIP_BODY_LENGTH, CM_SIP_BODY,
	CM_SIP_SDP_O_IP, CM_SIP_SDP_C_IP, CM_SIP_SDP_MEDIA_PORTS, CM_SIP_SDP_CODECS,
	CM_SIP__COUNT
};

/* The field's name in rules ("from_user"). */
const char *cm_sip_field_name(enum cm_sip_field f);

/* Fills s (initialized, empty) with the field names in order. 0 or -1 (memory). */
int cm_sip_schema(struct cm_schema *s);

struct cm_sipdec;

/*
 * A decoder, for one thread. The first call sets up libosip2 for the
 * process: its parser tables, and its traces turned off (libosip2 as
 * Debian builds it would print parse errors to stdout). NULL when memory
 * is short or libosip2 cannot be set up.
 */
struct cm_sipdec *cm_sipdec_new(void);
void cm_sipdec_free(struct cm_sipdec *d);

/*
 * Decodes the message msg[0..n) that arrived as m says into rec (n =
 * CM_SIP__COUNT; values owned by the decoder, valid until the next call;
 * type and raw NULL; line and offset untouched). msg is only read, never
 * past n, and need not be NUL-terminated. Returns 1, or 0 with *why set to
 * a short static reason when libosip2 cannot parse it or it lacks what RFC
 * 3261 section 8.1.1 requires (Call-ID, CSeq, From, To, Via), or CM_FAIL
 * when memory is short. The reasons:
 *
 *   "not a SIP message"        libosip2 cannot parse it (or n is 0)
 *   "NUL byte in the headers"  a NUL before the body, not escaped
 *   "Content-Type twice in a MIME part"   refused before libosip2 parses
 *                              it: libosip2 5.3.0 leaks memory on these
 *   "not SIP/2.0"              another protocol version
 *   "bad method"               a method that is not a token (RFC 3261 25.1)
 *   "bad request line"         not "Method SP Request-URI SP SIP/2.0"
 *   "bad status code"          not three digits 100-699 then SP
 *   "no Call-ID", "no CSeq", "no From", "no To", "no Via"
 *   "bad CSeq"                 not a number below 2^31 and a token (8.1.1.5)
 *   "CSeq method differs from the request's"
 *   "bad Content-Length"       not 1*DIGIT (RFC 3261 20.14)
 *   "Content-Length exceeds the body"     the message ends before its
 *                              body does (18.3)
 */
int cm_sip_decode(struct cm_sipdec *d, const struct cm_pkt_meta *m, const char *msg, size_t n,
		  struct cm_record *rec, const char **why);

#endif
