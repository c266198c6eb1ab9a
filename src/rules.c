/*
 * \summary: the rules language: tokenizer and parser
 *
 * One directive or field rule per line. Words are separated by blanks; a
 * word may hold double-quoted parts ("Call ID", text="n/a") with \" and \\
 * escapes; '#' at the start of a word begins a comment. A line whose first
 * word is quoted is always a field rule, so a column may be named like a
 * directive ("format" keep).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cdrmin/calls.h"
#include "cdrmin/json.h"
#include "cdrmin/sip.h"
#include "cdrmin/rules.h"

#define MAX_WORDS 64
#define MAX_RULES_FILE (4u << 20)

struct word {
	char *s;       /* unquoted text, NUL-terminated (owned by the line) */
	unsigned col;  /* 1-based column of the word's first byte */
	int quoted;    /* the whole word was one quoted string */
};

struct line {
	struct word w[MAX_WORDS];
	size_t n;
	unsigned no;
	char *store; /* backing storage of the words */
};

struct parser {
	struct cm_rules *r;
	const char *path;
	struct cm_err *err;
	int have_format, have_header, have_columns, have_delim, have_numbering, have_epoch;
	int have_marker, have_zone;
	unsigned header_line, columns_line, marker_line, delim_line;
};

const char *cm_format_name(enum cm_format f)
{
	switch (f) {
	case CM_FORMAT_CSV:
		return "csv";
	case CM_FORMAT_JSONL:
		return "jsonl";
	case CM_FORMAT_KV:
		return "kv";
	case CM_FORMAT_KANNEL:
		return "kannel";
	case CM_FORMAT_SIP:
		return "sip";
	case CM_FORMAT_SIP_CALLS:
		return "sip-calls";
	}
	return "?";
}

static int perr(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(struct parser *ps, unsigned line, unsigned col, const char *fmt, ...)
{
	char msg[CM_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return cm_err_at(ps->err, CM_E_RULES, line, col, "%s", msg);
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

/*
 * Split text[0..n) (one line, without its LF) into words. Returns 0, or
 * CM_FAIL with err set for an unterminated quote, a NUL byte or too many
 * words.
 */
static int split_line(struct parser *ps, struct line *ln, const char *text, size_t n)
{
	size_t i = 0;
	char *o;

	ln->n = 0;
	ln->store = malloc(n + 1);
	if (!ln->store)
		return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
	o = ln->store;
	for (;;) {
		struct word *w;
		int inq = 0, all_quoted = 1, any = 0;

		while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r'))
			i++;
		if (i >= n || text[i] == '#')
			return 0;
		if (ln->n == MAX_WORDS)
			return perr(ps, ln->no, (unsigned)i + 1, "too many words on one line (at most %d)", MAX_WORDS);
		w = &ln->w[ln->n++];
		w->col = (unsigned)i + 1;
		w->s = o;
		for (; i < n; i++) {
			char c = text[i];

			if (c == '\0')
				return perr(ps, ln->no, (unsigned)i + 1, "NUL byte in rules file");
			if (inq) {
				if (c == '\\' && i + 1 < n && (text[i + 1] == '"' || text[i + 1] == '\\'))
					c = text[++i];
				else if (c == '"') {
					inq = 0;
					continue;
				}
				*o++ = c;
				continue;
			}
			if (c == ' ' || c == '\t' || c == '\r')
				break;
			if (c == '"') {
				inq = 1;
				any = 1;
				continue;
			}
			all_quoted = 0;
			*o++ = c;
		}
		if (inq)
			return perr(ps, ln->no, w->col, "unterminated quote");
		*o++ = '\0';
		w->quoted = any && all_quoted;
	}
}

/* Parses an unsigned decimal in [lo, hi]. Returns 0 or -1. */
static int parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > hi)
			return -1;
	}
	if (v < lo)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int all_digits(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	return strspn(s, "0123456789") == n;
}

/* "key=value": points *val after '=' and returns the key length, or 0. */
static size_t kv(const char *w, const char **val)
{
	const char *eq = strchr(w, '=');

	if (!eq || eq == w)
		return 0;
	*val = eq + 1;
	return (size_t)(eq - w);
}

static int key_is(const char *w, size_t klen, const char *k)
{
	return strlen(k) == klen && memcmp(w, k, klen) == 0;
}

/* Parses value "reject|redact|pseudonym" of invalid=. */
static int parse_invalid(const char *v, enum cm_invalid *inv)
{
	if (strcmp(v, "reject") == 0)
		*inv = CM_INVALID_REJECT;
	else if (strcmp(v, "redact") == 0)
		*inv = CM_INVALID_REDACT;
	else if (strcmp(v, "pseudonym") == 0)
		*inv = CM_INVALID_PSEUDONYM;
	else
		return -1;
	return 0;
}

static int parse_bounds(const char *v, struct cm_bucket *b)
{
	const char *p = v;

	if (!*v)
		return -1;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		double d, *nb;
		char **nl;

		if (cm_decimal_parse(p, len, &d) != 0)
			return -1;
		if (b->n && d <= b->bound[b->n - 1])
			return -2;
		nb = realloc(b->bound, (b->n + 1) * sizeof *nb);
		if (!nb)
			return -3;
		b->bound = nb;
		nl = realloc(b->label, (b->n + 1) * sizeof *nl);
		if (!nl)
			return -3;
		b->label = nl;
		nl[b->n] = strndup(p, len);
		if (!nl[b->n])
			return -3;
		nb[b->n++] = d;
		p += len;
		if (*p == ',') {
			p++;
			if (!*p)
				return -1;
		}
	}
	return 0;
}

/*
 * Parameters of an action: words w[0..n) of the form key=value, or flags.
 * `allowed` lists the keys (and flags) this action takes, for the error
 * message and the check.
 */
