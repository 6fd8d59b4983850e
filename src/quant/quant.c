/*
 * Quantise / dequantise the ggml block formats (layouts in quant.h).
 *
 * q8_0 and q4_0 search each block's scale for the lowest squared error (search_scale below);
 * the _maxscale variants keep the published reference rounding (q8_0 d = max|x| / 127, q
 * rounded to nearest; q4_0 d = (the element of largest magnitude, signed) / -8, q = x / d + 8.5
 * truncated and clamped to 15, so that the extreme element maps exactly to -8). Either way the
 * block holds one f16 scale and the levels, so any GGUF reader decodes it.
 * q4_K is our own search (the format, not the algorithm, is what tools need): per sub-block
 * an affine fit x ~ s * q - m (q in 0..15, m >= 0) from the min/max range refined by a few
 * rounds of least squares, then the eight
 * scales and mins are quantised to 6 bits against the super-block's d and dmin and the
 * nibbles recomputed with the scales actually stored.
 */
#include "quant/quant.h"

#include <math.h>
#include <string.h>

static inline float level(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (float)(int)(v + copysignf(0.5f, v));
}

/* Sums of x q and q q over a block of n (a multiple of 8) with q the levels of x * is: eight
 * independent partial sums per quantity, which the compiler can keep in vector registers
 * (a single running float sum is an ordered reduction it must not reorder). */
static void level_sums(const float *x, int n, float is, float lo, float hi, float *sxq,
                       float *sqq) {
    float a[8] = {0}, b[8] = {0};
    for (int j = 0; j < n; j += 8) {
        for (int k = 0; k < 8; k++) {
            const float q = level(x[j + k] * is, lo, hi);
            a[k] += x[j + k] * q;
            b[k] += q * q;
        }
    }
    *sxq = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    *sqq = ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]));
}

/* Squared error of a block of n values stored with scale d (already f16-rounded). */
static float block_err(const float *x, int n, float d, float lo, float hi) {
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    float e[8] = {0};
    for (int j = 0; j < n; j += 8) {
        for (int k = 0; k < 8; k++) {
            const float r = x[j + k] - d * level(x[j + k] * id, lo, hi);
            e[k] += r * r;
        }
    }
    return ((e[0] + e[1]) + (e[2] + e[3])) + ((e[4] + e[5]) + (e[6] + e[7]));
}

/* f16 rounding of a scale, as the block stores it. */
static inline float f16r(float d) {
    return kstt__f16_to_f32(kstt__f32_to_f16(d));
}

/* The lowest-squared-error scale for levels lo..hi of a block, among: the max-based scale
 * `d0` and a fan of candidate inverse scales (ends[e] + step * c) / extreme, c in
 * -ncand..ncand, each followed by the least-squares refit of d for its rounded levels
 * (d = sum x q / sum q^2) rounded to f16 as the block stores it. A candidate is scored by the
 * error of its own levels at that d (sum x^2 - 2 d sum x q + d^2 sum q^2: one pass per
 * candidate); the winner is then checked exactly against the max-based scale (block_err, with
 * the levels that will be stored: the nearest to x / d, never worse than the candidate's), so
 * the result is never worse than d0. This is the idea of ggml's make_qx_quants written for our
 * formats; the layouts and the meaning of d are unchanged, so files stay readable by every
 * GGUF tool. */
static float search_scale(const float *x, int n, float lo, float hi, float d0, float extreme,
                          const float *ends, int nends, int ncand, float step) {
    const float dm = f16r(d0);
    if (extreme == 0.0f)
        return dm;
    float sxx = 0.0f;
    for (int j = 0; j < n; j++)
        sxx += x[j] * x[j];
    float best_d = dm, best_s = INFINITY;
    for (int e = 0; e < nends; e++) {
        for (int c = -ncand; c <= ncand; c++) {
            const float is = (ends[e] + step * (float)c) / extreme;
            float sxq, sqq;
            level_sums(x, n, is, lo, hi, &sxq, &sqq);
            if (!(sqq > 0.0f))
                continue;
            const float d = f16r(sxq / sqq), score = sxx - 2.0f * d * sxq + d * d * sqq;
            if (score < best_s) {
                best_s = score;
                best_d = d;
            }
        }
    }
    return best_d == dm || block_err(x, n, best_d, lo, hi) < block_err(x, n, dm, lo, hi) ? best_d
                                                                                         : dm;
}

