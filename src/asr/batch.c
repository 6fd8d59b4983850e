/*
 * kstt_batch: the scratch to step up to max_streams streams of one model together, and the one
 * step loop of the library (kstt_stream_feed / flush run through the batch of one each stream
 * owns; kstt_batch_feed through a caller's batch).
 *
 * Data flow of a run: PCM is handed to each stream's Mimi encoder in pieces of at most
 * MAX_FRAMES frames (the encoder batches frames within a piece); each code frame then costs
 * one LM step. Steps are taken round-robin across the streams of the call: every model step
 * serves each stream that has a code frame ready, as one batched LM step, so a stream with
 * more audio simply runs alone for its extra steps. When several streams run out of codes
 * together (the usual case: live streams get a frame each), their pieces go through one
 * batched Mimi call (kstt__mimi_encode, one job per stream), whose weight-heavy back runs once over
 * the frames of all of them; the codes are the same as separate calls give.
 *
 * Pad mode (see stream.c): the silence prefix is inserted here, lazily, when a stream's audio
 * first arrives: a stream that never gets audio runs nothing.
 *
 * Memory: everything is allocated in kstt_batch_new (one row per stream slot, the LM's batch
 * work, the host logits and VAD probabilities, the Mimi batch scratch for max_streams > 1);
 * a run allocates nothing (the streams' event queues grow geometrically on a burst, which
 * stops once they have seen the largest burst). The batch keeps no reference to a stream
 * between calls.
 *
 * Cancellation: before each model step, the abort callback of every stream about to step is
 * asked; a nonzero answer stops the run with KSTT_EABORTED. Codes already encoded stay queued
 * in their streams and are stepped first by the next feed (nothing is lost or repeated).
 */
#include <stdio.h>
#include <string.h>

#include "asr/stream.h"
#include "codec/mimi_internal.h"
#include "core/alloc.h"
#include "core/status.h"

#define MAX_FRAMES KSTT__STREAM_MAX_FRAMES

/* One stream of the run under way. */
typedef struct {
    kstt__batch_input in;
    size_t off;   /* samples (or code frames) of the input consumed */
    int prefix_k; /* zero frames of the pad prefix in the encode under way (0: input) */
} batch_row;

struct kstt_batch {
    kstt_model *model;
    int cap;
    batch_row *rows;         /* [cap] one per stream of the run */
    int *act;                /* [cap] rows stepping at this step */
    int *enc;                /* [cap] rows being encoded in this Mimi call */
    int32_t *tokens;         /* [cap, 1 + lm->n_q] LM inputs (1 + n_codebooks of them set) */
    kstt__lm_state **states; /* [cap] the stepping streams' LM states */
    float *logits;           /* [cap, text_card] LM outputs */
    float *vad;              /* [cap, n_vad * vad_dim] */
    kstt__lm_work *work;     /* the LM's scratch for cap streams */
    kstt__mimi_job *jobs;    /* [cap] one batched Mimi call: the job of row enc[j] */
    kstt__mimi_batch *mimi;  /* its scratch (NULL when cap is 1: one stream calls its own
                                encoder) */
    char errmsg[512];
};

/* ---- lifetime ------------------------------------------------------------------------- */

void kstt_batch_free(kstt_batch *b) {
    if (!b)
        return;
    kstt__free(b->rows);
    kstt__free(b->act);
    kstt__free(b->enc);
    kstt__free(b->tokens);
    kstt__free(b->states);
    kstt__free(b->logits);
    kstt__free(b->vad);
    if (b->model)
        kstt__lm_work_free(b->model->lm, b->work);
    kstt__free(b->jobs);
    kstt__mimi_batch_free(b->mimi);
    kstt__free(b);
}

