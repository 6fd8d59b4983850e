/* Registration of the x86 LM attention kernels (kernels.h, block "LM attention"), called from
 * dispatch.c after the level's other entries: attn_avx2.c (AVX2+FMA+F16C), attn_avx512.c
 * (AVX-512 F/BW/VL). */
#ifndef KSTT_KERNELS_X86_ATTN_X86_H
#define KSTT_KERNELS_X86_ATTN_X86_H

#include "kernels/kernels.h"

void kstt__attn_fill_avx2(kstt__kernels *k);
void kstt__attn_fill_avx512(kstt__kernels *k);

#endif
