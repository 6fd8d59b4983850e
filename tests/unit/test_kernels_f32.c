/*
 * The optimised f32 kernels (avx2, avx512: whichever this CPU has) against the scalar
 * reference over random shapes: odd row counts and row ranges (thread splits), column tails,
 * batch tails, overlapping strided inputs (convolutions: ldx < cols) and padded outputs
 * (ldy > rows). Also checks the property the Mimi stream relies on: an output element has
 * the same bits whatever the batch size and row range it was computed in. (The element-wise
 * and attention entries: test_kernels_ops.c.)
 */
#include <stdlib.h>

#include "kernel_levels.h"
#include "kernels/kernels.h"
#include "test.h"

static float *rand_buf(long n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    for (long i = 0; i < n; i++)
        p[i] = test_rand_uniform();
    return p;
}

/* One product at `level` against ref; returns 0 on success (after printing a failure). */
static int check_product(const kstt__kernels *k, long rows, long cols, int batch, long ldx,
                         long ldy, long r0, long r1) {
    const kstt__kernels *ref = kstt__kernels_ref();
    const long row_stride = cols + (rows % 3); /* rows not tightly packed sometimes */
    float *w = rand_buf(rows * row_stride);
    const long xn = (long)(batch - 1) * ldx + cols;
    float *x = rand_buf(xn);
    float *y = malloc((size_t)batch * ldy * sizeof *y),
          *yr = malloc((size_t)batch * ldy * sizeof *y);
    for (long i = 0; i < (long)batch * ldy; i++)
        y[i] = yr[i] = -777.0f; /* sentinels */
    kstt__wmat m = {KSTT_WT_F32, rows, cols, (size_t)row_stride * sizeof(float), w};
    k->wt[KSTT_WT_F32].matmul(&m, x, ldx, y, ldy, batch, r0, r1, NULL);
    ref->wt[KSTT_WT_F32].matmul(&m, x, ldx, yr, ldy, batch, r0, r1, NULL);
    int ok = 1;
    for (int b = 0; b < batch && ok; b++) {
        for (long r = 0; r < ldy && ok; r++) {
            const float got = y[(long)b * ldy + r], want = yr[(long)b * ldy + r];
            if (r < r0 || r >= r1) {
                if (got != -777.0f) {
                    TEST_FAIL_("%s wrote outside rows [%ld, %ld): b %d r %ld", k->name, r0, r1, b,
                               r);
                    ok = 0;
                }
                continue;
            }
            double mag = 0.0;
            const float *wr = w + r * row_stride, *xb = x + (long)b * ldx;
            for (long c = 0; c < cols; c++)
                mag += fabs((double)wr[c] * xb[c]);
            if (!(fabs((double)got - want) <= 2e-6 * mag + 1e-30)) {
                TEST_FAIL_("%s rows %ld cols %ld batch %d ldx %ld ldy %ld [%ld,%ld): y[%d,%ld] = "
                           "%.9g, ref %.9g",
                           k->name, rows, cols, batch, ldx, ldy, r0, r1, b, r, got, want);
                ok = 0;
            }
        }
    }
    free(w);
    free(x);
    free(y);
    free(yr);
    return ok;
}

static const kstt__kernels *levels[KSTT_TEST_MAX_LEVELS];
static int n_levels;

static void init_levels(void) {
    n_levels = kstt_test_levels(levels, 0);
}

static void test_matmul_fixed_shapes(void) {
    static const long rows_[] = {1, 4, 8, 15, 16, 17, 31, 32, 33, 48, 64, 70};
    static const long cols_[] = {1, 3, 7, 16, 17, 64, 255, 256, 257, 513};
    static const int batch_[] = {1, 2, 5, 6, 7, 12, 13, 25};
    for (int li = 0; li < n_levels; li++)
        for (size_t a = 0; a < sizeof rows_ / sizeof *rows_; a++)
            for (size_t c = 0; c < sizeof cols_ / sizeof *cols_; c++)
                for (size_t b = 0; b < sizeof batch_ / sizeof *batch_; b++)
                    if (!check_product(levels[li], rows_[a], cols_[c], batch_[b], cols_[c],
                                       rows_[a], 0, rows_[a]))
                        return;
}

