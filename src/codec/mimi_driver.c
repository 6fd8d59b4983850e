/*
 * The one encoder driver, for 1..n streams of a model (kstt_mimi_stream_encode is a batch of
 * one: the stream's own batch).
 *
 * Samples accumulate in the input buffer of each stream's first convolution. As soon as a
 * 1920-sample frame is complete it goes through the model; a call that completes many frames
 * runs them batched over time (the same code with more rows). Two pass sizes keep that cheap
 * in memory:
 *   front  (input conv, SEANet stages 0 .. split, up to the ELU before the down conv of stage
 *          `split`): one stream at a time, at most KSTT_MIMI_FRONT frames, appended to the
 *          input buffer of that down conv (the stream's back_fill frames);
 *   back   (that down conv, the last stages, the output conv, the transformer, the downsample
 *          and the quantizer): one pass over the waiting frames of all streams (segments, at
 *          most KSTT_MIMI_BACK frames), whenever a stream's buffer is full or no stream's call
 *          has a further complete frame. So codes come out within the call that completes
 *          their frame, and the back's weights (~220 MB at full size) are read once per pass,
 *          not once per stream.
 * Taps and timers work at any stream count: a tap gets its stream's rows of each pass, a
 * stream's timer its own front time and the whole time of the back passes it took part in.
 *
 * Memory: the batch holds all scratch (kstt__mimi_batch_new), the streams their state;
 * encoding allocates nothing.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "codec/mimi_run.h"
#include "core/alloc.h"
#include "core/pool.h"
#include "core/status.h"

/* ---- batch scratch ----------------------------------------------------------------------- */

#define MAXTO(v, n)                                                                                \
    do {                                                                                           \
        if ((size_t)(n) > (v))                                                                     \
            (v) = (size_t)(n);                                                                     \
    } while (0)

/* Largest per-frame float counts over the back's convolutions. */
typedef struct {
    size_t g;   /* receptive fields (gathered input) */
    size_t y;   /* outputs */
    size_t aux; /* second outputs (ELU copy, residual x) */
    size_t mid; /* residual branch: res_a outputs */
    size_t res; /* residual block: res_b outputs */
} back_sizes;

static back_sizes back_need(const kstt_mimi *m) {
    back_sizes z = {0, 0, 0, 0, 0};
    for (int st = m->split; st < m->n_stages; st++) {
        const kstt__mimi_stage *g0 = &m->stages[st];
        const size_t t = (size_t)g0->t_frame, t2 = t / (size_t)g0->ratio;
        MAXTO(z.g, t2 * g0->down.k * g0->down.c_in);
        MAXTO(z.y, t2 * g0->down.c_out);
        MAXTO(z.aux, t2 * g0->down.c_out);
        if (st > m->split) {
            MAXTO(z.g, t * g0->res_a.k * g0->res_a.c_in);
            MAXTO(z.mid, t * g0->res_a.c_out);
            MAXTO(z.res, t * g0->channels);
        }
    }
    const size_t ds = (size_t)m->cfg.ds_stride;
    MAXTO(z.g, ds * m->conv_out.k * m->conv_out.c_in);
    MAXTO(z.y, ds * m->conv_out.c_out);
    MAXTO(z.g, (size_t)m->downsample.k * m->downsample.c_in);
    MAXTO(z.y, z.mid);
    MAXTO(z.aux, z.res);
    return z;
}

/* Walks the scratch list: with base NULL only counts floats. A batch of one runs the back in
 * place in its stream's buffers, so it needs neither gathered inputs nor second outputs, and
 * y only for the residual branch. The front (one stream's residual blocks of KSTT_MIMI_FRONT
 * frames) uses y and tmp too: it never runs during a back pass. */
