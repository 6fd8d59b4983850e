/*
 * The CPU backend's loader: tensor names (PyTorch/candle, then MLX), shape and dtype checks,
 * the matrices kept in the mapped file (or repacked at load for the block-quantized kernels),
 * the norm alphas converted to f32, and the KV ring type resolved.
 */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"
#include "lm/cpu/lm_cpu.h"

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
 * the layouts the kernel level asks for (kstt__kernels.pack; io/weights.h, quant/repack.h). */
static int get_pmat(const kstt__wtype *pack, const kstt__weights *f, const char *name,
                    const char *alt, int64_t rows, int64_t cols, kstt__wmat *m, char *err,
                    size_t errlen) {
    return kstt__weights_mat_packed(f, pick(f, name, alt), rows, cols, pack, m, err, errlen);
}

/* A norm weight of D elements, converted to f32 into dst: stored [D] (MLX) or [1, 1, D]
 * (PyTorch/candle); the reader checks the element count, not the rank. */
static int get_norm(const kstt__weights *f, const char *name, const char *alt, int64_t dim,
                    float *dst, char *err, size_t errlen) {
    return kstt__weights_f32(f, pick(f, name, alt), dim, dst, err, errlen);
}

static int is_quantized(const kstt__wmat *m) {
    return m->type == KSTT_WT_Q8_0 || m->type == KSTT_WT_Q4_0 || m->type == KSTT_WT_Q4_K ||
           m->type == KSTT_WT_Q8_0R || m->type == KSTT_WT_Q4_0R || m->type == KSTT_WT_Q4_KR ||
           m->type == KSTT_WT_Q8_0X;
}

/* KSTT_KV_AUTO: f16 when any matrix is block-quantized. Such a model's logits already carry a
 * percent-level error, which half keys and values (11 significant bits) hardly add to, while
 * the exact float models keep the f32 ring the golden tolerance needs. */
static int is_4bit(const kstt__wmat *m) {
    return m->type == KSTT_WT_Q4_0 || m->type == KSTT_WT_Q4_0R || m->type == KSTT_WT_Q4_K ||
           m->type == KSTT_WT_Q4_KR;
}

/* Sets lm->quantized, lm->layers_4bit and lm->kv_type (AUTO resolved). */
static void classify(kstt__lm *lm, const kstt__lm_cpu *c, kstt_kv_type kv) {
    int q = is_quantized(&c->text_emb) || is_quantized(&c->text_linear), q4 = 0;
    for (int i = 0; i < lm->n_q; i++)
        q |= is_quantized(&c->emb[i]);
    for (int l = 0; l < lm->n_layers; l++) {
        const kstt__lm_layer *L = &c->layers[l];
        const kstt__wmat *ms[4] = {&L->in_proj, &L->out_proj, &L->linear_in, &L->linear_out};
        for (int i = 0; i < 4; i++) {
            q |= is_quantized(ms[i]);
            q4 |= is_4bit(ms[i]);
        }
    }
    for (int h = 0; h < lm->n_vad; h++)
        q |= is_quantized(&c->vad[h]);
    lm->quantized = q;
    lm->layers_4bit = q4;
    lm->kv_type = kv != KSTT_KV_AUTO ? kv : q ? KSTT_KV_F16 : KSTT_KV_F32;
}

void kstt__lm_cpu_free(kstt__lm *lm) {
    kstt__lm_cpu *c = lm->be;
    if (!c)
        return;
    kstt__free(c->emb);
    kstt__free(c->layers);
    kstt__free(c->alphas);
    kstt__free(c->vad);
    kstt__free(c);
    lm->be = NULL;
}