int kstt_batch_new(kstt_batch **out, kstt_model *model, size_t max_streams, char *err,
                   size_t errlen) {
    if (err && errlen)
        err[0] = 0;
    if (!out)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_batch_new: NULL output");
    *out = NULL;
    if (!model)
        return kstt__errf(err, errlen, KSTT_EINVAL, "kstt_batch_new: NULL model");
    if (max_streams < 1 || max_streams > 65536)
        return kstt__errf(err, errlen, KSTT_EINVAL,
                          "kstt_batch_new: max_streams %zu out of range 1..65536", max_streams);
    kstt_batch *b = kstt__calloc(1, sizeof *b);
    if (!b)
        return kstt__errf(err, errlen, KSTT_ENOMEM,
                          "kstt_batch_new: out of memory (scratch for %zu streams)", max_streams);
    const kstt__lm *lm = model->lm;
    const size_t cap = max_streams;
    b->model = model;
    b->cap = (int)cap;
    int rc = kstt__lm_work_new(&b->work, lm, b->cap);
    if (!rc && cap > 1)
        rc = kstt__mimi_batch_new(&b->mimi, model->mimi, b->cap);
    b->rows = kstt__calloc(cap, sizeof *b->rows);
    b->act = kstt__calloc(cap, sizeof *b->act);
    b->enc = kstt__calloc(cap, sizeof *b->enc);
    b->tokens = kstt__calloc(cap * (size_t)(1 + lm->n_q), sizeof *b->tokens);
    b->states = kstt__calloc(cap, sizeof *b->states);
    b->logits = kstt__calloc(cap * (size_t)lm->text_card, sizeof *b->logits);
    b->vad = kstt__calloc(cap * (size_t)(lm->n_vad * lm->vad_dim) + 1, sizeof *b->vad);
    b->jobs = kstt__calloc(cap, sizeof *b->jobs);
    if (rc || !b->rows || !b->act || !b->enc || !b->tokens || !b->states || !b->logits || !b->vad ||
        !b->jobs) {
        kstt_batch_free(b);
        return kstt__errf(err, errlen, rc && rc != KSTT_ENOMEM ? rc : KSTT_ENOMEM,
                          "kstt_batch_new: out of memory (scratch for %zu streams)", cap);
    }
    *out = b;
    return KSTT_OK;
}

const char *kstt_batch_errmsg(const kstt_batch *b) {
    return b ? b->errmsg : "NULL batch";
}

/* ---- the step loop -------------------------------------------------------------------- */

/* Makes sure every row's stream has a code frame ready if its input allows: the pad-mode
 * prefix first (once audio is coming), then the caller's samples, MAX_FRAMES frames at a time
 * (or the given codes, copied). All streams that need codes from audio are encoded in one
 * batched Mimi call (one stream: its own encoder), so the weight-heavy back of Mimi runs once
 * for all of them. */
