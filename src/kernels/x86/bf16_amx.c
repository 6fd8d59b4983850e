/*
 * bf16 products on the AMX tile unit (AMX-BF16), for the BF16X packing (core/wtype.h,
 * kstt__bf16x_pack): the Mimi encoder's optional bf16 storage on a CPU that has the tile unit.
 *
 * Why: the batched Mimi of many streams (kstt serve) is compute-bound in f32. Its convolutions
 * have many output steps and its transformer a few rows per stream; the AVX-512 f32 GEMMs reach
 * about half of 32 multiply-adds per cycle and core, one tdpbf16ps does 16 x 16 x 32 in 16
 * cycles. The activations are rounded to bf16 (nearest even) as they are loaded into a tile,
 * the weights are bf16 already, the sums are f32: the precision moshi-server runs Mimi in.
 *
 * Per call: for each group of up to 4 weight panels (64 output rows), for each chunk of up to
 * 16 batch rows, C[b][n] = sum over the column blocks k in order of the tile product of the
 * block's A (16 rows x 32 bf16, converted here into a 1 KB buffer) and B (the packed block as
 * is). An output depends only on its own weight row and batch row, through the same sequence of
 * tile products: the same bits whatever the batch, its chunking or the split of rows between
 * threads (what keeps a batched stream equal to the same stream alone).
 *
 * Tiles (configured per call, released at its end: the tile state is per thread):
 *   0     A: 16 (or the batch's, when it is smaller) rows of 64 bytes
 *   1, 2  B: 16 pair rows of 64 bytes, alternating so a load overlaps the other's product
 *   4..7  C: the group's 4 panels, rows as A, 16 f32
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/x86/amx.h"
#include "kernels/x86/x86.h"

#define TILE_BYTES 1024 /* one packed block: 16 rows x 32 bf16 */

static void configure_tiles(int rows) {
    kstt__amx_tilecfg c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    c.rows[0] = (uint8_t)rows;
    c.colsb[0] = 64;
    for (int t = 1; t <= 2; t++) {
        c.rows[t] = 16;
        c.colsb[t] = 64;
    }
    for (int t = 4; t <= 7; t++) {
        c.rows[t] = (uint8_t)rows;
        c.colsb[t] = 64;
    }
    _tile_loadconfig(&c);
}

/* Columns [c0, c0 + 32) of M batch rows of x, rounded to bf16, into the A buffer (64 bytes a
 * row); columns past cols are zero. */
static inline void convert_a(const float *x, long ldx, int M, long c0, long cols, uint16_t *a) {
    const long left = cols - c0;
    const __mmask16 m0 = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
    const __mmask16 m1 = left >= 32   ? (__mmask16)0xffff
                         : left <= 16 ? (__mmask16)0
                                      : (__mmask16)((1u << (left - 16)) - 1u);
    for (int b = 0; b < M; b++) {
        const float *xb = x + (long)b * ldx + c0;
        const __m512 lo = _mm512_maskz_loadu_ps(m0, xb), hi = _mm512_maskz_loadu_ps(m1, xb + 16);
        _mm512_store_si512((__m512i *)(a + 32 * b), (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
    }
}

/* One tile product of block k of panel p0 + q (through B tile bt) into C tile ct, if the group
 * has that panel. (Tile numbers are literals: the intrinsics paste them into the assembly.) */
#define PANEL_DP(q, bt, ct)                                                                        \
    if (np > (q)) {                                                                                \
        _tile_loadd(bt, pw + (size_t)(q)*w->row_bytes + (size_t)k * TILE_BYTES, 64);               \
        _tile_dpbf16ps(ct, 0, bt);                                                                 \
    }

/* C tile ct to the rows [r0, r1) of panel p0 + q in y (M batch rows). */
#define PANEL_STORE(q, ct)                                                                         \
    if (np > (q)) {                                                                                \
        _tile_stored(ct, cbuf, 64);                                                                \
        store_panel(cbuf, M, y + m0 * ldy, ldy, p0 + (q), r0, r1);                                 \
    }

static inline void store_panel(const float *cbuf, int M, float *y, long ldy, long p, long r0,
                               long r1) {
    const long base = p * KSTT_BF16X_ROWS;
    const long lo = r0 > base ? r0 - base : 0;
    const long hi = r1 - base < KSTT_BF16X_ROWS ? r1 - base : KSTT_BF16X_ROWS;
    const __mmask16 mask = (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
    for (int b = 0; b < M; b++)
        _mm512_mask_storeu_ps(y + (long)b * ldy + base, mask, _mm512_load_ps(cbuf + 16 * b));
}

void kstt__matmul_bf16x_amx(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                            int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    if (r0 >= r1 || batch <= 0)
        return;
    const long cols = (long)w->cols, nb = (cols + 31) / 32;
    const long p_end = (r1 + KSTT_BF16X_ROWS - 1) / KSTT_BF16X_ROWS;
    uint16_t abuf[16 * 32] __attribute__((aligned(64)));
    float cbuf[16 * 16] __attribute__((aligned(64)));
    const int rows = batch < 16 ? batch : 16;
    configure_tiles(rows);
    for (long p0 = r0 / KSTT_BF16X_ROWS; p0 < p_end; p0 += 4) {
        const long np = p_end - p0 < 4 ? p_end - p0 : 4;
        const unsigned char *pw = (const unsigned char *)w->data + (size_t)p0 * w->row_bytes;
        for (long m0 = 0; m0 < batch; m0 += 16) {
            const int M = batch - m0 < 16 ? (int)(batch - m0) : 16;
            if (M < rows) /* the last chunk of a larger batch: rows past it read as zero */
                memset(abuf + 32 * M, 0, (size_t)(rows - M) * 64);
            _tile_zero(4);
            _tile_zero(5);
            _tile_zero(6);
            _tile_zero(7);
            for (long k = 0; k < nb; k++) {
                convert_a(x + m0 * ldx, ldx, M, 32 * k, cols, abuf);
                _tile_loadd(0, abuf, 64);
                PANEL_DP(0, 1, 4)
                PANEL_DP(1, 2, 5)
                PANEL_DP(2, 1, 6)
                PANEL_DP(3, 2, 7)
            }
            PANEL_STORE(0, 4)
            PANEL_STORE(1, 5)
            PANEL_STORE(2, 6)
            PANEL_STORE(3, 7)
        }
    }
    _tile_release();
}
