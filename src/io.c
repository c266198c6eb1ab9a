/* \summary: sources (files, stdin) and sinks (stdout, files) */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cdrmin/io.h"

#define PIPE_SIZE (1 << 20)
#define SINK_FLUSH_AT (256 * 1024)

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

	if (s->end > s->start && (!s->may_block || poll(&pfd, 1, 0) > 0)) {
		do
			k = read(s->fd, s->buf + s->end, 1);
		while (k < 0 && errno == EINTR);
		if (k < 0)
			return cm_err_set(err, CM_E_IO, "%s: read error: %s", s->name, strerror(errno));
		if (k == 1) {
			s->end++;
			s->bytes++;
			return 1;
		}
	}
	s->eof = 1;
	s->stopped = 1;
	return 0;
}

long cm_source_fill(struct cm_source *s, int (*idle)(void *ud), void *ud,
		    const volatile sig_atomic_t *stop, struct cm_err *err)
{
	ssize_t k;

	if (s->start > 0) {
		memmove(s->buf, s->buf + s->start, s->end - s->start);
		s->end -= s->start;
		s->start = 0;
	}
	if (s->end == s->cap)
		return cm_err_set(err, CM_E_INTERNAL, "%s: input buffer full", s->name);
	if (s->eof)
		return 0;
	if (stop && *stop)
		return finish_byte(s, err);
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
				return finish_byte(s, err);
			r = poll(&pfd, 1, first ? 0 : CM_STOP_POLL_MS);
			if (r > 0)
				break;
			if (r < 0 && errno != EINTR)
				return cm_err_set(err, CM_E_IO, "%s: poll: %s", s->name, strerror(errno));
			if (r == 0 && first && idle && idle(ud) != 0)
				return CM_FAIL;
			first = 0;
		}
	}
	do
		k = read(s->fd, s->buf + s->end, s->cap - s->end);
	while (k < 0 && errno == EINTR && !(stop && *stop));
	if (k < 0 && errno == EINTR)
		return finish_byte(s, err);
	if (k < 0)
		return cm_err_set(err, errno == EISDIR ? CM_E_NOINPUT : CM_E_IO, "%s: read error: %s",
				  s->name, strerror(errno));
	if (k == 0) {
		s->eof = 1;
		return 0;
	}
	s->end += (size_t)k;
	s->bytes += (uint64_t)k;
	return (long)k;
}

void cm_source_close(struct cm_source *s)
{
	if (s->owned && s->fd >= 0)
		close(s->fd);
	free(s->name);
	if (s->buf)
		sodium_memzero(s->buf, s->cap); /* it held originals */
	free(s->buf);
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

int cm_sink_flush(struct cm_sink *s, struct cm_err *err)
{
	size_t off = 0;

	if (s->buf.oom)
		return cm_err_set(err, CM_E_NOMEM, "out of memory for output");
	while (off < s->buf.n) {
		ssize_t k = write(s->fd, s->buf.p + off, s->buf.n - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k < 0 ? errno : ENOSPC;
			/* Drop what could not be written: a partial record must not be retried later. */
			s->buf.n = 0;
			return cm_err_set(err, CM_E_IO, "write error on %s: %s", s->name, strerror(e));
		}
		off += (size_t)k;
		s->bytes += (uint64_t)k;
	}
	s->buf.n = 0;
	return 0;
}

int cm_sink_close(struct cm_sink *s, struct cm_err *err)
{
	int rc = 0;

	if (s->fd >= 0 && s->name)
		rc = cm_sink_flush(s, err);
	if (s->owned && s->fd >= 0 && close(s->fd) != 0 && rc == 0)
		rc = cm_err_set(err, CM_E_IO, "write error on %s: %s", s->name, strerror(errno));
	free(s->name);
	cm_buf_deinit(&s->buf);
	memset(s, 0, sizeof *s);
	s->fd = -1;
	return rc;
}
