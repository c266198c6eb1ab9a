/*
 * \summary: scrubbing e-mail addresses, IP addresses and telephone numbers
 * out of free text
 *
 * One pass, left to right. At each position the rules are tried in a fixed
 * order: a quoted display name (when asked), an e-mail address (RFC 5322
 * section 3.4.1 addr-spec, dot-atom form, recognised loosely), an IPv6
 * address (RFC 4291 section 2.2), an IPv4 dotted quad, a telephone number
 * (E.123 written forms). A match is replaced and scanning resumes after it.
 *
 * Cost: every scanner only starts where its run starts (the previous byte
 * cannot belong to it), so each byte is looked at a bounded number of times
 * and a text is scrubbed in linear time, whatever its length.
 */
#include <string.h>

#include "cdrmin/ipaddr.h"
#include "cdrmin/scrub.h"

#define SCRUB_REDACT_DEFAULT "REDACTED"

void cm_scrub_opts_default(struct cm_scrub_opts *o)
{
	o->min_digits = CM_SCRUB_MIN_DIGITS_DEFAULT;
	o->redact = 0;
	o->redact_text = SCRUB_REDACT_DEFAULT;
	/* A display name is a person's name: gone unless the rules keep it. */
	o->display_redact = 1;
	o->bits = CM_TOKEN_BITS_DEFAULT;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The e-mail local part as commonly written: [A-Za-z0-9._%+-]. */
static int is_local(char c)
{
	return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

/* Domain names (RFC 1035 section 2.3.1 labels, with the dots): [A-Za-z0-9.-]. */
static int is_domain(char c) { return is_alnum(c) || c == '.' || c == '-'; }

static int is_v6(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
	       c == '.';
}

/* A span of the text that matched a rule. */
enum hit { HIT_NONE = 0, HIT_EMAIL, HIT_IP, HIT_PHONE };

struct span {
	enum hit what;
	size_t start, end;
};

/*
 * An e-mail address whose local part starts at i: the maximal run of local
 * characters, '@', then the maximal run of domain characters, trailing dots
 * left out (the end of a sentence), holding a dot. A local part of only
 * digits and dashes (after one '+') is the user of a dial string or a SIP
 * URI, a telephone number: that is the phone rule's.
 */
static int email_at(const char *s, size_t n, size_t i, struct span *m)
{
	size_t e, k, d, de;

	if (!is_local(s[i]) || (i > 0 && is_local(s[i - 1])))
		return 0;
	for (e = i; e < n && is_local(s[e]); e++)
		;
	if (e == n || s[e] != '@')
		return 0;
	k = i + (s[i] == '+');
	if (k == e)
		return 0;
	while (k < e && (is_digit(s[k]) || s[k] == '-'))
		k++;
	if (k == e)
		return 0;
	d = e + 1;
	for (de = d; de < n && is_domain(s[de]); de++)
		;
	while (de > d && s[de - 1] == '.')
		de--;
	if (de == d || s[d] == '.' || memchr(s + d, '.', de - d) == NULL)
		return 0;
	m->what = HIT_EMAIL;
	m->start = i;
	m->end = de;
	return 1;
}

static int ip_ok(const char *s, size_t a, size_t b, int min_colons)
{
	struct cm_ip ip;
	size_t i;
	int colons = 0;

	if (b <= a || b - a > 64) /* the longest IPv6 text is far shorter */
		return 0;
	for (i = a; i < b; i++)
		colons += s[i] == ':';
	return colons >= min_colons && cm_ip_parse(s + a, b - a, &ip) == 0;
}

/*
 * An IPv6 address in the run of [0-9A-Fa-f:.] that starts at i, holding at
 * least two ':'. Text glued to it ("host:2001:db8::1", "2001:db8::1:",
 * "2001:db8::1.") gets a second chance without the stray ':' or dots.
 */
static int ipv6_at(const char *s, size_t n, size_t i, struct span *m)
{
	size_t a = i, b, colons = 0, k;
	int lead, trail;

	if (!is_v6(s[i]) || (i > 0 && is_v6(s[i - 1])))
		return 0;
	for (b = i; b < n && is_v6(s[b]); b++)
		colons += s[b] == ':';
	if (colons < 2)
		return 0;
	while (b > a && s[b - 1] == '.')
		b--;
	if (b - a < 2)
		return 0;
	/* A single ':' at either end is not part of an address ("::" is). */
	lead = s[a] == ':' && s[a + 1] != ':';
	trail = s[b - 1] == ':' && s[b - 2] != ':';
	for (k = 0; k < 4; k++) {
		if (((k & 1) && !lead) || ((k & 2) && !trail))
			continue;
		if (ip_ok(s, a + (k & 1), b - (k >> 1), 2)) {
			m->what = HIT_IP;
			m->start = a + (k & 1);
			m->end = b - (k >> 1);
			return 1;
		}
	}
	return 0;
}

/*
 * A dotted quad at i, not inside a longer run of digits and dots (a version
 * number "1.2.3.4.5", an OID): not preceded by a digit or '.', not followed
 * by a digit or '.' and a digit.
 */
static int ipv4_at(const char *s, size_t n, size_t i, struct span *m)
{
	size_t j = i, part, len;

	if (!is_digit(s[i]) || (i > 0 && (is_digit(s[i - 1]) || s[i - 1] == '.')))
		return 0;
	for (part = 0; part < 4; part++) {
		if (part > 0) {
			if (j >= n || s[j] != '.')
				return 0;
			j++;
		}
		for (len = 0; j < n && is_digit(s[j]); j++)
			if (++len > 3)
				return 0;
		if (len == 0)
			return 0;
	}
	if (j + 1 < n && s[j] == '.' && is_digit(s[j + 1]))
		return 0;
	if (!ip_ok(s, i, j, 0))
		return 0;
	m->what = HIT_IP;
	m->start = i;
	m->end = j;
	return 1;
}

/* A group of a written number at i: digits, or "(" digits ")". Returns its end, or 0. */
static size_t group_at(const char *s, size_t n, size_t i, size_t *digits)
{
	size_t j = i, d;
	int paren = 0;

	if (j < n && s[j] == '(')
		paren = 1, j++;
	d = j;
	while (j < n && is_digit(s[j]))
		j++;
	if (j == d)
		return 0;
	*digits = j - d;
	if (paren) {
		if (j >= n || s[j] != ')')
			return 0;
		j++;
	}
	return j;
}

/*
 * A telephone number at i: an optional '+', then groups separated by one
 * space or dash, or set off by parentheses, with at least min digits. A
 * group where an address starts ("call 0301234 192.0.2.1") ends the number
 * before it: the address rules come first.
 */
static int phone_at(const char *s, size_t n, size_t i, size_t min, struct span *m)
{
	struct span other;
	size_t p = i, e, q, ge, d, total;

	if (s[p] == '+')
		p++;
	else if (i > 0 && is_digit(s[i - 1]))
		return 0; /* the rest of a run already tried from its start */
	if (p >= n || !(e = group_at(s, n, p, &total)))
		return 0;
	for (;;) {
		q = e;
		if (q < n && (s[q] == ' ' || s[q] == '-'))
			q++;
		if (q >= n || !(ge = group_at(s, n, q, &d)))
			break;
		if (s[q] != '(' &&
		    (email_at(s, n, q, &other) || ipv6_at(s, n, q, &other) || ipv4_at(s, n, q, &other)))
			break;
		total += d;
		e = ge;
	}
	if (total < min)
		return 0;
	m->what = HIT_PHONE;
	m->start = i;
	m->end = e;
	return 1;
}

/* The end of the double-quoted string opening at i (after its closing quote), or n. */
static size_t quoted_end(const char *s, size_t n, size_t i)
{
	size_t j = i + 1;

	while (j < n) {
		if (s[j] == '\\')
			j += 2; /* RFC 3261 quoted-pair */
		else if (s[j] == '"')
			return j + 1;
		else
			j++;
	}
	return n;
}

static void put_lower(struct cm_buf *b, const char *s, size_t n)
{
	size_t i;

	cm_buf_reset(b);
	for (i = 0; i < n; i++)
		cm_buf_addc(b, s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i]);
}

/*
 * Append the replacement of the match m of in: the redact text, or the
 * token the field actions give for the same value. tmp is scratch for the
 * normalized value. Returns 0 or CM_FAIL.
 */
static int replace(const struct cm_scrub_opts *o, const struct cm_scrub_ctx *ctx, const char *in,
		   const struct span *m, struct cm_buf *tmp, struct cm_buf *out)
{
	struct cm_numbering plan;
	const struct cm_numbering *np = ctx->np;
	const char *v = in + m->start;
	size_t n = m->end - m->start;
	unsigned bits = o->bits ? o->bits : CM_TOKEN_BITS_DEFAULT;
	struct cm_ip ip;

	if (o->redact) {
		cm_buf_adds(out, o->redact_text ? o->redact_text : SCRUB_REDACT_DEFAULT);
		return 0;
	}
	if (!ctx->ps)
		return CM_FAIL;
	switch (m->what) {
	case HIT_EMAIL:
		put_lower(tmp, v, n);
		if (tmp->oom)
			return CM_FAIL;
		return cm_pseudo_token(ctx->ps, CM_KIND_EMAIL, ctx->epoch, tmp->p, tmp->n, bits, out);
	case HIT_IP:
		/* The address bytes: ::ffff:192.0.2.1 and 192.0.2.1 are one address. */
		if (cm_ip_parse(v, n, &ip) != 0)
			return CM_FAIL;
		return cm_pseudo_token(ctx->ps, CM_KIND_IP, ctx->epoch, (const char *)ip.a,
				       cm_ip_len(&ip), bits, out);
	case HIT_PHONE:
		if (!np) {
			cm_numbering_default(&plan);
			np = &plan;
		}
		cm_phone_normalize(np, v, n, tmp);
		if (tmp->oom)
			return CM_FAIL;
		return cm_pseudo_token(ctx->ps, CM_KIND_PHONE, ctx->epoch, tmp->p, tmp->n, bits, out);
	case HIT_NONE:
		break;
	}
	return CM_FAIL;
}

int cm_scrub(const struct cm_scrub_opts *o, const struct cm_scrub_ctx *ctx, const char *in,
	     size_t n, struct cm_buf *out)
{
	struct cm_buf tmp;
	struct span m;
	size_t i = 0, copied = 0, min = o->min_digits ? o->min_digits : 1, start = out->n;
	int rc = 0;

	cm_buf_init(&tmp);
	while (i < n) {
		if (o->display_redact && in[i] == '"') {
			/* The display name goes, its quotes stay: "Alice" <...> -> "" <...>. */
			cm_buf_add(out, in + copied, i - copied);
			cm_buf_add(out, "\"\"", 2);
			i = copied = quoted_end(in, n, i);
			continue;
		}
		if (!email_at(in, n, i, &m) && !ipv6_at(in, n, i, &m) && !ipv4_at(in, n, i, &m) &&
		    !phone_at(in, n, i, min, &m)) {
			i++;
			continue;
		}
		cm_buf_add(out, in + copied, m.start - copied);
		if (replace(o, ctx, in, &m, &tmp, out) != 0) {
			rc = CM_FAIL;
			goto out;
		}
		i = copied = m.end;
		/* The port of "192.0.2.1:5060" or "[2001:db8::1]:5060" names a service, not a person. */
		if (m.what == HIT_IP) {
			size_t k = m.end, j;
			int v6 = memchr(in + m.start, ':', m.end - m.start) != NULL;

			if (v6 && m.start > 0 && in[m.start - 1] == '[' && k < n && in[k] == ']')
				k++;
			else if (v6)
				continue; /* a colon after a bare IPv6 address is its own */
			if (k >= n || in[k] != ':')
				continue;
			for (j = k + 1; j < n && j - k <= 5 && is_digit(in[j]); j++)
				;
			if (j > k + 1 && j - k <= 6 && (j == n || !is_digit(in[j]))) {
				cm_buf_add(out, in + i, j - i);
				i = copied = j;
			}
		}
	}
	cm_buf_add(out, in + copied, n - copied);
out:
	cm_buf_deinit(&tmp); /* it held originals: deinit wipes */
	if (out->oom)
		rc = CM_FAIL;
	if (rc != 0)
		out->n = start; /* nothing half-scrubbed is left for a caller to use */
	return rc;
}
