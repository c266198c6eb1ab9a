/*
 * \summary: SIP messages to records (sip.h), parsed with libosip2
 *
 * Follows RFC 3261 (messages: 7, 8.1.1, 18.3, 20; URIs: 19.1), RFC 3966
 * (tel: URIs), RFC 3325 (P-Asserted-Identity, P-Preferred-Identity),
 * draft-ietf-sip-privacy-04 (Remote-Party-ID), RFC 5806 (Diversion),
 * RFC 7044 (History-Info), RFC 3515 (Refer-To), RFC 4566 (SDP) and
 * RFC 3551 section 6 (static RTP payload types).
 *
 * libosip2 parses the message; this file checks what RFC 3261 requires
 * of it on top (libosip2 is lenient: it takes SIP/7.0, a status of
 * 4294967301, a CSeq of 2^65, a Content-Length of -999) and copies each
 * field into the decoder's one buffer. The field slices are set once the
 * buffer is done growing, from offsets.
 *
 * libosip2 reads the message as a C string. A NUL byte in the start line
 * or the headers would cut the message short, so such a message is
 * rejected, unless each NUL is escaped (a quoted-pair, RFC 3261 25.1:
 * "\" %x00 inside a quoted string is valid, and RFC 4475 3.1.1.2 uses it):
 * then the message is parsed from a private copy in which the NULs are
 * replaced by a byte the headers do not hold, and the fields taken from
 * the headers get their NULs back. The body may hold any bytes: libosip2
 * copies it by length.
 *
 * Two faults of libosip2 5.3.0 found by fuzzing (tests/fuzz/fuzz_sip.c)
 * are kept away from it: a MIME part with two Content-Type headers leaks
 * (content_type_twice refuses such messages), and sdp_message_parse reads
 * past the end of its string (put_sdp pads a copy). Its traces, which
 * Debian's build prints, are turned off (init_osip).
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <osipparser2/osip_parser.h>
#include <osipparser2/sdp_message.h>
#include <sodium.h>

#include "cdrmin/err.h"
#include "cdrmin/sip.h"

/* Each element x of libosip2 list l, through iterator it (osip_list_get walks from the head). */
#define EACH(x, l, it) for ((x) = osip_list_get_first((l), &(it)); (x); (x) = osip_list_get_next(&(it)))

static const char *const field_names[CM_SIP__COUNT] = {
	"time", "transport", "src_ip", "src_port", "dst_ip",
	"dst_port", "method", "status", "reason", "ruri_user",
	"ruri_host", "call_id", "cseq", "cseq_method", "from_display",
	"from_user", "from_host", "from_tag", "to_display", "to_user",
	"to_host", "to_tag", "contact_user", "contact_host", "pai_display",
	"pai_user", "pai_host", "ppi_user", "ppi_host", "rpid_user",
	"rpid_host", "diversion_user", "diversion_host", "diversion_reason",
	"history_info", "refer_to_user", "refer_to_host", "via_host",
	"via_port", "via_transport", "via_branch", "via_count",
	"user_agent", "server", "content_type", "body_length", "body",
	"sdp_o_ip", "sdp_c_ip", "sdp_media_ports", "sdp_codecs",
};

/* Where a field's value lies in the decoder's buffer. */
struct span {
	size_t off, n;
};

/*
 * libosip2 allocates every header, URI and parameter of a message apart and
 * frees them all with the message: glibc's malloc and free were a fifth of
 * the SIP path's instructions. While a decoder parses one message,
 * libosip2's allocators (osip_set_allocators) draw from the decoder's
 * arena instead: a bump pointer, frees that do nothing, and one reset after
 * the message, which wipes the bytes used (they held the message's
 * originals, which glibc's free would have left in the heap). Outside a
 * parse (parser_init's tables) the allocators are malloc, realloc and
 * free; under ASan they are never replaced, so its checks see libosip2's
 * blocks one by one.
 */
#define ARENA_CHUNK ((size_t)256 * 1024)
#define ARENA_HEAD 16 /* each block's size, kept in front of it (alignment 16) */

struct arena_chunk {
	struct arena_chunk *next;
	size_t size, used;
	max_align_t data[]; /* size bytes */
};

struct arena {
	struct arena_chunk *head; /* where blocks are cut, newest first */
};

struct cm_sipdec {
	struct arena arena; /* libosip2's memory for the message being parsed */
	struct cm_buf out;  /* every field value of the last message */
	struct cm_buf copy; /* the message with its escaped NULs replaced, when it has any */
	struct cm_buf tmp;  /* one header value, NUL-terminated for libosip2 */
	struct cm_buf sdp;  /* SDP text with NULs after it (put_sdp) */
	struct span at[CM_SIP__COUNT];
	struct cm_slice f[CM_SIP__COUNT];
	int64_t tsec;       /* the second tbuf holds, when tvalid */
	int tvalid;
	char tbuf[24];      /* "YYYY-MM-DDTHH:MM:SS" */
	size_t tlen;
};

/* The headers that libosip2 keeps as text (lower-cased names), found in one pass. */
struct extra {
	const char *pai, *ppi, *rpid, *div, *refer, *ua, *server;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_ok;

/* The arena of the message this thread is parsing, or NULL. */
static _Thread_local struct arena *cur_arena;

/* The chunk of a that holds p, or NULL. */
static struct arena_chunk *arena_owner(const struct arena *a, const void *p)
{
	struct arena_chunk *c;

