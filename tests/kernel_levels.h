/*
 * The kernel tables a kernel test runs: the scalar reference (when asked), then every SIMD
 * level this CPU has and KSTT_KERNELS allows, and the best table in any case (under
 * KSTT_KERNELS=ref that is the reference itself), each once. Printed, so a log shows what ran.
 */
#ifndef KSTT_TESTS_KERNEL_LEVELS_H
#define KSTT_TESTS_KERNEL_LEVELS_H

#include <stdio.h>

#include "kernels/kernels.h"

static int kstt_test_add_level(const kstt__kernels **out, int n, const kstt__kernels *k) {
    for (int i = 0; i < n; i++)
        if (out[i] == k)
            return n;
    out[n] = k;
    return n + 1;
}

/* Fills out[0..3] and returns the count (>= 1). */
static int kstt_test_levels(const kstt__kernels **out, int with_ref) {
    int n = 0;
    if (with_ref)
        n = kstt_test_add_level(out, n, kstt__kernels_ref());
    const kstt_kernels want[2] = {KSTT_KERNELS_AVX2, KSTT_KERNELS_AVX512};
    for (int i = 0; i < 2; i++) {
        const kstt__kernels *k = kstt__kernels_get(want[i]);
        if (k->level == want[i])
            n = kstt_test_add_level(out, n, k);
    }
    n = kstt_test_add_level(out, n, kstt__kernels_get(KSTT_KERNELS_AUTO));
    printf("  levels tested:");
    for (int i = 0; i < n; i++)
        printf(" %s", out[i]->name);
    printf("\n");
    return n;
}

#endif
