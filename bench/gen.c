/*
 * \summary: routing-volume traffic for the throughput harness.
 *
 * Writes CDRs, logs or a SIP capture in the exact format a cdrmin preset
 * reads, deterministic by seed, of any size:
 *
 *   asterisk       Asterisk cdr_csv Master.csv         rules/asterisk.rules
 *   freeswitch     FreeSWITCH mod_cdr_csv "example"     rules/freeswitch.rules
 *   kamailio-json  Kamailio acc_json syslog lines       rules/kamailio-acc-json.rules
 *   kannel         Kannel bearerbox access log          rules/kannel.rules
 *   sip            classic pcap, Ethernet/IPv4/UDP,     rules/sip.rules
 *                  INVITE/100/180/200/ACK/BYE/200 dialogs with SDP
 *
 * Subscribers are drawn from a Zipf distribution (exponent --zipf, default 1)
 * over --numbers subscribers (default 1,000,000), as real traffic repeats the
 * same numbers, and written in mixed forms (E.164, 00-international,
 * national, spaced). The numbers are synthetic by construction:
 *
 *   UK (country 44): +44 4ddd dddddd, in the 04 range, which the UK National
 *   Numbering Plan leaves spare (no subscriber has such a number);
 *   North America (country 1, FreeSWITCH): +1 NPA 0dd dddd and +1 NPA 1dd
 *   dddd, central office codes starting with 0 or 1 are never assigned.
 *
 * Addresses are from the documentation ranges 192.0.2.0/24, 198.51.100.0/24,
 * 203.0.113.0/24 and 2001:db8::/32. Bench data is generated, never committed.
 *
 * The same (format, seed, numbers, zipf, size) always gives the same bytes:
 * the generator is xoshiro256** seeded through splitmix64, the Zipf sampler
 * is rejection-inversion (Hormann and Derflinger, "Rejection-inversion to
 * generate variates from monotone discrete distributions", 1996), times
 * advance from 2024-03-01 00:00:00 UTC by generated gaps, and nothing reads
 * the clock or the environment.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUT_CAP (1u << 20)
#define REC_MAX 16384 /* no record, and no SIP dialog of 7 packets, is longer */
#define BASE_MS 1709251200000ull /* 2024-03-01 00:00:00 UTC */
#define MAX_NUMBERS 10000000ull

/* --- output ------------------------------------------------------------ */

struct out {
	int fd;
	const char *name;
	char *buf;
	size_t len;
	uint64_t total; /* bytes written so far, buffered ones included */
};

