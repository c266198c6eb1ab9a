/*
 * \summary: the cdrmin command line, a thin layer over the library
 *
 * Only this file prints and exits. Exit codes follow sysexits(3).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cdrmin/fdio.h"
#include "cdrmin/cryptopan.h"
#include "cdrmin/csv.h"
#include "cdrmin/json.h"
#include "cdrmin/key.h"
#include "cdrmin/parallel.h"
#include "cdrmin/pipeline.h"
#include "cdrmin/pseudo.h"
#include "cdrmin/rules.h"
#include "cdrmin/store.h"

#include "cli.h"

#ifndef CDRMIN_VERSION
#define CDRMIN_VERSION "0.1.0"
#endif

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65
#define EX_IOERR 74
#define EX_NOPERM 77

#define MAX_REJECT_LINES 100

/* long options without a letter */
enum { OPT_STATS_JSON = 256, OPT_STATS_INTERVAL, OPT_CHUNK };

static const char usage_text[] =
	"usage: cdrmin -r RULES [-k KEYFILE] [-o OUT] [options] [FILE...]\n"
	"       cdrmin keygen KEYFILE\n"
	"       cdrmin check RULES [FILE]\n"
	"       cdrmin store verify|purge|hold|release|find|export DIR ...\n"
	"\n"
	"Reads call detail records from the FILEs in order (stdin when none, or '-'),\n"
	"pseudonymizes, truncates or drops each field as the RULES say, and writes the\n"
	"minimized records to stdout (or OUT). Fields the rules do not name are dropped.\n"
	"The RULES' format says what the input is: csv, jsonl (JSON lines), kv\n"
	"(Kamailio acc log lines), kannel (Kannel access log), or sip and sip-calls\n"
	"(SIP messages or calls from pcap/pcapng captures, or captured live).\n"
	"\n"
	"Options:\n"
	"  -r, --rules FILE      rules file (required)\n"
	"  -k, --key FILE        pseudonym key file (32 bytes, mode 0600); default:\n"
	"                        the file named by CDRMIN_KEY_FILE\n"
	"  -k FILE@YYYY-MM-DD    key rotation: this key makes the pseudonyms of the\n"
	"                        records whose epoch starts on or after that day (the\n"
	"                        first day of an epoch of the rules); repeatable, with\n"
	"                        one -k FILE without a date for the epochs before\n"
	"  -o, --output-file FILE  write to FILE instead of stdout\n"
	"      --output FMT      csv (default) or jsonl: one JSON object per line\n"
	"      --no-header       do not write the CSV header line\n"
	"      --stats           print a summary on stderr at the end\n"
	"      --allow-rejects   exit 0 even when records were rejected\n"
	"      --cache-size N    pseudonym memo cache slots (default 65536; 0: off)\n"
	"      --max-record N    longest input record in bytes (default 1048576)\n"
	"      --flush-ms N      when input keeps arriving, write each record at most\n"
	"                        N ms after it is complete (default 100; 0: each record\n"
	"                        at once); when the input pauses, output is written then\n"
	"  -j, --jobs N          filter with N threads (csv, jsonl, kv, kannel, sip capture\n"
	"                        files; 0: one per CPU; default 1); output in input\n"
	"                        order, the same bytes\n"
	"      --chunk N         bytes of input a -j thread takes at a time (default\n"
	"                        262144)\n"
	"  -q, --quiet           no progress line and no notes on stderr (errors, rejects\n"
	"                        and --stats are still printed)\n"
	"      --stats-json FILE write the counters as JSON to FILE, every\n"
	"                        --stats-interval seconds and at the end, atomically (a\n"
	"                        temporary file beside it, renamed)\n"
	"      --stats-interval N  seconds between two --stats-json writes (default 10)\n"
	"SIP (rules of format sip or sip-calls):\n"
	"      --pcap FILE       a pcap or pcapng capture ('-': stdin); repeatable; the\n"
	"                        FILE arguments are read as captures too\n"
	"  -i, --interface IFACE capture live (immediate mode; needs CAP_NET_RAW) until\n"
	"                        SIGINT or SIGTERM\n"
	"      --bpf EXPR        BPF filter for -i ('udp port 5060 or tcp port 5060')\n"
	"      --calls           one record per call (rules of format sip-calls)\n"
	"      --sip-ports LIST  also read these ports' payloads as SIP (5060,5080)\n"
	"      --cryptopan-key FILE  key for 'ip prefix' (32 bytes, or 64 hex digits),\n"
	"                        instead of one derived from -k per epoch\n"
	"Retained store (the originals, encrypted; see 'cdrmin store'):\n"
	"      --retain DIR      keep every record read (rejected ones in the quarantine)\n"
	"      --store-key FILE  the store key (not the pseudonym key)\n"
	"      --fsync-every N   make the store durable every N records\n"
	"      --fsync-ms T      ... or every T ms (default: when a segment closes)\n"
	"  -h, --help            this text\n"
	"  -V, --version         version\n"
	"\n"
	"Commands:\n"
	"  keygen KEYFILE        write a new random key (mode 0600; never overwrites)\n"
	"  check RULES [FILE] [-k KEY...]  validate RULES and print what leaves the\n"
	"                        filter for each field (FILE: read column names from\n"
	"                        its header); with -k, check the keys and show the\n"
	"                        key schedule\n"
	"\n"
	"SIGINT or SIGTERM stops reading: the record in progress is completed from what\n"
	"is there, what was read is processed and written, the summary is printed, and\n"
	"the exit status is as at the end of the input. A second signal ends at once.\n"
	"SIGHUP reopens the -o file (log rotation: mv OUT OUT.1; kill -HUP): what is\n"
	"written from then on goes to a new OUT. Without -o, SIGHUP is ignored.\n"
	"\n"
	"Inputs (FILEs, stdin, captures) compressed with gzip or zstd are decompressed\n"
	"as they are read, recognised by their first bytes whatever their names.\n"
	"When stderr is a terminal and the output goes elsewhere, a progress line shows\n"
	"the bytes read of the inputs' total, records/s and the time left.\n"
	"\n"
	"Exit status: 0 done; 65 some records were rejected (the rest is written);\n"
	"66 input missing or unreadable; 74 I/O error; 77 key problem; 78 rules error;\n"
	"64 usage.\n"
	"\n"
	"Example:\n"
	"  cdrmin keygen /etc/cdrmin/key\n"
	"  cdrmin -r rules/asterisk.rules -k /etc/cdrmin/key --stats Master.csv > min.csv\n";

struct cli {
	const char *rules_path;
	const char *key_path; /* the first -k, or CDRMIN_KEY_FILE */
	const char *key_args[CM_KEYS_MAX]; /* every -k FILE[@DATE] */
	size_t nkey_args;
	const char *out_path;
	int no_header, stats, allow_rejects;
	enum cm_output output;
	size_t cache_size, max_record;
	unsigned flush_ms;
	unsigned jobs;    /* -j: worker threads (0 or 1: none) */
	size_t chunk;     /* --chunk: bytes per -j chunk (0: the default) */
	unsigned long reject_lines;
	/* operations */
	int quiet;
	const char *stats_json;
	unsigned stats_interval;
	/* captures (rules of format sip or sip-calls) */
	const char **pcaps;
	size_t npcaps;
	const char *iface, *bpf, *cpan_key;
	int calls;
	uint16_t ports[64];
	size_t nports;
	/* the retained store */
	const char *retain_dir, *store_key_path;
	uint64_t fsync_every;
	unsigned fsync_ms;
};

/* The key material of the run, wiped at any exit (die_err exits too). */
static struct cm_key_schedule run_keys;
static struct cm_key store_key;
static struct cm_pseudo *run_ps;

static struct cm_store *run_store;

/* The --pcap list, freed at any exit (the early ones too). */
static const char **run_pcaps;

static void free_pcaps(void)
{
	free(run_pcaps);
	run_pcaps = NULL;
}

/* ------------------------------------------------------------- operations */

/*
 * The run's periodic work, done in the pipeline's tick (between records,
 * never in a signal handler): the progress line on a terminal and the
 * --stats-json file. Its state is here because the tick, the reject
 * callback and the exits all reach it.
 */
#define BAR_EVERY 0.25 /* seconds between two redraws of the progress line */

