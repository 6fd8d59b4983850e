/* Helpers shared by the x86 block-quantised products (quant/repack.h packed layouts and the
 * file layouts): the q4_K header decoder and the AVX2 activation-block quantiser. */
#ifndef KSTT_KERNELS_X86_QR_H
#define KSTT_KERNELS_X86_QR_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

/* q4_K header (f16 d, f16 dmin, 12 bytes of 6-bit scales and mins) -> d * sc_j, dmin * m_j for
 * its 8 sub-blocks; the f32 products are exact (11-bit by 6-bit integers). AVX2 + F16C: only
 * for the x86 kernel files (compiled with those flags). */
static inline __attribute__((always_inline)) void kstt__q4k_head(const unsigned char *hd,
                                                                 __m256 *sc, __m256 *mn) {
    uint32_t a, b, c;
    uint16_t hd0, hd1;
    memcpy(&hd0, hd, 2);
    memcpy(&hd1, hd + 2, 2);
    memcpy(&a, hd + 4, 4);
    memcpy(&b, hd + 8, 4);
    memcpy(&c, hd + 12, 4);
    const uint32_t sc_lo = a & 0x3f3f3f3fu, m_lo = b & 0x3f3f3f3fu;
    const uint32_t sc_hi = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
    const uint32_t m_hi = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
    const __m128i scb = _mm_cvtsi64_si128((long long)((uint64_t)sc_hi << 32 | sc_lo));
    const __m128i mb = _mm_cvtsi64_si128((long long)((uint64_t)m_hi << 32 | m_lo));
    *sc = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(scb)),
                        _mm256_set1_ps(_cvtsh_ss(hd0)));
    *mn =
        _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mb)), _mm256_set1_ps(_cvtsh_ss(hd1)));
}

/* One block of 32 activations quantised to int8 as the reference does (the same f32
 * operations: amax = max|x|, d = amax / 127, q = round(x * (127 / amax))): returns the 32
 * quants in element order, *d and *sum (the sum of the quants). Shared by the file-layout and
 * the packed-layout AVX2 preparations. */
static inline __attribute__((always_inline)) __m256i kstt__q8_block_avx2(const float *x, float *d,
                                                                         int *sum) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 v[4], m = _mm256_setzero_ps();
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_loadu_ps(x + 8 * j);
        m = _mm256_max_ps(m, _mm256_and_ps(v[j], absmask));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    *d = amax / 127.0f;
    const __m256 vid = _mm256_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f);
    __m256i qi[4], acc = _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) {
        qi[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], vid));
        acc = _mm256_add_epi32(acc, qi[j]);
    }
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    *sum = _mm_cvtsi128_si32(s4);
    /* int32 -> int8: values in [-127, 127], packs never saturate */
    const __m256i p =
        _mm256_packs_epi16(_mm256_packs_epi32(qi[0], qi[1]), _mm256_packs_epi32(qi[2], qi[3]));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

#endif
