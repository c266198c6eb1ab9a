/*
 * \summary: libFuzzer target for the CSV decoder (csv.h).
 *
 * The input is one CSV source. It is decoded twice with a small
 * max_record, so that over-long records and their skipped tails are
 * common: once whole (one buffer, eof set), once fed in small chunks of
 * 1 to 8 bytes through a buffer of max_record + 1 bytes, the caller moving
 * the unconsumed bytes to the front after every record as the pipeline
 * does. cm_csv_next promises that the split does not matter, so both runs
 * must give the same records and rejects, in order (field bytes, line,
 * offset, reason); any difference, a broken return contract or a decoder
 * that stops progressing aborts. The whole run takes csv.c's 64-byte block
 * scanner wherever a record is complete in the buffer; the chunked run
 * never has a whole record at a record's first call, so it takes the
 * general bytewise scanner: the two scanners are compared too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/buf.h"
#include "cdrmin/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_RECORD 256

/* Appends v as 8 bytes: the transcript is compared, never printed. */
static void put_u64(struct cm_buf *t, uint64_t v)
{
	cm_buf_add(t, &v, sizeof v);
}

/* Appends what one call found. Consumed counts and CM_CSV_NOTHING depend on the split: left out. */
static void note(struct cm_buf *t, const struct cm_csv_result *res)
{
	size_t i;

	if (res->what == CM_CSV_NOTHING)
		return;
	put_u64(t, (uint64_t)res->what);
	put_u64(t, res->rec.line);
	put_u64(t, res->rec.offset);
	if (res->what == CM_CSV_REJECT) {
		put_u64(t, (uint64_t)res->reason);
		return;
	}
	put_u64(t, res->rec.n);
	for (i = 0; i < res->rec.n; i++) {
		put_u64(t, res->rec.f[i].n);
		cm_buf_add(t, res->rec.f[i].p, res->rec.f[i].n);
	}
}

/* Small deterministic chunk sizes (1..8) drawn from the input's length and a counter. */
static size_t next_step(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return 1 + ((*s >> 16) & 7);
}

/*
 * Decodes data[0..size) into transcript t: whole when chunked is 0, else in
 * small chunks through a buffer of max_record + 1 bytes. Aborts when the
 * decoder breaks its contract.
 */
static void decode(const uint8_t *data, size_t size, int chunked, struct cm_buf *t)
{
	struct cm_csv_opts o;
	struct cm_csv dec;
	struct cm_csv_result res;
	size_t cap = chunked ? FUZZ_MAX_RECORD + 1 : size;
	/* Exactly cap bytes: an over-read past the buffer is an ASan finding. */
	char *buf = malloc(cap ? cap : 1);
	size_t len = 0, fed = 0, calls = 0;
	uint32_t seed = (uint32_t)size * 2654435761u;
	ssize_t r;

	cm_csv_opts_default(&o);
	o.max_record = FUZZ_MAX_RECORD;
	if (!buf || cm_csv_init(&dec, &o) != 0)
		abort();
	if (!chunked) {
		if (size)
			memcpy(buf, data, size);
		len = fed = size;
	}
	for (;;) {
		int eof = fed == size;

		r = cm_csv_next(&dec, buf, len, eof, &res);
		if (++calls > 4 * size + 100)
			abort(); /* no progress */
		if (r == 0) {
			if (!eof || len != 0)
				abort();
			break;
		}
		if (r == CM_NEED_MORE) {
			size_t step = next_step(&seed);

			/* The contract: a partial record never needs more than max_record + 1 bytes. */
			if (eof || len > FUZZ_MAX_RECORD)
				abort();
			if (step > size - fed)
				step = size - fed;
			if (step > cap - len)
				step = cap - len;
			memcpy(buf + len, data + fed, step);
			len += step;
			fed += step;
			continue;
		}
		if (r == CM_FAIL)
			abort(); /* out of memory for a few fields: not expected here */
		if (r < 0 || (size_t)r > len)
			abort();
		note(t, &res);
		memmove(buf, buf + r, len - (size_t)r);
		len -= (size_t)r;
	}
	if (t->oom)
		abort();
	cm_csv_deinit(&dec);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cm_buf whole, chunks;

	cm_buf_init(&whole);
	cm_buf_init(&chunks);
	decode(data, size, 0, &whole);
	decode(data, size, 1, &chunks);
	if (whole.n != chunks.n || (whole.n && memcmp(whole.p, chunks.p, whole.n) != 0))
		abort(); /* the split changed the decode */
	cm_buf_deinit(&whole);
	cm_buf_deinit(&chunks);
	return 0;
}
