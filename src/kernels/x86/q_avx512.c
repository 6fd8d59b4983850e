/*
 * AVX-512 VNNI products for the block-quantised weights (q8_0, q4_0, q4_K) and the AVX-512
 * activation quantisation (bit-identical to the reference, kernels/qx.h).
 *
 * Work unit: a pair of 32-element blocks = one 512-bit register of 64 weights, loaded and
 * unpacked once per row and shared by the whole batch, with `ws` = each block's weight scale
 * repeated over its 8 int32 lanes. vpdpbusd multiplies unsigned by signed bytes:
 *     q8_0  signed weights x unsigned activations u = q + 128, started from
 *           corr = -128 * sum(w) per lane (one extra vpdpbusd per weight pair, not per batch row)
 *     q4_0  unsigned nibbles x signed activations (u ^ 0x80), started from the activations'
 *           -sum(q) per lane (qx.h `ci`), which is the -8 offset of the nibbles
 *     q4_K  unsigned nibbles x signed activations, started from 0; the mins term
 *           -dmin * m_j * sx_j goes into the low 8 lanes of the accumulator once per super-block
 * then acc_b += cvt(dot) * dv_b * ws; lane sums are reduced once per output.
 * Tiles are 2 rows x B batch rows (B 1..8, a compile-time constant through the switch; the
 * loops are forced to unroll so the accumulators stay in registers), so each x load feeds two
 * rows and each weight load feeds B dot products: batch 8 reuses every weight byte 8 times.
 * The next tile's rows are prefetched in software at the same offset (+PF bytes).
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/qx.h"
#include "kernels/x86/qr.h"
#include "kernels/x86/x86.h"
#include "quant/quant.h"

#define INLINE static inline __attribute__((always_inline))
/* The tile loops over rows (R) and batch rows (B) have compile-time trip counts; they must be
 * unrolled completely so that the accumulator and weight arrays live in registers (without it
 * gcc 12 kept them on the stack: ~2x slower). */
#define UNROLL _Pragma("GCC unroll 16")
/* software prefetch distance past the current offset in the next tile's rows */
#define PF 1024

/* ---- activation quantisation --------------------------------------------------------- */

void kstt__prepare_x_q8_avx512(const float *x, long ldx, int batch, long cols, const kstt__ws *ws) {
    const long nb = cols / 32;
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    const __m512i off = _mm512_set1_epi32(128);
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * ldx;
        kstt__qx q = kstt__qx_at(ws->buf, cols, b);
        for (long k = 0; k < nb; k++) {
            const __m512 a = _mm512_loadu_ps(xb + 32 * k), c = _mm512_loadu_ps(xb + 32 * k + 16);
            const float amax = _mm512_reduce_max_ps(
                _mm512_max_ps(_mm512_and_ps(a, absmask), _mm512_and_ps(c, absmask)));
            const float d = amax / 127.0f, id = amax > 0.0f ? 127.0f / amax : 0.0f;
            const __m512 vid = _mm512_set1_ps(id);
            const __m512i qa = _mm512_cvtps_epi32(_mm512_mul_ps(a, vid));
            const __m512i qc = _mm512_cvtps_epi32(_mm512_mul_ps(c, vid));
            _mm_storeu_si128((__m128i *)(q.u + 32 * k),
                             _mm512_cvtepi32_epi8(_mm512_add_epi32(qa, off)));
            _mm_storeu_si128((__m128i *)(q.u + 32 * k + 16),
                             _mm512_cvtepi32_epi8(_mm512_add_epi32(qc, off)));
            _mm256_storeu_ps(q.dv + 8 * k, _mm256_set1_ps(d));
            const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(qa, qc));
            q.sx[k] = d * (float)sum;
            _mm256_store_si256((__m256i *)(q.ci + 8 * k), _mm256_set1_epi32(-sum));
        }
    }
}

/* ---- weight pair loaders -------------------------------------------------------------- */

typedef struct {
    __m512i w, corr;
    __m512 ws;
} wpair;

INLINE __m512i corr_of(__m512i w) {
    const __m512i c = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8((char)0x80), w);
    return _mm512_sub_epi32(_mm512_setzero_si512(), c);
}

/* [h0 x 8, h1 x 8] from two f16 values: the pair is combined in a scalar register, converted
 * once and spread with one permute (4 vector ops instead of 7 for two broadcasts + blend). */
