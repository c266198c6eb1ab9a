/* \summary: the retained store: segments by class and day, policy, holds, purge, audit */
/*
 * The layout and the frame format are in include/cdrmin/store.h; the
 * segments themselves (encryption, recovery, shredding) in segment.h.
 * Every file this module writes is 0600 and every directory 0700; files
 * that are replaced (STORE, policy, holds) are written aside, synced, and
 * renamed (or linked) into place, then the directory is synced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cdrmin/fdio.h"
#include "cdrmin/buf.h"
#include "cdrmin/key.h"
#include "cdrmin/store.h"

#define STORE_MAGIC "cdrmin store 1\n"
#define STORE_FILE_MAX 128
#define POLICY_MAX (64u << 10)
#define HOLDS_MAX (1u << 20)
#define OPEN_MAX_DEFAULT 256
#define IDHEX_LEN (2 * CM_SEG_ID_BYTES)
#define LEN_BYTES 4                        /* a segment frame's length field */
#define FINAL_CLEN 17                      /* an empty frame's ciphertext: tag + MAC */
#define SEG_HDR_BYTES 156

/* The frame of a stored record (store.h). */
#define REC_VERSION 1
#define REC_KIND_RECORD 0
#define REC_KIND_REJECTED 1
#define REC_NO_REASON 255
#define REC_FIXED (1 + 1 + 1 + 8 + 8 + 2 + 8 + 4 + 4)
#define REC_SOURCE_MAX 0xffffu

/* One segment open for writing, keyed by (class, period). */
struct open_seg {
	struct cm_seg *seg;
	char cls[CM_SEG_CLASS_MAX + 1];
	char period[CM_SEG_PERIOD_MAX + 1];
	uint64_t used;    /* LRU stamp */
	uint64_t counted; /* of its frames, those already counted in stats.durable */
};

struct cm_store {
	char *dir;
	const unsigned char *key; /* the caller's, in locked memory */
	enum cm_sync_policy sync;
	uint64_t sync_records;
	unsigned sync_ms;
	struct open_seg *open;
	size_t nopen, open_max;
	uint64_t stamp;
	uint64_t unsynced;    /* CM_SYNC_RECORDS: records put since the last sync */
	int dirty;            /* CM_SYNC_MS: a frame is not yet synced ... */
	uint64_t dirty_since; /* ... since this (monotonic ms) */
	struct cm_buf frame;  /* one encoded record: originals, wiped at close */
	struct cm_store_stats st;
};

/* ---------------------------------------------------------------- helpers */

