/*
 * cdrmin: the rule plan.
 *
 * Rules are compiled once against the input's schema into a plan: an
 * array of actions indexed by input field, the list of output fields, the
 * epoch field and the filters as field indexes. Applying the plan to a
 * record does no name lookup.
 */
#ifndef CDRMIN_PLAN_H
#define CDRMIN_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/action.h"
#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/record.h"
#include "cdrmin/rules.h"

struct cm_plan_filter {
	size_t field;
	int skip;
	const struct cm_filter *f; /* values, owned by the rules */
};

struct cm_plan {
	const struct cm_rules *rules; /* must outlive the plan */
	struct cm_schema schema;      /* copy of the input schema */
	const struct cm_action **act; /* per input field; type DROP for dropped */
	unsigned *rule_line;          /* per input field: the rule's line, 0 for the default */
	size_t *out;                  /* input index of each output field, in input order */
	size_t nout;
	long epoch_field;             /* -1 when none */
	struct cm_plan_filter *filters;
	size_t nfilters;
	/*
	 * Input fields with a phone action, whose numbers a scrub of the same
	 * record replaces whatever their length (scrub.h); nphone is 0 when no
	 * field is scrubbed.
	 */
	size_t *phone;
	size_t nphone;
	/*
	 * Output fields whose action the field memo answers (fieldmemo.h).
	 * Phone fields are among them only when no field is scrubbed: with
	 * scrubs, a phone field's own numbers are normalized for the row
	 * anyway, its token is a normalizations memo and a pseudonym cache
	 * hit away (the entry keeps the token's text), and the memo's slots
	 * go to the scrubs' outputs, which cost far more to make again.
	 */
	size_t *memo;
	size_t nmemo;
	/*
	 * Per output field, what cm_plan_apply does with it, decided here once:
	 * its input field and action, how the action runs, and the field's
	 * place in memo and in phone (-1: none).
	 */
	struct cm_plan_op {
		const struct cm_action *a;
		size_t in;
		long memo, phone;
		enum cm_plan_how {
			CM_HOW_KEEP,  /* the input's bytes */
			CM_HOW_TIME,  /* a time floored (floor_time in plan.c) */
			CM_HOW_PHONE, /* a phone action, which takes the row's normalization */
			CM_HOW_OTHER  /* the action as it is */
		} how;
	} *ops;
	/*
	 * Object keys inside a protected JSON subtree are scrubbed: with
	 * tokens when a key is loaded, else redacted (see cm_plan_apply).
	 */
	struct cm_action key_scrub, key_redact;
};

/* What an output value is, for the encoder. */
enum cm_otype {
	CM_OT_STR = 0, /* text: csv as is, jsonl as a string */
	CM_OT_KEPT,    /* kept from a typed input: csv the value, jsonl raw[i] verbatim */
	CM_OT_JSON,    /* JSON text (a number, a rewritten subtree): written as is */
	CM_OT_NULL,    /* csv empty, jsonl null */
	CM_OT_ABSENT   /* the input had no such field: csv empty, jsonl no member */
};

/*
 * Compile rules against schema. Errors (CM_E_RULES, at the rule's line and
 * column): a rule or filter or epoch naming a field the schema lacks.
 */
int cm_plan_compile(struct cm_plan *p, const struct cm_rules *r, const struct cm_schema *schema,
		    struct cm_err *err) __attribute__((warn_unused_result));
void cm_plan_deinit(struct cm_plan *p);

/* The outcome of one record. */
enum cm_verdict { CM_WRITE = 0, CM_FILTERED, CM_REJECTED };

/* Bare numbers whose normalization fits this are made at the prefetch ("+" and 15 digits do). */
#define CM_PRE_NUM_MAX 24

/* Times longer than this are floored each time (ISO 8601 with nanoseconds and an offset fits). */
#define CM_TIME_LAST_MAX 40
#define CM_TIME_LAST_MISSES 16
#define CM_TIME_LAST_SKIP 1024

/*
 * Per-record working space of a plan run: the outputs of the protected
 * fields. Owned by the caller, reused across records.
 */
