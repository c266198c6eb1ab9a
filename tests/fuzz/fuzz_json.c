/*
 * \summary: libFuzzer target for the JSON lines decoder, paths and map_tree (json.h).
 *
 * The first byte of the input picks one of a few schemas of paths (nested
 * keys, indexes, quoted keys, two spellings of one path, a node with enough
 * children to be hashed, none at all) and the rest is the text; an input
 * that starts with '{' or a blank is all text, with the FreeSWITCH-like
 * schema, so that .jsonl files are seeds as they are. The text is split at
 * LF into lines, as the pipeline splits it. Checks, per line:
 *
 *   - a decode returns 1 or 0, never CM_FAIL; a second decode of the same
 *     line gives the same result; the fast pass (tried on every line) and
 *     the general path alone give the same record or fault;
 *   - on success: every value has a type that fits its text, raw lies in
 *     the line, a string's value is the body of raw or (with escapes) lies
 *     outside the line and is UTF-8, ABSENT and NULL are empty;
 *   - each subtree passes cm_json_map_tree; with no callbacks the result is
 *     the subtree without blanks; with identity callbacks it decodes again;
 *   - the whole line through map_tree with identity callbacks decodes again
 *     with the same schema, to the same strings;
 *   - a line starting with '{' is accepted by an empty schema exactly when
 *     map_tree accepts it (two scanners, one grammar);
 *   - on a reject: the line cut at fault.at is accepted, or rejected as
 *     json exactly at its end (at is the first byte that cannot continue a
 *     valid line);
 *   - cm_json_path_check of the line's bytes as a path never crashes, and a
 *     path it accepts builds a decoder and contains itself.
 * Any broken promise aborts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cdrmin/buf.h"
#include "cdrmin/json.h"
#include "cdrmin/record.h"

#include "../utf8_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const schema_a[] = {
	"a", "a.b", "c[0].d", "variables.sip_from_user", "x['y.z']", "c",
};
static const char *const schema_b[] = {
	"a", "a[0]", "a[1][0]", "b", "b.c", "b['c']", "['']", "['it\\'s']", "['\\\\']",
};
static const char *const schema_c[] = {
	"v",    "v.k0", "v.k1", "v.k2", "v.k3", "v.k4",  "v.k5",  "v.k6",
	"v.k7", "v.k8", "v.k9", "v.a",  "v.b",  "v.k10", "v.k11", "v[0]",
};
static const char *const schema_d[] = {
	"variables", "variables.sip_from_user", "callflow[0].caller_profile.caller_id_number",
	"callflow[0].times", "core-uuid", "a.a.a.a", "a[0].a", "a[0][0][0]",
};

struct fschema {
	const char *const *p;
	size_t n;
};

static const struct fschema schemas[] = {
	{schema_a, sizeof schema_a / sizeof *schema_a},
	{schema_b, sizeof schema_b / sizeof *schema_b},
	{schema_c, sizeof schema_c / sizeof *schema_c},
	{schema_d, sizeof schema_d / sizeof *schema_d},
	{NULL, 0},
};
#define NSCHEMA (sizeof schemas / sizeof *schemas)

static const char *const tree_path[] = {"t"};

/* A decoder for s; aborts when it cannot be built. */
static struct cm_jsonl *make(const char *const *p, size_t n)
{
	struct cm_schema s;
	struct cm_jsonl *d;
	struct cm_err err;
	size_t i;

	cm_schema_init(&s);
	for (i = 0; i < n; i++)
		if (cm_schema_add(&s, p[i], strlen(p[i])) != 0)
			abort();
	d = cm_jsonl_new(&s, &err);
	if (!d)
		abort();
	cm_schema_deinit(&s);
	return d;
}

/*
 * Built once: three decoders per schema (one to check the other's output
 * with; the first tries the fast pass on every line, the third never).
 */
static struct cm_jsonl *dec[NSCHEMA][3];
static struct cm_jsonl *tree_dec, *empty_dec;

