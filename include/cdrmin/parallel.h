/*
 * cdrmin: -j N, the records of line-based inputs (csv, jsonl, kv, kannel)
 * and the SIP messages of capture files (sip) filtered by N threads and
 * written in input order.
 *
 * The output, the rejections (their order and places), the counters and
 * the exit status are those of one pipeline fed the same sources
 * (cm_pipeline_feed one after another): pseudonyms are deterministic, so
 * each worker has its own pseudonym engine and they agree on every token.
 */
#ifndef CDRMIN_PARALLEL_H
#define CDRMIN_PARALLEL_H

#include <stddef.h>

#include "cdrmin/err.h"
#include "cdrmin/pipeline.h"

#define CM_PAR_CHUNK_DEFAULT ((size_t)256 << 10)
/* A plain file is read by the workers in ranges of the chunk size from this size on. */
#define CM_PAR_RANGE_MIN ((size_t)512)

struct cm_par_opts {
	unsigned jobs; /* worker threads, 2 or more */
	size_t chunk;  /* bytes handed to a worker at a time (0: the default) */
	/*
	 * A new pseudonym engine for a worker, or NULL with err set; called
	 * once per worker before any input is read. Not called when the rules
	 * need no key (o->ps NULL).
	 */
	struct cm_pseudo *(*engine)(void *ud, struct cm_err *err);
	void *ud;
	/* out: the workers' engines' memo cache counters, summed when they are freed */
	struct cm_pseudo_stats cache;
	/*
	 * out: the chunks queued, and those the main thread filtered again
	 * (queued after a chunk of their source that ended inside a record)
	 */
	uint64_t chunks, refiltered;
};

/*
 * Filters the sources paths[0..n) ("-": stdin) into lead's sink, as
 * cm_pipeline_feed(lead, paths[i]) for each i would: o are lead's options
 * (the workers take the same, with their own engines; the store, call
 * records (sip-calls) and -i are not for workers: the caller keeps those
 * runs on one thread). With format sip the paths are capture files: lead
 * reads them, the workers decode their messages.
 * A stop (o->stop) ends the input as cm_pipeline_feed does and marks lead
 * stopped. Counters go to lead's (cm_pipeline_stats), rejections to
 * o->on_reject, in input order, from this thread. Returns 0, or CM_FAIL
 * with err set (a source that cannot be opened ends the run there, as
 * with one thread: what came before it is written).
 */
int cm_par_run(struct cm_pipeline *lead, const struct cm_pipeline_opts *o,
	       struct cm_sink *sink, const char *const *paths, size_t n,
	       struct cm_par_opts *po, struct cm_err *err);

#endif
