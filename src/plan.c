/*
 * \summary: the rule plan: rules compiled against a schema, applied per record
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cdrmin/fieldmemo.h"
#include "cdrmin/generalize.h"
#include "cdrmin/json.h"

#include <xxhash.h>
#include "cdrmin/plan.h"

static const struct cm_action drop_action = {.type = CM_ACT_DROP};

int cm_plan_compile(struct cm_plan *p, const struct cm_rules *r, const struct cm_schema *schema,
		    struct cm_err *err)
{
	size_t i, n = schema->n;
	int scrubs;

	memset(p, 0, sizeof *p);
	p->rules = r;
	p->epoch_field = -1;
	/*
	 * Columns from an input's first line: rules that name none of them
	 * would take a data line for a header just as well, and write its values
	 * as column names. At least one named column must be found there.
	 */
	if (r->format == CM_FORMAT_CSV && r->columns.n == 0 && r->nrules == 0)
		return cm_err_at(err, CM_E_RULES, r->def_line, 1,
				 "columns come from the input's header line: name at least one of "
				 "them in a rule (or declare 'columns')");
	cm_schema_init(&p->schema);
	for (i = 0; i < n; i++)
		if (cm_schema_add(&p->schema, schema->names[i], strlen(schema->names[i])) != 0)
			goto nomem;
	p->act = calloc(n ? n : 1, sizeof *p->act);
	p->rule_line = calloc(n ? n : 1, sizeof *p->rule_line);
	p->out = calloc(n ? n : 1, sizeof *p->out);
	p->filters = calloc(r->nfilters ? r->nfilters : 1, sizeof *p->filters);
	p->phone = calloc(n ? n : 1, sizeof *p->phone);
	p->memo = calloc(n ? n : 1, sizeof *p->memo);
	if (!p->act || !p->rule_line || !p->out || !p->filters || !p->phone || !p->memo)
		goto nomem;
	cm_action_init(&p->key_scrub, CM_ACT_SCRUB);
	p->key_scrub.scrub.display_redact = 0;
	cm_action_init(&p->key_redact, CM_ACT_SCRUB);
	p->key_redact.scrub.display_redact = 0;
	p->key_redact.scrub.redact = 1;

	for (i = 0; i < n; i++)
		p->act[i] = r->def_line ? &r->def : &drop_action;
	for (i = 0; i < r->nrules; i++) {
		const struct cm_rule *rule = &r->rules[i];
		long f = cm_schema_find(schema, rule->field);

		if (f < 0) {
			cm_err_at(err, CM_E_RULES, rule->line, rule->col,
				  "unknown field '%.60s': the input has no such column", rule->field);
			goto fail;
		}
		p->act[f] = &rule->act;
		p->rule_line[f] = rule->line;
	}
	for (i = 0; i < n; i++)
		if (p->act[i]->type != CM_ACT_DROP)
			p->out[p->nout++] = i;
	for (i = 0; i < n; i++)
		if (p->act[i]->type == CM_ACT_SCRUB)
			break;
	scrubs = i < n;
	/* phone fields leave the field memo to the scrubs (see plan.h) */
	for (i = 0; i < p->nout; i++)
		if (cm_field_memo_wants(p->act[p->out[i]]) &&
		    !(scrubs && p->act[p->out[i]]->type == CM_ACT_PHONE))
			p->memo[p->nmemo++] = i;
	if (scrubs)
		for (i = 0; i < n; i++)
			if (p->act[i]->type == CM_ACT_PHONE ||
			    (p->act[i]->type == CM_ACT_PSEUDONYM && p->act[i]->kind == CM_KIND_PHONE))
				p->phone[p->nphone++] = i;

	p->ops = calloc(p->nout ? p->nout : 1, sizeof *p->ops);
	if (!p->ops)
		goto nomem;
	for (i = 0; i < p->nout; i++) {
		struct cm_plan_op *op = &p->ops[i];
		size_t k;

		op->in = p->out[i];
		op->a = p->act[op->in];
		op->memo = op->phone = -1;
		for (k = 0; k < p->nmemo; k++)
			if (p->memo[k] == i)
				op->memo = (long)k;
		for (k = 0; k < p->nphone; k++)
			if (p->phone[k] == op->in)
				op->phone = (long)k;
		switch (op->a->type) {
		case CM_ACT_KEEP:
			op->how = CM_HOW_KEEP;
			break;
		case CM_ACT_TIME:
			op->how = op->a->decode_url ? CM_HOW_OTHER : CM_HOW_TIME;
			break;
		case CM_ACT_PHONE:
			op->how = CM_HOW_PHONE;
			break;
		default:
			op->how = CM_HOW_OTHER;
			break;
		}
	}

	if (r->epoch_field) {
		p->epoch_field = cm_schema_find(schema, r->epoch_field);
		if (p->epoch_field < 0) {
			cm_err_at(err, CM_E_RULES, r->epoch_line, r->epoch_col,
				  "unknown epoch field '%.60s': the input has no such column", r->epoch_field);
			goto fail;
		}
	}
	for (i = 0; i < r->nfilters; i++) {
		const struct cm_filter *f = &r->filters[i];
		long idx = cm_schema_find(schema, f->field);

		if (idx < 0) {
			cm_err_at(err, CM_E_RULES, f->line, f->col,
				  "unknown field '%.60s' in %s: the input has no such column", f->field,
				  f->skip ? "skip" : "only");
			goto fail;
		}
		p->filters[p->nfilters].field = (size_t)idx;
		p->filters[p->nfilters].skip = f->skip;
		p->filters[p->nfilters].f = f;
		p->nfilters++;
	}
	if (p->nout == 0) {
		cm_err_at(err, CM_E_RULES, r->def_line, 1,
			  "the rules keep no column: every record would be an empty line");
		goto fail;
	}
	return 0;
