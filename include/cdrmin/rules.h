/*
 * cdrmin: the rules language.
 *
 * A rules file is line oriented; '#' starts a comment. Directives set the
 * input format and the context of the actions; every other line names a
 * field and what happens to it:
 *
 *   format    csv
 *   columns   accountcode,src,dst,...     (or: header yes, names from the input)
 *   numbering country=49 trunk=0 international=00 bare=local
 *   epoch     month of start
 *   only      disposition ANSWERED,BUSY   (keep only these records; others are filtered)
 *   skip      lastapp Hangup              (filter these records out)
 *   src       phone pseudonym keep=cc
 *   *         drop
 *
 * The README's "Rules language" section is the reference. Parsing checks
 * syntax and parameters; field names are checked when the rules are
 * compiled against the input's schema (plan.h).
 */
#ifndef CDRMIN_RULES_H
#define CDRMIN_RULES_H

#include <stddef.h>

#include "cdrmin/action.h"
#include "cdrmin/err.h"
#include "cdrmin/phone.h"
#include "cdrmin/pseudo.h"
#include "cdrmin/record.h"
#include "cdrmin/retention.h"

/*
 * Input formats. For csv the schema is the columns (declared or from the
 * header line); for sip and sip-calls the fixed fields of sip.h and
 * calls.h; for the others it is the field names the rules use (rules,
 * filters, epoch), in the rules' order, so the decoder extracts only those.
 */
enum cm_format {
	CM_FORMAT_CSV = 0,
	CM_FORMAT_JSONL,  /* JSON lines; field names are paths (json.h) */
	CM_FORMAT_KV,     /* key=value lines, Kamailio acc (linefmt.h) */
	CM_FORMAT_KANNEL, /* Kannel access log (linefmt.h) */
	CM_FORMAT_SIP,    /* SIP messages from captures, the fields of sip.h */
	CM_FORMAT_SIP_CALLS /* calls assembled from SIP messages, the fields of calls.h */
};

/* Name of a format as written in rules ("csv", "jsonl", "kv", "kannel", "sip", "sip-calls"). */
const char *cm_format_name(enum cm_format f);

struct cm_rule {
	char *field; /* as written, unquoted */
	struct cm_action act;
	unsigned line, col;     /* of the name's word (its quote when quoted) */
	unsigned char quoted;   /* the name was written as one quoted string */
};

/* Record filter: `only` keeps records whose field is one of values; `skip` drops them. */
struct cm_filter {
	char *field;
	int skip;
	char **values;
	size_t nvalues;
	unsigned line, col;
};

struct cm_rules {
	char *path;
	enum cm_format format;
	/*
	 * csv: declared columns, n == 0 when none (header yes). Other formats:
	 * the names the rules use, filled by the parser.
	 */
	struct cm_schema columns;
	int header;               /* 1: the input starts with a header line */
	char delim;               /* csv field separator; kv pair separator */
	char *marker;             /* line formats: a record starts after this text; NULL: at the line's start */
	struct cm_numbering numbering;
	enum cm_epoch_unit epoch_unit;
	char *epoch_field;        /* NULL when no epoch */
	unsigned epoch_line, epoch_col;
	struct cm_rule *rules;
	size_t nrules;
	struct cm_action def;     /* for fields no rule names: drop or redact */
	unsigned def_line;        /* 0 when there is no default: an error */
	struct cm_filter *filters;
	size_t nfilters;
	/*
	 * The retained store (store.h): the classes and zone, and the class and
	 * time field of this input's records (retain-records CLASS of FIELD);
	 * retain_class NULL when the rules say nothing of retention.
	 */
	struct cm_retention retention;
	char *retain_class;
	char *retain_field;
	unsigned retain_line, retain_col;
};

/*
 * Parse the rules text[0..n), naming path in errors. On failure err holds
 * CM_E_RULES with line and column and what was expected; r is left empty.
 */
int cm_rules_parse(struct cm_rules *r, const char *path, const char *text, size_t n,
		   struct cm_err *err) __attribute__((warn_unused_result));

/* Read and parse a rules file (CM_E_RULES also for an unreadable file). */
int cm_rules_load(struct cm_rules *r, const char *path, struct cm_err *err)
	__attribute__((warn_unused_result));

void cm_rules_deinit(struct cm_rules *r);

/* 1 when some action needs the pseudonym key. */
int cm_rules_keyed(const struct cm_rules *r);

#endif
