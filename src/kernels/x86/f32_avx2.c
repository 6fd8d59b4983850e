/*
 * AVX2+FMA f32 products (Mimi convolutions and transformer): the same register-blocked GEMM as
 * f32_avx512.c with 8-lane vectors,
 *     y[b * ldy + r] = sum_c W[r, c] * x[b * ldx + c]
 * Lanes run over output rows: 16 rows of W are packed, transposed, into a panel P[c][16]
 * (KC columns at a time, on the stack) and the micro-kernel keeps a 16 x NR tile of y in
 * 2 * NR ymm accumulators, broadcasting x[b, c] of NR batch rows read in place (stride ldx).
 *
 * Every output element is one lane summing in increasing c with FMAs from 0 (partial sums of
 * a K block pass through y in f32), and tails are masked, so y[b, r] has the same bits for any
 * batch size or row range (see f32_avx512.c).
 */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/kernels.h"
#include "kernels/x86/x86.h"

#define MR 16  /* rows per panel: two ymm */
#define NR 6   /* batch rows per micro-tile: 12 accumulators */
#define KC 256 /* columns per packed block: 16 KB panel */

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Lane mask with the first n of 8 lanes set. */
static ALWAYS_INLINE __m256i mask8(int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n < 0 ? 0 : n), idx);
}

static ALWAYS_INLINE void transpose8(__m256 r[8]) {
    __m256 t[8], u[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++) {
        u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i + 0], t[4 * i + 2], 0xee);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        r[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}

/* P[k * MR + i] = W[r + i, k0 + k] for i < mr, k < kc; zero for rows i >= mr. */
static void pack_panel(const kstt__wmat *w, long r, int mr, long k0, int kc, float *P) {
    const char *base = (const char *)w->data;
    for (int i0 = 0; i0 < MR; i0 += 8) {
        const int nrow = mr - i0 < 8 ? (mr - i0 > 0 ? mr - i0 : 0) : 8;
        if (nrow == 0) {
            for (int k = 0; k < kc; k++)
                _mm256_store_ps(P + (long)k * MR + i0, _mm256_setzero_ps());
            continue;
        }
        const float *rows[8];
        for (int i = 0; i < 8; i++)
            rows[i] =
                (const float *)(base + (size_t)(r + i0 + (i < nrow ? i : 0)) * w->row_bytes) + k0;
        for (int k = 0; k < kc; k += 8) {
            const __m256i mk = mask8(kc - k);
            __m256 v[8];
            if ((k & 15) == 0)
                for (int i = 0; i < nrow; i++)
                    _mm_prefetch((const char *)(rows[i] + k) + 512, _MM_HINT_T0);
            for (int i = 0; i < 8; i++)
                v[i] = i < nrow ? _mm256_maskload_ps(rows[i] + k, mk) : _mm256_setzero_ps();
            transpose8(v);
            const int nk = kc - k < 8 ? kc - k : 8;
            for (int j = 0; j < nk; j++)
                _mm256_store_ps(P + (long)(k + j) * MR + i0, v[j]);
        }
    }
}

/* 8 weights of a panel at element i: f32, or bf16 (bf) widened exactly to f32. */
static ALWAYS_INLINE __m256 ld8(const void *P, size_t i, const int bf) {
    if (bf)
        return _mm256_castsi256_ps(_mm256_slli_epi32(
            _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)P + i))),
            16));
    return _mm256_load_ps((const float *)P + i);
}

/* ps: elements from one column of the panel to the next (MR here, 32 for the pre-packed
 * panels below); bf: bf16 weights. */
