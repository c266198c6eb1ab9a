/* \summary: encoders: minimized records to CSV */
#include <string.h>

#include "cdrmin/csv.h"
#include "cdrmin/encoder.h"

void cm_encode_header(const struct cm_encoder *e, const struct cm_plan *p, struct cm_buf *out)
{
	size_t i;

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

	for (i = 0; i < p->nout; i++) {
		struct cm_slice v = cm_plan_value(o, i);

		if (i)
			cm_buf_addc(out, e->delim);
		cm_csv_put(out, v.p, v.n, e->delim);
	}
	/* A lone empty field would be a blank line, which readers skip. */
	if (p->nout == 1 && cm_plan_value(o, 0).n == 0)
		cm_buf_add(out, "\"\"", 2);
	cm_buf_addc(out, '\n');
}
