/*
 * cdrmin: the master pseudonym key.
 *
 * One key file holds 32 random bytes. It comes from -k or CDRMIN_KEY_FILE,
 * never from the command line itself or the rules file. A key that is not
 * a regular file, that group or others may read or write, or that has the
 * wrong length is refused. While a key is loaded it lives in sodium_malloc
 * memory (guarded, locked, excluded from core dumps) and is wiped on free.
 */
#ifndef CDRMIN_KEY_H
#define CDRMIN_KEY_H

#include <stddef.h>
#include <sys/types.h>

#include "cdrmin/err.h"

#define CM_KEY_BYTES 32
#define CM_KEYID_CHARS 4 /* key identifier shown in tokens: 20 bits, base32 */

struct cm_key {
	unsigned char *k; /* CM_KEY_BYTES in sodium_malloc memory, read-only */
	char id[CM_KEYID_CHARS + 1];
};

/*
 * Initialise libsodium and switch core dumps off for the process.
 * Returns 0, or CM_FAIL (err says why). Call once before cm_key_load.
 */
int cm_crypto_init(struct cm_err *err);

/*
 * Load and check the key file at path. Core dumps are switched off first
 * (cm_crypto_init), so no key is ever loaded in a dumpable process. The
 * bytes go from the file straight into sodium_malloc memory (read(2), no
 * stdio buffer). On success *key owns protected memory that cm_key_free wipes. Errors are CM_E_KEY, naming the check
 * that failed (not a regular file, mode, length, unreadable).
 */
int cm_key_load(struct cm_key *key, const char *path, struct cm_err *err)
	__attribute__((warn_unused_result));

/* Wipe and release the key; a zeroed or already freed key is fine. */
void cm_key_free(struct cm_key *key);

/*
 * Write a new random key to path with mode 0600. Refuses to overwrite an
 * existing file or a symbolic link (CM_E_KEY), and fsyncs the file and its
 * directory before returning 0. A failed write, fsync or close is CM_E_IO
 * and leaves no file behind.
 */
int cm_key_generate(const char *path, struct cm_err *err)
	__attribute__((warn_unused_result));

/*
 * A key schedule (key rotation). Each key is in effect from a day, 00:00
 * UTC: the records of an epoch (the rules' linkability window, pseudo.h)
 * take the key in effect at the epoch's first instant. Exactly one key has
 * no date: it is the first, and serves every epoch before the first dated
 * key. Keys are kept in date order whatever the order they were added in;
 * no two have the same key id (a token's id names its key).
 */
#define CM_KEYS_MAX 8

struct cm_key_schedule {
	size_t n;
	struct cm_key key[CM_KEYS_MAX];
	int64_t from[CM_KEYS_MAX];     /* seconds since 1970 of 00:00 UTC of the date; [0]: 0 */
	char date[CM_KEYS_MAX][11];    /* "YYYY-MM-DD", "" for the first key */
	char path[CM_KEYS_MAX][256];   /* the file as given, for messages and `check` */
};

/*
 * Adds the key of arg to *s (zeroed by the caller before the first add).
 * arg is FILE (the first key, no date) or FILE@YYYY-MM-DD (in effect from
 * that day, 00:00 UTC, 1970 or later). The key is loaded and checked as by
 * cm_key_load. Refused (CM_E_USAGE): a second key without a date, two keys
 * of one date, a bad date, more than CM_KEYS_MAX keys; (CM_E_KEY) a key id
 * already in the schedule. On failure *s is unchanged.
 */
int cm_key_schedule_add(struct cm_key_schedule *s, const char *arg, struct cm_err *err)
	__attribute__((warn_unused_result));

/*
 * 0 when the schedule is usable: it has keys and one of them has no date
 * (CM_E_USAGE otherwise, naming the earliest dated key).
 */
int cm_key_schedule_check(const struct cm_key_schedule *s, struct cm_err *err)
	__attribute__((warn_unused_result));

/* Wipes and releases every key; *s is left zeroed. NULL does nothing. */
void cm_key_schedule_free(struct cm_key_schedule *s);


#endif
