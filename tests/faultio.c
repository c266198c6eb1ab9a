/*
 * \summary: faultio, an LD_PRELOAD library that makes I/O calls short or interrupted
 *
 * Loaded into cdrmin by tests/faults.sh, it wraps the system calls that the
 * program (and the libraries it calls through the PLT) uses for I/O: read,
 * write, pread, pwrite, readv, writev, poll, ppoll, recv, recvfrom, send.
 * The wrapped calls are numbered in the order they happen; call number i
 *
 *   - fails with EINTR, before anything is transferred, when i is a multiple
 *     of FAULTIO_EINTR (poll and ppoll only take this fault);
 *   - otherwise, when i is a multiple of FAULTIO_SHORT and more than one
 *     byte was asked for, is passed on with a smaller count: 1 to n-1 bytes,
 *     a pseudo-random amount drawn from FAULTIO_SEED and i.
 *
 * Both faults are legal results of these calls (POSIX: a read or write may
 * transfer fewer bytes than asked; a call interrupted by a signal handler
 * before it transferred anything fails with EINTR), so a correct program
 * produces the same output with and without them. The same environment gives
 * the same faults at the same calls: there is no clock and no global random
 * state, the amount is a hash of (seed, call number).
 *
 * Environment:
 *   FAULTIO_SHORT N   every Nth call short (default 3; 0: never)
 *   FAULTIO_EINTR M   every Mth call EINTR (default 7; 0: never; 1 counts as 2,
 *                     or a retry would be interrupted for ever)
 *   FAULTIO_SEED S    the seed of the short amounts (default 1)
 *   FAULTIO_NO_EINTR L  the calls of the comma-separated list L ("read,poll")
 *                     never take EINTR (they are still counted and may be
 *                     short)
 *   FAULTIO_NONBLOCK L  at load, set O_NONBLOCK on the descriptors of the
 *                     comma-separated list L ("1": stdout), as a parent that
 *                     shares a non-blocking pipe would leave them
 *   FAULTIO_EAGAIN K  every Kth write, writev or send on a non-blocking
 *                     descriptor (counted apart from the other calls, so that
 *                     the poll between two attempts does not shift the
 *                     pattern) fails with EAGAIN, as it does when the reader
 *                     is behind (default 0: never; 1 counts as 2)
 *   FAULTIO_COUNT F   at exit, append to file F one line
 *                     "pid=P calls=C injected=I short-read=.. eintr-read=.. ..."
 *                     (the counts per call and kind of fault), so that a test
 *                     can prove the faults happened
 *
 * What it cannot reach: glibc's stdio (fread, fwrite, fgets) calls the
 * kernel through internal aliases (__read, __write) that an LD_PRELOAD
 * library does not interpose, so a FILE opened with fopen, and anything
 * written with fprintf, take no fault. Wrapping fread itself would not help:
 * a short fread means end of file or error, not a legal fault to inject.
 * libpcap reads captures with fread, but from a fopencookie stream whose read
 * function (src/decomp.c) calls read(): those reads are reached. Nor does it
 * reach what does not go through the PLT: getrandom, fsync (not faulted).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum op { OP_READ, OP_WRITE, OP_PREAD, OP_PWRITE, OP_READV, OP_WRITEV, OP_POLL, OP_PPOLL,
	  OP_RECV, OP_RECVFROM, OP_SEND, OP__COUNT };

static const char *const op_names[OP__COUNT] = {
	"read", "write", "pread", "pwrite", "readv", "writev", "poll", "ppoll",
	"recv", "recvfrom", "send",
};

static uint64_t every_short = 3, every_eintr = 7, seed = 1;
static const char *count_file;
static int configured;

static uint64_t every_eagain;
static int no_eintr[OP__COUNT];

/* Counters; updated with atomics in case a library calls from a thread. */
static uint64_t ncalls, nnonblock_writes;
static uint64_t nshort[OP__COUNT], neintr[OP__COUNT], neagain[OP__COUNT];

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static int (*real_poll)(struct pollfd *, nfds_t, int);
static int (*real_ppoll)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_send)(int, const void *, size_t, int);

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *s = getenv(name);
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return dflt;
	v = strtoull(s, &end, 10);
	return *end ? dflt : (uint64_t)v;
}

