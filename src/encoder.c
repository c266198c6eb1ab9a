/* \summary: encoders: minimized records to CSV (RFC 4180) or JSON lines (RFC 8259) */
#include <string.h>

#include "cdrmin/csv.h"
#include "cdrmin/encoder.h"
#include "cdrmin/json.h"

void cm_encode_header(const struct cm_encoder *e, const struct cm_plan *p, struct cm_buf *out)
{
	size_t i;

	if (e->fmt == CM_OUTPUT_JSONL)
		return;
	for (i = 0; i < p->nout; i++) {
		const char *name = p->schema.names[p->out[i]];

		if (i)
			cm_buf_addc(out, e->delim);
		cm_csv_put(out, name, strlen(name), e->delim);
	}
	cm_buf_addc(out, '\n');
}

void cm_encode_record(const struct cm_encoder *e, const struct cm_plan *p,
		      const struct cm_plan_out *o, struct cm_buf *out)
{
	size_t i;

	if (e->fmt == CM_OUTPUT_JSONL) {
		int first = 1;

		cm_buf_addc(out, '{');
		for (i = 0; i < p->nout; i++) {
			const char *name = p->schema.names[p->out[i]];
			struct cm_slice v = cm_plan_value(o, i);

			if (o->ot[i] == CM_OT_ABSENT)
				continue;
			if (!first)
				cm_buf_addc(out, ',');
			first = 0;
			cm_json_put_string(out, name, strlen(name));
			cm_buf_addc(out, ':');
			switch (o->ot[i]) {
			case CM_OT_KEPT:
				cm_buf_add(out, o->raw[i].p, o->raw[i].n);
				break;
			case CM_OT_JSON:
				cm_buf_add(out, v.p, v.n);
				break;
			case CM_OT_NULL:
				cm_buf_add(out, "null", 4);
				break;
			default:
				cm_json_put_string(out, v.p, v.n);
				break;
			}
		}
		cm_buf_add(out, "}\n", 2);
		return;
	}
	cm_csv_put_fields(out, o->val, p->nout, e->delim);
	/* A lone empty field would be a blank line, which readers skip. */
	if (p->nout == 1 && cm_plan_value(o, 0).n == 0)
		cm_buf_add(out, "\"\"", 2);
	cm_buf_addc(out, '\n');
}
