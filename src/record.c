/* \summary: the record model: schemas and reject reasons */
#include <stdlib.h>
#include <string.h>

#include "cdrmin/record.h"

static const char *const reject_names[CM_REJ__COUNT] = {
	[CM_REJ_COLUMNS] = "columns",
	[CM_REJ_QUOTE] = "quote",
	[CM_REJ_NUL] = "nul",
	[CM_REJ_TOOLONG] = "too-long",
	[CM_REJ_VALUE] = "value",
	[CM_REJ_EPOCH] = "epoch",
	[CM_REJ_HEADER] = "header",
	[CM_REJ_TRUNCATED] = "truncated",
	[CM_REJ_JSON] = "json",
	[CM_REJ_SYNTAX] = "syntax",
	[CM_REJ_DUPLICATE] = "duplicate",
	[CM_REJ_SIP] = "sip",
};

const char *cm_reject_name(enum cm_reject r)
{
	return (unsigned)r < CM_REJ__COUNT ? reject_names[r] : "unknown";
}

void cm_schema_init(struct cm_schema *s)
{
	s->n = 0;
	s->names = NULL;
}

void cm_schema_deinit(struct cm_schema *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	cm_schema_init(s);
}

int cm_schema_add(struct cm_schema *s, const char *name, size_t n)
{
	char **names, *copy;

	copy = malloc(n + 1);
	if (!copy)
		return -1;
	memcpy(copy, name, n);
	copy[n] = '\0';
	names = realloc(s->names, (s->n + 1) * sizeof *names);
	if (!names) {
		free(copy);
		return -1;
	}
	names[s->n++] = copy;
	s->names = names;
	return 0;
}

long cm_schema_find(const struct cm_schema *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return (long)i;
	return -1;
}

int cm_schema_equal(const struct cm_schema *a, const struct cm_schema *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->names[i], b->names[i]) != 0)
			return 0;
	return 1;
}
