/*
 * The Mimi encoder stream: its state (convolution carry rows and pass buffers, key/value
 * ring, position) and lifetime, and the public kstt_mimi_stream_* calls. Encoding itself is
 * the driver's (mimi_driver.c); a stream encoding alone is a batch of one, with the stream's
 * own batch as scratch, so there is one implementation for every chunking and every batch.
 *
 * Memory: everything is sized in kstt_mimi_stream_new; encode allocates nothing.
 */
#include <limits.h>
#include <string.h>

#include "codec/mimi_run.h"
#include "core/alloc.h"
#include "core/status.h"

void kstt__mimi_stream_set_prof(kstt_mimi_stream *s, kstt__mimi_prof *p) {
    s->prof = p;
}

void kstt__mimi_stream_set_tap(kstt_mimi_stream *s, kstt__mimi_tap_fn fn, void *user) {
    s->tap = fn;
    s->tap_user = user;
}

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
    for (int st = 0; st < m->n_stages; st++) {
        const kstt__mimi_stage *g = &m->stages[st];
        PLACE(s->xin[st], ((size_t)g->down.state + xcap(m, st)) * g->channels);
        PLACE(s->ain[st], ((size_t)g->res_a.state + acap(m, st)) * g->channels);
    }
    const size_t T = (size_t)KSTT_MIMI_BACK * c->ds_stride, D = (size_t)c->d_model;
    PLACE(s->oin, ((size_t)m->conv_out.state + T) * m->conv_out.c_in);
    PLACE(s->tx, ((size_t)m->downsample.state + T) * D);
    const size_t kv = (size_t)c->num_layers * s->cap_kv * D; /* elements; half: 2 per float */
    PLACE(s->kc, m->kv_half ? (kv + 1) / 2 : kv);
    PLACE(s->vc, m->kv_half ? (kv + 1) / 2 : kv);
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
    const size_t n = layout(s, NULL);
    s->arena = kstt__calloc(n, sizeof(float));
    int rc = s->arena ? kstt__mimi_batch_new(&s->own, m, 1) : KSTT_ENOMEM;
    if (rc) {
        kstt_mimi_stream_free(s);
        return rc;
    }
    layout(s, s->arena);
    *out = s;
    return KSTT_OK;
}

void kstt_mimi_stream_free(kstt_mimi_stream *s) {
    if (!s)
        return;
    kstt__mimi_batch_free(s->own);
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

int kstt__mimi_check_call(kstt_mimi_stream *s, const char *fn, const float *pcm, size_t n,
                          const int32_t *codes, size_t max_frames) {
    s->err[0] = '\0';
    if (n > 0 && !pcm)
        return kstt__errf(s->err, sizeof s->err, KSTT_EINVAL, "%s: pcm is NULL with n = %zu", fn,
                          n);
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
    const int rc = kstt__mimi_check_call(s, "kstt_mimi_stream_encode", pcm, n, codes, max_frames);
    if (rc)
        return rc;
    kstt__mimi_job job = {s, pcm, n, codes, max_frames, 0};
    kstt__mimi_drive(s->own, &job, 1);
    return job.frames;
}

const char *kstt_mimi_stream_errmsg(const kstt_mimi_stream *s) {
    return s ? s->err : "";
}
