/*
 * Unit tests of the call assembler (src/calls.c).
 *
 * The per-message records are made by hand (struct msg: the few sip.h
 * fields a test sets, the rest empty) for one caller, tag "ft1", calling
 * one callee, tag "tt1", and fed at capture times counted from T0
 * (2026-11-22T14:00:00Z). Every record the assembler writes is copied into
 * a struct got, so that tests compare fields by name after the fact.
 * Numbers and addresses are synthetic (+1 555 01xx, 192.0.2.0/24).
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/calls.h"
#include "cdrmin/record.h"
#include "cdrmin/sip.h"

TestSuite(calls);

#define T0 1795356000LL /* 2026-11-22T14:00:00Z */

struct msg {
	const char *method, *status, *call_id, *cseq, *cseq_method;
	const char *from_user, *from_host, *from_tag, *to_user, *to_host, *to_tag;
	const char *ruri_user, *ruri_host, *pai_user, *user_agent;
	const char *src_ip, *dst_ip, *transport;
	const char *sdp_ip, *sdp_ports, *sdp_codecs;
};

#define MAX_GOT 64

/* The records written so far, each field a NUL-terminated copy. */
struct got {
	size_t n;
	char *f[MAX_GOT][CM_CALL__COUNT];
	int stop_at; /* return 7 from the callback for record number stop_at (1-based), 0: never */
	uint64_t count, by_reason_eof;
};

static int collect(void *ud, const struct cm_record *rec)
{
	struct got *g = ud;
	size_t i;

	cr_assert_eq(rec->n, CM_CALL__COUNT);
	cr_assert(rec->line == 0 && rec->offset == 0 && !rec->type && !rec->raw);
	cr_assert_lt(g->n, MAX_GOT);
	for (i = 0; i < CM_CALL__COUNT; i++) {
		cr_assert_leq(rec->f[i].n, CM_CALL_FIELD_MAX);
		g->f[g->n][i] = strndup(rec->f[i].p, rec->f[i].n);
		cr_assert_not_null(g->f[g->n][i]);
	}
	g->n++;
	return g->stop_at && g->n == (size_t)g->stop_at ? 7 : 0;
}

/* For runs with many records: counts them and the eof ones only. */
static int count_only(void *ud, const struct cm_record *rec)
{
	struct got *g = ud;

	g->count++;
	if (cm_slice_eq(rec->f[CM_CALL_END_REASON], "eof", 3))
		g->by_reason_eof++;
	return 0;
}

static void got_free(struct got *g)
{
	size_t r, i;

	for (r = 0; r < g->n; r++)
		for (i = 0; i < CM_CALL__COUNT; i++)
			free(g->f[r][i]);
	g->n = 0;
}

/* Field f of record r, which must exist. */
static const char *F(const struct got *g, size_t r, enum cm_call_field f)
{
	cr_assert_lt(r, g->n, "no record %zu (%zu written)", r, g->n);
	return g->f[r][f];
}

#define EXPECT(g, r, field, want) cr_expect_str_eq(F((g), (r), (field)), (want), "record %zu %s", (size_t)(r), cm_call_field_name(field))

static void set(struct cm_slice *f, enum cm_sip_field i, const char *v)
{
	if (v) {
		f[i].p = v;
		f[i].n = strlen(v);
	}
}

/* Feeds m captured at T0 + sec + usec/1e6; returns cm_calls_message's value. */
static int feed_rc(struct cm_calls *c, struct got *g, int64_t sec, uint32_t usec, const struct msg *m)
{
	struct cm_slice f[CM_SIP__COUNT];
	struct cm_record rec;
	size_t i;

	for (i = 0; i < CM_SIP__COUNT; i++) {
		f[i].p = "";
		f[i].n = 0;
	}
	set(f, CM_SIP_METHOD, m->method);
	set(f, CM_SIP_STATUS, m->status);
	set(f, CM_SIP_CALL_ID, m->call_id);
	set(f, CM_SIP_CSEQ, m->cseq);
	set(f, CM_SIP_CSEQ_METHOD, m->cseq_method);
	set(f, CM_SIP_FROM_USER, m->from_user);
	set(f, CM_SIP_FROM_HOST, m->from_host);
	set(f, CM_SIP_FROM_TAG, m->from_tag);
	set(f, CM_SIP_TO_USER, m->to_user);
	set(f, CM_SIP_TO_HOST, m->to_host);
	set(f, CM_SIP_TO_TAG, m->to_tag);
	set(f, CM_SIP_RURI_USER, m->ruri_user);
	set(f, CM_SIP_RURI_HOST, m->ruri_host);
	set(f, CM_SIP_PAI_USER, m->pai_user);
	set(f, CM_SIP_USER_AGENT, m->user_agent);
	set(f, CM_SIP_SRC_IP, m->src_ip);
	set(f, CM_SIP_DST_IP, m->dst_ip);
	set(f, CM_SIP_TRANSPORT, m->transport);
	set(f, CM_SIP_SDP_C_IP, m->sdp_ip);
	set(f, CM_SIP_SDP_MEDIA_PORTS, m->sdp_ports);
	set(f, CM_SIP_SDP_CODECS, m->sdp_codecs);
	memset(&rec, 0, sizeof rec);
	rec.f = f;
	rec.n = CM_SIP__COUNT;
	return cm_calls_message(c, &rec, T0 + sec, usec, collect, g);
}

static void feed(struct cm_calls *c, struct got *g, int64_t sec, uint32_t usec, const struct msg *m)
{
	cr_assert_eq(feed_rc(c, g, sec, usec, m), 0);
}

