/*
 * \summary: `cdrmin store`: verify, purge, hold and release, find and export
 * with an audit trail (store.h)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cdrmin/key.h"
#include "cdrmin/phone.h"
#include "cdrmin/pseudo.h"
#include "cdrmin/rules.h"
#include "cdrmin/store.h"

#include "cli.h"

#define EX_OK 0
#define EX_USAGE 64
#define EX_DATAERR 65

static const char store_usage[] =
	"usage: cdrmin store verify DIR --store-key FILE\n"
	"       cdrmin store purge DIR [--now YYYY-MM-DD]\n"
	"       cdrmin store hold DIR CLASS [FROM TO]\n"
	"       cdrmin store release DIR CLASS [FROM TO]\n"
	"       cdrmin store find DIR PSEUDONYM --store-key FILE -k KEY... [--from DATE --to DATE]\n"
	"       cdrmin store export DIR --number NUMBER -r RULES --store-key FILE -k KEY...\n"
	"(-k KEY...: the run's keys, -k OLD -k NEW@YYYY-MM-DD after a key rotation)\n";

struct sopts {
	const char *store_key, *key, *rules, *now, *from, *to, *number;
	const char *keys[CM_KEYS_MAX]; /* every -k FILE[@DATE]: the run's key schedule */
	size_t nkeys;
};

static int fail(const struct cm_err *err)
{
	fprintf(stderr, "cdrmin: error: %s\n", err->msg);
	return cm_err_exit_code(err->code);
}

static int usage(const char *msg)
{
	fprintf(stderr, "cdrmin: %s\n%s", msg, store_usage);
	return EX_USAGE;
}

/* The day of secs in UTC (the filter's --from/--to compare UTC days). */
static struct cm_date utc_day(int64_t secs)
{
	struct cm_date d = {1970, 1, 1};

	(void)cm_retention_day("UTC", secs, &d);
	return d;
}

/* ---- purge ---- */

static void purge_done(void *ud, const char *cls, const char *period, const char *idhex,
		       int destroyed, const char *why)
{
	(void)ud;
	if (destroyed)
		printf("destroyed %s %s %s\n", cls, period, idhex);
	else
		printf("kept %s %s %s: %s\n", cls, period, idhex, why ? why : "retention not ended");
}

/* ---- verify ---- */

struct verify_ctx {
	char cls[64], period[64];
	uint64_t records, rejected, total, segments, damaged, unclosed;
};

static void verify_flush(struct verify_ctx *v)
{
	if (v->cls[0])
		printf("%s %s: %llu records, %llu rejected\n", v->cls, v->period,
		       (unsigned long long)v->records, (unsigned long long)v->rejected);
	v->records = v->rejected = 0;
}

static int verify_rec(void *ud, const struct cm_store_seg *seg, const struct cm_store_rec *rec,
		      int status)
{
	struct verify_ctx *v = ud;

	if (strcmp(v->cls, seg->info->cls) != 0 || strcmp(v->period, seg->info->period) != 0) {
		verify_flush(v);
		snprintf(v->cls, sizeof v->cls, "%s", seg->info->cls);
		snprintf(v->period, sizeof v->period, "%s", seg->info->period);
	}
	if (!rec) {
		v->segments++;
		if (status == CM_SEG_UNCLOSED) {
			v->unclosed++;
			printf("segment %s (%s %s): not closed (a run still writing, or a crash)\n",
			       seg->info->idhex, seg->info->cls, seg->info->period);
		}
		return 0;
	}
	v->total++;
	if (rec->rejected)
		v->rejected++;
	else
		v->records++;
	return 0;
}

static void verify_bad(void *ud, const struct cm_store_seg *seg, const struct cm_err *err)
{
	struct verify_ctx *v = ud;

	(void)seg;
	v->damaged++;
	printf("DAMAGED: %s\n", err->msg);
}

/* ---- find and export ---- */

