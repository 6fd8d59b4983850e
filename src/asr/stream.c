/*
 * kstt_stream: PCM in, events out. Each stream owns a Mimi encoder stream, the LM's KV ring,
 * the ASR decoding state (asr.h) and a small buffer of Mimi codes; kstt_streams_feed runs
 * several streams of one model through the same LM steps, one batch row per stream that has a
 * frame ready.
 *
 * Data flow of a feed: PCM is handed to the Mimi stream in pieces of at most MAX_FRAMES frames
 * (the encoder batches frames within a piece); each code frame then costs one LM step. Steps
 * are taken round-robin across the streams of a call, so a stream with more audio simply runs
 * alone for its extra steps. When several streams of a call run out of codes together (the
 * usual case: live streams get a frame each), their pieces go through one batched Mimi call
 * (kstt__mimi_streams_encode), whose weight-heavy back runs once over the frames of all of
 * them instead of once per stream; the codes are the same as separate calls give.
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
 * A feed that fails midway (an encoder or allocation error) leaves the stream part-way through
 * its input: the caller resets it.
 *
 * Memory: everything is allocated in kstt_stream_new, except the batch scratch that
 * kstt_streams_feed keeps in the first stream of its call (sized on first use for that many
 * streams, then reused; it holds the LM batch work and the Mimi batch scratch, ~20 MB at full
 * size) and the geometric growth of the event queue.
 */
#include <stdio.h>
#include <string.h>

#include "asr/asr.h"
#include "asr/model.h"
#include "codec/mimi_internal.h"
#include "core/alloc.h"
#include "core/status.h"

#define MAX_FRAMES 16 /* code frames per Mimi call */

/* Scratch of one batched feed. */
typedef struct {
    int cap;
    kstt__lm_work *work;
    int32_t *tokens;         /* [cap, 1 + n_q] */
    kstt__lm_cache **caches; /* [cap] */
    struct feed_item *items; /* [cap] */
    struct feed_item **act;  /* [cap] */
    /* one batched Mimi call (mimi: NULL for a batch of one, which calls the stream's own
     * encoder) */
    kstt__mimi_batch *mimi;
    struct feed_item **enc; /* [cap] the items being encoded */
    kstt_mimi_stream **ms;  /* [cap] their encoders */
    const float **pcm;      /* [cap] */
    size_t *n, *max_frames; /* [cap] */
    int32_t **codes;        /* [cap] */
    int *frames;            /* [cap] codes out */
} batch_ws;

typedef struct feed_item {
    kstt_stream *s;
    const float *pcm;
    size_t n, off;
    int user_audio; /* counts toward the caller's samples (0 for flush padding) */
    int64_t steps;
    int prefix_k; /* zero frames of the pad prefix in the encode under way (0: audio) */
} feed_item;

struct kstt_stream {
    kstt_model *model;
    kstt_stream_params params;
    kstt_mimi_stream *mimi;
    kstt__lm_cache cache;
    kstt__asr asr;
    batch_ws *own;  /* batch of one */
    batch_ws *big;  /* kstt_streams_feed scratch, grown on demand */
    int32_t *codes; /* [MAX_FRAMES, n_q] codes not yet stepped */
    int n_codes, codes_pos;
    float *zeros;        /* [MAX_FRAMES * frame_size] */
    int64_t prefix_left; /* pad mode: zero frames still to insert before the audio */
    int64_t samples;     /* caller samples since reset */
    int flushed;
    char errmsg[512];
};

/* ---- batch scratch -------------------------------------------------------------------- */

static void batch_free(batch_ws *b) {
    if (!b)
        return;
    kstt__lm_work_free(b->work);
    kstt__free(b->tokens);
    kstt__free(b->caches);
    kstt__free(b->items);
    kstt__free(b->act);
    kstt__mimi_batch_free(b->mimi);
    kstt__free(b->enc);
    kstt__free(b->ms);
    kstt__free(b->pcm);
    kstt__free(b->n);
    kstt__free(b->max_frames);
    kstt__free(b->codes);
    kstt__free(b->frames);
    kstt__free(b);
}

