/* AVX-512 kernel table: overrides the entries this level implements (BF16/VNNI when present). */
#include "kernels/cpu.h"

void kstt__kernels_fill_avx512(kstt__kernels *k, const kstt__cpu_features *f) {
    (void)f;
    k->level = KSTT_KERNELS_AVX512;
    k->name = "avx512";
}
