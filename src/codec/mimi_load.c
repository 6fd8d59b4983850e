/*
 * kstt_mimi_load: reads the encoder side of a Mimi safetensors file (decoder tensors are
 * ignored) into one model-owned f32 arena, so the file is closed again before returning.
 *
 * Loading runs the same walk over the tensors twice: the first pass only adds up the arena
 * size (from the config, without touching the file), the second checks every tensor's shape
 * (errors name the file, the tensor, and the expected and actual shapes), converts it to f32
 * and repacks it:
 *   - convolutions [C_out, C_in, K] -> [C_out, K, C_in] (a row is one receptive field over
 *     time-major input), folding weight_g / weight_v (w = g v / ||v||) when a file has them;
 *   - every product matrix (convolutions, transformer, projections) then into the GEMMs'
 *     panel layout (KSTT_WT_F32_PANEL, or KSTT_WT_BF16_PANEL with KSTT_MIMI_WEIGHTS_BF16; on a
 *     level with AMX-BF16 products the bf16 tiles of KSTT_WT_BF16X instead), so a streaming
 *     frame reads each weight once, sequentially, with no per-call packing;
 *   - codebooks (row-major f32 in every mode): E = embedding_sum / max(cluster_usage, 1e-5)
 *     row-wise, plus ||E_j||^2 and the quantizer's screening copy (mimi_rvq.c: int8 rows, or
 *     bf16 tiles on a level with AMX-BF16 products).
 * The attention projections are accepted under their checkpoint names (in_proj_weight,
 * out_proj.weight) or the module names (in_projs.0.weight, out_projs.0.weight).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codec/mimi_internal.h"
#include "core/alloc.h"
#include "core/pool.h"
#include "core/status.h"
#include "io/safetensors.h"

typedef struct {
    const kstt__st_file *f;
    int counting;           /* pass 1: sizes only */
    int bf16;               /* product matrices stored as bf16 panels (KSTT_MIMI_WEIGHTS_BF16) */
    const kstt__kernels *k; /* the level the products will run at */
    float *arena;
    size_t used;     /* floats taken */
    float *tmp;      /* a tensor in PyTorch layout before repacking */
    float *tmp2;     /* a matrix in row-major [rows, cols] layout before packing (tmp_need) */
    size_t tmp_need; /* floats of each */
    char *err;
    size_t errlen;
} loader;

#define TRY(x) KSTT__TRY(x)

/* Takes n floats from the arena (64-byte aligned slices); NULL while counting. */
static float *take(loader *L, size_t n) {
    const size_t off = L->used;
    L->used += (n + 15) & ~(size_t)15;
    return L->counting ? NULL : L->arena + off;
}

static void need_tmp(loader *L, size_t n) {
    if (n > L->tmp_need)
        L->tmp_need = n;
}

/* Reads tensor `name` of the given shape, converted to f32, into dst. */
static int read_tensor(loader *L, const char *name, int ndim, const int64_t *shape, float *dst) {
    const kstt__tensor *t;
    TRY(kstt__st_get(L->f, name, ndim, shape, &t, L->err, L->errlen));
    return kstt__st_to_f32(L->f, t, dst, L->err, L->errlen);
}

static int load_vec(loader *L, const float **out, const char *name, int n) {
    float *p = take(L, (size_t)n);
    *out = p;
    if (L->counting)
        return KSTT_OK;
    const int64_t shape[1] = {n};
    return read_tensor(L, name, 1, shape, p);
}

/* bf16 matrices as BF16X tiles: the level multiplies them on the AMX tile unit
 * (x86/bf16_amx.c); else bf16 panels. */
static int bf16_tiles(const loader *L) {
    return L->bf16 && L->k->wt[KSTT_WT_BF16X].matmul != NULL;
}

/* Arena floats of a packed [rows, cols] product matrix. */
static size_t mat_floats(const loader *L, long rows, long cols) {
    if (bf16_tiles(L))
        return (kstt__bf16x_elems(rows, cols) + 1) / 2;
    const size_t n = kstt__f32_panel_floats(rows, cols);
    return L->bf16 ? (n + 1) / 2 : n;
}