nomem:
	cm_err_set(err, CM_E_NOMEM, "out of memory");
fail:
	cm_plan_deinit(p);
	return CM_FAIL;
}

void cm_plan_deinit(struct cm_plan *p)
{
	cm_schema_deinit(&p->schema);
	free(p->act);
	free(p->rule_line);
	free(p->out);
	free(p->filters);
	free(p->phone);
	free(p->memo);
	free(p->ops);
	cm_action_deinit(&p->key_scrub);
	cm_action_deinit(&p->key_redact);
	memset(p, 0, sizeof *p);
	p->epoch_field = -1;
}

/* Slots of the normalizations memo: 16384 x 80 bytes, within the L2 cache of most cores. */
#define PHONE_MEMO_SLOTS 16384
/* Slots of the field output memo: 32768 x 320 bytes (10 MiB). */
#define FIELD_MEMO_SLOTS 32768

void cm_plan_out_init(struct cm_plan_out *o)
{
	memset(o, 0, sizeof *o);
	cm_buf_init(&o->scratch);
	cm_buf_init(&o->tmp);
	cm_buf_init(&o->rowbuf);
	cm_buf_init(&o->dec);
	/* The memos come with the first record (an idle pipeline holds none: see cm_plan_apply). */
}

void cm_plan_out_deinit(struct cm_plan_out *o)
{
	unsigned i;

	cm_buf_deinit(&o->scratch);
	cm_buf_deinit(&o->tmp);
	cm_buf_deinit(&o->rowbuf);
	cm_buf_deinit(&o->dec);
	free(o->row);
	free(o->rowraw);
	free(o->rowtok);
	free(o->rowoff);
	free(o->rowh);
	free(o->rowcls);
	free(o->rowof);
	free(o->off);
	free(o->made);
	free(o->val);
	free(o->ot);
	free(o->raw);
	free(o->tag);
	free(o->pre[0].tag);
	free(o->pre[1].tag);
	for (i = 0; i < 2; i++) {
		if (o->pre[i].num) { /* the records' numbers, normalized */
			sodium_memzero(o->pre[i].num, o->pre[i].numcap * sizeof *o->pre[i].num);
			free(o->pre[i].num);
		}
	}
	free(o->gate);
	if (o->tl) {
		sodium_memzero(o->tl, o->ntl * sizeof *o->tl); /* the record's times */
		free(o->tl);
	}
	sodium_memzero(&o->el, sizeof o->el);
	cm_phone_memo_free(o->pm);
	cm_field_memo_free(o->fm);
	memset(o, 0, sizeof *o);
}

static int out_reserve(struct cm_plan_out *o, size_t n)
{
	size_t *off;
	struct cm_slice *val;

	if (o->cap >= n)
		return 0;
	off = realloc(o->off, n * sizeof *off);
	if (!off)
		return -1;
	o->off = off;
	off = realloc(o->made, n * sizeof *off);
	if (!off)
		return -1;
	o->made = off;
	val = realloc(o->val, n * sizeof *val);
	if (!val)
		return -1;
	o->val = val;
	{
		unsigned char *ot = realloc(o->ot, n);
		struct cm_slice *raw;

		if (!ot)
			return -1;
		o->ot = ot;
		raw = realloc(o->raw, n * sizeof *raw);
		if (!raw)
			return -1;
		o->raw = raw;
	}
	o->cap = n;
	return 0;
}

/*
 * The normalized numbers of the record's phone fields, for scrub (scrub.h);
 * ptag[i]: the phone memo tag of phone field i's bytes, or 0. Sets c->row
 * and c->nrow. Returns 0 or -1 when memory is short.
 */
static int row_numbers(const struct cm_plan *p, const struct cm_record *rec, struct cm_plan_out *o,
		       struct cm_action_ctx *c, const uint64_t *ptag, const struct cm_pre_num *num)
{
	size_t i, k = 0;

