/* Registration functions of the x86 kernel files (one per file, called from table_*.c). */
#ifndef KSTT_KERNELS_X86_H
#define KSTT_KERNELS_X86_H

#include "kernels/cpu.h"

void kstt__x86_fill_f32_avx2(kstt__kernels *k);   /* f32_avx2.c */
void kstt__x86_fill_f32_avx512(kstt__kernels *k); /* f32_avx512.c */

/* bf16_avx2.c, q_avx2.c, ops_avx2.c (dot, axpy, ring attention), f32_vops_avx2.c (ELU, GELU) */
void kstt__x86_fill_bf16_avx2(kstt__kernels *k);
void kstt__x86_fill_q_avx2(kstt__kernels *k);
void kstt__x86_fill_ops_avx2(kstt__kernels *k);
void kstt__x86_fill_vops_avx2(kstt__kernels *k);
/* bf16_avx512.c (the vdpbf16ps product when f->avx512bf16), q_avx512.c (VNNI products when
 * f->avx512vnni), ops_avx512.c */
void kstt__x86_fill_bf16_avx512(kstt__kernels *k, const kstt__cpu_features *f);
void kstt__x86_fill_q_avx512(kstt__kernels *k, const kstt__cpu_features *f);
void kstt__x86_fill_ops_avx512(kstt__kernels *k);
/* f32_vops_avx512.c: ELU, GELU, ring attention */
void kstt__x86_fill_vops_avx512(kstt__kernels *k);

/* Shared between x86 files (f32_vops_avx2.c, used by ops_avx2.c): x[n] = exp(x - m) with the
 * AVX2 exp (2 ulp); returns the sum of the results (a softmax numerator). */
float kstt__x86_exp_sum_avx2(float *x, long n, float m);

#endif
