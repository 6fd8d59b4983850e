/*
 * The Q8_0X packing (quant/repack.h) and the AMX products over it (x86/q8_amx.c):
 *   - round trip on every CPU: each row of a Q8_0X matrix dequantises to exactly the bits of
 *     its q8_0 source row, for row counts that leave a partial last panel and odd block counts
 *     (a half-filled last pair), and the padding is zero;
 *   - where a level has the product (AMX-INT8 enabled for the process): against the reference
 *     q8_0 product over the source (f32 summation order only, the q8_0R tolerance), never
 *     writing outside its row range, over row ranges that start and end inside panels and
 *     batches of 1..40 (chunks of 16 plus a tail);
 *   - an output has the same bits whatever the batch and row range it was computed in, and
 *     through the driver with a pool of two threads;
 *   - the loader packs a GGUF q8_0 matrix as Q8_0X when asked (kstt__kernels.pack).
 * Without AMX the product checks print that they were skipped and the round trip still runs.
 */
#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/pool.h"
#include "kernel_levels.h"
#include "kernels/kernels.h"
#include "quant/quant.h"
#include "quant/repack.h"
#include "quant_test_util.h"
#include "test.h"

static const kstt__kernels *amx; /* the level with the Q8_0X product, or NULL */
static void test_pack_request(void);

typedef struct {
    qt_mat q;      /* q8_0, file layout */
    kstt__wmat pk; /* Q8_0X panels */
    void *pdata;
} xmat;

static xmat make_xmat(long rows, long cols) {
    xmat m;
    m.q = qt_mat_new(KSTT_WT_Q8_0, rows, cols, 0);
    const size_t pb = kstt__repack_bytes_as(&m.q.w, KSTT_WT_Q8_0X);
    m.pdata = kstt__alloc(pb);
    memset(m.pdata, 0xA5, pb); /* the packing must write every byte, padding included */
    kstt__repack_rows_as(&m.q.w, KSTT_WT_Q8_0X, m.pdata, 0, rows);
    kstt__repack_view_as(&m.q.w, KSTT_WT_Q8_0X, m.pdata, &m.pk);
    return m;
}

static void free_xmat(xmat *m) {
    qt_mat_free(&m->q);
    kstt__free(m->pdata);
}

static void test_round_trip(void) {
    for (int it = 0; it < 30; it++) {
        const long rows = it < 3 ? 1 + 15 * it : test_rand_int(1, 50);
        const long cols = it == 3 ? 2048 : it == 4 ? 5632 : 32L * test_rand_int(1, 21);
        xmat m = make_xmat(rows, cols);
        const long panels = (rows + 15) / 16, pairs = (cols / 32 + 1) / 2;
        ASSERT_INT_EQ(kstt__repack_bytes_as(&m.q.w, KSTT_WT_Q8_0X),
                      (size_t)(panels * pairs) * KSTT_RPX_PAIR_BYTES);
        ASSERT_INT_EQ(m.pk.type, KSTT_WT_Q8_0X);
        ASSERT_INT_EQ(m.pk.rows, rows);
        ASSERT_INT_EQ(m.pk.cols, cols);
        float *b = malloc((size_t)cols * sizeof(float));
        int ok = 1;
        for (long r = 0; r < rows && ok; r++) {
            kstt__repack_row_f32(&m.pk, r, b);
            if (memcmp(m.q.deq + r * cols, b, (size_t)cols * sizeof(float))) {
                TEST_FAIL_("rows %ld cols %ld: row %ld differs after packing", rows, cols, r);
                ok = 0;
            }
        }
        /* padding: the missing rows of the last panel and a missing last block are zero */
        const unsigned char *last =
            (const unsigned char *)m.pdata + (size_t)(panels - 1) * m.pk.row_bytes;
        for (long q = 0; q < pairs && ok; q++) {
            const unsigned char *pair = last + (size_t)q * KSTT_RPX_PAIR_BYTES;
            for (int blk = 0; blk < 2 && ok; blk++) {
                const int missing_block = 2 * q + blk >= cols / 32;
                for (int n = 0; n < 16 && ok; n++) {
                    if (!missing_block && (panels - 1) * 16 + n < rows)
                        continue;
                    if (pair[32 * blk + 2 * n] || pair[32 * blk + 2 * n + 1])
                        ok = 0;
                    for (int e = 0; e < 32 && ok; e++)
                        if (pair[64 + 512 * blk + 64 * (e / 4) + 4 * n + e % 4])
                            ok = 0;
                }
            }
            if (!ok)
                TEST_FAIL_("rows %ld cols %ld: padding of pair %ld is not zero", rows, cols, q);
        }
        free(b);
        free_xmat(&m);
        if (!ok)
            return;
    }
    /* a type with no Q8_0X packing keeps its default (q4_0 -> q4_0r) */
    kstt__wmat q4 = {KSTT_WT_Q4_0, 2, 64, kstt__wtype_row_bytes(KSTT_WT_Q4_0, 64), NULL};
    ASSERT_INT_EQ(kstt__repack_bytes_as(&q4, KSTT_WT_Q8_0X), kstt__repack_bytes(&q4));
}