	c->row = NULL;
	c->nrow = 0;
	if (p->nphone == 0)
		return 0;
	if (o->rowcap < p->nphone) {
		struct cm_slice *row = realloc(o->row, p->nphone * sizeof *row);
		struct cm_row_token *tok;
		size_t *off;
		uint64_t *rowh;
		unsigned char *cls;
		long *of;

		if (!row)
			return -1;
		o->row = row;
		row = realloc(o->rowraw, p->nphone * sizeof *row);
		if (!row)
			return -1;
		o->rowraw = row;
		tok = realloc(o->rowtok, p->nphone * sizeof *tok);
		if (!tok)
			return -1;
		o->rowtok = tok;
		off = realloc(o->rowoff, p->nphone * sizeof *off);
		if (!off)
			return -1;
		o->rowoff = off;
		rowh = realloc(o->rowh, p->nphone * sizeof *rowh);
		if (!rowh)
			return -1;
		o->rowh = rowh;
		cls = realloc(o->rowcls, p->nphone);
		if (!cls)
			return -1;
		o->rowcls = cls;
		of = realloc(o->rowof, p->nphone * sizeof *of);
		if (!of)
			return -1;
		o->rowof = of;
		o->rowcap = p->nphone;
	}
	cm_buf_reset(&o->rowbuf);
	for (i = 0; i < p->nphone; i++) {
		struct cm_slice v = rec->f[p->phone[i]], raw = v;
		uint64_t h = ptag[i];
		enum cm_phone_class cls;
		const char *nv;
		size_t nn;

		o->rowof[i] = -1;
		if (num && num[i].done) {
			/* a bare number, normalized at the prefetch (prefetch_numbers) */
			nv = num[i].v;
			nn = num[i].n;
			cls = (enum cm_phone_class)num[i].cls;
			o->rowh[k] = num[i].h;
		} else {
			if (rec->type && rec->type[p->phone[i]] != CM_VT_STR &&
			    rec->type[p->phone[i]] != CM_VT_NUM)
				continue;
			if (p->act[p->phone[i]]->decode_url && v.n && memchr(v.p, '%', v.n)) {
				cm_url_decode(v.p, v.n, &o->dec);
				v.p = o->dec.p;
				v.n = o->dec.n;
				raw.n = 0; /* the bytes normalized are not the record's */
				h = 0;     /* nor the ones hashed */
			}
			cls = cm_phone_normalize_memo_h(o->pm, &p->rules->numbering, v.p, v.n, h,
							&o->tmp);
			if (cls != CM_PHONE_E164 && cls != CM_PHONE_LOCAL)
				continue;
			nv = o->tmp.p;
			nn = o->tmp.n;
			/* Its token's cache set, which the field itself and the scrubs read. */
			o->rowh[k] = cm_pseudo_prefetch(c->ps, CM_KIND_PHONE, c->epoch, nv, nn);
		}
		o->rowoff[k] = o->rowbuf.n;
		o->rowcls[k] = (unsigned char)cls;
		o->rowof[i] = (long)k;
		o->row[k].n = nn;
		o->rowraw[k] = raw;
		o->rowtok[k].len = 0;
		cm_buf_add(&o->rowbuf, nv, nn);
		k++;
	}
	if (o->rowbuf.oom || o->tmp.oom)
		return -1;
	for (i = 0; i < k; i++)
		o->row[i].p = o->rowbuf.p + o->rowoff[i];
	c->row = o->row;
	c->nrow = k;
	c->rowraw = o->rowraw;
	c->rowh = o->rowh;
	c->rowtok = o->rowtok;
	c->tokbuf = &o->scratch;
	return 0;
}

/* 1 when s[0..n) is a JSON number (RFC 8259 section 6). */
static int json_number(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else {
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d || s[d] == '0')
			return 0;
	}
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == d)
			return 0;
	}
	return i == n && n > 0;
}

/*
 * Rewritten keys of one subtree: two keys that name one identifier
 * ("07700900123" and "+447700900123") become one token, and redacted keys
 * one text; the repeats get "#2", "#3", ... so the output has no duplicate
 * member names. Keys the rewrite leaves as they are need no check.
 */
#define TREE_KEYS 256
struct tree_ctx {
	const struct cm_action *leaf, *key;
	const struct cm_action_ctx *c;
	size_t nkeys;
	uint64_t h[TREE_KEYS];
	unsigned cnt[TREE_KEYS];
};

static int tree_leaf(void *ud, const char *s, size_t n, struct cm_buf *out)
{
	const struct tree_ctx *t = ud;

	return cm_action_apply(t->leaf, t->c, s, n, out);
}

static int tree_key(void *ud, const char *s, size_t n, struct cm_buf *out)
{
	struct tree_ctx *t = ud;
	size_t start = out->n, i;
	uint64_t h;
	unsigned k;
	int rc = cm_action_apply(t->key, t->c, s, n, out);

	if (rc != 0 || out->oom)
		return rc ? rc : CM_FAIL;
	if (out->n - start == n && memcmp(out->p + start, s, n) == 0)
		return 0;
	if (t->nkeys >= TREE_KEYS * 3 / 4) {
		/* a huge object: every further rewritten key numbered, past any count below */
		k = (unsigned)++t->nkeys;
	} else {
		h = XXH3_64bits(out->p + start, out->n - start);
		for (i = h & (TREE_KEYS - 1); t->cnt[i] && t->h[i] != h; i = (i + 1) & (TREE_KEYS - 1))
			;
		if (!t->cnt[i]) {
			t->h[i] = h;
			t->nkeys++;
		}
		k = ++t->cnt[i];
	}
	if (k > 1) {
		cm_buf_addc(out, '#');
		cm_buf_addu(out, k);
	}
	return out->oom ? CM_FAIL : 0;
}

