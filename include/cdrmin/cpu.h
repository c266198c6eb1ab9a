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
 * 1 when this CPU runs path p and the environment leaves it on, else 0.
 * Asked of the CPU and the environment once per path and process: every
 * thread that asks first stores the same answer.
 */
int cm_cpu_has(enum cm_cpu_path p);

#endif
