/*
 * cdrmin: the record model shared by every decoder and encoder.
 *
 * A record is an ordered set of named fields. The names live in a schema
 * (one per input, fixed while the plan compiled against it is in use); the
 * values are slices into the decoder's input buffer (zero copy), valid
 * until the caller refills that buffer. A CSV line, a JSON object or a SIP
 * message all become a record, so one rules language serves them all.
 */
#ifndef CDRMIN_RECORD_H
#define CDRMIN_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* A byte string that is not owned and not NUL-terminated. */
struct cm_slice {
	const char *p;
	size_t n;
};

/* The names of a record's fields, in input order. Owns its strings. */
struct cm_schema {
	size_t n;
	char **names;
};

/*
 * The type of a value, for formats that have types (JSON). A CSV field is
 * always CM_VT_STR.
 */
enum cm_vtype {
	CM_VT_STR = 0, /* a string; f holds its decoded bytes (UTF-8) */
	CM_VT_ABSENT,  /* the record has no such field; f is empty */
	CM_VT_NULL,    /* JSON null; f is empty */
	CM_VT_NUM,     /* JSON number; f holds its text as written */
	CM_VT_BOOL,    /* JSON true or false; f holds the word */
	CM_VT_TREE     /* JSON object or array; f holds its text as written */
};

struct cm_record {
	struct cm_slice *f; /* values, indexed like the schema */
	size_t n;           /* number of values (== schema n when well formed) */
	uint64_t line;      /* line of the record's first byte in its source, 1-based */
	uint64_t offset;    /* byte offset of the record's first byte in its source */
	/*
	 * Per field, for typed formats: the value's type, and its JSON text as
	 * written (a string with its quotes and escapes), so that a kept value
	 * is written back exactly. Both NULL when every field is a plain
	 * string (CSV and the other line formats).
	 */
	const unsigned char *type;
	const struct cm_slice *raw;
};

/* Why a record was not written. Every reject is counted by reason. */
enum cm_reject {
	CM_REJ_COLUMNS = 0, /* wrong number of columns */
	CM_REJ_QUOTE,       /* unterminated quote, or bytes after a closing quote */
	CM_REJ_NUL,         /* a NUL byte inside the record */
	CM_REJ_TOOLONG,     /* longer than the maximum record size */
	CM_REJ_VALUE,       /* a protected value the action cannot read (invalid=reject) */
	CM_REJ_EPOCH,       /* the epoch time field is missing or unreadable */
	CM_REJ_HEADER,      /* its file's header line is malformed or differs */
	CM_REJ_TRUNCATED,   /* cut off: the run was stopped in the middle of it */
	CM_REJ_JSON,        /* not one well-formed JSON object (RFC 8259), or nested too deep */
	CM_REJ_SYNTAX,      /* a line that does not follow its format (kv, kannel) */
	CM_REJ_DUPLICATE,   /* a field the rules name is given twice in the record */
	CM_REJ_SIP,         /* a captured SIP message libosip2 cannot parse, or lacking what RFC 3261 requires */
	CM_REJ__COUNT
};

/* Short stable name of a reject reason ("columns", "quote", ...). */
const char *cm_reject_name(enum cm_reject r);

void cm_schema_init(struct cm_schema *s);
void cm_schema_deinit(struct cm_schema *s);
/* Appends a copy of name[0..n). Returns 0 or -1 on allocation failure. */
int cm_schema_add(struct cm_schema *s, const char *name, size_t n);
/* Index of a field by name, or -1. For compile time only: never per record. */
long cm_schema_find(const struct cm_schema *s, const char *name);
/* 1 when both schemas name the same fields in the same order. */
int cm_schema_equal(const struct cm_schema *a, const struct cm_schema *b);

static inline int cm_slice_eq(struct cm_slice s, const char *lit, size_t n)
{
	size_t i;
	if (s.n != n)
		return 0;
	for (i = 0; i < n; i++)
		if (s.p[i] != lit[i])
			return 0;
	return 1;
}

#endif
