/*
 * AVX-512 element-wise activations and ring attention of the kernel table (kernels.h:
 * elu_f32 .. attn_ring_f32), registered by kstt__x86_fill_vops_avx512.
 *
 * Accuracy: expm1/exp within 2 ulp (Cody-Waite reduction, degree-8 polynomial); erf by
 * Abramowitz-Stegun 7.1.26 (absolute error <= 1.5e-7 plus f32 rounding), so GELU(x) is within
 * 4e-7 * |x| of the exact value. Tails are masked, so an element's bits do not depend on n.
 */
#include <immintrin.h>
#include <math.h>

#include "kernels/x86/avx512_util.h"
#include "kernels/x86/x86.h"


/* x = n ln2 + r, |r| <= ln2 / 2; returns p = expm1(r) and sets *s = 2^n. */
static ALWAYS_INLINE __m512 expm1_parts(__m512 x, __m512 *s) {
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-88.0f)), _mm512_set1_ps(88.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 q = _mm512_set1_ps(1.0f / 40320.0f);
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 5040.0f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 720.0f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 120.0f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 24.0f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(1.0f / 6.0f));
    q = _mm512_fmadd_ps(q, r, _mm512_set1_ps(0.5f));
    *s = _mm512_scalef_ps(_mm512_set1_ps(1.0f), n);
    return _mm512_fmadd_ps(q, _mm512_mul_ps(r, r), r);
}

static ALWAYS_INLINE __m512 v_exp(__m512 x) {
    __m512 s;
    const __m512 p = expm1_parts(x, &s);
    return _mm512_fmadd_ps(s, p, s);
}

static ALWAYS_INLINE __m512 v_elu(__m512 x) {
    __m512 s;
    const __m512 p = expm1_parts(x, &s);
    const __m512 em1 = _mm512_fmadd_ps(s, p, _mm512_sub_ps(s, _mm512_set1_ps(1.0f)));
    const __mmask16 pos = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GT_OQ);
    return _mm512_mask_blend_ps(pos, em1, x);
}

static ALWAYS_INLINE __m512 v_gelu(__m512 x) {
    const __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f));
    const __m512 a = _mm512_abs_ps(z);
    const __m512 t = _mm512_div_ps(
        _mm512_set1_ps(1.0f), _mm512_fmadd_ps(a, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
    __m512 q = _mm512_set1_ps(1.061405429f);
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-1.453152027f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(1.421413741f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(-0.284496736f));
    q = _mm512_fmadd_ps(q, t, _mm512_set1_ps(0.254829592f));
    /* erfc(|z|) ~= t q exp(-z^2); 1 + erf(z) = erfc(|z|) for z < 0, 2 - erfc(|z|) otherwise */
    const __m512 c = _mm512_mul_ps(_mm512_mul_ps(t, q),
                                   v_exp(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a))));
    const __mmask16 neg = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_LT_OQ);
    const __m512 one_p_erf = _mm512_mask_blend_ps(neg, _mm512_sub_ps(_mm512_set1_ps(2.0f), c), c);
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), one_p_erf);
}

static void elu_f32_avx512(float *x, long n) {
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = kstt__mask16(n - i);
        _mm512_mask_storeu_ps(x + i, m, v_elu(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

static void elu_copy_f32_avx512(float *dst, const float *src, long n) {
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = kstt__mask16(n - i);
        _mm512_mask_storeu_ps(dst + i, m, v_elu(_mm512_maskz_loadu_ps(m, src + i)));
    }
}

static void bias_elu_f32_avx512(float *y, const float *b, long rows, long cols, long ld) {
    for (long t = 0; t < rows; t++) {
        float *row = y + t * ld;
        for (long i = 0; i < cols; i += 16) {
            const __mmask16 m = kstt__mask16(cols - i);
            __m512 v = _mm512_maskz_loadu_ps(m, row + i);
            if (b)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + i));
            _mm512_mask_storeu_ps(row + i, m, v_elu(v));
        }
    }
}

static void res_elu_f32_avx512(float *x, const float *u, const float *b, long rows, long cols) {
    for (long t = 0; t < rows; t++) {
        float *xr = x + t * cols;
        const float *ur = u + t * cols;
        for (long i = 0; i < cols; i += 16) {
            const __mmask16 m = kstt__mask16(cols - i);
            __m512 v = _mm512_maskz_loadu_ps(m, ur + i);
            if (b)
                v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, b + i));
            v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, xr + i), v);
            _mm512_mask_storeu_ps(xr + i, m, v_elu(v));
        }
    }
}

