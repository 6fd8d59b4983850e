/*
 * AVX2+FMA element-wise activations of the kernel table (kernels.h: elu_f32 .. gelu_f32,
 * silu_mul_f32),
 * listed in x86/table_avx2.c; the ring attention of both x86 levels (attn_avx2.c,
 * attn_avx512.c) uses the exp-sum below.
 *
 * Accuracy: expm1/exp within 2 ulp (Cody-Waite reduction, degree-8 polynomial); erf by
 * Abramowitz-Stegun 7.1.26 (absolute error <= 1.5e-7 plus f32 rounding), so GELU(x) is within
 * 4e-7 * |x| of the exact value. Tails are masked, so an element's bits do not depend on n.
 */
#include <immintrin.h>

#include "kernels/x86/x86.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE __m256i mask8(long n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n > 8 ? 8 : n)), idx);
}

/* x = n ln2 + r, |r| <= ln2 / 2; returns p = expm1(r) and sets *s = 2^n. */
static ALWAYS_INLINE __m256 expm1_parts(__m256 x, __m256 *s) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 q = _mm256_set1_ps(1.0f / 40320.0f);
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 5040.0f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 720.0f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 120.0f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 24.0f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.0f / 6.0f));
    q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.5f));
    const __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    *s = _mm256_castsi256_ps(e);
    return _mm256_fmadd_ps(q, _mm256_mul_ps(r, r), r);
}

static ALWAYS_INLINE __m256 v_exp(__m256 x) {
    __m256 s;
    const __m256 p = expm1_parts(x, &s);
    return _mm256_fmadd_ps(s, p, s);
}

static ALWAYS_INLINE __m256 v_elu(__m256 x) {
    __m256 s;
    const __m256 p = expm1_parts(x, &s);
    const __m256 em1 = _mm256_fmadd_ps(s, p, _mm256_sub_ps(s, _mm256_set1_ps(1.0f)));
    const __m256 pos = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GT_OQ);
    return _mm256_blendv_ps(em1, x, pos);
}

static ALWAYS_INLINE __m256 v_gelu(__m256 x) {
    const __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
    const __m256 a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), z);
    const __m256 t = _mm256_div_ps(
        _mm256_set1_ps(1.0f), _mm256_fmadd_ps(a, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
    __m256 q = _mm256_set1_ps(1.061405429f);
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-1.453152027f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(1.421413741f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(-0.284496736f));
    q = _mm256_fmadd_ps(q, t, _mm256_set1_ps(0.254829592f));
    const __m256 c = _mm256_mul_ps(_mm256_mul_ps(t, q),
                                   v_exp(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a))));
    const __m256 neg = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_LT_OQ);
    const __m256 one_p_erf = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(2.0f), c), c, neg);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), one_p_erf);
}

void kstt__elu_f32_avx2(float *x, long n) {
    for (long i = 0; i < n; i += 8) {
        const __m256i m = mask8(n - i);
        _mm256_maskstore_ps(x + i, m, v_elu(_mm256_maskload_ps(x + i, m)));
    }
}

void kstt__elu_copy_f32_avx2(float *dst, const float *src, long n) {
    for (long i = 0; i < n; i += 8) {
        const __m256i m = mask8(n - i);
        _mm256_maskstore_ps(dst + i, m, v_elu(_mm256_maskload_ps(src + i, m)));
    }
}

void kstt__bias_elu_f32_avx2(float *y, const float *b, long rows, long cols, long ld) {
    for (long t = 0; t < rows; t++) {
        float *row = y + t * ld;
        for (long i = 0; i < cols; i += 8) {
            const __m256i m = mask8(cols - i);
            __m256 v = _mm256_maskload_ps(row + i, m);
            if (b)
                v = _mm256_add_ps(v, _mm256_maskload_ps(b + i, m));
            _mm256_maskstore_ps(row + i, m, v_elu(v));
        }
    }
}

void kstt__res_elu_f32_avx2(float *x, const float *u, const float *b, long rows, long cols) {
    for (long t = 0; t < rows; t++) {
        float *xr = x + t * cols;
        const float *ur = u + t * cols;
        for (long i = 0; i < cols; i += 8) {
            const __m256i m = mask8(cols - i);
            __m256 v = _mm256_maskload_ps(ur + i, m);
            if (b)
                v = _mm256_add_ps(v, _mm256_maskload_ps(b + i, m));
            v = _mm256_add_ps(_mm256_maskload_ps(xr + i, m), v);
            _mm256_maskstore_ps(xr + i, m, v_elu(v));
        }
    }
}

void kstt__gelu_f32_avx2(float *x, long n) {
    for (long i = 0; i < n; i += 8) {
        const __m256i m = mask8(n - i);
        _mm256_maskstore_ps(x + i, m, v_gelu(_mm256_maskload_ps(x + i, m)));
    }
}

void kstt__silu_mul_f32_avx2(const float *a, const float *b, float *out, long n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    for (long i = 0; i < n; i += 8) {
        const __m256i m = mask8(n - i);
        const __m256 x = _mm256_maskload_ps(a + i, m);
        const __m256 e = v_exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
        const __m256 s = _mm256_div_ps(x, _mm256_add_ps(one, e));
        _mm256_maskstore_ps(out + i, m, _mm256_mul_ps(s, _mm256_maskload_ps(b + i, m)));
    }
}

float kstt__x86_exp_sum_avx2(float *x, long n, float mx) {
    const __m256 vm = _mm256_set1_ps(mx);
    __m256 s = _mm256_setzero_ps();
    for (long i = 0; i < n; i += 8) {
        const __m256i m = mask8(n - i);
        const __m256 e = _mm256_and_ps(v_exp(_mm256_sub_ps(_mm256_maskload_ps(x + i, m), vm)),
                                       _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(x + i, m, e);
        s = _mm256_add_ps(s, e);
    }
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}
