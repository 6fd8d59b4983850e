/*
 * AVX2+FMA bf16 product: weights widened to f32 (exact) and FMA'd with f32 activations. Tiles
 * of R rows x B batch rows (R * B <= 8 accumulators of 8 lanes: R = 4 at batch 1, 2 at batch
 * 2..4, 1 above), so each widened weight vector feeds the whole tile.
 */
#include <immintrin.h>

#include "kernels/x86/x86.h"

#define INLINE static inline __attribute__((always_inline))
/* The tile loops over rows (R) and batch rows (B) have compile-time trip counts; they must be
 * unrolled completely so that the accumulator and weight arrays live in registers (without it
 * gcc 12 kept them on the stack: ~2x slower). */
#define UNROLL _Pragma("GCC unroll 16")

INLINE __m256 widen8(const uint16_t *p) {
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE void tile(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy, long r, int R,
                 int B) {
    const long cols = (long)w->cols;
    const uint16_t *row[4];
    UNROLL
    for (int i = 0; i < R; i++)
        row[i] = (const uint16_t *)((const char *)w->data + (size_t)(r + i) * w->row_bytes);
    __m256 acc[4][8];
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        acc[i][b] = _mm256_setzero_ps();
    long c = 0;
    for (; c + 8 <= cols; c += 8) {
        __m256 wv[4];
        UNROLL
        for (int i = 0; i < R; i++) {
            /* the next tile's rows at the same offset (hardware prefetchers alone fall well
             * short of DRAM speed on R interleaved streams) */
            if (!(c & 31))
                _mm_prefetch((const char *)(row[i] + c) + R * w->row_bytes + 512, _MM_HINT_T0);
            wv[i] = widen8(row[i] + c);
        }
        UNROLL
        for (int b = 0; b < B; b++) {
            const __m256 xv = _mm256_loadu_ps(x + (long)b * ldx + c);
            UNROLL
            for (int i = 0; i < R; i++)
                acc[i][b] = _mm256_fmadd_ps(wv[i], xv, acc[i][b]);
        }
    }
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++) {
        float s = hsum(acc[i][b]);
        const float *xb = x + (long)b * ldx;
        for (long t = c; t < cols; t++)
            s += kstt__bf16_to_f32(row[i][t]) * xb[t];
        y[(long)b * ldy + r + i] = s;
    }
}

#define ROWS(R, BB)                                                                                \
    do {                                                                                           \
        long r = r0;                                                                               \
        for (; r + R <= r1; r += R)                                                                \
            tile(w, xb, ldx, yb, ldy, r, R, BB);                                                   \
        for (; r < r1; r++)                                                                        \
            tile(w, xb, ldx, yb, ldy, r, 1, BB);                                                   \
    } while (0)

void kstt__matmul_bf16_avx2(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                            int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    for (int b0 = 0; b0 < batch; b0 += 8) {
        const int B = batch - b0 < 8 ? batch - b0 : 8;
        const float *xb = x + (long)b0 * ldx;
        float *yb = y + (long)b0 * ldy;
        switch (B) {
        case 1:
            ROWS(4, 1);
            break;
        case 2:
            ROWS(2, 2);
            break;
        case 3:
            ROWS(2, 3);
            break;
        case 4:
            ROWS(2, 4);
            break;
        case 5:
            ROWS(1, 5);
            break;
        case 6:
            ROWS(1, 6);
            break;
        case 7:
            ROWS(1, 7);
            break;
        default:
            ROWS(1, 8);
            break;
        }
    }
}
