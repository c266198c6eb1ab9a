/*
 * \summary: the pipeline: source -> decoder -> record -> plan -> encoder -> sink
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xxhash.h>

#include "cdrmin/csv.h"
#include "cdrmin/json.h"
#include "cdrmin/linefmt.h"
#include "cdrmin/sip.h"
#include "cdrmin/pipeline.h"

#define READ_SLACK (256 * 1024)

struct cm_pipeline {
	struct cm_pipeline_opts o;
	struct cm_sink *sink;
	struct cm_csv dec;
	/* Line formats (jsonl, kv, kannel): one of these, and the line framer's state. */
	struct cm_jsonl *jd;
	struct cm_linedec ld;
	int have_ld;
	uint64_t lline, loff; /* line and stream offset of the next line */
	int lskip;            /* dropping the tail of an over-long line */
	size_t marker_len;    /* strlen of the rules' marker, once */
	/* sip, sip-calls */
	struct cm_pkt *pkt;
	struct cm_sipdec *sd;
	struct cm_calls *calls;
	const char *cap_name; /* the capture being fed (cap_buf: it outlives the capture) */
	char cap_buf[160];
	int sip_rc;           /* an error inside the packet callbacks */
	/* the retained store: the original of the record being handled */
	struct cm_slice raw;
	int64_t raw_time;     /* its time when known from elsewhere (a capture), else 0 */
	long retain_idx;      /* the retain-records field in the plan's schema, -1 none, -2 not yet looked up */
	struct cm_buf rawbuf; /* a CSV record's fields written back as CSV */
	int store_rc;         /* a store error inside reject() */
	struct cm_plan plan;
	int have_plan;
	int header_written;
	struct cm_encoder enc;
	struct cm_plan_out out;
	struct cm_stats st;
	uint64_t pending;       /* records encoded but not yet written out */
	uint64_t pending_since; /* ms clock when the oldest of them was encoded */
	int stopped;
	struct cm_err *cur_err; /* for the idle callback */
	/* progress: the input being read, and the file bytes of those done */
	const struct cm_source *cur_src;
	const struct cm_capture *cur_cap;
	uint64_t file_done;
	/* -j worker: the chunk's source still owes its header line; the header was bad */
	int mem_header, mem_bad_header;
	/* Without a store: a record held while the next is decoded (see take_record) */
	struct cm_record held;
	const char *held_src;
	int holding;
	struct cm_slice *spare; /* CSV: the decoder's other field storage */
	size_t spare_cap;
	struct cm_jsonl *jd2;   /* jsonl: the other decoder */
	struct cm_linedec ld2;  /* kv, kannel: the other decoder */
	/* -j lead of a capture: SIP messages go to hand, sync before the lead reports */
	cm_sip_hand_fn hand;
	int (*sync)(void *ud, struct cm_err *err);
	void *hand_ud;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Writes the sink's buffer when it is past its mark, or always when force.
 * Records count as written once their bytes are out.
 */
static int flush(struct cm_pipeline *pl, int force, struct cm_err *err)
{
	if (!force && pl->sink->buf.n < pl->sink->flush_at)
		return 0;
	if (cm_sink_flush(pl->sink, err) != 0) {
		pl->pending = 0;
		return CM_FAIL;
	}
	pl->st.written += pl->pending;
	pl->pending = 0;
	return 0;
}

static int emit_header(struct cm_pipeline *pl, struct cm_err *err)
{
	if (pl->header_written || !pl->o.header_out)
		return 0;
	pl->header_written = 1;
	cm_encode_header(&pl->enc, &pl->plan, &pl->sink->buf);
	return flush(pl, 0, err);
}

struct cm_pipeline *cm_pipeline_new(const struct cm_pipeline_opts *o, struct cm_sink *sink,
				    struct cm_err *err)
{
	struct cm_pipeline *pl = calloc(1, sizeof *pl);
	struct cm_csv_opts co;

	if (!pl) {
		cm_err_set(err, CM_E_NOMEM, "out of memory");
		return NULL;
	}
	pl->o = *o;
	pl->sink = sink;
	pl->retain_idx = -2;
	pl->marker_len = o->rules->marker ? strlen(o->rules->marker) : 0;
	cm_buf_init(&pl->rawbuf);
	pl->enc.fmt = o->output;
	/* kv's delimiter separates its pairs; its csv output uses commas. */
	pl->enc.delim = o->rules->format == CM_FORMAT_CSV ? o->rules->delim : ',';
	cm_plan_out_init(&pl->out);
	cm_csv_opts_default(&co);
	co.delim = o->rules->delim;
	if (o->max_record)
		co.max_record = o->max_record;
	pl->o.max_record = co.max_record;
	if (cm_csv_init(&pl->dec, &co) != 0) {
		free(pl);
		cm_err_set(err, CM_E_NOMEM, "out of memory");
		return NULL;
	}
	if (o->rules->columns.n) {
		if (cm_plan_compile(&pl->plan, o->rules, &o->rules->columns, err) != 0) {
			cm_pipeline_free(pl);
			return NULL;
		}
		pl->have_plan = 1;
	}
	switch (o->rules->format) {
	case CM_FORMAT_JSONL:
		pl->jd = cm_jsonl_new(&pl->plan.schema, err);
		pl->jd2 = pl->jd ? cm_jsonl_new(&pl->plan.schema, err) : NULL;
		if (!pl->jd2) {
			cm_pipeline_free(pl);
			return NULL;
		}
		break;
	case CM_FORMAT_KV:
	case CM_FORMAT_KANNEL:
		if (cm_linedec_init(&pl->ld, o->rules->format == CM_FORMAT_KV ? CM_LINE_KV : CM_LINE_KANNEL,
				    &pl->plan.schema, o->rules->delim) != 0) {
			cm_pipeline_free(pl);
			cm_err_set(err, CM_E_NOMEM, "out of memory");
			return NULL;
		}
		if (cm_linedec_init(&pl->ld2, pl->ld.fmt, &pl->plan.schema, o->rules->delim) != 0) {
			cm_linedec_deinit(&pl->ld);
			cm_pipeline_free(pl);
			cm_err_set(err, CM_E_NOMEM, "out of memory");
			return NULL;
		}
		pl->have_ld = 1;
		break;
	case CM_FORMAT_SIP:
	case CM_FORMAT_SIP_CALLS: {
		struct cm_pkt_opts po;

		cm_pkt_opts_default(&po);
		po.ports = o->sip_ports;
		po.nports = o->nsip_ports;
		pl->pkt = cm_pkt_new(&po);
		pl->sd = cm_sipdec_new();
		if (o->rules->format == CM_FORMAT_SIP_CALLS)
			pl->calls = cm_calls_new(NULL);
		if (!pl->pkt || !pl->sd || (o->rules->format == CM_FORMAT_SIP_CALLS && !pl->calls)) {
			cm_pipeline_free(pl);
			cm_err_set(err, CM_E_NOMEM, "out of memory");
			return NULL;
		}
		break;
	}
	case CM_FORMAT_CSV:
		break;
	}
	return pl;
}

