/* Registration functions of the x86 kernel files (one per file, called from table_*.c). */
#ifndef KSTT_KERNELS_X86_H
#define KSTT_KERNELS_X86_H

#include "kernels/cpu.h"

void kstt__x86_fill_f32_avx2(kstt__kernels *k);   /* f32_avx2.c */
void kstt__x86_fill_f32_avx512(kstt__kernels *k); /* f32_avx512.c */

#endif