static int parse_params(struct parser *ps, unsigned lno, struct cm_action *a, const struct word *w,
			size_t n, const char *allowed)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const char *v = NULL, *s = w[i].s;
		size_t klen = kv(s, &v);
		char keyname[32];
		const char *ap;
		size_t j;

		for (j = 0; j < i; j++) {
			const char *v2 = NULL;
			size_t k2 = kv(w[j].s, &v2);
			size_t len = klen ? klen : strlen(s);

			if ((k2 ? k2 : strlen(w[j].s)) == len && memcmp(w[j].s, s, len) == 0)
				return perr(ps, lno, w[i].col, "'%.*s' given twice", (int)(len < 40 ? len : 40), s);
		}

		if (klen == 0) {
			/* a flag */
			snprintf(keyname, sizeof keyname, "%s", s);
		} else {
			snprintf(keyname, sizeof keyname, "%.*s=", (int)(klen < 30 ? klen : 30), s);
		}
		/* allowed is a blank-separated list such as "bits= invalid= redact" */
		ap = allowed;
		{
			size_t kn = strlen(keyname);
			int found = 0;

			while (*ap) {
				size_t len = strcspn(ap, " ");
				if (len == kn && memcmp(ap, keyname, kn) == 0)
					found = 1;
				ap += len;
				while (*ap == ' ')
					ap++;
			}
			if (!found)
				return perr(ps, lno, w[i].col, "unexpected '%.40s' for %s (expected: %s)",
					    klen ? keyname : s, cm_act_name(a->type),
					    *allowed ? allowed : "no parameters");
		}
		if (klen == 0) {
			if (strcmp(s, "redact") == 0)
				a->scrub.redact = 1;
			continue;
		}
		if (key_is(s, klen, "bits")) {
			if (parse_uint(v, 1, 100000, &a->bits) != 0 || a->bits % 8 ||
			    a->bits < CM_TOKEN_BITS_MIN || a->bits > 8 * CM_DIGEST_BYTES)
				return perr(ps, lno, w[i].col + 5,
					    "bits= must be a multiple of 8 from %d to %d", CM_TOKEN_BITS_MIN,
					    8 * CM_DIGEST_BYTES);
			a->scrub.bits = a->bits;
		} else if (key_is(s, klen, "invalid")) {
			if (parse_invalid(v, &a->invalid) != 0)
				return perr(ps, lno, w[i].col + 8, "invalid= must be reject, redact or pseudonym");
		} else if (key_is(s, klen, "text")) {
			free(a->text);
			a->text = xstrdup(v);
			if (!a->text)
				return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
			a->scrub.redact_text = a->text;
		} else if (key_is(s, klen, "kind")) {
			int k = cm_kind_parse(v);
			if (k < 0)
				return perr(ps, lno, w[i].col + 5,
					    "kind= must be generic, phone, imsi, imei, ip or email");
			a->kind = (enum cm_kind)k;
		} else if (key_is(s, klen, "keep")) {
			if ((a->type == CM_ACT_PHONE || a->type == CM_ACT_PSEUDONYM) && strcmp(v, "cc") == 0)
				a->keep_cc = 1;
			else if (parse_uint(v, 1, CM_E164_MAX_DIGITS, &a->keep_digits) != 0)
				return perr(ps, lno, w[i].col + 5, "keep= must be %sa number of digits from 1 to %d",
					    a->type == CM_ACT_PHONE ? "cc or " : "", CM_E164_MAX_DIGITS);
		} else if (key_is(s, klen, "digits")) {
			if (parse_uint(v, 1, CM_E164_MAX_DIGITS, &a->digits) != 0)
				return perr(ps, lno, w[i].col + 7, "digits= must be a number from 1 to %d",
					    CM_E164_MAX_DIGITS);
		} else if (key_is(s, klen, "v4")) {
			if (parse_uint(v, 0, CM_IP_V4_BITS_MAX, &a->v4bits) != 0)
				return perr(ps, lno, w[i].col + 3,
					    "v4= must be a prefix length from 0 to %d (longer keeps a host)",
					    CM_IP_V4_BITS_MAX);
		} else if (key_is(s, klen, "v6")) {
			if (parse_uint(v, 0, CM_IP_V6_BITS_MAX, &a->v6bits) != 0)
				return perr(ps, lno, w[i].col + 3,
					    "v6= must be a prefix length from 0 to %d (longer keeps a customer's network)",
					    CM_IP_V6_BITS_MAX);
		} else if (key_is(s, klen, "decimals")) {
			if (parse_uint(v, 0, CM_GEO_DECIMALS_MAX, &a->decimals) != 0)
				return perr(ps, lno, w[i].col + 9,
					    "decimals= must be a number from 0 to %d (finer keeps a building)",
					    CM_GEO_DECIMALS_MAX);
		} else if (key_is(s, klen, "chars")) {
			if (parse_uint(v, 1, CM_GEOHASH_KEEP_MAX, &a->chars) != 0)
				return perr(ps, lno, w[i].col + 6,
					    "chars= must be a number from 1 to %d (finer keeps a building)",
					    CM_GEOHASH_KEEP_MAX);
		} else if (key_is(s, klen, "floor")) {
			if (strcmp(v, "minute") == 0)
				a->unit = CM_TIME_MINUTE;
			else if (strcmp(v, "hour") == 0)
				a->unit = CM_TIME_HOUR;
			else if (strcmp(v, "day") == 0)
				a->unit = CM_TIME_DAY;
			else
				return perr(ps, lno, w[i].col + 6, "floor= must be minute, hour or day");
		} else if (key_is(s, klen, "bounds")) {
			int rc = parse_bounds(v, &a->bucket);
			if (rc == -3)
				return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
			if (rc == -2)
				return perr(ps, lno, w[i].col + 7, "bounds= must be strictly increasing");
			if (rc != 0)
				return perr(ps, lno, w[i].col + 7,
					    "bounds= needs a comma-separated list of decimal numbers");
		} else if (key_is(s, klen, "decode")) {
			if (strcmp(v, "url") != 0)
				return perr(ps, lno, w[i].col + 7, "decode= must be url");
			a->decode_url = 1;
		} else if (key_is(s, klen, "alnum")) {
			if (strcmp(v, "keep") == 0)
				a->alnum = CM_ALNUM_KEEP;
			else if (strcmp(v, "pseudonym") == 0)
				a->alnum = CM_ALNUM_PSEUDONYM;
			else if (strcmp(v, "redact") == 0)
				a->alnum = CM_ALNUM_REDACT;
			else
				return perr(ps, lno, w[i].col + 6, "alnum= must be keep, pseudonym or redact");
		} else if (key_is(s, klen, "display")) {
			if (strcmp(v, "redact") == 0)
				a->scrub.display_redact = 1;
			else if (strcmp(v, "keep") == 0)
				a->scrub.display_redact = 0;
			else
				return perr(ps, lno, w[i].col + 8, "display= must be keep or redact");
		} else if (key_is(s, klen, "min-digits")) {
			/* Above 6, short subscriber numbers and extensions would pass whole. */
			if (parse_uint(v, 1, 6, &a->scrub.min_digits) != 0)
				return perr(ps, lno, w[i].col + 11, "min-digits= must be a number from 1 to 6");
		}
	}
	return 0;
}

