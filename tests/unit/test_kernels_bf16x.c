/*
 * The BF16X packing (kernels.h, kstt__bf16x_pack) and the AMX-BF16 products over it
 * (x86/bf16_amx.c):
 *   - packing on every CPU: every element of every tile is the bf16 of its weight (nearest
 *     even), the missing rows of a last panel and the columns past a last partial block zero,
 *     and every byte written;
 *   - where a level has the product (AMX-BF16 enabled for the process): against a double sum
 *     of the bf16-rounded activations times the bf16 weights, within f32 accumulation error
 *     (2e-6 of sum |x w|), never writing outside its row range, over row counts that leave a
 *     partial panel, column counts that leave a partial block, row ranges that start and end
 *     inside panels, batches of 1..40, and overlapping activation rows (ldx < cols: the way
 *     a convolution reads its receptive fields);
 *   - an output has the same bits whatever the batch and row range it was computed in, and
 *     through the driver with a pool of two threads.
 * Without AMX-BF16 the product checks print that they were skipped.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/pool.h"
#include "kernel_levels.h"
#include "kernels/kernels.h"
#include "quant_test_util.h"
#include "test.h"

static const kstt__kernels *amx; /* the level with the BF16X product, or NULL */

typedef struct {
    float *w; /* [rows, cols] row-major source */
    uint16_t *data;
    kstt__wmat pk;
} bmat;

static bmat make_bmat(long rows, long cols) {
    bmat m;
    m.w = malloc((size_t)rows * cols * sizeof(float));
    for (long i = 0; i < rows * cols; i++)
        m.w[i] = test_rand_uniform();
    const size_t n = kstt__bf16x_elems(rows, cols);
    m.data = kstt__alloc(n * sizeof(uint16_t));
    memset(m.data, 0xA5, n * sizeof(uint16_t)); /* the packing must write every element */
    kstt__bf16x_pack(&m.pk, m.w, rows, cols, cols, m.data);
    return m;
}

static void free_bmat(bmat *m) {
    free(m->w);
    kstt__free(m->data);
}

static float bf16_round(float x) {
    return kstt__bf16_to_f32(kstt__f32_to_bf16(x));
}

static void test_pack(void) {
    for (int it = 0; it < 20; it++) {
        const long rows = it < 3 ? 1 + 15 * it : test_rand_int(1, 50);
        const long cols = it == 3 ? 512 : test_rand_int(1, 300);
        bmat m = make_bmat(rows, cols);
        const long nb = (cols + 31) / 32, panels = (rows + 15) / 16;
        ASSERT_INT_EQ(kstt__bf16x_elems(rows, cols), (size_t)(panels * nb * 512));
        ASSERT_INT_EQ(m.pk.type, KSTT_WT_BF16X);
        ASSERT_INT_EQ(m.pk.row_bytes, (size_t)nb * 1024);
        int ok = 1;
        for (long p = 0; p < panels && ok; p++)
            for (long k = 0; k < nb && ok; k++)
                for (int e = 0; e < 512 && ok; e++) {
                    const long r = 16 * p + (e % 32) / 2, c = 32 * k + 2 * (e / 32) + e % 2;
                    const uint16_t want =
                        r < rows && c < cols ? kstt__f32_to_bf16(m.w[r * cols + c]) : 0;
                    if (m.data[(p * nb + k) * 512 + e] != want) {
                        TEST_FAIL_("rows %ld cols %ld: panel %ld block %ld element %d is %#x, "
                                   "want %#x",
                                   rows, cols, p, k, e, m.data[(p * nb + k) * 512 + e], want);
                        ok = 0;
                    }
                }
        free_bmat(&m);
        if (!ok)
            return;
    }
}

static int check_products(long rows, long cols, int batch, long ldx, long r0, long r1) {
    bmat m = make_bmat(rows, cols);
    const long ldy = rows + test_rand_int(0, 3);
    const long nx = (long)(batch - 1) * ldx + cols;
    float *x = malloc((size_t)nx * sizeof(float));
    for (long i = 0; i < nx; i++)
        x[i] = 2.0f * test_rand_uniform();
    const size_t ny = (size_t)batch * (size_t)ldy;
    float *y = malloc(ny * sizeof(float));
    for (size_t i = 0; i < ny; i++)
        y[i] = -777.0f;
    const kstt__ws no_ws = {NULL, 0};
    qt_prep_run(amx, &m.pk, x, ldx, y, ldy, batch, r0, r1, &no_ws);
    int ok = qt_untouched_outside("BF16X", y, ldy, batch, r0, r1, -777.0f);
    for (int b = 0; b < batch && ok; b++)
        for (long r = r0; r < r1 && ok; r++) {
            const float got = y[(long)b * ldy + r];
            double want = 0, mag = 0;
            for (long c = 0; c < cols; c++) {
                const double t =
                    (double)bf16_round(m.w[r * cols + c]) * bf16_round(x[(long)b * ldx + c]);
                want += t;
                mag += fabs(t);
            }
            if (!(fabs((double)got - want) <= 2e-6 * mag + 1e-30)) {
                TEST_FAIL_("rows %ld cols %ld batch %d ldx %ld [%ld,%ld): y[%d,%ld] = %.9g, "
                           "want %.9g",
                           rows, cols, batch, ldx, r0, r1, b, r, got, want);
                ok = 0;
            }
        }
    ok = ok && qt_alone_same_bits("BF16X", amx, &m.pk, x, ldx, y, ldy, batch, r0, r1, &no_ws);
    free(x);
    free(y);
    free_bmat(&m);
    return ok;
}

static void test_products(void) {
    if (!amx) {
        printf("  no AMX-BF16 level on this CPU (or KSTT_AMX=0): products skipped\n");
        return;
    }
    const int iters = kstt_test_iters(60);
    for (int it = 0; it < iters; it++) {
        const long rows = it == 0 ? 512 : test_rand_int(1, 90);
        const long cols = it == 0 ? 2048 : it == 1 ? 7 : test_rand_int(1, 700);
        const int batch = it < 20 ? 1 + it : test_rand_int(1, 40);
        /* a third of the cases read overlapping rows, as a strided convolution does */
        const long ldx = it % 3 == 2 ? test_rand_int(1, (int)cols) : cols + test_rand_int(0, 5);
        long r0, r1;
        qt_rand_range(rows, it, &r0, &r1);
        if (!check_products(rows, cols, batch, ldx, r0, r1))
            return;
    }
}

/* The driver with a pool (chunks of rows on two threads) gives the single-thread bits. */
static void test_driver_pool(void) {
    if (!amx)
        return;
    const long rows = 333, cols = 544;
    const int batch = 21;
    bmat m = make_bmat(rows, cols);
    float *x = malloc((size_t)batch * cols * sizeof(float));
    for (long i = 0; i < (long)batch * cols; i++)
        x[i] = test_rand_uniform();
    if (!kstt_test_pool_same_bits(amx, &m.pk, x, batch))
        TEST_FAIL_("BF16X: pool and single-thread results differ");
    free(x);
    free_bmat(&m);
}

int main(void) {
    const kstt__kernels *levels[KSTT_TEST_MAX_LEVELS];
    const int n = kstt_test_levels(levels, 0);
    for (int i = 0; i < n; i++)
        if (levels[i]->wt[KSTT_WT_BF16X].matmul)
            amx = levels[i];
    RUN(test_pack);
    RUN(test_products);
    RUN(test_driver_pool);
    return test_summary();
}
