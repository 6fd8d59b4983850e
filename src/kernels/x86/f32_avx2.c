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

#include "kernels/cpu.h"
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

static ALWAYS_INLINE void ukr(const float *P, int kc, const float *x, long ldx, float *y, long ldy,
                              const int nr, const int halves, int load_y, __m256i m0, __m256i m1) {
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
        const __m256 a0 = _mm256_load_ps(P + (long)k * MR);
        const __m256 a1 = halves == 2 ? _mm256_load_ps(P + (long)k * MR + 8) : a0;
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

typedef void (*ukr_fn)(const float *P, int kc, const float *x, long ldx, float *y, long ldy,
                       int load_y, __m256i m0, __m256i m1);

#define UKR_DEF(N)                                                                                 \
    static void ukr2_##N(const float *P, int kc, const float *x, long ldx, float *y, long ldy,     \
                         int load_y, __m256i m0, __m256i m1) {                                     \
        ukr(P, kc, x, ldx, y, ldy, N, 2, load_y, m0, m1);                                          \
    }                                                                                              \
    static void ukr1_##N(const float *P, int kc, const float *x, long ldx, float *y, long ldy,     \
                         int load_y, __m256i m0, __m256i m1) {                                     \
        ukr(P, kc, x, ldx, y, ldy, N, 1, load_y, m0, m1);                                          \
    }
UKR_DEF(1)
UKR_DEF(2)
UKR_DEF(3)
UKR_DEF(4)
UKR_DEF(5)
UKR_DEF(6)

static const ukr_fn ukr2_tab[NR + 1] = {NULL, ukr2_1, ukr2_2, ukr2_3, ukr2_4, ukr2_5, ukr2_6};
static const ukr_fn ukr1_tab[NR + 1] = {NULL, ukr1_1, ukr1_2, ukr1_3, ukr1_4, ukr1_5, ukr1_6};

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

static void matmul_f32_avx2(const kstt__wmat *w, const float *x, long ldx, float *y, long ldy,
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

void kstt__x86_fill_f32_avx2(kstt__kernels *k) {
    k->matmul[KSTT_WT_F32] = matmul_f32_avx2;
}
