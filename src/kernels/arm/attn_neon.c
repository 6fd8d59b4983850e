/*
 * NEON ring attention (kernels.h: attn_ring_f32 / _f16 / _q8) and the f32 -> half rows.
 * Scores by 4-accumulator dots, the softmax numerator by the NEON exp (vops_neon.c), then the
 * values accumulated into out in f32 and scaled by 1 / sum once (the reference's order of
 * operations; only the sums of the dots are reordered). Half keys and values are widened
 * exactly (fcvtl), so the f16 entry computes in f32 on the values the ring holds; int8 rows
 * likewise (sxtl, scvtf), their key scale applied to the row's dot product and their value
 * scale folded into the row's weight.
 */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "kernels/arm/arm.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Element types of the K and V rows. */
enum { EL_F32 = 0, EL_F16 = 1, EL_I8 = 2 };

static ALWAYS_INLINE float32x4_t ld4(const void *p, int d, const int el) {
    if (el == EL_I8) { /* 4 bytes, widened exactly */
        uint32_t u;
        memcpy(&u, (const int8_t *)p + d, sizeof u);
        const int16x8_t w = vmovl_s8(vreinterpret_s8_u32(vdup_n_u32(u)));
        return vcvtq_f32_s32(vmovl_s16(vget_low_s16(w)));
    }
    if (el == EL_F16)
        return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)p + d)));
    return vld1q_f32((const float *)p + d);
}
static ALWAYS_INLINE float ld1(const void *p, int d, const int el) {
    if (el == EL_I8)
        return (float)((const int8_t *)p)[d];
    if (el == EL_F16)
        return kstt__f16_to_f32(((const uint16_t *)p)[d]);
    return ((const float *)p)[d];
}

/* ks, vs: the rows' scales (EL_I8 only) */
static ALWAYS_INLINE void attn(const float *q, const void *k, const float *ks, const void *v,
                               const float *vs, long ld, long s0, long n, long cap, int hd,
                               float scale, float *scores, float *out, const int el) {
    const size_t esz = el == EL_I8 ? 1 : el == EL_F16 ? 2 : 4;
    const long r0 = s0 % cap;
    float mx = -INFINITY;
    for (long i = 0; i < n; i++) {
        long r = r0 + i;
        if (r >= cap)
            r -= cap;
        const char *kr = (const char *)k + (size_t)(r * ld) * esz;
        float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0;
        int d = 0;
        for (; d + 8 <= hd; d += 8) {
            a0 = vfmaq_f32(a0, vld1q_f32(q + d), ld4(kr, d, el));
            a1 = vfmaq_f32(a1, vld1q_f32(q + d + 4), ld4(kr, d + 4, el));
        }
        for (; d + 4 <= hd; d += 4)
            a0 = vfmaq_f32(a0, vld1q_f32(q + d), ld4(kr, d, el));
        float s = vaddvq_f32(vaddq_f32(a0, a1));
        for (; d < hd; d++)
            s += q[d] * ld1(kr, d, el);
        if (el == EL_I8)
            s *= ks[r];
        scores[i] = s * scale;
        mx = scores[i] > mx ? scores[i] : mx;
    }
    const float inv = 1.0f / kstt__arm_exp_sum_neon(scores, n, mx);
    int d = 0;
    /* out in blocks of 16 features held in registers across all n keys */
    for (; d + 16 <= hd; d += 16) {
        float32x4_t o0 = vdupq_n_f32(0.0f), o1 = o0, o2 = o0, o3 = o0;
        for (long i = 0; i < n; i++) {
            long r = r0 + i;
            if (r >= cap)
                r -= cap;
            const char *vr = (const char *)v + (size_t)(r * ld) * esz;
            const float32x4_t e = vdupq_n_f32(el == EL_I8 ? scores[i] * vs[r] : scores[i]);
            o0 = vfmaq_f32(o0, e, ld4(vr, d, el));
            o1 = vfmaq_f32(o1, e, ld4(vr, d + 4, el));
            o2 = vfmaq_f32(o2, e, ld4(vr, d + 8, el));
            o3 = vfmaq_f32(o3, e, ld4(vr, d + 12, el));
        }
        vst1q_f32(out + d, vmulq_n_f32(o0, inv));
        vst1q_f32(out + d + 4, vmulq_n_f32(o1, inv));
        vst1q_f32(out + d + 8, vmulq_n_f32(o2, inv));
        vst1q_f32(out + d + 12, vmulq_n_f32(o3, inv));
    }
    for (; d + 4 <= hd; d += 4) {
        float32x4_t o0 = vdupq_n_f32(0.0f);
        for (long i = 0; i < n; i++) {
            long r = r0 + i;
            if (r >= cap)
                r -= cap;
            const char *vr = (const char *)v + (size_t)(r * ld) * esz;
            o0 = vfmaq_n_f32(o0, ld4(vr, d, el), el == EL_I8 ? scores[i] * vs[r] : scores[i]);
        }
        vst1q_f32(out + d, vmulq_n_f32(o0, inv));
    }
    for (; d < hd; d++) {
        float o = 0.0f;
        for (long i = 0; i < n; i++) {
            long r = r0 + i;
            if (r >= cap)
                r -= cap;
            o += (el == EL_I8 ? scores[i] * vs[r] : scores[i]) *
                 ld1((const char *)v + (size_t)(r * ld) * esz, d, el);
        }
        out[d] = o * inv;
    }
}

