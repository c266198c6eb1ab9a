/*
 * \summary: memory for memo caches that hold originals (see secmem.h)
 */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sodium.h>

#include "cdrmin/secmem.h"

/*
 * A memo of some megabytes is probed at random places, one or two lines a
 * value: on 4 KiB pages nearly every probe also misses the TLB. From
 * HUGE_BYTES on, a table starts on a 2 MiB boundary and asks for
 * transparent huge pages: its whole 2 MiB stretches get them, its tail
 * keeps small pages (no memory added). A kernel that gives none leaves
 * small pages throughout: the same memory, only slower.
 */
#define HUGE_BYTES ((size_t)2 << 20)

void *cm_secmem_map(size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len, lead;
	char *p, *m;

	if (page == 0 || (page & (page - 1)) || page > HUGE_BYTES)
		page = 4096;
	len = (bytes + page - 1) & ~(page - 1);
	if (len < bytes || len > SIZE_MAX - HUGE_BYTES)
		return NULL; /* wrapped */
	if (bytes >= HUGE_BYTES) {
		/* a huge page's worth more, to cut an aligned region out of */
		m = mmap(NULL, len + HUGE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		lead = (HUGE_BYTES - ((uintptr_t)m & (HUGE_BYTES - 1))) & (HUGE_BYTES - 1);
		if (lead)
			munmap(m, lead);
		if (HUGE_BYTES - lead)
			munmap(m + lead + len, HUGE_BYTES - lead);
		p = m + lead;
#ifdef MADV_HUGEPAGE
		(void)madvise(p, len, MADV_HUGEPAGE);
#endif
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
	}
	if (madvise(p, len, MADV_DONTDUMP) != 0) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

/*
 * mlock faults every page in for writing (a private writable map), so it
 * both locks and populates. Refused (RLIMIT_MEMLOCK), the pages are still
 * faulted in writable, only not locked. The system call is made directly:
 * the sanitizers' runtimes replace mlock(3) with a call that does nothing
 * and says it worked, and the pages are to be locked in every build, the
 * test builds included (tests/test_secmem.c checks VmLck in each).
 */
int cm_secmem_populate(void *p, size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), i;
	volatile char *b = p;

	if (!p || !bytes)
		return 0;
	if (syscall(SYS_mlock, p, bytes) == 0)
		return 0;
#ifdef MADV_POPULATE_WRITE
	if (madvise(p, bytes, MADV_POPULATE_WRITE) == 0)
		return -1;
#endif
	if (page == 0 || (page & (page - 1)))
		page = 4096;
	for (i = 0; i < bytes; i += page)
		b[i] = 0; /* nothing is stored yet: the zeros it already holds */
	return -1;
}

void cm_secmem_unmap(void *p, size_t bytes, int used)
{
	if (!p)
		return;
	if (used)
		sodium_memzero(p, bytes);
	munmap(p, bytes);
}
