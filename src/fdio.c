/*
 * \summary: whole reads and writes on a file descriptor (see fdio.h)
 */
#include <errno.h>
#include <unistd.h>

#include "cdrmin/fdio.h"

/* Reads up to n bytes: with read(2), or with pread(2) at off when at is set. */
static ssize_t read_all(int fd, unsigned char *p, size_t n, int at, uint64_t off)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = at ? pread(fd, p + got, n - got, (off_t)(off + got)) : read(fd, p + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

ssize_t cm_read_full(int fd, unsigned char *p, size_t n)
{
	return read_all(fd, p, n, 0, 0);
}

ssize_t cm_pread_full(int fd, unsigned char *p, size_t n, uint64_t off)
{
	return read_all(fd, p, n, 1, off);
}

int cm_write_full(int fd, const unsigned char *p, size_t n)
{
	ssize_t r;

	while (n) {
		r = write(fd, p, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) { /* not expected of a regular file; do not spin */
			errno = EIO;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}
