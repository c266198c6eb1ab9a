/* \summary: the master pseudonym key: load, check, generate, wipe */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cdrmin/fdio.h"
#include "cdrmin/generalize.h"
#include "cdrmin/key.h"
#include "cdrmin/retention.h"

/*
 * The key identifier is derived, never a slice of the key: KDF context
 * "cdrm-kid", subkey id 0, 32 bytes out, of which the first 20 bits are
 * shown as 4 base32 characters. The context is distinct from every
 * pseudonym context (pseudo.c), so the id says nothing about any subkey.
 */
#define KEYID_CTX "cdrm-kid"
#define KEYID_SUBKEY 0
#define KEYID_DERIVED_BYTES 32

/* Group or others may read or write: either lets another user see or swap the key. */
#define KEY_MODE_FORBIDDEN 0066

static const char b32_alphabet[32] = "abcdefghijklmnopqrstuvwxyz234567";

int cm_crypto_init(struct cm_err *err)
{
	static const struct rlimit no_core = { 0, 0 };

	/* sodium_init returns 1 when already done: calling again is fine. */
	if (sodium_init() < 0)
		return cm_err_set(err, CM_E_INTERNAL, "libsodium: initialisation failed");
	if (setrlimit(RLIMIT_CORE, &no_core) != 0)
		return cm_err_set(err, CM_E_INTERNAL, "cannot switch core dumps off: %s",
				  strerror(errno));
	/* Also stops ptrace attach by other processes of the same user. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return cm_err_set(err, CM_E_INTERNAL, "cannot mark the process non-dumpable: %s",
				  strerror(errno));
	return 0;
}

/* Fills id with the 4-character identifier of the 32-byte master key k. */
static void key_id(char id[CM_KEYID_CHARS + 1], const unsigned char *k)
{
	unsigned char d[KEYID_DERIVED_BYTES];
	uint32_t v;
	int i;

	crypto_kdf_derive_from_key(d, sizeof d, KEYID_SUBKEY, KEYID_CTX, k);
	v = ((uint32_t)d[0] << 12) | ((uint32_t)d[1] << 4) | ((uint32_t)d[2] >> 4);
	for (i = CM_KEYID_CHARS - 1; i >= 0; i--) {
		id[i] = b32_alphabet[v & 31];
		v >>= 5;
	}
	id[CM_KEYID_CHARS] = '\0';
	sodium_memzero(d, sizeof d);
}

int cm_key_load(struct cm_key *key, const char *path, struct cm_err *err)
{
	unsigned char *k = NULL;
	unsigned char extra;
	struct stat st;
	ssize_t got;
	int fd = -1, rc = CM_FAIL;

	memset(key, 0, sizeof *key);
	/* No key in a process that could dump core or be attached to. */
	if (cm_crypto_init(err) != 0)
		return CM_FAIL;

	/* O_NONBLOCK: opening a FIFO for reading must not wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		cm_err_set(err, CM_E_KEY, "key file %s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		cm_err_set(err, CM_E_KEY, "key file %s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		cm_err_set(err, CM_E_KEY, "key file %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & KEY_MODE_FORBIDDEN) {
		cm_err_set(err, CM_E_KEY,
			   "key file %s: readable or writable by group or others (mode %04o); "
			   "chmod 600 it",
			   path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_size != CM_KEY_BYTES) {
		cm_err_set(err, CM_E_KEY, "key file %s: wrong length (%lld bytes, expected %d)",
			   path, (long long)st.st_size, CM_KEY_BYTES);
		goto out;
	}

	k = sodium_malloc(CM_KEY_BYTES);
	if (!k) {
		cm_err_set(err, CM_E_NOMEM, "key file %s: out of protected memory", path);
		goto out;
	}
	got = cm_read_full(fd, k, CM_KEY_BYTES);
	if (got < 0) {
		cm_err_set(err, CM_E_KEY, "key file %s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	/* The file may have changed since fstat: check the length we actually read. */
	if (got != CM_KEY_BYTES || cm_read_full(fd, &extra, 1) != 0) {
		cm_err_set(err, CM_E_KEY, "key file %s: wrong length (changed while reading)", path);
		goto out;
	}
	if (sodium_mprotect_readonly(k) != 0) {
		cm_err_set(err, CM_E_INTERNAL, "key file %s: cannot protect key memory: %s", path,
			   strerror(errno));
		goto out;
	}
	key_id(key->id, k);
	key->k = k;
	k = NULL;
	rc = 0;
out:
	sodium_memzero(&extra, sizeof extra);
	if (k)
		sodium_free(k); /* wipes */
	if (fd >= 0)
		close(fd);
	return rc;
}

void cm_key_free(struct cm_key *key)
{
	if (!key)
		return;
	if (key->k)
		sodium_free(key->k); /* makes the pages writable again and wipes them */
	sodium_memzero(key, sizeof *key);
}

/*
 * Best effort to make the new directory entry durable: fsync the directory
 * that holds path. Returns 0 or -1 (errno set).
 */
static int fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	size_t n;
	int fd, rc, e;

	if (!slash) {
		dir[0] = '.';
		n = 1;
	} else if (slash == path) {
		dir[0] = '/';
		n = 1;
	} else {
		n = (size_t)(slash - path);
		if (n >= sizeof dir) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
	}
	dir[n] = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	/* Some file systems cannot fsync a directory: that is not a key problem. */
	if (rc != 0 && (errno == EINVAL || errno == EROFS))
		rc = 0;
	return rc;
}