static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("gen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void out_flush(struct out *o)
{
	size_t off = 0;

	while (off < o->len) {
		ssize_t k = write(o->fd, o->buf + off, o->len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			die("write error on %s: %s", o->name, k < 0 ? strerror(errno) : "short write");
		off += (size_t)k;
	}
	o->len = 0;
}

/* Makes room for one record: every writer below appends at most REC_MAX bytes. */
static void out_room(struct out *o)
{
	if (OUT_CAP - o->len < REC_MAX)
		out_flush(o);
}

/* --- a byte builder used for records and SIP messages --------------------- */

struct sb {
	char *p;
	size_t len;
};

static void sb_mem(struct sb *b, const void *s, size_t n)
{
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_str(struct sb *b, const char *s)
{
	sb_mem(b, s, strlen(s));
}

static void sb_chr(struct sb *b, char c)
{
	b->p[b->len++] = c;
}

/* v in decimal, at least width digits (zero padded). */
static void sb_uint(struct sb *b, uint64_t v, int width)
{
	char t[24];
	int n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n < width)
		t[n++] = '0';
	while (n)
		b->p[b->len++] = t[--n];
}

static void sb_hex(struct sb *b, uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";

	while (digits--)
		b->p[b->len++] = hex[(v >> (4 * digits)) & 15];
}

/* --- random numbers --------------------------------------------------------- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna). */
static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

/* Uniform in [0, n); the modulo bias is below 2^-40 for every n used here. */
static uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

static double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* --- Zipf by rejection-inversion ---------------------------------------- */

/*
 * P(k) proportional to k^-s for k in 1..n. H is an integral of h(x) = x^-s,
 * written through log1p/expm1 helpers so that s = 1 (H = log) is no special
 * case and s near 1 loses no precision.
 */
struct zipf {
	double s, n, h_x1, h_n, s_term;
};

static double zipf_log1p_div(double x)
{
	return fabs(x) > 1e-8 ? log1p(x) / x : 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

static double zipf_expm1_div(double x)
{
	return fabs(x) > 1e-8 ? expm1(x) / x : 1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x));
}

static double zipf_h(const struct zipf *z, double x)
{
	return exp(-z->s * log(x));
}

static double zipf_hi(const struct zipf *z, double x)
{
	double lx = log(x);

	return zipf_expm1_div((1 - z->s) * lx) * lx;
}

static double zipf_hi_inv(const struct zipf *z, double x)
{
	double t = x * (1 - z->s);

	if (t < -1)
		t = -1; /* rounding at the upper end of the range */
	return exp(zipf_log1p_div(t) * x);
}

static void zipf_init(struct zipf *z, uint64_t n, double s)
{
	z->s = s;
	z->n = (double)n;
	z->h_x1 = zipf_hi(z, 1.5) - 1;
	z->h_n = zipf_hi(z, z->n + 0.5);
	z->s_term = 2 - zipf_hi_inv(z, zipf_hi(z, 2.5) - zipf_h(z, 2));
}

/* A rank in 1..n, rank 1 the most frequent. */
static uint64_t zipf_draw(const struct zipf *z, struct rng *r)
{
	for (;;) {
		double u = z->h_n + rng_unit(r) * (z->h_x1 - z->h_n);
		double x = zipf_hi_inv(z, u);
		double k = floor(x + 0.5);

		if (k < 1)
			k = 1;
		else if (k > z->n)
			k = z->n;
		if (k - x <= z->s_term || u >= zipf_hi(z, k + 0.5) - zipf_h(z, k))
			return (uint64_t)k;
	}
}

/* --- subscribers ------------------------------------------------------------ */

struct gen {
	struct rng rng;
	struct zipf zipf;
	uint64_t numbers;
	uint64_t mult; /* rank -> subscriber index: a bijection of 0..numbers-1 */
	uint64_t now_ms;
	uint64_t seq;
};

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * A subscriber index: the Zipf rank scattered over the index space (so the
 * most called numbers are not neighbours). Index i is UK NSN 4 followed by i
 * in 9 digits, or the North American number of index i.
 */
static uint64_t subscriber(struct gen *g)
{
	uint64_t rank = zipf_draw(&g->zipf, &g->rng) - 1;

	return (uint64_t)(((unsigned __int128)rank * g->mult) % g->numbers);
}

/* The index as a scrambled 9-digit UK subscriber part (still a bijection). */
static uint64_t uk_digits(uint64_t i)
{
	return (i * 7919u + 104729u) % 1000000000u;
}

/*
 * Writes subscriber i in a UK form: form 0 E.164, 1 international 00,
 * 2 national, 3 E.164 with spaces.
 */
static void sb_uk(struct sb *b, uint64_t i, int form)
{
	uint64_t d = uk_digits(i);

	switch (form) {
	case 0:
		sb_str(b, "+444");
		sb_uint(b, d, 9);
		break;
	case 1:
		sb_str(b, "00444");
		sb_uint(b, d, 9);
		break;
	case 2:
		sb_str(b, "04");
		sb_uint(b, d, 9);
		break;
	default:
		sb_str(b, "+44 4");
		sb_uint(b, d / 1000000, 3);
		sb_chr(b, ' ');
		sb_uint(b, d % 1000000, 6);
		break;
	}
}

/*
 * A UK form: 40% E.164, 20% international, 30% national, 10% spaced; the
 * spaced share goes to national where spaces cannot be (URIs, most logs).
 */
static int uk_form(struct gen *g, int spaces)
{
	uint64_t r = rng_below(&g->rng, 10);

	if (r < 4)
		return 0;
	if (r < 6)
		return 1;
	if (r < 9 || !spaces)
		return 2;
	return 3;
}

static const unsigned nanp_npa[8] = {201, 212, 305, 312, 415, 503, 617, 713};

/*
 * Writes North American subscriber i: NPA from a list, a central office code
 * 000-199 (never assigned: synthetic), four line digits. Forms: 0 E.164,
 * 1 with the trunk prefix 1, 2 ten bare digits, 3 NPA-NXX-XXXX.
 */
static void sb_nanp(struct sb *b, uint64_t i, int form)
{
	unsigned npa = nanp_npa[i % 8];
	uint64_t r = (i / 8) % 2000000;

	if (form == 0)
		sb_str(b, "+1");
	else if (form == 1)
		sb_chr(b, '1');
	sb_uint(b, npa, 3);
	if (form == 3)
		sb_chr(b, '-');
	sb_uint(b, r / 10000, 3);
	if (form == 3)
		sb_chr(b, '-');
	sb_uint(b, r % 10000, 4);
}

static const char *const names[] = {
	"Alex Example", "Sam Sample", "Jo Placeholder", "Chris Demo", "Pat Test",
	"Robin Mock", "Kim Fictional", "Lee Synthetic", "Max Dummy", "Noor Invented",
	"Ana Imaginary", "Ben Madeup", "Cleo Pretend", "Dev Notreal", "Eli Standin",
	"Fay Surrogate",
};

#define NNAMES (sizeof names / sizeof names[0])

/* --- time ------------------------------------------------------------------ */

struct civil {
	int y, mo, d, h, mi, s;
};

/* Days since 1970-01-01 to a proleptic Gregorian date (era arithmetic). */
static struct civil civil_of(uint64_t secs)
{
	struct civil c;
	int64_t days = (int64_t)(secs / 86400), rem = (int64_t)(secs % 86400);
	int64_t z = days + 719468;
	int64_t era = z / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	c.d = (int)(doy - (153 * mp + 2) / 5 + 1);
	c.mo = (int)(mp < 10 ? mp + 3 : mp - 9);
	c.y = (int)(yoe + era * 400 + (c.mo <= 2));
	c.h = (int)(rem / 3600);
	c.mi = (int)(rem / 60 % 60);
	c.s = (int)(rem % 60);
	return c;
}

/* "YYYY-MM-DD HH:MM:SS" */
static void sb_time(struct sb *b, uint64_t secs)
{
	struct civil c = civil_of(secs);

	sb_uint(b, (uint64_t)c.y, 4);
	sb_chr(b, '-');
	sb_uint(b, (uint64_t)c.mo, 2);
	sb_chr(b, '-');
	sb_uint(b, (uint64_t)c.d, 2);
	sb_chr(b, ' ');
	sb_uint(b, (uint64_t)c.h, 2);
	sb_chr(b, ':');
	sb_uint(b, (uint64_t)c.mi, 2);
	sb_chr(b, ':');
	sb_uint(b, (uint64_t)c.s, 2);
}

/* Syslog's "Mar  1 09:15:02". */
static void sb_syslog_time(struct sb *b, uint64_t secs)
{
	static const char mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct civil c = civil_of(secs);

	sb_mem(b, mon + 3 * (c.mo - 1), 3);
	sb_chr(b, ' ');
	if (c.d < 10)
		sb_chr(b, ' ');
	sb_uint(b, (uint64_t)c.d, 1);
	sb_chr(b, ' ');
	sb_uint(b, (uint64_t)c.h, 2);
	sb_chr(b, ':');
	sb_uint(b, (uint64_t)c.mi, 2);
	sb_chr(b, ':');
	sb_uint(b, (uint64_t)c.s, 2);
}

/* Next record's time: gaps of 0 to 49 ms, about 40 records a second. */
static uint64_t tick(struct gen *g)
{
	g->now_ms += rng_below(&g->rng, 50);
	return g->now_ms / 1000;
}

/* --- the formats ------------------------------------------------------------ */

struct disposition {
	const char *asterisk, *freeswitch, *code, *reason;
	unsigned percent;
};

static const struct disposition dispositions[] = {
	{"ANSWERED", "NORMAL_CLEARING", "200", "OK", 70},
	{"NO ANSWER", "NO_ANSWER", "487", "Request Terminated", 15},
	{"BUSY", "USER_BUSY", "486", "Busy Here", 10},
	{"FAILED", "CALL_REJECTED", "404", "Not Found", 5},
};

static const struct disposition *pick_disposition(struct gen *g)
{
	uint64_t r = rng_below(&g->rng, 100);
	size_t i = 0;

	while (r >= dispositions[i].percent) {
		r -= dispositions[i].percent;
		i++;
	}
	return &dispositions[i];
}

/* Asterisk cdr_csv: 18 columns, strings quoted, no header line. */
static void rec_asterisk(struct gen *g, struct sb *b)
{
	uint64_t t = tick(g), seq = g->seq;
	uint64_t src = subscriber(g), dst = subscriber(g);
	int src_form = uk_form(g, 1), dst_form = uk_form(g, 0);
	const struct disposition *d = pick_disposition(g);
	int answered = d->asterisk[0] == 'A';
	uint64_t ring = 2 + rng_below(&g->rng, 20);
	uint64_t billsec = answered ? 1 + rng_below(&g->rng, 600) : 0;
	int inbound = rng_below(&g->rng, 3) == 0;

	if (rng_below(&g->rng, 10) == 0) {
		sb_str(b, "\"acct-");
		sb_uint(b, rng_below(&g->rng, 100), 2);
		sb_str(b, "\",\"");
	} else {
		sb_str(b, "\"\",\"");
	}
	sb_uk(b, src, src_form);
	sb_str(b, "\",\"");
	sb_uk(b, dst, dst_form);
	sb_str(b, inbound ? "\",\"from-trunk\",\"\"\"" : "\",\"from-internal\",\"\"\"");
	sb_str(b, names[src % NNAMES]);
	sb_str(b, "\"\" <");
	sb_uk(b, src, src_form == 3 ? 0 : src_form);
	sb_str(b, ">\",\"PJSIP/");
	sb_str(b, inbound ? "trunk-" : "ext-");
	sb_hex(b, seq * 2, 8);
	sb_str(b, "\",\"PJSIP/");
	sb_str(b, inbound ? "ext-" : "trunk-");
	sb_hex(b, seq * 2 + 1, 8);
	sb_str(b, "\",\"Dial\",\"PJSIP/");
	sb_uk(b, dst, dst_form);
	sb_str(b, inbound ? ",30,tT\",\"" : "@trunk,30,tT\",\"");
	sb_time(b, t);
	sb_str(b, "\",\"");
	if (answered)
		sb_time(b, t + ring);
	sb_str(b, "\",\"");
	sb_time(b, t + ring + billsec);
	sb_str(b, "\",");
	sb_uint(b, ring + billsec, 1);
	sb_chr(b, ',');
	sb_uint(b, billsec, 1);
	sb_str(b, ",\"");
	sb_str(b, d->asterisk);
	sb_str(b, "\",\"DOCUMENTATION\",\"");
	sb_uint(b, t, 1);
	sb_chr(b, '.');
	sb_uint(b, seq, 1);
	sb_str(b, "\",\"\"\n");
}

/* A version 4 UUID from the generator. */
static void sb_uuid(struct gen *g, struct sb *b)
{
	uint64_t hi = rng_next(&g->rng), lo = rng_next(&g->rng);

	sb_hex(b, hi >> 32, 8);
	sb_chr(b, '-');
	sb_hex(b, hi >> 16, 4);
	sb_chr(b, '-');
	sb_hex(b, 0x4000 | (hi & 0x0fff), 4);
	sb_chr(b, '-');
	sb_hex(b, 0x8000 | ((lo >> 48) & 0x3fff), 4);
	sb_chr(b, '-');
	sb_hex(b, lo, 12);
}

/* FreeSWITCH mod_cdr_csv, template "example": 15 quoted columns. */
static void rec_freeswitch(struct gen *g, struct sb *b)
{
	static const char *const codecs[] = {"PCMU", "PCMA", "OPUS", "G722"};
	uint64_t t = tick(g);
	uint64_t src = subscriber(g), dst = subscriber(g);
	const struct disposition *d = pick_disposition(g);
	int answered = d->asterisk[0] == 'A';
	uint64_t ring = 2 + rng_below(&g->rng, 20);
	uint64_t billsec = answered ? 1 + rng_below(&g->rng, 600) : 0;
	const char *codec = codecs[rng_below(&g->rng, 4)];

	sb_chr(b, '"');
	sb_str(b, names[src % NNAMES]);
	sb_str(b, "\",\"");
	sb_nanp(b, src, (int)rng_below(&g->rng, 4));
	sb_str(b, "\",\"");
	sb_nanp(b, dst, (int)rng_below(&g->rng, 4));
	sb_str(b, rng_below(&g->rng, 2) ? "\",\"default\",\"" : "\",\"public\",\"");
	sb_time(b, t);
	sb_str(b, "\",\"");
	if (answered)
		sb_time(b, t + ring);
	sb_str(b, "\",\"");
	sb_time(b, t + ring + billsec);
	sb_str(b, "\",\"");
	sb_uint(b, ring + billsec, 1);
	sb_str(b, "\",\"");
	sb_uint(b, billsec, 1);
	sb_str(b, "\",\"");
	sb_str(b, d->freeswitch);
	sb_str(b, "\",\"");
	sb_uuid(g, b);
	sb_str(b, "\",\"");
	if (answered)
		sb_uuid(g, b);
	sb_str(b, "\",\"");
	if (rng_below(&g->rng, 10) == 0) {
		sb_str(b, "acct-");
		sb_uint(b, rng_below(&g->rng, 100), 2);
	}
	sb_str(b, "\",\"");
	sb_str(b, answered ? codec : "");
	sb_str(b, "\",\"");
	sb_str(b, answered ? codec : "");
	sb_str(b, "\"\n");
}

/* An address of the documentation ranges, or of 2001:db8::/32 one time in 8. */
static void sb_ip(struct sb *b, uint64_t who)
{
	static const char *const nets[] = {"192.0.2.", "198.51.100.", "203.0.113."};

	if (who % 8 == 7) {
		sb_str(b, "2001:db8::");
		sb_hex(b, 1 + who % 0xfffe, 4);
		return;
	}
	sb_str(b, nets[who % 3]);
	sb_uint(b, 1 + (who / 3) % 254, 1);
}

/* Kamailio acc_json through syslog: "Mar  1 09:15:02 sip1 json_acc[4242]: {...}". */
static void rec_kamailio_json(struct gen *g, struct sb *b)
{
	uint64_t t = tick(g), seq = g->seq;
	uint64_t src = subscriber(g), dst = subscriber(g);
	int bye = rng_below(&g->rng, 5) < 2;
	const struct disposition *d = bye ? &dispositions[0] : pick_disposition(g);
	int src_form = uk_form(g, 0), dst_form = uk_form(g, 0);
	uint64_t host = rng_next(&g->rng);

	sb_syslog_time(b, t);
	sb_str(b, " sip1 json_acc[4242]: {\"time\": ");
	sb_uint(b, t, 1);
	sb_str(b, bye ? ", \"method\": \"BYE\", \"from_tag\": \"" : ", \"method\": \"INVITE\", \"from_tag\": \"");
	sb_hex(b, rng_next(&g->rng), 8);
	sb_str(b, "\", \"to_tag\": \"");
	sb_hex(b, rng_next(&g->rng), 8);
	sb_str(b, "\", \"callid\": \"");
	sb_uint(b, seq, 1);
	sb_chr(b, '-');
	sb_hex(b, rng_next(&g->rng), 8);
	sb_chr(b, '@');
	sb_ip(b, host & ~7ull); /* Call-IDs and domains carry an IPv4 address */
	sb_str(b, "\", \"sip_code\": \"");
	sb_str(b, d->code);
	sb_str(b, "\", \"sip_reason\": \"");
	sb_str(b, d->reason);
	sb_str(b, "\", \"src_user\": \"");
	sb_uk(b, src, src_form);
	sb_str(b, "\", \"src_domain\": \"");
	sb_ip(b, host & ~7ull);
	sb_str(b, "\", \"src_ip\": \"");
	sb_ip(b, host);
	sb_str(b, "\", \"dst_ouser\": \"");
	sb_uk(b, dst, dst_form);
	sb_str(b, "\", \"dst_user\": \"");
	sb_uk(b, dst, 0);
	sb_str(b, "\", \"dst_domain\": \"example.net\"}\n");
}

/* Kannel access log: Receive SMS (MO), Sent SMS (MT), Receive DLR. */
static void rec_kannel(struct gen *g, struct sb *b)
{
	static const char *const brands[] = {"ExampleBank", "DemoShop", "TestAir", "SampleCab"};
	static const char *const texts[] = {
		"See you at the station at ", "Running late, there by ", "Call me back after ",
		"Meeting moved to ", "Dinner is at ", "Parcel arrives before ",
	};
	uint64_t t = tick(g);
	uint64_t a = subscriber(g), c = subscriber(g);
	uint64_t kind = rng_below(&g->rng, 10), id = rng_next(&g->rng);
	char text[128];
	struct sb m = {text, 0};

	sb_time(b, t);
	if (kind < 4) { /* a subscriber sends to another */
		sb_str(b, " Receive SMS [SMSC:smpp");
		sb_uint(b, 1 + id % 4, 1);
		sb_str(b, "] [SVC:] [ACT:] [BINF:] [FID:] [META:] [from:");
		sb_uk(b, a, uk_form(g, 0));
		sb_str(b, "] [to:");
		sb_uk(b, c, uk_form(g, 0));
		sb_str(b, "] [flags:-1:0:-1:0:-1] [msg:");
		sb_str(&m, texts[id % 6]);
		sb_uint(&m, 1 + (id >> 8) % 12, 1);
		sb_str(&m, (id >> 16) % 2 ? " pm" : " am");
	} else if (kind < 8) { /* a service or a subscriber is sent a message */
		sb_str(b, " Sent SMS [SMSC:smpp");
		sb_uint(b, 1 + id % 4, 1);
		sb_str(b, "] [SVC:otp] [ACT:] [BINF:] [FID:");
		sb_hex(b, id >> 8, 8);
		sb_str(b, "] [META:] [from:");
		if (kind < 6)
			sb_str(b, brands[id % 4]);
		else
			sb_uk(b, a, uk_form(g, 0));
		sb_str(b, "] [to:");
		sb_uk(b, c, uk_form(g, 0));
		sb_str(b, "] [flags:-1:0:-1:0:31] [msg:");
		sb_str(&m, "Your code is ");
		sb_uint(&m, (id >> 20) % 1000000, 6);
		sb_str(&m, ". Do not share it.");
	} else { /* a delivery report */
		sb_str(b, " Receive DLR [SMSC:smpp");
		sb_uint(b, 1 + id % 4, 1);
		sb_str(b, "] [SVC:otp] [ACT:] [BINF:] [FID:");
		sb_hex(b, id >> 8, 8);
		sb_str(b, "] [META:?smpp?dlr_err=000&] [from:");
		sb_str(b, brands[id % 4]);
		sb_str(b, "] [to:");
		sb_uk(b, c, 0);
		sb_str(b, "] [flags:-1:-1:-1:-1:1] [msg:");
		sb_str(&m, "id:");
		sb_hex(&m, id >> 8, 8);
		sb_str(&m, " sub:001 dlvrd:001 stat:DELIVRD err:000 text:");
	}
	sb_uint(b, m.len, 1);
	sb_chr(b, ':');
	sb_mem(b, m.p, m.len);
	sb_str(b, "] [udh:0:]\n");
}

/* --- SIP in a classic pcap ------------------------------------------------ */

static void put_le32(struct sb *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b->p[b->len++] = (char)(v >> (8 * i));
}

static void put_be16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)(v >> 8);
	p[1] = (unsigned char)v;
}