	for (c = a->head; c; c = c->next) {
		const char *d = (const char *)c->data;

		if ((const char *)p >= d && (const char *)p < d + c->used)
			return c;
	}
	return NULL;
}

static void *arena_malloc(size_t n)
{
	struct arena *a = cur_arena;
	struct arena_chunk *c;
	size_t need, size;
	char *blk;

	if (!a)
		return malloc(n);
	if (n > SIZE_MAX / 2)
		return NULL;
	/* A block of 0 bytes still takes one: its pointer must lie inside the chunk. */
	need = ARENA_HEAD + (((n ? n : 1) + 15) & ~(size_t)15);
	c = a->head;
	if (!c || c->size - c->used < need) {
		size = need > ARENA_CHUNK ? need : ARENA_CHUNK;
		c = malloc(sizeof *c + size);
		if (!c)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	blk = (char *)c->data + c->used;
	c->used += need;
	memcpy(blk, &n, sizeof n);
	return blk + ARENA_HEAD;
}

static void arena_free(void *p)
{
	if (!p || (cur_arena && arena_owner(cur_arena, p)))
		return; /* an arena block: gone at the reset */
	free(p);
}

static void *arena_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (!p)
		return arena_malloc(n);
	if (!cur_arena || !arena_owner(cur_arena, p))
		return realloc(p, n);
	memcpy(&old, (char *)p - ARENA_HEAD, sizeof old);
	if (n <= old)
		return p;
	q = arena_malloc(n);
	if (q)
		memcpy(q, p, old);
	return q;
}

/* After a message: the used bytes wiped; one standard chunk kept, the rest freed. */
static void arena_reset(struct arena *a, int keep)
{
	struct arena_chunk *c = a->head, *next, *kept = NULL;

	for (; c; c = next) {
		next = c->next;
		sodium_memzero(c->data, c->used);
		c->used = 0;
		if (keep && !kept && c->size == ARENA_CHUNK) {
			kept = c;
			c->next = NULL;
		} else {
			free(c);
		}
	}
	a->head = kept;
}

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_USE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_USE 0
#endif
#endif
#ifndef ARENA_USE
#define ARENA_USE 1
#endif

/* Where libosip2's traces go: nowhere. */
static void no_trace(const char *fi, int li, osip_trace_level_t level, const char *chfr, va_list ap)
{
	(void)fi;
	(void)li;
	(void)level;
	(void)chfr;
	(void)ap;
}

/*
 * libosip2's header table is built once per process. Its traces are
 * turned off, process-wide: a library does not print. (Debian builds
 * libosip2 with traces; with no trace sink set, the first trace sets
 * stdout as the sink and enables levels 0-3, so disabling levels alone
 * does not hold: a sink that drops them is set, then every level is
 * disabled so that nothing is even formatted.)
 */
static void init_osip(void)
{
	int l;

	osip_trace_initialize_func(TRACE_LEVEL0, no_trace);
	for (l = 0; l < END_TRACE_LEVEL; l++)
		osip_trace_disable_level((osip_trace_level_t)l);
	init_ok = parser_init() == 0;
	if (ARENA_USE)
		osip_set_allocators(arena_malloc, arena_realloc, arena_free);
}

const char *cm_sip_field_name(enum cm_sip_field f)
{
	return (unsigned)f < CM_SIP__COUNT ? field_names[f] : NULL;
}

int cm_sip_schema(struct cm_schema *s)
{
	size_t i;

	for (i = 0; i < CM_SIP__COUNT; i++)
		if (cm_schema_add(s, field_names[i], strlen(field_names[i])) != 0)
			return -1;
	return 0;
}

struct cm_sipdec *cm_sipdec_new(void)
{
	struct cm_sipdec *d;

