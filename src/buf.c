/* \summary: growable byte buffers */
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

#include "cdrmin/buf.h"

void cm_buf_init(struct cm_buf *b)
{
	b->p = NULL;
	b->n = b->cap = 0;
	b->oom = 0;
}

void cm_buf_deinit(struct cm_buf *b)
{
	if (b->p)
		sodium_memzero(b->p, b->cap);
	free(b->p);
	cm_buf_init(b);
}

int cm_buf_reserve(struct cm_buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (b->oom)
		return -1;
	if (b->cap - b->n >= extra)
		return 0;
	if (extra > SIZE_MAX / 2 - b->n)
		goto fail;
	want = b->n + extra;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	/* realloc would leave a copy of originals behind: move by hand and wipe. */
	p = malloc(cap);
	if (!p)
		goto fail;
	if (b->p) {
		memcpy(p, b->p, b->n);
		sodium_memzero(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return 0;
fail:
	b->oom = 1;
	return -1;
}

void cm_buf_addu(struct cm_buf *b, unsigned long long v)
{
	char tmp[24];
	size_t i = sizeof tmp;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	cm_buf_add(b, tmp + i, sizeof tmp - i);
}
