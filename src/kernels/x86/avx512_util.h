/*
 * Small AVX-512 helpers shared by the *_avx512.c kernels (include only from files compiled
 * with the AVX-512 flags).
 */
#ifndef KSTT_KERNELS_X86_AVX512_UTIL_H
#define KSTT_KERNELS_X86_AVX512_UTIL_H

#include <immintrin.h>

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* The lane mask of the first n (0..16) of 16 lanes. */
static ALWAYS_INLINE __mmask16 kstt__mask16(long n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* r[p] = sum of the lanes of acc[p], p < 16: a transposing reduction (4 shuffle-add stages).
 * The stages leave the sums in the order 0 2 1 3 8 10 9 11 4 6 5 7 12 14 13 15, an
 * involution, so feeding the inputs in that order gives them back in order. */
static ALWAYS_INLINE __m512 kstt__reduce16(const __m512 *acc) {
    static const int perm[16] = {0, 2, 1, 3, 8, 10, 9, 11, 4, 6, 5, 7, 12, 14, 13, 15};
    __m512 v[16], w[8], x[4], y[2];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        v[i] = acc[perm[i]];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        w[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[i], v[i + 8], 0x44),
                             _mm512_shuffle_f32x4(v[i], v[i + 8], 0xee));
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
        x[i] = _mm512_add_ps(_mm512_shuffle_f32x4(w[i], w[i + 4], 0x88),
                             _mm512_shuffle_f32x4(w[i], w[i + 4], 0xdd));
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++)
        y[i] = _mm512_add_ps(_mm512_shuffle_ps(x[i], x[i + 2], 0x44),
                             _mm512_shuffle_ps(x[i], x[i + 2], 0xee));
    return _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], 0x88), _mm512_shuffle_ps(y[0], y[1], 0xdd));
}

#endif
