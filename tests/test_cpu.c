/* \summary: unit tests of the SIMD path choice (src/cpu.c): the CPU's answer, the environment's switches */
#include <stdlib.h>

#include <criterion/criterion.h>

#include "cdrmin/cpu.h"

/* What the CPU itself says of path p (x86-64 with GCC or clang; else no path). */
static int cpu_says(enum cm_cpu_path p)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	switch (p) {
	case CM_CPU_AVX2_CLMUL:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul");
	case CM_CPU_AVX2:
		return __builtin_cpu_supports("avx2");
	case CM_CPU_AVX512:
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
		       __builtin_cpu_supports("avx512bw");
	case CM_CPU_AVX512_VBMI:
		return cpu_says(CM_CPU_AVX512) && __builtin_cpu_supports("avx512vbmi");
	case CM_CPU_AVX512_VBMI2:
		return cpu_says(CM_CPU_AVX512) && __builtin_cpu_supports("avx512vbmi2") &&
		       __builtin_cpu_supports("pclmul");
	default:
		return 0;
	}
#else
	(void)p;
	return 0;
#endif
}

/* Each test runs in its own process: the answers are asked for once per process. */
Test(cpu, the_cpu_decides_without_switches)
{
	unsigned p;

	cr_assert_eq(unsetenv("CDRMIN_NO_AVX2"), 0);
	cr_assert_eq(unsetenv("CDRMIN_NO_AVX512"), 0);
	for (p = 0; p < CM_CPU__COUNT; p++) {
		cr_expect_eq(cm_cpu_has((enum cm_cpu_path)p), cpu_says((enum cm_cpu_path)p), "path %u", p);
		cr_expect_eq(cm_cpu_has((enum cm_cpu_path)p), cpu_says((enum cm_cpu_path)p),
			     "path %u, asked again", p);
	}
	cr_expect_eq(cm_cpu_has(CM_CPU__COUNT), 0);
}

Test(cpu, no_avx512_turns_off_only_avx512)
{
	cr_assert_eq(unsetenv("CDRMIN_NO_AVX2"), 0);
	cr_assert_eq(setenv("CDRMIN_NO_AVX512", "1", 1), 0);
	cr_expect_eq(cm_cpu_has(CM_CPU_AVX512_VBMI2), 0);
	cr_expect_eq(cm_cpu_has(CM_CPU_AVX512_VBMI), 0);
	cr_expect_eq(cm_cpu_has(CM_CPU_AVX512), 0);
	cr_expect_eq(cm_cpu_has(CM_CPU_AVX2), cpu_says(CM_CPU_AVX2));
	cr_expect_eq(cm_cpu_has(CM_CPU_AVX2_CLMUL), cpu_says(CM_CPU_AVX2_CLMUL));
}

Test(cpu, no_avx2_turns_off_every_wide_path)
{
	unsigned p;

	cr_assert_eq(setenv("CDRMIN_NO_AVX2", "1", 1), 0);
	cr_assert_eq(unsetenv("CDRMIN_NO_AVX512"), 0);
	for (p = 0; p < CM_CPU__COUNT; p++)
		cr_expect_eq(cm_cpu_has((enum cm_cpu_path)p), 0, "path %u", p);
}
