/*
 * AVX2 products for the block-quantised weights (CPUs without AVX-512 VNNI). One 32-element
 * block per 256-bit register. Activations come in the shared layout (kernels/qx.h: u = q+128)
 * and are turned back to signed bytes with one xor. The 8-bit dot product is vpmaddubsw
 * (unsigned x signed bytes -> pairs of int16) then vpmaddwd with ones: signed weights use the
 * sign trick (|w| as the unsigned operand, x negated where w < 0); |w| <= 128 and |x| <= 127 keep
 * the int16 pair sums below 32767, so nothing saturates. q4_K nibbles (0..15) are already
 * unsigned. Per block: acc += cvt(dot) * (dw * dx). Tiles of R rows (2 at batch 1..3, else 1)
 * x B batch rows share each unpacked weight block. The q4_K mins term goes into the same
 * accumulators once per super-block.
 */
#include <immintrin.h>
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

INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE float h2f(const unsigned char *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return _cvtsh_ss(v);
}

/* sum(w * x) per int32 lane: w signed (|w| <= 128), xs signed (|x| <= 127) */
INLINE __m256i dot_ss(__m256i aw, __m256i w, __m256i xs) {
    const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(xs, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* w unsigned 0..15 */
INLINE __m256i dot_us(__m256i w, __m256i xs) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, xs), _mm256_set1_epi16(1));
}

INLINE __m256i xs_at(const kstt__qx *q, long k) {
    return _mm256_xor_si256(_mm256_load_si256((const __m256i *)(q->u + 32 * k)),
                            _mm256_set1_epi8((char)0x80));
}

INLINE void tile(int type, const kstt__wmat *wm, long r, int R, int B, const kstt__qx *qx, float *y,
                 long ldy) {
    const long cols = (long)wm->cols, nb = cols / 32;
    const unsigned char *row[2];
    UNROLL
    for (int i = 0; i < R; i++)
        row[i] = (const unsigned char *)wm->data + (size_t)(r + i) * wm->row_bytes;
    __m256 acc[2][8];
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        acc[i][b] = _mm256_setzero_ps();
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    if (type == KSTT_WT_Q4_K) {
        for (long s = 0; s < cols / KSTT_QK_K; s++) {
            float sc[2][8];
            UNROLL
            for (int i = 0; i < R; i++) {
                const unsigned char *blk = row[i] + 144 * s;
                const float d = h2f(blk), dmin = h2f(blk + 2);
                float mneg[8];
                for (int j = 0; j < 8; j++) {
                    uint8_t a, m;
                    kstt__q4k_scale_min(j, blk + 4, &a, &m);
                    sc[i][j] = d * (float)a;
                    mneg[j] = -dmin * (float)m;
                }
                const __m256 mv = _mm256_loadu_ps(mneg);
                UNROLL
                for (int b = 0; b < B; b++)
                    acc[i][b] = _mm256_fmadd_ps(mv, _mm256_loadu_ps(qx[b].sx + 8 * s), acc[i][b]);
            }
            for (int c = 0; c < 4; c++) {
                __m256i w[2][2];
                UNROLL
                for (int i = 0; i < R; i++) {
                    _mm_prefetch((const char *)row[i] + R * wm->row_bytes + 144 * s + 36 * c + 1024,
                                 _MM_HINT_T0);
                    const __m256i v =
                        _mm256_loadu_si256((const __m256i *)(row[i] + 144 * s + 16 + 32 * c));
                    w[i][0] = _mm256_and_si256(v, lo4);
                    w[i][1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
                }
                for (int h = 0; h < 2; h++) {
                    const long k = 8 * s + 2 * c + h;
                    UNROLL
                    for (int b = 0; b < B; b++) {
                        const __m256i xs = xs_at(&qx[b], k);
                        const float dx = qx[b].dv[8 * k];
                        UNROLL
                        for (int i = 0; i < R; i++)
                            acc[i][b] =
                                _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_us(w[i][h], xs)),
                                                _mm256_set1_ps(sc[i][2 * c + h] * dx), acc[i][b]);
                    }
                }
            }
        }
    } else {
        for (long k = 0; k < nb; k++) {
            __m256i w[2], aw[2];
            float dw[2];
            UNROLL
            for (int i = 0; i < R; i++) {
                /* next tile's rows, same offset: see bf16_avx2.c */
                _mm_prefetch((const char *)row[i] + R * wm->row_bytes +
                                 (type == KSTT_WT_Q8_0 ? 34 : 18) * k + 1024,
                             _MM_HINT_T0);
                if (type == KSTT_WT_Q8_0) {
                    const unsigned char *blk = row[i] + 34 * k;
                    w[i] = _mm256_loadu_si256((const __m256i *)(blk + 2));
                    dw[i] = h2f(blk);
                } else {
                    const unsigned char *blk = row[i] + 18 * k;
                    const __m128i q = _mm_loadu_si128((const __m128i *)(blk + 2));
                    const __m256i v = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
                    w[i] = _mm256_sub_epi8(_mm256_and_si256(v, lo4), _mm256_set1_epi8(8));
                    dw[i] = h2f(blk);
                }
                aw[i] = _mm256_abs_epi8(w[i]);
            }
            UNROLL
            for (int b = 0; b < B; b++) {
                const __m256i xs = xs_at(&qx[b], k);
                const float dx = qx[b].dv[8 * k];
                UNROLL
                for (int i = 0; i < R; i++)
                    acc[i][b] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_ss(aw[i], w[i], xs)),
                                                _mm256_set1_ps(dw[i] * dx), acc[i][b]);
            }
        }
    }
    UNROLL
    for (int i = 0; i < R; i++)
        UNROLL
    for (int b = 0; b < B; b++)
        y[(long)b * ldy + r + i] = hsum(acc[i][b]);
}