static uint32_t csum_add(uint32_t sum, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static unsigned csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

struct endpoint {
	uint32_t ip; /* host order */
	char text[16];
};

static void endpoint_set(struct endpoint *e, uint32_t ip)
{
	e->ip = ip;
	snprintf(e->text, sizeof e->text, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255,
		 (ip >> 8) & 255, ip & 255);
}

/*
 * Appends one pcap record: Ethernet II, IPv4 (no options, DF), UDP 5060 to
 * 5060 with its checksum, and the SIP message sip[0..len).
 */
static void put_packet(struct sb *b, uint64_t us, uint16_t ip_id, const struct endpoint *from,
		       const struct endpoint *to, const char *sip, size_t len)
{
	static const unsigned char mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
	static const unsigned char mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
	size_t caplen = 14 + 20 + 8 + len;
	unsigned char *p;
	uint32_t sum;

	put_le32(b, (uint32_t)(us / 1000000));
	put_le32(b, (uint32_t)(us % 1000000));
	put_le32(b, (uint32_t)caplen);
	put_le32(b, (uint32_t)caplen);
	p = (unsigned char *)b->p + b->len;
	memcpy(p, from->ip < to->ip ? mac_a : mac_b, 6);
	memcpy(p + 6, from->ip < to->ip ? mac_b : mac_a, 6);
	put_be16(p + 12, 0x0800);
	p += 14;
	p[0] = 0x45;
	p[1] = 0;
	put_be16(p + 2, (unsigned)(20 + 8 + len));
	put_be16(p + 4, ip_id);
	put_be16(p + 6, 0x4000);
	p[8] = 64;
	p[9] = 17;
	put_be16(p + 10, 0);
	put_be16(p + 12, from->ip >> 16);
	put_be16(p + 14, from->ip & 0xffff);
	put_be16(p + 16, to->ip >> 16);
	put_be16(p + 18, to->ip & 0xffff);
	put_be16(p + 10, csum_fold(csum_add(0, p, 20)));
	put_be16(p + 20, 5060);
	put_be16(p + 22, 5060);
	put_be16(p + 24, (unsigned)(8 + len));
	put_be16(p + 26, 0);
	memcpy(p + 28, sip, len);
	/* pseudo-header: addresses, protocol, UDP length */
	sum = csum_add(0, p + 12, 8) + 17 + (uint32_t)(8 + len);
	sum = csum_add(sum, p + 20, 8 + len);
	put_be16(p + 26, csum_fold(sum) ? csum_fold(sum) : 0xffff);
	b->len += caplen;
}

struct dialog {
	struct endpoint ua, proxy, gw;
	char call_id[48], from_tag[20], to_tag[20], branch1[32], branch2[32], branch3[32];
	char from_user[24], to_user[24], pai_user[24];
	const char *name;
	uint64_t sess;
	unsigned ua_port, gw_port;
};

/* SDP of the caller (offer) or of the gateway (answer). */
static void sb_sdp(struct sb *b, const struct dialog *d, int answer)
{
	const char *ip = answer ? d->gw.text : d->ua.text;

	sb_str(b, "v=0\r\no=");
	sb_str(b, answer ? "gw " : "ua ");
	sb_uint(b, d->sess, 1);
	sb_chr(b, ' ');
	sb_uint(b, d->sess, 1);
	sb_str(b, " IN IP4 ");
	sb_str(b, ip);
	sb_str(b, "\r\ns=-\r\nc=IN IP4 ");
	sb_str(b, ip);
	sb_str(b, "\r\nt=0 0\r\nm=audio ");
	sb_uint(b, answer ? d->gw_port : d->ua_port, 1);
	sb_str(b, answer ? " RTP/AVP 8 101\r\n" : " RTP/AVP 0 8 101\r\n");
	sb_str(b, "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
		  "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n");
}

enum sip_msg { M_INVITE, M_100, M_180, M_200, M_ACK, M_BYE, M_200_BYE };

/* One SIP message of the dialog into b. */
static void sb_sip(struct sb *b, const struct dialog *d, enum sip_msg m)
{
	char sdp[1024];
	struct sb s = {sdp, 0};
	int request = m == M_INVITE || m == M_ACK || m == M_BYE;

	switch (m) {
	case M_INVITE:
		sb_str(b, "INVITE sip:");
		sb_str(b, d->to_user);
		sb_str(b, "@sip.example.net SIP/2.0\r\n");
		break;
	case M_ACK:
	case M_BYE:
		sb_str(b, m == M_ACK ? "ACK sip:" : "BYE sip:");
		sb_str(b, d->to_user);
		sb_chr(b, '@');
		sb_str(b, d->gw.text);
		sb_str(b, ":5060 SIP/2.0\r\n");
		break;
	case M_100:
		sb_str(b, "SIP/2.0 100 Trying\r\n");
		break;
	case M_180:
		sb_str(b, "SIP/2.0 180 Ringing\r\n");
		break;
	default:
		sb_str(b, "SIP/2.0 200 OK\r\n");
		break;
	}
	sb_str(b, "Via: SIP/2.0/UDP ");
	sb_str(b, d->ua.text);
	sb_str(b, ":5060;branch=");
	sb_str(b, m == M_ACK ? d->branch2 : m >= M_BYE ? d->branch3 : d->branch1);
	if (!request)
		sb_str(b, ";received=");
	if (!request)
		sb_str(b, d->ua.text);
	sb_str(b, "\r\n");
	if (request)
		sb_str(b, "Max-Forwards: 70\r\n");
	sb_str(b, "From: \"");
	sb_str(b, d->name);
	sb_str(b, "\" <sip:");
	sb_str(b, d->from_user);
	sb_str(b, "@sip.example.net>;tag=");
	sb_str(b, d->from_tag);
	sb_str(b, "\r\nTo: <sip:");
	sb_str(b, d->to_user);
	sb_str(b, "@sip.example.net>");
	if (m != M_INVITE && m != M_100) {
		sb_str(b, ";tag=");
		sb_str(b, d->to_tag);
	}
	sb_str(b, "\r\nCall-ID: ");
	sb_str(b, d->call_id);
	sb_str(b, m >= M_BYE ? "\r\nCSeq: 2 BYE\r\n" : m == M_ACK ? "\r\nCSeq: 1 ACK\r\n" : "\r\nCSeq: 1 INVITE\r\n");
	if (m == M_INVITE) {
		sb_str(b, "Contact: <sip:");
		sb_str(b, d->from_user);
		sb_chr(b, '@');
		sb_str(b, d->ua.text);
		sb_str(b, ":5060>\r\nP-Asserted-Identity: \"");
		sb_str(b, d->name);
		sb_str(b, "\" <sip:");
		sb_str(b, d->pai_user);
		sb_str(b, "@sip.example.net>\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n"
			  "User-Agent: BenchPhone/2.1\r\n");
	} else if (m == M_180 || m == M_200) {
		sb_str(b, "Contact: <sip:");
		sb_str(b, d->to_user);
		sb_chr(b, '@');
		sb_str(b, d->gw.text);
		sb_str(b, ":5060>\r\n");
	}
	if (!request)
		sb_str(b, "Server: BenchProxy/5.7\r\n");
	if (m == M_INVITE || m == M_200) {
		sb_sdp(&s, d, m == M_200);
		sb_str(b, "Content-Type: application/sdp\r\n");
	}
	sb_str(b, "Content-Length: ");
	sb_uint(b, s.len, 1);
	sb_str(b, "\r\n\r\n");
	sb_mem(b, s.p, s.len);
}

static void sip_user(struct sb *b, uint64_t who, int form)
{
	sb_uk(b, who, form);
	sb_chr(b, '\0');
}

/* One dialog of seven messages, each 1 ms after the one before. */
static void rec_sip(struct gen *g, struct sb *b)
{
	static const enum sip_msg order[7] = {M_INVITE, M_100, M_180, M_200, M_ACK, M_BYE, M_200_BYE};
	struct dialog d;
	uint64_t src = subscriber(g), dst = subscriber(g), id = rng_next(&g->rng);
	uint64_t us;
	struct sb w;
	char msg[2048];

	tick(g);
	us = g->now_ms * 1000;
	endpoint_set(&d.ua, 0xc0000200u | (uint32_t)(1 + src % 254));      /* 192.0.2.x */
	endpoint_set(&d.proxy, 0xc6336400u | 10u);                          /* 198.51.100.10 */
	endpoint_set(&d.gw, 0xcb007100u | (uint32_t)(1 + dst % 254));       /* 203.0.113.x */
	w = (struct sb){d.from_user, 0};
	sip_user(&w, src, uk_form(g, 0));
	w = (struct sb){d.to_user, 0};
	sip_user(&w, dst, uk_form(g, 0));
	w = (struct sb){d.pai_user, 0};
	sip_user(&w, src, 0);
	w = (struct sb){d.call_id, 0};
	sb_hex(&w, rng_next(&g->rng), 16);
	sb_chr(&w, '@');
	sb_str(&w, d.ua.text);
	sb_chr(&w, '\0');
	w = (struct sb){d.from_tag, 0};
	sb_hex(&w, id, 10);
	sb_chr(&w, '\0');
	w = (struct sb){d.to_tag, 0};
	sb_hex(&w, id >> 20, 10);
	sb_chr(&w, '\0');
	w = (struct sb){d.branch1, 0};
	sb_str(&w, "z9hG4bK");
	sb_hex(&w, rng_next(&g->rng), 12);
	sb_chr(&w, '\0');
	w = (struct sb){d.branch2, 0};
	sb_str(&w, "z9hG4bK");
	sb_hex(&w, rng_next(&g->rng), 12);
	sb_chr(&w, '\0');
	w = (struct sb){d.branch3, 0};
	sb_str(&w, "z9hG4bK");
	sb_hex(&w, rng_next(&g->rng), 12);
	sb_chr(&w, '\0');
	d.name = names[src % NNAMES];
	d.sess = 1000000000u + id % 1000000000u;
	d.ua_port = 10000 + 2 * (unsigned)(id % 10000);
	d.gw_port = 30000 + 2 * (unsigned)((id >> 16) % 10000);
	for (int i = 0; i < 7; i++) {
		enum sip_msg m = order[i];
		int up = m == M_INVITE || m == M_ACK || m == M_BYE; /* caller to proxy */
		struct sb s = {msg, 0};

		sb_sip(&s, &d, m);
		put_packet(b, us + 1000u * (unsigned)i, (uint16_t)(g->seq * 7 + (uint64_t)i),
			   up ? &d.ua : &d.proxy, up ? &d.proxy : &d.ua, msg, s.len);
	}
}

/* --- main ------------------------------------------------------------------- */

struct format {
	const char *name;
	void (*rec)(struct gen *, struct sb *);
	unsigned per_rec; /* records (SIP messages) per call of rec */
};

static const struct format formats[] = {
	{"asterisk", rec_asterisk, 1},
	{"freeswitch", rec_freeswitch, 1},
	{"kamailio-json", rec_kamailio_json, 1},
	{"kannel", rec_kannel, 1},
	{"sip", rec_sip, 7},
};

static void usage(void)
{
	fputs("usage: gen FORMAT [-s SIZE | -n RECORDS] [--seed N] [--numbers N] [--zipf S] [-o FILE]\n"
	      "  FORMAT     asterisk, freeswitch, kamailio-json, kannel or sip (a pcap)\n"
	      "  -s SIZE    stop at the first record (SIP: dialog) that reaches SIZE bytes;\n"
	      "             K, M, G for KiB, MiB, GiB\n"
	      "  -n RECORDS stop after RECORDS records (SIP: dialogs); default 1000\n"
	      "  --seed N   the generator's seed (default 1): same seed, same bytes\n"
	      "  --numbers N  subscribers drawn from (default 1000000)\n"
	      "  --zipf S   the Zipf exponent of their popularity (default 1)\n"
	      "  -o FILE    write to FILE instead of stdout\n"
	      "Prints 'gen: FORMAT records=N bytes=B' on stderr at the end.\n",
	      stderr);
	exit(64);
}

static uint64_t parse_u64(const char *s, int suffixes)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		usage();
	if (suffixes && *end) {
		int shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20
			  : *end == 'G' || *end == 'g' ? 30 : -1;

		if (shift < 0 || end[1] || v > (UINT64_MAX >> shift))
			usage();
		v <<= shift;
	} else if (*end) {
		usage();
	}
	return v;
}

