/*
 * The packed-layout products (quant/repack.h, KSTT_WT_Q8_0R / Q4_0R / Q4_KR) for NEON, shared
 * by q_neon.c (no sdot) and q_dotprod.c (sdot). The including file defines
 *     static inline int32x4_t QR_DOT(int32x4_t acc, int8x16_t a, int8x16_t b)
 * adding to each int32 lane the dot product of the lane's 4 bytes of a and b (sdot, or its
 * smull/sadalp emulation), then instantiates QR_DEFINE(suffix).
 *
 * The packed layout's 64-byte "registers" (int32 lane l = 4 elements of block 16g + l) are 4
 * q registers here: q register i holds blocks 4i .. 4i + 3 of the group, one per lane, so an
 * sdot per q register accumulates one block per lane exactly as vpdpbusd does on x86; after a
 * group, 4 int32 vectors hold the 16 block dots of a (row, batch row), scaled in f32 by
 * (weight scale * activation scale) with one FMA per 4 blocks.
 *
 * A tile is 2 rows (slots) streamed in one sequential pass; batch rows are taken 2 at a time
 * so that each weight register feeds 2 sdots.
 */
#ifndef KSTT_KERNELS_ARM_QR_ARM_H
#define KSTT_KERNELS_ARM_QR_ARM_H

#include <arm_neon.h>
#include <string.h>

#include "kernels/arm/arm.h"
#include "kernels/qx.h"
#include "quant/repack.h"

#define QR_INLINE static inline __attribute__((always_inline))

enum { QR_Q8 = 0, QR_Q4 = 1, QR_Q4K = 2 };

/* 4 f16 scales -> f32 */
QR_INLINE float32x4_t qr_f16x4(const unsigned char *p) {
    uint16_t h[4];
    memcpy(h, p, sizeof h);
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
}

QR_INLINE float qr_f16(const unsigned char *p) {
    __fp16 h;
    memcpy(&h, p, 2);
    return (float)h;
}

/* q4_K header (f16 d, f16 dmin, 12 bytes of 6-bit scales and mins) of one super-block ->
 * d * sc_j and dmin * m_j for its 8 blocks, in sc[0..1] and mn[0..1] (exact products). */
QR_INLINE void qr_q4k_head(const unsigned char *hd, float32x4_t *sc, float32x4_t *mn) {
    uint32_t a, b, c;
    memcpy(&a, hd + 4, 4);
    memcpy(&b, hd + 8, 4);
    memcpy(&c, hd + 12, 4);
    const uint32_t sc_lo = a & 0x3f3f3f3fu, m_lo = b & 0x3f3f3f3fu;
    const uint32_t sc_hi = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
    const uint32_t m_hi = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
    const uint16x8_t s16 = vmovl_u8(vcreate_u8((uint64_t)sc_hi << 32 | sc_lo));
    const uint16x8_t m16 = vmovl_u8(vcreate_u8((uint64_t)m_hi << 32 | m_lo));
    const float d = qr_f16(hd), dmin = qr_f16(hd + 2);
    sc[0] = vmulq_n_f32(vcvtq_f32_u32(vmovl_u16(vget_low_u16(s16))), d);
    sc[1] = vmulq_n_f32(vcvtq_f32_u32(vmovl_high_u16(s16)), d);
    mn[0] = vmulq_n_f32(vcvtq_f32_u32(vmovl_u16(vget_low_u16(m16))), dmin);
    mn[1] = vmulq_n_f32(vcvtq_f32_u32(vmovl_high_u16(m16)), dmin);
}

