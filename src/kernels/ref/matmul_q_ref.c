/*
 * Scalar reference products for the block-quantised weights. They compute exactly what the
 * SIMD kernels compute, in the simplest order: activations quantised to 8-bit blocks (qx.h),
 * integer dot products per 32-element block, then one f32 scale per block:
 *     q8_0: y += (dw * dx) * sum(qw * qx)
 *     q4_0: y += (dw * dx) * sum((qw - 8) * qx)
 *     q4_K: y += (d * sc_j * dx) * sum(qw * qx)  -  dmin * sum_j m_j * sx_j
 * Optimised kernels differ only in the order of the f32 sums; their tests compare to these.
 */
#include <math.h>

#include "kernels/qx.h"
#include "kernels/ref/ref_q.h"
#include "quant/quant.h"

void kstt__prepare_x_q8_ref(const float *x, long ldx, int batch, long cols, const kstt__ws *ws) {
    const long nb = cols / 32;
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * ldx;
        kstt__qx q = kstt__qx_at(ws->buf, cols, b);
        for (long k = 0; k < nb; k++) {
            float amax = 0.0f;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(xb[32 * k + j]));
            const float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                const int v = (int)lrintf(xb[32 * k + j] * id);
                q.u[32 * k + j] = (uint8_t)(v + 128);
                sum += v;
            }
            for (int j = 0; j < 8; j++) q.dv[8 * k + j] = d, q.ci[8 * k + j] = -sum;
            q.sx[k] = d * (float)sum;
        }
    }
}

static inline const char *row_ptr(const kstt__wmat *w, long r) {
    return (const char *)w->data + (size_t)r * w->row_bytes;
}

static void matmul_q8_0_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                            int batch, long r0, long r1, const kstt__ws *ws) {
    (void)x, (void)ldx;
    const long cols = (long)w->cols, nb = cols / 32;
    for (long r = r0; r < r1; r++) {
        const kstt__block_q8_0 *blk = (const kstt__block_q8_0 *)row_ptr(w, r);
        for (int b = 0; b < batch; b++) {
            const kstt__qx q = kstt__qx_at(ws->buf, cols, b);
            float acc = 0.0f;
            for (long k = 0; k < nb; k++) {
                int dot = 0;
                for (int j = 0; j < 32; j++) dot += blk[k].qs[j] * ((int)q.u[32 * k + j] - 128);
                acc += kstt__f16_to_f32(blk[k].d) * q.dv[8 * k] * (float)dot;
            }
            y[(long)b * ldy + r] = acc;
        }
    }
}

static void matmul_q4_0_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                            int batch, long r0, long r1, const kstt__ws *ws) {
    (void)x, (void)ldx;
    const long cols = (long)w->cols, nb = cols / 32;
    for (long r = r0; r < r1; r++) {
        const kstt__block_q4_0 *blk = (const kstt__block_q4_0 *)row_ptr(w, r);
        for (int b = 0; b < batch; b++) {
            const kstt__qx q = kstt__qx_at(ws->buf, cols, b);
            float acc = 0.0f;
            for (long k = 0; k < nb; k++) {
                const uint8_t *u = q.u + 32 * k;
                int dot = 0;
                for (int j = 0; j < 16; j++) {
                    dot += ((blk[k].qs[j] & 0xF) - 8) * ((int)u[j] - 128);
                    dot += ((blk[k].qs[j] >> 4) - 8) * ((int)u[j + 16] - 128);
                }
                acc += kstt__f16_to_f32(blk[k].d) * q.dv[8 * k] * (float)dot;
            }
            y[(long)b * ldy + r] = acc;
        }
    }
}

static void matmul_q4_K_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                            int batch, long r0, long r1, const kstt__ws *ws) {
    (void)x, (void)ldx;
    const long cols = (long)w->cols, nsb = cols / KSTT_QK_K;
    for (long r = r0; r < r1; r++) {
        const kstt__block_q4_K *blk = (const kstt__block_q4_K *)row_ptr(w, r);
        for (int b = 0; b < batch; b++) {
            const kstt__qx q = kstt__qx_at(ws->buf, cols, b);
            float acc = 0.0f, mins = 0.0f;
            for (long i = 0; i < nsb; i++) {
                const float d = kstt__f16_to_f32(blk[i].d), dmin = kstt__f16_to_f32(blk[i].dmin);
                for (int j = 0; j < 8; j++) {
                    uint8_t sc, m;
                    kstt__q4k_scale_min(j, blk[i].scales, &sc, &m);
                    const long k = 8 * i + j; /* 32-element block index in the row */
                    const uint8_t *u = q.u + 32 * k, *qs = blk[i].qs + 32 * (j / 2);
                    const int shift = (j & 1) * 4;
                    int dot = 0;
                    for (int l = 0; l < 32; l++) dot += ((qs[l] >> shift) & 0xF) * ((int)u[l] - 128);
                    acc += d * (float)sc * q.dv[8 * k] * (float)dot;
                    mins += dmin * (float)m * q.sx[k];
                }
            }
            y[(long)b * ldy + r] = acc - mins;
        }
    }
}

void kstt__kernels_fill_q_ref(kstt__kernels *k) {
    k->matmul[KSTT_WT_Q8_0] = matmul_q8_0_ref;
    k->matmul[KSTT_WT_Q4_0] = matmul_q4_0_ref;
    k->matmul[KSTT_WT_Q4_K] = matmul_q4_K_ref;
    k->prepare_x[KSTT_WT_Q8_0] = kstt__prepare_x_q8_ref;
    k->prepare_x[KSTT_WT_Q4_0] = kstt__prepare_x_q8_ref;
    k->prepare_x[KSTT_WT_Q4_K] = kstt__prepare_x_q8_ref;
}
