/*
 * kstt_stream: PCM in, events out. Each stream owns a Mimi encoder stream, the LM's state (KV
 * ring, position), the ASR decoding state (asr.h), a small buffer of Mimi codes, and a batch of
 * one (batch.c) through which kstt_stream_feed and kstt_stream_flush run: the library has one
 * step loop, for one stream or many (kstt_batch_feed).
 *
 * Pad mode (default) reproduces the file-level driver of the golden README 7.1:
 *   - ceil(prefix * 12.5) zero frames go through Mimi and the LM before the first sample of
 *     audio (inserted lazily when audio first arrives, so a stream that never gets audio runs
 *     nothing), and event times are reported from the start of the caller's audio (the prefix
 *     subtracted; the rare time that would fall inside the prefix is reported as 0);
 *   - flush zero-pads the partial frame, feeds ceil((delay + 1 s) * 12.5) zero frames so the
 *     model's delayed text comes out, then reports the word still pending and a closing
 *     EndWord (stopping at the end of the caller's audio rounded up to a frame, or at the
 *     word's start if the model placed that later).
 * Raw mode feeds exactly what the caller gives; times count from the first sample, as
 * moshi-server reports them; flush still zero-pads the partial frame and reports the pending
 * word (the reference server never does; kstt does so that the last word is not lost).
 * Flushing a stream that received no audio since reset runs nothing and reports nothing.
 * A feed that fails midway (an encoder or allocation error, or an abort) leaves the stream
 * part-way through its input: the caller resets it (or, after an abort, may go on feeding).
 *
 * Memory: everything is allocated in kstt_stream_new (the batch of one included), except the
 * geometric growth of the event queue.
 */
#include <stdio.h>
#include <string.h>

#include "asr/stream.h"
#include "core/alloc.h"
#include "core/status.h"

#define MAX_FRAMES KSTT__STREAM_MAX_FRAMES

/* ---- lifetime ------------------------------------------------------------------------- */

kstt_stream_params kstt_stream_params_default(void) {
    kstt_stream_params p;
    memset(&p, 0, sizeof p);
    p.pad = 1;
    p.step_events = 1;
    p.temperature = 0.0f;
    p.seed = 0;
    return p;
}

static void stream_reset(kstt_stream *s) {
    kstt_mimi_stream_reset(s->mimi);
    kstt__lm_state_reset(s->model->lm, s->lm);
    kstt__asr_reset(&s->asr);
    s->n_codes = s->codes_pos = 0;
    s->prefix_left = s->params.pad ? s->model->prefix_frames : 0;
    s->samples = 0;
    s->flushed = 0;
    s->errmsg[0] = 0;
}

int kstt_stream_new(kstt_stream **out, kstt_model *model, const kstt_stream_params *params) {
    if (!out)
        return KSTT_EINVAL;
    *out = NULL;
    if (!model)
        return KSTT_EINVAL;
    kstt_stream_params dp = kstt_stream_params_default();
    if (!params)
        params = &dp;
    if (!(params->temperature >= 0.0f))
        return KSTT_EINVAL;
    kstt_stream *s = kstt__calloc(1, sizeof *s);
    if (!s)
        return KSTT_ENOMEM;
    s->model = model;
    s->params = *params;
    const kstt__lm *lm = model->lm;
    kstt__asr_params ap = {
        .n_q = model->n_codebooks,
        .card = model->cfg.card,
        .text_card = model->cfg.text_card,
        .pad_id = model->cfg.pad_id,
        .epad_id = 0,
        .delay = model->delay,
        .n_vad = lm->n_vad,
        .vad_dim = lm->vad_dim,
        .step_events = params->step_events,
        .temperature = params->temperature,
        .seed = params->seed,
        .offset_steps = params->pad ? model->prefix_frames : 0,
        .clamp_times = params->pad ? 1 : 0,
        .spm = model->spm,
        .on_event = params->on_event,
        .user = params->user,
    };
    int rc;
    if ((rc = kstt_mimi_stream_new(&s->mimi, model->mimi)))
        goto fail;
    if ((rc = kstt__lm_state_new(&s->lm, lm)))
        goto fail;
    if ((rc = kstt__asr_init(&s->asr, &ap)))
        goto fail;
    if ((rc = kstt_batch_new(&s->own, model, 1, NULL, 0)))
        goto fail;
    s->codes = kstt__calloc((size_t)MAX_FRAMES * (size_t)model->n_codebooks, sizeof(int32_t));
    s->zeros = kstt__calloc((size_t)MAX_FRAMES * (size_t)model->frame_size, sizeof(float));
    if (!s->codes || !s->zeros) {
        rc = KSTT_ENOMEM;
        goto fail;
    }
    stream_reset(s);
    *out = s;
    return KSTT_OK;
fail:
    kstt_stream_free(s);
    return rc;
}