int cm_key_generate(const char *path, struct cm_err *err)
{
	unsigned char *k = NULL;
	int fd, rc = CM_FAIL, created = 0;

	if (sodium_init() < 0)
		return cm_err_set(err, CM_E_INTERNAL, "libsodium: initialisation failed");

	/* O_EXCL also refuses a symbolic link at path, dangling or not. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			cm_err_set(err, CM_E_KEY, "key file %s exists: refusing to overwrite", path);
		else
			cm_err_set(err, CM_E_KEY, "key file %s: cannot create: %s", path,
				   strerror(errno));
		goto out;
	}
	created = 1;
	/* The mode given to open went through the umask; a stricter umask is fine, but be sure. */
	if (fchmod(fd, 0600) != 0) {
		cm_err_set(err, CM_E_KEY, "key file %s: cannot chmod 600: %s", path,
			   strerror(errno));
		goto out;
	}
	k = sodium_malloc(CM_KEY_BYTES);
	if (!k) {
		cm_err_set(err, CM_E_NOMEM, "key file %s: out of protected memory", path);
		goto out;
	}
	randombytes_buf(k, CM_KEY_BYTES);
	if (cm_write_full(fd, k, CM_KEY_BYTES) != 0) {
		cm_err_set(err, CM_E_IO, "key file %s: cannot write: %s", path, strerror(errno));
		goto out;
	}
	if (fsync(fd) != 0) {
		cm_err_set(err, CM_E_IO, "key file %s: cannot fsync: %s", path, strerror(errno));
		goto out;
	}
	/* close can report a deferred write error (NFS): check it. */
	if (close(fd) != 0) {
		fd = -1;
		cm_err_set(err, CM_E_IO, "key file %s: cannot close: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (fsync_parent(path) != 0) {
		cm_err_set(err, CM_E_IO, "key file %s: cannot fsync its directory: %s", path,
			   strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (k)
		sodium_free(k);
	if (fd >= 0)
		close(fd);
	if (rc != 0 && created)
		unlink(path); /* no partial or unsynced key left behind */
	return rc;
}

/*
 * Splits arg at its last '@' when a date follows ("FILE@YYYY-MM-DD"): the
 * path goes to path (NUL-terminated), the date to *date (NULL without one).
 * Returns 0, or CM_FAIL when the path does not fit.
 */
static int split_dated(const char *arg, char *path, size_t cap, const char **date)
{
	const char *at = strrchr(arg, '@');
	size_t n;

	*date = NULL;
	/* "FILE@2" and on: the user meant a date, even a malformed one (checked later) */
	if (at && at != arg && at[1] >= '0' && at[1] <= '9') {
		*date = at + 1;
		n = (size_t)(at - arg);
	} else {
		n = strlen(arg);
	}
	if (n >= cap)
		return CM_FAIL;
	memcpy(path, arg, n);
	path[n] = '\0';
	return 0;
}

int cm_key_schedule_add(struct cm_key_schedule *s, const char *arg, struct cm_err *err)
{
	char path[sizeof s->path[0]], iso[32];
	const char *date;
	struct cm_date d;
	struct cm_key k;
	int64_t from = 0;
	size_t i, at;

	if (split_dated(arg, path, sizeof path, &date) != 0)
		return cm_err_set(err, CM_E_USAGE, "key file name longer than %zu bytes",
				  sizeof path - 1);
	if (s->n == CM_KEYS_MAX)
		return cm_err_set(err, CM_E_USAGE, "key %s: at most %d keys in a schedule", path,
				  CM_KEYS_MAX);
	if (date) {
		/* 00:00 UTC of the day; cm_time_utc reads a time without offset as UTC */
		snprintf(iso, sizeof iso, "%.10sT00:00:00Z", date);
		if (strlen(date) != 10 || cm_date_parse(date, &d) != 0 ||
		    cm_time_utc(iso, strlen(iso), &from) != 0 || from <= 0)
			return cm_err_set(err, CM_E_USAGE,
					  "key %s: '@%.16s' is not a date YYYY-MM-DD after 1970-01-01 "
					  "(FILE@DATE: the key is in effect from that day, 00:00 UTC)",
					  path, date);
	}
	for (i = 0; i < s->n; i++) {
		if (!date && !s->date[i][0])
			return cm_err_set(err, CM_E_USAGE,
					  "key %s: a second key without a date (%s has none): every "
					  "key but the first takes effect at a date, FILE@YYYY-MM-DD",
					  path, s->path[i]);
		if (date && s->date[i][0] && s->from[i] == from)
			return cm_err_set(err, CM_E_USAGE, "key %s: %s already takes effect on %s",
					  path, s->path[i], s->date[i]);
	}
	if (cm_key_load(&k, path, err) != 0)
		return CM_FAIL;
	for (i = 0; i < s->n; i++) {
		if (strcmp(s->key[i].id, k.id) == 0) {
			cm_key_free(&k);
			/* the same key twice, or a 20-bit id collision: either way tokens could not say which */
			return cm_err_set(err, CM_E_KEY,
					  "key %s: key id %s is already the id of %s (the same key "
					  "twice, or ids that collide: generate another key)",
					  path, s->key[i].id, s->path[i]);
		}
	}
	/* Insert in date order; the undated key sorts first. */
	at = 0;
	if (date)
		for (at = s->n; at > 0 && s->date[at - 1][0] && s->from[at - 1] > from; at--)
			;
	memmove(&s->key[at + 1], &s->key[at], (s->n - at) * sizeof s->key[0]);
	memmove(&s->from[at + 1], &s->from[at], (s->n - at) * sizeof s->from[0]);
	memmove(&s->date[at + 1], &s->date[at], (s->n - at) * sizeof s->date[0]);
	memmove(&s->path[at + 1], &s->path[at], (s->n - at) * sizeof s->path[0]);
	s->key[at] = k; /* the pointer to protected memory moves; the bytes stay there */
	sodium_memzero(&k, sizeof k);
	s->from[at] = from;
	memset(s->date[at], 0, sizeof s->date[at]);
	if (date)
		memcpy(s->date[at], date, 10);
	memcpy(s->path[at], path, sizeof path);
	s->n++;
	return 0;
}

int cm_key_schedule_check(const struct cm_key_schedule *s, struct cm_err *err)
{
	if (!s->n)
		return cm_err_set(err, CM_E_USAGE, "no key");
	if (s->date[0][0])
		return cm_err_set(err, CM_E_USAGE,
				  "key %s@%s: no key serves the records before %s: give the key in "
				  "effect until then without a date (-k OLD -k NEW@DATE)",
				  s->path[0], s->date[0], s->date[0]);
	return 0;
}

void cm_key_schedule_free(struct cm_key_schedule *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n && i < CM_KEYS_MAX; i++)
		cm_key_free(&s->key[i]);
	sodium_memzero(s, sizeof *s);
}
