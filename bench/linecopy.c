/*
 * \summary: the parse limit of a line filter: reads, splits lines, writes
 * them back.
 *
 *   linecopy [FILE]
 *
 * Reads FILE (stdin when none) in blocks into a 1 MiB buffer, finds each
 * line with memchr and copies it, one line at a time, into a 256 KiB output
 * buffer written when full: the least a filter that looks at every record
 * must do, with no field parsing. The output equals the input byte for byte.
 * A line longer than the input buffer is passed through in pieces; a last
 * line without LF is copied as it is. Prints "linecopy: lines=N" on stderr
 * with -c. Exits 1 on an I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IN_CAP (1u << 20)
#define OUT_CAP (256u << 10)

static char in[IN_CAP], out[OUT_CAP];
static size_t out_len;

static void flush_out(void)
{
	size_t off = 0;

	while (off < out_len) {
		ssize_t k = write(1, out + off, out_len - off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			fprintf(stderr, "linecopy: write error: %s\n", k < 0 ? strerror(errno) : "short write");
			exit(1);
		}
		off += (size_t)k;
	}
	out_len = 0;
}

static void emit(const char *p, size_t n)
{
	while (n) {
		size_t room = OUT_CAP - out_len, k = n < room ? n : room;

		memcpy(out + out_len, p, k);
		out_len += k;
		p += k;
		n -= k;
		if (out_len == OUT_CAP)
			flush_out();
	}
}

int main(int argc, char **argv)
{
	int fd = 0, count = 0;
	size_t len = 0;
	unsigned long long lines = 0;

	if (argc > 1 && strcmp(argv[1], "-c") == 0) {
		count = 1;
		argc--;
		argv++;
	}
	if (argc > 2) {
		fputs("usage: linecopy [-c] [FILE]\n", stderr);
		return 64;
	}
	if (argc == 2 && (fd = open(argv[1], O_RDONLY)) < 0) {
		fprintf(stderr, "linecopy: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (;;) {
		ssize_t k = read(fd, in + len, IN_CAP - len);
		const char *p = in, *end, *nl;

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			fprintf(stderr, "linecopy: read error: %s\n", strerror(errno));
			return 1;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		end = in + len;
		while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
			emit(p, (size_t)(nl + 1 - p));
			lines++;
			p = nl + 1;
		}
		if (p == in && len == IN_CAP) { /* one line longer than the buffer */
			emit(in, len);
			len = 0;
		} else {
			len = (size_t)(end - p);
			memmove(in, p, len);
		}
	}
	if (len) {
		emit(in, len);
		lines++;
	}
	flush_out();
	if (count)
		fprintf(stderr, "linecopy: lines=%llu\n", lines);
	return 0;
}
