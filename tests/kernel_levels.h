/*
 * The kernel tables a kernel test runs: the scalar reference (when asked), then every table
 * this CPU can run within the KSTT_KERNELS cap, variants of a level included (x86: avx2,
 * avx512, avx512-vnni, avx512-bf16; aarch64: neon, dotprod, i8mm), each once; the best table
 * is always among them (under KSTT_KERNELS=ref that is the reference itself). Printed, so a
 * log shows what ran. Architecture-free: the list comes from kstt__kernels_available.
 */
#ifndef KSTT_TESTS_KERNEL_LEVELS_H
#define KSTT_TESTS_KERNEL_LEVELS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/pool.h"
#include "kernels/kernels.h"

#define KSTT_TEST_MAX_LEVELS 12

/* Fills out[0..KSTT_TEST_MAX_LEVELS - 1] and returns the count (>= 1). */
static inline int kstt_test_levels(const kstt__kernels **out, int with_ref) {
    const kstt__kernels *all[KSTT_TEST_MAX_LEVELS];
    const int na = kstt__kernels_available(all, KSTT_TEST_MAX_LEVELS);
    const kstt__kernels *best = kstt__kernels_get(KSTT_KERNELS_AUTO);
    int n = 0;
    for (int i = 0; i < na; i++)
        if (all[i] != kstt__kernels_ref() || with_ref || best == all[i])
            out[n++] = all[i];
    printf("  levels tested:");
    for (int i = 0; i < n; i++)
        printf(" %s", out[i]->variant);
    printf("\n");
    return n;
}

/* Iteration counts scaled by KSTT_TEST_SCALE (default 1; e.g. 0.05 under an emulator, where
 * the aarch64 CI stage runs these tests at a small fraction of native speed); at least 1. */
static inline int kstt_test_iters(int n) {
    const char *e = getenv("KSTT_TEST_SCALE");
    const double s = e && *e ? atof(e) : 1.0;
    const int k = (int)(n * (s > 0 ? s : 1.0) + 0.5);
    return k < 1 ? 1 : k > n ? n : k;
}

/* The product of w [rows, cols] with batch rows of x through the driver, split over a pool of
 * two threads and on one: 1 when both give the same bits (every level's contract), else 0. */
static inline int kstt_test_pool_same_bits(const kstt__kernels *k, const kstt__wmat *w,
                                           const float *x, int batch) {
    const long rows = (long)w->rows, cols = (long)w->cols;
    kstt_pool *pool = NULL;
    if (kstt_pool_new(&pool, 2) != KSTT_OK)
        return 0;
    float *y0 = malloc((size_t)batch * rows * sizeof(float));
    float *y1 = malloc((size_t)batch * rows * sizeof(float));
    kstt__ws ws = {NULL, kstt__matmul_ws_size(w->type, cols, batch)};
    ws.buf = ws.cap ? kstt__alloc(ws.cap) : NULL;
    int same = 0;
    if (y0 && y1 && (ws.buf || !ws.cap)) {
        kstt__matmul(pool, k, w, x, cols, y0, rows, batch, &ws);
        kstt__matmul(NULL, k, w, x, cols, y1, rows, batch, &ws);
        same = !memcmp(y0, y1, (size_t)batch * rows * sizeof(float));
    }
    kstt__free(ws.buf);
    free(y0);
    free(y1);
    kstt_pool_free(pool);
    return same;
}

#endif
