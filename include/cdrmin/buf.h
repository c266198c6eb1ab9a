/*
 * cdrmin: growable byte buffers.
 *
 * Used for per-field scratch space and as the output buffer of encoders.
 * A buffer that failed to grow sets oom and ignores further appends, so a
 * caller may append several pieces and check once.
 */
#ifndef CDRMIN_BUF_H
#define CDRMIN_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cm_buf {
	char *p;
	size_t n;   /* bytes used */
	size_t cap; /* bytes allocated */
	int oom;    /* set when a reserve failed */
};

void cm_buf_init(struct cm_buf *b);
/* Frees the memory after wiping it: scratch may have held originals. */
void cm_buf_deinit(struct cm_buf *b);
/* Makes room for extra more bytes. Returns 0, or -1 (and sets oom). */
int cm_buf_reserve(struct cm_buf *b, size_t extra);

static inline void cm_buf_reset(struct cm_buf *b) { b->n = 0; }

/*
 * The length of a copy, hidden from the compiler unless it is a constant.
 * GCC expands a memcpy whose length it knows to be small (an 8-bit count, a
 * fixed array) as "rep movsq", whose start-up costs more than a whole short
 * copy: the memo hits of the hot path spent most of their time there. A
 * length it cannot bound goes to the C library's memcpy, which picks the
 * machine's best short-copy path; a constant still becomes plain moves.
 */
static inline size_t cm_copy_len(size_t n)
{
#if defined(__GNUC__)
	if (!__builtin_constant_p(n))
		__asm__("" : "+r"(n));
#endif
	return n;
}

/*
 * x[0..n) equals y[0..n): 8 to 16 bytes (a number, a short key) by two
 * overlapping 8-byte loads each, no call; other lengths by memcmp (none
 * when n is 0, so either may then be NULL).
 */
static inline int cm_same_bytes(const char *x, const char *y, size_t n)
{
	uint64_t a, b, c, d;

	if (n >= 8 && n <= 16) {
		memcpy(&a, x, 8);
		memcpy(&b, y, 8);
		memcpy(&c, x + n - 8, 8);
		memcpy(&d, y + n - 8, 8);
		return ((a ^ b) | (c ^ d)) == 0;
	}
	return n == 0 || memcmp(x, y, n) == 0;
}

static inline void cm_buf_add(struct cm_buf *b, const void *p, size_t n)
{
	if (b->cap - b->n < n && cm_buf_reserve(b, n) != 0)
		return;
	if (n)
		memcpy(b->p + b->n, p, cm_copy_len(n));
	b->n += n;
}

static inline void cm_buf_addc(struct cm_buf *b, char c)
{
	if (b->n == b->cap && cm_buf_reserve(b, 1) != 0)
		return;
	b->p[b->n++] = c;
}

static inline void cm_buf_adds(struct cm_buf *b, const char *s) { cm_buf_add(b, s, strlen(s)); }

/* Appends the decimal text of v. */
void cm_buf_addu(struct cm_buf *b, unsigned long long v);

#endif
