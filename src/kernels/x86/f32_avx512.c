/*
 * AVX-512 f32 products (Mimi convolutions and transformer): a register-blocked GEMM for
 *     y[b * ldy + r] = sum_c W[r, c] * x[b * ldx + c]
 * with W row-major [rows, cols] (kstt__wmat, KSTT_WT_F32) and x, y time-major.
 *
 * Shape of the computation. Lanes run over output rows: a block of 32 rows of W is packed,
 * transposed, into a panel P[c][32] (on the stack, KC columns at a time), and the micro-kernel
 * keeps a 32 x NR tile of y in 2 * NR zmm accumulators: per column c it loads the two halves
 * of P[c] and broadcasts x[b, c] of NR batch rows (embedded-broadcast FMAs). No im2col: the
 * batch rows of x are read in place with stride ldx, which is what makes a strided
 * convolution over time-major input a plain call.
 *
 * Exactness across call shapes. Every output element is one accumulator lane that sums
 * W[r, c] * x[b, c] in increasing c with fused multiply-adds, starting from 0; partial sums of
 * a K block go through y in f32 and are reloaded, which does not change the sequence. Row and
 * column tails use masks and the same FMA sequence, so the value of y[b, r] does not depend on
 * the batch size, on where a thread's row range starts or on the tail handling. This is what
 * lets the Mimi stream give bit-identical codes for any chunking.
 */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "kernels/x86/x86.h"

#define MR 32  /* rows per panel: two zmm */
#define NR 12  /* batch rows per micro-tile: 24 accumulators */
#define KC 256 /* columns per packed block: 32 KB panel */

#define ALWAYS_INLINE inline __attribute__((always_inline))

static ALWAYS_INLINE __mmask16 mask_n(int n) {
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* 16 x 16 transpose in registers: r[i] holds row i on entry, column i on exit. */
static ALWAYS_INLINE void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xee);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
/* u[4q + j] holds, in each 128-bit lane L, column (4L + j) of rows 4q..4q+3. */
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        t[j] = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);     /* lanes 0,2 of q0 | q1 */
        t[4 + j] = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xdd); /* lanes 1,3 */
        t[8 + j] = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
        t[12 + j] = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xdd);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);           /* columns j */
        r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xdd);       /* columns 8 + j */
        r[4 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0x88);  /* columns 4 + j */
        r[12 + j] = _mm512_shuffle_f32x4(t[4 + j], t[12 + j], 0xdd); /* columns 12 + j */
    }
}

/* P[k * MR + i] = W[r + i, k0 + k] for i < mr, k < kc; zero for rows i >= mr. */
static void pack_panel(const kstt__wmat *w, long r, int mr, long k0, int kc, float *P) {
    const char *base = (const char *)w->data;
    for (int i0 = 0; i0 < MR; i0 += 16) {
        const int nrow = mr - i0 < 16 ? (mr - i0 > 0 ? mr - i0 : 0) : 16;
        if (nrow == 0) {
            for (int k = 0; k < kc; k++)
                _mm512_store_ps(P + (long)k * MR + i0, _mm512_setzero_ps());
            continue;
        }
        const float *rows[16];
        for (int i = 0; i < 16; i++)
            rows[i] =
                (const float *)(base + (size_t)(r + i0 + (i < nrow ? i : 0)) * w->row_bytes) + k0;
        for (int k = 0; k < kc; k += 16) {
            const __mmask16 mk = mask_n(kc - k);
            __m512 v[16];
            /* the rows stream from memory: fetch 8 lines ahead of each */
            for (int i = 0; i < nrow; i++)
                _mm_prefetch((const char *)(rows[i] + k) + 512, _MM_HINT_T0);
            for (int i = 0; i < 16; i++)
                v[i] = i < nrow ? _mm512_maskz_loadu_ps(mk, rows[i] + k) : _mm512_setzero_ps();
            transpose16(v);
            const int nk = kc - k < 16 ? kc - k : 16;
            for (int j = 0; j < nk; j++)
                _mm512_store_ps(P + (long)(k + j) * MR + i0, v[j]);
        }
    }
}

/* 16 weights of a panel at element i: f32, or bf16 (bf) widened exactly to f32. */
static ALWAYS_INLINE __m512 ld16(const void *P, size_t i, const int bf) {
    if (bf)
        return _mm512_castsi512_ps(_mm512_slli_epi32(
            _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)P + i))),
            16));
    return _mm512_load_ps((const float *)P + i);
}

