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
#include <string.h>

#include "kernels/qx.h"
#include "kernels/ref/ref.h"
#include "quant/quant.h"
#include "quant/repack.h"

void kstt__prepare_x_q8_ref(const float *x, long ldx, int batch, long cols, const kstt__ws *ws) {
    const long nb = cols / 32;
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * ldx;
        kstt__qx q = kstt__qx_at(ws->buf, cols, b);
        for (long k = 0; k < nb; k++) {
            float amax = 0.0f;
            for (int j = 0; j < 32; j++)
                amax = fmaxf(amax, fabsf(xb[32 * k + j]));
            const float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
            int sum = 0;
            for (int j = 0; j < 32; j++) {
                const int v = (int)lrintf(xb[32 * k + j] * id);
                q.u[32 * k + j] = (uint8_t)(v + 128);
                sum += v;
            }
            for (int j = 0; j < 8; j++)
                q.dv[8 * k + j] = d, q.ci[8 * k + j] = -sum;
            q.sx[k] = d * (float)sum;
        }
    }
}

static inline const char *row_ptr(const kstt__wmat *w, long r) {
    return (const char *)w->data + (size_t)r * w->row_bytes;
}

void kstt__matmul_q8_0_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
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
                for (int j = 0; j < 32; j++)
                    dot += blk[k].qs[j] * ((int)q.u[32 * k + j] - 128);
                acc += kstt__f16_to_f32(blk[k].d) * q.dv[8 * k] * (float)dot;
            }
            y[(long)b * ldy + r] = acc;
        }
    }
}

void kstt__matmul_q4_0_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
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

void kstt__matmul_q4_K_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
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
                    for (int l = 0; l < 32; l++)
                        dot += ((qs[l] >> shift) & 0xF) * ((int)u[l] - 128);
                    acc += d * (float)sc * q.dv[8 * k] * (float)dot;
                    mins += dmin * (float)m * q.sx[k];
                }
            }
            y[(long)b * ldy + r] = acc - mins;
        }
    }
}

/* Activations for the packed types: the quantisation of kstt__prepare_x_q8_ref (the same q
 * and d), written in the transposed layout kstt__qxt (qx.h). */
void kstt__prepare_x_qt_ref(const float *x, long ldx, int batch, long cols, const kstt__ws *ws) {
    const long nb = cols / 32, G = (nb + 15) / 16;
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * ldx;
        for (long g = 0; g < G; g++) {
            kstt__qxt q = kstt__qxt_at(ws->buf, cols, b, g);
            memset(q.q, 0, KSTT__QXT_GROUP_BYTES);
            for (int l = 0; l < 16 && 16 * g + l < nb; l++) {
                const float *xk = xb + 32 * (16 * g + l);
                float amax = 0.0f;
                for (int j = 0; j < 32; j++)
                    amax = fmaxf(amax, fabsf(xk[j]));
                const float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
                int sum = 0;
                for (int j = 0; j < 32; j++) {
                    const int v = (int)lrintf(xk[j] * id);
                    q.q[64 * (j / 4) + 4 * l + j % 4] = (int8_t)v;
                    sum += v;
                }
                q.d[l] = d;
                q.c8[l] = -8 * sum;
                q.c128[l] = -128 * sum;
                q.sx[l] = d * (float)sum;
            }
        }
    }
}

/* The packed layouts (quant/repack.h): the same sums in the same order as the two products
 * above (same q, same d), so a packed matrix gives bit-identical results to its source at this
 * level. */
void kstt__matmul_qr_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                         int batch, long r0, long r1, const kstt__ws *ws) {
    (void)x, (void)ldx;
    const long cols = (long)w->cols, nb = cols / 32;
    for (long r = r0; r < r1; r++) {
        const int slot = (int)(r & 1);
        for (int b = 0; b < batch; b++) {
            float acc = 0.0f;
            for (long k = 0; k < nb; k++) {
                const unsigned char *grp = kstt__rp_group(w, r, k / KSTT_RP_GROUP);
                const int j = (int)(k % KSTT_RP_GROUP);
                const kstt__qxt q = kstt__qxt_at(ws->buf, cols, b, k / KSTT_RP_GROUP);
                uint16_t h;
                memcpy(&h, grp + 32 * slot + 2 * j, 2);
                int dot = 0;
                for (int e = 0; e < 32; e++) {
                    int high;
                    const unsigned char v = grp[kstt__rp_q_offset(w->type, slot, j, e, &high)];
                    const int qw =
                        w->type == KSTT_WT_Q8_0R ? (int8_t)v : (high ? v >> 4 : v & 0xF) - 8;
                    dot += qw * q.q[64 * (e / 4) + 4 * j + e % 4];
                }
                acc += kstt__f16_to_f32(h) * q.d[j] * (float)dot;
            }
            y[(long)b * ldy + r] = acc;
        }
    }
}

/* q4_KR: the sums of kstt__matmul_q4_K_ref in its order, from the packed layout. */
void kstt__matmul_q4_kr_ref(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                            int batch, long r0, long r1, const kstt__ws *ws) {
    (void)x, (void)ldx;
    const long cols = (long)w->cols, nsb = cols / KSTT_QK_K;
    for (long r = r0; r < r1; r++) {
        const int slot = (int)(r & 1);
        for (int b = 0; b < batch; b++) {
            float acc = 0.0f, mins = 0.0f;
            for (long i = 0; i < nsb; i++) {
                const long g = i / 2;
                const unsigned char *grp = kstt__rp_group(w, r, g);
                const unsigned char *hd = grp + 32 * slot + 16 * (i % 2);
                const kstt__qxt q = kstt__qxt_at(ws->buf, cols, b, g);
                uint16_t h, hmin;
                memcpy(&h, hd, 2);
                memcpy(&hmin, hd + 2, 2);
                const float d = kstt__f16_to_f32(h), dmin = kstt__f16_to_f32(hmin);
                for (int j = 0; j < 8; j++) {
                    uint8_t sc, m;
                    kstt__q4k_scale_min(j, hd + 4, &sc, &m);
                    const int l = 8 * (int)(i % 2) + j; /* block within the group */
                    int dot = 0;
                    for (int e = 0; e < 32; e++) {
                        int high;
                        const unsigned char v = grp[kstt__rp_q_offset(w->type, slot, l, e, &high)];
                        dot += (high ? v >> 4 : v & 0xF) * q.q[64 * (e / 4) + 4 * l + e % 4];
                    }
                    acc += d * (float)sc * q.d[l] * (float)dot;
                    mins += dmin * (float)m * q.sx[l];
                }
            }
            y[(long)b * ldy + r] = acc - mins;
        }
    }
}
