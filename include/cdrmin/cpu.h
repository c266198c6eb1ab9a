/*
 * cdrmin: which of the SIMD paths this CPU runs.
 *
 * Six paths have a wider twin picked at run time: the CSV block scanner
 * (AVX2 and PCLMUL, csv.c), the CSV encoder's fields (AVX-512, csv.c), the
 * four BLAKE2b lanes (AVX2, blake2b.c), one BLAKE2b message and batches of
 * two or four (AVX-512, blake2b.c), base32 of a default token (AVX-512
 * VBMI, pseudo.c) and the JSON lines decoder's pass for plain lines
 * (AVX-512 VBMI2, json.c). Each has a portable
 * path that gives the same bytes. The environment can turn the wider ones
 * off, for a comparison or around a CPU fault: CDRMIN_NO_AVX2 (set, to
 * anything) all of them, CDRMIN_NO_AVX512 the AVX-512 ones.
 */
#ifndef CDRMIN_CPU_H
#define CDRMIN_CPU_H

enum cm_cpu_path {
	CM_CPU_AVX2_CLMUL, /* AVX2 and carry-less multiply (PCLMULQDQ) */
	CM_CPU_AVX2,       /* AVX2 */
	CM_CPU_AVX512,     /* AVX-512 F, VL and BW */
	CM_CPU_AVX512_VBMI, /* AVX-512 F, VL, BW and VBMI */
	CM_CPU_AVX512_VBMI2, /* AVX-512 F, VL, BW and VBMI2, and PCLMULQDQ */
	CM_CPU__COUNT
};

/*
 * Per path: 1 or 0 once known, -1 before (cpu.c). Read through cm_cpu_has.
 */
extern int cm_cpu_known[CM_CPU__COUNT];

/* cm_cpu_has of a path not known yet: asked, and stored. */
int cm_cpu_ask(enum cm_cpu_path p);

/*
 * 1 when this CPU runs path p and the environment leaves it on, else 0.
 * Asked of the CPU and the environment once per path and process: every
 * thread that asks first stores the same answer. Inline: the hot loops ask
 * per record and per field, and a known answer is one load.
 */
static inline int cm_cpu_has(enum cm_cpu_path p)
{
	int k;

	if ((unsigned)p >= CM_CPU__COUNT)
		return 0;
	k = __atomic_load_n(&cm_cpu_known[p], __ATOMIC_RELAXED);
	return k >= 0 ? k : cm_cpu_ask(p);
}

#endif