/* The initial INVITE of call id, with the caller's SDP offer. */
static struct msg invite(const char *id)
{
	struct msg m = {
		.method = "INVITE", .call_id = id, .cseq = "1", .cseq_method = "INVITE",
		.from_user = "+15550100", .from_host = "192.0.2.1", .from_tag = "ft1",
		.to_user = "+15550101", .to_host = "192.0.2.2", .ruri_user = "+15550101",
		.ruri_host = "192.0.2.20", .pai_user = "+15550100", .user_agent = "SIPp",
		.src_ip = "192.0.2.10", .dst_ip = "192.0.2.20", .transport = "udp",
		.sdp_ip = "192.0.2.10", .sdp_ports = "49170", .sdp_codecs = "PCMU,PCMA,telephone-event",
	};
	return m;
}

/* A response of the callee to the initial INVITE (to_tag NULL for a 100). */
static struct msg reply(const char *id, const char *status, const char *to_tag)
{
	struct msg m = {
		.status = status, .call_id = id, .cseq = "1", .cseq_method = "INVITE",
		.from_user = "+15550100", .from_tag = "ft1", .to_user = "+15550101", .to_tag = to_tag,
		.src_ip = "192.0.2.20", .dst_ip = "192.0.2.10", .transport = "udp",
	};
	return m;
}

/* The callee's answer SDP. */
static struct msg with_answer(struct msg m, const char *ip, const char *port)
{
	m.sdp_ip = ip;
	m.sdp_ports = port;
	m.sdp_codecs = "PCMU,telephone-event";
	return m;
}

/* An in-dialog request sent by the caller (by_caller) or the callee. */
static struct msg in_dialog(const char *id, const char *method, const char *cseq, int by_caller)
{
	struct msg m = {
		.method = method, .call_id = id, .cseq = cseq, .cseq_method = method,
		.from_tag = by_caller ? "ft1" : "tt1", .to_tag = by_caller ? "tt1" : "ft1",
	};
	return m;
}

static struct msg cancel(const char *id)
{
	struct msg m = {
		.method = "CANCEL", .call_id = id, .cseq = "1", .cseq_method = "CANCEL", .from_tag = "ft1",
	};
	return m;
}

static struct cm_calls *new_calls(size_t max_calls, unsigned setup_ms, unsigned call_ms)
{
	struct cm_calls_opts o;
	struct cm_calls *c;

	cm_calls_opts_default(&o);
	if (max_calls)
		o.max_calls = max_calls;
	if (setup_ms)
		o.setup_timeout_ms = setup_ms;
	if (call_ms)
		o.call_timeout_ms = call_ms;
	c = cm_calls_new(&o);
	cr_assert_not_null(c);
	return c;
}

/* The stats add up, and match what the test expects. */
static void check_stats(const struct cm_calls *c, uint64_t messages, uint64_t not_calls)
{
	const struct cm_calls_stats *s = cm_calls_stats(c);

	cr_expect_eq(s->messages, messages, "messages %llu", (unsigned long long)s->messages);
	cr_expect_eq(s->not_calls, not_calls, "not_calls %llu", (unsigned long long)s->not_calls);
	cr_expect_eq(s->calls, s->bye + s->cancel + s->rejected + s->timeout + s->evicted + s->eof);
}

/* A whole answered call: INVITE, 100, 180, 200 with SDP, ACK at the times given. */
static void answered(struct cm_calls *c, struct got *g, const char *id, int64_t at)
{
	struct msg m;

	m = invite(id);
	feed(c, g, at, 0, &m);
	m = reply(id, "100", NULL);
	feed(c, g, at, 20000, &m);
	m = reply(id, "180", "tt1");
	feed(c, g, at + 1, 500000, &m);
	m = with_answer(reply(id, "200", "tt1"), "192.0.2.20", "30000");
	feed(c, g, at + 5, 0, &m);
	m = in_dialog(id, "ACK", "1", 1);
	feed(c, g, at + 5, 10000, &m);
}

Test(calls, schema_and_names)
{
	struct cm_schema s;

	cm_schema_init(&s);
	cr_assert_eq(cm_call_schema(&s), 0);
	cr_assert_eq(s.n, CM_CALL__COUNT);
	cr_expect_str_eq(s.names[CM_CALL_CALL_ID], "call_id");
	cr_expect_str_eq(s.names[CM_CALL_SETUP_DELAY], "setup_delay");
	cr_expect_str_eq(s.names[CM_CALL_CODECS], "codecs");
	cr_expect_str_eq(cm_call_field_name(CM_CALL_CALLEE_MEDIA_PORT), "callee_media_port");
	cr_expect_str_eq(cm_call_field_name(CM_CALL__COUNT), "unknown");
	cm_schema_deinit(&s);
}