/* Resolves the next definition of each wrapped call (libc's, or a sanitizer's). */
static void configure(void)
{
	int k;

	if (__atomic_load_n(&configured, __ATOMIC_ACQUIRE))
		return;
	every_short = env_u64("FAULTIO_SHORT", 3);
	every_eintr = env_u64("FAULTIO_EINTR", 7);
	every_eagain = env_u64("FAULTIO_EAGAIN", 0);
	if (every_eintr == 1)
		every_eintr = 2;
	if (every_eagain == 1)
		every_eagain = 2;
	seed = env_u64("FAULTIO_SEED", 1);
	count_file = getenv("FAULTIO_COUNT");
	for (k = 0; k < OP__COUNT; k++) {
		const char *p = getenv("FAULTIO_NO_EINTR");
		size_t len = strlen(op_names[k]);

		/* op_names[k] as a whole item of the list */
		while (p && (p = strstr(p, op_names[k])) != NULL) {
			if ((p == getenv("FAULTIO_NO_EINTR") || p[-1] == ',') &&
			    (p[len] == ',' || p[len] == '\0'))
				no_eintr[k] = 1;
			p += len;
		}
	}
	*(void **)&real_read = dlsym(RTLD_NEXT, "read");
	*(void **)&real_write = dlsym(RTLD_NEXT, "write");
	*(void **)&real_pread = dlsym(RTLD_NEXT, "pread");
	*(void **)&real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	*(void **)&real_readv = dlsym(RTLD_NEXT, "readv");
	*(void **)&real_writev = dlsym(RTLD_NEXT, "writev");
	*(void **)&real_poll = dlsym(RTLD_NEXT, "poll");
	*(void **)&real_ppoll = dlsym(RTLD_NEXT, "ppoll");
	*(void **)&real_recv = dlsym(RTLD_NEXT, "recv");
	*(void **)&real_recvfrom = dlsym(RTLD_NEXT, "recvfrom");
	*(void **)&real_send = dlsym(RTLD_NEXT, "send");
	__atomic_store_n(&configured, 1, __ATOMIC_RELEASE);
}

/* splitmix64: a well-mixed 64-bit value from (seed, call number). */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

enum fault { NONE, EINTR_FAULT, SHORT_FAULT, EAGAIN_FAULT };

/*
 * Decides the fault of the next call of op on fd asking for n bytes (fd -1:
 * not a write); for a short one *less is the count to pass on (1 to n-1).
 */
static enum fault decide_fd(enum op op, int fd, size_t n, size_t *less)
{
	uint64_t i, r;
	unsigned bits, b;
	size_t limit;
	int fl;

	configure();
	i = __atomic_add_fetch(&ncalls, 1, __ATOMIC_RELAXED);
	if (every_eagain && fd >= 0 && (fl = fcntl(fd, F_GETFL)) >= 0 && (fl & O_NONBLOCK) &&
	    __atomic_add_fetch(&nnonblock_writes, 1, __ATOMIC_RELAXED) % every_eagain == 0) {
		__atomic_add_fetch(&neagain[op], 1, __ATOMIC_RELAXED);
		return EAGAIN_FAULT;
	}
	if (every_eintr && i % every_eintr == 0 && !no_eintr[op]) {
		__atomic_add_fetch(&neintr[op], 1, __ATOMIC_RELAXED);
		return EINTR_FAULT;
	}
	if (!every_short || i % every_short != 0 || n < 2 || op == OP_POLL || op == OP_PPOLL)
		return NONE;
	/*
	 * Log-uniform: a limit of 2^b bytes for b drawn from 0 to the bits of n,
	 * so that a large buffer is cut at every scale, to a few bytes as often
	 * as to a few hundred KiB.
	 */
	r = mix(seed ^ mix(i));
	bits = 64 - (unsigned)__builtin_clzll((unsigned long long)(n - 1));
	b = (unsigned)(r & 63) % (bits + 1);
	limit = b >= bits ? n - 1 : (size_t)1 << b;
	*less = 1 + (size_t)((r >> 6) % limit);
	__atomic_add_fetch(&nshort[op], 1, __ATOMIC_RELAXED);
	return SHORT_FAULT;
}

static enum fault decide(enum op op, size_t n, size_t *less)
{
	return decide_fd(op, -1, n, less);
}

ssize_t read(int fd, void *buf, size_t n)
{
	size_t m = n;

	switch (decide(OP_READ, n, &m)) {
	case EINTR_FAULT: errno = EINTR; return -1;
	default: return real_read(fd, buf, m);
	}
}