	if (pthread_once(&init_once, init_osip) != 0 || !init_ok)
		return NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	cm_buf_init(&d->out);
	cm_buf_init(&d->copy);
	cm_buf_init(&d->tmp);
	cm_buf_init(&d->sdp);
	return d;
}

void cm_sipdec_free(struct cm_sipdec *d)
{
	if (!d)
		return;
	arena_reset(&d->arena, 0);
	cm_buf_deinit(&d->out);
	cm_buf_deinit(&d->copy);
	cm_buf_deinit(&d->tmp);
	cm_buf_deinit(&d->sdp);
	free(d);
}

/* ---- building fields ---- */

/* Sets field f to p[0..n), appended to the buffer. */
static void put(struct cm_sipdec *d, int f, const char *p, size_t n)
{
	d->at[f].off = d->out.n;
	d->at[f].n = n;
	cm_buf_add(&d->out, p, n);
}

/* Sets field f to the C string s; NULL leaves it empty. */
static void puts_(struct cm_sipdec *d, int f, const char *s)
{
	if (s)
		put(d, f, s, strlen(s));
}

/* Opens field f: what is appended until close_field() is its value. */
static void open_field(struct cm_sipdec *d, int f)
{
	d->at[f].off = d->out.n;
}

static void close_field(struct cm_sipdec *d, int f)
{
	d->at[f].n = d->out.oom ? 0 : d->out.n - d->at[f].off;
}

static void put_u(struct cm_sipdec *d, int f, unsigned long long v)
{
	open_field(d, f);
	cm_buf_addu(&d->out, v);
	close_field(d, f);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Appends s[0..n) with quoted-pairs undone when it is a quoted-string
 * (RFC 3261 25.1: "\" and the next byte stand for that byte), else as is.
 */
static void add_unquoted(struct cm_buf *b, const char *s, size_t n)
{
	size_t i;

	if (n < 2 || s[0] != '"' || s[n - 1] != '"') {
		cm_buf_add(b, s, n);
		return;
	}
	for (i = 1; i < n - 1; i++) {
		if (s[i] == '\\' && i + 1 < n - 1)
			i++;
		cm_buf_addc(b, s[i]);
	}
}

static void put_unquoted(struct cm_sipdec *d, int f, const char *s)
{
	if (!s)
		return;
	open_field(d, f);
	add_unquoted(&d->out, s, strlen(s));
	close_field(d, f);
}

/*
 * The value of parameter name (case-insensitive, RFC 3261 19.1.4) in list
 * l of osip_generic_param_t (osip_uri_param_t is the same), or NULL.
 */
static const char *param(const osip_list_t *l, const char *name)
{
	const osip_generic_param_t *p;
	osip_list_iterator_t it;

	EACH(p, l, it)
		if (p->gname && strcasecmp(p->gname, name) == 0)
			return p->gvalue;
	return NULL;
}

/*
 * Sets fields fu and fh to the user and host of URI u (either may be -1):
 *
 *   sip, sips  the user part as libosip2 gives it (percent-decoded, so a
 *              "%00" ends it), up to its first ';' when the URI says
 *              user=phone (RFC 3261 19.1.6: a telephone-subscriber's
 *              parameters follow the number); the host without the
 *              brackets of an IPv6 reference
 *   tel        the number (RFC 3966: up to the first ';'), percent-decoded;
 *              no host
 *   any other  the whole scheme-specific part as the user, so that rules
 *              protect it as they protect users; no host
 */
static void put_uri(struct cm_sipdec *d, const osip_uri_t *u, int fu, int fh)
{
	const char *s;
	size_t n, i;

	if (!u || !u->scheme)
		return;
	if (u->string) {
		s = u->string;
		if (fu < 0)
			return;
		if (strcasecmp(u->scheme, "tel") != 0) {
			puts_(d, fu, s);
			return;
		}
		n = strcspn(s, ";");
		open_field(d, fu);
		for (i = 0; i < n; i++) {
			int h, l;

			if (s[i] == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
			    (l = hexval((unsigned char)s[i + 2])) >= 0) {
				cm_buf_addc(&d->out, (char)(h * 16 + l));
				i += 2;
			} else {
				cm_buf_addc(&d->out, s[i]);
			}
		}
		close_field(d, fu);
		return;
	}
	if (fu >= 0 && u->username) {
		const char *up = param(&u->url_params, "user");

		n = strlen(u->username);
		if (up && strcasecmp(up, "phone") == 0)
			n = strcspn(u->username, ";");
		put(d, fu, u->username, n);
	}
	if (fh >= 0)
		puts_(d, fh, u->host);
}

/*
 * Length of the first value of a header value that may hold several,
 * comma-separated (RFC 3261 7.3.1): up to the first comma outside a
 * quoted string and outside <>. libosip2 splits only some headers.
 */
static size_t first_value(const char *s)
{
	size_t i;
	int q = 0, a = 0;

	for (i = 0; s[i]; i++) {
		if (q) {
			if (s[i] == '\\' && s[i + 1])
				i++;
			else if (s[i] == '"')
				q = 0;
		} else if (s[i] == '"') {
			q = 1;
		} else if (s[i] == '<') {
			a = 1;
		} else if (s[i] == '>') {
			a = 0;
		} else if (s[i] == ',' && !a) {
			break;
		}
	}
	return i;
}

/*
 * Parses the first name-addr or addr-spec of header value v (RFC 3261
 * 25.1, with parameters) with libosip2's From parser and sets fields fd
 * (display name), fu, fh (URI) and fr (the reason parameter, RFC 5806);
 * any may be -1. A value libosip2 cannot parse leaves them empty.
 * Returns 0, or -1 when memory is short.
 */
static int put_addr(struct cm_sipdec *d, const char *v, int fd, int fu, int fh, int fr)
{
	osip_from_t *a;
	size_t n;

	if (!v)
		return 0;
	n = first_value(v);
	cm_buf_reset(&d->tmp);
	cm_buf_add(&d->tmp, v, n);
	cm_buf_addc(&d->tmp, '\0');
	if (d->tmp.oom)
		return -1;
	if (osip_from_init(&a) != 0)
		return -1;
	if (osip_from_parse(a, d->tmp.p) == 0 && a->url) {
		if (fd >= 0)
			put_unquoted(d, fd, a->displayname);
		put_uri(d, a->url, fu, fh);
		if (fr >= 0)
			put_unquoted(d, fr, param(&a->gen_params, "reason"));
	}
	osip_from_free(a);
	return 0;
}

/* ---- checks on the raw message ---- */

/* 1 when s is a non-empty RFC 3261 token (25.1). */
static int is_token(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("-.!%*_+`'~", c)))
			return 0;
	}
	return 1;
}