#define UKR_PF 2048 /* bytes of panel prefetched ahead by the micro-kernel */

/* One 32 x nr tile (halves = 2) or 16 x nr tile (halves = 1) over panel P of f32 or bf16 (bf)
 * weights. nr, halves and bf are compile-time constants in every instantiation, so the
 * accumulators live in registers. */
static ALWAYS_INLINE void ukr(const void *P, const int bf, int kc, const float *x, long ldx,
                              float *y, long ldy, const int nr, const int halves, int load_y,
                              __mmask16 m0, __mmask16 m1) {
    __m512 c0[NR], c1[NR];
#pragma GCC unroll 12
    for (int j = 0; j < NR; j++) {
        if (j < nr) {
            if (load_y) {
                c0[j] = _mm512_maskz_loadu_ps(m0, y + (long)j * ldy);
                if (halves == 2)
                    c1[j] = _mm512_maskz_loadu_ps(m1, y + (long)j * ldy + 16);
            } else {
                c0[j] = _mm512_setzero_ps();
                if (halves == 2)
                    c1[j] = _mm512_setzero_ps();
            }
        }
    }
    const float *x0 = x, *x1 = x + 4 * ldx, *x2 = x + 8 * ldx;
    for (int k = 0; k < kc; k++) {
        /* the panel stream UKR_PF bytes ahead: batched Mimi reads ~100 MB of f32 weights a
         * frame, fetched while the FMAs run instead of after them (batch 8: -11 %) */
        _mm_prefetch((const char *)P + ((size_t)k * MR) * (bf ? 2 : 4) + UKR_PF, _MM_HINT_T0);
        if (!bf)
            _mm_prefetch((const char *)P + ((size_t)k * MR) * 4 + UKR_PF + 64, _MM_HINT_T0);
        const __m512 a0 = ld16(P, (size_t)k * MR, bf);
        const __m512 a1 = halves == 2 ? ld16(P, (size_t)k * MR + 16, bf) : a0;
#pragma GCC unroll 12
        for (int j = 0; j < NR; j++) {
            if (j < nr) {
                const float *xp = j < 4   ? x0 + (long)j * ldx
                                  : j < 8 ? x1 + (long)(j - 4) * ldx
                                          : x2 + (long)(j - 8) * ldx;
                const __m512 b = _mm512_set1_ps(xp[k]);
                c0[j] = _mm512_fmadd_ps(a0, b, c0[j]);
                if (halves == 2)
                    c1[j] = _mm512_fmadd_ps(a1, b, c1[j]);
            }
        }
    }
#pragma GCC unroll 12
    for (int j = 0; j < NR; j++) {
        if (j < nr) {
            _mm512_mask_storeu_ps(y + (long)j * ldy, m0, c0[j]);
            if (halves == 2)
                _mm512_mask_storeu_ps(y + (long)j * ldy + 16, m1, c1[j]);
        }
    }
}

typedef void (*ukr_fn)(const void *P, int kc, const float *x, long ldx, float *y, long ldy,
                       int load_y, __mmask16 m0, __mmask16 m1);

#define UKR_DEF(N)                                                                                 \
    static void ukr2_##N(const void *P, int kc, const float *x, long ldx, float *y, long ldy,      \
                         int load_y, __mmask16 m0, __mmask16 m1) {                                 \
        ukr(P, 0, kc, x, ldx, y, ldy, N, 2, load_y, m0, m1);                                       \
    }                                                                                              \
    static void ukr1_##N(const void *P, int kc, const float *x, long ldx, float *y, long ldy,      \
                         int load_y, __mmask16 m0, __mmask16 m1) {                                 \
        ukr(P, 0, kc, x, ldx, y, ldy, N, 1, load_y, m0, m1);                                       \
    }                                                                                              \
    static void ukr2b_##N(const void *P, int kc, const float *x, long ldx, float *y, long ldy,     \
                          int load_y, __mmask16 m0, __mmask16 m1) {                                \
        ukr(P, 1, kc, x, ldx, y, ldy, N, 2, load_y, m0, m1);                                       \
    }                                                                                              \
    static void ukr1b_##N(const void *P, int kc, const float *x, long ldx, float *y, long ldy,     \
                          int load_y, __mmask16 m0, __mmask16 m1) {                                \
        ukr(P, 1, kc, x, ldx, y, ldy, N, 1, load_y, m0, m1);                                       \
    }