static struct {
	struct cm_pipeline *pl;
	const struct cm_pseudo *ps;
	struct cm_capture *live; /* a live capture: the kernel's drops */
	const struct cm_sink *sink; /* -o: the file SIGHUP reopens; NULL for stdout */
	const char *stats_path;
	double t0, next_bar, next_stats, interval;
	uint64_t total;          /* file bytes of all the inputs; 0: not known */
	int quiet, bar, bar_shown, stats_warned;
	mode_t umask;
} ops;

/* SIGHUP with -o: a counter the sink compares with the last value it saw. */
static volatile sig_atomic_t hup_count;

static void on_hup(int sig)
{
	(void)sig;
	hup_count++;
}

/*
 * With -o, SIGHUP reopens the output file (log rotation, struct cm_sink);
 * on stdout there is nothing to reopen and it is ignored. SA_RESTART: a
 * rotation interrupts no read or write.
 */
static void catch_hup(int reopen)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = reopen ? on_hup : SIG_IGN;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
}

/* Erases the progress line: before anything else goes to stderr, and at the end. */
static void bar_clear(void)
{
	if (ops.bar_shown) {
		fputs("\r\033[K", stderr);
		ops.bar_shown = 0;
	}
}

/* Closes the run's store (every segment gets its final frame) and prints what is durable. */
static int close_store(struct cm_err *err)
{
	struct cm_store_stats st;
	int rc;

	if (!run_store)
		return 0;
	st = *cm_store_stats(run_store);
	rc = cm_store_close(run_store, err);
	run_store = NULL;
	if (rc == 0)
		st.durable = st.records + st.rejected;
	if (!ops.quiet)
		fprintf(stderr, "cdrmin: store: %llu records and %llu rejected kept, %llu durable, "
				"%llu segments written, %llu recovered at open\n",
			(unsigned long long)st.records, (unsigned long long)st.rejected,
			(unsigned long long)st.durable, (unsigned long long)st.segments,
			(unsigned long long)st.recovered);
	return rc;
}

static void wipe_keys(void)
{
	cm_key_free(&store_key);
	cm_pseudo_free(run_ps);
	run_ps = NULL;
	cm_key_schedule_free(&run_keys);
}

/* The signal that asked us to stop (SIGINT, SIGTERM), or 0. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	/*
	 * A second signal is not ignored: when the first cannot finish (output
	 * blocked on a reader that does not read), it ends the process.
	 */
	if (stop_signal) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_signal = sig;
}

/*
 * SIGINT and SIGTERM end the input, not the process: the pipeline sees
 * stop_signal, finishes what it read, and the summary is printed. No
 * SA_RESTART, so that a wait for input returns.
 */
static void catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void die_err(const struct cm_err *err, const char *rules_path)
{
	if (err->code == CM_E_RULES && rules_path && err->line)
		fprintf(stderr, "cdrmin: error: %s:%llu:%llu: %s\n", rules_path,
			(unsigned long long)err->line, (unsigned long long)err->col, err->msg);
	else if (err->code == CM_E_RULES && rules_path)
		fprintf(stderr, "cdrmin: error: rules file %s: %s\n", rules_path, err->msg);
	else
		fprintf(stderr, "cdrmin: error: %s\n", err->msg);
	exit(cm_err_exit_code(err->code));
}

/*
 * The last check of a command that printed on stdout through stdio: a write
 * that failed (closed pipe, full disk) makes the exit 74 with a message,
 * even when the command had nothing else to say. Returns rc or EX_IOERR.
 */
static int stdout_done(int rc)
{
	int failed = fflush(stdout) != 0;
	int e = errno;

	if (!failed && !ferror(stdout))
		return rc;
	fprintf(stderr, "cdrmin: error: write error on stdout%s%s\n", failed ? ": " : "",
		failed ? strerror(e) : "");
	return EX_IOERR;
}

/* -j: each worker's own pseudonym engine over the run's keys (engines are not shared). */
static enum cm_epoch_unit eng_unit;

/*
 * The workers' engines while cm_par_run runs (it frees them before it
 * returns), for the cache counters of a --stats-json written meanwhile.
 */
static struct cm_pseudo *wk_engine[256];
static size_t n_wk_engine;

static struct cm_pseudo *worker_engine(void *ud, struct cm_err *err)
{
	const struct cli *cli = ud;
	struct cm_pseudo *ps = cm_pseudo_new_schedule(&run_keys, eng_unit, cli->cache_size, err);

	if (ps && cli->cpan_key) {
		unsigned char *ck = sodium_malloc(CM_CRYPTOPAN_KEYBYTES);
		const char *why = "out of protected memory";
		int krc = ck ? cm_cryptopan_key_load(cli->cpan_key, ck, &why) : -1;

		if (krc == 0)
			krc = cm_pseudo_set_cryptopan_key(ps, ck);
		if (ck)
			sodium_free(ck); /* wipes */
		if (krc != 0) {
			cm_pseudo_free(ps);
			cm_err_set(err, CM_E_KEY, "Crypto-PAn key %s: %s", cli->cpan_key, why);
			return NULL;
		}
	}
	if (ps && n_wk_engine < sizeof wk_engine / sizeof wk_engine[0])
		wk_engine[n_wk_engine++] = ps; /* --jobs is at most 256 */
	return ps;
}

static void usage_error(const char *msg)
{
	fprintf(stderr, "cdrmin: %s\nTry 'cdrmin --help'.\n", msg);
	exit(EX_USAGE);
}

static size_t parse_size(const char *s, const char *opt)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || v > (1ULL << 32))
		goto bad;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end || v > (1ULL << 32))
		goto bad;
	return (size_t)v;
bad:
	fprintf(stderr, "cdrmin: %s needs a number, not '%s'\n", opt, s);
	exit(EX_USAGE);
}

static void on_reject(void *ud, const struct cm_rejection *r)
{
	struct cli *cli = ud;
	char why[400];

	bar_clear();
	if (++cli->reject_lines > MAX_REJECT_LINES) {
		if (cli->reject_lines == MAX_REJECT_LINES + 1)
			fprintf(stderr, "cdrmin: further rejects are counted (see --stats), not shown\n");
		return;
	}
	switch (r->reason) {
	case CM_REJ_COLUMNS:
		if (r->want_columns && r->got_columns)
			snprintf(why, sizeof why, "wrong number of columns (%zu, expected %zu)",
				 r->got_columns, r->want_columns);
		else
			snprintf(why, sizeof why, "more than %d columns", CM_CSV_MAX_FIELDS);
		break;
	case CM_REJ_QUOTE:
		snprintf(why, sizeof why, "unterminated quote, or text after a closing quote");
		break;
	case CM_REJ_TOOLONG:
		snprintf(why, sizeof why, "record longer than %zu bytes (--max-record); "
			 "skipped to its end", cli->max_record);
		break;
	case CM_REJ_VALUE:
		snprintf(why, sizeof why, "field '%.60s': value is not of the form its rule expects",
			 r->field ? r->field : "?");
		break;
	case CM_REJ_HEADER:
		snprintf(why, sizeof why, "the file's header line is malformed or differs from the "
			 "first input's (or the declared columns)");
		break;
	case CM_REJ_TRUNCATED:
		if (r->detail)
			snprintf(why, sizeof why, "the capture file is damaged, the rest of it is lost (%.200s)",
				 r->detail);
		else
			snprintf(why, sizeof why, "incomplete when the run was stopped by a signal");
		break;
	case CM_REJ_SIP:
		snprintf(why, sizeof why, "%s", r->detail ? r->detail : "not a SIP message");
		break;
	case CM_REJ_EPOCH:
		snprintf(why, sizeof why, "field '%.60s': the epoch time is missing or unreadable",
			 r->field ? r->field : "?");
		break;
	case CM_REJ_JSON:
		snprintf(why, sizeof why, "not one well-formed JSON object, at byte %llu of the line",
			 (unsigned long long)r->col);
		break;
	case CM_REJ_SYNTAX:
		snprintf(why, sizeof why, "the line does not follow its format, at byte %llu",
			 (unsigned long long)r->col);
		break;
	case CM_REJ_DUPLICATE:
		snprintf(why, sizeof why, "field '%.60s' given twice, at byte %llu of the line",
			 r->field ? r->field : "?", (unsigned long long)r->col);
		break;
	case CM_REJ_NUL:
		if (r->col)
			snprintf(why, sizeof why, "NUL byte in the record, at byte %llu of the line",
				 (unsigned long long)r->col);
		else
			snprintf(why, sizeof why, "NUL byte in the record");
		break;
	default:
		snprintf(why, sizeof why, "%s", cm_reject_name(r->reason));
		break;
	}
	if (r->frame)
		fprintf(stderr, "cdrmin: %s: frame %llu: record rejected (%s): %s\n", r->source,
			(unsigned long long)r->line, cm_reject_name(r->reason), why);
	else
		fprintf(stderr, "cdrmin: %s:%llu: record rejected (%s): %s\n", r->source,
			(unsigned long long)r->line, cm_reject_name(r->reason), why);
}