/* Words that would name an unkeyed hash: refused with a pointer to the keyed one. */
static const char *const unkeyed[] = {"hash", "sha1", "sha256", "sha512", "md5", "blake2b",
				      "crc32", "xxhash", "unkeyed", NULL};

/*
 * A field rule: NAME ACTION [MODE] [PARAMS]. Fills a; the caller owns it.
 */
static int parse_action(struct parser *ps, const struct line *ln, size_t at, struct cm_action *a)
{
	const struct word *w = &ln->w[at];
	const char *name = w->s;
	size_t rest = ln->n - at - 1;
	const struct word *params = w + 1;
	size_t i;

	for (i = 0; unkeyed[i]; i++)
		if (strcmp(name, unkeyed[i]) == 0)
			return perr(ps, ln->no, w->col,
				    "'%s' is an unkeyed hash, which anyone can reverse by trying numbers: "
				    "use 'pseudonym' (keyed BLAKE2b)", name);

#define ACTION(str, t) else if (strcmp(name, str) == 0) cm_action_init(a, t)
	if (0)
		;
	ACTION("keep", CM_ACT_KEEP);
	ACTION("drop", CM_ACT_DROP);
	ACTION("redact", CM_ACT_REDACT);
	ACTION("pseudonym", CM_ACT_PSEUDONYM);
	ACTION("phone", CM_ACT_PHONE);
	ACTION("ip", CM_ACT_IP);
	ACTION("geo", CM_ACT_GEO);
	ACTION("lat", CM_ACT_LAT);
	ACTION("lon", CM_ACT_LON);
	ACTION("geohash", CM_ACT_GEOHASH);
	ACTION("cell", CM_ACT_CELL);
	ACTION("time", CM_ACT_TIME);
	ACTION("bucket", CM_ACT_BUCKET);
	ACTION("scrub", CM_ACT_SCRUB);
	ACTION("length", CM_ACT_LENGTH);
	else
		return perr(ps, ln->no, w->col,
			    "unknown action '%.40s' (expected keep, drop, redact, pseudonym, phone, ip, "
			    "geo, lat, lon, geohash, cell, time, bucket, scrub or length)", name);
#undef ACTION

	switch (a->type) {
	case CM_ACT_KEEP:
	case CM_ACT_DROP:
		return parse_params(ps, ln->no, a, params, rest, "");
	case CM_ACT_REDACT:
		return parse_params(ps, ln->no, a, params, rest, "text=");
	case CM_ACT_PSEUDONYM:
		if (parse_params(ps, ln->no, a, params, rest, "kind= bits= keep= invalid= text= decode=") != 0)
			return CM_FAIL;
		if ((a->keep_digits || a->keep_cc) && a->kind != CM_KIND_PHONE &&
		    (a->keep_cc || (a->kind != CM_KIND_IMSI && a->kind != CM_KIND_IMEI)))
			return perr(ps, ln->no, w->col, a->keep_cc ? "keep=cc needs kind=phone"
								  : "keep= needs kind=phone, imsi or imei");
		return 0;
	case CM_ACT_PHONE:
	case CM_ACT_IP:
		if (rest == 0 || (strcmp(params[0].s, "pseudonym") != 0 && strcmp(params[0].s, "truncate") != 0 &&
				  (a->type != CM_ACT_IP || strcmp(params[0].s, "prefix") != 0)))
			return perr(ps, ln->no, rest ? params[0].col : w->col + (unsigned)strlen(name) + 1,
				    "%s needs a mode: pseudonym or truncate%s", name,
				    a->type == CM_ACT_IP ? " or prefix" : "");
		a->mode = strcmp(params[0].s, "truncate") == 0 ? CM_MODE_TRUNCATE
			  : strcmp(params[0].s, "prefix") == 0	? CM_MODE_PREFIX
								: CM_MODE_PSEUDONYM;
		params++;
		rest--;
		if (a->type == CM_ACT_PHONE && a->mode == CM_MODE_PSEUDONYM)
			return parse_params(ps, ln->no, a, params, rest, "keep= bits= invalid= text= alnum= decode=");
		if (a->type == CM_ACT_PHONE) {
			if (parse_params(ps, ln->no, a, params, rest, "digits= invalid= text= alnum= decode=") != 0)
				return CM_FAIL;
			if (!a->digits)
				return perr(ps, ln->no, params[-1].col, "phone truncate needs digits=N");
			return 0;
		}
		if (a->mode == CM_MODE_PSEUDONYM)
			return parse_params(ps, ln->no, a, params, rest, "bits= invalid= text= decode=");
		if (a->mode == CM_MODE_PREFIX)
			return parse_params(ps, ln->no, a, params, rest, "invalid= text= decode=");
		return parse_params(ps, ln->no, a, params, rest, "v4= v6= invalid= text= decode=");
	case CM_ACT_GEO:
	case CM_ACT_LAT:
	case CM_ACT_LON:
		return parse_params(ps, ln->no, a, params, rest, "decimals= invalid= text= decode=");
	case CM_ACT_GEOHASH:
		return parse_params(ps, ln->no, a, params, rest, "chars= invalid= text= decode=");
	case CM_ACT_CELL:
		return parse_params(ps, ln->no, a, params, rest, "invalid= text= decode=");
	case CM_ACT_TIME:
		if (parse_params(ps, ln->no, a, params, rest, "floor= invalid= text= decode=") != 0)
			return CM_FAIL;
		for (i = 0; i < rest; i++)
			if (strncmp(params[i].s, "floor=", 6) == 0)
				return 0;
		return perr(ps, ln->no, w->col, "time needs floor=minute, floor=hour or floor=day");
	case CM_ACT_BUCKET:
		if (parse_params(ps, ln->no, a, params, rest, "bounds= invalid= text= decode=") != 0)
			return CM_FAIL;
		if (a->bucket.n == 0)
			return perr(ps, ln->no, w->col, "bucket needs bounds=N,N,...");
		return 0;
	case CM_ACT_SCRUB:
		return parse_params(ps, ln->no, a, params, rest,
				    "redact text= display= min-digits= bits= decode=");
	case CM_ACT_LENGTH:
		return parse_params(ps, ln->no, a, params, rest, "invalid= text= decode=");
	}
	return 0;
}

