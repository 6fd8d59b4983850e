/*
 * The Mimi encoder stream: PCM in, codes out, one implementation for every chunking.
 *
 * Samples accumulate in the input buffer of the first convolution. As soon as a 1920-sample
 * frame is complete it goes through the model; a call that completes many frames runs them
 * batched over time (the same code with more rows). Two pass sizes keep that cheap in memory:
 *   front  (input conv, SEANet stages 0 .. split, up to the ELU before the down conv of stage
 *          `split`): at most KSTT_MIMI_FRONT frames at a time, appended to the input buffer
 *          of that down conv;
 *   back   (that down conv, the last stages, the output conv, the transformer, the downsample
 *          and the quantizer): runs on everything accumulated, at most KSTT_MIMI_BACK frames,
 *          whenever the buffer is full or the call has no further complete frame. So codes come
 *          out within the call that completes their frame.
 * Every convolution keeps its state as the first rows of its input buffer (mimi_internal.h);
 * the products are bitwise independent of the batch size (kernels.h contract of the f32
 * kernels here), element-wise ops are per element, attention is per query, so any chunking
 * gives identical codes and activations.
 *
 * Transformer window (reference-model.md 2.4, golden README 4.3): the reference writes the 2
 * steps of a frame into a ring of `context` entries before its queries attend, so the query
 * at step q of frame f sees steps max(0, (f + 1) * ds - context) .. q. The key/value ring here
 * holds context + KSTT_MIMI_BACK * ds entries, so a whole back pass is written first and every
 * query then reads exactly that window (in parallel, in increasing position order).
 *
 * Several streams of one model can be encoded together (kstt__mimi_streams_encode, at the end
 * of this file): each front alone, the back once over the frames of all of them.
 *
 * Memory: everything is sized in kstt_mimi_stream_new (a batch's shared scratch in
 * kstt__mimi_batch_new); encode allocates nothing.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec/mimi_internal.h"
#include "core/alloc.h"
#include "core/pool.h"
#include "core/status.h"

struct kstt_mimi_stream {
    const kstt_mimi *m;
    char err[256];
    float *pcm;                       /* conv_in input: [conv_in.state + FRONT * frame] samples */
    size_t fill;                      /* samples after the state (always < frame between calls) */
    float *xin[KSTT_MIMI_MAX_RATIOS]; /* stage input x = down conv input [down.state + cap, C] */
    float *ain[KSTT_MIMI_MAX_RATIOS]; /* res_a input [res_a.state + cap, C] */
    float *mid;                       /* res_a output / res_b input [rows, C / compress] */
    float *tmp;                       /* res_b output [rows, C] */
    float *oin;                       /* conv_out input [conv_out.state + BACK * ds, C_last] */
    float *tx;     /* downsample input = transformer stream [ds.state + BACK * ds, D] */
    int back_fill; /* frames waiting in xin[split] */
    int ds_primed; /* downsample state set (replicate padding) */
    int64_t pos;   /* 25 Hz steps through the transformer since reset */
    float *h, *qkv, *att, *o,
        *ff;        /* transformer scratch: [T, D], [T, 3D], [T, D], [T, D], [T, FF] */
    float *kc, *vc; /* [layers][cap_kv][D] keys (after RoPE) and values */
    int cap_kv;
    float *scores; /* [n_threads][context] */
    int n_threads;
    float *latent;  /* [BACK, D] */
    kstt__mimi_rvq_ws rvq; /* quantizer scratch, BACK rows */
    float *arena;
    kstt__mimi_prof *prof; /* bench only */
    kstt__mimi_tap_fn tap; /* tests only */
    void *tap_user;
};

static void tap(kstt_mimi_stream *s, const char *name, const float *x, int rows, int cols) {
    if (s->tap)
        s->tap(s->tap_user, name, x, rows, cols);
}

