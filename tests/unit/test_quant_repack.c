/*
 * The load-time repack of q8_0 / q4_0 / q4_K (quant/repack.h) and the products over the packed
 * types at every level this CPU has:
 *   - round trip: every row of a packed matrix dequantises to exactly the bits of its source
 *     row, for odd row counts and partial last groups (cols not a multiple of 512, odd block
 *     counts); the packed size and the zero padding;
 *   - the reference product over the packed matrix has the same bits as the reference product
 *     over its source (same sums in the same order);
 *   - every level's packed product against that reference (f32 summation order only), never
 *     writing outside its row range, over odd row ranges (an odd first row), batch 1..11;
 *   - an output has the same bits whatever the batch, row range or pool it was computed in;
 *   - the loader (kstt__weights_mat_packed) packs q8_0 / q4_0 / q4_K GGUF matrices, leaves others
 *     alone, and the mapping still reads right after its pages were released.
 */
#include <stdlib.h>

#include "core/alloc.h"
#include "core/pool.h"
#include "io/gguf.h"
#include "io/weights.h"
#include "kernel_levels.h"
#include "kernels/kernels.h"
#include "quant/quant.h"
#include "quant/repack.h"
#include "quant_test_util.h"
#include "test.h"

static const kstt__kernels *levels[KSTT_TEST_MAX_LEVELS];
static int n_levels;

typedef struct {
    qt_mat q;      /* file layout */
    kstt__wmat pk; /* packed */
    void *pdata;
} pmat;

static pmat make_pmat(kstt__wtype t, long rows, long cols) {
    pmat m;
    m.q = qt_mat_new(t, rows, cols, 0);
    const size_t pb = kstt__repack_bytes(&m.q.w);
    m.pdata = kstt__alloc(pb);
    memset(m.pdata, 0xA5, pb); /* the repack must write every byte, padding included */
    kstt__repack(&m.q.w, m.pdata, &m.pk);
    return m;
}

static void free_pmat(pmat *m) {
    qt_mat_free(&m->q);
    kstt__free(m->pdata);
}

static void test_round_trip(void) {
    const kstt__wtype types[3] = {KSTT_WT_Q8_0, KSTT_WT_Q4_0, KSTT_WT_Q4_K};
    const kstt__wtype packed[3] = {KSTT_WT_Q8_0R, KSTT_WT_Q4_0R, KSTT_WT_Q4_KR};
    for (int ti = 0; ti < 3; ti++) {
        const kstt__wtype t = types[ti];
        const int blk = kstt__wtype_block_elems(t);
        ASSERT_INT_EQ(kstt__repack_type(t), packed[ti]);
        for (int it = 0; it < 40; it++) {
            const long rows = it < 4 ? 1 + it : test_rand_int(1, 23);
            const long cols = it == 5   ? 2048
                              : it == 6 ? 5632
                                        : (long)blk * test_rand_int(1, blk > 32 ? 5 : 40);
            pmat m = make_pmat(t, rows, cols);
            const long G = (cols / 32 + 15) / 16;
            ASSERT_INT_EQ(kstt__repack_bytes(&m.q.w),
                          (size_t)((rows + 1) / 2) * (size_t)G * (t == KSTT_WT_Q8_0 ? 1088 : 576));
            ASSERT_INT_EQ(m.pk.type, kstt__repack_type(t));
            ASSERT_INT_EQ(m.pk.rows, rows);
            ASSERT_INT_EQ(m.pk.cols, cols);
            float *a = malloc((size_t)cols * sizeof(float)),
                  *b = malloc((size_t)cols * sizeof(float));
            int ok = 1;
            for (long r = 0; r < rows && ok; r++) {
                kstt__wmat_row_f32(&m.q.w, r, a);
                kstt__repack_row_f32(&m.pk, r, b);
                if (memcmp(a, b, (size_t)cols * sizeof(float))) {
                    TEST_FAIL_("%s rows %ld cols %ld: row %ld differs after the repack",
                               kstt__wtype_name(t), rows, cols, r);
                    ok = 0;
                }
            }
            /* the padding (blocks past the row, the missing odd row) is zero */
            if (ok && (rows & 1)) {
                const unsigned char *grp = kstt__rp_group(&m.pk, rows - 1, 0);
                for (int j = 0; j < 32 && ok; j++)
                    if (grp[32 + j])
                        ok = 0; /* slot 1 scales of the last tile */
                if (!ok)
                    TEST_FAIL_("%s: the missing row's scales are not zero", kstt__wtype_name(t));
            }
            if (ok && (cols / 32) % 16) {
                const long nb = cols / 32, g = nb / 16, j = nb % 16;
                const unsigned char *grp = kstt__rp_group(&m.pk, 0, g);
                for (long jj = j; jj < 16 && ok; jj++)
                    if (grp[2 * jj] || grp[2 * jj + 1])
                        ok = 0;
                if (!ok)
                    TEST_FAIL_("%s: the padding blocks' scales are not zero", kstt__wtype_name(t));
            }
            free(a);
            free(b);
            free_pmat(&m);
            if (!ok)
                return;
        }
    }
}

