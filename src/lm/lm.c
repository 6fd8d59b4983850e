/*
 * STT LM: loading (name lookup, shape and dtype checks) and the batched step. See lm.h for the
 * computation. The step is a loop over layers of kstt__matmul calls (batch = streams, rows
 * split across the pool) plus O(D) element-wise work per stream; the attention over each
 * stream's own KV ring is split across the pool by (stream, head) pairs, one fused kernel call
 * (attn_kv_f32 or attn_kv_f16) per pair.
 *
 * KV ring: position p of a stream is stored in slot p % context of every (layer, head) block
 * ([n_layers][n_heads][context][head_dim], f32 or f16). At position n the query sees positions
 * max(0, n - context + 1) .. n, itself included, visited in increasing position order (the
 * order of the reference's sequence), so older entries are simply overwritten.
 */
#include "lm/lm.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/pool.h"
#include "core/status.h"
#include "quant/quant.h"

#define RMS_EPS 1e-8f

/* ---- loading ------------------------------------------------------------------------- */

/* The name under which a tensor exists: `name`, else `alt` (may be NULL); `name` when neither
 * does, so that the error that follows names the canonical key. */
static const char *pick(const kstt__weights *f, const char *name, const char *alt) {
    if (kstt__weights_has(f, name) || !alt)
        return name;
    return kstt__weights_has(f, alt) ? alt : name;
}

/* A 2-D weight of any type the file holds (float or block-quantised), rows/cols -1: any. */
static int get_mat(const kstt__weights *f, const char *name, const char *alt, int64_t rows,
                   int64_t cols, kstt__wmat *m, char *err, size_t errlen) {
    return kstt__weights_mat(f, pick(f, name, alt), rows, cols, m, err, errlen);
}

/* The same for a matrix used only in products: q8_0 / q4_0 / q4_K are repacked at load into
 * the kernels' layouts (io/weights.h, quant/repack.h). */
static int get_pmat(const kstt__weights *f, const char *name, const char *alt, int64_t rows,
                    int64_t cols, kstt__wmat *m, char *err, size_t errlen) {
    return kstt__weights_mat_packed(f, pick(f, name, alt), rows, cols, m, err, errlen);
}

/* A norm weight of D elements, converted to f32 into dst: stored [D] (MLX) or [1, 1, D]
 * (PyTorch/candle); the reader checks the element count, not the rank. */
static int get_norm(const kstt__weights *f, const char *name, const char *alt, int64_t dim,
                    float *dst, char *err, size_t errlen) {
    return kstt__weights_f32(f, pick(f, name, alt), dim, dst, err, errlen);
}

static int is_quantized(const kstt__wmat *m) {
    return m->type == KSTT_WT_Q8_0 || m->type == KSTT_WT_Q4_0 || m->type == KSTT_WT_Q4_K ||
           m->type == KSTT_WT_Q8_0R || m->type == KSTT_WT_Q4_0R || m->type == KSTT_WT_Q4_KR;
}

/* KSTT_KV_AUTO: f16 when any matrix is block-quantized. Such a model's logits already carry a
 * percent-level error, which half keys and values (11 significant bits) hardly add to, while
 * the exact float models keep the f32 ring the golden tolerance needs. */
static kstt_kv_type resolve_kv(const kstt__lm *lm, kstt_kv_type kv) {
    if (kv != KSTT_KV_AUTO)
        return kv;
    int q = is_quantized(&lm->text_emb) || is_quantized(&lm->text_linear);
    for (int i = 0; i < lm->n_q; i++)
        q |= is_quantized(&lm->emb[i]);
    for (int l = 0; l < lm->n_layers; l++) {
        const kstt__lm_layer *L = &lm->layers[l];
        q |= is_quantized(&L->in_proj) || is_quantized(&L->out_proj) ||
             is_quantized(&L->linear_in) || is_quantized(&L->linear_out);
    }
    for (int h = 0; h < lm->n_vad; h++)
        q |= is_quantized(&lm->vad[h]);
    return q ? KSTT_KV_F16 : KSTT_KV_F32;
}