/* The row-major src [rows, cols] packed into dst (mat_floats of them) for the products: the
 * GEMMs' panel layout, so a streaming call reads each weight once, in order (kernels.h); f32,
 * or rounded to bf16. */
static void pack_mat(const loader *L, kstt__wmat *w, const float *src, long rows, long cols,
                     float *dst) {
    if (bf16_tiles(L))
        kstt__bf16x_pack(w, src, rows, cols, cols, (uint16_t *)(void *)dst);
    else if (L->bf16)
        kstt__bf16_panel_pack(w, src, rows, cols, cols, (uint16_t *)(void *)dst);
    else
        kstt__f32_panel_pack(w, src, rows, cols, cols, dst);
}

static void set_wmat(kstt__wmat *w, float *data, long rows, long cols) {
    w->type = KSTT_WT_F32;
    w->rows = rows;
    w->cols = cols;
    w->row_bytes = (size_t)cols * sizeof(float);
    w->data = data;
}

/* A [rows, cols] matrix stored under `name` (or `alt` when `name` is absent), or, with
 * k1 set, a 1x1 convolution [rows, cols, 1]. */
static int load_mat(loader *L, kstt__wmat *w, const char *name, const char *alt, long rows,
                    long cols, int k1) {
    float *p = take(L, mat_floats(L, rows, cols));
    set_wmat(w, p, rows, cols);
    need_tmp(L, (size_t)rows * (size_t)cols);
    if (L->counting)
        return KSTT_OK;
    const int64_t shape[3] = {rows, cols, 1};
    if (alt && !kstt__st_find(L->f, name) && kstt__st_find(L->f, alt))
        name = alt;
    TRY(read_tensor(L, name, k1 ? 3 : 2, shape, L->tmp));
    pack_mat(L, w, L->tmp, rows, cols, p);
    return KSTT_OK;
}

/* A convolution `prefix`.weight [c_out, c_in, k] (+ `prefix`.bias [c_out]), repacked. */
static int load_conv(loader *L, kstt__mimi_conv *c, const char *prefix, int c_in, int c_out, int k,
                     int stride, int has_bias) {
    c->c_in = c_in;
    c->c_out = c_out;
    c->k = k;
    c->stride = stride;
    c->state = k - stride;
    const size_t n = (size_t)c_out * (size_t)c_in * (size_t)k;
    float *w = take(L, mat_floats(L, c_out, (long)k * c_in));
    float *b = has_bias ? take(L, (size_t)c_out) : NULL;
    set_wmat(&c->w, w, c_out, (long)k * c_in);
    c->bias = b;
    need_tmp(L, n);
    if (L->counting)
        return KSTT_OK;

    char name[256], gname[256];
    const int64_t shape[3] = {c_out, c_in, k};
    snprintf(name, sizeof name, "%s.weight", prefix);
    snprintf(gname, sizeof gname, "%s.weight_g", prefix);
    if (kstt__st_find(L->f, name) || !kstt__st_find(L->f, gname)) {
        TRY(read_tensor(L, name, 3, shape, L->tmp));
    } else {
        /* weight norm: w[o] = g[o] * v[o] / ||v[o]||, the norm over (c_in, k) */
        char vname[256];
        snprintf(vname, sizeof vname, "%s.weight_v", prefix);
        const int64_t gshape[3] = {c_out, 1, 1};
        TRY(read_tensor(L, vname, 3, shape, L->tmp));
        TRY(read_tensor(L, gname, 3, gshape, L->tmp2)); /* g parked until the repack */
        const size_t per = (size_t)c_in * (size_t)k;
        for (int o = 0; o < c_out; o++) {
            float *v = L->tmp + (size_t)o * per;
            double ss = 0.0;
            for (size_t i = 0; i < per; i++)
                ss += (double)v[i] * v[i];
            const float scale = ss > 0.0 ? (float)(L->tmp2[o] / sqrt(ss)) : 0.0f;
            for (size_t i = 0; i < per; i++)
                v[i] *= scale;
        }
    }
    /* [c_out][c_in][k] -> [c_out][k][c_in], then packed */
    for (int o = 0; o < c_out; o++) {
        const float *src = L->tmp + (size_t)o * c_in * k;
        float *dst = L->tmp2 + (size_t)o * c_in * k;
        for (int i = 0; i < c_in; i++)
            for (int j = 0; j < k; j++)
                dst[(size_t)j * c_in + i] = src[(size_t)i * k + j];
    }
    pack_mat(L, &c->w, L->tmp2, c_out, (long)k * c_in, w);
    if (has_bias) {
        snprintf(name, sizeof name, "%s.bias", prefix);
        const int64_t bshape[1] = {c_out};
        TRY(read_tensor(L, name, 1, bshape, b));
    }
    return KSTT_OK;
}

