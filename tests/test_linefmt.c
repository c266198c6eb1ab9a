/*
 * Unit tests of the line decoders and the SMS text measures (src/linefmt.c).
 *
 * Line tests go through dec(): it decodes a line three times (from a copy
 * of exactly its length, and placed right before and right after an
 * inaccessible page, so that any over-read faults), checks each result
 * (every value a slice of the line, a field the line lacks empty, a
 * fault's byte inside the line) and that all three agree, and returns a
 * transcript:
 *
 *     name=value|name=value     the fields the line gives, in schema order
 *     X<reason>@<at>            a reject; " <name>" follows for a duplicate
 *
 * with \0, | and \ escaped in values.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cdrmin/buf.h"
#include "cdrmin/linefmt.h"
#include "cdrmin/record.h"
#include "support.h"

TestSuite(fieldmap);
TestSuite(kv);
TestSuite(kannel);
TestSuite(sms);

/* A string literal with its length, NUL bytes included. */
#define LIT(s) (s), (sizeof(s) - 1)

#define KV_NAMES                                                                              \
	"event,timestamp,method,from_tag,to_tag,call_id,code,reason,src_user,src_domain,src_ip," \
	"dst_user"
#define KANNEL_NAMES "time,event,smsc,svc,meta,from,to,flags,msg,udh"

/* Appends each name of the comma-separated list to s. */
static void schema_of(struct cm_schema *s, const char *names)
{
	const char *p = names, *c;

	cm_schema_init(s);
	for (;;) {
		c = strchr(p, ',');
		cr_assert_eq(cm_schema_add(s, p, c ? (size_t)(c - p) : strlen(p)), 0);
		if (!c)
			break;
		p = c + 1;
	}
}

/* A decoder and the schema it holds by reference. */
struct fix {
	struct cm_schema s;
	struct cm_linedec d;
};

static void fix_init(struct fix *x, enum cm_linefmt fmt, const char *names, char sep)
{
	schema_of(&x->s, names);
	cr_assert_eq(cm_linedec_init(&x->d, fmt, &x->s, sep), 0);
}

static void fix_deinit(struct fix *x)
{
	cm_linedec_deinit(&x->d);
	cm_schema_deinit(&x->s);
}

static void put_escaped(struct cm_buf *t, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (p[i]) {
		case '\0': cm_buf_adds(t, "\\0"); break;
		case '|': cm_buf_adds(t, "\\|"); break;
		case '\\': cm_buf_adds(t, "\\\\"); break;
		default: cm_buf_addc(t, p[i]); break;
		}
	}
}

/* Decodes line[0..n), checks the result and writes its transcript to t. */
static void dec_once(struct fix *x, const char *line, size_t n, struct cm_buf *t)
{
	struct cm_record rec;
	struct cm_line_fault fault;
	uintptr_t lo = (uintptr_t)line, hi = lo + n, p;
	char num[64];
	size_t i;
	int ok, first = 1;

	memset(&rec, 0, sizeof rec);
	rec.line = 7;
	rec.offset = 99;
	rec.type = (const unsigned char *)"x";
	rec.raw = (const struct cm_slice *)&rec;
	fault.reason = CM_REJ__COUNT;
	fault.at = (size_t)-1;
	fault.field = -7;
	ok = cm_linedec_decode(&x->d, line, n, &rec, &fault);
	cm_buf_reset(t);
	if (!ok) {
		cr_assert_eq(ok, 0);
		cr_assert(fault.reason == CM_REJ_SYNTAX || fault.reason == CM_REJ_DUPLICATE,
			  "bad reason %d", (int)fault.reason);
		cr_assert_leq(fault.at, n);
		snprintf(num, sizeof num, "X%s@%zu", cm_reject_name(fault.reason), fault.at);
		cm_buf_adds(t, num);
		if (fault.reason == CM_REJ_DUPLICATE) {
			cr_assert(fault.field >= 0 && (size_t)fault.field < x->s.n);
			cm_buf_addc(t, ' ');
			cm_buf_adds(t, x->s.names[fault.field]);
		} else {
			cr_assert_eq(fault.field, -1);
		}
		return;
	}
	cr_assert_eq(ok, 1);
	cr_assert_eq(rec.n, x->s.n);
	cr_assert_eq(rec.f, x->d.f);
	cr_assert_null(rec.type);
	cr_assert_null(rec.raw);
	cr_assert(rec.line == 7 && rec.offset == 99, "line and offset must stay untouched");
	for (i = 0; i < rec.n; i++) {
		p = (uintptr_t)rec.f[i].p;
		/* or, for a Kannel UCS-2 text, of the decoder's text buffer */
		cr_assert(rec.f[i].n == 0 || (p >= lo && p <= hi && rec.f[i].n <= hi - p) ||
				  (rec.f[i].p == x->d.text.p && rec.f[i].n == x->d.text.n),
			  "field %zu is not a slice of the line", i);
		if (!x->d.seen[i]) {
			cr_assert_eq(rec.f[i].n, 0, "field %zu is absent but not empty", i);
			continue;
		}
		if (!first)
			cm_buf_addc(t, '|');
		first = 0;
		cm_buf_adds(t, x->s.names[i]);
		cm_buf_addc(t, '=');
		put_escaped(t, rec.f[i].p, rec.f[i].n);
	}
}