int kstt__lm_load(kstt__lm **out, const kstt__weights *f, const kstt__stt_config *cfg,
                  kstt_pool *pool, kstt_kernels kernels, char *err, size_t errlen) {
    return kstt__lm_load_kv(out, f, cfg, pool, kernels, KSTT_KV_AUTO, err, errlen);
}

int kstt__lm_load_kv(kstt__lm **out, const kstt__weights *f, const kstt__stt_config *cfg,
                     kstt_pool *pool, kstt_kernels kernels, kstt_kv_type kv, char *err,
                     size_t errlen) {
    *out = NULL;
    const char *path = kstt__weights_path(f);
    if (kv != KSTT_KV_AUTO && kv != KSTT_KV_F32 && kv != KSTT_KV_F16)
        return kstt__errf(err, errlen, KSTT_EINVAL, "%s: KV type %d out of range", path, (int)kv);
    kstt__lm *lm = kstt__calloc(1, sizeof *lm);
    if (!lm)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    int rc = KSTT_ENOMEM;
    const int64_t D = cfg->dim;
    lm->dim = cfg->dim;
    lm->n_heads = cfg->num_heads;
    lm->head_dim = cfg->dim / cfg->num_heads;
    lm->n_layers = cfg->num_layers;
    lm->n_q = cfg->n_q;
    lm->card = cfg->card;
    lm->text_card = cfg->text_card;
    lm->context = cfg->context;
    lm->max_period = (float)cfg->max_period;
    lm->k = kstt__kernels_get(kernels);
    lm->pool = pool;
    lm->file = f;

    lm->emb = kstt__calloc((size_t)lm->n_q, sizeof *lm->emb);
    lm->layers = kstt__calloc((size_t)lm->n_layers, sizeof *lm->layers);
    lm->alphas = kstt__calloc((size_t)(2 * lm->n_layers + 1) * (size_t)D, sizeof(float));
    if (!lm->emb || !lm->layers || !lm->alphas) {
        rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
        goto fail;
    }

    char n1[128], n2[128];
    if ((rc = get_mat(f, "text_emb.weight", NULL, cfg->text_card + 1, D, &lm->text_emb, err,
                      errlen)) != KSTT_OK)
        goto fail;
    for (int q = 0; q < lm->n_q; q++) {
        snprintf(n1, sizeof n1, "emb.%d.weight", q);
        snprintf(n2, sizeof n2, "audio_embs.%d.weight", q);
        if ((rc = get_mat(f, n1, n2, cfg->card + 1, D, &lm->emb[q], err, errlen)) != KSTT_OK)
            goto fail;
    }

    for (int l = 0; l < lm->n_layers; l++) {
        kstt__lm_layer *L = &lm->layers[l];
        float *a1 = lm->alphas + (size_t)(2 * l) * (size_t)D, *a2 = a1 + D;
        char p[64];
        snprintf(p, sizeof p, "transformer.layers.%d.", l);
#define NAME(buf, suffix) (snprintf(buf, sizeof buf, "%s%s", p, suffix), buf)
        if ((rc = get_norm(f, NAME(n1, "norm1.alpha"), NAME(n2, "norm1.weight"), D, a1, err,
                           errlen)) != KSTT_OK)
            goto fail;
        if ((rc = get_norm(f, NAME(n1, "norm2.alpha"), NAME(n2, "norm2.weight"), D, a2, err,
                           errlen)) != KSTT_OK)
            goto fail;
        L->norm1 = a1;
        L->norm2 = a2;
        if ((rc = get_pmat(f, NAME(n1, "self_attn.in_proj_weight"),
                           NAME(n2, "self_attn.in_proj.weight"), 3 * D, D, &L->in_proj, err,
                           errlen)) != KSTT_OK)
            goto fail;
        if ((rc = get_pmat(f, NAME(n1, "self_attn.out_proj.weight"), NULL, D, D, &L->out_proj, err,
                           errlen)) != KSTT_OK)
            goto fail;
        /* H comes from the weights (the config's hidden_scale rule differs between the
         * reference implementations; the shapes do not). */
        if ((rc = get_pmat(f, NAME(n1, "gating.linear_out.weight"), NULL, D, -1, &L->linear_out,
                           err, errlen)) != KSTT_OK)
            goto fail;
        int64_t H = L->linear_out.cols;
        if (l == 0) {
            if (H <= 0 || H > (1 << 24)) {
                rc = kstt__errf(err, errlen, KSTT_EFORMAT, "%s: tensor '%s' has %lld columns", path,
                                n1, (long long)H);
                goto fail;
            }
            lm->hidden = (int)H;
        } else if (H != lm->hidden) {
            rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                            "%s: tensor '%s' has shape [%lld, %lld]; expected [%lld, %d]", path, n1,
                            (long long)D, (long long)H, (long long)D, lm->hidden);
            goto fail;
        }
        if ((rc = get_pmat(f, NAME(n1, "gating.linear_in.weight"), NULL, 2 * H, D, &L->linear_in,
                           err, errlen)) != KSTT_OK)
            goto fail;
#undef NAME
    }
    float *ao = lm->alphas + (size_t)(2 * lm->n_layers) * (size_t)D;
    if ((rc = get_norm(f, "out_norm.alpha", "out_norm.weight", D, ao, err, errlen)) != KSTT_OK)
        goto fail;
    lm->out_norm = ao;
    if ((rc = get_pmat(f, "text_linear.weight", NULL, cfg->text_card, D, &lm->text_linear, err,
                       errlen)) != KSTT_OK)
        goto fail;

    /* Extra (VAD) heads: used when the file has them. A config that declares N heads while the
     * file has some other non-zero number is inconsistent; a file without any (the PyTorch
     * release of the 1B model) gives a model without VAD. */
    int nv = 0;
    for (;;) {
        snprintf(n1, sizeof n1, "extra_heads.%d.weight", nv);
        if (!kstt__weights_has(f, n1) || nv >= 64)
            break;
        nv++;
    }
    if (nv > 0 && cfg->extra_heads_num_heads > 0 && nv != cfg->extra_heads_num_heads) {
        rc = kstt__errf(err, errlen, KSTT_EFORMAT,
                        "%s: %d extra heads in the file but extra_heads_num_heads is %d", path, nv,
                        cfg->extra_heads_num_heads);
        goto fail;
    }
    if (nv > 0) {
        lm->vad = kstt__calloc((size_t)nv, sizeof *lm->vad);
        if (!lm->vad) {
            rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
        int64_t vd = cfg->extra_heads_num_heads > 0 ? cfg->extra_heads_dim : -1;
        for (int h = 0; h < nv; h++) {
            snprintf(n1, sizeof n1, "extra_heads.%d.weight", h);
            if ((rc = get_mat(f, n1, NULL, vd, D, &lm->vad[h], err, errlen)) != KSTT_OK)
                goto fail;
            vd = lm->vad[h].rows;
        }
        lm->n_vad = nv;
        lm->vad_dim = (int)vd;
    }
    lm->kv_type = resolve_kv(lm, kv);
    *out = lm;
    return KSTT_OK;
fail:
    kstt__lm_free(lm);
    return rc;
}

