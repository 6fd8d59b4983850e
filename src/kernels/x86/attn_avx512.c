/*
 * AVX-512 ring attention (kernels.h, "ring attention": the LM's head-major KV
 * ring, ld = hd, and the Mimi transformer's time-major cache, ld = model dim), f32, IEEE
 * half (vcvtph2ps widens 16 halves per instruction) or int8 K/V with a scale per row (q8 ring:
 * the key scale applied to each 16-key vector of dot products, the value scale folded into
 * the row's weight), and the f32 -> half row conversion.
 *
 * The step is bound by memory bandwidth (at a full context of 750 the 1B model streams
 * 2 x 750 x 128 elements per head per layer), so the shape is chosen for streaming:
 *   - scores: 16 keys per iteration, one accumulator per key over hd/16 chunks, reduced
 *     together by one transposing shuffle tree into a vector of 16 scores; the rows of a
 *     block are contiguous (one or two runs of the ring), and the keys 16 KB ahead are
 *     prefetched (without it the 16 interleaved rows defeat the hardware prefetcher and the
 *     pass runs at half the bandwidth);
 *   - softmax numerators by the AVX2 exp (2 ulp, shared with f32_vops_avx2.c);
 *   - values: up to 128 features per pass held in 8 accumulators, so at hd <= 128 every value
 *     row is read once, front to back.
 * Tails (hd not a multiple of 16, a last block of fewer than 16 keys) are masked loads.
 */
#include <immintrin.h>
#include <math.h>

#include "kernels/x86/avx512_util.h"
#include "kernels/x86/x86.h"

/* prefetch distance of the score pass, in 16-key blocks of f32 (bytes: the same for half) */
#ifndef PF_BLOCKS
#define PF_BLOCKS 2
#endif
/* prefetch distance of the value pass, in rows of f32 */
#ifndef PF_ROWS
#define PF_ROWS 8
#endif

/* Element types of the K and V rows. */
enum { EL_F32 = 0, EL_F16 = 1, EL_I8 = 2 };

/* 16 elements (masked) at element index i of an f32, half or int8 array, widened to f32
 * (exactly). */
static ALWAYS_INLINE __m512 load16(const void *p, long i, __mmask16 m, int el) {
    if (el == EL_I8)
        return _mm512_cvtepi32_ps(
            _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, (const int8_t *)p + i)));
    if (el == EL_F16)
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)p + i));
    return _mm512_maskz_loadu_ps(m, (const float *)p + i);
}

/* The whole kernel, for f32, half or int8 K and V (int8: ks, vs the row scales); inlined into
 * three entries so that the element type is a constant. */
static ALWAYS_INLINE void attn_body(const float *q, const void *k, const float *ks, const void *v,
                                    const float *vs, long ld, long s0, long n, long cap, int hd,
                                    float scale, float *scores, float *out, int el) {
    /* one prefetch per 64-byte line: every 16-element chunk (f32), every 2nd (half), 4th (int8) */
    const int pf_skip = el == EL_I8 ? 3 : el == EL_F16 ? 1 : 0;
    const long esz = el == EL_I8 ? 1 : el == EL_F16 ? 2 : 4;
    const long r0 = s0 % cap, n1 = n < cap - r0 ? n : cap - r0; /* runs: r0.., then 0.. */
    const int nc = (hd + 15) / 16;
    const __mmask16 mlast = kstt__mask16(hd - 16 * (nc - 1));
    /* bytes ahead: the same distance in bytes for both element types */
    const long pf = PF_BLOCKS * 16L * ld * 4;
    const long pfv = PF_ROWS * ld * 4;

    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (long i0 = 0; i0 < n; i0 += 16) {
        const int nk = n - i0 < 16 ? (int)(n - i0) : 16;
        const char *kr[16];
        float ksj[16];
#pragma GCC unroll 16
        for (int j = 0; j < 16; j++) {
            const long i = i0 + (j < nk ? j : 0); /* missing keys: a valid row, result masked */
            const long r = i < n1 ? r0 + i : i - n1;
            kr[j] = (const char *)k + r * ld * esz;
            if (el == EL_I8)
                ksj[j] = ks[r];
        }
        __m512 acc[16];
#pragma GCC unroll 16
        for (int j = 0; j < 16; j++)
            acc[j] = _mm512_setzero_ps();
        for (int c = 0; c < nc; c++) {
            const __mmask16 m = c == nc - 1 ? mlast : (__mmask16)0xffff;
            const __m512 qc = _mm512_maskz_loadu_ps(m, q + 16 * c);
            const int do_pf = !(c & pf_skip);
#pragma GCC unroll 16
            for (int j = 0; j < 16; j++) {
                if (do_pf)
                    _mm_prefetch(kr[j] + 16 * c * esz + pf, _MM_HINT_T0);
                acc[j] = _mm512_fmadd_ps(qc, load16(kr[j], 16 * c, m, el), acc[j]);
            }
        }
        const __mmask16 mk = kstt__mask16(nk);
        __m512 dots = kstt__reduce16(acc);
        if (el == EL_I8)
            dots = _mm512_mul_ps(dots, _mm512_loadu_ps(ksj));
        const __m512 sc = _mm512_mul_ps(dots, _mm512_set1_ps(scale));
        _mm512_mask_storeu_ps(scores + i0, mk, sc);
        mx = _mm512_mask_max_ps(mx, mk, mx, sc);
    }
    const float inv = 1.0f / kstt__x86_exp_sum_avx2(scores, n, _mm512_reduce_max_ps(mx));

    for (int d0 = 0; d0 < hd; d0 += 128) {
        const int nd = hd - d0 < 128 ? hd - d0 : 128, ns = (nd + 15) / 16;
        __mmask16 m[8];
        __m512 o[8];
#pragma GCC unroll 8
        for (int u = 0; u < 8; u++) {
            m[u] = kstt__mask16(nd - 16 * u);
            o[u] = _mm512_setzero_ps();
        }
        for (int run = 0; run < 2; run++) {
            const long a = run ? n1 : 0, b = run ? n : n1; /* weights a..b-1 */
            const char *vr = (const char *)v + ((run ? 0 : r0) * ld + d0) * esz;
            const float *vsr = el == EL_I8 ? vs + (run ? 0 : r0) : NULL; /* [i - a]: row scale */
            for (long i = a; i < b; i++, vr += ld * esz) {
                const __m512 p = _mm512_set1_ps(el == EL_I8 ? scores[i] * vsr[i - a] : scores[i]);
#pragma GCC unroll 8
                for (int u = 0; u < 8; u++)
                    if (u < ns) {
                        if (!(u & pf_skip))
                            _mm_prefetch(vr + pfv + 16 * u * esz, _MM_HINT_T0);
                        o[u] = _mm512_fmadd_ps(p, load16(vr, 16 * u, m[u], el), o[u]);
                    }
            }
        }
        const __m512 vi = _mm512_set1_ps(inv);
#pragma GCC unroll 8
        for (int u = 0; u < 8; u++)
            if (u < ns)
                _mm512_mask_storeu_ps(out + d0 + 16 * u, m[u], _mm512_mul_ps(o[u], vi));
    }
}