static int batch_new(batch_ws **out, const kstt_model *m, int cap) {
    *out = NULL;
    batch_ws *b = kstt__calloc(1, sizeof *b);
    if (!b)
        return KSTT_ENOMEM;
    b->cap = cap;
    int rc = kstt__lm_work_new(&b->work, m->lm, cap);
    b->tokens = kstt__calloc((size_t)cap * (size_t)(1 + m->cfg.n_q), sizeof(int32_t));
    b->caches = kstt__calloc((size_t)cap, sizeof *b->caches);
    b->items = kstt__calloc((size_t)cap, sizeof *b->items);
    b->act = kstt__calloc((size_t)cap, sizeof *b->act);
    if (rc || !b->tokens || !b->caches || !b->items || !b->act) {
        batch_free(b);
        return KSTT_ENOMEM;
    }
    {
        const size_t n = (size_t)cap;
        rc = cap > 1 ? kstt__mimi_batch_new(&b->mimi, m->mimi, cap) : KSTT_OK;
        b->enc = kstt__calloc(n, sizeof *b->enc);
        b->ms = kstt__calloc(n, sizeof *b->ms);
        b->pcm = kstt__calloc(n, sizeof *b->pcm);
        b->n = kstt__calloc(n, sizeof *b->n);
        b->max_frames = kstt__calloc(n, sizeof *b->max_frames);
        b->codes = kstt__calloc(n, sizeof *b->codes);
        b->frames = kstt__calloc(n, sizeof *b->frames);
        if (rc || !b->enc || !b->ms || !b->pcm || !b->n || !b->max_frames || !b->codes ||
            !b->frames) {
            batch_free(b);
            return KSTT_ENOMEM;
        }
    }
    *out = b;
    return KSTT_OK;
}

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
    kstt__lm_cache_reset(&s->cache);
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
        .n_q = model->cfg.n_q,
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
    if ((rc = kstt__lm_cache_init(&s->cache, lm)))
        goto fail;
    if ((rc = kstt__asr_init(&s->asr, &ap)))
        goto fail;
    if ((rc = batch_new(&s->own, model, 1)))
        goto fail;
    s->codes = kstt__calloc((size_t)MAX_FRAMES * (size_t)model->cfg.n_q, sizeof(int32_t));
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
    kstt__lm_cache_free(&s->cache);
    kstt__asr_free(&s->asr);
    batch_free(s->own);
    batch_free(s->big);
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

static int fail_msg(kstt_stream *s, int rc, const char *what) {
    snprintf(s->errmsg, sizeof s->errmsg, "%s: %s", what, kstt_strerror(rc));
    return rc;
}

/* ---- the feed loop -------------------------------------------------------------------- */

/* Makes sure every item's stream has a code frame ready if its input allows: the pad-mode
 * prefix first (once audio is coming), then the caller's samples, MAX_FRAMES frames at a time.
 * All streams that need codes are encoded in one batched Mimi call (b->mimi; one stream: its
 * own encoder), so the weight-heavy back of Mimi runs once for all of them. */