Test(calls, answered_bye_from_caller)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	answered(c, &g, "c1@192.0.2.10", 0);
	cr_assert_eq(g.n, 0);
	m = in_dialog("c1@192.0.2.10", "BYE", "2", 1);
	feed(c, &g, 160, 120000, &m);
	cr_assert_eq(g.n, 1, "the call is written at the BYE, not at its 200");
	EXPECT(&g, 0, CM_CALL_CALL_ID, "c1@192.0.2.10");
	EXPECT(&g, 0, CM_CALL_CALLER, "+15550100");
	EXPECT(&g, 0, CM_CALL_CALLER_HOST, "192.0.2.1");
	EXPECT(&g, 0, CM_CALL_CALLEE, "+15550101");
	EXPECT(&g, 0, CM_CALL_CALLEE_HOST, "192.0.2.20");
	EXPECT(&g, 0, CM_CALL_PAI_USER, "+15550100");
	EXPECT(&g, 0, CM_CALL_SRC_IP, "192.0.2.10");
	EXPECT(&g, 0, CM_CALL_DST_IP, "192.0.2.20");
	EXPECT(&g, 0, CM_CALL_TRANSPORT, "udp");
	EXPECT(&g, 0, CM_CALL_USER_AGENT, "SIPp");
	EXPECT(&g, 0, CM_CALL_INVITE_TIME, "2026-11-22T14:00:00.000000Z");
	EXPECT(&g, 0, CM_CALL_RINGING_TIME, "2026-11-22T14:00:01.500000Z");
	EXPECT(&g, 0, CM_CALL_ANSWER_TIME, "2026-11-22T14:00:05.000000Z");
	EXPECT(&g, 0, CM_CALL_END_TIME, "2026-11-22T14:02:40.120000Z");
	EXPECT(&g, 0, CM_CALL_DURATION, "155.120");
	EXPECT(&g, 0, CM_CALL_SETUP_DELAY, "1.500");
	EXPECT(&g, 0, CM_CALL_FINAL_STATUS, "200");
	EXPECT(&g, 0, CM_CALL_HANGUP_BY, "caller");
	EXPECT(&g, 0, CM_CALL_END_REASON, "bye");
	EXPECT(&g, 0, CM_CALL_CALLER_MEDIA_IP, "192.0.2.10");
	EXPECT(&g, 0, CM_CALL_CALLER_MEDIA_PORT, "49170");
	EXPECT(&g, 0, CM_CALL_CALLEE_MEDIA_IP, "192.0.2.20");
	EXPECT(&g, 0, CM_CALL_CALLEE_MEDIA_PORT, "30000");
	EXPECT(&g, 0, CM_CALL_CODECS, "PCMU,telephone-event");
	/* The 200 to the BYE is the call's: not counted as not a call. */
	m = in_dialog("c1@192.0.2.10", NULL, "2", 1);
	m.status = "200";
	m.cseq_method = "BYE";
	feed(c, &g, 160, 130000, &m);
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 1);
	check_stats(c, 7, 0);
	cr_expect_eq(cm_calls_stats(c)->bye, 1);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, answered_bye_from_callee)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	answered(c, &g, "c2", 100);
	/* The callee's CSeq space is its own: 1 again is a new request, not the INVITE. */
	m = in_dialog("c2", "BYE", "1", 0);
	feed(c, &g, 130, 0, &m);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_HANGUP_BY, "callee");
	EXPECT(&g, 0, CM_CALL_END_REASON, "bye");
	EXPECT(&g, 0, CM_CALL_DURATION, "25.000");
	/* Its retransmission changes nothing. */
	feed(c, &g, 130, 500000, &m);
	cr_assert_eq(g.n, 1);
	check_stats(c, 7, 0);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, busy)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	m = invite("busy");
	feed(c, &g, 0, 0, &m);
	m = reply("busy", "100", NULL);
	feed(c, &g, 0, 10000, &m);
	m = reply("busy", "486", "tt1");
	feed(c, &g, 2, 250000, &m);
	cr_assert_eq(g.n, 1, "written at the final response");
	EXPECT(&g, 0, CM_CALL_END_REASON, "rejected");
	EXPECT(&g, 0, CM_CALL_FINAL_STATUS, "486");
	EXPECT(&g, 0, CM_CALL_HANGUP_BY, "");
	EXPECT(&g, 0, CM_CALL_RINGING_TIME, "");
	EXPECT(&g, 0, CM_CALL_ANSWER_TIME, "");
	EXPECT(&g, 0, CM_CALL_END_TIME, "2026-11-22T14:00:02.250000Z");
	EXPECT(&g, 0, CM_CALL_DURATION, "");
	EXPECT(&g, 0, CM_CALL_SETUP_DELAY, "2.250");
	EXPECT(&g, 0, CM_CALL_CALLEE_MEDIA_IP, "");
	EXPECT(&g, 0, CM_CALL_CODECS, "PCMU,PCMA,telephone-event");
	/* The ACK of the 486 and a retransmitted 486 belong to the ended call. */
	m = in_dialog("busy", "ACK", "1", 1);
	feed(c, &g, 2, 260000, &m);
	m = reply("busy", "486", "tt1");
	feed(c, &g, 2, 750000, &m);
	cr_assert_eq(g.n, 1);
	check_stats(c, 5, 0);
	cr_expect_eq(cm_calls_stats(c)->rejected, 1);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, no_answer_then_cancel)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	m = invite("cx");
	feed(c, &g, 0, 0, &m);
	m = reply("cx", "180", "tt1");
	feed(c, &g, 0, 400000, &m);
	m = cancel("cx");
	feed(c, &g, 20, 0, &m);
	m = cancel("cx"); /* retransmitted */
	feed(c, &g, 20, 500000, &m);
	m = reply("cx", "200", "tt1");
	m.cseq_method = "CANCEL";
	feed(c, &g, 20, 600000, &m);
	cr_assert_eq(g.n, 0, "the 487 ends it, not the CANCEL");
	m = reply("cx", "487", "tt1");
	feed(c, &g, 20, 700000, &m);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_END_REASON, "cancel");
	EXPECT(&g, 0, CM_CALL_HANGUP_BY, "caller");
	EXPECT(&g, 0, CM_CALL_FINAL_STATUS, "487");
	EXPECT(&g, 0, CM_CALL_END_TIME, "2026-11-22T14:00:20.700000Z");
	EXPECT(&g, 0, CM_CALL_SETUP_DELAY, "0.400");
	EXPECT(&g, 0, CM_CALL_DURATION, "");
	m = in_dialog("cx", "ACK", "1", 1);
	feed(c, &g, 20, 710000, &m);
	check_stats(c, 7, 0);
	cr_expect_eq(cm_calls_stats(c)->cancel, 1);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, cancel_without_487_and_487_without_cancel)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m, other = in_dialog("zz", "OPTIONS", "1", 1);

	/* The 487 was not captured: the CANCEL ends the call 32 s later, at its own time. */
	m = invite("lost487");
	feed(c, &g, 0, 0, &m);
	m = cancel("lost487");
	feed(c, &g, 3, 0, &m);
	feed(c, &g, 35, 0, &other);
	cr_assert_eq(g.n, 0, "32 s are not over yet");
	feed(c, &g, 35, 1, &other);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_END_REASON, "cancel");
	EXPECT(&g, 0, CM_CALL_HANGUP_BY, "caller");
	EXPECT(&g, 0, CM_CALL_END_TIME, "2026-11-22T14:00:03.000000Z");
	EXPECT(&g, 0, CM_CALL_FINAL_STATUS, "");
	/* The CANCEL was not captured: a 487 still means the caller gave up. */
	m = invite("lostcancel");
	feed(c, &g, 40, 0, &m);
	m = reply("lostcancel", "487", "tt1");
	feed(c, &g, 41, 0, &m);
	cr_assert_eq(g.n, 2);
	EXPECT(&g, 1, CM_CALL_END_REASON, "cancel");
	EXPECT(&g, 1, CM_CALL_FINAL_STATUS, "487");
	check_stats(c, 6, 2);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, retransmitted_invite_and_200)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	m = invite("rtx");
	feed(c, &g, 0, 0, &m);
	feed(c, &g, 0, 500000, &m);
	feed(c, &g, 1, 500000, &m);
	m = reply("rtx", "180", "tt1");
	feed(c, &g, 2, 0, &m);
	feed(c, &g, 3, 0, &m);
	m = with_answer(reply("rtx", "200", "tt1"), "192.0.2.20", "30000");
	feed(c, &g, 4, 0, &m);
	feed(c, &g, 4, 500000, &m);
	feed(c, &g, 5, 500000, &m);
	m = in_dialog("rtx", "ACK", "1", 1);
	feed(c, &g, 5, 600000, &m);
	m = in_dialog("rtx", "BYE", "2", 1);
	feed(c, &g, 10, 0, &m);
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 1, "one call");
	EXPECT(&g, 0, CM_CALL_INVITE_TIME, "2026-11-22T14:00:00.000000Z");
	EXPECT(&g, 0, CM_CALL_RINGING_TIME, "2026-11-22T14:00:02.000000Z");
	EXPECT(&g, 0, CM_CALL_ANSWER_TIME, "2026-11-22T14:00:04.000000Z");
	EXPECT(&g, 0, CM_CALL_DURATION, "6.000");
	EXPECT(&g, 0, CM_CALL_SETUP_DELAY, "2.000");
	check_stats(c, 10, 0);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, early_media_183_then_200)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	m = invite("em");
	feed(c, &g, 0, 0, &m);
	m = with_answer(reply("em", "183", "tt1"), "192.0.2.30", "40000");
	feed(c, &g, 0, 800000, &m);
	m = reply("em", "200", "tt1"); /* no SDP: the 183's stays */
	feed(c, &g, 3, 0, &m);
	m = in_dialog("em", "BYE", "2", 1);
	feed(c, &g, 4, 0, &m);
	/* Second call: the 2xx brings other SDP, which wins. */
	m = invite("em2");
	feed(c, &g, 10, 0, &m);
	m = with_answer(reply("em2", "183", "tt1"), "192.0.2.30", "40000");
	feed(c, &g, 10, 800000, &m);
	m = with_answer(reply("em2", "200", "tt1"), "192.0.2.31", "0,40002");
	feed(c, &g, 13, 0, &m);
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 2);
	EXPECT(&g, 0, CM_CALL_RINGING_TIME, "2026-11-22T14:00:00.800000Z");
	EXPECT(&g, 0, CM_CALL_SETUP_DELAY, "0.800");
	EXPECT(&g, 0, CM_CALL_CALLEE_MEDIA_IP, "192.0.2.30");
	EXPECT(&g, 0, CM_CALL_CALLEE_MEDIA_PORT, "40000");
	EXPECT(&g, 0, CM_CALL_CODECS, "PCMU,telephone-event");
	EXPECT(&g, 1, CM_CALL_CALLEE_MEDIA_IP, "192.0.2.31");
	EXPECT(&g, 1, CM_CALL_CALLEE_MEDIA_PORT, "40002"); /* a refused stream's port 0 is skipped */
	EXPECT(&g, 1, CM_CALL_END_REASON, "eof");
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, reinvite)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	answered(c, &g, "re", 0);
	/* Hold (RFC 3264 8.4, old style): c=0.0.0.0 is not where media goes. */
	m = in_dialog("re", "INVITE", "2", 1);
	m.sdp_ip = "0.0.0.0";
	m.sdp_ports = "49170";
	m.sdp_codecs = "PCMU";
	feed(c, &g, 30, 0, &m);
	/* The caller moves its media, the callee answers from elsewhere too. */
	m = in_dialog("re", "INVITE", "3", 1);
	m.sdp_ip = "192.0.2.11";
	m.sdp_ports = "49180";
	m.sdp_codecs = "PCMA";
	feed(c, &g, 60, 0, &m);
	feed(c, &g, 60, 500000, &m); /* retransmitted */
	m = with_answer(in_dialog("re", NULL, "3", 1), "192.0.2.21", "30010");
	m.status = "200";
	m.cseq_method = "INVITE";
	m.sdp_codecs = "PCMA";
	feed(c, &g, 61, 0, &m);
	m = in_dialog("re", "ACK", "3", 1);
	feed(c, &g, 61, 10000, &m);
	cr_assert_eq(g.n, 0, "a re-INVITE opens and ends nothing");
	m = in_dialog("re", "BYE", "4", 1);
	feed(c, &g, 90, 0, &m);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_CALLER_MEDIA_IP, "192.0.2.11");
	EXPECT(&g, 0, CM_CALL_CALLER_MEDIA_PORT, "49180");
	EXPECT(&g, 0, CM_CALL_CALLEE_MEDIA_IP, "192.0.2.21");
	EXPECT(&g, 0, CM_CALL_CALLEE_MEDIA_PORT, "30010");
	EXPECT(&g, 0, CM_CALL_CODECS, "PCMA");
	EXPECT(&g, 0, CM_CALL_ANSWER_TIME, "2026-11-22T14:00:05.000000Z");
	EXPECT(&g, 0, CM_CALL_DURATION, "85.000");
	check_stats(c, 11, 0);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, late_offer_answer_in_ack)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	m = invite("late");
	m.sdp_ip = m.sdp_ports = m.sdp_codecs = NULL;
	feed(c, &g, 0, 0, &m);
	m = with_answer(reply("late", "200", "tt1"), "192.0.2.20", "30000");
	m.sdp_codecs = "PCMU,PCMA,G729";
	feed(c, &g, 1, 0, &m);
	m = in_dialog("late", "ACK", "1", 1);
	m.sdp_ip = "192.0.2.10";
	m.sdp_ports = "49170";
	m.sdp_codecs = "G729";
	feed(c, &g, 1, 10000, &m);
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_CALLER_MEDIA_IP, "192.0.2.10");
	EXPECT(&g, 0, CM_CALL_CALLER_MEDIA_PORT, "49170");
	EXPECT(&g, 0, CM_CALL_CALLEE_MEDIA_IP, "192.0.2.20");
	EXPECT(&g, 0, CM_CALL_CODECS, "G729"); /* the answer's codecs, in the ACK */
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, not_calls)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	/* A BYE of a call that started before the capture, and its 200. */
	m = in_dialog("old", "BYE", "5", 1);
	feed(c, &g, 0, 0, &m);
	m.method = NULL;
	m.status = "200";
	feed(c, &g, 0, 1000, &m);
	/* A re-INVITE of such a call: not an initial INVITE (To tag). */
	m = in_dialog("old", "INVITE", "6", 1);
	feed(c, &g, 0, 2000, &m);
	m = in_dialog("reg", "REGISTER", "1", 1);
	m.to_tag = NULL;
	feed(c, &g, 1, 0, &m);
	m = reply("reg", "401", "x");
	m.cseq_method = "REGISTER";
	feed(c, &g, 1, 1000, &m);
	m = in_dialog("opt", "OPTIONS", "1", 1);
	m.to_tag = NULL;
	feed(c, &g, 2, 0, &m);
	m = invite("");
	feed(c, &g, 3, 0, &m); /* no Call-ID */
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 0);
	check_stats(c, 7, 7);
	cr_expect_eq(cm_calls_stats(c)->calls, 0);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, setup_timeout)
{
	struct cm_calls *c = new_calls(0, 0, 0); /* 5 min */
	struct got g = { 0 };
	struct msg m, other = in_dialog("zz", "OPTIONS", "1", 1);

	m = invite("st");
	feed(c, &g, 0, 250000, &m);
	m = reply("st", "100", NULL);
	feed(c, &g, 0, 300000, &m);
	feed(c, &g, 300, 250000, &other);
	cr_assert_eq(g.n, 0, "within setup_timeout_ms");
	feed(c, &g, 300, 250001, &other);
	cr_assert_eq(g.n, 1, "ended before the message that came after its deadline");
	EXPECT(&g, 0, CM_CALL_END_REASON, "timeout");
	EXPECT(&g, 0, CM_CALL_END_TIME, "2026-11-22T14:05:00.250000Z");
	EXPECT(&g, 0, CM_CALL_SETUP_DELAY, "300.000");
	EXPECT(&g, 0, CM_CALL_FINAL_STATUS, "");
	EXPECT(&g, 0, CM_CALL_HANGUP_BY, "");
	/* A late 200 finds no open call: it is the ended call's, not counted. */
	m = reply("st", "200", "tt1");
	feed(c, &g, 301, 0, &m);
	check_stats(c, 5, 2);
	cr_expect_eq(cm_calls_stats(c)->timeout, 1);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, call_timeout_after_answer)
{
	struct cm_calls *c = new_calls(0, 0, 60000); /* 1 min */
	struct got g = { 0 };
	struct msg other = in_dialog("zz", "OPTIONS", "1", 1);

	answered(c, &g, "ct", 0); /* answered at +5 s */
	feed(c, &g, 64, 0, &other);
	cr_assert_eq(g.n, 0);
	/* Two calls out at once: written in the order of their deadlines. */
	answered(c, &g, "ct2", 1000);
	answered(c, &g, "ct3", 1001);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_CALL_ID, "ct");
	EXPECT(&g, 0, CM_CALL_END_REASON, "timeout");
	EXPECT(&g, 0, CM_CALL_END_TIME, "2026-11-22T14:01:05.000000Z");
	EXPECT(&g, 0, CM_CALL_DURATION, "60.000");
	EXPECT(&g, 0, CM_CALL_FINAL_STATUS, "200");
	feed(c, &g, 5000, 0, &other);
	cr_assert_eq(g.n, 3);
	EXPECT(&g, 1, CM_CALL_CALL_ID, "ct2");
	EXPECT(&g, 2, CM_CALL_CALL_ID, "ct3");
	cr_expect_eq(cm_calls_stats(c)->timeout, 3);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, session_refresh_extends_call_timeout)
{
	struct cm_calls *c = new_calls(0, 0, 60000);
	struct got g = { 0 };
	struct msg m, other = in_dialog("zz", "OPTIONS", "1", 1);

	answered(c, &g, "sr", 0);
	m = in_dialog("sr", "UPDATE", "2", 0); /* RFC 4028 refresh by the callee */
	feed(c, &g, 50, 0, &m);
	feed(c, &g, 100, 0, &other);
	cr_assert_eq(g.n, 0, "refreshed at 50 s: open until 110 s");
	feed(c, &g, 111, 0, &other);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_END_TIME, "2026-11-22T14:01:50.000000Z");
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, eviction_oldest_first)
{
	struct cm_calls *c = new_calls(2, 0, 0);
	struct got g = { 0 };
	struct msg m;

	m = invite("e1");
	feed(c, &g, 0, 0, &m);
	m = invite("e2");
	feed(c, &g, 1, 0, &m);
	m = reply("e1", "180", "tt1"); /* activity does not make e1 younger: started first */
	feed(c, &g, 2, 0, &m);
	m = invite("e3");
	feed(c, &g, 3, 0, &m);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_CALL_ID, "e1");
	EXPECT(&g, 0, CM_CALL_END_REASON, "evicted");
	EXPECT(&g, 0, CM_CALL_END_TIME, "2026-11-22T14:00:03.000000Z");
	m = invite("e4");
	feed(c, &g, 4, 0, &m);
	cr_assert_eq(g.n, 2);
	EXPECT(&g, 1, CM_CALL_CALL_ID, "e2");
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 4);
	EXPECT(&g, 2, CM_CALL_CALL_ID, "e3");
	EXPECT(&g, 3, CM_CALL_CALL_ID, "e4");
	cr_expect_eq(cm_calls_stats(c)->evicted, 2);
	cr_expect_eq(cm_calls_stats(c)->eof, 2);
	check_stats(c, 5, 0);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, finish_oldest_first_eof)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	m = invite("f1");
	feed(c, &g, 0, 0, &m);
	answered(c, &g, "f2", 1);
	m = invite("f3");
	feed(c, &g, 9, 0, &m);
	m = reply("f1", "180", "tt1");
	feed(c, &g, 9, 500000, &m);
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 3);
	EXPECT(&g, 0, CM_CALL_CALL_ID, "f1");
	EXPECT(&g, 1, CM_CALL_CALL_ID, "f2");
	EXPECT(&g, 2, CM_CALL_CALL_ID, "f3");
	EXPECT(&g, 0, CM_CALL_END_REASON, "eof");
	EXPECT(&g, 1, CM_CALL_END_REASON, "eof");
	EXPECT(&g, 2, CM_CALL_END_REASON, "eof");
	/* end_time: the last message's */
	EXPECT(&g, 1, CM_CALL_END_TIME, "2026-11-22T14:00:09.500000Z");
	EXPECT(&g, 1, CM_CALL_DURATION, "3.500");
	EXPECT(&g, 0, CM_CALL_SETUP_DELAY, "9.500");
	/* Nothing is left open; the object takes more. */
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 3);
	m = invite("f4");
	feed(c, &g, 10, 0, &m);
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 4);
	cr_expect_eq(cm_calls_stats(c)->eof, 4);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, fields_cut)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;
	char id1[400], id2[400], user[300], ua[300];

	memset(id1, 'a', sizeof id1 - 1);
	id1[sizeof id1 - 1] = '\0';
	memcpy(id2, id1, sizeof id2);
	id2[390] = 'b'; /* differs past the cut: another call */
	memset(user, '7', sizeof user - 1);
	user[sizeof user - 1] = '\0';
	/* 255 ASCII bytes then "é" (2 bytes) across the cut at 256: cut before it. */
	memset(ua, 'x', 255);
	memcpy(ua + 255, "\xc3\xa9tail", 7);
	m = invite(id1);
	m.from_user = user;
	m.user_agent = ua;
	feed(c, &g, 0, 0, &m);
	m = invite(id2);
	feed(c, &g, 1, 0, &m);
	m = reply(id1, "486", "tt1");
	feed(c, &g, 2, 0, &m);
	cr_assert_eq(g.n, 1);
	cr_expect_eq(strlen(F(&g, 0, CM_CALL_CALL_ID)), CM_CALL_FIELD_MAX);
	cr_expect_eq(strncmp(F(&g, 0, CM_CALL_CALL_ID), id1, CM_CALL_FIELD_MAX), 0);
	cr_expect_eq(strlen(F(&g, 0, CM_CALL_CALLER)), CM_CALL_FIELD_MAX);
	cr_expect_eq(strlen(F(&g, 0, CM_CALL_USER_AGENT)), 255, "cut at a UTF-8 character boundary");
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 2);
	EXPECT(&g, 1, CM_CALL_END_REASON, "eof");
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, time_arithmetic_across_seconds)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	m = invite("ta");
	feed(c, &g, 59, 900000, &m);
	m = reply("ta", "180", "tt1");
	feed(c, &g, 60, 100000, &m);
	m = reply("ta", "200", "tt1");
	feed(c, &g, 61, 999500, &m);
	m = in_dialog("ta", "BYE", "2", 1);
	feed(c, &g, 3661, 0, &m); /* 1 h later */
	/* Rounded to the nearest millisecond, halves up. */
	m = invite("tb");
	feed(c, &g, 4000, 999999, &m);
	m = reply("tb", "200", "tt1");
	feed(c, &g, 4001, 0, &m);
	m = in_dialog("tb", "BYE", "2", 1);
	feed(c, &g, 4001, 999, &m);
	cr_assert_eq(g.n, 2);
	EXPECT(&g, 0, CM_CALL_INVITE_TIME, "2026-11-22T14:00:59.900000Z");
	EXPECT(&g, 0, CM_CALL_RINGING_TIME, "2026-11-22T14:01:00.100000Z");
	EXPECT(&g, 0, CM_CALL_END_TIME, "2026-11-22T15:01:01.000000Z");
	EXPECT(&g, 0, CM_CALL_SETUP_DELAY, "0.200");
	EXPECT(&g, 0, CM_CALL_DURATION, "3599.001"); /* 3599.0005 */
	EXPECT(&g, 1, CM_CALL_SETUP_DELAY, "0.000"); /* no ringing: answer - INVITE, 1 us */
	EXPECT(&g, 1, CM_CALL_DURATION, "0.001");    /* 999 us */
	/* An earlier time is taken as the last one; usec past a second carries. */
	m = invite("tc");
	feed(c, &g, 4002, 0, &m);
	m = reply("tc", "486", "tt1");
	feed(c, &g, 10, 0, &m);
	m = invite("td");
	feed(c, &g, 4002, 2500000, &m);
	m = reply("td", "486", "tt1");
	feed(c, &g, 4004, 600000, &m);
	cr_assert_eq(g.n, 4);
	EXPECT(&g, 2, CM_CALL_END_TIME, "2026-11-22T15:06:42.000000Z");
	EXPECT(&g, 3, CM_CALL_INVITE_TIME, "2026-11-22T15:06:44.500000Z");
	EXPECT(&g, 3, CM_CALL_SETUP_DELAY, "0.100");
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, time_format_edges)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct cm_slice f[CM_SIP__COUNT];
	struct cm_record rec;
	size_t i;
	static const struct {
		int64_t sec;
		const char *want;
	} cases[] = {
		{ 0, "1970-01-01T00:00:00.000000Z" },
		{ 951782400, "2000-02-29T00:00:00.000000Z" },
		{ 4107542399LL, "2100-02-28T23:59:59.000000Z" },
		{ 253402300799LL, "9999-12-31T23:59:59.000000Z" },
		{ INT64_MAX, "9999-12-31T23:59:59.999999Z" },
	};

	for (i = 0; i < CM_SIP__COUNT; i++) {
		f[i].p = "";
		f[i].n = 0;
	}
	memset(&rec, 0, sizeof rec);
	rec.f = f;
	rec.n = CM_SIP__COUNT;
	f[CM_SIP_METHOD].p = "INVITE";
	f[CM_SIP_METHOD].n = 6;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char id[16];

		snprintf(id, sizeof id, "t%zu", i);
		f[CM_SIP_CALL_ID].p = id;
		f[CM_SIP_CALL_ID].n = strlen(id);
		cr_assert_eq(cm_calls_message(c, &rec, cases[i].sec, 0, collect, &g), 0);
		cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
		EXPECT(&g, i, CM_CALL_INVITE_TIME, cases[i].want);
	}
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, auth_challenge_retry_is_one_call)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m, other = in_dialog("zz", "OPTIONS", "1", 1);

	m = invite("auth");
	feed(c, &g, 0, 0, &m);
	m = reply("auth", "407", "px");
	feed(c, &g, 0, 50000, &m);
	m = in_dialog("auth", "ACK", "1", 1);
	m.to_tag = "px";
	feed(c, &g, 0, 60000, &m);
	cr_assert_eq(g.n, 0, "a 407 waits for the INVITE with credentials");
	m = invite("auth");
	m.cseq = "2";
	feed(c, &g, 0, 100000, &m);
	m = reply("auth", "180", "tt1");
	m.cseq = "2";
	feed(c, &g, 1, 0, &m);
	m = reply("auth", "200", "tt1");
	m.cseq = "2";
	feed(c, &g, 2, 0, &m);
	m = in_dialog("auth", "BYE", "3", 1);
	feed(c, &g, 12, 0, &m);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_END_REASON, "bye");
	EXPECT(&g, 0, CM_CALL_FINAL_STATUS, "200");
	EXPECT(&g, 0, CM_CALL_INVITE_TIME, "2026-11-22T14:00:00.000000Z");
	EXPECT(&g, 0, CM_CALL_SETUP_DELAY, "1.000");
	/* A 401 nobody answers: rejected 32 s later, at the 401's time. */
	m = invite("auth2");
	feed(c, &g, 100, 0, &m);
	m = reply("auth2", "401", "px");
	feed(c, &g, 100, 20000, &m);
	feed(c, &g, 132, 20001, &other);
	cr_assert_eq(g.n, 2);
	EXPECT(&g, 1, CM_CALL_END_REASON, "rejected");
	EXPECT(&g, 1, CM_CALL_FINAL_STATUS, "401");
	EXPECT(&g, 1, CM_CALL_END_TIME, "2026-11-22T14:01:40.020000Z");
	check_stats(c, 10, 1);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, call_id_reused_after_end)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	m = invite("again");
	feed(c, &g, 0, 0, &m);
	m = reply("again", "486", "tt1");
	feed(c, &g, 1, 0, &m);
	/* The 486 was lost on the caller's side: its INVITE comes again, same CSeq. */
	m = invite("again");
	feed(c, &g, 1, 500000, &m);
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 1, "a retransmission of the ended call's INVITE");
	/* A new INVITE (higher CSeq) with the Call-ID: a new call. */
	m = invite("again");
	m.cseq = "2";
	feed(c, &g, 5, 0, &m);
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 2);
	EXPECT(&g, 1, CM_CALL_INVITE_TIME, "2026-11-22T14:00:05.000000Z");
	/* Long after the end, messages of the Call-ID are no call's. */
	m = in_dialog("again", "BYE", "3", 1);
	feed(c, &g, 100, 0, &m);
	check_stats(c, 5, 1);
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, bye_of_another_fork_ignored)
{
	struct cm_calls *c = new_calls(0, 0, 0);
	struct got g = { 0 };
	struct msg m;

	m = invite("fork");
	feed(c, &g, 0, 0, &m);
	m = reply("fork", "200", "tt1");
	feed(c, &g, 1, 0, &m);
	m = reply("fork", "200", "tt2"); /* a second fork answers too */
	feed(c, &g, 1, 100000, &m);
	m = in_dialog("fork", "BYE", "2", 1);
	m.to_tag = "tt2"; /* the caller hangs the extra dialog up (RFC 3261 13.2.2.4) */
	feed(c, &g, 1, 200000, &m);
	cr_assert_eq(g.n, 0);
	m = in_dialog("fork", "BYE", "3", 1);
	feed(c, &g, 9, 0, &m);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_END_TIME, "2026-11-22T14:00:09.000000Z");
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, callback_stop_propagated)
{
	struct cm_calls *c = new_calls(1, 1000, 0);
	struct got g = { 0 };
	struct msg m;

	g.stop_at = 1;
	m = invite("s1");
	feed(c, &g, 0, 0, &m);
	m = reply("s1", "486", "tt1");
	cr_assert_eq(feed_rc(c, &g, 0, 1, &m), 7, "from a final response");
	g.stop_at = 2;
	m = invite("s2");
	feed(c, &g, 1, 0, &m);
	m = invite("s3");
	cr_assert_eq(feed_rc(c, &g, 1, 1, &m), 7, "from an eviction: s3 is not opened");
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 2);
	g.stop_at = 3;
	m = invite("s4");
	feed(c, &g, 2, 0, &m);
	m = in_dialog("zz", "OPTIONS", "1", 1);
	cr_assert_eq(feed_rc(c, &g, 10, 0, &m), 7, "from a timeout");
	EXPECT(&g, 2, CM_CALL_END_REASON, "timeout");
	g.stop_at = 4;
	m = invite("s5");
	feed(c, &g, 11, 0, &m);
	cr_assert_eq(cm_calls_finish(c, collect, &g), 7, "from finish");
	cr_assert_eq(cm_calls_finish(c, collect, &g), 0);
	cr_assert_eq(g.n, 4);
	check_stats(c, 7, 0); /* the OPTIONS was not applied: the stop came first */
	cm_calls_free(c);
	got_free(&g);
}

