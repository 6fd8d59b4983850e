/*
 * NEON f32 products (Mimi convolutions and transformer, f32 and bf16 panels):
 *     y[b * ldy + r] = sum_c W[r, c] * x[b * ldx + c]
 * One micro-kernel for every float weight type: a tile of 16 rows of W (4 q registers, lanes
 * over rows) times up to 4 batch rows keeps 16 accumulators; x is loaded 4 columns at a time
 * and fed by lane (fmla v.4s, v.4s, v.s[c]), so no broadcasts. The weights come from a panel
 * P[c][i] with column stride ps: the pre-packed 32-row panels (KSTT_WT_F32_PANEL /
 * BF16_PANEL, ps = 32, read in place, bf16 widened exactly with a shift), or a 16-row panel
 * packed on the stack per call from row-major f32 rows (4x4 transposes; pack_panel also widens
 * bf16 / f16 rows, unused: those row types go through bf16_neon.c's packing-free dots).
 *
 * Every output element is one lane summing in increasing c with FMAs from 0 (partial sums of
 * a K block pass through y in f32), so y[b, r] has the same bits for any batch size or row
 * range, and an f32 panel gives the bits of the f32 rows (the x86 kernels' contract).
 */
#include <arm_neon.h>
#include <string.h>

#include "kernels/arm/arm.h"

#define MR 16  /* rows per tile: 4 q registers */
#define NR 4   /* batch rows per tile: 16 accumulators */
#define KC 256 /* columns per K block when the batch needs several passes (16 KB of panel) */
#define PR KSTT_F32_PANEL_ROWS

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* 4 weights at element i of a panel: f32, or bf16 widened exactly (bf16 << 16). */
static ALWAYS_INLINE float32x4_t ld4(const void *P, size_t i, const int bf) {
    if (bf)
        return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t *)P + i), 16));
    return vld1q_f32((const float *)P + i);
}

/* t[j * MR + i] (j < nr, i < 16) += sum_{k < kc} P[k * ps + i] * x[j * ldx + k], one FMA
 * chain per element in increasing k. */
static ALWAYS_INLINE void ukr(const void *P, const long ps, const int bf, int kc, const float *x,
                              long ldx, float *t, const int nr) {
    float32x4_t acc[NR][4];
#pragma GCC unroll 4
    for (int j = 0; j < NR; j++)
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            if (j < nr)
                acc[j][q] = vld1q_f32(t + j * MR + 4 * q);
    int k = 0;
    for (; k + 4 <= kc; k += 4) {
        float32x4_t xv[NR];
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++)
            if (j < nr)
                xv[j] = vld1q_f32(x + (long)j * ldx + k);
#define KSTEP(C)                                                                                   \
    do {                                                                                           \
        const size_t e = (size_t)(k + C) * (size_t)ps;                                             \
        float32x4_t w[4];                                                                          \
        _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) w[q] = ld4(P, e + 4 * q, bf);          \
        _Pragma("GCC unroll 4") for (int j = 0; j < NR; j++) if (j < nr)                           \
            _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) acc[j][q] =                        \
                vfmaq_laneq_f32(acc[j][q], w[q], xv[j], C);                                        \
    } while (0)
        KSTEP(0);
        KSTEP(1);
        KSTEP(2);
        KSTEP(3);
#undef KSTEP
    }
    for (; k < kc; k++) {
        const size_t e = (size_t)k * (size_t)ps;
        float32x4_t w[4];
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            w[q] = ld4(P, e + 4 * q, bf);
#pragma GCC unroll 4
        for (int j = 0; j < NR; j++)
            if (j < nr) {
                const float32x4_t b = vld1q_dup_f32(x + (long)j * ldx + k);
#pragma GCC unroll 4
                for (int q = 0; q < 4; q++)
                    acc[j][q] = vfmaq_f32(acc[j][q], w[q], b);
            }
    }