static size_t batch_layout(kstt__mimi_batch *b, float *base) {
    const kstt_mimi *m = b->m;
    const kstt__mimi_config *c = &m->cfg;
    const size_t F = (size_t)b->cap_frames, T = F * c->ds_stride, D = (size_t)c->d_model;
    const int many = b->cap > 1;
    const back_sizes z = back_need(m);
    size_t off = 0, ny = F * (many ? z.y : z.mid), ntmp = F * z.res, fy = 0, ftmp = 0;
    for (int st = 0; st <= m->split; st++) {
        const kstt__mimi_stage *g0 = &m->stages[st];
        const size_t rows = (size_t)KSTT_MIMI_FRONT * g0->t_frame;
        MAXTO(fy, rows * g0->res_a.c_out);
        MAXTO(ftmp, rows * g0->channels);
    }
    MAXTO(ny, fy);
    MAXTO(ntmp, ftmp);
    /* fronts of several streams at once, one per thread, each with its own scratch */
    const int par = many && b->n_threads > 1;
    b->fy_n = (fy + 15) & ~(size_t)15;
    b->ftmp_n = (ftmp + 15) & ~(size_t)15;
#define PLACE(ptr, n)                                                                              \
    do {                                                                                           \
        if (base)                                                                                  \
            (ptr) = (n) != 0 ? base + off : NULL;                                                  \
        off += ((size_t)(n) + 15) & ~(size_t)15;                                                   \
    } while (0)
    PLACE(b->g, many ? F * z.g : 0);
    PLACE(b->y, ny);
    PLACE(b->aux, many ? F * z.aux : 0);
    PLACE(b->tmp, ntmp);
    PLACE(b->fy, par ? (size_t)b->n_threads * b->fy_n : 0);
    PLACE(b->ftmp, par ? (size_t)b->n_threads * b->ftmp_n : 0);
    PLACE(b->x, many ? T * D : 0);
    PLACE(b->h, T * D);
    PLACE(b->qkv, T * 3 * D);
    PLACE(b->rope, T * (size_t)c->head_dim);
    PLACE(b->att, T * D);
    PLACE(b->o, T * D);
    PLACE(b->ff, T * (size_t)c->dim_feedforward);
    PLACE(b->latent, F * D);
    PLACE(b->scores, (size_t)b->n_threads * c->context);
    PLACE(b->rvq.buf, kstt__mimi_rvq_ws_floats(m, b->cap_frames));
#undef PLACE
    return off;
}
#undef MAXTO

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
    b->n_threads = kstt__pool_size(m->pool);
    b->rvq.n_max = b->cap_frames; /* one quantizer pass per back pass (kstt__mimi_pass_tap) */
    const size_t cap = (size_t)max_streams;
    b->arena = kstt__calloc(batch_layout(b, NULL), sizeof(float));
    if (max_streams > 1)
        b->codes = kstt__calloc((size_t)b->cap_frames * m->num_codebooks, sizeof(int32_t));
    b->segs = kstt__calloc(cap, sizeof *b->segs);
    b->in = kstt__calloc(cap, sizeof *b->in);
    b->tin = kstt__calloc(cap, sizeof *b->tin);
    b->cur = kstt__calloc(cap, sizeof *b->cur);
    b->left = kstt__calloc(cap, sizeof *b->left);
    if (!b->arena || (max_streams > 1 && !b->codes) || !b->segs || !b->in || !b->tin || !b->cur ||
        !b->left) {
        kstt__mimi_batch_free(b);
        return KSTT_ENOMEM;
    }
    batch_layout(b, b->arena);
    *out = b;
    return KSTT_OK;
}

void kstt__mimi_batch_set_prof(kstt__mimi_batch *b, kstt__mimi_prof *p) {
    b->prof = p;
}

/* ---- taps and timers --------------------------------------------------------------------- */