Test(calls, memory_bounded)
{
	struct cm_calls *c = new_calls(1000, 0, 0);
	struct got g = { 0 };
	struct cm_slice f[CM_SIP__COUNT];
	struct cm_record rec;
	char id[32];
	size_t i;

	for (i = 0; i < CM_SIP__COUNT; i++) {
		f[i].p = "";
		f[i].n = 0;
	}
	memset(&rec, 0, sizeof rec);
	rec.f = f;
	rec.n = CM_SIP__COUNT;
	f[CM_SIP_METHOD].p = "INVITE";
	f[CM_SIP_METHOD].n = 6;
	f[CM_SIP_FROM_TAG].p = "ft1";
	f[CM_SIP_FROM_TAG].n = 3;
	for (i = 0; i < 100000; i++) {
		f[CM_SIP_CALL_ID].n = (size_t)snprintf(id, sizeof id, "flood-%zu@192.0.2.66", i);
		f[CM_SIP_CALL_ID].p = id;
		cr_assert_eq(cm_calls_message(c, &rec, T0 + (int64_t)(i / 1000), (uint32_t)(i % 1000), count_only, &g), 0);
		/* Only evictions end calls here: open = opened - evicted. */
		if (cm_calls_stats(c)->evicted != (i + 1 > 1000 ? i + 1 - 1000 : 0))
			cr_assert_fail("%zu opened, %llu evicted", i + 1,
				       (unsigned long long)cm_calls_stats(c)->evicted);
	}
	cr_assert_eq(cm_calls_finish(c, count_only, &g), 0);
	cr_expect_eq(g.by_reason_eof, 1000, "never more than max_calls open");
	cr_expect_eq(g.count, 100000);
	cr_expect_eq(cm_calls_stats(c)->evicted, 99000);
	check_stats(c, 100000, 0);
	cm_calls_free(c);
}