static void gelu_f32_avx512(float *x, long n) {
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = kstt__mask16(n - i);
        _mm512_mask_storeu_ps(x + i, m, v_gelu(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

static float exp_sum_avx512(float *x, long n, float mx) {
    const __m512 vm = _mm512_set1_ps(mx);
    __m512 s = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = kstt__mask16(n - i);
        const __m512 e = v_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vm));
        _mm512_mask_storeu_ps(x + i, m, e);
        s = _mm512_mask_add_ps(s, m, s, e);
    }
    return _mm512_reduce_add_ps(s);
}

static void attn_ring_f32_avx512(const float *q, const float *k, const float *v, long ld,
                                 long s0, long n, long cap, int hd, float scale, float *scores,
                                 float *out) {
    const int nc = (hd + 15) / 16;
    const __mmask16 mlast = kstt__mask16(hd - 16 * (nc - 1));
    /* scores, 16 keys at a time */
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (long i0 = 0; i0 < n; i0 += 16) {
        const int nk = n - i0 < 16 ? (int)(n - i0) : 16;
        const float *kr[16];
        for (int j = 0; j < 16; j++) {
            long slot = s0 + i0 + (j < nk ? j : 0);
            slot %= cap;
            kr[j] = k + slot * ld;
        }
        __m512 acc[16];
#pragma GCC unroll 16
        for (int j = 0; j < 16; j++)
            acc[j] = _mm512_setzero_ps();
        for (int c = 0; c < nc; c++) {
            const __mmask16 m = c == nc - 1 ? mlast : (__mmask16)0xffff;
            const __m512 qc = _mm512_maskz_loadu_ps(m, q + 16 * c);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++)
                acc[j] = _mm512_fmadd_ps(qc, _mm512_maskz_loadu_ps(m, kr[j] + 16 * c), acc[j]);
        }
        const __mmask16 mk = kstt__mask16(nk);
        const __m512 sc = _mm512_mul_ps(kstt__reduce16(acc), _mm512_set1_ps(scale));
        _mm512_mask_storeu_ps(scores + i0, mk, sc);
        mx = _mm512_mask_max_ps(mx, mk, mx, sc);
    }
    const float inv = 1.0f / exp_sum_avx512(scores, n, _mm512_reduce_max_ps(mx));
    /* out = sum p_i v_i, 64 features at a time */
    for (int d0 = 0; d0 < hd; d0 += 64) {
        const int nd = hd - d0 < 64 ? hd - d0 : 64;
        const __mmask16 m0 = kstt__mask16(nd), m1 = kstt__mask16(nd - 16), m2 = kstt__mask16(nd - 32),
                        m3 = kstt__mask16(nd - 48);
        __m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        long slot = s0 % cap;
        for (long i = 0; i < n; i++) {
            const float *vr = v + slot * ld + d0;
            const __m512 p = _mm512_set1_ps(scores[i]);
            o0 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m0, vr), o0);
            o1 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m1, vr + 16), o1);
            o2 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m2, vr + 32), o2);
            o3 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m3, vr + 48), o3);
            if (++slot == cap)
                slot = 0;
        }
        const __m512 vi = _mm512_set1_ps(inv);
        _mm512_mask_storeu_ps(out + d0, m0, _mm512_mul_ps(o0, vi));
        _mm512_mask_storeu_ps(out + d0 + 16, m1, _mm512_mul_ps(o1, vi));
        _mm512_mask_storeu_ps(out + d0 + 32, m2, _mm512_mul_ps(o2, vi));
        _mm512_mask_storeu_ps(out + d0 + 48, m3, _mm512_mul_ps(o3, vi));
    }
}

void kstt__x86_fill_vops_avx512(kstt__kernels *k) {
    k->elu_f32 = elu_f32_avx512;
    k->elu_copy_f32 = elu_copy_f32_avx512;
    k->bias_elu_f32 = bias_elu_f32_avx512;
    k->res_elu_f32 = res_elu_f32_avx512;
    k->gelu_f32 = gelu_f32_avx512;
    k->attn_ring_f32 = attn_ring_f32_avx512;
}