void kstt_stream_free(kstt_stream *s) {
    if (!s)
        return;
    kstt_mimi_stream_free(s->mimi);
    kstt__lm_state_free(s->model->lm, s->lm);
    kstt__asr_free(&s->asr);
    kstt_batch_free(s->own);
    kstt__free(s->codes);
    kstt__free(s->zeros);
    kstt__free(s);
}

void kstt_stream_reset(kstt_stream *s) {
    if (s)
        stream_reset(s);
}

const char *kstt_stream_errmsg(const kstt_stream *s) {
    return s ? s->errmsg : "NULL stream";
}

int kstt__stream_fail(kstt_stream *s, int rc, const char *what) {
    snprintf(s->errmsg, sizeof s->errmsg, "%s: %s", what, kstt_strerror(rc));
    return rc;
}

/* ---- feed and flush ------------------------------------------------------------------- */

static int feed_one(kstt_stream *s, const float *pcm, size_t n, int user_audio, int64_t *steps) {
    const kstt__batch_input in = {.s = s, .pcm = pcm, .n = n, .user_audio = user_audio};
    int64_t k = 0;
    int rc = kstt__batch_run(s->own, &in, 1, &k);
    *steps += k;
    return rc;
}

static int check_open(kstt_stream *s) {
    if (s->flushed) {
        snprintf(s->errmsg, sizeof s->errmsg,
                 "the stream was flushed; call kstt_stream_reset before feeding it again");
        return KSTT_ESTATE;
    }
    return KSTT_OK;
}

int kstt__stream_begin(kstt_stream *s) {
    kstt__asr_release(&s->asr);
    s->errmsg[0] = 0;
    return check_open(s);
}

int kstt_stream_feed(kstt_stream *s, const float *pcm, size_t n) {
    if (!s)
        return KSTT_EINVAL;
    int rc = kstt__stream_begin(s);
    if (rc)
        return rc;
    if (!pcm && n) {
        snprintf(s->errmsg, sizeof s->errmsg, "kstt_stream_feed: NULL samples (n = %zu)", n);
        return KSTT_EINVAL;
    }
    int64_t steps = 0;
    rc = feed_one(s, pcm, n, 1, &steps);
    if (rc)
        return rc;
    return steps > 0x7fffffff ? 0x7fffffff : (int)steps;
}

int kstt_stream_flush(kstt_stream *s) {
    if (!s)
        return KSTT_EINVAL;
    int rc = kstt__stream_begin(s);
    if (rc)
        return rc;
    const kstt_model *m = s->model;
    int64_t steps = 0;
    if (s->samples > 0) {
        const int64_t fs = m->frame_size, partial = s->samples % fs;
        const int64_t audio_frames = (s->samples + fs - 1) / fs;
        if (partial && (rc = feed_one(s, s->zeros, (size_t)(fs - partial), 0, &steps)))
            return rc;
        if (s->params.pad)
            for (int j = 0; j < m->suffix_frames; j++)
                if ((rc = feed_one(s, s->zeros, (size_t)fs, 0, &steps)))
                    return rc;
        int64_t stop = s->asr.step - m->delay;
        if (s->params.pad && stop > m->prefix_frames + audio_frames)
            stop = m->prefix_frames + audio_frames;
        if (stop < s->asr.last_stop)
            stop = s->asr.last_stop; /* never before the word began */
        if ((rc = kstt__asr_finish(&s->asr, stop)))
            return kstt__stream_fail(s, rc, "queueing events");
    }
    s->flushed = 1;
    return steps > 0x7fffffff ? 0x7fffffff : (int)steps;
}

int kstt_stream_read(kstt_stream *s, kstt_event *out, size_t max) {
    if (!s || (!out && max))
        return KSTT_EINVAL;
    kstt__asr_release(&s->asr);
    if (max > 0x7fffffff)
        max = 0x7fffffff;
    return (int)kstt__asr_read(&s->asr, out, max);
}

int kstt__stream_feed_codes(kstt_stream *s, const int32_t *codes, size_t n_frames) {
    if (!s || (!codes && n_frames))
        return KSTT_EINVAL;
    int rc = kstt__stream_begin(s);
    if (rc)
        return rc;
    const kstt_model *m = s->model;
    const int nq = m->n_codebooks;
    for (size_t i = 0; i < n_frames * (size_t)nq; i++)
        if (codes[i] < 0 || codes[i] >= m->cfg.card) {
            snprintf(s->errmsg, sizeof s->errmsg, "frame %zu: code %d out of range 0..%d",
                     i / (size_t)nq, codes[i], m->cfg.card - 1);
            return KSTT_EINVAL;
        }
    const kstt__batch_input in = {.s = s, .codes = codes, .n = n_frames};
    int64_t steps = 0;
    if ((rc = kstt__batch_run(s->own, &in, 1, &steps)))
        return rc;
    return (int)n_frames;
}