void cm_pipeline_free(struct cm_pipeline *pl)
{
	if (!pl)
		return;
	cm_jsonl_free(pl->jd);
	cm_jsonl_free(pl->jd2);
	cm_pkt_free(pl->pkt);
	cm_sipdec_free(pl->sd);
	cm_calls_free(pl->calls);
	if (pl->have_ld) {
		cm_linedec_deinit(&pl->ld);
		cm_linedec_deinit(&pl->ld2);
	}
	if (pl->have_plan)
		cm_plan_deinit(&pl->plan);
	cm_plan_out_deinit(&pl->out);
	cm_csv_deinit(&pl->dec);
	free(pl->spare);
	cm_buf_deinit(&pl->rawbuf);
	free(pl);
}

/*
 * The retained store: the current original (pl->raw) with its class and
 * day, and what was written of it (out), or to the quarantine with its
 * reason. Nothing when there is no store or no original.
 */
static int retain(struct cm_pipeline *pl, const char *source, uint64_t line,
		  const struct cm_record *rec, int rejected, enum cm_reject why, struct cm_slice out)
{
	const struct cm_rules *r = pl->o.rules;
	struct cm_store_rec sr;
	struct cm_date day;
	char period[16];
	int64_t secs = pl->raw_time;
	struct cm_err e = {0};

	if (!pl->o.store || !pl->raw.p)
		return 0;
	if (pl->retain_idx == -2 && pl->have_plan)
		pl->retain_idx = r->retain_field ? cm_schema_find(&pl->plan.schema, r->retain_field) : -1;
	if (!secs && rec && pl->retain_idx >= 0 && (size_t)pl->retain_idx < rec->n) {
		struct cm_slice t = rec->f[pl->retain_idx];

		if (cm_time_utc(t.p, t.n, &secs) != 0)
			secs = 0;
	}
	memset(&sr, 0, sizeof sr);
	sr.rejected = rejected;
	sr.reason = why;
	sr.epoch = rejected ? 0 : pl->out.epoch;
	sr.time = secs;
	sr.source.p = source;
	sr.source.n = strlen(source);
	sr.line = line;
	sr.original = pl->raw;
	sr.output = out;
	/* a record without a readable time is kept by the day it was read */
	if (cm_retention_day(r->retention.zone, secs ? secs : (int64_t)time(NULL), &day) != 0)
		return cm_err_set(pl->cur_err, CM_E_RULES, "retention zone %s cannot be loaded",
				  r->retention.zone);
	cm_date_format(&day, period);
	pl->raw.p = NULL;
	if (cm_store_put(pl->o.store, rejected ? CM_STORE_QUARANTINE : r->retain_class, period, &sr,
			 pl->cur_err ? pl->cur_err : &e) != 0)
		return CM_FAIL;
	return 0;
}

static void reject_full(struct cm_pipeline *pl, const char *source, uint64_t line, uint64_t offset,
			enum cm_reject why, long field, size_t got, uint64_t col, int frame,
			const char *detail)
{
	struct cm_rejection r;

	pl->st.rejected++;
	pl->st.by_reason[why]++;
	if (pl->raw.p && retain(pl, source, line, NULL, 1, why, (struct cm_slice){NULL, 0}) != 0)
		pl->store_rc = CM_FAIL;
	if (!pl->o.on_reject)
		return;
	memset(&r, 0, sizeof r);
	r.source = source;
	r.line = line;
	r.offset = offset;
	r.reason = why;
	r.field = field >= 0 && pl->have_plan ? pl->plan.schema.names[field] : NULL;
	r.got_columns = got;
	r.want_columns = pl->have_plan ? pl->plan.schema.n : 0;
	r.col = col;
	r.frame = frame;
	r.detail = detail;
	pl->o.on_reject(pl->o.ud, &r);
}

static void reject_at(struct cm_pipeline *pl, const char *source, uint64_t line, uint64_t offset,
		      enum cm_reject why, long field, size_t got, uint64_t col)
{
	reject_full(pl, source, line, offset, why, field, got, col, 0, NULL);
}

static void reject(struct cm_pipeline *pl, const char *source, uint64_t line, uint64_t offset,
		   enum cm_reject why, long field, size_t got)
{
	reject_at(pl, source, line, offset, why, field, got, 0);
}

/*
 * 1 when two names of s are equal. Linear time: a header may have 65536
 * columns, and this runs for every file.
 */
static int has_duplicate(const struct cm_schema *s)
{
	size_t cap = 16, i, mask;
	size_t *slot;
	int dup = 0;

	while (cap < 2 * s->n)
		cap *= 2;
	mask = cap - 1;
	slot = calloc(cap, sizeof *slot); /* index + 1; 0 is empty */
	if (!slot)
		return -1;
	for (i = 0; i < s->n && !dup; i++) {
		size_t len = strlen(s->names[i]);
		size_t h = (size_t)XXH3_64bits(s->names[i], len) & mask;

		for (; slot[h]; h = (h + 1) & mask)
			if (strcmp(s->names[slot[h] - 1], s->names[i]) == 0) {
				dup = 1;
				break;
			}
		slot[h] = i + 1;
	}
	free(slot);
	return dup;
}