/* Decodes line[0..n) right after (before set) or right before an inaccessible page. */
static void dec_guarded(struct fix *x, const char *line, size_t n, int before, struct cm_buf *t)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = ((n + pg - 1) / pg + 1) * pg;
	char *map, *p;

	map = mmap(NULL, span + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(map != MAP_FAILED);
	cr_assert_eq(mprotect(before ? map : map + span, pg, PROT_NONE), 0);
	p = before ? map + pg : map + span - n;
	if (n)
		memcpy(p, line, n);
	dec_once(x, p, n, t);
	munmap(map, span + pg);
}

static struct cm_buf result; /* reused; never freed, so never a leak */

/* The transcript of line[0..n), the same three ways (see the top). */
static const char *dec(struct fix *x, const char *line, size_t n)
{
	struct cm_buf other;
	char *copy = malloc(n ? n : 1);
	int before;

	cr_assert_not_null(copy);
	if (n)
		memcpy(copy, line, n);
	dec_once(x, copy, n, &result);
	free(copy);
	cm_buf_init(&other);
	for (before = 0; before < 2; before++) {
		dec_guarded(x, line, n, before, &other);
		cr_assert(other.n == result.n && (!other.n || !memcmp(other.p, result.p, other.n)),
			  "guarded decode differs");
	}
	cm_buf_deinit(&other);
	cm_buf_addc(&result, '\0');
	cr_assert_eq(result.oom, 0);
	return result.p;
}

#define DEC(x, s) dec((x), LIT(s))

/* ================= fieldmap ================= */

Test(fieldmap, finds_every_name_and_nothing_else)
{
	struct cm_schema s;
	struct cm_fieldmap m;

	schema_of(&s, KV_NAMES);
	cr_assert_eq(cm_fieldmap_init(&m, &s), 0);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("event")), 0);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("call_id")), 5);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("dst_user")), 11);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("even")), -1);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("events")), -1);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("Event")), -1);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("")), -1);
	cr_expect_eq(cm_fieldmap_find(&m, NULL, 0), -1);
	/* a NUL inside the name never matches the C string's end */
	cr_expect_eq(cm_fieldmap_find(&m, LIT("event\0")), -1);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("ev\0nt")), -1);
	cm_fieldmap_deinit(&m);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("event")), -1);
	cm_fieldmap_deinit(&m); /* twice is harmless */
	cm_schema_deinit(&s);
}

Test(fieldmap, many_names)
{
	struct cm_schema s;
	struct cm_fieldmap m;
	char name[32];
	long i;

	cm_schema_init(&s);
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof name, "f%ld", i);
		cr_assert_eq(cm_schema_add(&s, name, strlen(name)), 0);
	}
	cr_assert_eq(cm_fieldmap_init(&m, &s), 0);
	cr_assert_geq(m.mask + 1, 2 * s.n, "at most half full");
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof name, "f%ld", i);
		cr_assert_eq(cm_fieldmap_find(&m, name, strlen(name)), i);
		snprintf(name, sizeof name, "g%ld", i);
		cr_assert_eq(cm_fieldmap_find(&m, name, strlen(name)), -1);
	}
	cm_fieldmap_deinit(&m);
	cm_schema_deinit(&s);
}

Test(fieldmap, empty_schema_and_repeated_name)
{
	struct cm_schema s;
	struct cm_fieldmap m;

	cm_schema_init(&s);
	cr_assert_eq(cm_fieldmap_init(&m, &s), 0);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("a")), -1);
	cm_fieldmap_deinit(&m);
	cm_schema_deinit(&s);

	schema_of(&s, "a,b,a");
	cr_assert_eq(cm_fieldmap_init(&m, &s), 0);
	cr_expect_eq(cm_fieldmap_find(&m, LIT("a")), 0, "the first index wins");
	cr_expect_eq(cm_fieldmap_find(&m, LIT("b")), 1);
	cm_fieldmap_deinit(&m);
	cm_schema_deinit(&s);
}

/* ================= kv ================= */

Test(kv, kamailio_transaction_answered)
{
	struct fix x;

	fix_init(&x, CM_LINE_KV, KV_NAMES, ';');
	cr_expect_str_eq(
		DEC(&x, "transaction answered: timestamp=1700000000;method=INVITE;from_tag=a1b2;"
			"to_tag=c3d4;call_id=f00@192.0.2.10;code=200;reason=OK;src_user=02079460123;"
			"src_domain=example.com;src_ip=192.0.2.10;dst_ouser=5550100;"
			"dst_user=+15550100;dst_domain=example.net"),
		"event=transaction answered|timestamp=1700000000|method=INVITE|from_tag=a1b2|"
		"to_tag=c3d4|call_id=f00@192.0.2.10|code=200|reason=OK|src_user=02079460123|"
		"src_domain=example.com|src_ip=192.0.2.10|dst_user=+15550100");
	fix_deinit(&x);
}