void kstt__lm_free(kstt__lm *lm) {
    if (!lm)
        return;
    kstt__free(lm->emb);
    kstt__free(lm->layers);
    kstt__free(lm->alphas);
    kstt__free(lm->vad);
    kstt__free(lm);
}

/* ---- per-stream cache and work area --------------------------------------------------- */

static size_t kv_elem(const kstt__lm *lm) {
    return lm->kv_type == KSTT_KV_F16 ? sizeof(uint16_t) : sizeof(float);
}

size_t kstt__lm_kv_bytes(const kstt__lm *lm) {
    return 2 * (size_t)lm->n_layers * (size_t)lm->context * (size_t)lm->dim * kv_elem(lm);
}

int kstt__lm_cache_init(kstt__lm_cache *c, const kstt__lm *lm) {
    memset(c, 0, sizeof *c);
    size_t n = (size_t)lm->n_layers * (size_t)lm->context * (size_t)lm->dim;
    c->k = kstt__calloc(n, kv_elem(lm));
    c->v = kstt__calloc(n, kv_elem(lm));
    if (!c->k || !c->v) {
        kstt__lm_cache_free(c);
        return KSTT_ENOMEM;
    }
    return KSTT_OK;
}

/* Entries at positions >= pos are never read, so resetting the position is enough. */
void kstt__lm_cache_reset(kstt__lm_cache *c) {
    c->pos = 0;
}