/* One VQ layer `prefix`._codebook.{embedding_sum, cluster_usage}, and its int8 screening copy
 * (mimi_rvq.c). */
static int load_codebook(loader *L, kstt__mimi_vq *vq, const char *prefix, int bins, int dim) {
    float *e = take(L, (size_t)bins * dim);
    float *n2 = take(L, (size_t)bins);
    float *lo = take(L, (kstt__mimi_vq_lo_bytes(L->k, bins, dim) + 3) / 4); /* screening copy */
    float *c1 = take(L, (size_t)bins), *c0 = take(L, (size_t)bins);
    set_wmat(&vq->cb, e, bins, dim);
    vq->norm2 = n2;
    need_tmp(L, (size_t)bins);
    if (L->counting)
        return KSTT_OK;
    char name[256];
    const int64_t eshape[2] = {bins, dim}, ushape[1] = {bins};
    snprintf(name, sizeof name, "%s._codebook.embedding_sum", prefix);
    TRY(read_tensor(L, name, 2, eshape, e));
    snprintf(name, sizeof name, "%s._codebook.cluster_usage", prefix);
    TRY(read_tensor(L, name, 1, ushape, L->tmp));
    for (int j = 0; j < bins; j++) {
        const float u = L->tmp[j] > 1e-5f ? L->tmp[j] : 1e-5f;
        float *row = e + (size_t)j * dim;
        float s = 0.0f;
        for (int i = 0; i < dim; i++) {
            row[i] = row[i] / u;
            s += row[i] * row[i];
        }
        n2[j] = s;
    }
    kstt__mimi_vq_prepare(L->k, vq, lo, c1, c0);
    return KSTT_OK;
}

