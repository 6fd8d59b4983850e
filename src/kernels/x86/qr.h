/* Registration of the packed-layout products (quant/repack.h), called from the q_*.c fills. */
#ifndef KSTT_KERNELS_X86_QR_H
#define KSTT_KERNELS_X86_QR_H

#include "kernels/kernels.h"

void kstt__x86_fill_qr_avx2(kstt__kernels *k);   /* qr_avx2.c */
void kstt__x86_fill_qr_avx512(kstt__kernels *k); /* qr_avx512.c (needs AVX512-VNNI) */

#endif
