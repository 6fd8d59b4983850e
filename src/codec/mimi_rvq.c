/*
 * The Mimi residual vector quantizer: latent rows in, codes out.
 *
 * Level 0 (semantic) quantizes proj_first(latent); levels 1 .. K-1 (acoustic) quantize the
 * residual of proj_rest(latent), each level subtracting its chosen codebook row. A code is
 * argmin_j d_j, d_j = ||E_j||^2 - 2 z.E_j in f32 (ties to the lowest j), with the products
 * z.E_j from the f32 product kernel: that exact search is the definition of the codes.
 *
 * Screened search (passes of at most SCREEN_MAX rows: streaming). Reading the f32 codebooks
 * (32 x 2048 x 256 at full size, 67 MB) is most of a streaming frame's quantizer time, so the
 * products are first taken against an int8 copy with one scale per entry (KSTT_WT_I8S, a
 * quarter of the bytes) and a rigorous bound decides which entries could still be the exact
 * argmin; only those are recomputed in f32, with the very kernel and arithmetic of the exact
 * search (its elements do not depend on the row range: kernels.h), so the chosen code is bit
 * for bit the exact search's. The bound, per entry j and query x (u = 2^-24, n = q_dim,
 * g = (n + 2) u / (1 - (n + 2) u), Eq_j = s_j q_j the int8 copy as real numbers):
 *   screened product a_j vs the exact one p_j:
 *     |p_j - a_j| <= ||x|| (||E_j - Eq_j|| + (2 g + 2 u) max(||E_j||, ||Eq_j||))
 *   (Cauchy-Schwarz on the rounding of the weights, the summation error bound g sum |x_c E_jc|
 *   of any f32 summation order for both products, and the rounding of the scale product), and
 *   the f32 roundings of d_j = norm2_j - 2 p_j, of t_j = norm2_j - 2 a_j and of t_j -+ e_j are
 *   each within u (norm2_j + 2 |.|); all of it is folded into e_j = c1_j ||x|| + c0_j
 *   (coefficients from kstt__mimi_vq_prepare, rounded up by 2^-10 relative). Then
 *   L_j = t_j - e_j <= d_j <= U_j = t_j + e_j as computed in f32; every j with L_j > min_i U_i
 *   has d_j > the best d, so
 *   the candidates {j : L_j <= min U} contain the exact argmin and all its ties. A NaN or an
 *   infinity anywhere falls back to the exact search for that row.
 *
 * Every row is independent of the others (the products are bitwise independent of the batch,
 * kernels.h contract), so the rows may be any mix of frames and streams, and a long input is
 * simply taken in passes of ws->n_max rows.
 */
#include <math.h>
#include <string.h>

#include "codec/mimi_internal.h"
#include "core/pool.h"
#include "quant/quant.h"

/* Passes of at most this many rows use the screened search; larger ones (offline) read the
 * codebooks once for many rows anyway and take the exact product directly. */
#define SCREEN_MAX 32

static const kstt__ws no_ws = {NULL, 0};

/* Floats of one scratch piece, rounded up to 64 bytes so every piece stays aligned. */
static size_t piece(size_t n) {
    return (n + 15) & ~(size_t)15;
}

typedef struct {
    float *zs, *zr; /* [n_max, q_dim] semantic projection, acoustic residual */
    float *sc;      /* [n_max, bins] products of a level */
    float *ex;      /* [threads][bins] exact products of the candidates (screened search) */
    int32_t *cand;  /* [threads][bins] candidate entries */
} parts;

/* Threads that search rows at once (each with its own ex and cand). */
static int search_threads(const kstt_mimi *m) {
    return kstt__pool_size(m->pool);
}

/* Walks the pieces of ws (base NULL: counts floats). */
static size_t carve(const kstt_mimi *m, int n_max, float *base, parts *p) {
    const size_t n = (size_t)(n_max > 0 ? n_max : 1), dq = (size_t)m->cfg.q_dim;
    const size_t bins = (size_t)m->cfg.bins, nt = (size_t)search_threads(m);
    const size_t sz[5] = {n * dq, n * dq, n * bins, nt * bins, nt * bins};
    float *at[5];
    size_t off = 0;
    for (int i = 0; i < 5; i++) {
        at[i] = base ? base + off : NULL;
        off += piece(sz[i]);
    }
    if (p) {
        p->zs = at[0];
        p->zr = at[1];
        p->sc = at[2];
        p->ex = at[3];
        p->cand = (int32_t *)(void *)at[4];
    }
    return off;
}

