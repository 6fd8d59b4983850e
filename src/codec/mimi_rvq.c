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
    float *ex;      /* [bins] exact products of the candidates (screened search) */
    int32_t *cand;  /* [bins] candidate entries */
} parts;

/* Walks the pieces of ws (base NULL: counts floats). */
static size_t carve(const kstt_mimi *m, int n_max, float *base, parts *p) {
    const size_t n = (size_t)(n_max > 0 ? n_max : 1), dq = (size_t)m->cfg.q_dim;
    const size_t bins = (size_t)m->cfg.bins;
    const size_t sz[5] = {n * dq, n * dq, n * bins, bins, bins};
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

size_t kstt__mimi_vq_lo_bytes(long bins, long q_dim) {
    return (size_t)bins * ((size_t)(4 + q_dim + 3) / 4 * 4);
}

void kstt__mimi_vq_prepare(kstt__mimi_vq *vq, void *lo, float *c1, float *c0) {
    const long bins = (long)vq->cb.rows, dq = (long)vq->cb.cols;
    const size_t rb = kstt__mimi_vq_lo_bytes(1, dq);
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

/* The screened search for one row x given a[j] = x.Eq_j (see top). */
static int screened_row(const kstt_mimi *m, const kstt__mimi_vq *vq, const float *x, const float *a,
                        const parts *p) {
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
        return exact_row(m, vq, x, p->ex);
    int nc = 0;
    for (int j = 0; j < bins; j++) {
        const float t = n2[j] - 2.0f * a[j], e = c1[j] * xn + c0[j], lo = t - e;
        if (lo <= umin)
            p->cand[nc++] = j;
        else if (!(lo > umin)) /* NaN */
            return exact_row(m, vq, x, p->ex);
    }
    /* A loose bound (a large x next to closely spaced entries) can leave many candidates: one
     * product over the whole codebook is then cheaper than a call per candidate (same bits:
     * the exact path runs the same kernel on the same rows). */
    if (nc > bins / 8)
        return exact_row(m, vq, x, p->ex);
    /* the candidates in increasing j: the first of equal distances wins, as in nearest() */
    float best = 0.0f;
    int bi = -1;
    for (int i = 0; i < nc; i++) {
        const int j = p->cand[i];
        m->k->wt[vq->cb.type].matmul(&vq->cb, x, dq, p->ex, bins, 1, j, j + 1, &no_ws);
        const float d = n2[j] - 2.0f * p->ex[j];
        if (bi < 0 || d < best) {
            best = d;
            bi = j;
        }
    }
    return bi;
}

/* Codes of level vq for the n rows of z [n, q_dim] into codes[b * K] (b < n). */
static void search(const kstt_mimi *m, const kstt__mimi_vq *vq, const float *z, int n,
                   int32_t *codes, const parts *p) {
    const int K = m->num_codebooks, dq = m->cfg.q_dim, bins = m->cfg.bins;
    if (n <= SCREEN_MAX && vq->cb_lo.data) {
        kstt__matmul(m->pool, m->k, &vq->cb_lo, z, dq, p->sc, bins, n, &no_ws);
        for (int b = 0; b < n; b++)
            codes[(size_t)b * K] =
                screened_row(m, vq, z + (size_t)b * dq, p->sc + (size_t)b * bins, p);
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
