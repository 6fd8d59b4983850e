/*
 * NEON exact bf16 (and f16) products over row-major weights: each weight widened exactly to
 * f32 (bf16: a 16-bit shift, ushll; f16: fcvtl) and FMA'd with f32 activations, so the result
 * is the f32 product of the stored weights as the reference computes it, up to summation order
 * (the x86 bf16 kernels' contract). No packing: tiles of R rows x B batch rows of dot products
 * (R = 4 at batch 1..2, 2 at 3..4; batch rows in passes of 4), each widened weight vector
 * feeding the B batch rows, two accumulators per (row, batch row) to keep 8..16 FMA chains in
 * flight. At batch 1 this is a stream of 2 bytes per weight and ~0.6 instructions per weight.
 */
#include <arm_neon.h>

#include "kernels/arm/arm.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 8")

/* 8 weights at p + c widened to f32: lo, hi. ty 1 bf16, 2 f16. */
static ALWAYS_INLINE void ld8(const uint16_t *p, long c, const int ty, float32x4_t *lo,
                              float32x4_t *hi) {
    const uint16x8_t h = vld1q_u16(p + c);
    if (ty == 1) {
        *lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        *hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
    } else {
        const float16x8_t f = vreinterpretq_f16_u16(h);
        *lo = vcvt_f32_f16(vget_low_f16(f));
        *hi = vcvt_high_f32_f16(f);
    }
}
static ALWAYS_INLINE float wid1(uint16_t h, const int ty) {
    return ty == 1 ? kstt__bf16_to_f32(h) : kstt__f16_to_f32(h);
}

static ALWAYS_INLINE void tile(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                               long r, const int R, const int B, const int ty) {
    const long cols = (long)w->cols;
    const uint16_t *row[4];
    UNROLL
    for (int i = 0; i < R; i++)
        row[i] = (const uint16_t *)((const char *)w->data + (size_t)(r + i) * w->row_bytes);
    float32x4_t a0[4][4], a1[4][4];
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int j = 0; j < B; j++)
        a0[i][j] = a1[i][j] = vdupq_n_f32(0.0f);
    long c = 0;
    for (; c + 8 <= cols; c += 8) {
        float32x4_t xl[4], xh[4];
        UNROLL
        for (int j = 0; j < B; j++) {
            xl[j] = vld1q_f32(x + (long)j * ldx + c);
            xh[j] = vld1q_f32(x + (long)j * ldx + c + 4);
        }
        UNROLL
        for (int i = 0; i < R; i++) {
            float32x4_t wl, wh;
            ld8(row[i], c, ty, &wl, &wh);
            UNROLL
            for (int j = 0; j < B; j++) {
                a0[i][j] = vfmaq_f32(a0[i][j], wl, xl[j]);
                a1[i][j] = vfmaq_f32(a1[i][j], wh, xh[j]);
            }
        }
    }
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int j = 0; j < B; j++) {
        float s = vaddvq_f32(vaddq_f32(a0[i][j], a1[i][j]));
        for (long cc = c; cc < cols; cc++)
            s += wid1(row[i][cc], ty) * x[(long)j * ldx + cc];
        y[(long)j * ldy + r + i] = s;
    }
}

#define TILE_CASE(RR, BB)                                                                          \
    case BB:                                                                                       \
        tile(w, xb, ldx, yb, ldy, r, RR, BB, ty);                                                  \
        break;

static ALWAYS_INLINE void matmul(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                                 int batch, long r0, long r1, const int ty) {
    for (int b = 0; b < batch; b += 4) {
        const int B = batch - b < 4 ? batch - b : 4;
        const float *xb = x + (long)b * ldx;
        float *yb = y + (long)b * ldy;
        long r = r0;
        if (B <= 2) {
            for (; r + 4 <= r1; r += 4)
                switch (B) {
                    TILE_CASE(4, 1)
                    TILE_CASE(4, 2)
                }
        } else {
            for (; r + 2 <= r1; r += 2)
                switch (B) {
                    TILE_CASE(2, 3)
                    TILE_CASE(2, 4)
                }
        }
        for (; r < r1; r++)
            switch (B) {
                TILE_CASE(1, 1)
                TILE_CASE(1, 2)
                TILE_CASE(1, 3)
                TILE_CASE(1, 4)
            }
    }
}

void kstt__matmul_bf16_neon(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                            int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    matmul(w, x, ldx, y, ldy, batch, r0, r1, 1);
}

void kstt__matmul_f16_neon(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                           int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    matmul(w, x, ldx, y, ldy, batch, r0, r1, 2);
}
