/*
 * The Mimi transformer over the rows of a pass: the 25 Hz steps of its streams one after
 * another (segments). The linears, norms and element-wise ops run over all rows; RoPE, the
 * key/value ring and attention per stream.
 *
 * Window (reference-model.md 2.4, golden README 4.3): the reference writes the 2 steps of a
 * frame into a ring of `context` entries before its queries attend, so the query at step q of
 * frame f sees steps max(0, (f + 1) * ds - context) .. q. A stream's key/value ring holds
 * context + KSTT_MIMI_BACK * ds entries, so a whole pass is written first and every query
 * then reads exactly that window (in parallel, in increasing position order).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codec/mimi_run.h"
#include "core/pool.h"

static const kstt__ws no_ws = {NULL, 0};

typedef struct {
    const kstt_mimi *m;
    const kstt__mimi_batch *b;
    const kstt__mimi_pass *p;
    int l, T; /* layer, rows */
} attn_job;

/* Items (row, head) split between threads; a row belongs to its stream's segment and attends
 * over that stream's ring. */
static void attn_task(void *arg, int ith, int nth) {
    const attn_job *j = arg;
    const kstt_mimi *m = j->m;
    const kstt__mimi_seg *sg = j->p->sg;
    const int D = m->cfg.d_model, H = m->cfg.num_heads, hd = m->cfg.head_dim;
    const int ds = m->cfg.ds_stride, ctx = m->cfg.context;
    const float scale = 1.0f / sqrtf((float)hd);
    float *sc = j->b->scores + (size_t)ith * ctx;
    long i0, i1;
    kstt__split_range((long)j->T * H, 1, ith, nth, &i0, &i1);
    int seg = 0, r0 = 0; /* segment of the current row and its first row */
    for (long it = i0; it < i1; it++) {
        const int row = (int)(it / H), h = (int)(it % H);
        while (row >= r0 + sg[seg].nf * ds) {
            r0 += sg[seg].nf * ds;
            seg++;
        }
        const kstt_mimi_stream *s = sg[seg].s;
        const int cap = s->cap_kv;
        const size_t at = (size_t)j->l * cap * D + (size_t)h * hd; /* layer l, head h */
        const int64_t q = s->pos + (row - r0);
        int64_t lo = (q / ds + 1) * ds - ctx;
        if (lo < 0)
            lo = 0;
        const float *qv = j->b->qkv + (size_t)row * 3 * D + (size_t)h * hd;
        float *o = j->b->att + (size_t)row * D + (size_t)h * hd;
        if (m->kv_half)
            m->k->attn_ring_f16(qv, (const uint16_t *)s->kc + at, (const uint16_t *)s->vc + at, D,
                                (long)(lo % cap), (long)(q - lo + 1), cap, hd, scale, sc, o);
        else
            m->k->attn_ring_f32(qv, (const float *)s->kc + at, (const float *)s->vc + at, D,
                                (long)(lo % cap), (long)(q - lo + 1), cap, hd, scale, sc, o);
    }
}

/* x += ls * u row-wise (ls NULL: x += u). */
static void add_scaled(float *x, const float *ls, const float *u, int t, int D) {
    for (int r = 0; r < t; r++) {
        float *xr = x + (size_t)r * D;
        const float *ur = u + (size_t)r * D;
        if (ls)
            for (int c = 0; c < D; c++)
                xr[c] = xr[c] + ls[c] * ur[c];
        else
            for (int c = 0; c < D; c++)
                xr[c] = xr[c] + ur[c];
    }
}

/* RoPE on the queries and keys of layer l (angles: the pass's table, rows of head_dim), then
 * the keys and values into each stream's ring. */
static void rope_store(const kstt_mimi *m, const kstt__mimi_pass *p, float *qkv, const float *rope,
                       int l) {
    const kstt__mimi_config *c = &m->cfg;
    const int D = c->d_model, ds = c->ds_stride;
    for (int i = 0, row = 0; i < p->n; i++) {
        kstt_mimi_stream *s = p->sg[i].s;
        const size_t layer = (size_t)l * s->cap_kv * D;
        for (int r = 0; r < p->sg[i].nf * ds; r++, row++) {
            float *q = qkv + (size_t)row * 3 * D;
            const int64_t pos = s->pos + r;
            const float *cs = rope + (size_t)row * c->head_dim, *sn = cs + c->head_dim / 2;
            kstt__rope_apply(q, c->num_heads, c->head_dim, cs, sn);
            kstt__rope_apply(q + D, c->num_heads, c->head_dim, cs, sn);
            const size_t at = layer + (size_t)(pos % s->cap_kv) * D;
            if (m->kv_half) {
                m->k->f32_to_f16(q + D, (uint16_t *)s->kc + at, D);
                m->k->f32_to_f16(q + 2 * D, (uint16_t *)s->vc + at, D);
            } else {
                memcpy((float *)s->kc + at, q + D, (size_t)D * sizeof(float));
                memcpy((float *)s->vc + at, q + 2 * D, (size_t)D * sizeof(float));
            }
        }
    }
}

void kstt__mimi_transformer(kstt__mimi_batch *b, const kstt__mimi_pass *p, float *x) {
    const kstt_mimi *m = b->m;
    const kstt__mimi_config *c = &m->cfg;
    const int D = c->d_model, FF = c->dim_feedforward, ds = c->ds_stride;
    const int T = p->nf * ds;
    /* RoPE angles of every row's position, once for all the layers */
    for (int i = 0, row = 0; i < p->n; i++)
        for (int r = 0; r < p->sg[i].nf * ds; r++, row++) {
            float *cs = b->rope + (size_t)row * c->head_dim;
            kstt__rope_table(c->head_dim, p->sg[i].s->pos + r, c->max_period, cs,
                             cs + c->head_dim / 2);
        }
    for (int l = 0; l < c->num_layers; l++) {
        const kstt__mimi_layer *ly = &m->layers[l];
        for (int r = 0; r < T; r++)
            kstt__layernorm(x + (size_t)r * D, ly->norm1_w, ly->norm1_b, 1e-5f,
                            b->h + (size_t)r * D, D);
        kstt__matmul(m->pool, m->k, &ly->in_proj, b->h, D, b->qkv, 3L * D, T, &no_ws);
        rope_store(m, p, b->qkv, b->rope, l);
        attn_job job = {m, b, p, l, T};
        if ((long)T * c->num_heads * (c->context < 64 ? c->context : 64) < 4096)
            attn_task(&job, 0, 1);
        else
            kstt__pool_run(m->pool, attn_task, &job);
        kstt__matmul(m->pool, m->k, &ly->out_proj, b->att, D, b->o, D, T, &no_ws);
        add_scaled(x, ly->ls1, b->o, T, D);
        for (int r = 0; r < T; r++)
            kstt__layernorm(x + (size_t)r * D, ly->norm2_w, ly->norm2_b, 1e-5f,
                            b->h + (size_t)r * D, D);
        kstt__matmul(m->pool, m->k, &ly->lin1, b->h, D, b->ff, FF, T, &no_ws);
        m->k->gelu_f32(b->ff, (long)T * FF);
        kstt__matmul(m->pool, m->k, &ly->lin2, b->ff, FF, b->o, D, T, &no_ws);
        add_scaled(x, ly->ls2, b->o, T, D);
        if (p->tap) {
            char name[32];
            snprintf(name, sizeof name, "tr_layer%d_out", l);
            kstt__mimi_pass_tap((void *)p, name, x, T, D);
        }
    }
    for (int i = 0; i < p->n; i++)
        p->sg[i].s->pos += (int64_t)p->sg[i].nf * ds;
}