static int refill(kstt_batch *b, int count) {
    const kstt_model *m = b->model;
    const size_t fs = (size_t)m->frame_size, nq = (size_t)m->n_codebooks;
    for (;;) {
        int ne = 0;
        for (int i = 0; i < count; i++) {
            batch_row *r = &b->rows[i];
            kstt_stream *s = r->in.s;
            if (s->codes_pos < s->n_codes)
                continue;
            s->codes_pos = s->n_codes = 0;
            if (r->in.codes) {
                if (r->off < r->in.n) {
                    size_t k = r->in.n - r->off < MAX_FRAMES ? r->in.n - r->off : MAX_FRAMES;
                    memcpy(s->codes, r->in.codes + r->off * nq, k * nq * sizeof(int32_t));
                    s->n_codes = (int)k;
                    r->off += k;
                }
                continue;
            }
            const int have_audio = s->samples > 0 || r->off < r->in.n;
            const float *pcm;
            size_t n;
            if (s->prefix_left > 0 && have_audio) {
                /* Mimi holds no partial frame yet: k zero frames yield exactly k code frames. */
                r->prefix_k = s->prefix_left < MAX_FRAMES ? (int)s->prefix_left : MAX_FRAMES;
                pcm = s->zeros;
                n = (size_t)r->prefix_k * fs;
            } else if (r->off < r->in.n) {
                r->prefix_k = 0;
                pcm = r->in.pcm + r->off;
                n = r->in.n - r->off < MAX_FRAMES * fs ? r->in.n - r->off : MAX_FRAMES * fs;
            } else {
                continue;
            }
            b->enc[ne] = i;
            b->jobs[ne] = (kstt__mimi_job){
                .s = s->mimi, .pcm = pcm, .n = n, .codes = s->codes, .max_frames = MAX_FRAMES};
            ne++;
        }
        if (ne == 0)
            return KSTT_OK;
        int rc;
        if (ne == 1) {
            kstt__mimi_job *j = &b->jobs[0];
            rc = j->frames = kstt_mimi_stream_encode(j->s, j->pcm, j->n, j->codes, j->max_frames);
        } else {
            rc = kstt__mimi_encode(b->mimi, b->jobs, ne);
        }
        if (rc < 0) {
            for (int j = 0; j < ne; j++) {
                kstt_stream *s = b->rows[b->enc[j]].in.s;
                const char *em = kstt_mimi_stream_errmsg(s->mimi);
                snprintf(s->errmsg, sizeof s->errmsg, "%s",
                         em[0] ? em : "Mimi encode failed for another stream of the batch");
            }
            return rc;
        }
        for (int j = 0; j < ne; j++) {
            batch_row *r = &b->rows[b->enc[j]];
            kstt_stream *s = r->in.s;
            if (r->prefix_k) {
                s->prefix_left -= r->prefix_k;
            } else {
                r->off += b->jobs[j].n;
                if (r->in.user_audio)
                    s->samples += (int64_t)b->jobs[j].n;
            }
            s->n_codes = b->jobs[j].frames;
        }
    }
}

/* The first stream about to step whose abort callback asks to stop, or NULL. */
static kstt_stream *aborting(const kstt_batch *b, int nb) {
    for (int j = 0; j < nb; j++) {
        kstt_stream *s = b->rows[b->act[j]].in.s;
        if (s->params.abort && s->params.abort(s->params.user))
            return s;
    }
    return NULL;
}

/* Steps the streams of rows[0..count) until all of their input is consumed. */
static int run_rows(kstt_batch *b, int count, int64_t *steps) {
    const kstt_model *m = b->model;
    const kstt__lm *lm = m->lm;
    const int nq = m->n_codebooks, stride = 1 + lm->n_q, V = lm->text_card;
    const int nv = lm->n_vad * lm->vad_dim;
    *steps = 0;
    int rc;
    for (;;) {
        int nb = 0;
        if ((rc = refill(b, count)))
            return rc;
        for (int i = 0; i < count; i++) {
            const kstt_stream *s = b->rows[i].in.s;
            if (s->codes_pos < s->n_codes)
                b->act[nb++] = i;
        }
        if (nb == 0)
            return KSTT_OK;
        kstt_stream *ab = aborting(b, nb);
        if (ab) {
            snprintf(ab->errmsg, sizeof ab->errmsg, "aborted by the stream's abort callback");
            return KSTT_EABORTED;
        }
        for (int j = 0; j < nb; j++) {
            kstt_stream *s = b->rows[b->act[j]].in.s;
            kstt__asr_input(&s->asr, s->codes + (size_t)s->codes_pos * nq,
                            b->tokens + (size_t)j * stride);
            s->codes_pos++;
            b->states[j] = s->lm;
        }
        if ((rc = kstt__lm_step(lm, b->work, b->states, b->tokens, nb, b->logits, b->vad))) {
            for (int j = 0; j < nb; j++)
                kstt__stream_fail(b->rows[b->act[j]].in.s, rc, "LM step");
            return rc;
        }
        ++*steps;
        for (int j = 0; j < nb; j++) {
            kstt_stream *s = b->rows[b->act[j]].in.s;
            rc = kstt__asr_output(&s->asr, b->logits + (size_t)j * V,
                                  nv ? b->vad + (size_t)j * nv : NULL);
            if (rc)
                return kstt__stream_fail(s, rc, "queueing events");
        }
    }
}

