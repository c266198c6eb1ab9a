/*
 * \summary: libFuzzer target for the call assembler (calls.h).
 *
 * The input drives a sequence of synthetic per-message records, three
 * bytes each, for a few Call-IDs (one longer than CM_CALL_FIELD_MAX, so
 * that cuts and hashing of the whole value are exercised): the first byte
 * picks the Call-ID and the message (INVITE with or without To tag, ACK,
 * BYE, CANCEL, UPDATE, OPTIONS, REGISTER, responses 100 to 603), the second
 * the time step (0 to 400 s, or back in time), the CSeq and the SDP, the
 * third who sends it, the other party's tag (of two forks, none, or of no
 * dialog of the call) and the method a response answers (INVITE, UPDATE,
 * CANCEL, BYE). Some values of the first byte instead
 * call cm_calls_finish, or make the callback stop at the next record. The
 * first bytes set max_calls (1 to 4) and the timeouts (0 to 5 min).
 *
 * Aborts when: a record is malformed (field count, a field longer than
 * CM_CALL_FIELD_MAX, an end_reason, hangup_by or final_status outside its
 * set, a time not RFC 3339 with microseconds, times out of order, a
 * duration without an answer or the other way round); a stop value is not
 * returned; the stats do not add up (calls == bye + cancel + rejected +
 * timeout + evicted + eof, messages, records seen); or a cm_calls_finish
 * writes more than max_calls eof records (more calls open than allowed),
 * two of the same Call-ID, or not oldest first.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/calls.h"
#include "cdrmin/record.h"
#include "cdrmin/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STOP_VALUE 42
#define N_IDS 5
#define LONG_ID_LEN 300
#define TIME_LEN 27 /* 2026-11-22T14:00:00.123456Z */

struct run {
	uint64_t records;
	int stop_next;       /* the next record's callback returns STOP_VALUE */
	int stopped;         /* it did, since the last cm_calls_* call */
	int in_finish;
	size_t eof_seen;     /* eof records of the current cm_calls_finish */
	char eof_ids[N_IDS + 8][CM_CALL_FIELD_MAX];
	size_t eof_id_len[N_IDS + 8];
	char last_invite[TIME_LEN];
	size_t max_calls;
};

static char long_id[LONG_ID_LEN + 1];
static const char *const ids[N_IDS] = { "a@192.0.2.1", "b", "c", "d", long_id };

static int is_time(struct cm_slice s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t i;

	if (s.n != TIME_LEN)
		return 0;
	for (i = 0; i < TIME_LEN; i++) {
		if (shape[i] == 'd' ? (s.p[i] < '0' || s.p[i] > '9') : s.p[i] != shape[i])
			return 0;
	}
	return 1;
}

/* a <= b for two times of the same shape (fixed width: byte order is time order). */
static int time_le(struct cm_slice a, struct cm_slice b)
{
	return memcmp(a.p, b.p, TIME_LEN) <= 0;
}

/* "ddd.ddd" and friends: seconds with 3 decimals. */
static int is_span(struct cm_slice s)
{
	size_t i;

	if (s.n < 5 || s.p[s.n - 4] != '.')
		return 0;
	for (i = 0; i < s.n; i++)
		if (i != s.n - 4 && (s.p[i] < '0' || s.p[i] > '9'))
			return 0;
	return 1;
}

#define IS(s, lit) cm_slice_eq((s), (lit), sizeof(lit) - 1)

