/*
 * Unit tests of the CSV decoder and encoder (src/csv.c).
 *
 * Most tests go through check(): it decodes an input four ways (whole; one
 * byte at a time with the buffer moved to a fresh allocation before every
 * call, as a compacting caller would; in seeded random chunks; and placed
 * against a guard page so that any over-read faults) and compares each
 * with the same expected transcript. A transcript has one line per record
 * or reject:
 *
 *     R<line>@<offset>[field|field|...]
 *     X<line>@<offset>:<reason>
 *
 * with \n, \r, \0, | and \ escaped in field values, and other bytes as is.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cdrmin/buf.h"
#include "cdrmin/csv.h"
#include "cdrmin/err.h"
#include "cdrmin/record.h"

TestSuite(csv);

/* A string literal with its length, NUL bytes included. */
#define LIT(s) (s), (sizeof(s) - 1)

static uint64_t rng_state;

static uint32_t rng(void)
{
	/* xorshift64*: a fixed seed makes every run the same. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static void put_escaped(struct cm_buf *t, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		switch (p[i]) {
		case '\n': cm_buf_adds(t, "\\n"); break;
		case '\r': cm_buf_adds(t, "\\r"); break;
		case '\0': cm_buf_adds(t, "\\0"); break;
		case '|': cm_buf_adds(t, "\\|"); break;
		case '\\': cm_buf_adds(t, "\\\\"); break;
		default: cm_buf_addc(t, p[i]); break;
		}
	}
}

/* Appends one result to the transcript t. */
static void note(struct cm_buf *t, const struct cm_csv_result *res)
{
	size_t i;

	if (res->what == CM_CSV_NOTHING)
		return;
	cm_buf_addc(t, res->what == CM_CSV_RECORD ? 'R' : 'X');
	cm_buf_addu(t, res->rec.line);
	cm_buf_addc(t, '@');
	cm_buf_addu(t, res->rec.offset);
	if (res->what == CM_CSV_REJECT) {
		cm_buf_addc(t, ':');
		cm_buf_adds(t, cm_reject_name(res->reason));
		cm_buf_addc(t, '\n');
		return;
	}
	cm_buf_addc(t, '[');
	for (i = 0; i < res->rec.n; i++) {
		if (i)
			cm_buf_addc(t, '|');
		put_escaped(t, res->rec.f[i].p, res->rec.f[i].n);
	}
	cm_buf_adds(t, "]\n");
}

static void init_dec(struct cm_csv *dec, size_t max, char delim)
{
	struct cm_csv_opts o;

	cm_csv_opts_default(&o);
	if (max)
		o.max_record = max;
	if (delim)
		o.delim = delim;
	cr_assert_eq(cm_csv_init(dec, &o), 0);
}

/* The buffer a caller keeps between calls: unconsumed bytes only. */
struct feed {
	char *p;
	size_t n;
};

/* Moves the feed to a fresh allocation of n + extra bytes (a caller that
 * compacts its buffer), dropping the first drop bytes. */
static void feed_move(struct feed *f, size_t drop, const char *extra, size_t nextra)
{
	size_t keep = f->n - drop;
	char *p = malloc(keep + nextra ? keep + nextra : 1);

	cr_assert_not_null(p);
	if (keep)
		memcpy(p, f->p + drop, keep);
	if (nextra)
		memcpy(p + keep, extra, nextra);
	free(f->p);
	f->p = p;
	f->n = keep + nextra;
}

/*
 * Decodes in[0..n) fed in chunks: chunk 0 means all at once, k > 0 k bytes
 * at a time, -1 random sizes. The buffer moves before every call. Checks
 * that a CM_NEED_MORE leaves the bytes alone and that the caller never
 * has to hold more than max_record + 1 bytes.
 */
static void decode(struct cm_buf *t, const char *in, size_t n, size_t max, char delim,
		   int chunk)
{
	struct cm_csv dec;
	struct cm_csv_result res;
	struct feed f = {NULL, 0};
	size_t fed = 0, step, calls = 0;
	char *before = NULL;
	ssize_t r;

	init_dec(&dec, max, delim);
	cm_buf_reset(t);
	feed_move(&f, 0, NULL, 0);
	for (;;) {
		int eof = fed == n;

		if (before)
			free(before);
		before = malloc(f.n ? f.n : 1);
		cr_assert_not_null(before);
		if (f.n)
			memcpy(before, f.p, f.n);
		r = cm_csv_next(&dec, f.p, f.n, eof, &res);
		cr_assert(++calls < 10 * n + 100, "decoder does not progress");
		if (r == 0) {
			cr_assert(eof && f.n == 0, "0 returned with %zu bytes left", f.n);
			break;
		}
		if (r == CM_NEED_MORE) {
			cr_assert(!eof, "CM_NEED_MORE at eof");
			cr_assert(f.n == 0 || memcmp(before, f.p, f.n) == 0,
				  "bytes changed on CM_NEED_MORE");
			cr_assert(f.n <= dec.o.max_record, "caller must hold more than max_record + 1");
			if (chunk == 0)
				step = n - fed;
			else if (chunk > 0)
				step = (size_t)chunk;
			else
				step = 1 + rng() % 7;
			if (step > n - fed)
				step = n - fed;
			feed_move(&f, 0, in + fed, step);
			fed += step;
			continue;
		}
		cr_assert(r > 0 && (size_t)r <= f.n, "bad return %zd for %zu bytes", r, f.n);
		note(t, &res);
		feed_move(&f, (size_t)r, NULL, 0);
	}
	free(before);
	free(f.p);
	cm_csv_deinit(&dec);
}

/*
 * Decodes in[0..k) placed right after an inaccessible page (before set) or
 * right before one, so that any read out of [buf, buf + len) faults. After
 * each record the rest is moved back against the guard, as a compacting
 * caller would. Appends to t when not NULL.
 */
static void guard_run(char *map, size_t span, size_t pg, int before, const char *in, size_t k,
		      size_t max, char delim, int eof, struct cm_buf *t)
{
	struct cm_csv dec;
	struct cm_csv_result res;
	char *p = before ? map + pg : map + span - k, *dst;
	size_t left = k;
	ssize_t r;

	init_dec(&dec, max, delim);
	memcpy(p, in, k);
	for (;;) {
		r = cm_csv_next(&dec, p, left, eof, &res);
		if (r <= 0)
			break;
		cr_assert((size_t)r <= left);
		if (t)
			note(t, &res);
		left -= (size_t)r;
		dst = before ? map + pg : map + span - left;
		memmove(dst, p + r, left);
		p = dst;
	}
	if (eof)
		cr_assert_eq(r, 0, "guarded decode of %zu bytes returned %zd", k, r);
	else
		cr_assert_eq(r, CM_NEED_MORE, "guarded prefix of %zu bytes returned %zd", k, r);
	cm_csv_deinit(&dec);
}

/*
 * Decodes in[0..n) against a guard page (after it, or before it), and
 * every prefix of it with and without eof, so truncation at any byte is
 * covered too. The transcript of the whole input goes to t.
 */
static void decode_guarded(struct cm_buf *t, const char *in, size_t n, size_t max, char delim,
			   int before)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = ((n + pg - 1) / pg + 1) * pg;
	char *map;
	size_t k;

	map = mmap(NULL, span + pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(map != MAP_FAILED);
	cr_assert_eq(mprotect(before ? map : map + span, pg, PROT_NONE), 0);
	for (k = 0; k < n; k++) {
		guard_run(map, span, pg, before, in, k, max, delim, 0, NULL);
		guard_run(map, span, pg, before, in, k, max, delim, 1, NULL);
	}
	cm_buf_reset(t);
	guard_run(map, span, pg, before, in, n, max, delim, 1, t);
	munmap(map, span + pg);
}

static void check_opts(const char *in, size_t n, size_t max, char delim, const char *want)
{
	struct cm_buf t;
	int mode;
	static const char *const names[] = {"whole", "bytewise", "random chunks"};

	cm_buf_init(&t);
	rng_state = 0x9e3779b97f4a7c15ull;
	for (mode = 0; mode < 3; mode++) {
		decode(&t, in, n, max, delim, mode == 2 ? -1 : mode);
		cm_buf_addc(&t, '\0');
		cr_assert_str_eq(t.p, want, "%s feed, got:\n%s", names[mode], t.p);
	}
	decode_guarded(&t, in, n, max, delim, 0);
	cm_buf_addc(&t, '\0');
	cr_assert_str_eq(t.p, want, "guard page after, got:\n%s", t.p);
	decode_guarded(&t, in, n, max, delim, 1);
	cm_buf_addc(&t, '\0');
	cr_assert_str_eq(t.p, want, "guard page before, got:\n%s", t.p);
	cm_buf_deinit(&t);
}

static void check(const char *in, size_t n, const char *want)
{
	check_opts(in, n, 0, 0, want);
}

Test(csv, plain_records)
{
	check(LIT("a,b,c\nd,e,f\n"), "R1@0[a|b|c]\nR2@6[d|e|f]\n");
}

Test(csv, quoted_commas)
{
	check(LIT("a,\"b,c\",d\n\"x,\",\",y\"\n"), "R1@0[a|b,c|d]\nR2@10[x,|,y]\n");
}

Test(csv, doubled_quotes)
{
	check(LIT("\"say \"\"hi\"\"\",x\n\"\"\"\"\n\"\"\n\"a\"\"\"\"b\"\n"),
	      "R1@0[say \"hi\"|x]\nR2@15[\"]\nR3@20[]\nR4@23[a\"\"b]\n");
}

Test(csv, newline_inside_quotes_keeps_line_numbers)
{
	check(LIT("a,\"l1\nl2\n\",b\nc,d\n\"\n\"\ne\n"),
	      "R1@0[a|l1\\nl2\\n|b]\nR4@13[c|d]\nR5@17[\\n]\nR7@21[e]\n");
}

Test(csv, crlf_and_lf_give_same_fields)
{
	struct cm_buf a, b;

	cm_buf_init(&a);
	cm_buf_init(&b);
	decode(&a, LIT("a,\"b\r\nc\",d\r\ne,\"\"\r\n\"f\"\r\n"), 0, 0, 0);
	decode(&b, LIT("a,\"b\r\nc\",d\ne,\"\"\n\"f\"\n"), 0, 0, 0);
	cm_buf_addc(&a, '\0');
	cm_buf_addc(&b, '\0');
	/* Same fields, offsets differ by the CRs */
	cr_assert_str_eq(a.p, "R1@0[a|b\\r\\nc|d]\nR3@12[e|]\nR4@18[f]\n");
	cr_assert_str_eq(b.p, "R1@0[a|b\\r\\nc|d]\nR3@11[e|]\nR4@16[f]\n");
	cm_buf_deinit(&a);
	cm_buf_deinit(&b);
	check(LIT("a,b\r\n\"c\"\r\n"), "R1@0[a|b]\nR2@5[c]\n");
}

Test(csv, cr_not_before_lf_is_data)
{
	check(LIT("a\rb,c\r\r\n\"x\ry\"\n"), "R1@0[a\\rb|c\\r]\nR2@8[x\\ry]\n");
}

Test(csv, last_line_without_newline)
{
	check(LIT("a,b\nc,d"), "R1@0[a|b]\nR2@4[c|d]\n");
	check(LIT("a,b\n\"c\",\"d\""), "R1@0[a|b]\nR2@4[c|d]\n");
	check(LIT("x"), "R1@0[x]\n");
}

Test(csv, crlf_last_line_without_newline)
{
	check(LIT("a,b\r\nc,d"), "R1@0[a|b]\nR2@5[c|d]\n");
	/* a CR at the very end is dropped as before a LF */
	check(LIT("a,b\r\nc,d\r"), "R1@0[a|b]\nR2@5[c|d]\n");
	check(LIT("a,b\r\nc,\"d\"\r"), "R1@0[a|b]\nR2@5[c|d]\n");
}

Test(csv, blank_lines)
{
	check(LIT("\n\r\na\n\n\r\n\r\nb\n\n"), "R3@3[a]\nR7@10[b]\n");
	check(LIT("\n\n\r\n\r"), "");
	check(LIT(""), "");
}

Test(csv, garbage_after_closing_quote)
{
	check(LIT("\"a\"b,c\nd\n"), "X1@0:quote\nR2@7[d]\n");
	check(LIT("\"a\" ,b\nd\n"), "X1@0:quote\nR2@7[d]\n");
	check(LIT("x,\"a\"\rb\nd\n"), "X1@0:quote\nR2@8[d]\n");
	check(LIT("\"a\"\"b\"c\nd\n"), "X1@0:quote\nR2@8[d]\n");
	/* a CR after a closing quote must be the CR of a CRLF */
	check(LIT("\"a\"\r\"b\"\nd\n"), "X1@0:quote\nR2@8[d]\n");
	/* the garbage makes the rest of that field unquoted: its LF ends it */
	check(LIT("\"a\"b\"\nd\n"), "X1@0:quote\nR2@6[d]\n");
}

Test(csv, lone_quote_in_unquoted_field)
{
	check(LIT("ab\"c,d\"\n5\" disk,x\n"), "R1@0[ab\"c|d\"]\nR2@8[5\" disk|x]\n");
	check(LIT("a,b\"\nc\n"), "R1@0[a|b\"]\nR2@5[c]\n");
}

Test(csv, unterminated_quote_at_eof)
{
	check(LIT("ok\na,\"bc\nd,e\nf\n"), "R1@0[ok]\nX2@3:quote\n");
	check(LIT("\""), "X1@0:quote\n");
	check(LIT("\"\"\"\r\n"), "X1@0:quote\n");
}

Test(csv, nul_byte_rejects_the_record)
{
	check(LIT("a,b\0c\nd\n"), "X1@0:nul\nR2@6[d]\n");
	check(LIT("\0\nd\n"), "X1@0:nul\nR2@2[d]\n");
	check(LIT("\"a\0\nb\",c\nd\n"), "X1@0:nul\nR3@9[d]\n");
	check(LIT("x,\"a\"\"\0\"\nd"), "X1@0:nul\nR2@9[d]\n");
	/* NUL wins over an open quote and over bytes after a closing quote */
	check(LIT("ok\n\"a\0b"), "R1@0[ok]\nX2@3:nul\n");
	check(LIT("\"a\"x\0\nd\n"), "X1@0:nul\nR2@6[d]\n");
}

Test(csv, overlong_record_rejected_once_then_resume)
{
	char in[256];
	size_t n = 0;

	n += (size_t)sprintf(in + n, "short\n");
	memset(in + n, 'x', 40);
	n += 40;
	n += (size_t)sprintf(in + n, "\nafter,1\n");
	check_opts(in, n, 16, 0, "R1@0[short]\nX2@6:too-long\nR3@47[after|1]\n");

	/* exactly max_record bytes before the LF is fine, one more is not */
	check_opts(LIT("1234567890123456\n12345678901234567\nok\n"), 16, 0,
		   "R1@0[1234567890123456]\nX2@17:too-long\nR3@35[ok]\n");
	/* the CR of a CRLF counts */
	check_opts(LIT("123456789012345\r\n1234567890123456\r\nok\r\n"), 16, 0,
		   "R1@0[123456789012345]\nX2@17:too-long\nR3@35[ok]\n");
	/* an over-long last line without a LF */
	check_opts(LIT("a\n12345678901234567"), 16, 0, "R1@0[a]\nX2@2:too-long\n");
	check_opts(LIT("a\n1234567890123456"), 16, 0, "R1@0[a]\nR2@2[1234567890123456]\n");
}

Test(csv, overlong_quoted_record_resyncs_at_next_line)
{
	/* The tail of an over-long record is dropped up to the LF that ends
	 * it, with quotes tracked from its first byte: LFs inside a quoted
	 * field are data, even past the limit. Line numbers count them. */
	check_opts(LIT("\"a\nb\nccccccccccccccccccc\ndd\"\nok\n"), 16, 0,
		   "X1@0:too-long\nR5@29[ok]\n");
	/* "" inside the quoted tail is two toggles: still quoted */
	check_opts(LIT("a,\"bbbbbbbbbbbbbbbbbbbb\"\"\nx,y\n\"\"\"\nok\n"), 16, 0,
		   "X1@0:too-long\nR4@34[ok]\n");
	/* the quote opens at the first byte past the limit */
	check_opts(LIT("aaaaaaaaaaaaaaaa,\"x\ny\n\"\nok\n"), 16, 0,
		   "X1@0:too-long\nR4@24[ok]\n");
	/* and at the limit's last byte */
	check_opts(LIT("aaaaaaaaaaaaaaa,\"x\ny\n\"\nok\n"), 16, 0,
		   "X1@0:too-long\nR4@23[ok]\n");
	/* a field closed before the limit: the next LF ends the record */
	check_opts(LIT("\"a\nb\",cccccccccccccccc\nok\n"), 8, 0, "X1@0:too-long\nR3@23[ok]\n");
}

Test(csv, overlong_record_with_quoted_free_text_leaks_nothing)
{
	/* The review's reproducer in small: an over-long record's quoted notes
	 * hold LFs and lines shaped like records. None of them may come out
	 * as a record; the record after the closing quote's line does. */
	static const char in[] =
		"h,n\n"
		"r1,answered,\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n"
		"r2,Alice 020 7946 0123 alice@example.com,x,y\n"
		"\",z\n"
		"r3,ok\n";

	check_opts(LIT(in), 32, 0, "R1@0[h|n]\nX2@4:too-long\nR5@107[r3|ok]\n");
	/* the same with CRLF line ends, inside the quotes and out */
	check_opts(LIT("h,n\r\n"
		       "r1,\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
		       "r2,Alice,x\r\n"
		       "\",z\r\n"
		       "r3,ok\r\n"),
		   32, 0, "R1@0[h|n]\nX2@5:too-long\nR5@60[r3|ok]\n");
}

Test(csv, overlong_quote_follows_the_decoders_own_grammar)
{
	/* The tail ends where the decoder would end the record with no limit:
	 * a quote inside an unquoted field is data there, not a toggle (a
	 * parity count would end this record inside the quoted notes and
	 * decode "text" as a record). */
	check_opts(LIT("x,5\" disk,\"free\ntext\",yyyyyyyyyy\nok\n"), 16, 0,
		   "X1@0:too-long\nR3@33[ok]\n");
	check_opts(LIT("x,5\" disk,yyyyyyyyyy\nnext\n"), 16, 0, "X1@0:too-long\nR2@21[next]\n");
	/* bytes after a closing quote make the rest of the field unquoted */
	check_opts(LIT("\"a\"b\"cccccccccccccccc\nnext\n"), 8, 0,
		   "X1@0:too-long\nR2@22[next]\n");
	/* a CR after a closing quote, at the limit's last byte and not before
	 * a LF: the quote after it is data, as when unlimited */
	check_opts(LIT("\"abc\"\r\"x\nstill\n\"\nok\n"), 5, 0,
		   "X1@0:too-long\nR2@9[still]\nX3@15:quote\n");
	check_opts(LIT("\"abc\"\r\"x\nstill\n\"\nok\n"), 0, 0,
		   "X1@0:quote\nR2@9[still]\nX3@15:quote\n");
	/* a CRLF right after the closing quote at the limit ends the record */
	check_opts(LIT("\"abc\"\r\nok\r\n"), 5, 0, "X1@0:too-long\nR2@7[ok]\n");
	check_opts(LIT("\"abc\"\r\nok\r\n"), 4, 0, "X1@0:too-long\nR2@7[ok]\n");
}

Test(csv, overlong_stray_quote_runs_to_eof)
{
	/* Fail closed: a quote that never closes makes the rest of the input
	 * one rejected record, reported once, with nothing after it. */
	check_opts(LIT("ok\na,\"b\nc\nd\ne\nf\ng\nh\ni\n"), 8, 0, "R1@0[ok]\nX2@3:too-long\n");
	check_opts(LIT("a,\"bbbbbbbbbbbbbbbbbbbbbbbbbb"), 8, 0, "X1@0:too-long\n");
	check_opts(LIT("\"\r\n\r\n,,,\r\nx,y\r\n"), 4, 0, "X1@0:too-long\n");
	/* three quotes: the third reopens */
	check_opts(LIT("\"a\"\"bbbbbbbbbbbbbb\nc\nd\n"), 8, 0, "X1@0:too-long\n");
}

Test(csv, overlong_tail_closes_many_chunks_later)
{
	/* A quoted field of 20 KiB past a 64-byte limit, full of LFs, CRLFs,
	 * "" and delimiters, fed whole, bytewise, in random chunks and at a
	 * guard page (check_opts), so every "" and CRLF is split by a refill
	 * somewhere. */
	enum { BODY = 20 * 1024 };
	static const char piece[] = "r9,\"\"x\"\",y\r\n\"\"\n";
	struct cm_buf in;
	char want[64];

	cm_buf_init(&in);
	cm_buf_adds(&in, "a\nid,\"");
	while (in.n < BODY)
		cm_buf_adds(&in, piece);
	cm_buf_adds(&in, "\",z\nb,c\n");
	cr_assert(!in.oom);
	snprintf(want, sizeof want, "R1@0[a]\nX2@2:too-long\nR%llu@%zu[b|c]\n",
		 (unsigned long long)(2 + 2 * ((BODY - 6 + sizeof piece - 2) / (sizeof piece - 1)) + 1),
		 in.n - 4);
	check_opts(in.p, in.n, 64, 0, want);
	cm_buf_deinit(&in);
}

Test(csv, overlong_reproducer_at_default_limit)
{
	/* The review's reproducer as given, at the default 1 MiB limit: the
	 * notes field's 1 MiB of x then a LF, and a line shaped like a record
	 * inside the quotes. Fed whole and in fixed chunks of 4093 bytes. */
	static const char r2[] = "r2,+442079460123,+442079460124,2024-03-01T10:00:00Z,5,"
				 "192.0.2.1,Alice 020 7946 0123 alice@example.com,x,y\n";
	struct cm_buf in, t;
	size_t head;
	char want[128];
	int mode;

	cm_buf_init(&in);
	cm_buf_init(&t);
	cm_buf_adds(&in, "id,a,b,t,d,ip,st,notes\n");
	head = in.n;
	cm_buf_adds(&in, "r1,+442079460123,+442079460124,2024-03-01T10:00:00Z,5,192.0.2.1,"
			 "answered,\"");
	cr_assert_eq(cm_buf_reserve(&in, CM_CSV_MAX_RECORD_DEFAULT), 0);
	memset(in.p + in.n, 'x', CM_CSV_MAX_RECORD_DEFAULT);
	in.n += CM_CSV_MAX_RECORD_DEFAULT;
	cm_buf_adds(&in, "\n");
	cm_buf_adds(&in, r2);
	cm_buf_adds(&in, "\",z\nr3,ok\n");
	cr_assert(!in.oom);
	snprintf(want, sizeof want, "R1@0[id|a|b|t|d|ip|st|notes]\nX2@%zu:too-long\nR5@%zu[r3|ok]\n",
		 head, in.n - 6);
	for (mode = 0; mode < 2; mode++) {
		decode(&t, in.p, in.n, 0, 0, mode ? 4093 : 0);
		cm_buf_addc(&t, '\0');
		cr_assert_str_eq(t.p, want, "%s, got:\n%s", mode ? "chunked" : "whole", t.p);
	}
	cm_buf_deinit(&t);
	cm_buf_deinit(&in);
}

Test(csv, last_skip_line_says_where_the_skipped_record_ended)
{
	struct cm_csv dec;
	struct cm_csv_result res;
	char b[] = "aaaaaaaaaaa,\"x\ny\nz\"\nok\n";
	ssize_t r;

	/* the end is in the buffer: the reject itself finishes the skip */
	init_dec(&dec, 8, 0);
	r = cm_csv_next(&dec, b, sizeof b - 1, 0, &res);
	cr_assert_eq(r, 20);
	cr_assert_eq(res.what, CM_CSV_REJECT);
	cr_assert_eq(res.rec.line, 1);
	cr_assert_eq(dec.skipping, 0);
	cr_assert_eq(dec.last_skip_line, 3);
	cr_assert_eq(dec.line, 4);
	cm_csv_deinit(&dec);

	/* the end comes in a later call: 0 until the CM_CSV_NOTHING that ends it */
	init_dec(&dec, 8, 0);
	r = cm_csv_next(&dec, b, 14, 0, &res);
	cr_assert_eq(r, 14);
	cr_assert_eq(res.what, CM_CSV_REJECT);
	cr_assert_eq(dec.skipping, 1);
	cr_assert_eq(dec.last_skip_line, 0);
	r = cm_csv_next(&dec, b + 14, 3, 0, &res); /* "\ny\n": in the quotes */
	cr_assert_eq(r, 3);
	cr_assert_eq(res.what, CM_CSV_NOTHING);
	cr_assert_eq(dec.skipping, 1);
	cr_assert_eq(dec.last_skip_line, 0);
	r = cm_csv_next(&dec, b + 17, sizeof b - 1 - 17, 0, &res);
	cr_assert_eq(r, 3);
	cr_assert_eq(res.what, CM_CSV_NOTHING);
	cr_assert_eq(dec.skipping, 0);
	cr_assert_eq(dec.last_skip_line, 3);
	cr_assert_eq(dec.line, 4);
	r = cm_csv_next(&dec, b + 20, sizeof b - 1 - 20, 0, &res);
	cr_assert_eq(res.what, CM_CSV_RECORD);
	cr_assert_eq(res.rec.line, 4);

	/* run to the end of the input: stays 0 */
	r = cm_csv_next(&dec, b, 16, 1, &res);
	cr_assert_eq(res.what, CM_CSV_REJECT);
	cr_assert_eq(dec.skipping, 1);
	cr_assert_eq(cm_csv_next(&dec, b, 0, 1, &res), 0);
	cr_assert_eq(dec.skipping, 0);
	cr_assert_eq(dec.last_skip_line, 0);
	cm_csv_deinit(&dec);
}

/* The "<line>@<offset>" of each line of transcript t, one a line. */
static void starts(struct cm_buf *out, const struct cm_buf *t)
{
	size_t i = 0, j;

	cm_buf_reset(out);
	while (i < t->n) {
		for (j = i + 1; j < t->n && t->p[j] != ':' && t->p[j] != '['; j++)
			;
		cm_buf_add(out, t->p + i + 1, j - i - 1);
		cm_buf_addc(out, '\n');
		while (j < t->n && t->p[j] != '\n')
			j++;
		i = j + 1;
	}
	cm_buf_addc(out, '\0');
}

Test(csv, random_bytes_overlong_records_end_where_unlimited_ones_do)
{
	/* Hostile input again, decoded with a tiny max_record and with the
	 * default: each too-long reject must stand for exactly one record of
	 * the unlimited decode, starting at the same line and offset, so that
	 * no byte of it is decoded as a record of its own and no record after
	 * it is lost. */
	static const char alpha[] = {',', '"', '"', '\n', '\r', 'a', 'a', ' '};
	char in[80];
	struct cm_buf small, big, s1, s2;
	size_t i, j, n;

	cm_buf_init(&small);
	cm_buf_init(&big);
	cm_buf_init(&s1);
	cm_buf_init(&s2);
	for (i = 0; i < 400; i++) {
		rng_state = 0x1f83d9abfb41bd6bull + i;
		n = rng() % sizeof in;
		for (j = 0; j < n; j++)
			in[j] = alpha[rng() % sizeof alpha];
		decode(&big, in, n, 0, 0, 0);
		decode(&small, in, n, 6, 0, -1);
		starts(&s1, &big);
		starts(&s2, &small);
		cr_assert(!s1.oom && !s2.oom);
		cr_assert_str_eq(s2.p, s1.p, "input %zu: record starts differ", i);
	}
	cm_buf_deinit(&small);
	cm_buf_deinit(&big);
	cm_buf_deinit(&s1);
	cm_buf_deinit(&s2);
}

Test(csv, empty_fields)
{
	check(LIT(",,\na,,b\n\"\",\"\"\n,\n"),
	      "R1@0[||]\nR2@3[a||b]\nR3@8[|]\nR4@14[|]\n");
}

Test(csv, single_column)
{
	check(LIT("x\ny\n\"z\"\n"), "R1@0[x]\nR2@2[y]\nR3@4[z]\n");
}

Test(csv, utf8_and_other_bytes_pass_untouched)
{
	check(LIT("Zo\xc3\xab,\xe6\x9d\xb1\xe4\xba\xac,\"\xc3\x9c, ok\"\n\xff\xfe,\x80\n"),
	      "R1@0[Zo\xc3\xab|\xe6\x9d\xb1\xe4\xba\xac|\xc3\x9c, ok]\nR2@21[\xff\xfe|\x80]\n");
}

Test(csv, other_delimiters)
{
	check_opts(LIT("a;b,c;\"d;e\"\n"), 0, ';', "R1@0[a|b,c|d;e]\n");
	check_opts(LIT("a\tb,c\t\"d\te\"\n"), 0, '\t', "R1@0[a|b,c|d\te]\n");
}

Test(csv, eof_and_empty_input)
{
	struct cm_csv dec;
	struct cm_csv_result res;
	char b[1];

	init_dec(&dec, 0, 0);
	cr_assert_eq(cm_csv_next(&dec, b, 0, 0, &res), CM_NEED_MORE);
	cr_assert_eq(cm_csv_next(&dec, b, 0, 1, &res), 0);
	cm_csv_deinit(&dec);
}

Test(csv, init_refuses_ambiguous_delimiters)
{
	struct cm_csv dec;
	struct cm_csv_opts o;
	const char bad[] = {'"', '\r', '\n', '\0'};
	size_t i;

	for (i = 0; i < sizeof bad; i++) {
		cm_csv_opts_default(&o);
		o.delim = bad[i];
		cr_assert_eq(cm_csv_init(&dec, &o), -1, "delim 0x%02x", bad[i]);
	}
	cr_assert_eq(cm_csv_init(&dec, NULL), 0);
	cr_assert_eq(dec.o.delim, ',');
	cr_assert_eq(dec.o.max_record, CM_CSV_MAX_RECORD_DEFAULT);
	cm_csv_deinit(&dec);
}

Test(csv, reset_restarts_counting)
{
	struct cm_csv dec;
	struct cm_csv_result res;
	char b[] = "a\nb\n";

	init_dec(&dec, 0, 0);
	cr_assert_eq(cm_csv_next(&dec, b, 4, 0, &res), 2);
	cr_assert_eq(dec.line, 2);
	cr_assert_eq(dec.offset, 2);
	dec.skipping = 1;
	dec.last_skip_line = 7;
	cm_csv_reset(&dec);
	cr_assert_eq(dec.line, 1);
	cr_assert_eq(dec.offset, 0);
	cr_assert_eq(dec.skipping, 0);
	cr_assert_eq(dec.last_skip_line, 0);
	cr_assert_eq(cm_csv_next(&dec, b + 2, 2, 0, &res), 2);
	cr_assert_eq(res.what, CM_CSV_RECORD);
	cr_assert_eq(res.rec.line, 1);
	cr_assert(cm_slice_eq(res.rec.f[0], "b", 1));
	cm_csv_deinit(&dec);
}

Test(csv, field_count_is_capped)
{
	size_t n = CM_CSV_MAX_FIELDS;
	char *in = malloc(5 * (n + 1) + 8);
	struct cm_csv dec;
	struct cm_csv_result res;
	size_t i, len;
	ssize_t r;

	cr_assert_not_null(in);
	init_dec(&dec, 0, 0);
	/* exactly CM_CSV_MAX_FIELDS fields: accepted */
	for (i = 0, len = 0; i < n; i++) {
		in[len++] = 'x';
		in[len++] = ',';
	}
	in[len - 1] = '\n';
	r = cm_csv_next(&dec, in, len, 1, &res);
	cr_assert_eq(r, (ssize_t)len);
	cr_assert_eq(res.what, CM_CSV_RECORD);
	cr_assert_eq(res.rec.n, n);
	/* one more, quoted with "" this time: rejected, bytes untouched */
	for (i = 0, len = 0; i < n + 1; i++) {
		if (i)
			in[len++] = ',';
		in[len++] = '"';
		in[len++] = '"';
		in[len++] = '"';
		in[len++] = '"';
	}
	in[len++] = '\n';
	r = cm_csv_next(&dec, in, len, 1, &res);
	cr_assert_eq(r, (ssize_t)len);
	cr_assert_eq(res.what, CM_CSV_REJECT);
	cr_assert_eq(res.reason, CM_REJ_COLUMNS);
	cr_assert_eq(memcmp(in, "\"\"\"\",\"\"\"\",", 10), 0, "rejected record was modified");
	cm_csv_deinit(&dec);
	free(in);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(csv, need_more_leaves_bytes_and_resumes_scan)
{
	/* A 1 MiB record, quoted with many LFs and "" inside, or plain, fed 16
	 * bytes at a time into a buffer that grows: each refill must resume
	 * where the scan stopped. Rescanning from the record's start would
	 * read some 34 GB here (tens of seconds); resuming reads 1 MiB. And no
	 * byte may change before the record is complete. */
	size_t n = 1u << 20, len, i, pairs, want, calls;
	char *in = malloc(n), *buf = malloc(n);
	struct cm_csv dec;
	struct cm_csv_result res;
	ssize_t r = CM_NEED_MORE;
	double t0, t;
	int quoted;

	cr_assert(in && buf);
	for (quoted = 0; quoted < 2; quoted++) {
		/* in[0..n-1) is the record, in[n-2] its LF */
		pairs = 0;
		for (i = 0; i < n - 2; i++) {
			in[i] = 'a';
			if (quoted && i % 100 == 0)
				in[i] = '\n';
			if (quoted && i % 100 == 50)
				in[i] = in[i + 1] = '"', pairs++;
			else if (quoted && i % 100 == 51)
				in[i] = '"';
		}
		if (quoted)
			in[0] = in[n - 3] = '"';
		in[n - 2] = '\n';
		want = quoted ? n - 4 - pairs : n - 2;
		init_dec(&dec, n, 0);
		t0 = cpu_seconds();
		for (len = 0, calls = 0; len < n - 1; calls++) {
			size_t step = n - 1 - len < 16 ? n - 1 - len : 16;
			memcpy(buf + len, in + len, step);
			len += step;
			r = cm_csv_next(&dec, buf, len, 0, &res);
			if (r != CM_NEED_MORE)
				break;
			/* comparing every time would be quadratic itself */
			if (calls % 4096 == 0 || len + 16 >= n - 1)
				cr_assert_eq(memcmp(buf, in, len), 0, "changed before complete");
		}
		t = cpu_seconds() - t0;
		cr_assert(t < 2.0, "%s: %.2f s for %zu refills: rescanning?",
			  quoted ? "quoted" : "plain", t, calls);
		cr_assert_eq(r, (ssize_t)(n - 1));
		cr_assert_eq(res.what, CM_CSV_RECORD);
		cr_assert_eq(res.rec.n, 1);
		cr_assert_eq(res.rec.f[0].n, want);
		cr_assert_eq(res.rec.line, 1);
		cr_assert_eq(dec.line, 2 + (quoted ? (n - 4) / 100 : 0));
		cm_csv_deinit(&dec);
	}
	free(in);
	free(buf);
}

static void put_is(const char *p, size_t n, char delim, const char *want)
{
	struct cm_buf b;

	cm_buf_init(&b);
	cm_csv_put(&b, p, n, delim);
	cm_buf_addc(&b, '\0');
	cr_assert(!b.oom);
	cr_assert_str_eq(b.p, want);
	cm_buf_deinit(&b);
}

Test(csv, put_quotes_only_when_needed)
{
	put_is(LIT("plain"), ',', "plain");
	put_is(LIT(""), ',', "");
	put_is(LIT(" lead and trail "), ',', " lead and trail ");
	put_is(LIT("a,b"), ',', "\"a,b\"");
	put_is(LIT("a,b"), ';', "a,b");
	put_is(LIT("a;b"), ';', "\"a;b\"");
	put_is(LIT("a\tb"), '\t', "\"a\tb\"");
	put_is(LIT("say \"hi\""), ',', "\"say \"\"hi\"\"\"");
	put_is(LIT("\""), ',', "\"\"\"\"");
	put_is(LIT("\"\""), ',', "\"\"\"\"\"\"");
	put_is(LIT("cr\rhere"), ',', "\"cr\rhere\"");
	put_is(LIT("lf\n"), ',', "\"lf\n\"");
	put_is(LIT("Zo\xc3\xab"), ',', "Zo\xc3\xab");
}

Test(csv, random_round_trip)
{
	/* Random records of fields drawn from an alphabet heavy in the bytes
	 * that need quoting, encoded with cm_csv_put with LF or CRLF ends; the
	 * decoder (fed whole, bytewise, in chunks, at a guard page) must give
	 * the same fields back, at the right lines and offsets. */
	static const char alpha[] = {',', '"', '\n', '\r', ' ', 'a', 'b', '\xc3', '\xab', ';'};
	enum { RECORDS = 80, MAXF = 6, MAXLEN = 12 };
	char val[MAXLEN];
	struct cm_buf enc, want;
	uint64_t line = 1;
	size_t r, i, j, nf, len, start;

	rng_state = 0x2545f4914f6cdd1dull;
	cm_buf_init(&enc);
	cm_buf_init(&want);
	for (r = 0; r < RECORDS; r++) {
		start = enc.n;
		cm_buf_addc(&want, 'R');
		cm_buf_addu(&want, line);
		cm_buf_addc(&want, '@');
		cm_buf_addu(&want, start);
		cm_buf_addc(&want, '[');
		nf = 1 + rng() % MAXF;
		for (i = 0; i < nf; i++) {
			len = rng() % MAXLEN;
			for (j = 0; j < len; j++)
				val[j] = alpha[rng() % sizeof alpha];
			if (i) {
				cm_buf_addc(&enc, ',');
				cm_buf_addc(&want, '|');
			}
			cm_csv_put(&enc, val, len, ',');
			put_escaped(&want, val, len);
			/* one empty field alone would be a blank line */
			if (nf == 1 && len == 0)
				cm_buf_adds(&enc, "\"\"");
		}
		cm_buf_adds(&enc, rng() % 2 ? "\r\n" : "\n");
		cm_buf_adds(&want, "]\n");
		for (j = start; j < enc.n; j++)
			line += enc.p[j] == '\n';
	}
	cm_buf_addc(&want, '\0');
	cr_assert(!enc.oom && !want.oom);
	check(enc.p, enc.n, want.p);
	cm_buf_deinit(&enc);
	cm_buf_deinit(&want);
}

Test(csv, random_bytes_decode_the_same_however_fed)
{
	/* Hostile input: short random strings of the bytes that matter, with a
	 * small max_record. Whatever they decode to, it must not depend on how
	 * they are fed or where they sit in memory. */
	static const char alpha[] = {',', '"', '"', '\n', '\r', '\0', 'a', '\xff'};
	char in[64];
	struct cm_buf whole;
	size_t i, j, n;

	cm_buf_init(&whole);
	for (i = 0; i < 300; i++) {
		rng_state = 0x853c49e6748fea9bull + i;
		n = rng() % sizeof in;
		for (j = 0; j < n; j++)
			in[j] = alpha[rng() % sizeof alpha];
		decode(&whole, in, n, 12, 0, 0);
		cm_buf_addc(&whole, '\0');
		check_opts(in, n, 12, 0, whole.p);
	}
	cm_buf_deinit(&whole);
}

/*
 * Appends a random CSV field: unquoted, quoted with "" and delimiters, CR
 * and LF inside, or (rarely) malformed: a stray quote, bytes after the
 * closing quote, a NUL, a CR not before a LF. Lengths cross the SIMD
 * scanner's 16- and 64-byte blocks.
 */
static void random_field(struct cm_buf *b)
{
	static const char plain[] = "ab9 +-@.;";
	static const char inside[] = "ab9,\",\n\r";
	size_t i, n = rng() % 5 == 0 ? 40 + rng() % 90 : rng() % 20;
	uint32_t kind = rng() % 64;

	if (kind < 28) {
		for (i = 0; i < n; i++)
			cm_buf_addc(b, plain[rng() % (sizeof plain - 1)]);
	} else if (kind < 60) {
		cm_buf_addc(b, '"');
		for (i = 0; i < n; i++) {
			char c = inside[rng() % (sizeof inside - 1)];

			cm_buf_addc(b, c);
			if (c == '"')
				cm_buf_addc(b, '"');
		}
		cm_buf_addc(b, '"');
	} else if (kind == 60) {
		cm_buf_adds(b, "a\"b");
	} else if (kind == 61) {
		cm_buf_adds(b, "\"ab\"c");
	} else if (kind == 62) {
		cm_buf_addc(b, 'a');
		cm_buf_addc(b, '\0');
	} else {
		cm_buf_adds(b, "a\rb");
	}
}

/*
 * Records of realistic shape, whole (the 64-byte block scanner) against one
 * byte at a time (the general scanner, which never sees a whole record at
 * its first call). Each seed is one input of 40 records.
 */
static void block_scanner_against_bytewise(void)
{
	struct cm_buf in, whole, bytewise;
	size_t i, r, f, nf;

	cm_buf_init(&in);
	cm_buf_init(&whole);
	cm_buf_init(&bytewise);
	for (i = 0; i < 60; i++) {
		rng_state = 0x2545f4914f6cdd1dull + i;
		cm_buf_reset(&in);
		for (r = 0; r < 40; r++) {
			nf = 1 + rng() % 24;
			for (f = 0; f < nf; f++) {
				if (f)
					cm_buf_addc(&in, ',');
				random_field(&in);
			}
			cm_buf_adds(&in, rng() % 4 == 0 ? "\r\n" : "\n");
			if (rng() % 16 == 0)
				cm_buf_adds(&in, rng() % 2 ? "\n" : "\r\n"); /* blank lines */
		}
		if (rng() % 2) /* the last line without its line break */
			in.n -= in.p[in.n - 2] == '\r' ? 2 : 1;
		decode(&whole, in.p, in.n, 0, 0, 0);
		decode(&bytewise, in.p, in.n, 0, 0, 1);
		cm_buf_addc(&whole, '\0');
		cm_buf_addc(&bytewise, '\0');
		cr_assert_str_eq(whole.p, bytewise.p, "seed %zu", i);
		cr_assert_gt(whole.n, 40, "seed %zu decoded nothing", i);
	}
	cm_buf_deinit(&in);
	cm_buf_deinit(&whole);
	cm_buf_deinit(&bytewise);
}

/* The block scanner the CPU runs: AVX2 where it has it (x86-64 since 2013). */
Test(csv, block_scanner_decodes_as_the_bytewise_scanner)
{
	block_scanner_against_bytewise();
}

/*
 * The SSE2 block scanner, which CPUs without AVX2 run: each test is its own
 * process, which asks the CPU (and the environment) at its first record.
 */
Test(csv, sse2_block_scanner_decodes_as_the_bytewise_scanner)
{
	cr_assert_eq(setenv("CDRMIN_NO_AVX2", "1", 1), 0);
	block_scanner_against_bytewise();
}

/*
 * A field that needs quotes is written quoted with each quote doubled, and
 * nothing else changed: quotes at random places (runs of them too) in
 * values of every length to 80, across the 16-byte blocks of the quoting,
 * against the rule written out byte by byte.
 */
Test(csv, put_doubles_every_quote_across_blocks)
{
	char val[80], want[2 * sizeof val + 2];
	struct cm_buf out;
	size_t n, i, w, round;

	cm_buf_init(&out);
	rng_state = 0x9e3779b97f4a7c15ull;
	for (n = 1; n <= sizeof val; n++) {
		for (round = 0; round < 40; round++) {
			for (i = 0; i < n; i++)
				val[i] = rng() % 5 == 0 ? '"' : (char)('a' + rng() % 26);
			if (round == 0)
				memset(val, '"', n);
			val[rng() % n] = '"'; /* at least one: the value is quoted */
			w = 0;
			want[w++] = '"';
			for (i = 0; i < n; i++) {
				want[w++] = val[i];
				if (val[i] == '"')
					want[w++] = '"';
			}
			want[w++] = '"';
			cm_buf_reset(&out);
			cm_csv_put(&out, val, n, ',');
			cr_assert_eq(out.n, w, "length %zu, round %zu", n, round);
			cr_assert(memcmp(out.p, want, w) == 0, "length %zu, round %zu", n, round);
		}
	}
	cm_buf_deinit(&out);
}

/*
 * Every length across the 4-, 8- and 16-byte checks and the 64-byte masked
 * one (AVX-512), a byte that needs quotes at every position (or none), next
 * to a plain field. cm_csv_put takes the SSE2 path.
 */
static void put_fields_against_put(void)
{
	static const char special[] = {'"', '\r', '\n', ';', 'a'};
	char val[70];
	struct cm_buf a, b;
	struct cm_slice v[3];
	size_t n, at, s, k;

	cm_buf_init(&a);
	cm_buf_init(&b);
	for (n = 0; n <= sizeof val; n++) {
		for (at = 0; at <= n; at++) {
			for (s = 0; s < sizeof special; s++) {
				for (k = 0; k < sizeof val; k++)
					val[k] = (char)('A' + k % 26); /* a byte not copied shows */
				if (at < n)
					val[at] = special[s];
				if (n < sizeof val)
					val[n] = '"'; /* a byte past the value that would need quotes */
				v[0].p = "lead";
				v[0].n = 4;
				v[1].p = val;
				v[1].n = n;
				v[2].p = val + at;
				v[2].n = n - at;
				cm_buf_reset(&a);
				cm_buf_reset(&b);
				cm_csv_put_fields(&a, v, 3, ';');
				cm_csv_put(&b, v[0].p, v[0].n, ';');
				cm_buf_addc(&b, ';');
				cm_csv_put(&b, v[1].p, v[1].n, ';');
				cm_buf_addc(&b, ';');
				cm_csv_put(&b, v[2].p, v[2].n, ';');
				cr_assert_eq(a.n, b.n, "length %zu, byte %d at %zu", n, special[s], at);
				cr_assert(memcmp(a.p, b.p, a.n) == 0, "length %zu, byte %d at %zu", n,
					  special[s], at);
				/* Quoted exactly when it holds a quote, CR, LF or the delimiter. */
				cr_assert_eq(a.p[5] == '"', at < n && special[s] != 'a',
					     "length %zu, byte %d at %zu", n, special[s], at);
			}
		}
	}
	cm_buf_deinit(&a);
	cm_buf_deinit(&b);
}

Test(csv, put_fields_writes_what_put_writes)
{
	put_fields_against_put();
}

/* The same without the AVX-512 path (the test's own process: the choice is made once). */
Test(csv, put_fields_writes_what_put_writes_without_avx512)
{
	cr_assert_eq(setenv("CDRMIN_NO_AVX512", "1", 1), 0);
	put_fields_against_put();
}

/*
 * Values that start right after an inaccessible page or end right before
 * one, at every length to 70: the checks' overlapping and masked loads stay
 * within the value (a read outside faults), and the output is the value,
 * quoted or not.
 */
Test(csv, put_fields_reads_only_the_value)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map, *mid;
	struct cm_slice v;
	struct cm_buf a, b;
	size_t n, i;
	int end;

	cr_assert_geq(page, 512);
	map = mmap(NULL, 3 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	cr_assert_neq(map, MAP_FAILED);
	cr_assert_eq(mprotect(map, (size_t)page, PROT_NONE), 0);
	cr_assert_eq(mprotect(map + 2 * page, (size_t)page, PROT_NONE), 0);
	mid = map + page;
	for (i = 0; i < (size_t)page; i++)
		mid[i] = (char)('a' + i % 23);
	mid[7] = '"'; /* near the start: values from there need quotes */
	cm_buf_init(&a);
	cm_buf_init(&b);
	for (end = 0; end <= 1; end++) {
		for (n = 0; n <= 70; n++) {
			v.p = end ? mid + page - n : mid;
			v.n = n;
			cm_buf_reset(&a);
			cm_buf_reset(&b);
			cm_csv_put_fields(&a, &v, 1, ',');
			if (n > 7 && !end) { /* quoted, its quote doubled */
				cm_buf_addc(&b, '"');
				cm_buf_add(&b, mid, 8);
				cm_buf_addc(&b, '"');
				cm_buf_add(&b, mid + 8, n - 8);
				cm_buf_addc(&b, '"');
			} else {
				cm_buf_add(&b, v.p, n);
			}
			cr_assert(!a.oom && !b.oom);
			cr_assert_eq(a.n, b.n, "%s, length %zu", end ? "end" : "start", n);
			/* empty: neither buffer has grown (p is NULL) */
			cr_assert(a.n == 0 || memcmp(a.p, b.p, a.n) == 0, "%s, length %zu",
				  end ? "end" : "start", n);
		}
	}
	cm_buf_deinit(&a);
	cm_buf_deinit(&b);
	munmap(map, 3 * (size_t)page);
}
