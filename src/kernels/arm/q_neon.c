/*
 * NEON (no FEAT_DotProd) block-quantised products over the packed layouts (arm/qr_arm.h), and
 * the activation quantisation into the packed layout's order (kernels/qx.h, kstt__qxt): the
 * same q and d as kstt__prepare_x_qt_ref bit for bit (same f32 operations; vcvtnq rounds to
 * nearest even as lrintf does), so every level's products read the same activations.
 */
#include <arm_neon.h>
#include <string.h>

/* sdot emulation: 8 x 8 -> 16-bit products (|p| <= 128 * 127), pairs added (fits int16), then
 * pairs of pairs added into the int32 lanes: lane k gets bytes 4k .. 4k + 3. */
static inline int32x4_t QR_DOT(int32x4_t acc, int8x16_t a, int8x16_t b) {
    const int16x8_t p0 = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    const int16x8_t p1 = vmull_high_s8(a, b);
    return vpadalq_s16(acc, vpaddq_s16(p0, p1));
}

#include "kernels/arm/qr_arm.h"

QR_DEFINE(neon)

void kstt__prepare_x_qt_neon(const float *x, long ldx, int batch, long cols, const kstt__ws *ws) {
    const long nb = cols / 32, G = (nb + 15) / 16;
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * ldx;
        for (long g = 0; g < G; g++) {
            kstt__qxt q = kstt__qxt_at(ws->buf, cols, b, g);
            if (16 * g + 16 > nb)
                memset(q.q, 0, KSTT__QXT_GROUP_BYTES);
            for (int l = 0; l < 16 && 16 * g + l < nb; l++) {
                const float *xk = xb + 32 * (16 * g + l);
                float32x4_t v[8], m = vdupq_n_f32(0.0f);
                for (int i = 0; i < 8; i++) {
                    v[i] = vld1q_f32(xk + 4 * i);
                    m = vmaxnmq_f32(m, vabsq_f32(v[i]));
                }
                const float amax = vmaxnmvq_f32(m);
                const float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
                int32x4_t qi[8], s = vdupq_n_s32(0);
                for (int i = 0; i < 8; i++) {
                    qi[i] = vcvtnq_s32_f32(vmulq_n_f32(v[i], id));
                    s = vaddq_s32(s, qi[i]);
                }
                const int sum = vaddvq_s32(s);
                for (int h = 0; h < 2; h++) {
                    const int16x8_t a = vmovn_high_s32(vmovn_s32(qi[4 * h]), qi[4 * h + 1]);
                    const int16x8_t c = vmovn_high_s32(vmovn_s32(qi[4 * h + 2]), qi[4 * h + 3]);
                    const uint32x4_t p = vreinterpretq_u32_s8(vmovn_high_s16(vmovn_s16(a), c));
                    /* lane k: elements 4 (4h + k) .. +3 -> register m = 4h + k, lane l */
                    vst1q_lane_u32((uint32_t *)(q.q + 64 * (4 * h + 0) + 4 * l), p, 0);
                    vst1q_lane_u32((uint32_t *)(q.q + 64 * (4 * h + 1) + 4 * l), p, 1);
                    vst1q_lane_u32((uint32_t *)(q.q + 64 * (4 * h + 2) + 4 * l), p, 2);
                    vst1q_lane_u32((uint32_t *)(q.q + 64 * (4 * h + 3) + 4 * l), p, 3);
                }
                q.d[l] = d;
                q.c8[l] = -8 * sum;
                q.c128[l] = -128 * sum;
                q.sx[l] = d * (float)sum;
            }
        }
    }
}
