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

enum cm_format { CM_FORMAT_CSV = 0 };

struct cm_rule {
	char *field; /* as written, unquoted */
	struct cm_action act;
	unsigned line, col;
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
	struct cm_schema columns; /* declared columns; n == 0 when none */
	int header;               /* 1: the input starts with a header line */
	char delim;
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