/* A named counter of the capture stages, as the summary names it. */
struct counter {
	const char *name;
	uint64_t v;
};

#define PKT_COUNTERS 12
#define CALL_COUNTERS 9

static void pkt_counters(const struct cm_pkt_stats *k, struct counter o[PKT_COUNTERS])
{
	const struct counter c[PKT_COUNTERS] = {
		{"frames", k->frames}, {"sip-messages", k->messages},
		{"truncated", k->truncated}, {"malformed", k->malformed},
		{"not-ip", k->not_ip}, {"other", k->other},
		{"fragments", k->fragments}, {"reassembled", k->reassembled},
		{"fragments-dropped", k->frag_dropped}, {"tcp-segments", k->tcp_segments},
		{"tcp-bytes-dropped", k->tcp_dropped}, {"tcp-unframed", k->tcp_bad},
	};

	memcpy(o, c, sizeof c);
}

/* calls first, then how they ended (the summary puts those in parentheses), then the rest. */
static void call_counters(const struct cm_calls_stats *k, struct counter o[CALL_COUNTERS])
{
	const struct counter c[CALL_COUNTERS] = {
		{"calls", k->calls}, {"bye", k->bye}, {"cancel", k->cancel},
		{"rejected", k->rejected}, {"timeout", k->timeout}, {"evicted", k->evicted},
		{"eof", k->eof}, {"messages", k->messages}, {"not-in-a-call", k->not_calls},
	};

	memcpy(o, c, sizeof c);
}

/* "name=v" for c[from..to), a space before each but the first. */
static void print_counters(const struct counter *c, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		fprintf(stderr, "%s%s=%llu", i > from ? " " : "", c[i].name,
			(unsigned long long)c[i].v);
}

static void print_capture_stats(const struct cm_pipeline *pl)
{
	const struct cm_pkt_stats *k = cm_pipeline_pkt_stats(pl);
	const struct cm_calls_stats *c = cm_pipeline_calls_stats(pl);
	struct counter pc[PKT_COUNTERS], cc[CALL_COUNTERS];

	if (k) {
		pkt_counters(k, pc);
		fputs("cdrmin: stats: ", stderr);
		print_counters(pc, 0, PKT_COUNTERS);
		fputc('\n', stderr);
	}
	if (c) {
		call_counters(c, cc);
		fputs("cdrmin: stats: ", stderr);
		print_counters(cc, 0, 1);
		fputs(" (", stderr);
		print_counters(cc, 1, 7);
		fputs(") ", stderr);
		print_counters(cc, 7, CALL_COUNTERS);
		fputc('\n', stderr);
	}
}

/* -j: the workers' engines' cache counters, added to the main engine's in the summaries */
static struct cm_pseudo_stats par_cache;

/* -j: the threads, and the run's chunk counters (while it runs, par_live's as they stand) */
static unsigned par_jobs;
static const struct cm_par_opts *par_live;
static uint64_t par_chunks, par_refiltered;

static void par_counts(uint64_t *chunks, uint64_t *refiltered)
{
	*chunks = par_live ? par_live->chunks : par_chunks;
	*refiltered = par_live ? par_live->refiltered : par_refiltered;
}

static void cache_stats(const struct cm_pseudo *ps, struct cm_pseudo_stats *st)
{
	size_t i;

	cm_pseudo_get_stats(ps, st);
	st->hits += par_cache.hits;
	st->misses += par_cache.misses;
	st->ahead += par_cache.ahead;
	for (i = 0; i < n_wk_engine; i++) {
		struct cm_pseudo_stats w;

		/* a worker running: its counters as they stand */
		cm_pseudo_get_stats(wk_engine[i], &w);
		st->hits += w.hits;
		st->misses += w.misses;
		st->ahead += w.ahead;
	}
}

static void print_stats(const struct cm_stats *st, const struct cm_pseudo *ps, double secs)
{
	struct cm_pseudo_stats pst = {0, 0, 0};
	size_t i;

	fprintf(stderr, "cdrmin: stats: read=%llu written=%llu rejected=%llu filtered=%llu\n",
		(unsigned long long)st->read, (unsigned long long)st->written,
		(unsigned long long)st->rejected, (unsigned long long)st->filtered);
	fprintf(stderr, "cdrmin: stats: rejected by reason:");
	for (i = 0; i < CM_REJ__COUNT; i++)
		fprintf(stderr, " %s=%llu", cm_reject_name((enum cm_reject)i),
			(unsigned long long)st->by_reason[i]);
	fprintf(stderr, "\n");
	if (st->other)
		fprintf(stderr, "cdrmin: stats: other lines (without the marker, not records)=%llu\n",
			(unsigned long long)st->other);
	fprintf(stderr, "cdrmin: stats: elapsed=%.3fs records/s=%.0f input-bytes=%llu\n", secs,
		secs > 0 ? (double)st->read / secs : 0.0, (unsigned long long)st->bytes_in);
	if (ps) {
		uint64_t total;

		cache_stats(ps, &pst);
		total = pst.hits + pst.misses;
		fprintf(stderr,
			"cdrmin: stats: pseudonym cache lookups=%llu hits=%llu hit-rate=%.1f%% "
			"digests-ahead=%llu\n",
			(unsigned long long)total, (unsigned long long)pst.hits,
			total ? 100.0 * (double)pst.hits / (double)total : 0.0,
			(unsigned long long)pst.ahead);
	}
	if (par_jobs > 1) {
		uint64_t ch, rf;

		par_counts(&ch, &rf);
		fprintf(stderr, "cdrmin: stats: threads=%u chunks=%llu refiltered=%llu\n", par_jobs,
			(unsigned long long)ch, (unsigned long long)rf);
	}
}

static int same_file(const struct stat *a, const char *path)
{
	struct stat b;

	return path && stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino;
}

/*
 * Refuses an output that is one of the inputs, the rules or the key file:
 * opening it would truncate that file before it is read, and a lost key
 * makes every pseudonym made under it unjoinable.
 */
