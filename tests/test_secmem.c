/* \summary: unit tests of the memo caches' memory: pages come in, locked, when first used */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "cdrmin/secmem.h"
#include "support.h"

#define MAP_BYTES ((size_t)8 << 20) /* huge-page aligned (secmem.c) */

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* How many pages of p[0..bytes) are in memory. */
static size_t resident(void *p, size_t bytes)
{
	size_t pages = (bytes + page_size() - 1) / page_size(), i, n = 0;
	unsigned char *vec = malloc(pages);

	cr_assert_not_null(vec);
	cr_assert_eq(mincore(p, bytes, vec), 0);
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	free(vec);
	return n;
}

Test(secmem, a_map_takes_no_memory_until_populated)
{
	long before = cmt_status_kib("VmLck");
	char *p = cm_secmem_map(MAP_BYTES);

	cr_assert_not_null(p);
	cr_expect_eq(resident(p, MAP_BYTES), 0, "%zu pages in memory before any use",
		     resident(p, MAP_BYTES));
	cr_expect_eq(cmt_status_kib("VmLck"), before, "locked before any use");
	cm_secmem_unmap(p, MAP_BYTES, 0);
}

Test(secmem, populate_locks_and_brings_every_page_in_zeroed)
{
	size_t bytes = MAP_BYTES + 100, i; /* a last page partly used */
	long before = cmt_status_kib("VmLck");
	int can = cmt_may_lock(bytes);
	char *p = cm_secmem_map(bytes);

	cr_assert_not_null(p);
	if (can) {
		cr_expect_eq(cm_secmem_populate(p, bytes), 0);
		cr_expect_geq(cmt_status_kib("VmLck") - before, (long)(bytes >> 10));
	} else {
		cr_expect_eq(cm_secmem_populate(p, bytes), -1);
		cr_expect_eq(cmt_status_kib("VmLck"), before);
	}
	cr_expect_eq(resident(p, bytes), (bytes + page_size() - 1) / page_size());
	for (i = 0; i < bytes; i++)
		if (p[i] != 0)
			cr_assert_fail("byte %zu is %d after populate", i, p[i]);
	cm_secmem_unmap(p, bytes, 1);
}

static long minor_faults(void)
{
	struct rusage ru;

	cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_minflt;
}

/*
 * An unused map is released without a wipe: zeroing it would fault in
 * every page only to clear it again. Small pages here, so that a wipe is
 * 2048 faults, far from the few the calls themselves may take (a first
 * call under valgrind or a sanitizer), which one warm-up call takes first.
 */
Test(secmem, an_unused_map_is_not_faulted_in_to_be_wiped)
{
	char *p;
	long before;

	for (int used = 1; used >= 0; used--) {
		p = cm_secmem_map(MAP_BYTES);
		cr_assert_not_null(p);
		cr_assert_eq(madvise(p, MAP_BYTES, MADV_NOHUGEPAGE), 0);
		if (used)
			p[0] = 1;
		cm_secmem_unmap(p, MAP_BYTES, used); /* the warm-up */
	}
	p = cm_secmem_map(MAP_BYTES);
	cr_assert_not_null(p);
	cr_assert_eq(madvise(p, MAP_BYTES, MADV_NOHUGEPAGE), 0);
	before = minor_faults();
	cm_secmem_unmap(p, MAP_BYTES, 0);
	cr_expect_lt(minor_faults() - before, 64, "%ld page faults unmapping an unused map",
		     minor_faults() - before);
	/* the check can fail: a used map's wipe does fault */
	p = cm_secmem_map(MAP_BYTES);
	cr_assert_not_null(p);
	cr_assert_eq(madvise(p, MAP_BYTES, MADV_NOHUGEPAGE), 0);
	before = minor_faults();
	cm_secmem_unmap(p, MAP_BYTES, 1);
	cr_expect_geq(minor_faults() - before, 1024);
	cm_secmem_unmap(NULL, 10, 1); /* does nothing */
}
