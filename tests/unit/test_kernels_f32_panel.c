/*
 * KSTT_WT_F32_PANEL (pre-packed f32, kernels.h) at every level against KSTT_WT_F32 at the same
 * level: the Mimi encoder swaps one for the other at load and its codes must stay bit-identical,
 * so the products must agree bitwise (same FMA sequence per element), not within a tolerance.
 * Shapes cover row counts that are not whole panels, row ranges that start and end anywhere
 * (thread splits and odd test splits), column tails, every small batch (1..4: the streaming
 * path), micro-kernel batch tails, overlapping strided inputs (convolutions, ldx < cols) and
 * padded outputs; writes outside [r0, r1) are caught with sentinels. The reference level is
 * also checked against the row-major reference (the same bits there too). KSTT_WT_BF16_PANEL
 * (the Mimi's optional bf16 weights) must give the bits of f32 over the bf16-rounded weights.
 */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "kernel_levels.h"
#include "kernels/kernels.h"
#include "test.h"

static float *rand_buf(long n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    for (long i = 0; i < n; i++)
        p[i] = test_rand_uniform();
    return p;
}

static const kstt__kernels *levels[KSTT_TEST_MAX_LEVELS];
static int n_levels;

static void init_levels(void) {
    n_levels = kstt_test_levels(levels, 1);
}

/* y, yp [batch, ldy] equal bit for bit, rows outside [r0, r1) untouched; 0 after a failure. */
static int same(const char *what, const kstt__kernels *k, const float *y, const float *yp,
                long rows, long cols, int batch, long ldx, long ldy, long r0, long r1) {
    for (long i = 0; i < (long)batch * ldy; i++) {
        const long r = i % ldy;
        if (memcmp(&y[i], &yp[i], sizeof(float)) != 0 || (r >= r0 && r < r1 && yp[i] == -777.0f)) {
            TEST_FAIL_("%s %s rows %ld cols %ld batch %d ldx %ld ldy %ld [%ld,%ld): y[%ld, %ld] "
                       "panel %.9g, row-major %.9g",
                       what, k->name, rows, cols, batch, ldx, ldy, r0, r1, i / ldy, r, yp[i], y[i]);
            return 0;
        }
    }
    return 1;
}

/* One product at level k: the f32 panel against row-major f32 W, and the bf16 panel against
 * row-major f32 over W rounded to bf16; 0 after printing a failure. */
static int check(const kstt__kernels *k, long rows, long cols, int batch, long ldx, long ldy,
                 long r0, long r1) {
    const long ldw = cols + (rows % 3); /* the source rows need not be tightly packed */
    float *w = rand_buf(rows * ldw), *wb = malloc(sizeof(float) * (size_t)(rows * ldw));
    for (long i = 0; i < rows * ldw; i++)
        wb[i] = kstt__bf16_to_f32(kstt__f32_to_bf16(w[i]));
    float *x = rand_buf((long)(batch - 1) * ldx + cols);
    const size_t ny = (size_t)batch * ldy;
    float *y = malloc(ny * sizeof *y), *yp = malloc(ny * sizeof *y);
    const size_t pf = kstt__f32_panel_floats(rows, cols);
    float *packed = kstt__alloc(pf * sizeof(float));
    uint16_t *packedb = kstt__alloc(pf * sizeof(uint16_t));
    kstt__wmat m = {KSTT_WT_F32, rows, cols, (size_t)ldw * sizeof(float), w}, p, pb;
    kstt__wmat mb = {KSTT_WT_F32, rows, cols, (size_t)ldw * sizeof(float), wb};
    kstt__f32_panel_pack(&p, w, rows, cols, ldw, packed);
    kstt__bf16_panel_pack(&pb, w, rows, cols, ldw, packedb);
    int ok = p.type == KSTT_WT_F32_PANEL && pb.type == KSTT_WT_BF16_PANEL;
    if (!ok)
        TEST_FAIL_("packed types %d %d", (int)p.type, (int)pb.type);
    for (int t = 0; t < 2 && ok; t++) {
        for (size_t i = 0; i < ny; i++)
            y[i] = yp[i] = -777.0f;
        k->wt[KSTT_WT_F32].matmul(t ? &mb : &m, x, ldx, y, ldy, batch, r0, r1, NULL);
        k->wt[t ? KSTT_WT_BF16_PANEL : KSTT_WT_F32_PANEL].matmul(t ? &pb : &p, x, ldx, yp, ldy,
                                                                 batch, r0, r1, NULL);
        ok = same(t ? "bf16" : "f32", k, y, yp, rows, cols, batch, ldx, ldy, r0, r1);
    }
    kstt__free(packed);
    kstt__free(packedb);
    free(w);
    free(wb);
    free(x);
    free(y);
    free(yp);
    return ok;
}