/*
 * The first line of a source with a header: names the columns. Returns 0
 * when the file can be read, 1 when its header is malformed or does not
 * match (the caller rejects the file's records), CM_FAIL on a rules error
 * (a rule naming a column the header lacks) or short memory.
 */
static int take_header(struct cm_pipeline *pl, const struct cm_csv_result *res, struct cm_err *err)
{
	struct cm_schema s;
	size_t i;
	int rc = 1, dup;

	if (res->what == CM_CSV_REJECT)
		return 1;
	cm_schema_init(&s);
	for (i = 0; i < res->rec.n; i++)
		if (cm_schema_add(&s, res->rec.f[i].p, res->rec.f[i].n) != 0) {
			rc = cm_err_set(err, CM_E_NOMEM, "out of memory");
			goto out;
		}
	dup = has_duplicate(&s);
	if (dup < 0) {
		rc = cm_err_set(err, CM_E_NOMEM, "out of memory");
		goto out;
	}
	if (dup)
		goto out;
	if (pl->have_plan) {
		if (!cm_schema_equal(&s, &pl->plan.schema))
			goto out;
	} else {
		if (cm_plan_compile(&pl->plan, pl->o.rules, &s, err) != 0) {
			rc = CM_FAIL;
			goto out;
		}
		pl->have_plan = 1;
	}
	rc = emit_header(pl, err);
out:
	cm_schema_deinit(&s);
	return rc;
}

static int handle_record(struct cm_pipeline *pl, const char *source, const struct cm_record *rec,
			 struct cm_err *err)
{
	enum cm_reject why;
	long field;
	int v;

	if (rec->n != pl->plan.schema.n) {
		reject(pl, source, rec->line, rec->offset, CM_REJ_COLUMNS, -1, rec->n);
		return 0;
	}
	v = cm_plan_apply(&pl->plan, pl->o.ps, rec, &pl->out, &why, &field);
	switch (v) {
	case CM_WRITE: {
		size_t at = pl->sink->buf.n;

		cm_encode_record(&pl->enc, &pl->plan, &pl->out, &pl->sink->buf);
		if (pl->raw.p) {
			struct cm_slice out = {pl->sink->buf.p + at, pl->sink->buf.n - at};

			if (retain(pl, source, rec->line, rec, 0, CM_REJ__COUNT, out) != 0)
				return CM_FAIL;
		}
		if (pl->pending++ == 0 && pl->o.flush_ms)
			pl->pending_since = now_ms();
		return flush(pl, pl->o.flush_ms == 0, err);
	}
	case CM_FILTERED:
		pl->st.filtered++;
		return retain(pl, source, rec->line, rec, 0, CM_REJ__COUNT, (struct cm_slice){NULL, 0});
	case CM_REJECTED:
		reject(pl, source, rec->line, rec->offset, why, field, rec->n);
		return pl->store_rc;
	default:
		return cm_err_set(err, pl->o.ps ? CM_E_NOMEM : CM_E_KEY,
				  pl->o.ps ? "out of memory" : "the rules need a pseudonym key");
	}
}

/*
 * The lookahead. A record's memo lookups land anywhere in many MiB and wait
 * for memory; decoded one record early, its entries are asked for
 * (cm_plan_prefetch) before the record ahead of it is filtered, and are
 * there when its turn comes. The held record's fields stay in the other of
 * two decoder storages (CSV: field arrays; jsonl, kv, kannel: decoders) and
 * point into the source buffer, which is not moved before release(): every
 * event but the next clean record releases first, so output, rejects and
 * stats keep the input's order. Not with a store, whose original of the
 * record is taken as it is decoded, nor for captures (one message at a time).
 */
static int lookahead(const struct cm_pipeline *pl)
{
	return pl->have_plan && !pl->o.store && !pl->pkt;
}

/* The decoder's storage of the record just decoded set aside: the next goes to the other. */
static void swap_storage(struct cm_pipeline *pl)
{
	switch (pl->o.rules->format) {
	case CM_FORMAT_CSV:
		cm_csv_swap_fields(&pl->dec, &pl->spare, &pl->spare_cap);
		break;
	case CM_FORMAT_JSONL: {
		struct cm_jsonl *t = pl->jd;

		pl->jd = pl->jd2;
		pl->jd2 = t;
		break;
	}
	case CM_FORMAT_KV:
	case CM_FORMAT_KANNEL: {
		struct cm_linedec t = pl->ld;

		pl->ld = pl->ld2;
		pl->ld2 = t;
		break;
	}
	default:
		break;
	}
}

/* Handles the held record, if any. */
static int release(struct cm_pipeline *pl, struct cm_err *err)
{
	if (!pl->holding)
		return 0;
	pl->holding = 0;
	return handle_record(pl, pl->held_src, &pl->held, err);
}

/* A clean record: handled now, or held while the next is decoded. */
static int take_record(struct cm_pipeline *pl, const char *source, const struct cm_record *rec,
		       struct cm_err *err)
{
	if (!lookahead(pl))
		return handle_record(pl, source, rec, err);
	cm_plan_prefetch(&pl->plan, pl->o.ps, rec, &pl->out);
	if (release(pl, err) != 0)
		return CM_FAIL;
	pl->held = *rec;
	pl->held_src = source;
	pl->holding = 1;
	swap_storage(pl);
	return 0;
}

/* Waiting for input (and every CM_STOP_POLL_MS of the wait): output goes out, the caller's tick runs. */
static int idle_flush(void *ud)
{
	struct cm_pipeline *pl = ud;

	if (flush(pl, 1, pl->cur_err) != 0)
		return CM_FAIL;
	return pl->o.tick ? pl->o.tick(pl->o.ud, pl->cur_err) : 0;
}