Test(kv, every_acc_event_text)
{
	struct fix x;

	fix_init(&x, CM_LINE_KV, "event,code", ';');
	cr_expect_str_eq(DEC(&x, "call missed: timestamp=1;code=486"), "event=call missed|code=486");
	cr_expect_str_eq(DEC(&x, "request acknowledged: timestamp=1;method=ACK;code=200"),
			 "event=request acknowledged|code=200");
	cr_expect_str_eq(DEC(&x, "request accounted: timestamp=1;code=404"),
			 "event=request accounted|code=404");
	/* a failed transaction (failed_transaction_flag) is "answered" too */
	cr_expect_str_eq(DEC(&x, "transaction answered: timestamp=1;code=503"),
			 "event=transaction answered|code=503");
	/* acc_time_mode 3: a time attribute whose value holds ": " */
	cr_expect_str_eq(DEC(&x, "transaction answered: timestamp=1;time_attr=2023-11-14 22:13:20;"
				 "code=200"),
			 "event=transaction answered|code=200");
	fix_deinit(&x);
}

Test(kv, event_only_before_the_first_equals)
{
	struct fix x;

	fix_init(&x, CM_LINE_KV, "event,a,b", ';');
	/* no event: pairs from the first byte */
	cr_expect_str_eq(DEC(&x, "a=1;b=2"), "a=1|b=2");
	/* ": " after the first '=' is data */
	cr_expect_str_eq(DEC(&x, "a=x: y;b=2"), "a=x: y|b=2");
	/* ':' not followed by a space is not the event's end */
	cr_expect_str_eq(DEC(&x, "a:b=1"), "");
	cr_expect_str_eq(DEC(&x, "x:y: a=1"), "event=x:y|a=1");
	/* the first ": " ends the event: "y: a" is a name */
	cr_expect_str_eq(DEC(&x, "x: y: a=1"), "event=x");
	cr_expect_str_eq(DEC(&x, "x: y;a=1"), "Xsyntax@3");
	/* an event with no pairs, and an empty event */
	cr_expect_str_eq(DEC(&x, "call missed: "), "event=call missed");
	cr_expect_str_eq(DEC(&x, ": a=1"), "event=|a=1");
	/* the event text may hold the separator */
	cr_expect_str_eq(DEC(&x, "p;q: a=1"), "event=p;q|a=1");
	fix_deinit(&x);
}

Test(kv, pair_rules)
{
	struct fix x;

	fix_init(&x, CM_LINE_KV, "event,a,b,c", ';');
	/* split at the first '=' only */
	cr_expect_str_eq(DEC(&x, "e: a=x=y;b==;c=="), "event=e|a=x=y|b==|c==");
	/* empty pairs skipped, empty values kept */
	cr_expect_str_eq(DEC(&x, "e: ;;a=;;b=2;"), "event=e|a=|b=2");
	cr_expect_str_eq(DEC(&x, ";;;"), "");
	/* names are exact bytes: no trimming, no case folding */
	cr_expect_str_eq(DEC(&x, "a=1; b=2;B=3"), "a=1");
	/* names the schema lacks are skipped */
	cr_expect_str_eq(DEC(&x, "zz=1;a=2;dst_domain=example.net"), "a=2");
	/* bytes of any value pass through, NUL and CR included */
	cr_expect_str_eq(DEC(&x, "a=\0\r\xff|\\"), "a=\\0\r\xff\\|\\\\");
	fix_deinit(&x);
}

Test(kv, syntax_rejects)
{
	struct fix x;

	fix_init(&x, CM_LINE_KV, "event,a,b", ';');
	cr_expect_str_eq(DEC(&x, ""), "Xsyntax@0");
	cr_expect_str_eq(DEC(&x, " "), "Xsyntax@0");
	cr_expect_str_eq(DEC(&x, "\t \t"), "Xsyntax@0");
	cr_expect_str_eq(DEC(&x, "garbage"), "Xsyntax@0");
	cr_expect_str_eq(DEC(&x, "e: a=1;b"), "Xsyntax@7");
	cr_expect_str_eq(DEC(&x, "e: a=1;=2"), "Xsyntax@7");
	cr_expect_str_eq(DEC(&x, "=2"), "Xsyntax@0");
	/* even when the bad pair names nothing the schema holds */
	cr_expect_str_eq(DEC(&x, "a=1;zz;b=2"), "Xsyntax@4");
	/* a From user "a;b" splits into a pair without '=' */
	cr_expect_str_eq(DEC(&x, "e: timestamp=1;src_user=a;b;a=1"), "Xsyntax@26");
	fix_deinit(&x);
}

