/*
 * cdrmin: memory that holds originals or secrets in bulk (memo caches).
 *
 * Anonymous pages kept out of core dumps (MADV_DONTDUMP), locked in RAM
 * when RLIMIT_MEMLOCK allows (so never in swap; a refusal leaves them
 * usable, only swappable), zeroed when mapped, and wiped when released.
 * The pages come in, and are locked, when the table is first used
 * (cm_secmem_populate), not when it is mapped: a table never used costs
 * no memory.
 * For keys themselves use sodium_malloc (guard pages, canary).
 */
#ifndef CDRMIN_SECMEM_H
#define CDRMIN_SECMEM_H

#include <stddef.h>
#include <string.h>

/*
 * bytes of such memory, or NULL (no memory, or it cannot be kept out of
 * core dumps). Nothing may be stored in it before cm_secmem_populate:
 * only that locks it, and cm_secmem_unmap wipes only a populated map.
 */
void *cm_secmem_map(size_t bytes);

/*
 * Locks p[0..bytes) in RAM and faults it in, writable, before its first
 * use: 0, or -1 when the lock was refused (the pages are in all the same,
 * only swappable). Once per map, before anything is stored in it: where
 * the kernel can neither lock nor populate, it writes a zero to each page.
 * Call it from the thread that will use the memory, when it first does:
 * megabytes are cleared here, in that thread, and a table never used (a
 * -j run's lead's) is never faulted in at all. Pages that came in one by
 * one instead would each map the shared zero page at the first read and
 * replace it at the first write, and with threads on other cores each
 * replacement interrupts them to flush their TLBs.
 */
int cm_secmem_populate(void *p, size_t bytes);

/*
 * Wipes p[0..bytes) when used (it was populated), and unmaps it; NULL does
 * nothing. A map never populated holds nothing: wiping it would only fault
 * it in to clear it twice.
 */
void cm_secmem_unmap(void *p, size_t bytes, int used);

/*
 * Wipes p[0..n) where the wipe must not be optimized away but a call is
 * too dear: the work state of each hash, several times per record. The
 * empty asm takes p and clobbers memory, so the compiler must assume the
 * zeros are read and cannot drop the stores; a constant n stays a few
 * vector stores in line. sodium_memzero does the same through two calls.
 */
#if defined(__GNUC__)
/* 16 bytes at any alignment, of any type: what one unaligned vector store writes */
typedef long long cm_wipe16 __attribute__((vector_size(16), aligned(1), may_alias));
#endif

static inline void cm_wipe(void *p, size_t n)
{
#if defined(__GNUC__)
	size_t i;

	/*
	 * GCC makes a short constant memset "rep stos", whose start-up costs more
	 * than the stores: volatile vector stores, one by one, which it can
	 * neither drop nor merge back into a memset.
	 */
	if (__builtin_constant_p(n) && n % 16 == 0 && n <= 2048) {
		for (i = 0; i < n; i += 16)
			*(volatile cm_wipe16 *)(void *)((char *)p + i) = (cm_wipe16){ 0, 0 };
		return;
	}
	memset(p, 0, n);
	__asm__ __volatile__("" : : "r"(p) : "memory");
#else
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
#endif
}

#endif
