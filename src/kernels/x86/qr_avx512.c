/*
 * AVX-512 VNNI products for the packed q8_0R / q4_0R layouts (quant/repack.h), with the
 * activations in the transposed layout kstt__qxt (kernels/qx.h, written by prepare_x_qt here).
 * Int32 lane l of every weight and activation register belongs to block 16g + l of a group, so
 *     idot = start;  idot = vpdpbusd(idot, w_m, x_m)  for the 8 registers m of the group
 * leaves each block's whole integer dot product in its lane, and the f32 work is one
 *     acc += cvt(idot) * dx * dw            (16 blocks: one convert, one mul, one fma)
 * per group, row and batch row, where the file-layout kernels (q_avx512.c) pay it per pair of
 * blocks. vpdpbusd multiplies unsigned by signed bytes:
 *     q8_0R  weights biased to unsigned (w ^ 0x80 = w + 128, once per register and row) times
 *            signed x, started from -128 * sum(q) per block (qxt c128)
 *     q4_0R  unsigned nibbles times signed x, started from -8 * sum(q) (qxt c8)
 *     q4_KR  unsigned nibbles times signed x, started from 0; per group the two super-blocks'
 *            6-bit scales and mins are decoded to 16 lanes of d * sc and dmin * m, and the
 *            mins term -dmin * m * sx (qxt sx) is one more fma
 * Blocks past the end of a row are zero on both sides (and their scales), so partial groups
 * need no special case. A tile of two rows is one sequential stream of aligned lines,
 * prefetched KSTT_QR_PF bytes ahead. Tiles: 2 rows x up to 4 batch rows (each x register
 * feeds two rows; 16 weight registers + 8 accumulators fit the 32 registers), larger batches in
 * passes of 4 over the same tile. A row's result depends only on the row: the same operations
 * whatever the tile, pass or batch.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/qx.h"
#include "kernels/x86/qr.h"
#include "quant/repack.h"

#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 16")
/* prefetch distance in the tile stream, bytes */
#ifndef KSTT_QR_PF
#define KSTT_QR_PF 2048
#endif

/* ---- activations ------------------------------------------------------------------------ */

/* The quantisation of prepare_x_q8_avx512 (q_avx512.c), bit-identical to the reference, stored
 * transposed: block l's 32 bytes go out as 8 dwords, one per register of the group. */
void kstt__prepare_x_qt_avx512(const float *x, long ldx, int batch, long cols, const kstt__ws *ws) {
    const long nb = cols / 32, G = (nb + 15) / 16;
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * ldx;
        for (long g = 0; g < G; g++) {
            kstt__qxt q = kstt__qxt_at(ws->buf, cols, b, g);
            const int nl = nb - 16 * g < 16 ? (int)(nb - 16 * g) : 16;
            if (nl < 16)
                memset(q.q, 0, KSTT__QXT_GROUP_BYTES);
            for (int l = 0; l < nl; l++) {
                const float *xk = xb + 32 * (16 * g + l);
                const __m512 a = _mm512_loadu_ps(xk), c = _mm512_loadu_ps(xk + 16);
                const float amax = _mm512_reduce_max_ps(
                    _mm512_max_ps(_mm512_and_ps(a, absmask), _mm512_and_ps(c, absmask)));
                const float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
                const __m512 vid = _mm512_set1_ps(id);
                const __m512i qa = _mm512_cvtps_epi32(_mm512_mul_ps(a, vid));
                const __m512i qc = _mm512_cvtps_epi32(_mm512_mul_ps(c, vid));
                int32_t dw[8];
                _mm_storeu_si128((__m128i *)dw, _mm512_cvtepi32_epi8(qa));
                _mm_storeu_si128((__m128i *)(dw + 4), _mm512_cvtepi32_epi8(qc));
                UNROLL
                for (int m = 0; m < 8; m++)
                    memcpy(q.q + 64 * m + 4 * l, &dw[m], 4);
                const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(qa, qc));
                q.d[l] = d;
                q.c8[l] = -8 * sum;
                q.c128[l] = -128 * sum;
                q.sx[l] = d * (float)sum;
            }
        }
    }
}

/* ---- products --------------------------------------------------------------------------- */