ssize_t write(int fd, const void *buf, size_t n)
{
	size_t m = n;

	switch (decide_fd(OP_WRITE, fd, n, &m)) {
	case EINTR_FAULT: errno = EINTR; return -1;
	case EAGAIN_FAULT: errno = EAGAIN; return -1;
	default: return real_write(fd, buf, m);
	}
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	size_t m = n;

	switch (decide(OP_PREAD, n, &m)) {
	case EINTR_FAULT: errno = EINTR; return -1;
	default: return real_pread(fd, buf, m, off);
	}
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	size_t m = n;

	switch (decide(OP_PWRITE, n, &m)) {
	case EINTR_FAULT: errno = EINTR; return -1;
	default: return real_pwrite(fd, buf, m, off);
	}
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

/*
 * A vector call made short: the vectors up to m bytes, the one that holds
 * byte m cut there. Uses at most IOV_CAP vectors; beyond that it is whole.
 */
#define IOV_CAP 64

static int cut_iov(const struct iovec *iov, int cnt, size_t m, struct iovec *out)
{
	int k = 0;

	while (k < cnt && k < IOV_CAP && m > 0) {
		out[k] = iov[k];
		if (out[k].iov_len > m)
			out[k].iov_len = m;
		m -= out[k].iov_len;
		k++;
	}
	return k;
}

static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t n = 0;
	int k;

	for (k = 0; k < cnt && k < IOV_CAP; k++)
		n += iov[k].iov_len;
	return cnt > IOV_CAP ? 0 : n; /* 0: never cut */
}

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	struct iovec cut[IOV_CAP];
	size_t m = 0;

	switch (decide(OP_READV, iov_total(iov, cnt), &m)) {
	case EINTR_FAULT: errno = EINTR; return -1;
	case SHORT_FAULT: return real_readv(fd, cut, cut_iov(iov, cnt, m, cut));
	default: return real_readv(fd, iov, cnt);
	}
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	struct iovec cut[IOV_CAP];
	size_t m = 0;

	switch (decide_fd(OP_WRITEV, fd, iov_total(iov, cnt), &m)) {
	case EINTR_FAULT: errno = EINTR; return -1;
	case EAGAIN_FAULT: errno = EAGAIN; return -1;
	case SHORT_FAULT: return real_writev(fd, cut, cut_iov(iov, cnt, m, cut));
	default: return real_writev(fd, iov, cnt);
	}
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	size_t m = 0;

	if (decide(OP_POLL, 0, &m) == EINTR_FAULT) {
		errno = EINTR;
		return -1;
	}
	return real_poll(fds, nfds, timeout);
}

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *t, const sigset_t *mask)
{
	size_t m = 0;

	if (decide(OP_PPOLL, 0, &m) == EINTR_FAULT) {
		errno = EINTR;
		return -1;
	}
	return real_ppoll(fds, nfds, t, mask);
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	size_t m = n;

	switch (decide(OP_RECV, n, &m)) {
	case EINTR_FAULT: errno = EINTR; return -1;
	default: return real_recv(fd, buf, m, flags);
	}
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa, socklen_t *salen)
{
	size_t m = n;

	/* A datagram read short loses its rest: only EINTR is legal here. */
	if (decide(OP_RECVFROM, 0, &m) == EINTR_FAULT) {
		errno = EINTR;
		return -1;
	}
	return real_recvfrom(fd, buf, n, flags, sa, salen);
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	size_t m = n;

	switch (decide_fd(OP_SEND, fd, n, &m)) {
	case EINTR_FAULT: errno = EINTR; return -1;
	case EAGAIN_FAULT: errno = EAGAIN; return -1;
	default: return real_send(fd, buf, m, flags);
	}
}

/* At load: the descriptors of FAULTIO_NONBLOCK made non-blocking. */
__attribute__((constructor)) static void set_nonblock(void)
{
	const char *p = getenv("FAULTIO_NONBLOCK");
	char *end;

	configure();
	while (p && *p) {
		long fd = strtol(p, &end, 10);
		int fl;

		if (end == p)
			break;
		if (fd >= 0 && fd <= 1024 && (fl = fcntl((int)fd, F_GETFL)) >= 0)
			(void)fcntl((int)fd, F_SETFL, fl | O_NONBLOCK);
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			break;
	}
}

/* At exit: one line of counts appended to FAULTIO_COUNT, written whole. */
__attribute__((destructor)) static void report(void)
{
	char line[1024];
	size_t n, off;
	uint64_t total = 0;
	int fd, k;

	configure();
	if (!count_file || !*count_file)
		return;
	for (k = 0; k < OP__COUNT; k++)
		total += __atomic_load_n(&nshort[k], __ATOMIC_RELAXED) +
			 __atomic_load_n(&neintr[k], __ATOMIC_RELAXED) +
			 __atomic_load_n(&neagain[k], __ATOMIC_RELAXED);
	n = (size_t)snprintf(line, sizeof line, "pid=%ld calls=%llu injected=%llu", (long)getpid(),
			     (unsigned long long)__atomic_load_n(&ncalls, __ATOMIC_RELAXED),
			     (unsigned long long)total);
	for (k = 0; k < OP__COUNT && n < sizeof line; k++)
		n += (size_t)snprintf(line + n, sizeof line - n, " short-%s=%llu eintr-%s=%llu",
				      op_names[k],
				      (unsigned long long)__atomic_load_n(&nshort[k], __ATOMIC_RELAXED),
				      op_names[k],
				      (unsigned long long)__atomic_load_n(&neintr[k], __ATOMIC_RELAXED));
	for (k = 0; k < OP__COUNT && n < sizeof line; k++)
		if (__atomic_load_n(&neagain[k], __ATOMIC_RELAXED))
			n += (size_t)snprintf(line + n, sizeof line - n, " eagain-%s=%llu", op_names[k],
					      (unsigned long long)__atomic_load_n(&neagain[k],
										  __ATOMIC_RELAXED));
	if (n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	fd = open(count_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	/* real_write: the report itself takes no fault and is not counted. */
	for (off = 0; off < n;) {
		ssize_t w = real_write(fd, line + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fd);
}
