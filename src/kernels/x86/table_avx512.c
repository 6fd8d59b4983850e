/* AVX-512 kernel table: overrides the entries this level implements (BF16/VNNI when the CPU
 * has them). Each kernel file registers its entries through a fill function (x86.h). */
#include "kernels/x86/x86.h"

void kstt__kernels_fill_avx512(kstt__kernels *k, const kstt__cpu_features *f) {
    k->level = KSTT_KERNELS_AVX512;
    k->name = "avx512";
    kstt__x86_fill_f32_avx512(k);
    kstt__x86_fill_bf16_avx512(k, f);
    kstt__x86_fill_q_avx512(k, f);
    kstt__x86_fill_ops_avx512(k);
    kstt__x86_fill_vops_avx512(k);
}