/*
 * An action on a JSON object or array: applied to each string and number
 * inside, keys scrubbed. Returns as cm_action_apply.
 */
static int map_tree(const struct cm_plan *p, const struct cm_action *a,
		    const struct cm_action_ctx *c, struct cm_slice v, struct cm_buf *out)
{
	struct tree_ctx t;
	memset(t.cnt, 0, sizeof t.cnt);
	t.nkeys = 0;
	t.leaf = a;
	t.key = a->type == CM_ACT_SCRUB ? a : c->ps ? &p->key_scrub : &p->key_redact;
	t.c = c;
	/* v was validated by the decoder: -1 is a callback's CM_FAIL. */
	return cm_json_map_tree(v.p, v.n, tree_leaf, tree_key, &t, out);
}

/* Starts loading the phone memo slots of the record's numbers; their tags go to ptag[]. */
static void prefetch_phones(const struct cm_plan *p, const struct cm_record *rec,
			    const struct cm_plan_out *o, uint64_t *ptag)
{
	size_t i;

	for (i = 0; i < p->nphone; i++)
		ptag[i] = cm_phone_memo_prefetch(o->pm, rec->f[p->phone[i]].p, rec->f[p->phone[i]].n);
}

/*
 * The record's bare numbers normalized now, one record before their turn,
 * and their pseudonym cache sets asked for: a set is seldom in cache, and
 * asked for only when the record is applied its wait came just before the
 * number's field read it. The short way of a bare number (cm_phone_bare)
 * costs less than the normalizations memo's lookup. Other values (a URI, a
 * formatted number, a name) have their memo slot asked for (ptag[i]), and
 * are normalized when the record is applied (row_numbers).
 */
static void prefetch_numbers(const struct cm_plan *p, struct cm_pseudo *ps,
			     const struct cm_record *rec, struct cm_plan_out *o,
			     struct cm_plan_pre *pre, uint64_t *ptag)
{
	size_t i;

	for (i = 0; i < p->nphone; i++) {
		struct cm_slice v = rec->f[p->phone[i]];
		struct cm_pre_num *pn = &pre->num[i];
		unsigned char t = rec->type ? rec->type[p->phone[i]] : CM_VT_STR;
		enum cm_phone_class cls;

		pn->done = 0;
		if (ps && (t == CM_VT_STR || t == CM_VT_NUM) &&
		    v.n <= CM_PRE_NUM_MAX - CM_PHONE_PREFIX_MAX && cm_phone_bare(v.p, v.n)) {
			pn->n = (unsigned char)cm_phone_normalize_bare(&p->rules->numbering, v.p, v.n,
								       pn->v, &cls);
			pn->cls = (unsigned char)cls;
			pn->h = cm_pseudo_prefetch(ps, CM_KIND_PHONE, pre->epoch, pn->v, pn->n);
			pn->done = 1;
			ptag[i] = 0;
			continue;
		}
		ptag[i] = cm_phone_memo_prefetch(o->pm, v.p, v.n);
	}
}

/*
 * The memo gate: a field whose values the memos answered fewer than 1 in
 * CM_GATE_RARE times over CM_GATE_WINDOW lookups skips them for its next
 * CM_GATE_WINDOW values, then is measured again; each window in a row that
 * finds it so doubles the skip, up to 2^CM_GATE_LEVELS windows. Real
 * traffic's numbers repeat (a Zipf tail: half of them answered); call ids
 * and tags never do. Values that repeat only from further away than a
 * window (a test pattern) cost a skip or two before their window finds them.
 */
#define CM_GATE_WINDOW 4096
#define CM_GATE_RARE 32
#define CM_GATE_LEVELS 6

/* 1 when memoized field k skips the memos for its next value (counted). */
static int gate_skips(struct cm_plan_out *o, size_t k)
{
	if (k >= o->ngate || !o->gate[k].skip)
		return 0;
	if (--o->gate[k].skip == 0)
		o->skipping--;
	return 1;
}

/* Counts a lookup of memoized field k; closes the window when it is full. */
static void gate_count(struct cm_plan_out *o, size_t k, int hit)
{
	struct cm_memo_gate *g;

	if (k >= o->ngate)
		return;
	g = &o->gate[k];
	g->seen++;
	g->hits += (uint32_t)hit;
	if (g->seen < CM_GATE_WINDOW)
		return;
	if (g->hits * CM_GATE_RARE < g->seen) {
		/* a field is measured only while it does not skip: skip was 0 */
		g->skip = (uint32_t)CM_GATE_WINDOW << g->level;
		o->skipping++;
		if (g->level < CM_GATE_LEVELS)
			g->level++;
	} else {
		g->level = 0;
	}
	g->seen = 0;
	g->hits = 0;
}