static int refill(feed_item *items, int count, batch_ws *b) {
    const kstt_model *m = items[0].s->model;
    const size_t fs = (size_t)m->frame_size;
    for (;;) {
        int ne = 0;
        for (int i = 0; i < count; i++) {
            feed_item *it = &items[i];
            kstt_stream *s = it->s;
            if (s->codes_pos < s->n_codes)
                continue;
            s->codes_pos = s->n_codes = 0;
            const int have_audio = s->samples > 0 || it->off < it->n;
            const float *pcm;
            size_t n;
            if (s->prefix_left > 0 && have_audio) {
                /* Mimi holds no partial frame yet: k zero frames yield exactly k code frames. */
                it->prefix_k = s->prefix_left < MAX_FRAMES ? (int)s->prefix_left : MAX_FRAMES;
                pcm = s->zeros;
                n = (size_t)it->prefix_k * fs;
            } else if (it->off < it->n) {
                it->prefix_k = 0;
                pcm = it->pcm + it->off;
                n = it->n - it->off < MAX_FRAMES * fs ? it->n - it->off : MAX_FRAMES * fs;
            } else {
                continue;
            }
            b->enc[ne] = it;
            b->ms[ne] = s->mimi;
            b->pcm[ne] = pcm;
            b->n[ne] = n;
            b->max_frames[ne] = MAX_FRAMES;
            b->codes[ne] = s->codes;
            ne++;
        }
        if (ne == 0)
            return KSTT_OK;
        int rc;
        if (ne == 1) {
            rc = kstt_mimi_stream_encode(b->ms[0], b->pcm[0], b->n[0], b->codes[0], MAX_FRAMES);
            b->frames[0] = rc;
        } else {
            rc = kstt__mimi_streams_encode(b->mimi, b->ms, ne, b->pcm, b->n, b->codes,
                                           b->max_frames, b->frames);
        }
        if (rc < 0) {
            for (int j = 0; j < ne; j++) {
                kstt_stream *s = b->enc[j]->s;
                const char *em = kstt_mimi_stream_errmsg(s->mimi);
                snprintf(s->errmsg, sizeof s->errmsg, "%s",
                         em[0] ? em : "Mimi encode failed for another stream of the batch");
            }
            return rc;
        }
        for (int j = 0; j < ne; j++) {
            feed_item *it = b->enc[j];
            kstt_stream *s = it->s;
            if (it->prefix_k) {
                s->prefix_left -= it->prefix_k;
            } else {
                it->off += b->n[j];
                if (it->user_audio)
                    s->samples += (int64_t)b->n[j];
            }
            s->n_codes = b->frames[j];
        }
    }
}

/* Steps every item's stream until all of their input is consumed. */
static int run(feed_item *items, int count, batch_ws *b) {
    const kstt_model *m = items[0].s->model;
    const int nq = m->cfg.n_q, V = m->cfg.text_card;
    const int nv = m->lm->n_vad * m->lm->vad_dim;
    int rc;
    for (;;) {
        int nb = 0;
        if ((rc = refill(items, count, b)))
            return rc;
        for (int i = 0; i < count; i++) {
            kstt_stream *s = items[i].s;
            if (s->codes_pos < s->n_codes)
                b->act[nb++] = &items[i];
        }
        if (nb == 0)
            return KSTT_OK;
        for (int j = 0; j < nb; j++) {
            kstt_stream *s = b->act[j]->s;
            kstt__asr_input(&s->asr, s->codes + (size_t)s->codes_pos * nq,
                            b->tokens + (size_t)j * (1 + nq));
            s->codes_pos++;
            b->caches[j] = &s->cache;
        }
        if ((rc = kstt__lm_step(m->lm, b->work, b->caches, b->tokens, nb, NULL, NULL))) {
            for (int j = 0; j < nb; j++)
                fail_msg(b->act[j]->s, rc, "LM step");
            return rc;
        }
        for (int j = 0; j < nb; j++) {
            kstt_stream *s = b->act[j]->s;
            rc = kstt__asr_output(&s->asr, b->work->logits + (size_t)j * V,
                                  nv ? b->work->vad + (size_t)j * nv : NULL);
            b->act[j]->steps++;
            if (rc)
                return fail_msg(s, rc, "queueing events");
        }
    }
}