static ALWAYS_INLINE void ukr(const void *P, int kc, const float *x, long ldx, float *y, long ldy,
                              const int nr, const int halves, int load_y, __m256i m0, __m256i m1,
                              const int ps, const int bf) {
    __m256 c0[NR], c1[NR];
#pragma GCC unroll 6
    for (int j = 0; j < NR; j++) {
        if (j < nr) {
            if (load_y) {
                c0[j] = _mm256_maskload_ps(y + (long)j * ldy, m0);
                if (halves == 2)
                    c1[j] = _mm256_maskload_ps(y + (long)j * ldy + 8, m1);
            } else {
                c0[j] = _mm256_setzero_ps();
                if (halves == 2)
                    c1[j] = _mm256_setzero_ps();
            }
        }
    }
    const float *x0 = x, *x1 = x + 3 * ldx;
    for (int k = 0; k < kc; k++) {
        const __m256 a0 = ld8(P, (size_t)k * ps, bf);
        const __m256 a1 = halves == 2 ? ld8(P, (size_t)k * ps + 8, bf) : a0;
#pragma GCC unroll 6
        for (int j = 0; j < NR; j++) {
            if (j < nr) {
                const float *xp = j < 3 ? x0 + (long)j * ldx : x1 + (long)(j - 3) * ldx;
                const __m256 b = _mm256_broadcast_ss(xp + k);
                c0[j] = _mm256_fmadd_ps(a0, b, c0[j]);
                if (halves == 2)
                    c1[j] = _mm256_fmadd_ps(a1, b, c1[j]);
            }
        }
    }
#pragma GCC unroll 6
    for (int j = 0; j < NR; j++) {
        if (j < nr) {
            _mm256_maskstore_ps(y + (long)j * ldy, m0, c0[j]);
            if (halves == 2)
                _mm256_maskstore_ps(y + (long)j * ldy + 8, m1, c1[j]);
        }
    }
}

typedef void (*ukr_fn)(const void *P, int kc, const float *x, long ldx, float *y, long ldy,
                       int load_y, __m256i m0, __m256i m1);

#define UKR_ONE(NAME, N, H, PS, BF)                                                                \
    static void NAME##_##N(const void *P, int kc, const float *x, long ldx, float *y, long ldy,    \
                           int load_y, __m256i m0, __m256i m1) {                                   \
        ukr(P, kc, x, ldx, y, ldy, N, H, load_y, m0, m1, PS, BF);                                  \
    }
#define UKR_DEF(N)                                                                                 \
    UKR_ONE(ukr2, N, 2, MR, 0)                                                                     \
    UKR_ONE(ukr1, N, 1, MR, 0)                                                                     \
    UKR_ONE(ukr2p, N, 2, KSTT_F32_PANEL_ROWS, 0)                                                   \
    UKR_ONE(ukr1p, N, 1, KSTT_F32_PANEL_ROWS, 0)                                                   \
    UKR_ONE(ukr2b, N, 2, KSTT_F32_PANEL_ROWS, 1)                                                   \
    UKR_ONE(ukr1b, N, 1, KSTT_F32_PANEL_ROWS, 1)
UKR_DEF(1)
UKR_DEF(2)
UKR_DEF(3)
UKR_DEF(4)
UKR_DEF(5)
UKR_DEF(6)

static const ukr_fn ukr2_tab[NR + 1] = {NULL, ukr2_1, ukr2_2, ukr2_3, ukr2_4, ukr2_5, ukr2_6};
static const ukr_fn ukr1_tab[NR + 1] = {NULL, ukr1_1, ukr1_2, ukr1_3, ukr1_4, ukr1_5, ukr1_6};
static const ukr_fn ukr2p_tab[NR + 1] = {NULL,    ukr2p_1, ukr2p_2, ukr2p_3,
                                         ukr2p_4, ukr2p_5, ukr2p_6};
static const ukr_fn ukr1p_tab[NR + 1] = {NULL,    ukr1p_1, ukr1p_2, ukr1p_3,
                                         ukr1p_4, ukr1p_5, ukr1p_6};
static const ukr_fn ukr2b_tab[NR + 1] = {NULL,    ukr2b_1, ukr2b_2, ukr2b_3,
                                         ukr2b_4, ukr2b_5, ukr2b_6};
static const ukr_fn ukr1b_tab[NR + 1] = {NULL,    ukr1b_1, ukr1b_2, ukr1b_3,
                                         ukr1b_4, ukr1b_5, ukr1b_6};

