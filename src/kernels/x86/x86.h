/* Registration functions of the x86 kernel files (one per file, called from table_*.c). */
#ifndef KSTT_KERNELS_X86_H
#define KSTT_KERNELS_X86_H

#include "kernels/cpu.h"

void kstt__x86_fill_f32_avx2(kstt__kernels *k);   /* f32_avx2.c */
void kstt__x86_fill_f32_avx512(kstt__kernels *k); /* f32_avx512.c */

/* bf16_avx2.c, q_avx2.c, ops_avx2.c */
void kstt__x86_fill_bf16_avx2(kstt__kernels *k);
void kstt__x86_fill_q_avx2(kstt__kernels *k);
void kstt__x86_fill_ops_avx2(kstt__kernels *k);
/* bf16_avx512.c (the vdpbf16ps product when f->avx512bf16), q_avx512.c (VNNI products when
 * f->avx512vnni), ops_avx512.c */
void kstt__x86_fill_bf16_avx512(kstt__kernels *k, const kstt__cpu_features *f);
void kstt__x86_fill_q_avx512(kstt__kernels *k, const kstt__cpu_features *f);
void kstt__x86_fill_ops_avx512(kstt__kernels *k);

#endif