INLINE __m512 two_scales_h(uint16_t h0, uint16_t h1) {
    const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128((int)((uint32_t)h1 << 16 | h0)));
    return _mm512_permutexvar_ps(_mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0),
                                 _mm512_castps128_ps512(f));
}

INLINE uint16_t ld16(const unsigned char *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

/* q8_0: blocks 2p and 2p+1 of the row (half: only block 2p exists) */
INLINE wpair load_q8_0(const unsigned char *row, long p, int half) {
    const unsigned char *b0 = row + 68 * p, *b1 = b0 + 34;
    wpair r;
    const __m256i lo = _mm256_loadu_si256((const __m256i *)(b0 + 2));
    if (half) {
        r.w = _mm512_zextsi256_si512(lo);
        r.ws = _mm512_maskz_mov_ps(0x00FF, _mm512_set1_ps(_cvtsh_ss(ld16(b0))));
    } else {
        r.w = _mm512_inserti64x4(_mm512_castsi256_si512(lo),
                                 _mm256_loadu_si256((const __m256i *)(b1 + 2)), 1);
        r.ws = two_scales_h(ld16(b0), ld16(b1));
    }
    r.corr = corr_of(r.w);
    return r;
}

/* q4_0: 18-byte blocks; byte j = element j (low) and j + 16 (high). The 16 bytes of each block
 * are broadcast into two 128-bit lanes ([q0, q0, q1, q1], two loads), the odd lanes shifted to
 * their high nibbles with a masked shift: no cross-lane permute, no variable shift. */
INLINE wpair load_q4_0(const unsigned char *row, long p, int half) {
    const unsigned char *b0 = row + 36 * p, *b1 = b0 + 18;
    wpair r;
    __m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(b0 + 2)));
    if (!half)
        v = _mm512_mask_broadcast_i32x4(v, 0xFF00, _mm_loadu_si128((const __m128i *)(b1 + 2)));
    v = _mm512_mask_srli_epi16(v, 0xFF00FF00u, v, 4);
    const __m512i w = _mm512_and_si512(v, _mm512_set1_epi8(0x0F)); /* unsigned 0..15 */
    if (half) {
        r.w = _mm512_maskz_mov_epi64(0x0F, w);
        r.ws = _mm512_maskz_mov_ps(0x00FF, _mm512_set1_ps(_cvtsh_ss(ld16(b0))));
    } else {
        r.w = w;
        r.ws = two_scales_h(ld16(b0), ld16(b1));
    }
    r.corr = _mm512_setzero_si512(); /* unused: the q4 products start from the x side */
    return r;
}

/* q4_K: decoded scales of one super-block */
typedef struct {
    __m256 sc;   /* d * sc_j */
    __m512 mneg; /* -dmin * m_j in lanes 0..7, 0 above */
} q4k_scales;

INLINE q4k_scales decode_q4k(const unsigned char *blk) {
    uint32_t a, b, c;
    memcpy(&a, blk + 4, 4);
    memcpy(&b, blk + 8, 4);
    memcpy(&c, blk + 12, 4);
    const uint32_t sc_lo = a & 0x3f3f3f3fu, m_lo = b & 0x3f3f3f3fu;
    const uint32_t sc_hi = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
    const uint32_t m_hi = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
    const __m128i scb = _mm_cvtsi64_si128((long long)((uint64_t)sc_hi << 32 | sc_lo));
    const __m128i mb = _mm_cvtsi64_si128((long long)((uint64_t)m_hi << 32 | m_lo));
    q4k_scales s;
    s.sc = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(scb)),
                         _mm256_set1_ps(_cvtsh_ss(ld16(blk))));
    const __m256 m = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(mb)),
                                   _mm256_set1_ps(-_cvtsh_ss(ld16(blk + 2))));
    s.mneg = _mm512_zextps256_ps512(m);
    return s;
}

/* q4_K chunk c (0..3) of a super-block: sub-blocks 2c (low nibbles) and 2c+1 (high) */
INLINE wpair load_q4_K(const unsigned char *blk, int c, const q4k_scales *s) {
    wpair r;
    const __m256i v = _mm256_loadu_si256((const __m256i *)(blk + 16 + 32 * c));
    const __m256i m = _mm256_set1_epi8(0x0F);
    r.w = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(v, m)),
                             _mm256_and_si256(_mm256_srli_epi16(v, 4), m), 1);
    const __m512i idx = _mm512_set_epi32(2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c + 1,
                                         2 * c + 1, 2 * c + 1, 2 * c + 1, 2 * c, 2 * c, 2 * c,
                                         2 * c, 2 * c, 2 * c, 2 * c, 2 * c);
    r.ws = _mm512_permutexvar_ps(idx, _mm512_castps256_ps512(s->sc));
    r.corr = _mm512_setzero_si512(); /* unused */
    return r;
}