static int check_products(kstt__wtype t, long rows, long cols, int batch, long r0, long r1) {
    const kstt__kernels *ref = kstt__kernels_ref();
    pmat m = make_pmat(t, rows, cols);
    const kstt__wtype pt = m.pk.type;
    const long ldx = cols + test_rand_int(0, 5), ldy = rows + test_rand_int(0, 3);
    float *x = qt_rand_buf((long)(batch - 1) * ldx + cols, 2.0f);
    kstt__ws ws = {NULL, kstt__matmul_ws_size(pt, cols, batch)};
    /* one workspace for both layouts; for whole groups of 512 columns the transposed
     * activations need no more room than the file types' (one size fits the LM's products) */
    if (cols % 512 == 0 && ws.cap > kstt__matmul_ws_size(t, cols, batch))
        TEST_FAIL_("packed %s: workspace larger than the file type's", kstt__wtype_name(t));
    if (kstt__matmul_ws_size(t, cols, batch) > ws.cap)
        ws.cap = kstt__matmul_ws_size(t, cols, batch);
    ws.buf = kstt__alloc(ws.cap);
    const size_t ny = (size_t)batch * (size_t)ldy;
    float *ys = malloc(ny * sizeof(float)), *yp = malloc(ny * sizeof(float));
    float *y = malloc(ny * sizeof(float)), *y1 = malloc((size_t)rows * sizeof(float));
    for (size_t i = 0; i < ny; i++)
        ys[i] = yp[i] = -777.0f;
    qt_prep_run(ref, &m.q.w, x, ldx, ys, ldy, batch, r0, r1, &ws);
    qt_prep_run(ref, &m.pk, x, ldx, yp, ldy, batch, r0, r1, &ws);
    int ok = 1;
    if (memcmp(ys, yp, ny * sizeof(float))) {
        TEST_FAIL_("ref %s rows %ld cols %ld batch %d [%ld,%ld): packed and file layouts differ",
                   kstt__wtype_name(t), rows, cols, batch, r0, r1);
        ok = 0;
    }
    for (int l = 0; l < n_levels && ok; l++) {
        const kstt__kernels *k = levels[l];
        if (!k->wt[pt].matmul) {
            TEST_FAIL_("%s has no product for packed %s", k->name, kstt__wtype_name(t));
            ok = 0;
            break;
        }
        for (size_t i = 0; i < ny; i++)
            y[i] = -777.0f;
        qt_prep_run(k, &m.pk, x, ldx, y, ldy, batch, r0, r1, &ws);
        for (int b = 0; b < batch && ok; b++)
            for (long r = 0; r < ldy && ok; r++) {
                const float got = y[(long)b * ldy + r], want = ys[(long)b * ldy + r];
                if (r < r0 || r >= r1) {
                    if (got != -777.0f) {
                        TEST_FAIL_("%s packed %s wrote outside [%ld,%ld): b %d r %ld", k->name,
                                   kstt__wtype_name(t), r0, r1, b, r);
                        ok = 0;
                    }
                    continue;
                }
                double mag = 0;
                for (long c = 0; c < cols; c++)
                    mag += qt_elem_mag(&m.q, r, c) * fabs((double)x[(long)b * ldx + c]);
                if (!(fabs((double)got - want) <= 4e-6 * mag + 1e-30)) {
                    TEST_FAIL_("%s packed %s rows %ld cols %ld batch %d [%ld,%ld): y[%d,%ld] = "
                               "%.9g, ref %.9g",
                               k->name, kstt__wtype_name(t), rows, cols, batch, r0, r1, b, r, got,
                               want);
                    ok = 0;
                }
            }
        /* each output alone (batch 1, a one-row range: an R = 1 tile, odd or even slot) has the
         * bits it had in the batch and the wider range */
        for (long r = r0; r < r1 && ok; r += 1 + (r1 - r0) / 3) {
            const int b = test_rand_int(0, batch - 1);
            y1[r] = -1.0f;
            qt_prep_run(k, &m.pk, x + (long)b * ldx, ldx, y1, rows, 1, r, r + 1, &ws);
            if (y1[r] != y[(long)b * ldy + r]) {
                TEST_FAIL_("%s packed %s: y[%d,%ld] alone %.9g, in the batch %.9g", k->name,
                           kstt__wtype_name(t), b, r, y1[r], y[(long)b * ldy + r]);
                ok = 0;
            }
        }
    }
    kstt__free(ws.buf);
    free(x);
    free(ys);
    free(yp);
    free(y);
    free(y1);
    free_pmat(&m);
    return ok;
}

