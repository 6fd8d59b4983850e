/*
 * The bf16 and block-quantised products (q8_0, q4_0, q4_K) at every level this CPU has, over
 * random shapes: odd row counts and row ranges (thread splits), odd block counts (a single
 * trailing block), batch 1..11 (chunks of 8 plus a tail), strided x and padded y.
 *   - each level against the reference kernel: f32 summation order only (tight tolerance);
 *   - the reference quantised product against dequantise-then-f32 (the activation rounding
 *     to 8 bits is the only difference: loose tolerance);
 *   - the driver (kstt__matmul) with and without a pool equals the kernel;
 *   - outputs have the same bits whatever the batch and row range they were computed in;
 *   - the vdpbf16ps product (where the CPU has it) against the exact one within bf16 rounding;
 *   - dot_f32 / axpy_f32 against the reference with tails.
 */
#include <stdlib.h>

#include "core/alloc.h"
#include "kernel_levels.h"
#include "kernels/kernels.h"
#include "quant/quant.h"
#include "quant_test_util.h"
#include "test.h"

static const kstt__kernels *levels[KSTT_TEST_MAX_LEVELS];
static int n_levels;

/* qt_mat_new (64 spare bytes) after cols draws of the RNG: this file's matrices always took
 * them first, and keeping them keeps the seeded cases the ones that have always run. */
static qt_mat make_mat(kstt__wtype t, long rows, long cols) {
    free(qt_rand_buf(cols, 1.0f));
    return qt_mat_new(t, rows, cols, 64);
}

static void run_kernel(const kstt__kernels *k, const kstt__wmat *w, kstt__matmul_fn fn,
                       void (*prep)(const float *, long, int, long, const kstt__ws *),
                       const float *x, long ldx, float *y, long ldy, int batch, long r0, long r1,
                       const kstt__ws *ws) {
    (void)k;
    if (prep)
        prep(x, ldx, batch, (long)w->cols, ws);
    fn(w, x, ldx, y, ldy, batch, r0, r1, ws);
}

/* One product of type t at every level against the reference. */
static int check_type(kstt__wtype t, long rows, long cols, int batch, long r0, long r1) {
    const kstt__kernels *ref = kstt__kernels_ref();
    qt_mat q = make_mat(t, rows, cols);
    const long ldx = cols + test_rand_int(0, 5), ldy = rows + test_rand_int(0, 3);
    float *x = qt_rand_buf((long)(batch - 1) * ldx + cols, 2.0f);
    if (batch > 1)
        x[ldx] = 0.0f; /* an all-zero-ish block start */
    kstt__ws ws = {NULL, kstt__matmul_ws_size(t, cols, batch)};
    ws.buf = kstt__alloc(ws.cap ? ws.cap : 1);
    float *yr = malloc((size_t)batch * ldy * sizeof(float));
    float *y = malloc((size_t)batch * ldy * sizeof(float));
    for (long i = 0; i < (long)batch * ldy; i++)
        yr[i] = -777.0f;
    run_kernel(ref, &q.w, ref->wt[t].matmul, ref->wt[t].prepare_x, x, ldx, yr, ldy, batch, r0, r1,
               &ws);
    int ok = 1;
    /* reference quantised product vs dequantised f32 product */
    for (int b = 0; b < batch && ok; b++)
        for (long r = r0; r < r1 && ok; r++) {
            double exact = 0, mag = 0, bound = 0;
            for (long c = 0; c < cols; c++) {
                exact += (double)q.deq[r * cols + c] * x[(long)b * ldx + c];
                mag += fabs((double)q.deq[r * cols + c] * x[(long)b * ldx + c]);
            }
            /* x rounded to 8 bits: each element moves by at most half a step, max|x| / 254 */
            for (long k0 = 0; t != KSTT_WT_BF16 && k0 < cols; k0 += 32) {
                double amax = 0, wsum = 0;
                for (long c = k0; c < k0 + 32; c++) {
                    amax = fmax(amax, fabs(x[(long)b * ldx + c]));
                    wsum += fabs(q.deq[r * cols + c]);
                }
                bound += wsum * amax / 254.0;
            }
            const double tol = 1.01 * bound + 4e-6 * mag + 1e-30;
            if (!(fabs(yr[(long)b * ldy + r] - exact) <= tol)) {
                TEST_FAIL_("ref %s rows %ld cols %ld batch %d: y[%d,%ld] = %.9g, dequantised "
                           "f32 %.9g (tol %.3g)",
                           kstt__wtype_name(t), rows, cols, batch, b, r, yr[(long)b * ldy + r],
                           exact, tol);
                ok = 0;
            }
        }
    for (int l = 0; l < n_levels && ok; l++) {
        const kstt__kernels *k = levels[l];
        for (long i = 0; i < (long)batch * ldy; i++)
            y[i] = -777.0f;
        run_kernel(k, &q.w, k->wt[t].matmul, k->wt[t].prepare_x, x, ldx, y, ldy, batch, r0, r1,
                   &ws);
        for (int b = 0; b < batch && ok; b++)
            for (long r = 0; r < ldy && ok; r++) {
                const float got = y[(long)b * ldy + r], want = yr[(long)b * ldy + r];
                if (r < r0 || r >= r1) {
                    if (got != -777.0f) {
                        TEST_FAIL_("%s %s wrote outside [%ld,%ld): b %d r %ld", k->name,
                                   kstt__wtype_name(t), r0, r1, b, r);
                        ok = 0;
                    }
                    continue;
                }
                double mag = 0;
                for (long c = 0; c < cols; c++)
                    mag += qt_elem_mag(&q, r, c) * fabs((double)x[(long)b * ldx + c]);
                if (!(fabs((double)got - want) <= 4e-6 * mag + 1e-30)) {
                    TEST_FAIL_("%s %s rows %ld cols %ld batch %d [%ld,%ld): y[%d,%ld] = %.9g, "
                               "ref %.9g",
                               k->name, kstt__wtype_name(t), rows, cols, batch, r0, r1, b, r, got,
                               want);
                    ok = 0;
                }
            }
        /* the bits of an output do not depend on the batch or row range around it */
        if (ok && batch > 1 && r1 - r0 > 1) {
            float *y1 = malloc((size_t)rows * sizeof(float));
            const int b = batch - 1;
            const long r = r1 - 1;
            run_kernel(k, &q.w, k->wt[t].matmul, k->wt[t].prepare_x, x + (long)b * ldx, ldx, y1,
                       rows, 1, r, r + 1, &ws);
            if (y1[r] != y[(long)b * ldy + r]) {
                TEST_FAIL_("%s %s: y[%d,%ld] alone %.9g, in the batch %.9g", k->name,
                           kstt__wtype_name(t), b, r, y1[r], y[(long)b * ldy + r]);
                ok = 0;
            }
            free(y1);
        }
    }
    kstt__free(ws.buf);
    free(x);
    free(y);
    free(yr);
    qt_mat_free(&q);
    return ok;
}

