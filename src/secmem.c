/*
 * \summary: memory for memo caches that hold originals (see secmem.h)
 */
#include <sys/mman.h>

#include <sodium.h>

#include "cdrmin/secmem.h"

void *cm_secmem_map(size_t bytes, int *locked)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
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