/* Small batches (streaming): 8 x 8 blocks of W transposed in registers and fed straight to the
 * FMAs, the same per-lane FMA sequence as the micro-kernel (see f32_avx512.c). */
static ALWAYS_INLINE void small_step(const __m256 *v, const float *x, long ldx, long k, int nk,
                                     const int nb, __m256 *acc) {
#pragma GCC unroll 8
    for (int c = 0; c < 8; c++) {
        if (c < nk) {
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                if (j < nb)
                    acc[j] = _mm256_fmadd_ps(v[c], _mm256_broadcast_ss(x + (long)j * ldx + k + c),
                                             acc[j]);
        }
    }
}

static ALWAYS_INLINE void small_rows(const kstt__wmat *w, const float *x, long ldx, float *y,
                                     long ldy, const int nb, long r, int nrow) {
    const long cols = (long)w->cols;
    const size_t rb = w->row_bytes;
    const char *p0 = (const char *)w->data + (size_t)r * rb;
    size_t off[8];
    for (int i = 0; i < 8; i++)
        off[i] = (size_t)(i < nrow ? i : 0) * rb;
    __m256 acc[4];
    for (int j = 0; j < 4; j++)
        acc[j] = _mm256_setzero_ps();
    long k = 0;
    for (; k + 8 <= cols; k += 8) {
        __m256 v[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            const float *q = (const float *)(p0 + off[i]) + k;
            if ((k & 15) == 0)
                _mm_prefetch((const char *)q + 512, _MM_HINT_T0);
            v[i] = _mm256_loadu_ps(q);
        }
        transpose8(v);
        small_step(v, x, ldx, k, 8, nb, acc);
    }
    if (k < cols) {
        const int nk = (int)(cols - k);
        const __m256i mk = mask8(nk);
        __m256 v[8];
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            v[i] = _mm256_maskload_ps((const float *)(p0 + off[i]) + k, mk);
        transpose8(v);
        small_step(v, x, ldx, k, nk, nb, acc);
    }
    const __m256i m = mask8(nrow);
    for (int j = 0; j < nb; j++)
        _mm256_maskstore_ps(y + (long)j * ldy + r, m, acc[j]);
}

#define SMALL_DEF(N)                                                                               \
    static void small_##N(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,       \
                          long r0, long r1) {                                                      \
        for (long r = r0; r < r1; r += 8)                                                          \
            small_rows(w, x, ldx, y, ldy, N, r, r1 - r < 8 ? (int)(r1 - r) : 8);                   \
    }
SMALL_DEF(1)
SMALL_DEF(2)
SMALL_DEF(3)
SMALL_DEF(4)

void kstt__matmul_f32_avx2(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                           int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    _Alignas(32) float P[KC * MR];
    const long cols = (long)w->cols;
    if (batch <= 0 || r1 <= r0)
        return;
    if (cols == 0) {
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
        const __m256i m0 = mask8(mr), m1 = mask8(mr - 8);
        const ukr_fn *tab = mr > 8 ? ukr2_tab : ukr1_tab;
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
 * 32-row panels (kernels.h) read as two 16-row tiles of this level's micro-kernel (column
 * stride 32 instead of MR), with no packing; the small-batch path streams the panel without
 * transposes. Same FMA sequence per element, so f32 panels give the same bits as
 * KSTT_WT_F32, bf16 panels (widened exactly) those of f32 panels of the widened weights. */

#define PR KSTT_F32_PANEL_ROWS

/* Lanes i (0 <= i < 8) with lo <= i < hi. */
static ALWAYS_INLINE __m256i mask8_range(long lo, long hi) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    lo = lo < -1 ? -1 : lo > 8 ? 8 : lo;
    hi = hi < 0 ? 0 : hi > 8 ? 8 : hi;
    return _mm256_and_si256(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32((int)lo - 1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), idx));
}

/* nq 8-row quarters of one panel, starting at element P (f32, or bf16 when bf), for nb <= 4
 * batch rows (at most 8 accumulators: half the 16 ymm registers). */
