/*
 * cdrmin: encoders turn minimized records into output bytes.
 *
 * An encoder writes the output fields a plan selected, in plan order,
 * under their input names. Each record is appended whole to an output
 * buffer; the sink writes buffers only between records.
 *
 *   csv    RFC 4180: a header line naming the columns (unless suppressed),
 *          fields quoted only when they hold the delimiter, a quote, CR or LF.
 *   jsonl  one JSON object per line (RFC 8259), {"name":value,...} in plan
 *          order, flat: a field's name (a JSON path for JSON input) is its
 *          key. Values are strings, except what a typed input gives (plan.h,
 *          enum cm_otype): kept values in their JSON text, numbers that stay
 *          numbers, rewritten subtrees, null; a field the input lacked has
 *          no member. Strings are UTF-8: a byte sequence that is not UTF-8
 *          is written as U+FFFD, control characters as escapes. No header
 *          line.
 */
#ifndef CDRMIN_ENCODER_H
#define CDRMIN_ENCODER_H

#include "cdrmin/buf.h"
#include "cdrmin/plan.h"

enum cm_output { CM_OUTPUT_CSV = 0, CM_OUTPUT_JSONL };

struct cm_encoder {
	enum cm_output fmt;
	char delim; /* csv */
};

/* Appends the header line (csv: the output column names; jsonl: nothing). */
void cm_encode_header(const struct cm_encoder *e, const struct cm_plan *p, struct cm_buf *out);

/* Appends one record made of the plan's output values. */
void cm_encode_record(const struct cm_encoder *e, const struct cm_plan *p,
		      const struct cm_plan_out *o, struct cm_buf *out);


#endif
