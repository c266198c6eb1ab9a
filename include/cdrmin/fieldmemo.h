/*
 * cdrmin: a memo of whole field outputs.
 *
 * A keyed action's output is a function of the action, the record's epoch
 * and the value; for scrub also of how the record's protected numbers
 * answer the text's lookups in them (scrub.h, probes). Real traffic
 * repeats numbers, caller ids and dial strings constantly: the memo gives
 * the output of a value seen before without normalizing, hashing or
 * scanning it again. Output is the same bytes with the memo or without.
 *
 * Two ways (a slot and its neighbour), indexed with XXH3 (random seed) of
 * the value under (action, epoch); an entry packs value, lookup log and
 * output from its first cache line. A hit needs
 * the same action (by address), epoch, row-emptiness and exact bytes, and
 * for a scrub the same answers from this record's row. A value is stored
 * at its second miss, not its first (admission, by a bitmap of the tags
 * seen lately): most values a Zipf stream's tail brings are never seen
 * again, and storing each costs a write of a slot's lines. It holds
 * originals: its memory is kept out of core dumps, locked when the system
 * allows, and wiped on free (secmem.h). Not thread-safe: one per thread.
 *
 * A scrub's output of a text that holds one of the record's numbers is
 * also kept as a template without the number, and answers every text that
 * differs only in that number (of the same shape), with the record's
 * token of it put in: see "Scrub templates" in fieldmemo.c for why that is
 * the scrub's own output.
 */
#ifndef CDRMIN_FIELDMEMO_H
#define CDRMIN_FIELDMEMO_H

#include <stddef.h>
#include <stdint.h>

#include "cdrmin/action.h"
#include "cdrmin/buf.h"

struct cm_field_memo;

/* A memo of about slots entries (a power of two), or NULL when memory is short. */
struct cm_field_memo *cm_field_memo_new(size_t slots);
/* Wipes and frees; NULL does nothing. */
void cm_field_memo_free(struct cm_field_memo *m);

/*
 * The memo's storage, *bytes long: for tests that look for values which
 * must not linger there once evicted.
 */
const void *cm_field_memo_storage(const struct cm_field_memo *m, size_t *bytes);

/* 1 when a's outputs are worth memoizing (keyed actions: tokens, scrub). */
int cm_field_memo_wants(const struct cm_action *a);

/*
 * cm_action_apply(a, c, v, n, out), answered from m when it can be (m NULL:
 * always computed). Same return, same bytes appended to out.
 */
int cm_field_memo_apply(struct cm_field_memo *m, const struct cm_action *a,
			struct cm_action_ctx *c, const char *v, size_t n, struct cm_buf *out);

/*
 * Starts loading the entry cm_field_memo_apply(m, a, c, v, n, ...) will look
 * at (c->epoch == epoch) and returns its tag for cm_field_memo_apply_h; 0
 * when the value is not memoized. Each lookup lands anywhere in many MiB:
 * looked up one after the other, the fields of a record wait for memory
 * once each; asked for early, the waits overlap each other and the work.
 */
uint64_t cm_field_memo_prefetch(const struct cm_field_memo *m, const struct cm_action *a,
				uint64_t epoch, const char *v, size_t n);

/*
 * cm_field_memo_apply with the tag cm_field_memo_prefetch returned (0:
 * computed here); *hit (when not NULL) says whether the memo answered: 0
 * no, 1 by the value's own entry, 2 by a scrub template.
 */
int cm_field_memo_apply_h(struct cm_field_memo *m, const struct cm_action *a,
			  struct cm_action_ctx *c, const char *v, size_t n, uint64_t h,
			  struct cm_buf *out, int *hit);

#endif
