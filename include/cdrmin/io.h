/*
 * cdrmin: sources and sinks.
 *
 * A source reads a file or stdin into one buffer that decoders scan in
 * place; a sink collects encoded records and writes them whole. Reads and
 * writes retry on EINTR and short counts. A write failure (full disk,
 * broken pipe) is an error naming the output, never silent.
 */
#ifndef CDRMIN_IO_H
#define CDRMIN_IO_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cdrmin/buf.h"
#include "cdrmin/err.h"

struct cm_source {
	int fd;
	int owned;        /* close fd at the end */
	int may_block;    /* a pipe, socket or terminal: reads can wait */
	int eof;
	int stopped;      /* the stop flag was seen: eof set, the rest is unread */
	char *name;       /* "-" is shown as "stdin" */
	char *buf;
	size_t cap;
	size_t start;     /* first unconsumed byte */
	size_t end;       /* one past the last byte read */
	uint64_t bytes;   /* bytes read so far (decompressed bytes when compressed) */
	uint64_t raw_bytes; /* bytes read from the file or pipe (compressed bytes when compressed) */
	uint64_t size;    /* a regular file's size, else 0 (unknown) */
	/* Compressed input (decomp.h), recognised by its first bytes at the first fill. */
	int sniffed;
	int zkind;        /* enum cm_zkind: CM_Z_NONE when plain */
	struct cm_z *z;   /* the decompressor, NULL when plain */
	unsigned char *zin; /* compressed bytes read, not yet decompressed: zin[zin_start..zin_end) */
	size_t zin_start, zin_end;
	int raw_eof;      /* the compressed bytes have ended */
	struct cm_err zerr; /* a fault found after good bytes: the next fill reports it */
};

struct cm_z;

/*
 * Open path ("-" for stdin) with a buffer of cap bytes. Errors: CM_E_NOINPUT
 * (missing, unreadable, a directory), CM_E_NOMEM. Input whose first bytes
 * are gzip or zstd (decomp.h) is decompressed as it is read, whatever its
 * name; stdin too.
 */
int cm_source_open(struct cm_source *s, const char *path, size_t cap, struct cm_err *err);

/*
 * Moves the unconsumed bytes to the front of the buffer and reads more.
 * When the read could wait (may_block and no byte ready) it first calls
 * idle(ud), so that a live stream's output is flushed before waiting, and
 * again every CM_STOP_POLL_MS while the wait goes on (periodic work).
 * While waiting it looks at *stop (when stop is not NULL) at least every
 * CM_STOP_POLL_MS, and returns at once when a signal interrupts the wait.
 * Once *stop is non-zero it only completes the record in progress: it
 * reads one byte at a time while bytes are there without waiting (the rest
 * of a file, what a pipe holds), and ends the input (eof and stopped set)
 * when the buffer has no partial record left or the next byte is not there.
 * Returns bytes read (> 0), 0 at end of input (eof set), or CM_FAIL
 * (CM_E_IO naming the source; compressed input: CM_E_DATA for corrupt or
 * truncated data, "NAME: gzip data corrupt at compressed offset X
 * (decompressed offset Y): why", reported by the fill after the one that
 * returned the last good bytes).
 */
#define CM_STOP_POLL_MS 200
long cm_source_fill(struct cm_source *s, int (*idle)(void *ud), void *ud,
		    const volatile sig_atomic_t *stop, struct cm_err *err);

void cm_source_close(struct cm_source *s);

struct cm_sink {
	int fd;
	int owned;
	char *name;       /* "stdout" or the path */
	struct cm_buf buf;
	size_t flush_at;  /* write when buf holds this much */
	uint64_t bytes;   /* bytes written */
	/*
	 * Log rotation (a file sink): when *reopen (a counter a SIGHUP handler
	 * bumps) differs from reopen_seen, the next flush first opens the path
	 * again (created, or appended to) and closes the old descriptor, so that
	 * every byte written after the signal goes to the new file. NULL: never.
	 */
	const volatile sig_atomic_t *reopen;
	sig_atomic_t reopen_seen;
};

/* Open path for writing (created or truncated), or stdout when path is NULL. */
int cm_sink_open(struct cm_sink *s, const char *path, struct cm_err *err);

/* Writes everything buffered. CM_E_IO ("write error on NAME: reason") on failure. */
int cm_sink_flush(struct cm_sink *s, struct cm_err *err);

/*
 * Writes everything buffered, then p[0..n) straight from the caller's memory
 * (a -j chunk's output: no copy through the buffer). Errors as cm_sink_flush.
 */
int cm_sink_write(struct cm_sink *s, const char *p, size_t n, struct cm_err *err);


/* Flushes, closes (checking close), frees. Returns 0 or CM_FAIL. */
int cm_sink_close(struct cm_sink *s, struct cm_err *err);

/* Grow the pipe buffer of fd to 1 MiB when it is a pipe (Linux); ignores failure. */
void cm_pipe_grow(int fd);

#endif
