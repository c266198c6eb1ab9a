/*
 * cdrmin: SIP dialogs assembled into call records (--calls).
 *
 * The per-message records of sip.h, in capture order, are grouped by
 * Call-ID into calls. A call starts with an initial INVITE (no To tag) and
 * is written as one record when it ends:
 *
 *   bye       a BYE of the call's dialog was seen (written at the BYE:
 *             its 200 may never come): one of its tags is the INVITE's From
 *             tag and, once answered, the other is not a tag other than the
 *             2xx's To tag (the BYE of another fork's dialog, RFC 3261
 *             13.2.2.4, ends nothing); or
 *   cancel    the caller gave up before an answer: a 487 to the INVITE
 *             (its CANCEL captured or not), or a CANCEL and then no final
 *             response within 32 s (64*T1; end_time the CANCEL's); or
 *   rejected  the INVITE got a final response >= 300. After a 3xx, 401,
 *             407, 413, 415, 416, 420, 421, 422 or 494, which a UAC
 *             answers with a new INVITE of the same Call-ID and a higher
 *             CSeq (RFC 3261 8.1.3.4, 8.1.3.5), the call waits 32 s for it:
 *             the new INVITE goes on with the same call; without one it is
 *             rejected at the response's time; or
 *   timeout   no final response within setup_timeout_ms of the INVITE (or
 *             of its latest retry), or no BYE within call_timeout_ms of the
 *             answer or of the last re-INVITE or UPDATE (a session refresh,
 *             RFC 4028); end_time is that deadline. Times are the capture's
 *             own: a timeout is seen when a later message comes; or
 *   evicted   max_calls were open and this was the one that started first,
 *             when a new INVITE came; or
 *   eof       the input ended (cm_calls_finish), whatever the call waited for.
 *
 * Retransmissions (the same CSeq, method and direction again) change
 * nothing. Messages of a Call-ID no INVITE opened (REGISTER, OPTIONS, a
 * BYE of a call that started before the capture, a message without
 * Call-ID) are not calls: counted and skipped. For 32 s after a call ends,
 * its Call-ID is remembered: late messages (the 200 to the BYE, the ACK of
 * a failure, retransmissions, the INVITE again) are the call's, not
 * counted; an INVITE without To tag and with a higher CSeq opens a new call
 * of the same Call-ID. Memory is bounded: at most max_calls open calls,
 * each holding copies of a few short fields (each cut to CM_CALL_FIELD_MAX
 * bytes, not inside a UTF-8 character), and at most max_calls ended ones,
 * each holding only a 64-bit hash of its Call-ID. Call-IDs that differ only
 * past the cut are still told apart (by a hash of the whole value).
 *
 * Fields of a call record (text; empty when unknown):
 *
 *   call_id         the Call-ID
 *   caller          From user of the first INVITE; caller_host its host
 *   callee          Request-URI user of the first INVITE, and its host; when
 *                   the Request-URI has no user, the To user and host
 *   pai_user        P-Asserted-Identity user of the first INVITE
 *   src_ip dst_ip   the first INVITE's packet addresses; transport udp or tcp
 *   user_agent      the first INVITE's User-Agent
 *   invite_time     first INVITE (RFC 3339 UTC with microseconds, as sip.h)
 *   ringing_time    first provisional response 180-189 (not 100) to it
 *   answer_time     first 2xx to the INVITE
 *   end_time        the BYE, the 487 (or CANCEL), the final failure, the
 *                   timeout's deadline, the message that evicted the call,
 *                   or, for eof, the last message's time
 *   duration        end_time - answer_time, seconds with 3 decimals
 *                   ("155.120", rounded to the nearest millisecond); empty
 *                   when not answered
 *   setup_delay     ringing_time (else answer_time, else end_time) -
 *                   invite_time, seconds with 3 decimals, rounded likewise
 *   final_status    final response code to the INVITE (empty when none)
 *   hangup_by       caller or callee (who sent the BYE: caller when its From
 *                   tag is the INVITE's), caller for a cancel, else empty
 *   end_reason      bye, cancel, rejected, timeout, evicted or eof
 *   caller_media_ip caller_media_port   the latest SDP the caller sent: of
 *                   the INVITE, of the ACK when the INVITE had none (RFC 3264
 *                   late offer), of its re-INVITEs and UPDATEs, of its 2xx
 *                   to the callee's
 *   callee_media_ip callee_media_port   the latest SDP the callee sent: of
 *                   a provisional response (early media, 183) or the 2xx,
 *                   then of later offers and answers as above
 *                   For both: c= 0.0.0.0 or :: (hold, RFC 3264 8.4) keeps the
 *                   address before it; the port is the first m= port not 0
 *   codecs          the latest answer's codecs (else the latest offer's), as
 *                   sip.h
 */
