/*
 * AVX2+FMA+F16C ring attention (kernels.h, "ring attention": the LM's head-major KV
 * ring, ld = hd, and the Mimi transformer's time-major cache, ld = model dim), f32 or
 * IEEE half or int8 K/V (vcvtph2ps widens 8 halves per instruction, vpmovsxbd 8 bytes), the
 * f32 -> half conversion and the int8 KV row quantiser.
 *
 * Same shape as attn_avx512.c, at 8 lanes: scores 8 keys per iteration (one accumulator per
 * key, reduced together by a horizontal-add tree into a vector of 8 scores, keys prefetched
 * 16 KB ahead), softmax numerators by the AVX2 exp, values 64 features per pass in 8
 * accumulators. Feature tails are masked loads for f32; halves have no masked load at this
 * level, so a tail chunk of fewer than 8 halves is copied into a zeroed 16-byte buffer; int8
 * chunks are read as one 8-byte integer (a tail copied into a zeroed one).
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/x86/x86.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))
/* prefetch distance of the score pass, in 8-key blocks of f32 (bytes: the same for half) */
#ifndef PF_BLOCKS
#define PF_BLOCKS 4
#endif
/* prefetch distance of the value pass, in rows of f32 */
#ifndef PF_ROWS
#define PF_ROWS 8
#endif

static ALWAYS_INLINE __m256i mask8(long n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int c = n >= 8 ? 8 : n <= 0 ? 0 : (int)n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), idx);
}

/* Element types of the K and V rows. */
enum { EL_F32 = 0, EL_F16 = 1, EL_I8 = 2 };

/* 8 elements at element index i (cnt of them valid, the rest read as 0), widened to f32
 * (exactly). */
static ALWAYS_INLINE __m256 load8(const void *p, long i, int cnt, __m256i m, int el) {
    if (el == EL_I8) {
        const int8_t *b = (const int8_t *)p + i;
        int64_t u = 0;
        memcpy(&u, b, (size_t)(cnt >= 8 ? 8 : cnt > 0 ? cnt : 0));
        return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(u)));
    }
    if (el == EL_F16) {
        const uint16_t *h = (const uint16_t *)p + i;
        if (cnt >= 8)
            return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
        uint16_t t[8] = {0};
        memcpy(t, h, (size_t)(cnt > 0 ? cnt : 0) * sizeof *t);
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)t));
    }
    if (cnt >= 8)
        return _mm256_loadu_ps((const float *)p + i);
    return _mm256_maskload_ps((const float *)p + i, m);
}

/* r[p] = sum of the lanes of a[p], p < 8. */
static ALWAYS_INLINE __m256 reduce8(const __m256 *a) {
    const __m256 h01 = _mm256_hadd_ps(a[0], a[1]), h23 = _mm256_hadd_ps(a[2], a[3]);
    const __m256 h45 = _mm256_hadd_ps(a[4], a[5]), h67 = _mm256_hadd_ps(a[6], a[7]);
    const __m256 lo = _mm256_hadd_ps(h01, h23), hi = _mm256_hadd_ps(h45, h67);
    return _mm256_add_ps(_mm256_permute2f128_ps(lo, hi, 0x20),
                         _mm256_permute2f128_ps(lo, hi, 0x31));
}