/* The lanes of one batch of cm_pseudo_ahead (cm_blake2b_keyed_hash_many). */
#define AHEAD_LANES 4

/* Memoized field k's plain pseudonym (kind generic, of the bytes as they lie): its value, or 0. */
static int plain_value(const struct cm_plan *p, const struct cm_record *rec, size_t k,
		       struct cm_slice *v)
{
	size_t in = p->out[p->memo[k]];
	const struct cm_action *a = p->act[in];
	unsigned char t = rec->type ? rec->type[in] : CM_VT_STR;

	if (a->type != CM_ACT_PSEUDONYM || a->kind != CM_KIND_GENERIC || a->decode_url ||
	    (t != CM_VT_STR && t != CM_VT_NUM) || rec->f[in].n == 0)
		return 0;
	*v = rec->f[in];
	return 1;
}

/* Adds (kind, epoch, v) to ask[0..*got) unless it is there already. */
static void ask_add(struct cm_pseudo_ask *ask, size_t *got, enum cm_kind kind, uint64_t epoch,
		    struct cm_slice v)
{
	size_t i;

	for (i = 0; i < *got; i++)
		if (ask[i].kind == kind && ask[i].n == v.n && memcmp(ask[i].v, v.p, v.n) == 0)
			return;
	ask[*got].kind = kind;
	ask[*got].epoch = epoch;
	ask[*got].v = v.p;
	ask[*got].n = v.n;
	(*got)++;
}

/*
 * The digests of the fields that skip the memos this record, computed side
 * by side (four BLAKE2b lanes) before the fields are filtered in turn, which
 * then find them (cm_pseudo_ahead). Such fields hold values that never
 * repeat, so each costs a hash: call ids and tags, three or four a record
 * in SIP accounting. Only plain pseudonyms qualify, whose digest is of the
 * field's bytes as they lie (kind generic, no URL decoding); a lone one is
 * left to be hashed when its turn comes. A lane the batch leaves free
 * costs nothing: it takes a normalized number of the row that the
 * pseudonym cache does not hold (looked up by the hash its prefetch
 * computed), whose digest a memo miss would otherwise compute alone.
 */
static void hash_ahead(const struct cm_plan *p, struct cm_pseudo *ps, const struct cm_record *rec,
		       const struct cm_plan_out *o, const struct cm_action_ctx *c)
{
	struct cm_pseudo_ask ask[CM_PSEUDO_AHEAD_MAX];
	struct cm_slice v;
	size_t k, got = 0, fill;

	for (k = 0; k < o->ngate && got < CM_PSEUDO_AHEAD_MAX; k++)
		if (o->gate[k].skip && plain_value(p, rec, k, &v))
			ask_add(ask, &got, CM_KIND_GENERIC, c->epoch, v);
	if (got < 2)
		return;
	fill = got % AHEAD_LANES ? got + AHEAD_LANES - got % AHEAD_LANES : got;
	for (k = 0; k < c->nrow && got < fill; k++)
		if (!cm_pseudo_cached(ps, CM_KIND_PHONE, c->epoch, c->row[k].p, c->row[k].n, o->rowh[k]))
			ask_add(ask, &got, CM_KIND_PHONE, c->epoch, c->row[k]);
	cm_pseudo_ahead(ps, ask, got);
}

/* Starts loading the record's field memo entries; tag[k] for p->memo[k] (0: not memoized). */
static void prefetch_fields(const struct cm_plan *p, const struct cm_record *rec,
			    const struct cm_plan_out *o, uint64_t epoch, uint64_t *tag)
{
	size_t k;

	for (k = 0; k < p->nmemo; k++) {
		size_t in = p->out[p->memo[k]];
		unsigned char t = rec->type ? rec->type[in] : CM_VT_STR;

		tag[k] = (t == CM_VT_STR || t == CM_VT_NUM) &&
				 !(k < o->ngate && (o->gate[k].skip || o->gate[k].tpl))
				 ? cm_field_memo_prefetch(o->fm, p->act[in], epoch, rec->f[in].p,
							  rec->f[in].n)
				 : 0;
	}
}

/* tag holds n slots at least (*cap of them); 0 or -1. */
static int tags_reserve(uint64_t **tag, size_t *cap, size_t n)
{
	uint64_t *t;

	if (*cap >= n)
		return 0;
	t = realloc(*tag, n * sizeof *t);
	if (!t)
		return -1;
	*tag = t;
	*cap = n;
	return 0;
}