void kstt__lm_cache_free(kstt__lm_cache *c) {
    if (!c)
        return;
    kstt__free(c->k);
    kstt__free(c->v);
    c->k = c->v = NULL;
}

static size_t ws_need(const kstt__wmat *m, int cap, size_t cur) {
    size_t s = kstt__matmul_ws_size(m->type, (long)m->cols, cap);
    return s > cur ? s : cur;
}

int kstt__lm_work_new(kstt__lm_work **out, const kstt__lm *lm, int cap) {
    *out = NULL;
    if (cap < 1)
        return KSTT_EINVAL;
    kstt__lm_work *w = kstt__calloc(1, sizeof *w);
    if (!w)
        return KSTT_ENOMEM;
    const size_t B = (size_t)cap, D = (size_t)lm->dim, H = (size_t)lm->hidden;
    w->cap = cap;
    w->nth = kstt__pool_size(lm->pool);
    w->x = kstt__calloc(B * D, sizeof(float));
    w->xn = kstt__calloc(B * D, sizeof(float));
    w->qkv = kstt__calloc(B * 3 * D, sizeof(float));
    w->att = kstt__calloc(B * D, sizeof(float));
    w->g = kstt__calloc(B * 2 * H, sizeof(float));
    w->h = kstt__calloc(B * H, sizeof(float));
    w->proj = kstt__calloc(B * D, sizeof(float));
    w->scores = kstt__calloc((size_t)w->nth * (size_t)lm->context, sizeof(float));
    w->out = kstt__calloc(B * D, sizeof(float));
    w->logits = kstt__calloc(B * (size_t)lm->text_card, sizeof(float));
    w->vad = kstt__calloc(B * (size_t)(lm->n_vad * lm->vad_dim) + 1, sizeof(float));
    w->erow = kstt__calloc(D, sizeof(float));
    size_t ws = 0;
    for (int l = 0; l < lm->n_layers; l++) {
        const kstt__lm_layer *L = &lm->layers[l];
        ws = ws_need(&L->in_proj, cap, ws);
        ws = ws_need(&L->out_proj, cap, ws);
        ws = ws_need(&L->linear_in, cap, ws);
        ws = ws_need(&L->linear_out, cap, ws);
    }
    ws = ws_need(&lm->text_linear, cap, ws);
    for (int h = 0; h < lm->n_vad; h++)
        ws = ws_need(&lm->vad[h], cap, ws);
    w->ws.cap = ws;
    w->ws.buf = ws ? kstt__alloc(ws) : NULL;
    if (!w->x || !w->xn || !w->qkv || !w->att || !w->g || !w->h || !w->proj || !w->scores ||
        !w->out || !w->logits || !w->vad || !w->erow || (ws && !w->ws.buf)) {
        kstt__lm_work_free(w);
        return KSTT_ENOMEM;
    }
    *out = w;
    return KSTT_OK;
}

void kstt__lm_work_free(kstt__lm_work *w) {
    if (!w)
        return;
    kstt__free(w->x);
    kstt__free(w->xn);
    kstt__free(w->qkv);
    kstt__free(w->att);
    kstt__free(w->g);
    kstt__free(w->h);
    kstt__free(w->proj);
    kstt__free(w->scores);
    kstt__free(w->out);
    kstt__free(w->logits);
    kstt__free(w->vad);
    kstt__free(w->erow);
    kstt__free(w->ws.buf);
    kstt__free(w);
}

/* ---- the step ------------------------------------------------------------------------- */

/* x (+)= row `r` of an embedding table of any weight type, converted to f32 (through tmp
 * when adding: the same f32 sums as adding each converted element). */