static int pathf(char out[PATH_MAX], const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats a path into out. 0, or -1 when it does not fit. */
static int pathf(char out[PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
	int i;

	for (i = bytes - 1; i >= 0; i--) {
		p[i] = (unsigned char)v;
		v >>= 8;
	}
}

static uint64_t get_be(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < bytes; i++)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A period directory's name: printable, no '/', not hidden, 1 to 32 bytes. */
static int valid_period_name(const char *s)
{
	size_t n = strnlen(s, CM_SEG_PERIOD_MAX + 1), i;

	if (n < 1 || n > CM_SEG_PERIOD_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '/')
			return 0;
	return 1;
}

/* "IDHEX<suffix>" with 32 lowercase hex digits: copies IDHEX to id. */
static int id_name(const char *name, const char *suffix, char id[IDHEX_LEN + 1])
{
	size_t i;

	for (i = 0; i < IDHEX_LEN; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	if (strcmp(name + IDHEX_LEN, suffix) != 0)
		return 0;
	memcpy(id, name, IDHEX_LEN);
	id[IDHEX_LEN] = '\0';
	return 1;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	if (rc != 0 && errno == EINVAL)
		rc = 0; /* a file system that cannot sync directories */
	close(fd);
	return rc;
}

/* fsync of the directory that holds path. */
static int fsync_parent(const char *path)
{
	char p[PATH_MAX];
	char *slash;

	if (pathf(p, "%s", path) != 0)
		return -1;
	slash = strrchr(p, '/');
	if (!slash)
		return fsync_path(".");
	if (slash == p)
		slash[1] = '\0';
	else
		*slash = '\0';
	return fsync_path(p);
}

/* Creates directory path (mode 0700) unless it is there; a new entry is synced. */
static int ensure_dir(const char *path, struct cm_err *err)
{
	struct stat st;

	if (mkdir(path, 0700) == 0) {
		if (fsync_parent(path) != 0)
			return cm_err_set(err, CM_E_IO, "store: %s: cannot sync its parent: %s", path,
					  strerror(errno));
		return 0;
	}
	if (errno != EEXIST)
		return cm_err_set(err, CM_E_IO, "store: cannot create %s: %s", path, strerror(errno));
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return cm_err_set(err, CM_E_IO, "store: %s exists and is not a directory", path);
	return 0;
}

/*
 * Reads the whole of the regular file path (at most max bytes) into a new
 * NUL-terminated *out. CM_E_NOINPUT when it does not exist.
 */
static int read_text(const char *path, size_t max, char **out, size_t *len, struct cm_err *err)
{
	struct stat st;
	char *b = NULL;
	size_t n = 0;
	ssize_t r;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return cm_err_set(err, errno == ENOENT ? CM_E_NOINPUT : CM_E_IO, "store: %s: %s",
				  path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		return cm_err_set(err, CM_E_DATA, "store: %s: not a regular file of at most %zu bytes",
				  path, max);
	}
	b = malloc(max + 1);
	if (!b) {
		close(fd);
		return cm_err_set(err, CM_E_NOMEM, "store: out of memory");
	}
	for (;;) {
		r = read(fd, b + n, max + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cm_err_set(err, CM_E_IO, "store: %s: cannot read: %s", path, strerror(errno));
			free(b);
			close(fd);
			return CM_FAIL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > max) {
			free(b);
			close(fd);
			return cm_err_set(err, CM_E_DATA, "store: %s: longer than %zu bytes", path, max);
		}
	}
	close(fd);
	b[n] = '\0';
	if (strlen(b) != n) {
		free(b);
		return cm_err_set(err, CM_E_DATA, "store: %s: holds a NUL byte", path);
	}
	*out = b;
	*len = n;
	return 0;
}

/*
 * Writes dir/name whole or not at all: dir/name.tmp.PID (0600), fsync,
 * then rename over name (replace) or link to name (!replace: an existing
 * name is kept, and 1 returned), then fsync of dir. 0, 1 or CM_FAIL.
 */
static int write_atomic(const char *dir, const char *name, const char *data, size_t n, int replace,
			struct cm_err *err)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd, rc = CM_FAIL;

	if (pathf(tmp, "%s/%s.tmp.%ld", dir, name, (long)getpid()) != 0 ||
	    pathf(dst, "%s/%s", dir, name) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
	unlink(tmp); /* a leftover of a crashed run with the same pid */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return cm_err_set(err, CM_E_IO, "store: cannot create %s: %s", tmp, strerror(errno));
	if (fchmod(fd, 0600) != 0 || cm_write_full(fd, (const unsigned char *)data, n) != 0 || fsync(fd) != 0) {
		cm_err_set(err, CM_E_IO, "store: cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) != 0) {
		cm_err_set(err, CM_E_IO, "store: cannot write %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (replace) {
		if (rename(tmp, dst) != 0) {
			cm_err_set(err, CM_E_IO, "store: cannot rename %s to %s: %s", tmp, dst,
				   strerror(errno));
			goto out;
		}
	} else if (link(tmp, dst) != 0) {
		if (errno != EEXIST) {
			cm_err_set(err, CM_E_IO, "store: cannot create %s: %s", dst, strerror(errno));
			goto out;
		}
		rc = 1;
	}
	if (fsync_path(dir) != 0) {
		cm_err_set(err, CM_E_IO, "store: %s: cannot sync the directory: %s", dir,
			   strerror(errno));
		rc = CM_FAIL;
		goto out;
	}
	if (rc != 1)
		rc = 0;
out:
	unlink(tmp);
	return rc;
}

/* A sorted list of names. */
struct names {
	char **v;
	size_t n, cap;
};

static void names_free(struct names *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int names_add(struct names *l, const char *s)
{
	char **v;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;

		v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return -1;
	l->n++;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

enum list_kind { L_CLASSES, L_PERIODS, L_SEGS, L_IDS };

/*
 * The entries of path that are class directories, period directories,
 * segments (IDHEX of IDHEX.seg) or any segment files (IDHEX of .seg or
 * .key, once each), sorted. A missing path is an empty list.
 */
static int list_dir(const char *path, enum list_kind kind, struct names *out, struct cm_err *err)
{
	DIR *d;
	struct dirent *e;
	struct stat st;
	char id[IDHEX_LEN + 1];
	size_t i, j;
	int ok;

	memset(out, 0, sizeof *out);
	d = opendir(path);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return cm_err_set(err, CM_E_IO, "store: %s: %s", path, strerror(errno));
	}
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (!e) {
			if (errno) {
				cm_err_set(err, CM_E_IO, "store: %s: %s", path, strerror(errno));
				goto fail;
			}
			break;
		}
		ok = 0;
		switch (kind) {
		case L_CLASSES:
		case L_PERIODS:
			ok = kind == L_CLASSES ? cm_seg_class_ok(e->d_name) : valid_period_name(e->d_name);
			if (ok && (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
				   !S_ISDIR(st.st_mode)))
				ok = 0;
			if (ok && names_add(out, e->d_name) != 0)
				goto nomem;
			continue;
		case L_SEGS:
			ok = id_name(e->d_name, ".seg", id);
			break;
		case L_IDS:
			ok = id_name(e->d_name, ".seg", id) || id_name(e->d_name, ".key", id);
			break;
		}
		if (ok && names_add(out, id) != 0)
			goto nomem;
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof *out->v, cmp_str);
	/* IDHEX.seg and IDHEX.key give the same id twice. */
	for (i = j = 0; i < out->n; i++) {
		if (j && strcmp(out->v[j - 1], out->v[i]) == 0) {
			free(out->v[i]);
			continue;
		}
		out->v[j++] = out->v[i];
	}
	out->n = j;
	return 0;
nomem:
	cm_err_set(err, CM_E_NOMEM, "store: out of memory");
fail:
	closedir(d);
	names_free(out);
	return CM_FAIL;
}

/* A store directory has a STORE file (or a writer can make one). */
static int is_store(const char *dir, struct cm_err *err)
{
	char p[PATH_MAX];
	struct stat st;

	if (pathf(p, "%s/STORE", dir) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
	if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
		return cm_err_set(err, CM_E_NOINPUT, "store %s: not a cdrmin store (no STORE file)",
				  dir);
	return 0;
}

/* ---------------------------------------------------------------- frames */

void cm_store_rec_encode(const struct cm_store_rec *r, struct cm_buf *out)
{
	unsigned char h[8];
	size_t sn = r->source.n > REC_SOURCE_MAX ? REC_SOURCE_MAX : r->source.n;

	cm_buf_reset(out);
	h[0] = REC_VERSION;
	h[1] = r->rejected ? REC_KIND_REJECTED : REC_KIND_RECORD;
	h[2] = r->rejected ? (unsigned char)r->reason : REC_NO_REASON;
	cm_buf_add(out, h, 3);
	put_be(h, r->epoch, 8);
	cm_buf_add(out, h, 8);
	put_be(h, (uint64_t)r->time, 8);
	cm_buf_add(out, h, 8);
	put_be(h, sn, 2);
	cm_buf_add(out, h, 2);
	cm_buf_add(out, r->source.p, sn);
	put_be(h, r->line, 8);
	cm_buf_add(out, h, 8);
	put_be(h, (uint32_t)r->original.n, 4);
	cm_buf_add(out, h, 4);
	cm_buf_add(out, r->original.p, (uint32_t)r->original.n);
	put_be(h, r->rejected ? 0 : (uint32_t)r->output.n, 4);
	cm_buf_add(out, h, 4);
	if (!r->rejected)
		cm_buf_add(out, r->output.p, (uint32_t)r->output.n);
}

int cm_store_rec_decode(const char *p, size_t n, struct cm_store_rec *r)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t at = 0, len;

	memset(r, 0, sizeof *r);
	if (n < REC_FIXED || u[0] != REC_VERSION || u[1] > REC_KIND_REJECTED)
		return -1;
	r->rejected = u[1] == REC_KIND_REJECTED;
	if (r->rejected ? u[2] >= CM_REJ__COUNT : u[2] != REC_NO_REASON)
		return -1;
	r->reason = r->rejected ? (enum cm_reject)u[2] : (enum cm_reject)0;
	r->epoch = get_be(u + 3, 8);
	r->time = (int64_t)get_be(u + 11, 8);
	at = 19;
	/* Each length is checked against what is left, leaving room for the fixed fields after it. */
	len = (size_t)get_be(u + at, 2);
	at += 2;
	if (len > n - at || n - at - len < 8 + 4 + 4)
		return -1;
	r->source.p = p + at;
	r->source.n = len;
	at += len;
	r->line = get_be(u + at, 8);
	at += 8;
	len = (size_t)get_be(u + at, 4);
	at += 4;
	if (len > n - at || n - at - len < 4)
		return -1;
	r->original.p = p + at;
	r->original.n = len;
	at += len;
	len = (size_t)get_be(u + at, 4);
	at += 4;
	if (len != n - at || (r->rejected && len != 0))
		return -1;
	r->output.p = p + at;
	r->output.n = len;
	return 0;
}

/* ---------------------------------------------------------------- STORE, policy */

static int valid_key_id(const char *id)
{
	size_t i;

	if (!id || strlen(id) != CM_KEYID_CHARS)
		return 0;
	for (i = 0; i < CM_KEYID_CHARS; i++)
		if (!((id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= 'a' && id[i] <= 'z') ||
		      (id[i] >= '0' && id[i] <= '9')))
			return 0;
	return 1;
}

/* DIR holds nothing but leftovers of an interrupted creation of STORE. */
static int dir_is_new(const char *dir, struct cm_err *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return cm_err_set(err, CM_E_IO, "store %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    strncmp(e->d_name, "STORE.tmp.", 10) != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/*
 * Checks DIR/STORE against the key id, creating it in a new, empty
 * directory. A directory with other contents and no STORE is not taken.
 */
static int check_store_file(const char *dir, const char *kid, struct cm_err *err)
{
	char p[PATH_MAX], want[STORE_FILE_MAX], *got = NULL;
	struct cm_err e;
	size_t n = 0, wn;
	int rc, tries;

	if (pathf(p, "%s/STORE", dir) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
	wn = (size_t)snprintf(want, sizeof want, "%skey %s\n", STORE_MAGIC, kid);
	for (tries = 0;; tries++) {
		memset(&e, 0, sizeof e);
		rc = read_text(p, STORE_FILE_MAX, &got, &n, &e);
		if (rc == 0)
			break;
		if (e.code != CM_E_NOINPUT || tries == 2) {
			if (err)
				*err = e;
			return CM_FAIL;
		}
		rc = dir_is_new(dir, err);
		if (rc < 0)
			return CM_FAIL;
		if (!rc)
			return cm_err_set(err, CM_E_USAGE,
					  "store %s: the directory is not empty and has no STORE "
					  "file: not a cdrmin store", dir);
		/* link(): when two first runs race, one STORE wins and the other is checked. */
		if (write_atomic(dir, "STORE", want, wn, 0, err) == CM_FAIL)
			return CM_FAIL;
	}
	rc = 0;
	if (strncmp(got, STORE_MAGIC, sizeof STORE_MAGIC - 1) != 0) {
		rc = cm_err_set(err, CM_E_DATA, "store %s: STORE: not a cdrmin store of version 1",
				dir);
	} else if (n != wn || strncmp(got + sizeof STORE_MAGIC - 1, "key ", 4) != 0 ||
		   got[n - 1] != '\n') {
		rc = cm_err_set(err, CM_E_DATA, "store %s: STORE: malformed", dir);
	} else if (memcmp(got, want, wn) != 0) {
		got[n - 1] = '\0';
		rc = cm_err_set(err, CM_E_KEY,
				"store %s: made under the store key %.*s, not under %s (a wrong key)",
				dir, CM_KEYID_CHARS, valid_key_id(got + sizeof STORE_MAGIC + 3)
							      ? got + sizeof STORE_MAGIC + 3
							      : "????",
				kid);
	}
	free(got);
	return rc;
}

static void policy_text(const struct cm_retention *r, struct cm_buf *b)
{
	size_t i;
	static const char unit[] = { 'd', 'm', 'y' };

	cm_buf_adds(b, "# cdrmin store policy: the retention of the last writing run\n");
	cm_buf_adds(b, "zone ");
	cm_buf_adds(b, r && r->zone[0] ? r->zone : "UTC");
	cm_buf_addc(b, '\n');
	for (i = 0; r && i < r->ncls; i++) {
		cm_buf_adds(b, "retain ");
		cm_buf_adds(b, r->cls[i].name);
		cm_buf_addc(b, ' ');
		cm_buf_addu(b, r->cls[i].n);
		cm_buf_addc(b, unit[r->cls[i].unit]);
		if (r->cls[i].year_end)
			cm_buf_adds(b, " year-end");
		cm_buf_addc(b, '\n');
	}
}

/* Splits line (modified) into at most max blank-separated words. Returns the count, or max + 1. */
static size_t split(char *line, char **w, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return n;
		if (n == max)
			return max + 1;
		w[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = '\0';
	}
}

int cm_store_policy(const char *dir, struct cm_retention *r, struct cm_err *err)
{
	char p[PATH_MAX], *text = NULL, *line, *next, *w[6];
	const char *why;
	size_t len, n, bad, no = 0;
	int rc = CM_FAIL;

	memset(r, 0, sizeof *r);
	memcpy(r->zone, "UTC", 4);
	if (pathf(p, "%s/policy", dir) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
	if (read_text(p, POLICY_MAX, &text, &len, err) != 0)
		return CM_FAIL;
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		no++;
		if (line[0] == '#')
			continue;
		n = split(line, w, 5);
		if (n == 0)
			continue;
		if (strcmp(w[0], "zone") == 0 && n == 2) {
			if (strlen(w[1]) > CM_RET_ZONE_MAX || cm_retention_zone_ok(w[1]) != 0) {
				cm_err_at(err, CM_E_DATA, no, 0, "%s:%zu: unknown time zone", p, no);
				goto out;
			}
			memcpy(r->zone, w[1], strlen(w[1]) + 1);
		} else if (strcmp(w[0], "retain") == 0 && n >= 3 && n <= 4) {
			if (cm_retention_parse_retain(r, (const char *const *)(w + 1), n - 1, &bad,
						      &why) != 0) {
				cm_err_at(err, CM_E_DATA, no, 0, "%s:%zu: %s", p, no, why);
				goto out;
			}
		} else {
			cm_err_at(err, CM_E_DATA, no, 0,
				  "%s:%zu: expected 'zone ZONE' or 'retain CLASS NUNIT [year-end]'", p,
				  no);
			goto out;
		}
	}
	rc = 0;
out:
	free(text);
	return rc;
}

/* ---------------------------------------------------------------- recovery at open */

/* The file's last bytes have the shape of a FINAL frame (see store_recover). */
static int tail_looks_final(const char *path)
{
	unsigned char lb[LEN_BYTES];
	struct stat st;
	int fd, ok = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size >= SEG_HDR_BYTES + LEN_BYTES + FINAL_CLEN &&
	    cm_pread_full(fd, lb, LEN_BYTES, (uint64_t)st.st_size - (LEN_BYTES + FINAL_CLEN)) == LEN_BYTES &&
	    get_be(lb, LEN_BYTES) == FINAL_CLEN)
		ok = 1;
	close(fd);
	return ok;
}

/* A writer (of this or another process) holds the segment file: its flock. */
static int seg_is_live(const char *path)
{
	int fd, live = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK)
		live = 1;
	close(fd); /* releases a lock taken */
	return live;
}

/*
 * Recovers one segment dir/id unless it is closed. Returns 1 when it was
 * recovered, 0 when there was nothing to do, or CM_FAIL.
 */
static int recover_one(struct cm_store *s, const char *dir, const char *id, const char *torn,
		       struct cm_err *err)
{
	char p[PATH_MAX];
	struct cm_seg *seg;
	struct cm_buf scratch;
	struct cm_err e = { 0 };
	struct stat st;
	int rc;

	if (pathf(p, "%s/%s.closed", dir, id) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
	if (lstat(p, &st) == 0)
		return 0; /* recovered before */
	if (pathf(p, "%s/%s.seg", dir, id) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
	/*
	 * A segment whose tail is shaped like a FINAL frame is taken as closed
	 * without decrypting it all (the store never writes an empty record, so
	 * only FINAL has that length); reading it (cm_store_walk) proves it.
	 */
	if (tail_looks_final(p) || seg_is_live(p))
		return 0;
	/*
	 * Killed while the segment was created, before its header was whole:
	 * no frame can follow an incomplete header, so nothing of it is data.
	 * The pieces go (key first) so the store stays writable.
	 */
	if (lstat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (off_t)CM_SEG_HEADER_BYTES) {
		if (cm_seg_destroy(dir, id, &e) != 0)
			return cm_err_set(err, e.code, "store: %s: an unfinished segment cannot be removed: %s",
					  dir, e.msg);
		return 1;
	}
	seg = cm_seg_open_read(dir, id, s->key, &e);
	if (!seg) {
		/* The key file is gone: a segment being destroyed when a purge stopped. */
		if (e.code == CM_E_NOINPUT)
			return 0;
		return cm_err_set(err, e.code, "store: %s: cannot be recovered: %s", dir, e.msg);
	}
	cm_buf_init(&scratch);
	while ((rc = cm_seg_next(seg, &scratch, &e)) == CM_SEG_FRAME)
		;
	cm_buf_deinit(&scratch); /* wipes */
	if (rc == CM_SEG_END) {
		cm_seg_free(seg);
		return 0;
	}
	if (rc == CM_FAIL && e.code != CM_E_DATA) {
		cm_seg_free(seg);
		if (err)
			*err = e;
		return CM_FAIL;
	}
	rc = cm_seg_recover(seg, torn, &e);
	cm_seg_free(seg);
	if (rc != 0) {
		cm_err_set(err, e.code == CM_E_USAGE ? CM_E_DATA : e.code,
			   "store %s: %s: damaged, cannot be recovered: %s", s->dir, dir, e.msg);
		return CM_FAIL;
	}
	return 1;
}

static int store_recover(struct cm_store *s, struct cm_err *err)
{
	char seg[PATH_MAX], torn[PATH_MAX], cdir[PATH_MAX], pdir[PATH_MAX];
	struct names cls = { 0 }, per = { 0 }, ids = { 0 };
	size_t i, j, k;
	int rc = CM_FAIL, r;

	if (pathf(seg, "%s/seg", s->dir) != 0 || pathf(torn, "%s/torn", s->dir) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", s->dir);
	if (list_dir(seg, L_CLASSES, &cls, err) != 0)
		return CM_FAIL;
	for (i = 0; i < cls.n; i++) {
		if (pathf(cdir, "%s/%s", seg, cls.v[i]) != 0 ||
		    list_dir(cdir, L_PERIODS, &per, err) != 0)
			goto out;
		for (j = 0; j < per.n; j++) {
			if (pathf(pdir, "%s/%s", cdir, per.v[j]) != 0 ||
			    list_dir(pdir, L_SEGS, &ids, err) != 0)
				goto out;
			for (k = 0; k < ids.n; k++) {
				r = recover_one(s, pdir, ids.v[k], torn, err);
				if (r < 0)
					goto out;
				s->st.recovered += (uint64_t)r;
			}
			names_free(&ids);
		}
		names_free(&per);
	}
	rc = 0;
out:
	names_free(&ids);
	names_free(&per);
	names_free(&cls);
	return rc;
}

/* ---------------------------------------------------------------- writing */

struct cm_store *cm_store_open(const struct cm_store_opts *o, const struct cm_retention *ret,
			       struct cm_err *err)
{
	struct cm_store *s = NULL;
	char p[PATH_MAX];
	struct cm_buf pol;

	cm_buf_init(&pol);
	if (!o || !o->dir || !o->dir[0] || !o->key) {
		cm_err_set(err, CM_E_USAGE, "store: a directory and a store key are required");
		return NULL;
	}
	if (!valid_key_id(o->key_id)) {
		cm_err_set(err, CM_E_USAGE, "store: the key id must be %d letters or digits",
			   CM_KEYID_CHARS);
		return NULL;
	}
	if (o->sync > CM_SYNC_MS) {
		cm_err_set(err, CM_E_USAGE, "store: unknown sync policy");
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (!s || !(s->dir = strdup(o->dir))) {
		cm_err_set(err, CM_E_NOMEM, "store: out of memory");
		goto fail;
	}
	s->key = o->key;
	s->sync = o->sync;
	s->sync_records = o->sync_records ? o->sync_records : 1;
	s->sync_ms = o->sync_ms;
	s->open_max = o->open_max ? o->open_max : OPEN_MAX_DEFAULT;
	s->open = calloc(s->open_max, sizeof *s->open);
	if (!s->open) {
		cm_err_set(err, CM_E_NOMEM, "store: out of memory");
		goto fail;
	}
	cm_buf_init(&s->frame);

	if (ensure_dir(s->dir, err) != 0 || check_store_file(s->dir, o->key_id, err) != 0)
		goto fail;
	if (pathf(p, "%s/seg", s->dir) != 0 || ensure_dir(p, err) != 0 ||
	    pathf(p, "%s/torn", s->dir) != 0 || ensure_dir(p, err) != 0)
		goto fail;
	if (store_recover(s, err) != 0)
		goto fail;
	policy_text(ret, &pol);
	if (pol.oom) {
		cm_err_set(err, CM_E_NOMEM, "store: out of memory");
		goto fail;
	}
	if (write_atomic(s->dir, "policy", pol.p, pol.n, 1, err) != 0)
		goto fail;
	cm_buf_deinit(&pol);
	return s;
fail:
	cm_buf_deinit(&pol);
	if (s) {
		free(s->open);
		free(s->dir);
		cm_buf_deinit(&s->frame);
		free(s);
	}
	return NULL;
}

/* Removes entry i from the table (its segment already freed). */
static void drop(struct cm_store *s, size_t i)
{
	s->open[i] = s->open[--s->nopen];
	memset(&s->open[s->nopen], 0, sizeof s->open[s->nopen]);
}

/* Counts the frames of entry i made durable since last counted. */
static void count_durable(struct cm_store *s, struct open_seg *e)
{
	uint64_t d = cm_seg_durable(e->seg);

	s->st.durable += d - e->counted;
	e->counted = d;
}

/* Closes entry i (FINAL frame, fsync) and drops it. */
static int close_entry(struct cm_store *s, size_t i, struct cm_err *err)
{
	struct open_seg *e = &s->open[i];
	uint64_t frames = cm_seg_frames(e->seg);
	int rc;

	rc = cm_seg_close(e->seg, err);
	if (rc == 0)
		s->st.durable += frames - e->counted;
	drop(s, i);
	return rc;
}

/*
 * Syncs every open segment with frames not yet durable. A segment whose
 * sync fails is broken (segment.h): it is abandoned, to be recovered at
 * the next open, and the next record of its class and day starts a new one.
 */
static int sync_all(struct cm_store *s, struct cm_err *err)
{
	struct open_seg *e;
	int rc = 0;
	size_t i = 0;

	while (i < s->nopen) {
		e = &s->open[i];
		if (cm_seg_frames(e->seg) > cm_seg_durable(e->seg)) {
			if (cm_seg_sync(e->seg, rc ? NULL : err) != 0) {
				rc = CM_FAIL;
				cm_seg_abandon(e->seg);
				drop(s, i);
				continue;
			}
			count_durable(s, e);
		}
		i++;
	}
	s->unsynced = 0;
	s->dirty = 0;
	return rc;
}

/* The open segment of (cls, period), creating it (and evicting the least recently used). */
static struct open_seg *segment_for(struct cm_store *s, const char *cls, const char *period,
				    struct cm_err *err)
{
	char p[PATH_MAX];
	struct open_seg *e;
	size_t i, lru = 0;

	for (i = 0; i < s->nopen; i++) {
		e = &s->open[i];
		if (strcmp(e->cls, cls) == 0 && strcmp(e->period, period) == 0) {
			e->used = ++s->stamp;
			return e;
		}
	}
	if (s->nopen == s->open_max) {
		for (i = 1; i < s->nopen; i++)
			if (s->open[i].used < s->open[lru].used)
				lru = i;
		if (close_entry(s, lru, err) != 0)
			return NULL;
	}
	if (pathf(p, "%s/seg/%s", s->dir, cls) != 0) {
		cm_err_set(err, CM_E_USAGE, "store: %s: path too long", s->dir);
		return NULL;
	}
	if (ensure_dir(p, err) != 0)
		return NULL;
	if (pathf(p, "%s/seg/%s/%s", s->dir, cls, period) != 0) {
		cm_err_set(err, CM_E_USAGE, "store: %s: path too long", s->dir);
		return NULL;
	}
	if (ensure_dir(p, err) != 0)
		return NULL;
	e = &s->open[s->nopen];
	memset(e, 0, sizeof *e);
	e->seg = cm_seg_create(p, cls, period, s->key, err);
	if (!e->seg)
		return NULL;
	memcpy(e->cls, cls, strlen(cls) + 1);
	memcpy(e->period, period, strlen(period) + 1);
	e->used = ++s->stamp;
	s->nopen++;
	s->st.segments++;
	return e;
}

static int slice_ok(struct cm_slice x) { return x.n == 0 || x.p != NULL; }

int cm_store_put(struct cm_store *s, const char *cls, const char *period,
		 const struct cm_store_rec *r, struct cm_err *err)
{
	struct open_seg *e;
	struct cm_date d;
	size_t i;
	int quar;

	if (!s || !r || !cls || !period)
		return cm_err_set(err, CM_E_USAGE, "store: put: missing argument");
	if (!cm_seg_class_ok(cls))
		return cm_err_set(err, CM_E_USAGE, "store: class names are 1 to %d of [a-z0-9_-]",
				  CM_SEG_CLASS_MAX);
	if (cm_date_parse(period, &d) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: a period is a day YYYY-MM-DD");
	quar = strcmp(cls, CM_STORE_QUARANTINE) == 0;
	if (!!r->rejected != quar)
		return cm_err_set(err, CM_E_USAGE, "store: rejected records go to the class %s, and "
						   "only they", CM_STORE_QUARANTINE);
	if (r->rejected && (unsigned)r->reason >= CM_REJ__COUNT)
		return cm_err_set(err, CM_E_USAGE, "store: unknown reject reason");
	if (!slice_ok(r->source) || !slice_ok(r->original) || !slice_ok(r->output))
		return cm_err_set(err, CM_E_USAGE, "store: a slice without bytes");
	if (r->source.n > REC_SOURCE_MAX)
		return cm_err_set(err, CM_E_USAGE, "store: a source name longer than %u bytes",
				  REC_SOURCE_MAX);
	if (r->original.n > CM_SEG_FRAME_MAX ||
	    r->output.n > CM_SEG_FRAME_MAX - r->original.n ||
	    REC_FIXED + r->source.n + r->original.n + r->output.n > CM_SEG_FRAME_MAX)
		return cm_err_set(err, CM_E_USAGE,
				  "store: %s line %llu: the record is too large to store (at most "
				  "%u bytes with its output)", cls, (unsigned long long)r->line,
				  CM_SEG_FRAME_MAX - REC_FIXED);

	e = segment_for(s, cls, period, err);
	if (!e)
		return CM_FAIL;
	cm_store_rec_encode(r, &s->frame);
	if (s->frame.oom) {
		cm_buf_deinit(&s->frame); /* clears oom for the next record */
		return cm_err_set(err, CM_E_NOMEM, "store: out of memory");
	}
	if (cm_seg_append(e->seg, s->frame.p, s->frame.n, err) != 0) {
		if (err && err->code != CM_E_NOMEM) {
			/* Broken (segment.h): left unclosed for the next open to recover. */
			i = (size_t)(e - s->open);
			cm_seg_abandon(e->seg);
			drop(s, i);
		}
		sodium_memzero(s->frame.p, s->frame.n);
		return CM_FAIL;
	}
	sodium_memzero(s->frame.p, s->frame.n); /* an original: not left in the heap longer than needed */
	if (r->rejected)
		s->st.rejected++;
	else
		s->st.records++;

	switch (s->sync) {
	case CM_SYNC_CLOSE:
		break;
	case CM_SYNC_RECORDS:
		if (++s->unsynced >= s->sync_records)
			return sync_all(s, err);
		break;
	case CM_SYNC_MS:
		if (!s->dirty) {
			s->dirty = 1;
			s->dirty_since = now_ms();
		}
		return cm_store_tick(s, err);
	}
	return 0;
}

int cm_store_tick(struct cm_store *s, struct cm_err *err)
{
	if (!s || s->sync != CM_SYNC_MS || !s->dirty)
		return 0;
	if (now_ms() - s->dirty_since < s->sync_ms)
		return 0;
	return sync_all(s, err);
}

int cm_store_close(struct cm_store *s, struct cm_err *err)
{
	int rc = 0;

	if (!s)
		return 0;
	while (s->nopen)
		if (close_entry(s, s->nopen - 1, rc ? NULL : err) != 0)
			rc = CM_FAIL;
	cm_buf_deinit(&s->frame);
	free(s->open);
	free(s->dir);
	free(s);
	return rc;
}

const struct cm_store_stats *cm_store_stats(const struct cm_store *s) { return &s->st; }

/* ---------------------------------------------------------------- reading */

struct walk_ent {
	char id[IDHEX_LEN + 1];
	int64_t created;
	struct timespec mtime;
};

static int cmp_walk(const void *a, const void *b)
{
	const struct walk_ent *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	/* Same second: the one written last closed last (a run's evicted then reopened day). */
	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Reports a segment that cannot be read (not even its header) to bad. */
static void report_bad(cm_store_bad_fn bad, void *ud, const char *pdir, const char *cls,
		       const char *period, const char *id, const struct cm_err *e)
{
	struct cm_seg_info info;
	struct cm_store_seg sg;

	if (!bad)
		return;
	memset(&info, 0, sizeof info);
	memcpy(info.idhex, id, IDHEX_LEN + 1);
	snprintf(info.cls, sizeof info.cls, "%s", cls);
	snprintf(info.period, sizeof info.period, "%s", period);
	sg.info = &info;
	sg.path = pdir;
	bad(ud, &sg, e);
}

/* Reads every segment of one period directory, in creation order. */
static int walk_period(const char *pdir, const char *cls, const char *period,
		       const unsigned char *key, cm_store_rec_fn fn, cm_store_bad_fn bad, void *ud,
		       struct cm_err *err)
{
	struct names ids = { 0 };
	struct walk_ent *v = NULL;
	struct cm_seg *seg;
	struct cm_store_seg sg;
	struct cm_store_rec rec;
	struct cm_buf b;
	struct cm_err e;
	struct stat st;
	char p[PATH_MAX];
	size_t i, nv = 0;
	int rc = CM_FAIL, r;

	cm_buf_init(&b);
	if (list_dir(pdir, L_SEGS, &ids, err) != 0)
		return CM_FAIL;
	v = calloc(ids.n ? ids.n : 1, sizeof *v);
	if (!v) {
		cm_err_set(err, CM_E_NOMEM, "store: out of memory");
		goto out;
	}
	/* The creation time is in the authenticated header: open each once to learn it. */
	for (i = 0; i < ids.n; i++) {
		memset(&e, 0, sizeof e);
		seg = cm_seg_open_read(pdir, ids.v[i], key, &e);
		if (!seg) {
			if (e.code == CM_E_NOMEM || e.code == CM_E_IO) {
				if (err)
					*err = e;
				goto out;
			}
			report_bad(bad, ud, pdir, cls, period, ids.v[i], &e);
			continue;
		}
		memcpy(v[nv].id, ids.v[i], IDHEX_LEN + 1);
		v[nv].created = cm_seg_info(seg)->created;
		cm_seg_free(seg);
		if (pathf(p, "%s/%s.seg", pdir, ids.v[i]) == 0 && stat(p, &st) == 0)
			v[nv].mtime = st.st_mtim;
		nv++;
	}
	if (nv)
		qsort(v, nv, sizeof *v, cmp_walk);
	for (i = 0; i < nv; i++) {
		memset(&e, 0, sizeof e);
		seg = cm_seg_open_read(pdir, v[i].id, key, &e);
		if (!seg) {
			if (e.code == CM_E_NOMEM || e.code == CM_E_IO) {
				if (err)
					*err = e;
				goto out;
			}
			report_bad(bad, ud, pdir, cls, period, v[i].id, &e);
			continue;
		}
		sg.info = cm_seg_info(seg);
		sg.path = pdir;
		/*
		 * The header's class and day are authenticated; the directory's are
		 * not: a segment moved to another day or class (to be purged early,
		 * or kept late) is damage.
		 */
		if (strcmp(sg.info->cls, cls) != 0 || strcmp(sg.info->period, period) != 0) {
			cm_err_set(&e, CM_E_DATA,
				   "segment %s: its header says %s %s, it lies in %s (moved)",
				   sg.info->idhex, sg.info->cls, sg.info->period, pdir);
			if (bad)
				bad(ud, &sg, &e);
			cm_seg_free(seg);
			continue;
		}
		for (;;) {
			r = cm_seg_next(seg, &b, &e);
			if (r == CM_SEG_FRAME) {
				if (cm_store_rec_decode(b.p, b.n, &rec) != 0) {
					cm_err_set(&e, CM_E_DATA,
						   "segment %s: frame %llu: not a stored record",
						   sg.info->idhex,
						   (unsigned long long)cm_seg_frames(seg));
					if (bad)
						bad(ud, &sg, &e);
					break;
				}
				if (fn && fn(ud, &sg, &rec, CM_SEG_FRAME) != 0) {
					cm_seg_free(seg);
					goto out;
				}
				continue;
			}
			if (r == CM_SEG_END || r == CM_SEG_UNCLOSED) {
				if (fn && fn(ud, &sg, NULL, r) != 0) {
					cm_seg_free(seg);
					goto out;
				}
				break;
			}
			if (e.code == CM_E_NOMEM || e.code == CM_E_IO) {
				if (err)
					*err = e;
				cm_seg_free(seg);
				goto out;
			}
			if (bad)
				bad(ud, &sg, &e);
			break;
		}
		cm_seg_free(seg);
	}
	rc = 0;
out:
	cm_buf_deinit(&b); /* wipes the originals */
	free(v);
	names_free(&ids);
	return rc;
}

int cm_store_walk(const char *dir, const unsigned char *key, const char *cls, cm_store_rec_fn fn,
		  cm_store_bad_fn bad, void *ud, struct cm_err *err)
{
	char seg[PATH_MAX], cdir[PATH_MAX], pdir[PATH_MAX];
	struct names cl = { 0 }, per = { 0 };
	size_t i, j;
	int rc = CM_FAIL;

	if (!dir || !key)
		return cm_err_set(err, CM_E_USAGE, "store: a directory and a store key are required");
	if (cls && !cm_seg_class_ok(cls))
		return cm_err_set(err, CM_E_USAGE, "store: class names are 1 to %d of [a-z0-9_-]",
				  CM_SEG_CLASS_MAX);
	if (is_store(dir, err) != 0)
		return CM_FAIL;
	if (pathf(seg, "%s/seg", dir) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
	if (cls) {
		if (names_add(&cl, cls) != 0) {
			names_free(&cl);
			return cm_err_set(err, CM_E_NOMEM, "store: out of memory");
		}
	} else if (list_dir(seg, L_CLASSES, &cl, err) != 0) {
		return CM_FAIL;
	}
	for (i = 0; i < cl.n; i++) {
		if (pathf(cdir, "%s/%s", seg, cl.v[i]) != 0 ||
		    list_dir(cdir, L_PERIODS, &per, err) != 0)
			goto out;
		for (j = 0; j < per.n; j++) {
			if (pathf(pdir, "%s/%s", cdir, per.v[j]) != 0) {
				cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
				goto out;
			}
			if (walk_period(pdir, cl.v[i], per.v[j], key, fn, bad, ud, err) != 0)
				goto out;
		}
		names_free(&per);
	}
	rc = 0;
out:
	names_free(&per);
	names_free(&cl);
	return rc;
}

/* ---------------------------------------------------------------- holds */

struct hold {
	char cls[CM_SEG_CLASS_MAX + 1];
	int has_from, has_to;
	struct cm_date from, to;
};

struct holds {
	struct hold *v;
	size_t n;
};

/* Parses "YYYY-MM-DD" or "-" (an open end). */
static int hold_date(const char *s, int *has, struct cm_date *d)
{
	if (strcmp(s, "-") == 0) {
		*has = 0;
		return 0;
	}
	*has = 1;
	return cm_date_parse(s, d);
}

/* Reads DIR/holds (missing: no holds). */
static int holds_load(const char *dir, struct holds *h, struct cm_err *err)
{
	char p[PATH_MAX], *text = NULL, *line, *next, *w[4];
	size_t len, n, no = 0, cap = 0;
	struct hold x, *v;
	struct cm_err e = { 0 };
	int rc = CM_FAIL;

	memset(h, 0, sizeof *h);
	if (pathf(p, "%s/holds", dir) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
	if (read_text(p, HOLDS_MAX, &text, &len, &e) != 0) {
		if (e.code == CM_E_NOINPUT)
			return 0;
		if (err)
			*err = e;
		return CM_FAIL;
	}
	for (line = text; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		no++;
		if (line[0] == '#')
			continue;
		n = split(line, w, 3);
		if (n == 0)
			continue;
		memset(&x, 0, sizeof x);
		if (n != 3 || !cm_seg_class_ok(w[0]) || hold_date(w[1], &x.has_from, &x.from) != 0 ||
		    hold_date(w[2], &x.has_to, &x.to) != 0) {
			cm_err_at(err, CM_E_DATA, no, 0,
				  "%s:%zu: expected CLASS FROM TO (YYYY-MM-DD or - for an open end)",
				  p, no);
			goto out;
		}
		memcpy(x.cls, w[0], strlen(w[0]) + 1);
		if (h->n == cap) {
			cap = cap ? 2 * cap : 8;
			v = realloc(h->v, cap * sizeof *v);
			if (!v) {
				cm_err_set(err, CM_E_NOMEM, "store: out of memory");
				goto out;
			}
			h->v = v;
		}
		h->v[h->n++] = x;
	}
	rc = 0;
out:
	if (rc != 0) {
		free(h->v);
		memset(h, 0, sizeof *h);
	}
	free(text);
	return rc;
}

static int holds_cover(const struct holds *h, const char *cls, const struct cm_date *d)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		const struct hold *x = &h->v[i];

		if (strcmp(x->cls, cls) != 0)
			continue;
		if (x->has_from && cm_date_cmp(d, &x->from) < 0)
			continue;
		if (x->has_to && cm_date_cmp(d, &x->to) > 0)
			continue;
		return 1;
	}
	return 0;
}

/*
 * Takes the lock DIR/holds.lock: exclusive to edit the holds, shared for
 * a purge, so that a hold placed while a purge runs waits for it rather
 * than land after the purge read the holds. Returns the descriptor or CM_FAIL.
 */
static int holds_lock(const char *dir, int op, struct cm_err *err)
{
	char p[PATH_MAX];
	int fd;

	if (pathf(p, "%s/holds.lock", dir) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
	fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return cm_err_set(err, CM_E_IO, "store: %s: %s", p, strerror(errno));
	while (flock(fd, op) != 0) {
		if (errno == EINTR)
			continue;
		cm_err_set(err, CM_E_IO, "store: %s: cannot lock: %s", p, strerror(errno));
		close(fd);
		return CM_FAIL;
	}
	return fd;
}

int cm_store_hold(const char *dir, const char *cls, const char *from, const char *to, int release,
		  struct cm_err *err)
{
	char p[PATH_MAX], *text = NULL, *line, *next, *w[4], want[96], copy[128];
	struct cm_date fd_, td;
	struct cm_err e = { 0 };
	struct cm_buf out;
	size_t len = 0, n, removed = 0;
	int lock = -1, rc = CM_FAIL, r;

	cm_buf_init(&out);
	if (!dir || !cls || !cm_seg_class_ok(cls))
		return cm_err_set(err, CM_E_USAGE, "hold: class names are 1 to %d of [a-z0-9_-]",
				  CM_SEG_CLASS_MAX);
	if ((from && cm_date_parse(from, &fd_) != 0) || (to && cm_date_parse(to, &td) != 0))
		return cm_err_set(err, CM_E_USAGE, "hold: dates are YYYY-MM-DD");
	if (from && to && cm_date_cmp(&fd_, &td) > 0)
		return cm_err_set(err, CM_E_USAGE, "hold: the range ends before it begins");
	if (is_store(dir, err) != 0)
		return CM_FAIL;
	snprintf(want, sizeof want, "%s %s %s", cls, from ? from : "-", to ? to : "-");
	lock = holds_lock(dir, LOCK_EX, err);
	if (lock < 0)
		return CM_FAIL;
	if (pathf(p, "%s/holds", dir) != 0) {
		cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
		goto out;
	}
	r = read_text(p, HOLDS_MAX, &text, &len, &e);
	if (r != 0 && e.code != CM_E_NOINPUT) {
		if (err)
			*err = e;
		goto out;
	}
	/* Every line is kept as written but those equal (word for word) to the hold released. */
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		snprintf(copy, sizeof copy, "%s", line);
		n = strlen(line) < sizeof copy ? split(copy, w, 3) : 0;
		if (n == 3 && strcmp(w[0], cls) == 0 && strcmp(w[1], from ? from : "-") == 0 &&
		    strcmp(w[2], to ? to : "-") == 0) {
			if (!release) {
				rc = 0; /* already held so */
				goto out;
			}
			removed++;
			continue;
		}
		cm_buf_adds(&out, line);
		cm_buf_addc(&out, '\n');
	}
	if (release && !removed) {
		cm_err_set(err, CM_E_NOINPUT, "hold: %s/holds has no hold '%s' to release", dir,
			   want);
		goto out;
	}
	if (!release) {
		cm_buf_adds(&out, want);
		cm_buf_addc(&out, '\n');
	}
	if (out.oom) {
		cm_err_set(err, CM_E_NOMEM, "store: out of memory");
		goto out;
	}
	if (write_atomic(dir, "holds", out.p ? out.p : "", out.n, 1, err) != 0)
		goto out;
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	free(text);
	cm_buf_deinit(&out);
	return rc;
}

int cm_store_held(const char *dir, const char *cls, const struct cm_date *d)
{
	struct holds h;
	int covered;

	/* Fail closed: holds that cannot be read or parsed hold everything. */
	if (holds_load(dir, &h, NULL) != 0)
		return 1;
	covered = holds_cover(&h, cls, d);
	free(h.v);
	return covered;
}

/* ---------------------------------------------------------------- purge */

int cm_store_purge(const char *dir, const struct cm_date *today, cm_store_purge_fn done, void *ud,
		   struct cm_err *err)
{
	char seg[PATH_MAX], cdir[PATH_MAX], pdir[PATH_MAX], why_buf[64], endtxt[16];
	struct names cl = { 0 }, per = { 0 }, ids = { 0 };
	struct cm_retention pol;
	struct holds h = { 0 };
	const struct cm_ret_class *c;
	struct cm_date d, end;
	const char *why;
	size_t i, j, k;
	int lock = -1, rc = CM_FAIL;

	if (!dir || !today)
		return cm_err_set(err, CM_E_USAGE, "purge: a store directory and a day are required");
	if (is_store(dir, err) != 0 || cm_store_policy(dir, &pol, err) != 0)
		return CM_FAIL;
	lock = holds_lock(dir, LOCK_SH, err);
	if (lock < 0)
		return CM_FAIL;
	if (holds_load(dir, &h, err) != 0)
		goto out;
	if (pathf(seg, "%s/seg", dir) != 0) {
		cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
		goto out;
	}
	if (list_dir(seg, L_CLASSES, &cl, err) != 0)
		goto out;
	for (i = 0; i < cl.n; i++) {
		if (pathf(cdir, "%s/%s", seg, cl.v[i]) != 0 ||
		    list_dir(cdir, L_PERIODS, &per, err) != 0)
			goto out;
		c = cm_retention_find(&pol, cl.v[i]);
		for (j = 0; j < per.n; j++) {
			if (pathf(pdir, "%s/%s", cdir, per.v[j]) != 0 ||
			    list_dir(pdir, L_IDS, &ids, err) != 0)
				goto out;
			why = NULL;
			if (!c) {
				why = "class not in the policy";
			} else if (cm_date_parse(per.v[j], &d) != 0) {
				why = "the period is not a day YYYY-MM-DD";
			} else if (!cm_retention_expired(c, &d, today)) {
				end = cm_retention_end(c, &d);
				cm_date_format(&end, endtxt);
				snprintf(why_buf, sizeof why_buf, "retained until %s", endtxt);
				why = why_buf;
			} else if (holds_cover(&h, cl.v[i], &d)) {
				why = "under a legal hold";
			}
			for (k = 0; k < ids.n; k++) {
				if (why) {
					if (done)
						done(ud, cl.v[i], per.v[j], ids.v[k], 0, why);
					continue;
				}
				if (cm_seg_destroy(pdir, ids.v[k], err) != 0)
					goto out;
				if (done)
					done(ud, cl.v[i], per.v[j], ids.v[k], 1, NULL);
			}
			if (!why) {
				/* Left when something else is there (a .part of a stopped recovery). */
				if (rmdir(pdir) == 0) {
					if (fsync_path(cdir) != 0) {
						cm_err_set(err, CM_E_IO, "store: %s: cannot sync: %s",
							   cdir, strerror(errno));
						goto out;
					}
				} else if (errno != ENOTEMPTY && errno != EEXIST) {
					cm_err_set(err, CM_E_IO, "store: cannot remove %s: %s", pdir,
						   strerror(errno));
					goto out;
				}
			}
			names_free(&ids);
		}
		names_free(&per);
	}
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	free(h.v);
	names_free(&ids);
	names_free(&per);
	names_free(&cl);
	return rc;
}

/* ---------------------------------------------------------------- audit */

int cm_store_audit(const char *dir, const char *line, struct cm_err *err)
{
	char p[PATH_MAX], *b;
	size_t n;
	ssize_t w;
	int fd, rc = CM_FAIL;

	if (!dir || !line)
		return cm_err_set(err, CM_E_USAGE, "audit: a store directory and a line are required");
	if (strpbrk(line, "\n\r"))
		return cm_err_set(err, CM_E_USAGE, "audit: a line must not hold a line break");
	if (is_store(dir, err) != 0)
		return CM_FAIL;
	if (pathf(p, "%s/audit.log", dir) != 0)
		return cm_err_set(err, CM_E_USAGE, "store: %s: path too long", dir);
	n = strlen(line);
	b = malloc(n + 1);
	if (!b)
		return cm_err_set(err, CM_E_NOMEM, "audit: out of memory");
	memcpy(b, line, n);
	b[n] = '\n';
	fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		cm_err_set(err, CM_E_IO, "audit: %s: %s", p, strerror(errno));
		goto out;
	}
	/*
	 * One write with O_APPEND: concurrent writers' lines do not interleave.
	 * Should the kernel take only part of it, the rest follows at once, so
	 * that no partial line is left for the next entry to run into.
	 */
	do
		w = write(fd, b, n + 1);
	while (w < 0 && errno == EINTR);
	if (w >= 0 && (size_t)w < n + 1)
		w = cm_write_full(fd, (const unsigned char *)b + w, n + 1 - (size_t)w) == 0
			    ? (ssize_t)(n + 1) : -1;
	if (w != (ssize_t)(n + 1)) {
		cm_err_set(err, CM_E_IO, "audit: %s: %s", p,
			   w < 0 ? strerror(errno) : "short write (a partial line)");
		close(fd);
		goto out;
	}
	if (fsync(fd) != 0) {
		cm_err_set(err, CM_E_IO, "audit: %s: cannot sync: %s", p, strerror(errno));
		close(fd);
		goto out;
	}
	if (close(fd) != 0) {
		cm_err_set(err, CM_E_IO, "audit: %s: %s", p, strerror(errno));
		goto out;
	}
	if (fsync_path(dir) != 0) {
		cm_err_set(err, CM_E_IO, "audit: %s: cannot sync the directory: %s", dir,
			   strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(b);
	return rc;
}
