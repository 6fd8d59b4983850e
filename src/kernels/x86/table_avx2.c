/* AVX2+FMA kernel table: overrides the reference entries this level implements. */
#include "kernels/cpu.h"

void kstt__kernels_fill_avx2(kstt__kernels *k) {
    k->level = KSTT_KERNELS_AVX2;
    k->name = "avx2";
}