UKR_DEF(1)
UKR_DEF(2)
UKR_DEF(3)
UKR_DEF(4)
UKR_DEF(5)
UKR_DEF(6)
UKR_DEF(7)
UKR_DEF(8)
UKR_DEF(9)
UKR_DEF(10)
UKR_DEF(11)
UKR_DEF(12)

static const ukr_fn ukr2_tab[NR + 1] = {NULL,   ukr2_1, ukr2_2, ukr2_3,  ukr2_4,  ukr2_5, ukr2_6,
                                        ukr2_7, ukr2_8, ukr2_9, ukr2_10, ukr2_11, ukr2_12};
static const ukr_fn ukr1_tab[NR + 1] = {NULL,   ukr1_1, ukr1_2, ukr1_3,  ukr1_4,  ukr1_5, ukr1_6,
                                        ukr1_7, ukr1_8, ukr1_9, ukr1_10, ukr1_11, ukr1_12};
static const ukr_fn ukr2b_tab[NR + 1] = {NULL,     ukr2b_1,  ukr2b_2, ukr2b_3, ukr2b_4,
                                         ukr2b_5,  ukr2b_6,  ukr2b_7, ukr2b_8, ukr2b_9,
                                         ukr2b_10, ukr2b_11, ukr2b_12};
static const ukr_fn ukr1b_tab[NR + 1] = {NULL,     ukr1b_1,  ukr1b_2, ukr1b_3, ukr1b_4,
                                         ukr1b_5,  ukr1b_6,  ukr1b_7, ukr1b_8, ukr1b_9,
                                         ukr1b_10, ukr1b_11, ukr1b_12};

/* Small batches (streaming: 1 or 2 time steps per call) are bound by reading W once from
 * memory; packing a panel and re-reading it would double the traffic. This path transposes
 * 16 x 16 blocks of W in registers and feeds them straight to the FMAs: the same per-lane
 * sequence of FMAs over increasing c as the micro-kernel, so the same bits. */
static ALWAYS_INLINE void small_step(const __m512 *v, const float *x, long ldx, long k, int nk,
                                     const int nb, __m512 *acc) {
#pragma GCC unroll 16
    for (int c = 0; c < 16; c++) {
        if (c < nk) {
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                if (j < nb)
                    acc[j] =
                        _mm512_fmadd_ps(v[c], _mm512_set1_ps(x[(long)j * ldx + k + c]), acc[j]);
        }
    }
}

/* Rows r .. r + nrow - 1 (nrow <= 16) for nb <= 4 batch rows. Lanes past nrow read row r
 * again (discarded at the store) so that no load needs a condition. */
static ALWAYS_INLINE void small_rows(const kstt__wmat *w, const float *x, long ldx, float *y,
                                     long ldy, const int nb, long r, int nrow) {
    const long cols = (long)w->cols;
    const size_t rb = w->row_bytes;
    const char *p0 = (const char *)w->data + (size_t)r * rb;
    size_t off[16];
    for (int i = 0; i < 16; i++)
        off[i] = (size_t)(i < nrow ? i : 0) * rb;
    __m512 acc[4];
    for (int j = 0; j < 4; j++)
        acc[j] = _mm512_setzero_ps();
    long k = 0;
    for (; k + 16 <= cols; k += 16) {
        __m512 v[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) {
            const float *q = (const float *)(p0 + off[i]) + k;
            _mm_prefetch((const char *)q + 512, _MM_HINT_T0);
            v[i] = _mm512_loadu_ps(q);
        }
        transpose16(v);
        small_step(v, x, ldx, k, 16, nb, acc);
    }
    if (k < cols) {
        const int nk = (int)(cols - k);
        const __mmask16 mk = mask_n(nk);
        __m512 v[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            v[i] = _mm512_maskz_loadu_ps(mk, (const float *)(p0 + off[i]) + k);
        transpose16(v);
        small_step(v, x, ldx, k, nk, nb, acc);
    }
    const __mmask16 m = mask_n(nrow);
    for (int j = 0; j < nb; j++)
        _mm512_mask_storeu_ps(y + (long)j * ldy + r, m, acc[j]);
}

#define SMALL_DEF(N)                                                                               \
    static void small_##N(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,       \
                          long r0, long r1) {                                                      \
        for (long r = r0; r < r1; r += 16)                                                         \
            small_rows(w, x, ldx, y, ldy, N, r, r1 - r < 16 ? (int)(r1 - r) : 16);                 \
    }