Test(kv, forged_pair_is_a_duplicate)
{
	struct fix x;

	fix_init(&x, CM_LINE_KV, KV_NAMES, ';');
	/* A From user "x;src_ip=1.2.3.4" injects a pair: it must not hide the real src_ip. */
	cr_expect_str_eq(DEC(&x, "transaction answered: timestamp=1;src_user=x;src_ip=1.2.3.4;"
				 "src_domain=example.com;src_ip=192.0.2.10"),
			 "Xduplicate@83 src_ip");
	/* forged after the real one: the same */
	cr_expect_str_eq(DEC(&x, "transaction answered: timestamp=1;src_ip=192.0.2.10;"
				 "dst_user=x;src_ip=1.2.3.4"),
			 "Xduplicate@63 src_ip");
	/* an empty value counts as given */
	cr_expect_str_eq(DEC(&x, "to_tag=;to_tag=x"), "Xduplicate@8 to_tag");
	/* the event is a field: a pair may not name it again */
	cr_expect_str_eq(DEC(&x, "call missed: event=transaction answered"),
			 "Xduplicate@13 event");
	cr_expect_str_eq(DEC(&x, "event=a;event=b"), "Xduplicate@8 event");
	cr_expect_str_eq(DEC(&x, "event=a"), "event=a");
	/* names the schema lacks may repeat (multi_leg_info does) */
	cr_expect_str_eq(DEC(&x, "method=BYE;src_leg=a;src_leg=b"), "method=BYE");
	fix_deinit(&x);
}

Test(kv, other_separators)
{
	struct fix x;

	fix_init(&x, CM_LINE_KV, "event,a,b", ',');
	cr_expect_str_eq(DEC(&x, "e: a=1;x,b=2,,"), "event=e|a=1;x|b=2");
	fix_deinit(&x);
	fix_init(&x, CM_LINE_KV, "event,a,b", ' ');
	cr_expect_str_eq(DEC(&x, "call missed: a=1 b=2  "), "event=call missed|a=1|b=2");
	fix_deinit(&x);
	fix_init(&x, CM_LINE_KV, "event,a,b", '\0');
	cr_expect_str_eq(DEC(&x, "a=1\0b=;\0"), "a=1|b=;");
	fix_deinit(&x);
}

Test(kv, empty_schema_skips_everything)
{
	struct fix x;

	fix_init(&x, CM_LINE_KV, "", ';');
	/* one name, "": nothing a line can give */
	cr_expect_str_eq(DEC(&x, "e: a=1;b=2"), "");
	cr_expect_str_eq(DEC(&x, "e: a"), "Xsyntax@3");
	fix_deinit(&x);
}

Test(kv, schema_without_names)
{
	struct cm_schema s;
	struct cm_linedec d;
	struct cm_record rec;
	struct cm_line_fault fault;

	cm_schema_init(&s);
	cr_assert_eq(cm_linedec_init(&d, CM_LINE_KV, &s, ';'), 0);
	cr_expect_eq(cm_linedec_decode(&d, LIT("e: a=1;event=2"), &rec, &fault), 1);
	cr_expect_eq(rec.n, 0);
	cr_expect_eq(cm_linedec_decode(&d, LIT("e: a"), &rec, &fault), 0);
	cr_expect(fault.reason == CM_REJ_SYNTAX && fault.at == 3 && fault.field == -1);
	cm_linedec_deinit(&d);
	cr_assert_eq(cm_linedec_init(&d, CM_LINE_KANNEL, &s, ';'), 0);
	cr_expect_eq(cm_linedec_decode(&d, LIT("2026-11-22 10:00:00 e [to:1] [to:2]"), &rec, &fault),
		     1);
	cr_expect_eq(rec.n, 0);
	cm_linedec_deinit(&d);
	cm_linedec_deinit(&d); /* twice is harmless */
	cm_schema_deinit(&s);
}

Test(kv, long_line_linear_and_bounded)
{
	struct fix x;
	struct cm_buf in;
	size_t i;

	fix_init(&x, CM_LINE_KV, "event,a,b", ';');
	cm_buf_init(&in);
	cm_buf_adds(&in, "e: ");
	for (i = 0; i < 50000; i++)
		cm_buf_adds(&in, "zz=1;;");
	cm_buf_adds(&in, "a=last");
	cr_assert_str_eq(dec(&x, in.p, in.n), "event=e|a=last");
	/* a huge event without '=' and one ": " at its very end */
	cm_buf_reset(&in);
	for (i = 0; i < 100000; i++)
		cm_buf_adds(&in, "::");
	cm_buf_adds(&in, ": a=1");
	cr_assert_eq(strlen(dec(&x, in.p, in.n)), strlen("event=|a=1") + in.n - 5);
	cm_buf_deinit(&in);
	fix_deinit(&x);
}

/* ================= kannel ================= */

#define K_HEAD "2026-11-22 10:00:00 Receive SMS [SMSC:smsc1] [SVC:default] [ACT:] [BINF:] "
#define K_MID  "[FID:] [META:?smpp?] [from:+447700900123] [to:12345] "

Test(kannel, default_format)
{
	struct fix x;

	fix_init(&x, CM_LINE_KANNEL, KANNEL_NAMES, ';');
	cr_expect_str_eq(DEC(&x, K_HEAD K_MID "[flags:-1:0:-1:0:-1] [msg:11:Hello world] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=Receive SMS|smsc=smsc1|svc=default|"
			 "meta=?smpp?|from=+447700900123|to=12345|flags=-1:0:-1:0:-1|"
			 "msg=Hello world|udh=0:");
	/* older releases: no FID, no META */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 Sent SMS [SMSC:s] [SVC:] [ACT:] [BINF:] "
				 "[from:1] [to:2] [flags:-1:0:-1:0:31] [msg:2:hi] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=Sent SMS|smsc=s|svc=|from=1|to=2|"
			 "flags=-1:0:-1:0:31|msg=hi|udh=0:");
	/* the access log's markers: time and event only */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 Log begins"),
			 "time=2026-11-22 10:00:00|event=Log begins");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 "), "time=2026-11-22 10:00:00|event=");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 [to:1]"),
			 "time=2026-11-22 10:00:00|event=|to=1");
	fix_deinit(&x);
}