static int need_words(struct parser *ps, const struct line *ln, size_t n, const char *usage)
{
	if (ln->n != n)
		return perr(ps, ln->no, ln->n > n ? ln->w[n].col : ln->w[0].col, "expected: %s", usage);
	return 0;
}

static int once(struct parser *ps, const struct line *ln, int *seen)
{
	if (*seen)
		return perr(ps, ln->no, ln->w[0].col, "'%s' given twice", ln->w[0].s);
	*seen = 1;
	return 0;
}

static int add_name_list(struct parser *ps, const struct line *ln, size_t from, struct cm_schema *s)
{
	size_t i;

	for (i = from; i < ln->n; i++) {
		const char *p = ln->w[i].s;

		for (;;) {
			size_t len = strcspn(p, ",");

			if (len == 0) {
				if (*p == '\0' && p != ln->w[i].s)
					break; /* "a, b": a trailing comma before the next word */
				return perr(ps, ln->no, ln->w[i].col, "empty column name");
			}
			{
				size_t k;

				for (k = 0; k < s->n; k++)
					if (strlen(s->names[k]) == len && memcmp(s->names[k], p, len) == 0)
						return perr(ps, ln->no, ln->w[i].col, "column '%.*s' declared twice",
							    (int)(len < 60 ? len : 60), p);
			}
			if (cm_schema_add(s, p, len) != 0)
				return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
			p += len;
			if (*p == '\0')
				break;
			p++;
			if (*p == '\0')
				break;
		}
	}
	return 0;
}

static int parse_numbering(struct parser *ps, const struct line *ln)
{
	struct cm_numbering *np = &ps->r->numbering;
	size_t i;

	for (i = 1; i < ln->n; i++) {
		const char *v = NULL, *s = ln->w[i].s;
		size_t klen = kv(s, &v);
		unsigned vcol = ln->w[i].col + (unsigned)klen + 1;

		if (key_is(s, klen, "country")) {
			if (!all_digits(v, 3) || cm_phone_cc_len(v, strlen(v)) != strlen(v))
				return perr(ps, ln->no, vcol, "country= must be an E.164 country code (1 to 3 digits)");
			snprintf(np->cc, sizeof np->cc, "%s", v);
		} else if (key_is(s, klen, "trunk")) {
			if (*v && !all_digits(v, sizeof np->trunk - 1))
				return perr(ps, ln->no, vcol, "trunk= must be digits (or empty)");
			snprintf(np->trunk, sizeof np->trunk, "%s", v);
		} else if (key_is(s, klen, "international")) {
			if (*v && !all_digits(v, sizeof np->intl - 1))
				return perr(ps, ln->no, vcol, "international= must be digits (or empty)");
			snprintf(np->intl, sizeof np->intl, "%s", v);
		} else if (key_is(s, klen, "nsn")) {
			/* nsn=N or nsn=N-M: lengths of a national significant number */
			const char *dash = strchr(v, '-');
			char lo[8] = "", hi[8] = "";
			size_t lolen = dash ? (size_t)(dash - v) : strlen(v);

			if (lolen < sizeof lo) {
				memcpy(lo, v, lolen);
				lo[lolen] = '\0';
				snprintf(hi, sizeof hi, "%s", dash ? dash + 1 : v);
			}
			if (parse_uint(lo, 1, CM_E164_MAX_DIGITS, &np->nsn_min) != 0 ||
			    parse_uint(hi, 1, CM_E164_MAX_DIGITS, &np->nsn_max) != 0 ||
			    np->nsn_min > np->nsn_max)
				return perr(ps, ln->no, vcol, "nsn= must be a length N or a range N-M (1 to %d)",
					    CM_E164_MAX_DIGITS);
		} else if (key_is(s, klen, "bare")) {
			if (strcmp(v, "local") == 0)
				np->bare = CM_BARE_LOCAL;
			else if (strcmp(v, "national") == 0)
				np->bare = CM_BARE_NATIONAL;
			else if (strcmp(v, "international") == 0)
				np->bare = CM_BARE_INTERNATIONAL;
			else
				return perr(ps, ln->no, vcol, "bare= must be local, national or international");
		} else {
			return perr(ps, ln->no, ln->w[i].col,
				    "unexpected '%.40s' (expected country=, trunk=, international=, bare=, nsn=)", s);
		}
	}
	if (np->bare == CM_BARE_NATIONAL && !np->cc[0])
		return perr(ps, ln->no, ln->w[0].col, "bare=national needs country=");
	if ((np->trunk[0] || np->bare == CM_BARE_NATIONAL) && !np->cc[0])
		return perr(ps, ln->no, ln->w[0].col, "trunk= needs country= to read national numbers");
	if (np->trunk[0] && np->intl[0] && strcmp(np->trunk, np->intl) == 0)
		return perr(ps, ln->no, ln->w[0].col, "trunk and international prefixes must differ");
	return 0;
}

