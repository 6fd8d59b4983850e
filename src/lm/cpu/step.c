/*
 * The CPU backend's per-stream state, batch scratch and step. The step is a loop over layers
 * of kstt__matmul calls (batch = streams, rows split across the pool) plus O(D) element-wise
 * work per stream; the attention over each stream's own KV ring is split across the pool by
 * (stream, head) pairs, one ring-attention kernel call (attn_ring_f32, _f16 or _q8) per pair.
 *
 * KV ring: position p of a stream is stored in slot p % context of every (layer, head) block
 * ([n_layers][n_heads][context][head_dim], f32, f16 or int8; q8 adds one f32 scale per row in
 * [n_layers][n_heads][context]), so that the attention of one (layer,
 * head) streams one contiguous block of context x head_dim elements (two runs when the ring has
 * wrapped). At position n the query sees positions max(0, n - context + 1) .. n, itself
 * included, visited in increasing position order (the order of the reference's sequence), so
 * older entries are simply overwritten.
 */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/pool.h"
#include "core/status.h"
#include "lm/cpu/lm_cpu.h"
#include "quant/quant.h"

#define RMS_EPS 1e-8f

/* One stream's state. */
typedef struct {
    int64_t pos; /* steps run since reset = RoPE position of the next step */
    void *k;     /* [n_layers, n_heads, context, head_dim] rotated keys, f32, f16 or int8, owned */
    void *v;     /* [n_layers, n_heads, context, head_dim] values, f32, f16 or int8, owned */
    float *ks, *vs; /* q8: [n_layers, n_heads, context] the rows' scales, owned (else NULL) */
} cpu_state;

/* Scratch for one batched step, sized for up to `cap` streams. */
typedef struct {
    int cap;
    int nth;       /* threads of the pool the scratch was sized for */
    float *x;      /* [cap, D] residual stream */
    float *xn;     /* [cap, D] normalised input of a sub-block */
    float *qkv;    /* [cap, 3D] */
    float *att;    /* [cap, D] attention output (heads concatenated) */
    float *g;      /* [cap, 2H] gate and value of the FFN */
    float *h;      /* [cap, H] */
    float *proj;   /* [cap, D] output of out_proj / linear_out */
    float *scores; /* [nth, context] attention weights per thread */
    float *out;    /* [cap, D] out_norm output */
    float *erow;   /* [nth, D] one embedding row in f32 per thread */
    float *rope;   /* [cap, head_dim] RoPE cosines then sines of each stream's position */
    kstt__ws ws;   /* matmul workspace */
} cpu_work;

/* ---- per-stream state and work area ---------------------------------------------------- */

static size_t kv_elem(const kstt__lm *lm) {
    return lm->kv_type == KSTT_KV_Q8    ? sizeof(int8_t)
           : lm->kv_type == KSTT_KV_F16 ? sizeof(uint16_t)
                                        : sizeof(float);
}

/* Rows (one per layer, head and slot) of K or of V: q8 keeps a scale for each. */
static size_t kv_rows(const kstt__lm *lm) {
    return (size_t)lm->n_layers * (size_t)lm->n_heads * (size_t)lm->context;
}

static size_t cpu_kv_bytes(const kstt__lm *lm) {
    const size_t scales = lm->kv_type == KSTT_KV_Q8 ? kv_rows(lm) * sizeof(float) : 0;
    return 2 *
           ((size_t)lm->n_layers * (size_t)lm->context * (size_t)lm->dim * kv_elem(lm) + scales);
}

static void cpu_state_free(kstt__lm_state *st) {
    cpu_state *c = (cpu_state *)st;
    if (!c)
        return;
    kstt__free(c->k);
    kstt__free(c->v);
    kstt__free(c->ks);
    kstt__free(c->vs);
    kstt__free(c);
}

static int cpu_state_new(kstt__lm_state **out, const kstt__lm *lm) {
    *out = NULL;
    cpu_state *c = kstt__calloc(1, sizeof *c);
    if (!c)
        return KSTT_ENOMEM;
    size_t n = (size_t)lm->n_layers * (size_t)lm->context * (size_t)lm->dim;
    c->k = kstt__calloc(n, kv_elem(lm));
    c->v = kstt__calloc(n, kv_elem(lm));
    if (lm->kv_type == KSTT_KV_Q8) {
        c->ks = kstt__calloc(kv_rows(lm), sizeof(float));
        c->vs = kstt__calloc(kv_rows(lm), sizeof(float));
    }
    if (!c->k || !c->v || (lm->kv_type == KSTT_KV_Q8 && (!c->ks || !c->vs))) {
        cpu_state_free((kstt__lm_state *)c);
        return KSTT_ENOMEM;
    }
    *out = (kstt__lm_state *)c;
    return KSTT_OK;
}