/* cm_time_epoch_of of the epoch field's value t, or the last one's epoch when t is the same. */
static int epoch_of(const struct cm_plan *p, struct cm_plan_out *o, struct cm_slice t, uint64_t *epoch)
{
	struct cm_epoch_last *e = &o->el;
	unsigned unit = (unsigned)p->rules->epoch_unit + 1;

	if (e->skip) {
		e->skip--;
		return cm_time_epoch_of(t.p, t.n, p->rules->epoch_unit, epoch) != 0 ? -1 : 0;
	}
	if (e->unit == unit && e->n == t.n && t.n && memcmp(e->in, t.p, t.n) == 0) {
		e->misses = 0;
		*epoch = e->epoch;
		return 0;
	}
	if (cm_time_epoch_of(t.p, t.n, p->rules->epoch_unit, epoch) != 0)
		return -1;
	if (t.n && t.n <= CM_TIME_LAST_MAX && unit <= UCHAR_MAX) {
		memcpy(e->in, t.p, t.n);
		e->n = (unsigned char)t.n;
		e->unit = (unsigned char)unit;
		e->epoch = *epoch;
	}
	if (++e->misses == CM_TIME_LAST_MISSES) {
		e->misses = 0;
		e->skip = CM_TIME_LAST_SKIP;
	}
	return 0;
}

/*
 * The CDR layout "YYYY-MM-DD HH:MM:SS" (19 bytes, or with a T) is floored
 * by a fixed copy; the last value's floor serves the next value of the
 * same hour (cm_time_floor_same: a compare of the kept bytes and a check
 * of the minute and second), which the seconds rarely let the whole bytes
 * do. Other layouts (epoch seconds, ISO 8601 with an offset) are parsed,
 * and there the last value pays when the bytes repeat.
 */
#define CDR_TIME_LEN 19

/*
 * Output field i's floor of the time v (a time action's, v not empty, no
 * URL decoding) appended to the scratch, copied from the field's last
 * value when that floors the same; what is not a time goes to the action
 * (its invalid= policy).
 */
static int floor_time(struct cm_plan_out *o, size_t i, const struct cm_action *a,
		      const struct cm_action_ctx *c, struct cm_slice v)
{
	struct cm_time_last *t = i < o->ntl ? &o->tl[i] : NULL;
	unsigned unit = (unsigned)a->unit + 1;
	size_t start = o->scratch.n;

	if (t && v.n == CDR_TIME_LEN) {
		if (t->unit == unit && t->n == CDR_TIME_LEN &&
		    cm_time_floor_same(t->in, v.p, v.n, a->unit)) {
			cm_buf_add(&o->scratch, t->out, CDR_TIME_LEN);
			return o->scratch.oom ? CM_FAIL : 0;
		}
	} else if (t && t->skip) {
		t->skip--;
		t = NULL;
	} else if (t && t->unit == unit && t->n == v.n && memcmp(t->in, v.p, v.n) == 0) {
		t->misses = 0;
		cm_buf_add(&o->scratch, t->out, v.n); /* a floor keeps the value's length */
		return o->scratch.oom ? CM_FAIL : 0;
	} else if (t && ++t->misses == CM_TIME_LAST_MISSES) {
		t->misses = 0;
		t->skip = CM_TIME_LAST_SKIP;
	}
	if (cm_time_floor(v.p, v.n, a->unit, &o->scratch) != 0)
		return cm_action_apply(a, c, v.p, v.n, &o->scratch);
	if (o->scratch.oom)
		return CM_FAIL;
	if (t && v.n <= CM_TIME_LAST_MAX && o->scratch.n - start == v.n && unit <= UCHAR_MAX) {
		memcpy(t->in, v.p, v.n);
		memcpy(t->out, o->scratch.p + start, v.n);
		t->n = (unsigned char)v.n;
		t->unit = (unsigned char)unit;
	}
	return 0;
}

/* pre->num holds n entries at least; 0 or -1. */
static int nums_reserve(struct cm_plan_pre *pre, size_t n)
{
	struct cm_pre_num *t;

	if (pre->numcap >= n)
		return 0;
	t = calloc(n, sizeof *t);
	if (!t)
		return -1;
	if (pre->num) {
		sodium_memzero(pre->num, pre->numcap * sizeof *pre->num);
		free(pre->num);
	}
	pre->num = t;
	pre->numcap = n;
	return 0;
}

void cm_plan_prefetch(const struct cm_plan *p, struct cm_pseudo *ps, const struct cm_record *rec,
		      struct cm_plan_out *o)
{
	struct cm_plan_pre *pre = &o->pre[o->pre_next];
	uint64_t epoch = 0;

	o->ahead = 1;
	o->pre_next ^= 1;
	pre->f = NULL;
	if (!o->fm || rec->n != p->schema.n ||
	    tags_reserve(&pre->tag, &pre->cap, p->nmemo + p->nphone + 1) != 0 ||
	    nums_reserve(pre, p->nphone + 1) != 0)
		return; /* the memos come with the first record applied */
	if (p->epoch_field >= 0) {
		struct cm_slice t = rec->f[p->epoch_field];

		if (epoch_of(p, o, t, &epoch) != 0)
			return;
	}
	pre->epoch = epoch;
	prefetch_numbers(p, ps, rec, o, pre, pre->tag + p->nmemo);
	prefetch_fields(p, rec, o, epoch, pre->tag);
	pre->f = rec->f;
	pre->line = rec->line;
	pre->offset = rec->offset;
}