/* One tile (slots 0 and 1: rows 2t, 2t + 1) times NB batch rows starting at b0: out[s][j]. */
QR_INLINE void qr_tile(const unsigned char *tile, size_t gbytes, long G, const void *wsbuf,
                       long cols, int b0, const int NB, const int ty, float out[2][2]) {
    float32x4_t facc[2][2], fmin[2][2];
    for (int s = 0; s < 2; s++)
        for (int j = 0; j < 2; j++)
            facc[s][j] = fmin[s][j] = vdupq_n_f32(0.0f);
    for (long g = 0; g < G; g++) {
        const unsigned char *grp = tile + (size_t)g * gbytes;
        kstt__qxt qx[2];
        for (int j = 0; j < NB; j++)
            qx[j] = kstt__qxt_at((void *)wsbuf, cols, b0 + j, g);
        int32x4_t acc[2][2][4];
        for (int s = 0; s < 2; s++)
            for (int j = 0; j < NB; j++)
                for (int i = 0; i < 4; i++)
                    acc[s][j][i] = ty == QR_Q4 ? vld1q_s32(qx[j].c8 + 4 * i) : vdupq_n_s32(0);
        if (ty == QR_Q8) {
            for (int m = 0; m < 8; m++) {
                int8x16_t xq[2][4];
                for (int j = 0; j < NB; j++)
                    for (int i = 0; i < 4; i++)
                        xq[j][i] = vld1q_s8(qx[j].q + 64 * m + 16 * i);
                for (int s = 0; s < 2; s++) {
                    const int8_t *wp = (const int8_t *)grp + 64 + 128 * m + 64 * s;
                    for (int i = 0; i < 4; i++) {
                        const int8x16_t wv = vld1q_s8(wp + 16 * i);
                        for (int j = 0; j < NB; j++)
                            acc[s][j][i] = QR_DOT(acc[s][j][i], wv, xq[j][i]);
                    }
                }
            }
        } else {
            const uint8x16_t m4 = vdupq_n_u8(0x0f);
            for (int c = 0; c < 4; c++) {
                int8x16_t xl[2][4], xh[2][4];
                for (int j = 0; j < NB; j++)
                    for (int i = 0; i < 4; i++) {
                        xl[j][i] = vld1q_s8(qx[j].q + 64 * (2 * c) + 16 * i);
                        xh[j][i] = vld1q_s8(qx[j].q + 64 * (2 * c + 1) + 16 * i);
                    }
                for (int s = 0; s < 2; s++) {
                    const uint8_t *wp = grp + 64 + 128 * c + 64 * s;
                    for (int i = 0; i < 4; i++) {
                        const uint8x16_t raw = vld1q_u8(wp + 16 * i);
                        const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(raw, m4));
                        const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(raw, 4));
                        for (int j = 0; j < NB; j++) {
                            acc[s][j][i] = QR_DOT(acc[s][j][i], lo, xl[j][i]);
                            acc[s][j][i] = QR_DOT(acc[s][j][i], hi, xh[j][i]);
                        }
                    }
                }
            }
        }
        /* f32 scaling: 4 blocks per FMA */
        for (int s = 0; s < 2; s++) {
            float32x4_t sw[4], mw[4];
            if (ty == QR_Q4K) {
                qr_q4k_head(grp + 32 * s, &sw[0], &mw[0]);
                qr_q4k_head(grp + 32 * s + 16, &sw[2], &mw[2]);
            } else {
                for (int i = 0; i < 4; i++)
                    sw[i] = qr_f16x4(grp + 32 * s + 8 * i);
            }
            for (int j = 0; j < NB; j++)
                for (int i = 0; i < 4; i++) {
                    const float32x4_t dx = vld1q_f32(qx[j].d + 4 * i);
                    facc[s][j] =
                        vfmaq_f32(facc[s][j], vcvtq_f32_s32(acc[s][j][i]), vmulq_f32(sw[i], dx));
                    if (ty == QR_Q4K)
                        fmin[s][j] = vfmaq_f32(fmin[s][j], mw[i], vld1q_f32(qx[j].sx + 4 * i));
                }
        }
    }
    for (int s = 0; s < 2; s++)
        for (int j = 0; j < NB; j++)
            out[s][j] = ty == QR_Q4K ? vaddvq_f32(facc[s][j]) - vaddvq_f32(fmin[s][j])
                                     : vaddvq_f32(facc[s][j]);
}

QR_INLINE void qr_matmul(const kstt__wmat *w, float *y, long ldy, int batch, long r0, long r1,
                         const kstt__ws *ws, const int ty) {
    const long cols = (long)w->cols, G = kstt__rp_groups(cols), rows = (long)w->rows;
    const size_t gbytes = kstt__rp_group_bytes(w->type);
    if (r1 <= r0 || batch <= 0)
        return;
    for (long t = r0 >> 1; 2 * t < r1; t++) {
        const unsigned char *tile = (const unsigned char *)w->data + (size_t)t * w->row_bytes;
        for (int b = 0; b < batch;) {
            float out[2][2];
            int nb;
            if (batch - b >= 2) {
                qr_tile(tile, gbytes, G, ws->buf, cols, b, 2, ty, out);
                nb = 2;
            } else {
                qr_tile(tile, gbytes, G, ws->buf, cols, b, 1, ty, out);
                nb = 1;
            }
            for (int s = 0; s < 2; s++) {
                const long r = 2 * t + s;
                if (r < r0 || r >= r1 || r >= rows)
                    continue;
                for (int j = 0; j < nb; j++)
                    y[(long)(b + j) * ldy + r] = out[s][j];
            }
            b += nb;
        }
    }
}

#define QR_DEFINE(SUF)                                                                             \
    void kstt__matmul_q8_0r_##SUF(const kstt__wmat *w, const float *x, long ldx, float *y,         \
                                  long ldy, int batch, long r0, long r1, const kstt__ws *ws) {     \
        (void)x, (void)ldx;                                                                        \
        qr_matmul(w, y, ldy, batch, r0, r1, ws, QR_Q8);                                            \
    }                                                                                              \
    void kstt__matmul_q4_0r_##SUF(const kstt__wmat *w, const float *x, long ldx, float *y,         \
                                  long ldy, int batch, long r0, long r1, const kstt__ws *ws) {     \
        (void)x, (void)ldx;                                                                        \
        qr_matmul(w, y, ldy, batch, r0, r1, ws, QR_Q4);                                            \
    }                                                                                              \
    void kstt__matmul_q4_kr_##SUF(const kstt__wmat *w, const float *x, long ldx, float *y,         \
                                  long ldy, int batch, long r0, long r1, const kstt__ws *ws) {     \
        (void)x, (void)ldx;                                                                        \
        qr_matmul(w, y, ldy, batch, r0, r1, ws, QR_Q4K);                                           \
    }

#endif