#ifndef CDRMIN_CALLS_H
#define CDRMIN_CALLS_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/record.h"

#define CM_CALL_FIELD_MAX 256

enum cm_call_field {
	CM_CALL_CALL_ID = 0, CM_CALL_CALLER, CM_CALL_CALLER_HOST, CM_CALL_CALLEE,
	CM_CALL_CALLEE_HOST, CM_CALL_PAI_USER, CM_CALL_SRC_IP, CM_CALL_DST_IP, CM_CALL_TRANSPORT,
	CM_CALL_USER_AGENT, CM_CALL_INVITE_TIME, CM_CALL_RINGING_TIME, CM_CALL_ANSWER_TIME,
	CM_CALL_END_TIME, CM_CALL_DURATION, CM_CALL_SETUP_DELAY, CM_CALL_FINAL_STATUS,
	CM_CALL_HANGUP_BY, CM_CALL_END_REASON, CM_CALL_CALLER_MEDIA_IP, CM_CALL_CALLER_MEDIA_PORT,
	CM_CALL_CALLEE_MEDIA_IP, CM_CALL_CALLEE_MEDIA_PORT, CM_CALL_CODECS,
	CM_CALL__COUNT
};

const char *cm_call_field_name(enum cm_call_field f);

/* Fills s (initialized, empty) with the field names in order. 0 or -1 (memory). */
int cm_call_schema(struct cm_schema *s);

struct cm_calls_opts {
	size_t max_calls;          /* default 100000; 0 is taken as 1, more than 2^30 as 2^30 */
	unsigned setup_timeout_ms; /* default 300000 (5 min) */
	unsigned call_timeout_ms;  /* default 14400000 (4 h) */
};

struct cm_calls_stats {
	uint64_t messages;   /* per-message records seen */
	uint64_t not_calls;  /* messages of no call (REGISTER, OPTIONS, a Call-ID no INVITE opened) */
	uint64_t calls;      /* call records written, by end: */
	uint64_t bye, cancel, rejected, timeout, evicted, eof;
};

void cm_calls_opts_default(struct cm_calls_opts *o);

/*
 * Called for each finished call: rec has CM_CALL__COUNT text fields, valid
 * only during the call (line and offset 0, type and raw NULL). Returns 0 to
 * go on, non-zero to stop (returned by the caller of fn).
 */
typedef int (*cm_call_fn)(void *ud, const struct cm_record *rec);

struct cm_calls;

/* o NULL: the defaults. NULL when memory is short. */
struct cm_calls *cm_calls_new(const struct cm_calls_opts *o);
void cm_calls_free(struct cm_calls *c);

/*
 * One per-message record of sip.h (CM_SIP__COUNT fields; fields past
 * sip->n are taken as empty), captured at sec.usec (non-decreasing, as a
 * capture gives them; an earlier time is taken as equal to the last; usec
 * past 999999 carries into sec; sec is held within 1970 to 9999). First
 * ends the calls whose deadlines have passed (earliest first), then applies
 * the message; calls fn for each call that ends, after counting it.
 * Returns 0, fn's non-zero value, or -1 when memory is short. When fn
 * returns non-zero, the work stops there: the call fn was given has ended,
 * the rest is as it was (the message is not applied when the stop came
 * while ending timed-out or evicted calls); c stays usable.
 */
int cm_calls_message(struct cm_calls *c, const struct cm_record *sip, int64_t sec, uint32_t usec,
		     cm_call_fn fn, void *ud);

/*
 * End of input: every open call ends (eof), the one that started first
 * first. Returns as cm_calls_message; after a stop, calling it again goes
 * on. c stays usable: more messages may follow (a new capture file).
 */
int cm_calls_finish(struct cm_calls *c, cm_call_fn fn, void *ud);

const struct cm_calls_stats *cm_calls_stats(const struct cm_calls *c);

#endif