static int parse_filter(struct parser *ps, const struct line *ln, int skip)
{
	struct cm_rules *r = ps->r;
	struct cm_filter *f, *nf;
	const char *p;

	if (ln->n != 3)
		return perr(ps, ln->no, ln->w[0].col, "expected: %s FIELD VALUE[,VALUE...]", ln->w[0].s);
	nf = realloc(r->filters, (r->nfilters + 1) * sizeof *nf);
	if (!nf)
		return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
	r->filters = nf;
	f = &nf[r->nfilters++];
	memset(f, 0, sizeof *f);
	f->skip = skip;
	f->line = ln->no;
	f->col = ln->w[1].col;
	f->field = xstrdup(ln->w[1].s);
	if (!f->field)
		return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
	p = ln->w[2].s;
	for (;;) {
		size_t len = strcspn(p, ",");
		char **nv;

		if (len == 0)
			return perr(ps, ln->no, ln->w[2].col, "empty value in the list (write values as V1,V2)");
		nv = realloc(f->values, (f->nvalues + 1) * sizeof *nv);

		if (!nv)
			return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
		f->values = nv;
		nv[f->nvalues] = strndup(p, len);
		if (!nv[f->nvalues])
			return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
		f->nvalues++;
		p += len;
		if (!*p)
			break;
		p++;
	}
	return 0;
}