static int feed_one(kstt_stream *s, const float *pcm, size_t n, int user_audio, int64_t *steps) {
    feed_item *it = &s->own->items[0];
    memset(it, 0, sizeof *it);
    it->s = s;
    it->pcm = pcm;
    it->n = n;
    it->user_audio = user_audio;
    int rc = run(it, 1, s->own);
    *steps += it->steps;
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

/* The start of every call that takes input: the events handed out by the last read die, the
 * last message is cleared, and a flushed stream refuses. */
static int begin_input(kstt_stream *s) {
    kstt__asr_release(&s->asr);
    s->errmsg[0] = 0;
    return check_open(s);
}

int kstt_stream_feed(kstt_stream *s, const float *pcm, size_t n) {
    if (!s)
        return KSTT_EINVAL;
    int rc = begin_input(s);
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
    int rc = begin_input(s);
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
        if (stop < s->asr.last_stop) stop = s->asr.last_stop; /* never before the word began */
        if ((rc = kstt__asr_finish(&s->asr, stop)))
            return fail_msg(s, rc, "queueing events");
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

int kstt_streams_feed(kstt_stream *const *streams, const float *const *pcm, const size_t *n,
                      size_t count) {
    if (count == 0)
        return KSTT_OK;
    if (!streams || !n || !pcm)
        return KSTT_EINVAL;
    if (count > 1 << 20)
        return KSTT_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (!streams[i])
            return KSTT_EINVAL;
    kstt_stream *s0 = streams[0];
    int rc = KSTT_OK;
    for (size_t i = 0; i < count; i++) {
        kstt_stream *s = streams[i];
        kstt__asr_release(&s->asr);
        s->errmsg[0] = 0;
    }
    for (size_t i = 0; i < count; i++) {
        kstt_stream *s = streams[i];
        int r = check_open(s);
        if (!r && s->model != s0->model) {
            snprintf(s->errmsg, sizeof s->errmsg,
                     "kstt_streams_feed: stream %zu belongs to another model than stream 0", i);
            r = KSTT_EINVAL;
        }
        if (!r && !pcm[i] && n[i]) {
            snprintf(s->errmsg, sizeof s->errmsg, "kstt_streams_feed: NULL samples for stream %zu",
                     i);
            r = KSTT_EINVAL;
        }
        for (size_t j = 0; !r && j < i; j++)
            if (streams[j] == s) {
                snprintf(s->errmsg, sizeof s->errmsg,
                         "kstt_streams_feed: stream %zu appears twice (also at %zu)", i, j);
                r = KSTT_EINVAL;
            }
        if (r && !rc)
            rc = r;
    }
    if (rc)
        return rc;
    batch_ws *b = s0->own;
    if (count > 1) {
        if (!s0->big || s0->big->cap < (int)count) {
            int cap = s0->big ? s0->big->cap * 2 : 0;
            if (cap < (int)count)
                cap = (int)count;
            batch_free(s0->big);
            s0->big = NULL;
            if ((rc = batch_new(&s0->big, s0->model, cap))) {
                for (size_t i = 0; i < count; i++)
                    fail_msg(streams[i], rc, "kstt_streams_feed: batch scratch");
                return rc;
            }
        }
        b = s0->big;
    }
    for (size_t i = 0; i < count; i++) {
        feed_item *it = &b->items[i];
        memset(it, 0, sizeof *it);
        it->s = streams[i];
        it->pcm = pcm[i];
        it->n = n[i];
        it->user_audio = 1;
    }
    return run(b->items, (int)count, b);
}

int kstt__stream_feed_codes(kstt_stream *s, const int32_t *codes, size_t n_frames) {
    if (!s || (!codes && n_frames))
        return KSTT_EINVAL;
    int rc = begin_input(s);
    if (rc)
        return rc;
    const kstt_model *m = s->model;
    const int nq = m->cfg.n_q;
    batch_ws *b = s->own;
    for (size_t i = 0; i < n_frames * (size_t)nq; i++)
        if (codes[i] < 0 || codes[i] >= m->cfg.card) {
            snprintf(s->errmsg, sizeof s->errmsg, "frame %zu: code %d out of range 0..%d",
                     i / (size_t)nq, codes[i], m->cfg.card - 1);
            return KSTT_EINVAL;
        }
    for (size_t f = 0; f < n_frames; f++) {
        kstt__asr_input(&s->asr, codes + f * (size_t)nq, b->tokens);
        b->caches[0] = &s->cache;
        if ((rc = kstt__lm_step(m->lm, b->work, b->caches, b->tokens, 1, NULL, NULL)))
            return fail_msg(s, rc, "LM step");
        if ((rc = kstt__asr_output(&s->asr, b->work->logits, m->lm->n_vad ? b->work->vad : NULL)))
            return fail_msg(s, rc, "queueing events");
    }
    return (int)n_frames;
}
