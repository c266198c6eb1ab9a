/*
 * \summary: libFuzzer target for the free-text scrubber (scrub.h), the
 * phone normalizer (phone.h) and the IP parser (ipaddr.h).
 *
 * The input is a free-text field. Its first byte c chooses the record's
 * protected numbers (ctx->row): one or two values, of c & 15 and c >> 4
 * bytes, taken from the bytes after it and normalized under country 44,
 * trunk 0, international 00, kept when E.164 or local as the plan keeps
 * them. The whole input is scrubbed twice, with tokens (fixed test key,
 * small memo cache) and redacted, and in both outputs no run of 8 ASCII
 * digits that is in the input may remain: that would be a leak. In the
 * token output the tokens themselves (key id, '.', base32, which holds
 * the digits 2 to 7) are skipped. cm_phone_normalize and cm_ip_parse also
 * run on the whole input. Every normalization (the whole input, the
 * numbers) is checked against the same bytes after a blank, which turns
 * the normalizer's short way for bare numbers off.
 *
 * Then the scrub templates of the field memo (fieldmemo.c): the input is
 * scrubbed through a memo (kept across inputs) twice, which stores its
 * template when it has one, then with the first protected number's digits
 * changed (each moved by 1 + the input's length, mod 10: the same shape)
 * under a row that holds the changed number, which such a template then
 * answers. Each answer must be the scrub's own bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdrmin/action.h"
#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/fieldmemo.h"
#include "cdrmin/ipaddr.h"
#include "cdrmin/key.h"
#include "cdrmin/phone.h"
#include "cdrmin/pseudo.h"
#include "cdrmin/record.h"
#include "cdrmin/scrub.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LEAK_DIGITS 8
#define TOKEN_DIGEST_CHARS 26 /* 128 bits in unpadded base32 */

/* A synthetic test key: never used for real data. */
static const unsigned char test_key[CM_KEY_BYTES] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

static struct cm_key key;
static struct cm_pseudo *engine;
static struct cm_numbering plan;
static struct cm_field_memo *memo;
static struct cm_action scrub_act;

/* Loads the test key through a 0600 temp file, once; kept for the process's life. */
static void setup(void)
{
	char path[] = "/tmp/cdrmin-fuzz-key-XXXXXX";
	struct cm_err err;
	int fd;

	if (cm_crypto_init(&err) != 0)
		abort();
	fd = mkstemp(path);
	if (fd < 0)
		abort();
	if (fchmod(fd, 0600) != 0 || write(fd, test_key, sizeof test_key) != (ssize_t)sizeof test_key)
		abort();
	close(fd);
	if (cm_key_load(&key, path, &err) != 0)
		abort();
	unlink(path);
	engine = cm_pseudo_new(&key, 64, &err);
	if (!engine)
		abort();
	cm_numbering_default(&plan);
	memcpy(plan.cc, "44", 3);
	memcpy(plan.trunk, "0", 2);
	memcpy(plan.intl, "00", 3);
	memo = cm_field_memo_new(256);
	if (!memo)
		abort();
	cm_action_init(&scrub_act, CM_ACT_SCRUB);
}

static int is_ascii_digit(char c) { return c >= '0' && c <= '9'; }

