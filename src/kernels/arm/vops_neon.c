/*
 * NEON element-wise activations of the kernel table (kernels.h: elu_f32 .. gelu_f32,
 * silu_mul_f32) and the exp-sum of the softmax (attn_neon.c): the arithmetic of the x86
 * versions (x86/f32_vops_avx2.c) on 4 lanes.
 *
 * Accuracy: expm1/exp within 2 ulp (Cody-Waite reduction, degree-8 polynomial); erf by
 * Abramowitz-Stegun 7.1.26, so GELU(x) is within 4e-7 * |x| of the exact value. Tails go
 * through a zero-padded 4-lane buffer (the same vector arithmetic), so an element's bits do
 * not depend on n or its position.
 */
#include <arm_neon.h>
#include <string.h>

#include "kernels/arm/arm.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* x = n ln2 + r, |r| <= ln2 / 2; returns p = expm1(r) and sets *s = 2^n. */
static ALWAYS_INLINE float32x4_t expm1_parts(float32x4_t x, float32x4_t *s) {
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.0f)), vdupq_n_f32(88.0f));
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t q = vdupq_n_f32(1.0f / 40320.0f);
    q = vfmaq_f32(vdupq_n_f32(1.0f / 5040.0f), q, r);
    q = vfmaq_f32(vdupq_n_f32(1.0f / 720.0f), q, r);
    q = vfmaq_f32(vdupq_n_f32(1.0f / 120.0f), q, r);
    q = vfmaq_f32(vdupq_n_f32(1.0f / 24.0f), q, r);
    q = vfmaq_f32(vdupq_n_f32(1.0f / 6.0f), q, r);
    q = vfmaq_f32(vdupq_n_f32(0.5f), q, r);
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23);
    *s = vreinterpretq_f32_s32(e);
    return vfmaq_f32(r, q, vmulq_f32(r, r));
}

static ALWAYS_INLINE float32x4_t v_exp(float32x4_t x) {
    float32x4_t s;
    const float32x4_t p = expm1_parts(x, &s);
    return vfmaq_f32(s, s, p);
}

static ALWAYS_INLINE float32x4_t v_elu(float32x4_t x) {
    float32x4_t s;
    const float32x4_t p = expm1_parts(x, &s);
    const float32x4_t em1 = vfmaq_f32(vsubq_f32(s, vdupq_n_f32(1.0f)), s, p);
    return vbslq_f32(vcgtq_f32(x, vdupq_n_f32(0.0f)), x, em1);
}

static ALWAYS_INLINE float32x4_t v_gelu(float32x4_t x) {
    const float32x4_t z = vmulq_n_f32(x, 0.70710678118654752f);
    const float32x4_t a = vabsq_f32(z);
    const float32x4_t t =
        vdivq_f32(vdupq_n_f32(1.0f), vfmaq_f32(vdupq_n_f32(1.0f), a, vdupq_n_f32(0.3275911f)));
    float32x4_t q = vdupq_n_f32(1.061405429f);
    q = vfmaq_f32(vdupq_n_f32(-1.453152027f), q, t);
    q = vfmaq_f32(vdupq_n_f32(1.421413741f), q, t);
    q = vfmaq_f32(vdupq_n_f32(-0.284496736f), q, t);
    q = vfmaq_f32(vdupq_n_f32(0.254829592f), q, t);
    const float32x4_t c = vmulq_f32(vmulq_f32(t, q), v_exp(vnegq_f32(vmulq_f32(a, a))));
    const float32x4_t one_p_erf =
        vbslq_f32(vcltq_f32(z, vdupq_n_f32(0.0f)), c, vsubq_f32(vdupq_n_f32(2.0f), c));
    return vmulq_f32(vmulq_n_f32(x, 0.5f), one_p_erf);
}

/* n < 4 floats of p into a zero-padded vector, and back */
static ALWAYS_INLINE float32x4_t ld_part(const float *p, long n) {
    float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    memcpy(t, p, sizeof(float) * (size_t)n);
    return vld1q_f32(t);
}
static ALWAYS_INLINE void st_part(float *p, float32x4_t v, long n) {
    float t[4];
    vst1q_f32(t, v);
    memcpy(p, t, sizeof(float) * (size_t)n);
}

