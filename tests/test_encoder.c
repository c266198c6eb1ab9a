/* Unit tests: encoders (src/encoder.c): JSON strings, JSON lines and CSV records. */
#include <criterion/criterion.h>
#include <string.h>

#include "cdrmin/encoder.h"
#include "cdrmin/json.h"

TestSuite(encoder);

/* cm_json_put_string of s[0..n) as a C string. */
static const char *json(const char *s, size_t n)
{
	static char res[256];
	struct cm_buf b;

	cm_buf_init(&b);
	cm_json_put_string(&b, s, n);
	cr_assert(!b.oom);
	cr_assert_lt(b.n, sizeof res);
	memcpy(res, b.p, b.n);
	res[b.n] = '\0';
	cm_buf_deinit(&b);
	return res;
}

#define J(lit) json(lit, sizeof lit - 1)

Test(encoder, json_escapes)
{
	cr_expect_str_eq(J(""), "\"\"");
	cr_expect_str_eq(J("plain text, 123"), "\"plain text, 123\"");
	cr_expect_str_eq(J("say \"hi\""), "\"say \\\"hi\\\"\"");
	cr_expect_str_eq(J("a\\b"), "\"a\\\\b\"");
	cr_expect_str_eq(J("line\nnext\r\tx"), "\"line\\nnext\\r\\tx\"");
	cr_expect_str_eq(J("\x01\x1f\x7f"), "\"\\u0001\\u001f\x7f\"");
	cr_expect_str_eq(J("nul\0byte"), "\"nul\\u0000byte\"");
	cr_expect_str_eq(J("/"), "\"/\"");
}

Test(encoder, json_utf8)
{
	/* valid UTF-8 passes: 2, 3 and 4 byte forms */
	cr_expect_str_eq(J("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\x9e\"");
	/* not UTF-8: each bad byte is U+FFFD */
	cr_expect_str_eq(J("a\xff" "b"), "\"a\xef\xbf\xbd" "b\"");
	cr_expect_str_eq(J("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");         /* overlong */
	cr_expect_str_eq(J("\xed\xa0\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* surrogate */
	cr_expect_str_eq(J("\xf4\x90\x80\x80"), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	cr_expect_str_eq(J("\xe2\x82"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");        /* cut short */
}

Test(encoder, jsonl_and_csv_records)
{
	static const char *const names[] = {"a", "b\"q", "c"};
	struct cm_rules r;
	struct cm_schema s;
	struct cm_plan p;
	struct cm_plan_out o;
	struct cm_record rec = {0};
	struct cm_slice f[3] = {{"1,2", 3}, {"x", 1}, {"", 0}};
	struct cm_encoder e;
	struct cm_buf b;
	struct cm_err err;
	enum cm_reject why;
	long field;
	size_t i;
	static const char text[] = "columns a,\"b\\\"q\",c\na keep\n\"b\\\"q\" keep\nc keep\n* drop\n";

	cr_assert_eq(cm_rules_parse(&r, "t.rules", text, sizeof text - 1, &err), 0, "%s", err.msg);
	cm_schema_init(&s);
	for (i = 0; i < 3; i++)
		cm_schema_add(&s, names[i], strlen(names[i]));
	cr_assert_eq(cm_plan_compile(&p, &r, &s, &err), 0, "%s", err.msg);
	cm_plan_out_init(&o);
	rec.f = f;
	rec.n = 3;
	rec.line = 1;
	rec.offset = 0;
	cr_assert_eq(cm_plan_apply(&p, NULL, &rec, &o, &why, &field), CM_WRITE);

	cm_buf_init(&b);
	e.fmt = CM_OUTPUT_JSONL;
	e.delim = ',';
	cm_encode_header(&e, &p, &b);
	cr_expect_eq(b.n, 0u, "no header line in JSON lines");
	cm_encode_record(&e, &p, &o, &b);
	cm_buf_addc(&b, '\0');
	cr_expect_str_eq(b.p, "{\"a\":\"1,2\",\"b\\\"q\":\"x\",\"c\":\"\"}\n");

	cm_buf_reset(&b);
	e.fmt = CM_OUTPUT_CSV;
	cm_encode_header(&e, &p, &b);
	cm_encode_record(&e, &p, &o, &b);
	cm_buf_addc(&b, '\0');
	cr_expect_str_eq(b.p, "a,\"b\"\"q\",c\n\"1,2\",x,\n");

	cm_buf_deinit(&b);
	cm_plan_out_deinit(&o);
	cm_plan_deinit(&p);
	cm_schema_deinit(&s);
	cm_rules_deinit(&r);
}
