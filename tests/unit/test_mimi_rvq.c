/*
 * The Mimi quantizer (codec/mimi_rvq.c) on synthetic codebooks built to defeat its screened
 * search: exact duplicate entries (ties: the lowest index must win), clusters of entries that
 * differ only below int8 precision (identical screening copies: only the f32 rescoring can
 * separate them), queries placed on and between such entries, entries of very different norms,
 * and queries of very different sizes. At every kernel level the codes of one-row passes (the
 * screened search) and of many-row passes (the exact product) must equal an independent exact
 * search written here (the f32 product kernel, argmin of ||E_j||^2 - 2 x.E_j, ties to the
 * lowest j). The error bound itself is checked entry by entry: |d_j - t_j| <= c1_j ||x|| + c0_j
 * for the exact and the screened f32 distances.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec/mimi_internal.h"
#include "core/alloc.h"
#include "test.h"

#define DQ 64
#define BINS 300
#define NQ 4
#define ROWS 40

typedef struct {
    kstt_mimi m;
    kstt__mimi_vq vq[NQ];
    float *arena;
} fixture;

static float rnd(void) {
    return test_rand_uniform();
}

/* Codebook l: random rows of varied norms, then the adversarial ones. */
static void fill_codebook(float *e, int l) {
    for (int j = 0; j < BINS; j++) {
        const float scale = j % 17 == 0 ? 8.0f : j % 5 == 0 ? 0.05f : 1.0f;
        for (int i = 0; i < DQ; i++)
            e[j * DQ + i] = scale * rnd();
    }
    /* exact duplicates, both orders of magnitude */
    memcpy(e + 40 * DQ, e + 12 * DQ, DQ * sizeof(float));
    memcpy(e + 41 * DQ, e + 12 * DQ, DQ * sizeof(float));
    memcpy(e + 250 * DQ, e + 200 * DQ, DQ * sizeof(float));
    /* a cluster below int8 resolution: rows 60..75 = row 60 with each element moved by a few
     * f32 ulps (the same int8 copy) */
    for (int j = 61; j < 76; j++)
        for (int i = 0; i < DQ; i++)
            e[j * DQ + i] = e[60 * DQ + i] * (1.0f + (float)((i + j + l) % 7 - 3) * 1e-6f);
}

static void build(fixture *f, const kstt__kernels *k) {
    memset(f, 0, sizeof *f);
    kstt_mimi *m = &f->m;
    m->cfg.d_model = DQ;
    m->cfg.q_dim = DQ;
    m->cfg.bins = BINS;
    m->num_codebooks = NQ;
    m->k = k;
    m->vq = f->vq;
    m->proj_first.type = m->proj_rest.type = KSTT_WT_F32; /* NULL data: identity */
    const size_t lof = (kstt__mimi_vq_lo_bytes(k, BINS, DQ) + 63) / 64 * 16; /* floats */
    const size_t per = ((size_t)BINS * DQ + (BINS + 15) / 16 * 16 + lof + 2 * BINS + 64 + 15) / 16 *
                       16; /* each level 64-byte aligned */
    f->arena = kstt__calloc(per * NQ, sizeof(float));
    for (int l = 0; l < NQ; l++) {
        float *e = f->arena + per * l, *n2 = e + BINS * DQ;
        void *lo = n2 + (BINS + 15) / 16 * 16; /* 64-byte aligned, as the loader's */
        float *c1 = (float *)lo + lof, *c0 = c1 + BINS + 16;
        fill_codebook(e, l);
        for (int j = 0; j < BINS; j++) {
            float s = 0.0f;
            for (int i = 0; i < DQ; i++)
                s += e[j * DQ + i] * e[j * DQ + i];
            n2[j] = s;
        }
        kstt__mimi_vq *vq = &f->vq[l];
        vq->cb = (kstt__wmat){KSTT_WT_F32, BINS, DQ, DQ * sizeof(float), e};
        vq->norm2 = n2;
        kstt__mimi_vq_prepare(k, vq, lo, c1, c0);
    }
}

/* Query rows: on entries, between near-identical entries, scaled, and random. */
static void make_queries(const fixture *f, float *x) {
    const float *e0 = f->vq[0].cb.data;
    for (int b = 0; b < ROWS; b++) {
        float *xb = x + b * DQ;
        const int kind = b % 5;
        for (int i = 0; i < DQ; i++) {
            if (kind == 0) /* on a duplicated entry */
                xb[i] = e0[12 * DQ + i];
            else if (kind == 1) /* inside the sub-int8 cluster */
                xb[i] = e0[(60 + b % 16) * DQ + i] * (1.0f + 1e-7f * (float)(i % 3));
            else if (kind == 2) /* halfway between two entries */
                xb[i] = 0.5f * (e0[(b % 50) * DQ + i] + e0[(b % 50 + 1) * DQ + i]);
            else if (kind == 3) /* tiny */
                xb[i] = 1e-3f * rnd();
            else
                xb[i] = (b % 2 ? 30.0f : 1.0f) * rnd();
        }
    }
}