size_t kstt__mimi_rvq_ws_floats(const kstt_mimi *m, int n_max) {
    return carve(m, n_max, NULL, NULL);
}

/* The screening copy is bf16 tiles where the level multiplies them on the AMX tile unit
 * (x86/bf16_amx.c), else int8 rows. */
static int screen_bf16x(const kstt__kernels *k) {
    return k->wt[KSTT_WT_BF16X].matmul != NULL;
}

size_t kstt__mimi_vq_lo_bytes(const kstt__kernels *k, long bins, long q_dim) {
    if (screen_bf16x(k))
        return kstt__bf16x_elems(bins, q_dim) * sizeof(uint16_t);
    return (size_t)bins * ((size_t)(4 + q_dim + 3) / 4 * 4);
}

/* The bf16 screening copy. a_j = fl(xb . Eb_j), xb and Eb_j x and E_j rounded to bf16 (the
 * tile unit treats subnormal inputs as zero: the copy holds them as zero, and an activation
 * below 2^-126 may lose all of itself), summed in f32 in any order with subnormal results
 * flushed. With r = 2^-9 (bf16 rounding), t = 2^-126:
 *   |x.E_j - xb.Eb_j| <= ||x|| ||E_j - Eb_j|| + (r ||x|| + sqrt(n) t) ||Eb_j||
 *   |a_j - xb.Eb_j| <= g (1 + r) ||x|| ||Eb_j|| + n t,   |p_j - x.E_j| <= g ||x|| ||E_j||
 * so c1_j = 2 (||E_j - Eb_j|| + r ||Eb_j||) + (4 g (1 + 2^-8) + 12 u) max(||E_j||, ||Eb_j||)
 * (the int8 copy's kappa, with room for the (1 + r)), and c0_j adds 2 (sqrt(n) ||Eb_j|| + n) t
 * to the int8 copy's; both rounded up by 2^-10 relative. */
static void prepare_bf16x(kstt__mimi_vq *vq, uint16_t *lo, float *c1, float *c0) {
    const long bins = (long)vq->cb.rows, dq = (long)vq->cb.cols, nb = (dq + 31) / 32;
    const double u = 0x1p-24, g = (double)(dq + 2) * u / (1.0 - (double)(dq + 2) * u);
    const double kappa = 4.0 * g * (1.0 + 0x1p-8) + 12.0 * u, up = 1.0 + 0x1p-10, t = 0x1p-126;
    const float *e = (const float *)vq->cb.data;
    kstt__bf16x_pack(&vq->cb_lo, e, bins, dq, dq, lo);
    const size_t n = kstt__bf16x_elems(bins, dq);
    for (size_t i = 0; i < n; i++) /* subnormal -> signed zero, as the tile unit reads them */
        if ((lo[i] & 0x7f80u) == 0)
            lo[i] &= 0x8000u;
    for (long j = 0; j < bins; j++) {
        double dd = 0.0, ne = 0.0, nl = 0.0;
        for (long i = 0; i < dq; i++) {
            const long at = ((j / 16) * nb + i / 32) * 512 + 32 * ((i % 32) / 2) + 2 * (j % 16) +
                            i % 2; /* kstt__bf16x_pack's layout */
            const double a = e[(size_t)j * dq + i], b = kstt__bf16_to_f32(lo[at]);
            dd += (a - b) * (a - b);
            ne += a * a;
            nl += b * b;
        }
        const double nmax = sqrt(ne > nl ? ne : nl);
        c1[j] = (float)((2.0 * (sqrt(dd) + 0x1p-9 * sqrt(nl)) + kappa * nmax) * up);
        c0[j] = (float)((4.0 * u * (double)vq->norm2[j] +
                         2.0 * (sqrt((double)dq) * sqrt(nl) + (double)dq) * t) *
                            up +
                        1e-30);
    }
    vq->c1 = c1;
    vq->c0 = c0;
}

