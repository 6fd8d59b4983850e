/*
 * AVX2 products for the packed q8_0R / q4_0R layouts (quant/repack.h), for CPUs without
 * AVX-512 VNNI, with the activations in the transposed layout kstt__qxt (kernels/qx.h, written
 * by prepare_x_qt here). A 256-bit register holds 4 elements of each of 8 blocks (one half of
 * the group's 64-byte register), so the int32 lane sums of the 8 registers of a half are whole
 * block dot products and the f32 scaling is done once per 8 blocks:
 *     q8_0R  vpmaddubsw with the sign trick (|w| x sign(x, w); |w| <= 128, |x| <= 127 keep the
 *            int16 pair sums below 32767) then vpmaddwd with ones, started from 0
 *     q4_0R  unsigned nibbles x signed x (pairs <= 2 * 15 * 127), started from -8 sum(q)
 *     q4_KR  the same from 0; a half is one super-block: its decoded d * sc_j scale the lanes
 *            and its mins add -dmin * m_j * sx_j
 * One row at a time, B batch rows; the row's weight registers are reloaded from L1 per batch
 * row (16 registers do not hold 8 weights and 8 accumulators).
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kernels/qx.h"
#include "kernels/x86/qr.h"
#include "quant/repack.h"

#define INLINE static inline __attribute__((always_inline))
#define UNROLL _Pragma("GCC unroll 16")

INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* The quantisation of prepare_x_q8_avx2 (q_avx2.c) and of the reference (same f32 operations:
 * max|x|, d = amax / 127, q = round(x * (127 / amax))), stored transposed. */
void kstt__prepare_x_qt_avx2(const float *x, long ldx, int batch, long cols, const kstt__ws *ws) {
    const long nb = cols / 32, G = (nb + 15) / 16;
    for (int b = 0; b < batch; b++) {
        const float *xb = x + (long)b * ldx;
        for (long g = 0; g < G; g++) {
            kstt__qxt q = kstt__qxt_at(ws->buf, cols, b, g);
            const int nl = nb - 16 * g < 16 ? (int)(nb - 16 * g) : 16;
            if (nl < 16)
                memset(q.q, 0, KSTT__QXT_GROUP_BYTES);
            for (int l = 0; l < nl; l++) {
                float d;
                int s;
                const __m256i p = kstt__q8_block_avx2(xb + 32 * (16 * g + l), &d, &s);
                int32_t dw[8];
                _mm256_storeu_si256((__m256i *)dw, p);
                for (int mm = 0; mm < 8; mm++)
                    memcpy(q.q + 64 * mm + 4 * l, &dw[mm], 4);
                q.d[l] = d;
                q.c8[l] = -8 * s;
                q.c128[l] = -128 * s;
                q.sx[l] = d * (float)s;
            }
        }
    }
}