/* The whole walk; identical in both passes. */
static int walk(loader *L, kstt_mimi *m) {
    const kstt__mimi_config *c = &m->cfg;
    char p[256], alt[256];
    const int n = c->n_ratios;
    int ch = c->n_filters;
    TRY(load_conv(L, &m->conv_in, "encoder.model.0.conv.conv", 1, ch, c->kernel_size, 1, 1));
    int t_frame = c->frame_size;
    for (int s = 0; s < n; s++) {
        kstt__mimi_stage *st = &m->stages[s];
        const int ratio = c->ratios[n - 1 - s]; /* the encoder runs the ratios reversed */
        const int idx = 1 + 3 * s;              /* resblock, ELU, conv per stage */
        st->channels = ch;
        st->ratio = ratio;
        st->t_frame = t_frame;
        snprintf(p, sizeof p, "encoder.model.%d.block.1.conv.conv", idx);
        TRY(load_conv(L, &st->res_a, p, ch, ch / c->compress, c->residual_kernel_size, 1, 1));
        snprintf(p, sizeof p, "encoder.model.%d.block.3.conv.conv", idx);
        TRY(load_conv(L, &st->res_b, p, ch / c->compress, ch, 1, 1, 1));
        snprintf(p, sizeof p, "encoder.model.%d.conv.conv", idx + 2);
        TRY(load_conv(L, &st->down, p, ch, 2 * ch, 2 * ratio, ratio, 1));
        ch *= 2;
        t_frame /= ratio;
    }
    snprintf(p, sizeof p, "encoder.model.%d.conv.conv", 2 + 3 * n);
    TRY(load_conv(L, &m->conv_out, p, ch, c->dimension, c->last_kernel_size, 1, 1));

    const int D = c->d_model;
    for (int l = 0; l < c->num_layers; l++) {
        kstt__mimi_layer *ly = &m->layers[l];
        const char *pre = "encoder_transformer.transformer.layers";
        snprintf(p, sizeof p, "%s.%d.norm1.weight", pre, l);
        TRY(load_vec(L, &ly->norm1_w, p, D));
        snprintf(p, sizeof p, "%s.%d.norm1.bias", pre, l);
        TRY(load_vec(L, &ly->norm1_b, p, D));
        snprintf(p, sizeof p, "%s.%d.self_attn.in_proj_weight", pre, l);
        snprintf(alt, sizeof alt, "%s.%d.self_attn.in_projs.0.weight", pre, l);
        TRY(load_mat(L, &ly->in_proj, p, alt, 3L * D, D, 0));
        snprintf(p, sizeof p, "%s.%d.self_attn.out_proj.weight", pre, l);
        snprintf(alt, sizeof alt, "%s.%d.self_attn.out_projs.0.weight", pre, l);
        TRY(load_mat(L, &ly->out_proj, p, alt, D, D, 0));
        snprintf(p, sizeof p, "%s.%d.norm2.weight", pre, l);
        TRY(load_vec(L, &ly->norm2_w, p, D));
        snprintf(p, sizeof p, "%s.%d.norm2.bias", pre, l);
        TRY(load_vec(L, &ly->norm2_b, p, D));
        snprintf(p, sizeof p, "%s.%d.linear1.weight", pre, l);
        TRY(load_mat(L, &ly->lin1, p, NULL, c->dim_feedforward, D, 0));
        snprintf(p, sizeof p, "%s.%d.linear2.weight", pre, l);
        TRY(load_mat(L, &ly->lin2, p, NULL, D, c->dim_feedforward, 0));
        ly->ls1 = ly->ls2 = NULL;
        if (c->layer_scale) {
            snprintf(p, sizeof p, "%s.%d.layer_scale_1.scale", pre, l);
            TRY(load_vec(L, &ly->ls1, p, D));
            snprintf(p, sizeof p, "%s.%d.layer_scale_2.scale", pre, l);
            TRY(load_vec(L, &ly->ls2, p, D));
        }
    }
    TRY(load_conv(L, &m->downsample, "downsample.conv.conv.conv", D, D, 2 * c->ds_stride,
                  c->ds_stride, 0));

    /* split RVQ: the semantic codebook, then num_codebooks - 1 acoustic levels */
    const int dq = c->q_dim;
    const char *proj[2] = {"quantizer.rvq_first.input_proj.weight",
                           "quantizer.rvq_rest.input_proj.weight"};
    kstt__wmat *pw[2] = {&m->proj_first, &m->proj_rest};
    for (int g = 0; g < (m->num_codebooks > 1 ? 2 : 1); g++) {
        if (!L->counting && dq == D && !kstt__st_find(L->f, proj[g])) {
            set_wmat(pw[g], NULL, dq, D); /* no projection: the dimensions agree, none stored */
            continue;
        }
        TRY(load_mat(L, pw[g], proj[g], NULL, dq, D, 1));
    }
    TRY(load_codebook(L, &m->vq[0], "quantizer.rvq_first.vq.layers.0", c->bins, dq));
    for (int l = 1; l < m->num_codebooks; l++) {
        snprintf(p, sizeof p, "quantizer.rvq_rest.vq.layers.%d", l - 1);
        TRY(load_codebook(L, &m->vq[l], p, c->bins, dq));
    }
    return KSTT_OK;
}

kstt_mimi_params kstt_mimi_params_default(void) {
    kstt_mimi_params p;
    memset(&p, 0, sizeof p);
    p.config_path = NULL;
    p.num_codebooks = 0;
    p.pool = NULL;
    p.kernels = KSTT_KERNELS_AUTO;
    p.weights = KSTT_MIMI_WEIGHTS_AUTO;
    return p;
}