void kstt__mimi_vq_prepare(const kstt__kernels *k, kstt__mimi_vq *vq, void *lo, float *c1,
                           float *c0) {
    if (screen_bf16x(k)) {
        prepare_bf16x(vq, lo, c1, c0);
        return;
    }
    const long bins = (long)vq->cb.rows, dq = (long)vq->cb.cols;
    const size_t rb = kstt__mimi_vq_lo_bytes(k, 1, dq);
    const double u = 0x1p-24, g = (double)(dq + 2) * u / (1.0 - (double)(dq + 2) * u);
    const double kappa = 4.0 * g + 12.0 * u, up = 1.0 + 0x1p-10;
    for (long j = 0; j < bins; j++) {
        const float *e = (const float *)vq->cb.data + (size_t)j * dq;
        char *row = (char *)lo + (size_t)j * rb;
        int8_t *q = (int8_t *)(row + sizeof(float));
        float sc;
        kstt__quantize_i8_row(e, q, &sc, dq);
        memcpy(row, &sc, sizeof sc);
        double dd = 0.0, ne = 0.0, nl = 0.0;
        for (long i = 0; i < dq; i++) {
            const double a = e[i], b = (double)sc * (double)q[i];
            dd += (a - b) * (a - b);
            ne += a * a;
            nl += b * b;
        }
        memset(q + dq, 0, rb - sizeof(float) - (size_t)dq);
        const double nmax = sqrt(ne > nl ? ne : nl);
        c1[j] = (float)((2.0 * sqrt(dd) + kappa * nmax) * up);
        c0[j] = (float)(4.0 * u * (double)vq->norm2[j] * up + 1e-30);
    }
    vq->cb_lo.type = KSTT_WT_I8S;
    vq->cb_lo.rows = bins;
    vq->cb_lo.cols = dq;
    vq->cb_lo.row_bytes = rb;
    vq->cb_lo.data = lo;
    vq->c1 = c1;
    vq->c0 = c0;
}

/* argmin_j ||E_j||^2 - 2 x.E_j given sc[j] = x.E_j; ties go to the lowest j. */
static int nearest(const float *norm2, const float *sc, int bins) {
    float best = norm2[0] - 2.0f * sc[0];
    int bi = 0;
    for (int j = 1; j < bins; j++) {
        const float d = norm2[j] - 2.0f * sc[j];
        if (d < best) {
            best = d;
            bi = j;
        }
    }
    return bi;
}

/* The exact search for one row x (the fallback of the screened search). */
static int exact_row(const kstt_mimi *m, const kstt__mimi_vq *vq, const float *x, float *ex) {
    const int bins = m->cfg.bins;
    m->k->wt[vq->cb.type].matmul(&vq->cb, x, m->cfg.q_dim, ex, bins, 1, 0, bins, &no_ws);
    return nearest(vq->norm2, ex, bins);
}

/* The screened search for one row x given a[j] = x.Eq_j (see top); ex and cand: scratch of
 * `bins` each. */
static int screened_row(const kstt_mimi *m, const kstt__mimi_vq *vq, const float *x, const float *a,
                        float *ex, int32_t *cand) {
    const int bins = m->cfg.bins, dq = m->cfg.q_dim;
    const float *n2 = vq->norm2, *c1 = vq->c1, *c0 = vq->c0;
    double ss = 0.0;
    for (int i = 0; i < dq; i++)
        ss += (double)x[i] * x[i];
    const float xn = (float)(sqrt(ss) * (1.0 + 0x1p-20)); /* >= ||x|| after rounding */
    float umin = INFINITY;
    for (int j = 0; j < bins; j++) {
        const float t = n2[j] - 2.0f * a[j], e = c1[j] * xn + c0[j], up = t + e;
        umin = up < umin ? up : umin;
    }
    if (!(umin < INFINITY))
        return exact_row(m, vq, x, ex);
    int nc = 0;
    for (int j = 0; j < bins; j++) {
        const float t = n2[j] - 2.0f * a[j], e = c1[j] * xn + c0[j], lo = t - e;
        if (lo <= umin)
            cand[nc++] = j;
        else if (!(lo > umin)) /* NaN */
            return exact_row(m, vq, x, ex);
    }
    /* A loose bound (a large x next to closely spaced entries) can leave many candidates: one
     * product over the whole codebook is then cheaper than a call per candidate (same bits:
     * the exact path runs the same kernel on the same rows). */
    if (nc > bins / 8)
        return exact_row(m, vq, x, ex);
    /* the candidates in increasing j: the first of equal distances wins, as in nearest() */
    float best = 0.0f;
    int bi = -1;
    for (int i = 0; i < nc; i++) {
        const int j = cand[i];
        m->k->wt[vq->cb.type].matmul(&vq->cb, x, dq, ex, bins, 1, j, j + 1, &no_ws);
        const float d = n2[j] - 2.0f * ex[j];
        if (bi < 0 || d < best) {
            best = d;
            bi = j;
        }
    }
    return bi;
}

