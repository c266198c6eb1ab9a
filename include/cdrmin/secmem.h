/*
 * cdrmin: memory that holds originals or secrets in bulk (memo caches).
 *
 * Anonymous pages kept out of core dumps (MADV_DONTDUMP), locked in RAM
 * when RLIMIT_MEMLOCK allows (so never in swap; a refusal leaves them
 * usable, only swappable), zeroed when mapped, and wiped when released.
 * For keys themselves use sodium_malloc (guard pages, canary).
 */
#ifndef CDRMIN_SECMEM_H
#define CDRMIN_SECMEM_H

#include <stddef.h>

/*
 * bytes of such memory, or NULL (no memory, or it cannot be kept out of
 * core dumps). *locked (when not NULL) says whether the lock held.
 */
void *cm_secmem_map(size_t bytes, int *locked);

/* Wipes and unmaps p[0..bytes); NULL does nothing. */
void cm_secmem_unmap(void *p, size_t bytes);

#endif