static int on_call(void *ud, const struct cm_record *rec)
{
	struct run *r = ud;
	const struct cm_slice *f = rec->f;
	struct cm_slice why, by, st;
	size_t i;

	if (rec->n != CM_CALL__COUNT || rec->line || rec->offset || rec->type || rec->raw)
		abort();
	for (i = 0; i < CM_CALL__COUNT; i++)
		if (f[i].n > CM_CALL_FIELD_MAX || (f[i].n && !f[i].p))
			abort();
	why = f[CM_CALL_END_REASON];
	by = f[CM_CALL_HANGUP_BY];
	st = f[CM_CALL_FINAL_STATUS];
	if (!IS(why, "bye") && !IS(why, "cancel") && !IS(why, "rejected") && !IS(why, "timeout") &&
	    !IS(why, "evicted") && !IS(why, "eof"))
		abort();
	if (!(by.n == 0 || IS(by, "caller") || IS(by, "callee")))
		abort();
	if ((IS(why, "bye") && by.n == 0) || (IS(why, "cancel") && !IS(by, "caller")))
		abort();
	if (st.n != 0 && (st.n != 3 || st.p[0] < '1' || st.p[0] > '6'))
		abort();
	if (IS(why, "rejected") && (st.n == 0 || st.p[0] < '3'))
		abort();
	if (f[CM_CALL_CALL_ID].n == 0)
		abort();
	if (!is_time(f[CM_CALL_INVITE_TIME]) || !is_time(f[CM_CALL_END_TIME]))
		abort();
	if (!time_le(f[CM_CALL_INVITE_TIME], f[CM_CALL_END_TIME]) || !is_span(f[CM_CALL_SETUP_DELAY]))
		abort();
	if (f[CM_CALL_RINGING_TIME].n &&
	    (!is_time(f[CM_CALL_RINGING_TIME]) || !time_le(f[CM_CALL_INVITE_TIME], f[CM_CALL_RINGING_TIME])))
		abort();
	if (f[CM_CALL_ANSWER_TIME].n) {
		if (!is_time(f[CM_CALL_ANSWER_TIME]) || !is_span(f[CM_CALL_DURATION]) ||
		    !time_le(f[CM_CALL_INVITE_TIME], f[CM_CALL_ANSWER_TIME]) ||
		    !time_le(f[CM_CALL_ANSWER_TIME], f[CM_CALL_END_TIME]))
			abort();
	} else if (f[CM_CALL_DURATION].n) {
		abort();
	}
	if (r->in_finish) {
		/* Every open call once, oldest first, and never more than max_calls of them. */
		if (!IS(why, "eof") || r->eof_seen >= r->max_calls)
			abort();
		for (i = 0; i < r->eof_seen; i++)
			if (r->eof_id_len[i] == f[CM_CALL_CALL_ID].n &&
			    memcmp(r->eof_ids[i], f[CM_CALL_CALL_ID].p, f[CM_CALL_CALL_ID].n) == 0)
				abort();
		if (r->eof_seen && memcmp(r->last_invite, f[CM_CALL_INVITE_TIME].p, TIME_LEN) > 0)
			abort();
		memcpy(r->eof_ids[r->eof_seen], f[CM_CALL_CALL_ID].p, f[CM_CALL_CALL_ID].n);
		r->eof_id_len[r->eof_seen] = f[CM_CALL_CALL_ID].n;
		memcpy(r->last_invite, f[CM_CALL_INVITE_TIME].p, TIME_LEN);
		r->eof_seen++;
	} else if (IS(why, "eof")) {
		abort();
	}
	r->records++;
	if (r->stop_next) {
		r->stop_next = 0;
		r->stopped = 1;
		return STOP_VALUE;
	}
	return 0;
}

static void check_stats(const struct cm_calls *c, const struct run *r, uint64_t messages)
{
	const struct cm_calls_stats *s = cm_calls_stats(c);

	if (s->messages != messages || s->not_calls > s->messages || s->calls != r->records)
		abort();
	if (s->calls != s->bye + s->cancel + s->rejected + s->timeout + s->evicted + s->eof)
		abort();
}

/* Runs cm_calls_finish and checks what it wrote; again after a stop, until done. */
static void finish(struct cm_calls *c, struct run *r)
{
	int rc;

	r->in_finish = 1;
	r->eof_seen = 0;
	do {
		r->stopped = 0;
		rc = cm_calls_finish(c, on_call, r);
		if (rc != (r->stopped ? STOP_VALUE : 0))
			abort();
	} while (rc);
	r->in_finish = 0;
}