int main(int argc, char **argv)
{
	const struct format *f = NULL;
	uint64_t size = 0, count = 0, seed = 1, numbers = 1000000, recs = 0;
	double s = 1.0;
	int size_given = 0, count_given = 0;
	const char *path = NULL;
	struct out o = {1, "stdout", NULL, 0, 0};
	struct gen g;

	if (argc < 2)
		usage();
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (strcmp(argv[1], formats[i].name) == 0)
			f = &formats[i];
	if (!f)
		usage();
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			usage();
		i++;
		if (strcmp(a, "-s") == 0) {
			size = parse_u64(v, 1);
			size_given++;
		} else if (strcmp(a, "-n") == 0) {
			count = parse_u64(v, 0);
			count_given++;
		} else if (strcmp(a, "--seed") == 0) {
			seed = parse_u64(v, 0);
		} else if (strcmp(a, "--numbers") == 0) {
			numbers = parse_u64(v, 0);
		} else if (strcmp(a, "--zipf") == 0) {
			char *end;

			s = strtod(v, &end);
			if (*end || end == v || !(s >= 0 && s <= 10))
				usage();
		} else if (strcmp(a, "-o") == 0) {
			path = v;
		} else {
			usage();
		}
	}
	if (size_given + count_given > 1 || (size_given && !size) || (count_given && !count))
		usage();
	if (!size_given && !count_given)
		count = 1000;
	if (numbers < 1 || numbers > MAX_NUMBERS)
		die("--numbers must be 1 to %llu", (unsigned long long)MAX_NUMBERS);
	if (path) {
		o.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (o.fd < 0)
			die("%s: %s", path, strerror(errno));
		o.name = path;
	}
	o.buf = malloc(OUT_CAP);
	if (!o.buf)
		die("out of memory");

	memset(&g, 0, sizeof g);
	rng_seed(&g.rng, seed);
	zipf_init(&g.zipf, numbers, s);
	g.numbers = numbers;
	g.mult = 1000003;
	while (gcd(g.mult, numbers) != 1)
		g.mult += 2;
	g.now_ms = BASE_MS;

	if (f->rec == rec_sip) { /* pcap global header: v2.4, snaplen 65535, Ethernet */
		struct sb b = {o.buf, 0};

		put_le32(&b, 0xa1b2c3d4u);
		put_le32(&b, 2u | 4u << 16);
		put_le32(&b, 0);
		put_le32(&b, 0);
		put_le32(&b, 65535);
		put_le32(&b, 1);
		o.len = b.len;
		o.total = b.len;
	}
	while (count ? g.seq < count : o.total < size) {
		struct sb b;
		size_t before;

		out_room(&o);
		before = o.len;
		b = (struct sb){o.buf + o.len, 0};
		f->rec(&g, &b);
		o.len = before + b.len;
		o.total += b.len;
		g.seq++;
		recs += f->per_rec;
	}
	out_flush(&o);
	if (path && close(o.fd) != 0)
		die("%s: %s", path, strerror(errno));
	fprintf(stderr, "gen: %s records=%" PRIu64 " bytes=%" PRIu64 "\n", f->name, recs, o.total);
	free(o.buf);
	return 0;
}
