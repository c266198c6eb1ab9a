/*
 * \summary: runs a fuzz target's LLVMFuzzerTestOneInput on files.
 *
 * Linked with one fuzz_*.c in place of libFuzzer's main: for machines
 * without clang, and to reproduce a crash file under gdb or valgrind.
 * Usage: replay FILE...; exits 0 when every input ran, 66 when a file
 * cannot be read. A finding aborts, as under libFuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the whole of path into a malloc'd buffer of exactly *n bytes (1 when empty). */
static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL, *q;
	size_t cap = 0, k;

	*n = 0;
	if (!f)
		return NULL;
	for (;;) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 4096;
			if (!(q = realloc(p, cap)))
				goto fail;
			p = q;
		}
		k = fread(p + *n, 1, cap - *n, f);
		*n += k;
		if (k == 0)
			break;
	}
	if (ferror(f))
		goto fail;
	fclose(f);
	/* Shrink to the data, so that an over-read is caught by ASan or valgrind. */
	q = realloc(p, *n ? *n : 1);
	return q ? q : p;
fail:
	fclose(f);
	free(p);
	return NULL;
}

int main(int argc, char **argv)
{
	int i, unreadable = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE...\n", argv[0]);
		return 64;
	}
	for (i = 1; i < argc; i++) {
		size_t n;
		uint8_t *p = slurp(argv[i], &n);

		if (!p) {
			fprintf(stderr, "replay: cannot read %s\n", argv[i]);
			unreadable++;
			continue;
		}
		fprintf(stderr, "replay: %s (%zu bytes)\n", argv[i], n);
		LLVMFuzzerTestOneInput(p, n);
		free(p);
	}
	fprintf(stderr, "replay: %d files ran, %d unreadable\n", argc - 1 - unreadable, unreadable);
	return unreadable ? 66 : 0;
}