/* The empty line at p[j]: sets *hend to j and returns where the body starts, after its CRLF, CR or LF. */
static size_t empty_line(const char *p, size_t n, size_t j, size_t *hend)
{
	*hend = j;
	if (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n')
		return j + 2;
	return j + 1;
}

/*
 * Finds the end of the headers of p[i..n) as libosip2 reads them: lines
 * end in CRLF, CR or LF, and the first empty line ends the headers. Sets
 * *hend to where that empty line starts and returns where the body starts
 * (after it); both are n when there is no empty line.
 */
static size_t find_body(const char *p, size_t n, size_t i, size_t *hend)
{
	/* an empty line follows an LF that is followed by CR or LF, or a CR followed by CR */
	while (i < n) {
		const char *lf = memchr(p + i, '\n', n - i), *cr;
		size_t e = lf ? (size_t)(lf - p) : n, j = i;

		while ((cr = memchr(p + j, '\r', e - j)) != NULL) {
			size_t k = (size_t)(cr - p);

			if (k + 1 >= e)
				break; /* CRLF, or the last byte */
			if (p[k + 1] == '\r')
				return empty_line(p, n, k + 1, hend);
			j = k + 1; /* a lone CR ends a line too */
		}
		if (e >= n - 1)
			break;
		if (p[e + 1] == '\r' || p[e + 1] == '\n')
			return empty_line(p, n, e + 1, hend);
		i = e + 1;
	}
	*hend = n;
	return n;
}

/*
 * The headers p[i..hend) hold a NUL. Returns a byte to stand for each NUL
 * while libosip2 parses (one the headers do not hold, neither as is nor
 * percent-escaped, so that every such byte in a field was a NUL), or 0
 * when a NUL is not escaped by a backslash or no byte is free.
 */
static unsigned char nul_stand_in(const char *p, size_t i, size_t hend)
{
	static const unsigned char cand[] = {
		1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
		27, 28, 29, 30, 31, 127,
	};
	unsigned char seen[256] = { 0 };
	size_t k, bs = 0;
	int h, l;

	for (k = i; k < hend; k++) {
		unsigned char c = (unsigned char)p[k];

		if (c == '\0' && bs % 2 == 0)
			return 0; /* a bare NUL: not SIP */
		bs = c == '\\' ? bs + 1 : 0;
		seen[c] = 1;
		if (c == '%' && k + 2 < hend && (h = hexval((unsigned char)p[k + 1])) >= 0 &&
		    (l = hexval((unsigned char)p[k + 2])) >= 0)
			seen[h * 16 + l] = 1;
	}
	for (k = 0; k < sizeof cand; k++)
		if (!seen[cand[k]])
			return cand[k];
	return 0;
}

/* c lower-cased when it is an ASCII capital: no locale. */
static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* 1 when p[0..n) is lower-case word w (n bytes), in any case (ASCII). */
static int is_word(const char *p, const char *w, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (lower(p[k]) != w[k])
			return 0;
	return 1;
}

/*
 * 1 when message p[0..n) may have a multipart body: it says "multipart"
 * (any case) before a '/', with maybe white space between, as libosip2's
 * Content-Type parser reads a type (osip_content_type_parse trims it).
 */
static int maybe_multipart(const char *p, size_t n)
{
	const char *s;
	size_t i, k;

	for (i = 0; (s = memchr(p + i, '/', n - i)) != NULL; i = k + 1) {
		size_t j;

		k = (size_t)(s - p);
		j = k;
		while (j > 0 && (p[j - 1] == ' ' || p[j - 1] == '\t' || p[j - 1] == '\r' || p[j - 1] == '\n'))
			j--;
		if (j >= 9 && is_word(p + j - 9, "multipart", 9))
			return 1;
	}
	return 0;
}

/*
 * 1 when two lines of p[0..n) name "content-type" (ASCII, any case,
 * anywhere in the line) within one run of lines that all hold a colon:
 * a MIME part whose headers may hold Content-Type twice.
 *
 * libosip2 5.3.0 leaks there: osip_body_set_contenttype (osip_body.c)
 * sets a part's content_type without freeing the one an earlier header of
 * the part set. A multipart message with such a part would leak some 100
 * to 400 bytes per message, so it is refused before libosip2 sees it. A
 * part's headers, as libosip2 reads them (osip_body_parse_header), are a
 * run of lines that each hold a colon, ended by an empty line or (an
 * error) by a line without one; so such a line, or an empty one, starts
 * a new run. The whole message is scanned, not only what find_body calls
 * the body: libosip2's request line may run over several lines (it looks
 * for spaces with strchr), and then its headers and body start later
 * than ours. The test is wider than the bug (a part starts mid-line when
 * its boundary line runs on, and any header named content-type* counts
 * for libosip2; a folded line, one that starts with white space, goes on
 * the line before it, and two named in one folded line count twice); an
 * honest part has one Content-Type.
 */
static int content_type_twice(const char *p, size_t n)
{
	static const char ct[] = "content-type";
	size_t i;
	int cur = 0, cts = 0, colon = 0, block = 0;

	for (i = 0; i < n; i++) {
		if (p[i] == '\r' || p[i] == '\n') {
			if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
				i++;
			cts += cur;
			cur = 0;
			/*
			 * A line break before a space or a tab folds the header
			 * (libosip2 turns such white space into spaces before it
			 * parses): the line goes on, its colon with it.
			 */
			if (i + 1 < n && (p[i + 1] == ' ' || p[i + 1] == '\t'))
				continue;
			if (!colon) {
				block = 0; /* an empty line, or one without a colon, ends a run */
			} else if (cts) {
				if (block || cts > 1)
					return 1;
				block = 1;
			}
			cts = colon = 0;
			continue;
		}
		if (p[i] == ':')
			colon = 1;
		if (!cur && lower(p[i]) == 'c' && n - i >= sizeof ct - 1)
			cur = is_word(p + i, ct, sizeof ct - 1);
	}
	cts += cur;
	return colon && cts && (block || cts > 1);
}

/* ---- the packet and the body ---- */

/* Sets the time field: RFC 3339 UTC with microseconds. Out of range (years 0-999 too): empty. */
static void put_time(struct cm_sipdec *d, int64_t sec, uint32_t usec)
{
	char frac[8];
	int i;

	if (usec >= 1000000)
		return;
	if (!d->tvalid || d->tsec != sec) {
		struct tm tm;
		time_t t = (time_t)sec;

		d->tvalid = 0;
		if ((int64_t)t != sec || !gmtime_r(&t, &tm) || tm.tm_year < -1900 ||
		    tm.tm_year > 9999 - 1900)
			return;
		d->tlen = strftime(d->tbuf, sizeof d->tbuf, "%Y-%m-%dT%H:%M:%S", &tm);
		if (d->tlen != 19)
			return;
		d->tsec = sec;
		d->tvalid = 1;
	}
	frac[0] = '.';
	for (i = 6; i >= 1; i--) {
		frac[i] = (char)('0' + usec % 10);
		usec /= 10;
	}
	frac[7] = 'Z';
	open_field(d, CM_SIP_TIME);
	cm_buf_add(&d->out, d->tbuf, d->tlen);
	cm_buf_add(&d->out, frac, sizeof frac);
	close_field(d, CM_SIP_TIME);
}

/* Dotted decimal, as inet_ntop writes it, without its trip through sprintf. */
static void put_ipv4(struct cm_sipdec *d, int f, const uint8_t *a)
{
	char s[16], *w = s;
	int i;

	for (i = 0; i < 4; i++) {
		unsigned v = a[i];

		if (i)
			*w++ = '.';
		if (v >= 100)
			*w++ = (char)('0' + v / 100);
		if (v >= 10)
			*w++ = (char)('0' + v / 10 % 10);
		*w++ = (char)('0' + v % 10);
	}
	*w = '\0';
	puts_(d, f, s);
}

static void put_ip(struct cm_sipdec *d, int f, int family, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];

	if (family == 4)
		put_ipv4(d, f, a);
	else if (family == 6 && inet_ntop(AF_INET6, a, s, sizeof s))
		puts_(d, f, s);
}