static void random_products(kstt__wtype t, int iters) {
    const int blk = kstt__wtype_block_elems(t);
    iters = kstt_test_iters(iters);
    for (int it = 0; it < iters; it++) {
        const long rows = test_rand_int(1, 41);
        long cols = (long)blk * test_rand_int(1, blk > 32 ? 5 : 40);
        if (it == 0)
            cols = 2048;
        if (it == 1) /* a full group and a partial one */
            cols = blk > 32 ? 768 : 512 + 32 * 15;
        const int batch = it < 8 ? 1 + it : test_rand_int(1, 11);
        long r0, r1;
        qt_rand_range(rows, it, &r0, &r1);
        if (!check_products(t, rows, cols, batch, r0, r1))
            return;
    }
}

static void test_q8_0r(void) {
    random_products(KSTT_WT_Q8_0, 50);
}
static void test_q4_0r(void) {
    random_products(KSTT_WT_Q4_0, 50);
}
static void test_q4_kr(void) {
    random_products(KSTT_WT_Q4_K, 40);
}

/* The driver with a pool (chunks of rows on two threads) gives the single-thread bits. */
static void test_driver_pool(void) {
    const kstt__wtype types[3] = {KSTT_WT_Q8_0, KSTT_WT_Q4_0, KSTT_WT_Q4_K};
    for (int l = 0; l < n_levels; l++)
        for (int ti = 0; ti < 3; ti++) {
            const long rows = 333, cols = types[ti] == KSTT_WT_Q4_K ? 768 : 544;
            const int batch = 5;
            pmat m = make_pmat(types[ti], rows, cols);
            float *x = qt_rand_buf((long)batch * cols, 1.0f);
            const int same = kstt_test_pool_same_bits(levels[l], &m.pk, x, batch);
            free(x);
            free_pmat(&m);
            if (!same) {
                TEST_FAIL_("%s packed %s: pool and single-thread results differ", levels[l]->name,
                           kstt__wtype_name(types[ti]));
                return;
            }
        }
}