/* R rows (1 or 2; R = 2 only from an even row) from row r, B batch rows from qbase. */
INLINE void tile(int type, const kstt__wmat *wm, long r, int R, int B, const unsigned char *qbase,
                 size_t qrow, float *y, long ldy) {
    const long G = kstt__rp_groups((long)wm->cols);
    const int slot0 = (int)(r & 1);
    const size_t gb = kstt__rp_group_bytes(wm->type);
    const __m512i lo4 = _mm512_set1_epi8(0x0F), bias = _mm512_set1_epi8((char)0x80);
    __m512 acc[2][8];
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        acc[i][b] = _mm512_setzero_ps();
    const unsigned char *grp = kstt__rp_group(wm, r, 0);
    for (long g = 0; g < G; g++, grp += gb) {
        /* the stream of this tile (and the next ones) PF bytes ahead, a line at a time */
        for (int l = 0; l < (type == KSTT_WT_Q8_0R ? 17 : 9); l++)
            _mm_prefetch((const char *)grp + KSTT_QR_PF + 64 * l, _MM_HINT_T0);
        __m512 s[2], mn[2];
        __m512i w[2][8];
        const unsigned char *q = grp + 64 + 64 * slot0;
        UNROLL
        for (int i = 0; i < R; i++) {
            if (type == KSTT_WT_Q4_KR) {
                __m256 s0, s1, m0, m1;
                kstt__q4k_head(grp + 32 * (slot0 + i), &s0, &m0);
                kstt__q4k_head(grp + 32 * (slot0 + i) + 16, &s1, &m1);
                s[i] = _mm512_insertf32x8(_mm512_castps256_ps512(s0), s1, 1);
                mn[i] = _mm512_insertf32x8(_mm512_castps256_ps512(m0), m1, 1);
            } else {
                s[i] =
                    _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(grp + 32 * (slot0 + i))));
                mn[i] = _mm512_setzero_ps();
            }
            if (type == KSTT_WT_Q8_0R) {
                UNROLL
                for (int m = 0; m < 8; m++)
                    w[i][m] = _mm512_xor_si512(_mm512_load_si512(q + 128 * m + 64 * i), bias);
            } else {
                UNROLL
                for (int c = 0; c < 4; c++) { /* q4_0R, q4_KR */
                    const __m512i v = _mm512_load_si512(q + 128 * c + 64 * i);
                    w[i][2 * c] = _mm512_and_si512(v, lo4);
                    w[i][2 * c + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 4), lo4);
                }
            }
        }
        UNROLL
        for (int b = 0; b < B; b++) {
            const unsigned char *xg = qbase + (size_t)b * qrow + (size_t)g * KSTT__QXT_GROUP_BYTES;
            const __m512i start = type == KSTT_WT_Q4_KR
                                      ? _mm512_setzero_si512()
                                      : _mm512_load_si512(xg + (type == KSTT_WT_Q8_0R ? 640 : 576));
            __m512i idot[2];
            UNROLL
            for (int i = 0; i < R; i++)
                idot[i] = start;
            UNROLL
            for (int m = 0; m < 8; m++) {
                const __m512i xm = _mm512_load_si512(xg + 64 * m);
                UNROLL
                for (int i = 0; i < R; i++)
                    idot[i] = _mm512_dpbusd_epi32(idot[i], w[i][m], xm);
            }
            const __m512 dx = _mm512_load_ps(xg + 512);
            UNROLL
            for (int i = 0; i < R; i++)
                acc[i][b] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(idot[i]), dx), s[i],
                                            acc[i][b]);
            if (type == KSTT_WT_Q4_KR) { /* - dmin * m_j * sx_j: the mins of each block */
                const __m512 sx = _mm512_load_ps(xg + 704);
                UNROLL
                for (int i = 0; i < R; i++)
                    acc[i][b] = _mm512_fnmadd_ps(mn[i], sx, acc[i][b]);
            }
        }
    }
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        y[(long)b * ldy + r + i] = _mm512_reduce_add_ps(acc[i][b]);
}

/* Rows [r, r + R) for the B batch rows of this block, in passes of at most 4 batch rows: the
 * second pass reloads the tile's weights from L1 (a tile is at most a few KB), while the
 * activations of 4 batch rows (4 x 768 bytes per 512 columns) stay in L1 from tile to tile; with
 * all 8 in one pass they outgrow L1 on long rows (linear_out: 68 KB) and each row would stream
 * them from L2. */
#define TILE_B(TYPE, R, r)                                                                         \
    for (int bc = 0; bc < B; bc += 4) {                                                            \
        const unsigned char *qc = qb + (size_t)bc * qrow;                                          \
        float *yc = yb + (long)bc * ldy;                                                           \
        switch (B - bc < 4 ? B - bc : 4) {                                                         \
        case 1:                                                                                    \
            tile(TYPE, w, r, R, 1, qc, qrow, yc, ldy);                                             \
            break;                                                                                 \
        case 2:                                                                                    \
            tile(TYPE, w, r, R, 2, qc, qrow, yc, ldy);                                             \
            break;                                                                                 \
        case 3:                                                                                    \
            tile(TYPE, w, r, R, 3, qc, qrow, yc, ldy);                                             \
            break;                                                                                 \
        default:                                                                                   \
            tile(TYPE, w, r, R, 4, qc, qrow, yc, ldy);                                             \
            break;                                                                                 \
        }                                                                                          \
    }

/* An odd first row alone (slot 1 of its tile), then tiles of two rows, then a last odd row.
 * Batch rows in blocks of 8 (beyond 8 the weights are streamed again per block). */
#define DEFINE_MATMUL(NAME, TYPE)                                                                  \
    void NAME(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy, int batch,        \
              long r0, long r1, const kstt__ws *ws) {                                              \
        (void)x, (void)ldx;                                                                        \
        const size_t qrow = kstt__qxt_row_bytes((long)w->cols);                                    \
        for (int b0 = 0; b0 < batch; b0 += 8) {                                                    \
            const int B = batch - b0 < 8 ? batch - b0 : 8;                                         \
            const unsigned char *qb = (const unsigned char *)ws->buf + (size_t)b0 * qrow;          \
            float *yb = y + (long)b0 * ldy;                                                        \
            long r = r0;                                                                           \
            if ((r & 1) && r < r1) {                                                               \
                TILE_B(TYPE, 1, r);                                                                \
                r++;                                                                               \
            }                                                                                      \
            for (; r + 2 <= r1; r += 2)                                                            \
                TILE_B(TYPE, 2, r);                                                                \
            if (r < r1)                                                                            \
                TILE_B(TYPE, 1, r);                                                                \
        }                                                                                          \
    }

DEFINE_MATMUL(kstt__matmul_q8_0r_avx512, KSTT_WT_Q8_0R)
DEFINE_MATMUL(kstt__matmul_q4_0r_avx512, KSTT_WT_Q4_0R)
DEFINE_MATMUL(kstt__matmul_q4_kr_avx512, KSTT_WT_Q4_KR)