#pragma GCC unroll 4
    for (int j = 0; j < NR; j++)
#pragma GCC unroll 4
        for (int q = 0; q < 4; q++)
            if (j < nr)
                vst1q_f32(t + j * MR + 4 * q, acc[j][q]);
}

typedef void (*ukr_fn)(const void *P, int kc, const float *x, long ldx, float *t);
#define UKR_DEF(N)                                                                                 \
    static void ukr_f16r_##N(const void *P, int kc, const float *x, long ldx, float *t) {          \
        ukr(P, MR, 0, kc, x, ldx, t, N);                                                           \
    }                                                                                              \
    static void ukr_p_##N(const void *P, int kc, const float *x, long ldx, float *t) {             \
        ukr(P, PR, 0, kc, x, ldx, t, N);                                                           \
    }                                                                                              \
    static void ukr_pb_##N(const void *P, int kc, const float *x, long ldx, float *t) {            \
        ukr(P, PR, 1, kc, x, ldx, t, N);                                                           \
    }
UKR_DEF(1)
UKR_DEF(2)
UKR_DEF(3)
UKR_DEF(4)
static const ukr_fn ukr_tab[3][NR + 1] = {
    {NULL, ukr_f16r_1, ukr_f16r_2, ukr_f16r_3, ukr_f16r_4}, /* stack panel (ps = 16), f32 */
    {NULL, ukr_p_1, ukr_p_2, ukr_p_3, ukr_p_4},             /* 32-row panels, f32 */
    {NULL, ukr_pb_1, ukr_pb_2, ukr_pb_3, ukr_pb_4},         /* 32-row panels, bf16 */
};

/* The tile buffer t[nr][16] <-> y rows [lo, hi) (relative to the tile's first row rb). */
static void tile_load(float *t, const float *y, long ldy, long rb, int nr, long lo, long hi,
                      int from_y) {
    memset(t, 0, sizeof(float) * MR * NR);
    if (!from_y)
        return;
    for (int j = 0; j < nr; j++)
        for (long i = lo; i < hi; i++)
            t[j * MR + i] = y[(long)j * ldy + rb + i];
}
static void tile_store(const float *t, float *y, long ldy, long rb, int nr, long lo, long hi) {
    for (int j = 0; j < nr; j++)
        for (long i = lo; i < hi; i++)
            y[(long)j * ldy + rb + i] = t[j * MR + i];
}

static ALWAYS_INLINE void transpose4(float32x4_t r[4]) {
    const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);
    const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);
    r[0] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[1] = vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
    r[2] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t0), vreinterpretq_f64_f32(t2)));
    r[3] = vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(t1), vreinterpretq_f64_f32(t3)));
}

/* Row-major weights: 0 f32, 1 bf16, 2 f16. */
static ALWAYS_INLINE float32x4_t ldrow4(const void *p, long c, const int ty) {
    if (ty == 1)
        return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16((const uint16_t *)p + c), 16));
    if (ty == 2)
        return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)p + c)));
    return vld1q_f32((const float *)p + c);
}
static ALWAYS_INLINE float ldrow1(const void *p, long c, const int ty) {
    if (ty == 1)
        return kstt__bf16_to_f32(((const uint16_t *)p)[c]);
    if (ty == 2)
        return kstt__f16_to_f32(((const uint16_t *)p)[c]);
    return ((const float *)p)[c];
}