SMALL_DEF(1)
SMALL_DEF(2)
SMALL_DEF(3)
SMALL_DEF(4)

void kstt__matmul_f32_avx512(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                             int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    _Alignas(64) float P[KC * MR];
    const long cols = (long)w->cols;
    if (batch <= 0 || r1 <= r0)
        return;
    if (cols == 0) { /* empty sum */
        for (int b = 0; b < batch; b++)
            for (long r = r0; r < r1; r++)
                y[(long)b * ldy + r] = 0.0f;
        return;
    }
    if (batch <= 4) {
        static void (*const small[5])(const kstt__wmat *, const float *, long, float *, long, long,
                                      long) = {NULL, small_1, small_2, small_3, small_4};
        small[batch](w, x, ldx, y, ldy, r0, r1);
        return;
    }
    for (long r = r0; r < r1; r += MR) {
        const int mr = r1 - r < MR ? (int)(r1 - r) : MR;
        const __mmask16 m0 = mask_n(mr), m1 = mask_n(mr - 16);
        const ukr_fn *tab = mr > 16 ? ukr2_tab : ukr1_tab;
        for (long k0 = 0; k0 < cols; k0 += KC) {
            const int kc = cols - k0 < KC ? (int)(cols - k0) : KC;
            pack_panel(w, r, mr, k0, kc, P);
            const int load_y = k0 > 0;
            int b = 0;
            for (; b + NR <= batch; b += NR)
                tab[NR](P, kc, x + (long)b * ldx + k0, ldx, y + (long)b * ldy + r, ldy, load_y, m0,
                        m1);
            if (b < batch)
                tab[batch - b](P, kc, x + (long)b * ldx + k0, ldx, y + (long)b * ldy + r, ldy,
                               load_y, m0, m1);
        }
    }
}

/* ---- pre-packed panels (KSTT_WT_F32_PANEL, KSTT_WT_BF16_PANEL) ------------------------- *
 * The weights are already in the micro-kernel's panel layout (MR == KSTT_F32_PANEL_ROWS), so
 * the product skips pack_panel: the GEMM path feeds P + k0 * MR straight to the same
 * micro-kernels, and the small-batch path reads each panel as one sequential stream, two
 * aligned vectors per column, without transposes. Same FMA sequence per element as above, so
 * the f32 panels give the same bits as KSTT_WT_F32, and the bf16 panels (widened exactly) the
 * same bits as f32 panels of the widened weights. */

_Static_assert(MR == KSTT_F32_PANEL_ROWS, "panel height");

/* Lanes i (0 <= i < 16) with lo <= i < hi. */
static ALWAYS_INLINE __mmask16 mask_range(long lo, long hi) {
    if (lo < 0)
        lo = 0;
    if (hi > 16)
        hi = 16;
    if (hi <= lo)
        return 0;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* Bytes ahead of the reading position that each panel stream prefetches. */
#define PF_AHEAD 1024

/* np consecutive panels (rows 32 * np from P's first row; pstride elements apart) for nb <= 4
 * batch rows: 2 * np * nb accumulators, each the FMA chain of one output element over
 * increasing c. Several panels at once give independent chains (a single panel with nb = 1
 * would wait on FMA latency). */
static ALWAYS_INLINE void psmall(const void *P, const int bf, size_t pstride, long cols,
                                 const float *x, long ldx, float *y, long ldy, const int np,
                                 const int nb, const __mmask16 *m) {
    const size_t esz = bf ? 2 : 4;
    __m512 acc[4][2][4];
#pragma GCC unroll 4
    for (int p = 0; p < 4; p++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (p < np && j < nb)
                acc[p][0][j] = acc[p][1][j] = _mm512_setzero_ps();
    for (long c = 0; c < cols; c++) {
        __m512 b[4];
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (j < nb)
                b[j] = _mm512_set1_ps(x[(long)j * ldx + c]);
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++) {
            if (p < np) {
                const size_t e = (size_t)p * pstride + (size_t)c * MR;
                const char *q = (const char *)P + e * esz;
                _mm_prefetch(q + PF_AHEAD, _MM_HINT_T0);
                if (!bf)
                    _mm_prefetch(q + PF_AHEAD + 64, _MM_HINT_T0);
                const __m512 a0 = ld16(P, e, bf), a1 = ld16(P, e + 16, bf);
#pragma GCC unroll 4
                for (int j = 0; j < 4; j++) {
                    if (j < nb) {
                        acc[p][0][j] = _mm512_fmadd_ps(a0, b[j], acc[p][0][j]);
                        acc[p][1][j] = _mm512_fmadd_ps(a1, b[j], acc[p][1][j]);
                    }
                }
            }
        }
    }
#pragma GCC unroll 4
    for (int p = 0; p < 4; p++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (p < np && j < nb) {
                float *yp = y + (long)j * ldy + (long)p * MR;
                _mm512_mask_storeu_ps(yp, m[2 * p], acc[p][0][j]);
                _mm512_mask_storeu_ps(yp + 16, m[2 * p + 1], acc[p][1][j]);
            }
}

typedef void (*psmall_fn)(const void *P, size_t pstride, long cols, const float *x, long ldx,
                          float *y, long ldy, const __mmask16 *m);

#define PSMALL_DEF(NP, NB)                                                                         \
    static void psmall_##NP##_##NB(const void *P, size_t pstride, long cols, const float *x,       \
                                   long ldx, float *y, long ldy, const __mmask16 *m) {             \
        psmall(P, 0, pstride, cols, x, ldx, y, ldy, NP, NB, m);                                    \
    }                                                                                              \
    static void psmallb_##NP##_##NB(const void *P, size_t pstride, long cols, const float *x,      \
                                    long ldx, float *y, long ldy, const __mmask16 *m) {            \
        psmall(P, 1, pstride, cols, x, ldx, y, ldy, NP, NB, m);                                    \
    }