void kstt__elu_f32_neon(float *x, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(x + i, v_elu(vld1q_f32(x + i)));
    if (i < n)
        st_part(x + i, v_elu(ld_part(x + i, n - i)), n - i);
}

void kstt__elu_copy_f32_neon(float *dst, const float *src, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(dst + i, v_elu(vld1q_f32(src + i)));
    if (i < n)
        st_part(dst + i, v_elu(ld_part(src + i, n - i)), n - i);
}

void kstt__bias_elu_f32_neon(float *y, const float *b, long rows, long cols, long ld) {
    for (long t = 0; t < rows; t++) {
        float *row = y + t * ld;
        long i = 0;
        for (; i + 4 <= cols; i += 4) {
            float32x4_t v = vld1q_f32(row + i);
            if (b)
                v = vaddq_f32(v, vld1q_f32(b + i));
            vst1q_f32(row + i, v_elu(v));
        }
        if (i < cols) {
            float32x4_t v = ld_part(row + i, cols - i);
            if (b)
                v = vaddq_f32(v, ld_part(b + i, cols - i));
            st_part(row + i, v_elu(v), cols - i);
        }
    }
}

void kstt__res_elu_f32_neon(float *x, const float *u, const float *b, long rows, long cols) {
    for (long t = 0; t < rows; t++) {
        float *xr = x + t * cols;
        const float *ur = u + t * cols;
        long i = 0;
        for (; i + 4 <= cols; i += 4) {
            float32x4_t v = vld1q_f32(ur + i);
            if (b)
                v = vaddq_f32(v, vld1q_f32(b + i));
            vst1q_f32(xr + i, v_elu(vaddq_f32(vld1q_f32(xr + i), v)));
        }
        if (i < cols) {
            const long m = cols - i;
            float32x4_t v = ld_part(ur + i, m);
            if (b)
                v = vaddq_f32(v, ld_part(b + i, m));
            st_part(xr + i, v_elu(vaddq_f32(ld_part(xr + i, m), v)), m);
        }
    }
}

void kstt__gelu_f32_neon(float *x, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(x + i, v_gelu(vld1q_f32(x + i)));
    if (i < n)
        st_part(x + i, v_gelu(ld_part(x + i, n - i)), n - i);
}

/* silu(a) * b = a / (1 + exp(-a)) * b, as the reference computes it, with the NEON exp */
static ALWAYS_INLINE float32x4_t v_silu_mul(float32x4_t a, float32x4_t b) {
    const float32x4_t e = v_exp(vnegq_f32(a));
    return vmulq_f32(vdivq_f32(a, vaddq_f32(vdupq_n_f32(1.0f), e)), b);
}

void kstt__silu_mul_f32_neon(const float *a, const float *b, float *out, long n) {
    long i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(out + i, v_silu_mul(vld1q_f32(a + i), vld1q_f32(b + i)));
    if (i < n)
        st_part(out + i, v_silu_mul(ld_part(a + i, n - i), ld_part(b + i, n - i)), n - i);
}

float kstt__arm_exp_sum_neon(float *x, long n, float mx) {
    const float32x4_t vm = vdupq_n_f32(mx);
    float32x4_t s = vdupq_n_f32(0.0f);
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t e = v_exp(vsubq_f32(vld1q_f32(x + i), vm));
        vst1q_f32(x + i, e);
        s = vaddq_f32(s, e);
    }
    if (i < n) {
        const long m = n - i;
        float t[4] = {mx, mx, mx, mx};
        memcpy(t, x + i, sizeof(float) * (size_t)m);
        float e[4];
        vst1q_f32(e, v_exp(vsubq_f32(vld1q_f32(t), vm)));
        for (long j = m; j < 4; j++)
            e[j] = 0.0f;
        memcpy(x + i, e, sizeof(float) * (size_t)m);
        s = vaddq_f32(s, vld1q_f32(e));
    }
    return vaddvq_f32(s);
}