Test(kannel, time_shape)
{
	struct fix x;

	fix_init(&x, CM_LINE_KANNEL, KANNEL_NAMES, ';');
	cr_expect_str_eq(DEC(&x, ""), "Xsyntax@0");
	cr_expect_str_eq(DEC(&x, "   "), "Xsyntax@0");
	/* access-log-clean: no time prefix */
	cr_expect_str_eq(DEC(&x, "Receive SMS [SMSC:a] [to:1]"), "Xsyntax@0");
	cr_expect_str_eq(DEC(&x, "2026-11-22T10:00:00 Sent SMS"), "Xsyntax@10");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00"), "Xsyntax@19");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00\tSent SMS"), "Xsyntax@19");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00"), "Xsyntax@16");
	cr_expect_str_eq(DEC(&x, "2026-1a-22 10:00:00 x"), "Xsyntax@6");
	cr_expect_str_eq(DEC(&x, "2026/11/22 10:00:00 x"), "Xsyntax@4");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:0 x"), "Xsyntax@18");
	cr_expect_str_eq(DEC(&x, "+026-11-22 10:00:00 x"), "Xsyntax@0");
	/* digits-shaped, not a calendar check */
	cr_expect_str_eq(DEC(&x, "9999-99-99 99:99:99 x"), "time=9999-99-99 99:99:99|event=x");
	fix_deinit(&x);
}

Test(kannel, names_lower_cased)
{
	struct fix x;

	fix_init(&x, CM_LINE_KANNEL, "smsc,svc,act,binf,fid,meta,from", ';');
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [SMSC:a] [SVC:b] [ACT:c] [BINF:d] "
				 "[FID:f] [META:m] [FrOm:g]"),
			 "smsc=a|svc=b|act=c|binf=d|fid=f|meta=m|from=g");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [smsc:a] [SMSC:b]"),
			 "Xduplicate@31 smsc");
	fix_deinit(&x);
}

Test(kannel, long_names)
{
	struct fix x;
	char line[512], names[512], want[512];
	char longn[101];

	memset(longn, 'n', 100);
	longn[100] = '\0';
	snprintf(names, sizeof names, "to,%s", longn);
	fix_init(&x, CM_LINE_KANNEL, names, ';');
	/* longer than the stack buffer: found the slow way, case folded too */
	longn[0] = 'N';
	snprintf(line, sizeof line, "2026-11-22 10:00:00 e [%s:v] [to:1]", longn);
	longn[0] = 'n';
	snprintf(want, sizeof want, "to=1|%s=v", longn);
	cr_expect_str_eq(dec(&x, line, strlen(line)), want);
	/* one byte longer or shorter: no match */
	snprintf(line, sizeof line, "2026-11-22 10:00:00 e [%sn:v] [%.99s:v]", longn, longn);
	cr_expect_str_eq(dec(&x, line, strlen(line)), "");
	fix_deinit(&x);
}

Test(kannel, value_ends_at_bracket_then_field_or_end)
{
	struct fix x;

	fix_init(&x, CM_LINE_KANNEL, KANNEL_NAMES, ';');
	/* ']' not before " [" or the end is data, so is '[' */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [from:a]b] [to:[x]]"),
			 "time=2026-11-22 10:00:00|event=e|from=a]b|to=[x]");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [meta:a:b:c] [svc:]"),
			 "time=2026-11-22 10:00:00|event=e|svc=|meta=a:b:c");
	/* unknown fields skipped; a schema name the line lacks stays empty */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [boxc:x] [to:1]"),
			 "time=2026-11-22 10:00:00|event=e|to=1");
	fix_deinit(&x);
}

Test(kannel, syntax_rejects)
{
	struct fix x;

	fix_init(&x, CM_LINE_KANNEL, KANNEL_NAMES, ';');
	/* no ':' */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [to]"), "Xsyntax@22");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [to:1] ["), "Xsyntax@29");
	/* no closing ']' */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [to:1"), "Xsyntax@22");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [to:1] x"), "Xsyntax@22");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [to:1]x"), "Xsyntax@22");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [to:1] "), "Xsyntax@22");
	/* empty or bad names */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [:1]"), "Xsyntax@22");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [a b:1]"), "Xsyntax@22");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [a] [to:1]"), "Xsyntax@22");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [[to:1]"), "Xsyntax@22");
	fix_deinit(&x);
}

Test(kannel, forged_fields_are_duplicates)
{
	struct fix x;

	fix_init(&x, CM_LINE_KANNEL, KANNEL_NAMES, ';');
	/* a sender ID "x] [to:666" forges a receiver */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 Receive SMS [from:x] [to:666] [to:12345] "
				 "[msg:2:hi] [udh:0:]"),
			 "Xduplicate@50 to");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [time:2026-01-01 00:00:00]"),
			 "Xduplicate@22 time");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [EVENT:x]"), "Xduplicate@22 event");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [udh:] [udh:]"), "Xduplicate@29 udh");
	/* repeats of names the schema lacks are skipped */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [act:] [act:]"),
			 "time=2026-11-22 10:00:00|event=e");
	fix_deinit(&x);
}