#define PSMALL_NB4(NB) PSMALL_DEF(1, NB) PSMALL_DEF(2, NB) PSMALL_DEF(3, NB) PSMALL_DEF(4, NB)
#define PSMALL_NB2(NB) PSMALL_DEF(1, NB) PSMALL_DEF(2, NB)
PSMALL_NB4(1)
PSMALL_NB4(2)
PSMALL_NB2(3)
PSMALL_NB2(4)

/* [bf][nb][np]; nb 3 and 4 take at most 2 panels at once (accumulators must fit 32 zmm) */
static const psmall_fn psmall_tab[2][5][5] = {
    {
        {NULL},
        {NULL, psmall_1_1, psmall_2_1, psmall_3_1, psmall_4_1},
        {NULL, psmall_1_2, psmall_2_2, psmall_3_2, psmall_4_2},
        {NULL, psmall_1_3, psmall_2_3, psmall_2_3, psmall_2_3},
        {NULL, psmall_1_4, psmall_2_4, psmall_2_4, psmall_2_4},
    },
    {
        {NULL},
        {NULL, psmallb_1_1, psmallb_2_1, psmallb_3_1, psmallb_4_1},
        {NULL, psmallb_1_2, psmallb_2_2, psmallb_3_2, psmallb_4_2},
        {NULL, psmallb_1_3, psmallb_2_3, psmallb_2_3, psmallb_2_3},
        {NULL, psmallb_1_4, psmallb_2_4, psmallb_2_4, psmallb_2_4},
    },
};

static void matmul_panel(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                         int batch, long r0, long r1, const int bf) {
    const long cols = (long)w->cols;
    if (batch <= 0 || r1 <= r0)
        return;
    if (cols == 0) {
        for (int b = 0; b < batch; b++)
            for (long r = r0; r < r1; r++)
                y[(long)b * ldy + r] = 0.0f;
        return;
    }
    const size_t esz = bf ? 2 : 4, pstride = w->row_bytes / esz; /* elements */
    const char *base = (const char *)w->data;
    const long p0 = r0 / MR, p1 = (r1 + MR - 1) / MR; /* panels touched */
    if (batch <= 4) {
        const int maxp = batch <= 2 ? 4 : 2;
        for (long p = p0; p < p1;) {
            const int np = p1 - p < maxp ? (int)(p1 - p) : maxp;
            __mmask16 m[8];
            for (int i = 0; i < np; i++) {
                const long rb = (p + i) * MR;
                m[2 * i] = mask_range(r0 - rb, r1 - rb);
                m[2 * i + 1] = mask_range(r0 - rb - 16, r1 - rb - 16);
            }
            psmall_tab[bf][batch][np](base + (size_t)p * w->row_bytes, pstride, cols, x, ldx,
                                      y + p * MR, ldy, m);
            p += np;
        }
        return;
    }
    for (long p = p0; p < p1; p++) {
        const long rb = p * MR;
        __mmask16 m0 = mask_range(r0 - rb, r1 - rb), m1 = mask_range(r0 - rb - 16, r1 - rb - 16);
        const char *P = base + (size_t)p * w->row_bytes;
        float *yr = y + rb;
        const ukr_fn *tab = bf ? ukr2b_tab : ukr2_tab;
        if (!m1) {
            tab = bf ? ukr1b_tab : ukr1_tab;
        } else if (!m0) { /* the upper half only: a 16-row tile reading lanes 16..31 */
            tab = bf ? ukr1b_tab : ukr1_tab;
            P += 16 * esz;
            yr += 16;
            m0 = m1;
        }
        for (long k0 = 0; k0 < cols; k0 += KC) {
            const int kc = cols - k0 < KC ? (int)(cols - k0) : KC;
            const char *Pk = P + (size_t)k0 * MR * esz;
            const int load_y = k0 > 0;
            int b = 0;
            for (; b + NR <= batch; b += NR)
                tab[NR](Pk, kc, x + (long)b * ldx + k0, ldx, yr + (long)b * ldy, ldy, load_y, m0,
                        m1);
            if (b < batch)
                tab[batch - b](Pk, kc, x + (long)b * ldx + k0, ldx, yr + (long)b * ldy, ldy, load_y,
                               m0, m1);
        }
    }
}

