/* CPU feature detection (x86 via cpuid through the compiler builtins; other CPUs: none). */
#ifndef KSTT_KERNELS_CPU_H
#define KSTT_KERNELS_CPU_H

#include "kernels/kernels.h"

typedef struct {
    int avx2, fma, f16c;
    int avx512f, avx512bw, avx512vl, avx512dq, avx512bf16, avx512vnni;
    int avxvnni; /* VEX vpdpbusd (cpuid 7.1 EAX[4]) with OS AVX state; reported, no kernel yet */
} kstt__cpu_features;

/* Detected once; static storage. */
const kstt__cpu_features *kstt__cpu_detect(void);
/* e.g. "x86-64 avx2 fma avx512f avx512bw avx512vl avx512dq avx512bf16 avx512vnni avxvnni" */
const char *kstt__cpu_describe(void);

#ifdef KSTT_HAVE_X86
/* Defined in kernels/x86/: override the entries each level implements. */
void kstt__kernels_fill_avx2(kstt__kernels *k);
void kstt__kernels_fill_avx512(kstt__kernels *k, const kstt__cpu_features *f);
#endif

#endif