/* A GGUF file with one matrix of each kind, through kstt__weights_mat_packed. */
static void test_loader(void) {
    const char *dir = getenv("KSTT_BUILD_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/test_quant_repack.gguf", dir && *dir ? dir : ".");
    const kstt__wtype types[4] = {KSTT_WT_Q8_0, KSTT_WT_Q4_0, KSTT_WT_F32, KSTT_WT_Q4_K};
    const int64_t shapes[4][2] = {{37, 544}, {6, 1024}, {3, 32}, {2, 256}};
    const char *names[4] = {"a.weight", "b.weight", "c.weight", "d.weight"};
    void *data[4];
    kstt__gguf_writer *gw;
    ASSERT_INT_EQ(kstt__gguf_writer_new(&gw), KSTT_OK);
    for (int i = 0; i < 4; i++) {
        const int64_t rows = shapes[i][0], cols = shapes[i][1];
        const size_t rb = kstt__wtype_row_bytes(types[i], cols);
        data[i] = malloc(rb * (size_t)rows);
        float *row = qt_rand_buf(cols, 1.0f);
        for (int64_t r = 0; r < rows; r++) {
            for (int64_t c = 0; c < cols; c++)
                row[c] = test_rand_uniform();
            kstt__quantize_row(types[i], row, (char *)data[i] + (size_t)r * rb, cols);
        }
        free(row);
        ASSERT_INT_EQ(kstt__gguf_writer_add(gw, names[i], types[i], 2, shapes[i], data[i]),
                      KSTT_OK);
    }
    char err[256];
    ASSERT_INT_EQ(kstt__gguf_writer_save(gw, path, err, sizeof err), KSTT_OK);
    kstt__gguf_writer_free(gw);
    kstt__weights *wt;
    ASSERT_INT_EQ(kstt__weights_open(&wt, path, err, sizeof err), KSTT_OK);
    float a[1024], b[1024];
    for (int i = 0; i < 4; i++) {
        const int64_t rows = shapes[i][0], cols = shapes[i][1];
        kstt__wmat m, f;
        ASSERT_INT_EQ(kstt__weights_mat_packed(wt, names[i], rows, cols, NULL, &m, err, sizeof err),
                      KSTT_OK);
        ASSERT_INT_EQ(m.type, kstt__repack_type(types[i]));
        ASSERT_INT_EQ(m.rows, rows);
        ASSERT_INT_EQ(m.cols, cols);
        /* the file's matrix (its pages were released while packing: read again) */
        ASSERT_INT_EQ(kstt__weights_mat(wt, names[i], rows, cols, &f, err, sizeof err), KSTT_OK);
        const kstt__wmat orig = {types[i], rows, cols, kstt__wtype_row_bytes(types[i], cols),
                                 data[i]};
        for (int64_t r = 0; r < rows; r++) {
            kstt__wmat_row_f32(&orig, r, a);
            kstt__wmat_row_f32(&f, r, b);
            ASSERT_TRUE(!memcmp(a, b, (size_t)cols * sizeof(float)));
            if (m.type != types[i])
                kstt__repack_row_f32(&m, r, b);
            else
                kstt__wmat_row_f32(&m, r, b);
            ASSERT_TRUE(!memcmp(a, b, (size_t)cols * sizeof(float)));
        }
    }
    kstt__weights_close(wt);
    remove(path);
    for (int i = 0; i < 4; i++)
        free(data[i]);
}

int main(void) {
    const char *s = getenv("KSTT_TEST_SEED");
    if (s)
        test_seed_ = strtoull(s, NULL, 0);
    n_levels = kstt_test_levels(levels, 1);
    RUN(test_round_trip);
    RUN(test_q8_0r);
    RUN(test_q4_0r);
    RUN(test_q4_kr);
    RUN(test_driver_pool);
    RUN(test_loader);
    return test_summary();
}
