/* \summary: sources (files, stdin) and sinks (stdout, files) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cdrmin/decomp.h"
#include "cdrmin/io.h"

#define PIPE_SIZE (1 << 20)
#define ZIN_CAP (128 * 1024) /* compressed bytes read at a time */
#define SRC_STOP (-3)        /* read_raw: the stop flag ended the wait */
#define SINK_FLUSH_AT (256 * 1024)
/*
 * Bytes one read adds at most. The buffer is sized for the longest record,
 * about 1.3 MB; filled whole at each read, it pushed the memo tables out of
 * the core's 2 MiB L2 as it went. Read 128 KiB at a time, the same first
 * stretch of it is written and read again and stays there (Asterisk and
 * acc_json 3 to 4% faster; 64 KiB measured the same, 256 KiB half the
 * gain). Not for decompression: zstd decodes straight into a large buffer,
 * through its own window into a small one (6% slower so).
 */
#define FILL_MAX (128 * 1024)

/* The room a read may use: what the buffer has left, FILL_MAX at most. */
static size_t fill_room(const struct cm_source *s)
{
	size_t room = s->cap - s->end;

	return room < FILL_MAX ? room : FILL_MAX;
}

void cm_pipe_grow(int fd)
{
#ifdef F_SETPIPE_SZ
	struct stat st;

	/* 64 KiB pipes cost several times the throughput of 1 MiB ones. */
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && fcntl(fd, F_GETPIPE_SZ) < PIPE_SIZE)
		(void)fcntl(fd, F_SETPIPE_SZ, PIPE_SIZE);
#else
	(void)fd;
#endif
}

int cm_source_open(struct cm_source *s, const char *path, size_t cap, struct cm_err *err)
{
	struct stat st;
	int stdin_ = strcmp(path, "-") == 0;

	memset(s, 0, sizeof *s);
	s->fd = -1;
	s->name = strdup(stdin_ ? "stdin" : path);
	s->buf = malloc(cap);
	if (!s->name || !s->buf) {
		cm_source_close(s);
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	}
	s->cap = cap;
	if (stdin_) {
		s->fd = 0;
	} else {
		s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (s->fd < 0) {
			int e = errno;
			cm_source_close(s);
			return cm_err_set(err, CM_E_NOINPUT, "%s: cannot open: %s", path, strerror(e));
		}
		s->owned = 1;
	}
	if (fstat(s->fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
		cm_err_set(err, CM_E_NOINPUT, "%s: cannot read: %s", s->name, strerror(e));
		cm_source_close(s);
		return CM_FAIL;
	}
	s->may_block = !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
	s->size = S_ISREG(st.st_mode) && st.st_size > 0 ? (uint64_t)st.st_size : 0;
	if (S_ISFIFO(st.st_mode))
		cm_pipe_grow(s->fd);
	return 0;
}

/*
 * Stopping: the record in progress is completed from the bytes that are
 * already there (the rest of a file, or what a pipe holds now), one byte at
 * a time so that nothing after it is read. At a record boundary, or when the
 * next byte would have to be waited for, the input ends (stopped).
 */
static long finish_byte(struct cm_source *s, struct cm_err *err)
{
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
	ssize_t k;
	int ready = s->end > s->start;

	/* Without waiting: a pipe must hold the next byte already (EINTR is not "no byte"). */
	if (ready && s->may_block) {
		do
			ready = poll(&pfd, 1, 0);
		while (ready < 0 && errno == EINTR);
		ready = ready > 0;
	}
	if (ready) {
		do
			k = read(s->fd, s->buf + s->end, 1);
		while (k < 0 && errno == EINTR);
		if (k < 0)
			return cm_err_set(err, CM_E_IO, "%s: read error: %s", s->name, strerror(errno));
		if (k == 1) {
			s->end++;
			s->bytes++;
			s->raw_bytes++;
			return 1;
		}
	}
	s->eof = 1;
	s->stopped = 1;
	return 0;
}

/* A decompressor's fault, as the source's error: "NAME: gzip data corrupt at ...". */
static int zfault(struct cm_source *s, const struct cm_err *e, struct cm_err *err)
{
	return cm_err_set(err, e->code, "%s: %s", s->name, e->msg);
}

/*
 * Stopping, compressed input: as finish_byte, one decompressed byte at a
 * time, from the compressed bytes already read and those a file or a pipe
 * holds now (read in blocks: a stop ends a compressed stream at a record
 * boundary of the data, not of the compressed bytes).
 */
static long finish_zbyte(struct cm_source *s, struct cm_err *err)
{
	while (s->end > s->start) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		struct cm_err e = {0};
		size_t used, made;
		ssize_t k;
		int ready = 1;

		if (cm_z_run(s->z, s->zin + s->zin_start, s->zin_end - s->zin_start, &used,
			     s->buf + s->end, 1, &made, &e) != 0) {
			if (!made)
				return zfault(s, &e, err);
			zfault(s, &e, &s->zerr);
		}
		s->zin_start += used;
		if (made) {
			s->end++;
			s->bytes++;
			return 1;
		}
		if (s->zin_start < s->zin_end) {
			if (!used)
				break;
			continue;
		}
		if (s->raw_eof)
			break;
		if (s->may_block) {
			do
				ready = poll(&pfd, 1, 0);
			while (ready < 0 && errno == EINTR);
			ready = ready > 0;
		}
		if (!ready)
			break;
		do
			k = read(s->fd, s->zin, ZIN_CAP);
		while (k < 0 && errno == EINTR);
		if (k < 0)
			return cm_err_set(err, CM_E_IO, "%s: read error: %s", s->name, strerror(errno));
		s->zin_start = 0;
		s->zin_end = (size_t)k;
		s->raw_bytes += (uint64_t)k;
		s->raw_eof = k == 0;
	}
	s->eof = 1;
	s->stopped = 1;
	return 0;
}

