/*
 * The SEANet encoder: convolutions with their fused element-wise tails, residual blocks, the
 * front (one stream, up to KSTT_MIMI_FRONT frames) and the back (one pass over the frames of
 * 1..n streams).
 *
 * A convolution reads each output's receptive field in place in its stream's buffer (state
 * rows, then the new rows; mimi_internal.h). A back convolution over several streams first
 * copies their receptive fields one after another into b->g and runs the same weights with
 * stride K over that (ldx = K * C_in): few rows per frame at the back, so the copy is small
 * next to the weights; with one stream it runs in place. Outputs of a pass of one stream go
 * straight to the stream's buffers, those of several to batch scratch and then to each
 * stream's buffer.
 */
#include <stdio.h>
#include <string.h>

#include "codec/mimi_run.h"
#include "core/pool.h"

static const kstt__ws no_ws = {NULL, 0};

/* ---- convolutions ------------------------------------------------------------------------ */

typedef struct {
    const kstt_mimi *m;
    const kstt__mimi_conv *c;
    const float *in; /* state rows then the new rows */
    float *out;      /* [t_out, c_out], rows of c_out floats */
    float *aux;      /* [t_out, c_out] (POST_BIAS_COPY, POST_RES*) */
    int t_out;
    kstt__mimi_post post;
} conv_job;

