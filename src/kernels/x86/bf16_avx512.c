/*
 * AVX-512 bf16 products.
 *
 * Exact (the default): weights widened to f32 (zero-extend, shift left 16: bf16 -> f32 is
 * exact) and FMA'd with f32 activations, so the result is the f32 product of the stored
 * weights, as the reference computes it up to summation order. At batch 1 this is
 * bandwidth-bound: widening costs nothing measurable.
 *
 * Dot (the optional matmul_bf16_dot entry of the avx512-bf16 table, CPUs with AVX512_BF16): x
 * rounded to bf16 once per product in prepare_x, then vdpbf16ps (32 products per instruction). Half
 * the instructions of the exact path at large batch, but x carries only 8 significant bits.
 *
 * Tiles: R rows x B batch rows of accumulators (R * B <= 16), R = 4 at batch <= 2 so that
 * enough independent FMA chains hide the FMA latency, else 2.
 */
#include <immintrin.h>

#include "kernels/qx.h"
#include "kernels/x86/x86.h"

#define INLINE static inline __attribute__((always_inline))
/* The tile loops over rows (R) and batch rows (B) have compile-time trip counts; they must be
 * unrolled completely so that the accumulator and weight arrays live in registers (without it
 * gcc 12 kept them on the stack: ~2x slower). */
#define UNROLL _Pragma("GCC unroll 16")

INLINE __m512 widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

INLINE void tile_exact(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy, long r,
                       int R, int B) {
    const long cols = (long)w->cols;
    const uint16_t *row[4];
    UNROLL
    for (int i = 0; i < R; i++)
        row[i] = (const uint16_t *)((const char *)w->data + (size_t)(r + i) * w->row_bytes);
    __m512 acc[4][8];
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        acc[i][b] = _mm512_setzero_ps();
    long c = 0;
    for (; c + 16 <= cols; c += 16) {
        __m512 wv[4];
        UNROLL
        for (int i = 0; i < R; i++) {
            /* the next tile's rows at the same offset: the hardware prefetchers alone do not
             * reach DRAM speed on R interleaved streams */
            if (!(c & 31))
                _mm_prefetch((const char *)(row[i] + c) + R * w->row_bytes + 512, _MM_HINT_T0);
            wv[i] = widen(_mm256_loadu_si256((const __m256i *)(row[i] + c)));
        }
        UNROLL
        for (int b = 0; b < B; b++) {
            const __m512 xv = _mm512_loadu_ps(x + (long)b * ldx + c);
            UNROLL
            for (int i = 0; i < R; i++)
                acc[i][b] = _mm512_fmadd_ps(wv[i], xv, acc[i][b]);
        }
    }
    if (c < cols) {
        const __mmask16 m = (__mmask16)((1u << (cols - c)) - 1);
        __m512 wv[4];
        UNROLL
        for (int i = 0; i < R; i++)
            wv[i] = widen(_mm256_maskz_loadu_epi16(m, row[i] + c));
        UNROLL
        for (int b = 0; b < B; b++) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, x + (long)b * ldx + c);
            UNROLL
            for (int i = 0; i < R; i++)
                acc[i][b] = _mm512_fmadd_ps(wv[i], xv, acc[i][b]);
        }
    }
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        y[(long)b * ldy + r + i] = _mm512_reduce_add_ps(acc[i][b]);
}

INLINE void tile_dot(const kstt__wmat *w, const uint16_t *xh, long ldxh, float *y, long ldy, long r,
                     int R, int B) {
    const long cols = (long)w->cols;
    const uint16_t *row[4];
    UNROLL
    for (int i = 0; i < R; i++)
        row[i] = (const uint16_t *)((const char *)w->data + (size_t)(r + i) * w->row_bytes);
    __m512 acc[4][8];
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        acc[i][b] = _mm512_setzero_ps();
    long c = 0;
    for (; c + 32 <= cols; c += 32) {
        __m512i wv[4];
        UNROLL
        for (int i = 0; i < R; i++) {
            _mm_prefetch((const char *)(row[i] + c) + R * w->row_bytes, _MM_HINT_T0);
            wv[i] = _mm512_loadu_si512(row[i] + c);
        }
        UNROLL
        for (int b = 0; b < B; b++) {
            const __m512i xv = _mm512_load_si512(xh + (long)b * ldxh + c);
            UNROLL
            for (int i = 0; i < R; i++)
                acc[i][b] = _mm512_dpbf16_ps(acc[i][b], (__m512bh)wv[i], (__m512bh)xv);
        }
    }
    if (c < cols) {
        const __mmask32 m = (__mmask32)((1ull << (cols - c)) - 1);
        __m512i wv[4];
        UNROLL
        for (int i = 0; i < R; i++)
            wv[i] = _mm512_maskz_loadu_epi16(m, row[i] + c);
        UNROLL
        for (int b = 0; b < B; b++) {
            const __m512i xv = _mm512_maskz_loadu_epi16(m, xh + (long)b * ldxh + c);
            UNROLL
            for (int i = 0; i < R; i++)
                acc[i][b] = _mm512_dpbf16_ps(acc[i][b], (__m512bh)wv[i], (__m512bh)xv);
        }
    }
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        y[(long)b * ldy + r + i] = _mm512_reduce_add_ps(acc[i][b]);
}

