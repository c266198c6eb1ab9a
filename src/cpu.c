/* \summary: which of the SIMD paths this CPU runs (see cpu.h) */
#include <stdlib.h>

#include "cdrmin/cpu.h"

static int ask(enum cm_cpu_path p)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (getenv("CDRMIN_NO_AVX2"))
		return 0;
	switch (p) {
	case CM_CPU_AVX2_CLMUL:
		return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul");
	case CM_CPU_AVX2:
		return __builtin_cpu_supports("avx2");
	case CM_CPU_AVX512:
		return !getenv("CDRMIN_NO_AVX512") && __builtin_cpu_supports("avx512f") &&
		       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
	case CM_CPU_AVX512_VBMI: /* the AVX-512 path's switch and needs, and VBMI */
		return cm_cpu_has(CM_CPU_AVX512) && __builtin_cpu_supports("avx512vbmi");
	case CM_CPU_AVX512_VBMI2: /* the AVX-512 path's, VBMI2 and carry-less multiply */
		return cm_cpu_has(CM_CPU_AVX512) && __builtin_cpu_supports("avx512vbmi2") &&
		       __builtin_cpu_supports("pclmul");
	default:
		return 0;
	}
#else
	(void)p;
	return 0;
#endif
}

int cm_cpu_known[CM_CPU__COUNT] = { -1, -1, -1, -1, -1 };
_Static_assert(CM_CPU__COUNT == 5, "one -1 a path: not asked yet");

int cm_cpu_ask(enum cm_cpu_path p)
{
	int k;

	if ((unsigned)p >= CM_CPU__COUNT)
		return 0;
	k = ask(p);
	__atomic_store_n(&cm_cpu_known[p], k, __ATOMIC_RELAXED);
	return k;
}