static void random_shapes(kstt__wtype t, int iters) {
    const int blk = kstt__wtype_block_elems(t);
    iters = kstt_test_iters(iters);
    for (int it = 0; it < iters; it++) {
        const long rows = test_rand_int(1, 41);
        long cols =
            blk == 1 ? test_rand_int(1, 300) : (long)blk * test_rand_int(1, blk > 32 ? 3 : 11);
        if (it == 0)
            cols = blk == 1 ? 2048 : (blk > 32 ? 2048 : 32 * 7);
        const int batch = test_rand_int(1, 11);
        long r0, r1;
        qt_rand_range(rows, it, &r0, &r1);
        if (!check_type(t, rows, cols, batch, r0, r1))
            return;
    }
}

static void test_q8_0(void) {
    random_shapes(KSTT_WT_Q8_0, 60);
}
static void test_q4_0(void) {
    random_shapes(KSTT_WT_Q4_0, 60);
}
static void test_q4_K(void) {
    random_shapes(KSTT_WT_Q4_K, 40);
}
static void test_bf16(void) {
    random_shapes(KSTT_WT_BF16, 60);
}

/* The driver splits rows across a pool: same numbers as one kernel call. */
static void test_driver_pool(void) {
    kstt_pool *pool = NULL;
    ASSERT_INT_EQ(kstt_pool_new(&pool, 2), KSTT_OK);
    const kstt__wtype types[] = {KSTT_WT_BF16, KSTT_WT_Q8_0, KSTT_WT_Q4_0, KSTT_WT_Q4_K};
    for (int l = 0; l < n_levels; l++) {
        const kstt__kernels *k = levels[l];
        for (int ti = 0; ti < 4; ti++) {
            const kstt__wtype t = types[ti];
            const long rows = 333, cols = 512;
            const int batch = 5;
            qt_mat q = make_mat(t, rows, cols);
            float *x = qt_rand_buf((long)batch * cols, 1.0f);
            float *y0 = malloc((size_t)batch * rows * sizeof(float));
            float *y1 = malloc((size_t)batch * rows * sizeof(float));
            kstt__ws ws = {NULL, kstt__matmul_ws_size(t, cols, batch)};
            ws.buf = kstt__alloc(ws.cap);
            kstt__matmul(pool, k, &q.w, x, cols, y0, rows, batch, &ws);
            kstt__matmul(NULL, k, &q.w, x, cols, y1, rows, batch, &ws);
            int same = !memcmp(y0, y1, (size_t)batch * rows * sizeof(float));
            kstt__free(ws.buf);
            free(x);
            free(y0);
            free(y1);
            qt_mat_free(&q);
            if (!same) {
                TEST_FAIL_("%s %s: pool and single-thread results differ", k->name,
                           kstt__wtype_name(t));
                break;
            }
        }
    }
    kstt_pool_free(pool);
}

