/*
 * cdrmin: encoders turn minimized records into output bytes.
 *
 * An encoder writes the output fields a plan selected, in plan order,
 * under their input names. Each record is appended whole to an output
 * buffer; the sink writes buffers only between records.
 */
#ifndef CDRMIN_ENCODER_H
#define CDRMIN_ENCODER_H

#include "cdrmin/buf.h"
#include "cdrmin/plan.h"

/* The CSV encoder's settings (JSON lines comes with its decoder). */
struct cm_encoder {
	char delim;
};

/* Appends the header line (CSV: the output column names). */
void cm_encode_header(const struct cm_encoder *e, const struct cm_plan *p, struct cm_buf *out);

/* Appends one record made of the plan's output values. */
void cm_encode_record(const struct cm_encoder *e, const struct cm_plan *p,
		      const struct cm_plan_out *o, struct cm_buf *out);

#endif