#define ROWS(TYPE, R, BB)                                                                          \
    do {                                                                                           \
        long r = r0;                                                                               \
        for (; r + R <= r1; r += R)                                                                \
            tile(TYPE, w, r, R, BB, qx, yb, ldy);                                                  \
        for (; r < r1; r++)                                                                        \
            tile(TYPE, w, r, 1, BB, qx, yb, ldy);                                                  \
    } while (0)

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
            switch (B) {                                                                           \
            case 1:                                                                                \
                ROWS(TYPE, 2, 1);                                                                  \
                break;                                                                             \
            case 2:                                                                                \
                ROWS(TYPE, 2, 2);                                                                  \
                break;                                                                             \
            case 3:                                                                                \
                ROWS(TYPE, 2, 3);                                                                  \
                break;                                                                             \
            case 4:                                                                                \
                ROWS(TYPE, 1, 4);                                                                  \
                break;                                                                             \
            case 5:                                                                                \
                ROWS(TYPE, 1, 5);                                                                  \
                break;                                                                             \
            case 6:                                                                                \
                ROWS(TYPE, 1, 6);                                                                  \
                break;                                                                             \
            case 7:                                                                                \
                ROWS(TYPE, 1, 7);                                                                  \
                break;                                                                             \
            default:                                                                               \
                ROWS(TYPE, 1, 8);                                                                  \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_MATMUL(kstt__matmul_q8_0_avx2, KSTT_WT_Q8_0)
DEFINE_MATMUL(kstt__matmul_q4_0_avx2, KSTT_WT_Q4_0)
DEFINE_MATMUL(kstt__matmul_q4_K_avx2, KSTT_WT_Q4_K)

/* Activation quantisation, bit-identical to the reference (same f32 operations). */
void kstt__prepare_x_q8_avx2(const float *x, long ldx, int batch, long cols, const kstt__ws *ws) {
    const long nb = cols / 32;
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * ldx;
        kstt__qx q = kstt__qx_at(ws->buf, cols, b);
        for (long k = 0; k < nb; k++) {
            float d;
            int sum;
            const __m256i p = kstt__q8_block_avx2(xb + 32 * k, &d, &sum);
            /* stored with +128 (unsigned) for the u8 x s8 products */
            _mm256_store_si256((__m256i *)(q.u + 32 * k),
                               _mm256_xor_si256(p, _mm256_set1_epi8((char)0x80)));
            _mm256_storeu_ps(q.dv + 8 * k, _mm256_set1_ps(d));
            q.sx[k] = d * (float)sum;
            _mm256_store_si256((__m256i *)(q.ci + 8 * k), _mm256_set1_epi32(-sum));
        }
    }
}