INLINE __m256i madd1(__m256i p16) {
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

/* Row r, B batch rows from qbase. */
INLINE void row1(int type, const kstt__wmat *wm, long r, int B, const unsigned char *qbase,
                 size_t qrow, float *y, long ldy) {
    const long G = kstt__rp_groups((long)wm->cols);
    const int slot = (int)(r & 1);
    const __m256i lo4 = _mm256_set1_epi8(0x0F);
    __m256 acc[8];
    UNROLL
    for (int b = 0; b < B; b++)
        acc[b] = _mm256_setzero_ps();
    for (long g = 0; g < G; g++) {
        const unsigned char *grp = kstt__rp_group(wm, r, g);
        const unsigned char *q = grp + 64 + 64 * slot;
        _mm_prefetch((const char *)grp + 2048, _MM_HINT_T0);
        for (int h = 0; h < 2; h++) {
            __m256 s, mn = _mm256_setzero_ps();
            if (type == KSTT_WT_Q4_KR) /* half h is super-block 2g + h */
                kstt__q4k_head(grp + 32 * slot + 16 * h, &s, &mn);
            else
                s = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(grp + 32 * slot + 16 * h)));
            UNROLL
            for (int b = 0; b < B; b++) {
                const unsigned char *xg =
                    qbase + (size_t)b * qrow + (size_t)g * KSTT__QXT_GROUP_BYTES;
                __m256i dot;
                if (type == KSTT_WT_Q8_0R) {
                    dot = _mm256_setzero_si256();
                    UNROLL
                    for (int m = 0; m < 8; m++) {
                        const __m256i w =
                            _mm256_load_si256((const __m256i *)(q + 128 * m + 32 * h));
                        const __m256i xm =
                            _mm256_load_si256((const __m256i *)(xg + 64 * m + 32 * h));
                        dot = _mm256_add_epi32(
                            dot, madd1(_mm256_maddubs_epi16(_mm256_abs_epi8(w),
                                                            _mm256_sign_epi8(xm, w))));
                    }
                } else {
                    dot = type == KSTT_WT_Q4_KR
                              ? _mm256_setzero_si256()
                              : _mm256_load_si256((const __m256i *)(xg + 576 + 32 * h)); /* c8 */
                    UNROLL
                    for (int c = 0; c < 4; c++) {
                        const __m256i v =
                            _mm256_load_si256((const __m256i *)(q + 128 * c + 32 * h));
                        const __m256i x0 =
                            _mm256_load_si256((const __m256i *)(xg + 64 * (2 * c) + 32 * h));
                        const __m256i x1 =
                            _mm256_load_si256((const __m256i *)(xg + 64 * (2 * c + 1) + 32 * h));
                        dot = _mm256_add_epi32(
                            dot, madd1(_mm256_maddubs_epi16(_mm256_and_si256(v, lo4), x0)));
                        dot = _mm256_add_epi32(
                            dot, madd1(_mm256_maddubs_epi16(
                                     _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4), x1)));
                    }
                }
                const __m256 dx = _mm256_load_ps((const float *)(xg + 512 + 32 * h));
                acc[b] = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(dot), dx), s, acc[b]);
                if (type == KSTT_WT_Q4_KR) /* - dmin * m_j * sx_j */
                    acc[b] = _mm256_fnmadd_ps(
                        mn, _mm256_load_ps((const float *)(xg + 704 + 32 * h)), acc[b]);
            }
        }
    }
    UNROLL
    for (int b = 0; b < B; b++)
        y[(long)b * ldy + r] = hsum(acc[b]);
}

#define DEFINE_MATMUL(NAME, TYPE)                                                                  \
    void NAME(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy, int batch,        \
              long r0, long r1, const kstt__ws *ws) {                                              \
        (void)x, (void)ldx;                                                                        \
        const size_t qrow = kstt__qxt_row_bytes((long)w->cols);                                    \
        for (int b0 = 0; b0 < batch; b0 += 8) {                                                    \
            const int B = batch - b0 < 8 ? batch - b0 : 8;                                         \
            const unsigned char *qb = (const unsigned char *)ws->buf + (size_t)b0 * qrow;          \
            float *yb = y + (long)b0 * ldy;                                                        \
            for (long r = r0; r < r1; r++) {                                                       \
                switch (B) {                                                                       \
                case 1:                                                                            \
                    row1(TYPE, w, r, 1, qb, qrow, yb, ldy);                                        \
                    break;                                                                         \
                case 2:                                                                            \
                    row1(TYPE, w, r, 2, qb, qrow, yb, ldy);                                        \
                    break;                                                                         \
                case 3:                                                                            \
                    row1(TYPE, w, r, 3, qb, qrow, yb, ldy);                                        \
                    break;                                                                         \
                case 4:                                                                            \
                    row1(TYPE, w, r, 4, qb, qrow, yb, ldy);                                        \
                    break;                                                                         \
                case 5:                                                                            \
                    row1(TYPE, w, r, 5, qb, qrow, yb, ldy);                                        \
                    break;                                                                         \
                case 6:                                                                            \
                    row1(TYPE, w, r, 6, qb, qrow, yb, ldy);                                        \
                    break;                                                                         \
                case 7:                                                                            \
                    row1(TYPE, w, r, 7, qb, qrow, yb, ldy);                                        \
                    break;                                                                         \
                default:                                                                           \
                    row1(TYPE, w, r, 8, qb, qrow, yb, ldy);                                        \
                    break;                                                                         \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_MATMUL(kstt__matmul_q8_0r_avx2, KSTT_WT_Q8_0R)
DEFINE_MATMUL(kstt__matmul_q4_0r_avx2, KSTT_WT_Q4_0R)
DEFINE_MATMUL(kstt__matmul_q4_kr_avx2, KSTT_WT_Q4_KR)