static void check_output(const struct cli *cli, char **inputs, int n)
{
	struct stat so, si;
	int i;

	if (!cli->out_path || stat(cli->out_path, &so) != 0 || !S_ISREG(so.st_mode))
		return;
	if (same_file(&so, cli->key_path) || same_file(&so, cli->rules_path)) {
		fprintf(stderr, "cdrmin: the output %s is the %s file\n", cli->out_path,
			same_file(&so, cli->key_path) ? "key" : "rules");
		exit(EX_USAGE);
	}
	for (i = 0; i < n || (n == 0 && i == 0); i++) {
		int r = n == 0 || strcmp(inputs[i], "-") == 0 ? fstat(0, &si) : stat(inputs[i], &si);

		if (r == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
			fprintf(stderr, "cdrmin: the output %s is also an input\n", cli->out_path);
			exit(EX_USAGE);
		}
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------- operations: the tick */

static void human_bytes(char *b, size_t n, uint64_t v)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(b, n, "%llu B", (unsigned long long)v);
	else
		snprintf(b, n, "%.1f %s", d, unit[u]);
}

static void clock_text(char *b, size_t n, double secs)
{
	unsigned long t = secs > 0 && secs < 1e8 ? (unsigned long)(secs + 0.5) : 0;

	if (t >= 3600)
		snprintf(b, n, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(b, n, "%lu:%02lu", t / 60, t % 60);
}

/*
 * One line, redrawn in place: with the inputs' total known (files; the
 * compressed size of compressed ones) a bar, the share done, bytes,
 * records/s and the time left (80 columns); else bytes, records, records/s and
 * the time so far. Cut to the terminal's width so that it never wraps.
 */
static void bar_draw(double t)
{
	const struct cm_stats *st = cm_pipeline_stats(ops.pl);
	struct cm_progress p;
	struct winsize ws;
	double el = t - ops.t0, rate = el > 0 ? (double)st->read / el : 0;
	char line[256], done[32], total[32], when[32];
	size_t width = 80, n;

	cm_pipeline_progress(ops.pl, &p);
	human_bytes(done, sizeof done, p.file_bytes);
	if (ops.total) {
		double frac = p.file_bytes >= ops.total ? 1.0 : (double)p.file_bytes / (double)ops.total;
		char bar[11];
		int k;

		for (k = 0; k < 10; k++)
			bar[k] = k < (int)(frac * 10) ? '#' : '.';
		bar[10] = '\0';
		human_bytes(total, sizeof total, ops.total);
		if (frac > 0 && frac < 1 && el >= 1)
			clock_text(when, sizeof when, el * (1 - frac) / frac);
		else
			snprintf(when, sizeof when, "--:--");
		snprintf(line, sizeof line, "cdrmin [%s] %3.0f%%  %s of %s  %.0f records/s  ETA %s", bar,
			 frac * 100, done, total, rate, when);
	} else {
		clock_text(when, sizeof when, el);
		snprintf(line, sizeof line, "cdrmin  %s read  %llu records  %.0f records/s  %s elapsed", done,
			 (unsigned long long)st->read, rate, when);
	}
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		width = ws.ws_col;
	n = strlen(line) < width - 1 ? strlen(line) : width - 1;
	fprintf(stderr, "\r%.*s\033[K", (int)n, line);
	ops.bar_shown = 1;
}

static void bprintf(struct cm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bprintf(struct cm_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (k > 0)
		cm_buf_add(b, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* "obj":{"name":v,...}, the summary's names with '_' for '-'. */
static void json_counters(struct cm_buf *b, const char *obj, const struct counter *c, size_t n)
{
	size_t i, j;

	bprintf(b, "\"%s\":{", obj);
	for (i = 0; i < n; i++) {
		bprintf(b, "%s\"", i ? "," : "");
		for (j = 0; c[i].name[j]; j++)
			cm_buf_addc(b, c[i].name[j] == '-' ? '_' : c[i].name[j]);
		bprintf(b, "\":%llu", (unsigned long long)c[i].v);
	}
	cm_buf_adds(b, "},\n");
}

/*
 * The --stats-json document: state is "starting", "running", "done",
 * "stopped" (by a signal) or "failed"; exit_code (>= 0) and error only at
 * the end. Before the pipeline exists every counter is 0.
 */
static void stats_json_build(struct cm_buf *b, const char *state, int exit_code, const char *error,
			     double t)
{
	static const struct cm_stats zero;
	const struct cm_stats *st = ops.pl ? cm_pipeline_stats(ops.pl) : &zero;
	const struct cm_pkt_stats *k = ops.pl ? cm_pipeline_pkt_stats(ops.pl) : NULL;
	const struct cm_calls_stats *c = ops.pl ? cm_pipeline_calls_stats(ops.pl) : NULL;
	struct cm_progress p = {0, 0};
	double el = ops.t0 > 0 && t > ops.t0 ? t - ops.t0 : 0;
	time_t wall = time(NULL);
	struct tm tm;
	char when[32];
	size_t i;

	if (ops.pl)
		cm_pipeline_progress(ops.pl, &p);
	gmtime_r(&wall, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	bprintf(b, "{\"program\":\"cdrmin\",\"version\":\"%s\",\"state\":\"%s\",\"time\":\"%s\",\n",
		CDRMIN_VERSION, state, when);
	bprintf(b, "\"elapsed_s\":%.3f,\"records_per_s\":%.1f,\n", el, el > 0 ? (double)st->read / el : 0.0);
	bprintf(b, "\"read\":%llu,\"written\":%llu,\"filtered\":%llu,\"rejected\":%llu,\n",
		(unsigned long long)st->read, (unsigned long long)st->written,
		(unsigned long long)st->filtered, (unsigned long long)st->rejected);
	cm_buf_adds(b, "\"rejected_by_reason\":{");
	for (i = 0; i < CM_REJ__COUNT; i++)
		bprintf(b, "%s\"%s\":%llu", i ? "," : "", cm_reject_name((enum cm_reject)i),
			(unsigned long long)st->by_reason[i]);
	cm_buf_adds(b, "},\n");
	bprintf(b, "\"other_lines\":%llu,\"bytes_in\":%llu,\"file_bytes_in\":%llu,",
		(unsigned long long)st->other, (unsigned long long)p.bytes_in,
		(unsigned long long)p.file_bytes);
	if (ops.total)
		bprintf(b, "\"file_bytes_total\":%llu,\n", (unsigned long long)ops.total);
	else
		cm_buf_adds(b, "\"file_bytes_total\":null,\n");
	if (ops.ps) {
		struct cm_pseudo_stats ps;
		uint64_t all;

		cache_stats(ops.ps, &ps);
		all = ps.hits + ps.misses;
		bprintf(b,
			"\"pseudonym_cache\":{\"lookups\":%llu,\"hits\":%llu,\"hit_rate\":%.4f,"
			"\"digests_ahead\":%llu},\n",
			(unsigned long long)all, (unsigned long long)ps.hits,
			all ? (double)ps.hits / (double)all : 0.0, (unsigned long long)ps.ahead);
	}
	if (par_jobs > 1) {
		uint64_t ch, rf;

		par_counts(&ch, &rf);
		bprintf(b, "\"threads\":{\"n\":%u,\"chunks\":%llu,\"refiltered\":%llu},\n", par_jobs,
			(unsigned long long)ch, (unsigned long long)rf);
	}
	if (k) {
		struct counter pc[PKT_COUNTERS];

		pkt_counters(k, pc);
		json_counters(b, "capture", pc, PKT_COUNTERS);
	}
	if (c) {
		struct counter cc[CALL_COUNTERS];

		call_counters(c, cc);
		json_counters(b, "calls", cc, CALL_COUNTERS);
	}
	if (ops.live)
		bprintf(b, "\"kernel_dropped\":%llu,\n", (unsigned long long)cm_capture_dropped(ops.live));
	if (error) {
		cm_buf_adds(b, "\"error\":");
		cm_json_put_string(b, error, strlen(error));
		cm_buf_adds(b, ",\n");
	}
	if (exit_code >= 0)
		bprintf(b, "\"exit_code\":%d,\n", exit_code);
	bprintf(b, "\"stats_interval_s\":%.0f}\n", ops.interval);
}

/*
 * Writes the document atomically: a temporary file beside the target
 * (".NAME.XXXXXX", same directory, so same file system), renamed over it;
 * a reader sees the old document or the new one, whole. Returns 0, or -1
 * with why set.
 */
static int stats_json_write(const struct cm_buf *b, char *why, size_t whylen)
{
	const char *path = ops.stats_path, *slash = strrchr(path, '/');
	size_t dir = slash ? (size_t)(slash - path) + 1 : 0, n = strlen(path);
	char *tmp = malloc(n + 10);
	int fd, e = 0;

	if (!tmp) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	memcpy(tmp, path, dir);
	snprintf(tmp + dir, n + 10 - dir, ".%s.XXXXXX", path + dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "cannot create a file beside it: %s", strerror(errno));
		free(tmp);
		return -1;
	}
	if (b->oom)
		e = ENOMEM;
	else if (fchmod(fd, 0666 & ~ops.umask) != 0 ||
		 cm_write_full(fd, (const unsigned char *)b->p, b->n) != 0)
		e = errno;
	if (close(fd) != 0 && !e && errno != EINTR)
		e = errno;
	if (!e && rename(tmp, path) != 0)
		e = errno;
	if (e) {
		snprintf(why, whylen, "%s", strerror(e));
		unlink(tmp);
	}
	free(tmp);
	return e ? -1 : 0;
}

/*
 * Builds and writes the document. A failure is an error at the start and
 * at the end (exit_code >= 0); while the run goes on, a warning, printed
 * once (monitoring must not stop the data). Returns 0 or -1.
 */
static int stats_json_emit(const char *state, int exit_code, const char *error)
{
	struct cm_buf b;
	char why[300];
	int rc;

	if (!ops.stats_path)
		return 0;
	cm_buf_init(&b);
	stats_json_build(&b, state, exit_code, error, now());
	rc = stats_json_write(&b, why, sizeof why);
	cm_buf_deinit(&b);
	if (rc != 0 && (exit_code >= 0 || !ops.stats_warned)) {
		int fatal = exit_code >= 0 || strcmp(state, "starting") == 0;

		bar_clear();
		fprintf(stderr, "cdrmin: %s: --stats-json %s: %s\n", fatal ? "error" : "warning",
			ops.stats_path, why);
		ops.stats_warned = 1;
	}
	return rc;
}

/* The pipeline's tick: redraws the progress line and writes --stats-json when each is due. */
static int ops_tick(void *ud, struct cm_err *err)
{
	double t;

	(void)ud;
	/* a SIGHUP while nothing is written (a live capture without traffic): reopen now */
	if (ops.sink && ops.sink->reopen && *ops.sink->reopen != ops.sink->reopen_seen &&
	    cm_pipeline_flush(ops.pl, err) != 0)
		return CM_FAIL;
	if (!ops.bar && !ops.stats_path)
		return 0;
	t = now();
	if (ops.bar && t >= ops.next_bar) {
		bar_draw(t);
		ops.next_bar = t + BAR_EVERY;
	}
	if (ops.stats_path && t >= ops.next_stats) {
		ops.next_stats = t + ops.interval;
		/* what was encoded is written first: read = written + rejected + filtered in every snapshot */
		if (cm_pipeline_flush(ops.pl, err) != 0)
			return CM_FAIL;
		(void)stats_json_emit("running", -1, NULL);
	}
	return 0;
}

/* A regular file's size (stdin's when "-"), or 0 when the input is a pipe or a terminal. */
static uint64_t input_size(const char *path)
{
	struct stat st;
	int r = strcmp(path, "-") == 0 ? fstat(0, &st) : stat(path, &st);

	return r == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

/*
 * The total of the progress line: the sizes of all the inputs, or 0 (not
 * known) when one of them is a pipe or a terminal (or none is given: stdin).
 */
static uint64_t inputs_total(const struct cli *cli, char **inputs, int n)
{
	uint64_t total = 0, k;
	size_t i;
	int j;

	if (cli->iface)
		return 0;
	if (n == 0 && cli->npcaps == 0)
		return input_size("-");
	for (i = 0; i < cli->npcaps; i++) {
		if (!(k = input_size(cli->pcaps[i])))
			return 0;
		total += k;
	}
	for (j = 0; j < n; j++) {
		if (!(k = input_size(inputs[j])))
			return 0;
		total += k;
	}
	return total;
}

/*
 * --stats-json must not name a file the run reads or writes: renaming over
 * it would replace that file.
 */
static void check_stats_path(const struct cli *cli, char **inputs, int n)
{
	struct stat so;
	int i, clash = cli->out_path && strcmp(cli->out_path, cli->stats_json) == 0;

	if (!clash && stat(cli->stats_json, &so) == 0) {
		clash = same_file(&so, cli->out_path) || same_file(&so, cli->rules_path) ||
			same_file(&so, cli->key_path) || same_file(&so, cli->store_key_path);
		for (i = 0; i < n && !clash; i++)
			clash = strcmp(inputs[i], "-") != 0 && same_file(&so, inputs[i]);
		for (i = 0; i < (int)cli->npcaps && !clash; i++)
			clash = same_file(&so, cli->pcaps[i]);
	}
	if (clash) {
		fprintf(stderr, "cdrmin: --stats-json %s is a file the run reads or writes\n",
			cli->stats_json);
		exit(EX_USAGE);
	}
}

static int cmd_keygen(int argc, char **argv)
{
	struct cm_err err = {0};

	if (argc != 3)
		usage_error("usage: cdrmin keygen KEYFILE");
	if (cm_crypto_init(&err) != 0 || cm_key_generate(argv[2], &err) != 0)
		die_err(&err, NULL);
	fprintf(stderr, "cdrmin: wrote a new key to %s (mode 0600)\n", argv[2]);
	return EX_OK;
}

static const char *epoch_unit_name(enum cm_epoch_unit u)
{
	return u == CM_EPOCH_DAY ? "day" : u == CM_EPOCH_MONTH ? "month" : "year";
}

/* Appends the rules' context for `check`: input, numbering, epoch, filters, key. */
static void describe_rules(const struct cm_rules *r, const char *path, struct cm_buf *b)
{
	const struct cm_numbering *np = &r->numbering;
	char line[512];
	size_t i, j;

	if (r->format == CM_FORMAT_CSV)
		snprintf(line, sizeof line, "rules %s: valid\ninput: csv, delimiter '%s', %s\n", path,
			 r->delim == '\t' ? "\\t" : (char[]){r->delim, 0},
			 r->columns.n ? (r->header ? "declared columns, header line checked"
						   : "declared columns, no header line")
				      : "columns from the header line");
	else if (r->format == CM_FORMAT_SIP || r->format == CM_FORMAT_SIP_CALLS)
		snprintf(line, sizeof line, "rules %s: valid\ninput: %s from pcap/pcapng captures or a "
			 "live interface, the fields of a SIP %s\n", path,
			 r->format == CM_FORMAT_SIP ? "SIP messages" : "SIP calls (--calls)",
			 r->format == CM_FORMAT_SIP ? "message" : "call record");
	else
		snprintf(line, sizeof line, "rules %s: valid\ninput: %s lines%s%s%s%s%s, fields named by the rules\n",
			 path, cm_format_name(r->format),
			 r->format == CM_FORMAT_KV ? ", pairs separated by '" : "",
			 r->format == CM_FORMAT_KV ? (char[]){r->delim, 0} : "",
			 r->format == CM_FORMAT_KV ? "'" : "",
			 r->marker ? ", records after the marker " : "",
			 r->marker ? "(lines without it are not records)" : "");
	cm_buf_adds(b, line);
	if (np->cc[0]) {
		snprintf(line, sizeof line,
			 "numbering: country code %s, trunk prefix '%s', international prefix '%s', "
			 "bare digits %s", np->cc, np->trunk, np->intl,
			 np->bare == CM_BARE_LOCAL ? "local" :
			 np->bare == CM_BARE_NATIONAL ? "national" : "international");
		cm_buf_adds(b, line);
		if (np->nsn_min) {
			snprintf(line, sizeof line, ", national numbers of %u to %u digits", np->nsn_min,
				 np->nsn_max);
			cm_buf_adds(b, line);
		}
		cm_buf_addc(b, '\n');
	} else {
		cm_buf_adds(b, "numbering: none (only +E.164 numbers are international)\n");
	}
	if (r->epoch_field) {
		snprintf(line, sizeof line, "epoch: %s of field '%s' (pseudonyms of different %ss do not match)\n",
			 epoch_unit_name(r->epoch_unit), r->epoch_field, epoch_unit_name(r->epoch_unit));
		cm_buf_adds(b, line);
	} else {
		cm_buf_adds(b, "epoch: none (pseudonyms match across all time under one key)\n");
	}
	for (i = 0; i < r->nfilters; i++) {
		cm_buf_adds(b, r->filters[i].skip ? "skip" : "only");
		cm_buf_adds(b, " records whose '");
		cm_buf_adds(b, r->filters[i].field);
		cm_buf_adds(b, "' is ");
		for (j = 0; j < r->filters[i].nvalues; j++) {
			cm_buf_adds(b, j ? " or '" : "'");
			cm_buf_adds(b, r->filters[i].values[j]);
			cm_buf_addc(b, '\'');
		}
		cm_buf_addc(b, '\n');
	}
	cm_buf_adds(b, cm_rules_keyed(r) ? "key: needed (keyed BLAKE2b pseudonyms)\n\n"
					 : "key: not needed (no pseudonyms)\n\n");
}

/*
 * Appends the key schedule for `check`: each key's id, file and the records
 * it serves. Loads the keys (their checks are the run's) and builds an
 * engine, which refuses a date off the rules' epoch boundaries.
 */
static int describe_keys(const struct cm_rules *r, const char *const *kargs, size_t nk,
			 struct cm_buf *b, struct cm_err *err)
{
	enum cm_epoch_unit u = r->epoch_field ? r->epoch_unit : CM_EPOCH_NONE;
	struct cm_key_schedule ks;
	struct cm_pseudo *ps = NULL;
	char line[640], until[16];
	struct cm_date d;
	size_t i;
	int rc = CM_FAIL;

	memset(&ks, 0, sizeof ks);
	for (i = 0; i < nk; i++)
		if (cm_key_schedule_add(&ks, kargs[i], err) != 0)
			goto out;
	ps = cm_pseudo_new_schedule(&ks, u, 0, err);
	if (!ps)
		goto out;
	if (u == CM_EPOCH_NONE)
		snprintf(line, sizeof line, "key schedule: one key for all records (no epoch)\n");
	else
		snprintf(line, sizeof line, "key schedule: a record takes the key in effect on the "
			 "first day of its %s (of field '%s'); tokens begin with the key id\n",
			 epoch_unit_name(u), r->epoch_field);
	cm_buf_adds(b, line);
	for (i = 0; i < ks.n; i++) {
		until[0] = '\0';
		if (i + 1 < ks.n && cm_retention_day("UTC", ks.from[i + 1] - 1, &d) == 0)
			cm_date_format(&d, until);
		if (ks.n == 1)
			snprintf(line, sizeof line, "  %.4s  %.255s  every record\n", ks.key[i].id, ks.path[i]);
		else if (i == 0)
			snprintf(line, sizeof line, "  %.4s  %.255s  records before %.10s (until %.10s)\n",
				 ks.key[i].id, ks.path[i], ks.date[i + 1], until);
		else if (i + 1 < ks.n)
			snprintf(line, sizeof line, "  %.4s  %.255s  from %.10s until %.10s\n", ks.key[i].id,
				 ks.path[i], ks.date[i], until);
		else
			snprintf(line, sizeof line, "  %.4s  %.255s  from %.10s on\n", ks.key[i].id, ks.path[i],
				 ks.date[i]);
		cm_buf_adds(b, line);
	}
	cm_buf_addc(b, '\n');
	rc = 0;
out:
	cm_pseudo_free(ps);
	cm_key_schedule_free(&ks);
	return rc;
}

/*
 * `cdrmin check RULES [FILE] [-k KEY...]`: the rules are compiled (against
 * the declared columns, or FILE's header) before anything is printed, so
 * "valid" means that the run would start; with -k, so do the keys.
 */
static int cmd_check(int argc, char **argv)
{
	struct cm_err err = {0};
	struct cm_rules rules;
	struct cm_schema schema;
	struct cm_plan plan;
	struct cm_buf out;
	const struct cm_schema *use = NULL;
	const char *kargs[CM_KEYS_MAX], *file = NULL;
	size_t i, nk = 0;
	int a, rc = EX_OK;

	if (argc < 3)
		usage_error("usage: cdrmin check RULES [FILE] [-k KEY...]");
	for (a = 3; a < argc; a++) {
		const char *karg = NULL;

		if (strcmp(argv[a], "-k") == 0 || strcmp(argv[a], "--key") == 0) {
			if (a + 1 == argc)
				usage_error("check: -k needs a key file");
			karg = argv[++a];
		} else if (strncmp(argv[a], "--key=", 6) == 0) {
			karg = argv[a] + 6;
		} else if (strncmp(argv[a], "-k", 2) == 0) {
			karg = argv[a] + 2;
		} else if (!file && argv[a][0] != '-') {
			file = argv[a];
		} else {
			usage_error("usage: cdrmin check RULES [FILE] [-k KEY...]");
		}
		if (karg && nk == CM_KEYS_MAX)
			usage_error("-k: at most 8 keys in a key schedule");
		if (karg)
			kargs[nk++] = karg;
	}
	if (cm_rules_load(&rules, argv[2], &err) != 0)
		die_err(&err, argv[2]);
	cm_buf_init(&out);
	cm_schema_init(&schema);
	if (file && !rules.header) {
		fprintf(stderr, "cdrmin: check: FILE is read only for rules with 'header yes'\n");
		rc = EX_USAGE;
		goto out;
	}
	if (file) {
		if (cm_csv_read_header(&rules, file, &schema, &err) != 0)
			goto fail;
		if (rules.columns.n && !cm_schema_equal(&schema, &rules.columns)) {
			cm_err_set(&err, CM_E_DATA, "%s: header line differs from the declared columns", file);
			goto fail;
		}
		use = &schema;
	} else if (rules.columns.n) {
		use = &rules.columns;
	}

	describe_rules(&rules, argv[2], &out);
	if (nk && describe_keys(&rules, kargs, nk, &out, &err) != 0)
		goto fail;
	if (use) {
		if (cm_plan_compile(&plan, &rules, use, &err) != 0)
			goto fail;
		cm_plan_describe(&plan, &out);
		cm_plan_deinit(&plan);
	} else {
		cm_buf_adds(&out, "columns come from the input's header; rules by name:\n");
		for (i = 0; i < rules.nrules; i++) {
			cm_buf_adds(&out, "  ");
			cm_buf_adds(&out, rules.rules[i].field);
			cm_buf_adds(&out, ": ");
			cm_action_describe(&rules.rules[i].act, &out);
			cm_buf_addc(&out, '\n');
		}
		cm_buf_adds(&out, "  every other column: ");
		cm_action_describe(&rules.def, &out);
		cm_buf_addc(&out, '\n');
	}
	if (out.oom) {
		cm_err_set(&err, CM_E_NOMEM, "out of memory");
		goto fail;
	}
	if (fwrite(out.p, 1, out.n, stdout) != out.n || fflush(stdout) != 0) {
		fprintf(stderr, "cdrmin: error: write error on stdout: %s\n", strerror(errno));
		rc = EX_IOERR;
	}
	goto out;
fail:
	if (err.code == CM_E_RULES && err.line)
		fprintf(stderr, "cdrmin: error: %s:%llu:%llu: %s\n", argv[2],
			(unsigned long long)err.line, (unsigned long long)err.col, err.msg);
	else
		fprintf(stderr, "cdrmin: error: %s\n", err.msg);
	rc = cm_err_exit_code(err.code);
out:
	cm_buf_deinit(&out);
	cm_schema_deinit(&schema);
	cm_rules_deinit(&rules);
	return rc;
}

/* --sip-ports 5060,5080: ports whose payloads are read as SIP whatever they hold. */
static void parse_ports(struct cli *cli, const char *arg)
{
	const char *p = arg;

	while (*p) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);

		if (end == p || v == 0 || v > 65535 || (*end && *end != ','))
			usage_error("--sip-ports takes port numbers separated by commas (5060,5080)");
		if (cli->nports == sizeof cli->ports / sizeof cli->ports[0])
			usage_error("--sip-ports: at most 64 ports");
		cli->ports[cli->nports++] = (uint16_t)v;
		p = *end ? end + 1 : end;
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"rules", required_argument, NULL, 'r'},
		{"key", required_argument, NULL, 'k'},
		{"output-file", required_argument, NULL, 'o'},
		{"no-header", no_argument, NULL, 'H'},
		{"output", required_argument, NULL, 'O'},
		{"stats", no_argument, NULL, 'S'},
		{"allow-rejects", no_argument, NULL, 'A'},
		{"cache-size", required_argument, NULL, 'C'},
		{"max-record", required_argument, NULL, 'M'},
		{"flush-ms", required_argument, NULL, 'F'},
		{"pcap", required_argument, NULL, 'P'},
		{"interface", required_argument, NULL, 'i'},
		{"bpf", required_argument, NULL, 'B'},
		{"calls", no_argument, NULL, 'L'},
		{"sip-ports", required_argument, NULL, 'T'},
		{"cryptopan-key", required_argument, NULL, 'K'},
		{"retain", required_argument, NULL, 'R'},
		{"store-key", required_argument, NULL, 'Y'},
		{"fsync-every", required_argument, NULL, 'E'},
		{"fsync-ms", required_argument, NULL, 'W'},
		{"quiet", no_argument, NULL, 'q'},
		{"jobs", required_argument, NULL, 'j'},
		{"chunk", required_argument, NULL, OPT_CHUNK},
		{"stats-json", required_argument, NULL, OPT_STATS_JSON},
		{"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct cli cli;
	struct cm_err err = {0};
	struct cm_rules rules;
	struct cm_pseudo *ps = NULL;
	struct cm_sink sink;
	struct cm_pipeline *pl;
	struct cm_pipeline_opts po;
	const struct cm_stats *st;
	double t0;
	int c, i, rc = EX_OK;

	/* A closed reader is a write error (EPIPE) that we report, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return cmd_check(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "store") == 0)
		return stdout_done(cm_cli_store(argc, argv));

	memset(&cli, 0, sizeof cli);
	cli.cache_size = CM_CACHE_DEFAULT;
	cli.flush_ms = 100;
	cli.pcaps = calloc((size_t)argc, sizeof *cli.pcaps);
	if (!cli.pcaps)
		return 71;
	run_pcaps = cli.pcaps;
	atexit(free_pcaps);
	while ((c = getopt_long(argc, argv, "r:k:o:i:j:qhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': cli.quiet = 1; break;
		case OPT_STATS_JSON:
			if (cli.stats_json)
				usage_error("--stats-json given twice");
			if (!*optarg)
				usage_error("--stats-json needs a file name");
			cli.stats_json = optarg;
			break;
		case OPT_STATS_INTERVAL: {
			size_t secs = parse_size(optarg, "--stats-interval");

			if (!secs || secs > 86400)
				usage_error("--stats-interval must be from 1 to 86400 seconds");
			cli.stats_interval = (unsigned)secs;
			break;
		}
		case 'r':
			if (cli.rules_path)
				usage_error("-r given twice");
			cli.rules_path = optarg;
			break;
		case 'k':
			if (cli.nkey_args == CM_KEYS_MAX)
				usage_error("-k: at most 8 keys in a key schedule");
			if (!cli.key_path)
				cli.key_path = optarg;
			cli.key_args[cli.nkey_args++] = optarg;
			break;
		case 'o':
			if (cli.out_path)
				usage_error("-o given twice");
			cli.out_path = optarg;
			break;
		case 'H': cli.no_header = 1; break;
		case 'O':
			if (strcmp(optarg, "csv") == 0)
				cli.output = CM_OUTPUT_CSV;
			else if (strcmp(optarg, "jsonl") == 0)
				cli.output = CM_OUTPUT_JSONL;
			else
				usage_error("--output must be csv or jsonl");
			break;
		case 'S': cli.stats = 1; break;
		case 'P': cli.pcaps[cli.npcaps++] = optarg; break;
		case 'i':
			if (cli.iface)
				usage_error("-i given twice");
			cli.iface = optarg;
			break;
		case 'B': cli.bpf = optarg; break;
		case 'L': cli.calls = 1; break;
		case 'K': cli.cpan_key = optarg; break;
		case 'T': parse_ports(&cli, optarg); break;
		case 'R': cli.retain_dir = optarg; break;
		case 'Y': cli.store_key_path = optarg; break;
		case 'E':
			cli.fsync_every = parse_size(optarg, "--fsync-every");
			if (!cli.fsync_every)
				usage_error("--fsync-every must be at least 1");
			break;
		case 'W': {
			size_t ms = parse_size(optarg, "--fsync-ms");

			if (!ms || ms > 3600000)
				usage_error("--fsync-ms must be from 1 to 3600000");
			cli.fsync_ms = (unsigned)ms;
			break;
		}
		case 'A': cli.allow_rejects = 1; break;
		case 'C': cli.cache_size = parse_size(optarg, "--cache-size"); break;
		case OPT_CHUNK:
			cli.chunk = parse_size(optarg, "--chunk");
			if (cli.chunk < 1 || cli.chunk > ((size_t)1 << 30))
				usage_error("--chunk must be from 1 to 1073741824 bytes");
			break;
		case 'j': {
			size_t j = parse_size(optarg, "--jobs");

			if (j > 256)
				usage_error("--jobs must be at most 256");
			if (j == 0) {
				long cpus = sysconf(_SC_NPROCESSORS_ONLN);

				j = cpus > 0 ? (size_t)cpus : 1;
			}
			cli.jobs = (unsigned)j;
			break;
		}
		case 'F': {
			size_t ms = parse_size(optarg, "--flush-ms");

			if (ms > 3600000)
				usage_error("--flush-ms must be at most 3600000 (an hour)");
			cli.flush_ms = (unsigned)ms;
			break;
		}
		case 'M':
			cli.max_record = parse_size(optarg, "--max-record");
			if (cli.max_record < 16)
				usage_error("--max-record must be at least 16 bytes");
			break;
		case 'h':
			fputs(usage_text, stdout);
			return stdout_done(EX_OK);
		case 'V':
			printf("cdrmin %s\n", CDRMIN_VERSION);
			return stdout_done(EX_OK);
		default:
			fprintf(stderr, "Try 'cdrmin --help'.\n");
			return EX_USAGE;
		}
	}
	if (!cli.rules_path)
		usage_error("no rules: give -r RULES");
	if (!cli.max_record)
		cli.max_record = 1u << 20;
	if (cli.iface && (cli.npcaps || optind < argc))
		usage_error("-i captures live: give no capture files with it");
	if (cli.bpf && !cli.iface)
		usage_error("--bpf filters a live capture (-i IFACE)");
	if (!cli.retain_dir != !cli.store_key_path)
		usage_error("--retain DIR and --store-key FILE go together");
	if ((cli.fsync_every || cli.fsync_ms) && !cli.retain_dir)
		usage_error("--fsync-every and --fsync-ms are for --retain");
	if (cli.fsync_every && cli.fsync_ms)
		usage_error("choose one of --fsync-every and --fsync-ms (or neither: at segment close)");

	if (cli.stats_interval && !cli.stats_json)
		usage_error("--stats-interval is for --stats-json");

	catch_stop_signals();
	catch_hup(cli.out_path != NULL);

	if (cm_rules_load(&rules, cli.rules_path, &err) != 0)
		die_err(&err, cli.rules_path);
	{
		int sip = rules.format == CM_FORMAT_SIP || rules.format == CM_FORMAT_SIP_CALLS;

		if (!sip && (cli.npcaps || cli.iface || cli.calls || cli.nports)) {
			fprintf(stderr, "cdrmin: error: --pcap, -i, --calls and --sip-ports need rules of "
					"format sip or sip-calls (%s is %s)\n", cli.rules_path,
				cm_format_name(rules.format));
			cm_rules_deinit(&rules);
			return EX_USAGE;
		}
		if (cli.retain_dir && !rules.retain_class) {
			fprintf(stderr, "cdrmin: error: --retain needs the rules to say where records go: "
					"'retain CLASS NUNIT' and 'retain-records CLASS of FIELD' (%s has none)\n",
				cli.rules_path);
			cm_rules_deinit(&rules);
			return EX_USAGE;
		}
		if (cli.jobs > 1 && (rules.format == CM_FORMAT_SIP_CALLS || cli.iface || cli.retain_dir)) {
			cm_rules_deinit(&rules);
			usage_error("-j is for csv, jsonl, kv and kannel input and sip capture files, "
				    "without --retain (sip-calls, live capture and the store are read and "
				    "written by one thread)");
		}
		if (cli.calls && rules.format != CM_FORMAT_SIP_CALLS) {
			fprintf(stderr, "cdrmin: error: --calls needs rules of format sip-calls "
					"(the fields of a call record; see rules/sip-calls.rules)\n");
			cm_rules_deinit(&rules);
			return EX_USAGE;
		}
	}
	if (!cli.key_path) {
		cli.key_path = getenv("CDRMIN_KEY_FILE");
		if (cli.key_path && !*cli.key_path)
			cli.key_path = NULL;
		if (cli.key_path)
			cli.key_args[cli.nkey_args++] = cli.key_path;
	}
	if (cm_rules_keyed(&rules) && !cli.key_path) {
		fprintf(stderr, "cdrmin: error: the rules need a pseudonym key: give -k KEYFILE or set "
				"CDRMIN_KEY_FILE (make one with 'cdrmin keygen KEYFILE')\n");
		cm_rules_deinit(&rules);
		return EX_NOPERM;
	}
	if (cm_crypto_init(&err) != 0)
		die_err(&err, NULL);
	if (cli.key_path) {
		size_t ki;

		atexit(wipe_keys);
		for (ki = 0; ki < cli.nkey_args; ki++)
			if (cm_key_schedule_add(&run_keys, cli.key_args[ki], &err) != 0)
				die_err(&err, NULL);
		run_ps = ps = cm_pseudo_new_schedule(&run_keys, rules.epoch_field ? rules.epoch_unit
										  : CM_EPOCH_NONE,
						     cli.cache_size, &err);
		if (!ps)
			die_err(&err, NULL);
		if (cli.cpan_key) {
			/* protected memory, not the stack: it is a key */
			unsigned char *ck = sodium_malloc(CM_CRYPTOPAN_KEYBYTES);
			const char *why = "out of protected memory";
			int krc = ck ? cm_cryptopan_key_load(cli.cpan_key, ck, &why) : -1;

			if (krc == 0)
				krc = cm_pseudo_set_cryptopan_key(ps, ck);
			if (ck)
				sodium_free(ck); /* wipes */
			if (krc != 0) {
				cm_err_set(&err, CM_E_KEY, "Crypto-PAn key %s: %s", cli.cpan_key, why);
				die_err(&err, NULL);
			}
		}
	} else if (cli.cpan_key) {
		usage_error("--cryptopan-key is for rules with 'ip prefix' (they need -k as well)");
	}
	if (cli.retain_dir) {
		if (cm_key_load(&store_key, cli.store_key_path, &err) != 0)
			die_err(&err, NULL);
		size_t ki;

		for (ki = 0; ki < run_keys.n; ki++)
			if (sodium_memcmp(run_keys.key[ki].k, store_key.k, CM_KEY_BYTES) == 0) {
				cm_err_set(&err, CM_E_KEY, "the store key must not be the pseudonym key "
							   "(%s): a key that opens the originals must "
							   "not also make the pseudonyms",
					   run_keys.path[ki]);
				die_err(&err, NULL);
			}
	}
	check_output(&cli, argv + optind, argc - optind);
	ops.quiet = cli.quiet;
	ops.interval = cli.stats_interval ? cli.stats_interval : 10;
	if (cli.stats_json) {
		check_stats_path(&cli, argv + optind, argc - optind);
		ops.umask = umask(0);
		umask(ops.umask);
		ops.stats_path = cli.stats_json;
		/* a path that cannot be written fails the run before it starts */
		if (stats_json_emit("starting", -1, NULL) != 0)
			exit(EX_IOERR);
	}
	if (cm_sink_open(&sink, cli.out_path, &err) != 0)
		die_err(&err, NULL);
	if (cli.out_path) {
		sink.reopen = &hup_count;
		ops.sink = &sink;
	}

	memset(&po, 0, sizeof po);
	po.rules = &rules;
	po.ps = ps;
	po.header_out = !cli.no_header;
	po.output = cli.output;
	po.max_record = cli.max_record;
	po.flush_ms = cli.flush_ms;
	po.stop = &stop_signal;
	po.on_reject = on_reject;
	po.ud = &cli;
	po.sip_ports = cli.ports;
	po.nsip_ports = cli.nports;
	po.tick = ops_tick;
	if (cli.retain_dir) {
		struct cm_store_opts so;

		memset(&so, 0, sizeof so);
		so.dir = cli.retain_dir;
		so.key = store_key.k;
		so.key_id = store_key.id;
		so.sync = cli.fsync_every ? CM_SYNC_RECORDS : cli.fsync_ms ? CM_SYNC_MS : CM_SYNC_CLOSE;
		so.sync_records = cli.fsync_every;
		so.sync_ms = cli.fsync_ms;
		run_store = cm_store_open(&so, &rules.retention, &err);
		if (!run_store)
			die_err(&err, NULL);
		po.store = run_store;
	}
	pl = cm_pipeline_new(&po, &sink, &err);
	if (!pl)
		die_err(&err, cli.rules_path);

	t0 = now();
	ops.pl = pl;
	ops.ps = ps;
	ops.t0 = ops.next_bar = t0;
	ops.next_stats = t0 + ops.interval;
	ops.total = inputs_total(&cli, argv + optind, argc - optind);
	/* the output on the same terminal would be torn by the line */
	ops.bar = !cli.quiet && isatty(STDERR_FILENO) && (cli.out_path || !isatty(STDOUT_FILENO));
	atexit(bar_clear);
	if (cli.iface) {
		struct cm_capture *cap = cm_capture_open_live(cli.iface, cli.bpf, 100, &err);
		int frc;

		if (!cap)
			goto fail;
		ops.live = cap;
		frc = cm_pipeline_feed_capture(pl, cap, &err);
		bar_clear();
		if (cli.stats || (stop_signal && !cli.quiet)) {
			uint64_t dropped = cm_capture_dropped(cap);

			if (dropped)
				fprintf(stderr, "cdrmin: stats: frames dropped by the kernel=%llu\n",
					(unsigned long long)dropped);
		}
		ops.live = NULL;
		cm_capture_close(cap);
		if (frc != 0)
			goto fail;
	}
	for (i = 0; cli.jobs <= 1 && i < (int)cli.npcaps && !cm_pipeline_stopped(pl) && !stop_signal; i++)
		if (cm_pipeline_feed(pl, cli.pcaps[i], &err) != 0)
			goto fail;
	if (cli.jobs > 1) {
		static const char *const stdin_only[] = {"-"};
		const char *const *paths = optind == argc ? stdin_only : (const char *const *)(argv + optind);
		size_t npaths = optind == argc ? 1 : (size_t)(argc - optind);
		struct cm_par_opts par;
		const char **caps = NULL;
		int prc;

		if (cli.npcaps) {
			/* --pcap files first, then the others, as with one thread */
			caps = calloc(cli.npcaps + (size_t)(argc - optind), sizeof *caps);
			if (!caps) {
				cm_err_set(&err, CM_E_NOMEM, "out of memory");
				goto fail;
			}
			memcpy(caps, cli.pcaps, cli.npcaps * sizeof *caps);
			for (i = optind; i < argc; i++)
				caps[cli.npcaps + (size_t)(i - optind)] = argv[i];
			paths = caps;
			npaths = cli.npcaps + (size_t)(argc - optind);
		}

		memset(&par, 0, sizeof par);
		par.jobs = cli.jobs;
		par.chunk = cli.chunk;
		par.engine = worker_engine;
		par.ud = &cli;
		eng_unit = rules.epoch_field ? rules.epoch_unit : CM_EPOCH_NONE;
		par_jobs = cli.jobs;
		par_live = &par;
		prc = cm_par_run(pl, &po, &sink, paths, npaths, &par, &err);
		par_live = NULL;
		par_chunks = par.chunks;
		par_refiltered = par.refiltered;
		n_wk_engine = 0;
		par_cache = par.cache; /* the workers' engines are gone: their counters stay */
		free(caps);
		if (prc != 0)
			goto fail;
	} else {
		if (optind == argc && !cli.iface && !cli.npcaps) {
			if (cm_pipeline_feed(pl, "-", &err) != 0)
				goto fail;
		}
		for (i = optind; i < argc && !cm_pipeline_stopped(pl) && !stop_signal; i++)
			if (cm_pipeline_feed(pl, argv[i], &err) != 0)
				goto fail;
	}
	bar_clear();
	if (cm_pipeline_finish(pl, &err) != 0 || cm_sink_close(&sink, &err) != 0)
		goto fail;
	if (close_store(&err) != 0)
		goto fail;
	st = cm_pipeline_stats(pl);
	if (stop_signal && !cli.quiet)
		fprintf(stderr, "cdrmin: stopped by %s\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
	if (cli.stats || (stop_signal && !cli.quiet)) {
		print_stats(st, ps, now() - t0);
		print_capture_stats(pl);
	}
	if (st->rejected && !cli.allow_rejects) {
		fprintf(stderr, "cdrmin: %llu record%s rejected (exit 65; --allow-rejects to accept)\n",
			(unsigned long long)st->rejected, st->rejected == 1 ? "" : "s");
		rc = EX_DATAERR;
	}
	if (stats_json_emit(stop_signal ? "stopped" : "done", rc, NULL) != 0 && rc == EX_OK)
		rc = EX_IOERR;
	goto out;
fail:
	bar_clear();
	/* What was complete is flushed; the error decides the exit code. */
	if (err.code != CM_E_IO) {
		struct cm_err e2 = {0};
		(void)cm_pipeline_finish(pl, &e2);
	}
	if (cli.stats)
		print_stats(cm_pipeline_stats(pl), ps, now() - t0);
	if (err.code == CM_E_RULES)
		fprintf(stderr, "cdrmin: error: %s:%llu:%llu: %s\n", cli.rules_path,
			(unsigned long long)err.line, (unsigned long long)err.col, err.msg);
	else
		fprintf(stderr, "cdrmin: error: %s\n", err.msg);
	rc = cm_err_exit_code(err.code);
	if (sink.name) {
		struct cm_err e3 = {0};
		(void)cm_sink_close(&sink, &e3);
	}
	(void)stats_json_emit("failed", rc, err.msg);
out:
	if (run_store) {
		struct cm_err e4 = {0};

		if (close_store(&e4) != 0) {
			fprintf(stderr, "cdrmin: error: %s\n", e4.msg);
			if (rc == EX_OK)
				rc = cm_err_exit_code(e4.code);
		}
	}
	cm_pipeline_free(pl);
	wipe_keys();
	cm_rules_deinit(&rules);
	return rc;
}