void kstt__mimi_pass_tap(void *pass, const char *name, const float *x, int rows, int cols) {
    const kstt__mimi_pass *p = pass;
    const int rpf = rows / p->nf; /* rows per frame at this point of the model */
    KSTT_ASSERT(rpf * p->nf == rows);
    for (int i = 0, r = 0; i < p->n; i++) {
        const kstt_mimi_stream *s = p->sg[i].s;
        const int ri = p->sg[i].nf * rpf;
        if (s->tap)
            s->tap(s->tap_user, name, x + (size_t)r * cols, ri, cols);
        r += ri;
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

enum { PART_FRONT, PART_SEANET, PART_TRANSFORMER, PART_QUANT };

static void add_part(kstt__mimi_prof *pr, int part, double dt) {
    if (!pr)
        return;
    switch (part) {
    case PART_FRONT:
        pr->front += dt;
        break;
    case PART_SEANET:
        pr->seanet += dt;
        break;
    case PART_TRANSFORMER:
        pr->transformer += dt;
        break;
    default:
        pr->quant += dt;
        break;
    }
}

/* Adds the seconds since *t0 to `part` of the batch's timer and of every timed stream of the
 * pass, and restarts the clock. */
static void lap(const kstt__mimi_batch *b, const kstt__mimi_pass *p, int part, double *t0) {
    const double t = now_s();
    add_part(b->prof, part, t - *t0);
    for (int i = 0; i < p->n; i++)
        add_part(p->sg[i].s->prof, part, t - *t0);
    *t0 = t;
}

/* ---- the back pass ----------------------------------------------------------------------- */

/* The back of the ns streams in b->segs (their back_fill frames, codes to each segment). */
static void run_back(kstt__mimi_batch *b, int ns) {
    if (ns == 0)
        return;
    const kstt_mimi *m = b->m;
    const int D = m->cfg.d_model, ds = m->cfg.ds_stride, K = m->num_codebooks;
    kstt__mimi_pass p = {b->segs, ns, 0, 0};
    int timed = b->prof != NULL;
    for (int i = 0; i < ns; i++) {
        p.nf += b->segs[i].nf;
        p.tap |= b->segs[i].s->tap != NULL;
        timed |= b->segs[i].s->prof != NULL;
    }
    double t0 = timed ? now_s() : 0.0;
    float *x = kstt__mimi_seanet_back(b, &p);
    if (timed)
        lap(b, &p, PART_SEANET, &t0);
    kstt__mimi_transformer(b, &p, x);
    if (p.tap)
        kstt__mimi_pass_tap(&p, "transformer_out", x, p.nf * ds, D);
    if (timed)
        lap(b, &p, PART_TRANSFORMER, &t0);
    const size_t s0 = (size_t)m->downsample.state * D;
    for (int i = 0, r = 0; i < ns; i++) {
        kstt_mimi_stream *s = b->segs[i].s;
        const int rows = b->segs[i].nf * ds;
        if (ns > 1)
            memcpy(s->tx + s0, x + (size_t)r * D, (size_t)rows * D * sizeof(float));
        if (!s->ds_primed) { /* replicate padding: the state starts as copies of the first step */
            for (int k = 0; k < m->downsample.state; k++)
                memcpy(s->tx + (size_t)k * D, s->tx + s0, (size_t)D * sizeof(float));
            s->ds_primed = 1;
        }
        b->in[i] = s->tx;
        b->tin[i] = rows;
        r += rows;
    }
    /* (the downsample has no bias) */
    kstt__mimi_conv_pass(b, &m->downsample, ns, b->latent, KSTT__POST_BIAS, NULL);
    for (int i = 0; i < ns; i++)
        kstt__mimi_conv_roll(&m->downsample, b->segs[i].s->tx, b->tin[i]);
    if (p.tap)
        kstt__mimi_pass_tap(&p, "latent", b->latent, p.nf, D);
    int32_t *codes = ns == 1 ? b->segs[0].codes : b->codes;
    kstt__mimi_rvq_encode(m, b->latent, p.nf, codes, &b->rvq, p.tap ? kstt__mimi_pass_tap : NULL,
                          &p);
    if (timed)
        lap(b, &p, PART_QUANT, &t0);
    for (int i = 0; i < ns; i++) {
        const kstt__mimi_seg *sg = &b->segs[i];
        if (ns > 1)
            memcpy(sg->codes, b->codes + (size_t)sg->f0 * K, (size_t)sg->nf * K * sizeof(int32_t));
        sg->s->back_fill = 0;
    }
}

/* ---- intake ------------------------------------------------------------------------------ */

/* Takes samples of one stream's call and runs its front over every complete frame, until the
 * call has no complete frame left or the stream's back buffer is full: on n_threads with
 * scratch y, tmp; the front time goes to the stream's timer and to bprof (NULL: none). */
static void front_fill(kstt__mimi_batch *b, kstt_mimi_stream *s, const float **pcm, size_t *n,
                       int n_threads, float *y, float *tmp, kstt__mimi_prof *bprof) {
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
        const int timed = bprof || s->prof;
        const double t0 = timed ? now_s() : 0.0;
        kstt__mimi_front(b, s, nf, n_threads, y, tmp);
        if (timed) {
            const double dt = now_s() - t0;
            add_part(bprof, PART_FRONT, dt);
            add_part(s->prof, PART_FRONT, dt);
        }
        /* keep the input conv's state (the P samples before the leftover) and the leftover */
        const size_t used = (size_t)nf * frame;
        memmove(s->pcm, s->pcm + used, (P + s->fill - used) * sizeof(float));
        s->fill -= used;
        s->back_fill += nf;
    }
}

typedef struct {
    kstt__mimi_batch *b;
    kstt__mimi_job *jobs;
    int count;
    atomic_int next; /* first stream not yet claimed */
} fronts_job;

/* Threads claim whole streams and run their fronts alone (no pool inside): fronts are many
 * small products and element-wise passes, which scale far better across streams than split
 * within one. Each stream's result is the same bits either way (kernels.h). */
static void fronts_task(void *arg, int ith, int nth) {
    (void)nth;
    fronts_job *j = arg;
    kstt__mimi_batch *b = j->b;
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->count;)
        front_fill(b, j->jobs[i].s, &b->cur[i], &b->left[i], 1, b->fy + (size_t)ith * b->fy_n,
                   b->ftmp + (size_t)ith * b->ftmp_n, NULL);
}