/* ---- tiles ------------------------------------------------------------------------------ */

/* q8_0: u (unsigned x) times signed weights, started from -128 * sum(w) */
INLINE __m512 step(__m512 acc, const wpair *w, __m512i u, __m512 dv) {
    const __m512i dot = _mm512_dpbusd_epi32(w->corr, u, w->w);
    return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(dot), dv), w->ws, acc);
}

/* q4: unsigned nibbles times signed x, started from `start` (q4_0: -sum(qx) per lane, which
 * is the -8 offset of the nibbles; q4_K: 0) */
INLINE __m512 step_u(__m512 acc, const wpair *w, __m512i xs, __m512i start, __m512 dv) {
    const __m512i dot = _mm512_dpbusd_epi32(start, w->w, xs);
    return _mm512_fmadd_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(dot), dv), w->ws, acc);
}

/* R rows (1 or 2) from row r, B batch rows. type: KSTT_WT_Q8_0 / Q4_0 / Q4_K. */
INLINE void tile(int type, const kstt__wmat *wm, long r, int R, int B, const kstt__qx *qx, float *y,
                 long ldy) {
    const long cols = (long)wm->cols, nb = cols / 32, np = nb / 2;
    const unsigned char *row[2];
    UNROLL
    for (int i = 0; i < R; i++)
        row[i] = (const unsigned char *)wm->data + (size_t)(r + i) * wm->row_bytes;
    __m512 acc[2][8];
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        acc[i][b] = _mm512_setzero_ps();

    if (type == KSTT_WT_Q4_K) {
        const long nsb = cols / KSTT_QK_K;
        for (long s = 0; s < nsb; s++) {
            q4k_scales sc[2];
            UNROLL
            for (int i = 0; i < R; i++) {
                sc[i] = decode_q4k(row[i] + 144 * s);
                UNROLL
                for (int b = 0; b < B; b++)
                    acc[i][b] = _mm512_fmadd_ps(
                        sc[i].mneg, _mm512_maskz_loadu_ps(0xFF, qx[b].sx + 8 * s), acc[i][b]);
            }
            for (int c = 0; c < 4; c++) {
                wpair w[2];
                UNROLL
                for (int i = 0; i < R; i++) {
                    _mm_prefetch((const char *)row[i] + R * wm->row_bytes + 144 * s + 36 * c + PF,
                                 _MM_HINT_T0);
                    w[i] = load_q4_K(row[i] + 144 * s, c, &sc[i]);
                }
                const long p = 4 * s + c;
                UNROLL
                for (int b = 0; b < B; b++) {
                    const __m512i xs = _mm512_xor_si512(_mm512_load_si512(qx[b].u + 64 * p),
                                                        _mm512_set1_epi8((char)0x80));
                    const __m512 dv = _mm512_load_ps(qx[b].dv + 16 * p);
                    UNROLL
                    for (int i = 0; i < R; i++)
                        acc[i][b] = step_u(acc[i][b], &w[i], xs, _mm512_setzero_si512(), dv);
                }
            }
        }
    } else {
        const long pb = type == KSTT_WT_Q8_0 ? 68 : 36; /* bytes per pair */
        for (long p = 0; p < np; p++) {
            wpair w[2];
            UNROLL
            for (int i = 0; i < R; i++) {
                /* the rows of the next tile, at the same offset: two independent streams per
                 * tile are not enough for the hardware prefetchers to reach DRAM speed */
                _mm_prefetch((const char *)row[i] + R * wm->row_bytes + pb * p + PF, _MM_HINT_T0);
                w[i] = type == KSTT_WT_Q8_0 ? load_q8_0(row[i], p, 0) : load_q4_0(row[i], p, 0);
            }
            UNROLL
            for (int b = 0; b < B; b++) {
                const __m512i u = _mm512_load_si512(qx[b].u + 64 * p);
                const __m512 dv = _mm512_load_ps(qx[b].dv + 16 * p);
                if (type == KSTT_WT_Q8_0) {
                    UNROLL
                    for (int i = 0; i < R; i++)
                        acc[i][b] = step(acc[i][b], &w[i], u, dv);
                } else {
                    const __m512i xs = _mm512_xor_si512(u, _mm512_set1_epi8((char)0x80));
                    const __m512i ci = _mm512_load_si512(qx[b].ci + 16 * p);
                    UNROLL
                    for (int i = 0; i < R; i++)
                        acc[i][b] = step_u(acc[i][b], &w[i], xs, ci, dv);
                }
            }
        }
        if (nb & 1) { /* a last single block: upper half of the registers zero */
            wpair w[2];
            UNROLL
            for (int i = 0; i < R; i++)
                w[i] = type == KSTT_WT_Q8_0 ? load_q8_0(row[i], np, 1) : load_q4_0(row[i], np, 1);
            UNROLL
            for (int b = 0; b < B; b++) {
                const __m512i u =
                    _mm512_zextsi256_si512(_mm256_load_si256((const __m256i *)(qx[b].u + 64 * np)));
                const __m512 dv = _mm512_zextps256_ps512(_mm256_load_ps(qx[b].dv + 16 * np));
                if (type == KSTT_WT_Q8_0) {
                    UNROLL
                    for (int i = 0; i < R; i++)
                        acc[i][b] = step(acc[i][b], &w[i], u, dv);
                } else {
                    const __m512i xs = _mm512_xor_si512(u, _mm512_set1_epi8((char)0x80));
                    const __m512i ci = _mm512_zextsi256_si512(
                        _mm256_load_si256((const __m256i *)(qx[b].ci + 16 * np)));
                    UNROLL
                    for (int i = 0; i < R; i++)
                        acc[i][b] = step_u(acc[i][b], &w[i], xs, ci, dv);
                }
            }
        }
    }
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        y[(long)b * ldy + r + i] = _mm512_reduce_add_ps(acc[i][b]);
}