struct find_ctx {
	const char *token;     /* find: the pseudonym's KID.DIGEST */
	size_t tlen;
	struct cm_pseudo *ps;  /* export */
	const char *norm;      /* export: the number normalized */
	size_t nlen;
	int use_from, use_to;
	struct cm_date from, to;
	uint64_t found;
	uint64_t skipped;      /* segments that could not be read */
	char zone[CM_RET_ZONE_MAX + 1];
	struct cm_buf tok;
};

/* 1 when the output holds tok as a whole token (not inside a longer one). */
static int holds_token(struct cm_slice out, const char *tok, size_t n)
{
	const char *p = out.p, *end = out.p + out.n;

	if (!out.p || !n)
		return 0;
	while (p + n <= end && (p = memmem(p, (size_t)(end - p), tok, n)) != NULL) {
		int before = p == out.p || !((p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9'));
		int after = p + n == end || !((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9'));

		if (before && after)
			return 1;
		p++;
	}
	return 0;
}

static int find_rec(void *ud, const struct cm_store_seg *seg, const struct cm_store_rec *rec,
		    int status)
{
	struct find_ctx *f = ud;
	struct cm_date d;
	const char *tok = f->token;
	size_t tlen = f->tlen;

	(void)seg;
	(void)status;
	if (!rec || rec->rejected)
		return 0;
	if (f->use_from || f->use_to) {
		/* the day in the store's legal zone, as verify, purge and holds count days */
		if (cm_retention_day(f->zone, rec->time, &d) != 0)
			d = utc_day(rec->time);
		if ((f->use_from && cm_date_cmp(&d, &f->from) < 0) || (f->use_to && cm_date_cmp(&d, &f->to) > 0))
			return 0;
	}
	if (f->ps) {
		cm_buf_reset(&f->tok);
		if (cm_pseudo_token(f->ps, CM_KIND_PHONE, rec->epoch, f->norm, f->nlen,
				    CM_TOKEN_BITS_DEFAULT, &f->tok) != 0)
			return 1;
		tok = f->tok.p;
		tlen = f->tok.n;
	}
	if (!holds_token(rec->output, tok, tlen))
		return 0;
	f->found++;
	fwrite(rec->original.p, 1, rec->original.n, stdout);
	if (!rec->original.n || rec->original.p[rec->original.n - 1] != '\n')
		fputc('\n', stdout);
	return 0;
}

static void find_bad(void *ud, const struct cm_store_seg *seg, const struct cm_err *err)
{
	struct find_ctx *f = ud;

	(void)seg;
	f->skipped++;
	fprintf(stderr, "cdrmin: error: %s (skipped: the answer is incomplete)\n", err->msg);
}

/*
 * The store was made under a store key whose id DIR/STORE names: another
 * key would read nothing and answer "no records". CM_E_KEY when it differs.
 */
static int check_store_key(const char *dir, const struct cm_key *k, struct cm_err *err)
{
	char path[4096], buf[256], want[64];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof path, "%s/STORE", dir);
	fp = fopen(path, "re");
	if (!fp)
		return cm_err_set(err, CM_E_NOINPUT, "%s: not a store (no STORE file)", dir);
	n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	snprintf(want, sizeof want, "\nkey %s\n", k->id);
	if (!strstr(buf, want))
		return cm_err_set(err, CM_E_KEY, "%s: the store key %s is not this store's key", dir, k->id);
	return 0;
}

/* One audit line: time, operator, query as a pseudonym, count. Never an original. */
static int audit(const char *dir, const char *what, const char *query, const struct find_ctx *f,
		 struct cm_err *err)
{
	char line[512], when[32];
	const char *op = getenv("CDRMIN_OPERATOR");
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	if (!op || !*op)
		op = getenv("USER");
	char opbuf[65];

	if (!op || !*op)
		op = "unknown";
	/* one line, one word: the operator's name as printable ASCII */
	for (i = 0; op[i] && i < sizeof opbuf - 1; i++)
		opbuf[i] = op[i] > ' ' && op[i] < 0x7f ? op[i] : '_';
	opbuf[i] = '\0';
	op = opbuf;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	char from[16] = "", to[16] = "";

	if (f->use_from)
		cm_date_format(&f->from, from);
	if (f->use_to)
		cm_date_format(&f->to, to);
	snprintf(line, sizeof line, "%s operator=%.64s %s query=%.80s%s%s%s%s records=%llu", when, op,
		 what, query, f->use_from ? " from=" : "", from, f->use_to ? " to=" : "", to,
		 (unsigned long long)f->found);
	return cm_store_audit(dir, line, err);
}

static int load_key(struct cm_key *k, const char *path, struct cm_err *err)
{
	if (cm_crypto_init(err) != 0)
		return CM_FAIL;
	return cm_key_load(k, path, err);
}

int cm_cli_store(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"store-key", required_argument, NULL, 'Y'}, {"key", required_argument, NULL, 'k'},
		{"rules", required_argument, NULL, 'r'},     {"now", required_argument, NULL, 'N'},
		{"from", required_argument, NULL, 'F'},      {"to", required_argument, NULL, 'T'},
		{"number", required_argument, NULL, 'U'},    {NULL, 0, NULL, 0},
	};
	struct sopts o;
	struct cm_err err = {0};
	const char *cmd, *dir;
	char **pos;
	int npos = 0, c, rc = EX_OK;

	memset(&o, 0, sizeof o);
	if (argc < 4)
		return usage("store: a command and a store directory are needed");
	cmd = argv[2];
	dir = argv[3];
	pos = calloc((size_t)argc, sizeof *pos);
	if (!pos)
		return 71;
	optind = 4;
	while ((c = getopt_long(argc, argv, "k:r:", longopts, NULL)) != -1) {
		switch (c) {
		case 'Y': o.store_key = optarg; break;
		case 'k':
			if (o.nkeys == CM_KEYS_MAX) {
				free(pos);
				return usage("store: -k: at most 8 keys in a key schedule");
			}
			o.key = optarg;
			o.keys[o.nkeys++] = optarg;
			break;
		case 'r': o.rules = optarg; break;
		case 'N': o.now = optarg; break;
		case 'F': o.from = optarg; break;
		case 'T': o.to = optarg; break;
		case 'U': o.number = optarg; break;
		default:
			free(pos);
			return usage("store: unknown option");
		}
	}
	for (c = optind; c < argc; c++)
		pos[npos++] = argv[c];

	if (strcmp(cmd, "hold") == 0 || strcmp(cmd, "release") == 0) {
		struct cm_date d;

		if (npos != 1 && npos != 3) {
			free(pos);
			return usage("store hold|release DIR CLASS [FROM TO]");
		}
		if (npos == 3 && (cm_date_parse(pos[1], &d) != 0 || cm_date_parse(pos[2], &d) != 0)) {
			free(pos);
			return usage("FROM and TO are dates YYYY-MM-DD");
		}
		rc = cm_store_hold(dir, pos[0], npos == 3 ? pos[1] : NULL, npos == 3 ? pos[2] : NULL,
				   cmd[0] == 'r', &err);
		if (rc == 0)
			printf("%s %s %s%s%s%s\n", cmd[0] == 'r' ? "released" : "held", pos[0],
			       npos == 3 ? "from " : "(all days)", npos == 3 ? pos[1] : "",
			       npos == 3 ? " to " : "", npos == 3 ? pos[2] : "");
		free(pos);
		if (rc != 0)
			return fail(&err);
		return fflush(stdout) == 0 ? EX_OK : 74;
	}
	if (strcmp(cmd, "purge") == 0) {
		struct cm_date today;
		time_t now = time(NULL);

		free(pos);
		if (o.now) {
			if (cm_date_parse(o.now, &today) != 0)
				return usage("--now takes a date YYYY-MM-DD");
		} else {
			struct cm_retention r;

			if (cm_store_policy(dir, &r, &err) != 0)
				return fail(&err);
			if (cm_retention_day(r.zone, (int64_t)now, &today) != 0) {
				cm_err_set(&err, CM_E_DATA, "%s: the policy's zone %s cannot be loaded", dir, r.zone);
				return fail(&err);
			}
		}
		if (cm_store_purge(dir, &today, purge_done, NULL, &err) != 0)
			return fail(&err);
		return fflush(stdout) == 0 ? EX_OK : 74;
	}
	if (strcmp(cmd, "verify") == 0 || strcmp(cmd, "find") == 0 || strcmp(cmd, "export") == 0) {
		struct cm_key skey = {0};
		struct cm_key_schedule pkeys;
		struct cm_rules rules;
		int have_rules = 0;
		struct find_ctx f;
		char query[128] = "";

		memset(&f, 0, sizeof f);
		memset(&pkeys, 0, sizeof pkeys);
		cm_buf_init(&f.tok);
		if (!o.store_key) {
			free(pos);
			return usage("store: --store-key FILE is needed to read the store");
		}
		if (load_key(&skey, o.store_key, &err) != 0 || check_store_key(dir, &skey, &err) != 0) {
			cm_key_free(&skey);
			free(pos);
			return fail(&err);
		}
		if (strcmp(cmd, "verify") == 0) {
			struct verify_ctx v;

			memset(&v, 0, sizeof v);
			free(pos);
			rc = cm_store_walk(dir, skey.k, NULL, verify_rec, verify_bad, &v, &err);
			cm_key_free(&skey);
			if (rc != 0)
				return fail(&err);
			verify_flush(&v);
			printf("store %s: %llu segments, %llu records, %llu damaged, %llu not closed\n", dir,
			       (unsigned long long)v.segments, (unsigned long long)v.total,
			       (unsigned long long)v.damaged, (unsigned long long)v.unclosed);
			return v.damaged ? EX_DATAERR : EX_OK;
		}
		if (!o.key) {
			cm_key_free(&skey);
			free(pos);
			return usage("store find|export: -k KEY (the pseudonym key) is needed");
		}
		{
			size_t ki;

			for (ki = 0; ki < o.nkeys; ki++)
				if (cm_key_schedule_add(&pkeys, o.keys[ki], &err) != 0) {
					rc = fail(&err);
					goto done;
				}
			if (cm_key_schedule_check(&pkeys, &err) != 0) {
				rc = fail(&err);
				goto done;
			}
		}
		if ((o.from && cm_date_parse(o.from, &f.from) != 0) || (o.to && cm_date_parse(o.to, &f.to) != 0)) {
			rc = usage("--from and --to take dates YYYY-MM-DD");
			goto done;
		}
		f.use_from = o.from != NULL;
		f.use_to = o.to != NULL;
		snprintf(f.zone, sizeof f.zone, "UTC");
		if (f.use_from || f.use_to) {
			struct cm_retention pol;

			if (cm_store_policy(dir, &pol, &err) != 0) {
				rc = fail(&err);
				goto done;
			}
			snprintf(f.zone, sizeof f.zone, "%s", pol.zone);
		}
		if (strcmp(cmd, "find") == 0) {
			const char *dot;
			char ids[CM_KEYS_MAX * (CM_KEYID_CHARS + 1) + 1] = "";
			size_t ki;

			if (npos != 1) {
				rc = usage("store find DIR PSEUDONYM");
				goto done;
			}
			/* a token of this key: KID "." DIGEST, after any kept prefix ("+44/") */
			f.token = strrchr(pos[0], '/') ? strrchr(pos[0], '/') + 1 : pos[0];
			dot = strchr(f.token, '.');
			/* the token's key id picks the key: any key of the schedule */
			for (ki = 0; dot && (size_t)(dot - f.token) == CM_KEYID_CHARS && ki < pkeys.n; ki++)
				if (memcmp(f.token, pkeys.key[ki].id, CM_KEYID_CHARS) == 0)
					break;
			if (!dot || (size_t)(dot - f.token) != CM_KEYID_CHARS || ki >= pkeys.n) {
				for (ki = 0; ki < pkeys.n; ki++) {
					strcat(ids, ki ? " " : "");
					strcat(ids, pkeys.key[ki].id);
				}
				cm_err_set(&err, CM_E_USAGE,
					   "the pseudonym is not a token of %s (key id%s %s)",
					   pkeys.n > 1 ? "these keys" : "this key", pkeys.n > 1 ? "s" : "", ids);
				rc = fail(&err);
				goto done;
			}
			f.tlen = strlen(f.token);
			snprintf(query, sizeof query, "%.80s", f.token);
		} else {
			struct cm_buf norm;
			enum cm_phone_class cls;

			if (!o.number || !o.rules || npos) {
				rc = usage("store export DIR --number NUMBER -r RULES");
				goto done;
			}
			if (cm_rules_load(&rules, o.rules, &err) != 0) {
				rc = fail(&err);
				goto done;
			}
			have_rules = 1;
			cm_buf_init(&norm);
			cls = cm_phone_normalize(&rules.numbering, o.number, strlen(o.number), &norm);
			if (cls != CM_PHONE_E164 && cls != CM_PHONE_LOCAL) {
				cm_buf_deinit(&norm);
				cm_err_set(&err, CM_E_USAGE, "--number: not a phone number under the rules' numbering");
				rc = fail(&err);
				goto done;
			}
			f.ps = cm_pseudo_new_schedule(&pkeys, rules.epoch_field ? rules.epoch_unit
									   : CM_EPOCH_NONE,
						      CM_CACHE_DEFAULT, &err);
			if (!f.ps) {
				cm_buf_deinit(&norm);
				rc = fail(&err);
				goto done;
			}
			f.norm = strndup(norm.p, norm.n);
			f.nlen = norm.n;
			cm_buf_deinit(&norm);
			if (!f.norm) {
				rc = 71;
				goto done;
			}
			/* the query as a pseudonym: the number's token outside any epoch */
			cm_buf_reset(&f.tok);
			if (cm_pseudo_token(f.ps, CM_KIND_PHONE, 0, f.norm, f.nlen, CM_TOKEN_BITS_DEFAULT, &f.tok) == 0)
				snprintf(query, sizeof query, "%.*s", (int)(f.tok.n < 80 ? f.tok.n : 80), f.tok.p);
		}
		if (cm_store_walk(dir, skey.k, NULL, find_rec, find_bad, &f, &err) != 0 ||
		    audit(dir, cmd, query, &f, &err) != 0) {
			rc = fail(&err);
			goto done;
		}
		fprintf(stderr, "cdrmin: %s: %llu record%s (audited in %s/audit.log)\n", cmd,
			(unsigned long long)f.found, f.found == 1 ? "" : "s", dir);
		if (f.skipped) {
			fprintf(stderr, "cdrmin: error: %llu segment%s could not be read: the answer is "
					"incomplete (see 'cdrmin store verify')\n",
				(unsigned long long)f.skipped, f.skipped == 1 ? "" : "s");
			rc = EX_DATAERR;
		}
		if (fflush(stdout) != 0)
			rc = 74;
done:
		if (f.norm)
			sodium_memzero((void *)(uintptr_t)f.norm, f.nlen);
		free((void *)(uintptr_t)f.norm);
		cm_pseudo_free(f.ps);
		cm_buf_deinit(&f.tok);
		if (have_rules)
			cm_rules_deinit(&rules);
		cm_key_schedule_free(&pkeys);
		cm_key_free(&skey);
		free(pos);
		return rc;
	}
	free(pos);
	return usage("store: unknown command");
}