void kstt__attn_ring_f32_neon(const float *q, const float *k, const float *v, long ld, long s0,
                              long n, long cap, int hd, float scale, float *scores, float *out) {
    attn(q, k, NULL, v, NULL, ld, s0, n, cap, hd, scale, scores, out, EL_F32);
}

void kstt__attn_ring_f16_neon(const float *q, const uint16_t *k, const uint16_t *v, long ld,
                              long s0, long n, long cap, int hd, float scale, float *scores,
                              float *out) {
    attn(q, k, NULL, v, NULL, ld, s0, n, cap, hd, scale, scores, out, EL_F16);
}

void kstt__attn_ring_q8_neon(const float *q, const int8_t *k, const float *ks, const int8_t *v,
                             const float *vs, long ld, long s0, long n, long cap, int hd,
                             float scale, float *scores, float *out) {
    attn(q, k, ks, v, vs, ld, s0, n, cap, hd, scale, scores, out, EL_I8);
}

void kstt__f32_to_f16_neon(const float *x, uint16_t *y, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const float16x8_t h =
            vcvt_high_f16_f32(vcvt_f16_f32(vld1q_f32(x + i)), vld1q_f32(x + i + 4));
        vst1q_u16(y + i, vreinterpretq_u16_f16(h));
    }
    for (; i + 4 <= n; i += 4)
        vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++)
        y[i] = kstt__f32_to_f16(x[i]);
}

/* The reference's arithmetic (kstt__quantize_i8_row) on 4 lanes: amax by compare and select,
 * which skips NaNs as the reference's `|x| > amax ? |x| : amax` does (fmax would propagate
 * them); x * inv rounded to nearest even (frintn: the reference's 1.5 * 2^23 shift for
 * |x * inv| <= 127); products outside [-127, 127] or NaN give 0. */
void kstt__quantize_i8_row_neon(const float *x, int8_t *q, float *d, long n) {
    float32x4_t acc = vdupq_n_f32(0.0f);
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t a = vabsq_f32(vld1q_f32(x + i));
        acc = vbslq_f32(vcgtq_f32(a, acc), a, acc);
    }
    float amax = vmaxvq_f32(acc);
    for (; i < n; i++)
        amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    *d = amax / 127.0f;
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    const float32x4_t lim = vdupq_n_f32(127.0f), zero = vdupq_n_f32(0.0f);
    for (i = 0; i + 8 <= n; i += 8) {
        int32x4_t w[2];
        for (int h = 0; h < 2; h++) {
            const float32x4_t v = vrndnq_f32(vmulq_n_f32(vld1q_f32(x + i + 4 * h), inv));
            const uint32x4_t ok = vcleq_f32(vabsq_f32(v), lim); /* false for NaN */
            w[h] = vcvtq_s32_f32(vbslq_f32(ok, v, zero));
        }
        const int16x8_t s = vcombine_s16(vmovn_s32(w[0]), vmovn_s32(w[1]));
        vst1_s8(q + i, vmovn_s16(s));
    }
    const float magic = 12582912.0f;
    for (; i < n; i++) {
        const float v = (x[i] * inv + magic) - magic;
        q[i] = (int8_t)(v >= -127.0f && v <= 127.0f ? v : 0.0f);
    }
}