static int is_base32(char c) { return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'); }

/*
 * 1 when out[0..n) holds LEAK_DIGITS ASCII digits in a row that are also
 * in in[0..m). With kid set, the digest of each token (kid "." and 26
 * base32 characters) is skipped.
 */
static int leaks(const char *out, size_t n, const char *in, size_t m, const char *kid)
{
	size_t i = 0, run = 0, klen = kid ? strlen(kid) : 0, j;

	while (i < n) {
		if (kid && n - i >= klen + 1 + TOKEN_DIGEST_CHARS && memcmp(out + i, kid, klen) == 0 &&
		    out[i + klen] == '.') {
			for (j = 0; j < TOKEN_DIGEST_CHARS && is_base32(out[i + klen + 1 + j]); j++)
				;
			if (j == TOKEN_DIGEST_CHARS) {
				i += klen + 1 + TOKEN_DIGEST_CHARS;
				run = 0;
				continue;
			}
		}
		run = is_ascii_digit(out[i]) ? run + 1 : 0;
		i++;
		if (run >= LEAK_DIGITS && memmem(in, m, out + i - LEAK_DIGITS, LEAK_DIGITS))
			return 1;
	}
	return 0;
}

/* Scrubs in[0..n) with o and ctx and aborts on a failure or a leak. */
static void scrub(const struct cm_scrub_opts *o, const struct cm_scrub_ctx *ctx, const char *in,
		  size_t n, const char *kid)
{
	struct cm_buf out;

	cm_buf_init(&out);
	if (cm_scrub(o, ctx, in, n, &out) != 0)
		abort();
	if (leaks(out.p, out.n, in, n, kid))
		abort();
	cm_buf_deinit(&out);
}

/* v[0..n) through the memo and directly under c: the same answer and bytes, or abort. */
static void memo_same(struct cm_action_ctx *c, const char *v, size_t n)
{
	struct cm_buf want, got;
	int rw, rg;

	cm_buf_init(&want);
	cm_buf_init(&got);
	rw = cm_action_apply(&scrub_act, c, v, n, &want);
	rg = cm_field_memo_apply_h(memo, &scrub_act, c, v, n, 0, &got, NULL);
	if (rw != rg || want.oom || got.oom || want.n != got.n ||
	    (want.n && memcmp(want.p, got.p, want.n) != 0))
		abort();
	cm_buf_deinit(&want);
	cm_buf_deinit(&got);
}

/*
 * The template check above: in[0..n) with the row numbers row[0..nrow),
 * normalized from the bytes raw[k] of in (raw[0] at off0).
 */
static void templates(const char *in, size_t n, const struct cm_slice *row,
		      const struct cm_slice *raw, size_t nrow, size_t off0)
{
	struct cm_action_ctx c;
	struct cm_slice row2[2], raw2[2];
	struct cm_buf tmp, norm;
	enum cm_phone_class cls;
	char *v2;
	size_t i;

	if (nrow == 0 || n == 0)
		return;
	cm_buf_init(&tmp);
	cm_buf_init(&norm);
	memset(&c, 0, sizeof c);
	c.np = &plan;
	c.ps = engine;
	c.tmp = &tmp;
	c.row = row;
	c.nrow = nrow;
	c.rowraw = raw;
	memo_same(&c, in, n);
	memo_same(&c, in, n);
	v2 = malloc(n);
	if (!v2)
		abort();
	memcpy(v2, in, n);
	for (i = off0; i < off0 + raw[0].n; i++)
		if (v2[i] >= '0' && v2[i] <= '9')
			v2[i] = (char)('0' + (v2[i] - '0' + 1 + n) % 10);
	cls = cm_phone_normalize(&plan, v2 + off0, raw[0].n, &norm);
	if (norm.oom)
		abort();
	if (cls == CM_PHONE_E164 || cls == CM_PHONE_LOCAL) {
		row2[0].p = norm.p;
		row2[0].n = norm.n;
		raw2[0].p = v2 + off0;
		raw2[0].n = raw[0].n;
		for (i = 1; i < nrow; i++) {
			row2[i] = row[i];
			raw2[i] = raw[i];
		}
		c.row = row2;
		c.rowraw = raw2;
		memo_same(&c, v2, n);
	}
	free(v2);
	cm_buf_deinit(&norm);
	cm_buf_deinit(&tmp);
}

/*
 * cm_phone_normalize of in into out, checked against in after a blank,
 * which the normalizer trims: the same class and bytes. A bare number ("+"
 * and digits, or digits) takes a short way that the blank turns off, so
 * the two ways must agree.
 */
static enum cm_phone_class normalize_checked(const char *in, size_t size, struct cm_buf *out)
{
	struct cm_buf b;
	char *v = malloc(size + 1);
	enum cm_phone_class c1, c2;

	c1 = cm_phone_normalize(&plan, in, size, out);
	if (!v)
		return c1;
	v[0] = ' ';
	memcpy(v + 1, in, size);
	cm_buf_init(&b);
	c2 = cm_phone_normalize(&plan, v, size + 1, &b);
	if (c1 != c2 || out->n != b.n || (b.n && memcmp(out->p, b.p, b.n) != 0))
		abort();
	cm_buf_deinit(&b);
	free(v);
	return c1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct cm_buf norm[2], tmp;
	struct cm_slice row[2], raw[2];
	struct cm_scrub_opts o;
	struct cm_scrub_ctx ctx;
	struct cm_ip ip;
	size_t lens[2], at = 1, i, nrow = 0, off0 = 0;

	if (!engine)
		setup();

	cm_buf_init(&tmp);
	(void)normalize_checked(in, size, &tmp);
	(void)cm_ip_parse(in, size, &ip);

	/* The record's numbers, from the first bytes. */
	lens[0] = size ? data[0] & 15 : 0;
	lens[1] = size ? data[0] >> 4 : 0;
	for (i = 0; i < 2; i++) {
		enum cm_phone_class cls;
		size_t avail = at < size ? size - at : 0;
		size_t k = lens[i] < avail ? lens[i] : avail;

		cm_buf_init(&norm[i]);
		if (size == 0 || (i == 1 && lens[1] == 0))
			continue;
		cls = normalize_checked(in + at, k, &norm[i]);
		if (norm[i].oom)
			abort();
		if (cls == CM_PHONE_E164 || cls == CM_PHONE_LOCAL) {
			if (nrow == 0)
				off0 = at;
			row[nrow].p = norm[i].p;
			row[nrow].n = norm[i].n;
			raw[nrow].p = in + at;
			raw[nrow].n = k;
			nrow++;
		}
		at += k;
	}

	memset(&ctx, 0, sizeof ctx);
	ctx.np = &plan;
	ctx.ps = engine;
	ctx.epoch = 0;
	ctx.row = nrow ? row : NULL;
	ctx.nrow = nrow;

	cm_scrub_opts_default(&o);
	scrub(&o, &ctx, in, size, cm_pseudo_key_id(engine));
	o.redact = 1;
	scrub(&o, &ctx, in, size, NULL);
	templates(in, size, row, raw, nrow, off0);

	for (i = 0; i < 2; i++)
		cm_buf_deinit(&norm[i]);
	cm_buf_deinit(&tmp);
	return 0;
}
