/* AVX2+FMA kernel table: overrides the reference entries this level implements. Each kernel
 * file registers its own entries through a fill function declared in kernels/x86/x86.h. */
#include "kernels/x86/x86.h"

void kstt__kernels_fill_avx2(kstt__kernels *k) {
    k->level = KSTT_KERNELS_AVX2;
    k->name = "avx2";
    kstt__x86_fill_f32_avx2(k);
    kstt__x86_fill_bf16_avx2(k);
    kstt__x86_fill_q_avx2(k);
    kstt__x86_fill_ops_avx2(k);
    kstt__x86_fill_vops_avx2(k);
}