/*
 * Skips a UTF-8 byte order mark at the start of src (spreadsheet exports
 * write one): it is not data. Reads only while the bytes so far could be the
 * start of one, so a live stream's first record is not held back.
 */
static int skip_bom(struct cm_pipeline *pl, struct cm_source *src, struct cm_err *err)
{
	static const char bom[3] = {'\xef', '\xbb', '\xbf'};

	for (;;) {
		size_t have = src->end - src->start;

		if (have >= 3 || src->eof || memcmp(src->buf + src->start, bom, have) != 0)
			break;
		if (cm_source_fill(src, pl ? idle_flush : NULL, pl, pl ? pl->o.stop : NULL, err) < 0)
			return CM_FAIL;
	}
	if (src->end - src->start >= 3 && memcmp(src->buf + src->start, bom, 3) == 0)
		src->start += 3;
	return 0;
}

/* What the decoder found, whatever the format. */
struct dec_res {
	enum cm_csv_what what;
	enum cm_reject reason;  /* for CM_CSV_REJECT */
	long field;             /* the field at fault, or -1 */
	uint64_t col;           /* line formats: 1-based byte of the fault, or 0 */
	int other;              /* CM_CSV_NOTHING: a line without the marker */
	struct cm_record rec;
	struct cm_slice line;   /* line formats: the line (LF and CR removed) */
};

static int blank(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	return 1;
}

/* A rejected line: the fault's byte counted from the line's start (1-based). Returns 0. */
static int line_reject(struct dec_res *res, size_t skipped, enum cm_reject reason, size_t at,
		       long field)
{
	res->what = CM_CSV_REJECT;
	res->reason = reason;
	res->field = field;
	res->col = (uint64_t)skipped + at + 1;
	return 0;
}

/*
 * The first place of the marker mk[0..k) (k > 0) in p[0..n), or NULL. A
 * syslog line holds it near its start, after no other copy of its first
 * byte or a few: the first few candidates are each a memchr and a memcmp;
 * past them, memmem, whose time stays linear on any line (a line of one
 * byte over and over cannot make this quadratic).
 */
static const char *marker_at(const char *p, size_t n, const char *mk, size_t k)
{
	const char *end = p + n, *q = p;
	int tries;

	for (tries = 0; tries < 4; tries++) {
		if ((size_t)(end - q) < k)
			return NULL;
		q = memchr(q, mk[0], (size_t)(end - q) - k + 1);
		if (!q)
			return NULL;
		if (memcmp(q + 1, mk + 1, k - 1) == 0)
			return q;
		q++;
	}
	return memmem(q, (size_t)(end - q), mk, k);
}

/*
 * Decodes one line p[0..n) (LF and CR removed) of a line format into res.
 * Returns 0, or CM_FAIL when memory is short.
 */
static int decode_line(struct cm_pipeline *pl, const char *p, size_t n, struct dec_res *res)
{
	const struct cm_rules *r = pl->o.rules;
	const char *s = p, *nul;
	size_t m = n;
	int rc;

	res->what = CM_CSV_NOTHING;
	if (blank(p, n))
		return 0;
	nul = memchr(p, '\0', n);
	if (nul) {
		res->what = CM_CSV_REJECT;
		res->reason = CM_REJ_NUL;
		res->col = (uint64_t)(nul - p) + 1;
		return 0;
	}
	if (r->marker) {
		/* the rules refuse an empty marker */
		const char *at = marker_at(p, n, r->marker, pl->marker_len);

		if (!at) {
			res->other = 1;
			return 0;
		}
		s = at + pl->marker_len;
		if (r->format == CM_FORMAT_JSONL) {
			const char *brace = memchr(s, '{', n - (size_t)(s - p));

			s = brace ? brace : p + n;
		}
		m = n - (size_t)(s - p);
	}
	if (r->format == CM_FORMAT_JSONL) {
		struct cm_json_fault f;

		rc = cm_jsonl_decode(pl->jd, s, m, &res->rec, &f);
		if (rc == CM_FAIL)
			return CM_FAIL;
		if (rc == 0)
			return line_reject(res, (size_t)(s - p), f.reason, f.at, f.field);
	} else {
		struct cm_line_fault f;

		if (cm_linedec_decode(&pl->ld, s, m, &res->rec, &f) == 0)
			return line_reject(res, (size_t)(s - p), f.reason, f.at, f.field);
	}
	res->what = CM_CSV_RECORD;
	return 0;
}

/*
 * The line framer of the line formats, with cm_csv_next's contract: bytes
 * consumed, CM_NEED_MORE, 0 at the end, CM_FAIL when memory is short.
 */
static ssize_t line_next(struct cm_pipeline *pl, char *buf, size_t len, int eof,
			 struct dec_res *res)
{
	size_t max = pl->o.max_record, n, used;
	const char *nl;