/* What cm_plan_prefetch found for rec, taken (NULL: it was not prefetched). */
static struct cm_plan_pre *take_pre(struct cm_plan_out *o, const struct cm_record *rec)
{
	unsigned i;

	for (i = 0; i < 2; i++) {
		struct cm_plan_pre *pre = &o->pre[i];

		if (pre->f && pre->f == rec->f && pre->line == rec->line &&
		    pre->offset == rec->offset) {
			pre->f = NULL;
			return pre;
		}
	}
	return NULL;
}

/* 1 when the record passes the only/skip filters. */
static int filters_pass(const struct cm_plan *p, const struct cm_record *rec)
{
	size_t i, j;

	for (i = 0; i < p->nfilters; i++) {
		const struct cm_plan_filter *pf = &p->filters[i];
		struct cm_slice v = rec->f[pf->field];
		int match = 0;

		for (j = 0; j < pf->f->nvalues && !match; j++)
			match = cm_slice_eq(v, pf->f->values[j], strlen(pf->f->values[j]));
		if (match == pf->skip)
			return 0;
	}
	return 1;
}

int cm_plan_apply(const struct cm_plan *p, struct cm_pseudo *ps, const struct cm_record *rec,
		  struct cm_plan_out *o, enum cm_reject *reason, long *field)
{
	struct cm_action_ctx c;
	struct cm_plan_pre *pre;
	uint64_t *tag;
	size_t i, m = 0, nout, *off, *made;
	const struct cm_plan_op *ops;
	const struct cm_slice *f;
	const unsigned char *type;
	unsigned char *ot;
	struct cm_slice *val;
	int ret = CM_WRITE;

	*field = -1;
	/* taken first, so that a filtered record leaves no prefetch behind */
	pre = take_pre(o, rec);
	if (!filters_pass(p, rec))
		return CM_FILTERED;
	if (out_reserve(o, p->nout ? p->nout : 1) != 0)
		return CM_FAIL;

	if (!o->memos_tried) {
		/*
		 * Without them (memory short) each value is normalized and
		 * transformed every time: the same output, only slower.
		 */
		o->memos_tried = 1;
		o->pm = cm_phone_memo_new(PHONE_MEMO_SLOTS);
		o->fm = cm_field_memo_new(FIELD_MEMO_SLOTS);
		/* without it (memory short) every field keeps using the memos */
		o->gate = calloc(p->nmemo ? p->nmemo : 1, sizeof *o->gate);
		o->ngate = o->gate ? p->nmemo : 0;
		/* without it (memory short) every time is floored each time */
		o->tl = calloc(p->nout ? p->nout : 1, sizeof *o->tl);
		o->ntl = o->tl ? p->nout : 0;
	}
	c.ps = ps;
	c.np = &p->rules->numbering;
	c.pm = o->pm;
	c.probes = NULL;
	c.epoch = 0;
	c.tmp = &o->tmp;
	c.dec = &o->dec;
	c.row = NULL;
	c.nrow = 0;
	c.watch = NULL;
	c.rowraw = NULL;
	c.rowh = NULL;
	c.rowtok = NULL;
	c.tokbuf = NULL;
	c.tok_at = NULL;
	c.given = NULL;
	if (pre) {
		c.epoch = pre->epoch;
	} else if (p->epoch_field >= 0) {
		struct cm_slice t = rec->f[p->epoch_field];

		if (epoch_of(p, o, t, &c.epoch) != 0) {
			*reason = CM_REJ_EPOCH;
			*field = p->epoch_field;
			return CM_REJECTED;
		}
	}

