/*
 * Helpers shared by the packed- and quantised-kernel tests (tests/unit/test_kernels_quant.c,
 * test_quant_repack.c, test_kernels_amx.c, test_kernels_bf16x.c): random buffers and row
 * ranges from test.h's seeded RNG, a random matrix quantised row by row with its dequantised
 * copy (the oracle's weights), one product through a kernel table (prepare_x, then matmul),
 * and the checks every product of a row range gets. Include after the library headers.
 */
#ifndef KSTT_QUANT_TEST_UTIL_H
#define KSTT_QUANT_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/kernels.h"
#include "quant/quant.h"
#include "test.h"

/* n floats uniform in [-scale, scale), malloc'd (at least one element). */
static inline float *qt_rand_buf(long n, float scale) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    for (long i = 0; i < n; i++)
        p[i] = scale * test_rand_uniform();
    return p;
}

typedef struct {
    kstt__wmat w; /* [rows, cols] of type t over data, rows of row_bytes */
    void *data;   /* malloc'd: rows * row_bytes, plus pad bytes */
    float *deq;   /* [rows, cols] f32, malloc'd: w dequantised */
} qt_mat;

/* A random [rows, cols] matrix quantised to t: rows of varied magnitude (every 7th all zero),
 * every 5th with one outlier 20 times its scale. pad: spare bytes after the data (for kernels
 * that may read past the last row's end). Release with qt_mat_free. */
static inline qt_mat qt_mat_new(kstt__wtype t, long rows, long cols, size_t pad) {
    qt_mat m;
    const size_t rb = kstt__wtype_row_bytes(t, cols);
    m.data = malloc(rb * (size_t)rows + pad);
    m.deq = malloc((size_t)(rows * cols) * sizeof(float));
    float *row = malloc((size_t)cols * sizeof(float));
    for (long r = 0; r < rows; r++) {
        const float s = (r % 7 == 3) ? 0.0f : 0.01f * (float)(1 + r % 5);
        for (long c = 0; c < cols; c++)
            row[c] = s * test_rand_uniform();
        if (r % 5 == 1)
            row[test_rand_int(0, (int)cols - 1)] *= 20.0f;
        kstt__quantize_row(t, row, (char *)m.data + (size_t)r * rb, cols);
        kstt__dequantize_row(t, (char *)m.data + (size_t)r * rb, m.deq + r * cols, cols);
    }
    free(row);
    m.w = (kstt__wmat){t, rows, cols, rb, m.data};
    return m;
}

static inline void qt_mat_free(qt_mat *m) {
    free(m->data);
    free(m->deq);
}

/* The size against which an element's f32 rounding is judged: |w|, plus what the products
 * carry in their lanes besides it: q4_0 the -8 offset of the nibbles (as -sum(qx) per block),
 * q4_K the mins term (-dmin * m * sx, added apart from d * sc * q * x). */
static inline double qt_elem_mag(const qt_mat *m, long r, long c) {
    const char *row = (const char *)m->data + (size_t)r * m->w.row_bytes;
    double a = fabs((double)m->deq[r * m->w.cols + c]);
    if (m->w.type == KSTT_WT_Q4_0) {
        const kstt__block_q4_0 *blk = (const kstt__block_q4_0 *)row + c / 32;
        a += 8.0 * fabs((double)kstt__f16_to_f32(blk->d));
    } else if (m->w.type == KSTT_WT_Q4_K) {
        const kstt__block_q4_K *blk = (const kstt__block_q4_K *)row + c / 256;
        uint8_t sc, mn;
        kstt__q4k_scale_min((int)(c % 256) / 32, blk->scales, &sc, &mn);
        a += 2.0 * fabs((double)kstt__f16_to_f32(blk->dmin) * mn);
    }
    return a;
}

/* y rows [r0, r1) = w x through kernel table k: its prepare_x for w's type (when it has one),
 * then its matmul. */
static inline void qt_prep_run(const kstt__kernels *k, const kstt__wmat *w, const float *x,
                               long ldx, float *y, long ldy, int batch, long r0, long r1,
                               const kstt__ws *ws) {
    if (k->wt[w->type].prepare_x)
        k->wt[w->type].prepare_x(x, ldx, batch, (long)w->cols, ws);
    k->wt[w->type].matmul(w, x, ldx, y, ldy, batch, r0, r1, ws);
}

/* A random row range [r0, r1) of a matrix of `rows` rows; every third iteration all of it. */
static inline void qt_rand_range(long rows, int it, long *r0, long *r1) {
    *r0 = test_rand_int(0, (int)rows - 1);
    *r1 = test_rand_int((int)*r0 + 1, (int)rows);
    if (it % 3 == 0)
        *r0 = 0, *r1 = rows;
}

/* After a product of rows [r0, r1) into y (batch rows ldy apart, every float set to `sentinel`
 * before): 1 when nothing outside the range was written. Failures through TEST_FAIL_, named
 * by what. */
static inline int qt_untouched_outside(const char *what, const float *y, long ldy, int batch,
                                       long r0, long r1, float sentinel) {
    for (int b = 0; b < batch; b++)
        for (long r = 0; r < ldy; r++)
            if ((r < r0 || r >= r1) && y[(long)b * ldy + r] != sentinel) {
                TEST_FAIL_("%s wrote outside [%ld,%ld): b %d r %ld", what, r0, r1, b, r);
                return 0;
            }
    return 1;
}

/* Some outputs of a batched product y (rows [r0, r1) of w, batch rows of x) recomputed alone
 * (batch 1, a one-row range) through qt_prep_run: 1 when each has the bits it had in the
 * batch (the contract every level keeps, so a stream's results do not depend on its batch). */
static inline int qt_alone_same_bits(const char *what, const kstt__kernels *k, const kstt__wmat *w,
                                     const float *x, long ldx, const float *y, long ldy, int batch,
                                     long r0, long r1, const kstt__ws *ws) {
    float *y1 = malloc((size_t)w->rows * sizeof(float));
    int ok = y1 != NULL;
    for (long r = r0; r < r1 && ok; r += 1 + (r1 - r0) / 4) {
        const int b = test_rand_int(0, batch - 1);
        y1[r] = -1.0f;
        qt_prep_run(k, w, x + (long)b * ldx, ldx, y1, (long)w->rows, 1, r, r + 1, ws);
        if (y1[r] != y[(long)b * ldy + r]) {
            TEST_FAIL_("%s y[%d,%ld] alone %.9g, in the batch of %d %.9g", what, b, r, y1[r], batch,
                       y[(long)b * ldy + r]);
            ok = 0;
        }
    }
    free(y1);
    return ok;
}

#endif