/* ---- q8_0 ------------------------------------------------------------------------------ */

/* Levels are kept in -127..127 (never -128), as ggml's quantiser does: kernels that take
 * |q| and move the sign to the other operand (the AVX2 sign trick) rely on it. */
static void store_q8_0(const float *x, float d, kstt__block_q8_0 *b) {
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = kstt__f32_to_f16(d);
    for (int j = 0; j < KSTT_QK8_0; j++)
        b->qs[j] = (int8_t)level(x[j] * id, -127.0f, 127.0f);
}

void kstt__quantize_q8_0_maxscale(const float *x, void *dst, int64_t n) {
    kstt__block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / KSTT_QK8_0; i++, x += KSTT_QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < KSTT_QK8_0; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
        b[i].d = kstt__f32_to_f16(d);
        for (int j = 0; j < KSTT_QK8_0; j++)
            b[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

/* q8_0 search: inverse scales (127 + 0.25 i) / amax for i in -Q8_SEARCH..Q8_SEARCH (9
 * candidates), a narrow fan that clips the extreme by at most one level. Measured on 2M
 * Gaussian values (weights' relative RMS error; ns per element, one thread): max-based
 * 0.536 % (4 ns), this 0.499 % (~10 ns). Wider fans lower the weights' error further (17
 * candidates at steps of 1: 0.474 %) by clipping the largest weights by several levels, but on
 * the trained demo model that made the logits worse (weights-only logit error 0.43 % against
 * 0.39 % for this fan and 0.40 % max-based): the large weights of a trained matrix carry more
 * than their share of the product, which squared error on the weights alone does not see. */
#define Q8_SEARCH 4
#define Q8_STEP 0.25f

void kstt__quantize_q8_0(const float *x, void *dst, int64_t n) {
    kstt__block_q8_0 *b = dst;
    static const float ends[1] = {127.0f};
    for (int64_t i = 0; i < n / KSTT_QK8_0; i++, x += KSTT_QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < KSTT_QK8_0; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        const float d = search_scale(x, KSTT_QK8_0, -127.0f, 127.0f, amax / 127.0f, amax, ends, 1,
                                     Q8_SEARCH, Q8_STEP);
        store_q8_0(x, d, &b[i]);
    }
}

static void dequantize_q8_0(const kstt__block_q8_0 *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / KSTT_QK8_0; i++) {
        const float d = kstt__f16_to_f32(b[i].d);
        for (int j = 0; j < KSTT_QK8_0; j++)
            *y++ = d * (float)b[i].qs[j];
    }
}

/* ---- q4_0 ------------------------------------------------------------------------------ */

static void store_q4_0(const float *x, float d, kstt__block_q4_0 *b) {
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b->d = kstt__f32_to_f16(d);
    for (int j = 0; j < KSTT_QK4_0 / 2; j++) {
        const int q0 = (int)level(x[j] * id, -8.0f, 7.0f) + 8;
        const int q1 = (int)level(x[j + 16] * id, -8.0f, 7.0f) + 8;
        b->qs[j] = (uint8_t)(q0 | (q1 << 4));
    }
}

/* The signed element of largest magnitude. */
static float signed_max(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

void kstt__quantize_q4_0_maxscale(const float *x, void *dst, int64_t n) {
    kstt__block_q4_0 *b = dst;
    for (int64_t i = 0; i < n / KSTT_QK4_0; i++, x += KSTT_QK4_0) {
        const float max = signed_max(x, KSTT_QK4_0);
        const float d = max / -8.0f, id = d ? 1.0f / d : 0.0f;
        b[i].d = kstt__f32_to_f16(d);
        for (int j = 0; j < KSTT_QK4_0 / 2; j++) {
            int q0 = (int)(x[j] * id + 8.5f), q1 = (int)(x[j + 16] * id + 8.5f);
            q0 = q0 < 0 ? 0 : q0 > 15 ? 15 : q0;
            q1 = q1 < 0 ? 0 : q1 > 15 ? 15 : q1;
            b[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

/* q4_0 search: the extreme element mapped near level -8 (inverse scales -(8 + 0.5 i) / max)
 * and near level +7 ((7 + 0.5 i) / max, which leaves -8 to the other side), i in
 * -Q4_SEARCH..Q4_SEARCH (14 candidates): at 4 bits clipping the extreme a little often buys a
 * finer step for the other 31 values. Measured on 2M Gaussian values: max-based 8.59 % (2 ns
 * per element), this 8.11 % (13 ns); 26 candidates at steps of 0.25 8.09 % (29 ns), 66 at
 * 0.125 8.085 % (53 ns): the fan is past its knee. Uniform values: 6.50 % -> 5.89 %. */
#define Q4_SEARCH 3
#define Q4_STEP 0.5f

void kstt__quantize_q4_0(const float *x, void *dst, int64_t n) {
    kstt__block_q4_0 *b = dst;
    static const float ends[2] = {-8.0f, 7.0f};
    for (int64_t i = 0; i < n / KSTT_QK4_0; i++, x += KSTT_QK4_0) {
        const float max = signed_max(x, KSTT_QK4_0);
        const float d =
            search_scale(x, KSTT_QK4_0, -8.0f, 7.0f, max / -8.0f, max, ends, 2, Q4_SEARCH, Q4_STEP);
        store_q4_0(x, d, &b[i]);
    }
}

static void dequantize_q4_0(const kstt__block_q4_0 *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / KSTT_QK4_0; i++, y += KSTT_QK4_0) {
        const float d = kstt__f16_to_f32(b[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)((b[i].qs[j] & 0xF) - 8);
            y[j + 16] = d * (float)((b[i].qs[j] >> 4) - 8);
        }
    }
}

/* ---- q4_K ------------------------------------------------------------------------------ */

/* q4_K search effort: starting ranges and least-squares refinements per sub-block. Measured on
 * uniform data: 6 ranges x 4 refinements 5.44% RMS error at 100 ns/element, 1 x 3 5.66% at
 * 13 ns/element (the 1B model's matrices in ~6 s on 2 threads instead of ~40 s). The 6-bit
 * scale/min pair search (best_pair) then takes 1 x 3 to 5.49 % (Gaussian: 7.38 % -> 7.14 %)
 * at ~30 ns/element; a radius of 2 gives 5.42 % / 7.06 % at ~55 ns/element. */
#define Q4K_CANDIDATES 1
#define Q4K_ITERS 3

static inline int clamp15(float v) {
    const float c = v < 0.0f ? 0.0f : v > 15.0f ? 15.0f : v;
    return (int)(c + 0.5f);
}

/* Affine fit of 32 values: x ~ s * q - m with q in 0..15, s >= 0, m >= 0. */
static void fit_sub_block(const float *x, float *s_out, float *m_out) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < 32; j++) {
        mn = fminf(mn, x[j]);
        mx = fmaxf(mx, x[j]);
    }
    if (mn > 0.0f)
        mn = 0.0f;
    if (mx <= mn) {
        *s_out = 0.0f;
        *m_out = -mn;
        return;
    }
    float best_s = (mx - mn) / 15.0f, best_m = -mn, best_err = INFINITY;
    /* a few starting ranges (the extremes often deserve less than a full step), each refined
     * by alternating rounding and a least-squares fit of s and m */
    static const float den[Q4K_CANDIDATES] = {15.0f};
    for (int cand = 0; cand < Q4K_CANDIDATES; cand++) {
        float s = (mx - mn) / den[cand];
        float m = -mn;
        for (int it = 0; it < Q4K_ITERS; it++) {
            const float is = s > 0 ? 1.0f / s : 0.0f;
            float sq = 0, sqq = 0, sx = 0, sxq = 0;
            for (int j = 0; j < 32; j++) {
                const float q = (float)clamp15((x[j] + m) * is);
                sq += q;
                sqq += q * q;
                sx += x[j];
                sxq += x[j] * q;
            }
            const float det = 32.0f * sqq - sq * sq;
            if (det <= 0.0f)
                break;
            float ns = (32.0f * sxq - sq * sx) / det, nm = (sq * sxq - sqq * sx) / det;
            if (nm < 0.0f) { /* min must stay >= 0: refit the scale alone */
                nm = 0.0f;
                ns = sqq > 0 ? sxq / sqq : 0.0f;
            }
            if (!(ns > 0.0f))
                break;
            s = ns;
            m = nm;
        }
        const float is = s > 0 ? 1.0f / s : 0.0f;
        float err = 0.0f;
        for (int j = 0; j < 32; j++) {
            const float e = s * (float)clamp15((x[j] + m) * is) - m - x[j];
            err += e * e;
        }
        if (err < best_err) {
            best_err = err;
            best_s = s;
            best_m = m;
        }
    }
    *s_out = best_s;
    *m_out = best_m;
}

/* Squared error of a sub-block of 32 stored with scale S and offset M (value S * q - M), the
 * nibbles being the nearest levels. */
static float sub_block_err(const float *x, float S, float M) {
    const float iS = S > 0 ? 1.0f / S : 0.0f;
    float e[8] = {0};
    for (int l = 0; l < 32; l += 8) {
        for (int k = 0; k < 8; k++) {
            const float r = S * (float)clamp15((x[l + k] + M) * iS) - M - x[l + k];
            e[k] += r * r;
        }
    }
    return ((e[0] + e[1]) + (e[2] + e[3])) + ((e[4] + e[5]) + (e[6] + e[7]));
}

/* The 6-bit scale and min of sub-block x, given the super-block's d and dmin: rounding the
 * fitted s / d and m / dmin to the nearest integers is not the best pair once both are coarse
 * (at 6 bits a step of either moves every value of the sub-block), so the pairs within
 * Q4K_PAIR of the rounded one are scored and the best kept (the rounded pair included). */
#define Q4K_PAIR 1
static void best_pair(const float *x, float d, float dmin, int a0, int c0, uint8_t *sc,
                      uint8_t *mq) {
    int ba = a0, bc = c0;
    float be = sub_block_err(x, d * (float)a0, dmin * (float)c0);
    for (int a = a0 - Q4K_PAIR; a <= a0 + Q4K_PAIR; a++) {
        for (int c = c0 - Q4K_PAIR; c <= c0 + Q4K_PAIR; c++) {
            if (a < 0 || a > 63 || c < 0 || c > 63 || (a == a0 && c == c0))
                continue;
            const float e = sub_block_err(x, d * (float)a, dmin * (float)c);
            if (e < be) {
                be = e;
                ba = a;
                bc = c;
            }
        }
    }
    *sc = (uint8_t)ba;
    *mq = (uint8_t)bc;
}

void kstt__quantize_q4_K(const float *x, void *dst, int64_t n) {
    kstt__block_q4_K *b = dst;
    for (int64_t i = 0; i < n / KSTT_QK_K; i++, x += KSTT_QK_K) {
        float s[8], m[8], smax = 0.0f, mmax = 0.0f;
        for (int j = 0; j < 8; j++) {
            fit_sub_block(x + 32 * j, &s[j], &m[j]);
            smax = fmaxf(smax, s[j]);
            mmax = fmaxf(mmax, m[j]);
        }
        const uint16_t dh = kstt__f32_to_f16(smax / 63.0f), mh = kstt__f32_to_f16(mmax / 63.0f);
        const float d = kstt__f16_to_f32(dh), dmin = kstt__f16_to_f32(mh);
        uint8_t sc[8], mq[8];
        for (int j = 0; j < 8; j++) {
            int a = d > 0 ? (int)lrintf(s[j] / d) : 0, c = dmin > 0 ? (int)lrintf(m[j] / dmin) : 0;
            best_pair(x + 32 * j, d, dmin,
                      a < 0    ? 0
                      : a > 63 ? 63
                               : a,
                      c < 0    ? 0
                      : c > 63 ? 63
                               : c,
                      &sc[j], &mq[j]);
        }
        b[i].d = dh;
        b[i].dmin = mh;
        memset(b[i].scales, 0, sizeof b[i].scales);
        for (int j = 0; j < 4; j++) {
            b[i].scales[j] = (uint8_t)(sc[j] | ((sc[j + 4] >> 4) << 6));
            b[i].scales[j + 4] = (uint8_t)(mq[j] | ((mq[j + 4] >> 4) << 6));
            b[i].scales[j + 8] = (uint8_t)((sc[j + 4] & 0xF) | ((mq[j + 4] & 0xF) << 4));
        }
        uint8_t q[KSTT_QK_K];
        for (int j = 0; j < 8; j++) {
            const float S = d * (float)sc[j], M = dmin * (float)mq[j], iS = S > 0 ? 1.0f / S : 0;
            for (int l = 0; l < 32; l++)
                q[32 * j + l] = S > 0 ? (uint8_t)clamp15((x[32 * j + l] + M) * iS) : 0;
        }
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++)
                b[i].qs[32 * c + l] = (uint8_t)(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
    }
}

static void dequantize_q4_K(const kstt__block_q4_K *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / KSTT_QK_K; i++, y += KSTT_QK_K) {
        const float d = kstt__f16_to_f32(b[i].d), dmin = kstt__f16_to_f32(b[i].dmin);
        for (int c = 0; c < 4; c++) {
            uint8_t sc0, m0, sc1, m1;
            kstt__q4k_scale_min(2 * c, b[i].scales, &sc0, &m0);
            kstt__q4k_scale_min(2 * c + 1, b[i].scales, &sc1, &m1);
            const float d0 = d * sc0, o0 = dmin * m0, d1 = d * sc1, o1 = dmin * m1;
            for (int l = 0; l < 32; l++) {
                y[64 * c + l] = d0 * (float)(b[i].qs[32 * c + l] & 0xF) - o0;
                y[64 * c + 32 + l] = d1 * (float)(b[i].qs[32 * c + l] >> 4) - o1;
            }
        }
    }
}

/* ---- any type: the traits table ------------------------------------------------------ */

static void f32_to_f32(const void *src, float *y, int64_t n) {
    memcpy(y, src, (size_t)n * sizeof(float));
}
static void f32_from_f32(const float *x, void *dst, int64_t n) {
    memcpy(dst, x, (size_t)n * sizeof(float));
}
static void bf16_to_f32(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        y[i] = kstt__bf16_to_f32(((const uint16_t *)src)[i]);
}
static void bf16_from_f32(const float *x, void *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        ((uint16_t *)dst)[i] = kstt__f32_to_bf16(x[i]);
}
static void f16_to_f32(const void *src, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        y[i] = kstt__f16_to_f32(((const uint16_t *)src)[i]);
}
static void f16_from_f32(const float *x, void *dst, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        ((uint16_t *)dst)[i] = kstt__f32_to_f16(x[i]);
}
static void q8_0_to_f32(const void *src, float *y, int64_t n) {
    dequantize_q8_0(src, y, n);
}
static void q4_0_to_f32(const void *src, float *y, int64_t n) {
    dequantize_q4_0(src, y, n);
}
static void q4_K_to_f32(const void *src, float *y, int64_t n) {
    dequantize_q4_K(src, y, n);
}

static const kstt__wtype_traits g_traits[KSTT_WT_NTYPES] = {
    [KSTT_WT_F32] = {"f32", 1, 4, KSTT_WT_F32, KSTT_WT_F32, KSTT_ACT_F32, f32_to_f32, f32_from_f32},
    /* the bf16 products read x as given; the workspace serves the optional bf16_dot entry */
    [KSTT_WT_BF16] = {"bf16", 1, 2, KSTT_WT_BF16, KSTT_WT_BF16, KSTT_ACT_BF16, bf16_to_f32,
                      bf16_from_f32},
    [KSTT_WT_F16] = {"f16", 1, 2, KSTT_WT_F16, KSTT_WT_F16, KSTT_ACT_F32, f16_to_f32, f16_from_f32},
    [KSTT_WT_Q8_0] = {"q8_0", KSTT_QK8_0, sizeof(kstt__block_q8_0), KSTT_WT_Q8_0, KSTT_WT_Q8_0R,
                      KSTT_ACT_Q8, q8_0_to_f32, kstt__quantize_q8_0},
    [KSTT_WT_Q4_0] = {"q4_0", KSTT_QK4_0, sizeof(kstt__block_q4_0), KSTT_WT_Q4_0, KSTT_WT_Q4_0R,
                      KSTT_ACT_Q8, q4_0_to_f32, kstt__quantize_q4_0},
    [KSTT_WT_Q4_K] = {"q4_k", KSTT_QK_K, sizeof(kstt__block_q4_K), KSTT_WT_Q4_K, KSTT_WT_Q4_KR,
                      KSTT_ACT_Q8, q4_K_to_f32, kstt__quantize_q4_K},
    [KSTT_WT_Q8_0R] = {"q8_0r", 0, 0, KSTT_WT_Q8_0, KSTT_WT_Q8_0R, KSTT_ACT_Q8T, NULL, NULL},
    [KSTT_WT_Q4_0R] = {"q4_0r", 0, 0, KSTT_WT_Q4_0, KSTT_WT_Q4_0R, KSTT_ACT_Q8T, NULL, NULL},
    [KSTT_WT_F32_PANEL] = {"f32_panel", 0, 0, KSTT_WT_F32_PANEL, KSTT_WT_F32_PANEL, KSTT_ACT_F32,
                           NULL, NULL},
    [KSTT_WT_BF16_PANEL] = {"bf16_panel", 0, 0, KSTT_WT_BF16_PANEL, KSTT_WT_BF16_PANEL,
                            KSTT_ACT_F32, NULL, NULL},
    [KSTT_WT_I8S] = {"i8s", 0, 0, KSTT_WT_I8S, KSTT_WT_I8S, KSTT_ACT_F32, NULL, NULL},
    [KSTT_WT_Q4_KR] = {"q4_kr", 0, 0, KSTT_WT_Q4_K, KSTT_WT_Q4_KR, KSTT_ACT_Q8T, NULL, NULL},
    [KSTT_WT_Q8_0X] = {"q8_0x", 0, 0, KSTT_WT_Q8_0, KSTT_WT_Q8_0X, KSTT_ACT_Q8A, NULL, NULL},
    [KSTT_WT_BF16X] = {"bf16x", 0, 0, KSTT_WT_BF16X, KSTT_WT_BF16X, KSTT_ACT_F32, NULL, NULL},
};
static const kstt__wtype_traits g_none = {"?",          0,    0,   KSTT_WT_NTYPES, KSTT_WT_NTYPES,
                                          KSTT_ACT_F32, NULL, NULL};

const kstt__wtype_traits *kstt__wtype_info(kstt__wtype t) {
    return (unsigned)t < KSTT_WT_NTYPES && g_traits[t].name ? &g_traits[t] : &g_none;
}

int kstt__wtype_block_elems(kstt__wtype t) {
    return kstt__wtype_info(t)->block_elems;
}

size_t kstt__wtype_block_bytes(kstt__wtype t) {
    return kstt__wtype_info(t)->block_bytes;
}

size_t kstt__wtype_row_bytes(kstt__wtype t, int64_t cols) {
    const int be = kstt__wtype_block_elems(t);
    if (be <= 0 || cols < 0 || cols % be)
        return 0;
    return (size_t)(cols / be) * kstt__wtype_block_bytes(t);
}

const char *kstt__wtype_name(kstt__wtype t) {
    return (unsigned)t < KSTT_WT_COUNT ? g_traits[t].name : "?";
}

int kstt__wtype_from_name(const char *s) {
    for (int i = 0; i < KSTT_WT_COUNT; i++)
        if (!strcmp(s, g_traits[i].name))
            return i;
    if (!strcmp(s, "q4_K"))
        return KSTT_WT_Q4_K;
    return -1;
}

void kstt__quantize_row(kstt__wtype t, const float *x, void *dst, int64_t n) {
    const kstt__wtype_traits *tr = kstt__wtype_info(t);
    if (tr->from_f32)
        tr->from_f32(x, dst, n);
}

void kstt__dequantize_row(kstt__wtype t, const void *src, float *y, int64_t n) {
    const kstt__wtype_traits *tr = kstt__wtype_info(t);
    if (tr->to_f32)
        tr->to_f32(src, y, n);
}

void kstt__wmat_row_f32(const kstt__wmat *w, int64_t r, float *dst) {
    kstt__dequantize_row(w->type, (const char *)w->data + (size_t)r * w->row_bytes, dst, w->cols);
}

void kstt__quantize_i8_row(const float *x, int8_t *q, float *d, int64_t n) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++)
        amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    *d = amax / 127.0f;
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    /* round to nearest even by the 1.5 * 2^23 shift (|x * inv| <= 127): nearbyintf's result in
     * the default rounding mode, without a libm call per element. The KV ring's hot path is the
     * kernel table's quantize_i8_row, which gives these bits. */
    const float magic = 12582912.0f;
    for (int64_t i = 0; i < n; i++) {
        const float v = (x[i] * inv + magic) - magic;
        q[i] = (int8_t)(v >= -127.0f && v <= 127.0f ? v : 0.0f); /* NaN, infinite rows: 0 */
    }
}
