/*
 * The optional bf16 product through bfdot (FEAT_BF16; kernels.h matmul_bf16_dot): x rounded to
 * bf16 once per product in prepare_x (nearest even, kstt__f32_to_bf16's bits), then one bfdot
 * per 8 weights (two bf16 products per f32 lane). Not f32-exact (x keeps 8 significant bits):
 * model code never uses it; wt[KSTT_WT_BF16] is the exact product (f32_neon.c).
 * Tiles: 2 rows x up to 4 batch rows (8 accumulators), each weight register feeding 4 bfdots.
 */
#include <arm_neon.h>
#include <string.h>

#include "kernels/arm/arm.h"
#include "kernels/qx.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

void kstt__prepare_x_bf16_dot_i8mm(const float *x, long ldx, int batch, long cols,
                                   const kstt__ws *ws) {
    const long ld = (long)(kstt__bx_row_bytes(cols) / 2);
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * ldx;
        uint16_t *o = (uint16_t *)ws->buf + (long)b * ld;
        long c = 0;
        for (; c + 4 <= cols; c += 4) {
            const float32x4_t f = vld1q_f32(xb + c);
            const uint32x4_t u = vreinterpretq_u32_f32(f);
            const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
            const uint32x4_t rn =
                vshrq_n_u32(vaddq_u32(u, vaddq_u32(lsb, vdupq_n_u32(0x7fff))), 16);
            const uint32x4_t qn = vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(0x40));
            const uint32x4_t isnan = vmvnq_u32(vceqq_f32(f, f));
            vst1_u16(o + c, vmovn_u32(vbslq_u32(isnan, qn, rn)));
        }
        for (; c < cols; c++)
            o[c] = kstt__f32_to_bf16(xb[c]);
        for (; c < ld; c++) /* zero padding: the products read whole 8-element groups */
            o[c] = 0;
    }
}

static ALWAYS_INLINE bfloat16x8_t ldw(const uint16_t *p) {
    return vreinterpretq_bf16_u16(vld1q_u16(p));
}

/* rows r, r + 1 (nr of them) times NB batch rows of bf16 x (ldh apart) */
static ALWAYS_INLINE void tile(const uint16_t *w0, const uint16_t *w1, const int nr, long cols,
                               const uint16_t *xh, long ldh, const int NB, float *out) {
    float32x4_t acc[2][4];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            acc[i][j] = vdupq_n_f32(0.0f);
    long c = 0;
    for (; c + 8 <= cols; c += 8) {
        const bfloat16x8_t a0 = ldw(w0 + c), a1 = ldw(w1 + c); /* w1 == w0 when nr == 1 */
        for (int j = 0; j < NB; j++) {
            const bfloat16x8_t xv = ldw(xh + (long)j * ldh + c);
            acc[0][j] = vbfdotq_f32(acc[0][j], a0, xv);
            if (nr > 1)
                acc[1][j] = vbfdotq_f32(acc[1][j], a1, xv);
        }
    }
    if (c < cols) { /* weight tail through a zero-padded copy; x is zero-padded by prepare */
        uint16_t t0[8] = {0}, t1[8] = {0};
        memcpy(t0, w0 + c, (size_t)(cols - c) * 2);
        if (nr > 1)
            memcpy(t1, w1 + c, (size_t)(cols - c) * 2);
        const bfloat16x8_t a0 = ldw(t0), a1 = ldw(t1);
        for (int j = 0; j < NB; j++) {
            const bfloat16x8_t xv = ldw(xh + (long)j * ldh + c);
            acc[0][j] = vbfdotq_f32(acc[0][j], a0, xv);
            if (nr > 1)
                acc[1][j] = vbfdotq_f32(acc[1][j], a1, xv);
        }
    }
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < NB; j++)
            out[i * 4 + j] = vaddvq_f32(acc[i][j]);
}

void kstt__matmul_bf16_dot_i8mm(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                                int batch, long r0, long r1, const kstt__ws *ws) {
    (void)x, (void)ldx;
    const long cols = (long)w->cols;
    const long ldh = (long)(kstt__bx_row_bytes(cols) / 2);
    for (long r = r0; r < r1; r += 2) {
        const int nr = r1 - r >= 2 ? 2 : 1;
        const uint16_t *w0 = (const uint16_t *)((const char *)w->data + (size_t)r * w->row_bytes);
        const uint16_t *w1 = nr > 1 ? (const uint16_t *)((const char *)w0 + w->row_bytes) : w0;
        for (int b = 0; b < batch; b += 4) {
            const int nb = batch - b < 4 ? batch - b : 4;
            const uint16_t *xh = (const uint16_t *)ws->buf + (long)b * ldh;
            float out[8];
            switch (nb) {
            case 1:
                tile(w0, w1, nr, cols, xh, ldh, 1, out);
                break;
            case 2:
                tile(w0, w1, nr, cols, xh, ldh, 2, out);
                break;
            case 3:
                tile(w0, w1, nr, cols, xh, ldh, 3, out);
                break;
            default:
                tile(w0, w1, nr, cols, xh, ldh, 4, out);
                break;
            }
            for (int i = 0; i < nr; i++)
                for (int j = 0; j < nb; j++)
                    y[(long)(b + j) * ldy + r + i] = out[i * 4 + j];
        }
    }
}