static void put_packet(struct cm_sipdec *d, const struct cm_pkt_meta *m)
{
	put_time(d, m->sec, m->usec);
	if (m->proto == 17)
		puts_(d, CM_SIP_TRANSPORT, "udp");
	else if (m->proto == 6)
		puts_(d, CM_SIP_TRANSPORT, "tcp");
	put_ip(d, CM_SIP_SRC_IP, m->family, m->src);
	put_u(d, CM_SIP_SRC_PORT, m->sport);
	put_ip(d, CM_SIP_DST_IP, m->family, m->dst);
	put_u(d, CM_SIP_DST_PORT, m->dport);
}

/* 1 when content type t is type/subtype (case-insensitive, RFC 3261 7.3.1). */
static int ctype_is(const osip_content_type_t *t, const char *type, const char *subtype)
{
	return t && t->type && t->subtype && strcasecmp(t->type, type) == 0 &&
	       (!subtype || strcasecmp(t->subtype, subtype) == 0);
}

/* The RFC 3551 section 6 name of static payload type pt, or NULL. */
static const char *static_pt(unsigned long pt)
{
	static const char *const names[35] = {
		[0] = "PCMU", [3] = "GSM", [4] = "G723", [5] = "DVI4", [6] = "DVI4",
		[7] = "LPC", [8] = "PCMA", [9] = "G722", [10] = "L16", [11] = "L16",
		[12] = "QCELP", [13] = "CN", [14] = "MPA", [15] = "G728", [16] = "DVI4",
		[17] = "DVI4", [18] = "G729", [25] = "CelB", [26] = "JPEG", [28] = "nv",
		[31] = "H261", [32] = "MPV", [33] = "MP2T", [34] = "H263",
	};

	return pt < 35 ? names[pt] : NULL;
}

/*
 * Appends the codec of payload format fmt of media m: its rtpmap encoding
 * name (RFC 4566 6: "a=rtpmap:<payload type> <encoding name>/<clock
 * rate>..."), else the static name, else fmt as written.
 */
static void add_codec(struct cm_buf *b, sdp_media_t *m, const char *fmt)
{
	size_t fl = strlen(fmt), i;
	char *end;
	unsigned long pt;
	const char *name;
	osip_list_iterator_t it;
	sdp_attribute_t *a;

	EACH(a, &m->a_attributes, it) {
		const char *v = a->a_att_value;

		if (!a->a_att_field || !v || strcmp(a->a_att_field, "rtpmap") != 0)
			continue;
		if (strncmp(v, fmt, fl) != 0 || (v[fl] != ' ' && v[fl] != '\t'))
			continue;
		v += fl;
		v += strspn(v, " \t");
		i = strcspn(v, "/ \t");
		if (i) {
			cm_buf_add(b, v, i);
			return;
		}
	}
	if (fmt[0] >= '0' && fmt[0] <= '9' && fl <= 3) {
		pt = strtoul(fmt, &end, 10);
		if (*end == '\0' && (name = static_pt(pt)) != NULL) {
			cm_buf_adds(b, name);
			return;
		}
	}
	cm_buf_add(b, fmt, fl);
}

/* NULs after the SDP text handed to libosip2's SDP parser (put_sdp). */
#define SDP_PAD 16

/*
 * Sets the sdp_* fields from SDP text s[0..n). Unparsable SDP leaves them
 * empty. Returns 0, or -1 when memory is short.
 *
 * libosip2 5.3.0's sdp_message_parse reads past the string it is given:
 * sdp_message_parse_m calls strchr(tmp + 1, ' ') with tmp just past the
 * line end, which is past the NUL when an m= line without payload types
 * ("m=audio 0 RTP/AVP") ends the text with a bare LF or CR. libosip2's
 * own copy of a body has one NUL after it, so that strchr runs on through
 * the heap until it meets a space or a NUL. The parser gets a copy with
 * SDP_PAD NULs after it instead: the strchr stops at the second.
 */