static void emb_row(const kstt__wmat *t, int64_t r, float *x, float *tmp, long n, int add) {
    if (!add) {
        kstt__wmat_row_f32(t, r, x);
        return;
    }
    kstt__wmat_row_f32(t, r, tmp);
    for (long i = 0; i < n; i++)
        x[i] += tmp[i];
}

typedef struct {
    const kstt__lm *lm;
    kstt__lm_work *w;
    kstt__lm_cache *const *caches;
    int batch, layer;
} attn_job;

static void attn_task(void *arg, int ith, int nth) {
    const attn_job *j = arg;
    const kstt__lm *lm = j->lm;
    const int hd = lm->head_dim, D = lm->dim, ctx = lm->context;
    const float scale = 1.0f / sqrtf((float)hd);
    KSTT_ASSERT(ith < j->w->nth);
    float *s = j->w->scores + (size_t)ith * (size_t)ctx;
    long i0, i1;
    kstt__split_range((long)j->batch * lm->n_heads, 1, ith, nth, &i0, &i1);
    for (long it = i0; it < i1; it++) {
        const int b = (int)(it / lm->n_heads), h = (int)(it % lm->n_heads);
        const kstt__lm_cache *c = j->caches[b];
        const float *q = j->w->qkv + (size_t)b * 3 * D + (size_t)h * hd;
        /* first element of this (layer, head)'s [context, head_dim] block */
        const size_t base =
            ((size_t)j->layer * (size_t)lm->n_heads + (size_t)h) * (size_t)ctx * (size_t)hd;
        const int64_t pos = c->pos;
        const long n = pos + 1 < ctx ? (long)(pos + 1) : ctx;
        const long s0 = (long)((pos - n + 1) % ctx); /* slot of the oldest position seen */
        float *o = j->w->att + (size_t)b * D + (size_t)h * hd;
        if (lm->kv_type == KSTT_KV_F16)
            lm->k->attn_kv_f16(q, (const uint16_t *)c->k + base, (const uint16_t *)c->v + base, s0,
                               n, ctx, hd, scale, s, o);
        else
            lm->k->attn_kv_f32(q, (const float *)c->k + base, (const float *)c->v + base, s0, n,
                               ctx, hd, scale, s, o);
    }
}

/* Stores a step's rotated keys and values ([D] each, heads concatenated) at `slot` of every
 * head's block of layer l, converted to the ring's type. */
static void kv_store(const kstt__lm *lm, kstt__lm_cache *c, int l, long slot, const float *kk,
                     const float *v) {
    const int hd = lm->head_dim;
    for (int h = 0; h < lm->n_heads; h++) {
        const size_t off =
            (((size_t)l * (size_t)lm->n_heads + (size_t)h) * (size_t)lm->context + (size_t)slot) *
            (size_t)hd;
        if (lm->kv_type == KSTT_KV_F16) {
            lm->k->f32_to_f16(kk + (size_t)h * hd, (uint16_t *)c->k + off, hd);
            lm->k->f32_to_f16(v + (size_t)h * hd, (uint16_t *)c->v + off, hd);
        } else {
            memcpy((float *)c->k + off, kk + (size_t)h * hd, (size_t)hd * sizeof(float));
            memcpy((float *)c->v + off, v + (size_t)h * hd, (size_t)hd * sizeof(float));
        }
    }
}

static void add_inplace(float *x, const float *y, long n) {
    for (long i = 0; i < n; i++)
        x[i] += y[i];
}