/* Entries at positions >= pos are never read, so resetting the position is enough. */
static void cpu_state_reset(kstt__lm_state *st) {
    ((cpu_state *)st)->pos = 0;
}

static int64_t cpu_state_pos(const kstt__lm_state *st) {
    return ((const cpu_state *)st)->pos;
}

static void cpu_state_seek(kstt__lm_state *st, int64_t pos) {
    ((cpu_state *)st)->pos = pos;
}

static size_t ws_need(const kstt__wmat *m, int cap, size_t cur) {
    size_t s = kstt__matmul_ws_size(m->type, (long)m->cols, cap);
    return s > cur ? s : cur;
}

static void cpu_work_free(kstt__lm_work *wk) {
    cpu_work *w = (cpu_work *)wk;
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
    kstt__free(w->erow);
    kstt__free(w->rope);
    kstt__free(w->ws.buf);
    kstt__free(w);
}

static int cpu_work_new(kstt__lm_work **out, const kstt__lm *lm, int cap) {
    *out = NULL;
    if (cap < 1)
        return KSTT_EINVAL;
    const kstt__lm_cpu *c = kstt__lm_cpu_of(lm);
    cpu_work *w = kstt__calloc(1, sizeof *w);
    if (!w)
        return KSTT_ENOMEM;
    const size_t B = (size_t)cap, D = (size_t)lm->dim, H = (size_t)lm->hidden;
    w->cap = cap;
    w->nth = kstt__pool_size(c->pool);
    w->x = kstt__calloc(B * D, sizeof(float));
    w->xn = kstt__calloc(B * D, sizeof(float));
    w->qkv = kstt__calloc(B * 3 * D, sizeof(float));
    w->att = kstt__calloc(B * D, sizeof(float));
    w->g = kstt__calloc(B * 2 * H, sizeof(float));
    w->h = kstt__calloc(B * H, sizeof(float));
    w->proj = kstt__calloc(B * D, sizeof(float));
    w->scores = kstt__calloc((size_t)w->nth * (size_t)lm->context, sizeof(float));
    w->out = kstt__calloc(B * D, sizeof(float));
    w->erow = kstt__calloc((size_t)w->nth * D, sizeof(float));
    w->rope = kstt__calloc(B * (size_t)lm->head_dim, sizeof(float));
    size_t ws = 0;
    for (int l = 0; l < lm->n_layers; l++) {
        const kstt__lm_layer *L = &c->layers[l];
        ws = ws_need(&L->in_proj, cap, ws);
        ws = ws_need(&L->out_proj, cap, ws);
        ws = ws_need(&L->linear_in, cap, ws);
        ws = ws_need(&L->linear_out, cap, ws);
    }
    ws = ws_need(&c->text_linear, cap, ws);
    for (int h = 0; h < lm->n_vad; h++)
        ws = ws_need(&c->vad[h], cap, ws);
    w->ws.cap = ws;
    w->ws.buf = ws ? kstt__alloc(ws) : NULL;
    if (!w->x || !w->xn || !w->qkv || !w->att || !w->g || !w->h || !w->proj || !w->scores ||
        !w->out || !w->erow || !w->rope || (ws && !w->ws.buf)) {
        cpu_work_free((kstt__lm_work *)w);
        return KSTT_ENOMEM;
    }
    *out = (kstt__lm_work *)w;
    return KSTT_OK;
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

/* Stores head h's rotated key and value rows (head_dim each) of a step at `slot` of that
 * head's block of layer l, converted to the ring's type. */
static void kv_store_head(const kstt__lm *lm, cpu_state *c, int l, int h, long slot,
                          const float *kr, const float *vr) {
    const kstt__lm_cpu *cm = kstt__lm_cpu_of(lm);
    const int hd = lm->head_dim;
    const size_t row = ((size_t)l * (size_t)lm->n_heads + (size_t)h) * (size_t)lm->context +
                       (size_t)slot,
                 off = row * (size_t)hd;
    if (lm->kv_type == KSTT_KV_Q8) {
        cm->k->quantize_i8_row(kr, (int8_t *)c->k + off, c->ks + row, hd);
        cm->k->quantize_i8_row(vr, (int8_t *)c->v + off, c->vs + row, hd);
    } else if (lm->kv_type == KSTT_KV_F16) {
        cm->k->f32_to_f16(kr, (uint16_t *)c->k + off, hd);
        cm->k->f32_to_f16(vr, (uint16_t *)c->v + off, hd);
    } else {
        memcpy((float *)c->k + off, kr, (size_t)hd * sizeof(float));
        memcpy((float *)c->v + off, vr, (size_t)hd * sizeof(float));
    }
}

typedef struct {
    const kstt__lm *lm;
    cpu_work *w;
    cpu_state *const *caches;
    int batch, layer;
} attn_job;

/* Items (stream, head), split between threads: RoPE on the head's query and key, the key and
 * value into the stream's ring, then the head's attention (so all of it runs in parallel). */
static void attn_task(void *arg, int ith, int nth) {
    const attn_job *j = arg;
    const kstt__lm *lm = j->lm;
    const kstt__lm_cpu *cm = kstt__lm_cpu_of(lm);
    const int hd = lm->head_dim, D = lm->dim, ctx = lm->context;
    const float scale = 1.0f / sqrtf((float)hd);
    KSTT_ASSERT(ith < j->w->nth);
    float *s = j->w->scores + (size_t)ith * (size_t)ctx;
    long i0, i1;
    kstt__split_range((long)j->batch * lm->n_heads, 1, ith, nth, &i0, &i1);
    for (long it = i0; it < i1; it++) {
        const int b = (int)(it / lm->n_heads), h = (int)(it % lm->n_heads);
        cpu_state *c = j->caches[b];
        float *q = j->w->qkv + (size_t)b * 3 * D + (size_t)h * hd, *kk = q + D;
        const float *rc = j->w->rope + (size_t)b * hd;
        kstt__rope_apply(q, 1, hd, rc, rc + hd / 2);
        kstt__rope_apply(kk, 1, hd, rc, rc + hd / 2);
        kv_store_head(lm, c, j->layer, h, (long)(c->pos % ctx), kk, kk + D);
        /* first element of this (layer, head)'s [context, head_dim] block */
        const size_t base =
            ((size_t)j->layer * (size_t)lm->n_heads + (size_t)h) * (size_t)ctx * (size_t)hd;
        const int64_t pos = c->pos;
        const long n = pos + 1 < ctx ? (long)(pos + 1) : ctx;
        const long s0 = (long)((pos - n + 1) % ctx); /* slot of the oldest position seen */
        float *o = j->w->att + (size_t)b * D + (size_t)h * hd;
        if (lm->kv_type == KSTT_KV_Q8) {
            const size_t sb = base / (size_t)hd; /* first scale of the block */
            cm->k->attn_ring_q8(q, (const int8_t *)c->k + base, c->ks + sb,
                                (const int8_t *)c->v + base, c->vs + sb, hd, s0, n, ctx, hd, scale,
                                s, o);
        } else if (lm->kv_type == KSTT_KV_F16)
            cm->k->attn_ring_f16(q, (const uint16_t *)c->k + base, (const uint16_t *)c->v + base,
                                 hd, s0, n, ctx, hd, scale, s, o);
        else
            cm->k->attn_ring_f32(q, (const float *)c->k + base, (const float *)c->v + base, hd, s0,
                                 n, ctx, hd, scale, s, o);
    }
}

/* h = silu(gate) * value for every stream, split between threads by (stream, 256-column
 * chunk): an exp per element is the step's largest element-wise cost. */
typedef struct {
    const kstt__lm *lm;
    cpu_work *w;
    int batch, H;
} silu_job;

static void silu_task(void *arg, int ith, int nth) {
    const silu_job *j = arg;
    const kstt__kernels *k = kstt__lm_cpu_of(j->lm)->k;
    const long per = (j->H + 255) / 256, H = j->H;
    long i0, i1;
    kstt__split_range((long)j->batch * per, 1, ith, nth, &i0, &i1);
    for (long it = i0; it < i1; it++) {
        const long b = it / per, c0 = it % per * 256, n = H - c0 < 256 ? H - c0 : 256;
        const float *g = j->w->g + (size_t)b * 2 * (size_t)H;
        k->silu_mul_f32(g + c0, g + H + c0, j->w->h + (size_t)b * (size_t)H + c0, n);
    }
}

/* The input of every stream (its audio embeddings in codebook order, then the text embedding:
 * the reference's order; it only matters for rounding) and its RoPE angles (one position for
 * every layer and head of the step), streams split between threads: 33 embedding rows of the
 * model's width per stream, converted to f32. */
typedef struct {
    const kstt__lm *lm;
    cpu_work *w;
    cpu_state *const *caches;
    const int32_t *tokens;
    int batch;
} input_job;

static void input_task(void *arg, int ith, int nth) {
    const input_job *j = arg;
    const kstt__lm *lm = j->lm;
    const kstt__lm_cpu *cm = kstt__lm_cpu_of(lm);
    const int D = lm->dim, nq = lm->n_q_used, stride = 1 + lm->n_q;
    float *tmp = j->w->erow + (size_t)ith * (size_t)D;
    long b0, b1;
    kstt__split_range(j->batch, 1, ith, nth, &b0, &b1);
    for (long b = b0; b < b1; b++) {
        const int32_t *tk = j->tokens + (size_t)b * stride;
        float *x = j->w->x + (size_t)b * D;
        for (int q = 0; q < nq; q++)
            emb_row(&cm->emb[q], tk[1 + q], x, tmp, D, q > 0);
        emb_row(&cm->text_emb, tk[0], x, tmp, D, nq > 0);
        float *rc = j->w->rope + (size_t)b * lm->head_dim;
        kstt__rope_table(lm->head_dim, j->caches[b]->pos, cm->max_period, rc,
                         rc + lm->head_dim / 2);
    }
}

static void add_inplace(float *x, const float *y, long n) {
    for (long i = 0; i < n; i++)
        x[i] += y[i];
}

int kstt__lm_cpu_step_traced(const kstt__lm *lm, kstt__lm_work *wk, kstt__lm_state *const *st,
                             const int32_t *tokens, int batch, float *logits, float *vad,
                             kstt__lm_trace_fn trace, void *user) {
    cpu_work *w = (cpu_work *)wk;
    cpu_state *const *caches = (cpu_state *const *)st;
    const kstt__lm_cpu *cm = kstt__lm_cpu_of(lm);
    if (batch < 1 || batch > w->cap || !logits || (lm->n_vad && !vad))
        return KSTT_EINVAL;
    const int D = lm->dim, H = lm->hidden, ctx = lm->context;
    const int stride = 1 + lm->n_q;
    /* audio codebooks read: the first n_q_used (1..n_q, set at load); the tokens of the
     * others are ignored, their embeddings contribute nothing */
    const int nq = lm->n_q_used;
    for (int b = 0; b < batch; b++) {
        const int32_t *tk = tokens + (size_t)b * stride;
        if (tk[0] < 0 || tk[0] > lm->text_card)
            return KSTT_EINVAL;
        for (int q = 0; q < nq; q++)
            if (tk[1 + q] < 0 || tk[1 + q] > lm->card)
                return KSTT_EINVAL;
    }
    kstt_pool *pool = cm->pool;
    const kstt__kernels *k = cm->k;

    input_job ij = {lm, w, caches, tokens, batch};
    if (batch > 1)
        kstt__pool_run(pool, input_task, &ij);
    else
        input_task(&ij, 0, 1);
    if (trace)
        trace(user, "emb_in", -1, w->x, batch);

    for (int l = 0; l < lm->n_layers; l++) {
        const kstt__lm_layer *L = &cm->layers[l];
        for (int b = 0; b < batch; b++)
            kstt__rmsnorm(w->x + (size_t)b * D, L->norm1, RMS_EPS, w->xn + (size_t)b * D, D);
        kstt__matmul(pool, k, &L->in_proj, w->xn, D, w->qkv, 3 * D, batch, &w->ws);
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
        silu_job sj = {lm, w, batch, H};
        if (batch > 1)
            kstt__pool_run(pool, silu_task, &sj);
        else
            silu_task(&sj, 0, 1);
        kstt__matmul(pool, k, &L->linear_out, w->h, H, w->proj, D, batch, &w->ws);
        add_inplace(w->x, w->proj, (long)batch * D);
        if (trace)
            trace(user, "layer", l, w->x, batch);
    }

    for (int b = 0; b < batch; b++)
        kstt__rmsnorm(w->x + (size_t)b * D, cm->out_norm, RMS_EPS, w->out + (size_t)b * D, D);
    if (trace)
        trace(user, "out_norm", -1, w->out, batch);
    kstt__matmul(pool, k, &cm->text_linear, w->out, D, logits, lm->text_card, batch, &w->ws);
    const int nv = lm->n_vad * lm->vad_dim;
    for (int h = 0; h < lm->n_vad; h++)
        kstt__matmul(pool, k, &cm->vad[h], w->out, D, vad + (size_t)h * lm->vad_dim, nv, batch,
                     &w->ws);
    for (int b = 0; b < batch; b++) {
        for (int h = 0; h < lm->n_vad; h++)
            kstt__softmax(vad + (size_t)b * nv + (size_t)h * lm->vad_dim, lm->vad_dim);
        caches[b]->pos++;
    }
    return KSTT_OK;
}

static int cpu_step(const kstt__lm *lm, kstt__lm_work *w, kstt__lm_state *const *st,
                    const int32_t *tokens, int n, float *logits, float *vad) {
    return kstt__lm_cpu_step_traced(lm, w, st, tokens, n, logits, vad, NULL, NULL);
}

const kstt__lm_ops kstt__lm_cpu_ops = {
    .name = "cpu",
    .free = kstt__lm_cpu_free,
    .kv_bytes = cpu_kv_bytes,
    .state_new = cpu_state_new,
    .state_reset = cpu_state_reset,
    .state_pos = cpu_state_pos,
    .state_seek = cpu_state_seek,
    .state_free = cpu_state_free,
    .work_new = cpu_work_new,
    .work_free = cpu_work_free,
    .step = cpu_step,
};
