/*
 * q8_0 products on the AMX tile unit (AMX-INT8), for the Q8_0X packing (quant/repack.h) and the
 * activation layout kstt__qxa (kernels/qx.h).
 *
 * Why: the batched LM step of many streams (kstt_batch, kstt serve) multiplies every weight by
 * up to 16 activation rows. The AVX-512 VNNI products (qr_avx512.c) do 64 multiply-adds per
 * instruction and become compute-bound from about 8 rows on; one tdpbssd does 16 x 16 x 32.
 *
 * A q8_0 block carries its own scale, so the integer sums must stay per block: a tile product
 * covers exactly one block (K = 32), C[b][n] = sum_e q_x[b][e] q_w[n][e] for 16 batch rows b and
 * the 16 rows n of a panel, exact in int32. Then, per batch row b, in f32 on a 16-lane vector
 * over the panel's rows:
 *     acc_b = fma(cvt(C[b]), d_w * d_x[b], acc_b)        blocks in order 0, 1, ..., nb - 1
 * Every output is that sequence over its own row and batch row only: the same bits whatever the
 * batch, its chunking or the split of rows between threads (what keeps a batched stream equal
 * to the same stream alone). Against the other levels the sums run in another order (f32
 * rounding apart); the integer dots and scales are the same numbers.
 *
 * Tiles (configured per call, released at its end: the tile state is per thread):
 *   0, 1  A: the activations of blocks 2q and 2q+1, 16 rows of 32 bytes
 *   2, 3  B: the weights of those blocks, 8 rows of 64 bytes (the packed layout as is)
 *   4, 5  C: 16 x 16 int32
 * A and C have the batch's rows when it is 16 or fewer. Above, they have 16, and the rows past
 * the batch in its last chunk are zero in the prepared activations (their C rows are not read).
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/qx.h"
#include "kernels/x86/amx.h"
#include "kernels/x86/x86.h"
#include "quant/repack.h"

#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 16")
/* Weight-stream prefetch, two distances: far into L2 (its queue holds more misses in flight than
 * L1's fill buffers, which capped a thread's stream), near into L1 for the tile loads. Measured
 * on the q8_0 matrices of the 1B model with two threads: batch 8 +15 % over one L1 distance. */
#define PF_L2 (16 * KSTT_RPX_PAIR_BYTES)
#define PF_L1 (2 * KSTT_RPX_PAIR_BYTES)

/* ---- activations ------------------------------------------------------------------------ */

/* The quantisation of every level (amax = max|x|, d = amax / 127, q = round(x * 127 / amax)),
 * written as AMX A tiles. */
void kstt__prepare_x_qa_amx(const float *x, long ldx, int batch, long cols, const kstt__ws *ws) {
    const long nb = cols / 32;
    const size_t cb = kstt__qxa_chunk_bytes(cols);
    /* up to 16 rows the tiles have exactly the batch's rows; above, 16, and the last chunk's
     * rows past the batch are read: zero them */
    const int rows = batch <= KSTT__QXA_ROWS
                         ? batch
                         : (batch + KSTT__QXA_ROWS - 1) / KSTT__QXA_ROWS * KSTT__QXA_ROWS;
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (int b = 0; b < rows; b++) {
        unsigned char *chunk = (unsigned char *)ws->buf + (size_t)(b / KSTT__QXA_ROWS) * cb;
        const int r = b % KSTT__QXA_ROWS;
        if (b >= batch) { /* padding rows of the last chunk: zero */
            for (long k = 0; k < nb; k++) {
                unsigned char *blk = chunk + (size_t)k * KSTT__QXA_BLOCK_BYTES;
                memset(blk + 32 * r, 0, 32);
                ((float *)(blk + 512))[r] = 0.0f;
            }
            continue;
        }
        const float *xb = x + (long)b * ldx;
        for (long k = 0; k < nb; k++) {
            unsigned char *blk = chunk + (size_t)k * KSTT__QXA_BLOCK_BYTES;
            const __m512 a = _mm512_loadu_ps(xb + 32 * k), c = _mm512_loadu_ps(xb + 32 * k + 16);
            const float amax = _mm512_reduce_max_ps(
                _mm512_max_ps(_mm512_and_ps(a, absmask), _mm512_and_ps(c, absmask)));
            const float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
            const __m512 vid = _mm512_set1_ps(id);
            _mm_storeu_si128((__m128i *)(blk + 32 * r),
                             _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(a, vid))));
            _mm_storeu_si128((__m128i *)(blk + 32 * r + 16),
                             _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(c, vid))));
            ((float *)(blk + 512))[r] = d;
        }
    }
}

/* ---- products --------------------------------------------------------------------------- */

/* rows: the batch rows of the A and C tiles (the tile unit's loads, products and stores take
 * time in proportion to them) */
static void configure_tiles(int rows) {
    kstt__amx_tilecfg c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    c.rows[0] = c.rows[1] = (uint8_t)rows;
    c.colsb[0] = c.colsb[1] = 32;
    c.rows[2] = c.rows[3] = 8;
    c.colsb[2] = c.colsb[3] = 64;
    c.rows[4] = c.rows[5] = (uint8_t)rows;
    c.colsb[4] = c.colsb[5] = 64;
    _tile_loadconfig(&c);
}