typedef struct {
    const kstt_mimi *m;
    const kstt__mimi_vq *vq;
    const float *z;
    int n;
    int32_t *codes;
    const parts *p;
} screen_job;

/* Rows split between threads: each row's search is independent of the others. */
static void screen_task(void *arg, int ith, int nth) {
    const screen_job *j = arg;
    const int K = j->m->num_codebooks, dq = j->m->cfg.q_dim, bins = j->m->cfg.bins;
    long b0, b1;
    kstt__split_range(j->n, 1, ith, nth, &b0, &b1);
    float *ex = j->p->ex + (size_t)ith * bins;
    int32_t *cand = j->p->cand + (size_t)ith * bins;
    for (long b = b0; b < b1; b++)
        j->codes[(size_t)b * K] =
            screened_row(j->m, j->vq, j->z + (size_t)b * dq, j->p->sc + (size_t)b * bins, ex, cand);
}

/* Codes of level vq for the n rows of z [n, q_dim] into codes[b * K] (b < n). */
static void search(const kstt_mimi *m, const kstt__mimi_vq *vq, const float *z, int n,
                   int32_t *codes, const parts *p) {
    const int K = m->num_codebooks, dq = m->cfg.q_dim, bins = m->cfg.bins;
    if (n <= SCREEN_MAX && vq->cb_lo.data) {
        kstt__matmul(m->pool, m->k, &vq->cb_lo, z, dq, p->sc, bins, n, &no_ws);
        screen_job j = {m, vq, z, n, codes, p};
        if (n > 1 && search_threads(m) > 1)
            kstt__pool_run(m->pool, screen_task, &j);
        else
            screen_task(&j, 0, 1);
        return;
    }
    kstt__matmul(m->pool, m->k, &vq->cb, z, dq, p->sc, bins, n, &no_ws);
    for (int b = 0; b < n; b++)
        codes[(size_t)b * K] = nearest(vq->norm2, p->sc + (size_t)b * bins, bins);
}

/* z [n, q_dim] = P x for x [n, D] (P with NULL data: the identity, q_dim == D). */
static void project(const kstt_mimi *m, const kstt__wmat *w, const float *x, int n, float *z) {
    const int D = m->cfg.d_model, dq = m->cfg.q_dim;
    if (w->data)
        kstt__matmul(m->pool, m->k, w, x, D, z, dq, n, &no_ws);
    else
        memcpy(z, x, (size_t)n * D * sizeof(float));
}

/* One pass of n <= ws->n_max rows. */
static void encode_pass(const kstt_mimi *m, const float *latent, int n, int32_t *codes,
                        const parts *p, kstt__mimi_tap_fn tap, void *user) {
    const int K = m->num_codebooks, dq = m->cfg.q_dim;
    project(m, &m->proj_first, latent, n, p->zs);
    if (tap)
        tap(user, "proj_semantic", p->zs, n, dq);
    search(m, &m->vq[0], p->zs, n, codes, p);
    if (K == 1)
        return;
    project(m, &m->proj_rest, latent, n, p->zr);
    if (tap)
        tap(user, "proj_acoustic", p->zr, n, dq);
    for (int l = 1; l < K; l++) {
        const kstt__mimi_vq *vq = &m->vq[l];
        search(m, vq, p->zr, n, codes + l, p);
        for (int b = 0; b < n; b++)
            m->k->axpy_f32(-1.0f,
                           (const float *)vq->cb.data + (size_t)codes[(size_t)b * K + l] * dq,
                           p->zr + (size_t)b * dq, dq);
    }
}

void kstt__mimi_rvq_encode(const kstt_mimi *m, const float *latent, int n, int32_t *codes,
                           const kstt__mimi_rvq_ws *ws, kstt__mimi_tap_fn tap, void *user) {
    const int D = m->cfg.d_model, K = m->num_codebooks;
    parts p;
    carve(m, ws->n_max, ws->buf, &p);
    for (int r = 0; r < n; r += ws->n_max) {
        const int c = n - r < ws->n_max ? n - r : ws->n_max;
        encode_pass(m, latent + (size_t)r * D, c, codes + (size_t)r * K, &p, tap, user);
    }
}