static int parse_directive_or_rule(struct parser *ps, const struct line *ln)
{
	struct cm_rules *r = ps->r;
	const struct word *w0 = &ln->w[0];
	const char *d = w0->s;
	struct cm_rule *nr;
	size_t i;

	if (!w0->quoted) {
		if (strcmp(d, "format") == 0) {
			static const enum cm_format all[] = {CM_FORMAT_CSV, CM_FORMAT_JSONL, CM_FORMAT_KV,
							     CM_FORMAT_KANNEL, CM_FORMAT_SIP,
							     CM_FORMAT_SIP_CALLS};

			if (once(ps, ln, &ps->have_format) ||
			    need_words(ps, ln, 2, "format csv|jsonl|kv|kannel|sip|sip-calls"))
				return CM_FAIL;
			for (i = 0; i < sizeof all / sizeof all[0]; i++)
				if (strcmp(ln->w[1].s, cm_format_name(all[i])) == 0) {
					r->format = all[i];
					return 0;
				}
			return perr(ps, ln->no, ln->w[1].col,
				    "unknown format '%.40s' (expected csv, jsonl, kv, kannel, sip or sip-calls)", ln->w[1].s);
		}
		if (strcmp(d, "marker") == 0) {
			if (once(ps, ln, &ps->have_marker) || need_words(ps, ln, 2, "marker TEXT"))
				return CM_FAIL;
			if (!ln->w[1].s[0])
				return perr(ps, ln->no, ln->w[1].col, "the marker must not be empty");
			r->marker = xstrdup(ln->w[1].s);
			if (!r->marker)
				return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
			ps->marker_line = ln->no;
			return 0;
		}
		if (strcmp(d, "header") == 0) {
			if (once(ps, ln, &ps->have_header) || need_words(ps, ln, 2, "header yes|no"))
				return CM_FAIL;
			ps->header_line = ln->no;
			if (strcmp(ln->w[1].s, "yes") == 0)
				r->header = 1;
			else if (strcmp(ln->w[1].s, "no") == 0)
				r->header = 0;
			else
				return perr(ps, ln->no, ln->w[1].col, "expected yes or no");
			return 0;
		}
		if (strcmp(d, "columns") == 0) {
			if (once(ps, ln, &ps->have_columns))
				return CM_FAIL;
			ps->columns_line = ln->no;
			if (ln->n < 2)
				return perr(ps, ln->no, w0->col, "expected: columns NAME,NAME,...");
			return add_name_list(ps, ln, 1, &r->columns);
		}
		if (strcmp(d, "delimiter") == 0) {
			const char *v;

			if (once(ps, ln, &ps->have_delim) || need_words(ps, ln, 2, "delimiter CHAR|tab"))
				return CM_FAIL;
			ps->delim_line = ln->no;
			v = ln->w[1].s;
			if (strcmp(v, "tab") == 0)
				r->delim = '\t';
			else if (strlen(v) == 1 && v[0] != '"' && v[0] != '\r' && v[0] != '\n')
				r->delim = v[0];
			else
				return perr(ps, ln->no, ln->w[1].col, "delimiter must be one character or 'tab'");
			return 0;
		}
		if (strcmp(d, "numbering") == 0) {
			if (once(ps, ln, &ps->have_numbering))
				return CM_FAIL;
			return parse_numbering(ps, ln);
		}
		if (strcmp(d, "epoch") == 0) {
			const char *u;

			if (once(ps, ln, &ps->have_epoch))
				return CM_FAIL;
			if (ln->n == 2 && strcmp(ln->w[1].s, "none") == 0)
				return 0;
			if (ln->n != 4 || strcmp(ln->w[2].s, "of") != 0)
				return perr(ps, ln->no, ln->n > 1 ? ln->w[1].col : w0->col,
					    "expected: epoch day|month|year of FIELD (or: epoch none)");
			u = ln->w[1].s;
			if (strcmp(u, "day") == 0)
				r->epoch_unit = CM_EPOCH_DAY;
			else if (strcmp(u, "month") == 0)
				r->epoch_unit = CM_EPOCH_MONTH;
			else if (strcmp(u, "year") == 0)
				r->epoch_unit = CM_EPOCH_YEAR;
			else
				return perr(ps, ln->no, ln->w[1].col, "epoch unit must be day, month or year");
			r->epoch_field = xstrdup(ln->w[3].s);
			if (!r->epoch_field)
				return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
			r->epoch_line = ln->no;
			r->epoch_col = ln->w[3].col;
			return 0;
		}
		if (strcmp(d, "retention") == 0) {
			if (ln->n != 3 || strcmp(ln->w[1].s, "zone") != 0)
				return perr(ps, ln->no, w0->col, "expected: retention zone ZONE (an IANA zone name)");
			if (once(ps, ln, &ps->have_zone))
				return CM_FAIL;
			if (strlen(ln->w[2].s) > CM_RET_ZONE_MAX || cm_retention_zone_ok(ln->w[2].s) != 0)
				return perr(ps, ln->no, ln->w[2].col,
					    "unknown time zone '%.64s' (an IANA name such as Europe/Athens)",
					    ln->w[2].s);
			snprintf(r->retention.zone, sizeof r->retention.zone, "%s", ln->w[2].s);
			return 0;
		}
		if (strcmp(d, "retain") == 0) {
			const char *wv[8];
			size_t k, bad = 0;
			const char *why = "";

			if (ln->n < 3 || ln->n > 4)
				return perr(ps, ln->no, w0->col, "expected: retain CLASS NUNIT [year-end] (7y, 24m, 60d)");
			for (k = 1; k < ln->n; k++)
				wv[k - 1] = ln->w[k].s;
			if (cm_retention_parse_retain(&r->retention, wv, ln->n - 1, &bad, &why) != 0)
				return perr(ps, ln->no, ln->w[1 + bad].col, "%s", why);
			return 0;
		}
		if (strcmp(d, "retain-records") == 0) {
			if (ln->n != 4 || strcmp(ln->w[2].s, "of") != 0)
				return perr(ps, ln->no, w0->col, "expected: retain-records CLASS of FIELD");
			if (r->retain_class)
				return perr(ps, ln->no, w0->col, "'retain-records' given twice");
			r->retain_class = xstrdup(ln->w[1].s);
			r->retain_field = xstrdup(ln->w[3].s);
			if (!r->retain_class || !r->retain_field)
				return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
			r->retain_line = ln->no;
			r->retain_col = ln->w[1].col;
			return 0;
		}
		if (strcmp(d, "only") == 0)
			return parse_filter(ps, ln, 0);
		if (strcmp(d, "skip") == 0)
			return parse_filter(ps, ln, 1);
		if (strcmp(d, "*") == 0) {
			if (r->def_line)
				return perr(ps, ln->no, w0->col, "the default '*' is already set at line %u",
					    r->def_line);
			if (ln->n < 2)
				return perr(ps, ln->no, w0->col, "expected: * drop (or: * redact)");
			if (parse_action(ps, ln, 1, &r->def) != 0)
				return CM_FAIL;
			if (r->def.type != CM_ACT_DROP && r->def.type != CM_ACT_REDACT)
				return perr(ps, ln->no, ln->w[1].col,
					    "the default for unnamed fields must be drop or redact "
					    "(deny by default: name each field to keep)");
			r->def_line = ln->no;
			return 0;
		}
	}

	/* A field rule. */
	if (!*d)
		return perr(ps, ln->no, w0->col, "empty field name");
	if (ln->n < 2)
		return perr(ps, ln->no, w0->col + (unsigned)strlen(d) + (w0->quoted ? 2 : 0),
			    "expected an action after field '%.60s'", d);
	for (i = 0; i < r->nrules; i++)
		if (strcmp(r->rules[i].field, d) == 0)
			return perr(ps, ln->no, w0->col, "field '%.60s' already has a rule at line %u", d,
				    r->rules[i].line);
	nr = realloc(r->rules, (r->nrules + 1) * sizeof *nr);
	if (!nr)
		return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
	r->rules = nr;
	nr = &nr[r->nrules];
	memset(nr, 0, sizeof *nr);
	cm_action_init(&nr->act, CM_ACT_DROP);
	nr->line = ln->no;
	nr->col = w0->col;
	nr->quoted = (unsigned char)w0->quoted;
	nr->field = xstrdup(d);
	r->nrules++; /* counted now so that deinit frees what parse_action allocated */
	if (!nr->field)
		return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
	return parse_action(ps, ln, 1, &nr->act);
}

/* Adds name to the schema unless it is there. Returns 0 or CM_FAIL. */
static int schema_add_once(struct parser *ps, struct cm_schema *s, const char *name)
{
	if (cm_schema_find(s, name) >= 0)
		return 0;
	if (cm_schema_add(s, name, strlen(name)) != 0)
		return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
	return 0;
}