	if (len == 0)
		return eof ? 0 : CM_NEED_MORE;
	res->rec.line = pl->lline;
	res->rec.offset = pl->loff;
	if (pl->lskip) {
		/* the tail of an over-long line, already rejected */
		nl = memchr(buf, '\n', len);
		used = nl ? (size_t)(nl - buf) + 1 : len;
		pl->loff += used;
		if (nl) {
			pl->lskip = 0;
			pl->lline++;
		}
		res->what = CM_CSV_NOTHING;
		return (ssize_t)used;
	}
	nl = memchr(buf, '\n', len < max + 1 ? len : max + 1);
	if (!nl) {
		if (len > max) {
			/* the first max + 1 bytes hold no LF: the rest is dropped up to it */
			res->what = CM_CSV_REJECT;
			res->reason = CM_REJ_TOOLONG;
			pl->lskip = 1;
			pl->loff += max + 1;
			return (ssize_t)(max + 1);
		}
		if (!eof)
			return CM_NEED_MORE;
		n = used = len;
	} else {
		n = (size_t)(nl - buf);
		used = n + 1;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	res->line.p = buf;
	res->line.n = n;
	if (decode_line(pl, buf, n, res) != 0)
		return CM_FAIL;
	pl->loff += used;
	if (nl)
		pl->lline++;
	return (ssize_t)used;
}

/* The next record of the source's format from buf[0..len), as cm_csv_next. */
static ssize_t dec_next(struct cm_pipeline *pl, char *buf, size_t len, int eof, struct dec_res *res)
{
	struct cm_csv_result cr;
	ssize_t k;

	res->field = -1;
	res->col = 0;
	res->other = 0;
	if (pl->o.rules->format != CM_FORMAT_CSV)
		return line_next(pl, buf, len, eof, res);
	k = cm_csv_next(&pl->dec, buf, len, eof, &cr);
	res->what = cr.what;
	res->reason = cr.reason;
	res->rec = cr.rec;
	res->rec.type = NULL;
	res->rec.raw = NULL;
	return k;
}

/* Where the decoder stands, for a record cut by a stop. */
static int dec_skipping(const struct cm_pipeline *pl)
{
	return pl->o.rules->format == CM_FORMAT_CSV ? pl->dec.skipping : pl->lskip;
}

static void dec_reset(struct cm_pipeline *pl)
{
	cm_csv_reset(&pl->dec);
	pl->lline = 1;
	pl->loff = 0;
	pl->lskip = 0;
}

static uint64_t dec_line(const struct cm_pipeline *pl)
{
	return pl->o.rules->format == CM_FORMAT_CSV ? pl->dec.line : pl->lline;
}

static uint64_t dec_offset(const struct cm_pipeline *pl)
{
	return pl->o.rules->format == CM_FORMAT_CSV ? pl->dec.offset : pl->loff;
}

/*
 * The original of the record dec_next just found, for the store: a line
 * format's line; a rejected CSV record's bytes as read; a CSV record's
 * fields written back as CSV (the decoder unescaped them in place, so
 * quoting may differ from the input, the values do not).
 */
static void keep_original(struct cm_pipeline *pl, const struct dec_res *res, const char *bytes,
			  size_t n)
{
	size_t i;

	pl->raw_time = 0;
	if (pl->o.rules->format != CM_FORMAT_CSV) {
		pl->raw = res->line;
		return;
	}
	if (res->what != CM_CSV_RECORD) {
		pl->raw.p = bytes;
		pl->raw.n = n;
		return;
	}
	cm_buf_reset(&pl->rawbuf);
	for (i = 0; i < res->rec.n; i++) {
		if (i)
			cm_buf_addc(&pl->rawbuf, pl->o.rules->delim);
		cm_csv_put(&pl->rawbuf, res->rec.f[i].p, res->rec.f[i].n, pl->o.rules->delim);
	}
	pl->raw.p = pl->rawbuf.p ? pl->rawbuf.p : "";
	pl->raw.n = pl->rawbuf.n;
}

/* A finished call: one record through the plan. */
static int on_call(void *ud, const struct cm_record *rec)
{
	struct cm_pipeline *pl = ud;
	struct cm_record r = *rec;

	pl->st.read++;
	r.line = 0;
	r.offset = 0;
	if (handle_record(pl, pl->cap_name, &r, pl->cur_err) != 0) {
		pl->sip_rc = CM_FAIL;
		return 1;
	}
	return 0;
}

/* A SIP message the packet stage found: decoded, then a record or part of a call. */
static int on_sip(void *ud, const struct cm_pkt_meta *m, const char *msg, size_t n)
{
	struct cm_pipeline *pl = ud;
	struct cm_record rec;
	const char *why = NULL;
	int rc;

	if (pl->hand) {
		/* a worker decodes it (cm_pipeline_mem_sip) */
		if (pl->hand(pl->hand_ud, pl->cap_name, m, msg, n, pl->cur_err) != 0) {
			pl->sip_rc = CM_FAIL;
			return 1;
		}
		return 0;
	}
	rc = cm_sip_decode(pl->sd, m, msg, n, &rec, &why);

	if (pl->o.store) {
		pl->raw.p = msg;
		pl->raw.n = n;
		pl->raw_time = m->sec;
	}

	if (rc == CM_FAIL) {
		pl->sip_rc = cm_err_set(pl->cur_err, CM_E_NOMEM, "out of memory");
		return 1;
	}
	if (rc == 0) {
		pl->st.read++;
		reject_full(pl, pl->cap_name, m->frame, 0, CM_REJ_SIP, -1, 0, 0, 1, why);
		return 0;
	}
	rec.line = m->frame;
	rec.offset = 0;
	if (pl->calls) {
		/* the messages are the originals; the calls are what is written */
		if (retain(pl, pl->cap_name, m->frame, &rec, 0, CM_REJ__COUNT, (struct cm_slice){NULL, 0}) != 0) {
			pl->sip_rc = CM_FAIL;
			return 1;
		}
		rc = cm_calls_message(pl->calls, &rec, m->sec, m->usec, on_call, pl);
		if (rc < 0 && pl->sip_rc == 0)
			pl->sip_rc = cm_err_set(pl->cur_err, CM_E_NOMEM, "out of memory");
		return rc != 0;
	}
	pl->st.read++;
	if (handle_record(pl, pl->cap_name, &rec, pl->cur_err) != 0) {
		pl->sip_rc = CM_FAIL;
		return 1;
	}
	return 0;
}

static int feed_capture(struct cm_pipeline *pl, struct cm_capture *c, struct cm_err *err)
{
	struct cm_frame f;
	int rc = 0;

	pl->cur_err = err;
	snprintf(pl->cap_buf, sizeof pl->cap_buf, "%s", cm_capture_name(c));
	pl->cap_name = pl->cap_buf;
	pl->sip_rc = 0;
	if (emit_header(pl, err) != 0)
		return CM_FAIL;
	for (;;) {
		int k;

		if (pl->o.stop && *pl->o.stop) {
			pl->stopped = 1;
			break;
		}
		if (pl->o.tick && pl->o.tick(pl->o.ud, err) != 0)
			return CM_FAIL;
		k = cm_capture_next(c, &f, err);
		if (k == 0)
			break;
		if (k == 2) {
			/* live and idle: what is encoded goes out */
			if (pl->pending && flush(pl, 1, err) != 0)
				return CM_FAIL;
			continue;
		}
		if (k < 0) {
			if (err->code != CM_E_DATA)
				return CM_FAIL;
			/* a damaged capture file: what came before it stands, the rest is lost */
			if (pl->sync && pl->sync(pl->hand_ud, err) != 0)
				return CM_FAIL;
			pl->st.read++;
			reject_full(pl, pl->cap_name, f.no + 1, 0, CM_REJ_TRUNCATED, -1, 0, 0, 1, err->msg);
			err->code = CM_E_NONE;
			err->msg[0] = '\0';
			break;
		}
		pl->st.bytes_in += f.caplen;
		rc = cm_pkt_frame(pl->pkt, f.dlt, f.sec, f.usec, f.no, f.data, f.caplen, f.len, on_sip, pl);
		if (rc < 0)
			return cm_err_set(err, CM_E_NOMEM, "out of memory");
		if (pl->sip_rc)
			return CM_FAIL;
		if (pl->pending && pl->o.flush_ms && now_ms() - pl->pending_since >= pl->o.flush_ms &&
		    flush(pl, 1, err) != 0)
			return CM_FAIL;
	}
	pl->cur_err = NULL;
	return 0;
}

int cm_pipeline_feed_capture(struct cm_pipeline *pl, struct cm_capture *c, struct cm_err *err)
{
	int rc;

	pl->cur_cap = c;
	rc = feed_capture(pl, c, err);
	pl->file_done += cm_capture_bytes_in(c);
	pl->cur_cap = NULL;
	return rc;
}

void cm_pipeline_progress(const struct cm_pipeline *pl, struct cm_progress *p)
{
	p->bytes_in = pl->st.bytes_in + (pl->cur_src ? pl->cur_src->bytes : 0);
	p->file_bytes = pl->file_done + (pl->cur_src ? pl->cur_src->raw_bytes : 0) +
			(pl->cur_cap ? cm_capture_bytes_in(pl->cur_cap) : 0);
}

int cm_pipeline_flush(struct cm_pipeline *pl, struct cm_err *err)
{
	return flush(pl, 1, err);
}

const struct cm_pkt_stats *cm_pipeline_pkt_stats(const struct cm_pipeline *pl)
{
	return pl->pkt ? cm_pkt_stats(pl->pkt) : NULL;
}

const struct cm_calls_stats *cm_pipeline_calls_stats(const struct cm_pipeline *pl)
{
	return pl->calls ? cm_calls_stats(pl->calls) : NULL;
}

int cm_pipeline_feed(struct cm_pipeline *pl, const char *path, struct cm_err *err)
{
	struct cm_source src;
	size_t cap = pl->o.max_record + READ_SLACK;
	int need_header = pl->o.rules->header;
	int bad_header = 0;
	int rc = CM_FAIL;

	if (pl->o.stop && *pl->o.stop) {
		pl->stopped = 1;
		return 0;
	}
	if (pl->pkt) {
		struct cm_capture *c = cm_capture_open_file(path, err);

		if (!c)
			return CM_FAIL;
		rc = cm_pipeline_feed_capture(pl, c, err);
		cm_capture_close(c);
		return rc;
	}
	if (cm_source_open(&src, path, cap, err) != 0) {
		/* A signal while open() waits for a FIFO's writer: stopped, not an error. */
		if (pl->o.stop && *pl->o.stop) {
			pl->stopped = 1;
			return 0;
		}
		return CM_FAIL;
	}
	pl->cur_err = err;
	pl->cur_src = &src;
	dec_reset(pl);
	if (pl->have_plan && !need_header && emit_header(pl, err) != 0)
		goto out;
	if (skip_bom(pl, &src, err) != 0)
		goto out;
	for (;;) {
		struct dec_res res;
		ssize_t k;

		/* Stopped: what is left is the start of a record that never ended. */
		k = dec_next(pl, src.buf + src.start, src.end - src.start, src.eof && !src.stopped, &res);
		if (pl->holding && !(k > 0 && res.what == CM_CSV_RECORD && !need_header && !bad_header) &&
		    release(pl, err) != 0)
			goto out;
		if (src.stopped && (k == CM_NEED_MORE || k == 0)) {
			if (src.end > src.start && !dec_skipping(pl)) {
				pl->st.read++;
				if (pl->o.store) {
					pl->raw.p = src.buf + src.start;
					pl->raw.n = src.end - src.start;
					pl->raw_time = 0;
				}
				reject(pl, src.name, dec_line(pl), dec_offset(pl), CM_REJ_TRUNCATED, -1, 0);
			}
			pl->stopped = 1;
			break;
		}
		if (k == CM_NEED_MORE || (k == 0 && !src.eof)) {
			/* A steady trickle never leaves the input idle: the timer bounds the wait. */
			if (pl->pending && pl->o.flush_ms &&
			    now_ms() - pl->pending_since >= pl->o.flush_ms && flush(pl, 1, err) != 0)
				goto out;
			if (pl->o.tick && pl->o.tick(pl->o.ud, err) != 0)
				goto out;
			if (cm_source_fill(&src, idle_flush, pl, pl->o.stop, err) < 0)
				goto out;
			continue;
		}
		if (k == CM_FAIL) {
			cm_err_set(err, CM_E_NOMEM, "%s: out of memory for fields", src.name);
			goto out;
		}
		if (k <= 0)
			break;
		if (pl->o.store && res.what != CM_CSV_NOTHING)
			keep_original(pl, &res, src.buf + src.start, (size_t)k);
		src.start += (size_t)k;
		if (res.what == CM_CSV_NOTHING) {
			pl->st.other += (uint64_t)res.other;
			continue;
		}
		if (need_header) {
			struct cm_csv_result hr;

			need_header = 0;
			hr.what = res.what;
			hr.reason = res.reason;
			hr.rec = res.rec;
			bad_header = take_header(pl, &hr, err);
			if (bad_header < 0)
				goto out;
			continue;
		}
		pl->st.read++;
		if (bad_header) {
			/* Columns unknown: no record of this file can be read safely. */
			reject(pl, src.name, res.rec.line, res.rec.offset, CM_REJ_HEADER, -1, 0);
			continue;
		}
		if (res.what == CM_CSV_REJECT) {
			reject_at(pl, src.name, res.rec.line, res.rec.offset, res.reason, res.field, 0, res.col);
			continue;
		}
		if (take_record(pl, src.name, &res.rec, err) != 0)
			goto out;
		if (pl->store_rc) {
			rc = pl->store_rc;
			pl->store_rc = 0;
			goto out;
		}
	}
	rc = 0;
out:
	pl->holding = 0; /* released above unless the run failed */
	pl->raw.p = NULL;
	pl->st.bytes_in += src.bytes;
	pl->file_done += src.raw_bytes;
	pl->cur_src = NULL;
	cm_source_close(&src);
	pl->cur_err = NULL;
	return rc;
}

int cm_pipeline_finish(struct cm_pipeline *pl, struct cm_err *err)
{
	if (pl->pkt) {
		const struct cm_pkt_stats *k = cm_pkt_stats(pl->pkt);

		cm_pkt_finish(pl->pkt);
		/*
		 * TCP data that framed no message (no Content-Length, too long) was
		 * a message or more: nothing lost silently, each is a reject.
		 */
		if (k->tcp_bad) {
			pl->st.read += k->tcp_bad - 1;
			pl->st.rejected += k->tcp_bad - 1;
			pl->st.by_reason[CM_REJ_SIP] += k->tcp_bad - 1;
			pl->st.read++;
			reject_full(pl, pl->cap_name ? pl->cap_name : "-", 0, 0, CM_REJ_SIP, -1, 0, 0, 0,
				    "TCP data that could not be cut into SIP messages (no Content-Length, "
				    "or too long); counted once per message lost, see tcp-unframed");
		}
	}
	if (pl->calls) {
		pl->cur_err = err;
		pl->cap_name = pl->cap_name ? pl->cap_name : "-";
		pl->sip_rc = 0;
		if (cm_calls_finish(pl->calls, on_call, pl) < 0 && !pl->sip_rc)
			return cm_err_set(err, CM_E_NOMEM, "out of memory");
		pl->cur_err = NULL;
		if (pl->sip_rc)
			return CM_FAIL;
	}
	return flush(pl, 1, err);
}

int cm_pipeline_stopped(const struct cm_pipeline *pl)
{
	return pl->stopped;
}

const struct cm_stats *cm_pipeline_stats(const struct cm_pipeline *pl)
{
	return &pl->st;
}

int cm_csv_read_header(const struct cm_rules *r, const char *path, struct cm_schema *schema,
		       struct cm_err *err)
{
	struct cm_csv_opts co;
	struct cm_source src;
	struct cm_csv dec;
	int rc = CM_FAIL;