struct cm_plan_out {
	struct cm_buf scratch;  /* output bytes of transformed fields */
	struct cm_buf tmp;      /* normalized values, while an action runs */
	struct cm_buf rowbuf;   /* the record's protected numbers, normalized */
	struct cm_buf dec;      /* decode=url values */
	struct cm_slice *row;
	struct cm_slice *rowraw; /* per row number: the bytes normalized, as the record holds them */
	struct cm_row_token *rowtok; /* per row number: its token in scratch, once written */
	size_t *rowoff;
	uint64_t *rowh;         /* per row number: its pseudonym cache hash (cm_pseudo_prefetch) */
	unsigned char *rowcls;  /* per row number: its enum cm_phone_class */
	long *rowof;            /* per p->phone field: its row number, or -1 (not a number) */
	size_t rowcap;
	struct cm_slice *val;   /* per output field: its bytes, the input's or the scratch's */
	size_t *made, *off;     /* the fields made in the scratch, and where, while applied */
	unsigned char *ot;      /* per output field: enum cm_otype */
	struct cm_slice *raw;   /* per output field: JSON text for CM_OT_KEPT */
	size_t cap;
	uint64_t epoch;         /* the last record's epoch id (0 without an epoch) */
	struct cm_phone_memo *pm; /* normalizations memo, or NULL (memory short) */
	struct cm_field_memo *fm; /* field outputs memo (fieldmemo.h), or NULL */
	int memos_tried;          /* pm and fm were made (at the first record applied) */
	int ahead;                /* the caller prefetches each record (cm_plan_prefetch) */
	/*
	 * The last two records prefetched and not yet applied, known by their
	 * field storage, line and offset: their epoch and field memo tags
	 * (per p->memo), so cm_plan_apply does not compute them again; and per
	 * phone field (p->phone) holding a bare number, its normalization and
	 * that one's pseudonym cache tag, whose set was asked for then.
	 */
	struct cm_plan_pre {
		const struct cm_slice *f; /* NULL: free */
		uint64_t line, offset, epoch;
		uint64_t *tag;
		size_t cap;
		struct cm_pre_num {
			uint64_t h;     /* cm_pseudo_prefetch's tag, or 0 */
			unsigned char done; /* 0: normalized when applied */
			unsigned char cls;  /* enum cm_phone_class: E164 or LOCAL */
			unsigned char n;
			char v[CM_PRE_NUM_MAX];
		} *num;
		size_t numcap;
	} pre[2];
	unsigned pre_next;
	uint64_t *tag; /* the tags of the record being applied */
	size_t tagcap;
	/*
	 * Per memoized field (p->memo): how often the memos answered in the
	 * current window of lookups, and how many values still skip them.
	 * A field whose values do not repeat (call ids, tags) gains nothing
	 * from the memos and evicts what others would find there; its values
	 * skip the field memo and the pseudonym cache for a while, then are
	 * tried again, the while doubling as long as they still do not repeat
	 * (see CM_GATE_WINDOW in plan.c). The output is the same.
	 */
	struct cm_memo_gate {
		uint32_t seen, hits, skip, level;
		/* the field's last value was answered by a scrub template: no prefetch of its own entry */
		uint32_t tpl;
	} *gate;
	size_t ngate;
	size_t skipping; /* fields of gate whose skip is not 0 */
	/*
	 * Records come in time order, many in the same second: the last value
	 * of each output field that floors times (index: output field) and its
	 * floor, and the last value of the epoch field and its epoch, each
	 * with its unit (+ 1; 0: none). The same bytes in the same unit give
	 * the same floor and epoch, so the next record with them copies them.
	 * Times that do not repeat (a capture's microseconds) miss in a row:
	 * after CM_TIME_LAST_MISSES such misses, the next CM_TIME_LAST_SKIP
	 * values go straight to the parser.
	 */
	struct cm_time_last {
		unsigned char n, unit, misses;
		uint16_t skip;
		char in[CM_TIME_LAST_MAX], out[CM_TIME_LAST_MAX];
	} *tl;
	size_t ntl;
	struct cm_epoch_last {
		unsigned char n, unit, misses;
		uint16_t skip;
		char in[CM_TIME_LAST_MAX];
		uint64_t epoch;
	} el;
};

void cm_plan_out_init(struct cm_plan_out *o);
void cm_plan_out_deinit(struct cm_plan_out *o);

/*
 * Apply the plan to rec (rec->n must equal the schema's size). Returns the
 * verdict, or CM_FAIL when memory is short or a keyed action has no engine
 * (ps NULL). On CM_REJECTED, *reason says
 * why and *field which input field (or -1). On CM_WRITE, cm_plan_value
 * gives each output field's bytes and o->ot[i] its kind.
 *
 * Typed values (rec->type): absent and null values pass as such whatever
 * the action (there is nothing in them to protect); a kept value keeps its
 * JSON text; an action on a number reads its text and, when the result is
 * still a JSON number (a floored epoch time), writes it as one; an action
 * other than keep and redact on an object or array applies to every string
 * and number inside it, keeping the structure, and object keys inside are
 * scrubbed (by the action itself when it is scrub); a rewritten key that
 * repeats one of the subtree gets "#2", "#3", ... (no duplicate members).
 */
int cm_plan_apply(const struct cm_plan *p, struct cm_pseudo *ps, const struct cm_record *rec,
		  struct cm_plan_out *o, enum cm_reject *reason, long *field);

/*
 * Starts loading the memo entries and the pseudonym cache sets (of ps, which
 * may be NULL) that cm_plan_apply(p, ps, rec, o, ...) will look at, and sets
 * o->ahead: from then on the caller calls this for each record before it
 * applies the previous one, so the memory of the next record is on its way
 * while the current one is worked on (else cm_plan_apply asks for a
 * record's entries itself, all at once before the first). Changes nothing
 * else that any record's output depends on: a record that is never applied,
 * or applied in another order, costs only the loads and the work kept.
 */
void cm_plan_prefetch(const struct cm_plan *p, struct cm_pseudo *ps, const struct cm_record *rec,
		      struct cm_plan_out *o);

/* Output field i of the record cm_plan_apply wrote. */
static inline struct cm_slice cm_plan_value(const struct cm_plan_out *o, size_t i)
{
	return o->val[i];
}

/*
 * Appends the plan as a table for `cdrmin check`: each input field, what
 * leaves the filter and why (which rule line), then the output columns.
 */
void cm_plan_describe(const struct cm_plan *p, struct cm_buf *out);

#endif