/*
 * Reads up to cap bytes of the file or pipe into dst. A pipe is waited for
 * in poll (see cm_source_fill), calling idle before the wait and again
 * every CM_STOP_POLL_MS while it goes on. Returns bytes read (> 0), 0 at
 * the end, CM_FAIL, or SRC_STOP when the stop flag ended the wait.
 */
static long read_raw(struct cm_source *s, char *dst, size_t cap, int (*idle)(void *ud), void *ud,
		     const volatile sig_atomic_t *stop, struct cm_err *err)
{
	ssize_t k;

	if (s->may_block) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		int first = 1;

		/*
		 * Wait in poll, not in read: a signal or the stop flag must end the
		 * wait, and nothing ready is the moment to flush (live pipes).
		 */
		for (;;) {
			int r;

			if (stop && *stop)
				return SRC_STOP;
			r = poll(&pfd, 1, first ? 0 : CM_STOP_POLL_MS);
			if (r > 0)
				break;
			/* A signal: look at the stop flag, then wait again; an idle flush is still due. */
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return cm_err_set(err, CM_E_IO, "%s: poll: %s", s->name, strerror(errno));
			/* first: output goes out before the wait; then the caller's periodic work */
			if (idle && idle(ud) != 0)
				return CM_FAIL;
			first = 0;
		}
	}
	do
		k = read(s->fd, dst, cap);
	while (k < 0 && errno == EINTR && !(stop && *stop));
	if (k < 0 && errno == EINTR)
		return SRC_STOP;
	if (k < 0)
		return cm_err_set(err, errno == EISDIR ? CM_E_NOINPUT : CM_E_IO, "%s: read error: %s",
				  s->name, strerror(errno));
	s->raw_bytes += (uint64_t)k;
	return (long)k;
}

