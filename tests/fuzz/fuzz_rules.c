/*
 * \summary: libFuzzer target for the rules language (rules.h, plan.h).
 *
 * The input is a rules file. When it parses, it is compiled against a
 * small schema made of the first distinct words of the text (so that rules
 * and filters naming those words find their field), and against its own
 * `columns` when it declares some, as the pipeline does; each plan that
 * compiles is described, then everything is freed. A failed parse or
 * compile must leave nothing allocated (LeakSanitizer checks).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"
#include "cdrmin/plan.h"
#include "cdrmin/record.h"
#include "cdrmin/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SCHEMA_WORDS 16
#define WORD_MAX 64

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' || c == '#' ||
	       c == '=';
}

/* Fills s with up to SCHEMA_WORDS distinct words of t[0..n). Aborts when memory is short. */
static void first_words(struct cm_schema *s, const char *t, size_t n)
{
	size_t i = 0, j;
	char w[WORD_MAX + 1];

	while (i < n && s->n < SCHEMA_WORDS) {
		while (i < n && is_sep(t[i]))
			i++;
		for (j = i; j < n && !is_sep(t[j]); j++)
			;
		if (j > i && j - i <= WORD_MAX && !memchr(t + i, '\0', j - i)) {
			memcpy(w, t + i, j - i);
			w[j - i] = '\0';
			if (cm_schema_find(s, w) < 0 && cm_schema_add(s, t + i, j - i) != 0)
				abort();
		}
		i = j;
	}
}

/* Compiles r against schema and describes the plan when it compiles. */
static void compile(const struct cm_rules *r, const struct cm_schema *schema)
{
	struct cm_plan p;
	struct cm_buf out;
	struct cm_err err;

	if (cm_plan_compile(&p, r, schema, &err) != 0) {
		if (err.code != CM_E_RULES && err.code != CM_E_NOMEM)
			abort();
		return;
	}
	cm_buf_init(&out);
	cm_plan_describe(&p, &out);
	if (out.oom)
		abort();
	cm_buf_deinit(&out);
	cm_plan_deinit(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct cm_rules r;
	struct cm_schema s;
	struct cm_err err;

	memset(&err, 0, sizeof err);
	if (cm_rules_parse(&r, "fuzz.rules", text, size, &err) != 0) {
		/* The contract: a failed parse is a rules error with a place. */
		if (err.code != CM_E_RULES && err.code != CM_E_NOMEM)
			abort();
		if (memchr(err.msg, '\0', sizeof err.msg) == NULL)
			abort();
		return 0;
	}
	(void)cm_rules_keyed(&r);
	cm_schema_init(&s);
	first_words(&s, text, size);
	compile(&r, &s);
	if (r.columns.n)
		compile(&r, &r.columns);
	cm_schema_deinit(&s);
	cm_rules_deinit(&r);
	return 0;
}