static void test_bf16_dot(void) {
    for (int l = 0; l < n_levels; l++) {
        const kstt__kernels *k = levels[l];
        if (!k->matmul_bf16_dot)
            continue;
        for (int it = 0; it < kstt_test_iters(20); it++) {
            const long rows = test_rand_int(1, 37), cols = test_rand_int(1, 200);
            const int batch = test_rand_int(1, 10);
            qt_mat q = make_mat(KSTT_WT_BF16, rows, cols);
            float *x = qt_rand_buf((long)batch * cols, 1.0f);
            float *y = malloc((size_t)batch * rows * sizeof(float));
            kstt__ws ws = {NULL, kstt__matmul_ws_size(KSTT_WT_BF16, cols, batch)};
            ws.buf = kstt__alloc(ws.cap);
            run_kernel(k, &q.w, k->matmul_bf16_dot, k->prepare_x_bf16_dot, x, cols, y, rows, batch,
                       0, rows, &ws);
            int ok = 1;
            for (int b = 0; b < batch && ok; b++)
                for (long r = 0; r < rows && ok; r++) {
                    double exact = 0, mag = 0;
                    for (long c = 0; c < cols; c++) {
                        exact += (double)q.deq[r * cols + c] * x[(long)b * cols + c];
                        mag += fabs((double)q.deq[r * cols + c] * x[(long)b * cols + c]);
                    }
                    if (!(fabs(y[(long)b * rows + r] - exact) <= 8e-3 * mag + 1e-30)) {
                        TEST_FAIL_("%s bf16 dot rows %ld cols %ld batch %d: y[%d,%ld] %.9g vs "
                                   "%.9g",
                                   k->name, rows, cols, batch, b, r, y[(long)b * rows + r], exact);
                        ok = 0;
                    }
                }
            kstt__free(ws.buf);
            free(x);
            free(y);
            qt_mat_free(&q);
            if (!ok)
                return;
        }
    }
}

static void test_dot_axpy(void) {
    const kstt__kernels *ref = kstt__kernels_ref();
    for (int l = 0; l < n_levels; l++) {
        const kstt__kernels *k = levels[l];
        for (long n = 0; n < 300; n += 1 + n / 10) {
            float *a = qt_rand_buf(n, 1.0f), *b = qt_rand_buf(n, 1.0f), *y0 = qt_rand_buf(n, 1.0f);
            float *y1 = malloc((size_t)(n ? n : 1) * sizeof(float));
            if (n)
                memcpy(y1, y0, (size_t)n * sizeof(float));
            double mag = 0;
            for (long i = 0; i < n; i++)
                mag += fabs((double)a[i] * b[i]);
            const float d = k->dot_f32(a, b, n), dr = ref->dot_f32(a, b, n);
            const float s = test_rand_uniform();
            k->axpy_f32(s, a, y0, n);
            ref->axpy_f32(s, a, y1, n);
            int ok = fabs((double)d - dr) <= 2e-6 * mag + 1e-30;
            for (long i = 0; i < n && ok; i++)
                ok = fabsf(y0[i] - y1[i]) <= 1e-6f;
            free(a);
            free(b);
            free(y0);
            free(y1);
            if (!ok) {
                TEST_FAIL_("%s dot/axpy n %ld: dot %.9g vs %.9g", k->name, n, d, dr);
                return;
            }
        }
    }
}

int main(void) {
    const char *s = getenv("KSTT_TEST_SEED");
    if (s)
        test_seed_ = strtoull(s, NULL, 0);
    n_levels = kstt_test_levels(levels, 1);
    RUN(test_q8_0);
    RUN(test_q4_0);
    RUN(test_q4_K);
    RUN(test_bf16);
    RUN(test_driver_pool);
    RUN(test_bf16_dot);
    RUN(test_dot_axpy);
    return test_summary();
}