Test(kannel, msg_len_makes_brackets_data)
{
	struct fix x;

	fix_init(&x, CM_LINE_KANNEL, KANNEL_NAMES, ';');
	/* the text forges a receiver and a udh: LEN keeps them in the text */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [to:1] [msg:24:a] [to:666] [udh:0:] b:c] "
				 "[udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|to=1|msg=a] [to:666] [udh:0:] b:c|udh=0:");
	/* msg last on the line */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:4:a] ]]"),
			 "time=2026-11-22 10:00:00|event=e|msg=a] ]");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:0:] [to:1]"),
			 "time=2026-11-22 10:00:00|event=e|to=1|msg=");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [MSG:2:hi]"),
			 "time=2026-11-22 10:00:00|event=e|msg=hi");
	/* a DLR's text: colons and spaces */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 Receive DLR [msg:43:id:1 sub:001 dlvrd:001 "
				 "stat:DELIVRD text:hi] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=Receive DLR|msg=id:1 sub:001 dlvrd:001 "
			 "stat:DELIVRD text:hi|udh=0:");
	fix_deinit(&x);
}

Test(kannel, msg_len_that_does_not_fit_falls_back)
{
	struct fix x;

	fix_init(&x, CM_LINE_KANNEL, KANNEL_NAMES, ';');
	/* 8-bit and UCS-2: LEN octets, 2 x LEN hex digits; UCS-2 is decoded */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [flags:-1:1:-1:0:-1] [msg:4:00480069] "
				 "[udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|flags=-1:1:-1:0:-1|msg=00480069|udh=0:");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [flags:-1:2:-1:0:-1] [msg:4:00480069] "
				 "[udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|flags=-1:2:-1:0:-1|msg=Hi|udh=0:");
	/* a LEN too short, too long, huge, not digits, or missing: to the last udh */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:3:a] [to:6] [udh:1] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|msg=a] [to:6] [udh:1|udh=0:");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:9999:a] [to:6] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|msg=a] [to:6|udh=0:");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:184467440737095516170:a] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|msg=a|udh=0:");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:-1:a] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|msg=-1:a|udh=0:");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:1x:a:b] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|msg=1x:a:b|udh=0:");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:hello] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|msg=hello|udh=0:");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|msg=|udh=0:");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:5"), "Xsyntax@22");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:"), "Xsyntax@22");
	/* no udh after it: to the line's last ']' */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:99:a] [to:6]"),
			 "time=2026-11-22 10:00:00|event=e|msg=a] [to:6");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:99:a] [to:6] x"), "Xsyntax@22");
	/* a udh before the msg is not its end */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [udh:0:] [msg:9:a] x]"),
			 "time=2026-11-22 10:00:00|event=e|msg=a] x|udh=0:");
	/* a second msg past the last udh: a duplicate, once parsed */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [msg:9:a] [udh:0:] [msg:7:b]"),
			 "Xduplicate@41 msg");
	fix_deinit(&x);
}

Test(kannel, ucs2_text_is_decoded)
{
	struct fix x;

	fix_init(&x, CM_LINE_KANNEL, KANNEL_NAMES, ';');
	/* U+00E9, a surrogate pair (U+1F600), then a lone high surrogate */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [flags:-1:2:-1:0:-1] [msg:8:00E9D83DDE00D800] "
				 "[udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|flags=-1:2:-1:0:-1|"
			 "msg=\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd|udh=0:");
	/* not whole 16-bit units, or not hex: kept as written */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [flags:-1:2] [msg:3:004800] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|flags=-1:2|msg=004800|udh=0:");
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [flags:-1:2:-1] [msg:2:00G8] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|flags=-1:2:-1|msg=00G8|udh=0:");
	/* coding 22 is not 2 */
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [flags:-1:22:-1] [msg:2:0048] [udh:0:]"),
			 "time=2026-11-22 10:00:00|event=e|flags=-1:22:-1|msg=0048|udh=0:");
	fix_deinit(&x);
}

Test(kannel, msg_rule_holds_without_msg_in_schema)
{
	struct fix x;

	fix_init(&x, CM_LINE_KANNEL, "to,udh", ';');
	cr_expect_str_eq(DEC(&x, "2026-11-22 10:00:00 e [to:1] [msg:15:x] [to:2] [udh:] [udh:0:]"),
			 "to=1|udh=0:");
	fix_deinit(&x);
}