static void test_matmul_random_strides(void) {
    for (int li = 0; li < n_levels; li++) {
        for (int it = 0; it < kstt_test_iters(300); it++) {
            const long rows = test_rand_int(1, 100), cols = test_rand_int(1, 700);
            const int batch = test_rand_int(1, 40);
            /* conv-like overlapping windows (ldx < cols) half of the time */
            const long ldx =
                test_rand_int(0, 1) ? test_rand_int(1, (int)cols) : cols + test_rand_int(0, 9);
            const long ldy = rows + test_rand_int(0, 20);
            long r0 = test_rand_int(0, (int)rows - 1), r1 = test_rand_int((int)r0 + 1, (int)rows);
            if (test_rand_int(0, 1))
                r0 = r0 / 16 * 16; /* the driver's thread splits */
            if (!check_product(levels[li], rows, cols, batch, ldx, ldy, r0, r1))
                return;
        }
    }
}

/* y[b, r] must not depend on batch size or row range (bitwise): the small-batch path, the
 * packed micro-kernel and every tail must run the same FMA sequence per element. */
static void check_invariance(long rows, long cols, long ldx, int batch) {
    float *w = rand_buf(rows * cols), *x = rand_buf((long)(batch - 1) * ldx + cols);
    float *y = malloc(sizeof(float) * batch * rows), *z = malloc(sizeof(float) * batch * rows);
    kstt__wmat m = {KSTT_WT_F32, rows, cols, (size_t)cols * sizeof(float), w};
    for (int li = 0; li < n_levels; li++) {
        const kstt__kernels *k = levels[li];
        k->wt[KSTT_WT_F32].matmul(&m, x, ldx, y, rows, batch, 0, rows, NULL);
        /* batch rows in groups of 1, 2, 3, ... (small path and micro-kernel tails), rows in
         * thread-like slices of 16 or odd slices */
        int b = 0, g = 1;
        while (b < batch) {
            const int nb = g < batch - b ? g : batch - b;
            long r = 0;
            while (r < rows) {
                long r1 = r + (g % 2 ? 16 : 13);
                if (r1 > rows)
                    r1 = rows;
                k->wt[KSTT_WT_F32].matmul(&m, x + (long)b * ldx, ldx, z + (long)b * rows, rows, nb,
                                          r, r1, NULL);
                r = r1;
            }
            b += nb;
            g = g % 13 + 1;
        }
        for (long i = 0; i < (long)batch * rows; i++) {
            if (memcmp(&y[i], &z[i], sizeof(float)) != 0) {
                TEST_FAIL_("%s rows %ld cols %ld: element %ld differs between one call and "
                           "split calls: %.9g vs %.9g",
                           k->name, rows, cols, i, y[i], z[i]);
                break;
            }
        }
    }
    free(w);
    free(x);
    free(y);
    free(z);
}

static void test_matmul_shape_invariance(void) {
    check_invariance(77, 600, 48, 50);
    check_invariance(40, 7, 1, 70);
    check_invariance(33, 64, 64, 30);
    check_invariance(64, 257, 100, 40);
    check_invariance(20, 3000, 3000, 17);
}

static void test_dot_axpy(void) {
    const kstt__kernels *ref = kstt__kernels_ref();
    for (int li = 0; li < n_levels; li++) {
        const kstt__kernels *k = levels[li];
        for (long n = 0; n < 140; n++) {
            float *a = rand_buf(n), *b = rand_buf(n), *y1 = rand_buf(n);
            float *y2 = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
            memcpy(y2, y1, sizeof(float) * (size_t)n);
            double mag = 0;
            for (long i = 0; i < n; i++)
                mag += fabs((double)a[i] * b[i]);
            const float d = k->dot_f32(a, b, n), dr = ref->dot_f32(a, b, n);
            if (!(fabs((double)d - dr) <= 2e-6 * mag + 1e-30)) {
                TEST_FAIL_("%s dot n=%ld: %.9g vs %.9g", k->name, n, d, dr);
                n = 1000;
            }
            k->axpy_f32(0.37f, a, y1, n);
            ref->axpy_f32(0.37f, a, y2, n);
            for (long i = 0; i < n; i++)
                if (!(fabs((double)y1[i] - y2[i]) <= 1e-6 * (fabs(y2[i]) + 1))) {
                    TEST_FAIL_("%s axpy n=%ld i=%ld: %.9g vs %.9g", k->name, n, i, y1[i], y2[i]);
                    n = 1000;
                    break;
                }
            free(a);
            free(b);
            free(y1);
            free(y2);
        }
    }
}

int main(void) {
    init_levels();
    RUN(test_matmul_fixed_shapes);
    RUN(test_matmul_random_strides);
    RUN(test_matmul_shape_invariance);
    RUN(test_dot_axpy);
    return test_summary();
}