/* P[k * MR + i] = W[r + i, k0 + k] widened to f32, for i < nrow, k < kc; zero for i >= nrow. */
static ALWAYS_INLINE void pack_panel(const kstt__wmat *w, long r, int nrow, long k0, int kc,
                                     float *P, const int ty) {
    const char *base = (const char *)w->data;
    for (int i0 = 0; i0 < MR; i0 += 4) {
        const void *rows[4];
        int valid[4];
        for (int i = 0; i < 4; i++) {
            valid[i] = i0 + i < nrow;
            rows[i] = base + (size_t)(r + (valid[i] ? i0 + i : 0)) * w->row_bytes;
        }
        int k = 0;
        for (; k + 4 <= kc; k += 4) {
            float32x4_t v[4];
            for (int i = 0; i < 4; i++)
                v[i] = valid[i] ? ldrow4(rows[i], k0 + k, ty) : vdupq_n_f32(0.0f);
            transpose4(v);
            for (int c = 0; c < 4; c++)
                vst1q_f32(P + (long)(k + c) * MR + i0, v[c]);
        }
        for (; k < kc; k++)
            for (int i = 0; i < 4; i++)
                P[(long)k * MR + i0 + i] = valid[i] ? ldrow1(rows[i], k0 + k, ty) : 0.0f;
    }
}

static void zero_out(float *y, long ldy, int batch, long r0, long r1) {
    for (int b = 0; b < batch; b++)
        for (long r = r0; r < r1; r++)
            y[(long)b * ldy + r] = 0.0f;
}

static ALWAYS_INLINE void matmul_rows(const kstt__wmat *w, const float *x, long ldx, float *y,
                                      long ldy, int batch, long r0, long r1, const int ty) {
    float P[KC * MR] __attribute__((aligned(64)));
    float t[NR * MR] __attribute__((aligned(64)));
    const long cols = (long)w->cols;
    if (batch <= 0 || r1 <= r0)
        return;
    if (cols == 0) {
        zero_out(y, ldy, batch, r0, r1);
        return;
    }
    for (long r = r0; r < r1; r += MR) {
        const int nrow = r1 - r < MR ? (int)(r1 - r) : MR;
        for (long k0 = 0; k0 < cols; k0 += KC) {
            const int kc = cols - k0 < KC ? (int)(cols - k0) : KC;
            pack_panel(w, r, nrow, k0, kc, P, ty);
            for (int b = 0; b < batch; b += NR) {
                const int nr = batch - b < NR ? batch - b : NR;
                float *yb = y + (long)b * ldy;
                tile_load(t, yb, ldy, r, nr, 0, nrow, k0 > 0);
                ukr_tab[0][nr](P, kc, x + (long)b * ldx + k0, ldx, t);
                tile_store(t, yb, ldy, r, nr, 0, nrow);
            }
        }
    }
}

void kstt__matmul_f32_neon(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                           int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    matmul_rows(w, x, ldx, y, ldy, batch, r0, r1, 0);
}

/* Pre-packed 32-row panels, read in place as two 16-row tiles. With at most NR batch rows the
 * whole K range is one pass (no K blocking: the panel is streamed once). */
static void matmul_panel(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                         int batch, long r0, long r1, const int bf) {
    float t[NR * MR] __attribute__((aligned(64)));
    const long cols = (long)w->cols;
    if (batch <= 0 || r1 <= r0)
        return;
    if (cols == 0) {
        zero_out(y, ldy, batch, r0, r1);
        return;
    }
    const char *base = (const char *)w->data;
    const size_t esz = bf ? 2 : 4;
    const long kcb = batch <= NR ? cols : KC;
    for (long rb = r0 / MR * MR; rb < r1; rb += MR) {
        const long lo = r0 > rb ? r0 - rb : 0, hi = r1 - rb < MR ? r1 - rb : MR;
        const char *P = base + (size_t)(rb / PR) * w->row_bytes + (size_t)(rb % PR) * esz;
        for (long k0 = 0; k0 < cols; k0 += kcb) {
            const int kc = (int)(cols - k0 < kcb ? cols - k0 : kcb);
            const char *Pk = P + (size_t)k0 * PR * esz;
            for (int b = 0; b < batch; b += NR) {
                const int nr = batch - b < NR ? batch - b : NR;
                float *yb = y + (long)b * ldy;
                tile_load(t, yb, ldy, rb, nr, lo, hi, k0 > 0);
                ukr_tab[bf ? 2 : 1][nr](Pk, kc, x + (long)b * ldx + k0, ldx, t);
                tile_store(t, yb, ldy, rb, nr, lo, hi);
            }
        }
    }
}