/* The exact RVQ, written independently of mimi_rvq.c. *ties counts rows whose best distance
 * is shared by several entries. */
static void reference(const fixture *f, const float *x, int n, int32_t *codes, int *ties) {
    const kstt__kernels *k = f->m.k;
    float z[DQ], sc[BINS];
    for (int b = 0; b < n; b++) {
        memcpy(z, x + b * DQ, sizeof z);
        for (int l = 0; l < NQ; l++) {
            const kstt__mimi_vq *vq = &f->vq[l];
            k->wt[KSTT_WT_F32].matmul(&vq->cb, z, DQ, sc, BINS, 1, 0, BINS, NULL);
            int bi = 0, nbest = 1;
            float best = vq->norm2[0] - 2.0f * sc[0];
            for (int j = 1; j < BINS; j++) {
                const float d = vq->norm2[j] - 2.0f * sc[j];
                if (d < best) {
                    best = d;
                    bi = j;
                    nbest = 1;
                } else if (d == best) {
                    nbest++;
                }
            }
            *ties += nbest > 1;
            codes[b * NQ + l] = bi;
            /* level 0 is the semantic codebook: the acoustic levels start from x again */
            if (l == 0)
                memcpy(z, x + b * DQ, sizeof z);
            else
                k->axpy_f32(-1.0f, (const float *)vq->cb.data + (size_t)bi * DQ, z, DQ);
        }
    }
}

static void check_level(const kstt__kernels *k) {
    fixture f;
    build(&f, k);
    float *x = malloc(sizeof(float) * ROWS * DQ);
    make_queries(&f, x);
    int32_t want[ROWS * NQ], got1[ROWS * NQ], got8[ROWS * NQ];
    int ties = 0;
    reference(&f, x, ROWS, want, &ties);
    for (int pass = 0; pass < 2; pass++) {
        /* one row per pass (screened search), then every row in one pass (past the screening
         * limit: the exact product over the whole codebook) */
        const int n_max = pass == 0 ? 1 : ROWS;
        kstt__mimi_rvq_ws ws = {kstt__calloc(kstt__mimi_rvq_ws_floats(&f.m, n_max), 4), n_max};
        kstt__mimi_rvq_encode(&f.m, x, ROWS, pass == 0 ? got1 : got8, &ws, NULL, NULL);
        kstt__free(ws.buf);
    }
    for (int i = 0; i < ROWS * NQ; i++) {
        if (got1[i] != want[i] || got8[i] != want[i]) {
            TEST_FAIL_("%s row %d level %d: screened %d, batched %d, exact %d", k->name, i / NQ,
                       i % NQ, got1[i], got8[i], want[i]);
            break;
        }
    }
    ASSERT_TRUE(ties >= 8); /* the duplicates were really hit */
    printf("  %s: %d rows x %d levels identical, %d exact ties\n", k->name, ROWS, NQ, ties);

    /* the bound, entry by entry */
    float a[BINS], s[BINS];
    for (int b = 0; b < ROWS; b++) {
        const float *xb = x + b * DQ;
        double ss = 0.0;
        for (int i = 0; i < DQ; i++)
            ss += (double)xb[i] * xb[i];
        for (int l = 0; l < NQ; l++) {
            const kstt__mimi_vq *vq = &f.vq[l];
            k->wt[KSTT_WT_F32].matmul(&vq->cb, xb, DQ, s, BINS, 1, 0, BINS, NULL);
            k->wt[vq->cb_lo.type].matmul(&vq->cb_lo, xb, DQ, a, BINS, 1, 0, BINS, NULL);
            for (int j = 0; j < BINS; j++) {
                const float d = vq->norm2[j] - 2.0f * s[j], t = vq->norm2[j] - 2.0f * a[j];
                const double e = (double)vq->c1[j] * sqrt(ss) + vq->c0[j];
                if (!(fabs((double)d - t) <= e)) {
                    TEST_FAIL_("%s bound: row %d level %d entry %d: |%.9g - %.9g| > %.3g", k->name,
                               b, l, j, d, t, e);
                    b = ROWS;
                    l = NQ;
                    break;
                }
            }
        }
    }
    free(x);
    kstt__free(f.arena);
}

static void test_codes_exact(void) {
    check_level(kstt__kernels_ref());
    const kstt_kernels want[2] = {KSTT_KERNELS_AVX2, KSTT_KERNELS_AVX512};
    for (int i = 0; i < 2; i++) {
        const kstt__kernels *k = kstt__kernels_get(want[i]);
        if (k->level == want[i])
            check_level(k);
    }
}

int main(void) {
    RUN(test_codes_exact);
    return test_summary();
}