static void test_pack_layout(void) {
    const long rows = 37, cols = 5;
    float *w = rand_buf(rows * cols);
    ASSERT_INT_EQ(kstt__f32_panel_floats(rows, cols), 64 * cols);
    float *d = kstt__alloc(kstt__f32_panel_floats(rows, cols) * sizeof(float));
    kstt__wmat p;
    kstt__f32_panel_pack(&p, w, rows, cols, cols, d);
    ASSERT_INT_EQ(p.row_bytes, 32 * cols * sizeof(float));
    for (long r = 0; r < 64; r++)
        for (long c = 0; c < cols; c++) {
            const float want = r < rows ? w[r * cols + c] : 0.0f;
            ASSERT_TRUE(d[(r / 32) * 32 * cols + c * 32 + r % 32] == want);
        }
    kstt__free(d);
    free(w);
}

static void test_fixed_shapes(void) {
    static const long rows_[] = {1, 5, 16, 17, 31, 32, 33, 64, 65, 100, 130};
    static const long cols_[] = {1, 3, 16, 17, 255, 256, 257, 600};
    static const int batch_[] = {1, 2, 3, 4, 5, 6, 7, 12, 13, 25};
    /* every combination, or (KSTT_TEST_SCALE < 1) every stride-th one */
    const int stride = 880 / kstt_test_iters(880);
    int i = 0;
    for (int li = 0; li < n_levels; li++)
        for (size_t a = 0; a < sizeof rows_ / sizeof *rows_; a++)
            for (size_t c = 0; c < sizeof cols_ / sizeof *cols_; c++)
                for (size_t b = 0; b < sizeof batch_ / sizeof *batch_; b++)
                    if (i++ % stride == 0 && !check(levels[li], rows_[a], cols_[c], batch_[b],
                                                    cols_[c], rows_[a] + 3, 0, rows_[a]))
                        return;
}

static void test_random(void) {
    for (int li = 0; li < n_levels; li++) {
        for (int it = 0; it < kstt_test_iters(400); it++) {
            const long rows = test_rand_int(1, 200), cols = test_rand_int(1, 700);
            const int batch = test_rand_int(0, 1) ? test_rand_int(1, 4) : test_rand_int(1, 40);
            const long ldx =
                test_rand_int(0, 1) ? test_rand_int(1, (int)cols) : cols + test_rand_int(0, 9);
            const long ldy = rows + test_rand_int(0, 20);
            long r0 = test_rand_int(0, (int)rows - 1), r1 = test_rand_int((int)r0 + 1, (int)rows);
            if (test_rand_int(0, 1)) { /* the driver's splits: multiples of 16 */
                r0 = r0 / 16 * 16;
                if (r1 < rows)
                    r1 = r1 / 16 * 16 > r0 ? r1 / 16 * 16 : r1;
            }
            if (!check(levels[li], rows, cols, batch, ldx, ldy, r0, r1))
                return;
        }
    }
}

/* The driver (row chunks claimed by threads) over a panel matrix: the same bits as F32. */
static void test_driver(void) {
    kstt_pool *pool = NULL;
    ASSERT_INT_EQ(kstt_pool_new(&pool, 2), KSTT_OK);
    const long rows = 300, cols = 211;
    const int batch = 3;
    float *w = rand_buf(rows * cols), *x = rand_buf(batch * cols);
    float *y = malloc(sizeof(float) * batch * rows), *yp = malloc(sizeof(float) * batch * rows);
    float *d = kstt__alloc(kstt__f32_panel_floats(rows, cols) * sizeof(float));
    kstt__wmat m = {KSTT_WT_F32, rows, cols, (size_t)cols * sizeof(float), w}, p;
    kstt__f32_panel_pack(&p, w, rows, cols, cols, d);
    for (int li = 0; li < n_levels; li++) {
        kstt__matmul(pool, levels[li], &m, x, cols, y, rows, batch, NULL);
        kstt__matmul(pool, levels[li], &p, x, cols, yp, rows, batch, NULL);
        ASSERT_TRUE(memcmp(y, yp, sizeof(float) * batch * rows) == 0);
    }
    kstt__free(d);
    free(w);
    free(x);
    free(y);
    free(yp);
    kstt_pool_free(pool);
}

int main(void) {
    init_levels();
    RUN(test_pack_layout);
    RUN(test_fixed_shapes);
    RUN(test_random);
    RUN(test_driver);
    return test_summary();
}
