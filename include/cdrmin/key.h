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
 * Load and check the key file at path. On success *key owns protected
 * memory that cm_key_free wipes. Errors are CM_E_KEY, naming the check
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
 * Reads up to n bytes from fd into p, retrying on EINTR and short reads
 * (for key files). Returns the bytes read (less than n at end of file), or -1.
 */
ssize_t cm_read_full(int fd, unsigned char *p, size_t n);

/* Writes all n bytes of p to fd, retrying on EINTR and short writes. Returns 0 or -1. */
int cm_write_full(int fd, const unsigned char *p, size_t n);

#endif