void kstt_mimi_free(kstt_mimi *m) {
    if (!m)
        return;
    kstt__free(m->arena);
    kstt__free(m->layers);
    kstt__free(m->vq);
    kstt__free(m);
}

int kstt_mimi_load(kstt_mimi **out, const char *path, const kstt_mimi_params *params, char *err,
                   size_t errlen) {
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_mimi_load: out is NULL");
    *out = NULL;
    if (!path)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_mimi_load: path is NULL");
    const kstt_mimi_params p = params ? *params : kstt_mimi_params_default();
    if (p.kernels < KSTT_KERNELS_AUTO || p.kernels > KSTT_KERNELS_AVX512)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_mimi_load: kernels %d out of range",
                          (int)p.kernels);
    if (p.weights < KSTT_MIMI_WEIGHTS_AUTO || p.weights > KSTT_MIMI_WEIGHTS_BF16)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_mimi_load: weights %d out of range",
                          (int)p.weights);

    kstt__mimi_config cfg;
    kstt__mimi_config_default(&cfg);
    if (p.config_path)
        TRY(kstt__mimi_config_load(&cfg, p.config_path, err, errlen));
    if (p.num_codebooks < 0 || p.num_codebooks > cfg.n_q)
        return kstt__errf(err, errlen, KSTT_EINVAL,
                          "%s: num_codebooks %d out of range 1..%d (0 = all)", path,
                          p.num_codebooks, cfg.n_q);

    int rc;
    kstt__st_file *f = NULL;
    loader L;
    memset(&L, 0, sizeof L);
    kstt_mimi *m = kstt__calloc(1, sizeof *m);
    if (!m)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    m->cfg = cfg;
    m->num_codebooks = p.num_codebooks ? p.num_codebooks : cfg.n_q;
    m->n_stages = cfg.n_ratios;
    m->split = cfg.n_ratios >= 2 ? cfg.n_ratios - 2 : 0;
    m->pool = p.pool;
    m->k = kstt__kernels_get(p.kernels);
    m->layers = kstt__calloc(cfg.num_layers > 0 ? (size_t)cfg.num_layers : 1, sizeof *m->layers);
    m->vq = kstt__calloc((size_t)m->num_codebooks, sizeof *m->vq);
    if (!m->layers || !m->vq) {
        rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
        goto fail;
    }

    rc = kstt__st_open(&f, path, err, errlen);
    if (rc != KSTT_OK)
        goto fail;
    L.f = f;
    L.bf16 = p.weights == KSTT_MIMI_WEIGHTS_BF16;
    L.k = m->k;
    m->kv_half = L.bf16;
    L.err = err;
    L.errlen = errlen;
    L.counting = 1;
    rc = walk(&L, m);
    if (rc != KSTT_OK)
        goto fail;
    m->arena = kstt__calloc(L.used, sizeof(float));
    L.tmp = kstt__calloc(L.tmp_need ? L.tmp_need : 1, sizeof(float));
    L.tmp2 = kstt__calloc(L.tmp_need ? L.tmp_need : 1, sizeof(float));
    if (!m->arena || !L.tmp || !L.tmp2) {
        rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory (%zu MB of weights)", path,
                        L.used * sizeof(float) >> 20);
        goto fail;
    }
    L.arena = m->arena;
    L.used = 0;
    L.counting = 0;
    rc = walk(&L, m);
    if (rc != KSTT_OK)
        goto fail;
    kstt__free(L.tmp);
    kstt__free(L.tmp2);
    kstt__st_close(f);
    *out = m;
    return KSTT_OK;

fail:
    kstt__free(L.tmp);
    kstt__free(L.tmp2);
    kstt__st_close(f);
    kstt_mimi_free(m);
    return rc;
}

int kstt_mimi_num_codebooks(const kstt_mimi *m) {
    return m ? m->num_codebooks : 0;
}
int kstt_mimi_sample_rate(const kstt_mimi *m) {
    return m ? m->cfg.sample_rate : 0;
}
int kstt_mimi_frame_size(const kstt_mimi *m) {
    return m ? m->cfg.frame_size : 0;
}