static int put_sdp(struct cm_sipdec *d, const char *s, size_t n)
{
	static const char pad[SDP_PAD] = { 0 };
	sdp_message_t *sdp;
	sdp_media_t *m;
	osip_list_iterator_t it, it2;
	int k = 0;
	const char *fmt;

	cm_buf_reset(&d->sdp);
	cm_buf_add(&d->sdp, s, n);
	cm_buf_add(&d->sdp, pad, sizeof pad);
	if (d->sdp.oom)
		return -1;
	if (sdp_message_init(&sdp) != 0)
		return -1;
	if (sdp_message_parse(sdp, d->sdp.p) != 0)
		goto out;
	puts_(d, CM_SIP_SDP_O_IP, sdp->o_addr);
	if (sdp->c_connection && sdp->c_connection->c_addr) {
		puts_(d, CM_SIP_SDP_C_IP, sdp->c_connection->c_addr);
	} else {
		EACH(m, &sdp->m_medias, it) {
			sdp_connection_t *c = osip_list_get(&m->c_connections, 0);

			if (c && c->c_addr) {
				puts_(d, CM_SIP_SDP_C_IP, c->c_addr);
				break;
			}
		}
	}
	open_field(d, CM_SIP_SDP_MEDIA_PORTS);
	EACH(m, &sdp->m_medias, it) {
		if (k++)
			cm_buf_addc(&d->out, ',');
		if (m->m_port)
			cm_buf_adds(&d->out, m->m_port);
	}
	close_field(d, CM_SIP_SDP_MEDIA_PORTS);
	k = 0;
	open_field(d, CM_SIP_SDP_CODECS);
	EACH(m, &sdp->m_medias, it)
		EACH(fmt, &m->m_payloads, it2) {
			if (k++)
				cm_buf_addc(&d->out, ',');
			add_codec(&d->out, m, fmt);
		}
	close_field(d, CM_SIP_SDP_CODECS);
out:
	sdp_message_free(sdp);
	return 0;
}

/*
 * Sets content_type, body and the sdp_* fields. body[0..blen) is the body
 * as the message carries it. For multipart bodies libosip2's parts are
 * used: the first application/sdp part gives the sdp_* fields, the
 * others' contents make the body, separated by CRLF.
 */
static int put_body(struct cm_sipdec *d, osip_message_t *sip, const char *body, size_t blen)
{
	osip_content_type_t *ct = sip->content_type;
	osip_body_t *part;
	osip_list_iterator_t it;
	int sdp_done = 0, k = 0;

	if (ct && ct->type && ct->subtype) {
		osip_generic_param_t *p;

		open_field(d, CM_SIP_CONTENT_TYPE);
		cm_buf_adds(&d->out, ct->type);
		cm_buf_addc(&d->out, '/');
		cm_buf_adds(&d->out, ct->subtype);
		EACH(p, &ct->gen_params, it) {
			cm_buf_addc(&d->out, ';');
			if (p->gname)
				cm_buf_adds(&d->out, p->gname);
			if (p->gvalue) {
				cm_buf_addc(&d->out, '=');
				cm_buf_adds(&d->out, p->gvalue);
			}
		}
		close_field(d, CM_SIP_CONTENT_TYPE);
	}
	if (blen == 0)
		return 0;
	if (ctype_is(ct, "application", "sdp")) {
		part = osip_list_get(&sip->bodies, 0);
		return part && part->body ? put_sdp(d, part->body, part->length) : 0;
	}
	if (!ctype_is(ct, "multipart", NULL)) {
		put(d, CM_SIP_BODY, body, blen);
		return 0;
	}
	EACH(part, &sip->bodies, it) {
		if (!sdp_done && part->body && ctype_is(part->content_type, "application", "sdp")) {
			if (put_sdp(d, part->body, part->length) != 0)
				return -1;
			sdp_done = 1;
		}
	}
	open_field(d, CM_SIP_BODY);
	sdp_done = 0;
	EACH(part, &sip->bodies, it) {
		if (!part->body)
			continue;
		if (!sdp_done && ctype_is(part->content_type, "application", "sdp")) {
			sdp_done = 1;
			continue;
		}
		if (k++)
			cm_buf_add(&d->out, "\r\n", 2);
		cm_buf_add(&d->out, part->body, part->length);
	}
	close_field(d, CM_SIP_BODY);
	return 0;
}

/* ---- the message ---- */

/* Finds the headers libosip2 keeps as text. The first of each counts. */
static void find_extra(osip_message_t *sip, struct extra *x)
{
	osip_header_t *h;
	osip_list_iterator_t it;

	memset(x, 0, sizeof *x);
	EACH(h, &sip->headers, it) {
		const char *n = h->hname, *v = h->hvalue;
		const char **slot = NULL;

		if (!n || !v)
			continue;
		/* compact "r" is Refer-To (RFC 3515 7.2); libosip2 keeps it as text too */
		switch (lower(n[0])) {
		case 'p':
			if (strcasecmp(n, "p-asserted-identity") == 0)
				slot = &x->pai;
			else if (strcasecmp(n, "p-preferred-identity") == 0)
				slot = &x->ppi;
			break;
		case 'r':
			if (strcasecmp(n, "remote-party-id") == 0)
				slot = &x->rpid;
			else if (strcasecmp(n, "refer-to") == 0 || strcasecmp(n, "r") == 0)
				slot = &x->refer;
			break;
		case 'd':
			if (strcasecmp(n, "diversion") == 0)
				slot = &x->div;
			break;
		case 'u':
			if (strcasecmp(n, "user-agent") == 0)
				slot = &x->ua;
			break;
		case 's':
			if (strcasecmp(n, "server") == 0)
				slot = &x->server;
			break;
		}
		if (slot && !*slot)
			*slot = v;
	}
}

