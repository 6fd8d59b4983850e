/*
 * AVX-512 element-wise activations of the kernel table (kernels.h: elu_f32 .. silu_mul_f32),
 * listed in x86/table_avx512.c.
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

void kstt__elu_f32_avx512(float *x, long n) {
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = kstt__mask16(n - i);
        _mm512_mask_storeu_ps(x + i, m, v_elu(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

void kstt__elu_copy_f32_avx512(float *dst, const float *src, long n) {
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = kstt__mask16(n - i);
        _mm512_mask_storeu_ps(dst + i, m, v_elu(_mm512_maskz_loadu_ps(m, src + i)));
    }
}

void kstt__bias_elu_f32_avx512(float *y, const float *b, long rows, long cols, long ld) {
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

void kstt__res_elu_f32_avx512(float *x, const float *u, const float *b, long rows, long cols) {
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

void kstt__silu_mul_f32_avx512(const float *a, const float *b, float *out, long n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = kstt__mask16(n - i);
        const __m512 x = _mm512_maskz_loadu_ps(m, a + i);
        const __m512 e = v_exp(_mm512_sub_ps(_mm512_setzero_ps(), x));
        const __m512 s = _mm512_div_ps(x, _mm512_add_ps(one, e));
        _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, b + i)));
    }
}

void kstt__gelu_f32_avx512(float *x, long n) {
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = kstt__mask16(n - i);
        _mm512_mask_storeu_ps(x + i, m, v_gelu(_mm512_maskz_loadu_ps(m, x + i)));
    }
}