void kstt__matmul_f32_panel_avx512(const kstt__wmat *w, const float *x, long ldx, float *y,
                                   long ldy, int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    matmul_panel(w, x, ldx, y, ldy, batch, r0, r1, 0);
}

void kstt__matmul_bf16_panel_avx512(const kstt__wmat *w, const float *x, long ldx, float *y,
                                    long ldy, int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    matmul_panel(w, x, ldx, y, ldy, batch, r0, r1, 1);
}

/* ---- int8 rows with a scale (KSTT_WT_I8S) ----------------------------------------------- *
 * Small batches (a screening copy read once per streaming frame): 4 rows at a time, 16 int8
 * weights widened exactly to f32 per row and step, FMA'd with nb <= 4 batch rows of x, the
 * lane sums reduced at the end and scaled once. Rows past r1 repeat row r (discarded). */
static ALWAYS_INLINE void i8s_tile(const kstt__wmat *w, const float *x, long ldx, float *y,
                                   long ldy, long r, int nrow, const int nb) {
    const long cols = (long)w->cols;
    const size_t rb = w->row_bytes;
    const char *row[4];
    for (int i = 0; i < 4; i++)
        row[i] = (const char *)w->data + (size_t)(r + (i < nrow ? i : 0)) * rb;
    __m512 acc[4][4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (j < nb)
                acc[i][j] = _mm512_setzero_ps();
    for (long c = 0; c < cols; c += 16) {
        const __mmask16 m = mask_n((int)(cols - c < 16 ? cols - c : 16));
        __m512 wv[4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            const int8_t *q = (const int8_t *)(row[i] + sizeof(float)) + c;
            if (!(c & 63))
                _mm_prefetch((const char *)q + 4 * rb, _MM_HINT_T0);
            wv[i] = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, q)));
        }
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            if (j < nb) {
                const __m512 xv = _mm512_maskz_loadu_ps(m, x + (long)j * ldx + c);
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++)
                    acc[i][j] = _mm512_fmadd_ps(wv[i], xv, acc[i][j]);
            }
        }
    }
    for (int i = 0; i < nrow; i++) {
        float sc;
        __builtin_memcpy(&sc, row[i], sizeof sc);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (j < nb)
                y[(long)j * ldy + r + i] = sc * _mm512_reduce_add_ps(acc[i][j]);
    }
}

#define I8S_DEF(N)                                                                                 \
    static void i8s_##N(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,         \
                        long r0, long r1) {                                                        \
        for (long r = r0; r < r1; r += 4)                                                          \
            i8s_tile(w, x, ldx, y, ldy, r, r1 - r < 4 ? (int)(r1 - r) : 4, N);                     \
    }
I8S_DEF(1)
I8S_DEF(2)
I8S_DEF(3)
I8S_DEF(4)

void kstt__matmul_i8s_avx512(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                             int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    static void (*const tab[5])(const kstt__wmat *, const float *, long, float *, long, long,
                                long) = {NULL, i8s_1, i8s_2, i8s_3, i8s_4};
    for (int b = 0; b < batch; b += 4) {
        const int nb = batch - b < 4 ? batch - b : 4;
        tab[nb](w, x + (long)b * ldx, ldx, y + (long)b * ldy, ldy, r0, r1);
    }
}
