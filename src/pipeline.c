/*
 * \summary: the pipeline: source -> decoder -> record -> plan -> encoder -> sink
 */
#include <stdlib.h>
#include <string.h>

#include "cdrmin/csv.h"
#include "cdrmin/pipeline.h"

#define READ_SLACK (256 * 1024)

struct cm_pipeline {
	struct cm_pipeline_opts o;
	struct cm_sink *sink;
	struct cm_csv dec;
	struct cm_plan plan;
	int have_plan;
	int header_written;
	struct cm_encoder enc;
	struct cm_plan_out out;
	struct cm_stats st;
	struct cm_err *cur_err; /* for the idle callback */
};

static int emit_header(struct cm_pipeline *pl, struct cm_err *err)
{
	if (pl->header_written || !pl->o.header_out)
		return 0;
	pl->header_written = 1;
	cm_encode_header(&pl->enc, &pl->plan, &pl->sink->buf);
	return cm_sink_maybe_flush(pl->sink, err);
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
	pl->enc.fmt = CM_OUTPUT_CSV;
	pl->enc.delim = o->rules->delim;
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
	return pl;
}

void cm_pipeline_free(struct cm_pipeline *pl)
{
	if (!pl)
		return;
	if (pl->have_plan)
		cm_plan_deinit(&pl->plan);
	cm_plan_out_deinit(&pl->out);
	cm_csv_deinit(&pl->dec);
	free(pl);
}

static void reject(struct cm_pipeline *pl, const char *source, uint64_t line, uint64_t offset,
		   enum cm_reject why, long field, size_t got)
{
	struct cm_rejection r;

	pl->st.rejected++;
	pl->st.by_reason[why]++;
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
	pl->o.on_reject(pl->o.ud, &r);
}

/* The first line of a source with a header: names the columns. */
static int take_header(struct cm_pipeline *pl, const char *source, const struct cm_csv_result *res,
		       struct cm_err *err)
{
	struct cm_schema s;
	size_t i, j;
	int rc = CM_FAIL;

	if (res->what == CM_CSV_REJECT)
		return cm_err_at(err, CM_E_DATA, res->rec.line, 0, "%s:%llu: malformed header line (%s)",
				 source, (unsigned long long)res->rec.line, cm_reject_name(res->reason));
	cm_schema_init(&s);
	for (i = 0; i < res->rec.n; i++) {
		const struct cm_slice *f = &res->rec.f[i];

		for (j = 0; j < i; j++)
			if (cm_slice_eq(*f, s.names[j], strlen(s.names[j]))) {
				cm_err_at(err, CM_E_DATA, res->rec.line, 0,
					  "%s:%llu: header names column %zu twice", source,
					  (unsigned long long)res->rec.line, j + 1);
				goto out;
			}
		if (cm_schema_add(&s, f->p, f->n) != 0) {
			cm_err_set(err, CM_E_NOMEM, "out of memory");
			goto out;
		}
	}
	if (pl->have_plan) {
		if (!cm_schema_equal(&s, &pl->plan.schema)) {
			cm_err_at(err, CM_E_DATA, res->rec.line, 0,
				  "%s:%llu: header line differs from the %s", source,
				  (unsigned long long)res->rec.line,
				  pl->o.rules->columns.n ? "columns declared in the rules"
							 : "first input's header");
			goto out;
		}
	} else {
		if (cm_plan_compile(&pl->plan, pl->o.rules, &s, err) != 0)
			goto out;
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
	case CM_WRITE:
		cm_encode_record(&pl->enc, &pl->plan, &pl->out, &pl->sink->buf);
		pl->st.written++;
		return cm_sink_maybe_flush(pl->sink, err);
	case CM_FILTERED:
		pl->st.filtered++;
		return 0;
	case CM_REJECTED:
		reject(pl, source, rec->line, rec->offset, why, field, rec->n);
		return 0;
	default:
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	}
}

static int idle_flush(void *ud)
{
	struct cm_pipeline *pl = ud;

	return cm_sink_flush(pl->sink, pl->cur_err);
}

int cm_pipeline_feed(struct cm_pipeline *pl, const char *path, struct cm_err *err)
{
	struct cm_source src;
	size_t cap = pl->o.max_record + READ_SLACK;
	int need_header = pl->o.rules->header;
	int rc = CM_FAIL;

	if (cm_source_open(&src, path, cap, err) != 0)
		return CM_FAIL;
	pl->cur_err = err;
	cm_csv_reset(&pl->dec);
	if (pl->have_plan && !need_header && emit_header(pl, err) != 0)
		goto out;
	for (;;) {
		struct cm_csv_result res;
		ssize_t k = cm_csv_next(&pl->dec, src.buf + src.start, src.end - src.start, src.eof, &res);

		if (k == CM_NEED_MORE || (k == 0 && !src.eof)) {
			if (cm_source_fill(&src, idle_flush, pl, err) < 0)
				goto out;
			continue;
		}
		if (k == CM_FAIL) {
			cm_err_set(err, CM_E_NOMEM, "%s: out of memory for fields", src.name);
			goto out;
		}
		if (k <= 0)
			break;
		src.start += (size_t)k;
		if (res.what == CM_CSV_NOTHING)
			continue;
		if (need_header) {
			need_header = 0;
			if (take_header(pl, src.name, &res, err) != 0)
				goto out;
			continue;
		}
		pl->st.read++;
		if (res.what == CM_CSV_REJECT) {
			reject(pl, src.name, res.rec.line, res.rec.offset, res.reason, -1, 0);
			continue;
		}
		if (handle_record(pl, src.name, &res.rec, err) != 0)
			goto out;
	}
	rc = 0;
out:
	pl->st.bytes_in += src.bytes;
	cm_source_close(&src);
	pl->cur_err = NULL;
	return rc;
}

int cm_pipeline_finish(struct cm_pipeline *pl, struct cm_err *err)
{
	return cm_sink_flush(pl->sink, err);
}

const struct cm_stats *cm_pipeline_stats(const struct cm_pipeline *pl)
{
	return &pl->st;
}

const struct cm_plan *cm_pipeline_plan(const struct cm_pipeline *pl)
{
	return pl->have_plan ? &pl->plan : NULL;
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
	for (;;) {
		struct cm_csv_result res;
		ssize_t k = cm_csv_next(&dec, src.buf + src.start, src.end - src.start, src.eof, &res);
		size_t i;

		if (k == CM_NEED_MORE || (k == 0 && !src.eof)) {
			if (cm_source_fill(&src, NULL, NULL, err) < 0)
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
		rc = 0;
		break;
	}
out:
	if (rc != 0)
		cm_schema_deinit(schema);
	cm_source_close(&src);
	cm_csv_deinit(&dec);
	return rc;
}
