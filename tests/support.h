/* Helpers shared by the unit tests. */
#ifndef CDRMIN_TESTS_SUPPORT_H
#define CDRMIN_TESTS_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

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

/* VmLck of this process (bytes locked in RAM), in KiB; fails the test if unreadable. */
long cmt_locked_kib(void);

#endif