static void setup(void)
{
	size_t i;

	if (tree_dec)
		return;
	for (i = 0; i < NSCHEMA; i++) {
		dec[i][0] = make(schemas[i].p, schemas[i].n);
		dec[i][1] = make(schemas[i].p, schemas[i].n);
		dec[i][2] = make(schemas[i].p, schemas[i].n);
		cm_jsonl_set_fast(dec[i][0], CM_JSONL_FAST_ALWAYS);
		cm_jsonl_set_fast(dec[i][2], CM_JSONL_FAST_OFF);
	}
	tree_dec = make(tree_path, 1);
	empty_dec = make(NULL, 0);
}

static int identity(void *ud, const char *s, size_t n, struct cm_buf *out)
{
	(void)ud;
	cm_buf_add(out, s, n);
	return 0;
}

/* 1 when s[0..n) is UTF-8 (RFC 3629). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0, len, bad;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		len = utf8_model_seq(s + i, n - i, &bad);
		if (!len)
			return 0;
		i += len;
	}
	return 1;
}

static int inside(const char *p, size_t n, const char *line, size_t ln)
{
	return p >= line && p <= line + ln && n <= (size_t)(line + ln - p);
}

/* Appends text without the blanks outside its strings. */
static void strip(struct cm_buf *b, const char *t, size_t n)
{
	size_t i;
	int str = 0;

	for (i = 0; i < n; i++) {
		char c = t[i];

		if (str) {
			cm_buf_addc(b, c);
			if (c == '\\' && i + 1 < n)
				cm_buf_addc(b, t[++i]);
			else if (c == '"')
				str = 0;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '"')
			str = 1;
		cm_buf_addc(b, c);
	}
}