Test(kannel, hostile_long_lines)
{
	struct fix x;
	struct cm_buf in, want;
	size_t i;

	fix_init(&x, CM_LINE_KANNEL, KANNEL_NAMES, ';');
	cm_buf_init(&in);
	/* many msg fields, each falling back: the tail is searched once */
	cm_buf_init(&want);
	cm_buf_adds(&in, "2026-11-22 10:00:00 e");
	cm_buf_adds(&want, "time=2026-11-22 10:00:00|event=e|msg=x");
	for (i = 0; i < 30000; i++) {
		cm_buf_adds(&in, " [mSg:x]");
		if (i)
			cm_buf_adds(&want, "] [mSg:x");
	}
	cm_buf_addc(&want, '\0');
	cr_assert_str_eq(dec(&x, in.p, in.n), want.p);
	/* many fields whose ']' is never followed by " [" */
	cm_buf_reset(&in);
	cm_buf_adds(&in, "2026-11-22 10:00:00 e [to:");
	for (i = 0; i < 100000; i++)
		cm_buf_adds(&in, "]x");
	cr_assert_str_eq(dec(&x, in.p, in.n), "Xsyntax@22");
	fix_deinit(&x);
	cm_buf_deinit(&in);
	cm_buf_deinit(&want);
}

/* ================= sms ================= */

/* The GSM 7 bit default alphabet (TS 23.038 6.2.1), 0x00 to 0x7F without the escape 0x1B. */
static const char gsm_basic[] = "@£$¥èéùìòÇ\nØø\rÅå"
				"Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
				" !\"#¤%&'()*+,-./0123456789:;<=>?"
				"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
				"¿abcdefghijklmnopqrstuvwxyzäöñüà";
/* Its extension table (6.2.1.1): form feed, ^ { } \ [ ~ ] | and the euro sign. */
static const char gsm_ext[] = "\f^{}\\[~]|€";

static void measure(const char *s, size_t n, size_t want_chars, size_t want_segs, int want_ucs2)
{
	size_t chars = 99, segs = 99;
	int ucs2 = 99;

	cr_assert_eq(cm_sms_measure(s, n, &chars, &segs, &ucs2), 0, "%zu bytes not UTF-8?", n);
	cr_expect_eq(chars, want_chars, "chars %zu, want %zu", chars, want_chars);
	cr_expect_eq(segs, want_segs, "segments %zu, want %zu (%zu chars)", segs, want_segs, chars);
	cr_expect_eq(ucs2, want_ucs2, "ucs2 %d, want %d", ucs2, want_ucs2);
}

/* Appends k copies of the code point cp. */
static void add_cp(struct cm_buf *b, uint32_t cp, size_t k)
{
	char u[4];
	size_t len = cmt_utf8(cp, u);

	while (k--)
		cm_buf_add(b, u, len);
}

/* Measures k1 of cp1 then k2 of cp2 then k3 of cp3. */
static void measure3(uint32_t cp1, size_t k1, uint32_t cp2, size_t k2, uint32_t cp3, size_t k3,
		     size_t want_segs, int want_ucs2)
{
	struct cm_buf b;

	cm_buf_init(&b);
	add_cp(&b, cp1, k1);
	add_cp(&b, cp2, k2);
	add_cp(&b, cp3, k3);
	measure(b.p, b.n, k1 + k2 + k3, want_segs, want_ucs2);
	cm_buf_deinit(&b);
}

Test(sms, empty_text)
{
	measure("", 0, 0, 0, 0);
	measure(NULL, 0, 0, 0, 0);
	cr_expect_eq(cm_sms_measure("", 0, NULL, NULL, NULL), 0);
}

Test(sms, gsm_boundaries)
{
	measure3('a', 160, 0, 0, 0, 0, 1, 0);
	measure3('a', 161, 0, 0, 0, 0, 2, 0);
	measure3('a', 306, 0, 0, 0, 0, 2, 0);
	measure3('a', 307, 0, 0, 0, 0, 3, 0);
	measure3('a', 459, 0, 0, 0, 0, 3, 0);
	measure3('a', 460, 0, 0, 0, 0, 4, 0);
	/* extension characters count two septets */
	measure3(0x20ac, 80, 0, 0, 0, 0, 1, 0);
	measure3(0x20ac, 81, 0, 0, 0, 0, 2, 0);
	measure3('a', 158, '[', 1, 0, 0, 1, 0);
	measure3('a', 159, '[', 1, 0, 0, 2, 0);
	/* 152 + escape pair: the pair does not fit the first 153, it moves */
	measure3('a', 152, 0x20ac, 1, 'b', 151, 2, 0);
	measure3('a', 152, 0x20ac, 1, 'b', 152, 3, 0);
	measure3('a', 306, 0, 0, 0, 0, 2, 0); /* the same septets, no pair: 2 */
	/* 151 + pair fills 153 exactly */
	measure3('a', 151, '~', 1, 'b', 153, 2, 0);
	measure3('a', 151, '~', 1, 'b', 154, 3, 0);
}

Test(sms, ucs2_boundaries)
{
	measure3(0x436, 70, 0, 0, 0, 0, 1, 1);
	measure3(0x436, 71, 0, 0, 0, 0, 2, 1);
	measure3(0x436, 134, 0, 0, 0, 0, 2, 1);
	measure3(0x436, 135, 0, 0, 0, 0, 3, 1);
	/* one non-GSM character makes all the text UCS-2 */
	measure3('a', 69, 0x436, 1, 0, 0, 1, 1);
	measure3('a', 70, 0x436, 1, 0, 0, 2, 1);
	measure3('a', 159, '`', 1, 0, 0, 3, 1);
}