/* Checks one field name of a line format at line:col. */
static int check_field_name(struct parser *ps, const char *name, unsigned line, unsigned col)
{
	const struct cm_rules *r = ps->r;
	const char *why = NULL;
	size_t at = 0, i;

	switch (r->format) {
	case CM_FORMAT_JSONL:
		if (cm_json_path_check(name, &at, &why) != 0)
			return perr(ps, line, col + (unsigned)at, "bad JSON path: %s", why);
		break;
	case CM_FORMAT_KV:
		for (i = 0; name[i]; i++)
			if (name[i] == '=' || name[i] == r->delim)
				return perr(ps, line, col + (unsigned)i,
					    "a kv field name cannot hold '=' or the pair separator");
		break;
	case CM_FORMAT_KANNEL:
		for (i = 0; name[i]; i++)
			if ((name[i] >= 'A' && name[i] <= 'Z') || name[i] == ':' || name[i] == '[' ||
			    name[i] == ']' || name[i] == ' ')
				return perr(ps, line, col + (unsigned)i,
					    "kannel field names are lower case, without ':', '[', ']' or blanks "
					    "(time, event, smsc, svc, from, to, msg, ...)");
		break;
	case CM_FORMAT_CSV:
	case CM_FORMAT_SIP:
	case CM_FORMAT_SIP_CALLS:
		break;
	}
	return 0;
}

/*
 * sip and sip-calls: the schema is the fixed fields of sip.h or calls.h.
 * A message body that is not SDP (an SMS in a MESSAGE) passes only scrubbed,
 * redacted or measured, never kept.
 */
static int finish_sip_format(struct parser *ps)
{
	struct cm_rules *r = ps->r;
	size_t i;
	int rc;

	if (ps->have_columns || ps->have_header || ps->have_marker || ps->have_delim)
		return perr(ps,
			    ps->have_columns  ? ps->columns_line
			    : ps->have_header ? ps->header_line
			    : ps->have_marker ? ps->marker_line
					      : ps->delim_line,
			    1, "format %s has fixed fields: no columns, header, marker or delimiter",
			    cm_format_name(r->format));
	r->header = 0;
	rc = r->format == CM_FORMAT_SIP ? cm_sip_schema(&r->columns) : cm_call_schema(&r->columns);
	if (rc != 0)
		return cm_err_set(ps->err, CM_E_NOMEM, "out of memory");
	for (i = 0; i < r->nrules; i++) {
		const struct cm_rule *rule = &r->rules[i];
		enum cm_act t = rule->act.type;

		if (r->format == CM_FORMAT_SIP && strcmp(rule->field, "body") == 0 &&
		    t != CM_ACT_DROP && t != CM_ACT_REDACT && t != CM_ACT_SCRUB && t != CM_ACT_LENGTH)
			return perr(ps, rule->line, rule->col,
				    "a SIP message body (a MESSAGE's text) can be dropped, redacted, "
				    "scrubbed or measured (length), not %s", cm_act_name(t));
	}
	return 0;
}

/*
 * Formats other than csv: the schema is the names the rules use, rules
 * first in their order, then filters and the epoch field. Checks that the
 * directives fit the format and, for JSON, that no kept subtree holds a
 * value another rule protects.
 */
static int finish_line_format(struct parser *ps)
{
	struct cm_rules *r = ps->r;
	size_t i, j;

	if (ps->have_columns || ps->have_header)
		return perr(ps, ps->have_columns ? ps->columns_line : ps->header_line, 1,
			    "'%s' is for csv: the fields of format %s are the names the rules use",
			    ps->have_columns ? "columns" : "header", cm_format_name(r->format));
	if (r->def.type != CM_ACT_DROP)
		return perr(ps, r->def_line, 1,
			    "format %s has no unnamed fields to redact: write '* drop' and name "
			    "each field the output needs", cm_format_name(r->format));
	if (ps->have_delim && r->format != CM_FORMAT_KV)
		return perr(ps, ps->delim_line, 1, "'delimiter' is for csv and kv");
	if (!ps->have_delim)
		r->delim = ';';
	r->header = 0;
	for (i = 0; i < r->nrules; i++) {
		/* a quoted name's first byte is after its quote */
		if (check_field_name(ps, r->rules[i].field, r->rules[i].line,
				     r->rules[i].col + r->rules[i].quoted) != 0 ||
		    schema_add_once(ps, &r->columns, r->rules[i].field) != 0)
			return CM_FAIL;
	}
	for (i = 0; i < r->nfilters; i++) {
		if (check_field_name(ps, r->filters[i].field, r->filters[i].line, r->filters[i].col) != 0 ||
		    schema_add_once(ps, &r->columns, r->filters[i].field) != 0)
			return CM_FAIL;
	}
	if (r->epoch_field &&
	    (check_field_name(ps, r->epoch_field, r->epoch_line, r->epoch_col) != 0 ||
	     schema_add_once(ps, &r->columns, r->epoch_field) != 0))
		return CM_FAIL;
	if (r->retain_field &&
	    (check_field_name(ps, r->retain_field, r->retain_line, r->retain_col) != 0 ||
	     schema_add_once(ps, &r->columns, r->retain_field) != 0))
		return CM_FAIL;
	if (r->format != CM_FORMAT_JSONL)
		return 0;
	/*
	 * Nested rules must not undo each other: a kept subtree would write out
	 * what a rule inside it protects or drops, and a value kept inside a
	 * protected subtree would write out part of what its rule protects.
	 */
	for (i = 0; i < r->nrules; i++) {
		const struct cm_rule *a = &r->rules[i];
		enum cm_act t = a->act.type;

		if (t == CM_ACT_DROP || t == CM_ACT_REDACT)
			continue;
		for (j = 0; j < r->nrules; j++) {
			const struct cm_rule *b = &r->rules[j];

			if (j == i || !cm_json_path_contains(a->field, b->field))
				continue;
			if (t == CM_ACT_KEEP && b->act.type != CM_ACT_KEEP)
				return perr(ps, a->line, a->col,
					    "'%.60s' keeps a subtree that holds '%.60s', which line %u %s: "
					    "name the values to keep one by one", a->field, b->field, b->line,
					    b->act.type == CM_ACT_DROP ? "drops" : "protects");
			if (t != CM_ACT_KEEP && b->act.type == CM_ACT_KEEP)
				return perr(ps, b->line, b->col,
					    "'%.60s' keeps a value inside '%.60s', which line %u protects",
					    b->field, a->field, a->line);
		}
	}
	return 0;
}