static void put(struct cm_slice *f, enum cm_sip_field i, const char *v)
{
	f[i].p = v;
	f[i].n = strlen(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const tags[] = { "tt1", "tt2", "", "zz" };
	static const char *const answered[] = { "INVITE", "INVITE", "UPDATE", "CANCEL", "BYE", "INVITE", "PRACK", "INVITE" };
	static const char *const cseqs[] = { "1", "2", "3", "x" };
	static const char *const sdp_ips[] = { "192.0.2.10", "0.0.0.0", "::", "192.0.2.20" };
	static const char *const sdp_ports[] = { "49170", "0", "0,5004", "" };
	static const int64_t steps_us[] = { 0, 1, 500000, 1000000, 10000000, 40000000, 400000000, -5000000 };
	static const unsigned timeouts[] = { 0, 1000, 40000, 300000 };
	static const char *const statuses[] = {
		"100", "180", "183", "200", "202", "302", "401", "407", "422", "486", "487", "603", "999", "",
	};
	struct cm_calls_opts o;
	struct cm_calls *c;
	struct run r;
	struct cm_slice f[CM_SIP__COUNT];
	struct cm_record rec;
	uint64_t messages = 0;
	int64_t t = 1795356000LL * 1000000; /* 2026-11-22T14:00:00Z */
	size_t at, i;

	if (!long_id[0]) {
		memset(long_id, 'L', LONG_ID_LEN);
		long_id[LONG_ID_LEN - 1] = 'z';
	}
	if (size < 2)
		return 0;
	cm_calls_opts_default(&o);
	o.max_calls = 1 + (data[0] & 3);
	o.setup_timeout_ms = timeouts[(data[0] >> 2) & 3];
	o.call_timeout_ms = timeouts[(data[0] >> 4) & 3];
	c = cm_calls_new(&o);
	if (!c)
		abort();
	memset(&r, 0, sizeof r);
	r.max_calls = o.max_calls;
	memset(&rec, 0, sizeof rec);
	rec.f = f;
	rec.n = CM_SIP__COUNT;

	for (at = 1; at + 2 < size; at += 3) {
		unsigned a = data[at], b = data[at + 1], d = data[at + 2];
		unsigned kind = a % 24;
		const char *id = ids[(a / 24) % N_IDS];
		const char *party = tags[d & 3];
		/* ft9: not the caller of a call that ft1 opened; "": a caller without tag */
		const char *mine = (d & 8) ? ((d & 0x80) ? "" : "ft9") : "ft1";
		int caller_sends = !(d & 4);
		int rc;

		if (kind == 22) {
			finish(c, &r);
			check_stats(c, &r, messages);
			continue;
		}
		if (kind == 23) {
			r.stop_next = 1;
			continue;
		}
		for (i = 0; i < CM_SIP__COUNT; i++) {
			f[i].p = "";
			f[i].n = 0;
		}
		put(f, CM_SIP_CALL_ID, id);
		put(f, CM_SIP_CSEQ, cseqs[(b >> 3) & 3]);
		put(f, CM_SIP_FROM_USER, "+15550100");
		put(f, CM_SIP_RURI_USER, "+15550101");
		put(f, CM_SIP_SRC_IP, "192.0.2.10");
		put(f, CM_SIP_TRANSPORT, "udp");
		put(f, CM_SIP_FROM_TAG, caller_sends ? mine : party);
		put(f, CM_SIP_TO_TAG, caller_sends ? party : mine);
		if (b & 0x80) {
			put(f, CM_SIP_SDP_C_IP, sdp_ips[(b >> 3) & 3]);
			put(f, CM_SIP_SDP_MEDIA_PORTS, sdp_ports[(b >> 5) & 3]);
			put(f, CM_SIP_SDP_CODECS, (b & 1) ? "PCMU,PCMA" : "G729");
		}
		switch (kind) {
		case 0: case 1: /* initial INVITE */
			put(f, CM_SIP_METHOD, "INVITE");
			put(f, CM_SIP_CSEQ_METHOD, "INVITE");
			put(f, CM_SIP_FROM_TAG, mine);
			put(f, CM_SIP_TO_TAG, "");
			break;
		case 2: put(f, CM_SIP_METHOD, "INVITE"); put(f, CM_SIP_CSEQ_METHOD, "INVITE"); break;
		case 3: put(f, CM_SIP_METHOD, "ACK"); put(f, CM_SIP_CSEQ_METHOD, "ACK"); break;
		case 4: case 5: put(f, CM_SIP_METHOD, "BYE"); put(f, CM_SIP_CSEQ_METHOD, "BYE"); break;
		case 6:
			put(f, CM_SIP_METHOD, "CANCEL");
			put(f, CM_SIP_CSEQ_METHOD, "CANCEL");
			put(f, CM_SIP_TO_TAG, "");
			break;
		case 7: put(f, CM_SIP_METHOD, "UPDATE"); put(f, CM_SIP_CSEQ_METHOD, "UPDATE"); break;
		case 8:
			put(f, CM_SIP_METHOD, (b & 1) ? "OPTIONS" : "REGISTER");
			put(f, CM_SIP_CSEQ_METHOD, (b & 1) ? "OPTIONS" : "REGISTER");
			break;
		default: /* 9..21: a response */
			put(f, CM_SIP_STATUS, statuses[kind - 9]);
			put(f, CM_SIP_CSEQ_METHOD, answered[(d >> 4) & 7]);
			if (statuses[kind - 9][0] == '1' && (b & 2))
				put(f, CM_SIP_TO_TAG, "");
			break;
		}
		t += steps_us[b & 7];
		if (t < 0)
			t = 0;
		messages++;
		r.stopped = 0;
		rc = cm_calls_message(c, &rec, t / 1000000, (uint32_t)(t % 1000000), on_call, &r);
		if (rc != (r.stopped ? STOP_VALUE : 0))
			abort();
		check_stats(c, &r, messages);
	}
	r.stop_next = 0;
	finish(c, &r);
	check_stats(c, &r, messages);
	/* Nothing is left open. */
	r.in_finish = 1;
	r.eof_seen = 0;
	if (cm_calls_finish(c, on_call, &r) != 0 || r.eof_seen != 0)
		abort();
	cm_calls_free(c);
	return 0;
}