/* Compressed input: decompresses into the buffer, reading compressed bytes as needed. */
static long fill_z(struct cm_source *s, int (*idle)(void *ud), void *ud,
		   const volatile sig_atomic_t *stop, struct cm_err *err)
{
	for (;;) {
		struct cm_err e = {0};
		size_t used, made;
		int rc;

		if (s->zin_start == s->zin_end && !s->raw_eof) {
			long k = read_raw(s, (char *)s->zin, ZIN_CAP, idle, ud, stop, err);

			if (k == SRC_STOP)
				return finish_zbyte(s, err);
			if (k < 0)
				return CM_FAIL;
			s->zin_start = 0;
			s->zin_end = (size_t)k;
			s->raw_eof = k == 0;
		}
		rc = cm_z_run(s->z, s->zin + s->zin_start, s->zin_end - s->zin_start, &used,
			      s->buf + s->end, s->cap - s->end, &made, &e);
		s->zin_start += used;
		s->end += made;
		s->bytes += made;
		if (rc != 0) {
			/* the records before the fault are read first; the next fill reports it */
			if (!made)
				return zfault(s, &e, err);
			zfault(s, &e, &s->zerr);
		}
		if (made)
			return (long)made;
		if (s->zin_start == s->zin_end && s->raw_eof) {
			if (cm_z_finish(s->z, &e) != 0)
				return zfault(s, &e, err);
			s->eof = 1;
			return 0;
		}
		if (!used && s->zin_start < s->zin_end)
			return cm_err_set(err, CM_E_INTERNAL, "%s: the %s decoder made no progress",
					  s->name, cm_z_name((enum cm_zkind)s->zkind));
	}
}

/*
 * The first bytes say whether the input is compressed (decomp.h): they are
 * read as data, and moved to a decompressor when they start gzip or zstd.
 * Reads only while the bytes so far could be the start of a magic number,
 * so a live stream's first record is not held back.
 */
static long sniff(struct cm_source *s, int (*idle)(void *ud), void *ud,
		  const volatile sig_atomic_t *stop, struct cm_err *err)
{
	size_t room = s->cap < ZIN_CAP ? s->cap : ZIN_CAP; /* the first fill: s->end is 0 */
	struct cm_err e = {0};
	int d;

	while ((d = cm_z_detect(s->buf, s->end, s->eof)) == CM_NEED_MORE) {
		long k = read_raw(s, s->buf + s->end, room - s->end, idle, ud, stop, err);

		if (k == SRC_STOP) {
			/* undecided: what there is, is data */
			s->sniffed = 1;
			s->bytes += s->end;
			return s->end ? (long)s->end : finish_byte(s, err);
		}
		if (k < 0)
			return CM_FAIL;
		if (k == 0)
			s->eof = 1;
		s->end += (size_t)k;
	}
	s->sniffed = 1;
	if (d == CM_Z_NONE) {
		s->bytes += s->end;
		return (long)s->end;
	}
	s->zkind = d;
	s->zin = malloc(ZIN_CAP);
	if (!s->zin)
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	s->z = cm_z_new((enum cm_zkind)d, &e);
	if (!s->z)
		return zfault(s, &e, err);
	memcpy(s->zin, s->buf, s->end);
	s->zin_start = 0;
	s->zin_end = s->end;
	s->raw_eof = s->eof;
	s->eof = 0;
	s->end = 0;
	return fill_z(s, idle, ud, stop, err);
}

long cm_source_fill(struct cm_source *s, int (*idle)(void *ud), void *ud,
		    const volatile sig_atomic_t *stop, struct cm_err *err)
{
	long k;

	if (s->start > 0) {
		memmove(s->buf, s->buf + s->start, s->end - s->start);
		s->end -= s->start;
		s->start = 0;
	}
	if (s->end == s->cap)
		return cm_err_set(err, CM_E_INTERNAL, "%s: input buffer full", s->name);
	if (s->zerr.code) {
		if (err)
			*err = s->zerr;
		return CM_FAIL;
	}
	if (s->eof)
		return 0;
	if (stop && *stop)
		return s->z ? finish_zbyte(s, err) : finish_byte(s, err);
	if (!s->sniffed)
		return sniff(s, idle, ud, stop, err);
	if (s->z)
		return fill_z(s, idle, ud, stop, err);
	k = read_raw(s, s->buf + s->end, fill_room(s), idle, ud, stop, err);
	if (k == SRC_STOP)
		return finish_byte(s, err);
	if (k < 0)
		return CM_FAIL;
	if (k == 0) {
		s->eof = 1;
		return 0;
	}
	s->end += (size_t)k;
	s->bytes += (uint64_t)k;
	return k;
}

void cm_source_close(struct cm_source *s)
{
	if (s->owned && s->fd >= 0)
		close(s->fd);
	free(s->name);
	if (s->buf)
		sodium_memzero(s->buf, s->cap); /* it held originals */
	free(s->buf);
	if (s->zin)
		sodium_memzero(s->zin, ZIN_CAP); /* compressed originals */
	free(s->zin);
	cm_z_free(s->z);
	memset(s, 0, sizeof *s);
	s->fd = -1;
}