static void tap_layer(kstt_mimi_stream *s, int idx, const float *x, int rows, int cols) {
    if (!s->tap)
        return;
    char name[32];
    snprintf(name, sizeof name, "seanet_layer%02d_out", idx);
    s->tap(s->tap_user, name, x, rows, cols);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Adds the seconds since *t0 to *acc and restarts the clock (profiling only). */
static void lap(const kstt_mimi_stream *s, double *acc, double *t0) {
    if (!s->prof)
        return;
    const double t = now_s();
    *acc += t - *t0;
    *t0 = t;
}

void kstt__mimi_stream_set_prof(kstt_mimi_stream *s, kstt__mimi_prof *p) {
    s->prof = p;
}

void kstt__mimi_stream_set_tap(kstt_mimi_stream *s, kstt__mimi_tap_fn fn, void *user) {
    s->tap = fn;
    s->tap_user = user;
}

static const kstt__ws no_ws = {NULL, 0};

/* ---- convolutions ------------------------------------------------------------------------ */

/* What runs on a convolution's output rows right after the product, in the same job. */
typedef enum {
    POST_BIAS,      /* y += b */
    POST_BIAS_ELU,  /* y = ELU(y + b) */
    POST_BIAS_COPY, /* y += b; aux = ELU(y): a stage's x and its residual branch input */
    POST_RES_ELU,   /* aux = ELU(aux + (y + b)): residual add (aux = x), then the stage ELU */
    POST_RES,       /* aux = aux + (y + b), no ELU (tap runs only) */
} post_op;

typedef struct {
    const kstt_mimi *m;
    const kstt__mimi_conv *c;
    const float *in; /* state rows then the new rows */
    float *out;      /* [t_out, c_out], rows of c_out floats */
    float *aux;      /* [t_out, c_out] (POST_BIAS_COPY, POST_RES*) */
    int t_out;
    post_op post;
} conv_job;

static void post_rows(const conv_job *j, int t0, int t1) {
    const kstt_mimi *m = j->m;
    const int C = j->c->c_out, rows = t1 - t0;
    const float *b = j->c->bias;
    float *y = j->out + (size_t)t0 * C;
    float *aux = j->aux ? j->aux + (size_t)t0 * C : NULL;
    switch (j->post) {
    case POST_BIAS:
    case POST_BIAS_COPY:
        if (b)
            for (int t = 0; t < rows; t++)
                m->k->axpy_f32(1.0f, b, y + (size_t)t * C, C);
        if (j->post == POST_BIAS_COPY)
            m->k->elu_copy_f32(aux, y, (long)rows * C);
        break;
    case POST_BIAS_ELU:
        m->k->bias_elu_f32(y, b, rows, C, C);
        break;
    case POST_RES_ELU:
        m->k->res_elu_f32(aux, y, b, rows, C);
        break;
    case POST_RES:
        for (size_t i = 0; i < (size_t)rows * C; i++)
            aux[i] = aux[i] + (y[i] + (b ? b[i % C] : 0.0f));
        break;
    }
}

/* Threads take contiguous ranges of output time steps, all rows each (products with a small
 * weight matrix and many steps: the SEANet front). The per-element arithmetic is that of the
 * row split (kernels.h contract), so results do not depend on the split. */
static void conv_task(void *arg, int ith, int nth) {
    const conv_job *j = arg;
    long t0, t1;
    kstt__split_range(j->t_out, 4, ith, nth, &t0, &t1);
    if (t0 >= t1)
        return;
    const kstt__mimi_conv *c = j->c;
    const long ldx = (long)c->stride * c->c_in;
    j->m->k->matmul[c->w.type](&c->w, j->in + t0 * ldx, ldx, j->out + t0 * c->c_out, c->c_out,
                                 (int)(t1 - t0), 0, c->c_out, &no_ws);
    post_rows(j, (int)t0, (int)t1);
}

/* out[t] = W * in[t * S .. t * S + K) (+ the post-op) for t < t_in / S, where `in` holds the
 * state rows then t_in new rows. The state is not updated (conv_roll). */
static void conv(kstt_mimi_stream *s, const kstt__mimi_conv *c, const float *in, int t_in,
                 float *out, post_op post, float *aux) {
    const kstt_mimi *m = s->m;
    conv_job j = {m, c, in, out, aux, t_in / c->stride, post};
    const size_t wbytes = (size_t)c->w.rows * c->w.cols * sizeof(float);
    const double work = (double)c->w.rows * c->w.cols * j.t_out;
    if (s->n_threads > 1 && j.t_out >= 64 * s->n_threads && wbytes <= ((size_t)4 << 20) &&
        work >= 65536.0) {
        kstt__pool_run(m->pool, conv_task, &j);
    } else if (work < 65536.0 || s->n_threads == 1) {
        conv_task(&j, 0, 1);
    } else { /* large weights: threads split the rows (the driver) */
        kstt__matmul(m->pool, m->k, &c->w, in, (long)c->stride * c->c_in, out, c->c_out, j.t_out,
                     &no_ws);
        post_rows(&j, 0, j.t_out);
    }
}

/* After a call over t_in new rows: the last `state` rows of the buffer become the state. */
static void conv_roll(const kstt__mimi_conv *c, float *in, int t_in) {
    if (c->state > 0)
        memmove(in, in + (size_t)t_in * c->c_in, (size_t)c->state * c->c_in * sizeof(float));
}

/* Where stage st's input rows of this pass go. */
static float *stage_x(kstt_mimi_stream *s, int st) {
    const kstt__mimi_stage *g = &s->m->stages[st];
    size_t row = (size_t)g->down.state;
    if (st == s->m->split)
        row += (size_t)s->back_fill * g->t_frame;
    return s->xin[st] + row * g->channels;
}

/* Where the ELU of stage st's input rows of this pass goes: its residual branch input. */
static float *stage_a(kstt_mimi_stream *s, int st) {
    const kstt__mimi_stage *g = &s->m->stages[st];
    return s->ain[st] + (size_t)g->res_a.state * g->channels;
}

/* Residual block of stage st on x [t, C] in place, followed by the ELU that feeds the stage's
 * down conv: x = ELU(x + conv_b(ELU(conv_a(ELU(x))))). ELU(x) is already in the branch input
 * (written by the producer of x). */
static void res_block(kstt_mimi_stream *s, int st, float *x, int t) {
    const kstt__mimi_stage *g = &s->m->stages[st];
    const int C = g->channels;
    conv(s, &g->res_a, s->ain[st], t, s->mid, POST_BIAS_ELU, NULL);
    conv_roll(&g->res_a, s->ain[st], t);
    if (s->tap) {
        conv(s, &g->res_b, s->mid, t, s->tmp, POST_RES, x);
        tap_layer(s, 1 + 3 * st, x, t, C);
        s->m->k->elu_f32(x, (long)t * C);
        tap_layer(s, 2 + 3 * st, x, t, C);
        return;
    }
    conv(s, &g->res_b, s->mid, t, s->tmp, POST_RES_ELU, x);
}

/* Front: nf frames of s->pcm through the input conv and stages 0 .. split (see top). */
static void run_front(kstt_mimi_stream *s, int nf) {
    const kstt_mimi *m = s->m;
    float *x = stage_x(s, 0);
    conv(s, &m->conv_in, s->pcm, nf * m->cfg.frame_size, x, POST_BIAS_COPY, stage_a(s, 0));
    tap_layer(s, 0, x, nf * m->cfg.frame_size, m->conv_in.c_out);
    for (int st = 0;; st++) {
        const kstt__mimi_stage *g = &m->stages[st];
        const int t = nf * g->t_frame;
        res_block(s, st, x, t);
        if (st == m->split)
            break;
        float *nx = stage_x(s, st + 1);
        conv(s, &g->down, s->xin[st], t, nx, POST_BIAS_COPY, stage_a(s, st + 1));
        tap_layer(s, 3 + 3 * st, nx, t / g->ratio, g->down.c_out);
        conv_roll(&g->down, s->xin[st], t);
        x = nx;
    }
}

/* ---- transformer ------------------------------------------------------------------------- *
 *
 * One implementation for one stream and for several (kstt__mimi_streams_encode): the rows of
 * x are the 25 Hz steps of the streams one after another (segments); the linears, norms and
 * element-wise ops run over all rows, RoPE, the key/value ring and attention per stream. */

/* One stream's share of a pass over several streams' rows (one segment for a stream alone). */
typedef struct {
    kstt_mimi_stream *s;
    int nf;         /* frames (nf * ds transformer rows) */
    int f0;         /* first frame (row of the latent) in the pass */
    int32_t *codes; /* [nf, K] destination (batched back only) */
} bseg;

/* Transformer scratch for T rows: [T, D], [T, 3D], [T, D], [T, D], [T, FF]; scores
 * [n_threads, context]. */
typedef struct {
    float *h, *qkv, *att, *o, *ff, *scores;
} tr_work;

typedef struct {
    const kstt_mimi *m;
    const tr_work *w;
    const bseg *sg;
    int l, T; /* layer, rows */
} attn_job;

/* Items (row, head) split between threads; a row belongs to its stream's segment and attends
 * over that stream's ring. */
static void attn_task(void *arg, int ith, int nth) {
    const attn_job *j = arg;
    const kstt_mimi *m = j->m;
    const int D = m->cfg.d_model, H = m->cfg.num_heads, hd = m->cfg.head_dim;
    const int ds = m->cfg.ds_stride, ctx = m->cfg.context;
    const float scale = 1.0f / sqrtf((float)hd);
    float *sc = j->w->scores + (size_t)ith * ctx;
    long i0, i1;
    kstt__split_range((long)j->T * H, 1, ith, nth, &i0, &i1);
    int seg = 0, r0 = 0; /* segment of the current row and its first row */
    for (long it = i0; it < i1; it++) {
        const int row = (int)(it / H), h = (int)(it % H);
        while (row >= r0 + j->sg[seg].nf * ds) {
            r0 += j->sg[seg].nf * ds;
            seg++;
        }
        const kstt_mimi_stream *s = j->sg[seg].s;
        const int cap = s->cap_kv;
        const float *kc = s->kc + (size_t)j->l * cap * D, *vc = s->vc + (size_t)j->l * cap * D;
        const int64_t q = s->pos + (row - r0);
        int64_t lo = (q / ds + 1) * ds - ctx;
        if (lo < 0)
            lo = 0;
        const float *qv = j->w->qkv + (size_t)row * 3 * D + (size_t)h * hd;
        float *o = j->w->att + (size_t)row * D + (size_t)h * hd;
        m->k->attn_ring_f32(qv, kc + (size_t)h * hd, vc + (size_t)h * hd, D, (long)(lo % cap),
                            (long)(q - lo + 1), cap, hd, scale, sc, o);
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

/* The transformer over x [T, D] in place, T = the rows of the n segments; each stream's
 * position advances by its rows. Taps (one segment only) get every layer's output. */
static void transformer_rows(const kstt_mimi *m, const tr_work *w, const bseg *sg, int n,
                             float *x, int T) {
    const kstt__mimi_config *c = &m->cfg;
    const int D = c->d_model, FF = c->dim_feedforward, ds = c->ds_stride;
    kstt_mimi_stream *tap_s = n == 1 && sg[0].s->tap ? sg[0].s : NULL;
    for (int l = 0; l < c->num_layers; l++) {
        const kstt__mimi_layer *ly = &m->layers[l];
        for (int r = 0; r < T; r++)
            kstt__layernorm(x + (size_t)r * D, ly->norm1_w, ly->norm1_b, 1e-5f,
                            w->h + (size_t)r * D, D);
        kstt__matmul(m->pool, m->k, &ly->in_proj, w->h, D, w->qkv, 3L * D, T, &no_ws);
        for (int i = 0, row = 0; i < n; i++) {
            kstt_mimi_stream *s = sg[i].s;
            float *kc = s->kc + (size_t)l * s->cap_kv * D;
            float *vc = s->vc + (size_t)l * s->cap_kv * D;
            for (int r = 0; r < sg[i].nf * ds; r++, row++) {
                float *q = w->qkv + (size_t)row * 3 * D;
                const int64_t pos = s->pos + r;
                kstt__rope_interleaved(q, c->num_heads, c->head_dim, pos, c->max_period);
                kstt__rope_interleaved(q + D, c->num_heads, c->head_dim, pos, c->max_period);
                const size_t slot = (size_t)(pos % s->cap_kv);
                memcpy(kc + slot * D, q + D, (size_t)D * sizeof(float));
                memcpy(vc + slot * D, q + 2 * D, (size_t)D * sizeof(float));
            }
        }
        attn_job job = {m, w, sg, l, T};
        if ((long)T * c->num_heads * (c->context < 64 ? c->context : 64) < 4096)
            attn_task(&job, 0, 1);
        else
            kstt__pool_run(m->pool, attn_task, &job);
        kstt__matmul(m->pool, m->k, &ly->out_proj, w->att, D, w->o, D, T, &no_ws);
        add_scaled(x, ly->ls1, w->o, T, D);
        for (int r = 0; r < T; r++)
            kstt__layernorm(x + (size_t)r * D, ly->norm2_w, ly->norm2_b, 1e-5f,
                            w->h + (size_t)r * D, D);
        kstt__matmul(m->pool, m->k, &ly->lin1, w->h, D, w->ff, FF, T, &no_ws);
        m->k->gelu_f32(w->ff, (long)T * FF);
        kstt__matmul(m->pool, m->k, &ly->lin2, w->ff, FF, w->o, D, T, &no_ws);
        add_scaled(x, ly->ls2, w->o, T, D);
        if (tap_s) {
            char name[32];
            snprintf(name, sizeof name, "tr_layer%d_out", l);
            tap(tap_s, name, x, T, D);
        }
    }
    for (int i = 0; i < n; i++)
        sg[i].s->pos += (int64_t)sg[i].nf * ds;
}

/* One stream's t = nf * ds rows. */
static void transformer(kstt_mimi_stream *s, float *x, int t) {
    const tr_work w = {s->h, s->qkv, s->att, s->o, s->ff, s->scores};
    const bseg one = {s, t / s->m->cfg.ds_stride, 0, NULL};
    transformer_rows(s->m, &w, &one, 1, x, t);
}

/* ---- back ------------------------------------------------------------------------------- */

/* The frames accumulated in xin[split] through the rest of the model; codes [nf, K]. */
static void run_back(kstt_mimi_stream *s, int nf, int32_t *codes) {
    const kstt_mimi *m = s->m;
    const kstt__mimi_config *c = &m->cfg;
    const int last = m->n_stages - 1, D = c->d_model, ds = c->ds_stride;
    double t0 = s->prof ? now_s() : 0.0;
    for (int st = m->split; st <= last; st++) {
        const kstt__mimi_stage *g = &m->stages[st];
        const int t = nf * g->t_frame;
        if (st > m->split)
            res_block(s, st, stage_x(s, st), t);
        const int t2 = t / g->ratio, c2 = g->down.c_out;
        if (st < last) {
            float *nx = stage_x(s, st + 1);
            conv(s, &g->down, s->xin[st], t, nx, POST_BIAS_COPY, stage_a(s, st + 1));
            tap_layer(s, 3 + 3 * st, nx, t2, c2);
        } else { /* then the ELU before the output conv */
            float *nx = s->oin + (size_t)m->conv_out.state * m->conv_out.c_in;
            conv(s, &g->down, s->xin[st], t, nx, s->tap ? POST_BIAS : POST_BIAS_ELU, NULL);
            if (s->tap) {
                tap_layer(s, 3 + 3 * st, nx, t2, c2);
                m->k->elu_f32(nx, (long)t2 * c2);
                tap_layer(s, 4 + 3 * st, nx, t2, c2);
            }
        }
        conv_roll(&g->down, s->xin[st], t);
    }
    const int t2 = nf * ds;
    float *x = s->tx + (size_t)m->downsample.state * D;
    conv(s, &m->conv_out, s->oin, t2, x, POST_BIAS, NULL);
    conv_roll(&m->conv_out, s->oin, t2);
    tap_layer(s, 2 + 3 * m->n_stages, x, t2, D);
    tap(s, "seanet_out", x, t2, D);
    if (s->prof)
        lap(s, &s->prof->seanet, &t0);
    transformer(s, x, t2);
    tap(s, "transformer_out", x, t2, D);
    if (s->prof)
        lap(s, &s->prof->transformer, &t0);
    if (!s->ds_primed) { /* replicate padding: the state starts as copies of the first step */
        for (int r = 0; r < m->downsample.state; r++)
            memcpy(s->tx + (size_t)r * D, x, (size_t)D * sizeof(float));
        s->ds_primed = 1;
    }
    conv(s, &m->downsample, s->tx, t2, s->latent, POST_BIAS, NULL); /* (it has no bias) */
    conv_roll(&m->downsample, s->tx, t2);
    tap(s, "latent", s->latent, nf, D);
    kstt__mimi_rvq_encode(m, s->latent, nf, codes, &s->rvq, s->tap, s->tap_user);
    if (s->prof)
        lap(s, &s->prof->quant, &t0);
}

/* ---- public API -------------------------------------------------------------------------- */

/* Row capacities (new rows per pass) of stage st's x buffer and res_a input. */
static int xcap(const kstt_mimi *m, int st) {
    return (st < m->split ? KSTT_MIMI_FRONT : KSTT_MIMI_BACK) * m->stages[st].t_frame;
}
static int acap(const kstt_mimi *m, int st) {
    return (st <= m->split ? KSTT_MIMI_FRONT : KSTT_MIMI_BACK) * m->stages[st].t_frame;
}

/* Walks the buffer list: with base NULL only counts floats. */
static size_t layout(kstt_mimi_stream *s, float *base) {
    const kstt_mimi *m = s->m;
    const kstt__mimi_config *c = &m->cfg;
    size_t off = 0;
#define PLACE(ptr, n)                                                                              \
    do {                                                                                           \
        if (base)                                                                                  \
            (ptr) = base + off;                                                                    \
        off += ((size_t)(n) + 15) & ~(size_t)15;                                                   \
    } while (0)
    PLACE(s->pcm, (size_t)m->conv_in.state + (size_t)KSTT_MIMI_FRONT * c->frame_size);
    size_t mid = 0, tmp = 0;
    for (int st = 0; st < m->n_stages; st++) {
        const kstt__mimi_stage *g = &m->stages[st];
        PLACE(s->xin[st], ((size_t)g->down.state + xcap(m, st)) * g->channels);
        PLACE(s->ain[st], ((size_t)g->res_a.state + acap(m, st)) * g->channels);
        const size_t rows = (size_t)acap(m, st);
        if (rows * g->res_a.c_out > mid)
            mid = rows * g->res_a.c_out;
        if (rows * g->channels > tmp)
            tmp = rows * g->channels;
    }
    PLACE(s->mid, mid);
    PLACE(s->tmp, tmp);
    const size_t T = (size_t)KSTT_MIMI_BACK * c->ds_stride, D = (size_t)c->d_model;
    PLACE(s->oin, ((size_t)m->conv_out.state + T) * m->conv_out.c_in);
    PLACE(s->tx, ((size_t)m->downsample.state + T) * D);
    PLACE(s->h, T * D);
    PLACE(s->qkv, T * 3 * D);
    PLACE(s->att, T * D);
    PLACE(s->o, T * D);
    PLACE(s->ff, T * (size_t)c->dim_feedforward);
    PLACE(s->kc, (size_t)c->num_layers * s->cap_kv * D);
    PLACE(s->vc, (size_t)c->num_layers * s->cap_kv * D);
    PLACE(s->scores, (size_t)s->n_threads * c->context);
    PLACE(s->latent, (size_t)KSTT_MIMI_BACK * D);
    PLACE(s->rvq.buf, kstt__mimi_rvq_ws_floats(m, KSTT_MIMI_BACK));
    s->rvq.n_max = KSTT_MIMI_BACK;
#undef PLACE
    return off;
}

int kstt_mimi_stream_new(kstt_mimi_stream **out, const kstt_mimi *m) {
    if (!out)
        return KSTT_EINVAL;
    *out = NULL;
    if (!m)
        return KSTT_EINVAL;
    kstt_mimi_stream *s = kstt__calloc(1, sizeof *s);
    if (!s)
        return KSTT_ENOMEM;
    s->m = m;
    s->cap_kv = m->cfg.context + KSTT_MIMI_BACK * m->cfg.ds_stride;
    s->n_threads = kstt__pool_size(m->pool);
    const size_t n = layout(s, NULL);
    s->arena = kstt__calloc(n, sizeof(float));
    if (!s->arena) {
        kstt__free(s);
        return KSTT_ENOMEM;
    }
    layout(s, s->arena);
    *out = s;
    return KSTT_OK;
}

void kstt_mimi_stream_free(kstt_mimi_stream *s) {
    if (!s)
        return;
    kstt__free(s->arena);
    kstt__free(s);
}

void kstt_mimi_stream_reset(kstt_mimi_stream *s) {
    if (!s)
        return;
    const kstt_mimi *m = s->m;
    /* Zero every convolution state (the first rows of its buffer). The key/value ring needs no
     * clearing: a query only reads positions written since the reset. */
    memset(s->pcm, 0, (size_t)m->conv_in.state * sizeof(float));
    for (int st = 0; st < m->n_stages; st++) {
        const kstt__mimi_stage *g = &m->stages[st];
        memset(s->xin[st], 0, (size_t)g->down.state * g->channels * sizeof(float));
        memset(s->ain[st], 0, (size_t)g->res_a.state * g->channels * sizeof(float));
    }
    memset(s->oin, 0, (size_t)m->conv_out.state * m->conv_out.c_in * sizeof(float));
    memset(s->tx, 0, (size_t)m->downsample.state * m->cfg.d_model * sizeof(float));
    s->fill = 0;
    s->back_fill = 0;
    s->ds_primed = 0;
    s->pos = 0;
    s->err[0] = '\0';
}

size_t kstt_mimi_stream_frames_after(const kstt_mimi_stream *s, size_t n) {
    if (!s)
        return 0;
    const size_t frame = (size_t)s->m->cfg.frame_size;
    return s->fill / frame + n / frame + (s->fill % frame + n % frame) / frame;
}

/* The argument checks of an encode call for stream s (`fn`: the public name in messages). */
static int check_call(kstt_mimi_stream *s, const char *fn, const float *pcm, size_t n,
                      const int32_t *codes, size_t max_frames) {
    s->err[0] = '\0';
    if (n > 0 && !pcm)
        return kstt__errf(s->err, sizeof s->err, KSTT_EINVAL, "%s: pcm is NULL with n = %zu",
                          fn, n);
    const size_t need = kstt_mimi_stream_frames_after(s, n);
    if (need > (size_t)INT_MAX)
        return kstt__errf(s->err, sizeof s->err, KSTT_ERANGE,
                          "%s: %zu samples in one call is too many", fn, n);
    if (need > max_frames)
        return kstt__errf(s->err, sizeof s->err, KSTT_ERANGE,
                          "%s: %zu frames complete but codes has room for %zu", fn, need,
                          max_frames);
    if (need > 0 && !codes)
        return kstt__errf(s->err, sizeof s->err, KSTT_EINVAL, "%s: codes is NULL", fn);
    return KSTT_OK;
}

int kstt_mimi_stream_encode(kstt_mimi_stream *s, const float *pcm, size_t n, int32_t *codes,
                            size_t max_frames) {
    if (!s)
        return KSTT_EINVAL;
    const int rc = check_call(s, "kstt_mimi_stream_encode", pcm, n, codes, max_frames);
    if (rc)
        return rc;
    const kstt_mimi *m = s->m;
    const size_t frame = (size_t)m->cfg.frame_size, P = (size_t)m->conv_in.state;
    const size_t cap = (size_t)KSTT_MIMI_FRONT * frame;
    size_t done = 0;
    for (;;) {
        const size_t take = cap - s->fill < n ? cap - s->fill : n;
        if (take) {
            memcpy(s->pcm + P + s->fill, pcm, take * sizeof(float));
            s->fill += take;
            pcm += take;
            n -= take;
        }
        const int nf = (int)(s->fill / frame);
        if (nf == 0)
            break;
        double t0 = s->prof ? now_s() : 0.0;
        run_front(s, nf);
        if (s->prof)
            lap(s, &s->prof->front, &t0);
        /* keep the input conv's state (the P samples before the leftover) and the leftover */
        const size_t used = (size_t)nf * frame;
        memmove(s->pcm, s->pcm + used, (P + s->fill - used) * sizeof(float));
        s->fill -= used;
        s->back_fill += nf;
        const int more = s->fill + n >= frame;
        if (!more || s->back_fill + KSTT_MIMI_FRONT > KSTT_MIMI_BACK) {
            run_back(s, s->back_fill, codes + done * (size_t)m->num_codebooks);
            done += (size_t)s->back_fill;
            s->back_fill = 0;
        }
    }
    return (int)done;
}

const char *kstt_mimi_stream_errmsg(const kstt_mimi_stream *s) {
    return s ? s->err : "";
}

/* ---- batched encoding across streams ------------------------------------------------------
 *
 * kstt__mimi_streams_encode runs several streams of one model together: each stream's front
 * (small weights, many rows) runs on its own, then the back of all streams that have frames
 * waiting runs as one pass whose products take the rows of every stream at once, so the
 * back's weights (SEANet back, transformer, codebooks: ~220 MB at full size) are read once
 * per pass instead of once per stream. Per-stream state stays in each stream: the conv carry
 * rows (first rows of its buffers), the key/value ring, the position.
 *
 * A convolution reads each output's receptive field in place in its own stream's buffer; for
 * several buffers the receptive fields are first copied one after another into b->g, which is
 * then the input of the same convolution with stride K (ldx = K * C_in): few rows per frame at
 * the back, so the copy is small next to the weights. Element-wise ops run on the
 * concatenated rows, attention per stream over its own ring. The products are bitwise
 * independent of the batch rows and of ldx (kernels.h), the element-wise ops per element, so
 * every stream's codes are exactly those of its own kstt_mimi_stream_encode.
 */

struct kstt__mimi_batch {
    const kstt_mimi *m;
    int cap;        /* streams per call */
    int cap_frames; /* frames per back pass, all streams together (KSTT_MIMI_BACK) */
    float *g;       /* gathered receptive fields */
    float *y, *aux; /* conv outputs [rows, c_out] and their second output (the ELU copy / x) */
    float *tmp;     /* res_b output */
    float *x, *h, *qkv, *att, *o, *ff; /* transformer [T, D], [T, D], [T, 3D], [T, D], [T, D],
                                          [T, FF] with T = cap_frames * ds */
    float *latent;                     /* [cap_frames, D] */
    float *scores;                     /* [n_threads, context] */
    kstt__mimi_rvq_ws rvq;             /* cap_frames rows */
    int32_t *codes;                    /* [cap_frames, K] */
    bseg *segs;                        /* [cap] */
    float **in;                        /* [cap] conv inputs of one batched conv */
    int *tin;                          /* [cap] their new rows */
    const float **cur;                 /* [cap] next sample of each stream's call */
    size_t *left;                      /* [cap] samples left of each stream's call */
    kstt__mimi_prof *prof;             /* bench only */
    float *arena;
};

void kstt__mimi_batch_set_prof(kstt__mimi_batch *b, kstt__mimi_prof *p) {
    b->prof = p;
}

/* lap() for a batch's profile. */
static void blap(double *acc, double *t0) {
    const double t = now_s();
    *acc += t - *t0;
    *t0 = t;
}

/* Largest per-frame sizes over the back's convolutions: receptive-field floats (gathered
 * input), output floats, and the rows of a residual block's x (second output). */
static void back_sizes(const kstt_mimi *m, size_t *g, size_t *y, size_t *aux) {
    *g = *y = *aux = 0;
#define MAXTO(v, n)                                                                                \
    do {                                                                                           \
        if ((size_t)(n) > (v))                                                                     \
            (v) = (size_t)(n);                                                                     \
    } while (0)
    for (int st = m->split; st < m->n_stages; st++) {
        const kstt__mimi_stage *g0 = &m->stages[st];
        const size_t t = (size_t)g0->t_frame, t2 = t / (size_t)g0->ratio;
        MAXTO(*g, t2 * g0->down.k * g0->down.c_in);
        MAXTO(*y, t2 * g0->down.c_out);
        MAXTO(*aux, t2 * g0->down.c_out);
        if (st > m->split) {
            MAXTO(*g, t * g0->res_a.k * g0->res_a.c_in);
            MAXTO(*y, t * g0->res_a.c_out);
            MAXTO(*aux, t * g0->channels);
        }
    }
    const size_t ds = (size_t)m->cfg.ds_stride;
    MAXTO(*g, ds * m->conv_out.k * m->conv_out.c_in);
    MAXTO(*y, ds * m->conv_out.c_out);
    MAXTO(*g, (size_t)m->downsample.k * m->downsample.c_in);
#undef MAXTO
}

static size_t batch_layout(kstt__mimi_batch *b, float *base) {
    const kstt_mimi *m = b->m;
    const kstt__mimi_config *c = &m->cfg;
    const size_t F = (size_t)b->cap_frames, T = F * c->ds_stride, D = (size_t)c->d_model;
    size_t g, y, aux, off = 0;
    back_sizes(m, &g, &y, &aux);
#define PLACE(ptr, n)                                                                              \
    do {                                                                                           \
        if (base)                                                                                  \
            (ptr) = base + off;                                                                    \
        off += ((size_t)(n) + 15) & ~(size_t)15;                                                   \
    } while (0)
    PLACE(b->g, F * g);
    PLACE(b->y, F * y);
    PLACE(b->aux, F * aux);
    PLACE(b->tmp, F * aux);
    PLACE(b->x, T * D);
    PLACE(b->h, T * D);
    PLACE(b->qkv, T * 3 * D);
    PLACE(b->att, T * D);
    PLACE(b->o, T * D);
    PLACE(b->ff, T * (size_t)c->dim_feedforward);
    PLACE(b->latent, F * D);
    PLACE(b->scores, (size_t)kstt__pool_size(m->pool) * c->context);
    PLACE(b->rvq.buf, kstt__mimi_rvq_ws_floats(m, b->cap_frames));
#undef PLACE
    return off;
}

void kstt__mimi_batch_free(kstt__mimi_batch *b) {
    if (!b)
        return;
    kstt__free(b->arena);
    kstt__free(b->codes);
    kstt__free(b->segs);
    kstt__free(b->in);
    kstt__free(b->tin);
    kstt__free(b->cur);
    kstt__free(b->left);
    kstt__free(b);
}

int kstt__mimi_batch_new(kstt__mimi_batch **out, const kstt_mimi *m, int max_streams) {
    if (!out)
        return KSTT_EINVAL;
    *out = NULL;
    if (!m || max_streams < 1)
        return KSTT_EINVAL;
    kstt__mimi_batch *b = kstt__calloc(1, sizeof *b);
    if (!b)
        return KSTT_ENOMEM;
    b->m = m;
    b->cap = max_streams;
    b->cap_frames = KSTT_MIMI_BACK;
    b->rvq.n_max = b->cap_frames;
    const size_t cap = (size_t)max_streams;
    b->arena = kstt__calloc(batch_layout(b, NULL), sizeof(float));
    b->codes = kstt__calloc((size_t)b->cap_frames * m->num_codebooks, sizeof(int32_t));
    b->segs = kstt__calloc(cap, sizeof *b->segs);
    b->in = kstt__calloc(cap, sizeof *b->in);
    b->tin = kstt__calloc(cap, sizeof *b->tin);
    b->cur = kstt__calloc(cap, sizeof *b->cur);
    b->left = kstt__calloc(cap, sizeof *b->left);
    if (!b->arena || !b->codes || !b->segs || !b->in || !b->tin || !b->cur || !b->left) {
        kstt__mimi_batch_free(b);
        return KSTT_ENOMEM;
    }
    batch_layout(b, b->arena);
    *out = b;
    return KSTT_OK;
}

/* Copies the receptive fields of conv c's outputs over `in` (state rows, then t_in new rows)
 * one after another to dst; returns the end of what it wrote. */
static float *gather_rf(const kstt__mimi_conv *c, const float *in, int t_in, float *dst) {
    const size_t rf = (size_t)c->k * c->c_in, step = (size_t)c->stride * c->c_in;
    const int t_out = t_in / c->stride;
    if (c->k == c->stride) { /* the receptive fields are already contiguous */
        memcpy(dst, in, (size_t)t_out * rf * sizeof(float));
        return dst + (size_t)t_out * rf;
    }
    for (int t = 0; t < t_out; t++)
        memcpy(dst + (size_t)t * rf, in + (size_t)t * step, rf * sizeof(float));
    return dst + (size_t)t_out * rf;
}

/* Conv c over the buffers b->in[i] (state, then b->tin[i] new rows) of n streams: one product
 * over their gathered receptive fields into out [sum t_out, c_out] (rows of stream 0, then
 * stream 1, ...), post-op (and aux) over those concatenated rows. Returns the output rows. */
static int bconv(kstt__mimi_batch *b, kstt_mimi_stream *s0, const kstt__mimi_conv *c, int n,
                 float *out, post_op post, float *aux) {
    float *g = b->g;
    int T = 0;
    for (int i = 0; i < n; i++) {
        g = gather_rf(c, b->in[i], b->tin[i], g);
        T += b->tin[i] / c->stride;
    }
    kstt__mimi_conv ck = *c; /* the same weights read with stride K over the gathered rows */
    ck.stride = c->k;
    ck.state = 0;
    conv(s0, &ck, b->g, T * c->k, out, post, aux);
    return T;
}

/* Copies rows [r0, r0 + rows) of src [*, C] to dst. */
static void rows_to(float *dst, const float *src, int r0, int rows, int C) {
    memcpy(dst, src + (size_t)r0 * C, (size_t)rows * C * sizeof(float));
}

/* run_back for n >= 2 streams at once (their back_fill frames; no tap). */
static void back_batch(kstt__mimi_batch *b, bseg *sg, int n) {
    const kstt_mimi *m = b->m;
    const kstt__mimi_config *c = &m->cfg;
    const int last = m->n_stages - 1, D = c->d_model, ds = c->ds_stride;
    const int K = m->num_codebooks;
    kstt_mimi_stream *s0 = sg[0].s;
    double t0 = b->prof ? now_s() : 0.0;
    for (int st = m->split; st <= last; st++) {
        const kstt__mimi_stage *g = &m->stages[st];
        const int C = g->channels;
        if (st > m->split) { /* res_block over all streams */
            for (int i = 0; i < n; i++) {
                b->in[i] = sg[i].s->ain[st];
                b->tin[i] = sg[i].nf * g->t_frame;
            }
            const int T = bconv(b, s0, &g->res_a, n, b->y, POST_BIAS_ELU, NULL);
            for (int i = 0, r = 0; i < n; r += b->tin[i], i++) {
                conv_roll(&g->res_a, sg[i].s->ain[st], b->tin[i]);
                memcpy(b->aux + (size_t)r * C, stage_x(sg[i].s, st),
                       (size_t)b->tin[i] * C * sizeof(float));
            }
            conv(s0, &g->res_b, b->y, T, b->tmp, POST_RES_ELU, b->aux);
            for (int i = 0, r = 0; i < n; r += b->tin[i], i++)
                rows_to(stage_x(sg[i].s, st), b->aux, r, b->tin[i], C);
        }
        for (int i = 0; i < n; i++) {
            b->in[i] = sg[i].s->xin[st];
            b->tin[i] = sg[i].nf * g->t_frame;
        }
        const int c2 = g->down.c_out;
        bconv(b, s0, &g->down, n, b->y, st < last ? POST_BIAS_COPY : POST_BIAS_ELU, b->aux);
        for (int i = 0, r = 0; i < n; i++) {
            kstt_mimi_stream *s = sg[i].s;
            const int t2 = b->tin[i] / g->ratio;
            if (st < last) {
                rows_to(stage_x(s, st + 1), b->y, r, t2, c2);
                rows_to(stage_a(s, st + 1), b->aux, r, t2, c2);
            } else {
                rows_to(s->oin + (size_t)m->conv_out.state * m->conv_out.c_in, b->y, r, t2, c2);
            }
            conv_roll(&g->down, s->xin[st], b->tin[i]);
            r += t2;
        }
    }
    for (int i = 0; i < n; i++) {
        b->in[i] = sg[i].s->oin;
        b->tin[i] = sg[i].nf * ds;
    }
    const int T = bconv(b, s0, &m->conv_out, n, b->x, POST_BIAS, NULL);
    for (int i = 0; i < n; i++)
        conv_roll(&m->conv_out, sg[i].s->oin, b->tin[i]);
    if (b->prof)
        blap(&b->prof->seanet, &t0);
    const tr_work w = {b->h, b->qkv, b->att, b->o, b->ff, b->scores};
    transformer_rows(m, &w, sg, n, b->x, T);
    if (b->prof)
        blap(&b->prof->transformer, &t0);
    for (int i = 0, r = 0; i < n; r += b->tin[i], i++) {
        kstt_mimi_stream *s = sg[i].s;
        const float *x = b->x + (size_t)r * D;
        rows_to(s->tx + (size_t)m->downsample.state * D, b->x, r, b->tin[i], D);
        if (!s->ds_primed) { /* replicate padding, as in run_back */
            for (int k = 0; k < m->downsample.state; k++)
                memcpy(s->tx + (size_t)k * D, x, (size_t)D * sizeof(float));
            s->ds_primed = 1;
        }
        b->in[i] = s->tx;
    }
    const int NF = bconv(b, s0, &m->downsample, n, b->latent, POST_BIAS, NULL);
    for (int i = 0; i < n; i++)
        conv_roll(&m->downsample, sg[i].s->tx, b->tin[i]);
    kstt__mimi_rvq_encode(m, b->latent, NF, b->codes, &b->rvq, NULL, NULL);
    if (b->prof)
        blap(&b->prof->quant, &t0);
    for (int i = 0; i < n; i++) {
        memcpy(sg[i].codes, b->codes + (size_t)sg[i].f0 * K,
               (size_t)sg[i].nf * K * sizeof(int32_t));
        sg[i].s->back_fill = 0;
    }
}

/* The back of the ns streams in b->segs: alone, the single-stream path (no copies). */
static void run_pass(kstt__mimi_batch *b, int ns) {
    if (ns == 1) {
        kstt_mimi_stream *s = b->segs[0].s;
        s->prof = b->prof; /* (NULL before: a stream with a profile is encoded alone) */
        run_back(s, b->segs[0].nf, b->segs[0].codes);
        s->prof = NULL;
        s->back_fill = 0;
    } else if (ns > 1) {
        back_batch(b, b->segs, ns);
    }
}

/* Takes samples of one stream's call and runs its front over every complete frame, until the
 * call has no complete frame left or the back buffer is full. */
static void front_fill(kstt_mimi_stream *s, const float **pcm, size_t *n) {
    const kstt_mimi *m = s->m;
    const size_t frame = (size_t)m->cfg.frame_size, P = (size_t)m->conv_in.state;
    const size_t cap = (size_t)KSTT_MIMI_FRONT * frame;
    while (s->back_fill + KSTT_MIMI_FRONT <= KSTT_MIMI_BACK) {
        const size_t take = cap - s->fill < *n ? cap - s->fill : *n;
        if (take) {
            memcpy(s->pcm + P + s->fill, *pcm, take * sizeof(float));
            s->fill += take;
            *pcm += take;
            *n -= take;
        }
        const int nf = (int)(s->fill / frame);
        if (nf == 0)
            break;
        run_front(s, nf);
        const size_t used = (size_t)nf * frame;
        memmove(s->pcm, s->pcm + used, (P + s->fill - used) * sizeof(float));
        s->fill -= used;
        s->back_fill += nf;
    }
}

int kstt__mimi_streams_encode(kstt__mimi_batch *b, kstt_mimi_stream *const *s, int count,
                              const float *const *pcm, const size_t *n, int32_t *const *codes,
                              const size_t *max_frames, int *frames) {
    if (!b || count < 0 || count > b->cap)
        return KSTT_EINVAL;
    if (count == 0)
        return KSTT_OK;
    if (!s || !pcm || !n || !codes || !max_frames || !frames)
        return KSTT_EINVAL;
    int single = count == 1;
    for (int i = 0; i < count; i++) {
        if (!s[i] || s[i]->m != b->m)
            return KSTT_EINVAL;
        for (int j = 0; j < i; j++)
            if (s[j] == s[i])
                return KSTT_EINVAL;
        if (s[i]->tap || s[i]->prof) /* test and bench hooks see one stream's rows */
            single = 1;
    }
    for (int i = 0; i < count; i++) /* no stream keeps a message from an earlier call */
        s[i]->err[0] = '\0';
    for (int i = 0; i < count; i++) {
        const int rc =
            check_call(s[i], "kstt__mimi_streams_encode", pcm[i], n[i], codes[i], max_frames[i]);
        if (rc)
            return rc;
        frames[i] = 0;
    }
    if (single) {
        for (int i = 0; i < count; i++) {
            kstt__mimi_prof *own = s[i]->prof;
            if (!own)
                s[i]->prof = b->prof;
            /* After check_call an encode has no way to fail; if one ever gains one, the
             * streams before i would have advanced without their frames being reported. */
            const int r = kstt_mimi_stream_encode(s[i], pcm[i], n[i], codes[i], max_frames[i]);
            s[i]->prof = own;
            KSTT_ASSERT(r >= 0);
            if (r < 0)
                return r;
            frames[i] = r;
        }
        return KSTT_OK;
    }
    const int K = b->m->num_codebooks;
    for (int i = 0; i < count; i++) {
        b->cur[i] = pcm[i];
        b->left[i] = n[i];
    }
    for (;;) {
        int ns = 0, nf = 0, any = 0;
        for (int i = 0; i < count; i++) {
            kstt_mimi_stream *si = s[i];
            double t0 = b->prof ? now_s() : 0.0;
            front_fill(si, &b->cur[i], &b->left[i]);
            if (b->prof)
                blap(&b->prof->front, &t0);
            if (si->back_fill == 0)
                continue;
            any = 1;
            if (nf + si->back_fill > b->cap_frames) { /* pass full: run it, start another */
                run_pass(b, ns);
                ns = nf = 0;
            }
            b->segs[ns++] = (bseg){si, si->back_fill, nf, codes[i] + (size_t)frames[i] * K};
            nf += si->back_fill;
            frames[i] += si->back_fill;
        }
        run_pass(b, ns);
        if (!any)
            return KSTT_OK;
    }
}