/* The fronts of every stream of the call, as far as each one's samples and back buffer go. */
static void run_fronts(kstt__mimi_batch *b, kstt__mimi_job *jobs, int count) {
    int serial = count < 2 || !b->fy;
    for (int i = 0; i < count && !serial; i++) /* taps and stream timers: one at a time */
        serial = jobs[i].s->tap != NULL || jobs[i].s->prof != NULL;
    if (serial) {
        for (int i = 0; i < count; i++)
            front_fill(b, jobs[i].s, &b->cur[i], &b->left[i], b->n_threads, b->y, b->tmp, b->prof);
        return;
    }
    const double t0 = b->prof ? now_s() : 0.0;
    fronts_job j = {b, jobs, count, 0};
    atomic_init(&j.next, 0);
    kstt__pool_run(b->m->pool, fronts_task, &j);
    if (b->prof)
        add_part(b->prof, PART_FRONT, now_s() - t0);
}

void kstt__mimi_drive(kstt__mimi_batch *b, kstt__mimi_job *jobs, int count) {
    const int K = b->m->num_codebooks;
    for (int i = 0; i < count; i++) {
        b->cur[i] = jobs[i].pcm;
        b->left[i] = jobs[i].n;
    }
    for (;;) {
        int ns = 0, nf = 0, any = 0;
        /* every back buffer is empty here: all fronts first, then the back passes over the
         * streams in order (the passes a stream-by-stream interleaving would make) */
        run_fronts(b, jobs, count);
        for (int i = 0; i < count; i++) {
            kstt_mimi_stream *s = jobs[i].s;
            if (s->back_fill == 0)
                continue;
            any = 1;
            if (nf + s->back_fill > b->cap_frames) { /* pass full: run it, start another */
                run_back(b, ns);
                ns = nf = 0;
            }
            b->segs[ns++] =
                (kstt__mimi_seg){s, s->back_fill, nf, jobs[i].codes + (size_t)jobs[i].frames * K};
            nf += s->back_fill;
            jobs[i].frames += s->back_fill;
        }
        run_back(b, ns);
        if (!any)
            return;
    }
}

int kstt__mimi_encode(kstt__mimi_batch *b, kstt__mimi_job *jobs, int count) {
    if (!b || count < 0 || count > b->cap)
        return KSTT_EINVAL;
    if (count == 0)
        return KSTT_OK;
    if (!jobs)
        return KSTT_EINVAL;
    for (int i = 0; i < count; i++) {
        if (!jobs[i].s || jobs[i].s->m != b->m)
            return KSTT_EINVAL;
        for (int j = 0; j < i; j++)
            if (jobs[j].s == jobs[i].s)
                return KSTT_EINVAL;
    }
    for (int i = 0; i < count; i++) /* no stream keeps a message from an earlier call */
        jobs[i].s->err[0] = '\0';
    for (int i = 0; i < count; i++) {
        kstt__mimi_job *j = &jobs[i];
        const int rc =
            kstt__mimi_check_call(j->s, "kstt__mimi_encode", j->pcm, j->n, j->codes, j->max_frames);
        if (rc)
            return rc;
        j->frames = 0;
    }
    kstt__mimi_drive(b, jobs, count);
    return KSTT_OK;
}