Test(calls, options_and_short_records)
{
	struct cm_calls_opts o;
	struct cm_calls *c = cm_calls_new(NULL); /* the defaults */
	struct got g = { 0 };
	struct cm_slice f[CM_SIP_CALL_ID + 1];
	struct cm_record rec;
	size_t i;

	cr_assert_not_null(c);
	cm_calls_free(c);
	cm_calls_free(NULL);
	cm_calls_opts_default(&o);
	cr_expect_eq(o.max_calls, 100000);
	cr_expect_eq(o.setup_timeout_ms, 300000);
	cr_expect_eq(o.call_timeout_ms, 14400000);
	o.max_calls = 0; /* taken as 1 */
	c = cm_calls_new(&o);
	cr_assert_not_null(c);
	/* A record that stops after the Call-ID: the fields past it are empty. */
	for (i = 0; i <= CM_SIP_CALL_ID; i++) {
		f[i].p = "";
		f[i].n = 0;
	}
	f[CM_SIP_METHOD].p = "INVITE";
	f[CM_SIP_METHOD].n = 6;
	memset(&rec, 0, sizeof rec);
	rec.f = f;
	rec.n = CM_SIP_CALL_ID + 1;
	f[CM_SIP_CALL_ID].p = "short1";
	f[CM_SIP_CALL_ID].n = 6;
	cr_assert_eq(cm_calls_message(c, &rec, T0, 0, collect, &g), 0);
	f[CM_SIP_CALL_ID].p = "short2";
	cr_assert_eq(cm_calls_message(c, &rec, T0, 0, collect, &g), 0);
	cr_assert_eq(g.n, 1);
	EXPECT(&g, 0, CM_CALL_CALL_ID, "short1");
	EXPECT(&g, 0, CM_CALL_END_REASON, "evicted");
	EXPECT(&g, 0, CM_CALL_CALLER, "");
	EXPECT(&g, 0, CM_CALL_SETUP_DELAY, "0.000");
	cm_calls_free(c);
	got_free(&g);
}