Test(sms, surrogate_pairs_count_two_units_never_split)
{
	/* U+1F600: 1 character, 2 units */
	measure3(0x1f600, 1, 0, 0, 0, 0, 1, 1);
	measure3(0x1f600, 35, 0, 0, 0, 0, 1, 1);
	measure3(0x1f600, 36, 0, 0, 0, 0, 2, 1);
	measure3(0x436, 68, 0x1f600, 1, 0, 0, 1, 1);
	measure3(0x436, 69, 0x1f600, 1, 0, 0, 2, 1);
	/* 66 + pair: the pair moves to the next segment: 66 | 2 + 65 | 1 */
	measure3(0x436, 66, 0x1f600, 1, 0x436, 66, 3, 1);
	measure3(0x436, 66, 0x1f600, 1, 0x436, 65, 2, 1);
	/* 65 + pair fills 67 exactly */
	measure3(0x436, 65, 0x1f600, 1, 0x436, 67, 2, 1);
	measure3(0x436, 65, 0x1f600, 1, 0x436, 68, 3, 1);
	/* 67 pairs: 134 units, each segment holds 33 */
	measure3(0x1f600, 66, 0, 0, 0, 0, 2, 1);
	measure3(0x1f600, 67, 0, 0, 0, 0, 3, 1);
}

Test(sms, gsm_tables_exactly)
{
	struct cm_buf b;
	uint32_t cp;
	char u[4];
	size_t len, chars, segs, i;
	int ucs2, in_basic, in_ext;

	measure(LIT(gsm_basic), 127, 1, 0);
	measure(LIT(gsm_ext), 10, 1, 0);
	cm_buf_init(&b);
	cm_buf_add(&b, LIT(gsm_basic));
	cm_buf_add(&b, LIT(gsm_ext));
	measure(b.p, b.n, 137, 1, 0); /* 127 + 20 septets */
	cm_buf_add(&b, LIT("@@@@@@@@@@@@@"));
	measure(b.p, b.n, 150, 1, 0); /* 160 septets */
	cm_buf_addc(&b, '@');
	measure(b.p, b.n, 151, 2, 0);
	cm_buf_deinit(&b);

	/* Every other code point makes a text UCS-2; the tables' ones do not. */
	for (cp = 0; cp <= 0x10ffff; cp += cp < 0x3000 ? 1 : 97) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		len = cmt_utf8(cp, u);
		in_basic = in_ext = 0;
		/* UTF-8 synchronizes: a whole sequence matches only at a character */
		for (i = 0; i + len <= sizeof gsm_basic - 1 && !in_basic; i++)
			in_basic = memcmp(gsm_basic + i, u, len) == 0;
		for (i = 0; i + len <= sizeof gsm_ext - 1 && !in_ext; i++)
			in_ext = memcmp(gsm_ext + i, u, len) == 0;
		cr_assert_eq(cm_sms_measure(u, len, &chars, &segs, &ucs2), 0, "U+%04X", cp);
		cr_assert_eq(chars, 1);
		cr_assert_eq(segs, 1);
		cr_assert_eq(ucs2, !(in_basic || in_ext), "U+%04X: ucs2 %d", cp, ucs2);
	}
}

Test(sms, septets_of_each_table)
{
	struct cm_buf b;
	const char *p;
	size_t len;
	uint32_t cp;

	/* 80 of an extension character fill 160 septets, 81 do not fit */
	for (p = gsm_ext; *p; p += len) {
		len = (unsigned char)*p < 0x80 ? 1 : 3; /* only the euro sign is not ASCII */
		cm_buf_init(&b);
		for (cp = 0; cp < 80; cp++)
			cm_buf_add(&b, p, len);
		measure(b.p, b.n, 80, 1, 0);
		cm_buf_add(&b, p, len);
		measure(b.p, b.n, 81, 2, 0);
		cm_buf_deinit(&b);
	}
}

Test(sms, invalid_utf8)
{
	static const char *const bad[] = {
		"\x80",         "\xbf",          "\xc0\x80",      "\xc1\xbf",     "\xc2",
		"\xc2\x41",     "\xe0\x80\x80",  "\xe0\x9f\xbf",  "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xe2\x82",     "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff", "a\xe2\x82\xac\xe2\x82",
	};
	size_t i, chars = 9, segs = 9;
	int ucs2 = 9;

	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		cr_expect_eq(cm_sms_measure(bad[i], strlen(bad[i]), &chars, &segs, &ucs2), -1,
			     "case %zu", i);
		cr_expect(chars == 0 && segs == 0 && ucs2 == 0);
	}
	/* the edges that are valid */
	measure(LIT("\xc2\x80"), 1, 1, 1);
	measure(LIT("\xed\x9f\xbf"), 1, 1, 1);
	measure(LIT("\xee\x80\x80"), 1, 1, 1);
	measure(LIT("\xf0\x90\x80\x80"), 1, 1, 1);
	measure(LIT("\xf4\x8f\xbf\xbf"), 1, 1, 1);
	/* NUL is a character, not in the GSM table (0x00 is '@') */
	measure(LIT("a\0b"), 3, 1, 1);
}
