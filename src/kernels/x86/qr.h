/* The packed-layout products (quant/repack.h): their registration, called from the q_*.c fills,
 * and the q4_K header decoder their AVX2 and AVX-512 versions share. */
#ifndef KSTT_KERNELS_X86_QR_H
#define KSTT_KERNELS_X86_QR_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"

void kstt__x86_fill_qr_avx2(kstt__kernels *k);   /* qr_avx2.c */
void kstt__x86_fill_qr_avx512(kstt__kernels *k); /* qr_avx512.c (needs AVX512-VNNI) */

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
    *mn = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mb)),
                        _mm256_set1_ps(_cvtsh_ss(hd1)));
}

#endif