static ALWAYS_INLINE float hmax8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* The whole kernel, for f32, half or int8 K and V (int8: ks, vs the row scales, the key's
 * applied to its dot product, the value's folded into its weight, as the reference does);
 * inlined into three entries so that the element type is a constant. */
static ALWAYS_INLINE void attn_body(const float *q, const void *k, const float *ks, const void *v,
                                    const float *vs, long ld, long s0, long n, long cap, int hd,
                                    float scale, float *scores, float *out, int el) {
    /* one prefetch per 64-byte line: every 2nd 8-element chunk (f32), 4th (half), 8th (int8) */
    const int pf_skip = el == EL_I8 ? 7 : el == EL_F16 ? 3 : 1;
    const long esz = el == EL_I8 ? 1 : el == EL_F16 ? 2 : 4;
    const long r0 = s0 % cap, n1 = n < cap - r0 ? n : cap - r0; /* runs: r0.., then 0.. */
    const int nc = (hd + 7) / 8;
    /* bytes ahead: the same distance in bytes for both element types */
    const long pf = PF_BLOCKS * 8L * ld * 4;
    const long pfv = PF_ROWS * ld * 4;

    __m256 mx = _mm256_set1_ps(-INFINITY);
    for (long i0 = 0; i0 < n; i0 += 8) {
        const int nk = n - i0 < 8 ? (int)(n - i0) : 8;
        const char *kr[8];
        float ksj[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++) {
            const long i = i0 + (j < nk ? j : 0); /* missing keys: a valid row, result masked */
            const long r = i < n1 ? r0 + i : i - n1;
            kr[j] = (const char *)k + r * ld * esz;
            if (el == EL_I8)
                ksj[j] = ks[r];
        }
        __m256 acc[8];
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            acc[j] = _mm256_setzero_ps();
        for (int c = 0; c < nc; c++) {
            const int cnt = hd - 8 * c;
            const __m256i m = mask8(cnt);
            const __m256 qc =
                cnt >= 8 ? _mm256_loadu_ps(q + 8 * c) : _mm256_maskload_ps(q + 8 * c, m);
            const int do_pf = !(c & pf_skip);
#pragma GCC unroll 8
            for (int j = 0; j < 8; j++) {
                if (do_pf)
                    _mm_prefetch(kr[j] + 8 * c * esz + pf, _MM_HINT_T0);
                acc[j] = _mm256_fmadd_ps(qc, load8(kr[j], 8 * c, cnt, m, el), acc[j]);
            }
        }
        __m256 dots = reduce8(acc);
        if (el == EL_I8)
            dots = _mm256_mul_ps(dots, _mm256_loadu_ps(ksj));
        const __m256 sc = _mm256_mul_ps(dots, _mm256_set1_ps(scale));
        const __m256i mk = mask8(nk);
        _mm256_maskstore_ps(scores + i0, mk, sc);
        mx = _mm256_max_ps(
            mx, _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), sc, _mm256_castsi256_ps(mk)));
    }
    const float inv = 1.0f / kstt__x86_exp_sum_avx2(scores, n, hmax8(mx));

    for (int d0 = 0; d0 < hd; d0 += 64) {
        const int nd = hd - d0 < 64 ? hd - d0 : 64, ns = (nd + 7) / 8;
        __m256i m[8];
        __m256 o[8];
#pragma GCC unroll 8
        for (int u = 0; u < 8; u++) {
            m[u] = mask8(nd - 8 * u);
            o[u] = _mm256_setzero_ps();
        }
        for (int run = 0; run < 2; run++) {
            const long a = run ? n1 : 0, b = run ? n : n1; /* weights a..b-1 */
            const char *vr = (const char *)v + ((run ? 0 : r0) * ld + d0) * esz;
            const float *vsr = el == EL_I8 ? vs + (run ? 0 : r0) : NULL; /* [i - a]: row scale */
            for (long i = a; i < b; i++, vr += ld * esz) {
                const __m256 p = _mm256_set1_ps(el == EL_I8 ? scores[i] * vsr[i - a] : scores[i]);
#pragma GCC unroll 8
                for (int u = 0; u < 8; u++)
                    if (u < ns) {
                        if (!(u & pf_skip))
                            _mm_prefetch(vr + pfv + 8 * u * esz, _MM_HINT_T0);
                        o[u] = _mm256_fmadd_ps(p, load8(vr, 8 * u, nd - 8 * u, m[u], el), o[u]);
                    }
            }
        }
        const __m256 vi = _mm256_set1_ps(inv);
#pragma GCC unroll 8
        for (int u = 0; u < 8; u++)
            if (u < ns)
                _mm256_maskstore_ps(out + d0 + 8 * u, m[u], _mm256_mul_ps(o[u], vi));
    }
}

void kstt__attn_ring_f32_avx2(const float *q, const float *k, const float *v, long ld, long s0,
                              long n, long cap, int hd, float scale, float *scores, float *out) {
    attn_body(q, k, NULL, v, NULL, ld, s0, n, cap, hd, scale, scores, out, EL_F32);
}

void kstt__attn_ring_f16_avx2(const float *q, const uint16_t *k, const uint16_t *v, long ld,
                              long s0, long n, long cap, int hd, float scale, float *scores,
                              float *out) {
    attn_body(q, k, NULL, v, NULL, ld, s0, n, cap, hd, scale, scores, out, EL_F16);
}

void kstt__attn_ring_q8_avx2(const float *q, const int8_t *k, const float *ks, const int8_t *v,
                             const float *vs, long ld, long s0, long n, long cap, int hd,
                             float scale, float *scores, float *out) {
    attn_body(q, k, ks, v, vs, ld, s0, n, cap, hd, scale, scores, out, EL_I8);
}

/* vcvtps2ph rounds to nearest even (IEEE subnormals and overflow), as kstt__f32_to_f16 does
 * for finite inputs; the tail goes through that function. */
void kstt__f32_to_f16_avx2(const float *x, uint16_t *y, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(y + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        y[i] = kstt__f32_to_f16(x[i]);
}

/* The reference's arithmetic (kstt__quantize_i8_row) on 8 lanes, as the AVX-512 version: amax
 * by vmaxps, which returns its second operand when the first is NaN (so NaNs are skipped as
 * the reference's `|x| > amax ? |x| : amax` skips them); x * inv rounded to nearest even;
 * products outside [-127, 127] or NaN give 0. */
void kstt__quantize_i8_row_avx2(const float *x, int8_t *q, float *d, long n) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 acc = _mm256_setzero_ps();
    for (long i = 0; i < n; i += 8)
        acc = _mm256_max_ps(_mm256_and_ps(_mm256_maskload_ps(x + i, mask8(n - i)), absmask), acc);
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    const float amax = _mm_cvtss_f32(h);
    *d = amax / 127.0f;
    const __m256 inv = _mm256_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    const __m256 lim = _mm256_set1_ps(127.0f), nlim = _mm256_set1_ps(-127.0f);
    for (long i = 0; i < n; i += 8) {
        const __m256 v =
            _mm256_round_ps(_mm256_mul_ps(_mm256_maskload_ps(x + i, mask8(n - i)), inv),
                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __m256 ok =
            _mm256_and_ps(_mm256_cmp_ps(v, lim, _CMP_LE_OQ), _mm256_cmp_ps(v, nlim, _CMP_GE_OQ));
        const __m256i w = _mm256_cvtps_epi32(_mm256_and_ps(v, ok));
        const __m128i s16 =
            _mm_packs_epi32(_mm256_castsi256_si128(w), _mm256_extracti128_si256(w, 1));
        int8_t b[16];
        _mm_storeu_si128((__m128i *)b, _mm_packs_epi16(s16, s16));
        memcpy(q + i, b, (size_t)(n - i < 8 ? n - i : 8));
    }
}