static ALWAYS_INLINE void psmall(const void *P, const int bf, long cols, const float *x, long ldx,
                                 float *y, long ldy, const int nq, const int nb, const __m256i *m) {
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (q < nq && j < nb)
                acc[q][j] = _mm256_setzero_ps();
    for (long c = 0; c < cols; c++) {
        const size_t e = (size_t)c * PR;
        if ((c & 1) == 0)
            _mm_prefetch((const char *)P + e * (bf ? 2 : 4) + 1024, _MM_HINT_T0);
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++) {
            if (j < nb) {
                const __m256 b = _mm256_broadcast_ss(x + (long)j * ldx + c);
#pragma GCC unroll 4
                for (int q = 0; q < 4; q++)
                    if (q < nq)
                        acc[q][j] = _mm256_fmadd_ps(ld8(P, e + 8 * q, bf), b, acc[q][j]);
            }
        }
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++)
#pragma GCC unroll 4
        for (int j = 0; j < 4; j++)
            if (q < nq && j < nb)
                _mm256_maskstore_ps(y + (long)j * ldy + 8 * q, m[q], acc[q][j]);
}

typedef void (*psmall_fn)(const void *P, long cols, const float *x, long ldx, float *y, long ldy,
                          const __m256i *m);
#define PSMALL_DEF(NQ, NB)                                                                         \
    static void psmall_##NQ##_##NB(const void *P, long cols, const float *x, long ldx, float *y,   \
                                   long ldy, const __m256i *m) {                                   \
        psmall(P, 0, cols, x, ldx, y, ldy, NQ, NB, m);                                             \
    }                                                                                              \
    static void psmallb_##NQ##_##NB(const void *P, long cols, const float *x, long ldx, float *y,  \
                                    long ldy, const __m256i *m) {                                  \
        psmall(P, 1, cols, x, ldx, y, ldy, NQ, NB, m);                                             \
    }
PSMALL_DEF(4, 1)
PSMALL_DEF(4, 2)
PSMALL_DEF(2, 3)
PSMALL_DEF(2, 4)
/* quarters per pass by batch: 4 x nb <= 8 accumulators for nb <= 2, else 2 */
static const psmall_fn psmall_tab[2][5] = {
    {NULL, psmall_4_1, psmall_4_2, psmall_2_3, psmall_2_4},
    {NULL, psmallb_4_1, psmallb_4_2, psmallb_2_3, psmallb_2_4},
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
    const char *base = (const char *)w->data;
    const size_t esz = bf ? 2 : 4;
    if (batch <= 4) {
        const int nq = batch <= 2 ? 4 : 2;
        /* passes of nq quarters (8 rows each) aligned to nq quarters inside a panel */
        for (long rb = r0 / (8 * nq) * (8 * nq); rb < r1; rb += 8 * nq) {
            __m256i m[4];
            for (int q = 0; q < nq; q++)
                m[q] = mask8_range(r0 - rb - 8 * q, r1 - rb - 8 * q);
            const char *P = base + (size_t)(rb / PR) * w->row_bytes + (size_t)(rb % PR) * esz;
            psmall_tab[bf][batch](P, cols, x, ldx, y + rb, ldy, m);
        }
        return;
    }
    for (long rb = r0 / MR * MR; rb < r1; rb += MR) { /* 16-row tiles: halves of panels */
        const __m256i m0 = mask8_range(r0 - rb, r1 - rb);
        const __m256i m1 = mask8_range(r0 - rb - 8, r1 - rb - 8);
        const ukr_fn *tab =
            r1 - rb > 8 ? (bf ? ukr2b_tab : ukr2p_tab) : (bf ? ukr1b_tab : ukr1p_tab);
        const char *P = base + (size_t)(rb / PR) * w->row_bytes + (size_t)(rb % PR) * esz;
        for (long k0 = 0; k0 < cols; k0 += KC) {
            const int kc = cols - k0 < KC ? (int)(cols - k0) : KC;
            const char *Pk = P + (size_t)k0 * PR * esz;
            const int load_y = k0 > 0;
            int b = 0;
            for (; b + NR <= batch; b += NR)
                tab[NR](Pk, kc, x + (long)b * ldx + k0, ldx, y + (long)b * ldy + rb, ldy, load_y,
                        m0, m1);
            if (b < batch)
                tab[batch - b](Pk, kc, x + (long)b * ldx + k0, ldx, y + (long)b * ldy + rb, ldy,
                               load_y, m0, m1);
        }
    }
}