static void post_rows(const conv_job *j, int t0, int t1) {
    const kstt_mimi *m = j->m;
    const int C = j->c->c_out, rows = t1 - t0;
    const float *b = j->c->bias;
    float *y = j->out + (size_t)t0 * C;
    float *aux = j->aux ? j->aux + (size_t)t0 * C : NULL;
    switch (j->post) {
    case KSTT__POST_BIAS:
    case KSTT__POST_BIAS_COPY:
        if (b)
            for (int t = 0; t < rows; t++)
                m->k->axpy_f32(1.0f, b, y + (size_t)t * C, C);
        if (j->post == KSTT__POST_BIAS_COPY)
            m->k->elu_copy_f32(aux, y, (long)rows * C);
        break;
    case KSTT__POST_BIAS_ELU:
        m->k->bias_elu_f32(y, b, rows, C, C);
        break;
    case KSTT__POST_RES_ELU:
        m->k->res_elu_f32(aux, y, b, rows, C);
        break;
    case KSTT__POST_RES:
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
    j->m->k->wt[c->w.type].matmul(&c->w, j->in + t0 * ldx, ldx, j->out + t0 * c->c_out, c->c_out,
                                  (int)(t1 - t0), 0, c->c_out, &no_ws);
    post_rows(j, (int)t0, (int)t1);
}

void kstt__mimi_conv_run(const kstt_mimi *m, int n_threads, const kstt__mimi_conv *c,
                         const float *in, int t_in, float *out, kstt__mimi_post post, float *aux) {
    conv_job j = {m, c, in, out, aux, t_in / c->stride, post};
    const size_t wbytes = (size_t)c->w.rows * c->w.cols * sizeof(float);
    const double work = (double)c->w.rows * c->w.cols * j.t_out;
    if (n_threads > 1 && j.t_out >= 64 * n_threads && wbytes <= ((size_t)4 << 20) &&
        work >= 65536.0) {
        kstt__pool_run(m->pool, conv_task, &j);
    } else if (work < 65536.0 || n_threads == 1) {
        conv_task(&j, 0, 1);
    } else { /* large weights: threads split the rows (the driver) */
        kstt__matmul(m->pool, m->k, &c->w, in, (long)c->stride * c->c_in, out, c->c_out, j.t_out,
                     &no_ws);
        post_rows(&j, 0, j.t_out);
    }
}

void kstt__mimi_conv_roll(const kstt__mimi_conv *c, float *in, int t_in) {
    if (c->state > 0)
        memmove(in, in + (size_t)t_in * c->c_in, (size_t)c->state * c->c_in * sizeof(float));
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

int kstt__mimi_conv_pass(kstt__mimi_batch *b, const kstt__mimi_conv *c, int n, float *out,
                         kstt__mimi_post post, float *aux) {
    if (n == 1) {
        kstt__mimi_conv_run(b->m, b->n_threads, c, b->in[0], b->tin[0], out, post, aux);
        return b->tin[0] / c->stride;
    }
    float *g = b->g;
    int T = 0;
    for (int i = 0; i < n; i++) {
        g = gather_rf(c, b->in[i], b->tin[i], g);
        T += b->tin[i] / c->stride;
    }
    kstt__mimi_conv ck = *c; /* the same weights read with stride K over the gathered rows */
    ck.stride = c->k;
    ck.state = 0;
    kstt__mimi_conv_run(b->m, b->n_threads, &ck, b->g, T * c->k, out, post, aux);
    return T;
}

/* ---- stages ------------------------------------------------------------------------------ */

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

static void tap_layer(const kstt__mimi_pass *p, int idx, const float *x, int rows, int cols) {
    if (!p->tap)
        return;
    char name[32];
    snprintf(name, sizeof name, "seanet_layer%02d_out", idx);
    kstt__mimi_pass_tap((void *)p, name, x, rows, cols);
}

/* Residual block of stage st over the pass's rows, followed by the ELU that feeds the stage's
 * down conv: x = ELU(x + conv_b(ELU(conv_a(ELU(x))))), x [T, C] in place. ELU(x) is already
 * in each stream's branch input ain[st] (written by the producer of x). A pass of one stream
 * touches nothing of b but the scratch it is given (fronts of several streams run at once). */
static void res_block(kstt__mimi_batch *b, int n_threads, const kstt__mimi_pass *p, int st,
                      float *x, float *mid, float *tmp) {
    const kstt_mimi *m = b->m;
    const kstt__mimi_stage *g = &m->stages[st];
    const int C = g->channels;
    int T;
    if (p->n == 1) {
        kstt_mimi_stream *s = p->sg[0].s;
        const int t_in = p->sg[0].nf * g->t_frame;
        kstt__mimi_conv_run(m, n_threads, &g->res_a, s->ain[st], t_in, mid, KSTT__POST_BIAS_ELU,
                            NULL);
        T = t_in / g->res_a.stride;
        kstt__mimi_conv_roll(&g->res_a, s->ain[st], t_in);
    } else {
        for (int i = 0; i < p->n; i++) {
            b->in[i] = p->sg[i].s->ain[st];
            b->tin[i] = p->sg[i].nf * g->t_frame;
        }
        T = kstt__mimi_conv_pass(b, &g->res_a, p->n, mid, KSTT__POST_BIAS_ELU, NULL);
        for (int i = 0; i < p->n; i++)
            kstt__mimi_conv_roll(&g->res_a, p->sg[i].s->ain[st], b->tin[i]);
    }
    if (p->tap) {
        kstt__mimi_conv_run(m, n_threads, &g->res_b, mid, T, tmp, KSTT__POST_RES, x);
        tap_layer(p, 1 + 3 * st, x, T, C);
        m->k->elu_f32(x, (long)T * C);
        tap_layer(p, 2 + 3 * st, x, T, C);
        return;
    }
    kstt__mimi_conv_run(m, n_threads, &g->res_b, mid, T, tmp, KSTT__POST_RES_ELU, x);
}

void kstt__mimi_front(kstt__mimi_batch *b, kstt_mimi_stream *s, int nf, int n_threads, float *y,
                      float *tmp) {
    const kstt_mimi *m = s->m;
    const kstt__mimi_seg seg = {s, nf, 0, NULL};
    const kstt__mimi_pass p = {&seg, 1, nf, s->tap != NULL};
    float *x = stage_x(s, 0);
    kstt__mimi_conv_run(m, n_threads, &m->conv_in, s->pcm, nf * m->cfg.frame_size, x,
                        KSTT__POST_BIAS_COPY, stage_a(s, 0));
    tap_layer(&p, 0, x, nf * m->cfg.frame_size, m->conv_in.c_out);
    for (int st = 0;; st++) {
        const kstt__mimi_stage *g = &m->stages[st];
        const int t = nf * g->t_frame;
        res_block(b, n_threads, &p, st, x, y, tmp);
        if (st == m->split)
            break;
        float *nx = stage_x(s, st + 1);
        kstt__mimi_conv_run(m, n_threads, &g->down, s->xin[st], t, nx, KSTT__POST_BIAS_COPY,
                            stage_a(s, st + 1));
        tap_layer(&p, 3 + 3 * st, nx, t / g->ratio, g->down.c_out);
        kstt__mimi_conv_roll(&g->down, s->xin[st], t);
        x = nx;
    }
}

/* Copies the pass's rows [*, C] at src (rpf rows per frame) to each stream's dst, an
 * expression of the stream s (several streams only). */
#define SCATTER(p, src, rpf, C, dst)                                                               \
    do {                                                                                           \
        for (int i_ = 0, r_ = 0; i_ < (p)->n; i_++) {                                              \
            kstt_mimi_stream *s = (p)->sg[i_].s;                                                   \
            const int rows_ = (p)->sg[i_].nf * (rpf);                                              \
            memcpy((dst), (src) + (size_t)r_ * (C), (size_t)rows_ * (C) * sizeof(float));          \
            r_ += rows_;                                                                           \
        }                                                                                          \
    } while (0)

float *kstt__mimi_seanet_back(kstt__mimi_batch *b, const kstt__mimi_pass *p) {
    const kstt_mimi *m = b->m;
    const int last = m->n_stages - 1, n = p->n;
    kstt_mimi_stream *s0 = p->sg[0].s;
    for (int st = m->split; st <= last; st++) {
        const kstt__mimi_stage *g = &m->stages[st];
        const int C = g->channels, tf = g->t_frame;
        if (st > m->split) {
            float *x = n == 1 ? stage_x(s0, st) : b->aux;
            if (n > 1) /* x of all streams in one buffer, the residual sum in place */
                for (int i = 0, r = 0; i < n; r += p->sg[i].nf * tf, i++)
                    memcpy(b->aux + (size_t)r * C, stage_x(p->sg[i].s, st),
                           (size_t)p->sg[i].nf * tf * C * sizeof(float));
            res_block(b, b->n_threads, p, st, x, b->y, b->tmp);
            if (n > 1)
                SCATTER(p, b->aux, tf, C, stage_x(s, st));
        }
        for (int i = 0; i < n; i++) {
            b->in[i] = p->sg[i].s->xin[st];
            b->tin[i] = p->sg[i].nf * tf;
        }
        const int c2 = g->down.c_out, t2f = tf / g->ratio, T2 = p->nf * t2f;
        if (st < last) {
            float *y = n == 1 ? stage_x(s0, st + 1) : b->y;
            float *a = n == 1 ? stage_a(s0, st + 1) : b->aux;
            kstt__mimi_conv_pass(b, &g->down, n, y, KSTT__POST_BIAS_COPY, a);
            tap_layer(p, 3 + 3 * st, y, T2, c2);
            if (n > 1) {
                SCATTER(p, b->y, t2f, c2, stage_x(s, st + 1));
                SCATTER(p, b->aux, t2f, c2, stage_a(s, st + 1));
            }
        } else { /* then the ELU before the output conv */
            const size_t o0 = (size_t)m->conv_out.state * m->conv_out.c_in;
            float *y = n == 1 ? s0->oin + o0 : b->y;
            kstt__mimi_conv_pass(b, &g->down, n, y, p->tap ? KSTT__POST_BIAS : KSTT__POST_BIAS_ELU,
                                 NULL);
            if (p->tap) {
                tap_layer(p, 3 + 3 * st, y, T2, c2);
                m->k->elu_f32(y, (long)T2 * c2);
                tap_layer(p, 4 + 3 * st, y, T2, c2);
            }
            if (n > 1)
                SCATTER(p, b->y, t2f, c2, s->oin + o0);
        }
        for (int i = 0; i < n; i++)
            kstt__mimi_conv_roll(&g->down, p->sg[i].s->xin[st], b->tin[i]);
    }
    const int ds = m->cfg.ds_stride, D = m->cfg.d_model;
    for (int i = 0; i < n; i++) {
        b->in[i] = p->sg[i].s->oin;
        b->tin[i] = p->sg[i].nf * ds;
    }
    float *x = n == 1 ? s0->tx + (size_t)m->downsample.state * D : b->x;
    const int T = kstt__mimi_conv_pass(b, &m->conv_out, n, x, KSTT__POST_BIAS, NULL);
    for (int i = 0; i < n; i++)
        kstt__mimi_conv_roll(&m->conv_out, p->sg[i].s->oin, b->tin[i]);
    tap_layer(p, 2 + 3 * m->n_stages, x, T, D);
    if (p->tap)
        kstt__mimi_pass_tap((void *)p, "seanet_out", x, T, D);
    return x;
}
