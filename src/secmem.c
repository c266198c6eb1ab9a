/*
 * \summary: memory for memo caches that hold originals (see secmem.h)
 */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium.h>

#include "cdrmin/secmem.h"

/* A transparent huge page on x86-64 and most arm64 kernels. */
#define HUGE_BYTES ((size_t)2 << 20)

/*
 * A map of bytes; from HUGE_BYTES on, starting on a huge-page boundary (the
 * slack around it given back), so the kernel can back it with huge pages
 * when asked. Memo lookups land anywhere in maps of many MiB: with 4 KiB
 * pages nearly every one also misses the TLB.
 */
static void *map_aligned(size_t bytes)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), used, head;
	char *p;

	if (bytes < HUGE_BYTES || bytes > SIZE_MAX - 2 * HUGE_BYTES || pg == 0 ||
	    HUGE_BYTES % pg != 0) {
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	used = (bytes + pg - 1) / pg * pg;
	p = mmap(NULL, used + HUGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Pages all: the map starts on a page, and head stays under HUGE_BYTES. */
	head = (HUGE_BYTES - (uintptr_t)p % HUGE_BYTES) % HUGE_BYTES;
	if (head)
		munmap(p, head);
	munmap(p + head + used, HUGE_BYTES - head);
	p += head;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, bytes, MADV_HUGEPAGE); /* only a hint: 4 KiB pages work the same */
#endif
	return p;
}

void *cm_secmem_map(size_t bytes, int *locked)
{
	void *p = map_aligned(bytes);

	if (!p)
		return NULL;
	if (madvise(p, bytes, MADV_DONTDUMP) != 0) {
		munmap(p, bytes);
		return NULL;
	}
	if (locked)
		*locked = mlock(p, bytes) == 0;
	else
		(void)mlock(p, bytes);
	return p;
}

void cm_secmem_unmap(void *p, size_t bytes)
{
	if (!p)
		return;
	sodium_memzero(p, bytes);
	munmap(p, bytes);
}
