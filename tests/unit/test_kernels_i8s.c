/*
 * KSTT_WT_I8S (int8 rows with an f32 scale, kernels.h) at every level against the scalar
 * reference: odd row counts and row ranges, column tails (not multiples of the vector width),
 * batches of 1..9, strided inputs, padded outputs, rows padded past 4 + cols bytes, and writes
 * outside [r0, r1) caught by sentinels. The sums may run in any order, so the tolerance is the
 * f32 summation bound: 2e-6 * s * sum |q x|.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernel_levels.h"
#include "kernels/kernels.h"
#include "test.h"

static int check(const kstt__kernels *k, long rows, long cols, int batch, long ldx, long ldy,
                 long r0, long r1) {
    const kstt__kernels *ref = kstt__kernels_ref();
    const size_t rb = ((size_t)(4 + cols) + 3) / 4 * 4 + 4 * (size_t)(rows % 2);
    char *w = malloc(rb * (size_t)rows);
    for (long r = 0; r < rows; r++) {
        const float s = 0.01f + (float)(r % 7) * 0.003f;
        memcpy(w + r * rb, &s, sizeof s);
        for (long c = 0; c < cols; c++)
            ((int8_t *)(w + r * rb + 4))[c] = (int8_t)test_rand_int(-127, 127);
    }
    const long xn = (long)(batch - 1) * ldx + cols;
    float *x = malloc(sizeof(float) * (size_t)xn);
    for (long i = 0; i < xn; i++)
        x[i] = test_rand_uniform();
    float *y = malloc(sizeof(float) * (size_t)batch * ldy),
          *yr = malloc(sizeof(float) * batch * ldy);
    for (long i = 0; i < (long)batch * ldy; i++)
        y[i] = yr[i] = -777.0f;
    kstt__wmat m = {KSTT_WT_I8S, rows, cols, rb, w};
    k->wt[KSTT_WT_I8S].matmul(&m, x, ldx, y, ldy, batch, r0, r1, NULL);
    ref->wt[KSTT_WT_I8S].matmul(&m, x, ldx, yr, ldy, batch, r0, r1, NULL);
    int ok = 1;
    for (int b = 0; b < batch && ok; b++)
        for (long r = 0; r < ldy && ok; r++) {
            const float got = y[(long)b * ldy + r], want = yr[(long)b * ldy + r];
            if (r < r0 || r >= r1) {
                if (got != -777.0f) {
                    TEST_FAIL_("%s wrote outside [%ld, %ld): b %d r %ld", k->name, r0, r1, b, r);
                    ok = 0;
                }
                continue;
            }
            float s;
            memcpy(&s, w + r * rb, sizeof s);
            double mag = 0.0;
            for (long c = 0; c < cols; c++)
                mag += fabs((double)((int8_t *)(w + r * rb + 4))[c] * x[(long)b * ldx + c]);
            if (!(fabs((double)got - want) <= 2e-6 * s * mag + 1e-30)) {
                TEST_FAIL_("%s rows %ld cols %ld batch %d [%ld,%ld): y[%d,%ld] = %.9g, ref %.9g",
                           k->name, rows, cols, batch, r0, r1, b, r, got, want);
                ok = 0;
            }
        }
    free(w);
    free(x);
    free(y);
    free(yr);
    return ok;
}

static void test_random(void) {
    const kstt__kernels *levels[KSTT_TEST_MAX_LEVELS];
    const int n_levels = kstt_test_levels(levels, 0);
    int tested = 0;
    for (int li = 0; li < n_levels; li++) {
        const kstt__kernels *k = levels[li];
        if (k == kstt__kernels_ref())
            continue;
        tested++;
        for (int it = 0; it < kstt_test_iters(400); it++) {
            const long rows = test_rand_int(1, 70), cols = test_rand_int(1, 300);
            const int batch = test_rand_int(1, 9);
            const long ldx = cols + test_rand_int(0, 5), ldy = rows + test_rand_int(0, 9);
            const long r0 = test_rand_int(0, (int)rows - 1);
            const long r1 = test_rand_int((int)r0 + 1, (int)rows);
            if (!check(k, rows, cols, batch, ldx, ldy, r0, r1))
                return;
        }
    }
    printf("  %d vector levels tested\n", tested);
}

int main(void) {
    RUN(test_random);
    return test_summary();
}
