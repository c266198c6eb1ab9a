/*
 * \summary: libFuzzer target for the SIP decoder (sip.h), libosip2 included.
 *
 * The input is one captured SIP message, decoded with a fixed packet meta
 * by one decoder that lives across inputs (as in the pipeline). Every
 * input is decoded twice, so that what a decode leaves behind cannot
 * change the next one: both must give the same result. Aborts when the
 * decoder breaks its contract:
 *
 *   - it returns anything but 1 or 0 (CM_FAIL, out of memory, is not
 *     expected here), or 0 without a reason;
 *   - a record has not CM_SIP__COUNT values, or type or raw set;
 *   - a value points into the input (values are the decoder's own), or
 *     the non-empty values do not lie side by side in one block of
 *     storage, each once (no overlap, no gap: the decoder's buffer);
 *   - a value the schema makes numeric or fixed is not (status, cseq,
 *     via_count, body_length, the packet fields), or body_length exceeds
 *     the input, or a message is both a request and a response.
 *
 * Each value is read whole (copied to a transcript), so a value that runs
 * past its storage is an ASan finding; leaks are LeakSanitizer's.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/record.h"
#include "cdrmin/sip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cm_sipdec *dec;

static const struct cm_pkt_meta meta = {
	.sec = 1795356000,
	.usec = 42,
	.family = 4,
	.proto = 17,
	.src = { 192, 0, 2, 10 },
	.dst = { 192, 0, 2, 20 },
	.sport = 5060,
	.dport = 5080,
	.frame = 1,
};

static int field_is(const struct cm_record *r, enum cm_sip_field f, const char *s)
{
	return cm_slice_eq(r->f[f], s, strlen(s));
}

/* 1 when field f is 1*DIGIT (leading zeros allowed); its value, at most UINT32_MAX, in *v. */
static int field_num(const struct cm_record *r, enum cm_sip_field f, uint64_t *v)
{
	size_t i;

	*v = 0;
	if (r->f[f].n == 0)
		return 0;
	for (i = 0; i < r->f[f].n; i++) {
		if (r->f[f].p[i] < '0' || r->f[f].p[i] > '9')
			return 0;
		*v = *v * 10 + (uint64_t)(r->f[f].p[i] - '0');
		if (*v > UINT32_MAX)
			*v = UINT32_MAX;
	}
	return 1;
}

/* Checks record r of input data[0..size) and appends its values to transcript t. */
static void check_record(const struct cm_record *r, const uint8_t *data, size_t size,
			 struct cm_buf *t)
{
	const char *lo = NULL, *hi = NULL;
	size_t i, j, sum = 0;
	uint64_t v;

	if (r->n != CM_SIP__COUNT || !r->f || r->type || r->raw)
		abort();
	for (i = 0; i < r->n; i++) {
		const struct cm_slice *s = &r->f[i];

		if (!s->p)
			abort();
		cm_buf_add(t, &s->n, sizeof s->n);
		cm_buf_add(t, s->p, s->n); /* reads the whole value */
		if (!s->n)
			continue;
		if ((const uint8_t *)s->p < data + size && (const uint8_t *)s->p + s->n > data)
			abort(); /* points into the input */
		for (j = 0; j < i; j++) {
			const struct cm_slice *o = &r->f[j];

			if (o->n && s->p < o->p + o->n && o->p < s->p + s->n)
				abort(); /* two values share bytes */
		}
		if (!lo || s->p < lo)
			lo = s->p;
		if (!hi || s->p + s->n > hi)
			hi = s->p + s->n;
		sum += s->n;
	}
	if (lo && (size_t)(hi - lo) != sum)
		abort(); /* not one block of the decoder's storage */

	/* the schema's fixed and numeric fields */
	if (!field_is(r, CM_SIP_TIME, "2026-11-22T14:00:00.000042Z") ||
	    !field_is(r, CM_SIP_TRANSPORT, "udp") || !field_is(r, CM_SIP_SRC_IP, "192.0.2.10") ||
	    !field_is(r, CM_SIP_SRC_PORT, "5060") || !field_is(r, CM_SIP_DST_IP, "192.0.2.20") ||
	    !field_is(r, CM_SIP_DST_PORT, "5080"))
		abort();
	if ((r->f[CM_SIP_METHOD].n == 0) == (r->f[CM_SIP_STATUS].n == 0))
		abort(); /* exactly one of request and response */
	if (r->f[CM_SIP_STATUS].n && (!field_num(r, CM_SIP_STATUS, &v) || r->f[CM_SIP_STATUS].n != 3 ||
				      v < 100 || v > 699))
		abort();
	if (!field_num(r, CM_SIP_CSEQ, &v) || v >= UINT32_C(1) << 31 || r->f[CM_SIP_CSEQ_METHOD].n == 0 ||
	    r->f[CM_SIP_CALL_ID].n == 0)
		abort();
	if (!field_num(r, CM_SIP_VIA_COUNT, &v) || v < 1)
		abort();
	if (!field_num(r, CM_SIP_BODY_LENGTH, &v) || v > size || r->f[CM_SIP_BODY].n > size)
		abort();
}

/* Decodes data[0..size) and appends what came out to t. */
static void decode(const uint8_t *data, size_t size, struct cm_buf *t)
{
	struct cm_record rec;
	const char *why = NULL;
	int rc;

	memset(&rec, 0, sizeof rec);
	rc = cm_sip_decode(dec, &meta, (const char *)data, size, &rec, &why);
	cm_buf_add(t, &rc, sizeof rc);
	if (rc == 1) {
		check_record(&rec, data, size, t);
	} else if (rc == 0) {
		if (!why || !*why)
			abort();
		cm_buf_adds(t, why);
	} else {
		abort(); /* CM_FAIL: out of memory is not expected here */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cm_buf a, b;

	if (!dec && !(dec = cm_sipdec_new()))
		abort();
	cm_buf_init(&a);
	cm_buf_init(&b);
	decode(data, size, &a);
	decode(data, size, &b);
	if (a.oom || b.oom || a.n != b.n || (a.n && memcmp(a.p, b.p, a.n) != 0))
		abort(); /* the second decode differs: state leaked between messages */
	cm_buf_deinit(&a);
	cm_buf_deinit(&b);
	return 0;
}