int kstt__lm_step(const kstt__lm *lm, kstt__lm_work *w, kstt__lm_cache *const *caches,
                  const int32_t *tokens, int batch, kstt__lm_trace_fn trace, void *user) {
    if (batch < 1 || batch > w->cap)
        return KSTT_EINVAL;
    const int D = lm->dim, H = lm->hidden, nq = lm->n_q, ctx = lm->context;
    const int stride = 1 + nq;
    for (int b = 0; b < batch; b++) {
        const int32_t *tk = tokens + (size_t)b * stride;
        if (tk[0] < 0 || tk[0] > lm->text_card)
            return KSTT_EINVAL;
        for (int q = 0; q < nq; q++)
            if (tk[1 + q] < 0 || tk[1 + q] > lm->card)
                return KSTT_EINVAL;
    }
    kstt_pool *pool = lm->pool;
    const kstt__kernels *k = lm->k;

    /* Input: audio embeddings in codebook order, then the text embedding (the reference's
     * order; it only matters for rounding). */
    for (int b = 0; b < batch; b++) {
        const int32_t *tk = tokens + (size_t)b * stride;
        float *x = w->x + (size_t)b * D;
        for (int q = 0; q < nq; q++)
            emb_row(&lm->emb[q], tk[1 + q], x, w->erow, D, q > 0);
        emb_row(&lm->text_emb, tk[0], x, w->erow, D, nq > 0);
    }
    if (trace)
        trace(user, "emb_in", -1, w->x, batch);

    for (int l = 0; l < lm->n_layers; l++) {
        const kstt__lm_layer *L = &lm->layers[l];
        for (int b = 0; b < batch; b++)
            kstt__rmsnorm(w->x + (size_t)b * D, L->norm1, RMS_EPS, w->xn + (size_t)b * D, D);
        kstt__matmul(pool, k, &L->in_proj, w->xn, D, w->qkv, 3 * D, batch, &w->ws);
        for (int b = 0; b < batch; b++) {
            kstt__lm_cache *c = caches[b];
            float *q = w->qkv + (size_t)b * 3 * D, *kk = q + D, *v = q + 2 * D;
            kstt__rope_interleaved(q, lm->n_heads, lm->head_dim, c->pos, lm->max_period);
            kstt__rope_interleaved(kk, lm->n_heads, lm->head_dim, c->pos, lm->max_period);
            kv_store(lm, c, l, (long)(c->pos % ctx), kk, v);
        }
        attn_job aj = {lm, w, caches, batch, l};
        long work = 0;
        for (int b = 0; b < batch; b++)
            work += (long)(caches[b]->pos + 1 < ctx ? caches[b]->pos + 1 : ctx);
        /* waking the workers costs more than tiny attentions */
        if (work * D < 32768)
            attn_task(&aj, 0, 1);
        else
            kstt__pool_run(pool, attn_task, &aj);
        kstt__matmul(pool, k, &L->out_proj, w->att, D, w->proj, D, batch, &w->ws);
        add_inplace(w->x, w->proj, (long)batch * D);

        for (int b = 0; b < batch; b++)
            kstt__rmsnorm(w->x + (size_t)b * D, L->norm2, RMS_EPS, w->xn + (size_t)b * D, D);
        kstt__matmul(pool, k, &L->linear_in, w->xn, D, w->g, 2 * H, batch, &w->ws);
        for (int b = 0; b < batch; b++) {
            const float *g = w->g + (size_t)b * 2 * H;
            kstt__silu_mul(g, g + H, w->h + (size_t)b * H, H);
        }
        kstt__matmul(pool, k, &L->linear_out, w->h, H, w->proj, D, batch, &w->ws);
        add_inplace(w->x, w->proj, (long)batch * D);
        if (trace)
            trace(user, "layer", l, w->x, batch);
    }

    for (int b = 0; b < batch; b++)
        kstt__rmsnorm(w->x + (size_t)b * D, lm->out_norm, RMS_EPS, w->out + (size_t)b * D, D);
    if (trace)
        trace(user, "out_norm", -1, w->out, batch);
    kstt__matmul(pool, k, &lm->text_linear, w->out, D, w->logits, lm->text_card, batch, &w->ws);
    const int nv = lm->n_vad * lm->vad_dim;
    for (int h = 0; h < lm->n_vad; h++)
        kstt__matmul(pool, k, &lm->vad[h], w->out, D, w->vad + (size_t)h * lm->vad_dim, nv, batch,
                     &w->ws);
    for (int b = 0; b < batch; b++) {
        for (int h = 0; h < lm->n_vad; h++)
            kstt__softmax(w->vad + (size_t)b * nv + (size_t)h * lm->vad_dim, lm->vad_dim);
        caches[b]->pos++;
    }
    return KSTT_OK;
}