static int same_bytes(const struct cm_buf *a, const struct cm_buf *b)
{
	return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

/* Checks one accepted record of line[0..n). */
static void check_record(const struct cm_record *rec, size_t nf, const char *line, size_t n)
{
	struct cm_record r2;
	struct cm_json_fault fault;
	struct cm_buf out, want;
	size_t i;

	if (rec->n != nf || (nf && (!rec->f || !rec->type || !rec->raw)))
		abort();
	for (i = 0; i < nf; i++) {
		struct cm_slice f = rec->f[i], raw = rec->raw[i];

		switch (rec->type[i]) {
		case CM_VT_ABSENT:
			if (f.n || raw.n)
				abort();
			continue;
		case CM_VT_NULL:
			if (f.n || raw.n != 4 || memcmp(raw.p, "null", 4) != 0)
				abort();
			break;
		case CM_VT_STR:
			if (raw.n < 2 || raw.p[0] != '"' || raw.p[raw.n - 1] != '"')
				abort();
			if (f.n && inside(f.p, f.n, line, n)) {
				if (f.p != raw.p + 1 || f.n != raw.n - 2)
					abort();
			} else if (f.n && !memchr(raw.p, '\\', raw.n)) {
				abort(); /* copied though it has no escape */
			}
			if (!utf8_ok((const unsigned char *)f.p, f.n))
				abort();
			break;
		case CM_VT_NUM:
		case CM_VT_BOOL:
		case CM_VT_TREE:
			if (f.p != raw.p || f.n != raw.n || f.n == 0)
				abort();
			if (rec->type[i] == CM_VT_NUM && f.p[0] != '-' && (f.p[0] < '0' || f.p[0] > '9'))
				abort();
			if (rec->type[i] == CM_VT_BOOL && !(f.n == 4 && memcmp(f.p, "true", 4) == 0) &&
			    !(f.n == 5 && memcmp(f.p, "false", 5) == 0))
				abort();
			if (rec->type[i] == CM_VT_TREE &&
			    !((f.p[0] == '{' && f.p[f.n - 1] == '}') ||
			      (f.p[0] == '[' && f.p[f.n - 1] == ']')))
				abort();
			break;
		default:
			abort();
		}
		if (!inside(raw.p, raw.n, line, n))
			abort();
		if (rec->type[i] != CM_VT_TREE)
			continue;
		/* No callbacks: the tree without its blanks. */
		cm_buf_init(&out);
		cm_buf_init(&want);
		if (cm_json_map_tree(f.p, f.n, NULL, NULL, NULL, &out) != 0)
			abort();
		strip(&want, f.p, f.n);
		if (out.oom || want.oom || !same_bytes(&out, &want))
			abort();
		/* Identity: decodes again, as a tree. */
		cm_buf_reset(&out);
		cm_buf_adds(&out, "{\"t\":");
		if (cm_json_map_tree(f.p, f.n, identity, identity, NULL, &out) != 0)
			abort();
		cm_buf_addc(&out, '}');
		if (out.oom || cm_jsonl_decode(tree_dec, out.p, out.n, &r2, &fault) != 1 ||
		    r2.type[0] != CM_VT_TREE)
			abort();
		cm_buf_deinit(&out);
		cm_buf_deinit(&want);
	}
}

/* The whole line through map_tree with identity callbacks decodes to the same strings. */
static void check_remap(const struct cm_record *rec, struct cm_jsonl *d2, const char *line, size_t n)
{
	struct cm_record r2;
	struct cm_json_fault fault;
	struct cm_buf out;
	size_t i;

	cm_buf_init(&out);
	if (cm_json_map_tree(line, n, identity, identity, NULL, &out) != 0 || out.oom)
		abort();
	if (cm_jsonl_decode(d2, out.p, out.n, &r2, &fault) != 1 || r2.n != rec->n)
		abort();
	for (i = 0; i < rec->n; i++) {
		unsigned char t = rec->type[i], t2 = r2.type[i];

		/* numbers become strings; the rest keeps its type */
		if (t2 != (t == CM_VT_NUM ? CM_VT_STR : t))
			abort();
		if (t == CM_VT_STR || t == CM_VT_NUM || t == CM_VT_BOOL) {
			if (r2.f[i].n != rec->f[i].n ||
			    (rec->f[i].n && memcmp(r2.f[i].p, rec->f[i].p, rec->f[i].n) != 0))
				abort();
		}
	}
	cm_buf_deinit(&out);
}

/* The line cut at fault->at: accepted, or rejected as json at its very end. */
static void check_fault(struct cm_jsonl *d, const char *line, size_t n,
			const struct cm_json_fault *fault, size_t nf)
{
	struct cm_record rec;
	struct cm_json_fault f2;
	int r;

	if (fault->at > n)
		abort();
	if (fault->reason == CM_REJ_DUPLICATE) {
		if (fault->field < 0 || (size_t)fault->field >= nf || fault->at >= n ||
		    line[fault->at] != '"')
			abort();
	} else if (fault->reason != CM_REJ_JSON || fault->field != -1) {
		abort();
	}
	/* An exact-size copy: a read past the cut is an ASan finding. */
	{
		char *p = malloc(fault->at ? fault->at : 1);

		if (!p)
			abort();
		if (fault->at)
			memcpy(p, line, fault->at);
		r = cm_jsonl_decode(d, p, fault->at, &rec, &f2);
		if (r != 1 && (r != 0 || f2.reason != CM_REJ_JSON || f2.at != fault->at))
			abort();
		free(p);
	}
}

/* The input's bytes as a path. */
static void check_path(const char *line, size_t n)
{
	char *p = malloc(n + 4), *q;
	const char *why = NULL;
	size_t at = (size_t)-1, len;
	struct cm_jsonl *d;

	if (!p)
		abort();
	if (n)
		memcpy(p, line, n);
	p[n] = '\0';
	len = strlen(p);
	if (cm_json_path_check(p, &at, &why) != 0) {
		if (at > len || !why || cm_json_path_contains(p, p))
			abort();
		free(p);
		return;
	}
	if (!cm_json_path_contains(p, p))
		abort();
	d = make((const char *const[]){p}, 1);
	cm_jsonl_free(d);
	/* one step further down is inside it, not the other way round */
	q = malloc(len + 3);
	if (!q)
		abort();
	memcpy(q, p, len);
	memcpy(q + len, ".z", 3);
	if (cm_json_path_check(q, &at, &why) == 0 &&
	    (!cm_json_path_contains(p, q) || cm_json_path_contains(q, p)))
		abort();
	free(q);
	free(p);
}

/* rec and fault (r from the fast pass's decoder) as the general path alone gives them. */
static void check_general(struct cm_jsonl *d, const char *line, size_t n, int r,
			  const struct cm_record *rec, const struct cm_json_fault *fault)
{
	struct cm_record g;
	struct cm_json_fault gf;
	size_t i;

	if (cm_jsonl_decode(d, line, n, &g, &gf) != r)
		abort();
	if (r == 0) {
		if (gf.reason != fault->reason || gf.at != fault->at || gf.field != fault->field)
			abort();
		return;
	}
	if (g.n != rec->n)
		abort();
	for (i = 0; i < g.n; i++) {
		if (g.type[i] != rec->type[i] || g.f[i].n != rec->f[i].n ||
		    g.raw[i].p != rec->raw[i].p || g.raw[i].n != rec->raw[i].n ||
		    (g.f[i].n && memcmp(g.f[i].p, rec->f[i].p, g.f[i].n) != 0))
			abort();
	}
}

/* All the checks on one line, decoded with schema si. */
static void check_line(size_t si, const uint8_t *data, size_t n)
{
	const struct fschema *sc = &schemas[si];
	struct cm_jsonl *d = dec[si][0];
	struct cm_record rec, rec2;
	struct cm_json_fault fault, fault2;
	struct cm_buf out;
	const char *line;
	char *copy;
	size_t i;
	int r, r2, rm;

	/* An exact-size copy: a read past the line is an ASan finding. */
	copy = malloc(n ? n : 1);
	if (!copy)
		abort();
	if (n)
		memcpy(copy, data, n);
	line = copy;

	r = cm_jsonl_decode(d, line, n, &rec, &fault);
	if (r != 0 && r != 1)
		abort();
	/* the same line again: the same answer (nothing left of the last call) */
	r2 = cm_jsonl_decode(d, line, n, &rec2, &fault2);
	if (r2 != r || (r == 0 && (fault2.reason != fault.reason || fault2.at != fault.at ||
				    fault2.field != fault.field)))
		abort();
	check_general(dec[si][2], line, n, r, &rec, &fault);
	if (r == 1) {
		check_record(&rec, sc->n, line, n);
		check_remap(&rec, dec[si][1], line, n);
	} else {
		check_fault(d, line, n, &fault, sc->n);
	}

	/* Two scanners, one grammar: for an object, map_tree and an empty schema agree. */
	for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'); i++)
		;
	cm_buf_init(&out);
	rm = cm_json_map_tree(line, n, NULL, NULL, NULL, &out);
	if (out.oom || (rm != 0 && rm != -1))
		abort();
	if (i < n && line[i] == '{') {
		r2 = cm_jsonl_decode(empty_dec, line, n, &rec2, &fault2);
		if ((rm == 0) != (r2 == 1))
			abort();
	}
	cm_buf_deinit(&out);

	check_path(line, n);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p, *lf;
	size_t si, left;

	if (size < 1)
		return 0;
	setup();
	if (data[0] == '{' || data[0] == ' ' || data[0] == '\t') {
		si = 3; /* a .jsonl file as it is */
		p = data;
		left = size;
	} else {
		si = data[0] % NSCHEMA;
		p = data + 1;
		left = size - 1;
	}
	for (;;) {
		size_t len;

		lf = left ? memchr(p, '\n', left) : NULL;
		len = lf ? (size_t)(lf - p) : left;
		check_line(si, p, len);
		if (!lf)
			break;
		left -= len + 1;
		p = lf + 1;
	}
	return 0;
}
