/* \summary: encoders: minimized records to CSV (RFC 4180) or JSON lines (RFC 8259) */
#include <string.h>

#include "cdrmin/csv.h"
#include "cdrmin/encoder.h"

/*
 * Length of the valid UTF-8 sequence at s[0..n) (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), or 0 when it is not one.
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] >= 0xa0))
			return 0; /* overlong, surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
			return 0; /* overlong, above U+10FFFF */
		return 4;
	}
	return 0;
}

void cm_json_put_string(struct cm_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	cm_buf_addc(out, '"');
	while (i < n) {
		unsigned char c = u[i];
		size_t len;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run++;
			i++;
			continue;
		}
		cm_buf_add(out, s + i - run, run);
		run = 0;
		if (c == '"' || c == '\\') {
			cm_buf_addc(out, '\\');
			cm_buf_addc(out, (char)c);
			i++;
		} else if (c < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			if (c == '\n')
				cm_buf_add(out, "\\n", 2);
			else if (c == '\r')
				cm_buf_add(out, "\\r", 2);
			else if (c == '\t')
				cm_buf_add(out, "\\t", 2);
			else
				cm_buf_add(out, esc, sizeof esc);
			i++;
		} else if ((len = utf8_len(u + i, n - i)) != 0) {
			cm_buf_add(out, s + i, len);
			i += len;
		} else {
			cm_buf_add(out, "\xef\xbf\xbd", 3); /* U+FFFD for one bad byte */
			i++;
		}
	}
	cm_buf_add(out, s + i - run, run);
	cm_buf_addc(out, '"');
}

void cm_encode_header(const struct cm_encoder *e, const struct cm_plan *p, struct cm_buf *out)
{
	size_t i;

	if (e->fmt == CM_OUTPUT_JSONL)
		return;
	for (i = 0; i < p->nout; i++) {
		const char *name = p->schema.names[p->out[i]];

		if (i)
			cm_buf_addc(out, e->delim);
		cm_csv_put(out, name, strlen(name), e->delim);
	}
	cm_buf_addc(out, '\n');
}

void cm_encode_record(const struct cm_encoder *e, const struct cm_plan *p,
		      const struct cm_plan_out *o, struct cm_buf *out)
{
	size_t i;

	if (e->fmt == CM_OUTPUT_JSONL) {
		int first = 1;

		cm_buf_addc(out, '{');
		for (i = 0; i < p->nout; i++) {
			const char *name = p->schema.names[p->out[i]];
			struct cm_slice v = cm_plan_value(o, i);

			if (o->ot[i] == CM_OT_ABSENT)
				continue;
			if (!first)
				cm_buf_addc(out, ',');
			first = 0;
			cm_json_put_string(out, name, strlen(name));
			cm_buf_addc(out, ':');
			switch (o->ot[i]) {
			case CM_OT_KEPT:
				cm_buf_add(out, o->raw[i].p, o->raw[i].n);
				break;
			case CM_OT_JSON:
				cm_buf_add(out, v.p, v.n);
				break;
			case CM_OT_NULL:
				cm_buf_add(out, "null", 4);
				break;
			default:
				cm_json_put_string(out, v.p, v.n);
				break;
			}
		}
		cm_buf_add(out, "}\n", 2);
		return;
	}
	for (i = 0; i < p->nout; i++) {
		struct cm_slice v = cm_plan_value(o, i);

		if (i)
			cm_buf_addc(out, e->delim);
		cm_csv_put(out, v.p, v.n, e->delim);
	}
	/* A lone empty field would be a blank line, which readers skip. */
	if (p->nout == 1 && cm_plan_value(o, 0).n == 0)
		cm_buf_add(out, "\"\"", 2);
	cm_buf_addc(out, '\n');
}
