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
	uint64_t bytes;   /* bytes read so far */
};

/*
 * Open path ("-" for stdin) with a buffer of cap bytes. Errors: CM_E_NOINPUT
 * (missing, unreadable, a directory), CM_E_NOMEM.
 */
int cm_source_open(struct cm_source *s, const char *path, size_t cap, struct cm_err *err);

/*
 * Moves the unconsumed bytes to the front of the buffer and reads more.
 * When the read could wait (may_block and no byte ready) it first calls
 * idle(ud), so that a live stream's output is flushed before waiting.
 * While waiting it looks at *stop (when stop is not NULL) at least every
 * CM_STOP_POLL_MS, and returns at once when a signal interrupts the wait.
 * Once *stop is non-zero it only completes the record in progress: it
 * reads one byte at a time while bytes are there without waiting (the rest
 * of a file, what a pipe holds), and ends the input (eof and stopped set)
 * when the buffer has no partial record left or the next byte is not there.
 * Returns bytes read (> 0), 0 at end of input (eof set), or CM_FAIL
 * (CM_E_IO naming the source).
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
};

/* Open path for writing (created or truncated), or stdout when path is NULL. */
int cm_sink_open(struct cm_sink *s, const char *path, struct cm_err *err);

/* Writes everything buffered. CM_E_IO ("write error on NAME: reason") on failure. */
int cm_sink_flush(struct cm_sink *s, struct cm_err *err);


/* Flushes, closes (checking close), frees. Returns 0 or CM_FAIL. */
int cm_sink_close(struct cm_sink *s, struct cm_err *err);

/* Grow the pipe buffer of fd to 1 MiB when it is a pipe (Linux); ignores failure. */
void cm_pipe_grow(int fd);

#endif