int kstt__batch_run(kstt_batch *b, const kstt__batch_input *in, int count, int64_t *steps) {
    for (int i = 0; i < count; i++) {
        memset(&b->rows[i], 0, sizeof b->rows[i]);
        b->rows[i].in = in[i];
    }
    return run_rows(b, count, steps);
}

/* ---- kstt_batch_feed ------------------------------------------------------------------ */

static int bad(kstt_batch *b, kstt_stream *s, int rc, const char *msg) {
    snprintf(b->errmsg, sizeof b->errmsg, "kstt_batch_feed: %s", msg);
    if (s)
        snprintf(s->errmsg, sizeof s->errmsg, "kstt_batch_feed: %s", msg);
    return rc;
}

int kstt_batch_feed(kstt_batch *b, kstt_stream *const *streams, const float *const *pcm,
                    const size_t *n, size_t count) {
    if (!b)
        return KSTT_EINVAL;
    b->errmsg[0] = 0;
    char msg[256];
    if (count == 0)
        return 0;
    if (!streams || !n || !pcm)
        return bad(b, NULL, KSTT_EINVAL, "NULL streams, samples or counts");
    if (count > (size_t)b->cap) {
        snprintf(msg, sizeof msg, "%zu streams but the batch holds at most %d", count, b->cap);
        return bad(b, NULL, KSTT_EINVAL, msg);
    }
    for (size_t i = 0; i < count; i++)
        if (!streams[i]) {
            snprintf(msg, sizeof msg, "stream %zu is NULL", i);
            return bad(b, NULL, KSTT_EINVAL, msg);
        }
    /* Every stream starts its call (events handed out die, messages clear) before any check,
     * so that the one at fault keeps its message. */
    int rc = KSTT_OK;
    for (size_t i = 0; i < count; i++) {
        kstt_stream *s = streams[i];
        kstt__asr_release(&s->asr);
        s->errmsg[0] = 0;
    }
    for (size_t i = 0; i < count && !rc; i++) {
        kstt_stream *s = streams[i];
        if (s->flushed) {
            snprintf(msg, sizeof msg,
                     "stream %zu was flushed; call kstt_stream_reset before feeding it again", i);
            rc = bad(b, s, KSTT_ESTATE, msg);
        } else if (s->model != b->model) {
            snprintf(msg, sizeof msg, "stream %zu belongs to another model than the batch", i);
            rc = bad(b, s, KSTT_EINVAL, msg);
        } else if (!pcm[i] && n[i]) {
            snprintf(msg, sizeof msg, "NULL samples for stream %zu", i);
            rc = bad(b, s, KSTT_EINVAL, msg);
        }
        for (size_t j = 0; !rc && j < i; j++)
            if (streams[j] == s) {
                snprintf(msg, sizeof msg, "stream %zu appears twice (also at %zu)", i, j);
                rc = bad(b, s, KSTT_EINVAL, msg);
            }
    }
    if (rc)
        return rc;
    int64_t steps = 0;
    for (size_t i = 0; i < count; i++) {
        batch_row *r = &b->rows[i];
        memset(r, 0, sizeof *r);
        r->in.s = streams[i];
        r->in.pcm = pcm[i];
        r->in.n = n[i];
        r->in.user_audio = 1;
    }
    rc = run_rows(b, (int)count, &steps);
    if (rc < 0) {
        for (size_t i = 0; i < count; i++)
            if (streams[i]->errmsg[0]) {
                snprintf(b->errmsg, sizeof b->errmsg, "stream %zu: %.400s", i, streams[i]->errmsg);
                break;
            }
        return rc;
    }
    return steps > 0x7fffffff ? 0x7fffffff : (int)steps;
}
