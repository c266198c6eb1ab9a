/*
 * cdrmin: the pipeline, source -> decoder -> record -> plan -> encoder -> sink.
 *
 * A pipeline is fed sources one after another (files in order, or stdin)
 * and writes to one sink. Every record read is accounted for: written,
 * filtered by the rules' only/skip, or rejected with a reason, so that
 * read = written + rejected + filtered. Rejected records are reported
 * through a callback with their place and reason, never their content.
 */
#ifndef CDRMIN_PIPELINE_H
#define CDRMIN_PIPELINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cdrmin/calls.h"
#include "cdrmin/capture.h"
#include "cdrmin/encoder.h"
#include "cdrmin/err.h"
#include "cdrmin/io.h"
#include "cdrmin/packet.h"
#include "cdrmin/plan.h"
#include "cdrmin/pseudo.h"
#include "cdrmin/record.h"
#include "cdrmin/rules.h"
#include "cdrmin/store.h"

struct cm_stats {
	uint64_t read, written, filtered, rejected;
	uint64_t by_reason[CM_REJ__COUNT];
	uint64_t bytes_in;
	/* Line formats with a marker: lines without it (the rest of a log), not records. */
	uint64_t other;
};

/* Where and why a record was rejected. field is NULL when no field is at fault. */
struct cm_rejection {
	const char *source;
	uint64_t line, offset;
	enum cm_reject reason;
	const char *field;
	size_t got_columns, want_columns; /* for CM_REJ_COLUMNS */
	uint64_t col;                     /* line formats: 1-based byte of the fault in its line, or 0 */
	int frame;                        /* captures: line is the number of the frame */
	const char *detail;               /* a static reason (sip), or NULL */
};

struct cm_pipeline_opts {
	const struct cm_rules *rules; /* must outlive the pipeline */
	struct cm_pseudo *ps;         /* NULL when the rules need no key */
	int header_out;               /* write the output header line (csv) */
	enum cm_output output;        /* csv or jsonl */
	size_t max_record;            /* longest input record, bytes */
	/*
	 * Output of a live stream is written when the input has nothing more
	 * ready, and at the latest flush_ms after a record was complete
	 * (0: every record at once).
	 */
	unsigned flush_ms;
	const volatile sig_atomic_t *stop; /* non-zero: stop reading (signals); may be NULL */
	void (*on_reject)(void *ud, const struct cm_rejection *r);
	void *ud;
	/*
	 * The retained store (NULL: none): every record read goes there with
	 * what was written of it (rules' retain-records class, the day of its
	 * time field in the retention zone), every rejected one to the
	 * quarantine with its reason. For sip-calls, the SIP messages are
	 * stored, not the call records.
	 */
	struct cm_store *store;
	/* sip, sip-calls: ports whose payloads are handed to the SIP decoder whatever they hold */
	const uint16_t *sip_ports;
	size_t nsip_ports;
	/*
	 * The caller's periodic work (progress, monitoring), or NULL: called
	 * with ud between records, before each read of more input, every
	 * CM_STOP_POLL_MS while a live input is waited for (io.h), and before
	 * each frame of a capture. It may call cm_pipeline_flush. A non-zero
	 * return ends the run: the feed returns CM_FAIL with err as tick set it.
	 */
	int (*tick)(void *ud, struct cm_err *err);
};

/* How much input has been read, the source being read included. */
struct cm_progress {
	uint64_t bytes_in;   /* data bytes (decompressed when compressed; frames' bytes for captures) */
	uint64_t file_bytes; /* bytes read from the files or pipes (compressed when compressed) */
};

struct cm_pipeline;

struct cm_pipeline *cm_pipeline_new(const struct cm_pipeline_opts *o, struct cm_sink *sink,
				    struct cm_err *err);
void cm_pipeline_free(struct cm_pipeline *pl);

/*
 * Filter one source (path, or "-" for stdin) to the sink. csv: see
 * csv.h. Line formats (jsonl, kv, kannel): one record per LF-ended line
 * (a CR before the LF removed; the last line may lack its LF); blank lines
 * are skipped; with a marker, a line without it is not a record (counted
 * as other) and the record is the text after it (jsonl: from the first
 * '{' after it); a line longer than max_record is rejected (too-long) and
 * skipped to its LF; a line holding a NUL byte is rejected (nul). Returns 0, or
 * CM_FAIL: CM_E_NOINPUT (cannot open), CM_E_IO (read or write error),
 * CM_E_RULES (rules naming columns the first header lacks), CM_E_NOMEM.
 * A header line that is malformed, names a column twice, or differs from
 * the first source's makes every record of that source a reject (reason
 * header); the run goes on with the next source.
 */
int cm_pipeline_feed(struct cm_pipeline *pl, const char *path, struct cm_err *err);

/*
 * sip, sip-calls: filter the frames of an open capture (a file, or a live
 * interface until the stop flag). Each SIP message (packet.h) is decoded
 * (sip.h): a message libosip2 cannot parse is rejected (reason sip, its
 * frame named); for sip-calls the messages are assembled into calls
 * (calls.h) and each call is a record. A capture file libpcap finds
 * damaged ends with a record rejected as truncated, and the run goes on.
 * cm_pipeline_feed opens a capture file itself for these formats.
 */
int cm_pipeline_feed_capture(struct cm_pipeline *pl, struct cm_capture *c, struct cm_err *err);