int cm_rules_parse(struct cm_rules *r, const char *path, const char *text, size_t n,
		   struct cm_err *err)
{
	struct parser ps;
	size_t pos = 0;
	unsigned lno = 0;
	int rc = CM_FAIL;

	memset(r, 0, sizeof *r);
	cm_schema_init(&r->columns);
	cm_numbering_default(&r->numbering);
	snprintf(r->retention.zone, sizeof r->retention.zone, "UTC");
	cm_action_init(&r->def, CM_ACT_DROP);
	r->delim = ',';
	r->header = -1;
	memset(&ps, 0, sizeof ps);
	ps.r = r;
	ps.path = path;
	ps.err = err;
	r->path = xstrdup(path);
	if (!r->path) {
		cm_err_set(err, CM_E_NOMEM, "out of memory");
		goto out;
	}

	/* A UTF-8 byte order mark, as some editors write, is not part of line 1. */
	if (n >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	{
		const char *nul = memchr(text, '\0', n);

		if (nul) {
			const char *ls = text;
			unsigned nulline = 1;
			size_t k;

			for (k = 0; k < (size_t)(nul - text); k++)
				if (text[k] == '\n')
					nulline++, ls = text + k + 1;
			perr(&ps, nulline, (unsigned)(nul - ls) + 1, "NUL byte in rules file");
			goto out;
		}
	}
	while (pos < n) {
		const char *nl = memchr(text + pos, '\n', n - pos);
		size_t len = nl ? (size_t)(nl - (text + pos)) : n - pos;
		struct line ln;
		int lrc;

		ln.no = ++lno;
		ln.store = NULL;
		lrc = split_line(&ps, &ln, text + pos, len);
		if (lrc == 0 && ln.n > 0)
			lrc = parse_directive_or_rule(&ps, &ln);
		free(ln.store);
		if (lrc != 0)
			goto out;
		pos += len + (nl ? 1 : 0);
	}

	if (!r->def_line) {
		cm_err_at(err, CM_E_RULES, lno + 1, 1,
			  "no default for unnamed fields: end the rules with '* drop' (deny by default)");
		goto out;
	}
	if (r->format == CM_FORMAT_SIP || r->format == CM_FORMAT_SIP_CALLS) {
		if (finish_sip_format(&ps) != 0)
			goto out;
	} else if (r->format != CM_FORMAT_CSV) {
		if (finish_line_format(&ps) != 0)
			goto out;
	} else if (r->columns.n == 0) {
		if (r->header == 0) {
			cm_err_at(err, CM_E_RULES, lno + 1, 1,
				  "no columns: declare 'columns NAME,...' or say 'header yes'");
			goto out;
		}
		r->header = 1;
	} else if (r->header < 0) {
		r->header = 0;
	}
	if (r->retain_class && !cm_retention_find(&r->retention, r->retain_class)) {
		perr(&ps, r->retain_line, r->retain_col,
		     "class '%.32s' has no 'retain' line (declare: retain %.32s NUNIT)", r->retain_class,
		     r->retain_class);
		goto out;
	}
	if (r->format == CM_FORMAT_CSV && ps.have_marker) {
		perr(&ps, ps.marker_line, 1, "'marker' is for the line formats jsonl, kv and kannel");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		/* keep the position from err, drop what was parsed */
		cm_rules_deinit(r);
	}
	return rc;
}

int cm_rules_load(struct cm_rules *r, const char *path, struct cm_err *err)
{
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	int fd, rc;

	memset(r, 0, sizeof *r);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return cm_err_set(err, CM_E_RULES, "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return cm_err_set(err, CM_E_RULES, "not a regular file");
	}
	if (st.st_size > (off_t)MAX_RULES_FILE) {
		close(fd);
		return cm_err_set(err, CM_E_RULES, "too large (over %u bytes)", MAX_RULES_FILE);
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	}
	while (got < (size_t)st.st_size) {
		ssize_t k = read(fd, text + got, (size_t)st.st_size - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	rc = cm_rules_parse(r, path, text, got, err);
	free(text);
	return rc;
}

void cm_rules_deinit(struct cm_rules *r)
{
	size_t i, j;

	for (i = 0; i < r->nrules; i++) {
		free(r->rules[i].field);
		cm_action_deinit(&r->rules[i].act);
	}
	free(r->rules);
	for (i = 0; i < r->nfilters; i++) {
		free(r->filters[i].field);
		for (j = 0; j < r->filters[i].nvalues; j++)
			free(r->filters[i].values[j]);
		free(r->filters[i].values);
	}
	free(r->filters);
	cm_action_deinit(&r->def);
	cm_schema_deinit(&r->columns);
	free(r->epoch_field);
	free(r->marker);
	free(r->retain_class);
	free(r->retain_field);
	free(r->path);
	memset(r, 0, sizeof *r);
}

int cm_rules_keyed(const struct cm_rules *r)
{
	size_t i;

	for (i = 0; i < r->nrules; i++)
		if (cm_action_keyed(&r->rules[i].act))
			return 1;
	return cm_action_keyed(&r->def);
}