	cm_schema_init(schema);
	cm_csv_opts_default(&co);
	co.delim = r->delim;
	if (cm_csv_init(&dec, &co) != 0)
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	if (cm_source_open(&src, path, co.max_record + READ_SLACK, err) != 0) {
		cm_csv_deinit(&dec);
		return CM_FAIL;
	}
	cm_csv_reset(&dec);
	if (skip_bom(NULL, &src, err) != 0)
		goto out;
	for (;;) {
		struct cm_csv_result res;
		ssize_t k = cm_csv_next(&dec, src.buf + src.start, src.end - src.start, src.eof, &res);
		size_t i;

		if (k == CM_NEED_MORE || (k == 0 && !src.eof)) {
			if (cm_source_fill(&src, NULL, NULL, NULL, err) < 0)
				goto out;
			continue;
		}
		if (k == CM_FAIL) {
			cm_err_set(err, CM_E_NOMEM, "out of memory");
			goto out;
		}
		if (k <= 0) {
			cm_err_set(err, CM_E_DATA, "%s: no header line", src.name);
			goto out;
		}
		src.start += (size_t)k;
		if (res.what == CM_CSV_NOTHING)
			continue;
		if (res.what == CM_CSV_REJECT) {
			cm_err_set(err, CM_E_DATA, "%s:%llu: malformed header line (%s)", src.name,
				   (unsigned long long)res.rec.line, cm_reject_name(res.reason));
			goto out;
		}
		for (i = 0; i < res.rec.n; i++)
			if (cm_schema_add(schema, res.rec.f[i].p, res.rec.f[i].n) != 0) {
				cm_err_set(err, CM_E_NOMEM, "out of memory");
				goto out;
			}
		switch (has_duplicate(schema)) {
		case 0:
			rc = 0;
			break;
		case 1:
			cm_err_set(err, CM_E_DATA, "%s:%llu: the header line names a column twice", src.name,
				   (unsigned long long)res.rec.line);
			break;
		default:
			cm_err_set(err, CM_E_NOMEM, "out of memory");
			break;
		}
		break;
	}
out:
	if (rc != 0)
		cm_schema_deinit(schema);
	cm_source_close(&src);
	cm_csv_deinit(&dec);
	return rc;
}

/*
 * -j: the pipeline as a worker of a parallel run (parallel.h). A chunk of
 * a source is fed from memory with the decoder placed at the chunk's line
 * and offset; the loop is cm_pipeline_feed's, without reads, store or
 * stop (the reader owns those).
 */
void cm_pipeline_mem_begin(struct cm_pipeline *pl, uint64_t line, uint64_t offset, int header)
{
	dec_reset(pl);
	pl->dec.line = pl->lline = line;
	pl->dec.offset = pl->loff = offset;
	pl->mem_header = header && pl->o.rules->header;
	pl->mem_bad_header = 0;
}

ssize_t cm_pipeline_mem_feed(struct cm_pipeline *pl, const char *name, char *buf, size_t len,
			     int eof, struct cm_err *err)
{
	size_t at = 0;

	for (;;) {
		struct dec_res res;
		ssize_t k = dec_next(pl, buf + at, len - at, eof, &res);

		if (pl->holding &&
		    !(k > 0 && res.what == CM_CSV_RECORD && !pl->mem_header && !pl->mem_bad_header) &&
		    release(pl, err) != 0)
			return CM_FAIL;
		if (k == CM_NEED_MORE || k == 0)
			return (ssize_t)at;
		if (k == CM_FAIL)
			return cm_err_set(err, CM_E_NOMEM, "%s: out of memory for fields", name);
		at += (size_t)k;
		if (res.what == CM_CSV_NOTHING) {
			pl->st.other += (uint64_t)res.other;
			continue;
		}
		if (pl->mem_header) {
			struct cm_csv_result hr;

			pl->mem_header = 0;
			hr.what = res.what;
			hr.reason = res.reason;
			hr.rec = res.rec;
			pl->mem_bad_header = take_header(pl, &hr, err);
			if (pl->mem_bad_header < 0)
				return CM_FAIL;
			continue;
		}
		pl->st.read++;
		if (pl->mem_bad_header)
			reject(pl, name, res.rec.line, res.rec.offset, CM_REJ_HEADER, -1, 0);
		else if (res.what == CM_CSV_REJECT)
			reject_at(pl, name, res.rec.line, res.rec.offset, res.reason, res.field, 0,
				  res.col);
		else if (take_record(pl, name, &res.rec, err) != 0)
			return CM_FAIL; /* release() let the held record go first */
	}
}

int cm_pipeline_mem_clean(const struct cm_pipeline *pl)
{
	if (pl->o.rules->format == CM_FORMAT_CSV)
		return !pl->dec.skipping && pl->dec.scan_pos == 0 && !pl->mem_header;
	return !pl->lskip && !pl->mem_header;
}

void cm_pipeline_mem_truncated(struct cm_pipeline *pl, const char *name)
{
	if (dec_skipping(pl))
		return;
	pl->st.read++;
	reject(pl, name, dec_line(pl), dec_offset(pl), CM_REJ_TRUNCATED, -1, 0);
}

uint64_t cm_pipeline_mem_take(struct cm_pipeline *pl)
{
	uint64_t n = pl->pending;

	pl->pending = 0;
	return n;
}

int cm_pipeline_start_output(struct cm_pipeline *pl, struct cm_err *err)
{
	return pl->have_plan && !pl->o.rules->header ? emit_header(pl, err) : 0;
}

void cm_pipeline_add_stats(struct cm_pipeline *pl, const struct cm_stats *d)
{
	size_t i;

	pl->st.read += d->read;
	pl->st.written += d->written;
	pl->st.filtered += d->filtered;
	pl->st.rejected += d->rejected;
	for (i = 0; i < CM_REJ__COUNT; i++)
		pl->st.by_reason[i] += d->by_reason[i];
	pl->st.bytes_in += d->bytes_in;
	pl->st.other += d->other;
}

void cm_pipeline_set_stopped(struct cm_pipeline *pl)
{
	pl->stopped = 1;
}

void cm_pipeline_mem_save(const struct cm_pipeline *pl, struct cm_mem_state *s)
{
	memset(s, 0, sizeof *s);
	s->line = pl->dec.line;
	s->offset = pl->dec.offset;
	s->last_skip_line = pl->dec.last_skip_line;
	s->scan_pos = pl->dec.scan_pos;
	s->skipping = pl->dec.skipping;
	s->skip_state = pl->dec.skip_state;
	s->scan_state = pl->dec.scan_state;
	s->scan_bad = pl->dec.scan_bad;
	s->lline = pl->lline;
	s->loff = pl->loff;
	s->lskip = pl->lskip;
	s->header = pl->mem_header;
	s->bad_header = pl->mem_bad_header;
}

void cm_pipeline_mem_restore(struct cm_pipeline *pl, const struct cm_mem_state *s)
{
	pl->dec.line = s->line;
	pl->dec.offset = s->offset;
	pl->dec.last_skip_line = s->last_skip_line;
	pl->dec.scan_pos = s->scan_pos;
	pl->dec.skipping = s->skipping;
	pl->dec.skip_state = s->skip_state;
	pl->dec.scan_state = s->scan_state;
	pl->dec.scan_bad = s->scan_bad;
	pl->lline = s->lline;
	pl->loff = s->loff;
	pl->lskip = s->lskip;
	pl->mem_header = s->header;
	pl->mem_bad_header = s->bad_header;
}

int cm_pipeline_has_plan(const struct cm_pipeline *pl)
{
	return pl->have_plan;
}

void cm_pipeline_set_hand(struct cm_pipeline *pl, cm_sip_hand_fn hand,
			  int (*sync)(void *ud, struct cm_err *err), void *ud)
{
	pl->hand = hand;
	pl->sync = sync;
	pl->hand_ud = ud;
}

int cm_pipeline_mem_sip(struct cm_pipeline *pl, const char *name, const struct cm_pkt_meta *m,
			const char *msg, size_t n, struct cm_err *err)
{
	pl->cap_name = name;
	pl->cur_err = err;
	pl->sip_rc = 0;
	(void)on_sip(pl, m, msg, n);
	pl->cur_err = NULL;
	return pl->sip_rc ? CM_FAIL : 0;
}

void cm_pipeline_mem_source(struct cm_pipeline *pl, const struct cm_source *src)
{
	if (!src && pl->cur_src)
		pl->file_done += pl->cur_src->raw_bytes;
	pl->cur_src = src;
}