/* Sets history_info: every History-Info value, in order, joined by ", ". */
static void put_history(struct cm_sipdec *d, osip_message_t *sip)
{
	osip_header_t *h;
	osip_list_iterator_t it;
	int k = 0;

	open_field(d, CM_SIP_HISTORY_INFO);
	EACH(h, &sip->headers, it) {
		if (!h->hname || !h->hvalue || strcasecmp(h->hname, "history-info") != 0)
			continue;
		if (k++)
			cm_buf_add(&d->out, ", ", 2);
		cm_buf_adds(&d->out, h->hvalue);
	}
	close_field(d, CM_SIP_HISTORY_INFO);
}

/* 1 when s is 1*DIGIT below 2^31 (RFC 3261 8.1.1.5). */
static int cseq_ok(const char *s)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v >= (UINT64_C(1) << 31))
			return 0;
	}
	return i > 0;
}

/*
 * The body's length by Content-Length: 1*DIGIT (RFC 3261 20.14) and at
 * most the bytes that follow the headers (18.3: a message that ends
 * before its body is discarded). Returns 0 and sets *len, or sets *why.
 */
static int body_length(const osip_message_t *sip, size_t avail, size_t *len, const char **why)
{
	const char *s = sip->content_length ? sip->content_length->value : NULL;
	size_t v = 0, i;

	if (!s) {
		/* libosip2 sets Content-Length when a message has none; in case it did not */
		*len = avail;
		return 0;
	}
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*why = "bad Content-Length";
			return -1;
		}
		v = v * 10 + (size_t)(s[i] - '0');
		if (v > avail) {
			*why = "Content-Length exceeds the body";
			return -1;
		}
	}
	if (i == 0) {
		*why = "bad Content-Length";
		return -1;
	}
	*len = v;
	return 0;
}

/*
 * Checks the start line (RFC 3261 7.1, 7.2): a request line ending in
 * " SIP/2.0" with a token method, or "SIP/2.0 " and a three-digit status
 * 100-699 then SP. line[0..n) is the raw first line. libosip2 reads the
 * number with sscanf (4294967301 becomes 5) and lets a request line run
 * over several lines: the raw text decides.
 */
static const char *check_start(const osip_message_t *sip, const char *line, size_t n)
{
	if (!sip->sip_version || strcasecmp(sip->sip_version, "SIP/2.0") != 0)
		return "not SIP/2.0";
	if (sip->sip_method) {
		if (!is_token(sip->sip_method))
			return "bad method";
		if (!sip->req_uri || n < 8 || strncasecmp(line + n - 8, " SIP/2.0", 8) != 0)
			return "bad request line";
		return NULL;
	}
	if (n < 12 || strncasecmp(line, "SIP/2.0 ", 8) != 0 || line[8] < '1' || line[8] > '6' ||
	    line[9] < '0' || line[9] > '9' || line[10] < '0' || line[10] > '9' || line[11] != ' ')
		return "bad status code";
	return NULL;
}