int cm_sink_open(struct cm_sink *s, const char *path, struct cm_err *err)
{
	memset(s, 0, sizeof *s);
	cm_buf_init(&s->buf);
	s->flush_at = SINK_FLUSH_AT;
	if (!path) {
		s->fd = 1;
		s->name = strdup("stdout");
		cm_pipe_grow(1);
	} else {
		s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666);
		if (s->fd < 0) {
			int e = errno;
			return cm_err_set(err, CM_E_IO, "%s: cannot create: %s", path, strerror(e));
		}
		s->owned = 1;
		s->name = strdup(path);
	}
	if (!s->name || cm_buf_reserve(&s->buf, SINK_FLUSH_AT + 4096) != 0) {
		cm_sink_close(s, NULL);
		return cm_err_set(err, CM_E_NOMEM, "out of memory");
	}
	return 0;
}

/*
 * An output descriptor left non-blocking by whoever opened it (a shared
 * pipe) says EAGAIN when the reader is behind: wait for room as a blocking
 * write would. A signal does not end the wait (a second stop signal ends the
 * process). Returns 0 when writing may go on, -1 with errno set when not.
 */
static int wait_writable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int r;

	do
		r = poll(&pfd, 1, -1);
	while (r < 0 && errno == EINTR);
	return r > 0 ? 0 : -1;
}

/* See struct cm_sink: the path again, appended to (the operator may not have moved it). */
static int sink_reopen(struct cm_sink *s, struct cm_err *err)
{
	int fd;

	s->reopen_seen = *s->reopen;
	fd = open(s->name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0666);
	if (fd < 0)
		return cm_err_set(err, CM_E_IO, "%s: cannot reopen after SIGHUP: %s", s->name,
				  strerror(errno));
	/* what was written to the old file is only safe once its close succeeded (NFS) */
	if (close(s->fd) != 0 && errno != EINTR) {
		int e = errno;

		s->fd = fd;
		return cm_err_set(err, CM_E_IO, "write error on %s (before SIGHUP): %s", s->name,
				  strerror(e));
	}
	s->fd = fd;
	return 0;
}

/* Writes p[0..n) to the sink's descriptor, all of it or an error. */
static int write_all(struct cm_sink *s, const char *p, size_t n, struct cm_err *err)
{
	size_t off = 0;

	while (off < n) {
		ssize_t k = write(s->fd, p + off, n - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_writable(s->fd) == 0)
			continue;
		if (k <= 0) {
			int e = k < 0 ? errno : ENOSPC;

			return cm_err_set(err, CM_E_IO, "write error on %s: %s", s->name, strerror(e));
		}
		off += (size_t)k;
		s->bytes += (uint64_t)k;
	}
	return 0;
}

int cm_sink_flush(struct cm_sink *s, struct cm_err *err)
{
	int rc;

	if (s->buf.oom)
		return cm_err_set(err, CM_E_NOMEM, "out of memory for output");
	if (s->reopen && s->owned && *s->reopen != s->reopen_seen && sink_reopen(s, err) != 0)
		return CM_FAIL;
	rc = write_all(s, s->buf.p, s->buf.n, err);
	/* Dropped on an error too: a partial record must not be retried later. */
	s->buf.n = 0;
	return rc;
}

int cm_sink_write(struct cm_sink *s, const char *p, size_t n, struct cm_err *err)
{
	if (cm_sink_flush(s, err) != 0)
		return CM_FAIL;
	return write_all(s, p, n, err);
}

int cm_sink_close(struct cm_sink *s, struct cm_err *err)
{
	int rc = 0;

	if (s->fd >= 0 && s->name)
		rc = cm_sink_flush(s, err);
	/* Linux has closed the descriptor even when close says EINTR: no retry, no error. */
	if (s->owned && s->fd >= 0 && close(s->fd) != 0 && errno != EINTR && rc == 0)
		rc = cm_err_set(err, CM_E_IO, "write error on %s: %s", s->name, strerror(errno));
	free(s->name);
	cm_buf_deinit(&s->buf);
	memset(s, 0, sizeof *s);
	s->fd = -1;
	return rc;
}