void kstt__attn_ring_f32_avx512(const float *q, const float *k, const float *v, long ld, long s0,
                                long n, long cap, int hd, float scale, float *scores, float *out) {
    attn_body(q, k, NULL, v, NULL, ld, s0, n, cap, hd, scale, scores, out, EL_F32);
}

void kstt__attn_ring_f16_avx512(const float *q, const uint16_t *k, const uint16_t *v, long ld,
                                long s0, long n, long cap, int hd, float scale, float *scores,
                                float *out) {
    attn_body(q, k, NULL, v, NULL, ld, s0, n, cap, hd, scale, scores, out, EL_F16);
}

void kstt__attn_ring_q8_avx512(const float *q, const int8_t *k, const float *ks, const int8_t *v,
                               const float *vs, long ld, long s0, long n, long cap, int hd,
                               float scale, float *scores, float *out) {
    attn_body(q, k, ks, v, vs, ld, s0, n, cap, hd, scale, scores, out, EL_I8);
}

/* The reference's arithmetic on 16 lanes: amax by vmaxps, which returns its second operand
 * when the first is NaN (the reference's `|x| > amax ? |x| : amax` skips NaNs the same way);
 * x * inv rounded to an integer to nearest even (the reference's 1.5 * 2^23 shift); products
 * outside [-127, 127] or NaN give 0. */
void kstt__quantize_i8_row_avx512(const float *x, int8_t *q, float *d, long n) {
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    __m512 acc = _mm512_setzero_ps();
    for (long i = 0; i < n; i += 16) {
        const __m512 a = _mm512_and_ps(_mm512_maskz_loadu_ps(kstt__mask16(n - i), x + i), absmask);
        acc = _mm512_max_ps(a, acc);
    }
    const float amax = _mm512_reduce_max_ps(acc);
    *d = amax / 127.0f;
    const __m512 inv = _mm512_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    const __m512 lim = _mm512_set1_ps(127.0f), nlim = _mm512_set1_ps(-127.0f);
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = kstt__mask16(n - i);
        const __m512 v = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        const __mmask16 ok =
            _mm512_cmp_ps_mask(v, lim, _CMP_LE_OQ) & _mm512_cmp_ps_mask(v, nlim, _CMP_GE_OQ);
        _mm_mask_storeu_epi8(q + i, m, _mm512_cvtepi32_epi8(_mm512_maskz_cvtps_epi32(ok, v)));
    }
}

/* vcvtps2ph rounds to nearest even and handles subnormals and overflow as IEEE does, which is
 * what kstt__f32_to_f16 computes for finite inputs. */
void kstt__f32_to_f16_avx512(const float *x, uint16_t *y, long n) {
    for (long i = 0; i < n; i += 16) {
        const __mmask16 m = kstt__mask16(n - i);
        const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_mask_storeu_epi16(y + i, m, h);
    }
}