#define TILE_CASES(TYPE, R)                                                                        \
    switch (B) {                                                                                   \
    case 1:                                                                                        \
        tile(TYPE, w, r, R, 1, qx, yb, ldy);                                                       \
        break;                                                                                     \
    case 2:                                                                                        \
        tile(TYPE, w, r, R, 2, qx, yb, ldy);                                                       \
        break;                                                                                     \
    case 3:                                                                                        \
        tile(TYPE, w, r, R, 3, qx, yb, ldy);                                                       \
        break;                                                                                     \
    case 4:                                                                                        \
        tile(TYPE, w, r, R, 4, qx, yb, ldy);                                                       \
        break;                                                                                     \
    case 5:                                                                                        \
        tile(TYPE, w, r, R, 5, qx, yb, ldy);                                                       \
        break;                                                                                     \
    case 6:                                                                                        \
        tile(TYPE, w, r, R, 6, qx, yb, ldy);                                                       \
        break;                                                                                     \
    case 7:                                                                                        \
        tile(TYPE, w, r, R, 7, qx, yb, ldy);                                                       \
        break;                                                                                     \
    default:                                                                                       \
        tile(TYPE, w, r, R, 8, qx, yb, ldy);                                                       \
        break;                                                                                     \
    }

#define DEFINE_MATMUL(NAME, TYPE)                                                                  \
    void NAME(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy, int batch,        \
              long r0, long r1, const kstt__ws *ws) {                                              \
        (void)x, (void)ldx;                                                                        \
        for (int b0 = 0; b0 < batch; b0 += 8) {                                                    \
            const int B = batch - b0 < 8 ? batch - b0 : 8;                                         \
            kstt__qx qx[8];                                                                        \
            for (int b = 0; b < B; b++)                                                            \
                qx[b] = kstt__qx_at(ws->buf, (long)w->cols, b0 + b);                               \
            float *yb = y + (long)b0 * ldy;                                                        \
            long r = r0;                                                                           \
            for (; r + 2 <= r1; r += 2)                                                            \
                TILE_CASES(TYPE, 2)                                                                \
            if (r < r1)                                                                            \
                TILE_CASES(TYPE, 1)                                                                \
        }                                                                                          \
    }

DEFINE_MATMUL(kstt__matmul_q8_0_avx512, KSTT_WT_Q8_0)
DEFINE_MATMUL(kstt__matmul_q4_0_avx512, KSTT_WT_Q4_0)
DEFINE_MATMUL(kstt__matmul_q4_K_avx512, KSTT_WT_Q4_K)
