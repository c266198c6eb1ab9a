/* Helpers shared by the unit tests. */
#ifndef CDRMIN_TESTS_SUPPORT_H
#define CDRMIN_TESTS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/action.h"
#include "cdrmin/key.h"
#include "cdrmin/pseudo.h"

/*
 * Writes the 32 bytes of k to a temporary key file (mode 0600), loads it
 * into key, removes the file, and returns a pseudonym engine with a memo
 * cache of cache slots. Any failure fails the calling test.
 */
struct cm_pseudo *cmt_engine(struct cm_key *key, const unsigned char k[CM_KEY_BYTES], size_t cache);

/* The UTF-8 encoding of code point cp at b (4 bytes of room); returns its length. */
size_t cmt_utf8(uint32_t cp, char *b);

/*
 * A "Name: N kB" line of /proc/self/status, e.g. "VmLck" (bytes locked in
 * RAM) or "VmRSS", in KiB; fails the test if it is not there.
 */
long cmt_status_kib(const char *name);

/*
 * Whether this process may lock bytes more in RAM: it has CAP_IPC_LOCK,
 * or RLIMIT_MEMLOCK leaves room for them (page-rounded, as the kernel
 * counts them).
 */
int cmt_may_lock(size_t bytes);

/*
 * What action a makes of the string v alone (no row, nothing given, epoch
 * 0), under engine ps and numbering np, as a string in a ring of 8 static
 * buffers (valid for the next 7 calls). Fails the test unless the action
 * returns 0 and its output fits.
 */
const char *cmt_action_alone(const struct cm_action *a, struct cm_pseudo *ps,
			     const struct cm_numbering *np, const char *v);

#endif