void kstt__matmul_f32_panel_neon(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                                 int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    matmul_panel(w, x, ldx, y, ldy, batch, r0, r1, 0);
}

void kstt__matmul_bf16_panel_neon(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                                  int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    matmul_panel(w, x, ldx, y, ldy, batch, r0, r1, 1);
}

/* ---- int8 rows with one f32 scale (KSTT_WT_I8S) --------------------------------------- */

static ALWAYS_INLINE void i8s_rows(const int8_t *q, long n, const float *x, long ldx, float *acc,
                                   const int nb) {
    float32x4_t a[4][4];
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
#pragma GCC unroll 4
        for (int u = 0; u < 4; u++)
            a[j][u] = vdupq_n_f32(0.0f);
    long c = 0;
    for (; c + 16 <= n; c += 16) {
        const int8x16_t v = vld1q_s8(q + c);
        const int16x8_t lo = vmovl_s8(vget_low_s8(v)), hi = vmovl_high_s8(v);
        float32x4_t wf[4];
        wf[0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo)));
        wf[1] = vcvtq_f32_s32(vmovl_high_s16(lo));
        wf[2] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi)));
        wf[3] = vcvtq_f32_s32(vmovl_high_s16(hi));
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (j < nb)
#pragma GCC unroll 4
                for (int u = 0; u < 4; u++)
                    a[j][u] = vfmaq_f32(a[j][u], wf[u], vld1q_f32(x + (long)j * ldx + c + 4 * u));
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++)
        if (j < nb) {
            float s =
                vaddvq_f32(vaddq_f32(vaddq_f32(a[j][0], a[j][1]), vaddq_f32(a[j][2], a[j][3])));
            for (long cc = c; cc < n; cc++)
                s += (float)q[cc] * x[(long)j * ldx + cc];
            acc[j] = s;
        }
}

void kstt__matmul_i8s_neon(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                           int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    const long n = (long)w->cols;
    for (long r = r0; r < r1; r++) {
        const char *row = (const char *)w->data + (size_t)r * w->row_bytes;
        float s;
        memcpy(&s, row, sizeof s);
        const int8_t *q = (const int8_t *)(row + sizeof(float));
        for (int b = 0; b < batch; b += 4) {
            float acc[4];
            const float *xb = x + (long)b * ldx;
            switch (batch - b) {
            case 1:
                i8s_rows(q, n, xb, ldx, acc, 1);
                break;
            case 2:
                i8s_rows(q, n, xb, ldx, acc, 2);
                break;
            case 3:
                i8s_rows(q, n, xb, ldx, acc, 3);
                break;
            default:
                i8s_rows(q, n, xb, ldx, acc, 4);
                break;
            }
            const int nb = batch - b < 4 ? batch - b : 4;
            for (int j = 0; j < nb; j++)
                y[(long)(b + j) * ldy + r] = s * acc[j];
        }
    }
}

/* ---- dot, axpy ------------------------------------------------------------------------ */

float kstt__dot_f32_neon(const float *a, const float *b, long n) {
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4)
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

void kstt__axpy_f32_neon(float a, const float *x, float *y, long n) {
    const float32x4_t va = vdupq_n_f32(a);
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_f32(y + i, vfmaq_f32(vld1q_f32(y + i), va, vld1q_f32(x + i)));
        vst1q_f32(y + i + 4, vfmaq_f32(vld1q_f32(y + i + 4), va, vld1q_f32(x + i + 4)));
    }
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vfmaq_f32(vld1q_f32(y + i), va, vld1q_f32(x + i)));
    for (; i < n; i++)
        y[i] = __builtin_fmaf(a, x[i], y[i]);
}