void kstt__matmul_f32_panel_avx2(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                                 int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    matmul_panel(w, x, ldx, y, ldy, batch, r0, r1, 0);
}

void kstt__matmul_bf16_panel_avx2(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                                  int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    matmul_panel(w, x, ldx, y, ldy, batch, r0, r1, 1);
}

/* ---- int8 rows with a scale (KSTT_WT_I8S) ----------------------------------------------- *
 * As f32_avx512.c: 4 rows at a time, 8 int8 weights widened exactly per row and step, nb <= 2
 * batch rows per pass (8 accumulators), lane sums reduced at the end and scaled once. */
static ALWAYS_INLINE float hsum8(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

static ALWAYS_INLINE void i8s_tile(const kstt__wmat *w, const float *x, long ldx, float *y,
                                   long ldy, long r, int nrow, const int nb) {
    const long cols = (long)w->cols;
    const size_t rb = w->row_bytes;
    const char *row[4];
    for (int i = 0; i < 4; i++)
        row[i] = (const char *)w->data + (size_t)(r + (i < nrow ? i : 0)) * rb;
    __m256 acc[4][2];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
#pragma GCC unroll 2
        for (int j = 0; j < 2; j++)
            if (j < nb)
                acc[i][j] = _mm256_setzero_ps();
    for (long c = 0; c < cols; c += 8) {
        const int n = (int)(cols - c < 8 ? cols - c : 8);
        const __m256i m = mask8(n);
        __m256 wv[4];
#pragma GCC unroll 4
        for (int i = 0; i < 4; i++) {
            const int8_t *q = (const int8_t *)(row[i] + sizeof(float)) + c;
            if (!(c & 63))
                _mm_prefetch((const char *)q + 4 * rb, _MM_HINT_T0);
            int64_t b8 = 0;
            if (n == 8)
                __builtin_memcpy(&b8, q, 8);
            else /* no byte-masked load in AVX2: the tail is copied */
                __builtin_memcpy(&b8, q, (size_t)n);
            wv[i] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_cvtsi64_si128(b8)));
        }
#pragma GCC unroll 2
        for (int j = 0; j < 2; j++) {
            if (j < nb) {
                const __m256 xv = _mm256_maskload_ps(x + (long)j * ldx + c, m);
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++)
                    acc[i][j] = _mm256_fmadd_ps(wv[i], xv, acc[i][j]);
            }
        }
    }
    for (int i = 0; i < nrow; i++) {
        float sc;
        __builtin_memcpy(&sc, row[i], sizeof sc);
#pragma GCC unroll 2
        for (int j = 0; j < 2; j++)
            if (j < nb)
                y[(long)j * ldy + r + i] = sc * hsum8(acc[i][j]);
    }
}

static void i8s_rows(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy, long r0,
                     long r1, int nb) {
    for (long r = r0; r < r1; r += 4) {
        const int nrow = r1 - r < 4 ? (int)(r1 - r) : 4;
        if (nb == 1)
            i8s_tile(w, x, ldx, y, ldy, r, nrow, 1);
        else
            i8s_tile(w, x, ldx, y, ldy, r, nrow, 2);
    }
}

void kstt__matmul_i8s_avx2(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
                           int batch, long r0, long r1, const kstt__ws *ws) {
    (void)ws;
    for (int b = 0; b < batch; b += 2)
        i8s_rows(w, x + (long)b * ldx, ldx, y + (long)b * ldy, ldy, r0, r1,
                 batch - b < 2 ? batch - b : 2);
}