/* The packet stage's and the call assembler's counters (NULL for other formats). */
const struct cm_pkt_stats *cm_pipeline_pkt_stats(const struct cm_pipeline *pl);
const struct cm_calls_stats *cm_pipeline_calls_stats(const struct cm_pipeline *pl);

/* Ends the input (for sip-calls, the calls still open are written) and flushes the sink. */
int cm_pipeline_finish(struct cm_pipeline *pl, struct cm_err *err);

/*
 * 1 once the stop flag ended a source: the records read before it were
 * processed, a record cut in the middle was rejected (reason truncated),
 * and no further source should be fed.
 */
int cm_pipeline_stopped(const struct cm_pipeline *pl);

const struct cm_stats *cm_pipeline_stats(const struct cm_pipeline *pl);

void cm_pipeline_progress(const struct cm_pipeline *pl, struct cm_progress *p);

/*
 * Writes out the records encoded so far (they count as written once out),
 * so that read = written + rejected + filtered holds at this moment. For
 * the tick (between records). CM_E_IO as the sink.
 */
int cm_pipeline_flush(struct cm_pipeline *pl, struct cm_err *err);


/*
 * A pipeline as a worker of a parallel run (parallel.h): chunks of a
 * source fed from memory. cm_pipeline_mem_begin places the decoder at a
 * chunk's first line and offset (header: the chunk starts with its
 * source's header line, which names the columns as in cm_pipeline_feed).
 * cm_pipeline_mem_feed decodes and filters the records of buf[0..len)
 * into the sink's buffer (never written out: the caller takes the bytes),
 * and returns the bytes consumed, or CM_FAIL; a record not complete in
 * buf (eof 0) is left unconsumed, and the next call must pass its bytes
 * again followed by more. cm_pipeline_mem_clean says the decoder stands
 * at a record boundary (nothing pending, no over-long record being
 * skipped, no header owed). cm_pipeline_mem_truncated rejects the record
 * a stop cut (as cm_pipeline_feed does). cm_pipeline_mem_take returns the
 * records encoded since its last call (the caller counts them written
 * once out).
 */
void cm_pipeline_mem_begin(struct cm_pipeline *pl, uint64_t line, uint64_t offset, int header);
ssize_t cm_pipeline_mem_feed(struct cm_pipeline *pl, const char *name, char *buf, size_t len,
			     int eof, struct cm_err *err);
int cm_pipeline_mem_clean(const struct cm_pipeline *pl);
void cm_pipeline_mem_truncated(struct cm_pipeline *pl, const char *name);
uint64_t cm_pipeline_mem_take(struct cm_pipeline *pl);

/*
 * The decoder's state between two chunks (private to pipeline.c): saved
 * where a worker's chunk did not end at a record boundary, restored in
 * the pipeline that goes on from there.
 */
struct cm_mem_state {
	uint64_t line, offset, last_skip_line, lline, loff;
	size_t scan_pos;
	int skipping, skip_state, scan_state, scan_bad, lskip, header, bad_header;
};
void cm_pipeline_mem_save(const struct cm_pipeline *pl, struct cm_mem_state *s);
void cm_pipeline_mem_restore(struct cm_pipeline *pl, const struct cm_mem_state *s);
/* 1 once the rules' columns are known (a header named them, or the rules did). */
int cm_pipeline_has_plan(const struct cm_pipeline *pl);
/* The source being read (progress), or NULL; at NULL its file bytes count as done. */
void cm_pipeline_mem_source(struct cm_pipeline *pl, const struct cm_source *src);

/*
 * -j over a capture (format sip). The lead reads the capture and runs the
 * packet stage (reassembly is stateful and cheap); each SIP message found
 * goes to hand (name: the capture's name, m and msg valid only during the
 * call) instead of being decoded in the lead, and sync runs before the
 * lead reports anything itself (a damaged capture's reject), so that what
 * was handed on before is written first. A worker decodes and filters one
 * such message with cm_pipeline_mem_sip, into its sink's buffer as
 * cm_pipeline_mem_feed does; CM_FAIL with err set when memory ran out.
 */
typedef int (*cm_sip_hand_fn)(void *ud, const char *name, const struct cm_pkt_meta *m,
			      const char *msg, size_t n, struct cm_err *err);
void cm_pipeline_set_hand(struct cm_pipeline *pl, cm_sip_hand_fn hand,
			  int (*sync)(void *ud, struct cm_err *err), void *ud);
int cm_pipeline_mem_sip(struct cm_pipeline *pl, const char *name, const struct cm_pkt_meta *m,
			const char *msg, size_t n, struct cm_err *err);

/* The output header of a format without an input header (as cm_pipeline_feed writes it first). */
int cm_pipeline_start_output(struct cm_pipeline *pl, struct cm_err *err);
/* Adds a worker's counters to pl's. */
void cm_pipeline_add_stats(struct cm_pipeline *pl, const struct cm_stats *d);
/* Marks pl stopped (cm_pipeline_stopped), when a parallel run's reader saw the stop. */
void cm_pipeline_set_stopped(struct cm_pipeline *pl);

/*
 * Read the header line of a CSV input (for `cdrmin check RULES FILE`) into
 * schema, as cm_pipeline_feed reads it (a byte order mark skipped). Errors:
 * as cm_pipeline_feed, and CM_E_DATA for a malformed header line or one that
 * names a column twice.
 */
int cm_csv_read_header(const struct cm_rules *r, const char *path, struct cm_schema *schema,
		       struct cm_err *err);

#endif