/* Sets every field of the parsed message sip. Returns 1, 0 with *why, or CM_FAIL. */
static int extract(struct cm_sipdec *d, osip_message_t *sip, const char *msg, size_t start,
		   size_t bstart, size_t n, const char **why)
{
	const char *line = msg + start;
	size_t eol = 0, blen = 0;
	osip_via_t *via;
	struct extra x;
	const char *reason;

	while (start + eol < n && line[eol] != '\r' && line[eol] != '\n')
		eol++;
	if ((reason = check_start(sip, line, eol)) != NULL)
		goto reject;
	if (!sip->call_id || !sip->call_id->number) {
		reason = "no Call-ID";
		goto reject;
	}
	if (!sip->cseq || !sip->cseq->number || !sip->cseq->method) {
		reason = "no CSeq";
		goto reject;
	}
	if (!cseq_ok(sip->cseq->number) || !is_token(sip->cseq->method)) {
		reason = "bad CSeq";
		goto reject;
	}
	if (sip->sip_method && strcmp(sip->sip_method, sip->cseq->method) != 0) {
		reason = "CSeq method differs from the request's";
		goto reject;
	}
	if (!sip->from || !sip->from->url) {
		reason = "no From";
		goto reject;
	}
	if (!sip->to || !sip->to->url) {
		reason = "no To";
		goto reject;
	}
	via = osip_list_get(&sip->vias, 0);
	if (!via) {
		reason = "no Via";
		goto reject;
	}
	if (body_length(sip, n - bstart, &blen, &reason) != 0)
		goto reject;

	if (sip->sip_method) {
		puts_(d, CM_SIP_METHOD, sip->sip_method);
		put_uri(d, sip->req_uri, CM_SIP_RURI_USER, CM_SIP_RURI_HOST);
	} else {
		put(d, CM_SIP_STATUS, line + 8, 3);
		puts_(d, CM_SIP_REASON, sip->reason_phrase);
	}
	open_field(d, CM_SIP_CALL_ID);
	cm_buf_adds(&d->out, sip->call_id->number);
	if (sip->call_id->host) {
		cm_buf_addc(&d->out, '@');
		cm_buf_adds(&d->out, sip->call_id->host);
	}
	close_field(d, CM_SIP_CALL_ID);
	puts_(d, CM_SIP_CSEQ, sip->cseq->number);
	puts_(d, CM_SIP_CSEQ_METHOD, sip->cseq->method);

	put_unquoted(d, CM_SIP_FROM_DISPLAY, sip->from->displayname);
	put_uri(d, sip->from->url, CM_SIP_FROM_USER, CM_SIP_FROM_HOST);
	puts_(d, CM_SIP_FROM_TAG, param(&sip->from->gen_params, "tag"));
	put_unquoted(d, CM_SIP_TO_DISPLAY, sip->to->displayname);
	put_uri(d, sip->to->url, CM_SIP_TO_USER, CM_SIP_TO_HOST);
	puts_(d, CM_SIP_TO_TAG, param(&sip->to->gen_params, "tag"));
	{
		osip_contact_t *c = osip_list_get(&sip->contacts, 0);

		if (c)
			put_uri(d, c->url, CM_SIP_CONTACT_USER, CM_SIP_CONTACT_HOST);
	}

	find_extra(sip, &x);
	if (put_addr(d, x.pai, CM_SIP_PAI_DISPLAY, CM_SIP_PAI_USER, CM_SIP_PAI_HOST, -1) != 0 ||
	    put_addr(d, x.ppi, -1, CM_SIP_PPI_USER, CM_SIP_PPI_HOST, -1) != 0 ||
	    put_addr(d, x.rpid, -1, CM_SIP_RPID_USER, CM_SIP_RPID_HOST, -1) != 0 ||
	    put_addr(d, x.div, -1, CM_SIP_DIVERSION_USER, CM_SIP_DIVERSION_HOST,
		     CM_SIP_DIVERSION_REASON) != 0 ||
	    put_addr(d, x.refer, -1, CM_SIP_REFER_TO_USER, CM_SIP_REFER_TO_HOST, -1) != 0)
		return CM_FAIL;
	put_history(d, sip);

	puts_(d, CM_SIP_VIA_HOST, via->host);
	puts_(d, CM_SIP_VIA_PORT, via->port);
	puts_(d, CM_SIP_VIA_TRANSPORT, via->protocol);
	puts_(d, CM_SIP_VIA_BRANCH, param(&via->via_params, "branch"));
	put_u(d, CM_SIP_VIA_COUNT, (unsigned long long)osip_list_size(&sip->vias));
	puts_(d, CM_SIP_USER_AGENT, x.ua);
	puts_(d, CM_SIP_SERVER, x.server);

	put_u(d, CM_SIP_BODY_LENGTH, blen);
	if (put_body(d, sip, msg + bstart, blen) != 0)
		return CM_FAIL;
	return 1;
reject:
	*why = reason;
	return 0;
}

int cm_sip_decode(struct cm_sipdec *d, const struct cm_pkt_meta *m, const char *msg, size_t n,
		  struct cm_record *rec, const char **why)
{
	osip_message_t *sip = NULL;
	const char *text = msg;
	size_t start = 0, hend, bstart, i;
	unsigned char sub = 0;
	int rc;

	cm_buf_reset(&d->out);
	memset(d->at, 0, sizeof d->at);
	*why = NULL;
	if (n == 0) {
		*why = "not a SIP message";
		return 0;
	}
	/* libosip2 skips CRs and LFs before the start line, as RFC 3261 7.5 allows */
	while (start < n && (msg[start] == '\r' || msg[start] == '\n'))
		start++;
	bstart = find_body(msg, n, start, &hend);
	if (memchr(msg + start, '\0', hend - start)) {
		sub = nul_stand_in(msg, start, hend);
		if (!sub) {
			*why = "NUL byte in the headers";
			return 0;
		}
		cm_buf_reset(&d->copy);
		cm_buf_add(&d->copy, msg, n);
		if (d->copy.oom)
			return CM_FAIL;
		for (i = start; i < hend; i++)
			if (d->copy.p[i] == '\0')
				d->copy.p[i] = (char)sub;
		text = d->copy.p;
	}
	if (maybe_multipart(msg + start, n - start) && content_type_twice(msg + start, n - start)) {
		*why = "Content-Type twice in a MIME part";
		return 0;
	}

	cur_arena = &d->arena;
	if (osip_message_init(&sip) != 0) {
		cur_arena = NULL;
		arena_reset(&d->arena, 1);
		return CM_FAIL;
	}
	rc = osip_message_parse(sip, text, n);
	if (rc == OSIP_NOMEM) {
		rc = CM_FAIL;
	} else if (rc != 0) {
		*why = "not a SIP message";
		rc = 0;
	} else {
		if (m)
			put_packet(d, m);
		rc = extract(d, sip, msg, start, bstart, n, why);
	}
	osip_message_free(sip);
	cur_arena = NULL;
	arena_reset(&d->arena, 1);
	if (rc == 1 && d->out.oom)
		rc = CM_FAIL;
	if (rc != 1)
		return rc;

	for (i = 0; i < CM_SIP__COUNT; i++) {
		d->f[i].p = d->at[i].n ? d->out.p + d->at[i].off : "";
		d->f[i].n = d->at[i].n;
	}
	if (sub) {
		/* the header fields get their NULs back; body and SDP are as they came */
		for (i = CM_SIP_METHOD; i <= CM_SIP_CONTENT_TYPE; i++) {
			char *p;
			size_t k;

			if (!d->at[i].n)
				continue;
			p = d->out.p + d->at[i].off;
			for (k = 0; k < d->at[i].n; k++)
				if (p[k] == (char)sub)
					p[k] = '\0';
		}
	}
	rec->f = d->f;
	rec->n = CM_SIP__COUNT;
	rec->type = NULL;
	rec->raw = NULL;
	return 1;
}