/* acc_b += cvt(C[b]) * (dw * dx[b]) for the M batch rows of one block's C */
INLINE void scale_add(const int M, const int32_t *cbuf, __m512 dw, const float *dx, __m512 *acc) {
    UNROLL
    for (int b = 0; b < M; b++)
        acc[b] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(cbuf + 16 * b)),
                                 _mm512_mul_ps(dw, _mm512_set1_ps(dx[b])), acc[b]);
}

/* One panel (16 rows of W) times the M batch rows of one activation chunk; writes the rows of
 * the panel that mask selects. */
INLINE void panel(const int M, const unsigned char *pw, long nb, const unsigned char *xa, float *y,
                  long ldy, __mmask16 mask) {
    __m512 acc[KSTT__QXA_ROWS];
    int32_t cbuf[2][KSTT__QXA_ROWS * 16] __attribute__((aligned(64)));
    UNROLL
    for (int b = 0; b < M; b++)
        acc[b] = _mm512_setzero_ps();
    for (long k = 0; k < nb; k += 2, pw += KSTT_RPX_PAIR_BYTES) {
        for (int l = 0; l < KSTT_RPX_PAIR_BYTES / 64; l++)
            _mm_prefetch((const char *)pw + PF_L2 + 64 * l, _MM_HINT_T1);
        for (int l = 0; l < KSTT_RPX_PAIR_BYTES / 64; l++)
            _mm_prefetch((const char *)pw + PF_L1 + 64 * l, _MM_HINT_T0);
        const unsigned char *x0 = xa + (size_t)k * KSTT__QXA_BLOCK_BYTES;
        _tile_loadd(0, x0, 32);
        _tile_loadd(2, pw + 64, 64);
        _tile_zero(4);
        _tile_dpbssd(4, 0, 2);
        const int two = k + 1 < nb; /* the pair's second block exists */
        if (two) {
            _tile_loadd(1, x0 + KSTT__QXA_BLOCK_BYTES, 32);
            _tile_loadd(3, pw + 64 + 512, 64);
            _tile_zero(5);
            _tile_dpbssd(5, 1, 3);
        }
        _tile_stored(4, cbuf[0], 64);
        scale_add(M, cbuf[0], _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)pw)),
                  (const float *)(x0 + 512), acc);
        if (two) {
            _tile_stored(5, cbuf[1], 64);
            scale_add(M, cbuf[1], _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(pw + 32))),
                      (const float *)(x0 + KSTT__QXA_BLOCK_BYTES + 512), acc);
        }
    }
    UNROLL
    for (int b = 0; b < M; b++)
        _mm512_mask_storeu_ps(y + (long)b * ldy, mask, acc[b]);
}

#define PANEL_CASE(m)                                                                              \
    case m:                                                                                        \
        panel(m, pw, nb, xa, yc, ldy, mask);                                                       \
        break;

void kstt__matmul_q8_0x_amx(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                            int batch, long r0, long r1, const kstt__ws *ws) {
    (void)x, (void)ldx;
    if (r0 >= r1 || batch <= 0)
        return;
    const long nb = (long)w->cols / 32;
    const size_t cb = kstt__qxa_chunk_bytes((long)w->cols);
    /* a batch of up to 16 rows: tiles of exactly its rows; larger: 16 (the last chunk's rows
     * past the batch are zero in the activations and their C rows are not read) */
    configure_tiles(batch < KSTT__QXA_ROWS ? batch : KSTT__QXA_ROWS);
    for (long p = r0 / KSTT_RPX_ROWS; p * KSTT_RPX_ROWS < r1; p++) {
        const long base = p * KSTT_RPX_ROWS;
        const long lo = r0 > base ? r0 - base : 0;
        const long hi = r1 - base < KSTT_RPX_ROWS ? r1 - base : KSTT_RPX_ROWS;
        const __mmask16 mask = (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
        const unsigned char *pw = (const unsigned char *)w->data + (size_t)p * w->row_bytes;
        /* every chunk of 16 batch rows against this panel while it is in L1/L2 */
        for (int c0 = 0; c0 < batch; c0 += KSTT__QXA_ROWS) {
            const unsigned char *xa =
                (const unsigned char *)ws->buf + (size_t)(c0 / KSTT__QXA_ROWS) * cb;
            float *yc = y + (long)c0 * ldy + base;
            switch (batch - c0 < KSTT__QXA_ROWS ? batch - c0 : KSTT__QXA_ROWS) {
                PANEL_CASE(1)
                PANEL_CASE(2)
                PANEL_CASE(3)
                PANEL_CASE(4)
                PANEL_CASE(5)
                PANEL_CASE(6)
                PANEL_CASE(7)
                PANEL_CASE(8)
                PANEL_CASE(9)
                PANEL_CASE(10)
                PANEL_CASE(11)
                PANEL_CASE(12)
                PANEL_CASE(13)
                PANEL_CASE(14)
                PANEL_CASE(15)
            default:
                panel(16, pw, nb, xa, yc, ldy, mask);
                break;
            }
        }
    }
    _tile_release();
}