	o->epoch = c.epoch;
	if (!pre && tags_reserve(&o->tag, &o->tagcap, p->nmemo + p->nphone + 1) != 0)
		return CM_FAIL;
	tag = pre ? pre->tag : o->tag;
	if (!pre && !o->ahead) {
		/* Every memo entry of the record asked for at once: see cm_field_memo_prefetch. */
		prefetch_phones(p, rec, o, tag + p->nmemo);
		prefetch_fields(p, rec, o, c.epoch, tag);
	} else if (!pre) {
		memset(tag, 0, (p->nmemo + p->nphone) * sizeof *tag);
	}
	if (row_numbers(p, rec, o, &c, tag + p->nmemo, pre ? pre->num : NULL) != 0)
		return CM_FAIL;
	if (ps && o->skipping >= 2)
		hash_ahead(p, ps, rec, o, &c);
	cm_buf_reset(&o->scratch);
	/*
	 * The loop's arrays in locals: a store to ot[] (bytes) may alias
	 * anything, and would have every pointer reloaded from p, rec and o.
	 */
	ops = p->ops;
	nout = p->nout;
	f = rec->f;
	type = rec->type;
	ot = o->ot;
	val = o->val;
	off = o->off;
	made = o->made;
	for (i = 0; i < nout; i++) {
		const struct cm_plan_op *op = &ops[i];
		const struct cm_action *a = op->a;
		struct cm_slice v = f[op->in];
		unsigned char t = type ? type[op->in] : CM_VT_STR;
		size_t start;
		int rc;

		ot[i] = CM_OT_STR;
		if (t == CM_VT_ABSENT || t == CM_VT_NULL) {
			ot[i] = t == CM_VT_NULL ? CM_OT_NULL : CM_OT_ABSENT;
			val[i].p = "";
			val[i].n = 0;
			continue;
		}
		if (op->how == CM_HOW_KEEP) {
			val[i] = v;
			if (rec->raw) {
				ot[i] = CM_OT_KEPT;
				o->raw[i] = rec->raw[op->in];
			}
			continue;
		}
		start = o->scratch.n;
		if (t == CM_VT_TREE && a->type != CM_ACT_REDACT) {
			rc = map_tree(p, a, &c, v, &o->scratch);
			ot[i] = CM_OT_JSON;
		} else {
			if (op->memo >= 0 && gate_skips(o, (size_t)op->memo)) {
				cm_pseudo_cache_bypass(ps, 1);
				rc = cm_action_apply(a, &c, v.p, v.n, &o->scratch);
				cm_pseudo_cache_bypass(ps, 0);
			} else if (op->how == CM_HOW_TIME && v.n) {
				rc = floor_time(o, i, a, &c, v);
			} else if (op->memo >= 0) {
				size_t k = (size_t)op->memo;
				int hit;

				rc = cm_field_memo_apply_h(o->fm, a, &c, v.p, v.n, tag[k], &o->scratch,
							   &hit);
				gate_count(o, k, hit != 0);
				if (k < o->ngate)
					o->gate[k].tpl = hit == 2;
			} else if (op->how == CM_HOW_PHONE && c.nrow) {
				size_t tok_at = SIZE_MAX;
				long r = op->phone >= 0 ? o->rowof[op->phone] : -1;

				/* a row number's normalization is not made again */
				if (r >= 0) {
					c.given = &o->row[r];
					c.given_cls = (enum cm_phone_class)o->rowcls[r];
					c.given_h = o->rowh[r];
					c.tok_at = &tok_at;
				}
				rc = cm_action_apply(a, &c, v.p, v.n, &o->scratch);
				if (rc == 0 && tok_at != SIZE_MAX && !o->scratch.oom) {
					/* the scrubs of the record put the same token in (fieldmemo.c) */
					struct cm_row_token *rt = &o->rowtok[r];

					rt->off = tok_at;
					rt->len = (unsigned)(o->scratch.n - tok_at);
					rt->bits = a->bits;
				}
				c.given = NULL;
				c.tok_at = NULL;
			} else {
				rc = cm_action_apply(a, &c, v.p, v.n, &o->scratch);
			}
			if (t == CM_VT_NUM && rc == 0 &&
			    json_number(o->scratch.p + start, o->scratch.n - start))
				ot[i] = CM_OT_JSON;
		}
		if (rc == CM_FAIL || o->scratch.oom) {
			ret = CM_FAIL;
			goto done;
		}
		if (rc != 0) {
			*reason = CM_REJ_VALUE;
			*field = (long)op->in;
			ret = CM_REJECTED;
			goto done;
		}
		/* in the scratch, which may move until the record is done */
		made[m] = i;
		off[m++] = start;
		val[i].n = o->scratch.n - start;
	}
	for (i = 0; i < m; i++)
		val[made[i]].p = o->scratch.p + off[i];
done:
	cm_pseudo_ahead_done(ps); /* the digests named this record's bytes */
	return ret;
}

static void pad(struct cm_buf *out, size_t have, size_t width)
{
	while (have++ < width)
		cm_buf_addc(out, ' ');
}

void cm_plan_describe(const struct cm_plan *p, struct cm_buf *out)
{
	size_t i, w = 5;

	for (i = 0; i < p->schema.n; i++)
		if (strlen(p->schema.names[i]) > w)
			w = strlen(p->schema.names[i]);
	cm_buf_adds(out, "field");
	pad(out, 5, w + 2);
	cm_buf_adds(out, "rule  what leaves the filter\n");
	for (i = 0; i < p->schema.n; i++) {
		const char *name = p->schema.names[i];
		char line[16];
		size_t ll;

		cm_buf_adds(out, name);
		pad(out, strlen(name), w + 2);
		if (p->rule_line[i])
			ll = (size_t)snprintf(line, sizeof line, "%u", p->rule_line[i]);
		else
			ll = (size_t)snprintf(line, sizeof line, "*");
		cm_buf_add(out, line, ll);
		pad(out, ll, 6);
		cm_action_describe(p->act[i], out);
		cm_buf_addc(out, '\n');
	}
	cm_buf_adds(out, "output columns (");
	cm_buf_addu(out, p->nout);
	cm_buf_adds(out, "): ");
	for (i = 0; i < p->nout; i++) {
		if (i)
			cm_buf_addc(out, ',');
		cm_buf_adds(out, p->schema.names[p->out[i]]);
	}
	if (p->nout == 0)
		cm_buf_adds(out, "(none)");
	cm_buf_addc(out, '\n');
}