int kstt__lm_cpu_load(kstt__lm *lm, const kstt__weights *f, const kstt__stt_config *cfg,
                      kstt_pool *pool, kstt_kernels kernels, kstt_kv_type kv, char *err,
                      size_t errlen) {
    const char *path = kstt__weights_path(f);
    kstt__lm_cpu *c = kstt__calloc(1, sizeof *c);
    if (!c)
        return kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
    lm->be = c;
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
    c->max_period = (float)cfg->max_period;
    c->k = kstt__kernels_get(kernels);
    c->pool = pool;
    c->file = f;
    lm->kernels = c->k->name;

    c->emb = kstt__calloc((size_t)lm->n_q, sizeof *c->emb);
    c->layers = kstt__calloc((size_t)lm->n_layers, sizeof *c->layers);
    c->alphas = kstt__calloc((size_t)(2 * lm->n_layers + 1) * (size_t)D, sizeof(float));
    if (!c->emb || !c->layers || !c->alphas) {
        rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
        goto fail;
    }

    char n1[128], n2[128];
    if ((rc = get_mat(f, "text_emb.weight", NULL, cfg->text_card + 1, D, &c->text_emb, err,
                      errlen)) != KSTT_OK)
        goto fail;
    for (int q = 0; q < lm->n_q; q++) {
        snprintf(n1, sizeof n1, "emb.%d.weight", q);
        snprintf(n2, sizeof n2, "audio_embs.%d.weight", q);
        if ((rc = get_mat(f, n1, n2, cfg->card + 1, D, &c->emb[q], err, errlen)) != KSTT_OK)
            goto fail;
    }

    for (int l = 0; l < lm->n_layers; l++) {
        kstt__lm_layer *L = &c->layers[l];
        float *a1 = c->alphas + (size_t)(2 * l) * (size_t)D, *a2 = a1 + D;
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
        if ((rc = get_pmat(c->k->pack, f, NAME(n1, "self_attn.in_proj_weight"),
                           NAME(n2, "self_attn.in_proj.weight"), 3 * D, D, &L->in_proj, err,
                           errlen)) != KSTT_OK)
            goto fail;
        if ((rc = get_pmat(c->k->pack, f, NAME(n1, "self_attn.out_proj.weight"), NULL, D, D,
                           &L->out_proj, err, errlen)) != KSTT_OK)
            goto fail;
        /* H comes from the weights (the config's hidden_scale rule differs between the
         * reference implementations; the shapes do not). */
        if ((rc = get_pmat(c->k->pack, f, NAME(n1, "gating.linear_out.weight"), NULL, D, -1,
                           &L->linear_out, err, errlen)) != KSTT_OK)
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
        if ((rc = get_pmat(c->k->pack, f, NAME(n1, "gating.linear_in.weight"), NULL, 2 * H, D,
                           &L->linear_in, err, errlen)) != KSTT_OK)
            goto fail;
#undef NAME
    }
    float *ao = c->alphas + (size_t)(2 * lm->n_layers) * (size_t)D;
    if ((rc = get_norm(f, "out_norm.alpha", "out_norm.weight", D, ao, err, errlen)) != KSTT_OK)
        goto fail;
    c->out_norm = ao;
    if ((rc = get_pmat(c->k->pack, f, "text_linear.weight", NULL, cfg->text_card, D,
                       &c->text_linear, err, errlen)) != KSTT_OK)
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
        c->vad = kstt__calloc((size_t)nv, sizeof *c->vad);
        if (!c->vad) {
            rc = kstt__errf(err, errlen, KSTT_ENOMEM, "%s: out of memory", path);
            goto fail;
        }
        int64_t vd = cfg->extra_heads_num_heads > 0 ? cfg->extra_heads_dim : -1;
        for (int h = 0; h < nv; h++) {
            snprintf(n1, sizeof n1, "extra_heads.%d.weight", h);
            if ((rc = get_mat(f, n1, NULL, vd, D, &c->vad[h], err, errlen)) != KSTT_OK)
                goto fail;
            vd = c->vad[h].rows;
        }
        lm->n_vad = nv;
        lm->vad_dim = (int)vd;
    }
    classify(lm, c, kv);
    return KSTT_OK;
fail:
    kstt__lm_cpu_free(lm);
    return rc;
}
