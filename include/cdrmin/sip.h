/*
 * cdrmin: SIP messages to records (RFC 3261, parsed with libosip2).
 *
 * Each SIP message becomes one record of the fixed schema below (the
 * fields rules files name, like CSV columns). Values are text: a field the
 * message lacks is empty. URIs are split into user and host (a tel: URI's
 * number is its user); display names are unquoted; ports are decimal.
 *
 *   time            capture time, RFC 3339 UTC with microseconds
 *                   ("2026-11-22T14:00:00.123456Z")
 *   transport       udp or tcp
 *   src_ip src_port dst_ip dst_port    of the packet (IPv6 as RFC 5952)
 *   method          request method ("INVITE"), empty for a response
 *   status reason   response code and phrase, empty for a request
 *   ruri_user ruri_host                Request-URI
 *   call_id
 *   cseq cseq_method
 *   from_display from_user from_host from_tag
 *   to_display to_user to_host to_tag
 *   contact_user contact_host          the first Contact
 *   pai_display pai_user pai_host      the first P-Asserted-Identity (RFC 3325)
 *   ppi_user ppi_host                  P-Preferred-Identity
 *   rpid_user rpid_host                Remote-Party-ID
 *   diversion_user diversion_host diversion_reason   the first Diversion (RFC 5806)
 *   history_info    the History-Info header values (RFC 7044) as written,
 *                   joined by ", " (URIs with numbers: scrub it)
 *   refer_to_user refer_to_host
 *   via_host via_port via_transport via_branch      the first Via's sent-by
 *   via_count       number of Via values
 *   user_agent server
 *   content_type body_length
 *   body            the body when it is not SDP (a MESSAGE's text), else empty
 *   sdp_o_ip        the SDP origin's address (o=)
 *   sdp_c_ip        the session connection address, else the first media's (c=)
 *   sdp_media_ports the m= ports, comma-separated ("49170,49172")
 *   sdp_codecs      the codecs of the m= lines by rtpmap name or static
 *                   payload type, comma-separated ("PCMU,PCMA,telephone-event")
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

/* A decoder (libosip2's parser tables are set up once per process). NULL when memory is short. */
struct cm_sipdec *cm_sipdec_new(void);
void cm_sipdec_free(struct cm_sipdec *d);

/*
 * Decodes the message msg[0..n) that arrived as m says into rec (n =
 * CM_SIP__COUNT; values owned by the decoder, valid until the next call;
 * type and raw NULL; line and offset untouched). Returns 1, or 0 with *why
 * set to a short static reason ("not a SIP message", "no Call-ID", ...)
 * when libosip2 cannot parse it or it lacks what RFC 3261 section 8.1.1
 * requires (Call-ID, CSeq, From, To, Via), or CM_FAIL when memory is short.
 */
int cm_sip_decode(struct cm_sipdec *d, const struct cm_pkt_meta *m, const char *msg, size_t n,
		  struct cm_record *rec, const char **why);

#endif