static int check_products(long rows, long cols, int batch, long r0, long r1) {
    const kstt__kernels *ref = kstt__kernels_ref();
    xmat m = make_xmat(rows, cols);
    const long ldx = cols + test_rand_int(0, 5), ldy = rows + test_rand_int(0, 3);
    float *x = qt_rand_buf((long)(batch - 1) * ldx + cols, 2.0f);
    kstt__ws ws = {NULL, kstt__matmul_ws_size(KSTT_WT_Q8_0X, cols, batch)};
    if (kstt__matmul_ws_size(KSTT_WT_Q8_0, cols, batch) > ws.cap)
        ws.cap = kstt__matmul_ws_size(KSTT_WT_Q8_0, cols, batch);
    ws.buf = kstt__alloc(ws.cap);
    const size_t ny = (size_t)batch * (size_t)ldy;
    float *ys = malloc(ny * sizeof(float)), *y = malloc(ny * sizeof(float));
    for (size_t i = 0; i < ny; i++)
        ys[i] = y[i] = -777.0f;
    qt_prep_run(ref, &m.q.w, x, ldx, ys, ldy, batch, r0, r1, &ws);
    qt_prep_run(amx, &m.pk, x, ldx, y, ldy, batch, r0, r1, &ws);
    int ok = qt_untouched_outside("Q8_0X", y, ldy, batch, r0, r1, -777.0f);
    for (int b = 0; b < batch && ok; b++)
        for (long r = r0; r < r1 && ok; r++) {
            const float got = y[(long)b * ldy + r], want = ys[(long)b * ldy + r];
            double mag = 0;
            for (long c = 0; c < cols; c++)
                mag += fabs((double)m.q.deq[r * cols + c]) * fabs((double)x[(long)b * ldx + c]);
            if (!(fabs((double)got - want) <= 4e-6 * mag + 1e-30)) {
                TEST_FAIL_("rows %ld cols %ld batch %d [%ld,%ld): y[%d,%ld] = %.9g, ref %.9g", rows,
                           cols, batch, r0, r1, b, r, got, want);
                ok = 0;
            }
        }
    ok = ok && qt_alone_same_bits("Q8_0X", amx, &m.pk, x, ldx, y, ldy, batch, r0, r1, &ws);
    kstt__free(ws.buf);
    free(x);
    free(ys);
    free(y);
    free_xmat(&m);
    return ok;
}

static void test_products(void) {
    if (!amx) {
        printf("  no AMX-INT8 level on this CPU (or KSTT_AMX=0): products skipped\n");
        return;
    }
    const int iters = kstt_test_iters(40);
    for (int it = 0; it < iters; it++) {
        const long rows = test_rand_int(1, 70);
        long cols = 32L * test_rand_int(1, 40);
        if (it == 0)
            cols = 2048;
        const int batch = it < 18 ? 1 + it : test_rand_int(1, 40);
        long r0, r1;
        qt_rand_range(rows, it, &r0, &r1);
        if (!check_products(rows, cols, batch, r0, r1))
            return;
    }
}

/* The driver with a pool (chunks of rows on two threads) gives the single-thread bits. */
static void test_driver_pool(void) {
    if (!amx)
        return;
    const long rows = 333, cols = 544;
    const int batch = 21;
    xmat m = make_xmat(rows, cols);
    float *x = qt_rand_buf((long)batch * cols, 1.0f);
    if (!kstt_test_pool_same_bits(amx, &m.pk, x, batch))
        TEST_FAIL_("Q8_0X: pool and single-thread results differ");
    free(x);
    free_xmat(&m);
}

/* the level that has the product asks the loader for the packing */
static void test_pack_request(void) {
    if (amx)
        ASSERT_INT_EQ(amx->pack[KSTT_WT_Q8_0], KSTT_WT_Q8_0X);
}

int main(void) {
    const kstt__kernels *levels[KSTT_TEST_MAX_LEVELS];
    const int n = kstt_test_levels(levels, 0);
    for (int i = 0; i < n; i++)
        if (levels[i]->wt[KSTT_WT_Q8_0X].matmul)
            amx = levels[i];
    RUN(test_pack_request);
    RUN(test_round_trip);
    RUN(test_products);
    RUN(test_driver_pool);
    return test_summary();
}