/* Row tiles for a batch chunk of B (1..8) rows: R = 4 while B <= 2, else 2, then single rows. */
#define ROW_LOOP(TILE, XA, LDXA)                                                                   \
    switch (B) {                                                                                   \
    case 1:                                                                                        \
        ROWS(TILE, XA, LDXA, 4, 1);                                                                \
        break;                                                                                     \
    case 2:                                                                                        \
        ROWS(TILE, XA, LDXA, 4, 2);                                                                \
        break;                                                                                     \
    case 3:                                                                                        \
        ROWS(TILE, XA, LDXA, 2, 3);                                                                \
        break;                                                                                     \
    case 4:                                                                                        \
        ROWS(TILE, XA, LDXA, 2, 4);                                                                \
        break;                                                                                     \
    case 5:                                                                                        \
        ROWS(TILE, XA, LDXA, 2, 5);                                                                \
        break;                                                                                     \
    case 6:                                                                                        \
        ROWS(TILE, XA, LDXA, 2, 6);                                                                \
        break;                                                                                     \
    case 7:                                                                                        \
        ROWS(TILE, XA, LDXA, 2, 7);                                                                \
        break;                                                                                     \
    default:                                                                                       \
        ROWS(TILE, XA, LDXA, 2, 8);                                                                \
        break;                                                                                     \
    }
#define ROWS(TILE, XA, LDXA, R, BB)                                                                \
    do {                                                                                           \
        long r = r0;                                                                               \
        for (; r + R <= r1; r += R)                                                                \
            TILE(w, XA, LDXA, yb, ldy, r, R, BB);                                                  \
        for (; r < r1; r++)                                                                        \
            TILE(w, XA, LDXA, yb, ldy, r, 1, BB);                                                  \
    } while (0)

void kstt__matmul_bf16_avx512(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                              int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    for (int b0 = 0; b0 < batch; b0 += 8) {
        const int B = batch - b0 < 8 ? batch - b0 : 8;
        const float *xb = x + (long)b0 * ldx;
        float *yb = y + (long)b0 * ldy;
        ROW_LOOP(tile_exact, xb, ldx)
    }
}

void kstt__prepare_x_bf16_dot_avx512(const float *x, long ldx, int batch, long cols,
                                     const kstt__ws *ws) {
    const long ld = (long)(kstt__bx_row_bytes(cols) / 2);
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * ldx;
        uint16_t *o = (uint16_t *)ws->buf + (long)b * ld;
        long c = 0;
        for (; c + 32 <= cols; c += 32) {
            const __m512bh h =
                _mm512_cvtne2ps_pbh(_mm512_loadu_ps(xb + c + 16), _mm512_loadu_ps(xb + c));
            _mm512_store_si512(o + c, (__m512i)h);
        }
        for (; c < cols; c += 16) {
            const long n = cols - c < 16 ? cols - c : 16;
            const __mmask16 m = (__mmask16)((1u << n) - 1);
            const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, xb + c));
            _mm256_mask_storeu_epi16(o + c, m, (__m256i)h);
        }
    }
}

void kstt__matmul_bf16_dot_avx512(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                                  int batch, long r0, long r1, const kstt__ws *ws) {
    (void)x, (void)ldx;
    const long ldh = (long)(kstt__bx_row_bytes((long)w->cols) / 2);
    for (int b0 = 0; b0 < batch; b0 += 8) {
        const int B = batch - b0 < 8 ? batch - b0 : 8;
        const uint16_t *xh = (const uint16_t *)ws->buf + (long)b0 * ldh;
        float *yb = y + (long)b0 * ldy;
        ROW_LOOP(tile_dot, xh, ldh)
    }
}
